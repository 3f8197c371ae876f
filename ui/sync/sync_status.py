"""Sync in the window: when it runs, and what the status bar says about it.

`SyncStatus` runs the workstation's sync engine in the background (on demand, at first
start, and whenever the engine says one is due: its interval, or its backoff after a
failure), shows online / offline / syncing, the last good sync, the retry countdown and
the changes still to send, and publishes `Changes(synced=True)` on the window's
`ChangeBus` after each sync, so every view takes in what it pulled.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QMessageBox, QProgressBar, QWidget

from reviewer.sync.engine import SyncReport
from reviewer.workstation import Workstation
from ui.widgets.changes import ChangeBus, Changes
from ui.widgets.tasks import TaskRunner

SYNC_POLL_MS = 5_000


class SyncStatus(QObject):
    synced = Signal()
    """A sync finished (after the views took in what it pulled)."""
    idle = Signal()
    """No sync is running any more (it finished or failed)."""

    def __init__(self, workstation: Workstation, tasks: TaskRunner, changes: ChangeBus,
                 window: QWidget) -> None:
        super().__init__(window)
        self.workstation = workstation
        self.tasks = tasks
        self.changes = changes
        self.window = window
        self._syncing = False
        self._sync_again = False
        self.label = QLabel("Not synced yet")
        self.pending_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(True)
        self.progress.hide()
        # The engine knows when the next sync is due (its interval, or its backoff after a
        # failure); the timer only asks often enough for the status bar to stay current.
        self.timer = QTimer(self)
        self.timer.setInterval(SYNC_POLL_MS)
        self.timer.timeout.connect(self._background_sync)
        self.timer.start()

    @property
    def running(self) -> bool:
        return self._syncing

    def start(self, on_done: Callable[[], None] | None = None) -> None:
        if self._syncing:
            self._sync_again = True  # new work arrived during this sync: go once more after
            return
        self._sync_again = False
        self._syncing = True
        self.label.setText("Syncing…")
        self.tasks.run(
            self.workstation.synchronise,
            lambda report: self._on_synced(report, on_done),
            self._on_sync_failed,
            on_progress=self._on_progress,
            description="sync",
            owner=self,
        )

    def first_start(self, on_done: Callable[[], None] | None = None) -> None:
        """Seed the embedded demo backend if it is new, then pull it into the replica."""
        self._syncing = True
        self.label.setText("Preparing demo data…")
        workstation = self.workstation

        def work(progress):  # type: ignore[no-untyped-def]
            workstation.prepare_demo(progress)
            return workstation.synchronise(progress)

        self.tasks.run(
            work,
            lambda report: self._on_synced(report, on_done),
            self._on_sync_failed,
            on_progress=self._on_progress,
            description="first start",
            owner=self,
        )

    def request(self) -> None:
        """Send new work soon: now when online; when offline, at the next planned retry."""
        status = self.workstation.sync.status()
        if status.failures and status.retry_in(self.workstation.clock.now()) is not None:
            return
        self.start()

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setVisible(done < total)

    def _on_synced(self, report: SyncReport, on_done: Callable[[], None] | None = None) -> None:
        self._syncing = False
        self.progress.hide()
        self.idle.emit()
        self.update_label()
        if report.rejected:
            QMessageBox.warning(
                self.window, "Some changes were refused",
                f"The backend refused {report.rejected} change(s). They are kept on this "
                "workstation with the reason, and a lead can review them.",
            )
        self.update_pending()
        self.changes.publish(Changes(queue=bool(report.pulled_rows), synced=True))
        self.synced.emit()
        if on_done is not None:
            on_done()
        if self._sync_again:
            self.start()

    def _on_sync_failed(self, error: BaseException) -> None:
        self._syncing = False
        self.progress.hide()
        self.idle.emit()
        self.update_label()
        self.update_pending()
        if self._sync_again:
            self._sync_again = False  # the backoff decides when to try again

    def _background_sync(self) -> None:
        if self._syncing:
            return
        self._syncing = True
        self.tasks.run(self.workstation.sync.sync_if_due, self._on_background_sync,
                       self._on_sync_failed, description="background sync", owner=self)

    def _on_background_sync(self, report: SyncReport | None) -> None:
        if report is None:  # not due yet, or it failed (the status says why)
            self._syncing = False
            self.update_label()
            self.update_pending()
            if self._sync_again:
                self.request()
            return
        self._on_synced(report)

    def update_label(self) -> None:
        """Online / offline / syncing, the last good sync, and when the next try is."""
        status = self.workstation.sync.status()
        now = self.workstation.clock.now()
        parts = [status.connection.label]
        if status.last_success_at is not None:
            parts.append(f"synced {status.last_success_at.astimezone():%H:%M}")
        retry = status.retry_in(now)
        if retry is not None and status.failures:
            parts.append(f"retrying in {int(retry.total_seconds())} s")
        self.label.setText(" · ".join(parts))
        tip = "Your work is saved on this workstation and sent when the backend answers."
        if status.last_error:
            tip = f"{status.last_error}\n{tip}"
        self.label.setToolTip(tip)

    def update_pending(self) -> None:
        count, last = self.workstation.unsent()
        self.pending_label.setText(f"{count} pending" if count else "All changes sent")
        if last is not None and self.label.text() == "Not synced yet":
            self.label.setText(f"Synced {last.astimezone():%H:%M}")
