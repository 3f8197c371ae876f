"""QA metrics from stored audits, on known data: agreement with its Wilson interval, Cohen's
kappa, golden accuracy, Fleiss' kappa of a calibration session (Fleiss 1971's example), and
the too-small flag."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import pytest

from reviewer.qa.agreement import cohens_kappa_from_table
from reviewer.qa.metrics import (
    QaRow,
    calibration_agreement,
    golden_rows,
    qa_report_rows,
    reviewer_quality,
)
from reviewer.store.database import Database, sqlite_url
from reviewer.store.models import (
    Decision,
    QaCalibration,
    QaCalibrationMember,
    QaGolden,
    QaGoldenScore,
    QaReview,
    QaSample,
)
from tests.helpers.datasets import MONDAY, AuditWorld


@pytest.fixture
def session(tmp_path):
    database = Database.open(sqlite_url(tmp_path / "qa.sqlite"))
    with database.sessions() as session:
        yield session
    database.dispose()


@pytest.fixture
def world(session):
    return AuditWorld(session)


def test_agreement_and_kappa_of_a_reviewer_match_the_worked_table(session, world):
    # Auditor by rows, reviewer by columns: [[20, 5], [10, 15]] -> p_o 0.70, p_e 0.50,
    # kappa 0.40; Wilson 95% for 35/50 is [0.5625, 0.8090] (Newcombe 1998, method 3).
    kim = world.person("reviewer", "Kim Reviewer")
    cells = {("P1/remove", "P1/remove"): 20, ("P1/remove", "P1/no_violation"): 5,
             ("P1/no_violation", "P1/remove"): 10,
             ("P1/no_violation", "P1/no_violation"): 15}
    for (auditor, reviewer), count in cells.items():
        for _ in range(count):
            world.audit(kim, reviewer, auditor)
    rows = qa_report_rows(session, MONDAY - timedelta(days=1), None)
    (row,) = [r for r in rows if r.scope == "reviewer"]
    assert isinstance(row, QaRow)
    assert (row.period, row.key, row.n, row.too_small) == ("2026-W47", "Kim Reviewer", 50,
                                                           False)
    assert row.agreement == pytest.approx(0.70)
    assert row.agreement_low == pytest.approx(0.5625, abs=5e-4)
    assert row.agreement_high == pytest.approx(0.8090, abs=5e-4)
    assert row.kappa == pytest.approx(0.40)
    expected = cohens_kappa_from_table([[20, 5], [10, 15]]).interval
    assert (row.kappa_low, row.kappa_high) == pytest.approx((expected.low, expected.high))
    assert row.kappa_low < 0.40 < row.kappa_high
    scopes = {(r.scope, r.key): r.n for r in rows}
    assert scopes == {("reviewer", "Kim Reviewer"): 50, ("team", "integrity"): 50,
                      ("area", "hate"): 50}


def test_small_groups_are_flagged_and_periods_and_teams_split(session, world):
    kim = world.person("reviewer", "Kim Reviewer")
    lee = world.person("reviewer", "Lee Reviewer")
    for _ in range(30):
        world.audit(kim, "P1/remove", "P1/remove")
    for index in range(4):
        world.audit(lee, "P9/remove", "P9/remove" if index else "P9/no_violation", team="ip",
                    when=MONDAY + timedelta(days=7))
    rows = qa_report_rows(session, MONDAY - timedelta(days=1), None)
    by_key = {(r.period, r.scope, r.key): r for r in rows}
    assert by_key[("2026-W47", "reviewer", "Kim Reviewer")].too_small is False
    lee_row = by_key[("2026-W48", "reviewer", "Lee Reviewer")]
    assert (lee_row.n, lee_row.too_small, lee_row.agreement) == (4, True, 0.75)
    # Every pair agreeing on one category: agreement 1 and kappa undefined, not 1.
    kim_row = by_key[("2026-W47", "reviewer", "Kim Reviewer")]
    assert (kim_row.agreement, kim_row.kappa) == (1.0, None)
    assert [r.key for r in qa_report_rows(session, MONDAY - timedelta(days=1), "ip")
            if r.scope == "team"] == ["ip"]
    assert qa_report_rows(session, MONDAY + timedelta(days=30), None) == []
    daily = qa_report_rows(session, MONDAY - timedelta(days=1), None, granularity="day")
    assert {r.period for r in daily} == {"2026-11-16", "2026-11-23"}


def test_golden_accuracy_with_its_interval(session, world):
    kim = world.person("reviewer", "Kim Reviewer")
    session.flush()
    for match in ("exact", "exact", "exact", "policy_only"):
        case = world.case()
        decision = Decision(id=uuid.uuid4(), case_id=case.id, reviewer_id=kim.id,
                            policy_code="P1", action="remove", rationale="because",
                            created_at=MONDAY, policy_version="1")
        session.add_all([decision, QaGolden(case_id=case.id, policy_code="P1", action="remove",
                                            auditor_id=world.auditor.id, marked_at=MONDAY)])
        session.flush()
        session.add(QaGoldenScore(id=uuid.uuid4(), case_id=case.id, decision_id=decision.id,
                                  reviewer_id=kim.id, match=match, scored_at=MONDAY))
    session.flush()
    (row,) = [r for r in golden_rows(session, MONDAY - timedelta(days=1), None)
              if r.scope == "reviewer"]
    assert (row.n, row.accuracy, row.too_small) == (4, 0.75, True)
    assert row.accuracy_low < 0.75 < row.accuracy_high
    quality = reviewer_quality(session, kim.id)
    assert (quality.golden.successes, quality.golden.n) == (3, 4)


def test_fleiss_kappa_of_a_calibration_session_is_fleiss_1971s_example(session, world):
    # Fleiss (1971), table 1: 10 subjects, 14 raters, 5 categories; kappa = 0.210.
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
             [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
             [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    members = [world.person("reviewer", f"Member {i}") for i in range(14)]
    calibration = QaCalibration(id=uuid.uuid4(), name="Week 47", auditor_id=world.auditor.id,
                                created_at=MONDAY)
    session.add(calibration)
    session.flush()
    session.add_all([QaCalibrationMember(calibration_id=calibration.id, reviewer_id=m.id)
                     for m in members])
    for counts in table:
        case = world.case()
        answers = [f"P{j}/remove" for j, c in enumerate(counts) for _ in range(c)]
        session.flush()
        for member, answer in zip(members, answers, strict=True):
            sample = QaSample(id=uuid.uuid4(), case_id=case.id, auditor_id=member.id,
                              method="calibration", drawn_at=MONDAY,
                              calibration_id=calibration.id, status="reviewed")
            session.add(sample)
            session.flush()
            policy, action = answer.split("/")
            session.add(QaReview(id=uuid.uuid4(), sample_id=sample.id, case_id=case.id,
                                 auditor_id=member.id, policy_code=policy, action=action,
                                 submitted_at=MONDAY))
    session.flush()
    result = calibration_agreement(session, calibration.id, random.Random(1))
    assert (result.members, result.cases, result.complete_cases) == (14, 10, 10)
    assert result.fleiss.value == pytest.approx(0.210, abs=5e-4)
    assert result.fleiss.interval.low < 0.210 < result.fleiss.interval.high
    assert result.alpha.value is not None and result.alpha.interval is not None
    assert result.too_small is False


def test_my_quality_counts_only_finished_audits_and_keeps_the_feedback(session, world):
    kim = world.person("reviewer", "Kim Reviewer")
    world.audit(kim, "P1/remove", "P1/remove", agrees=True)
    world.audit(kim, "P1/remove", "P2/remove", agrees=False, reason="policy_misread",
                feedback="P2 covers slurs in usernames.")
    world.audit(kim, "P1/remove", "P1/no_violation")  # blind part only: not finished
    quality = reviewer_quality(session, kim.id)
    assert quality.agreement.n == 2 and quality.agreement.too_small
    assert quality.agreement.percent.estimate == 0.5
    assert quality.agreement.reasons == {"policy_misread": 1}
    assert {r.feedback for r in quality.results} == {"", "P2 covers slurs in usernames."}
