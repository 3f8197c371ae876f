"""Canary: case text and media with known markers go through the whole workstation (intake,
sync, search, decoding for display, a decision and a note, logging), then every file under
the data directory, the log and the temporary directory of the run is scanned. The markers
must appear nowhere in plain text, in UTF-8 or UTF-16, nor any run of the media's bytes."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from reviewer.clock import ManualClock
from reviewer.demo.images import make_demo_image
from reviewer.demo.seed import seed_demo
from reviewer.enforcement.decisions import DecisionDraft, record_decision
from reviewer.media.decode import SafeDecoder, probe
from reviewer.queue.case_queue import QueueFilter, count_cases
from reviewer.queue.ingest import case_id_for, ingest_file
from reviewer.queue.notes import add_note
from reviewer.store.models import Case, MediaBlob, MediaItem, Note
from reviewer.workstation import Workstation

ROOT = Path(__file__).resolve().parents[2]

TEXT_MARKER = "CANARY7Q2XrepOrtedTEXTzeta"
NOTE_MARKER = "CANARY7Q2XreporterNOTEeta"
DECISION_MARKER = "CANARY7Q2XrationaleTHETA"
SHIFT_NOTE_MARKER = "CANARY7Q2XshiftNOTEiota"
MEDIA_MARKER = b"CANARY7Q2XmediaBYTESkappa"
MARKERS = (TEXT_MARKER, NOTE_MARKER, DECISION_MARKER, SHIFT_NOTE_MARKER)


def _media_with_marker(seed: int) -> bytes:
    """A real PNG whose bytes include the marker (a text chunk) and noisy pixel data."""
    picture = Image.open(io.BytesIO(make_demo_image(random.Random(seed), "noise",
                                                    (96, 72), "PNG")))
    info = PngInfo()
    info.add_text("Comment", MEDIA_MARKER.decode())
    out = io.BytesIO()
    picture.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def _needles(media: list[bytes]) -> dict[str, bytes]:
    needles: dict[str, bytes] = {}
    for marker in (*MARKERS, MEDIA_MARKER.decode()):
        needles[f"{marker} utf-8"] = marker.encode("utf-8")
        needles[f"{marker} utf-16-le"] = marker.encode("utf-16-le")
        needles[f"{marker} utf-16-be"] = marker.encode("utf-16-be")
    for number, data in enumerate(media):
        # Runs of the raw file from its start, its middle (pixel data) and its end.
        for where in (8, len(data) // 2, len(data) - 40):
            needles[f"media {number} bytes at {where}"] = data[where:where + 32]
        needles[f"media {number} base64"] = base64.b64encode(data)[40:80]
    return needles


def _found(roots: list[Path], needles: dict[str, bytes]) -> list[str]:
    found = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.is_symlink():
                continue
            content = path.read_bytes()
            found += [f"{name} in {path}" for name, needle in needles.items()
                      if needle in content]
    return found


@pytest.fixture
def run_temp_dir(tmp_path, monkeypatch):
    """The temporary directory of this run, for this process and any it starts."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


@pytest.fixture
def log_file(tmp_path):
    """Everything logged at any level, as a file (the app's log, turned all the way up)."""
    path = tmp_path / "data" / "logs" / "reviewer.log"
    path.parent.mkdir(parents=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(previous)
    handler.close()


def test_no_case_text_or_media_reaches_any_file_in_plain_form(tmp_path, run_temp_dir,
                                                             log_file):
    clock = ManualClock()
    data = tmp_path / "data"
    media = [_media_with_marker(1), _media_with_marker(2)]
    intake = tmp_path / "intake"
    intake.mkdir()
    (intake / "first.png").write_bytes(media[0])
    records = [
        {"external_ref": f"CANARY-{n}", "queue": "Hate speech", "surface": "organic_post",
         "channel": "user_report", "reported_at": "2026-11-16T08:00:00Z", "severity": 4,
         "reach": 1000, "language": "en", "region": "GB",
         "reported_text": f"Post saying {TEXT_MARKER} number {n}",
         "reporter_note": f"Reporter wrote {NOTE_MARKER}",
         "media": [{"path": "first.png"},
                   {"data_base64": base64.b64encode(media[1]).decode(),
                    "filename": "second.png"}]}
        for n in range(3)
    ]
    (intake / "cases.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n",
                                        encoding="utf-8")
    needles = _needles(media)
    # The scanner finds the markers where they are in plain form (the intake file).
    assert any(TEXT_MARKER in hit for hit in _found([intake], needles))
    assert any("media 0 bytes" in hit for hit in _found([intake], needles))

    workstation = Workstation.open_embedded(data, clock=clock)
    try:
        seed_demo(workstation.backend, workstation.taxonomy, clock, random.Random(4),
                  cases=5, with_media=False)
        report = ingest_file(workstation.backend, intake / "cases.jsonl",
                             workstation.taxonomy, clock)
        assert report.problems == [] and report.loaded == 3
        workstation.synchronise()

        case_id = case_id_for("CANARY-0")
        case = workstation.case(case_id)
        assert case is not None and TEXT_MARKER in case.reported_text
        with workstation.replica.sessions() as session:
            assert count_cases(session, QueueFilter(search=TEXT_MARKER), None,
                               clock.now()) == 3
            hashes = list(session.scalars(select(MediaItem.content_hash)
                                          .where(MediaItem.case_id == case_id)
                                          .order_by(MediaItem.position)))
            assert session.scalar(select(MediaBlob.data).where(
                MediaBlob.content_hash == hashes[0])) == media[0]
        with SafeDecoder() as decoder:
            for content_hash in hashes:
                data_bytes = workstation.media_bytes(content_hash)
                assert data_bytes is not None and MEDIA_MARKER in data_bytes
                assert probe(data_bytes).format == "PNG"
                picture = decoder.decode(data_bytes, (64, 48))
                assert picture.size[0] <= 64

        policy = next(p for p in workstation.taxonomy.policies_for_surface(case.surface)
                      if not p.second_review_actions or "no_violation" in p.actions)
        record_decision(
            workstation.replica.sessions, workstation.taxonomy,
            reviewer_id=workstation.reviewer_id, client_id=workstation.client_id,
            draft=DecisionDraft(case_id, policy.code, "no_violation",
                                f"Read in full; {DECISION_MARKER} is not an attack."),
            clock=clock)
        note = add_note(workstation.replica.sessions, case_id=case_id,
                        author_id=workstation.reviewer_id, client_id=workstation.client_id,
                        body=f"Next shift: {SHIFT_NOTE_MARKER}", clock=clock)
        # A failing statement, logged with its traceback as a failed background task is:
        # the error quotes the SQL but not the parameters holding case text.
        with pytest.raises(IntegrityError) as failed, workstation.replica.writing() as session:
            session.execute(insert(Note).values(
                id=note.id, case_id=case_id, author_id=workstation.reviewer_id,
                body=f"again: {SHIFT_NOTE_MARKER}", created_at=clock.now()))
        logging.getLogger("reviewer.canary").error("background task failed", exc_info=(
            failed.type, failed.value, failed.tb))
        assert SHIFT_NOTE_MARKER not in str(failed.value)
        clock.advance(60)
        report = workstation.synchronise()
        assert report.pushed == 2
        with workstation.backend.sessions() as session:
            assert session.scalar(select(Case.reported_text).where(Case.id == case_id)) \
                == case.reported_text
    finally:
        workstation.close()

    # The administration CLI on the same data directory writes nothing in plain form either.
    env = {**os.environ, "TMPDIR": str(run_temp_dir)}
    result = subprocess.run(
        [sys.executable, "-m", "reviewer.cli", "--data-dir", str(data), "ingest",
         str(intake / "cases.jsonl")], capture_output=True, text=True, env=env, cwd=ROOT,
        timeout=240)
    assert result.returncode == 0, result.stderr
    (data / "logs" / "cli.log").write_text(result.stdout + result.stderr, encoding="utf-8")

    assert log_file.stat().st_size > 0  # the run did log (at DEBUG)
    files = [p for p in data.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"replica.sqlite", "backend.sqlite", "reviewer.log"}
    assert _found([data, run_temp_dir], needles) == []
