"""The keys of a data directory's encrypted files: filed in the secret store they are given,
or held for this run by the object alone; and no data-directory database without one."""

from __future__ import annotations

import pytest

from reviewer.secret_store import MemorySecretStore, SecretStoreUnavailable
from reviewer.store.database import BackendError, Database, is_plain_sqlite, sqlite_url
from reviewer.store.keys import DatabaseKeys
from reviewer.store.replica import check_key


def test_keys_are_filed_per_directory_and_file_without_naming_the_path(tmp_path):
    store = MemorySecretStore()
    keys = DatabaseKeys(store)
    replica = keys.create(tmp_path / "a")
    backend = keys.create(tmp_path / "a", "backend.sqlite")
    elsewhere = keys.create(tmp_path / "b")
    assert len({replica, backend, elsewhere}) == 3 and len(replica) == 32
    assert len(store.entries) == 3
    assert all(entry.startswith("replica-key:") for entry in store.entries)
    assert not any(str(tmp_path) in entry or tmp_path.name in entry for entry in store.entries)
    assert replica.hex() in store.entries.values()
    assert DatabaseKeys(store).load(tmp_path / "a") == replica  # filed, not held
    keys.forget(tmp_path / "a")
    assert keys.load(tmp_path / "a") is None
    assert keys.load(tmp_path / "a", "backend.sqlite") == backend


def test_a_held_key_is_this_objects_alone(tmp_path):
    store = MemorySecretStore()
    keys = DatabaseKeys(store)
    path = tmp_path / "replica.sqlite"
    key = bytes(range(32))
    keys.hold(path, key)
    assert keys.held(tmp_path / "." / "replica.sqlite") == key  # by resolved path
    assert DatabaseKeys(store).held(path) is None
    assert store.entries == {}  # held, never filed
    keys.release(path)
    assert keys.held(path) is None


def test_a_store_that_loses_the_key_is_refused(tmp_path):
    class Forgetful(MemorySecretStore):
        def set(self, entry: str, value: str) -> None:
            pass

    with pytest.raises(SecretStoreUnavailable, match="did not keep the replica key"):
        DatabaseKeys(Forgetful()).create(tmp_path)


def test_a_new_data_directory_database_is_keyed_from_the_store(tmp_path):
    store = MemorySecretStore()
    keys = DatabaseKeys(store)
    database = Database.open(sqlite_url(tmp_path / "backend.sqlite"), keys=keys)
    database.dispose()
    key = keys.load(tmp_path, "backend.sqlite")
    assert key is not None and not is_plain_sqlite(tmp_path / "backend.sqlite")
    assert check_key(tmp_path / "backend.sqlite", key)
    again = Database.open(sqlite_url(tmp_path / "backend.sqlite"), keys=DatabaseKeys(store))
    again.dispose()


def test_without_a_store_no_data_directory_database_is_created_plain(tmp_path):
    with pytest.raises(BackendError, match="cannot be created encrypted"):
        Database.open(sqlite_url(tmp_path / "replica.sqlite"))
    assert not (tmp_path / "replica.sqlite").exists()
    with pytest.raises(BackendError, match="cannot be created encrypted"):
        Database.open(sqlite_url(tmp_path / "replica.sqlite"),
                      keys=DatabaseKeys(MemorySecretStore(available=False)))
    assert not (tmp_path / "replica.sqlite").exists()
    scratch = Database.open(sqlite_url(tmp_path / "scratch.sqlite"))  # tools' scratch files
    scratch.dispose()
    assert is_plain_sqlite(tmp_path / "scratch.sqlite")
