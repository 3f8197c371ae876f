"""The audit desk: an auditor's samples, blind reviews and verdicts, without a window."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reviewer.qa.sampling import SamplingPolicy
from reviewer.qa.store import QaRefused

RATIONALE = "Read in full; the content matches this policy's definition."


pytestmark = pytest.mark.demo(cases=240)  # the reviewer's: enough decisions to sample


def test_an_auditor_draws_reviews_blind_then_gives_a_verdict(auditor_ws, clock):
    desk = auditor_ws.audit
    assert desk.work().to_review == [] and desk.agreement_since(clock.now()).n == 0
    drawn, sync_problem = auditor_ws.draw_sample(clock.now() - timedelta(days=30), 0.2, 7)
    assert sync_problem is None and drawn.stored > 0 and drawn.seed == 7
    work = desk.work()
    assert len(work.to_review) == drawn.stored and work.verdicts_due == []
    first = work.to_review[0]
    case = auditor_ws.case(first.case_id)
    policy = next(iter(auditor_ws.taxonomy.policies_for_surface(case.surface)))
    assert desk.review_for(first.sample_id) is None
    review = desk.record_blind(first.sample_id, policy_code=policy.code,
                               action=policy.actions[0].value, rationale=RATIONALE)
    assert desk.review_for(first.sample_id).id == review.id
    original = desk.original_of(review)
    assert original is not None and original.reviewer_name
    assert first.sample_id not in {s.sample_id for s in desk.work().to_review}
    assert first.sample_id in {s.sample_id for s in desk.work().verdicts_due}
    with pytest.raises(QaRefused, match="reason"):
        desk.record_verdict(review.id, agrees=False, reason_category=None, feedback="")
    desk.record_verdict(review.id, agrees=False, reason_category="missed_context",
                        feedback="Look at the caption.")
    assert first.sample_id not in {s.sample_id for s in desk.work().verdicts_due}
    assert desk.agreement_since(clock.now() - timedelta(days=30)).n == 1  # decided since
    report = auditor_ws.synchronise()
    assert report.rejected == 0 and report.pending == 0


def test_drawing_here_keeps_how_it_was_drawn(auditor_ws, clock):
    stored = auditor_ws.audit.draw_here(clock.now() - timedelta(days=30),
                                        SamplingPolicy(base_rate=0.1), seed=11)
    assert stored.sample.seed == 11 and stored.stored == len(auditor_ws.audit.work().to_review)
