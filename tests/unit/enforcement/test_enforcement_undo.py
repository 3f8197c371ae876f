"""Undo within 30 seconds before sync; afterwards a correction that supersedes; quick keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from reviewer.demo.seed import demo_reviewer_id
from reviewer.enforcement.decisions import (
    DecisionDraft,
    DecisionRejected,
    WithdrawRefused,
    correct_decision,
    quick_policies,
    record_decision,
    withdraw_deadline,
    withdraw_decision,
)
from reviewer.queue.case_queue import QueueFilter, case_ids
from reviewer.store.models import AuditLogEntry, Case, Decision, OutboxEntry
from reviewer.vocabulary import CaseStatus

RATIONALE = "The content matches the policy definition in every respect."


def _open_cases(workstation, count=1) -> list[Case]:
    with workstation.replica.sessions() as session:
        return list(session.scalars(select(Case).where(Case.status == CaseStatus.NEW.value)
                                    .order_by(Case.external_ref).limit(count)))


def _policy(workstation, case, action="remove"):
    return next(p for p in workstation.taxonomy.policies_for_surface(case.surface)
                if action in p.actions and not p.second_review_actions)


def _decide(workstation, clock, case, action="remove", policy=None, reviewer_id=None):
    policy = policy or _policy(workstation, case, action)
    return record_decision(
        workstation.replica.sessions, workstation.taxonomy,
        reviewer_id=reviewer_id or workstation.reviewer_id, client_id=workstation.client_id,
        draft=DecisionDraft(case.id, policy.code, action, RATIONALE), clock=clock)


def _withdraw(workstation, clock, decision, reviewer_id=None):
    withdraw_decision(workstation.replica.sessions, decision_id=decision.id,
                      reviewer_id=reviewer_id or workstation.reviewer_id,
                      client_id=workstation.client_id, clock=clock)


def _count(workstation, model, *where) -> int:
    with workstation.replica.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_withdrawing_after_29_seconds_deletes_the_decision_and_reopens_the_case(
        workstation, clock):
    (case,) = _open_cases(workstation)
    decision = _decide(workstation, clock, case)
    with workstation.replica.sessions() as session:
        assert withdraw_deadline(session, decision.id) == decision.created_at + timedelta(
            seconds=30)
    clock.advance(29)
    _withdraw(workstation, clock, decision)
    assert _count(workstation, Decision, Decision.id == decision.id) == 0
    assert _count(workstation, OutboxEntry, OutboxEntry.kind == "decision") == 0
    assert workstation.case(case.id).status == CaseStatus.NEW.value
    with workstation.replica.sessions() as session:
        assert case.id in case_ids(session, QueueFilter())
        kinds = session.scalars(select(AuditLogEntry.kind).order_by(AuditLogEntry.seq)).all()
    assert kinds == ["decision", "decision_withdrawn"]
    # Nothing of the decision reaches the backend; the audit trail of it does.
    report = workstation.synchronise()
    assert report.rejected == 0
    with workstation.backend.sessions() as session:
        assert session.get(Decision, decision.id) is None
        assert session.get(Case, case.id).status == CaseStatus.NEW.value
        assert session.scalar(select(func.count()).select_from(AuditLogEntry).where(
            AuditLogEntry.origin == workstation.client_id)) == 2


def test_withdrawing_after_31_seconds_is_refused_and_the_decision_stays(workstation, clock):
    (case,) = _open_cases(workstation)
    decision = _decide(workstation, clock, case)
    clock.advance(31)
    with pytest.raises(WithdrawRefused, match="30 seconds to undo have passed"):
        _withdraw(workstation, clock, decision)
    assert _count(workstation, Decision, Decision.id == decision.id) == 1
    assert _count(workstation, OutboxEntry, OutboxEntry.entity_id == decision.id,
                  OutboxEntry.state == "pending") == 1
    assert workstation.case(case.id).status == CaseStatus.DECIDED.value


def test_withdrawing_after_sync_is_refused_even_within_the_window(workstation, clock):
    (case,) = _open_cases(workstation)
    decision = _decide(workstation, clock, case)
    clock.advance(5)
    workstation.synchronise()
    with workstation.replica.sessions() as session:
        assert withdraw_deadline(session, decision.id) is None
    with pytest.raises(WithdrawRefused, match="already been sent"):
        _withdraw(workstation, clock, decision)
    with workstation.backend.sessions() as session:
        assert session.get(Decision, decision.id) is not None


def test_only_the_author_can_withdraw(workstation, clock):
    (case,) = _open_cases(workstation)
    decision = _decide(workstation, clock, case)
    with pytest.raises(WithdrawRefused, match="only the reviewer who made"):
        _withdraw(workstation, clock, decision, reviewer_id=demo_reviewer_id("amara"))
    assert _count(workstation, Decision, Decision.id == decision.id) == 1


def test_withdrawing_one_decision_leaves_other_pending_work_in_order(workstation, clock):
    first, second = _open_cases(workstation, 2)
    withdrawn = _decide(workstation, clock, first)
    kept = _decide(workstation, clock, second)
    _withdraw(workstation, clock, withdrawn)
    report = workstation.synchronise()
    assert report.rejected == 0
    with workstation.backend.sessions() as session:
        assert session.get(Decision, kept.id) is not None
        assert session.get(Decision, withdrawn.id) is None


def test_a_correction_supersedes_and_leaves_the_old_decision_unchanged(workstation, clock):
    (case,) = _open_cases(workstation)
    old = _decide(workstation, clock, case, action="remove")
    workstation.synchronise()
    clock.advance(3600)
    policy = _policy(workstation, case, "no_violation")
    new = correct_decision(
        workstation.replica.sessions, workstation.taxonomy,
        reviewer_id=workstation.reviewer_id, client_id=workstation.client_id,
        supersedes_id=old.id, clock=clock,
        draft=DecisionDraft(case.id, policy.code, "no_violation", "On a second look: satire."))
    assert new.supersedes_id == old.id and new.id != old.id
    report = workstation.synchronise()
    assert report.rejected == 0
    for database in (workstation.replica, workstation.backend):
        with database.sessions() as session:
            stored_old = session.get(Decision, old.id)
            assert (stored_old.action, stored_old.rationale, stored_old.created_at) == (
                "remove", RATIONALE, old.created_at)
            assert stored_old.supersedes_id is None
            stored_new = session.get(Decision, new.id)
            assert stored_new.supersedes_id == old.id
            assert stored_new.conflict is False
    with workstation.backend.sessions() as session:
        assert session.get(Case, case.id).status == CaseStatus.DECIDED.value


def test_only_the_latest_decision_can_be_corrected(workstation, clock):
    (case,) = _open_cases(workstation)
    old = _decide(workstation, clock, case)
    policy = _policy(workstation, case, "no_violation")
    kwargs = dict(reviewer_id=workstation.reviewer_id, client_id=workstation.client_id,
                  supersedes_id=old.id, clock=clock,
                  draft=DecisionDraft(case.id, policy.code, "no_violation", RATIONALE))
    correct_decision(workstation.replica.sessions, workstation.taxonomy, **kwargs)
    with pytest.raises(DecisionRejected) as rejected:
        correct_decision(workstation.replica.sessions, workstation.taxonomy, **kwargs)
    assert "already been corrected" in rejected.value.problems["case"]


def test_another_reviewer_cannot_correct_but_a_lead_can(workstation, clock):
    (case,) = _open_cases(workstation)
    old = _decide(workstation, clock, case)
    policy = _policy(workstation, case, "no_violation")
    draft = DecisionDraft(case.id, policy.code, "no_violation", RATIONALE)
    with pytest.raises(DecisionRejected) as rejected:
        correct_decision(workstation.replica.sessions, workstation.taxonomy,
                         reviewer_id=demo_reviewer_id("jonas"), client_id=workstation.client_id,
                         supersedes_id=old.id, draft=draft, clock=clock)
    assert "lead" in rejected.value.problems["case"]
    corrected = correct_decision(workstation.replica.sessions, workstation.taxonomy,
                                 reviewer_id=demo_reviewer_id("sofia"),
                                 client_id=workstation.client_id, supersedes_id=old.id,
                                 draft=draft, clock=clock)
    assert corrected.supersedes_id == old.id


def test_withdrawing_a_correction_restores_the_corrected_decision(workstation, clock):
    (case,) = _open_cases(workstation)
    old = _decide(workstation, clock, case)
    workstation.synchronise()
    policy = _policy(workstation, case, "no_violation")
    correction = correct_decision(
        workstation.replica.sessions, workstation.taxonomy,
        reviewer_id=workstation.reviewer_id, client_id=workstation.client_id,
        supersedes_id=old.id, clock=clock,
        draft=DecisionDraft(case.id, policy.code, "no_violation", RATIONALE))
    _withdraw(workstation, clock, correction)
    assert workstation.case(case.id).status == CaseStatus.DECIDED.value
    assert _count(workstation, Decision, Decision.id == old.id) == 1


def test_quick_policies_are_the_most_used_then_the_last_used(workstation, clock):
    lead = demo_reviewer_id("sofia")  # has no past decisions in the demo data
    by_surface: dict[str, list[Case]] = {}
    for case in _open_cases(workstation, 30):
        by_surface.setdefault(case.surface, []).append(case)
    surface, same = max(by_surface.items(), key=lambda item: len(item[1]))
    assert len(same) >= 3, "the demo seed gives at least three open cases on one surface"
    frequent, rare = [p for p in workstation.taxonomy.policies_for_surface(surface)
                      if "no_violation" in p.actions][:2]
    for case in same[:2]:
        _decide(workstation, clock, case, "no_violation", frequent, reviewer_id=lead)
        clock.advance(60)
    _decide(workstation, clock, same[2], "no_violation", rare, reviewer_id=lead)
    with workstation.replica.sessions() as session:
        quick = quick_policies(session, lead)
        assert quick.most_used == (frequent.code, rare.code)
        assert quick.last_used == rare.code
        narrowed = quick_policies(session, lead, limit=1, allowed=[rare.code])
        assert narrowed == type(quick)((rare.code,), rare.code)
        unused = next(p.code for p in workstation.taxonomy.policies()
                      if p.code not in (frequent.code, rare.code))
        assert quick_policies(session, lead, allowed=[unused]) == type(quick)((), None)
