"""The video player's storyboard: a row of blurred frames across the video, built in a
bounded worker with progress, each a button that seeks there.

Its pictures are rendered with the viewer's current blur and greyscale (the same renditions
as the canvas), never sharp, and hidden while the viewer is covered (a break, the lock).
The strip sizes its pictures to fill the player's width in the video's shape, and builds
them again when blur settings change or the player's size settles at a different size.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollArea, QSpinBox, QToolButton, QWidget

from reviewer.media.errors import MediaError
from reviewer.media.storyboard import (
    DEFAULT_STORYBOARD_FRAMES,
    MAX_STORYBOARD_FRAMES,
    MIN_STORYBOARD_FRAMES,
    StoryboardCache,
    StoryboardFrame,
    StoryboardKey,
)
from reviewer.media.video import VideoInfo, VideoLimits, format_time
from reviewer.media.video_worker import VideoJob, build_storyboard_bounded
from ui.widgets.images import pil_to_qimage
from ui.widgets.tasks import TaskRunner

STORYBOARD_THUMB = QSize(128, 72)  # the smallest storyboard picture box
MAX_STORYBOARD_THUMB_WIDTH = 256
# Storyboard pictures are sized so that this many fit across the player.
STORYBOARD_FRAMES_ACROSS = 8
# A resize re-renders the storyboard once it has settled, if the pictures change this much.
STORYBOARD_RESIZE_CHANGE = 0.1


class Cancel:
    """Cancels one storyboard build: its worker is killed at once."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._jobs: list[VideoJob] = []
        self._lock = threading.Lock()

    def watch(self, job: VideoJob) -> None:
        with self._lock:
            self._jobs.append(job)
            cancelled = self._event.is_set()
        if cancelled:
            job.stop()

    def set(self) -> None:
        with self._lock:
            self._event.set()
            jobs, self._jobs = self._jobs, []
        for job in jobs:
            job.stop()

    def is_set(self) -> bool:
        return self._event.is_set()


class StoryboardStrip(QScrollArea):
    """The storyboard row, with its frame count box and progress label (which the player
    places in its details row)."""

    def __init__(self, viewer: Any, tasks: TaskRunner,
                 media_source: Callable[[str], bytes | None], *, cache: StoryboardCache,
                 limits: VideoLimits, running: list[Any],
                 on_info: Callable[[VideoInfo | None], None],
                 on_error: Callable[[str], None], on_seek: Callable[[float], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self._tasks = tasks
        self._media_source = media_source
        self.cache = cache
        self.limits = limits
        self._running = running  # the player's workers, stopped when it goes
        self._on_info = on_info
        self._on_error = on_error
        self._on_seek = on_seek
        self.count = DEFAULT_STORYBOARD_FRAMES
        self.frames: list[StoryboardFrame] = []
        self._pixmaps: list[QPixmap] = []
        self.thumb_size = STORYBOARD_THUMB
        self._cancel = Cancel()

        self.progress_label = QLabel("")
        self.count_box = QSpinBox()
        self.count_box.setRange(MIN_STORYBOARD_FRAMES, MAX_STORYBOARD_FRAMES)
        self.count_box.setValue(self.count)
        self.count_box.setAccessibleName("Storyboard frames")
        self.count_box.setToolTip("Frames in the storyboard")
        self.row = QWidget()
        self.row_layout = QHBoxLayout(self.row)
        self.row_layout.setContentsMargins(0, 0, 0, 0)
        self.row_layout.addStretch(1)
        self.setWidget(self.row)
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.fit_height()

    def buttons(self) -> list[QToolButton]:
        return self.row.findChildren(QToolButton)

    # -- building -----------------------------------------------------------------------

    def clear(self) -> None:
        """Stop any build and drop the pictures (the item leaves)."""
        self.cancel()
        self.progress_label.setText("")
        self._drop_buttons()

    def cancel(self) -> None:
        self._cancel.set()
        self._cancel = Cancel()

    def set_count(self, count: int) -> bool:
        """Another number of frames; whether it changed (the caller builds again)."""
        count = max(MIN_STORYBOARD_FRAMES, min(MAX_STORYBOARD_FRAMES, int(count)))
        if count == self.count:
            return False
        self.count = count
        if self.count_box.value() != count:
            self.count_box.setValue(count)
        return True

    def build(self, item: Any, info: VideoInfo | None) -> None:
        """Build the item's storyboard again (any build under way is cancelled first)."""
        self.cancel()
        self._drop_buttons()
        settings = self.viewer.rendition_settings
        self.thumb_size = self.wanted_thumb_size(info)
        self.fit_height()
        thumb = (self.thumb_size.width(), self.thumb_size.height())
        key = StoryboardKey(item.content_hash, self.count, thumb, settings)
        cancel = self._cancel
        self._running.append(cancel)
        found: dict[str, Any] = {"frames": []}
        source, limits, cache = self._media_source, self.limits, self.cache

        def work(progress: Callable[[int, int], None]) -> Any:
            board = cache.get(key)
            if board is None:
                data = source(item.content_hash)
                if data is None:
                    raise MediaError("the media has not been downloaded to this workstation yet")

                def one_frame(frame: StoryboardFrame, done: int, total: int) -> None:
                    found["frames"].append(frame)
                    progress(done, total)

                board = build_storyboard_bounded(
                    data, key.count, thumb, settings, limits=limits, progress=one_frame,
                    on_info=lambda info: found.__setitem__("info", info),
                    cancelled=cancel.is_set, on_job=cancel.watch)
                cache.put(key, board)
            return board

        def on_progress(done: int, total: int) -> None:
            if cancel.is_set():
                return
            self._on_info(found.get("info"))
            self._add_frames(list(found["frames"][:done]))
            self.progress_label.setText(f"Storyboard {done}/{total}")

        def on_success(board: Any) -> None:
            if cancel.is_set():
                return
            self._on_info(board.info)
            self._add_frames(list(board.frames))
            self.progress_label.setText(f"Storyboard {len(board.frames)} frames")

        def on_error(error: BaseException) -> None:
            if cancel.is_set():
                return
            self._on_error(error.reason if isinstance(error, MediaError)
                           else "an unexpected error")
            self.progress_label.setText("")

        self.progress_label.setText(f"Storyboard 0/{key.count}")
        self._tasks.run(work, on_success, on_error, on_progress=on_progress,
                        description="video storyboard", owner=self)

    def _drop_buttons(self) -> None:
        for button in self.buttons():
            button.deleteLater()
            button.setParent(None)
        self.frames = []
        self._pixmaps = []

    def _add_frames(self, frames: list[StoryboardFrame]) -> None:
        for frame in frames[len(self.frames):]:
            self.frames.append(frame)
            # Blurred pictures are small (the blur leaves little detail): scaled up smoothly
            # here to fill the box, as the main view does.
            pixmap = QPixmap.fromImage(pil_to_qimage(frame.picture)).scaled(
                self.thumb_size, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation)
            self._pixmaps.append(pixmap)
            button = QToolButton()
            button.setIconSize(self.thumb_size)
            if not self.viewer.covered:
                button.setIcon(QIcon(pixmap))
            button.setText(format_time(frame.position_s))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setToolTip(f"Go to {format_time(frame.position_s)}")
            button.setAccessibleName(f"Storyboard frame at {format_time(frame.position_s)}")
            button.clicked.connect(lambda _=False, t=frame.frame_time_s: self._on_seek(t))
            self.row_layout.insertWidget(len(self.frames) - 1, button)

    def set_covered(self, covered: bool) -> None:
        """Covered (a break, the lock): no picture shows; uncovered: they come back."""
        for button, pixmap in zip(self.buttons(), self._pixmaps, strict=False):
            button.setIcon(QIcon() if covered else QIcon(pixmap))

    # -- size ---------------------------------------------------------------------------

    def wanted_thumb_size(self, info: VideoInfo | None) -> QSize:
        """Storyboard pictures fill the player's width, a few at a time, in the video's
        shape (16:9 until it is known)."""
        across = min(STORYBOARD_FRAMES_ACROSS, self.count)
        spacing = self.row_layout.spacing() + 12  # the button's own frame
        available = self.viewport().width() or (self.parentWidget() or self).width()
        width = available // across - spacing
        width = max(STORYBOARD_THUMB.width(), min(MAX_STORYBOARD_THUMB_WIDTH, width))
        aspect = info.width / info.height if info is not None else 16 / 9
        height = max(STORYBOARD_THUMB.height(), min(round(width / aspect), width))
        return QSize(width, height)

    def fit_height(self) -> None:
        """Room for one row of storyboard buttons and the scroll bar under them."""
        probe = QToolButton()
        probe.setIconSize(self.thumb_size)
        probe.setIcon(QIcon(QPixmap(self.thumb_size)))  # an empty icon takes no room
        probe.setText("0:00.0")
        probe.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        bar = self.horizontalScrollBar().sizeHint().height()
        self.setFixedHeight(probe.sizeHint().height() + bar + 2)

    def info_known(self, info: VideoInfo) -> None:
        """The video's shape is known: pictures from now on take it."""
        self.thumb_size = self.wanted_thumb_size(info)
        self.fit_height()

    def needs_rebuild(self, info: VideoInfo | None) -> bool:
        """After a resize: whether the pictures would change size enough to build again
        (blur strength follows the size pictures are shown at)."""
        old, new = self.thumb_size, self.wanted_thumb_size(info)
        return (abs(new.width() - old.width()) > STORYBOARD_RESIZE_CHANGE * old.width()
                or abs(new.height() - old.height()) > STORYBOARD_RESIZE_CHANGE * old.height())
