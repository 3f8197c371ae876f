"""reviewer-admin ingest: cases and media from JSON Lines into the backend, as intake runs it."""

from __future__ import annotations

import base64
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from reviewer.cli import main
from reviewer.demo.images import make_bad_files, make_demo_image
from reviewer.queue.case_queue import PriorityWeights, derive_queue_fields
from reviewer.queue.ingest import case_id_for
from reviewer.security.secrets import KeyringSecretStore
from reviewer.store.database import Database, sqlite_url
from reviewer.store.keys import DatabaseKeys
from reviewer.store.models import Case, MediaBlob, MediaItem, Queue
from tests.helpers.pg_workstations import count, open_workstation, seed_backend

REPORTED = "2026-11-20T08:15:00Z"


def _case(ref: str, **changes: object) -> dict:
    record = {
        "external_ref": ref, "queue": "Hate speech", "surface": "organic_post",
        "channel": "user_report", "reported_at": REPORTED, "severity": 3, "reach": 1200,
        "language": "en", "region": "GB", "reported_text": f"Reported post {ref}",
        "reporter_note": "", "media": [],
    }
    record.update(changes)
    return record


def _intake_file(folder: Path) -> Path:
    rng = random.Random(5)
    (folder / "media").mkdir(parents=True)
    photo = make_demo_image(rng, "shapes", (320, 240), "JPEG")
    (folder / "media" / "photo.jpg").write_bytes(photo)
    screenshot = make_demo_image(rng, "text", (200, 120), "PNG")
    bad = make_bad_files()
    (folder / "media" / "report.jpg").write_bytes(bad["pdf_named.jpg"])
    lines = [
        "# intake export, 2026-11-20",
        json.dumps(_case("RPT-1", media=[
            {"path": "media/photo.jpg"},
            {"data_base64": base64.b64encode(screenshot).decode(), "filename": "shot.png"}])),
        json.dumps(_case("RPT-2", queue="Spam & fraud", channel="press",
                         media=[{"path": "media/photo.jpg"}])),
        json.dumps(_case("RPT-3", reported_at="2026-11-20T08:15:00")),
        json.dumps(_case("RPT-4", media=[{"path": "media/report.jpg"}])),
        "",
        json.dumps(_case("RPT-5", queue="No such queue")),
        '{"external_ref": "RPT-6", "queue": ',
        json.dumps(_case("RPT-7", due_at="2026-11-20T10:15:00+01:00", severity=5)),
        json.dumps(_case("RPT-1", reported_text="the same reference again")),
        json.dumps(_case("RPT-9", severity=7)),
        json.dumps(_case("RPT-10", media=[{"data_base64": base64.b64encode(
            bad["truncated.jpg"]).decode(), "filename": "cut.jpg"}])),
        json.dumps(_case("RPT-11", media=[{"path": "media/missing.jpg"}])),
    ]
    path = folder / "intake.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_ingest_loads_good_lines_reports_bad_ones_and_is_safe_to_rerun(pg_url, tmp_path,
                                                                        capsys, clock):
    seed_backend(pg_url, clock, cases=0)  # the demo's teams and queues, no cases
    path = _intake_file(tmp_path / "intake")
    url = pg_url.render_as_string(hide_password=False)
    assert main(["--data-dir", str(tmp_path / "admin"), "ingest", str(path),
                 "--backend", url]) == 1
    captured = capsys.readouterr()
    problems = {int(line.split(":")[1]): line for line in captured.err.splitlines()}
    assert set(problems) == {4, 5, 7, 8, 10, 11, 12, 13}
    assert "reported_at has no time zone" in problems[4]
    assert "media 1 (report.jpg): the file is not a supported image (looks like a PDF" \
        in problems[5]
    assert "no queue named 'No such queue'" in problems[7]
    assert "not valid JSON" in problems[8]
    assert "appears again (first on line 2)" in problems[10]
    assert "severity must be from 1 to 5, not 7" in problems[11]
    assert "media 1 (cut.jpg): the file is truncated" in problems[12]
    assert "media 1 (media/missing.jpg): cannot be read" in problems[13]
    assert "loaded 3 cases with 3 media items (2 new files)" in captured.out
    assert "rejected 8" in captured.out

    backend = Database.open(pg_url, migrate=False)
    try:
        with backend.sessions() as session:
            cases = {c.external_ref: c for c in session.scalars(select(Case))}
            queues = {q.id: q for q in session.scalars(select(Queue))}
            items = session.scalars(select(MediaItem).order_by(MediaItem.case_id,
                                                               MediaItem.position)).all()
        assert set(cases) == {"RPT-1", "RPT-2", "RPT-7"}
        first = cases["RPT-1"]
        assert first.id == case_id_for("RPT-1") and first.status == "new"
        reported = datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
        assert first.reported_at == reported
        assert first.due_at == reported + timedelta(hours=queues[first.queue_id].sla_hours)
        assert cases["RPT-7"].due_at == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
        assert first.media_count == 2 and cases["RPT-2"].policy_area == "spam_fraud"
        expected = derive_queue_fields({
            "severity": 3, "channel": "user_report", "reach": 1200, "reported_at": reported,
            "due_at": first.due_at}, PriorityWeights())
        assert first.priority_key == expected["priority_key"]
        assert first.at_risk_at == expected["at_risk_at"]
        assert all(c.change_version > 0 for c in cases.values())
        assert [i.mime_type for i in items if i.case_id == first.id] == \
            ["image/jpeg", "image/png"]
        assert {i.width for i in items if i.filename == "photo.jpg"} == {320}
        assert count(backend, MediaBlob) == 2  # the same photo is stored once
    finally:
        backend.dispose()

    # The same file again: nothing new, nothing doubled.
    assert main(["--data-dir", str(tmp_path / "admin"), "ingest", str(path),
                 "--backend", url]) == 1
    out = capsys.readouterr().out
    assert "loaded 0 cases" in out and "skipped 3 already on the backend" in out
    backend = Database.open(pg_url, migrate=False)
    try:
        assert count(backend, Case) == 3 and count(backend, MediaItem) == 3
    finally:
        backend.dispose()

    # Workstations pull the new cases and their media at their next sync.
    workstation = open_workstation(tmp_path / "ws", pg_url, clock)
    try:
        workstation.synchronise()
        items = workstation.media_items(case_id_for("RPT-1"))
        assert len(items) == 2
        photo = (tmp_path / "intake" / "media" / "photo.jpg").read_bytes()
        assert workstation.media_bytes(items[0].content_hash) == photo
    finally:
        workstation.close()


def test_ingest_into_the_embedded_backend_by_default(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "seed-demo", "--cases", "0"]) == 0
    path = tmp_path / "intake.jsonl"
    path.write_text(json.dumps(_case("RPT-E1")) + "\n", encoding="utf-8")
    assert main(["--data-dir", str(data), "ingest", str(path)]) == 0
    assert "loaded 1 cases" in capsys.readouterr().out
    assert main(["--data-dir", str(data), "sync"]) == 0
    replica = Database.open(sqlite_url(data / "replica.sqlite"),
                            keys=DatabaseKeys(KeyringSecretStore()))
    try:
        with replica.sessions() as session:
            case = session.get(Case, case_id_for("RPT-E1"))
        assert case is not None and case.reported_text == "Reported post RPT-E1"
    finally:
        replica.dispose()


def test_ingest_of_a_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path), "ingest", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_values_postgresql_refuses_cost_their_own_record_only(pg_url, tmp_path, capsys, clock,
                                                              monkeypatch):
    """A NUL in text is refused with a reason before PostgreSQL sees it; a value that gets
    past the checks but not past the database (here a region longer than its column, the
    check loosened on purpose) fails its batch, which is then written one case at a time."""
    from reviewer.queue import ingest
    from reviewer.queue.ingest import load_reports, parse_report, vetting

    seed_backend(pg_url, clock, cases=0)
    monkeypatch.setitem(ingest.TEXT_LIMITS, "region", 64)
    lines = [
        json.dumps(_case("PG-1")),
        json.dumps(_case("PG-NUL", reported_text="nul \u0000 inside")),
        json.dumps(_case("PG-2")),
        json.dumps(_case("PG-LONG", region="R" * 40)),
        json.dumps(_case("PG-3")),
    ]
    path = tmp_path / "intake.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    url = pg_url.render_as_string(hide_password=False)
    assert main(["--data-dir", str(tmp_path / "admin"), "ingest", str(path),
                 "--backend", url]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    problems = {int(line.split(":")[1]): line for line in captured.err.splitlines()}
    assert set(problems) == {2, 4}
    assert "reported_text contains a NUL character" in problems[2]
    assert "the backend refused to store this case: value too long for type character " \
        "varying(16)" in problems[4]
    assert "loaded 3 cases" in captured.out and "rejected 2" in captured.out

    # The same refusal from PostgreSQL itself: a NUL past the checks (as a bug might let
    # one through) fails that report only.
    backend = Database.open(pg_url, migrate=False)
    try:
        with backend.sessions() as session:
            queues = {q.name: q for q in session.scalars(select(Queue))}
            for queue in queues.values():
                session.expunge(queue)
        from reviewer.policy.taxonomy import load_taxonomy

        parsed = [parse_report(_case(ref), queues=queues, taxonomy=load_taxonomy(),
                               folder=None, vet=vetting(), now=clock.now(),
                               weights=PriorityWeights())
                  for ref in ("PG-4", "PG-NUL-2", "PG-5", "PG-1")]
        parsed[1].case["reported_text"] = "nul \u0000 inside"
        result = load_reports(backend, parsed)
        assert result.loaded_refs == ["PG-4", "PG-5"]
        assert result.skipped_refs == ["PG-1"]
        assert list(result.failed) == ["PG-NUL-2"]
        assert "NUL" in result.failed["PG-NUL-2"]
        with backend.sessions() as session:
            refs = set(session.scalars(select(Case.external_ref)))
        assert refs == {"PG-1", "PG-2", "PG-3", "PG-4", "PG-5"}
    finally:
        backend.dispose()
