"""The bulk seeder: the demo seeder's cases, with queue fields and search intact."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from reviewer.demo.bulk import seed_replica_cases
from reviewer.demo.seed import (
    DEMO_NAMESPACE,
    QUEUES,
    DemoContext,
    demo_case,
    demo_reviewer_id,
    seed_demo,
)
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.queue.case_queue import (
    PriorityWeights,
    QueueFilter,
    QueueOrder,
    at_risk_from,
    count_cases,
    fetch_page,
    priority_key,
)
from reviewer.secret_store import MemorySecretStore
from reviewer.store.database import Database, sqlite_url
from reviewer.store.keys import DatabaseKeys
from reviewer.store.models import Case, Note
from reviewer.workstation import Workstation
from tests.helpers.fixtures import START

NOW = START  # where the clock fixture starts
SEED = 11


def _replica(path: Path) -> Database:
    path.mkdir(parents=True, exist_ok=True)
    return Database.open(sqlite_url(path / "replica.sqlite"),
                         keys=DatabaseKeys(MemorySecretStore()))


def _stored(database: Database, table: str) -> list[tuple]:
    """Rows exactly as stored (text, not Python values), without the sync version."""
    with database.engine.connect() as connection:
        result = connection.exec_driver_sql(f"SELECT * FROM {table} ORDER BY id")
        keep = [i for i, name in enumerate(result.keys()) if name != "change_version"]
        return [tuple(row[i] for i in keep) for row in result]


def _schema(database: Database) -> list[tuple]:
    with database.engine.connect() as connection:
        return connection.exec_driver_sql(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
            "ORDER BY type, name").all()


def test_the_demo_seed_keeps_giving_the_same_cases():
    """The demo data is the order of the random draws (the README's screenshot is seed
    20261121): both seeders share ``demo_case``, so this pins the stream itself."""
    context = DemoContext(
        load_taxonomy(), NOW, PriorityWeights(),
        [(uuid.uuid5(DEMO_NAMESPACE, f"queue:{spec.name}"), spec.name) for spec in QUEUES],
        [demo_reviewer_id(name) for name in ("demo", "amara", "jonas", "lucia")],
    )
    rng = random.Random(20261121)
    cases = [demo_case(context, rng, number) for number in range(1, 301)]
    assert rng.random() == 0.5572639911353096  # every draw made, none added
    first = cases[0]
    assert (first.spec.name, first.surface.value, first.channel.value, first.language,
            first.region, first.status, first.severity, first.reach) == (
        "IP complaints", "organic_post", "user_report", "en", "GB", "decided", 1, 18)
    assert first.reported == datetime(2026, 11, 15, 23, 29, 13, 215686, tzinfo=UTC)
    assert first.reported_text.startswith("Trademark complaint")
    assert first.reporter_note == "Please look at this quickly."
    assert (first.decision.policy.code, first.decision.action.value) == (
        "IP-2", "request_info")
    assert first.decision.reviewer_id in context.reviewer_ids
    assert first.row(context.weights)["updated_at"] == NOW == first.decision.created_at
    assert [c.status for c in cases].count("escalated") == 22
    assert sum(c.note is not None for c in cases) == 21

    rng = random.Random(20261121)  # with media the images draw in the middle of each case
    with_media = [demo_case(context, rng, number, with_media=True) for number in (1, 2)]
    assert [(i.kind, i.width, i.height, i.fmt) for c in with_media for i in c.images] == [
        ("text", 800, 600, "GIF"), ("text", 1200, 675, "WEBP"), ("text", 800, 1066, "PNG")]
    assert with_media[1].spec.name == "Regulator & legal requests"
    assert with_media[1].decision.policy.code == "LEG-3"


def test_same_cases_and_notes_as_seed_demo_then_sync(tmp_path, clock, secret_store):
    workstation = Workstation.open_embedded(tmp_path / "demo", clock=clock, secrets=secret_store)
    seed_demo(workstation.backend, workstation.taxonomy, clock, random.Random(SEED),
              cases=150, with_media=False)
    workstation.synchronise()
    bulk = _replica(tmp_path / "bulk")
    summary = seed_replica_cases(bulk, workstation.taxonomy, clock, random.Random(SEED),
                                 cases=150, weights=workstation.weights, batch_rows=40)
    try:
        synced_cases = _stored(workstation.replica, "review_case")
        assert summary.cases == len(synced_cases) == 150
        assert _stored(bulk, "review_case") == synced_cases
        assert summary.notes == len(_stored(bulk, "note")) > 0
        assert _stored(bulk, "note") == _stored(workstation.replica, "note")
    finally:
        workstation.close()
        bulk.dispose()


@pytest.mark.parametrize("defer_indexes", [True, False])
def test_queue_fields_derived_and_search_finds_the_cases(tmp_path, clock, defer_indexes):
    replica = _replica(tmp_path)
    weights = PriorityWeights()
    fresh_schema = _schema(replica)
    seed_replica_cases(replica, load_taxonomy(), clock, random.Random(SEED), cases=400,
                       weights=weights, defer_indexes=defer_indexes, batch_rows=150)
    assert _schema(replica) == fresh_schema  # every index and trigger is back as it was
    with replica.sessions() as session:
        cases = session.scalars(select(Case)).all()
        assert len(cases) == 400
        for case in cases:
            assert case.priority_key == pytest.approx(priority_key(
                case.severity, case.channel, case.reach, case.due_at, weights))
            assert case.at_risk_at == at_risk_from(case.reported_at, case.due_at)

        watches = {c.id for c in cases if "watch" in c.reported_text and c.status == "new"}
        assert watches
        found = fetch_page(session, QueueFilter(search="watch"), QueueOrder(), None, NOW,
                           limit=1000)
        assert {row.id for row in found} == watches

        noted = {n.case_id for n in session.scalars(select(Note))
                 if "specialist" in n.body}
        assert noted
        found = fetch_page(session, QueueFilter(search="specialist", statuses=()),
                           QueueOrder(), None, NOW, limit=1000)
        assert {row.id for row in found} == noted
    replica.dispose()


def test_deferred_search_index_holds_what_the_triggers_would_have_written(tmp_path, clock):
    indexed = []
    for defer_indexes in (True, False):
        replica = _replica(tmp_path / str(defer_indexes))
        seed_replica_cases(replica, load_taxonomy(), clock, random.Random(SEED), cases=200,
                           defer_indexes=defer_indexes)
        _check_search_index(replica)
        with replica.sessions() as session:
            indexed.append({
                word: [r.id for r in fetch_page(session, QueueFilter(search=word, statuses=()),
                                                QueueOrder(), None, NOW, limit=1000)]
                for word in ("watch", "court", "specialist", "RPT-2026000017")
            })
        replica.dispose()
    assert all(indexed[0].values())
    assert indexed[0] == indexed[1]


def _check_search_index(replica):
    """FTS5's own check: raises if the index disagrees with the rows it indexes."""
    with replica.engine.begin() as connection:
        for index in ("case_text", "note_text"):
            connection.exec_driver_sql(
                f"INSERT INTO {index} ({index}, rank) VALUES ('integrity-check', 1)")


def test_adding_to_a_seeded_replica_continues_and_indexes_only_the_new_rows(tmp_path, clock):
    replica = _replica(tmp_path)
    taxonomy = load_taxonomy()
    seed_replica_cases(replica, taxonomy, clock, random.Random(1), cases=120)
    seed_replica_cases(replica, taxonomy, clock, random.Random(2), cases=80)
    with replica.sessions() as session:
        assert count_cases(session, QueueFilter(statuses=()), None, NOW) == 200
        assert count_cases(session, QueueFilter(statuses=(), search="RPT"), None, NOW) == 200
        refs = session.scalars(select(Case.external_ref).order_by(Case.external_ref)).all()
        assert refs[0] == "RPT-2026000001" and refs[-1] == "RPT-2026000200"
    _check_search_index(replica)
    replica.dispose()


def test_rows_written_after_seeding_are_indexed_by_the_restored_triggers(tmp_path, clock):
    replica = _replica(tmp_path)
    taxonomy = load_taxonomy()
    seed_replica_cases(replica, taxonomy, clock, random.Random(3), cases=30)
    with replica.writing() as session:
        case = session.scalars(select(Case).order_by(Case.external_ref).limit(1)).one()
        session.add(Note(id=uuid.uuid4(), case_id=case.id, author_id=demo_reviewer_id(),
                         body="Same gramophone seller as last week", created_at=NOW))
    seed_replica_cases(replica, taxonomy, clock, random.Random(4), cases=5,
                       defer_indexes=False)
    with replica.sessions() as session:
        found = fetch_page(session, QueueFilter(statuses=(), search="gramophone"),
                           QueueOrder(), None, NOW)
        assert [row.id for row in found] == [case.id]
        # Cases 31 to 35 went in through the insert trigger.
        assert count_cases(session, QueueFilter(statuses=(), search="RPT"), None, NOW) == 35
    replica.dispose()
