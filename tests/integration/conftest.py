"""Integration tests against a real PostgreSQL server (see tests/helpers/postgres.py)."""

from __future__ import annotations

from tests.helpers.fixtures import clock
from tests.helpers.postgres import pg_empty_url, pg_url, postgres_server

__all__ = ["clock", "pg_empty_url", "pg_url", "postgres_server"]
