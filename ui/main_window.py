"""The main window: queue on the left, media in the centre, enforcement on the right."""

from __future__ import annotations

import uuid
from datetime import datetime

from PySide6.QtCore import QByteArray, QItemSelectionModel, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from reviewer.enforcement import DecisionDraft, DecisionRejected, record_decision
from reviewer.media.render import Renderer
from reviewer.sync.engine import SyncReport
from reviewer.sync.outbox import get_state, pending_count
from reviewer.workstation import Workstation
from ui.enforcement_panel import EnforcementPanel
from ui.queue_model import CaseQueueModel
from ui.tasks import TaskRunner
from ui.viewer import MediaViewer

SYNC_INTERVAL_MS = 60_000
SLA_TICK_MS = 1_000


class MainWindow(QMainWindow):
    def __init__(self, workstation: Workstation, tasks: TaskRunner, renderer: Renderer,
                 settings: QSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.workstation = workstation
        self.tasks = tasks
        self.settings = settings
        self._syncing = False
        self.setWindowTitle("Reviewer Workstation")

        self.queue_model = CaseQueueModel(workstation.replica.sessions, workstation.clock, self)
        self.queue_view = QTableView()
        self.queue_view.setObjectName("queue")
        self.queue_view.setAccessibleName("Case queue")
        self.queue_view.setModel(self.queue_model)
        self.queue_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.queue_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.queue_view.setAlternatingRowColors(True)
        self.queue_view.setWordWrap(False)
        self.queue_view.verticalHeader().hide()
        self.queue_view.verticalHeader().setDefaultSectionSize(26)
        header = self.queue_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in enumerate((132, 92, 150, 118, 118, 150, 44, 74, 110, 50)):
            header.resizeSection(column, width)

        queue_panel = QWidget()
        queue_layout = QVBoxLayout(queue_panel)
        queue_layout.setContentsMargins(8, 8, 0, 8)
        self.queue_heading = QLabel("Open cases")
        self.queue_heading.setObjectName("panelHeading")
        queue_layout.addWidget(self.queue_heading)
        queue_layout.addWidget(self.queue_view)

        self.viewer = MediaViewer(tasks, renderer, workstation.media_bytes)
        self.panel = EnforcementPanel(workstation.taxonomy)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(queue_panel)
        self.splitter.addWidget(self.viewer)
        self.splitter.addWidget(self.panel)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([640, 640, 380])
        self.setCentralWidget(self.splitter)

        self._build_status_bar()
        self._build_actions()

        self.queue_view.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.panel.submitted.connect(self._on_submitted)
        self.queue_model.modelReset.connect(self._update_heading)
        self.queue_model.rowsRemoved.connect(self._update_heading)

        self.sla_timer = QTimer(self)
        self.sla_timer.setInterval(SLA_TICK_MS)
        self.sla_timer.timeout.connect(self._tick_sla)
        self.sla_timer.start()
        self.sync_timer = QTimer(self)
        self.sync_timer.setInterval(SYNC_INTERVAL_MS)
        self.sync_timer.timeout.connect(self.start_sync)
        self.sync_timer.start()
        self.restore_layout()

    # -- construction ----------------------------------------------------------------------

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        reviewer = self.workstation.reviewer()
        self.user_label = QLabel(reviewer.display_name if reviewer else "Demo Reviewer")
        self.sync_label = QLabel("Not synced yet")
        self.pending_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(True)
        self.progress.hide()
        bar.addWidget(self.user_label)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.pending_label)
        bar.addPermanentWidget(self.sync_label)
        self._update_pending()

    def _build_actions(self) -> None:
        menu = self.menuBar().addMenu("&Case")
        self.focus_queue_action = QAction("Go to &queue", self)
        self.focus_queue_action.setShortcut(QKeySequence("Ctrl+1"))
        self.focus_queue_action.triggered.connect(self.queue_view.setFocus)
        self.focus_panel_action = QAction("Go to &decision", self)
        self.focus_panel_action.setShortcut(QKeySequence("Ctrl+2"))
        self.focus_panel_action.triggered.connect(self.panel.policy_box.setFocus)
        self.sync_action = QAction("&Sync now", self)
        self.sync_action.setShortcut(QKeySequence("F5"))
        self.sync_action.triggered.connect(self.start_sync)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        for action in (self.focus_queue_action, self.focus_panel_action, self.sync_action):
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(quit_action)

    # -- layout memory ---------------------------------------------------------------------

    def restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1600, 960)
        splitter = self.settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        columns = self.settings.value("queue/header")
        if isinstance(columns, QByteArray):
            self.queue_view.horizontalHeader().restoreState(columns)

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/splitter", self.splitter.saveState())
        self.settings.setValue("queue/header", self.queue_view.horizontalHeader().saveState())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt override
        self.save_layout()
        super().closeEvent(event)

    # -- queue -----------------------------------------------------------------------------

    def refresh_queue(self) -> None:
        current = self.current_case_id()
        self.queue_model.refresh()
        row = self.queue_model.row_of(current) if current else None
        if row is not None:
            self.select_row(row)

    def current_case_id(self) -> uuid.UUID | None:
        index = self.queue_view.currentIndex()
        return self.queue_model.case_id(index.row()) if index.isValid() else None

    def select_row(self, row: int) -> None:
        if not 0 <= row < self.queue_model.rowCount():
            return
        index = self.queue_model.index(row, 0)
        self.queue_view.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.queue_view.scrollTo(index)

    def _on_current_changed(self, current, _previous) -> None:
        case_id = self.queue_model.case_id(current.row()) if current.isValid() else None
        if case_id is None:
            self.viewer.clear()
            self.panel.set_case(None)
            return
        case = self.workstation.case(case_id)
        if case is None:
            self.viewer.clear("This case is no longer on this workstation.")
            self.panel.set_case(None)
            return
        self.viewer.show_case(case, list(case.media))
        self.panel.set_case(case)

    def _update_heading(self, *_args) -> None:
        self.queue_heading.setText(f"Open cases ({self.queue_model.rowCount():,})")

    def _tick_sla(self) -> None:
        view = self.queue_view
        first = view.rowAt(0)
        last = view.rowAt(view.viewport().height() - 1)
        if first < 0:
            return
        if last < 0:
            last = self.queue_model.rowCount() - 1
        self.queue_model.tick(first, last)

    # -- deciding --------------------------------------------------------------------------

    def _on_submitted(self, draft: DecisionDraft) -> None:
        row = self.queue_view.currentIndex().row()
        try:
            decision = record_decision(
                self.workstation.replica.sessions, self.workstation.taxonomy,
                reviewer_id=self.workstation.reviewer_id,
                client_id=self.workstation.client_id, draft=draft,
                clock=self.workstation.clock,
            )
        except DecisionRejected as rejection:
            self.panel.show_problems(rejection.problems)
            return
        case_ref = self.viewer.title.text().split("  ·  ")[0]
        self.queue_model.remove_case(draft.case_id)
        self.panel.show_recorded(
            f"Recorded: {decision.action.replace('_', ' ')} under {decision.policy_code} "
            f"on {case_ref}."
        )
        self.statusBar().showMessage(f"Decision on {case_ref} saved", 5000)
        self._update_pending()
        if self.queue_model.rowCount():
            self.select_row(min(row, self.queue_model.rowCount() - 1))
            self.panel.policy_box.setFocus()
        else:
            self.viewer.clear("The queue is empty. Well done.")
            self.panel.set_case(None)
        self.start_sync()

    # -- sync ------------------------------------------------------------------------------

    def start_sync(self, on_done=None) -> None:
        if self._syncing:
            return
        self._syncing = True
        self.sync_label.setText("Syncing…")
        self.tasks.run(
            self.workstation.synchronise,
            lambda report: self._on_synced(report, on_done),
            self._on_sync_failed,
            on_progress=self._on_progress,
            description="sync",
            owner=self,
        )

    def prepare_first_start(self, on_done=None) -> None:
        """Seed the embedded demo backend if it is new, then pull it into the replica."""
        self._syncing = True
        self.sync_label.setText("Preparing demo data…")
        self.queue_view.setEnabled(False)

        def work(progress):
            self.workstation.prepare_demo(progress)
            return self.workstation.synchronise(progress)

        self.tasks.run(
            work,
            lambda report: self._on_synced(report, on_done),
            self._on_sync_failed,
            on_progress=self._on_progress,
            description="first start",
            owner=self,
        )

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setVisible(done < total)

    def _on_synced(self, report: SyncReport, on_done=None) -> None:
        self._syncing = False
        self.progress.hide()
        self.queue_view.setEnabled(True)
        when = report.finished_at or datetime.now()
        self.sync_label.setText(f"Synced {when.astimezone():%H:%M}")
        self.sync_label.setToolTip(f"Last successful sync: {when:%Y-%m-%d %H:%M:%S} UTC")
        if report.rejected:
            QMessageBox.warning(
                self, "Some changes were refused",
                f"The backend refused {report.rejected} change(s). They are kept on this "
                "workstation with the reason, and a lead can review them.",
            )
        if report.pulled_rows:
            self.refresh_queue()
        self._update_pending()
        if on_done is not None:
            on_done()

    def _on_sync_failed(self, error: BaseException) -> None:
        self._syncing = False
        self.progress.hide()
        self.queue_view.setEnabled(True)
        self.sync_label.setText("Offline: sync failed")
        self.sync_label.setToolTip(f"The last sync failed: {error}. Work is kept locally.")
        self._update_pending()

    def _update_pending(self) -> None:
        with self.workstation.replica.sessions() as session:
            count = pending_count(session)
            last = get_state(session, "last_sync")
        self.pending_label.setText(f"{count} pending" if count else "All changes sent")
        if last and self.sync_label.text() == "Not synced yet":
            self.sync_label.setText(f"Synced {datetime.fromisoformat(last).astimezone():%H:%M}")
