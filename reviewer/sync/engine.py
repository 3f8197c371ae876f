"""The workstation's side of sync: push the outbox in order, pull changes after the cursor.

A mutation is marked done only after the backend has confirmed it; if the answer is lost,
the next push replays it and the backend recognises it. Pulled rows and the new cursor are
written in one local transaction, so a crash in between misses nothing.

Sync runs in the background and must survive a backend that comes and goes: a lost or
refused connection raises a `BackendError` with a plain message (never a driver
traceback), and the engine keeps a `SyncStatus` (online, offline, syncing, refused; the
last error; when it will try again) that the window shows. After a failure the next
attempt waits according to a `Backoff` (5 s, 10 s, 20 s ... at most 5 minutes), reset by a
success; `sync_if_due` is what a background timer calls.

On the backend every write transaction locks the case rows it touches before it takes the
change counter (which every writer needs, so it is always the last lock taken); the push
therefore locks its batch's cases, in id order, before applying it. With that one order
no two writers can wait on each other in a cycle.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, func, literal_column, select, text, update
from sqlalchemy.orm import Session

from reviewer.clock import Clock
from reviewer.queue.case_queue import PriorityWeights, derive_queue_fields
from reviewer.queue.leases import LeaseError
from reviewer.security.devices import DeviceError
from reviewer.store.database import (
    BackendError,
    BackendLoginFailed,
    BackendUnavailable,
    Database,
    SchemaVersionError,
)
from reviewer.store.models import SYNCED_MODELS, Case, OutboxEntry
from reviewer.store.outbox import get_state, pending_count, set_state
from reviewer.sync.appliers import Mutation, MutationResult

if TYPE_CHECKING:
    from reviewer.sync.link import BackendLink


class DeviceRevoked(BackendError):
    """An admin revoked this device: it stops syncing, and its replica is wiped at the next
    start."""


class DeviceRefused(BackendError):
    """The backend would not register this device (no such reviewer, another reviewer's
    replica); the message says why."""


PUSH_BATCH = 500
PULL_VERSION_STEP = 20_000
DEFAULT_INTERVAL = timedelta(seconds=60)

Progress = Callable[[int, int], None]
"""Called with (done, total) as a long transfer moves on."""


@dataclass
class SyncReport:
    pushed: int = 0
    rejected: int = 0
    pulled_rows: int = 0
    pending: int = 0
    cursor: int = 0
    expired_leases: int = 0
    finished_at: datetime | None = None


class Connection(StrEnum):
    """What the status bar says about the backend."""

    UNKNOWN = "unknown"  # no sync tried yet
    SYNCING = "syncing"
    ONLINE = "online"  # the last sync succeeded
    OFFLINE = "offline"  # the backend could not be reached; retrying by itself
    REFUSED = "refused"  # reached, but it refused us (password, schema): needs a person
    FAILED = "failed"  # something else went wrong; the error says what

    @property
    def label(self) -> str:
        return {"unknown": "Not synced yet", "syncing": "Syncing…", "online": "Online",
                "offline": "Offline", "refused": "Backend refused", "failed": "Sync failed",
                }[self.value]


@dataclass(frozen=True)
class SyncStatus:
    """A snapshot of the sync state, safe to hand to another thread."""

    connection: Connection = Connection.UNKNOWN
    last_success_at: datetime | None = None
    last_error: str | None = None
    failures: int = 0
    next_attempt_at: datetime | None = None

    def retry_in(self, now: datetime) -> timedelta | None:
        """How long until the next automatic attempt (None: due now or not planned)."""
        if self.next_attempt_at is None or self.next_attempt_at <= now:
            return None
        return self.next_attempt_at - now


@dataclass
class Backoff:
    """How long to wait after consecutive failures: ``first``, doubling, at most ``ceiling``.

    ``jitter`` spreads clients out (a fraction of the delay, drawn from the injected rng) so
    that a fleet does not reconnect in lockstep after the server comes back.
    """

    first: timedelta = timedelta(seconds=5)
    factor: float = 2.0
    ceiling: timedelta = timedelta(minutes=5)
    jitter: float = 0.0
    rng: random.Random | None = None

    def delay(self, failures: int) -> timedelta:
        """The wait after the ``failures``-th failure in a row (1 for the first)."""
        if failures <= 0:
            return timedelta(0)
        base = min(self.first * (self.factor ** (failures - 1)), self.ceiling)
        if self.jitter and self.rng is not None:
            base *= 1 + self.jitter * (2 * self.rng.random() - 1)
        return base


class SyncEngine:
    def __init__(self, replica: Database, backend: BackendLink, client_id: str, clock: Clock,
                 weights: PriorityWeights | None = None, *, backoff: Backoff | None = None,
                 interval: timedelta = DEFAULT_INTERVAL, hold: timedelta = timedelta(0),
                 username: str | None = None):
        self.replica = replica
        self.username = username  # who checks the device in; None: no device check
        self.backend = backend
        self.client_id = client_id
        self.clock = clock
        self.weights = weights or PriorityWeights()
        self.backoff = backoff or Backoff()
        self.interval = interval
        self.hold = hold  # a decision younger than this stays unsent (it can still be undone)
        self.push_batch = PUSH_BATCH
        self.pull_version_step = PULL_VERSION_STEP
        self._schema_checked = backend.is_embedded  # the embedded one is migrated on open
        self._running = threading.Lock()
        self._status_lock = threading.Lock()
        self._status = SyncStatus()

    # -- status ----------------------------------------------------------------------------

    def status(self) -> SyncStatus:
        with self._status_lock:
            return self._status

    def _set_status(self, **changes: object) -> None:
        with self._status_lock:
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]

    def _succeeded(self, now: datetime) -> None:
        self._set_status(connection=Connection.ONLINE, last_success_at=now, last_error=None,
                         failures=0, next_attempt_at=now + self.interval)

    def _failed(self, error: Exception, now: datetime) -> None:
        failures = self.status().failures + 1
        if isinstance(error, BackendUnavailable):
            connection = Connection.OFFLINE
        elif isinstance(error, BackendLoginFailed | SchemaVersionError | DeviceRevoked
                        | DeviceRefused):
            connection = Connection.REFUSED
        else:
            connection = Connection.FAILED
        self._set_status(connection=connection, last_error=str(error), failures=failures,
                         next_attempt_at=now + self.backoff.delay(failures))

    def _check_schema(self) -> None:
        if not self._schema_checked:
            self.backend.check_schema()
            self._schema_checked = True

    # -- device ----------------------------------------------------------------------------

    def revoked(self) -> bool:
        with self.replica.sessions() as local:
            return get_state(local, "revoked_at") is not None

    def _check_in(self) -> None:
        """Tell the backend this device is syncing; a revoked one stops here for good and
        records it, so the next start wipes the replica."""
        if self.revoked():
            raise DeviceRevoked("an admin revoked this device's access; the local copy is "
                                "wiped when the app starts again")
        if self.username is None:
            return
        now = self.clock.now()
        try:
            status = self.backend.check_in(self.client_id)
        except (DeviceError, LeaseError) as error:
            if self.backend.is_embedded:
                # An SQLite backend on this computer (the demo) has no accounts to enforce,
                # and may not have the reviewer yet (cases ingested before the demo seed).
                return
            raise DeviceRefused(f"the backend refused this workstation: {error}") from error
        if status.revoked:
            revoked_at = status.revoked_at or now
            with self.replica.writing() as local:
                set_state(local, "revoked_at", revoked_at.isoformat())
            raise DeviceRevoked(
                f"an admin revoked this device's access on {revoked_at:%Y-%m-%d %H:%M} UTC; "
                "nothing more is synced and the local copy is wiped when the app starts again")

    # -- push ------------------------------------------------------------------------------

    def push(self, report: SyncReport, progress: Progress | None = None) -> None:
        """Send pending mutations in order, a batch per backend transaction."""
        total = None
        done = 0
        while True:
            with self.replica.sessions() as local:
                if total is None and progress is not None:
                    total = pending_count(local)
                rows = local.execute(
                    select(OutboxEntry.mutation_id, OutboxEntry.client_id, OutboxEntry.seq,
                           OutboxEntry.kind, OutboxEntry.payload, OutboxEntry.created_at)
                    .where(OutboxEntry.state == "pending")
                    .order_by(OutboxEntry.seq)
                    .limit(self.push_batch)
                ).all()
            if self.hold > timedelta(0):  # the app holds new decisions back while Undo works
                rows = _before_held_decision(rows, self.clock.now() - self.hold)
            mutations = [Mutation(r.mutation_id, r.client_id, r.seq, r.kind, r.payload)
                         for r in rows]
            if not mutations:
                return
            results = self.backend.push(mutations)
            # The backend has committed; only now does the outbox learn the outcome.
            self._record_results(results, report)
            done += len(mutations)
            if progress is not None and total:
                progress(min(done, total), total)

    def _record_results(self, results: Sequence[MutationResult], report: SyncReport) -> None:
        now = self.clock.now()
        outbox = OutboxEntry.__table__
        done = [r.mutation_id for r in results if r.outcome == "applied"]
        with self.replica.writing() as local:
            for start in range(0, len(done), 500):
                local.execute(
                    update(outbox).where(outbox.c.mutation_id.in_(done[start:start + 500]))
                    .values(state="done", done_at=now, attempts=outbox.c.attempts + 1))
            for result in results:
                if result.outcome == "applied":
                    continue
                local.execute(
                    update(outbox).where(outbox.c.mutation_id == result.mutation_id)
                    .values(state="rejected", done_at=now, last_error=result.reason,
                            attempts=outbox.c.attempts + 1))
        report.pushed += len(done)
        report.rejected += len(results) - len(done)

    # -- pull ------------------------------------------------------------------------------

    def cursor(self) -> int:
        with self.replica.sessions() as local:
            return int(get_state(local, "pull_cursor", "0") or 0)

    def pull(self, report: SyncReport, progress: Progress | None = None) -> None:
        start = self.cursor()
        target = self.backend.current_version()
        after = start
        while after < target:
            upto = min(after + self.pull_version_step, target)
            batch = self.backend.read_changes(after, upto)
            with self.replica.writing() as local:
                self._apply_batch(local, batch.rows)
                set_state(local, "pull_cursor", str(upto))
            report.pulled_rows += batch.row_count
            after = upto
            if progress is not None:
                progress(after - start, target - start)
        report.cursor = max(start, target)

    def _apply_batch(self, local: Session, rows_by_table: dict[str, list[dict]]) -> None:
        # Foreign keys are checked when the batch commits, not row by row: rows of one table
        # may point to each other in any order (a correction and the decision it corrects,
        # given the same version when an auditor's blind review reveals both).
        local.execute(text("PRAGMA defer_foreign_keys = ON"))
        pending_cases = {
            entry.payload.get("case_id")
            for entry in local.scalars(
                select(OutboxEntry).where(OutboxEntry.state == "pending")
            )
        }
        for model in SYNCED_MODELS:
            table = model.__table__
            rows = rows_by_table.get(table.name, [])
            if model is Case:
                # A case with local work not yet pushed keeps its local state.
                rows = [derive_queue_fields(r, self.weights) for r in rows
                        if str(r["id"]) not in pending_cases]
            if not rows:
                continue
            if model is Case and _worth_reindexing(local, len(rows)):
                # Loading many cases into few: dropping the queue's indexes and building
                # them again afterwards is several times faster than updating fifteen
                # indexes row by row. It is one transaction, so a crash undoes all of it.
                connection = local.connection()
                indexes = list(table.indexes)
                for index in indexes:
                    index.drop(connection)
                _upsert(local, table, rows)
                for index in indexes:
                    index.create(connection)
            else:
                _upsert(local, table, rows)

    # -- both ------------------------------------------------------------------------------

    def sync_once(self, progress: Progress | None = None, *,
                  push_progress: Progress | None = None) -> SyncReport:
        """Push, expire run-out leases, pull. Raises BackendError (plain words) if the
        backend cannot be reached or refuses us; the status records it either way.

        ``progress`` follows the pull (change versions), ``push_progress`` the push
        (mutations)."""
        with self._running:
            return self._sync(progress, push_progress)

    def sync_if_due(self, progress: Progress | None = None) -> SyncReport | None:
        """For a background timer: sync if the interval or the backoff has run out.

        Returns None when it was not yet time, another sync was running, or the attempt
        failed (the status then says why and when the next attempt is).
        """
        status = self.status()
        if status.next_attempt_at is not None and self.clock.now() < status.next_attempt_at:
            return None
        if not self._running.acquire(blocking=False):
            return None
        try:
            return self._sync(progress)
        except (BackendError, SchemaVersionError):
            return None
        finally:
            self._running.release()

    def _sync(self, progress: Progress | None,
              push_progress: Progress | None = None) -> SyncReport:
        self._set_status(connection=Connection.SYNCING)
        try:
            report = self._sync_steps(progress, push_progress)
        except Exception as error:
            self._failed(error, self.clock.now())
            raise
        self._succeeded(self.clock.now())
        return report

    def _sync_steps(self, progress: Progress | None,
                    push_progress: Progress | None) -> SyncReport:
        report = SyncReport()
        self._check_schema()
        self._check_in()
        self.push(report, push_progress)
        # Leases that ran out go back to the queue even when nobody asks for a case.
        report.expired_leases = self.backend.expire_leases()
        self.pull(report, progress)
        now = self.clock.now()
        with self.replica.writing() as local:
            set_state(local, "last_sync", now.isoformat())
            report.pending = pending_count(local)
        report.finished_at = now
        return report


BULK_CASES = 5000
"""A pull bringing at least this many cases (and more than the replica holds) rebuilds the
case indexes instead of updating them row by row."""


def _worth_reindexing(local: Session, incoming: int) -> bool:
    if incoming < BULK_CASES or local.get_bind().dialect.name != "sqlite":
        return False
    # The largest rowid is an upper bound of the row count, read without a scan.
    held = local.scalar(select(func.max(literal_column("rowid"))).select_from(Case)) or 0
    return incoming >= held


def _upsert(local: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert or replace rows by primary key in the replica.

    A first pull brings hundreds of thousands of rows, so each column's value conversion
    is looked up once per table, not once per row, and the rows go to SQLite as plain
    tuples in one ``executemany`` per chunk.
    """
    connection = local.connection()
    dialect = connection.dialect
    columns = list(table.columns)
    keys = [c.name for c in table.primary_key.columns]
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c.name) for c in columns)
    updates = ", ".join(f"{quote(c.name)} = excluded.{quote(c.name)}" for c in columns
                        if c.name not in keys)
    sql = (f"INSERT INTO {quote(table.name)} ({names}) "
           f"VALUES ({', '.join('?' for _ in columns)}) "
           f"ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET {updates}")
    converters = [(c.name, c.type.dialect_impl(dialect).bind_processor(dialect))
                  for c in columns]
    for start in range(0, len(rows), 5000):
        connection.exec_driver_sql(sql, [
            tuple(convert(row.get(name)) if convert is not None else row.get(name)
                  for name, convert in converters)
            for row in rows[start:start + 5000]
        ])


def _before_held_decision(rows: Sequence[Any], cutoff: datetime) -> Sequence[Any]:
    """The outbox rows before the first decision made after `cutoff`: a decision that can
    still be undone is not sent yet, and nothing queued after it overtakes it."""
    for index, row in enumerate(rows):
        if row.kind == "decision" and row.created_at > cutoff:
            return rows[:index]
    return rows
