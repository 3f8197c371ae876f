"""Attacks on the team backend by insiders, every one of which must be refused (issue 15).

Two kinds of attacker, on one seeded backend with five people (two reviewers of one team,
a reviewer of another team, an auditor and a lead of the first team):

1. **A psql prompt** as the person's own PostgreSQL login role: people's roles may only read
   under forced row security, so every write on every table, every writing function, every
   way to take another identity or role, and every read of what row security hides must be
   refused (SQLSTATE 42501) or show nothing.
2. **A stolen session token** of each role, with hand-crafted requests to the backend
   service: forged pushes (another person's name, another workstation, a colleague's lease,
   another team's case, one's own severe decision approved, figures no day can hold),
   malformed bodies, lease calls with someone else's lease, and sessions that must have
   ended. Each must come back ``rejected`` with a reason or as a 4xx JSON error: never a
   500, never a traceback.

After every attack the backend is compared, table by table, with its state before (as the
owner): an attack that is refused in words but changes a row fails too.

The world (people, leases, a severe decision, samples, shared wellness figures) is built
once per module through the service, as the workstations would, and kept as a database
template; every test gets its own copy of it, so attacks never see each other's effects.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from reviewer.clock import ManualClock
from reviewer.demo.seed import demo_reviewer_id
from reviewer.store.database import Database
from tests.helpers.pg_workstations import (
    LOGIN_PASSWORD,
    create_login,
    drop_logins,
    login_url,
    seed_backend,
)
from tests.helpers.postgres import TEMPLATE, PostgresServer
from tests.helpers.service import running_service

GRAPHIC, ADS = "graphic-content", "ads-commerce"
RATIONALE = "Read in full and checked against the policy's definition; see the notes."
PEOPLE = {
    # key: (role, teams)
    "reviewer": ("reviewer", [GRAPHIC]),
    "colleague": ("reviewer", [GRAPHIC]),
    "outsider": ("reviewer", [ADS]),
    "auditor": ("auditor", [GRAPHIC]),
    "lead": ("lead", [GRAPHIC]),
    "leaver": ("reviewer", [GRAPHIC]),  # disabled by a session test
    "traveller": ("reviewer", [GRAPHIC]),  # whose workstation a session test revokes
}
ATTACKERS = ("reviewer", "colleague", "outsider", "auditor", "lead")
LEASE_S = 12 * 3600  # leases outlive the module's run (the database checks them by now())
SHARED_DAY = date(2024, 5, 6)
UNTOUCHED = {"alembic_version", "applied_mutation", "change_counter", "service_session"}
"""Tables an attack may change by design: a refused push is recorded as refused (and takes a
change version), and signing in starts a session. Everything else must stay as it was."""
DEVICE_COLUMNS = "client_id, reviewer_id, registered_at, revoked_at, revoked_by"
"""A device's last_seen_at moves whenever it checks in; the rest must not change."""


@dataclass
class Person:
    key: str
    name: str
    role: str
    client_id: str
    token: str = ""

    @property
    def id(self) -> uuid.UUID:
        return demo_reviewer_id(self.name)


@dataclass
class World:
    """What the attacks aim at, built once (see `world_template`)."""

    people: dict[str, Person]
    template: str
    tables: list[str]
    ids: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)  # table: its first column
    clock_start: datetime = field(default_factory=lambda: datetime.now(UTC))
    leases: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Backend:
    """One test's copy of the world, with its service."""

    world: World
    url: URL
    clock: ManualClock
    base_url: str = ""
    http: httpx.Client | None = None

    def __getitem__(self, key: str) -> Person:
        return self.world.people[key]

    @property
    def ids(self) -> dict[str, Any]:
        return self.world.ids

    # -- as the owner ------------------------------------------------------------------

    @contextlib.contextmanager
    def owner(self) -> Iterator[Connection]:
        engine = create_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as connection:
                yield connection
                connection.rollback()
        finally:
            engine.dispose()

    def snapshot(self) -> dict[str, tuple[int, str]]:
        """Every table's row count and a digest of its rows, as the owner sees them."""
        state = {}
        with self.owner() as connection:
            for table in self.world.tables:
                if table in UNTOUCHED:
                    continue
                rows = f"row({DEVICE_COLUMNS})" if table == "device" else "t.*"
                state[table] = tuple(connection.execute(text(
                    f"SELECT count(*), md5(coalesce(string_agg(x, E'\\n' ORDER BY x), '')) "
                    f'FROM (SELECT ({rows})::text AS x FROM "{table}" t) s')).one())
        return state

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.owner() as connection:
            return connection.execute(text(sql), params).scalar()

    # -- as a person's login role ------------------------------------------------------

    @contextlib.contextmanager
    def psql(self, key: str) -> Iterator[Connection]:
        """A plain SQL prompt as this person's own login role."""
        engine = create_engine(login_url(self.url, self[key].name), poolclass=NullPool)
        try:
            with engine.connect() as connection:
                yield connection
                connection.rollback()
        finally:
            engine.dispose()

    # -- through the service -----------------------------------------------------------

    def call(self, key: str | None, method: str, path: str, *, body: Any = None,
             client_id: str | None = None, token: str | None = None,
             headers: dict[str, str] | None = None, content: bytes | None = None,
             params: dict[str, Any] | None = None) -> httpx.Response:
        """A hand-made request with ``key``'s stolen token (and workstation id)."""
        assert self.http is not None
        sent = {}
        if key is not None:
            person = self[key]
            sent = {"Authorization": f"Bearer {token or person.token}",
                    "X-Client-Id": client_id or person.client_id}
        if body is not None:
            content = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        return self.http.request(method, path, content=content, headers=sent, params=params)

    def push(self, key: str, *mutations: dict[str, Any],
             client_id: str | None = None) -> list[dict[str, Any]]:
        response = self.call(key, "POST", "/v1/push", body={"mutations": list(mutations)},
                             client_id=client_id)
        assert response.status_code == 200, response.text
        return response.json()["results"]


_SEQ = itertools.count(1)
"""Sequence numbers, fresh for every mutation (a workstation numbers its changes 1, 2, ...;
the tests only need them to be new)."""


def mutation(backend: Backend, key: str, kind: str, payload: dict[str, Any], *,
             client_id: str | None = None, seq: int | None = None) -> dict[str, Any]:
    return {"mutation_id": str(uuid.uuid4()), "client_id": client_id or backend[key].client_id,
            "seq": next(_SEQ) if seq is None else seq, "kind": kind, "payload": payload}


# -- the world ------------------------------------------------------------------------------

def _owner_database(url: URL) -> Database:
    return Database.open(url, migrate=False)


def _decision_payload(case_id: Any, reviewer_id: Any, *, policy: str, action: str,
                      token: int | None, **extra: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "case_id": str(case_id), "reviewer_id": str(reviewer_id),
            "policy_code": policy, "action": action, "rationale": RATIONALE,
            "created_at": datetime.now(UTC).isoformat(), "policy_version": "1",
            "fencing_token": token, "supersedes_id": None, **extra}


def _policy_for(surface: str, action: str) -> str:
    from reviewer.policy.taxonomy import load_taxonomy

    taxonomy = load_taxonomy()
    return next(p.code for p in taxonomy.policies_for_surface(surface)
                if action in {a.value for a in p.actions})


def _build(backend: Backend, server: PostgresServer) -> None:
    world = backend.world
    with running_service(backend.url, backend.clock) as base, \
            httpx.Client(base_url=base, timeout=60) as http:
        backend.base_url, backend.http = base, http
        for person in world.people.values():
            response = http.post("/v1/sessions", json={
                "username": person.name, "password": LOGIN_PASSWORD,
                "client_id": person.client_id})
            assert response.status_code == 200, response.text
            person.token = response.json()["token"]
            assert backend.call(person.key, "POST", "/v1/check-in", body={}).status_code == 200

        def lease(key: str, name: str) -> dict[str, Any]:
            response = backend.call(key, "POST", "/v1/leases/next", body={"duration_s": LEASE_S})
            assert response.status_code == 200, response.text
            world.leases[name] = response.json()["lease"]
            return world.leases[name]

        def surface(case_id: Any) -> str:
            return backend.scalar("SELECT surface FROM review_case WHERE id = :id",
                                  id=uuid.UUID(str(case_id)))

        def decide(key: str, held: dict[str, Any], action: str) -> str:
            payload = _decision_payload(
                held["case_id"], backend[key].id, action=action,
                policy=_policy_for(surface(held["case_id"]), action),
                token=held["fencing_token"])
            [result] = backend.push(key, mutation(backend, key, "decision", payload))
            assert result["outcome"] == "applied", result
            return payload["id"]

        # The reviewer's severe decision (waiting for a second review) and a live lease.
        severe = lease("reviewer", "reviewer_decided")
        world.ids["severe_decision"] = decide("reviewer", severe, "disable_account")
        world.ids["severe_case"] = severe["case_id"]
        lease("reviewer", "reviewer")
        # The colleague's decision, and a live lease of theirs.
        decided = lease("colleague", "colleague_decided")
        world.ids["colleague_decision"] = decide("colleague", decided, "no_violation")
        world.ids["colleague_decided_case"] = decided["case_id"]
        lease("colleague", "colleague")
        outsider_severe = lease("outsider", "outsider_decided")
        world.ids["outsider_severe_decision"] = decide("outsider", outsider_severe,
                                                       "disable_account")
        lease("outsider", "outsider")
        # Both reviewers share a day's wellness figures (two sharers: the lead sees none).
        for key in ("reviewer", "colleague"):
            [result] = backend.push(key, mutation(backend, key, "wellness_summary", {
                "reviewer_id": str(backend[key].id), "day": SHARED_DAY.isoformat(),
                "exposure_s": 1800.0, "graphic_queue_s": 3600.0, "breaks_taken": 2,
                "updated_at": datetime.now(UTC).isoformat()}))
            assert result["outcome"] == "applied", result
        # The auditor draws a sample of the team's decisions.
        response = backend.call("auditor", "POST", "/v1/qa/samples", body={
            "since": "2000-01-01T00:00:00+00:00", "rate": 1.0, "seed": 7})
        assert response.status_code == 200 and response.json()["stored"] > 0, response.text

    with backend.owner() as connection:
        def one(sql: str, **params: Any) -> Any:
            value = connection.execute(text(sql), params).scalar()
            assert value is not None, sql
            return value

        teams = "SELECT q.id FROM queue q WHERE q.team_code = :team"
        world.ids.update(
            graphic_queue=one(teams + " ORDER BY q.name LIMIT 1", team=GRAPHIC),
            ads_queue=one(teams + " ORDER BY q.name LIMIT 1", team=ADS),
            free_case=one("SELECT c.id FROM review_case c JOIN queue q ON q.id = c.queue_id "
                          "WHERE q.team_code = :team AND c.status = 'new' "
                          "ORDER BY c.external_ref LIMIT 1", team=GRAPHIC),
            ads_free_case=one("SELECT c.id FROM review_case c JOIN queue q ON q.id = c.queue_id "
                              "WHERE q.team_code = :team AND c.status = 'new' "
                              "ORDER BY c.external_ref LIMIT 1", team=ADS),
            ads_decision=one("SELECT d.id FROM decision d JOIN review_case c ON c.id = d.case_id "
                             "JOIN queue q ON q.id = c.queue_id WHERE q.team_code = :team "
                             "ORDER BY d.id LIMIT 1", team=ADS),
            sample=one("SELECT id FROM qa_sample WHERE auditor_id = :a AND status = 'pending' "
                       "AND decision_id IS NOT NULL ORDER BY id LIMIT 1",
                       a=backend["auditor"].id),
        )
        world.ids["sample_case"] = one("SELECT case_id FROM qa_sample WHERE id = :s",
                                       s=world.ids["sample"])
        world.ids["sample_decision"] = one("SELECT decision_id FROM qa_sample WHERE id = :s",
                                           s=world.ids["sample"])
        world.ids["ads_decision_case"] = one("SELECT case_id FROM decision WHERE id = :d",
                                             d=world.ids["ads_decision"])
        world.tables = sorted(connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
        world.columns = dict(connection.execute(text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND ordinal_position = 1")).all())
        # A golden answer on one of the team's cases (hidden from reviewers).
        world.ids["golden_case"] = world.ids["free_case"]
        connection.execute(text(
            "INSERT INTO qa_golden (case_id, policy_code, action, auditor_id, marked_at, note, "
            "change_version) VALUES (:c, 'VGC-1', 'remove', :a, now(), '', "
            "rw_next_change_version())"), {"c": world.ids["golden_case"],
                                           "a": backend["auditor"].id})
        assert connection.execute(text(
            "SELECT requires_second_review FROM decision WHERE id = :d"),
            {"d": world.ids["severe_decision"]}).scalar_one() is True
        connection.commit()
    server.terminate_connections(str(backend.url.database))


@pytest.fixture(scope="module")
def world_template(postgres_server: PostgresServer) -> Iterator[World]:
    suffix = uuid.uuid4().hex[:8]
    name = f"reviewer_attacks_{suffix}"
    url = postgres_server.create_database(name, template=TEMPLATE)
    # Leases are checked against the database's clock too, so the service's starts at now.
    clock = ManualClock(datetime.now(UTC))
    people = {key: Person(key, f"{key}_{suffix}", role, f"ws-{key}-{suffix}")
              for key, (role, _) in PEOPLE.items()}
    try:
        seed_backend(url, clock, cases=100)
        for key, (role, teams) in PEOPLE.items():
            create_login(url, people[key].name, role=role, teams=teams)
        world = World(people, name, [])
        _build(Backend(world, url, clock), postgres_server)
        world.clock_start = clock.now()
        yield world
    finally:
        postgres_server.drop_database(name)
        drop_logins(postgres_server.admin_url, [p.name for p in people.values()])


@pytest.fixture
def backend(world_template: World, postgres_server: PostgresServer) -> Iterator[Backend]:
    """This test's own copy of the world (no service)."""
    name = f"reviewer_attack_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create_database(name, template=world_template.template)
    try:
        yield Backend(world_template, url, ManualClock(world_template.clock_start))
    finally:
        postgres_server.drop_database(name)


@pytest.fixture
def service(backend: Backend) -> Iterator[Backend]:
    """The copy with its own backend service, and an HTTP client for it."""
    with running_service(backend.url, backend.clock) as base, \
            httpx.Client(base_url=base, timeout=120) as http:
        backend.base_url, backend.http = base, http
        yield backend
        backend.http = None


# == 1. a psql prompt as one's own login role ===============================================

def params(backend: Backend, key: str) -> dict[str, Any]:
    """What a SQL attack by ``key`` names: themselves, their colleagues and their targets."""
    ids = {name: uuid.UUID(str(value)) for name, value in backend.ids.items()}
    leases = backend.world.leases
    return {
        **ids,
        "me": backend[key].id,
        "my_name": backend[key].name,
        **{person: backend[person].id for person in ATTACKERS},
        "colleague_name": backend["colleague"].name,
        "my_case": uuid.UUID(leases["reviewer"]["case_id"]),
        "my_token": leases["reviewer"]["fencing_token"],
        "colleague_case": uuid.UUID(leases["colleague"]["case_id"]),
        "colleague_token": leases["colleague"]["fencing_token"],
    }


def denied(backend: Backend, key: str, sql: str) -> None:
    """The statement is refused for lack of privilege (SQLSTATE 42501)."""
    values = params(backend, key)
    with backend.psql(key) as connection, pytest.raises(DBAPIError) as refused:
        statement = text(sql)
        connection.execute(statement, {k: v for k, v in values.items()
                                       if f":{k}" in sql})
    assert refused.value.orig is not None
    assert refused.value.orig.sqlstate == "42501", str(refused.value.orig)


@dataclass(frozen=True)
class SqlAttack:
    who: tuple[str, ...]
    sql: str


_SECOND_REVIEW = ("INSERT INTO second_review (id, decision_id, case_id, reviewer_id, verdict, "
                  "note, created_at, change_version) VALUES (gen_random_uuid(), "
                  ":severe_decision, :severe_case, :me, 'approved', '', now(), 1)")
_DECISION = ("INSERT INTO decision (id, case_id, reviewer_id, policy_code, action, rationale, "
             "created_at, policy_version, fencing_token, supersedes_id, conflict, "
             "requires_second_review, change_version) VALUES (gen_random_uuid(), {case}, :me, "
             "'VGC-1', '{action}', 'x', now(), '1', {token}, {supersedes}, false, false, 1)")
_LEASE_EVENT = ("INSERT INTO lease_event (id, case_id, reviewer_id, actor_id, kind, "
                "fencing_token, reason, at, change_version) VALUES (gen_random_uuid(), "
                ":free_case, {who}, {who}, 'leased', 1, '', now(), 1)")
_ALL = ATTACKERS
_TEAM = ("reviewer", "colleague", "lead")

SQL_ATTACKS = {
    # the four-eyes bypass
    "second_review approving one's own disable_account decision":
        SqlAttack(("reviewer",), _SECOND_REVIEW),
    "second_review approving a colleague's disable_account decision":
        SqlAttack(("colleague", "lead", "auditor"), _SECOND_REVIEW),
    "second_review approving another team's decision":
        SqlAttack(("outsider",), _SECOND_REVIEW),
    "decision disable_account with requires_second_review = false":
        SqlAttack(_TEAM, _DECISION.format(case=":my_case", action="disable_account",
                                          token=":my_token", supersedes="NULL")),
    "decision superseding a colleague's decision":
        SqlAttack(("reviewer", "lead"), _DECISION.format(
            case=":colleague_decided_case", action="remove", token="1",
            supersedes=":colleague_decision")),
    # forged history and state
    "UPDATE review_case re-leasing a colleague's decided case":
        SqlAttack(_TEAM, "UPDATE review_case SET status = 'leased', lease_holder_id = :me, "
                         "lease_expires_at = now() + interval '1 hour', "
                         "fencing_token = fencing_token + 1 WHERE id = :colleague_decided_case"),
    "UPDATE review_case taking a colleague's live lease":
        SqlAttack(_TEAM, "UPDATE review_case SET lease_holder_id = :me, "
                         "fencing_token = fencing_token + 1 WHERE id = :colleague_case"),
    "lease_event forged in one's own name":
        SqlAttack(_ALL, _LEASE_EVENT.format(who=":me")),
    "lease_event forged in a colleague's name":
        SqlAttack(_TEAM, _LEASE_EVENT.format(who=":colleague")),
    "status set to closed with no decision":
        SqlAttack(_TEAM, "UPDATE review_case SET status = 'closed' WHERE id = :free_case"),
    "status set to escalated with no decision":
        SqlAttack(_TEAM, "UPDATE review_case SET status = 'escalated' WHERE id = :free_case"),
    "lease_expires_at = 2099 on one's own lease":
        SqlAttack(("reviewer",), "UPDATE review_case SET lease_expires_at = '2099-01-01' "
                                 "WHERE id = :my_case"),
    "change_version = 0 hides a change from every replica":
        SqlAttack(_TEAM, "UPDATE review_case SET change_version = 0 WHERE id = :free_case"),
    "queue_id moved to another team's queue":
        SqlAttack(_TEAM, "UPDATE review_case SET queue_id = :ads_queue WHERE id = :free_case"),
    "fencing_token = 9223372036854775807 breaks everyone's get next":
        SqlAttack(_TEAM, "UPDATE review_case SET fencing_token = 9223372036854775807 "
                         "WHERE id = :free_case"),
    "decision deleted":
        SqlAttack(_TEAM, "DELETE FROM decision WHERE id = :severe_decision"),
    # the auditor
    "qa_sample for another team's case (makes it visible)":
        SqlAttack(("auditor", "lead"),
                  "INSERT INTO qa_sample (id, case_id, decision_id, reviewer_id, auditor_id, "
                  "method, drawn_by, drawn_at, status, change_version) VALUES "
                  "(gen_random_uuid(), :ads_decision_case, :ads_decision, NULL, :me, "
                  "'random', :me, now(), 'pending', 1)"),
    "qa_review naming any decision (reveals it)":
        SqlAttack(("auditor",),
                  "INSERT INTO qa_review (id, sample_id, case_id, auditor_id, decision_id, "
                  "policy_code, action, rationale, submitted_at, feedback, change_version) "
                  "VALUES (gen_random_uuid(), :sample, :ads_decision_case, :me, :ads_decision, "
                  "'ADS-1', 'remove', '', now(), '', 1)"),
    "qa_golden on another team's case":
        SqlAttack(("auditor", "lead"),
                  "INSERT INTO qa_golden (case_id, policy_code, action, auditor_id, marked_at, "
                  "note, change_version) VALUES (:ads_free_case, 'ADS-1', 'remove', :me, now(), "
                  "'', 1)"),
    "qa_sample marked reviewed without a review":
        SqlAttack(("auditor",), "UPDATE qa_sample SET status = 'reviewed' WHERE id = :sample"),
    # the writing functions are the service's alone
    "rw_next_change_version()":
        SqlAttack(_ALL, "SELECT rw_next_change_version()"),
    "rw_resolve_escalations(...)":
        SqlAttack(_ALL, "SELECT rw_resolve_escalations(ARRAY[gen_random_uuid()], "
                        "ARRAY[now()], ARRAY[1::bigint])"),
    "rw_score_golden(...)":
        SqlAttack(_ALL, "SELECT rw_score_golden(ARRAY[:colleague_decision], 1)"),
    "rw_reveal_original(...)":
        SqlAttack(_ALL, "SELECT rw_reveal_original(:sample, "
                        "(SELECT value FROM change_counter WHERE id = 1))"),
    "rw_sampling_frame(...) as a reviewer":
        SqlAttack(("reviewer", "outsider"),
                  "SELECT * FROM rw_sampling_frame('2000-01-01', NULL)"),
    # another identity, another role, the owner's powers
    "SET ROLE rw_admin": SqlAttack(_ALL, "SET ROLE rw_admin"),
    "SET ROLE to the tables' owner": SqlAttack(_ALL, "SET ROLE postgres"),
    "SET SESSION AUTHORIZATION to a colleague":
        SqlAttack(("reviewer",), 'SET SESSION AUTHORIZATION "{colleague_name}"'),
    "GRANT rw_admin to oneself": SqlAttack(_ALL, 'GRANT rw_admin TO "{my_name}"'),
    "ALTER ROLE oneself BYPASSRLS": SqlAttack(_ALL, 'ALTER ROLE "{my_name}" BYPASSRLS'),
    "ALTER TABLE ... DISABLE ROW LEVEL SECURITY":
        SqlAttack(_ALL, "ALTER TABLE review_case DISABLE ROW LEVEL SECURITY"),
    "DROP POLICY": SqlAttack(_ALL, "DROP POLICY rw_team_select ON review_case"),
    "CREATE OR REPLACE FUNCTION rw_me()":
        SqlAttack(_ALL, "CREATE OR REPLACE FUNCTION public.rw_me() RETURNS uuid "
                        "LANGUAGE sql AS $$ SELECT NULL::uuid $$"),
    "CREATE TABLE in the public schema":
        SqlAttack(_ALL, "CREATE TABLE public.shadow (id int)"),
    "UPDATE reviewer SET role = 'admin'":
        SqlAttack(_ALL, "UPDATE reviewer SET role = 'admin' WHERE id = :me"),
    "INSERT team_membership into another team":
        SqlAttack(_ALL, "INSERT INTO team_membership (reviewer_id, team_code, change_version) "
                        "VALUES (:me, 'ads-commerce', 1)"),
    "UPDATE device un-revoking a workstation":
        SqlAttack(_ALL, "UPDATE device SET revoked_at = NULL WHERE reviewer_id = :me"),
    "INSERT service_session minting a token":
        SqlAttack(_ALL, "INSERT INTO service_session (token_sha256, reviewer_id, client_id, "
                        "created_at, expires_at) VALUES (repeat('0', 64), :me, 'x', now(), "
                        "now() + interval '1 day')"),
    "SELECT service_session (token digests)":
        SqlAttack(_ALL, "SELECT token_sha256 FROM service_session"),
    "SELECT intake_token (partners' token digests)":
        SqlAttack(_ALL, "SELECT token_sha256 FROM intake_token"),
    "DELETE FROM audit_log": SqlAttack(_ALL, "DELETE FROM audit_log"),
    "pg_read_file('/etc/passwd')": SqlAttack(_ALL, "SELECT pg_read_file('/etc/passwd')"),
    "COPY ... TO PROGRAM": SqlAttack(_ALL, "COPY (SELECT 1) TO PROGRAM 'id'"),
    "lo_import a server file": SqlAttack(_ALL, "SELECT lo_import('/etc/passwd')"),
}


def _sql_cases() -> list[Any]:
    return [pytest.param(attack, who, id=f"{who}: {name}")
            for name, attack in SQL_ATTACKS.items() for who in attack.who]


@pytest.mark.parametrize(("attack", "who"), _sql_cases())
def test_psql_write_or_escalation_is_denied(backend: Backend, attack: SqlAttack, who: str):
    before = backend.snapshot()
    sql = attack.sql.replace("{my_name}", backend[who].name).replace(
        "{colleague_name}", backend["colleague"].name)
    denied(backend, who, sql)
    assert backend.snapshot() == before


@pytest.mark.parametrize("verb", ["INSERT", "UPDATE", "DELETE", "TRUNCATE"])
@pytest.mark.parametrize("who", ATTACKERS)
def test_psql_every_write_on_every_table_is_denied(backend: Backend, who: str, verb: str):
    before = backend.snapshot()
    statements = {
        "INSERT": 'INSERT INTO "{t}" DEFAULT VALUES',
        "UPDATE": 'UPDATE "{t}" SET "{c}" = "{c}"',
        "DELETE": 'DELETE FROM "{t}"',
        "TRUNCATE": 'TRUNCATE "{t}" CASCADE',
    }
    went_through = []
    with backend.psql(who) as connection:
        for table in backend.world.tables:
            sql = statements[verb].format(t=table, c=backend.world.columns[table])
            try:
                with connection.begin():
                    connection.execute(text(sql))
                    went_through.append(table)
            except DBAPIError as error:
                if getattr(error.orig, "sqlstate", None) != "42501":
                    went_through.append(f"{table} ({error.orig})")
    assert went_through == []
    assert len(backend.world.tables) > 25
    assert backend.snapshot() == before


@pytest.mark.parametrize("who", ATTACKERS)
def test_psql_acting_user_setting_does_not_impersonate(backend: Backend, who: str):
    """rw.acting_user counts only for the owner's (the service's) connections."""
    me = backend[who]
    with backend.psql(who) as connection:
        own_view = connection.execute(text("SELECT count(*) FROM decision")).scalar_one()
        connection.execute(text("SET rw.acting_user = 'admin'"))
        assert connection.execute(text("SELECT rw_me()")).scalar_one() == me.id
        assert connection.execute(text("SELECT rw_my_role()")).scalar_one() == me.role
        assert connection.execute(text("SELECT count(*) FROM decision")).scalar_one() == own_view
        assert connection.execute(text(
            "SELECT count(*) FROM decision WHERE id = :d"),
            {"d": uuid.UUID(str(backend.ids["outsider_severe_decision"]))}).scalar_one() == (
            1 if who == "outsider" else 0)
        connection.execute(text("SELECT set_config('rw.acting_user', :n, false)"),
                           {"n": backend["colleague" if who != "colleague" else "reviewer"].name})
        assert connection.execute(text("SELECT rw_me()")).scalar_one() == me.id
        assert connection.execute(text(
            "SELECT count(*) FROM wellness_summary WHERE reviewer_id <> :me"),
            {"me": me.id}).scalar_one() == 0
    # what the admin (or the colleague) would have seen
    assert backend.scalar("SELECT count(*) FROM decision") > own_view
    assert backend.scalar("SELECT count(*) FROM wellness_summary WHERE reviewer_id <> :me",
                          me=me.id) > 0


HIDDEN_READS = {
    "a lead reads another person's wellness_summary rows":
        ("lead", "SELECT count(*) FROM wellness_summary WHERE reviewer_id <> :me"),
    "a reviewer reads a colleague's wellness_summary rows":
        ("reviewer", "SELECT count(*) FROM wellness_summary WHERE reviewer_id <> :me"),
    "an auditor reads the team's wellness_summary rows":
        ("auditor", "SELECT count(*) FROM wellness_summary WHERE reviewer_id <> :me"),
    "a reviewer reads another team's cases":
        ("outsider", "SELECT count(*) FROM review_case c JOIN queue q ON q.id = c.queue_id "
                     "WHERE q.team_code = 'graphic-content'"),
    "a reviewer reads a colleague's ordinary decision":
        ("reviewer", "SELECT count(*) FROM decision WHERE id = :colleague_decision"),
    "a reviewer reads another team's decisions":
        ("reviewer", "SELECT count(*) FROM decision WHERE case_id = :ads_decision_case"),
    "a reviewer reads golden answers":
        ("reviewer", "SELECT count(*) FROM qa_golden"),
    "an auditor reads the sampled decision before the blind review":
        ("auditor", "SELECT count(*) FROM decision WHERE id = :sample_decision"),
    "an auditor reads another team's cases":
        ("auditor", "SELECT count(*) FROM review_case WHERE id = :ads_free_case"),
    "a lead reads another team's decisions":
        ("lead", "SELECT count(*) FROM decision WHERE case_id = :ads_decision_case"),
    "a reviewer reads a colleague's devices":
        ("reviewer", "SELECT count(*) FROM device WHERE reviewer_id <> :me"),
    "a reviewer reads others' applied mutations":
        ("reviewer", "SELECT count(*) FROM applied_mutation m JOIN device d "
                     "ON d.client_id = m.client_id WHERE d.reviewer_id IS DISTINCT FROM :me"),
}


@pytest.mark.parametrize(("who", "sql"), list(HIDDEN_READS.values()), ids=list(HIDDEN_READS))
def test_psql_hidden_rows_read_as_nothing(backend: Backend, who: str, sql: str):
    values = {k: v for k, v in params(backend, who).items() if f":{k}" in sql}
    with backend.psql(who) as connection:
        assert connection.execute(text(sql), values).scalar_one() == 0
    # ...where the owner sees them (so the probe can fail).
    with backend.owner() as connection:
        assert connection.execute(text(sql), values).scalar_one() > 0


# == 2. a stolen session token and hand-made requests to the service ======================

def refused(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """A 4xx JSON error with a reason: never a 500, never a traceback."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    if statuses:
        assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"]
    assert isinstance(body.get("message"), str) and body["message"].strip()
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body


def rejected(results: list[dict[str, Any]], count: int = 1) -> list[str]:
    """Every mutation came back rejected, each with its reason."""
    assert len(results) == count, results
    for result in results:
        assert result["outcome"] == "rejected", result
        assert isinstance(result["reason"], str) and result["reason"].strip(), result
        assert "Traceback" not in result["reason"]
    return [result["reason"] for result in results]


def surface_of(backend: Backend, case_id: Any) -> str:
    return backend.scalar("SELECT surface FROM review_case WHERE id = :id",
                          id=uuid.UUID(str(case_id)))


def decision(backend: Backend, case_id: Any, reviewer: str, *, action: str = "no_violation",
             token: int | None = None, **extra: Any) -> dict[str, Any]:
    return _decision_payload(case_id, backend[reviewer].id, token=token, action=action,
                             policy=_policy_for(surface_of(backend, case_id), action), **extra)


def now_text() -> str:
    return datetime.now(UTC).isoformat()


def lease_of(backend: Backend, name: str, **changes: Any) -> dict[str, Any]:
    return {**backend.world.leases[name], **changes}


def audit_entry(backend: Backend, key: str, **changes: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "origin": backend[key].client_id, "seq": next(_SEQ),
            "at": now_text(), "actor_id": str(backend[key].id), "kind": "decision",
            "subject": "case:x", "details": {"note": "forged"}, "prev_hash": "0" * 64,
            "hash": "1" * 64, **changes}


def _severe_review(who: str, *, as_person: str | None = None,
                   decision_key: str = "severe_decision") -> Callable[[Backend], Any]:
    def attack(b: Backend) -> Any:
        return who, [mutation(b, who, "second_review", {
            "id": str(uuid.uuid4()), "decision_id": b.ids[decision_key],
            "reviewer_id": str(b[as_person or who].id), "verdict": "approved",
            "note": "looks fine", "created_at": now_text()})]
    return attack


def _decide(who: str, case: str, *, as_person: str | None = None, token: Any = None,
            outcome: str = "no_violation", client: str | None = None,
            **extra: Any) -> Callable[[Backend], Any]:
    def attack(b: Backend) -> Any:
        case_id = (b.world.leases[case.removeprefix("lease:")]["case_id"]
                   if case.startswith("lease:") else b.ids[case])
        value = token(b) if callable(token) else token
        payload = decision(b, case_id, as_person or who, action=outcome, token=value)
        payload.update({k: _plain(v(b) if callable(v) else v) for k, v in extra.items()})
        return who, [mutation(b, who, "decision", payload,
                              client_id=b[client].client_id if client else None)]
    return attack


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


def _token_of(name: str, delta: int = 0) -> Callable[[Backend], int]:
    return lambda b: b.world.leases[name]["fencing_token"] + delta


def _kind(who: str, kind: str, payload: Callable[[Backend], dict[str, Any]], *,
          client: Callable[[Backend], str] | None = None) -> Callable[[Backend], Any]:
    def attack(b: Backend) -> Any:
        return who, [mutation(b, who, kind, payload(b),
                              client_id=client(b) if client else None)]
    return attack


def _escalation(b: Backend, case: str, person: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "case_id": str(b.ids[case]),
            "reviewer_id": str(b[person].id), "to_team": "legal", "urgency": "high",
            "reason": "forged", "created_at": now_text()}


def _note(b: Backend, case: str, person: str, body: str = "forged note") -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "case_id": str(b.ids[case]),
            "author_id": str(b[person].id), "body": body, "created_at": now_text()}


def _response(b: Backend, case: str, person: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "case_id": str(b.ids[case]),
            "author_id": str(b[person].id), "channel": "email", "template_id": "t1",
            "body": "Your report was reviewed.", "created_at": now_text()}


def _wellness(person: str, **changes: Any) -> Callable[[Backend], dict[str, Any]]:
    def payload(b: Backend) -> dict[str, Any]:
        return {"reviewer_id": str(b[person].id), "day": SHARED_DAY.isoformat(),
                "exposure_s": 60.0, "graphic_queue_s": 60.0, "breaks_taken": 1,
                "updated_at": now_text(), **changes}
    return payload


def _samples(drawer: str, *, case: str, decision_key: str | None, auditor: str
             ) -> Callable[[Backend], dict[str, Any]]:
    def payload(b: Backend) -> dict[str, Any]:
        return {"drawn_by": str(b[drawer].id), "samples": [{
            "id": str(uuid.uuid4()), "case_id": str(b.ids[case]),
            "decision_id": str(b.ids[decision_key]) if decision_key else None,
            "auditor_id": str(b[auditor].id), "method": "random", "rate": 1.0, "seed": 1,
            "draw": 0.5, "drawn_at": now_text()}]}
    return payload


def _qa_review(person: str, *, as_person: str | None = None
               ) -> Callable[[Backend], dict[str, Any]]:
    def payload(b: Backend) -> dict[str, Any]:
        return {"id": str(uuid.uuid4()), "sample_id": str(b.ids["sample"]),
                "auditor_id": str(b[as_person or person].id), "policy_code": "VGC-1",
                "action": "remove", "rationale": "blind", "submitted_at": now_text()}
    return payload


def _audit(who: str, **changes: Any) -> Callable[[Backend], Any]:
    def attack(b: Backend) -> Any:
        values = {k: (v(b) if callable(v) else v) for k, v in changes.items()}
        return who, [mutation(b, who, "audit", {"audit": [audit_entry(b, who, **values)]})]
    return attack


def _with_payload(who: str, kind: str, payload: Any) -> Callable[[Backend], Any]:
    def attack(b: Backend) -> Any:
        return who, [mutation(b, who, kind, payload(b) if callable(payload) else payload)]
    return attack


def _nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = {"a": value}
    return value


_BIG = "x" * (10 * 1024 * 1024)
_LONE_SURROGATE = "\ud800"

PUSH_ATTACKS: dict[str, Callable[[Backend], Any]] = {
    # the four-eyes rule
    "second_review approving one's own severe decision": _severe_review("reviewer"),
    "second_review by a plain colleague": _severe_review("colleague"),
    "second_review by a reviewer of another team": _severe_review("outsider"),
    "second_review by the auditor": _severe_review("auditor"),
    "second_review in the lead's name": _severe_review("reviewer", as_person="lead"),
    "second_review in the lead's name, by a colleague": _severe_review("colleague",
                                                                       as_person="lead"),
    "second_review of another team's severe decision, by the lead": _severe_review(
        "lead", decision_key="outsider_severe_decision"),
    "second_review rejecting one's own severe decision": lambda b: (
        lambda who_mutations: (who_mutations[0], [
            {**who_mutations[1][0], "payload": {**who_mutations[1][0]["payload"],
                                               "verdict": "rejected"}}]))(
        _severe_review("reviewer")(b)),
    "second_review with a verdict that is neither": lambda b: (
        lambda who_mutations: (who_mutations[0], [
            {**who_mutations[1][0], "payload": {**who_mutations[1][0]["payload"],
                                               "verdict": "approved; DROP TABLE decision"}}]))(
        _severe_review("lead")(b)),
    # decisions in someone else's name, on someone else's case
    "decision with a colleague's reviewer_id":
        _decide("reviewer", "free_case", as_person="colleague"),
    "decision with the lead's reviewer_id": _decide("reviewer", "free_case", as_person="lead"),
    "decision by the lead in a reviewer's name":
        _decide("lead", "free_case", as_person="reviewer"),
    "decision by the auditor in a reviewer's name":
        _decide("auditor", "free_case", as_person="reviewer"),
    "correction of a colleague's decision by a plain reviewer":
        _decide("reviewer", "colleague_decided_case",
                supersedes_id=lambda b: b.ids["colleague_decision"]),
    "correction of a colleague's decision by another team's reviewer":
        _decide("outsider", "colleague_decided_case",
                supersedes_id=lambda b: b.ids["colleague_decision"]),
    "correction of a colleague's decision by the auditor":
        _decide("auditor", "colleague_decided_case",
                supersedes_id=lambda b: b.ids["colleague_decision"]),
    "correction of another team's decision, by the lead":
        _decide("lead", "ads_decision_case", supersedes_id=lambda b: b.ids["ads_decision"]),
    "correction naming a decision of another case":
        _decide("reviewer", "lease:reviewer", token=_token_of("reviewer"),
                supersedes_id=lambda b: b.ids["colleague_decision"]),
    "decision on a colleague's decided case, no lease":
        _decide("reviewer", "colleague_decided_case"),
    "decision on a case a colleague holds a live lease on":
        _decide("reviewer", "lease:colleague"),
    "decision on a colleague's live lease with their fencing token":
        _decide("reviewer", "lease:colleague", token=_token_of("colleague")),
    "decision on a colleague's live lease with a future fencing token":
        _decide("reviewer", "lease:colleague", token=_token_of("colleague", 1)),
    "decision on another team's case": _decide("reviewer", "ads_free_case"),
    "decision on another team's case by its non-member lead": _decide("lead", "ads_free_case"),
    "decision on another team's case by the auditor": _decide("auditor", "ads_free_case"),
    "decision on the other team's case by the outsider's colleague-free team":
        _decide("outsider", "free_case"),
    "decision with fencing_token 2**63": _decide("reviewer", "lease:reviewer", token=2**63),
    "decision with fencing_token 10**30": _decide("reviewer", "lease:reviewer", token=10**30),
    "decision with a negative fencing_token": _decide("reviewer", "lease:reviewer", token=-1),
    "decision with a text fencing_token": _decide("reviewer", "lease:reviewer", token="7"),
    "decision with a policy that does not apply": _decide(
        "reviewer", "lease:reviewer", token=_token_of("reviewer"), policy_code="ADS-1"),
    "decision with an unknown action": _decide(
        "reviewer", "lease:reviewer", token=_token_of("reviewer"), action="delete_everything"),
    "decision dated in the year 9999": _decide(
        "reviewer", "lease:reviewer", token=_token_of("reviewer"),
        created_at="9999-01-01T00:00:00+00:00"),
    "decision with a NUL character in its rationale": _decide(
        "reviewer", "lease:reviewer", token=_token_of("reviewer"), rationale="ok\x00drop"),
    "decision with a lone surrogate in its rationale": _decide(
        "reviewer", "lease:reviewer", token=_token_of("reviewer"),
        rationale="ok" + _LONE_SURROGATE),
    "decision with a 10 MB rationale": _decide(
        "reviewer", "lease:reviewer", token=_token_of("reviewer"), rationale=_BIG),
    "decision with a number for its case id": _decide(
        "reviewer", "lease:reviewer", token=_token_of("reviewer"), case_id=12345),
    "decision with a list for its policy": _decide(
        "reviewer", "lease:reviewer", token=_token_of("reviewer"), policy_code=["VGC-1"]),
    "decision with a number for its time": _decide(
        "reviewer", "lease:reviewer", token=_token_of("reviewer"), created_at=1700000000),
    "decision reusing an existing decision's id": _decide(
        "reviewer", "lease:reviewer", token=_token_of("reviewer"),
        id=lambda b: b.ids["colleague_decision"]),
    "decision from a colleague's workstation (client_id)": _decide(
        "reviewer", "lease:reviewer", token=_token_of("reviewer"), client="colleague"),
    "decision from another team's workstation (client_id)": _decide(
        "reviewer", "lease:reviewer", token=_token_of("reviewer"), client="outsider"),
    # an auditor audits: no case work of their own (their role could never write it)
    "decision by the auditor, in their own name": _decide("auditor", "free_case"),
    "escalation by the auditor": _kind(
        "auditor", "escalation", lambda b: _escalation(b, "free_case", "auditor")),
    "note by the auditor": _kind("auditor", "note", lambda b: _note(b, "free_case", "auditor")),
    "response by the auditor": _kind(
        "auditor", "response", lambda b: _response(b, "free_case", "auditor")),
    # escalations, notes, responses in another person's name
    "escalation in a colleague's name": _kind(
        "reviewer", "escalation", lambda b: _escalation(b, "free_case", "colleague")),
    "escalation of another team's case": _kind(
        "reviewer", "escalation", lambda b: _escalation(b, "ads_free_case", "reviewer")),
    "escalation to an unknown team": _kind(
        "reviewer", "escalation",
        lambda b: {**_escalation(b, "free_case", "reviewer"), "to_team": "nobody"}),
    "note in a colleague's name": _kind(
        "reviewer", "note", lambda b: _note(b, "free_case", "colleague")),
    "note in the lead's name, by the auditor": _kind(
        "auditor", "note", lambda b: _note(b, "free_case", "lead")),
    "note on another team's case": _kind(
        "outsider", "note", lambda b: _note(b, "free_case", "outsider")),
    "note with a NUL character": _kind(
        "reviewer", "note", lambda b: _note(b, "free_case", "reviewer", "a\x00b")),
    "note of 10 MB": _kind("reviewer", "note", lambda b: _note(b, "free_case", "reviewer", _BIG)),
    "response in a colleague's name": _kind(
        "reviewer", "response", lambda b: _response(b, "free_case", "colleague")),
    "response on another team's case": _kind(
        "outsider", "response", lambda b: _response(b, "free_case", "outsider")),
    # the audit log
    "audit entry with another actor_id": _audit("reviewer", actor_id=lambda b: str(b["lead"].id)),
    "audit entry by the lead in a reviewer's name":
        _audit("lead", actor_id=lambda b: str(b["reviewer"].id)),
    "audit entry in a colleague workstation's chain":
        _audit("reviewer", origin=lambda b: b["colleague"].client_id),
    "audit entry in the backend's own chain": _audit("lead", origin="backend"),
    "audit entry with a NUL character in its details":
        _audit("reviewer", details={"note": "a\x00b"}),
    "audit entry with a NUL character in its kind": _audit("reviewer", kind="dec\x00ision"),
    "audit entry with a lone surrogate in its subject":
        _audit("reviewer", subject="case:" + _LONE_SURROGATE),
    "audit entry with seq 10**30": _audit("reviewer", seq=10**30),
    "audit entry with no time zone": _audit("reviewer", at="2024-01-01T00:00:00"),
    "audit entry nested 500 deep": _audit("reviewer", details=_nested(500)),
    "audit entries that are not a list": _with_payload("reviewer", "audit", {"audit": "abc"}),
    "audit entries that are an object": _with_payload("reviewer", "audit", {"audit": {"a": 1}}),
    "audit entries that are numbers": _with_payload("reviewer", "audit", {"audit": [1, 2]}),
    # workstations
    "a note from a colleague's workstation": _kind(
        "reviewer", "note", lambda b: _note(b, "free_case", "reviewer"),
        client=lambda b: b["colleague"].client_id),
    "a note from a workstation nobody registered": _kind(
        "reviewer", "note", lambda b: _note(b, "free_case", "reviewer"),
        client=lambda b: "ws-nobody"),
    "a change whose client_id holds a NUL character": _kind(
        "reviewer", "note", lambda b: _note(b, "free_case", "reviewer"),
        client=lambda b: "ws\x00x"),
    "a change whose client_id is a lone surrogate": _kind(
        "reviewer", "note", lambda b: _note(b, "free_case", "reviewer"),
        client=lambda b: "ws" + _LONE_SURROGATE),
    "an unknown kind of change": _with_payload("reviewer", "drop_tables", {}),
    "a kind of change with a NUL character": _with_payload("reviewer", "no\x00te", {}),
    "a kind of change that is a lone surrogate": _with_payload("reviewer", _LONE_SURROGATE, {}),
    "a decision with an empty payload": _with_payload("reviewer", "decision", {}),
    "a decision payload nested 500 deep": _with_payload("reviewer", "decision",
                                                        {"case_id": _nested(500)}),
    # quality audit
    "qa_samples for another team's case by the auditor": _kind(
        "auditor", "qa_samples",
        _samples("auditor", case="ads_decision_case", decision_key="ads_decision",
                 auditor="auditor")),
    "qa_samples for another auditor by an auditor": _kind(
        "auditor", "qa_samples",
        _samples("auditor", case="colleague_decided_case", decision_key="colleague_decision",
                 auditor="lead")),
    "qa_samples by a plain reviewer": _kind(
        "reviewer", "qa_samples",
        _samples("reviewer", case="colleague_decided_case", decision_key="colleague_decision",
                 auditor="reviewer")),
    "qa_samples drawn in the auditor's name by a reviewer": _kind(
        "reviewer", "qa_samples",
        _samples("auditor", case="colleague_decided_case", decision_key="colleague_decision",
                 auditor="auditor")),
    "qa_samples of a decision on another case": _kind(
        "auditor", "qa_samples",
        _samples("auditor", case="free_case", decision_key="colleague_decision",
                 auditor="auditor")),
    "qa_samples by the lead for another team's case": _kind(
        "lead", "qa_samples",
        _samples("lead", case="ads_decision_case", decision_key="ads_decision",
                 auditor="auditor")),
    "qa_samples auditing a reviewer's own decision, for them": _kind(
        "lead", "qa_samples",
        _samples("lead", case="colleague_decided_case", decision_key="colleague_decision",
                 auditor="colleague")),
    "qa_review by the lead, not the sample's auditor": _kind(
        "lead", "qa_review", _qa_review("lead")),
    "qa_review by a reviewer": _kind("reviewer", "qa_review", _qa_review("reviewer")),
    "qa_review by the lead in the auditor's name": _kind(
        "lead", "qa_review", _qa_review("lead", as_person="auditor")),
    "qa_review by a reviewer in the auditor's name": _kind(
        "colleague", "qa_review", _qa_review("colleague", as_person="auditor")),
    "qa_verdict on a review that does not exist": _kind(
        "auditor", "qa_verdict", lambda b: {
            "review_id": str(uuid.uuid4()), "auditor_id": str(b["auditor"].id),
            "agrees": True, "reason_category": None, "feedback": "", "verdict_at": now_text()}),
    # wellness
    "wellness_summary for a colleague": _kind("reviewer", "wellness_summary",
                                              _wellness("colleague")),
    "wellness_summary for a reviewer, by the lead": _kind("lead", "wellness_summary",
                                                          _wellness("reviewer")),
    "wellness_summary of 10**12 seconds": _kind(
        "reviewer", "wellness_summary", _wellness("reviewer", exposure_s=1e12)),
    "wellness_summary of negative seconds": _kind(
        "reviewer", "wellness_summary", _wellness("reviewer", graphic_queue_s=-5.0)),
    "wellness_summary of 10**400 seconds": _kind(
        "reviewer", "wellness_summary", _wellness("reviewer", exposure_s=10**400)),
    "wellness_summary with a million breaks": _kind(
        "reviewer", "wellness_summary", _wellness("reviewer", breaks_taken=10**6)),
    "wellness_summary with text figures": _kind(
        "reviewer", "wellness_summary", _wellness("reviewer", exposure_s="a lot")),
    "wellness_summary for no real day": _kind(
        "reviewer", "wellness_summary", _wellness("reviewer", day="2024-13-45")),
    "wellness_summary for a day of 10 MB": _kind(
        "reviewer", "wellness_summary", _wellness("reviewer", day=_BIG)),
}


def _victim(who: str) -> str:
    return "colleague" if who != "colleague" else "reviewer"


for _who in ATTACKERS:  # the same forgeries with each role's stolen token
    PUSH_ATTACKS.update({
        f"{_who}: a note in someone else's name": _kind(
            _who, "note", lambda b, w=_who: _note(b, "free_case", _victim(w))),
        f"{_who}: an audit entry naming someone else": _audit(
            _who, actor_id=lambda b, w=_who: str(b[_victim(w)].id)),
        f"{_who}: wellness figures for someone else": _kind(
            _who, "wellness_summary", lambda b, w=_who: _wellness(_victim(w))(b)),
        f"{_who}: a change from someone else's workstation": _kind(
            _who, "wellness_summary", lambda b, w=_who: _wellness(w)(b),
            client=lambda b, w=_who: b[_victim(w)].client_id),
        f"{_who}: a second review of a decision in someone else's name": _severe_review(
            _who, as_person="lead" if _who != "lead" else "colleague"),
    })


@pytest.mark.parametrize("attack", list(PUSH_ATTACKS.values()), ids=list(PUSH_ATTACKS))
def test_forged_push_is_rejected(service: Backend, attack: Callable[[Backend], Any]):
    before = service.snapshot()
    who, mutations = attack(service)
    response = service.call(who, "POST", "/v1/push", body={"mutations": mutations})
    if response.status_code == 200:
        rejected(response.json()["results"], len(mutations))
    else:
        refused(response, 400, 413, 422)
    assert service.snapshot() == before


def _lease_call(who: str, path: str, body: Callable[[Backend], Any]
                ) -> Callable[[Backend], tuple[str, str, Any]]:
    return lambda b: (who, path, body(b))


SERVICE_CALL_ATTACKS: dict[str, Callable[[Backend], tuple[str, str, Any]]] = {
    # someone else's lease
    "renew a colleague's lease": _lease_call(
        "reviewer", "/v1/leases/renew",
        lambda b: {"lease": lease_of(b, "colleague"), "duration_s": 600}),
    "renew a colleague's lease, forged in one's own name": _lease_call(
        "reviewer", "/v1/leases/renew",
        lambda b: {"lease": lease_of(b, "colleague", reviewer_id=str(b["reviewer"].id)),
                   "duration_s": 600}),
    "release a colleague's lease": _lease_call(
        "reviewer", "/v1/leases/release",
        lambda b: {"lease": lease_of(b, "colleague"), "reason": "mine now"}),
    "release a colleague's lease, forged in one's own name": _lease_call(
        "reviewer", "/v1/leases/release",
        lambda b: {"lease": lease_of(b, "colleague", reviewer_id=str(b["reviewer"].id)),
                   "reason": "mine now"}),
    "release a colleague's lease, by the lead through release": _lease_call(
        "lead", "/v1/leases/release",
        lambda b: {"lease": lease_of(b, "colleague"), "reason": "skip"}),
    "renew one's own lease with a stale fencing token": _lease_call(
        "reviewer", "/v1/leases/renew",
        lambda b: {"lease": lease_of(b, "reviewer",
                                     fencing_token=_token_of("reviewer", -1)(b)),
                   "duration_s": 600}),
    "renew one's own lease with fencing token 2**70": _lease_call(
        "reviewer", "/v1/leases/renew",
        lambda b: {"lease": lease_of(b, "reviewer", fencing_token=2**70), "duration_s": 600}),
    "renew one's own lease for 10**12 seconds": _lease_call(
        "reviewer", "/v1/leases/renew",
        lambda b: {"lease": lease_of(b, "reviewer"), "duration_s": 10**12}),
    "renew a lease whose case id is not an id": _lease_call(
        "reviewer", "/v1/leases/renew",
        lambda b: {"lease": lease_of(b, "reviewer", case_id="' OR 1=1 --"),
                   "duration_s": 600}),
    "renew a lease with no reviewer": _lease_call(
        "reviewer", "/v1/leases/renew",
        lambda b: {"lease": {k: v for k, v in lease_of(b, "reviewer").items()
                             if k != "reviewer_id"}, "duration_s": 600}),
    "renew a lease that is a list": _lease_call(
        "reviewer", "/v1/leases/renew", lambda b: {"lease": [1, 2], "duration_s": 600}),
    "release one's own lease with a reason that is not text": _lease_call(
        "reviewer", "/v1/leases/release",
        lambda b: {"lease": lease_of(b, "reviewer"), "reason": {"a": 1}}),
    # reassigning
    "reassign by a plain reviewer": _lease_call(
        "reviewer", "/v1/leases/reassign",
        lambda b: {"case_id": b.world.leases["colleague"]["case_id"],
                   "to_reviewer_id": str(b["reviewer"].id), "reason": "mine",
                   "duration_s": 600}),
    "release a colleague's lease through reassign, by a plain reviewer": _lease_call(
        "reviewer", "/v1/leases/reassign",
        lambda b: {"case_id": b.world.leases["colleague"]["case_id"],
                   "to_reviewer_id": None, "reason": "free it", "duration_s": 600}),
    "reassign by the auditor": _lease_call(
        "auditor", "/v1/leases/reassign",
        lambda b: {"case_id": b.world.leases["colleague"]["case_id"],
                   "to_reviewer_id": str(b["auditor"].id), "reason": "x", "duration_s": 600}),
    "reassign another team's case, by the lead": _lease_call(
        "lead", "/v1/leases/reassign",
        lambda b: {"case_id": b.world.leases["outsider"]["case_id"],
                   "to_reviewer_id": str(b["reviewer"].id), "reason": "x", "duration_s": 600}),
    "reassign a case to a reviewer of another team, by the lead": _lease_call(
        "lead", "/v1/leases/reassign",
        lambda b: {"case_id": b.world.leases["colleague"]["case_id"],
                   "to_reviewer_id": str(b["outsider"].id), "reason": "x", "duration_s": 600}),
    "reassign a case to the auditor, by the lead": _lease_call(
        "lead", "/v1/leases/reassign",
        lambda b: {"case_id": b.world.leases["colleague"]["case_id"],
                   "to_reviewer_id": str(b["auditor"].id), "reason": "x", "duration_s": 600}),
    "reassign a case to someone who does not exist, by the lead": _lease_call(
        "lead", "/v1/leases/reassign",
        lambda b: {"case_id": b.world.leases["colleague"]["case_id"],
                   "to_reviewer_id": str(uuid.uuid4()), "reason": "x", "duration_s": 600}),
    # taking cases
    "open a case a colleague holds": _lease_call(
        "reviewer", "/v1/leases/case",
        lambda b: {"case_id": b.world.leases["colleague"]["case_id"], "duration_s": 600}),
    "open another team's case": _lease_call(
        "reviewer", "/v1/leases/case",
        lambda b: {"case_id": str(b.ids["ads_free_case"]), "duration_s": 600}),
    "open another team's case, by the lead": _lease_call(
        "lead", "/v1/leases/case",
        lambda b: {"case_id": str(b.ids["ads_free_case"]), "duration_s": 600}),
    "open a case, by the auditor": _lease_call(
        "auditor", "/v1/leases/case",
        lambda b: {"case_id": str(b.ids["free_case"]), "duration_s": 600}),
    "open a colleague's decided case": _lease_call(
        "reviewer", "/v1/leases/case",
        lambda b: {"case_id": str(b.ids["colleague_decided_case"]), "duration_s": 600}),
    "get next, by the auditor": _lease_call(
        "auditor", "/v1/leases/next", lambda b: {"duration_s": 600}),
    "get next for 10**12 seconds": _lease_call(
        "reviewer", "/v1/leases/next", lambda b: {"duration_s": 10**12}),
    "get next for no time": _lease_call("reviewer", "/v1/leases/next",
                                        lambda b: {"duration_s": 0}),
    "get next for negative time": _lease_call("reviewer", "/v1/leases/next",
                                              lambda b: {"duration_s": -60}),
    "get next for NaN seconds": _lease_call("reviewer", "/v1/leases/next",
                                            lambda b: {"duration_s": float("nan")}),
    "get next for a text duration": _lease_call("reviewer", "/v1/leases/next",
                                                lambda b: {"duration_s": "600"}),
    "get next for true seconds": _lease_call("reviewer", "/v1/leases/next",
                                             lambda b: {"duration_s": True}),
    # offline kits
    "kit of another team's queue": _lease_call(
        "reviewer", "/v1/kits/lease",
        lambda b: {"queue_id": str(b.ids["ads_queue"]), "count": 5, "duration_s": 3600}),
    "kit of another team's queue, by the lead": _lease_call(
        "lead", "/v1/kits/lease",
        lambda b: {"queue_id": str(b.ids["ads_queue"]), "count": 5, "duration_s": 3600}),
    "kit, by the auditor": _lease_call(
        "auditor", "/v1/kits/lease",
        lambda b: {"queue_id": str(b.ids["graphic_queue"]), "count": 5, "duration_s": 3600}),
    "kit of a billion cases": _lease_call(
        "reviewer", "/v1/kits/lease",
        lambda b: {"queue_id": str(b.ids["graphic_queue"]), "count": 10**9,
                   "duration_s": 3600}),
    "kit of minus five cases": _lease_call(
        "reviewer", "/v1/kits/lease",
        lambda b: {"queue_id": str(b.ids["graphic_queue"]), "count": -5, "duration_s": 3600}),
    "kit estimate of minus five cases": _lease_call(
        "reviewer", "/v1/kits/estimate",
        lambda b: {"queue_id": str(b.ids["graphic_queue"]), "count": -5}),
    "kit estimate of another team's queue, by the lead": _lease_call(
        "lead", "/v1/kits/estimate",
        lambda b: {"queue_id": str(b.ids["ads_queue"]), "count": 5}),
    "kit for a year": _lease_call(
        "reviewer", "/v1/kits/lease",
        lambda b: {"queue_id": str(b.ids["graphic_queue"]), "count": 1,
                   "duration_s": 365 * 24 * 3600}),
    # audit samples
    "draw a sample, by a plain reviewer": _lease_call(
        "reviewer", "/v1/qa/samples",
        lambda b: {"since": "2000-01-01T00:00:00+00:00", "rate": 1.0, "seed": 1}),
    "draw a sample at rate 5": _lease_call(
        "auditor", "/v1/qa/samples",
        lambda b: {"since": "2000-01-01T00:00:00+00:00", "rate": 5, "seed": 1}),
    "draw a sample at rate 10**400": _lease_call(
        "auditor", "/v1/qa/samples",
        lambda b: {"since": "2000-01-01T00:00:00+00:00", "rate": 10**400, "seed": 1}),
    "draw a sample with seed 2**64": _lease_call(
        "auditor", "/v1/qa/samples",
        lambda b: {"since": "2000-01-01T00:00:00+00:00", "rate": 1.0, "seed": 2**64}),
    "draw a sample since a time with no zone": _lease_call(
        "auditor", "/v1/qa/samples",
        lambda b: {"since": "2000-01-01T00:00:00", "rate": 1.0, "seed": 1}),
    "draw a sample since no time at all": _lease_call(
        "auditor", "/v1/qa/samples",
        lambda b: {"since": "yesterday", "rate": 1.0, "seed": 1}),
}


@pytest.mark.parametrize("attack", list(SERVICE_CALL_ATTACKS.values()),
                         ids=list(SERVICE_CALL_ATTACKS))
def test_forged_service_call_is_refused(service: Backend,
                                        attack: Callable[[Backend], tuple[str, str, Any]]):
    before = service.snapshot()
    who, path, body = attack(service)
    refused(service.call(who, "POST", path, body=body), 400, 403, 409, 422)
    assert service.snapshot() == before


def _raw(path: str, content: bytes, content_type: str | None = "application/json",
         **headers: str) -> Callable[[Backend], httpx.Response]:
    def attack(b: Backend) -> httpx.Response:
        sent = dict(headers)
        if content_type is not None:
            sent["Content-Type"] = content_type
        return b.call("reviewer", "POST", path, content=content, headers=sent)
    return attack


def _socket_request(b: Backend, who: str, path: str, body: bytes, *, declared: int
                    ) -> httpx.Response:
    """A request whose Content-Length lies (httpx would not send it)."""
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(b.base_url)
    person = b[who]
    head = (f"POST {path} HTTP/1.1\r\nHost: {address.hostname}\r\n"
            f"Authorization: Bearer {person.token}\r\nX-Client-Id: {person.client_id}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {declared}\r\n"
            "Connection: close\r\n\r\n").encode()
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(head + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    headers_blob, _, content = rest.partition(b"\r\n\r\n")
    headers = [tuple(line.decode().split(": ", 1)) for line in headers_blob.split(b"\r\n")]
    return httpx.Response(int(status_line.split()[1]), headers=headers, content=content)


def _push_body(body: Callable[[Backend], Any]) -> Callable[[Backend], httpx.Response]:
    return lambda b: b.call("reviewer", "POST", "/v1/push", body=body(b))


def _one(b: Backend, **changes: Any) -> dict[str, Any]:
    return {**mutation(b, "reviewer", "note", _note(b, "free_case", "reviewer")), **changes}


def _get(path: str, who: str = "reviewer", **query: Any) -> Callable[[Backend], httpx.Response]:
    return lambda b: b.call(who, "GET", path, params=query)


MALFORMED_REQUESTS: dict[str, Callable[[Backend], httpx.Response]] = {
    "a push body that is not JSON": _raw("/v1/push", b"mutations=all"),
    "a push body of invalid UTF-8": _raw("/v1/push", b'{"mutations": ["\xff\xfe"]}'),
    "a push sent as form data": _raw("/v1/push", b"a=1",
                                     "application/x-www-form-urlencoded"),
    "a push with no content type": _raw("/v1/push", b'{"mutations": []}', None),
    "a push claiming 100 MB": lambda b: _socket_request(
        b, "reviewer", "/v1/push", b'{"mutations": []}', declared=100 * 1024 * 1024),
    "a push nested 100,000 deep": _raw("/v1/push", b"[" * 100_000 + b"]" * 100_000),
    "a push payload nested 990 deep": lambda b: b.call(
        "reviewer", "POST", "/v1/push", headers={"Content-Type": "application/json"},
        content=json.dumps({"mutations": [_one(b, payload="HOLE")]}).encode().replace(
            b'"HOLE"', b'{"a": ' * 990 + b'"x"' + b"}" * 990)),
    "a push of JSON null": _raw("/v1/push", b"null"),
    "a push holding NaN": lambda b: b.call(
        "reviewer", "POST", "/v1/push", headers={"Content-Type": "application/json"},
        content=json.dumps({"mutations": [_one(b, payload="HOLE")]}).encode().replace(
            b'"HOLE"', b'{"audit": [{"details": {"x": NaN}}]}')),
    "a push holding 1e400": lambda b: b.call(
        "reviewer", "POST", "/v1/push", headers={"Content-Type": "application/json"},
        content=json.dumps({"mutations": [_one(b, payload="HOLE")]}).encode().replace(
            b'"HOLE"', b'{"exposure_s": 1e400}')),
    "a push that is a JSON list": _raw("/v1/push", b"[]"),
    "an empty push body": _raw("/v1/push", b""),
    "mutations that are an object": _push_body(lambda b: {"mutations": {"a": 1}}),
    "a mutation that is a string": _push_body(lambda b: {"mutations": ["decision"]}),
    "a mutation with a text seq": _push_body(lambda b: {"mutations": [_one(b, seq="7")]}),
    "a mutation with a negative seq": _push_body(lambda b: {"mutations": [_one(b, seq=-1)]}),
    "a mutation with seq 2**63": _push_body(lambda b: {"mutations": [_one(b, seq=2**63)]}),
    "a mutation with a 1,000-character client_id": _push_body(
        lambda b: {"mutations": [_one(b, client_id="w" * 1000)]}),
    "a mutation whose id is not an id": _push_body(
        lambda b: {"mutations": [_one(b, mutation_id="1; DROP TABLE decision")]}),
    "a mutation whose payload is a list": _push_body(
        lambda b: {"mutations": [_one(b, payload=[1, 2, 3])]}),
    "a mutation with no kind": _push_body(lambda b: {"mutations": [_one(b, kind=None)]}),
    "5,000 mutations in one push": _push_body(
        lambda b: {"mutations": [_one(b) for _ in range(5_000)]}),
    "pull after a cursor of 10**30": _get("/v1/changes", after=10**30, upto=10**30 + 1),
    "pull with a negative cursor": _get("/v1/changes", after=-5, upto=10),
    "pull a million versions at once": _get("/v1/changes", after=0, upto=10**6),
    "pull with a text cursor": _get("/v1/changes", after="zero", upto=10),
    "team wellness, by a plain reviewer": _get("/v1/wellness/team",
                                               day=SHARED_DAY.isoformat()),
    "team wellness, by the auditor": _get("/v1/wellness/team", who="auditor",
                                          day=SHARED_DAY.isoformat()),
    "team wellness for no real day": _get("/v1/wellness/team", who="lead", day="2024-02-30"),
}


@pytest.mark.parametrize("attack", list(MALFORMED_REQUESTS.values()),
                         ids=list(MALFORMED_REQUESTS))
def test_malformed_request_is_refused(service: Backend,
                                      attack: Callable[[Backend], httpx.Response]):
    before = service.snapshot()
    refused(attack(service))
    assert service.snapshot() == before


# -- sessions: stolen, forged, ended ----------------------------------------------------------

@pytest.mark.parametrize("who", ATTACKERS)
def test_a_token_on_another_workstation_is_refused(service: Backend, who: str):
    before = service.snapshot()
    other = "colleague" if who != "colleague" else "reviewer"
    response = service.call(who, "POST", "/v1/push", client_id=service[other].client_id,
                            body={"mutations": [_one(service)]})
    assert "another workstation" in refused(response, 401)["message"]
    assert service.snapshot() == before


FORGED_CREDENTIALS = {
    "no Authorization header": {"X-Client-Id": "{client}"},
    "an empty bearer token": {"Authorization": "Bearer", "X-Client-Id": "{client}"},
    "a made-up token": {"Authorization": "Bearer rvs_madeup", "X-Client-Id": "{client}"},
    "a 10,000-character token": {"Authorization": "Bearer " + "a" * 10_000,
                                 "X-Client-Id": "{client}"},
    "the token as Basic credentials": {"Authorization": "Basic {token}",
                                       "X-Client-Id": "{client}"},
    "no X-Client-Id": {"Authorization": "Bearer {token}"},
    "an SQL X-Client-Id": {"Authorization": "Bearer {token}", "X-Client-Id": "' OR 1=1 --"},
}


@pytest.mark.parametrize("headers", list(FORGED_CREDENTIALS.values()),
                         ids=list(FORGED_CREDENTIALS))
def test_forged_credentials_are_refused(service: Backend, headers: dict[str, str]):
    before = service.snapshot()
    person = service["reviewer"]
    sent = {k: v.replace("{token}", person.token).replace("{client}", person.client_id)
            for k, v in headers.items()}
    assert service.http is not None
    response = service.http.post("/v1/push", headers={**sent, "Content-Type": "application/json"},
                                 content=json.dumps({"mutations": [_one(service)]}).encode())
    refused(response, 401)
    assert service.snapshot() == before


def _sign_in(b: Backend, username: str, password: str, client_id: str) -> httpx.Response:
    assert b.http is not None
    return b.http.post("/v1/sessions", headers={"Content-Type": "application/json"},
                       content=json.dumps({"username": username, "password": password,
                                           "client_id": client_id}).encode())


def test_a_wrong_password_reads_like_an_unknown_user(service: Backend):
    person = service["reviewer"]
    wrong = refused(_sign_in(service, person.name, "not the passphrase", "ws-x"), 401)
    unknown = refused(_sign_in(service, "nobody_at_all", LOGIN_PASSWORD, "ws-x"), 401)
    assert wrong == unknown
    for username, password in [
        (person.name, ""), (person.name, "p" * 5000), ("' OR 1=1 --", LOGIN_PASSWORD),
        ("amara", LOGIN_PASSWORD),  # a reviewer of the demo without a login role
        ("rw_admin", LOGIN_PASSWORD), ("postgres", "anything"),
    ]:
        assert refused(_sign_in(service, username, password, "ws-x"), 401) == unknown, username
    ok = _sign_in(service, person.name, LOGIN_PASSWORD, "ws-x")
    assert ok.status_code == 200  # the right password does sign in (so the above can fail)


@pytest.mark.parametrize(("username", "password", "client_id"), [
    ("{me}", LOGIN_PASSWORD, "ws\x00nul"),
    ("{me}", LOGIN_PASSWORD, "ws\ud800"),
    ("{me}", LOGIN_PASSWORD, "w" * 1000),
    ("{me}", LOGIN_PASSWORD, ""),
    ("{me}", "pass\x00word", "ws-x"),
    ("{me}", "pass\ud800word", "ws-x"),
    ("{me}\x00", LOGIN_PASSWORD, "ws-x"),
    ("{me}\ud800", LOGIN_PASSWORD, "ws-x"),
], ids=["client id with NUL", "client id with a lone surrogate", "client id of 1,000",
        "empty client id", "password with NUL", "password with a lone surrogate",
        "user name with NUL", "user name with a lone surrogate"])
def test_a_malformed_sign_in_is_refused(service: Backend, username: str, password: str,
                                        client_id: str):
    before = service.snapshot()
    refused(_sign_in(service, username.replace("{me}", service["reviewer"].name), password,
                     client_id), 400, 401)
    assert service.snapshot() == before


def test_signing_in_on_a_colleagues_workstation_is_refused(service: Backend):
    response = _sign_in(service, service["reviewer"].name, LOGIN_PASSWORD,
                        service["colleague"].client_id)
    refused(response, 401)


def test_a_sign_in_body_of_10_mb_is_refused(service: Backend):
    assert service.http is not None
    response = service.http.post("/v1/sessions", headers={"Content-Type": "application/json"},
                                 content=json.dumps({"username": _BIG, "password": "x",
                                                     "client_id": "c"}).encode())
    refused(response, 413)


def test_a_signed_out_token_is_refused(service: Backend):
    response = service.call("leaver", "DELETE", "/v1/sessions")
    assert response.status_code == 200, response.text
    refused(service.call("leaver", "POST", "/v1/push", body={"mutations": []}), 401)


def _restore_login(b: Backend, name: str) -> None:
    engine = create_engine(b.url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f'ALTER ROLE "{name}" LOGIN')
    finally:
        engine.dispose()


def test_a_token_after_disable_user_is_refused(service: Backend, request):
    from reviewer.security.row_security import disable_user

    leaver = service["leaver"]
    assert service.call("leaver", "GET", "/v1/changes/version").status_code == 200
    engine = create_engine(service.url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            disable_user(connection, leaver.name, commit=connection.commit)
    finally:
        engine.dispose()
    request.addfinalizer(lambda: _restore_login(service, leaver.name))  # roles are server-wide
    before = service.snapshot()
    body = refused(service.call("leaver", "POST", "/v1/push", body={"mutations": [
        mutation(service, "leaver", "note", _note(service, "free_case", "leaver"))]}), 401)
    assert "sign in" in body["message"] or "disabled" in body["message"]
    refused(service.call("leaver", "GET", "/v1/changes", params={"after": 0, "upto": 10}), 401)
    refused(service.call("leaver", "POST", "/v1/leases/next", body={"duration_s": 60}), 401)
    refused(_sign_in(service, leaver.name, LOGIN_PASSWORD, leaver.client_id), 401)
    assert service.snapshot() == before


def test_a_token_after_revoke_device_is_refused(service: Backend):
    from reviewer.security.devices import revoke_device

    traveller = service["traveller"]
    assert service.call("traveller", "GET", "/v1/changes/version").status_code == 200
    database = _owner_database(service.url)
    try:
        with database.writing() as session:
            revoke_device(session, traveller.client_id, "admin", service.clock.now())
    finally:
        database.dispose()
    before = service.snapshot()
    response = service.call("traveller", "POST", "/v1/push", body={"mutations": [
        mutation(service, "traveller", "note", _note(service, "free_case", "traveller"))]})
    refused(response, 403)
    assert response.headers.get("x-revoked-at")
    refused(service.call("traveller", "POST", "/v1/leases/next", body={"duration_s": 60}), 403)
    refused(_sign_in(service, traveller.name, LOGIN_PASSWORD, traveller.client_id), 403)
    # ...and the revoked device's id cannot be smuggled into a push from another one
    [result] = service.push("reviewer", mutation(
        service, "reviewer", "note", _note(service, "free_case", "reviewer"),
        client_id=traveller.client_id))
    assert result["outcome"] == "rejected"
    assert service.snapshot() == before


def test_an_expired_token_is_refused(service: Backend):
    assert service.call("reviewer", "GET", "/v1/changes/version").status_code == 200
    before = service.snapshot()
    service.clock.advance(timedelta(hours=1, minutes=1))
    body = refused(service.call("reviewer", "POST", "/v1/push", body={"mutations": [
        _one(service)]}), 401)
    assert "expired" in body["message"]
    assert service.snapshot() == before


# -- what the backend decides itself -----------------------------------------------------------

@pytest.mark.parametrize(("action", "claimed", "recorded"), [
    ("disable_account", False, True), ("no_violation", True, False)],
    ids=["disable_account claimed as needing no second review",
         "no_violation claimed as needing one"])
def test_whether_a_decision_needs_a_second_review_is_the_backends_word(
        service: Backend, action: str, claimed: bool, recorded: bool):
    held = service.world.leases["reviewer"]
    payload = decision(service, held["case_id"], "reviewer", action=action,
                       token=held["fencing_token"], requires_second_review=claimed)
    [result] = service.push("reviewer", mutation(service, "reviewer", "decision", payload))
    assert result["outcome"] == "applied", result
    assert service.scalar("SELECT requires_second_review FROM decision WHERE id = :d",
                          d=uuid.UUID(payload["id"])) is recorded


def test_a_colleagues_sequence_numbers_cannot_be_taken(service: Backend):
    """A rejected change in a colleague's workstation's name must not take the place (client
    id, seq) of their next real change: that would block their outbox for good."""
    seq = 10**9 + next(_SEQ)
    squat = mutation(service, "reviewer", "note", _note(service, "free_case", "reviewer"),
                     client_id=service["colleague"].client_id, seq=seq)
    rejected(service.push("reviewer", squat))
    real = mutation(service, "colleague", "note", _note(service, "free_case", "colleague"),
                    seq=seq)
    [result] = service.push("colleague", real)
    assert result["outcome"] == "applied", result


def test_a_reused_sequence_number_is_rejected_not_a_crash(service: Backend):
    seq = 2 * 10**9 + next(_SEQ)
    first = mutation(service, "reviewer", "note", _note(service, "free_case", "reviewer"),
                     seq=seq)
    assert service.push("reviewer", first)[0]["outcome"] == "applied"
    before = service.snapshot()
    again = mutation(service, "reviewer", "note", _note(service, "free_case", "reviewer", "2nd"),
                     seq=seq)
    rejected(service.push("reviewer", again))
    twice = [mutation(service, "reviewer", "note", _note(service, "free_case", "reviewer", t),
                      seq=seq + 1) for t in ("a", "b")]
    results = service.push("reviewer", *twice)
    assert [r["outcome"] for r in results] == ["applied", "rejected"], results
    assert service.scalar("SELECT count(*) FROM note WHERE body IN ('2nd', 'b')") == 0
    assert service.snapshot() != before  # the one "a" note


def _pull(b: Backend, who: str) -> dict[str, list[dict[str, Any]]]:
    version = b.call(who, "GET", "/v1/changes/version").json()["version"]
    response = b.call(who, "GET", "/v1/changes", params={"after": 0, "upto": version})
    assert response.status_code == 200, response.text
    return response.json()["rows"]


def test_a_pull_brings_nothing_row_security_hides(service: Backend):
    with service.owner() as connection:
        graphic_queues = {str(q) for q in connection.execute(text(
            "SELECT id FROM queue WHERE team_code = :t"), {"t": GRAPHIC}).scalars()}
    outsider = _pull(service, "outsider")
    cases = outsider["review_case"]
    assert cases  # the outsider sees their own team's cases...
    assert not {c["queue_id"] for c in cases} & graphic_queues  # ...and no other team's
    assert all(d["reviewer_id"] == str(service["outsider"].id) or d["requires_second_review"]
               for d in outsider["decision"])
    assert outsider["wellness_summary"] == []
    lead = _pull(service, "lead")
    assert lead["wellness_summary"] == []  # two people shared figures; the lead sees none
    assert service.ids["colleague_decision"] in {d["id"] for d in lead["decision"]}
    assert not {c["queue_id"] for c in lead["review_case"]} - graphic_queues - {
        c["queue_id"] for c in lead["review_case"] if c["status"] == "escalated"}
    auditor = _pull(service, "auditor")
    assert auditor["qa_sample"]
    assert str(service.ids["sample_decision"]) not in {d["id"] for d in auditor["decision"]}
    reviewer = _pull(service, "reviewer")
    assert service.ids["colleague_decision"] not in {d["id"] for d in reviewer["decision"]}
    assert service.ids["severe_decision"] in {d["id"] for d in reviewer["decision"]}
    assert reviewer["qa_golden"] == []
    assert [w["reviewer_id"] for w in reviewer["wellness_summary"]] == [
        str(service["reviewer"].id)]


def test_a_leads_get_next_stays_in_their_teams_queues(service: Backend):
    with service.owner() as connection:
        graphic_queues = set(connection.execute(text(
            "SELECT id FROM queue WHERE team_code = :t"), {"t": GRAPHIC}).scalars())
        open_elsewhere = connection.execute(text(
            "SELECT count(*) FROM review_case WHERE status = 'new' "
            "AND NOT (queue_id = ANY(:q))"), {"q": list(graphic_queues)}).scalar_one()
    assert open_elsewhere > 0  # other teams have open cases the lead could be handed
    taken = []
    for _ in range(15):
        response = service.call("lead", "POST", "/v1/leases/next", body={"duration_s": 600})
        assert response.status_code == 200, response.text
        if response.json()["lease"] is None:
            break
        taken.append(uuid.UUID(response.json()["lease"]["case_id"]))
    assert taken
    with service.owner() as connection:
        queues = set(connection.execute(text(
            "SELECT queue_id FROM review_case WHERE id = ANY(:ids)"), {"ids": taken}).scalars())
    assert queues <= graphic_queues


def test_a_lead_sees_no_figures_of_fewer_than_three_sharers(service: Backend):
    response = service.call("lead", "GET", "/v1/wellness/team",
                            params={"day": SHARED_DAY.isoformat()})
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["suppressed"] is True
    assert view["median_exposure_s"] is None and view["median_graphic_queue_s"] is None
    assert view["over_budget_count"] is None and view["warning_count"] is None


# -- probing for another team's ids --------------------------------------------------------

def _same_answer(first: str, second: str, *ids: Any) -> None:
    """Two refusals read alike once the ids they name are taken out."""
    def normalised(text_: str) -> str:
        for value in ids:
            text_ = text_.replace(str(value), "<id>")
        return text_
    assert normalised(first) == normalised(second)


PROBES: dict[str, Callable[[Backend, Any], dict[str, Any]]] = {
    "note": lambda b, case: {**_note(b, "free_case", "reviewer"), "case_id": str(case)},
    "escalation": lambda b, case: {**_escalation(b, "free_case", "reviewer"),
                                   "case_id": str(case)},
    "response": lambda b, case: {**_response(b, "free_case", "reviewer"),
                                 "case_id": str(case)},
    "decision": lambda b, case: {**decision(b, b.ids["free_case"], "reviewer"),
                                 "case_id": str(case)},
}


@pytest.mark.parametrize("kind", list(PROBES), ids=[f"{k} on another team's case reads as "
                                                    "on no case" for k in PROBES])
def test_another_teams_case_reads_like_no_case_in_a_push(service: Backend, kind: str):
    before = service.snapshot()
    theirs, nowhere = service.ids["ads_free_case"], uuid.uuid4()
    results = service.push("reviewer", *(mutation(service, "reviewer", kind,
                                                  PROBES[kind](service, case))
                                         for case in (theirs, nowhere)))
    first, second = rejected(results, 2)
    _same_answer(first, second, theirs, nowhere)
    assert service.snapshot() == before


@pytest.mark.parametrize("who", ["reviewer", "lead"])
def test_another_teams_severe_decision_reads_like_no_decision(service: Backend, who: str):
    """Whether another team's decision exists, or waits for a second review, is not told."""
    before = service.snapshot()
    theirs, nowhere = service.ids["outsider_severe_decision"], uuid.uuid4()
    pushes = [mutation(service, who, "second_review", {
        "id": str(uuid.uuid4()), "decision_id": str(d), "reviewer_id": str(service[who].id),
        "verdict": "approved", "note": "", "created_at": now_text()}) for d in (theirs, nowhere)]
    first, second = rejected(service.push(who, *pushes), 2)
    _same_answer(first, second, theirs, nowhere)
    assert service.snapshot() == before


@pytest.mark.parametrize("case", ["ads_free_case", "lease:outsider"],
                         ids=["an open case", "a case someone holds"])
def test_opening_another_teams_case_reads_like_no_case(service: Backend, case: str):
    before = service.snapshot()
    theirs = (service.world.leases["outsider"]["case_id"] if case.startswith("lease:")
              else str(service.ids[case]))
    answers = [refused(service.call("reviewer", "POST", "/v1/leases/case",
                                    body={"case_id": str(c), "duration_s": 600}), 409)
               for c in (theirs, uuid.uuid4())]
    _same_answer(answers[0]["message"], answers[1]["message"])
    assert service["outsider"].name not in answers[0]["message"]
    assert "Outsider" not in answers[0]["message"]
    assert service.snapshot() == before


@pytest.mark.parametrize("probe", ["case", "decision"],
                         ids=["qa_samples naming another team's case reads as no case",
                              "qa_samples naming another team's decision reads as none"])
def test_sampling_another_teams_ids_reads_like_no_ids(service: Backend, probe: str):
    before = service.snapshot()
    theirs = service.ids["ads_decision_case" if probe == "case" else "ads_decision"]
    nowhere = uuid.uuid4()
    pushes = []
    for value in (theirs, nowhere):
        payload = _samples("auditor", case="colleague_decided_case",
                           decision_key="colleague_decision", auditor="auditor")(service)
        row = payload["samples"][0]
        if probe == "case":
            row.update(case_id=str(value), decision_id=None)
        else:
            row["decision_id"] = str(value)
        pushes.append(mutation(service, "auditor", "qa_samples", payload))
    first, second = rejected(service.push("auditor", *pushes), 2)
    _same_answer(first, second, theirs, nowhere)
    assert service.snapshot() == before
