"""Recording enforcement decisions: validation against the taxonomy and the one transaction.

A decision is written with its outbox entry, its audit-log entry and the case's new status
in a single local transaction, so it is either wholly recorded or not at all. Decisions are
never edited:

- **Undo.** For `UNDO_WINDOW` (30 s) after submitting, and only while its outbox entry is
  still pending (not yet sent), the reviewer who made a decision can withdraw it
  (`withdraw_decision`): the decision and its mutation are deleted in one local transaction
  and the case reopens. The withdrawal itself stays in the audit log.
- **Correction.** After that, a correction is a new decision that supersedes the old one
  (`correct_decision`; ``Decision.supersedes_id``). The old decision is kept unchanged.
- **Four eyes.** An action the taxonomy marks for a second review
  (`Taxonomy.requires_second_review`, which includes every severe action) is recorded with
  ``requires_second_review`` and takes effect only once a second reviewer approves it
  (`record_second_review`). A second reviewer is a lead or an admin, or a member of the
  second-level review team (team code `SECOND_REVIEW_TEAM`), and never the person who made
  the decision. The verdict is a row of its own (`SecondReview`), pushed like a decision and
  applied at most once on the backend, which checks the same rules again. A rejection
  reopens the case for a new decision.

The UI reads `review_state`, `pending_second_reviews`, `withdraw_deadline`,
`standing_decision`, `latest_decision_by` and `quick_policies` (the reviewer's most used and
last used policies, for the 1–9 keys).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from reviewer.clock import Clock
from reviewer.enforcement.escalation import SECOND_REVIEW_TEAM
from reviewer.policy.taxonomy import Policy, Taxonomy
from reviewer.security.audit import AuditKind, append_audit
from reviewer.store.database import writing
from reviewer.store.models import (
    Case,
    Decision,
    OutboxEntry,
    Reviewer,
    SecondReview,
    TeamMembership,
)
from reviewer.store.outbox import enqueue
from reviewer.vocabulary import Action, CaseStatus, Role

MIN_RATIONALE_CHARS = 10
MIN_SEVERE_RATIONALE_CHARS = 40
MIN_REJECTION_NOTE_CHARS = 10
OPEN_STATUSES = (CaseStatus.NEW.value, CaseStatus.LEASED.value)
UNDO_WINDOW = timedelta(seconds=30)
SEND_HOLD = UNDO_WINDOW + timedelta(seconds=5)
"""How long a new decision should stay unsent: the undo window, plus a margin so that no push
can race a withdrawal made in the window's last moment."""
SECOND_REVIEWER_ROLES = (Role.LEAD.value, Role.ADMIN.value)


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


class WithdrawRefused(ValueError):
    """The decision can no longer be withdrawn; the message says why and what to do."""


class SecondReviewRefused(ValueError):
    """The second review cannot be recorded; the message says why."""


class ReviewState(StrEnum):
    """Where a decision stands with respect to four-eyes review."""

    NONE = "none"  # the action needs no second reviewer
    PENDING = "pending_second_review"
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {
            "none": "No second review needed",
            "pending_second_review": "Waiting for a second reviewer",
            "approved": "Approved by a second reviewer",
            "rejected": "Rejected by a second reviewer",
        }[self.value]


def needs_second_review(taxonomy: Taxonomy, policy_code: str, action: str) -> bool:
    """Whether the action under the policy waits for a second reviewer before it applies."""
    try:
        return (Action(action) in taxonomy.severe_actions
                or taxonomy.requires_second_review(policy_code, action))
    except (KeyError, ValueError):
        return False


def validate_decision(
    taxonomy: Taxonomy,
    case: Case | None,
    draft: DecisionDraft,
    reviewer_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """Every problem with the draft, by field; empty when it can be recorded."""
    return _problems(taxonomy, case, draft, reviewer_id, now, check_case=True)


def outcome_problems(taxonomy: Taxonomy, surface: str, policy_code: str, action: str
                     ) -> tuple[dict[str, str], Policy | None, Action | None]:
    """Problems with a policy and action chosen for a case on ``surface``, by field, with
    the policy and action they name (None where there is no such one)."""
    problems: dict[str, str] = {}
    try:
        policy: Policy | None = taxonomy.policy(policy_code)
    except KeyError:
        problems["policy"] = "choose a policy"
        policy = None
    if policy is not None and surface not in policy.surfaces:
        problems["policy"] = f"{policy.code} does not apply to this surface ({surface})"
    try:
        chosen: Action | None = Action(action)
    except ValueError:
        problems["action"] = "choose an action"
        chosen = None
    if policy is not None and chosen is not None and chosen not in policy.actions:
        problems["action"] = f"{chosen.label} is not allowed under {policy.code}"
    return problems, policy, chosen


def _problems(
    taxonomy: Taxonomy,
    case: Case | None,
    draft: DecisionDraft,
    reviewer_id: uuid.UUID | None,
    now: datetime | None,
    *,
    check_case: bool,
) -> dict[str, str]:
    problems: dict[str, str] = {}
    if case is None:
        return {"case": "the case no longer exists in this workstation"}
    if not check_case:
        pass
    elif case.status not in OPEN_STATUSES:
        problems["case"] = f"the case is already {case.status}"
    elif (
        case.status == CaseStatus.LEASED.value
        and reviewer_id is not None
        and case.lease_holder_id not in (None, reviewer_id)
        and (now is None or case.lease_expires_at is None or case.lease_expires_at > now)
    ):
        problems["case"] = "another reviewer holds the lease on this case; take another one"
    outcome, policy, action = outcome_problems(taxonomy, case.surface, draft.policy_code,
                                               draft.action)
    problems.update(outcome)
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


def _write_decision(
    session: Session,
    taxonomy: Taxonomy,
    case: Case,
    draft: DecisionDraft,
    *,
    reviewer_id: uuid.UUID,
    client_id: str,
    now: datetime,
    supersedes: Decision | None = None,
) -> Decision:
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
        supersedes_id=supersedes.id if supersedes is not None else None,
        requires_second_review=needs_second_review(taxonomy, draft.policy_code, draft.action),
    )
    session.add(decision)
    case.status = CaseStatus.DECIDED.value
    case.updated_at = now
    payload: dict[str, Any] = {
        "id": str(decision.id),
        "case_id": str(case.id),
        "reviewer_id": str(reviewer_id),
        "policy_code": decision.policy_code,
        "action": decision.action,
        "rationale": decision.rationale,
        "created_at": now.isoformat(),
        "policy_version": decision.policy_version,
        "fencing_token": decision.fencing_token,
        "supersedes_id": str(decision.supersedes_id) if decision.supersedes_id else None,
        "requires_second_review": decision.requires_second_review,
    }
    append_audit(
        session, origin=client_id, actor_id=reviewer_id, kind=AuditKind.DECISION,
        subject=f"case:{case.id}", now=now, carrier=payload,
        details={"decision_id": str(decision.id), "policy_code": decision.policy_code,
                 "action": decision.action, "policy_version": decision.policy_version,
                 "requires_second_review": decision.requires_second_review,
                 "supersedes_id": payload["supersedes_id"]},
    )
    enqueue(session, client_id=client_id, kind="decision", entity_id=decision.id,
            payload=payload, now=now)
    session.flush()
    session.expunge(decision)
    return decision


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
        now = clock.now()
        problems = validate_decision(taxonomy, case, draft, reviewer_id, now)
        if problems:
            raise DecisionRejected(problems)
        assert case is not None
        return _write_decision(session, taxonomy, case, draft, reviewer_id=reviewer_id,
                               client_id=client_id, now=now)


def correct_decision(
    sessions: sessionmaker[Session],
    taxonomy: Taxonomy,
    *,
    reviewer_id: uuid.UUID,
    client_id: str,
    supersedes_id: uuid.UUID,
    draft: DecisionDraft,
    clock: Clock,
) -> Decision:
    """Record a new decision that supersedes an earlier one; the earlier one is unchanged.

    Only the latest decision on a case can be corrected, by the reviewer who made it or by a
    lead or an admin. Raises DecisionRejected (field "case" for these rules).
    """
    with writing(sessions) as session:
        now = clock.now()
        old = session.get(Decision, supersedes_id)
        case = session.scalar(select(Case).where(Case.id == draft.case_id).with_for_update())
        problems = _problems(taxonomy, case, draft, reviewer_id, now, check_case=False)
        if old is None or old.case_id != draft.case_id:
            problems["case"] = "the decision to correct is not on this workstation"
        elif _superseded_by(session, old.id) is not None:
            problems["case"] = "this decision has already been corrected; correct the latest one"
        elif old.reviewer_id != reviewer_id and _role(session, reviewer_id) not in (
                SECOND_REVIEWER_ROLES):
            problems["case"] = ("only the reviewer who made a decision, a lead or an admin "
                                "can correct it")
        if problems:
            raise DecisionRejected(problems)
        assert case is not None and old is not None
        return _write_decision(session, taxonomy, case, draft, reviewer_id=reviewer_id,
                               client_id=client_id, now=now, supersedes=old)


def _superseded_by(session: Session, decision_id: uuid.UUID) -> Decision | None:
    return session.scalars(
        select(Decision).where(Decision.supersedes_id == decision_id).limit(1)).first()


def _role(session: Session, reviewer_id: uuid.UUID) -> str | None:
    reviewer = session.get(Reviewer, reviewer_id)
    return reviewer.role if reviewer is not None and reviewer.active else None


# -- undo -----------------------------------------------------------------------------------


def _decision_mutation(session: Session, decision_id: uuid.UUID) -> OutboxEntry | None:
    return session.scalars(
        select(OutboxEntry).where(OutboxEntry.kind == "decision",
                                  OutboxEntry.entity_id == decision_id)
    ).first()


def withdraw_deadline(session: Session, decision_id: uuid.UUID,
                      window: timedelta = UNDO_WINDOW) -> datetime | None:
    """Until when the decision can still be withdrawn, or None if it no longer can.

    For the UI's "Undo" countdown: it is None once the decision has been sent (it can then
    only be corrected). Whether the deadline has passed is for the caller's clock to say.
    """
    decision = session.get(Decision, decision_id)
    entry = _decision_mutation(session, decision_id)
    if decision is None or entry is None or entry.state != "pending":
        return None
    return decision.created_at + window


def withdraw_decision(
    sessions: sessionmaker[Session],
    *,
    decision_id: uuid.UUID,
    reviewer_id: uuid.UUID,
    client_id: str,
    clock: Clock,
    window: timedelta = UNDO_WINDOW,
) -> None:
    """Withdraw a decision just made: delete it and its outbox entry, reopen the case.

    Allowed for `window` after the decision was made, to the reviewer who made it, while the
    decision has not been sent to the backend. Otherwise raises WithdrawRefused, whose
    message says to record a correction instead. The audit log keeps both the decision and
    its withdrawal.
    """
    with writing(sessions) as session:
        now = clock.now()
        decision = session.get(Decision, decision_id)
        if decision is None:
            raise WithdrawRefused("the decision is not on this workstation; it may have been "
                                  "withdrawn already")
        if decision.reviewer_id != reviewer_id:
            raise WithdrawRefused("only the reviewer who made a decision can withdraw it")
        if now - decision.created_at > window:
            raise WithdrawRefused(
                f"the {int(window.total_seconds())} seconds to undo have passed; record a "
                "correction instead")
        entry = _decision_mutation(session, decision_id)
        if entry is None or entry.state != "pending":
            raise WithdrawRefused("the decision has already been sent; record a correction "
                                  "instead")
        if _superseded_by(session, decision_id) is not None or session.scalars(
                select(SecondReview).where(SecondReview.decision_id == decision_id)).first():
            raise WithdrawRefused("the decision has been acted on since; record a correction "
                                  "instead")
        case = session.scalar(select(Case).where(Case.id == decision.case_id).with_for_update())
        # The decision's own audit entry rode in the mutation being deleted: it is sent
        # with the withdrawal's, so the backend's copy of the chain has no gap.
        carrier: dict[str, Any] = {"audit": list(entry.payload.get("audit", []))}
        session.delete(entry)
        session.delete(decision)
        if case is not None:
            case.status = _reopened_status(case, decision, reviewer_id, now)
            case.updated_at = now
        appended = append_audit(
            session, origin=client_id, actor_id=reviewer_id, kind=AuditKind.DECISION_WITHDRAWN,
            subject=f"case:{decision.case_id}", now=now, carrier=carrier,
            details={"decision_id": str(decision_id), "policy_code": decision.policy_code,
                     "action": decision.action,
                     "seconds_after": round((now - decision.created_at).total_seconds(), 3)},
        )
        enqueue(session, client_id=client_id, kind="audit", entity_id=appended.id, now=now,
                payload=carrier)


def _reopened_status(case: Case, decision: Decision, reviewer_id: uuid.UUID,
                     now: datetime) -> str:
    if decision.supersedes_id is not None:
        return CaseStatus.DECIDED.value  # the corrected decision stands again
    if (case.lease_holder_id == reviewer_id and case.lease_expires_at is not None
            and case.lease_expires_at > now):
        return CaseStatus.LEASED.value
    return CaseStatus.NEW.value


# -- four eyes ------------------------------------------------------------------------------


def may_second_review(session: Session, reviewer_id: uuid.UUID) -> bool:
    """Whether this person may approve or reject others' severe actions."""
    role = _role(session, reviewer_id)
    if role is None:
        return False
    if role in SECOND_REVIEWER_ROLES:
        return True
    return session.get(TeamMembership, (reviewer_id, SECOND_REVIEW_TEAM)) is not None


def review_state(session: Session, decision_id: uuid.UUID) -> ReviewState:
    """The decision's four-eyes state (NONE for an unknown decision)."""
    decision = session.get(Decision, decision_id)
    if decision is None or not decision.requires_second_review:
        return ReviewState.NONE
    review = standing_review(session, decision_id)
    if review is None:
        return ReviewState.PENDING
    return ReviewState.APPROVED if review.verdict == "approved" else ReviewState.REJECTED


def standing_review(session: Session, decision_id: uuid.UUID) -> SecondReview | None:
    """The verdict that counts: the backend's (pulled, with a change version) before one
    still on its way from this workstation, the earliest first."""
    return session.scalars(
        select(SecondReview).where(SecondReview.decision_id == decision_id)
        .order_by((SecondReview.change_version > 0).desc(), SecondReview.created_at,
                  SecondReview.id)
    ).first()


def second_review_refusal(session: Session, decision: Decision | None,
                          reviewer_id: uuid.UUID) -> str | None:
    """Why `reviewer_id` may not review this decision, or None if they may.

    Shared by the workstation and the backend, so both enforce the same rules.
    """
    if decision is None:
        return "the decision does not exist"
    if not decision.requires_second_review:
        return "this decision does not need a second review"
    existing = standing_review(session, decision.id)
    if existing is not None:
        return f"this decision has already been {existing.verdict} by a second reviewer"
    if _superseded_by(session, decision.id) is not None:
        return "this decision has been corrected since; review the correction"
    if decision.reviewer_id == reviewer_id:
        return "you cannot approve or reject your own decision"
    if not may_second_review(session, reviewer_id):
        return ("only a lead, an admin or a member of the second-level review team can "
                "approve or reject severe actions")
    return None


def record_second_review(
    sessions: sessionmaker[Session],
    *,
    decision_id: uuid.UUID,
    reviewer_id: uuid.UUID,
    client_id: str,
    approve: bool,
    note: str = "",
    clock: Clock,
) -> SecondReview:
    """Approve or reject a decision waiting for four eyes, in one local transaction.

    A rejection needs a note saying why (at least `MIN_REJECTION_NOTE_CHARS`) and reopens
    the case. Raises SecondReviewRefused.
    """
    note = note.strip()
    if not approve and len(note) < MIN_REJECTION_NOTE_CHARS:
        raise SecondReviewRefused(
            f"say why you reject it, in at least {MIN_REJECTION_NOTE_CHARS} characters")
    with writing(sessions) as session:
        now = clock.now()
        decision = session.get(Decision, decision_id)
        refusal = second_review_refusal(session, decision, reviewer_id)
        if refusal is not None:
            raise SecondReviewRefused(refusal)
        assert decision is not None
        review = SecondReview(
            id=uuid.uuid4(), decision_id=decision.id, case_id=decision.case_id,
            reviewer_id=reviewer_id, verdict="approved" if approve else "rejected", note=note,
            created_at=now,
        )
        session.add(review)
        if not approve:
            case = session.scalar(
                select(Case).where(Case.id == decision.case_id).with_for_update())
            if case is not None:
                case.status = CaseStatus.NEW.value
                case.updated_at = now
        payload: dict[str, Any] = {
            "id": str(review.id), "decision_id": str(decision.id),
            "case_id": str(decision.case_id), "reviewer_id": str(reviewer_id),
            "verdict": review.verdict, "note": note, "created_at": now.isoformat(),
        }
        append_audit(
            session, origin=client_id, actor_id=reviewer_id, kind=AuditKind.SECOND_REVIEW,
            subject=f"case:{decision.case_id}", now=now, carrier=payload,
            details={"decision_id": str(decision.id), "verdict": review.verdict,
                     "decided_by": str(decision.reviewer_id), "action": decision.action,
                     "policy_code": decision.policy_code},
        )
        enqueue(session, client_id=client_id, kind="second_review", entity_id=review.id,
                payload=payload, now=now)
        session.flush()
        session.expunge(review)
    return review


def pending_second_reviews(session: Session,
                           reviewer_id: uuid.UUID | None = None) -> list[Decision]:
    """Decisions waiting for a second reviewer, oldest first.

    With `reviewer_id`, only those that person may review (not their own).
    """
    reviewed = select(SecondReview.decision_id)
    corrected = select(Decision.supersedes_id).where(Decision.supersedes_id.is_not(None))
    statement = select(Decision).where(
        Decision.requires_second_review.is_(True),
        Decision.id.not_in(reviewed),
        Decision.id.not_in(corrected),
    )
    if reviewer_id is not None:
        if not may_second_review(session, reviewer_id):
            return []
        statement = statement.where(Decision.reviewer_id != reviewer_id)
    return list(session.scalars(statement.order_by(Decision.created_at, Decision.id)))


# -- quick keys -----------------------------------------------------------------------------


@dataclass(frozen=True)
class QuickPolicies:
    """Policy codes for the 1–9 quick keys: most used first, and the last one used."""

    most_used: tuple[str, ...]
    last_used: str | None


def quick_policies(session: Session, reviewer_id: uuid.UUID, limit: int = 9,
                   allowed: Collection[str] | None = None) -> QuickPolicies:
    """The reviewer's `limit` most used policies (ties: the more recent first) and the
    last one used, from the decisions in this replica; `allowed` narrows both (e.g. to
    the policies for the case's surface)."""
    uses = func.count().label("uses")
    last = func.max(Decision.created_at).label("last")
    statement = (
        select(Decision.policy_code, uses, last)
        .where(Decision.reviewer_id == reviewer_id)
        .group_by(Decision.policy_code)
        .order_by(uses.desc(), last.desc(), Decision.policy_code)
    )
    latest = (select(Decision.policy_code).where(Decision.reviewer_id == reviewer_id)
              .order_by(Decision.created_at.desc(), Decision.id))
    if allowed is not None:
        codes = list(allowed)
        statement = statement.where(Decision.policy_code.in_(codes))
        latest = latest.where(Decision.policy_code.in_(codes))
    most = tuple(row[0] for row in session.execute(statement.limit(max(0, limit))))
    return QuickPolicies(most_used=most, last_used=session.scalars(latest.limit(1)).first())


# -- what the panel shows about a case's decisions -------------------------------------------


def standing_decision(session: Session, case_id: uuid.UUID) -> Decision | None:
    """The decision that counts on a case: the latest one no correction has superseded."""
    corrected = select(Decision.supersedes_id).where(Decision.case_id == case_id,
                                                     Decision.supersedes_id.is_not(None))
    return session.scalars(
        select(Decision).where(Decision.case_id == case_id, Decision.id.not_in(corrected))
        .order_by(Decision.created_at.desc(), Decision.id).limit(1)
    ).first()


def latest_decision_by(session: Session, case_id: uuid.UUID,
                       reviewer_id: uuid.UUID) -> Decision | None:
    """The reviewer's most recent decision on the case (the one "Undo" would withdraw)."""
    return session.scalars(
        select(Decision).where(Decision.case_id == case_id, Decision.reviewer_id == reviewer_id)
        .order_by(Decision.created_at.desc(), Decision.id).limit(1)
    ).first()
