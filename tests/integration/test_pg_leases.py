"""Leases on PostgreSQL: get-next under contention (SKIP LOCKED) and a lock order that
never deadlocks against pushes."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import func, select, update

from reviewer.clock import SystemClock
from reviewer.demo.seed import demo_reviewer_id
from reviewer.queue.leases import LeaseError, lease_case, lease_next_case, release_lease
from reviewer.queue.notes import add_note
from reviewer.store.database import Database
from reviewer.store.models import Case, Note, Queue
from tests.helpers.pg_workstations import count, open_case_ids, open_workstation, seed_backend

ROOT = Path(__file__).resolve().parents[2]
ADMIN = demo_reviewer_id("admin")  # a lead sees every queue
SOFIA = demo_reviewer_id("sofia")


def test_concurrent_processes_never_receive_the_same_case(pg_url, clock, tmp_path):
    seed_backend(pg_url, clock, cases=120)
    backend = Database.open(pg_url, migrate=False)
    try:
        with backend.writing() as session:  # every language for the admin (English)
            session.execute(update(Queue).values(language_routing=False))
        with backend.sessions() as session:
            open_ids = {str(i) for i in session.scalars(select(Case.id)
                                                        .where(Case.status == "new"))}
    finally:
        backend.dispose()
    url = pg_url.render_as_string(hide_password=False)
    barrier = tmp_path / "start"
    barrier.mkdir()
    workers = [
        subprocess.Popen([sys.executable, "-m", "tests.helpers.lease_worker", url, str(ADMIN),
                          str(barrier)],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    # All four connected and waiting; then they start claiming at the same moment.
    deadline = time.monotonic() + 90
    while len(list(barrier.iterdir())) < len(workers):
        assert time.monotonic() < deadline, "the workers did not start"
        assert all(w.poll() is None for w in workers), "a worker died before the start"
        time.sleep(0.01)
    (barrier / "go").touch()
    claimed: list[str] = []
    per_worker = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        lines = [line for line in out.splitlines() if line]
        per_worker.append(len(lines))
        claimed.extend(lines)
    assert len(claimed) == len(set(claimed)), "a case was leased twice"
    assert set(claimed) == open_ids, "a case was lost"
    assert sum(1 for n in per_worker if n > 0) >= 2, f"no contention at all: {per_worker}"


def test_get_next_skips_a_case_someone_else_is_taking(pg_url, clock):
    """While another transaction holds the best case's row lock, get-next does not wait:
    it takes the next best one."""
    seed_backend(pg_url, clock, cases=30)
    # A lock wait longer than 2 s fails the call instead of hanging the test.
    backend = Database.open(pg_url.update_query_dict({"options": "-c lock_timeout=2000"}),
                            migrate=False)
    try:
        with backend.writing() as session:  # every language for the admin (English)
            session.execute(update(Queue).values(language_routing=False))
        with backend.sessions() as session:
            best, second = session.scalars(
                select(Case.id).where(Case.status == "new")
                .order_by(Case.priority_key, Case.id).limit(2)).all()
        with backend.engine.connect() as holder:
            holder.execute(select(Case.id).where(Case.id == best).with_for_update())
            started = time.monotonic()
            lease = lease_next_case(backend, ADMIN, clock)
            waited = time.monotonic() - started
            holder.rollback()
        assert lease is not None and lease.case_id == second
        assert waited < 1.0
        assert lease_next_case(backend, ADMIN, clock).case_id == best
    finally:
        backend.dispose()


def test_leases_and_pushes_on_the_same_cases_never_deadlock(pg_url, tmp_path, clock):
    """Three people claim and release cases while two workstations push notes on them:
    every transaction takes case locks before the change counter, so none waits in a
    cycle (PostgreSQL would abort one with 'deadlock detected')."""
    seed_backend(pg_url, clock, cases=60)
    writers = [open_workstation(tmp_path / f"w{i}", pg_url, clock) for i in range(2)]
    backend = Database.open(pg_url, migrate=False)
    errors: list[BaseException] = []
    stop = threading.Event()
    try:
        for writer in writers:
            writer.synchronise()
        cases = open_case_ids(backend, 6)

        def claim(seed: int, person) -> None:  # type: ignore[no-untyped-def]
            rng = random.Random(seed)
            real = SystemClock()
            try:
                while not stop.is_set():
                    try:
                        lease = lease_case(backend, rng.choice(cases), person, real)
                    except LeaseError:
                        continue
                    release_lease(backend, lease, real, "stress test: giving it back")
            except BaseException as error:  # reported below
                errors.append(error)

        def push(seed: int, writer) -> None:  # type: ignore[no-untyped-def]
            rng = random.Random(seed)
            try:
                for round_ in range(12):
                    for _ in range(6):
                        add_note(writer.replica.sessions, case_id=rng.choice(cases),
                                 author_id=writer.reviewer_id, client_id=writer.client_id,
                                 body=f"round {round_}", clock=writer.clock)
                    writer.synchronise()
            except BaseException as error:  # reported below
                errors.append(error)

        claimers = [threading.Thread(target=claim, args=(i, person))
                    for i, person in enumerate((ADMIN, SOFIA, demo_reviewer_id("demo")))]
        pushers = [threading.Thread(target=push, args=(10 + i, w))
                   for i, w in enumerate(writers)]
        for thread in claimers + pushers:
            thread.start()
        for thread in pushers:
            thread.join(120)
        stop.set()
        for thread in claimers:
            thread.join(30)
        assert errors == [], errors
        assert count(backend, Note, Note.body.like("round %")) == 2 * 12 * 6
        with backend.sessions() as session:
            leased = session.scalar(select(func.count()).select_from(Case)
                                    .where(Case.id.in_(cases), Case.status == "leased"))
        assert leased == 0
    finally:
        stop.set()
        backend.dispose()
        for writer in writers:
            writer.close()
