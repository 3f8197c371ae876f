"""One reviewer's wellness records on their replica, as the window keeps them.

The window's wellness controller loads the records when it starts, saves them every half
minute and on closing, queues the day's totals for the lead when the reviewer opted in to
sharing, and shows a lead the day's aggregate over their teams. It does each through a
`WellnessJournal`, one session or one transaction each (`reviewer.wellness.records`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, tzinfo

from reviewer.clock import Clock
from reviewer.store.database import Database
from reviewer.wellness.exposure import DailyExposure, TeamAggregate, WellnessPolicy
from reviewer.wellness.records import (
    WellnessRecords,
    load_records,
    save_records,
    share_day,
    team_view,
)


class WellnessJournal:
    """The wellness records of ``reviewer_id`` on ``replica``, and what they share."""

    def __init__(self, replica: Database, *, reviewer_id: uuid.UUID, client_id: str,
                 clock: Clock):
        self._replica = replica
        self.reviewer_id = reviewer_id
        self.client_id = client_id
        self.clock = clock

    def load(self, tz: tzinfo = UTC) -> WellnessRecords:
        """The records as last saved, or fresh ones; raises `WellnessStateDamaged` when the
        stored ones cannot be read back."""
        return load_records(self._replica.sessions, self.reviewer_id, self.clock, tz)

    def save(self, records: WellnessRecords, now: datetime) -> None:
        """Keep the records on this device (never pushed)."""
        save_records(self._replica.sessions, self.reviewer_id, records, now)

    def share(self, day: DailyExposure, breaks_taken: int, now: datetime) -> None:
        """Queue the day's totals for the lead (only when the reviewer opted in)."""
        share_day(self._replica.sessions, reviewer_id=self.reviewer_id,
                  client_id=self.client_id, day=day, breaks_taken=breaks_taken, now=now)

    def team_view(self, day: date, policy: WellnessPolicy) -> TeamAggregate | None:
        """The day's aggregate over this person's teams as a lead, from shared figures only
        (None: nobody in them shares)."""
        with self._replica.sessions() as session:
            return team_view(session, self.reviewer_id, day, policy)
