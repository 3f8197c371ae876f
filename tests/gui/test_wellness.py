"""Wellness in the window: figures, the budget gate, breaks, the curtain, sharing with a lead."""

from __future__ import annotations

from datetime import timedelta

from PIL import ImageStat
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog
from sqlalchemy import select

from reviewer.media.reveal import RevealMode
from reviewer.store.models import OutboxEntry, WellnessState
from reviewer.wellness.records import load_records
from tests.helpers.gui import make_window, show_case_with_media, to_pil, wait_until_idle


def _open_media(qtbot, window):
    show_case_with_media(qtbot, window)
    window.viewer.canvas.setFocus()


def _reveal(qtbot, window):
    """Reveal, and wait until the sharp pixels are really on screen (exposure starts then):
    the sharp rendition's task has finished and put them there."""
    window.viewer.toggle_reveal()
    wait_until_idle(qtbot, window.tasks)
    assert window.viewer.canvas.sharp is not None


def test_status_bar_shows_exposure_against_the_budget(qtbot, window, clock):
    _open_media(qtbot, window)
    _reveal(qtbot, window)
    clock.advance(4)
    window.wellness.tick()
    window.viewer.reblur()
    text = window.wellness.status_label.text()
    assert "Exposure 0:04 of 10:00" in text
    assert "graphic queues" in text and "break in" in text


def test_over_budget_reveal_needs_a_reason(qtbot, window, clock, monkeypatch):
    _open_media(qtbot, window)
    _reveal(qtbot, window)
    clock.advance(601)  # past the 10-minute budget in one long reveal
    window.viewer.reblur()
    window.wellness.update_status()
    assert window.wellness.status_label.text().startswith("■ ")
    asked = []
    monkeypatch.setattr(QInputDialog, "getText",
                        lambda *a, **k: asked.append(a) or ("", False))
    window.viewer.toggle_reveal()
    assert asked and window.viewer.reveal_mode is None  # no reason, no reveal
    monkeypatch.setattr(QInputDialog, "getText",
                        lambda *a, **k: ("Legal needs the exact wording", True))
    window.viewer.toggle_reveal()
    assert window.viewer.reveal_mode is RevealMode.TOGGLE
    confirmations = window.wellness.ledger.over_budget_confirmations()
    assert confirmations[-1].reason == "Legal needs the exact wording"


def test_idle_for_a_minute_covers_every_media_area(qtbot, window, clock):
    _open_media(qtbot, window)
    before = to_pil(window.viewer.canvas.grab().toImage())
    clock.advance(61)
    window.wellness.tick()
    assert window.viewer.covered
    covered = to_pil(window.viewer.canvas.grab().toImage())
    # Pixels, not flags: the canvas is a plain cover now, with none of the image's detail.
    assert ImageStat.Stat(covered).stddev[0] < ImageStat.Stat(before).stddev[0] / 3
    assert all(button.icon().isNull() for button in window.viewer.thumbnails())
    clock.advance(5)
    window.wellness.tick()
    assert window.viewer.covered  # it does not lift by itself
    window.viewer.uncover()
    assert not window.viewer.covered and not window.wellness.curtain.covered


def test_break_is_due_after_an_hour_of_review_and_covers_the_window(qtbot, window, clock):
    _open_media(qtbot, window)
    clock.advance(timedelta(minutes=59))
    window.wellness.curtain.user_activity()
    window.wellness.tick()
    assert not window.wellness.break_screen.isVisible()
    clock.advance(timedelta(minutes=1, seconds=1))
    window.wellness.curtain.user_activity()
    window.wellness.tick()
    screen = window.wellness.break_screen
    assert screen.isVisible()
    assert screen.geometry() == window.rect()
    assert window.viewer.covered
    assert screen.countdown.text() == "10:00"
    # One snooze is allowed, then the break comes back ten minutes of review later.
    assert screen.snooze_button.isVisible()
    screen.snooze_button.click()
    assert not screen.isVisible()
    clock.advance(timedelta(minutes=10, seconds=1))
    window.wellness.curtain.user_activity()
    window.wellness.tick()
    assert screen.isVisible() and not screen.snooze_button.isVisible()
    clock.advance(timedelta(minutes=10))
    window.wellness.tick()
    assert screen.checkin.isVisible()  # the break is over: how are you?
    screen.mood_group.button(4).click()
    screen.note.setText("Tough morning, better now")
    qtbot.mouseClick(screen.checkin.findChildren(type(screen.snooze_button))[-2],
                     Qt.MouseButton.LeftButton)
    assert not screen.isVisible()
    records = window.wellness.records
    assert records.breaks[-1].completed
    assert records.checkins[-1].mood == 4


def test_records_survive_a_restart_and_stay_on_the_device(qtbot, workstation, renderer, clock):
    window = make_window(qtbot, workstation, renderer)
    _open_media(qtbot, window)
    _reveal(qtbot, window)
    clock.advance(7)
    window.viewer.reblur()
    window.close()
    records = load_records(workstation.replica.sessions, workstation.reviewer_id, clock)
    assert round(records.ledger.today().exposure_s, 1) == 7.0
    with workstation.replica.sessions() as session:
        assert session.get(WellnessState, workstation.reviewer_id) is not None
        kinds = set(session.scalars(select(OutboxEntry.kind)))
    assert "wellness_summary" not in kinds  # nothing leaves the device unless shared


def test_sharing_sends_totals_but_never_checkins(qtbot, window, workstation, clock):
    window.wellness.records.checkins.append(
        __import__("reviewer.wellness.exposure", fromlist=["CheckIn"]).CheckIn(clock.now(), 2,
                                                                      "private words"))
    window.wellness.set_sharing(True)
    with workstation.replica.sessions() as session:
        entry = session.scalar(select(OutboxEntry).where(OutboxEntry.kind == "wellness_summary"))
    assert set(entry.payload) == {"reviewer_id", "day", "exposure_s", "graphic_queue_s",
                                  "breaks_taken", "updated_at"}
    assert "private words" not in str(entry.payload)


def test_wellbeing_dialog_shows_today_and_fourteen_days(qtbot, window, clock):
    from ui.wellness.wellness_view import WellbeingDialog

    dialog = WellbeingDialog(window.wellness, "reviewer", window)
    qtbot.addWidget(dialog)
    assert len(dialog.history) == 14
    assert dialog.exposure_bar.format().endswith("of 10:00")
    assert dialog.team_label.text() == ""  # a reviewer sees no team figures
