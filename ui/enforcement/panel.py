"""The enforcement panel: choose a policy, an action and a rationale, then submit.

Problems are explained next to the field they concern; nothing is recorded until the whole
decision is valid. Around the decision the panel shows what a reviewer needs by keyboard:
their last used and most used policies on the keys 1–9, rationale templates (Ctrl+T), a
live length counter for severe actions, the decision already standing on the case (with
"Correct decision…"), the "Undo" offer after a submission and the case's history. The panel
never touches a database: `ui.enforcement.actions` feeds it and acts on its signals.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.enforcement.decisions import (
    MIN_SEVERE_RATIONALE_CHARS,
    DecisionDraft,
    needs_second_review,
)
from reviewer.enforcement.escalation import ThreadEntry
from reviewer.policy.taxonomy import Taxonomy
from reviewer.policy.templates import Template, render, templates_for
from reviewer.store.models import Case
from reviewer.vocabulary import Action, CaseStatus
from ui.widgets.form_feedback import inline_error, submit_on_ctrl_enter

QUICK_KEYS = 9
MAX_THREAD_TEXT_CHARS = 600
_DIGITS = {getattr(Qt.Key, f"Key_{n}"): n for n in range(1, QUICK_KEYS + 1)}


@dataclass(frozen=True)
class QuickPolicy:
    """One policy on a quick key: `why` says how it got there ("last used", …)."""

    code: str
    name: str
    why: str


class NumberedMenu(QMenu):
    """A menu whose first nine entries are chosen with the keys 1–9 (not every platform
    honours a digit as a menu mnemonic)."""

    def choose(self, number: int) -> bool:
        """Trigger entry `number` (1-based) and close; False if there is none."""
        entries = [action for action in self.actions() if not action.isSeparator()]
        if not 1 <= number <= len(entries):
            return False
        self.hide()
        entries[number - 1].trigger()
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:  # Qt override
        number = _DIGITS.get(event.key())
        plain = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if number is not None and plain == Qt.KeyboardModifier.NoModifier \
                and self.choose(number):
            return
        super().keyPressEvent(event)


class EnforcementPanel(QWidget):
    """Emits ``submitted(draft)``; the window records it and reports back.

    ``submitting(draft)`` comes just before ``submitted``; ``correction_submitted(draft,
    supersedes_id)`` replaces it while a correction is being written; ``decision_recorded
    (case_id)`` follows the window's `show_recorded`.
    """

    submitted = Signal(object)
    submitting = Signal(object)
    correction_submitted = Signal(object, object)
    decision_recorded = Signal(object)
    case_changed = Signal(object)
    note_requested = Signal()
    undo_requested = Signal()
    correction_requested = Signal()

    def __init__(self, taxonomy: Taxonomy, parent: QWidget | None = None):
        super().__init__(parent)
        self.taxonomy = taxonomy
        self._case: Case | None = None
        self._last_draft: DecisionDraft | None = None
        self._correcting: uuid.UUID | None = None
        self._quick: list[QuickPolicy] = []
        self._templates: list[Template] = []
        self._now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._reviewer_name = ""
        self._inserted_template = ""
        self._shown_policy: str | None = None

        heading = QLabel("Decision")
        heading.setObjectName("panelHeading")
        self.area_label = QLabel()
        self.area_label.setObjectName("muted")
        self.area_label.setWordWrap(True)

        self.standing_label = QLabel()
        self.standing_label.setWordWrap(True)
        self.standing_label.setTextFormat(Qt.TextFormat.PlainText)
        self.correct_button = QPushButton("Correct decision…  (Ctrl+Shift+C)")
        self.correct_button.clicked.connect(self.correction_requested)
        self.correction_label = QLabel()
        self.correction_label.setObjectName("muted")
        self.correction_label.setWordWrap(True)
        self.correction_label.setTextFormat(Qt.TextFormat.PlainText)
        self.cancel_correction_button = QPushButton("Cancel correction")
        self.cancel_correction_button.clicked.connect(self.end_correction)

        self.quick_label = QLabel()
        self.quick_label.setObjectName("muted")
        self.quick_label.setTextFormat(Qt.TextFormat.PlainText)
        self.quick_label.setWordWrap(True)
        self.quick_label.setAccessibleName("Quick policy keys")

        self.policy_box = QComboBox()
        self.policy_box.setAccessibleName("Policy")
        # Searchable as you type, by code or by any word of the name.
        self.policy_box.setEditable(True)
        self.policy_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        completer = self.policy_box.completer()
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.policy_box.lineEdit().setPlaceholderText("Type a code or a word, 1–9, or ↓")
        self.policy_box.setMinimumContentsLength(16)
        self.policy_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.definition = QLabel()
        self.definition.setObjectName("muted")
        self.definition.setWordWrap(True)
        self.definition.setTextFormat(Qt.TextFormat.PlainText)
        self.action_box = QComboBox()
        self.action_box.setAccessibleName("Action")
        self.rationale = QPlainTextEdit()
        self.rationale.setAccessibleName("Rationale")
        self.rationale.setPlaceholderText("Why this policy and action apply (what you saw)")
        self.rationale.setTabChangesFocus(True)
        self.rationale.setMinimumHeight(110)
        self.template_button = QPushButton("Insert template…  (Ctrl+T)")
        self.template_button.clicked.connect(self.open_templates)
        self.template_menu = NumberedMenu(self)
        self.template_menu.setAccessibleName("Rationale templates")
        self.counter = QLabel()
        self.counter.setAccessibleName("Rationale length")
        self.counter.hide()
        self.severe_hint = QLabel()
        self.severe_hint.setObjectName("muted")
        self.severe_hint.setWordWrap(True)
        self.severe_hint.hide()
        self.submit_button = QPushButton("Submit decision  (Ctrl+Enter)")
        self.submit_button.setObjectName("primary")
        self.submit_button.setDefault(True)

        self.errors: dict[str, QLabel] = {}
        # Each label sits above its field: the panel is narrow, and a word-wrapped
        # definition or error under a field keeps its full height this way.
        form = QVBoxLayout()
        form.setSpacing(2)
        for key, text, widget in (
            ("policy", "&Policy", self.policy_box),
            ("action", "&Action", self.action_box),
            ("rationale", "&Rationale", self.rationale),
        ):
            label = QLabel(text)
            label.setBuddy(widget)
            error = inline_error()
            self.errors[key] = error
            form.addSpacing(4)
            form.addWidget(label)
            form.addWidget(widget)
            if key == "policy":
                form.addWidget(self.definition)
            if key == "rationale":
                row = QHBoxLayout()
                row.addWidget(self.template_button)
                row.addStretch(1)
                row.addWidget(self.counter)
                form.addLayout(row)
                form.addWidget(self.severe_hint)
            form.addWidget(error)
        self.case_error = inline_error()
        self.errors["case"] = self.case_error

        # Everything that decides is in one widget, disabled while no case is shown; the
        # messages below it (confirmation, undo, refusals) stay readable and usable.
        self.decision_form = QWidget()
        form_layout = QVBoxLayout(self.decision_form)
        form_layout.setContentsMargins(0, 0, 0, 0)
        form_layout.addWidget(self.standing_label)
        form_layout.addWidget(self.correct_button)
        form_layout.addWidget(self.correction_label)
        form_layout.addWidget(self.cancel_correction_button)
        form_layout.addWidget(self.quick_label)
        form_layout.addLayout(form)
        form_layout.addWidget(self.case_error)
        form_layout.addWidget(self.submit_button)

        self.confirmation = QLabel()
        self.confirmation.setObjectName("confirmation")
        self.confirmation.setWordWrap(True)
        self.confirmation.setTextFormat(Qt.TextFormat.PlainText)
        self.undo_button = QPushButton()
        self.undo_button.setAccessibleName("Undo the decision")
        self.undo_button.clicked.connect(self.undo_requested)
        self.undo_button.hide()
        self.notice = inline_error()
        self.lease_label = QLabel()
        self.lease_label.setObjectName("muted")
        self.lease_label.setWordWrap(True)

        self.history_button = QToolButton()
        self.history_button.setCheckable(True)
        self.history_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.history_button.setArrowType(Qt.ArrowType.RightArrow)
        self.history_button.setAutoRaise(True)
        self.history_button.toggled.connect(self._on_history_toggled)
        self.history_label = QLabel()
        self.history_label.setObjectName("notes")
        self.history_label.setTextFormat(Qt.TextFormat.PlainText)
        self.history_label.setWordWrap(True)
        self.history_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.history_label.setAccessibleName("Case history")
        self.history_label.hide()
        self._thread: list[ThreadEntry] = []

        notes_heading = QLabel("Handoff notes")
        notes_heading.setObjectName("panelHeading")
        self.notes_label = QLabel()
        self.notes_label.setObjectName("notes")
        self.notes_label.setTextFormat(Qt.TextFormat.PlainText)
        self.notes_label.setWordWrap(True)
        self.notes_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.add_note_button = QPushButton("Add handoff note…  (Ctrl+Shift+N)")
        self.add_note_button.clicked.connect(self.note_requested)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(heading)
        layout.addWidget(self.area_label)
        layout.addWidget(self.lease_label)
        layout.addWidget(self.decision_form)
        layout.addWidget(self.confirmation)
        layout.addWidget(self.undo_button)
        layout.addWidget(self.notice)
        layout.addSpacing(8)
        layout.addWidget(self.history_button)
        layout.addWidget(self.history_label)
        layout.addSpacing(8)
        layout.addWidget(notes_heading)
        layout.addWidget(self.notes_label)
        layout.addWidget(self.add_note_button)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        QWidget.setTabOrder(self.policy_box, self.action_box)
        QWidget.setTabOrder(self.action_box, self.rationale)
        QWidget.setTabOrder(self.rationale, self.template_button)
        QWidget.setTabOrder(self.template_button, self.submit_button)

        self.policy_box.currentIndexChanged.connect(self._on_policy_changed)
        self.policy_box.lineEdit().editingFinished.connect(self._select_typed_policy)
        self.policy_box.lineEdit().textChanged.connect(self._on_policy_changed)
        self.policy_box.installEventFilter(self)
        self.policy_box.lineEdit().installEventFilter(self)
        self.action_box.currentIndexChanged.connect(self._update_counter)
        self.rationale.textChanged.connect(self._update_counter)
        self.submit_button.clicked.connect(self.submit)
        submit_on_ctrl_enter(self, self.submit)
        # 1–9 pick a quick policy while focus is anywhere in the panel except where those
        # keys type text (the rationale; the policy field once something is typed in it).
        for number in range(1, QUICK_KEYS + 1):
            shortcut = QShortcut(QKeySequence(str(number)), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(partial(self.pick_quick, number))
        self.set_case(None)

    # -- the case --------------------------------------------------------------------------

    @property
    def case(self) -> Case | None:
        """The case the panel shows (None when nothing is selected)."""
        return self._case

    @property
    def correcting(self) -> uuid.UUID | None:
        """The decision being corrected, while a correction is being written."""
        return self._correcting

    def set_case(self, case: Case | None) -> None:
        self._case = case
        self._correcting = None
        self._inserted_template = ""
        self.clear_errors()
        self.notice.hide()
        self.rationale.clear()
        self.policy_box.blockSignals(True)
        self.policy_box.clear()
        if case is not None:
            self.policy_box.addItem("", None)
            for policy in self.taxonomy.policies_for_surface(case.surface):
                self.policy_box.addItem(f"{policy.code}  {policy.name}", policy.code)
            area = self._area_name(case.policy_area)
            self.area_label.setText(f"Reported under: {area}")
        else:
            self.area_label.setText("Select a case in the queue.")
        self.policy_box.blockSignals(False)
        self._on_policy_changed(force=True)
        self.set_standing_decision(None)
        self._show_correction_mode()
        self.set_thread([])
        self.decision_form.setEnabled(case is not None)
        self.history_button.setVisible(case is not None)
        self.case_changed.emit(case)

    def _area_name(self, code: str) -> str:
        try:
            return self.taxonomy.area(code).name
        except KeyError:
            return code

    def _on_policy_changed(self, *_args: object, force: bool = False) -> None:
        """Offer the actions of the policy chosen or typed so far (kept while it stays the
        same policy, so a chosen action survives more typing)."""
        code = self.chosen_policy()
        if code == self._shown_policy and not force:
            return
        self._shown_policy = code
        self.action_box.clear()
        if code is None:
            self.definition.setText("")
            self._update_counter()
            return
        policy = self.taxonomy.policy(code)
        self.definition.setText(policy.definition)
        self.action_box.addItem("Choose an action…", None)
        for action in policy.actions:
            if action != Action.ESCALATE:
                self.action_box.addItem(action.label, action.value)
        self._update_counter()

    def offered_actions(self) -> list[str]:
        return [self.action_box.itemData(i) for i in range(self.action_box.count())
                if self.action_box.itemData(i) is not None]

    # -- quick keys ------------------------------------------------------------------------

    def set_quick_policies(self, quick: Sequence[QuickPolicy]) -> None:
        """The policies on the keys 1–9, in key order (at most nine are kept)."""
        self._quick = list(quick)[:QUICK_KEYS]
        if not self._quick:
            self.quick_label.setText("Quick keys 1–9: your most used policies appear here.")
            return
        # One short line per key (the panel is narrow); how each got there is in the tooltip.
        lines = ["Quick keys:"]
        lines += [f"{number}  {item.code}  {item.name}" + ("  (last)" if item.why == "last used"
                                                            else "")
                  for number, item in enumerate(self._quick, 1)]
        self.quick_label.setText("\n".join(lines))
        self.quick_label.setToolTip("\n".join(
            f"{number}  {item.code}: {item.why}" for number, item in
            enumerate(self._quick, 1) if item.why))

    def quick_policies(self) -> list[QuickPolicy]:
        return list(self._quick)

    def pick_quick(self, number: int) -> None:
        """Choose the policy on quick key `number` and go on to the action."""
        if self.template_menu.isVisible():  # the key was meant for the open menu
            self.template_menu.choose(number)
            return
        if self._case is None or not self.decision_form.isEnabled():
            return
        if not 1 <= number <= len(self._quick):
            self.show_refusal(f"No policy on key {number}: the quick keys go up to "
                              f"{len(self._quick)}." if self._quick else
                              "No quick policies yet: type a policy code or a word instead.")
            return
        index = self.policy_box.findData(self._quick[number - 1].code)
        if index < 0:
            self.show_refusal(f"{self._quick[number - 1].code} does not apply to this case.")
            return
        self.notice.hide()
        self.policy_box.setCurrentIndex(index)
        self.action_box.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        # Keys reach the policy field through the combo box, which hands them to its line
        # edit directly, so both are watched.
        policy_field = watched in (self.policy_box, self.policy_box.lineEdit())
        if policy_field and event.type() == QEvent.Type.FocusOut:
            self._select_typed_policy()  # also when a completer popup swallowed the Tab
        if (policy_field and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent)):
            number = _DIGITS.get(event.key())
            plain = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if number is not None and plain == Qt.KeyboardModifier.NoModifier \
                    and not self._typing_a_policy():
                self.pick_quick(number)
                return True
        return super().eventFilter(watched, event)

    def _typing_a_policy(self) -> bool:
        """Whether the policy field holds text the reviewer is typing (no code starts with
        a digit, so a digit in an empty or already chosen field is a quick key)."""
        text = self.policy_box.lineEdit().text()
        return bool(text) and text != self.policy_box.itemText(self.policy_box.currentIndex())

    # -- rationale templates and the length counter ------------------------------------------

    def set_rationale_templates(self, templates: Sequence[Template], *,
                                now: Callable[[], datetime], reviewer_name: str) -> None:
        self._templates = list(templates)
        self._now = now
        self._reviewer_name = reviewer_name

    def fitting_templates(self) -> list[Template]:
        """The templates for the chosen policy and action (any offered action if none)."""
        code = self.chosen_policy()
        if code is None:
            return []
        action = self.action_box.currentData()
        offered = set(self.offered_actions())
        return [t for t in templates_for(self._templates, policy_code=code, action=action)
                if action is not None or not t.actions or offered & set(t.actions)]

    def open_templates(self) -> None:
        """Offer the fitting templates in a menu; choosing one fills the rationale."""
        if self._case is None:
            self.show_refusal("Select a case first: a template is filled from the case.")
            return
        if self.chosen_policy() is None:
            self._field_error("rationale", "Choose a policy first: the templates are written "
                                           "for a policy (1–9 or type its code).")
            self.policy_box.setFocus()
            return
        fitting = self.fitting_templates()
        if not fitting:
            self._field_error("rationale", "No template fits this policy and action; write "
                                           "the rationale yourself.")
            self.rationale.setFocus()
            return
        self.errors["rationale"].hide()
        self.template_menu.clear()
        for number, template in enumerate(fitting, 1):
            prefix = f"&{number}  " if number <= QUICK_KEYS else "    "
            action = self.template_menu.addAction(prefix + template.title.replace("&", "&&"))
            action.setData(template.id)
            action.triggered.connect(partial(self.insert_template, template))
        self.template_menu.popup(
            self.template_button.mapToGlobal(QPoint(0, self.template_button.height())))
        self.template_menu.setActiveAction(self.template_menu.actions()[0])

    def insert_template(self, template: Template) -> None:
        """Fill the rationale from `template` and the case; the reviewer's own text is
        never overwritten (the template goes in at the cursor instead)."""
        if self._case is None or self.chosen_policy() is None:
            return
        self._select_typed_policy()
        action = self.action_box.currentData()
        if action is None and template.actions:
            offered = self.offered_actions()
            wanted = next((a for a in template.actions if a in offered), None)
            if wanted is not None:
                self.action_box.setCurrentIndex(self.action_box.findData(wanted))
                action = wanted
        text = render(template, self._case, now=self._now(),
                      policy=self.taxonomy.policy(self.chosen_policy() or ""), action=action,
                      reviewer_name=self._reviewer_name or None)
        current = self.rationale.toPlainText()
        if not current.strip() or current == self._inserted_template:
            self.rationale.setPlainText(text + " ")
            self._inserted_template = self.rationale.toPlainText()
        else:
            self.rationale.textCursor().insertText(text + " ")
        self.rationale.moveCursor(self.rationale.textCursor().MoveOperation.End)
        self.rationale.setFocus()

    def severe(self) -> bool:
        code, action = self.chosen_policy(), self.action_box.currentData()
        return bool(code and action) and needs_second_review(self.taxonomy, code or "",
                                                             action or "")

    def _update_counter(self) -> None:
        if not self.severe():
            self.counter.hide()
            self.severe_hint.hide()
            return
        length = len(self.rationale.toPlainText().strip())
        self.counter.setText(f"{length}/{MIN_SEVERE_RATIONALE_CHARS}")
        name = "fieldError" if length < MIN_SEVERE_RATIONALE_CHARS else "confirmation"
        if self.counter.objectName() != name:
            self.counter.setObjectName(name)
            self.counter.style().unpolish(self.counter)
            self.counter.style().polish(self.counter)
        self.severe_hint.setText(
            f"Severe action: a rationale of at least {MIN_SEVERE_RATIONALE_CHARS} characters, "
            "and a second reviewer must approve it before it takes effect.")
        self.counter.show()
        self.severe_hint.show()

    # -- submitting ------------------------------------------------------------------------

    def draft(self) -> DecisionDraft | None:
        if self._case is None:
            return None
        return DecisionDraft(
            case_id=self._case.id,
            policy_code=self.chosen_policy() or "",
            action=self.action_box.currentData() or "",
            rationale=self.rationale.toPlainText(),
        )

    def restore_draft(self, draft: DecisionDraft) -> None:
        """Put a draft back in the fields (after an undo), for the reviewer to fix."""
        index = self.policy_box.findData(draft.policy_code)
        if index >= 0:
            self.policy_box.setCurrentIndex(index)
            action = self.action_box.findData(draft.action)
            if action >= 0:
                self.action_box.setCurrentIndex(action)
        self.rationale.setPlainText(draft.rationale)

    def chosen_policy(self) -> str | None:
        """The policy the reviewer picked or typed (a code, or text naming one policy)."""
        typed = self.policy_box.currentText().strip()
        if typed == self.policy_box.itemText(self.policy_box.currentIndex()).strip():
            return self.policy_box.currentData()
        needle = typed.lower()
        matches = [
            self.policy_box.itemData(i) for i in range(self.policy_box.count())
            if self.policy_box.itemData(i) is not None
            and (self.policy_box.itemData(i).lower() == needle
                 or needle in self.policy_box.itemText(i).lower())
        ]
        exact = [code for code in matches if code.lower() == needle]
        return (exact or matches)[0] if len(exact) == 1 or len(matches) == 1 else None

    def _select_typed_policy(self) -> None:
        code = self.chosen_policy()
        if code is not None:
            index = self.policy_box.findData(code)
            if index != self.policy_box.currentIndex():
                self.policy_box.setCurrentIndex(index)

    def submit(self) -> None:
        draft = self.draft()
        if draft is None or not self.decision_form.isEnabled():
            return
        self.confirmation.clear()
        self.notice.hide()
        if self._correcting is not None:
            self.correction_submitted.emit(draft, self._correcting)
            return
        if self._case is not None and self._case.status == CaseStatus.DECIDED.value:
            self.show_problems({"case": "This case is already decided. To change the "
                                        "decision, use Correct decision… (Ctrl+Shift+C)."})
            return
        self._last_draft = draft
        self.submitting.emit(draft)
        self.submitted.emit(draft)

    def clear_errors(self) -> None:
        for label in self.errors.values():
            label.clear()
            label.hide()

    def _field_error(self, field: str, text: str) -> None:
        label = self.errors.get(field, self.case_error)
        label.setText(text)
        label.show()

    def show_problems(self, problems: dict[str, str]) -> None:
        self.clear_errors()
        for field, text in problems.items():
            self._field_error(field, text)
        first = next(iter(problems), None)
        focus = {"policy": self.policy_box, "action": self.action_box,
                 "rationale": self.rationale}.get(first or "")
        if focus is not None:
            focus.setFocus()

    def show_recorded(self, text: str) -> None:
        """The window's report that the submitted decision was recorded."""
        self.show_confirmation(text)
        if self._last_draft is not None:
            self.decision_recorded.emit(self._last_draft.case_id)

    def show_confirmation(self, text: str) -> None:
        self.notice.hide()
        self.confirmation.setText(text)

    def append_confirmation(self, text: str) -> None:
        current = self.confirmation.text()
        self.confirmation.setText(f"{current} {text}" if current else text)

    def show_refusal(self, text: str) -> None:
        """Why an action was refused, in plain words, until the next case or action."""
        self.notice.setText(text)
        self.notice.show()

    def set_undo(self, text: str | None, about: str = "") -> None:
        """The undo offer's text (a countdown) and what it would undo, or None to withdraw
        the offer."""
        if text is None:
            self.undo_button.hide()
            return
        self.undo_button.setText(text)
        self.undo_button.setToolTip(about)
        self.undo_button.setAccessibleDescription(about)
        self.undo_button.show()

    # -- the decision standing on the case, and corrections --------------------------------

    def set_standing_decision(self, text: str | None) -> None:
        """A one-line account of the decision on a decided case (None: no decision)."""
        self.standing_label.setText(text or "")
        self.standing_label.setVisible(bool(text))
        self.correct_button.setVisible(bool(text) and self._correcting is None)

    def begin_correction(self, decision_id: uuid.UUID, policy_code: str, action: str,
                         summary: str) -> None:
        """Write a new decision that supersedes `decision_id` (pre-filled from it)."""
        self._correcting = decision_id
        self.clear_errors()
        self.notice.hide()
        index = self.policy_box.findData(policy_code)
        self.policy_box.setCurrentIndex(max(index, 0))
        found = self.action_box.findData(action)
        if found >= 0:
            self.action_box.setCurrentIndex(found)
        self.rationale.clear()
        self.correction_label.setText(
            f"Correcting: {summary}. The earlier decision is kept; the correction supersedes "
            "it. Write why it changes.")
        self._show_correction_mode()
        self.policy_box.setFocus()

    def end_correction(self) -> None:
        self._correcting = None
        self._show_correction_mode()

    def _show_correction_mode(self) -> None:
        correcting = self._correcting is not None
        self.correction_label.setVisible(correcting)
        self.cancel_correction_button.setVisible(correcting)
        self.correct_button.setVisible(bool(self.standing_label.text()) and not correcting)
        self.submit_button.setText("Submit correction  (Ctrl+Enter)" if correcting
                                   else "Submit decision  (Ctrl+Enter)")

    # -- history ---------------------------------------------------------------------------

    def set_thread(self, entries: Sequence[ThreadEntry]) -> None:
        """The case's history, oldest first, shown under the collapsible "History"."""
        self._thread = list(entries)
        self.history_button.setText(f"History ({len(self._thread)})  Ctrl+H")
        lines = []
        for entry in self._thread:
            who = f"{entry.actor}: " if entry.actor else ""
            lines.append(f"{entry.at.astimezone():%a %d %b %H:%M}  {who}{entry.summary}")
            text = entry.text.strip()
            if text:
                if len(text) > MAX_THREAD_TEXT_CHARS:
                    text = text[:MAX_THREAD_TEXT_CHARS - 1] + "…"
                lines.append("    " + text.replace("\n", "\n    "))
        self.history_label.setText("\n".join(lines) if lines else "Nothing has happened yet.")

    def thread(self) -> list[ThreadEntry]:
        return list(self._thread)

    def toggle_history(self) -> None:
        if self._case is not None:
            self.history_button.toggle()

    def _on_history_toggled(self, shown: bool) -> None:
        self.history_button.setArrowType(Qt.ArrowType.DownArrow if shown
                                          else Qt.ArrowType.RightArrow)
        self.history_label.setVisible(shown)

    # -- notes and lease -------------------------------------------------------------------

    def set_notes(self, notes: list[tuple[str, str, str]]) -> None:
        """(author, when, text) for each note on the case, oldest first."""
        if not notes:
            self.notes_label.setText("No notes on this case.")
            return
        self.notes_label.setText(
            "\n\n".join(f"{author}, {when}:\n{text}" for author, when, text in notes)
        )

    def set_lease_text(self, text: str) -> None:
        self.lease_label.setText(text)
        self.lease_label.setVisible(bool(text))
