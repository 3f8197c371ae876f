"""The change counter: every row a writer touches takes the next change version, so that a
pull reads exactly the rows changed after its cursor."""

from __future__ import annotations

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from reviewer.store.models import ChangeCounter


def next_change_version(session: Session) -> int:
    """Take the next change version; the row lock orders concurrent writers.

    On PostgreSQL through ``rw_next_change_version()`` (reviewer.security.row_security): the
    app's roles may not write the counter themselves, only take the next value.
    """
    if session.get_bind().dialect.name == "postgresql":
        return int(session.scalar(text("SELECT rw_next_change_version()")))
    value = session.scalar(
        update(ChangeCounter)
        .where(ChangeCounter.id == 1)
        .values(value=ChangeCounter.value + 1)
        .returning(ChangeCounter.value)
    )
    if value is None:
        session.add(ChangeCounter(id=1, value=1))
        session.flush()
        return 1
    return int(value)


def current_change_version(session: Session) -> int:
    return session.scalar(select(ChangeCounter.value).where(ChangeCounter.id == 1)) or 0
