"""Engines and sessions for the backend database and the local replica.

Both are upgraded to the newest schema when opened, so an app started on an older data
directory migrates it before any service touches it.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlcipher3 import dbapi2 as sqlcipher

from reviewer.secret_store import SecretStoreUnavailable
from reviewer.store.keys import REPLICA_KEY_BYTES, DatabaseKeys

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SEARCH_INDEX_TABLES = ("case_search", "case_text", "note_text")


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Leave the replica's full-text index out of schema comparisons.

    It is an FTS5 table (with shadow tables) made by raw SQL in a migration, not a model.
    """
    return not (type_ == "table" and name is not None
                and name.startswith(SEARCH_INDEX_TABLES))


class SchemaVersionError(RuntimeError):
    """The database was written by a newer version of the app than this one (or, for a
    shared backend, by an older one that an admin has yet to upgrade)."""


class BackendError(RuntimeError):
    """The backend cannot be used right now; the message says why in plain words."""


class BackendUnavailable(BackendError):
    """The backend cannot be reached or went away (network, server down or restarting).

    Transient: trying again later may succeed, so sync backs off and retries.
    """


class InsecureBackend(BackendError):
    """A remote backend address that would send data without verifying the server's
    certificate, refused unless the setting ``security/allow_unverified_tls`` is on."""


class BackendLoginFailed(BackendError):
    """The server answered but refused the sign-in (wrong password, unknown role or
    database). Retrying will not help until the settings or the password change."""


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


PLAIN_SQLITE_HEADER = b"SQLite format 3\x00"
"""The first bytes of an unencrypted SQLite file; an SQLCipher file starts with random salt."""

DATA_DIRECTORY_DATABASES = ("replica.sqlite", "backend.sqlite")


def is_plain_sqlite(path: Path) -> bool:
    """Whether ``path`` is an unencrypted SQLite database (an old data directory's)."""
    try:
        with path.open("rb") as file:
            return file.read(len(PLAIN_SQLITE_HEADER)) == PLAIN_SQLITE_HEADER
    except OSError:
        return False


def _file_key(path: Path, keys: DatabaseKeys | None) -> bytes | None:
    """The key for a database file nobody handed one for: the one ``keys`` holds, else the
    one filed for that file of its data directory, made now for a new ``replica.sqlite`` or
    ``backend.sqlite`` (None: a plain SQLite file)."""
    key = keys.held(path) if keys is not None else None
    if key is not None:
        return key
    if path.exists() and (path.stat().st_size == 0 or is_plain_sqlite(path)):
        return None
    new_data_file = not path.exists() and path.name in DATA_DIRECTORY_DATABASES
    if keys is None:
        if new_data_file:  # never a plain file where case data will go
            raise BackendError(f"{path} cannot be created encrypted: no secret store was "
                               "given to keep its key")
        return None
    encrypted = path.exists()  # and not plain SQLite (above): it needs its key
    try:
        key = keys.load(path.parent, path.name)
        if key is None and new_data_file:
            # A data directory's database is created encrypted (by reviewer-admin too).
            key = keys.create(path.parent, path.name)
    except SecretStoreUnavailable as error:
        if new_data_file:  # never a plain file where case data will go
            raise BackendError(f"{path} cannot be created encrypted: {error}. Start the app "
                               "instead (without a keyring it keys the demo for one run), "
                               "or use a team backend") from error
        if encrypted:
            raise BackendError(f"{path} is encrypted and its key is kept in the OS keyring, "
                               f"which cannot be reached: {error}") from error
        return None
    if key is None and encrypted:
        raise BackendError(f"{path} is encrypted, and this computer's keyring has no key for "
                           "it (a demo started without a keyring is keyed for that run only)")
    return key


def key_pragma(key: bytes) -> str:
    """The statement that applies a raw 256-bit key (no key derivation on every connect)."""
    if len(key) != REPLICA_KEY_BYTES:
        raise ValueError("an SQLCipher key has 32 bytes")
    return f"PRAGMA key = \"x'{key.hex()}'\""


def _sqlcipher_creator(path: Path, key: bytes):  # type: ignore[no-untyped-def]
    statement = key_pragma(key)

    def connect():  # type: ignore[no-untyped-def]
        connection = sqlcipher.connect(str(path), timeout=30, check_same_thread=False)
        try:
            # The key comes before anything else reads the file; reading the schema then
            # proves it is the right one ("file is not a database" otherwise).
            connection.execute(statement)
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except BaseException:
            connection.close()
            raise
        return connection

    return connect


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, say when a transaction begins (savepoints and
        # BEGIN IMMEDIATE depend on it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # Sorts and temporary tables stay in memory: no decrypted page goes to a temp file.
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # The queue's indexes on a large replica do not fit the default 2 MiB page cache;
        # 32 MiB keeps a big pull from spilling pages to the log row by row.
        cursor.execute("PRAGMA cache_size=-32768")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


POSTGRES_CONNECT_DEFAULTS = {
    "connect_timeout": "10",
    "application_name": "reviewer-workstation",
    # A connection whose peer vanished (a dropped network) is noticed within about a minute
    # instead of hanging until the operating system gives up, hours later.
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
}
"""libpq parameters the backend connection gets unless its URL says otherwise."""


def normalise_url(url: str | URL) -> URL:
    """A plain ``postgresql://`` URL means psycopg 3, the driver the app ships with."""
    url = make_url(url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


_VERIFIED_SSLMODE = "verify-full"
_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def _hosts(url: URL) -> list[str]:
    query_host = url.query.get("host")
    hosts = [url.host] if url.host else []
    if query_host:
        hosts += [query_host] if isinstance(query_host, str) else list(query_host)
    return [h for part in hosts for h in str(part).split(",")]


def _is_local_host(host: str) -> bool:
    host = host.strip()
    if not host or host.startswith("/") or host.startswith("@") or host == "localhost":
        return True  # a unix socket, or this computer
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_remote(url: str | URL) -> bool:
    """Whether a PostgreSQL address reaches another computer (not loopback, not a socket)."""
    url = normalise_url(url)
    return url.get_backend_name() == "postgresql" and not all(
        _is_local_host(host) for host in (_hosts(url) or [""]))


def _sslmode(url: URL) -> str | None:
    mode = url.query.get("sslmode")
    return None if mode is None else str(mode if isinstance(mode, str) else mode[-1])


def tls_warning(url: str | URL) -> str | None:
    """The warning to show when a remote backend is used without certificate verification
    (only possible with the setting ``security/allow_unverified_tls``); None otherwise."""
    url = normalise_url(url)
    if not is_remote(url):
        return None
    mode = _sslmode(url)
    if mode is None or mode == _VERIFIED_SSLMODE:
        return None
    return (f"The connection to the backend {describe(url)} does not verify the server's "
            f"certificate (sslmode={mode}): someone on the network could read or change "
            "case data. Ask an admin for the backend's CA certificate and remove "
            "'allow_unverified_tls' from the settings.")


def tls_policy(url: URL, *, allow_unverified_tls: bool = False) -> URL:
    """A remote backend gets ``sslmode=verify-full`` unless its address says otherwise;
    an address asking for less is refused unless unverified TLS is explicitly allowed."""
    if not is_remote(url):
        return url
    mode = _sslmode(url)
    if mode is None:
        return url.update_query_dict({"sslmode": _VERIFIED_SSLMODE})
    if mode not in _SSLMODES:
        raise InsecureBackend(f"the backend address for {describe(url)} has an unknown "
                              f"sslmode '{mode}'; use sslmode=verify-full")
    if mode != _VERIFIED_SSLMODE and not allow_unverified_tls:
        raise InsecureBackend(
            f"the backend {describe(url)} is on another computer and its address asks for "
            f"sslmode={mode}, which does not verify the server's certificate; use "
            "sslmode=verify-full with the backend's CA certificate (sslrootcert=...), or "
            "set security/allow_unverified_tls = true in the settings to accept the risk"
        )
    return url


def make_engine(url: str | URL, *, key: bytes | None = None, keys: DatabaseKeys | None = None,
                allow_unverified_tls: bool = False, pool_size: int | None = None) -> Engine:
    """An engine for ``url``.

    An SQLite file is an SQLCipher database when it has a key: ``key``, or the one ``keys``
    holds or has filed for that file (`reviewer.store.keys`); without one it is plain
    SQLite (scratch databases in tests and tools), and a data directory's new
    ``replica.sqlite`` or ``backend.sqlite`` is refused rather than created plain. A remote
    PostgreSQL backend must verify the server's certificate (`tls_policy`). Error messages
    and logs never quote a statement's parameters (they hold case text).
    """
    url = normalise_url(url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database) if url.database and url.database != ":memory:" else None
        if key is None and path is not None:
            key = _file_key(path, keys)
        if key is not None and path is not None:
            engine = create_engine(url, creator=_sqlcipher_creator(path, key),
                                   module=sqlcipher, hide_parameters=True)
        else:
            engine = create_engine(url, connect_args={"timeout": 30,
                                                      "check_same_thread": False},
                                   hide_parameters=True)
        _configure_sqlite(engine)
        return engine
    if url.get_backend_name() == "postgresql":
        defaults = {k: v for k, v in POSTGRES_CONNECT_DEFAULTS.items() if k not in url.query}
        url = tls_policy(url.update_query_dict(defaults),
                         allow_unverified_tls=allow_unverified_tls)
    # Error messages (which reach logs and crash reports) never quote a statement's
    # parameters: they hold case text.
    if pool_size is not None and url.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, hide_parameters=True,
                             pool_size=max(1, pool_size), max_overflow=0, pool_timeout=60)
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def describe(url: URL) -> str:
    """Where a database is, for messages: never with its password."""
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    host = url.host or url.query.get("host") or "localhost"
    port = f":{url.port}" if url.port else ""
    return f"{url.database} on {host}{port}"


_UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "57P", "53300")
"""Connection exceptions, the server shutting down or starting up, too many connections."""

_LOGIN_PHRASES = (
    "password authentication failed",
    "no password supplied",
    "authentication failed",
    "does not exist",
    "no pg_hba.conf entry",
    "permission denied for database",
    "is not permitted to log in",
)


def backend_error(error: BaseException, url: URL) -> BackendError | None:
    """The plain-words error for a failure to talk to the database, or None if ``error``
    is something else (a constraint, a bug) that must not be disguised."""
    if not isinstance(error, DBAPIError):
        return None
    original = error.orig
    message = str(original).strip() if original is not None else str(error)
    first_line = message.splitlines()[0] if message else ""
    where = describe(url)
    driver = type(original).__module__.split(".")[0]
    if url.get_backend_name() == "sqlite":
        if (driver in ("sqlite3", "sqlcipher3") and isinstance(error, OperationalError)
                and "unable to open database file" in message):
            return BackendUnavailable(f"the database file {where} cannot be opened")
        return None
    if driver != "psycopg":
        return None  # e.g. the replica's SQLite, used while talking to the backend
    sqlstate = getattr(original, "sqlstate", None)
    if isinstance(error, OperationalError) and sqlstate is None and any(
        phrase in message for phrase in _LOGIN_PHRASES
    ):
        return BackendLoginFailed(f"the backend {where} refused the sign-in: "
                                  f"{_after_colon(first_line)}")
    if sqlstate in ("28P01", "28000", "3D000"):
        return BackendLoginFailed(f"the backend {where} refused the sign-in: {first_line}")
    invalidated = error.connection_invalidated
    if (
        invalidated
        or (sqlstate is not None and sqlstate.startswith(_UNAVAILABLE_SQLSTATE_PREFIXES))
        or (sqlstate is None and isinstance(error, OperationalError | InterfaceError))
    ):
        return BackendUnavailable(f"the backend {where} cannot be reached: "
                                  f"{_after_colon(first_line) or 'the connection was lost'}")
    return None


def _after_colon(line: str) -> str:
    """libpq says 'connection failed: connection to server at ... failed: <reason>'."""
    reason = line.rsplit("failed: ", 1)[-1].strip()
    return reason or line


@contextmanager
def talking_to(url: URL) -> Iterator[None]:
    """Turn a lost or refused connection into a BackendError; let anything else through."""
    try:
        yield
    except DBAPIError as error:
        translated = backend_error(error, url)
        if translated is None:
            raise
        raise translated from error


def alembic_config(engine: Engine | None = None) -> Config:
    # The connection is handed to Alembic in ``attributes``; the URL (which may hold a
    # password) is never copied into the configuration.
    del engine
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@functools.cache
def head_revision() -> str:
    """The schema version this code needs (read once: the migrations do not change while
    the process runs; the service answers it to every workstation that signs in)."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _refuse_unknown(engine: Engine, script: ScriptDirectory, current: str | None) -> None:
    try:
        known = current is None or script.get_revision(current) is not None
    except CommandError:  # alembic cannot resolve a revision id it has never seen
        known = False
    if not known:
        raise SchemaVersionError(
            f"the database {describe(engine.url)} has schema version {current}, "
            "which this version of Reviewer Workstation does not know; update the app"
        )


MIGRATION_LOCK = 7_311_901
"""PostgreSQL advisory lock id held while migrating, so two admins upgrading at once
take turns instead of both creating the same tables."""


def upgrade_to_head(engine: Engine) -> None:
    """Bring the schema to the newest revision; refuse a database from a newer app."""
    with talking_to(engine.url):
        script = ScriptDirectory.from_config(alembic_config())
        current = current_revision(engine)
        _refuse_unknown(engine, script, current)
        if current == script.get_current_head():
            return
        config = alembic_config()
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"),
                                   {"id": MIGRATION_LOCK})
                current = MigrationContext.configure(connection).get_current_revision()
                _refuse_unknown(engine, script, current)
            if current != script.get_current_head():
                config.attributes["connection"] = connection
                command.upgrade(config, "head")


def check_schema(engine: Engine) -> None:
    """Refuse a database whose schema is not exactly this app's (a shared backend is
    upgraded by an admin with ``reviewer-admin init-backend``, never by a workstation)."""
    with talking_to(engine.url):
        script = ScriptDirectory.from_config(alembic_config())
        current = current_revision(engine)
    _refuse_unknown(engine, script, current)
    head = script.get_current_head()
    if current != head:
        state = "no schema yet" if current is None else f"the older schema version {current}"
        raise SchemaVersionError(
            f"the backend {describe(engine.url)} has {state}, but this version of Reviewer "
            f"Workstation needs {head}; ask an admin to run "
            "'reviewer-admin init-backend' on it"
        )


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
    def open(cls, url: str | URL, *, migrate: bool = True, key: bytes | None = None,
             keys: DatabaseKeys | None = None, allow_unverified_tls: bool = False,
             pool_size: int | None = None) -> Database:
        """Open (and with ``migrate``, upgrade) a database; with ``migrate=False`` nothing
        connects yet, so a backend that is offline does not stop the app from starting.
        ``key``, or the one ``keys`` has for the file, encrypts an SQLite file (see
        `make_engine`)."""
        engine = make_engine(url, key=key, keys=keys, allow_unverified_tls=allow_unverified_tls,
                             pool_size=pool_size)
        if migrate:
            try:
                upgrade_to_head(engine)
            except BaseException:
                engine.dispose()
                raise
        return cls(engine, sessionmaker(engine, expire_on_commit=False))

    @property
    def is_embedded(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def talking(self) -> AbstractContextManager[None]:
        """Within it, a lost or refused connection raises a BackendError."""
        return talking_to(self.engine.url)

    def writing(self) -> AbstractContextManager[Session]:
        return writing(self.sessions)

    def dispose(self) -> None:
        self.engine.dispose()
