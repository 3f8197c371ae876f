"""Recording enforcement decisions: validation against the taxonomy and the one transaction.

A decision is written with its outbox entry and the case's new status in a single local
transaction, so it is either wholly recorded or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reviewer.clock import Clock
from reviewer.models import Case, Decision
from reviewer.store import writing
from reviewer.sync.outbox import enqueue
from reviewer.taxonomy import Taxonomy
from reviewer.vocabulary import Action, CaseStatus

MIN_RATIONALE_CHARS = 10
MIN_SEVERE_RATIONALE_CHARS = 40
OPEN_STATUSES = (CaseStatus.NEW.value, CaseStatus.LEASED.value)


@dataclass(frozen=True)
class DecisionDraft:
    """What the reviewer filled in on the enforcement panel."""

    case_id: uuid.UUID
    policy_code: str
    action: str
    rationale: str


class DecisionRejected(ValueError):
    """The draft cannot be recorded; ``problems`` maps a field to what is wrong with it."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {text}" for field, text in problems.items()))


def validate_decision(
    taxonomy: Taxonomy,
    case: Case | None,
    draft: DecisionDraft,
    reviewer_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """Every problem with the draft, by field; empty when it can be recorded."""
    problems: dict[str, str] = {}
    if case is None:
        return {"case": "the case no longer exists in this workstation"}
    if case.status not in OPEN_STATUSES:
        problems["case"] = f"the case is already {case.status}"
    elif (
        case.status == CaseStatus.LEASED.value
        and reviewer_id is not None
        and case.lease_holder_id not in (None, reviewer_id)
        and (now is None or case.lease_expires_at is None or case.lease_expires_at > now)
    ):
        problems["case"] = "another reviewer holds the lease on this case; take another one"
    try:
        policy = taxonomy.policy(draft.policy_code)
    except KeyError:
        problems["policy"] = "choose a policy"
        policy = None
    if policy is not None and case.surface not in policy.surfaces:
        problems["policy"] = f"{policy.code} does not apply to this surface ({case.surface})"
    try:
        action = Action(draft.action)
    except ValueError:
        problems["action"] = "choose an action"
        action = None
    if policy is not None and action is not None and action not in policy.actions:
        problems["action"] = f"{action.label} is not allowed under {policy.code}"
    rationale = draft.rationale.strip()
    severe = action is not None and policy is not None and (
        action.value in taxonomy.severe_actions
        or taxonomy.requires_second_review(policy.code, action)
    )
    minimum = MIN_SEVERE_RATIONALE_CHARS if severe else MIN_RATIONALE_CHARS
    if len(rationale) < minimum:
        problems["rationale"] = (
            f"write a rationale of at least {minimum} characters"
            + (" for a severe action" if severe else "")
        )
    return problems


def record_decision(
    sessions: sessionmaker[Session],
    taxonomy: Taxonomy,
    *,
    reviewer_id: uuid.UUID,
    client_id: str,
    draft: DecisionDraft,
    clock: Clock,
) -> Decision:
    """Validate and record a decision with its outbox entry, or raise DecisionRejected."""
    with writing(sessions) as session:
        case = session.scalar(
            select(Case).where(Case.id == draft.case_id).with_for_update()
        )
        problems = validate_decision(taxonomy, case, draft, reviewer_id, clock.now())
        if problems:
            raise DecisionRejected(problems)
        assert case is not None
        now = clock.now()
        decision = Decision(
            id=uuid.uuid4(),
            case_id=case.id,
            reviewer_id=reviewer_id,
            policy_code=draft.policy_code,
            action=draft.action,
            rationale=draft.rationale.strip(),
            created_at=now,
            policy_version=taxonomy.version,
            fencing_token=case.fencing_token,
        )
        session.add(decision)
        case.status = CaseStatus.DECIDED.value
        case.updated_at = now
        enqueue(
            session,
            client_id=client_id,
            kind="decision",
            entity_id=decision.id,
            payload={
                "id": str(decision.id),
                "case_id": str(case.id),
                "reviewer_id": str(reviewer_id),
                "policy_code": decision.policy_code,
                "action": decision.action,
                "rationale": decision.rationale,
                "created_at": now.isoformat(),
                "policy_version": decision.policy_version,
                "fencing_token": decision.fencing_token,
            },
            now=now,
        )
        session.flush()
        session.expunge(decision)
    return decision
