"""Safe video decoding for the viewer: what a video is, and blurred frames from any point.

Every video a reviewer opens was uploaded by someone else, so it is checked before a frame is
decoded: the container is identified by its content (an image named clip.mp4 is refused),
only common codecs are decoded, the declared size, frame count and duration are bounded, and
every decode runs under a frame budget and a deadline. Frames are reached by seeking to the
keyframe before a position and decoding forward from there, never by decoding everything
before it. Failures become a `MediaError` with a reason a reviewer understands.

This module decodes in the calling process; the app runs it inside a bounded worker process
(`reviewer.media.video_worker`: a memory limit and a time limit), never in its own.

Blurred frames are made as images are (`reviewer.media.render`): decoded only as finely as
the blur can show, greyscale if asked, blurred with the same sigma for the displayed size.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import av
from PIL import Image

from reviewer.media.decode import detect_format
from reviewer.media.errors import (
    CorruptFile,
    DecodeMemoryExceeded,
    DecodeTimeout,
    EmptyFile,
    ImageTooLarge,
    MediaError,
    TruncatedFile,
    UnsupportedFormat,
)
from reviewer.media.render import (
    _DIRECT_BLUR_SIGMA,
    RenditionSettings,
    make_blurred,
    make_grayscale,
)

# Decoders for the codecs people actually upload; FFmpeg's other decoders (hundreds, some
# rarely exercised) are never run on untrusted input.
SUPPORTED_CODECS = frozenset({
    "h264", "hevc", "mpeg4", "vp8", "vp9", "av1", "mpeg1video", "mpeg2video", "h263",
    "theora", "mjpeg", "msmpeg4v3", "wmv2", "libdav1d", "libvpx", "libvpx-vp9",
})


@dataclass(frozen=True)
class VideoLimits:
    """Bounds on what one untrusted video may cost to open and decode."""

    max_side: int = 8192
    max_pixels: int = 8192 * 4320
    max_duration_s: float = 6 * 3600.0
    max_frames: int = 6 * 3600 * 120
    max_fps: float = 240.0
    # Frames decoded to reach one position from its keyframe (a long GOP is refused beyond).
    max_frames_per_seek: int = 1200
    timeout_s: float = 10.0
    # Address space a decoding worker process may add to its start-up size.
    memory_mb: int = 1536

    def __post_init__(self) -> None:
        for name in ("max_side", "max_pixels", "max_frames", "max_frames_per_seek",
                     "memory_mb"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive")
        for name in ("max_duration_s", "max_fps", "timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")


DEFAULT_VIDEO_LIMITS = VideoLimits()


@dataclass(frozen=True)
class VideoInfo:
    """What a video's container says about it, after our checks."""

    container: str
    codec: str
    width: int
    height: int
    duration_s: float
    frame_rate: float
    frame_count: int
    has_audio: bool
    audio_codec: str | None

    def summary(self) -> str:
        """One line for the reviewer: "0:09.8 · 640×360 · h264 · 25 fps · audio (aac)"."""
        audio = f"audio ({self.audio_codec})" if self.has_audio else "no audio"
        return (f"{format_time(self.duration_s)} · {self.width}×{self.height} · {self.codec} · "
                f"{self.frame_rate:g} fps · {audio}")


def format_time(seconds: float) -> str:
    seconds = max(0.0, seconds)
    minutes, rest = divmod(seconds, 60.0)
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{hours}:{minutes:02d}:{rest:04.1f}"
    return f"{minutes}:{rest:04.1f}"


# --- identification ----------------------------------------------------------------------

_VIDEO_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x1aE\xdf\xa3", "WebM/Matroska"),
    (b"OggS", "Ogg"),
    (b"\x00\x00\x01\xba", "MPEG-PS"),
    (b"FLV", "FLV"),
)


def detect_video(data: bytes) -> str:
    """The container of `data` ("MP4/MOV", "WebM/Matroska", ...), judged from its content.

    An image, or anything that is not a known video container, is refused with a reason.
    """
    if not data:
        raise EmptyFile()
    if data[4:8] == b"ftyp":
        if data[8:12] in (b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1"):
            raise UnsupportedFormat("the file is a still image, not a video")
        return "MP4/MOV"
    if data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        return "AVI"
    for signature, name in _VIDEO_SIGNATURES:
        if data.startswith(signature):
            return name
    if len(data) > 188 * 2 and data[0] == 0x47 and data[188] == 0x47:
        return "MPEG-TS"
    try:
        image_format = detect_format(data)
    except UnsupportedFormat as exc:
        raise UnsupportedFormat(
            exc.reason.replace("a supported image", "a supported video")) from None
    raise UnsupportedFormat(f"the file is an image ({image_format}), not a video")


def looks_like_video(data: bytes) -> bool:
    try:
        detect_video(data)
    except MediaError:
        return False
    return True


# --- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodedFrame:
    """One frame as decoded: its presentation time and the FFmpeg frame."""

    time_s: float
    frame: Any  # av.VideoFrame


class VideoReader:
    """One open video, for one thread at a time: its `info`, and frames by position.

    `frames_decoded` counts every frame decoded, so callers (and tests) can see that a
    position is reached from its keyframe, not from the start.
    """

    def __init__(self, data: bytes, limits: VideoLimits = DEFAULT_VIDEO_LIMITS) -> None:
        self.limits = limits
        self.frames_decoded = 0
        self._other_packets: Callable[[Any], None] | None = None
        container_name = detect_video(data)
        if container_name == "MP4/MOV":
            _check_mp4_boxes(data)
        try:
            self._container = av.open(io.BytesIO(data), mode="r",
                                      options={"probesize": "5000000"})
        except av.error.FFmpegError as exc:
            raise _as_media_error(exc) from exc
        try:
            self.info = self._check(container_name)
        except BaseException:
            self._container.close()
            raise
        self._stream.thread_type = "AUTO"

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._container.close()

    def _check(self, container_name: str) -> VideoInfo:
        container = self._container
        if not container.streams.video:
            raise UnsupportedFormat("the file has no video track")
        stream = self._stream = container.streams.video[0]
        codec = stream.codec_context.name if stream.codec_context is not None else "unknown"
        if codec not in SUPPORTED_CODECS:
            raise UnsupportedFormat(f"the video codec ({codec}) is not supported")
        width, height = stream.codec_context.width, stream.codec_context.height
        limits = self.limits
        if width < 1 or height < 1:
            raise CorruptFile.because("the video has no picture size")
        if max(width, height) > limits.max_side:
            raise ImageTooLarge(f"the video is wider or taller than {limits.max_side} pixels")
        if width * height > limits.max_pixels:
            raise ImageTooLarge(
                f"the video's frames are larger than {limits.max_pixels / 1e6:g} megapixels")
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if not math.isfinite(fps) or fps <= 0 or fps > limits.max_fps:
            raise CorruptFile.because(f"the frame rate is implausible ({fps:g} per second)")
        duration = self._duration_s()
        if duration <= 0:
            raise TruncatedFile("the file is cut short: the video has no frames")
        if duration > limits.max_duration_s:
            raise ImageTooLarge(
                f"the video is longer than {format_time(limits.max_duration_s)}")
        frame_count = int(stream.frames or round(duration * fps))
        if frame_count > limits.max_frames:
            raise ImageTooLarge(f"the video has more than {limits.max_frames} frames")
        audio = container.streams.audio
        audio_codec = audio[0].codec_context.name if audio else None
        self._fps = fps
        self._start = float(stream.start_time * stream.time_base) \
            if stream.start_time is not None else 0.0
        return VideoInfo(container_name, codec, width, height, duration, fps, frame_count,
                         bool(audio), audio_codec)

    def _duration_s(self) -> float:
        stream = self._stream
        if stream.duration is not None and stream.time_base:
            return float(stream.duration * stream.time_base)
        if self._container.duration is not None:
            return self._container.duration / av.time_base
        return 0.0

    @property
    def frame_interval_s(self) -> float:
        return 1.0 / self._fps

    @property
    def audio_streams(self) -> list[Any]:
        return list(self._container.streams.audio)

    @property
    def start_offset_s(self) -> float:
        """The container time of the video's first frame (times here start at 0)."""
        return self._start

    def frame_at(self, position_s: float) -> DecodedFrame:
        """The frame shown at `position_s` (clamped to the video): seek to the keyframe
        before it, then decode forward to it."""
        position_s = min(max(0.0, position_s), self.info.duration_s)
        deadline = time.monotonic() + self.limits.timeout_s
        self._other_packets = None
        self._seek(position_s)
        tolerance = 0.5 * self.frame_interval_s
        last: DecodedFrame | None = None
        for count, decoded in enumerate(self._frames(deadline), start=1):
            if decoded.time_s + tolerance >= position_s:
                return decoded if last is None or decoded.time_s - tolerance <= position_s \
                    else last
            last = decoded
            if count >= self.limits.max_frames_per_seek:
                raise CorruptFile.because(
                    f"reaching {format_time(position_s)} needs more than "
                    f"{self.limits.max_frames_per_seek} frames")
        if last is not None and position_s - last.time_s <= 0.5 + 2 * self.frame_interval_s:
            return last  # the end of the video
        stops = format_time(last.time_s) if last is not None else format_time(0.0)
        raise TruncatedFile(f"the file is cut short: the video stops at {stops} of "
                            f"{format_time(self.info.duration_s)}")

    def frames_from(self, position_s: float, *,
                    on_other_packet: Callable[[Any], None] | None = None,
                    ) -> Iterator[DecodedFrame]:
        """Every frame from `position_s` to the end, for playback (no overall deadline:
        the caller stops when it wants; each frame must decode within the timeout).

        With `on_other_packet`, the first audio track is read along with the picture and
        each of its packets handed to it (for sound in step with the frames)."""
        position_s = min(max(0.0, position_s), self.info.duration_s)
        self._seek(position_s)
        self._other_packets = on_other_packet
        tolerance = 0.5 * self.frame_interval_s
        skipped = 0
        while True:
            deadline = time.monotonic() + self.limits.timeout_s
            try:
                decoded = next(self._frames(deadline, resume=True))
            except StopIteration:
                return
            if decoded.time_s + tolerance < position_s:
                skipped += 1
                if skipped > self.limits.max_frames_per_seek:
                    raise CorruptFile.because("the video's keyframes are too far apart")
                continue
            yield decoded

    def _seek(self, position_s: float) -> None:
        stream = self._stream
        target = int((position_s + self._start) / stream.time_base)
        try:
            self._container.seek(target, stream=stream, backward=True, any_frame=False)
        except av.error.FFmpegError as exc:
            raise _as_media_error(exc) from exc
        self._decoding: Iterator[Any] | None = None

    def _demux(self, other: Callable[[Any], None]) -> Iterator[Any]:
        streams = [self._stream, *self._container.streams.audio[:1]]
        for packet in self._container.demux(*streams):
            if packet.stream is self._stream:
                yield from packet.decode()
            else:
                other(packet)

    def _frames(self, deadline: float, *, resume: bool = False) -> Iterator[DecodedFrame]:
        if not resume or getattr(self, "_decoding", None) is None:
            other = self._other_packets
            self._decoding = self._container.decode(self._stream) if other is None \
                else self._demux(other)
        assert self._decoding is not None
        while True:
            if time.monotonic() > deadline:
                raise DecodeTimeout.after(self.limits.timeout_s)
            try:
                frame = next(self._decoding)
            except StopIteration:
                return
            except av.error.FFmpegError as exc:
                raise _as_media_error(exc) from exc
            self.frames_decoded += 1
            if self.frames_decoded > self.limits.max_frames + self.limits.max_frames_per_seek:
                raise ImageTooLarge(f"the video has more than {self.limits.max_frames} frames")
            if frame.pts is None:
                continue
            yield DecodedFrame(float(frame.pts * frame.time_base) - self._start, frame)


def probe_video(data: bytes, limits: VideoLimits = DEFAULT_VIDEO_LIMITS) -> VideoInfo:
    """What the video is, after every check, with its first frame decoded to prove it."""
    with VideoReader(data, limits) as reader:
        reader.frame_at(0.0)
        return reader.info


_MP4_TOP_LEVEL = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"meta",
                  b"pdin", b"moof", b"mfra", b"sidx", b"styp", b"prft", b"emsg"}


def _check_mp4_boxes(data: bytes) -> None:
    """Refuse an MP4 whose top-level boxes run past the end or lack the index (moov):
    the usual shape of an upload cut off part-way."""
    position, end, has_index = 0, len(data), False
    while position + 8 <= end:
        size = int.from_bytes(data[position:position + 4], "big")
        kind = data[position + 4:position + 8]
        header = 8
        if size == 1:
            if position + 16 > end:
                raise _cut_short(position + 16, end)
            size, header = int.from_bytes(data[position + 8:position + 16], "big"), 16
        elif size == 0:
            size = end - position
        if kind not in _MP4_TOP_LEVEL:
            return  # not a layout we know: leave it to the demuxer
        if size < header:
            raise CorruptFile.because("the video's structure cannot be read")
        if position + size > end:
            raise _cut_short(position + size, end, has_index)
        has_index = has_index or kind in (b"moov", b"moof")
        position += size
    if position != end:
        raise _cut_short(position + 8, end, has_index)
    if not has_index:
        raise TruncatedFile("the file is cut short: the video's index (moov) is missing, "
                            "as when an upload stops before it finishes")


def _cut_short(needed: int, present: int, has_index: bool = False) -> TruncatedFile:
    """How much of an MP4 is missing, for the reviewer."""
    share = max(1, min(99, math.floor(100 * present / max(needed, 1))))
    if has_index:
        return TruncatedFile(f"the file is cut short: only {share}% of the video data is "
                             f"there ({present:,} of {needed:,} bytes)")
    return TruncatedFile(f"the file is cut short: it ends after {present:,} of {needed:,} "
                         f"bytes, before the video's index (moov)")


def _as_media_error(exc: BaseException) -> MediaError:
    if isinstance(exc, MediaError):
        return exc
    message = str(exc).lower()
    if "moov atom not found" in message:
        return TruncatedFile("the file is cut short: the video's index (moov) is missing")
    if "end of file" in message or "truncat" in message:
        return TruncatedFile("the file is cut short: the data ends part-way")
    if isinstance(exc, av.error.InvalidDataError):
        return CorruptFile.because("the video data cannot be read")
    if isinstance(exc, MemoryError | av.error.MemoryError):
        return DecodeMemoryExceeded("decoding the video needed more memory than allowed")
    return CorruptFile.because("the video data cannot be decoded")


# --- pictures for display ----------------------------------------------------------------


def fit_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """`size` scaled to fit inside `box`, keeping its aspect ratio (never enlarged)."""
    width, height = size
    scale = min(1.0, box[0] / width, box[1] / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def blurred_picture(frame: Any, view_size: tuple[int, int],
                    settings: RenditionSettings) -> Image.Image:
    """`frame` blurred as an image shown at `view_size` would be, at reduced resolution.

    The blur removes all detail finer than its sigma, so the frame is scaled (by FFmpeg,
    area-averaged) to the few pixels the blur leaves, blurred there, and handed back small:
    the display scales it up. Blur strength relative to the displayed size is the same as
    for images.
    """
    display = fit_size((frame.width, frame.height), view_size)
    if settings.blurs:
        short_side = math.ceil(_DIRECT_BLUR_SIGMA / settings.blur_fraction)
        scale = min(1.0, short_side / min(display))
        size = max(1, round(display[0] * scale)), max(1, round(display[1] * scale))
    else:
        size = display
    picture = frame.to_image(width=size[0], height=size[1], interpolation="AREA")
    if settings.grayscale:
        picture = make_grayscale(picture)
    return make_blurred(picture, settings)


def sharp_picture(frame: Any, view_size: tuple[int, int],
                  settings: RenditionSettings) -> Image.Image:
    """`frame` unblurred at its displayed size, greyscale if `settings` say so."""
    width, height = fit_size((frame.width, frame.height), view_size)
    picture = frame.to_image(width=width, height=height, interpolation="BILINEAR")
    return make_grayscale(picture) if settings.grayscale else picture


def frame_picture(data: bytes, position_s: float, view_size: tuple[int, int],
                  settings: RenditionSettings, *, sharp: bool,
                  limits: VideoLimits = DEFAULT_VIDEO_LIMITS) -> tuple[float, Image.Image]:
    """The frame at `position_s`, blurred (or sharp), and its exact time."""
    with VideoReader(data, limits) as reader:
        decoded = reader.frame_at(position_s)
        make = sharp_picture if sharp else blurred_picture
        return decoded.time_s, make(decoded.frame, view_size, settings)


# --- playback (decoded in `reviewer.media.video_worker.WorkerPlaybackStream`) ------------


@dataclass(frozen=True)
class PlaybackFrame:
    """A frame ready to show: blurred always, sharp only if asked for while it was made."""

    time_s: float
    blurred: Image.Image
    sharp: Image.Image | None


END_OF_VIDEO = None


def evenly_spaced(duration_s: float, count: int) -> list[float]:
    """`count` positions spread evenly over the video: the middle of each of `count` equal
    parts, so the first and last frames (often black) are not chosen."""
    if count < 1:
        raise ValueError(f"count must be positive, not {count}")
    return [duration_s * (index + 0.5) / count for index in range(count)]
