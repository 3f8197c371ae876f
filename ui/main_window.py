"""The main window: queue on the left, media in the centre, enforcement on the right.

It reads and writes the replica only through the workstation (`reviewer.workstation`),
and learns what an operation changed from the `ChangeBus` it shares with the actions
wired to it in `ui.app.build_main_window`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QItemSelectionModel,
    QPoint,
    QSettings,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from reviewer.enforcement.decisions import DecisionDraft, DecisionRejected
from reviewer.media.render import Renderer
from reviewer.queue.leases import Lease, LeaseError
from reviewer.queue.notes import NoteRejected
from reviewer.settings import QUEUE_HEADER, WINDOW_GEOMETRY, WINDOW_SPLITTER
from reviewer.vocabulary import Role
from reviewer.workstation import Workstation
from ui.about import AboutDialog
from ui.enforcement.panel import EnforcementPanel
from ui.queue.filters import QueueFilterBar
from ui.queue.model import CaseQueueModel
from ui.reports.case_report import export_case_report
from ui.reports.reports_view import ReportsWindow
from ui.sync.sync_status import SyncStatus
from ui.sync.travel_dialog import TravelDialog
from ui.viewer.media_viewer import MediaViewer
from ui.wellness.wellness_view import WellbeingDialog, WellnessController
from ui.widgets.changes import ChangeBus, Changes
from ui.widgets.settings_store import read_setting, write_setting
from ui.widgets.tasks import TaskRunner

SLA_TICK_MS = 1_000
LEASE_CHECK_MS = 30_000
RENEW_WHEN_LEFT_S = 10 * 60
SKIP_REASONS = (
    "Needs a language I don't read",
    "Conflict of interest",
    "Wellbeing: I need a break from this content",
    "Needs a specialist (legal, policy or product)",
)

if TYPE_CHECKING:
    pass


class MainWindow(QMainWindow):
    synced = Signal()
    """A sync finished (after the queue took in what it pulled)."""

    def __init__(self, workstation: Workstation, tasks: TaskRunner, renderer: Renderer,
                 settings: QSettings, *, changes: ChangeBus | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.workstation = workstation
        self.changes = changes if changes is not None else ChangeBus()
        self.changes.setParent(self)
        self.changes.changed.connect(self._on_changes)
        self.tasks = tasks
        self.settings = settings
        self.renderer = renderer
        self.reports_window: ReportsWindow | None = None
        self.lease: Lease | None = None
        self._claiming = False
        self._count_generation = 0
        self.display_name, self.role = workstation.identity()
        self.setWindowTitle("Reviewer Workstation")

        self.queue_model = CaseQueueModel(workstation.queue_pages, workstation.clock,
                                          workstation.weights, self)
        self.queue_model.area_names = {a.code: a.name for a in workstation.taxonomy.areas}
        self.queue_view = QTableView()
        self.queue_view.setObjectName("queue")
        self.queue_view.setAccessibleName("Case queue")
        self.queue_view.setModel(self.queue_model)
        self.queue_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.queue_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.queue_view.setAlternatingRowColors(True)
        self.queue_view.setWordWrap(False)
        self.queue_view.setTabKeyNavigation(False)  # Tab leaves the queue for the panel
        self.queue_view.verticalHeader().hide()
        self.queue_view.verticalHeader().setDefaultSectionSize(26)
        self.queue_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.queue_view.customContextMenuRequested.connect(self._queue_menu)
        header = self.queue_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setSectionsMovable(True)
        for column, width in enumerate((64, 96, 146, 112, 112, 132, 44, 50, 72, 104, 50)):
            header.resizeSection(column, width)
        self.queue_view.setSortingEnabled(True)
        header.setSortIndicator(CaseQueueModel.PRIORITY_COLUMN, Qt.SortOrder.DescendingOrder)

        self.filter_bar = QueueFilterBar(
            workstation.queues(),
            [(area.code, area.name) for area in workstation.taxonomy.areas],
            [],  # filled in the background: a scan of every case (see _refresh_filter_choices)
        )
        self.filter_bar.changed.connect(self._on_filter_changed)
        self._refresh_filter_choices()

        queue_panel = QWidget()
        queue_layout = QVBoxLayout(queue_panel)
        queue_layout.setContentsMargins(8, 8, 0, 8)
        self.queue_heading = QLabel("Cases")
        self.queue_heading.setObjectName("panelHeading")
        queue_layout.addWidget(self.queue_heading)
        queue_layout.addWidget(self.filter_bar)
        queue_layout.addWidget(self.queue_view, 1)

        self.wellness = WellnessController(workstation, settings, self)
        self.viewer = MediaViewer(tasks, renderer, workstation.media_bytes, settings,
                                  taxonomy=workstation.taxonomy, clock=workstation.clock,
                                  ledger=self.wellness.ledger)
        self.panel = EnforcementPanel(workstation.taxonomy)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(queue_panel)
        self.splitter.addWidget(self.viewer)
        self.splitter.addWidget(self.panel)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([700, 560, 360])
        self.setCentralWidget(self.splitter)

        self._build_status_bar()
        self._build_actions()
        self.wellness.attach(self, self.viewer)
        if self.wellness.load_problem:
            self.statusBar().showMessage(
                f"{self.wellness.load_problem}; today's exposure starts again from zero.", 15000)

        self.queue_view.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.panel.submitted.connect(self._on_submitted)
        self.panel.note_requested.connect(self.add_note)
        self.queue_model.query_changed.connect(self._start_count)
        self.queue_model.rowsRemoved.connect(self._start_count)

        self.sla_timer = QTimer(self)
        self.sla_timer.setInterval(SLA_TICK_MS)
        self.sla_timer.timeout.connect(self._tick)
        self.sla_timer.start()
        self.lease_timer = QTimer(self)
        self.lease_timer.setInterval(LEASE_CHECK_MS)
        self.lease_timer.timeout.connect(self._keep_lease)
        self.lease_timer.start()
        self.restore_layout()
        self.queue_view.setFocus()

    def add_help_menu(self) -> None:
        """The Help menu, last in the menu bar (after the menus the actions add)."""
        help_menu = self.menuBar().addMenu("&Help")
        about_action = help_menu.addAction("&About Reviewer Workstation…")
        about_action.setMenuRole(QAction.MenuRole.AboutRole)
        about_action.triggered.connect(self.show_about)

    # -- construction ----------------------------------------------------------------------

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.user_label = QLabel(f"{self.display_name} ({self.role})")
        self.lease_status = QLabel()
        self.sync_status = SyncStatus(self.workstation, self.tasks, self.changes, self)
        self.sync_status.idle.connect(lambda: self.queue_view.setEnabled(True))
        self.sync_status.synced.connect(self.synced)
        self.sync_label = self.sync_status.label
        self.pending_label = self.sync_status.pending_label
        self.progress = self.sync_status.progress
        self.sync_timer = self.sync_status.timer
        bar.addWidget(self.user_label)
        bar.addWidget(self.lease_status)
        bar.addWidget(self.wellness.status_label)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.pending_label)
        bar.addPermanentWidget(self.sync_label)
        self._update_pending()

    def _action(self, menu: QMenu, text: str, keys: str | QKeySequence.StandardKey, slot,
                widgets: tuple[QWidget, ...] = ()) -> QAction:
        """A menu action; with ``widgets``, its key works only while focus is inside them."""
        action = QAction(text, self)
        action.setShortcut(QKeySequence(keys))
        action.triggered.connect(slot)
        menu.addAction(action)
        if widgets:
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            for widget in widgets:
                widget.addAction(action)
        else:
            self.addAction(action)
        return action

    def _build_actions(self) -> None:
        case_menu = self.menuBar().addMenu("&Case")
        # Single letters act only in the queue and the viewer: in the decision panel the
        # same keys choose policies and actions and type the rationale.
        work_area = (self.queue_view, self.viewer)
        self.get_next_action = self._action(case_menu, "Get &next case", "N", self.get_next,
                                            work_area)
        self.skip_action = self._action(case_menu, "&Skip (release with a reason)", "S",
                                        self.skip, work_area)
        self.note_action = self._action(case_menu, "Add handoff &note…", "Ctrl+Shift+N",
                                        self.add_note)
        case_menu.addSeparator()
        self._action(case_menu, "Go to &queue", "Ctrl+1", self.queue_view.setFocus)
        self._action(case_menu, "Go to &decision", "Ctrl+2", self.panel.policy_box.setFocus)
        self._action(case_menu, "Go to &media", "Ctrl+3", self.viewer.canvas.setFocus)
        self._action(case_menu, "&Search cases", "Ctrl+F", self._focus_search)
        self._action(case_menu, "&Clear filters", "Ctrl+Shift+X", self.filter_bar.clear)
        case_menu.addSeparator()
        self._action(case_menu, "Prepare for &travel…", "Ctrl+Shift+T", self.prepare_travel)
        self._action(case_menu, "My &wellbeing…", "Ctrl+Shift+W", self.show_wellbeing)
        self._action(case_menu, "Case investigation &report (PDF)…", "Ctrl+P",
                     self.export_case_report)
        self._action(case_menu, "Reports and charts…", "Ctrl+Alt+R", self.show_reports)
        self._action(case_menu, "Take a &break now", "Ctrl+Shift+B", self.wellness.start_break)
        case_menu.addSeparator()
        self.sync_action = self._action(case_menu, "S&ync now", "F5", self.start_sync)
        self._action(case_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)


    def _focus_search(self) -> None:
        self.filter_bar.search.setFocus()
        self.filter_bar.search.selectAll()

    # -- layout memory ---------------------------------------------------------------------

    def restore_layout(self) -> None:
        geometry = read_setting(self.settings, WINDOW_GEOMETRY)
        if geometry:
            self.restoreGeometry(geometry)
        else:
            self.resize(1600, 960)
        if splitter := read_setting(self.settings, WINDOW_SPLITTER):
            self.splitter.restoreState(splitter)
        if columns := read_setting(self.settings, QUEUE_HEADER):
            self.queue_view.horizontalHeader().restoreState(columns)

    def save_layout(self) -> None:
        write_setting(self.settings, WINDOW_GEOMETRY, self.saveGeometry())
        write_setting(self.settings, WINDOW_SPLITTER, self.splitter.saveState())
        write_setting(self.settings, QUEUE_HEADER,
                      self.queue_view.horizontalHeader().saveState())
        self.settings.sync()

    def prepare_travel(self) -> None:
        dialog = TravelDialog(self.workstation, self.tasks, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._after_travel(dialog.report))
        dialog.open()

    def _after_travel(self, report) -> None:  # type: ignore[no-untyped-def]
        self.changes.publish(Changes(queue=True))
        if report is not None:
            hours = report.expires_in.total_seconds() / 3600
            self.statusBar().showMessage(
                f"{report.leased} cases are yours for {hours:.0f} hours and on this "
                "workstation: you can review them offline (Mine only shows them).", 15000)

    def show_about(self) -> None:
        dialog = AboutDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def show_wellbeing(self) -> None:
        self.wellness.save()
        dialog = WellbeingDialog(self.wellness, self.role, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def export_case_report(self, path=None) -> None:  # type: ignore[no-untyped-def]
        """A PDF of the current case with blurred thumbnails only (ui/reports/case_report.py)."""
        case_id = self.current_case_id()
        if case_id is None:
            self.statusBar().showMessage("Select a case to make its report.", 5000)
            return
        export_case_report(self, self.workstation, self.tasks, self.renderer, case_id, path,
                           on_done=lambda message: self.statusBar().showMessage(message, 15000))

    def show_reports(self) -> None:
        if self.reports_window is None:
            self.reports_window = ReportsWindow(
                self.workstation.reports, self.workstation.clock, self.tasks,
                {area.code: area.name for area in self.workstation.taxonomy.areas}, self,
                client_id=self.workstation.client_id, actor_id=self.workstation.reviewer_id)
        self.reports_window.show()
        self.reports_window.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt override
        self.wellness.close()
        self.save_layout()
        super().closeEvent(event)

    # -- what operations changed --------------------------------------------------------------

    def _on_changes(self, changes: Changes) -> None:
        """The one place the window refreshes after an operation (its own or an action's)."""
        if changes.synced and changes.queue:
            self._refresh_filter_choices()  # new queues or languages may have arrived
        if changes.queue:
            self.refresh_queue()
        if changes.outbox:
            self._update_pending()
            self.request_sync()

    # -- queue -----------------------------------------------------------------------------

    def refresh_queue(self) -> None:
        current = self.current_case_id()
        self.queue_model.refresh()
        row = self.queue_model.row_of(current)
        if row is not None:
            self.select_row(row)

    def _on_filter_changed(self, query) -> None:
        self.queue_model.set_filter(query)

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

    def open_case(self, case_id: uuid.UUID) -> None:
        """Show a case, selecting its row when it is in the current view."""
        row = self.queue_model.row_of(case_id)
        if row is not None:
            self.select_row(row)
        else:
            self._show_case(case_id)

    def case_left_queue(self, case_id: uuid.UUID, *, from_row: int | None = None) -> None:
        """The case is no longer the reviewer's to decide (decided, escalated): take it off
        the page and move on to the row in its place (or the one after ``from_row`` when
        the case was not on the page), or say the queue is empty."""
        row = self.queue_model.row_of(case_id)
        if row is None:
            if from_row is None:
                return
            row = from_row
        self.queue_model.remove_case(case_id)
        if self.queue_model.rowCount():
            self.select_row(min(max(row, 0), self.queue_model.rowCount() - 1))
            # Back to the queue: N takes the next case, ↓ previews, Ctrl+2 decides.
            self.queue_view.setFocus()
        else:
            self.viewer.clear("The queue is empty. Well done.")
            self.panel.set_case(None)

    def filter_by_status(self, status: str) -> None:
        """Show the cases in ``status`` (the filter bar says so), focus on the queue."""
        combo = self.filter_bar.combos["status"]
        combo.setCurrentIndex(combo.findData(status))
        self.queue_view.setFocus()

    def _on_current_changed(self, current, _previous) -> None:
        case_id = self.queue_model.case_id(current.row()) if current.isValid() else None
        if case_id is None:
            self.viewer.clear()
            self.panel.set_case(None)
            return
        self._show_case(case_id)

    def _show_case(self, case_id: uuid.UUID) -> None:
        case = self.workstation.case(case_id)
        if case is None:
            self.viewer.clear("This case is no longer on this workstation.")
            self.panel.set_case(None)
            return
        self.viewer.show_case(case, list(case.media))
        self.panel.set_case(case)
        self._show_notes(case_id)
        self._update_lease_text()

    def _show_notes(self, case_id: uuid.UUID) -> None:
        self.panel.set_notes([
            (author, f"{note.created_at.astimezone():%a %d %b %H:%M}", note.body)
            for note, author in self.workstation.notes(case_id)
        ])

    def _start_count(self, *_args) -> None:
        self._count_generation += 1
        generation = self._count_generation
        query = self.queue_model.filter
        workstation = self.workstation

        def count() -> int:
            return workstation.count_cases(query)

        self.tasks.run(count, lambda total: self._show_count(generation, total),
                       description="count cases", owner=self)

    def _show_count(self, generation: int, total: int) -> None:
        if generation != self._count_generation:
            return
        filtered = "" if self.queue_model.filter.is_default() else " (filtered)"
        self.queue_heading.setText(f"Cases: {total:,}{filtered}")

    def _tick(self) -> None:
        view = self.queue_view
        first = view.rowAt(0)
        last = view.rowAt(view.viewport().height() - 1)
        if first >= 0:
            if last < 0:
                last = self.queue_model.rowCount() - 1
            self.queue_model.tick(first, last)
        self._update_lease_text()
        if self.workstation.sync.status().failures:
            self.sync_status.update_label()  # keep the retry countdown moving

    # -- leases ----------------------------------------------------------------------------

    def get_next(self) -> None:
        if self._claiming:
            return
        self._claiming = True
        self.statusBar().showMessage("Finding the next case for you…")
        self.tasks.run(self.workstation.get_next_case, self._on_got_next, self._on_lease_error,
                       description="get next case", owner=self)

    def _on_got_next(self, lease: Lease | None) -> None:
        self._claiming = False
        if lease is None:
            self.statusBar().showMessage("No open case is waiting in your queues.", 8000)
            return
        self.lease = lease
        self.changes.publish(Changes.of_case(lease.case_id, queue=True))
        self.open_case(lease.case_id)
        self.panel.policy_box.setFocus()
        case = self.workstation.case(lease.case_id)
        self.statusBar().showMessage(
            f"You have {case.external_ref if case else 'the case'} for "
            f"{self.workstation.lease_duration.seconds // 60} minutes", 5000)

    def _on_lease_error(self, error: BaseException) -> None:
        self._claiming = False
        if isinstance(error, LeaseError):
            message = str(error)
        else:
            message = ("the backend could not be reached; work on the cases already on "
                       f"this workstation ({error.__class__.__name__})")
        self.statusBar().showMessage(f"Could not take a case: {message}", 10000)

    def skip(self) -> None:
        case_id = self.current_case_id()
        lease = self.lease
        if lease is None or lease.case_id != case_id:
            self.statusBar().showMessage(
                "You hold no lease on this case; nothing to skip. Press N for the next case.",
                6000)
            return
        reason, ok = QInputDialog.getItem(
            self, "Skip this case", "Why are you skipping it? The next shift sees this.",
            list(SKIP_REASONS), 0, True)
        if not ok or not reason.strip():
            return
        self.lease = None
        self.tasks.run(lambda: self.workstation.skip(lease, reason),
                       lambda _r: self._after_skip(), self._on_lease_error,
                       description="skip", owner=self)

    def _after_skip(self) -> None:
        self.changes.publish(Changes(queue=True))
        self._update_lease_text()
        self.statusBar().showMessage("Case returned to the queue.", 5000)

    def _keep_lease(self) -> None:
        lease = self.lease
        if lease is None:
            return
        now = self.workstation.clock.now()
        if lease.time_left(now).total_seconds() > RENEW_WHEN_LEFT_S:
            return
        self.tasks.run(lambda: self.workstation.renew(lease), self._on_renewed,
                       self._on_lease_lost, description="renew lease", owner=self)

    def _on_renewed(self, lease: Lease) -> None:
        if self.lease is not None and self.lease.case_id == lease.case_id:
            self.lease = lease
        self._update_lease_text()

    def _on_lease_lost(self, error: BaseException) -> None:
        if isinstance(error, LeaseError):
            self.lease = None
            QMessageBox.warning(self, "Lease ended", f"{error}. Your work so far is kept.")
        self._update_lease_text()

    def _update_lease_text(self) -> None:
        lease = self.lease
        if lease is None:
            self.lease_status.setText("No case leased · N for the next one")
            self.panel.set_lease_text("")
            return
        left = lease.time_left(self.workstation.clock.now()).total_seconds()
        minutes, seconds = divmod(max(int(left), 0), 60)
        text = f"Lease: {minutes:02d}:{seconds:02d} left (renewed while open)"
        self.lease_status.setText(text)
        self.panel.set_lease_text(text if lease.case_id == self.current_case_id() else "")

    def _queue_menu(self, position: QPoint) -> None:
        index = self.queue_view.indexAt(position)
        case_id = self.queue_model.case_id(index.row()) if index.isValid() else None
        if case_id is None or self.role not in (Role.LEAD.value, Role.ADMIN.value):
            return
        menu = QMenu(self)
        menu.addAction("Release lease", lambda: self._reassign(case_id, None))
        menu.addAction("Reassign lease to…", lambda: self._choose_reassignee(case_id))
        menu.exec(self.queue_view.viewport().mapToGlobal(position))

    def _choose_reassignee(self, case_id: uuid.UUID) -> None:
        people = self.workstation.active_people()
        name, ok = QInputDialog.getItem(self, "Reassign lease", "Give this case to:",
                                        [n for n, _ in people], 0, False)
        if ok:
            self._reassign(case_id, dict(people)[name])

    def _reassign(self, case_id: uuid.UUID, to: uuid.UUID | None) -> None:
        workstation = self.workstation

        def work() -> None:
            workstation.reassign(case_id, to, reason="by a lead")

        self.tasks.run(work, lambda _r: self.changes.publish(Changes.of_case(case_id, queue=True)),
                       self._on_lease_error, description="reassign", owner=self)

    # -- notes -----------------------------------------------------------------------------

    def add_note(self) -> None:
        case_id = self.current_case_id()
        if case_id is None:
            return
        text, ok = QInputDialog.getMultiLineText(
            self, "Handoff note", "A note for the next shift on this case:")
        if not ok:
            return
        try:
            self.workstation.add_note(case_id, text)
        except NoteRejected as rejection:
            QMessageBox.information(self, "Note not saved", str(rejection))
            return
        self._show_notes(case_id)
        self.changes.publish(Changes.of_case(case_id, queue=True, outbox=True))
        self.open_case(case_id)

    # -- deciding --------------------------------------------------------------------------

    def _on_submitted(self, draft: DecisionDraft) -> None:
        row = self.queue_view.currentIndex().row()
        try:
            decision = self.workstation.enforcement.decide(draft)
        except DecisionRejected as rejection:
            self.panel.show_problems(rejection.problems)
            return
        case_ref = self.viewer.title.text().split("  ·  ")[0]
        if self.lease is not None and self.lease.case_id == draft.case_id:
            self.lease = None  # the backend ends the lease when the decision arrives
        self.panel.show_recorded(
            f"Recorded: {decision.action.replace('_', ' ')} under {decision.policy_code} "
            f"on {case_ref}."
        )
        self.statusBar().showMessage(f"Decision on {case_ref} saved", 5000)
        self._update_lease_text()
        self.case_left_queue(draft.case_id, from_row=row)
        self.changes.publish(Changes.of_case(draft.case_id, outbox=True))

    # -- sync ------------------------------------------------------------------------------

    def start_sync(self, on_done=None) -> None:
        self.sync_status.start(on_done)

    def prepare_first_start(self, on_done=None) -> None:
        """Seed the embedded demo backend if it is new, then pull it into the replica."""
        self.queue_view.setEnabled(False)
        self.sync_status.first_start(on_done)

    def request_sync(self) -> None:
        """Send new work soon: now when online; when offline, at the next planned retry."""
        self.sync_status.request()

    def _update_pending(self) -> None:
        self.sync_status.update_pending()

    def _refresh_filter_choices(self) -> None:
        combo = self.filter_bar.combos["queue"]
        if combo.count() <= 1:
            for queue_id, name in self.workstation.queues():
                combo.addItem(name, str(queue_id))
        if self.filter_bar.combos["language"].count() <= 1:
            # Reading the distinct languages scans every case of the replica (0.1-0.2 s at a
            # million cases), so it runs in the background like the queue's counts.
            self.tasks.run(self.workstation.languages, self._add_languages,
                           lambda error: self.statusBar().showMessage(
                               f"The language filter could not be filled: {error}", 15_000),
                           description="Reading case languages",
                           owner=self)

    def _add_languages(self, found: list[str]) -> None:
        combo = self.filter_bar.combos["language"]
        if combo.count() > 1:
            return  # an earlier read already filled it
        for language in found:
            combo.addItem(language.upper(), language)
