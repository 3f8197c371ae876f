"""Quality figures from the stored audits: per reviewer, team and policy area, per period.

What is compared:

- **Agreement** (auditor versus reviewer): for each blind re-review of a decision, the
  auditor's category and the reviewer's, a category being the pair *policy/action*. Percent
  agreement (with its Wilson interval) and Cohen's kappa (with its interval, Fleiss, Cohen
  & Everitt 1969) are computed over those pairs. The auditor's own agree/disagree verdict
  (and its reason category) is reported beside them, as the auditor's judgement.
- **Golden accuracy**: the share of a reviewer's decisions on golden cases with exactly the
  expected policy and action (Wilson interval).
- **Calibration**: Fleiss' kappa over the cases every member answered, and Krippendorff's
  alpha over all answers (missing ones allowed), each with a bootstrap interval.

**Too small.** A figure over fewer than `reviewer.qa.agreement.MIN_PAIRED_ITEMS` (30) paired
re-reviews, or `reviewer.qa.golden.MIN_GOLDEN_ANSWERS` (30) golden answers, or
`reviewer.qa.agreement.MIN_CALIBRATION_ITEMS` (10) calibration cases, carries
``too_small=True``: its interval is then wide enough that the figure says little, and
reports show it with a warning rather than as a result.

A re-review counts in the period (ISO week, or day) of the decision it audits, in the team
of the queue the case was in, and in the case's policy area.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from reviewer.qa.agreement import (
    MIN_CALIBRATION_ITEMS,
    MIN_PAIRED_ITEMS,
    KappaResult,
    Proportion,
    cohens_kappa,
    fleiss_kappa_from_ratings,
    krippendorff_alpha_nominal,
    percent_agreement,
    proportion,
)
from reviewer.qa.golden import MIN_GOLDEN_ANSWERS
from reviewer.store.database import Database
from reviewer.store.models import (
    Case,
    Decision,
    QaCalibration,
    QaCalibrationMember,
    QaGoldenScore,
    QaReview,
    QaSample,
    Queue,
    Reviewer,
)

SCOPES = ("reviewer", "team", "area")


@dataclass(frozen=True)
class QaRow:
    """One line of the QA report: agreement of auditors with `key`'s decisions in `period`.

    `period` is an ISO week ("2026-W47") or a day ("2026-11-21"); `scope` is "reviewer"
    (key: the reviewer's display name), "team" (key: team code) or "area" (key: policy
    area code). `agreement` and `kappa` are None when there is nothing (or, for kappa,
    when it is undefined); `too_small` when n < MIN_PAIRED_ITEMS (30).
    """

    period: str
    scope: str
    key: str
    n: int
    agreement: float | None
    agreement_low: float | None
    agreement_high: float | None
    kappa: float | None
    too_small: bool
    kappa_low: float | None = None
    kappa_high: float | None = None


@dataclass(frozen=True)
class AuditPair:
    """One decision and an auditor's blind re-review of it."""

    review_id: uuid.UUID
    reviewer_id: uuid.UUID
    reviewer_name: str
    team: str
    area: str
    decided_at: datetime
    reviewer_category: str
    auditor_category: str
    agrees: bool | None
    reason_category: str | None


def period_of(when: datetime, granularity: str = "week") -> str:
    if granularity == "day":
        return when.date().isoformat()
    if granularity == "week":
        year, week, _ = when.isocalendar()
        return f"{year}-W{week:02d}"
    raise ValueError(f"granularity is 'week' or 'day', not {granularity!r}")


def audit_pairs(session: Session, *, since: datetime | None = None, team: str | None = None,
                reviewer_id: uuid.UUID | None = None,
                auditor_id: uuid.UUID | None = None) -> list[AuditPair]:
    """Every blind re-review of a decision (made since `since`, in `team`'s queues; of
    `reviewer_id`'s decisions; by `auditor_id`)."""
    statement = (
        select(QaReview, Decision, Reviewer.display_name, Queue.team_code, Case.policy_area)
        .join(Decision, Decision.id == QaReview.decision_id)
        .join(Reviewer, Reviewer.id == Decision.reviewer_id)
        .join(Case, Case.id == Decision.case_id)
        .join(Queue, Queue.id == Case.queue_id)
        .order_by(Decision.created_at, QaReview.id)
    )
    if since is not None:
        statement = statement.where(Decision.created_at >= since)
    if team is not None:
        statement = statement.where(Queue.team_code == team)
    if reviewer_id is not None:
        statement = statement.where(Decision.reviewer_id == reviewer_id)
    if auditor_id is not None:
        statement = statement.where(QaReview.auditor_id == auditor_id)
    return [
        AuditPair(review.id, decision.reviewer_id, name, team_code, area, decision.created_at,
                  f"{decision.policy_code}/{decision.action}",
                  f"{review.policy_code}/{review.action}", review.agrees,
                  review.reason_category)
        for review, decision, name, team_code, area in session.execute(statement)
    ]


@dataclass(frozen=True)
class Agreement:
    """Agreement of auditors with a set of decisions: percent, kappa, and the verdicts."""

    n: int
    percent: Proportion
    kappa: KappaResult
    agreed_by_auditor: int
    disagreed_by_auditor: int
    reasons: dict[str, int]

    @property
    def too_small(self) -> bool:
        return self.n < MIN_PAIRED_ITEMS


def agreement_of(pairs: Iterable[AuditPair]) -> Agreement:
    pairs = list(pairs)
    reviewer = [p.reviewer_category for p in pairs]
    auditor = [p.auditor_category for p in pairs]
    reasons: dict[str, int] = defaultdict(int)
    for pair in pairs:
        if pair.agrees is False and pair.reason_category:
            reasons[pair.reason_category] += 1
    return Agreement(
        n=len(pairs),
        percent=percent_agreement(auditor, reviewer),
        kappa=cohens_kappa(auditor, reviewer),
        agreed_by_auditor=sum(1 for p in pairs if p.agrees is True),
        disagreed_by_auditor=sum(1 for p in pairs if p.agrees is False),
        reasons=dict(reasons),
    )


def _row(period: str, scope: str, key: str, pairs: list[AuditPair]) -> QaRow:
    figures = agreement_of(pairs)
    interval = figures.percent.interval
    kappa = figures.kappa
    return QaRow(
        period=period, scope=scope, key=key, n=figures.n,
        agreement=figures.percent.estimate,
        agreement_low=interval.low if interval else None,
        agreement_high=interval.high if interval else None,
        kappa=kappa.value, too_small=figures.too_small,
        kappa_low=kappa.interval.low if kappa.interval else None,
        kappa_high=kappa.interval.high if kappa.interval else None,
    )


def qa_report_rows(session: Session, since: datetime, team: str | None,
                   granularity: str = "week") -> list[QaRow]:
    """The QA report: per period, one row per reviewer, team and policy area audited.

    Sorted by period, scope (reviewer, team, area) and key. Works on the backend or a
    replica (each sees the audits its role may see).
    """
    groups: dict[tuple[str, str, str], list[AuditPair]] = defaultdict(list)
    for pair in audit_pairs(session, since=since, team=team):
        period = period_of(pair.decided_at, granularity)
        groups[(period, "reviewer", pair.reviewer_name)].append(pair)
        groups[(period, "team", pair.team)].append(pair)
        groups[(period, "area", pair.area)].append(pair)
    order = {scope: index for index, scope in enumerate(SCOPES)}
    keys = sorted(groups, key=lambda k: (k[0], order[k[1]], k[2]))
    return [_row(period, scope, key, groups[(period, scope, key)])
            for period, scope, key in keys]


# -- golden accuracy -----------------------------------------------------------------------


@dataclass(frozen=True)
class GoldenRow:
    period: str
    scope: str
    key: str
    n: int
    accuracy: float | None
    accuracy_low: float | None
    accuracy_high: float | None
    too_small: bool


def golden_proportion(matches: list[str]) -> Proportion:
    return proportion(sum(1 for m in matches if m == "exact"), len(matches),
                      minimum=MIN_GOLDEN_ANSWERS, what="golden answers")


def golden_rows(session: Session, since: datetime, team: str | None,
                granularity: str = "week") -> list[GoldenRow]:
    """Accuracy against golden cases, per period and reviewer, team and area."""
    statement = (
        select(QaGoldenScore.match, Decision.created_at, Reviewer.display_name,
               Queue.team_code, Case.policy_area)
        .join(Decision, Decision.id == QaGoldenScore.decision_id)
        .join(Reviewer, Reviewer.id == QaGoldenScore.reviewer_id)
        .join(Case, Case.id == QaGoldenScore.case_id)
        .join(Queue, Queue.id == Case.queue_id)
        .where(Decision.created_at >= since)
    )
    if team is not None:
        statement = statement.where(Queue.team_code == team)
    groups: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for match, created_at, name, team_code, area in session.execute(statement):
        period = period_of(created_at, granularity)
        for scope, key in (("reviewer", name), ("team", team_code), ("area", area)):
            groups[(period, scope, key)].append(match)
    order = {scope: index for index, scope in enumerate(SCOPES)}
    rows = []
    for period, scope, key in sorted(groups, key=lambda k: (k[0], order[k[1]], k[2])):
        share = golden_proportion(groups[(period, scope, key)])
        rows.append(GoldenRow(
            period, scope, key, share.n, share.estimate,
            share.interval.low if share.interval else None,
            share.interval.high if share.interval else None,
            share.n < MIN_GOLDEN_ANSWERS))
    return rows


# -- calibration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationResult:
    calibration_id: uuid.UUID
    name: str
    members: int
    cases: int
    complete_cases: int  # answered by every member: what Fleiss' kappa uses
    fleiss: KappaResult
    alpha: KappaResult
    created_at: datetime | None = None

    @property
    def too_small(self) -> bool:
        return self.complete_cases < MIN_CALIBRATION_ITEMS


def calibration_agreement(session: Session, calibration_id: uuid.UUID,
                          rng: random.Random | None = None) -> CalibrationResult:
    """How far the members of a calibration session agree (Fleiss' kappa, Krippendorff's
    alpha), over each case's *policy/action* answers. `rng` seeds the bootstrap intervals."""
    calibration = session.get(QaCalibration, calibration_id)
    if calibration is None:
        raise KeyError(f"no calibration session {calibration_id}")
    members = list(session.scalars(
        select(QaCalibrationMember.reviewer_id)
        .where(QaCalibrationMember.calibration_id == calibration_id)
        .order_by(QaCalibrationMember.reviewer_id)))
    sample = aliased(QaSample)
    answers: dict[uuid.UUID, dict[uuid.UUID, str]] = defaultdict(dict)
    cases = set(session.scalars(select(QaSample.case_id)
                                .where(QaSample.calibration_id == calibration_id)))
    for review in session.scalars(
        select(QaReview).join(sample, sample.id == QaReview.sample_id)
        .where(sample.calibration_id == calibration_id)
    ):
        answers[review.case_id][review.auditor_id] = f"{review.policy_code}/{review.action}"
    ordered = sorted(cases)
    complete: list[list[Hashable]] = [
        [answers[c][m] for m in members] for c in ordered
        if len(members) >= 2 and all(m in answers[c] for m in members)]
    units: list[list[Hashable | None]] = [[answers[c].get(m) for m in members] for c in ordered]
    rng = rng or random.Random(int(calibration_id.int % (1 << 63)))
    return CalibrationResult(
        calibration_id, calibration.name, len(members), len(ordered), len(complete),
        fleiss_kappa_from_ratings(complete, rng=rng), krippendorff_alpha_nominal(units, rng=rng),
        calibration.created_at)


# -- one reviewer's own view ---------------------------------------------------------------


@dataclass(frozen=True)
class QaResult:
    """One audit of a reviewer's decision, as the reviewer sees it (no auditor's name)."""

    external_ref: str
    decided_at: datetime
    your_decision: str
    auditor_decision: str
    agrees: bool | None
    reason_category: str | None
    feedback: str
    verdict_at: datetime | None


@dataclass(frozen=True)
class ReviewerQuality:
    agreement: Agreement
    golden: Proportion
    results: list[QaResult]


def reviewer_quality(session: Session, reviewer_id: uuid.UUID) -> ReviewerQuality:
    """A reviewer's QA results, newest first, their agreement figures and golden accuracy.

    Only audits with the auditor's verdict count: until then the re-review is not finished.
    """
    rows = session.execute(
        select(QaReview, Decision, Case.external_ref)
        .join(Decision, Decision.id == QaReview.decision_id)
        .join(Case, Case.id == Decision.case_id)
        .where(Decision.reviewer_id == reviewer_id, QaReview.verdict_at.is_not(None))
        .order_by(QaReview.verdict_at.desc())
    ).all()
    results = [
        QaResult(ref, decision.created_at, f"{decision.policy_code}/{decision.action}",
                 f"{review.policy_code}/{review.action}", review.agrees,
                 review.reason_category, review.feedback, review.verdict_at)
        for review, decision, ref in rows]
    finished = {review.id for review, _, _ in rows}
    pairs = [p for p in audit_pairs(session, reviewer_id=reviewer_id)
             if p.review_id in finished]
    matches = list(session.scalars(
        select(QaGoldenScore.match).where(QaGoldenScore.reviewer_id == reviewer_id)))
    return ReviewerQuality(agreement_of(pairs), golden_proportion(matches), results)


def my_quality(replica: Database, reviewer_id: uuid.UUID) -> ReviewerQuality:
    """What the reviewer's My quality dialog shows (`reviewer_quality`), read from their
    replica in one session."""
    with replica.sessions() as session:
        return reviewer_quality(session, reviewer_id)
