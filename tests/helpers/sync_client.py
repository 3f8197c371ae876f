"""A workstation as a separate process, for the fault tests to kill at any moment.

    python -m tests.helpers.sync_client DATA_DIR BACKEND_URL decide --until N [--push-every K]
    python -m tests.helpers.sync_client DATA_DIR BACKEND_URL pull [--step VERSIONS]

``decide`` records decisions on open cases of the replica (each in its own local
transaction, as the window does) and pushes every K decisions, with a full sync now and
then, until the replica holds N decisions of its own; ``--die-after-backend-commit``
kills the process (SIGKILL) right after the backend has committed its first push, before
the outbox hears of it, and prints ``committed <mutations> applied <applied>`` just before
(a run that ends without a push exits with 2 instead, saying why). ``pull`` pulls in steps
of VERSIONS change versions. The process prints ``ready`` once it is set up, and ``done``
when it has finished.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select

from reviewer.clock import SystemClock
from reviewer.store.models import Case, OutboxEntry, Queue, TeamMembership
from reviewer.sync.appliers import Mutation, MutationResult
from reviewer.sync.engine import SyncReport
from tests.helpers.pg_workstations import decide, open_workstation


def _die_after_push_commit(workstation) -> None:  # type: ignore[no-untyped-def]
    """The push itself, not whatever the backend writes first (a device check-in, a lease
    expiry): the link's push returns once the backend has committed the batch."""
    link = workstation.sync.backend
    original = link.push

    def push_then_die(mutations: Sequence[Mutation]) -> list[MutationResult]:
        results = original(mutations)
        applied = sum(result.outcome == "applied" for result in results)
        print(f"committed {len(results)} applied {applied}", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("SIGKILL did not end the process")

    link.push = push_then_die


def run_decide(workstation, until: int, push_every: int) -> None:  # type: ignore[no-untyped-def]
    made = 0
    while True:
        with workstation.replica.sessions() as session:
            decided = session.scalar(select(func.count()).select_from(OutboxEntry)
                                     .where(OutboxEntry.kind == "decision"))
            # a case of the reviewer's own teams' queues (the backend refuses others)
            mine = select(Queue.id).join(TeamMembership,
                                         TeamMembership.team_code == Queue.team_code).where(
                TeamMembership.reviewer_id == workstation.reviewer_id)
            case_id = session.scalar(select(Case.id).where(Case.status == "new",
                                                           Case.queue_id.in_(mine))
                                     .order_by(Case.external_ref).limit(1))
        if decided >= until or case_id is None:
            break
        decide(workstation, case_id)
        made += 1
        if made % push_every == 0:
            if made % (push_every * 4) == 0:
                workstation.synchronise()
            else:
                workstation.sync.push(SyncReport())
    workstation.synchronise()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("url")
    parser.add_argument("mode", choices=("decide", "pull"))
    parser.add_argument("--until", type=int, default=50)
    parser.add_argument("--push-every", type=int, default=3)
    parser.add_argument("--step", type=int, default=1)
    parser.add_argument("--die-after-backend-commit", action="store_true")
    args = parser.parse_args(argv)
    workstation = open_workstation(Path(args.data_dir), args.url, SystemClock())
    try:
        if args.die_after_backend_commit:
            _die_after_push_commit(workstation)
        print("ready", flush=True)
        if args.mode == "decide":
            run_decide(workstation, args.until, args.push_every)
        else:
            workstation.sync.pull_version_step = args.step
            workstation.sync.pull(SyncReport())
        if args.die_after_backend_commit:
            why = (f"the replica was wiped when it opened: {workstation.wiped_reason}"
                   if workstation.wiped_reason else
                   "no open case of this reviewer's teams was left to decide")
            print(f"nothing was pushed to the backend, so there was no commit to die after "
                  f"({why})", file=sys.stderr)
            return 2
        print("done", flush=True)
    finally:
        workstation.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
