"""The ``reviewer-admin`` entry point: `reviewer.cli` plus the commands that may need Qt.

``report`` writes the SLA, volume or quality report as CSV (no Qt, no display needed) or as
a PDF with the same charts as the reports window (Qt, on an offscreen platform). The core
CLI stays Qt-free; this module only adds to its parser.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from reviewer import cli
from reviewer.clock import SystemClock
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.reports.analytics import (
    KIND_SECTIONS,
    Bucket,
    ReportFilter,
    ReportKind,
    day_start,
    kind_extra_tables,
    kind_table,
    save_csv,
    write_csv,
)
from reviewer.reports.desk import ReportsDesk
from reviewer.secret_store import SecretStore

KIND_TITLES = {ReportKind.SLA: "SLA and turnaround", ReportKind.VOLUME: "Volume and escalations",
               ReportKind.QA: "Quality (agreement, golden accuracy, calibration)"}


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"not a date and time with a zone (2026-11-16T12:00:00Z): {text!r}")
    return moment.astimezone(UTC)


def cmd_report(args: argparse.Namespace) -> int:
    kind = ReportKind(args.kind)
    if args.format == "pdf" and args.out == "-":
        print("error: a PDF needs a file: give --out FILE.pdf", file=sys.stderr)
        return 2
    until_day = args.until or datetime.now(UTC).date()
    try:
        wanted = ReportFilter(day_start(args.since), day_start(until_day) + timedelta(days=1),
                              args.team or None, Bucket(args.bucket))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    taxonomy = load_taxonomy()
    area_names = {area.code: area.name for area in taxonomy.areas}
    desk = ReportsDesk.open(args.backend, args.data_dir, keys=args.keys)
    try:
        report = desk.build(wanted, args.as_of or SystemClock().now(), KIND_SECTIONS[kind])
    finally:
        desk.close()
    if report.qa_problem:
        print(f"note: {report.qa_problem}", file=sys.stderr)
    if args.format == "csv":
        table = kind_table(report, kind, area_names)
        extras = kind_extra_tables(report, kind, area_names)
        if args.out == "-":
            write_csv(table, sys.stdout)
        else:
            with open(args.out, "w", encoding="utf-8", newline="") as out:
                write_csv(table, out)
        where = "standard output" if args.out == "-" else args.out
        print(f"wrote {len(table.rows):,} rows ({table.title}, {wanted.describe()}) to "
              f"{where}", file=sys.stderr)
        if extras and args.out == "-":
            print(f"note: {', '.join(t.title for t in extras)}: give --out FILE to write them "
                  "too", file=sys.stderr)
        elif extras:
            for extra in extras:
                path = extra_csv_path(Path(args.out), extra.name)
                save_csv(extra, path)
                print(f"wrote {len(extra.rows):,} rows ({extra.title}) to {path}",
                      file=sys.stderr)
        return 0
    pages = write_pdf(Path(args.out), report, area_names,
                      f"Reviewer Workstation: {KIND_TITLES[kind]} report")
    print(f"wrote a {pages}-page PDF ({wanted.describe()}) to {args.out}", file=sys.stderr)
    return 0


def extra_csv_path(out: Path, table_name: str) -> Path:
    """Where a kind's further table goes, beside --out: qa.csv -> qa_golden.csv for the
    ``qa_golden`` table, qa_calibration.csv for ``qa_calibration``."""
    part = table_name.split("_", 1)[-1]
    return out.with_name(f"{out.stem}_{part}{out.suffix or '.csv'}")


def write_pdf(path: Path, report, area_names: dict[str, str], title: str) -> int:  # type: ignore[no-untyped-def]
    """The PDF of the reports window, painted on an offscreen Qt platform (no display)."""
    from PySide6.QtWidgets import QApplication

    from ui.reports.reports_view import write_report_pdf

    with open(path, "wb"):  # a clear error for a path that cannot be written
        pass
    app = QApplication.instance() or QApplication(["reviewer-admin", "-platform", "offscreen"])
    assert app is not None
    return write_report_pdf(path, report, area_names, title)


def add_report_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = commands.add_parser(
        "report", help="write the SLA, volume or quality report as CSV or PDF",
        description="Aggregate the backend's cases reported from --since to --until (UTC days, "
                    "both included) and write one report: 'sla' (compliance by queue and "
                    "channel, turnaround p50/p90), 'volume' (cases by channel and policy area "
                    "over time, escalations by team) or 'qa' (agreement with auditors, "
                    "accuracy against golden cases, calibration sessions). CSV is one table "
                    "with a header row; for 'qa' the golden and calibration tables go beside "
                    "it in FILE_golden.csv and FILE_calibration.csv. PDF has the charts and "
                    "tables of the reports window.")
    report.add_argument("--kind", required=True, choices=[k.value for k in ReportKind])
    report.add_argument("--since", required=True, type=_date, metavar="DATE",
                        help="first day (YYYY-MM-DD, UTC)")
    report.add_argument("--until", type=_date, default=None, metavar="DATE",
                        help="last day included (default: today)")
    report.add_argument("--team", default=None, metavar="TEAM",
                        help="only this team's queues (a team code)")
    report.add_argument("--bucket", choices=[b.value for b in Bucket], default="day",
                        help="series over time per day or per ISO week (default: day)")
    report.add_argument("--as-of", type=_moment, default=None, metavar="DATETIME",
                        help="measure open cases' SLA state at this moment, ISO 8601 with a "
                             "zone (default: now); to reproduce an earlier report")
    report.add_argument("--format", required=True, choices=("csv", "pdf"))
    report.add_argument("--out", required=True, metavar="FILE",
                        help="file to write ('-' writes CSV to standard output)")
    report.add_argument("--backend", "--backend-url", dest="backend", default=None,
                        metavar="URL", help="SQLAlchemy URL of the backend "
                                            "(default: the embedded one in --data-dir)")
    report.set_defaults(func=cmd_report)


def build_parser() -> argparse.ArgumentParser:
    parser = cli.build_parser()
    commands = next(action for action in parser._actions
                    if isinstance(action, argparse._SubParsersAction))
    add_report_command(commands)
    return parser


def main(argv: Sequence[str] | None = None, *, secrets: SecretStore | None = None) -> int:
    """``secrets``: where the data directory's keys are (the OS keyring unless given)."""
    try:
        return cli.main(argv, build_parser(), secrets=secrets)
    except OSError as error:
        print(f"error: {error.filename or ''}: {error.strerror or error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
