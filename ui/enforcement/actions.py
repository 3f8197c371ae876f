"""The enforcement actions of the main window, all by keyboard.

`EnforcementActions` adds a "Decision" menu with its keys to the window (any `CaseHost`)
and keeps the enforcement panel fed from the replica through the workstation's
`reviewer.enforcement.desk.EnforcementDesk`: quick policies (1–9),
rationale templates (Ctrl+T), the undo offer after a decision (Ctrl+Z), corrections
(Ctrl+Shift+C), escalation (Ctrl+E), replies to partners, the press and regulators
(Ctrl+R), second reviews (Ctrl+Shift+R), the case history (Ctrl+H) and the decided cases
(Ctrl+Shift+D). Each action is one local transaction through `reviewer/`; what it changed
is published on the window's `ChangeBus`, and sending it is left to the window's sync.
A refusal is said in plain words in the panel.

Each job is a flow of its own, in this folder: `undo.UndoFlow`, `correction_flow`,
`escalation_flow`, `second_review_flow` and `reply_flow` (all on `flow.CaseFlow`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from reviewer.policy.templates import Template, TemplateError, load_templates
from reviewer.workstation import Workstation
from ui.enforcement.correction_flow import CorrectionFlow
from ui.enforcement.escalation_dialog import EscalationDialog
from ui.enforcement.escalation_flow import EscalationFlow
from ui.enforcement.flow import CaseFlow, CaseHost, FlowContext
from ui.enforcement.panel import EnforcementPanel
from ui.enforcement.quick_keys import QUICK_KEYS, QuickPolicy
from ui.enforcement.reply_flow import ReplyFlow
from ui.enforcement.response_dialog import ResponseDialog
from ui.enforcement.second_review import SecondReviewDialog
from ui.enforcement.second_review_flow import SecondReviewFlow
from ui.enforcement.undo import UndoFlow, UndoOffer
from ui.widgets.changes import ChangeBus, Changes
from ui.widgets.tasks import TaskRunner

if TYPE_CHECKING:
    from reviewer.store.models import Case


class EnforcementActions(CaseFlow):
    """Connects the window's enforcement panel and menu to the enforcement core: feeds the
    panel for each case and hands each menu entry to the flow that does it."""

    def __init__(self, host: CaseHost, workstation: Workstation, panel: EnforcementPanel,
                 tasks: TaskRunner, changes: ChangeBus):
        context = FlowContext(host, workstation, panel, changes)
        super().__init__(context, host)  # type: ignore[arg-type]  # the host is a QMainWindow
        self.setObjectName("enforcementActions")
        reviewer = self.workstation.reviewer()
        self.reviewer_name = reviewer.display_name if reviewer else "Reviewer"
        self.rationale_templates = self._load_templates("rationale")
        self.response_templates = self._load_templates("responses")
        self.panel.set_rationale_templates(self.rationale_templates,
                                           now=self.workstation.clock.now,
                                           reviewer_name=self.reviewer_name)
        self.undo_flow = UndoFlow(context, self)
        self.corrections = CorrectionFlow(context, self.undo_flow, self)
        self.escalation = EscalationFlow(context, self)
        self.replies = ReplyFlow(context, self.response_templates, self.reviewer_name, self)
        self.second_reviews = SecondReviewFlow(context, self)
        self.undo_flow.correction_withdrawn.connect(self.corrections.begin)
        self._build_actions()
        self.panel.case_changed.connect(self._on_case_changed)
        self.panel.submitting.connect(self.undo_flow.note_submitting)
        self.panel.decision_recorded.connect(self._on_decision_recorded)
        self.panel.undo_requested.connect(self.undo_flow.undo)
        tasks.all_done.connect(self._after_background_work)
        changes.changed.connect(self._on_changes)
        self._on_case_changed(self.panel.case)
        self.refresh_second_review_count()

    # -- what the flows hold, by the names the window's tests use ----------------------------

    @property
    def undo_offer(self) -> UndoOffer | None:
        return self.undo_flow.offer

    @property
    def escalation_dialog(self) -> EscalationDialog | None:
        return self.escalation.dialog

    @property
    def review_dialog(self) -> SecondReviewDialog | None:
        return self.second_reviews.dialog

    @property
    def response_dialog(self) -> ResponseDialog | None:
        return self.replies.dialog

    def tick(self) -> None:
        """Count the undo offer down (the flow's timer does it every half second)."""
        self.undo_flow.tick()

    # -- plumbing --------------------------------------------------------------------------

    def _load_templates(self, kind: str) -> list[Template]:
        try:
            return load_templates(kind)
        except (TemplateError, OSError) as error:
            self.main.statusBar().showMessage(f"The {kind} templates could not be read: "
                                              f"{error}", 30_000)
            return []

    def _build_actions(self) -> None:
        menu = self.main.menuBar().addMenu("&Decision")
        self.template_action = self._action(menu, "Insert rationale &template…", "Ctrl+T",
                                            self.insert_template)
        self.undo_action = self._action(menu, "&Undo last decision", "Ctrl+Z",
                                        self.undo_flow.undo)
        self.correct_action = self._action(menu, "&Correct decision…", "Ctrl+Shift+C",
                                           self.corrections.begin)
        menu.addSeparator()
        self.escalate_action = self._action(menu, "&Escalate…", "Ctrl+E",
                                            self.escalation.escalate)
        self.reply_action = self._action(menu, "&Reply to partner, press or regulator…",
                                         "Ctrl+R", self.replies.reply)
        self.second_reviews_action = self._action(menu, "Second re&views…", "Ctrl+Shift+R",
                                                  self.second_reviews.show)
        menu.addSeparator()
        self.history_action = self._action(menu, "Case &history", "Ctrl+H", self.toggle_history)
        self.decided_action = self._action(menu, "Show &decided cases", "Ctrl+Shift+D",
                                           self.corrections.show_decided_cases)

    def _action(self, menu: QMenu, text: str, keys: str, slot: Callable[[], object]) -> QAction:
        action = QAction(text, self.main)
        action.setShortcut(QKeySequence(keys))
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.main.addAction(action)
        return action

    def _after_background_work(self) -> None:
        self.refresh_second_review_count()
        if self.second_reviews.dialog is not None:
            self.second_reviews.refresh()

    def _on_changes(self, changes: Changes) -> None:
        if changes.second_reviews:
            self.refresh_second_review_count()
            self.second_reviews.refresh()

    def _on_decision_recorded(self, case_id: uuid.UUID) -> None:
        if self.undo_flow.offer_after_decision(case_id):
            self.refresh_second_review_count()

    def refresh_second_review_count(self) -> None:
        self.second_reviews_action.setText(self.second_reviews.menu_text())

    # -- the case in the panel: quick keys, history, standing decision, templates -----------

    def _on_case_changed(self, case: Case | None) -> None:
        if case is None:
            self.panel.set_quick_policies([])
            return
        taxonomy = self.workstation.taxonomy
        allowed = [p.code for p in taxonomy.policies_for_surface(case.surface)]
        shown = self.desk.for_case(case, limit=QUICK_KEYS)
        quick = shown.quick
        codes: list[tuple[str, str]] = []
        if quick.last_used:
            codes.append((quick.last_used, "last used"))
        codes += [(code, "often used") for code in quick.most_used if code != quick.last_used]
        try:
            area = [p.code for p in taxonomy.area(case.policy_area).policies
                    if p.code in allowed]
        except KeyError:
            area = []
        codes += [(code, "reported area") for code in area
                  if code not in {known for known, _ in codes}]
        self.panel.set_quick_policies([
            QuickPolicy(code, taxonomy.policy(code).name, why)
            for code, why in codes[:QUICK_KEYS]])
        self.panel.set_thread(shown.thread)
        self.panel.set_standing_decision(shown.standing_summary)

    def toggle_history(self) -> None:
        if self.panel.case is None:
            self.refuse("Select a case to see its history.")
            return
        self.panel.toggle_history()

    def insert_template(self) -> None:
        if self.panel.case is None:
            self.refuse("Select a case first: a rationale template is filled from the case.")
            return
        self.panel.open_templates()
