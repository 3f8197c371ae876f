"""The enforcement desk: what the enforcement panel reads and records, without a window."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from reviewer.demo.seed import demo_reviewer_id
from reviewer.enforcement.decisions import DecisionDraft, DecisionRejected, WithdrawRefused
from reviewer.store.database import sqlite_url
from reviewer.store.models import Case, Escalation
from reviewer.vocabulary import CaseStatus
from reviewer.workstation import Workstation

RATIONALE = "Read in full: the post sells counterfeit tickets with a payment link."
SEVERE = ("The account posts the same phishing link in every group it joins, three earlier "
          "removals.")


def _new_case(workstation, *actions: str):
    actions = actions or ("no_violation",)
    with workstation.replica.sessions() as session:
        cases = session.scalars(select(Case).where(Case.status == CaseStatus.NEW.value)
                                .order_by(Case.external_ref)).all()
    for case in cases:
        policy = next((p for p in workstation.taxonomy.policies_for_surface(case.surface)
                       if all(a in p.actions for a in actions)), None)
        if policy is not None:
            return case, policy
    raise AssertionError(f"no open case allows {actions}")


def test_a_decision_just_recorded_offers_its_undo_and_can_be_withdrawn(workstation, clock):
    desk = workstation.enforcement
    case, policy = _new_case(workstation)
    assert desk.last_recorded(case.id) is None
    clock.advance(60)  # later than any demo decision: this one is the last used
    desk.decide(DecisionDraft(case.id, policy.code, "no_violation", RATIONALE))
    recorded = desk.last_recorded(case.id)
    assert recorded.case_ref == case.external_ref
    assert recorded.decision.policy_code == policy.code
    assert not recorded.pending_second_review
    assert recorded.withdraw_deadline is not None and recorded.withdraw_deadline > clock.now()
    shown = desk.for_case(workstation.case(case.id), limit=9)
    assert shown.quick.last_used == policy.code
    assert shown.standing is not None and shown.standing_summary.startswith(
        "Decided: No violation under") and "by you" in shown.standing_summary
    desk.withdraw(recorded.decision.id)
    assert workstation.case(case.id).status == CaseStatus.NEW.value
    with pytest.raises(WithdrawRefused):
        desk.withdraw(recorded.decision.id)


def test_a_rejected_decision_names_its_problems_and_records_nothing(workstation):
    desk = workstation.enforcement
    case, policy = _new_case(workstation)
    with pytest.raises(DecisionRejected) as rejected:
        desk.decide(DecisionDraft(case.id, policy.code, "no_violation", "short"))
    assert "rationale" in rejected.value.problems
    assert desk.last_recorded(case.id) is None
    assert workstation.unsent()[0] == 0


def test_a_correction_replaces_the_standing_decision(workstation):
    desk = workstation.enforcement
    case, policy = _new_case(workstation, "no_violation", "remove")
    first = desk.decide(DecisionDraft(case.id, policy.code, "no_violation", RATIONALE))
    decided = workstation.case(case.id)
    standing, summary = desk.correctable(decided)
    assert standing.id == first.id and "No violation" in summary
    assert desk.correctable(_new_case(workstation)[0]) is None  # an open case has none
    corrected = desk.correct(first.id, DecisionDraft(case.id, policy.code, "remove",
                                                     RATIONALE))
    assert corrected.decision.supersedes_id == first.id
    assert desk.standing(case.id).id == corrected.decision.id


def test_an_escalation_leaves_the_queue_and_joins_the_thread(workstation):
    desk = workstation.enforcement
    case, _policy = _new_case(workstation)
    desk.escalate(case.id, to_team="legal", urgency="routine",
                  reason="A court order from the regional court names this post.")
    assert workstation.case(case.id).status == CaseStatus.ESCALATED.value
    thread = desk.thread(case.id)
    assert any("court order" in entry.text for entry in thread)
    with workstation.replica.sessions() as session:
        assert session.scalar(select(Escalation.to_team).where(Escalation.case_id == case.id)) \
            == "legal"
    assert workstation.unsent()[0] == 1


def test_severe_decisions_wait_for_a_lead_who_sees_who_made_them(workstation, clock):
    desk = workstation.enforcement
    case, policy = _new_case(workstation, "disable_account")
    decision = desk.decide(DecisionDraft(case.id, policy.code, "disable_account", SEVERE))
    assert desk.last_recorded(case.id).pending_second_review
    assert desk.second_reviews_waiting() is None  # a reviewer reviews none
    assert not desk.may_second_review()
    [mine] = [row for row in desk.pending_reviews() if row.decision_id == decision.id]
    assert mine.mine and mine.case_ref == case.external_ref
    assert mine.action_label == "Disable account"
    workstation.synchronise()
    lead = Workstation.open(workstation.paths.root / "sofia", clock=clock, username="sofia",
                            backend_url=sqlite_url(workstation.paths.backend),
                            secrets=workstation.secrets)
    try:
        lead.synchronise()
        assert lead.enforcement.may_second_review()
        assert lead.enforcement.second_reviews_waiting() >= 1
        [row] = [r for r in lead.enforcement.pending_reviews() if r.decision_id == decision.id]
        assert not row.mine and row.decided_by == "Demo Reviewer"
        review = lead.enforcement.second_review(decision.id, approve=True, note="")
        assert review.case_id == case.id
        assert decision.id not in {r.decision_id for r in lead.enforcement.pending_reviews()}
        assert lead.reviewer_id == demo_reviewer_id("sofia")
    finally:
        lead.close()
