"""Every action against every shipped policy: allowed ones record, others are explained."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from reviewer.enforcement.decisions import (
    MIN_SEVERE_RATIONALE_CHARS,
    DecisionDraft,
    needs_second_review,
    record_decision,
    validate_decision,
)
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.store.models import Case, Decision, OutboxEntry
from reviewer.vocabulary import Action, CaseStatus

SHIPPED = load_taxonomy()
PAIRS = [(policy.code, action.value) for policy in SHIPPED.policies() for action in Action]
LONG_RATIONALE = "The content matches every element of the policy definition, in full."


def _case(surface: str) -> Case:
    reported = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
    return Case(id=uuid.uuid4(), external_ref="RPT-T", queue_id=uuid.uuid4(), surface=surface,
                channel="user_report", policy_area="hate_speech", reported_at=reported,
                due_at=reported + timedelta(hours=4), severity=3, reach=10, language="en",
                region="DE", status=CaseStatus.NEW.value, fencing_token=0)


@pytest.mark.parametrize(("policy_code", "action"), PAIRS)
def test_every_action_is_checked_against_the_policy(policy_code, action):
    policy = SHIPPED.policy(policy_code)
    case = _case(policy.surfaces[0].value)
    problems = validate_decision(SHIPPED, case, DecisionDraft(case.id, policy_code, action,
                                                              LONG_RATIONALE))
    if Action(action) in policy.actions:
        assert problems == {}
    else:
        assert problems == {"action": f"{Action(action).label} is not allowed under "
                                      f"{policy_code}"}


@pytest.mark.parametrize(("policy_code", "action"),
                         [(p, a) for p, a in PAIRS if Action(a) in SHIPPED.policy(p).actions])
def test_severe_actions_need_the_longer_rationale(policy_code, action):
    policy = SHIPPED.policy(policy_code)
    case = _case(policy.surfaces[0].value)
    short = "x" * (MIN_SEVERE_RATIONALE_CHARS - 1)
    problems = validate_decision(SHIPPED, case, DecisionDraft(case.id, policy_code, action,
                                                              short))
    if needs_second_review(SHIPPED, policy_code, action):
        assert "severe action" in problems["rationale"]
    else:
        assert problems == {}


def test_severe_actions_of_the_taxonomy_always_need_a_second_reviewer():
    for policy in SHIPPED.policies():
        for action in SHIPPED.severe_actions:
            if action in policy.actions:
                assert needs_second_review(SHIPPED, policy.code, action.value), policy.code
    assert not needs_second_review(SHIPPED, "HS-4", "remove")
    assert needs_second_review(SHIPPED, "CS-1", "remove")


@pytest.mark.demo(cases=5)
def test_every_allowed_action_records_with_its_four_eyes_flag(workstation, clock):
    """Each allowed (policy, action) pair is recorded in the replica, and the decision and
    its outbox mutation say whether it waits for a second reviewer."""
    with workstation.replica.sessions() as session:
        template = session.scalars(select(Case)).first()
    expected = {}
    for index, (code, action) in enumerate(
            (p, a) for p, a in PAIRS if Action(a) in SHIPPED.policy(p).actions):
        case_id = uuid.uuid4()
        with workstation.replica.sessions.begin() as session:
            session.add(Case(
                id=case_id, external_ref=f"RPT-LOCAL-{index}", queue_id=template.queue_id,
                surface=SHIPPED.policy(code).surfaces[0].value, channel="user_report",
                policy_area=template.policy_area, reported_at=template.reported_at,
                due_at=template.due_at, severity=3, language="en", region="DE",
                status="new"))
        decision = record_decision(
            workstation.replica.sessions, workstation.taxonomy,
            reviewer_id=workstation.reviewer_id, client_id=workstation.client_id,
            draft=DecisionDraft(case_id, code, action, LONG_RATIONALE), clock=clock)
        expected[decision.id] = needs_second_review(SHIPPED, code, action)
    assert any(expected.values()) and not all(expected.values())
    with workstation.replica.sessions() as session:
        for decision_id, flag in expected.items():
            assert session.get(Decision, decision_id).requires_second_review is flag
            entry = session.scalar(select(OutboxEntry).where(
                OutboxEntry.entity_id == decision_id))
            assert entry.payload["requires_second_review"] is flag
