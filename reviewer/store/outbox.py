"""Writing local mutations to the outbox in the same transaction as the row they describe."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reviewer.store.models import OutboxEntry, SyncState


def enqueue(
    session: Session,
    *,
    client_id: str,
    kind: str,
    entity_id: uuid.UUID,
    payload: dict[str, Any],
    now: datetime,
) -> OutboxEntry:
    """Add a pending mutation; the caller commits it together with the row it describes."""
    entry = OutboxEntry(
        mutation_id=uuid.uuid4(),
        client_id=client_id,
        kind=kind,
        entity_id=entity_id,
        payload=payload,
        created_at=now,
        state="pending",
        attempts=0,
    )
    session.add(entry)
    return entry


def pending_count(session: Session) -> int:
    return session.scalar(
        select(func.count()).select_from(OutboxEntry).where(OutboxEntry.state == "pending")
    ) or 0


def get_state(session: Session, key: str, default: str | None = None) -> str | None:
    row = session.get(SyncState, key)
    return row.value if row is not None else default


def set_state(session: Session, key: str, value: str) -> None:
    row = session.get(SyncState, key)
    if row is None:
        session.add(SyncState(key=key, value=value))
    else:
        row.value = value


def client_id(session: Session) -> str:
    """This replica's identity towards the backend, created once and kept."""
    existing = get_state(session, "client_id")
    if existing is not None:
        return existing
    new = str(uuid.uuid4())
    set_state(session, "client_id", new)
    session.commit()
    return new
