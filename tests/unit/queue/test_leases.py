"""Leases: get next, renewal, skip, expiry, fencing tokens, lead reassignment, contention."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from reviewer.demo.seed import demo_reviewer_id
from reviewer.enforcement.decisions import DecisionDraft, record_decision
from reviewer.queue.case_queue import PriorityWeights, priority_score
from reviewer.queue.leases import (
    LeaseError,
    LeaseLost,
    lease_case,
    lease_next_case,
    reassign_lease,
    release_lease,
    renew_lease,
)
from reviewer.security.secrets import KeyringSecretStore
from reviewer.store.database import sqlite_url
from reviewer.store.models import Case, Decision, LeaseEvent, Queue, TeamMembership

ROOT = Path(__file__).resolve().parents[3]
AMARA, JONAS, SOFIA = (demo_reviewer_id(n) for n in ("amara", "jonas", "sofia"))


# Real worker processes open this backend too: its key is in the (test run's) keyring.
pytestmark = pytest.mark.demo(cases=80, secrets=KeyringSecretStore())


def _backend_case(workstation, case_id) -> Case:
    with workstation.backend.sessions() as session:
        return session.get(Case, case_id)


def test_get_next_leases_the_highest_priority_case_i_may_work(workstation, clock):
    lease = lease_next_case(workstation.backend, AMARA, clock)
    with workstation.backend.sessions() as session:
        teams = select(TeamMembership.team_code).where(TeamMembership.reviewer_id == AMARA)
        mine = select(Queue.id).where(Queue.team_code.in_(teams))
        best = session.scalars(  # in her teams' queues and her languages (English, French)
            select(Case).where(Case.status == "new", Case.queue_id.in_(mine),
                               Case.language.in_(("en", "fr")))
            .order_by(Case.priority_key)).first()
        leased = session.get(Case, lease.case_id)
    assert best is None or priority_score(leased.priority_key, clock.now(), PriorityWeights()) \
        >= priority_score(best.priority_key, clock.now(), PriorityWeights())
    assert leased.status == "leased" and leased.lease_holder_id == AMARA
    assert leased.language in ("en", "fr")
    assert leased.lease_expires_at == clock.now() + timedelta(minutes=15)
    assert lease.fencing_token == leased.fencing_token >= 1
    with workstation.backend.sessions() as session:
        queue = session.get(Queue, leased.queue_id)
    assert queue.team_code in {"graphic-content", "integrity"}  # Amara's teams


def test_two_reviewers_never_get_the_same_case(workstation, clock):
    first = lease_next_case(workstation.backend, AMARA, clock)
    second = lease_next_case(workstation.backend, demo_reviewer_id("demo"), clock)
    assert first.case_id != second.case_id


def test_expired_lease_returns_the_case_and_the_token_grows(workstation, clock):
    lease = lease_next_case(workstation.backend, AMARA, clock)
    clock.advance(timedelta(minutes=16))
    with pytest.raises(LeaseLost):
        renew_lease(workstation.backend, lease, clock)
    # The next claim expires it and may hand it to another reviewer with a larger token.
    again = lease_case(workstation.backend, lease.case_id, SOFIA, clock)
    assert again.fencing_token > lease.fencing_token
    with workstation.backend.sessions() as session:
        kinds = session.scalars(select(LeaseEvent.kind).where(
            LeaseEvent.case_id == lease.case_id).order_by(LeaseEvent.at, LeaseEvent.kind)).all()
    assert "expired" in kinds and kinds.count("leased") == 2


def test_renewal_extends_a_held_lease(workstation, clock):
    lease = lease_next_case(workstation.backend, AMARA, clock)
    clock.advance(timedelta(minutes=10))
    renewed = renew_lease(workstation.backend, lease, clock)
    assert renewed.expires_at == clock.now() + timedelta(minutes=15)
    assert renewed.fencing_token == lease.fencing_token


def test_skip_releases_with_a_reason(workstation, clock):
    lease = lease_next_case(workstation.backend, AMARA, clock)
    with pytest.raises(LeaseError, match="say why"):
        release_lease(workstation.backend, lease, clock, "  ")
    release_lease(workstation.backend, lease, clock, "Needs Arabic, which I don't read")
    case = _backend_case(workstation, lease.case_id)
    assert case.status == "new" and case.lease_holder_id is None
    with workstation.backend.sessions() as session:
        event = session.scalar(select(LeaseEvent).where(LeaseEvent.kind == "skipped"))
    assert event.reason == "Needs Arabic, which I don't read"


def test_cannot_take_a_case_someone_else_holds(workstation, clock):
    lease = lease_next_case(workstation.backend, AMARA, clock)
    with pytest.raises(LeaseError, match="Amara Okafor is working on this case"):
        lease_case(workstation.backend, lease.case_id, SOFIA, clock)


def test_only_leads_reassign_and_a_reassignment_fences_the_old_holder(workstation, clock):
    lease = lease_next_case(workstation.backend, AMARA, clock)
    with pytest.raises(LeaseError, match="only a lead"):
        reassign_lease(workstation.backend, lease.case_id, JONAS, JONAS, clock)
    moved = reassign_lease(workstation.backend, lease.case_id, SOFIA, demo_reviewer_id("demo"),
                           clock, reason="Amara is on a break")
    assert moved.reviewer_id == demo_reviewer_id("demo")
    assert moved.fencing_token > lease.fencing_token
    with pytest.raises(LeaseLost):
        renew_lease(workstation.backend, lease, clock)
    assert reassign_lease(workstation.backend, lease.case_id, SOFIA, None, clock) is None
    assert _backend_case(workstation, lease.case_id).status == "new"


def test_decision_on_a_stale_lease_is_kept_as_a_conflict(workstation, clock):
    """Amara decides offline after her lease expired and Sofia took the case: both stay."""
    me = workstation.reviewer_id
    lease = lease_case(workstation.backend, _first_new_case(workstation), me, clock)
    workstation.synchronise()  # the replica learns of my lease (token)
    clock.advance(timedelta(minutes=20))
    lease_case(workstation.backend, lease.case_id, SOFIA, clock)
    case = workstation.case(lease.case_id)
    policy = next(p for p in workstation.taxonomy.policies_for_surface(case.surface))
    record_decision(workstation.replica.sessions, workstation.taxonomy, reviewer_id=me,
                    client_id=workstation.client_id, clock=clock,
                    draft=DecisionDraft(case.id, policy.code, "no_violation",
                                        "Nothing here breaks the policy."))
    report = workstation.synchronise()
    assert report.pushed == 1
    with workstation.backend.sessions() as session:
        decision = session.scalar(select(Decision).where(Decision.case_id == case.id,
                                                         Decision.reviewer_id == me))
    assert decision is not None and decision.conflict is True
    assert decision.fencing_token == lease.fencing_token


def _first_new_case(workstation):
    with workstation.backend.sessions() as session:
        queues = select(Queue.id).where(Queue.team_code == "integrity")
        return session.scalars(select(Case.id).where(Case.status == "new",
                                                     Case.queue_id.in_(queues))).first()


def test_concurrent_processes_never_receive_the_same_case(workstation):
    """Four real processes call get-next until the queue is empty."""
    with workstation.backend.writing() as session:  # every language for the admin (English)
        session.execute(update(Queue).values(language_routing=False))
    with workstation.backend.sessions() as session:
        open_ids = {str(i) for i in session.scalars(select(Case.id).where(Case.status == "new"))}
    url = sqlite_url(workstation.paths.backend)
    admin = str(demo_reviewer_id("admin"))  # sees every queue
    workers = [
        subprocess.Popen([sys.executable, "-m", "tests.helpers.lease_worker", url, admin],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    claimed: list[str] = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        claimed.extend(line for line in out.splitlines() if line)
    assert len(claimed) == len(set(claimed)), "a case was leased twice"
    assert set(claimed) == open_ids, "a case was lost"
    with workstation.backend.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)
                              .where(Case.status == "new")) == 0


def test_expired_leases_return_to_the_queue_at_the_next_sync(workstation, clock):
    lease = lease_next_case(workstation.backend, AMARA, clock)
    workstation.synchronise()
    assert workstation.case(lease.case_id).status == "leased"
    clock.advance(timedelta(minutes=15, seconds=1))
    report = workstation.synchronise()
    assert report.expired_leases == 1
    case = workstation.case(lease.case_id)
    assert case.status == "new" and case.lease_holder_id is None
