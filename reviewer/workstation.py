"""One reviewer's workstation: the databases, taxonomy, clock and identity, wired once.

The app and the administration CLI both build one of these and hand it to whatever needs
it; nothing here is global.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import platformdirs
from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.orm import selectinload

from reviewer.clock import Clock, SystemClock
from reviewer.demo import DEMO_USERNAME, backend_has_data, demo_reviewer_id, seed_demo
from reviewer.leases import Lease, lease_case, lease_next_case, release_lease, renew_lease
from reviewer.models import Case, MediaBlob, MediaItem, Queue, Reviewer
from reviewer.queue import PriorityWeights
from reviewer.settings import CoreSettings
from reviewer.store import BackendUnavailable, Database, DataPaths, normalise_url, sqlite_url
from reviewer.sync.engine import Backoff, Progress, SyncEngine, SyncReport
from reviewer.sync.offline_kit import KitEstimate, KitReport, estimate_kit, lease_kit
from reviewer.sync.outbox import client_id as load_client_id
from reviewer.taxonomy import Taxonomy, load_taxonomy

APP_NAME = "ReviewerWorkstation"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass
class Workstation:
    paths: DataPaths
    backend: Database
    replica: Database
    taxonomy: Taxonomy
    clock: Clock
    client_id: str
    reviewer_id: uuid.UUID
    sync: SyncEngine
    settings: CoreSettings

    @property
    def weights(self) -> PriorityWeights:
        return self.sync.weights

    @property
    def lease_duration(self) -> timedelta:
        return timedelta(minutes=self.settings.get("leases/minutes"))

    @classmethod
    def open_embedded(
        cls,
        data_dir: Path | None = None,
        *,
        clock: Clock | None = None,
        taxonomy: Taxonomy | None = None,
        username: str = DEMO_USERNAME,
        decision_hold: timedelta = timedelta(0),
    ) -> Workstation:
        """The embedded default: an SQLite backend and the replica in one data directory."""
        return cls.open(data_dir, clock=clock, taxonomy=taxonomy, username=username,
                        decision_hold=decision_hold)

    @classmethod
    def open(
        cls,
        data_dir: Path | None = None,
        *,
        backend_url: str | URL | None = None,
        password: str | None = None,
        clock: Clock | None = None,
        taxonomy: Taxonomy | None = None,
        username: str = DEMO_USERNAME,
        reviewer_id: uuid.UUID | None = None,
        backoff: Backoff | None = None,
        decision_hold: timedelta = timedelta(0),
    ) -> Workstation:
        """A workstation whose replica is in ``data_dir``, on a shared backend or the embedded one.

        ``backend_url`` names a shared PostgreSQL backend (``postgresql://user@host/db``);
        without it the embedded SQLite backend in ``data_dir`` is used (and migrated). The
        ``password`` (from the OS keyring) goes into the connection in memory only. A shared
        backend is not contacted here, so the app starts with no network; the first sync
        checks that its schema is this app's. ``decision_hold`` keeps each new decision
        unsent that long, so that it can still be undone (the app passes
        `reviewer.enforcement.SEND_HOLD`).
        """
        paths = DataPaths(data_dir or default_data_dir()).ensure()
        taxonomy = taxonomy or load_taxonomy()
        clock = clock or SystemClock()
        replica = Database.open(sqlite_url(paths.replica))
        if backend_url is None:
            backend = Database.open(sqlite_url(paths.backend))
        else:
            url = normalise_url(backend_url)
            if password is not None:
                url = url.set(password=password)
            backend = Database.open(url, migrate=False)
        with replica.sessions() as session:
            client = load_client_id(session)
        settings = CoreSettings.load(paths.settings)
        weights = PriorityWeights.from_settings(settings)
        interval = timedelta(seconds=settings.get("sync/interval_seconds"))
        engine = SyncEngine(replica, backend, client, clock, weights, backoff=backoff,
                            interval=interval, hold=decision_hold)
        return cls(paths, backend, replica, taxonomy, clock, client,
                   reviewer_id or demo_reviewer_id(username), engine, settings)

    def needs_demo_data(self) -> bool:
        return not backend_has_data(self.backend)

    def prepare_demo(self, progress: Progress | None = None, seed: int = 20261121) -> None:
        """Seed the embedded backend on first start; safe to call again."""
        if self.needs_demo_data():
            seed_demo(self.backend, self.taxonomy, self.clock, random.Random(seed),
                      progress=progress)

    def synchronise(self, progress: Progress | None = None) -> SyncReport:
        return self.sync.sync_once(progress)

    def reviewer(self) -> Reviewer | None:
        with self.replica.sessions() as session:
            return session.scalar(
                select(Reviewer).where(Reviewer.id == self.reviewer_id)
                .options(selectinload(Reviewer.teams))
            )

    def case(self, case_id: uuid.UUID) -> Case | None:
        with self.replica.sessions() as session:
            return session.scalar(
                select(Case).where(Case.id == case_id).options(selectinload(Case.media))
            )

    def media_bytes(self, content_hash: str) -> bytes | None:
        with self.replica.sessions() as session:
            return session.scalar(
                select(MediaBlob.data).where(MediaBlob.content_hash == content_hash)
            )

    def media_items(self, case_id: uuid.UUID) -> list[MediaItem]:
        with self.replica.sessions() as session:
            return list(session.scalars(
                select(MediaItem).where(MediaItem.case_id == case_id)
                .order_by(MediaItem.position)
            ))

    def queues(self) -> list[tuple[uuid.UUID, str]]:
        with self.replica.sessions() as session:
            return [(q.id, q.name) for q in session.scalars(select(Queue).order_by(Queue.name))]

    def languages(self) -> list[str]:
        with self.replica.sessions() as session:
            return sorted(set(session.scalars(select(Case.language).distinct())))

    # -- leases: asked of the backend, then pulled so the replica shows them ---------------

    def get_next_case(self) -> Lease | None:
        """Lease the next case on the backend; offline, take the next one already leased
        to this reviewer in the replica (an offline kit)."""
        try:
            lease = lease_next_case(self.backend, self.reviewer_id, self.clock,
                                    self.lease_duration)
        except BackendUnavailable:
            return self.next_case_already_leased()
        self.synchronise()
        return lease

    def next_case_already_leased(self, after: uuid.UUID | None = None) -> Lease | None:
        """The highest-priority open case leased to me in the replica (travel mode)."""
        now = self.clock.now()
        with self.replica.sessions() as session:
            statement = (
                select(Case).where(Case.status == "leased",
                                   Case.lease_holder_id == self.reviewer_id,
                                   Case.lease_expires_at > now)
                .order_by(Case.priority_key, Case.id)
            )
            if after is not None:
                statement = statement.where(Case.id != after)
            case = session.scalars(statement.limit(1)).first()
            if case is None:
                return None
            assert case.lease_expires_at is not None
            return Lease(case.id, self.reviewer_id, case.fencing_token, case.lease_expires_at)

    @property
    def kit_duration(self) -> timedelta:
        return timedelta(hours=self.settings.get("offline/kit_hours"))

    def estimate_travel_kit(self, queue_id: uuid.UUID, count: int) -> KitEstimate:
        return estimate_kit(self.backend, self.reviewer_id, queue_id, count, self.taxonomy)

    def prepare_travel_kit(self, queue_id: uuid.UUID, count: int,
                           progress: Progress | None = None) -> KitReport:
        """Lease the cases for travel, then download them (and their media) now."""
        report = lease_kit(self.backend, self.reviewer_id, queue_id, count, self.taxonomy,
                           self.clock, self.kit_duration, progress)
        self.synchronise(progress)
        return report

    def claim_case(self, case_id: uuid.UUID) -> Lease:
        lease = lease_case(self.backend, case_id, self.reviewer_id, self.clock,
                           self.lease_duration)
        self.synchronise()
        return lease

    def renew(self, lease: Lease) -> Lease:
        return renew_lease(self.backend, lease, self.clock, self.lease_duration)

    def skip(self, lease: Lease, reason: str) -> None:
        release_lease(self.backend, lease, self.clock, reason)
        self.synchronise()

    def close(self) -> None:
        self.backend.dispose()
        self.replica.dispose()
