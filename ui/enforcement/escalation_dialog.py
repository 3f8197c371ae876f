"""The escalation dialog: which team, how urgent, and why (Ctrl+E in the main window).

Non-modal: it emits ``submitted(team, urgency, reason)`` and stays open until the caller
either shows the problems (`show_problems`) or closes it after recording the escalation.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from reviewer.enforcement.escalation import MIN_ESCALATION_REASON_CHARS
from reviewer.vocabulary import EscalationTeam, Urgency
from ui.widgets.form_feedback import inline_error, submit_on_ctrl_enter

URGENCY_LABELS = {
    Urgency.ROUTINE: "Routine (within the team's SLA)",
    Urgency.HIGH: "High (today)",
    Urgency.CRITICAL: "Critical (now: risk of real-world harm)",
}


class EscalationDialog(QDialog):
    submitted = Signal(str, str, str)

    def __init__(self, case_ref: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Escalate {case_ref}")
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        intro = QLabel(f"Send {case_ref} to a specialist team. It leaves your queue and goes "
                       "to the team's queue; its history shows why.")
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.team_box = QComboBox()
        self.team_box.setAccessibleName("Team")
        self.team_box.addItem("Choose a team…", None)
        for team in EscalationTeam:
            self.team_box.addItem(team.label, team.value)
        self.urgency_box = QComboBox()
        self.urgency_box.setAccessibleName("Urgency")
        for urgency in Urgency:
            self.urgency_box.addItem(URGENCY_LABELS[urgency], urgency.value)
        self.reason = QPlainTextEdit()
        self.reason.setAccessibleName("Reason")
        self.reason.setTabChangesFocus(True)
        self.reason.setPlaceholderText(
            f"What should the team look at? At least {MIN_ESCALATION_REASON_CHARS} characters.")
        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        for key, text, widget in (("team", "&Team", self.team_box),
                                  ("urgency", "&Urgency", self.urgency_box),
                                  ("reason", "&Reason", self.reason)):
            label = QLabel(text)
            label.setBuddy(widget)
            error = inline_error()
            self.errors[key] = error
            column = QVBoxLayout()
            column.addWidget(widget)
            column.addWidget(error)
            form.addRow(label, column)
        self.case_error = inline_error()
        self.errors["case"] = self.case_error
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.escalate_button = self.buttons.addButton(
            "&Escalate  (Ctrl+Enter)", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        submit_on_ctrl_enter(self, self.submit)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.case_error)
        layout.addWidget(self.buttons)
        self.resize(460, 360)
        self.team_box.setFocus()

    def choose_team(self, team: EscalationTeam | str) -> None:
        self.team_box.setCurrentIndex(self.team_box.findData(str(team)))

    def choose_urgency(self, urgency: Urgency | str) -> None:
        self.urgency_box.setCurrentIndex(self.urgency_box.findData(str(urgency)))

    def submit(self) -> None:
        for label in self.errors.values():
            label.hide()
        self.submitted.emit(self.team_box.currentData() or "",
                            self.urgency_box.currentData() or "", self.reason.toPlainText())

    def show_problems(self, problems: dict[str, str]) -> None:
        for label in self.errors.values():
            label.hide()
        for field, text in problems.items():
            label = self.errors.get(field, self.case_error)
            label.setText(text)
            label.show()
        focus = {"team": self.team_box, "urgency": self.urgency_box,
                 "reason": self.reason}.get(next(iter(problems), ""))
        if focus is not None:
            focus.setFocus()
