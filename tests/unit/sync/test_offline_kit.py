"""Offline kits: lease a queue's cases for travel, work with no network, push on return."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from reviewer.enforcement.decisions import DecisionDraft, record_decision
from reviewer.store.database import BackendUnavailable, Database
from reviewer.store.models import Case, Decision, Queue
from reviewer.sync.link import DirectLink
from reviewer.sync.offline_kit import KitRefused

pytestmark = pytest.mark.demo(cases=120)


def _queue(workstation, name):
    with workstation.backend.sessions() as session:
        return session.scalar(select(Queue).where(Queue.name == name))


@pytest.mark.with_media
@pytest.mark.demo(cases=60)
def test_kit_leases_the_queue_for_three_days_and_downloads_it(workstation, clock):
    queue = _queue(workstation, "Hate speech")
    estimate = workstation.estimate_travel_kit(queue.id, 5)
    assert estimate.planned == min(5, estimate.available) > 0
    assert estimate.download_bytes > estimate.planned * 2000  # cases and their media
    progress = []
    report = workstation.prepare_travel_kit(queue.id, 5,
                                            lambda done, total: progress.append(done))
    assert report.leased == estimate.planned
    assert progress
    with workstation.replica.sessions() as session:
        mine = session.scalars(select(Case).where(
            Case.lease_holder_id == workstation.reviewer_id)).all()
    assert len(mine) == report.leased
    assert all(c.queue_id == queue.id and c.status == "leased" for c in mine)
    assert all(c.lease_expires_at == clock.now() + timedelta(hours=72) for c in mine)
    for case in mine:  # media came along
        for item in workstation.media_items(case.id):
            assert workstation.media_bytes(item.content_hash)


def test_child_safety_never_goes_into_a_kit(workstation):
    queue = _queue(workstation, "Child safety")
    with pytest.raises(KitRefused, match="never taken offline"):
        workstation.prepare_travel_kit(queue.id, 10)
    with workstation.backend.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case).where(
            Case.lease_holder_id == workstation.reviewer_id)) == 0


def test_offline_work_on_the_kit_reaches_the_backend_on_return(workstation, clock):
    queue = _queue(workstation, "Spam & fraud")
    report = workstation.prepare_travel_kit(queue.id, 3)
    assert report.leased == 3
    online = workstation.sync.backend
    unreachable = Database.open("postgresql+psycopg://nobody@127.0.0.1:1/none", migrate=False)
    workstation.sync.backend = DirectLink(unreachable, username="demo", clock=clock,
                                          taxonomy=workstation.taxonomy,
                                          client_id=workstation.client_id)
    try:
        decided = []
        for _ in range(3):
            clock.advance(timedelta(hours=5))  # SLA timers keep counting offline
            lease = workstation.get_next_case()
            assert lease is not None, "offline, the kit's cases are still there"
            case = workstation.case(lease.case_id)
            policy = workstation.taxonomy.policies_for_surface(case.surface)[0]
            record_decision(workstation.replica.sessions, workstation.taxonomy,
                            reviewer_id=workstation.reviewer_id,
                            client_id=workstation.client_id, clock=clock,
                            draft=DecisionDraft(case.id, policy.code, "no_violation",
                                                "Checked on the train: fine."))
            decided.append(case.id)
        assert workstation.get_next_case() is None
        with pytest.raises(BackendUnavailable):
            workstation.synchronise()
    finally:
        unreachable.dispose()
        workstation.sync.backend = online
        workstation.sync.backend = online
    report = workstation.synchronise()
    assert report.pushed == 3
    with workstation.backend.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Decision).where(
            Decision.case_id.in_(decided), Decision.conflict.is_(False))) == 3
