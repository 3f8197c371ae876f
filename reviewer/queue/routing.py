"""Language routing: a lead turns it off or on for a queue, and sees the languages nobody
on shift reviews.

Get next (`reviewer.queue.leases.lease_next_case`) offers a reviewer only cases in the
languages they review, unless the case's queue has ``language_routing`` off. A lead turns it
off (say, for a night shift with nobody who reads Japanese) with `set_language_routing`: one
local transaction that changes the replica's queue row, appends an audit entry and enqueues a
``queue_routing`` mutation carrying it. The backend applies it (`apply_queue_routing`) only
for a lead of that queue's team or an admin.

`unserved_cases` answers, from the lead's replica alone, which open cases of their queues
are in a language none of the queue's team members on shift reviews. "On shift" is someone
who took a lease (or was given one) or recorded a decision within the last
``routing/on_shift_hours`` (`reviewer.settings.ROUTING_ON_SHIFT_HOURS`).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, union
from sqlalchemy.orm import Session, sessionmaker

from reviewer.clock import Clock
from reviewer.queue.leases import in_languages, reviewed_languages
from reviewer.security.audit import AuditKind, append_audit
from reviewer.store.database import writing
from reviewer.store.models import Case, Decision, LeaseEvent, Queue, Reviewer, TeamMembership
from reviewer.store.outbox import enqueue
from reviewer.store.payload import MutationRejected, payload_id, payload_when
from reviewer.vocabulary import CaseStatus, Role

MUTATION_KIND = "queue_routing"
SHIFT_LEASE_KINDS = ("leased", "renewed", "reassigned")
CASE_ROLES = (Role.REVIEWER.value, Role.LEAD.value, Role.ADMIN.value)


class RoutingRefused(ValueError):
    """The routing change cannot be made; the message says why."""


def _may_route(role: str, team_codes: set[str] | frozenset[str], queue: Queue) -> bool:
    """A lead of the queue's team, or an admin."""
    return role == Role.ADMIN.value or (role == Role.LEAD.value and queue.team_code in team_codes)


def may_route(sessions: sessionmaker[Session], actor_id: uuid.UUID,
              queue_id: uuid.UUID) -> bool:
    """Whether this person may change the queue's language routing (by the replica)."""
    with sessions() as session:
        queue = session.get(Queue, queue_id)
        actor = session.get(Reviewer, actor_id)
        if queue is None or actor is None:
            return False
        teams = set(session.scalars(select(TeamMembership.team_code)
                                    .where(TeamMembership.reviewer_id == actor_id)))
        return _may_route(actor.role, teams, queue)


def set_language_routing(sessions: sessionmaker[Session], *, queue_id: uuid.UUID,
                         actor_id: uuid.UUID, client_id: str, on: bool,
                         clock: Clock) -> bool:
    """Turn language routing on or off for a queue, as a lead of its team (or an admin).

    One local transaction: the replica's queue row, an audit entry and the
    ``queue_routing`` mutation that carries it to the backend, which checks the rule again.
    Returns whether anything changed (False: it already was so, nothing is sent).
    """
    now = clock.now()
    with writing(sessions) as session:
        queue = session.get(Queue, queue_id)
        if queue is None:
            raise RoutingRefused("the queue is not on this workstation")
        actor = session.get(Reviewer, actor_id)
        teams = set(session.scalars(select(TeamMembership.team_code)
                                    .where(TeamMembership.reviewer_id == actor_id)))
        if actor is None or not _may_route(actor.role, teams, queue):
            raise RoutingRefused("only a lead of this queue's team, or an admin, can change "
                                 "its language routing")
        if bool(queue.language_routing) == on:
            return False
        queue.language_routing = on
        payload: dict[str, Any] = {"queue_id": str(queue_id), "language_routing": on,
                                   "actor_id": str(actor_id), "changed_at": now.isoformat()}
        append_audit(session, origin=client_id, actor_id=actor_id,
                     kind=AuditKind.QUEUE_ROUTING, subject=f"queue:{queue_id}",
                     details={"language_routing": on, "queue": queue.name}, now=now,
                     carrier=payload)
        enqueue(session, client_id=client_id, kind=MUTATION_KIND, entity_id=queue_id,
                payload=payload, now=now)
    return True


def apply_queue_routing(session: Session, payload: dict[str, Any], version: int,
                        ctx: Any = None) -> None:
    """The backend's side (`reviewer.sync.appliers`): only a lead of the queue's team or an
    admin changes it; the queue's new version brings the row to every replica."""
    queue = session.get(Queue, payload_id(payload, "queue_id"))
    if queue is None:
        raise MutationRejected("the queue does not exist on the backend")
    on = payload.get("language_routing")
    if not isinstance(on, bool):
        raise MutationRejected("language_routing must be true or false")
    payload_when(payload, "changed_at")
    actor = getattr(ctx, "actor", None)
    if actor is not None:
        if payload_id(payload, "actor_id") != actor.id:
            raise MutationRejected("actor_id must be you: changes are recorded only in the "
                                   "name of the person signed in")
        if not _may_route(actor.role, actor.team_codes, queue):
            raise MutationRejected("only a lead of this queue's team, or an admin, can "
                                   "change its language routing")
    queue.language_routing = on
    queue.change_version = version


ROUTING_APPLIERS = {MUTATION_KIND: apply_queue_routing}


# -- languages nobody on shift reviews ----------------------------------------------------


@dataclass(frozen=True)
class UnservedCases:
    """Open cases of a lead's queues in a language none of the queue's team on shift reviews."""

    case_ids: frozenset[uuid.UUID] = frozenset()
    by_language: dict[str, int] = field(default_factory=dict)
    on_shift: int = 0
    """How many people of the lead's teams count as on shift."""
    window: timedelta = timedelta(hours=8)

    @property
    def count(self) -> int:
        return len(self.case_ids)

    def summary(self) -> str:
        """One line for the status bar, or "" when every open case has a reader on shift."""
        if not self.case_ids:
            return ""
        languages = ", ".join(f"{code.upper()} {n}" for code, n in
                              sorted(self.by_language.items(), key=lambda kv: (-kv[1], kv[0])))
        return f"Unserved languages: {self.count} case(s) ({languages})"


def on_shift_people(session: Session, since: datetime) -> set[uuid.UUID]:
    """People who took or were given a lease, or recorded a decision, since ``since``."""
    leased = select(LeaseEvent.reviewer_id).where(
        LeaseEvent.kind.in_(SHIFT_LEASE_KINDS), LeaseEvent.at >= since,
        LeaseEvent.reviewer_id.is_not(None))
    decided = select(Decision.reviewer_id).where(Decision.created_at >= since)
    return {person for person in session.scalars(union(leased, decided)) if person is not None}


def unserved_cases(sessions: sessionmaker[Session], lead_id: uuid.UUID, now: datetime,
                   window: timedelta) -> UnservedCases:
    """For a lead's queues (an admin's: all), the open (new) cases whose language none of the
    queue's team members on shift reviews (see the module docstring), from the replica.

    People with no recorded languages count as reviewing none. Archived queues are left out.
    Not for reviewers and auditors: they get an empty answer.
    """
    with sessions() as session:
        lead = session.get(Reviewer, lead_id)
        if lead is None or lead.role not in (Role.LEAD.value, Role.ADMIN.value):
            return UnservedCases(window=window)
        queues = select(Queue).where(Queue.archived.is_(False))
        if lead.role != Role.ADMIN.value:
            teams = select(TeamMembership.team_code).where(TeamMembership.reviewer_id == lead_id)
            queues = queues.where(Queue.team_code.in_(teams))
        lead_queues = list(session.scalars(queues))
        shift = on_shift_people(session, now - window)
        readers: dict[str, set[str]] = {}
        counted: set[uuid.UUID] = set()
        for team_code in {queue.team_code for queue in lead_queues}:
            members = session.scalars(
                select(Reviewer).join(TeamMembership, TeamMembership.reviewer_id == Reviewer.id)
                .where(TeamMembership.team_code == team_code, Reviewer.active.is_(True),
                       Reviewer.role.in_(CASE_ROLES))).all()
            languages: set[str] = set()
            for member in members:
                if member.id in shift:
                    counted.add(member.id)
                    languages.update(reviewed_languages(member))
            readers[team_code] = languages
        ids: set[uuid.UUID] = set()
        by_language: Counter[str] = Counter()
        for queue in lead_queues:
            served = tuple(sorted(readers.get(queue.team_code, set())))
            rows = session.execute(
                select(Case.id, Case.language).where(
                    Case.queue_id == queue.id, Case.status == CaseStatus.NEW.value,
                    ~in_languages(Case.language, served))).all()
            for case_id, language in rows:
                ids.add(case_id)
                by_language[str(language).lower()] += 1
    return UnservedCases(frozenset(ids), dict(by_language), len(counted), window)
