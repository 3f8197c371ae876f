"""Wellness in the window: exposure figures, the budget gate, breaks, the curtain, check-ins.

The logic (what counts as exposure, when a break is due, when the curtain falls) lives in
``reviewer.wellness.exposure``; this module only shows it and feeds it events.
"""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCharts import QBarCategoryAxis, QBarSeries, QBarSet, QChart, QChartView, QValueAxis
from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.settings import WELLNESS_SHARE_WITH_LEAD
from reviewer.sync.link import TeamWellness
from reviewer.vocabulary import Role
from reviewer.wellness.exposure import (
    BreakScheduler,
    BudgetState,
    CheckIn,
    CurtainController,
    ExposureLedger,
    TeamAggregate,
    budget_state,
)
from reviewer.wellness.records import WellnessRecords, WellnessStateDamaged, wellness_policy
from reviewer.workstation import Workstation
from ui.widgets.settings_store import read_setting, write_setting
from ui.widgets.tasks import TaskRunner

TICK_MS = 1_000
SAVE_EVERY_S = 30
SHARE_EVERY_S = 15 * 60


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}:{secs:02d}"


class BreakScreen(QWidget):
    """Covers the whole window during a break, with a countdown; then asks how you are."""

    snooze_requested = Signal()
    end_requested = Signal()
    checked_in = Signal(object)  # CheckIn data as (mood, note), or None when skipped

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setObjectName("breakScreen")
        self.setAutoFillBackground(True)
        self.setStyleSheet("#breakScreen { background: #1f2630; } "
                           "#breakScreen QLabel { color: #e6edf3; }")
        self.title = QLabel("Time for a break")
        self.title.setStyleSheet("font-size: 20pt; font-weight: 600;")
        self.countdown = QLabel()
        self.countdown.setStyleSheet("font-size: 28pt;")
        self.hint = QLabel("Step away from the screen. All media is covered until you are back.")
        self.snooze_button = QPushButton("Snooze 10 minutes")
        self.snooze_button.clicked.connect(self.snooze_requested)
        self.end_button = QPushButton("End break now")
        self.end_button.clicked.connect(self.end_requested)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.snooze_button)
        buttons.addWidget(self.end_button)
        buttons.addStretch(1)

        self.checkin = QWidget()
        mood_row = QHBoxLayout()
        self.mood_group = QButtonGroup(self)
        for mood in range(1, 6):
            button = QPushButton(str(mood))
            button.setCheckable(True)
            button.setAccessibleName(f"Mood {mood} of 5")
            self.mood_group.addButton(button, mood)
            mood_row.addWidget(button)
        self.note = QLineEdit()
        self.note.setPlaceholderText("A note for yourself (never shared)")
        self.note.setMaxLength(2000)
        save = QPushButton("Save check-in")
        save.clicked.connect(self._save_checkin)
        skip = QPushButton("Skip")
        skip.clicked.connect(lambda: self.checked_in.emit(None))
        checkin_layout = QVBoxLayout(self.checkin)
        checkin_layout.addWidget(QLabel("How are you feeling? 1 (low) to 5 (good)"))
        checkin_layout.addLayout(mood_row)
        checkin_layout.addWidget(self.note)
        row = QHBoxLayout()
        row.addWidget(save)
        row.addWidget(skip)
        checkin_layout.addLayout(row)

        layout = QVBoxLayout(self)
        layout.addStretch(1)
        for widget in (self.title, self.countdown, self.hint):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(buttons)
        layout.addWidget(self.checkin, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        self.hide()

    def show_break(self, remaining_s: float, can_snooze: bool) -> None:
        self.title.setText("Time for a break")
        self.hint.show()
        self.checkin.hide()
        self.snooze_button.setVisible(can_snooze)
        self.end_button.show()
        self.countdown.show()
        self.update_countdown(remaining_s)
        self._cover_parent()

    def show_checkin(self) -> None:
        self.title.setText("Welcome back")
        self.countdown.hide()
        self.hint.hide()
        self.snooze_button.hide()
        self.end_button.hide()
        checked = self.mood_group.checkedButton()
        if checked is not None:
            self.mood_group.setExclusive(False)
            checked.setChecked(False)
            self.mood_group.setExclusive(True)
        self.note.clear()
        self.checkin.show()
        self._cover_parent()

    def update_countdown(self, remaining_s: float) -> None:
        self.countdown.setText(format_duration(remaining_s))

    def _cover_parent(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.show()
        self.raise_()

    def _save_checkin(self) -> None:
        mood = self.mood_group.checkedId()
        if mood < 1:
            self.title.setText("Pick a number from 1 to 5, or skip")
            return
        self.checked_in.emit((mood, self.note.text()))


class WellnessController(QObject):
    """Owns the reviewer's exposure ledger, break schedule and curtain for one window."""

    changed = Signal()

    def __init__(self, workstation: Workstation, settings: QSettings,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.workstation = workstation
        self.journal = workstation.wellness
        self.settings = settings
        self.clock = workstation.clock
        self.policy = wellness_policy(workstation.settings)
        try:
            self.records = self.journal.load()
            self.load_problem = ""
        except WellnessStateDamaged as error:
            self.records = WellnessRecords(ExposureLedger(self.clock))
            self.load_problem = str(error)
        self.ledger = self.records.ledger
        self.breaks = BreakScheduler(self.clock, self.policy)
        self.curtain = CurtainController(self.clock, self.policy)
        self.viewer = None
        self.window: QWidget | None = None
        self.break_screen: BreakScreen | None = None
        self.status_label = QLabel()
        self.status_label.setObjectName("wellnessStatus")
        self.status_label.setToolTip("Your exposure today (unblurred-equivalent time) against "
                                     "your budget, and time in graphic queues (Ctrl+Shift+W)")
        self._last_save = self.clock.now()
        self._last_share = self.clock.now() - timedelta(seconds=SHARE_EVERY_S)
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)

    # -- wiring ----------------------------------------------------------------------------

    def attach(self, window: QWidget, viewer) -> None:  # type: ignore[no-untyped-def]
        self.window = window
        self.viewer = viewer
        viewer.reveal_gate = self.allow_reveal
        viewer.covered_changed.connect(self._on_viewer_covered)
        self.break_screen = BreakScreen(window)
        self.break_screen.snooze_requested.connect(self.snooze)
        self.break_screen.end_requested.connect(self.end_break)
        self.break_screen.checked_in.connect(self.record_checkin)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self.timer.start()
        self.update_status()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
                    QEvent.Type.Wheel):
            self.curtain.user_activity()
        elif kind in (QEvent.Type.WindowActivate, QEvent.Type.WindowDeactivate) \
                and watched is self.window:
            self.window_state_changed()
        elif kind == QEvent.Type.Resize and watched is self.window and self.break_screen \
                and self.break_screen.isVisible():
            self.break_screen.setGeometry(self.window.rect())
        return False

    def window_state_changed(self) -> None:
        if self.window is None:
            return
        visible = self.window.isVisible() and not self.window.isMinimized()
        focused = self.window.isActiveWindow()
        self.breaks.window_state_changed(visible, focused)
        self.curtain.window_state_changed(visible, focused)
        self._apply_curtain()

    # -- the budget ------------------------------------------------------------------------

    def allow_reveal(self) -> bool:
        """Before each reveal: past the daily budget, the reviewer gives a reason first."""
        if self.breaks.on_break:
            return False
        if self.ledger.reveal_allowed(self.policy):
            return True
        reason, ok = QInputDialog.getText(
            self.window, "Daily exposure budget used",
            "You have used today's exposure budget. Why do you need to reveal this item?\n"
            "(Consider asking a colleague or your lead to take this case.)")
        if not ok or not reason.strip():
            return False
        self.ledger.confirm_over_budget(reason)
        return True

    # -- the curtain -----------------------------------------------------------------------

    def _apply_curtain(self) -> None:
        if self.viewer is not None and self.curtain.covered and not self.viewer.covered:
            self.viewer.panic()

    def _on_viewer_covered(self, covered: bool) -> None:
        if covered and not self.curtain.covered:
            self.curtain.panic()  # Esc in the viewer: the same curtain
        elif not covered:
            self.curtain.lift()  # the reviewer's deliberate action
        self.update_status()

    # -- breaks ----------------------------------------------------------------------------

    def tick(self) -> None:
        self.curtain.tick()
        self._apply_curtain()
        if self.break_screen is not None:
            if self.breaks.on_break:
                self.break_screen.update_countdown(self.breaks.break_remaining())
                if self.breaks.break_finished():
                    self.end_break()
            elif self.breaks.break_due() and not self.break_screen.isVisible():
                self.start_break()
        now = self.clock.now()
        if (now - self._last_save).total_seconds() >= SAVE_EVERY_S:
            self.save()
        self.update_status()

    def start_break(self) -> None:
        if self.viewer is not None:
            self.viewer.panic()
        self.breaks.start_break()
        assert self.break_screen is not None
        self.break_screen.show_break(self.breaks.break_remaining(),
                                     self.breaks.snoozes_left > 0)
        self.changed.emit()

    def snooze(self) -> None:
        """Put the break off once; the few seconds on the break screen are not a break."""
        if not self.breaks.on_break or self.breaks.snoozes_left <= 0:
            return
        self.breaks.end_break()
        self.breaks.snooze()
        assert self.break_screen is not None
        self.break_screen.hide()
        self.changed.emit()

    def end_break(self) -> None:
        if not self.breaks.on_break:
            return
        record = self.breaks.end_break()
        self.records.breaks.append(record)
        self.save()
        assert self.break_screen is not None
        self.break_screen.show_checkin()
        self.changed.emit()

    def record_checkin(self, answer) -> None:  # type: ignore[no-untyped-def]
        if answer is not None:
            mood, note = answer
            self.records.checkins.append(CheckIn(self.clock.now(), mood, note))
            self.save()
        assert self.break_screen is not None
        self.break_screen.hide()
        self.changed.emit()

    # -- figures ---------------------------------------------------------------------------

    def update_status(self) -> None:
        today = self.ledger.today()
        state = budget_state(today, self.policy)
        symbol = {BudgetState.OK: "", BudgetState.WARNING: "▲ ",
                  BudgetState.EXCEEDED: "■ "}[state]
        text = (f"{symbol}Exposure {format_duration(today.exposure_s)} of "
                f"{format_duration(self.policy.daily_budget_s)} · graphic queues "
                f"{format_duration(today.graphic_queue_s)} of "
                f"{format_duration(self.policy.graphic_cap_s)}")
        if self.breaks.on_break:
            text += " · on a break"
        else:
            text += f" · break in {format_duration(self.breaks.next_break_in_s())}"
        self.status_label.setText(text)
        colour = {BudgetState.OK: "", BudgetState.WARNING: "color: #7a4f01;",
                  BudgetState.EXCEEDED: "color: #8e1212; font-weight: 600;"}[state]
        self.status_label.setStyleSheet(colour)

    @property
    def sharing(self) -> bool:
        return read_setting(self.settings, WELLNESS_SHARE_WITH_LEAD)

    def set_sharing(self, allowed: bool) -> None:
        write_setting(self.settings, WELLNESS_SHARE_WITH_LEAD, allowed)
        if allowed:
            self._share(force=True)

    def save(self) -> None:
        self.ledger.flush()
        now = self.clock.now()
        self.journal.save(self.records, now)
        self._last_save = now
        self._share()

    def _share(self, force: bool = False) -> None:
        now = self.clock.now()
        if not self.sharing:
            return
        if not force and (now - self._last_share).total_seconds() < SHARE_EVERY_S:
            return
        today = self.ledger.today()
        self.journal.share(today, self.records.breaks_on(today.date), now)
        self._last_share = now

    def close(self) -> None:
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.save()


class WellbeingDialog(QDialog):
    """Today against the budget, breaks, a 14-day chart; for leads, team aggregates."""

    def __init__(self, controller: WellnessController, role: str,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("My wellbeing")
        self.controller = controller
        policy = controller.policy
        today = controller.ledger.today()

        self.exposure_bar = QProgressBar()
        self.exposure_bar.setRange(0, int(policy.daily_budget_s))
        self.exposure_bar.setValue(int(min(today.exposure_s, policy.daily_budget_s)))
        self.exposure_bar.setFormat(f"{format_duration(today.exposure_s)} of "
                                    f"{format_duration(policy.daily_budget_s)}")
        self.graphic_bar = QProgressBar()
        self.graphic_bar.setRange(0, int(policy.graphic_cap_s))
        self.graphic_bar.setValue(int(min(today.graphic_queue_s, policy.graphic_cap_s)))
        self.graphic_bar.setFormat(f"{format_duration(today.graphic_queue_s)} of "
                                   f"{format_duration(policy.graphic_cap_s)}")
        self.breaks_label = QLabel(str(controller.records.breaks_on(today.date)))
        self.reveals_label = QLabel(str(today.reveals))
        form = QFormLayout()
        form.addRow("Exposure today", self.exposure_bar)
        form.addRow("Graphic queues today", self.graphic_bar)
        form.addRow("Breaks taken today", self.breaks_label)
        form.addRow("Reveals today", self.reveals_label)

        history = controller.ledger.history(14)
        bars = QBarSet("Exposure (minutes)")
        for day in history:
            bars.append(round(day.exposure_s / 60.0, 1))
        series = QBarSeries()
        series.append(bars)
        chart = QChart()
        chart.addSeries(series)
        chart.setTitle("Exposure, last 14 days")
        chart.legend().hide()
        axis_x = QBarCategoryAxis()
        axis_x.append([day.date.strftime("%d %b") for day in history])
        chart.addAxis(axis_x, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(axis_x)
        axis_y = QValueAxis()
        top = max([policy.daily_budget_s / 60.0] + [d.exposure_s / 60.0 for d in history])
        axis_y.setRange(0, max(1.0, top * 1.1))
        axis_y.setTitleText("minutes")
        chart.addAxis(axis_y, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(axis_y)
        self.chart_view = QChartView(chart)
        self.chart_view.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.chart_view.setMinimumSize(560, 260)
        self.history = history

        self.share_box = QCheckBox("Share my daily totals (not check-ins or notes) with my lead")
        self.share_box.setChecked(controller.sharing)
        self.share_box.toggled.connect(controller.set_sharing)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.chart_view)
        layout.addWidget(self.share_box)
        self.team_label = QLabel()
        self.team_label.setWordWrap(True)
        if role in (Role.LEAD.value, Role.ADMIN.value):
            layout.addWidget(QLabel("Your teams today (only reviewers who share are counted)"))
            layout.addWidget(self.team_label)
            self._show_team()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _show_team(self) -> None:
        """On the demo the figures are on this workstation; on a team backend only the
        service has them, and gives a lead aggregates alone (asked in the background)."""
        workstation = self.controller.workstation
        day = self.controller.ledger.today().date
        if workstation.sync.backend.is_embedded:
            aggregate = self.controller.journal.team_view(day, self.controller.policy)
            self.team_label.setText(self._team_text(aggregate))
            return
        self.team_label.setText("Asking the team backend…")
        self._tasks = TaskRunner(self)
        self._tasks.run(lambda: workstation.sync.backend.team_wellness(day),
                        lambda view: self.team_label.setText(self._team_text(view)),
                        lambda error: self.team_label.setText(
                            "Your teams' figures need the team backend, which cannot be "
                            f"reached now ({error})."),
                        description="team wellness", owner=self)

    @staticmethod
    def _team_text(aggregate: TeamAggregate | TeamWellness | None) -> str:
        if aggregate is None:
            return "Nobody in your teams shares their figures today."
        if aggregate.suppressed:
            return (f"{aggregate.reviewers_counted} reviewer(s) share; figures appear from 3 "
                    "reviewers on, so that nobody can be singled out.")
        return (f"{aggregate.reviewers_counted} reviewers share. Over the budget: "
                f"{aggregate.over_budget_count}; near it: {aggregate.warning_count}. Median "
                f"exposure {format_duration(aggregate.median_exposure_s or 0)}, median time in "
                f"graphic queues {format_duration(aggregate.median_graphic_queue_s or 0)}.")
