"""Video decoding without a window: what a video is, frames by position reached from their
keyframe, storyboards, blurred playback frames and sound, and every kind of bad video
refused with a reason a reviewer understands (in the decoder, in the bounded worker process
the app uses, and in `reviewer-admin media-check`).
"""

from __future__ import annotations

import array
import io
import itertools
import random
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from reviewer.demo.video import make_bad_videos, make_demo_video
from reviewer.media.check import check_file, check_files, check_video
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
from reviewer.media.render import RenditionSettings
from reviewer.media.storyboard import (
    StoryboardCache,
    StoryboardKey,
    build_storyboard,
)
from reviewer.media.video import (
    END_OF_VIDEO,
    VideoLimits,
    VideoReader,
    blurred_picture,
    detect_video,
    evenly_spaced,
    frame_picture,
    probe_video,
    sharp_picture,
)
from reviewer.media.video_worker import (
    AudioSpec,
    VideoJob,
    WorkerPlaybackStream,
    build_storyboard_bounded,
    check_video_bounded,
    frame_picture_bounded,
    probe_video_bounded,
)

SETTINGS = RenditionSettings()


@pytest.fixture(scope="module")
def video() -> bytes:
    """3 s at 10 fps, 160x120, a keyframe every second, a sharp checkerboard, a beep."""
    return make_demo_video(random.Random(5), (160, 120), 3.0, 10, checker=4)


@pytest.fixture(scope="module")
def bad_videos() -> dict[str, bytes]:
    return make_bad_videos()


def energy(picture: Image.Image) -> float:
    grey = picture.convert("L")
    width, height = grey.size
    across = ImageChops.difference(grey.crop((0, 0, width - 1, height)),
                                   grey.crop((1, 0, width, height)))
    return ImageStat.Stat(across).mean[0]


def test_probe_reports_what_the_reviewer_sees(video):
    info = probe_video(video)
    assert (info.container, info.codec, info.width, info.height) == ("MP4/MOV", "h264",
                                                                     160, 120)
    assert info.duration_s == pytest.approx(3.0, abs=0.05)
    assert info.frame_rate == 10 and info.frame_count == 30
    assert info.has_audio and info.audio_codec == "aac"
    assert info.summary() == "0:03.0 · 160×120 · h264 · 10 fps · audio (aac)"


def test_a_position_is_reached_from_its_keyframe_not_from_the_start(video):
    with VideoReader(video) as reader:
        frame = reader.frame_at(2.5)
        assert frame.time_s == pytest.approx(2.5)
        assert reader.frames_decoded <= 10 + 1  # at most one GOP (1 s at 10 fps)
    with VideoReader(video) as reader:
        assert reader.frame_at(0.34).time_s == pytest.approx(0.3)
        assert reader.frame_at(99).time_s == pytest.approx(2.9)  # clamped to the end


def test_storyboard_frames_are_evenly_spaced_blurred_and_cached(video):
    seen: list[tuple[int, int]] = []
    board = build_storyboard(video, 12, (128, 72), SETTINGS,
                             progress=lambda frame, done, total: seen.append((done, total)))
    assert seen == [(done, 12) for done in range(1, 13)]
    positions = [frame.position_s for frame in board.frames]
    assert positions == pytest.approx(evenly_spaced(3.0, 12))
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(positions)}
    assert gaps == {0.25}
    for frame in board.frames:
        assert abs(frame.frame_time_s - frame.position_s) <= 0.05 + 1e-9
        assert frame.picture.mode == "L"
    with VideoReader(video) as reader:
        sharp = sharp_picture(reader.frame_at(1.0).frame, (128, 72), SETTINGS)
    assert energy(sharp) > 20
    assert max(energy(frame.picture) for frame in board.frames) < energy(sharp) / 10

    cache = StoryboardCache(max_entries=1)
    key = StoryboardKey("hash", 12, (128, 72), SETTINGS)
    cache.put(key, board)
    assert cache.get(key) is board
    cache.put(StoryboardKey("hash", 4, (128, 72), SETTINGS), board)  # wrong count: not kept
    assert len(cache) == 1
    with pytest.raises(ValueError):
        build_storyboard(video, 1, (128, 72), SETTINGS)


def test_blurred_frames_follow_the_rendition_settings(video):
    with VideoReader(video) as reader:
        frame = reader.frame_at(1.0).frame
        blurred = blurred_picture(frame, (640, 480), SETTINGS)
        colour = blurred_picture(frame, (640, 480), RenditionSettings(grayscale=False))
        unblurred = blurred_picture(frame, (640, 480), RenditionSettings(blur_fraction=0.0))
    assert blurred.mode == "L" and colour.mode == "RGB"
    assert blurred.width < 640  # decoded only as finely as the blur can show
    assert blurred.width / blurred.height == pytest.approx(4 / 3, abs=0.02)
    assert unblurred.size == (160, 120)  # never enlarged
    assert energy(unblurred) > 10 * energy(blurred.resize((160, 120)))
    time_s, picture = frame_picture(video, 2.0, (320, 240), SETTINGS, sharp=True)
    assert time_s == pytest.approx(2.0) and picture.size == (160, 120)


@pytest.mark.parametrize(("name", "error", "reason"), [
    ("zero_length.mp4", EmptyFile, "the file is empty"),
    ("truncated.mp4", TruncatedFile, "the file is cut short: it ends after 13,838 of "
                                     "22,192 bytes, before the video's index (moov)"),
    ("truncated_middle.mkv", TruncatedFile, "the file is cut short: the video stops at 0:01."),
    ("unsupported_codec.mkv", UnsupportedFormat, "the video codec (ffv1) is not supported"),
    ("image_named.mp4", UnsupportedFormat, "the file is an image (PNG), not a video"),
    ("text_named.mp4", UnsupportedFormat, "the file is not a supported video (looks like a "
                                          "text file)"),
    ("absurd_dimensions.mp4", ImageTooLarge, "the video is wider or taller than 8192 pixels"),
    ("absurd_frame_rate.mp4", CorruptFile, "the file is damaged: the frame rate is "
                                           "implausible (1000 per second)"),
])
def test_bad_videos_are_refused_with_a_reason(bad_videos, name, error, reason):
    data = bad_videos[name]
    with pytest.raises(error) as caught:
        if name == "truncated_middle.mkv":
            build_storyboard(data, 12, (64, 48), SETTINGS)
        else:
            probe_video(data)
    assert caught.value.reason.startswith(reason)
    assert check_video(data).startswith(f"ERROR {reason}")
    # The same in the bounded worker the app decodes in, for each thing the app asks of it.
    with pytest.raises(error) as caught:
        check_video_bounded(data)
    assert caught.value.reason.startswith(reason)
    assert check_video(data, bounded=True).startswith(f"ERROR {reason}")
    with pytest.raises(error):
        build_storyboard_bounded(data, 12, (64, 48), SETTINGS)
    if name != "truncated_middle.mkv":  # its start is fine: shown blurred, not played
        with pytest.raises(error):
            frame_picture_bounded(data, 0.0, (64, 48), SETTINGS, sharp=False)


def test_mp4_cut_short_in_its_media_data_says_how_much_is_there():
    """An upload that stopped part-way through the video data (the index came first, as in
    a fragmented or "fast start" MP4)."""
    out = io.BytesIO()
    import av

    good = make_demo_video(random.Random(8), (64, 48), 1.0, 10, audio=False)
    with av.open(io.BytesIO(good)) as source, \
            av.open(out, "w", format="mp4",
                    options={"movflags": "frag_keyframe+empty_moov"}) as target:
        stream = target.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                target.mux(packet)
    fast_start = out.getvalue()
    assert fast_start.index(b"moov") < fast_start.index(b"mdat")
    with pytest.raises(TruncatedFile, match=r"^the file is cut short: only \d+% of the video "
                                            r"data is there"):
        probe_video(fast_start[: len(fast_start) - 200])


@pytest.mark.parametrize(("limits", "reason"), [
    (VideoLimits(max_side=100), "the video is wider or taller than 100 pixels"),
    (VideoLimits(max_pixels=10_000), "the video's frames are larger than 0.01 megapixels"),
    (VideoLimits(max_frames=10), "the video has more than 10 frames"),
    (VideoLimits(max_duration_s=1.0), "the video is longer than 0:01.0"),
])
def test_limits_refuse_videos_before_decoding(video, limits, reason):
    with pytest.raises(ImageTooLarge, match=reason):
        VideoReader(video, limits)
    with pytest.raises(ImageTooLarge, match=reason):
        probe_video_bounded(video, limits)  # the same in the app's worker


def test_decoding_has_a_deadline_and_a_frame_budget():
    long_gop = make_demo_video(random.Random(6), (64, 48), 3.0, 10, audio=False, gop=100)
    with VideoReader(long_gop, VideoLimits(max_frames_per_seek=5)) as reader, \
            pytest.raises(CorruptFile, match="needs more than 5 frames"):
        reader.frame_at(2.0)
    with VideoReader(long_gop, VideoLimits(timeout_s=1e-9)) as reader, \
            pytest.raises(DecodeTimeout):
        reader.frame_at(2.0)


def test_worker_gives_what_the_in_process_decoder_gives(video):
    assert probe_video_bounded(video) == probe_video(video)
    time_s, picture = frame_picture_bounded(video, 2.0, (320, 240), SETTINGS, sharp=True)
    assert time_s == pytest.approx(2.0) and picture.size == (160, 120)
    seen: list[int] = []
    board = build_storyboard_bounded(video, 12, (128, 72), SETTINGS,
                                     progress=lambda frame, done, total: seen.append(done))
    assert seen == list(range(1, 13))
    local = build_storyboard(video, 12, (128, 72), SETTINGS)
    assert [f.frame_time_s for f in board.frames] == [f.frame_time_s for f in local.frames]
    assert [f.picture.tobytes() for f in board.frames] == \
        [f.picture.tobytes() for f in local.frames]


def test_a_decoder_over_its_memory_limit_is_stopped_and_reported():
    big = make_demo_video(random.Random(9), (1920, 1080), 0.3, 10, audio=False)
    limits = VideoLimits(memory_mb=16)
    jobs: list[VideoJob] = []
    with pytest.raises(DecodeMemoryExceeded, match="more than the 16 MB of memory allowed"):
        build_storyboard_bounded(big, 4, (64, 48), SETTINGS, limits=limits,
                                 on_job=jobs.append)
    assert len(jobs) == 1 and not jobs[0].process_alive
    # The app itself is untouched: the same file decodes within the default limits.
    assert probe_video_bounded(big).width == 1920


def test_a_decoder_past_its_time_limit_is_killed():
    long_gop = make_demo_video(random.Random(6), (320, 240), 3.0, 10, audio=False, gop=100)
    jobs: list[VideoJob] = []
    with pytest.raises(DecodeTimeout):
        build_storyboard_bounded(long_gop, 12, (64, 48), SETTINGS,
                                 limits=VideoLimits(timeout_s=1e-4), on_job=jobs.append)
    assert len(jobs) == 1 and not jobs[0].process_alive


def _run_stream(stream: WorkerPlaybackStream, *, sharp_after: int | None = None) -> list:
    worker = threading.Thread(target=stream.run)
    worker.start()
    frames = []
    while (frame := stream.frames.get(timeout=30)) is not END_OF_VIDEO:
        frames.append(frame)
        if len(frames) == sharp_after:
            stream.want_sharp = True
    worker.join(30)
    return frames


def test_worker_playback_gives_every_frame_blurred_and_sharp_only_when_asked(video):
    stream = WorkerPlaybackStream(lambda: video, 1.0, (320, 240), SETTINGS)
    frames = _run_stream(stream, sharp_after=5)
    assert [frame.time_s for frame in frames] == pytest.approx([1.0 + i / 10 for i in range(20)])
    assert all(frame.sharp is None for frame in frames[:5])
    assert all(frame.sharp is not None for frame in frames[12:])
    assert all(energy(frame.blurred) < 3.0 for frame in frames)
    assert stream.audio.empty() and stream.audio_bytes == 0  # no sound asked for


def _zero_crossings_per_s(samples: array.array, rate: int) -> float:
    crossings = sum(1 for a, b in itertools.pairwise(samples) if (a < 0) != (b < 0))
    return crossings * rate / len(samples)


@pytest.mark.parametrize("spec", [AudioSpec(48_000, 2, "s16"), AudioSpec(44_100, 1, "flt")])
def test_unmuted_playback_sends_the_beep_in_the_devices_format(video, spec):
    """The demo's sound is a 440 Hz beep for the first 0.2 s of every second."""
    stream = WorkerPlaybackStream(lambda: video, 0.5, (160, 120), SETTINGS,
                                  audio_spec=spec, sound_on=True)
    _run_stream(stream)
    chunks = []
    while not stream.audio.empty():
        chunks.append(stream.audio.get())
    assert chunks and chunks[0].time_s == pytest.approx(0.5, abs=1e-3)
    pcm = b"".join(chunk.pcm for chunk in chunks)
    assert len(pcm) % spec.bytes_per_frame == 0
    samples = array.array("h" if spec.sample_format == "s16" else "f", pcm)[::spec.channels]
    rate = spec.sample_rate
    assert len(samples) / rate == pytest.approx(2.5, abs=0.1)  # 0.5 s to the end (3.0 s)

    def at(start_s: float, end_s: float) -> array.array:
        return samples[round((start_s - 0.5) * rate): round((end_s - 0.5) * rate)]

    beep = at(1.02, 1.18)
    loudest = max(abs(value) for value in beep)
    assert loudest > (0.15 if spec.sample_format == "flt" else 5000)
    assert _zero_crossings_per_s(beep, rate) == pytest.approx(880, rel=0.03)  # 440 Hz
    assert _zero_crossings_per_s(at(2.02, 2.18), rate) == pytest.approx(880, rel=0.03)
    quiet = at(1.4, 1.9)
    assert max(abs(value) for value in quiet) < loudest / 50  # silence between beeps


def test_muted_playback_decodes_no_sound_until_unmuted(video):
    stream = WorkerPlaybackStream(lambda: video, 0.0, (160, 120), SETTINGS,
                                  audio_spec=AudioSpec(48_000, 2, "s16"), sound_on=False,
                                  queue_size=1)
    worker = threading.Thread(target=stream.run)
    worker.start()
    for _ in range(15):
        assert stream.frames.get(timeout=30) is not END_OF_VIDEO
    assert stream.audio_bytes == 0 and stream.audio.empty()
    stream.sound_on = True
    while stream.frames.get(timeout=30) is not END_OF_VIDEO:
        pass
    worker.join(30)
    first = stream.audio.get_nowait()
    assert first.time_s >= 1.0  # sound from where it was unmuted, not from the start
    assert stream.audio_bytes > 0


def test_worker_playback_stops_promptly(video):
    stream = WorkerPlaybackStream(lambda: video, 0.0, (320, 240), SETTINGS, queue_size=1)
    worker = threading.Thread(target=stream.run)
    worker.start()
    stream.frames.get(timeout=30)
    pid = stream.worker_pid
    assert pid is not None
    stream.stop()
    worker.join(5)
    assert not worker.is_alive()
    assert stream._job is not None and not stream._job.process_alive


def test_detect_video_by_content_only():
    assert detect_video(make_demo_video(random.Random(1), (64, 48), 0.5, 10,
                                        container="matroska", audio=False)) == "WebM/Matroska"
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg, "JPEG")
    with pytest.raises(UnsupportedFormat, match="an image \\(JPEG\\)"):
        detect_video(jpeg.getvalue())
    with pytest.raises(MediaError):
        detect_video(b"")


def test_media_check_reports_videos(tmp_path: Path, video, bad_videos):
    (tmp_path / "clip.mp4").write_bytes(video)
    (tmp_path / "cut.mp4").write_bytes(bad_videos["truncated.mp4"])
    (tmp_path / "image.mp4").write_bytes(bad_videos["image_named.mp4"])
    assert check_file(tmp_path / "clip.mp4") == (
        "OK MP4/MOV 160x120 h264 3.0 s 10 fps audio")
    out = io.StringIO()
    paths = [tmp_path / "clip.mp4", tmp_path / "cut.mp4", tmp_path / "image.mp4"]
    assert check_files(paths, out, hard_bounds=False) == 1
    assert out.getvalue().splitlines() == [
        f"{tmp_path / 'clip.mp4'}: OK MP4/MOV 160x120 h264 3.0 s 10 fps audio",
        f"{tmp_path / 'cut.mp4'}: ERROR the file is cut short: it ends after 13,838 of "
        f"22,192 bytes, before the video's index (moov)",
        f"{tmp_path / 'image.mp4'}: OK PNG 64x48",  # judged by content: a fine image
    ]
    bounded = io.StringIO()
    assert check_files(paths, bounded) == 1  # videos in the bounded worker
    assert bounded.getvalue() == out.getvalue()


def test_reviewer_admin_media_check_names_a_cut_short_video(tmp_path: Path, bad_videos,
                                                            capsys):
    from reviewer.cli import main

    cut = tmp_path / "upload.mp4"
    cut.write_bytes(bad_videos["truncated.mp4"])
    assert main(["media-check", str(cut)]) == 1
    assert capsys.readouterr().out == (
        f"{cut}: ERROR the file is cut short: it ends after 13,838 of 22,192 bytes, before "
        f"the video's index (moov)\n")
