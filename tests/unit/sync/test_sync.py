"""Push and pull between the replica and the embedded backend: at most once, nothing missed."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from reviewer.enforcement.decisions import DecisionDraft, record_decision
from reviewer.store.models import AppliedMutation, Case, Decision, Note, OutboxEntry
from reviewer.sync.appliers import Mutation, apply_mutations
from reviewer.sync.engine import SyncReport
from reviewer.vocabulary import CaseStatus

pytestmark = pytest.mark.demo(cases=25)


def _decide(workstation, clock) -> Decision:
    with workstation.replica.sessions() as session:
        case = session.scalars(select(Case).where(Case.status == "new")
                               .order_by(Case.external_ref)).first()
    policy = next(p for p in workstation.taxonomy.policies_for_surface(case.surface)
                  if not p.second_review_actions or "no_violation" in p.actions)
    return record_decision(
        workstation.replica.sessions, workstation.taxonomy,
        reviewer_id=workstation.reviewer_id, client_id=workstation.client_id,
        draft=DecisionDraft(case.id, policy.code, "no_violation", "Satire, not an attack."),
        clock=clock,
    )


def _backend_count(workstation, model, *where) -> int:
    with workstation.backend.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_pull_brings_the_backend_into_the_replica(workstation):
    with workstation.backend.sessions() as remote, workstation.replica.sessions() as local:
        for model in (Case, Decision):
            assert local.scalar(select(func.count()).select_from(model)) == remote.scalar(
                select(func.count()).select_from(model))
    assert workstation.reviewer().display_name == "Demo Reviewer"


def test_decision_reaches_the_backend_exactly_once(workstation, clock):
    decision = _decide(workstation, clock)
    report = workstation.synchronise()
    assert report.pushed == 1 and report.pending == 0
    assert _backend_count(workstation, Decision, Decision.id == decision.id) == 1
    with workstation.backend.sessions() as session:
        assert session.get(Case, decision.case_id).status == CaseStatus.DECIDED.value
    # A replay of the same mutation (a lost answer) has no second effect.
    with workstation.replica.sessions() as session:
        entry = session.scalar(select(OutboxEntry).where(OutboxEntry.entity_id == decision.id))
        mutation = Mutation(entry.mutation_id, entry.client_id, entry.seq, entry.kind,
                            entry.payload)
    with workstation.backend.sessions.begin() as session:
        results = apply_mutations(session, [mutation])
    assert results[0].outcome == "applied"
    assert _backend_count(workstation, Decision, Decision.id == decision.id) == 1


def test_lost_answer_means_a_harmless_replay(workstation, clock):
    decision = _decide(workstation, clock)
    # The backend commits, but the client never hears back.
    with workstation.replica.sessions() as session:
        entry = session.scalar(select(OutboxEntry))
        mutation = Mutation(entry.mutation_id, entry.client_id, entry.seq, entry.kind,
                            entry.payload)
    with workstation.backend.sessions.begin() as session:
        apply_mutations(session, [mutation])
    report = workstation.synchronise()
    assert report.pushed == 1
    assert _backend_count(workstation, Decision, Decision.id == decision.id) == 1
    assert _backend_count(workstation, AppliedMutation) == 1


def test_reused_mutation_id_with_another_payload_is_rejected(workstation, clock):
    _decide(workstation, clock)
    workstation.synchronise()
    with workstation.replica.sessions() as session:
        entry = session.scalar(select(OutboxEntry))
        forged = Mutation(entry.mutation_id, entry.client_id, entry.seq, entry.kind,
                          {**entry.payload, "action": "remove"})
    with workstation.backend.sessions.begin() as session:
        (result,) = apply_mutations(session, [forged])
    assert result.outcome == "rejected"
    assert "different payload" in result.reason


def test_a_rejected_mutation_is_kept_with_its_reason_and_does_not_block(workstation, clock):
    with workstation.replica.sessions.begin() as session:
        session.add(OutboxEntry(client_id=workstation.client_id, kind="note",
                                entity_id=uuid.uuid4(), created_at=clock.now(),
                                payload={"id": str(uuid.uuid4()), "case_id": str(uuid.uuid4()),
                                         "author_id": str(workstation.reviewer_id),
                                         "body": "orphan", "created_at":
                                             clock.now().isoformat()}))
    decision = _decide(workstation, clock)
    report = workstation.synchronise()
    assert report.rejected == 1 and report.pushed == 1
    with workstation.replica.sessions() as session:
        rejected = session.scalar(select(OutboxEntry).where(OutboxEntry.state == "rejected"))
        assert "does not exist" in rejected.last_error
    assert _backend_count(workstation, Decision, Decision.id == decision.id) == 1
    assert _backend_count(workstation, Note, Note.body == "orphan") == 0


def test_pull_does_not_overwrite_a_case_with_unpushed_work(workstation, clock):
    decision = _decide(workstation, clock)
    report = SyncReport()
    workstation.sync.pull(report)  # pull without pushing first
    assert workstation.case(decision.case_id).status == CaseStatus.DECIDED.value


def test_crash_between_pull_and_cursor_misses_nothing(workstation, clock):
    """Rows and cursor are one transaction: a failed apply leaves the old cursor."""
    cursor = workstation.sync.cursor()
    with workstation.backend.sessions.begin() as session:
        case = session.scalars(select(Case).where(Case.status == "new")).first()
        case.reporter_note = "updated on the backend"
        from reviewer.store.changes import next_change_version

        case.change_version = next_change_version(session)
        case_id = case.id

    original = workstation.sync._apply_batch

    def crash(local, rows):
        original(local, rows)
        raise OSError("power cut")

    workstation.sync._apply_batch = crash
    with pytest.raises(OSError):
        workstation.sync.pull(SyncReport())
    assert workstation.sync.cursor() == cursor
    assert workstation.case(case_id).reporter_note != "updated on the backend"
    workstation.sync._apply_batch = original
    workstation.sync.pull(SyncReport())
    assert workstation.case(case_id).reporter_note == "updated on the backend"
    assert workstation.sync.cursor() > cursor


def test_nothing_to_do_pulls_nothing(workstation):
    report = workstation.synchronise()
    assert report.pushed == 0 and report.pulled_rows == 0


def test_a_malformed_value_is_rejected_and_does_not_block_the_rest(workstation, clock):
    """A change the backend cannot even read is refused with its reason; the next applies."""
    first = _decide(workstation, clock)
    with workstation.replica.writing() as session:
        entry = session.scalar(select(OutboxEntry).where(OutboxEntry.entity_id == first.id))
        entry.payload = {**entry.payload, "fencing_token": "not a number"}
    second = _decide(workstation, clock)
    report = workstation.synchronise()
    assert report.rejected == 1 and report.pushed == 1
    with workstation.replica.sessions() as session:
        refused = session.scalar(select(OutboxEntry).where(OutboxEntry.entity_id == first.id))
    assert refused.state == "rejected" and "fencing_token" in refused.last_error
    assert "not a whole number" in refused.last_error
    assert _backend_count(workstation, Decision, Decision.id == second.id) == 1
