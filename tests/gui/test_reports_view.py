"""The reports window over hand-built data: charts carry the figures worked out by hand,
filters change them, and the CSV and PDF exports write what is on show."""

from __future__ import annotations

import csv
import hashlib
import uuid
from datetime import date

import pytest
from PySide6.QtCharts import QBarCategoryAxis, QChart
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtPdf import QPdfDocument
from sqlalchemy import func, select

from reviewer.clock import ManualClock
from reviewer.reports.analytics import Bucket
from reviewer.reports.desk import ReportsDesk
from reviewer.store.database import Database, sqlite_url
from reviewer.store.models import AuditLogEntry, OutboxEntry
from tests.helpers.datasets import (
    FLEISS_KAPPA,
    NOW,
    add_calibrations_and_golden,
    add_qa_reviews,
    build_known_dataset,
)
from tests.helpers.gui import wait_active, wait_until_idle
from ui.reports.reports_view import TABS, ReportsWindow
from ui.widgets.tasks import TaskRunner

CLIENT = "reports-test-client"
LEAD = uuid.UUID("00000000-0000-0000-0000-00000000000a")
AREAS = {"hate_speech": "Hate speech", "spam_fraud": "Spam and fraud",
         "legal_regulatory": "Regulatory and legal requests"}


@pytest.fixture
def database(tmp_path):
    database = Database.open(sqlite_url(tmp_path / "reports.db"))
    build_known_dataset(database.sessions)
    add_qa_reviews(database.sessions)
    yield database
    database.dispose()


def _open_reports(qtbot, database, bucket: Bucket = Bucket.DAY):  # type: ignore[no-untyped-def]
    """The reports window on `database`, showing 9 to 16 November 2026 once it has run."""
    tasks = TaskRunner()
    window = ReportsWindow(ReportsDesk(database), ManualClock(NOW), tasks, AREAS,
                           client_id=CLIENT, actor_id=LEAD)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    _settle(qtbot, window)
    _refreshed(qtbot, window, lambda: window.set_filter(date(2026, 11, 9), date(2026, 11, 16),
                                                        bucket=bucket))
    yield window
    wait_until_idle(qtbot, tasks)


@pytest.fixture
def reports(qtbot, database):
    yield from _open_reports(qtbot, database)


def _settle(qtbot, window: ReportsWindow) -> None:
    """The report the window asked for is made (in the background) and shown."""
    wait_until_idle(qtbot, window.tasks)
    assert window.report is not None


def _refreshed(qtbot, window: ReportsWindow, change) -> None:  # type: ignore[no-untyped-def]
    before = window.report
    change()
    wait_until_idle(qtbot, window.tasks)
    assert window.report is not before


def bars(chart: QChart) -> dict[str, dict[str, float]]:
    """{bar set name: {category: value}} of a bar chart, as it is drawn."""
    axis = next(a for a in chart.axes() if isinstance(a, QBarCategoryAxis))
    categories = axis.categories()
    out: dict[str, dict[str, float]] = {}
    for series in chart.series():
        for bar_set in series.barSets():
            out[bar_set.label()] = {categories[i]: bar_set.at(i) for i in range(bar_set.count())}
    return out


def lines(chart: QChart) -> dict[str, list[float]]:
    return {series.name(): [point.y() for point in series.points()]
            for series in chart.series()}


def test_charts_show_the_hand_worked_figures(reports):
    assert reports.windowTitle().startswith("Reports")
    assert bars(reports.charts["sla_by_queue"]) == {
        "Within SLA %": {"Alpha queue (9)": pytest.approx(55.6), "Beta queue (2)": 50.0}}
    assert bars(reports.charts["sla_by_channel"])["Within SLA %"] == {
        "Partner (2)": 0.0, "Press (2)": 50.0, "Regulator (2)": 50.0, "User report (5)": 80.0}
    assert bars(reports.charts["turnaround"]) == {
        "p50": {"All queues": 2.5, "Alpha queue": 2.5, "Beta queue": 3.0},
        "p90": {"All queues": 7.1, "Alpha queue": 8.0, "Beta queue": 4.6}}
    days = ["09 Nov", "10 Nov", "11 Nov", "12 Nov", "13 Nov", "14 Nov", "15 Nov", "16 Nov"]
    volume = bars(reports.charts["volume_by_channel"])
    assert volume["User report"] == dict(zip(days, [0, 2, 0, 1, 1, 1, 0, 0], strict=True))
    assert volume["Partner"] == dict(zip(days, [0, 0, 0, 0, 0, 0, 0, 2], strict=True))
    by_area = bars(reports.charts["volume_by_policy_area"])
    assert set(by_area) == {"Hate speech", "Spam and fraud", "Regulatory and legal requests"}
    escalations = bars(reports.charts["escalations_by_team"])
    assert escalations["Legal"]["13 Nov"] == 1 and escalations["Product"]["16 Nov"] == 1
    # The auditor agrees with both decisions of 10 Nov and not with the one of 11 Nov; a
    # sample that small is flagged.
    assert lines(reports.charts["qa_agreement"]) == {"alpha (small sample)": [100.0, 0.0]}
    assert lines(reports.charts["qa_disagreement"]) == {
        "Hate speech (small sample)": [0.0, 100.0]}
    # Each chart is on screen in its tab, with its table beside or below it.
    assert set(reports.chart_views) == set(reports.charts)
    model = reports.table_views["sla_by_queue"].model()
    assert model.rowCount() == 2
    assert [model.index(0, c).data() for c in range(model.columnCount())] == [
        "Alpha queue", "9", "6", "5", "2", "1", "55.6%"]


def test_filters_change_the_charts(qtbot, reports):
    _refreshed(qtbot, reports, lambda: reports.team_box.setCurrentIndex(
        reports.team_box.findData("beta")))
    assert reports.report.filter.team == "beta"
    assert bars(reports.charts["sla_by_queue"]) == {"Within SLA %": {"Beta queue (2)": 50.0}}
    assert list(lines(reports.charts["qa_agreement"])) == []  # no audits in beta's queues

    _refreshed(qtbot, reports, lambda: reports.bucket_box.setCurrentIndex(
        reports.bucket_box.findData(Bucket.WEEK)))
    assert bars(reports.charts["volume_by_channel"]) == {
        "Regulator": {"w/c 09 Nov": 1.0, "w/c 16 Nov": 1.0}}

    _refreshed(qtbot, reports, lambda: reports.set_filter(date(2026, 11, 16),
                                                          date(2026, 11, 16)))
    assert bars(reports.charts["sla_by_queue"])["Within SLA %"] == {
        "Alpha queue (2)": 0.0, "Beta queue (1)": 0.0}
    assert "3 cases reported" in reports.status.text()


def test_a_period_that_ends_before_it_starts_is_explained(qtbot, reports):
    shown = reports.report
    reports.since_edit.setDate(reports.until_edit.date().addDays(3))
    assert "Choose another period" in reports.status.text()
    assert reports.report is shown


def test_export_csv_writes_the_table_on_show(reports, tmp_path):
    path = tmp_path / "sla.csv"
    reports.export_csv("sla_by_channel", path)
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Channel", "Cases", "Decided", "Within SLA", "Breached", "Open at risk",
                       "Compliance"]
    assert rows[1:] == [["Partner", "2", "0", "0", "0", "1", "0.0"],
                        ["Press", "2", "2", "1", "1", "0", "0.5"],
                        ["Regulator", "2", "2", "1", "1", "0", "0.5"],
                        ["User report", "5", "4", "4", "1", "0", "0.8"]]
    assert "Saved sla.csv" in reports.status.text()
    reports.export_csv("sla_by_channel", tmp_path / "missing" / "x.csv")
    assert "Could not write x.csv" in reports.status.text()
    # The export is in the audit log, on its way to the backend; the failed one is not.
    [entry] = _exports(reports)
    assert (entry.subject, entry.actor_id, entry.origin) == (
        "report:sla_by_channel", LEAD, CLIENT)
    assert entry.details["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (entry.details["since"], entry.details["team"]) == (
        "2026-11-09T00:00:00+00:00", None)
    with reports.desk.database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEntry)
                              .where(OutboxEntry.kind == "audit")) == 1


def _exports(reports) -> list[AuditLogEntry]:  # type: ignore[no-untyped-def]
    with reports.desk.database.sessions() as session:
        return list(session.scalars(select(AuditLogEntry)
                                    .where(AuditLogEntry.kind == "export")
                                    .order_by(AuditLogEntry.seq)))


def test_export_pdf_has_every_chart_and_table(reports, tmp_path):
    path = tmp_path / "reports.pdf"
    pages = reports.export_pdf(path)
    assert path.read_bytes().startswith(b"%PDF-")
    document = QPdfDocument()
    assert document.load(str(path)) == QPdfDocument.Error.None_
    # Eight charts, two to a page, then the nine tables on their own pages.
    assert pages == document.pageCount() == 6
    first = document.getAllText(0).text()
    assert "Reviewer Workstation: reports" in first
    assert "2026-11-09 to 2026-11-16 (UTC), all teams, by day" in first
    assert "Generated 2026-11-16 12:00 UTC" in first
    assert "SLA compliance by queue" in first and "Alpha queue (9)" in first
    tables = document.getAllText(4).text() + document.getAllText(5).text()
    for title in ("SLA compliance by channel", "Turnaround from report to final decision",
                  "Volume by channel per day", "Escalations by team per day",
                  "Quality: agreement between reviewers and auditors"):
        assert title in tables
    # The charts are drawn, not just titled: the first page has the bars' colour.
    size = document.pagePointSize(0).toSize()
    image = document.render(0, QSize(size.width(), size.height()))
    bar_colour = reports.charts["sla_by_queue"].series()[0].barSets()[0].color()
    assert _has_colour(image, bar_colour)
    [entry] = _exports(reports)
    assert entry.subject == "report:all" and entry.details["file"] == "reports.pdf"
    assert entry.details["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def _has_colour(image, colour: QColor) -> bool:  # type: ignore[no-untyped-def]
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            pixel = image.pixelColor(x, y)
            if (abs(pixel.red() - colour.red()) + abs(pixel.green() - colour.green())
                    + abs(pixel.blue() - colour.blue())) < 20:
                return True
    return False


def test_keyboard_reaches_tabs_and_refresh(qtbot, reports):
    reports.activateWindow()
    wait_active(qtbot, reports)
    reports.tabs.setFocus()
    qtbot.keyClick(reports.tabs, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    assert reports.tabs.tabText(reports.tabs.currentIndex()) == "Volume"
    _refreshed(qtbot, reports, lambda: qtbot.keyClick(reports.tabs, Qt.Key.Key_F5))
    assert reports.report.filter.since.date() == date(2026, 11, 9)


def test_the_main_window_opens_the_reports_with_its_shortcut(qtbot, window):
    action = next(a for a in window.actions() if a.shortcut().toString() == "Ctrl+Alt+R")
    action.trigger()
    reports = window.reports_window
    assert reports is not None and reports.isVisible()
    wait_until_idle(qtbot, window.tasks)
    assert reports.report is not None
    # The demo's cases are in the replica: the queues chart has a bar for each demo queue.
    assert len(bars(reports.charts["sla_by_queue"])["Within SLA %"]) >= 5
    action.trigger()
    assert window.reports_window is reports  # one window, raised again


@pytest.fixture
def quality_reports(qtbot, tmp_path):
    """The reports window over the known data plus two calibration sessions (one Fleiss
    1971's table) and three golden answers, stored as the app stores them."""
    database = Database.open(sqlite_url(tmp_path / "quality.db"))
    build_known_dataset(database.sessions)
    add_qa_reviews(database.sessions)
    add_calibrations_and_golden(database.sessions)
    yield from _open_reports(qtbot, database, Bucket.WEEK)
    database.dispose()


def test_quality_tab_shows_golden_accuracy_and_calibration_sessions(quality_reports, tmp_path):
    window = quality_reports
    window.tabs.setCurrentIndex(TABS.index("Quality"))
    quality = window.tabs.currentWidget().widget()
    golden = window.table_views["qa_golden"]
    calibration = window.table_views["qa_calibration"]
    assert quality.isAncestorOf(golden) and quality.isAncestorOf(calibration)
    assert golden.isVisible() and calibration.isVisible()

    model = golden.model()
    ann = next(r for r in range(model.rowCount()) if model.index(r, 2).data() == "Ann")
    assert [model.index(ann, c).data() for c in range(model.columnCount())] == [
        "2026-W46", "reviewer", "Ann", "3", "66.7%", "20.8%", "93.8%", "yes"]
    model = calibration.model()
    assert model.rowCount() == 2
    first = [model.index(0, c).data() for c in range(model.columnCount())]
    assert first[:5] == ["Week 46 calibration", "2026-11-12 09:00", "10", "10", "14"]
    assert first[5] == f"{FLEISS_KAPPA:g}" and first[8] == "0.2156"
    assert first[11] == "no"
    assert model.index(1, 11).data() == "yes"
    assert "fewer than 10" in model.index(1, 12).data()

    path = tmp_path / "calibration.csv"
    window.export_csv("qa_calibration", path)
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert [row[0] for row in rows] == ["Session", "Week 46 calibration", "Beta pair"]

    pdf = tmp_path / "quality.pdf"
    pages = window.export_pdf(pdf)
    document = QPdfDocument()
    assert document.load(str(pdf)) == QPdfDocument.Error.None_
    text = "".join(document.getAllText(page).text() for page in range(pages))
    assert "Quality: accuracy against golden cases" in text
    assert "Quality: calibration sessions" in text and "Beta pair" in text
