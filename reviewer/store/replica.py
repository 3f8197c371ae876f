"""The encrypted files of a data directory: their keys, opening them, moving aside, wiping.

The replica (``replica.sqlite``) and the embedded demo backend (``backend.sqlite``) are
SQLCipher databases, each with a random 256-bit key filed in the secret store the caller
passes in (the OS keyring in the app; `reviewer.store.keys.DatabaseKeys`) and applied as a raw
key on every connection. Nothing here writes a key or a password to a file.

Without a keyring:

- on a team backend the replica's key is derived from the sign-in password (scrypt, with a
  random salt kept next to the replica; the salt is not secret), and the app asks for the
  password every time anyway;
- the embedded demo gets a key for this run only: its old files are discarded, it is
  seeded again, and `KeySource.warning` says so for the window to show.

A data directory from before encryption has plain SQLite files: they are encrypted in
place (``sqlcipher_export``) on first open, so nothing in them, a pending outbox least of
all, is lost.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets as _random
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from sqlcipher3 import dbapi2 as sqlcipher

from reviewer.secret_store import SecretStoreUnavailable
from reviewer.store.database import Database, DataPaths, is_plain_sqlite, key_pragma, sqlite_url
from reviewer.store.keys import REPLICA_KEY_BYTES, DatabaseKeys
from reviewer.store.outbox import get_state, set_state

log = logging.getLogger(__name__)

REPLICA = "replica.sqlite"
BACKEND = "backend.sqlite"
SALT_FILE = "replica.salt"
"""The random salt of a password-derived replica key (only without a keyring)."""
SIDE_FILES = ("-wal", "-shm", "-journal")

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024}

RESYNC_HINT = ("Its data can be rebuilt: choose Re-sync to move the unreadable file aside and "
               "download the cases again from the backend.")


class ReplicaUnreadable(RuntimeError):
    """The local replica cannot be opened (wrong or missing key, corrupted, not a database).

    The message says what happened in plain words and that a re-sync rebuilds it
    (`reviewer.workstation.Workstation.reset_replica`)."""


class ReplicaLocked(ReplicaUnreadable):
    """Without a keyring, a team replica's key comes from the password, and none was given."""


@dataclass(frozen=True)
class KeySource:
    """The keys of one data directory's files, and what the window must tell about them."""

    replica: bytes
    backend: bytes | None  # the embedded demo backend's; None on a team backend
    warning: str | None = None


NO_KEYRING_DEMO_WARNING = (
    "No system keyring is available, so the demo data is encrypted with a key kept only "
    "for this session: it is created again each time the app starts. Install or unlock a "
    "keyring (for example GNOME Keyring or KWallet) to keep it."
)


def files_of(path: Path) -> list[Path]:
    """A database file and its side files (write-ahead log, shared memory, journal)."""
    return [path] + [path.with_name(path.name + suffix) for suffix in SIDE_FILES]


def _exists_encrypted(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0 and not is_plain_sqlite(path)


def derive_key(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, dklen=REPLICA_KEY_BYTES, **_SCRYPT)


def _salt(paths: DataPaths, create: bool) -> bytes | None:
    salt_file = paths.root / SALT_FILE
    if salt_file.exists():
        return salt_file.read_bytes()
    if not create:
        return None
    salt = _random.token_bytes(16)
    salt_file.write_bytes(salt)
    return salt


def resolve_keys(paths: DataPaths, keys: DatabaseKeys, *, embedded: bool,
                 password: str | None) -> KeySource:
    """The keys for the data directory's files, created (and filed in ``keys``' secret
    store) when they do not exist yet.

    Raises ReplicaUnreadable when an encrypted replica's key is not available.
    """
    replica = paths.root / REPLICA
    if (paths.root / SALT_FILE).exists() and not embedded:
        return KeySource(_password_key(paths, password), None)
    if not keys.secrets.available:
        if embedded:
            # A demo key for this run only: whatever an earlier run left is unreadable.
            for name in (REPLICA, BACKEND):
                if _exists_encrypted(paths.root / name):
                    for file in files_of(paths.root / name):
                        file.unlink(missing_ok=True)
            return KeySource(_random.token_bytes(REPLICA_KEY_BYTES),
                             _random.token_bytes(REPLICA_KEY_BYTES), NO_KEYRING_DEMO_WARNING)
        if _exists_encrypted(replica):
            raise ReplicaUnreadable(
                "The local replica was encrypted with a key from the system keyring, which "
                "is not available now: start or unlock the keyring and open the app again. "
                + RESYNC_HINT)
        return KeySource(_password_key(paths, password), None)
    try:
        return KeySource(_filed_key(paths, keys, REPLICA),
                         _filed_key(paths, keys, BACKEND) if embedded else None)
    except SecretStoreUnavailable as error:
        raise ReplicaUnreadable(
            f"The local replica's key could not be read: {error}. Unlock the system keyring "
            f"and open the app again. {RESYNC_HINT}") from error


def _filed_key(paths: DataPaths, keys: DatabaseKeys, name: str) -> bytes:
    key = keys.load(paths.root, name)
    if key is not None:
        return key
    if _exists_encrypted(paths.root / name):
        what = "local replica" if name == REPLICA else "embedded demo backend"
        raise ReplicaUnreadable(
            f"The {what} is encrypted, but its key is missing from the system keyring "
            f"(was the keyring reset or replaced?). {RESYNC_HINT}")
    return keys.create(paths.root, name)


def _password_key(paths: DataPaths, password: str | None) -> bytes:
    if not password:
        raise ReplicaLocked(
            "No system keyring is available, so the local replica is unlocked with your "
            "sign-in password: enter it to open the replica.")
    salt = _salt(paths, create=not _exists_encrypted(paths.root / REPLICA))
    if salt is None:
        raise ReplicaUnreadable(
            "The local replica's key cannot be derived: the salt file next to it is missing. "
            + RESYNC_HINT)
    return derive_key(password, salt)


def encrypt_plain(path: Path, key: bytes) -> None:
    """Turn a plain SQLite file into an SQLCipher one with ``key``, losing nothing.

    The encrypted copy is written next to it and then replaces it in one rename, so a crash
    leaves either the old plain file (encrypted on the next start) or the new one.
    """
    target = path.with_name(path.name + ".encrypting")
    for file in files_of(target):
        file.unlink(missing_ok=True)
    connection = sqlcipher.connect(str(path))
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute(f"ATTACH DATABASE ? AS encrypted KEY \"x'{key.hex()}'\"",
                           (str(target),))
        connection.execute("SELECT sqlcipher_export('encrypted')")
        connection.execute(f"PRAGMA encrypted.user_version = {int(version)}")
        connection.execute("DETACH DATABASE encrypted")
    finally:
        connection.close()
    with target.open("rb+") as file:
        os.fsync(file.fileno())
    os.replace(target, path)
    for file in files_of(path)[1:]:
        file.unlink(missing_ok=True)  # the plain file's log, already checkpointed
    log.info("encrypted %s", path.name)


def open_encrypted(path: Path, key: bytes, keys: DatabaseKeys, *,
                   what: str = "local replica") -> Database:
    """Open (encrypting an old plain file first) and migrate an SQLCipher database; ``keys``
    holds its key from then on.

    Raises ReplicaUnreadable when the file is not a database with this key.
    """
    if is_plain_sqlite(path):
        encrypt_plain(path, key)
    keys.hold(path, key)
    try:
        return Database.open(sqlite_url(path), key=key)
    except DBAPIError as error:
        original = error.orig
        code = getattr(original, "sqlite_errorcode", None)
        if code in (sqlcipher.SQLITE_NOTADB, sqlcipher.SQLITE_CORRUPT) or (
                isinstance(original, sqlcipher.DatabaseError)
                and not isinstance(original, sqlcipher.OperationalError)):
            keys.release(path)
            raise ReplicaUnreadable(
                f"The {what} ({path.name}) cannot be read: it was encrypted with a "
                "different key, or the file is damaged or not a database. "
                f"{RESYNC_HINT}") from error
        raise


def check_key(path: Path, key: bytes) -> bool:
    """Whether ``key`` opens the SQLCipher file at ``path``."""
    connection = sqlcipher.connect(str(path))
    try:
        connection.execute(key_pragma(key))
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return True
    except sqlcipher.DatabaseError:
        return False
    finally:
        connection.close()


def backend_unreadable(paths: DataPaths, keys: DatabaseKeys) -> bool:
    """Whether the embedded demo backend is encrypted with a key that is gone."""
    path = paths.root / BACKEND
    if not _exists_encrypted(path):
        return False
    try:
        key = keys.load(paths.root, BACKEND)
    except SecretStoreUnavailable:
        return True
    return key is None or not check_key(path, key)


def move_aside(paths: DataPaths, keys: DatabaseKeys, name: str, now: datetime) -> Path | None:
    """Rename an unreadable database file (and its side files) to a timestamped name, and
    file its key under that name, so that pending work in it can still be recovered."""
    path = paths.root / name
    if not path.exists():
        return None
    stamp = now.strftime("%Y%m%dT%H%M%S")
    stem = name.removesuffix(".sqlite")
    aside = paths.root / f"{stem}.unreadable-{stamp}.sqlite"
    counter = 1
    while aside.exists():
        counter += 1
        aside = paths.root / f"{stem}.unreadable-{stamp}-{counter}.sqlite"
    for source, target in zip(files_of(path), files_of(aside), strict=True):
        if source.exists():
            source.rename(target)
    keys.release(path)
    try:
        key = keys.load(paths.root, name)
        if key is not None:
            keys.save(paths.root, key, aside.name)
        keys.forget(paths.root, name)
    except SecretStoreUnavailable:
        pass  # a password-derived or per-run key: nothing is filed
    return aside


def recover_pending(paths: DataPaths, keys: DatabaseKeys, replica: Database) -> int:
    """Copy the pending outbox of replicas moved aside, where their kept key still opens
    them, into ``replica``, so that work not yet sent is sent after all. Each moved-aside
    file is looked at once; a mutation already in the outbox is not copied again (and the
    backend recognises a replayed one anyway). Returns how many were recovered."""
    recovered = 0
    for aside in sorted(paths.root.glob("replica.unreadable-*.sqlite")):
        mark = f"recovered:{aside.name}"[:64]
        with replica.sessions() as session:
            if get_state(session, mark) is not None:
                continue
        try:
            key = keys.load(paths.root, aside.name)
        except SecretStoreUnavailable:
            return recovered
        rows: list[tuple] = []
        if key is not None:
            connection = sqlcipher.connect(str(aside))
            try:
                connection.execute(key_pragma(key))
                rows = connection.execute(
                    "SELECT mutation_id, client_id, kind, entity_id, payload, created_at, "
                    "attempts FROM outbox WHERE state = 'pending' ORDER BY seq").fetchall()
            except sqlcipher.DatabaseError:
                rows = []  # still unreadable: nothing can be recovered from it
            finally:
                connection.close()
        with replica.writing() as session:
            connection = session.connection()
            present = {row[0] for row in connection.exec_driver_sql(
                "SELECT mutation_id FROM outbox")}
            new = [row for row in rows if row[0] not in present]
            if new:
                connection.exec_driver_sql(
                    "INSERT INTO outbox (mutation_id, client_id, kind, entity_id, payload, "
                    "created_at, state, attempts) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                    new)
            set_state(session, mark, str(len(new)))
        if new:
            log.info("recovered %d pending changes from %s", len(new), aside.name)
        recovered += len(new)
    return recovered


def wipe(paths: DataPaths, keys: DatabaseKeys, name: str = REPLICA) -> None:
    """Delete a database file and its side files, then its key (the file's bytes that may
    remain on the disk are useless without it)."""
    path = paths.root / name
    for file in files_of(path):
        file.unlink(missing_ok=True)
    keys.release(path)
    if name == REPLICA:
        (paths.root / SALT_FILE).unlink(missing_ok=True)
    with contextlib.suppress(SecretStoreUnavailable):
        keys.forget(paths.root, name)
