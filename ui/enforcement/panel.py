"""The enforcement panel: choose a policy, an action and a rationale, then submit.

Problems are explained next to the field they concern; nothing is recorded until the whole
decision is valid. Around the decision the panel shows what a reviewer needs by keyboard:
their last used and most used policies on the keys 1–9, rationale templates (Ctrl+T), a
live length counter for severe actions, the decision already standing on the case (with
"Correct decision…"), the "Undo" offer after a submission and the case's history. The panel
never touches a database: `ui.enforcement.actions` feeds it and acts on its signals.

Each section is a piece of its own, in this folder: the form (`decision_form`), the quick
keys (`quick_keys`), the templates (`rationale_templates`), the standing decision and the
correction mode (`correction_mode`), the messages and undo offer (`message_strip`) and the
history (`case_history`). The panel lays them out and keeps the case they all work on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from reviewer.enforcement.decisions import DecisionDraft
from reviewer.enforcement.escalation import ThreadEntry
from reviewer.policy.taxonomy import Taxonomy
from reviewer.policy.templates import Template
from reviewer.vocabulary import CaseStatus
from ui.enforcement.case_history import CaseHistory
from ui.enforcement.correction_mode import CorrectionMode
from ui.enforcement.decision_form import DecisionForm
from ui.enforcement.message_strip import MessageStrip
from ui.enforcement.quick_keys import QuickPolicy, QuickPolicyKeys
from ui.enforcement.rationale_templates import RationaleTemplates
from ui.widgets.form_feedback import submit_on_ctrl_enter

if TYPE_CHECKING:
    from reviewer.store.models import Case


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

        self.form = DecisionForm(taxonomy)
        self.messages = MessageStrip(self)
        self.templates = RationaleTemplates(self, self.form, self.messages, lambda: self._case)
        self.quick_keys = QuickPolicyKeys(
            self, self.form, self.templates.menu, self.messages,
            ready=lambda: self._case is not None and self.decision_form.isEnabled())
        self.correction = CorrectionMode(self, self.form, self.messages)
        self.history = CaseHistory(self)
        self.correction.correct_button.clicked.connect(self.correction_requested)
        self.messages.undo_button.clicked.connect(self.undo_requested)

        # The widgets the window and its tests reach by name.
        self.policy_box = self.form.policy_box
        self.action_box = self.form.action_box
        self.rationale = self.form.rationale
        self.counter = self.form.counter
        self.errors = self.form.errors
        self.submit_button = self.form.submit_button
        self.template_menu = self.templates.menu
        self.quick_label = self.quick_keys.label
        self.standing_label = self.correction.standing_label
        self.confirmation = self.messages.confirmation
        self.undo_button = self.messages.undo_button
        self.notice = self.messages.notice
        self.history_label = self.history.label

        heading = QLabel("Decision")
        heading.setObjectName("panelHeading")
        self.area_label = QLabel()
        self.area_label.setObjectName("muted")
        self.area_label.setWordWrap(True)
        self.lease_label = QLabel()
        self.lease_label.setObjectName("muted")
        self.lease_label.setWordWrap(True)

        # Everything that decides is in one widget, disabled while no case is shown; the
        # messages below it (confirmation, undo, refusals) stay readable and usable.
        self.decision_form = QWidget()
        form_layout = QVBoxLayout(self.decision_form)
        form_layout.setContentsMargins(0, 0, 0, 0)
        for widget in (*self.correction.widgets, self.quick_keys.label, self.form):
            form_layout.addWidget(widget)

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
        for widget in (heading, self.area_label, self.lease_label, self.decision_form,
                       *self.messages.widgets):
            layout.addWidget(widget)
        layout.addSpacing(8)
        for widget in self.history.widgets:
            layout.addWidget(widget)
        layout.addSpacing(8)
        for widget in (notes_heading, self.notes_label, self.add_note_button):
            layout.addWidget(widget)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self.submit_button.clicked.connect(self.submit)
        submit_on_ctrl_enter(self, self.submit)
        self.set_case(None)

    # -- the case --------------------------------------------------------------------------

    @property
    def case(self) -> Case | None:
        """The case the panel shows (None when nothing is selected)."""
        return self._case

    @property
    def correcting(self) -> uuid.UUID | None:
        """The decision being corrected, while a correction is being written."""
        return self.correction.correcting

    def set_case(self, case: Case | None) -> None:
        self._case = case
        self.templates.forget_inserted()
        self.messages.hide_notice()
        self.form.start(case)
        if case is not None:
            self.area_label.setText(f"Reported under: {self._area_name(case.policy_area)}")
        else:
            self.area_label.setText("Select a case in the queue.")
        self.correction.reset()
        self.history.set_thread([])
        self.decision_form.setEnabled(case is not None)
        self.history.button.setVisible(case is not None)
        self.case_changed.emit(case)

    def _area_name(self, code: str) -> str:
        try:
            return self.taxonomy.area(code).name
        except KeyError:
            return code

    # -- submitting ------------------------------------------------------------------------

    def draft(self) -> DecisionDraft | None:
        return self.form.draft_for(self._case.id) if self._case is not None else None

    def submit(self) -> None:
        draft = self.draft()
        if draft is None or not self.decision_form.isEnabled():
            return
        self.messages.clear_confirmation()
        self.messages.hide_notice()
        if self.correction.correcting is not None:
            self.correction_submitted.emit(draft, self.correction.correcting)
            return
        if self._case is not None and self._case.status == CaseStatus.DECIDED.value:
            self.show_problems({"case": "This case is already decided. To change the "
                                        "decision, use Correct decision… (Ctrl+Shift+C)."})
            return
        self._last_draft = draft
        self.submitting.emit(draft)
        self.submitted.emit(draft)

    def show_recorded(self, text: str) -> None:
        """The window's report that the submitted decision was recorded."""
        self.show_confirmation(text)
        if self._last_draft is not None:
            self.decision_recorded.emit(self._last_draft.case_id)

    # -- what the sections do, for the window and the enforcement actions --------------------

    def chosen_policy(self) -> str | None:
        return self.form.chosen_policy()

    def restore_draft(self, draft: DecisionDraft) -> None:
        self.form.restore_draft(draft)

    def show_problems(self, problems: dict[str, str]) -> None:
        self.form.show_problems(problems)

    def show_confirmation(self, text: str) -> None:
        self.messages.show_confirmation(text)

    def append_confirmation(self, text: str) -> None:
        self.messages.append_confirmation(text)

    def show_refusal(self, text: str) -> None:
        self.messages.show_refusal(text)

    def set_undo(self, text: str | None, about: str = "") -> None:
        self.messages.set_undo(text, about)

    def set_quick_policies(self, quick: Sequence[QuickPolicy]) -> None:
        self.quick_keys.set_policies(quick)

    def quick_policies(self) -> list[QuickPolicy]:
        return self.quick_keys.policies()

    def set_rationale_templates(self, templates: Sequence[Template], *,
                                now: Callable[[], datetime], reviewer_name: str) -> None:
        self.templates.set_templates(templates, now=now, reviewer_name=reviewer_name)

    def open_templates(self) -> None:
        self.templates.open()

    def set_standing_decision(self, text: str | None) -> None:
        self.correction.set_standing_decision(text)

    def begin_correction(self, decision_id: uuid.UUID, policy_code: str, action: str,
                         summary: str) -> None:
        self.correction.begin(decision_id, policy_code, action, summary)

    def set_thread(self, entries: Sequence[ThreadEntry]) -> None:
        self.history.set_thread(entries)

    def thread(self) -> list[ThreadEntry]:
        return self.history.thread()

    def toggle_history(self) -> None:
        if self._case is not None:
            self.history.toggle()

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
