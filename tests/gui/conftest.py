"""The GUI suite's shared fixtures: a real main window over a real demo workstation,
offscreen (tests/helpers/gui.py has what drives and measures it)."""

from __future__ import annotations

import pytest

from reviewer.media.render import Renderer, RenditionCache
from tests.helpers.fixtures import clock
from tests.helpers.gui import make_window, wait_until_idle
from tests.helpers.workstations import demo_workstation, marked_demo

__all__ = ["clock"]


@pytest.fixture
def workstation(request, tmp_path, clock):
    """The demo reviewer's workstation, its embedded backend seeded and pulled once: 24
    cases with generated media, unless the test asks for other data with
    ``@pytest.mark.demo(cases=..., with_media=..., seed=...)``."""
    workstation = demo_workstation(tmp_path, clock,
                                   **marked_demo(request.node, cases=24, with_media=True))
    yield workstation
    workstation.close()


@pytest.fixture
def renderer():
    return Renderer(None, RenditionCache())


@pytest.fixture
def window(qtbot, workstation, renderer):
    window = make_window(qtbot, workstation, renderer)
    yield window
    wait_until_idle(qtbot, window.tasks)


@pytest.fixture
def actions(window):
    """The window's enforcement actions: escalate, second reviews, replies, undo."""
    from ui.enforcement.actions import EnforcementActions

    return window.findChild(EnforcementActions)
