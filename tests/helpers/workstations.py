"""Building real workstations on temporary data directories for tests."""

from __future__ import annotations

import random
from pathlib import Path

from reviewer.clock import ManualClock
from reviewer.demo import seed_demo
from reviewer.workstation import Workstation

_SEEDED: dict[tuple[int, bool], Path] = {}


def demo_workstation(tmp_path: Path, clock: ManualClock, *, cases: int = 40,
                     with_media: bool = True, seed: int = 7) -> Workstation:
    """A workstation whose embedded backend holds ``cases`` demo cases, pulled once."""
    workstation = Workstation.open_embedded(tmp_path / "data", clock=clock)
    seed_demo(workstation.backend, workstation.taxonomy, clock, random.Random(seed),
              cases=cases, with_media=with_media)
    workstation.synchronise()
    return workstation
