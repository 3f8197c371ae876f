"""The case queue as the window reads it from the replica: pages, rows by id, counts.

The queue's table model holds only ids and asks for a page at a time after the last row it
has, for rows again by id when they fell out of its cache, and for how many cases the
filter admits. Each answer is read in one session of the replica; the rules (filters,
search, keyset paging, the priority order) are `reviewer.queue.case_queue`'s.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from reviewer.queue.case_queue import (
    CaseRow,
    PageCursor,
    QueueFilter,
    QueueOrder,
    case_rows,
    count_cases,
    fetch_page,
)
from reviewer.store.database import Database

PAGE_SIZE = 200


class QueuePages:
    """One reviewer's view of the queue on their replica ("Mine" means ``reviewer_id``)."""

    def __init__(self, replica: Database, reviewer_id: uuid.UUID | None = None):
        self._replica = replica
        self.reviewer_id = reviewer_id

    def page(self, query: QueueFilter, order: QueueOrder, now: datetime, *,
             after: PageCursor | None = None, limit: int = PAGE_SIZE) -> list[CaseRow]:
        """The next ``limit`` rows in ``order`` after ``after`` (the first page when None);
        ``now`` decides the SLA filters, so one walk through the pages keeps one ``now``."""
        with self._replica.sessions() as session:
            return fetch_page(session, query, order, self.reviewer_id, now, after=after,
                              limit=limit)

    def rows(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CaseRow]:
        """The rows of these cases, by id (a case no longer in the replica is left out)."""
        with self._replica.sessions() as session:
            return case_rows(session, ids)

    def count(self, query: QueueFilter, now: datetime) -> int:
        """How many cases ``query`` admits at ``now``."""
        with self._replica.sessions() as session:
            return count_cases(session, query, self.reviewer_id, now)
