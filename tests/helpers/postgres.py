"""A real PostgreSQL server for the integration tests and benchmarks, and a fresh database each.

``REVIEWER_TEST_PG_URL`` names an existing server to use, as a superuser URL (for example
``postgresql://postgres:secret@127.0.0.1:5432/postgres``). Without it, a throwaway server is
started in a temporary directory: with the binaries the ``pgserver`` package bundles (PyPI),
or else those of Debian's ``postgresql`` package (``/usr/lib/postgresql/*/bin``), and stopped
and removed at the end. It listens on a Unix socket in that directory only, so it never
clashes with another server or opens a port. PostgreSQL refuses to run as root, so under
root the server runs as an unprivileged user (``postgres`` if it exists, else ``nobody``).

Every test gets its own database, copied from a template migrated once per session, so tests
never see each other's rows.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from reviewer.security.row_security import init_backend
from reviewer.store.database import make_engine

ENV_URL = "REVIEWER_TEST_PG_URL"
TEMPLATE = "reviewer_template"
SUPERUSER = "postgres"
PASSWORD_ROLE_PASSWORD = "correct horse"
"""Roles other than the superuser must give a password (for the wrong-password tests)."""

_names = itertools.count(1)


def _psycopg(url: str | URL) -> URL:
    url = make_url(url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def binary_dirs() -> list[Path]:
    """Where PostgreSQL server binaries may be, best first."""
    found: list[Path] = []
    spec = importlib.util.find_spec("pgserver")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            found.append(Path(location) / "pginstall" / "bin")
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                    key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                    else 0, reverse=True)
    found.extend(Path(p) for p in debian)
    initdb = shutil.which("initdb")
    if initdb:
        found.append(Path(initdb).resolve().parent)
    return [d for d in found if (d / "initdb").exists() and (d / "pg_ctl").exists()]


@dataclass
class PostgresServer:
    """A server the tests may create databases on; ``restartable`` if the tests own it."""

    admin_url: URL
    restartable: bool = False

    def url(self, database: str) -> URL:
        return self.admin_url.set(database=database)

    def execute(self, *statements: str) -> None:
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            engine.dispose()

    def create_database(self, name: str | None = None, template: str | None = None) -> URL:
        name = name or f"reviewer_test_{os.getpid()}_{next(_names)}"
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                     f'CREATE DATABASE "{name}" TEMPLATE "{template or "template0"}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def terminate_connections(self, database: str) -> int:
        """Cut every session on ``database`` as if the network had dropped it."""
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                return len(connection.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": database}
                ).all())
        finally:
            engine.dispose()

    def create_password_role(self, name: str) -> None:
        self.execute(f'DROP ROLE IF EXISTS "{name}"',
                     f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{PASSWORD_ROLE_PASSWORD}'")

    def stop(self) -> None:
        raise NotImplementedError("this server is not owned by the tests")

    def start(self) -> None:
        raise NotImplementedError("this server is not owned by the tests")

    def close(self) -> None:
        pass


class ThrowawayServer(PostgresServer):
    """A server in a temporary directory, started and removed by the tests."""

    def __init__(self, *, durable: bool = False) -> None:
        self._user = _unprivileged_user() if os.geteuid() == 0 else None
        # The first set of binaries the server's user can run (pgserver's, inside a venv
        # under /root, cannot be reached by another user; Debian's can).
        usable = [d for d in binary_dirs() if self._runs(d)]
        if not usable:
            raise RuntimeError(
                "no PostgreSQL server binaries: install the pgserver package (pip) or "
                f"Debian's postgresql package, or set {ENV_URL}"
            )
        self.bin = usable[0]
        self.root = Path(tempfile.mkdtemp(prefix="reviewer-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if self._user is not None:
            os.chmod(self.root, 0o755)
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-E", "UTF8",
                  "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync")
        (self.data / "pg_hba.conf").write_text(
            f"local all {SUPERUSER} trust\nlocal all all scram-sha-256\n")
        settings = ["listen_addresses = ''", f"unix_socket_directories = '{self.root}'",
                    "max_connections = 200", "shared_buffers = 128MB",
                    "deadlock_timeout = 200ms"]
        if not durable:
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n".join(settings) + "\n")
        super().__init__(URL.create("postgresql+psycopg", username=SUPERUSER,
                                    database="postgres", query={"host": str(self.root)}),
                         restartable=True)
        self.start()

    def _as_user(self) -> dict:
        if self._user is None:
            return {}
        return {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}

    def _runs(self, bin_dir: Path) -> bool:
        try:
            return subprocess.run([str(bin_dir / "postgres"), "--version"], cwd="/",
                                  capture_output=True, timeout=30,
                                  **self._as_user()).returncode == 0
        except OSError:
            return False

    def _run(self, program: str, *args: str) -> None:
        kwargs = self._as_user()
        result = subprocess.run([str(self.bin / program), *args], cwd=self.root,
                                capture_output=True, text=True, timeout=120,
                                env={**os.environ, "LC_ALL": "C"}, **kwargs)
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{program} failed: {result.stderr or result.stdout}\n{log}")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def _unprivileged_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and there is no postgres or nobody user to run as")


def open_server(*, durable: bool = False) -> PostgresServer:
    """The server named by REVIEWER_TEST_PG_URL, or a throwaway one."""
    configured = os.environ.get(ENV_URL)
    if configured:
        return PostgresServer(_psycopg(configured))
    return ThrowawayServer(durable=durable)


def migrate_template(server: PostgresServer) -> None:
    url = server.create_database(TEMPLATE)
    engine = make_engine(url)
    try:
        init_backend(engine)
    finally:
        engine.dispose()


# -- pytest fixtures (imported by tests/integration/conftest.py) ---------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = open_server()
    try:
        migrate_template(server)
        yield server
    finally:
        if not server.restartable:
            server.drop_database(TEMPLATE)
        server.close()


@pytest.fixture
def pg_url(postgres_server: PostgresServer) -> Iterator[URL]:
    """A fresh database at the newest schema, dropped after the test."""
    url = postgres_server.create_database(
        f"reviewer_t_{uuid.uuid4().hex[:12]}", template=TEMPLATE)
    yield url
    postgres_server.drop_database(str(url.database))


@pytest.fixture
def pg_empty_url(postgres_server: PostgresServer) -> Iterator[URL]:
    """A fresh, empty database (no schema), dropped after the test."""
    url = postgres_server.create_database(f"reviewer_e_{uuid.uuid4().hex[:12]}")
    yield url
    postgres_server.drop_database(str(url.database))
