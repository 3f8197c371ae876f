"""A real main window over a real demo workstation, offscreen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from reviewer.clock import ManualClock
from reviewer.media.render import Renderer, RenditionCache
from tests.helpers.workstations import demo_workstation
from ui.app import build_main_window
from ui.widgets.tasks import TaskRunner


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def workstation(tmp_path, clock):
    workstation = demo_workstation(tmp_path, clock, cases=24, with_media=True)
    yield workstation
    workstation.close()


@pytest.fixture
def renderer():
    return Renderer(None, RenditionCache())


def make_window(qtbot, workstation, renderer, size=(1400, 900)):
    tasks = TaskRunner()
    settings = QSettings(str(workstation.paths.settings), QSettings.Format.IniFormat)
    window = build_main_window(workstation, tasks, renderer, settings)
    qtbot.addWidget(window)
    if size is not None:
        window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    window.refresh_queue()
    return window


@pytest.fixture
def window(qtbot, workstation, renderer):
    window = make_window(qtbot, workstation, renderer)
    yield window
    window.tasks.wait_for_done(10_000)
    qtbot.waitUntil(lambda: window.tasks.active == 0, timeout=10_000)
