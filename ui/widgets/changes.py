"""One way for views to learn what an operation changed (the shape of Anki's ``OpChanges``).

An operation that records work or brings rows in (a decision, a note, an escalation, a
sync, a lease) publishes one `Changes` on the window's `ChangeBus`; every view that shows
something of it subscribes once and refreshes what it shows. No widget calls another's
refresh method.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal


@dataclass(frozen=True)
class Changes:
    """What one operation changed in the replica."""

    queue: bool = False
    """Cases came, went or moved: the queue reloads its page."""
    cases: frozenset[uuid.UUID] = field(default_factory=frozenset)
    """These cases changed: views showing one of them read it again."""
    outbox: bool = False
    """Local work was recorded: the pending count changes and a sync sends it."""
    second_reviews: bool = False
    """Decisions waiting for a second reviewer came or went."""
    synced: bool = False
    """A sync finished: what the backend had for this workstation is in the replica."""

    @classmethod
    def of_case(cls, case_id: uuid.UUID, **flags: bool) -> Changes:
        return cls(cases=frozenset({case_id}), **flags)

    def touches(self, case_id: uuid.UUID | None) -> bool:
        return case_id is not None and case_id in self.cases


class ChangeBus(QObject):
    """Where operations publish their `Changes` and views subscribe to them."""

    changed = Signal(object)
    """A `Changes`, after the operation's transaction committed."""

    def publish(self, changes: Changes) -> None:
        self.changed.emit(changes)
