"""Replies to partners, the press and regulators about the panel's case (Ctrl+R): drafted
from a template, edited, recorded with the case and copied to the clipboard to send.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication

from reviewer.enforcement.desk import label
from reviewer.enforcement.responses import (
    RESPONSE_CHANNELS,
    ResponseRejected,
    draft_response,
    response_templates,
)
from reviewer.policy.taxonomy import Policy
from reviewer.policy.templates import Template
from reviewer.vocabulary import Channel
from ui.enforcement.flow import CaseFlow, FlowContext
from ui.enforcement.response_dialog import ResponseDialog

if TYPE_CHECKING:
    from reviewer.store.models import Case


class ReplyFlow(CaseFlow):
    """Opens the reply dialog for the panel's case and records the reply it sends."""

    def __init__(self, context: FlowContext, templates: list[Template], reviewer_name: str,
                 parent: QObject):
        super().__init__(context, parent)
        self.templates = templates
        self.reviewer_name = reviewer_name
        self.dialog: ResponseDialog | None = None

    def reply(self) -> None:
        case = self.fresh_case()
        if case is None:
            self.refuse("Select a case to reply about.")
            return
        if case.channel not in RESPONSE_CHANNELS:
            self.refuse(f"No reply to record: {case.external_ref} came in as a "
                        f"{label(Channel, case.channel).lower()}. Replies are recorded for "
                        "cases from partners, the press, regulators and legal requests.")
            return
        templates = response_templates(self.templates, case)
        if not templates:
            self.refuse(f"There is no reply template for the channel "
                        f"{label(Channel, case.channel)}.")
            return
        policy, action = self._subject(case)

        def draft(template: Template) -> str:
            return draft_response(template, case, now=self.workstation.clock.now(),
                                  policy=policy, action=action,
                                  reviewer_name=self.reviewer_name)

        if self.dialog is not None:
            self.dialog.close()
        dialog = ResponseDialog(case.external_ref, label(Channel, case.channel), templates,
                                draft, self.main)
        dialog.record_requested.connect(partial(self._record, case.id, case.external_ref))
        dialog.finished.connect(partial(self._closed, dialog))
        self.dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _closed(self, dialog: ResponseDialog, *_args: object) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def _subject(self, case: Case) -> tuple[Policy | None, str | None]:
        """The policy and action a reply speaks of: the decision standing on the case, or
        else what the panel holds."""
        decision = self.desk.standing(case.id)
        if decision is not None:
            code, action = decision.policy_code, decision.action
        else:
            code, action = self.panel.chosen_policy(), self.panel.action_box.currentData()
        try:
            policy = self.workstation.taxonomy.policy(code) if code else None
        except KeyError:
            policy = None
        return policy, action

    def _record(self, case_id: uuid.UUID, case_ref: str, template_id: str,
                body: str) -> None:
        dialog = self.dialog
        try:
            self.desk.reply(case_id, body=body, template_id=template_id)
        except ResponseRejected as refusal:
            if dialog is not None:
                dialog.show_refusal(f"Not recorded: {refusal}.")
            return
        clipboard = QGuiApplication.clipboard()
        clipboard.setText(body.strip())
        if dialog is not None:
            dialog.accept()
            self.main.activateWindow()
        if self.panel.case is not None and self.panel.case.id == case_id:
            self.panel.set_thread(self.desk.thread(case_id))
        self.confirm(f"Reply about {case_ref} recorded with the case and copied to the "
                     "clipboard: paste it into your message.")
        self.recorded(case_id)
