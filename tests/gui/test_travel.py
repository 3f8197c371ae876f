"""Travel mode in the window: prepare an offline kit, see offline status, work on."""

from __future__ import annotations

import uuid

from reviewer.sync.service_client import ServiceLink
from tests.helpers.gui import queue_rows, wait_until_idle
from ui.sync.travel_dialog import TravelDialog


def test_prepare_for_travel_leases_and_downloads_the_cases(qtbot, window, workstation):
    dialog = TravelDialog(workstation, window.tasks, window)
    qtbot.addWidget(dialog)
    # A queue with at least two open cases in this small demo.
    name = next(dialog.queue_box.itemText(i) for i in range(dialog.queue_box.count())
                if workstation.estimate_travel_kit(
                    uuid.UUID(dialog.queue_box.itemData(i)), 2).planned == 2)
    dialog.queue_box.setCurrentIndex(dialog.queue_box.findText(name))
    dialog.count_box.setValue(2)
    dialog.estimate()
    wait_until_idle(qtbot, window.tasks, timeout=15_000)
    assert "2 of" in dialog.estimate_label.text() and name in dialog.estimate_label.text()
    assert dialog.queue_box.findText("Child safety") == -1  # never offline
    dialog.start()
    wait_until_idle(qtbot, window.tasks, timeout=15_000)
    assert dialog.report is not None and dialog.report.leased == 2
    window.refresh_queue()
    window.filter_bar.mine.setChecked(True)
    rows = queue_rows(window)
    assert len(rows) == 2 and all(r.queue_name == name for r in rows)


def test_status_bar_says_offline_and_when_it_retries(qtbot, window, workstation):
    online = workstation.sync.backend
    # The backend service on a port where nothing listens: the network is gone.
    workstation.sync.backend = ServiceLink("http://127.0.0.1:1", username="demo",
                                           password="not needed offline",
                                           client_id=workstation.client_id)
    try:
        window.start_sync()
        wait_until_idle(qtbot, window.tasks, timeout=15_000)
        text = window.sync_label.text()
        assert text.startswith("Offline"), text
        assert "retrying in" in text
        assert "cannot be reached" in window.sync_label.toolTip(), window.sync_label.toolTip()
        # Work goes on: the queue still answers, and a new decision waits in the outbox.
        assert window.queue_model.rowCount() > 0
    finally:
        workstation.sync.backend.dispose()
        workstation.sync.backend = online


def test_a_kit_of_child_safety_cases_is_refused_in_the_dialog(qtbot, window, workstation):
    """The queue list never offers child safety; asked anyway, the dialog says why."""
    from sqlalchemy import select

    from reviewer.store.models import Queue

    dialog = TravelDialog(workstation, window.tasks, window)
    qtbot.addWidget(dialog)
    dialog.show()
    with workstation.replica.sessions() as session:
        child_safety = session.scalar(select(Queue).where(Queue.name == "Child safety"))
    dialog.queue_box.addItem(child_safety.name, str(child_safety.id))
    dialog.queue_box.setCurrentIndex(dialog.queue_box.count() - 1)
    dialog.start()
    wait_until_idle(qtbot, window.tasks, timeout=15_000)
    assert dialog.error.isVisible()
    assert "never taken offline" in dialog.error.text()
    assert dialog.report is None
