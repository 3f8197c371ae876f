"""A lead's Queue menu: language routing for the queue the filter shows, and the cases in
languages nobody on shift reviews.

Only leads and admins get it (`LeadQueueActions.for_role`). "Route get next by language"
(Ctrl+Alt+L) is checked while get next offers reviewers only cases in their languages for
the queue chosen in the filter bar; unchecking it records the change for the backend
(`Workstation.set_language_routing`, sent at the next sync, refused there unless the person
leads that queue's team or is an admin). The queue's language column marks the open cases
whose language nobody on shift in the queue's team reviews (`CaseQueueModel.unserved`), and
the status bar counts them; Ctrl+Alt+U says which languages.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox

from reviewer.queue.routing import RoutingRefused, UnservedCases
from reviewer.vocabulary import Role
from reviewer.workstation import Workstation
from ui.queue.filters import QueueFilterBar
from ui.queue.model import CaseQueueModel
from ui.widgets.changes import ChangeBus, Changes
from ui.widgets.tasks import TaskRunner

LEAD_ROLES = (Role.LEAD.value, Role.ADMIN.value)


class LeadQueueActions(QObject):
    """The Queue menu of a lead's main window (see the module docstring)."""

    def __init__(self, window: QMainWindow, workstation: Workstation, tasks: TaskRunner,
                 changes: ChangeBus, *, filter_bar: QueueFilterBar, model: CaseQueueModel,
                 request_sync: Callable[[], None]) -> None:
        super().__init__(window)
        self.setObjectName("leadQueueActions")
        self.window = window
        self.workstation = workstation
        self.tasks = tasks
        self.changes = changes
        self.filter_bar = filter_bar
        self.model = model
        self.request_sync = request_sync
        self.unserved = UnservedCases()
        self._generation = 0

        menu = window.menuBar().addMenu("&Queue")
        self.routing_action = QAction("Route get next by &language", window)
        self.routing_action.setCheckable(True)
        self.routing_action.setShortcut(QKeySequence("Ctrl+Alt+L"))
        self.routing_action.setStatusTip("Get next offers reviewers only cases in their "
                                         "languages, for the queue chosen in the filter")
        self.routing_action.triggered.connect(self.set_routing)
        self.unserved_action = QAction("&Unserved languages…", window)
        self.unserved_action.setShortcut(QKeySequence("Ctrl+Alt+U"))
        self.unserved_action.triggered.connect(self.show_unserved)
        for action in (self.routing_action, self.unserved_action):
            menu.addAction(action)
            window.addAction(action)

        self.unserved_label = QLabel()
        self.unserved_label.setObjectName("unservedLanguages")
        window.statusBar().addWidget(self.unserved_label)

        filter_bar.changed.connect(lambda _query: self.update_routing_action())
        changes.changed.connect(self._on_changes)
        self.update_routing_action()
        self.refresh_unserved()

    @classmethod
    def for_role(cls, role: str, *args, **kwargs) -> LeadQueueActions | None:  # type: ignore[no-untyped-def]
        """The menu for a lead or an admin; None for everyone else."""
        return cls(*args, **kwargs) if role in LEAD_ROLES else None

    # -- routing ---------------------------------------------------------------------------

    def current_queue(self) -> uuid.UUID | None:
        value = self.filter_bar.combos["queue"].currentData()
        return uuid.UUID(value) if value else None

    def update_routing_action(self) -> None:
        queue_id = self.current_queue()
        routing = self.workstation.language_routing(queue_id) if queue_id else None
        allowed = queue_id is not None and routing is not None \
            and self.workstation.may_route(queue_id)
        self.routing_action.setEnabled(allowed)
        self.routing_action.setChecked(bool(routing) if routing is not None else True)
        name = self.filter_bar.combos["queue"].currentText() if queue_id else ""
        self.routing_action.setText(f"Route get next by &language ({name})" if allowed
                                    else "Route get next by &language (choose a queue)")

    def set_routing(self, on: bool) -> None:
        queue_id = self.current_queue()
        if queue_id is None:
            self.update_routing_action()
            return
        try:
            changed = self.workstation.set_language_routing(queue_id, bool(on))
        except RoutingRefused as refusal:
            QMessageBox.information(self.window, "Routing not changed", str(refusal))
            self.update_routing_action()
            return
        self.update_routing_action()
        if changed:
            name = self.filter_bar.combos["queue"].currentText()
            offers = "only cases in each reviewer's languages" if on else "every language"
            self.window.statusBar().showMessage(
                f"{name}: get next offers {offers} (sent at the next sync).", 8000)
            self.changes.publish(Changes(outbox=True))
            self.request_sync()

    # -- unserved languages ------------------------------------------------------------------

    def _on_changes(self, changes: Changes) -> None:
        if changes.queue or changes.synced:
            self.refresh_unserved()
        if changes.synced:
            self.update_routing_action()  # the backend's word on the queue may have come

    def refresh_unserved(self) -> None:
        """Count the unserved cases again, in the background (it reads every open case)."""
        self._generation += 1
        generation = self._generation
        self.tasks.run(self.workstation.unserved_cases,
                       lambda found: self._show(found, generation),
                       lambda error: self.unserved_label.setText(
                           f"Unserved languages unknown: {error}"),
                       description="Finding unserved languages", owner=self)

    def _show(self, found: UnservedCases, generation: int) -> None:
        if generation != self._generation:
            return  # a newer count is on its way
        self.unserved = found
        self.model.set_unserved(found.case_ids)
        hours = found.window.total_seconds() / 3600
        if found.count:
            self.unserved_label.setText(f"\u26a0 {found.count} unserved")
            self.unserved_label.setToolTip(
                f"{found.summary()}: nobody on shift (worked in the last {hours:g} h) in the "
                f"queue's team reviews these languages; {found.on_shift} on shift")
        else:
            self.unserved_label.setText("")
            self.unserved_label.setToolTip("")

    def show_unserved(self) -> None:
        found = self.unserved
        hours = found.window.total_seconds() / 3600
        text = found.summary() or "Every open case has someone on shift who reviews its language."
        self.window.statusBar().showMessage(
            f"{text} · on shift: {found.on_shift} (worked in the last {hours:g} h)", 15_000)
