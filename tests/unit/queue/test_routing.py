"""Language routing: get next offers a reviewer only cases in the languages they review,
unless a lead turns routing off for the queue; archived queues are never offered; a lead's
turning routing off travels through the outbox and is applied only for a lead of that
queue's team or an admin; leads see the cases in languages nobody on shift reviews."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from reviewer.demo.seed import demo_reviewer_id
from reviewer.queue.leases import lease_next_case
from reviewer.queue.routing import RoutingRefused, set_language_routing, unserved_cases
from reviewer.security.audit import AuditKind
from reviewer.store.changes import next_change_version
from reviewer.store.models import (
    AppliedMutation,
    AuditLogEntry,
    Case,
    OutboxEntry,
    Queue,
    Reviewer,
    TeamMembership,
)
from reviewer.sync.link import DirectLink

AMARA, JONAS, SOFIA = (demo_reviewer_id(n) for n in ("amara", "jonas", "sofia"))
DEMO = demo_reviewer_id("demo")

pytestmark = pytest.mark.demo(cases=80)


def _queues_of(session, reviewer_id) -> list[uuid.UUID]:
    teams = select(TeamMembership.team_code).where(TeamMembership.reviewer_id == reviewer_id)
    return list(session.scalars(select(Queue.id).where(Queue.team_code.in_(teams))))


def _open_cases(workstation, reviewer_id):
    with workstation.backend.sessions() as session:
        return session.scalars(select(Case).where(
            Case.status == "new", Case.queue_id.in_(_queues_of(session, reviewer_id)))).all()


def _drain(workstation, reviewer_id, clock) -> list[Case]:
    leased = []
    while (lease := lease_next_case(workstation.backend, reviewer_id, clock)) is not None:
        with workstation.backend.sessions() as session:
            leased.append(session.get(Case, lease.case_id))
    return leased


def _set_backend(workstation, statement) -> None:
    with workstation.backend.writing() as session:
        session.execute(statement)


def test_get_next_offers_only_cases_in_my_languages_until_none_is_left(workstation, clock):
    before = _open_cases(workstation, AMARA)
    mine = [case for case in before if case.language in ("en", "fr")]
    others = [case for case in before if case.language not in ("en", "fr")]
    assert mine and others  # the demo week has both
    leased = _drain(workstation, AMARA, clock)
    assert {case.id for case in leased} == {case.id for case in mine}
    assert {case.language for case in leased} <= {"en", "fr"}
    # What is left of her queues is in the languages she does not read, untouched.
    assert {case.id for case in _open_cases(workstation, AMARA)} == {c.id for c in others}


def test_a_queue_with_routing_off_offers_every_language(workstation, clock):
    others = [case for case in _open_cases(workstation, AMARA)
              if case.language not in ("en", "fr")]
    queue_id = others[0].queue_id
    _set_backend(workstation, update(Queue).where(Queue.id == queue_id)
                 .values(language_routing=False))
    leased = _drain(workstation, AMARA, clock)
    off = [case for case in leased if case.queue_id == queue_id]
    assert {case.id for case in others if case.queue_id == queue_id} <= {c.id for c in leased}
    assert any(case.language not in ("en", "fr") for case in off)
    # The other queues still route: nothing outside her languages came from them.
    assert all(case.language in ("en", "fr") for case in leased if case.queue_id != queue_id)


def test_archived_queues_are_never_offered(workstation, clock):
    with workstation.backend.sessions() as session:
        queues = _queues_of(session, AMARA)
    archived = queues[0]
    _set_backend(workstation, update(Queue).where(Queue.id == archived)
                 .values(archived=True, language_routing=False))
    leased = _drain(workstation, AMARA, clock)
    assert leased and all(case.queue_id != archived for case in leased)
    assert any(case.queue_id == archived for case in _open_cases(workstation, AMARA))


def test_a_person_with_no_recorded_languages_is_not_filtered(workstation, clock):
    _set_backend(workstation, update(Reviewer).where(Reviewer.id == AMARA).values(languages=[]))
    before = _open_cases(workstation, AMARA)
    leased = _drain(workstation, AMARA, clock)
    assert {case.id for case in leased} == {case.id for case in before}
    assert {case.language for case in leased} - {"en", "fr"}


def test_a_regional_language_tag_counts_for_its_language(workstation, clock):
    case = _open_cases(workstation, AMARA)[0]
    _set_backend(workstation, update(Case).where(Case.id == case.id).values(language="FR-ca"))
    leased = _drain(workstation, AMARA, clock)
    assert case.id in {c.id for c in leased}


# -- a lead turns routing off, through the outbox -------------------------------------------


def _local_queue(workstation, name="Hate speech") -> Queue:
    with workstation.replica.sessions() as session:
        return session.scalar(select(Queue).where(Queue.name == name))


def _as(workstation, username, reviewer_id):
    """The demo workstation's replica, acting for someone else (their role and teams)."""
    workstation.reviewer_id = reviewer_id
    workstation.sync.backend = DirectLink(workstation.backend, username=username,
                                          clock=workstation.clock,
                                          taxonomy=workstation.taxonomy,
                                          client_id=workstation.client_id)
    return workstation


def test_a_lead_turns_routing_off_and_the_backend_applies_it_with_an_audit_entry(
        workstation, clock):
    lead = _as(workstation, "sofia", SOFIA)
    queue = _local_queue(lead)
    assert queue.language_routing is True and lead.may_route(queue.id)
    assert lead.set_language_routing(queue.id, False) is True
    assert lead.language_routing(queue.id) is False  # at once, on the replica
    assert lead.set_language_routing(queue.id, False) is False  # already off: nothing sent
    with lead.replica.sessions() as session:
        entry = session.scalar(select(OutboxEntry).where(OutboxEntry.kind == "queue_routing"))
        audit = session.scalar(select(AuditLogEntry).where(
            AuditLogEntry.kind == AuditKind.QUEUE_ROUTING))
    assert entry.payload["language_routing"] is False and entry.payload["audit"]
    assert audit.subject == f"queue:{queue.id}" and audit.actor_id == SOFIA
    report = lead.synchronise()
    assert report.rejected == 0
    with lead.backend.sessions() as session:
        assert session.get(Queue, queue.id).language_routing is False
        applied = session.scalar(select(AppliedMutation).where(
            AppliedMutation.kind == "queue_routing"))
        stored = session.scalar(select(AuditLogEntry).where(
            AuditLogEntry.kind == AuditKind.QUEUE_ROUTING))
    assert applied.outcome == "applied" and stored.details["language_routing"] is False
    # Amara now gets this queue's cases in any language.
    leased = _drain(workstation, AMARA, clock)
    assert any(c.queue_id == queue.id and c.language not in ("en", "fr") for c in leased)
    # And back on.
    assert lead.set_language_routing(queue.id, True) is True
    lead.synchronise()
    with lead.backend.sessions() as session:
        assert session.get(Queue, queue.id).language_routing is True


def test_a_reviewer_cannot_turn_routing_off_here_nor_on_the_backend(workstation, clock):
    queue = _local_queue(workstation)
    assert not workstation.may_route(queue.id)
    with pytest.raises(RoutingRefused, match="only a lead"):
        workstation.set_language_routing(queue.id, False)
    # A tampered replica sends it anyway: the backend refuses it and changes nothing.
    with workstation.replica.writing() as session:
        session.execute(update(Reviewer).where(Reviewer.id == DEMO).values(role="lead"))
    assert workstation.set_language_routing(queue.id, False) is True
    report = workstation.synchronise()
    assert report.rejected == 1
    with workstation.backend.sessions() as session:
        assert session.get(Queue, queue.id).language_routing is True
        applied = session.scalar(select(AppliedMutation).where(
            AppliedMutation.kind == "queue_routing"))
    assert applied.outcome == "rejected" and "only a lead" in applied.reason


def test_a_lead_of_another_team_is_refused_on_the_backend(workstation, clock):
    with workstation.backend.writing() as session:
        session.execute(update(Reviewer).where(Reviewer.id == JONAS).values(
            role="lead", change_version=next_change_version(session)))
    jonas = _as(workstation, "jonas", JONAS)
    jonas.synchronise()  # his new role reaches the replica
    graphic = _local_queue(jonas, "Graphic violence")  # graphic-content: not Jonas's team
    assert not jonas.may_route(graphic.id)
    with pytest.raises(RoutingRefused):
        jonas.set_language_routing(graphic.id, False)
    hate = _local_queue(jonas, "Hate speech")  # integrity: his team
    assert jonas.set_language_routing(hate.id, False)
    assert jonas.synchronise().rejected == 0
    with jonas.backend.sessions() as session:
        assert session.get(Queue, hate.id).language_routing is False


# -- languages nobody on shift reviews --------------------------------------------------------


def test_leads_see_open_cases_in_languages_nobody_on_shift_reviews(workstation, clock):
    window = timedelta(hours=8)
    clock.advance(timedelta(days=2))  # nobody has worked in the last 8 hours
    sessions = workstation.replica.sessions
    nobody = unserved_cases(sessions, SOFIA, clock.now(), window)
    with workstation.replica.sessions() as session:
        open_ids = set(session.scalars(select(Case.id).where(Case.status == "new")))
    assert nobody.on_shift == 0 and nobody.case_ids == open_ids  # all queues are Sofia's
    # Amara takes a case: she is on shift, and English and French are served in her teams'
    # queues (graphic content, integrity), nowhere else.
    lease_next_case(workstation.backend, AMARA, clock)
    workstation.synchronise()
    found = unserved_cases(sessions, SOFIA, clock.now(), window)
    assert found.on_shift == 1
    with workstation.replica.sessions() as session:
        rows = session.execute(select(Case.id, Case.language, Queue.team_code)
                               .join(Queue, Queue.id == Case.queue_id)
                               .where(Case.status == "new")).all()
    expected = {case_id for case_id, language, team in rows
                if not (team in ("graphic-content", "integrity") and language in ("en", "fr"))}
    assert found.case_ids == expected
    assert set(found.by_language) == {lang for case_id, lang, _ in rows if case_id in expected}
    assert sum(found.by_language.values()) == found.count
    assert "Unserved languages" in found.summary()
    # Past the window she is off shift again.
    clock.advance(window + timedelta(minutes=1))
    assert unserved_cases(sessions, SOFIA, clock.now(), window).on_shift == 0
    # A reviewer is no lead: nothing.
    assert unserved_cases(sessions, DEMO, clock.now(), window).count == 0


def test_routing_refuses_a_queue_the_replica_does_not_hold(workstation, clock):
    with pytest.raises(RoutingRefused, match="not on this workstation"):
        set_language_routing(workstation.replica.sessions, queue_id=uuid.uuid4(),
                             actor_id=SOFIA, client_id=workstation.client_id, on=False,
                             clock=clock)
