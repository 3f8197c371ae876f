"""Row-level security and the backend service on a real PostgreSQL backend: what each
person may see and do.

The people here are real login roles (``reviewer-admin create-user``'s code) of two teams
that do not overlap. Their workstations go through the real backend service
(``reviewer-server``, started here with the test's clock) as each of them: the app's own
flows, and hand-made requests of what a tampered client might send with the person's own
session. Plain-SQL probes run as the person's own login role, as an insider with ``psql``
would: every write is refused by PostgreSQL itself (people's roles may only read, so
*permission denied*, SQLSTATE 42501), and every read is filtered by row security. What the
service refuses is checked as the owner afterwards: nothing changed.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError

from reviewer.clock import ManualClock
from reviewer.demo.seed import demo_reviewer_id
from reviewer.enforcement.decisions import DecisionDraft, correct_decision, withdraw_decision
from reviewer.enforcement.escalation import escalate_case
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.qa.store import QaRefused
from reviewer.queue.case_queue import QueueFilter, QueueOrder, SortKey, count_cases, fetch_page
from reviewer.queue.leases import Lease, LeaseError, LeaseLost
from reviewer.queue.notes import add_note
from reviewer.store.database import BackendError, BackendLoginFailed, Database
from reviewer.store.models import (
    Case,
    Decision,
    Escalation,
    MediaBlob,
    MediaItem,
    Note,
    OutboxEntry,
    Queue,
    WellnessSummary,
)
from reviewer.sync.appliers import Mutation, MutationResult
from reviewer.sync.engine import DeviceRevoked
from reviewer.sync.service_client import ServiceLink
from reviewer.vocabulary import EscalationTeam, Urgency
from reviewer.workstation import Workstation
from tests.helpers import service as service_helpers
from tests.helpers.pg_workstations import (
    LOGIN_PASSWORD,
    RATIONALE,
    create_login,
    decide,
    drop_logins,
    open_workstation,
    seed_backend,
)
from tests.helpers.service import running_service

GRAPHIC, ADS = "graphic-content", "ads-commerce"
AMARA = demo_reviewer_id("amara")  # a reviewer of graphic content (the demo seed's)
LEASE = timedelta(minutes=15)
RW_HELPERS = {
    "rw_calibrations_i_run", "rw_guard_case_update", "rw_held_lease", "rw_holds_lease",
    "rw_is_plain_reviewer", "rw_me", "rw_my_calibration_ids", "rw_my_decision_on",
    "rw_my_device", "rw_my_escalated_case_ids", "rw_my_queue_ids", "rw_my_role",
    "rw_my_team_member_ids", "rw_next_change_version", "rw_resolve_escalations",
    "rw_reveal_original", "rw_revealed_decision_ids", "rw_sampling_frame", "rw_score_golden",
    "rw_stamp_changes",
}
"""The identity and workflow helpers row security installs (reviewer.security.row_security)."""


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
    service: str  # the backend service's base URL, serving this backend as its owner
    engines: list[Engine] = field(default_factory=list)
    closing: list[Any] = field(default_factory=list)

    def connect_as(self, person: Person) -> Engine:
        """A plain-SQL connection as this person's own login role (their psql prompt)."""
        engine = create_engine(person.url, pool_size=1)
        self.engines.append(engine)
        return engine

    def connect_as_owner(self) -> Engine:
        engine = create_engine(self.owner_url, pool_size=1)
        self.engines.append(engine)
        return engine

    def owner(self) -> Database:
        return Database.open(self.owner_url, migrate=False)

    def workstation(self, data_dir, person: Person, clock: ManualClock | None = None
                    ) -> Workstation:
        """The person's workstation, signed in to the backend service as them."""
        workstation = open_workstation(data_dir, self.service, clock or self.clock,
                                       username=person.name)
        self.closing.append(workstation)
        return workstation

    def link(self, person: Person, client_id: str | None = None) -> ServiceLink:
        """A client of the person's own making: their session with the service (signed in
        with their password, from a device registered as theirs), any request it likes."""
        link = ServiceLink(self.service, username=person.name, password=LOGIN_PASSWORD,
                           client_id=client_id or f"ws-{person.name}-{uuid.uuid4().hex[:6]}")
        self.closing.append(link)
        assert not link.check_in(link.client_id).revoked
        return link

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

    def case(self, case_id: uuid.UUID) -> dict[str, Any] | None:
        """The case's row as the owner reads it (to check that nothing changed)."""
        with self.connect_as_owner().connect() as connection:
            row = connection.execute(text("SELECT * FROM review_case WHERE id = :id"),
                                     {"id": case_id}).mappings().first()
        return dict(row) if row is not None else None


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
    try:
        with running_service(pg_url, clock) as service:
            backend = TeamBackend(pg_url, clock, *(Person(names[k], people[k])
                                                   for k in ("alice", "bob", "carol")),
                                  service)
            try:
                yield backend
            finally:
                for closing in reversed(backend.closing):
                    closing.close() if isinstance(closing, Workstation) else closing.dispose()
                for engine in backend.engines:
                    engine.dispose()
    finally:
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


def _rejected(workstation) -> list[str | None]:
    with workstation.replica.sessions() as local:
        return list(local.scalars(select(OutboxEntry.last_error)
                                  .where(OutboxEntry.state == "rejected")))


# -- hand-made pushes: what a tampered client sends with its person's own session -----------

class Pusher:
    """Mutations in the wire format the workstation sends, numbered on one client id."""

    def __init__(self, tb: TeamBackend, link: ServiceLink) -> None:
        self.tb = tb
        self.link = link
        self.seq = 0

    def mutation(self, kind: str, payload: dict[str, Any], *,
                 client_id: str | None = None) -> Mutation:
        self.seq += 1
        return Mutation(uuid.uuid4(), client_id or self.link.client_id, self.seq, kind,
                        payload)

    def push(self, *mutations: Mutation) -> list[MutationResult]:
        results = self.link.push(list(mutations))
        assert [r.mutation_id for r in results] == [m.mutation_id for m in mutations]
        return results


def _policy_for(tb: TeamBackend, case_id: uuid.UUID, action: str = "no_violation") -> str:
    with tb.connect_as_owner().connect() as connection:
        surface = connection.execute(text("SELECT surface FROM review_case WHERE id = :id"),
                                     {"id": case_id}).scalar_one()
    return next(p.code for p in load_taxonomy().policies_for_surface(surface)
                if action in p.actions)


def _decision(tb: TeamBackend, case_id: uuid.UUID, who: uuid.UUID, token: int | None,
              **changes: Any) -> dict[str, Any]:
    payload = {"id": str(uuid.uuid4()), "case_id": str(case_id), "reviewer_id": str(who),
               "policy_code": _policy_for(tb, case_id), "action": "no_violation",
               "rationale": RATIONALE, "created_at": tb.clock.now().isoformat(),
               "policy_version": "1", "fencing_token": token, "supersedes_id": None,
               "requires_second_review": False}
    payload.update(changes)
    return payload


def _note(tb: TeamBackend, case_id: uuid.UUID, who: uuid.UUID) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "case_id": str(case_id), "author_id": str(who),
            "body": "x", "created_at": tb.clock.now().isoformat()}


def _escalation(tb: TeamBackend, case_id: uuid.UUID, who: uuid.UUID) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "case_id": str(case_id), "reviewer_id": str(who),
            "to_team": "legal", "urgency": "routine", "reason": "x",
            "created_at": tb.clock.now().isoformat()}


def _response(tb: TeamBackend, case_id: uuid.UUID, who: uuid.UUID) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "case_id": str(case_id), "author_id": str(who),
            "channel": "email", "template_id": "", "body": "Thank you for your report.",
            "created_at": tb.clock.now().isoformat()}


def _count(tb: TeamBackend, sql: str, params: dict | None = None) -> int:
    with tb.connect_as_owner().connect() as connection:
        return int(connection.execute(text(sql), params or {}).scalar_one())


def _leased_by(tb: TeamBackend, person: Person) -> Lease:
    """Get next through the service, as the person's workstation does."""
    lease = tb.link(person).lease_next(LEASE)
    assert lease is not None and lease.reviewer_id == person.id
    return lease


def _given_to_amara(tb: TeamBackend, case_id: uuid.UUID) -> Lease:
    """The lead hands a case to Amara (a colleague of Alice's) through the service."""
    lease = tb.link(tb.carol).reassign(case_id, AMARA, "rebalancing", LEASE)
    assert lease is not None and lease.reviewer_id == AMARA
    return lease


def test_reviewers_of_two_teams_work_through_a_real_sync(team_backend, tmp_path):
    tb = team_backend
    alice = tb.workstation(tmp_path / "alice", tb.alice)
    bob = tb.workstation(tmp_path / "bob", tb.bob)
    for workstation in (alice, bob):
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
    assert _rejected(alice) == []  # get-next syncs too: nothing refused

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
            stored_bob = session.get(Decision, bob_decision.id)
            assert (stored_bob.reviewer_id, stored_bob.case_id) == (tb.bob.id,
                                                                    bob_lease.case_id)
            assert session.get(Case, third.case_id).status == "leased"
    finally:
        owner.dispose()
    # Neither sees the other's decision.
    with alice.replica.sessions() as local:
        assert local.get(Decision, bob_decision.id) is None
    with bob.replica.sessions() as local:
        assert local.get(Decision, decision.id) is None


def test_a_lead_reassigns_and_a_late_decision_is_kept_as_a_conflict(team_backend, tmp_path):
    tb = team_backend
    alice = tb.workstation(tmp_path / "alice", tb.alice)
    lead = tb.workstation(tmp_path / "carol", tb.carol)
    alice.synchronise()
    lead.synchronise()
    lease = alice.get_next_case()
    assert lease is not None
    # The lead takes the case back and gives it to a colleague of the same team.
    moved = lead.reassign(lease.case_id, AMARA, "rebalancing the shift")
    assert moved is not None and moved.reviewer_id == AMARA
    assert moved.fencing_token > lease.fencing_token
    # Alice decided before she heard: the decision is kept, flagged for the lead.
    late = decide(alice, lease.case_id)
    report = alice.synchronise()
    assert (report.pushed, report.rejected) == (1, 0)
    owner = tb.owner()
    try:
        with owner.sessions() as session:
            stored = session.get(Decision, late.id)
            assert stored is not None and stored.conflict
            case = session.get(Case, lease.case_id)
            assert case.lease_holder_id == AMARA and case.status == "leased"
    finally:
        owner.dispose()
    lead.synchronise()
    with lead.replica.sessions() as local:
        flagged = local.get(Decision, late.id)
        assert flagged is not None and flagged.conflict

    # A reviewer cannot reassign; neither can a lead to someone outside the case's team.
    with pytest.raises(LeaseError, match="only a lead"):
        alice.reassign(lease.case_id, tb.alice.id, "mine now")
    with pytest.raises(LeaseError, match="not in the team"):
        lead.reassign(lease.case_id, tb.bob.id, "to another team")
    # A lead of graphic content cannot reach another team's case: the service answers as
    # for a case that does not exist, and the case does not change.
    other = tb.team_case_ids(ADS, status="new")[0]
    before = tb.case(other)
    answers = []
    for case_id in (other, uuid.uuid4()):
        for attempt in (lambda c: lead.reassign(c, AMARA, "x"),
                        lambda c: lead.reassign(c, None, "x"),
                        lambda c: lead.claim_case(c)):
            with pytest.raises(LeaseError) as refused:
                attempt(case_id)
            answers.append(str(refused.value).replace(str(case_id), "<id>"))
    assert answers[:3] == answers[3:]
    assert tb.case(other) == before
    # ...nor does get next ever hand the lead one: it runs dry on the lead's own teams,
    # having handed out every open case of theirs, and the other team's are left untouched.
    link = tb.link(tb.carol)
    open_graphic = tb.team_case_ids(GRAPHIC, status="new")
    open_ads = tb.team_case_ids(ADS, status="new")
    taken = []
    while (next_lease := link.lease_next(LEASE)) is not None:
        taken.append(next_lease.case_id)
        assert len(taken) <= 60
    assert open_graphic and sorted(taken) == sorted(open_graphic)
    assert open_ads and tb.team_case_ids(ADS, status="new") == open_ads


# -- probes: plain SQL as a person's own login role -----------------------------------------


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


def _denied(engine: Engine, sql: str, params: dict | None = None) -> str:
    """Run ``sql``; PostgreSQL must refuse it for the role: permission denied (42501)."""
    with engine.connect() as connection:
        try:
            connection.execute(text(sql), params or {})
        except DBAPIError as error:
            connection.rollback()
            first = str(error.orig).splitlines()[0]
            assert getattr(error.orig, "sqlstate", None) == "42501", (sql, first)
            assert first.startswith("permission denied"), (sql, first)
            return first
        connection.rollback()
    raise AssertionError(f"the backend allowed: {sql} {params}")


def _rows(engine: Engine, sql: str, params: dict | None = None) -> list:
    with engine.connect() as connection:
        rows = connection.execute(text(sql), params or {}).all()
        connection.rollback()
        return rows


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
    """psql: no decision at all may be inserted, not even under her own lease. Through the
    service: only in her own name, and only under the lease she holds (or, by the
    service's documented rule, on an open case nobody else is working); never on a case a
    colleague holds or has decided."""
    tb = team_backend
    alice = tb.connect_as(tb.alice)
    leased = _leased_by(tb, tb.alice)
    token = leased.fencing_token
    assert _rows(alice, "SELECT fencing_token FROM review_case WHERE id = :id",
                 {"id": leased.case_id})[0][0] == token
    free = tb.team_case_ids(GRAPHIC, status="new")[0]
    colleagues = _given_to_amara(tb, tb.team_case_ids(GRAPHIC, status="new")[0])
    decided = _some_decision(tb, GRAPHIC)
    insert = ("INSERT INTO decision (id, case_id, reviewer_id, policy_code, action, rationale,"
              " created_at, policy_version, fencing_token, conflict, requires_second_review,"
              " change_version) VALUES (:id, :case, :who, 'p', 'no_violation', 'r', now(), "
              "'1', :token, :conflict, false, 0)")
    for case_id, who, fencing, conflict in (
        (leased.case_id, tb.bob.id, token, False),  # as someone else, under her own lease
        (leased.case_id, AMARA, token, False),
        (free, tb.alice.id, 0, False),  # without a lease
        (free, tb.alice.id, 0, True),  # "a conflict" on a case she never held
        (leased.case_id, tb.alice.id, token - 1, False),  # an older lease than hers
        (leased.case_id, tb.alice.id, token, False),  # her own lease: still not by hand
    ):
        _denied(alice, insert, {"id": uuid.uuid4(), "case": case_id, "who": who,
                                "token": fencing, "conflict": conflict})

    # The same through the service, with her own session: each refused with its reason.
    pusher = Pusher(tb, tb.link(tb.alice))
    attempts = {
        "as Bob, under her own lease": _decision(tb, leased.case_id, tb.bob.id, token),
        "as Amara, under her own lease": _decision(tb, leased.case_id, AMARA, token),
        "on Amara's case, without a lease": _decision(tb, colleagues.case_id, tb.alice.id,
                                                      None),
        "on Amara's case, with Amara's token": _decision(
            tb, colleagues.case_id, tb.alice.id, colleagues.fencing_token),
        "on Amara's case, with an older token she never held": _decision(
            tb, colleagues.case_id, tb.alice.id, colleagues.fencing_token - 1),
        "on Amara's case, as a conflict": _decision(
            tb, colleagues.case_id, tb.alice.id, colleagues.fencing_token - 1, conflict=True),
        "on a colleague's decided case, without a lease": _decision(
            tb, decided.case_id, tb.alice.id, None),
    }
    before = {case_id: tb.case(case_id) for case_id in (colleagues.case_id, decided.case_id)}
    results = pusher.push(*(pusher.mutation("decision", payload)
                            for payload in attempts.values()))
    reasons = dict(zip(attempts, results, strict=True))
    assert {name: r.outcome for name, r in reasons.items()} == {
        name: "rejected" for name in attempts}, reasons
    assert all(r.reason for r in results)
    for name in ("as Bob, under her own lease", "as Amara, under her own lease"):
        assert "reviewer_id must be you" in reasons[name].reason
    for name in ("on Amara's case, without a lease", "on Amara's case, with Amara's token",
                 "on Amara's case, with an older token she never held",
                 "on Amara's case, as a conflict"):
        assert "another reviewer holds the lease" in reasons[name].reason
    assert "already decided" in reasons["on a colleague's decided case, without a lease"].reason
    # Her own lease does allow it (so the refusals above are the rules, not a typo).
    (honest,) = pusher.push(pusher.mutation(
        "decision", _decision(tb, leased.case_id, tb.alice.id, token)))
    assert honest.outcome == "applied", honest
    # As the owner: nothing of the refused ones reached the backend.
    refused_ids = [payload["id"] for payload in attempts.values()]
    assert _count(tb, "SELECT count(*) FROM decision WHERE id = ANY(CAST(:ids AS uuid[]))",
                  {"ids": refused_ids}) == 0
    assert {case_id: tb.case(case_id) for case_id in before} == before
    assert tb.case(leased.case_id)["status"] == "decided"


def test_a_lease_cannot_be_taken_from_someone_else_or_a_case_decided_by_hand(team_backend):
    tb = team_backend
    alice = tb.connect_as(tb.alice)
    held = _given_to_amara(tb, tb.team_case_ids(GRAPHIC, status="new")[0])
    free = tb.team_case_ids(GRAPHIC, status="new")[0]
    # psql: no change to a case at all, whoever holds it.
    for sql in (
        "UPDATE review_case SET lease_holder_id = :me, fencing_token = fencing_token + 1 "
        "WHERE id = :id",
        "UPDATE review_case SET status = 'new', lease_holder_id = NULL WHERE id = :id",
        "UPDATE review_case SET lease_expires_at = now() - interval '1 hour' WHERE id = :id",
    ):
        _denied(alice, sql, {"id": held.case_id, "me": tb.alice.id})
    for sql, params in (
        ("UPDATE review_case SET status = 'decided' WHERE id = :id", {"id": free}),
        ("UPDATE review_case SET fencing_token = -1 WHERE id = :id", {"id": free}),
        ("UPDATE review_case SET lease_holder_id = :bob WHERE id = :id",
         {"id": free, "bob": tb.bob.id}),
        ("UPDATE review_case SET lease_holder_id = :me, status = 'leased', "
         "lease_expires_at = now() + interval '1 hour' WHERE id = :id",
         {"id": free, "me": tb.alice.id}),
    ):
        _denied(alice, sql, params)
    # Columns outside a lease cannot be written either, nor can cases be added or removed.
    for sql in ("UPDATE review_case SET severity = 1 WHERE id = :id",
                "UPDATE review_case SET reported_text = 'x' WHERE id = :id",
                "DELETE FROM review_case WHERE id = :id",
                "INSERT INTO review_case (id) VALUES (:id)",
                "UPDATE change_counter SET value = 0",
                "UPDATE reviewer SET role = 'admin' WHERE id = :me",
                "INSERT INTO team_membership (reviewer_id, team_code, change_version) "
                "VALUES (:me, 'ads-commerce', 0)",
                "INSERT INTO lease_event (id, case_id, reviewer_id, actor_id, kind, "
                "fencing_token, reason, at, change_version) VALUES (gen_random_uuid(), :id, "
                ":me, :me, 'leased', 1, '', now(), 0)",
                "SELECT rw_next_change_version()", "SELECT rw_stamp_changes(-1)"):
        _denied(alice, sql, {"id": free, "me": tb.alice.id})

    # Through the service: Amara's live lease is hers until it runs out or a lead moves it.
    before = tb.case(held.case_id)
    events = _count(tb, "SELECT count(*) FROM lease_event WHERE case_id = :c",
                    {"c": held.case_id})
    link = tb.link(tb.alice)
    with pytest.raises(LeaseError, match="is working on this case"):
        link.lease_case(held.case_id, LEASE)
    forged = Lease(held.case_id, AMARA, held.fencing_token, held.expires_at)
    with pytest.raises(LeaseError, match="only your own lease"):
        link.renew(forged, LEASE)
    with pytest.raises(LeaseError, match="only your own lease"):
        link.release(forged, "not mine to give back")
    as_hers = Lease(held.case_id, tb.alice.id, held.fencing_token, held.expires_at)
    for attempt in (lambda: link.renew(as_hers, LEASE),
                    lambda: link.release(as_hers, "I never had it")):
        with pytest.raises(LeaseLost):
            attempt()
    with pytest.raises(LeaseError, match="only a lead"):
        link.reassign(held.case_id, tb.alice.id, "mine now", LEASE)
    with pytest.raises(LeaseError, match="only a lead"):
        link.reassign(held.case_id, None, "back to the queue", LEASE)
    # An escalation or a note of hers is kept, but does not pull the case from Amara.
    pusher = Pusher(tb, link)
    results = pusher.push(
        pusher.mutation("escalation", _escalation(tb, held.case_id, tb.alice.id)),
        pusher.mutation("note", _note(tb, held.case_id, tb.alice.id)))
    assert [r.outcome for r in results] == ["applied", "applied"], results
    after = tb.case(held.case_id)
    for column in ("status", "lease_holder_id", "lease_expires_at", "fencing_token",
                   "queue_id"):
        assert after[column] == before[column], column
    assert _count(tb, "SELECT count(*) FROM lease_event WHERE case_id = :c",
                  {"c": held.case_id}) == events
    # A decision is the only way a case becomes decided, and for that see the test above.
    assert tb.case(free)["status"] == "new"


def _audit_entry(tb: TeamBackend, origin: str, seq: int, **changes: Any) -> dict[str, Any]:
    entry = {"id": str(uuid.uuid4()), "origin": origin, "seq": seq,
             "at": tb.clock.now().isoformat(), "actor_id": str(tb.alice.id),
             "kind": "decision", "subject": "case:x", "details": {}, "prev_hash": "0" * 64,
             "hash": "f" * 64}
    entry.update(changes)
    return entry


def test_decisions_escalations_and_the_audit_log_cannot_be_changed(team_backend, tmp_path):
    tb = team_backend
    workstation = tb.workstation(tmp_path / "alice", tb.alice)
    workstation.synchronise()
    lease = workstation.get_next_case()
    decision = decide(workstation, lease.case_id)
    other = workstation.get_next_case()
    escalation = escalate_case(
        workstation.replica.sessions, case_id=other.case_id, reviewer_id=tb.alice.id,
        client_id=workstation.client_id, to_team=EscalationTeam.CORE_POLICY,
        urgency=Urgency.ROUTINE, reason="Policy is unclear here.", clock=tb.clock)
    assert workstation.synchronise().rejected == 0
    alice = tb.connect_as(tb.alice)
    assert _rows(alice, "SELECT count(*) FROM decision WHERE id = :id",
                 {"id": decision.id})[0][0] == 1
    # Of the audit log she reads her own workstation's chain, all of it, and nothing else.
    assert [row[0] for row in _rows(alice, "SELECT DISTINCT origin FROM audit_log")] == [
        workstation.client_id]
    assert _rows(alice, "SELECT count(*) FROM audit_log")[0][0] == _count(
        tb, "SELECT count(*) FROM audit_log WHERE origin = :o", {"o": workstation.client_id})
    for sql in ("UPDATE decision SET action = 'remove' WHERE id = :d",
                "DELETE FROM decision WHERE id = :d",
                "UPDATE escalation SET resolved_at = now() WHERE id = :e",
                "DELETE FROM escalation WHERE id = :e",
                "UPDATE audit_log SET kind = 'x'",
                "DELETE FROM audit_log",
                "INSERT INTO audit_log (id, origin, seq, at, kind, subject, details, "
                "prev_hash, hash) VALUES (gen_random_uuid(), 'forged', 1, now(), 'x', 'x', "
                "'{}', '', '')",
                "TRUNCATE decision",
                "TRUNCATE audit_log",
                # the definer functions that write are the service's (the owner's) alone
                "SELECT rw_resolve_escalations(ARRAY[:e]::uuid[], ARRAY[now()], "
                "ARRAY[1]::bigint[])",
                "SELECT rw_reveal_original(:e, 1)",
                "SELECT rw_score_golden(ARRAY[:d]::uuid[], 1)"):
        _denied(alice, sql, {"d": decision.id, "e": escalation.id})

    # Through the service, from her own workstation's session.
    owner = tb.connect_as_owner()
    with owner.connect() as connection:
        stored_decision = dict(connection.execute(text(
            "SELECT * FROM decision WHERE id = :d"), {"d": decision.id}).mappings().one())
        stored_escalation = dict(connection.execute(text(
            "SELECT * FROM escalation WHERE id = :e"), {"e": escalation.id}).mappings().one())
        log = connection.execute(text(
            "SELECT origin, seq, hash FROM audit_log ORDER BY origin, seq")).all()
    mine = [row for row in log if row.origin == workstation.client_id]
    assert mine, "her workstation's audit entries reached the backend"
    pusher = Pusher(tb, tb.link(tb.alice, client_id=workstation.client_id))
    pusher.seq = 10_000  # past what the outbox has used
    origin = workstation.client_id
    attempts = {
        "a decision reusing her decision's id": pusher.mutation("decision", _decision(
            tb, lease.case_id, tb.alice.id, lease.fencing_token, id=str(decision.id),
            action="no_violation")),
        "an escalation reusing her escalation's id": pusher.mutation("escalation", {
            **_escalation(tb, other.case_id, tb.alice.id), "id": str(escalation.id)}),
        "her audit entry rewritten": pusher.mutation("audit", {"audit": [_audit_entry(
            tb, origin, mine[0].seq, hash="0" * 64)]}),
        "an entry in another workstation's chain": pusher.mutation("audit", {"audit": [
            _audit_entry(tb, "ws-somebody-else", 1)]}),
        "an entry in Bob's name": pusher.mutation("audit", {"audit": [_audit_entry(
            tb, origin, mine[-1].seq + 1, actor_id=str(tb.bob.id))]}),
        "a change under another device's client id": pusher.mutation(
            "audit", {"audit": [_audit_entry(tb, "ws-bobs-laptop", 1)]},
            client_id="ws-bobs-laptop"),
    }
    results = dict(zip(attempts, pusher.push(*attempts.values()), strict=True))
    assert {name: r.outcome for name, r in results.items()} == {
        name: "rejected" for name in attempts}, results
    assert "already exists" in results["a decision reusing her decision's id"].reason
    assert "differs from the copy" in results["her audit entry rewritten"].reason
    assert "own audit chain" in results["an entry in another workstation's chain"].reason
    assert "another person" in results["an entry in Bob's name"].reason
    assert "another person's workstation" in \
        results["a change under another device's client id"].reason
    with owner.connect() as connection:
        assert dict(connection.execute(text("SELECT * FROM decision WHERE id = :d"),
                                       {"d": decision.id}).mappings().one()) == stored_decision
        assert dict(connection.execute(text("SELECT * FROM escalation WHERE id = :e"),
                                       {"e": escalation.id}).mappings().one()) \
            == stored_escalation
        assert connection.execute(text(
            "SELECT origin, seq, hash FROM audit_log ORDER BY origin, seq")).all() == log
    # The escalation is resolved by the backend alone: when a decision decides its case.
    assert stored_escalation["resolved_at"] is None


def test_a_reviewer_cannot_read_others_wellness_data(team_backend):
    """Each person's figures are theirs alone; a lead gets team aggregates from the
    service, from three people sharing on, never one person's row."""
    tb = team_backend
    day = "2026-11-20"
    demo = demo_reviewer_id("demo")  # a third member of graphic content, sharing later
    owner = tb.owner()
    try:
        with owner.writing() as session:
            for who, exposure in ((AMARA, 60.0), (tb.bob.id, 6000.0), (tb.alice.id, 120.0)):
                session.add(WellnessSummary(reviewer_id=who, day=day, exposure_s=exposure,
                                            graphic_queue_s=30.0, breaks_taken=1,
                                            updated_at=tb.clock.now(), change_version=1))
    finally:
        owner.dispose()
    alice = tb.connect_as(tb.alice)
    rows = _rows(alice, "SELECT reviewer_id FROM wellness_summary")
    assert [row.reviewer_id for row in rows] == [tb.alice.id]
    assert _rows(alice, "SELECT * FROM wellness_state WHERE reviewer_id <> :me",
                 {"me": tb.alice.id}) == []
    _denied(alice, "INSERT INTO wellness_summary (reviewer_id, day, exposure_s, "
                   "graphic_queue_s, breaks_taken, updated_at, change_version) VALUES "
                   "(:bob, '2026-11-21', 1, 1, 0, now(), 0)", {"bob": tb.bob.id})
    _denied(alice, "UPDATE wellness_summary SET exposure_s = 0 WHERE reviewer_id <> :me",
            {"me": tb.alice.id})
    _denied(alice, "UPDATE wellness_summary SET exposure_s = 0 WHERE reviewer_id = :me",
            {"me": tb.alice.id})
    # Her lead sees no one's row but their own, not even with psql.
    lead_rows = {row.reviewer_id for row in _rows(tb.connect_as(tb.carol),
                                                  "SELECT reviewer_id FROM wellness_summary")}
    assert lead_rows == set()

    # Through the service: her figures only in her own name.
    pusher = Pusher(tb, tb.link(tb.alice))
    forged, own = pusher.push(
        pusher.mutation("wellness_summary", {
            "reviewer_id": str(tb.bob.id), "day": day, "exposure_s": 0.0,
            "graphic_queue_s": 0.0, "breaks_taken": 0, "updated_at": tb.clock.now().isoformat()}),
        pusher.mutation("wellness_summary", {
            "reviewer_id": str(tb.alice.id), "day": "2026-11-21", "exposure_s": 10.0,
            "graphic_queue_s": 0.0, "breaks_taken": 0,
            "updated_at": tb.clock.now().isoformat()}))
    assert (forged.outcome, own.outcome) == ("rejected", "applied")
    assert "reviewer_id must be you" in forged.reason
    assert _count(tb, "SELECT exposure_s FROM wellness_summary WHERE reviewer_id = :b",
                  {"b": tb.bob.id}) == 6000
    # The lead's team view: two of her team sharing is too few to say anything...
    lead = tb.link(tb.carol)
    view = lead.team_wellness(datetime.fromisoformat(day).date())
    assert view is not None and view.suppressed and view.reviewers_counted == 2
    assert (view.median_exposure_s, view.over_budget_count, view.warning_count) == (
        None, None, None)
    # ...three is enough for aggregates, of her own team only (Bob's 6000 s are not in it).
    owner = tb.owner()
    try:
        with owner.writing() as session:
            session.add(WellnessSummary(reviewer_id=demo, day=day, exposure_s=90.0,
                                        graphic_queue_s=30.0, breaks_taken=1,
                                        updated_at=tb.clock.now(), change_version=1))
    finally:
        owner.dispose()
    view = lead.team_wellness(datetime.fromisoformat(day).date())
    assert not view.suppressed and view.reviewers_counted == 3
    assert view.median_exposure_s == 90.0
    # A reviewer gets no team view at all.
    with pytest.raises(LeaseError, match="only leads"):
        tb.link(tb.alice).team_wellness(datetime.fromisoformat(day).date())


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
    # The identity the service reads with (rw.acting_user) is honoured for the owner's
    # connections only: set by hand it makes her nobody else.
    with alice.connect() as connection:
        connection.execute(text("SELECT set_config('rw.acting_user', :n, false)"),
                           {"n": tb.carol.name})
        assert connection.execute(text("SELECT rw_me()")).scalar_one() == tb.alice.id
        seen = connection.execute(text("SELECT count(*) FROM review_case")).scalar_one()
        connection.rollback()
    assert seen == len(tb.team_case_ids(GRAPHIC))
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
        # People's groups may only read: no table privilege but SELECT anywhere.
        writable = connection.execute(text(
            "SELECT grantee, table_name, privilege_type FROM information_schema.table_privileges"
            " WHERE table_schema = 'public' AND grantee = ANY(:g) "
            "AND privilege_type <> 'SELECT'"),
            {"g": ["rw_reviewer", "rw_auditor", "rw_lead", "rw_admin"]}).all()
    assert bypass == [] and owned == [] and unforced == [] and writable == []
    # Identity helpers: SECURITY DEFINER with a fixed search_path, not callable by PUBLIC.
    assert loose == [] and public_execute == []
    with tb.connect_as_owner().connect() as connection:
        helpers = set(connection.execute(text(
            "SELECT proname FROM pg_proc WHERE proname LIKE 'rw\\_%' AND prosecdef")).scalars())
    assert helpers == RW_HELPERS  # so the checks above looked at every one of them


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
        "UPDATE review_case SET updated_at = now() WHERE id = :case",
    ]
    for sql in probes:
        answers = []
        for case_id in (theirs, nowhere):
            error = _denied(alice, sql, {"new": uuid.uuid4(), "case": case_id,
                                         "me": tb.alice.id})
            answers.append(_normalised(error, case_id))
        assert answers[0] == answers[1], sql
        assert "foreign key" not in answers[0] and "duplicate key" not in answers[0]

    # Through the service: each kind of change names a case, and another team's case is
    # answered exactly like one that does not exist; so are the lease calls.
    link = tb.link(tb.alice)
    pusher = Pusher(tb, link)
    kinds = {
        "note": lambda c: _note(tb, c, tb.alice.id),
        "escalation": lambda c: _escalation(tb, c, tb.alice.id),
        "decision": lambda c: {**_decision(tb, tb.team_case_ids(GRAPHIC)[0], tb.alice.id,
                                           None), "case_id": str(c)},
        "response": lambda c: _response(tb, c, tb.alice.id),
    }
    before = tb.case(theirs)
    for kind, payload in kinds.items():
        results = pusher.push(*(pusher.mutation(kind, payload(c)) for c in (theirs, nowhere)))
        assert [r.outcome for r in results] == ["rejected", "rejected"], (kind, results)
        assert _normalised(results[0].reason, theirs) == \
            _normalised(results[1].reason, nowhere), (kind, results)
    lease_answers = []
    for case_id in (theirs, nowhere):
        with pytest.raises(LeaseError) as refused:
            link.lease_case(case_id, LEASE)
        lease_answers.append(_normalised(str(refused.value), case_id))
    assert lease_answers[0] == lease_answers[1]
    assert tb.case(theirs) == before
    assert _count(tb, "SELECT count(*) FROM note WHERE case_id = :c AND author_id = :me",
                  {"c": theirs, "me": tb.alice.id}) == 0


def test_injection_payloads_in_search_filters_and_backend_inputs(team_backend, tmp_path):
    tb = team_backend
    payloads = ["' OR '1'='1", "'; DROP TABLE decision; --", '" OR 1=1 --',
                "x') UNION SELECT id FROM review_case --", "%' AND 1=1 --", "*", "NEAR(a b)",
                "\\x00", "1; SELECT pg_sleep(0)", "$$; DELETE FROM note; $$"]
    workstation = tb.workstation(tmp_path / "alice", tb.alice)
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

    counts = ("SELECT (SELECT count(*) FROM decision), (SELECT count(*) FROM note), "
              "(SELECT count(*) FROM review_case), (SELECT count(*) FROM reviewer), "
              "(SELECT count(*) FROM lease_event)")
    with tb.connect_as_owner().connect() as connection:
        before = tuple(connection.execute(text(counts)).one())
    # Text that reaches the service: the user name one signs in with, a client id...
    for payload in payloads:
        intruder = ServiceLink(tb.service, username=payload, password=LOGIN_PASSWORD,
                               client_id=f"ws-{uuid.uuid4().hex[:8]}")
        try:
            with pytest.raises(BackendLoginFailed):
                intruder.sign_in()
        finally:
            intruder.dispose()
        odd = ServiceLink(tb.service, username=tb.alice.name, password=payload,
                          client_id=f"ws-{uuid.uuid4().hex[:8]}")
        try:
            with pytest.raises(BackendLoginFailed):
                odd.sign_in()
        finally:
            odd.dispose()
    # ...a case id, a lease, a cursor, and the ids inside a pushed change.
    link = tb.link(tb.alice)
    with httpx.Client(base_url=tb.service, timeout=30) as http:
        signed = http.post("/v1/sessions", json={"username": tb.alice.name,
                                                 "password": LOGIN_PASSWORD,
                                                 "client_id": link.client_id})
        assert signed.status_code == 200, signed.text
        http.headers.update({"Authorization": f"Bearer {signed.json()['token']}",
                             "X-Client-Id": link.client_id})
        for payload in payloads:
            for path, body in (("/v1/leases/case", {"case_id": payload, "duration_s": 60}),
                               ("/v1/leases/reassign", {"case_id": payload,
                                                        "to_reviewer_id": payload,
                                                        "duration_s": 60}),
                               ("/v1/kits/estimate", {"queue_id": payload, "count": 1})):
                answer = http.post(path, json=body)
                assert answer.status_code == 400, (path, payload, answer.text)
                assert answer.json()["error"] == "bad_request"
            answer = http.get("/v1/changes", params={"after": payload, "upto": payload})
            assert answer.status_code == 400 and answer.json()["error"] == "bad_request"
    pusher = Pusher(tb, link)
    results = pusher.push(*(pusher.mutation(kind, {**make(tb.team_case_ids(GRAPHIC)[0]),
                                                   "case_id": payload})
                            for payload in payloads
                            for kind, make in (("note", lambda c: _note(tb, c, tb.alice.id)),
                                               ("decision", lambda c: _decision(
                                                   tb, c, tb.alice.id, None)))))
    assert {r.outcome for r in results} == {"rejected"}
    assert all("case_id" in r.reason for r in results), results
    with tb.connect_as_owner().connect() as connection:
        assert tuple(connection.execute(text(counts)).one()) == before
        assert connection.execute(text("SELECT to_regclass('public.decision')")).scalar()


def test_a_revoked_device_cannot_push(team_backend, tmp_path):
    from reviewer.security.devices import revoke_device

    tb = team_backend
    workstation = tb.workstation(tmp_path / "alice", tb.alice)
    workstation.synchronise()
    lease = workstation.get_next_case()
    decide(workstation, lease.case_id)
    owner = tb.owner()
    try:
        with owner.writing() as session:
            revoke_device(session, workstation.client_id, by="admin")
    finally:
        owner.dispose()
    # The service tells the workstation at its next request...
    status = workstation.sync.backend.check_in(workstation.client_id)
    assert status.revoked and status.revoked_at is not None
    with pytest.raises(DeviceRevoked, match="revoked"):
        workstation.synchronise()  # ...the app stops by itself...
    with workstation.replica.sessions() as local:
        pending = [Mutation(r.mutation_id, r.client_id, r.seq, r.kind, r.payload)
                   for r in local.scalars(select(OutboxEntry)
                                          .where(OutboxEntry.state == "pending"))]
    assert [m.kind for m in pending] == ["decision"]  # hers, not sent
    with pytest.raises(BackendError, match="revoked"):
        workstation.sync.backend.push(pending)  # ...and a client that does not is refused
    # A new session from that device is refused too, whatever the password.
    again = ServiceLink(tb.service, username=tb.alice.name, password=LOGIN_PASSWORD,
                        client_id=workstation.client_id)
    tb.closing.append(again)
    with pytest.raises(BackendError, match="revoked"):
        again.sign_in()
    assert _count(tb, "SELECT count(*) FROM decision WHERE reviewer_id = :me",
                  {"me": tb.alice.id}) == 0
    assert tb.case(lease.case_id)["status"] == "leased"
    # With psql she can neither un-revoke it nor even touch it.
    alice = tb.connect_as(tb.alice)
    for sql in ("UPDATE device SET revoked_at = NULL WHERE client_id = :c",
                "UPDATE device SET last_seen_at = now() WHERE client_id = :c",
                "DELETE FROM device WHERE client_id = :c",
                "INSERT INTO device (client_id, reviewer_id, registered_at, last_seen_at) "
                "VALUES ('ws-new', :me, now(), now())"):
        _denied(alice, sql, {"c": workstation.client_id, "me": tb.alice.id})
    # At its next start the workstation wipes its replica.
    workstation.close()
    tb.closing.remove(workstation)
    reopened = tb.workstation(tmp_path / "alice", tb.alice)
    assert reopened.wiped_reason is not None and "revoked" in reopened.wiped_reason
    with reopened.replica.sessions() as local:
        assert local.scalar(select(func.count()).select_from(Case)) == 0
        assert local.scalar(select(func.count()).select_from(OutboxEntry)) == 0


def test_two_peoples_workstations_share_the_services_one_pool_and_see_only_their_own(
        team_backend, tmp_path, monkeypatch):
    """The service holds one connection pool, as the owner, for everyone: a connection
    that just served Alice serves Bob next, and what each pulls is still filtered by row
    security as themselves (their role and identity are set per transaction only). No
    connection is ever left open as a person's own login role."""
    tb = team_backend
    served: list[int] = []
    databases: list[Database] = []
    real_create_app = service_helpers.create_app

    def create_app(database, *args, **kwargs):
        databases.append(database)
        event.listen(database.engine, "checkout",
                     lambda dbapi, _record, _proxy: served.append(dbapi.info.backend_pid))
        return real_create_app(database, *args, **kwargs)

    monkeypatch.setattr(service_helpers, "create_app", create_app)
    with running_service(tb.owner_url, tb.clock) as service:
        (database,) = databases
        tb.service = service
        alice = tb.workstation(tmp_path / "alice", tb.alice)
        bob = tb.workstation(tmp_path / "bob", tb.bob)
        pids: dict[str, set[int]] = {"alice": set(), "bob": set()}
        for name, workstation in (("alice", alice), ("bob", bob), ("alice", alice),
                                  ("bob", bob)):
            served.clear()
            workstation.synchronise()
            pids[name] |= set(served)
        lease = bob.get_next_case()
        bobs = decide(bob, lease.case_id)
        assert bob.synchronise().rejected == 0
        alice.synchronise()
        with tb.connect_as_owner().connect() as connection:
            users = dict(connection.execute(text(
                "SELECT pid, usename FROM pg_stat_activity WHERE pid = ANY(:p)"),
                {"p": list(pids["alice"] | pids["bob"])}).all())
            as_people = connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE usename = ANY(:n)"),
                {"n": [tb.alice.name, tb.bob.name]}).scalar_one()
        size = database.engine.pool.size()
        assert pids["alice"] & pids["bob"], "one pool: the same connections served both"
        assert set(users.values()) == {tb.owner_url.username}
        assert as_people == 0
        assert len(pids["alice"] | pids["bob"]) <= size
        # Each replica holds its own team's cases and nobody else's decisions.
        assert _replica_case_teams(alice) == {GRAPHIC} and _replica_case_teams(bob) == {ADS}
        with alice.replica.sessions() as local:
            assert local.get(Decision, bobs.id) is None
            assert local.scalar(select(func.count()).select_from(Decision).where(
                Decision.reviewer_id != tb.alice.id,
                Decision.requires_second_review.is_(False))) == 0
        with bob.replica.sessions() as local:
            assert local.get(Decision, bobs.id) is not None
            assert local.scalar(select(func.count()).select_from(Decision).where(
                Decision.reviewer_id != tb.bob.id,
                Decision.requires_second_review.is_(False))) == 0



# -- quality audit: blind review and golden answers -------------------------------------------


def _auditor(tb: TeamBackend) -> Person:
    name = f"audrey_{uuid.uuid4().hex[:8]}"
    return Person(name, create_login(tb.owner_url, name, role="auditor", teams=[GRAPHIC]))


def test_an_auditor_sees_the_original_decision_only_after_their_blind_review(team_backend):
    from reviewer.store.models import QaReview, QaSample

    tb = team_backend
    auditor = _auditor(tb)
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
                carols_sample = session.scalar(select(QaSample.id).where(
                    QaSample.auditor_id == tb.carol.id))
        finally:
            owner.dispose()
        plain = tb.connect_as(auditor)
        assert [row.id for row in _rows(plain, "SELECT id FROM qa_sample")] == [sample_id]
        assert _rows(plain, "SELECT id FROM review_case WHERE id = :c",
                     {"c": sampled.case_id}) != []
        blind = "SELECT action FROM decision WHERE id = :d"
        assert _rows(plain, blind, {"d": sampled.id}) == []  # blind until reviewed
        assert _rows(plain, "SELECT * FROM decision") == []
        review_row = {"s": sample_id, "c": sampled.case_id}
        for who in (tb.carol.id, auditor.id):
            _denied(plain, "INSERT INTO qa_review (id, sample_id, case_id, auditor_id, "
                           "policy_code, action, rationale, submitted_at, feedback, "
                           "change_version) VALUES (gen_random_uuid(), :s, :c, :who, 'p', "
                           "'a', '', now(), '', 0)", {**review_row, "who": who})
        _denied(plain, "SELECT rw_reveal_original(gen_random_uuid(), 1)")

        pusher = Pusher(tb, tb.link(auditor))
        now = tb.clock.now().isoformat()

        def review(sample: uuid.UUID, who: uuid.UUID, review_id: uuid.UUID) -> Mutation:
            return pusher.mutation("qa_review", {
                "id": str(review_id), "sample_id": str(sample), "auditor_id": str(who),
                "policy_code": sampled.policy_code, "action": sampled.action,
                "rationale": "Same call.", "submitted_at": now})

        # Someone else's sample, or her own in someone else's name: refused, and blind still.
        refused = pusher.push(review(carols_sample, auditor.id, uuid.uuid4()),
                              review(sample_id, tb.carol.id, uuid.uuid4()))
        assert [r.outcome for r in refused] == ["rejected", "rejected"], refused
        assert "another auditor" in refused[0].reason
        assert "auditor_id must be you" in refused[1].reason
        assert _rows(plain, blind, {"d": sampled.id}) == []
        assert _rows(plain, blind, {"d": other_sample.id}) == []

        review_id = uuid.uuid4()
        results = pusher.push(
            review(sample_id, auditor.id, review_id),
            pusher.mutation("qa_verdict", {
                "review_id": str(review_id), "auditor_id": str(auditor.id),
                "agrees": True, "reason_category": None, "feedback": "", "verdict_at": now}))
        assert [r.outcome for r in results] == ["applied", "applied"], results
        assert _rows(plain, blind, {"d": sampled.id}) == [(sampled.action,)]
        assert _rows(plain, blind, {"d": other_sample.id}) == []
        # A verdict, once given, is never edited: not with psql, not through the service.
        _denied(plain, "UPDATE qa_review SET agrees = false WHERE id = :r", {"r": review_id})
        (again,) = pusher.push(pusher.mutation("qa_verdict", {
            "review_id": str(review_id), "auditor_id": str(auditor.id), "agrees": False,
            "reason_category": "wrong_action", "feedback": "changed my mind",
            "verdict_at": now}))
        assert again.outcome == "rejected" and "already has a verdict" in again.reason
        # The reviewer whose decision it was, and nobody else of her team, sees the review.
        alice = tb.connect_as(tb.alice)
        assert _rows(alice, "SELECT * FROM qa_review") == []
        owner = tb.owner()
        try:
            with owner.sessions() as session:
                stored = session.get(QaReview, review_id)
                assert (stored.agrees, stored.feedback) == (True, "")
        finally:
            owner.dispose()
    finally:
        drop_logins(tb.owner_url.set(database="postgres"), [auditor.name])


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


def test_an_auditor_draws_a_sample_on_the_backend_without_seeing_decisions(team_backend):
    from reviewer.qa.sampling import SamplingPolicy, redraw_audit_sample
    from reviewer.qa.store import decision_records

    tb = team_backend
    auditor = _auditor(tb)
    try:
        graphic_cases = tb.team_case_ids(GRAPHIC)
        severe, conflict = uuid.uuid4(), uuid.uuid4()
        assert "disable_account" in {str(a) for a in load_taxonomy().severe_actions}
        _add_decisions(tb, (severe, graphic_cases[0], "disable_account", False),
                       (conflict, graphic_cases[1], "remove", True))
        graphic = _team_decision_ids(tb, GRAPHIC)
        assert len(graphic) > 10 and _team_decision_ids(tb, ADS)

        # The auditor draws through the service, signed in as themselves (the app's call).
        link = tb.link(auditor)
        result = link.draw_sample(SINCE, 0.4, 11)
        assert result.seed == 11 and result.stored > 0
        plain = tb.connect_as(auditor)
        drawn = {row.decision_id: row for row in _rows(
            plain, "SELECT decision_id, method, drawn_by, auditor_id, seed FROM qa_sample")}
        assert len(drawn) == result.stored
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

        # The same seed again: the same sample, nothing new stored.
        again = link.draw_sample(SINCE, 0.4, 11)
        assert (again.stored, again.already_sampled) == (0, len(drawn))
        # Samples only for themselves: a hand-made push for someone else is refused.
        pusher = Pusher(tb, link)
        target = next(iter(graphic - set(drawn) - {conflict}))
        owner = tb.owner()
        try:
            with owner.sessions() as session:
                target_case = session.get(Decision, target).case_id
        finally:
            owner.dispose()
        (forged,) = pusher.push(pusher.mutation("qa_samples", {
            "drawn_by": str(auditor.id), "samples": [{
                "id": str(uuid.uuid4()), "case_id": str(target_case),
                "decision_id": str(target), "auditor_id": str(tb.carol.id),
                "method": "random", "rate": 1.0, "seed": 12, "draw": 0.0,
                "drawn_at": tb.clock.now().isoformat()}]}))
        assert forged.outcome == "rejected" and "only for themselves" in forged.reason
        assert _count(tb, "SELECT count(*) FROM qa_sample WHERE auditor_id = :c",
                      {"c": tb.carol.id}) == 0
        fresh = link.draw_sample(SINCE, 1.0, 12)
        # everything else of the team's standing decisions (a conflict is not one)
        assert (fresh.stored, fresh.already_sampled) == (len(graphic) - 1 - len(drawn),
                                                         len(drawn))

        # An auditor changes no case with psql; their sync's lease expiry runs on the
        # service, by the service's clock, and frees nothing that has not run out.
        held = _leased_by(tb, tb.alice)
        _denied(plain, "UPDATE review_case SET updated_at = now()")
        _denied(plain, "UPDATE review_case SET status = 'new', lease_holder_id = NULL "
                       "WHERE id = :c", {"c": held.case_id})
        assert link.expire_leases() == 0
        assert tb.case(held.case_id)["lease_holder_id"] == tb.alice.id
    finally:
        drop_logins(tb.owner_url.set(database="postgres"), [auditor.name])


def test_the_sampling_frame_gives_samplers_only_what_sampling_needs(team_backend):
    tb = team_backend
    auditor = _auditor(tb)
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
        assert "permission denied for function rw_sampling_frame" in _denied(
            tb.connect_as(tb.alice), FRAME, {"since": SINCE})
        lead_rows = _rows(tb.connect_as(tb.carol), FRAME, {"since": SINCE})
        assert {row.decision_id for row in lead_rows} == {row.decision_id for row in rows}
        # With psql nobody stores a sample; through the service a lead draws for an auditor
        # of the team (a sample drawn on the lead's replica), recorded as drawn by the lead.
        _denied(tb.connect_as(tb.carol),
                "INSERT INTO qa_sample (id, case_id, decision_id, auditor_id, method, "
                "drawn_by, drawn_at, change_version) VALUES (gen_random_uuid(), :c, :d, :a, "
                "'random', :me, now(), 0)",
                {"c": rows[0].case_id, "d": rows[0].decision_id, "a": auditor.id,
                 "me": tb.carol.id})
        lead = Pusher(tb, tb.link(tb.carol))
        (drawn,) = lead.push(lead.mutation("qa_samples", {
            "drawn_by": str(tb.carol.id), "samples": [{
                "id": str(uuid.uuid4()), "case_id": str(row.case_id),
                "decision_id": str(row.decision_id), "auditor_id": str(auditor.id),
                "method": "random", "rate": 1.0, "seed": 3, "draw": 0.0,
                "drawn_at": tb.clock.now().isoformat()} for row in rows]}))
        assert drawn.outcome == "applied", drawn
        samples = _rows(plain, "SELECT decision_id, drawn_by FROM qa_sample")
        assert {row.decision_id for row in samples} == {row.decision_id for row in rows}
        assert {row.drawn_by for row in samples} == {tb.carol.id}
        # ...but not another team's decisions, which are not in the lead's frame.
        theirs = _some_decision(tb, ADS)
        (outside,) = lead.push(lead.mutation("qa_samples", {
            "drawn_by": str(tb.carol.id), "samples": [{
                "id": str(uuid.uuid4()), "case_id": str(theirs.case_id),
                "decision_id": str(theirs.id), "auditor_id": str(auditor.id),
                "method": "random", "rate": 1.0, "seed": 3, "draw": 0.0,
                "drawn_at": tb.clock.now().isoformat()}]}))
        assert outside.outcome == "rejected" and outside.reason
        assert _count(tb, "SELECT count(*) FROM qa_sample WHERE decision_id = :d",
                      {"d": theirs.id}) == 0
        # A plain reviewer is told plainly that drawing samples is not theirs to do.
        with pytest.raises(QaRefused, match="must be an auditor, a lead or an admin"):
            tb.link(tb.alice).draw_sample(SINCE, 1.0, 3)
        assert _count(tb, "SELECT count(*) FROM qa_sample WHERE drawn_by = :me",
                      {"me": tb.alice.id}) == 0
    finally:
        drop_logins(tb.owner_url.set(database="postgres"), [auditor.name])


def test_golden_answers_are_hidden_from_reviewers_but_their_decisions_are_scored(
        team_backend, tmp_path):
    from reviewer.store.models import QaGolden, QaGoldenScore

    tb = team_backend
    golden_case = tb.team_case_ids(GRAPHIC, status="new")[0]
    workstation = tb.workstation(tmp_path / "alice", tb.alice)
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
    _denied(tb.connect_as(tb.alice), "SELECT rw_score_golden(ARRAY[:d]::uuid[], 1)",
            {"d": decision.id})


def test_a_workstation_clock_ahead_never_frees_a_colleagues_lease(team_backend, tmp_path):
    """Leases run out by the service's clock: a workstation whose clock says her lease ran
    out long ago syncs (which expires run-out leases), takes the next case and claims hers,
    and Alice keeps her lease."""
    tb = team_backend
    name = f"dave_{uuid.uuid4().hex[:8]}"
    dave = Person(name, create_login(tb.owner_url, name, role="reviewer", teams=[GRAPHIC]))
    try:
        held = _leased_by(tb, tb.alice)
        ahead = ManualClock(tb.clock.now() + timedelta(hours=2))
        workstation = tb.workstation(tmp_path / "dave", dave, clock=ahead)
        assert workstation.synchronise().expired_leases == 0
        mine = workstation.get_next_case()
        assert mine is not None and mine.case_id != held.case_id
        # his lease runs by the service's clock too, not his
        assert mine.expires_at == tb.clock.now() + workstation.lease_duration
        with pytest.raises(LeaseError, match="is working on this case"):
            workstation.claim_case(held.case_id)
        case = tb.case(held.case_id)
        assert case["status"] == "leased" and case["lease_holder_id"] == tb.alice.id
        assert case["fencing_token"] == held.fencing_token
    finally:
        drop_logins(tb.owner_url.set(database="postgres"), [name])


def test_a_tampered_push_is_refused_mutation_by_mutation(team_backend):
    """A batch with forged changes: the service rejects each of them, with the reason, and
    applies the honest ones around them (the set-based path falls back to one by one)."""
    tb = team_backend
    leased = _leased_by(tb, tb.alice)
    colleagues = _given_to_amara(tb, tb.team_case_ids(GRAPHIC, status="new")[0])
    pusher = Pusher(tb, tb.link(tb.alice))
    batch = [
        pusher.mutation("decision", _decision(tb, colleagues.case_id, tb.alice.id, None)),
        pusher.mutation("decision", _decision(tb, leased.case_id, tb.bob.id,
                                              leased.fencing_token)),
        pusher.mutation("decision", _decision(tb, leased.case_id, tb.alice.id,
                                              leased.fencing_token)),
        pusher.mutation("note", _note(tb, leased.case_id, tb.alice.id),
                        client_id="ws-bobs-laptop"),  # another device's ledger
        pusher.mutation("note", _note(tb, leased.case_id, tb.alice.id)),
    ]
    results = pusher.push(*batch)
    assert [r.outcome for r in results] == [
        "rejected", "rejected", "applied", "rejected", "applied"], results
    assert "another reviewer holds the lease" in results[0].reason
    assert "reviewer_id must be you" in results[1].reason
    assert "another person's workstation" in results[3].reason
    # Pushed again (a retry): the same answers, nothing applied twice.
    assert [(r.outcome, r.reason) for r in pusher.link.push(batch)] == [
        (r.outcome, r.reason) for r in results]
    assert tb.case(leased.case_id)["status"] == "decided"
    case = tb.case(colleagues.case_id)
    assert case["status"] == "leased" and case["lease_holder_id"] == AMARA
    assert _count(tb, "SELECT count(*) FROM decision WHERE case_id = ANY(CAST(:c AS uuid[]))",
                  {"c": [str(leased.case_id), str(colleagues.case_id)]}) == 1
    assert _count(tb, "SELECT count(*) FROM note WHERE case_id = :c",
                  {"c": leased.case_id}) == 1


def test_a_blind_review_round_trip_on_the_auditors_own_workstation(team_backend, tmp_path):
    """Drawn on the backend, re-reviewed on the auditor's replica, the original arriving
    only after the blind decision is in: all through the service as the auditor."""
    from reviewer.qa.store import (
        original_for_review,
        pending_samples,
        record_blind_review,
        record_verdict,
        review_for_sample,
    )
    from reviewer.store.models import QaReview, QaSample

    tb = team_backend
    auditor = _auditor(tb)
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
        workstation = tb.workstation(tmp_path / "auditor", auditor)
        drawn = workstation.sync.backend.draw_sample(SINCE, 1.0, 5)
        assert drawn.stored > 0
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
        assert workstation.synchronise().rejected == 0
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
        drop_logins(tb.owner_url.set(database="postgres"), [auditor.name])
