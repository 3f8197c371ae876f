"""Hand-built report and quality data whose figures were worked out by hand, shared by the
SQLite tests (tests/unit/reports, tests/unit/qa), the report window's (tests/gui) and the
PostgreSQL run (tests/integration/test_pg_reports.py), so every dialect and view answers the
same questions.

`build_known_dataset` holds two teams' cases, decisions and escalations (the table below);
`assert_known_figures` checks every report figure of it. `add_qa_reviews` adds an auditor's
re-reviews; `add_calibrations_and_golden` stores a calibration session and golden cases the
way the app stores them: a session made by `create_calibration`, each member's blind decision
recorded by `record_blind_review`, golden cases marked by `mark_golden` (which scores the
decisions already made). `AuditWorld` builds audited decisions row by row, for the quality
metrics' own worked tables.

The calibration answers are Fleiss (1971), table 1: 10 subjects, 14 raters, 5 categories;
P̄ = 0.3780, P̄e = 0.2128, kappa = 0.2099. Krippendorff's alpha (nominal) of the same complete
data, worked by hand from its category totals (20, 28, 39, 21, 32 of n = 140):
De = (140² − Σ n_c²) / (140·139) = 15430 / 19460 = 0.79291, Do = 1 − P̄ = 0.62198,
alpha = 1 − Do / De = 0.2156.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reviewer.clock import ManualClock
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.qa.store import create_calibration, mark_golden, pending_samples, record_blind_review
from reviewer.queue.case_queue import at_risk_from
from reviewer.reports.analytics import (
    Bucket,
    EscalationRow,
    ReportFilter,
    SlaRow,
    TurnaroundRow,
    VolumeRow,
    escalations,
    sla_compliance,
    teams,
    turnaround,
    volume,
)
from reviewer.store.changes import next_change_version
from reviewer.store.database import writing
from reviewer.store.models import (
    Case,
    Decision,
    Escalation,
    QaReview,
    QaSample,
    Queue,
    Reviewer,
    Team,
    TeamMembership,
)

# -- the report data ---------------------------------------------------------------------------

NOW = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)  # a Monday
SINCE = datetime(2026, 11, 9, tzinfo=UTC)  # the Monday before
UNTIL = datetime(2026, 11, 17, tzinfo=UTC)
ALPHA_REVIEWER = uuid.UUID(int=1)
BETA_REVIEWER = uuid.UUID(int=2)
AUDITOR = uuid.UUID(int=3)


def day_at(day: int, hour: float) -> datetime:
    return datetime(2026, 11, day, tzinfo=UTC) + timedelta(hours=hour)


# ref, queue, channel, area, reported, [(hours after report, action)]
CASES = [
    ("a1", "A", "user_report", "hate_speech", day_at(10, 8), [(1, "remove")]),
    ("a2", "A", "user_report", "hate_speech", day_at(10, 9), [(2, "remove")]),
    ("a3", "A", "press", "hate_speech", day_at(11, 10), [(3, "no_violation")]),
    ("a4", "A", "user_report", "spam_fraud", day_at(12, 10), [(4, "remove")]),
    ("a5", "A", "press", "spam_fraud", day_at(12, 11), [(12, "remove")]),  # after its 10 h SLA
    # An escalation is not a final decision: the turnaround is to the removal at 2 h.
    ("a6", "A", "user_report", "hate_speech", day_at(13, 10), [(0.5, "escalate"), (2, "remove")]),
    ("a7", "A", "user_report", "hate_speech", day_at(14, 10), []),  # Saturday; overdue, open
    ("a8", "A", "partner", "hate_speech", day_at(16, 3), []),  # due 13:00, at risk from 10:30
    ("a9", "A", "partner", "hate_speech", day_at(16, 11), []),  # on track
    # Sunday 23:30 UTC: the day and the ISO week must be UTC's, and Sunday ends a week.
    ("b1", "B", "regulator", "legal_regulatory", day_at(15, 23.5), [(1, "remove")]),
    ("b2", "B", "regulator", "legal_regulatory", day_at(16, 6), [(5, "remove")]),  # 4 h SLA
    ("old", "A", "user_report", "hate_speech", day_at(1, 8), [(1, "remove")]),  # before SINCE
]
SLA_HOURS = {"A": 10.0, "B": 4.0}
QUEUE_NAMES = {"A": "Alpha queue", "B": "Beta queue"}
QUEUE_TEAMS = {"A": "alpha", "B": "beta"}


def build_known_dataset(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.add_all([Team(code="alpha", name="Alpha team"),
                         Team(code="beta", name="Beta team")])
        session.add_all([
            Reviewer(id=ALPHA_REVIEWER, username="ann", display_name="Ann", role="reviewer"),
            Reviewer(id=BETA_REVIEWER, username="bob", display_name="Bob", role="reviewer"),
        ])
        session.flush()
        session.add_all([TeamMembership(reviewer_id=ALPHA_REVIEWER, team_code="alpha"),
                         TeamMembership(reviewer_id=BETA_REVIEWER, team_code="beta")])
        queues = {}
        for key in ("A", "B"):
            queues[key] = Queue(id=uuid.uuid4(), name=QUEUE_NAMES[key], team_code=QUEUE_TEAMS[key],
                                policy_area="hate_speech", sla_hours=SLA_HOURS[key])
        session.add_all(queues.values())
        session.flush()
        case_ids = {}
        for ref, key, channel, area, reported, decisions in CASES:
            due = reported + timedelta(hours=SLA_HOURS[key])
            case = Case(id=uuid.uuid4(), external_ref=ref, queue_id=queues[key].id,
                        surface="organic_post", channel=channel, policy_area=area,
                        reported_at=reported, due_at=due, at_risk_at=at_risk_from(reported, due),
                        severity=3, language="en", region="DE",
                        status="decided" if decisions else "new")
            session.add(case)
            session.flush()
            case_ids[ref] = case.id
            for hours, action in decisions:
                session.add(Decision(
                    case_id=case.id, reviewer_id=ALPHA_REVIEWER, policy_code="HS-1",
                    action=action, rationale="hand-built", policy_version="1",
                    created_at=reported + timedelta(hours=hours)))
        session.add_all([
            Escalation(case_id=case_ids["a6"], reviewer_id=ALPHA_REVIEWER, to_team="legal",
                       reason="needs legal", urgency="high", created_at=day_at(13, 10.5)),
            Escalation(case_id=case_ids["b2"], reviewer_id=BETA_REVIEWER, to_team="product",
                       reason="product bug", urgency="routine", created_at=day_at(16, 7)),
            Escalation(case_id=case_ids["old"], reviewer_id=BETA_REVIEWER, to_team="legal",
                       reason="old", urgency="routine", created_at=day_at(1, 9)),
        ])
        session.commit()


def add_qa_reviews(sessions: sessionmaker[Session]) -> None:
    """An auditor re-reviews the decisions on a1, a2 and a3 (ISO week 46) and decides
    HS-1/remove each time: agreement with a1 and a2, not with a3 (no_violation)."""
    with sessions() as session:
        session.add(Reviewer(id=AUDITOR, username="aud", display_name="Aud", role="auditor"))
        session.flush()
        for ref in ("a1", "a2", "a3"):
            case_id, decision_id = session.execute(
                select(Case.id, Decision.id).join(Decision, Decision.case_id == Case.id)
                .where(Case.external_ref == ref)).one()
            sample = QaSample(case_id=case_id, decision_id=decision_id,
                              reviewer_id=ALPHA_REVIEWER, auditor_id=AUDITOR, method="random",
                              status="reviewed")
            session.add(sample)
            session.flush()
            session.add(QaReview(sample_id=sample.id, case_id=case_id, auditor_id=AUDITOR,
                                 reviewer_id=ALPHA_REVIEWER, decision_id=decision_id,
                                 policy_code="HS-1", action="remove", agrees=ref != "a3"))
        session.commit()


def known_filter(team: str | None = None, bucket: Bucket = Bucket.DAY) -> ReportFilter:
    """The known data's report period, SINCE to UNTIL, for ``team`` by ``bucket``."""
    return ReportFilter(SINCE, UNTIL, team, bucket)


def assert_known_figures(sessions: sessionmaker[Session]) -> None:
    """The figures of `build_known_dataset`, worked out by hand from the table above."""
    with sessions() as session:
        sla = sla_compliance(session, known_filter(), NOW)
        assert sla == [
            SlaRow("queue", "Alpha queue", total=9, decided=6, within_sla=5, breached=2,
                   open_at_risk=1),
            SlaRow("queue", "Beta queue", total=2, decided=2, within_sla=1, breached=1,
                   open_at_risk=0),
            SlaRow("channel", "partner", 2, 0, 0, 0, 1),
            SlaRow("channel", "press", 2, 2, 1, 1, 0),
            SlaRow("channel", "regulator", 2, 2, 1, 1, 0),
            SlaRow("channel", "user_report", 5, 4, 4, 1, 0),
        ]
        assert sla[0].compliance == pytest.approx(5 / 9)
        assert [r.total for r in sla_compliance(session, known_filter("beta"), NOW)] == [2, 2]

        rows = turnaround(session, known_filter())
        assert rows == [
            TurnaroundRow("overall", "All queues", 8, pytest.approx(2.5), pytest.approx(7.1)),
            TurnaroundRow("queue", "Alpha queue", 6, pytest.approx(2.5), pytest.approx(8.0)),
            TurnaroundRow("queue", "Beta queue", 2, pytest.approx(3.0), pytest.approx(4.6)),
        ]

        by_day = [r for r in volume(session, known_filter()) if r.dimension == "channel"]
        assert by_day == [
            VolumeRow("channel", date(2026, 11, 10), "user_report", 2),
            VolumeRow("channel", date(2026, 11, 11), "press", 1),
            VolumeRow("channel", date(2026, 11, 12), "press", 1),
            VolumeRow("channel", date(2026, 11, 12), "user_report", 1),
            VolumeRow("channel", date(2026, 11, 13), "user_report", 1),
            VolumeRow("channel", date(2026, 11, 14), "user_report", 1),
            VolumeRow("channel", date(2026, 11, 15), "regulator", 1),
            VolumeRow("channel", date(2026, 11, 16), "partner", 2),
            VolumeRow("channel", date(2026, 11, 16), "regulator", 1),
        ]
        by_week = volume(session, known_filter(bucket=Bucket.WEEK))
        assert [r for r in by_week if r.dimension == "channel"] == [
            VolumeRow("channel", date(2026, 11, 9), "press", 2),
            VolumeRow("channel", date(2026, 11, 9), "regulator", 1),
            VolumeRow("channel", date(2026, 11, 9), "user_report", 5),
            VolumeRow("channel", date(2026, 11, 16), "partner", 2),
            VolumeRow("channel", date(2026, 11, 16), "regulator", 1),
        ]
        assert [r for r in by_week if r.dimension == "policy_area"] == [
            VolumeRow("policy_area", date(2026, 11, 9), "hate_speech", 5),
            VolumeRow("policy_area", date(2026, 11, 9), "legal_regulatory", 1),
            VolumeRow("policy_area", date(2026, 11, 9), "spam_fraud", 2),
            VolumeRow("policy_area", date(2026, 11, 16), "hate_speech", 2),
            VolumeRow("policy_area", date(2026, 11, 16), "legal_regulatory", 1),
        ]

        assert escalations(session, known_filter()) == [
            EscalationRow(date(2026, 11, 13), "legal", 1),
            EscalationRow(date(2026, 11, 16), "product", 1),
        ]
        assert escalations(session, known_filter("alpha")) == [
            EscalationRow(date(2026, 11, 13), "legal", 1)]
        assert escalations(session, known_filter("escalation-product")) == [
            EscalationRow(date(2026, 11, 16), "product", 1)]
        assert escalations(session, known_filter(bucket=Bucket.WEEK)) == [
            EscalationRow(date(2026, 11, 9), "legal", 1),
            EscalationRow(date(2026, 11, 16), "product", 1),
        ]
        assert teams(session) == [("alpha", "Alpha team"), ("beta", "Beta team")]


# -- the quality data: calibration sessions and golden cases ----------------------------------

FLEISS_1971 = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
               [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
               [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
# Five answers valid on an organic post: the table's five categories.
CATEGORIES = [("HS-1", "no_violation"), ("HS-1", "remove"), ("HS-1", "disable_account"),
              ("HS-2", "remove"), ("HS-2", "no_violation")]
CALIBRATION_CASES = ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "b1"]
STARTED = datetime(2026, 11, 12, 9, 0, tzinfo=UTC)
RATIONALE = "Read in full; the content matches this policy's definition."
FLEISS_KAPPA = 0.2099
KRIPPENDORFF_ALPHA = 0.2156
# Ann's golden answers: a1 and a4 (HS-1/remove, as expected), a3 (no_violation: wrong).
# Wilson 95% for 2 of 3: [0.2077, 0.9385] (Newcombe 1998, method 3).
GOLDEN = {"a1": ("HS-1", "remove"), "a3": ("HS-1", "remove"), "a4": ("HS-1", "remove")}


def _case_ids(session: Session, refs: list[str]) -> list[uuid.UUID]:
    ids = {ref: case_id for ref, case_id in session.execute(
        select(Case.external_ref, Case.id).where(Case.external_ref.in_(refs)))}
    return [ids[ref] for ref in refs]


def _run_calibration(sessions: sessionmaker[Session], name: str, refs: list[str],
                     answers: list[list[tuple[str, str]]], started: datetime,
                     clock: ManualClock) -> None:
    """A session over `refs` with one member per column of `answers` (answers[i][r] is
    member r's answer on case i), each member's blind decisions recorded as the app does."""
    taxonomy = load_taxonomy()
    raters = len(answers[0])
    members = [uuid.uuid4() for _ in range(raters)]
    with writing(sessions) as session:
        session.add_all([Reviewer(id=m, username=f"{name[:8].lower()}-{i}".replace(" ", "-"),
                                  display_name=f"{name} member {i}", role="reviewer")
                         for i, m in enumerate(members)])
        session.flush()
        create_calibration(session, name=name, auditor_id=AUDITOR,
                           case_ids=_case_ids(session, refs), member_ids=members,
                           version=next_change_version(session), now=started)
    with sessions() as session:
        case_ids = _case_ids(session, refs)
        pending = {m: {p.case_id: p.sample_id for p in pending_samples(session, m)}
                   for m in members}
    for case_id, row in zip(case_ids, answers, strict=True):
        for member, (policy, action) in zip(members, row, strict=True):
            record_blind_review(sessions, taxonomy, sample_id=pending[member][case_id],
                                auditor_id=member, client_id="test-ws", policy_code=policy,
                                action=action, rationale=RATIONALE, clock=clock)


def add_calibrations_and_golden(sessions: sessionmaker[Session]) -> None:
    """On `build_known_dataset` + `add_qa_reviews`: Fleiss (1971)'s table as a calibration
    session of 14 members over ten cases (started 12 November); a two-member session over the
    Beta queue's two cases (13 November, too small); three golden cases of Ann's."""
    clock = ManualClock(STARTED + timedelta(hours=1))
    fleiss_answers = [[CATEGORIES[j] for j, count in enumerate(row) for _ in range(count)]
                      for row in FLEISS_1971]
    _run_calibration(sessions, "Week 46 calibration", CALIBRATION_CASES, fleiss_answers,
                     STARTED, clock)
    _run_calibration(sessions, "Beta pair", ["b1", "b2"],
                     [[CATEGORIES[1], CATEGORIES[1]], [CATEGORIES[1], CATEGORIES[0]]],
                     STARTED + timedelta(days=1), clock)
    taxonomy = load_taxonomy()
    with writing(sessions) as session:
        for case_id, (policy, action) in zip(_case_ids(session, list(GOLDEN)),
                                             GOLDEN.values(), strict=True):
            mark_golden(session, taxonomy, case_id=case_id, policy_code=policy, action=action,
                        auditor_id=AUDITOR, version=next_change_version(session), now=NOW)


# -- audited decisions, row by row (tests/unit/qa) -------------------------------------------

MONDAY = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # ISO week 2026-W47


class AuditWorld:
    """Teams, people and audited decisions added row by row to ``session``: two teams'
    queues and an auditor to start with; `person`, `case` and `audit` add the rest."""

    def __init__(self, session):
        self.session = session
        self.number = 0
        session.add_all([Team(code="integrity", name="Integrity"),
                         Team(code="ip", name="IP")])
        session.flush()
        self.queues = {}
        for team, area in (("integrity", "hate"), ("ip", "ip")):
            queue = Queue(id=uuid.uuid4(), name=f"{team} queue", team_code=team,
                          policy_area=area, sla_hours=24)
            session.add(queue)
            self.queues[team] = queue
        session.flush()
        self.auditor = self.person("auditor", "Audrey Auditor")
        session.flush()

    def person(self, role, name):
        person = Reviewer(id=uuid.uuid4(), username=name.split()[0].lower() + str(self.number),
                          display_name=name, role=role, started_on=MONDAY - timedelta(days=400))
        self.number += 1
        self.session.add(person)
        self.session.flush()
        return person

    def case(self, team="integrity"):
        self.number += 1
        queue = self.queues[team]
        case = Case(id=uuid.uuid4(), external_ref=f"RPT-{self.number}", queue_id=queue.id,
                    surface="organic_post", channel="user_report",
                    policy_area=queue.policy_area, reported_at=MONDAY, due_at=MONDAY,
                    severity=2, language="en", region="GB", status="decided")
        self.session.add(case)
        self.session.flush()
        return case

    def audit(self, reviewer, reviewer_category, auditor_category, *, team="integrity",
              when=MONDAY, agrees=None, reason=None, feedback=""):
        case = self.case(team)
        policy, action = reviewer_category.split("/")
        decision = Decision(id=uuid.uuid4(), case_id=case.id, reviewer_id=reviewer.id,
                            policy_code=policy, action=action, rationale="because",
                            created_at=when, policy_version="1")
        sample = QaSample(id=uuid.uuid4(), case_id=case.id, decision_id=decision.id,
                          reviewer_id=reviewer.id, auditor_id=self.auditor.id,
                          method="random", rate=0.05, seed=1, draw=0.01, drawn_at=when,
                          status="reviewed")
        a_policy, a_action = auditor_category.split("/")
        review = QaReview(id=uuid.uuid4(), sample_id=sample.id, case_id=case.id,
                          auditor_id=self.auditor.id, reviewer_id=reviewer.id,
                          decision_id=decision.id, policy_code=a_policy, action=a_action,
                          rationale="blind", submitted_at=when + timedelta(days=1),
                          agrees=agrees, reason_category=reason, feedback=feedback,
                          verdict_at=when + timedelta(days=1) if agrees is not None else None)
        self.session.add_all([decision])
        self.session.flush()
        self.session.add(sample)
        self.session.flush()
        self.session.add(review)
        self.session.flush()
        return decision
