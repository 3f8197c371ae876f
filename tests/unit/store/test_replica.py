"""The encrypted replica: keys in the real (test) keyring, old plain data directories,
unreadable files, re-sync, and the wipe after revocation or a long time without sync."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlcipher3 import dbapi2 as sqlcipher

from reviewer.clock import ManualClock
from reviewer.demo.seed import seed_demo
from reviewer.enforcement.decisions import DecisionDraft, record_decision
from reviewer.security.devices import revoke_device
from reviewer.security.secrets import KeyringSecretStore
from reviewer.store.database import is_plain_sqlite, key_pragma
from reviewer.store.keys import DatabaseKeys
from reviewer.store.models import Case, Decision, OutboxEntry
from reviewer.store.replica import ReplicaUnreadable, check_key
from reviewer.sync.engine import Connection, DeviceRevoked
from reviewer.workstation import Workstation

KEYRING = DatabaseKeys(KeyringSecretStore())
"""The data directories' keys where the app files them: the test run's own keyring."""


@pytest.fixture
def clock():
    return ManualClock()


def _open(data, clock):
    return Workstation.open_embedded(data, clock=clock)


def _seeded(data, clock, cases=12):
    workstation = _open(data, clock)
    seed_demo(workstation.backend, workstation.taxonomy, clock, random.Random(3), cases=cases,
              with_media=False)
    workstation.synchronise()
    return workstation


def _decide(workstation):
    with workstation.replica.sessions() as session:
        case = session.scalars(select(Case).where(Case.status == "new")
                               .order_by(Case.external_ref)).first()
    policy = next(p for p in workstation.taxonomy.policies_for_surface(case.surface)
                  if not p.second_review_actions or "no_violation" in p.actions)
    return record_decision(
        workstation.replica.sessions, workstation.taxonomy,
        reviewer_id=workstation.reviewer_id, client_id=workstation.client_id,
        draft=DecisionDraft(case.id, policy.code, "no_violation", "Satire, not an attack."),
        clock=workstation.clock)


def _count(database, model, *where):
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_both_databases_are_encrypted_with_keys_from_the_keyring(tmp_path, clock):
    data = tmp_path / "data"
    workstation = _seeded(data, clock)
    workstation.close()
    for name in ("replica.sqlite", "backend.sqlite"):
        path = data / name
        assert not is_plain_sqlite(path)
        key = KEYRING.load(data, name)
        assert key is not None and len(key) == 32
        assert check_key(path, key)
        with pytest.raises(sqlite3.DatabaseError, match="not a database"):
            sqlite3.connect(path).execute("SELECT count(*) FROM sqlite_master").fetchone()
    assert KEYRING.load(data) != KEYRING.load(data, "backend.sqlite")
    for file in data.rglob("*"):  # the keys are nowhere in the data directory
        if file.is_file():
            content = file.read_bytes()
            for name in ("replica.sqlite", "backend.sqlite"):
                key = KEYRING.load(data, name)
                assert key not in content and key.hex().encode() not in content


def _decrypt_to_plain(path, key):
    """What the previous version of the app left: the same database, unencrypted."""
    plain = path.with_name("plain.sqlite")
    connection = sqlcipher.connect(str(path))
    connection.execute(key_pragma(key))
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    connection.execute("ATTACH DATABASE ? AS plain KEY ''", (str(plain),))
    connection.execute("SELECT sqlcipher_export('plain')")
    connection.execute(f"PRAGMA plain.user_version = {version}")
    connection.execute("DETACH DATABASE plain")
    connection.close()
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    plain.replace(path)


def test_an_old_plain_data_directory_is_encrypted_and_keeps_its_pending_work(tmp_path, clock):
    data = tmp_path / "data"
    workstation = _seeded(data, clock)
    decision = _decide(workstation)
    workstation.close()
    for name in ("replica.sqlite", "backend.sqlite"):
        _decrypt_to_plain(data / name, KEYRING.load(data, name))
        KEYRING.forget(data, name)
        assert is_plain_sqlite(data / name)

    workstation = _open(data, clock)
    try:
        for name in ("replica.sqlite", "backend.sqlite"):
            assert not is_plain_sqlite(data / name)
            assert check_key(data / name, KEYRING.load(data, name))
        assert _count(workstation.replica, OutboxEntry, OutboxEntry.state == "pending") == 1
        assert _count(workstation.replica, Case) == 12
        report = workstation.synchronise()
        assert report.pushed == 1
        assert _count(workstation.backend, Decision, Decision.id == decision.id) == 1
    finally:
        workstation.close()
    assert not list(data.glob("*.encrypting*"))


def test_a_wrong_key_says_so_and_a_resync_rebuilds_the_replica(tmp_path, clock):
    data = tmp_path / "data"
    _seeded(data, clock).close()
    KEYRING.create(data)  # the keyring now holds a different key

    with pytest.raises(ReplicaUnreadable) as caught:
        _open(data, clock)
    message = str(caught.value)
    assert "cannot be read" in message and "different key" in message
    assert "Re-sync" in message

    aside = Workstation.reset_replica(data)
    assert aside.exists() and aside.parent == data and "unreadable" in aside.name
    assert not (data / "replica.sqlite").exists()
    assert KEYRING.load(data) is None  # forgotten; filed under the aside name
    assert KEYRING.load(data, aside.name) is not None

    workstation = _open(data, clock)
    try:
        assert _count(workstation.replica, Case) == 0
        workstation.synchronise()
        assert _count(workstation.replica, Case) == 12
    finally:
        workstation.close()


@pytest.mark.parametrize("damage", ["garbage", "text", "empty_key"])
def test_a_damaged_or_keyless_replica_is_unreadable_not_a_crash(tmp_path, clock, damage):
    data = tmp_path / "data"
    _seeded(data, clock).close()
    replica = data / "replica.sqlite"
    if damage == "garbage":
        content = bytearray(replica.read_bytes())
        content[:4096] = random.Random(1).randbytes(4096)
        replica.write_bytes(bytes(content))
        expected = "damaged"
    elif damage == "text":
        replica.write_text("these are not the pages you are looking for\n" * 200)
        expected = "not a database"
    else:
        KEYRING.forget(data)
        expected = "key is missing from the system keyring"
    with pytest.raises(ReplicaUnreadable, match=expected):
        _open(data, clock)

    Workstation.reset_replica(data)
    workstation = _open(data, clock)
    try:
        workstation.synchronise()
        assert _count(workstation.replica, Case) == 12
    finally:
        workstation.close()


def test_pending_work_moved_aside_is_recovered_with_its_kept_key(tmp_path, clock):
    data = tmp_path / "data"
    workstation = _seeded(data, clock)
    decision = _decide(workstation)
    workstation.close()

    aside = Workstation.reset_replica(data)
    key = KEYRING.load(data, aside.name)
    connection = sqlcipher.connect(str(aside))
    connection.execute(key_pragma(key))
    pending = connection.execute(
        "SELECT payload FROM outbox WHERE state = 'pending'").fetchall()
    connection.close()
    assert len(pending) == 1 and decision.id.hex in pending[0][0].replace("-", "")

    # The next start finds the moved-aside replica readable with its kept key, and sends
    # its pending decision after all, once.
    workstation = _open(data, clock)
    try:
        assert _count(workstation.replica, OutboxEntry, OutboxEntry.state == "pending") == 1
        report = workstation.synchronise()
        assert report.pushed == 1
        assert _count(workstation.backend, Decision, Decision.id == decision.id) == 1
        assert _count(workstation.replica, Decision, Decision.id == decision.id) == 1
        assert _count(workstation.replica, Case) == 12
    finally:
        workstation.close()
    workstation = _open(data, clock)
    try:
        assert _count(workstation.replica, OutboxEntry, OutboxEntry.state == "pending") == 0
        assert workstation.synchronise().pushed == 0
    finally:
        workstation.close()


def test_no_sync_for_too_long_wipes_the_replica_at_start(tmp_path, clock):
    data = tmp_path / "data"
    _seeded(data, clock).close()
    old_key = KEYRING.load(data)

    clock.advance(timedelta(days=13, hours=23))
    workstation = _open(data, clock)
    assert workstation.wiped_reason is None
    assert _count(workstation.replica, Case) == 12
    workstation.close()  # not synced: the last sync is still 13 days 23 hours ago

    clock.advance(timedelta(hours=2))
    workstation = _open(data, clock)
    try:
        assert workstation.wiped_reason is not None
        assert "not synced" in workstation.wiped_reason and "14 days" in workstation.wiped_reason
        assert _count(workstation.replica, Case) == 0
        assert KEYRING.load(data) not in (None, old_key)
        workstation.synchronise()
        assert _count(workstation.replica, Case) == 12
    finally:
        workstation.close()
    workstation = _open(data, clock)
    assert workstation.wiped_reason is None
    workstation.close()


def test_the_wipe_interval_is_a_setting(tmp_path, clock):
    data = tmp_path / "data"
    _seeded(data, clock).close()
    (data / "settings.ini").write_text("[security]\nwipe_after_days = 2\n")
    clock.advance(timedelta(days=2, minutes=1))
    workstation = _open(data, clock)
    try:
        assert "2 days" in workstation.wiped_reason
    finally:
        workstation.close()


def test_a_revoked_device_stops_syncing_and_is_wiped_at_next_start(tmp_path, clock):
    data = tmp_path / "data"
    workstation = _seeded(data, clock)
    _decide(workstation)
    with workstation.backend.writing() as session:
        revoke_device(session, workstation.client_id, by="admin", now=clock.now())
    clock.advance(60)
    with pytest.raises(DeviceRevoked, match="revoked"):
        workstation.synchronise()
    status = workstation.sync.status()
    assert status.connection is Connection.REFUSED and "revoked" in status.last_error
    assert workstation.sync.sync_if_due() is None
    assert _count(workstation.replica, OutboxEntry, OutboxEntry.state == "pending") == 1
    assert _count(workstation.backend, Decision, Decision.reviewer_id == workstation.reviewer_id,
                  Decision.created_at >= clock.now() - timedelta(minutes=5)) == 0
    workstation.close()

    workstation = _open(data, clock)
    try:
        assert workstation.wiped_reason is not None and "revoked" in workstation.wiped_reason
        assert _count(workstation.replica, Case) == 0
        assert _count(workstation.replica, OutboxEntry) == 0
    finally:
        workstation.close()


def test_reviewer_admin_creates_a_data_directory_encrypted(tmp_path):
    root = Path(__file__).resolve().parents[3]
    data = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-m", "reviewer.cli", "--data-dir", str(data), "seed-demo",
         "--cases", "30", "--no-media"], capture_output=True, text=True, cwd=root, timeout=300)
    assert result.returncode == 0, result.stderr
    assert not is_plain_sqlite(data / "backend.sqlite")
    assert check_key(data / "backend.sqlite", KEYRING.load(data, "backend.sqlite"))
