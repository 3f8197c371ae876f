"""The organisation as a file: reading it (mistakes reported by line, nothing applied),
applying it to an embedded backend (idempotent, renames keep ids, nothing lost), and
show-org | apply-org changing nothing. PostgreSQL's login roles: tests/integration."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from reviewer.org.apply import OrgRefused, apply_org, current_org, plan_org
from reviewer.org.file import OrgError, parse_org, read_org, render_org
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.queue.leases import lease_next_case
from reviewer.resources import RESOURCES
from reviewer.secret_store import MemorySecretStore
from reviewer.store.database import Database, DataPaths, sqlite_url
from reviewer.store.keys import DatabaseKeys
from reviewer.store.models import AuditLogEntry, Case, Queue, Reviewer, Team, TeamMembership
from reviewer.vocabulary import EscalationTeam
from tests.helpers.fixtures import START
from ui.admin_cli import main

EXAMPLE = RESOURCES / "org.example.toml"
TAXONOMY = load_taxonomy()


@pytest.fixture
def secrets():
    return MemorySecretStore()


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def backend(data_dir, secrets):
    database = Database.open(sqlite_url(DataPaths(data_dir).ensure().backend),
                             keys=DatabaseKeys(secrets))
    yield database
    database.dispose()


def _apply(backend, org, **options):
    with backend.writing() as session:
        return apply_org(session, org, now=START, **options)


def _text_with(old: str, new: str) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


# -- reading ---------------------------------------------------------------------------------

def test_the_shipped_example_and_the_demo_read_back_as_written():
    for path in (EXAMPLE, RESOURCES / "demo_org.toml"):
        org = read_org(path, TAXONOMY)
        assert parse_org(render_org(org), TAXONOMY) == org
    org = read_org(EXAMPLE, TAXONOMY)
    assert [q.code for q in org.queues] == ["graphic-violence", "child-safety", "hate-speech",
                                            "dangerous-orgs", "regulator-requests"]
    assert [e.team for e in org.escalations] == list(EscalationTeam)
    violence = org.queues[0]
    assert violence.sla_hours_by_channel == {"press": 2.0, "regulator": 2.0, "vip": 1.0}
    assert (violence.graphic, violence.offline, violence.languages) == (
        True, False, ("en", "de", "fr", "es"))
    # Left out, defaults come from the policy area: hate speech is not graphic.
    hate = org.queues[2]
    assert (hate.graphic, hate.offline, hate.language_routing) == (False, True, True)
    assert org.person("amara").teams == ("escalation-second-level", "graphic-content")


@pytest.mark.parametrize(("old", "new", "problem"), [
    ('sla_hours = 24\nsla_hours_by_channel = { regulator = 12, press = 6 }',
     'sla = 24', "org.toml:{line}: unknown key 'sla' in [[queue]]"),
    ('team = "integrity"\npolicy_area = "hate_speech"',
     'team = "integrty"\npolicy_area = "hate_speech"',
     "org.toml:{line}: unknown team 'integrty' (teams in this file: graphic-content, "
     "integrity, regulatory)"),
    ('policy_area = "child_safety"\nsla_hours = 1\noffline = false',
     'policy_area = "child_safety"\nsla_hours = 1\noffline = true',
     "org.toml:{line}: cases of policy area 'child_safety' are never taken offline"),
    ('code = "hate-speech"\nname = "Hate speech"', 'code = "child-safety"\nname = "Hate speech"',
     "org.toml:{line}: queue code 'child-safety' is already used by the [[queue]] at line"),
    ('sla_hours = 12\noffline = false', 'sla_hours = -3\noffline = false',
     "org.toml:{line}: 'sla_hours' must be more than 0"),
    ('{ regulator = 12, press = 6 }', '{ regulator = 12, fax = 6 }',
     "org.toml:{line}: unknown channel 'fax'"),
    ('role = "auditor"', 'role = "boss"', "org.toml:{line}: unknown role 'boss'"),
    ('languages = ["ar", "fr", "en"]', 'languages = ["arabic"]',
     "org.toml:{line}: 'arabic' is not a language code"),
    ('teams = ["integrity"]', 'teams = []',
     "org.toml:{line}: reviewer 'jonas' needs at least one team"),
    ('name = "Jonas Weber"', 'name = "Jonas Weber', "org.toml:{line}: not valid TOML"),
])
def test_a_mistake_is_reported_at_its_line(old, new, problem):
    text = _text_with(old, new)
    # The line the mistake is on: the first line of the edit that differs from the original.
    changed = next(i for i, part in enumerate(new.splitlines())
                   if part not in old.splitlines())
    line = text[:text.index(new)].count("\n") + 1 + changed
    with pytest.raises(OrgError) as raised:
        parse_org(text, TAXONOMY)
    assert any(p.startswith(problem.format(line=line)) for p in raised.value.problems), \
        raised.value.problems


def test_every_mistake_is_listed_in_file_order():
    text = _text_with('role = "auditor"', 'role = "boss"').replace(
        'policy_area = "hate_speech"', 'policy_area = "hate"')
    with pytest.raises(OrgError) as raised:
        parse_org(text, TAXONOMY)
    problems = raised.value.problems
    assert len(problems) == 2
    assert "unknown policy area 'hate'" in problems[0] and "unknown role 'boss'" in problems[1]
    assert int(problems[0].split(":")[1]) < int(problems[1].split(":")[1])


def test_a_missing_huge_or_binary_file_is_refused(tmp_path):
    with pytest.raises(OrgError, match="cannot read it"):
        read_org(tmp_path / "nope.toml", TAXONOMY)
    binary = tmp_path / "org.toml"
    binary.write_bytes(b"[[team]]\ncode = \"a\"\n\xff\xfe")
    with pytest.raises(OrgError, match=r"org.toml:3: not UTF-8"):
        read_org(binary, TAXONOMY)
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"#" * (11 * 1024 * 1024))
    with pytest.raises(OrgError, match="at most"):
        read_org(huge, TAXONOMY)


# -- applying ----------------------------------------------------------------------------------

def test_applying_creates_the_organisation_once(backend):
    org = read_org(EXAMPLE, TAXONOMY)
    report = _apply(backend, org)
    assert report.plan.counts() == {"added": 3 + 5 + 7 + 7, "changed": 0, "removed": 0}
    with backend.sessions() as session:
        assert current_org(session).normalised() == org.normalised()
        queue = session.scalar(select(Queue).where(Queue.code == "graphic-violence"))
        assert queue.sla_for("vip") == 1.0 and queue.sla_for("user_report") == 4.0
        amara = session.scalar(select(Reviewer).where(Reviewer.username == "amara"))
        assert amara.team_codes == ["escalation-second-level", "graphic-content"]
        assert amara.languages == ["en", "fr"]
        entry = session.scalars(select(AuditLogEntry).where(
            AuditLogEntry.kind == "organisation_applied")).one()
        assert entry.subject == "organisation"
    again = _apply(backend, org)
    assert again.plan.empty and again.version is None
    with backend.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditLogEntry)) == 1


def test_a_rename_keeps_the_queue_and_its_cases(backend):
    _apply(backend, read_org(EXAMPLE, TAXONOMY))
    with backend.sessions() as session:
        before = session.scalar(select(Queue).where(Queue.code == "hate-speech")).id
    renamed = parse_org(_text_with('name = "Hate speech"', 'name = "Hate speech & slurs"'),
                        TAXONOMY)
    with backend.sessions() as session:
        plan = plan_org(session, renamed)
    assert [str(c) for c in plan.changes] == [
        'queue hate-speech: name "Hate speech" -> "Hate speech & slurs"'.join(("~ ", ""))]
    _apply(backend, renamed)
    with backend.sessions() as session:
        queue = session.scalar(select(Queue).where(Queue.code == "hate-speech"))
        assert (queue.id, queue.name) == (before, "Hate speech & slurs")


def _add_case(session, queue_code: str, status: str = "new") -> uuid.UUID:
    queue = session.scalar(select(Queue).where(Queue.code == queue_code))
    case = Case(external_ref=f"RPT-{uuid.uuid4()}", queue_id=queue.id, surface="organic_post",
                channel="user_report", policy_area=queue.policy_area, reported_at=START,
                due_at=START + timedelta(hours=4), severity=3, reach=10, language="en",
                region="GB", status=status)
    session.add(case)
    session.flush()
    return case.id


def test_a_queue_with_open_cases_is_never_taken_out(backend):
    _apply(backend, read_org(EXAMPLE, TAXONOMY))
    with backend.writing() as session:
        for _ in range(3):
            _add_case(session, "dangerous-orgs")
        _add_case(session, "dangerous-orgs", status="decided")
    text = EXAMPLE.read_text(encoding="utf-8")
    block = text[text.index('[[queue]]\ncode = "dangerous-orgs"'):
                 text.index('[[queue]]\ncode = "regulator-requests"')]
    without = parse_org(text.replace(block, ""), TAXONOMY)
    with pytest.raises(OrgRefused, match=r"dangerous-orgs .* still has 3 open cases"):
        _apply(backend, without.__class__(without.teams, without.queues, without.escalations,
                                          without.people))
    with backend.sessions() as session:  # nothing was applied
        assert current_org(session).normalised() == read_org(EXAMPLE, TAXONOMY).normalised()
    # Once its cases are decided it is archived, not deleted: the closed cases stay.
    with backend.writing() as session:
        for case in session.scalars(select(Case).where(Case.status == "new")):
            case.status = "decided"
    report = _apply(backend, without)
    assert [str(c) for c in report.plan.changes] == [
        "- queue dangerous-orgs: archived; its 4 closed cases stay"]
    with backend.sessions() as session:
        queue = session.scalar(select(Queue).where(Queue.code == "dangerous-orgs"))
        assert queue.archived
        assert session.scalar(select(func.count()).select_from(Case)) == 4
        assert current_org(session).normalised() == without.normalised()
    # Put back, it is the same queue again.
    _apply(backend, read_org(EXAMPLE, TAXONOMY))
    with backend.sessions() as session:
        assert session.get(Queue, queue.id).archived is False


def test_a_person_left_out_is_disabled_and_their_leases_return(backend, clock):
    _apply(backend, read_org(EXAMPLE, TAXONOMY))
    with backend.writing() as session:
        case_id = _add_case(session, "hate-speech")
    jonas = read_org(EXAMPLE, TAXONOMY).person("jonas")
    with backend.sessions() as session:
        jonas_id = session.scalar(select(Reviewer.id).where(Reviewer.username == "jonas"))
    lease = lease_next_case(backend, jonas_id, clock)
    assert lease is not None and lease.case_id == case_id
    org = read_org(EXAMPLE, TAXONOMY)
    without = org.__class__(org.teams, org.queues, org.escalations,
                            tuple(p for p in org.people if p is not jonas and
                                  p.username != "jonas"))
    report = _apply(backend, without)
    assert "- person jonas: account disabled; their leases go back to the queue" in [
        str(c) for c in report.plan.changes]
    with backend.sessions() as session:
        assert session.get(Reviewer, jonas_id).active is False
        case = session.get(Case, case_id)
        assert (case.status, case.lease_holder_id) == ("new", None)
    _apply(backend, org)
    with backend.sessions() as session:
        assert session.get(Reviewer, jonas_id).active is True


def test_a_team_left_out_is_archived_with_its_memberships_ended(backend):
    _apply(backend, read_org(EXAMPLE, TAXONOMY))
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('[[team]]\ncode = "regulatory"\nname = "Regulatory & Partner '
                        'Escalations"\n', "")
    text = text.replace('team = "regulatory"', 'team = "integrity"')
    text = text.replace('"regulatory", ', "").replace(', "regulatory"', "")
    smaller = parse_org(text, TAXONOMY)
    _apply(backend, smaller)
    with backend.sessions() as session:
        assert session.get(Team, "regulatory").archived
        assert session.scalar(select(func.count()).select_from(TeamMembership).where(
            TeamMembership.team_code == "regulatory")) == 0
        assert current_org(session).normalised() == smaller.normalised()


# -- the commands -----------------------------------------------------------------------------

def test_dry_run_show_org_and_apply_org_from_the_command_line(data_dir, secrets, tmp_path,
                                                              capsys):
    def run(*argv: str) -> tuple[int, str]:
        code = main(["--data-dir", str(data_dir), *argv], secrets=secrets)
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    code, out = run("apply-org", str(EXAMPLE), "--dry-run")
    assert code == 0
    assert "+ queue graphic-violence: \"Graphic violence\" in graphic-content" in out
    assert out.rstrip().endswith("dry run: 22 to add, 0 to change, 0 to remove; nothing was "
                                 "changed")
    code, out = run("show-org")
    assert code == 0 and "[[queue]]" not in out  # the dry run changed nothing

    code, out = run("apply-org", str(EXAMPLE))
    assert code == 0 and out.rstrip().endswith("applied: 22 to add, 0 to change, 0 to remove")
    code, shown = run("show-org")
    written = tmp_path / "shown.toml"
    written.write_text(shown, encoding="utf-8")
    assert read_org(written, TAXONOMY).normalised() == read_org(EXAMPLE, TAXONOMY).normalised()
    code, out = run("apply-org", str(written))
    assert code == 0 and "already matches the file; nothing to change" in out

    broken = tmp_path / "org.toml"
    broken.write_text(_text_with('role = "lead"', 'role = "chief"'), encoding="utf-8")
    code, out = run("apply-org", str(broken))
    assert code == 2 and "error: org.toml:" in out and "unknown role 'chief'" in out


def test_the_demo_is_built_from_its_organisation_file(workstation):
    with workstation.sync.backend.database.sessions() as session:  # the embedded backend
        org = current_org(session).normalised()
    demo = read_org(Path(RESOURCES / "demo_org.toml"), TAXONOMY).normalised()
    assert org.teams == demo.teams and org.queues == demo.queues
    assert {p.username for p in demo.people} <= {p.username for p in org.people}


def test_intake_uses_the_queue_code_the_channel_sla_and_refuses_an_archived_queue(
        backend, tmp_path, clock):
    import json

    from reviewer.queue.ingest import ingest_file

    _apply(backend, read_org(EXAMPLE, TAXONOMY))
    reports = [
        {"external_ref": "R-1", "queue": "graphic-violence", "surface": "organic_post",
         "channel": "vip", "reported_at": "2026-11-16T08:00:00Z", "severity": 4,
         "language": "en", "region": "GB"},
        {"external_ref": "R-2", "queue": "Graphic violence", "surface": "organic_post",
         "channel": "user_report", "reported_at": "2026-11-16T08:00:00Z", "severity": 4,
         "language": "en", "region": "GB"},
        {"external_ref": "R-3", "queue": "dangerous-orgs", "surface": "organic_post",
         "channel": "user_report", "reported_at": "2026-11-16T08:00:00Z", "severity": 2,
         "language": "en", "region": "GB"},
    ]
    org = read_org(EXAMPLE, TAXONOMY)
    _apply(backend, org.__class__(org.teams, tuple(q for q in org.queues
                                                   if q.code != "dangerous-orgs"),
                                  org.escalations, org.people))
    path = tmp_path / "reports.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in reports) + "\n", encoding="utf-8")
    result = ingest_file(backend, path, TAXONOMY, clock)
    assert result.loaded_refs == ["R-1", "R-2"]
    assert result.problems == [(3, "queue 'dangerous-orgs' was taken out of the organisation "
                                   "(archived); it takes no new cases")]
    with backend.sessions() as session:
        due = {c.external_ref: c.due_at - c.reported_at for c in session.scalars(select(Case))}
    assert due == {"R-1": timedelta(hours=1), "R-2": timedelta(hours=4)}
