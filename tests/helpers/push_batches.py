"""The set-based push scenario: a batch that mixes good, replayed, forged, refused and
conflicting mutations, applied at once and one by one, with the outcomes expected of it.
Shared by tests/unit/sync/test_sync_batch.py (the embedded backend) and
tests/integration/test_pg_push_batch.py (a real PostgreSQL backend)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

import reviewer.sync.appliers as backend_module
from reviewer.store.changes import stamp_changes
from reviewer.store.models import (
    AppliedMutation,
    AuditLogEntry,
    Case,
    ChangeCounter,
    Decision,
    Escalation,
    Note,
    OutboxEntry,
)
from reviewer.sync.appliers import Mutation, apply_mutations
from tests.helpers.pg_workstations import decide, open_case_ids


def pending_mutations(workstation) -> list[Mutation]:  # type: ignore[no-untyped-def]
    with workstation.replica.sessions() as local:
        entries = local.scalars(select(OutboxEntry).where(OutboxEntry.state == "pending")
                                .order_by(OutboxEntry.seq)).all()
        return [Mutation(e.mutation_id, e.client_id, e.seq, e.kind, e.payload)
                for e in entries]


def _variant(template: Mutation, seq: int, kind: str | None = None,
             **changes: Any) -> Mutation:
    """A new mutation (new id, its own seq) from a template's payload, without its audit."""
    payload = {key: value for key, value in template.payload.items() if key != "audit"}
    payload.update(changes)
    return Mutation(uuid.uuid4(), template.client_id, seq, kind or template.kind, payload)


def build_mixed_batch(workstation) -> tuple[list[Mutation], list[tuple[str, str | None]]]:  # type: ignore[no-untyped-def]
    """Applies one decision first, then returns a batch that mixes good, replayed, forged,
    refused and conflicting mutations of several kinds, with the outcomes expected of it."""
    cases = open_case_ids(workstation.replica, 5)
    assert len(cases) == 5
    decisions = [decide(workstation, case_id) for case_id in cases[:4]]
    m1, m2, m3, m4 = pending_mutations(workstation)
    with workstation.backend.sessions.begin() as remote:
        (first,) = apply_mutations(remote, [m1])
    assert first.outcome == "applied"
    now = workstation.clock.now()
    later = (now + timedelta(minutes=1)).isoformat()
    forged = Mutation(m1.mutation_id, m1.client_id, m1.seq, m1.kind,
                      {**m1.payload, "action": "remove"})
    second_on_case = _variant(m2, 900_001, id=str(uuid.uuid4()), created_at=later)
    no_such_case = _variant(m3, 900_002, id=str(uuid.uuid4()), case_id=str(uuid.uuid4()))
    note = _variant(m3, 900_003, kind="note", id=str(uuid.uuid4()),
                    author_id=str(workstation.reviewer_id), body="handover: see the thread")
    correction = _variant(m3, 900_004, id=str(uuid.uuid4()), supersedes_id=str(decisions[2].id),
                          created_at=later)
    second_correction = _variant(m3, 900_005, id=str(uuid.uuid4()),
                                 supersedes_id=str(decisions[2].id), created_at=later)
    foreign_audit = Mutation(uuid.uuid4(), m4.client_id, 900_006, m4.kind, {
        **m4.payload,
        "audit": [{**entry, "origin": "another-workstation"} for entry in m4.payload["audit"]],
    })
    no_time = _variant(m4, 900_007, id=str(uuid.uuid4()), created_at=None)
    rewritten = Mutation(uuid.uuid4(), m2.client_id, 900_008, "audit", {
        "audit": [{**m2.payload["audit"][0], "hash": "f" * 64}]})
    mystery = _variant(m4, 900_009, kind="mystery")
    escalation = Mutation(uuid.uuid4(), m4.client_id, 900_010, "escalation", {
        "id": str(uuid.uuid4()), "case_id": str(cases[4]),
        "reviewer_id": str(workstation.reviewer_id), "to_team": "legal",
        "reason": "a court order is mentioned", "urgency": "routine",
        "created_at": now.isoformat()})
    decision_after_escalation = _variant(m4, 900_011, id=str(uuid.uuid4()),
                                         case_id=str(cases[4]), created_at=later)
    batch = [m2, m1, forged, m3, second_on_case, no_such_case, note, correction,
             second_correction, foreign_audit, m4, m4, no_time, rewritten, mystery, escalation,
             decision_after_escalation]
    expected = [
        ("applied", None), ("applied", None), ("rejected", "different payload"),
        ("applied", None), ("applied", None), ("rejected", "does not exist"),
        ("applied", None), ("applied", None), ("applied", None),
        ("rejected", "its own audit chain"), ("applied", None), ("applied", None),
        ("rejected", "created_at"), ("rejected", "differs from the copy"),
        ("rejected", "unknown kind"), ("applied", None), ("applied", None),
    ]
    return batch, expected


def snapshot(session) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    """Everything a push can write, as plain tuples."""
    def rows(*columns: Any) -> list[tuple]:
        return sorted((tuple(r) for r in session.execute(select(*columns))), key=str)

    return {
        "decisions": rows(*Decision.__table__.columns),
        "cases": rows(Case.id, Case.status, Case.lease_holder_id, Case.lease_expires_at,
                      Case.queue_id, Case.updated_at, Case.change_version),
        "escalations": rows(*Escalation.__table__.columns),
        "notes": rows(*Note.__table__.columns),
        "audit": rows(AuditLogEntry.id, AuditLogEntry.origin, AuditLogEntry.seq,
                      AuditLogEntry.hash, AuditLogEntry.at, AuditLogEntry.details),
        "applied": rows(AppliedMutation.mutation_id, AppliedMutation.client_id,
                        AppliedMutation.seq, AppliedMutation.kind,
                        AppliedMutation.payload_sha256, AppliedMutation.outcome,
                        AppliedMutation.reason),
        "counter": rows(ChangeCounter.value),
    }


def apply_and_undo(workstation, batch: list[Mutation]):  # type: ignore[no-untyped-def]
    """The results and resulting state of applying `batch`, rolled back afterwards."""
    with workstation.backend.sessions() as remote:
        remote.begin()
        results = apply_mutations(remote, batch)
        stamp_changes(remote)  # the versions the commit would give (the same in every run)
        state = snapshot(remote)
        remote.rollback()
    return results, state


def one_by_one(monkeypatch):  # type: ignore[no-untyped-def]
    """From here on, every mutation takes the one-at-a-time path (the reference)."""
    monkeypatch.setattr(backend_module, "_BULK_KINDS", frozenset())


def count_fallbacks(monkeypatch) -> list[Mutation]:  # type: ignore[no-untyped-def]
    applied_alone: list[Mutation] = []
    original = backend_module._apply_one

    def spy(session, mutation, sha, version, ctx):  # type: ignore[no-untyped-def]
        applied_alone.append(mutation)
        return original(session, mutation, sha, version, ctx)

    monkeypatch.setattr(backend_module, "_apply_one", spy)
    return applied_alone


def check_mixed_batch(workstation, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    batch, expected = build_mixed_batch(workstation)
    alone = count_fallbacks(monkeypatch)
    results, state = apply_and_undo(workstation, batch)
    got = [(r.outcome, r.reason) for r in results]
    assert [r.mutation_id for r in results] == [m.mutation_id for m in batch]
    for (outcome, reason), (want, fragment) in zip(got, expected, strict=True):
        assert outcome == want, (outcome, reason, want, fragment)
        if fragment is None:
            assert reason is None
        else:
            assert reason is not None and fragment in reason
    # Only the kinds without a set-based path went one at a time: no fallback.
    assert {m.kind for m in alone} == {"note", "mystery", "escalation"}

    one_by_one(monkeypatch)
    reference_results, reference_state = apply_and_undo(workstation, batch)
    assert results == reference_results
    for table in state:
        assert state[table] == reference_state[table], table

    # And the effects are the ones intended.
    decisions = {row[0]: row for row in state["decisions"]}
    columns = [c.name for c in Decision.__table__.columns]
    conflict = columns.index("conflict")
    by_id = {uuid.UUID(str(m.payload.get("id"))): m for m in batch
             if m.kind == "decision" and m.payload.get("id")}
    second_on_case, correction, second_correction = batch[4], batch[7], batch[8]
    assert decisions[uuid.UUID(second_on_case.payload["id"])][conflict] is True
    assert decisions[uuid.UUID(correction.payload["id"])][conflict] is False
    assert decisions[uuid.UUID(second_correction.payload["id"])][conflict] is True
    assert decisions[uuid.UUID(batch[0].payload["id"])][conflict] is False
    assert uuid.UUID(batch[5].payload["id"]) not in decisions  # no such case
    # Every decision the batch had applied is stored, and none it refused.
    applied = {uuid.UUID(m.payload["id"]) for m, (outcome, _reason)
               in zip(batch, expected, strict=True)
               if m.kind == "decision" and outcome == "applied"}
    assert len(by_id) == 10 and len(applied) == 8
    assert set(by_id) & set(decisions) == applied
    escalations = [row for row in state["escalations"]
                   if str(row[0]) == batch[15].payload["id"]]
    resolved_at = [c.name for c in Escalation.__table__.columns].index("resolved_at")
    assert escalations and escalations[0][resolved_at] is not None


def check_two_decisions_on_one_case(workstation, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    case_id = open_case_ids(workstation.replica, 1)[0]
    decide(workstation, case_id)
    (first,) = pending_mutations(workstation)
    later = (workstation.clock.now() + timedelta(minutes=2)).isoformat()
    second = _variant(first, 800_001, id=str(uuid.uuid4()), created_at=later,
                      rationale="A second look, made offline.")
    results, state = apply_and_undo(workstation, [first, second])
    assert [r.outcome for r in results] == ["applied", "applied"]
    conflict = [c.name for c in Decision.__table__.columns].index("conflict")
    flags = {str(row[0]): row[conflict] for row in state["decisions"]
             if str(row[0]) in (first.payload["id"], second.payload["id"])}
    assert flags == {first.payload["id"]: False, second.payload["id"]: True}
    case = next(row for row in state["cases"] if row[0] == case_id)
    assert case[1] == "decided"
    one_by_one(monkeypatch)
    assert apply_and_undo(workstation, [first, second]) == (results, state)


def check_constraint_failure_falls_back(workstation, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cases = open_case_ids(workstation.replica, 3)
    for case_id in cases:
        decide(workstation, case_id)
    good_one, bad_template, good_two = pending_mutations(workstation)
    # A reviewer the backend does not know: only the database's foreign key catches it.
    bad = _variant(bad_template, 700_001, reviewer_id=str(uuid.uuid4()))
    alone = count_fallbacks(monkeypatch)
    with workstation.backend.sessions.begin() as remote:
        results = apply_mutations(remote, [good_one, bad, good_two])
    assert [r.outcome for r in results] == ["applied", "rejected", "applied"]
    assert "the backend refused it" in results[1].reason
    assert [m.mutation_id for m in alone] == [good_one.mutation_id, bad.mutation_id,
                                              good_two.mutation_id]
    with workstation.backend.sessions() as remote:
        stored = set(remote.scalars(select(Decision.id).where(Decision.case_id.in_(cases))))
        statuses = dict(remote.execute(select(Case.id, Case.status)
                                       .where(Case.id.in_(cases))).all())
        ledger = dict(remote.execute(select(AppliedMutation.mutation_id,
                                            AppliedMutation.outcome)).all())
    assert stored == {uuid.UUID(good_one.payload["id"]), uuid.UUID(good_two.payload["id"])}
    assert statuses[cases[0]] == statuses[cases[2]] == "decided"
    assert statuses[cases[1]] != "decided"
    assert ledger[bad.mutation_id] == "rejected"
    # The one refused and kept is answered the same way when pushed again.
    alone.clear()
    with workstation.backend.sessions.begin() as remote:
        again = apply_mutations(remote, [good_one, bad, good_two])
    assert again == results and alone == []
