"""What a lead sees of language routing: the Queue menu's routing switch for the queue the
filter shows (sent through the outbox), and the cases in languages nobody on shift reviews,
marked in the language column and counted in the status bar. Reviewers get none of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from sqlalchemy import select

from reviewer.demo.seed import demo_reviewer_id
from reviewer.queue.leases import lease_next_case
from reviewer.store.database import sqlite_url
from reviewer.store.models import OutboxEntry, Queue
from reviewer.workstation import Workstation
from tests.helpers.gui import make_window, queue_rows, wait_until_idle
from ui.queue.lead import LeadQueueActions
from ui.queue.model import UNSERVED_MARK

pytestmark = pytest.mark.demo(cases=40, with_media=False)


@pytest.fixture
def lead(workstation, clock):
    """Sofia (a lead of every team) on the demo's backend, two days after the demo week's
    last work, once Amara (English, French; graphic content and integrity) took a case."""
    clock.advance(timedelta(days=2))
    lease_next_case(workstation.backend, demo_reviewer_id("amara"), clock)
    sofia = Workstation.open(workstation.paths.root / "sofia", clock=clock, username="sofia",
                             reviewer_id=demo_reviewer_id("sofia"),
                             backend_url=sqlite_url(workstation.paths.backend),
                             secrets=workstation.secrets)
    sofia.synchronise()
    yield sofia
    sofia.close()


def _language_column(window) -> int:
    return next(i for i, c in enumerate(window.queue_model.COLUMNS) if c.key == "language")


def test_a_lead_sees_unserved_languages_marked_and_counted(qtbot, lead, renderer):
    window = make_window(qtbot, lead, renderer)
    wait_until_idle(qtbot, window.tasks, timeout=15_000)
    actions = window.findChild(LeadQueueActions)
    assert actions is not None
    rows = queue_rows(window)
    with lead.replica.sessions() as session:
        teams = {q.name: q.team_code for q in session.scalars(select(Queue))}
    served = {r.id for r in rows if r.status == "new" and r.language in ("en", "fr")
              and teams[r.queue_name] in ("graphic-content", "integrity")}
    unserved = {r.id for r in rows if r.status == "new"} - served
    assert unserved and served  # the demo has both
    model = window.queue_model
    column = _language_column(window)
    for row_number, row in enumerate(rows):
        shown = model.data(model.index(row_number, column))
        tip = model.data(model.index(row_number, column), Qt.ItemDataRole.ToolTipRole)
        if row.id in unserved:
            assert shown == f"{UNSERVED_MARK} {row.language}"
            assert "nobody on shift" in tip and row.language.upper() in tip
        else:
            assert shown == row.language and tip is None
    label = actions.unserved_label
    assert label.text() == f"{UNSERVED_MARK} {len(unserved)} unserved"
    assert "1 on shift" in label.toolTip()
    # Ctrl+Alt+U says which languages, in the status bar.
    qtbot.keyClick(window, Qt.Key.Key_U,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    assert "Unserved languages:" in window.statusBar().currentMessage()


def test_a_lead_turns_routing_off_for_the_filtered_queue_from_the_keyboard(
        qtbot, lead, renderer):
    window = make_window(qtbot, lead, renderer)
    wait_until_idle(qtbot, window.tasks, timeout=15_000)
    actions = window.findChild(LeadQueueActions)
    action = actions.routing_action
    assert not action.isEnabled()  # no queue chosen: nothing to switch
    combo = window.filter_bar.combos["queue"]
    combo.setCurrentIndex(combo.findText("Hate speech"))
    assert action.isEnabled() and action.isChecked()
    assert "Hate speech" in action.text()
    qtbot.keyClick(window, Qt.Key.Key_L,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    assert not action.isChecked()
    queue_id = combo.currentData()
    with lead.replica.sessions() as session:
        entry = session.scalar(select(OutboxEntry).where(OutboxEntry.kind == "queue_routing"))
    assert entry is not None and entry.payload["queue_id"] == queue_id
    assert entry.payload["language_routing"] is False
    wait_until_idle(qtbot, window.tasks, timeout=15_000)  # the sync it asked for
    lead.synchronise()
    with lead.backend.sessions() as session:
        queue = session.scalar(select(Queue).where(Queue.name == "Hate speech"))
        assert queue.language_routing is False
    # Another queue shows its own state; back on Hate speech it is still off.
    combo.setCurrentIndex(combo.findText("Spam & fraud"))
    assert action.isChecked()
    combo.setCurrentIndex(combo.findText("Hate speech"))
    assert not action.isChecked()


def test_reviewers_get_no_queue_menu_and_no_marks(qtbot, window):
    wait_until_idle(qtbot, window.tasks, timeout=15_000)
    assert window.findChild(LeadQueueActions) is None
    assert "&Queue" not in [a.text() for a in window.menuBar().actions()]
    model = window.queue_model
    column = _language_column(window)
    rows = queue_rows(window)
    assert all(UNSERVED_MARK not in model.data(model.index(i, column)) for i in range(len(rows)))


@pytest.mark.parametrize(("username", "label", "has_queue_menu"), [
    ("sofia", "Sofia Lindqvist (lead)", True),
    ("amara", "Amara Okafor (reviewer)", False),
])
def test_the_first_start_of_the_demo_knows_who_signed_in(qtbot, tmp_path, clock, renderer,
                                                         secret_store, username, label,
                                                         has_queue_menu):
    """Before the demo is seeded and pulled, the window already has the person's name and
    role from the demo's organisation file: `--user sofia` gets the lead's Queue menu from
    the first start, not after a restart."""
    fresh = Workstation.open_embedded(tmp_path / "fresh", clock=clock, username=username,
                                      secrets=secret_store)
    try:
        assert fresh.reviewer() is None  # nothing pulled yet
        window = make_window(qtbot, fresh, renderer)
        assert window.user_label.text() == label
        menus = [action.text().replace("&", "") for action in window.menuBar().actions()]
        assert ("Queue" in menus) is has_queue_menu
        assert (window.findChild(LeadQueueActions) is not None) is has_queue_menu
        window.close()
    finally:
        fresh.close()
