"""The media viewer, judged from the pixels it paints: blurred until revealed, every reveal
ends when it should, and every reveal reaches the wellness ledger.

Each test builds a viewer in a small window beside a rationale box (a QPlainTextEdit, as in
the enforcement panel), with media from an in-memory dict and a clock the test moves.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import types
import uuid
from dataclasses import dataclass

import pytest
from PIL import Image, ImageChops, ImageSequence, ImageStat
from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QImage, QKeyEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QHBoxLayout, QPlainTextEdit, QWidget

from reviewer.clock import ManualClock
from reviewer.demo.images import make_animated_gif, make_bad_files, make_demo_image
from reviewer.media.render import Renderer, RenditionCache, RenditionSettings
from reviewer.media.reveal import RevealMode
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.wellness.exposure import ExposureLedger
from tests.helpers.gui import energy, grab, show_active, wait_until_idle
from ui.viewer.media_viewer import (
    STATUS_BLURRED,
    STATUS_COVERED,
    STATUS_UNBLURRED,
    MediaViewer,
)
from ui.widgets.tasks import TaskRunner

TAXONOMY = load_taxonomy()


# --- measuring pixels (tests/helpers/gui.py: grab, energy) -----------------------------------


def disc_mask(size: tuple[int, int], centre: tuple[float, float], radius: float) -> Image.Image:
    mask = Image.new("L", size, 0)
    from PIL import ImageDraw

    cx, cy = centre
    ImageDraw.Draw(mask).ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=255)
    return mask


def masked_energy(picture: Image.Image, mask: Image.Image) -> float:
    """`energy` over the pixels where `mask` is set (both neighbours inside)."""
    grey = picture.convert("L")
    width, height = grey.size
    across = ImageChops.difference(grey.crop((0, 0, width - 1, height)),
                                   grey.crop((1, 0, width, height)))
    inside = ImageChops.multiply(mask.crop((0, 0, width - 1, height)),
                                 mask.crop((1, 0, width, height)))
    return ImageStat.Stat(across, inside).mean[0]


# --- building a viewer -----------------------------------------------------------------------


@dataclass
class Rig:
    viewer: MediaViewer
    window: QWidget
    rationale: QPlainTextEdit
    clock: ManualClock
    ledger: ExposureLedger
    renderer: Renderer
    cache: RenditionCache
    media: dict[str, bytes]
    sharp_calls: list[str]
    tasks: TaskRunner

    def case(self, *payloads: bytes, area: str = "hate_speech") -> tuple[object, list[object]]:
        items = []
        for position, payload in enumerate(payloads):
            content_hash = hashlib.sha256(payload).hexdigest()
            self.media[content_hash] = payload
            items.append(types.SimpleNamespace(
                id=uuid.uuid4(), content_hash=content_hash, position=position,
                mime_type="image/png", width=None, height=None))
        case = types.SimpleNamespace(
            id=uuid.uuid4(), external_ref="CASE-0001", channel="user_report",
            surface="organic_post", language="en", region="GB", policy_area=area,
            reported_text="Reported for review.", reporter_note="")
        return case, items

    def show(self, qtbot, *payloads: bytes, area: str = "hate_speech") -> None:
        case, items = self.case(*payloads, area=area)
        with self.showing(qtbot):
            self.viewer.show_case(case, items)

    def showing(self, qtbot):  # type: ignore[no-untyped-def]
        """For a ``with`` block that puts an item on screen: waits at the block's end until
        the item's blurred rendition is shown (`MediaViewer.media_shown`)."""
        return qtbot.waitSignal(self.viewer.media_shown, timeout=10_000)

    def wait_idle(self, qtbot) -> None:
        wait_until_idle(qtbot, self.tasks)

    def wait_sharp(self, qtbot) -> None:
        """The sharp rendition's task has finished and put its pixels on the canvas."""
        self.wait_idle(qtbot)
        assert self.viewer.canvas.sharp is not None

    def view_size(self) -> tuple[int, int]:
        return self.viewer.canvas.width(), self.viewer.canvas.height()

    def pattern(self) -> bytes:
        """A sharp test pattern exactly the canvas's size, so it is shown pixel for pixel."""
        return make_demo_image(random.Random(7), "test_pattern", self.view_size(), "PNG")

    def centre(self) -> QPoint:
        return QPoint(self.viewer.canvas.width() // 2, self.viewer.canvas.height() // 2)


class CountingRenderer(Renderer):
    def __init__(self, cache: RenditionCache, calls: list[str]):
        super().__init__(None, cache)
        self._calls = calls

    def sharp(self, data, content_hash, view_size, settings, *, cache=True):  # type: ignore[no-untyped-def]
        self._calls.append(content_hash)
        return super().sharp(data, content_hash, view_size, settings, cache=cache)


@pytest.fixture
def make_rig(qtbot):
    built: list[Rig] = []

    def build(settings=None) -> Rig:
        clock = ManualClock()
        ledger = ExposureLedger(clock)
        cache = RenditionCache()
        calls: list[str] = []
        renderer = CountingRenderer(cache, calls)
        media: dict[str, bytes] = {}
        tasks = TaskRunner()
        window = QWidget()
        qtbot.addWidget(window)
        viewer = MediaViewer(tasks, renderer, media.get, settings, taxonomy=TAXONOMY,
                             ledger=ledger, clock=clock)
        rationale = QPlainTextEdit()
        layout = QHBoxLayout(window)
        layout.addWidget(viewer, 3)
        layout.addWidget(rationale, 1)
        window.resize(900, 560)
        show_active(qtbot, window)
        rig = Rig(viewer, window, rationale, clock, ledger, renderer, cache, media, calls,
                  tasks)
        built.append(rig)
        return rig

    yield build
    for rig in built:
        rig.wait_idle(qtbot)


@pytest.fixture
def rig(make_rig) -> Rig:
    return make_rig()


def blurred_reference(rig: Rig, payload: bytes) -> Image.Image:
    content_hash = hashlib.sha256(payload).hexdigest()
    return rig.renderer.blurred(payload, content_hash, rig.view_size(),
                                rig.viewer.rendition_settings)


def sharp_reference(rig: Rig, payload: bytes) -> Image.Image:
    return Renderer(None, RenditionCache()).sharp(payload, "reference", rig.view_size(),
                                                   rig.viewer.rendition_settings)


def assert_blurred(rig: Rig, payload: bytes) -> None:
    """What is on screen is as smooth as the blurred rendition and far from the sharp one."""
    shown = energy(grab(rig.viewer))
    assert shown < 0.1 * energy(sharp_reference(rig, payload))
    assert shown == pytest.approx(energy(blurred_reference(rig, payload)), abs=1.0)


def assert_sharp(rig: Rig, payload: bytes) -> None:
    shown = energy(grab(rig.viewer))
    assert shown > 0.8 * energy(sharp_reference(rig, payload))


# --- the blur invariant ------------------------------------------------------------------


def test_first_frame_of_a_new_item_is_blurred(qtbot, rig):
    payload = rig.pattern()
    case, items = rig.case(payload)
    with rig.showing(qtbot):
        rig.viewer.show_case(case, items)
        # Until the blurred rendition is ready the canvas holds no picture of the item.
        assert rig.viewer.canvas.image is None and rig.viewer.canvas.sharp is None
        assert energy(grab(rig.viewer), (0, 0, 200, 100)) == 0.0  # a plain card
    assert energy(sharp_reference(rig, payload)) > 60  # the file itself is very sharp
    assert_blurred(rig, payload)
    assert rig.viewer.status.text() == STATUS_BLURRED


def test_sharp_rendition_is_made_only_on_reveal_and_dropped_after(qtbot, rig):
    payload = rig.pattern()
    rig.show(qtbot, payload)
    rig.wait_idle(qtbot)
    assert rig.sharp_calls == [] and rig.viewer.canvas.sharp is None
    held = len(rig.cache)  # the blurred view and its thumbnail
    rig.viewer.toggle_reveal()
    rig.wait_sharp(qtbot)
    assert len(rig.sharp_calls) == 1
    rig.viewer.toggle_reveal()
    assert rig.viewer.canvas.sharp is None
    assert len(rig.cache) == held  # nothing sharp is kept anywhere


# --- reveal modes ------------------------------------------------------------------------


def test_holding_space_reveals_until_released(qtbot, rig):
    payload = rig.pattern()
    rig.show(qtbot, payload)
    rig.viewer.canvas.setFocus()
    qtbot.keyPress(rig.viewer.canvas, Qt.Key.Key_Space)
    rig.wait_sharp(qtbot)
    assert_sharp(rig, payload)
    assert rig.viewer.status.text() == "Revealed — re-blurs in 10 s (Esc)"
    # Auto-repeat while held changes nothing.
    repeat = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier,
                       " ", True)
    QApplication.sendEvent(rig.viewer.canvas, repeat)
    assert rig.viewer.reveal_mode is RevealMode.HOLD
    qtbot.keyRelease(rig.viewer.canvas, Qt.Key.Key_Space)
    assert_blurred(rig, payload)  # at once, without waiting for the event loop


def test_click_toggles_the_reveal(qtbot, rig):
    payload = rig.pattern()
    rig.show(qtbot, payload)
    qtbot.mouseClick(rig.viewer.canvas, Qt.MouseButton.LeftButton, pos=rig.centre())
    rig.wait_sharp(qtbot)
    assert_sharp(rig, payload)
    qtbot.mouseClick(rig.viewer.canvas, Qt.MouseButton.LeftButton, pos=rig.centre())
    assert_blurred(rig, payload)


def test_lens_reveals_only_a_circle_around_the_pointer(qtbot, rig):
    payload = rig.pattern()
    rig.show(qtbot, payload)
    canvas = rig.viewer.canvas
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_L)
    point = QPoint(canvas.width() // 3, canvas.height() // 3)
    qtbot.mouseMove(canvas, point)
    # Polled: the move arrives as a window-system event, and the canvas has no signal for it.
    qtbot.waitUntil(lambda: canvas.pointer is not None, timeout=2_000)
    rig.wait_sharp(qtbot)
    shown = grab(rig.viewer)
    radius = canvas.lens_radius()
    assert radius == pytest.approx(0.12 * min(rig.view_size()), rel=0.02)
    centre = (canvas.pointer.x(), canvas.pointer.y())
    inside = masked_energy(shown, disc_mask(shown.size, centre, radius * 0.85))
    outside_mask = ImageChops.invert(disc_mask(shown.size, centre, radius * 1.2))
    outside = masked_energy(shown, outside_mask)
    sharp = energy(sharp_reference(rig, payload))
    assert inside > 0.8 * sharp
    assert outside < 0.1 * sharp
    assert rig.viewer.status.text().startswith("Lens — re-blurs in 10 s")
    # The lens follows the pointer.
    qtbot.mouseMove(canvas, QPoint(canvas.width() * 2 // 3, canvas.height() * 2 // 3))
    qtbot.waitUntil(lambda: canvas.pointer.x() > centre[0] + 10, timeout=2_000)  # as above
    moved = grab(rig.viewer)
    assert masked_energy(moved, disc_mask(moved.size, centre, radius * 0.5)) < 0.1 * sharp
    qtbot.keyClick(canvas, Qt.Key.Key_L)
    assert_blurred(rig, payload)


# --- re-blur triggers ----------------------------------------------------------------------


def test_reveal_ends_after_the_timeout_by_the_clock(qtbot, rig):
    payload = rig.pattern()
    rig.show(qtbot, payload)
    rig.viewer.toggle_reveal()
    rig.wait_sharp(qtbot)
    rig.clock.advance(7.2)
    rig.viewer.check_reveal_timeout()
    assert rig.viewer.status.text() == "Revealed — re-blurs in 3 s (Esc)"
    rig.clock.advance(2.7)
    rig.viewer.check_reveal_timeout()
    assert_sharp(rig, payload)
    rig.clock.advance(0.1)
    # The viewer's own timer notices within a tick (50 ms), with no call from the test.
    # Polled: the re-blur has no signal of its own.
    qtbot.waitUntil(lambda: rig.viewer.canvas.sharp is None, timeout=1_000)
    assert_blurred(rig, payload)
    assert rig.viewer.status.text() == STATUS_BLURRED


def test_changing_item_reblurs_and_the_next_item_starts_blurred(qtbot, rig):
    first, second = rig.pattern(), make_demo_image(random.Random(8), "test_pattern",
                                                   rig.view_size(), "PNG")
    rig.show(qtbot, first, second)
    rig.viewer.toggle_reveal()
    rig.wait_sharp(qtbot)
    with rig.showing(qtbot):
        rig.viewer.show_item(1)
        assert rig.viewer.canvas.sharp is None and rig.viewer.reveal_mode is None
        assert energy(grab(rig.viewer)) < 1.0  # nothing of either item: a plain card
    assert_blurred(rig, second)
    assert [b.isChecked() for b in rig.viewer.thumbnails()] == [False, True]


def test_losing_focus_reblurs(qtbot, rig):
    payload = rig.pattern()
    rig.show(qtbot, payload)
    rig.viewer.toggle_reveal()
    rig.wait_sharp(qtbot)
    QApplication.sendEvent(rig.window, QEvent(QEvent.Type.WindowDeactivate))
    assert_blurred(rig, payload)
    # While the window is away no exposure is counted.
    before = rig.ledger.today().exposure_s
    rig.clock.advance(30)
    assert rig.ledger.today().exposure_s == before


def test_minimising_reblurs(qtbot, rig):
    payload = rig.pattern()
    rig.show(qtbot, payload)
    rig.viewer.toggle_reveal()
    rig.wait_sharp(qtbot)
    rig.window.setWindowState(Qt.WindowState.WindowMinimized)
    assert rig.viewer.canvas.sharp is None
    rig.window.setWindowState(Qt.WindowState.WindowNoState)
    assert_blurred(rig, payload)


def test_esc_anywhere_covers_all_media_until_uncovered(qtbot, rig):
    payload = rig.pattern()
    rig.show(qtbot, payload, rig.pattern())
    rig.wait_idle(qtbot)  # the thumbnails are rendered in the background
    assert all(not b.icon().isNull() for b in rig.viewer.thumbnails())
    rig.viewer.toggle_reveal()
    rig.wait_sharp(qtbot)
    rig.rationale.setFocus()
    qtbot.keyClick(rig.rationale, Qt.Key.Key_Escape)
    # Covered at once: the canvas shows no picture, the thumbnails none either.
    assert rig.viewer.covered and rig.viewer.canvas.sharp is None
    assert energy(grab(rig.viewer), (0, 0, 200, 100)) == 0.0
    assert energy(grab(rig.viewer)) < 1.0
    assert all(b.icon().isNull() for b in rig.viewer.thumbnails())
    assert rig.viewer.status.text() == STATUS_COVERED
    # Revealing is not possible while covered.
    rig.viewer.toggle_reveal()
    assert rig.viewer.reveal_mode is None
    # Uncovering (a click) shows the blurred view again, never the sharp one.
    qtbot.mouseClick(rig.viewer.canvas, Qt.MouseButton.LeftButton, pos=rig.centre())
    assert not rig.viewer.covered and rig.viewer.reveal_mode is None
    assert_blurred(rig, payload)
    assert all(not b.icon().isNull() for b in rig.viewer.thumbnails())


def test_keys_do_not_fire_while_typing_in_the_rationale_box(qtbot, rig):
    payload = rig.pattern()
    rig.show(qtbot, payload)
    rig.rationale.setFocus()
    qtbot.keyClicks(rig.rationale, "a l")
    qtbot.keyClick(rig.rationale, Qt.Key.Key_Plus)
    assert rig.rationale.toPlainText() == "a l+"
    assert rig.viewer.reveal_mode is None and rig.viewer.canvas.sharp is None
    assert rig.viewer.canvas.zoom == 1.0
    assert rig.sharp_calls == []
    assert_blurred(rig, payload)


def test_space_held_in_the_viewer_ends_when_the_focus_leaves(qtbot, rig):
    rig.show(qtbot, rig.pattern())
    rig.viewer.canvas.setFocus()
    qtbot.keyPress(rig.viewer.canvas, Qt.Key.Key_Space)
    assert rig.viewer.reveal_mode is RevealMode.HOLD
    rig.rationale.setFocus()  # the Space release will go to the rationale box
    assert rig.viewer.reveal_mode is None


# --- the wellness ledger -----------------------------------------------------------------


def test_ledger_receives_each_reveal_with_its_fraction_and_duration(qtbot, rig):
    payload = rig.pattern()
    rig.show(qtbot, payload, area="violence_graphic")
    canvas = rig.viewer.canvas
    canvas.setFocus()
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    rig.wait_sharp(qtbot)
    rig.clock.advance(3)
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    rig.clock.advance(5)  # blurred time is not exposure

    qtbot.keyClick(canvas, Qt.Key.Key_L)
    qtbot.mouseMove(canvas, rig.centre())
    qtbot.waitUntil(lambda: canvas.pointer is not None, timeout=2_000)  # no signal, as above
    rig.wait_sharp(qtbot)
    rig.clock.advance(2)
    qtbot.keyClick(canvas, Qt.Key.Key_L)

    full, lens = rig.ledger.reveal_events()
    assert (full.policy_area, full.duration_s, full.max_fraction, full.exposure_s) == (
        "violence_graphic", 3.0, 1.0, 3.0)
    width, height = rig.view_size()
    radius = 0.12 * min(width, height)
    expected = math.pi * radius * radius / (width * height)  # the lens is wholly inside
    assert lens.duration_s == 2.0
    assert lens.max_fraction == pytest.approx(expected, rel=0.02)
    assert lens.exposure_s == pytest.approx(2 * expected, rel=0.02)
    today = rig.ledger.today()
    assert today.reveals == 2
    assert today.exposure_s == pytest.approx(3 + 2 * expected, rel=0.01)
    assert today.by_area["violence_graphic"] == pytest.approx(today.exposure_s)
    assert today.graphic_queue_s == pytest.approx(10.0)


def test_lens_at_the_edge_counts_only_the_part_over_the_picture(qtbot, rig):
    rig.show(qtbot, rig.pattern())
    canvas = rig.viewer.canvas
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_L)
    corner = QPoint(1, 1)  # about a quarter of the circle is over the picture
    qtbot.mouseMove(canvas, corner)
    qtbot.waitUntil(lambda: canvas.pointer is not None, timeout=2_000)  # no signal, as above
    rig.wait_sharp(qtbot)
    size = rig.view_size()
    radius = 0.12 * min(size)
    # Counted in pixels: the lens's pixels on the canvas over all the canvas's pixels.
    lens_pixels = ImageStat.Stat(disc_mask(size, (1, 1), radius)).sum[0] / 255
    counted = lens_pixels / (size[0] * size[1])
    assert counted < 0.3 * math.pi * radius * radius / (size[0] * size[1])
    assert rig.viewer.current_reveal_fraction() == pytest.approx(counted, rel=0.03)
    assert rig.ledger.reveal_events() == ()  # still open
    assert rig.ledger.export_state()["reveals"][0]["max_fraction"] == pytest.approx(
        counted, rel=0.03)


def test_item_change_and_panic_close_the_reveal_in_the_ledger(qtbot, rig):
    rig.show(qtbot, rig.pattern(), rig.pattern())
    rig.viewer.toggle_reveal()
    rig.wait_sharp(qtbot)
    rig.clock.advance(1.5)
    with rig.showing(qtbot):
        rig.viewer.show_item(1)
        rig.clock.advance(4)
        assert [event.duration_s for event in rig.ledger.reveal_events()] == [1.5]
    rig.viewer.toggle_reveal()
    rig.wait_sharp(qtbot)
    rig.clock.advance(0.5)
    rig.viewer.panic()
    rig.clock.advance(4)
    assert [event.duration_s for event in rig.ledger.reveal_events()] == [1.5, 0.5]


# --- zoom and pan ----------------------------------------------------------------------------


def test_zoom_and_pan_work_on_the_blurred_picture(qtbot, rig):
    payload = rig.pattern()
    rig.show(qtbot, payload)
    canvas = rig.viewer.canvas
    canvas.setFocus()
    fitted = canvas.image_rect()
    qtbot.keyClick(canvas, Qt.Key.Key_Plus)
    qtbot.keyClick(canvas, Qt.Key.Key_Plus)
    assert canvas.zoom == pytest.approx(1.25 ** 2)
    assert energy(grab(rig.viewer)) <= energy(blurred_reference(rig, payload)) + 0.5
    wheel = QWheelEvent(QPointF(rig.centre()), QPointF(canvas.mapToGlobal(rig.centre())),
                        QPoint(0, 0), QPoint(0, 120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.ControlModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(canvas, wheel)
    assert canvas.zoom == pytest.approx(1.25 ** 3)
    # Dragging pans and is not a click: nothing is revealed.
    before = canvas.image_rect()
    start = rig.centre()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas, start + QPoint(40, 30))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=start + QPoint(40, 30))
    after = canvas.image_rect()
    assert after.x() > before.x() and after.y() > before.y()
    assert rig.viewer.reveal_mode is None and rig.sharp_calls == []
    assert energy(grab(rig.viewer)) <= energy(blurred_reference(rig, payload)) + 0.5
    qtbot.keyClick(canvas, Qt.Key.Key_0)
    assert canvas.zoom == 1.0 and canvas.image_rect() == fitted


# --- policy areas, settings, odd media ------------------------------------------------------


def test_blur_follows_the_policy_area_preset(qtbot, rig):
    payload = make_demo_image(random.Random(11), "shapes", rig.view_size(), "PNG")
    rig.show(qtbot, payload, area="violence_graphic")
    assert rig.viewer.rendition_settings == RenditionSettings(0.05, True)
    strong = energy(grab(rig.viewer))
    rig.show(qtbot, payload, area="hate_speech")
    assert rig.viewer.rendition_settings == RenditionSettings(0.03, True)
    standard = energy(grab(rig.viewer))
    assert strong < standard
    # Spam is shown as it is: there is nothing to reveal, and no reveal is counted.
    rig.show(qtbot, payload, area="spam_fraud")
    assert_sharp(rig, payload)
    assert rig.viewer.status.text() == STATUS_UNBLURRED
    rig.viewer.toggle_reveal()
    assert rig.viewer.reveal_mode is None and rig.sharp_calls == []


def test_blur_strength_and_greyscale_are_stored_per_user(qtbot, make_rig, tmp_path):
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    rig = make_rig(store)
    payload = make_demo_image(random.Random(9), "shapes", rig.view_size(), "PNG")
    rig.show(qtbot, payload)
    standard = energy(grab(rig.viewer))
    rig.viewer.blur_slider.setValue(6)
    rig.wait_idle(qtbot)  # rendered again, in the background
    assert energy(grab(rig.viewer)) < 0.8 * standard
    rig.viewer.grayscale_box.setChecked(False)
    rig.wait_idle(qtbot)
    assert rig.viewer.canvas.image.format() != QImage.Format.Format_Grayscale8
    store.sync()

    again = make_rig(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    assert again.viewer.settings.blur_fraction == 0.06
    assert again.viewer.settings.grayscale is False
    assert again.viewer.blur_slider.value() == 6 and not again.viewer.grayscale_box.isChecked()


@pytest.mark.parametrize(("name", "reason"), [
    ("truncated.jpg", "the file is truncated"),
    ("zero_byte.jpg", "the file is empty"),
    ("pdf_named.jpg", "the file is not a supported image (looks like a PDF document)"),
])
def test_broken_media_shows_a_clear_message_and_the_viewer_keeps_working(
        qtbot, rig, name, reason):
    broken = make_bad_files()[name]
    good = rig.pattern()
    case, items = rig.case(broken, good)
    rig.viewer.show_case(case, items)
    rig.wait_idle(qtbot)  # its rendition failed, in the background
    assert rig.viewer.canvas.message == f"This media could not be shown: {reason}."
    assert rig.viewer.canvas.image is None
    rig.viewer.toggle_reveal()
    assert rig.viewer.reveal_mode is None and rig.sharp_calls == []
    with rig.showing(qtbot):
        rig.viewer.show_item(1)
    assert_blurred(rig, good)


def test_animated_gif_shows_its_first_frame_still_and_blurred(qtbot, rig):
    payload = make_animated_gif(random.Random(10), (320, 240), frames=6)
    rig.show(qtbot, payload)
    first = rig.viewer.canvas.image
    # Nothing plays: with every rendition done, and as long as the GIF takes to play all
    # its frames (no signal would say a frame changed), the first frame is still the one.
    rig.wait_idle(qtbot)
    with Image.open(io.BytesIO(payload)) as gif:
        loop_ms = sum(gif.info["duration"] for _frame in ImageSequence.Iterator(gif))
    assert loop_ms >= 6 * 80
    qtbot.wait(loop_ms)
    assert rig.viewer.canvas.image is first
    expected = blurred_reference(rig, payload)
    assert (first.width(), first.height()) == expected.size
