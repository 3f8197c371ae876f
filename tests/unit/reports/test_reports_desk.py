"""The reports window's and ``reviewer-admin report``'s way to a database: the team filter's
choices, the report for a filter with the figures worked out by hand, the audit entry of an
export, and the backend a report reads (never created by it)."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from sqlalchemy import func, select

from reviewer.reports.analytics import SECTIONS, Bucket, ReportFilter, SlaRow
from reviewer.reports.desk import ReportsDesk
from reviewer.security.audit import AuditKind
from reviewer.store.database import (
    BackendError,
    Database,
    DataPaths,
    SchemaVersionError,
    sqlite_url,
)
from reviewer.store.keys import DatabaseKeys
from reviewer.store.models import AuditLogEntry, OutboxEntry
from tests.helpers.datasets import NOW, SINCE, UNTIL, build_known_dataset

CLIENT = "reports-desk-client"
LEAD = uuid.UUID("00000000-0000-0000-0000-00000000000a")


def _filter(team: str | None = None) -> ReportFilter:
    """9 to 16 November 2026, by day."""
    return ReportFilter(SINCE, UNTIL, team, Bucket.DAY)


@pytest.fixture
def desk(tmp_path):
    database = Database.open(sqlite_url(tmp_path / "reports.db"))
    build_known_dataset(database.sessions)
    desk = ReportsDesk(database)
    yield desk
    desk.close()


def test_the_team_filter_offers_every_team_by_name(desk):
    assert desk.teams() == [("alpha", "Alpha team"), ("beta", "Beta team")]


def test_the_report_has_the_figures_worked_out_by_hand(desk):
    progress: list[tuple[int, int]] = []
    report = desk.build(_filter(), NOW, progress=lambda done, total: progress.append(
        (done, total)))
    assert report.sections == SECTIONS and report.generated_at == NOW
    assert report.sla[:2] == [
        SlaRow("queue", "Alpha queue", total=9, decided=6, within_sla=5, breached=2,
               open_at_risk=1),
        SlaRow("queue", "Beta queue", total=2, decided=2, within_sla=1, breached=1,
               open_at_risk=0),
    ]
    assert progress == [(done, len(SECTIONS)) for done in range(len(SECTIONS) + 1)]
    beta = desk.build(_filter("beta"), NOW, sections=("sla",))
    assert beta.sections == ("sla",) and beta.turnaround == []
    assert [r.total for r in beta.sla] == [2, 2]


def test_an_export_is_in_the_audit_log_on_its_way_to_the_backend(desk, tmp_path):
    path = tmp_path / "sla.csv"
    path.write_text("Channel,Cases\nPress,2\n", encoding="utf-8")
    desk.record_export("sla_by_channel", _filter("alpha"), path, client_id=CLIENT,
                       actor_id=LEAD, now=NOW)
    with desk.database.sessions() as session:
        [entry] = session.scalars(select(AuditLogEntry)
                                  .where(AuditLogEntry.kind == AuditKind.EXPORT)).all()
        pushed = session.scalar(select(func.count()).select_from(OutboxEntry)
                                .where(OutboxEntry.kind == "audit"))
    assert (entry.subject, entry.actor_id, entry.origin, entry.at) == (
        "report:sla_by_channel", LEAD, CLIENT, NOW)
    assert entry.details == {
        "report": "sla_by_channel", "file": "sla.csv",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "since": "2026-11-09T00:00:00+00:00", "until": "2026-11-17T00:00:00+00:00",
        "team": "alpha"}
    assert pushed == 1


def test_a_report_reads_the_embedded_backend_and_never_creates_one(tmp_path, secret_store):
    data = tmp_path / "data"
    with pytest.raises(BackendError, match="no embedded backend"):
        ReportsDesk.open(None, data, keys=DatabaseKeys(secret_store))
    assert not DataPaths(data).backend.exists()

    backend = Database.open(sqlite_url(DataPaths(data).ensure().backend),
                            keys=DatabaseKeys(secret_store))
    build_known_dataset(backend.sessions)
    backend.dispose()
    desk = ReportsDesk.open(None, data, keys=DatabaseKeys(secret_store))
    try:
        assert desk.teams() == [("alpha", "Alpha team"), ("beta", "Beta team")]
        assert desk.build(_filter(), NOW, sections=("sla",)).sla[0].total == 9
    finally:
        desk.close()


def test_a_backend_url_is_read_only_once_its_schema_checks_out(tmp_path):
    empty = tmp_path / "not-migrated.db"
    with pytest.raises(SchemaVersionError, match="has no schema yet"):
        ReportsDesk.open(sqlite_url(empty), tmp_path)
    migrated = Database.open(sqlite_url(tmp_path / "backend.db"))
    build_known_dataset(migrated.sessions)
    migrated.dispose()
    desk = ReportsDesk.open(sqlite_url(tmp_path / "backend.db"), tmp_path / "unused")
    try:
        assert desk.teams() == [("alpha", "Alpha team"), ("beta", "Beta team")]
    finally:
        desk.close()
