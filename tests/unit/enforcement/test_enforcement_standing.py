"""The decision that stands on a case, and the one "Undo" would take back."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from reviewer.demo.seed import demo_reviewer_id
from reviewer.enforcement.decisions import (
    DecisionDraft,
    correct_decision,
    latest_decision_by,
    record_decision,
    standing_decision,
)
from reviewer.store.models import Case
from reviewer.vocabulary import CaseStatus

RATIONALE = "The content matches the policy definition in every respect."


pytestmark = pytest.mark.demo(cases=12)


def test_a_correction_stands_and_the_latest_decision_is_the_reviewers_own(workstation, clock):
    with workstation.replica.sessions() as session:
        case = session.scalars(select(Case).where(Case.status == CaseStatus.NEW.value)
                               .order_by(Case.external_ref)).first()
        assert standing_decision(session, case.id) is None
    policy = workstation.taxonomy.policies_for_surface(case.surface)[0]
    clock.advance(60)
    first = record_decision(
        workstation.replica.sessions, workstation.taxonomy,
        reviewer_id=workstation.reviewer_id, client_id=workstation.client_id, clock=clock,
        draft=DecisionDraft(case.id, policy.code, "no_violation", RATIONALE))
    clock.advance(120)
    lead = demo_reviewer_id("sofia")
    correction = correct_decision(
        workstation.replica.sessions, workstation.taxonomy, reviewer_id=lead,
        client_id=workstation.client_id, supersedes_id=first.id, clock=clock,
        draft=DecisionDraft(case.id, policy.code, "remove", RATIONALE))
    with workstation.replica.sessions() as session:
        assert standing_decision(session, case.id).id == correction.id
        assert latest_decision_by(session, case.id, workstation.reviewer_id).id == first.id
        assert latest_decision_by(session, case.id, lead).id == correction.id
        assert latest_decision_by(session, case.id, demo_reviewer_id("amara")) is None
