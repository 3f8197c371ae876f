"""The schema: one chain of migrations whose head matches the models, on a real database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from reviewer.store.database import (
    Database,
    SchemaVersionError,
    alembic_config,
    current_revision,
    head_revision,
    include_name,
    sqlite_url,
)
from reviewer.store.models import Base, Case, Decision, MediaBlob, Queue, Team


def test_revisions_form_one_chain():
    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    assert len(heads) == 1, f"several heads: {heads}"
    bases = script.get_bases()
    assert len(bases) == 1, f"several roots: {bases}"
    revisions = list(script.walk_revisions())
    for revision in revisions:
        assert revision.down_revision is None or isinstance(revision.down_revision, str), (
            f"{revision.revision} merges branches"
        )


def test_upgrade_creates_head_schema_matching_models(tmp_path):
    database = Database.open(sqlite_url(tmp_path / "db.sqlite"))
    assert current_revision(database.engine) == head_revision()
    with database.engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": include_name}
            ),
            Base.metadata,
        )
    assert diff == [], f"models and migrations disagree: {diff}"
    tables = set(inspect(database.engine).get_table_names())
    assert {"review_case", "decision", "outbox", "sync_state", "media_blob"} <= tables


def test_opening_twice_is_idempotent(tmp_path):
    url = sqlite_url(tmp_path / "db.sqlite")
    Database.open(url).dispose()
    database = Database.open(url)
    assert current_revision(database.engine) == head_revision()


def test_database_from_a_newer_app_is_refused(tmp_path):
    url = sqlite_url(tmp_path / "db.sqlite")
    database = Database.open(url)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    with pytest.raises(SchemaVersionError, match="does not know"):
        Database.open(url)


def test_naming_convention_names_constraints(tmp_path):
    database = Database.open(sqlite_url(tmp_path / "db.sqlite"))
    inspector = inspect(database.engine)
    checks = {c["name"] for c in inspector.get_check_constraints("review_case")}
    assert "ck_review_case_severity" in checks
    uniques = {c["name"] for c in inspector.get_unique_constraints("review_case")}
    assert "uq_review_case_external_ref" in uniques


@pytest.fixture
def database(tmp_path):
    database = Database.open(sqlite_url(tmp_path / "db.sqlite"))
    yield database
    database.dispose()


def _case(queue: Queue, **overrides) -> Case:
    reported = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    values = dict(
        external_ref="RPT-1", queue_id=queue.id, surface="organic_post", channel="press",
        policy_area="hate_speech", reported_at=reported, due_at=reported + timedelta(hours=4),
        severity=3, reach=100, language="en", region="GB",
    )
    values.update(overrides)
    return Case(**values)


def test_timestamps_come_back_timezone_aware_utc(database):
    with database.sessions.begin() as session:
        session.add(Team(code="t", name="T"))
        session.flush()
        queue = Queue(name="Q", team_code="t", policy_area="hate_speech", sla_hours=4)
        session.add(queue)
        session.flush()
        berlin = timezone(timedelta(hours=1))
        case = _case(queue, reported_at=datetime(2026, 11, 20, 9, 0, tzinfo=berlin))
        session.add(case)
    with database.sessions() as session:
        stored = session.scalar(select(Case))
        assert stored.reported_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
        assert stored.reported_at.tzinfo is not None
        assert isinstance(stored.id, uuid.UUID)


def test_naive_timestamps_are_refused(database):
    with database.sessions() as session:
        session.add(Team(code="t", name="T"))
        session.flush()
        queue = Queue(name="Q", team_code="t", policy_area="x", sla_hours=4)
        session.add(queue)
        session.flush()
        session.add(_case(queue, reported_at=datetime(2026, 11, 20, 9, 0)))
        with pytest.raises(Exception, match="naive datetime"):
            session.flush()


def test_guid_is_text_on_sqlite(database):
    with database.sessions.begin() as session:
        session.add(Team(code="t", name="T"))
    with database.engine.connect() as connection:
        connection.execute(text(
            "INSERT INTO queue (id, code, name, team_code, policy_area, sla_hours, graphic, "
            "change_version) VALUES ('6b3c2a1e-0000-4000-8000-000000000001', 'q', 'Q', 't', "
            "'x', 4, 0, 0)"
        ))
        connection.commit()
    with database.sessions() as session:
        queue = session.scalar(select(Queue))
        assert queue.id == uuid.UUID("6b3c2a1e-0000-4000-8000-000000000001")


def test_media_bytes_are_stored_once_per_content(database):
    with database.sessions() as session:
        session.add(MediaBlob(content_hash="ab" * 32, size_bytes=3, data=b"abc"))
        session.commit()
        session.add(MediaBlob(content_hash="ab" * 32, size_bytes=3, data=b"abc"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_severity_out_of_range_is_refused(database):
    with database.sessions() as session:
        session.add(Team(code="t", name="T"))
        session.flush()
        queue = Queue(name="Q", team_code="t", policy_area="x", sla_hours=4)
        session.add(queue)
        session.flush()
        session.add(_case(queue, severity=9))
        with pytest.raises(IntegrityError):
            session.flush()


def test_decision_requires_an_existing_case(database):
    with database.sessions() as session:
        session.add(Decision(case_id=uuid.uuid4(), reviewer_id=uuid.uuid4(), policy_code="HS-1",
                             action="remove", rationale="x", policy_version="1"))
        with pytest.raises(IntegrityError):
            session.flush()


def test_upgrading_a_populated_first_schema_keeps_cases_and_derives_their_fields(tmp_path):
    from alembic import command

    from reviewer.queue.case_queue import PriorityWeights, QueueFilter, case_ids, priority_key
    from reviewer.store.database import make_engine

    url = sqlite_url(tmp_path / "old.sqlite")
    engine = make_engine(url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    reported = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO team (code, name, change_version) VALUES ('t', 'T', 1)"))
        connection.execute(text(
            "INSERT INTO queue (id, name, team_code, policy_area, sla_hours, graphic, "
            "change_version) VALUES ('6b3c2a1e-0000-4000-8000-000000000001', 'Q', 't', "
            "'spam_fraud', 4, 0, 1)"))
        connection.execute(text(
            "INSERT INTO review_case (id, external_ref, queue_id, surface, channel, "
            "policy_area, reported_at, due_at, severity, reach, language, region, "
            "reported_text, reporter_note, status, fencing_token, media_count, updated_at, "
            "change_version) VALUES ('6b3c2a1e-0000-4000-8000-0000000000aa', 'RPT-OLD-1', "
            "'6b3c2a1e-0000-4000-8000-000000000001', 'organic_post', 'press', 'spam_fraud', "
            "'2026-11-20 08:00:00.000000', '2026-11-20 12:00:00.000000', 3, 999, 'en', "
            "'GB', 'Crypto giveaway scam', '', 'new', 0, 0, '2026-11-20 08:00:00.000000', 1)"))
    engine.dispose()

    database = Database.open(url)
    with database.sessions() as session:
        case = session.scalar(select(Case))
        assert case.priority_key == pytest.approx(priority_key(
            3, "press", 999, reported + timedelta(hours=4), PriorityWeights()))
        assert case.at_risk_at == reported + timedelta(hours=3)
        found = case_ids(session, QueueFilter(search="giveaway"))
        assert found == [case.id]
