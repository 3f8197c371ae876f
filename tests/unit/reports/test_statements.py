"""Statements of reasons: every mapped policy and action gives a statement that meets the
published DSA Transparency Database API rules, field by field; the rest are reported."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from reviewer.cli import main
from reviewer.demo.seed import demo_reviewer_id
from reviewer.enforcement.decisions import (
    DecisionDraft,
    needs_second_review,
    record_decision,
    record_second_review,
)
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.reports.statements import (
    MappingError,
    NotExportable,
    build_statement,
    default_mapping_path,
    load_dsa_mapping,
    validate_statement,
)
from reviewer.security.audit import BACKEND_ORIGIN, verify_chain
from reviewer.store.models import AuditLogEntry, Case, Decision, SecondReview
from reviewer.vocabulary import Action, Channel
from tests.helpers.workstations import Desk

TAXONOMY = load_taxonomy()
MAPPING = load_dsa_mapping(taxonomy=TAXONOMY)
DECIDED_AT = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)

# -- the published rules, written out independently of reviewer.reports.statements ---------------
# Source: https://transparency.dsa.ec.europa.eu/page/api-documentation (API v2), i.e.
# github.com/digital-services-act/transparency-database resources/markdown/
# api-documentation-two.md and app/Http/Requests/StatementStoreRequest.php.

VISIBILITY = {"DECISION_VISIBILITY_CONTENT_REMOVED", "DECISION_VISIBILITY_CONTENT_DISABLED",
              "DECISION_VISIBILITY_CONTENT_DEMOTED", "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
              "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
              "DECISION_VISIBILITY_CONTENT_LABELLED", "DECISION_VISIBILITY_OTHER"}
ACCOUNT = {"DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"}
GROUNDS = {"DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT"}
CONTENT = {"CONTENT_TYPE_APP", "CONTENT_TYPE_AUDIO", "CONTENT_TYPE_IMAGE",
           "CONTENT_TYPE_PRODUCT", "CONTENT_TYPE_SYNTHETIC_MEDIA", "CONTENT_TYPE_TEXT",
           "CONTENT_TYPE_VIDEO", "CONTENT_TYPE_OTHER"}
CATEGORIES = {f"STATEMENT_CATEGORY_{c}" for c in (
    "ANIMAL_WELFARE", "CONSUMER_INFORMATION", "CYBER_VIOLENCE", "CYBER_VIOLENCE_AGAINST_WOMEN",
    "DATA_PROTECTION_AND_PRIVACY_VIOLATIONS", "ILLEGAL_OR_HARMFUL_SPEECH",
    "INTELLECTUAL_PROPERTY_INFRINGEMENTS", "NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "NOT_SPECIFIED_NOTICE", "OTHER_VIOLATION_TC", "PROTECTION_OF_MINORS",
    "RISK_FOR_PUBLIC_SECURITY", "SCAMS_AND_FRAUD", "SELF_HARM", "UNSAFE_AND_PROHIBITED_PRODUCTS",
    "VIOLENCE")}
SOURCES = {"SOURCE_ARTICLE_16", "SOURCE_TRUSTED_FLAGGER", "SOURCE_TYPE_OTHER_NOTIFICATION",
           "SOURCE_VOLUNTARY"}
AUTOMATED = {"AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY",
             "AUTOMATED_DECISION_NOT_AUTOMATED"}
EEA = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
       "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK"}
REQUIRED = {"decision_ground", "content_type", "category", "territorial_scope", "content_date",
            "application_date", "decision_facts", "source_type", "automated_detection",
            "automated_decision", "puid"}


def _day(value: str, earliest: str) -> date:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value), value
    parsed = date.fromisoformat(value)
    assert date.fromisoformat(earliest) <= parsed <= date(2038, 1, 1)
    return parsed


def assert_meets_published_rules(s: dict) -> None:
    assert set(s) >= REQUIRED, REQUIRED - set(s)
    # At least one restriction.
    assert any(s.get(k) for k in ("decision_visibility", "decision_monetary",
                                  "decision_provision", "decision_account"))
    if "decision_visibility" in s:
        assert isinstance(s["decision_visibility"], list) and s["decision_visibility"]
        assert set(s["decision_visibility"]) <= VISIBILITY
        assert ("DECISION_VISIBILITY_OTHER" in s["decision_visibility"]) == (
            "decision_visibility_other" in s)
    if "decision_account" in s:
        assert s["decision_account"] in ACCOUNT
    assert "decision_monetary" not in s and "decision_provision" not in s  # we map neither
    # Ground and its conditional fields.
    assert s["decision_ground"] in GROUNDS
    if s["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT":
        assert 0 < len(s["illegal_content_legal_ground"]) <= 500
        assert 0 < len(s["illegal_content_explanation"]) <= 2000
        assert not {"incompatible_content_ground", "incompatible_content_explanation",
                    "incompatible_content_illegal"} & set(s)
    else:
        assert 0 < len(s["incompatible_content_ground"]) <= 500
        assert 0 < len(s["incompatible_content_explanation"]) <= 2000
        assert s.get("incompatible_content_illegal", "No") in ("Yes", "No")
        assert not {"illegal_content_legal_ground", "illegal_content_explanation"} & set(s)
    # Content.
    assert isinstance(s["content_type"], list) and s["content_type"]
    assert set(s["content_type"]) <= CONTENT
    if "CONTENT_TYPE_OTHER" in s["content_type"]:
        assert 0 < len(s["content_type_other"]) <= 500
    else:
        assert "content_type_other" not in s
    assert s["category"] in CATEGORIES
    assert set(s.get("category_addition", [])) <= CATEGORIES
    assert all(k.startswith("KEYWORD_") for k in s.get("category_specification", []))
    if "category_specification_other" in s:
        assert "KEYWORD_OTHER" in s["category_specification"]
        assert len(s["category_specification_other"]) <= 500
    assert s["territorial_scope"] and set(s["territorial_scope"]) <= EEA
    if "content_language" in s:
        assert re.fullmatch(r"[A-Z]{2}", s["content_language"])
    # Dates; end dates on or after the application date.
    _day(s["content_date"], "2000-01-01")
    applied = _day(s["application_date"], "2020-01-01")
    for end_field, restriction in (("end_date_visibility_restriction", "decision_visibility"),
                                   ("end_date_account_restriction", "decision_account")):
        if end_field in s:
            assert s.get(restriction)
            assert _day(s[end_field], "2020-01-01") >= applied
    assert 0 < len(s["decision_facts"]) <= 5000
    assert s["source_type"] in SOURCES
    assert s["automated_detection"] in ("Yes", "No")
    assert s["automated_decision"] in AUTOMATED
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,500}", s["puid"])


# -- every mapped pair ------------------------------------------------------------------------

CHANNELS = list(Channel)
EXPORTABLE = [(policy.code, action.value) for policy in TAXONOMY.policies()
              for action in policy.actions if action.value not in MAPPING.not_exportable]


def _case(surface: str, channel: str = "user_report", region: str = "DE") -> Case:
    reported = datetime(2026, 11, 15, 22, 0, tzinfo=UTC)
    return Case(id=uuid.uuid4(), external_ref="RPT-2026000001", queue_id=uuid.uuid4(),
                surface=surface, channel=channel, policy_area="x", reported_at=reported,
                due_at=reported + timedelta(hours=4), severity=3, reach=10, language="de",
                region=region, reported_text="", reporter_note="", status="decided")


def _decision(case: Case, policy_code: str, action: str, rationale: str = "") -> Decision:
    return Decision(id=uuid.uuid4(), case_id=case.id, reviewer_id=uuid.uuid4(),
                    policy_code=policy_code, action=action, created_at=DECIDED_AT,
                    rationale=rationale or "The content matches the definition in full.",
                    policy_version=TAXONOMY.version, fencing_token=1, conflict=False,
                    requires_second_review=needs_second_review(TAXONOMY, policy_code, action))


def _approval(decision: Decision, at: datetime) -> SecondReview:
    return SecondReview(id=uuid.uuid4(), decision_id=decision.id, case_id=decision.case_id,
                        reviewer_id=uuid.uuid4(), verdict="approved", note="", created_at=at)


def test_every_policy_and_action_is_either_mapped_or_declared_not_exportable():
    assert len(EXPORTABLE) > len(TAXONOMY.policies())
    for policy in TAXONOMY.policies():
        for action in policy.actions:
            assert (MAPPING.restriction(policy.code, action.value) is not None) != (
                action.value in MAPPING.not_exportable), (policy.code, action.value)


@pytest.mark.parametrize(("policy_code", "action"), EXPORTABLE)
def test_each_mapped_pair_gives_a_statement_meeting_the_published_rules(policy_code, action):
    policy = TAXONOMY.policy(policy_code)
    index = EXPORTABLE.index((policy_code, action))
    for surface in policy.surfaces:
        case = _case(surface.value, CHANNELS[index % len(CHANNELS)].value)
        decision = _decision(case, policy_code, action)
        approved_at = DECIDED_AT + timedelta(days=1, hours=2)
        review = _approval(decision, approved_at) if decision.requires_second_review else None
        statement = build_statement(MAPPING, TAXONOMY, decision=decision, case=case,
                                    mime_types=["image/jpeg", "video/mp4"], review=review)
        assert validate_statement(statement) == {}
        assert_meets_published_rules(statement)
        assert statement["puid"] == str(decision.id)
        assert statement["application_date"] == (approved_at if review else DECIDED_AT).date(
        ).isoformat()
        assert statement["content_date"] == "2026-11-15"
        assert statement["content_language"] == "DE"
        assert {"CONTENT_TYPE_IMAGE", "CONTENT_TYPE_VIDEO"} <= set(statement["content_type"])
        assert statement["automated_detection"] == (
            "Yes" if case.channel == "proactive_detection" else "No")


def test_actions_map_to_the_api_restrictions():
    case = _case("organic_post")
    expected = {
        "remove": ("decision_visibility", ["DECISION_VISIBILITY_CONTENT_REMOVED"]),
        "mark_disturbing": ("decision_visibility", ["DECISION_VISIBILITY_CONTENT_LABELLED"]),
        "age_restrict": ("decision_visibility", ["DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED"]),
        "reduce_distribution": ("decision_visibility", ["DECISION_VISIBILITY_CONTENT_DEMOTED"]),
    }
    for action, (name, value) in expected.items():
        code = next(p.code for p in TAXONOMY.policies()
                    if Action(action) in p.actions and "organic_post" in p.surfaces
                    and not needs_second_review(TAXONOMY, p.code, action)
                    and MAPPING.policies[p.code].territorial_scope == "EEA")
        statement = build_statement(MAPPING, TAXONOMY, decision=_decision(case, code, action),
                                    case=case)
        assert statement[name] == value, action


def test_a_temporary_suspension_carries_its_end_date():
    case = _case("account")
    decision = _decision(case, "SF-2", "disable_account")
    review = _approval(decision, DECIDED_AT)
    statement = build_statement(MAPPING, TAXONOMY, decision=decision, case=case, review=review)
    assert statement["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert statement["end_date_account_restriction"] == "2026-12-16"
    assert statement["content_type"] == ["CONTENT_TYPE_OTHER"]
    assert statement["content_type_other"] == "User account or profile"
    permanent = build_statement(MAPPING, TAXONOMY, decision=_decision(case, "HS-1",
                                                                      "disable_account"),
                                case=case, review=review)
    assert permanent["decision_account"] == "DECISION_ACCOUNT_TERMINATED"
    assert "end_date_account_restriction" not in permanent


def test_an_illegal_content_ground_carries_the_legal_ground():
    case = _case("organic_post", channel="legal_request", region="FR")
    decision = _decision(case, "LEG-1", "remove")
    statement = build_statement(MAPPING, TAXONOMY, decision=decision, case=case,
                                review=_approval(decision, DECIDED_AT))
    assert statement["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert "Article 9" in statement["illegal_content_legal_ground"]
    assert statement["territorial_scope"] == ["FR"]
    assert statement["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
    assert statement["source_type"] == "SOURCE_TYPE_OTHER_NOTIFICATION"


def test_long_and_hostile_rationales_are_cut_to_the_limits():
    case = _case("organic_post")
    rationale = "{policy_code} \x00\x1b " + "word " * 3000
    statement = build_statement(MAPPING, TAXONOMY, decision=_decision(case, "HS-4", "remove",
                                                                      rationale), case=case)
    assert validate_statement(statement) == {}
    for name, limit in (("decision_facts", 5000), ("incompatible_content_explanation", 2000)):
        assert limit - 10 <= len(statement[name]) <= limit
        assert statement[name].endswith("…")
    assert "{policy_code}" in statement["decision_facts"]  # literal, not expanded
    assert "\x00" not in statement["decision_facts"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"action": "no_violation"}, "no restriction was imposed"),
        ({"action": "escalate"}, "handed to a specialist"),
        ({"action": "request_info", "policy_code": "IP-1"}, "more information was requested"),
        ({"conflict": True}, "conflict"),
        ({"superseded": True}, "superseded"),
        ({"action": "disable_account"}, "waiting for a second reviewer"),
        ({"action": "disable_account", "verdict": "rejected"}, "rejected by the second"),
        ({"policy_code": "LEG-2", "region": "US", "verdict": "approved"},
         "restricted only in US, outside the EU/EEA"),
    ],
)
def test_decisions_without_a_statement_say_why(change, reason):
    case = _case("organic_post", region=change.get("region", "DE"))
    decision = _decision(case, change.get("policy_code", "HS-1"), change.get("action", "remove"))
    decision.conflict = change.get("conflict", False)
    review = None
    if "verdict" in change:
        review = _approval(decision, DECIDED_AT)
        review.verdict = change["verdict"]
    with pytest.raises(NotExportable, match=reason):
        build_statement(MAPPING, TAXONOMY, decision=decision, case=case, review=review,
                        superseded=change.get("superseded", False))


# -- the validator catches each broken rule ------------------------------------------------


def _valid() -> dict:
    case = _case("organic_post")
    return build_statement(MAPPING, TAXONOMY, decision=_decision(case, "HS-4", "remove"),
                           case=case)


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"decision_visibility": None}, "decision_visibility", "at least one of"),
        ({"decision_visibility": []}, "decision_visibility", "at least one of"),
        ({"decision_visibility": ["DECISION_VISIBILITY_HIDDEN"]}, "decision_visibility",
         "not an allowed value"),
        ({"decision_visibility": ["DECISION_VISIBILITY_OTHER"]}, "decision_visibility_other",
         "is required"),
        ({"decision_visibility_other": "Blurred"}, "decision_visibility_other", "only when"),
        ({"decision_monetary": "DECISION_MONETARY_OTHER"}, "decision_monetary_other",
         "is required"),
        ({"decision_account": "DECISION_ACCOUNT_BANNED"}, "decision_account",
         "not an allowed value"),
        ({"decision_ground": None}, "decision_ground", "is required"),
        ({"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"},
         "illegal_content_legal_ground", "is required when decision_ground is DECISION_GROUND"),
        ({"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"},
         "illegal_content_explanation", "is required"),
        ({"decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"}, "incompatible_content_ground",
         "only when"),
        ({"incompatible_content_ground": ""}, "incompatible_content_ground", "is required"),
        ({"incompatible_content_explanation": "x" * 2001},
         "incompatible_content_explanation", "limit is 2000"),
        ({"incompatible_content_illegal": "Maybe"}, "incompatible_content_illegal",
         "not an allowed value"),
        ({"content_type": []}, "content_type", "at least one"),
        ({"content_type": ["CONTENT_TYPE_OTHER"]}, "content_type_other", "is required"),
        ({"content_type_other": "Profile"}, "content_type_other", "only when"),
        ({"category": "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT"}, "category",
         "not an allowed value"),
        ({"category_addition": ["STATEMENT_CATEGORY_SPAM"]}, "category_addition", "not an"),
        ({"category_specification": ["KEYWORD_HATE_SPEECH", "KEYWORD_HATE_SPEECH"]},
         "category_specification", "twice"),
        ({"category_specification_other": "Memes"}, "category_specification_other",
         "only when KEYWORD_OTHER"),
        ({"territorial_scope": ["DE", "US"]}, "territorial_scope", "'US' is not an allowed"),
        ({"territorial_scope": []}, "territorial_scope", "at least one"),
        ({"content_language": "de"}, "content_language", "uppercase"),
        ({"content_date": "1999-12-31"}, "content_date", "on or after 2000-01-01"),
        ({"content_date": "16/11/2026"}, "content_date", "YYYY-MM-DD"),
        ({"application_date": "2019-12-31"}, "application_date", "on or after 2020-01-01"),
        ({"application_date": "2038-01-02"}, "application_date", "on or before 2038-01-01"),
        ({"application_date": "2026-02-30"}, "application_date", "not a real date"),
        ({"end_date_visibility_restriction": "2026-11-15"}, "end_date_visibility_restriction",
         "on or after application_date"),
        ({"end_date_account_restriction": "2026-12-16"}, "end_date_account_restriction",
         "needs a restriction in decision_account"),
        ({"decision_account": "DECISION_ACCOUNT_TERMINATED",
          "end_date_account_restriction": "2026-12-16"}, "end_date_account_restriction",
         "permanent"),
        ({"decision_facts": ""}, "decision_facts", "is required"),
        ({"decision_facts": "x" * 5001}, "decision_facts", "limit is 5000"),
        ({"source_type": "SOURCE_RUMOUR"}, "source_type", "not an allowed value"),
        ({"automated_detection": "maybe"}, "automated_detection", "not an allowed value"),
        ({"automated_decision": "Yes"}, "automated_decision", "not an allowed value"),
        ({"puid": "has space"}, "puid", "only letters, digits"),
        ({"puid": "x" * 501}, "puid", "limit is 500"),
        ({"decision_ground_reference_url": "not a url"}, "decision_ground_reference_url",
         "must be a URL"),
        ({"colour": "red"}, "colour", "not a field"),
    ],
)
def test_each_broken_rule_is_reported_on_its_field(change, field, text):
    statement = _valid()
    assert validate_statement(statement) == {}
    for name, value in change.items():
        if value is None:
            statement.pop(name, None)
        else:
            statement[name] = value
    problems = validate_statement(statement)
    assert field in problems, problems
    assert text in problems[field]


def test_a_mapping_with_a_value_the_api_does_not_accept_is_refused(tmp_path):
    text = default_mapping_path().read_text(encoding="utf-8")
    broken = tmp_path / "mapping.toml"
    broken.write_text(text.replace('category = "STATEMENT_CATEGORY_VIOLENCE"',
                                   'category = "STATEMENT_CATEGORY_GORE"', 1), encoding="utf-8")
    with pytest.raises(MappingError, match="STATEMENT_CATEGORY_GORE"):
        load_dsa_mapping(broken, TAXONOMY)
    missing = tmp_path / "missing.toml"
    missing.write_text(text.replace('[policies."HS-2"]', '[policies."HS-2-OLD"]'),
                       encoding="utf-8")
    with pytest.raises(MappingError, match="policy HS-2 has no"):
        load_dsa_mapping(missing, TAXONOMY)
    account = tmp_path / "account.toml"
    account.write_text(text.replace('decision_account = "DECISION_ACCOUNT_TERMINATED"',
                                    'decision_account = "DECISION_ACCOUNT_BANISHED"'),
                       encoding="utf-8")
    with pytest.raises(MappingError, match="decision_account"):
        load_dsa_mapping(account, TAXONOMY)


# -- the export command, on real databases ---------------------------------------------------


def _decide(workstation, clock, case, code, action):
    return record_decision(
        workstation.replica.sessions, workstation.taxonomy,
        reviewer_id=workstation.reviewer_id, client_id=workstation.client_id, clock=clock,
        draft=DecisionDraft(case.id, code, action,
                            "The account and its posts match the policy; see the report."))


def test_export_writes_one_valid_statement_per_line_and_lists_the_rest(workstation, clock,
                                                                       tmp_path, capsys):
    clock.set(datetime(2026, 11, 20, 10, 0, tzinfo=UTC))  # after every seeded decision
    with workstation.replica.sessions() as session:
        cases = session.scalars(select(Case).where(Case.status == "new")
                                .order_by(Case.external_ref).limit(4)).all()
    plain = next(p.code for p in TAXONOMY.policies_for_surface(cases[0].surface)
                 if Action.REMOVE in p.actions and not needs_second_review(TAXONOMY, p.code,
                                                                            "remove")
                 and MAPPING.policies[p.code].territorial_scope == "EEA")
    removed = _decide(workstation, clock, cases[0], plain, "remove")
    cleared = _decide(workstation, clock, cases[1], "SF-2", "no_violation")
    pending = _decide(workstation, clock, cases[2], "SF-2", "disable_account")
    suspended = _decide(workstation, clock, cases[3], "SF-2", "disable_account")
    workstation.synchronise()
    clock.advance(timedelta(days=1))
    lead = Desk(tmp_path / "lead.sqlite", workstation.backend, clock, "sofia")
    record_second_review(lead.replica.sessions, decision_id=suspended.id,
                         reviewer_id=demo_reviewer_id("sofia"),
                         client_id=lead.client_id, approve=True, clock=clock)
    assert lead.sync.sync_once().pushed == 1
    lead.close()
    workstation.synchronise()

    out = tmp_path / "sor.jsonl"
    code = main(["--data-dir", str(workstation.paths.root), "export-statements",
                 "--since", "2026-11-20", "--out", str(out), "--user", "admin"],
                secrets=workstation.secrets)
    assert code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    statements = [json.loads(line) for line in lines]
    for statement in statements:
        assert_meets_published_rules(statement)
    by_puid = {s["puid"]: s for s in statements}
    assert set(by_puid) == {str(removed.id), str(suspended.id)}
    assert by_puid[str(suspended.id)]["application_date"] == "2026-11-21"
    assert by_puid[str(suspended.id)]["end_date_account_restriction"] == "2026-12-21"
    err = capsys.readouterr().err
    assert "wrote 2 statements of reasons" in err
    assert "not exported: 2 decisions" in err
    assert f"SKIP {cleared.id} {cases[1].external_ref} SF-2/no_violation: no restriction" in err
    assert f"SKIP {pending.id} {cases[2].external_ref} SF-2/disable_account: waiting for a " \
           "second reviewer" in err
    # The export is in the backend's audit chain, with the file's digest.
    with workstation.backend.sessions() as session:
        entry = session.scalar(select(AuditLogEntry).where(
            AuditLogEntry.origin == BACKEND_ORIGIN, AuditLogEntry.kind == "export"))
        assert entry.details["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
        assert entry.details["statements"] == 2 and entry.actor_id == demo_reviewer_id("admin")
        assert verify_chain(session, BACKEND_ORIGIN).ok


def test_export_of_a_quiet_period_writes_an_empty_file(workstation, tmp_path, capsys):
    out = tmp_path / "none.jsonl"
    assert main(["--data-dir", str(workstation.paths.root), "export-statements",
                 "--since", "2030-01-01", "--out", str(out)], secrets=workstation.secrets) == 0
    assert out.read_text() == ""
    assert "wrote 0 statements" in capsys.readouterr().err


def test_export_refuses_a_bad_date(workstation, tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--data-dir", str(workstation.paths.root), "export-statements",
              "--since", "last week", "--out", str(Path(tmp_path) / "x.jsonl")])
    assert exited.value.code == 2
    assert "not a date" in capsys.readouterr().err


def test_check_dsa_mapping_command(capsys):
    assert main(["check-dsa-mapping"]) == 0
    assert f"OK {len(TAXONOMY.policies())} policies mapped" in capsys.readouterr().out
