"""The case investigation report as a PDF: a case's facts, its timeline, decisions,
escalations and notes, and its media as blurred, greyscale thumbnails only.

What it shows is gathered in the background (`reviewer.reports.case_report.case_report_data`,
no Qt, which also makes sure every thumbnail is a blurred rendition); the PDF is painted on
the GUI thread, and the export is written to the audit log
(`reviewer.reports.case_report.record_case_export`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

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

from reviewer.media.render import Renderer
from reviewer.reports.case_report import (
    THUMBNAIL_BOX,
    CaseReportData,
    Thumbnail,
    case_report_data,
    format_moment,
    plain,
    record_case_export,
)
from ui.widgets.images import pil_to_qimage
from ui.widgets.tasks import TaskRunner


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
               [[format_moment(e.at), plain(e.summary, 400), e.actor or "—", plain(e.text, 1500)]
                for e in data.timeline], [1.3, 2.2, 1.2, 3.3])
    flow.heading("Decisions")
    flow.table(["When", "Reviewer", "Policy and action", "State", "Rationale"],
               [[format_moment(d.at), d.reviewer, f"{d.policy}: {d.action}", d.state, d.rationale]
                for d in data.decisions], [1.3, 1.2, 1.6, 1.2, 2.7])
    flow.heading("Escalations")
    flow.table(["When", "By", "To", "Urgency", "Resolved", "Reason"],
               [[format_moment(e.at), e.reviewer, e.team, e.urgency, e.resolved, e.reason]
                for e in data.escalations], [1.3, 1.1, 1.2, 0.8, 1.3, 2.3])
    flow.heading("Handoff notes")
    flow.table(["When", "Author", "Note"],
               [[format_moment(n.at), n.author, n.body] for n in data.notes], [1.3, 1.2, 5])
    return flow.finish()


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
        return case_report_data(workstation.replica, case_id,
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
            record_case_export(workstation.replica, client_id=workstation.client_id,
                               actor_id=workstation.reviewer_id, case_id=case_id, path=path,
                               thumbnails=sum(1 for t in data.thumbnails if t.image is not None),
                               now=workstation.clock.now())
        except OSError as error:
            done(f"The case report could not be saved: {error}")
            return
        done(f"Saved the case report for {data.reference} ({pages} pages) to {path.name}.")

    tasks.run(work, write, lambda error: done(f"The case report could not be made: {error}"),
              description="case report", owner=parent)
