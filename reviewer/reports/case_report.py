"""What a case investigation report shows, read from the replica, and the audit entry of
its export.

`case_report_data` gathers a case's facts, timeline, decisions, escalations and notes in one
session, and its media as blurred, greyscale thumbnails only: a thumbnail is always the
blurred rendition (`Renderer.blurred`, or a video's first frame through
`reviewer.media.video.frame_picture`), at least as blurred as the "standard" preset even for
areas the viewer does not blur, so the document never carries a sharp pixel of the media.
It runs in a worker (decoding and blurring take time); the window paints the PDF from it
(ui/reports/case_report.py) and `record_case_export` writes the export to the audit log.
"""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from reviewer.clock import Clock
from reviewer.enforcement.decisions import standing_decision
from reviewer.enforcement.escalation import ThreadEntry, case_thread
from reviewer.media.errors import MediaError
from reviewer.media.render import BLUR_PRESETS, Renderer, RenditionSettings
from reviewer.media.video import frame_picture
from reviewer.policy.taxonomy import Taxonomy
from reviewer.queue.case_queue import format_time_left, sla_state
from reviewer.security.audit import AuditKind, append_audit
from reviewer.store.database import Database
from reviewer.store.models import Case, Decision, Escalation, MediaItem, Note, Queue, Reviewer
from reviewer.vocabulary import Action, CaseStatus, Channel, EscalationTeam, Surface

THUMBNAIL_BOX = (360, 270)
MAX_FIELD_CHARS = 6000
_INVISIBLE = {"\u200e", "\u200f", "\u061c"} | {chr(c) for c in range(0x202A, 0x202F)} | {
    chr(c) for c in range(0x2066, 0x206A)}


def plain(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """Text from a report or a reviewer as it should print: no control or bidirectional
    formatting characters (they could hide or reorder what is shown), and not endless."""
    kept = "".join(ch for ch in text if ch in "\n\t" or (
        ch not in _INVISIBLE and unicodedata.category(ch) not in ("Cc", "Cf", "Cs")))
    return kept if len(kept) <= limit else kept[:limit] + " … (shortened)"


def report_settings(blur_preset: str) -> RenditionSettings:
    """Blurred and greyscale for every area: the strong preset where the area has it, the
    standard one everywhere else, including areas the viewer shows unblurred."""
    fraction = BLUR_PRESETS["strong"] if blur_preset == "strong" else BLUR_PRESETS["standard"]
    return RenditionSettings(blur_fraction=fraction, grayscale=True)


def format_moment(moment: datetime | None) -> str:
    """A moment as the report prints it, in UTC ("—" for none)."""
    return "—" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Thumbnail:
    position: int
    caption: str
    image: Image.Image | None  # always a blurred rendition
    problem: str = ""


@dataclass(frozen=True)
class DecisionLine:
    at: datetime
    reviewer: str
    policy: str
    action: str
    state: str
    rationale: str


@dataclass(frozen=True)
class EscalationLine:
    at: datetime
    reviewer: str
    team: str
    urgency: str
    resolved: str
    reason: str


@dataclass(frozen=True)
class NoteLine:
    at: datetime
    author: str
    body: str


@dataclass
class CaseReportData:
    case_id: uuid.UUID
    reference: str
    facts: list[tuple[str, str]]
    reported_text: str
    timeline: list[ThreadEntry]
    decisions: list[DecisionLine]
    escalations: list[EscalationLine]
    notes: list[NoteLine]
    thumbnails: list[Thumbnail] = field(default_factory=list)
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    generated_by: str = ""


def _label(enum: type[Channel] | type[Surface] | type[Action] | type[EscalationTeam]
           | type[CaseStatus], value: str) -> str:
    try:
        return str(enum(value).label)
    except ValueError:
        return value


def case_report_data(
    replica: Database, case_id: uuid.UUID, *, taxonomy: Taxonomy,
    renderer: Renderer, media_source: Callable[[str], bytes | None], clock: Clock,
    generated_by: str = "",
) -> CaseReportData:
    """Everything the report shows; raises LookupError for a case not in ``replica``."""
    now = clock.now()
    with replica.sessions() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise LookupError("the case is not on this workstation")
        queue_name = session.scalar(select(Queue.name).where(Queue.id == case.queue_id)) or "?"
        try:
            area = taxonomy.area(case.policy_area)
            area_name, preset = area.name, str(area.blur_preset)
        except KeyError:
            area_name, preset = case.policy_area, "strong"
        names = {row.id: row.display_name for row in session.execute(
            select(Reviewer.id, Reviewer.display_name))}
        standing = standing_decision(session, case.id)
        decisions = list(session.scalars(select(Decision).where(Decision.case_id == case.id)
                                         .order_by(Decision.created_at, Decision.id)))
        superseded = {d.supersedes_id for d in decisions if d.supersedes_id is not None}
        escalations = list(session.scalars(
            select(Escalation).where(Escalation.case_id == case.id)
            .order_by(Escalation.created_at)))
        notes = list(session.scalars(select(Note).where(Note.case_id == case.id)
                                     .order_by(Note.created_at)))
        items = list(session.scalars(select(MediaItem).where(MediaItem.case_id == case.id)
                                     .order_by(MediaItem.position)))
        timeline = case_thread(session, case.id)
        state = sla_state(case.reported_at, case.due_at, now)
        left = format_time_left((case.due_at - now).total_seconds())
        facts = [
            ("Reference", case.external_ref),
            ("Queue", queue_name),
            ("Policy area", area_name),
            ("Channel", _label(Channel, case.channel)),
            ("Surface", _label(Surface, case.surface)),
            ("Status", _label(CaseStatus, case.status)),
            ("Severity", f"{case.severity} of 5"),
            ("Reach", f"{case.reach:,} views"),
            ("Language / region", f"{case.language} / {case.region}"),
            ("Reported", format_moment(case.reported_at)),
            ("Due (SLA)", f"{format_moment(case.due_at)} ({state.label.lower()}, {left} left "
                          "when generated)" if case.status in ("new", "leased") else
             format_moment(case.due_at)),
            ("Media", f"{len(items)} item(s), shown blurred and in greyscale"),
            ("Standing decision", f"{standing.policy_code}: {_label(Action, standing.action)}"
             if standing else "none yet"),
        ]
        reported_text = "\n\n".join(plain(t) for t in (case.reported_text, case.reporter_note)
                                    if t)

        def decision_state(decision: Decision) -> str:
            parts = []
            if decision.id in superseded:
                parts.append("superseded")
            elif standing is not None and decision.id == standing.id:
                parts.append("standing")
            if decision.requires_second_review:
                parts.append("needs second review")
            if decision.conflict:
                parts.append("conflict")
            return ", ".join(parts) or "—"

        data = CaseReportData(
            case.id, case.external_ref, facts, reported_text, timeline,
            [DecisionLine(d.created_at, names.get(d.reviewer_id, "unknown"), d.policy_code,
                          _label(Action, d.action), decision_state(d), plain(d.rationale))
             for d in decisions],
            [EscalationLine(e.created_at, names.get(e.reviewer_id, "unknown"),
                            _label(EscalationTeam, e.to_team), e.urgency,
                            format_moment(e.resolved_at) if e.resolved_at else "open",
                            plain(e.reason))
             for e in escalations],
            [NoteLine(n.created_at, names.get(n.author_id, "unknown"), plain(n.body))
             for n in notes],
            generated_at=now, generated_by=generated_by)
    settings = report_settings(preset)
    for item in items:
        caption = f"{item.position + 1}. {plain(item.filename, 80) or item.mime_type}"
        try:
            data.thumbnails.append(Thumbnail(item.position, caption, blurred_thumbnail(
                item, renderer, media_source, settings)))
        except (MediaError, OSError, ValueError) as error:
            data.thumbnails.append(Thumbnail(item.position, caption, None, str(error)))
    return data


def blurred_thumbnail(item: MediaItem, renderer: Renderer,
                      media_source: Callable[[str], bytes | None],
                      settings: RenditionSettings) -> Image.Image:
    """The item's blurred rendition at thumbnail size (a video: its first frame)."""
    if not settings.blurs:
        raise ValueError("a case report shows blurred media only")
    content = media_source(item.content_hash)
    if content is None:
        raise MediaError("the media has not been downloaded to this workstation")
    if item.mime_type.startswith("video/"):
        _time, picture = frame_picture(content, 0.0, THUMBNAIL_BOX, settings, sharp=False)
        return picture
    return renderer.blurred(content, item.content_hash, THUMBNAIL_BOX, settings)


def record_case_export(replica: Database, *, client_id: str, actor_id: uuid.UUID,
                       case_id: uuid.UUID, path: Path, thumbnails: int, now: datetime) -> None:
    """The export goes into the audit log (and from there to the backend): the file's name
    and digest, and how many blurred thumbnails it holds."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with replica.writing() as session:
        append_audit(session, origin=client_id, actor_id=actor_id, kind=AuditKind.EXPORT,
                     subject=f"case:{case_id}", now=now,
                     details={"report": "case_investigation", "file": path.name,
                              "sha256": digest, "blurred_thumbnails": thumbnails})
