"""The schema on PostgreSQL: migrations, init-backend as an admin runs it, version checks."""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from reviewer.cli import main
from reviewer.store.database import (
    BackendLoginFailed,
    BackendUnavailable,
    Database,
    SchemaVersionError,
    current_revision,
    head_revision,
    include_name,
    make_engine,
)
from reviewer.store.models import Base
from reviewer.sync.engine import Connection
from tests.helpers.pg_workstations import open_workstation
from tests.helpers.postgres import PASSWORD_ROLE_PASSWORD


def _stamp(url, revision: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


def test_migrations_build_the_models_schema_on_postgresql(pg_empty_url):
    database = Database.open(pg_empty_url)
    try:
        assert current_revision(database.engine) == head_revision()
        with database.engine.connect() as connection:
            diff = compare_metadata(
                MigrationContext.configure(
                    connection, opts={"compare_type": True, "include_name": include_name}),
                Base.metadata)
        assert diff == [], f"models and migrations disagree on PostgreSQL: {diff}"
        inspector = inspect(database.engine)
        columns = {c["name"]: c for c in inspector.get_columns("review_case")}
        assert str(columns["id"]["type"]) == "UUID"
        assert "TIMESTAMP" in str(columns["due_at"]["type"])
        # The replica's FTS5 search index is SQLite-only and must not exist here.
        assert not [t for t in inspector.get_table_names() if t.startswith("case_search")]
    finally:
        database.dispose()


def test_two_admins_initialising_at_once_take_turns(pg_empty_url):
    errors: list[BaseException] = []

    def initialise() -> None:
        try:
            Database.open(pg_empty_url).dispose()
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=initialise) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    engine = make_engine(pg_empty_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_init_backend_creates_then_reports_up_to_date(pg_empty_url, tmp_path, capsys):
    url = pg_empty_url.render_as_string(hide_password=False)
    assert main(["--data-dir", str(tmp_path), "init-backend", url]) == 0
    out = capsys.readouterr().out
    assert f"created the schema {head_revision()}" in out
    assert main(["--data-dir", str(tmp_path), "init-backend", url]) == 0
    assert "is up to date" in capsys.readouterr().out


def test_init_backend_upgrades_an_older_schema(pg_url, tmp_path, capsys):
    # A backend at the first revision (stamped: the later revisions' tables are removed).
    engine = make_engine(pg_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    from alembic import command

    from reviewer.store.database import alembic_config

    engine = make_engine(pg_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    engine.dispose()
    url = pg_url.render_as_string(hide_password=False)
    assert main(["--data-dir", str(tmp_path), "init-backend", url]) == 0
    assert f"from schema 0001 to {head_revision()}" in capsys.readouterr().out


def test_a_backend_from_a_newer_app_is_refused_clearly(pg_url, tmp_path, capsys, clock):
    _stamp(pg_url, "ffff_from_the_future")
    with pytest.raises(SchemaVersionError, match="does not know; update the app"):
        Database.open(pg_url)
    url = pg_url.render_as_string(hide_password=False)
    assert main(["--data-dir", str(tmp_path), "init-backend", url]) == 2
    captured = capsys.readouterr()
    assert "error: the database" in captured.err and "ffff_from_the_future" in captured.err
    assert "Traceback" not in captured.err
    # A workstation starts (offline work goes on) and its sync says what is wrong.
    workstation = open_workstation(tmp_path / "ws", pg_url, clock)
    try:
        with pytest.raises(SchemaVersionError, match="update the app"):
            workstation.synchronise()
        status = workstation.sync.status()
        assert status.connection is Connection.REFUSED
        assert "ffff_from_the_future" in status.last_error
    finally:
        workstation.close()


def test_a_backend_an_admin_has_not_upgraded_is_refused_by_workstations(pg_url, tmp_path,
                                                                         clock):
    _stamp(pg_url, "0001")
    workstation = open_workstation(tmp_path / "ws", pg_url, clock)
    try:
        with pytest.raises(SchemaVersionError, match="reviewer-admin init-backend"):
            workstation.synchronise()
    finally:
        workstation.close()


def test_wrong_password_is_a_clear_message(postgres_server, pg_url, tmp_path, capsys):
    postgres_server.create_password_role("intake_admin")
    assert PASSWORD_ROLE_PASSWORD != "wrong"
    url = pg_url.set(username="intake_admin", password="wrong")
    with pytest.raises(BackendLoginFailed, match="refused the sign-in"):
        Database.open(url)
    assert main(["--data-dir", str(tmp_path), "init-backend",
                 url.render_as_string(hide_password=False)]) == 2
    err = capsys.readouterr().err
    assert "refused the sign-in" in err and "password authentication failed" in err
    assert "wrong" not in err.replace("wrong password", "")  # the password is never shown
    assert "Traceback" not in err


def test_unreachable_server_is_a_clear_message(tmp_path, capsys):
    url = f"postgresql://reviewer@/reviewer?host={tmp_path / 'no-server-here'}"
    with pytest.raises(BackendUnavailable, match="cannot be reached"):
        Database.open(url)
    assert main(["--data-dir", str(tmp_path), "init-backend", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the backend reviewer on ") and "cannot be reached" in err
    assert "Traceback" not in err


def test_a_database_that_does_not_exist_is_a_clear_message(pg_url, tmp_path, capsys):
    url = pg_url.set(database="no_such_database_here")
    assert main(["--data-dir", str(tmp_path), "init-backend",
                 url.render_as_string(hide_password=False)]) == 2
    err = capsys.readouterr().err
    assert "refused the sign-in" in err and "does not exist" in err
