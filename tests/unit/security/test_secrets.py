"""Secrets in the real OS keyring (a private GNOME Keyring for the test run, see
tests/helpers/keyring_daemon.py), and what happens when there is no keyring at all."""

from __future__ import annotations

import keyring
import pytest

from reviewer.security import secrets
from tests.helpers.keyrings import without_keyring


@pytest.fixture
def no_keyring():
    with without_keyring():
        yield


def test_the_test_run_uses_a_real_secret_service_keyring():
    assert secrets.keyring_available()
    assert "SecretService" in type(keyring.get_keyring()).__module__ + str(secrets.keyring_name())


def test_a_password_is_remembered_and_forgotten():
    backend = "postgresql+psycopg://db.example.org/cases"
    assert secrets.load_password(backend, "amira") is None
    secrets.save_password(backend, "amira", "correct horse")
    assert secrets.load_password(backend, "amira") == "correct horse"
    assert secrets.load_password(backend, "jonas") is None
    secrets.forget_password(backend, "amira")
    secrets.forget_password(backend, "amira")  # forgetting twice is fine
    assert secrets.load_password(backend, "amira") is None


def test_replica_keys_are_random_per_file_and_per_directory(tmp_path):
    first = secrets.create_replica_key(tmp_path / "a")
    assert len(first) == 32
    assert secrets.load_replica_key(tmp_path / "a") == first
    assert secrets.load_replica_key(tmp_path / "b") is None
    other = secrets.create_replica_key(tmp_path / "a", "backend.sqlite")
    assert other != first
    assert secrets.load_replica_key(tmp_path / "a", "backend.sqlite") == other
    secrets.forget_replica_key(tmp_path / "a")
    assert secrets.load_replica_key(tmp_path / "a") is None
    assert secrets.load_replica_key(tmp_path / "a", "backend.sqlite") == other


def test_without_a_keyring_every_call_says_so_and_no_file_is_written(tmp_path, no_keyring,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert not secrets.keyring_available()
    assert secrets.keyring_name() is None
    with pytest.raises(secrets.KeyringUnavailable, match="no system keyring"):
        secrets.save_password("postgresql://h/db", "amira", "pw")
    with pytest.raises(secrets.KeyringUnavailable):
        secrets.create_replica_key(tmp_path)
    with pytest.raises(secrets.KeyringUnavailable):
        secrets.load_password("postgresql://h/db", "amira")
    assert list(tmp_path.iterdir()) == []
