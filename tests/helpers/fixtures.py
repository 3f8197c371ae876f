"""Fixtures more than one suite uses; each suite's conftest.py imports the ones it needs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reviewer.clock import ManualClock

START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
"""Where every test's clock starts: a Monday morning."""


@pytest.fixture
def clock() -> ManualClock:
    """The clock injected into what the test builds; it moves only when the test moves it."""
    return ManualClock(START)
