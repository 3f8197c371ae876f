"""Workstations on a real PostgreSQL backend, each with its own replica directory."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import URL

from reviewer.clock import Clock
from reviewer.demo import seed_demo
from reviewer.enforcement import DecisionDraft, record_decision
from reviewer.models import Case, Decision
from reviewer.store import Database
from reviewer.sync.engine import Backoff
from reviewer.taxonomy import Taxonomy, load_taxonomy
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
                     backoff: Backoff | None = None) -> Workstation:
    return Workstation.open(data_dir, backend_url=url, clock=clock, username=username,
                            backoff=backoff or Backoff())


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
