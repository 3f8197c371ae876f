"""The auditor's verdict on the original decision, shown only once their blind decision is
recorded: the original and how it compares, agree or disagree (with a reason category),
and feedback for the reviewer.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.qa.store import REASON_LABELS, OriginalDecision
from reviewer.vocabulary import Action
from ui.widgets.form_feedback import inline_error


def _action_label(action: str) -> str:
    try:
        return Action(action).label
    except ValueError:
        return action


def describe_original(original: OriginalDecision | None) -> str:
    """The original decision in a sentence and its rationale, or why it is not here."""
    if original is None:
        return "The original decision is not on this workstation yet; sync and try again."
    when = original.created_at.astimezone()
    return (f"{_action_label(original.action)} under {original.policy_code}, decided by "
            f"{original.reviewer_name} on {when:%a %d %b %Y %H:%M}.\n"
            f"Rationale: {original.rationale}")


class VerdictForm(QWidget):
    """Agree (Alt+A) or disagree (Alt+D) with the original, a reason (Alt+E) to disagree,
    feedback (Alt+B), and "Record verdict" (`verdict_button`, for the window to connect)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        original_heading = QLabel("Original decision")
        original_heading.setObjectName("panelHeading")
        self.original_label = QLabel()
        self.original_label.setWordWrap(True)
        self.original_label.setTextFormat(Qt.TextFormat.PlainText)
        self.original_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.comparison_label = QLabel()
        self.comparison_label.setWordWrap(True)
        self.agree_radio = QRadioButton("Agree  (Alt+A)")
        self.disagree_radio = QRadioButton("Disagree  (Alt+D)")
        self.verdict_group = QButtonGroup(self)
        self.verdict_group.addButton(self.agree_radio)
        self.verdict_group.addButton(self.disagree_radio)
        self.disagree_radio.toggled.connect(self._update_reason_enabled)
        verdict_row = QHBoxLayout()
        verdict_row.addWidget(self.agree_radio)
        verdict_row.addWidget(self.disagree_radio)
        verdict_row.addStretch(1)
        reason_label = QLabel("R&eason for disagreeing")
        self.reason_box = QComboBox()
        self.reason_box.setAccessibleName("Reason category")
        self.reason_box.addItem("Choose a reason…", None)
        for code, label in REASON_LABELS.items():
            self.reason_box.addItem(label, code)
        reason_label.setBuddy(self.reason_box)
        feedback_label = QLabel("Feed&back for the reviewer (optional)")
        self.feedback = QPlainTextEdit()
        self.feedback.setAccessibleName("Feedback")
        self.feedback.setTabChangesFocus(True)
        self.feedback.setPlaceholderText("What to look at next time; the reviewer sees this "
                                         "in My quality")
        self.feedback.setMaximumHeight(90)
        feedback_label.setBuddy(self.feedback)
        self.verdict_error = inline_error()
        self.verdict_button = QPushButton("Record verdict  (Ctrl+Enter)")
        self.verdict_button.setObjectName("primary")
        verdict = QVBoxLayout(self)
        verdict.setContentsMargins(0, 8, 0, 0)
        verdict.setSpacing(4)
        verdict.addWidget(original_heading)
        verdict.addWidget(self.original_label)
        verdict.addWidget(self.comparison_label)
        verdict.addLayout(verdict_row)
        verdict.addWidget(reason_label)
        verdict.addWidget(self.reason_box)
        verdict.addWidget(feedback_label)
        verdict.addWidget(self.feedback)
        verdict.addWidget(self.verdict_error)
        verdict.addWidget(self.verdict_button)

    def reset(self) -> None:
        """No verdict chosen, no reason, no feedback (for the next sample)."""
        self.feedback.clear()
        self.reason_box.setCurrentIndex(0)
        self.verdict_group.setExclusive(False)
        self.agree_radio.setChecked(False)
        self.disagree_radio.setChecked(False)
        self.verdict_group.setExclusive(True)

    def show_original(self, original: OriginalDecision | None) -> None:
        """The original (or that it has not arrived), compared with the blind decision;
        the verdict that comparison suggests is chosen, and can be recorded."""
        self.original_label.setText(describe_original(original))
        if original is not None:
            same = original.matches
            self.comparison_label.setText(
                "Same policy and action as yours." if same else
                "Differs from yours: look at the policy and the action.")
            self.comparison_label.setObjectName("confirmation" if same else "fieldError")
            self.comparison_label.style().unpolish(self.comparison_label)
            self.comparison_label.style().polish(self.comparison_label)
            (self.agree_radio if same else self.disagree_radio).setChecked(True)
        self._update_reason_enabled()
        self.verdict_button.setEnabled(True)

    def choose_disagree(self) -> None:
        if self.isVisible():
            self.disagree_radio.setChecked(True)
            self.reason_box.setFocus()

    def _update_reason_enabled(self, *_args: object) -> None:
        self.reason_box.setEnabled(self.disagree_radio.isChecked())

    def chosen(self) -> bool:
        return self.agree_radio.isChecked() or self.disagree_radio.isChecked()

    def agrees(self) -> bool:
        return self.agree_radio.isChecked()

    def reason(self) -> str | None:
        return self.reason_box.currentData()

    def show_problem(self, text: str) -> None:
        self.verdict_error.setText(text)
        self.verdict_error.show()
