"""Row-level security on a real PostgreSQL backend: what each login role may see and do.

The people here are real login roles (``reviewer-admin create-user``'s code) of two teams
that do not overlap; the app's own flows run as them, and so do plain-SQL probes of what a
tampered client might try. Every probe must be refused by the database itself.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError, StatementError

from reviewer.clock import ManualClock
from reviewer.demo import demo_reviewer_id
from reviewer.devices import DeviceError, check_in
from reviewer.enforcement import DecisionDraft, correct_decision, withdraw_decision
from reviewer.escalation import escalate_case
from reviewer.leases import lease_case, lease_next_case, reassign_lease
from reviewer.models import (
    AuditLogEntry,
    Case,
    Decision,
    Escalation,
    LeaseEvent,
    MediaBlob,
    MediaItem,
    Note,
    OutboxEntry,
    Queue,
    WellnessSummary,
)
from reviewer.notes import add_note
from reviewer.queue import QueueFilter, QueueOrder, SortKey, count_cases, fetch_page
from reviewer.store import Database
from reviewer.sync.engine import SyncReport
from reviewer.vocabulary import EscalationTeam, Urgency
from tests.helpers.pg_workstations import (
    RATIONALE,
    check_in_device,
    create_login,
    decide,
    drop_logins,
    open_workstation,
    seed_backend,
)

GRAPHIC, ADS = "graphic-content", "ads-commerce"


@dataclass
class Person:
    name: str
    url: URL

    @property
    def id(self) -> uuid.UUID:
        return demo_reviewer_id(self.name)


@dataclass
class TeamBackend:
    owner_url: URL
    clock: ManualClock
    alice: Person  # reviewer, graphic content
    bob: Person  # reviewer, ads & commerce
    carol: Person  # lead, graphic content
    engines: list[Engine]

    def connect_as(self, person: Person) -> Engine:
        """A plain-SQL connection of this person's own (no pool shared with anyone)."""
        engine = create_engine(person.url, pool_size=1)
        self.engines.append(engine)
        return engine

    def connect_as_owner(self) -> Engine:
        engine = create_engine(self.owner_url, pool_size=1)
        self.engines.append(engine)
        return engine

    def owner(self) -> Database:
        return Database.open(self.owner_url, migrate=False)

    def team_case_ids(self, team: str, status: str | None = None) -> list[uuid.UUID]:
        backend = self.owner()
        try:
            with backend.sessions() as session:
                statement = (select(Case.id).join(Queue, Queue.id == Case.queue_id)
                             .where(Queue.team_code == team).order_by(Case.external_ref))
                if status is not None:
                    statement = statement.where(Case.status == status)
                return list(session.scalars(statement))
        finally:
            backend.dispose()


@pytest.fixture
def team_backend(pg_url, postgres_server):
    # Leases are checked against the server's clock, so the test's clock starts at now.
    clock = ManualClock(datetime.now(UTC))
    seed_backend(pg_url, clock, cases=60)
    suffix = uuid.uuid4().hex[:8]
    names = {key: f"{key}_{suffix}" for key in ("alice", "bob", "carol")}
    people = {
        "alice": create_login(pg_url, names["alice"], role="reviewer", teams=[GRAPHIC]),
        "bob": create_login(pg_url, names["bob"], role="reviewer", teams=[ADS]),
        "carol": create_login(pg_url, names["carol"], role="lead", teams=[GRAPHIC]),
    }
    backend = TeamBackend(pg_url, clock, *(Person(names[k], people[k])
                                           for k in ("alice", "bob", "carol")), [])
    try:
        yield backend
    finally:
        for engine in backend.engines:
            engine.dispose()
        drop_logins(postgres_server.admin_url, list(names.values()))


def _replica_case_teams(workstation) -> set[str]:
    with workstation.replica.sessions() as session:
        return set(session.scalars(
            select(Queue.team_code).join(Case, Case.queue_id == Queue.id).distinct()))


def _draft(workstation, case_id: uuid.UUID, action: str = "no_violation") -> DecisionDraft:
    case = workstation.case(case_id)
    policy = next(p for p in workstation.taxonomy.policies_for_surface(case.surface)
                  if action in p.actions)
    return DecisionDraft(case_id, policy.code, action, RATIONALE)


def test_reviewers_of_two_teams_work_through_a_real_sync(team_backend, tmp_path):
    tb = team_backend
    alice = open_workstation(tmp_path / "alice", tb.alice.url, tb.clock, username=tb.alice.name)
    bob = open_workstation(tmp_path / "bob", tb.bob.url, tb.clock, username=tb.bob.name)
    try:
        for workstation, person in ((alice, tb.alice), (bob, tb.bob)):
            check_in_device(workstation, person.name)
            workstation.synchronise()
        # Each replica holds exactly the cases of its reviewer's team.
        assert _replica_case_teams(alice) == {GRAPHIC}
        assert _replica_case_teams(bob) == {ADS}
        with alice.replica.sessions() as local:
            assert local.scalar(select(func.count()).select_from(Case)) == \
                len(tb.team_case_ids(GRAPHIC)) > 0
            others = local.scalar(select(func.count()).select_from(Decision).where(
                Decision.reviewer_id != tb.alice.id, Decision.requires_second_review.is_(False)))
            assert others == 0

        # Get next, decide, leave a note, push.
        lease = alice.get_next_case()
        assert lease is not None and lease.case_id in tb.team_case_ids(GRAPHIC)
        decision = decide(alice, lease.case_id)
        add_note(alice.replica.sessions, case_id=lease.case_id, author_id=tb.alice.id,
                 client_id=alice.client_id, body="Checked the linked profile too.",
                 clock=tb.clock)
        report = alice.synchronise()
        assert (report.pushed, report.rejected) == (2, 0)

        # Correct it, escalate another case, and undo a third decision before it is sent.
        correction = correct_decision(
            alice.replica.sessions, alice.taxonomy, reviewer_id=tb.alice.id,
            client_id=alice.client_id, supersedes_id=decision.id,
            draft=_draft(alice, lease.case_id), clock=tb.clock)
        second = alice.get_next_case()
        assert second is not None
        escalate_case(alice.replica.sessions, case_id=second.case_id, reviewer_id=tb.alice.id,
                      client_id=alice.client_id, to_team=EscalationTeam.LEGAL,
                      urgency=Urgency.HIGH, reason="A court order is attached.", clock=tb.clock)
        third = alice.get_next_case()
        assert third is not None
        withdrawn = decide(alice, third.case_id)
        withdraw_decision(alice.replica.sessions, decision_id=withdrawn.id,
                          reviewer_id=tb.alice.id, client_id=alice.client_id, clock=tb.clock)
        report = alice.synchronise()
        assert report.pending == 0
        with alice.replica.sessions() as local:  # get-next syncs too: nothing refused
            refused = local.scalars(select(OutboxEntry.last_error)
                                    .where(OutboxEntry.state == "rejected")).all()
        assert refused == []

        # Bob works his own team's queue the same way.
        bob_lease = bob.get_next_case()
        assert bob_lease is not None and bob_lease.case_id in tb.team_case_ids(ADS)
        bob_decision = decide(bob, bob_lease.case_id)
        assert bob.synchronise().rejected == 0

        owner = tb.owner()
        try:
            with owner.sessions() as session:
                stored = session.get(Decision, decision.id)
                assert stored is not None and not stored.conflict
                assert session.get(Decision, correction.id).supersedes_id == decision.id
                assert session.get(Case, lease.case_id).status == "decided"
                assert session.scalar(select(func.count()).select_from(Note).where(
                    Note.case_id == lease.case_id, Note.author_id == tb.alice.id)) == 1
                assert session.scalar(select(func.count()).select_from(Escalation).where(
                    Escalation.case_id == second.case_id)) == 1
                assert session.get(Decision, withdrawn.id) is None
                assert session.get(Decision, bob_decision.id) is not None
                assert session.get(Case, third.case_id).status == "leased"
        finally:
            owner.dispose()
        # Neither sees the other's decision.
        with alice.replica.sessions() as local:
            assert local.get(Decision, bob_decision.id) is None
        with bob.replica.sessions() as local:
            assert local.get(Decision, decision.id) is None
    finally:
        alice.close()
        bob.close()


def test_a_lead_reassigns_and_a_late_decision_is_kept_as_a_conflict(team_backend, tmp_path):
    tb = team_backend
    alice = open_workstation(tmp_path / "alice", tb.alice.url, tb.clock, username=tb.alice.name)
    lead = Database.open(tb.carol.url, migrate=False)
    try:
        check_in_device(alice, tb.alice.name)
        alice.synchronise()
        lease = alice.get_next_case()
        assert lease is not None
        # The lead takes the case back and gives it to a colleague of the same team.
        colleague = demo_reviewer_id("amara")
        moved = reassign_lease(lead, lease.case_id, tb.carol.id, colleague, tb.clock,
                               reason="rebalancing the shift")
        assert moved is not None and moved.fencing_token > lease.fencing_token
        # Alice decided before she heard: the decision is kept, flagged for the lead.
        late = decide(alice, lease.case_id)
        report = alice.synchronise()
        assert (report.pushed, report.rejected) == (1, 0)
        with lead.sessions() as session:
            stored = session.get(Decision, late.id)
            assert stored is not None and stored.conflict
            case = session.get(Case, lease.case_id)
            assert case.lease_holder_id == colleague and case.status == "leased"
        # A lead of graphic content cannot reach another team's case.
        other = tb.team_case_ids(ADS, status="new")[0]
        with pytest.raises(Exception, match="does not exist"):
            reassign_lease(lead, other, tb.carol.id, colleague, tb.clock)
    finally:
        lead.dispose()
        alice.close()


# -- probes: plain SQL as a reviewer login role ---------------------------------------------


def _refused(engine: Engine, sql: str, params: dict | None = None) -> str:
    """Run ``sql`` in a transaction of its own; it must fail. Returns the error's first line."""
    with engine.connect() as connection:
        try:
            connection.execute(text(sql), params or {})
        except DBAPIError as error:
            connection.rollback()
            return str(error.orig).splitlines()[0]
        connection.rollback()
    raise AssertionError(f"the backend allowed: {sql} {params}")


def _rows(engine: Engine, sql: str, params: dict | None = None) -> list:
    with engine.connect() as connection:
        rows = connection.execute(text(sql), params or {}).all()
        connection.rollback()
        return rows


def _leased_by(tb: TeamBackend, person: Person) -> uuid.UUID:
    backend = Database.open(person.url, migrate=False)
    try:
        lease = lease_next_case(backend, person.id, tb.clock)
    finally:
        backend.dispose()
    assert lease is not None
    return lease.case_id


def _some_decision(tb: TeamBackend, team: str) -> Decision:
    owner = tb.owner()
    try:
        with owner.sessions() as session:
            return session.scalars(
                select(Decision).join(Case, Case.id == Decision.case_id)
                .join(Queue, Queue.id == Case.queue_id)
                .where(Queue.team_code == team, Decision.requires_second_review.is_(False))
                .order_by(Decision.id)).first()
    finally:
        owner.dispose()


def test_a_reviewer_cannot_read_another_teams_cases_or_others_decisions(team_backend):
    tb = team_backend
    alice = tb.connect_as(tb.alice)
    mine, theirs = tb.team_case_ids(GRAPHIC), tb.team_case_ids(ADS)
    assert mine and theirs
    seen = {row.id for row in _rows(alice, "SELECT id FROM review_case")}
    assert seen == set(mine)
    assert _rows(alice, "SELECT * FROM review_case WHERE id = :id", {"id": theirs[0]}) == []
    for table in ("media_item", "note", "escalation", "lease_event", "second_review",
                  "case_response"):
        assert _rows(alice, f"SELECT * FROM {table} WHERE case_id = ANY(:ids)",
                     {"ids": theirs}) == [], table
    # Another reviewer's decision, even on a case of her own team.
    decision = _some_decision(tb, GRAPHIC)
    assert decision is not None and decision.reviewer_id != tb.alice.id
    assert _rows(alice, "SELECT * FROM decision WHERE id = :id", {"id": decision.id}) == []
    assert _rows(alice, "SELECT * FROM decision WHERE reviewer_id <> :me "
                        "AND NOT requires_second_review", {"me": tb.alice.id}) == []
    # Media bytes of other teams' cases are out of reach as well.
    owner = tb.owner()
    try:
        with owner.writing() as session:
            for case_id, marker in ((mine[0], "a"), (theirs[0], "b")):
                content_hash = marker * 64
                session.add(MediaBlob(content_hash=content_hash, size_bytes=1, data=b"x",
                                      change_version=1))
                session.flush()
                session.add(MediaItem(case_id=case_id, content_hash=content_hash,
                                      mime_type="image/png", size_bytes=1, change_version=1))
    finally:
        owner.dispose()
    assert [row.content_hash for row in _rows(alice, "SELECT content_hash FROM media_blob")] \
        == ["a" * 64]


def test_a_reviewer_cannot_decide_as_someone_else_or_without_the_lease(team_backend):
    tb = team_backend
    alice = tb.connect_as(tb.alice)
    leased = _leased_by(tb, tb.alice)
    token = _rows(alice, "SELECT fencing_token FROM review_case WHERE id = :id",
                  {"id": leased})[0][0]
    free = tb.team_case_ids(GRAPHIC, status="new")[0]
    insert = ("INSERT INTO decision (id, case_id, reviewer_id, policy_code, action, rationale,"
              " created_at, policy_version, fencing_token, conflict, requires_second_review,"
              " change_version) VALUES (:id, :case, :who, 'p', 'no_violation', 'r', now(), "
              "'1', :token, :conflict, false, 0)")
    cases = [
        (leased, tb.bob.id, token, False),  # as someone else, under her own lease
        (leased, demo_reviewer_id("amara"), token, False),
        (free, tb.alice.id, 0, False),  # without a lease
        (free, tb.alice.id, 0, True),  # "a conflict" on a case she never held
        (leased, tb.alice.id, token - 1, False),  # an older lease than hers
    ]
    for case_id, who, fencing, conflict in cases:
        error = _refused(alice, insert, {"id": uuid.uuid4(), "case": case_id, "who": who,
                                         "token": fencing, "conflict": conflict})
        assert "row-level security" in error
    # Her own lease does allow it (so the refusals above are the policy, not a typo).
    with alice.begin() as connection:
        connection.execute(text(insert), {"id": uuid.uuid4(), "case": leased,
                                          "who": tb.alice.id, "token": token,
                                          "conflict": False})


def test_a_lease_cannot_be_taken_from_someone_else_or_a_case_decided_by_hand(team_backend):
    tb = team_backend
    alice = tb.connect_as(tb.alice)
    lead = Database.open(tb.carol.url, migrate=False)
    try:
        held = tb.team_case_ids(GRAPHIC, status="new")[0]
        reassign_lease(lead, held, tb.carol.id, demo_reviewer_id("amara"), tb.clock)
    finally:
        lead.dispose()
    for sql in (
        "UPDATE review_case SET lease_holder_id = :me, fencing_token = fencing_token + 1 "
        "WHERE id = :id",
        "UPDATE review_case SET status = 'new', lease_holder_id = NULL WHERE id = :id",
        "UPDATE review_case SET lease_expires_at = now() - interval '1 hour' WHERE id = :id",
    ):
        assert "leased to someone else" in _refused(alice, sql, {"id": held, "me": tb.alice.id})
    free = tb.team_case_ids(GRAPHIC, status="new")[0]
    assert "decided only by a decision" in _refused(
        alice, "UPDATE review_case SET status = 'decided' WHERE id = :id", {"id": free})
    assert "never goes down" in _refused(
        alice, "UPDATE review_case SET fencing_token = -1 WHERE id = :id", {"id": free})
    assert "only take a lease for themselves" in _refused(
        alice, "UPDATE review_case SET lease_holder_id = :bob WHERE id = :id",
        {"id": free, "bob": tb.bob.id})
    # Columns outside a lease cannot be written at all, nor can cases be added or removed.
    for sql in ("UPDATE review_case SET severity = 1 WHERE id = :id",
                "UPDATE review_case SET reported_text = 'x' WHERE id = :id",
                "DELETE FROM review_case WHERE id = :id",
                "INSERT INTO review_case (id) VALUES (:id)",
                "UPDATE change_counter SET value = 0",
                "UPDATE reviewer SET role = 'admin' WHERE id = :me",
                "INSERT INTO team_membership (reviewer_id, team_code, change_version) "
                "VALUES (:me, 'ads-commerce', 0)"):
        assert "permission denied" in _refused(alice, sql, {"id": free, "me": tb.alice.id})


def test_decisions_escalations_and_the_audit_log_cannot_be_changed(team_backend, tmp_path):
    tb = team_backend
    workstation = open_workstation(tmp_path / "alice", tb.alice.url, tb.clock,
                                   username=tb.alice.name)
    try:
        check_in_device(workstation, tb.alice.name)
        workstation.synchronise()
        lease = workstation.get_next_case()
        decision = decide(workstation, lease.case_id)
        other = workstation.get_next_case()
        escalation = escalate_case(
            workstation.replica.sessions, case_id=other.case_id, reviewer_id=tb.alice.id,
            client_id=workstation.client_id, to_team=EscalationTeam.CORE_POLICY,
            urgency=Urgency.ROUTINE, reason="Policy is unclear here.", clock=tb.clock)
        assert workstation.synchronise().rejected == 0
    finally:
        workstation.close()
    alice = tb.connect_as(tb.alice)
    assert _rows(alice, "SELECT count(*) FROM decision WHERE id = :id",
                 {"id": decision.id})[0][0] == 1
    assert _rows(alice, "SELECT count(*) FROM audit_log")[0][0] > 0
    for sql in ("UPDATE decision SET action = 'remove' WHERE id = :d",
                "DELETE FROM decision WHERE id = :d",
                "UPDATE escalation SET resolved_at = now() WHERE id = :e",
                "DELETE FROM escalation WHERE id = :e",
                "UPDATE audit_log SET kind = 'x'",
                "DELETE FROM audit_log",
                "TRUNCATE decision",
                "TRUNCATE audit_log"):
        assert "permission denied" in _refused(alice, sql, {"d": decision.id,
                                                            "e": escalation.id})
    # The definer function resolves only escalations of cases that are decided.
    with alice.begin() as connection:
        changed = connection.execute(text(
            "SELECT rw_resolve_escalations(ARRAY[:e]::uuid[], ARRAY[now()], "
            "ARRAY[1]::bigint[])"), {"e": escalation.id}).scalar_one()
    assert changed == 0


def test_a_reviewer_cannot_read_others_wellness_data(team_backend):
    tb = team_backend
    owner = tb.owner()
    try:
        with owner.writing() as session:
            for who in (demo_reviewer_id("amara"), tb.bob.id, tb.alice.id):
                session.add(WellnessSummary(reviewer_id=who, day="2026-11-20", exposure_s=60.0,
                                            graphic_queue_s=30.0, breaks_taken=1,
                                            updated_at=tb.clock.now(), change_version=1))
    finally:
        owner.dispose()
    alice = tb.connect_as(tb.alice)
    rows = _rows(alice, "SELECT reviewer_id FROM wellness_summary")
    assert [row.reviewer_id for row in rows] == [tb.alice.id]
    assert _rows(alice, "SELECT * FROM wellness_state WHERE reviewer_id <> :me",
                 {"me": tb.alice.id}) == []
    assert "row-level security" in _refused(
        alice, "INSERT INTO wellness_summary (reviewer_id, day, exposure_s, graphic_queue_s, "
               "breaks_taken, updated_at, change_version) VALUES (:bob, '2026-11-21', 1, 1, 0,"
               " now(), 0)", {"bob": tb.bob.id})
    with alice.begin() as connection:  # changing someone else's row changes nothing
        assert connection.execute(text("UPDATE wellness_summary SET exposure_s = 0 "
                                       "WHERE reviewer_id <> :me"),
                                  {"me": tb.alice.id}).rowcount == 0
    # Her lead of graphic content sees what she shares; a lead of no team of Bob's does not.
    lead_rows = {row.reviewer_id for row in _rows(tb.connect_as(tb.carol),
                                                  "SELECT reviewer_id FROM wellness_summary")}
    assert tb.alice.id in lead_rows and tb.bob.id not in lead_rows


def test_a_reviewer_cannot_take_another_role(team_backend):
    tb = team_backend
    alice = tb.connect_as(tb.alice)
    for sql in (f'SET ROLE "{tb.bob.name}"', f'SET ROLE "{tb.carol.name}"', "SET ROLE rw_admin",
                "SET ROLE rw_lead", "SET ROLE postgres",
                f'SET SESSION AUTHORIZATION "{tb.bob.name}"',
                f'ALTER ROLE "{tb.alice.name}" BYPASSRLS',
                f'ALTER ROLE "{tb.alice.name}" SUPERUSER',
                f'GRANT rw_admin TO "{tb.alice.name}"',
                "ALTER TABLE decision DISABLE ROW LEVEL SECURITY",
                "ALTER TABLE decision NO FORCE ROW LEVEL SECURITY",
                "DROP POLICY rw_reviewer_select ON decision",
                "CREATE TABLE public.mine (x int)",
                "CREATE OR REPLACE FUNCTION rw_me() RETURNS uuid LANGUAGE sql AS "
                "$$ SELECT NULL::uuid $$"):
        _refused(alice, sql)
    # Stepping down to her own group changes nothing she can see.
    with alice.connect() as connection:
        connection.execute(text("SET LOCAL ROLE rw_reviewer"))
        seen = connection.execute(text("SELECT count(*) FROM review_case")).scalar_one()
        connection.rollback()
    assert seen == len(tb.team_case_ids(GRAPHIC))
    # No group or login role of the app can bypass row security or owns a table.
    with tb.connect_as_owner().connect() as connection:
        bypass = connection.execute(text(
            "SELECT rolname FROM pg_roles WHERE (rolname LIKE 'rw\\_%' OR rolname = ANY(:n)) "
            "AND (rolbypassrls OR rolsuper OR rolcreaterole)"),
            {"n": [tb.alice.name, tb.bob.name, tb.carol.name]}).all()
        owned = connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tableowner IN ('rw_reviewer', 'rw_auditor', 'rw_lead', 'rw_admin', :a)"),
            {"a": tb.alice.name}).all()
        unforced = connection.execute(text(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' AND relname <> 'alembic_version' "
            "AND NOT (relrowsecurity AND relforcerowsecurity)")).all()
        loose = connection.execute(text(
            "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND proname LIKE 'rw\\_%' AND NOT (prosecdef "
            "AND array_to_string(proconfig, ',') LIKE 'search_path=pg_catalog, public%')"
        )).scalars().all()
        public_execute = connection.execute(text(
            "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'public' AND proname LIKE 'rw\\_%' "
            "AND has_function_privilege('public', p.oid, 'EXECUTE')")).scalars().all()
    assert bypass == [] and owned == [] and unforced == []
    # Identity helpers: SECURITY DEFINER with a fixed search_path, not callable by PUBLIC.
    assert loose == [] and public_execute == []
    with tb.connect_as_owner().connect() as connection:
        helpers = connection.execute(text(
            "SELECT count(*) FROM pg_proc WHERE proname LIKE 'rw\\_%' AND prosecdef")).scalar_one()
    assert helpers >= 10


def _normalised(error: str, *ids: uuid.UUID) -> str:
    for value in ids:
        error = error.replace(str(value), "<id>")
    return re.sub(r"\s+", " ", error)


def test_other_teams_case_ids_cannot_be_probed_through_key_errors(team_backend):
    tb = team_backend
    alice = tb.connect_as(tb.alice)
    theirs = tb.team_case_ids(ADS)[0]
    nowhere = uuid.uuid4()
    probes = [
        "INSERT INTO note (id, case_id, author_id, body, created_at, change_version) "
        "VALUES (:new, :case, :me, 'x', now(), 0)",
        "INSERT INTO escalation (id, case_id, reviewer_id, to_team, reason, urgency, "
        "created_at, change_version) VALUES (:new, :case, :me, 'legal', 'x', 'routine', "
        "now(), 0)",
        "INSERT INTO lease_event (id, case_id, reviewer_id, actor_id, kind, fencing_token, "
        "reason, at, change_version) VALUES (:new, :case, :me, :me, 'leased', 1, '', now(), 0)",
        "INSERT INTO decision (id, case_id, reviewer_id, policy_code, action, rationale, "
        "created_at, policy_version, fencing_token, conflict, requires_second_review, "
        "change_version) VALUES (:new, :case, :me, 'p', 'a', 'r', now(), '1', 1, true, false,"
        " 0)",
        "INSERT INTO case_response (id, case_id, author_id, channel, template_id, body, "
        "created_at, change_version) VALUES (:new, :case, :me, 'email', '', 'x', now(), 0)",
        "INSERT INTO media_item (id, case_id, position, content_hash, mime_type, size_bytes, "
        "filename, change_version) VALUES (:new, :case, 0, 'x', 'image/png', 1, '', 0)",
        "INSERT INTO review_case (id, external_ref) VALUES (:case, 'x')",
    ]
    for sql in probes:
        answers = []
        for case_id in (theirs, nowhere):
            error = _refused(alice, sql, {"new": uuid.uuid4(), "case": case_id,
                                          "me": tb.alice.id})
            answers.append(_normalised(error, case_id))
        assert answers[0] == answers[1], sql
        assert "foreign key" not in answers[0] and "duplicate key" not in answers[0]
    # Updates of an unseen case and of no case at all look the same: nothing happens.
    for case_id in (theirs, nowhere):
        with alice.begin() as connection:
            assert connection.execute(text(
                "UPDATE review_case SET updated_at = now() WHERE id = :id"),
                {"id": case_id}).rowcount == 0


def test_injection_payloads_in_search_filters_and_backend_inputs(team_backend, tmp_path):
    tb = team_backend
    payloads = ["' OR '1'='1", "'; DROP TABLE decision; --", '" OR 1=1 --',
                "x') UNION SELECT id FROM review_case --", "%' AND 1=1 --", "*", "NEAR(a b)",
                "\\x00", "1; SELECT pg_sleep(0)", "$$; DELETE FROM note; $$"]
    workstation = open_workstation(tmp_path / "alice", tb.alice.url, tb.clock,
                                   username=tb.alice.name)
    try:
        check_in_device(workstation, tb.alice.name)
        workstation.synchronise()
        with workstation.replica.sessions() as local:
            total = count_cases(local, QueueFilter(), tb.alice.id, tb.clock.now())
            assert total > 0
            for payload in payloads:
                for query in (QueueFilter(search=payload),
                              QueueFilter(channels=(payload,), languages=(payload,)),
                              QueueFilter(policy_areas=(payload,), surfaces=(payload,))):
                    assert count_cases(local, query, tb.alice.id, tb.clock.now()) == 0
                    assert fetch_page(local, query, QueueOrder(SortKey.PRIORITY),
                                      tb.alice.id, tb.clock.now()) == []
            assert count_cases(local, QueueFilter(), tb.alice.id, tb.clock.now()) == total
    finally:
        workstation.close()
    # Text that reaches the backend (the user name a device checks in with, a case id).
    backend = Database.open(tb.alice.url, migrate=False)
    try:
        for payload in payloads:
            with pytest.raises(DeviceError), backend.writing() as session:
                check_in(session, f"ws-{uuid.uuid4().hex[:8]}", payload, tb.clock.now())
        with pytest.raises(StatementError):
            lease_case(backend, "' OR 1=1 --", tb.alice.id, tb.clock)  # type: ignore[arg-type]
    finally:
        backend.dispose()
    owner = tb.owner()
    try:
        with owner.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Decision)) > 0
            assert session.scalar(select(func.count()).select_from(LeaseEvent)) >= 0
            assert session.scalar(select(func.count()).select_from(AuditLogEntry)) >= 0
    finally:
        owner.dispose()


def test_a_revoked_device_cannot_push(team_backend, tmp_path):
    from reviewer.devices import revoke_device

    tb = team_backend
    workstation = open_workstation(tmp_path / "alice", tb.alice.url, tb.clock,
                                   username=tb.alice.name)
    try:
        check_in_device(workstation, tb.alice.name)
        workstation.synchronise()
        lease = workstation.get_next_case()
        decide(workstation, lease.case_id)
        owner = tb.owner()
        try:
            with owner.writing() as session:
                revoke_device(session, workstation.client_id, by="admin")
        finally:
            owner.dispose()
        with workstation.backend.writing() as session:
            status = check_in(session, workstation.client_id, tb.alice.name, tb.clock.now())
        assert status.revoked and status.revoked_at is not None
        with pytest.raises(Exception, match="revoked"):
            workstation.synchronise()  # the app stops by itself...
        with pytest.raises(DBAPIError, match="row-level security"):
            workstation.sync.push(SyncReport())  # ...and a client that does not is refused
        with workstation.backend.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Decision).where(
                Decision.reviewer_id == tb.alice.id)) == 0
        # Nor can she register the device again, or un-revoke it.
        alice = tb.connect_as(tb.alice)
        with alice.begin() as connection:
            assert connection.execute(text(
                "UPDATE device SET last_seen_at = now() WHERE client_id = :c"),
                {"c": workstation.client_id}).rowcount == 1
        assert "permission denied" in _refused(
            alice, "UPDATE device SET revoked_at = NULL WHERE client_id = :c",
            {"c": workstation.client_id})
    finally:
        workstation.close()


def test_each_identity_uses_its_own_connections(team_backend, tmp_path):
    """Two people on one machine never share a pooled connection or a role setting."""
    tb = team_backend
    alice_db = Database.open(tb.alice.url, migrate=False)
    bob_db = Database.open(tb.bob.url, migrate=False)
    try:
        for database, person in ((alice_db, tb.alice), (bob_db, tb.bob), (alice_db, tb.alice)):
            with database.sessions() as session:
                assert session.scalar(text("SELECT session_user")) == person.name
                assert session.scalar(text("SELECT current_user")) == person.name
        assert alice_db.engine.pool is not bob_db.engine.pool
    finally:
        alice_db.dispose()
        bob_db.dispose()


# -- quality audit: blind review and golden answers -------------------------------------------


def test_an_auditor_sees_the_original_decision_only_after_their_blind_review(team_backend):
    from reviewer.models import QaReview, QaSample
    from reviewer.sync.backend import Mutation, apply_mutations

    tb = team_backend
    name = f"audrey_{uuid.uuid4().hex[:8]}"
    auditor = Person(name, create_login(tb.owner_url, name, role="auditor", teams=[GRAPHIC]))
    try:
        sampled = _some_decision(tb, GRAPHIC)
        other_sample = _some_decision(tb, ADS)
        owner = tb.owner()
        try:
            with owner.writing() as session:
                for decision, who in ((sampled, auditor.id), (other_sample, tb.carol.id)):
                    session.add(QaSample(id=uuid.uuid4(), case_id=decision.case_id,
                                         decision_id=decision.id,
                                         reviewer_id=decision.reviewer_id, auditor_id=who,
                                         method="random", drawn_by=tb.carol.id,
                                         drawn_at=tb.clock.now(), change_version=1))
            with owner.sessions() as session:
                sample_id = session.scalar(select(QaSample.id).where(
                    QaSample.auditor_id == auditor.id))
        finally:
            owner.dispose()
        plain = tb.connect_as(auditor)
        assert [row.id for row in _rows(plain, "SELECT id FROM qa_sample")] == [sample_id]
        assert _rows(plain, "SELECT id FROM review_case WHERE id = :c",
                     {"c": sampled.case_id}) != []
        blind = "SELECT action FROM decision WHERE id = :d"
        assert _rows(plain, blind, {"d": sampled.id}) == []  # blind until reviewed
        assert _rows(plain, "SELECT * FROM decision") == []
        assert "row-level security" in _refused(
            plain, "INSERT INTO qa_review (id, sample_id, case_id, auditor_id, policy_code, "
                   "action, rationale, submitted_at, feedback, change_version) VALUES "
                   "(:id, :s, :c, :other, 'p', 'a', '', now(), '', 0)",
            {"id": uuid.uuid4(), "s": sample_id, "c": sampled.case_id, "other": tb.carol.id})

        backend = Database.open(auditor.url, migrate=False)
        try:
            with backend.writing() as session:
                check_in(session, "ws-audrey", name, tb.clock.now())
            review_id = uuid.uuid4()
            now = tb.clock.now().isoformat()
            with backend.writing() as session:
                results = apply_mutations(session, [
                    Mutation(uuid.uuid4(), "ws-audrey", 1, "qa_review", {
                        "id": str(review_id), "sample_id": str(sample_id),
                        "auditor_id": str(auditor.id), "policy_code": sampled.policy_code,
                        "action": sampled.action, "rationale": "Same call.",
                        "submitted_at": now}),
                    Mutation(uuid.uuid4(), "ws-audrey", 2, "qa_verdict", {
                        "review_id": str(review_id), "auditor_id": str(auditor.id),
                        "agrees": True, "reason_category": None, "feedback": "",
                        "verdict_at": now}),
                ])
            assert [r.outcome for r in results] == ["applied", "applied"], results
        finally:
            backend.dispose()
        assert _rows(plain, blind, {"d": sampled.id}) == [(sampled.action,)]
        assert _rows(plain, blind, {"d": other_sample.id}) == []
        # A verdict, once given, is never edited.
        with plain.begin() as connection:
            assert connection.execute(text("UPDATE qa_review SET agrees = false "
                                           "WHERE id = :r"), {"r": review_id}).rowcount == 0
        # The reviewer whose decision it was, and nobody else of her team, sees the review.
        alice = tb.connect_as(tb.alice)
        assert _rows(alice, "SELECT * FROM qa_review") == []
        owner = tb.owner()
        try:
            with owner.sessions() as session:
                assert session.get(QaReview, review_id).agrees is True
        finally:
            owner.dispose()
    finally:
        drop_logins(tb.owner_url.set(database="postgres"), [name])


SINCE = datetime(2000, 1, 1, tzinfo=UTC)
FRAME = "SELECT * FROM rw_sampling_frame(:since, NULL)"


def _team_decision_ids(tb: TeamBackend, team: str) -> set[uuid.UUID]:
    owner = tb.owner()
    try:
        with owner.sessions() as session:
            return set(session.scalars(
                select(Decision.id).join(Case, Case.id == Decision.case_id)
                .join(Queue, Queue.id == Case.queue_id).where(Queue.team_code == team)))
    finally:
        owner.dispose()


def _add_decisions(tb: TeamBackend, *rows: tuple[uuid.UUID, uuid.UUID, str, bool]) -> None:
    """(id, case, action, conflict): decisions by Alice, as the owner writes them."""
    owner = tb.owner()
    try:
        with owner.writing() as session:
            for decision_id, case_id, action, conflict in rows:
                session.add(Decision(id=decision_id, case_id=case_id, reviewer_id=tb.alice.id,
                                     policy_code="GC-TEST", action=action, rationale=RATIONALE,
                                     created_at=tb.clock.now(), policy_version="1",
                                     conflict=conflict, change_version=1))
    finally:
        owner.dispose()


def test_an_auditor_draws_a_sample_on_the_backend_without_seeing_decisions(
        team_backend, capsys):
    from datetime import timedelta

    from reviewer.cli import main
    from reviewer.leases import expire_leases
    from reviewer.qa.sampling import SamplingPolicy, redraw_audit_sample
    from reviewer.qa.store import QaRefused, decision_records, draw_sample
    from reviewer.sync.backend import next_change_version
    from reviewer.taxonomy import load_taxonomy

    tb = team_backend
    name = f"audrey_{uuid.uuid4().hex[:8]}"
    auditor = Person(name, create_login(tb.owner_url, name, role="auditor", teams=[GRAPHIC]))
    try:
        graphic_cases = tb.team_case_ids(GRAPHIC)
        severe, conflict = uuid.uuid4(), uuid.uuid4()
        assert "disable_account" in {str(a) for a in load_taxonomy().severe_actions}
        _add_decisions(tb, (severe, graphic_cases[0], "disable_account", False),
                       (conflict, graphic_cases[1], "remove", True))
        graphic = _team_decision_ids(tb, GRAPHIC)
        assert len(graphic) > 10 and _team_decision_ids(tb, ADS)

        # The auditor draws with reviewer-admin, signed in as themselves.
        assert main(["qa-sample", "--auditor", name, "--since", "2000-01-01", "--rate", "0.4",
                     "--seed", "11", "--backend",
                     auditor.url.render_as_string(hide_password=False)]) == 0
        assert "with seed 11" in capsys.readouterr().out
        plain = tb.connect_as(auditor)
        drawn = {row.decision_id: row for row in _rows(
            plain, "SELECT decision_id, method, drawn_by, auditor_id, seed FROM qa_sample")}
        assert drawn and set(drawn) <= graphic  # the auditor's team only
        assert {(r.drawn_by, r.auditor_id, r.seed) for r in drawn.values()} == {
            (auditor.id, auditor.id, 11)}
        # Severe actions are oversampled: at 0.4 x 3 every one is drawn, as "severe".
        assert drawn[severe].method == "severe"
        assert conflict not in drawn  # standing decisions only

        # The same sample the owner gets from all decisions of the team, with the same seed.
        owner = tb.owner()
        try:
            with owner.sessions() as session:
                records = [r for r in decision_records(session, load_taxonomy(), since=SINCE)
                           if r.id in graphic]
        finally:
            owner.dispose()
        expected = redraw_audit_sample(records, seed=11, clock=tb.clock,
                                       policy=SamplingPolicy(base_rate=0.4))
        assert set(drawn) == {item.decision_id for item in expected.items
                              if item.reviewer_id != auditor.id}

        # Blind all the same: the decisions themselves stay out of the auditor's reach.
        assert _rows(plain, "SELECT action, rationale FROM decision WHERE id = ANY(:ids)",
                     {"ids": list(drawn)}) == []
        assert _rows(plain, "SELECT * FROM decision") == []

        # draw_sample on the auditor's own backend session: the same seed, the same sample.
        backend = Database.open(auditor.url, migrate=False)
        try:
            with backend.writing() as session:
                again = draw_sample(session, load_taxonomy(), auditor_id=auditor.id,
                                    drawn_by=auditor.id, since=SINCE, clock=tb.clock, seed=11,
                                    policy=SamplingPolicy(base_rate=0.4),
                                    version=next_change_version(session))
            assert (again.stored, again.already_sampled) == (0, len(drawn))
            assert {i.decision_id for i in again.sample.items} == set(drawn)
            with pytest.raises(QaRefused, match="only for themselves"), \
                    backend.writing() as session:
                draw_sample(session, load_taxonomy(), auditor_id=tb.carol.id,
                            drawn_by=auditor.id, since=SINCE, clock=tb.clock, seed=12,
                            version=next_change_version(session))
            with backend.writing() as session:
                fresh = draw_sample(session, load_taxonomy(), auditor_id=auditor.id,
                                    drawn_by=auditor.id, since=SINCE, clock=tb.clock, seed=12,
                                    policy=SamplingPolicy(base_rate=1.0),
                                    version=next_change_version(session))
            # everything else of the team's standing decisions (a conflict is not one)
            assert (fresh.stored, fresh.already_sampled) == (len(graphic) - 1 - len(drawn),
                                                             len(drawn))
        finally:
            backend.dispose()

        # An auditor's sync expires run-out leases with SELECT ... FOR UPDATE: allowed, but
        # row security gives them no case to lock or change.
        backend = Database.open(auditor.url, migrate=False)
        try:
            with backend.writing() as session:
                assert expire_leases(session, tb.clock.now() + timedelta(days=365)) == 0
        finally:
            backend.dispose()
        with plain.begin() as connection:
            assert connection.execute(text("UPDATE review_case SET updated_at = now()")
                                      ).rowcount == 0
    finally:
        drop_logins(tb.owner_url.set(database="postgres"), [name])


def test_the_sampling_frame_gives_samplers_only_what_sampling_needs(team_backend, capsys):
    from reviewer.cli import main

    tb = team_backend
    name = f"audrey_{uuid.uuid4().hex[:8]}"
    auditor = Person(name, create_login(tb.owner_url, name, role="auditor", teams=[GRAPHIC]))
    try:
        plain = tb.connect_as(auditor)
        with plain.connect() as connection:
            result = connection.execute(text(FRAME), {"since": SINCE})
            columns, rows = list(result.keys()), result.all()
        assert columns == ["decision_id", "case_id", "reviewer_id", "policy_area",
                           "created_at", "reviewer_started_on", "severe"]  # no outcome
        assert rows and {row.decision_id for row in rows} <= _team_decision_ids(tb, GRAPHIC)
        # The severe list is the backend's own: no caller can pass one to probe actions.
        assert "does not exist" in _refused(
            plain, "SELECT * FROM rw_sampling_frame(:since, NULL, ARRAY['no_violation'])",
            {"since": SINCE})
        owner = tb.connect_as_owner()
        assert [row.args for row in _rows(
            owner, "SELECT pg_get_function_identity_arguments(oid) AS args FROM pg_proc "
                   "WHERE proname = 'rw_sampling_frame'")] == [
            "p_since timestamp with time zone, p_until timestamp with time zone"]
        # A plain reviewer may not call it at all; a lead gets the frame of their teams.
        assert "permission denied for function rw_sampling_frame" in _refused(
            tb.connect_as(tb.alice), FRAME, {"since": SINCE})
        lead_rows = _rows(tb.connect_as(tb.carol), FRAME, {"since": SINCE})
        assert {row.decision_id for row in lead_rows} == {row.decision_id for row in rows}
        # A lead draws for an auditor of the team, recorded as drawn by the lead.
        assert main(["qa-sample", "--auditor", name, "--since", "2000-01-01", "--rate", "1",
                     "--seed", "3", "--backend",
                     tb.carol.url.render_as_string(hide_password=False)]) == 0
        samples = _rows(plain, "SELECT decision_id, drawn_by FROM qa_sample")
        assert {row.decision_id for row in samples} == {row.decision_id for row in rows}
        assert {row.drawn_by for row in samples} == {tb.carol.id}
        # A plain reviewer is told plainly that drawing samples is not theirs to do.
        assert main(["qa-sample", "--auditor", name, "--since", "2000-01-01", "--backend",
                     tb.alice.url.render_as_string(hide_password=False)]) == 2
        assert "must be an auditor, a lead or an admin" in capsys.readouterr().err
    finally:
        drop_logins(tb.owner_url.set(database="postgres"), [name])


def test_golden_answers_are_hidden_from_reviewers_but_their_decisions_are_scored(
        team_backend, tmp_path):
    from reviewer.models import QaGolden, QaGoldenScore

    tb = team_backend
    golden_case = tb.team_case_ids(GRAPHIC, status="new")[0]
    workstation = open_workstation(tmp_path / "alice", tb.alice.url, tb.clock,
                                   username=tb.alice.name)
    try:
        check_in_device(workstation, tb.alice.name)
        workstation.synchronise()
        draft = _draft(workstation, golden_case)
        owner = tb.owner()
        try:
            with owner.writing() as session:
                session.add(QaGolden(case_id=golden_case, policy_code=draft.policy_code,
                                     action=draft.action, marked_at=tb.clock.now(),
                                     change_version=1))
        finally:
            owner.dispose()
        assert _rows(tb.connect_as(tb.alice), "SELECT * FROM qa_golden") == []
        workstation.claim_case(golden_case)
        decision = decide(workstation, golden_case)
        assert workstation.synchronise().rejected == 0
        with workstation.replica.sessions() as local:
            assert local.scalar(select(func.count()).select_from(QaGolden)) == 0
            score = local.scalar(select(QaGoldenScore).where(
                QaGoldenScore.decision_id == decision.id))
        assert score is not None and score.match == "exact"
        assert _rows(tb.connect_as(tb.bob), "SELECT * FROM qa_golden_score") == []
    finally:
        workstation.close()


def test_a_workstation_clock_ahead_never_frees_a_colleagues_lease(team_backend):
    from datetime import timedelta

    from reviewer.leases import expire_leases

    tb = team_backend
    name = f"dave_{uuid.uuid4().hex[:8]}"
    dave = Person(name, create_login(tb.owner_url, name, role="reviewer", teams=[GRAPHIC]))
    try:
        held = _leased_by(tb, tb.alice)
        backend = Database.open(dave.url, migrate=False)
        try:
            with backend.writing() as session:  # his clock says her lease ran out long ago
                assert expire_leases(session, tb.clock.now() + timedelta(hours=2)) == 0
        finally:
            backend.dispose()
        owner = tb.owner()
        try:
            with owner.sessions() as session:
                case = session.get(Case, held)
                assert case.status == "leased" and case.lease_holder_id == tb.alice.id
        finally:
            owner.dispose()
    finally:
        drop_logins(tb.owner_url.set(database="postgres"), [name])


def test_a_tampered_push_is_refused_mutation_by_mutation(team_backend):
    """A batch with a forged decision: the backend's policies reject that one, with the
    reason, and apply the honest ones around it (the set-based path falls back to one by
    one)."""
    from reviewer.sync.backend import Mutation, apply_mutations

    tb = team_backend
    leased = _leased_by(tb, tb.alice)
    free = tb.team_case_ids(GRAPHIC, status="new")[0]
    backend = Database.open(tb.alice.url, migrate=False)
    try:
        with backend.writing() as session:
            check_in(session, "ws-alice", tb.alice.name, tb.clock.now())
        with backend.sessions() as session:
            token = session.get(Case, leased).fencing_token
        now = tb.clock.now().isoformat()

        def decision(case_id: uuid.UUID, who: uuid.UUID, fencing: int) -> dict:
            return {"id": str(uuid.uuid4()), "case_id": str(case_id), "reviewer_id": str(who),
                    "policy_code": "HS-1", "action": "no_violation", "rationale": RATIONALE,
                    "created_at": now, "policy_version": "1", "fencing_token": fencing}

        batch = [
            Mutation(uuid.uuid4(), "ws-alice", 1, "decision", decision(free, tb.alice.id, 0)),
            Mutation(uuid.uuid4(), "ws-alice", 2, "decision",
                     decision(leased, tb.bob.id, token)),
            Mutation(uuid.uuid4(), "ws-alice", 3, "decision",
                     decision(leased, tb.alice.id, token)),
            Mutation(uuid.uuid4(), "ws-bobs-laptop", 1, "note",
                     {"id": str(uuid.uuid4()), "case_id": str(leased),
                      "author_id": str(tb.alice.id), "body": "x", "created_at": now}),
        ]
        with pytest.raises(DBAPIError, match="row-level security"), \
                backend.writing() as session:
            apply_mutations(session, batch)  # another device's ledger: the push stops
        with backend.writing() as session:
            results = apply_mutations(session, batch[:3])
        assert [r.outcome for r in results] == ["rejected", "rejected", "applied"]
        assert all("row-level security" in r.reason for r in results[:2])
    finally:
        backend.dispose()
    owner = tb.owner()
    try:
        with owner.sessions() as session:
            assert session.get(Case, leased).status == "decided"
            assert session.get(Case, free).status == "new"
            assert session.scalar(select(func.count()).select_from(Decision).where(
                Decision.case_id.in_([leased, free]))) == 1
    finally:
        owner.dispose()


def test_a_blind_review_round_trip_on_the_auditors_own_workstation(team_backend, tmp_path):
    """Drawn on the backend, re-reviewed on the auditor's replica, the original arriving
    only after the blind decision is in: all as the auditor's own login role."""
    from reviewer.models import QaReview, QaSample
    from reviewer.qa.sampling import SamplingPolicy
    from reviewer.qa.store import (
        draw_sample,
        original_for_review,
        pending_samples,
        record_blind_review,
        record_verdict,
        review_for_sample,
    )
    from reviewer.sync.backend import next_change_version
    from reviewer.taxonomy import load_taxonomy

    tb = team_backend
    name = f"audrey_{uuid.uuid4().hex[:8]}"
    auditor = Person(name, create_login(tb.owner_url, name, role="auditor", teams=[GRAPHIC]))
    workstation = None
    try:
        # A corrected decision: the standing one points to the one it corrects.
        case_id = tb.team_case_ids(GRAPHIC)[0]
        first, correction = uuid.uuid4(), uuid.uuid4()
        _add_decisions(tb, (first, case_id, "remove", False))
        owner = tb.owner()
        try:
            with owner.writing() as session:
                session.add(Decision(id=correction, case_id=case_id, reviewer_id=tb.alice.id,
                                     policy_code="GC-TEST", action="no_violation",
                                     rationale=RATIONALE, created_at=tb.clock.now(),
                                     policy_version="1", conflict=False, supersedes_id=first,
                                     change_version=1))
        finally:
            owner.dispose()
        backend = Database.open(auditor.url, migrate=False)
        try:
            with backend.writing() as session:
                drawn = draw_sample(session, load_taxonomy(), auditor_id=auditor.id,
                                    drawn_by=auditor.id, since=SINCE, clock=tb.clock, seed=5,
                                    policy=SamplingPolicy(base_rate=1.0),
                                    targeted_ids=[correction],
                                    version=next_change_version(session))
        finally:
            backend.dispose()
        assert drawn.stored > 0

        workstation = open_workstation(tmp_path / "auditor", auditor.url, tb.clock,
                                       username=name)
        workstation.synchronise()
        with workstation.replica.sessions() as session:
            assert len(pending_samples(session, auditor.id)) == drawn.stored
            # Blind: no original decision reached the replica.
            assert session.scalar(select(func.count()).select_from(Decision)) == 0
            target = session.scalar(select(QaSample).where(QaSample.decision_id == correction))
        assert target is not None

        case = workstation.case(case_id)
        policy = workstation.taxonomy.policies_for_surface(case.surface)[0]
        review = record_blind_review(
            workstation.replica.sessions, workstation.taxonomy, sample_id=target.id,
            auditor_id=auditor.id, client_id=workstation.client_id, policy_code=policy.code,
            action=policy.actions[0].value, rationale=RATIONALE, clock=tb.clock)
        report = workstation.synchronise()
        assert not report.rejected
        with workstation.replica.sessions() as session:
            original = original_for_review(session, review_for_sample(session, target.id))
            assert original is not None and original.action == "no_violation"
            # the corrected decision came along (the replica keeps its foreign keys)
            assert {d for d in session.scalars(select(Decision.id))} == {first, correction}
        record_verdict(workstation.replica.sessions, review_id=review.id,
                       auditor_id=auditor.id, client_id=workstation.client_id, agrees=False,
                       reason_category="wrong_action", feedback="Look again.", clock=tb.clock)
        workstation.synchronise()
        owner = tb.owner()
        try:
            with owner.sessions() as session:
                stored = session.get(QaReview, review.id)
                assert (stored.agrees, stored.reason_category) == (False, "wrong_action")
        finally:
            owner.dispose()
        # Still blind for the other samples: only the reviewed chain is readable.
        plain = tb.connect_as(auditor)
        assert {row.id for row in _rows(plain, "SELECT id FROM decision")} == {
            first, correction}
    finally:
        if workstation is not None:
            workstation.close()
        drop_logins(tb.owner_url.set(database="postgres"), [name])
