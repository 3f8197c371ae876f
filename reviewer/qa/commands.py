"""reviewer-admin's quality-audit commands: qa-sample, qa-golden and qa-calibration.

Each works on the backend (``--backend URL``, or the embedded one in ``--data-dir``) in one
transaction under one change version, so workstations pull the result at their next sync.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from reviewer.clock import SystemClock
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.qa.sampling import (
    DEFAULT_NEW_REVIEWER_RATE,
    DEFAULT_RATE,
    DEFAULT_SEVERE_MULTIPLIER,
    SamplingPolicy,
)
from reviewer.qa.store import (
    QaRefused,
    backend_caller,
    create_calibration,
    draw_sample,
    has_sampling_frame,
    insert_golden_copy,
    mark_golden,
)
from reviewer.store.changes import next_change_version
from reviewer.store.database import Database, DataPaths, sqlite_url
from reviewer.store.models import Case, Decision, Queue, Reviewer


def _backend(args: argparse.Namespace) -> Database:
    if args.backend:
        return Database.open(args.backend, migrate=False, keys=args.keys)
    return Database.open(sqlite_url(DataPaths(args.data_dir).ensure().backend), keys=args.keys)


def _person(session: Session, username: str) -> uuid.UUID:
    found = session.scalar(select(Reviewer.id).where(Reviewer.username == username))
    if found is None:
        raise QaRefused(f"no one with the username {username!r} on this backend")
    return found


def _case(session: Session, reference: str) -> Case:
    case = session.scalar(select(Case).where(Case.external_ref == reference))
    if case is None:
        raise QaRefused(f"no case {reference!r} on this backend")
    return case


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a rate: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a rate is between 0 and 1, not {value}")
    return value


def _area_rate(text: str) -> tuple[str, float]:
    area, sep, value = text.partition("=")
    if not sep or not area:
        raise argparse.ArgumentTypeError(f"write AREA=RATE, e.g. hate=0.1, not {text!r}")
    return area, _rate(value)


@contextlib.contextmanager
def _owner_only() -> Iterator[None]:
    """People's roles only read: a draw as one of them is refused by PostgreSQL, and said so."""
    try:
        yield
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) != "42501":
            raise
        raise QaRefused("people's roles may only read on a team backend: run this command "
                        "as the backend's owner (naming the drawer with --by), or draw in "
                        "the app (Audit ▸ Draw a sample), which asks the backend service"
                        ) from None


def cmd_qa_sample(args: argparse.Namespace) -> int:
    """Draw an audit sample from the backend's decisions and store it for an auditor."""
    taxonomy = load_taxonomy()
    clock = SystemClock()
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(63)
    policy = SamplingPolicy(base_rate=args.rate, area_rates=dict(args.area_rate or []),
                            severe_multiplier=args.severe_multiplier,
                            new_reviewer_rate=args.new_reviewer_rate)
    backend = _backend(args)
    try:
        with backend.talking(), backend.writing() as session, _owner_only():
            auditor = _person(session, args.auditor)
            # On a team backend each person draws as themselves (row-level security).
            caller = backend_caller(session)
            by = _person(session, args.by) if args.by else (caller or auditor)
            targets = []
            for text in args.target or []:
                try:
                    targets.append(uuid.UUID(text))
                except ValueError:
                    raise QaRefused(f"--target takes a decision id, not {text!r}") from None
                # (on a team backend, draw_sample checks them against the sampling frame)
                if not has_sampling_frame(session) and session.get(Decision,
                                                                   targets[-1]) is None:
                    raise QaRefused(f"no decision {text} on this backend")
            stored = draw_sample(
                session, taxonomy, auditor_id=auditor, drawn_by=by,
                since=_midnight(args.since),
                until=_midnight(args.until) if args.until else None, clock=clock, seed=seed,
                policy=policy, targeted_ids=targets, version=next_change_version(session))
    finally:
        backend.dispose()
    counts = stored.sample.count_by_reason()
    print(f"drew {len(stored.sample.items):,} of {stored.sample.population:,} decisions "
          f"with seed {seed} (random {counts['random']}, severe "
          f"{counts['severe_oversample']}, new reviewer {counts['new_reviewer']}, targeted "
          f"{counts['targeted']}); stored {stored.stored:,} for {args.auditor}")
    if stored.already_sampled or stored.own_decisions:
        print(f"left out: {stored.already_sampled:,} already sampled for {args.auditor}, "
              f"{stored.own_decisions:,} of {args.auditor}'s own decisions", file=sys.stderr)
    return 0


def cmd_qa_golden(args: argparse.Namespace) -> int:
    """Mark a case golden with its expected outcome, or put a golden copy of it in a queue."""
    taxonomy = load_taxonomy()
    now = SystemClock().now()
    backend = _backend(args)
    try:
        with backend.talking(), backend.writing() as session:
            by = _person(session, args.by)
            case = _case(session, args.case)
            version = next_change_version(session)
            if args.copy_to is None:
                mark_golden(session, taxonomy, case_id=case.id, policy_code=args.policy,
                            action=args.action, auditor_id=by, version=version, now=now,
                            note=args.note)
                print(f"{case.external_ref} is golden: expected {args.action} under "
                      f"{args.policy}")
                return 0
            queue = session.scalar(select(Queue).where(Queue.name == args.copy_to))
            if queue is None:
                raise QaRefused(f"no queue named {args.copy_to!r}")
            copy = insert_golden_copy(
                session, taxonomy, source_case_id=case.id, policy_code=args.policy,
                action=args.action, auditor_id=by, version=version, now=now,
                rng=random.SystemRandom(), queue_id=queue.id)
            print(f"put golden case {copy.external_ref} (a copy of {case.external_ref}) in "
                  f"{queue.name}: expected {args.action} under {args.policy}")
    finally:
        backend.dispose()
    return 0


def cmd_qa_calibration(args: argparse.Namespace) -> int:
    """Start a calibration session: every member re-reviews every case, blind."""
    now = SystemClock().now()
    backend = _backend(args)
    try:
        with backend.talking(), backend.writing() as session:
            by = _person(session, args.by)
            cases = [_case(session, reference).id for reference in args.case]
            members = [_person(session, name) for name in args.member]
            calibration = create_calibration(
                session, name=args.name, auditor_id=by, case_ids=cases, member_ids=members,
                version=next_change_version(session), now=now)
            print(f"calibration session {calibration.name!r} ({calibration.id}): "
                  f"{len(set(cases))} cases for {len(set(members))} members")
    finally:
        backend.dispose()
    return 0


def add_qa_commands(commands: argparse._SubParsersAction,  # type: ignore[type-arg]
                    day: Callable[[str], date]) -> None:
    def backend_option(command: argparse.ArgumentParser) -> None:
        command.add_argument("--backend", "--backend-url", dest="backend", default=None,
                             metavar="URL", help="SQLAlchemy URL of the backend "
                                                 "(default: the embedded one in --data-dir)")

    sample = commands.add_parser(
        "qa-sample", help="draw an audit sample of decisions for an auditor",
        description="Draw decisions made since --since for blind re-review by --auditor: each "
                    "at --rate (per policy area with --area-rate), severe actions at rate x "
                    "--severe-multiplier, decisions of reviewers in their first 4 weeks at "
                    "--new-reviewer-rate, and every --target. The draw is seeded (the seed is "
                    "printed and stored with each sample), so the same seed gives the same "
                    "sample.")
    sample.add_argument("--auditor", required=True, metavar="USERNAME",
                        help="who re-reviews the sample (an auditor, lead or admin)")
    sample.add_argument("--by", default=None, metavar="USERNAME",
                        help="who draws it, for the record (default: the person signed in "
                             "to the team backend, else the auditor)")
    sample.add_argument("--since", type=day, required=True, metavar="DATE",
                        help="first day (YYYY-MM-DD, UTC) of decisions to draw from")
    sample.add_argument("--until", type=day, default=None, metavar="DATE",
                        help="draw from decisions made before this day (default: all since)")
    sample.add_argument("--rate", type=_rate, default=DEFAULT_RATE,
                        help=f"share of decisions drawn (default {DEFAULT_RATE})")
    sample.add_argument("--area-rate", type=_area_rate, action="append", metavar="AREA=RATE",
                        help="another rate for one policy area; repeat for several")
    sample.add_argument("--severe-multiplier", type=float, default=DEFAULT_SEVERE_MULTIPLIER,
                        help=f"severe actions are drawn this many times more often "
                             f"(default {DEFAULT_SEVERE_MULTIPLIER})")
    sample.add_argument("--new-reviewer-rate", type=_rate, default=DEFAULT_NEW_REVIEWER_RATE,
                        help=f"rate for reviewers in their first 4 weeks "
                             f"(default {DEFAULT_NEW_REVIEWER_RATE})")
    sample.add_argument("--target", action="append", metavar="DECISION_ID",
                        help="a decision a lead wants audited; repeat for several")
    sample.add_argument("--seed", type=int, default=None,
                        help="the seed (default: a fresh one, printed)")
    backend_option(sample)
    sample.set_defaults(func=cmd_qa_sample)

    golden = commands.add_parser(
        "qa-golden", help="mark a case golden with its expected outcome",
        description="Mark case --case golden: reviewers' decisions on it are scored against "
                    "--policy and --action as they reach the backend. With --copy-to, a fresh "
                    "copy of the case goes into that queue as a golden case instead; nothing "
                    "on it tells reviewers it is golden.")
    golden.add_argument("--case", required=True, metavar="REF", help="the case's reference")
    golden.add_argument("--policy", required=True, metavar="CODE")
    golden.add_argument("--action", required=True, metavar="ACTION")
    golden.add_argument("--copy-to", default=None, metavar="QUEUE",
                        help="insert a golden copy into this queue (by name)")
    golden.add_argument("--note", default="", help="why this is the right outcome")
    golden.add_argument("--by", default="admin", metavar="USERNAME",
                        help="who sets it (an auditor, lead or admin; default: admin)")
    backend_option(golden)
    golden.set_defaults(func=cmd_qa_golden)

    calibration = commands.add_parser(
        "qa-calibration", help="give the same cases to several reviewers, blind",
        description="Start a calibration session: every --member re-reviews every --case in "
                    "the Audit window; Fleiss' kappa and Krippendorff's alpha measure how far "
                    "they agree.")
    calibration.add_argument("--name", required=True)
    calibration.add_argument("--case", action="append", required=True, metavar="REF")
    calibration.add_argument("--member", action="append", required=True, metavar="USERNAME")
    calibration.add_argument("--by", default="admin", metavar="USERNAME")
    backend_option(calibration)
    calibration.set_defaults(func=cmd_qa_calibration)
