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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from reviewer.clock import Clock
from reviewer.escalation import ensure_escalation_queues
from reviewer.media.synthetic import make_demo_image
from reviewer.media.synthetic_video import make_demo_video
from reviewer.models import (
    Case,
    Decision,
    Escalation,
    MediaBlob,
    MediaItem,
    Note,
    Queue,
    Reviewer,
    Team,
    TeamMembership,
)
from reviewer.queue import PriorityWeights, derive_queue_fields
from reviewer.store import Database
from reviewer.sync.backend import next_change_version
from reviewer.taxonomy import Taxonomy
from reviewer.vocabulary import Action, CaseStatus, Channel, EscalationTeam, Surface, Urgency

DEMO_NAMESPACE = uuid.UUID("5d0b7a52-3f7e-4a54-9a52-2b8f1c6d9e01")
DEMO_USERNAME = "demo"


def demo_reviewer_id(username: str = DEMO_USERNAME) -> uuid.UUID:
    return uuid.uuid5(DEMO_NAMESPACE, f"reviewer:{username}")


TEAMS = {
    "graphic-content": "Graphic Content",
    "integrity": "Integrity (hate, harassment, spam)",
    "ads-commerce": "Ads & Commerce",
    "legal-response": "Legal & Regulatory Response",
    "ip": "Intellectual Property",
}

REVIEWERS = [
    # username, display name, role, teams, languages
    ("demo", "Demo Reviewer", "reviewer", list(TEAMS), ["en", "de", "fr"]),
    ("amara", "Amara Okafor", "reviewer", ["graphic-content", "integrity"], ["en", "fr"]),
    ("jonas", "Jonas Weber", "reviewer", ["integrity", "ads-commerce"], ["de", "en"]),
    ("lucia", "Lucía Romero", "reviewer", ["legal-response", "ip"], ["es", "en", "pt"]),
    ("mei", "Mei Tanaka", "auditor", list(TEAMS), ["ja", "en"]),
    ("sofia", "Sofia Lindqvist", "lead", list(TEAMS), ["sv", "en"]),
    ("admin", "Workstation Admin", "admin", list(TEAMS), ["en"]),
]


@dataclass(frozen=True)
class QueueSpec:
    name: str
    team: str
    area: str
    sla_hours: float
    surfaces: tuple[Surface, ...]
    media_kinds: tuple[str, ...]


QUEUES = [
    QueueSpec("Graphic violence", "graphic-content", "violence_graphic", 4,
              (Surface.ORGANIC_POST, Surface.MESSAGE), ("gore_stand_in", "shapes", "faces")),
    QueueSpec("Suicide & self-injury", "graphic-content", "suicide_self_injury", 2,
              (Surface.ORGANIC_POST, Surface.MESSAGE), ("gore_stand_in", "text")),
    QueueSpec("Child safety", "graphic-content", "child_safety", 1,
              (Surface.ORGANIC_POST, Surface.MESSAGE, Surface.ACCOUNT), ("shapes", "noise")),
    QueueSpec("Hate speech", "integrity", "hate_speech", 24,
              (Surface.ORGANIC_POST, Surface.MESSAGE, Surface.ACCOUNT), ("text", "faces")),
    QueueSpec("Bullying & harassment", "integrity", "bullying_harassment", 24,
              (Surface.ORGANIC_POST, Surface.MESSAGE), ("text", "faces")),
    QueueSpec("Spam & fraud", "integrity", "spam_fraud", 48,
              (Surface.ORGANIC_POST, Surface.MESSAGE, Surface.ACCOUNT), ("text", "shapes")),
    QueueSpec("Ads review", "ads-commerce", "advertising", 24, (Surface.AD,),
              ("shapes", "text")),
    QueueSpec("Commerce listings", "ads-commerce", "commerce", 48, (Surface.COMMERCE_LISTING,),
              ("shapes", "noise")),
    QueueSpec("IP complaints", "ip", "intellectual_property", 72,
              (Surface.ORGANIC_POST, Surface.AD, Surface.COMMERCE_LISTING), ("shapes", "text")),
    QueueSpec("Regulator & legal requests", "legal-response", "legal_regulatory", 12,
              (Surface.ORGANIC_POST, Surface.ACCOUNT, Surface.AD), ("text",)),
]

CHANNEL_WEIGHTS = [
    (Channel.USER_REPORT, 55),
    (Channel.PROACTIVE_DETECTION, 25),
    (Channel.PARTNER, 6),
    (Channel.PRESS, 3),
    (Channel.REGULATOR, 4),
    (Channel.LEGAL_REQUEST, 4),
    (Channel.VIP, 3),
]

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


def _weighted_channel(rng: random.Random) -> Channel:
    channels, weights = zip(*CHANNEL_WEIGHTS, strict=True)
    return rng.choices(channels, weights)[0]


@dataclass
class DemoSummary:
    reviewers: int = 0
    queues: int = 0
    cases: int = 0
    media_items: int = 0
    decisions: int = 0
    escalations: int = 0


def backend_has_data(backend: Database) -> bool:
    with backend.sessions() as session:
        return (session.scalar(select(func.count()).select_from(Reviewer)) or 0) > 0


def seed_people_and_queues(session: Session, taxonomy: Taxonomy, now: datetime) -> list[Queue]:
    version = next_change_version(session)
    for code, name in TEAMS.items():
        if session.get(Team, code) is None:
            session.add(Team(code=code, name=name, change_version=version))
    session.flush()
    for username, display, role, teams, languages in REVIEWERS:
        reviewer_id = demo_reviewer_id(username)
        if session.get(Reviewer, reviewer_id) is not None:
            continue
        started = now - timedelta(days=10 if username == "jonas" else 400)
        session.add(
            Reviewer(
                id=reviewer_id, username=username, display_name=display, role=role,
                languages=languages, started_on=started, change_version=version,
            )
        )
        session.flush()
        for team in teams:
            session.add(TeamMembership(reviewer_id=reviewer_id, team_code=team,
                                       change_version=version))
    queues = []
    for spec in QUEUES:
        taxonomy.area(spec.area)  # the queue must name a policy area that exists
        queue = session.scalar(select(Queue).where(Queue.name == spec.name))
        if queue is None:
            queue = Queue(
                id=uuid.uuid5(DEMO_NAMESPACE, f"queue:{spec.name}"), name=spec.name,
                team_code=spec.team, policy_area=spec.area, sla_hours=spec.sla_hours,
                graphic=taxonomy.area(spec.area).graphic, change_version=version,
            )
            session.add(queue)
        queues.append(queue)
    session.flush()
    return queues


ESCALATION_MEMBERS = {
    EscalationTeam.SECOND_LEVEL: ["amara"],
    EscalationTeam.LEGAL: ["lucia"],
}
"""Demo reviewers who also work an escalation team's queue (leads and admins work them all)."""


def seed_escalation_teams(session: Session) -> None:
    """The escalation teams and their queues (see reviewer.escalation), with demo members."""
    members = {team: [demo_reviewer_id(name) for name in names]
               for team, names in ESCALATION_MEMBERS.items()}
    ensure_escalation_queues(session, version=next_change_version(session), members=members)


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
        seed_escalation_teams(session)
    specs = {spec.name: spec for spec in QUEUES}
    reviewer_ids = [demo_reviewer_id(r[0]) for r in REVIEWERS if r[2] == "reviewer"]
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
                number = existing + made + i + 1
                queue = rng.choice(queues)
                spec = specs[queue.name]
                area = taxonomy.area(spec.area)
                surface = rng.choice(spec.surfaces)
                channel = _weighted_channel(rng)
                age_hours = rng.uniform(0.05, spec.sla_hours * 1.6) if rng.random() < 0.8 \
                    else rng.uniform(0, 24 * 7)
                reported = now - timedelta(hours=age_hours)
                due = reported + timedelta(hours=spec.sla_hours)
                language, region = rng.choice(LANGUAGES)
                case_id = uuid.uuid5(DEMO_NAMESPACE, f"case:{number}")
                status = CaseStatus.NEW.value
                history = rng.random()
                if (age_hours > spec.sla_hours * 1.2 and history < 0.7) or history < 0.25:
                    status = CaseStatus.DECIDED.value
                elif history < 0.32:
                    status = CaseStatus.ESCALATED.value
                media_count = 0
                if with_media and rng.random() < 0.85:
                    for position in range(rng.choice((1, 1, 1, 2, 3))):
                        kind = rng.choice(spec.media_kinds)
                        width = rng.choice((480, 800, 1200, 1600, 2400))
                        height = int(width * rng.choice((0.5625, 0.75, 1.0, 1.333)))
                        fmt = rng.choice(("JPEG", "JPEG", "PNG", "WEBP", "GIF"))
                        data = make_demo_image(rng, kind, (width, height), fmt)
                        digest = hashlib.sha256(data).hexdigest()
                        blobs.setdefault(digest, {
                            "content_hash": digest, "size_bytes": len(data), "data": data,
                            "change_version": version,
                        })
                        media_rows.append({
                            "id": uuid.uuid5(DEMO_NAMESPACE, f"media:{number}:{position}"),
                            "case_id": case_id, "position": position, "content_hash": digest,
                            "mime_type": f"image/{fmt.lower()}", "size_bytes": len(data),
                            "width": width, "height": height, "duration_s": None,
                            "filename": f"{kind}-{number}-{position}.{fmt.lower()}",
                            "change_version": version,
                        })
                        media_count += 1
                if media_count and status == CaseStatus.NEW.value \
                        and videos_added < len(DEMO_VIDEO_SECONDS):
                    data = demo_videos()[videos_added]
                    digest = hashlib.sha256(data).hexdigest()
                    blobs.setdefault(digest, {
                        "content_hash": digest, "size_bytes": len(data), "data": data,
                        "change_version": version,
                    })
                    media_rows.append({
                        "id": uuid.uuid5(DEMO_NAMESPACE, f"media:{number}:{media_count}"),
                        "case_id": case_id, "position": media_count, "content_hash": digest,
                        "mime_type": "video/mp4", "size_bytes": len(data),
                        "width": 640, "height": 360,
                        "duration_s": DEMO_VIDEO_SECONDS[videos_added],
                        "filename": f"clip-{number}.mp4", "change_version": version,
                    })
                    media_count += 1
                    videos_added += 1
                case_rows.append({
                    "id": case_id, "external_ref": f"RPT-{2026_000000 + number}",
                    "queue_id": queue.id, "surface": surface.value, "channel": channel.value,
                    "policy_area": area.code, "reported_at": reported, "due_at": due,
                    "severity": max(1, min(5, round(rng.gauss(max(p.severity for p in
                                                                  area.policies) - 1, 1)))),
                    "reach": int(rng.lognormvariate(6, 2.2)),
                    "language": language, "region": region,
                    "reported_text": rng.choice(TEXTS.get(area.code, ["Reported content."])),
                    "reporter_note": rng.choice(("", "", "Please look at this quickly.",
                                                 "Seen this account do it before.")),
                    "status": status, "lease_holder_id": None, "lease_expires_at": None,
                    "fencing_token": 0, "media_count": media_count, "updated_at": reported,
                    "change_version": version,
                })
                derive_queue_fields(case_rows[-1], weights)
                if status == CaseStatus.DECIDED.value:
                    policies = [p for p in area.policies if surface in p.surfaces] or list(
                        area.policies)
                    policy = rng.choice(policies)
                    actions = [a for a in policy.actions if a != Action.ESCALATE]
                    action = rng.choice(actions)
                    decided_at = min(now, reported + timedelta(
                        hours=rng.uniform(0.1, spec.sla_hours * 1.3)))
                    decision_rows.append({
                        "id": uuid.uuid5(DEMO_NAMESPACE, f"decision:{number}"),
                        "case_id": case_id, "reviewer_id": rng.choice(reviewer_ids),
                        "policy_code": policy.code, "action": action.value,
                        "rationale": f"{policy.name}: {action.label.lower()} "
                                     f"per {policy.code}; content matches the definition.",
                        "created_at": decided_at, "policy_version": taxonomy.version,
                        "fencing_token": 1, "supersedes_id": None, "conflict": False,
                        "change_version": version,
                    })
                    case_rows[-1]["updated_at"] = decided_at
                elif status == CaseStatus.ESCALATED.value:
                    escalation_rows.append({
                        "id": uuid.uuid5(DEMO_NAMESPACE, f"escalation:{number}"),
                        "case_id": case_id, "reviewer_id": rng.choice(reviewer_ids),
                        "to_team": rng.choice(list(EscalationTeam)).value,
                        "reason": "Needs a specialist decision: context is ambiguous.",
                        "urgency": rng.choice(list(Urgency)).value,
                        "created_at": reported + timedelta(minutes=30), "resolved_at": None,
                        "change_version": version,
                    })
                if rng.random() < 0.08:
                    note_rows.append({
                        "id": uuid.uuid5(DEMO_NAMESPACE, f"note:{number}"), "case_id": case_id,
                        "author_id": rng.choice(reviewer_ids), "body": rng.choice(NOTES),
                        "created_at": reported + timedelta(minutes=20),
                        "change_version": version,
                    })
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
    return summary
