"""Building real workstations on temporary data directories for tests."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from reviewer.clock import Clock, ManualClock
from reviewer.demo.seed import seed_demo
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.secret_store import MemorySecretStore, SecretStore
from reviewer.store.database import Database, sqlite_url
from reviewer.store.outbox import client_id as load_client_id
from reviewer.sync.engine import SyncEngine
from reviewer.sync.link import DirectLink
from reviewer.workstation import Workstation

_SEEDED: dict[tuple[int, bool], Path] = {}


def demo_workstation(tmp_path: Path, clock: ManualClock, *, cases: int = 40,
                     with_media: bool = True, seed: int = 7,
                     secrets: SecretStore | None = None) -> Workstation:
    """A workstation whose embedded backend holds ``cases`` demo cases, pulled once.

    Its keys are in ``secrets``, by default a `MemorySecretStore` of its own: another
    workstation or command opening its files is given ``workstation.secrets``."""
    workstation = Workstation.open_embedded(
        tmp_path / "data", clock=clock,
        secrets=secrets if secrets is not None else MemorySecretStore())
    seed_demo(workstation.backend, workstation.taxonomy, clock, random.Random(seed),
              cases=cases, with_media=with_media)
    workstation.synchronise()
    return workstation


def marked_demo(node: pytest.Item | pytest.Collector, **defaults: Any) -> dict[str, Any]:
    """The `demo_workstation` options a test asks for with ``@pytest.mark.demo(cases=...,
    with_media=..., seed=..., secrets=...)`` (on the test, its class or its module, the
    closest one winning), over a suite's ``defaults``; a test marked ``with_media`` gets
    media unless its `demo` marker says otherwise."""
    options = dict(defaults)
    if node.get_closest_marker("with_media") is not None:
        options["with_media"] = True
    marker = node.get_closest_marker("demo")
    if marker is not None:
        options.update(marker.kwargs)
    return options


class Desk:
    """Another person's replica on the same embedded backend, synced by the real engine as
    that person: the backend applies its changes in their name only."""

    def __init__(self, path: Path, backend: Database, clock: Clock, username: str) -> None:
        self.replica = Database.open(sqlite_url(path))
        with self.replica.sessions() as session:
            self.client_id = load_client_id(session)
        self.taxonomy = load_taxonomy()
        link = DirectLink(backend, username=username, clock=clock, taxonomy=self.taxonomy,
                          client_id=self.client_id)
        self.sync = SyncEngine(self.replica, link, self.client_id, clock, username=username)
        self.sync.sync_once()

    def close(self) -> None:
        self.replica.dispose()
