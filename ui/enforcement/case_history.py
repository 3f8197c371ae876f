"""The case's history in the enforcement panel: decisions, escalations, replies and notes,
oldest first, under a collapsible "History" (Ctrl+H).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QLabel, QToolButton, QWidget

from reviewer.enforcement.escalation import ThreadEntry

MAX_THREAD_TEXT_CHARS = 600


class CaseHistory(QObject):
    """The "History (n)" toggle and the thread it opens: `widgets`, laid out by the panel."""

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self._thread: list[ThreadEntry] = []
        self.button = QToolButton()
        self.button.setCheckable(True)
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.button.setArrowType(Qt.ArrowType.RightArrow)
        self.button.setAutoRaise(True)
        self.button.toggled.connect(self._on_toggled)
        self.label = QLabel()
        self.label.setObjectName("notes")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAccessibleName("Case history")
        self.label.hide()

    @property
    def widgets(self) -> tuple[QWidget, ...]:
        return (self.button, self.label)

    def set_thread(self, entries: Sequence[ThreadEntry]) -> None:
        """The case's history, oldest first, shown under the collapsible "History"."""
        self._thread = list(entries)
        self.button.setText(f"History ({len(self._thread)})  Ctrl+H")
        lines = []
        for entry in self._thread:
            who = f"{entry.actor}: " if entry.actor else ""
            lines.append(f"{entry.at.astimezone():%a %d %b %H:%M}  {who}{entry.summary}")
            text = entry.text.strip()
            if text:
                if len(text) > MAX_THREAD_TEXT_CHARS:
                    text = text[:MAX_THREAD_TEXT_CHARS - 1] + "…"
                lines.append("    " + text.replace("\n", "\n    "))
        self.label.setText("\n".join(lines) if lines else "Nothing has happened yet.")

    def thread(self) -> list[ThreadEntry]:
        return list(self._thread)

    def toggle(self) -> None:
        self.button.toggle()

    def _on_toggled(self, shown: bool) -> None:
        self.button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.label.setVisible(shown)
