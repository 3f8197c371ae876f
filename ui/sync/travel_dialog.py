"""Prepare for travel: choose a queue and how many cases to take offline."""

from __future__ import annotations

import uuid

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QProgressBar,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from reviewer.sync.offline_kit import KitEstimate, KitRefused, KitReport, kit_queues
from reviewer.workstation import Workstation
from ui.widgets.form_feedback import inline_error
from ui.widgets.tasks import TaskRunner

ESTIMATE_DELAY_MS = 300


def _size(data_bytes: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if data_bytes < 1024 or unit == "GB":
            return f"{data_bytes:,.0f} {unit}" if unit == "bytes" else f"{data_bytes:,.1f} {unit}"
        data_bytes /= 1024  # type: ignore[assignment]
    return ""


class TravelDialog(QDialog):
    """Leases the chosen cases for the kit's period and downloads them, with progress."""

    def __init__(self, workstation: Workstation, tasks: TaskRunner,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Prepare for travel")
        self.workstation = workstation
        self.tasks = tasks
        self.report: KitReport | None = None
        self.queue_box = QComboBox()
        self.queue_box.setAccessibleName("Queue to take offline")
        for queue_id, name in kit_queues(workstation.replica, workstation.taxonomy):
            self.queue_box.addItem(name, str(queue_id))
        self.count_box = QSpinBox()
        self.count_box.setRange(1, 2000)
        self.count_box.setValue(200)
        self.count_box.setAccessibleName("Number of cases")
        self.estimate_label = QLabel("Estimating…")
        self.estimate_label.setWordWrap(True)
        hours = workstation.kit_duration.total_seconds() / 3600
        explanation = QLabel(
            f"The cases are leased to you for {hours:.0f} hours, so nobody else works them, "
            "and downloaded with their media now. Offline you work as usual; your decisions "
            "are sent when you are back online. Child-safety cases never go offline.")
        explanation.setWordWrap(True)
        explanation.setObjectName("muted")
        self.progress = QProgressBar()
        self.progress.hide()
        self.error = inline_error()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton("Lease and download",
                                                   QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("&Queue", self.queue_box)
        form.addRow("&Cases", self.count_box)
        form.addRow("Download", self.estimate_label)
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._estimate_timer = QTimer(self)
        self._estimate_timer.setSingleShot(True)
        self._estimate_timer.setInterval(ESTIMATE_DELAY_MS)
        self._estimate_timer.timeout.connect(self.estimate)
        self.queue_box.currentIndexChanged.connect(lambda _i: self._estimate_timer.start())
        self.count_box.valueChanged.connect(lambda _v: self._estimate_timer.start())
        self.estimate()

    def _queue_id(self) -> uuid.UUID | None:
        data = self.queue_box.currentData()
        return uuid.UUID(data) if data else None

    def estimate(self) -> None:
        queue_id = self._queue_id()
        if queue_id is None:
            self.estimate_label.setText("No queue you work can go offline.")
            self.start_button.setEnabled(False)
            return
        count = self.count_box.value()
        self.tasks.run(lambda: self.workstation.estimate_travel_kit(queue_id, count),
                       self._show_estimate, self._show_error, description="kit estimate",
                       owner=self)

    def _show_estimate(self, estimate: KitEstimate) -> None:
        self.start_button.setEnabled(estimate.planned > 0)
        self.estimate_label.setText(
            f"{estimate.planned} of {estimate.available} open cases in {estimate.queue_name}, "
            f"about {_size(estimate.download_bytes)}")

    def _show_error(self, error: BaseException) -> None:
        self.progress.hide()
        self.error.show()
        self.start_button.setEnabled(True)
        if isinstance(error, KitRefused):
            self.error.setText(str(error))
        else:
            self.error.setText(f"The backend could not be reached ({error}). Connect to the "
                               "network and try again before you leave.")

    def start(self) -> None:
        queue_id = self._queue_id()
        if queue_id is None:
            return
        count = self.count_box.value()
        self.error.clear()
        self.error.hide()
        self.start_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.tasks.run(lambda progress: self.workstation.prepare_travel_kit(
                           queue_id, count, progress),
                       self._done, self._show_error, on_progress=self._progress,
                       description="prepare for travel", owner=self)

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _done(self, report: KitReport) -> None:
        self.report = report
        self.progress.hide()
        self.accept()

