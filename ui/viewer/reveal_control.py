"""Revealing the viewer's media, and accounting for it in the exposure ledger.

A reveal (held, toggled, or the lens) shows the sharp rendition over the blurred one; it
ends after the reveal timeout, when the item changes, when the window leaves, and at once
on the panic key, which also covers all media until the reviewer uncovers it. The ledger
hears when an item's blurred view comes on screen and leaves, and the share of it shown
sharp for as long as it is shown.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QWidget

from reviewer.clock import Clock
from reviewer.media.errors import MediaError
from reviewer.media.reveal import RevealMode, RevealTimer
from reviewer.wellness.exposure import ExposureLedger
from ui.viewer.canvas import MediaCanvas
from ui.viewer.rendering import Renditions
from ui.viewer.thumbnails import ThumbnailStrip

STATUS_BLURRED = "Blurred — hold Space to reveal, click to toggle, L for lens"
STATUS_REVEALING = "Revealing…"
STATUS_REVEALED = "Revealed — re-blurs in {seconds} s (Esc)"
STATUS_LENS = "Lens — re-blurs in {seconds} s (L to end, Esc)"
STATUS_COVERED = "Covered — click the media or press Enter to show it blurred"
STATUS_UNBLURRED = "Not blurred: media in this policy area is shown as it is"

# How often a running reveal checks its deadline: well inside the 100 ms re-blur promise.
REVEAL_TICK_MS = 50


class RevealControl(QObject):
    """The reveal modes, their timeout, the curtain (Esc), the status line over the media,
    and what the exposure ledger hears of them.

    `viewer` is the media viewer widget (its window and focus decide); `blurs` says whether
    the current case's media is blurred at all; `on_covered` hears the curtain go up or down.
    """

    def __init__(self, viewer: QWidget, canvas: MediaCanvas, renditions: Renditions,
                 thumbnails: ThumbnailStrip, status: QLabel, ledger: ExposureLedger,
                 clock: Clock, timeout_s: float, *, blurs: Callable[[], bool],
                 on_covered: Callable[[bool], None]):
        super().__init__(viewer)
        self._viewer = viewer
        self._canvas = canvas
        self._renditions = renditions
        self._thumbnails = thumbnails
        self._status = status
        self.ledger = ledger
        self._clock = clock
        self._blurs = blurs
        self._on_covered = on_covered
        self.gate: Callable[[], bool] | None = None
        self._timer = RevealTimer(clock, timeout_s)
        self._mode: RevealMode | None = None
        self._reported = 0.0
        self._covered = False
        self._on_screen = False  # the current item's blurred rendition is on screen
        self._tick = QTimer(self)
        self._tick.setInterval(REVEAL_TICK_MS)
        self._tick.timeout.connect(self.check_timeout)
        renditions.on_sharp = self._on_sharp
        renditions.on_sharp_failed = self._on_sharp_failed

    @property
    def mode(self) -> RevealMode | None:
        return self._mode

    @property
    def covered(self) -> bool:
        return self._covered

    @property
    def on_screen(self) -> bool:
        """Whether the current item's blurred rendition is on screen."""
        return self._on_screen

    def set_timeout(self, timeout_s: float) -> None:
        self._timer = RevealTimer(self._clock, timeout_s)

    # -- the item on screen ------------------------------------------------------------------

    def item_on_screen(self, item_id: str, area_code: str, graphic: bool) -> None:
        """The item's blurred view is on screen for the first time."""
        self._on_screen = True
        self._report_window_state()
        self.ledger.item_shown(item_id, area_code, graphic)

    def item_left(self) -> None:
        """The current item leaves the screen (it is blurred already)."""
        if self._on_screen:
            self._on_screen = False
            self.ledger.item_hidden()

    # -- revealing ---------------------------------------------------------------------------

    def can_reveal(self) -> bool:
        """Only a blurred item on screen, uncovered, in the reviewer's active window."""
        return (self._on_screen and self._canvas.image is not None and not self._covered
                and self._blurs() and self._viewer.window().isActiveWindow())

    def begin_hold(self) -> None:
        """Space pressed: reveal while it is held."""
        if self._mode is not RevealMode.HOLD:
            self._start(RevealMode.HOLD)

    def end_hold(self) -> None:
        """Space released: a held reveal ends."""
        if self._mode is RevealMode.HOLD:
            self.reblur()

    def toggle_reveal(self) -> None:
        if self._mode is RevealMode.TOGGLE:
            self.reblur()
        else:
            self._start(RevealMode.TOGGLE)

    def toggle_lens(self) -> None:
        if self._mode is RevealMode.LENS:
            self.reblur()
        else:
            self._start(RevealMode.LENS)

    def reblur(self) -> None:
        """Blur again at once: the sharp rendition is dropped and the canvas repainted."""
        self._renditions.drop_sharp()
        self._timer.stop()
        self._tick.stop()
        was_revealing = self._mode is not None or self._canvas.sharp is not None
        self._mode = None
        if was_revealing:
            self._canvas.set_reveal(None)
            self._canvas.set_sharp(None)
        self.report_reveal()
        self.update_status()

    def check_timeout(self) -> None:
        """Re-blur once the reveal has lasted its time (by the injected clock)."""
        if self._mode is None:
            self._tick.stop()
            return
        if self._timer.expired():
            self.reblur()
        else:
            self.update_status()

    def remaining_s(self) -> float:
        return self._timer.remaining_s()

    def refresh_sharp(self) -> None:
        """A new frame of the item is shown: its sharp picture too, if revealed (the old one
        stays until the new one is ready)."""
        if self._mode is not None:
            self._renditions.request_sharp(replace=True)

    def show_sharp_frame(self, sharp: QImage) -> None:
        """A playback frame's sharp picture: shown only while a reveal is on."""
        if self._mode is not None and not self._covered:
            revealing = self._canvas.sharp is None
            self._canvas.set_sharp(sharp)
            if revealing:
                self.report_reveal()
                self.update_status()

    def _start(self, mode: RevealMode) -> None:
        if not self.can_reveal():
            return
        # The wellness controller may ask for a reason first (daily budget used up).
        if self.gate is not None and not self.gate():
            return
        self._mode = mode
        self._timer.start()
        self._tick.start()
        self._canvas.set_reveal(mode)
        self._renditions.request_sharp()
        self.report_reveal()
        self.update_status()

    def _on_sharp(self, image: QImage) -> None:
        if self._mode is None:
            return  # blurred again meanwhile: the sharp picture is dropped unseen
        self._canvas.set_sharp(image)
        self.report_reveal()
        self.update_status()

    def _on_sharp_failed(self, error: BaseException) -> None:
        self.reblur()
        reason = error.reason if isinstance(error, MediaError) else "an unexpected error"
        self._status.setText(f"Could not reveal: {reason}")

    # -- the curtain -------------------------------------------------------------------------

    def panic(self) -> None:
        """Esc: blur at once and cover every piece of media in the window."""
        self.reblur()
        if self._covered:
            return
        self._covered = True
        self._canvas.set_covered(True)
        self._thumbnails.cover()
        self.ledger.curtain_changed(True)
        self.update_status()
        self._on_covered(True)

    def uncover(self) -> None:
        """The reviewer's deliberate action after a panic: show the blurred media again."""
        if not self._covered:
            return
        self._covered = False
        self._canvas.set_covered(False)
        self._thumbnails.uncover()
        self.ledger.curtain_changed(False)
        self.update_status()
        self._on_covered(False)

    # -- the window --------------------------------------------------------------------------

    def window_state_changed(self, visible: bool, focused: bool) -> None:
        """The window was minimised, hidden or lost focus (or came back): re-blur if it left."""
        if not (visible and focused):
            self.reblur()
        self.ledger.window_state_changed(visible=visible, focused=focused)

    def focus_moved_to(self, widget: QWidget) -> None:
        """A held reveal ends when the focus leaves the viewer (its Space release is lost)."""
        if self._mode is RevealMode.HOLD and widget is not self._viewer \
                and not self._viewer.isAncestorOf(widget):
            self.reblur()

    def _report_window_state(self) -> None:
        window = self._viewer.window()
        self.ledger.window_state_changed(
            visible=window.isVisible() and not window.isMinimized(),
            focused=window.isActiveWindow(),
        )

    # -- accounting --------------------------------------------------------------------------

    def current_fraction(self) -> float:
        """The share of the visible item shown sharp right now, as reported to the ledger."""
        if self._mode is None or self._canvas.sharp is None or self._covered \
                or not self._on_screen:
            return 0.0
        if self._mode.full:
            return 1.0
        return self._canvas.lens_fraction()

    def report_reveal(self) -> None:
        fraction = self.current_fraction()
        if fraction == self._reported or (
            fraction > 0.0 and self._reported > 0.0 and abs(fraction - self._reported) < 1e-4
        ):
            return
        self._reported = fraction
        self.ledger.reveal_changed(fraction)

    def update_status(self) -> None:
        """The line over the media: blurred, revealing, revealed for how long, covered."""
        if self._canvas.image is None:
            self._status.hide()
            return
        if self._covered:
            text = STATUS_COVERED
        elif not self._blurs():
            text = STATUS_UNBLURRED
        elif self._mode is None:
            text = STATUS_BLURRED
        elif self._canvas.sharp is None:
            text = STATUS_REVEALING
        else:
            seconds = max(1, math.ceil(self._timer.remaining_s()))
            template = STATUS_LENS if self._mode is RevealMode.LENS else STATUS_REVEALED
            text = template.format(seconds=seconds)
        if self._status.text() != text:
            self._status.setText(text)
        self._status.show()
