"""The workstation's side of sync: push the outbox in order, pull changes after the cursor.

A mutation is marked done only after the backend has confirmed it; if the answer is lost,
the next push replays it and the backend recognises it. Pulled rows and the new cursor are
written in one local transaction, so a crash in between misses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from reviewer.clock import Clock
from reviewer.leases import expire_leases
from reviewer.models import SYNCED_MODELS, Case, OutboxEntry
from reviewer.queue import PriorityWeights, derive_queue_fields
from reviewer.store import Database
from reviewer.sync.backend import (
    Mutation,
    apply_mutations,
    current_change_version,
    read_changes,
)
from reviewer.sync.outbox import get_state, pending_count, set_state

PUSH_BATCH = 500
PULL_VERSION_STEP = 20_000

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


class SyncEngine:
    def __init__(self, replica: Database, backend: Database, client_id: str, clock: Clock,
                 weights: PriorityWeights | None = None):
        self.replica = replica
        self.backend = backend
        self.client_id = client_id
        self.clock = clock
        self.weights = weights or PriorityWeights()

    # -- push ------------------------------------------------------------------------------

    def push(self, report: SyncReport) -> None:
        while True:
            with self.replica.sessions() as local:
                entries = local.scalars(
                    select(OutboxEntry)
                    .where(OutboxEntry.state == "pending")
                    .order_by(OutboxEntry.seq)
                    .limit(PUSH_BATCH)
                ).all()
                mutations = [
                    Mutation(e.mutation_id, e.client_id, e.seq, e.kind, e.payload)
                    for e in entries
                ]
            if not mutations:
                return
            with self.backend.writing() as remote:
                results = apply_mutations(remote, mutations)
            # The backend has committed; only now does the outbox learn the outcome.
            now = self.clock.now()
            with self.replica.writing() as local:
                for result in results:
                    entry = local.scalar(
                        select(OutboxEntry).where(OutboxEntry.mutation_id == result.mutation_id)
                    )
                    assert entry is not None
                    entry.attempts += 1
                    entry.done_at = now
                    if result.outcome == "applied":
                        entry.state = "done"
                        report.pushed += 1
                    else:
                        entry.state = "rejected"
                        entry.last_error = result.reason
                        report.rejected += 1

    # -- pull ------------------------------------------------------------------------------

    def cursor(self) -> int:
        with self.replica.sessions() as local:
            return int(get_state(local, "pull_cursor", "0") or 0)

    def pull(self, report: SyncReport, progress: Progress | None = None) -> None:
        start = self.cursor()
        with self.backend.sessions() as remote:
            target = current_change_version(remote)
            after = start
            while after < target:
                upto = min(after + PULL_VERSION_STEP, target)
                batch = read_changes(remote, after, upto)
                with self.replica.writing() as local:
                    self._apply_batch(local, batch.rows)
                    set_state(local, "pull_cursor", str(upto))
                report.pulled_rows += batch.row_count
                after = upto
                if progress is not None:
                    progress(after - start, target - start)
        report.cursor = max(start, target)

    def _apply_batch(self, local: Session, rows_by_table: dict[str, list[dict]]) -> None:
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
            keys = [c.name for c in table.primary_key.columns]
            statement = sqlite_insert(table)
            statement = statement.on_conflict_do_update(
                index_elements=keys,
                set_={c.name: statement.excluded[c.name] for c in table.columns
                      if c.name not in keys},
            )
            for start in range(0, len(rows), 5000):
                local.execute(statement, rows[start:start + 5000])

    # -- both ------------------------------------------------------------------------------

    def sync_once(self, progress: Progress | None = None) -> SyncReport:
        report = SyncReport()
        self.push(report)
        # Leases that ran out go back to the queue even when nobody asks for a case.
        with self.backend.writing() as remote:
            report.expired_leases = expire_leases(remote, self.clock.now())
        self.pull(report, progress)
        now = self.clock.now()
        with self.replica.writing() as local:
            set_state(local, "last_sync", now.isoformat())
            report.pending = pending_count(local)
        report.finished_at = now
        return report
