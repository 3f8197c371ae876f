"""Run core work off the GUI thread and hand the result back to it.

``TaskRunner.run(work, on_success, on_error)`` runs ``work`` in a thread pool; the callbacks
run on the GUI thread, by signal. Widgets never run inside a worker.
"""

from __future__ import annotations

import itertools
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

Work = Callable[..., Any]
ProgressCallback = Callable[[int, int], None]


@dataclass
class _Callbacks:
    on_success: Callable[[Any], None] | None
    on_error: Callable[[BaseException], None] | None
    on_progress: Callable[[int, int], None] | None
    description: str
    owner: QObject | None = None

    def wanted(self) -> bool:
        """A result for a widget that has been closed and deleted is dropped."""
        return self.owner is None or shiboken6.isValid(self.owner)


class _Relay(QObject):
    """Lives on the GUI thread; workers emit through it, so slots run on the GUI thread."""

    succeeded = Signal(int, object)
    failed = Signal(int, object)
    progressed = Signal(int, int, int)


class _Runnable(QRunnable):
    def __init__(self, task_id: int, work: Work, relay: _Relay, wants_progress: bool):
        super().__init__()
        self.task_id = task_id
        self.work = work
        self.relay = relay
        self.wants_progress = wants_progress

    def run(self) -> None:  # Qt override
        try:
            if self.wants_progress:
                result = self.work(lambda done, total: self.relay.progressed.emit(
                    self.task_id, done, total))
            else:
                result = self.work()
        except BaseException as error:
            error.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            self.relay.failed.emit(self.task_id, error)
        else:
            self.relay.succeeded.emit(self.task_id, result)


class TaskRunner(QObject):
    """The one way the UI runs core work in the background."""

    busy_changed = Signal(bool)
    all_done = Signal()

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None):
        super().__init__(parent)
        self._pool = pool or QThreadPool(self)
        self._relay = _Relay(self)
        self._relay.succeeded.connect(self._on_succeeded)
        self._relay.failed.connect(self._on_failed)
        self._relay.progressed.connect(self._on_progressed)
        self._ids = itertools.count(1)
        self._pending: dict[int, _Callbacks] = {}

    @property
    def active(self) -> int:
        return len(self._pending)

    def run(
        self,
        work: Work,
        on_success: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        *,
        on_progress: Callable[[int, int], None] | None = None,
        description: str = "",
        owner: QObject | None = None,
    ) -> int:
        """Start ``work``; with ``on_progress`` it is called with a progress callback.

        With an ``owner``, the callbacks are skipped once that widget has been deleted.
        """
        task_id = next(self._ids)
        self._pending[task_id] = _Callbacks(
            on_success, on_error, on_progress, description, owner
        )
        if len(self._pending) == 1:
            self.busy_changed.emit(True)
        self._pool.start(_Runnable(task_id, work, self._relay, on_progress is not None))
        return task_id

    def wait_for_done(self, timeout_ms: int = -1) -> bool:
        """Block until every worker has finished (for tests and the screenshot mode)."""
        return self._pool.waitForDone(timeout_ms)

    def _finish(self, task_id: int) -> _Callbacks | None:
        callbacks = self._pending.pop(task_id, None)
        if not self._pending:
            self.busy_changed.emit(False)
            self.all_done.emit()
        return callbacks

    @Slot(int, object)
    def _on_succeeded(self, task_id: int, result: object) -> None:
        callbacks = self._pending.get(task_id)
        try:
            if callbacks is not None and callbacks.on_success is not None and callbacks.wanted():
                callbacks.on_success(result)
        finally:
            self._finish(task_id)

    @Slot(int, object)
    def _on_failed(self, task_id: int, error: BaseException) -> None:
        callbacks = self._pending.get(task_id)
        try:
            if callbacks is not None and callbacks.on_error is not None and callbacks.wanted():
                callbacks.on_error(error)
            else:
                log.error(
                    "background task %s failed:\n%s",
                    callbacks.description if callbacks else task_id,
                    getattr(error, "__traceback_text__", repr(error)),
                )
        finally:
            self._finish(task_id)

    @Slot(int, int, int)
    def _on_progressed(self, task_id: int, done: int, total: int) -> None:
        callbacks = self._pending.get(task_id)
        if callbacks is not None and callbacks.on_progress is not None and callbacks.wanted():
            callbacks.on_progress(done, total)
