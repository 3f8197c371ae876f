"""A video's storyboard: evenly spaced frames, blurred and greyscale like images, cached.

The storyboard lets a reviewer see the shape of a video at a glance without playing it and
jump to any part of it. Each frame is reached by seeking to the keyframe before it, so a
storyboard of a long video costs a few GOPs, not a decode of the whole file.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from reviewer.media.render import RenditionSettings
from reviewer.media.video import (
    DEFAULT_VIDEO_LIMITS,
    VideoInfo,
    VideoLimits,
    VideoReader,
    blurred_picture,
    evenly_spaced,
)

DEFAULT_STORYBOARD_FRAMES = 12
MIN_STORYBOARD_FRAMES = 2
MAX_STORYBOARD_FRAMES = 48


@dataclass(frozen=True)
class StoryboardFrame:
    """One storyboard picture: the position it stands for, and the frame's own time."""

    position_s: float
    frame_time_s: float
    picture: Image.Image


@dataclass(frozen=True)
class Storyboard:
    info: VideoInfo
    frames: tuple[StoryboardFrame, ...]


@dataclass(frozen=True)
class StoryboardKey:
    content_hash: str
    count: int
    thumb_size: tuple[int, int]
    settings: RenditionSettings


def check_frame_count(count: int) -> None:
    """A ValueError unless a storyboard may have `count` frames."""
    if not MIN_STORYBOARD_FRAMES <= count <= MAX_STORYBOARD_FRAMES:
        raise ValueError(f"a storyboard has {MIN_STORYBOARD_FRAMES} to "
                         f"{MAX_STORYBOARD_FRAMES} frames, not {count}")


def build_storyboard(
    data: bytes,
    count: int,
    thumb_size: tuple[int, int],
    settings: RenditionSettings,
    *,
    progress: Callable[[StoryboardFrame, int, int], None] | None = None,
    on_info: Callable[[VideoInfo], None] | None = None,
    limits: VideoLimits = DEFAULT_VIDEO_LIMITS,
    cancelled: Callable[[], bool] | None = None,
) -> Storyboard:
    """`count` blurred frames at evenly spaced positions; `progress(frame, done, total)`
    is called as each is ready, and `on_info(info)` once the video has been checked."""
    check_frame_count(count)
    frames: list[StoryboardFrame] = []
    with VideoReader(data, limits) as reader:
        if on_info is not None:
            on_info(reader.info)
        positions = evenly_spaced(reader.info.duration_s, count)
        for done, position in enumerate(positions, start=1):
            if cancelled is not None and cancelled():
                break
            decoded = reader.frame_at(position)
            frame = StoryboardFrame(position, decoded.time_s,
                                    blurred_picture(decoded.frame, thumb_size, settings))
            frames.append(frame)
            if progress is not None:
                progress(frame, done, count)
        return Storyboard(reader.info, tuple(frames))


class StoryboardCache:
    """Finished storyboards by content hash, count, size and settings; least recently used
    are dropped beyond `max_entries`. Thread-safe."""

    def __init__(self, max_entries: int = 32) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[StoryboardKey, Storyboard] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: StoryboardKey) -> Storyboard | None:
        with self._lock:
            board = self._entries.get(key)
            if board is not None:
                self._entries.move_to_end(key)
            return board

    def put(self, key: StoryboardKey, board: Storyboard) -> None:
        if len(board.frames) != key.count:
            return  # an interrupted build is not kept
        with self._lock:
            self._entries[key] = board
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
