"""Benchmark: sync between an SQLite replica and a real PostgreSQL backend.

Prints measured figures and a ratio against a baseline measured in the same run; asserts
nothing. Run with `.venv/bin/python bench/sync.py` (a few minutes; `--cases` and
`--decisions` make it smaller). The server is the one `REVIEWER_TEST_PG_URL` names, or a
throwaway one started like the integration tests' (tests/helpers/postgres.py), here with
durable settings (fsync and synchronous commit on), as a real backend runs.

1. Pull: a fresh replica pulls the backend's 100,000 demo cases without media (with the
   demo's people, queues, past decisions, escalations and notes). Target: 20 s. Baseline:
   PostgreSQL's `COPY (SELECT ...) TO STDOUT` of the same rows of every synced table (the
   same change-version range), read by the same client, in the same run.
2. Push: 10,000 decisions, recorded in the replica through `record_decision` (the
   window's path; timed separately), then pushed. Target: 5 s.
3. A sync with nothing to do (push, lease expiry, pull): median of 20. Target: 50 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this folder comes first on the path, where bench/queue.py would hide the
# standard library's queue module; the repository root is what this script needs.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)
else:
    sys.path.insert(0, str(ROOT))

from reviewer.clock import ManualClock  # noqa: E402
from reviewer.demo import seed_demo  # noqa: E402
from reviewer.enforcement import DecisionDraft, record_decision  # noqa: E402
from reviewer.models import SYNCED_MODELS, Case  # noqa: E402
from reviewer.store import Database  # noqa: E402
from reviewer.sync.backend import current_change_version  # noqa: E402
from reviewer.sync.engine import SyncReport  # noqa: E402
from reviewer.taxonomy import load_taxonomy  # noqa: E402
from reviewer.workstation import Workstation  # noqa: E402
from tests.helpers.postgres import open_server  # noqa: E402

RATIONALE = "Read in full: the content does not break this policy; no action is needed."


def copy_baseline(backend: Database, upto: int) -> tuple[float, int, int]:
    """Seconds, rows and bytes for COPY ... TO STDOUT of every synced table's rows."""
    raw = backend.engine.raw_connection()
    rows = size = 0
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
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


def pull_as_reviewer(url, workdir: Path, clock, taxonomy, owner_s: float,  # type: ignore[no-untyped-def]
                     owner_rows: int) -> None:
    """1b. The same pull signed in as a reviewer's own login role, under row security
    (reviewer.backend_security), the reviewer being a member of every team."""
    from sqlalchemy import text

    from reviewer.backend_security import create_user
    from reviewer.models import Team
    from reviewer.store import make_engine
    from tests.helpers.pg_workstations import LOGIN_PASSWORD, drop_logins, login_url

    name = "bench_reviewer"
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            teams = list(connection.execute(select(Team.code)).scalars())
            connection.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
            create_user(connection, name, role="reviewer", teams=teams,
                        display_name="Bench Reviewer", password=LOGIN_PASSWORD)
    finally:
        engine.dispose()
    try:
        reviewer = Workstation.open(workdir / "reviewer", backend_url=login_url(url, name),
                                    clock=clock, taxonomy=taxonomy, username=name)
        started = time.perf_counter()
        report = reviewer.synchronise()
        seconds = time.perf_counter() - started
        reviewer.close()
        print(f"1b. the same pull as a reviewer's login role under row security (member of "
              f"all {len(teams)} teams): {report.pulled_rows:,} rows in {seconds:.2f} s, "
              f"{report.pulled_rows / seconds:,.0f} rows/s; per row "
              f"{(seconds / report.pulled_rows) / (owner_s / owner_rows):.2f}x the owner's")
    finally:
        drop_logins(url.set(database="postgres"), [name])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--decisions", type=int, default=10_000)
    args = parser.parse_args(argv)

    server = open_server(durable=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    try:
        url = server.create_database("bench_sync")
        Database.open(url).dispose()
        clock = ManualClock()
        taxonomy = load_taxonomy()
        print(f"PostgreSQL at {url.render_as_string(hide_password=True)}; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        started = time.perf_counter()
        backend = Database.open(url, migrate=False)
        seed_demo(backend, taxonomy, clock, random.Random(20261121), cases=args.cases,
                  with_media=False)
        with backend.sessions() as session:
            target = current_change_version(session)
        print(f"seeded {args.cases:,} cases on the backend in "
              f"{time.perf_counter() - started:.1f} s")

        workstation = Workstation.open(workdir / "client", backend_url=url, clock=clock,
                                       taxonomy=taxonomy)
        started = time.perf_counter()
        report = workstation.synchronise()
        pull_s = time.perf_counter() - started
        copy_s, copy_rows, copy_bytes = copy_baseline(backend, target)
        print(f"\n1. pull {report.pulled_rows:,} rows ({args.cases:,} cases) into a fresh "
              f"replica: {pull_s:.2f} s (target 20 s), "
              f"{report.pulled_rows / pull_s:,.0f} rows/s")
        print(f"   baseline COPY ... TO STDOUT of the same {copy_rows:,} rows "
              f"({copy_bytes / 1e6:.1f} MB): {copy_s:.2f} s; pull / COPY = "
              f"{pull_s / copy_s:.1f}x")

        pull_as_reviewer(url, workdir, clock, taxonomy, pull_s, report.pulled_rows)

        with workstation.replica.sessions() as session:
            case_ids = list(session.scalars(
                select(Case.id).where(Case.status == "new").order_by(Case.external_ref)
                .limit(args.decisions)))
            cases = {c.id: c for c in session.scalars(select(Case)
                                                       .where(Case.id.in_(case_ids)))}
        policies = {}
        started = time.perf_counter()
        for case_id in case_ids:
            surface = cases[case_id].surface
            if surface not in policies:
                policies[surface] = next(p for p in taxonomy.policies_for_surface(surface)
                                         if "no_violation" in p.actions).code
            record_decision(workstation.replica.sessions, taxonomy,
                            reviewer_id=workstation.reviewer_id,
                            client_id=workstation.client_id, clock=clock,
                            draft=DecisionDraft(case_id, policies[surface], "no_violation",
                                                RATIONALE))
        record_s = time.perf_counter() - started
        started = time.perf_counter()
        push = SyncReport()
        workstation.sync.push(push)
        push_s = time.perf_counter() - started
        print(f"\n2. push {push.pushed:,} decisions ({push.rejected} rejected): "
              f"{push_s:.2f} s (target 5 s), {push.pushed / push_s:,.0f} decisions/s, "
              f"{push_s / max(push.pushed, 1) * 1000:.2f} ms each")
        print(f"   (recording them in the replica, one transaction each: {record_s:.2f} s, "
              f"{record_s / max(len(case_ids), 1) * 1000:.2f} ms each)")

        workstation.synchronise()  # pull back what the push changed
        times = []
        for _ in range(20):
            started = time.perf_counter()
            idle = workstation.synchronise()
            times.append(time.perf_counter() - started)
            assert idle.pushed == 0
        print(f"\n3. sync with nothing to do: median {statistics.median(times) * 1000:.1f} ms, "
              f"max {max(times) * 1000:.1f} ms (target 50 ms)")
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
        workstation.close()
        backend.dispose()
        if not server.restartable:
            server.drop_database("bench_sync")
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    from tests.helpers.keyring_daemon import keyring_for_benchmarks

    with keyring_for_benchmarks():
        sys.exit(main())
