"""The renditions of the viewer's current item, made in the background.

The blurred view is asked for when an item comes on screen, and again once a resize has
settled; the sharp one only for a reveal. Each request carries a token: a rendition that a
newer request (or a drop) has superseded is never delivered, so a sharp picture made for a
reveal that has ended meanwhile is dropped unseen.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

from reviewer.media.errors import MediaError
from reviewer.media.render import Renderer, RenditionSettings
from reviewer.media.video import VideoLimits
from reviewer.media.video_worker import frame_picture_bounded
from ui.viewer.canvas import MediaCanvas
from ui.viewer.video_player import is_video
from ui.widgets.images import pil_to_qimage
from ui.widgets.tasks import TaskRunner

if TYPE_CHECKING:
    from reviewer.store.models import MediaItem

MediaSource = Callable[[str], bytes | None]

# A resize re-renders the blurred view once the size has settled and changed by this much.
RERENDER_AFTER_MS = 200
RERENDER_CHANGE = 0.15
# A sharp rendition is made for the zoomed view, up to this many times the fitted size.
MAX_SHARP_SCALE = 4.0
MAX_SHARP_SIDE = 8192


class Renditions(QObject):
    """Asks the renderer for the current item's blurred and sharp renditions.

    What is current comes from the viewer (`current_item`, `settings`, and for a video the
    frame's time `position_s`); the results go to the `on_...` callables it sets.
    """

    def __init__(self, parent: QWidget, tasks: TaskRunner, renderer: Renderer,
                 media_source: MediaSource, canvas: MediaCanvas, *,
                 current_item: Callable[[], MediaItem | None],
                 settings: Callable[[], RenditionSettings],
                 position_s: Callable[[], float],
                 video_limits: Callable[[], VideoLimits]):
        super().__init__(parent)
        self._owner = parent
        self._tasks = tasks
        self._renderer = renderer
        self._media_source = media_source
        self._canvas = canvas
        self._current_item = current_item
        self._settings = settings
        self._position_s = position_s
        self._video_limits = video_limits
        self._tokens = itertools.count(1)
        self._blurred_token = 0
        self._sharp_token = 0
        self._rendered_view: tuple[int, int] | None = None
        self.on_blurred: Callable[[tuple[int, int], QImage], None] = _ignore
        self.on_blurred_failed: Callable[[BaseException], None] = _ignore
        self.on_sharp: Callable[[QImage], None] = _ignore
        self.on_sharp_failed: Callable[[BaseException], None] = _ignore
        self.on_resize_settled: Callable[[], None] = _ignore
        self._rerender = QTimer(self)
        self._rerender.setSingleShot(True)
        self._rerender.setInterval(RERENDER_AFTER_MS)
        self._rerender.timeout.connect(self._rerender_if_resized)

    def view_size(self) -> tuple[int, int]:
        """The size renditions are made for: the canvas, at least 320×240."""
        size = self._canvas.size()
        return max(size.width(), 320), max(size.height(), 240)

    def _at_s(self, item: MediaItem) -> float:
        return self._position_s() if is_video(item) else 0.0

    # -- blurred -----------------------------------------------------------------------------

    def request_blurred(self) -> None:
        item = self._current_item()
        if item is None:
            return
        token = self._blurred_token = next(self._tokens)
        view = self.view_size()
        settings = self._settings()
        at_s = self._at_s(item)
        self._tasks.run(
            lambda: self.render(item, view, settings, sharp=False, at_s=at_s),
            lambda image: self._deliver_blurred(token, view, image),
            lambda error: self._blurred_failed(token, error),
            description="blurred rendition",
            owner=self._owner,
        )

    def _deliver_blurred(self, token: int, view: tuple[int, int], image: QImage) -> None:
        if token != self._blurred_token or self._current_item() is None:
            return  # the reviewer moved on; this rendition is not wanted any more
        self._rendered_view = view
        self.on_blurred(view, image)

    def _blurred_failed(self, token: int, error: BaseException) -> None:
        if token == self._blurred_token:
            self.on_blurred_failed(error)

    def leave_item(self) -> None:
        """The item leaves the screen: renditions on their way are not wanted."""
        self._blurred_token = next(self._tokens)
        self._rendered_view = None
        self._rerender.stop()

    def canvas_resized(self) -> None:
        self._rerender.start()

    def _rerender_if_resized(self) -> None:
        """Blur strength follows the displayed size: re-render once a resize has settled."""
        if self._rendered_view is None or self._current_item() is None:
            return
        old, new = self._rendered_view, self.view_size()
        if any(abs(n - o) > RERENDER_CHANGE * o for n, o in zip(new, old, strict=True)):
            self.on_resize_settled()

    # -- sharp -------------------------------------------------------------------------------

    def request_sharp(self, *, replace: bool = False) -> None:
        """The sharp rendition for a reveal (`replace`: again, for a new frame or zoom)."""
        item = self._current_item()
        if item is None or (self._canvas.sharp is not None and not replace):
            return
        token = self._sharp_token = next(self._tokens)
        width, height = self.view_size()
        # Detail for the zoom and the screen's pixel density; the decode never enlarges.
        scale = min(MAX_SHARP_SCALE, self._canvas.zoom * self._canvas.devicePixelRatioF())
        view = (min(MAX_SHARP_SIDE, math.ceil(width * scale)),
                min(MAX_SHARP_SIDE, math.ceil(height * scale)))
        settings = self._settings()
        at_s = self._at_s(item)
        self._tasks.run(
            lambda: self.render(item, view, settings, sharp=True, at_s=at_s),
            lambda image: self._deliver_sharp(token, image),
            lambda error: self._sharp_failed(token, error),
            description="sharp rendition",
            owner=self._owner,
        )

    def drop_sharp(self) -> None:
        """A sharp rendition on its way is dropped unseen."""
        self._sharp_token = next(self._tokens)

    def _deliver_sharp(self, token: int, image: QImage) -> None:
        if token == self._sharp_token:
            self.on_sharp(image)

    def _sharp_failed(self, token: int, error: BaseException) -> None:
        if token == self._sharp_token:
            self.on_sharp_failed(error)

    # -- the work ----------------------------------------------------------------------------

    def render(self, item: MediaItem, view: tuple[int, int], settings: RenditionSettings,
               *, sharp: bool, at_s: float = 0.0) -> QImage:
        """Runs in a worker thread: the rendition as a QImage (no widget is touched).

        For a video, the frame at `at_s` (its first frame for a thumbnail).
        """
        data = self._media_source(item.content_hash)
        if data is None:
            raise MediaError("the media has not been downloaded to this workstation yet")
        if is_video(item):
            _time, picture = frame_picture_bounded(data, at_s, view, settings, sharp=sharp,
                                                   limits=self._video_limits())
        elif sharp:
            picture = self._renderer.sharp(data, item.content_hash, view, settings, cache=False)
        else:
            picture = self._renderer.blurred(data, item.content_hash, view, settings)
        return pil_to_qimage(picture)


def _ignore(*_args: object) -> None:
    pass
