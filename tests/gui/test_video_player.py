"""Video in the media viewer, judged from the pixels it paints and the ledger it feeds:
blurred from the first frame and through playback, never playing or sounding by itself,
the storyboard seeks and follows the player's size, sound is decoded only when unmuted (and
the player says so when there is no device to play it on), and a bad video, or one that
exhausts its decoder's memory, is named, not shown.
"""

from __future__ import annotations

import hashlib
import random
import types
import uuid
from dataclasses import dataclass

import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtMultimedia import QMediaDevices
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QWidget

from reviewer.clock import ManualClock
from reviewer.demo.images import make_demo_image
from reviewer.demo.video import make_bad_videos, make_demo_video
from reviewer.media.render import Renderer, RenditionCache, RenditionSettings
from reviewer.media.video import VideoLimits, VideoReader, sharp_picture
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.wellness.exposure import ExposureLedger
from tests.helpers.gui import energy, grab, show_active, wait_until_idle
from ui.viewer.media_viewer import MediaViewer
from ui.widgets.tasks import TaskRunner

TAXONOMY = load_taxonomy()
SIZE = (160, 120)


@pytest.fixture(scope="module")
def checker_video() -> bytes:
    """3 s at 10 fps: a sharp 4-pixel checkerboard under moving shapes, with a beep."""
    return make_demo_video(random.Random(3), SIZE, 3.0, 10, checker=4)


@pytest.fixture(scope="module")
def second_video() -> bytes:
    return make_demo_video(random.Random(4), SIZE, 2.0, 10, checker=4, audio=False)


@dataclass
class Rig:
    viewer: MediaViewer
    clock: ManualClock
    ledger: ExposureLedger
    media: dict[str, bytes]
    tasks: TaskRunner

    def show(self, qtbot, *payloads: bytes, mime: str = "video/mp4") -> list[object]:
        """Open a case of these media (not waiting: see `showing` and `wait_idle`)."""
        items = []
        for position, payload in enumerate(payloads):
            content_hash = hashlib.sha256(payload).hexdigest()
            self.media[content_hash] = payload
            items.append(types.SimpleNamespace(
                id=uuid.uuid4(), content_hash=content_hash, position=position,
                mime_type=mime, width=None, height=None))
        case = types.SimpleNamespace(
            id=uuid.uuid4(), external_ref="CASE-0001", channel="user_report",
            surface="organic_post", language="en", region="GB",
            policy_area="violence_graphic", reported_text="Reported video.", reporter_note="")
        self.viewer.show_case(case, items)
        return items

    def showing(self, qtbot):  # type: ignore[no-untyped-def]
        """For a ``with`` block that puts an item on screen: waits at the block's end until
        its first frame is shown, blurred (`MediaViewer.media_shown`)."""
        return qtbot.waitSignal(self.viewer.media_shown, timeout=10_000)

    def wait_idle(self, qtbot) -> None:
        """The renditions and the storyboard asked for so far are done (and shown)."""
        wait_until_idle(qtbot, self.tasks)

    def wait_storyboard(self, qtbot) -> None:
        self.wait_idle(qtbot)
        player = self.viewer.video
        assert len(player.storyboard_buttons()) == player.storyboard_count
        assert player.info is not None

    def displayed_sharp_reference(self, payload: bytes, at_s: float) -> Image.Image:
        """The unblurred frame as the canvas would paint it, scaled to the same place."""
        with VideoReader(payload) as reader:
            frame = reader.frame_at(at_s).frame
            picture = sharp_picture(frame, self.viewer.view_size(),
                                    self.viewer.rendition_settings)
        canvas = Image.new("L", (self.viewer.canvas.width(), self.viewer.canvas.height()),
                           0x2b)
        rect = self.viewer.canvas.image_rect()
        shown = picture.convert("L").resize((round(rect.width()), round(rect.height())))
        canvas.paste(shown, (round(rect.x()), round(rect.y())))
        return canvas

    def image_box(self) -> tuple[int, int, int, int]:
        rect = self.viewer.canvas.image_rect()
        return (round(rect.x()) + 4, round(rect.y()) + 4,
                round(rect.right()) - 4, round(rect.bottom()) - 4)


@pytest.fixture
def rig(qtbot):
    clock = ManualClock()
    ledger = ExposureLedger(clock)
    media: dict[str, bytes] = {}
    tasks = TaskRunner()
    window = QWidget()
    qtbot.addWidget(window)
    viewer = MediaViewer(tasks, Renderer(None, RenditionCache()), media.get,
                         RenditionSettings(), taxonomy=TAXONOMY, ledger=ledger, clock=clock)
    layout = QHBoxLayout(window)
    layout.addWidget(viewer, 3)
    layout.addWidget(QPlainTextEdit(), 1)
    window.resize(900, 640)
    show_active(qtbot, window)
    rig = Rig(viewer, clock, ledger, media, tasks)
    rig.window = window
    yield rig
    viewer.video.pause()
    rig.wait_idle(qtbot)


def test_first_frame_is_blurred_and_nothing_plays_or_sounds(qtbot, rig, checker_video):
    with rig.showing(qtbot):
        rig.show(qtbot, checker_video)
    player = rig.viewer.video
    assert player.isVisible()
    assert not player.playing and player.muted
    shown = grab(rig.viewer).crop(rig.image_box())
    sharp = rig.displayed_sharp_reference(checker_video, 0.0).crop(rig.image_box())
    assert energy(sharp) > 8.0
    assert energy(shown) < energy(sharp) / 8
    rig.clock.advance(5)
    rig.ledger.flush()
    today = rig.ledger.today()
    assert today.revealed_playback_s == 0.0 and today.audio_on_s == 0.0


def test_metadata_and_storyboard_positions(qtbot, rig, checker_video):
    rig.show(qtbot, checker_video)
    rig.wait_storyboard(qtbot)
    player = rig.viewer.video
    assert player.info_label.text() == "0:03.0 · 160×120 · h264 · 10 fps · audio (aac)"
    positions = [frame.position_s for frame in player.storyboard_frames]
    assert positions == pytest.approx([3.0 * (i + 0.5) / 12 for i in range(12)])
    for frame in player.storyboard_frames:
        assert abs(frame.frame_time_s - frame.position_s) <= 0.05 + 1e-6
        assert energy(frame.picture) < 3.0  # blurred like the main view
    player.set_storyboard_count(6)
    rig.wait_idle(qtbot)
    assert len(player.storyboard_buttons()) == 6 and len(player.storyboard_frames) == 6


def test_storyboard_click_seeks_there(qtbot, rig, checker_video):
    with rig.showing(qtbot):
        rig.show(qtbot, checker_video)
    rig.wait_storyboard(qtbot)
    player = rig.viewer.video
    first = grab(rig.viewer)
    target = player.storyboard_frames[9]
    qtbot.mouseClick(player.storyboard_buttons()[9], Qt.MouseButton.LeftButton)
    assert player.position_s == pytest.approx(target.frame_time_s)
    rig.wait_idle(qtbot)  # the frame there, rendered in the background
    assert grab(rig.viewer).tobytes() != first.tobytes()
    assert player.time_label.text().startswith("0:02.")
    assert energy(grab(rig.viewer).crop(rig.image_box())) < 3.0


def test_playback_stays_blurred_and_counts_nothing_unrevealed(qtbot, rig, checker_video):
    with rig.showing(qtbot):
        rig.show(qtbot, checker_video)
    rig.wait_storyboard(qtbot)
    player = rig.viewer.video
    rig.viewer.canvas.setFocus()
    qtbot.keyClick(rig.viewer.canvas, Qt.Key.Key_K)
    assert player.playing
    # Polled, here and below: frames are shown by the player's own timer, with no signal.
    qtbot.waitUntil(lambda: player.frames_shown >= 5, timeout=10_000)
    for _ in range(3):  # each of the next three frames shown is blurred too
        shown = player.frames_shown
        qtbot.waitUntil(lambda shown=shown: player.frames_shown > shown, timeout=10_000)
        assert energy(grab(rig.viewer).crop(rig.image_box())) < 3.0
    assert rig.viewer.canvas.sharp is None
    rig.clock.advance(2)
    qtbot.keyClick(rig.viewer.canvas, Qt.Key.Key_K)
    assert not player.playing
    rig.ledger.flush()
    assert rig.ledger.today().revealed_playback_s == 0.0


def test_revealed_playback_is_counted(qtbot, rig, checker_video):
    with rig.showing(qtbot):
        rig.show(qtbot, checker_video)
    rig.wait_storyboard(qtbot)
    player = rig.viewer.video
    player.play()
    rig.viewer.toggle_reveal()
    rig.wait_idle(qtbot)  # the sharp rendition asked for by the reveal
    assert rig.viewer.canvas.sharp is not None
    rig.clock.advance(2)
    rig.viewer.reblur()
    player.pause()
    rig.ledger.flush()
    assert rig.ledger.today().revealed_playback_s == pytest.approx(2.0)
    # Frames still on their way must not bring a sharp picture back: once the renditions
    # and the playback worker have finished and delivered, none has.
    rig.wait_idle(qtbot)
    wait_until_idle(qtbot, player._stream_tasks)
    assert rig.viewer.canvas.sharp is None


def test_muted_on_load_unmute_counts_and_resets_for_next_item(qtbot, rig, checker_video,
                                                               second_video):
    with rig.showing(qtbot):
        rig.show(qtbot, checker_video, second_video)
    rig.wait_storyboard(qtbot)
    player = rig.viewer.video
    rig.viewer.canvas.setFocus()
    qtbot.keyClick(rig.viewer.canvas, Qt.Key.Key_M)
    assert not player.muted and player.mute_button.text() == "Sound on"
    player.play()
    rig.clock.advance(3)
    rig.ledger.flush()
    assert rig.ledger.today().audio_on_s == pytest.approx(3.0)
    with rig.showing(qtbot):
        rig.viewer.show_item(1)
        assert player.muted and not player.playing
    rig.wait_storyboard(qtbot)
    player.play()
    rig.clock.advance(3)
    player.pause()
    rig.ledger.flush()
    assert rig.ledger.today().audio_on_s == pytest.approx(3.0)  # nothing more: muted


def test_frame_step_and_speed_keys(qtbot, rig, checker_video):
    with rig.showing(qtbot):
        rig.show(qtbot, checker_video)
    rig.wait_storyboard(qtbot)
    player = rig.viewer.video
    rig.viewer.canvas.setFocus()
    qtbot.keyClick(rig.viewer.canvas, Qt.Key.Key_Period)
    qtbot.keyClick(rig.viewer.canvas, Qt.Key.Key_Period)
    assert player.position_s == pytest.approx(0.2)
    qtbot.keyClick(rig.viewer.canvas, Qt.Key.Key_Comma)
    assert player.position_s == pytest.approx(0.1)
    player.set_speed(4.0)
    assert player.speed_box.currentText() == "4×"
    with pytest.raises(ValueError):
        player.set_speed(8.0)


def test_panic_pauses_and_covers_the_storyboard(qtbot, rig, checker_video):
    with rig.showing(qtbot):
        rig.show(qtbot, checker_video)
    rig.wait_storyboard(qtbot)
    player = rig.viewer.video
    player.play()
    rig.viewer.panic()
    assert not player.playing
    assert all(button.icon().isNull() for button in player.storyboard_buttons())
    player.play()
    assert not player.playing  # no playing under the curtain
    rig.viewer.uncover()
    assert not any(button.icon().isNull() for button in player.storyboard_buttons())


BAD_VIDEOS = make_bad_videos()


@pytest.mark.parametrize("name", sorted(set(BAD_VIDEOS) - {"truncated_middle.mkv"}))
def test_bad_video_gets_a_clear_message(qtbot, rig, name):
    rig.show(qtbot, BAD_VIDEOS[name])
    rig.wait_idle(qtbot)  # the rendition and the storyboard both failed
    assert "could not be shown" in rig.viewer.canvas.message
    assert rig.viewer.canvas.image is None
    player = rig.viewer.video
    assert player.error is not None and player.error in rig.viewer.canvas.message
    assert player.info_label.text() == f"This video cannot be played: {player.error}."
    player.play()
    assert not player.playing


def test_video_cut_off_part_way_shows_its_start_blurred_but_does_not_play(qtbot, rig):
    with rig.showing(qtbot):
        rig.show(qtbot, BAD_VIDEOS["truncated_middle.mkv"])
    player = rig.viewer.video
    rig.wait_idle(qtbot)  # the storyboard found where the video stops
    assert player.error.startswith("the file is cut short: the video stops at 0:01.")
    assert player.info_label.text().startswith("This video cannot be played: the file is "
                                               "cut short")
    assert energy(grab(rig.viewer).crop(rig.image_box())) < 3.0
    player.play()
    assert not player.playing


def test_images_still_show_without_the_player(qtbot, rig):
    picture = make_demo_image(random.Random(1), "shapes", (320, 240), "PNG")
    with rig.showing(qtbot):
        rig.show(qtbot, picture, mime="image/png")
    assert not rig.viewer.video.isVisible()


def test_loop_range_from_keys(qtbot, rig, checker_video):
    with rig.showing(qtbot):
        rig.show(qtbot, checker_video)
    rig.wait_storyboard(qtbot)
    player = rig.viewer.video
    rig.viewer.canvas.setFocus()
    player.seek(1.0)
    qtbot.keyClick(rig.viewer.canvas, Qt.Key.Key_BracketLeft)
    player.seek(1.5)
    qtbot.keyClick(rig.viewer.canvas, Qt.Key.Key_BracketRight)
    assert player.loop_range == (1.0, 1.5)
    assert player.loop_label.text() == "Loop 0:01.0–0:01.5"
    player.seek(1.0)
    player.play()
    seen: list[float] = []
    # Polled: the position moves with the player's timer, which has no signal.
    qtbot.waitUntil(lambda: seen.append(player.position_s) or (
        len(seen) > 1 and seen[-1] < seen[-2]), timeout=10_000)
    assert all(1.0 - 1e-6 <= position <= 1.5 + 0.1 for position in seen)
    qtbot.keyClick(rig.viewer.canvas, Qt.Key.Key_Backslash)
    assert player.loop_range is None


def test_new_blur_settings_apply_to_playback_and_storyboard(qtbot, rig, checker_video):
    with rig.showing(qtbot):
        rig.show(qtbot, checker_video)
    rig.wait_storyboard(qtbot)
    player = rig.viewer.video
    player.play()
    qtbot.waitUntil(lambda: player.frames_shown > 0, timeout=10_000)  # polled: no signal
    rig.viewer.apply_settings(rig.viewer.settings.with_changes(grayscale=False))
    assert player.playing
    assert player._stream is not None
    assert player._stream.settings == rig.viewer.rendition_settings
    assert not player._stream.settings.grayscale
    rig.wait_storyboard(qtbot)
    assert len(player.storyboard_frames) == 12
    assert player.storyboard_frames[0].picture.mode == "RGB"
    player.pause()


def test_sound_is_decoded_only_when_unmuted_and_a_missing_device_is_named(qtbot, rig,
                                                                          checker_video):
    with rig.showing(qtbot):
        rig.show(qtbot, checker_video)
    rig.wait_storyboard(qtbot)
    player = rig.viewer.video
    player.play()
    # Polled, here and below: frames and sound go out on the player's timer, with no signal.
    qtbot.waitUntil(lambda: player.frames_shown >= 3, timeout=10_000)
    stream = player._stream
    assert stream is not None and stream.audio_spec is None  # muted: no sound decoded
    assert stream.audio_bytes == 0 and player.audio_label.text() == ""
    rig.viewer.canvas.setFocus()
    qtbot.keyClick(rig.viewer.canvas, Qt.Key.Key_M)
    assert not player.muted and player.playing
    shown = player.frames_shown
    if QMediaDevices.defaultAudioOutput().isNull():
        # A machine without sound (as CI): said plainly, and the video plays on.
        assert player.audio_label.text() == "No audio device"
        assert player._stream.audio_spec is None
        qtbot.waitUntil(lambda: player.frames_shown >= shown + 3, timeout=10_000)
    else:
        assert player._stream.audio_spec is not None and player.audio_label.text() == ""
        qtbot.waitUntil(lambda: player.audio.bytes_written > 0, timeout=10_000)
    player.set_speed(2.0)
    assert player.audio_label.text() == "No sound at 2×"
    assert not player.audio.playing
    player.pause()


def test_storyboard_is_re_rendered_for_a_new_size(qtbot, rig, checker_video):
    rig.show(qtbot, checker_video)
    rig.wait_storyboard(qtbot)
    player = rig.viewer.video
    old_size = player.thumb_size
    old_frames = list(player.storyboard_frames)
    rig.window.resize(1800, 800)
    # Polled: the storyboard follows a resize once it has settled (a timer, no signal).
    qtbot.waitUntil(lambda: player.thumb_size.width() > old_size.width() * 1.1
                    and len(player.storyboard_frames) == player.storyboard_count, timeout=10_000)
    rig.wait_storyboard(qtbot)
    new_size = player.thumb_size
    assert new_size.width() / new_size.height() == pytest.approx(160 / 120, abs=0.05)
    for button, frame, old in zip(player.storyboard_buttons(), player.storyboard_frames,
                                  old_frames, strict=True):
        assert button.iconSize() == new_size
        assert not button.icon().isNull()
        assert frame is not old  # rendered again, blurred for the size shown
        assert frame.position_s == old.position_s
        assert energy(frame.picture) < 3.0
    # The new size is shown: each icon fills its larger box (in the video's shape).
    for button in player.storyboard_buttons():
        pixmap = button.icon().pixmap(new_size)
        assert abs(pixmap.width() - new_size.width()) <= 2  # the picture's own aspect,
        assert abs(pixmap.height() - new_size.height()) <= 2  # rounded


def test_a_video_that_exhausts_its_decoders_memory_is_named_and_the_app_goes_on(qtbot, rig):
    rig.viewer.video.limits = VideoLimits(memory_mb=16)
    big = make_demo_video(random.Random(9), (1920, 1080), 0.3, 10, audio=False)
    rig.show(qtbot, big)
    rig.wait_idle(qtbot)  # the rendition and the storyboard both ran out of memory
    assert "more than the 16 MB of memory allowed" in rig.viewer.canvas.message
    player = rig.viewer.video
    assert player.error is not None and "16 MB of memory" in player.info_label.text()
    # Only the worker went: with the usual limits the same viewer shows the next video.
    rig.viewer.video.limits = VideoLimits()
    with rig.showing(qtbot):
        rig.show(qtbot, big)
    assert player.error is None
