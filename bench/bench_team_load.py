"""Benchmark: a whole team on one backend, 200 workstations against one ``reviewer-server``
and one PostgreSQL with stock settings (issue 17).

Prints measured figures and ratios against a baseline measured in the same run; asserts
nothing and passes or fails nothing. Run with `.venv/bin/python bench/bench_team_load.py`
(200 workstations, 5 minutes of work in real time, about 9 minutes in all); `--small` for a
CI-sized run (10 workstations, 2 simulated minutes compressed into 20 s), or
`--workstations`, `--minutes`, `--speed`, `--processes`, `--cases`.

The PostgreSQL server is a throwaway one started like the integration tests'
(tests/helpers/postgres.py), durable (fsync and synchronous commit on) and with the stock
``max_connections = 100`` (the helper's 200 is put back to PostgreSQL's default), or the one
``REVIEWER_TEST_PG_URL`` names, as it is configured. The backend is set up through the real
code paths: ``init_backend`` (what ``reviewer-admin init-backend`` runs), the demo seeder
without media (its five teams and ten queues), and one real login role per person
(``reviewer.security.row_security.create_user``, what ``reviewer-admin create-user`` runs),
each person a reviewer in one team, the people spread over the teams in proportion to the
teams' open cases. ``reviewer-server`` runs as its own process (``python -m
reviewer.server.main``) on 127.0.0.1, connected as the backend's owner, with its defaults.

Each simulated workstation is the real client: the sync engine (`reviewer.sync.engine`)
over the service client (`reviewer.sync.service_client.ServiceLink`), signed in as its own
person with their password, and a replica of its own. The replica is a plain SQLite file
rather than the app's SQLCipher one (the replica is not what is measured; bench_sync and
bench_queue measure it), and each team's first pull is made once, through the service, by
the team's first member, then copied to the teammates' replicas, each of which then gets
its own client id and registers its own device at its first sync. The workstations run as
threads in a few worker processes (``--processes``), so that the clients' own Python does
not queue behind one interpreter lock. Each workstation, in simulated time (the injected
clock runs ``--speed`` times faster than the wall clock; 1 at full size):

- **get next**: ``POST /v1/leases/next`` (``lease_next``, timed on its own), then a pull so
  the replica holds the lease and its fencing token, as the window needs before it shows
  the case (timed together as *get next + pull*);
- **decide** after a think time drawn between 2 and 8 s: ``record_decision``, the window's
  path, one local transaction writing the decision, its audit entry and its outbox entry;
- **sync** every 60 s (``SyncEngine.sync_once``: check-in, push, lease expiry, pull), the
  first at a random moment of the first minute, so the fleet is not in lockstep.

A poller on its own connection reads ``pg_stat_activity`` every 100 ms for the most
connections open at once. At the end every workstation syncs once more, and the backend is
checked: every decision a workstation recorded must be there exactly once (one decision
row with its id, one ``applied`` mutation for its outbox entry, one decision on its case),
with none lost, duplicated, rejected or kept as a conflict, and none that nobody recorded.

Baseline: before the load, one workstation alone does the same work without think times
(get next + pull, decide, a sync after every 12 decisions, as many as a workstation makes
in a minute); the load's latencies are printed against it, and the sync p99 against the
500 ms target.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: tests.helpers is under the repository root

from reviewer.clock import ManualClock  # noqa: E402
from reviewer.demo.seed import QUEUES, seed_demo  # noqa: E402
from reviewer.enforcement.decisions import DecisionDraft, record_decision  # noqa: E402
from reviewer.policy.taxonomy import Taxonomy, load_taxonomy  # noqa: E402
from reviewer.security.row_security import create_user, init_backend  # noqa: E402
from reviewer.store.database import Database, make_engine  # noqa: E402
from reviewer.store.models import Case, OutboxEntry, Queue, SyncState  # noqa: E402
from reviewer.store.outbox import client_id as load_client_id  # noqa: E402
from reviewer.sync.engine import SyncEngine, SyncReport  # noqa: E402
from reviewer.sync.service_client import ServiceLink  # noqa: E402
from tests.helpers.pg_workstations import LOGIN_PASSWORD, drop_logins  # noqa: E402
from tests.helpers.postgres import PostgresServer, ThrowawayServer, open_server  # noqa: E402
from tests.helpers.service import ServiceProcess  # noqa: E402

RATIONALE = "Read in full: the content does not break this policy; no action is needed."
PREFIX = "bench_load_"
DATABASE = "bench_team_load"
LEASE = timedelta(minutes=15)  # the app's default (leases/minutes)
SYNC_EVERY = 60.0  # simulated seconds, the app's default (sync/interval_seconds)
THINK = (2.0, 8.0)  # simulated seconds between getting a case and deciding it
SYNC_TARGET_MS = 500.0
STOCK_MAX_CONNECTIONS = 100
SMALL = {"workstations": 10, "minutes": 2.0, "speed": 6.0, "cases": 3_000, "processes": 2}
FULL = {"workstations": 200, "minutes": 5.0, "speed": 1.0, "cases": 40_000, "processes": 4}
BASELINE_DECISIONS = 60
FINAL_ATTEMPTS = 5
DECISIONS_PER_SYNC = 12


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "n/a"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


class CompressedClock:
    """The injected clock, running ``speed`` times faster than the wall clock from a
    moment every process agrees on (``epoch_wall``, Unix seconds)."""

    def __init__(self, epoch_wall: float, epoch_sim: datetime, speed: float) -> None:
        self.epoch_wall, self.epoch_sim, self.speed = epoch_wall, epoch_sim, speed

    def now(self) -> datetime:
        return self.epoch_sim + timedelta(seconds=(time.time() - self.epoch_wall) * self.speed)

    def wall_at(self, sim_seconds: float) -> float:
        """The wall-clock moment (Unix seconds) of ``sim_seconds`` after the epoch."""
        return self.epoch_wall + sim_seconds / self.speed


# -- one simulated workstation -----------------------------------------------------------------


@dataclass
class Person:
    username: str
    team: str
    replica: str  # path of the replica file


@dataclass
class Figures:
    """What one workstation measured and did; plain data, sent back from a worker."""

    username: str
    client_id: str = ""
    lease_ms: list[float] = field(default_factory=list)
    get_next_ms: list[float] = field(default_factory=list)  # lease + pull
    sync_ms: list[float] = field(default_factory=list)
    decide_ms: list[float] = field(default_factory=list)
    decided_at: list[float] = field(default_factory=list)  # simulated seconds from the start
    no_case: int = 0
    errors: list[str] = field(default_factory=list)
    rejected: int = 0
    # (decision id, mutation id, case id, outbox state) for every decision recorded
    decisions: list[tuple[str, str, str, str]] = field(default_factory=list)


class SimulatedWorkstation:
    """The real client (sync engine over the service client, a replica of its own) for one
    person, driven by a schedule instead of a window."""

    def __init__(self, person: Person, base_url: str, clock: Any, taxonomy: Taxonomy) -> None:
        self.person = person
        self.clock = clock
        self.taxonomy = taxonomy
        self.replica = Database.open(f"sqlite:///{person.replica}", migrate=False)
        with self.replica.sessions() as session:
            self.client_id = load_client_id(session)
        self.link = ServiceLink(base_url, username=person.username, password=LOGIN_PASSWORD,
                                client_id=self.client_id)
        self.sync = SyncEngine(self.replica, self.link, self.client_id, clock,
                               username=person.username)
        self.figures = Figures(person.username, self.client_id)
        self._policies: dict[str, str] = {}
        self.reviewer_id: uuid.UUID | None = None

    def _error(self, what: str, error: BaseException) -> None:
        text_ = (str(error).splitlines() or [""])[0][:200]
        self.figures.errors.append(f"{what}: {type(error).__name__}: {text_}")

    def synchronise(self, timed: bool = True) -> None:
        started = time.perf_counter()
        try:
            report = self.sync.sync_once()
        except Exception as error:
            self._error("sync", error)
            return
        if timed:
            self.figures.sync_ms.append((time.perf_counter() - started) * 1000)
        self.figures.rejected += report.rejected

    def get_next(self) -> uuid.UUID | None:
        started = time.perf_counter()
        try:
            lease = self.link.lease_next(LEASE)
        except Exception as error:
            self._error("get next", error)
            return None
        leased = time.perf_counter()
        if lease is None:
            self.figures.no_case += 1
            return None
        try:
            self.sync.pull(SyncReport())
        except Exception as error:
            self._error("pull after get next", error)
            return None
        self.figures.lease_ms.append((leased - started) * 1000)
        self.figures.get_next_ms.append((time.perf_counter() - started) * 1000)
        self.reviewer_id = lease.reviewer_id
        return lease.case_id

    def decide(self, case_id: uuid.UUID, sim_seconds: float) -> None:
        assert self.reviewer_id is not None
        started = time.perf_counter()
        try:
            with self.replica.sessions() as session:
                surface = session.scalar(select(Case.surface).where(Case.id == case_id))
            if surface not in self._policies:
                self._policies[surface] = next(
                    p for p in self.taxonomy.policies_for_surface(surface)
                    if "no_violation" in p.actions).code
            record_decision(self.replica.sessions, self.taxonomy, reviewer_id=self.reviewer_id,
                            client_id=self.client_id, clock=self.clock,
                            draft=DecisionDraft(case_id, self._policies[surface],
                                                "no_violation", RATIONALE))
        except Exception as error:
            self._error("decide", error)
            return
        self.figures.decide_ms.append((time.perf_counter() - started) * 1000)
        self.figures.decided_at.append(sim_seconds)

    def finish(self) -> Figures:
        """A last sync (untimed) to push what is left, tried again as the app's backoff
        would while the service is unavailable, then the outbox's record of every
        decision, and sign out."""
        for attempt in range(FINAL_ATTEMPTS):
            errors = len(self.figures.errors)
            self.synchronise(timed=False)
            if len(self.figures.errors) == errors:
                break
            time.sleep(2 + attempt)
        with self.replica.sessions() as session:
            rows = session.execute(
                select(OutboxEntry.entity_id, OutboxEntry.mutation_id, OutboxEntry.payload,
                       OutboxEntry.state).where(OutboxEntry.kind == "decision")).all()
        self.figures.decisions = [(str(r.entity_id), str(r.mutation_id),
                                   str(r.payload["case_id"]), r.state) for r in rows]
        self.link.sign_out()
        self.link.dispose()
        self.replica.dispose()
        return self.figures


def run_workstation(person: Person, base_url: str, clock: CompressedClock, sim_end: float,
                    seed: int, taxonomy: Taxonomy, out: list[Figures]) -> None:
    rng = random.Random(seed)
    station = SimulatedWorkstation(person, base_url, clock, taxonomy)
    try:
        next_sync = rng.uniform(0, SYNC_EVERY)  # simulated seconds from the start

        def sim_now() -> float:
            return (clock.now() - clock.epoch_sim).total_seconds()

        def wait_until(sim_seconds: float) -> None:
            delay = clock.wall_at(sim_seconds) - time.time()
            if delay > 0:
                time.sleep(delay)

        while sim_now() < sim_end:
            case_id = station.get_next()
            think_until = sim_now() + rng.uniform(*THINK)
            while next_sync <= think_until and next_sync < sim_end:
                wait_until(next_sync)
                station.synchronise()
                next_sync += SYNC_EVERY
            wait_until(think_until)
            if case_id is not None and sim_now() < sim_end:
                station.decide(case_id, sim_now())
    except Exception as error:  # never lose a workstation's figures to one surprise
        station._error("workstation", error)
        station.figures.errors.append(traceback.format_exc(limit=3))
    out.append(station.finish())


def worker(people: list[Person], base_url: str, epoch_wall: float, epoch_sim: datetime,
           speed: float, sim_end: float, seed: int, results: Any) -> None:
    """One worker process: a thread per workstation; the figures go back on ``results``."""
    taxonomy = load_taxonomy()
    clock = CompressedClock(epoch_wall, epoch_sim, speed)
    out: list[Figures] = []
    threads = [threading.Thread(target=run_workstation,
                                args=(p, base_url, clock, sim_end, seed + i, taxonomy, out),
                                daemon=True)
               for i, p in enumerate(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(out)


# -- the backend -----------------------------------------------------------------------------


def stock_server() -> PostgresServer:
    """A server with PostgreSQL's stock connection limit (the test helper raises it)."""
    server = open_server(durable=True)
    if isinstance(server, ThrowawayServer):
        with open(server.data / "postgresql.conf", "a") as conf:  # the last setting wins
            conf.write(f"max_connections = {STOCK_MAX_CONNECTIONS}\n")
        server.stop()
        server.start()
    return server


class ConnectionPoller:
    """The most connections open at once on the server, read from ``pg_stat_activity``
    every ``every`` seconds on a connection of its own (not counted)."""

    def __init__(self, server: PostgresServer, every: float = 0.1) -> None:
        self.engine = create_engine(server.admin_url, isolation_level="AUTOCOMMIT",
                                    pool_size=1)
        self.every = every
        self.peak = self.peak_db = 0
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.engine.connect() as connection:
            while not self._stop.is_set():
                row = connection.execute(text(
                    "SELECT count(*) FILTER (WHERE backend_type = 'client backend'), "
                    "count(*) FILTER (WHERE datname = :db) FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid()"), {"db": DATABASE}).one()
                self.samples.append(int(row[0]))
                self.peak = max(self.peak, int(row[0]))
                self.peak_db = max(self.peak_db, int(row[1]))
                self._stop.wait(self.every)

    def __enter__(self) -> ConnectionPoller:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.engine.dispose()


def open_cases_by_team(backend: Database) -> dict[str, int]:
    with backend.sessions() as session:
        rows = session.execute(
            select(Queue.team_code, func.count()).join(Case, Case.queue_id == Queue.id)
            .where(Case.status == "new").group_by(Queue.team_code)).all()
    return {team: int(n) for team, n in rows}


def spread(people: int, weights: dict[str, int]) -> list[str]:
    """Each person's team, in proportion to ``weights`` (largest remainders)."""
    total = sum(weights.values())
    shares = {t: people * w / total for t, w in weights.items()}
    counts = {t: int(s) for t, s in shares.items()}
    for team in sorted(shares, key=lambda t: shares[t] - counts[t], reverse=True):
        if sum(counts.values()) >= people:
            break
        counts[team] += 1
    return [team for team in sorted(counts) for _ in range(counts[team])]


def make_logins(url: Any, names_teams: list[tuple[str, str]]) -> None:
    engine = make_engine(url)
    try:
        for name, team in names_teams:  # what `reviewer-admin create-user` runs, one each
            with engine.begin() as connection:
                create_user(connection, name, role="reviewer", teams=[team],
                            display_name=name.replace("_", " ").title(),
                            password=LOGIN_PASSWORD)
    finally:
        engine.dispose()


def copy_replica(source: Path, target: Path) -> None:
    """A teammate's replica: the team's first pull, with no client id of its own yet."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    with sqlite3.connect(target) as dst:
        dst.execute(f"DELETE FROM {SyncState.__tablename__} WHERE key IN "
                    "('client_id', 'last_sync')")
    # the outbox of the first member's check-in, if any, is theirs
    with sqlite3.connect(target) as dst:
        dst.execute(f"DELETE FROM {OutboxEntry.__tablename__}")


# -- checking the backend ------------------------------------------------------------------------


@dataclass
class Check:
    recorded: int = 0
    on_backend: int = 0
    lost: int = 0
    duplicated: int = 0
    unrecorded: int = 0
    conflicts: int = 0
    not_applied: int = 0
    pending: int = 0  # still in an outbox: the last sync failed; kept, sent later
    rejected: int = 0


def check_backend(backend: Database, figures: list[Figures]) -> Check:
    """Every decision a workstation recorded is on the backend exactly once."""
    recorded = {d[0]: d for f in figures for d in f.decisions}
    clients = [f.client_id for f in figures]
    check = Check(recorded=sum(len(f.decisions) for f in figures))
    check.pending = sum(1 for f in figures for d in f.decisions if d[3] == "pending")
    check.rejected = sum(1 for f in figures for d in f.decisions if d[3] == "rejected")
    with backend.sessions() as session:
        rows = session.execute(text(
            "SELECT d.id::text, d.case_id::text, d.conflict FROM decision d "
            "JOIN reviewer r ON r.id = d.reviewer_id WHERE r.username LIKE :prefix"),
            {"prefix": PREFIX + "%"}).all()
        applied = session.execute(text(
            "SELECT mutation_id::text, outcome FROM applied_mutation "
            "WHERE kind = 'decision' AND client_id = ANY(:clients)"),
            {"clients": clients}).all()
        per_case = Counter(session.execute(text(
            "SELECT case_id::text FROM decision WHERE case_id::text = ANY(:cases)"),
            {"cases": [d[2] for d in recorded.values()]}).scalars())
    by_id = Counter(r[0] for r in rows)
    outcomes = Counter()
    applied_count = Counter(r[0] for r in applied)
    for mutation_id, outcome in applied:
        outcomes[mutation_id, outcome] += 1
    check.on_backend = len(rows)
    check.conflicts = sum(1 for r in rows if r[2])
    check.unrecorded = sum(1 for r in rows if r[0] not in recorded)
    for decision_id, mutation_id, case_id, state in recorded.values():
        if by_id[decision_id] == 0:
            if state == "done":  # confirmed by the backend, yet not there
                check.lost += 1
        elif (by_id[decision_id] > 1 or per_case[case_id] > 1
              or applied_count[mutation_id] > 1):
            check.duplicated += 1
        if state == "done" and outcomes[mutation_id, "applied"] != 1:
            check.not_applied += 1
    check.duplicated += check.recorded - len(recorded)  # one decision id recorded twice
    return check


# -- the run -------------------------------------------------------------------------------------


def summarise(label: str, values: list[float], base: list[float] | None = None) -> str:
    line = (f"{label}: p50 {pct(values, 50):.1f} ms, p99 {pct(values, 99):.1f} ms, "
            f"max {max(values, default=float('nan')):.1f} ms ({len(values):,} timed)")
    if base:
        line += (f"; against 1 workstation alone (p50 {pct(base, 50):.1f} ms, p99 "
                 f"{pct(base, 99):.1f} ms): p50 {ratio(pct(values, 50), pct(base, 50))}, "
                 f"p99 {ratio(pct(values, 99), pct(base, 99))}")
    return line


def baseline(person: Person, base_url: str, taxonomy: Taxonomy) -> Figures:
    """One workstation alone, no think times: get next + pull, decide, and a sync after
    every `DECISIONS_PER_SYNC` decisions."""
    clock = CompressedClock(time.time(), datetime.now(UTC), 1.0)
    station = SimulatedWorkstation(person, base_url, clock, taxonomy)
    station.synchronise(timed=False)  # sign in, register the device
    for number in range(1, BASELINE_DECISIONS + 1):
        case_id = station.get_next()
        if case_id is not None:
            station.decide(case_id, 0.0)
        if number % DECISIONS_PER_SYNC == 0:
            station.synchronise()
    return station.finish()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true",
                        help=f"a CI-sized run: {SMALL['workstations']} workstations, "
                             f"{SMALL['minutes']:g} simulated minutes at {SMALL['speed']:g}x "
                             "(unless given)")
    parser.add_argument("--workstations", type=int, default=None, help="(200)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="simulated minutes of work (5)")
    parser.add_argument("--speed", type=float, default=None,
                        help="how much faster than the wall clock the simulated clock runs (1)")
    parser.add_argument("--cases", type=int, default=None, help="demo cases seeded (40,000)")
    parser.add_argument("--processes", type=int, default=None,
                        help="worker processes the workstations' threads are spread over (4)")
    args = parser.parse_args(argv)
    size = SMALL if args.small else FULL
    workstations = args.workstations or int(size["workstations"])
    minutes = args.minutes or float(size["minutes"])
    speed = args.speed or float(size["speed"])
    cases = args.cases or int(size["cases"])
    processes = max(1, min(args.processes or int(size["processes"]), workstations))
    sim_end = minutes * 60

    server = stock_server()
    workdir = Path(tempfile.mkdtemp(prefix="bench-team-load-"))
    service: ServiceProcess | None = None
    names: list[str] = []
    try:
        url = server.create_database(DATABASE)
        admin = create_engine(server.admin_url)
        with admin.connect() as connection:
            max_connections = int(connection.execute(text("SHOW max_connections")).scalar())
        admin.dispose()
        backend = Database.open(url, migrate=False)
        init_backend(backend.engine)  # what `reviewer-admin init-backend` runs
        taxonomy = load_taxonomy()
        print(f"PostgreSQL at {url.render_as_string(hide_password=True)}, max_connections = "
              f"{max_connections}; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores")
        started = time.perf_counter()
        seed_clock = ManualClock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))
        seed_demo(backend, taxonomy, seed_clock, random.Random(20261203), cases=cases,
                  with_media=False)
        open_cases = open_cases_by_team(backend)
        print(f"seeded {cases:,} demo cases ({sum(open_cases.values()):,} open, in "
              f"{len(QUEUES)} queues of {len(open_cases)} teams) in "
              f"{time.perf_counter() - started:.1f} s")

        teams = spread(workstations, open_cases)
        people = [(f"{PREFIX}{n:03d}", team) for n, team in enumerate(teams, 1)]
        base_team = max(open_cases, key=lambda t: open_cases[t])
        people.append((f"{PREFIX}baseline", base_team))
        names = [name for name, _ in people]
        drop_logins(server.url("postgres"), names)  # left over from a broken run
        started = time.perf_counter()
        make_logins(url, people)
        print(f"created {len(people)} login roles (create_user), one reviewer each "
              f"({', '.join(f'{t} {teams.count(t)}' for t in sorted(set(teams)))}; and one "
              f"for the baseline) in {time.perf_counter() - started:.1f} s")

        service = ServiceProcess(url, workdir)
        service.start()
        print(f"reviewer-server at {service.base_url} (log: {service.log})")

        # Replicas: an empty migrated one, each team's first pull made once by its first
        # member (through the service, as that person), copied to the teammates.
        template = workdir / "template.sqlite"
        Database.open(f"sqlite:///{template}", migrate=True).dispose()
        members: dict[str, list[Person]] = {}
        for name, team in people:
            members.setdefault(team, []).append(Person(name, team,
                                                       str(workdir / f"{name}.sqlite")))
        started = time.perf_counter()
        pulled_rows = 0
        for _team, group in sorted(members.items()):
            first = group[0]
            shutil.copyfile(template, first.replica)
            station = SimulatedWorkstation(first, service.base_url,
                                           CompressedClock(time.time(), datetime.now(UTC), 1),
                                           taxonomy)
            report = station.sync.sync_once()
            pulled_rows += report.pulled_rows
            station.link.sign_out()
            station.link.dispose()
            station.replica.dispose()
            for other in group[1:]:
                copy_replica(Path(first.replica), Path(other.replica))
        print(f"first pulls: {len(members)} teams, {pulled_rows:,} rows through the service "
              f"in {time.perf_counter() - started:.1f} s, copied to {len(people)} replicas")

        baseline_person = members[base_team].pop()
        assert baseline_person.username.endswith("baseline")
        base = baseline(baseline_person, service.base_url, taxonomy)

        load_people = [p for group in members.values() for p in group]
        load_people.sort(key=lambda p: p.username)
        slices = [load_people[i::processes] for i in range(processes)]
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        epoch_wall = time.time() + 5 + workstations * 0.02  # every worker ready by then
        epoch_sim = datetime.fromtimestamp(epoch_wall, UTC)  # at 1x, the system's clock
        workers = [context.Process(target=worker, args=(
            group, service.base_url, epoch_wall, epoch_sim, speed, sim_end, 1000 * n, results))
            for n, group in enumerate(slices)]
        print(f"\nload: {workstations} workstations ({processes} processes), "
              f"{minutes:g} simulated minutes at {speed:g}x the wall clock "
              f"({sim_end / speed:.0f} s), a decision every {THINK[0]:g}-{THINK[1]:g} s and "
              f"a sync every {SYNC_EVERY:g} s each")
        figures: list[Figures] = []
        with ConnectionPoller(server) as poller:
            for process in workers:
                process.start()
            for _ in workers:  # a worker that died would leave its share missing
                figures.extend(results.get(timeout=sim_end / speed + 1800))
            for process in workers:
                process.join(timeout=60)
        wall = time.time() - epoch_wall

        lease = [v for f in figures for v in f.lease_ms]
        get_next = [v for f in figures for v in f.get_next_ms]
        syncs = [v for f in figures for v in f.sync_ms]
        decided = sorted(t for f in figures for t in f.decided_at)
        errors = Counter(e.split(":", 2)[0] + ":" + e.split(":", 2)[1]
                         for f in figures for e in f.errors if ":" in e)
        error_count = sum(len(f.errors) for f in figures)
        rejected = sum(f.rejected for f in figures)
        per_minute = Counter(int(t // 60) for t in decided)
        rates = [per_minute.get(m, 0) / 60 for m in range(int(sim_end // 60))]
        check = check_backend(backend, [*figures, base])

        print(f"   decisions: {len(decided):,} in {sim_end:.0f} simulated s, "
              f"{len(decided) / sim_end:.1f} decisions/s held (per simulated minute: "
              f"{', '.join(f'{r:.1f}' for r in rates)}; lowest "
              f"{min(rates, default=0):.1f}); {len(decided) / max(wall, 1e-9):.1f} per wall "
              f"second; gets with no case left: {sum(f.no_case for f in figures)}")
        print("   " + summarise("sync (check-in, push, lease expiry, pull)", syncs, base.sync_ms))
        print("   " + summarise("get next (POST /v1/leases/next)", lease, base.lease_ms))
        print("   " + summarise("get next + pull (until the case can show)", get_next,
                                base.get_next_ms))
        print(f"   recording a decision in the replica: p50 "
              f"{pct([v for f in figures for v in f.decide_ms], 50):.1f} ms")
        print(f"   sync p99 {pct(syncs, 99):.1f} ms against the {SYNC_TARGET_MS:.0f} ms target"
              f": {ratio(pct(syncs, 99), SYNC_TARGET_MS)} of it")
        print(f"   PostgreSQL connections open at once: at most {poller.peak} "
              f"({poller.peak_db} on the backend's database; median "
              f"{statistics.median(poller.samples or [0]):.0f}) of max_connections = "
              f"{max_connections} ({ratio(poller.peak, max_connections)} of the limit; "
              f"{len(poller.samples):,} samples)")
        print(f"   errors: {error_count}; rejected mutations: {rejected}")
        for kind, number in errors.most_common(8):
            print(f"      {number} x {kind}")
        shown = [e for f in figures for e in f.errors][:3]
        for line in shown:
            print(f"      e.g. {line}")
        print(f"\nexactly once: {check.recorded:,} decisions recorded by the workstations "
              f"(baseline's {len(base.decisions)} included), {check.on_backend:,} on the "
              f"backend; lost {check.lost}, duplicated {check.duplicated}, not applied "
              f"{check.not_applied}, rejected {check.rejected}, still unsent (in an outbox, for "
              f"the next sync) {check.pending}, on the backend but recorded by nobody "
              f"{check.unrecorded}, kept as conflicts {check.conflicts}")
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
        backend.dispose()
    finally:
        if service is not None:
            service.stop()
        if names:
            drop_logins(server.url("postgres"), names)
        if not server.restartable:
            server.drop_database(DATABASE)
        server.close()
        for replica in workdir.glob("*.sqlite*"):
            replica.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
