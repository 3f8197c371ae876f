"""The media viewer: the case's text and its media, blurred until the reviewer reveals it.

The viewer only ever holds an item's blurred rendition until a reveal: a new item shows as
an empty card until that rendition is ready, so the first frame painted is blurred. The
sharp rendition is asked for only when the reviewer reveals, and dropped when the item is
blurred again. Every reveal is reported to the wellness ledger as the share of the item
uncovered, for as long as it is uncovered.

Keys, while the media (or another part of the viewer) has the keyboard focus — so that they
never fire while typing, e.g. in the rationale box:

    Space (hold)   reveal while held              click    reveal / blur again
    L              lens on / off: a circle around the pointer is revealed
    + / - / 0      zoom in / out / fit            Ctrl+wheel zoom, drag to pan
    Enter          uncover after Esc

Esc, anywhere in the window, is the panic key: it blurs at once and covers all media in the
window, thumbnails too, until the reviewer uncovers it (click the media, or Enter). A reveal
also ends after `ViewerSettings.reveal_timeout_s`, when the item changes, and when the
window loses focus or is minimised. Animated images show their first frame and never play.
Videos (`ui.viewer.video_player`) show the same way, frame by frame, with a storyboard below.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent
from PySide6.QtWidgets import QApplication, QGridLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from reviewer.clock import Clock, SystemClock
from reviewer.media.errors import MediaError
from reviewer.media.render import Renderer, RenditionSettings
from reviewer.media.reveal import RevealMode
from reviewer.policy.taxonomy import Taxonomy
from reviewer.vocabulary import Channel, Surface
from reviewer.wellness.exposure import ExposureLedger
from ui.viewer.canvas import MediaCanvas
from ui.viewer.rendering import MediaSource, Renditions
from ui.viewer.reveal_control import (
    STATUS_BLURRED,
    STATUS_COVERED,
    STATUS_LENS,
    STATUS_REVEALED,
    STATUS_REVEALING,
    STATUS_UNBLURRED,
    RevealControl,
)
from ui.viewer.settings_dialog import ViewerSettings
from ui.viewer.thumbnails import ThumbnailStrip
from ui.viewer.video_player import VideoPlayer, is_video
from ui.viewer.view_controls import ViewControls
from ui.viewer.viewer_input import ViewerKeys, WindowWatch
from ui.widgets.tasks import TaskRunner

if TYPE_CHECKING:
    from reviewer.store.models import Case, MediaItem

# The status lines are named from here by the viewer's callers and tests.
__all__ = [
    "STATUS_BLURRED", "STATUS_COVERED", "STATUS_LENS", "STATUS_REVEALED", "STATUS_REVEALING",
    "STATUS_UNBLURRED", "MediaCanvas", "MediaSource", "MediaViewer",
]


class MediaViewer(QWidget):
    """The case text above, the media in the middle, a strip of blurred thumbnails below.

    It composes the parts, each with one job: the canvas (`ui.viewer.canvas`), the
    renditions (`ui.viewer.rendering`), the reveal and its accounting
    (`ui.viewer.reveal_control`), the keys (`ui.viewer.viewer_input`), the zoom and blur
    controls (`ui.viewer.view_controls`), the thumbnails (`ui.viewer.thumbnails`) and the
    video player (`ui.viewer.video_player`).
    """

    media_shown = Signal(str)  # content hash of the item now on screen (blurred)
    covered_changed = Signal(bool)  # the curtain over all media went up (True) or down

    def __init__(self, tasks: TaskRunner, renderer: Renderer, media_source: MediaSource,
                 settings: QSettings | ViewerSettings | RenditionSettings | None = None,
                 parent: QWidget | None = None, *, taxonomy: Taxonomy | None = None,
                 ledger: ExposureLedger | None = None, clock: Clock | None = None):
        super().__init__(parent)
        self._store, self.settings = _resolve_settings(settings)
        self._taxonomy = taxonomy
        clock = clock or SystemClock()
        self._case_id: uuid.UUID | None = None
        self._items: list[MediaItem] = []
        self._index: int | None = None
        self._area_code = ""
        self._graphic = True
        self._blur_preset = "standard"

        self.title = QLabel()
        self.title.setObjectName("caseTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.details = QLabel()
        self.details.setObjectName("caseDetails")
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.canvas = MediaCanvas()
        self.canvas.lens_radius_fraction = self.settings.lens_radius_fraction
        self.status = QLabel()
        self.status.setObjectName("mediaStatus")
        self.status.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.status.setStyleSheet(
            "QLabel#mediaStatus { background: rgba(13, 17, 23, 200); color: #e6edf3;"
            " padding: 3px 8px; margin: 8px; border-radius: 4px; }"
        )
        stage = QWidget()
        stage_layout = QGridLayout(stage)
        stage_layout.setContentsMargins(0, 0, 0, 0)
        stage_layout.addWidget(self.canvas, 0, 0)
        # The status floats over the canvas (a sibling, so a grab of the canvas is media only).
        stage_layout.addWidget(self.status, 0, 0,
                               Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        stage_layout.setAlignment(self.status, Qt.AlignmentFlag.AlignLeft
                                  | Qt.AlignmentFlag.AlignTop)
        self.status.raise_()

        self.controls = ViewControls(self.canvas, lambda: self.settings, self.apply_settings)
        self.blur_slider = self.controls.blur_slider
        self.blur_value = self.controls.blur_value
        self.grayscale_box = self.controls.grayscale_box
        self.zoom_out_button = self.controls.zoom_out_button
        self.fit_button = self.controls.fit_button
        self.zoom_in_button = self.controls.zoom_in_button
        self.renditions = Renditions(
            self, tasks, renderer, media_source, self.canvas,
            current_item=lambda: self.current_item,
            settings=lambda: self.rendition_settings,
            position_s=lambda: self.video.position_s,
            video_limits=lambda: self.video.limits)
        self.thumbnail_strip = ThumbnailStrip(
            tasks, lambda item, view, settings: self.renditions.render(
                item, view, settings, sharp=False),
            self.show_item, owner=self)
        self.reveal = RevealControl(
            self, self.canvas, self.renditions, self.thumbnail_strip, self.status,
            ledger if ledger is not None else ExposureLedger(clock), clock,
            self.settings.reveal_timeout_s,
            blurs=lambda: self.rendition_settings.blurs, on_covered=self.covered_changed.emit)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.title)
        layout.addWidget(self.details)
        layout.addWidget(stage, 1)
        layout.addWidget(self.controls)
        self.video = VideoPlayer(self, tasks, media_source)
        layout.addWidget(self.video)
        layout.addWidget(self.thumbnail_strip)
        self._keys = ViewerKeys(self.reveal, self.canvas, self.video)

        self.renditions.on_blurred = self._on_blurred
        self.renditions.on_blurred_failed = self._on_failed
        self.renditions.on_resize_settled = self.renditions.request_blurred
        self.canvas.on_clicked = self._on_canvas_clicked
        self.canvas.on_pointer_moved = self.reveal.report_reveal
        self.canvas.on_view_changed = self.reveal.report_reveal
        self.canvas.on_resized = self.renditions.canvas_resized
        app = QApplication.instance()
        self._watch = WindowWatch(self, self.reveal)
        if app is not None:
            app.installEventFilter(self._watch)
        self.clear()

    @property
    def ledger(self) -> ExposureLedger:
        """Where exposure is accounted: items shown, reveals, sound, playback."""
        return self.reveal.ledger

    # -- what is shown ---------------------------------------------------------------------

    def clear(self, message: str = "Select a case to review") -> None:
        self._leave_item()
        self._case_id = None
        self._items = []
        self._index = None
        self.title.setText("No case selected")
        self.details.setText("")
        self.canvas.show_message(message)
        self.thumbnail_strip.rebuild(self._items, self._index)
        self.reveal.update_status()

    def show_case(self, case: Case, items: list[MediaItem]) -> None:
        self._leave_item()
        self._case_id = case.id
        self._items = list(items)
        self._index = None
        self._area_code, self._graphic, self._blur_preset = self._area_of(case)
        self.title.setText(
            f"{case.external_ref}  ·  {_label(Channel, case.channel)}  ·  "
            f"{_label(Surface, case.surface)}  ·  {case.language.upper()}-{case.region}"
        )
        note = f"\nReporter: {case.reporter_note}" if case.reporter_note else ""
        self.details.setText(f"{case.reported_text}{note}")
        self.thumbnail_strip.rebuild(self._items, self._index)
        if self._items:
            self.show_item(0)  # the main view is asked for before the thumbnails
            self.thumbnail_strip.request(self._items, self.rendition_settings)
        else:
            self.canvas.show_message("This case has no media.")
            self.reveal.update_status()

    def show_item(self, index: int) -> None:
        if not 0 <= index < len(self._items) or self._case_id is None:
            return
        self._leave_item()
        self._index = index
        if is_video(self.current_item):
            self.video.set_item(self.current_item)
        # Nothing of the new item is on screen until its blurred rendition is ready.
        self.canvas.show_message("Preparing a blurred view…")
        self.renditions.request_blurred()
        self.thumbnail_strip.set_current(index)
        self.reveal.update_status()

    @property
    def rendition_settings(self) -> RenditionSettings:
        """How the current case's media is rendered: the reviewer's settings, area preset."""
        return self.settings.rendition_for(self._blur_preset)

    @property
    def current_item(self) -> MediaItem | None:
        return self._items[self._index] if self._index is not None else None

    def thumbnails(self) -> list[QToolButton]:
        """The thumbnail buttons of the current case, in order."""
        return self.thumbnail_strip.buttons()

    def _area_of(self, case: Case) -> tuple[str, bool, str]:
        """The case's policy area code, whether it is graphic, and its blur preset."""
        code = str(getattr(case, "policy_area", "") or "")
        if self._taxonomy is not None and code:
            try:
                area = self._taxonomy.area(code)
            except KeyError:
                pass
            else:
                return area.code, area.graphic, str(area.blur_preset)
        # Unknown area: treat as graphic, with the reviewer's own blur.
        return code, True, "standard"

    def _leave_item(self) -> None:
        """The current item leaves the screen: blur, drop its pictures, tell the ledger."""
        self.reveal.reblur()
        self.video.leave()
        self.renditions.leave_item()
        self.reveal.item_left()

    def _on_blurred(self, view: tuple[int, int], image: QImage) -> None:
        item = self.current_item
        assert item is not None  # the renditions deliver for the current item only
        self.canvas.show_image(image)
        if not self.reveal.on_screen:
            self.reveal.item_on_screen(str(item.id), self._area_code, self._graphic)
            self.media_shown.emit(item.content_hash)
        self.reveal.update_status()

    def _on_failed(self, error: BaseException) -> None:
        if self.canvas.image is not None:
            return  # a re-render after a resize failed; the blurred view already shown stays
        reason = error.reason if isinstance(error, MediaError) else "an unexpected error"
        self.canvas.show_message(f"This media could not be shown: {reason}.")
        self.reveal.update_status()

    def view_size(self) -> tuple[int, int]:
        """The size renditions are made for: the canvas, at least 320×240."""
        return self.renditions.view_size()

    def show_video_frame(self, blurred: QImage, sharp: QImage | None) -> None:
        """A playback frame: shown blurred; its sharp picture only while a reveal is on."""
        if self.current_item is None or not self.reveal.on_screen:
            return
        self.canvas.show_image(blurred)
        if sharp is not None:
            self.reveal.show_sharp_frame(sharp)

    def refresh_video_frame(self) -> None:
        """The video's position changed while paused: show the frame there (and its sharp
        picture, if revealed)."""
        if self.current_item is None:
            return
        self.renditions.request_blurred()
        self.reveal.refresh_sharp()

    # -- revealing (`ui.viewer.reveal_control`) --------------------------------------------

    @property
    def reveal_mode(self) -> RevealMode | None:
        return self.reveal.mode

    @property
    def covered(self) -> bool:
        return self.reveal.covered

    @property
    def reveal_gate(self) -> Callable[[], bool] | None:
        """Asked before a reveal starts (the wellness controller's daily budget)."""
        return self.reveal.gate

    @reveal_gate.setter
    def reveal_gate(self, gate: Callable[[], bool] | None) -> None:
        self.reveal.gate = gate

    def can_reveal(self) -> bool:
        return self.reveal.can_reveal()

    def begin_hold(self) -> None:
        self.reveal.begin_hold()

    def end_hold(self) -> None:
        self.reveal.end_hold()

    def toggle_reveal(self) -> None:
        self.reveal.toggle_reveal()

    def toggle_lens(self) -> None:
        self.reveal.toggle_lens()

    def reblur(self) -> None:
        """End any reveal now."""
        self.reveal.reblur()

    def panic(self) -> None:
        """Esc: blur at once and cover every piece of media in the window."""
        self.reveal.panic()

    def uncover(self) -> None:
        """The reviewer's deliberate action after a panic: show the blurred media again."""
        self.reveal.uncover()

    def window_state_changed(self, visible: bool, focused: bool) -> None:
        self.reveal.window_state_changed(visible, focused)

    def focus_moved_to(self, widget: QWidget) -> None:
        self.reveal.focus_moved_to(widget)

    def check_reveal_timeout(self) -> None:
        self.reveal.check_timeout()

    def reveal_remaining_s(self) -> float:
        return self.reveal.remaining_s()

    def current_reveal_fraction(self) -> float:
        """The share of the visible item shown sharp right now, as reported to the ledger."""
        return self.reveal.current_fraction()

    # -- input (`ui.viewer.viewer_input`) --------------------------------------------------

    def _on_canvas_clicked(self) -> None:
        if self.reveal.covered:
            self.reveal.uncover()
        else:
            self.reveal.toggle_reveal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # Qt override
        if self._keys.press(event):
            event.accept()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # Qt override
        if self._keys.release(event):
            event.accept()
        else:
            super().keyReleaseEvent(event)

    # -- settings --------------------------------------------------------------------------

    def apply_settings(self, settings: ViewerSettings) -> None:
        """Use (and store) new settings: the media is blurred again and re-rendered."""
        if settings == self.settings:
            return
        self.reveal.reblur()
        self.settings = settings
        if self._store is not None:
            settings.save(self._store)
        self.reveal.set_timeout(settings.reveal_timeout_s)
        self.canvas.lens_radius_fraction = settings.lens_radius_fraction
        self.controls.show_settings()
        if self.current_item is not None and self.reveal.on_screen:
            self.renditions.request_blurred()
        self.video.settings_changed()
        self.thumbnail_strip.request(self._items, self.rendition_settings)
        self.reveal.update_status()


def _resolve_settings(
    settings: QSettings | ViewerSettings | RenditionSettings | None,
) -> tuple[QSettings | None, ViewerSettings]:
    """The store to keep changes in (if any) and the settings to start with."""
    if isinstance(settings, QSettings):
        return settings, ViewerSettings.load(settings)
    if isinstance(settings, ViewerSettings):
        return None, settings
    if isinstance(settings, RenditionSettings) and settings.blurs:
        return None, ViewerSettings(blur_fraction=settings.blur_fraction,
                                    grayscale=settings.grayscale)
    return None, ViewerSettings()


def _label(enum: type, value: str) -> str:
    try:
        return enum(value).label
    except ValueError:
        return value
