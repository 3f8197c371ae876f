"""The undo offer after a decision or a correction (Ctrl+Z): a countdown by the injected
clock in the panel, and withdrawing the decision, which puts the case back as it was.

A decision can be undone for 30 seconds after it is submitted, until it is sent; the core
(`EnforcementDesk.withdraw`) says why when it no longer can be.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QObject, QTimer, Signal

from reviewer.enforcement.decisions import SEND_HOLD, DecisionDraft, WithdrawRefused
from reviewer.enforcement.desk import RecordedDecision
from reviewer.queue.leases import Lease
from ui.enforcement.flow import CaseFlow, FlowContext

UNDO_TICK_MS = 500
PENDING_SECOND_REVIEW = ("Pending second review: it takes effect once a lead or a "
                         "second-level reviewer approves it.")


@dataclass(frozen=True)
class UndoOffer:
    """The decision that Ctrl+Z would withdraw, and what to put back if it does."""

    decision_id: uuid.UUID
    case_id: uuid.UUID
    case_ref: str
    draft: DecisionDraft
    lease: Lease | None
    deadline: datetime
    supersedes_id: uuid.UUID | None = None


class UndoFlow(CaseFlow):
    """Offers to undo the decision just recorded, counts the offer down, and withdraws it.

    Emits ``correction_withdrawn`` when the decision withdrawn was a correction, so that
    the case is back in correction mode as the reviewer left it.
    """

    correction_withdrawn = Signal()

    def __init__(self, context: FlowContext, parent: QObject):
        super().__init__(context, parent)
        self.offer: UndoOffer | None = None
        self._last_offer: UndoOffer | None = None
        self._send_due: datetime | None = None
        self._submitting: tuple[DecisionDraft, Lease | None] | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(UNDO_TICK_MS)
        self.timer.timeout.connect(self.tick)

    def note_submitting(self, draft: DecisionDraft) -> None:
        """Keep the draft and the lease it is decided under, to put back on an undo."""
        lease = self.main.lease
        self._submitting = (draft, lease if lease is not None and lease.case_id == draft.case_id
                            else None)

    def offer_after_decision(self, case_id: uuid.UUID) -> bool:
        """Offer to undo the decision just recorded on `case_id` (False: none found)."""
        submitted = self._submitting
        self._submitting = None
        recorded = self.desk.last_recorded(case_id)
        if recorded is None:
            return False
        decision = recorded.decision
        if recorded.pending_second_review:
            self.panel.append_confirmation(PENDING_SECOND_REVIEW)
        if submitted is not None and submitted[0].case_id == case_id:
            draft, lease = submitted
        else:
            draft, lease = DecisionDraft(case_id, decision.policy_code, decision.action,
                                         decision.rationale), None
        self.make_offer(recorded, draft, lease)
        return True

    def make_offer(self, recorded: RecordedDecision, draft: DecisionDraft,
                   lease: Lease | None) -> None:
        decision, deadline = recorded.decision, recorded.withdraw_deadline
        self.offer = self._last_offer = None if deadline is None else UndoOffer(
            decision.id, decision.case_id, recorded.case_ref, draft, lease, deadline,
            decision.supersedes_id)
        # When the hold is over the decision may go: sync then rather than at the next tick
        # of the window's timer.
        self._send_due = decision.created_at + SEND_HOLD
        self.timer.start()
        self.tick()

    def seconds_left(self) -> int | None:
        """Whole seconds the undo offer has left (None: nothing to undo)."""
        offer = self.offer
        if offer is None:
            return None
        left = (offer.deadline - self.workstation.clock.now()).total_seconds()
        return math.ceil(left) if left > 0 else None

    def tick(self) -> None:
        """Count the undo offer down by the injected clock; withdraw it once it has run
        out or the decision has been sent."""
        offer = self.offer
        if offer is not None and self.seconds_left() is None:
            offer = None
        if offer is not None and self.desk.withdraw_deadline(offer.decision_id) is None:
            offer = None  # sent: from now on it can only be corrected
        self.offer = offer
        if offer is None:
            self.panel.set_undo(None)
        else:
            self.panel.set_undo(f"Undo (Ctrl+Z) — {self.seconds_left()} s",
                                f"Withdraw your decision on {offer.case_ref} and reopen it")
        if offer is None and self._send_due is not None \
                and self.workstation.clock.now() > self._send_due:
            self._send_due = None
            self.main.start_sync()
        if offer is None and self._send_due is None:
            self.timer.stop()

    def undo(self) -> None:
        """Withdraw the decision just made and put the case back as it was."""
        # Once the offer has lapsed the core still says why (time up, or already sent).
        offer = self.offer or self._last_offer
        if offer is None:
            self.refuse("Nothing to undo: a decision can be undone for 30 seconds after you "
                        "submit it, until it is sent. To change a decision, open its case "
                        "and use Correct decision… (Ctrl+Shift+C).")
            return
        try:
            self.desk.withdraw(offer.decision_id)
        except WithdrawRefused as refusal:
            self.offer = None
            self.tick()
            self.refuse(f"Cannot undo: {refusal}.")
            return
        self.offer = self._last_offer = None
        self._send_due = None
        self.tick()
        now = self.workstation.clock.now()
        if (offer.lease is not None and self.main.lease is None
                and offer.lease.time_left(now).total_seconds() > 0):
            self.main.lease = offer.lease
        self.recorded(offer.case_id, queue=True, second_reviews=True)
        self.main.open_case(offer.case_id)
        if self.panel.case is None or self.panel.case.id != offer.case_id:
            self.panel.set_case(self.workstation.case(offer.case_id))
        if offer.supersedes_id is not None:
            self.correction_withdrawn.emit()
        self.panel.restore_draft(offer.draft)
        self.confirm(f"Decision withdrawn: {offer.case_ref} is back as you left it."
                     if offer.supersedes_id is None else
                     f"Correction withdrawn: the earlier decision on {offer.case_ref} stands "
                     "again.")
        self.panel.rationale.setFocus()
