"""Fill a local replica with many synthetic demo cases quickly, for benchmarks.

The ordinary path, ``reviewer-admin seed-demo`` into the backend and then a sync, writes
every row twice, a row at a time through the ORM, the sixteen queue indexes and the
full-text triggers; at a million cases that takes far longer than a benchmark should.
This writes the same cases straight into a replica in large transactions with plain
``executemany``, and builds the queue indexes and the search index once at the end.

The cases are those ``seed_demo(..., with_media=False)`` makes from the same seed, with
their handoff notes; the decisions and escalations, which the queue never reads, are left
out. The rows never reached a backend: use this to measure, never to fill a working replica.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import Connection, Table, func, select

from reviewer.clock import Clock
from reviewer.demo.seed import DemoContext, demo_case, seed_people_and_queues
from reviewer.policy.taxonomy import Taxonomy
from reviewer.queue.case_queue import OPEN_STATUSES, PriorityWeights
from reviewer.store.database import WRITE_INTENT, Database
from reviewer.store.models import Case, Note

BATCH_ROWS = 50_000
"""Cases converted and written at a time: few enough that a batch stays under 100 MB."""

BULK_CACHE_KIB = 256 * 1024
"""SQLite's page cache while seeding, so that building the indexes rarely touches disk."""

SEARCH_INSERT_TRIGGERS = ("case_text_insert", "note_text_insert")
"""The triggers (migration 0005) that index each new case and note as it is written."""

DEFERRED_TABLES = (Case.__tablename__, Note.__tablename__)

Progress = Callable[[int, int], None]


@dataclass
class BulkSummary:
    cases: int = 0
    open_cases: int = 0
    notes: int = 0
    write_seconds: float = 0.0
    queue_index_seconds: float = 0.0
    search_index_seconds: float = 0.0


def demo_case_rows(context: DemoContext, rng: random.Random, first_number: int,
                   count: int) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each case ``seed_demo`` makes without media from the same rng state, and its note.

    Both take their cases from ``demo.demo_case``, so a seed gives the same cases on both
    paths (tests/unit/demo/test_bulk.py compares them).
    """
    for number in range(first_number, first_number + count):
        case = demo_case(context, rng, number)
        yield case.row(context.weights), case.note_row()


class _TableWriter:
    """One table's INSERT, each value converted by its column's type (GUID, UTC time).

    A column the rows leave out gets the model's scalar default, as the ORM would give it.
    """

    def __init__(self, connection: Connection, table: Table):
        dialect = connection.dialect
        self.connection = connection
        self.columns = [
            (column.name, column.type.dialect_impl(dialect).bind_processor(dialect),
             column.default.arg if column.default is not None and column.default.is_scalar
             else None)
            for column in table.columns
        ]
        self.sql = (f"INSERT INTO {table.name} ({', '.join(c[0] for c in self.columns)}) "
                    f"VALUES ({', '.join('?' for _ in self.columns)})")

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        values = []
        for row in rows:
            out = []
            for name, convert, default in self.columns:
                value = row.get(name, default)
                out.append(value if convert is None or value is None else convert(value))
            values.append(tuple(out))
        self.connection.exec_driver_sql(self.sql, values)


@contextmanager
def _indexes_deferred(connection: Connection,
                      summary: BulkSummary) -> Iterator[None]:
    """Drop the cases' and notes' secondary indexes and search triggers, then rebuild them.

    Each is re-created from its own SQL as stored in the schema, so the result is the
    schema the migrations made. Call inside a transaction: on an error, nothing changed.
    """
    placeholders = ", ".join("?" for _ in DEFERRED_TABLES)
    indexes = connection.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({placeholders})", DEFERRED_TABLES).all()
    triggers = connection.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
        f"AND name IN ({', '.join('?' for _ in SEARCH_INSERT_TRIGGERS)})",
        SEARCH_INSERT_TRIGGERS).all()
    last_case = connection.exec_driver_sql("SELECT max(rowid) FROM review_case").scalar()
    last_note = connection.exec_driver_sql("SELECT max(rowid) FROM note").scalar()
    for name, _sql in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    for name, _sql in triggers:
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    started = time.perf_counter()
    for _name, sql in indexes:
        connection.exec_driver_sql(sql)
    summary.queue_index_seconds = time.perf_counter() - started
    started = time.perf_counter()
    if triggers:
        _index_for_search(connection, last_case or 0, last_note or 0)
    for _name, sql in triggers:
        connection.exec_driver_sql(sql)
    summary.search_index_seconds = time.perf_counter() - started


def _index_for_search(connection: Connection, after_case: int, after_note: int) -> None:
    """What the insert triggers would have written for the rows added after these rowids."""
    connection.exec_driver_sql(
        "INSERT INTO case_text (rowid, external_ref, reported_text, reporter_note) "
        "SELECT rowid, external_ref, reported_text, reporter_note "
        "FROM review_case WHERE rowid > ?", (after_case,))
    connection.exec_driver_sql(
        "INSERT INTO note_text (rowid, body) SELECT rowid, body FROM note WHERE rowid > ?",
        (after_note,))


@contextmanager
def _nothing_deferred(_connection: Connection, _summary: BulkSummary) -> Iterator[None]:
    yield


def seed_replica_cases(
    replica: Database,
    taxonomy: Taxonomy,
    clock: Clock,
    rng: random.Random,
    *,
    cases: int,
    weights: PriorityWeights | None = None,
    defer_indexes: bool = True,
    batch_rows: int = BATCH_ROWS,
    progress: Progress | None = None,
) -> BulkSummary:
    """Add ``cases`` demo cases (and the demo team and queues, if missing) to a replica.

    With ``defer_indexes`` the queue and search indexes are built once after the rows are
    in, instead of a row at a time by the indexes and triggers themselves; it is several
    times faster when the replica is not already much larger than what is added.
    """
    now = clock.now().astimezone(UTC)
    summary = BulkSummary()
    with replica.writing() as session:
        context = DemoContext.of(taxonomy, now, weights or PriorityWeights(),
                                 seed_people_and_queues(session, taxonomy, now))
        existing = session.scalar(select(func.count()).select_from(Case)) or 0
    deferred = _indexes_deferred if defer_indexes else _nothing_deferred
    started = time.perf_counter()
    with replica.engine.connect() as connection:
        connection.execution_options(**WRITE_INTENT)
        with connection.begin():
            cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
            with deferred(connection, summary):
                cases_out = _TableWriter(connection, Case.__table__)
                notes_out = _TableWriter(connection, Note.__table__)
                generated = demo_case_rows(context, rng, existing + 1, cases)
                while summary.cases < cases:
                    size = min(batch_rows, cases - summary.cases)
                    case_rows, note_rows = [], []
                    for _ in range(size):
                        row, note = next(generated)
                        case_rows.append(row)
                        if note is not None:
                            note_rows.append(note)
                    cases_out.write(case_rows)
                    notes_out.write(note_rows)
                    summary.cases += len(case_rows)
                    summary.notes += len(note_rows)
                    summary.open_cases += sum(r["status"] in OPEN_STATUSES
                                              for r in case_rows)
                    if progress is not None:
                        progress(summary.cases, cases)
                summary.write_seconds = time.perf_counter() - started
            connection.exec_driver_sql(f"PRAGMA cache_size = {int(cache_size)}")
    return summary
