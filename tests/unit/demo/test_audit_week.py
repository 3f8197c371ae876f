"""The demo's auditor's week (reviewer/demo/audit_week.py), as a lead or auditor meets it on
the demo's first start: the QA report has rows with agreement figures, every tab of the
reports window has data, Mei's Audit window has samples left, and seeding again adds no
second week."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from reviewer.clock import ManualClock
from reviewer.demo.audit_week import AUDITOR_USERNAME, seed_audit_week
from reviewer.demo.seed import demo_reviewer_id, seed_demo
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.qa.metrics import reviewer_quality
from reviewer.qa.store import pending_samples
from reviewer.reports.analytics import SECTIONS, Bucket, ReportFilter, report_tables
from reviewer.secret_store import MemorySecretStore
from reviewer.store.database import Database, sqlite_url
from reviewer.store.models import (
    QaCalibration,
    QaCalibrationMember,
    QaGolden,
    QaGoldenScore,
    QaReview,
    QaSample,
)
from reviewer.workstation import Workstation
from tests.helpers.fixtures import START
from ui.admin_cli import main as admin_main

SEED = 20261121
CASES = 120
MEI = demo_reviewer_id(AUDITOR_USERNAME)
TAB_TABLES = {
    "SLA": ("sla_by_queue", "sla_by_channel"),
    "Turnaround": ("turnaround",),
    "Volume": ("volume_by_channel", "volume_by_policy_area"),
    "Escalations": ("escalations_by_team",),
    "Quality": ("qa_agreement", "qa_golden", "qa_calibration"),
}
"""The tables each tab of the reports window shows (ui/reports/reports_view.py's CHARTS and
TABLE_ONLY), by `ReportTable.name`."""
WEEK = ReportFilter(START - timedelta(days=8), START + timedelta(days=1), None, Bucket.DAY)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo's reviewer on a freshly seeded embedded backend (no media), pulled once, and
    what `seed_demo` said it did."""
    clock = ManualClock(START)
    workstation = Workstation.open_embedded(tmp_path_factory.mktemp("audit") / "data",
                                            clock=clock, secrets=MemorySecretStore())
    summary = seed_demo(workstation.backend, workstation.taxonomy, clock, random.Random(SEED),
                        cases=CASES, with_media=False)
    workstation.synchronise()
    yield workstation, summary
    workstation.close()


def _count(database, model, *where) -> int:
    with database.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_the_summary_counts_what_the_backend_holds(demo):
    workstation, summary = demo
    week = summary.audit
    assert week is not None and not week.skipped
    backend = workstation.backend
    decision_samples = (QaSample.auditor_id == MEI, QaSample.decision_id.is_not(None))
    assert _count(backend, QaSample, *decision_samples) == week.samples >= 10
    assert _count(backend, QaSample, *decision_samples,
                  QaSample.status == "pending") == week.pending > 0
    blind = (QaReview.auditor_id == MEI, QaReview.decision_id.is_not(None))
    assert _count(backend, QaReview, *blind) == week.blind_reviews
    assert week.blind_reviews + week.pending == week.samples
    assert week.blind_reviews >= 0.6 * week.samples  # most sampled decisions re-reviewed
    assert _count(backend, QaReview, *blind,
                  QaReview.agrees.is_(False)) == week.disagreed > 0
    assert _count(backend, QaReview, *blind,
                  QaReview.agrees.is_(True)) == week.agreed > week.disagreed
    assert _count(backend, QaReview, QaReview.verdict_at.is_(None),
                  QaReview.decision_id.is_not(None)) == 0  # every re-review has its verdict
    assert _count(backend, QaReview, QaReview.agrees.is_(False),
                  QaReview.reason_category.is_(None)) == 0
    assert (week.calibration_sessions, week.calibration_members,
            week.calibration_cases) == (1, 4, 10)
    assert _count(backend, QaCalibration) == 1
    assert _count(backend, QaCalibrationMember) == week.calibration_members
    assert _count(backend, QaReview, QaReview.decision_id.is_(None)) \
        == week.calibration_answers == week.calibration_members * week.calibration_cases
    assert _count(backend, QaGolden) == week.golden_cases == 6
    assert _count(backend, QaGoldenScore) == week.golden_scores == 6


def test_the_replica_holds_the_week_after_the_first_sync(demo):
    workstation, _summary = demo
    for model in (QaSample, QaReview, QaCalibration, QaGolden, QaGoldenScore):
        assert _count(workstation.replica, model) == _count(workstation.backend, model) > 0


def test_every_reports_tab_has_data_on_the_demo_reviewers_replica(demo):
    workstation, _summary = demo
    report = workstation.reports.build(WEEK, START, SECTIONS)
    tables = {table.name: table for table in report_tables(report)}
    assert set(tables) == {name for names in TAB_TABLES.values() for name in names}
    empty = {tab: name for tab, names in TAB_TABLES.items() for name in names
             if not tables[name].rows}
    assert empty == {}
    assert not report.qa_problem
    agreement = [row for row in report.qa if row.scope == "team"]
    assert agreement and all(row.n > 0 and row.agreement is not None for row in agreement)
    assert any(row.agreement < 1.0 for row in agreement)  # some disagreements show
    assert any(row.kappa is not None for row in report.qa)
    assert {row.scope for row in report.golden} == {"reviewer", "team", "area"}
    (calibration,) = report.calibration
    assert calibration.complete_cases == 10 and not calibration.too_small
    assert calibration.fleiss.value is not None and calibration.alpha.value is not None


def test_the_auditor_has_work_left_and_reviewers_see_their_results(demo):
    workstation, summary = demo
    with workstation.backend.sessions() as session:
        assert len(pending_samples(session, MEI)) == summary.audit.pending
        audited = {review.reviewer_id for review in session.scalars(select(QaReview))
                   if review.decision_id is not None}
        results = sum(len(reviewer_quality(session, reviewer_id).results)
                      for reviewer_id in audited)
    assert results == summary.audit.blind_reviews


def test_seeding_again_adds_no_second_week(demo):
    workstation, summary = demo
    before = {model: _count(workstation.backend, model)
              for model in (QaSample, QaReview, QaCalibration, QaGolden, QaGoldenScore)}
    again = seed_audit_week(workstation.backend, workstation.taxonomy,
                            ManualClock(START + timedelta(hours=1)), SEED)
    assert again.skipped and again.samples == 0
    assert {model: _count(workstation.backend, model) for model in before} == before
    assert summary.audit.samples > 0


def _week_of(backend) -> list[tuple[str, str, str]]:
    """The auditor's samples (decision, status) and blind decisions, in a stable order."""
    with backend.sessions() as session:
        samples = [(str(s.decision_id), s.status, "") for s in session.scalars(
            select(QaSample).where(QaSample.decision_id.is_not(None)))]
        reviews = [(str(r.decision_id or r.case_id), r.policy_code, r.action)
                   for r in session.scalars(select(QaReview))]
    return sorted(samples) + sorted(reviews)


def test_the_same_seed_gives_the_same_week_and_seeding_again_adds_none(tmp_path, clock):
    taxonomy = load_taxonomy()
    weeks = []
    for name in ("one", "two"):
        backend = Database.open(sqlite_url(tmp_path / f"{name}.sqlite"))
        try:
            summary = seed_demo(backend, taxonomy, clock, random.Random(SEED), cases=40,
                                with_media=False)
            weeks.append((summary.audit, _week_of(backend)))
            if name == "two":  # the demo seeded again: more cases, not a second week
                again = seed_demo(backend, taxonomy, clock, random.Random(4), cases=10,
                                  with_media=False)
                assert again.audit is not None and again.audit.skipped
                assert _week_of(backend) == weeks[0][1]
                assert _count(backend, QaCalibration) == 1
        finally:
            backend.dispose()
    assert weeks[0][0] == weeks[1][0] and weeks[0][0].samples > 0
    assert weeks[0][1] == weeks[1][1]


def test_the_qa_report_command_writes_rows_for_the_demo(tmp_path, secret_store, capsys):
    data = tmp_path / "data"
    assert admin_main(["--data-dir", str(data), "seed-demo", "--cases", "120", "--no-media"],
                      secrets=secret_store) == 0
    today = datetime.now(UTC).date()
    out = tmp_path / "qa.csv"
    capsys.readouterr()
    assert admin_main(["--data-dir", str(data), "report", "--kind", "qa",
                       "--since", (today - timedelta(days=8)).isoformat(),
                       "--bucket", "week", "--format", "csv", "--out", str(out)],
                      secrets=secret_store) == 0
    err = capsys.readouterr().err
    with open(out, encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f))
    assert rows, err
    agreement = header.index("Agreement")
    assert all(row[agreement] not in ("", "—") for row in rows)
    assert f"wrote {len(rows):,} rows" in err
    for part in ("golden", "calibration"):
        with open(tmp_path / f"qa_{part}.csv", encoding="utf-8", newline="") as f:
            assert len(list(csv.reader(f))) > 1, part
