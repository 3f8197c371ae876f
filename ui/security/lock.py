"""Locking the window after idle time (or Ctrl+L) until the reviewer re-enters the password.

A lock is the privacy curtain (every media area re-blurred) plus a screen over the whole
window that asks for the password. The password is checked offline against a salted scrypt
hash kept in memory (never the password itself, never on disk), so unlocking works with no
network. The embedded demo has no password: its lock screen unlocks with a button.

While locked, keyboard shortcuts and clicks reach only the lock screen; any other open
window of the app is covered too. Sync and the SLA timers keep running, but a held lease is
*not* renewed: it runs out under the normal rules (at most ``leases/minutes`` after its last
renewal, usually 10 to 15 minutes after the lock), so a reviewer who walks away does not
keep a case from the team. Unlocking in time resumes renewal; otherwise the case has gone
back to the queue and a late decision is kept as a conflict, as always.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import timedelta
from typing import Protocol

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.settings import SECURITY_LOCK_MINUTES
from reviewer.wellness.exposure import CurtainController
from reviewer.workstation import Workstation
from ui.widgets.form_feedback import inline_error
from ui.widgets.tasks import TaskRunner


class _Wellness(Protocol):
    curtain: CurtainController


class LockableWindow(Protocol):
    """The window a lock covers (the main window is one): its workstation's settings say
    when, and its wellness curtain measures the idle time."""

    workstation: Workstation
    wellness: _Wellness

LOCK_TICK_MS = 1_000
DEMO_UNLOCK = "Demo mode has no password"


class PasswordCheck:
    """Verifies a password against a salted scrypt hash; the password itself is not kept."""

    _N, _R, _P = 2 ** 14, 8, 1

    def __init__(self, password: str) -> None:
        self._salt = os.urandom(16)
        self._digest = self._hash(password)

    def _hash(self, password: str) -> bytes:
        return hashlib.scrypt(password.encode("utf-8"), salt=self._salt, n=self._N, r=self._R,
                              p=self._P, dklen=32)

    def matches(self, password: str) -> bool:
        return hmac.compare_digest(self._hash(password), self._digest)

    def __repr__(self) -> str:
        return "PasswordCheck(<hidden>)"


def file_menu(window: QMainWindow) -> QMenu:
    """The window's File menu, made (first in the menu bar) if nobody has made it yet."""
    bar = window.menuBar()
    for action in bar.actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and action.text().replace("&", "") == "File":
            return menu
    menu = QMenu("&File", window)
    first = bar.actions()[0] if bar.actions() else None
    if first is None:
        bar.addMenu(menu)
    else:
        bar.insertMenu(first, menu)
    return menu


class LockScreen(QFrame):
    """Covers a window: who is signed in, a password field (or the demo's button)."""

    unlock_requested = Signal(str)

    def __init__(self, parent: QWidget, *, demo: bool, who: str) -> None:
        super().__init__(parent)
        self.setObjectName("lockScreen")
        self.setAutoFillBackground(True)
        self.setStyleSheet(
            "#lockScreen { background: #1f2630; }"
            "#lockScreen QLabel { color: #e6edf3; }"
            "#lockScreen QLabel#fieldError { color: #ffb4b4; font-weight: 600; }"
            "#lockCard { background: #2b3440; border-radius: 8px; }"
        )
        self.demo = demo
        card = QFrame()
        card.setObjectName("lockCard")
        card.setFixedWidth(420)
        self.title = QLabel("Workstation locked")
        self.title.setStyleSheet("font-size: 16pt; font-weight: 600;")
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.who = QLabel(who)
        self.who.setWordWrap(True)
        self.who.setTextFormat(Qt.TextFormat.PlainText)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("Your password")
        self.password.setAccessibleName("Password to unlock")
        self.password.returnPressed.connect(self._submit)
        self.error = inline_error()
        self.unlock_button = QPushButton("&Unlock")
        self.unlock_button.setObjectName("primary")
        self.unlock_button.clicked.connect(self._submit)
        layout = QVBoxLayout(card)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(10)
        for widget in (self.title, self.reason, self.who, self.password, self.error,
                       self.unlock_button):
            layout.addWidget(widget)
        if demo:
            self.password.hide()
            self.who.setText(f"{who}\n{DEMO_UNLOCK}: unlock with the button.".strip())
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(card, 0, Qt.AlignmentFlag.AlignHCenter)
        outer.addStretch(1)
        self.hide()

    def minimumSizeHint(self) -> QSize:  # Qt override
        return QSize(460, 300)

    def cover(self, reason: str) -> None:
        self.reason.setText(reason)
        self.error.hide()
        self.password.clear()
        self.set_checking(False)
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.show()
        self.raise_()
        (self.unlock_button if self.demo else self.password).setFocus()

    def set_checking(self, checking: bool) -> None:
        self.password.setEnabled(not checking)
        self.unlock_button.setEnabled(not checking)
        self.unlock_button.setText("Checking…" if checking else "&Unlock")

    def show_error(self, message: str) -> None:
        self.set_checking(False)
        self.password.clear()
        self.error.setText(message)
        self.error.show()
        self.password.setFocus()

    def _submit(self) -> None:
        self.unlock_requested.emit("" if self.demo else self.password.text())


class _Cover(QFrame):
    """An opaque panel over another window of the app while locked."""

    def __init__(self, parent: QWidget, text: str) -> None:
        super().__init__(parent)
        self.setObjectName("lockCover")
        self.setAutoFillBackground(True)
        self.setStyleSheet("#lockCover { background: #1f2630; } QLabel { color: #e6edf3; }")
        label = QLabel(text)
        layout = QVBoxLayout(self)
        layout.addWidget(label, 0, Qt.AlignmentFlag.AlignCenter)
        self.setGeometry(parent.rect())
        self.show()
        self.raise_()


class LockController(QObject):
    """Locks after ``lock_after`` without input, and unlocks on the password.

    Input is watched once, by the wellness curtain
    (`reviewer.wellness.exposure.CurtainController`, fed by the window's
    `ui.wellness.wellness_view.WellnessController`): the lock reads its idle time."""

    locked_changed = Signal(bool)

    def __init__(self, window: QMainWindow, tasks: TaskRunner, activity: CurtainController,
                 *, password_check: PasswordCheck | None, lock_after: timedelta, who: str = "",
                 tick_ms: int = LOCK_TICK_MS) -> None:
        super().__init__(window)
        self.window = window
        self.tasks = tasks
        self.activity = activity
        self.password_check = password_check
        self.lock_after = lock_after if lock_after > timedelta(0) else timedelta(minutes=5)
        self._locked = False
        self._target: QWidget = window
        self._disabled: list[QWidget] = []
        self._covers: list[_Cover] = []
        self._resized_target: QSize | None = None
        self._lease_timer_was_active = False
        self.screen = LockScreen(window, demo=password_check is None, who=who)
        self.screen.unlock_requested.connect(self.try_unlock)
        self.lock_action = QAction("&Lock now", window)
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.lock_action.triggered.connect(self.lock)
        window.addAction(self.lock_action)
        file_menu(window).addAction(self.lock_action)
        self.timer = QTimer(self)
        self.timer.setInterval(tick_ms)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        window.destroyed.connect(self.detach)

    @property
    def locked(self) -> bool:
        return self._locked

    def idle(self) -> timedelta:
        return timedelta(seconds=self.activity.idle_s())

    def tick(self) -> None:
        if not self._locked and self.idle() >= self.lock_after:
            minutes = self.lock_after.total_seconds() / 60
            self.lock(f"Locked after {minutes:g} minute{'s' if minutes != 1 else ''} without "
                      "input. Media is covered.")

    # -- locking ---------------------------------------------------------------------------

    def lock(self, reason: str = "") -> None:
        if self._locked:
            return
        self._locked = True
        viewer = getattr(self.window, "viewer", None)
        if viewer is not None:
            viewer.panic()  # the privacy curtain: every media area re-blurred
        lease_timer = getattr(self.window, "lease_timer", None)
        self._lease_timer_was_active = bool(lease_timer is not None and lease_timer.isActive())
        if lease_timer is not None:
            lease_timer.stop()
        app = QApplication.instance()
        modal = app.activeModalWidget() if isinstance(app, QApplication) else None
        # The prompt goes where input can reach it: on top of an open modal dialog, if any.
        self._target = modal if modal is not None and modal is not self.window else self.window
        if self.screen.parentWidget() is not self._target:
            self.screen.setParent(self._target)
        hint = self.screen.minimumSizeHint()
        size = self._target.size()
        if size.width() < hint.width() or size.height() < hint.height():
            self._resized_target = size
            self._target.resize(size.expandedTo(hint))
        self._disabled = []
        windows = [self._target]
        if isinstance(app, QApplication):
            for widget in app.topLevelWidgets():
                if not widget.isVisible() or widget is self._target:
                    continue
                if widget.windowType() == Qt.WindowType.Popup:
                    widget.close()  # an open menu
                    continue
                windows.append(widget)
                self._covers.append(_Cover(widget, "Locked: unlock in the main window"
                                           if self._target is self.window else
                                           "Locked: enter your password in the window in front"))
        for window in windows:
            # Disabling the window itself would disable its child dialogs too (the prompt
            # may be on one), so its contents are disabled instead.
            for child in window.findChildren(
                    QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly):
                if (child is not self.screen and not child.isWindow() and child.isEnabled()
                        and child.objectName() != "lockCover"):
                    child.setEnabled(False)
                    self._disabled.append(child)
        self.screen.cover(reason or "Locked. Media is covered.")
        self.locked_changed.emit(True)

    def try_unlock(self, password: str) -> None:
        if not self._locked:
            return
        check = self.password_check
        if check is None:
            self.unlock()
            return
        if not password:
            self.screen.show_error("Enter your password to unlock.")
            return
        self.screen.set_checking(True)
        self.tasks.run(lambda: check.matches(password), self._on_checked,
                       lambda error: self.screen.show_error(f"Could not check it: {error}"),
                       description="unlock", owner=self.screen)

    def _on_checked(self, matches: bool) -> None:
        if matches:
            self.unlock()
        else:
            self.screen.show_error("That is not your password. Try again.")

    def unlock(self) -> None:
        if not self._locked:
            return
        self._locked = False
        self.screen.hide()
        self.screen.password.clear()
        self.screen.set_checking(False)
        for child in self._disabled:
            child.setEnabled(True)
        self._disabled = []
        for cover in self._covers:
            cover.hide()
            cover.deleteLater()
        self._covers = []
        if self._resized_target is not None:
            self._target.resize(self._resized_target)
            self._resized_target = None
        if self.screen.parentWidget() is not self.window:
            self.screen.setParent(self.window)
            self.screen.hide()
        lease_timer = getattr(self.window, "lease_timer", None)
        if lease_timer is not None and self._lease_timer_was_active:
            lease_timer.start()
        self.activity.user_activity()  # unlocking is input: the idle time starts again
        self.locked_changed.emit(False)

    # -- input -----------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        kind = event.type()
        if not self._locked:
            return False
        if kind == QEvent.Type.Shortcut:
            return not self._inside_screen(watched)
        if kind == QEvent.Type.Resize and watched is self._target:
            self.screen.setGeometry(self._target.rect())
        return False

    def _inside_screen(self, watched: QObject) -> bool:
        widget = watched if isinstance(watched, QWidget) else watched.parent()
        return isinstance(widget, QWidget) and (
            widget is self.screen or self.screen.isAncestorOf(widget))

    def detach(self) -> None:
        """Stop watching for idle time (the window has gone)."""
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)


def install_lock(window: LockableWindow, tasks: TaskRunner, *,
                 password_check: PasswordCheck | None, who: str,
                 lock_after: timedelta | None = None) -> LockController:
    """Lock ``window`` after ``lock_after`` (default: the ``security/lock_minutes`` setting)
    without input, as its wellness curtain measures it."""
    if lock_after is None:
        lock_after = timedelta(minutes=window.workstation.settings.get(SECURITY_LOCK_MINUTES))
    # The window is a QMainWindow (the main window).
    return LockController(window, tasks, window.wellness.curtain,  # type: ignore[arg-type]
                          password_check=password_check, lock_after=lock_after, who=who)
