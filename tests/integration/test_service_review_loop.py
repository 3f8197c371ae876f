"""The review loop as a team works it: each reviewer signs in to the real backend service,
gets the next case with N, decides it, and the decision reaches the backend once."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from reviewer.store.database import Database
from reviewer.store.models import Decision
from reviewer.workstation import Workstation
from tests.helpers.pg_workstations import (
    LOGIN_PASSWORD,
    create_login,
    decide,
    drop_logins,
    seed_backend,
)
from tests.helpers.service import running_service


def test_two_reviewers_sign_in_get_different_cases_and_each_decision_lands_once(
        pg_url, postgres_server, tmp_path, clock):
    seed_backend(pg_url, clock, cases=30)
    suffix = uuid.uuid4().hex[:8]
    names = [f"nadia_{suffix}", f"omar_{suffix}"]
    for name in names:
        create_login(pg_url, name, role="reviewer", teams=["integrity"])
    owner = Database.open(pg_url, migrate=False)
    try:
        with running_service(pg_url, clock) as base_url:
            desks = [Workstation.open(tmp_path / name, backend_url=base_url, username=name,
                                      password=LOGIN_PASSWORD, clock=clock)
                     for name in names]
            assert all(desk.backend is None for desk in desks)  # no database credentials
            for desk in desks:
                desk.synchronise()
            leases = [desk.get_next_case() for desk in desks]
            assert all(lease is not None for lease in leases)
            assert leases[0].case_id != leases[1].case_id  # a lease keeps them apart
            made = [decide(desk, lease.case_id) for desk, lease in zip(desks, leases,
                                                                        strict=True)]
            for desk in desks:
                report = desk.synchronise()
                assert (report.pushed, report.rejected) == (1, 0)
                assert desk.synchronise().pushed == 0  # nothing sent twice
            with owner.sessions() as session:
                for decision, desk in zip(made, desks, strict=True):
                    stored = session.get(Decision, decision.id)
                    assert stored is not None and stored.reviewer_id == desk.reviewer_id
                    assert not stored.conflict
                assert session.scalar(select(func.count()).select_from(Decision).where(
                    Decision.id.in_([d.id for d in made]))) == 2
            for desk in desks:
                desk.close()
    finally:
        owner.dispose()
        drop_logins(postgres_server.admin_url, names)
