"""The unit suite's shared fixtures: the clock, and demo workstations on an embedded backend
(each test's or module's demo data chosen by its `demo` marker)."""

from __future__ import annotations

import pytest

from reviewer.clock import ManualClock
from tests.helpers.fixtures import START, clock
from tests.helpers.workstations import demo_workstation, marked_demo

__all__ = ["clock"]


@pytest.fixture
def workstation(request, tmp_path, clock):
    """The demo reviewer's workstation, its embedded backend seeded and pulled once: 30
    cases without media, unless the test asks for other data with
    ``@pytest.mark.demo(cases=..., with_media=..., seed=..., secrets=...)``."""
    workstation = demo_workstation(tmp_path, clock,
                                   **marked_demo(request.node, cases=30, with_media=False))
    yield workstation
    workstation.close()


@pytest.fixture(scope="module")
def module_workstation(request, tmp_path_factory):
    """One demo workstation for all the tests of a module, for data too large to seed for
    each test; its demo data from the module's `demo` marker, its clock its own (at
    `START`), not the `clock` fixture."""
    workstation = demo_workstation(tmp_path_factory.mktemp("demo"), ManualClock(START),
                                   **marked_demo(request.node, cases=30, with_media=False))
    yield workstation
    workstation.close()
