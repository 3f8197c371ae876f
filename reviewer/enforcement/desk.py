"""One reviewer's enforcement work on their replica, as the window asks for it.

The window never opens a session: it asks an `EnforcementDesk` what the enforcement panel
shows for a case (quick policies, the case's thread, the decision standing on it), what a
decision just recorded means for the undo offer, and which decisions wait for a second
reviewer; and it records withdrawals, corrections, escalations, second reviews and replies
through it. Each answer is read in one session, each piece of work is one local
transaction with its outbox entry (the functions of `reviewer.enforcement.decisions`,
`.escalation` and `.responses`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.clock import Clock
from reviewer.enforcement.decisions import (
    DecisionDraft,
    QuickPolicies,
    ReviewState,
    correct_decision,
    latest_decision_by,
    may_second_review,
    pending_second_reviews,
    quick_policies,
    record_decision,
    record_second_review,
    review_state,
    standing_decision,
    withdraw_deadline,
    withdraw_decision,
)
from reviewer.enforcement.escalation import ThreadEntry, case_thread, escalate_case
from reviewer.enforcement.responses import record_response
from reviewer.policy.taxonomy import Taxonomy
from reviewer.store.database import Database
from reviewer.store.models import Case, Decision, Reviewer, SecondReview
from reviewer.vocabulary import Action, CaseStatus


def label(enum: type[StrEnum], value: str) -> str:
    """What reviewers read for a stored value of one of the vocabulary's enums."""
    try:
        return str(enum(value).label)  # type: ignore[attr-defined]
    except ValueError:
        return value


@dataclass(frozen=True)
class CaseEnforcement:
    """What the enforcement panel shows for a case besides the case itself."""

    quick: QuickPolicies
    thread: list[ThreadEntry]
    standing: Decision | None
    """The decision standing on a decided case (None on an open one)."""
    standing_summary: str | None
    """One line on it: what, under which policy, by whom, when, and its second review."""


@dataclass(frozen=True)
class RecordedDecision:
    """A decision just recorded, as the undo offer needs it."""

    decision: Decision
    case_ref: str
    pending_second_review: bool
    withdraw_deadline: datetime | None
    """Until when it may be withdrawn (None: it has been sent)."""


@dataclass(frozen=True)
class PendingReview:
    """One decision waiting for a second reviewer, as the list shows it."""

    decision_id: uuid.UUID
    case_id: uuid.UUID
    case_ref: str
    policy_code: str
    action_label: str
    decided_by: str
    decided_at: datetime
    rationale: str
    mine: bool


class EnforcementDesk:
    """The enforcement reads and writes of the reviewer ``reviewer_id`` on ``replica``."""

    def __init__(self, replica: Database, taxonomy: Taxonomy, *, reviewer_id: uuid.UUID,
                 client_id: str, clock: Clock) -> None:
        self.replica = replica
        self.taxonomy = taxonomy
        self.reviewer_id = reviewer_id
        self.client_id = client_id
        self.clock = clock

    def _names(self, session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        return {row.id: row.display_name for row in session.execute(
            select(Reviewer.id, Reviewer.display_name).where(Reviewer.id.in_(ids)))}

    def _summary(self, session: Session, decision: Decision) -> str:
        who = ("you" if decision.reviewer_id == self.reviewer_id
               else self._names(session, {decision.reviewer_id}).get(
                   decision.reviewer_id, "another reviewer"))
        state = review_state(session, decision.id)
        text = (f"Decided: {label(Action, decision.action)} under {decision.policy_code}, "
                f"by {who}, {decision.created_at.astimezone():%a %d %b %H:%M}")
        if state == ReviewState.PENDING:
            text += ". Pending second review"
        elif state != ReviewState.NONE:
            text += f". {state.label}"
        return text + "."

    # -- reads -----------------------------------------------------------------------------

    def for_case(self, case: Case, *, limit: int) -> CaseEnforcement:
        """Quick policies (narrowed to those allowed for the case's surface), the thread
        and the standing decision of ``case``."""
        allowed = [p.code for p in self.taxonomy.policies_for_surface(case.surface)]
        with self.replica.sessions() as session:
            quick = quick_policies(session, self.reviewer_id, limit=limit, allowed=allowed)
            thread = case_thread(session, case.id)
            standing = (standing_decision(session, case.id)
                        if case.status == CaseStatus.DECIDED.value else None)
            summary = self._summary(session, standing) if standing else None
        return CaseEnforcement(quick, thread, standing, summary)

    def thread(self, case_id: uuid.UUID) -> list[ThreadEntry]:
        with self.replica.sessions() as session:
            return case_thread(session, case_id)

    def standing(self, case_id: uuid.UUID) -> Decision | None:
        """The decision standing on the case, decided or not (a reply speaks of it)."""
        with self.replica.sessions() as session:
            return standing_decision(session, case_id)

    def correctable(self, case: Case) -> tuple[Decision, str] | None:
        """The decision a correction of ``case`` replaces and its summary, if it has one."""
        if case.status != CaseStatus.DECIDED.value:
            return None
        with self.replica.sessions() as session:
            decision = standing_decision(session, case.id)
            return (decision, self._summary(session, decision)) if decision else None

    def _recorded(self, session: Session, decision: Decision) -> RecordedDecision:
        case = session.get(Case, decision.case_id)
        return RecordedDecision(
            decision, case.external_ref if case is not None else "the case",
            review_state(session, decision.id) == ReviewState.PENDING,
            withdraw_deadline(session, decision.id))

    def last_recorded(self, case_id: uuid.UUID) -> RecordedDecision | None:
        """This reviewer's latest decision on the case (just recorded by the panel)."""
        with self.replica.sessions() as session:
            decision = latest_decision_by(session, case_id, self.reviewer_id)
            if decision is None or session.get(Case, case_id) is None:
                return None
            return self._recorded(session, decision)

    def withdraw_deadline(self, decision_id: uuid.UUID) -> datetime | None:
        with self.replica.sessions() as session:
            return withdraw_deadline(session, decision_id)

    def may_second_review(self) -> bool:
        with self.replica.sessions() as session:
            return may_second_review(session, self.reviewer_id)

    def second_reviews_waiting(self) -> int | None:
        """How many decisions this reviewer may review now (None: they may review none)."""
        with self.replica.sessions() as session:
            if not may_second_review(session, self.reviewer_id):
                return None
            return len(pending_second_reviews(session, self.reviewer_id))

    def pending_reviews(self) -> list[PendingReview]:
        """Every decision waiting for a second reviewer; the reviewer's own are marked."""
        with self.replica.sessions() as session:
            decisions: Sequence[Decision] = pending_second_reviews(session)
            refs = {row.id: row.external_ref for row in session.execute(
                select(Case.id, Case.external_ref)
                .where(Case.id.in_({d.case_id for d in decisions})))}
            names = self._names(session, {d.reviewer_id for d in decisions})
        return [PendingReview(
            decision_id=d.id, case_id=d.case_id, case_ref=refs.get(d.case_id, "unknown case"),
            policy_code=d.policy_code, action_label=label(Action, d.action),
            decided_by=names.get(d.reviewer_id, "unknown reviewer"), decided_at=d.created_at,
            rationale=d.rationale, mine=d.reviewer_id == self.reviewer_id) for d in decisions]

    # -- writes: one local transaction each, with its outbox entry ---------------------------

    def _who(self) -> dict[str, Any]:
        return {"client_id": self.client_id, "clock": self.clock}

    def decide(self, draft: DecisionDraft) -> Decision:
        """Record a decision (or raise DecisionRejected with the problems to show)."""
        return record_decision(self.replica.sessions, self.taxonomy,
                               reviewer_id=self.reviewer_id, draft=draft, **self._who())

    def withdraw(self, decision_id: uuid.UUID) -> None:
        withdraw_decision(self.replica.sessions, decision_id=decision_id,
                          reviewer_id=self.reviewer_id, **self._who())

    def correct(self, supersedes_id: uuid.UUID, draft: DecisionDraft) -> RecordedDecision:
        decision = correct_decision(self.replica.sessions, self.taxonomy,
                                    reviewer_id=self.reviewer_id, supersedes_id=supersedes_id,
                                    draft=draft, **self._who())
        with self.replica.sessions() as session:
            return self._recorded(session, decision)

    def escalate(self, case_id: uuid.UUID, *, to_team: str, urgency: str, reason: str) -> None:
        escalate_case(self.replica.sessions, case_id=case_id, reviewer_id=self.reviewer_id,
                      to_team=to_team, urgency=urgency, reason=reason, **self._who())

    def second_review(self, decision_id: uuid.UUID, *, approve: bool,
                      note: str) -> SecondReview:
        return record_second_review(self.replica.sessions, decision_id=decision_id,
                                    reviewer_id=self.reviewer_id, approve=approve, note=note,
                                    **self._who())

    def reply(self, case_id: uuid.UUID, *, body: str, template_id: str) -> None:
        record_response(self.replica.sessions, case_id=case_id, author_id=self.reviewer_id,
                        body=body, template_id=template_id, **self._who())
