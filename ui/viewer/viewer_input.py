"""The viewer's keys, and the events it must see wherever in its window they happen.

Keys reach the viewer only while it (or the canvas) has the focus, so that they never fire
while typing; the panic key (Esc), a released Space and the window leaving are watched
application-wide (`WindowWatch`), observed and never consumed.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QWidget

from ui.viewer.canvas import ZOOM_STEP, MediaCanvas
from ui.viewer.reveal_control import RevealControl
from ui.viewer.video_player import VideoPlayer


class ViewerKeys:
    """What a key pressed or released in the viewer does: the player's keys first (for a
    video), then reveal, lens, zoom and uncover."""

    def __init__(self, reveal: RevealControl, canvas: MediaCanvas, video: VideoPlayer):
        self._reveal = reveal
        self._canvas = canvas
        self._video = video

    def press(self, event: QKeyEvent) -> bool:
        """A key pressed; True if it was used."""
        if has_command_modifier(event):
            return False
        if self._video.handle_key(event):
            return True
        key = event.key()
        if key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._reveal.begin_hold()
        elif key == Qt.Key.Key_L:
            if not event.isAutoRepeat():
                self._reveal.toggle_lens()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self._canvas.zoom_by(ZOOM_STEP)
        elif key == Qt.Key.Key_Minus:
            self._canvas.zoom_by(1 / ZOOM_STEP)
        elif key == Qt.Key.Key_0:
            self._canvas.fit()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._reveal.covered:
            self._reveal.uncover()
        else:
            return False
        return True

    def release(self, event: QKeyEvent) -> bool:
        """A key released; True if it was used (Space ends a held reveal)."""
        if event.key() == Qt.Key.Key_Space and not has_command_modifier(event):
            if not event.isAutoRepeat():
                self._reveal.end_hold()
            return True
        return False


def has_command_modifier(event: QKeyEvent) -> bool:
    return bool(event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                                     | Qt.KeyboardModifier.AltModifier
                                     | Qt.KeyboardModifier.MetaModifier))


class WindowWatch(QObject):
    """Sees, application-wide, the events the viewer must react to wherever they happen.

    Esc anywhere in the viewer's window (dialogs and pop-ups included) is the panic key; a
    released Space ends a held reveal even if the focus moved meanwhile; the window being
    deactivated, minimised or hidden re-blurs. Events are observed, never consumed.
    """

    def __init__(self, viewer: QWidget, reveal: RevealControl):
        super().__init__(viewer)
        self._viewer = viewer
        self._reveal = reveal

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        if not shiboken6.isValid(self._viewer):
            return False
        kind = event.type()
        if kind == QEvent.Type.FocusIn:
            if isinstance(watched, QWidget):
                self._reveal.focus_moved_to(watched)
        elif kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_Escape and self._in_window(watched):
                self._reveal.panic()
        elif kind == QEvent.Type.KeyRelease and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
                self._reveal.end_hold()
        elif kind in _WINDOW_EVENTS and watched is self._viewer.window():
            window = self._viewer.window()
            if kind == QEvent.Type.WindowDeactivate:
                focused = False
            elif kind == QEvent.Type.WindowActivate:
                focused = True
            else:
                focused = window.isActiveWindow()
            visible = window.isVisible() and not window.isMinimized() \
                and kind != QEvent.Type.Hide
            self._reveal.window_state_changed(visible, focused)
        return False

    def _in_window(self, watched: QObject) -> bool:
        if not isinstance(watched, QWidget):
            return False
        window = self._viewer.window()
        widget: QWidget | None = watched
        while widget is not None:
            if widget is window:
                return True
            widget = widget.parentWidget()
        return False


_WINDOW_EVENTS = frozenset({
    QEvent.Type.WindowActivate, QEvent.Type.WindowDeactivate, QEvent.Type.WindowStateChange,
    QEvent.Type.Hide, QEvent.Type.Show,
})
