"""The reports one database answers, and the audit entry every export of them leaves.

The reports window reads the workstation's replica through a `ReportsDesk`, and
``reviewer-admin report`` reads a backend through one (`ReportsDesk.open`): the choices of
the team filter, the report for a filter (`reviewer.reports.analytics.build_report`, in one
session), and, for the window, the audit-log entry of each CSV or PDF it saved.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from reviewer.reports.analytics import SECTIONS, Report, ReportFilter, build_report, teams
from reviewer.security.audit import AuditKind, append_audit
from reviewer.store.database import BackendError, Database, DataPaths, check_schema, sqlite_url
from reviewer.store.keys import DatabaseKeys


class ReportsDesk:
    """Reports over ``database``: a workstation's replica, or a backend an admin reads."""

    def __init__(self, database: Database):
        self.database = database

    @classmethod
    def open(cls, backend_url: str | None, data_dir: Path, *,
             keys: DatabaseKeys | None = None) -> ReportsDesk:
        """The backend a report reads: ``backend_url`` (its schema checked first), else the
        embedded one in ``data_dir``, which a report never creates. `close` it after."""
        if backend_url:
            database = Database.open(backend_url, migrate=False, keys=keys)
            try:
                with database.talking():
                    check_schema(database.engine)
            except BaseException:
                database.dispose()
                raise
            return cls(database)
        path = DataPaths(data_dir).backend
        if not path.exists():
            raise BackendError(f"there is no embedded backend at {path}: give the team "
                               "backend with --backend URL, or --data-dir")
        return cls(Database.open(sqlite_url(path), keys=keys))

    def teams(self) -> list[tuple[str, str]]:
        """(code, name) of every team, by name: the choices of the team filter."""
        with self.database.sessions() as session:
            return teams(session)

    def build(self, wanted: ReportFilter, now: datetime, sections: Iterable[str] = SECTIONS,
              progress: Callable[[int, int], None] | None = None) -> Report:
        """The ``sections`` of the report for ``wanted``, open cases measured at ``now``; a
        lost or refused backend connection raises a `BackendError`."""
        with self.database.talking(), self.database.sessions() as session:
            return build_report(session, wanted, now, sections, progress=progress)

    def record_export(self, what: str, wanted: ReportFilter, path: Path, *, client_id: str,
                      actor_id: uuid.UUID | None, now: datetime) -> None:
        """Put the export of ``what`` (a table's name, or "all" for the PDF) into the audit
        log, and from there on its way to the backend: the filter and the file's digest."""
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        with self.database.writing() as session:
            append_audit(session, origin=client_id, actor_id=actor_id, kind=AuditKind.EXPORT,
                         subject=f"report:{what}", now=now,
                         details={"report": what, "file": path.name, "sha256": digest,
                                  "since": wanted.since.isoformat(),
                                  "until": wanted.until.isoformat(), "team": wanted.team})

    def close(self) -> None:
        self.database.dispose()
