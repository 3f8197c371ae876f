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

Fields (required unless a default is given; other keys are ignored):

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
  JSONL file's folder) or ``{"data_base64": "...", "filename": "..."}``.

Limits. Everything in a file is treated as hostile until checked, so that one bad record
costs that record only, never the run, the machine or the database:

- a line is at most `MAX_LINE_BYTES` (160 MiB: base64 media sits inline) and is read on
  its own, never the whole file at once; JSON nested too deeply for the parser or holding
  a number of thousands of digits is a problem of that line.
- text (`TEXT_LIMITS`): ``external_ref`` 128 characters, ``queue`` 200, ``policy_area``
  64, ``language`` and ``region`` 16, ``reported_text`` 100,000, ``reporter_note``
  20,000, a media ``filename`` 255, a media ``path`` 1,024. No text may hold a NUL
  character (PostgreSQL cannot store one) or a lone surrogate such as ``"\\ud800"`` (not
  Unicode, so not storable as UTF-8).
- numbers: ``severity`` 1 to 5, ``reach`` 0 to 10^12 (`MAX_REACH`); true/false is not a
  number and 2.5 not a whole one (2.0 is accepted as 2).
- times: ``reported_at`` from 2000-01-01 to a year after now; ``due_at`` after
  ``reported_at`` and at most five years after it (`MAX_DUE_AFTER`).
- media: at most `MAX_MEDIA_ITEMS` (20) per case, each at most `MAX_MEDIA_BYTES`
  (100 MiB) and together at most `MAX_CASE_MEDIA_BYTES` (256 MiB). A ``path`` is read
  only if, with symbolic links followed, it names a regular file inside the JSONL file's
  folder: absolute paths, ``..`` out of the folder, links pointing out of it, folders,
  named pipes and devices are refused before anything is opened (and the file is opened
  without blocking and without following a link that appeared meanwhile, so nothing
  swapped in can hang the run). Base64 text longer than 100 MiB of data would need is
  refused before it is decoded.

Every media file is identified from its bytes and decoded once, as the viewer would
(``reviewer.media``); a file that is not a supported image, is damaged or too large is
reported and its case is not loaded. Media is stored by content (SHA-256): identical
files are kept once however many cases show them.

A record with a problem is reported as ``line N: reason`` and the rest of the file loads.
Cases are written in batches, each in one transaction with its own change version, so
workstations pull them at their next sync; their queue fields (priority key, at-risk
time) are derived on the way in. If the backend refuses a batch (a value PostgreSQL will
not store, a reference someone else loaded meanwhile), its cases are written one at a time
so only the one at fault is reported; a backend that cannot be reached stops the run with
a `BackendError` (what was loaded stays loaded, and running again is safe).

The HTTP intake API (``reviewer.server.intake``) shares this parser: `parse_report` checks
one report (with ``folder=None`` only inline media is accepted, and ``channel`` pins the
source's channel) and `load_reports` writes checked reports like `ingest_file` does.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import errno
import hashlib
import json
import os
import stat
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from reviewer.clock import Clock
from reviewer.media.decode import DEFAULT_LIMITS, MediaInfo, SafeDecoder, decode_for_display, probe
from reviewer.media.errors import MediaError
from reviewer.policy.taxonomy import Taxonomy
from reviewer.queue.case_queue import PriorityWeights, derive_queue_fields
from reviewer.store.changes import next_change_version
from reviewer.store.database import BackendError, Database
from reviewer.store.models import Case, MediaBlob, MediaItem, Queue
from reviewer.vocabulary import CaseStatus, Channel, Surface

INTAKE_NAMESPACE = uuid.UUID("0c6f2d36-8a51-4a2e-9f7b-3c1de0a4b7e2")
_MIB = 1024 * 1024
MAX_LINE_BYTES = 160 * _MIB
"""The longest line read; longer ones are skipped unread (base64 media sits inline)."""
MAX_MEDIA_BYTES = 100 * _MIB
"""The largest media file, from a path or decoded from base64."""
MAX_MEDIA_BASE64_CHARS = 4 * -(-MAX_MEDIA_BYTES // 3)
"""The longest ``data_base64`` text: what `MAX_MEDIA_BYTES` takes in base64."""
MAX_MEDIA_ITEMS = 20
"""The most media items one case may carry."""
MAX_CASE_MEDIA_BYTES = 256 * _MIB
"""All of one case's media together: a record cannot make intake hold gigabytes."""
MAX_PATH_CHARS = 1024
MAX_CHOICE_CHARS = 64
MAX_TIMESTAMP_CHARS = 64
TEXT_LIMITS = {
    "external_ref": 128, "queue": 200, "policy_area": 64, "language": 16, "region": 16,
    "reported_text": 100_000, "reporter_note": 20_000, "filename": 255,
}
"""Characters each text field may hold; at most what the backend's columns take."""
MAX_REACH = 10**12
EARLIEST_REPORTED_AT = datetime(2000, 1, 1, tzinfo=UTC)
MAX_REPORTED_AHEAD = timedelta(days=366)
"""How far after now ``reported_at`` may lie (clocks of reporting systems drift)."""
MAX_DUE_AFTER = timedelta(days=5 * 365 + 1)
"""How far after ``reported_at`` ``due_at`` may lie."""
BATCH_CASES = 500
BATCH_MEDIA_BYTES = 64 * _MIB
_VET_SIZE = (256, 256)
_READ_CHUNK = _MIB


def case_id_for(external_ref: str) -> uuid.UUID:
    """The id an ingested case gets: the same reference always gives the same id."""
    return uuid.uuid5(INTAKE_NAMESPACE, external_ref)


class RecordProblem(ValueError):
    """What is wrong with one record, in plain words for the person running intake (or the
    partner whose report it was); `reason` is the whole message."""

    @property
    def reason(self) -> str:
        return str(self)


@dataclass
class IngestReport:
    """What a load did. ``problems`` are (line, reason); for reports that did not come from
    a file the line is `ParsedReport.line` (0 unless the caller set it)."""

    loaded: int = 0
    skipped_existing: int = 0
    media_items: int = 0
    new_blobs: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)
    skipped_lines: list[int] = field(default_factory=list)
    loaded_refs: list[str] = field(default_factory=list)
    """The external references written, in order."""
    skipped_refs: list[str] = field(default_factory=list)
    """The references skipped because a case with them is already on the backend."""
    failed: dict[str, str] = field(default_factory=dict)
    """Checked reports the backend refused to store: external reference -> reason."""

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
class ParsedReport:
    """One checked report: its case row (queue fields derived) and its vetted media, ready
    for `load_reports`. ``line`` is where it came from in a file (0 otherwise)."""

    case: dict[str, Any]
    media: list[_Media]
    line: int = 0

    @property
    def external_ref(self) -> str:
        return str(self.case["external_ref"])

    @property
    def size(self) -> int:
        return sum(len(m.data) for m in self.media)


Vet = Callable[[bytes], MediaInfo]
AlsoWrite = Callable[[Session, list[ParsedReport]], None]
ProblemSink = Callable[[int, str], None]


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


# -- checking one record's fields ----------------------------------------------------------


def _shown(text: str) -> str:
    """``text`` as it may appear in a reason: plain if printable, else quoted and escaped."""
    return text if text.isprintable() else repr(text)


def _amount(size: int) -> str:
    """A byte count for a reason: '100 MiB', or exact bytes below a MiB."""
    return f"{size // _MIB:,} MiB" if size >= _MIB else f"{size:,} bytes"


def _number(value: int) -> str:
    if abs(value) < 10**18:
        return f"{value:,}"
    return f"a number of about {int(value.bit_length() * 0.30103) + 1:,} digits"


def _storable(value: str, key: str, limit: int) -> str:
    """``value`` if the backend can store it: not too long, no NUL, valid Unicode."""
    if len(value) > limit:
        raise RecordProblem(f"{key} is longer than {limit:,} characters")
    if "\x00" in value:
        raise RecordProblem(f"{key} contains a NUL character (\\u0000), which cannot be "
                            "stored")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RecordProblem(f"{key} contains a lone surrogate (an unpaired \\ud800-\\udfff "
                            "escape), which is not valid Unicode text") from None
    return value


def _text(record: dict[str, Any], key: str, *, limit: int | None = None,
          default: str | None = None) -> str:
    """A text field; required (and not blank) unless it has a ``default``."""
    value = record.get(key, default)
    if value is None:
        raise RecordProblem(f"{key} is missing")
    if not isinstance(value, str):
        raise RecordProblem(f"{key} must be text")
    _storable(value, key, limit if limit is not None else TEXT_LIMITS[key])
    if default is None and not value.strip():
        raise RecordProblem(f"{key} is empty")
    return value


def _timestamp(record: dict[str, Any], key: str) -> datetime:
    """An ISO 8601 time with a zone, in UTC."""
    raw = _text(record, key, limit=MAX_TIMESTAMP_CHARS)
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise RecordProblem(f"{key} is not an ISO 8601 date and time: {raw!r}") from None
    if value.tzinfo is None:
        raise RecordProblem(f"{key} has no time zone (add Z or an offset such as +01:00)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise RecordProblem(f"{key} {raw!r} is out of range") from None


def _integer(record: dict[str, Any], key: str, *, low: int, high: int,
             default: int | None = None) -> int:
    """A whole number from ``low`` to ``high``; 2.0 counts as 2, true and 2.5 do not."""
    value = record.get(key, default)
    if value is None:
        raise RecordProblem(f"{key} is missing")
    if isinstance(value, bool):
        raise RecordProblem(f"{key} must be a whole number, not {str(value).lower()}")
    if isinstance(value, float):
        if not value.is_integer():
            raise RecordProblem(f"{key} must be a whole number, not {value!r}")
        value = int(value)
    elif not isinstance(value, int):
        raise RecordProblem(f"{key} must be a whole number")
    if not low <= value <= high:
        raise RecordProblem(f"{key} must be from {low:,} to {high:,}, not {_number(value)}")
    return value


def _choice(record: dict[str, Any], key: str, allowed: Iterable[str]) -> str:
    value = _text(record, key, limit=MAX_CHOICE_CHARS)
    options = sorted(allowed)
    if value not in options:
        raise RecordProblem(f"{key} {value!r} is not one of: {', '.join(options)}")
    return value


# -- media -------------------------------------------------------------------------------


_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
               | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
_DIR_FLAGS = (os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_DIRECTORY", 0)
              | getattr(os, "O_NOFOLLOW", 0))
_WALK_BENEATH = (os.open in os.supports_dir_fd and os.stat in os.supports_dir_fd
                 and os.stat in os.supports_follow_symlinks
                 and hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY"))
"""Open a media file by walking from the folder one component at a time, never following
a link (POSIX): a folder swapped for a link after the path was checked cannot lead out."""


def _not_regular(mode: int) -> str | None:
    """Why a file of ``mode`` is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    return "is not a regular file"


def _open_checked(root: str, target: str) -> int:
    """An open descriptor of ``target`` (a real path inside the real folder ``root``),
    checked with stat to be a regular file of at most `MAX_MEDIA_BYTES` before it is
    opened and again, by identity, after; raises RecordProblem or OSError."""
    if _WALK_BENEATH:
        parts = Path(os.path.relpath(target, root)).parts
        directory = os.open(root, _DIR_FLAGS)
        try:
            for part in parts[:-1]:
                inner = os.open(part, _DIR_FLAGS, dir_fd=directory)
                os.close(directory)
                directory = inner
            before = os.stat(parts[-1], dir_fd=directory, follow_symlinks=False)
            _check_file(before)
            descriptor = os.open(parts[-1], _OPEN_FLAGS, dir_fd=directory)
        finally:
            os.close(directory)
    else:
        before = os.stat(target)
        _check_file(before)
        descriptor = os.open(target, _OPEN_FLAGS)
    try:
        after = os.fstat(descriptor)
        _check_file(after)
        if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino):
            raise RecordProblem("was replaced while being read")
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _check_file(status: os.stat_result) -> None:
    why = _not_regular(status.st_mode)
    if why is not None:
        raise RecordProblem(why)
    if status.st_size > MAX_MEDIA_BYTES:
        raise RecordProblem(f"is larger than {_amount(MAX_MEDIA_BYTES)}")


def _read_bounded(descriptor: int) -> bytes:
    """At most `MAX_MEDIA_BYTES` from ``descriptor``; a file that grew past it is refused."""
    chunks: list[bytes] = []
    total = 0
    while total <= MAX_MEDIA_BYTES:
        chunk = os.read(descriptor, min(_READ_CHUNK, MAX_MEDIA_BYTES + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > MAX_MEDIA_BYTES:
        raise RecordProblem(f"is larger than {_amount(MAX_MEDIA_BYTES)}")
    return b"".join(chunks)


def _read_media_file(folder: Path, raw: str) -> bytes:
    """The bytes of the file ``raw`` names, relative to ``folder`` and confined to it."""
    if Path(raw).anchor or raw.startswith(("/", "\\")):
        raise RecordProblem("is an absolute path; give media paths relative to the intake "
                            "file's folder")
    root = os.path.realpath(folder)
    target = os.path.realpath(os.path.join(root, raw))
    if target == root or os.path.commonpath([root, target]) != root:
        raise RecordProblem("is outside the intake file's folder (after following links); "
                            "media must lie in that folder or below it")
    try:
        descriptor = _open_checked(root, target)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise RecordProblem("cannot be read: it is a symbolic link that loops or was "
                                "swapped in while being read") from None
        raise RecordProblem(f"cannot be read: {error.strerror or error}") from None
    try:
        return _read_bounded(descriptor)
    except OSError as error:
        raise RecordProblem(f"cannot be read: {error.strerror or error}") from None
    finally:
        os.close(descriptor)


def _media_bytes(item: Any, index: int, folder: Path | None) -> tuple[bytes, str]:
    """One media item's bytes and filename; raises RecordProblem."""
    label = f"media {index}"
    if not isinstance(item, dict):
        raise RecordProblem(f"{label} must be an object with path or data_base64")
    if "path" in item and "data_base64" in item:
        raise RecordProblem(f"{label} has both path and data_base64; give one")
    if "path" in item:
        if folder is None:
            raise RecordProblem(f"{label}: media must be sent inline or as files in the "
                                "request, not as a path")
        raw = item["path"]
        if not isinstance(raw, str) or not raw:
            raise RecordProblem(f"{label}: path must be text")
        _storable(raw, f"{label}: path", MAX_PATH_CHARS)
        try:
            return _read_media_file(folder, raw), Path(raw).name
        except RecordProblem as problem:
            raise RecordProblem(f"{label} ({_shown(raw)}): {problem}") from None
    if "data_base64" in item:
        filename = item.get("filename", "")
        if not isinstance(filename, str):
            raise RecordProblem(f"{label}: filename must be text")
        _storable(filename, f"{label}: filename", TEXT_LIMITS["filename"])
        encoded = item["data_base64"]
        if not isinstance(encoded, str):
            raise RecordProblem(f"{label}: data_base64 must be text")
        if len(encoded) > MAX_MEDIA_BASE64_CHARS:
            raise RecordProblem(f"{label}: larger than {_amount(MAX_MEDIA_BYTES)}")
        try:
            return base64.b64decode(encoded, validate=True), Path(filename).name
        except (binascii.Error, ValueError):
            raise RecordProblem(f"{label}: data_base64 is not valid base64") from None
    raise RecordProblem(f"{label} has neither path nor data_base64")


def _vetted_media(items: Any, folder: Path | None, vet: Vet) -> list[_Media]:
    if not isinstance(items, list):
        raise RecordProblem("media must be a list")
    if len(items) > MAX_MEDIA_ITEMS:
        raise RecordProblem(f"media holds {len(items):,} items; at most {MAX_MEDIA_ITEMS} "
                            "per case")
    media: list[_Media] = []
    total = 0
    for index, item in enumerate(items, start=1):
        data, filename = _media_bytes(item, index, folder)
        total += len(data)
        if total > MAX_CASE_MEDIA_BYTES:
            raise RecordProblem(f"the media of one case may come to at most "
                                f"{_amount(MAX_CASE_MEDIA_BYTES)} together")
        name = f" ({_shown(filename)})" if filename else ""
        try:
            info = vet(data)
        except MediaError as error:
            raise RecordProblem(f"media {index}{name}: {error.reason}") from None
        except Exception as error:  # a decoder that failed otherwise: this record only
            raise RecordProblem(f"media {index}{name}: could not be checked "
                                f"({type(error).__name__})") from None
        media.append(_Media(hashlib.sha256(data).hexdigest(), data, info, filename))
    return media


# -- one report ----------------------------------------------------------------------------


def parse_report(value: Any, *, queues: dict[str, Queue], taxonomy: Taxonomy,
                 folder: Path | None, vet: Vet, now: datetime, weights: PriorityWeights,
                 channel: str | None = None) -> ParsedReport:
    """Check one report (a decoded JSON value) against the format and limits of the module
    docstring and vet its media; raises RecordProblem, and nothing else, for any report.

    ``folder`` is where ``path`` media is read from; None refuses path media (the HTTP API:
    media comes inline). ``channel``, if given, is the only channel allowed: a report without
    one gets it, a report naming another is refused (an intake token is bound to one).
    """
    if channel is not None and channel not in {c.value for c in Channel}:
        raise ValueError(f"unknown channel {channel!r}")
    try:
        return _parse(value, queues=queues, taxonomy=taxonomy, folder=folder, vet=vet,
                      now=now, weights=weights, channel=channel)
    except RecordProblem:
        raise
    except RecursionError:
        raise RecordProblem("the report is nested too deeply to check") from None
    except Exception as error:  # a case no check foresaw: this report only, never the run
        raise RecordProblem(f"the report could not be checked ({type(error).__name__})"
                            ) from error


def _parse(record: Any, *, queues: dict[str, Queue], taxonomy: Taxonomy,
           folder: Path | None, vet: Vet, now: datetime, weights: PriorityWeights,
           channel: str | None) -> ParsedReport:
    if not isinstance(record, dict):
        raise RecordProblem("the report is not a JSON object")
    external_ref = _text(record, "external_ref").strip()
    queue_name = _text(record, "queue")
    queue = queues.get(queue_name) or next(
        (q for q in queues.values() if q.code == queue_name), None)  # its name, or its code
    if queue is None:
        raise RecordProblem(f"there is no queue named {queue_name!r} on the backend")
    if queue.archived:
        raise RecordProblem(f"queue {queue_name!r} was taken out of the organisation "
                            "(archived); it takes no new cases")
    surface = _choice(record, "surface", (s.value for s in Surface))
    if channel is not None:
        given = record.get("channel", channel)
        if given != channel:
            raise RecordProblem(f"this intake token may only create cases in channel "
                                f"{channel!r}")
        case_channel = channel
    else:
        case_channel = _choice(record, "channel", (c.value for c in Channel))
    area = _text(record, "policy_area", default=queue.policy_area)
    try:
        taxonomy.area(area)
    except KeyError:
        raise RecordProblem(f"policy_area {area!r} is not in the policy taxonomy") from None
    reported_at = _timestamp(record, "reported_at")
    latest = now + MAX_REPORTED_AHEAD
    if not EARLIEST_REPORTED_AT <= reported_at <= latest:
        raise RecordProblem(f"reported_at must lie between {EARLIEST_REPORTED_AT:%Y-%m-%d} "
                            f"and {latest:%Y-%m-%d}, not {reported_at.date().isoformat()}")
    if record.get("due_at") is not None:
        due_at = _timestamp(record, "due_at")
    else:
        due_at = reported_at + timedelta(hours=queue.sla_for(case_channel))
    if due_at <= reported_at:
        raise RecordProblem("due_at must be after reported_at")
    if due_at - reported_at > MAX_DUE_AFTER:
        raise RecordProblem("due_at must be at most 5 years after reported_at")
    severity = _integer(record, "severity", low=1, high=5)
    reach = _integer(record, "reach", low=0, high=MAX_REACH, default=0)
    language = _text(record, "language")
    region = _text(record, "region", default="")
    reported_text = _text(record, "reported_text", default="")
    reporter_note = _text(record, "reporter_note", default="")
    media = _vetted_media(record.get("media", []), folder, vet)
    case = {
        "id": case_id_for(external_ref), "external_ref": external_ref, "queue_id": queue.id,
        "surface": surface, "channel": case_channel, "policy_area": area,
        "reported_at": reported_at, "due_at": due_at, "severity": severity, "reach": reach,
        "language": language, "region": region, "reported_text": reported_text,
        "reporter_note": reporter_note, "status": CaseStatus.NEW.value,
        "lease_holder_id": None, "lease_expires_at": None, "fencing_token": 0,
        "media_count": len(media), "updated_at": now,
    }
    return ParsedReport(derive_queue_fields(case, weights), media)


def parse_record(record: Any, line: int, *, queues: dict[str, Queue], taxonomy: Taxonomy,
                 folder: Path, vet: Vet, now: datetime, weights: PriorityWeights
                 ) -> ParsedReport:
    """One line of an intake file as a checked report (`parse_report` with the file's
    folder, remembering the line); raises RecordProblem."""
    parsed = parse_report(record, queues=queues, taxonomy=taxonomy, folder=folder, vet=vet,
                          now=now, weights=weights)
    parsed.line = line
    return parsed


# -- reading a file line by line -----------------------------------------------------------


def _skip_rest_of_line(file: BinaryIO) -> None:
    while True:
        chunk = file.readline(_READ_CHUNK)
        if not chunk or chunk.endswith(b"\n"):
            return


def _decoded(text: str) -> Any:
    """A line's JSON value; raises RecordProblem for anything the parser refuses."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise RecordProblem(f"not valid JSON ({error.msg}, column {error.colno})") from None
    except RecursionError:
        raise RecordProblem("the JSON is nested too deeply to read") from None
    except ValueError as error:
        if "integer string conversion" in str(error):
            raise RecordProblem(f"a number in the line has more than "
                                f"{sys.get_int_max_str_digits():,} digits") from None
        raise RecordProblem(f"not valid JSON ({error})") from None
    except Exception as error:  # e.g. out of memory: this line only
        raise RecordProblem(f"the line could not be read as JSON "
                            f"({type(error).__name__})") from None


def _lines(path: Path) -> Iterator[tuple[int, Any | RecordProblem]]:
    """(line number, JSON value or the line's problem), one line in memory at a time."""
    with path.open("rb") as file:
        number = 0
        while raw := file.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                _skip_rest_of_line(file)
                yield number, RecordProblem(f"the line is longer than "
                                            f"{_amount(MAX_LINE_BYTES)}")
                continue
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            try:
                text = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                yield number, RecordProblem("the line is not UTF-8 text")
                continue
            del raw
            if not text or text.startswith("#"):
                continue
            try:
                value = _decoded(text)
            except RecordProblem as problem:
                value = problem
            del text  # not held while the record is checked and written
            yield number, value


# -- writing --------------------------------------------------------------------------------


@dataclass
class _Written:
    cases: int
    media_items: int
    new_blobs: int


def _write(session: Session, reports: list[ParsedReport]) -> _Written:
    """Write a batch of checked reports in the caller's transaction."""
    version = next_change_version(session)
    blobs: dict[str, _Media] = {}
    for report in reports:
        for medium in report.media:
            blobs.setdefault(medium.content_hash, medium)
    known = set(session.scalars(
        select(MediaBlob.content_hash).where(MediaBlob.content_hash.in_(list(blobs)))
    )) if blobs else set()
    new_blobs = [{"content_hash": h, "size_bytes": len(m.data), "data": m.data,
                  "change_version": version} for h, m in blobs.items() if h not in known]
    cases = [{**report.case, "change_version": version} for report in reports]
    items = [
        {"id": uuid.uuid5(report.case["id"], str(position)), "case_id": report.case["id"],
         "position": position, "content_hash": medium.content_hash,
         "mime_type": medium.info.mime_type, "size_bytes": len(medium.data),
         "width": medium.info.width, "height": medium.info.height, "duration_s": None,
         "filename": medium.filename[:255], "change_version": version}
        for report in reports for position, medium in enumerate(report.media)
    ]
    for model, rows in ((MediaBlob, new_blobs), (Case, cases), (MediaItem, items)):
        if rows:
            session.execute(insert(model), rows)
    return _Written(len(cases), len(items), len(new_blobs))


def _database_reason(error: Exception) -> str:
    """The first line of what the database (or driver) said, without parameters: the
    statement's values are case text and stay out of messages."""
    said = str(getattr(error, "orig", None) or error).strip()
    first = said.splitlines()[0].strip() if said else ""
    return (first or type(error).__name__)[:300]


class _Loader:
    """Writes checked reports in batches: one transaction per batch, and for a batch the
    backend refuses, one per report, so only the one at fault is lost."""

    def __init__(self, backend: Database, report: IngestReport,
                 problem: Callable[[ParsedReport, str], None],
                 also_write: AlsoWrite | None) -> None:
        self.backend = backend
        self.report = report
        self.problem = problem
        self.also_write = also_write

    def _transaction(self, reports: list[ParsedReport]) -> _Written:
        with self.backend.talking(), self.backend.writing() as session:
            written = _write(session, reports)
            if self.also_write is not None:
                self.also_write(session, reports)
        return written

    def _loaded(self, reports: list[ParsedReport], written: _Written) -> None:
        self.report.loaded += written.cases
        self.report.media_items += written.media_items
        self.report.new_blobs += written.new_blobs
        self.report.loaded_refs.extend(r.external_ref for r in reports)

    def _skipped(self, report: ParsedReport) -> None:
        self.report.skipped_existing += 1
        self.report.skipped_lines.append(report.line)
        self.report.skipped_refs.append(report.external_ref)

    def _present(self, refs: list[str]) -> set[str]:
        with self.backend.talking(), self.backend.sessions() as session:
            return set(session.scalars(select(Case.external_ref)
                                       .where(Case.external_ref.in_(refs))))

    def flush(self, reports: list[ParsedReport]) -> None:
        if not reports:
            return
        existing = self._present([r.external_ref for r in reports])
        fresh = []
        for report in reports:
            if report.external_ref in existing:
                self._skipped(report)
            else:
                fresh.append(report)
        if not fresh:
            return
        try:
            written = self._transaction(fresh)
        except BackendError:
            raise  # the backend is gone: no report is at fault
        except Exception:
            # A value the backend refuses, or a reference someone else loaded meanwhile:
            # one transaction per report finds which, and the others load.
            for report in fresh:
                self._one(report)
        else:
            self._loaded(fresh, written)

    def _one(self, report: ParsedReport) -> None:
        try:
            written = self._transaction([report])
        except BackendError:
            raise
        except Exception as error:
            try:
                present = bool(self._present([report.external_ref]))
            except BackendError:
                raise
            except Exception:  # cannot tell: report it, a re-run loads it or skips it
                present = False
            if present:
                self._skipped(report)
            else:
                reason = f"the backend refused to store this case: {_database_reason(error)}"
                self.report.failed[report.external_ref] = reason
                self.problem(report, reason)
        else:
            self._loaded([report], written)


def _batches(reports: Iterable[ParsedReport]) -> Iterator[list[ParsedReport]]:
    batch: list[ParsedReport] = []
    size = 0
    for report in reports:
        batch.append(report)
        size += report.size
        if len(batch) >= BATCH_CASES or size >= BATCH_MEDIA_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def load_reports(backend: Database, reports: list[ParsedReport], *,
                 also_write: AlsoWrite | None = None) -> IngestReport:
    """Write checked reports as `ingest_file` does: in batches, each in one transaction
    with its own change version; a report whose external reference is already on the
    backend is skipped (``skipped_refs``), one the backend refuses is reported
    (``failed``, ``problems``) and costs no other; ``loaded_refs`` are those written.

    ``also_write(session, reports)`` runs in each transaction after its cases are inserted
    (the HTTP API's receipts), so they commit together or not at all. A backend that cannot
    be reached raises BackendError; a reference given twice is loaded once, the repeat
    reported in ``problems`` only."""
    result = IngestReport()

    def problem(report: ParsedReport, reason: str) -> None:
        result.problems.append((report.line, reason))

    seen: set[str] = set()
    unique = []
    for report in reports:
        if report.external_ref in seen:
            problem(report, f"external_ref {report.external_ref!r} appears again in the "
                            "same load")
            continue
        seen.add(report.external_ref)
        unique.append(report)
    loader = _Loader(backend, result, problem, also_write)
    for batch in _batches(unique):
        loader.flush(batch)
    return result


def ingest_file(backend: Database, path: Path, taxonomy: Taxonomy, clock: Clock, *,
                vet: Vet | None = None, weights: PriorityWeights | None = None,
                on_problem: ProblemSink | None = None) -> IngestReport:
    """Load every good record of ``path`` into ``backend``; see the module docstring.
    Each problem is reported to ``on_problem(line, reason)`` as it is found."""
    vet = vet or vetting()
    weights = weights or PriorityWeights()
    result = IngestReport()
    with backend.talking(), backend.sessions() as session:
        queues = {q.name: q for q in session.scalars(select(Queue))}
        for queue in queues.values():
            session.expunge(queue)

    def problem(line: int, reason: str) -> None:
        result.problems.append((line, reason))
        if on_problem is not None:
            on_problem(line, reason)

    loader = _Loader(backend, result, lambda report, reason: problem(report.line, reason),
                     None)

    def parsed_reports() -> Iterator[ParsedReport]:
        seen: dict[str, int] = {}
        for line, value in _lines(path):
            if isinstance(value, RecordProblem):
                problem(line, str(value))
                continue
            try:
                parsed = parse_record(value, line, queues=queues, taxonomy=taxonomy,
                                      folder=path.parent, vet=vet, now=clock.now(),
                                      weights=weights)
            except RecordProblem as error:
                problem(line, str(error))
                continue
            ref = parsed.external_ref
            if ref in seen:
                problem(line, f"external_ref {ref!r} appears again (first on line "
                              f"{seen[ref]})")
                continue
            seen[ref] = line
            yield parsed

    for batch in _batches(parsed_reports()):
        loader.flush(batch)
    return result
