"""reviewer-admin ingest against hostile files: every bad record costs that record only.

Real files throughout: FIFOs, symbolic links out of the folder, /dev/zero, absolute and
``..`` paths, JSON nested 100,000 deep, numbers of thousands of digits, NUL characters and
lone surrogates written as JSON escapes, years 1 and 9999, next to good records with real
images. The embedded backend is built as the canary test builds it (a workstation on a
temporary data directory, its keys in the test run's own keyring, the demo's queues)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select

from reviewer.clock import ManualClock
from reviewer.queue import ingest
from reviewer.queue.case_queue import PriorityWeights
from reviewer.queue.ingest import (
    IngestReport,
    ParsedReport,
    RecordProblem,
    case_id_for,
    ingest_file,
    load_reports,
    parse_report,
    vetting,
)
from reviewer.security.secrets import KeyringSecretStore
from reviewer.store.models import Case, MediaBlob, MediaItem, Queue
from reviewer.workstation import Workstation

DEADLINE_S = 20.0
REPORTED = "2026-11-10T08:15:00Z"

# The workstation: its embedded backend has the demo's teams and queues and no cases.
pytestmark = pytest.mark.demo(cases=0, seed=4, secrets=KeyringSecretStore())


def _picture(fmt: str, size: tuple[int, int], seed: int) -> bytes:
    """A real image drawn with Pillow: coloured boxes on a background."""
    rng = random.Random(seed)
    picture = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(picture)
    for _ in range(6):
        x, y = rng.randrange(size[0] - 8), rng.randrange(size[1] - 8)
        draw.rectangle((x, y, x + rng.randrange(4, 60), y + rng.randrange(4, 60)),
                       fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    picture.save(out, fmt)
    return out.getvalue()


def _case(ref: str, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "external_ref": ref, "queue": "Hate speech", "surface": "organic_post",
        "channel": "user_report", "reported_at": REPORTED, "severity": 3, "reach": 1200,
        "language": "en", "region": "GB", "reported_text": f"Reported post {ref}",
        "reporter_note": "", "media": [],
    }
    record.update(changes)
    return record


def _line(ref: str, **changes: Any) -> str:
    return json.dumps(_case(ref, **changes))


def _path_media(path: str) -> str:
    return _line("BAD-PATH", media=[{"path": path}])


def _within(seconds: float, work: Callable[[], Any]) -> Any:
    """``work()`` in a thread, which must finish within ``seconds`` (a blocking open of a
    FIFO or a read of /dev/zero would not); its result, or its exception re-raised."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"did not finish within {seconds:.0f} s (it hangs)"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _queues(workstation: Workstation) -> dict[str, Queue]:
    with workstation.backend.sessions() as session:
        queues = {q.name: q for q in session.scalars(select(Queue))}
        for queue in queues.values():
            session.expunge(queue)
    return queues


def _cases(workstation: Workstation) -> dict[str, Case]:
    with workstation.backend.sessions() as session:
        return {c.external_ref: c for c in session.scalars(select(Case))}


def _blob_hashes(workstation: Workstation) -> set[str]:
    with workstation.backend.sessions() as session:
        return set(session.scalars(select(MediaBlob.content_hash)))


def _ingest(workstation: Workstation, path: Path, clock: ManualClock) -> IngestReport:
    return _within(DEADLINE_S, lambda: ingest_file(workstation.backend, path,
                                                   workstation.taxonomy, clock))


# -- one file of everything ------------------------------------------------------------------


@pytest.fixture
def hostile_file(tmp_path: Path) -> tuple[Path, dict[int, str], dict[str, bytes]]:
    """An intake file mixing good records and hostile ones: (path, {line: what the reason
    must say}, {good image name: bytes}); the secret image outside the folder is valid, so
    only confinement keeps it out."""
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = _picture("PNG", (64, 48), seed=99)
    (outside / "secret.png").write_bytes(secret)
    folder = tmp_path / "intake"
    media = folder / "media"
    media.mkdir(parents=True)
    photo = _picture("JPEG", (320, 240), seed=1)
    screenshot = _picture("PNG", (200, 120), seed=2)
    (media / "photo.jpg").write_bytes(photo)
    (media / "escape.png").symlink_to(outside / "secret.png")
    (media / "zero.jpg").symlink_to("/dev/zero")
    (media / "photo-link.jpg").symlink_to("photo.jpg")  # a link inside the folder: fine
    os.mkfifo(media / "pipe.jpg")
    (media / "folder.jpg").mkdir()

    deep = "[" * 100_000 + "]" * 100_000
    lines: list[tuple[str, str | None]] = [
        ("# hostile intake export", None),
        (_line("GOOD-1", media=[
            {"path": "media/photo.jpg"},
            {"data_base64": base64.b64encode(screenshot).decode(), "filename": "shot.png"}]),
         None),
        (_path_media("../outside/secret.png"), "media 1 (../outside/secret.png): is outside "
                                               "the intake file's folder"),
        (_path_media("media/../../outside/secret.png"), "is outside the intake file's folder"),
        (_path_media(str(outside / "secret.png")), "is an absolute path"),
        (_path_media("/etc/passwd"), "media 1 (/etc/passwd): is an absolute path"),
        (_path_media("/dev/zero"), "media 1 (/dev/zero): is an absolute path"),
        (_path_media("media/escape.png"), "media 1 (media/escape.png): is outside the intake "
                                          "file's folder (after following links)"),
        (_path_media("media/zero.jpg"), "media 1 (media/zero.jpg): is outside"),
        (_path_media("media/pipe.jpg"), "media 1 (media/pipe.jpg): is a named pipe (FIFO), "
                                        "not a regular file"),
        (_path_media("media/folder.jpg"), "media 1 (media/folder.jpg): is a folder"),
        (_path_media("."), "media 1 (.): is outside the intake file's folder"),
        (_line("GOOD-2", media=[{"path": "media/photo-link.jpg"}]), None),
        ('{"external_ref": "DEEP", "extra": ' + deep + "}", "nested too deeply"),
        ('{"external_ref": "DIGITS", "reach": ' + "7" * 5000 + "}",
         "a number in the line has more than 4,300 digits"),
        (_line("HUGE-REACH", reach=10**30), "reach must be from 0 to 1,000,000,000,000, not "
                                            "a number of about 31 digits"),
        (_line("NUL", reported_text="before\u0000after"),
         "reported_text contains a NUL character"),
        # json.dumps writes the lone surrogate as the raw JSON escape \ud800.
        (_line("SURROGATE", reporter_note="\ud800"), "reporter_note contains a lone "
                                                     "surrogate"),
        ('{"external_ref": "SURROGATE-RAW", "queue": "Hate \\udfff speech"}',
         "queue contains a lone surrogate"),
        (_line("YEAR-9999", reported_at="9999-12-31T23:59:59Z"),
         "reported_at must lie between 2000-01-01 and"),
        (_line("YEAR-1", reported_at="0001-01-01T00:00:00Z"),
         "reported_at must lie between 2000-01-01 and 2027-11-17, not 0001-01-01"),
        (_line("YEAR-1-OFFSET", reported_at="0001-01-01T00:00:00+01:00"), "out of range"),
        (_line("DUE-9999", due_at="9999-12-31T23:59:59+00:00"),
         "due_at must be at most 5 years after reported_at"),
        (_line("DUE-1", due_at="0001-01-01T00:00:00Z"), "due_at must be after reported_at"),
        (_line("NAIVE", reported_at="2026-11-10T08:15:00"), "reported_at has no time zone"),
        (_line("GOOD-3", reach=2.0, severity=5), None),
        (_line("BOOL", severity=True), "severity must be a whole number, not true"),
        (_line("HALF", reach=2.5), "reach must be a whole number, not 2.5"),
        ('{"external_ref": "NAN", "queue": "Hate speech", "surface": "ad", "channel": "vip",'
         ' "reported_at": "' + REPORTED + '", "severity": 3, "language": "en", '
         '"reach": NaN}', "reach must be a whole number, not nan"),
        (_line("MANY-MEDIA", media=[{"path": "media/photo.jpg"}] * 21),
         "media holds 21 items; at most 20 per case"),
        (_line("MEDIA-NOT-LIST", media={"path": "media/photo.jpg"}), "media must be a list"),
        (_line("BOTH", media=[{"path": "media/photo.jpg", "data_base64": ""}]),
         "media 1 has both path and data_base64"),
        (_line("NUL-PATH", media=[{"path": "media/photo.jpg\u0000.png"}]),
         "media 1: path contains a NUL character"),
        ("[1, 2, 3]", "the report is not a JSON object"),
        (_line("R" * 129), "external_ref is longer than 128 characters"),
        (_line("LONG-LANGUAGE", language="x" * 17), "language is longer than 16 characters"),
        (_line("LONG-TEXT", reported_text="x" * 100_001),
         "reported_text is longer than 100,000 characters"),
        (_line("LONG-CHANNEL", channel="v" * 10_000), "channel is longer than 64 characters"),
        (_line("BAD-B64", media=[{"data_base64": "not base64!", "filename": "x.png"}]),
         "media 1: data_base64 is not valid base64"),
        (_line("GOOD-4", media=[{"path": "./media/photo.jpg"}]), None),
    ]
    expected = {number: reason for number, (_text, reason) in enumerate(lines, start=1)
                if reason is not None}
    path = folder / "intake.jsonl"
    path.write_text("\n".join(text for text, _reason in lines) + "\n", encoding="utf-8")
    raw = path.read_bytes()
    assert b"\\ud800" in raw and b"\\u0000" in raw  # the escapes as written
    return path, expected, {"photo": photo, "screenshot": screenshot, "secret": secret}


def test_hostile_file_loads_every_good_record_and_reports_each_bad_one(
        workstation, clock, hostile_file):
    path, expected, images = hostile_file
    report = _ingest(workstation, path, clock)

    problems = dict(report.problems)
    assert len(problems) == len(report.problems)  # one reason per line
    assert set(problems) == set(expected), problems
    for line, phrase in expected.items():
        assert phrase in problems[line], (line, problems[line])
    assert report.loaded == 4 and report.rejected == len(expected)
    assert sorted(report.loaded_refs) == ["GOOD-1", "GOOD-2", "GOOD-3", "GOOD-4"]
    assert report.failed == {}

    cases = _cases(workstation)
    assert set(cases) == {"GOOD-1", "GOOD-2", "GOOD-3", "GOOD-4"}
    assert cases["GOOD-3"].reach == 2 and cases["GOOD-3"].severity == 5
    assert cases["GOOD-1"].id == case_id_for("GOOD-1") and cases["GOOD-1"].media_count == 2
    with workstation.backend.sessions() as session:
        items = session.scalars(select(MediaItem).where(
            MediaItem.case_id == case_id_for("GOOD-2"))).all()
    assert [(i.filename, i.mime_type, i.width) for i in items] == \
        [("photo-link.jpg", "image/jpeg", 320)]
    hashes = _blob_hashes(workstation)
    assert hashes == {hashlib.sha256(images["photo"]).hexdigest(),
                      hashlib.sha256(images["screenshot"]).hexdigest()}
    assert hashlib.sha256(images["secret"]).hexdigest() not in hashes

    # Again: nothing loaded twice, the same problems reported.
    again = _ingest(workstation, path, clock)
    assert again.loaded == 0 and again.skipped_existing == 4
    assert sorted(again.skipped_refs) == ["GOOD-1", "GOOD-2", "GOOD-3", "GOOD-4"]
    assert dict(again.problems) == problems
    assert len(_cases(workstation)) == 4


def test_the_cli_reports_file_and_line_without_a_traceback(tmp_path, capsys, hostile_file):
    from reviewer.cli import main

    path, expected, _images = hostile_file
    data = tmp_path / "cli-data"
    assert main(["--data-dir", str(data), "seed-demo", "--cases", "0"]) == 0
    capsys.readouterr()
    assert _within(DEADLINE_S * 3, lambda: main(["--data-dir", str(data), "ingest",
                                                 str(path)])) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.splitlines()
    assert len(lines) == len(expected)
    assert all(line.startswith(f"{path}:") for line in lines)
    assert {int(line[len(str(path)) + 1:].split(":")[0]) for line in lines} == set(expected)
    assert "loaded 4 cases" in captured.out


# -- races and limits ----------------------------------------------------------------------


def test_a_fifo_swapped_in_after_the_check_is_opened_without_blocking(
        workstation, clock, tmp_path, monkeypatch):
    """Had the FIFO been opened blocking (no writer ever comes) the run would hang."""
    folder = tmp_path / "intake"
    folder.mkdir()
    os.mkfifo(folder / "swapped.jpg")
    (folder / "photo.png").write_bytes(_picture("PNG", (80, 60), seed=3))
    checked = ingest._not_regular
    calls = {"n": 0}

    def fooled_once(mode: int) -> str | None:
        # The check before opening sees a regular file, as if the FIFO replaced it after.
        calls["n"] += 1
        return None if calls["n"] == 1 else checked(mode)

    monkeypatch.setattr(ingest, "_not_regular", fooled_once)
    path = folder / "intake.jsonl"
    path.write_text(_path_media("swapped.jpg") + "\n"
                    + _line("GOOD", media=[{"path": "photo.png"}]) + "\n", encoding="utf-8")
    report = _ingest(workstation, path, clock)
    assert report.problems == [(1, "media 1 (swapped.jpg): is a named pipe (FIFO), not a "
                                   "regular file")]
    assert report.loaded_refs == ["GOOD"]


def test_oversized_media_lines_and_base64_are_refused_before_they_are_read(
        workstation, clock, tmp_path, monkeypatch):
    folder = tmp_path / "intake"
    folder.mkdir()
    picture = _picture("PNG", (120, 90), seed=4)
    (folder / "big.png").write_bytes(picture)
    monkeypatch.setattr(ingest, "MAX_MEDIA_BYTES", len(picture) - 1)
    monkeypatch.setattr(ingest, "MAX_MEDIA_BASE64_CHARS", 64)
    monkeypatch.setattr(ingest, "MAX_LINE_BYTES", 2000)
    path = folder / "intake.jsonl"
    path.write_text("\n".join([
        _line("BIG-FILE", media=[{"path": "big.png"}]),
        _line("BIG-B64", media=[{"data_base64": base64.b64encode(picture).decode()}]),
        _line("LONG-LINE", reported_text="y" * 5000),
        _line("GOOD"),
    ]) + "\n", encoding="utf-8")
    report = _ingest(workstation, path, clock)
    problems = dict(report.problems)
    assert set(problems) == {1, 2, 3}
    assert problems[1].startswith("media 1 (big.png): is larger than")
    assert problems[2].startswith("media 1: larger than")
    assert problems[3] == "the line is longer than 2,000 bytes"
    assert report.loaded_refs == ["GOOD"]  # the line after the long one is read whole


def test_a_file_that_grows_past_the_limit_while_read_is_refused(tmp_path, monkeypatch):
    picture = _picture("PNG", (60, 40), seed=5)
    (tmp_path / "growing.png").write_bytes(picture)
    monkeypatch.setattr(ingest, "MAX_MEDIA_BYTES", len(picture))
    descriptor = os.open(tmp_path / "growing.png", os.O_RDONLY)
    try:
        with (tmp_path / "growing.png").open("ab") as file:
            file.write(b"\0" * 10)  # after the size was checked: the read stops anyway
        with pytest.raises(RecordProblem, match="is larger than"):
            ingest._read_bounded(descriptor)
    finally:
        os.close(descriptor)


# -- the parser the HTTP API shares ---------------------------------------------------------


def _parse(workstation: Workstation, clock: ManualClock, value: Any, **options: Any
           ) -> ParsedReport:
    options.setdefault("folder", None)
    return parse_report(value, queues=_queues(workstation), taxonomy=workstation.taxonomy,
                        vet=vetting(), now=clock.now(), weights=PriorityWeights(), **options)


def test_without_a_folder_only_inline_media_is_accepted(workstation, clock, tmp_path):
    (tmp_path / "photo.png").write_bytes(_picture("PNG", (50, 40), seed=6))
    with pytest.raises(RecordProblem, match="media 1: media must be sent inline or as files "
                                            "in the request"):
        _parse(workstation, clock, _case("API-1", media=[{"path": "photo.png"}]))
    with pytest.raises(RecordProblem, match="media must be sent inline"):
        _parse(workstation, clock, _case("API-1", media=[{"path": str(tmp_path /
                                                                      "photo.png")}]))
    inline = _case("API-1", media=[{"data_base64": base64.b64encode(
        (tmp_path / "photo.png").read_bytes()).decode(), "filename": "photo.png"}])
    parsed = _parse(workstation, clock, inline)
    assert parsed.external_ref == "API-1" and [m.filename for m in parsed.media] == \
        ["photo.png"]
    # With a folder, the same path is read from it.
    assert len(_parse(workstation, clock, _case("API-1", media=[{"path": "photo.png"}]),
                      folder=tmp_path).media) == 1


def test_a_channel_restriction_pins_the_reports_channel(workstation, clock):
    with pytest.raises(RecordProblem) as refused:
        _parse(workstation, clock, _case("API-2", channel="user_report"), channel="partner")
    assert str(refused.value) == "this intake token may only create cases in channel 'partner'"
    with pytest.raises(RecordProblem, match="only create cases in channel 'partner'"):
        _parse(workstation, clock, _case("API-2", channel=None), channel="partner")
    without = _case("API-2")
    del without["channel"]
    assert _parse(workstation, clock, without, channel="partner").case["channel"] == "partner"
    assert _parse(workstation, clock, _case("API-2", channel="partner"),
                  channel="partner").case["channel"] == "partner"
    with pytest.raises(RecordProblem, match="channel is missing"):
        _parse(workstation, clock, without)


@pytest.mark.parametrize("value", [
    None, 7, "text", [], [_case("X")], {"external_ref": {"nested": True}},
    {"external_ref": "X", "queue": ["Hate speech"]}, {"external_ref": ""},
    _case("X", reported_text=["a"] * 3), _case("X", severity="3"), _case("X", reach=-1),
    _case("X", reach=float("inf")), _case("X", media=[None]), _case("X", media=["a.png"]),
    _case("X", media=[{"data_base64": 5}]), _case("X", media=[{"filename": "a.png"}]),
    _case("X", media=[{"data_base64": "", "filename": "\ud83d"}]),
    _case("X", reported_at=12345), _case("X", reported_at="2026-13-40T00:00:00Z"),
    _case("X", reported_at="x" * 10_000), _case("X", policy_area="no_such_area"),
    _case("X", queue="No such queue"), _case("X", surface="billboard"),
    _case("X", due_at=REPORTED),
])
def test_any_malformed_report_is_a_record_problem(workstation, clock, value):
    with pytest.raises(RecordProblem) as problem:
        _parse(workstation, clock, value)
    assert problem.value.reason and "Traceback" not in problem.value.reason


def test_load_reports_writes_one_at_a_time_when_the_backend_refuses_a_batch(
        workstation, clock):
    values = [_case(f"API-{n}", reported_at=datetime(2026, 11, 10, 8, n, tzinfo=UTC)
                    .isoformat()) for n in range(5)]
    parsed = [_parse(workstation, clock, value) for value in values]
    parsed[1].case["severity"] = 9  # past the checks: the backend's constraint refuses it
    written: list[str] = []

    def receipts(session, reports: list[ParsedReport]) -> None:
        if any(r.external_ref == "API-3" for r in reports):
            raise RuntimeError("the receipt for API-3 cannot be written")
        written.extend(r.external_ref for r in reports)

    result = load_reports(workstation.backend, parsed, also_write=receipts)
    assert result.loaded_refs == ["API-0", "API-2", "API-4"]
    assert set(result.failed) == {"API-1", "API-3"}
    assert result.failed["API-1"].startswith("the backend refused to store this case: ")
    assert "CHECK constraint failed" in result.failed["API-1"]
    assert result.failed["API-3"] == ("the backend refused to store this case: the receipt "
                                      "for API-3 cannot be written")
    assert written == ["API-0", "API-2", "API-4"]
    assert set(_cases(workstation)) == {"API-0", "API-2", "API-4"}  # API-3 rolled back

    again = load_reports(workstation.backend,
                         [_parse(workstation, clock, value) for value in values])
    assert again.loaded_refs == ["API-1", "API-3"]
    assert again.skipped_refs == ["API-0", "API-2", "API-4"] and again.skipped_existing == 3
    assert len(_cases(workstation)) == 5


def test_load_reports_loads_a_reference_given_twice_once(workstation, clock):
    first = _parse(workstation, clock, _case("API-TWICE"))
    second = _parse(workstation, clock, _case("API-TWICE", severity=5))
    result = load_reports(workstation.backend, [first, second])
    assert result.loaded_refs == ["API-TWICE"]
    assert result.problems == [(0, "external_ref 'API-TWICE' appears again in the same "
                                   "load")]
    assert _cases(workstation)["API-TWICE"].severity == 3
