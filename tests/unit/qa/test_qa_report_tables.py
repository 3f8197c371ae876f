"""The quality report's golden-accuracy and calibration tables, on known data stored the way
the app stores it (tests/helpers/datasets.py: Fleiss (1971)'s table as a calibration session,
golden cases of Ann's). Then the report, its tables, and ``reviewer-admin report --kind qa``
CSV files.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from reviewer.qa.agreement import MIN_CALIBRATION_ITEMS
from reviewer.reports.analytics import (
    Bucket,
    ReportFilter,
    ReportKind,
    build_report,
    csv_text,
    kind_extra_tables,
    kind_table,
    report_tables,
)
from reviewer.secret_store import MemorySecretStore
from reviewer.store.database import Database, DataPaths, sqlite_url
from reviewer.store.keys import DatabaseKeys
from tests.helpers.datasets import (
    FLEISS_KAPPA,
    KRIPPENDORFF_ALPHA,
    NOW,
    SINCE,
    STARTED,
    UNTIL,
    add_calibrations_and_golden,
    add_qa_reviews,
    build_known_dataset,
)
from ui.admin_cli import extra_csv_path, main

SECRETS = MemorySecretStore()
"""Where the data directory below keeps its key."""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    data = tmp_path_factory.mktemp("qa-report") / "data"
    database = Database.open(sqlite_url(DataPaths(data).ensure().backend),
                             keys=DatabaseKeys(SECRETS))
    build_known_dataset(database.sessions)
    add_qa_reviews(database.sessions)
    add_calibrations_and_golden(database.sessions)
    database.dispose()
    return data


@pytest.fixture
def database(data_dir):
    database = Database.open(sqlite_url(DataPaths(data_dir).backend), keys=DatabaseKeys(SECRETS))
    yield database
    database.dispose()


def _report(database, team=None):
    with database.sessions() as session:
        return build_report(session, ReportFilter(SINCE, UNTIL, team, Bucket.WEEK), NOW,
                            ("qa",))


def test_calibration_session_figures_are_fleiss_1971s(database):
    report = _report(database)
    big, small = report.calibration
    assert (big.name, big.members, big.cases, big.complete_cases) == (
        "Week 46 calibration", 14, 10, 10)
    assert big.fleiss.value == pytest.approx(FLEISS_KAPPA, abs=5e-5)
    assert big.alpha.value == pytest.approx(KRIPPENDORFF_ALPHA, abs=5e-5)
    assert big.fleiss.interval.low < FLEISS_KAPPA < big.fleiss.interval.high
    assert big.alpha.interval.low < KRIPPENDORFF_ALPHA < big.alpha.interval.high
    assert big.too_small is False
    assert (small.name, small.members, small.cases, small.too_small) == ("Beta pair", 2, 2, True)
    assert small.fleiss.warning.startswith("only 2 calibration items")
    # The interval is a bootstrap seeded by the session: the same every time.
    again = _report(database).calibration[0]
    assert again.fleiss.interval == big.fleiss.interval


def test_the_quality_section_has_three_tables(database):
    tables = {t.name: t for t in report_tables(_report(database),
                                              {"hate_speech": "Hate speech"})}
    assert list(tables) == ["qa_agreement", "qa_golden", "qa_calibration"]
    calibration = tables["qa_calibration"]
    assert calibration.headers[:6] == ("Session", "Started", "Cases", "Complete cases",
                                       "Raters", "Fleiss' kappa")
    big, small = calibration.rows
    header = calibration.headers.index
    assert big[:5] == ("Week 46 calibration", STARTED, 10, 10, 14)
    assert big[header("Fleiss' kappa")] == pytest.approx(FLEISS_KAPPA, abs=1e-4)
    assert big[header("Krippendorff's alpha")] == pytest.approx(KRIPPENDORFF_ALPHA, abs=1e-4)
    assert big[header("Kappa low")] < FLEISS_KAPPA < big[header("Kappa high")]
    assert big[header("Alpha low")] < KRIPPENDORFF_ALPHA < big[header("Alpha high")]
    assert (big[header("Sample too small")], big[header("Note")]) == (False, "")
    assert small[header("Sample too small")] is True
    assert f"fewer than {MIN_CALIBRATION_ITEMS}" in small[header("Note")]

    golden = tables["qa_golden"]
    assert golden.headers == ("Period", "Scope", "Who", "Golden answers", "Accuracy",
                              "Accuracy low (95%)", "Accuracy high (95%)", "Sample too small")
    rows = {(r[1], r[2]): r for r in golden.rows}
    assert rows[("reviewer", "Ann")][:5] == ("2026-W46", "reviewer", "Ann", 3, 0.6667)
    assert rows[("reviewer", "Ann")][5:] == (pytest.approx(0.2077, abs=1e-4),
                                            pytest.approx(0.9385, abs=1e-4), True)
    assert rows[("team", "alpha")][3:5] == (3, 0.6667)
    assert rows[("area", "Hate speech")][3:5] == (2, 0.5)  # a1 right, a3 wrong
    assert rows[("area", "spam_fraud")][3:5] == (1, 1.0)


def test_team_filter_keeps_sessions_with_a_case_in_the_team(database):
    assert [r.name for r in _report(database, "alpha").calibration] == ["Week 46 calibration"]
    assert [r.name for r in _report(database, "beta").calibration] == [
        "Week 46 calibration", "Beta pair"]  # b1 was in the first session too
    assert _report(database, "beta").golden == []


def test_agreement_csv_keeps_its_columns_and_the_others_are_extra(database):
    report = _report(database)
    assert kind_table(report, ReportKind.QA).name == "qa_agreement"
    assert [t.name for t in kind_extra_tables(report, ReportKind.QA)] == [
        "qa_golden", "qa_calibration"]
    assert kind_extra_tables(report, ReportKind.SLA) == []
    text = csv_text(kind_extra_tables(report, ReportKind.QA)[1])
    assert text.splitlines()[1].startswith("Week 46 calibration,2026-11-12T09:00:00+00:00,10,")


def _rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_admin_report_writes_golden_and_calibration_beside_the_csv(data_dir, tmp_path, capsys):
    out = tmp_path / "qa.csv"
    assert main(["--data-dir", str(data_dir), "report", "--kind", "qa", "--since", "2026-11-09",
                 "--until", "2026-11-16", "--as-of", "2026-11-16T12:00Z", "--bucket", "week",
                 "--format", "csv", "--out", str(out)], secrets=SECRETS) == 0
    assert _rows(out)[0] == ["Period", "Scope", "Who", "Audited", "Agreement",
                             "Agreement low (95%)", "Agreement high (95%)", "Cohen's kappa",
                             "Sample too small"]
    golden = _rows(tmp_path / "qa_golden.csv")
    assert golden[1][:5] == ["2026-W46", "reviewer", "Ann", "3", "0.6667"]
    calibration = _rows(tmp_path / "qa_calibration.csv")
    assert [row[0] for row in calibration] == ["Session", "Week 46 calibration", "Beta pair"]
    assert calibration[1][5] == "0.2099" and calibration[1][8] == "0.2156"
    assert [row[11] for row in calibration[1:]] == ["false", "true"]
    err = capsys.readouterr().err
    assert "qa_golden.csv" in err and "qa_calibration.csv" in err


def test_admin_report_to_stdout_says_where_the_other_tables_are(data_dir, capsys):
    assert main(["--data-dir", str(data_dir), "report", "--kind", "qa", "--since", "2026-11-09",
                 "--format", "csv", "--out", "-"], secrets=SECRETS) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("Period,Scope,Who,Audited")
    assert "give --out FILE to write them too" in captured.err


def test_extra_file_names():
    assert extra_csv_path(Path("/r/qa.csv"), "qa_golden") == Path("/r/qa_golden.csv")
    assert extra_csv_path(Path("/r/quality"), "qa_calibration") == Path(
        "/r/quality_calibration.csv")
