"""Without an OS keyring: a team replica's key comes from the sign-in password, the demo
gets a key for this run only (and says so); no key or password is ever written down."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from reviewer.clock import ManualClock
from reviewer.demo.seed import seed_demo
from reviewer.security.secrets import KeyringSecretStore
from reviewer.store.database import BackendError, Database, is_plain_sqlite, sqlite_url
from reviewer.store.keys import DatabaseKeys
from reviewer.store.models import Case
from reviewer.store.replica import SALT_FILE, ReplicaLocked, ReplicaUnreadable, derive_key
from reviewer.workstation import Workstation
from tests.helpers.keyrings import without_keyring


@pytest.fixture
def no_keyring():
    with without_keyring():
        yield


@pytest.fixture
def clock():
    return ManualClock()


def _cases(workstation):
    with workstation.replica.sessions() as session:
        return session.scalar(select(func.count()).select_from(Case))


def test_a_team_replica_is_keyed_from_the_password(tmp_path, clock, no_keyring):
    # A backend the replica syncs with (an SQLite file stands in for PostgreSQL here).
    backend_path = tmp_path / "server" / "stand-in.sqlite"
    backend_path.parent.mkdir()
    backend = Database.open(sqlite_url(backend_path))
    workstation = Workstation.open(tmp_path / "data", clock=clock)  # only for its taxonomy
    seed_demo(backend, workstation.taxonomy, clock, random.Random(5), cases=8, with_media=False)
    workstation.close()
    backend.dispose()
    data = tmp_path / "team"
    url = sqlite_url(backend_path)

    workstation = Workstation.open(data, backend_url=url, password="s3cret pass", clock=clock)
    workstation.synchronise()
    assert _cases(workstation) == 8
    assert workstation.replica_warning is None
    workstation.close()
    replica = data / "replica.sqlite"
    assert not is_plain_sqlite(replica)
    key = derive_key("s3cret pass", (data / SALT_FILE).read_bytes())
    for file in data.rglob("*"):
        if file.is_file():
            content = file.read_bytes()
            assert b"s3cret pass" not in content
            assert key not in content and key.hex().encode() not in content

    workstation = Workstation.open(data, backend_url=url, password="s3cret pass", clock=clock)
    assert _cases(workstation) == 8
    workstation.close()
    with pytest.raises(ReplicaUnreadable, match="different key"):
        Workstation.open(data, backend_url=url, password="another password", clock=clock)
    with pytest.raises(ReplicaLocked, match="sign-in password"):
        Workstation.open(data, backend_url=url, clock=clock)

    Workstation.reset_replica(data)  # e.g. after the password was changed
    assert not (data / SALT_FILE).exists()
    workstation = Workstation.open(data, backend_url=url, password="another password",
                                   clock=clock)
    workstation.synchronise()
    assert _cases(workstation) == 8
    workstation.close()


def test_the_demo_lasts_one_run_and_warns(tmp_path, clock, no_keyring):
    data = tmp_path / "data"
    workstation = Workstation.open_embedded(data, clock=clock)
    assert workstation.replica_warning is not None
    assert "keyring" in workstation.replica_warning
    assert workstation.needs_demo_data()
    workstation.prepare_demo(seed=3)
    workstation.synchronise()
    assert _cases(workstation) > 0
    workstation.close()
    assert not is_plain_sqlite(data / "replica.sqlite")
    assert not is_plain_sqlite(data / "backend.sqlite")

    workstation = Workstation.open_embedded(data, clock=clock)
    try:
        assert workstation.replica_warning is not None
        assert workstation.needs_demo_data()  # the last run's files were discarded
        assert _cases(workstation) == 0
    finally:
        workstation.close()


def test_a_keyring_replica_when_the_keyring_is_gone_says_so(tmp_path, clock):
    data = tmp_path / "data"
    Workstation.open_embedded(data, clock=clock).close()
    backend_url = sqlite_url(data / "backend.sqlite")
    team = tmp_path / "team"
    Workstation.open(team, backend_url=backend_url, password="pw", clock=clock).close()
    with without_keyring(), pytest.raises(ReplicaUnreadable, match="not available now"):
        Workstation.open(team, backend_url=backend_url, password="pw", clock=clock)
    workstation = Workstation.open(team, backend_url=backend_url, password="pw", clock=clock)
    workstation.close()


def test_reviewer_admin_never_creates_a_plain_data_file(tmp_path, capsys, no_keyring):
    """Without a keyring a data directory's database could only be plain: ingesting or
    seeding into it is refused with the reason, and nothing is created."""
    from reviewer.cli import main

    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "seed-demo", "--cases", "3", "--no-media"]) == 2
    error = capsys.readouterr().err
    assert "backend.sqlite cannot be created encrypted" in error
    assert "no system keyring" in error
    assert not (data / "backend.sqlite").exists()
    with pytest.raises(BackendError, match="cannot be created encrypted: no system keyring"):
        Database.open(sqlite_url(data / "replica.sqlite"), keys=DatabaseKeys(KeyringSecretStore()))
    assert not (data / "replica.sqlite").exists()
