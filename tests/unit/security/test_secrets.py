"""Secrets in the real OS keyring (a private GNOME Keyring for the test run, see
tests/helpers/keyring_daemon.py), and what happens when there is no keyring at all."""

from __future__ import annotations

import keyring
import pytest

from reviewer.secret_store import MemorySecretStore, SecretStoreUnavailable
from reviewer.security.secrets import (
    SERVICE,
    KeyringSecretStore,
    KeyringUnavailable,
    forget_password,
    load_password,
    save_password,
)
from reviewer.store.keys import DatabaseKeys
from tests.helpers.keyrings import without_keyring


@pytest.fixture
def no_keyring():
    with without_keyring():
        yield


def test_the_test_run_uses_a_real_secret_service_keyring():
    store = KeyringSecretStore()
    assert store.available
    assert "SecretService" in type(keyring.get_keyring()).__module__ + str(store.name)


@pytest.mark.parametrize("store", [KeyringSecretStore(), MemorySecretStore()],
                         ids=["keyring", "memory"])
def test_a_password_is_remembered_and_forgotten(store):
    backend = "postgresql+psycopg://db.example.org/cases"
    assert load_password(store, backend, "amira") is None
    save_password(store, backend, "amira", "correct horse")
    assert load_password(store, backend, "amira") == "correct horse"
    assert load_password(store, backend, "jonas") is None
    forget_password(store, backend, "amira")
    forget_password(store, backend, "amira")  # forgetting twice is fine
    assert load_password(store, backend, "amira") is None


def test_entries_are_filed_under_the_apps_service_name():
    store = KeyringSecretStore()
    save_password(store, "https://reviews.example.org", "amira", "pw")
    try:
        assert keyring.get_password(SERVICE, "password:amira@https://reviews.example.org") == "pw"
    finally:
        forget_password(store, "https://reviews.example.org", "amira")


def test_replica_keys_are_random_per_file_and_per_directory(tmp_path):
    keys = DatabaseKeys(KeyringSecretStore())
    first = keys.create(tmp_path / "a")
    assert len(first) == 32
    assert keys.load(tmp_path / "a") == first
    assert DatabaseKeys(KeyringSecretStore()).load(tmp_path / "a") == first  # it is filed
    assert keys.load(tmp_path / "b") is None
    other = keys.create(tmp_path / "a", "backend.sqlite")
    assert other != first
    assert keys.load(tmp_path / "a", "backend.sqlite") == other
    keys.forget(tmp_path / "a")
    assert keys.load(tmp_path / "a") is None
    assert keys.load(tmp_path / "a", "backend.sqlite") == other
    keys.forget(tmp_path / "a", "backend.sqlite")


def test_without_a_keyring_every_call_says_so_and_no_file_is_written(tmp_path, no_keyring,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = KeyringSecretStore()
    assert not store.available
    assert store.name is None
    with pytest.raises(KeyringUnavailable, match="no system keyring"):
        save_password(store, "postgresql://h/db", "amira", "pw")
    with pytest.raises(KeyringUnavailable):
        DatabaseKeys(store).create(tmp_path)
    with pytest.raises(KeyringUnavailable):
        load_password(store, "postgresql://h/db", "amira")
    with pytest.raises(SecretStoreUnavailable):  # what the callers catch, whatever the store
        forget_password(store, "postgresql://h/db", "amira")
    assert list(tmp_path.iterdir()) == []


def test_a_keyring_that_comes_back_is_seen_at_once(tmp_path):
    store = KeyringSecretStore()
    with without_keyring():
        assert not store.available
    assert store.available and store.name is not None
