"""The case queue: which cases are open, in what order, and what a row shows.

The UI keeps only case ids and asks for rows a page at a time, so the queue stays fast
however many cases the replica holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from reviewer.models import Case, Queue, Reviewer
from reviewer.vocabulary import CaseStatus

OPEN_STATUSES = (CaseStatus.NEW.value, CaseStatus.LEASED.value)


class SlaState(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"

    @property
    def label(self) -> str:
        return {"on_track": "On track", "at_risk": "At risk", "breached": "Breached"}[self.value]


AT_RISK_FRACTION = 0.25
"""A case is at risk once less than this share of its SLA window is left."""


def sla_state(reported_at: datetime, due_at: datetime, now: datetime) -> SlaState:
    if now >= due_at:
        return SlaState.BREACHED
    window = (due_at - reported_at).total_seconds()
    left = (due_at - now).total_seconds()
    if window <= 0 or left < window * AT_RISK_FRACTION:
        return SlaState.AT_RISK
    return SlaState.ON_TRACK


def format_time_left(seconds: float) -> str:
    """'2h 05m', '14m 09s', or '-1h 10m' once breached."""
    sign = "-" if seconds < 0 else ""
    total = int(abs(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 48:
        return f"{sign}{hours // 24}d {hours % 24:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    return f"{sign}{minutes}m {secs:02d}s"


@dataclass(frozen=True)
class QueueFilter:
    """What the reviewer narrowed the queue to; empty fields do not filter."""

    statuses: tuple[str, ...] = OPEN_STATUSES


@dataclass(frozen=True)
class CaseRow:
    """Everything one queue row shows."""

    id: uuid.UUID
    external_ref: str
    queue_name: str
    surface: str
    channel: str
    policy_area: str
    language: str
    severity: int
    reach: int
    reported_at: datetime
    due_at: datetime
    status: str
    lease_holder: str | None
    media_count: int


def _filtered(query: QueueFilter) -> Select:
    statement = select(Case.id)
    if query.statuses:
        statement = statement.where(Case.status.in_(query.statuses))
    return statement


def case_ids(session: Session, query: QueueFilter) -> list[uuid.UUID]:
    """The ids of the cases the filter admits, most urgent deadline first."""
    statement = _filtered(query).order_by(Case.due_at, Case.id)
    return list(session.scalars(statement))


def case_rows(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CaseRow]:
    if not ids:
        return {}
    statement = (
        select(Case, Queue.name, Reviewer.display_name)
        .join(Queue, Queue.id == Case.queue_id)
        .outerjoin(Reviewer, Reviewer.id == Case.lease_holder_id)
        .where(Case.id.in_(list(ids)))
    )
    rows = {}
    for case, queue_name, holder in session.execute(statement):
        rows[case.id] = CaseRow(
            id=case.id, external_ref=case.external_ref, queue_name=queue_name,
            surface=case.surface, channel=case.channel, policy_area=case.policy_area,
            language=case.language, severity=case.severity, reach=case.reach,
            reported_at=case.reported_at, due_at=case.due_at, status=case.status,
            lease_holder=holder, media_count=case.media_count,
        )
    return rows
