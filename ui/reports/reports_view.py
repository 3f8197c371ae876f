"""The reports window: SLA, volume, turnaround, escalation and quality charts with their
tables, filtered by period and team, exported as CSV (each table) or one PDF (everything).

The aggregation (`reviewer.reports.desk.ReportsDesk.build`) runs in the background; the charts
are built from its result on the GUI thread. `write_report_pdf` is also what
``reviewer-admin report --format pdf`` uses, so the window and the command line print the
same document.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalBarSeries,
    QLineSeries,
    QStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import (
    QDate,
    QMarginsF,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    Qt,
)
from PySide6.QtGui import (
    QAction,
    QColor,
    QFont,
    QFontMetricsF,
    QKeySequence,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFrame,
    QGraphicsScene,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from reviewer.clock import Clock
from reviewer.reports.analytics import (
    SECTIONS,
    Bucket,
    Cell,
    Report,
    ReportFilter,
    ReportTable,
    bucket_of,
    buckets_between,
    channel_label,
    day_start,
    period_start,
    report_tables,
    save_csv,
    team_label,
)
from reviewer.reports.desk import ReportsDesk
from ui.widgets.table_model import RowsTableModel
from ui.widgets.tasks import TaskRunner

DEFAULT_DAYS = 14
CHART_HEIGHT = 380
PERCENT_HEADERS = ("Compliance", "Agreement", "Agreement low (95%)", "Agreement high (95%)",
                   "Accuracy", "Accuracy low (95%)", "Accuracy high (95%)")


# -- charts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartSpec:
    """One chart of the report: which tab it is on and how to build it from a Report."""

    name: str
    tab: str
    build: Callable[[Report, dict[str, str]], QChart]
    table: str | None  # the table shown with it (ReportTable.name)
    wide: bool = False  # a series over time: full width, its table below


def _empty(chart: QChart, why: str) -> QChart:
    chart.setTitle(f"{chart.title()} — {why}")
    chart.legend().hide()
    return chart


def _new_chart(title: str) -> QChart:
    chart = QChart()
    chart.setTitle(title)
    font = chart.titleFont()
    font.setPointSizeF(11)
    font.setBold(True)
    chart.setTitleFont(font)
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    return chart


def _value_axis(title: str, top: float, *, percent: bool = False) -> QValueAxis:
    axis = QValueAxis()
    axis.setTitleText(title)
    axis.setRange(0, 100 if percent else max(1.0, _nice_ceiling(top)))
    axis.setLabelFormat("%.0f")
    if not percent:
        axis.applyNiceNumbers()
    return axis


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _horizontal_bars(title: str, categories: list[str],
                     sets: list[tuple[str, list[float]]], axis_title: str,
                     *, percent: bool = False) -> QChart:
    chart = _new_chart(title)
    if not categories:
        return _empty(chart, "no cases in this period")
    series = QHorizontalBarSeries()
    top = 0.0
    for name, values in sets:
        bar_set = QBarSet(name)
        # Horizontal bars are drawn bottom-up; reversed, the first category is at the top.
        bar_set.append(list(reversed(values)))
        bar_set.setLabelColor(QColor("#333333"))  # the default, white, vanishes outside
        series.append(bar_set)
        top = max([top, *values])
    series.setLabelsVisible(True)
    series.setLabelsFormat("@value")
    series.setLabelsPosition(QHorizontalBarSeries.LabelsPosition.LabelsOutsideEnd)
    chart.addSeries(series)
    y_axis = QBarCategoryAxis()
    y_axis.setTruncateLabels(False)
    y_axis.append(list(reversed(categories)))
    chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(y_axis)
    x_axis = _value_axis(axis_title, top * 1.1, percent=percent)
    chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
    series.attachAxis(x_axis)
    if len(sets) == 1:
        chart.legend().hide()
    return chart


def _bucket_label(day: date, bucket: Bucket) -> str:
    return f"w/c {day:%d %b}" if bucket is Bucket.WEEK else f"{day:%d %b}"


def _stacked_over_time(title: str, report: Report, counts: dict[str, dict[date, int]],
                       axis_title: str) -> QChart:
    chart = _new_chart(title)
    if not counts:
        return _empty(chart, "nothing in this period")
    buckets = buckets_between(report.filter)
    series = QStackedBarSeries()
    top = [0] * len(buckets)
    for name in sorted(counts):
        bar_set = QBarSet(name)
        values = [counts[name].get(b, 0) for b in buckets]
        bar_set.append([float(v) for v in values])
        series.append(bar_set)
        top = [t + v for t, v in zip(top, values, strict=True)]
    chart.addSeries(series)
    x_axis = QBarCategoryAxis()
    x_axis.setTruncateLabels(False)
    x_axis.append([_bucket_label(b, report.filter.bucket) for b in buckets])
    if len(buckets) > 10:
        x_axis.setLabelsAngle(-60)
    chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
    series.attachAxis(x_axis)
    y_axis = _value_axis(axis_title, max(top, default=1))
    chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(y_axis)
    _right_legend(chart)
    return chart


def _right_legend(chart: QChart) -> None:
    """A legend beside the plot, in a smaller font when there are many series."""
    legend = chart.legend()
    legend.setAlignment(Qt.AlignmentFlag.AlignRight)
    font = legend.font()
    font.setPointSizeF(8.0 if _entries(chart) <= 8 else 7.0)
    legend.setFont(font)


def _entries(chart: QChart) -> int:
    series = chart.series()
    if len(series) == 1 and hasattr(series[0], "barSets"):
        return len(series[0].barSets())
    return len(series)


def _lines_over_time(title: str, report: Report, values: dict[str, dict[date, float]],
                     axis_title: str) -> QChart:
    """One line per name over the period's buckets (the same axis as the bar charts)."""
    chart = _new_chart(title)
    if not values:
        return _empty(chart, "no audits in this period")
    buckets = buckets_between(report.filter)
    position = {bucket: index for index, bucket in enumerate(buckets)}
    x_axis = QBarCategoryAxis()
    x_axis.setTruncateLabels(False)
    x_axis.append([_bucket_label(b, report.filter.bucket) for b in buckets])
    if len(buckets) > 16:
        x_axis.setLabelsAngle(-60)
    chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
    y_axis = _value_axis(axis_title, 100, percent=True)
    chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
    for name in sorted(values):
        series = QLineSeries()
        series.setName(name)
        series.setPointsVisible(True)
        for bucket in sorted(values[name]):
            if bucket in position:
                series.append(float(position[bucket]), values[name][bucket])
        chart.addSeries(series)
        series.attachAxis(x_axis)
        series.attachAxis(y_axis)
    _right_legend(chart)
    return chart


def _sla_chart(dimension: str) -> Callable[[Report, dict[str, str]], QChart]:
    def build(report: Report, _areas: dict[str, str]) -> QChart:
        rows = [r for r in report.sla if r.dimension == dimension]
        label = channel_label if dimension == "channel" else str
        return _horizontal_bars(
            f"SLA compliance by {dimension}: % decided within SLA (cases in brackets)",
            [f"{label(r.key)} ({r.total})" for r in rows],
            [("Within SLA %", [round(100 * (r.compliance or 0.0), 1) for r in rows])],
            "% of cases decided within SLA", percent=True)
    return build


def _turnaround_chart(report: Report, _areas: dict[str, str]) -> QChart:
    rows = [r for r in report.turnaround if r.decided]
    return _horizontal_bars(
        "Turnaround: report to final decision (hours)",
        [r.key for r in rows],
        [("p50", [round(r.p50_hours or 0.0, 1) for r in rows]),
         ("p90", [round(r.p90_hours or 0.0, 1) for r in rows])], "hours")


def _volume_chart(dimension: str) -> Callable[[Report, dict[str, str]], QChart]:
    def build(report: Report, areas: dict[str, str]) -> QChart:
        counts: dict[str, dict[date, int]] = {}
        for row in report.volume:
            if row.dimension != dimension:
                continue
            name = channel_label(row.key) if dimension == "channel" else areas.get(row.key,
                                                                                   row.key)
            counts.setdefault(name, {})[row.bucket] = row.cases
        what = "channel" if dimension == "channel" else "policy area"
        return _stacked_over_time(f"Cases reported per {report.filter.bucket.value}, by {what}",
                                  report, counts, "cases")
    return build


def _escalation_chart(report: Report, _areas: dict[str, str]) -> QChart:
    counts: dict[str, dict[date, int]] = {}
    for row in report.escalations:
        counts.setdefault(team_label(row.team), {})[row.bucket] = row.escalations
    return _stacked_over_time(f"Escalations per {report.filter.bucket.value}, by team",
                              report, counts, "escalations")


def _qa_chart(scope: str, disagreement: bool) -> Callable[[Report, dict[str, str]], QChart]:
    def build(report: Report, areas: dict[str, str]) -> QChart:
        values: dict[str, dict[date, float]] = {}
        for row in report.qa:
            start = period_start(row.period)
            if row.scope != scope or row.agreement is None or start is None:
                continue
            bucket = bucket_of(start, report.filter.bucket)
            name = areas.get(row.key, row.key) if scope == "area" else row.key
            if row.too_small:
                name += " (small sample)"
            share = 1.0 - row.agreement if disagreement else row.agreement
            values.setdefault(name, {})[bucket] = round(100 * share, 1)
        title = ("Disagreement with auditors by policy area (%)" if disagreement
                 else "Agreement with auditors by team (%)")
        if report.qa_problem:
            return _empty(_new_chart(title), report.qa_problem)
        return _lines_over_time(title, report, values,
                                "% disagreeing" if disagreement else "% agreeing")
    return build


CHARTS = (
    ChartSpec("sla_by_queue", "SLA", _sla_chart("queue"), "sla_by_queue"),
    ChartSpec("sla_by_channel", "SLA", _sla_chart("channel"), "sla_by_channel"),
    ChartSpec("turnaround", "Turnaround", _turnaround_chart, "turnaround"),
    ChartSpec("volume_by_channel", "Volume", _volume_chart("channel"), "volume_by_channel",
              wide=True),
    ChartSpec("volume_by_policy_area", "Volume", _volume_chart("policy_area"),
              "volume_by_policy_area", wide=True),
    ChartSpec("escalations_by_team", "Escalations", _escalation_chart, "escalations_by_team",
              wide=True),
    ChartSpec("qa_agreement", "Quality", _qa_chart("team", disagreement=False),
              "qa_agreement", wide=True),
    ChartSpec("qa_disagreement", "Quality", _qa_chart("area", disagreement=True), None,
              wide=True),
)
_CHART_SECTION = {"sla_by_queue": "sla", "sla_by_channel": "sla", "turnaround": "turnaround",
                  "volume_by_channel": "volume", "volume_by_policy_area": "volume",
                  "escalations_by_team": "escalations", "qa_agreement": "qa",
                  "qa_disagreement": "qa"}
TABS = ("SLA", "Turnaround", "Volume", "Escalations", "Quality")
TABLE_ONLY = (("qa_golden", "Quality"), ("qa_calibration", "Quality"))
"""Tables shown without a chart: (table name, tab), after the tab's charts."""


def charts_for(report: Report, area_names: dict[str, str]) -> dict[str, QChart]:
    """A new chart for each section the report ran (the caller owns them)."""
    return {spec.name: spec.build(report, area_names) for spec in CHARTS
            if _CHART_SECTION[spec.name] in report.sections}


# -- tables -----------------------------------------------------------------------------------


def display_cell(header: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1%}" if header in PERCENT_HEADERS else f"{value:g}"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def is_numeric(value: Any) -> bool:
    """Right-aligned in tables: numbers, not yes/no flags."""
    return isinstance(value, int | float) and not isinstance(value, bool)


class ReportTableModel(RowsTableModel[tuple[Cell, ...]]):
    """One `ReportTable`, read-only."""

    def __init__(self, table: ReportTable, parent: QWidget | None = None):
        super().__init__(parent, table.rows, table.headers)
        self.table = table

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # Qt override
        if not index.isValid():
            return None
        value = self.table.rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return display_cell(self.table.headers[index.column()], value)
        if role == Qt.ItemDataRole.ToolTipRole and isinstance(value, str) and len(value) > 30:
            return value  # long notes are cut short in the column
        if role == Qt.ItemDataRole.TextAlignmentRole and is_numeric(value):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


# -- the PDF ----------------------------------------------------------------------------------


PDF_RESOLUTION = 96
CHARTS_PER_PAGE = 2


class _PdfPages:
    """A QPdfWriter and its painter, with a running y position and page numbers."""

    def __init__(self, path: Path, title: str, footer: str):
        self.writer = QPdfWriter(str(path))
        self.writer.setTitle(title)
        self.writer.setCreator("Reviewer Workstation")
        self.writer.setResolution(PDF_RESOLUTION)
        self.writer.setPageLayout(QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Landscape,
            QMarginsF(12, 12, 12, 12), QPageLayout.Unit.Millimeter))
        self.painter = QPainter(self.writer)
        self.footer = footer
        self.page = 1
        self.y = 0.0
        self.body = self._font(9)
        self.bold = self._font(9, bold=True)

    @property
    def width(self) -> float:
        return float(self.writer.width())

    @property
    def bottom(self) -> float:
        return float(self.writer.height()) - 24.0  # room for the footer

    def _font(self, points: float, *, bold: bool = False) -> QFont:
        font = QFont()
        font.setPointSizeF(points)
        font.setBold(bold)
        return font

    def text(self, text: str, points: float, *, bold: bool = False, gap: float = 4.0) -> None:
        font = self._font(points, bold=bold)
        self.painter.setFont(font)
        metrics = QFontMetricsF(font, self.writer)
        rect = QRectF(0, self.y, self.width, metrics.height() * 3)
        bounds = self.painter.boundingRect(rect, Qt.TextFlag.TextWordWrap, text)
        self.painter.drawText(rect, int(Qt.TextFlag.TextWordWrap), text)
        self.y += bounds.height() + gap

    def new_page(self) -> None:
        self._draw_footer()
        self.writer.newPage()
        self.page += 1
        self.y = 0.0

    def finish(self) -> int:
        self._draw_footer()
        self.painter.end()
        return self.page

    def _draw_footer(self) -> None:
        self.painter.setFont(self._font(7.5))
        self.painter.setPen(QPen(Qt.GlobalColor.darkGray))
        rect = QRectF(0, float(self.writer.height()) - 16, self.width, 16)
        self.painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft), self.footer)
        self.painter.drawText(rect, int(Qt.AlignmentFlag.AlignRight), f"page {self.page}")
        self.painter.setPen(QPen(Qt.GlobalColor.black))

    def chart(self, chart: QChart, height: float) -> None:
        """Draw the chart as vectors: it is laid out at the target size in a scene."""
        scene = QGraphicsScene()
        scene.addItem(chart)
        chart.setGeometry(QRectF(0, 0, self.width, height))
        target = QRectF(0, self.y, self.width, height)
        scene.render(self.painter, target, QRectF(0, 0, self.width, height))
        scene.removeItem(chart)
        self.y += height + 8

    def table(self, table: ReportTable) -> None:
        """The table, continued on the next page (with its header again) when it is long.

        When the columns do not fit the page, headers wrap at spaces and long text (notes)
        wraps within a column of at most a third of the page."""
        metrics = QFontMetricsF(self.body, self.writer)
        line_height = metrics.height() + 5
        title_height = QFontMetricsF(self._font(11, bold=True), self.writer).height() + 6
        if self.y + title_height + 3 * line_height > self.bottom:
            self.new_page()
        self.text(table.title, 11, bold=True, gap=2)
        widths = self._column_widths(table, metrics)
        self._row(table.headers, widths, header=True)
        if not table.rows:
            self.text("(nothing in this period)", 9)
        for row in table.rows:
            cells = [display_cell(h, v) for h, v in zip(table.headers, row, strict=True)]
            if self.y + self._row_height(cells, widths, self.body) > self.bottom:
                self.new_page()
                self.text(f"{table.title} (continued)", 11, bold=True, gap=2)
                self._row(table.headers, widths, header=True)
            self._row(cells, widths, numeric=[is_numeric(v) for v in row])
        self.y += 14

    def _column_widths(self, table: ReportTable, metrics: QFontMetricsF) -> list[float]:
        bold = QFontMetricsF(self.bold, self.writer)
        natural, narrow = [], []
        for column, header in enumerate(table.headers):
            texts = [display_cell(header, row[column]) for row in table.rows[:200]]
            cells = max([0.0, *(metrics.horizontalAdvance(t) for t in texts)])
            natural.append(max(bold.horizontalAdvance(header), cells) + 16)
            longest_word = max(bold.horizontalAdvance(word) for word in header.split() or [""])
            narrow.append(max(longest_word, min(cells, self.width / 3)) + 16)
        if sum(natural) <= self.width:
            return natural
        return _fit_widths(narrow, self.width)

    def _row_height(self, cells: Any, widths: list[float], font: QFont) -> float:
        metrics = QFontMetricsF(font, self.writer)
        tallest = max(metrics.boundingRect(QRectF(0, 0, max(width - 12, 1.0), 10_000.0),
                                           int(Qt.TextFlag.TextWordWrap), str(cell)).height()
                      for cell, width in zip(cells, widths, strict=True))
        return max(tallest, metrics.height()) + 5

    def _row(self, cells: Any, widths: list[float], *, header: bool = False,
             numeric: list[bool] | None = None) -> None:
        font = self.bold if header else self.body
        height = self._row_height(cells, widths, font)
        self.painter.setFont(font)
        x = 0.0
        if header:
            self.painter.fillRect(QRectF(0, self.y, sum(widths), height), Qt.GlobalColor.lightGray)
        for column, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            align = Qt.AlignmentFlag.AlignVCenter | (
                Qt.AlignmentFlag.AlignRight if numeric and numeric[column]
                else Qt.AlignmentFlag.AlignLeft)
            self.painter.drawText(QRectF(x + 6, self.y, width - 12, height),
                                  int(align) | int(Qt.TextFlag.TextWordWrap), str(cell))
            x += width
        self.painter.setPen(QPen(Qt.GlobalColor.lightGray))
        self.painter.drawLine(0, int(self.y + height), int(sum(widths)), int(self.y + height))
        self.painter.setPen(QPen(Qt.GlobalColor.black))
        self.y += height


def _fit_widths(widths: list[float], total: float) -> list[float]:
    """Narrow the widest columns (whose text wraps) to one common cap until the columns fit
    in `total`; narrow columns such as numbers keep their width when they can."""
    if sum(widths) <= total:
        return widths
    ordered = sorted(widths, reverse=True)
    cap = total / len(widths)
    for capped in range(1, len(ordered) + 1):
        rest = sum(ordered[capped:])
        cap = (total - rest) / capped
        if capped == len(ordered) or cap >= ordered[capped]:
            break
    return [min(w, cap) for w in widths]


def write_report_pdf(path: Path, report: Report, area_names: dict[str, str],
                     title: str = "Reviewer Workstation: reports") -> int:
    """Every chart, two to a page, then every table; returns the number of pages.

    Needs a QApplication (charts are graphics widgets); the CLI makes an offscreen one.
    """
    generated = report.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    pages = _PdfPages(path, title, f"{title} — {report.filter.describe()} — generated "
                                   f"{generated}")
    pages.text(title, 18, bold=True)
    pages.text(f"Period and filters: {report.filter.describe()}", 10, gap=2)
    explained = (" Cases count in the period they were reported in; compliance is decided "
                 "within SLA out of all cases reported." if "sla" in report.sections else "")
    pages.text(f"Generated {generated}.{explained}", 10, gap=10)
    charts = charts_for(report, area_names)
    for number, chart in enumerate(charts.values()):
        if number and number % CHARTS_PER_PAGE == 0:
            pages.new_page()
        slots = CHARTS_PER_PAGE - number % CHARTS_PER_PAGE
        pages.chart(chart, (pages.bottom - pages.y) / slots - 8)
    if report.qa_problem:
        pages.text(f"Quality: {report.qa_problem}.", 10)
    tables = report_tables(report, area_names)
    if tables:
        pages.new_page()
    for table in tables:
        pages.table(table)
    return pages.finish()


# -- the window -------------------------------------------------------------------------------


class ReportsWindow(QMainWindow):
    """Charts and tables for a period and a team, refreshed in the background."""

    def __init__(self, reports: ReportsDesk, clock: Clock, tasks: TaskRunner,
                 area_names: dict[str, str], parent: QWidget | None = None, *,
                 client_id: str, actor_id: uuid.UUID | None):
        """``client_id`` and ``actor_id`` sign the audit-log entry of every export."""
        super().__init__(parent)
        self.setWindowTitle("Reports — Reviewer Workstation")
        self.setWindowFlag(Qt.WindowType.Window)
        self.desk = reports
        self.client_id = client_id
        self.actor_id = actor_id
        self.clock = clock
        self.tasks = tasks
        self.area_names = area_names
        self.report: Report | None = None
        self.charts: dict[str, QChart] = {}
        self.chart_views: dict[str, QChartView] = {}
        self.tables: dict[str, ReportTable] = {}
        self.table_views: dict[str, QTableView] = {}
        self._generation = 0

        today = clock.now().astimezone(UTC).date()
        self.since_edit = self._date_edit(today - timedelta(days=DEFAULT_DAYS - 1), "From")
        self.until_edit = self._date_edit(today, "To")
        self.team_box = QComboBox()
        self.team_box.setAccessibleName("Team")
        self.team_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.team_box.addItem("All teams", None)
        for code, name in reports.teams():
            self.team_box.addItem(name, code)
        self.bucket_box = QComboBox()
        self.bucket_box.setAccessibleName("Group by")
        self.bucket_box.addItem("By day", Bucket.DAY)
        self.bucket_box.addItem("By week", Bucket.WEEK)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Run the reports again (F5)")
        self.pdf_button = QPushButton("Export PDF…")
        self.pdf_button.setToolTip("Every chart and table in one PDF (Ctrl+P)")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(200)
        self.progress.setFormat("%v of %m reports")
        self.status = QLabel()
        self.status.setObjectName("reportStatus")
        self.statusBar().addWidget(self.status, 1)
        self.statusBar().addPermanentWidget(self.progress)

        bar = QHBoxLayout()
        for label, widget in (("&From", self.since_edit), ("&To", self.until_edit),
                              ("T&eam", self.team_box), (None, self.bucket_box)):
            if label:
                caption = QLabel(label)
                caption.setBuddy(widget)
                # The hint leaves out the mnemonic's width, which clips the last letter.
                caption.setMinimumWidth(
                    caption.fontMetrics().horizontalAdvance(label.replace("&", "")) + 6)
                bar.addSpacing(8)
                bar.addWidget(caption)
                bar.addSpacing(2)
            bar.addWidget(widget)
        bar.addWidget(self.refresh_button)
        bar.addStretch(1)
        bar.addWidget(self.pdf_button)

        self.tabs = QTabWidget()
        self.tab_layouts: dict[str, QVBoxLayout] = {}
        for name in TABS:
            page = QWidget()
            layout = QVBoxLayout(page)
            self.tab_layouts[name] = layout
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidget(page)
            self.tabs.addTab(scroll, name)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(bar)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.resize(1280, 860)

        for edit in (self.since_edit, self.until_edit):
            edit.dateChanged.connect(self.refresh)
        self.team_box.currentIndexChanged.connect(self.refresh)
        self.bucket_box.currentIndexChanged.connect(self.refresh)
        self.refresh_button.clicked.connect(self.refresh)
        self.pdf_button.clicked.connect(self.choose_pdf)
        self._shortcut("Refresh", "F5", self.refresh)
        self._shortcut("Export PDF", "Ctrl+P", self.choose_pdf)
        self._shortcut("Close", QKeySequence.StandardKey.Close, self.close)
        for number, _name in enumerate(TABS, start=1):
            self._shortcut(f"Tab {number}", f"Alt+{number}",
                           lambda _checked=False, n=number: self.tabs.setCurrentIndex(n - 1))
        self.refresh()

    def _date_edit(self, day: date, name: str) -> QDateEdit:
        edit = QDateEdit(QDate(day.year, day.month, day.day))
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setAccessibleName(name)
        return edit

    def _shortcut(self, text: str, keys: str | QKeySequence.StandardKey,
                  slot: Callable[[], Any]) -> None:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(keys))
        action.triggered.connect(slot)
        self.addAction(action)

    # -- filters and the background run -------------------------------------------------------

    def current_filter(self) -> ReportFilter:
        since = self.since_edit.date().toPython()
        until = self.until_edit.date().toPython()
        return ReportFilter(day_start(since), day_start(until) + timedelta(days=1),
                            self.team_box.currentData(), self.bucket_box.currentData())

    def set_filter(self, since: date, until: date, team: str | None = None,
                   bucket: Bucket = Bucket.DAY) -> None:
        """Set every filter at once and refresh once (for tests and callers)."""
        widgets = (self.since_edit, self.until_edit, self.team_box, self.bucket_box)
        for widget in widgets:
            widget.blockSignals(True)
        try:
            self.since_edit.setDate(QDate(since.year, since.month, since.day))
            self.until_edit.setDate(QDate(until.year, until.month, until.day))
            self.team_box.setCurrentIndex(max(0, self.team_box.findData(team)))
            self.bucket_box.setCurrentIndex(self.bucket_box.findData(bucket))
        finally:
            for widget in widgets:
                widget.blockSignals(False)
        self.refresh()

    def refresh(self) -> None:
        try:
            wanted = self.current_filter()
        except ValueError as error:
            self.status.setText(f"Choose another period: {error}.")
            return
        self._generation += 1
        generation = self._generation
        self.status.setText("Counting…")
        self.progress.setRange(0, len(SECTIONS))
        self.progress.setValue(0)
        self.progress.show()
        desk, now = self.desk, self.clock.now()

        def work(progress: Callable[[int, int], None]) -> Report:
            return desk.build(wanted, now, progress=progress)

        self.tasks.run(work, lambda report: self._show(generation, report),
                       lambda error: self._failed(generation, error),
                       on_progress=lambda done, total: self._progressed(generation, done, total),
                       description="reports", owner=self)

    def _progressed(self, generation: int, done: int, total: int) -> None:
        if generation == self._generation:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _failed(self, generation: int, error: BaseException) -> None:
        if generation == self._generation:
            self.progress.hide()
            self.status.setText(f"The reports could not be made: {error}")

    def _show(self, generation: int, report: Report) -> None:
        if generation != self._generation:
            return  # the filters changed while it ran
        self.report = report
        self.progress.setValue(self.progress.maximum())
        self.progress.hide()
        cases = sum(r.total for r in report.sla if r.dimension == "queue")
        self.status.setText(f"{cases:,} cases reported in the period · updated "
                            f"{report.generated_at.astimezone(UTC):%H:%M} UTC")
        for layout in self.tab_layouts.values():
            while layout.count():
                item = layout.takeAt(0)
                if item.widget() is not None:
                    item.widget().deleteLater()
        self.charts = charts_for(report, self.area_names)
        self.tables = {t.name: t for t in report_tables(report, self.area_names)}
        self.chart_views = {}
        self.table_views = {}
        for spec in CHARTS:
            chart = self.charts.get(spec.name)
            if chart is None:
                continue
            view = QChartView(chart)
            view.setObjectName(f"chart_{spec.name}")
            view.setRenderHint(QPainter.RenderHint.Antialiasing)
            view.setMinimumSize(560, CHART_HEIGHT)
            self.chart_views[spec.name] = view
            row = QVBoxLayout() if spec.wide else QHBoxLayout()
            row.addWidget(view, 1)
            if spec.table in self.tables:
                block = self._table_block(self.tables[spec.table])
                if spec.wide:
                    block.setFixedHeight(240)
                row.addWidget(block, 1)
            holder = QWidget()
            holder.setLayout(row)
            self.tab_layouts[spec.tab].addWidget(holder)
        for name, tab in TABLE_ONLY:
            if name in self.tables:
                block = self._table_block(self.tables[name])
                # As tall as its rows (up to ten), not a fixed box mostly empty.
                view = self.table_views[name]
                rows = min(max(len(self.tables[name].rows), 2), 10)
                view.setMinimumHeight(0)
                view.setFixedHeight(view.horizontalHeader().sizeHint().height() + rows * 22
                                    + view.horizontalScrollBar().sizeHint().height()
                                    + 2 * view.frameWidth())
                self.tab_layouts[tab].addWidget(block)

    def _table_block(self, table: ReportTable) -> QWidget:
        block = QWidget()
        layout = QVBoxLayout(block)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        heading = QLabel(f"<b>{table.title}</b> · {len(table.rows)} rows")
        heading.setTextFormat(Qt.TextFormat.RichText)
        top.addWidget(heading)
        top.addStretch(1)
        button = QPushButton("Export CSV…")
        button.setObjectName(f"csv_{table.name}")
        button.setAccessibleName(f"Export {table.title} as CSV")
        button.clicked.connect(lambda: self.choose_csv(table.name))
        top.addWidget(button)
        layout.addLayout(top)
        view = QTableView()
        view.setObjectName(f"table_{table.name}")
        view.setModel(ReportTableModel(table, view))
        view.verticalHeader().hide()
        view.verticalHeader().setDefaultSectionSize(22)
        view.setAlternatingRowColors(True)
        view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        view.horizontalHeader().setStretchLastSection(True)
        view.setMinimumHeight(160)
        self.table_views[table.name] = view
        layout.addWidget(view)
        return block

    # -- exports ----------------------------------------------------------------------------

    def _suggested(self, stem: str, suffix: str) -> str:
        wanted = self.current_filter()
        last = (wanted.until - timedelta(days=1)).date()
        return f"{stem}_{wanted.since:%Y-%m-%d}_{last:%Y-%m-%d}{suffix}"

    def choose_csv(self, name: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export CSV", self._suggested(name, ".csv"),
                                              "CSV files (*.csv)")
        if path:
            self.export_csv(name, Path(path))

    def export_csv(self, name: str, path: Path) -> None:
        try:
            save_csv(self.tables[name], path)
        except OSError as error:
            self.status.setText(f"Could not write {path.name}: {error.strerror or error}")
        else:
            self._record_export(name, path)
            self.status.setText(f"Saved {path.name}")

    def _record_export(self, what: str, path: Path) -> None:
        """Every export goes into the audit log (and from there to the backend), as the case
        investigation report does: what, for which filter, and the file's digest."""
        wanted = self.report.filter if self.report is not None else self.current_filter()
        self.desk.record_export(what, wanted, path, client_id=self.client_id,
                                actor_id=self.actor_id, now=self.clock.now())

    def choose_pdf(self) -> None:
        if self.report is None:
            self.status.setText("The reports are still being made; export when they show.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export PDF",
                                              self._suggested("reports", ".pdf"),
                                              "PDF files (*.pdf)")
        if path:
            self.export_pdf(Path(path))

    def export_pdf(self, path: Path) -> int:
        """Write the PDF of the report on show; the number of pages (0 if it failed)."""
        if self.report is None:
            return 0
        try:
            with open(path, "ab"):
                pass
            pages = write_report_pdf(path, self.report, self.area_names)
        except OSError as error:
            self.status.setText(f"Could not write {path.name}: {error.strerror or error}")
            return 0
        self._record_export("all", path)
        self.status.setText(f"Saved {path.name} ({pages} pages)")
        return pages
