"""The enforcement actions of the main window, all by keyboard.

`install_enforcement_actions(window)` adds a "Decision" menu with its keys to a
`MainWindow` and keeps the enforcement panel fed from the replica: quick policies (1–9),
rationale templates (Ctrl+T), the undo offer after a decision (Ctrl+Z), corrections
(Ctrl+Shift+C), escalation (Ctrl+E), replies to partners, the press and regulators
(Ctrl+R), second reviews (Ctrl+Shift+R), the case history (Ctrl+H) and the decided cases
(Ctrl+Shift+D). Each action is one local transaction through `reviewer/`; sending it is
left to the window's background sync. A refusal is said in plain words in the panel.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QMenu
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reviewer.enforcement.decisions import (
    SEND_HOLD,
    DecisionDraft,
    DecisionRejected,
    ReviewState,
    SecondReviewRefused,
    WithdrawRefused,
    correct_decision,
    latest_decision_by,
    may_second_review,
    pending_second_reviews,
    quick_policies,
    record_second_review,
    review_state,
    standing_decision,
    withdraw_deadline,
    withdraw_decision,
)
from reviewer.enforcement.escalation import (
    MIN_ESCALATION_REASON_CHARS,
    EscalationRejected,
    case_thread,
    escalate_case,
    validate_escalation,
)
from reviewer.enforcement.responses import (
    RESPONSE_CHANNELS,
    ResponseRejected,
    draft_response,
    record_response,
    response_templates,
)
from reviewer.policy.taxonomy import Policy
from reviewer.policy.templates import Template, TemplateError, load_templates
from reviewer.queue.leases import Lease
from reviewer.store.models import Case, Decision, Reviewer
from reviewer.vocabulary import Action, CaseStatus, Channel, EscalationTeam, Urgency
from ui.enforcement.escalation_dialog import EscalationDialog
from ui.enforcement.panel import QUICK_KEYS, QuickPolicy
from ui.enforcement.response_dialog import ResponseDialog
from ui.enforcement.second_review import PendingReview, SecondReviewDialog

if TYPE_CHECKING:
    from ui.main_window import MainWindow

UNDO_TICK_MS = 500
MESSAGE_MS = 8_000
PENDING_SECOND_REVIEW = ("Pending second review: it takes effect once a lead or a "
                         "second-level reviewer approves it.")


@dataclass(frozen=True)
class UndoOffer:
    """The decision that Ctrl+Z would withdraw, and what to put back if it does."""

    decision_id: uuid.UUID
    case_id: uuid.UUID
    case_ref: str
    draft: DecisionDraft
    lease: Lease | None
    deadline: datetime
    supersedes_id: uuid.UUID | None = None


def install_enforcement_actions(window: MainWindow) -> None:
    """Add the enforcement actions and keys to the window; a second call does nothing."""
    if window.findChild(EnforcementActions) is None:
        window.enforcement_actions = EnforcementActions(window)  # type: ignore[attr-defined]


def _label(enum: Any, value: str) -> str:
    """What reviewers read for a stored value of one of the vocabulary's enums."""
    try:
        return str(enum(value).label)
    except ValueError:
        return value


class EnforcementActions(QObject):
    """Connects the window's enforcement panel and menu to the enforcement core."""

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.setObjectName("enforcementActions")
        self.main = window
        self.workstation = window.workstation
        self.panel = window.panel
        self.undo_offer: UndoOffer | None = None
        self._last_offer: UndoOffer | None = None
        self._send_due: datetime | None = None
        self._submitting: tuple[DecisionDraft, Lease | None] | None = None
        self.escalation_dialog: EscalationDialog | None = None
        self.review_dialog: SecondReviewDialog | None = None
        self.response_dialog: ResponseDialog | None = None
        reviewer = self.workstation.reviewer()
        self.reviewer_name = reviewer.display_name if reviewer else "Reviewer"
        self.rationale_templates = self._load_templates("rationale")
        self.response_templates = self._load_templates("responses")
        self.panel.set_rationale_templates(self.rationale_templates,
                                           now=self.workstation.clock.now,
                                           reviewer_name=self.reviewer_name)
        self.undo_timer = QTimer(self)
        self.undo_timer.setInterval(UNDO_TICK_MS)
        self.undo_timer.timeout.connect(self.tick)
        self._build_actions()
        self.panel.case_changed.connect(self._on_case_changed)
        self.panel.submitting.connect(self._on_submitting)
        self.panel.decision_recorded.connect(self._on_decision_recorded)
        self.panel.correction_submitted.connect(self._record_correction)
        self.panel.correction_requested.connect(self.begin_correction)
        self.panel.undo_requested.connect(self.undo)
        self.main.tasks.all_done.connect(self._after_background_work)
        self._on_case_changed(self.panel.case)
        self.refresh_second_review_count()

    # -- plumbing --------------------------------------------------------------------------

    @property
    def _sessions(self) -> sessionmaker[Session]:
        return self.workstation.replica.sessions

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
        self.undo_action = self._action(menu, "&Undo last decision", "Ctrl+Z", self.undo)
        self.correct_action = self._action(menu, "&Correct decision…", "Ctrl+Shift+C",
                                           self.begin_correction)
        menu.addSeparator()
        self.escalate_action = self._action(menu, "&Escalate…", "Ctrl+E", self.escalate)
        self.reply_action = self._action(menu, "&Reply to partner, press or regulator…",
                                         "Ctrl+R", self.reply)
        self.second_reviews_action = self._action(menu, "Second re&views…", "Ctrl+Shift+R",
                                                  self.show_second_reviews)
        menu.addSeparator()
        self.history_action = self._action(menu, "Case &history", "Ctrl+H", self.toggle_history)
        self.decided_action = self._action(menu, "Show &decided cases", "Ctrl+Shift+D",
                                           self.show_decided_cases)

    def _action(self, menu: QMenu, text: str, keys: str, slot: Callable[[], object]) -> QAction:
        action = QAction(text, self.main)
        action.setShortcut(QKeySequence(keys))
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.main.addAction(action)
        return action

    def _refuse(self, text: str) -> None:
        self.panel.show_refusal(text)
        self.main.statusBar().showMessage(text, MESSAGE_MS)

    def _after_background_work(self) -> None:
        self.refresh_second_review_count()
        if self.review_dialog is not None:
            self.refresh_review_dialog()

    def _recorded(self) -> None:
        """After local work: show it as pending and send it in the background."""
        self.main._update_pending()
        self.main.start_sync()

    def _fresh_case(self) -> Case | None:
        """The panel's case as the replica has it now (its status may have moved on)."""
        case = self.panel.case
        return self.workstation.case(case.id) if case is not None else None

    def _names(self, session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        return {row.id: row.display_name for row in session.execute(
            select(Reviewer.id, Reviewer.display_name).where(Reviewer.id.in_(ids)))}

    # -- the case in the panel: quick keys, history, standing decision -----------------------

    def _on_case_changed(self, case: Case | None) -> None:
        if case is None:
            self.panel.set_quick_policies([])
            return
        taxonomy = self.workstation.taxonomy
        allowed = [p.code for p in taxonomy.policies_for_surface(case.surface)]
        with self._sessions() as session:
            quick = quick_policies(session, self.workstation.reviewer_id, limit=QUICK_KEYS,
                                   allowed=allowed)
            thread = case_thread(session, case.id)
            standing = (standing_decision(session, case.id)
                        if case.status == CaseStatus.DECIDED.value else None)
            summary = self._decision_summary(session, standing) if standing else None
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
        self.panel.set_thread(thread)
        self.panel.set_standing_decision(summary)

    def _decision_summary(self, session: Session, decision: Decision) -> str:
        names = self._names(session, {decision.reviewer_id})
        who = ("you" if decision.reviewer_id == self.workstation.reviewer_id
               else names.get(decision.reviewer_id, "another reviewer"))
        state = review_state(session, decision.id)
        text = (f"Decided: {_label(Action, decision.action)} under {decision.policy_code}, "
                f"by {who}, {decision.created_at.astimezone():%a %d %b %H:%M}")
        if state == ReviewState.PENDING:
            text += ". Pending second review"
        elif state != ReviewState.NONE:
            text += f". {state.label}"
        return text + "."

    def toggle_history(self) -> None:
        if self.panel.case is None:
            self._refuse("Select a case to see its history.")
            return
        self.panel.toggle_history()

    def _refresh_panel_case(self, case_id: uuid.UUID) -> None:
        """Show the panel's case afresh if it is `case_id` (after work recorded on it)."""
        if self.panel.case is not None and self.panel.case.id == case_id:
            self.panel.set_case(self.workstation.case(case_id))

    # -- rationale templates ---------------------------------------------------------------

    def insert_template(self) -> None:
        if self.panel.case is None:
            self._refuse("Select a case first: a rationale template is filled from the case.")
            return
        self.panel.open_templates()

    # -- undo ------------------------------------------------------------------------------

    def _on_submitting(self, draft: DecisionDraft) -> None:
        lease = self.main.lease
        self._submitting = (draft, lease if lease is not None and lease.case_id == draft.case_id
                            else None)

    def _on_decision_recorded(self, case_id: uuid.UUID) -> None:
        submitted = self._submitting
        self._submitting = None
        with self._sessions() as session:
            decision = latest_decision_by(session, case_id, self.workstation.reviewer_id)
            case = session.get(Case, case_id)
            if decision is None or case is None:
                return
            pending = review_state(session, decision.id) == ReviewState.PENDING
            deadline = withdraw_deadline(session, decision.id)
            ref = case.external_ref
        if pending:
            self.panel.append_confirmation(PENDING_SECOND_REVIEW)
        if submitted is not None and submitted[0].case_id == case_id:
            draft, lease = submitted
        else:
            draft, lease = DecisionDraft(case_id, decision.policy_code, decision.action,
                                         decision.rationale), None
        self._offer_undo(decision, ref, draft, lease, deadline)
        self.refresh_second_review_count()

    def _offer_undo(self, decision: Decision, case_ref: str, draft: DecisionDraft,
                    lease: Lease | None, deadline: datetime | None) -> None:
        self.undo_offer = self._last_offer = None if deadline is None else UndoOffer(
            decision.id, decision.case_id, case_ref, draft, lease, deadline,
            decision.supersedes_id)
        # When the hold is over the decision may go: sync then rather than at the next tick
        # of the window's timer.
        self._send_due = decision.created_at + SEND_HOLD
        self.undo_timer.start()
        self.tick()

    def undo_seconds_left(self) -> int | None:
        """Whole seconds the undo offer has left (None: nothing to undo)."""
        offer = self.undo_offer
        if offer is None:
            return None
        left = (offer.deadline - self.workstation.clock.now()).total_seconds()
        return math.ceil(left) if left > 0 else None

    def tick(self) -> None:
        """Count the undo offer down by the injected clock; withdraw it once it has run
        out or the decision has been sent."""
        offer = self.undo_offer
        if offer is not None and self.undo_seconds_left() is None:
            offer = None
        if offer is not None:
            with self._sessions() as session:
                if withdraw_deadline(session, offer.decision_id) is None:
                    offer = None  # sent: from now on it can only be corrected
        self.undo_offer = offer
        if offer is None:
            self.panel.set_undo(None)
        else:
            self.panel.set_undo(f"Undo (Ctrl+Z) — {self.undo_seconds_left()} s",
                                f"Withdraw your decision on {offer.case_ref} and reopen it")
        if offer is None and self._send_due is not None \
                and self.workstation.clock.now() > self._send_due:
            self._send_due = None
            self.main.start_sync()
        if offer is None and self._send_due is None:
            self.undo_timer.stop()

    def undo(self) -> None:
        """Withdraw the decision just made and put the case back as it was."""
        # Once the offer has lapsed the core still says why (time up, or already sent).
        offer = self.undo_offer or self._last_offer
        if offer is None:
            self._refuse("Nothing to undo: a decision can be undone for 30 seconds after you "
                         "submit it, until it is sent. To change a decision, open its case "
                         "and use Correct decision… (Ctrl+Shift+C).")
            return
        try:
            withdraw_decision(self._sessions, decision_id=offer.decision_id,
                              reviewer_id=self.workstation.reviewer_id,
                              client_id=self.workstation.client_id,
                              clock=self.workstation.clock)
        except WithdrawRefused as refusal:
            self.undo_offer = None
            self.tick()
            self._refuse(f"Cannot undo: {refusal}.")
            return
        self.undo_offer = self._last_offer = None
        self._send_due = None
        self.tick()
        now = self.workstation.clock.now()
        if (offer.lease is not None and self.main.lease is None
                and offer.lease.time_left(now).total_seconds() > 0):
            self.main.lease = offer.lease
        self.main.refresh_queue()
        self.main.open_case(offer.case_id)
        if self.panel.case is None or self.panel.case.id != offer.case_id:
            self.panel.set_case(self.workstation.case(offer.case_id))
        if offer.supersedes_id is not None:
            self.begin_correction()
        self.panel.restore_draft(offer.draft)
        message = (f"Decision withdrawn: {offer.case_ref} is back as you left it."
                   if offer.supersedes_id is None else
                   f"Correction withdrawn: the earlier decision on {offer.case_ref} stands "
                   "again.")
        self.panel.show_confirmation(message)
        self.main.statusBar().showMessage(message, MESSAGE_MS)
        self.panel.rationale.setFocus()
        self._recorded()

    # -- corrections -----------------------------------------------------------------------

    def begin_correction(self) -> None:
        case = self._fresh_case()
        if case is None:
            self._refuse("Select a decided case to correct (Ctrl+Shift+D shows them).")
            return
        with self._sessions() as session:
            decision = (standing_decision(session, case.id)
                        if case.status == CaseStatus.DECIDED.value else None)
            summary = self._decision_summary(session, decision) if decision else ""
        if decision is None:
            self._refuse(f"{case.external_ref} has no decision to correct (it is "
                         f"{_label(CaseStatus, case.status).lower()}). Ctrl+Shift+D shows the "
                         "decided cases.")
            return
        self.panel.begin_correction(decision.id, decision.policy_code, decision.action,
                                    summary.rstrip("."))

    def _record_correction(self, draft: DecisionDraft, supersedes_id: uuid.UUID) -> None:
        try:
            decision = correct_decision(
                self._sessions, self.workstation.taxonomy,
                reviewer_id=self.workstation.reviewer_id, client_id=self.workstation.client_id,
                supersedes_id=supersedes_id, draft=draft, clock=self.workstation.clock)
        except DecisionRejected as rejection:
            self.panel.show_problems(rejection.problems)
            return
        self.panel.set_case(self.workstation.case(draft.case_id))
        with self._sessions() as session:
            pending = review_state(session, decision.id) == ReviewState.PENDING
            deadline = withdraw_deadline(session, decision.id)
            case = session.get(Case, draft.case_id)
            ref = case.external_ref if case is not None else "the case"
        self.panel.show_confirmation(
            f"Corrected: {_label(Action, decision.action)} under {decision.policy_code} on "
            f"{ref}. The earlier decision is kept in the history.")
        if pending:
            self.panel.append_confirmation(PENDING_SECOND_REVIEW)
        self._offer_undo(decision, ref, draft, None, deadline)
        self.refresh_second_review_count()
        self._recorded()

    def show_decided_cases(self) -> None:
        status = self.main.filter_bar.combos["status"]
        status.setCurrentIndex(status.findData(CaseStatus.DECIDED.value))
        self.main.queue_view.setFocus()
        self.main.statusBar().showMessage(
            "Showing decided cases: select one and press Ctrl+Shift+C to correct it; "
            "Ctrl+Shift+X clears the filter.", MESSAGE_MS)

    # -- escalation ------------------------------------------------------------------------

    def escalate(self) -> None:
        case = self._fresh_case()
        if case is None:
            self._refuse("Select a case to escalate.")
            return
        problems = validate_escalation(
            case, reviewer_id=self.workstation.reviewer_id,
            to_team=EscalationTeam.LEGAL.value, urgency=Urgency.ROUTINE.value,
            reason="x" * MIN_ESCALATION_REASON_CHARS, now=self.workstation.clock.now())
        if "case" in problems:
            self._refuse(f"Cannot escalate {case.external_ref}: {problems['case']}.")
            return
        if self.escalation_dialog is not None:
            self.escalation_dialog.close()
        dialog = EscalationDialog(case.external_ref, self.main)
        dialog.submitted.connect(partial(self._record_escalation, case.id))
        dialog.finished.connect(partial(self._dialog_closed, "escalation_dialog", dialog))
        self.escalation_dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _dialog_closed(self, name: str, dialog: QObject, *_args: object) -> None:
        if getattr(self, name) is dialog:
            setattr(self, name, None)

    def _record_escalation(self, case_id: uuid.UUID, team: str, urgency: str,
                           reason: str) -> None:
        dialog = self.escalation_dialog
        try:
            escalate_case(self._sessions, case_id=case_id,
                          reviewer_id=self.workstation.reviewer_id,
                          client_id=self.workstation.client_id, to_team=team,
                          urgency=urgency, reason=reason, clock=self.workstation.clock)
        except EscalationRejected as rejection:
            if dialog is not None:
                dialog.show_problems(rejection.problems)
            return
        if dialog is not None:
            dialog.accept()
            self.main.activateWindow()
        if self.main.lease is not None and self.main.lease.case_id == case_id:
            self.main.lease = None  # the backend releases it when the escalation arrives
        case = self.workstation.case(case_id)
        ref = case.external_ref if case is not None else "The case"
        model = self.main.queue_model
        row = model.row_of(case_id)
        if row is not None:
            model.remove_case(case_id)
            if model.rowCount():
                self.main.select_row(min(row, model.rowCount() - 1))
                self.main.queue_view.setFocus()
            else:
                self.main.viewer.clear("The queue is empty. Well done.")
                self.panel.set_case(None)
        self._refresh_panel_case(case_id)
        message = (f"Escalated {ref} to {_label(EscalationTeam, team)} ({urgency}): it left "
                   "your queue and goes to the team's queue at the next sync.")
        self.panel.show_confirmation(message)
        self.main.statusBar().showMessage(message, MESSAGE_MS)
        self._recorded()

    # -- second reviews --------------------------------------------------------------------

    def refresh_second_review_count(self) -> None:
        with self._sessions() as session:
            allowed = may_second_review(session, self.workstation.reviewer_id)
            count = (len(pending_second_reviews(session, self.workstation.reviewer_id))
                     if allowed else 0)
        self.second_reviews_action.setText(f"Second re&views ({count})…" if allowed
                                           else "Second re&views…")

    def pending_reviews(self) -> list[PendingReview]:
        """Every decision waiting for a second reviewer; the user's own are marked."""
        me = self.workstation.reviewer_id
        with self._sessions() as session:
            decisions = pending_second_reviews(session)
            refs = {row.id: row.external_ref for row in session.execute(
                select(Case.id, Case.external_ref)
                .where(Case.id.in_({d.case_id for d in decisions})))}
            names = self._names(session, {d.reviewer_id for d in decisions})
        return [PendingReview(
            decision_id=d.id, case_id=d.case_id, case_ref=refs.get(d.case_id, "unknown case"),
            policy_code=d.policy_code, action_label=_label(Action, d.action),
            decided_by=names.get(d.reviewer_id, "unknown reviewer"), decided_at=d.created_at,
            rationale=d.rationale, mine=d.reviewer_id == me) for d in decisions]

    def show_second_reviews(self) -> None:
        with self._sessions() as session:
            allowed = may_second_review(session, self.workstation.reviewer_id)
        if not allowed:
            self._refuse("Only a lead, an admin or a member of the second-level review team "
                         "can approve or reject severe actions; yours wait for one of them.")
            return
        dialog = self.review_dialog
        if dialog is None:
            dialog = SecondReviewDialog(self.main)
            dialog.verdict_given.connect(self._give_verdict)
            dialog.open_case_requested.connect(self.main.open_case)
            dialog.finished.connect(partial(self._dialog_closed, "review_dialog", dialog))
            self.review_dialog = dialog
        self.refresh_review_dialog()
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        dialog.table.setFocus()

    def refresh_review_dialog(self) -> None:
        if self.review_dialog is not None:
            self.review_dialog.set_rows(self.pending_reviews())

    def _give_verdict(self, decision_id: uuid.UUID, approve: bool, note: str) -> None:
        dialog = self.review_dialog
        try:
            review = record_second_review(
                self._sessions, decision_id=decision_id,
                reviewer_id=self.workstation.reviewer_id,
                client_id=self.workstation.client_id, approve=approve, note=note,
                clock=self.workstation.clock)
        except SecondReviewRefused as refusal:
            if dialog is not None:
                dialog.show_refusal(f"Not recorded: {refusal}.")
            return
        case = self.workstation.case(review.case_id)
        ref = case.external_ref if case is not None else "the case"
        if approve:
            message = f"Approved: the decision on {ref} takes effect."
        else:
            message = f"Rejected: {ref} is back in the queue for a new decision."
            self.main.refresh_queue()
        self.refresh_review_dialog()
        if dialog is not None:
            dialog.show_done(message)
        self.refresh_second_review_count()
        self._refresh_panel_case(review.case_id)
        self.main.statusBar().showMessage(message, MESSAGE_MS)
        self._recorded()

    # -- replies ---------------------------------------------------------------------------

    def reply(self) -> None:
        case = self._fresh_case()
        if case is None:
            self._refuse("Select a case to reply about.")
            return
        if case.channel not in RESPONSE_CHANNELS:
            self._refuse(f"No reply to record: {case.external_ref} came in as a "
                         f"{_label(Channel, case.channel).lower()}. Replies are recorded for "
                         "cases from partners, the press, regulators and legal requests.")
            return
        templates = response_templates(self.response_templates, case)
        if not templates:
            self._refuse(f"There is no reply template for the channel "
                         f"{_label(Channel, case.channel)}.")
            return
        policy, action = self._reply_subject(case)

        def draft(template: Template) -> str:
            return draft_response(template, case, now=self.workstation.clock.now(),
                                  policy=policy, action=action,
                                  reviewer_name=self.reviewer_name)

        if self.response_dialog is not None:
            self.response_dialog.close()
        dialog = ResponseDialog(case.external_ref, _label(Channel, case.channel), templates,
                                draft, self.main)
        dialog.record_requested.connect(partial(self._record_reply, case.id,
                                                case.external_ref))
        dialog.finished.connect(partial(self._dialog_closed, "response_dialog", dialog))
        self.response_dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _reply_subject(self, case: Case) -> tuple[Policy | None, str | None]:
        """The policy and action a reply speaks of: the decision standing on the case, or
        else what the panel holds."""
        with self._sessions() as session:
            decision = standing_decision(session, case.id)
        if decision is not None:
            code, action = decision.policy_code, decision.action
        else:
            code, action = self.panel.chosen_policy(), self.panel.action_box.currentData()
        try:
            policy = self.workstation.taxonomy.policy(code) if code else None
        except KeyError:
            policy = None
        return policy, action

    def _record_reply(self, case_id: uuid.UUID, case_ref: str, template_id: str,
                      body: str) -> None:
        dialog = self.response_dialog
        try:
            record_response(self._sessions, case_id=case_id,
                            author_id=self.workstation.reviewer_id,
                            client_id=self.workstation.client_id, body=body,
                            clock=self.workstation.clock, template_id=template_id)
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
            with self._sessions() as session:
                self.panel.set_thread(case_thread(session, case_id))
        message = (f"Reply about {case_ref} recorded with the case and copied to the "
                   "clipboard: paste it into your message.")
        self.panel.show_confirmation(message)
        self.main.statusBar().showMessage(message, MESSAGE_MS)
        self._recorded()
