"""A reviewer and an auditor on one embedded backend, for the audit desk's tests."""

from __future__ import annotations

import pytest

from reviewer.store.database import sqlite_url
from reviewer.workstation import Workstation


@pytest.fixture(autouse=True)
def _no_demo_audit_week(monkeypatch):
    """These tests start from an auditor with nothing drawn yet: the demo here has no
    auditor's week (reviewer/demo/audit_week.py, tested in tests/unit/demo)."""
    monkeypatch.setattr("reviewer.demo.seed.seed_audit_week", lambda *args, **kwargs: None)


@pytest.fixture
def reviewer_ws(workstation):
    """The demo reviewer's workstation: its backend holds the decisions audits sample."""
    return workstation


@pytest.fixture
def auditor_ws(reviewer_ws, clock):
    """Mei, an auditor, on a replica of her own over the same embedded backend."""
    workstation = Workstation.open(reviewer_ws.paths.root / "mei", clock=clock, username="mei",
                                   backend_url=sqlite_url(reviewer_ws.paths.backend),
                                   secrets=reviewer_ws.secrets)
    workstation.synchronise()
    yield workstation
    workstation.close()
