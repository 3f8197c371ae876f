"""What the enforcement panel says under the decision form: the confirmation of what was
recorded, the undo offer with its countdown, and why an action was refused.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget

from ui.widgets.form_feedback import inline_error


class MessageStrip(QObject):
    """The confirmation, the undo button and the refusal notice: `widgets`, laid out by
    the panel, which stay readable and usable while the decision form is disabled."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.confirmation = QLabel()
        self.confirmation.setObjectName("confirmation")
        self.confirmation.setWordWrap(True)
        self.confirmation.setTextFormat(Qt.TextFormat.PlainText)
        self.undo_button = QPushButton()
        self.undo_button.setAccessibleName("Undo the decision")
        self.undo_button.hide()
        self.notice = inline_error()

    @property
    def widgets(self) -> tuple[QWidget, ...]:
        return (self.confirmation, self.undo_button, self.notice)

    def show_confirmation(self, text: str) -> None:
        self.notice.hide()
        self.confirmation.setText(text)

    def append_confirmation(self, text: str) -> None:
        current = self.confirmation.text()
        self.confirmation.setText(f"{current} {text}" if current else text)

    def clear_confirmation(self) -> None:
        self.confirmation.clear()

    def show_refusal(self, text: str) -> None:
        """Why an action was refused, in plain words, until the next case or action."""
        self.notice.setText(text)
        self.notice.show()

    def hide_notice(self) -> None:
        self.notice.hide()

    def set_undo(self, text: str | None, about: str = "") -> None:
        """The undo offer's text (a countdown) and what it would undo, or None to withdraw
        the offer."""
        if text is None:
            self.undo_button.hide()
            return
        self.undo_button.setText(text)
        self.undo_button.setToolTip(about)
        self.undo_button.setAccessibleDescription(about)
        self.undo_button.show()
