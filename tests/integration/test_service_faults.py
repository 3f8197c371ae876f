"""Faults through the backend service: the service killed, PostgreSQL restarted, mid-push.

Whatever dies, every decision a reviewer recorded reaches the backend exactly once: never
lost (the outbox keeps it until the service confirms), never doubled (a replay is
recognised by its mutation id), never taken for a conflict.
"""

from __future__ import annotations

import random
import threading
import time
import uuid

import pytest
from sqlalchemy import func, select

from reviewer.demo.seed import TEAMS
from reviewer.store.database import BackendError, Database
from reviewer.store.models import (
    AppliedMutation,
    Case,
    Decision,
    OutboxEntry,
    Queue,
    TeamMembership,
)
from reviewer.sync.engine import SyncReport
from tests.helpers.pg_workstations import (
    LOGIN_PASSWORD,
    create_login,
    decide,
    drop_logins,
    seed_backend,
)
from tests.helpers.service import ServiceProcess, running_service

KILLS = 6


def _open(tmp_path, base_url, clock, name):
    from reviewer.workstation import Workstation

    return Workstation.open(tmp_path / name, backend_url=base_url, username=name,
                            password=LOGIN_PASSWORD, clock=clock)


def _decide_open_cases(workstation, count: int) -> list:
    """Record `count` decisions on open cases of the reviewer's teams, in the replica."""
    with workstation.replica.sessions() as session:
        mine = select(Queue.id).join(TeamMembership,
                                     TeamMembership.team_code == Queue.team_code).where(
            TeamMembership.reviewer_id == workstation.reviewer_id)
        ids = list(session.scalars(select(Case.id).where(
            Case.status == "new", Case.queue_id.in_(mine)).order_by(Case.external_ref)
            .limit(count)))
    return [decide(workstation, case_id).id for case_id in ids]


def _exactly_once(pg_url, reviewer_id, decisions: list) -> None:
    owner = Database.open(pg_url, migrate=False)
    try:
        with owner.sessions() as session:
            rows = session.execute(select(Decision.id, Decision.conflict)
                                   .where(Decision.reviewer_id == reviewer_id)).all()
            twice = session.execute(select(Decision.case_id).group_by(Decision.case_id)
                                    .having(func.count() > 1)).all()
            applied = session.scalar(select(func.count()).select_from(AppliedMutation)
                                     .where(AppliedMutation.outcome == "applied"))
    finally:
        owner.dispose()
    assert sorted(r.id for r in rows) == sorted(decisions)
    assert not [r for r in rows if r.conflict], "a replay was taken for a new decision"
    assert twice == []
    assert applied >= len(decisions)


@pytest.fixture
def reviewer_login(pg_url, postgres_server, clock):
    seed_backend(pg_url, clock, cases=200)
    name = f"rafa_{uuid.uuid4().hex[:8]}"  # login roles belong to the whole server
    create_login(pg_url, name, role="reviewer", teams=list(TEAMS))
    yield name
    drop_logins(postgres_server.admin_url, [name])


def test_the_service_killed_mid_push_loses_and_doubles_nothing(pg_url, tmp_path, clock,
                                                              reviewer_login):
    service = ServiceProcess(pg_url, tmp_path)
    service.start()
    rng = random.Random(15)
    try:
        workstation = _open(tmp_path, service.base_url, clock, reviewer_login)
        workstation.sync.push_batch = 5  # many small commits: a kill lands between them
        workstation.synchronise()
        decisions: list = []
        kills = 0
        for _ in range(KILLS):
            decisions += _decide_open_cases(workstation, 15)
            failure: list[BaseException] = []

            def push() -> None:
                try:
                    workstation.sync.push(SyncReport())
                except BackendError as error:
                    failure.append(error)  # noqa: B023

            pusher = threading.Thread(target=push)
            pusher.start()
            time.sleep(rng.uniform(0.0, 0.05))
            service.kill()
            kills += 1
            pusher.join(timeout=60)
            assert not pusher.is_alive()
            service.start()
        report = workstation.synchronise()
        assert report.rejected == 0
        with workstation.replica.sessions() as session:
            pending = session.scalar(select(func.count()).select_from(OutboxEntry)
                                     .where(OutboxEntry.state != "done"))
        assert pending == 0
        assert kills == KILLS
        _exactly_once(pg_url, workstation.reviewer_id, decisions)
        workstation.close()
    finally:
        service.stop()


def test_postgresql_restarted_mid_push_loses_and_doubles_nothing(
        pg_url, postgres_server, tmp_path, clock, reviewer_login):
    if not postgres_server.restartable:
        pytest.skip("the tests do not own this PostgreSQL server (REVIEWER_TEST_PG_URL)")
    with running_service(pg_url, clock) as base_url:
        workstation = _open(tmp_path, base_url, clock, reviewer_login)
        workstation.synchronise()
        workstation.sync.push_batch = 5
        decisions = _decide_open_cases(workstation, 40)
        failure: list[BaseException] = []

        def push() -> None:
            try:
                workstation.sync.push(SyncReport())
            except BackendError as error:
                failure.append(error)

        pusher = threading.Thread(target=push)
        pusher.start()
        time.sleep(0.05)
        postgres_server.stop()
        pusher.join(timeout=60)
        assert not pusher.is_alive()
        with pytest.raises(BackendError):  # while it is down the service says so: 503
            workstation.synchronise()
        postgres_server.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                report = workstation.synchronise()
                break
            except BackendError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert report.rejected == 0
        _exactly_once(pg_url, workstation.reviewer_id, decisions)
        workstation.close()
