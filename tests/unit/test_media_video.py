"""Video decoding without a window: what a video is, frames by position reached from their
keyframe, storyboards, blurred playback frames, and every kind of bad video refused with a
reason a reviewer understands (in the decoder and in `reviewer-admin media-check`).
"""

from __future__ import annotations

import io
import itertools
import random
import threading
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from reviewer.media.check import check_file, check_files, check_video
from reviewer.media.errors import (
    CorruptFile,
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
from reviewer.media.synthetic_video import make_bad_videos, make_demo_video
from reviewer.media.video import (
    END_OF_VIDEO,
    PlaybackStream,
    VideoLimits,
    VideoReader,
    blurred_picture,
    detect_video,
    evenly_spaced,
    frame_picture,
    probe_video,
    sharp_picture,
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


def test_playback_stream_gives_every_frame_blurred_and_sharp_only_when_asked(video):
    stream = PlaybackStream(lambda: video, 1.0, (320, 240), SETTINGS)
    worker = threading.Thread(target=stream.run)
    worker.start()
    frames = []
    while (frame := stream.frames.get(timeout=10)) is not END_OF_VIDEO:
        frames.append(frame)
        if len(frames) == 5:
            stream.want_sharp.set()
    worker.join(10)
    times = [frame.time_s for frame in frames]
    assert times == pytest.approx([1.0 + i / 10 for i in range(20)])
    assert all(frame.sharp is None for frame in frames[:5])
    assert all(frame.sharp is not None for frame in frames[7:])
    assert all(energy(frame.blurred) < 3.0 for frame in frames)


def test_playback_stream_stops_promptly(video):
    stream = PlaybackStream(lambda: video, 0.0, (320, 240), SETTINGS, queue_size=1)
    worker = threading.Thread(target=stream.run)
    worker.start()
    stream.frames.get(timeout=10)
    stream.stop()
    worker.join(2)
    assert not worker.is_alive()


@pytest.mark.parametrize(("name", "error", "reason"), [
    ("zero_length.mp4", EmptyFile, "the file is empty"),
    ("truncated.mp4", TruncatedFile, "the file is truncated"),
    ("truncated_middle.mkv", TruncatedFile, "the video is truncated: it stops before 0:0"),
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


@pytest.mark.parametrize(("limits", "reason"), [
    (VideoLimits(max_side=100), "the video is wider or taller than 100 pixels"),
    (VideoLimits(max_pixels=10_000), "the video's frames are larger than 0.01 megapixels"),
    (VideoLimits(max_frames=10), "the video has more than 10 frames"),
    (VideoLimits(max_duration_s=1.0), "the video is longer than 0:01.0"),
])
def test_limits_refuse_videos_before_decoding(video, limits, reason):
    with pytest.raises(ImageTooLarge, match=reason):
        VideoReader(video, limits)


def test_decoding_has_a_deadline_and_a_frame_budget():
    long_gop = make_demo_video(random.Random(6), (64, 48), 3.0, 10, audio=False, gop=100)
    with VideoReader(long_gop, VideoLimits(max_frames_per_seek=5)) as reader, \
            pytest.raises(CorruptFile, match="needs more than 5 frames"):
        reader.frame_at(2.0)
    with VideoReader(long_gop, VideoLimits(timeout_s=1e-9)) as reader, \
            pytest.raises(DecodeTimeout):
        reader.frame_at(2.0)


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
        f"{tmp_path / 'cut.mp4'}: ERROR the file is truncated",
        f"{tmp_path / 'image.mp4'}: OK PNG 64x48",  # judged by content: a fine image
    ]
