"""The case investigation report: one PDF with a case's facts, its timeline, decisions,
escalations and notes, and its media as blurred, greyscale thumbnails only.

The facts and the thumbnails are gathered in the background (`gather_case_report`, no Qt);
a thumbnail is always the blurred rendition (`Renderer.blurred`, or a video's first frame
through `reviewer.media.video.frame_picture`), at least as blurred as the "standard" preset
even for areas the viewer does not blur, so the document never carries a sharp pixel of
the media. The PDF is painted on the GUI thread and the export is written to the audit log.
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
from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
)
from PySide6.QtWidgets import QFileDialog, QWidget
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reviewer.clock import Clock
from reviewer.enforcement.decisions import standing_decision
from reviewer.enforcement.escalation import ThreadEntry, case_thread
from reviewer.media.errors import MediaError
from reviewer.media.render import BLUR_PRESETS, Renderer, RenditionSettings
from reviewer.media.video import frame_picture
from reviewer.policy.taxonomy import Taxonomy
from reviewer.queue.case_queue import format_time_left, sla_state
from reviewer.security.audit import AuditKind, append_audit
from reviewer.store.database import writing
from reviewer.store.models import Case, Decision, Escalation, MediaItem, Note, Queue, Reviewer
from reviewer.vocabulary import Action, CaseStatus, Channel, EscalationTeam, Surface
from ui.viewer.media_viewer import pil_to_qimage
from ui.widgets.tasks import TaskRunner

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


# -- what the report shows (gathered off the GUI thread) ---------------------------------------


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


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def gather_case_report(
    sessions: sessionmaker[Session], case_id: uuid.UUID, *, taxonomy: Taxonomy,
    renderer: Renderer, media_source: Callable[[str], bytes | None], clock: Clock,
    generated_by: str = "",
) -> CaseReportData:
    """Everything the report shows; runs in a worker (decoding and blurring take time)."""
    now = clock.now()
    with sessions() as session:
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
            ("Reported", _when(case.reported_at)),
            ("Due (SLA)", f"{_when(case.due_at)} ({state.label.lower()}, {left} left when "
                          "generated)" if case.status in ("new", "leased") else
             _when(case.due_at)),
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
                            _when(e.resolved_at) if e.resolved_at else "open", plain(e.reason))
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


# -- the PDF (GUI thread) ----------------------------------------------------------------------


class _Flow:
    """Paints paragraphs, key/value lists and wrapped tables down A4 portrait pages."""

    def __init__(self, path: Path, title: str, footer: str):
        self.writer = QPdfWriter(str(path))
        self.writer.setTitle(title)
        self.writer.setCreator("Reviewer Workstation")
        self.writer.setResolution(96)
        self.writer.setPageLayout(QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
            QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter))
        self.painter = QPainter(self.writer)
        self.footer = footer
        self.page = 1
        self.y = 0.0

    @property
    def width(self) -> float:
        return float(self.writer.width())

    @property
    def bottom(self) -> float:
        return float(self.writer.height()) - 22.0

    def font(self, points: float, *, bold: bool = False) -> QFont:
        font = QFont()
        font.setPointSizeF(points)
        font.setBold(bold)
        return font

    def _height(self, text: str, font: QFont, width: float) -> float:
        metrics = QFontMetricsF(font, self.writer)
        bounds = metrics.boundingRect(QRectF(0, 0, width, 1e6),
                                      int(Qt.TextFlag.TextWordWrap), text)
        return max(bounds.height(), metrics.height())

    def ensure(self, height: float) -> None:
        if self.y + height > self.bottom and self.y > 0:
            self.new_page()

    def new_page(self) -> None:
        self._footer()
        self.writer.newPage()
        self.page += 1
        self.y = 0.0

    def finish(self) -> int:
        self._footer()
        self.painter.end()
        return self.page

    def _footer(self) -> None:
        self.painter.setFont(self.font(7.5))
        self.painter.setPen(QPen(Qt.GlobalColor.darkGray))
        rect = QRectF(0, float(self.writer.height()) - 14, self.width, 14)
        self.painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft), self.footer)
        self.painter.drawText(rect, int(Qt.AlignmentFlag.AlignRight), f"page {self.page}")
        self.painter.setPen(QPen(Qt.GlobalColor.black))

    def paragraph(self, text: str, points: float = 9.5, *, bold: bool = False,
                  gap: float = 6.0, color: QColor | None = None) -> None:
        font = self.font(points, bold=bold)
        height = self._height(text, font, self.width)
        if height > self.bottom:  # longer than a page: split by lines
            for line in text.splitlines() or [""]:
                self.paragraph(line, points, bold=bold, gap=0, color=color)
            self.y += gap
            return
        self.ensure(height)
        self.painter.setFont(font)
        self.painter.setPen(QPen(color or Qt.GlobalColor.black))
        self.painter.drawText(QRectF(0, self.y, self.width, height),
                              int(Qt.TextFlag.TextWordWrap), text)
        self.painter.setPen(QPen(Qt.GlobalColor.black))
        self.y += height + gap

    def heading(self, text: str) -> None:
        self.ensure(60)
        self.y += 6
        self.paragraph(text, 12.5, bold=True, gap=4)

    def table(self, headers: list[str], rows: list[list[str]], shares: list[float]) -> None:
        if not rows:
            self.paragraph("None.", color=QColor("#555555"))
            return
        widths = [self.width * share / sum(shares) for share in shares]
        self._table_row(headers, widths, header=True)
        for row in rows:
            needed = self._row_height(row, widths, self.font(8.5))
            if self.y + needed > self.bottom:
                self.new_page()
                self._table_row(headers, widths, header=True)
            self._table_row(row, widths)
        self.y += 8

    def _row_height(self, cells: list[str], widths: list[float], font: QFont) -> float:
        return max(self._height(c, font, w - 8) for c, w in zip(cells, widths, strict=True)) + 6

    def _table_row(self, cells: list[str], widths: list[float], *, header: bool = False) -> None:
        font = self.font(8.5, bold=header)
        height = min(self._row_height(cells, widths, font), self.bottom)
        if header:
            self.painter.fillRect(QRectF(0, self.y, self.width, height), QColor("#e4e4e4"))
        self.painter.setFont(font)
        x = 0.0
        for cell, width in zip(cells, widths, strict=True):
            self.painter.drawText(QRectF(x + 4, self.y + 3, width - 8, height - 6),
                                  int(Qt.TextFlag.TextWordWrap), cell)
            x += width
        self.painter.setPen(QPen(QColor("#c8c8c8")))
        self.painter.drawLine(0, int(self.y + height), int(self.width), int(self.y + height))
        self.painter.setPen(QPen(Qt.GlobalColor.black))
        self.y += height

    def thumbnails(self, thumbnails: list[Thumbnail]) -> None:
        if not thumbnails:
            self.paragraph("This case has no media.", color=QColor("#555555"))
            return
        columns = 3
        cell_width = (self.width - 12) / columns
        box_height = cell_width * THUMBNAIL_BOX[1] / THUMBNAIL_BOX[0]
        for start in range(0, len(thumbnails), columns):
            self.ensure(box_height + 30)
            for column, thumbnail in enumerate(thumbnails[start:start + columns]):
                x = column * (cell_width + 12)
                box = QRectF(x, self.y, cell_width, box_height)
                self.painter.fillRect(box, QColor("#f0f0f0"))
                if thumbnail.image is not None:
                    image = pil_to_qimage(thumbnail.image)
                    scale = min(box.width() / image.width(), box.height() / image.height())
                    w, h = image.width() * scale, image.height() * scale
                    target = QRectF(box.center().x() - w / 2, box.center().y() - h / 2, w, h)
                    self.painter.drawImage(target, image)
                else:
                    self.painter.setFont(self.font(9))
                    self.painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter
                                                   | Qt.TextFlag.TextWordWrap),
                                          f"Not shown: {thumbnail.problem}")
                self.painter.setFont(self.font(8))
                self.painter.drawText(QRectF(x, self.y + box_height + 2, cell_width, 16),
                                      int(Qt.AlignmentFlag.AlignLeft), thumbnail.caption)
            self.y += box_height + 26


def write_case_report_pdf(path: Path, data: CaseReportData) -> int:
    """Paint the report; returns the number of pages."""
    generated = data.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    by = f" by {data.generated_by}" if data.generated_by else ""
    flow = _Flow(path, f"Case {data.reference}: investigation report",
                 f"Case {data.reference} — investigation report — generated {generated}{by}"
                 " — confidential")
    flow.paragraph(f"Case {data.reference}: investigation report", 17, bold=True, gap=2)
    flow.paragraph(f"Generated {generated}{by}. Media appears blurred and in greyscale only.",
                   9, gap=10, color=QColor("#444444"))
    flow.heading("Facts")
    flow.table(["Field", "Value"], [[k, v] for k, v in data.facts], [1, 3])
    flow.heading("Report")
    flow.paragraph(data.reported_text or "No text came with the report.")
    flow.heading("Media (blurred)")
    flow.thumbnails(data.thumbnails)
    flow.heading("Timeline")
    flow.table(["When", "What", "Who", "Details"],
               [[_when(e.at), plain(e.summary, 400), e.actor or "—", plain(e.text, 1500)]
                for e in data.timeline], [1.3, 2.2, 1.2, 3.3])
    flow.heading("Decisions")
    flow.table(["When", "Reviewer", "Policy and action", "State", "Rationale"],
               [[_when(d.at), d.reviewer, f"{d.policy}: {d.action}", d.state, d.rationale]
                for d in data.decisions], [1.3, 1.2, 1.6, 1.2, 2.7])
    flow.heading("Escalations")
    flow.table(["When", "By", "To", "Urgency", "Resolved", "Reason"],
               [[_when(e.at), e.reviewer, e.team, e.urgency, e.resolved, e.reason]
                for e in data.escalations], [1.3, 1.1, 1.2, 0.8, 1.3, 2.3])
    flow.heading("Handoff notes")
    flow.table(["When", "Author", "Note"],
               [[_when(n.at), n.author, n.body] for n in data.notes], [1.3, 1.2, 5])
    return flow.finish()


def record_export(sessions: sessionmaker[Session], *, client_id: str, actor_id: uuid.UUID,
                  case_id: uuid.UUID, path: Path, thumbnails: int, now: datetime) -> None:
    """The export goes into the audit log (and from there to the backend)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with writing(sessions) as session:
        append_audit(session, origin=client_id, actor_id=actor_id, kind=AuditKind.EXPORT,
                     subject=f"case:{case_id}", now=now,
                     details={"report": "case_investigation", "file": path.name,
                              "sha256": digest, "blurred_thumbnails": thumbnails})


def export_case_report(parent: QWidget, workstation, tasks: TaskRunner,  # type: ignore[no-untyped-def]
                       renderer: Renderer, case_id: uuid.UUID, path: Path | None = None,
                       on_done: Callable[[str], None] | None = None) -> None:
    """Ask where to save (unless `path` is given), gather in the background, write the PDF.

    `on_done` gets a one-line message for the status bar (success or what went wrong).
    """
    case = workstation.case(case_id)
    if case is None:
        if on_done:
            on_done("The case is not on this workstation.")
        return
    if path is None:
        chosen, _ = QFileDialog.getSaveFileName(
            parent, "Case investigation report", f"case-{case.external_ref}.pdf",
            "PDF files (*.pdf)")
        if not chosen:
            return
        path = Path(chosen)
    reviewer = workstation.reviewer()
    name = reviewer.display_name if reviewer else ""
    done = on_done or (lambda _message: None)

    def work() -> CaseReportData:
        return gather_case_report(workstation.replica.sessions, case_id,
                                  taxonomy=workstation.taxonomy, renderer=renderer,
                                  media_source=workstation.media_bytes,
                                  clock=workstation.clock, generated_by=name)

    def write(data: CaseReportData) -> None:
        try:
            with open(path, "wb"):  # QPdfWriter would fail without saying why
                pass
            pages = write_case_report_pdf(path, data)
            if not path.exists() or path.stat().st_size == 0:
                raise OSError(f"nothing was written to {path}")
            record_export(workstation.replica.sessions, client_id=workstation.client_id,
                          actor_id=workstation.reviewer_id, case_id=case_id, path=path,
                          thumbnails=sum(1 for t in data.thumbnails if t.image is not None),
                          now=workstation.clock.now())
        except OSError as error:
            done(f"The case report could not be saved: {error}")
            return
        done(f"Saved the case report for {data.reference} ({pages} pages) to {path.name}.")

    tasks.run(work, write, lambda error: done(f"The case report could not be made: {error}"),
              description="case report", owner=parent)
