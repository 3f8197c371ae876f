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

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from reviewer.cli import main
from reviewer.clock import ManualClock
from reviewer.demo.seed import demo_reviewer_id
from reviewer.store.database import BackendLoginFailed, Database
from reviewer.store.models import Case, Decision, Queue, Reviewer, ServiceSession, TeamMembership
from reviewer.sync.engine import DeviceRevoked
from tests.helpers.pg_workstations import (
    LOGIN_PASSWORD,
    create_login,
    decide,
    drop_logins,
    login_url,
    open_workstation,
    seed_backend,
)
from tests.helpers.service import running_service

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


def test_disable_user_cuts_an_open_session_and_returns_their_leases(seeded, capsys, tmp_path):
    """Disabling takes effect on the person's next request through the service: their
    session token is refused and cannot be renewed with the password, their leases are back
    in the queue, and a psql session of theirs is ended too."""
    url, clock, made = seeded
    name = _name("lee", made)
    person_url = create_login(url, name, role="reviewer", teams=["integrity"])
    with running_service(url, clock) as service:
        workstation = open_workstation(tmp_path / "lee", service, clock, username=name)
        try:
            workstation.synchronise()
            lease = workstation.get_next_case()
            assert lease is not None
            decide(workstation, lease.case_id)  # made before the account was disabled
            engine = create_engine(person_url)
            connection = engine.connect()
            try:
                assert connection.execute(text("SELECT count(*) FROM review_case")
                                          ).scalar_one() > 0
                connection.commit()
                assert main(["disable-user", name, "--backend-url", _url(url)]) == 0
                out = capsys.readouterr().out
                # the workstation's service session and this psql connection
                assert "2 open sessions ended" in out and "1 leases returned" in out
                with pytest.raises(DBAPIError):
                    connection.execute(text("SELECT count(*) FROM review_case"))
            finally:
                connection.close()
                engine.dispose()
            # The next sync is refused: the token has ended and the password no longer
            # signs in (the role may not log in); nothing of theirs is applied.
            with pytest.raises(BackendLoginFailed):
                workstation.synchronise()
            assert workstation.sync.status().connection.name == "REFUSED"
            with pytest.raises(BackendLoginFailed):
                workstation.get_next_case()
        finally:
            workstation.close()
        with httpx.Client(base_url=service) as http:
            answer = http.post("/v1/sessions", json={
                "username": name, "password": LOGIN_PASSWORD, "client_id": "ws-another"})
        assert answer.status_code == 401 and answer.json()["error"] == "unauthorized"
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
            assert session.scalar(select(func.count()).select_from(Decision).where(
                Decision.reviewer_id == demo_reviewer_id(name))) == 0
            assert session.scalar(select(func.count()).select_from(ServiceSession).where(
                ServiceSession.reviewer_id == demo_reviewer_id(name),
                ServiceSession.revoked_at.is_(None))) == 0
    finally:
        owner.dispose()
    assert main(["disable-user", "nobody_at_all", "--backend", _url(url)]) == 2
    assert "no user 'nobody_at_all'" in capsys.readouterr().err


def test_revoke_device_takes_effect_at_once(seeded, capsys, tmp_path):
    """An admin revokes a workstation: its very next request through the service is told
    so (its pushes are refused), and the next start wipes its replica."""
    url, clock, made = seeded
    name = _name("max", made)
    create_login(url, name, role="reviewer", teams=["ip"], password=LOGIN_PASSWORD)
    with running_service(url, clock) as service:
        workstation = open_workstation(tmp_path / "max", service, clock, username=name)
        client_id = workstation.client_id
        try:
            workstation.synchronise()  # checks the device in
            assert main(["list-devices", "--backend", _url(url)]) == 0
            listed = capsys.readouterr().out
            assert client_id in listed and name in listed and "active" in listed
            lease = workstation.get_next_case()
            assert lease is not None
            decision = decide(workstation, lease.case_id)
            assert main(["revoke-device", client_id, "--by", "sofia",
                         "--backend", _url(url)]) == 0
            assert f"revoked device {client_id}" in capsys.readouterr().out
            # The session the workstation holds is refused at once...
            status = workstation.sync.backend.check_in(client_id)
            assert status.revoked and status.revoked_at is not None
            with pytest.raises(DeviceRevoked, match="revoked"):
                workstation.synchronise()
            with pytest.raises(DeviceRevoked):
                workstation.synchronise()  # and stays stopped, without asking again
        finally:
            workstation.close()
        # ...and so is signing in again from that device, password or not.
        with httpx.Client(base_url=service) as http:
            answer = http.post("/v1/sessions", json={
                "username": name, "password": LOGIN_PASSWORD, "client_id": client_id})
        assert answer.status_code == 403 and answer.json()["error"] == "revoked"
        # At its next start the workstation wipes its replica, unsent decision and all.
        reopened = open_workstation(tmp_path / "max", service, clock, username=name)
        try:
            assert reopened.wiped_reason is not None and "revoked" in reopened.wiped_reason
            assert reopened.case(lease.case_id) is None
            assert reopened.client_id != client_id  # a new device, for the admin to see
        finally:
            reopened.close()
    owner = Database.open(url, migrate=False)
    try:
        with owner.sessions() as session:
            assert session.get(Decision, decision.id) is None
    finally:
        owner.dispose()
    assert main(["list-devices", "--backend", _url(url)]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["revoke-device", "ws-unknown", "--backend", _url(url)]) == 2
    assert "no device 'ws-unknown'" in capsys.readouterr().err


def _server_version(server) -> int:
    engine = create_engine(server.admin_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    finally:
        engine.dispose()


def test_a_dedicated_owner_role_runs_the_backend_without_being_a_superuser(
        postgres_server, tmp_path, monkeypatch, capsys):
    """The setup in docs/administration.md: a non-superuser owner with CREATEROLE initialises
    the backend, loads cases, makes accounts and runs the backend service; FORCE'd row
    security still lets it do all of that. init-backend makes the owner a member of the group
    roles (so the service can read as a person with SET LOCAL ROLE; from PostgreSQL 16
    without inheriting them), and refuses an owner that is also a person's account."""
    suffix = uuid.uuid4().hex[:8]
    owner_name, person = f"owner_{suffix}", f"nia_{suffix}"
    database = f"reviewer_owned_{suffix}"
    postgres_server.execute(
        f"CREATE ROLE \"{owner_name}\" LOGIN CREATEROLE PASSWORD '{LOGIN_PASSWORD}'",
        f'GRANT pg_signal_backend TO "{owner_name}"',
        f'CREATE DATABASE "{database}" OWNER "{owner_name}"')
    version = _server_version(postgres_server)
    if version >= 16:
        # The group roles exist already (the template made them), as they would for a
        # second team database on one server: docs/administration.md's one-time grant.
        postgres_server.execute(
            f'GRANT rw_reviewer, rw_auditor, rw_lead, rw_admin TO "{owner_name}" '
            "WITH ADMIN OPTION, INHERIT FALSE, SET TRUE")
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
                groups = connection.execute(text(
                    "SELECT g, pg_has_role(current_user, g, 'MEMBER'), "
                    "pg_has_role(current_user, g, 'USAGE') "
                    "FROM unnest(CAST(:g AS text[])) AS g ORDER BY g"),
                    {"g": ["rw_admin", "rw_auditor", "rw_lead", "rw_reviewer"]}).all()
        finally:
            engine.dispose()
        assert owners == {owner_name} and not is_super and cases == 15
        # A member of every group, to read as a person; from 16 on without their privileges.
        assert all(member for _, member, _ in groups), groups
        if version >= 16:
            assert not any(usage for _, _, usage in groups), groups
        with running_service(owner_url, clock) as service:
            workstation = open_workstation(tmp_path / "nia", service, clock, username=person)
            try:
                workstation.synchronise()
                lease = workstation.get_next_case()
                assert lease is not None
                decide(workstation, lease.case_id)
                report = workstation.synchronise()
                assert (report.pushed, report.rejected) == (1, 0)
                with workstation.replica.sessions() as local:  # pulled as her, filtered
                    teams = set(local.scalars(
                        select(Queue.team_code).join(Case, Case.queue_id == Queue.id)))
                assert teams == {"integrity"}
            finally:
                workstation.close()
        assert main(["disable-user", person, "--backend", _url(owner_url)]) == 0
        # An owner that is also a person's account is refused (init-backend checks every
        # time, not only when the setup changed).
        engine = create_engine(owner_url)
        try:
            with engine.begin() as connection:
                connection.execute(text(
                    "INSERT INTO reviewer (id, username, display_name, role, languages, "
                    "active, started_on, change_version) VALUES (gen_random_uuid(), :n, "
                    "'Owner', 'admin', '[]', true, now(), 0)"), {"n": owner_name})
        finally:
            engine.dispose()
        capsys.readouterr()
        assert main(["init-backend", "--backend", _url(owner_url)]) == 2
        assert "is also a person's account" in capsys.readouterr().err
    finally:
        postgres_server.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        drop_logins(postgres_server.admin_url, [person, owner_name])


def test_init_backend_reapplies_the_security_only_when_something_changed(pg_url):
    from reviewer.security.row_security import _applied_fingerprint, apply_row_security

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
