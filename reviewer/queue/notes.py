"""Handoff notes: what one shift leaves on a case for the next."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reviewer.clock import Clock
from reviewer.store.database import writing
from reviewer.store.models import Case, Note, Reviewer
from reviewer.store.outbox import enqueue

MAX_NOTE_CHARS = 4000


class NoteRejected(ValueError):
    """The note cannot be saved; the message says why."""


def add_note(sessions: sessionmaker[Session], *, case_id: uuid.UUID, author_id: uuid.UUID,
             client_id: str, body: str, clock: Clock) -> Note:
    """Save a note and its outbox entry in one local transaction."""
    body = body.strip()
    if not body:
        raise NoteRejected("write something for the next shift first")
    if len(body) > MAX_NOTE_CHARS:
        raise NoteRejected(f"keep the note under {MAX_NOTE_CHARS:,} characters")
    now = clock.now()
    with writing(sessions) as session:
        if session.get(Case, case_id) is None:
            raise NoteRejected("the case is not on this workstation")
        note = Note(id=uuid.uuid4(), case_id=case_id, author_id=author_id, body=body,
                    created_at=now)
        session.add(note)
        enqueue(session, client_id=client_id, kind="note", entity_id=note.id, now=now,
                payload={"id": str(note.id), "case_id": str(case_id),
                         "author_id": str(author_id), "body": body,
                         "created_at": now.isoformat()})
        session.flush()
        session.expunge(note)
    return note


def notes_for(sessions: sessionmaker[Session], case_id: uuid.UUID) -> list[tuple[Note, str]]:
    """The case's notes, oldest first, with their authors' names."""
    with sessions() as session:
        rows = session.execute(
            select(Note, Reviewer.display_name)
            .outerjoin(Reviewer, Reviewer.id == Note.author_id)
            .where(Note.case_id == case_id).order_by(Note.created_at)
        ).all()
        return [(note, name or "unknown") for note, name in rows]
