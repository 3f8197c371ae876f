"""Set-based push against a real PostgreSQL backend: the same outcomes as one by one."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from reviewer.store.database import BackendUnavailable
from reviewer.store.models import AppliedMutation
from reviewer.sync.engine import Connection
from tests.helpers.pg_workstations import (
    count,
    decide,
    open_case_ids,
    open_workstation,
    seed_backend,
)
from tests.helpers.push_batches import (
    check_constraint_failure_falls_back,
    check_mixed_batch,
    check_two_decisions_on_one_case,
)


def _workstation(pg_url, tmp_path, clock):  # type: ignore[no-untyped-def]
    seed_backend(pg_url, clock, cases=25)
    workstation = open_workstation(tmp_path / "ws", pg_url, clock)
    workstation.synchronise()
    return workstation


def test_a_mixed_batch_has_the_outcomes_of_one_by_one(pg_url, tmp_path, clock, monkeypatch):
    workstation = _workstation(pg_url, tmp_path, clock)
    try:
        check_mixed_batch(workstation, monkeypatch)
    finally:
        workstation.close()


def test_two_decisions_on_one_case_in_one_batch(pg_url, tmp_path, clock, monkeypatch):
    workstation = _workstation(pg_url, tmp_path, clock)
    try:
        check_two_decisions_on_one_case(workstation, monkeypatch)
    finally:
        workstation.close()


def test_a_constraint_failure_falls_back_and_rejects_only_the_bad_one(pg_url, tmp_path, clock,
                                                                      monkeypatch):
    workstation = _workstation(pg_url, tmp_path, clock)
    try:
        check_constraint_failure_falls_back(workstation, monkeypatch)
    finally:
        workstation.close()


def test_a_connection_cut_inside_a_bulk_write_rolls_back_and_resumes(
        postgres_server, pg_url, tmp_path, clock):
    """Like the fault test of the same name in test_pg_faults.py, cut where the set-based
    path writes: the ledger's one insert of the batch."""
    seed_backend(pg_url, clock, cases=120)
    workstation = open_workstation(tmp_path / "ws", pg_url, clock)
    try:
        workstation.synchronise()
        for case_id in open_case_ids(workstation.replica, 60):
            decide(workstation, case_id)
        statements = []

        def cut(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            if statement.startswith("INSERT INTO applied_mutation"):
                statements.append(statement)
                if len(statements) == 1:
                    postgres_server.terminate_connections(str(pg_url.database))

        event.listen(workstation.backend.engine, "before_cursor_execute", cut)
        with pytest.raises(BackendUnavailable):
            workstation.synchronise()
        event.remove(workstation.backend.engine, "before_cursor_execute", cut)
        assert count(workstation.backend, AppliedMutation) == 0
        assert workstation.sync.status().connection is Connection.OFFLINE
        report = workstation.synchronise()
        assert (report.pushed, report.rejected, report.pending) == (60, 0, 0)
        assert count(workstation.backend, AppliedMutation) == 60
    finally:
        workstation.close()
