"""What a workstation may ask of the backend, and the one place that answers it.

A workstation never writes to the backend's tables. It asks a `BackendLink` to push its
outbox, pull changes, take or give back leases, prepare an offline kit or draw an audit
sample, and the backend decides. Two links answer the same questions:

- `DirectLink` runs the backend's own code in this process against a database it holds:
  the embedded demo (an SQLite file), the admin's tools as the owner, and, inside
  ``reviewer-server``, every request a signed-in person makes. Every change is applied for
  an `Actor` loaded from the backend's rows, with every workflow rule checked
  (`reviewer.sync.appliers`); reads for a person run under their role's row security on
  PostgreSQL (``read_as_person``).
- `reviewer.sync.service_client.ServiceLink` asks a ``reviewer-server`` over HTTPS.

Both raise the same errors (`reviewer.store.database.BackendError` and its kinds, `LeaseError`,
`KitRefused`, `QaRefused`), so the sync engine and the window cannot tell them apart.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from reviewer.clock import Clock
from reviewer.policy.taxonomy import Taxonomy
from reviewer.qa.sampling import SamplingPolicy
from reviewer.qa.store import draw_sample
from reviewer.queue.leases import (
    Lease,
    LeaseError,
    expire_leases,
    lease_case,
    lease_next_case,
    reassign_lease,
    release_lease,
    renew_lease,
)
from reviewer.security.devices import DeviceStatus, check_in
from reviewer.security.row_security import GROUP_ROLES
from reviewer.store.changes import current_change_version, next_change_version
from reviewer.store.database import Database, check_schema
from reviewer.store.models import (
    SYNCED_MODELS,
    Case,
    Reviewer,
    TeamMembership,
    WellnessSummary,
)
from reviewer.sync.actor import Actor, ActorRefused
from reviewer.sync.appliers import (
    Applying,
    ChangeBatch,
    Mutation,
    MutationResult,
    apply_mutations,
    changed_tables,
    lock_cases,
    read_changes,
)
from reviewer.sync.offline_kit import KitEstimate, KitRefused, KitReport, estimate_kit, lease_kit
from reviewer.wellness.exposure import DailyExposure, ReviewerDay, WellnessPolicy, team_aggregate

Progress = Callable[[int, int], None]

MAX_LEASE = timedelta(hours=24)
"""The longest ordinary lease the backend grants (`[leases] minutes` is far below it)."""
MAX_KIT_LEASE = timedelta(days=7)
"""The longest travel-kit lease (`[offline] kit_hours`, 72 hours by default)."""
MAX_KIT_CASES = 2_000
NO_SUCH_CASE = "the case does not exist on the backend"
"""The answer for a case that does not exist and for a case of a team the person does not
work in alike (as `reviewer.queue.leases` words the first), so that nobody learns another team's
case ids, or who holds them, by asking."""


@dataclass(frozen=True)
class DrawnSample:
    """What drawing an audit sample on the backend gave: counts to show, nothing more."""

    stored: int
    population: int
    seed: int
    already_sampled: int
    own_decisions: int


@dataclass(frozen=True)
class TeamWellness:
    """A lead's view of one day across their teams: aggregates only, and none below three
    people sharing (`reviewer.wellness.exposure.team_aggregate`)."""

    day: date
    reviewers_counted: int
    suppressed: bool
    over_budget_count: int | None
    warning_count: int | None
    median_exposure_s: float | None
    median_graphic_queue_s: float | None


class BackendLink(Protocol):
    """The questions a workstation asks the backend (see the module docstring)."""

    @property
    def is_embedded(self) -> bool: ...

    def check_schema(self) -> None: ...

    def check_in(self, client_id: str) -> DeviceStatus: ...

    def push(self, mutations: Sequence[Mutation]) -> list[MutationResult]: ...

    def expire_leases(self) -> int: ...

    def current_version(self) -> int: ...

    def read_changes(self, after: int, upto: int) -> ChangeBatch: ...

    def lease_next(self, duration: timedelta) -> Lease | None: ...

    def lease_case(self, case_id: uuid.UUID, duration: timedelta) -> Lease: ...

    def renew(self, lease: Lease, duration: timedelta) -> Lease: ...

    def release(self, lease: Lease, reason: str) -> None: ...

    def reassign(self, case_id: uuid.UUID, to_reviewer_id: uuid.UUID | None, reason: str,
                 duration: timedelta) -> Lease | None: ...

    def estimate_kit(self, queue_id: uuid.UUID, count: int) -> KitEstimate: ...

    def lease_kit(self, queue_id: uuid.UUID, count: int, duration: timedelta,
                  progress: Progress | None = None) -> KitReport: ...

    def draw_sample(self, since: datetime, rate: float, seed: int) -> DrawnSample: ...

    def team_wellness(self, day: date) -> TeamWellness | None: ...

    def dispose(self) -> None: ...


def bounded(duration: timedelta, ceiling: timedelta) -> timedelta:
    """A lease duration the backend accepts: positive and at most ``ceiling``."""
    if duration <= timedelta(0):
        raise LeaseError("a lease must last a while")
    return min(duration, ceiling)


class DirectLink:
    """The backend's own code, run in this process for one person (see the module)."""

    def __init__(self, database: Database, *, username: str, clock: Clock,
                 taxonomy: Taxonomy | None, client_id: str | None = None,
                 read_as_person: bool = False) -> None:
        self.database = database
        self.username = username
        self.clock = clock
        self.taxonomy = taxonomy
        self.client_id = client_id
        self.read_as_person = read_as_person and database.engine.dialect.name == "postgresql"

    @property
    def is_embedded(self) -> bool:
        return self.database.is_embedded

    def actor(self, session: Session) -> Actor:
        try:
            return Actor.load(session, self.username, self.client_id)
        except ActorRefused as error:
            raise LeaseError(str(error)) from None

    def _me(self) -> Actor:
        with self.database.talking(), self.database.sessions() as session:
            return self.actor(session)

    def _case_worker(self) -> Actor:
        """The signed-in person, if their role takes cases (not an auditor's)."""
        me = self._me()
        if not me.works_cases:
            raise LeaseError(f"your role ({me.role}) does not take cases: auditors work on "
                             "the samples drawn for them")
        return me

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only transaction that sees what this person may see: on PostgreSQL, as
        their group role with their identity (``rw.acting_user``, honoured only for the
        owner's connections), so row security filters every row."""
        with self.database.talking(), self.database.sessions() as session:
            self._as_person(session)
            yield session

    def _as_person(self, session: Session) -> None:
        """From here on in this transaction, read as the signed-in person (PostgreSQL)."""
        if not self.read_as_person:
            return
        role = session.scalar(select(Reviewer.role).where(
            Reviewer.username == self.username, Reviewer.active.is_(True)))
        if role not in GROUP_ROLES:
            raise LeaseError(f"there is no active reviewer account {self.username!r}")
        session.execute(text("SELECT set_config('rw.acting_user', :name, true)"),
                        {"name": self.username})
        session.execute(text(f"SET LOCAL ROLE {GROUP_ROLES[role]}"))

    # -- sync --------------------------------------------------------------------------

    def check_schema(self) -> None:
        if not self.is_embedded:
            check_schema(self.database.engine)

    def check_in(self, client_id: str) -> DeviceStatus:
        with self.database.talking(), self.database.writing() as session:
            return check_in(session, client_id, self.username, self.clock.now())

    def push(self, mutations: Sequence[Mutation]) -> list[MutationResult]:
        with self.database.talking(), self.database.writing() as session:
            lock_cases(session, mutations)
            try:
                actor = Actor.load(session, self.username, self.client_id)
            except ActorRefused:
                if not self.is_embedded:
                    raise
                actor = None  # the demo before its seed: nobody to check (tests' ingest)
            context = Applying(actor=actor, taxonomy=self.taxonomy, now=self.clock.now())
            return apply_mutations(session, mutations, context)

    def expire_leases(self) -> int:
        with self.database.talking(), self.database.writing() as session:
            return expire_leases(session, self.clock.now())

    def current_version(self) -> int:
        with self.reading() as session:
            return current_change_version(session)

    def read_changes(self, after: int, upto: int) -> ChangeBatch:
        with self.database.talking(), self.database.sessions() as session:
            if not self.read_as_person:
                return read_changes(session, after, upto)
            # Which tables have any row in the range, asked as the owner (index probes, no
            # row security to plan): most have none, and each query as the person costs its
            # policies' planning even when it finds nothing. Rows with a version up to
            # ``upto`` have all committed (reviewer.store.changes), so none can appear
            # between this question and the reads below.
            changed = changed_tables(session, after, upto)
            self._as_person(session)
            return read_changes(session, after, upto,
                                [m for m in SYNCED_MODELS if m.__tablename__ in changed])

    # -- leases ------------------------------------------------------------------------

    def lease_next(self, duration: timedelta) -> Lease | None:
        me = self._case_worker()
        return lease_next_case(self.database, me.id, self.clock, bounded(duration, MAX_LEASE))

    def lease_case(self, case_id: uuid.UUID, duration: timedelta) -> Lease:
        me = self._case_worker()
        with self.database.talking(), self.database.sessions() as session:
            queue_id = session.scalar(select(Case.queue_id).where(Case.id == case_id))
        if queue_id is None or not me.works_queue(queue_id):
            raise LeaseError(NO_SUCH_CASE)  # not who holds it, nor that it exists at all
        return lease_case(self.database, case_id, me.id, self.clock,
                          bounded(duration, MAX_LEASE))

    def renew(self, lease: Lease, duration: timedelta) -> Lease:
        me = self._me()
        if lease.reviewer_id != me.id:
            raise LeaseError("you can renew only your own lease")
        return renew_lease(self.database, lease, self.clock, bounded(duration, MAX_LEASE))

    def release(self, lease: Lease, reason: str) -> None:
        me = self._me()
        if lease.reviewer_id != me.id:
            raise LeaseError("you can give back only your own lease")
        release_lease(self.database, lease, self.clock, reason[:500])

    def reassign(self, case_id: uuid.UUID, to_reviewer_id: uuid.UUID | None, reason: str,
                 duration: timedelta) -> Lease | None:
        me = self._me()
        if not me.leads:
            raise LeaseError("only a lead or an admin can reassign or release a lease")
        with self.database.talking(), self.database.sessions() as session:
            case = session.get(Case, case_id)
            if case is None or not me.works_queue(case.queue_id):
                raise LeaseError(NO_SUCH_CASE)
            if to_reviewer_id is not None:
                other = session.get(Reviewer, to_reviewer_id)
                if other is None or not other.active:
                    raise LeaseError("there is no such active reviewer")
                assignee = Actor.of(session, other)
                if not assignee.works_queue(case.queue_id):
                    raise LeaseError(f"{other.display_name} is not in the team of this "
                                     "case's queue")
                if not assignee.works_cases:  # an auditor could not decide it anyway
                    raise LeaseError(f"{other.display_name} is an {other.role} and does not "
                                     "take cases")
        return reassign_lease(self.database, case_id, me.id, to_reviewer_id, self.clock,
                              reason[:500], bounded(duration, MAX_LEASE))

    # -- travel ------------------------------------------------------------------------

    def estimate_kit(self, queue_id: uuid.UUID, count: int) -> KitEstimate:
        if self.taxonomy is None:
            raise KitRefused("the backend has no policy taxonomy to check the kit against")
        me = self._case_worker()
        return estimate_kit(self.database, me.id, queue_id, max(0, min(count, MAX_KIT_CASES)),
                            self.taxonomy)

    def lease_kit(self, queue_id: uuid.UUID, count: int, duration: timedelta,
                  progress: Progress | None = None) -> KitReport:
        if self.taxonomy is None:
            raise KitRefused("the backend has no policy taxonomy to check the kit against")
        if count > MAX_KIT_CASES:
            raise KitRefused(f"a kit holds at most {MAX_KIT_CASES:,} cases")
        me = self._case_worker()
        return lease_kit(self.database, me.id, queue_id, count, self.taxonomy, self.clock,
                         bounded(duration, MAX_KIT_LEASE), progress)

    # -- quality -----------------------------------------------------------------------

    def draw_sample(self, since: datetime, rate: float, seed: int) -> DrawnSample:
        """Draw an audit sample for yourself on the backend (auditors, leads, admins)."""
        if self.taxonomy is None:
            raise LeaseError("the backend has no policy taxonomy to sample against")
        if not 0.0 <= rate <= 1.0:
            raise LeaseError("a sampling rate is between 0 and 1")
        with self.database.talking(), self.database.writing() as session:
            me = self.actor(session)
            if self.read_as_person:  # the sampling frame shows this person's share only
                session.execute(text("SELECT set_config('rw.acting_user', :name, true)"),
                                {"name": self.username})
            stored = draw_sample(
                session, self.taxonomy, auditor_id=me.id, drawn_by=me.id, since=since,
                clock=self.clock, seed=seed, policy=SamplingPolicy(base_rate=rate),
                version=next_change_version(session))
        return DrawnSample(stored.stored, stored.sample.population, stored.sample.seed,
                           stored.already_sampled, stored.own_decisions)

    # -- wellness ----------------------------------------------------------------------

    def team_wellness(self, day: date) -> TeamWellness | None:
        """A lead's team aggregate for one day, from the figures people chose to share;
        below three sharers only the count (no one can be singled out)."""
        with self.database.talking(), self.database.sessions() as session:
            me = self.actor(session)
            if not me.leads:
                raise LeaseError("only leads see their teams' wellness figures")
            members = select(TeamMembership.reviewer_id).where(
                TeamMembership.team_code.in_(me.team_codes))
            rows = session.scalars(select(WellnessSummary).where(
                WellnessSummary.day == day.isoformat(),
                WellnessSummary.reviewer_id.in_(members),
                WellnessSummary.reviewer_id != me.id)).all()
        if not rows:
            return None
        aggregate = team_aggregate(
            [ReviewerDay(DailyExposure(day, exposure_s=r.exposure_s,
                                       graphic_queue_s=r.graphic_queue_s), True, ())
             for r in rows], WellnessPolicy())
        return TeamWellness(day, aggregate.reviewers_counted, aggregate.suppressed,
                            aggregate.over_budget_count, aggregate.warning_count,
                            aggregate.median_exposure_s, aggregate.median_graphic_queue_s)

    def dispose(self) -> None:
        self.database.dispose()
