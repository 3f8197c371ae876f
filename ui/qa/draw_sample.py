"""Drawing a sample for the auditor (Ctrl+Shift+S in the Audit window): what to draw, and
the draw itself in the background, where the decisions to draw from are.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time

from PySide6.QtCore import QDate, QObject, Signal
from PySide6.QtWidgets import (
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.qa.sampling import DEFAULT_RATE
from reviewer.store.database import BackendUnavailable
from reviewer.sync.link import DrawnSample
from reviewer.workstation import Workstation
from ui.widgets.form_feedback import inline_error
from ui.widgets.tasks import TaskRunner

OFFLINE_DRAW = ("Drawing a sample needs the team backend; you are offline. Try again once "
                "the workstation is back online.")


class DrawSampleDialog(QDialog):
    """What to draw: decisions since a day, at a rate, with an optional seed."""

    def __init__(self, today: QDate, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Draw a sample")
        self.since = QDateEdit(today.addDays(-7))
        self.since.setCalendarPopup(True)
        self.since.setDisplayFormat("yyyy-MM-dd")
        self.rate = QDoubleSpinBox()
        self.rate.setRange(0.1, 100.0)
        self.rate.setSuffix(" %")
        self.rate.setValue(DEFAULT_RATE * 100)
        self.seed = QLineEdit()
        self.seed.setPlaceholderText("a new one (shown afterwards)")
        self.problem = inline_error()
        form = QFormLayout()
        form.addRow("Decisions made &since", self.since)
        form.addRow("&Rate (severe actions ×3, new reviewers 20%)", self.rate)
        form.addRow("S&eed, to draw a known sample again", self.seed)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Draw")
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

    def _check(self) -> None:
        text = self.seed.text().strip()
        if text and not text.isdigit():
            self.problem.setText("The seed is a whole number, or empty for a new one.")
            self.problem.show()
            return
        self.accept()

    def choice(self) -> tuple[datetime, float, int]:
        day = self.since.date().toPython()
        text = self.seed.text().strip()
        seed = int(text) if text else random.SystemRandom().getrandbits(63)
        return (datetime.combine(day, time(0), tzinfo=UTC), self.rate.value() / 100, seed)


class SampleDrawing(QObject):
    """Asks what to draw and draws it in the background; `button` is disabled meanwhile.

    Emits ``drawn(text)`` with what was drawn, in words, or ``failed(text)`` with why not.
    """

    drawn = Signal(str)
    failed = Signal(str)

    def __init__(self, workstation: Workstation, tasks: TaskRunner, button: QPushButton,
                 window: QWidget):
        super().__init__(window)
        self.workstation = workstation
        self.tasks = tasks
        self.button = button
        self.window = window

    def ask(self) -> None:
        today = self.workstation.clock.now().date()
        dialog = DrawSampleDialog(QDate(today.year, today.month, today.day), self.window)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.start(*dialog.choice())

    def start(self, since: datetime, rate: float, seed: int) -> None:
        """Draw a sample for yourself, in the background.

        On a PostgreSQL team backend the sample is drawn there (its sampling frame holds the
        decisions your replica does not: row-level security shows an auditor only what was
        sampled for them), then a sync brings it here; offline that cannot be done. On the
        embedded backend it is drawn from the decisions on this workstation and reaches the
        backend with the next sync."""
        workstation = self.workstation

        def work() -> tuple[DrawnSample, str | None]:
            return workstation.draw_sample(since, rate, seed)

        self.button.setEnabled(False)
        self.tasks.run(work, self._on_drawn, self._on_failed, description="draw sample",
                       owner=self)

    def _on_drawn(self, result: tuple[DrawnSample, str | None]) -> None:
        stored, sync_error = result
        self.button.setEnabled(True)
        left_out = stored.already_sampled + stored.own_decisions
        text = (f"Drew {stored.stored} of {stored.population} decisions for you with "
                f"seed {stored.seed}" + (f" ({left_out} left out: already yours to "
                                                "audit, or your own)" if left_out else "") + ".")
        if sync_error is not None:
            text += (" They are kept on the team backend and arrive here with the next "
                     f"successful sync (this one failed: {sync_error}).")
        self.drawn.emit(text)

    def _on_failed(self, error: BaseException) -> None:
        self.button.setEnabled(True)
        self.failed.emit(OFFLINE_DRAW if isinstance(error, BackendUnavailable)
                         else f"No sample drawn: {error}")
