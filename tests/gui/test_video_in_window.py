"""Demo videos in the real main window: found in the queue, blurred, silent and still until
the reviewer acts, and the player's keys reach it from the media."""

from __future__ import annotations

from PySide6.QtCore import Qt

from reviewer.demo.seed import DEMO_VIDEO_SECONDS
from tests.helpers.gui import make_window, wait_until_idle


def test_demo_video_in_the_main_window(qtbot, workstation, renderer):
    window = make_window(qtbot, workstation, renderer)
    viewer = window.viewer
    video_rows = []
    for row in range(window.queue_model.rowCount()):
        case_id = window.queue_model.case_id(row)
        items = workstation.media_items(case_id)
        if any(item.mime_type == "video/mp4" for item in items):
            video_rows.append((row, items))
    assert len(video_rows) == len(DEMO_VIDEO_SECONDS)
    row, items = video_rows[0]
    with qtbot.waitSignal(viewer.media_shown, timeout=10_000):
        window.select_row(row)
    assert not viewer.video.isVisible()  # the case's first item is an image
    position = next(i for i, item in enumerate(items) if item.mime_type == "video/mp4")
    with qtbot.waitSignal(viewer.media_shown, timeout=10_000):
        qtbot.mouseClick(viewer.thumbnails()[position], Qt.MouseButton.LeftButton)
    player = viewer.video
    wait_until_idle(qtbot, window.tasks)  # the storyboard, which reads the video's details
    assert player.info is not None
    assert player.isVisible() and player.muted and not player.playing
    assert player.info.width == 640 and player.info.has_audio
    viewer.canvas.setFocus()
    qtbot.keyClick(viewer.canvas, Qt.Key.Key_M)
    qtbot.keyClick(viewer.canvas, Qt.Key.Key_K)
    assert player.playing and not player.muted
    # Polled: frames are shown by the player's own timer, which has no signal.
    qtbot.waitUntil(lambda: player.frames_shown > 2, timeout=10_000)
    qtbot.keyClick(viewer.canvas, Qt.Key.Key_K)
    assert not player.playing
    qtbot.mouseClick(viewer.thumbnails()[0], Qt.MouseButton.LeftButton)
    assert player.muted and not player.isVisible()
    wait_until_idle(qtbot, window.tasks)
