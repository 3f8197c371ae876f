"""The demo auditor's week: what Mei (the demo's auditor) did with the past week's decisions.

So that the Audit window, My quality, the reports window's Quality tab and
``reviewer-admin report --kind qa`` show figures on the demo's first start, the demo records
a week of quality auditing on the backend, through the code that records it for real:

- **Samples**: one audit sample a day for Mei, drawn (by Sofia, the lead) with
  `reviewer.qa.store.draw_sample` from the day before's decisions, each with its own seed,
  at a higher rate than a team's 5% so that a demo of a hundred cases has audits to show.
- **Blind re-reviews and verdicts** of most samples, applied as the backend applies Mei's
  pushed ``qa_review`` and ``qa_verdict`` mutations (`reviewer.qa.apply`), each checked first
  as her Audit window checks it (`reviewer.qa.store.validate_blind_decision`). How often she
  disagrees depends on the policy area (hate speech and harassment are hard, spam is not)
  and on the reviewer (Jonas started ten days ago). The last day's samples are partly
  still pending: her Audit window has work in it.
- **A calibration session** (`reviewer.qa.store.create_calibration`, run by Sofia) on ten
  of the week's cases, answered blind by every member: three reviewers and Mei.
- **Golden cases**: a few of the week's decided cases marked golden
  (`reviewer.qa.store.mark_golden`), which scores the decisions already on them.

It draws on its own `random.Random`, derived from the demo's without consuming it, so the
demo's cases stay those of their seed (tests/unit/demo/test_bulk.py). It runs once: a
backend where Mei has samples or has run a calibration session is left as it is.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from reviewer.clock import Clock, ManualClock
from reviewer.policy.taxonomy import Policy, Taxonomy
from reviewer.qa.apply import apply_qa_review, apply_qa_verdict
from reviewer.qa.sampling import SamplingPolicy
from reviewer.qa.store import (
    create_calibration,
    draw_sample,
    mark_golden,
    validate_blind_decision,
)
from reviewer.store.changes import next_change_version
from reviewer.store.database import Database
from reviewer.store.models import (
    PERSON_NAMESPACE,
    Case,
    Decision,
    QaCalibration,
    QaGoldenScore,
    QaSample,
    Reviewer,
    reviewer_id_for,
)
from reviewer.vocabulary import Action

AUDITOR_USERNAME = "mei"
CALIBRATION_MEMBERS = ("amara", "jonas", "lucia", AUDITOR_USERNAME)
LEAD_USERNAME = "sofia"  # draws the auditor's daily sample and runs the calibration session
CALIBRATION_CASES = 10
GOLDEN_CASES = 6
DAYS = 7

DEMO_SAMPLING = SamplingPolicy(base_rate=0.45, severe_multiplier=1.6, new_reviewer_rate=0.7)
"""The demo auditor's rates: far above a team's, so that a small demo has audits to show."""

DISAGREEMENT_BY_AREA = {
    "violence_graphic": 0.15,
    "suicide_self_injury": 0.15,
    "child_safety": 0.08,
    "hate_speech": 0.32,
    "bullying_harassment": 0.28,
    "spam_fraud": 0.07,
    "advertising": 0.18,
    "commerce": 0.12,
    "intellectual_property": 0.2,
    "legal_regulatory": 0.22,
}
"""How often the auditor's blind decision differs from the reviewer's, by policy area."""
DEFAULT_DISAGREEMENT = 0.15
NEW_REVIEWER_EXTRA = 0.15  # a reviewer in their first weeks disagrees with the auditor more
PENDING_SHARE = 0.35  # of the last draw's samples, left for the auditor's Audit window
CALIBRATION_MATCH = 0.7  # a member's answer is the case's decided outcome this often
GOLDEN_MATCH = 0.7  # the golden outcome is the decision's own this often

RATIONALES = {
    True: [
        "Content matches the policy definition; the action fits its severity and reach.",
        "Same reading of the post and the context in the report; the action is proportionate.",
        "The reported text and the reporter's note support this outcome under the policy.",
    ],
    False: [
        "On a blind read the context points to another outcome than the one recorded here.",
        "The content fits the definition, but the severity calls for a different action.",
        "Read with the report's context, another policy describes this content better.",
    ],
}
FEEDBACK = {
    "policy_misread": "Check the policy's definition again: the content fits {policy} better.",
    "wrong_action": "Right policy; the severity and reach called for {action} instead.",
    "missed_context": "The reporter's note and the account's history change the reading here.",
    "evidence": "The evidence in the case does not support this action on its own.",
    "other": "Let us talk this one through in the next calibration session.",
}
AGREE_FEEDBACK = ["", "", "Well reasoned.", "Good call on a borderline case."]
DEFENSIBLE_FEEDBACK = "Not what I chose, but defensible: both outcomes fit the policy."
GOLDEN_NOTE = "Reference case from the week's calibration discussion."


@dataclass
class AuditWeekSummary:
    """What `seed_audit_week` recorded (all zero and ``skipped`` when it had run before, or
    the backend has no demo auditor)."""

    skipped: bool = False
    samples: int = 0
    blind_reviews: int = 0
    agreed: int = 0  # the auditor's verdict: the original decision stands
    disagreed: int = 0
    pending: int = 0  # samples not re-reviewed yet
    calibration_sessions: int = 0
    calibration_members: int = 0
    calibration_cases: int = 0
    calibration_answers: int = 0
    golden_cases: int = 0
    golden_scores: int = 0


def audit_rng(rng_or_seed: random.Random | int) -> random.Random:
    """The audit week's own rng: from a seed, or derived from ``rng`` without consuming it."""
    if isinstance(rng_or_seed, random.Random):
        digest = hashlib.sha256(repr(rng_or_seed.getstate()).encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))
    return random.Random(f"audit-week:{rng_or_seed}")


def audit_week_recorded(session: Session, auditor_id: uuid.UUID) -> bool:
    """Whether the auditor has samples (or drew some) or ran a calibration session: the
    week is recorded (the demo's, or the auditor's own work)."""
    drawn = session.scalar(select(QaSample.id).where(
        or_(QaSample.drawn_by == auditor_id, QaSample.auditor_id == auditor_id)).limit(1))
    run = session.scalar(select(QaCalibration.id)
                         .where(QaCalibration.auditor_id == auditor_id).limit(1))
    return drawn is not None or run is not None


def seed_audit_week(backend: Database, taxonomy: Taxonomy, clock: Clock,
                    rng_or_seed: random.Random | int) -> AuditWeekSummary:
    """Record the demo auditor's past week on ``backend`` (which holds the demo's people and
    decisions), ending at ``clock.now()``; nothing if it is recorded already."""
    rng = audit_rng(rng_or_seed)
    now = clock.now()
    auditor_id = reviewer_id_for(AUDITOR_USERNAME)
    summary = AuditWeekSummary()
    with backend.writing() as session:
        auditor = session.get(Reviewer, auditor_id)
        if auditor is None or auditor.role != "auditor" or \
                audit_week_recorded(session, auditor_id):
            summary.skipped = True
            return summary
        lead = session.get(Reviewer, reviewer_id_for(LEAD_USERNAME))
        drawn_by = lead.id if lead is not None and lead.active and lead.role == "lead" \
            else auditor_id
        week = _Week(session, taxonomy, rng, now, auditor_id, drawn_by, summary)
        sampled = week.daily_samples()
        calibrated = week.calibration(exclude=sampled)
        week.golden(exclude=sampled | calibrated)
    return summary


class _Week:
    """The steps of the week, in one backend transaction."""

    def __init__(self, session: Session, taxonomy: Taxonomy, rng: random.Random,
                 now: datetime, auditor_id: uuid.UUID, drawn_by: uuid.UUID,
                 summary: AuditWeekSummary) -> None:
        self.session = session
        self.taxonomy = taxonomy
        self.rng = rng
        self.now = now
        self.auditor_id = auditor_id
        self.drawn_by = drawn_by
        self.summary = summary
        self.start = now - timedelta(days=DAYS)

    # -- samples, blind reviews, verdicts --------------------------------------------------

    def daily_samples(self) -> set[uuid.UUID]:
        """One draw a day from the day before's decisions, most of them re-reviewed; the
        cases sampled."""
        ends = [self.start + timedelta(days=day) for day in range(1, DAYS)]
        ends.append(self.now - timedelta(hours=3))
        since = self.start
        cases: set[uuid.UUID] = set()
        for index, until in enumerate(ends):
            last = index == len(ends) - 1
            drawn_at = until + timedelta(minutes=self.rng.randint(20, 90)) if not last else until
            stored = draw_sample(
                self.session, self.taxonomy, auditor_id=self.auditor_id,
                drawn_by=self.drawn_by, since=since, until=until,
                clock=ManualClock(drawn_at), seed=self.rng.getrandbits(63),
                policy=DEMO_SAMPLING, version=next_change_version(self.session))
            since = until
            self.summary.samples += stored.stored
            if not stored.sample_ids:
                continue
            rows = self.session.execute(
                select(QaSample, Decision, Case, Reviewer.started_on)
                .join(Decision, Decision.id == QaSample.decision_id)
                .join(Case, Case.id == QaSample.case_id)
                .join(Reviewer, Reviewer.id == Decision.reviewer_id)
                .where(QaSample.id.in_(stored.sample_ids))
                .order_by(Decision.created_at, Decision.id)).all()
            moment = drawn_at
            version = next_change_version(self.session)
            for sample, decision, case, started_on in rows:
                cases.add(case.id)
                moment += timedelta(minutes=self.rng.uniform(2, 6) if last
                                    else self.rng.uniform(4, 25))
                if moment >= self.now or (last and self.rng.random() < PENDING_SHARE):
                    self.summary.pending += 1
                    continue
                new = decision.created_at - started_on < DEMO_SAMPLING.new_reviewer_period
                self._re_review(sample, decision, case, moment, version, new_reviewer=new)
        return cases

    def _re_review(self, sample: QaSample, decision: Decision, case: Case, when: datetime,
                   version: int, *, new_reviewer: bool) -> None:
        chance = DISAGREEMENT_BY_AREA.get(case.policy_area, DEFAULT_DISAGREEMENT)
        if new_reviewer:
            chance += NEW_REVIEWER_EXTRA
        outcome: tuple[str, str, str | None] = (decision.policy_code, decision.action, None)
        if self.rng.random() < chance:
            outcome = self._other_outcome(case, decision.policy_code, decision.action) \
                or outcome
        policy_code, action, reason = outcome
        same = (policy_code, action) == (decision.policy_code, decision.action)
        rationale = self.rng.choice(RATIONALES[same])
        if validate_blind_decision(self.taxonomy, case, policy_code, action, rationale):
            return  # not an outcome the Audit window would take: leave the sample pending
        review_id = uuid.uuid5(PERSON_NAMESPACE, f"demo-qa-review:{sample.id}")
        apply_qa_review(self.session, {
            "id": str(review_id), "sample_id": str(sample.id),
            "auditor_id": str(self.auditor_id), "policy_code": policy_code, "action": action,
            "rationale": rationale, "submitted_at": when.isoformat(),
        }, version)
        self.summary.blind_reviews += 1
        agrees = same or self.rng.random() < 0.15
        if agrees:
            feedback = self.rng.choice(AGREE_FEEDBACK) if same else DEFENSIBLE_FEEDBACK
            reason = None
            self.summary.agreed += 1
        else:
            reason = reason or "other"
            feedback = FEEDBACK[reason].format(policy=policy_code,
                                               action=Action(action).label.lower())
            self.summary.disagreed += 1
        verdict_at = min(when + timedelta(minutes=self.rng.uniform(1, 6)),
                         self.now - timedelta(seconds=1))
        apply_qa_verdict(self.session, {
            "review_id": str(review_id), "auditor_id": str(self.auditor_id),
            "agrees": agrees, "reason_category": reason, "feedback": feedback,
            "verdict_at": verdict_at.isoformat(),
        }, version)

    def _other_outcome(self, case: Case, policy_code: str,
                       action: str) -> tuple[str, str, str] | None:
        """Another outcome for the case that its surface allows, and why it differs: another
        action under the same policy, or another policy of the area."""
        choices: list[tuple[str, str, str]] = []
        area = self.taxonomy.area(case.policy_area)
        for policy in area.policies:
            if not policy.applies_to(case.surface):
                continue
            for other in _final_actions(policy):
                if (policy.code, other.value) == (policy_code, action):
                    continue
                if policy.code == policy_code:
                    choices.append((policy.code, other.value,
                                    self.rng.choice(("wrong_action", "wrong_action",
                                                     "missed_context", "evidence"))))
                else:
                    choices.append((policy.code, other.value,
                                    self.rng.choice(("policy_misread", "policy_misread",
                                                     "missed_context", "other"))))
        return self.rng.choice(choices) if choices else None

    # -- calibration -----------------------------------------------------------------------

    def calibration(self, exclude: set[uuid.UUID]) -> set[uuid.UUID]:
        """A session two days ago on up to ten of the week's decided cases (not sampled),
        answered blind by every member; the cases in it."""
        started = self.now - timedelta(days=2)
        members = [r.id for r in self.session.scalars(
            select(Reviewer).where(Reviewer.username.in_(CALIBRATION_MEMBERS),
                                   Reviewer.active.is_(True)).order_by(Reviewer.username))]
        decided = self._decided(exclude)
        earlier = [row for row in decided if row[0].created_at < started]
        pool = earlier if len(earlier) >= CALIBRATION_CASES else decided
        if len(members) < 2 or not pool:
            return set()
        if pool is decided:  # a small demo: the session after the decisions it shows
            started = min(self.now - timedelta(minutes=30),
                          max(d.created_at for d, _ in pool) + timedelta(minutes=10))
        chosen = self.rng.sample(pool, min(CALIBRATION_CASES, len(pool)))
        chosen.sort(key=lambda row: (row[1].external_ref))
        week = started.isocalendar().week
        calibration = create_calibration(
            self.session, name=f"Week {week} calibration: borderline cases",
            auditor_id=self.drawn_by, case_ids=[case.id for _, case in chosen],
            member_ids=members, version=next_change_version(self.session), now=started)
        self.summary.calibration_sessions += 1
        self.summary.calibration_members += len(members)
        self.summary.calibration_cases += len(chosen)
        outcomes = {case.id: (decision, case) for decision, case in chosen}
        version = next_change_version(self.session)
        samples = self.session.scalars(
            select(QaSample).where(QaSample.calibration_id == calibration.id)
            .order_by(QaSample.auditor_id, QaSample.case_id)).all()
        for sample in samples:
            decision, case = outcomes[sample.case_id]
            policy_code, action = decision.policy_code, decision.action
            if self.rng.random() >= CALIBRATION_MATCH:
                other = self._other_outcome(case, policy_code, action)
                if other is not None:
                    policy_code, action = other[0], other[1]
            rationale = self.rng.choice(RATIONALES[True])
            if validate_blind_decision(self.taxonomy, case, policy_code, action, rationale):
                continue
            answered = min(self.now - timedelta(minutes=1),
                           started + timedelta(hours=self.rng.uniform(0.5, 30)))
            apply_qa_review(self.session, {
                "id": str(uuid.uuid5(PERSON_NAMESPACE, f"demo-qa-review:{sample.id}")),
                "sample_id": str(sample.id), "auditor_id": str(sample.auditor_id),
                "policy_code": policy_code, "action": action, "rationale": rationale,
                "submitted_at": answered.isoformat(),
            }, version)
            self.summary.calibration_answers += 1
        return set(outcomes)

    # -- golden cases ----------------------------------------------------------------------

    def golden(self, exclude: set[uuid.UUID]) -> None:
        """A few of the week's decided cases marked golden; their decisions are scored."""
        decided = self._decided(exclude)
        for decision, case in self.rng.sample(decided, min(GOLDEN_CASES, len(decided))):
            policy_code, action = decision.policy_code, decision.action
            if self.rng.random() >= GOLDEN_MATCH:
                other = self._other_outcome(case, policy_code, action)
                if other is not None:
                    policy_code, action = other[0], other[1]
            marked = min(self.now - timedelta(minutes=1),
                         decision.created_at + timedelta(hours=self.rng.uniform(1, 12)))
            mark_golden(self.session, self.taxonomy, case_id=case.id, policy_code=policy_code,
                        action=action, auditor_id=self.auditor_id,
                        version=next_change_version(self.session), now=marked,
                        note=GOLDEN_NOTE)
            self.summary.golden_cases += 1
            self.summary.golden_scores += self.session.scalar(
                select(func.count()).select_from(QaGoldenScore)
                .where(QaGoldenScore.case_id == case.id)) or 0

    def _decided(self, exclude: set[uuid.UUID]) -> list[tuple[Decision, Case]]:
        """The week's standing decisions (one per case) and their cases, oldest first."""
        superseded = select(Decision.supersedes_id).where(Decision.supersedes_id.is_not(None))
        rows = self.session.execute(
            select(Decision, Case).join(Case, Case.id == Decision.case_id)
            .where(Decision.created_at >= self.start, Decision.created_at < self.now,
                   Decision.conflict.is_(False), Decision.id.not_in(superseded),
                   Decision.action != Action.ESCALATE.value)
            .order_by(Decision.created_at, Decision.id)).all()
        seen: set[uuid.UUID] = set()
        result = []
        for decision, case in rows:
            if case.id in exclude or case.id in seen:
                continue
            seen.add(case.id)
            result.append((decision, case))
        return result


def _final_actions(policy: Policy) -> list[Action]:
    """The actions of a policy that settle a case (not an escalation)."""
    return [action for action in policy.actions if action != Action.ESCALATE]
