"""Untrusted video decoding in a bounded worker process: probe, storyboard, frames, playback.

Every decode of an uploaded video runs in a process of its own, started for the job from a
clean fork server (never forked from the app), with its address space capped at
`VideoLimits.memory_mb` over its start-up size and a time limit on every reply: a file that
explodes memory or hangs the decoder kills only its worker, and the caller gets a
`MediaError` saying so. Frames come back already reduced to the size the viewer shows
(a blurred frame is a few thousand pixels), as raw pixels over a pipe; playback also ships
the sound as PCM in the format of the audio device, only while the reviewer has unmuted.

One `VideoJob` is one process and one request; it is stopped by killing the process, so a
seek or a cancelled storyboard never waits for a decode to finish.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from PIL import Image

from reviewer.media.decode import _limit_address_space, forkserver_preload
from reviewer.media.errors import (
    CorruptFile,
    DecodeMemoryExceeded,
    DecodeTimeout,
    MediaError,
)
from reviewer.media.render import RenditionSettings
from reviewer.media.storyboard import (
    Storyboard,
    StoryboardFrame,
    build_storyboard,
    check_frame_count,
)
from reviewer.media.video import (
    DEFAULT_VIDEO_LIMITS,
    END_OF_VIDEO,
    PlaybackFrame,
    VideoInfo,
    VideoLimits,
    VideoReader,
    blurred_picture,
    detect_video,
    evenly_spaced,
    frame_picture,
    sharp_picture,
)

# A fresh worker may take a while to start on a loaded machine; this is not the decode.
_STARTUP_TIMEOUT_S = 60.0
# Positions decoded by `check_video_bounded`: enough to find a file damaged part-way.
_CHECK_POSITIONS = 4
# The shared control block of a playback worker: the player's clock, sharp frames wanted,
# sound wanted.
_CLOCK, _SHARP, _SOUND = range(3)
# A failure this close to the memory limit is put down to the limit (a thread's stack is 8 MB).
_MEMORY_MARGIN = 48 * 1024 * 1024


@dataclass(frozen=True)
class AudioSpec:
    """The PCM the audio device takes: samples per second, channels, and "s16" or "flt"."""

    sample_rate: int
    channels: int
    sample_format: str = "s16"

    def __post_init__(self) -> None:
        if self.sample_format not in ("s16", "flt"):
            raise ValueError(f"sample_format must be s16 or flt, not {self.sample_format!r}")
        if not 8000 <= self.sample_rate <= 384_000 or not 1 <= self.channels <= 8:
            raise ValueError(f"implausible audio format {self}")

    @property
    def bytes_per_frame(self) -> int:
        return self.channels * (2 if self.sample_format == "s16" else 4)

    @property
    def layout(self) -> str:
        return {1: "mono", 2: "stereo"}.get(self.channels, f"{self.channels}c")


@dataclass(frozen=True)
class AudioChunk:
    """Interleaved PCM in an `AudioSpec`, starting at `time_s` of the video."""

    time_s: float
    pcm: bytes


def _default_start_method() -> str:
    # Never plain "fork": the app has Qt and other threads running.
    if sys.platform.startswith("linux") and "forkserver" in multiprocessing.get_all_start_methods():
        return "forkserver"
    return "spawn"


_context_lock = threading.Lock()
_context: Any = None


def _worker_context() -> Any:
    global _context
    with _context_lock:
        if _context is None:
            method = _default_start_method()
            _context = multiprocessing.get_context(method)
            if method == "forkserver":
                _context.set_forkserver_preload(forkserver_preload())
        return _context


class _WorkerGone(Exception):
    pass


class VideoJob:
    """One worker process serving one request; `replies()` yields what it sends back.

    Every reply must come within `limits.timeout_s` of asking for it, else the worker is
    killed and `DecodeTimeout` raised. A worker that runs out of memory, or is killed by the
    operating system, raises `DecodeMemoryExceeded`; one that crashes, `CorruptFile`.
    """

    def __init__(self, request: tuple[Any, ...], data: bytes,
                 limits: VideoLimits = DEFAULT_VIDEO_LIMITS,
                 control: Any = None) -> None:
        self.limits = limits
        context = _worker_context()
        self._conn, child = context.Pipe(duplex=True)
        self.process = context.Process(
            target=_worker_main, args=(child, limits.memory_mb, control),
            name="reviewer-video-decoder", daemon=True)
        self._stopped = False
        self._closed = False
        self._lock = threading.Lock()
        self.process.start()
        child.close()
        try:
            self._receive(_STARTUP_TIMEOUT_S)  # "ready"
            self._conn.send((request, limits))
            self._conn.send_bytes(data)
        except (OSError, _WorkerGone, DecodeTimeout):
            self.close()
            raise MediaError("the video decoder could not start") from None

    def __enter__(self) -> VideoJob:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def process_alive(self) -> bool:
        with self._lock:
            return not self._closed and self.process.is_alive()

    def stop(self) -> None:
        """Kill the worker: a decode in progress ends at once, and the thread reading its
        replies gets an error. Safe from any thread; never waits."""
        with self._lock:
            if self._closed:
                return
            self._stopped = True
            with contextlib.suppress(ValueError, OSError):
                self.process.kill()

    def close(self) -> None:
        """Kill the worker and release it (by the thread that reads the replies)."""
        self.stop()
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.process.join(5.0)
        self._conn.close()
        if self.process.exitcode is not None:
            self.process.close()  # its pipe to the fork server, now

    def replies(self) -> Iterator[tuple[Any, ...]]:
        """Each reply up to and including ("done", result); an ("error", e) raises e."""
        while True:
            try:
                reply = self._receive(self.limits.timeout_s)
            except DecodeTimeout:
                self.close()
                raise
            except _WorkerGone:
                raise self._death() from None
            kind = reply[0]
            if kind == "error":
                self.close()
                raise reply[1]
            if kind in ("frame", "audio"):
                payload = []
                for _ in range(reply[-1]):
                    try:
                        payload.append(self._receive_bytes())
                    except _WorkerGone:
                        raise self._death() from None
                reply = (*reply[:-1], payload)
            yield reply
            if kind == "done":
                self.close()
                return

    def _receive(self, timeout: float) -> Any:
        if self._stopped:
            raise _WorkerGone()
        try:
            if not self._conn.poll(timeout):
                raise DecodeTimeout.after(timeout)
            return self._conn.recv()
        except (EOFError, OSError):
            raise _WorkerGone() from None

    def _receive_bytes(self) -> bytes:
        try:
            if not self._conn.poll(self.limits.timeout_s):
                raise DecodeTimeout.after(self.limits.timeout_s)
            return self._conn.recv_bytes()
        except (EOFError, OSError):
            raise _WorkerGone() from None

    def _death(self) -> MediaError:
        stopped_by_us = self._stopped
        self.process.join(2.0)
        code = self.process.exitcode
        self.close()
        if stopped_by_us:
            return MediaError("the video decoder was stopped")
        if code == -signal.SIGKILL:
            # How an out-of-memory killer ends a process.
            return DecodeMemoryExceeded(
                "decoding the video needed more memory than allowed; the decoder was stopped")
        return CorruptFile.because(f"the video decoder stopped on this file (exit code {code})")


def _picture(mode: str, size: tuple[int, int], pixels: bytes) -> Image.Image:
    return Image.frombytes(mode, size, pixels)


# --- what the app calls -------------------------------------------------------------------


def probe_video_bounded(data: bytes, limits: VideoLimits = DEFAULT_VIDEO_LIMITS) -> VideoInfo:
    """`probe_video` in a bounded worker."""
    detect_video(data)  # cheap, and spares the worker files that are not videos at all
    with VideoJob(("probe",), data, limits) as job:
        for reply in job.replies():
            if reply[0] == "done":
                return reply[1]
    raise MediaError("the video decoder gave no answer")


def frame_picture_bounded(data: bytes, position_s: float, view_size: tuple[int, int],
                          settings: RenditionSettings, *, sharp: bool,
                          limits: VideoLimits = DEFAULT_VIDEO_LIMITS,
                          ) -> tuple[float, Image.Image]:
    """`frame_picture` in a bounded worker: the frame at `position_s`, blurred (or sharp),
    no larger than `view_size`."""
    detect_video(data)
    with VideoJob(("frame", position_s, tuple(view_size), settings, sharp), data,
                  limits) as job:
        for reply in job.replies():
            if reply[0] == "frame":
                _kind, time_s, shapes, payload = reply
                (mode, size), = shapes
                return time_s, _picture(mode, size, payload[0])
    raise MediaError("the video decoder gave no answer")


def build_storyboard_bounded(
    data: bytes,
    count: int,
    thumb_size: tuple[int, int],
    settings: RenditionSettings,
    *,
    progress: Callable[[StoryboardFrame, int, int], None] | None = None,
    on_info: Callable[[VideoInfo], None] | None = None,
    limits: VideoLimits = DEFAULT_VIDEO_LIMITS,
    cancelled: Callable[[], bool] | None = None,
    on_job: Callable[[VideoJob], None] | None = None,
) -> Storyboard:
    """`build_storyboard` in a bounded worker. `on_job(job)` is told the job, so that a
    caller can stop it from another thread; a stopped or cancelled build returns the frames
    it had."""
    check_frame_count(count)
    detect_video(data)
    info: VideoInfo | None = None
    frames: list[StoryboardFrame] = []
    positions: list[float] = []
    with VideoJob(("storyboard", count, tuple(thumb_size), settings), data, limits) as job:
        if on_job is not None:
            on_job(job)
        try:
            for reply in job.replies():
                if cancelled is not None and cancelled():
                    break
                if reply[0] == "info":
                    info = reply[1]
                    positions = evenly_spaced(info.duration_s, count)
                    if on_info is not None:
                        on_info(info)
                elif reply[0] == "frame":
                    _kind, time_s, shapes, payload = reply
                    (mode, size), = shapes
                    frame = StoryboardFrame(positions[len(frames)], time_s,
                                            _picture(mode, size, payload[0]))
                    frames.append(frame)
                    if progress is not None:
                        progress(frame, len(frames), count)
        except MediaError:
            if not job.stopped or info is None or (cancelled is None or not cancelled()):
                raise
    if info is None:
        raise MediaError("the video decoder was stopped")
    return Storyboard(info, tuple(frames))


def check_video_bounded(data: bytes, limits: VideoLimits = DEFAULT_VIDEO_LIMITS) -> VideoInfo:
    """Open the video as the viewer would and decode frames spread over it, in a bounded
    worker (for `reviewer-admin media-check`); the video's info, or a `MediaError`."""
    detect_video(data)
    with VideoJob(("check",), data, limits) as job:
        for reply in job.replies():
            if reply[0] == "done":
                return reply[1]
    raise MediaError("the video decoder gave no answer")


class WorkerPlaybackStream:
    """Blurred frames (and sound) decoded ahead from a position, in a bounded worker.

    `run` (in a thread of the caller's) starts the worker and moves what it sends into
    `frames` (a small queue; `END_OF_VIDEO` ends it) and `audio`. The worker reads the
    player's position (`clock_s`, to skip frames already late), `want_sharp` (a reveal is
    under way: sharp frames at `sharp_size` too) and `sound_on` from memory shared with it,
    so the player never waits on the worker. Sound is decoded only with an `audio_spec` and
    while `sound_on` is set. `stop` kills the worker.
    """

    def __init__(self, source: Callable[[], bytes | None], start_s: float,
                 view_size: tuple[int, int], settings: RenditionSettings, *,
                 sharp_size: tuple[int, int] | None = None,
                 limits: VideoLimits = DEFAULT_VIDEO_LIMITS, queue_size: int = 6,
                 audio_spec: AudioSpec | None = None, sound_on: bool = False,
                 idle_timeout_s: float = 10.0) -> None:
        self._source = source
        self.start_s = start_s
        self.view_size = view_size
        self.sharp_size = sharp_size or view_size
        self.settings = settings
        self.limits = limits
        self.audio_spec = audio_spec
        self.frames: queue.Queue[PlaybackFrame | None] = queue.Queue(maxsize=queue_size)
        self.audio: queue.Queue[AudioChunk] = queue.Queue()
        self.frames_skipped = 0
        self.audio_bytes = 0
        self._control = _worker_context().RawArray("d", 3)
        self._control[_CLOCK] = start_s
        self._control[_SOUND] = 1.0 if sound_on else 0.0
        self._stop = threading.Event()
        self._job: VideoJob | None = None
        self._lock = threading.Lock()
        self._idle_timeout_s = idle_timeout_s

    @property
    def clock_s(self) -> float:
        return self._control[_CLOCK]

    @clock_s.setter
    def clock_s(self, value: float) -> None:
        self._control[_CLOCK] = value

    @property
    def want_sharp(self) -> bool:
        return self._control[_SHARP] > 0

    @want_sharp.setter
    def want_sharp(self, value: bool) -> None:
        self._control[_SHARP] = 1.0 if value else 0.0

    @property
    def sound_on(self) -> bool:
        return self._control[_SOUND] > 0

    @sound_on.setter
    def sound_on(self, value: bool) -> None:
        self._control[_SOUND] = 1.0 if value else 0.0

    @property
    def worker_pid(self) -> int | None:
        job = self._job
        return job.process.pid if job is not None else None

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            job = self._job
        if job is not None:
            job.stop()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run(self) -> int:
        """Produce frames until the end, `stop`, or an error; returns frames produced."""
        data = self._source()
        if data is None:
            raise MediaError("the media has not been downloaded to this workstation yet")
        detect_video(data)
        if self._stop.is_set():
            return 0
        request = ("play", self.start_s, tuple(self.view_size), tuple(self.sharp_size),
                   self.settings, self.audio_spec)
        job = VideoJob(request, data, self.limits, control=self._control)
        with self._lock:
            self._job = job
        if self._stop.is_set():
            job.close()
            return 0
        del data
        produced = 0
        try:
            for reply in job.replies():
                if reply[0] == "frame":
                    _kind, time_s, shapes, payload = reply
                    blurred = _picture(*shapes[0], payload[0])
                    sharp = _picture(*shapes[1], payload[1]) if len(shapes) > 1 else None
                    if not self._put(PlaybackFrame(time_s, blurred, sharp)):
                        return produced
                    produced += 1
                elif reply[0] == "audio":
                    _kind, time_s, payload = reply
                    self.audio_bytes += len(payload[0])
                    self.audio.put(AudioChunk(time_s, payload[0]))
                elif reply[0] == "done":
                    self.frames_skipped = reply[1]
        except MediaError:
            if self._stop.is_set():
                return produced
            raise
        finally:
            job.close()
        self._put(END_OF_VIDEO)
        return produced

    def _put(self, item: PlaybackFrame | None) -> bool:
        waited = 0.0
        while not self._stop.is_set():
            try:
                self.frames.put(item, timeout=0.05)
                return True
            except queue.Full:
                waited += 0.05
                if waited > self._idle_timeout_s:
                    self.stop()
        return False


# --- the worker process -------------------------------------------------------------------


def _worker_main(conn: Connection, memory_mb: int, control: Any) -> None:
    """Serve one request under the memory limit, then exit."""
    _limit_malloc_arenas()
    limit = _limit_address_space(memory_mb)
    import warnings

    warnings.simplefilter("ignore")
    try:
        conn.send(("ready",))
        request, limits = conn.recv()
        data = conn.recv_bytes()
    except (EOFError, OSError):
        return
    try:
        _serve(conn, request, data, limits, control)
    except (BrokenPipeError, EOFError, ConnectionResetError):
        pass
    except BaseException as exc:
        _send_quietly(conn, ("error", _worker_error(exc, limit, memory_mb)))
    # The process may be in any state after a failure: leave without cleaning up.
    conn.close()
    os._exit(0)


def _worker_error(exc: BaseException, limit: int | None, memory_mb: int) -> MediaError:
    """What to tell the reviewer about a failed decode. Out of memory shows in many ways
    (an allocation, a thread that cannot start, a codec error), so a failure after the
    process came close to its memory limit is reported as that."""
    if isinstance(exc, MemoryError | DecodeMemoryExceeded) or (
            limit is not None and _peak_address_space() > limit - _MEMORY_MARGIN):
        return DecodeMemoryExceeded(
            f"decoding the video needed more than the {memory_mb} MB of memory allowed; "
            f"the decoder was stopped")
    if isinstance(exc, MediaError):
        return exc
    # An unknown failure on hostile input: named, not raised.
    return CorruptFile.because(f"the video cannot be decoded ({type(exc).__name__})")


def _peak_address_space() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _send_quietly(conn: Connection, message: tuple[Any, ...]) -> None:
    with contextlib.suppress(OSError, ValueError):
        conn.send(message)


def _limit_malloc_arenas() -> None:
    """glibc reserves 64 MB of address space per thread arena; FFmpeg's decoding threads
    would spend the memory limit on reservations, not on memory."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass


def _send_pictures(conn: Connection, time_s: float, pictures: list[Image.Image]) -> None:
    conn.send(("frame", time_s, [(p.mode, p.size) for p in pictures], len(pictures)))
    for picture in pictures:
        conn.send_bytes(picture.tobytes())


def _serve(conn: Connection, request: tuple[Any, ...], data: bytes, limits: VideoLimits,
           control: Any) -> None:
    kind = request[0]
    if kind == "probe":
        with VideoReader(data, limits) as reader:
            reader.frame_at(0.0)
            conn.send(("done", reader.info))
    elif kind == "check":
        with VideoReader(data, limits) as reader:
            info = reader.info
            for position in [0.0, *evenly_spaced(info.duration_s, _CHECK_POSITIONS)]:
                reader.frame_at(position)
            conn.send(("done", info))
    elif kind == "frame":
        _kind, position_s, view, settings, sharp = request
        time_s, picture = frame_picture(data, position_s, view, settings, sharp=sharp,
                                        limits=limits)
        _send_pictures(conn, time_s, [picture])
        conn.send(("done", None))
    elif kind == "storyboard":
        _kind, count, thumb, settings = request

        def one_frame(frame: StoryboardFrame, _done: int, _total: int) -> None:
            _send_pictures(conn, frame.frame_time_s, [frame.picture])

        build_storyboard(data, count, thumb, settings, limits=limits, progress=one_frame,
                         on_info=lambda info: conn.send(("info", info)))
        conn.send(("done", None))
    elif kind == "play":
        _kind, start_s, view, sharp_size, settings, audio_spec = request
        with VideoReader(data, limits) as reader:
            del data
            skipped = _play(conn, reader, start_s, view, sharp_size, settings, audio_spec,
                            control)
        conn.send(("done", skipped))
    else:
        raise ValueError(f"unknown request {kind!r}")


def _play(conn: Connection, reader: VideoReader, start_s: float, view: tuple[int, int],
          sharp_size: tuple[int, int], settings: RenditionSettings,
          audio_spec: AudioSpec | None, control: Any) -> int:
    """Send every frame from `start_s` (blurred; sharp too while wanted) and, while sound
    is on, the sound in `audio_spec`; frames already late by the player's clock are skipped.
    Returns the frames skipped."""
    late_by = 2 * reader.frame_interval_s
    skipped = 0
    sound = _SoundDecoder(reader, start_s, audio_spec) if audio_spec is not None else None
    for decoded in reader.frames_from(start_s, on_other_packet=(
            (lambda packet: sound.feed(conn, packet, control[_SOUND] > 0))
            if sound is not None and sound.stream is not None else None)):
        if decoded.time_s < control[_CLOCK] - late_by:
            skipped += 1
            continue
        pictures = [blurred_picture(decoded.frame, view, settings)]
        if control[_SHARP] > 0:
            pictures.append(sharp_picture(decoded.frame, sharp_size, settings))
        _send_pictures(conn, decoded.time_s, pictures)
    return skipped


class _SoundDecoder:
    """The video's first audio track, resampled to the device's format, from `start_s`."""

    def __init__(self, reader: VideoReader, start_s: float, spec: AudioSpec) -> None:
        import av

        streams = reader.audio_streams
        self.stream = streams[0] if streams else None
        self.spec = spec
        self.start_s = start_s
        self._offset = reader.start_offset_s
        self._resampler = av.AudioResampler(
            format="s16" if spec.sample_format == "s16" else "flt",
            layout=spec.layout, rate=spec.sample_rate)
        self._next_s: float | None = None

    def feed(self, conn: Connection, packet: Any, sound_on: bool) -> None:
        if packet.stream is not self.stream:
            return
        if not sound_on:
            self._next_s = None  # decode nothing while muted
            return
        import av

        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            return  # a damaged sound packet is silence; the picture goes on
        for frame in frames:
            if frame.pts is not None:
                time_s = float(frame.pts * frame.time_base) - self._offset
                if self._next_s is None or abs(time_s - self._next_s) > 0.1:
                    self._next_s = time_s
            for out in self._resampler.resample(frame):
                self._send(conn, out)

    def _send(self, conn: Connection, out: Any) -> None:
        spec = self.spec
        pcm = bytes(out.planes[0])[: out.samples * spec.bytes_per_frame]
        time_s = self._next_s if self._next_s is not None else self.start_s
        self._next_s = time_s + out.samples / spec.sample_rate
        if time_s < self.start_s:  # before the position asked for: cut
            skip = math.ceil((self.start_s - time_s) * spec.sample_rate) * spec.bytes_per_frame
            if skip >= len(pcm):
                return
            pcm, time_s = pcm[skip:], self.start_s
        if pcm:
            conn.send(("audio", time_s, 1))
            conn.send_bytes(pcm)

