"""Recording a decision: validated against the taxonomy, one transaction with its outbox row."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event, func, select

from reviewer.enforcement.decisions import DecisionDraft, DecisionRejected, record_decision
from reviewer.queue.case_queue import QueueFilter, case_ids
from reviewer.store.models import Case, Decision, OutboxEntry
from reviewer.vocabulary import CaseStatus


def _open_case(workstation, surface: str | None = None) -> Case:
    with workstation.replica.sessions() as session:
        statement = select(Case).where(Case.status == CaseStatus.NEW.value)
        if surface:
            statement = statement.where(Case.surface == surface)
        return session.scalars(statement.order_by(Case.external_ref)).first()


def _valid_draft(workstation, case: Case, action: str = "remove") -> DecisionDraft:
    policy = next(p for p in workstation.taxonomy.policies_for_surface(case.surface)
                  if action in p.actions and not p.second_review_actions)
    return DecisionDraft(case.id, policy.code, action, "Matches the policy definition exactly.")


def _count(workstation, model) -> int:
    with workstation.replica.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_decision_is_recorded_with_its_outbox_entry_and_leaves_the_queue(workstation, clock):
    case = _open_case(workstation)
    draft = _valid_draft(workstation, case)
    decision = record_decision(
        workstation.replica.sessions, workstation.taxonomy,
        reviewer_id=workstation.reviewer_id, client_id=workstation.client_id,
        draft=draft, clock=clock,
    )
    with workstation.replica.sessions() as session:
        stored = session.get(Decision, decision.id)
        assert stored.policy_code == draft.policy_code
        assert stored.action == "remove"
        assert stored.created_at == clock.now()
        assert stored.policy_version == workstation.taxonomy.version
        assert session.get(Case, case.id).status == CaseStatus.DECIDED.value
        entry = session.scalar(select(OutboxEntry).where(OutboxEntry.entity_id == decision.id))
        assert entry.kind == "decision" and entry.state == "pending"
        assert entry.payload["case_id"] == str(case.id)
        assert case.id not in case_ids(session, QueueFilter())


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"policy_code": ""}, "policy", "choose a policy"),
        ({"policy_code": "NOPE-9"}, "policy", "choose a policy"),
        ({"action": ""}, "action", "choose an action"),
        ({"rationale": "   too short "}, "rationale", "at least 10 characters"),
    ],
)
def test_invalid_decisions_are_explained_and_nothing_is_saved(workstation, clock, change,
                                                              field, text):
    case = _open_case(workstation)
    draft = _valid_draft(workstation, case)
    draft = DecisionDraft(**{**draft.__dict__, **change})
    before = (_count(workstation, Decision), _count(workstation, OutboxEntry))
    with pytest.raises(DecisionRejected) as rejected:
        record_decision(workstation.replica.sessions, workstation.taxonomy,
                        reviewer_id=workstation.reviewer_id,
                        client_id=workstation.client_id, draft=draft, clock=clock)
    assert text in rejected.value.problems[field]
    assert (_count(workstation, Decision), _count(workstation, OutboxEntry)) == before
    assert workstation.case(case.id).status == CaseStatus.NEW.value


def test_action_not_allowed_by_the_policy_is_refused(workstation, clock):
    case = _open_case(workstation)
    policy = next(p for p in workstation.taxonomy.policies_for_surface(case.surface)
                  if "disable_account" not in p.actions)
    draft = DecisionDraft(case.id, policy.code, "disable_account", "x" * 60)
    with pytest.raises(DecisionRejected) as rejected:
        record_decision(workstation.replica.sessions, workstation.taxonomy,
                        reviewer_id=workstation.reviewer_id,
                        client_id=workstation.client_id, draft=draft, clock=clock)
    assert "not allowed" in rejected.value.problems["action"]


def test_policy_for_another_surface_is_refused(workstation, clock):
    case = _open_case(workstation)
    wrong = next(p for p in workstation.taxonomy.policies() if case.surface not in p.surfaces)
    draft = DecisionDraft(case.id, wrong.code, "no_violation", "Matches nothing at all here.")
    with pytest.raises(DecisionRejected) as rejected:
        record_decision(workstation.replica.sessions, workstation.taxonomy,
                        reviewer_id=workstation.reviewer_id,
                        client_id=workstation.client_id, draft=draft, clock=clock)
    assert "does not apply" in rejected.value.problems["policy"]


def test_severe_action_needs_a_longer_rationale(workstation, clock):
    case = _open_case(workstation)
    policy = next(p for p in workstation.taxonomy.policies_for_surface(case.surface)
                  if "disable_account" in p.actions)
    draft = DecisionDraft(case.id, policy.code, "disable_account", "Bad account, spam.")
    with pytest.raises(DecisionRejected) as rejected:
        record_decision(workstation.replica.sessions, workstation.taxonomy,
                        reviewer_id=workstation.reviewer_id,
                        client_id=workstation.client_id, draft=draft, clock=clock)
    assert "severe action" in rejected.value.problems["rationale"]


def test_a_decided_case_cannot_be_decided_twice(workstation, clock):
    case = _open_case(workstation)
    draft = _valid_draft(workstation, case)
    kwargs = dict(reviewer_id=workstation.reviewer_id, client_id=workstation.client_id,
                  draft=draft, clock=clock)
    record_decision(workstation.replica.sessions, workstation.taxonomy, **kwargs)
    with pytest.raises(DecisionRejected) as rejected:
        record_decision(workstation.replica.sessions, workstation.taxonomy, **kwargs)
    assert "already decided" in rejected.value.problems["case"]
    assert _count(workstation, OutboxEntry) == 1


def test_failure_inside_the_transaction_leaves_nothing_half_saved(workstation, clock):
    case = _open_case(workstation)
    draft = _valid_draft(workstation, case)

    def fail_on_outbox(_mapper, _connection, _target):
        raise RuntimeError("disk full")

    event.listen(OutboxEntry, "before_insert", fail_on_outbox)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            record_decision(workstation.replica.sessions, workstation.taxonomy,
                            reviewer_id=workstation.reviewer_id,
                            client_id=workstation.client_id, draft=draft, clock=clock)
    finally:
        event.remove(OutboxEntry, "before_insert", fail_on_outbox)
    assert _count(workstation, Decision) == 0 or all(
        d.case_id != case.id for d in _decisions(workstation))
    assert workstation.case(case.id).status == CaseStatus.NEW.value


def _decisions(workstation) -> list[Decision]:
    with workstation.replica.sessions() as session:
        return list(session.scalars(select(Decision)))


def test_unknown_case_is_reported(workstation, clock):
    draft = DecisionDraft(uuid.uuid4(), "HS-1", "remove", "Matches the policy definition.")
    with pytest.raises(DecisionRejected) as rejected:
        record_decision(workstation.replica.sessions, workstation.taxonomy,
                        reviewer_id=workstation.reviewer_id,
                        client_id=workstation.client_id, draft=draft, clock=clock)
    assert "no longer exists" in rejected.value.problems["case"]
