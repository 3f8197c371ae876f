"""Deciding by keyboard with the enforcement actions: quick keys, templates, undo, corrections.

Each test drives a real main window over a real demo workstation (SQLite replica and
embedded backend) with the keys a reviewer would press.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import func, select

from reviewer.enforcement.decisions import MIN_SEVERE_RATIONALE_CHARS, SEND_HOLD
from reviewer.store.database import sqlite_url
from reviewer.store.models import Case, Decision, OutboxEntry, Reviewer
from reviewer.vocabulary import CaseStatus, Channel
from reviewer.workstation import Workstation
from tests.helpers.gui import make_window, press, wait_until_idle
from ui.enforcement.actions import EnforcementActions
from ui.enforcement.panel import QuickPolicy

# Popups (the policy completer, the template menu) and dialogs ask the platform to raise
# them and grab the keyboard, which the offscreen platform cannot do.
pytestmark = [
    pytest.mark.qt_log_ignore("This plugin does not support"),
    # A smaller demo than the other GUI tests use, without media: nothing here looks at
    # pixels, and a shorter setup keeps these tests quick.
    pytest.mark.demo(cases=20, with_media=False),
]

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def _open_cases(workstation) -> list[Case]:
    with workstation.replica.sessions() as session:
        return list(session.scalars(
            select(Case).where(Case.status.in_((CaseStatus.NEW.value, CaseStatus.LEASED.value)))
            .order_by(Case.external_ref)))


def _show(window, case_id):
    """Open a case afresh (select another row first, so the panel reloads it)."""
    other = next(row for row in range(window.queue_model.rowCount())
                 if window.queue_model.case_id(row) != case_id)
    window.select_row(other)
    window.open_case(case_id)
    assert window.panel.case.id == case_id


def _choose_action(qtbot, panel, action):
    panel.action_box.setFocus()
    if panel.action_box.currentData() != action:
        qtbot.keyClick(panel.action_box, Qt.Key.Key_Home)
    while panel.action_box.currentData() != action:
        before = panel.action_box.currentIndex()
        qtbot.keyClick(panel.action_box, Qt.Key.Key_Down)
        assert panel.action_box.currentIndex() != before, f"{action} is not offered"


def _decide(qtbot, window, code, action="no_violation",
            rationale="Checked the context: this does not meet the definition."):
    panel = window.panel
    panel.policy_box.setFocus()
    panel.policy_box.lineEdit().clear()
    qtbot.keyClicks(panel.policy_box.lineEdit(), code.lower())
    qtbot.keyClick(panel.policy_box.lineEdit(), Qt.Key.Key_Tab)
    _choose_action(qtbot, panel, action)
    qtbot.keyClick(panel.action_box, Qt.Key.Key_Tab)
    qtbot.keyClicks(panel.rationale, rationale)
    qtbot.keyClick(panel.rationale, Qt.Key.Key_Return, CTRL)


def _decisions(workstation, case_id) -> list[Decision]:
    with workstation.replica.sessions() as session:
        return list(session.scalars(select(Decision).where(Decision.case_id == case_id)))


def test_keys_1_to_9_pick_the_last_and_most_used_policies(qtbot, window, actions,
                                                         workstation, clock):
    clock.advance(60)  # after the demo's past decisions
    by_surface: dict[str, list[Case]] = {}
    for case in _open_cases(workstation):
        by_surface.setdefault(case.surface, []).append(case)
    first, second = next(cases for cases in by_surface.values() if len(cases) >= 2)[:2]
    policies = workstation.taxonomy.policies_for_surface(first.surface)
    code = policies[-1].code  # one the demo reviewer has not used
    _show(window, first.id)
    _decide(qtbot, window, code)  # typed: the digits of the code are typed, not quick keys
    assert [d.policy_code for d in _decisions(workstation, first.id)] == [code]

    _show(window, second.id)
    panel = window.panel
    quick = panel.quick_policies()
    assert quick[0] == QuickPolicy(code, workstation.taxonomy.policy(code).name, "last used")
    assert 2 <= len(quick) <= 9
    assert f"1  {code}  " in panel.quick_label.text()
    assert f"2  {quick[1].code}  " in panel.quick_label.text()
    panel.policy_box.setFocus()
    press(qtbot, Qt.Key.Key_2)
    assert panel.chosen_policy() == quick[1].code
    assert panel.action_box.hasFocus()  # on to the action, where 1–9 still pick policies
    press(qtbot, Qt.Key.Key_1)
    assert panel.chosen_policy() == code
    _choose_action(qtbot, panel, "no_violation")
    press(qtbot, Qt.Key.Key_Tab)
    qtbot.keyClicks(panel.rationale, "Seen 3 times; 9 sources agree it is satire.")
    assert panel.chosen_policy() == code  # digits typed in the rationale stay text
    press(qtbot, Qt.Key.Key_Return, CTRL)
    (decision,) = _decisions(workstation, second.id)
    assert decision.policy_code == code
    assert decision.rationale == "Seen 3 times; 9 sources agree it is satire."
    assert window.queue_model.row_of(second.id) is None


def test_a_key_without_a_quick_policy_is_refused_inline(qtbot, window, actions, workstation):
    case = _open_cases(workstation)[0]
    _show(window, case.id)
    panel = window.panel
    panel.set_quick_policies(panel.quick_policies()[:1])
    panel.action_box.setFocus()
    press(qtbot, Qt.Key.Key_9)
    assert panel.notice.isVisible()
    assert "No policy on key 9" in panel.notice.text()


HOSTILE = ("مرحبا {policy_code} {0.__class__.__mro__} {{x}} %s \u202eevil\u202c \x00 two\nlines "
           + "A" * 50_000)


def test_template_fills_the_rationale_safely_from_hostile_case_text(qtbot, window, actions,
                                                                   workstation):
    case = next(c for c in _open_cases(workstation) if c.surface == "organic_post")
    with workstation.replica.sessions.begin() as session:
        session.get(Case, case.id).reported_text = HOSTILE
    _show(window, case.id)
    panel = window.panel
    panel.rationale.setFocus()
    press(qtbot, Qt.Key.Key_T, CTRL)  # no policy yet: said next to the rationale
    assert panel.errors["rationale"].isVisible()
    assert "Choose a policy first" in panel.errors["rationale"].text()
    assert not panel.template_menu.isVisible()

    policy = next(p for p in workstation.taxonomy.policies_for_surface(case.surface)
                  if "disable_account" in p.actions)
    panel.policy_box.setFocus()
    qtbot.keyClicks(panel.policy_box.lineEdit(), policy.code)
    press(qtbot, Qt.Key.Key_Tab)
    menu = panel.template_menu
    with qtbot.waitSignal(menu.aboutToShow, timeout=2000):
        press(qtbot, Qt.Key.Key_T, CTRL)
    assert menu.isVisible()
    titles = [action.text() for action in menu.actions()]
    quote = next(i for i, title in enumerate(titles, 1) if "Quote the report" in title)
    qtbot.keyClicks(menu, str(quote))  # an open menu has the keyboard
    assert not menu.isVisible()
    text = panel.rationale.toPlainText()
    assert panel.rationale.hasFocus()
    assert text.startswith(f"{case.external_ref} ({Channel(case.channel).label}, Organic post) "
                           "was reported as")
    assert f"Assessed under {policy.code} ({policy.name})" in text
    # The case's text is quoted as text: nothing in it is a placeholder or a format.
    assert "{policy_code}" in text and "{0.__class__.__mro__}" in text and "{{x}}" in text
    assert "\u202e" not in text and "\x00" not in text and "\n" not in text
    assert "\u2068" in text and "\u2069" in text  # the Arabic is isolated
    assert len(text) < 600

    # Severe action: the counter shows the length against the minimum, live.
    _choose_action(qtbot, panel, "disable_account")
    assert panel.counter.isVisible()
    assert panel.counter.text() == f"{len(text.strip())}/{MIN_SEVERE_RATIONALE_CHARS}"
    panel.rationale.clear()
    panel.rationale.setFocus()
    qtbot.keyClicks(panel.rationale, "x" * 37)
    assert panel.counter.text() == "37/40"
    qtbot.keyClicks(panel.rationale, "yyy")
    assert panel.counter.text() == "40/40"
    _choose_action(qtbot, panel, "no_violation")
    assert not panel.counter.isVisible()

    # The reviewer's own words are kept: a template goes in where the cursor is.
    panel.rationale.setPlainText("My own finding first.")
    panel.rationale.moveCursor(panel.rationale.textCursor().MoveOperation.End)
    with qtbot.waitSignal(menu.aboutToShow, timeout=2000):
        press(qtbot, Qt.Key.Key_T, CTRL)
    assert menu.isVisible()
    assert menu.actions()[0].text().startswith("&1  No violation")
    qtbot.keyClick(menu, Qt.Key.Key_Return)  # an open menu has the keyboard
    text = panel.rationale.toPlainText()
    assert text.startswith("My own finding first.")
    assert f"{case.external_ref}: reviewed against {policy.code}" in text


@pytest.fixture
def offline(tmp_path, workstation, clock):
    """The same replica with a backend that cannot be reached (a reviewer on a train)."""
    unreachable = sqlite_url(tmp_path / "no-such-dir" / "backend.sqlite")
    offline = Workstation.open(workstation.paths.root, backend_url=unreachable, clock=clock,
                               secrets=workstation.secrets)
    yield offline
    offline.close()


def test_undo_within_30_seconds_restores_the_case_and_later_is_refused(
        qtbot, offline, renderer, clock):
    window = make_window(qtbot, offline, renderer)
    actions = window.findChild(EnforcementActions)
    panel = window.panel
    case = _open_cases(offline)[0]
    code = offline.taxonomy.policies_for_surface(case.surface)[0].code
    _show(window, case.id)
    rationale = "Nothing here breaks the policy, on a second look."
    _decide(qtbot, window, code, rationale=rationale)
    assert window.queue_model.row_of(case.id) is None
    assert panel.undo_button.isVisible()
    assert panel.undo_button.text() == "Undo (Ctrl+Z) — 30 s"
    clock.advance(2.2)
    actions.tick()
    assert panel.undo_button.text() == "Undo (Ctrl+Z) — 28 s"
    # The sync after the decision failed: offline, nothing is lost.
    wait_until_idle(qtbot, window.tasks)
    assert "Offline" in window.sync_label.text()

    assert window.queue_view.hasFocus()
    press(qtbot, Qt.Key.Key_Z, CTRL)
    assert _decisions(offline, case.id) == []
    assert offline.case(case.id).status == CaseStatus.NEW.value
    assert window.queue_model.row_of(case.id) is not None
    assert window.current_case_id() == case.id
    assert panel.case.id == case.id
    assert panel.chosen_policy() == code and panel.rationale.toPlainText() == rationale
    assert not panel.undo_button.isVisible()
    assert "Decision withdrawn" in panel.confirmation.text()
    with offline.replica.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEntry)
                              .where(OutboxEntry.kind == "decision")) == 0

    # Submitted again (as restored), and this time left for more than 30 seconds.
    press(qtbot, Qt.Key.Key_Return, CTRL)
    assert len(_decisions(offline, case.id)) == 1
    clock.advance(29)
    actions.tick()
    assert panel.undo_button.text() == "Undo (Ctrl+Z) — 1 s"
    clock.advance(1.5)
    actions.tick()
    assert not panel.undo_button.isVisible()
    window.queue_view.setFocus()
    press(qtbot, Qt.Key.Key_Z, CTRL)
    assert panel.notice.isVisible()
    assert "Cannot undo: the 30 seconds to undo have passed" in panel.notice.text()
    assert len(_decisions(offline, case.id)) == 1
    assert window.queue_model.row_of(case.id) is None
    wait_until_idle(qtbot, window.tasks)


def test_syncing_and_getting_the_next_case_leave_a_new_decision_undoable(
        qtbot, workstation, renderer, clock):
    app_like = Workstation.open(workstation.paths.root, clock=clock, decision_hold=SEND_HOLD,
                                secrets=workstation.secrets)
    try:
        window = make_window(qtbot, app_like, renderer)
        actions = window.findChild(EnforcementActions)
        case = _open_cases(app_like)[0]
        _show(window, case.id)
        _decide(qtbot, window, app_like.taxonomy.policies_for_surface(case.surface)[0].code)
        (decision,) = _decisions(app_like, case.id)
        window.queue_view.setFocus()
        press(qtbot, Qt.Key.Key_N)  # the next case: a lease from the backend, and a sync
        wait_until_idle(qtbot, window.tasks)
        assert window.lease is not None
        clock.advance(20)
        actions.tick()
        assert window.panel.undo_button.text() == "Undo (Ctrl+Z) — 10 s"
        with app_like.backend.sessions() as session:
            assert session.get(Decision, decision.id) is None
        # Once it can no longer be undone, it goes by itself.
        clock.advance(SEND_HOLD.total_seconds() - 20 + 1)
        actions.tick()
        assert not window.panel.undo_button.isVisible()
        wait_until_idle(qtbot, window.tasks)
        with app_like.backend.sessions() as session:
            assert session.get(Decision, decision.id) is not None
    finally:
        app_like.close()


def test_a_decided_case_is_corrected_by_a_superseding_decision(qtbot, window, actions,
                                                              workstation):
    case = _open_cases(workstation)[0]
    policies = workstation.taxonomy.policies_for_surface(case.surface)
    _show(window, case.id)
    _decide(qtbot, window, policies[0].code)
    (original,) = _decisions(workstation, case.id)

    window.queue_view.setFocus()
    press(qtbot, Qt.Key.Key_D, CTRL | SHIFT)  # the decided cases
    assert window.filter_bar.combos["status"].currentData() == CaseStatus.DECIDED.value
    window.select_row(window.queue_model.row_of(case.id))
    panel = window.panel
    assert panel.standing_label.isVisible()
    assert "by you" in panel.standing_label.text()
    press(qtbot, Qt.Key.Key_Return, CTRL)  # deciding again is not how to change it
    assert "Correct decision" in panel.errors["case"].text()

    press(qtbot, Qt.Key.Key_C, CTRL | SHIFT)
    assert panel.correcting == original.id
    assert panel.submit_button.text().startswith("Submit correction")
    assert panel.chosen_policy() == original.policy_code
    _choose_action(qtbot, panel, "remove")
    press(qtbot, Qt.Key.Key_Tab)
    qtbot.keyClicks(panel.rationale, "Second look: the caption names the targeted group.")
    press(qtbot, Qt.Key.Key_Return, CTRL)
    decisions = {d.id: d for d in _decisions(workstation, case.id)}
    assert len(decisions) == 2
    correction = next(d for d in decisions.values() if d.id != original.id)
    assert correction.supersedes_id == original.id and correction.action == "remove"
    assert decisions[original.id].action == original.action  # the original is unchanged
    assert "Corrected" in panel.confirmation.text()
    assert any("corrects the decision" in e.summary for e in panel.thread())

    # Someone else's decision is not the reviewer's to correct.
    with workstation.replica.sessions() as session:
        theirs = session.scalars(
            select(Decision).where(Decision.reviewer_id != workstation.reviewer_id)
            .order_by(Decision.created_at)).first()
        name = session.get(Reviewer, theirs.reviewer_id).display_name
    _show(window, theirs.case_id)
    assert f"by {name}" in panel.standing_label.text()
    press(qtbot, Qt.Key.Key_C, CTRL | SHIFT)
    qtbot.keyClicks(panel.rationale, "I would have removed this one, to be honest.")
    press(qtbot, Qt.Key.Key_Return, CTRL)
    assert "only the reviewer who made a decision" in panel.errors["case"].text()
    assert len(_decisions(workstation, theirs.case_id)) == 1
    wait_until_idle(qtbot, window.tasks)
