"""Secrets live in the operating system's keyring and nowhere else.

Two kinds are kept: a reviewer's backend password (only when they tick "remember") and the
random key of each data directory's encrypted replica. Nothing here writes a file: when no
real keyring backend is available (a headless machine with no Secret Service, say), every
call raises `KeyringUnavailable` and the caller asks the person instead.
"""

from __future__ import annotations

import hashlib
import secrets as _random
from pathlib import Path

import keyring
import keyring.backend
import keyring.errors

SERVICE = "ReviewerWorkstation"
"""The service name every entry is filed under (what a keyring manager shows)."""

REPLICA_KEY_BYTES = 32
"""256-bit replica keys."""

_NOT_A_KEYRING = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")
"""Backends that are not a real keyring: the 'no backend' placeholders, and keyrings.alt's
plain or weakly encrypted files, which would be exactly the file fallback we refuse."""


class KeyringUnavailable(RuntimeError):
    """No usable OS keyring; the message says so in plain words."""


def _backends(backend: keyring.backend.KeyringBackend) -> list[keyring.backend.KeyringBackend]:
    inner = getattr(backend, "backends", None)  # the ChainerBackend holds the real ones
    return list(inner) if inner is not None else [backend]


def _is_real(backend: keyring.backend.KeyringBackend) -> bool:
    return not type(backend).__module__.startswith(_NOT_A_KEYRING)


def _keyring() -> keyring.backend.KeyringBackend:
    backend = keyring.get_keyring()
    if not any(_is_real(b) for b in _backends(backend)):
        raise KeyringUnavailable(
            "no system keyring is available on this computer (for example GNOME Keyring, "
            "KWallet, macOS Keychain or Windows Credential Manager), so secrets cannot be "
            "remembered"
        )
    return backend


def keyring_name() -> str | None:
    """The keyring in use, for the UI ('SecretService Keyring'), or None if there is none."""
    try:
        backend = _keyring()
    except KeyringUnavailable:
        return None
    real = [b for b in _backends(backend) if _is_real(b)]
    return str(getattr(real[0], "name", type(real[0]).__name__))


def keyring_available() -> bool:
    return keyring_name() is not None


def _get(entry: str) -> str | None:
    try:
        return _keyring().get_password(SERVICE, entry)
    except keyring.errors.KeyringError as error:
        raise KeyringUnavailable(f"the system keyring refused to answer: {error}") from error


def _set(entry: str, value: str) -> None:
    try:
        _keyring().set_password(SERVICE, entry, value)
    except keyring.errors.KeyringError as error:
        raise KeyringUnavailable(f"the system keyring refused to store a secret: {error}") \
            from error


def _delete(entry: str) -> None:
    try:
        _keyring().delete_password(SERVICE, entry)
    except keyring.errors.PasswordDeleteError:
        pass  # nothing was stored: forgetting is already done
    except keyring.errors.KeyringError as error:
        raise KeyringUnavailable(f"the system keyring refused to delete a secret: {error}") \
            from error


def _password_entry(backend: str, username: str) -> str:
    return f"password:{username}@{backend}"


def load_password(backend: str, username: str) -> str | None:
    """The remembered password of ``username`` on ``backend`` (an address without any
    password in it), or None if none is remembered."""
    return _get(_password_entry(backend, username))


def save_password(backend: str, username: str, password: str) -> None:
    _set(_password_entry(backend, username), password)


def forget_password(backend: str, username: str) -> None:
    _delete(_password_entry(backend, username))


REPLICA_FILE = "replica.sqlite"


def _replica_entry(data_dir: Path, name: str = REPLICA_FILE) -> str:
    # One key per database file of a data directory; the entry name does not reveal the
    # path itself. The replica's entry keeps the name it always had.
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:32]
    entry = f"replica-key:{digest}"
    return entry if name == REPLICA_FILE else f"{entry}:{name}"


def load_replica_key(data_dir: Path, name: str = REPLICA_FILE) -> bytes | None:
    """The key of the database file ``name`` (the replica by default) in ``data_dir``."""
    stored = _get(_replica_entry(data_dir, name))
    return None if stored is None else bytes.fromhex(stored)


def save_replica_key(data_dir: Path, key: bytes, name: str = REPLICA_FILE) -> None:
    """File an existing key under ``name`` (a replica moved aside keeps its key this way)."""
    _set(_replica_entry(data_dir, name), key.hex())
    if load_replica_key(data_dir, name) != key:
        raise KeyringUnavailable("the system keyring did not keep the replica key")


def create_replica_key(data_dir: Path, name: str = REPLICA_FILE) -> bytes:
    """A new random 256-bit key for the database ``name`` in ``data_dir``, stored before it
    is used (so a key that could not be kept never encrypts anything)."""
    key = _random.token_bytes(REPLICA_KEY_BYTES)
    save_replica_key(data_dir, key, name)
    return key


def forget_replica_key(data_dir: Path, name: str = REPLICA_FILE) -> None:
    _delete(_replica_entry(data_dir, name))
