"""Blind re-review for quality auditors: the "Audit" window (Ctrl+Shift+A).

The auditor's samples are listed on the left; each opens in the same safe viewer as the
queue (blurred until revealed) beside a decision form. Until the auditor has submitted their
own decision nothing in this window names the original decision or the reviewer who made it:
not the list, the title, the form, nor a history or notes (neither is shown here). Once the
blind decision is recorded the original appears, and the auditor marks agree or disagree
(with a reason category) and may write feedback for the reviewer.

Each step is one local transaction with its outbox mutation (`reviewer.qa.store`), so it
works offline and is sent by the main window's background sync.

The window composes its sections, each in this folder: the list (`sample_list`), the blind
decision (`blind_form`), the verdict (`verdict_form`) and drawing a sample (`draw_sample`).

Keys: Ctrl+Enter submits the decision, then the verdict; Alt+A agree, Alt+D disagree;
Alt+N next sample, Alt+P previous; Ctrl+1 the list, Ctrl+2 the form; Alt+Y policy, Alt+T
action, Alt+R rationale, Alt+E reason, Alt+B feedback; Ctrl+W closes; Esc blurs everything.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from reviewer.media.render import Renderer
from reviewer.qa.store import BlindDecisionRejected, QaRefused
from reviewer.vocabulary import Role
from reviewer.wellness.exposure import ExposureLedger
from reviewer.workstation import Workstation
from ui.qa.blind_form import BlindDecisionForm
from ui.qa.draw_sample import SampleDrawing
from ui.qa.my_quality import MyQualityDialog
from ui.qa.sample_list import AuditItem, SampleList
from ui.qa.verdict_form import VerdictForm
from ui.viewer.media_viewer import MediaViewer
from ui.widgets.changes import ChangeBus, Changes
from ui.widgets.form_feedback import inline_error, submit_on_ctrl_enter
from ui.widgets.tasks import TaskRunner

if TYPE_CHECKING:
    from reviewer.store.models import QaReview

AUDIT_ROLES = (Role.AUDITOR.value, Role.LEAD.value, Role.ADMIN.value)
BLIND_HINT = ("Decide this case as if it were yours. The original decision and who made it "
              "stay hidden until you submit; the case history and notes are not shown here.")


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

        self.samples = SampleList(workstation)
        self.drawing = SampleDrawing(workstation, tasks, self.samples.draw_button, self)
        self.samples.draw_button.clicked.connect(self.draw_sample)
        self.drawing.drawn.connect(self._on_drawn)
        self.drawing.failed.connect(self._on_draw_failed)
        self.viewer = MediaViewer(tasks, renderer, workstation.media_bytes, settings,
                                  taxonomy=taxonomy, clock=workstation.clock, ledger=ledger)
        self.blind_form = BlindDecisionForm(taxonomy)
        self.blind_form.submit_button.clicked.connect(self.submit_blind)
        self.verdict_form = VerdictForm()
        self.verdict_form.verdict_button.clicked.connect(self.submit_verdict)
        self.form = self._build_column()

        # The widgets the window's tests reach by name.
        self.model = self.samples.model
        self.table = self.samples.table
        self.empty_label = self.samples.empty_label
        self.draw_button = self.samples.draw_button
        self.policy_box = self.blind_form.policy_box
        self.action_box = self.blind_form.action_box
        self.rationale = self.blind_form.rationale
        self.original_label = self.verdict_form.original_label
        self.disagree_radio = self.verdict_form.disagree_radio
        self.reason_box = self.verdict_form.reason_box
        self.feedback = self.verdict_form.feedback
        self.verdict_error = self.verdict_form.verdict_error
        self.verdict_button = self.verdict_form.verdict_button

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.samples)
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
        for keys, slot in (("Alt+A", lambda: self.verdict_form.agree_radio.setChecked(True)),
                           ("Alt+D", self.verdict_form.choose_disagree),
                           ("Alt+N", lambda: self.move(1)),
                           ("Alt+P", lambda: self.move(-1)),
                           ("Ctrl+1", self.samples.table.setFocus),
                           ("Ctrl+2", self._focus_form),
                           ("Ctrl+Shift+S", self.draw_sample),
                           ("Ctrl+W", self.close)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.activated.connect(slot)
            self._keys.append(shortcut)
        self.samples.current_changed.connect(self._show)
        self.resize(1400, 860)
        self.refresh()

    # -- construction ----------------------------------------------------------------------

    def _build_column(self) -> QWidget:
        """The right-hand column: the blind decision, then the verdict, then what happened."""
        heading = QLabel("Your decision")
        heading.setObjectName("panelHeading")
        self.hint = QLabel(BLIND_HINT)
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
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

    # -- the list and drawing a sample -----------------------------------------------------

    def refresh(self) -> None:
        """Reload the auditor's samples from the replica, keeping the current one."""
        self.samples.refresh(self._item.sample.sample_id if self._item is not None else None)

    def select_row(self, row: int) -> None:
        self.samples.select_row(row)

    def move(self, step: int) -> None:
        self.samples.move(step)

    def draw_sample(self) -> None:
        self.drawing.ask()

    def start_draw(self, since: datetime, rate: float, seed: int) -> None:
        """Draw a sample for yourself, in the background (see `SampleDrawing.start`)."""
        self.drawing.start(since, rate, seed)

    def _on_drawn(self, text: str) -> None:
        self.notice.hide()
        self.refresh()
        self.recorded.emit()
        self.confirmation.setText(text)

    def _on_draw_failed(self, text: str) -> None:
        self.confirmation.clear()
        self.notice.setText(text)
        self.notice.show()

    # -- one sample ------------------------------------------------------------------------

    def _show(self, item: AuditItem | None) -> None:
        self._item = item
        self._review = None
        self._awaiting_original = False
        self._clear_errors()
        self.confirmation.clear()
        self.verdict_form.reset()
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
        self.blind_form.offer_policies_of(case)
        self.next_button.setVisible(self.model.rowCount() > 1)
        if item.verdict_due:
            review = self.workstation.audit.review_for(item.sample.sample_id)
            if review is not None:
                self._show_blind_recorded(review)
                return
        self.blind_form.setEnabled(True)
        self.verdict_form.hide()

    def _focus_form(self) -> None:
        if self.verdict_form.isVisible():
            self.verdict_form.agree_radio.setFocus()
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
        policy_code, action, rationale = self.blind_form.choice()
        try:
            review = self.workstation.audit.record_blind(
                item.sample.sample_id, policy_code=policy_code, action=action,
                rationale=rationale)
        except BlindDecisionRejected as rejection:
            self.blind_form.show_problems(rejection.problems)
            return
        except QaRefused as refusal:
            self.blind_form.show_problems({"case": str(refusal)})
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
        self.blind_form.show_decision(review.policy_code, review.action, review.rationale)
        original = self.workstation.audit.original_of(review)
        self.verdict_form.show_original(original)
        self._awaiting_original = original is None
        self.verdict_form.show()
        self.confirmation.setText("Your decision is saved. Now give your verdict on the "
                                  "original.")
        self.verdict_form.agree_radio.setFocus()

    def on_synced(self) -> None:
        """A sync finished: on a team backend the original of a blind review just submitted
        arrives only now (row security shows it to the auditor once their review is in)."""
        review = self._review
        if review is None or not self.verdict_button.isEnabled():
            return
        original = self.workstation.audit.original_of(review)
        if original is not None and self._awaiting_original:
            self._show_blind_recorded(review)

    def submit_verdict(self) -> None:
        review = self._review
        if review is None:
            return
        verdict = self.verdict_form
        self.verdict_error.hide()
        if not verdict.chosen():
            verdict.show_problem("Choose agree (Alt+A) or disagree (Alt+D).")
            return
        agrees = verdict.agrees()
        try:
            self.workstation.audit.record_verdict(
                review.id, agrees=agrees, reason_category=None if agrees else verdict.reason(),
                feedback=self.feedback.toPlainText())
        except QaRefused as refusal:
            verdict.show_problem(str(refusal))
            return
        self.recorded.emit()
        self.verdict_button.setEnabled(False)
        self.confirmation.setText("Verdict recorded" + (" with your feedback" if
                                                        self.feedback.toPlainText().strip()
                                                        else "") + ". It is sent with the "
                                  "next sync.")
        self._advance_after_done()

    def _advance_after_done(self) -> None:
        """Back to the list, on the next sample (the one done leaves the list)."""
        row = self.samples.current_row()
        message = self.confirmation.text()
        self._item = None
        self.refresh()
        if self.model.rowCount():
            self.select_row(min(max(row, 0), self.model.rowCount() - 1))
        self.confirmation.setText(message)
        self.table.setFocus()

    def _clear_errors(self) -> None:
        for label in (*self.blind_form.errors.values(), self.verdict_error, self.notice):
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


class QualityActions(QObject):
    """A "Quality" menu in the main window: Audit… (auditors, leads, admins) and My quality…"""

    def __init__(self, window: QMainWindow, workstation: Workstation, tasks: TaskRunner,
                 renderer: Renderer, settings: QSettings, *, role: str,
                 ledger: ExposureLedger, changes: ChangeBus) -> None:
        super().__init__(window)
        self.setObjectName("qualityActions")
        self.window = window
        self.workstation = workstation
        self.tasks = tasks
        self.renderer = renderer
        self.settings = settings
        self.role = role
        self.ledger = ledger
        self.changes = changes
        self.audit: AuditWindow | None = None
        self.quality: MyQualityDialog | None = None
        changes.changed.connect(self._on_changes)
        menu = window.menuBar().addMenu("&Quality")
        self.audit_action = QAction("&Audit: blind re-review…", window)
        self.audit_action.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.audit_action.triggered.connect(self.open_audit)
        self.audit_action.setEnabled(role in AUDIT_ROLES)
        self.quality_action = QAction("My &quality…", window)
        self.quality_action.setShortcut(QKeySequence("Ctrl+Shift+M"))
        self.quality_action.triggered.connect(self.open_quality)
        for action in (self.audit_action, self.quality_action):
            menu.addAction(action)
            window.addAction(action)

    def _on_changes(self, changes: Changes) -> None:
        if changes.synced and self.audit is not None:
            self.audit.on_synced()

    def open_audit(self) -> None:
        if self.role not in AUDIT_ROLES:
            self.window.statusBar().showMessage(
                "Auditing is for auditors, leads and admins; My quality (Ctrl+Shift+M) "
                "shows your own results.", 8000)
            return
        audit = self.audit
        if audit is None:
            audit = AuditWindow(self.workstation, self.tasks, self.renderer, self.settings,
                                ledger=self.ledger, parent=self.window)
            audit.recorded.connect(lambda: self.changes.publish(Changes(outbox=True)))
            self.audit = audit
        else:
            audit.refresh()
        audit.show()
        audit.raise_()
        audit.activateWindow()

    def open_quality(self) -> None:
        dialog = self.quality
        if dialog is None:
            dialog = MyQualityDialog(self.workstation, self.window)
            self.quality = dialog
        else:
            dialog.refresh()
        dialog.show()
        dialog.raise_()
