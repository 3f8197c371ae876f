"""Change versions on PostgreSQL: a transaction writes a placeholder and takes the counter
only at commit (reviewer.store.changes), and versions still commit in the order they are
taken, so a pull never misses a row."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, text

from reviewer.store.changes import is_placeholder, next_change_version, stamp_changes
from reviewer.store.database import Database
from reviewer.store.models import SYNCED_MODELS, Queue, Team
from reviewer.sync.appliers import read_changes
from tests.helpers.pg_workstations import seed_backend


@pytest.fixture
def backend(pg_url, clock):
    seed_backend(pg_url, clock, cases=10)
    database = Database.open(pg_url, migrate=False)
    yield database
    database.dispose()


def _rename(session, model, key, name: str) -> int:
    row = session.get(model, key)
    row.name = name
    row.change_version = next_change_version(session)
    return row.change_version


def test_a_transaction_writes_a_placeholder_and_commits_a_version(backend):
    with backend.sessions() as session:
        before = session.scalar(text("SELECT value FROM change_counter"))
    with backend.writing() as session:
        team = session.scalars(select(Team).order_by(Team.code)).first()
        placeholder = _rename(session, Team, team.code, "Renamed team")
        assert is_placeholder(placeholder)
        assert next_change_version(session) == placeholder  # one per transaction
        queue = session.scalars(select(Queue).order_by(Queue.code)).first()
        queue.change_version = next_change_version(session)
        queue.name = "Renamed queue"
    assert team.change_version == queue.change_version == before + 1  # stamped in memory too
    with backend.sessions() as session:
        assert session.get(Team, team.code).change_version == before + 1
        assert session.get(Queue, queue.id).change_version == before + 1
        for model in SYNCED_MODELS:  # nothing anywhere is left with a placeholder
            table = model.__table__
            assert session.scalar(select(table.c.change_version)
                                  .where(table.c.change_version < 0).limit(1)) is None


def test_the_transaction_that_commits_last_has_the_higher_version(backend):
    """A began writing first and commits last; B wrote and committed in between. A pull at
    B's version then one more find both rows, A's in the second."""
    with backend.sessions() as session:
        team_a, team_b = session.scalars(select(Team.code).order_by(Team.code)).all()[:2]
    a_wrote, b_done = threading.Event(), threading.Event()
    versions: dict[str, int] = {}

    def writer_a() -> None:
        with backend.writing() as session:
            _rename(session, Team, team_a, "A's name")
            session.flush()
            a_wrote.set()
            assert b_done.wait(30)
        with backend.sessions() as session:
            versions["a"] = session.get(Team, team_a).change_version

    thread = threading.Thread(target=writer_a)
    thread.start()
    assert a_wrote.wait(30)
    with backend.writing() as session:  # does not wait for A: A holds no counter yet
        _rename(session, Team, team_b, "B's name")
    with backend.sessions() as session:
        versions["b"] = session.get(Team, team_b).change_version
        first = read_changes(session, versions["b"] - 1, versions["b"], models=[Team])
    b_done.set()
    thread.join(30)
    assert versions["a"] == versions["b"] + 1
    assert [row["code"] for row in first.rows["team"]] == [team_b]
    with backend.sessions() as session:
        second = read_changes(session, versions["b"], versions["a"], models=[Team])
    assert [(row["code"], row["name"]) for row in second.rows["team"]] == [(team_a, "A's name")]


def test_a_failed_savepoint_keeps_the_rest_of_the_transaction_stamped(backend):
    with backend.writing() as session:
        team_a, team_b = session.scalars(select(Team.code).order_by(Team.code)).all()[:2]
        _rename(session, Team, team_a, "Kept")
        with pytest.raises(RuntimeError), session.begin_nested():
            _rename(session, Team, team_b, "Rolled back")
            session.flush()
            raise RuntimeError("this mutation alone fails")
        version = stamp_changes(session)
    assert version is not None and version > 0
    with backend.sessions() as session:
        assert session.get(Team, team_a).change_version == version
        assert session.get(Team, team_b).name != "Rolled back"
