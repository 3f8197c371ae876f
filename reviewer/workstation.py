"""One reviewer's workstation: the databases, taxonomy, clock, secrets and identity, wired
once.

The app and the administration CLI both build one of these and hand it to whatever needs
it; nothing here is global.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

import platformdirs
from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.orm import selectinload

from reviewer.clock import Clock, SystemClock
from reviewer.demo.seed import (
    DEMO_USERNAME,
    REVIEWERS,
    backend_has_data,
    demo_reviewer_id,
    seed_demo,
)
from reviewer.enforcement.desk import EnforcementDesk
from reviewer.policy.taxonomy import Taxonomy, load_taxonomy
from reviewer.qa.desk import AuditDesk
from reviewer.qa.sampling import SamplingPolicy
from reviewer.queue.case_queue import PriorityWeights, QueueFilter
from reviewer.queue.leases import Lease
from reviewer.queue.notes import add_note, notes_for
from reviewer.queue.pages import QueuePages
from reviewer.queue.routing import UnservedCases, may_route, set_language_routing, unserved_cases
from reviewer.reports.desk import ReportsDesk
from reviewer.secret_store import SecretStore
from reviewer.security.secrets import KeyringSecretStore
from reviewer.settings import ROUTING_ON_SHIFT_HOURS, CoreSettings
from reviewer.store import replica as replica_files
from reviewer.store.database import BackendUnavailable, Database, DataPaths, normalise_url
from reviewer.store.keys import DatabaseKeys
from reviewer.store.models import Case, MediaBlob, MediaItem, Note, Queue, Reviewer
from reviewer.store.outbox import client_id as load_client_id
from reviewer.store.outbox import get_state, pending_count
from reviewer.sync.engine import Backoff, Progress, SyncEngine, SyncReport
from reviewer.sync.link import BackendLink, DirectLink, DrawnSample
from reviewer.sync.offline_kit import KitEstimate, KitReport
from reviewer.vocabulary import Role
from reviewer.wellness.journal import WellnessJournal

APP_NAME = "ReviewerWorkstation"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass
class Workstation:
    paths: DataPaths
    backend: Database | None
    """The backend database this process holds itself: the embedded demo's SQLite file, or
    a PostgreSQL backend an admin's tool opened as its owner. None on a backend service,
    where the workstation holds no database credentials at all."""
    replica: Database
    taxonomy: Taxonomy
    clock: Clock
    client_id: str
    reviewer_id: uuid.UUID
    sync: SyncEngine
    settings: CoreSettings
    keys: DatabaseKeys
    """The keys of the data directory's encrypted files, filed in `secrets` (or held for
    this run only)."""
    link: BackendLink | None = None
    """What the workstation asks the backend (`reviewer.sync.link`); the sync engine's."""
    wiped_reason: str | None = None
    """Why the replica was wiped when this workstation opened (device revoked, or no
    successful sync for ``security/wipe_after_days``); None if it was not."""
    replica_warning: str | None = field(default=None)
    """What the window must say about how the replica is protected (e.g. no keyring: the
    demo data lasts for this session only); None when all is well."""

    @property
    def secrets(self) -> SecretStore:
        """Where this workstation's keys (and a remembered password) are kept."""
        return self.keys.secrets

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
        secrets: SecretStore | None = None,
        taxonomy: Taxonomy | None = None,
        username: str = DEMO_USERNAME,
        decision_hold: timedelta = timedelta(0),
    ) -> Workstation:
        """The embedded default: an SQLite backend and the replica in one data directory."""
        return cls.open(data_dir, clock=clock, secrets=secrets, taxonomy=taxonomy,
                        username=username, decision_hold=decision_hold)

    @classmethod
    def open(
        cls,
        data_dir: Path | None = None,
        *,
        backend_url: str | URL | None = None,
        password: str | None = None,
        clock: Clock | None = None,
        secrets: SecretStore | None = None,
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
        `reviewer.enforcement.decisions.SEND_HOLD`).

        The replica (and the embedded backend) are SQLCipher files whose keys are kept in
        ``secrets``, the OS keyring unless a store is given (`reviewer.store.replica`); one
        that cannot be read raises `ReplicaUnreadable`. A replica
        whose device was revoked, or that has not synced for ``security/wipe_after_days``,
        is wiped first (`wiped_reason` says why). Without a keyring the ``password`` also
        unlocks a team replica (the sign-in dialog files a remembered password itself).
        """
        paths = DataPaths(data_dir or default_data_dir()).ensure()
        taxonomy = taxonomy or load_taxonomy()
        clock = clock or SystemClock()
        data_keys = DatabaseKeys(secrets if secrets is not None else KeyringSecretStore())
        settings = CoreSettings.load(paths.settings)
        service_url = service_address(backend_url)
        url = None if backend_url is None or service_url is not None \
            else normalise_url(backend_url)
        if url is not None and password is None:
            password = url.password if isinstance(url.password, str) else None
        embedded = url is None and service_url is None
        keys = replica_files.resolve_keys(paths, data_keys, embedded=embedded,
                                          password=password)
        replica = replica_files.open_encrypted(paths.replica, keys.replica, data_keys)
        wiped_reason = _wipe_reason(replica, settings, clock.now())
        if wiped_reason is not None:
            replica.dispose()
            replica_files.wipe(paths, data_keys)
            keys = replica_files.resolve_keys(paths, data_keys, embedded=embedded,
                                              password=password)
            replica = replica_files.open_encrypted(paths.replica, keys.replica, data_keys)
        else:
            replica_files.recover_pending(paths, data_keys, replica)
        with replica.sessions() as session:
            client = load_client_id(session)
        allow_unverified = settings.get("security/allow_unverified_tls")
        backend: Database | None = None
        try:
            link: BackendLink
            if service_url is not None:
                from reviewer.sync.service_client import ServiceLink

                link = ServiceLink(service_url, username=username, password=password,
                                   client_id=client, allow_unverified_tls=allow_unverified)
            else:
                if url is None:
                    assert keys.backend is not None
                    backend = replica_files.open_encrypted(paths.backend, keys.backend,
                                                           data_keys,
                                                           what="embedded demo backend")
                else:
                    if password is not None and url.get_backend_name() != "sqlite":
                        url = url.set(password=password)
                    backend = Database.open(url, migrate=False, keys=data_keys,
                                            allow_unverified_tls=allow_unverified)
                link = DirectLink(backend, username=username, clock=clock,
                                  taxonomy=taxonomy, client_id=client)
        except BaseException:
            replica.dispose()
            raise
        weights = PriorityWeights.from_settings(settings)
        interval = timedelta(seconds=settings.get("sync/interval_seconds"))
        engine = SyncEngine(replica, link, client, clock, weights, backoff=backoff,
                            interval=interval, hold=decision_hold, username=username)
        return cls(paths, backend, replica, taxonomy, clock, client,
                   reviewer_id or demo_reviewer_id(username), engine, settings, data_keys,
                   link=link, wiped_reason=wiped_reason, replica_warning=keys.warning)

    @staticmethod
    def reset_replica(data_dir: Path | None = None, *,
                      secrets: SecretStore | None = None) -> Path:
        """Move an unreadable replica (and its log files) aside to a timestamped name and
        forget its key; the next `open` starts a fresh replica that syncs. The old file is
        kept, its key filed under its new name in ``secrets`` (the OS keyring unless a store
        is given), since it may hold pending work. Returns the path it was moved to."""
        paths = DataPaths(data_dir or default_data_dir()).ensure()
        keys = DatabaseKeys(secrets if secrets is not None else KeyringSecretStore())
        now = SystemClock().now()
        aside = replica_files.move_aside(paths, keys, replica_files.REPLICA, now)
        salt = paths.root / replica_files.SALT_FILE
        if salt.exists():  # a password-derived key: its salt goes with the file it opens
            salt.rename(aside.with_suffix(".salt") if aside is not None
                        else salt.with_name(f"{salt.name}.old-{now:%Y%m%dT%H%M%S}"))
        if replica_files.backend_unreadable(paths, keys):
            replica_files.move_aside(paths, keys, replica_files.BACKEND, now)  # demo: reseeded
        return aside if aside is not None else paths.replica

    def needs_demo_data(self) -> bool:
        return self.backend is not None and not backend_has_data(self.backend)

    def prepare_demo(self, progress: Progress | None = None, seed: int = 20261121) -> None:
        """Seed the embedded backend on first start; safe to call again."""
        if self.backend is not None and self.needs_demo_data():
            seed_demo(self.backend, self.taxonomy, self.clock, random.Random(seed),
                      progress=progress)

    def synchronise(self, progress: Progress | None = None) -> SyncReport:
        return self.sync.sync_once(progress)

    def identity(self) -> tuple[str, str]:
        """Who is signed in, as (display name, role), for the window's title bar and menus:
        from the replica; before the first pull has brought their account, on the embedded
        demo from the demo's organisation file (so ``--user sofia`` is a lead from the first
        start on), elsewhere the username as a reviewer until the pull."""
        reviewer = self.reviewer()
        if reviewer is not None:
            return reviewer.display_name, reviewer.role
        username = self.sync.username or DEMO_USERNAME
        if self.sync.backend.is_embedded:
            for name, display_name, role, _teams, _languages in REVIEWERS:
                if name == username:
                    return display_name, role
        return username, Role.REVIEWER.value

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

    def language_routing(self, queue_id: uuid.UUID) -> bool | None:
        """Whether get next routes this queue's cases by language (None: no such queue)."""
        with self.replica.sessions() as session:
            queue = session.get(Queue, queue_id)
            return None if queue is None else bool(queue.language_routing)

    def may_route(self, queue_id: uuid.UUID) -> bool:
        """Whether this person may turn the queue's language routing off or on."""
        return may_route(self.replica.sessions, self.reviewer_id, queue_id)

    def set_language_routing(self, queue_id: uuid.UUID, on: bool) -> bool:
        """A lead turns language routing off or on for a queue (or raises RoutingRefused);
        sent at the next sync. Returns whether it changed."""
        return set_language_routing(self.replica.sessions, queue_id=queue_id,
                                    actor_id=self.reviewer_id, client_id=self.client_id,
                                    on=on, clock=self.clock)

    def unserved_cases(self) -> UnservedCases:
        """For a lead: open cases of their queues in a language nobody on shift reviews."""
        window = timedelta(hours=self.settings.get(ROUTING_ON_SHIFT_HOURS))
        return unserved_cases(self.replica.sessions, self.reviewer_id, self.clock.now(),
                              window)

    def languages(self) -> list[str]:
        with self.replica.sessions() as session:
            return sorted(set(session.scalars(select(Case.language).distinct())))

    # -- leases: asked of the backend, then pulled so the replica shows them ---------------

    def get_next_case(self) -> Lease | None:
        """Lease the next case on the backend; offline, take the next one already leased
        to this reviewer in the replica (an offline kit)."""
        try:
            lease = self.sync.backend.lease_next(self.lease_duration)
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
        return self.sync.backend.estimate_kit(queue_id, count)

    def prepare_travel_kit(self, queue_id: uuid.UUID, count: int,
                           progress: Progress | None = None) -> KitReport:
        """Lease the cases for travel, then download them (and their media) now."""
        report = self.sync.backend.lease_kit(queue_id, count, self.kit_duration, progress)
        self.synchronise(progress)
        return report

    def claim_case(self, case_id: uuid.UUID) -> Lease:
        lease = self.sync.backend.lease_case(case_id, self.lease_duration)
        self.synchronise()
        return lease

    def renew(self, lease: Lease) -> Lease:
        return self.sync.backend.renew(lease, self.lease_duration)

    def skip(self, lease: Lease, reason: str) -> None:
        self.sync.backend.release(lease, reason)
        self.synchronise()

    def reassign(self, case_id: uuid.UUID, to_reviewer_id: uuid.UUID | None,
                 reason: str = "") -> Lease | None:
        """A lead moves a case's lease to someone else, or gives it back to the queue."""
        lease = self.sync.backend.reassign(case_id, to_reviewer_id, reason,
                                           self.lease_duration)
        self.synchronise()
        return lease

    # -- the window's reads and writes of the replica, each through its capability ---------

    @cached_property
    def enforcement(self) -> EnforcementDesk:
        """Decisions, corrections, escalations, second reviews and replies."""
        return EnforcementDesk(self.replica, self.taxonomy, reviewer_id=self.reviewer_id,
                               client_id=self.client_id, clock=self.clock)

    @cached_property
    def audit(self) -> AuditDesk:
        """Blind re-reviews and verdicts of this person as an auditor."""
        return AuditDesk(self.replica, self.taxonomy, auditor_id=self.reviewer_id,
                         client_id=self.client_id, clock=self.clock)

    @cached_property
    def queue_pages(self) -> QueuePages:
        """The case queue's pages, rows and counts, "Mine" meaning this person."""
        return QueuePages(self.replica, self.reviewer_id)

    @cached_property
    def reports(self) -> ReportsDesk:
        """The reports window's figures over the replica, and its exports' audit entries."""
        return ReportsDesk(self.replica)

    @cached_property
    def wellness(self) -> WellnessJournal:
        """This person's wellness records, and the totals they share with their lead."""
        return WellnessJournal(self.replica, reviewer_id=self.reviewer_id,
                               client_id=self.client_id, clock=self.clock)

    def draw_sample(self, since: datetime, rate: float,
                    seed: int) -> tuple[DrawnSample, str | None]:
        """Draw an audit sample for this person, and why the sync after it failed (None: it
        did not fail, or there was none).

        On a team backend the sample is drawn there (its sampling frame holds decisions this
        replica does not: row security shows an auditor only what was sampled for them) and
        a sync brings it here; offline that raises BackendUnavailable. On the embedded
        backend it is drawn from the decisions here and sent with the next sync."""
        if self.sync.backend.is_embedded:
            stored = self.audit.draw_here(since, SamplingPolicy(base_rate=rate), seed)
            return DrawnSample(stored.stored, stored.sample.population, stored.sample.seed,
                               stored.already_sampled, stored.own_decisions), None
        drawn = self.sync.backend.draw_sample(since, rate, seed)
        # Drawn and kept on the backend; if this sync fails (its status says why), the
        # next one brings the samples.
        try:
            self.synchronise()
        except Exception as error:  # the draw itself succeeded and is kept
            return drawn, (str(error).splitlines() or [type(error).__name__])[0]
        return drawn, None

    def notes(self, case_id: uuid.UUID) -> list[tuple[Note, str]]:
        """The case's handoff notes, oldest first, with their authors' names."""
        return notes_for(self.replica.sessions, case_id)

    def add_note(self, case_id: uuid.UUID, body: str) -> Note:
        """Save a handoff note (or raise NoteRejected); it is sent at the next sync."""
        return add_note(self.replica.sessions, case_id=case_id, author_id=self.reviewer_id,
                        client_id=self.client_id, body=body, clock=self.clock)

    def count_cases(self, query: QueueFilter) -> int:
        """How many cases the queue shows for ``query`` now."""
        return self.queue_pages.count(query, self.clock.now())

    def active_people(self) -> list[tuple[str, uuid.UUID]]:
        """Everyone active on the replica, by name: whom a lead may give a case to."""
        with self.replica.sessions() as session:
            return [(r.display_name, r.id) for r in session.scalars(
                select(Reviewer).where(Reviewer.active).order_by(Reviewer.display_name))]

    def unsent(self) -> tuple[int, datetime | None]:
        """How many changes wait in the outbox, and when the last sync succeeded."""
        with self.replica.sessions() as session:
            count = pending_count(session)
            last = get_state(session, "last_sync")
        return count, datetime.fromisoformat(last) if last else None

    def sign_out(self) -> None:
        """End this workstation's session on the backend service (nothing on the demo)."""
        sign_out = getattr(self.sync.backend, "sign_out", None)
        if sign_out is not None:
            sign_out()

    def close(self) -> None:
        self.sync.backend.dispose()
        self.replica.dispose()


def service_address(address: str | URL | None) -> str | None:
    """The backend service's base URL if ``address`` names one (``https://…``, or
    ``http://`` on this computer), else None (the embedded backend, or a database URL)."""
    if address is None or isinstance(address, URL):
        return None
    text = str(address).strip()
    if text.lower().startswith(("https://", "http://")):
        return text.rstrip("/")
    return None


def _wipe_reason(replica: Database, settings: CoreSettings, now: datetime) -> str | None:
    """Why the replica must be wiped before use, or None."""
    with replica.sessions() as session:
        revoked_at = get_state(session, "revoked_at")
        last_sync = get_state(session, "last_sync")
    if revoked_at is not None:
        return (f"an admin revoked this device's access on {revoked_at[:16].replace('T', ' ')}"
                " UTC")
    if last_sync is None:
        return None
    days = float(settings.get("security/wipe_after_days"))
    last = datetime.fromisoformat(last_sync)
    if days > 0 and now - last > timedelta(days=days):
        return (f"it had not synced with the backend for more than {days:g} days (last sync "
                f"{last:%Y-%m-%d %H:%M} UTC)")
    return None
