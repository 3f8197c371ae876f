"""Second reviews, four eyes (Ctrl+Shift+R): the window of decisions waiting for a lead or
a second-level reviewer, and their verdicts; and how many wait, for the Decision menu.
"""

from __future__ import annotations

import uuid
from functools import partial

from PySide6.QtCore import QObject

from reviewer.enforcement.decisions import SecondReviewRefused
from reviewer.enforcement.desk import PendingReview
from ui.enforcement.flow import MESSAGE_MS, CaseFlow, FlowContext
from ui.enforcement.second_review import SecondReviewDialog


class SecondReviewFlow(CaseFlow):
    """Shows the decisions waiting for a second reviewer and records approvals and
    rejections; a rejected decision's case goes back to the queue."""

    def __init__(self, context: FlowContext, parent: QObject):
        super().__init__(context, parent)
        self.dialog: SecondReviewDialog | None = None

    def menu_text(self) -> str:
        """The Decision menu's entry, with how many decisions wait (when the user may
        give verdicts)."""
        count = self.desk.second_reviews_waiting()
        return f"Second re&views ({count})…" if count is not None else "Second re&views…"

    def pending_reviews(self) -> list[PendingReview]:
        """Every decision waiting for a second reviewer; the user's own are marked."""
        return self.desk.pending_reviews()

    def show(self) -> None:
        if not self.desk.may_second_review():
            self.refuse("Only a lead, an admin or a member of the second-level review team "
                        "can approve or reject severe actions; yours wait for one of them.")
            return
        dialog = self.dialog
        if dialog is None:
            dialog = SecondReviewDialog(self.main)
            dialog.verdict_given.connect(self._give_verdict)
            dialog.open_case_requested.connect(self.main.open_case)
            dialog.finished.connect(partial(self._closed, dialog))
            self.dialog = dialog
        self.refresh()
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        dialog.table.setFocus()

    def _closed(self, dialog: SecondReviewDialog, *_args: object) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def refresh(self) -> None:
        """Show the waiting decisions afresh in the window, if it is open."""
        if self.dialog is not None:
            self.dialog.set_rows(self.pending_reviews())

    def _give_verdict(self, decision_id: uuid.UUID, approve: bool, note: str) -> None:
        dialog = self.dialog
        try:
            review = self.desk.second_review(decision_id, approve=approve, note=note)
        except SecondReviewRefused as refusal:
            if dialog is not None:
                dialog.show_refusal(f"Not recorded: {refusal}.")
            return
        case = self.workstation.case(review.case_id)
        ref = case.external_ref if case is not None else "the case"
        if approve:
            message = f"Approved: the decision on {ref} takes effect."
        else:
            message = f"Rejected: {ref} is back in the queue for a new decision."
        self.recorded(review.case_id, queue=not approve, second_reviews=True)
        if dialog is not None:
            dialog.show_done(message)
        self.refresh_panel_case(review.case_id)
        self.main.statusBar().showMessage(message, MESSAGE_MS)
