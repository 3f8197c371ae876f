"""The backend's side of quality auditing: applying pushed QA work, scoring golden answers.

An auditor's work travels from the replica as outbox mutations, applied at most once by
`reviewer.sync.appliers.apply_mutations` (its ledger of mutation ids makes a replay a no-op):

- ``qa_review``: the blind decision on a sample (the sample becomes "reviewed");
- ``qa_verdict``: the auditor's verdict on the original (agree/disagree, reason, feedback);
- ``qa_samples``: a sample drawn on a replica (rows of `QaSample`).

Each check is made again here, against the backend's own rows: a tampered or stale client
can do no more than its sample allows. `score_golden_decisions` scores decisions on golden
cases as they arrive, so a reviewer's golden score exists as soon as their decision syncs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from reviewer.qa.golden import GoldenAnswer, GoldenCase, score_answer
from reviewer.store.models import (
    QA_METHODS,
    QA_REASON_CATEGORIES,
    Case,
    Decision,
    QaGolden,
    QaGoldenScore,
    QaReview,
    QaSample,
    Reviewer,
    utcnow,
)
from reviewer.store.payload import (
    MutationRejected,
    optional_payload_id,
    payload_id,
    payload_text,
    payload_when,
)
from reviewer.vocabulary import Role

SAMPLER_ROLES = (Role.AUDITOR.value, Role.LEAD.value, Role.ADMIN.value)
NOT_ON_ITS_CASE = "a sampled decision is not on the backend, or not on its case"
"""One answer for a decision that does not exist and one on another case (another team's,
say), so that nobody learns decision ids by drawing samples that name them."""


def apply_qa_review(session: Session, payload: dict[str, Any], version: int,
                    ctx: Any = None) -> None:
    """The auditor's blind decision on one of their samples."""
    sample = session.scalar(
        select(QaSample).where(QaSample.id == payload_id(payload, "sample_id"))
        .with_for_update())
    if sample is None:
        raise MutationRejected("the sample does not exist on the backend")
    auditor_id = _as_actor(ctx, payload, "auditor_id")
    if sample.auditor_id != auditor_id:
        raise MutationRejected("this sample is assigned to another auditor")
    if sample.status != "pending":
        raise MutationRejected(f"this sample is already {sample.status}")
    policy_code = payload_text(payload, "policy_code", limit=64)
    action = payload_text(payload, "action", limit=32)
    if not policy_code or not action:
        raise MutationRejected("the blind decision needs a policy and an action")
    review_id = payload_id(payload, "id")
    session.add(QaReview(
        id=review_id, sample_id=sample.id, case_id=sample.case_id,
        auditor_id=auditor_id, reviewer_id=sample.reviewer_id, decision_id=sample.decision_id,
        policy_code=policy_code, action=action,
        rationale=payload_text(payload, "rationale", limit=20_000),
        submitted_at=payload_when(payload, "submitted_at"), feedback="", change_version=version,
    ))
    sample.status = "reviewed"
    sample.change_version = version
    if sample.decision_id is not None:
        _reveal_original(session, review_id, sample.decision_id, version)


def _reveal_original(session: Session, review_id: uuid.UUID, decision_id: uuid.UUID,
                     version: int) -> None:
    """Give the original decision this push's version, so the auditor's next pull brings it.

    Their replica could not hold it before (row security on PostgreSQL shows it to them only
    now), and it is older than their pull cursor. No app role may update a decision on
    PostgreSQL, so there ``rw_reveal_original`` does it for the auditor's own review.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.flush()
        session.execute(text("SELECT rw_reveal_original(:review, :version)"),
                        {"review": review_id, "version": version})
    else:
        session.execute(update(Decision).where(Decision.id == decision_id)
                        .values(change_version=version))


def apply_qa_verdict(session: Session, payload: dict[str, Any], version: int,
                     ctx: Any = None) -> None:
    """The auditor's verdict on the original decision, once their blind one is recorded."""
    review = session.scalar(
        select(QaReview).where(QaReview.id == payload_id(payload, "review_id"))
        .with_for_update())
    if review is None:
        raise MutationRejected("the blind review does not exist on the backend")
    if review.auditor_id != _as_actor(ctx, payload, "auditor_id"):
        raise MutationRejected("only the auditor who made the blind review gives its verdict")
    if review.verdict_at is not None:
        raise MutationRejected("this review already has a verdict")
    agrees = payload.get("agrees")
    if not isinstance(agrees, bool):
        raise MutationRejected("agrees must be true or false")
    reason = payload.get("reason_category")
    if reason is not None and reason not in QA_REASON_CATEGORIES:
        raise MutationRejected(f"unknown reason category {reason!r}")
    if not agrees and reason is None:
        raise MutationRejected("a disagreement needs a reason category")
    review.agrees = agrees
    review.reason_category = reason
    review.feedback = payload_text(payload, "feedback", limit=20_000)
    review.verdict_at = payload_when(payload, "verdict_at")
    review.change_version = version


def apply_qa_samples(session: Session, payload: dict[str, Any], version: int,
                     ctx: Any = None) -> None:
    """Samples an auditor or lead drew on their replica.

    For a signed-in person the rules of drawing hold here too: an auditor draws only for
    themselves, a lead for the auditors of their teams; every sampled case must be one the
    drawer may see, every decision must be on its case, and nobody audits their own."""
    drawn_by = _as_actor(ctx, payload, "drawn_by")
    person = session.get(Reviewer, drawn_by)
    if person is None or not person.active or person.role not in SAMPLER_ROLES:
        raise MutationRejected("only auditors, leads and admins draw audit samples")
    actor = getattr(ctx, "actor", None)
    rows = payload.get("samples")
    if not isinstance(rows, list) or not rows:
        raise MutationRejected("the sample holds no decisions")
    for row in rows:
        if not isinstance(row, dict):
            raise MutationRejected("a sample row is not an object")
        method = str(row.get("method", ""))
        if method not in QA_METHODS:
            raise MutationRejected(f"unknown sampling method {method!r}")
        decision_id = optional_payload_id(row, "decision_id")
        decision = session.get(Decision, decision_id) if decision_id is not None else None
        if decision_id is not None and decision is None:
            raise MutationRejected(NOT_ON_ITS_CASE)
        case_id = payload_id(row, "case_id")
        auditor_id = payload_id(row, "auditor_id")
        if actor is not None:
            _check_sample_row(session, actor, person, case_id, decision, auditor_id)
        seed = row.get("seed")
        session.add(QaSample(
            id=payload_id(row, "id"), case_id=case_id,
            decision_id=decision_id,
            reviewer_id=decision.reviewer_id if decision is not None else None,
            auditor_id=auditor_id, method=method,
            rate=float(row["rate"]) if row.get("rate") is not None else None,
            seed=int(seed) if seed is not None else None,
            draw=float(row["draw"]) if row.get("draw") is not None else None,
            drawn_by=drawn_by, drawn_at=payload_when(row, "drawn_at"), status="pending",
            change_version=version,
        ))


def _as_actor(ctx: Any, payload: dict[str, Any], key: str) -> uuid.UUID:
    """The payload's person, who must be the one signed in (see reviewer.sync.appliers)."""
    if ctx is None:
        return payload_id(payload, key)
    return ctx.as_actor(payload, key)


def _check_sample_row(session: Session, actor: Any, drawer: Reviewer, case_id: uuid.UUID,
                      decision: Decision | None, auditor_id: uuid.UUID) -> None:
    case = session.get(Case, case_id)
    if case is None:
        raise MutationRejected("a sampled case is not on the backend")
    if decision is not None and decision.case_id != case_id:
        raise MutationRejected(NOT_ON_ITS_CASE)  # the same words: no probing
    if not actor.works_queue(case.queue_id):  # answered as for no case: no probing
        raise MutationRejected("a sampled case is not on the backend")
    if drawer.role == Role.AUDITOR.value and auditor_id != drawer.id:
        raise MutationRejected("an auditor draws samples only for themselves")
    auditor = session.get(Reviewer, auditor_id)
    if auditor is None or not auditor.active or auditor.role not in SAMPLER_ROLES:
        raise MutationRejected("samples go to an active auditor, lead or admin")
    if decision is not None and decision.reviewer_id == auditor_id:
        raise MutationRejected("nobody audits their own decisions")


QA_APPLIERS = {
    "qa_review": apply_qa_review,
    "qa_verdict": apply_qa_verdict,
    "qa_samples": apply_qa_samples,
}


def score_golden_decisions(session: Session, decision_ids: Iterable[Any], version: int,
                           now: datetime | None = None) -> int:
    """Score the decisions among `decision_ids` that were made on golden cases; idempotent.

    Returns how many scores were added. A decision scored before is left alone.
    """
    ids = []
    for value in decision_ids:
        try:
            ids.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    if not ids or version == 0:  # 0: no version taken (a placeholder is negative)
        return 0
    added = 0
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        rows = session.execute(
            select(Decision, QaGolden).join(QaGolden, QaGolden.case_id == Decision.case_id)
            .where(Decision.id.in_(chunk))
        ).all()
        if not rows:
            continue
        scored = set(session.scalars(
            select(QaGoldenScore.decision_id)
            .where(QaGoldenScore.decision_id.in_([d.id for d, _ in rows]))))
        for decision, golden in rows:
            if decision.id in scored:
                continue
            score = score_answer(
                GoldenCase(golden.case_id, golden.policy_code, golden.action),
                GoldenAnswer(decision.case_id, decision.reviewer_id, decision.policy_code,
                             decision.action))
            session.add(QaGoldenScore(
                id=uuid.uuid4(), case_id=decision.case_id, decision_id=decision.id,
                reviewer_id=decision.reviewer_id, match=score.match.value,
                scored_at=now or utcnow(), change_version=version))
            added += 1
    if added:
        session.flush()
    return added
