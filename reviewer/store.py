"""Engines and sessions for the backend database and the local replica.

Both are upgraded to the newest schema when opened, so an app started on an older data
directory migrates it before any service touches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SEARCH_INDEX_PREFIX = "case_search"


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Leave the replica's full-text index out of schema comparisons.

    It is an FTS5 table (with shadow tables) made by raw SQL in a migration, not a model.
    """
    return not (type_ == "table" and name is not None and name.startswith(SEARCH_INDEX_PREFIX))


class SchemaVersionError(RuntimeError):
    """The database was written by a newer version of the app than this one."""


@dataclass(frozen=True)
class DataPaths:
    """Where the embedded default keeps its files inside one data directory."""

    root: Path

    @property
    def backend(self) -> Path:
        return self.root / "backend.sqlite"

    @property
    def replica(self) -> Path:
        return self.root / "replica.sqlite"

    @property
    def settings(self) -> Path:
        return self.root / "settings.ini"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def ensure(self) -> DataPaths:
        self.root.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        return self


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


WRITE_INTENT = {"sqlite_begin": "IMMEDIATE"}
"""Execution options for a transaction that will write after reading (a lease claim):
on SQLite it takes the write lock at BEGIN, so concurrent claimants queue instead of
failing; other backends ignore it."""


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, say when a transaction begins (savepoints and
        # BEGIN IMMEDIATE depend on it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str | URL) -> Engine:
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.set_main_option(
            "sqlalchemy.url", engine.url.render_as_string(hide_password=False)
        )
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(engine: Engine) -> None:
    """Bring the schema to the newest revision; refuse a database from a newer app."""
    script = ScriptDirectory.from_config(alembic_config())
    current = current_revision(engine)
    try:
        known = current is None or script.get_revision(current) is not None
    except CommandError:  # alembic cannot resolve a revision id it has never seen
        known = False
    if not known:
        raise SchemaVersionError(
            f"the database at {engine.url.render_as_string()} has schema version {current}, "
            "which this version of Reviewer Workstation does not know; update the app"
        )
    if current == script.get_current_head():
        return
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def writing(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction that will write: committed on success, rolled back on any error.

    On SQLite it takes the write lock when it begins, so two writers (the window and the
    background sync) wait for each other instead of one failing with "database is locked".
    """
    with sessions() as session:
        session.connection(execution_options=WRITE_INTENT)
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


@dataclass
class Database:
    """An engine plus its session factory, migrated to head."""

    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def open(cls, url: str | URL, *, migrate: bool = True) -> Database:
        engine = make_engine(url)
        if migrate:
            upgrade_to_head(engine)
        return cls(engine, sessionmaker(engine, expire_on_commit=False))

    def writing(self) -> AbstractContextManager[Session]:
        return writing(self.sessions)

    def dispose(self) -> None:
        self.engine.dispose()
