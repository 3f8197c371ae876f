"""The enforcement panel: choose a policy, an action and a rationale, then submit.

Problems are explained next to the field they concern; nothing is recorded until the whole
decision is valid.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.enforcement import DecisionDraft
from reviewer.models import Case
from reviewer.taxonomy import Taxonomy
from reviewer.vocabulary import Action


class EnforcementPanel(QWidget):
    """Emits ``submitted(draft)``; the window records it and reports back."""

    submitted = Signal(object)
    note_requested = Signal()

    def __init__(self, taxonomy: Taxonomy, parent: QWidget | None = None):
        super().__init__(parent)
        self.taxonomy = taxonomy
        self._case: Case | None = None

        heading = QLabel("Decision")
        heading.setObjectName("panelHeading")
        self.area_label = QLabel()
        self.area_label.setObjectName("muted")
        self.area_label.setWordWrap(True)

        self.policy_box = QComboBox()
        self.policy_box.setAccessibleName("Policy")
        # Searchable as you type, by code or by any word of the name.
        self.policy_box.setEditable(True)
        self.policy_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        completer = self.policy_box.completer()
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.policy_box.lineEdit().setPlaceholderText("Type a code or a word, or ↓")
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
        self.submit_button = QPushButton("Submit decision  (Ctrl+Enter)")
        self.submit_button.setObjectName("primary")
        self.submit_button.setDefault(True)

        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for key, text, widget in (
            ("policy", "&Policy", self.policy_box),
            ("action", "&Action", self.action_box),
            ("rationale", "&Rationale", self.rationale),
        ):
            label = QLabel(text)
            label.setBuddy(widget)
            error = QLabel()
            error.setObjectName("fieldError")
            error.setWordWrap(True)
            error.hide()
            self.errors[key] = error
            column = QVBoxLayout()
            column.setSpacing(2)
            column.addWidget(widget)
            if key == "policy":
                column.addWidget(self.definition)
            column.addWidget(error)
            form.addRow(label, column)
        self.case_error = QLabel()
        self.case_error.setObjectName("fieldError")
        self.case_error.setWordWrap(True)
        self.case_error.hide()
        self.errors["case"] = self.case_error
        self.confirmation = QLabel()
        self.confirmation.setObjectName("confirmation")
        self.confirmation.setWordWrap(True)
        self.lease_label = QLabel()
        self.lease_label.setObjectName("muted")
        self.lease_label.setWordWrap(True)

        notes_heading = QLabel("Handoff notes")
        notes_heading.setObjectName("panelHeading")
        self.notes_label = QLabel()
        self.notes_label.setObjectName("notes")
        self.notes_label.setTextFormat(Qt.TextFormat.PlainText)
        self.notes_label.setWordWrap(True)
        self.notes_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.add_note_button = QPushButton("Add handoff note…  (Ctrl+Shift+N)")
        self.add_note_button.clicked.connect(self.note_requested)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(heading)
        layout.addWidget(self.area_label)
        layout.addWidget(self.lease_label)
        layout.addLayout(form)
        layout.addWidget(self.case_error)
        layout.addWidget(self.submit_button)
        layout.addWidget(self.confirmation)
        layout.addSpacing(12)
        layout.addWidget(notes_heading)
        layout.addWidget(self.notes_label)
        layout.addWidget(self.add_note_button)
        layout.addStretch(1)

        self.policy_box.currentIndexChanged.connect(self._on_policy_changed)
        self.policy_box.lineEdit().editingFinished.connect(self._select_typed_policy)
        self.submit_button.clicked.connect(self.submit)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(self.submit)
        self.set_case(None)

    # -- the case --------------------------------------------------------------------------

    def set_case(self, case: Case | None) -> None:
        self._case = case
        self.clear_errors()
        self.rationale.clear()
        self.policy_box.blockSignals(True)
        self.policy_box.clear()
        if case is not None:
            self.policy_box.addItem("", None)
            preferred = None
            for policy in self.taxonomy.policies_for_surface(case.surface):
                self.policy_box.addItem(f"{policy.code}  {policy.name}", policy.code)
                if preferred is None and policy.area_code == case.policy_area:
                    preferred = policy.code
            area = self._area_name(case.policy_area)
            self.area_label.setText(f"Reported under: {area}")
        else:
            self.area_label.setText("Select a case in the queue.")
        self.policy_box.blockSignals(False)
        self._on_policy_changed()
        self.setEnabled(case is not None)

    def _area_name(self, code: str) -> str:
        try:
            return self.taxonomy.area(code).name
        except KeyError:
            return code

    def _on_policy_changed(self) -> None:
        code = self.policy_box.currentData()
        self.action_box.clear()
        if code is None:
            self.definition.setText("")
            return
        policy = self.taxonomy.policy(code)
        self.definition.setText(policy.definition)
        self.action_box.addItem("Choose an action…", None)
        for action in policy.actions:
            if action != Action.ESCALATE:
                self.action_box.addItem(action.label, action.value)

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
        if draft is not None and self.isEnabled():
            self.confirmation.clear()
            self.submitted.emit(draft)

    def clear_errors(self) -> None:
        for label in self.errors.values():
            label.clear()
            label.hide()

    def show_problems(self, problems: dict[str, str]) -> None:
        self.clear_errors()
        for field, text in problems.items():
            label = self.errors.get(field, self.case_error)
            label.setText(text)
            label.show()
        first = next(iter(problems), None)
        focus = {"policy": self.policy_box, "action": self.action_box,
                 "rationale": self.rationale}.get(first or "")
        if focus is not None:
            focus.setFocus()

    def show_recorded(self, text: str) -> None:
        self.confirmation.setText(text)

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
