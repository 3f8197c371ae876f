"""The viewer inside the real main window: its keys never fire while the reviewer types,
and Esc covers the media from anywhere in the window."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtWidgets import QApplication

from reviewer.media.reveal import RevealMode
from tests.helpers.gui import energy, grab, make_window, show_case_with_media, wait_until_idle


def _wait_sharp(qtbot, window):
    """The sharp rendition's task has finished and put its pixels on the canvas."""
    wait_until_idle(qtbot, window.tasks)
    assert window.viewer.canvas.sharp is not None


def test_keys_and_panic_in_the_main_window(qtbot, workstation, renderer):
    window = make_window(qtbot, workstation, renderer)
    viewer = window.viewer
    show_case_with_media(qtbot, window)
    blurred = energy(grab(viewer))

    # Typing in the rationale box types, and reveals nothing.
    rationale = window.panel.rationale
    rationale.setFocus()
    qtbot.keyClicks(rationale, "a b l")
    assert rationale.toPlainText() == "a b l"
    assert viewer.reveal_mode is None and viewer.canvas.sharp is None

    # Held Space on the media reveals; moving the focus away (Ctrl+1) ends it.
    viewer.canvas.setFocus()
    qtbot.keyPress(viewer.canvas, Qt.Key.Key_Space)
    assert viewer.reveal_mode is RevealMode.HOLD
    _wait_sharp(qtbot, window)
    assert energy(grab(viewer)) > blurred
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.queue_view.hasFocus()
    assert viewer.reveal_mode is None and viewer.canvas.sharp is None

    # The window losing focus re-blurs a reveal.
    centre = QPoint(viewer.canvas.width() // 2, viewer.canvas.height() // 2)
    qtbot.mouseClick(viewer.canvas, Qt.MouseButton.LeftButton, pos=centre)
    _wait_sharp(qtbot, window)
    QApplication.sendEvent(window, QEvent(QEvent.Type.WindowDeactivate))
    assert viewer.canvas.sharp is None
    assert energy(grab(viewer)) == pytest.approx(blurred, abs=0.5)
    QApplication.sendEvent(window, QEvent(QEvent.Type.WindowActivate))

    # Esc from the rationale box covers all media, thumbnails too.
    rationale.setFocus()
    qtbot.keyClick(rationale, Qt.Key.Key_Escape)
    assert viewer.covered
    assert energy(grab(viewer)) < 1.0
    assert all(button.icon().isNull() for button in viewer.thumbnails())
    qtbot.mouseClick(viewer.canvas, Qt.MouseButton.LeftButton, pos=centre)
    assert not viewer.covered and viewer.reveal_mode is None
    wait_until_idle(qtbot, window.tasks)
