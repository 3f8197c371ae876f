"""Who is asking: the person a backend request acts for, and what their role lets them touch.

Every change a workstation sends is applied for one `Actor`, loaded from the backend's own
rows (never from the request): the reviewer account behind the signed-in session, its role,
its teams' queues and the device it signed in from. The appliers (`reviewer.sync.appliers`)
and the lease and sampling calls check each workflow rule against it, so a tampered client
can do no more than its person's role allows. Row-level security on PostgreSQL says the same
for reads (defence in depth); it is not what keeps writes in bounds, since people's roles
may not write at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.store.models import Case, Escalation, QaSample, Queue, Reviewer, TeamMembership
from reviewer.vocabulary import EscalationTeam, Role


class ActorRefused(Exception):
    """There is no active account for this person on the backend; the message says so."""


@dataclass(frozen=True)
class Actor:
    """A signed-in person, as the backend knows them."""

    id: uuid.UUID
    username: str
    role: str
    team_codes: frozenset[str]
    queue_ids: frozenset[uuid.UUID]
    client_id: str | None = None

    @classmethod
    def load(cls, session: Session, username: str, client_id: str | None = None) -> Actor:
        reviewer = session.scalar(select(Reviewer).where(Reviewer.username == username))
        if reviewer is None or not reviewer.active:
            raise ActorRefused(f"there is no active reviewer account {username!r} on the "
                               "backend")
        return cls.of(session, reviewer, client_id)

    @classmethod
    def of(cls, session: Session, reviewer: Reviewer, client_id: str | None = None) -> Actor:
        teams = frozenset(session.scalars(
            select(TeamMembership.team_code).where(TeamMembership.reviewer_id == reviewer.id)))
        queues = frozenset(session.scalars(select(Queue.id).where(Queue.team_code.in_(teams))))
        return cls(reviewer.id, reviewer.username, reviewer.role, teams, queues, client_id)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    @property
    def leads(self) -> bool:
        """A lead or an admin: may correct, reassign and decide on their teams' cases."""
        return self.role in (Role.LEAD.value, Role.ADMIN.value)

    @property
    def works_cases(self) -> bool:
        """Reviewers, leads and admins take, decide, escalate, note and answer cases. An
        auditor audits (samples, blind reviews, verdicts) and does no case work: their role
        could never write a lease, decision, note, escalation or reply, and the service
        keeps it so."""
        return self.role in (Role.REVIEWER.value, Role.LEAD.value, Role.ADMIN.value)

    @property
    def samples(self) -> bool:
        return self.role in (Role.AUDITOR.value, Role.LEAD.value, Role.ADMIN.value)

    @property
    def second_reviews(self) -> bool:
        return self.leads or EscalationTeam.SECOND_LEVEL.value in self.team_codes

    def works_queue(self, queue_id: uuid.UUID | None) -> bool:
        return self.is_admin or (queue_id is not None and queue_id in self.queue_ids)

    def may_see_case(self, session: Session, case: Case) -> bool:
        """The cases a person may act on: their teams' queues, cases they escalated, and
        for auditors the cases sampled for them (what row security shows them, too)."""
        if self.works_queue(case.queue_id):
            return True
        escalated = session.scalar(select(Escalation.id).where(
            Escalation.case_id == case.id, Escalation.reviewer_id == self.id).limit(1))
        if escalated is not None:
            return True
        if self.role == Role.AUDITOR.value:
            sampled = session.scalar(select(QaSample.id).where(
                QaSample.case_id == case.id, QaSample.auditor_id == self.id).limit(1))
            return sampled is not None
        return False
