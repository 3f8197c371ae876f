"""The fields of a decision in the enforcement panel: a policy (searchable as you type),
its definition, one of its actions and a rationale, with a live length counter for severe
actions, each field's problem shown beside it, and the submit button.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.enforcement.decisions import (
    MIN_SEVERE_RATIONALE_CHARS,
    DecisionDraft,
    needs_second_review,
)
from reviewer.policy.taxonomy import Taxonomy
from reviewer.vocabulary import Action
from ui.widgets.form_feedback import inline_error

if TYPE_CHECKING:
    from reviewer.store.models import Case


class DecisionForm(QWidget):
    """Policy, action and rationale for one case; what they hold is a `DecisionDraft`.

    The policy field offers the policies of the case's surface, and the action field the
    actions of the policy chosen or typed so far (escalation has its own dialog).
    """

    def __init__(self, taxonomy: Taxonomy, parent: QWidget | None = None):
        super().__init__(parent)
        self.taxonomy = taxonomy
        self._shown_policy: str | None = None

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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.case_error)
        layout.addWidget(self.submit_button)
        QWidget.setTabOrder(self.policy_box, self.action_box)
        QWidget.setTabOrder(self.action_box, self.rationale)
        QWidget.setTabOrder(self.rationale, self.template_button)
        QWidget.setTabOrder(self.template_button, self.submit_button)

        self.policy_box.currentIndexChanged.connect(self._on_policy_changed)
        self.policy_box.lineEdit().editingFinished.connect(self.select_typed_policy)
        self.policy_box.lineEdit().textChanged.connect(self._on_policy_changed)
        self.policy_box.installEventFilter(self)
        self.policy_box.lineEdit().installEventFilter(self)
        self.action_box.currentIndexChanged.connect(self._update_counter)
        self.rationale.textChanged.connect(self._update_counter)

    def start(self, case: Case | None) -> None:
        """Empty fields for `case`: no problem shown, no rationale, and the policies of its
        surface to choose from (none without a case)."""
        self.clear_errors()
        self.rationale.clear()
        self.policy_box.blockSignals(True)
        self.policy_box.clear()
        if case is not None:
            self.policy_box.addItem("", None)
            for policy in self.taxonomy.policies_for_surface(case.surface):
                self.policy_box.addItem(f"{policy.code}  {policy.name}", policy.code)
        self.policy_box.blockSignals(False)
        self._on_policy_changed(force=True)

    # -- the policy and its actions ----------------------------------------------------------

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

    def select_typed_policy(self) -> None:
        code = self.chosen_policy()
        if code is not None:
            index = self.policy_box.findData(code)
            if index != self.policy_box.currentIndex():
                self.policy_box.setCurrentIndex(index)

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

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        if (event.type() == QEvent.Type.FocusOut
                and watched in (self.policy_box, self.policy_box.lineEdit())):
            self.select_typed_policy()  # also when a completer popup swallowed the Tab
        return super().eventFilter(watched, event)

    # -- the length counter for severe actions ---------------------------------------------

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

    # -- what the fields hold ----------------------------------------------------------------

    def draft_for(self, case_id: uuid.UUID) -> DecisionDraft:
        return DecisionDraft(
            case_id=case_id,
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

    def prefill(self, policy_code: str, action: str) -> None:
        """Start from an earlier decision's policy and action, with an empty rationale."""
        index = self.policy_box.findData(policy_code)
        self.policy_box.setCurrentIndex(max(index, 0))
        found = self.action_box.findData(action)
        if found >= 0:
            self.action_box.setCurrentIndex(found)
        self.rationale.clear()

    def set_correcting(self, correcting: bool) -> None:
        """Whether the submit button submits a correction or a decision."""
        self.submit_button.setText("Submit correction  (Ctrl+Enter)" if correcting
                                   else "Submit decision  (Ctrl+Enter)")

    # -- problems ----------------------------------------------------------------------------

    def clear_errors(self) -> None:
        for label in self.errors.values():
            label.clear()
            label.hide()

    def field_error(self, field: str, text: str) -> None:
        label = self.errors.get(field, self.case_error)
        label.setText(text)
        label.show()

    def show_problems(self, problems: dict[str, str]) -> None:
        self.clear_errors()
        for field, text in problems.items():
            self.field_error(field, text)
        first = next(iter(problems), None)
        focus = {"policy": self.policy_box, "action": self.action_box,
                 "rationale": self.rationale}.get(first or "")
        if focus is not None:
            focus.setFocus()
