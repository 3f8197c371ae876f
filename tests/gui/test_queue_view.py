"""The queue as a reviewer works it: filters, search, sorting, get next, skip, notes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog
from sqlalchemy import select

from reviewer.queue.case_queue import PriorityWeights, priority_score, sla_state
from reviewer.store.models import Case, LeaseEvent, Note
from tests.helpers.gui import make_window, queue_rows, wait_until_idle


def test_filters_combine_show_what_is_active_and_clear_in_one_action(qtbot, window):
    all_rows = queue_rows(window)
    everything = len(all_rows)
    now = window.workstation.clock.now()
    # Filter on the channel and SLA state of a case that exists, so the result is not empty.
    sample = all_rows[len(all_rows) // 2]
    state = sla_state(sample.reported_at, sample.due_at, now)
    bar = window.filter_bar
    bar.combos["channel"].setCurrentIndex(bar.combos["channel"].findData(sample.channel))
    bar.combos["sla"].setCurrentIndex(bar.combos["sla"].findData(state.value))
    rows = queue_rows(window)
    expected = [r for r in all_rows if r.channel == sample.channel
                and sla_state(r.reported_at, r.due_at, now) == state]
    assert {r.id for r in rows} == {r.id for r in expected}
    assert 0 < len(rows) < everything
    assert f"channel: {bar.combos['channel'].currentText()}" in bar.summary.text()
    assert f"sla: {state.label}" in bar.summary.text()
    assert bar.clear_button.text() == "Clear 2 filters"
    wait_until_idle(qtbot, window.tasks, timeout=15_000)  # the count is a background task
    assert "(filtered)" in window.queue_heading.text()
    qtbot.keyClick(window, Qt.Key.Key_X,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert len(queue_rows(window)) == everything
    assert bar.summary.isHidden()
    assert bar.combos["channel"].currentIndex() == 0


def test_language_filter_fills_in_the_background_and_filters(qtbot, window):
    all_rows = queue_rows(window)
    combo = window.filter_bar.combos["language"]
    wait_until_idle(qtbot, window.tasks, timeout=15_000)  # the languages are read in the background
    assert combo.count() > 1
    with window.workstation.replica.sessions() as session:  # decided cases count too
        languages = sorted({case.language for case in session.scalars(select(Case))})
    assert [combo.itemData(i) for i in range(1, combo.count())] == languages
    assert combo.itemText(1) == languages[0].upper()
    wanted = all_rows[0].language  # one that open cases have, so the result is not empty
    combo.setCurrentIndex(combo.findData(wanted))
    rows = queue_rows(window)
    assert rows
    assert {r.id for r in rows} == {r.id for r in all_rows if r.language == wanted}


def test_search_box_finds_a_reference_and_survives_hostile_text(qtbot, window):
    target = queue_rows(window)[3]
    window.filter_bar.search.setText(target.external_ref)
    qtbot.keyClick(window.filter_bar.search, Qt.Key.Key_Return)
    assert [r.id for r in queue_rows(window)] == [target.id]
    for hostile in ("'; DROP TABLE review_case; --", '"', "%_*", "x" * 10_240, "مرحبا 🙂"):
        window.filter_bar.search.setText(hostile)
        qtbot.keyClick(window.filter_bar.search, Qt.Key.Key_Return)
        assert queue_rows(window) == []
    window.filter_bar.clear()
    assert len(queue_rows(window)) > 1


def test_default_sort_is_priority_and_every_column_sorts(qtbot, window):
    weights = PriorityWeights()
    now = window.workstation.clock.now()
    scores = [priority_score(r.priority_key, now, weights) for r in queue_rows(window)]
    assert scores == sorted(scores, reverse=True)
    header = window.queue_view.horizontalHeader()
    model = window.queue_model
    sla_column = model.SLA_COLUMN
    header.setSortIndicator(sla_column, Qt.SortOrder.AscendingOrder)
    dues = [r.due_at for r in queue_rows(window)]
    assert dues == sorted(dues)
    header.setSortIndicator(sla_column, Qt.SortOrder.DescendingOrder)
    assert [r.due_at for r in queue_rows(window)] == sorted(dues, reverse=True)
    for column in range(model.columnCount()):
        header.setSortIndicator(column, Qt.SortOrder.AscendingOrder)
        assert len(queue_rows(window)) == len(dues)


def test_priority_tooltip_explains_the_score(window):
    tip = window.queue_model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Priority ")
    assert "severity" in tip and "channel" in tip and "reach" in tip


def test_sla_tick_repaints_only_visible_rows(qtbot, window, clock):
    window.resize(1400, 420)  # fewer rows fit than the queue holds
    # Polled: the new size arrives as a window-system event, and no signal says so.
    qtbot.waitUntil(lambda: window.queue_view.rowAt(
        window.queue_view.viewport().height() - 1) not in (-1,), timeout=5000)
    model = window.queue_model
    assert model.rowCount() > window.queue_view.rowAt(window.queue_view.viewport().height() - 1)
    changed = []
    model.dataChanged.connect(lambda first, last, _roles: changed.append((first.row(),
                                                                          last.row())))
    before = model.index(0, model.SLA_COLUMN).data()
    clock.advance(timedelta(minutes=7))
    window._tick()
    assert changed, "nothing repainted"
    last_visible = window.queue_view.rowAt(window.queue_view.viewport().height() - 1)
    assert all(first >= 0 and last <= last_visible for first, last in changed)
    assert model.index(0, model.SLA_COLUMN).data() != before


def test_column_layout_is_remembered(qtbot, workstation, renderer):
    window = make_window(qtbot, workstation, renderer)
    window.queue_view.horizontalHeader().resizeSection(2, 211)
    window.queue_view.horizontalHeader().moveSection(3, 7)
    window.close()
    again = make_window(qtbot, workstation, renderer)
    header = again.queue_view.horizontalHeader()
    assert header.sectionSize(2) == 211
    assert header.visualIndex(3) == 7


def test_get_next_leases_opens_and_shows_the_lease(qtbot, window, workstation):
    window.queue_view.setFocus()
    qtbot.keyClick(window.queue_view, Qt.Key.Key_N)
    # Get next asks the backend, in the background.
    wait_until_idle(qtbot, window.tasks, timeout=15_000)
    assert window.lease is not None
    lease = window.lease
    assert window.current_case_id() == lease.case_id
    assert window.panel.policy_box.hasFocus()
    assert "Lease: 15:00 left" in window.lease_status.text()
    case = workstation.case(lease.case_id)
    assert case.status == "leased" and case.lease_holder_id == workstation.reviewer_id
    # The replica shows it as mine.
    window.filter_bar.mine.setChecked(True)
    assert [r.id for r in queue_rows(window)] == [lease.case_id]


def test_n_types_in_the_rationale_instead_of_getting_a_case(qtbot, window):
    window.select_row(0)
    window.panel.rationale.setFocus()
    qtbot.keyClicks(window.panel.rationale, "Not spam")
    assert window.panel.rationale.toPlainText() == "Not spam"
    assert window.lease is None and not window._claiming


def test_skip_releases_the_lease_with_a_reason(qtbot, window, workstation, monkeypatch):
    window.queue_view.setFocus()
    qtbot.keyClick(window.queue_view, Qt.Key.Key_N)
    # Get next asks the backend, in the background.
    wait_until_idle(qtbot, window.tasks, timeout=15_000)
    assert window.lease is not None
    case_id = window.lease.case_id
    monkeypatch.setattr(QInputDialog, "getItem",
                        lambda *args, **kwargs: ("Conflict of interest", True))
    window.queue_view.setFocus()
    qtbot.keyClick(window.queue_view, Qt.Key.Key_S)
    wait_until_idle(qtbot, window.tasks, timeout=15_000)
    assert window.lease is None
    assert workstation.case(case_id).status == "new"
    with workstation.backend.sessions() as session:
        event = session.scalar(select(LeaseEvent).where(LeaseEvent.kind == "skipped"))
    assert event.case_id == case_id and event.reason == "Conflict of interest"


def test_handoff_note_is_saved_marked_in_the_queue_and_searchable(qtbot, window, workstation,
                                                                  monkeypatch):
    window.select_row(2)
    case_id = window.current_case_id()
    monkeypatch.setattr(QInputDialog, "getMultiLineText",
                        lambda *args, **kwargs: ("Waiting on Legal, don't action", True))
    qtbot.keyClick(window, Qt.Key.Key_N,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert "Waiting on Legal" in window.panel.notes_label.text()
    row = window.queue_model.row_of(case_id)
    assert window.queue_model.index(row, 2).data().startswith("✎ ")
    wait_until_idle(qtbot, window.tasks, timeout=15_000)
    with workstation.backend.sessions() as session:
        assert session.scalar(select(Note.body).where(Note.case_id == case_id)) == \
            "Waiting on Legal, don't action"
    window.filter_bar.search.setText("legal don't")
    qtbot.keyClick(window.filter_bar.search, Qt.Key.Key_Return)
    assert case_id in [r.id for r in queue_rows(window)]


def test_deciding_a_case_someone_else_holds_is_refused(qtbot, window, workstation, clock):
    from reviewer.demo.seed import demo_reviewer_id
    from reviewer.queue.leases import lease_case

    case_id = window.queue_model.case_id(0)
    lease_case(workstation.backend, case_id, demo_reviewer_id("amara"), clock)
    workstation.synchronise()
    window.refresh_queue()
    window.open_case(case_id)
    window.panel.policy_box.setFocus()
    qtbot.keyClick(window.panel.policy_box, Qt.Key.Key_Down)
    qtbot.keyClick(window.panel.policy_box, Qt.Key.Key_Tab)
    qtbot.keyClick(window.panel.action_box, Qt.Key.Key_Down)
    window.panel.rationale.setPlainText("I think this is fine to leave up.")
    window.panel.submit()
    assert "another reviewer holds the lease" in window.panel.errors["case"].text()
    with workstation.replica.sessions() as session:
        assert session.get(Case, case_id).status == "leased"


@pytest.mark.parametrize("typed", ["hs-1", "dehumanising"])
def test_policy_can_be_typed(qtbot, window, typed):
    for row in range(window.queue_model.rowCount()):
        window.select_row(row)
        if window.panel.policy_box.findData("HS-1") >= 0:
            break
    box = window.panel.policy_box
    box.setFocus()
    box.lineEdit().setText(typed)
    assert window.panel.chosen_policy() == "HS-1"
