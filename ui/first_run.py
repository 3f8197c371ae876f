"""The packaged app's first start: choose the demo or a team backend.

A packaged build is what a new reviewer double-clicks, so on its first start (no data
directory yet) it says what it is about to do instead of silently creating a demo. Running
from source, and `--screenshot`, go straight to the demo as before.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

TEAM_BACKEND_HELP = (
    "Team backends: see README. A lead or admin sets up the shared PostgreSQL backend with "
    "<tt>reviewer-admin init-backend</tt> and gives you its address; connecting to it from "
    "this window is not available yet."
)
DEMO_HELP = (
    "A synthetic week of a Trust & Safety team, made up by the app (no real material). "
    "You are signed in as Demo Reviewer."
)


def is_first_start(data_dir: Path) -> bool:
    """Whether nothing has been stored in `data_dir` yet."""
    return not data_dir.exists() or not any(data_dir.iterdir())


def should_offer_first_run(data_dir: Path, *, screenshot: bool) -> bool:
    """Only a packaged build asks, only on its first start, and never for a screenshot."""
    return bool(getattr(sys, "frozen", False)) and not screenshot and is_first_start(data_dir)


class FirstRunDialog(QDialog):
    """Start with the demo, or (later) connect to a team backend."""

    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Welcome to Reviewer Workstation")
        intro = QLabel(
            "<p><b>How do you want to start?</b></p>"
            f"<p>Your work is kept on this computer in <tt>{data_dir}</tt>.</p>"
        )
        intro.setWordWrap(True)
        self.demo = QRadioButton("Try the &demo")
        self.demo.setChecked(True)
        demo_help = QLabel(DEMO_HELP)
        demo_help.setTextFormat(Qt.TextFormat.PlainText)
        demo_help.setWordWrap(True)
        demo_help.setIndent(24)
        self.team = QRadioButton("Connect to my &team's backend")
        self.team.setEnabled(False)
        team_help = QLabel(TEAM_BACKEND_HELP)
        team_help.setObjectName("teamBackendHelp")
        team_help.setTextFormat(Qt.TextFormat.RichText)
        team_help.setWordWrap(True)
        team_help.setIndent(24)
        buttons = QDialogButtonBox()
        self.start_button = buttons.addButton("&Start", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (intro, self.demo, demo_help, self.team, team_help, buttons):
            layout.addWidget(widget)
        self.setMinimumWidth(560)
        self.adjustSize()


def ask_first_run(data_dir: Path) -> bool:
    """Show the first-run choice; False when the user would rather not start."""
    return FirstRunDialog(data_dir).exec() == QDialog.DialogCode.Accepted
