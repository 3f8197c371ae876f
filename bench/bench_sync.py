"""Benchmark: sync between SQLite replicas and a real PostgreSQL backend, through the
backend service (``reviewer-server``) against the direct path and ``COPY``.

Prints measured figures and ratios against baselines measured in the same run; asserts
nothing and passes or fails nothing. Run with `.venv/bin/python bench/bench_sync.py` (a few
minutes; `--small` for a CI-sized run, or `--cases` and `--decisions`). The PostgreSQL
server is the one `REVIEWER_TEST_PG_URL` names, or a throwaway one started like the
integration tests' (tests/helpers/postgres.py), here with durable settings (fsync and
synchronous commit on), as a real backend runs. The service runs as its own process
(``python -m reviewer.server.main``, as the ``reviewer-server`` console script does),
listening on 127.0.0.1 only, connected to PostgreSQL as the backend's owner; it is stopped
at the end. Its log is kept in the run's temporary folder (the replicas are removed).

Three paths are measured in one run, on the same backend:

- **service**: a workstation signed in through the service as a reviewer with their own
  login (`tests.helpers.pg_workstations.create_login`, a member of every team, so that it
  may see and decide the same cases); the service applies pushes with the core's appliers,
  checking every workflow rule, and reads pulls as the reviewer's role under row security.
- **direct**: the previous path, `reviewer.sync.link.DirectLink` in the workstation's own
  process over the database opened as its owner (the demo reviewer acting).
- **COPY**: PostgreSQL's ``COPY`` of the same rows, by the same client: ``COPY (SELECT
  ...) TO STDOUT`` for a pull, ``COPY ... FROM STDIN`` into tables shaped like the real
  ones (with their indexes) for a push.

1. Pull: a fresh replica pulls the backend's 100,000 demo cases without media (with the
   demo's people, queues, past decisions, escalations and notes), once by each path.
   Target: 20 s.
2. Push: 10,000 decisions ('no violation' on free, new cases of the reviewer's teams'
   queues), recorded in the replica through `record_decision` (the window's path; timed
   separately), then pushed; the direct path pushes as many on other such cases. Target 5 s.
3. A sync with nothing to do (push, lease expiry, pull): median of 20, by each path.
   Target: 50 ms.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: tests.helpers is under the repository root

from reviewer.clock import ManualClock, SystemClock  # noqa: E402
from reviewer.demo.seed import seed_demo  # noqa: E402
from reviewer.enforcement.decisions import DecisionDraft, record_decision  # noqa: E402
from reviewer.policy.taxonomy import Taxonomy, load_taxonomy  # noqa: E402
from reviewer.security.row_security import GROUP_ROLES, init_backend  # noqa: E402
from reviewer.store.changes import current_change_version  # noqa: E402
from reviewer.store.database import Database  # noqa: E402
from reviewer.store.models import SYNCED_MODELS, Case, Team  # noqa: E402
from reviewer.sync.engine import SyncReport  # noqa: E402
from reviewer.workstation import Workstation  # noqa: E402
from tests.helpers.pg_workstations import LOGIN_PASSWORD, create_login, drop_logins  # noqa: E402
from tests.helpers.postgres import open_server  # noqa: E402
from tests.helpers.service import ServiceProcess  # noqa: E402

RATIONALE = "Read in full: the content does not break this policy; no action is needed."
REVIEWER = "bench_reviewer"
SMALL = {"cases": 2_000, "decisions": 200}


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "n/a"


def copy_out(backend: Database, upto: int, as_person: str | None = None
             ) -> tuple[float, int, int]:
    """Seconds, rows and bytes for COPY ... TO STDOUT of every synced table's rows; with
    ``as_person``, read as the service reads for that reviewer (their group role and
    identity in the transaction, so row security picks the same rows a pull gets)."""
    raw = backend.engine.raw_connection()
    rows = size = 0
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        if as_person is not None:
            cursor.execute("SELECT set_config('rw.acting_user', %s, true)", (as_person,))
            cursor.execute(f"SET LOCAL ROLE {GROUP_ROLES['reviewer']}")
        for model in SYNCED_MODELS:
            table = model.__table__.name
            query = (f"COPY (SELECT * FROM {table} WHERE change_version > 0 AND "
                     f"change_version <= {upto} ORDER BY change_version) TO STDOUT")
            with cursor.copy(query) as copy:
                for block in copy:
                    size += len(block)
                    rows += bytes(block).count(b"\n")
        elapsed = time.perf_counter() - started
        raw.commit()
    finally:
        raw.close()
    return elapsed, rows, size


def copy_in(backend: Database, selections: dict[str, str]) -> tuple[float, int, int]:
    """Seconds, rows and bytes for COPY ... FROM STDIN of the rows each ``selections`` query
    picks from its table, into a fresh table shaped like it (columns, defaults, indexes),
    committed. The rows are read out first, untimed."""
    raw = backend.engine.raw_connection()
    rows = size = 0
    try:
        cursor = raw.cursor()
        data: dict[str, bytes] = {}
        for table, where in selections.items():
            buffer = io.BytesIO()
            with cursor.copy(f"COPY (SELECT * FROM {table} WHERE {where}) TO STDOUT") as copy:
                for block in copy:
                    buffer.write(bytes(block))
            data[table] = buffer.getvalue()
            cursor.execute(f"DROP TABLE IF EXISTS bench_copy_{table}")
            cursor.execute(f"CREATE TABLE bench_copy_{table} (LIKE {table} INCLUDING ALL)")
        raw.commit()
        started = time.perf_counter()
        for table, block in data.items():
            with cursor.copy(f"COPY bench_copy_{table} FROM STDIN") as copy:
                copy.write(block)
            size += len(block)
            rows += block.count(b"\n")
        raw.commit()
        elapsed = time.perf_counter() - started
        for table in data:
            cursor.execute(f"DROP TABLE bench_copy_{table}")
        raw.commit()
    finally:
        raw.close()
    return elapsed, rows, size


def timed(work: Callable[[], SyncReport]) -> tuple[float, SyncReport]:
    started = time.perf_counter()
    report = work()
    return time.perf_counter() - started, report


def record_decisions(workstation: Workstation, taxonomy: Taxonomy, case_ids: list) -> float:  # type: ignore[type-arg]
    """Record a 'no violation' decision on each case in the replica; returns seconds."""
    with workstation.replica.sessions() as session:
        surfaces = {row.id: row.surface for row in session.execute(
            select(Case.id, Case.surface).where(Case.id.in_(case_ids)))}
    policies: dict[str, str] = {}
    started = time.perf_counter()
    for case_id in case_ids:
        surface = surfaces[case_id]
        if surface not in policies:
            policies[surface] = next(p for p in taxonomy.policies_for_surface(surface)
                                     if "no_violation" in p.actions).code
        record_decision(workstation.replica.sessions, taxonomy,
                        reviewer_id=workstation.reviewer_id, client_id=workstation.client_id,
                        clock=workstation.clock,
                        draft=DecisionDraft(case_id, policies[surface], "no_violation",
                                            RATIONALE))
    return time.perf_counter() - started


def idle_syncs(workstation: Workstation, count: int = 20) -> list[float]:
    workstation.synchronise()  # pull back what the push changed
    times = []
    for _ in range(count):
        started = time.perf_counter()
        idle = workstation.synchronise()
        times.append(time.perf_counter() - started)
        assert idle.pushed == 0
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=None, help="demo cases (100,000)")
    parser.add_argument("--decisions", type=int, default=None,
                        help="decisions pushed by each path (10,000)")
    parser.add_argument("--small", action="store_true",
                        help=f"a CI-sized run: {SMALL['cases']:,} cases, "
                             f"{SMALL['decisions']:,} decisions (unless given)")
    args = parser.parse_args(argv)
    cases = args.cases or (SMALL["cases"] if args.small else 100_000)
    decisions = args.decisions or (SMALL["decisions"] if args.small else 10_000)

    server = open_server(durable=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    service: ServiceProcess | None = None
    login_made = False
    try:
        url = server.create_database("bench_sync")
        initialised = Database.open(url, migrate=False)
        init_backend(initialised.engine)  # what `reviewer-admin init-backend` runs
        initialised.dispose()
        taxonomy = load_taxonomy()
        # Seeded an hour ago by a clock the service's (the system's) will agree with.
        seed_clock = ManualClock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))
        clock = SystemClock()
        print(f"PostgreSQL at {url.render_as_string(hide_password=True)}; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        started = time.perf_counter()
        backend = Database.open(url, migrate=False)
        seed_demo(backend, taxonomy, seed_clock, random.Random(20261121), cases=cases,
                  with_media=False)
        print(f"seeded {cases:,} cases on the backend in "
              f"{time.perf_counter() - started:.1f} s")
        with backend.sessions() as session:
            teams = sorted(session.scalars(select(Team.code)))
        drop_logins(url.set(database="postgres"), [REVIEWER])  # left over from a broken run
        create_login(url, REVIEWER, role="reviewer", teams=teams)
        login_made = True
        with backend.sessions() as session:
            target = current_change_version(session)

        service = ServiceProcess(url, workdir)
        started = time.perf_counter()
        service.start()
        print(f"reviewer-server started as its own process at {service.base_url} in "
              f"{time.perf_counter() - started:.1f} s (log: {service.log})")

        direct = Workstation.open(workdir / "direct", backend_url=url, clock=clock,
                                  taxonomy=taxonomy)
        remote = Workstation.open(workdir / "service", backend_url=service.base_url,
                                  username=REVIEWER, password=LOGIN_PASSWORD, clock=clock,
                                  taxonomy=taxonomy)
        started = time.perf_counter()
        remote.link.sign_in()  # type: ignore[union-attr]
        sign_in_s = time.perf_counter() - started

        copy_out(backend, target)  # warm-up, untimed: every path reads from a warm cache
        direct_pull_s, direct_pull = timed(direct.synchronise)
        service_pull_s, service_pull = timed(remote.synchronise)
        copy_s, copy_rows, copy_bytes = copy_out(backend, target)
        copy_rls_s, copy_rls_rows, copy_rls_bytes = copy_out(backend, target, REVIEWER)
        print(f"\n1. pull {cases:,} cases without media into a fresh replica (target 20 s)")
        print(f"   service, as {REVIEWER!r} (reviewer role, member of all {len(teams)} teams, "
              f"row security on): {service_pull.pulled_rows:,} rows in {service_pull_s:.2f} s, "
              f"{service_pull.pulled_rows / service_pull_s:,.0f} rows/s "
              f"(sign-in before it: {sign_in_s * 1000:.0f} ms)")
        print(f"   direct, DirectLink as the owner: {direct_pull.pulled_rows:,} rows in "
              f"{direct_pull_s:.2f} s, {direct_pull.pulled_rows / direct_pull_s:,.0f} rows/s")
        print(f"   COPY ... TO STDOUT as the owner, the direct pull's {copy_rows:,} rows "
              f"({copy_bytes / 1e6:.1f} MB): {copy_s:.2f} s, {copy_rows / copy_s:,.0f} rows/s")
        print(f"   COPY ... TO STDOUT as {REVIEWER!r}'s role under row security, the service "
              f"pull's {copy_rls_rows:,} rows ({copy_rls_bytes / 1e6:.1f} MB): "
              f"{copy_rls_s:.2f} s, {copy_rls_rows / copy_rls_s:,.0f} rows/s")
        per_row = ratio(service_pull_s / max(service_pull.pulled_rows, 1),
                        direct_pull_s / max(direct_pull.pulled_rows, 1))
        print(f"   service / direct = {ratio(service_pull_s, direct_pull_s)} (per row "
              f"{per_row}); service / COPY (same rows, as the reviewer) = "
              f"{ratio(service_pull_s, copy_rls_s)}; service / COPY as the owner = "
              f"{ratio(service_pull_s, copy_s)}; direct / COPY as the owner = "
              f"{ratio(direct_pull_s, copy_s)}")

        # Free, new cases of the reviewer's teams' queues, as the reviewer's replica has them.
        with remote.replica.sessions() as session:
            free = list(session.scalars(
                select(Case.id).where(Case.status == "new", Case.lease_holder_id.is_(None))
                .order_by(Case.external_ref).limit(2 * decisions)))
        each = min(decisions, len(free) // 2)
        if each < decisions:
            print(f"\n   (only {len(free):,} free new cases: {each:,} decisions per path)")
        service_record_s = record_decisions(remote, taxonomy, free[:each])
        direct_record_s = record_decisions(direct, taxonomy, free[each:2 * each])

        with backend.sessions() as session:
            before = current_change_version(session)
        service_push = SyncReport()
        started = time.perf_counter()
        remote.sync.push(service_push)
        service_push_s = time.perf_counter() - started
        with backend.sessions() as session:
            after = current_change_version(session)
        direct_push = SyncReport()
        started = time.perf_counter()
        direct.sync.push(direct_push)
        direct_push_s = time.perf_counter() - started
        client = remote.client_id.replace("'", "''")
        push_copy_s, push_copy_rows, push_copy_bytes = copy_in(backend, {
            "decision": f"change_version > {before} AND change_version <= {after}",
            "audit_log": f"origin = '{client}'",
            "applied_mutation": f"client_id = '{client}'",
        })
        print(f"\n2. push {each:,} decisions (target 5 s)")
        print(f"   service: {service_push.pushed:,} pushed ({service_push.rejected} rejected) in "
              f"{service_push_s:.2f} s, {service_push.pushed / service_push_s:,.0f} "
              f"decisions/s, {service_push_s / max(service_push.pushed, 1) * 1000:.2f} ms each")
        print(f"   direct: {direct_push.pushed:,} pushed ({direct_push.rejected} rejected) in "
              f"{direct_push_s:.2f} s, {direct_push.pushed / direct_push_s:,.0f} decisions/s, "
              f"{direct_push_s / max(direct_push.pushed, 1) * 1000:.2f} ms each")
        print(f"   COPY ... FROM STDIN of the rows the service's push inserted ({push_copy_rows:,}"
              f" rows of decision, audit_log, applied_mutation; {push_copy_bytes / 1e6:.1f} MB; "
              f"the cases' updates not included), committed: {push_copy_s:.2f} s")
        print(f"   service / direct = {ratio(service_push_s, direct_push_s)}; "
              f"service / COPY = {ratio(service_push_s, push_copy_s)}; "
              f"direct / COPY = {ratio(direct_push_s, push_copy_s)}")
        print(f"   (recording them in the replica, one transaction each: service's "
              f"{service_record_s:.2f} s, direct's {direct_record_s:.2f} s, "
              f"{service_record_s / max(each, 1) * 1000:.2f} ms each)")

        service_idle = idle_syncs(remote)
        direct_idle = idle_syncs(direct)
        service_median = statistics.median(service_idle)
        direct_median = statistics.median(direct_idle)
        print("\n3. sync with nothing to do, median of 20 (target 50 ms)")
        print(f"   service: median {service_median * 1000:.1f} ms, "
              f"max {max(service_idle) * 1000:.1f} ms")
        print(f"   direct: median {direct_median * 1000:.1f} ms, "
              f"max {max(direct_idle) * 1000:.1f} ms")
        print(f"   service / direct = {ratio(service_median, direct_median)}")
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
        remote.sign_out()
        remote.close()
        direct.close()
        backend.dispose()
    finally:
        if service is not None:
            service.stop()
        if login_made:
            drop_logins(server.url("postgres"), [REVIEWER])
        if not server.restartable:
            server.drop_database("bench_sync")
        server.close()
        for replica in ("direct", "service"):  # hundreds of MB at full size; the log stays
            shutil.rmtree(workdir / replica, ignore_errors=True)
    return 0


if __name__ == "__main__":
    from tests.helpers.keyring_daemon import keyring_for_benchmarks

    with keyring_for_benchmarks():
        sys.exit(main())
