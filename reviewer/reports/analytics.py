"""Reports for leads and auditors: SLA compliance, volume, turnaround, escalations and quality.

Every report is an aggregation over the shared schema written with SQLAlchemy Core, so the
same code runs on a workstation's replica (SQLite) and on the backend (PostgreSQL). Each
returns typed rows; `ReportTable` turns them into a titled table that `write_csv` exports
(the reports view and ``reviewer-admin report`` both use them).

Definitions, so the figures can be checked by hand:

- A case belongs to the period it was **reported** in (``since`` inclusive, ``until``
  exclusive) and to the team that owns its queue.
- Its **final decision** is the first decision that settles it, so not an escalation or a
  request for more information. It was **within SLA** if made at or before the case's
  ``due_at``. **Breached**: decided after ``due_at``, or not decided and ``due_at`` passed.
  **Open at risk**: not decided, not yet due, and less than a quarter of the SLA window left
  (the queue's ▲). **Compliance** = decided within SLA / all cases in the period.
- **Turnaround** is the time from reported to the final decision; p50 and p90 interpolate
  linearly between ranks (as PostgreSQL's ``percentile_cont``).
- Volumes and escalations are counted per UTC day or per ISO week (from Monday).
- Escalations follow the escalation's own date; with a team filter, those made by the team's
  members or sent to that team.
- Quality has three tables (definitions in `reviewer.qa.metrics`): agreement with auditors
  and golden accuracy per period and reviewer, team and policy area (a decision counts in
  the period it was made in), and one row per calibration session *started* in the period
  (with a team filter, sessions with a case in the team's queues): Fleiss' kappa over the
  cases every member answered, Krippendorff's alpha over all answers, each with a 95%
  percentile bootstrap interval over cases seeded by the session's id (1,000 rounds), and
  the too-small flag below 10 complete cases. ``reviewer-admin report --kind qa`` writes
  the agreement table to --out (its columns unchanged) and the other two beside it.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import String

from reviewer.enforcement.escalation import escalation_team_code
from reviewer.store.models import (
    Case,
    Decision,
    Escalation,
    QaCalibration,
    QaSample,
    Queue,
    Team,
    TeamMembership,
)
from reviewer.vocabulary import Action, CaseStatus, Channel, EscalationTeam

NOT_FINAL_ACTIONS = (Action.ESCALATE.value, Action.REQUEST_INFO.value)
"""Decisions that hand a case on rather than settle it: not counted as its final decision."""

OPEN_STATUSES = (CaseStatus.NEW.value, CaseStatus.LEASED.value)


class Bucket(StrEnum):
    DAY = "day"
    WEEK = "week"


class ReportKind(StrEnum):
    """What ``reviewer-admin report --kind`` can produce."""

    SLA = "sla"
    VOLUME = "volume"
    QA = "qa"


@dataclass(frozen=True)
class ReportFilter:
    """The period (``since`` inclusive, ``until`` exclusive), an optional team, and the bucket
    size for series over time."""

    since: datetime
    until: datetime
    team: str | None = None
    bucket: Bucket = Bucket.DAY

    def __post_init__(self) -> None:
        object.__setattr__(self, "bucket", Bucket(self.bucket))
        if self.since.tzinfo is None or self.until.tzinfo is None:
            raise ValueError("report dates must carry a time zone")
        if self.until <= self.since:
            last_day = (self.until - timedelta(microseconds=1)).date()
            raise ValueError(f"the period is empty: it ends ({last_day:%Y-%m-%d}) before it "
                             f"starts ({self.since:%Y-%m-%d})")

    def describe(self) -> str:
        last_day = (self.until - timedelta(microseconds=1)).date()
        team = f"team {self.team}" if self.team else "all teams"
        return (f"{self.since:%Y-%m-%d} to {last_day:%Y-%m-%d} (UTC), {team}, "
                f"by {self.bucket.value}")


def day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


# -- typed rows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaRow:
    dimension: str  # "queue" or "channel"
    key: str
    total: int
    decided: int
    within_sla: int
    breached: int
    open_at_risk: int

    @property
    def compliance(self) -> float | None:
        """Decided within SLA / all cases; None when there are none."""
        return self.within_sla / self.total if self.total else None


@dataclass(frozen=True)
class VolumeRow:
    dimension: str  # "channel" or "policy_area"
    bucket: date
    key: str
    cases: int


@dataclass(frozen=True)
class TurnaroundRow:
    scope: str  # "overall" or "queue"
    key: str
    decided: int
    p50_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True)
class EscalationRow:
    bucket: date
    team: str
    escalations: int


# -- SQL that differs between the dialects ----------------------------------------------------


class _DayStart(FunctionElement[str]):
    """The UTC day a timestamp falls in, as 'YYYY-MM-DD'."""

    type = String()
    inherit_cache = True
    name = "day_start"


class _WeekStart(FunctionElement[str]):
    """The Monday of the ISO week (UTC) a timestamp falls in, as 'YYYY-MM-DD'."""

    type = String()
    inherit_cache = True
    name = "week_start"


@compiles(_DayStart, "sqlite")
def _day_sqlite(element: _DayStart, compiler: Any, **kw: Any) -> str:
    # SQLite keeps the UTC timestamps as text.
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(_WeekStart, "sqlite")
def _week_sqlite(element: _WeekStart, compiler: Any, **kw: Any) -> str:
    # 'weekday 0' moves to the next Sunday (or stays on one); six days back is its Monday.
    return f"date({compiler.process(element.clauses, **kw)}, 'weekday 0', '-6 days')"


@compiles(_DayStart, "postgresql")
def _day_postgresql(element: _DayStart, compiler: Any, **kw: Any) -> str:
    argument = compiler.process(element.clauses, **kw)
    return f"to_char(date_trunc('day', ({argument}) AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"


@compiles(_WeekStart, "postgresql")
def _week_postgresql(element: _WeekStart, compiler: Any, **kw: Any) -> str:
    argument = compiler.process(element.clauses, **kw)
    return f"to_char(date_trunc('week', ({argument}) AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"


def _bucket_start(column: Any, bucket: Bucket) -> FunctionElement[str]:
    return _WeekStart(column) if bucket is Bucket.WEEK else _DayStart(column)


def bucket_of(moment: datetime, bucket: Bucket) -> date:
    """The same bucketing in Python (to fill empty buckets, and in tests)."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday()) if bucket is Bucket.WEEK else day


def buckets_between(report: ReportFilter) -> list[date]:
    """Every bucket the period touches, so a chart shows empty days as zero."""
    step = timedelta(days=7 if report.bucket is Bucket.WEEK else 1)
    first = bucket_of(report.since, report.bucket)
    last = bucket_of(report.until - timedelta(microseconds=1), report.bucket)
    out, current = [], first
    while current <= last:
        out.append(current)
        current += step
    return out


# -- the queries ------------------------------------------------------------------------------


def _first_final_decision() -> Any:
    return (
        select(Decision.case_id, func.min(Decision.created_at).label("decided_at"))
        .where(Decision.action.not_in(NOT_FINAL_ACTIONS))
        .group_by(Decision.case_id)
        .subquery("first_final")
    )


def _cases_in(statement: Select, report: ReportFilter) -> Select:
    statement = statement.where(Case.reported_at >= report.since,
                                Case.reported_at < report.until)
    if report.team:
        statement = statement.where(Queue.team_code == report.team)
    return statement


def sla_compliance(session: Session, report: ReportFilter, now: datetime) -> list[SlaRow]:
    """SLA figures by queue (by name) and by channel, each ordered by name."""
    first = _first_final_decision()
    decided_at = first.c.decided_at
    undecided = decided_at.is_(None)
    counts: list[ColumnElement[Any]] = [
        func.count().label("total"),
        func.count(decided_at).label("decided"),
        func.sum(case((decided_at <= Case.due_at, 1), else_=0)).label("within"),
        func.sum(case((decided_at > Case.due_at, 1),
                      (undecided & (Case.due_at <= now), 1), else_=0)).label("breached"),
        func.sum(case((undecided & Case.status.in_(OPEN_STATUSES)
                       & (Case.due_at > now) & (Case.at_risk_at <= now), 1),
                      else_=0)).label("at_risk"),
    ]
    rows: list[SlaRow] = []
    for dimension, key in (("queue", Queue.name), ("channel", Case.channel)):
        statement = _cases_in(
            select(key.label("key"), *counts)
            .select_from(Case)
            .join(Queue, Queue.id == Case.queue_id)
            .outerjoin(first, first.c.case_id == Case.id), report
        ).group_by(key).order_by(key)
        for row in session.execute(statement):
            rows.append(SlaRow(dimension, str(row.key), int(row.total), int(row.decided),
                               int(row.within or 0), int(row.breached or 0),
                               int(row.at_risk or 0)))
    return rows


def volume(session: Session, report: ReportFilter) -> list[VolumeRow]:
    """Cases reported per bucket, by channel and by policy area (buckets with cases only)."""
    rows: list[VolumeRow] = []
    bucket = _bucket_start(Case.reported_at, report.bucket).label("bucket")
    for dimension, key in (("channel", Case.channel), ("policy_area", Case.policy_area)):
        statement = _cases_in(
            select(bucket, key.label("key"), func.count().label("cases"))
            .select_from(Case).join(Queue, Queue.id == Case.queue_id), report
        ).group_by(bucket, key).order_by(bucket, key)
        for row in session.execute(statement):
            rows.append(VolumeRow(dimension, date.fromisoformat(row.bucket), str(row.key),
                                  int(row.cases)))
    return rows


def percentile(sorted_values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    weight = position - low
    return sorted_values[low] * (1 - weight) + sorted_values[high] * weight


def turnaround(session: Session, report: ReportFilter) -> list[TurnaroundRow]:
    """p50/p90 hours from report to final decision: overall first, then per queue by name."""
    first = _first_final_decision()
    statement = _cases_in(
        select(Queue.name, Case.reported_at, first.c.decided_at)
        .select_from(Case)
        .join(Queue, Queue.id == Case.queue_id)
        .join(first, first.c.case_id == Case.id), report)
    per_queue: dict[str, list[float]] = defaultdict(list)
    for name, reported_at, decided_at in session.execute(statement):
        per_queue[name].append((decided_at - reported_at).total_seconds() / 3600.0)

    def row(scope: str, key: str, hours: list[float]) -> TurnaroundRow:
        hours.sort()
        return TurnaroundRow(scope, key, len(hours), percentile(hours, 0.5),
                             percentile(hours, 0.9))

    everything = [h for values in per_queue.values() for h in values]
    return [row("overall", "All queues", everything)] + [
        row("queue", name, per_queue[name]) for name in sorted(per_queue)]


def escalations(session: Session, report: ReportFilter) -> list[EscalationRow]:
    """Escalations per bucket and destination team (buckets with escalations only)."""
    bucket = _bucket_start(Escalation.created_at, report.bucket).label("bucket")
    statement = (
        select(bucket, Escalation.to_team, func.count().label("n"))
        .where(Escalation.created_at >= report.since, Escalation.created_at < report.until)
        .group_by(bucket, Escalation.to_team).order_by(bucket, Escalation.to_team)
    )
    if report.team:
        members = select(TeamMembership.reviewer_id).where(
            TeamMembership.team_code == report.team)
        to_teams = [t.value for t in EscalationTeam if escalation_team_code(t) == report.team]
        statement = statement.where(or_(Escalation.reviewer_id.in_(members),
                                        Escalation.to_team.in_(to_teams or [""])))
    return [EscalationRow(date.fromisoformat(row.bucket), str(row.to_team), int(row.n))
            for row in session.execute(statement)]


def teams(session: Session) -> list[tuple[str, str]]:
    """(code, name) of every team, by name: the choices of the team filter."""
    return [(row.code, row.name) for row in session.execute(
        select(Team.code, Team.name).order_by(Team.name, Team.code))]


def qa_rows(session: Session, report: ReportFilter) -> list[Any]:
    """Agreement rows (`reviewer.qa.metrics.QaRow`) per ISO week or day, from ``since`` to
    the last period that starts before ``until``."""
    from reviewer.qa.metrics import qa_report_rows

    granularity = "week" if report.bucket is Bucket.WEEK else "day"
    rows = qa_report_rows(session, report.since, report.team, granularity)
    return [row for row in rows if (period_start(row.period) or report.since) < report.until]


def golden_accuracy_rows(session: Session, report: ReportFilter) -> list[Any]:
    """Accuracy against golden cases (`reviewer.qa.metrics.GoldenRow`) per period and
    reviewer, team and policy area, over the same periods as `qa_rows`."""
    from reviewer.qa.metrics import golden_rows

    granularity = "week" if report.bucket is Bucket.WEEK else "day"
    rows = golden_rows(session, report.since, report.team, granularity)
    return [row for row in rows if (period_start(row.period) or report.since) < report.until]


def calibration_results(session: Session, report: ReportFilter) -> list[Any]:
    """Agreement of every calibration session started in the period
    (`reviewer.qa.metrics.CalibrationResult`), oldest first; with a team filter, the sessions
    with a case in one of the team's queues.

    The intervals are percentile bootstraps over cases seeded by the session's id, so the same
    session always shows the same interval."""
    from reviewer.qa.metrics import calibration_agreement

    statement = (
        select(QaCalibration.id)
        .where(QaCalibration.created_at >= report.since, QaCalibration.created_at < report.until)
        .order_by(QaCalibration.created_at, QaCalibration.name, QaCalibration.id)
    )
    if report.team:
        in_team = (
            select(QaSample.id)
            .join(Case, Case.id == QaSample.case_id)
            .join(Queue, Queue.id == Case.queue_id)
            .where(QaSample.calibration_id == QaCalibration.id,
                   Queue.team_code == report.team)
        )
        statement = statement.where(in_team.exists())
    return [calibration_agreement(session, calibration_id)
            for calibration_id in session.scalars(statement)]


def period_start(period: str) -> datetime | None:
    """The start of a QA period: an ISO week ("2026-W47") or a day ("2026-11-21")."""
    try:
        if "-W" in period:
            year, week = period.split("-W")
            return day_start(date.fromisocalendar(int(year), int(week), 1))
        return day_start(date.fromisoformat(period))
    except ValueError:
        return None


# -- one report with every section ----------------------------------------------------------


SECTIONS = ("sla", "turnaround", "volume", "escalations", "qa")
KIND_SECTIONS: dict[ReportKind, tuple[str, ...]] = {
    ReportKind.SLA: ("sla", "turnaround"),
    ReportKind.VOLUME: ("volume", "escalations"),
    ReportKind.QA: ("qa",),
}
"""The sections of each ``reviewer-admin report --kind`` (its PDF shows them all)."""


@dataclass
class Report:
    """Everything the reports view and the PDF show, for one filter."""

    filter: ReportFilter
    generated_at: datetime
    sections: tuple[str, ...] = SECTIONS
    sla: list[SlaRow] = field(default_factory=list)
    volume: list[VolumeRow] = field(default_factory=list)
    turnaround: list[TurnaroundRow] = field(default_factory=list)
    escalations: list[EscalationRow] = field(default_factory=list)
    qa: list[Any] = field(default_factory=list)
    golden: list[Any] = field(default_factory=list)
    calibration: list[Any] = field(default_factory=list)
    qa_problem: str = ""


def build_report(session: Session, report: ReportFilter, now: datetime,
                 sections: Iterable[str] = SECTIONS,
                 progress: Callable[[int, int], None] | None = None) -> Report:
    """Run the wanted sections one after the other, reporting progress after each."""
    wanted = set(sections)
    unknown = wanted - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown report sections: {', '.join(sorted(unknown))}")
    ordered = tuple(s for s in SECTIONS if s in wanted)
    result = Report(report, now, ordered)
    for done, section in enumerate(ordered):
        if progress is not None:
            progress(done, len(ordered))
        if section == "sla":
            result.sla = sla_compliance(session, report, now)
        elif section == "turnaround":
            result.turnaround = turnaround(session, report)
        elif section == "volume":
            result.volume = volume(session, report)
        elif section == "escalations":
            result.escalations = escalations(session, report)
        elif section == "qa":
            try:
                result.qa = qa_rows(session, report)
                result.golden = golden_accuracy_rows(session, report)
                result.calibration = calibration_results(session, report)
            except ImportError:
                result.qa_problem = "quality figures are not available in this version"
    if progress is not None:
        progress(len(ordered), len(ordered))
    return result


# -- tables and CSV ---------------------------------------------------------------------------


Cell = str | int | float | date | datetime | None


@dataclass(frozen=True)
class ReportTable:
    """A titled table: what a CSV file, the view's table and a PDF page show."""

    name: str  # a file-name-safe identifier, e.g. "sla_by_queue"
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def channel_label(code: str) -> str:
    try:
        return Channel(code).label
    except ValueError:
        return code


def team_label(code: str) -> str:
    try:
        return EscalationTeam(code).label
    except ValueError:
        return code


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


SLA_HEADERS = ("Cases", "Decided", "Within SLA", "Breached", "Open at risk", "Compliance")


def sla_table(report: Report, dimension: str) -> ReportTable:
    label = channel_label if dimension == "channel" else str
    return ReportTable(
        f"sla_by_{dimension}", f"SLA compliance by {dimension}",
        (dimension.capitalize(), *SLA_HEADERS),
        tuple((label(r.key), r.total, r.decided, r.within_sla, r.breached, r.open_at_risk,
               _ratio(r.compliance)) for r in report.sla if r.dimension == dimension))


def _bucket_header(report: Report) -> str:
    return "Week starting" if report.filter.bucket is Bucket.WEEK else "Day"


def volume_table(report: Report, dimension: str,
                 area_names: dict[str, str] | None = None) -> ReportTable:
    names = area_names or {}
    label = channel_label if dimension == "channel" else (lambda code: names.get(code, code))
    head = "Channel" if dimension == "channel" else "Policy area"
    bucket = report.filter.bucket.value
    return ReportTable(
        f"volume_by_{dimension}", f"Volume by {head.lower()} per {bucket}",
        (_bucket_header(report), head, "Cases"),
        tuple((r.bucket, label(r.key), r.cases)
              for r in report.volume if r.dimension == dimension))


def turnaround_table(report: Report) -> ReportTable:
    return ReportTable(
        "turnaround", "Turnaround from report to final decision (hours)",
        ("Scope", "Decided", "p50 hours", "p90 hours"),
        tuple((r.key, r.decided, _hours(r.p50_hours), _hours(r.p90_hours))
              for r in report.turnaround))


def escalations_table(report: Report) -> ReportTable:
    bucket = report.filter.bucket.value
    return ReportTable(
        "escalations_by_team", f"Escalations by team per {bucket}",
        (_bucket_header(report), "Team", "Escalations"),
        tuple((r.bucket, team_label(r.team), r.escalations) for r in report.escalations))


QA_COLUMNS = ("period", "scope", "key", "n", "agreement", "agreement_low", "agreement_high",
              "kappa", "too_small")
QA_HEADERS = ("Period", "Scope", "Who", "Audited", "Agreement", "Agreement low (95%)",
              "Agreement high (95%)", "Cohen's kappa", "Sample too small")


def _scoped_rows(rows: Iterable[Any], columns: Sequence[str],
                 area_names: dict[str, str] | None) -> tuple[tuple[Cell, ...], ...]:
    """Per-period rows by reviewer, team or area: the named attributes, areas by name."""
    names = area_names or {}

    def cell(row: Any, name: str) -> Cell:
        value = getattr(row, name, None)
        if name == "key" and row.scope == "area":
            return names.get(value, value)
        return _qa_cell(value)

    return tuple(tuple(cell(row, name) for name in columns) for row in rows)


def qa_table(report: Report, area_names: dict[str, str] | None = None) -> ReportTable:
    return ReportTable(
        "qa_agreement", "Quality: agreement between reviewers and auditors", QA_HEADERS,
        _scoped_rows(report.qa, QA_COLUMNS, area_names))


GOLDEN_COLUMNS = ("period", "scope", "key", "n", "accuracy", "accuracy_low", "accuracy_high",
                  "too_small")
GOLDEN_HEADERS = ("Period", "Scope", "Who", "Golden answers", "Accuracy", "Accuracy low (95%)",
                  "Accuracy high (95%)", "Sample too small")


def golden_table(report: Report, area_names: dict[str, str] | None = None) -> ReportTable:
    """Accuracy against golden cases: exactly the expected policy and action (Wilson 95%)."""
    return ReportTable(
        "qa_golden", "Quality: accuracy against golden cases", GOLDEN_HEADERS,
        _scoped_rows(report.golden, GOLDEN_COLUMNS, area_names))


CALIBRATION_HEADERS = ("Session", "Started", "Cases", "Complete cases", "Raters",
                       "Fleiss' kappa", "Kappa low", "Kappa high", "Krippendorff's alpha",
                       "Alpha low", "Alpha high", "Sample too small", "Note")
"""Complete cases: answered by every member (Fleiss' kappa uses those; alpha all answers).
Low and high: the 95% percentile bootstrap interval over cases."""


def _calibration_row(result: Any) -> tuple[Cell, ...]:
    fleiss, alpha = result.fleiss, result.alpha
    note = fleiss.warning or alpha.warning or ""
    return (result.name, _qa_cell(result.created_at), result.cases, result.complete_cases,
            result.members, _qa_cell(fleiss.value),
            _qa_cell(fleiss.interval.low if fleiss.interval else None),
            _qa_cell(fleiss.interval.high if fleiss.interval else None),
            _qa_cell(alpha.value),
            _qa_cell(alpha.interval.low if alpha.interval else None),
            _qa_cell(alpha.interval.high if alpha.interval else None),
            result.too_small, note)


def calibration_table(report: Report) -> ReportTable:
    """Calibration sessions: Fleiss' kappa over the cases every member answered, Krippendorff's
    alpha over all answers, each with a 95% percentile bootstrap interval over cases."""
    return ReportTable(
        "qa_calibration", "Quality: calibration sessions (95% bootstrap intervals over cases)",
        CALIBRATION_HEADERS, tuple(_calibration_row(r) for r in report.calibration))


def qa_tables(report: Report, area_names: dict[str, str] | None = None) -> list[ReportTable]:
    """The quality section: agreement with auditors, golden accuracy, calibration sessions."""
    return [qa_table(report, area_names), golden_table(report, area_names),
            calibration_table(report)]


def report_tables(report: Report, area_names: dict[str, str] | None = None) -> list[ReportTable]:
    """The tables of every section that was run, in the order the view and the PDF use."""
    tables: list[ReportTable] = []
    for section in report.sections:
        if section == "sla":
            tables += [sla_table(report, "queue"), sla_table(report, "channel")]
        elif section == "turnaround":
            tables.append(turnaround_table(report))
        elif section == "volume":
            tables += [volume_table(report, "channel"),
                       volume_table(report, "policy_area", area_names)]
        elif section == "escalations":
            tables.append(escalations_table(report))
        elif section == "qa":
            tables += qa_tables(report, area_names)
    return tables


def kind_table(report: Report, kind: ReportKind,
               area_names: dict[str, str] | None = None) -> ReportTable:
    """One table per ``--kind`` for a single CSV file: a dimension column keeps it tidy."""
    if kind is ReportKind.SLA:
        parts = [sla_table(report, "queue"), sla_table(report, "channel")]
        return ReportTable("sla", "SLA compliance", ("Dimension", "Key", *SLA_HEADERS),
                           tuple((dimension, *row) for dimension, part in
                                 zip(("queue", "channel"), parts, strict=True)
                                 for row in part.rows))
    if kind is ReportKind.VOLUME:
        parts = [volume_table(report, "channel"),
                 volume_table(report, "policy_area", area_names)]
        bucket = report.filter.bucket.value
        return ReportTable("volume", f"Volume per {bucket}",
                           (_bucket_header(report), "Dimension", "Key", "Cases"),
                           tuple((row[0], dimension, *row[1:]) for dimension, part in
                                 zip(("channel", "policy_area"), parts, strict=True)
                                 for row in part.rows))
    return qa_table(report, area_names)


def kind_extra_tables(report: Report, kind: ReportKind,
                      area_names: dict[str, str] | None = None) -> list[ReportTable]:
    """The tables of a ``--kind`` that do not fit `kind_table`'s one CSV: for ``qa``, golden
    accuracy and calibration sessions (written beside it as ``<name>_golden.csv`` and
    ``<name>_calibration.csv``)."""
    if kind is ReportKind.QA:
        return [golden_table(report, area_names), calibration_table(report)]
    return []


def _qa_cell(value: Any) -> Cell:
    if value is None or isinstance(value, str | int | date | datetime):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 4)
    return str(value)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Cell) -> str:
    """A cell as text: ISO dates, plain numbers, and text that a spreadsheet would run as a
    formula (starting with = + - @, tab or carriage return) prefixed with a quote."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def write_csv(table: ReportTable, out: TextIO) -> None:
    """The table as CSV with a header row (the caller opens ``out`` as UTF-8, newline='')."""
    writer = csv.writer(out)
    writer.writerow([csv_cell(h) for h in table.headers])
    for row in table.rows:
        writer.writerow([csv_cell(cell) for cell in row])


def csv_text(table: ReportTable) -> str:
    buffer = io.StringIO(newline="")
    write_csv(table, buffer)
    return buffer.getvalue()


def save_csv(table: ReportTable, path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        write_csv(table, out)
