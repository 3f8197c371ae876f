"""Quality audits stored and synced: samples drawn and kept with how they were drawn, blind
re-reviews pushed exactly once, golden answers scored when they sync (SQLite backend)."""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from reviewer.demo.seed import demo_reviewer_id
from reviewer.enforcement.decisions import DecisionDraft, record_decision
from reviewer.qa.sampling import SamplingPolicy, redraw_audit_sample
from reviewer.qa.store import (
    BlindDecisionRejected,
    PendingSample,
    QaRefused,
    create_calibration,
    decision_records,
    draw_sample,
    insert_golden_copy,
    mark_golden,
    original_for_review,
    pending_samples,
    record_blind_review,
    record_verdict,
)
from reviewer.store.changes import next_change_version
from reviewer.store.models import (
    AppliedMutation,
    Case,
    Decision,
    OutboxEntry,
    QaGolden,
    QaGoldenScore,
    QaReview,
    QaSample,
)
from reviewer.sync.appliers import Mutation, apply_mutations

MEI = demo_reviewer_id("mei")
SOFIA = demo_reviewer_id("sofia")
AMARA = demo_reviewer_id("amara")
RATIONALE = "Read in full; the content matches this policy's definition."


pytestmark = pytest.mark.demo(cases=240)  # the reviewer's: enough decisions to sample


def _draw_on_backend(workstation, clock, **options):
    with workstation.backend.writing() as session:
        version = next_change_version(session)
        return draw_sample(session, workstation.taxonomy, auditor_id=MEI, drawn_by=SOFIA,
                           since=clock.now() - timedelta(days=30), clock=clock,
                           version=version, **options)


def _count(database, model, *where):
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_sample_keeps_how_it_was_drawn_and_redraws_from_its_seed(reviewer_ws, clock):
    stored = _draw_on_backend(reviewer_ws, clock, seed=42,
                              policy=SamplingPolicy(base_rate=0.3, new_reviewer_rate=0.0))
    assert stored.stored > 5
    with reviewer_ws.backend.sessions() as session:
        rows = list(session.scalars(select(QaSample)))
        records = decision_records(session, reviewer_ws.taxonomy,
                                   since=clock.now() - timedelta(days=30))
    assert {row.seed for row in rows} == {42}
    assert {row.drawn_by for row in rows} == {SOFIA} and {r.auditor_id for r in rows} == {MEI}
    assert all(row.draw < row.rate for row in rows)
    assert {row.method for row in rows} <= {"random", "severe"}
    again = redraw_audit_sample(records, seed=42, clock=clock,
                                policy=SamplingPolicy(base_rate=0.3, new_reviewer_rate=0.0))
    assert {row.decision_id for row in rows} == set(again.decision_ids)
    # Drawing the same seed again stores nothing twice.
    second = _draw_on_backend(reviewer_ws, clock, seed=42,
                              policy=SamplingPolicy(base_rate=0.3, new_reviewer_rate=0.0))
    assert second.stored == 0 and second.already_sampled == stored.stored
    assert _count(reviewer_ws.backend, QaSample) == stored.stored


def test_only_auditors_leads_and_admins_draw_samples(reviewer_ws, clock):
    with reviewer_ws.backend.writing() as session, pytest.raises(QaRefused, match="auditor"):
        draw_sample(session, reviewer_ws.taxonomy, auditor_id=MEI, drawn_by=AMARA,
                    since=clock.now() - timedelta(days=30), clock=clock, seed=1, version=1)


def test_targeted_decisions_are_always_drawn(reviewer_ws, clock):
    with reviewer_ws.backend.sessions() as session:
        target = session.scalars(select(Decision.id).where(
            Decision.reviewer_id != MEI).order_by(Decision.id)).first()
    stored = _draw_on_backend(reviewer_ws, clock, seed=3, targeted_ids=[target],
                              policy=SamplingPolicy(base_rate=0.0, new_reviewer_rate=0.0,
                                                    severe_multiplier=1.0))
    assert stored.stored == 1
    with reviewer_ws.backend.sessions() as session:
        row = session.scalar(select(QaSample))
    assert (row.decision_id, row.method) == (target, "targeted")


def test_blind_review_reaches_the_backend_once_and_hides_the_original(
        reviewer_ws, auditor_ws, clock):
    _draw_on_backend(reviewer_ws, clock, seed=7, policy=SamplingPolicy(base_rate=0.2))
    auditor_ws.synchronise()
    with auditor_ws.replica.sessions() as session:
        pending = pending_samples(session, MEI)
    assert pending
    # What the list carries says nothing of the decision or who made it.
    assert {f.name for f in fields(PendingSample)}.isdisjoint(
        {"reviewer_id", "decision_id", "policy_code", "action", "reviewer_name"})
    first = pending[0]
    case = auditor_ws.case(first.case_id)
    policy = next(p for p in auditor_ws.taxonomy.policies_for_surface(case.surface))
    with pytest.raises(BlindDecisionRejected) as rejected:
        record_blind_review(auditor_ws.replica.sessions, auditor_ws.taxonomy,
                            sample_id=first.sample_id, auditor_id=MEI,
                            client_id=auditor_ws.client_id, policy_code=policy.code,
                            action=policy.actions[0].value, rationale="short", clock=clock)
    assert "rationale" in rejected.value.problems
    review = record_blind_review(
        auditor_ws.replica.sessions, auditor_ws.taxonomy, sample_id=first.sample_id,
        auditor_id=MEI, client_id=auditor_ws.client_id, policy_code=policy.code,
        action=policy.actions[0].value, rationale=RATIONALE, clock=clock)
    with auditor_ws.replica.sessions() as session:
        assert first.sample_id not in {p.sample_id for p in pending_samples(session, MEI)}
        original = original_for_review(session, session.get(QaReview, review.id))
    assert original is not None and original.reviewer_name
    with pytest.raises(QaRefused, match="reason"):
        record_verdict(auditor_ws.replica.sessions, review_id=review.id, auditor_id=MEI,
                       client_id=auditor_ws.client_id, agrees=False, reason_category=None,
                       feedback="", clock=clock)
    record_verdict(auditor_ws.replica.sessions, review_id=review.id, auditor_id=MEI,
                   client_id=auditor_ws.client_id, agrees=False,
                   reason_category="missed_context", feedback="Look at the caption.",
                   clock=clock)
    with pytest.raises(QaRefused, match="already"):
        record_verdict(auditor_ws.replica.sessions, review_id=review.id, auditor_id=MEI,
                       client_id=auditor_ws.client_id, agrees=True, reason_category=None,
                       feedback="", clock=clock)
    report = auditor_ws.synchronise()
    assert report.rejected == 0 and report.pending == 0
    with reviewer_ws.backend.sessions() as session:
        stored = session.get(QaReview, review.id)
        sample = session.get(QaSample, first.sample_id)
    assert (stored.agrees, stored.reason_category, stored.feedback) == (
        False, "missed_context", "Look at the caption.")
    assert sample.status == "reviewed" and stored.reviewer_id == sample.reviewer_id

    # Replaying every QA mutation (the answers were lost) has no second effect.
    with auditor_ws.replica.sessions() as session:
        entries = list(session.scalars(select(OutboxEntry).where(
            OutboxEntry.kind.in_(("qa_review", "qa_verdict"))).order_by(OutboxEntry.seq)))
    replays = [Mutation(e.mutation_id, e.client_id, e.seq, e.kind, e.payload) for e in entries]
    with reviewer_ws.backend.writing() as session:
        results = apply_mutations(session, replays)
    assert [r.outcome for r in results] == ["applied", "applied"]
    assert _count(reviewer_ws.backend, QaReview) == 1
    assert _count(reviewer_ws.backend, AppliedMutation,
                  AppliedMutation.kind.in_(("qa_review", "qa_verdict"))) == 2
    # A second blind review of the same sample under a new mutation id is refused.
    forged = Mutation(uuid.uuid4(), entries[0].client_id, 10_000, "qa_review",
                      {**entries[0].payload, "id": str(uuid.uuid4())})
    with reviewer_ws.backend.writing() as session:
        (result,) = apply_mutations(session, [forged])
    assert result.outcome == "rejected" and "already reviewed" in result.reason
    # Someone who is not the sample's auditor cannot review it.
    reviewer_ws.synchronise()
    with pytest.raises(QaRefused, match="someone else"):
        record_blind_review(
            reviewer_ws.replica.sessions, reviewer_ws.taxonomy, sample_id=pending[1].sample_id,
            auditor_id=reviewer_ws.reviewer_id, client_id=reviewer_ws.client_id,
            policy_code=policy.code, action=policy.actions[0].value, rationale=RATIONALE,
            clock=clock)


def test_a_sample_drawn_on_a_replica_travels_as_one_mutation(reviewer_ws, auditor_ws, clock):
    with auditor_ws.replica.writing() as session:
        stored = draw_sample(session, auditor_ws.taxonomy, auditor_id=MEI, drawn_by=MEI,
                             since=clock.now() - timedelta(days=30), clock=clock, seed=11,
                             policy=SamplingPolicy(base_rate=0.25),
                             client_id=auditor_ws.client_id)
    assert stored.stored > 0
    assert _count(auditor_ws.replica, OutboxEntry, OutboxEntry.kind == "qa_samples") == 1
    report = auditor_ws.synchronise()
    assert report.rejected == 0
    assert _count(reviewer_ws.backend, QaSample) == stored.stored
    with reviewer_ws.backend.sessions() as session:
        assert set(session.scalars(select(QaSample.id))) == set(stored.sample_ids)
        # The same seed over the backend's decisions gives the same sample.
        again = draw_sample(session, reviewer_ws.taxonomy, auditor_id=SOFIA, drawn_by=SOFIA,
                            since=clock.now() - timedelta(days=30), clock=clock, seed=11,
                            policy=SamplingPolicy(base_rate=0.25), version=99)
        session.rollback()
    assert set(again.sample.decision_ids) == set(stored.sample.decision_ids)


def test_golden_answers_are_scored_when_the_decision_syncs(reviewer_ws, clock):
    with reviewer_ws.replica.sessions() as session:
        case = session.scalars(select(Case).where(Case.status == "new")
                               .order_by(Case.external_ref)).first()
    policy = reviewer_ws.taxonomy.policies_for_surface(case.surface)[0]
    expected = policy.actions[0].value
    with reviewer_ws.backend.writing() as session:
        mark_golden(session, reviewer_ws.taxonomy, case_id=case.id, policy_code=policy.code,
                    action=expected, auditor_id=MEI, version=next_change_version(session),
                    now=clock.now())
    reviewer_ws.synchronise()
    decision = record_decision(
        reviewer_ws.replica.sessions, reviewer_ws.taxonomy,
        reviewer_id=reviewer_ws.reviewer_id, client_id=reviewer_ws.client_id,
        draft=DecisionDraft(case.id, policy.code, expected, RATIONALE), clock=clock)
    assert _count(reviewer_ws.backend, QaGoldenScore) == 0
    reviewer_ws.synchronise()
    with reviewer_ws.backend.sessions() as session:
        score = session.scalar(select(QaGoldenScore))
    assert (score.decision_id, score.reviewer_id, score.match) == (
        decision.id, reviewer_ws.reviewer_id, "exact")
    # The score comes back to the reviewer's replica with the next pull.
    reviewer_ws.synchronise()
    assert _count(reviewer_ws.replica, QaGoldenScore) == 1


def test_a_golden_copy_looks_like_any_new_case(reviewer_ws, clock):
    import random

    with reviewer_ws.backend.sessions() as session:
        source = session.scalars(select(Case).order_by(Case.external_ref)).first()
    policy = reviewer_ws.taxonomy.policies_for_surface(source.surface)[0]
    with reviewer_ws.backend.writing() as session:
        copy = insert_golden_copy(
            session, reviewer_ws.taxonomy, source_case_id=source.id, policy_code=policy.code,
            action=policy.actions[0].value, auditor_id=MEI,
            version=next_change_version(session), now=clock.now(), rng=random.Random(5))
    with reviewer_ws.backend.sessions() as session:
        stored = session.get(Case, copy.id)
        golden = session.get(QaGolden, copy.id)
    assert stored.status == "new" and stored.external_ref.startswith("RPT-")
    assert stored.reported_text == source.reported_text and stored.id != source.id
    assert golden.policy_code == policy.code


def test_a_calibration_session_gives_each_member_every_case(reviewer_ws, clock):
    with reviewer_ws.backend.sessions() as session:
        cases = list(session.scalars(select(Case.id).order_by(Case.external_ref).limit(4)))
    members = [demo_reviewer_id(name) for name in ("amara", "jonas", "lucia")]
    with reviewer_ws.backend.writing() as session:
        calibration = create_calibration(session, name="November calibration",
                                         auditor_id=MEI, case_ids=cases, member_ids=members,
                                         version=next_change_version(session), now=clock.now())
    with reviewer_ws.backend.sessions() as session:
        for member in members:
            mine = pending_samples(session, member)
            assert {p.case_id for p in mine} == set(cases)
            assert {p.calibration for p in mine} == {"November calibration"}
    assert _count(reviewer_ws.backend, QaSample,
                  QaSample.calibration_id == calibration.id) == 12
    with reviewer_ws.backend.writing() as session, pytest.raises(QaRefused, match="two"):
        create_calibration(session, name="x", auditor_id=MEI, case_ids=cases,
                           member_ids=members[:1], version=1, now=clock.now())
