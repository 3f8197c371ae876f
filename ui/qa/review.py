"""Blind re-review for quality auditors: the "Audit" window (Ctrl+Shift+A).

The auditor's samples are listed on the left; each opens in the same safe viewer as the
queue (blurred until revealed) beside a decision form. Until the auditor has submitted their
own decision nothing in this window names the original decision or the reviewer who made it:
not the list, the title, the form, nor a history or notes (neither is shown here). Once the
blind decision is recorded the original appears, and the auditor marks agree or disagree
(with a reason category) and may write feedback for the reviewer.

Each step is one local transaction with its outbox mutation (`reviewer.qa.store`), so it
works offline and is sent by the main window's background sync.

Keys: Ctrl+Enter submits the decision, then the verdict; Alt+A agree, Alt+D disagree;
Alt+N next sample, Alt+P previous; Ctrl+1 the list, Ctrl+2 the form; Alt+Y policy, Alt+T
action, Alt+R rationale, Alt+E reason, Alt+B feedback; Ctrl+W closes; Esc blurs everything.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QDate,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSettings,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from reviewer.media.render import Renderer
from reviewer.qa.metrics import agreement_of, audit_pairs
from reviewer.qa.sampling import DEFAULT_RATE, SamplingPolicy
from reviewer.qa.store import (
    METHOD_LABELS,
    REASON_LABELS,
    BlindDecisionRejected,
    OriginalDecision,
    PendingSample,
    QaRefused,
    awaiting_verdict,
    draw_sample,
    original_for_review,
    pending_samples,
    record_blind_review,
    record_verdict,
    review_for_sample,
)
from reviewer.store.database import BackendUnavailable
from reviewer.store.models import QaReview
from reviewer.sync.link import DrawnSample
from reviewer.vocabulary import Action, Role
from reviewer.wellness.exposure import ExposureLedger
from reviewer.workstation import Workstation
from ui.qa.my_quality import MyQualityDialog, describe_kappa, describe_proportion
from ui.viewer.media_viewer import MediaViewer
from ui.widgets.form_feedback import inline_error, submit_on_ctrl_enter
from ui.widgets.table_model import RowsTableModel
from ui.widgets.tasks import TaskRunner

if TYPE_CHECKING:
    from ui.main_window import MainWindow

AUDIT_ROLES = (Role.AUDITOR.value, Role.LEAD.value, Role.ADMIN.value)
SUMMARY_DAYS = 28
OFFLINE_DRAW = ("Drawing a sample needs the team backend; you are offline. Try again once "
                "the workstation is back online.")
BLIND_HINT = ("Decide this case as if it were yours. The original decision and who made it "
              "stay hidden until you submit; the case history and notes are not shown here.")


@dataclass(frozen=True)
class AuditItem:
    sample: PendingSample
    verdict_due: bool  # the blind decision is recorded; the verdict is still to give


def _action_label(action: str) -> str:
    try:
        return Action(action).label
    except ValueError:
        return action


class AuditListModel(RowsTableModel[AuditItem]):
    HEADERS = ("Case", "Policy area", "Drawn as", "Status")

    def __init__(self, area_names: dict[str, str], parent: QWidget | None = None):
        super().__init__(parent)
        self._areas = area_names

    def row_of(self, sample_id: uuid.UUID) -> int | None:
        return next((i for i, r in enumerate(self._rows) if r.sample.sample_id == sample_id),
                    None)

    def data(self, index: QModelIndex | QPersistentModelIndex,  # Qt override
             role: int = Qt.ItemDataRole.DisplayRole) -> object:
        item = self.row_at(index.row()) if index.isValid() else None
        if item is None or role != Qt.ItemDataRole.DisplayRole:
            return None
        sample = item.sample
        drawn = METHOD_LABELS.get(sample.method, sample.method)
        if sample.calibration:
            drawn = f"{drawn}: {sample.calibration}"
        status = "Verdict to give" if item.verdict_due else "To re-review"
        return (sample.external_ref, self._areas.get(sample.policy_area, sample.policy_area),
                drawn, status)[index.column()]


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


class AuditWindow(QWidget):
    """The auditor's work list, the safe viewer and the blind decision form, in one window.

    Emits ``recorded`` after each step is saved, so the main window can send it.
    """

    recorded = Signal()

    def __init__(self, workstation: Workstation, tasks: TaskRunner, renderer: Renderer,
                 settings: QSettings | None = None, *, ledger: ExposureLedger | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.workstation = workstation
        self.tasks = tasks
        self.setWindowTitle("Audit: blind re-review")
        self.setObjectName("auditWindow")
        self._review: QaReview | None = None
        self._awaiting_original = False  # the blind review is in; its original is not yet
        self._item: AuditItem | None = None
        taxonomy = workstation.taxonomy

        self.heading = QLabel()
        self.heading.setObjectName("panelHeading")
        self.model = AuditListModel({a.code: a.name for a in taxonomy.areas}, self)
        self.table = QTableView()
        self.table.setAccessibleName("Samples to re-review")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.empty_label = QLabel()
        self.empty_label.setObjectName("muted")
        self.empty_label.setWordWrap(True)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 0, 8)
        left_layout.addWidget(self.heading)
        left_layout.addWidget(self.table, 1)
        left_layout.addWidget(self.empty_label)
        self.summary = QLabel()
        self.summary.setObjectName("muted")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setAccessibleName("Your audits")
        left_layout.addWidget(self.summary)
        self.draw_button = QPushButton("Draw a sample…  (Ctrl+Shift+S)")
        self.draw_button.clicked.connect(self.draw_sample)
        left_layout.addWidget(self.draw_button)

        self.viewer = MediaViewer(tasks, renderer, workstation.media_bytes, settings,
                                  taxonomy=taxonomy, clock=workstation.clock, ledger=ledger)
        self.form = self._build_form()

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.viewer)
        self.splitter.addWidget(self.form)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([470, 560, 400])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        submit_on_ctrl_enter(self, self.submit)
        self._keys: list[QShortcut] = []
        for keys, slot in (("Alt+A", lambda: self.agree_radio.setChecked(True)),
                           ("Alt+D", self._choose_disagree),
                           ("Alt+N", lambda: self.move(1)),
                           ("Alt+P", lambda: self.move(-1)),
                           ("Ctrl+1", self.table.setFocus),
                           ("Ctrl+2", self._focus_form),
                           ("Ctrl+Shift+S", self.draw_sample),
                           ("Ctrl+W", self.close)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.activated.connect(slot)
            self._keys.append(shortcut)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.resize(1400, 860)
        self.refresh()

    # -- construction ----------------------------------------------------------------------

    def _build_form(self) -> QWidget:
        heading = QLabel("Your decision")
        heading.setObjectName("panelHeading")
        self.hint = QLabel(BLIND_HINT)
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
        self.policy_box = QComboBox()
        self.policy_box.setAccessibleName("Policy")
        self.policy_box.setMinimumContentsLength(16)
        self.policy_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.policy_box.currentIndexChanged.connect(self._fill_actions)
        self.action_box = QComboBox()
        self.action_box.setAccessibleName("Action")
        self.rationale = QPlainTextEdit()
        self.rationale.setAccessibleName("Rationale")
        self.rationale.setPlaceholderText("Why this policy and action apply (what you saw)")
        self.rationale.setTabChangesFocus(True)
        self.rationale.setMinimumHeight(90)
        self.rationale.setMaximumHeight(150)
        self.errors: dict[str, QLabel] = {}
        self.submit_button = QPushButton("Submit my decision  (Ctrl+Enter)")
        self.submit_button.setObjectName("primary")
        self.submit_button.clicked.connect(self.submit_blind)

        self.blind_form = QWidget()
        blind = QVBoxLayout(self.blind_form)
        blind.setContentsMargins(0, 0, 0, 0)
        blind.setSpacing(2)
        for key, text, widget in (("policy", "Polic&y", self.policy_box),
                                  ("action", "Ac&tion", self.action_box),
                                  ("rationale", "&Rationale", self.rationale)):
            label = QLabel(text)
            label.setBuddy(widget)
            self.errors[key] = inline_error()
            blind.addSpacing(4)
            blind.addWidget(label)
            blind.addWidget(widget)
            blind.addWidget(self.errors[key])
        self.errors["case"] = inline_error()
        blind.addWidget(self.errors["case"])
        blind.addSpacing(6)
        blind.addWidget(self.submit_button)

        # Shown only once the blind decision is recorded.
        original_heading = QLabel("Original decision")
        original_heading.setObjectName("panelHeading")
        self.original_label = QLabel()
        self.original_label.setWordWrap(True)
        self.original_label.setTextFormat(Qt.TextFormat.PlainText)
        self.original_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.comparison_label = QLabel()
        self.comparison_label.setWordWrap(True)
        self.agree_radio = QRadioButton("Agree  (Alt+A)")
        self.disagree_radio = QRadioButton("Disagree  (Alt+D)")
        self.verdict_group = QButtonGroup(self)
        self.verdict_group.addButton(self.agree_radio)
        self.verdict_group.addButton(self.disagree_radio)
        self.disagree_radio.toggled.connect(self._update_reason_enabled)
        verdict_row = QHBoxLayout()
        verdict_row.addWidget(self.agree_radio)
        verdict_row.addWidget(self.disagree_radio)
        verdict_row.addStretch(1)
        reason_label = QLabel("R&eason for disagreeing")
        self.reason_box = QComboBox()
        self.reason_box.setAccessibleName("Reason category")
        self.reason_box.addItem("Choose a reason…", None)
        for code, label in REASON_LABELS.items():
            self.reason_box.addItem(label, code)
        reason_label.setBuddy(self.reason_box)
        feedback_label = QLabel("Feed&back for the reviewer (optional)")
        self.feedback = QPlainTextEdit()
        self.feedback.setAccessibleName("Feedback")
        self.feedback.setTabChangesFocus(True)
        self.feedback.setPlaceholderText("What to look at next time; the reviewer sees this "
                                         "in My quality")
        self.feedback.setMaximumHeight(90)
        feedback_label.setBuddy(self.feedback)
        self.verdict_error = inline_error()
        self.verdict_button = QPushButton("Record verdict  (Ctrl+Enter)")
        self.verdict_button.setObjectName("primary")
        self.verdict_button.clicked.connect(self.submit_verdict)
        self.verdict_form = QWidget()
        verdict = QVBoxLayout(self.verdict_form)
        verdict.setContentsMargins(0, 8, 0, 0)
        verdict.setSpacing(4)
        verdict.addWidget(original_heading)
        verdict.addWidget(self.original_label)
        verdict.addWidget(self.comparison_label)
        verdict.addLayout(verdict_row)
        verdict.addWidget(reason_label)
        verdict.addWidget(self.reason_box)
        verdict.addWidget(feedback_label)
        verdict.addWidget(self.feedback)
        verdict.addWidget(self.verdict_error)
        verdict.addWidget(self.verdict_button)

        self.confirmation = QLabel()
        self.confirmation.setObjectName("confirmation")
        self.confirmation.setWordWrap(True)
        self.confirmation.setTextFormat(Qt.TextFormat.PlainText)
        self.notice = inline_error()
        self.next_button = QPushButton("Next sample  (Alt+N)")
        self.next_button.clicked.connect(lambda: self.move(1))

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(heading)
        layout.addWidget(self.hint)
        layout.addWidget(self.blind_form)
        layout.addWidget(self.verdict_form)
        layout.addWidget(self.confirmation)
        layout.addWidget(self.notice)
        layout.addWidget(self.next_button)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        return scroll

    # -- the list --------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the auditor's samples from the replica, keeping the current one."""
        current = self._item.sample.sample_id if self._item is not None else None
        me = self.workstation.reviewer_id
        with self.workstation.replica.sessions() as session:
            items = ([AuditItem(s, True) for s in awaiting_verdict(session, me)]
                     + [AuditItem(s, False) for s in pending_samples(session, me)])
        self.model.set_rows(items)
        due = sum(1 for item in items if item.verdict_due)
        self.heading.setText(f"Samples to re-review: {len(items) - due}"
                             + (f" · verdicts to give: {due}" if due else ""))
        self.empty_label.setText("" if items else
                                 "Nothing to re-review. New samples arrive with the next sync.")
        self.empty_label.setVisible(not items)
        self._show_summary()
        row = self.model.row_of(current) if current is not None else None
        self.select_row(row if row is not None else 0)

    def _show_summary(self) -> None:
        """How often the reviewers' decisions you audited in the last 28 days matched yours."""
        since = self.workstation.clock.now() - timedelta(days=SUMMARY_DAYS)
        with self.workstation.replica.sessions() as session:
            figures = agreement_of(audit_pairs(session, since=since,
                                               auditor_id=self.workstation.reviewer_id))
        if not figures.n:
            self.summary.setText(f"Your audits, last {SUMMARY_DAYS} days: none yet.")
            return
        text = (f"Your audits, last {SUMMARY_DAYS} days: {figures.n}. Same policy and action "
                f"as the reviewer: {describe_proportion(figures.percent, 'audits')}. Cohen's "
                f"kappa: {describe_kappa(figures.kappa)}.")
        if figures.too_small:
            text += " Too few audits for these figures to mean much yet."
        self.summary.setText(text)

    # -- drawing a sample ------------------------------------------------------------------

    def draw_sample(self) -> None:
        today = self.workstation.clock.now().date()
        dialog = DrawSampleDialog(QDate(today.year, today.month, today.day), self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        self.start_draw(*dialog.choice())

    def start_draw(self, since: datetime, rate: float, seed: int) -> None:
        """Draw a sample for yourself, in the background.

        On a PostgreSQL team backend the sample is drawn there (its sampling frame holds the
        decisions your replica does not: row-level security shows an auditor only what was
        sampled for them), then a sync brings it here; offline that cannot be done. On the
        embedded backend it is drawn from the decisions on this workstation and reaches the
        backend with the next sync."""
        workstation = self.workstation
        policy = SamplingPolicy(base_rate=rate)
        me = workstation.reviewer_id

        def work() -> tuple[DrawnSample, str | None]:
            with workstation.replica.writing() as session:
                stored = draw_sample(
                    session, workstation.taxonomy, auditor_id=me, drawn_by=me, since=since,
                    clock=workstation.clock, seed=seed, policy=policy,
                    client_id=workstation.client_id)
            return DrawnSample(stored.stored, stored.sample.population, stored.sample.seed,
                               stored.already_sampled, stored.own_decisions), None

        def work_on_backend() -> tuple[DrawnSample, str | None]:
            drawn = workstation.sync.backend.draw_sample(since, rate, seed)
            # Drawn and kept on the backend; a sync brings the samples here. If it fails
            # (its status, shown in the main window, says why), the next one brings them.
            try:
                workstation.synchronise()
            except Exception as error:  # the draw itself succeeded and is kept
                return drawn, (str(error).splitlines() or [type(error).__name__])[0]
            return drawn, None

        if not workstation.sync.backend.is_embedded:
            work = work_on_backend
        self.draw_button.setEnabled(False)
        self.tasks.run(work, self._on_drawn, self._on_draw_failed, description="draw sample",
                       owner=self)

    def _on_drawn(self, result: tuple[DrawnSample, str | None]) -> None:
        stored, sync_error = result
        self.draw_button.setEnabled(True)
        self.notice.hide()
        self.refresh()
        self.recorded.emit()
        left_out = stored.already_sampled + stored.own_decisions
        text = (f"Drew {stored.stored} of {stored.population} decisions for you with "
                f"seed {stored.seed}" + (f" ({left_out} left out: already yours to "
                                                "audit, or your own)" if left_out else "") + ".")
        if sync_error is not None:
            text += (" They are kept on the team backend and arrive here with the next "
                     f"successful sync (this one failed: {sync_error}).")
        self.confirmation.setText(text)

    def _on_draw_failed(self, error: BaseException) -> None:
        self.draw_button.setEnabled(True)
        self.confirmation.clear()
        if isinstance(error, BackendUnavailable):
            self.notice.setText(OFFLINE_DRAW)
        else:
            self.notice.setText(f"No sample drawn: {error}")
        self.notice.show()

    def select_row(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            self._show(None)
            return
        self.table.selectionModel().setCurrentIndex(
            self.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(self.model.index(row, 0))

    def move(self, step: int) -> None:
        if self.model.rowCount():
            row = self.table.currentIndex().row()
            self.select_row(min(max(row + step, 0), self.model.rowCount() - 1))

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show(self.model.row_at(current.row()) if current.isValid() else None)

    # -- one sample ------------------------------------------------------------------------

    def _show(self, item: AuditItem | None) -> None:
        self._item = item
        self._review = None
        self._awaiting_original = False
        self._clear_errors()
        self.confirmation.clear()
        self.feedback.clear()
        self.reason_box.setCurrentIndex(0)
        self.verdict_group.setExclusive(False)
        self.agree_radio.setChecked(False)
        self.disagree_radio.setChecked(False)
        self.verdict_group.setExclusive(True)
        self.rationale.clear()
        if item is None:
            self.viewer.clear("Choose a sample to re-review")
            self.policy_box.clear()
            self.blind_form.setEnabled(False)
            self.verdict_form.hide()
            self.next_button.hide()
            return
        case = self.workstation.case(item.sample.case_id)
        if case is None:
            self.viewer.clear("This case is not on this workstation yet; sync and try again.")
            self.blind_form.setEnabled(False)
            self.verdict_form.hide()
            return
        self.viewer.show_case(case, list(case.media))
        self.policy_box.blockSignals(True)
        self.policy_box.clear()
        self.policy_box.addItem("Choose a policy…", None)
        for policy in self.workstation.taxonomy.policies_for_surface(case.surface):
            self.policy_box.addItem(f"{policy.code}  {policy.name}", policy.code)
        self.policy_box.blockSignals(False)
        self._fill_actions()
        self.next_button.setVisible(self.model.rowCount() > 1)
        if item.verdict_due:
            with self.workstation.replica.sessions() as session:
                review = review_for_sample(session, item.sample.sample_id)
            if review is not None:
                self._show_blind_recorded(review)
                return
        self.blind_form.setEnabled(True)
        self.verdict_form.hide()

    def _fill_actions(self, *_args: object) -> None:
        self.action_box.clear()
        code = self.policy_box.currentData()
        if code is None:
            self.action_box.addItem("Choose a policy first", None)
            return
        self.action_box.addItem("Choose an action…", None)
        for action in self.workstation.taxonomy.policy(code).actions:
            self.action_box.addItem(action.label, action.value)

    def _focus_form(self) -> None:
        if self.verdict_form.isVisible():
            self.agree_radio.setFocus()
        else:
            self.policy_box.setFocus()

    # -- submitting ------------------------------------------------------------------------

    def submit(self) -> None:
        """Ctrl+Enter: the blind decision first, then the verdict."""
        if self.verdict_form.isVisible() and self.verdict_button.isEnabled():
            self.submit_verdict()
        elif self.blind_form.isEnabled():
            self.submit_blind()

    def submit_blind(self) -> None:
        item = self._item
        if item is None or not self.blind_form.isEnabled():
            return
        self._clear_errors()
        try:
            review = record_blind_review(
                self.workstation.replica.sessions, self.workstation.taxonomy,
                sample_id=item.sample.sample_id, auditor_id=self.workstation.reviewer_id,
                client_id=self.workstation.client_id,
                policy_code=self.policy_box.currentData() or "",
                action=self.action_box.currentData() or "",
                rationale=self.rationale.toPlainText(), clock=self.workstation.clock)
        except BlindDecisionRejected as rejection:
            for field, text in rejection.problems.items():
                label = self.errors.get(field, self.errors["case"])
                label.setText(text)
                label.show()
            return
        except QaRefused as refusal:
            self.errors["case"].setText(str(refusal))
            self.errors["case"].show()
            return
        self.recorded.emit()
        if item.sample.method == "calibration":
            self.confirmation.setText(
                "Your answer for this calibration session is saved. The session's agreement "
                "is computed once every member has answered.")
            self._advance_after_done()
            return
        self._show_blind_recorded(review)

    def _show_blind_recorded(self, review: QaReview) -> None:
        """The blind decision is on record: now, and only now, show the original."""
        self._review = review
        self.blind_form.setEnabled(False)
        self._set_form(review.policy_code, review.action, review.rationale)
        with self.workstation.replica.sessions() as session:
            original = original_for_review(session, review)
        self.original_label.setText(self._describe(original))
        self._awaiting_original = original is None
        if original is not None:
            same = original.matches
            self.comparison_label.setText(
                "Same policy and action as yours." if same else
                "Differs from yours: look at the policy and the action.")
            self.comparison_label.setObjectName("confirmation" if same else "fieldError")
            self.comparison_label.style().unpolish(self.comparison_label)
            self.comparison_label.style().polish(self.comparison_label)
            (self.agree_radio if same else self.disagree_radio).setChecked(True)
        self._update_reason_enabled()
        self.verdict_button.setEnabled(True)
        self.verdict_form.show()
        self.confirmation.setText("Your decision is saved. Now give your verdict on the "
                                  "original.")
        self.agree_radio.setFocus()

    def on_synced(self) -> None:
        """A sync finished: on a team backend the original of a blind review just submitted
        arrives only now (row security shows it to the auditor once their review is in)."""
        review = self._review
        if review is None or not self.verdict_button.isEnabled():
            return
        with self.workstation.replica.sessions() as session:
            original = original_for_review(session, review)
        if original is not None and self._awaiting_original:
            self._show_blind_recorded(review)

    def _describe(self, original: OriginalDecision | None) -> str:
        if original is None:
            return "The original decision is not on this workstation yet; sync and try again."
        when = original.created_at.astimezone()
        return (f"{_action_label(original.action)} under {original.policy_code}, decided by "
                f"{original.reviewer_name} on {when:%a %d %b %Y %H:%M}.\n"
                f"Rationale: {original.rationale}")

    def _set_form(self, policy_code: str, action: str, rationale: str) -> None:
        index = self.policy_box.findData(policy_code)
        if index >= 0:
            self.policy_box.setCurrentIndex(index)
        found = self.action_box.findData(action)
        if found >= 0:
            self.action_box.setCurrentIndex(found)
        self.rationale.setPlainText(rationale)

    def _choose_disagree(self) -> None:
        if self.verdict_form.isVisible():
            self.disagree_radio.setChecked(True)
            self.reason_box.setFocus()

    def _update_reason_enabled(self, *_args: object) -> None:
        self.reason_box.setEnabled(self.disagree_radio.isChecked())

    def submit_verdict(self) -> None:
        review = self._review
        if review is None:
            return
        self.verdict_error.hide()
        if not (self.agree_radio.isChecked() or self.disagree_radio.isChecked()):
            self._verdict_problem("Choose agree (Alt+A) or disagree (Alt+D).")
            return
        agrees = self.agree_radio.isChecked()
        try:
            record_verdict(self.workstation.replica.sessions, review_id=review.id,
                           auditor_id=self.workstation.reviewer_id,
                           client_id=self.workstation.client_id, agrees=agrees,
                           reason_category=None if agrees else self.reason_box.currentData(),
                           feedback=self.feedback.toPlainText(), clock=self.workstation.clock)
        except QaRefused as refusal:
            self._verdict_problem(str(refusal))
            return
        self.recorded.emit()
        self.verdict_button.setEnabled(False)
        self.confirmation.setText("Verdict recorded" + (" with your feedback" if
                                                        self.feedback.toPlainText().strip()
                                                        else "") + ". It is sent with the "
                                  "next sync.")
        self._advance_after_done()

    def _verdict_problem(self, text: str) -> None:
        self.verdict_error.setText(text)
        self.verdict_error.show()

    def _advance_after_done(self) -> None:
        """Back to the list, on the next sample (the one done leaves the list)."""
        row = self.table.currentIndex().row()
        message = self.confirmation.text()
        self._item = None
        self.refresh()
        if self.model.rowCount():
            self.select_row(min(max(row, 0), self.model.rowCount() - 1))
        self.confirmation.setText(message)
        self.table.setFocus()

    def _clear_errors(self) -> None:
        for label in (*self.errors.values(), self.verdict_error, self.notice):
            label.clear()
            label.hide()

    def visible_texts(self) -> list[str]:
        """Every piece of text a person could read in this window right now (for tests and
        for checking blindness): labels, buttons, fields, list cells, titles and tooltips."""
        return collect_visible_texts(self)


def collect_visible_texts(root: QWidget) -> list[str]:
    texts = [root.windowTitle()]
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisibleTo(root) and widget is not root:
            continue
        texts.append(widget.toolTip())
        texts.append(widget.accessibleName())
        texts.append(widget.accessibleDescription())
        getters: list[Callable[[], object]] = []
        for name in ("text", "toPlainText", "currentText", "placeholderText", "title"):
            method = getattr(widget, name, None)
            if callable(method):
                getters.append(method)
        for getter in getters:
            try:
                value = getter()
            except TypeError:
                continue
            if isinstance(value, str):
                texts.append(value)
        if isinstance(widget, QComboBox):
            texts.extend(widget.itemText(i) for i in range(widget.count()))
        if isinstance(widget, QTableView) and widget.model() is not None:
            model = widget.model()
            for column in range(model.columnCount()):
                texts.append(str(model.headerData(column, Qt.Orientation.Horizontal) or ""))
                for row in range(model.rowCount()):
                    for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                        value = model.data(model.index(row, column), role)
                        if value is not None:
                            texts.append(str(value))
    return [text for text in texts if text]


def install_quality_actions(window: MainWindow) -> None:
    """A "Quality" menu in the main window: Audit… (auditors, leads, admins) and My quality…"""

    menu = window.menuBar().addMenu("&Quality")
    state: dict[str, QWidget | None] = {"audit": None, "quality": None}

    def open_audit() -> None:
        if window.role not in AUDIT_ROLES:
            window.statusBar().showMessage(
                "Auditing is for auditors, leads and admins; My quality (Ctrl+Shift+M) "
                "shows your own results.", 8000)
            return
        audit = state["audit"]
        if audit is None:
            audit = AuditWindow(window.workstation, window.tasks, window.renderer,
                                window.settings, ledger=window.wellness.ledger, parent=window)
            audit.recorded.connect(window._update_pending)
            audit.recorded.connect(window.request_sync)
            window.synced.connect(audit.on_synced)
            state["audit"] = audit
        else:
            audit.refresh()
        audit.show()
        audit.raise_()
        audit.activateWindow()

    def open_quality() -> None:
        dialog = state["quality"]
        if dialog is None:
            dialog = MyQualityDialog(window.workstation, window)
            state["quality"] = dialog
        else:
            dialog.refresh()
        dialog.show()
        dialog.raise_()

    audit_action = QAction("&Audit: blind re-review…", window)
    audit_action.setShortcut(QKeySequence("Ctrl+Shift+A"))
    audit_action.triggered.connect(open_audit)
    audit_action.setEnabled(window.role in AUDIT_ROLES)
    quality_action = QAction("My &quality…", window)
    quality_action.setShortcut(QKeySequence("Ctrl+Shift+M"))
    quality_action.triggered.connect(open_quality)
    for action in (audit_action, quality_action):
        menu.addAction(action)
        window.addAction(action)
    window.audit_action = audit_action
    window.quality_action = quality_action
    window.quality_windows = state
