"""What every form in the window shares: a problem shown next to its field, and Ctrl+Enter."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QWidget


def inline_error() -> QLabel:
    """A hidden, word-wrapped problem label; plain text, so no message is read as markup."""
    label = QLabel()
    label.setObjectName("fieldError")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.hide()
    return label


def submit_on_ctrl_enter(owner: QWidget, submit: Callable[[], object],
                         context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut) -> None:
    """Ctrl+Enter, on either Enter key, submits the form."""
    for keys in ("Ctrl+Return", "Ctrl+Enter"):
        shortcut = QShortcut(QKeySequence(keys), owner)
        shortcut.setContext(context)
        shortcut.activated.connect(submit)
