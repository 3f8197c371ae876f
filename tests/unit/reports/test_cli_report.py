"""``reviewer-admin report``: CSV in-process (no Qt needed), CSV and PDF as the installed
command runs them, with no display, and the mistakes an admin can make.

The data is the hand-built set of tests/helpers/datasets.py, measured as of its NOW
(``--as-of``), so the figures are the ones worked out by hand there.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reviewer.security.secrets import KeyringSecretStore
from reviewer.store.database import Database, DataPaths, sqlite_url
from reviewer.store.keys import DatabaseKeys
from tests.helpers.datasets import add_qa_reviews, build_known_dataset
from ui.admin_cli import main

ROOT = Path(__file__).resolve().parents[3]
PERIOD = ["--since", "2026-11-09", "--until", "2026-11-16", "--as-of", "2026-11-16T12:00Z"]


@pytest.fixture
def data_dir(tmp_path):
    data = tmp_path / "data"
    # Its key goes to the (test run's) keyring: the command also runs as its own process.
    database = Database.open(sqlite_url(DataPaths(data).ensure().backend),
                             keys=DatabaseKeys(KeyringSecretStore()))
    build_known_dataset(database.sessions)
    add_qa_reviews(database.sessions)
    database.dispose()
    return data


def _rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_sla_report_as_csv(data_dir, tmp_path, capsys):
    out = tmp_path / "sla.csv"
    assert main(["--data-dir", str(data_dir), "report", "--kind", "sla", *PERIOD,
                 "--format", "csv", "--out", str(out)]) == 0
    assert _rows(out) == [
        ["Dimension", "Key", "Cases", "Decided", "Within SLA", "Breached", "Open at risk",
         "Compliance"],
        ["queue", "Alpha queue", "9", "6", "5", "2", "1", "0.5556"],
        ["queue", "Beta queue", "2", "2", "1", "1", "0", "0.5"],
        ["channel", "Partner", "2", "0", "0", "0", "1", "0.0"],
        ["channel", "Press", "2", "2", "1", "1", "0", "0.5"],
        ["channel", "Regulator", "2", "2", "1", "1", "0", "0.5"],
        ["channel", "User report", "5", "4", "4", "1", "0", "0.8"],
    ]
    assert "wrote 6 rows" in capsys.readouterr().err


def test_team_filter_and_weekly_volume_to_stdout(data_dir, capsys):
    assert main(["--data-dir", str(data_dir), "report", "--kind", "volume", *PERIOD,
                 "--team", "beta", "--bucket", "week", "--format", "csv", "--out", "-"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [
        ["Week starting", "Dimension", "Key", "Cases"],
        ["2026-11-09", "channel", "Regulator", "1"],
        ["2026-11-16", "channel", "Regulator", "1"],
        ["2026-11-09", "policy_area", "Regulatory and legal requests", "1"],
        ["2026-11-16", "policy_area", "Regulatory and legal requests", "1"],
    ]


def test_quality_report_as_csv(data_dir, tmp_path):
    out = tmp_path / "qa.csv"
    assert main(["--data-dir", str(data_dir), "report", "--kind", "qa", *PERIOD,
                 "--bucket", "week", "--format", "csv", "--out", str(out)]) == 0
    rows = _rows(out)
    assert rows[0][:5] == ["Period", "Scope", "Who", "Audited", "Agreement"]
    assert rows[2][:5] == ["2026-W46", "team", "alpha", "3", "0.6667"]
    assert rows[2][-1] == "true"  # three audits are too few to mean much


@pytest.mark.parametrize(("arguments", "message"), [
    (["--kind", "sla", "--since", "2026-11-31", "--format", "csv", "--out", "-"],
     "not a date (YYYY-MM-DD): '2026-11-31'"),
    (["--kind", "sla", "--since", "2026-11-10", "--until", "2026-11-01", "--format", "csv",
      "--out", "-"], "the period is empty: it ends (2026-11-01) before it starts (2026-11-10)"),
    (["--kind", "sla", "--since", "2026-11-10", "--format", "pdf", "--out", "-"],
     "a PDF needs a file"),
    (["--kind", "gossip", "--since", "2026-11-10", "--format", "csv", "--out", "-"],
     "invalid choice: 'gossip'"),
    (["--kind", "sla", "--since", "2026-11-10", "--as-of", "2026-11-16 12:00",
      "--format", "csv", "--out", "-"], "not a date and time with a zone"),
])
def test_mistakes_are_one_clear_line_and_exit_2(data_dir, capsys, arguments, message):
    try:
        code = main(["--data-dir", str(data_dir), "report", *arguments])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    assert code == 2
    assert message in capsys.readouterr().err


def test_no_backend_is_explained(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path / "empty"), "report", "--kind", "sla", *PERIOD,
                 "--format", "csv", "--out", "-"]) == 2
    assert "there is no embedded backend" in capsys.readouterr().err
    assert not (tmp_path / "empty" / "backend.sqlite").exists()


def test_unwritable_output_is_explained(data_dir, tmp_path, capsys):
    assert main(["--data-dir", str(data_dir), "report", "--kind", "sla", *PERIOD,
                 "--format", "csv", "--out", str(tmp_path / "no" / "such" / "dir.csv")]) == 2
    assert "No such file or directory" in capsys.readouterr().err


def _without_display() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_csv_needs_neither_qt_nor_a_display(data_dir, tmp_path):
    out = tmp_path / "volume.csv"
    program = (
        "import sys\n"
        "from ui.admin_cli import main\n"
        "code = main(sys.argv[1:])\n"
        "qt = sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6')))\n"
        "print('qt modules:', qt, file=sys.stderr)\n"
        "sys.exit(code if not qt else 10)\n")
    result = subprocess.run(
        [sys.executable, "-c", program, "--data-dir", str(data_dir), "report", "--kind",
         "volume", *PERIOD, "--format", "csv", "--out", str(out)],
        env=_without_display(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "qt modules: []" in result.stderr
    assert _rows(out)[1] == ["2026-11-10", "channel", "User report", "2"]


def test_pdf_is_written_without_a_display(data_dir, tmp_path):
    out = tmp_path / "sla.pdf"
    result = subprocess.run(
        [sys.executable, "-m", "ui.admin_cli", "--data-dir", str(data_dir), "report",
         "--kind", "sla", *PERIOD, "--format", "pdf", "--out", str(out)],
        env=_without_display(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    content = out.read_bytes()
    assert content.startswith(b"%PDF-") and content.rstrip().endswith(b"%%EOF")
    # Three charts (SLA by queue and by channel, turnaround), two to a page, then the three
    # tables on one page.
    assert content.count(b"/Type /Page\n") == 3
    assert "wrote a 3-page PDF (2026-11-09 to 2026-11-16 (UTC), all teams, by day)" in (
        result.stderr)
