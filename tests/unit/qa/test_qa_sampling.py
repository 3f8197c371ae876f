"""Audit sampling: rates hold on large synthetic sets, draws are reproducible, leads' picks stay."""

from __future__ import annotations

import dataclasses
import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from statistics import NormalDist

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewer.clock import ManualClock
from reviewer.qa.sampling import (
    DecisionRecord,
    SampleReason,
    SamplingPolicy,
    draw_audit_sample,
    draw_for,
    record_from_orm,
    redraw_audit_sample,
)
from reviewer.store.models import Case, Decision, Reviewer

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
VETERAN_START = NOW - timedelta(days=400)
AREAS = ("hate_speech", "graphic_violence", "fraud", "ip")


def make_decisions(
    count: int,
    *,
    severe: bool = False,
    started_on: datetime = VETERAN_START,
    reviewers: int = 20,
    prefix: str = "d",
) -> list[DecisionRecord]:
    return [
        DecisionRecord(
            id=f"{prefix}{i}",
            reviewer_id=f"r{i % reviewers}",
            policy_area=AREAS[i % len(AREAS)],
            action="disable_account" if severe else "remove",
            severe=severe,
            created_at=NOW - timedelta(hours=1),
            reviewer_started_on=started_on,
        )
        for i in range(count)
    ]


def binomial_999(n: int, rate: float) -> tuple[float, float]:
    """The central 99.9% range of a Binomial(n, rate) count (normal approximation, n large)."""
    z = NormalDist().inv_cdf(0.9995)
    mean = n * rate
    spread = z * math.sqrt(n * rate * (1 - rate))
    return mean - spread, mean + spread


def sample(decisions, *, seed=1, policy=None, targeted_ids=()):
    return draw_audit_sample(decisions, rng=random.Random(seed), clock=ManualClock(NOW),
                             policy=policy, targeted_ids=targeted_ids)


def test_the_default_rate_holds_on_100k_decisions_overall_per_area_and_per_reviewer():
    decisions = make_decisions(100_000)
    drawn = sample(decisions)
    low, high = binomial_999(100_000, 0.05)
    assert low <= len(drawn.items) <= high
    assert drawn.population == 100_000
    for groups in (drawn.by_area, drawn.by_reviewer):
        for count in groups.values():
            low, high = binomial_999(count.population, 0.05)
            assert low <= count.sampled <= high
    assert drawn.count_by_reason()[SampleReason.RANDOM] == len(drawn.items)
    assert all(item.rate == 0.05 and item.draw < 0.05 for item in drawn.items)


def test_severe_actions_are_oversampled_three_times():
    decisions = make_decisions(50_000, severe=True)
    drawn = sample(decisions)
    low, high = binomial_999(50_000, 0.15)
    assert low <= len(drawn.items) <= high
    assert {item.reason for item in drawn.items} == {SampleReason.SEVERE_OVERSAMPLE}
    assert all(item.rate == pytest.approx(0.15) for item in drawn.items)


def test_severe_oversampling_is_capped_at_every_decision():
    policy = SamplingPolicy(base_rate=0.5, severe_multiplier=3.0)
    drawn = sample(make_decisions(1_000, severe=True), policy=policy)
    assert len(drawn.items) == 1_000
    assert {item.rate for item in drawn.items} == {1.0}


def test_decisions_from_a_reviewers_first_four_weeks_are_sampled_at_20_percent():
    new = make_decisions(50_000, started_on=NOW - timedelta(days=10), prefix="new")
    veteran = make_decisions(50_000, prefix="old")
    drawn = sample(new + veteran)
    new_items = [item for item in drawn.items if str(item.decision_id).startswith("new")]
    old_items = [item for item in drawn.items if str(item.decision_id).startswith("old")]
    low, high = binomial_999(50_000, 0.20)
    assert low <= len(new_items) <= high
    assert {item.reason for item in new_items} == {SampleReason.NEW_REVIEWER}
    low, high = binomial_999(50_000, 0.05)
    assert low <= len(old_items) <= high


def test_new_reviewer_is_judged_when_the_decision_was_made():
    started = NOW - timedelta(weeks=10)
    policy = SamplingPolicy()
    decision = make_decisions(1, started_on=started)[0]
    in_week_3 = dataclasses.replace(decision, created_at=started + timedelta(weeks=3))
    in_week_5 = dataclasses.replace(decision, created_at=started + timedelta(weeks=5))
    assert policy.rate_for(in_week_3) == (0.20, SampleReason.NEW_REVIEWER)
    assert policy.rate_for(in_week_5) == (0.05, SampleReason.RANDOM)


def test_severe_decisions_of_new_reviewers_take_both_raises():
    decision = make_decisions(1, severe=True, started_on=NOW - timedelta(days=3))[0]
    rate, reason = SamplingPolicy().rate_for(decision)
    assert rate == pytest.approx(0.60)
    assert reason is SampleReason.SEVERE_OVERSAMPLE


def test_area_and_reviewer_rates_override_the_base_rate():
    policy = SamplingPolicy(area_rates={"fraud": 0.5}, reviewer_rates={"r1": 0.25})
    decisions = make_decisions(40_000, reviewers=7)
    drawn = sample(decisions, policy=policy)
    by_rate: dict[float, list[int]] = {}
    for decision in decisions:
        rate, _ = policy.rate_for(decision)
        by_rate.setdefault(rate, [0, 0])[0] += 1
    for item in drawn.items:
        by_rate[item.rate][1] += 1
    assert set(by_rate) == {0.05, 0.25, 0.5}
    for rate, (population, sampled) in by_rate.items():
        low, high = binomial_999(population, rate)
        assert low <= sampled <= high


def test_the_same_seed_gives_the_same_sample_in_any_order():
    decisions = make_decisions(5_000)
    one = sample(decisions, seed=42)
    shuffled = list(decisions)
    random.Random(0).shuffle(shuffled)
    again = sample(shuffled, seed=42)
    assert one.seed == again.seed
    assert one.decision_ids == again.decision_ids
    assert sample(decisions, seed=43).decision_ids != one.decision_ids


def test_a_recorded_seed_rederives_the_sample_and_each_draw():
    decisions = make_decisions(5_000)
    drawn = sample(decisions, seed=9)
    again = redraw_audit_sample(decisions, seed=drawn.seed, clock=ManualClock(NOW))
    assert again.items == drawn.items
    for item in drawn.items:
        assert item.seed == drawn.seed
        assert item.draw == draw_for(drawn.seed, item.decision_id) < item.rate


def test_the_sample_is_stamped_with_the_injected_clock():
    clock = ManualClock(NOW)
    clock.advance(timedelta(minutes=5))
    drawn = draw_audit_sample(make_decisions(10), rng=random.Random(1), clock=clock)
    assert drawn.drawn_at == NOW + timedelta(minutes=5)


@settings(max_examples=50)
@given(st.sets(st.integers(0, 499), max_size=40), st.integers(0, 2**32))
def test_targeted_decisions_are_always_in_the_sample(picks, seed):
    decisions = make_decisions(500)
    targeted = {f"d{i}" for i in picks}
    drawn = sample(decisions, seed=seed, policy=SamplingPolicy(base_rate=0.0),
                   targeted_ids=targeted)
    assert drawn.decision_ids == targeted
    assert all(item.reason is SampleReason.TARGETED for item in drawn.items)


def test_a_targeted_decision_that_would_have_been_drawn_anyway_is_recorded_as_targeted():
    decisions = make_decisions(100)
    drawn = sample(decisions, policy=SamplingPolicy(base_rate=1.0), targeted_ids={"d5"})
    reasons = {item.decision_id: item.reason for item in drawn.items}
    assert len(reasons) == 100
    assert reasons["d5"] is SampleReason.TARGETED
    assert reasons["d6"] is SampleReason.RANDOM


def test_an_unknown_targeted_decision_is_an_error_not_a_silent_omission():
    with pytest.raises(ValueError, match="nowhere"):
        sample(make_decisions(10), targeted_ids={"nowhere"})


def test_a_decision_listed_twice_is_an_error():
    decisions = make_decisions(3)
    with pytest.raises(ValueError, match="twice"):
        sample(decisions + decisions[:1])


@pytest.mark.parametrize(
    "kwargs",
    [{"base_rate": 1.5}, {"base_rate": -0.1}, {"new_reviewer_rate": 2.0},
     {"area_rates": {"fraud": 1.1}}, {"severe_multiplier": 0.5}],
)
def test_impossible_rates_are_refused(kwargs):
    with pytest.raises(ValueError):
        SamplingPolicy(**kwargs)


def test_draws_are_uniform_enough_to_trust():
    draws = [draw_for(123, f"x{i}") for i in range(20_000)]
    assert all(0.0 <= d < 1.0 for d in draws)
    below = sum(d < 0.3 for d in draws)
    low, high = binomial_999(20_000, 0.3)
    assert low <= below <= high


def test_record_from_orm_reads_the_rows_the_sampler_needs():
    reviewer = Reviewer(id=uuid.uuid4(), username="amara", display_name="Amara",
                        role="reviewer", started_on=NOW - timedelta(days=7))
    case = Case(id=uuid.uuid4(), external_ref="R-1", surface="organic_post",
                channel="user_report", policy_area="hate_speech", reported_at=NOW,
                due_at=NOW, severity=3, language="en", region="EU")
    decision = Decision(id=uuid.uuid4(), case_id=case.id, reviewer_id=reviewer.id,
                        policy_code="HS-1", action="disable_account", rationale="",
                        created_at=NOW, policy_version="1")
    record = record_from_orm(decision, case, reviewer, severe_actions=("disable_account",))
    assert record == DecisionRecord(decision.id, reviewer.id, "hate_speech", "disable_account",
                                    True, NOW, reviewer.started_on)
