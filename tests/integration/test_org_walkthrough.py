"""The administration guide's walk-through, run as written: from an empty PostgreSQL
database to a reviewer's decision on the backend and the lead's SLA report.

The commands are read from docs/administration.md (the blocks after ``<!-- walkthrough -->``
and ``<!-- walkthrough-report -->``) and run by bash as separate processes, with nothing
seeded through Python; only the reviewer's part, which is the app's window, is done here
through the same Workstation the window uses.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from reviewer.clock import ManualClock
from reviewer.store.models import Decision, Queue, Reviewer
from tests.helpers.pg_workstations import decide, drop_logins, open_workstation
from tests.helpers.service import ServiceProcess

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "administration.md"
PASSWORDS = {"amara": "amara's long passphrase", "sofia": "sofia's long passphrase"}


def _block(marker: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(re.escape(marker) + r"\n```bash\n(.*?)\n```", text, re.S)
    assert match, f"docs/administration.md has no {marker} block"
    return match.group(1).splitlines()


def _run(lines: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(lines)], cwd=cwd,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.fixture
def logins(postgres_server):
    drop_logins(postgres_server.admin_url, list(PASSWORDS))
    yield
    drop_logins(postgres_server.admin_url, list(PASSWORDS))


def test_the_documented_commands_make_a_working_team(pg_empty_url, logins, tmp_path):
    url = pg_empty_url.render_as_string(hide_password=False)
    shutil.copy(REPO / "resources" / "org.example.toml", tmp_path / "org.toml")
    now = datetime.now(UTC).replace(microsecond=0)
    cases = [{"external_ref": f"WALK-{n}", "queue": "graphic-violence",
              "surface": "organic_post", "channel": "user_report",
              "reported_at": (now - timedelta(minutes=30 + n)).isoformat(),
              "severity": 3, "language": language, "region": "GB",
              "reported_text": f"walk-through report {n}"}
             for n, language in enumerate(("en", "fr", "ja"))]
    (tmp_path / "cases.jsonl").write_text("\n".join(map(json.dumps, cases)) + "\n")
    env = {**os.environ, "BACKEND": url, "TODAY": now.date().isoformat(),
           "AMARA_PASSWORD": PASSWORDS["amara"], "SOFIA_PASSWORD": PASSWORDS["sofia"],
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    setup = _block("<!-- walkthrough -->")
    # The service is started below on a free port, as its own process, as this line would.
    server = [line for line in setup if line.startswith("reviewer-server ")]
    assert len(server) == 1 and server[0].endswith("&")
    out = _run([line for line in setup if line not in server], tmp_path, env)
    assert "created the schema" in out
    assert "dry run: 22 to add, 0 to change, 0 to remove; nothing was changed" in out
    assert "applied: 22 to add" in out
    assert "created reviewer amara" in out and "created lead sofia" in out
    owner = create_engine(url)
    try:
        with owner.connect() as connection:
            queue = connection.execute(select(Queue).where(
                Queue.code == "graphic-violence")).one()
            assert queue.sla_hours_by_channel == {"press": 2, "regulator": 2, "vip": 1}
            languages = connection.execute(select(Reviewer.languages).where(
                Reviewer.username == "amara")).scalar_one()
            assert languages == ["en", "fr"]
    finally:
        owner.dispose()

    service = ServiceProcess(url, tmp_path)
    service.start()
    try:
        # Amara signs in, gets the next case and decides it: the window's path.
        workstation = open_workstation(tmp_path / "amara", service.base_url,
                                       ManualClock(datetime.now(UTC)), username="amara",
                                       password=PASSWORDS["amara"])
        try:
            workstation.synchronise()
            lease = workstation.get_next_case()
            assert lease is not None
            decision = decide(workstation, lease.case_id)
            report = workstation.synchronise()
            assert report.pushed == 1 and report.rejected == 0
        finally:
            workstation.close()
    finally:
        service.stop()
    owner = create_engine(url)
    try:
        with owner.connect() as connection:
            stored = connection.execute(select(Decision).where(
                Decision.id == decision.id)).one()
            assert stored.action == "no_violation"
            assert connection.execute(select(func.count()).select_from(Decision)).scalar() == 1
    finally:
        owner.dispose()

    # The lead's SLA report, as documented.
    out = _run(_block("<!-- walkthrough-report -->"), tmp_path, env)
    with open(tmp_path / "sla.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    queue_row = next(row for row in rows if row[:2] == ["queue", "Graphic violence"])
    assert queue_row[2:4] == ["3", "1"]  # three cases, one decided


def _role(url: str, name: str) -> tuple[bool, bool, bool]:
    """(can log in, in rw_reviewer, in rw_lead) of a login role."""
    from sqlalchemy import text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return tuple(connection.execute(text(
                "SELECT rolcanlogin, pg_has_role(:n, 'rw_reviewer', 'MEMBER'), "
                "pg_has_role(:n, 'rw_lead', 'MEMBER') FROM pg_roles WHERE rolname = :n"),
                {"n": name}).one())
    finally:
        engine.dispose()


def test_a_role_change_or_leaving_the_organisation_follows_the_login(
        pg_url, postgres_server, tmp_path, monkeypatch):
    from reviewer.cli import main

    drop_logins(postgres_server.admin_url, ["jonas"])
    url = pg_url.render_as_string(hide_password=False)
    example = (REPO / "resources" / "org.example.toml").read_text(encoding="utf-8")
    org = tmp_path / "org.toml"
    org.write_text(example, encoding="utf-8")
    monkeypatch.setenv("REVIEWER_NEW_PASSWORD", "jonas's long passphrase")
    try:
        assert main(["apply-org", str(org), "--backend", url]) == 0
        assert main(["create-user", "jonas", "--from-org", str(org), "--backend", url]) == 0
        assert _role(url, "jonas") == (True, True, False)
        block = 'username = "jonas"\nname = "Jonas Weber"\nrole = "reviewer"'
        org.write_text(example.replace(block, block.replace('"reviewer"', '"lead"')),
                       encoding="utf-8")
        assert main(["apply-org", str(org), "--backend", url]) == 0
        assert _role(url, "jonas") == (True, False, True)
        start = example.index('[[person]]\nusername = "jonas"')
        end = example.index("[[person]]", start + 1)
        org.write_text(example[:start] + example[end:], encoding="utf-8")
        assert main(["apply-org", str(org), "--backend", url]) == 0
        assert _role(url, "jonas")[0] is False  # left the organisation: no sign-in
        org.write_text(example, encoding="utf-8")
        assert main(["apply-org", str(org), "--backend", url]) == 0
        assert _role(url, "jonas") == (True, True, False)
    finally:
        drop_logins(postgres_server.admin_url, ["jonas"])
