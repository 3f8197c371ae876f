"""Golden cases: scoring answers against the known-correct decision, accuracy per reviewer."""

from __future__ import annotations

import pytest

from reviewer.qa.agreement import wilson_interval
from reviewer.qa.golden import (
    MIN_GOLDEN_ANSWERS,
    GoldenAnswer,
    GoldenCase,
    GoldenMatch,
    accuracy_by_reviewer,
    score_answer,
)

GOLDEN = GoldenCase("c1", "HS-2", "remove")


@pytest.mark.parametrize(
    ("policy", "action", "match", "policy_ok", "action_ok"),
    [
        ("HS-2", "remove", GoldenMatch.EXACT, True, True),
        ("HS-2", "age_restrict", GoldenMatch.POLICY_ONLY, True, False),
        ("HS-1", "remove", GoldenMatch.ACTION_ONLY, False, True),
        ("HS-1", "no_violation", GoldenMatch.NEITHER, False, False),
    ],
)
def test_an_answer_is_scored_exact_policy_or_action(policy, action, match, policy_ok,
                                                    action_ok):
    score = score_answer(GOLDEN, GoldenAnswer("c1", "amara", policy, action))
    assert score.match is match
    assert (score.policy_correct, score.action_correct) == (policy_ok, action_ok)


def test_an_answer_to_another_case_cannot_be_scored():
    with pytest.raises(ValueError):
        score_answer(GOLDEN, GoldenAnswer("c2", "amara", "HS-2", "remove"))


def test_accuracy_per_reviewer_counts_each_kind_of_match():
    golden = [GoldenCase(f"c{i}", "HS-2", "remove") for i in range(40)]
    answers = [GoldenAnswer(f"c{i}", "amara", "HS-2", "remove") for i in range(30)]
    answers += [GoldenAnswer(f"c{i}", "amara", "HS-2", "age_restrict") for i in range(30, 35)]
    answers += [GoldenAnswer(f"c{i}", "amara", "HS-1", "remove") for i in range(35, 40)]
    answers += [GoldenAnswer("c0", "jonas", "HS-1", "no_violation")]
    result = accuracy_by_reviewer(golden, answers)
    amara = result["amara"]
    assert (amara.exact.successes, amara.exact.n) == (30, 40)
    assert (amara.policy.successes, amara.action.successes) == (35, 35)
    assert amara.exact.interval == wilson_interval(30, 40)
    assert amara.exact.warning is None
    jonas = result["jonas"]
    assert jonas.exact.estimate == 0.0
    assert f"fewer than {MIN_GOLDEN_ANSWERS}" in jonas.exact.warning


def test_only_golden_cases_count_and_a_repeated_answer_counts_once_the_last():
    golden = [GoldenCase("c1", "HS-2", "remove")]
    answers = [
        GoldenAnswer("c1", "amara", "HS-1", "remove"),
        GoldenAnswer("c1", "amara", "HS-2", "remove"),
        GoldenAnswer("not-golden", "amara", "HS-9", "remove"),
    ]
    amara = accuracy_by_reviewer(golden, answers)["amara"]
    assert (amara.exact.successes, amara.exact.n) == (1, 1)
