"""The demo dataset: a plausible week of a Trust & Safety team, made up by the code.

Media is synthetic (shapes, noise, text, cartoon faces, abstract blotches) and generated
here with Pillow; the few demo videos are moving shapes with a beep, made with PyAV. No real
imagery is shipped or downloaded.
"""

from __future__ import annotations

import functools
import hashlib
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from reviewer.clock import Clock
from reviewer.demo.audit_week import AuditWeekSummary, seed_audit_week
from reviewer.demo.images import make_demo_image
from reviewer.demo.video import make_demo_video
from reviewer.org.apply import apply_org
from reviewer.org.file import Org, read_org
from reviewer.org.file import QueueSpec as OrgQueue
from reviewer.policy.taxonomy import Policy, PolicyArea, Taxonomy, load_taxonomy
from reviewer.queue.case_queue import PriorityWeights, derive_queue_fields
from reviewer.resources import RESOURCES
from reviewer.store.changes import next_change_version
from reviewer.store.database import Database
from reviewer.store.models import (
    PERSON_NAMESPACE,
    Case,
    Decision,
    Escalation,
    MediaBlob,
    MediaItem,
    Note,
    Queue,
    Reviewer,
    reviewer_id_for,
)
from reviewer.vocabulary import Action, CaseStatus, Channel, EscalationTeam, Surface, Urgency

DEMO_NAMESPACE = PERSON_NAMESPACE
DEMO_USERNAME = "demo"


def demo_reviewer_id(username: str = DEMO_USERNAME) -> uuid.UUID:
    return reviewer_id_for(username)


DEMO_ORG = RESOURCES / "demo_org.toml"
"""The demo's organisation, in the format of reviewer-admin apply-org (one code path)."""


@functools.lru_cache(maxsize=1)
def demo_org() -> Org:
    return read_org(DEMO_ORG, load_taxonomy())


@dataclass(frozen=True)
class QueueSpec:
    """A demo queue: its organisation entry and what its made-up cases look like."""

    name: str
    team: str
    area: str
    sla_hours: float
    surfaces: tuple[Surface, ...]
    media_kinds: tuple[str, ...]


# What each demo queue's cases are about (surfaces, and the kinds of synthetic media).
_CONTENT: dict[str, tuple[tuple[Surface, ...], tuple[str, ...]]] = {
    "graphic-violence": ((Surface.ORGANIC_POST, Surface.MESSAGE),
                         ("gore_stand_in", "shapes", "faces")),
    "suicide-self-injury": ((Surface.ORGANIC_POST, Surface.MESSAGE), ("gore_stand_in", "text")),
    "child-safety": ((Surface.ORGANIC_POST, Surface.MESSAGE, Surface.ACCOUNT),
                     ("shapes", "noise")),
    "hate-speech": ((Surface.ORGANIC_POST, Surface.MESSAGE, Surface.ACCOUNT), ("text", "faces")),
    "bullying-harassment": ((Surface.ORGANIC_POST, Surface.MESSAGE), ("text", "faces")),
    "spam-fraud": ((Surface.ORGANIC_POST, Surface.MESSAGE, Surface.ACCOUNT), ("text", "shapes")),
    "ads-review": ((Surface.AD,), ("shapes", "text")),
    "commerce-listings": ((Surface.COMMERCE_LISTING,), ("shapes", "noise")),
    "ip-complaints": ((Surface.ORGANIC_POST, Surface.AD, Surface.COMMERCE_LISTING),
                      ("shapes", "text")),
    "regulator-legal-requests": ((Surface.ORGANIC_POST, Surface.ACCOUNT, Surface.AD), ("text",)),
}

TEAMS = {team.code: team.name for team in demo_org().teams}
REVIEWERS = [
    # username, display name, role, teams (review teams), languages
    (p.username, p.name, p.role, [t for t in p.teams if t in TEAMS], list(p.languages))
    for p in demo_org().people
]
QUEUES = [QueueSpec(q.name, q.team, q.policy_area, q.sla_hours, *_CONTENT[q.code])
          for q in demo_org().queues]
_QUEUE_SPECS = {spec.name: spec for spec in QUEUES}

CHANNEL_WEIGHTS = [
    (Channel.USER_REPORT, 55),
    (Channel.PROACTIVE_DETECTION, 25),
    (Channel.PARTNER, 6),
    (Channel.PRESS, 3),
    (Channel.REGULATOR, 4),
    (Channel.LEGAL_REQUEST, 4),
    (Channel.VIP, 3),
]

_CHANNELS, _CHANNEL_WEIGHTS = zip(*CHANNEL_WEIGHTS, strict=True)

LANGUAGES = [("en", "US"), ("en", "GB"), ("de", "DE"), ("fr", "FR"), ("es", "ES"),
             ("pt", "BR"), ("ar", "EG"), ("ja", "JP"), ("sv", "SE"), ("hi", "IN")]

TEXTS = {
    "violence_graphic": [
        "Video still shared with caption 'you won't believe what happened downtown'.",
        "Post showing the aftermath of a road accident, no warning screen.",
        "Image shared in a group with the caption 'this is what they deserve'.",
    ],
    "suicide_self_injury": [
        "Post describing a plan to hurt themselves tonight; friends worried in comments.",
        "Image of healed scars with a recovery message and helpline number.",
    ],
    "child_safety": [
        "Account messaging many minors asking to move the chat to another app.",
        "Comment under a school sports photo asking for private pictures.",
    ],
    "hate_speech": [
        "Comment calling an ethnic group 'vermin' who should be 'cleaned out'.",
        "Meme mocking a religion's dress, reported by 40 users.",
        "Post quoting a slur in order to condemn it (counter-speech?).",
    ],
    "bullying_harassment": [
        "Repeated comments on a teenager's photo calling them ugly and worthless.",
        "Post sharing a private person's home address with 'pay them a visit'.",
    ],
    "spam_fraud": [
        "'Invest $100, get $5,000 in 24h, DM me' posted in 300 groups.",
        "Account impersonating a bank's support page asking for card numbers.",
        "Giveaway post asking people to log in through a look-alike link.",
    ],
    "advertising": [
        "Ad for a supplement claiming to cure diabetes in two weeks.",
        "Ad for a payday loan targeting 'students in debt'.",
        "Ad using a celebrity's face to sell a crypto scheme.",
    ],
    "commerce": [
        "Listing: 'Brand-new designer watch, 90% off, original box'.",
        "Listing for prescription painkillers, 'no questions asked'.",
        "Listing for a used crib that was recalled for safety.",
    ],
    "intellectual_property": [
        "Rights holder reports a full film uploaded in 12 parts.",
        "Trademark complaint: shop uses a sportswear logo on its own goods.",
    ],
    "legal_regulatory": [
        "Court order from a regional court to restrict a defamatory post.",
        "Data protection authority asks about removal of a private photo.",
        "Election authority flags an ad for missing the 'paid for by' label.",
    ],
}

NOTES = [
    "Checked with the language specialist: the slang means 'traitor', not a slur.",
    "Reporter sent a follow-up email; waiting on Legal before acting.",
    "Part 2 of a series, see the earlier case from the same account.",
]


# The first new open cases with images also carry one of these videos (seconds, 640x360,
# 15 fps), after their images.
DEMO_VIDEO_SECONDS = (6.0, 8.0, 10.0)


@functools.lru_cache(maxsize=1)
def demo_videos() -> tuple[bytes, ...]:
    """The demo's videos: made once per process from fixed seeds (about a second)."""
    return tuple(make_demo_video(random.Random(9000 + index), (640, 360), seconds, 15)
                 for index, seconds in enumerate(DEMO_VIDEO_SECONDS))


@dataclass(frozen=True)
class DemoContext:
    """What every generated case draws on: the taxonomy, the time, the queues and people."""

    taxonomy: Taxonomy
    now: datetime
    weights: PriorityWeights
    queues: Sequence[tuple[uuid.UUID, str]]  # (id, name), in the order of QUEUES
    reviewer_ids: Sequence[uuid.UUID]

    @classmethod
    def of(cls, taxonomy: Taxonomy, now: datetime, weights: PriorityWeights,
           queues: Sequence[Queue]) -> DemoContext:
        return cls(taxonomy, now, weights, [(q.id, q.name) for q in queues],
                   [demo_reviewer_id(r[0]) for r in REVIEWERS if r[2] == "reviewer"])


@dataclass(frozen=True)
class DemoImage:
    kind: str
    width: int
    height: int
    fmt: str
    data: bytes


@dataclass(frozen=True)
class DemoDecision:
    policy: Policy
    action: Action
    reviewer_id: uuid.UUID
    created_at: datetime


@dataclass(frozen=True)
class DemoEscalation:
    reviewer_id: uuid.UUID
    to_team: EscalationTeam
    urgency: Urgency


@dataclass(frozen=True)
class DemoNote:
    author_id: uuid.UUID
    body: str


@dataclass(slots=True)
class DemoCase:
    """The facts of one demo case, and what was done with it before the demo starts."""

    number: int
    id: uuid.UUID
    queue_id: uuid.UUID
    spec: QueueSpec
    area: PolicyArea
    surface: Surface
    channel: Channel
    reported: datetime
    language: str
    region: str
    status: str
    images: tuple[DemoImage, ...]
    severity: int
    reach: int
    reported_text: str
    reporter_note: str
    decision: DemoDecision | None
    escalation: DemoEscalation | None
    note: DemoNote | None

    def row(self, weights: PriorityWeights, *, media_count: int = 0,
            version: int = 0) -> dict[str, Any]:
        """The case's row, with its queue fields derived."""
        return derive_queue_fields({
            "id": self.id, "external_ref": f"RPT-{2026_000000 + self.number}",
            "queue_id": self.queue_id, "surface": self.surface.value,
            "channel": self.channel.value, "policy_area": self.area.code,
            "reported_at": self.reported,
            "due_at": self.reported + timedelta(hours=self.spec.sla_hours),
            "severity": self.severity, "reach": self.reach,
            "language": self.language, "region": self.region,
            "reported_text": self.reported_text, "reporter_note": self.reporter_note,
            "status": self.status, "lease_holder_id": None, "lease_expires_at": None,
            "fencing_token": 0, "media_count": media_count,
            "updated_at": self.decision.created_at if self.decision else self.reported,
            "change_version": version,
        }, weights)

    def note_row(self, version: int = 0) -> dict[str, Any] | None:
        """The handoff note's row, if the case has one."""
        if self.note is None:
            return None
        return {
            "id": uuid.uuid5(DEMO_NAMESPACE, f"note:{self.number}"), "case_id": self.id,
            "author_id": self.note.author_id, "body": self.note.body,
            "created_at": self.reported + timedelta(minutes=20), "change_version": version,
        }


def _demo_images(rng: random.Random, spec: QueueSpec) -> tuple[DemoImage, ...]:
    if rng.random() >= 0.85:
        return ()
    images = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        kind = rng.choice(spec.media_kinds)
        width = rng.choice((480, 800, 1200, 1600, 2400))
        height = int(width * rng.choice((0.5625, 0.75, 1.0, 1.333)))
        fmt = rng.choice(("JPEG", "JPEG", "PNG", "WEBP", "GIF"))
        images.append(DemoImage(kind, width, height, fmt,
                                make_demo_image(rng, kind, (width, height), fmt)))
    return tuple(images)


def demo_case(context: DemoContext, rng: random.Random, number: int, *,
              with_media: bool = False) -> DemoCase:
    """Demo case ``number``, drawn from ``rng``: the one place the demo's cases are made up.

    The order of the draws is the demo data: each seed must keep giving the same cases
    (tests/unit/demo/test_bulk.py, the README's screenshot), so add draws only at the end.
    """
    queue_id, queue_name = rng.choice(context.queues)
    spec = _QUEUE_SPECS[queue_name]
    area = context.taxonomy.area(spec.area)
    surface = rng.choice(spec.surfaces)
    channel = rng.choices(_CHANNELS, _CHANNEL_WEIGHTS)[0]
    age_hours = rng.uniform(0.05, spec.sla_hours * 1.6) if rng.random() < 0.8 \
        else rng.uniform(0, 24 * 7)
    reported = context.now - timedelta(hours=age_hours)
    language, region = rng.choice(LANGUAGES)
    status = CaseStatus.NEW.value
    history = rng.random()
    if (age_hours > spec.sla_hours * 1.2 and history < 0.7) or history < 0.25:
        status = CaseStatus.DECIDED.value
    elif history < 0.32:
        status = CaseStatus.ESCALATED.value
    images = _demo_images(rng, spec) if with_media else ()
    severity = max(1, min(5, round(rng.gauss(max(p.severity for p in area.policies) - 1, 1))))
    reach = int(rng.lognormvariate(6, 2.2))
    reported_text = rng.choice(TEXTS.get(area.code, ["Reported content."]))
    reporter_note = rng.choice(("", "", "Please look at this quickly.",
                                "Seen this account do it before."))
    decision = escalation = None
    if status == CaseStatus.DECIDED.value:
        policy = rng.choice([p for p in area.policies if surface in p.surfaces]
                            or list(area.policies))
        action = rng.choice([a for a in policy.actions if a != Action.ESCALATE])
        decided_at = min(context.now, reported + timedelta(
            hours=rng.uniform(0.1, spec.sla_hours * 1.3)))
        decision = DemoDecision(policy, action, rng.choice(context.reviewer_ids), decided_at)
    elif status == CaseStatus.ESCALATED.value:
        escalation = DemoEscalation(rng.choice(context.reviewer_ids),
                                    rng.choice(list(EscalationTeam)), rng.choice(list(Urgency)))
    note = None
    if rng.random() < 0.08:
        note = DemoNote(rng.choice(context.reviewer_ids), rng.choice(NOTES))
    return DemoCase(
        number, uuid.uuid5(DEMO_NAMESPACE, f"case:{number}"), queue_id, spec, area, surface,
        channel, reported, language, region, status, images, severity, reach, reported_text,
        reporter_note, decision, escalation, note,
    )


@dataclass
class DemoSummary:
    reviewers: int = 0
    queues: int = 0
    cases: int = 0
    media_items: int = 0
    decisions: int = 0
    escalations: int = 0
    audit: AuditWeekSummary | None = None  # the demo auditor's week (reviewer/demo/audit_week.py)


def backend_has_data(backend: Database) -> bool:
    with backend.sessions() as session:
        return (session.scalar(select(func.count()).select_from(Reviewer)) or 0) > 0


def demo_queue_id(spec: OrgQueue) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, f"queue:{spec.name}")


DEMO_STARTED_DAYS = {"jonas": 10}
"""How long ago demo people started (400 days unless listed): Jonas is new."""


def seed_people_and_queues(session: Session, taxonomy: Taxonomy, now: datetime) -> list[Queue]:
    """The demo's organisation (resources/demo_org.toml), applied as apply-org applies a
    file but adding only (people and queues already on the backend stay as they are)."""
    del taxonomy  # the file was checked against the shipped taxonomy when read
    new_people = {p.username for p in demo_org().people} - set(session.scalars(
        select(Reviewer.username)))
    apply_org(session, demo_org(), now=now, prune=False, queue_id=demo_queue_id,
              actor="demo seeder")
    for username in new_people:
        reviewer = session.get(Reviewer, demo_reviewer_id(username))
        reviewer.started_on = now - timedelta(days=DEMO_STARTED_DAYS.get(username, 400))
    session.flush()
    return [session.scalar(select(Queue).where(Queue.code == q.code))
            for q in demo_org().queues]


def _media(case: DemoCase, position: int, data: bytes, mime_type: str, filename: str,
           dimensions: tuple[int, int], version: int,
           duration_s: float | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A media item's blob row and item row."""
    digest = hashlib.sha256(data).hexdigest()
    blob = {"content_hash": digest, "size_bytes": len(data), "data": data,
            "change_version": version}
    return blob, {
        "id": uuid.uuid5(DEMO_NAMESPACE, f"media:{case.number}:{position}"),
        "case_id": case.id, "position": position, "content_hash": digest,
        "mime_type": mime_type, "size_bytes": len(data), "width": dimensions[0],
        "height": dimensions[1], "duration_s": duration_s, "filename": filename,
        "change_version": version,
    }


def seed_demo(
    backend: Database,
    taxonomy: Taxonomy,
    clock: Clock,
    rng: random.Random,
    *,
    cases: int = 120,
    with_media: bool = True,
    progress: Callable[[int, int], None] | None = None,
    weights: PriorityWeights | None = None,
) -> DemoSummary:
    """Add ``cases`` demo cases (and the demo team, if missing) to the backend."""
    now = clock.now()
    weights = weights or PriorityWeights()
    summary = DemoSummary()
    with backend.writing() as session:
        queues = seed_people_and_queues(session, taxonomy, now)
        context = DemoContext.of(taxonomy, now, weights, queues)
    summary.reviewers = len(REVIEWERS)
    summary.queues = len(queues)
    existing = 0
    with backend.sessions() as session:
        existing = session.scalar(select(func.count()).select_from(Case)) or 0

    chunk = 1000 if with_media is False else 50
    made = 0
    videos_added = 0  # the first new open cases with images also get a demo video each
    while made < cases:
        size = min(chunk, cases - made)
        with backend.writing() as session:
            version = next_change_version(session)
            case_rows, media_rows, decision_rows, escalation_rows, note_rows = [], [], [], [], []
            blobs: dict[str, dict] = {}
            for i in range(size):
                case = demo_case(context, rng, existing + made + i + 1, with_media=with_media)
                media = []
                for position, image in enumerate(case.images):
                    fmt = image.fmt.lower()
                    media.append(_media(case, position, image.data, f"image/{fmt}",
                                        f"{image.kind}-{case.number}-{position}.{fmt}",
                                        (image.width, image.height), version))
                media_count = len(case.images)
                if media_count and case.status == CaseStatus.NEW.value \
                        and videos_added < len(DEMO_VIDEO_SECONDS):
                    media.append(_media(case, media_count, demo_videos()[videos_added],
                                        "video/mp4", f"clip-{case.number}.mp4", (640, 360),
                                        version, DEMO_VIDEO_SECONDS[videos_added]))
                    media_count += 1
                    videos_added += 1
                for blob, item in media:
                    blobs.setdefault(blob["content_hash"], blob)
                    media_rows.append(item)
                case_rows.append(case.row(weights, media_count=media_count, version=version))
                if case.decision is not None:
                    decision, policy = case.decision, case.decision.policy
                    decision_rows.append({
                        "id": uuid.uuid5(DEMO_NAMESPACE, f"decision:{case.number}"),
                        "case_id": case.id, "reviewer_id": decision.reviewer_id,
                        "policy_code": policy.code, "action": decision.action.value,
                        "rationale": f"{policy.name}: {decision.action.label.lower()} "
                                     f"per {policy.code}; content matches the definition.",
                        "created_at": decision.created_at, "policy_version": taxonomy.version,
                        "fencing_token": 1, "supersedes_id": None, "conflict": False,
                        "change_version": version,
                    })
                elif case.escalation is not None:
                    escalation_rows.append({
                        "id": uuid.uuid5(DEMO_NAMESPACE, f"escalation:{case.number}"),
                        "case_id": case.id, "reviewer_id": case.escalation.reviewer_id,
                        "to_team": case.escalation.to_team.value,
                        "reason": "Needs a specialist decision: context is ambiguous.",
                        "urgency": case.escalation.urgency.value,
                        "created_at": case.reported + timedelta(minutes=30),
                        "resolved_at": None, "change_version": version,
                    })
                note = case.note_row(version)
                if note is not None:
                    note_rows.append(note)
            known = set(session.scalars(
                select(MediaBlob.content_hash).where(MediaBlob.content_hash.in_(list(blobs)))
            )) if blobs else set()
            new_blobs = [b for h, b in blobs.items() if h not in known]
            for table, rows in ((MediaBlob, new_blobs), (Case, case_rows),
                                (MediaItem, media_rows), (Decision, decision_rows),
                                (Escalation, escalation_rows), (Note, note_rows)):
                if rows:
                    session.execute(insert(table), rows)
            summary.cases += len(case_rows)
            summary.media_items += len(media_rows)
            summary.decisions += len(decision_rows)
            summary.escalations += len(escalation_rows)
        made += size
        if progress is not None:
            progress(made, cases)
    # The demo auditor's week over these decisions, once (its own rng: the cases stay).
    summary.audit = seed_audit_week(backend, taxonomy, clock, rng)
    return summary
