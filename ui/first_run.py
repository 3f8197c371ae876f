"""The packaged app's first start: choose the demo or sign in to a team backend.

A packaged build is what a new reviewer double-clicks, so on its first start (no data
directory yet) it says what it is about to do instead of silently creating a demo. Running
from source, and `--screenshot`, go straight to the demo as before.
"""

from __future__ import annotations

import sys
from enum import Enum
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
    "Sign in with the backend service's address, user name and password your lead or admin "
    "gave you (they run the team's <tt>reviewer-server</tt> and make your account with "
    "<tt>reviewer-admin create-user</tt>; see <tt>docs/administration.md</tt>)."
)
DEMO_HELP = (
    "A synthetic week of a Trust & Safety team, made up by the app (no real material). "
    "You are signed in as Demo Reviewer."
)


class FirstRunChoice(Enum):
    DEMO = "demo"
    TEAM = "team"


def is_first_start(data_dir: Path) -> bool:
    """Whether nothing has been stored in `data_dir` yet."""
    return not data_dir.exists() or not any(data_dir.iterdir())


def should_offer_first_run(data_dir: Path, *, screenshot: bool) -> bool:
    """Only a packaged build asks, only on its first start, and never for a screenshot."""
    return bool(getattr(sys, "frozen", False)) and not screenshot and is_first_start(data_dir)


class FirstRunDialog(QDialog):
    """Start with the demo, or connect to a team backend (the sign-in dialog comes next)."""

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
        self.team.toggled.connect(
            lambda team: self.start_button.setText("&Next: sign in…" if team else "&Start"))
        layout = QVBoxLayout(self)
        for widget in (intro, self.demo, demo_help, self.team, team_help, buttons):
            layout.addWidget(widget)
        self.setMinimumWidth(560)
        self.adjustSize()

    @property
    def choice(self) -> FirstRunChoice:
        return FirstRunChoice.TEAM if self.team.isChecked() else FirstRunChoice.DEMO


def ask_first_run(data_dir: Path) -> FirstRunChoice | None:
    """Show the first-run choice; None when the user would rather not start."""
    dialog = FirstRunDialog(data_dir)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.choice
