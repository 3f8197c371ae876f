"""Escalation: one transaction, routed to the team's queue at sync, with the case's thread."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from reviewer.demo.seed import demo_reviewer_id
from reviewer.enforcement.decisions import DecisionDraft, record_decision
from reviewer.enforcement.escalation import (
    EscalationRejected,
    case_thread,
    escalate_case,
    escalation_queue_id,
    open_escalations,
)
from reviewer.queue.case_queue import QueueFilter, case_ids
from reviewer.queue.leases import LeaseError, lease_case
from reviewer.queue.notes import add_note
from reviewer.store.models import AuditLogEntry, Case, Escalation, OutboxEntry, Queue
from reviewer.vocabulary import CaseStatus, EscalationTeam
from tests.helpers.workstations import Desk

LUCIA, JONAS = demo_reviewer_id("lucia"), demo_reviewer_id("jonas")
REASON = "Court order from a regional court; Legal must confirm the jurisdiction."


def _open_case(workstation) -> Case:
    with workstation.replica.sessions() as session:
        return session.scalars(select(Case).where(Case.status == CaseStatus.NEW.value)
                               .order_by(Case.external_ref)).first()


def _escalate(workstation, clock, case, team=EscalationTeam.LEGAL, reason=REASON,
              urgency="high"):
    return escalate_case(workstation.replica.sessions, case_id=case.id,
                         reviewer_id=workstation.reviewer_id, client_id=workstation.client_id,
                         to_team=team, urgency=urgency, reason=reason, clock=clock)


def test_escalating_is_one_transaction_and_the_case_leaves_my_queue(workstation, clock):
    case = _open_case(workstation)
    escalation = _escalate(workstation, clock, case)
    with workstation.replica.sessions() as session:
        stored = session.get(Escalation, escalation.id)
        assert (stored.to_team, stored.urgency, stored.reason) == ("legal", "high", REASON)
        assert session.get(Case, case.id).status == CaseStatus.ESCALATED.value
        assert case.id not in case_ids(session, QueueFilter())
        entry = session.scalar(select(OutboxEntry).where(OutboxEntry.entity_id == escalation.id))
        assert entry.kind == "escalation" and entry.state == "pending"
        assert [a["kind"] for a in entry.payload["audit"]] == ["escalation"]
        assert session.scalar(select(AuditLogEntry.kind)) == "escalation"


def test_after_sync_the_case_is_in_the_teams_queue_and_a_member_can_take_it(workstation,
                                                                           clock):
    case = _open_case(workstation)
    _escalate(workstation, clock, case)
    report = workstation.synchronise()
    assert report.rejected == 0
    legal_queue = escalation_queue_id(EscalationTeam.LEGAL)
    with workstation.replica.sessions() as session:
        routed = session.get(Case, case.id)
        assert routed.queue_id == legal_queue
        assert routed.status == CaseStatus.NEW.value
        assert case.id in case_ids(session, QueueFilter(queue_ids=(legal_queue,)))
        assert session.get(Queue, legal_queue).name == "Escalations: Legal"
    with pytest.raises(LeaseError, match="team you are not in"):
        lease_case(workstation.backend, case.id, JONAS, clock)
    lease = lease_case(workstation.backend, case.id, LUCIA, clock)
    assert lease.reviewer_id == LUCIA


def test_the_thread_shows_what_happened_in_order_and_the_decision_resolves_it(workstation,
                                                                              clock, tmp_path):
    case = _open_case(workstation)
    lease = lease_case(workstation.backend, case.id, workstation.reviewer_id, clock)
    workstation.synchronise()
    clock.advance(60)
    add_note(workstation.replica.sessions, case_id=case.id, author_id=workstation.reviewer_id,
             client_id=workstation.client_id, body="Checked the order: it is genuine.",
             clock=clock)
    clock.advance(60)
    _escalate(workstation, clock, case)
    workstation.synchronise()
    clock.advance(3600)
    lease_case(workstation.backend, case.id, LUCIA, clock)
    lucia = Desk(tmp_path / "lucia.sqlite", workstation.backend, clock, "lucia")
    clock.advance(60)
    policy = next(p for p in workstation.taxonomy.policies_for_surface(case.surface)
                  if "no_violation" in p.actions)
    record_decision(lucia.replica.sessions, workstation.taxonomy, reviewer_id=LUCIA,
                    client_id=lucia.client_id, clock=clock,
                    draft=DecisionDraft(case.id, policy.code, "no_violation",
                                        "Order does not cover this content."))
    assert lucia.sync.sync_once().pushed == 1
    lucia.close()
    workstation.synchronise()
    with workstation.replica.sessions() as session:
        thread = case_thread(session, case.id)
        assert open_escalations(session, case.id) == []
    kinds = [entry.kind for entry in thread]
    assert kinds == ["reported", "lease", "note", "escalation", "lease", "decision"]
    assert [e.at for e in thread] == sorted(e.at for e in thread)
    took, note, escalation, taken_by_legal, decision = thread[1:]
    assert took.actor == "Demo Reviewer" and took.summary == "Took the case"
    assert note.text == "Checked the order: it is genuine."
    assert escalation.summary.startswith("Escalated to Legal (high); resolved")
    assert escalation.text == REASON
    assert taken_by_legal.actor == "Lucía Romero"
    assert decision.actor == "Lucía Romero" and decision.summary.endswith("No violation")
    assert lease.fencing_token >= 1


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"team": "marketing"}, "team", "choose the team"),
        ({"urgency": "whenever"}, "urgency", "choose how urgent"),
        ({"reason": " legal "}, "reason", "at least 10 characters"),
    ],
)
def test_an_invalid_escalation_is_explained_and_nothing_is_saved(workstation, clock, change,
                                                                 field, text):
    case = _open_case(workstation)
    arguments = {"team": "legal", "urgency": "routine", "reason": REASON, **change}
    with pytest.raises(EscalationRejected) as rejected:
        _escalate(workstation, clock, case, arguments["team"], arguments["reason"],
                  arguments["urgency"])
    assert text in rejected.value.problems[field]
    with workstation.replica.sessions() as session:
        assert session.scalar(select(Escalation).where(Escalation.case_id == case.id)) is None
        assert session.scalar(select(OutboxEntry)) is None
        assert session.get(Case, case.id).status == CaseStatus.NEW.value


def test_a_decided_case_cannot_be_escalated(workstation, clock):
    with workstation.replica.sessions() as session:
        case = session.scalars(select(Case).where(Case.status == "decided")).first()
    with pytest.raises(EscalationRejected) as rejected:
        _escalate(workstation, clock, case)
    assert "already decided" in rejected.value.problems["case"]


def test_without_an_escalation_queue_the_case_stays_put_marked_escalated(workstation, clock):
    with workstation.backend.sessions.begin() as session:
        session.execute(delete(Queue).where(
            Queue.id == escalation_queue_id(EscalationTeam.PRODUCT)))
    case = _open_case(workstation)
    _escalate(workstation, clock, case, team=EscalationTeam.PRODUCT)
    workstation.synchronise()
    with workstation.backend.sessions() as session:
        stored = session.get(Case, case.id)
        assert (stored.queue_id, stored.status) == (case.queue_id, CaseStatus.ESCALATED.value)
