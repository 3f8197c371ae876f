"""The audit log: a hash chain per workstation and on the backend, that shows tampering."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from sqlalchemy import func, select, text

from reviewer.cli import main
from reviewer.demo.seed import demo_reviewer_id
from reviewer.enforcement.decisions import DecisionDraft, record_decision
from reviewer.enforcement.escalation import escalate_case
from reviewer.queue.leases import LeaseError, lease_case, reassign_lease
from reviewer.queue.notes import add_note
from reviewer.security.audit import (
    BACKEND_ORIGIN,
    GENESIS_HASH,
    AuditEntryRefused,
    append_audit,
    audit_lease_reassignments,
    compare_copies,
    entry_hash,
    record_reveal,
    store_pushed_entries,
    verify_chain,
)
from reviewer.store.models import AuditLogEntry, Case, OutboxEntry

SOFIA, AMARA, JONAS = (demo_reviewer_id(n) for n in ("sofia", "amara", "jonas"))


def _work(workstation, clock, count=4) -> None:
    """Record `count` audited actions: decisions and escalations on open cases."""
    with workstation.replica.sessions() as session:
        cases = session.scalars(select(Case).where(Case.status == "new")
                                .order_by(Case.external_ref).limit(count)).all()
    for index, case in enumerate(cases):
        clock.advance(7)
        if index % 2:
            escalate_case(workstation.replica.sessions, case_id=case.id,
                          reviewer_id=workstation.reviewer_id, client_id=workstation.client_id,
                          to_team="core_policy", urgency="routine", clock=clock,
                          reason="Policy gap: the definition does not cover this.")
            continue
        policy = next(p for p in workstation.taxonomy.policies_for_surface(case.surface)
                      if "no_violation" in p.actions)
        record_decision(workstation.replica.sessions, workstation.taxonomy,
                        reviewer_id=workstation.reviewer_id, client_id=workstation.client_id,
                        clock=clock, draft=DecisionDraft(case.id, policy.code, "no_violation",
                                                         "Not a violation: satire."))


def _verify(database, origin=None):
    with database.sessions() as session:
        return verify_chain(session, origin)


def _sql(database, statement: str, **params) -> None:
    with database.engine.begin() as connection:
        connection.execute(text(statement), params)


def test_each_entry_carries_the_hash_of_the_one_before(workstation, clock):
    _work(workstation, clock)
    with workstation.replica.sessions() as session:
        entries = session.scalars(select(AuditLogEntry).order_by(AuditLogEntry.seq)).all()
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert [e.kind for e in entries] == ["decision", "escalation", "decision", "escalation"]
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in pairwise(entries):
        assert after.prev_hash == before.hash
    assert all(e.origin == workstation.client_id and e.actor_id == workstation.reviewer_id
               for e in entries)
    assert _verify(workstation.replica).ok


def test_the_hash_covers_a_documented_canonical_form(workstation, clock):
    with workstation.replica.sessions.begin() as session:
        entry = append_audit(session, origin="o", actor_id=None, kind="export",
                             subject="x", details={"b": 1, "a": "é"}, push=False,
                             now=datetime(2026, 11, 16, 9, 0, 0, 5, tzinfo=UTC))
    expected = json.dumps({
        "actor": "", "at": "2026-11-16T09:00:00.000005+00:00", "details": {"a": "é", "b": 1},
        "kind": "export", "origin": "o", "prev_hash": GENESIS_HASH, "seq": 1, "subject": "x",
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    assert entry.hash == hashlib.sha256(expected).hexdigest()
    with workstation.replica.sessions() as session:
        stored = session.scalar(select(AuditLogEntry).where(AuditLogEntry.origin == "o"))
        assert entry_hash(stored) == entry.hash  # survives the round trip through storage


def test_an_intact_chain_verifies(workstation, clock):
    _work(workstation, clock)
    result = _verify(workstation.replica)
    assert result.ok and result.first_broken_seq is None and result.entries == 4


def test_an_edited_entry_is_the_first_broken_one(workstation, clock):
    _work(workstation, clock)
    _sql(workstation.replica, "UPDATE audit_log SET details = :d WHERE seq = 3",
         d=json.dumps({"action": "remove"}))
    result = _verify(workstation.replica)
    assert (result.ok, result.first_broken_seq) == (False, 3)
    assert "changed after it was written" in result.reason


def test_an_edit_with_a_fresh_hash_breaks_the_link_of_the_next_entry(workstation, clock):
    _work(workstation, clock)
    with workstation.replica.sessions.begin() as session:
        entry = session.scalar(select(AuditLogEntry).where(AuditLogEntry.seq == 2))
        entry.subject = "case:someone-else"
        entry.hash = entry_hash(entry)
    result = _verify(workstation.replica)
    assert (result.ok, result.first_broken_seq) == (False, 3)
    assert "does not follow entry 2" in result.reason


def test_a_deleted_entry_is_reported_missing(workstation, clock):
    _work(workstation, clock)
    _sql(workstation.replica, "DELETE FROM audit_log WHERE seq = 2")
    result = _verify(workstation.replica)
    assert (result.ok, result.first_broken_seq) == (False, 2)
    assert result.reason == "entry 2 is missing"


def test_reordered_entries_break_the_chain_where_the_order_changed(workstation, clock):
    _work(workstation, clock)
    _sql(workstation.replica, "UPDATE audit_log SET seq = -1 WHERE seq = 2")
    _sql(workstation.replica, "UPDATE audit_log SET seq = 2 WHERE seq = 3")
    _sql(workstation.replica, "UPDATE audit_log SET seq = 3 WHERE seq = -1")
    result = _verify(workstation.replica)
    assert (result.ok, result.first_broken_seq) == (False, 2)


def test_the_backend_keeps_a_copy_that_catches_a_rewritten_replica(workstation, clock):
    _work(workstation, clock)
    assert workstation.synchronise().rejected == 0
    origin = workstation.client_id
    assert _verify(workstation.backend, origin).ok
    with workstation.replica.sessions() as local, workstation.backend.sessions() as remote:
        assert compare_copies(local, remote, origin).ok
    # Rewrite entry 2 onwards with fresh, consistent hashes: the chain alone looks whole.
    with workstation.replica.sessions.begin() as session:
        entries = session.scalars(select(AuditLogEntry).order_by(AuditLogEntry.seq)).all()
        entries[1].details = {**entries[1].details, "to_team": "nobody"}
        for before, entry in pairwise(entries):
            entry.prev_hash = before.hash
            entry.hash = entry_hash(entry)
    assert _verify(workstation.replica).ok
    with workstation.replica.sessions() as local, workstation.backend.sessions() as remote:
        result = compare_copies(local, remote, origin)
    assert (result.ok, result.first_broken_seq) == (False, 2)


def test_entries_of_a_rejected_action_still_reach_the_backend(workstation, clock):
    # A case that exists only in this replica: the backend rejects the decision on it.
    with workstation.replica.sessions.begin() as session:
        template = session.scalars(select(Case)).first()
        orphan = Case(id=uuid.uuid4(), external_ref="RPT-LOCAL-ONLY",
                      queue_id=template.queue_id, surface=template.surface,
                      channel="user_report", policy_area=template.policy_area,
                      reported_at=template.reported_at, due_at=template.due_at, severity=2,
                      language="en", region="DE", status="new")
        session.add(orphan)
    policy = workstation.taxonomy.policies_for_surface(template.surface)[0]
    record_decision(workstation.replica.sessions, workstation.taxonomy,
                    reviewer_id=workstation.reviewer_id, client_id=workstation.client_id,
                    clock=clock, draft=DecisionDraft(orphan.id, policy.code, "no_violation",
                                                     "Nothing wrong with it."))
    _work(workstation, clock, count=1)
    report = workstation.synchronise()
    assert (report.pushed, report.rejected) == (1, 1)
    result = _verify(workstation.backend, workstation.client_id)
    assert result.ok and result.entries == 2


def test_a_workstation_cannot_write_into_another_chain(workstation):
    with workstation.backend.sessions.begin() as session, \
            pytest.raises(AuditEntryRefused, match="its own audit chain"):
        store_pushed_entries(session, "client-a", [{"origin": "client-b", "seq": 1}])


def test_a_pushed_entry_that_differs_from_the_stored_copy_is_refused(workstation, clock):
    _work(workstation, clock, count=1)
    workstation.synchronise()
    with workstation.replica.sessions() as session:
        entry = session.scalar(select(OutboxEntry)).payload["audit"][0]
    forged = {**entry, "details": {"action": "remove"}, "hash": "f" * 64}
    with workstation.backend.sessions.begin() as session, \
            pytest.raises(AuditEntryRefused, match="differs from the copy"):
        store_pushed_entries(session, workstation.client_id, [forged])
    with workstation.backend.sessions.begin() as session:
        assert store_pushed_entries(session, workstation.client_id, [entry]) == 0  # repeat


def test_a_reveal_is_recorded_and_pushed(workstation, clock):
    with workstation.replica.sessions() as session:
        case = session.scalars(select(Case)).first()
    entry = record_reveal(workstation.replica.sessions, client_id=workstation.client_id,
                          actor_id=workstation.reviewer_id, case_id=case.id,
                          media_item_id=None, mode="hold", clock=clock)
    assert (entry.kind, entry.subject, entry.details["mode"]) == (
        "reveal", f"case:{case.id}", "hold")
    assert workstation.synchronise().pushed == 1
    with workstation.backend.sessions() as session:
        assert session.get(AuditLogEntry, entry.id).hash == entry.hash


def test_a_leads_reassignment_is_audited_in_its_own_transaction(workstation, clock):
    audit_lease_reassignments(workstation.backend.sessions)
    audit_lease_reassignments(workstation.backend.sessions)  # installing twice is harmless
    with workstation.backend.sessions() as session:
        case = session.scalars(select(Case).where(Case.status == "new")
                               .order_by(Case.external_ref)).first()
        # the demo's organisation_applied entry comes before anything this test does
        seeded = session.scalar(select(func.max(AuditLogEntry.seq)).where(
            AuditLogEntry.origin == BACKEND_ORIGIN)) or 0
    lease_case(workstation.backend, case.id, workstation.reviewer_id, clock)  # no entry
    with pytest.raises(LeaseError):
        reassign_lease(workstation.backend, case.id, JONAS, SOFIA, clock)  # not a lead
    reassign_lease(workstation.backend, case.id, SOFIA, JONAS, clock, reason="Off sick")
    reassign_lease(workstation.backend, case.id, SOFIA, None, clock, reason="Back to queue")
    with workstation.backend.sessions() as session:
        entries = session.scalars(select(AuditLogEntry).where(
            AuditLogEntry.origin == BACKEND_ORIGIN, AuditLogEntry.seq > seeded)
            .order_by(AuditLogEntry.seq)).all()
        assert [(e.kind, e.details["event"], e.actor_id) for e in entries] == [
            ("lease_reassigned", "reassigned", SOFIA), ("lease_reassigned", "released", SOFIA)]
        assert entries[0].details["reviewer_id"] == str(JONAS)
        assert entries[1].details["reason"] == "Back to queue"
        assert verify_chain(session, BACKEND_ORIGIN).ok


def test_verify_audit_log_command_reports_the_first_broken_entry(workstation, clock, capsys):
    _work(workstation, clock)
    add_note(workstation.replica.sessions, case_id=_any_case(workstation),
             author_id=workstation.reviewer_id, client_id=workstation.client_id,
             body="Not audited: notes are not in the log.", clock=clock)
    workstation.synchronise()
    data_dir = str(workstation.paths.root)
    assert main(["--data-dir", data_dir, "verify-audit-log"], secrets=workstation.secrets) == 0
    out = capsys.readouterr().out
    assert f"OK replica chain {workstation.client_id}: 4 entries" in out
    assert f"OK backend chain {workstation.client_id}: 4 entries" in out
    assert "matches the backend's copy" in out
    _sql(workstation.replica, "UPDATE audit_log SET kind = 'decision' WHERE seq = 4")
    assert main(["--data-dir", data_dir, "verify-audit-log", "--database", "replica"],
                secrets=workstation.secrets) == 1
    out = capsys.readouterr().out
    assert f"BROKEN replica chain {workstation.client_id} at entry 4" in out
    assert main(["--data-dir", data_dir, "verify-audit-log", "--database", "backend"],
                secrets=workstation.secrets) == 0
    with workstation.replica.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditLogEntry)) == 4


def _any_case(workstation) -> uuid.UUID:
    with workstation.replica.sessions() as session:
        return session.scalars(select(Case.id)).first()
