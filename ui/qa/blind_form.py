"""The auditor's own decision on a sample, made blind: a policy of the case's surface, one
of its actions and a rationale, each field's problem shown beside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QComboBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.policy.taxonomy import Taxonomy
from ui.widgets.form_feedback import inline_error

if TYPE_CHECKING:
    from reviewer.store.models import Case


class BlindDecisionForm(QWidget):
    """Policy (Alt+Y), action (Alt+T) and rationale (Alt+R) with "Submit my decision"
    (`submit_button`, for the window to connect)."""

    def __init__(self, taxonomy: Taxonomy, parent: QWidget | None = None):
        super().__init__(parent)
        self.taxonomy = taxonomy
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

        blind = QVBoxLayout(self)
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

    def offer_policies_of(self, case: Case) -> None:
        """The policies of the case's surface to choose from, none chosen yet."""
        self.policy_box.blockSignals(True)
        self.policy_box.clear()
        self.policy_box.addItem("Choose a policy…", None)
        for policy in self.taxonomy.policies_for_surface(case.surface):
            self.policy_box.addItem(f"{policy.code}  {policy.name}", policy.code)
        self.policy_box.blockSignals(False)
        self._fill_actions()

    def _fill_actions(self, *_args: object) -> None:
        self.action_box.clear()
        code = self.policy_box.currentData()
        if code is None:
            self.action_box.addItem("Choose a policy first", None)
            return
        self.action_box.addItem("Choose an action…", None)
        for action in self.taxonomy.policy(code).actions:
            self.action_box.addItem(action.label, action.value)

    def choice(self) -> tuple[str, str, str]:
        """(policy code, action, rationale) as the auditor has them ("" for none)."""
        return (self.policy_box.currentData() or "", self.action_box.currentData() or "",
                self.rationale.toPlainText())

    def show_decision(self, policy_code: str, action: str, rationale: str) -> None:
        """The blind decision on record, in the fields (which the window disables)."""
        index = self.policy_box.findData(policy_code)
        if index >= 0:
            self.policy_box.setCurrentIndex(index)
        found = self.action_box.findData(action)
        if found >= 0:
            self.action_box.setCurrentIndex(found)
        self.rationale.setPlainText(rationale)

    def show_problems(self, problems: dict[str, str]) -> None:
        for field, text in problems.items():
            label = self.errors.get(field, self.errors["case"])
            label.setText(text)
            label.show()
