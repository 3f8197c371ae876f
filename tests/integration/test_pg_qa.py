"""Quality audits on a real PostgreSQL backend: samples pulled into an auditor's replica, a
blind re-review made offline and pushed later exactly once, golden answers scored as the
decision arrives, and the QA report read from the backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from reviewer.demo.seed import demo_reviewer_id
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.qa.metrics import qa_report_rows
from reviewer.qa.sampling import SamplingPolicy
from reviewer.qa.store import (
    draw_sample,
    mark_golden,
    pending_samples,
    record_blind_review,
    record_verdict,
)
from reviewer.store.changes import next_change_version
from reviewer.store.database import BackendUnavailable, Database
from reviewer.store.models import (
    AppliedMutation,
    Case,
    OutboxEntry,
    QaGoldenScore,
    QaReview,
    QaSample,
)
from reviewer.sync.appliers import Mutation, apply_mutations
from tests.helpers.pg_workstations import count, decide, open_workstation, seed_backend

MEI = demo_reviewer_id("mei")
RATIONALE = "Seen in full: it matches this policy's definition."


@pytest.fixture(autouse=True)
def _no_demo_audit_week(monkeypatch):
    """These tests count what they draw themselves: the seeded demo has no auditor's week
    here (reviewer/demo/audit_week.py, tested in tests/unit/demo)."""
    monkeypatch.setattr("reviewer.demo.seed.seed_audit_week", lambda *args, **kwargs: None)


def _draw(url, clock, seed=9, rate=0.5) -> int:
    backend = Database.open(url, migrate=False)
    try:
        with backend.writing() as session:
            stored = draw_sample(session, load_taxonomy(), auditor_id=MEI,
                                 drawn_by=demo_reviewer_id("sofia"),
                                 since=clock.now() - timedelta(days=30), clock=clock, seed=seed,
                                 policy=SamplingPolicy(base_rate=rate),
                                 version=next_change_version(session))
        return stored.stored
    finally:
        backend.dispose()


def test_an_offline_blind_review_reaches_postgresql_once(pg_url, tmp_path, clock):
    seed_backend(pg_url, clock, cases=80)
    stored = _draw(pg_url, clock)
    assert stored > 3
    mei = open_workstation(tmp_path / "mei", pg_url, clock, username="mei")
    try:
        mei.synchronise()
        assert count(mei.replica, QaSample) == stored
        with mei.replica.sessions() as session:
            sample = pending_samples(session, MEI)[0]
    finally:
        mei.close()

    # On the road: the backend cannot be reached, the work is kept in the outbox.
    away = pg_url.set(port=9, host="127.0.0.1")
    offline = open_workstation(tmp_path / "mei", away, clock, username="mei")
    try:
        case = offline.case(sample.case_id)
        policy = offline.taxonomy.policies_for_surface(case.surface)[0]
        review = record_blind_review(
            offline.replica.sessions, offline.taxonomy, sample_id=sample.sample_id,
            auditor_id=MEI, client_id=offline.client_id, policy_code=policy.code,
            action=policy.actions[0].value, rationale=RATIONALE, clock=clock)
        record_verdict(offline.replica.sessions, review_id=review.id, auditor_id=MEI,
                       client_id=offline.client_id, agrees=True, reason_category=None,
                       feedback="Clear and complete.", clock=clock)
        with pytest.raises(BackendUnavailable):
            offline.synchronise()
        assert count(offline.replica, OutboxEntry, OutboxEntry.state == "pending") == 2
    finally:
        offline.close()

    back = open_workstation(tmp_path / "mei", pg_url, clock, username="mei")
    try:
        report = back.synchronise()
        assert (report.pushed, report.rejected, report.pending) == (2, 0, 0)
        with back.replica.sessions() as session:
            entries = list(session.scalars(select(OutboxEntry).order_by(OutboxEntry.seq)))
        # The answer to the push was lost: the replay changes nothing.
        with back.backend.writing() as remote:
            results = apply_mutations(remote, [
                Mutation(e.mutation_id, e.client_id, e.seq, e.kind, e.payload)
                for e in entries])
        assert {r.outcome for r in results} == {"applied"}
    finally:
        back.close()
    backend = Database.open(pg_url, migrate=False)
    try:
        assert count(backend, QaReview) == 1
        assert count(backend, AppliedMutation,
                     AppliedMutation.kind.in_(("qa_review", "qa_verdict"))) == 2
        with backend.sessions() as session:
            stored_review = session.get(QaReview, review.id)
            stored_sample = session.get(QaSample, sample.sample_id)
            rows = qa_report_rows(session, clock.now() - timedelta(days=30), None)
        assert (stored_review.agrees, stored_review.feedback) == (True, "Clear and complete.")
        assert stored_sample.status == "reviewed"
        assert {row.scope for row in rows} == {"reviewer", "team", "area"}
        assert all(row.n == 1 and row.too_small for row in rows)
    finally:
        backend.dispose()


def test_golden_answers_are_scored_on_postgresql_when_the_decision_syncs(pg_url, tmp_path,
                                                                         clock):
    seed_backend(pg_url, clock, cases=30)
    reviewer = open_workstation(tmp_path / "demo", pg_url, clock)
    try:
        reviewer.synchronise()
        with reviewer.replica.sessions() as session:
            case = session.scalars(select(Case).where(Case.status == "new")
                                   .order_by(Case.external_ref)).first()
        expected = next(p for p in reviewer.taxonomy.policies_for_surface(case.surface)
                        if "no_violation" in p.actions)
        with reviewer.backend.writing() as remote:
            mark_golden(remote, reviewer.taxonomy, case_id=case.id,
                        policy_code=expected.code, action="no_violation", auditor_id=MEI,
                        version=next_change_version(remote), now=clock.now())
        decision = decide(reviewer, case.id)  # the first policy allowing no_violation
        reviewer.synchronise()
        with reviewer.backend.sessions() as remote:
            score = remote.scalar(select(QaGoldenScore))
        assert (score.decision_id, score.match) == (decision.id, "exact")
        reviewer.synchronise()
        assert count(reviewer.replica, QaGoldenScore) == 1
    finally:
        reviewer.close()
