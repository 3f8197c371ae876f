"""The change counter: every row a writer touches takes the next change version, so that a
pull reads exactly the rows changed after its cursor.

Versions must commit in the order they are taken: a pull that has read up to version V
must never later find a row committed with a version at or below V. So the counter is a
row lock, taken by a writing transaction as its last lock and held until it commits.

On PostgreSQL the service's transactions do not take the counter when they ask for a
version. `next_change_version` gives them a *placeholder*, a negative number of their own,
which they write into their rows like a version; at commit, one call of
``rw_stamp_changes(placeholder)`` (reviewer.security.row_security) takes the counter and
gives every row that carries the placeholder the real version, just before the commit. The
counter is then held for that one call and the commit, instead of for the whole
transaction: writers no longer queue behind each other's work, only behind each other's
commits (the team load test, bench/bench_team_load.py, measured the difference). A session
bound to a connection whose transaction someone else commits (an admin command's
``engine.begin()``) takes the counter at once, as SQLite always does.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, event, select, text, update
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value

from reviewer.store.models import ChangeCounter

_PLACEHOLDER = "reviewer.change_version_placeholder"
"""Where a session keeps its transaction's placeholder (``Session.info``)."""


def next_change_version(session: Session) -> int:
    """The change version for this transaction's rows (the same one each time it is asked
    within one transaction on PostgreSQL: a placeholder stamped at commit, see above)."""
    if session.get_bind().dialect.name == "postgresql":
        if isinstance(session.bind, Connection):  # its transaction is not ours to stamp
            return int(session.scalar(text("SELECT rw_next_change_version()")))
        placeholder = session.info.get(_PLACEHOLDER)
        if placeholder is None:
            placeholder = -(secrets.randbits(62) + 1)
            session.info[_PLACEHOLDER] = placeholder
        return int(placeholder)
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


def is_placeholder(version: int) -> bool:
    """A version not stamped yet (only inside the PostgreSQL transaction that took it)."""
    return version < 0


def stamp_changes(session: Session) -> int | None:
    """Give this transaction's rows their real change version now, as its commit would, and
    return it (None: nothing to stamp, on SQLite always). The counter is held from here to
    the end of the transaction."""
    placeholder = session.info.get(_PLACEHOLDER)
    if placeholder is None:
        return None
    session.flush()
    version = int(session.scalar(text("SELECT rw_stamp_changes(:placeholder)"),
                                 {"placeholder": placeholder}))
    del session.info[_PLACEHOLDER]
    for instance in list(session.identity_map.values()):  # what the caller still holds
        if vars(instance).get("change_version") == placeholder:  # never loads a column
            set_committed_value(instance, "change_version", version)
    return version


@event.listens_for(Session, "before_commit")
def _stamp_before_commit(session: Session) -> None:
    if not session.in_nested_transaction():
        stamp_changes(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_placeholder(session: Session, transaction: SessionTransaction) -> None:
    # Only when the whole transaction ends (rolled back): a savepoint rolled back inside it
    # (a mutation that failed alone) leaves the other rows with the placeholder to stamp.
    if transaction.parent is None:
        session.info.pop(_PLACEHOLDER, None)


def current_change_version(session: Session) -> int:
    return session.scalar(select(ChangeCounter.value).where(ChangeCounter.id == 1)) or 0
