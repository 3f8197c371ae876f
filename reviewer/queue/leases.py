"""Leases: who is working on a case, so that two reviewers never work the same one.

Leases are shared, so they are taken on the backend (the one thing the app must ask the
backend for) and reach the replica by the next pull. Every lease carries a fencing token
that only grows; a decision made under a lease that has since passed to someone else is
recognised by its older token and kept as a conflict, never dropped.

On PostgreSQL, "get next" takes the best open case that nobody else is taking at this very
moment (``FOR UPDATE SKIP LOCKED``), so reviewers pressing N together never wait for each
other and never get the same case. Get next routes by language: it offers a reviewer only
cases in the languages they review (`Reviewer.languages`), unless a lead turned language
routing off for the case's queue (`reviewer.queue.routing`); archived queues are never
offered. Every function here locks case rows before it takes a
change version (the backend-wide lock order, see ``reviewer.sync.engine``), and only ever
waits for a case lock while it holds nothing else.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from reviewer.clock import Clock
from reviewer.store.changes import next_change_version
from reviewer.store.database import Database
from reviewer.store.models import Case, LeaseEvent, Queue, Reviewer, TeamMembership
from reviewer.vocabulary import CaseStatus, Role

DEFAULT_LEASE = timedelta(minutes=15)


@dataclass(frozen=True)
class Lease:
    case_id: uuid.UUID
    reviewer_id: uuid.UUID
    fencing_token: int
    expires_at: datetime

    def time_left(self, now: datetime) -> timedelta:
        return self.expires_at - now


class LeaseError(Exception):
    """A lease could not be taken, renewed or changed; the message says why."""


class LeaseLost(LeaseError):
    """The lease expired and passed to someone else, or a lead took it back."""


def _event(session: Session, case: Case, kind: str, version: int, now: datetime, *,
           reviewer_id: uuid.UUID | None, actor_id: uuid.UUID | None, reason: str = "") -> None:
    session.add(LeaseEvent(
        id=uuid.uuid4(), case_id=case.id, reviewer_id=reviewer_id, actor_id=actor_id,
        kind=kind, fencing_token=case.fencing_token, reason=reason, at=now,
        change_version=version,
    ))


def expire_leases(session: Session, now: datetime) -> int:
    """Return every case whose lease ran out to the queue.

    On PostgreSQL a lease has also run out by the server's clock: a workstation whose clock
    is ahead never frees a colleague's lease early (the backend refuses that; see
    reviewer.security.row_security).
    """
    deadline: Any = now
    if session.get_bind().dialect.name == "postgresql":
        deadline = func.least(now, func.now())
    expired = session.scalars(
        select(Case).where(Case.status == CaseStatus.LEASED.value,
                           Case.lease_expires_at <= deadline)
        .with_for_update(skip_locked=True)
    ).all()
    if not expired:
        return 0
    version = next_change_version(session)
    for case in expired:
        _event(session, case, "expired", version, now, reviewer_id=case.lease_holder_id,
               actor_id=None)
        case.status = CaseStatus.NEW.value
        case.lease_holder_id = None
        case.lease_expires_at = None
        case.change_version = version
    return len(expired)


def _active_reviewer(session: Session, reviewer_id: uuid.UUID) -> Reviewer:
    reviewer = session.get(Reviewer, reviewer_id)
    if reviewer is None or not reviewer.active:
        raise LeaseError("this reviewer account is not active on the backend")
    return reviewer


def workable_queue_ids(session: Session, reviewer_id: uuid.UUID) -> list[uuid.UUID] | None:
    """The queues a reviewer may take cases from: their teams' (a lead's too; None: all,
    for admins)."""
    reviewer = _active_reviewer(session, reviewer_id)
    if reviewer.role == Role.ADMIN.value:
        return None
    teams = select(TeamMembership.team_code).where(TeamMembership.reviewer_id == reviewer_id)
    return list(session.scalars(select(Queue.id).where(Queue.team_code.in_(teams))))


def grant_lease(session: Session, case: Case, reviewer_id: uuid.UUID, now: datetime,
           duration: timedelta, kind: str = "leased",
           actor_id: uuid.UUID | None = None) -> Lease:
    version = next_change_version(session)
    case.status = CaseStatus.LEASED.value
    case.lease_holder_id = reviewer_id
    case.lease_expires_at = now + duration
    case.fencing_token = case.fencing_token + 1
    case.change_version = version
    _event(session, case, kind, version, now, reviewer_id=reviewer_id,
           actor_id=actor_id or reviewer_id)
    return Lease(case.id, reviewer_id, case.fencing_token, now + duration)


def reviewed_languages(reviewer: Reviewer) -> tuple[str, ...]:
    """The language codes a person reviews, lower-cased and without blanks (their skills
    from the organisation; empty: nothing is recorded)."""
    return tuple(sorted({str(code).strip().lower() for code in reviewer.languages or ()
                         if str(code).strip()}))


def in_languages(language: ColumnElement[str], codes: tuple[str, ...]) -> ColumnElement[bool]:
    """SQL: ``language`` is one of ``codes``, or a regional form of one ("pt-BR" for
    "pt"). Codes are compared lower-cased."""
    if not codes:
        return false()
    lowered = func.lower(language)
    return or_(lowered.in_(codes), *(lowered.like(f"{code}-%") for code in codes))


def lease_next_case(backend: Database, reviewer_id: uuid.UUID, clock: Clock,
                    duration: timedelta = DEFAULT_LEASE) -> Lease | None:
    """Atomically lease the highest-priority open case this reviewer may work.

    The case is one of the queues they may work (`workable_queue_ids`) that is not
    archived, and in a language they review (`Reviewer.languages`, a regional form such as
    "pt-BR" counting for "pt"), unless the queue's ``language_routing`` is off. A person
    with no recorded languages is not filtered by language: nothing in the organisation says
    what they read, and routing them nothing would be worse than routing them anything.
    The case is chosen and locked by one query (``FOR UPDATE SKIP LOCKED``); the queue
    rules are subqueries of it, so no queue row is locked.
    """
    now = clock.now()
    with backend.talking(), backend.writing() as session:
        expire_leases(session, now)
        reviewer = _active_reviewer(session, reviewer_id)
        queues = workable_queue_ids(session, reviewer_id)
        offered = select(Queue.id).where(Queue.archived.is_(False))
        if queues is not None:
            offered = offered.where(Queue.id.in_(queues))
        statement = select(Case).where(Case.status == CaseStatus.NEW.value,
                                       Case.queue_id.in_(offered))
        languages = reviewed_languages(reviewer)
        if languages:
            unrouted = offered.where(Queue.language_routing.is_(False))
            statement = statement.where(or_(Case.queue_id.in_(unrouted),
                                            in_languages(Case.language, languages)))
        case = session.scalars(
            statement.order_by(Case.priority_key, Case.id).limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if case is None:
            return None
        return grant_lease(session, case, reviewer_id, now, duration)


def lease_case(backend: Database, case_id: uuid.UUID, reviewer_id: uuid.UUID, clock: Clock,
               duration: timedelta = DEFAULT_LEASE) -> Lease:
    """Lease one particular case (opened from the queue), unless someone else holds it."""
    now = clock.now()
    with backend.talking(), backend.writing() as session:
        case = _locked_case(session, case_id)
        expire_leases(session, now)
        if case.status == CaseStatus.LEASED.value and case.lease_holder_id != reviewer_id:
            holder = session.get(Reviewer, case.lease_holder_id)
            name = holder.display_name if holder else "another reviewer"
            raise LeaseError(f"{name} is working on this case until "
                             f"{case.lease_expires_at:%H:%M} UTC")
        if case.status not in (CaseStatus.NEW.value, CaseStatus.LEASED.value):
            raise LeaseError(f"the case is already {case.status}")
        queues = workable_queue_ids(session, reviewer_id)
        if queues is not None and case.queue_id not in queues:
            raise LeaseError("this case is in a queue of a team you are not in")
        if case.lease_holder_id == reviewer_id:
            return _renew(session, case, now, duration)
        return grant_lease(session, case, reviewer_id, now, duration)


def _renew(session: Session, case: Case, now: datetime, duration: timedelta) -> Lease:
    version = next_change_version(session)
    case.lease_expires_at = now + duration
    case.change_version = version
    _event(session, case, "renewed", version, now, reviewer_id=case.lease_holder_id,
           actor_id=case.lease_holder_id)
    assert case.lease_holder_id is not None
    return Lease(case.id, case.lease_holder_id, case.fencing_token, now + duration)


def _locked_case(session: Session, case_id: uuid.UUID) -> Case:
    case = session.scalars(select(Case).where(Case.id == case_id).with_for_update()).first()
    if case is None:
        raise LeaseError("the case does not exist on the backend")
    return case


def _held(session: Session, lease: Lease, now: datetime) -> Case:
    """The case, locked, if the lease is still held after run-out leases are expired."""
    case = session.scalars(
        select(Case).where(Case.id == lease.case_id).with_for_update()
    ).first()
    expire_leases(session, now)
    if (
        case is None
        or case.status != CaseStatus.LEASED.value
        or case.lease_holder_id != lease.reviewer_id
        or case.fencing_token != lease.fencing_token
    ):
        raise LeaseLost("your lease on this case has ended; it may be with someone else now")
    return case


def renew_lease(backend: Database, lease: Lease, clock: Clock,
                duration: timedelta = DEFAULT_LEASE) -> Lease:
    """Extend a lease still held; raises LeaseLost if it expired and moved on."""
    now = clock.now()
    with backend.talking(), backend.writing() as session:
        case = _held(session, lease, now)
        return _renew(session, case, now, duration)


def release_lease(backend: Database, lease: Lease, clock: Clock, reason: str,
                  kind: str = "skipped") -> None:
    """Give the case back to the queue with a reason (Skip)."""
    if not reason.strip():
        raise LeaseError("say why you are skipping this case")
    now = clock.now()
    with backend.talking(), backend.writing() as session:
        case = _held(session, lease, now)
        version = next_change_version(session)
        _event(session, case, kind, version, now, reviewer_id=lease.reviewer_id,
               actor_id=lease.reviewer_id, reason=reason.strip())
        case.status = CaseStatus.NEW.value
        case.lease_holder_id = None
        case.lease_expires_at = None
        case.change_version = version


def reassign_lease(backend: Database, case_id: uuid.UUID, actor_id: uuid.UUID,
                   to_reviewer_id: uuid.UUID | None, clock: Clock, reason: str = "",
                   duration: timedelta = DEFAULT_LEASE) -> Lease | None:
    """A lead moves a case's lease to another reviewer, or releases it (to None)."""
    now = clock.now()
    with backend.talking(), backend.writing() as session:
        actor = session.get(Reviewer, actor_id)
        if actor is None or actor.role not in (Role.LEAD.value, Role.ADMIN.value):
            raise LeaseError("only a lead or an admin can reassign or release a lease")
        case = session.scalars(select(Case).where(Case.id == case_id).with_for_update()).first()
        if case is None:
            raise LeaseError("the case does not exist on the backend")
        if case.status not in (CaseStatus.NEW.value, CaseStatus.LEASED.value):
            raise LeaseError(f"the case is already {case.status}")
        if to_reviewer_id is None:
            version = next_change_version(session)
            _event(session, case, "released", version, now, reviewer_id=case.lease_holder_id,
                   actor_id=actor_id, reason=reason)
            case.status = CaseStatus.NEW.value
            case.lease_holder_id = None
            case.lease_expires_at = None
            case.fencing_token += 1  # a decision under the old lease becomes a conflict
            case.change_version = version
            return None
        if session.get(Reviewer, to_reviewer_id) is None:
            raise LeaseError("there is no such reviewer")
        return grant_lease(session, case, to_reviewer_id, now, duration, kind="reassigned",
                      actor_id=actor_id)
