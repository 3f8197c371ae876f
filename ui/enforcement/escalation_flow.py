"""Escalating the panel's case to a specialist team (Ctrl+E): the escalation dialog, and
the case leaving the reviewer's queue once the escalation is recorded.
"""

from __future__ import annotations

import uuid
from functools import partial

from PySide6.QtCore import QObject

from reviewer.enforcement.desk import label
from reviewer.enforcement.escalation import (
    MIN_ESCALATION_REASON_CHARS,
    EscalationRejected,
    validate_escalation,
)
from reviewer.vocabulary import EscalationTeam, Urgency
from ui.enforcement.escalation_dialog import EscalationDialog
from ui.enforcement.flow import CaseFlow, FlowContext


class EscalationFlow(CaseFlow):
    """Opens the escalation dialog for the panel's case and records what it submits."""

    def __init__(self, context: FlowContext, parent: QObject):
        super().__init__(context, parent)
        self.dialog: EscalationDialog | None = None

    def escalate(self) -> None:
        case = self.fresh_case()
        if case is None:
            self.refuse("Select a case to escalate.")
            return
        problems = validate_escalation(
            case, reviewer_id=self.workstation.reviewer_id,
            to_team=EscalationTeam.LEGAL.value, urgency=Urgency.ROUTINE.value,
            reason="x" * MIN_ESCALATION_REASON_CHARS, now=self.workstation.clock.now())
        if "case" in problems:
            self.refuse(f"Cannot escalate {case.external_ref}: {problems['case']}.")
            return
        if self.dialog is not None:
            self.dialog.close()
        dialog = EscalationDialog(case.external_ref, self.main)
        dialog.submitted.connect(partial(self._record, case.id))
        dialog.finished.connect(partial(self._closed, dialog))
        self.dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _closed(self, dialog: EscalationDialog, *_args: object) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def _record(self, case_id: uuid.UUID, team: str, urgency: str, reason: str) -> None:
        dialog = self.dialog
        try:
            self.desk.escalate(case_id, to_team=team, urgency=urgency, reason=reason)
        except EscalationRejected as rejection:
            if dialog is not None:
                dialog.show_problems(rejection.problems)
            return
        if dialog is not None:
            dialog.accept()
            self.main.activateWindow()
        if self.main.lease is not None and self.main.lease.case_id == case_id:
            self.main.lease = None  # the backend releases it when the escalation arrives
        case = self.workstation.case(case_id)
        ref = case.external_ref if case is not None else "The case"
        self.main.case_left_queue(case_id)
        self.refresh_panel_case(case_id)
        self.confirm(f"Escalated {ref} to {label(EscalationTeam, team)} ({urgency}): it left "
                     "your queue and goes to the team's queue at the next sync.")
        self.recorded(case_id)
