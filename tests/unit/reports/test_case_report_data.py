"""What the case investigation report shows, read from a real replica: the facts, the
decisions with their state, escalations and notes by name, the media as blurred greyscale
thumbnails only; and the audit entry its export leaves."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from reviewer.demo.seed import demo_reviewer_id
from reviewer.media.render import Renderer, RenditionCache
from reviewer.media.video import frame_picture
from reviewer.reports.case_report import (
    THUMBNAIL_BOX,
    case_report_data,
    record_case_export,
    report_settings,
)
from reviewer.security.audit import AuditKind
from reviewer.store.models import AuditLogEntry, Decision, Escalation, MediaItem, OutboxEntry
from tests.helpers.fixtures import START

NOW = START  # where module_workstation's clock starts
HOSTILE = "Fine print \u202eexe.gnp\u202c and a bell\x07"


pytestmark = pytest.mark.demo(cases=16, with_media=True)  # the module_workstation's


@pytest.fixture(scope="module")
def case_id(module_workstation) -> uuid.UUID:
    """The case with the most media, with a note, an escalation, a decision and its
    correction."""
    with module_workstation.replica.sessions() as session:
        case_id = session.scalar(
            select(MediaItem.case_id).group_by(MediaItem.case_id)
            .order_by(func.count().desc(), MediaItem.case_id).limit(1))
    module_workstation.add_note(case_id, "Checked the uploader's other posts: same pattern.")
    first = Decision(case_id=case_id, reviewer_id=demo_reviewer_id("jonas"),
                     policy_code="VG-1", action="remove", rationale=HOSTILE,
                     policy_version="1", created_at=NOW + timedelta(minutes=2))
    with module_workstation.replica.writing() as session:
        session.add_all([
            Escalation(case_id=case_id, reviewer_id=demo_reviewer_id("amara"),
                       to_team="legal", reason="Possible court order in Germany.",
                       urgency="high", created_at=NOW + timedelta(minutes=1)),
            first,
        ])
    with module_workstation.replica.writing() as session:
        session.add(Decision(case_id=case_id, reviewer_id=demo_reviewer_id("amara"),
                             policy_code="VG-2", action="age_restrict", rationale="Milder.",
                             policy_version="1", supersedes_id=first.id,
                             requires_second_review=True,
                             created_at=NOW + timedelta(minutes=3)))
    return case_id


def _data(workstation, case_id, media_source=None):  # type: ignore[no-untyped-def]
    return case_report_data(workstation.replica, case_id, taxonomy=workstation.taxonomy,
                            renderer=Renderer(None, RenditionCache()),
                            media_source=media_source or workstation.media_bytes,
                            clock=workstation.clock, generated_by="Demo Reviewer")


def test_the_facts_decisions_escalations_and_notes(module_workstation, case_id):
    data = _data(module_workstation, case_id)
    case = module_workstation.case(case_id)
    facts = dict(data.facts)
    assert data.case_id == case_id and data.reference == case.external_ref
    assert facts["Reference"] == case.external_ref
    assert facts["Policy area"] == module_workstation.taxonomy.area(case.policy_area).name
    assert facts["Severity"] == f"{case.severity} of 5"
    assert facts["Media"] == (f"{len(module_workstation.media_items(case_id))} item(s), shown "
                              "blurred and in greyscale")
    assert facts["Standing decision"] == "VG-2: Age-restrict"
    assert facts["Queue"] in {name for _id, name in module_workstation.queues()}

    assert [(d.reviewer, d.policy, d.action, d.state) for d in data.decisions] == [
        ("Jonas Weber", "VG-1", "Remove", "superseded"),
        ("Amara Okafor", "VG-2", "Age-restrict", "standing, needs second review"),
    ]
    assert data.decisions[0].rationale == "Fine print exe.gnp and a bell"  # printed plain
    [escalation] = data.escalations
    assert (escalation.reviewer, escalation.team, escalation.urgency, escalation.resolved,
            escalation.reason) == ("Amara Okafor", "Legal", "high", "open",
                                   "Possible court order in Germany.")
    [note] = data.notes
    assert (note.author, note.body) == (
        module_workstation.reviewer().display_name,
        "Checked the uploader's other posts: same pattern.")
    assert any("Escalated to Legal" in entry.summary for entry in data.timeline)
    assert (data.generated_at, data.generated_by) == (NOW, "Demo Reviewer")


def test_every_thumbnail_is_the_blurred_greyscale_rendition(module_workstation, case_id):
    data = _data(module_workstation, case_id)
    case = module_workstation.case(case_id)
    settings = report_settings(str(module_workstation.taxonomy.area(case.policy_area).blur_preset))
    assert settings.blurs and settings.grayscale
    items = module_workstation.media_items(case_id)
    assert [t.position for t in data.thumbnails] == [i.position for i in items]
    assert len(items) >= 2
    renderer = Renderer(None, RenditionCache())
    for item, thumbnail in zip(items, data.thumbnails, strict=True):
        content = module_workstation.media_bytes(item.content_hash)
        if item.mime_type.startswith("video/"):
            _time, expected = frame_picture(content, 0.0, THUMBNAIL_BOX, settings, sharp=False)
        else:
            expected = renderer.blurred(content, item.content_hash, THUMBNAIL_BOX, settings)
        assert thumbnail.image is not None and thumbnail.problem == ""
        assert thumbnail.image.tobytes() == expected.tobytes(), item.filename
        assert thumbnail.image.width <= THUMBNAIL_BOX[0]
        assert thumbnail.image.height <= THUMBNAIL_BOX[1]
        assert thumbnail.caption.startswith(f"{item.position + 1}. ")


def test_media_not_on_the_workstation_is_named_not_shown(module_workstation, case_id):
    data = _data(module_workstation, case_id, media_source=lambda _hash: None)
    assert data.thumbnails and all(t.image is None for t in data.thumbnails)
    assert all("not been downloaded" in t.problem for t in data.thumbnails)


def test_a_case_not_on_the_workstation_is_refused(module_workstation):
    with pytest.raises(LookupError, match="not on this workstation"):
        _data(module_workstation, uuid.uuid4())


def test_the_export_is_in_the_audit_log_on_its_way_to_the_backend(module_workstation, case_id,
                                                                  tmp_path):
    path = tmp_path / "case.pdf"
    path.write_bytes(b"%PDF-1.4 a report")
    with module_workstation.replica.sessions() as session:
        pushed_before = session.scalar(select(func.count()).select_from(OutboxEntry)
                                       .where(OutboxEntry.kind == "audit"))
    record_case_export(module_workstation.replica, client_id=module_workstation.client_id,
                       actor_id=module_workstation.reviewer_id, case_id=case_id, path=path,
                       thumbnails=3, now=NOW)
    with module_workstation.replica.sessions() as session:
        [entry] = session.scalars(select(AuditLogEntry).where(
            AuditLogEntry.kind == AuditKind.EXPORT,
            AuditLogEntry.subject == f"case:{case_id}")).all()
        pushed = session.scalar(select(func.count()).select_from(OutboxEntry)
                                .where(OutboxEntry.kind == "audit"))
    assert (entry.actor_id, entry.origin, entry.at) == (
        module_workstation.reviewer_id, module_workstation.client_id, NOW)
    assert entry.details == {"report": "case_investigation", "file": "case.pdf",
                             "sha256": hashlib.sha256(b"%PDF-1.4 a report").hexdigest(),
                             "blurred_thumbnails": 3}
    assert pushed == pushed_before + 1
