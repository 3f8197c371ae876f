"""Set-based push: a batch applied at once has exactly the outcomes of applying it one by one
(the scenario in tests/helpers/push_batches.py, run against a real PostgreSQL backend too by
tests/integration/test_pg_push_batch.py)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from reviewer.store.models import ChangeCounter, Decision
from reviewer.sync.appliers import apply_mutations
from tests.helpers.pg_workstations import decide, open_case_ids
from tests.helpers.push_batches import (
    check_constraint_failure_falls_back,
    check_mixed_batch,
    check_two_decisions_on_one_case,
    pending_mutations,
)

pytestmark = pytest.mark.demo(cases=25)


# -- embedded backend -------------------------------------------------------------------


def test_a_mixed_batch_has_the_outcomes_of_one_by_one(workstation, monkeypatch):
    check_mixed_batch(workstation, monkeypatch)


def test_two_decisions_on_one_case_in_one_batch(workstation, monkeypatch):
    check_two_decisions_on_one_case(workstation, monkeypatch)


def test_a_constraint_failure_falls_back_and_rejects_only_the_bad_one(workstation,
                                                                      monkeypatch):
    check_constraint_failure_falls_back(workstation, monkeypatch)


def test_a_batch_of_replays_takes_no_change_version(workstation):
    decide(workstation, open_case_ids(workstation.replica, 1)[0])
    batch = pending_mutations(workstation)
    with workstation.backend.sessions.begin() as remote:
        apply_mutations(remote, batch)
    with workstation.backend.sessions() as remote:
        before = remote.scalar(select(ChangeCounter.value))
    with workstation.backend.sessions.begin() as remote:
        (again,) = apply_mutations(remote, batch)
    assert again.outcome == "applied"
    with workstation.backend.sessions() as remote:
        assert remote.scalar(select(ChangeCounter.value)) == before


def test_the_push_takes_one_change_version_per_batch(workstation):
    for case_id in open_case_ids(workstation.replica, 3):
        decide(workstation, case_id)
    batch = pending_mutations(workstation)
    with workstation.backend.sessions() as remote:
        before = remote.scalar(select(ChangeCounter.value))
    report = workstation.synchronise()
    assert report.pushed == 3
    with workstation.backend.sessions() as remote:
        versions = set(remote.scalars(select(Decision.change_version).where(
            Decision.id.in_([uuid.UUID(m.payload["id"]) for m in batch]))))
        assert versions == {before + 1}
