"""Integration tests against a real PostgreSQL server (see tests/helpers/postgres.py)."""

from __future__ import annotations

import pytest

from reviewer.clock import ManualClock
from tests.helpers.postgres import pg_empty_url, pg_url, postgres_server

__all__ = ["pg_empty_url", "pg_url", "postgres_server"]


@pytest.fixture
def clock():
    return ManualClock()
