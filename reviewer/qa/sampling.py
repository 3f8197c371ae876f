"""Which decisions quality auditors re-review: a seeded, reproducible draw.

Each decision is drawn with its own probability: a base rate per policy area or reviewer
(5% by default), a higher rate for decisions a reviewer made in their first weeks, a
multiple for severe actions (capped at 100%), and every decision a lead targets. Every drawn
decision keeps how it was drawn (reason, rate, seed and the draw itself), so a sample can be
explained and re-derived later.

The draw for a decision is a function of the sample's seed and the decision's id alone
(SHA-256 of "seed:id" as a number in [0, 1)), so the same seed gives the same sample
whatever order the decisions arrive in. The seed itself comes from the injected rng.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from reviewer.clock import Clock

if TYPE_CHECKING:
    from reviewer.store.models import Case, Decision, Reviewer

DecisionId = uuid.UUID | str

DEFAULT_RATE = 0.05
DEFAULT_SEVERE_MULTIPLIER = 3.0
DEFAULT_NEW_REVIEWER_RATE = 0.20
DEFAULT_NEW_REVIEWER_PERIOD = timedelta(weeks=4)


class SampleReason(StrEnum):
    RANDOM = "random"
    SEVERE_OVERSAMPLE = "severe_oversample"
    NEW_REVIEWER = "new_reviewer"
    TARGETED = "targeted"


@dataclass(frozen=True)
class DecisionRecord:
    """What sampling needs to know about one decision, independent of the database."""

    id: DecisionId
    reviewer_id: DecisionId
    policy_area: str
    action: str
    severe: bool
    created_at: datetime
    reviewer_started_on: datetime


def record_from_orm(
    decision: Decision, case: Case, reviewer: Reviewer, severe_actions: Collection[str]
) -> DecisionRecord:
    """A `DecisionRecord` from database rows; `severe_actions` is `Taxonomy.severe_actions`."""
    return DecisionRecord(
        id=decision.id,
        reviewer_id=decision.reviewer_id,
        policy_area=case.policy_area,
        action=decision.action,
        severe=decision.action in severe_actions,
        created_at=decision.created_at,
        reviewer_started_on=reviewer.started_on,
    )


def _check_rate(rate: float, what: str) -> None:
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{what} must be between 0 and 1, not {rate}")


@dataclass(frozen=True)
class SamplingPolicy:
    """The rates of an audit sample.

    A decision's rate is its reviewer's rate if set, else its policy area's, else
    `base_rate`; raised to `new_reviewer_rate` if the reviewer was new when deciding (the
    decision was made less than `new_reviewer_period` after they started); then multiplied by
    `severe_multiplier` for a severe action, capped at 1.
    """

    base_rate: float = DEFAULT_RATE
    area_rates: Mapping[str, float] = field(default_factory=dict)
    reviewer_rates: Mapping[DecisionId, float] = field(default_factory=dict)
    severe_multiplier: float = DEFAULT_SEVERE_MULTIPLIER
    new_reviewer_rate: float = DEFAULT_NEW_REVIEWER_RATE
    new_reviewer_period: timedelta = DEFAULT_NEW_REVIEWER_PERIOD

    def __post_init__(self) -> None:
        _check_rate(self.base_rate, "base_rate")
        _check_rate(self.new_reviewer_rate, "new_reviewer_rate")
        for area, rate in self.area_rates.items():
            _check_rate(rate, f"the rate of area {area!r}")
        for reviewer, rate in self.reviewer_rates.items():
            _check_rate(rate, f"the rate of reviewer {reviewer}")
        if self.severe_multiplier < 1.0:
            raise ValueError("severe_multiplier cannot lower the rate below the base rate")
        if self.new_reviewer_period < timedelta(0):
            raise ValueError("new_reviewer_period cannot be negative")

    def is_new_reviewer(self, decision: DecisionRecord) -> bool:
        return decision.created_at - decision.reviewer_started_on < self.new_reviewer_period

    def rate_for(self, decision: DecisionRecord) -> tuple[float, SampleReason]:
        """The probability of drawing `decision`, and the rule that set it."""
        rate = self.reviewer_rates.get(
            decision.reviewer_id, self.area_rates.get(decision.policy_area, self.base_rate)
        )
        reason = SampleReason.RANDOM
        if self.is_new_reviewer(decision) and self.new_reviewer_rate > rate:
            rate, reason = self.new_reviewer_rate, SampleReason.NEW_REVIEWER
        if decision.severe and self.severe_multiplier > 1.0 and rate < 1.0:
            rate, reason = min(1.0, rate * self.severe_multiplier), SampleReason.SEVERE_OVERSAMPLE
        return rate, reason


@dataclass(frozen=True)
class SampledDecision:
    """One decision in an audit sample and how it got there.

    `draw` is the decision's number in [0, 1) for this seed; a decision is drawn at random
    when `draw < rate`. A targeted decision keeps its rate and draw too, for the record.
    """

    decision_id: DecisionId
    reviewer_id: DecisionId
    policy_area: str
    reason: SampleReason
    rate: float
    seed: int
    draw: float


@dataclass(frozen=True)
class GroupCount:
    population: int
    sampled: int

    @property
    def observed_rate(self) -> float | None:
        return self.sampled / self.population if self.population else None


@dataclass(frozen=True)
class AuditSample:
    seed: int
    drawn_at: datetime
    policy: SamplingPolicy
    population: int
    items: tuple[SampledDecision, ...]
    by_reviewer: Mapping[DecisionId, GroupCount]
    by_area: Mapping[str, GroupCount]

    @property
    def decision_ids(self) -> frozenset[DecisionId]:
        return frozenset(item.decision_id for item in self.items)

    def count_by_reason(self) -> dict[SampleReason, int]:
        counts = Counter(item.reason for item in self.items)
        return {reason: counts.get(reason, 0) for reason in SampleReason}


def draw_for(seed: int, decision_id: DecisionId) -> float:
    """The decision's number in [0, 1) for `seed`: uniform, and the same on every machine."""
    digest = hashlib.sha256(f"{seed}:{decision_id}".encode()).digest()
    return int.from_bytes(digest[:7], "big") / float(1 << 56)


def draw_audit_sample(
    decisions: Iterable[DecisionRecord],
    *,
    rng: random.Random,
    clock: Clock,
    policy: SamplingPolicy | None = None,
    targeted_ids: Collection[DecisionId] = (),
) -> AuditSample:
    """Draw an audit sample from `decisions`; `targeted_ids` (a lead's picks) are always in it.

    The seed is taken from `rng` and recorded: `redraw_audit_sample` with that seed gives the
    same sample. A targeted id that is not among `decisions` is an error rather than a
    silent omission.
    """
    return redraw_audit_sample(
        decisions, seed=rng.getrandbits(63), clock=clock, policy=policy,
        targeted_ids=targeted_ids,
    )


def redraw_audit_sample(
    decisions: Iterable[DecisionRecord],
    *,
    seed: int,
    clock: Clock,
    policy: SamplingPolicy | None = None,
    targeted_ids: Collection[DecisionId] = (),
) -> AuditSample:
    """The audit sample for a known seed (to re-derive or verify a recorded sample)."""
    policy = policy or SamplingPolicy()
    targeted = set(targeted_ids)
    items: list[SampledDecision] = []
    population = 0
    seen: set[DecisionId] = set()
    reviewer_population: Counter[DecisionId] = Counter()
    reviewer_sampled: Counter[DecisionId] = Counter()
    area_population: Counter[str] = Counter()
    area_sampled: Counter[str] = Counter()
    for decision in decisions:
        if decision.id in seen:
            raise ValueError(f"decision {decision.id} appears twice")
        seen.add(decision.id)
        population += 1
        reviewer_population[decision.reviewer_id] += 1
        area_population[decision.policy_area] += 1
        rate, reason = policy.rate_for(decision)
        draw = draw_for(seed, decision.id)
        if decision.id in targeted:
            reason = SampleReason.TARGETED
        elif draw >= rate:
            continue
        items.append(SampledDecision(decision.id, decision.reviewer_id, decision.policy_area,
                                     reason, rate, seed, draw))
        reviewer_sampled[decision.reviewer_id] += 1
        area_sampled[decision.policy_area] += 1
    missing = targeted - seen
    if missing:
        listed = ", ".join(sorted(str(m) for m in missing))
        raise ValueError(f"targeted decisions not among those sampled from: {listed}")
    return AuditSample(
        seed=seed,
        drawn_at=clock.now(),
        policy=policy,
        population=population,
        items=tuple(items),
        by_reviewer={r: GroupCount(n, reviewer_sampled[r]) for r, n in reviewer_population.items()},
        by_area={a: GroupCount(n, area_sampled[a]) for a, n in area_population.items()},
    )
