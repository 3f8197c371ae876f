"""Reports: SLA compliance, volume, turnaround and escalations on hand-built data whose
figures were worked out by hand (tests/helpers/datasets.py, shared with the PostgreSQL run);
CSV export and its defence against formula injection.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from reviewer.qa.metrics import qa_report_rows
from reviewer.reports.analytics import (
    Bucket,
    ReportFilter,
    ReportKind,
    ReportTable,
    bucket_of,
    buckets_between,
    build_report,
    csv_cell,
    csv_text,
    kind_table,
    percentile,
    report_tables,
    save_csv,
    sla_compliance,
    turnaround,
)
from reviewer.store.database import Database, sqlite_url
from reviewer.store.models import Case, Queue, Team
from tests.helpers.datasets import (
    NOW,
    SINCE,
    UNTIL,
    add_qa_reviews,
    assert_known_figures,
    build_known_dataset,
    day_at,
    known_filter,
)


@pytest.fixture
def known_db(tmp_path):
    database = Database.open(sqlite_url(tmp_path / "reports.db"))
    build_known_dataset(database.sessions)
    yield database
    database.dispose()


def test_known_figures_on_sqlite(known_db):
    assert_known_figures(known_db.sessions)


def test_team_filter_keeps_only_the_teams_queues(known_db):
    with known_db.sessions() as session:
        rows = sla_compliance(session, known_filter("alpha"), NOW)
        assert {r.key for r in rows if r.dimension == "queue"} == {"Alpha queue"}
        assert turnaround(session, known_filter("beta"))[0].decided == 2
        assert sla_compliance(session, known_filter("nobody"), NOW) == []


def test_a_shorter_period_leaves_cases_out(known_db):
    with known_db.sessions() as session:
        period = ReportFilter(day_at(16, 0), UNTIL)
        rows = sla_compliance(session, period, NOW)
        assert [(r.key, r.total) for r in rows if r.dimension == "queue"] == [
            ("Alpha queue", 2), ("Beta queue", 1)]


def test_build_report_runs_each_section_with_progress(known_db):
    seen: list[tuple[int, int]] = []
    with known_db.sessions() as session:
        report = build_report(session, known_filter(), NOW,
                              progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, len(report.sections)) and seen[-1] == (5, 5)
    assert len(report.sla) == 6 and len(report.escalations) == 2
    names = [t.name for t in report_tables(report, {"hate_speech": "Hate speech"})]
    assert names == ["sla_by_queue", "sla_by_channel", "turnaround", "volume_by_channel",
                     "volume_by_policy_area", "escalations_by_team", "qa_agreement",
                     "qa_golden", "qa_calibration"]
    by_area = next(t for t in report_tables(report, {"hate_speech": "Hate speech"})
                   if t.name == "volume_by_policy_area")
    assert ("Hate speech" in {row[1] for row in by_area.rows})
    with pytest.raises(ValueError, match="unknown report sections"):
        build_report(session, known_filter(), NOW, sections=["sla", "gossip"])


def test_kind_tables_are_one_tidy_table_each(known_db):
    with known_db.sessions() as session:
        report = build_report(session, known_filter(), NOW, sections=["sla", "volume"])
    sla = kind_table(report, ReportKind.SLA)
    assert sla.headers[:3] == ("Dimension", "Key", "Cases")
    assert sla.rows[0] == ("queue", "Alpha queue", 9, 6, 5, 2, 1, 0.5556)
    assert sla.rows[-1] == ("channel", "User report", 5, 4, 4, 1, 0, 0.8)
    vol = kind_table(report, ReportKind.VOLUME)
    assert vol.rows[0] == (date(2026, 11, 10), "channel", "User report", 2)


def test_percentile_interpolates_like_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5) == pytest.approx(5.5)
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == pytest.approx(9.1)


def test_buckets_cover_the_period_and_weeks_start_on_monday():
    assert bucket_of(day_at(15, 23.5), Bucket.WEEK) == date(2026, 11, 9)
    assert bucket_of(day_at(16, 0), Bucket.WEEK) == date(2026, 11, 16)
    assert buckets_between(known_filter()) == [date(2026, 11, d) for d in range(9, 17)]
    assert buckets_between(known_filter(bucket=Bucket.WEEK)) == [date(2026, 11, 9),
                                                            date(2026, 11, 16)]


def test_an_empty_or_naive_period_is_refused():
    with pytest.raises(ValueError, match="the period is empty"):
        ReportFilter(UNTIL, SINCE)
    with pytest.raises(ValueError, match="time zone"):
        ReportFilter(datetime(2026, 11, 1), UNTIL)
    assert known_filter("beta", Bucket.WEEK).describe() == (
        "2026-11-09 to 2026-11-16 (UTC), team beta, by week")


# -- CSV --------------------------------------------------------------------------------------


HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+2", "-2+3", "@SUM(A1)",
           "\t=1", "\r=1", "plain, with \"quotes\"\nand a newline", "ünïcödé ✓", ""]


def test_csv_round_trips_with_iso_dates_and_utf8(tmp_path):
    table = ReportTable("t", "T", ("Day", "When", "Name", "Count", "Share", "None"), (
        (date(2026, 11, 9), datetime(2026, 11, 9, 8, 30, tzinfo=UTC), "Zoë's queue", 3,
         0.25, None),
        (date(2026, 11, 10), datetime(2026, 11, 10, 0, 0, tzinfo=UTC), "plain", -4, -1.5,
         None),
    ))
    path = tmp_path / "t.csv"
    save_csv(table, path)
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [
        ["Day", "When", "Name", "Count", "Share", "None"],
        ["2026-11-09", "2026-11-09T08:30:00+00:00", "Zoë's queue", "3", "0.25", ""],
        ["2026-11-10", "2026-11-10T00:00:00+00:00", "plain", "-4", "-1.5", ""],
    ]
    assert path.read_bytes().startswith(b"Day,When")  # no byte-order mark


def test_hostile_text_is_neutralised_but_numbers_are_not():
    table = ReportTable("h", "H", ("Text", "Number"), tuple((text, -3) for text in HOSTILE))
    rows = list(csv.reader(io.StringIO(csv_text(table), newline="")))
    assert rows[0] == ["Text", "Number"]
    for text, (cell, number) in zip(HOSTILE, rows[1:], strict=True):
        assert number == "-3"
        if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
            assert cell == "'" + text
        else:
            assert cell == text
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r")


def test_hostile_queue_names_from_the_database_are_neutralised(tmp_path):
    database = Database.open(sqlite_url(tmp_path / "h.db"))
    try:
        with database.sessions() as session:
            session.add(Team(code="t", name="T"))
            session.flush()
            queue = Queue(name="=cmd|' /C calc'!A0", team_code="t", policy_area="spam_fraud",
                          sla_hours=1)
            session.add(queue)
            session.flush()
            session.add(Case(external_ref="x", queue_id=queue.id, surface="ad",
                             channel="user_report", policy_area="spam_fraud",
                             reported_at=day_at(10, 1), due_at=day_at(10, 2), severity=1,
                             language="en", region="DE"))
            session.commit()
            report = build_report(session, known_filter(), NOW, sections=["sla"])
        table = kind_table(report, ReportKind.SLA)
        assert "'=cmd|' /C calc'!A0" in csv_text(table)
        assert csv_cell("=1+1") == "'=1+1" and csv_cell(-1) == "-1"
    finally:
        database.dispose()


def test_quality_section_is_qa_report_rows_for_the_period(known_db):
    add_qa_reviews(known_db.sessions)
    with known_db.sessions() as session:
        report = build_report(session, known_filter(bucket=Bucket.WEEK), NOW, sections=["qa"])
        assert report.qa == qa_report_rows(session, SINCE, None, "week")
        team_rows = [r for r in report.qa if r.scope == "team"]
        assert [(r.period, r.key, r.n) for r in team_rows] == [("2026-W46", "alpha", 3)]
        assert team_rows[0].agreement == pytest.approx(2 / 3) and team_rows[0].too_small
        by_day = build_report(session, known_filter(), NOW, sections=["qa"]).qa
        assert {r.period for r in by_day} == {"2026-11-10", "2026-11-11"}
        # A period that starts after the end of the range is left out.
        early = build_report(session, ReportFilter(SINCE, day_at(11, 0)), NOW, sections=["qa"])
        assert {r.period for r in early.qa} == {"2026-11-10"}
        assert build_report(session, known_filter("beta"), NOW, sections=["qa"]).qa == []
    table = kind_table(report, ReportKind.QA)
    assert table.headers[:4] == ("Period", "Scope", "Who", "Audited")
    assert table.rows[1][:5] == ("2026-W46", "team", "alpha", 3, 0.6667)
