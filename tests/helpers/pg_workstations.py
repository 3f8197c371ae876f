"""Workstations on a real PostgreSQL backend, each with its own replica directory."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import URL

from reviewer.clock import Clock
from reviewer.demo.seed import seed_demo
from reviewer.enforcement.decisions import DecisionDraft, record_decision
from reviewer.policy.taxonomy import Taxonomy, load_taxonomy
from reviewer.store.database import Database
from reviewer.store.models import Case, Decision
from reviewer.sync.engine import Backoff
from reviewer.workstation import Workstation

RATIONALE = "Read in full: the content does not break this policy; no action is needed."


def seed_backend(url: URL | str, clock: Clock, *, cases: int, seed: int = 7,
                 with_media: bool = False, taxonomy: Taxonomy | None = None) -> None:
    backend = Database.open(url, migrate=False)
    try:
        seed_demo(backend, taxonomy or load_taxonomy(), clock, random.Random(seed),
                  cases=cases, with_media=with_media)
    finally:
        backend.dispose()


def open_workstation(data_dir: Path, url: URL | str, clock: Clock, *, username: str = "demo",
                     backoff: Backoff | None = None, password: str | None = None
                     ) -> Workstation:
    """A workstation on ``url``: a backend service (``http(s)://``, signed in as
    ``username`` with ``password``, by default `LOGIN_PASSWORD`), or a database URL opened
    directly (the owner's path, for admin tools and tests)."""
    if password is None and _is_service(url):
        password = LOGIN_PASSWORD
    return Workstation.open(data_dir, backend_url=url, clock=clock, username=username,
                            password=password, backoff=backoff or Backoff())


def _is_service(url: URL | str) -> bool:
    return isinstance(url, str) and url.lower().startswith(("http://", "https://"))


def decide(workstation: Workstation, case_id: uuid.UUID) -> Decision:
    """Record a 'no violation' decision on the case in the workstation's replica."""
    case = workstation.case(case_id)
    assert case is not None
    policy = next(p for p in workstation.taxonomy.policies_for_surface(case.surface)
                  if "no_violation" in p.actions)
    return record_decision(
        workstation.replica.sessions, workstation.taxonomy,
        reviewer_id=workstation.reviewer_id, client_id=workstation.client_id,
        draft=DecisionDraft(case.id, policy.code, "no_violation", RATIONALE),
        clock=workstation.clock,
    )


def open_case_ids(database: Database, limit: int | None = None) -> list[uuid.UUID]:
    with database.sessions() as session:
        statement = select(Case.id).where(Case.status == "new").order_by(Case.external_ref)
        if limit is not None:
            statement = statement.limit(limit)
        return list(session.scalars(statement))


def count(database: Database, model: type, *where: object) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


# -- per-person login roles (reviewer.security.row_security) ------------------------------------

LOGIN_PASSWORD = "a long test passphrase 42"


def create_login(url: URL | str, name: str, *, role: str, teams: list[str],
                 password: str = LOGIN_PASSWORD) -> URL:
    """Create a login role and its reviewer account (as the owner at ``url``); returns the
    URL to connect as that person."""
    from reviewer.security.row_security import create_user
    from reviewer.store.database import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            create_user(connection, name, role=role, teams=teams, display_name=name.title(),
                        password=password)
    finally:
        engine.dispose()
    return login_url(url, name, password)


def login_url(url: URL | str, name: str, password: str = LOGIN_PASSWORD) -> URL:
    from reviewer.store.database import normalise_url

    return normalise_url(url).set(username=name, password=password)


def drop_logins(server_url: URL, names: list[str]) -> None:
    """Remove login roles a test made (roles belong to the whole server, not its database)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for name in names:
                connection.execute(text("SELECT pg_terminate_backend(pid) FROM "
                                        "pg_stat_activity WHERE usename = :n"), {"n": name})
                connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{name}"')
    finally:
        engine.dispose()


def check_in_device(workstation: Workstation, username: str) -> None:
    """Register the workstation's device as its reviewer (the sync engine does this at the
    start of every sync; calling it again is harmless). Through a backend service the
    workstation asks the service, which registers it for the person signed in."""
    from reviewer.security.devices import check_in

    if workstation.backend is None:
        workstation.sync.backend.check_in(workstation.client_id)
        return
    with workstation.backend.writing() as session:
        check_in(session, workstation.client_id, username, workstation.clock.now())
