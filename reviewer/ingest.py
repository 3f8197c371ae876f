"""Intake: load reported cases and their media into the backend from a JSON Lines file.

``reviewer-admin ingest FILE.jsonl [--backend URL]`` (default: the embedded backend in the
data directory). The file is UTF-8 with one case per line, a JSON object; blank lines and
lines starting with ``#`` are ignored::

    {"external_ref": "RPT-2026-000123", "queue": "Hate speech", "surface": "organic_post",
     "channel": "user_report", "reported_at": "2026-11-20T08:15:00Z", "severity": 3,
     "reach": 1200, "language": "en", "region": "GB",
     "reported_text": "Comment calling a group 'vermin'", "reporter_note": "",
     "media": [{"path": "media/123-1.jpg"},
               {"data_base64": "iVBORw0KGgo...", "filename": "screenshot.png"}]}

Fields (required unless a default is given):

- ``external_ref``: the reporting system's reference, at most 128 characters; unique on
  the backend. A case whose reference is already there is skipped and counted, never
  duplicated, so running the same file again is safe.
- ``queue``: the name of a queue on the backend (e.g. ``"Hate speech"``).
- ``surface``: ``organic_post``, ``ad``, ``commerce_listing``, ``account`` or ``message``.
- ``channel``: ``user_report``, ``proactive_detection``, ``partner``, ``press``,
  ``regulator``, ``legal_request`` or ``vip``.
- ``policy_area``: a policy area code of the taxonomy; default: the queue's area.
- ``reported_at``: ISO 8601 date and time with a zone (``2026-11-20T08:15:00Z``,
  ``2026-11-20T09:15:00+01:00``); a time without a zone is refused, not guessed.
- ``due_at``: ISO 8601 with a zone; default: ``reported_at`` plus the queue's SLA hours.
- ``severity``: an integer from 1 to 5.
- ``reach``: how many people saw it, an integer of 0 or more; default 0.
- ``language``: the content's language (``"en"``), at most 16 characters.
- ``region``: default ``""``; ``reported_text``, ``reporter_note``: default ``""``.
- ``media``: default ``[]``; each item is either ``{"path": "..."}`` (relative to the
  JSONL file's folder, or absolute) or ``{"data_base64": "...", "filename": "..."}``.

Every media file is identified from its bytes and decoded once, as the viewer would
(``reviewer.media``); a file that is not a supported image, is damaged or too large is
reported and its case is not loaded. Media is stored by content (SHA-256): identical
files are kept once however many cases show them.

A record with a problem is reported as ``line N: reason`` and the rest of the file loads.
Cases are written in batches, each in one transaction with its own change version, so
workstations pull them at their next sync; their queue fields (priority key, at-risk
time) are derived on the way in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reviewer.clock import Clock
from reviewer.media.decode import DEFAULT_LIMITS, MediaInfo, SafeDecoder, decode_for_display, probe
from reviewer.media.errors import MediaError
from reviewer.models import Case, MediaBlob, MediaItem, Queue
from reviewer.queue import PriorityWeights, derive_queue_fields
from reviewer.store import Database
from reviewer.sync.backend import next_change_version
from reviewer.taxonomy import Taxonomy
from reviewer.vocabulary import CaseStatus, Channel, Surface

INTAKE_NAMESPACE = uuid.UUID("0c6f2d36-8a51-4a2e-9f7b-3c1de0a4b7e2")
MAX_MEDIA_BYTES = 100 * 1024 * 1024
BATCH_CASES = 500
BATCH_MEDIA_BYTES = 64 * 1024 * 1024
_VET_SIZE = (256, 256)


def case_id_for(external_ref: str) -> uuid.UUID:
    """The id an ingested case gets: the same reference always gives the same id."""
    return uuid.uuid5(INTAKE_NAMESPACE, external_ref)


class RecordProblem(ValueError):
    """What is wrong with one line of the file, in words for the person running intake."""


@dataclass
class IngestReport:
    loaded: int = 0
    skipped_existing: int = 0
    media_items: int = 0
    new_blobs: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)
    skipped_lines: list[int] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.problems)


@dataclass
class _Media:
    content_hash: str
    data: bytes
    info: MediaInfo
    filename: str


@dataclass
class _Record:
    line: int
    case: dict[str, Any]
    media: list[_Media]

    @property
    def size(self) -> int:
        return sum(len(m.data) for m in self.media)


Vet = Callable[[bytes], MediaInfo]


def vetting(decoder: SafeDecoder | None = None) -> Vet:
    """Identify and fully decode a file as the viewer would (in ``decoder``'s worker
    process if given, so no file can hang or exhaust intake); raises MediaError."""

    def vet(data: bytes) -> MediaInfo:
        info = probe(data, decoder.limits if decoder is not None else DEFAULT_LIMITS)
        if decoder is not None:
            decoder.decode(data, _VET_SIZE)
        else:
            decode_for_display(data, _VET_SIZE)
        return info

    return vet


# -- reading and checking one line ----------------------------------------------------------


def _text(record: dict[str, Any], key: str, *, limit: int | None = None,
          default: str | None = None) -> str:
    value = record.get(key, default)
    if value is None:
        raise RecordProblem(f"{key} is missing")
    if not isinstance(value, str):
        raise RecordProblem(f"{key} must be text")
    if default is None and not value.strip():
        raise RecordProblem(f"{key} is empty")
    if limit is not None and len(value) > limit:
        raise RecordProblem(f"{key} is longer than {limit} characters")
    return value


def _timestamp(record: dict[str, Any], key: str) -> datetime:
    raw = _text(record, key)
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise RecordProblem(f"{key} is not an ISO 8601 date and time: {raw!r}") from None
    if value.tzinfo is None:
        raise RecordProblem(f"{key} has no time zone (add Z or an offset such as +01:00)")
    return value


def _integer(record: dict[str, Any], key: str, *, low: int, high: int | None = None,
             default: int | None = None) -> int:
    value = record.get(key, default)
    if value is None:
        raise RecordProblem(f"{key} is missing")
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordProblem(f"{key} must be a whole number")
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise RecordProblem(f"{key} must be {bounds}, not {value}")
    return value


def _choice(record: dict[str, Any], key: str, allowed: Iterable[str]) -> str:
    value = _text(record, key)
    options = sorted(allowed)
    if value not in options:
        raise RecordProblem(f"{key} {value!r} is not one of: {', '.join(options)}")
    return value


def _media_bytes(item: Any, index: int, folder: Path) -> tuple[bytes, str]:
    label = f"media {index}"
    if not isinstance(item, dict):
        raise RecordProblem(f"{label} must be an object with path or data_base64")
    if "path" in item:
        raw = item["path"]
        if not isinstance(raw, str) or not raw:
            raise RecordProblem(f"{label}: path must be text")
        path = (folder / raw) if not Path(raw).is_absolute() else Path(raw)
        try:
            size = path.stat().st_size
            if size > MAX_MEDIA_BYTES:
                raise RecordProblem(f"{label} ({raw}): larger than "
                                    f"{MAX_MEDIA_BYTES // (1024 * 1024)} MiB")
            return path.read_bytes(), path.name
        except OSError as error:
            raise RecordProblem(f"{label} ({raw}): cannot be read: "
                                f"{error.strerror or error}") from None
    if "data_base64" in item:
        filename = item.get("filename", "")
        if not isinstance(filename, str):
            raise RecordProblem(f"{label}: filename must be text")
        encoded = item["data_base64"]
        if not isinstance(encoded, str):
            raise RecordProblem(f"{label}: data_base64 must be text")
        if len(encoded) > MAX_MEDIA_BYTES * 4 // 3 + 4:
            raise RecordProblem(f"{label}: larger than {MAX_MEDIA_BYTES // (1024 * 1024)} MiB")
        try:
            return base64.b64decode(encoded, validate=True), Path(filename).name
        except (binascii.Error, ValueError):
            raise RecordProblem(f"{label}: data_base64 is not valid base64") from None
    raise RecordProblem(f"{label} has neither path nor data_base64")


def parse_record(record: Any, line: int, *, queues: dict[str, Queue], taxonomy: Taxonomy,
                 folder: Path, vet: Vet, now: datetime, weights: PriorityWeights) -> _Record:
    """One line as a case row and its vetted media; raises RecordProblem."""
    if not isinstance(record, dict):
        raise RecordProblem("the line is not a JSON object")
    external_ref = _text(record, "external_ref", limit=128).strip()
    queue_name = _text(record, "queue")
    queue = queues.get(queue_name)
    if queue is None:
        raise RecordProblem(f"there is no queue named {queue_name!r} on the backend")
    surface = _choice(record, "surface", (s.value for s in Surface))
    channel = _choice(record, "channel", (c.value for c in Channel))
    area = record.get("policy_area", queue.policy_area)
    if not isinstance(area, str):
        raise RecordProblem("policy_area must be text")
    try:
        taxonomy.area(area)
    except KeyError:
        raise RecordProblem(f"policy_area {area!r} is not in the policy taxonomy") from None
    reported_at = _timestamp(record, "reported_at")
    due_at = (_timestamp(record, "due_at") if record.get("due_at") is not None
              else reported_at + timedelta(hours=queue.sla_hours))
    if due_at <= reported_at:
        raise RecordProblem("due_at must be after reported_at")
    severity = _integer(record, "severity", low=1, high=5)
    reach = _integer(record, "reach", low=0, default=0)
    language = _text(record, "language", limit=16)
    region = _text(record, "region", limit=16, default="")
    reported_text = _text(record, "reported_text", default="")
    reporter_note = _text(record, "reporter_note", default="")
    items = record.get("media", [])
    if not isinstance(items, list):
        raise RecordProblem("media must be a list")
    media = []
    for index, item in enumerate(items, start=1):
        data, filename = _media_bytes(item, index, folder)
        try:
            info = vet(data)
        except MediaError as error:
            name = f" ({filename})" if filename else ""
            raise RecordProblem(f"media {index}{name}: {error.reason}") from None
        media.append(_Media(hashlib.sha256(data).hexdigest(), data, info, filename))
    case = {
        "id": case_id_for(external_ref), "external_ref": external_ref, "queue_id": queue.id,
        "surface": surface, "channel": channel, "policy_area": area,
        "reported_at": reported_at, "due_at": due_at, "severity": severity, "reach": reach,
        "language": language, "region": region, "reported_text": reported_text,
        "reporter_note": reporter_note, "status": CaseStatus.NEW.value,
        "lease_holder_id": None, "lease_expires_at": None, "fencing_token": 0,
        "media_count": len(media), "updated_at": now,
    }
    return _Record(line, derive_queue_fields(case, weights), media)


def _lines(path: Path) -> Iterator[tuple[int, Any | RecordProblem]]:
    with path.open("rb") as file:
        for number, raw in enumerate(file, start=1):
            try:
                text = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                yield number, RecordProblem("the line is not UTF-8 text")
                continue
            if not text or text.startswith("#"):
                continue
            try:
                yield number, json.loads(text)
            except json.JSONDecodeError as error:
                yield number, RecordProblem(f"not valid JSON ({error.msg}, column {error.colno})")


# -- writing --------------------------------------------------------------------------------


def _write(session: Session, records: list[_Record], report: IngestReport) -> None:
    """Write a batch of checked records in the caller's transaction."""
    version = next_change_version(session)
    blobs: dict[str, _Media] = {}
    for record in records:
        for medium in record.media:
            blobs.setdefault(medium.content_hash, medium)
    known = set(session.scalars(
        select(MediaBlob.content_hash).where(MediaBlob.content_hash.in_(list(blobs)))
    )) if blobs else set()
    new_blobs = [{"content_hash": h, "size_bytes": len(m.data), "data": m.data,
                  "change_version": version} for h, m in blobs.items() if h not in known]
    cases = [{**record.case, "change_version": version} for record in records]
    items = [
        {"id": uuid.uuid5(record.case["id"], str(position)), "case_id": record.case["id"],
         "position": position, "content_hash": medium.content_hash,
         "mime_type": medium.info.mime_type, "size_bytes": len(medium.data),
         "width": medium.info.width, "height": medium.info.height, "duration_s": None,
         "filename": medium.filename[:255], "change_version": version}
        for record in records for position, medium in enumerate(record.media)
    ]
    for model, rows in ((MediaBlob, new_blobs), (Case, cases), (MediaItem, items)):
        if rows:
            session.execute(insert(model), rows)
    report.loaded += len(cases)
    report.media_items += len(items)
    report.new_blobs += len(new_blobs)


def _flush(backend: Database, records: list[_Record], report: IngestReport) -> None:
    if not records:
        return
    refs = [r.case["external_ref"] for r in records]
    with backend.sessions() as session:
        existing = set(session.scalars(select(Case.external_ref)
                                       .where(Case.external_ref.in_(refs))))
    fresh = []
    for record in records:
        if record.case["external_ref"] in existing:
            report.skipped_existing += 1
            report.skipped_lines.append(record.line)
        else:
            fresh.append(record)
    if not fresh:
        return
    try:
        with backend.talking(), backend.writing() as session:
            _write(session, fresh, report)
    except IntegrityError:
        # Someone else loaded some of these meanwhile: write them one at a time.
        for record in fresh:
            try:
                with backend.talking(), backend.writing() as session:
                    _write(session, [record], report)
            except IntegrityError:
                report.skipped_existing += 1
                report.skipped_lines.append(record.line)


def ingest_file(backend: Database, path: Path, taxonomy: Taxonomy, clock: Clock, *,
                vet: Vet | None = None, weights: PriorityWeights | None = None,
                on_problem: Callable[[int, str], None] | None = None) -> IngestReport:
    """Load every good record of ``path`` into ``backend``; see the module docstring."""
    vet = vet or vetting()
    weights = weights or PriorityWeights()
    report = IngestReport()
    with backend.talking(), backend.sessions() as session:
        queues = {q.name: q for q in session.scalars(select(Queue))}
        for queue in queues.values():
            session.expunge(queue)

    def problem(line: int, reason: str) -> None:
        report.problems.append((line, reason))
        if on_problem is not None:
            on_problem(line, reason)

    seen: dict[str, int] = {}
    batch: list[_Record] = []
    batch_bytes = 0
    for line, value in _lines(path):
        if isinstance(value, RecordProblem):
            problem(line, str(value))
            continue
        try:
            record = parse_record(value, line, queues=queues, taxonomy=taxonomy,
                                  folder=path.parent, vet=vet, now=clock.now(),
                                  weights=weights)
        except RecordProblem as error:
            problem(line, str(error))
            continue
        ref = record.case["external_ref"]
        if ref in seen:
            problem(line, f"external_ref {ref!r} appears again (first on line {seen[ref]})")
            continue
        seen[ref] = line
        batch.append(record)
        batch_bytes += record.size
        if len(batch) >= BATCH_CASES or batch_bytes >= BATCH_MEDIA_BYTES:
            _flush(backend, batch, report)
            batch, batch_bytes = [], 0
    _flush(backend, batch, report)
    return report
