"""Quality auditing in the database: drawing and storing samples, golden cases, calibration
sessions, and an auditor's blind re-review recorded on the replica.

Where things happen:

- **Samples** are drawn with `reviewer.qa.sampling` from the decisions a database holds, on
  the backend (``reviewer-admin qa-sample``: rows written with a change version) or on a
  replica (`draw_sample` with ``client_id``: rows written locally and pushed as one
  ``qa_samples`` mutation). Each row keeps its method, rate, seed and draw, so the sample can
  be re-derived (`reviewer.qa.sampling.redraw_audit_sample`) and explained. On a PostgreSQL
  team backend the decisions to draw from come from its ``rw_sampling_frame`` (row-level
  security shows an auditor no decision that is not already sampled for them).
- **Golden cases** are ordinary cases in ordinary queues; only the ``qa_golden`` row, which
  reviewers never see, holds the expected outcome. `insert_golden_copy` puts a fresh copy of
  a known case into a queue, indistinguishable from any other case. Decisions on golden
  cases are scored by the backend as they arrive (`reviewer.qa.apply`).
- **Calibration sessions** give the same cases to several reviewers: one ``calibration``
  sample per member and case, re-reviewed blind like any other sample.
- **Blind re-review** (`record_blind_review`, then `record_verdict`) is two local
  transactions, each writing its row, an audit-log entry and its outbox mutation together: the
  blind decision is fixed before the original is shown.

Nothing here shows the original decision or its reviewer before the blind decision exists:
`pending_samples` carries neither, and `original_for_review` refuses until it is recorded.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from reviewer.clock import Clock
from reviewer.enforcement.decisions import MIN_RATIONALE_CHARS, outcome_problems
from reviewer.policy.taxonomy import Taxonomy
from reviewer.qa.apply import SAMPLER_ROLES, score_golden_decisions
from reviewer.qa.sampling import (
    AuditSample,
    DecisionRecord,
    SampleReason,
    SamplingPolicy,
    redraw_audit_sample,
)
from reviewer.queue.case_queue import PriorityWeights, derive_queue_fields
from reviewer.security.audit import append_audit
from reviewer.store.database import writing
from reviewer.store.models import (
    QA_REASON_CATEGORIES,
    Case,
    Decision,
    MediaItem,
    OutboxEntry,
    QaCalibration,
    QaCalibrationMember,
    QaGolden,
    QaReview,
    QaSample,
    Queue,
    Reviewer,
)
from reviewer.store.outbox import enqueue
from reviewer.vocabulary import Action, CaseStatus

METHOD_OF_REASON = {
    SampleReason.RANDOM: "random",
    SampleReason.SEVERE_OVERSAMPLE: "severe",
    SampleReason.NEW_REVIEWER: "new_reviewer",
    SampleReason.TARGETED: "targeted",
}

REASON_LABELS = {
    "policy_misread": "Policy misread",
    "wrong_action": "Wrong action",
    "missed_context": "Missed context",
    "evidence": "Evidence",
    "other": "Other",
}
assert tuple(REASON_LABELS) == QA_REASON_CATEGORIES

METHOD_LABELS = {
    "random": "Random sample",
    "severe": "Severe action",
    "new_reviewer": "New reviewer",
    "targeted": "Targeted",
    "golden": "Golden case",
    "calibration": "Calibration",
}


class QaRefused(ValueError):
    """A QA action that cannot be recorded; the message says why in plain words."""


# -- drawing samples -----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredSample:
    """What `draw_sample` drew and stored."""

    sample: AuditSample
    stored: int
    already_sampled: int
    own_decisions: int
    sample_ids: tuple[uuid.UUID, ...]


def decision_records(session: Session, taxonomy: Taxonomy, *, since: datetime,
                     until: datetime | None = None) -> list[DecisionRecord]:
    """The standing decisions made in [since, until): not superseded, not in conflict."""
    superseded = select(Decision.supersedes_id).where(Decision.supersedes_id.is_not(None))
    statement = (
        select(Decision, Case.policy_area, Reviewer.started_on)
        .join(Case, Case.id == Decision.case_id)
        .join(Reviewer, Reviewer.id == Decision.reviewer_id)
        .where(Decision.created_at >= since, Decision.conflict.is_(False),
               Decision.id.not_in(superseded))
        .order_by(Decision.created_at, Decision.id)
    )
    if until is not None:
        statement = statement.where(Decision.created_at < until)
    severe = {str(action) for action in taxonomy.severe_actions}
    return [
        DecisionRecord(id=d.id, reviewer_id=d.reviewer_id, policy_area=area, action=d.action,
                       severe=d.action in severe, created_at=d.created_at,
                       reviewer_started_on=started)
        for d, area, started in session.execute(statement)
    ]


SAMPLING_FRAME_SQL = text(
    "SELECT decision_id, case_id, reviewer_id, policy_area, created_at, reviewer_started_on, "
    "severe FROM rw_sampling_frame(CAST(:since AS timestamptz), CAST(:until AS timestamptz))")


def has_sampling_frame(session: Session) -> bool:
    """Whether `session` is on a PostgreSQL team backend with ``rw_sampling_frame`` (set up
    by init-backend, `reviewer.security.row_security`): there samples are drawn through it."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    return bool(session.scalar(text(
        "SELECT to_regprocedure('rw_sampling_frame(timestamptz, timestamptz)') IS NOT NULL")))


def backend_caller(session: Session) -> uuid.UUID | None:
    """On a PostgreSQL team backend, the active reviewer account the connection signed in
    as (None for the owner role, or anywhere else)."""
    if not has_sampling_frame(session):
        return None
    return session.scalar(text("SELECT rw_me()"))


def sampling_frame(session: Session, *, since: datetime, until: datetime | None = None,
                   ) -> tuple[list[DecisionRecord], dict[uuid.UUID, uuid.UUID]]:
    """The standing decisions made in [since, until) that the signed-in person may sample,
    read through the backend's ``rw_sampling_frame`` (PostgreSQL): their records (with no
    action: the backend says only whether it is severe, from its own list) and case ids.

    Row-level security shows an auditor only the decisions already sampled for them; this
    is how they draw new ones without seeing any decision's outcome."""
    from sqlalchemy.exc import DBAPIError

    try:
        rows = session.execute(SAMPLING_FRAME_SQL, {"since": since, "until": until}).all()
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) == "42501":
            raise QaRefused("not permitted: only active auditors, leads and admins draw "
                            "audit samples on this backend") from error
        raise
    records = [
        DecisionRecord(id=row.decision_id, reviewer_id=row.reviewer_id,
                       policy_area=row.policy_area, action="", severe=bool(row.severe),
                       created_at=row.created_at.astimezone(UTC),
                       reviewer_started_on=row.reviewer_started_on.astimezone(UTC))
        for row in rows
    ]
    return records, {row.decision_id: row.case_id for row in rows}


def _sampler(session: Session, person_id: uuid.UUID, what: str) -> Reviewer:
    person = session.get(Reviewer, person_id)
    if person is None or not person.active:
        raise QaRefused(f"the {what} is not a known, active person")
    if person.role not in SAMPLER_ROLES:
        raise QaRefused(f"the {what} must be an auditor, a lead or an admin "
                        f"({person.display_name} is a {person.role})")
    return person


def draw_sample(
    session: Session,
    taxonomy: Taxonomy,
    *,
    auditor_id: uuid.UUID,
    drawn_by: uuid.UUID,
    since: datetime,
    clock: Clock,
    until: datetime | None = None,
    seed: int | None = None,
    rng: random.Random | None = None,
    policy: SamplingPolicy | None = None,
    targeted_ids: Collection[uuid.UUID] = (),
    version: int | None = None,
    client_id: str | None = None,
) -> StoredSample:
    """Draw an audit sample for `auditor_id` from the decisions in `session` and store it.

    On the backend pass the ``version`` the rows carry; on a replica pass its ``client_id``
    (the rows go to the backend as one ``qa_samples`` mutation). The seed is `seed`, or drawn
    from `rng`. Decisions already sampled for this auditor, and the auditor's own decisions,
    are left out (and counted). The caller commits.

    On a PostgreSQL team backend the decisions come from its ``rw_sampling_frame`` (see
    `sampling_frame`): which decisions the signed-in person may sample, and which are severe
    (the backend's list, not `taxonomy`'s), are the backend's to say. There an auditor draws
    only for themselves, and everyone draws as themselves (`drawn_by`).
    """
    if (version is None) == (client_id is None):
        raise ValueError("pass version (on the backend) or client_id (on a replica)")
    _sampler(session, drawn_by, "person drawing the sample")
    auditor = _sampler(session, auditor_id, "auditor")
    if seed is None:
        seed = (rng or random.Random()).getrandbits(63)
    frame_cases: dict[uuid.UUID, uuid.UUID] | None = None
    if has_sampling_frame(session):
        _check_backend_caller(session, auditor=auditor, drawn_by=drawn_by)
        records, frame_cases = sampling_frame(session, since=since, until=until)
    else:
        records = decision_records(session, taxonomy, since=since, until=until)
    missing = set(targeted_ids) - {record.id for record in records}
    if missing:
        raise QaRefused(f"targeted decision {', '.join(sorted(map(str, missing)))} is not "
                        "among the standing decisions you may sample in that period")
    sample = redraw_audit_sample(records, seed=seed, clock=clock, policy=policy,
                                 targeted_ids=targeted_ids)
    wanted = list(sample.items)
    held = set(session.scalars(
        select(QaSample.decision_id).where(QaSample.auditor_id == auditor_id,
                                           QaSample.decision_id.in_([i.decision_id
                                                                     for i in wanted]))))
    if frame_cases is not None:
        cases = {item.decision_id: frame_cases[item.decision_id] for item in wanted}
    else:
        cases = {row.id: row.case_id for row in session.execute(
            select(Decision.id, Decision.case_id).where(Decision.id.in_(
                [i.decision_id for i in wanted])))}
    now = sample.drawn_at
    rows: list[QaSample] = []
    own = already = 0
    for item in wanted:
        if item.reviewer_id == auditor_id:
            own += 1
            continue
        if item.decision_id in held:
            already += 1
            continue
        rows.append(QaSample(
            id=uuid.uuid4(), case_id=cases[item.decision_id], decision_id=item.decision_id,
            reviewer_id=item.reviewer_id, auditor_id=auditor_id,
            method=METHOD_OF_REASON[item.reason], rate=item.rate, seed=item.seed,
            draw=item.draw, drawn_by=drawn_by, drawn_at=now, status="pending",
            change_version=version or 0,
        ))
    session.add_all(rows)
    if client_id is not None and rows:
        enqueue(session, client_id=client_id, kind="qa_samples", entity_id=rows[0].id,
                now=now, payload={
                    "drawn_by": str(drawn_by),
                    "samples": [_sample_payload(row) for row in rows],
                })
    session.flush()
    return StoredSample(sample, len(rows), already, own, tuple(row.id for row in rows))


def _check_backend_caller(session: Session, *, auditor: Reviewer, drawn_by: uuid.UUID) -> None:
    """Say plainly what the backend's row-level security would refuse on inserting."""
    me = session.scalar(text("SELECT rw_me()"))
    if me is None:  # the owner role (init-backend, scripts): anything goes
        return
    caller = session.get(Reviewer, me)
    if caller is None or caller.role == "admin":
        return
    if drawn_by != me:
        raise QaRefused(f"you are signed in as {caller.username}: you can draw a sample only "
                        "as yourself")
    if caller.role == "auditor" and auditor.id != me:
        raise QaRefused(f"an auditor draws samples only for themselves, not for "
                        f"{auditor.username}")


def _sample_payload(row: QaSample) -> dict[str, Any]:
    return {
        "id": str(row.id), "case_id": str(row.case_id),
        "decision_id": str(row.decision_id) if row.decision_id else None,
        "auditor_id": str(row.auditor_id), "method": row.method, "rate": row.rate,
        "seed": row.seed, "draw": row.draw, "drawn_at": row.drawn_at.isoformat(),
    }


# -- golden cases --------------------------------------------------------------------------


def _check_outcome(taxonomy: Taxonomy, case: Case, policy_code: str, action: str) -> None:
    try:
        policy = taxonomy.policy(policy_code)
    except KeyError:
        raise QaRefused(f"unknown policy {policy_code!r}") from None
    try:
        chosen = Action(action)
    except ValueError:
        raise QaRefused(f"unknown action {action!r}") from None
    if chosen not in policy.actions:
        raise QaRefused(f"{chosen.label} is not allowed under {policy.code}")
    if case.surface not in policy.surfaces:
        raise QaRefused(f"{policy.code} does not apply to this case's surface ({case.surface})")


def mark_golden(session: Session, taxonomy: Taxonomy, *, case_id: uuid.UUID,
                policy_code: str, action: str, auditor_id: uuid.UUID, version: int,
                now: datetime, note: str = "") -> QaGolden:
    """Mark a case golden with its expected outcome (on the backend); decisions already on
    it are scored at once. Marking it again replaces the expected outcome."""
    _sampler(session, auditor_id, "person marking a golden case")
    case = session.get(Case, case_id)
    if case is None:
        raise QaRefused("no such case on the backend")
    _check_outcome(taxonomy, case, policy_code, action)
    golden = session.get(QaGolden, case_id)
    if golden is None:
        golden = QaGolden(case_id=case_id)
        session.add(golden)
    golden.policy_code = policy_code
    golden.action = action
    golden.auditor_id = auditor_id
    golden.marked_at = now
    golden.note = note
    golden.change_version = version
    session.flush()
    score_golden_decisions(
        session, session.scalars(select(Decision.id).where(Decision.case_id == case_id)),
        version, now)
    return golden


def insert_golden_copy(session: Session, taxonomy: Taxonomy, *, source_case_id: uuid.UUID,
                       policy_code: str, action: str, auditor_id: uuid.UUID, version: int,
                       now: datetime, rng: random.Random, queue_id: uuid.UUID | None = None,
                       weights: PriorityWeights | None = None) -> Case:
    """Put a fresh copy of a case (its text and media) into a queue as a golden case.

    The copy is a new case like any other: a new reference in the usual format, reported
    now, due by the queue's SLA, status new. Nothing on it says it is golden.
    """
    source = session.get(Case, source_case_id)
    if source is None:
        raise QaRefused("no such case to copy")
    queue = session.get(Queue, queue_id or source.queue_id)
    if queue is None:
        raise QaRefused("no such queue")
    while True:
        reference = f"RPT-{2026_000000 + rng.randrange(100_000, 999_999)}"
        if session.scalar(select(Case.id).where(Case.external_ref == reference)) is None:
            break
    row: dict[str, Any] = {
        "id": uuid.uuid4(), "external_ref": reference, "queue_id": queue.id,
        "surface": source.surface, "channel": source.channel,
        "policy_area": queue.policy_area, "reported_at": now,
        "due_at": now + timedelta(hours=queue.sla_hours), "severity": source.severity,
        "reach": source.reach, "language": source.language, "region": source.region,
        "reported_text": source.reported_text, "reporter_note": source.reporter_note,
        "status": CaseStatus.NEW.value, "lease_holder_id": None, "lease_expires_at": None,
        "fencing_token": 0, "media_count": source.media_count, "updated_at": now,
        "change_version": version,
    }
    derive_queue_fields(row, weights or PriorityWeights())
    copy = Case(**row)
    session.add(copy)
    for item in session.scalars(select(MediaItem).where(MediaItem.case_id == source.id)
                                .order_by(MediaItem.position)):
        session.add(MediaItem(
            id=uuid.uuid4(), case_id=copy.id, position=item.position,
            content_hash=item.content_hash, mime_type=item.mime_type,
            size_bytes=item.size_bytes, width=item.width, height=item.height,
            duration_s=item.duration_s, filename=item.filename, change_version=version))
    session.flush()
    mark_golden(session, taxonomy, case_id=copy.id, policy_code=policy_code, action=action,
                auditor_id=auditor_id, version=version, now=now)
    return copy


# -- calibration sessions ------------------------------------------------------------------


def create_calibration(session: Session, *, name: str, auditor_id: uuid.UUID,
                       case_ids: Sequence[uuid.UUID], member_ids: Sequence[uuid.UUID],
                       version: int, now: datetime) -> QaCalibration:
    """A calibration session on the backend: every member re-reviews every case, blind."""
    _sampler(session, auditor_id, "person running the session")
    if len(set(member_ids)) < 2:
        raise QaRefused("a calibration session needs at least two members")
    if not case_ids:
        raise QaRefused("a calibration session needs at least one case")
    for case_id in case_ids:
        if session.get(Case, case_id) is None:
            raise QaRefused(f"no such case: {case_id}")
    calibration = QaCalibration(id=uuid.uuid4(), name=name.strip() or "Calibration",
                                auditor_id=auditor_id, created_at=now, status="open",
                                change_version=version)
    session.add(calibration)
    session.flush()
    for member_id in dict.fromkeys(member_ids):
        if session.get(Reviewer, member_id) is None:
            raise QaRefused(f"no such reviewer: {member_id}")
        session.add(QaCalibrationMember(calibration_id=calibration.id, reviewer_id=member_id,
                                        change_version=version))
        for case_id in dict.fromkeys(case_ids):
            session.add(QaSample(
                id=uuid.uuid4(), case_id=case_id, decision_id=None, reviewer_id=None,
                auditor_id=member_id, method="calibration", drawn_by=auditor_id, drawn_at=now,
                calibration_id=calibration.id, status="pending", change_version=version))
    session.flush()
    return calibration


# -- the auditor's blind re-review on the replica ------------------------------------------


@dataclass(frozen=True)
class PendingSample:
    """A sample waiting for its auditor: nothing about the original decision or its maker."""

    sample_id: uuid.UUID
    case_id: uuid.UUID
    external_ref: str
    policy_area: str
    method: str
    drawn_at: datetime
    calibration: str | None


def pending_samples(session: Session, auditor_id: uuid.UUID) -> list[PendingSample]:
    rows = session.execute(
        select(QaSample, Case.external_ref, Case.policy_area, QaCalibration.name)
        .join(Case, Case.id == QaSample.case_id)
        .outerjoin(QaCalibration, QaCalibration.id == QaSample.calibration_id)
        .outerjoin(QaReview, QaReview.sample_id == QaSample.id)
        # A review recorded here but not yet on the backend keeps the sample off the list,
        # even if a pull has brought the backend's copy of the sample back as pending.
        .where(QaSample.auditor_id == auditor_id, QaSample.status == "pending",
               QaReview.id.is_(None))
        .order_by(QaSample.drawn_at, Case.external_ref)
    ).all()
    return [PendingSample(s.id, s.case_id, ref, area, s.method, s.drawn_at, name)
            for s, ref, area, name in rows]


def awaiting_verdict(session: Session, auditor_id: uuid.UUID) -> list[PendingSample]:
    """Samples of decisions whose blind decision is recorded but whose verdict is not."""
    rows = session.execute(
        select(QaSample, QaReview.id, Case.external_ref, Case.policy_area)
        .join(QaReview, QaReview.sample_id == QaSample.id)
        .join(Case, Case.id == QaSample.case_id)
        .where(QaReview.auditor_id == auditor_id, QaReview.verdict_at.is_(None),
               QaSample.decision_id.is_not(None))
        .order_by(QaSample.drawn_at, Case.external_ref)
    ).all()
    return [PendingSample(s.id, s.case_id, ref, area, s.method, s.drawn_at, None)
            for s, review_id, ref, area in rows if not verdict_waiting(session, review_id)]


def review_for_sample(session: Session, sample_id: uuid.UUID) -> QaReview | None:
    return session.scalar(select(QaReview).where(QaReview.sample_id == sample_id))


def validate_blind_decision(taxonomy: Taxonomy, case: Case | None, policy_code: str,
                            action: str, rationale: str) -> dict[str, str]:
    """Problems with an auditor's blind decision, by field (empty when it can be recorded)."""
    if case is None:
        return {"case": "the case is not on this workstation"}
    problems, _policy, _action = outcome_problems(taxonomy, case.surface, policy_code, action)
    if len(rationale.strip()) < MIN_RATIONALE_CHARS:
        problems["rationale"] = f"write a rationale of at least {MIN_RATIONALE_CHARS} characters"
    return problems


class BlindDecisionRejected(QaRefused):
    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {text}" for field, text in problems.items()))


def record_blind_review(sessions: sessionmaker[Session], taxonomy: Taxonomy, *,
                        sample_id: uuid.UUID, auditor_id: uuid.UUID, client_id: str,
                        policy_code: str, action: str, rationale: str,
                        clock: Clock) -> QaReview:
    """Record the auditor's own decision on a sample, before they see the original.

    One local transaction: the review, the sample's new status, an audit-log entry and the
    ``qa_review`` outbox mutation. Raises BlindDecisionRejected or QaRefused.
    """
    with writing(sessions) as session:
        sample = session.get(QaSample, sample_id)
        if sample is None:
            raise QaRefused("this sample is not on this workstation")
        if sample.auditor_id != auditor_id:
            raise QaRefused("this sample is assigned to someone else")
        if sample.status != "pending" or review_for_sample(session, sample_id) is not None:
            raise QaRefused("you have already re-reviewed this sample")
        case = session.get(Case, sample.case_id)
        problems = validate_blind_decision(taxonomy, case, policy_code, action, rationale)
        if problems:
            raise BlindDecisionRejected(problems)
        now = clock.now()
        review = QaReview(
            id=uuid.uuid4(), sample_id=sample.id, case_id=sample.case_id,
            auditor_id=auditor_id, reviewer_id=sample.reviewer_id,
            decision_id=sample.decision_id, policy_code=policy_code, action=action,
            rationale=rationale.strip(), submitted_at=now, feedback="")
        session.add(review)
        sample.status = "reviewed"
        payload: dict[str, Any] = {
            # No "case_id": the sync engine would then hold back pulled changes to the
            # case while this waits, which only a change to the case itself needs.
            "id": str(review.id), "sample_id": str(sample.id), "auditor_id": str(auditor_id),
            "policy_code": policy_code, "action": action,
            "rationale": review.rationale, "submitted_at": now.isoformat(),
        }
        append_audit(session, origin=client_id, actor_id=auditor_id, kind="qa_review",
                     subject=f"case:{sample.case_id}", now=now, carrier=payload,
                     details={"sample_id": str(sample.id), "policy_code": policy_code,
                              "action": action})
        enqueue(session, client_id=client_id, kind="qa_review", entity_id=review.id,
                payload=payload, now=now)
        session.flush()
        session.expunge(review)
    return review


@dataclass(frozen=True)
class OriginalDecision:
    """The decision under audit, shown to the auditor only after their blind decision."""

    decision_id: uuid.UUID
    reviewer_name: str
    policy_code: str
    action: str
    rationale: str
    created_at: datetime
    matches: bool  # the auditor's blind decision has the same policy and action


def original_for_review(session: Session, review: QaReview) -> OriginalDecision | None:
    """The original decision of a recorded blind review (None for a calibration item)."""
    if review.decision_id is None:
        return None
    row = session.execute(
        select(Decision, Reviewer.display_name)
        .join(Reviewer, Reviewer.id == Decision.reviewer_id)
        .where(Decision.id == review.decision_id)).first()
    if row is None:
        return None
    decision, name = row
    return OriginalDecision(decision.id, name, decision.policy_code, decision.action,
                            decision.rationale, decision.created_at,
                            (decision.policy_code, decision.action)
                            == (review.policy_code, review.action))


def verdict_waiting(session: Session, review_id: uuid.UUID) -> bool:
    """Whether a verdict on the review waits in the outbox (a pull may have brought the
    backend's copy of the review, still without it, over the local one)."""
    return session.scalar(
        select(OutboxEntry.seq).where(OutboxEntry.kind == "qa_verdict",
                                      OutboxEntry.entity_id == review_id,
                                      OutboxEntry.state == "pending").limit(1)) is not None


def record_verdict(sessions: sessionmaker[Session], *, review_id: uuid.UUID,
                   auditor_id: uuid.UUID, client_id: str, agrees: bool,
                   reason_category: str | None, feedback: str, clock: Clock) -> QaReview:
    """The auditor's verdict on the original: agree or disagree (with a reason category),
    and feedback for the reviewer. One local transaction with its ``qa_verdict`` mutation."""
    if reason_category is not None and reason_category not in QA_REASON_CATEGORIES:
        raise QaRefused(f"unknown reason category {reason_category!r}")
    if not agrees and reason_category is None:
        raise QaRefused("say why you disagree: choose a reason category")
    with writing(sessions) as session:
        review = session.get(QaReview, review_id)
        if review is None or review.auditor_id != auditor_id:
            raise QaRefused("this review is not yours on this workstation")
        if review.verdict_at is not None or verdict_waiting(session, review.id):
            raise QaRefused("you have already given your verdict on this sample")
        now = clock.now()
        review.agrees = agrees
        review.reason_category = reason_category
        review.feedback = feedback.strip()
        review.verdict_at = now
        payload: dict[str, Any] = {
            "review_id": str(review.id), "auditor_id": str(auditor_id), "agrees": agrees,
            "reason_category": reason_category, "feedback": review.feedback,
            "verdict_at": now.isoformat(),
        }
        append_audit(session, origin=client_id, actor_id=auditor_id, kind="qa_verdict",
                     subject=f"case:{review.case_id}", now=now, carrier=payload,
                     details={"review_id": str(review.id), "agrees": agrees,
                              "reason_category": reason_category})
        enqueue(session, client_id=client_id, kind="qa_verdict", entity_id=review.id,
                payload=payload, now=now)
        session.flush()
        session.expunge(review)
    return review
