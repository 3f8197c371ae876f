"""Keeping a reviewer's wellness records on their device, and sharing only what they allow.

The exposure ledger, breaks and check-ins live in the replica's ``wellness_state`` table,
which is never pushed. A reviewer who opts in shares each day's totals (exposure, time in
graphic queues, breaks taken) with their lead; check-ins and notes are never shared.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reviewer.clock import Clock
from reviewer.settings import CoreSettings
from reviewer.store.database import writing
from reviewer.store.models import Reviewer, TeamMembership, WellnessState, WellnessSummary
from reviewer.store.outbox import enqueue
from reviewer.wellness.exposure import (
    BreakRecord,
    CheckIn,
    DailyExposure,
    ExposureLedger,
    ReviewerDay,
    TeamAggregate,
    WellnessPolicy,
    team_aggregate,
)

STATE_VERSION = 1


def wellness_policy(settings: CoreSettings) -> WellnessPolicy:
    """The team's budgets and break timings, from the settings a lead hands out."""
    return WellnessPolicy(
        daily_budget_s=settings.get("wellness/daily_budget_minutes") * 60.0,
        graphic_cap_s=settings.get("wellness/graphic_cap_hours") * 3600.0,
        break_every_s=settings.get("wellness/break_every_minutes") * 60.0,
        break_length_s=settings.get("wellness/break_minutes") * 60.0,
        snooze_s=settings.get("wellness/snooze_minutes") * 60.0,
        idle_curtain_s=settings.get("wellness/idle_curtain_seconds"),
    )


@dataclass
class WellnessRecords:
    """Everything the wellbeing view shows a reviewer about themselves."""

    ledger: ExposureLedger
    breaks: list[BreakRecord] = field(default_factory=list)
    checkins: list[CheckIn] = field(default_factory=list)

    def breaks_on(self, day: date, tz: tzinfo = UTC) -> int:
        return sum(1 for b in self.breaks if b.started_at.astimezone(tz).date() == day)


def _break_to_json(record: BreakRecord) -> dict[str, Any]:
    return {"started_at": record.started_at.isoformat(), "ended_at": record.ended_at.isoformat(),
            "completed": record.completed}


def _checkin_to_json(checkin: CheckIn) -> dict[str, Any]:
    return {"at": checkin.at.isoformat(), "mood": checkin.mood, "note": checkin.note}


def load_records(sessions: sessionmaker[Session], reviewer_id: uuid.UUID, clock: Clock,
                 tz: tzinfo = UTC) -> WellnessRecords:
    """The reviewer's records, or fresh ones; a damaged record starts afresh, loudly."""
    with sessions() as session:
        row = session.get(WellnessState, reviewer_id)
        state = dict(row.state) if row is not None else None
    if not state:
        return WellnessRecords(ExposureLedger(clock, tz))
    try:
        ledger = ExposureLedger.from_state(state["ledger"], clock, tz)
        breaks = [BreakRecord(datetime.fromisoformat(b["started_at"]),
                              datetime.fromisoformat(b["ended_at"]), bool(b["completed"]))
                  for b in state.get("breaks", [])]
        checkins = [CheckIn(datetime.fromisoformat(c["at"]), int(c["mood"]), str(c["note"]))
                    for c in state.get("checkins", [])]
    except (KeyError, TypeError, ValueError) as error:
        raise WellnessStateDamaged(f"the wellness records could not be read: {error}") from error
    return WellnessRecords(ledger, breaks, checkins)


class WellnessStateDamaged(ValueError):
    """The stored records could not be read back."""


def save_records(sessions: sessionmaker[Session], reviewer_id: uuid.UUID,
                 records: WellnessRecords, now: datetime) -> None:
    state = {
        "version": STATE_VERSION,
        "ledger": records.ledger.export_state(),
        "breaks": [_break_to_json(b) for b in records.breaks],
        "checkins": [_checkin_to_json(c) for c in records.checkins],
    }
    with writing(sessions) as session:
        row = session.get(WellnessState, reviewer_id)
        if row is None:
            session.add(WellnessState(reviewer_id=reviewer_id, state=state, updated_at=now))
        else:
            row.state = state
            row.updated_at = now


def share_day(sessions: sessionmaker[Session], *, reviewer_id: uuid.UUID, client_id: str,
              day: DailyExposure, breaks_taken: int, now: datetime) -> None:
    """Queue one day's totals for the lead (only called when the reviewer opted in)."""
    payload = {
        "reviewer_id": str(reviewer_id), "day": day.date.isoformat(),
        "exposure_s": round(day.exposure_s, 1), "graphic_queue_s": round(day.graphic_queue_s, 1),
        "breaks_taken": breaks_taken, "updated_at": now.isoformat(),
    }
    with writing(sessions) as session:
        enqueue(session, client_id=client_id, kind="wellness_summary", entity_id=reviewer_id,
                payload=payload, now=now)


def team_view(session: Session, lead_id: uuid.UUID, day: date,
              policy: WellnessPolicy) -> TeamAggregate | None:
    """The day's aggregate over the lead's teams, from shared figures only."""
    teams = select(TeamMembership.team_code).where(TeamMembership.reviewer_id == lead_id)
    members = select(TeamMembership.reviewer_id).where(TeamMembership.team_code.in_(teams))
    rows: Sequence[WellnessSummary] = session.scalars(
        select(WellnessSummary).join(Reviewer, Reviewer.id == WellnessSummary.reviewer_id)
        .where(WellnessSummary.day == day.isoformat(),
               WellnessSummary.reviewer_id.in_(members),
               WellnessSummary.reviewer_id != lead_id)
    ).all()
    if not rows:
        return None
    return team_aggregate(
        [ReviewerDay(DailyExposure(day, exposure_s=r.exposure_s,
                                   graphic_queue_s=r.graphic_queue_s), True, ())
         for r in rows],
        policy,
    )
