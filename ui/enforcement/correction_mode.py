"""The decision standing on a decided case, in the enforcement panel, and the correction
mode in which the form writes a new decision that supersedes it (Ctrl+Shift+C).
"""

from __future__ import annotations

import uuid

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from ui.enforcement.decision_form import DecisionForm
from ui.enforcement.message_strip import MessageStrip


class CorrectionMode(QObject):
    """The standing decision with "Correct decision…", and while a correction is written,
    what it corrects and "Cancel correction": `widgets`, laid out by the panel.

    ``correct_button`` asks for a correction; the panel passes that on.
    """

    def __init__(self, parent: QWidget, form: DecisionForm, messages: MessageStrip):
        super().__init__(parent)
        self.form = form
        self.messages = messages
        self._correcting: uuid.UUID | None = None
        self.standing_label = QLabel()
        self.standing_label.setWordWrap(True)
        self.standing_label.setTextFormat(Qt.TextFormat.PlainText)
        self.correct_button = QPushButton("Correct decision…  (Ctrl+Shift+C)")
        self.correction_label = QLabel()
        self.correction_label.setObjectName("muted")
        self.correction_label.setWordWrap(True)
        self.correction_label.setTextFormat(Qt.TextFormat.PlainText)
        self.cancel_button = QPushButton("Cancel correction")
        self.cancel_button.clicked.connect(self.end)

    @property
    def widgets(self) -> tuple[QWidget, ...]:
        return (self.standing_label, self.correct_button, self.correction_label,
                self.cancel_button)

    @property
    def correcting(self) -> uuid.UUID | None:
        """The decision being corrected, while a correction is being written."""
        return self._correcting

    def set_standing_decision(self, text: str | None) -> None:
        """A one-line account of the decision on a decided case (None: no decision)."""
        self.standing_label.setText(text or "")
        self.standing_label.setVisible(bool(text))
        self.correct_button.setVisible(bool(text) and self._correcting is None)

    def begin(self, decision_id: uuid.UUID, policy_code: str, action: str,
              summary: str) -> None:
        """Write a new decision that supersedes `decision_id` (pre-filled from it)."""
        self._correcting = decision_id
        self.form.clear_errors()
        self.messages.hide_notice()
        self.form.prefill(policy_code, action)
        self.correction_label.setText(
            f"Correcting: {summary}. The earlier decision is kept; the correction supersedes "
            "it. Write why it changes.")
        self._show_mode()
        self.form.policy_box.setFocus()

    def end(self) -> None:
        self._correcting = None
        self._show_mode()

    def reset(self) -> None:
        """A new case: no standing decision (until told), and no correction."""
        self._correcting = None
        self.set_standing_decision(None)
        self._show_mode()

    def _show_mode(self) -> None:
        correcting = self._correcting is not None
        self.correction_label.setVisible(correcting)
        self.cancel_button.setVisible(correcting)
        self.correct_button.setVisible(bool(self.standing_label.text()) and not correcting)
        self.form.set_correcting(correcting)
