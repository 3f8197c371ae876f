"""Video review inside the media viewer: storyboard, blurred playback, sound, metadata.

The player never paints a frame itself: every frame goes to the viewer's canvas as a blurred
picture (and a sharp one only while the reviewer reveals), so the viewer's reveal modes,
timer, lens, curtain and exposure accounting apply to video exactly as to images. Playback
never starts by itself; sound is muted for every new item and only the reviewer unmutes it.

Keys, with the media focused:

    K        play / pause                 , / .    one frame back / forward (pauses)
    M        sound on / muted             [ / ]    loop from / to here;  \\  no loop

Decoding runs in bounded worker processes (`reviewer.media.video_worker`: memory and time
limits), driven from background threads (`ui.widgets.tasks.TaskRunner`): the storyboard with
progress, and during playback a worker that decodes and blurs ahead into a small queue
while a timer on the GUI thread shows each frame at its time, dropping frames that are
already late. Sound, once unmuted, comes from the same worker in the audio device's format
and is written to the device on the same clock (`ui.viewer.audio_output`); it plays at 1× only
(other speeds are silent: no pitch-corrected resampling).
"""

from __future__ import annotations

import math
import queue
import time
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QSize, Qt, QThreadPool, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.media.errors import MediaError
from reviewer.media.storyboard import (
    StoryboardCache,
    StoryboardFrame,
)
from reviewer.media.video import (
    DEFAULT_VIDEO_LIMITS,
    END_OF_VIDEO,
    PlaybackFrame,
    VideoInfo,
    VideoLimits,
    format_time,
)
from reviewer.media.video_worker import (
    WorkerPlaybackStream,
)
from ui.viewer.audio_output import AudioOutput
from ui.viewer.storyboard_strip import Cancel, StoryboardStrip
from ui.widgets.images import pil_to_qimage
from ui.widgets.tasks import TaskRunner


class FrameSurface(Protocol):
    """Where the player's frames go: the media viewer (`ui.viewer.media_viewer`), which
    owns the canvas, the reveal and the exposure ledger; the player only feeds it."""

    canvas: Any
    covered: bool
    covered_changed: Any
    ledger: Any
    media: Any
    reveal_mode: Any

    def rendition_settings(self, *args: Any, **kwargs: Any) -> Any: ...
    def show_video_frame(self, *args: Any, **kwargs: Any) -> Any: ...
    def refresh_video_frame(self, *args: Any, **kwargs: Any) -> Any: ...
    def view_size(self, *args: Any, **kwargs: Any) -> Any: ...

SPEEDS = (0.25, 0.5, 1.0, 1.5, 2.0, 4.0)
# A resize re-renders the storyboard once it has settled (if its pictures change size).
STORYBOARD_RESIZE_MS = 300
# The playback clock checks for due frames this often: well under a frame at 60 fps.
PLAYBACK_TICK_MS = 4
MAX_SHARP_SIDE = 4096


def is_video(item: Any) -> bool:
    """Whether a media item is a video, by its declared type (the decoder checks the rest)."""
    return str(getattr(item, "mime_type", "") or "").startswith("video/")


class VideoPlayer(QWidget):
    """The controls and storyboard under the viewer's canvas, shown for video items only."""

    def __init__(self, viewer: FrameSurface, tasks: TaskRunner,
                 media_source: Callable[[str], bytes | None], *,
                 storyboard_cache: StoryboardCache | None = None,
                 limits: VideoLimits = DEFAULT_VIDEO_LIMITS,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self._tasks = tasks
        # Playback holds a worker for as long as it plays: its own pool, so renditions and
        # storyboards never wait behind it.
        self._stream_tasks = TaskRunner(self, QThreadPool(self))
        self._media_source = media_source
        self._limits = limits
        self.item: Any = None
        self.info: VideoInfo | None = None
        self.error: str | None = None
        self.position_s = 0.0
        self.playing = False
        self.speed = 1.0
        self.muted = True
        self.loop_range: tuple[float, float] | None = None
        self.frames_shown = 0
        self.frames_dropped = 0
        self._stream: WorkerPlaybackStream | None = None
        self._pending: PlaybackFrame | None = None
        self._ended = False
        self._anchor: tuple[float, float] | None = None  # (monotonic, position) of the clock
        # Workers must not outlive the widget: stopped when it goes (see the end of __init__).
        running: list[WorkerPlaybackStream | Cancel] = []
        self._running = running
        self.strip = StoryboardStrip(
            viewer, tasks, media_source, cache=storyboard_cache or StoryboardCache(),
            limits=limits, running=running, on_info=self._set_info,
            on_error=self._storyboard_failed, on_seek=self.seek)
        self.strip.count_box.valueChanged.connect(self.set_storyboard_count)
        self.audio = AudioOutput(self)

        self.play_button = _button("▶", "Play / pause (K)", self.toggle_play)
        self.back_button = _button("◀|", "One frame back (,)", lambda: self.step(-1))
        self.forward_button = _button("|▶", "One frame forward (.)", lambda: self.step(1))
        self.speed_box = QComboBox()
        self.speed_box.setAccessibleName("Playback speed")
        self.speed_box.setToolTip("Playback speed")
        for speed in SPEEDS:
            self.speed_box.addItem(f"{speed:g}×", speed)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.currentIndexChanged.connect(
            lambda index: self.set_speed(SPEEDS[index]))
        self.seek_slider = QSlider(Qt.Orientation.Horizontal)
        self.seek_slider.setAccessibleName("Position")
        self.seek_slider.setToolTip("Position: drag to seek")
        self.seek_slider.setTracking(False)
        self.seek_slider.valueChanged.connect(self._on_slider)
        self.time_label = QLabel("0:00.0 / 0:00.0")
        self.mute_button = _button("Muted", "Sound on / muted (M)", self.toggle_mute)
        self.mute_button.setCheckable(True)
        self.audio_label = QLabel("")
        self.audio_label.setObjectName("audioStatus")
        self.loop_label = QLabel("")
        self.info_label = QLabel("")
        self.info_label.setObjectName("videoInfo")
        self.info_label.setTextFormat(Qt.TextFormat.PlainText)

        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        for widget in (self.play_button, self.back_button, self.forward_button,
                       self.speed_box):
            controls.addWidget(widget)
        controls.addWidget(self.seek_slider, 1)
        controls.addWidget(self.time_label)
        controls.addWidget(self.loop_label)
        controls.addWidget(self.mute_button)
        controls.addWidget(self.audio_label)
        details = QHBoxLayout()
        details.setContentsMargins(0, 0, 0, 0)
        details.addWidget(self.info_label, 1)
        details.addWidget(self.strip.progress_label)
        details.addWidget(self.strip.count_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addLayout(details)
        layout.addWidget(self.strip)

        self._tick = QTimer(self)
        self._tick.setTimerType(Qt.TimerType.PreciseTimer)
        self._tick.setInterval(PLAYBACK_TICK_MS)
        self._tick.timeout.connect(self._on_tick)
        self._resized = QTimer(self)
        self._resized.setSingleShot(True)
        self._resized.setInterval(STORYBOARD_RESIZE_MS)
        self._resized.timeout.connect(self._storyboard_resized)
        viewer.covered_changed.connect(self._on_covered)
        self.destroyed.connect(lambda *_: _stop_all(running, storyboards=True))
        self.hide()

    # -- the item --------------------------------------------------------------------------

    def set_item(self, item: Any) -> None:
        """A video item is now the viewer's current item: muted, paused at its start."""
        self.leave()
        self.item = item
        self.position_s = 0.0
        self.viewer.ledger.audio_changed(False)
        self._show_mute()
        self._show_time()
        self.info_label.setText("Checking the video…")
        self.show()
        self.strip.build(item, self.info)

    def leave(self) -> None:
        """The item leaves: stop playing, mute again (per item), drop its storyboard."""
        self.pause()
        if not self.muted:
            self.muted = True
            self.viewer.ledger.audio_changed(False)
            self._show_mute()
        self.strip.clear()
        self.item = None
        self.info = None
        self.error = None
        self.loop_range = None
        self.loop_label.setText("")
        self.hide()

    @property
    def duration_s(self) -> float:
        return self.info.duration_s if self.info is not None else 0.0

    @property
    def frame_interval_s(self) -> float:
        return 1.0 / self.info.frame_rate if self.info is not None else 0.04

    # -- storyboard (ui.viewer.storyboard_strip) -------------------------------------------

    def storyboard_buttons(self) -> list[QToolButton]:
        return self.strip.buttons()

    @property
    def storyboard_count(self) -> int:
        return self.strip.count

    @property
    def storyboard_frames(self) -> list[StoryboardFrame]:
        return self.strip.frames

    @property
    def thumb_size(self) -> QSize:
        return self.strip.thumb_size

    @property
    def limits(self) -> VideoLimits:
        """The decoding workers' memory and time limits, for playback and the storyboard."""
        return self._limits

    @limits.setter
    def limits(self, limits: VideoLimits) -> None:
        self._limits = self.strip.limits = limits

    @property
    def storyboard_cache(self) -> StoryboardCache:
        return self.strip.cache

    def set_storyboard_count(self, count: int) -> None:
        if self.strip.set_count(count) and self.item is not None:
            self.strip.build(self.item, self.info)

    def settings_changed(self) -> None:
        """New blur or greyscale settings: playing frames and the storyboard follow at once."""
        if self.item is None:
            return
        if self.playing:
            self._start_stream(self.position_s)
        self.strip.build(self.item, self.info)

    def resizeEvent(self, event) -> None:  # Qt override
        super().resizeEvent(event)
        if self.item is not None:
            self._resized.start()

    def _storyboard_resized(self) -> None:
        """The player's size has settled: build the storyboard again if its pictures would
        change size."""
        if self.item is None or self.error is not None:
            return
        if self.strip.needs_rebuild(self.info):
            self.strip.build(self.item, self.info)

    def _storyboard_failed(self, reason: str) -> None:
        self.error = reason
        self.info_label.setText(f"This video cannot be played: {reason}.")

    def _set_info(self, info: VideoInfo | None) -> None:
        if info is None or self.info is not None:
            return
        self.info = info
        self.info_label.setText(info.summary())
        self.strip.info_known(info)  # in the video's shape, now known
        self.seek_slider.blockSignals(True)
        self.seek_slider.setRange(0, max(1, round(info.duration_s * 1000)))
        self.seek_slider.setPageStep(max(1, round(info.duration_s * 100)))
        self.seek_slider.blockSignals(False)
        self._show_time()

    def _on_covered(self, covered: bool) -> None:
        if covered:
            self.pause()
        self.strip.set_covered(covered)

    # -- position --------------------------------------------------------------------------

    def seek(self, position_s: float) -> None:
        """Go to `position_s`: the frame there is shown blurred (and keeps playing if it was)."""
        if self.item is None:
            return
        end = self.duration_s or position_s
        self.position_s = min(max(0.0, float(position_s)), end)
        self._show_time()
        if self.playing:
            self._start_stream(self.position_s)
        else:
            self.viewer.refresh_video_frame()

    def step(self, frames: int) -> None:
        """Pause and move `frames` frames (negative: back)."""
        if self.item is None or self.info is None:
            return
        self.pause()
        self.seek(self.position_s + frames * self.frame_interval_s)

    def _on_slider(self, value: int) -> None:
        self.seek(value / 1000)

    def set_loop_start(self) -> None:
        end = self.loop_range[1] if self.loop_range else self.duration_s
        self._set_loop(self.position_s, end)

    def set_loop_end(self) -> None:
        start = self.loop_range[0] if self.loop_range else 0.0
        self._set_loop(start, self.position_s)

    def clear_loop(self) -> None:
        self._set_loop(0.0, 0.0)

    def _set_loop(self, start: float, end: float) -> None:
        if self.info is None or end - start < self.frame_interval_s:
            self.loop_range = None
            self.loop_label.setText("")
            return
        self.loop_range = (start, end)
        self.loop_label.setText(f"Loop {format_time(start)}–{format_time(end)}")

    # -- playback --------------------------------------------------------------------------

    def toggle_play(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        """Start playing, blurred, from the current position (only on the reviewer's word)."""
        if self.playing or self.item is None or self.info is None or self.error is not None:
            return
        if self.viewer.covered or self.viewer.canvas.image is None:
            return
        if self.position_s >= self.duration_s - self.frame_interval_s:
            self.position_s = self.loop_range[0] if self.loop_range else 0.0
        self.playing = True
        self.viewer.ledger.playback_changed(True)
        self.play_button.setText("⏸")
        self._start_stream(self.position_s)
        self._tick.start()

    def pause(self) -> None:
        self._stop_stream()
        self._tick.stop()
        if self.playing:
            self.playing = False
            self.viewer.ledger.playback_changed(False)
        self.play_button.setText("▶")

    def set_speed(self, speed: float) -> None:
        if speed not in SPEEDS:
            raise ValueError(f"speed must be one of {SPEEDS}, not {speed}")
        if self._anchor is not None:
            self._anchor = (time.monotonic(), self._clock_position())
        was_audible = self._wants_sound()
        self.speed = speed
        index = SPEEDS.index(speed)
        if self.speed_box.currentIndex() != index:
            self.speed_box.setCurrentIndex(index)
        if self._wants_sound() != was_audible:
            self._sound_changed()
        self._show_mute()

    def _start_stream(self, start_s: float) -> None:
        self._stop_stream()
        item = self.item
        width, height = self.viewer.view_size()
        scale = min(4.0, self.viewer.canvas.devicePixelRatioF() * self.viewer.canvas.zoom)
        sharp = (min(MAX_SHARP_SIDE, math.ceil(width * scale)),
                 min(MAX_SHARP_SIDE, math.ceil(height * scale)))
        source = self._media_source
        audio_spec = None
        if self._wants_sound():
            audio_spec = self.audio.spec()
            if audio_spec is not None:
                self.audio.start(audio_spec)
            self._show_mute()
        stream = self._stream = WorkerPlaybackStream(
            lambda: source(item.content_hash), start_s, (width, height),
            self.viewer.rendition_settings, sharp_size=sharp, limits=self.limits,
            audio_spec=audio_spec, sound_on=audio_spec is not None)
        self._running.append(stream)
        stream.want_sharp = self.viewer.reveal_mode is not None
        self._pending = None
        self._ended = False
        self._anchor = None  # the clock starts with the first frame
        self._stream_tasks.run(stream.run, None,
                               lambda error: self._on_stream_failed(stream, error),
                               description="video playback", owner=self)

    def _stop_stream(self) -> None:
        self.audio.stop()
        if self._stream is not None:
            self._stream.stop()
            self._stream = None
        _stop_all(self._running, storyboards=False)
        self._pending = None
        self._anchor = None

    def _on_stream_failed(self, stream: WorkerPlaybackStream, error: BaseException) -> None:
        if stream is not self._stream:
            return
        self.pause()
        reason = error.reason if isinstance(error, MediaError) else "an unexpected error"
        self.info_label.setText(f"Playback stopped: {reason}.")

    def _clock_position(self) -> float:
        if self._anchor is None:
            return self.position_s
        started, position = self._anchor
        return position + (time.monotonic() - started) * self.speed

    def _on_tick(self) -> None:
        stream = self._stream
        if stream is None or not self.playing:
            return
        stream.want_sharp = self.viewer.reveal_mode is not None
        now = self._clock_position()
        stream.clock_s = now
        latest: PlaybackFrame | None = None
        while True:
            if self._pending is None and not self._ended:
                try:
                    self._pending = stream.frames.get_nowait()
                except queue.Empty:
                    break
                if self._pending is END_OF_VIDEO:
                    self._ended = True
            if self._pending is None:
                break
            if self._anchor is None:
                self._anchor = (time.monotonic(), self._pending.time_s)
                now = self._pending.time_s
            if self._pending.time_s > now + 0.25 * self.frame_interval_s:
                break
            if latest is not None:
                self.frames_dropped += 1
            latest, self._pending = self._pending, None
        if latest is not None:
            self._show_frame(latest)
        self._pump_sound(stream, now)
        if self.loop_range is not None and now >= self.loop_range[1]:
            self.seek(self.loop_range[0])
        elif self._ended and self._pending is None:
            if self.loop_range is not None:
                self.seek(self.loop_range[0])
            else:
                self.pause()

    def _show_frame(self, frame: PlaybackFrame) -> None:

        sharp = frame.sharp if self.viewer.reveal_mode is not None else None
        self.viewer.show_video_frame(pil_to_qimage(frame.blurred),
                                     pil_to_qimage(sharp) if sharp is not None else None)
        self.frames_shown += 1
        self.position_s = frame.time_s
        self._show_time()

    def _show_time(self) -> None:
        self.time_label.setText(
            f"{format_time(self.position_s)} / {format_time(self.duration_s)}")
        if not self.seek_slider.isSliderDown():
            self.seek_slider.blockSignals(True)
            self.seek_slider.setValue(round(self.position_s * 1000))
            self.seek_slider.blockSignals(False)

    # -- sound -----------------------------------------------------------------------------

    def toggle_mute(self) -> None:
        """Sound on or off for this item only; sound-on time counts in the exposure ledger
        (also at speeds where nothing is heard, and with no device: the reviewer chose it)."""
        if self.item is None:
            self._show_mute()
            return
        self.muted = not self.muted
        self.viewer.ledger.audio_changed(not self.muted)
        self._sound_changed()
        self._show_mute()

    def _wants_sound(self) -> bool:
        return (not self.muted and self.speed == 1.0 and self.info is not None
                and self.info.has_audio)

    def _sound_changed(self) -> None:
        """Muted, unmuted or a new speed while playing: the worker is asked for sound (in
        the device's format) from here on, or silenced at once."""
        if not self.playing or self._stream is None:
            return
        if self._wants_sound():
            if self._stream.audio_spec is None:
                if self.audio.spec() is not None:
                    self._start_stream(self.position_s)  # a worker that decodes sound too
            else:
                self.audio.start(self._stream.audio_spec)
                self._stream.sound_on = True
        else:
            self._stream.sound_on = False
            self.audio.stop()

    def _pump_sound(self, stream: WorkerPlaybackStream, now: float) -> None:
        while True:
            try:
                chunk = stream.audio.get_nowait()
            except queue.Empty:
                break
            if stream.sound_on:
                self.audio.feed(chunk)
        if self._anchor is not None:
            self.audio.pump(now)

    def _show_mute(self) -> None:
        self.mute_button.setChecked(not self.muted)
        self.mute_button.setText("Muted" if self.muted else "Sound on")
        note = ""
        if not self.muted:
            if self.info is not None and not self.info.has_audio:
                note = "This video has no sound"
            elif self.speed != 1.0:
                note = f"No sound at {self.speed:g}×"
            elif self.audio.spec() is None:
                note = "No audio device"
        self.audio_label.setText(note)

    # -- keys ------------------------------------------------------------------------------

    def handle_key(self, event: QKeyEvent) -> bool:
        """The player's keys, while a video item is shown; True if the key was used."""
        if self.item is None:
            return False
        key = event.key()
        if event.isAutoRepeat() and key in (Qt.Key.Key_K, Qt.Key.Key_M):
            return True
        actions = {
            Qt.Key.Key_K: self.toggle_play,
            Qt.Key.Key_M: self.toggle_mute,
            Qt.Key.Key_Comma: lambda: self.step(-1),
            Qt.Key.Key_Period: lambda: self.step(1),
            Qt.Key.Key_BracketLeft: self.set_loop_start,
            Qt.Key.Key_BracketRight: self.set_loop_end,
            Qt.Key.Key_Backslash: self.clear_loop,
        }
        action = actions.get(Qt.Key(key))
        if action is None:
            return False
        action()
        return True


def _stop_all(running: list[WorkerPlaybackStream | Cancel], *, storyboards: bool) -> None:
    """Stop every playback stream, and with `storyboards` every storyboard build too."""
    for worker in list(running):
        if isinstance(worker, WorkerPlaybackStream):
            worker.stop()
            running.remove(worker)
        elif storyboards or worker.is_set():
            worker.set()
            running.remove(worker)


def _button(text: str, tip: str, action: Callable[[], Any]) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setAccessibleName(tip.split(" (")[0])
    button.clicked.connect(lambda _=False: action())
    return button
