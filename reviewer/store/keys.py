"""The keys of a data directory's encrypted database files: filed in the secret store it is
given, or (derived from a password, or for this run only) held by this object alone.

One random 256-bit key per database file, filed under a name made from the data directory's
path (without revealing it) and the file's name. Nothing here writes a key to a file.
"""

from __future__ import annotations

import hashlib
import secrets as _random
from pathlib import Path

from reviewer.secret_store import SecretStore, SecretStoreUnavailable

REPLICA_KEY_BYTES = 32
"""256-bit keys."""

REPLICA_FILE = "replica.sqlite"


def _entry(data_dir: Path, name: str = REPLICA_FILE) -> str:
    # The replica's entry keeps the name it always had, so keyrings filled by earlier
    # versions still open their replicas.
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:32]
    entry = f"replica-key:{digest}"
    return entry if name == REPLICA_FILE else f"{entry}:{name}"


class DatabaseKeys:
    """The keys of the encrypted database files one workstation (or one command) opens.

    Filed keys live in ``secrets``; a key that must not be filed there (derived from the
    sign-in password, or made for this run when there is no keyring) is held here, by
    resolved path, for as long as this object lives.
    """

    def __init__(self, secrets: SecretStore) -> None:
        self.secrets = secrets
        self._held: dict[Path, bytes] = {}

    def hold(self, path: Path, key: bytes) -> None:
        """Remember ``key`` for the SQLCipher file at ``path`` (see `held`)."""
        self._held[path.resolve()] = key

    def release(self, path: Path) -> None:
        self._held.pop(path.resolve(), None)

    def held(self, path: Path) -> bytes | None:
        """The key this object was told for ``path``, whether it is filed or not."""
        return self._held.get(path.resolve())

    def load(self, data_dir: Path, name: str = REPLICA_FILE) -> bytes | None:
        """The filed key of the database file ``name`` (the replica by default) in
        ``data_dir``, or None. Raises `SecretStoreUnavailable`."""
        stored = self.secrets.get(_entry(data_dir, name))
        return None if stored is None else bytes.fromhex(stored)

    def save(self, data_dir: Path, key: bytes, name: str = REPLICA_FILE) -> None:
        """File an existing key under ``name`` (a replica moved aside keeps its key this
        way), and check that the store kept it."""
        self.secrets.set(_entry(data_dir, name), key.hex())
        if self.load(data_dir, name) != key:
            raise SecretStoreUnavailable("the system keyring did not keep the replica key")

    def create(self, data_dir: Path, name: str = REPLICA_FILE) -> bytes:
        """A new random 256-bit key for the database ``name`` in ``data_dir``, filed before
        it is used (so a key that could not be kept never encrypts anything)."""
        key = _random.token_bytes(REPLICA_KEY_BYTES)
        self.save(data_dir, key, name)
        return key

    def forget(self, data_dir: Path, name: str = REPLICA_FILE) -> None:
        self.secrets.delete(_entry(data_dir, name))
