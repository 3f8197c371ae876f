"""Four eyes: severe actions wait for a second reviewer with the right role, never the author."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from reviewer.demo.seed import demo_reviewer_id
from reviewer.enforcement.decisions import (
    DecisionDraft,
    ReviewState,
    SecondReviewRefused,
    may_second_review,
    pending_second_reviews,
    record_decision,
    record_second_review,
    review_state,
    standing_review,
)
from reviewer.store.models import AppliedMutation, Case, OutboxEntry, SecondReview
from reviewer.sync.appliers import Mutation, apply_mutations
from reviewer.vocabulary import CaseStatus
from tests.helpers.workstations import Desk

AMARA, JONAS, MEI, SOFIA, ADMIN = (demo_reviewer_id(name) for name in
                                   ("amara", "jonas", "mei", "sofia", "admin"))
SEVERE_RATIONALE = ("The account posts the same phishing link in every group it joins, "
                    "three earlier removals.")


@pytest.fixture
def lead_desk(tmp_path, workstation, clock):
    other = Desk(tmp_path / "lead-replica.sqlite", workstation.backend, clock, "sofia")
    yield other
    other.close()


def _severe_decision(workstation, clock, author=None):
    with workstation.replica.sessions() as session:
        case = session.scalars(select(Case).where(Case.status == CaseStatus.NEW.value)
                               .order_by(Case.external_ref)).first()
    policy = next(p for p in workstation.taxonomy.policies_for_surface(case.surface)
                  if "disable_account" in p.actions)
    return record_decision(
        workstation.replica.sessions, workstation.taxonomy,
        reviewer_id=author or workstation.reviewer_id, client_id=workstation.client_id,
        draft=DecisionDraft(case.id, policy.code, "disable_account", SEVERE_RATIONALE),
        clock=clock)


def _review(desk, clock, decision, reviewer_id, approve=True, note=""):
    return record_second_review(desk.replica.sessions, decision_id=decision.id,
                                reviewer_id=reviewer_id, client_id=desk.client_id,
                                approve=approve, note=note, clock=clock)


def test_a_severe_action_is_recorded_pending_a_second_reviewer(workstation, clock):
    decision = _severe_decision(workstation, clock)
    assert decision.requires_second_review
    with workstation.replica.sessions() as session:
        assert review_state(session, decision.id) is ReviewState.PENDING
        assert [d.id for d in pending_second_reviews(session, SOFIA)] == [decision.id]
        assert pending_second_reviews(session, workstation.reviewer_id) == []  # own, no role
        assert pending_second_reviews(session, JONAS) == []


@pytest.mark.parametrize("who", [SOFIA, ADMIN, AMARA], ids=["lead", "admin", "second-level"])
def test_who_may_be_a_second_reviewer(workstation, who):
    with workstation.replica.sessions() as session:
        assert may_second_review(session, who)


@pytest.mark.parametrize("who", [JONAS, MEI], ids=["reviewer", "auditor"])
def test_the_wrong_role_is_refused(workstation, clock, who):
    decision = _severe_decision(workstation, clock)
    with pytest.raises(SecondReviewRefused, match="only a lead, an admin or a member"):
        _review(workstation, clock, decision, who)
    with workstation.replica.sessions() as session:
        assert review_state(session, decision.id) is ReviewState.PENDING


def test_nobody_approves_their_own_decision_not_even_a_lead(workstation, clock):
    decision = _severe_decision(workstation, clock, author=SOFIA)
    with pytest.raises(SecondReviewRefused, match="your own decision"):
        _review(workstation, clock, decision, SOFIA)
    with workstation.replica.sessions() as session:
        assert pending_second_reviews(session, SOFIA) == []
        assert [d.id for d in pending_second_reviews(session, ADMIN)] == [decision.id]


def test_an_action_without_four_eyes_cannot_be_approved(workstation, clock):
    with workstation.replica.sessions() as session:
        case = session.scalars(select(Case).where(Case.status == "new")).first()
    policy = next(p for p in workstation.taxonomy.policies_for_surface(case.surface)
                  if "no_violation" in p.actions)
    decision = record_decision(
        workstation.replica.sessions, workstation.taxonomy, reviewer_id=workstation.reviewer_id,
        client_id=workstation.client_id, clock=clock,
        draft=DecisionDraft(case.id, policy.code, "no_violation", "Not a violation at all."))
    with pytest.raises(SecondReviewRefused, match="does not need a second review"):
        _review(workstation, clock, decision, SOFIA)


def test_approval_on_another_workstation_is_pushed_and_applied_once(workstation, lead_desk,
                                                                    clock):
    decision = _severe_decision(workstation, clock)
    workstation.synchronise()
    lead_desk.sync.sync_once()  # the lead's replica now holds the pending decision
    clock.advance(600)
    review = _review(lead_desk, clock, decision, SOFIA)
    report = lead_desk.sync.sync_once()
    assert (report.pushed, report.rejected) == (1, 0)
    with workstation.backend.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SecondReview)) == 1
        assert review_state(session, decision.id) is ReviewState.APPROVED
    # A replay of the same mutation has no second effect.
    with lead_desk.replica.sessions() as session:
        entry = session.scalar(select(OutboxEntry).where(OutboxEntry.entity_id == review.id))
        replay = Mutation(entry.mutation_id, entry.client_id, entry.seq, entry.kind,
                          entry.payload)
    with workstation.backend.sessions.begin() as session:
        (result,) = apply_mutations(session, [replay])
    assert result.outcome == "applied"
    with workstation.backend.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SecondReview)) == 1
        assert session.scalar(select(func.count()).select_from(AppliedMutation).where(
            AppliedMutation.kind == "second_review")) == 1
    # The author's workstation learns of the approval.
    workstation.synchronise()
    with workstation.replica.sessions() as session:
        assert review_state(session, decision.id) is ReviewState.APPROVED
        assert pending_second_reviews(session, ADMIN) == []


def test_a_second_approval_of_the_same_decision_is_rejected_by_the_backend(
        workstation, lead_desk, clock, tmp_path):
    decision = _severe_decision(workstation, clock)
    workstation.synchronise()
    lead_desk.sync.sync_once()
    admin_desk = Desk(tmp_path / "admin-replica.sqlite", workstation.backend, clock, "admin")
    _review(lead_desk, clock, decision, SOFIA)        # the lead, on their workstation
    _review(admin_desk, clock, decision, ADMIN)       # the admin, at the same time elsewhere
    assert lead_desk.sync.sync_once().pushed == 1
    report = admin_desk.sync.sync_once()
    assert report.rejected == 1
    with admin_desk.replica.sessions() as session:
        rejected = session.scalar(select(OutboxEntry).where(OutboxEntry.state == "rejected"))
        assert "already been approved" in rejected.last_error
    with workstation.backend.sessions() as session:
        reviews = session.scalars(select(SecondReview)).all()
        assert [r.reviewer_id for r in reviews] == [SOFIA]
    # The admin's refused verdict is kept locally, but the lead's is the one that counts.
    with admin_desk.replica.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SecondReview)) == 2
        assert standing_review(session, decision.id).reviewer_id == SOFIA
        assert review_state(session, decision.id) is ReviewState.APPROVED


def test_the_backend_refuses_a_forged_self_approval(workstation, clock):
    decision = _severe_decision(workstation, clock)
    workstation.synchronise()
    # A tampered client skips the local checks and pushes the author's own approval.
    with workstation.backend.sessions.begin() as session:
        (result,) = apply_mutations(session, [Mutation(
            uuid.uuid4(), "tampered-client", 1, "second_review",
            {"id": str(uuid.uuid4()), "decision_id": str(decision.id),
             "case_id": str(decision.case_id), "reviewer_id": str(workstation.reviewer_id),
             "verdict": "approved", "note": "", "created_at": clock.now().isoformat()})])
    assert result.outcome == "rejected"
    assert "your own decision" in result.reason
    with workstation.backend.sessions() as session:
        assert review_state(session, decision.id) is ReviewState.PENDING


def test_a_rejection_needs_a_reason_and_reopens_the_case(workstation, lead_desk, clock):
    decision = _severe_decision(workstation, clock)
    workstation.synchronise()
    lead_desk.sync.sync_once()
    with pytest.raises(SecondReviewRefused, match="say why"):
        _review(lead_desk, clock, decision, SOFIA, approve=False, note="no")
    _review(lead_desk, clock, decision, SOFIA, approve=False,
            note="Only one removal on record; a warning is enough.")
    assert lead_desk.sync.sync_once().pushed == 1
    workstation.synchronise()
    with workstation.backend.sessions() as session:
        assert session.get(Case, decision.case_id).status == CaseStatus.NEW.value
    with workstation.replica.sessions() as session:
        assert review_state(session, decision.id) is ReviewState.REJECTED
        assert session.get(Case, decision.case_id).status == CaseStatus.NEW.value
