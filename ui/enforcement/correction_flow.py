"""Correcting a decided case (Ctrl+Shift+C): a new decision that supersedes the standing
one, which stays in the case's history; and the decided cases to choose from (Ctrl+Shift+D).
"""

from __future__ import annotations

import uuid

from PySide6.QtCore import QObject

from reviewer.enforcement.decisions import DecisionDraft, DecisionRejected
from reviewer.enforcement.desk import label
from reviewer.vocabulary import Action, CaseStatus
from ui.enforcement.flow import MESSAGE_MS, CaseFlow, FlowContext
from ui.enforcement.undo import PENDING_SECOND_REVIEW, UndoFlow


class CorrectionFlow(CaseFlow):
    """Puts the panel in correction mode and records the correction it submits; the
    correction is offered for undo like any decision."""

    def __init__(self, context: FlowContext, undo: UndoFlow, parent: QObject):
        super().__init__(context, parent)
        self.undo = undo
        self.panel.correction_submitted.connect(self.record)
        self.panel.correction_requested.connect(self.begin)

    def begin(self) -> None:
        case = self.fresh_case()
        if case is None:
            self.refuse("Select a decided case to correct (Ctrl+Shift+D shows them).")
            return
        correctable = self.desk.correctable(case)
        if correctable is None:
            self.refuse(f"{case.external_ref} has no decision to correct (it is "
                        f"{label(CaseStatus, case.status).lower()}). Ctrl+Shift+D shows the "
                        "decided cases.")
            return
        decision, summary = correctable
        self.panel.begin_correction(decision.id, decision.policy_code, decision.action,
                                    summary.rstrip("."))

    def record(self, draft: DecisionDraft, supersedes_id: uuid.UUID) -> None:
        try:
            recorded = self.desk.correct(supersedes_id, draft)
        except DecisionRejected as rejection:
            self.panel.show_problems(rejection.problems)
            return
        decision = recorded.decision
        self.panel.set_case(self.workstation.case(draft.case_id))
        self.panel.show_confirmation(
            f"Corrected: {label(Action, decision.action)} under {decision.policy_code} on "
            f"{recorded.case_ref}. The earlier decision is kept in the history.")
        if recorded.pending_second_review:
            self.panel.append_confirmation(PENDING_SECOND_REVIEW)
        self.undo.make_offer(recorded, draft, None)
        self.recorded(draft.case_id, second_reviews=True)

    def show_decided_cases(self) -> None:
        self.main.filter_by_status(CaseStatus.DECIDED.value)
        self.main.statusBar().showMessage(
            "Showing decided cases: select one and press Ctrl+Shift+C to correct it; "
            "Ctrl+Shift+X clears the filter.", MESSAGE_MS)
