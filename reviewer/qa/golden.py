"""Golden cases: cases with a known-correct decision, used to score reviewers' answers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from reviewer.qa.agreement import Proportion, proportion

CaseId = uuid.UUID | str
ReviewerId = uuid.UUID | str

# Accuracy over fewer golden answers than this is reported with a warning.
MIN_GOLDEN_ANSWERS = 30


class GoldenMatch(StrEnum):
    EXACT = "exact"
    POLICY_ONLY = "policy_only"
    ACTION_ONLY = "action_only"
    NEITHER = "neither"


@dataclass(frozen=True)
class GoldenCase:
    case_id: CaseId
    policy_code: str
    action: str


@dataclass(frozen=True)
class GoldenAnswer:
    """A reviewer's decision on a golden case."""

    case_id: CaseId
    reviewer_id: ReviewerId
    policy_code: str
    action: str


@dataclass(frozen=True)
class GoldenScore:
    case_id: CaseId
    reviewer_id: ReviewerId
    match: GoldenMatch

    @property
    def policy_correct(self) -> bool:
        return self.match in (GoldenMatch.EXACT, GoldenMatch.POLICY_ONLY)

    @property
    def action_correct(self) -> bool:
        return self.match in (GoldenMatch.EXACT, GoldenMatch.ACTION_ONLY)


def score_answer(golden: GoldenCase, answer: GoldenAnswer) -> GoldenScore:
    if answer.case_id != golden.case_id:
        raise ValueError(f"answer for case {answer.case_id} scored against {golden.case_id}")
    policy = answer.policy_code == golden.policy_code
    action = answer.action == golden.action
    if policy and action:
        match = GoldenMatch.EXACT
    elif policy:
        match = GoldenMatch.POLICY_ONLY
    elif action:
        match = GoldenMatch.ACTION_ONLY
    else:
        match = GoldenMatch.NEITHER
    return GoldenScore(golden.case_id, answer.reviewer_id, match)


@dataclass(frozen=True)
class ReviewerAccuracy:
    """A reviewer's share of golden answers right, in full and by policy and action alone."""

    reviewer_id: ReviewerId
    exact: Proportion
    policy: Proportion
    action: Proportion


def accuracy_by_reviewer(
    golden_cases: Iterable[GoldenCase], answers: Iterable[GoldenAnswer]
) -> dict[ReviewerId, ReviewerAccuracy]:
    """Per reviewer, accuracy on golden cases with Wilson intervals.

    Answers to cases that are not golden are ignored; a reviewer's repeated answer to the same
    case counts once, the last one given.
    """
    golden: Mapping[CaseId, GoldenCase] = {g.case_id: g for g in golden_cases}
    latest: dict[tuple[ReviewerId, CaseId], GoldenAnswer] = {}
    for answer in answers:
        if answer.case_id in golden:
            latest[(answer.reviewer_id, answer.case_id)] = answer
    scores: dict[ReviewerId, list[GoldenScore]] = {}
    for (reviewer_id, case_id), answer in latest.items():
        scores.setdefault(reviewer_id, []).append(score_answer(golden[case_id], answer))
    result = {}
    for reviewer_id, reviewer_scores in scores.items():
        n = len(reviewer_scores)

        def share(count: int, n: int = n) -> Proportion:
            return proportion(count, n, minimum=MIN_GOLDEN_ANSWERS, what="golden answers")

        result[reviewer_id] = ReviewerAccuracy(
            reviewer_id,
            exact=share(sum(s.match is GoldenMatch.EXACT for s in reviewer_scores)),
            policy=share(sum(s.policy_correct for s in reviewer_scores)),
            action=share(sum(s.action_correct for s in reviewer_scores)),
        )
    return result
