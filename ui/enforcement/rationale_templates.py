"""Rationale templates in the enforcement panel (Ctrl+T): a numbered menu of the templates
that fit the chosen policy and action; choosing one fills the rationale from the case.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint
from PySide6.QtWidgets import QWidget

from reviewer.policy.templates import Template, render, templates_for
from ui.enforcement.decision_form import DecisionForm
from ui.enforcement.message_strip import MessageStrip
from ui.enforcement.quick_keys import QUICK_KEYS, NumberedMenu

if TYPE_CHECKING:
    from reviewer.store.models import Case


class RationaleTemplates(QObject):
    """Offers the fitting templates under the form's template button (`menu`) and puts the
    one chosen in the rationale; the reviewer's own text is never overwritten."""

    def __init__(self, panel: QWidget, form: DecisionForm, messages: MessageStrip,
                 case: Callable[[], Case | None]):
        super().__init__(panel)
        self.form = form
        self.messages = messages
        self._case = case
        self._templates: list[Template] = []
        self._now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._reviewer_name = ""
        self._inserted = ""
        self.menu = NumberedMenu(panel)
        self.menu.setAccessibleName("Rationale templates")
        form.template_button.clicked.connect(self.open)

    def set_templates(self, templates: Sequence[Template], *,
                      now: Callable[[], datetime], reviewer_name: str) -> None:
        self._templates = list(templates)
        self._now = now
        self._reviewer_name = reviewer_name

    def forget_inserted(self) -> None:
        """A new case: whatever the rationale holds is no longer a template just inserted."""
        self._inserted = ""

    def fitting(self) -> list[Template]:
        """The templates for the chosen policy and action (any offered action if none)."""
        code = self.form.chosen_policy()
        if code is None:
            return []
        action = self.form.action_box.currentData()
        offered = set(self.form.offered_actions())
        return [t for t in templates_for(self._templates, policy_code=code, action=action)
                if action is not None or not t.actions or offered & set(t.actions)]

    def open(self) -> None:
        """Offer the fitting templates in a menu; choosing one fills the rationale."""
        form = self.form
        if self._case() is None:
            self.messages.show_refusal("Select a case first: a template is filled from the "
                                       "case.")
            return
        if form.chosen_policy() is None:
            form.field_error("rationale", "Choose a policy first: the templates are written "
                                          "for a policy (1–9 or type its code).")
            form.policy_box.setFocus()
            return
        fitting = self.fitting()
        if not fitting:
            form.field_error("rationale", "No template fits this policy and action; write "
                                          "the rationale yourself.")
            form.rationale.setFocus()
            return
        form.errors["rationale"].hide()
        self.menu.clear()
        for number, template in enumerate(fitting, 1):
            prefix = f"&{number}  " if number <= QUICK_KEYS else "    "
            action = self.menu.addAction(prefix + template.title.replace("&", "&&"))
            action.setData(template.id)
            action.triggered.connect(partial(self.insert, template))
        self.menu.popup(
            form.template_button.mapToGlobal(QPoint(0, form.template_button.height())))
        self.menu.setActiveAction(self.menu.actions()[0])

    def insert(self, template: Template) -> None:
        """Fill the rationale from `template` and the case; the reviewer's own text is
        never overwritten (the template goes in at the cursor instead)."""
        form, case = self.form, self._case()
        if case is None or form.chosen_policy() is None:
            return
        form.select_typed_policy()
        action = form.action_box.currentData()
        if action is None and template.actions:
            offered = form.offered_actions()
            wanted = next((a for a in template.actions if a in offered), None)
            if wanted is not None:
                form.action_box.setCurrentIndex(form.action_box.findData(wanted))
                action = wanted
        text = render(template, case, now=self._now(),
                      policy=form.taxonomy.policy(form.chosen_policy() or ""), action=action,
                      reviewer_name=self._reviewer_name or None)
        rationale = form.rationale
        current = rationale.toPlainText()
        if not current.strip() or current == self._inserted:
            rationale.setPlainText(text + " ")
            self._inserted = rationale.toPlainText()
        else:
            rationale.textCursor().insertText(text + " ")
        rationale.moveCursor(rationale.textCursor().MoveOperation.End)
        rationale.setFocus()
