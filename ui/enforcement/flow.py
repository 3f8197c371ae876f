"""What every flow of the Decision menu shares: the window it works in (a `CaseHost`), the
enforcement panel, the workstation's `EnforcementDesk` and the window's `ChangeBus`.

A flow reads and records only through the desk, says a refusal or an outcome in the panel
and the status bar, and publishes what it changed; sending it is left to the window's sync.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenuBar, QStatusBar

from reviewer.enforcement.desk import EnforcementDesk
from reviewer.queue.leases import Lease
from reviewer.workstation import Workstation
from ui.enforcement.panel import EnforcementPanel
from ui.widgets.changes import ChangeBus, Changes

if TYPE_CHECKING:
    from reviewer.store.models import Case

MESSAGE_MS = 8_000


class CaseHost(Protocol):
    """What the window offers the enforcement actions: its menus, its current case and
    lease, and its queue (the main window is one)."""

    lease: Lease | None

    def menuBar(self) -> QMenuBar: ...
    def statusBar(self) -> QStatusBar: ...
    def addAction(self, action: QAction) -> None: ...
    def activateWindow(self) -> None: ...
    def open_case(self, case_id: uuid.UUID) -> None: ...
    def case_left_queue(self, case_id: uuid.UUID) -> None:
        """The case is no longer the reviewer's to decide: take it off the queue's page
        and move on to the next row."""
    def filter_by_status(self, status: str) -> None: ...
    def start_sync(self) -> None: ...


@dataclass(frozen=True)
class FlowContext:
    """The collaborators every flow is given (wired once, in `EnforcementActions`)."""

    host: CaseHost
    workstation: Workstation
    panel: EnforcementPanel
    changes: ChangeBus


class CaseFlow(QObject):
    """One job of the Decision menu, done on the panel's case through the desk."""

    def __init__(self, context: FlowContext, parent: QObject):
        super().__init__(parent)
        self.main = context.host
        self.workstation = context.workstation
        self.desk: EnforcementDesk = context.workstation.enforcement
        self.panel = context.panel
        self.changes = context.changes

    def refuse(self, text: str) -> None:
        """Why the action was refused, in the panel and the status bar."""
        self.panel.show_refusal(text)
        self.main.statusBar().showMessage(text, MESSAGE_MS)

    def confirm(self, message: str) -> None:
        """What the action did, in the panel and the status bar."""
        self.panel.show_confirmation(message)
        self.main.statusBar().showMessage(message, MESSAGE_MS)

    def recorded(self, case_id: uuid.UUID, *, queue: bool = False,
                 second_reviews: bool = False) -> None:
        """After local work: every view learns what changed; the window sends it."""
        self.changes.publish(Changes.of_case(case_id, queue=queue, outbox=True,
                                             second_reviews=second_reviews))

    def fresh_case(self) -> Case | None:
        """The panel's case as the replica has it now (its status may have moved on)."""
        case = self.panel.case
        return self.workstation.case(case.id) if case is not None else None

    def refresh_panel_case(self, case_id: uuid.UUID) -> None:
        """Show the panel's case afresh if it is `case_id` (after work recorded on it)."""
        if self.panel.case is not None and self.panel.case.id == case_id:
            self.panel.set_case(self.workstation.case(case_id))
