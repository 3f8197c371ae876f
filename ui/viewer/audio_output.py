"""Sound for video playback: PCM from the decoding worker to the audio device, on the
player's clock.

The worker decodes the sound already in the device's format (`AudioSpec`); this side only
queues the chunks and writes each to a `QAudioSink` when the player's clock reaches it, so
sound follows the picture through pauses, seeks and loops (the player stops the sink and
the queue on each). Nothing is written ahead of the clock by more than `LEAD_S`, and chunks
the clock has already passed are dropped, never played late. With no audio device the
output says so and does nothing; the video plays on.
"""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QLoggingCategory, QObject

from reviewer.media.video_worker import AudioChunk, AudioSpec

# How far ahead of the picture sound is written: the device's own latency, about.
LEAD_S = 0.05
# Sound this far behind the clock is dropped rather than played late.
LATE_S = 0.1

# Optional libraries (PipeWire, VA-API) that Qt Multimedia looks for and does without.
QLoggingCategory.setFilterRules("qt.multimedia.symbolsresolver.warning=false")


class AudioOutput(QObject):
    """The default audio device, as a sink for a playing video's sound."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sink = None
        self._io = None
        self._spec: AudioSpec | None = None
        self._pending: deque[AudioChunk] = deque()
        self._partial = b""
        self.bytes_written = 0

    def spec(self) -> AudioSpec | None:
        """The PCM format of the default output device, or None if there is no device."""
        from PySide6.QtMultimedia import QAudioFormat, QMediaDevices

        device = QMediaDevices.defaultAudioOutput()
        if device.isNull():
            return None
        preferred = device.preferredFormat()
        rate = preferred.sampleRate() or 48_000
        channels = min(2, max(1, preferred.channelCount() or 2))
        sample_format = "flt" if preferred.sampleFormat() == QAudioFormat.SampleFormat.Float \
            else "s16"
        try:
            return AudioSpec(rate, channels, sample_format)
        except ValueError:
            return AudioSpec(48_000, 2, "s16")

    @property
    def available(self) -> bool:
        return self.spec() is not None

    @property
    def playing(self) -> bool:
        return self._io is not None

    def start(self, spec: AudioSpec) -> bool:
        """Open the device for `spec`; False if there is none (or it refuses)."""
        from PySide6.QtMultimedia import QAudioFormat, QAudioSink, QMediaDevices

        self.stop()
        device = QMediaDevices.defaultAudioOutput()
        if device.isNull():
            return False
        audio_format = QAudioFormat()
        audio_format.setSampleRate(spec.sample_rate)
        audio_format.setChannelCount(spec.channels)
        audio_format.setSampleFormat(QAudioFormat.SampleFormat.Int16
                                     if spec.sample_format == "s16"
                                     else QAudioFormat.SampleFormat.Float)
        if not device.isFormatSupported(audio_format):
            return False
        sink = QAudioSink(device, audio_format, self)
        sink.setBufferSize(int(spec.sample_rate * spec.bytes_per_frame * 0.25))
        io = sink.start()
        if io is None:
            sink.deleteLater()
            return False
        self._sink, self._io, self._spec = sink, io, spec
        return True

    def feed(self, chunk: AudioChunk) -> None:
        if self._io is not None:
            self._pending.append(chunk)

    def pump(self, clock_s: float) -> None:
        """Write the sound that is due by `clock_s` (a little ahead, for the device)."""
        spec, io, sink = self._spec, self._io, self._sink
        if spec is None or io is None or sink is None:
            return
        if self._partial:
            self._partial = self._partial[self._write(self._partial):]
            if self._partial:
                return
        while self._pending and self._pending[0].time_s <= clock_s + LEAD_S:
            chunk = self._pending.popleft()
            pcm = chunk.pcm
            late = clock_s - LATE_S - chunk.time_s
            if late > 0:
                frames = int(late * spec.sample_rate)
                pcm = pcm[frames * spec.bytes_per_frame:]
            if not pcm:
                continue
            written = self._write(pcm)
            if written < len(pcm):
                self._partial = pcm[written:]
                return

    def _write(self, pcm: bytes) -> int:
        assert self._io is not None and self._sink is not None
        room = self._sink.bytesFree()
        if room <= 0:
            return 0
        frame = self._spec.bytes_per_frame if self._spec is not None else 1
        room -= room % frame
        written = self._io.write(pcm[:room])
        written = max(0, int(written))
        self.bytes_written += written
        return written

    def stop(self) -> None:
        """Silence at once: the sink and everything queued for it are dropped."""
        self._pending.clear()
        self._partial = b""
        sink, self._sink, self._io = self._sink, None, None
        if sink is not None:
            sink.stop()
            sink.deleteLater()
