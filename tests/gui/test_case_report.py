"""The case investigation report: the facts, timeline, decisions, escalations and notes are
in the PDF, and every picture the PDF holds is the blurred rendition, never a sharp one.

The images are taken out of the PDF file itself (its image XObjects), so the test sees what
anyone opening the document could extract, not what a viewer happens to draw.
"""

from __future__ import annotations

import io
import re
import uuid
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageFilter, ImageStat
from PySide6.QtGui import QKeySequence
from PySide6.QtPdf import QPdfDocument
from sqlalchemy import func, select, update

from reviewer.demo.seed import demo_reviewer_id
from reviewer.media.render import Renderer, RenditionCache
from reviewer.media.video import frame_picture
from reviewer.reports.case_report import (
    THUMBNAIL_BOX,
    case_report_data,
    plain,
    report_settings,
)
from reviewer.security.audit import AuditKind
from reviewer.store.models import AuditLogEntry, Case, Decision, Escalation, MediaItem, Note
from tests.helpers.gui import wait_until_idle
from ui.reports.case_report import write_case_report_pdf

HOSTILE = "Fine print \u202eexe.gnp\u202c and a bell\x07 =HYPERLINK(\"x\")"


def pdf_images(path: Path) -> list[Image.Image]:
    """Every image XObject in the file, decoded (JPEG or Flate, 8 bits, grey or RGB)."""
    data = path.read_bytes()
    images = []
    for match in re.finditer(rb"<<\s*/Type /XObject\s*/Subtype /Image(.*?)>>\s*stream\r?\n",
                             data, re.S):
        header = match.group(1)
        length = int(re.search(rb"/Length (\d+)", header).group(1))
        if re.search(rb"/Length \d+ 0 R", header):
            reference = re.search(rb"/Length (\d+) 0 R", header).group(1)
            length = int(re.search(rb"\n" + reference + rb" 0 obj\s*(\d+)", data).group(1))
        stream = data[match.end():match.end() + length]
        width = int(re.search(rb"/Width (\d+)", header).group(1))
        height = int(re.search(rb"/Height (\d+)", header).group(1))
        if b"/DCTDecode" in header:
            images.append(Image.open(io.BytesIO(stream)).convert("L"))
        else:
            raw = zlib.decompress(stream) if b"/FlateDecode" in header else stream
            mode = "L" if b"/DeviceGray" in header else "RGB"
            images.append(Image.frombytes(mode, (width, height), raw).convert("L"))
    return images


def detail(image: Image.Image) -> float:
    """The fine detail left in a picture: its mean difference from a copy blurred by two
    pixels. Edges and texture make it large; a blurred picture has almost none left."""
    grey = image.convert("L")
    return ImageStat.Stat(ImageChops.difference(
        grey, grey.filter(ImageFilter.GaussianBlur(2)))).mean[0]


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return ImageStat.Stat(ImageChops.difference(a.convert("L"), b.convert("L"))).mean[0]


def _case_with_most_media(workstation) -> uuid.UUID:  # type: ignore[no-untyped-def]
    with workstation.replica.sessions() as session:
        return session.scalar(
            select(MediaItem.case_id).group_by(MediaItem.case_id)
            .order_by(func.count().desc(), MediaItem.case_id).limit(1))


def _sharp_and_blurred(workstation, item: MediaItem, preset: str):  # type: ignore[no-untyped-def]
    """The item's sharp picture and the blurred rendition, as the report should hold it."""
    data = workstation.media_bytes(item.content_hash)
    renderer = Renderer(None, RenditionCache())
    settings = report_settings(preset)
    if item.mime_type.startswith("video/"):
        _t, sharp = frame_picture(data, 0.0, THUMBNAIL_BOX, settings, sharp=True)
        _t, blurred = frame_picture(data, 0.0, THUMBNAIL_BOX, settings, sharp=False)
        return sharp, blurred
    return (renderer.sharp(data, item.content_hash, THUMBNAIL_BOX, settings),
            renderer.blurred(data, item.content_hash, THUMBNAIL_BOX, settings))


def _assert_only_blurred(workstation, case_id: uuid.UUID, path: Path, preset: str) -> None:  # type: ignore[no-untyped-def]
    items = workstation.media_items(case_id)
    embedded = pdf_images(path)
    assert len(embedded) == len(items) >= 1
    for item, image in zip(items, embedded, strict=True):
        sharp, blurred = _sharp_and_blurred(workstation, item, preset)
        assert image.size == blurred.size
        # It is the blurred rendition (JPEG in the PDF costs a grey level or two) ...
        assert mean_difference(image, blurred) < 3.0, item.filename
        # ... and far from the sharp picture: blurring took away most of the fine detail.
        at_sharp_size = image.resize(sharp.size, Image.Resampling.BICUBIC)
        assert detail(at_sharp_size) < 0.25 * detail(sharp), item.filename


def test_case_report_from_the_main_window_holds_only_blurred_pictures(qtbot, window,
                                                                      tmp_path):
    workstation = window.workstation
    case_id = _case_with_most_media(workstation)
    with workstation.replica.sessions() as session:
        case = session.get(Case, case_id)
        reference, area = case.external_ref, case.policy_area
        now = workstation.clock.now()
        session.add_all([
            Note(case_id=case_id, author_id=demo_reviewer_id(), created_at=now,
                 body="Checked the uploader's other posts: same pattern."),
            Escalation(case_id=case_id, reviewer_id=demo_reviewer_id("amara"),
                       to_team="legal", reason="Possible court order in Germany.",
                       urgency="high", created_at=now + timedelta(minutes=1)),
            Decision(case_id=case_id, reviewer_id=demo_reviewer_id("jonas"),
                     policy_code="VG-1", action="remove", rationale=HOSTILE,
                     policy_version="1", created_at=now + timedelta(minutes=2)),
        ])
        session.commit()
    window.select_row(window.queue_model.row_of(case_id))
    assert window.current_case_id() == case_id
    action = next(a for a in window.actions() if a.shortcut() == QKeySequence("Ctrl+P"))
    assert "report" in action.text().lower()

    path = tmp_path / "case.pdf"
    window.export_case_report(path)
    wait_until_idle(qtbot, window.tasks, timeout=30_000)  # gathered and written in the background
    assert "Saved the case report" in window.statusBar().currentMessage()
    assert path.read_bytes().startswith(b"%PDF-")

    preset = str(workstation.taxonomy.area(area).blur_preset)
    _assert_only_blurred(workstation, case_id, path, preset)

    document = QPdfDocument()
    assert document.load(str(path)) == QPdfDocument.Error.None_
    text = " ".join(" ".join(document.getAllText(page).text() for page
                             in range(document.pageCount())).split())
    for expected in (f"Case {reference}: investigation report", "Facts", "Timeline",
                     "Decisions", "Escalations", "Handoff notes", "Media (blurred)",
                     "Checked the uploader's other posts", "Possible court order in Germany",
                     "Escalated to Legal (high)", "Jonas Weber", "VG-1: Remove"):
        assert expected in text, expected
    assert "\u202e" not in text and "\x07" not in text  # shown as plain text, not reordered

    with workstation.replica.sessions() as session:
        audit = session.scalars(select(AuditLogEntry).where(
            AuditLogEntry.kind == AuditKind.EXPORT,
            AuditLogEntry.subject == f"case:{case_id}")).one()
    assert audit.details["blurred_thumbnails"] == len(workstation.media_items(case_id))


def test_areas_shown_unblurred_in_the_viewer_are_still_blurred_in_the_report(
        qtbot, workstation, renderer, tmp_path):
    case_id = _case_with_most_media(workstation)
    with workstation.replica.sessions() as session:
        session.execute(update(Case).where(Case.id == case_id).values(policy_area="spam_fraud"))
        session.commit()
    assert str(workstation.taxonomy.area("spam_fraud").blur_preset) == "none"
    assert report_settings("none").blurs and report_settings("none").grayscale
    data = case_report_data(workstation.replica, case_id,
                            taxonomy=workstation.taxonomy, renderer=renderer,
                            media_source=workstation.media_bytes, clock=workstation.clock)
    path = tmp_path / "spam.pdf"
    assert write_case_report_pdf(path, data) >= 1
    _assert_only_blurred(workstation, case_id, path, "none")


def test_missing_media_is_named_not_drawn(qtbot, workstation, renderer, tmp_path):
    case_id = _case_with_most_media(workstation)
    data = case_report_data(workstation.replica, case_id,
                            taxonomy=workstation.taxonomy, renderer=renderer,
                            media_source=lambda _hash: None, clock=workstation.clock)
    assert data.thumbnails and all(t.image is None for t in data.thumbnails)
    assert "not been downloaded" in data.thumbnails[0].problem
    path = tmp_path / "missing.pdf"
    write_case_report_pdf(path, data)
    assert pdf_images(path) == []
    document = QPdfDocument()
    document.load(str(path))
    text = " ".join(document.getAllText(0).text().split())  # lines wrap in the box
    assert "Not shown: the media has not been downloaded" in text


def test_unknown_case_is_refused(workstation, renderer):
    with pytest.raises(LookupError, match="not on this workstation"):
        case_report_data(workstation.replica, uuid.uuid4(),
                         taxonomy=workstation.taxonomy, renderer=renderer,
                         media_source=workstation.media_bytes, clock=workstation.clock)


def test_plain_text_drops_formatting_controls_and_long_text():
    assert plain(HOSTILE) == "Fine print exe.gnp and a bell =HYPERLINK(\"x\")"
    assert plain("line one\nline two\ttab") == "line one\nline two\ttab"
    assert plain("x" * 50, limit=10) == "x" * 10 + " … (shortened)"
