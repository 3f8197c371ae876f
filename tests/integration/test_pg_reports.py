"""Reports on a real PostgreSQL backend: the same hand-built data gives the same figures as
on SQLite (the day and week buckets, percentiles and SLA sums are dialect-specific SQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from reviewer.reports.analytics import Bucket, ReportFilter, build_report, volume
from reviewer.store.database import Database
from tests.helpers.datasets import (
    FLEISS_KAPPA,
    KRIPPENDORFF_ALPHA,
    NOW,
    SINCE,
    UNTIL,
    add_calibrations_and_golden,
    add_qa_reviews,
    assert_known_figures,
    build_known_dataset,
)


def test_known_figures_on_postgresql(pg_url):
    database = Database.open(pg_url)
    try:
        assert database.engine.dialect.name == "postgresql"
        build_known_dataset(database.sessions)
        assert_known_figures(database.sessions)
    finally:
        database.dispose()


def test_buckets_are_utc_whatever_the_session_time_zone(pg_url):
    """A server or session in another time zone must not move a case to another day."""
    database = Database.open(pg_url)
    try:
        build_known_dataset(database.sessions)
        with database.sessions() as session:
            session.execute(text("SET TIME ZONE 'America/Los_Angeles'"))
            rows = volume(session, ReportFilter(SINCE, UNTIL, None, Bucket.WEEK))
            sunday_case = [r for r in rows if r.dimension == "channel" and r.key == "regulator"]
            assert [(r.bucket.isoformat(), r.cases) for r in sunday_case] == [
                ("2026-11-09", 1), ("2026-11-16", 1)]
            report = build_report(session, ReportFilter(SINCE, UNTIL), NOW)
            assert [r.total for r in report.sla if r.dimension == "queue"] == [9, 2]
    finally:
        database.dispose()


def test_reviewer_admin_report_reads_a_postgresql_backend(pg_url, tmp_path, capsys):
    from ui.admin_cli import main

    database = Database.open(pg_url)
    try:
        build_known_dataset(database.sessions)
    finally:
        database.dispose()
    out = tmp_path / "sla.csv"
    url = pg_url.render_as_string(hide_password=False)
    assert main(["--data-dir", str(tmp_path / "unused"), "report", "--kind", "sla",
                 "--since", "2026-11-09", "--until", "2026-11-16",
                 "--as-of", "2026-11-16T12:00:00+00:00", "--format", "csv", "--out", str(out),
                 "--backend", url]) == 0, capsys.readouterr().err
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[1] == "queue,Alpha queue,9,6,5,2,1,0.5556"
    assert not (tmp_path / "unused" / "backend.sqlite").exists()


def test_calibration_and_golden_tables_on_postgresql(pg_url):
    """Fleiss (1971)'s table stored as a calibration session on PostgreSQL, and golden
    answers: the same figures as on SQLite (tests/unit/qa/test_qa_report_tables.py)."""
    database = Database.open(pg_url)
    try:
        build_known_dataset(database.sessions)
        add_qa_reviews(database.sessions)
        add_calibrations_and_golden(database.sessions)
        with database.sessions() as session:
            report = build_report(session, ReportFilter(SINCE, UNTIL, "alpha", Bucket.WEEK),
                                  NOW, ("qa",))
        (calibration,) = report.calibration  # the Beta pair has no case in alpha's queues
        assert calibration.fleiss.value == pytest.approx(FLEISS_KAPPA, abs=5e-5)
        assert calibration.alpha.value == pytest.approx(KRIPPENDORFF_ALPHA, abs=5e-5)
        ann = next(r for r in report.golden if r.scope == "reviewer")
        assert (ann.period, ann.n, round(ann.accuracy, 4)) == ("2026-W46", 3, 0.6667)
    finally:
        database.dispose()
