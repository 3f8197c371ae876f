"""What a reveal uncovers (the lens geometry) and how long it lasts (the reveal timer)."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from reviewer.clock import ManualClock
from reviewer.media.reveal import (
    Box,
    RevealMode,
    RevealTimer,
    circle_box_area,
    lens_fraction,
)


def grid_area(centre: tuple[float, float], radius: float, box: Box, steps: int = 400) -> float:
    """The overlap area counted on a fine grid: slow, but obviously right."""
    cx, cy = centre
    inside = 0
    for i in range(steps):
        x = box.left + (i + 0.5) * box.width / steps
        for j in range(steps):
            y = box.top + (j + 0.5) * box.height / steps
            inside += (x - cx) ** 2 + (y - cy) ** 2 <= radius * radius
    return inside / (steps * steps) * box.area


# --- the lens -------------------------------------------------------------------------------


def test_whole_half_and_quarter_circles() -> None:
    r = 10.0
    assert circle_box_area((0, 0), r, Box(-50, -50, 100, 100)) == pytest.approx(math.pi * r * r)
    assert circle_box_area((0, 0), r, Box(-50, 0, 100, 50)) == pytest.approx(math.pi * r * r / 2)
    assert circle_box_area((0, 0), r, Box(0, 0, 50, 50)) == pytest.approx(math.pi * r * r / 4)
    assert circle_box_area((0, 0), r, Box(-50, 0, 50, 50)) == pytest.approx(math.pi * r * r / 4)


def test_a_box_edge_touching_the_circle_counts_the_arc_not_the_box() -> None:
    """Found by the grid test below: an edge through the centre, or tangent to the circle,
    once counted the whole box (2.0 for a half circle of pi/2, 4.0 for a whole one)."""
    assert circle_box_area((1, 0), 1, Box(0, 0, 2, 1)) == pytest.approx(math.pi / 2)
    assert circle_box_area((1, 0), 1, Box(0, -1, 2, 1)) == pytest.approx(math.pi / 2)
    assert circle_box_area((1, 0), 1, Box(0, -1, 2, 2)) == pytest.approx(math.pi)
    assert circle_box_area((0, 0), 3, Box(-3, -3, 6, 6)) == pytest.approx(9 * math.pi)


def test_box_inside_the_circle_and_no_overlap() -> None:
    assert circle_box_area((0, 0), 10, Box(-2, -3, 4, 5)) == pytest.approx(20.0)
    assert circle_box_area((0, 0), 10, Box(20, 20, 5, 5)) == 0.0
    assert circle_box_area((0, 0), 10, Box(7.5, 7.5, 5, 5)) == 0.0  # corner region only
    assert circle_box_area((0, 0), 0, Box(-1, -1, 2, 2)) == 0.0
    assert circle_box_area((0, 0), 5, Box(-1, -1, 0, 2)) == 0.0


@settings(max_examples=40, deadline=None)
@example(cx=1.0, cy=0.0, radius=1.0, left=0.0, top=0.0, width=2.0, height=1.0)
@given(
    cx=st.floats(-3, 3), cy=st.floats(-3, 3), radius=st.floats(0.2, 3),
    left=st.floats(-3, 2), top=st.floats(-3, 2),
    width=st.floats(0.2, 4), height=st.floats(0.2, 4),
)
def test_exact_area_matches_a_grid_count(cx, cy, radius, left, top, width, height) -> None:
    box = Box(left, top, width, height)
    exact = circle_box_area((cx, cy), radius, box)
    assert 0.0 <= exact <= min(box.area, math.pi * radius * radius) + 1e-9
    # The grid count is off by at most a cell along the circle's edge.
    cell = max(width, height) / 200
    assert exact == pytest.approx(grid_area((cx, cy), radius, box, 200),
                                  abs=2 * math.pi * radius * cell + 1e-6)


def test_lens_fraction_is_of_the_visible_picture() -> None:
    viewport = Box(0, 0, 800, 600)
    picture = Box(100, 0, 600, 600)
    radius = 0.12 * 600
    full_circle = math.pi * radius * radius
    assert lens_fraction((400, 300), radius, picture, viewport) == pytest.approx(
        full_circle / (600 * 600))
    # Half of it hangs off the picture's left edge: only the half over the picture counts.
    assert lens_fraction((100, 300), radius, picture, viewport) == pytest.approx(
        full_circle / 2 / (600 * 600))
    # Zoomed in: the picture overflows the viewport; what counts is the part on screen.
    zoomed = Box(-400, -300, 1600, 1200)
    assert lens_fraction((400, 300), radius, zoomed, viewport) == pytest.approx(
        full_circle / (800 * 600))
    assert lens_fraction(None, radius, picture, viewport) == 0.0
    assert lens_fraction((400, 300), radius, Box(900, 0, 10, 10), viewport) == 0.0
    assert lens_fraction((400, 300), 5000, picture, viewport) == 1.0


def test_reveal_modes() -> None:
    assert RevealMode.HOLD.full and RevealMode.TOGGLE.full and not RevealMode.LENS.full


# --- the timer -------------------------------------------------------------------------------


def test_timer_counts_down_by_the_injected_clock() -> None:
    clock = ManualClock()
    timer = RevealTimer(clock, 10.0)
    assert not timer.running and not timer.expired() and timer.remaining_s() == 0.0
    timer.start()
    clock.advance(9.9)
    assert timer.remaining_s() == pytest.approx(0.1) and not timer.expired()
    clock.advance(0.1)
    assert timer.expired()
    timer.start()  # a new reveal starts the count again
    assert timer.remaining_s() == 10.0
    timer.stop()
    assert not timer.running and not timer.expired()


@pytest.mark.parametrize("timeout", [0, -1, math.inf, math.nan])
def test_timer_needs_a_positive_timeout(timeout: float) -> None:
    with pytest.raises(ValueError):
        RevealTimer(ManualClock(), timeout)
