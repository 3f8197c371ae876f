"""Rationale and reply templates: strict filling that hostile case text cannot subvert."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from reviewer.enforcement.decisions import MIN_SEVERE_RATIONALE_CHARS, needs_second_review
from reviewer.enforcement.escalation import case_thread
from reviewer.enforcement.responses import (
    ResponseRejected,
    draft_response,
    record_response,
    response_templates,
)
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.policy.templates import (
    MAX_VALUE_CHARS,
    PLACEHOLDERS,
    TemplateError,
    fill,
    load_templates,
    parse_template,
    render,
    safe_value,
    templates_for,
)
from reviewer.store.models import Case, OutboxEntry, Response

TAXONOMY = load_taxonomy()
NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
RLO, FSI, PDI = "\u202e", "\u2068", "\u2069"

pytestmark = pytest.mark.demo(cases=40)  # the replies' workstation


def _case(**overrides) -> Case:
    values = dict(
        id=uuid.uuid4(), external_ref="RPT-2026000042", queue_id=uuid.uuid4(),
        surface="organic_post", channel="press", policy_area="hate_speech",
        reported_at=datetime(2026, 11, 15, 14, 30, tzinfo=UTC),
        due_at=datetime(2026, 11, 15, 18, 30, tzinfo=UTC), severity=3, reach=10,
        language="en", region="DE", reported_text="A post", reporter_note="", status="new",
    )
    values.update(overrides)
    return Case(**values)


HOSTILE = {
    "format specifiers": "{0.__class__.__mro__[1].__subclasses__()} {policy_code} %s %(x)s",
    "placeholder injection": "{reported_excerpt}{external_ref}{{policy_name}}",
    "braces": "}}}{{{ { } {{",
    "very long": "A" * 1_000_000,
    "right-to-left override": f"{RLO}gpj.exe مرحبا بالعالم",
    "control characters": "line1\nline2\r\x00\x1b[31mred\x07",
    "lone surrogate": "broken \ud800 text",
}


@pytest.mark.parametrize("hostile", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_case_text_is_substituted_literally_and_safely(hostile):
    template = parse_template("Ref {external_ref}: {reported_excerpt} / {policy_code}.",
                              "t", "responses")
    case = _case(external_ref=hostile[:128], reported_text=hostile)
    text = render(template, case, now=NOW, policy=TAXONOMY.policy("HS-1"))
    assert text.startswith("Ref ") and text.endswith(" / HS-1.")
    # Nothing from the case was read as a placeholder or a format specifier.
    inner = text[len("Ref "):-len(" / HS-1.")]
    assert "HS-1" not in inner and "Dehumanising" not in inner
    assert len(text) < 2 * MAX_VALUE_CHARS + 40
    assert "\n" not in text and "\x00" not in text and "\x1b" not in text
    assert RLO not in text
    if any("\u0600" <= ch <= "\u06ff" for ch in hostile):
        assert text.count(FSI) == text.count(PDI) == 2  # each value isolated
    text.encode("utf-8")  # no lone surrogates survive


def test_values_are_never_expanded_twice():
    assert fill("{external_ref}", {"external_ref": "{policy_code}",
                                   "policy_code": "HS-1"}) == "{policy_code}"
    assert fill("{{literal}} {external_ref}", {"external_ref": "x"}) == "{literal} x"
    assert fill("{unknown} {", {}) == "{unknown} {"


def test_safe_value_shortens_flattens_and_isolates():
    assert safe_value("a\nb\tc") == "a b c"
    long = safe_value("word " * 500)
    assert len(long) == MAX_VALUE_CHARS and long.endswith("…")
    assert safe_value("שלום") == f"{FSI}שלום{PDI}"


@pytest.mark.parametrize(
    ("text", "problem", "line"),
    [
        ("# title: T\n\nHello {name}", "unknown placeholder {name}", 3),
        ("# title: T\n\nHello {0.__class__}", "a lone '{'", 3),
        ("# title: T\n\nfirst\nsecond } third", "a lone '}'", 4),
        ("# colour: red\n\nHello", "unknown header 'colour'", 1),
        ("# actions: delete_everything\n\nHello", "unknown action 'delete_everything'", 1),
        ("# title: nothing\n\n   \n", "the template has no text", 1),
    ],
)
def test_a_bad_template_is_refused_with_its_line(text, problem, line):
    with pytest.raises(TemplateError) as error:
        parse_template(text, "bad", "rationale", "bad.txt")
    assert problem in error.value.problem
    assert error.value.line == line
    assert str(error.value).startswith(f"bad.txt:{line}: ")


def test_every_shipped_template_loads_and_uses_only_known_placeholders():
    rationales = load_templates("rationale")
    replies = load_templates("responses")
    assert {t.id for t in rationales} >= {"remove", "disable_account", "no_violation"}
    assert {t.id for t in replies} >= {"partner", "press", "regulator"}
    case = _case()
    for template in (*rationales, *replies):
        text = render(template, case, now=NOW, policy=TAXONOMY.policy("HS-1"),
                      action="remove", reviewer_name="Demo Reviewer")
        for name in PLACEHOLDERS:
            assert "{" + name + "}" not in text, (template.id, name)


@pytest.mark.parametrize("policy", TAXONOMY.policies(), ids=lambda p: p.code)
def test_each_allowed_action_has_a_rationale_template_long_enough(policy):
    rationales = load_templates("rationale")
    case = _case(surface=policy.surfaces[0].value)
    for action in policy.actions:
        fitting = templates_for(rationales, policy_code=policy.code, action=action.value)
        assert fitting, f"no rationale template for {action.value}"
        text = render(fitting[0], case, now=NOW, policy=policy, action=action.value)
        if needs_second_review(TAXONOMY, policy.code, action.value):
            assert len(text.strip()) >= MIN_SEVERE_RATIONALE_CHARS


# -- replies ------------------------------------------------------------------------------


def test_a_reply_is_drafted_from_a_template_recorded_and_synced(workstation, clock):
    with workstation.replica.sessions.begin() as session:
        case = session.scalars(select(Case).order_by(Case.external_ref)).first()
        case.channel = "regulator"
    template = response_templates(load_templates("responses"), case)[0]
    assert template.id == "regulator"
    draft = draft_response(template, case, now=clock.now(), reviewer_name="Demo Reviewer",
                           policy=TAXONOMY.policies_for_surface(case.surface)[0],
                           action="remove")
    assert case.external_ref in draft and "Demo Reviewer" in draft and "{" not in draft
    edited = draft + "\nP.S. The measure applies in Germany only."
    response = record_response(workstation.replica.sessions, case_id=case.id,
                               author_id=workstation.reviewer_id,
                               client_id=workstation.client_id, body=edited, clock=clock,
                               template_id=template.id)
    with workstation.replica.sessions() as session:
        entry = session.scalar(select(OutboxEntry).where(OutboxEntry.entity_id == response.id))
        assert entry.kind == "response" and entry.payload["body"] == edited.strip()
    assert workstation.synchronise().rejected == 0
    with workstation.backend.sessions() as session:
        stored = session.get(Response, response.id)
        assert (stored.body, stored.channel, stored.template_id) == (
            edited.strip(), "regulator", "regulator")
    with workstation.replica.sessions() as session:
        thread = case_thread(session, case.id)
    assert thread[-1].kind == "response" and thread[-1].text == edited.strip()
    assert thread[-1].summary == "Reply to the regulator"


def test_replies_only_for_partners_press_and_regulators(workstation, clock):
    with workstation.replica.sessions.begin() as session:
        case = session.scalars(select(Case).order_by(Case.external_ref)).first()
        case.channel = "user_report"
    with pytest.raises(ResponseRejected, match="only for cases from partners"):
        record_response(workstation.replica.sessions, case_id=case.id,
                        author_id=workstation.reviewer_id, client_id=workstation.client_id,
                        body="Thanks for your report.", clock=clock)
    with pytest.raises(ResponseRejected, match="write the reply"):
        record_response(workstation.replica.sessions, case_id=case.id,
                        author_id=workstation.reviewer_id, client_id=workstation.client_id,
                        body="   ", clock=clock)
    with workstation.replica.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 0
