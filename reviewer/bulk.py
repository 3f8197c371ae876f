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
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, func, select

from reviewer.clock import Clock
from reviewer.demo import (
    CHANNEL_WEIGHTS,
    DEMO_NAMESPACE,
    LANGUAGES,
    NOTES,
    QUEUES,
    REVIEWERS,
    TEXTS,
    demo_reviewer_id,
    seed_people_and_queues,
)
from reviewer.models import Case, Note
from reviewer.queue import OPEN_STATUSES, PriorityWeights, derive_queue_fields
from reviewer.store import WRITE_INTENT, Database
from reviewer.taxonomy import Taxonomy
from reviewer.vocabulary import Action, CaseStatus, EscalationTeam, Urgency

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


@dataclass(frozen=True)
class DemoContext:
    """What every generated case draws on: the taxonomy, the time, the queues and people."""

    taxonomy: Taxonomy
    now: datetime
    weights: PriorityWeights
    queues: Sequence[tuple[uuid.UUID, str]]  # (id, name), in the order of demo.QUEUES
    reviewer_ids: Sequence[uuid.UUID]


def demo_case_rows(context: DemoContext, rng: random.Random, first_number: int,
                   count: int) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each case ``seed_demo`` makes without media from the same rng state, and its note.

    It draws from ``rng`` exactly as ``seed_demo`` does, including the draws for the
    decision or escalation it does not write, so that a seed gives the same cases on both
    paths (tests/unit/test_bulk.py compares them).
    """
    specs = {spec.name: spec for spec in QUEUES}
    channels, channel_weights = zip(*CHANNEL_WEIGHTS, strict=True)
    for number in range(first_number, first_number + count):
        queue_id, queue_name = rng.choice(context.queues)
        spec = specs[queue_name]
        area = context.taxonomy.area(spec.area)
        surface = rng.choice(spec.surfaces)
        channel = rng.choices(channels, channel_weights)[0]
        age_hours = rng.uniform(0.05, spec.sla_hours * 1.6) if rng.random() < 0.8 \
            else rng.uniform(0, 24 * 7)
        reported = context.now - timedelta(hours=age_hours)
        due = reported + timedelta(hours=spec.sla_hours)
        language, region = rng.choice(LANGUAGES)
        case_id = uuid.uuid5(DEMO_NAMESPACE, f"case:{number}")
        status = CaseStatus.NEW.value
        history = rng.random()
        if (age_hours > spec.sla_hours * 1.2 and history < 0.7) or history < 0.25:
            status = CaseStatus.DECIDED.value
        elif history < 0.32:
            status = CaseStatus.ESCALATED.value
        row = {
            "id": case_id, "external_ref": f"RPT-{2026_000000 + number}",
            "queue_id": queue_id, "surface": surface.value, "channel": channel.value,
            "policy_area": area.code, "reported_at": reported, "due_at": due,
            "severity": max(1, min(5, round(rng.gauss(
                max(p.severity for p in area.policies) - 1, 1)))),
            "reach": int(rng.lognormvariate(6, 2.2)),
            "language": language, "region": region,
            "reported_text": rng.choice(TEXTS.get(area.code, ["Reported content."])),
            "reporter_note": rng.choice(("", "", "Please look at this quickly.",
                                         "Seen this account do it before.")),
            "status": status, "lease_holder_id": None, "lease_expires_at": None,
            "fencing_token": 0, "media_count": 0, "updated_at": reported,
            "change_version": 0,
        }
        derive_queue_fields(row, context.weights)
        if status == CaseStatus.DECIDED.value:
            policies = [p for p in area.policies if surface in p.surfaces] or list(
                area.policies)
            policy = rng.choice(policies)
            rng.choice([a for a in policy.actions if a != Action.ESCALATE])
            row["updated_at"] = min(context.now, reported + timedelta(
                hours=rng.uniform(0.1, spec.sla_hours * 1.3)))
            rng.choice(context.reviewer_ids)
        elif status == CaseStatus.ESCALATED.value:
            rng.choice(context.reviewer_ids)
            rng.choice(list(EscalationTeam))
            rng.choice(list(Urgency))
        note = None
        if rng.random() < 0.08:
            note = {
                "id": uuid.uuid5(DEMO_NAMESPACE, f"note:{number}"), "case_id": case_id,
                "author_id": rng.choice(context.reviewer_ids), "body": rng.choice(NOTES),
                "created_at": reported + timedelta(minutes=20), "change_version": 0,
            }
        yield row, note


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
        queues = [(q.id, q.name) for q in seed_people_and_queues(session, taxonomy, now)]
        existing = session.scalar(select(func.count()).select_from(Case)) or 0
    context = DemoContext(
        taxonomy, now, weights or PriorityWeights(), queues,
        [demo_reviewer_id(r[0]) for r in REVIEWERS if r[2] == "reviewer"],
    )
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
