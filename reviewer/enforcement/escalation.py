"""Escalating a case to a specialist team, and the thread of everything that happened to it.

Routing: each escalation team (`EscalationTeam`: Legal, Public Policy, Core Policy,
Product, Law Enforcement Response, Communications, second-level review) is a `Team` with
code `escalation_team_code(team)` and one queue, "Escalations: <team>"
(`ensure_escalation_queues` creates them on a backend; the demo seeder calls it). An
escalation is one local transaction: the `Escalation` row, the case marked escalated (it
leaves the reviewer's open queue), the outbox mutation and the audit entry. When the
backend applies it, it moves the case into the team's queue and opens it there (status
new, lease released), so the team's members get it with "get next" like any other case,
and the case's thread shows how it got there. A backend without escalation queues keeps
the case where it is, marked escalated. An escalation is resolved when a decision on the
case reaches the backend.

`case_thread` is the chronological history shown next to a case: report, lease events,
notes, decisions (with their four-eyes state and corrections), second reviews,
escalations and replies.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reviewer.clock import Clock
from reviewer.security.audit import AuditKind, append_audit
from reviewer.store.database import writing
from reviewer.store.models import (
    Case,
    Decision,
    Escalation,
    LeaseEvent,
    Note,
    Queue,
    Response,
    Reviewer,
    SecondReview,
    Team,
    TeamMembership,
)
from reviewer.store.outbox import enqueue
from reviewer.vocabulary import Action, CaseStatus, Channel, EscalationTeam, Surface, Urgency

ESCALATION_NAMESPACE = uuid.UUID("0b6f3c1e-8f1d-4b53-9d36-6f0a2f1c7e44")
ESCALATION_QUEUE_AREA = "escalation"
ESCALATION_QUEUE_SLA_HOURS = 24.0
MIN_ESCALATION_REASON_CHARS = 10
MAX_ESCALATION_REASON_CHARS = 4000
ESCALATABLE_STATUSES = (CaseStatus.NEW.value, CaseStatus.LEASED.value,
                        CaseStatus.ESCALATED.value)


def escalation_team_code(team: EscalationTeam | str) -> str:
    """The `Team.code` of an escalation team, e.g. "escalation-second-level"."""
    return "escalation-" + EscalationTeam(team).value.replace("_", "-")


SECOND_REVIEW_TEAM = escalation_team_code(EscalationTeam.SECOND_LEVEL)
"""Members of this team may approve or reject severe actions (see
reviewer.enforcement.decisions)."""


def escalation_queue_name(team: EscalationTeam | str) -> str:
    return f"Escalations: {EscalationTeam(team).label}"


def escalation_queue_id(team: EscalationTeam | str) -> uuid.UUID:
    return uuid.uuid5(ESCALATION_NAMESPACE, f"queue:{EscalationTeam(team).value}")


def ensure_escalation_queues(
    session: Session, *, version: int, sla_hours: float = ESCALATION_QUEUE_SLA_HOURS,
    members: dict[EscalationTeam, list[uuid.UUID]] | None = None,
) -> dict[EscalationTeam, Queue]:
    """Create each escalation team and its queue on a backend if missing (idempotent).

    `version` is the change version to stamp new rows with (the caller takes it, e.g. with
    `reviewer.store.changes.next_change_version`); `members` adds team memberships.
    """
    queues: dict[EscalationTeam, Queue] = {}
    for team in EscalationTeam:
        code = escalation_team_code(team)
        if session.get(Team, code) is None:
            session.add(Team(code=code, name=f"{team.label} (escalations)",
                             change_version=version))
            session.flush()
        queue = session.scalar(select(Queue).where(Queue.team_code == code))
        if queue is None:
            queue = Queue(id=escalation_queue_id(team), name=escalation_queue_name(team),
                          team_code=code, policy_area=ESCALATION_QUEUE_AREA,
                          sla_hours=sla_hours, graphic=False, change_version=version)
            session.add(queue)
        for reviewer_id in (members or {}).get(team, []):
            if session.get(TeamMembership, (reviewer_id, code)) is None:
                session.add(TeamMembership(reviewer_id=reviewer_id, team_code=code,
                                           change_version=version))
        queues[team] = queue
    session.flush()
    return queues


def destination_queue(session: Session, to_team: str) -> Queue | None:
    """The queue an escalation to `to_team` lands in, if this database has one."""
    try:
        code = escalation_team_code(to_team)
    except ValueError:
        return None
    return session.scalars(
        select(Queue).where(Queue.team_code == code).order_by(Queue.name)).first()


class EscalationRejected(ValueError):
    """The escalation cannot be recorded; ``problems`` maps a field to what is wrong."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {text}" for field, text in problems.items()))


def validate_escalation(case: Case | None, *, reviewer_id: uuid.UUID, to_team: str,
                        urgency: str, reason: str, now: datetime) -> dict[str, str]:
    """Every problem with an escalation, by field ("case", "team", "urgency", "reason")."""
    problems: dict[str, str] = {}
    if case is None:
        return {"case": "the case no longer exists in this workstation"}
    if case.status not in ESCALATABLE_STATUSES:
        problems["case"] = f"the case is already {case.status}"
    elif (case.status == CaseStatus.LEASED.value
          and case.lease_holder_id not in (None, reviewer_id)
          and (case.lease_expires_at is None or case.lease_expires_at > now)):
        problems["case"] = "another reviewer holds the lease on this case"
    if to_team not in {team.value for team in EscalationTeam}:
        problems["team"] = "choose the team to escalate to"
    if urgency not in {level.value for level in Urgency}:
        problems["urgency"] = "choose how urgent it is"
    text = reason.strip()
    if len(text) < MIN_ESCALATION_REASON_CHARS:
        problems["reason"] = (f"say what the team should look at, in at least "
                              f"{MIN_ESCALATION_REASON_CHARS} characters")
    elif len(text) > MAX_ESCALATION_REASON_CHARS:
        problems["reason"] = f"keep the reason under {MAX_ESCALATION_REASON_CHARS:,} characters"
    return problems


def escalate_case(
    sessions: sessionmaker[Session],
    *,
    case_id: uuid.UUID,
    reviewer_id: uuid.UUID,
    client_id: str,
    to_team: EscalationTeam | str,
    urgency: Urgency | str,
    reason: str,
    clock: Clock,
) -> Escalation:
    """Escalate a case: one local transaction with its outbox entry and audit entry.

    Raises EscalationRejected with the problems by field.
    """
    to_team, urgency = str(to_team), str(urgency)
    with writing(sessions) as session:
        now = clock.now()
        case = session.scalar(select(Case).where(Case.id == case_id).with_for_update())
        problems = validate_escalation(case, reviewer_id=reviewer_id, to_team=to_team,
                                       urgency=urgency, reason=reason, now=now)
        if problems:
            raise EscalationRejected(problems)
        assert case is not None
        escalation = Escalation(id=uuid.uuid4(), case_id=case.id, reviewer_id=reviewer_id,
                                to_team=to_team, reason=reason.strip(), urgency=urgency,
                                created_at=now)
        session.add(escalation)
        from_queue = case.queue_id
        case.status = CaseStatus.ESCALATED.value
        case.updated_at = now
        payload: dict[str, Any] = {
            "id": str(escalation.id), "case_id": str(case.id), "reviewer_id": str(reviewer_id),
            "to_team": to_team, "reason": escalation.reason, "urgency": urgency,
            "created_at": now.isoformat(),
        }
        append_audit(
            session, origin=client_id, actor_id=reviewer_id, kind=AuditKind.ESCALATION,
            subject=f"case:{case.id}", now=now, carrier=payload,
            details={"escalation_id": str(escalation.id), "to_team": to_team,
                     "urgency": urgency, "from_queue_id": str(from_queue)},
        )
        enqueue(session, client_id=client_id, kind="escalation", entity_id=escalation.id,
                payload=payload, now=now)
        session.flush()
        session.expunge(escalation)
    return escalation


def open_escalations(session: Session, case_id: uuid.UUID) -> list[Escalation]:
    """The case's escalations not yet resolved by a decision, oldest first."""
    return list(session.scalars(
        select(Escalation).where(Escalation.case_id == case_id,
                                 Escalation.resolved_at.is_(None))
        .order_by(Escalation.created_at)))


# -- the thread -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ThreadEntry:
    """One thing that happened to a case, for display (oldest first in `case_thread`).

    `kind` is one of "reported", "lease", "note", "decision", "second_review",
    "escalation", "response"; `summary` is one line; `text` is the body (rationale, note,
    reason, reply), shown as plain text.
    """

    at: datetime
    kind: str
    actor: str
    summary: str
    text: str = ""
    entity_id: uuid.UUID | None = None


_KIND_ORDER = {"reported": 0, "lease": 1, "note": 2, "decision": 3, "second_review": 4,
               "escalation": 5, "response": 6}
_LEASE_WORDS = {
    "leased": "took the case",
    "released": "released the lease",
    "skipped": "skipped the case",
    "expired": "lease ran out; the case went back to the queue",
    "reassigned": "lease reassigned",
}


def _label(enum: Any, value: str) -> str:
    try:
        return str(enum(value).label)
    except ValueError:
        return value


def case_thread(session: Session, case_id: uuid.UUID) -> list[ThreadEntry]:
    """Everything that happened to the case, oldest first (lease renewals left out)."""
    case = session.get(Case, case_id)
    if case is None:
        return []
    decisions = list(session.scalars(select(Decision).where(Decision.case_id == case_id)))
    all_reviews = list(session.scalars(
        select(SecondReview).where(SecondReview.case_id == case_id)
        .order_by((SecondReview.change_version > 0).desc(), SecondReview.created_at)))
    reviews: dict[uuid.UUID, SecondReview] = {}  # the standing verdict of each decision
    for review in all_reviews:
        reviews.setdefault(review.decision_id, review)
    escalations = list(session.scalars(select(Escalation).where(Escalation.case_id == case_id)))
    notes = list(session.scalars(select(Note).where(Note.case_id == case_id)))
    leases = list(session.scalars(
        select(LeaseEvent).where(LeaseEvent.case_id == case_id, LeaseEvent.kind != "renewed")))
    responses = list(session.scalars(select(Response).where(Response.case_id == case_id)))
    people = {
        *(d.reviewer_id for d in decisions), *(r.reviewer_id for r in all_reviews),
        *(e.reviewer_id for e in escalations), *(n.author_id for n in notes),
        *(r.author_id for r in responses),
        *(x for e in leases for x in (e.actor_id, e.reviewer_id) if x is not None),
    }
    names = {row.id: row.display_name for row in session.execute(
        select(Reviewer.id, Reviewer.display_name).where(Reviewer.id.in_(people)))}

    def name(reviewer_id: uuid.UUID | None) -> str:
        if reviewer_id is None:
            return ""
        return names.get(reviewer_id, "unknown reviewer")

    entries = [ThreadEntry(
        case.reported_at, "reported", "",
        f"Reported ({_label(Channel, case.channel)}, {_label(Surface, case.surface)})",
        "\n".join(t for t in (case.reported_text, case.reporter_note) if t), case.id)]
    for event in leases:
        summary = _LEASE_WORDS.get(event.kind, event.kind)
        if event.kind == "reassigned":
            summary = f"lease reassigned to {name(event.reviewer_id)}"
        entries.append(ThreadEntry(event.at, "lease", name(event.actor_id),
                                   summary[0].upper() + summary[1:], event.reason or "",
                                   event.id))
    for note in notes:
        entries.append(ThreadEntry(note.created_at, "note", name(note.author_id),
                                   "Handoff note", note.body, note.id))
    by_id = {d.id: d for d in decisions}
    for decision in decisions:
        parts = [f"Decided {decision.policy_code}: {_label(Action, decision.action)}"]
        if decision.supersedes_id is not None:
            earlier = by_id.get(decision.supersedes_id)
            when = f" of {earlier.created_at:%Y-%m-%d %H:%M}" if earlier else ""
            parts.append(f"corrects the decision{when}")
        if decision.requires_second_review:
            review = reviews.get(decision.id)
            parts.append("waiting for a second reviewer" if review is None
                         else f"{review.verdict} by {name(review.reviewer_id)}")
        if decision.conflict:
            parts.append("flagged as a conflict for a lead")
        entries.append(ThreadEntry(decision.created_at, "decision", name(decision.reviewer_id),
                                   "; ".join(parts), decision.rationale, decision.id))
    for review in all_reviews:
        decided = by_id.get(review.decision_id)
        what = f" {_label(Action, decided.action)}" if decided else ""
        entries.append(ThreadEntry(
            review.created_at, "second_review", name(review.reviewer_id),
            f"{review.verdict.capitalize()} the{what} decision (second review)", review.note,
            review.id))
    for escalation in escalations:
        summary = (f"Escalated to {_label(EscalationTeam, escalation.to_team)} "
                   f"({escalation.urgency})")
        if escalation.resolved_at is not None:
            summary += f"; resolved {escalation.resolved_at:%Y-%m-%d %H:%M}"
        entries.append(ThreadEntry(escalation.created_at, "escalation",
                                   name(escalation.reviewer_id), summary, escalation.reason,
                                   escalation.id))
    for response in responses:
        entries.append(ThreadEntry(response.created_at, "response", name(response.author_id),
                                   f"Reply to the {_label(Channel, response.channel).lower()}",
                                   response.body, response.id))
    entries.sort(key=lambda e: (e.at, _KIND_ORDER.get(e.kind, 9)))
    return entries
