"""Driving and measuring the real windows in GUI tests: opening the main window, waiting for
what the window signals (background work done, a window given the keyboard), keys where the
focus is, and the pixels the media viewer paints."""

from __future__ import annotations

import io
import time

from PIL import Image, ImageChops, ImageStat
from PySide6.QtCore import QBuffer, QIODevice, QSettings, Qt
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QWidget

from reviewer.workstation import Workstation
from ui.app import build_main_window
from ui.main_window import MainWindow
from ui.viewer.media_viewer import MediaViewer
from ui.widgets.tasks import TaskRunner

# -- waiting for what the window signals -------------------------------------------------------


def wait_until_idle(qtbot, tasks: TaskRunner, timeout: int = 10_000) -> None:  # type: ignore[no-untyped-def]
    """Every background task has finished and its result has reached the GUI thread
    (`TaskRunner.all_done`). Safe to call when nothing runs: no event is processed between
    the check and the wait, so the signal cannot be missed. A result's callback, or an event
    handled in the same turn of the loop, may start the next task (media rendered after a
    row is selected, then its storyboard): then it waits for that one too, within the same
    overall timeout."""
    deadline = time.monotonic() + timeout / 1000
    while tasks.active:
        left = int((deadline - time.monotonic()) * 1000)
        assert left > 0, f"{tasks.active} background task(s) still running after {timeout} ms"
        qtbot.waitSignal(tasks.all_done, timeout=left).wait()


def wait_active(qtbot, widget: QWidget, timeout: int = 5_000) -> None:  # type: ignore[no-untyped-def]
    """The widget's window has the keyboard: the platform says so with
    `QGuiApplication.focusWindowChanged`."""
    if not widget.isActiveWindow():
        handle = widget.window().windowHandle()
        qtbot.waitSignal(QGuiApplication.instance().focusWindowChanged, timeout=timeout,
                         check_params_cb=lambda focus: focus is handle).wait()
    assert widget.isActiveWindow()


def show_active(qtbot, widget: QWidget) -> None:  # type: ignore[no-untyped-def]
    """Show a top-level widget and give it the keyboard, as a reviewer's click would."""
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    wait_active(qtbot, widget)


def wait_shown(qtbot, dialog: QWidget | None) -> QWidget:  # type: ignore[no-untyped-def]
    """The dialog is up and has the keyboard (as a reviewer would see it)."""
    assert dialog is not None and dialog.isVisible()
    wait_active(qtbot, dialog)
    return dialog


# -- the main window ---------------------------------------------------------------------------


def make_window(qtbot, workstation: Workstation, renderer,  # type: ignore[no-untyped-def]
                size: tuple[int, int] | None = (1400, 900)) -> MainWindow:
    """The app's main window over ``workstation``, wired as the app wires it, shown and
    active, its queue loaded; ``size=None`` keeps the geometry its settings remember."""
    tasks = TaskRunner()
    settings = QSettings(str(workstation.paths.settings), QSettings.Format.IniFormat)
    window = build_main_window(workstation, tasks, renderer, settings)
    qtbot.addWidget(window)
    if size is not None:
        window.resize(*size)
    show_active(qtbot, window)
    window.refresh_queue()
    return window


def queue_rows(window: MainWindow) -> list:
    """Every row of the queue, fetching the pages the view has not asked for yet."""
    model = window.queue_model
    while model.canFetchMore(model.index(-1, -1)):
        model.fetchMore(model.index(-1, -1))
    return [model.row_data(r) for r in range(model.rowCount())]


def select_case_with_media(window: MainWindow) -> int:
    """Select the first case in the queue that has media; its row."""
    for row in range(window.queue_model.rowCount()):
        case = window.workstation.case(window.queue_model.case_id(row))
        if case.media_count:
            window.select_row(row)
            return row
    raise AssertionError("the demo has no case with media")


def show_case_with_media(qtbot, window: MainWindow, timeout: int = 10_000) -> int:  # type: ignore[no-untyped-def]
    """Select a case with media and wait until its first item is on screen, blurred
    (`MediaViewer.media_shown`); its row."""
    with qtbot.waitSignal(window.viewer.media_shown, timeout=timeout):
        row = select_case_with_media(window)
    return row


def press(qtbot, key: Qt.Key,  # type: ignore[no-untyped-def]
          modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """Press a key where the focus is, as a reviewer would."""
    focus = QApplication.focusWidget()
    assert focus is not None, "no widget has the keyboard"
    qtbot.keyClick(focus, key, modifiers)


# -- measuring pixels --------------------------------------------------------------------------


def grab(viewer: MediaViewer) -> Image.Image:
    """What the viewer's canvas shows right now, in grey levels."""
    image = viewer.canvas.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    data = bytes(image.constBits())
    return Image.frombuffer("L", (image.width(), image.height()), data, "raw", "L",
                            image.bytesPerLine(), 1)


def energy(picture: Image.Image, box: tuple[int, int, int, int] | None = None) -> float:
    """Mean absolute difference between neighbouring pixels (in ``box``, if given): high for
    sharp detail."""
    if box is not None:
        picture = picture.crop(box)
    grey = picture.convert("L")
    width, height = grey.size
    across = ImageChops.difference(grey.crop((0, 0, width - 1, height)),
                                   grey.crop((1, 0, width, height)))
    down = ImageChops.difference(grey.crop((0, 0, width, height - 1)),
                                 grey.crop((0, 1, width, height)))
    return (ImageStat.Stat(across).mean[0] + ImageStat.Stat(down).mean[0]) / 2


def to_pil(image: QImage) -> Image.Image:
    """A QImage as a greyscale Pillow image, through PNG (so nothing depends on its format)."""
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(buffer.data()))).convert("L")
