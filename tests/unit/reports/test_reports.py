"""Reports: SLA compliance, volume, turnaround and escalations on hand-built data whose
figures were worked out by hand; CSV export and its defence against formula injection.

`build_known_dataset` and `assert_known_figures` are shared with the PostgreSQL run
(tests/integration/test_pg_reports.py), so both dialects answer the same questions.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reviewer.qa.metrics import qa_report_rows
from reviewer.queue.case_queue import at_risk_from
from reviewer.reports.analytics import (
    Bucket,
    EscalationRow,
    ReportFilter,
    ReportKind,
    ReportTable,
    SlaRow,
    TurnaroundRow,
    VolumeRow,
    bucket_of,
    buckets_between,
    build_report,
    csv_cell,
    csv_text,
    escalations,
    kind_table,
    percentile,
    report_tables,
    save_csv,
    sla_compliance,
    teams,
    turnaround,
    volume,
)
from reviewer.store.database import Database, sqlite_url
from reviewer.store.models import (
    Case,
    Decision,
    Escalation,
    QaReview,
    QaSample,
    Queue,
    Reviewer,
    Team,
    TeamMembership,
)

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)  # a Monday
SINCE = datetime(2026, 11, 9, tzinfo=UTC)  # the Monday before
UNTIL = datetime(2026, 11, 17, tzinfo=UTC)
ALPHA_REVIEWER = uuid.UUID(int=1)
BETA_REVIEWER = uuid.UUID(int=2)
AUDITOR = uuid.UUID(int=3)


def _at(day: int, hour: float) -> datetime:
    return datetime(2026, 11, day, tzinfo=UTC) + timedelta(hours=hour)


# ref, queue, channel, area, reported, [(hours after report, action)]
CASES = [
    ("a1", "A", "user_report", "hate_speech", _at(10, 8), [(1, "remove")]),
    ("a2", "A", "user_report", "hate_speech", _at(10, 9), [(2, "remove")]),
    ("a3", "A", "press", "hate_speech", _at(11, 10), [(3, "no_violation")]),
    ("a4", "A", "user_report", "spam_fraud", _at(12, 10), [(4, "remove")]),
    ("a5", "A", "press", "spam_fraud", _at(12, 11), [(12, "remove")]),  # after its 10 h SLA
    # An escalation is not a final decision: the turnaround is to the removal at 2 h.
    ("a6", "A", "user_report", "hate_speech", _at(13, 10), [(0.5, "escalate"), (2, "remove")]),
    ("a7", "A", "user_report", "hate_speech", _at(14, 10), []),  # Saturday; overdue, open
    ("a8", "A", "partner", "hate_speech", _at(16, 3), []),  # due 13:00, at risk from 10:30
    ("a9", "A", "partner", "hate_speech", _at(16, 11), []),  # on track
    # Sunday 23:30 UTC: the day and the ISO week must be UTC's, and Sunday ends a week.
    ("b1", "B", "regulator", "legal_regulatory", _at(15, 23.5), [(1, "remove")]),
    ("b2", "B", "regulator", "legal_regulatory", _at(16, 6), [(5, "remove")]),  # 4 h SLA
    ("old", "A", "user_report", "hate_speech", _at(1, 8), [(1, "remove")]),  # before SINCE
]
SLA_HOURS = {"A": 10.0, "B": 4.0}
QUEUE_NAMES = {"A": "Alpha queue", "B": "Beta queue"}
QUEUE_TEAMS = {"A": "alpha", "B": "beta"}


def build_known_dataset(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.add_all([Team(code="alpha", name="Alpha team"),
                         Team(code="beta", name="Beta team")])
        session.add_all([
            Reviewer(id=ALPHA_REVIEWER, username="ann", display_name="Ann", role="reviewer"),
            Reviewer(id=BETA_REVIEWER, username="bob", display_name="Bob", role="reviewer"),
        ])
        session.flush()
        session.add_all([TeamMembership(reviewer_id=ALPHA_REVIEWER, team_code="alpha"),
                         TeamMembership(reviewer_id=BETA_REVIEWER, team_code="beta")])
        queues = {}
        for key in ("A", "B"):
            queues[key] = Queue(id=uuid.uuid4(), name=QUEUE_NAMES[key], team_code=QUEUE_TEAMS[key],
                                policy_area="hate_speech", sla_hours=SLA_HOURS[key])
        session.add_all(queues.values())
        session.flush()
        case_ids = {}
        for ref, key, channel, area, reported, decisions in CASES:
            due = reported + timedelta(hours=SLA_HOURS[key])
            case = Case(id=uuid.uuid4(), external_ref=ref, queue_id=queues[key].id,
                        surface="organic_post", channel=channel, policy_area=area,
                        reported_at=reported, due_at=due, at_risk_at=at_risk_from(reported, due),
                        severity=3, language="en", region="DE",
                        status="decided" if decisions else "new")
            session.add(case)
            session.flush()
            case_ids[ref] = case.id
            for hours, action in decisions:
                session.add(Decision(
                    case_id=case.id, reviewer_id=ALPHA_REVIEWER, policy_code="HS-1",
                    action=action, rationale="hand-built", policy_version="1",
                    created_at=reported + timedelta(hours=hours)))
        session.add_all([
            Escalation(case_id=case_ids["a6"], reviewer_id=ALPHA_REVIEWER, to_team="legal",
                       reason="needs legal", urgency="high", created_at=_at(13, 10.5)),
            Escalation(case_id=case_ids["b2"], reviewer_id=BETA_REVIEWER, to_team="product",
                       reason="product bug", urgency="routine", created_at=_at(16, 7)),
            Escalation(case_id=case_ids["old"], reviewer_id=BETA_REVIEWER, to_team="legal",
                       reason="old", urgency="routine", created_at=_at(1, 9)),
        ])
        session.commit()


def add_qa_reviews(sessions: sessionmaker[Session]) -> None:
    """An auditor re-reviews the decisions on a1, a2 and a3 (ISO week 46) and decides
    HS-1/remove each time: agreement with a1 and a2, not with a3 (no_violation)."""
    with sessions() as session:
        session.add(Reviewer(id=AUDITOR, username="aud", display_name="Aud", role="auditor"))
        session.flush()
        for ref in ("a1", "a2", "a3"):
            case_id, decision_id = session.execute(
                select(Case.id, Decision.id).join(Decision, Decision.case_id == Case.id)
                .where(Case.external_ref == ref)).one()
            sample = QaSample(case_id=case_id, decision_id=decision_id,
                              reviewer_id=ALPHA_REVIEWER, auditor_id=AUDITOR, method="random",
                              status="reviewed")
            session.add(sample)
            session.flush()
            session.add(QaReview(sample_id=sample.id, case_id=case_id, auditor_id=AUDITOR,
                                 reviewer_id=ALPHA_REVIEWER, decision_id=decision_id,
                                 policy_code="HS-1", action="remove", agrees=ref != "a3"))
        session.commit()


def _filter(team: str | None = None, bucket: Bucket = Bucket.DAY) -> ReportFilter:
    return ReportFilter(SINCE, UNTIL, team, bucket)


def assert_known_figures(sessions: sessionmaker[Session]) -> None:
    """The figures of `build_known_dataset`, worked out by hand from the table above."""
    with sessions() as session:
        sla = sla_compliance(session, _filter(), NOW)
        assert sla == [
            SlaRow("queue", "Alpha queue", total=9, decided=6, within_sla=5, breached=2,
                   open_at_risk=1),
            SlaRow("queue", "Beta queue", total=2, decided=2, within_sla=1, breached=1,
                   open_at_risk=0),
            SlaRow("channel", "partner", 2, 0, 0, 0, 1),
            SlaRow("channel", "press", 2, 2, 1, 1, 0),
            SlaRow("channel", "regulator", 2, 2, 1, 1, 0),
            SlaRow("channel", "user_report", 5, 4, 4, 1, 0),
        ]
        assert sla[0].compliance == pytest.approx(5 / 9)
        assert [r.total for r in sla_compliance(session, _filter("beta"), NOW)] == [2, 2]

        rows = turnaround(session, _filter())
        assert rows == [
            TurnaroundRow("overall", "All queues", 8, pytest.approx(2.5), pytest.approx(7.1)),
            TurnaroundRow("queue", "Alpha queue", 6, pytest.approx(2.5), pytest.approx(8.0)),
            TurnaroundRow("queue", "Beta queue", 2, pytest.approx(3.0), pytest.approx(4.6)),
        ]

        by_day = [r for r in volume(session, _filter()) if r.dimension == "channel"]
        assert by_day == [
            VolumeRow("channel", date(2026, 11, 10), "user_report", 2),
            VolumeRow("channel", date(2026, 11, 11), "press", 1),
            VolumeRow("channel", date(2026, 11, 12), "press", 1),
            VolumeRow("channel", date(2026, 11, 12), "user_report", 1),
            VolumeRow("channel", date(2026, 11, 13), "user_report", 1),
            VolumeRow("channel", date(2026, 11, 14), "user_report", 1),
            VolumeRow("channel", date(2026, 11, 15), "regulator", 1),
            VolumeRow("channel", date(2026, 11, 16), "partner", 2),
            VolumeRow("channel", date(2026, 11, 16), "regulator", 1),
        ]
        by_week = volume(session, _filter(bucket=Bucket.WEEK))
        assert [r for r in by_week if r.dimension == "channel"] == [
            VolumeRow("channel", date(2026, 11, 9), "press", 2),
            VolumeRow("channel", date(2026, 11, 9), "regulator", 1),
            VolumeRow("channel", date(2026, 11, 9), "user_report", 5),
            VolumeRow("channel", date(2026, 11, 16), "partner", 2),
            VolumeRow("channel", date(2026, 11, 16), "regulator", 1),
        ]
        assert [r for r in by_week if r.dimension == "policy_area"] == [
            VolumeRow("policy_area", date(2026, 11, 9), "hate_speech", 5),
            VolumeRow("policy_area", date(2026, 11, 9), "legal_regulatory", 1),
            VolumeRow("policy_area", date(2026, 11, 9), "spam_fraud", 2),
            VolumeRow("policy_area", date(2026, 11, 16), "hate_speech", 2),
            VolumeRow("policy_area", date(2026, 11, 16), "legal_regulatory", 1),
        ]

        assert escalations(session, _filter()) == [
            EscalationRow(date(2026, 11, 13), "legal", 1),
            EscalationRow(date(2026, 11, 16), "product", 1),
        ]
        assert escalations(session, _filter("alpha")) == [
            EscalationRow(date(2026, 11, 13), "legal", 1)]
        assert escalations(session, _filter("escalation-product")) == [
            EscalationRow(date(2026, 11, 16), "product", 1)]
        assert escalations(session, _filter(bucket=Bucket.WEEK)) == [
            EscalationRow(date(2026, 11, 9), "legal", 1),
            EscalationRow(date(2026, 11, 16), "product", 1),
        ]
        assert teams(session) == [("alpha", "Alpha team"), ("beta", "Beta team")]


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
        rows = sla_compliance(session, _filter("alpha"), NOW)
        assert {r.key for r in rows if r.dimension == "queue"} == {"Alpha queue"}
        assert turnaround(session, _filter("beta"))[0].decided == 2
        assert sla_compliance(session, _filter("nobody"), NOW) == []


def test_a_shorter_period_leaves_cases_out(known_db):
    with known_db.sessions() as session:
        period = ReportFilter(_at(16, 0), UNTIL)
        rows = sla_compliance(session, period, NOW)
        assert [(r.key, r.total) for r in rows if r.dimension == "queue"] == [
            ("Alpha queue", 2), ("Beta queue", 1)]


def test_build_report_runs_each_section_with_progress(known_db):
    seen: list[tuple[int, int]] = []
    with known_db.sessions() as session:
        report = build_report(session, _filter(), NOW, progress=lambda d, t: seen.append((d, t)))
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
        build_report(session, _filter(), NOW, sections=["sla", "gossip"])


def test_kind_tables_are_one_tidy_table_each(known_db):
    with known_db.sessions() as session:
        report = build_report(session, _filter(), NOW, sections=["sla", "volume"])
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
    assert bucket_of(_at(15, 23.5), Bucket.WEEK) == date(2026, 11, 9)
    assert bucket_of(_at(16, 0), Bucket.WEEK) == date(2026, 11, 16)
    assert buckets_between(_filter()) == [date(2026, 11, d) for d in range(9, 17)]
    assert buckets_between(_filter(bucket=Bucket.WEEK)) == [date(2026, 11, 9),
                                                            date(2026, 11, 16)]


def test_an_empty_or_naive_period_is_refused():
    with pytest.raises(ValueError, match="the period is empty"):
        ReportFilter(UNTIL, SINCE)
    with pytest.raises(ValueError, match="time zone"):
        ReportFilter(datetime(2026, 11, 1), UNTIL)
    assert _filter("beta", Bucket.WEEK).describe() == (
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
                             reported_at=_at(10, 1), due_at=_at(10, 2), severity=1,
                             language="en", region="DE"))
            session.commit()
            report = build_report(session, _filter(), NOW, sections=["sla"])
        table = kind_table(report, ReportKind.SLA)
        assert "'=cmd|' /C calc'!A0" in csv_text(table)
        assert csv_cell("=1+1") == "'=1+1" and csv_cell(-1) == "-1"
    finally:
        database.dispose()


def test_quality_section_is_qa_report_rows_for_the_period(known_db):
    add_qa_reviews(known_db.sessions)
    with known_db.sessions() as session:
        report = build_report(session, _filter(bucket=Bucket.WEEK), NOW, sections=["qa"])
        assert report.qa == qa_report_rows(session, SINCE, None, "week")
        team_rows = [r for r in report.qa if r.scope == "team"]
        assert [(r.period, r.key, r.n) for r in team_rows] == [("2026-W46", "alpha", 3)]
        assert team_rows[0].agreement == pytest.approx(2 / 3) and team_rows[0].too_small
        by_day = build_report(session, _filter(), NOW, sections=["qa"]).qa
        assert {r.period for r in by_day} == {"2026-11-10", "2026-11-11"}
        # A period that starts after the end of the range is left out.
        early = build_report(session, ReportFilter(SINCE, _at(11, 0)), NOW, sections=["qa"])
        assert {r.period for r in early.qa} == {"2026-11-10"}
        assert build_report(session, _filter("beta"), NOW, sections=["qa"]).qa == []
    table = kind_table(report, ReportKind.QA)
    assert table.headers[:4] == ("Period", "Scope", "Who", "Audited")
    assert table.rows[1][:5] == ("2026-W46", "team", "alpha", 3, 0.6667)
