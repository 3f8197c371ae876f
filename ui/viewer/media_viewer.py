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

import itertools
import math
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import (
    QEvent,
    QObject,
    QPointF,
    QRectF,
    QSettings,
    QSignalBlocker,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QIcon,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.clock import Clock, SystemClock
from reviewer.media.errors import MediaError
from reviewer.media.render import Renderer, RenditionSettings
from reviewer.media.reveal import Box, RevealMode, RevealTimer, lens_fraction
from reviewer.media.video_worker import frame_picture_bounded
from reviewer.policy.taxonomy import Taxonomy
from reviewer.vocabulary import Channel, Surface
from reviewer.wellness.exposure import ExposureLedger
from ui.viewer.settings_dialog import ViewerSettings
from ui.viewer.video_player import VideoPlayer, is_video
from ui.widgets.images import pil_to_qimage
from ui.widgets.tasks import TaskRunner

if TYPE_CHECKING:
    from reviewer.store.models import Case, MediaItem

THUMBNAIL = QSize(112, 84)
MediaSource = Callable[[str], bytes | None]

STATUS_BLURRED = "Blurred — hold Space to reveal, click to toggle, L for lens"
STATUS_REVEALING = "Revealing…"
STATUS_REVEALED = "Revealed — re-blurs in {seconds} s (Esc)"
STATUS_LENS = "Lens — re-blurs in {seconds} s (L to end, Esc)"
STATUS_COVERED = "Covered — click the media or press Enter to show it blurred"
STATUS_UNBLURRED = "Not blurred: media in this policy area is shown as it is"

MAX_ZOOM = 8.0
ZOOM_STEP = 1.25
# How often a running reveal checks its deadline: well inside the 100 ms re-blur promise.
REVEAL_TICK_MS = 50
# A resize re-renders the blurred view once the size has settled and changed by this much.
RERENDER_AFTER_MS = 200
RERENDER_CHANGE = 0.15
# A sharp rendition is made for the zoomed view, up to this many times the fitted size.
MAX_SHARP_SCALE = 4.0
MAX_SHARP_SIDE = 8192


class MediaCanvas(QWidget):
    """Paints one item: its blurred rendition, and the sharp one only where revealed.

    The canvas is a view: it zooms, pans and reports clicks and the pointer; what to reveal
    is decided by `MediaViewer`, which sets the `on_...` callbacks. They are plain callables,
    not signals, because they fire on every mouse move: PySide6 6.12's `SignalInstance.emit`
    drops a reference to `True` on each call, which ends the process after a few thousand.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAccessibleName("Media")
        self._image: QImage | None = None
        self._sharp: QImage | None = None
        self._reveal: RevealMode | None = None
        self._covered = False
        self._message = "Select a case to review"
        self._zoom = 1.0
        self._pan = QPointF(0.0, 0.0)
        self._pointer: QPointF | None = None
        self._press: QPointF | None = None
        self._dragging = False
        self.lens_radius_fraction = 0.12
        self.on_clicked: Callable[[], None] = _nothing
        self.on_pointer_moved: Callable[[], None] = _nothing  # the lens moves with it
        self.on_view_changed: Callable[[], None] = _nothing  # zoom or pan changed
        self.on_resized: Callable[[], None] = _nothing

    # -- what is shown ---------------------------------------------------------------------

    def show_message(self, text: str) -> None:
        """Drop every picture of the item and show `text` instead."""
        had_sharp = self._sharp is not None
        self._image = None
        self._sharp = None
        self._message = text
        self.fit()
        self._refresh(now=had_sharp)

    def show_image(self, image: QImage) -> None:
        """Show a blurred rendition (a new item, or the same one re-rendered)."""
        self._image = image
        self._message = ""
        self._clamp_pan()
        self.update()

    def set_sharp(self, image: QImage | None) -> None:
        had_sharp = self._sharp is not None
        self._sharp = image
        self._refresh(now=had_sharp and image is None)

    def set_reveal(self, mode: RevealMode | None) -> None:
        self._reveal = mode
        self.setCursor(Qt.CursorShape.CrossCursor if mode is RevealMode.LENS
                       else Qt.CursorShape.ArrowCursor)
        self.update()

    def set_covered(self, covered: bool) -> None:
        self._covered = covered
        self._refresh(now=covered)

    def _refresh(self, *, now: bool) -> None:
        """Repaint; at once (not at the next turn of the event loop) when hiding pixels."""
        if now and self.isVisible():
            self.repaint()
        else:
            self.update()

    @property
    def image(self) -> QImage | None:
        """The blurred rendition held for the current item, if it is ready."""
        return self._image

    @property
    def sharp(self) -> QImage | None:
        """The sharp rendition, held only while a reveal is under way."""
        return self._sharp

    @property
    def message(self) -> str:
        return self._message

    @property
    def covered(self) -> bool:
        return self._covered

    @property
    def zoom(self) -> float:
        return self._zoom

    @property
    def pointer(self) -> QPointF | None:
        return self._pointer

    # -- geometry --------------------------------------------------------------------------

    def image_rect(self) -> QRectF:
        """Where the whole picture is drawn: fitted to the canvas, then zoomed and panned."""
        if self._image is None or self._image.isNull():
            return QRectF()
        fitted = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        width, height = fitted.width() * self._zoom, fitted.height() * self._zoom
        centre_x = self.width() / 2 + self._pan.x()
        centre_y = self.height() / 2 + self._pan.y()
        return QRectF(centre_x - width / 2, centre_y - height / 2, width, height)

    def visible_image_rect(self) -> QRectF:
        return self.image_rect().intersected(QRectF(self.rect()))

    def lens_radius(self) -> float:
        visible = self.visible_image_rect()
        return self.lens_radius_fraction * min(visible.width(), visible.height())

    def lens_fraction(self) -> float:
        """The share of the visible picture inside the lens at the pointer."""
        if self._image is None or self._pointer is None:
            return 0.0
        return lens_fraction((self._pointer.x(), self._pointer.y()), self.lens_radius(),
                             _box(self.image_rect()), _box(QRectF(self.rect())))

    # -- zoom and pan ----------------------------------------------------------------------

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by `factor` (1.0 = fitted, up to `MAX_ZOOM`), keeping `anchor` in place."""
        if self._image is None:
            return
        new_zoom = min(MAX_ZOOM, max(1.0, self._zoom * factor))
        if new_zoom == self._zoom:
            return
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        centre = QPointF(self.width() / 2, self.height() / 2) + self._pan
        centre = anchor - (anchor - centre) * (new_zoom / self._zoom)
        self._zoom = new_zoom
        self._pan = centre - QPointF(self.width() / 2, self.height() / 2)
        self._clamp_pan()
        self.update()
        self.on_view_changed()

    def fit(self) -> None:
        changed = self._zoom != 1.0 or not self._pan.isNull()
        self._zoom = 1.0
        self._pan = QPointF(0.0, 0.0)
        self.update()
        if changed:
            self.on_view_changed()

    def pan_by(self, dx: float, dy: float) -> None:
        self._pan += QPointF(dx, dy)
        self._clamp_pan()
        self.update()
        self.on_view_changed()

    def _clamp_pan(self) -> None:
        """Keep the zoomed picture over the canvas: no panning it out of sight."""
        rect = self.image_rect()
        if rect.isEmpty():
            self._pan = QPointF(0.0, 0.0)
            return
        spare_x = max(0.0, (rect.width() - self.width()) / 2)
        spare_y = max(0.0, (rect.height() - self.height()) / 2)
        self._pan = QPointF(min(spare_x, max(-spare_x, self._pan.x())),
                            min(spare_y, max(-spare_y, self._pan.y())))

    # -- Qt overrides ----------------------------------------------------------------------

    def paintEvent(self, event) -> None:  # Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#2b2f36"))
        if self._image is None or self._image.isNull():
            self._paint_text(painter, self._message)
        elif self._covered:
            self._paint_text(painter, "Media covered (Esc).\nClick here or press Enter to "
                                      "show it blurred again.")
        else:
            target = self.image_rect()
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, self._image)
            if self._sharp is not None and self._reveal is not None:
                if self._reveal.full:
                    painter.drawImage(target, self._sharp)
                elif self._pointer is not None and target.contains(self._pointer):
                    self._paint_lens(painter, target)
        painter.end()

    def _paint_text(self, painter: QPainter, text: str) -> None:
        painter.setPen(QColor("#c9d1d9"))
        painter.drawText(self.rect().adjusted(24, 24, -24, -24),
                         Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)

    def _paint_lens(self, painter: QPainter, target: QRectF) -> None:
        assert self._pointer is not None and self._sharp is not None
        radius = self.lens_radius()
        lens = QPainterPath()
        lens.addEllipse(self._pointer, radius, radius)
        painter.save()
        painter.setClipPath(lens)
        painter.drawImage(target, self._sharp)
        painter.restore()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(255, 255, 255, 140), 1.0))
        painter.drawEllipse(self._pointer, radius + 1.0, radius + 1.0)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position()
            self._dragging = False
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # Qt override
        position = event.position()
        if self._press is not None and event.buttons() & Qt.MouseButton.LeftButton:
            if not self._dragging and (position - self._press).manhattanLength() \
                    >= QApplication.startDragDistance():
                self._dragging = True
            if self._dragging:
                delta = position - self._press
                self._press = position
                self.pan_by(delta.x(), delta.y())
        self._pointer = position
        if self._reveal is RevealMode.LENS:
            self.update()
        self.on_pointer_moved()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # Qt override
        if event.button() == Qt.MouseButton.LeftButton and self._press is not None:
            was_click = not self._dragging
            self._press = None
            self._dragging = False
            if was_click:
                self.on_clicked()
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def leaveEvent(self, event) -> None:  # Qt override
        self._pointer = None
        if self._reveal is RevealMode.LENS:
            self._refresh(now=True)
        self.on_pointer_moved()
        super().leaveEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # Qt override
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and self._image is not None:
            steps = event.angleDelta().y() / 120
            if steps:
                self.zoom_by(ZOOM_STEP ** steps, event.position())
            event.accept()
        else:
            super().wheelEvent(event)

    def resizeEvent(self, event) -> None:  # Qt override
        self._clamp_pan()
        super().resizeEvent(event)
        self.on_resized()


class _WindowWatch(QObject):
    """Sees, application-wide, the events the viewer must react to wherever they happen.

    Esc anywhere in the viewer's window (dialogs and pop-ups included) is the panic key; a
    released Space ends a held reveal even if the focus moved meanwhile; the window being
    deactivated, minimised or hidden re-blurs. Events are observed, never consumed.
    """

    def __init__(self, viewer: MediaViewer):
        super().__init__(viewer)
        self._viewer = viewer

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        if not shiboken6.isValid(self._viewer):
            return False
        kind = event.type()
        if kind == QEvent.Type.FocusIn:
            if isinstance(watched, QWidget):
                self._viewer.focus_moved_to(watched)
        elif kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_Escape and self._in_window(watched):
                self._viewer.panic()
        elif kind == QEvent.Type.KeyRelease and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
                self._viewer.end_hold()
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
            self._viewer.window_state_changed(visible, focused)
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


class MediaViewer(QWidget):
    """The case text above, the media in the middle, a strip of blurred thumbnails below."""

    media_shown = Signal(str)  # content hash of the item now on screen (blurred)
    covered_changed = Signal(bool)  # the curtain over all media went up (True) or down

    def __init__(self, tasks: TaskRunner, renderer: Renderer, media_source: MediaSource,
                 settings: QSettings | ViewerSettings | RenditionSettings | None = None,
                 parent: QWidget | None = None, *, taxonomy: Taxonomy | None = None,
                 ledger: ExposureLedger | None = None, clock: Clock | None = None):
        super().__init__(parent)
        self._tasks = tasks
        self._renderer = renderer
        self._media_source = media_source
        self._store, self.settings = _resolve_settings(settings)
        self._taxonomy = taxonomy
        self._clock = clock or SystemClock()
        self.ledger = ledger if ledger is not None else ExposureLedger(self._clock)
        self.reveal_gate: Callable[[], bool] | None = None
        self._timer = RevealTimer(self._clock, self.settings.reveal_timeout_s)
        self._tokens = itertools.count(1)
        self._blurred_token = 0
        self._sharp_token = 0
        self._strip_generation = 0
        self._case_id: uuid.UUID | None = None
        self._items: list[MediaItem] = []
        self._index: int | None = None
        self._area_code = ""
        self._graphic = True
        self._blur_preset = "standard"
        self._on_screen = False  # the current item's blurred rendition is on screen
        self._rendered_view: tuple[int, int] | None = None
        self._mode: RevealMode | None = None
        self._reported = 0.0
        self._covered = False
        self._thumbnails_pixmaps: dict[int, QPixmap] = {}

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

        controls = self._build_controls()
        self.strip = QWidget()
        self.strip_layout = QHBoxLayout(self.strip)
        self.strip_layout.setContentsMargins(0, 0, 0, 0)
        self.strip_layout.addStretch(1)
        strip_scroll = QScrollArea()
        strip_scroll.setWidget(self.strip)
        strip_scroll.setWidgetResizable(True)
        strip_scroll.setFixedHeight(THUMBNAIL.height() + 24)
        strip_scroll.setFrameShape(QFrame.Shape.NoFrame)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.title)
        layout.addWidget(self.details)
        layout.addWidget(stage, 1)
        layout.addWidget(controls)
        self.video = VideoPlayer(self, tasks, media_source)
        layout.addWidget(self.video)
        layout.addWidget(strip_scroll)

        self._tick = QTimer(self)
        self._tick.setInterval(REVEAL_TICK_MS)
        self._tick.timeout.connect(self.check_reveal_timeout)
        self._rerender = QTimer(self)
        self._rerender.setSingleShot(True)
        self._rerender.setInterval(RERENDER_AFTER_MS)
        self._rerender.timeout.connect(self._rerender_if_resized)

        self.canvas.on_clicked = self._on_canvas_clicked
        self.canvas.on_pointer_moved = self._report_reveal
        self.canvas.on_view_changed = self._report_reveal
        self.canvas.on_resized = self._rerender.start
        app = QApplication.instance()
        self._watch = _WindowWatch(self)
        if app is not None:
            app.installEventFilter(self._watch)
        self.clear()

    def _build_controls(self) -> QWidget:
        controls = QWidget()
        row = QHBoxLayout(controls)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.zoom_out_button = _tool_button("−", "Zoom out (- or Ctrl+wheel)",
                                            lambda: self.canvas.zoom_by(1 / ZOOM_STEP))
        self.fit_button = _tool_button("Fit", "Fit to the view (0)", self.canvas.fit)
        self.zoom_in_button = _tool_button("+", "Zoom in (+ or Ctrl+wheel)",
                                           lambda: self.canvas.zoom_by(ZOOM_STEP))
        self.blur_slider = QSlider(Qt.Orientation.Horizontal)
        self.blur_slider.setRange(1, 6)
        self.blur_slider.setPageStep(1)
        self.blur_slider.setMinimumWidth(48)
        self.blur_slider.setMaximumWidth(110)
        self.blur_slider.setAccessibleName("Blur strength")
        self.blur_slider.setToolTip("Blur strength, as a share of the picture's shorter side")
        self.blur_value = QLabel()
        self.grayscale_box = QCheckBox("Greyscale")
        self.grayscale_box.setToolTip("Show media in greyscale")
        self._show_settings()
        self.blur_slider.valueChanged.connect(self._on_blur_slider)
        self.grayscale_box.toggled.connect(self._on_grayscale_toggled)
        for widget in (self.zoom_out_button, self.fit_button, self.zoom_in_button):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.blur_value)
        row.addWidget(self.blur_slider, 1)
        row.addWidget(self.grayscale_box)
        return controls

    # -- what is shown ---------------------------------------------------------------------

    def clear(self, message: str = "Select a case to review") -> None:
        self._leave_item()
        self._case_id = None
        self._items = []
        self._index = None
        self.title.setText("No case selected")
        self.details.setText("")
        self.canvas.show_message(message)
        self._rebuild_strip()
        self._update_status()

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
        self._rebuild_strip()
        if self._items:
            self.show_item(0)  # the main view is asked for before the thumbnails
            self._request_thumbnails()
        else:
            self.canvas.show_message("This case has no media.")
            self._update_status()

    def show_item(self, index: int) -> None:
        if not 0 <= index < len(self._items) or self._case_id is None:
            return
        self._leave_item()
        self._index = index
        if is_video(self.current_item):
            self.video.set_item(self.current_item)
        # Nothing of the new item is on screen until its blurred rendition is ready.
        self.canvas.show_message("Preparing a blurred view…")
        self._request_blurred()
        for position, button in enumerate(self.thumbnails()):
            button.setChecked(position == index)
        self._update_status()

    @property
    def rendition_settings(self) -> RenditionSettings:
        """How the current case's media is rendered: the reviewer's settings, area preset."""
        return self.settings.rendition_for(self._blur_preset)

    @property
    def current_item(self) -> MediaItem | None:
        return self._items[self._index] if self._index is not None else None

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
        self._end_reveal()
        self.video.leave()
        self._blurred_token = next(self._tokens)  # renditions on their way are not wanted
        self._rendered_view = None
        self._rerender.stop()
        if self._on_screen:
            self._on_screen = False
            self.ledger.item_hidden()

    # -- rendering -------------------------------------------------------------------------

    def _view_size(self) -> tuple[int, int]:
        size = self.canvas.size()
        return max(size.width(), 320), max(size.height(), 240)

    def view_size(self) -> tuple[int, int]:
        """The size renditions are made for: the canvas, at least 320×240."""
        return self._view_size()

    def _request_blurred(self) -> None:
        item = self.current_item
        if item is None:
            return
        token = self._blurred_token = next(self._tokens)
        view = self._view_size()
        settings = self.rendition_settings
        at_s = self.video.position_s if is_video(item) else 0.0
        self._tasks.run(
            lambda: self._render(item, view, settings, sharp=False, at_s=at_s),
            lambda image: self._on_blurred(token, view, image),
            lambda error: self._on_failed(token, error),
            description="blurred rendition",
            owner=self,
        )

    def _render(self, item: MediaItem, view: tuple[int, int], settings: RenditionSettings,
                *, sharp: bool, at_s: float = 0.0) -> QImage:
        """Runs in a worker thread: the rendition as a QImage (no widget is touched).

        For a video, the frame at `at_s` (its first frame for a thumbnail).
        """
        data = self._media_source(item.content_hash)
        if data is None:
            raise MediaError("the media has not been downloaded to this workstation yet")
        if is_video(item):
            _time, picture = frame_picture_bounded(data, at_s, view, settings, sharp=sharp,
                                                   limits=self.video.limits)
        elif sharp:
            picture = self._renderer.sharp(data, item.content_hash, view, settings, cache=False)
        else:
            picture = self._renderer.blurred(data, item.content_hash, view, settings)
        return pil_to_qimage(picture)

    def _on_blurred(self, token: int, view: tuple[int, int], image: QImage) -> None:
        if token != self._blurred_token or self.current_item is None:
            return  # the reviewer moved on; this rendition is not wanted any more
        self.canvas.show_image(image)
        self._rendered_view = view
        if not self._on_screen:
            self._on_screen = True
            self._report_window_state()
            self.ledger.item_shown(str(self.current_item.id), self._area_code, self._graphic)
            self.media_shown.emit(self.current_item.content_hash)
        self._update_status()

    def _on_failed(self, token: int, error: BaseException) -> None:
        if token != self._blurred_token:
            return
        if self.canvas.image is not None:
            return  # a re-render after a resize failed; the blurred view already shown stays
        reason = error.reason if isinstance(error, MediaError) else "an unexpected error"
        self.canvas.show_message(f"This media could not be shown: {reason}.")
        self._update_status()

    def _rerender_if_resized(self) -> None:
        """Blur strength follows the displayed size: re-render once a resize has settled."""
        if self._rendered_view is None or self.current_item is None:
            return
        old, new = self._rendered_view, self._view_size()
        if any(abs(n - o) > RERENDER_CHANGE * o for n, o in zip(new, old, strict=True)):
            self._request_blurred()

    def show_video_frame(self, blurred: QImage, sharp: QImage | None) -> None:
        """A playback frame: shown blurred; its sharp picture only while a reveal is on."""
        if self.current_item is None or not self._on_screen:
            return
        self.canvas.show_image(blurred)
        if sharp is not None and self._mode is not None and not self._covered:
            revealing = self.canvas.sharp is None
            self.canvas.set_sharp(sharp)
            if revealing:
                self._report_reveal()
                self._update_status()

    def refresh_video_frame(self) -> None:
        """The video's position changed while paused: show the frame there (and its sharp
        picture, if revealed)."""
        if self.current_item is None:
            return
        self._request_blurred()
        if self._mode is not None:
            self._request_sharp(replace=True)  # the old frame stays until the new one is ready

    # -- revealing -------------------------------------------------------------------------

    @property
    def reveal_mode(self) -> RevealMode | None:
        return self._mode

    @property
    def covered(self) -> bool:
        return self._covered

    def can_reveal(self) -> bool:
        """Only a blurred item on screen, uncovered, in the reviewer's active window."""
        return (self._on_screen and self.canvas.image is not None and not self._covered
                and self.rendition_settings.blurs and self.window().isActiveWindow())

    def begin_hold(self) -> None:
        """Space pressed: reveal while it is held."""
        if self._mode is not RevealMode.HOLD:
            self._start_reveal(RevealMode.HOLD)

    def end_hold(self) -> None:
        """Space released: a held reveal ends."""
        if self._mode is RevealMode.HOLD:
            self._end_reveal()

    def toggle_reveal(self) -> None:
        if self._mode is RevealMode.TOGGLE:
            self._end_reveal()
        else:
            self._start_reveal(RevealMode.TOGGLE)

    def toggle_lens(self) -> None:
        if self._mode is RevealMode.LENS:
            self._end_reveal()
        else:
            self._start_reveal(RevealMode.LENS)

    def reblur(self) -> None:
        """End any reveal now."""
        self._end_reveal()

    def panic(self) -> None:
        """Esc: blur at once and cover every piece of media in the window."""
        self._end_reveal()
        if self._covered:
            return
        self._covered = True
        self.canvas.set_covered(True)
        for button in self.thumbnails():
            button.setIcon(QIcon())
        self.ledger.curtain_changed(True)
        self._update_status()
        self.covered_changed.emit(True)

    def uncover(self) -> None:
        """The reviewer's deliberate action after a panic: show the blurred media again."""
        if not self._covered:
            return
        self._covered = False
        self.canvas.set_covered(False)
        for position, button in enumerate(self.thumbnails()):
            pixmap = self._thumbnails_pixmaps.get(position)
            if pixmap is not None:
                button.setIcon(QIcon(pixmap))
        self.ledger.curtain_changed(False)
        self._update_status()
        self.covered_changed.emit(False)

    def window_state_changed(self, visible: bool, focused: bool) -> None:
        """The window was minimised, hidden or lost focus (or came back): re-blur if it left."""
        if not (visible and focused):
            self._end_reveal()
        self.ledger.window_state_changed(visible=visible, focused=focused)

    def check_reveal_timeout(self) -> None:
        """Re-blur once the reveal has lasted its time (by the injected clock)."""
        if self._mode is None:
            self._tick.stop()
            return
        if self._timer.expired():
            self._end_reveal()
        else:
            self._update_status()

    def reveal_remaining_s(self) -> float:
        return self._timer.remaining_s()

    def _start_reveal(self, mode: RevealMode) -> None:
        if not self.can_reveal():
            return
        # The wellness controller may ask for a reason first (daily budget used up).
        if self.reveal_gate is not None and not self.reveal_gate():
            return
        self._mode = mode
        self._timer.start()
        self._tick.start()
        self.canvas.set_reveal(mode)
        self._request_sharp()
        self._report_reveal()
        self._update_status()

    def _end_reveal(self) -> None:
        """Blur again at once: the sharp rendition is dropped and the canvas repainted."""
        self._sharp_token = next(self._tokens)  # a sharp rendition on its way is dropped
        self._timer.stop()
        self._tick.stop()
        was_revealing = self._mode is not None or self.canvas.sharp is not None
        self._mode = None
        if was_revealing:
            self.canvas.set_reveal(None)
            self.canvas.set_sharp(None)
        self._report_reveal()
        self._update_status()

    def _request_sharp(self, *, replace: bool = False) -> None:
        item = self.current_item
        if item is None or (self.canvas.sharp is not None and not replace):
            return
        token = self._sharp_token = next(self._tokens)
        width, height = self._view_size()
        # Detail for the zoom and the screen's pixel density; the decode never enlarges.
        scale = min(MAX_SHARP_SCALE, self.canvas.zoom * self.canvas.devicePixelRatioF())
        view = (min(MAX_SHARP_SIDE, math.ceil(width * scale)),
                min(MAX_SHARP_SIDE, math.ceil(height * scale)))
        settings = self.rendition_settings
        at_s = self.video.position_s if is_video(item) else 0.0
        self._tasks.run(
            lambda: self._render(item, view, settings, sharp=True, at_s=at_s),
            lambda image: self._on_sharp(token, image),
            lambda error: self._on_sharp_failed(token, error),
            description="sharp rendition",
            owner=self,
        )

    def _on_sharp(self, token: int, image: QImage) -> None:
        if token != self._sharp_token or self._mode is None:
            return  # blurred again meanwhile: the sharp picture is dropped unseen
        self.canvas.set_sharp(image)
        self._report_reveal()
        self._update_status()

    def _on_sharp_failed(self, token: int, error: BaseException) -> None:
        if token != self._sharp_token:
            return
        self._end_reveal()
        reason = error.reason if isinstance(error, MediaError) else "an unexpected error"
        self.status.setText(f"Could not reveal: {reason}")

    def current_reveal_fraction(self) -> float:
        """The share of the visible item shown sharp right now, as reported to the ledger."""
        if self._mode is None or self.canvas.sharp is None or self._covered \
                or not self._on_screen:
            return 0.0
        if self._mode.full:
            return 1.0
        return self.canvas.lens_fraction()

    def _report_reveal(self) -> None:
        fraction = self.current_reveal_fraction()
        if fraction == self._reported or (
            fraction > 0.0 and self._reported > 0.0 and abs(fraction - self._reported) < 1e-4
        ):
            return
        self._reported = fraction
        self.ledger.reveal_changed(fraction)

    def _report_window_state(self) -> None:
        window = self.window()
        self.ledger.window_state_changed(
            visible=window.isVisible() and not window.isMinimized(),
            focused=window.isActiveWindow(),
        )

    def _update_status(self) -> None:
        if self.canvas.image is None:
            self.status.hide()
            return
        if self._covered:
            text = STATUS_COVERED
        elif not self.rendition_settings.blurs:
            text = STATUS_UNBLURRED
        elif self._mode is None:
            text = STATUS_BLURRED
        elif self.canvas.sharp is None:
            text = STATUS_REVEALING
        else:
            seconds = max(1, math.ceil(self._timer.remaining_s()))
            template = STATUS_LENS if self._mode is RevealMode.LENS else STATUS_REVEALED
            text = template.format(seconds=seconds)
        if self.status.text() != text:
            self.status.setText(text)
        self.status.show()

    # -- input -----------------------------------------------------------------------------

    def _on_canvas_clicked(self) -> None:
        if self._covered:
            self.uncover()
        else:
            self.toggle_reveal()

    def focus_moved_to(self, widget: QWidget) -> None:
        """A held reveal ends when the focus leaves the viewer (its Space release is lost)."""
        if self._mode is RevealMode.HOLD and widget is not self and not self.isAncestorOf(widget):
            self._end_reveal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # Qt override
        if self._handle_key(event):
            event.accept()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # Qt override
        if event.key() == Qt.Key.Key_Space and not _has_command_modifier(event):
            if not event.isAutoRepeat():
                self.end_hold()
            event.accept()
        else:
            super().keyReleaseEvent(event)

    def _handle_key(self, event: QKeyEvent) -> bool:
        """Keys that reach the viewer: only when it (or the canvas) has the focus."""
        if _has_command_modifier(event):
            return False
        if self.video.handle_key(event):
            return True
        key = event.key()
        if key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self.begin_hold()
        elif key == Qt.Key.Key_L:
            if not event.isAutoRepeat():
                self.toggle_lens()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.canvas.zoom_by(ZOOM_STEP)
        elif key == Qt.Key.Key_Minus:
            self.canvas.zoom_by(1 / ZOOM_STEP)
        elif key == Qt.Key.Key_0:
            self.canvas.fit()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._covered:
            self.uncover()
        else:
            return False
        return True

    # -- settings --------------------------------------------------------------------------

    def apply_settings(self, settings: ViewerSettings) -> None:
        """Use (and store) new settings: the media is blurred again and re-rendered."""
        if settings == self.settings:
            return
        self._end_reveal()
        self.settings = settings
        if self._store is not None:
            settings.save(self._store)
        self._timer = RevealTimer(self._clock, settings.reveal_timeout_s)
        self.canvas.lens_radius_fraction = settings.lens_radius_fraction
        self._show_settings()
        if self.current_item is not None and self._on_screen:
            self._request_blurred()
        self.video.settings_changed()
        self._request_thumbnails()
        self._update_status()

    def _show_settings(self) -> None:
        percent = round(self.settings.blur_fraction * 100)
        with QSignalBlocker(self.blur_slider), QSignalBlocker(self.grayscale_box):
            self.blur_slider.setValue(percent)
            self.grayscale_box.setChecked(self.settings.grayscale)
        self.blur_value.setText(f"Blur {percent} %")

    def _on_blur_slider(self, percent: int) -> None:
        self.apply_settings(self.settings.with_changes(blur_fraction=percent / 100))

    def _on_grayscale_toggled(self, on: bool) -> None:
        self.apply_settings(self.settings.with_changes(grayscale=on))

    # -- thumbnails ------------------------------------------------------------------------

    def thumbnails(self) -> list[QToolButton]:
        """The thumbnail buttons of the current case, in order."""
        return self.strip.findChildren(QToolButton)

    def _rebuild_strip(self) -> None:
        """One button per item of the case; their blurred icons come from `_request_thumbnails`."""
        for button in self.thumbnails():
            button.deleteLater()
            button.setParent(None)
        self._thumbnails_pixmaps.clear()
        self._strip_generation += 1
        for position, item in enumerate(self._items):
            button = QToolButton()
            button.setCheckable(True)
            button.setChecked(position == self._index)
            button.setIconSize(THUMBNAIL)
            size = f", {item.width}×{item.height}" if item.width and item.height else ""
            button.setToolTip(f"{item.mime_type}{size}")
            button.setAccessibleName(f"Media item {position + 1}")
            button.clicked.connect(lambda _=False, p=position: self.show_item(p))
            self.strip_layout.insertWidget(position, button)

    def _request_thumbnails(self) -> None:
        """Render every blurred thumbnail in one background task, after the main view's."""
        if not self._items:
            return
        self._strip_generation += 1
        generation = self._strip_generation
        settings = self.rendition_settings
        items = list(self._items)
        thumb = (THUMBNAIL.width(), THUMBNAIL.height())

        def render_all() -> list[QImage | None]:
            images: list[QImage | None] = []
            for item in items:
                try:
                    images.append(self._render(item, thumb, settings, sharp=False))
                except MediaError:
                    images.append(None)  # the main view says what is wrong with it
            return images

        self._tasks.run(render_all, lambda images: self._set_thumbnails(generation, images),
                        lambda error: None, description="thumbnails", owner=self)

    def _set_thumbnails(self, generation: int, images: list[QImage | None]) -> None:
        if generation != self._strip_generation:
            return
        for position, (button, image) in enumerate(zip(self.thumbnails(), images,
                                                       strict=False)):
            if image is None:
                continue
            pixmap = QPixmap.fromImage(image)
            self._thumbnails_pixmaps[position] = pixmap
            if not self._covered:
                button.setIcon(QIcon(pixmap))


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


def _nothing() -> None:
    pass


def _has_command_modifier(event: QKeyEvent) -> bool:
    return bool(event.modifiers() & (Qt.KeyboardModifier.ControlModifier
                                     | Qt.KeyboardModifier.AltModifier
                                     | Qt.KeyboardModifier.MetaModifier))


def _tool_button(text: str, tip: str, action: Callable[[], Any]) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setAccessibleName(tip.split(" (")[0])
    button.clicked.connect(lambda _=False: action())
    return button


def _box(rect: QRectF) -> Box:
    return Box(rect.x(), rect.y(), rect.width(), rect.height())


def _label(enum: type, value: str) -> str:
    try:
        return enum(value).label
    except ValueError:
        return value

