"""What a reveal uncovers and for how long: the lens geometry and the reveal timer.

The viewer reports every reveal to the wellness ledger as the share of the displayed item
it uncovers; for the lens that is the circle's overlap with the visible picture, computed
exactly here. The timer runs on an injected clock, so the re-blur can be tested without
sleeping. No Qt: the viewer in `ui/` only feeds in its rectangles and the pointer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import pairwise

from reviewer.clock import Clock

DEFAULT_REVEAL_TIMEOUT_S = 10.0
DEFAULT_LENS_RADIUS_FRACTION = 0.12


class RevealMode(StrEnum):
    """How the reviewer uncovered the item: holding Space, by a click, or with the lens."""

    HOLD = "hold"
    TOGGLE = "toggle"
    LENS = "lens"

    @property
    def full(self) -> bool:
        """Whether the whole item is unblurred (the lens uncovers only a circle)."""
        return self is not RevealMode.LENS


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in screen coordinates (y grows downwards)."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)

    def intersected(self, other: Box) -> Box:
        left, top = max(self.left, other.left), max(self.top, other.top)
        right, bottom = min(self.right, other.right), min(self.bottom, other.bottom)
        return Box(left, top, max(0.0, right - left), max(0.0, bottom - top))


def circle_box_area(centre: tuple[float, float], radius: float, box: Box) -> float:
    """The exact area of the overlap of a circle and a rectangle."""
    cx, cy = centre
    if radius <= 0.0 or box.area == 0.0:
        return 0.0
    x_from, x_to = max(box.left, cx - radius), min(box.right, cx + radius)
    if x_from >= x_to:
        return 0.0
    # Between these x positions the circle's top and bottom edges each lie either inside
    # the box or beyond one of its sides, so each piece integrates in closed form.
    cuts = {x_from, x_to}
    for edge in (box.top, box.bottom):
        offset = abs(edge - cy)
        if offset < radius:
            half_chord = math.sqrt(radius * radius - offset * offset)
            cuts.update(x for x in (cx - half_chord, cx + half_chord) if x_from < x < x_to)

    def half_height(x: float) -> float:
        return math.sqrt(max(0.0, radius * radius - (x - cx) ** 2))

    def integral(x: float) -> float:
        """The integral of `half_height` from cx to x."""
        u = min(max((x - cx) / radius, -1.0), 1.0)
        return radius * radius * (u * math.sqrt(1.0 - u * u) + math.asin(u)) / 2.0

    area = 0.0
    for start, stop in pairwise(sorted(cuts)):
        middle = half_height((start + stop) / 2.0)
        width = stop - start
        arc = integral(stop) - integral(start)
        if min(box.bottom, cy + middle) <= max(box.top, cy - middle):
            continue  # the circle's slice misses the box here
        # No edge crosses the circle inside a slice (the crossings are its cuts), so the
        # middle says which side the arc is on; equal there is a tangent, the arc inside.
        lower = arc + cy * width if cy + middle <= box.bottom else box.bottom * width
        upper = cy * width - arc if cy - middle >= box.top else box.top * width
        area += lower - upper
    return max(0.0, area)


def lens_fraction(
    centre: tuple[float, float] | None, radius: float, picture: Box, viewport: Box
) -> float:
    """The share of the visible picture a lens at `centre` uncovers: 0.0 to 1.0.

    `picture` is where the whole picture is drawn (larger than `viewport` when zoomed in);
    what counts is the part of it inside `viewport`, as that is what the reviewer sees.
    """
    if centre is None:
        return 0.0
    visible = picture.intersected(viewport)
    if visible.area == 0.0:
        return 0.0
    return min(1.0, circle_box_area(centre, radius, visible) / visible.area)


class RevealTimer:
    """When the current reveal must end: `timeout_s` after it started, by the given clock."""

    def __init__(self, clock: Clock, timeout_s: float = DEFAULT_REVEAL_TIMEOUT_S) -> None:
        if not (math.isfinite(timeout_s) and timeout_s > 0):
            raise ValueError(f"a reveal timeout is a positive number of seconds, not {timeout_s}")
        self._clock = clock
        self.timeout_s = float(timeout_s)
        self._started: datetime | None = None

    @property
    def running(self) -> bool:
        return self._started is not None

    def start(self) -> None:
        """Start (or restart) the countdown from now."""
        self._started = self._clock.now()

    def stop(self) -> None:
        self._started = None

    def remaining_s(self) -> float:
        """Seconds until the re-blur; 0.0 once due or when no reveal is running."""
        if self._started is None:
            return 0.0
        elapsed = (self._clock.now() - self._started).total_seconds()
        return max(0.0, self.timeout_s - elapsed)

    def expired(self) -> bool:
        return self._started is not None and self.remaining_s() <= 0.0
