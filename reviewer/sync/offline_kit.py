"""Offline kits for travel: lease a queue's cases for days, and take them along.

A reviewer about to lose the network picks a queue and a number of cases. The backend
leases them to that reviewer for a long period (72 hours unless a lead sets otherwise), so
nobody else works them meanwhile, and the next pull brings the cases and their media into
the replica. Offline, the reviewer works exactly as online, on those cases; returning
online pushes everything. Policy areas marked never-offline (child safety) never go into a
kit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from reviewer.clock import Clock
from reviewer.policy.taxonomy import Taxonomy
from reviewer.queue.leases import grant_lease, workable_queue_ids
from reviewer.store.database import Database
from reviewer.store.models import Case, MediaBlob, MediaItem, Queue
from reviewer.vocabulary import CaseStatus

DEFAULT_KIT_LEASE = timedelta(hours=72)
CASE_ROW_BYTES = 2_000
"""About what one case's rows (text, history) take in the replica, besides its media."""


class KitRefused(ValueError):
    """The kit cannot be made; the message says why, in the reviewer's terms."""


@dataclass(frozen=True)
class KitEstimate:
    queue_name: str
    available: int
    planned: int
    download_bytes: int


@dataclass(frozen=True)
class KitReport:
    leased: int
    expires_in: timedelta
    download_bytes: int


def _never_offline(taxonomy: Taxonomy) -> list[str]:
    return [area.code for area in taxonomy.areas if area.never_offline]


def _candidates(session, queue_id: uuid.UUID, taxonomy: Taxonomy):  # type: ignore[no-untyped-def]
    return (
        select(Case.id)
        .where(Case.queue_id == queue_id, Case.status == CaseStatus.NEW.value,
               Case.policy_area.not_in(_never_offline(taxonomy)))
        .order_by(Case.priority_key, Case.id)
    )


def _check_queue(session, reviewer_id: uuid.UUID, queue_id: uuid.UUID,  # type: ignore[no-untyped-def]
                 taxonomy: Taxonomy) -> Queue:
    queue = session.get(Queue, queue_id)
    if queue is None:
        raise KitRefused("that queue does not exist on the backend")
    allowed = workable_queue_ids(session, reviewer_id)
    if allowed is not None and queue_id not in allowed:
        raise KitRefused(f"{queue.name} belongs to a team you are not in")
    if queue.policy_area in _never_offline(taxonomy):
        raise KitRefused(f"cases in {queue.name} are never taken offline; review them "
                         "at your desk")
    return queue


def kit_queues(replica: Database, taxonomy: Taxonomy) -> list[tuple[uuid.UUID, str]]:
    """(id, name) of the queues on ``replica`` a kit may be made from, by name: every one
    but the never-offline areas' (the choices of the travel dialog)."""
    never = _never_offline(taxonomy)
    with replica.sessions() as session:
        return [(queue.id, queue.name) for queue in
                session.scalars(select(Queue).order_by(Queue.name))
                if queue.policy_area not in never]


def estimate_kit(backend: Database, reviewer_id: uuid.UUID, queue_id: uuid.UUID, count: int,
                 taxonomy: Taxonomy) -> KitEstimate:
    """How many cases the kit would hold and roughly how much it would download."""
    with backend.sessions() as session:
        queue = _check_queue(session, reviewer_id, queue_id, taxonomy)
        ids = list(session.scalars(_candidates(session, queue_id, taxonomy).limit(count)))
        media = session.scalar(
            select(func.coalesce(func.sum(MediaBlob.size_bytes), 0))
            .where(MediaBlob.content_hash.in_(
                select(MediaItem.content_hash).where(MediaItem.case_id.in_(ids)).distinct()))
        ) if ids else 0
        available = session.scalar(
            select(func.count()).select_from(_candidates(session, queue_id, taxonomy)
                                             .subquery())) or 0
    return KitEstimate(queue.name, available, len(ids),
                       int(media or 0) + CASE_ROW_BYTES * len(ids))


def lease_kit(backend: Database, reviewer_id: uuid.UUID, queue_id: uuid.UUID, count: int,
              taxonomy: Taxonomy, clock: Clock, duration: timedelta = DEFAULT_KIT_LEASE,
              progress: Callable[[int, int], None] | None = None) -> KitReport:
    """Lease up to ``count`` of the queue's open cases to this reviewer for ``duration``."""
    if count < 1:
        raise KitRefused("choose at least one case")
    estimate = estimate_kit(backend, reviewer_id, queue_id, count, taxonomy)
    leased = 0
    batch = 50
    while leased < count:
        now = clock.now()
        # Case rows are locked before grant_lease takes a change version (the backend's
        # lock order), and cases someone else is taking right now are skipped.
        with backend.talking(), backend.writing() as session:
            cases = session.scalars(
                select(Case).where(Case.id.in_(
                    _candidates(session, queue_id, taxonomy).limit(min(batch, count - leased))
                    .scalar_subquery()))
                .order_by(Case.id).with_for_update(skip_locked=True)
            ).all()
            for case in cases:
                grant_lease(session, case, reviewer_id, now, duration, kind="leased")
        if not cases:
            break
        leased += len(cases)
        if progress is not None:
            progress(leased, count)
    return KitReport(leased, duration, estimate.download_bytes)
