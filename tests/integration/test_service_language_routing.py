"""Language routing through the real backend service on PostgreSQL: get next offers a
reviewer only cases in their languages; a lead of the queue's team turns routing off
through the outbox and the service applies it (as the owner, after the applier's checks);
a reviewer's tampered replica sending the same change is refused."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update

from reviewer.security.audit import AuditKind
from reviewer.store.database import Database
from reviewer.store.models import AppliedMutation, AuditLogEntry, Case, Queue, Reviewer
from reviewer.workstation import Workstation
from tests.helpers.pg_workstations import LOGIN_PASSWORD, create_login, drop_logins, seed_backend
from tests.helpers.service import running_service

QUEUE = "Hate speech"  # the integrity team's


def _drain(desk: Workstation) -> list[uuid.UUID]:
    leased = []
    while (lease := desk.get_next_case()) is not None:
        leased.append(lease.case_id)
    return leased


def test_routing_by_language_and_a_lead_turning_it_off_through_the_service(
        pg_url, postgres_server, tmp_path, clock):
    seed_backend(pg_url, clock, cases=60)
    suffix = uuid.uuid4().hex[:8]
    rita, lena = f"rita_{suffix}", f"lena_{suffix}"
    create_login(pg_url, rita, role="reviewer", teams=["integrity"])
    create_login(pg_url, lena, role="lead", teams=["integrity"])
    owner = Database.open(pg_url, migrate=False)
    try:
        with owner.writing() as session:
            session.execute(update(Reviewer).where(Reviewer.username == rita)
                            .values(languages=["en"]))
            queue_id = session.scalar(select(Queue.id).where(Queue.name == QUEUE))
            integrity = list(session.scalars(select(Queue.id).where(
                Queue.team_code == "integrity")))
            waiting = session.execute(select(Case.id, Case.language).where(
                Case.status == "new", Case.queue_id.in_(integrity))).all()
        english = {case_id for case_id, language in waiting if language == "en"}
        foreign = {case_id for case_id, language in waiting if language != "en"}
        assert english and foreign
        with running_service(pg_url, clock) as base_url:
            desks = {name: Workstation.open(tmp_path / name, backend_url=base_url,
                                            username=name, password=LOGIN_PASSWORD,
                                            clock=clock)
                     for name in (rita, lena)}
            for desk in desks.values():
                desk.synchronise()
            # Rita reads English only: get next gives her the English cases, then nothing.
            assert set(_drain(desks[rita])) == english
            # Her replica, tampered to say she leads, sends the change anyway: refused.
            with desks[rita].replica.writing() as session:
                session.execute(update(Reviewer).where(Reviewer.username == rita)
                                .values(role="lead"))
            assert desks[rita].set_language_routing(queue_id, False)
            assert desks[rita].synchronise().rejected == 1
            with owner.sessions() as session:
                assert session.get(Queue, queue_id).language_routing is True
            # Lena, a lead of the team, turns it off: applied, and on record.
            assert desks[lena].may_route(queue_id)
            assert desks[lena].set_language_routing(queue_id, False)
            report = desks[lena].synchronise()
            assert (report.pushed, report.rejected) == (1, 0)
            with owner.sessions() as session:
                assert session.get(Queue, queue_id).language_routing is False
                outcomes = dict(session.execute(
                    select(AppliedMutation.client_id, AppliedMutation.outcome)
                    .where(AppliedMutation.kind == "queue_routing")).all())
                assert outcomes == {desks[rita].client_id: "rejected",
                                    desks[lena].client_id: "applied"}
                entries = session.scalars(select(AuditLogEntry).where(
                    AuditLogEntry.kind == AuditKind.QUEUE_ROUTING)).all()
                assert {e.origin for e in entries} >= {desks[lena].client_id}
            # Every replica learns it at its next pull (row security lets people read queues).
            desks[rita].synchronise()
            assert desks[rita].language_routing(queue_id) is False
            # Now Rita gets that queue's cases in any language; the other queues still route.
            more = set(_drain(desks[rita]))
            with owner.sessions() as session:
                in_queue = {case_id for case_id in foreign
                            if session.get(Case, case_id).queue_id == queue_id}
            assert in_queue and more == in_queue
            for desk in desks.values():
                desk.close()
    finally:
        owner.dispose()
        drop_logins(postgres_server.admin_url, [rita, lena])
