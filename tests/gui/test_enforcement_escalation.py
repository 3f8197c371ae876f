"""Escalating, second reviews and replies, by keyboard, on a real window and workstations."""

from __future__ import annotations

import random

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from sqlalchemy import select

from reviewer.demo.seed import seed_demo
from reviewer.enforcement.decisions import DecisionDraft, record_decision
from reviewer.enforcement.escalation import escalation_queue_id
from reviewer.enforcement.responses import RESPONSE_CHANNELS
from reviewer.store.database import sqlite_url
from reviewer.store.models import (
    Case,
    Decision,
    Escalation,
    Queue,
    Response,
    SecondReview,
    TeamMembership,
)
from reviewer.vocabulary import CaseStatus, EscalationTeam
from reviewer.workstation import Workstation
from tests.helpers.gui import make_window, press, wait_active, wait_shown, wait_until_idle
from ui.enforcement.actions import EnforcementActions

# Dialogs and popups ask the platform to raise them and grab the keyboard, which the
# offscreen platform cannot do.
pytestmark = [
    pytest.mark.qt_log_ignore("This plugin does not support"),
    # A smaller demo than the other GUI tests use, without media: nothing here looks at
    # pixels, and a shorter setup keeps these tests quick.
    pytest.mark.demo(cases=20, with_media=False),
]

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier
SEVERE_RATIONALE = "The account posts the same dehumanising slurs daily; see the last 3 cases."


def _select(window, case_id):
    window.select_row(window.queue_model.row_of(case_id))
    assert window.panel.case.id == case_id


def _open_cases(workstation, **where) -> list[Case]:
    with workstation.replica.sessions() as session:
        statement = select(Case).where(Case.status == CaseStatus.NEW.value)
        for name, value in where.items():
            statement = statement.where(getattr(Case, name) == value)
        return list(session.scalars(statement.order_by(Case.external_ref)))


def test_escalating_by_keyboard_moves_the_case_to_the_team_and_into_its_thread(
        qtbot, window, actions, workstation):
    case = _open_cases(workstation)[1]
    _select(window, case.id)
    window.queue_view.setFocus()
    press(qtbot, Qt.Key.Key_E, CTRL)
    dialog = wait_shown(qtbot, actions.escalation_dialog)
    assert dialog.team_box.hasFocus()
    # Nothing chosen yet: each problem is said next to its field, nothing is recorded.
    press(qtbot, Qt.Key.Key_Return, CTRL)
    assert "choose the team" in dialog.errors["team"].text()
    assert "at least 10 characters" in dialog.errors["reason"].text()
    assert dialog.team_box.hasFocus()
    qtbot.keyClicks(dialog.team_box, "Legal")
    assert dialog.team_box.currentData() == EscalationTeam.LEGAL.value
    press(qtbot, Qt.Key.Key_Tab)
    press(qtbot, Qt.Key.Key_Down)
    assert dialog.urgency_box.currentData() == "high"
    press(qtbot, Qt.Key.Key_Tab)
    reason = "Names a private person; may be a court-protected identity. {x} <b>"
    qtbot.keyClicks(dialog.reason, reason)
    press(qtbot, Qt.Key.Key_Return, CTRL)

    # Checked before the event loop runs again (and the sync after it reports back).
    assert actions.escalation_dialog is None
    assert window.queue_model.row_of(case.id) is None  # it left the queue
    assert "Escalated" in window.panel.confirmation.text()
    with workstation.replica.sessions() as session:
        assert session.scalar(select(Escalation.to_team).where(Escalation.case_id == case.id)) \
            == EscalationTeam.LEGAL.value
    wait_active(qtbot, window)  # the keyboard is back
    window.open_case(case.id)  # e.g. found again by searching
    panel = window.panel
    assert not panel.history_label.isVisible()
    press(qtbot, Qt.Key.Key_H, CTRL)
    assert panel.history_label.isVisible()
    history = panel.history_label.text()
    assert "Demo Reviewer: Escalated to Legal (high)" in history
    assert reason in history  # as plain text
    # The backend moves it to the Legal team's queue, where its members get it.
    wait_until_idle(qtbot, window.tasks)
    with workstation.backend.sessions() as session:
        moved = session.get(Case, case.id)
        assert moved.queue_id == escalation_queue_id(EscalationTeam.LEGAL)
        assert session.scalar(select(Escalation.reason).where(Escalation.case_id == case.id)) \
            == reason
    assert workstation.case(case.id).queue_id == escalation_queue_id(EscalationTeam.LEGAL)


def test_a_reviewer_cannot_open_second_reviews_and_is_told_why(qtbot, window, actions):
    window.queue_view.setFocus()
    press(qtbot, Qt.Key.Key_R, CTRL | SHIFT)
    assert actions.review_dialog is None
    assert "Only a lead, an admin or a member of the second-level review team" in \
        window.panel.notice.text()
    assert window.panel.notice.isVisible()


@pytest.fixture
def lead(tmp_path, clock):
    """Sofia (a lead) on the embedded demo backend, and Amara (a reviewer) on the same one."""
    sofia = Workstation.open_embedded(tmp_path / "sofia", clock=clock, username="sofia")
    seed_demo(sofia.backend, sofia.taxonomy, clock, random.Random(11), cases=16,
              with_media=False)
    sofia.synchronise()
    amara = Workstation.open(tmp_path / "amara", clock=clock, username="amara",
                             backend_url=sqlite_url(sofia.paths.backend))
    amara.synchronise()
    yield sofia, amara
    amara.close()
    sofia.close()


def _severe_policy(workstation, case):
    return next(p for p in workstation.taxonomy.policies_for_surface(case.surface)
                if "disable_account" in p.actions)


def test_second_review_approves_rejects_and_refuses_self_approval(qtbot, lead, renderer,
                                                                  clock):
    sofia, amara = lead
    with amara.replica.sessions() as session:  # the backend takes Amara's decisions on her
        teams = set(session.scalars(select(TeamMembership.team_code).where(  # teams' cases
            TeamMembership.reviewer_id == amara.reviewer_id)))
        queues = set(session.scalars(select(Queue.id).where(Queue.team_code.in_(teams))))
    cases = [c for c in _open_cases(amara) if c.queue_id in queues and any(
        "disable_account" in p.actions for p in amara.taxonomy.policies_for_surface(c.surface))]
    theirs = []
    for case in cases[:2]:
        theirs.append(record_decision(
            amara.replica.sessions, amara.taxonomy, reviewer_id=amara.reviewer_id,
            client_id=amara.client_id, clock=clock,
            draft=DecisionDraft(case.id, _severe_policy(amara, case).code, "disable_account",
                                SEVERE_RATIONALE)))
    amara.synchronise()
    clock.advance(60)
    sofia.synchronise()  # what the window's background sync does

    window = make_window(qtbot, sofia, renderer)
    actions = window.findChild(EnforcementActions)
    assert actions.second_reviews_action.text() == "Second re&views (2)…"
    # Sofia decides a severe action herself: it waits for someone else.
    mine = cases[2]
    _select(window, mine.id)
    panel = window.panel
    panel.policy_box.setFocus()
    qtbot.keyClicks(panel.policy_box.lineEdit(), _severe_policy(sofia, mine).code)
    press(qtbot, Qt.Key.Key_Tab)
    panel.action_box.setCurrentIndex(panel.action_box.findData("disable_account"))
    press(qtbot, Qt.Key.Key_Tab)
    qtbot.keyClicks(panel.rationale, SEVERE_RATIONALE)
    press(qtbot, Qt.Key.Key_Return, CTRL)
    assert "Pending second review" in panel.confirmation.text()
    wait_until_idle(qtbot, window.tasks)

    window.queue_view.setFocus()
    press(qtbot, Qt.Key.Key_R, CTRL | SHIFT)
    dialog = wait_shown(qtbot, actions.review_dialog)
    rows = [dialog.model.row_at(r) for r in range(dialog.model.rowCount())]
    assert {r.decision_id for r in rows if not r.mine} == {d.id for d in theirs}
    own = next(r for r in rows if r.mine)
    assert own.case_id == mine.id
    assert "2 decision(s) waiting" in dialog.heading.text()

    def give(widget, key, says):
        """Alt+letter clicks its button a moment later (as it animates): wait for the
        verdict the dialog gives, then it says what became of it."""
        with qtbot.waitSignal(dialog.verdict_given, timeout=5_000):
            qtbot.keyClick(widget, key, ALT)
        assert says in dialog.message.text() and dialog.message.isVisible()

    dialog.select_row(dialog.model.row_of(own.decision_id))
    give(dialog.table, Qt.Key.Key_A, "you cannot approve or reject your own decision")

    dialog.select_row(dialog.model.row_of(theirs[0].id))
    give(dialog.table, Qt.Key.Key_A, "Approved")
    assert dialog.model.row_of(theirs[0].id) is None

    dialog.select_row(dialog.model.row_of(theirs[1].id))
    dialog.note.setFocus()
    qtbot.keyClicks(dialog.note, "too weak")
    give(dialog.note, Qt.Key.Key_J, "at least 10 characters")
    qtbot.keyClicks(dialog.note, ": one post only, not a pattern; remove it instead.")
    give(dialog.note, Qt.Key.Key_J, "Rejected")
    rejected_case = theirs[1].case_id
    assert window.queue_model.row_of(rejected_case) is not None  # back for a new decision
    assert actions.second_reviews_action.text() == "Second re&views (0)…"

    wait_until_idle(qtbot, window.tasks)
    with sofia.backend.sessions() as session:
        verdicts = {r.decision_id: r.verdict for r in session.scalars(select(SecondReview))}
    assert verdicts == {theirs[0].id: "approved", theirs[1].id: "rejected"}
    dialog.close()


def test_a_reply_is_drafted_edited_recorded_and_copied(qtbot, window, actions, workstation):
    user_report = _open_cases(workstation, channel="user_report")[0]
    _select(window, user_report.id)
    window.queue_view.setFocus()
    press(qtbot, Qt.Key.Key_R, CTRL)
    assert actions.response_dialog is None
    assert "No reply to record" in window.panel.notice.text()

    case = next(c for c in _open_cases(workstation) if c.channel in RESPONSE_CHANNELS)
    _select(window, case.id)
    panel = window.panel
    policy = workstation.taxonomy.policies_for_surface(case.surface)[0]
    panel.policy_box.setCurrentIndex(panel.policy_box.findData(policy.code))
    panel.action_box.setCurrentIndex(panel.action_box.findData("remove"))
    window.queue_view.setFocus()
    press(qtbot, Qt.Key.Key_R, CTRL)
    dialog = wait_shown(qtbot, actions.response_dialog)
    assert dialog.body.hasFocus()
    draft = dialog.body.toPlainText()
    assert case.external_ref in draft and "Demo Reviewer" in draft
    assert policy.name in draft and "Remove" in draft and "{" not in draft
    dialog.body.moveCursor(dialog.body.textCursor().MoveOperation.End)
    qtbot.keyClick(dialog.body, Qt.Key.Key_Return)
    qtbot.keyClicks(dialog.body, "P.S. The measure applies in Germany only.")
    body = dialog.body.toPlainText()
    QGuiApplication.clipboard().clear()
    press(qtbot, Qt.Key.Key_Return, CTRL)

    assert actions.response_dialog is None
    wait_active(qtbot, window)
    assert QGuiApplication.clipboard().text() == body.strip()
    assert "copied to the clipboard" in panel.confirmation.text()
    with workstation.replica.sessions() as session:
        recorded = session.scalars(select(Response).where(Response.case_id == case.id)).one()
    assert recorded.body == body.strip() and recorded.author_id == workstation.reviewer_id
    assert any(entry.kind == "response" for entry in panel.thread())
    wait_until_idle(qtbot, window.tasks)
    with workstation.backend.sessions() as session:
        assert session.get(Response, recorded.id) is not None
        assert session.scalar(select(Decision).where(Decision.case_id == case.id)) is None
