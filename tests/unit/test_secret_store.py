"""The secret store in memory, and the workstation and reviewer-admin handed one instead of
the OS keyring: their keys go there and nowhere else."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from reviewer.cli import main
from reviewer.secret_store import MemorySecretStore, SecretStoreUnavailable
from reviewer.security.secrets import KeyringSecretStore
from reviewer.store.database import Database, is_plain_sqlite, sqlite_url
from reviewer.store.keys import DatabaseKeys
from reviewer.store.models import Case
from reviewer.store.replica import ReplicaUnreadable, check_key
from reviewer.workstation import Workstation

KEYRING = DatabaseKeys(KeyringSecretStore())


def test_secrets_are_kept_changed_and_forgotten():
    store = MemorySecretStore()
    assert store.available and store.name == "Memory"
    assert store.get("password:amira@https://h") is None
    store.set("password:amira@https://h", "one")
    store.set("password:amira@https://h", "two")
    assert store.get("password:amira@https://h") == "two"
    store.delete("password:amira@https://h")
    store.delete("password:amira@https://h")  # forgetting twice is fine
    assert store.get("password:amira@https://h") is None
    assert store.entries == {}


def test_an_unavailable_store_refuses_every_call_and_keeps_what_it_had():
    store = MemorySecretStore()
    store.set("entry", "kept")
    store.available = False  # the keyring went away
    assert store.name is None
    for call in (lambda: store.get("entry"), lambda: store.set("entry", "x"),
                 lambda: store.delete("entry")):
        with pytest.raises(SecretStoreUnavailable, match="no secret store"):
            call()
    store.available = True
    assert store.get("entry") == "kept"


def test_a_workstation_keeps_its_keys_in_the_store_it_is_given(tmp_path, clock, secret_store):
    data = tmp_path / "data"
    workstation = Workstation.open_embedded(data, clock=clock, secrets=secret_store)
    try:
        assert workstation.secrets is secret_store
        assert workstation.replica_warning is None
    finally:
        workstation.close()
    assert len(secret_store.entries) == 2  # the replica's key and the demo backend's
    for name in ("replica.sqlite", "backend.sqlite"):
        key = workstation.keys.load(data, name)
        assert key is not None and check_key(data / name, key)
        assert not is_plain_sqlite(data / name)
        assert KEYRING.load(data, name) is None  # nothing in the OS keyring
    # The OS keyring cannot open what the injected store keyed; the same store can.
    with pytest.raises(ReplicaUnreadable, match="key is missing"):
        Workstation.open_embedded(data, clock=clock, secrets=KeyringSecretStore())
    Workstation.open_embedded(data, clock=clock, secrets=secret_store).close()


def test_reset_replica_files_the_old_key_in_the_given_store(tmp_path, clock, secret_store):
    data = tmp_path / "data"
    Workstation.open_embedded(data, clock=clock, secrets=secret_store).close()
    keys = DatabaseKeys(secret_store)
    old = keys.load(data)
    aside = Workstation.reset_replica(data, secrets=secret_store)
    assert keys.load(data) is None and keys.load(data, aside.name) == old
    assert KEYRING.load(data, aside.name) is None


def test_a_store_with_no_keyring_gives_the_demo_a_key_for_this_run(tmp_path, clock):
    data = tmp_path / "data"
    store = MemorySecretStore(available=False)
    workstation = Workstation.open_embedded(data, clock=clock, secrets=store)
    try:
        assert workstation.replica_warning is not None
        assert "keyring" in workstation.replica_warning
        # The run's key is held by the workstation alone: its own files open with it.
        key = workstation.keys.held(data / "backend.sqlite")
        assert key is not None and check_key(data / "backend.sqlite", key)
        backend = Database.open(sqlite_url(data / "backend.sqlite"), keys=workstation.keys)
        backend.dispose()
    finally:
        workstation.close()
    assert store.entries == {}
    assert KEYRING.load(data) is None


def test_reviewer_admin_files_its_keys_in_the_store_it_is_given(tmp_path, secret_store):
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "seed-demo", "--cases", "4", "--no-media", "--sync"],
                secrets=secret_store) == 0
    keys = DatabaseKeys(secret_store)
    for name in ("replica.sqlite", "backend.sqlite"):
        assert check_key(data / name, keys.load(data, name))
        assert KEYRING.load(data, name) is None
    replica = Database.open(sqlite_url(data / "replica.sqlite"), keys=keys)
    try:
        with replica.sessions() as session:
            assert session.scalar(select(func.count()).select_from(Case)) == 4
    finally:
        replica.dispose()
