"""reviewer-admin's accounts and devices on a real PostgreSQL backend: create-user,
disable-user, revoke-device and list-devices, run as an admin runs them."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import termios
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from reviewer.cli import main
from reviewer.clock import ManualClock
from reviewer.demo import demo_reviewer_id
from reviewer.devices import check_in
from reviewer.leases import lease_next_case
from reviewer.models import Case, Reviewer, TeamMembership
from reviewer.store import BackendLoginFailed, Database
from tests.helpers.pg_workstations import (
    LOGIN_PASSWORD,
    create_login,
    drop_logins,
    login_url,
    seed_backend,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def seeded(pg_url, postgres_server):
    clock = ManualClock(datetime.now(UTC))
    seed_backend(pg_url, clock, cases=20)
    made: list[str] = []
    yield pg_url, clock, made
    drop_logins(postgres_server.admin_url, made)


def _url(url) -> str:
    return url.render_as_string(hide_password=False)


def _name(prefix: str, made: list[str]) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    made.append(name)
    return name


def test_create_user_from_a_script_then_sign_in_with_that_password(seeded, monkeypatch,
                                                                   capsys):
    url, _clock, made = seeded
    name = _name("dana", made)
    monkeypatch.setenv("REVIEWER_NEW_PASSWORD", "a script-made passphrase")
    assert main(["create-user", name, "--role", "reviewer", "--team", "integrity",
                 "--team", "ip", "--display-name", "Dana Scully", "--backend", _url(url)]) == 0
    assert f"created reviewer {name}" in capsys.readouterr().out
    engine = create_engine(login_url(url, name, "a script-made passphrase"))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT session_user")).scalar_one() == name
            teams = set(connection.execute(select(TeamMembership.team_code).where(
                TeamMembership.reviewer_id == demo_reviewer_id(name))).scalars())
            assert teams == {"integrity", "ip"}
            reviewer = connection.execute(select(Reviewer.display_name, Reviewer.role).where(
                Reviewer.username == name)).one()
            assert tuple(reviewer) == ("Dana Scully", "reviewer")
    finally:
        engine.dispose()
    # Only the SCRAM verifier reached the server; a wrong password is refused.
    owner = create_engine(url)
    try:
        with owner.connect() as connection:
            stored = connection.execute(text(
                "SELECT rolpassword FROM pg_authid WHERE rolname = :n"), {"n": name}
            ).scalar_one()
            member = connection.execute(text(
                "SELECT pg_has_role(:n, 'rw_reviewer', 'MEMBER')"), {"n": name}).scalar_one()
    finally:
        owner.dispose()
    assert stored.startswith("SCRAM-SHA-256$4096:") and "passphrase" not in stored
    assert member
    wrong = Database.open(login_url(url, name, "not the passphrase"), migrate=False)
    try:
        with pytest.raises(BackendLoginFailed), wrong.talking(), wrong.sessions() as session:
            session.execute(text("SELECT 1"))
    finally:
        wrong.dispose()


def test_create_user_says_clearly_what_is_wrong(seeded, monkeypatch, capsys):
    url, _clock, made = seeded
    name = _name("erin", made)
    monkeypatch.setenv("REVIEWER_NEW_PASSWORD", "a script-made passphrase")
    backend = ["--backend", _url(url)]
    assert main(["create-user", name, "--role", "reviewer", "--team", "no-such-team",
                 *backend]) == 2
    assert "unknown team no-such-team" in capsys.readouterr().err
    assert main(["create-user", name, "--role", "lead", "--team", "integrity", *backend]) == 0
    capsys.readouterr()
    assert main(["create-user", name, "--role", "lead", "--team", "integrity", *backend]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["create-user", "Robert'); DROP TABLE decision;--", "--role", "reviewer",
                 "--team", "integrity", *backend]) == 2
    assert "not a valid user name" in capsys.readouterr().err
    monkeypatch.setenv("REVIEWER_NEW_PASSWORD", "short")
    assert main(["create-user", _name("fay", made), "--role", "reviewer", "--team", "ip",
                 *backend]) == 2
    assert "at least 12 characters" in capsys.readouterr().err
    # A reviewer cannot make accounts, even with the backend's address.
    reviewer = _name("gil", made)
    reviewer_url = create_login(url, reviewer, role="reviewer", teams=["ip"])
    monkeypatch.setenv("REVIEWER_NEW_PASSWORD", "a script-made passphrase")
    assert main(["create-user", _name("hal", made), "--role", "admin",
                 "--backend", _url(reviewer_url)]) == 2
    assert "not permitted" in capsys.readouterr().err
    monkeypatch.delenv("REVIEWER_NEW_PASSWORD")
    assert main(["create-user", _name("ivy", made), "--role", "reviewer", "--team", "ip",
                 *backend]) == 2  # pytest's stdin is no terminal
    assert "REVIEWER_NEW_PASSWORD" in capsys.readouterr().err


def _read_until(leader: int, marker: bytes | None) -> bytes:
    output = b""
    while marker is None or marker not in output:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        output += chunk
    return output


def _run_on_a_terminal(args: list[str], answers: list[str]) -> tuple[int, str]:
    """Run reviewer-admin with a pseudo-terminal as its controlling terminal, and answer
    each prompt once it shows (getpass discards what was typed before it asked)."""
    leader, follower = os.openpty()

    def take_terminal() -> None:
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    env = {k: v for k, v in os.environ.items() if k != "REVIEWER_NEW_PASSWORD"}
    process = subprocess.Popen(
        [sys.executable, "-m", "reviewer.cli", *args], stdin=follower, stdout=follower,
        stderr=follower, cwd=REPO, env=env, preexec_fn=take_terminal)
    os.close(follower)
    output = b""
    try:
        for prompt, answer in zip((b"New password: ", b"Repeat the password: "), answers,
                                  strict=True):
            output += _read_until(leader, prompt)
            os.write(leader, answer.encode() + b"\n")
        output += _read_until(leader, None)
    finally:
        os.close(leader)
    return process.wait(timeout=120), output.decode(errors="replace")


def test_the_password_is_asked_twice_on_a_terminal(seeded):
    url, _clock, made = seeded
    name, other = _name("jan", made), _name("kim", made)
    args = ["--role", "reviewer", "--team", "ip", "--backend", _url(url)]
    code, output = _run_on_a_terminal(["create-user", other, *args],
                                      ["first passphrase!", "second passphrase"])
    assert code == 2 and "the passwords differ" in output
    code, output = _run_on_a_terminal(["create-user", name, *args],
                                      ["typed at a terminal", "typed at a terminal"])
    assert code == 0, output
    assert "typed at a terminal" not in output  # never echoed
    engine = create_engine(login_url(url, name, "typed at a terminal"))
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT current_user")).scalar_one() == name
    finally:
        engine.dispose()
    owner = create_engine(url)
    try:
        with owner.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM pg_roles WHERE rolname = :n"),
                                      {"n": other}).scalar_one() == 0
    finally:
        owner.dispose()


def test_disable_user_cuts_an_open_session_and_returns_their_leases(seeded, capsys):
    url, clock, made = seeded
    name = _name("lee", made)
    person_url = create_login(url, name, role="reviewer", teams=["integrity"])
    backend = Database.open(person_url, migrate=False)
    try:
        lease = lease_next_case(backend, demo_reviewer_id(name), clock)
        assert lease is not None
        engine = create_engine(person_url)
        connection = engine.connect()
        try:
            assert connection.execute(text("SELECT count(*) FROM review_case")).scalar_one() > 0
            connection.commit()
            assert main(["disable-user", name, "--backend-url", _url(url)]) == 0
            out = capsys.readouterr().out
            # this connection and the pooled one that took the lease
            assert "2 open sessions ended" in out and "1 leases returned" in out
            with pytest.raises(DBAPIError):
                connection.execute(text("SELECT count(*) FROM review_case"))
        finally:
            connection.close()
            engine.dispose()
        backend.dispose()
        again = Database.open(person_url, migrate=False)
        try:
            with pytest.raises(BackendLoginFailed, match="not permitted to log in"), \
                    again.talking(), again.sessions() as session:
                session.execute(text("SELECT 1"))
        finally:
            again.dispose()
        owner = Database.open(url, migrate=False)
        try:
            with owner.sessions() as session:
                case = session.get(Case, lease.case_id)
                assert case.status == "new" and case.lease_holder_id is None
                assert case.fencing_token > lease.fencing_token
                assert session.scalar(select(Reviewer.active).where(
                    Reviewer.username == name)) is False
        finally:
            owner.dispose()
    finally:
        backend.dispose()
    assert main(["disable-user", "nobody_at_all", "--backend", _url(url)]) == 2
    assert "no user 'nobody_at_all'" in capsys.readouterr().err


def test_revoke_device_takes_effect_at_once(seeded, capsys):
    url, clock, made = seeded
    name = _name("max", made)
    person_url = create_login(url, name, role="reviewer", teams=["ip"], password=LOGIN_PASSWORD)
    backend = Database.open(person_url, migrate=False)
    try:
        with backend.writing() as session:
            assert not check_in(session, "ws-laptop-1", name, clock.now()).revoked
        assert main(["list-devices", "--backend", _url(url)]) == 0
        listed = capsys.readouterr().out
        assert "ws-laptop-1" in listed and name in listed and "active" in listed
        assert main(["revoke-device", "ws-laptop-1", "--by", "sofia",
                     "--backend", _url(url)]) == 0
        assert "revoked device ws-laptop-1" in capsys.readouterr().out
        with backend.writing() as session:
            status = check_in(session, "ws-laptop-1", name, clock.now())
        assert status.revoked and status.revoked_at is not None
        assert main(["list-devices", "--backend", _url(url)]) == 0
        assert "revoked" in capsys.readouterr().out
        assert main(["revoke-device", "ws-unknown", "--backend", _url(url)]) == 2
        assert "no device 'ws-unknown'" in capsys.readouterr().err
    finally:
        backend.dispose()


def _server_version(server) -> int:
    engine = create_engine(server.admin_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    finally:
        engine.dispose()


def test_a_dedicated_owner_role_runs_the_backend_without_being_a_superuser(
        postgres_server, tmp_path, monkeypatch, capsys):
    """The README's setup: a non-superuser owner with CREATEROLE initialises the backend,
    loads cases and makes accounts; FORCE'd row security still lets it do all of that."""
    from tests.helpers.pg_workstations import check_in_device, decide, open_workstation

    suffix = uuid.uuid4().hex[:8]
    owner_name, person = f"owner_{suffix}", f"nia_{suffix}"
    database = f"reviewer_owned_{suffix}"
    postgres_server.execute(
        f"CREATE ROLE \"{owner_name}\" LOGIN CREATEROLE PASSWORD '{LOGIN_PASSWORD}'",
        f'GRANT pg_signal_backend TO "{owner_name}"',
        f'CREATE DATABASE "{database}" OWNER "{owner_name}"')
    if _server_version(postgres_server) >= 16:
        # The group roles exist already (the template made them), as they would for a
        # second team database on one server: the README's one-time grant.
        postgres_server.execute(
            f'GRANT rw_reviewer, rw_auditor, rw_lead, rw_admin TO "{owner_name}" '
            "WITH ADMIN OPTION, INHERIT FALSE, SET FALSE")
    owner_url = postgres_server.url(database).set(username=owner_name,
                                                  password=LOGIN_PASSWORD)
    clock = ManualClock(datetime.now(UTC))
    try:
        assert main(["init-backend", "--backend", _url(owner_url)]) == 0
        assert main(["init-backend", "--backend", _url(owner_url)]) == 0  # idempotent
        assert "up to date" in capsys.readouterr().out
        seed_backend(owner_url, clock, cases=15)
        monkeypatch.setenv("REVIEWER_NEW_PASSWORD", LOGIN_PASSWORD)
        assert main(["create-user", person, "--role", "reviewer", "--team", "integrity",
                     "--backend", _url(owner_url)]) == 0
        engine = create_engine(owner_url)
        try:
            with engine.connect() as connection:
                owners = set(connection.execute(text(
                    "SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")).scalars())
                is_super = connection.execute(text(
                    "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar_one()
                cases = connection.execute(text("SELECT count(*) FROM review_case")).scalar_one()
        finally:
            engine.dispose()
        assert owners == {owner_name} and not is_super and cases == 15
        workstation = open_workstation(tmp_path / "nia", login_url(owner_url, person), clock,
                                       username=person)
        try:
            check_in_device(workstation, person)
            workstation.synchronise()
            lease = workstation.get_next_case()
            assert lease is not None
            decide(workstation, lease.case_id)
            report = workstation.synchronise()
            assert (report.pushed, report.rejected) == (1, 0)
        finally:
            workstation.close()
        assert main(["disable-user", person, "--backend", _url(owner_url)]) == 0
    finally:
        postgres_server.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        drop_logins(postgres_server.admin_url, [person, owner_name])


def test_init_backend_reapplies_the_security_only_when_something_changed(pg_url):
    from reviewer.backend_security import _applied_fingerprint, apply_row_security

    engine = create_engine(pg_url)
    try:
        assert main(["init-backend", "--backend", _url(pg_url)]) == 0
        with engine.connect() as connection:
            applied = _applied_fingerprint(connection)
        assert applied is not None and applied.startswith("rw-security ")
        with engine.begin() as connection:  # someone switched row security off by hand
            connection.exec_driver_sql("ALTER TABLE decision NO FORCE ROW LEVEL SECURITY")
        with engine.connect() as connection:
            assert _applied_fingerprint(connection) is None
        assert main(["init-backend", "--backend", _url(pg_url)]) == 0
        with engine.connect() as connection:
            assert _applied_fingerprint(connection) == applied
            forced = connection.execute(text(
                "SELECT relforcerowsecurity FROM pg_class WHERE relname = 'decision'")
            ).scalar_one()
        assert forced
        with engine.begin() as connection:  # up to date: nothing to do, no table locked
            apply_row_security(connection)
            locks = connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() "
                "AND mode = 'AccessExclusiveLock' AND locktype = 'relation'")).scalar_one()
        assert locks == 0
    finally:
        engine.dispose()
