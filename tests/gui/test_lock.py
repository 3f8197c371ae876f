"""The window locks after idle time (or Ctrl+L) and only the password, checked offline,
unlocks it; the demo unlocks with a button."""

from __future__ import annotations

from datetime import timedelta

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog, QLineEdit, QVBoxLayout

from tests.helpers.gui import show_active, wait_active, wait_until_idle
from ui.security.lock import DEMO_UNLOCK, PasswordCheck, install_lock

PASSWORD = "blue harbour 42"


@pytest.fixture
def lock(window, clock):
    return install_lock(window, window.tasks, password_check=PasswordCheck(PASSWORD),
                        who="Signed in as amara (reviews on db.example.org).",
                        lock_after=timedelta(minutes=5))


LOCK_BACKGROUND = QColor("#1f2630")


def _share_of_lock_background(widget) -> float:
    """How much of what ``widget`` shows now is the lock's plain background."""
    image = widget.grab().toImage()
    points = [(x, y) for x in range(0, image.width(), 17) for y in range(0, image.height(), 13)]
    plain = sum(image.pixelColor(x, y) == LOCK_BACKGROUND for x, y in points)
    return plain / len(points)


def _unlock_with(qtbot, lock, password: str) -> None:
    lock.screen.password.setText(password)
    qtbot.mouseClick(lock.screen.unlock_button, Qt.MouseButton.LeftButton)
    wait_until_idle(qtbot, lock.tasks)  # the password is checked in the background
    assert lock.screen.unlock_button.isEnabled() or not lock.locked


def test_password_check_keeps_only_a_salted_hash() -> None:
    first, second = PasswordCheck(PASSWORD), PasswordCheck(PASSWORD)
    assert first.matches(PASSWORD) and not first.matches(PASSWORD + " ")
    assert not first.matches("")
    assert PASSWORD not in repr(first)
    assert PASSWORD.encode() not in b"".join(
        value for value in vars(first).values() if isinstance(value, bytes))
    assert first._digest != second._digest  # salted: the same password hashes differently


def test_the_window_locks_after_idle_time_and_input_postpones_it(qtbot, window, clock, lock):
    clock.advance(timedelta(minutes=4))
    lock.tick()
    assert not lock.locked
    QTest.mouseMove(window.queue_view.viewport(), QPoint(20, 20))  # any input restarts it
    clock.advance(timedelta(minutes=4))
    lock.tick()
    assert not lock.locked
    clock.advance(timedelta(minutes=1))
    lock.tick()
    assert lock.locked
    assert lock.screen.isVisible() and lock.screen.geometry() == window.rect()
    assert "5 minutes without input" in lock.screen.reason.text()
    assert window.viewer.covered  # the privacy curtain: media re-blurred and covered
    assert not window.centralWidget().isEnabled() and not window.menuBar().isEnabled()
    assert lock.screen.password.hasFocus()
    # On screen: nothing of the queue, case or media, only the lock (its card in the middle).
    assert _share_of_lock_background(window) > 0.8


def test_the_timeout_comes_from_the_lock_minutes_setting(qtbot, window, clock):
    window.workstation.settings.set("security/lock_minutes", 2)
    lock = install_lock(window, window.tasks, password_check=PasswordCheck(PASSWORD),
                        who="")
    clock.advance(timedelta(seconds=119))
    lock.tick()
    assert not lock.locked
    clock.advance(timedelta(seconds=1))
    lock.tick()
    assert lock.locked and "2 minutes" in lock.screen.reason.text()


def test_ctrl_l_locks_at_once_and_other_shortcuts_are_ignored_while_locked(
        qtbot, window, lock):
    qtbot.keyClick(window.queue_view, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert lock.locked
    # Ctrl+Shift+B would start a break, F1-style shortcuts would open dialogs: not now.
    qtbot.keyClick(lock.screen.password, Qt.Key.Key_B,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert not window.wellness.breaks.on_break
    qtbot.keyClick(lock.screen.password, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert lock.locked


def test_a_wrong_password_keeps_it_locked_and_the_right_one_unlocks(qtbot, window, lock):
    lock.lock()
    _unlock_with(qtbot, lock, "not it")
    assert lock.locked and lock.screen.isVisible()
    assert lock.screen.error.isVisible()
    assert "not your password" in lock.screen.error.text()
    assert lock.screen.password.text() == ""
    _unlock_with(qtbot, lock, "")
    assert lock.locked and "Enter your password" in lock.screen.error.text()
    _unlock_with(qtbot, lock, PASSWORD)
    assert not lock.locked and not lock.screen.isVisible()
    assert window.centralWidget().isEnabled() and window.menuBar().isEnabled()
    assert window.viewer.covered  # media stays covered until the reviewer uncovers it


def test_return_in_the_password_field_unlocks(qtbot, window, lock):
    lock.lock()
    qtbot.keyClicks(lock.screen.password, PASSWORD)
    with qtbot.waitSignal(lock.locked_changed, timeout=10_000,
                          check_params_cb=lambda locked: not locked):
        qtbot.keyClick(lock.screen.password, Qt.Key.Key_Return)
    assert not lock.locked


def test_the_demo_locks_too_and_unlocks_with_a_button(qtbot, window, clock):
    lock = install_lock(window, window.tasks, password_check=None,
                        who="Signed in as Demo Reviewer on the demo backend.",
                        lock_after=timedelta(minutes=5))
    clock.advance(timedelta(minutes=5))
    lock.tick()
    assert lock.locked and window.viewer.covered
    assert not lock.screen.password.isVisible()
    assert DEMO_UNLOCK in lock.screen.who.text()
    qtbot.mouseClick(lock.screen.unlock_button, Qt.MouseButton.LeftButton)
    assert not lock.locked


def test_the_lock_survives_focus_changes(qtbot, window, lock):
    lock.lock()
    other = QDialog()
    qtbot.addWidget(other)
    show_active(qtbot, other)
    other.close()
    window.activateWindow()
    wait_active(qtbot, window)
    lock.tick()
    assert lock.locked and lock.screen.isVisible()


def test_a_locked_window_does_not_renew_its_lease(qtbot, window, lock):
    assert window.lease_timer.isActive()
    lock.lock()
    assert not window.lease_timer.isActive()  # the lease runs out under the normal rules
    assert window.sla_timer.isActive() and window.sync_timer.isActive()
    _unlock_with(qtbot, lock, PASSWORD)
    assert window.lease_timer.isActive()


def test_other_windows_of_the_app_are_covered_while_locked(qtbot, window, lock):
    dialog = QDialog(window)
    field = QLineEdit("what the reviewer was typing", dialog)
    QVBoxLayout(dialog).addWidget(field)
    dialog.show()
    qtbot.waitExposed(dialog)
    lock.lock()
    assert not field.isEnabled()
    covers = [child for child in dialog.children() if child.objectName() == "lockCover"]
    assert covers and covers[0].isVisible() and covers[0].geometry() == dialog.rect()
    assert _share_of_lock_background(dialog) > 0.8  # the typed text is not on screen
    with qtbot.waitSignal(covers[0].destroyed, timeout=5_000):  # deleted later, by Qt
        _unlock_with(qtbot, lock, PASSWORD)
        assert field.isEnabled() and field.text() == "what the reviewer was typing"
    assert not any(c.objectName() == "lockCover" for c in dialog.children())
    dialog.close()


def test_with_a_modal_dialog_open_the_prompt_goes_on_top_of_it(qtbot, window, lock):
    dialog = QDialog(window)
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
    dialog.resize(200, 120)
    dialog.open()
    qtbot.waitExposed(dialog)
    lock.lock()
    assert lock.screen.parentWidget() is dialog and lock.screen.isVisible()
    assert dialog.width() >= lock.screen.minimumSizeHint().width()
    assert not window.centralWidget().isEnabled()
    _unlock_with(qtbot, lock, PASSWORD)
    assert not lock.locked and dialog.isVisible() and dialog.width() == 200
    dialog.reject()


def test_the_demo_session_locks_but_has_nothing_to_sign_out_of(qtbot, window, clock):
    from ui.app import install_session

    session = install_session(window, window.tasks, None)
    texts = [a.text().replace("&", "") for a in window.menuBar().actions()[0].menu().actions()]
    assert window.menuBar().actions()[0].text() == "&File"
    assert "Lock now" in texts and not any(t.startswith("Sign out") for t in texts)
    assert session.sign_out_action is None and session.tls_label is None
    clock.advance(timedelta(minutes=5))
    session.lock.tick()
    assert session.lock.locked and session.lock.screen.demo
    assert "Demo Reviewer" in session.lock.screen.who.text()
