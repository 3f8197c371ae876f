"""Revoking a workstation on a real PostgreSQL backend: its next sync stops, and its next
start wipes the encrypted replica (and forgets its key)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from reviewer.security.devices import revoke_device
from reviewer.security.secrets import KeyringSecretStore
from reviewer.store.database import Database
from reviewer.store.keys import DatabaseKeys
from reviewer.store.models import Case, Device
from reviewer.sync.engine import Connection, DeviceRevoked
from tests.helpers.pg_workstations import open_workstation, seed_backend

KEYRING = DatabaseKeys(KeyringSecretStore())
"""Where the app files the replica's key: the test run's own keyring."""


def _cases(workstation):
    with workstation.replica.sessions() as session:
        return session.scalar(select(func.count()).select_from(Case))


def test_a_revoked_device_stops_and_is_wiped(pg_url, clock, tmp_path):
    seed_backend(pg_url, clock, cases=20)
    data = tmp_path / "laptop"
    workstation = open_workstation(data, pg_url, clock)
    workstation.synchronise()
    assert _cases(workstation) == 20
    client = workstation.client_id
    backend = Database.open(pg_url, migrate=False)
    try:
        with backend.sessions() as session:
            device = session.get(Device, client)
            assert device is not None and device.revoked_at is None
        with backend.writing() as session:
            revoke_device(session, client, by="admin", now=clock.now())
    finally:
        backend.dispose()
    old_key = KEYRING.load(data)

    clock.advance(30)
    with pytest.raises(DeviceRevoked):
        workstation.synchronise()
    assert workstation.sync.status().connection is Connection.REFUSED
    workstation.close()

    workstation = open_workstation(data, pg_url, clock)
    try:
        assert workstation.wiped_reason is not None and "revoked" in workstation.wiped_reason
        assert _cases(workstation) == 0
        assert workstation.client_id != client
        assert KEYRING.load(data) not in (None, old_key)
    finally:
        workstation.close()
