"""The append-only audit log: who did what to which case, in a chain that shows tampering.

Every entry carries the SHA-256 of the entry before it, computed over a canonical
serialisation (origin, seq, at, actor, kind, subject, details, prev_hash), so editing,
deleting or reordering an entry breaks the chain at the first entry touched, and
`verify_chain` reports that entry's number.

Where the log lives:

- Each workstation keeps its own chain in its replica (``origin`` is the replica's client
  id). An entry is written by `append_audit` inside the same local transaction as the action
  it records, and it travels to the backend inside that action's outbox mutation (under the
  payload key ``"audit"``), or, for an action that has no mutation of its own (a reveal, a
  withdrawn decision), in an outbox mutation of kind ``"audit"``. The backend stores every
  workstation's entries as they arrive, so it holds a copy of each chain that a workstation
  cannot rewrite afterwards.
- The backend keeps one more chain, origin ``"backend"``, for what happens there: lease
  reassignments by a lead (`audit_lease_reassignments`) and statement exports.

`reviewer-admin verify-audit-log` checks the chains of the replica and of the backend, and
compares each workstation's chain with the backend's copy of it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from reviewer.clock import Clock
from reviewer.store.database import writing
from reviewer.store.models import AuditLogEntry, LeaseEvent
from reviewer.store.outbox import enqueue

GENESIS_HASH = "0" * 64
BACKEND_ORIGIN = "backend"


class AuditKind:
    """The kinds of entry; stored as plain strings."""

    DECISION = "decision"
    DECISION_WITHDRAWN = "decision_withdrawn"
    SECOND_REVIEW = "second_review"
    ESCALATION = "escalation"
    RESPONSE = "response"
    REVEAL = "reveal"
    LEASE_REASSIGNED = "lease_reassigned"
    QUEUE_ROUTING = "queue_routing"  # a lead turned a queue's language routing off or on
    EXPORT = "export"


def canonical_bytes(
    *,
    origin: str,
    seq: int,
    at: datetime,
    actor: uuid.UUID | None,
    kind: str,
    subject: str,
    details: Mapping[str, Any],
    prev_hash: str,
) -> bytes:
    """The exact bytes an entry's hash covers: sorted-key JSON, ASCII, no spaces."""
    document = {
        "origin": origin,
        "seq": int(seq),
        "at": _timestamp(at),
        "actor": str(actor) if actor is not None else "",
        "kind": kind,
        "subject": subject,
        "details": details,
        "prev_hash": prev_hash,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def entry_hash(entry: AuditLogEntry) -> str:
    """The hash the entry should carry, recomputed from its fields."""
    return hashlib.sha256(canonical_bytes(
        origin=entry.origin, seq=entry.seq, at=entry.at, actor=entry.actor_id, kind=entry.kind,
        subject=entry.subject, details=entry.details, prev_hash=entry.prev_hash,
    )).hexdigest()


def _timestamp(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("naive datetime: audit timestamps must carry a time zone")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _plain(details: Mapping[str, Any]) -> dict[str, Any]:
    """Details as they will read back from the JSON column, so the hash survives storage."""
    plain = json.loads(json.dumps(dict(details), ensure_ascii=True, default=str))
    assert isinstance(plain, dict)
    return plain


def _head(session: Session, origin: str) -> AuditLogEntry | None:
    """The chain's last entry, including one added in this session but not yet flushed
    (no autoflush: this also runs while the session flushes)."""
    with session.no_autoflush:
        stored = session.scalars(
            select(AuditLogEntry).where(AuditLogEntry.origin == origin)
            .order_by(AuditLogEntry.seq.desc()).limit(1)
        ).first()
    pending = [obj for obj in session.new
               if isinstance(obj, AuditLogEntry) and obj.origin == origin]
    candidates = [entry for entry in (stored, *pending) if entry is not None]
    return max(candidates, key=lambda entry: entry.seq, default=None)


def append_audit(
    session: Session,
    *,
    origin: str,
    actor_id: uuid.UUID | None,
    kind: str,
    subject: str,
    details: Mapping[str, Any],
    now: datetime,
    carrier: dict[str, Any] | None = None,
    push: bool = True,
) -> AuditLogEntry:
    """Append one entry to `origin`'s chain, in the caller's transaction.

    `subject` names what the entry is about, e.g. ``"case:<id>"``. On a workstation
    (`origin` is its client id) the entry must reach the backend: pass the payload of the
    outbox mutation that carries the action as `carrier` (the entry is added under
    ``"audit"``; enqueue the mutation after this call), or leave `carrier` out to enqueue a
    mutation of kind ``"audit"`` for the entry alone. On the backend pass ``push=False``.
    """
    head = _head(session, origin)
    entry = AuditLogEntry(
        id=uuid.uuid4(),
        origin=origin,
        seq=(head.seq + 1) if head is not None else 1,
        at=now.astimezone(UTC),
        actor_id=actor_id,
        kind=kind,
        subject=subject,
        details=_plain(details),
        prev_hash=head.hash if head is not None else GENESIS_HASH,
        hash="",
    )
    entry.hash = entry_hash(entry)
    session.add(entry)
    if carrier is not None:
        carrier.setdefault("audit", []).append(entry_to_payload(entry))
    elif push:
        enqueue(session, client_id=origin, kind="audit", entity_id=entry.id, now=now,
                payload={"audit": [entry_to_payload(entry)]})
    return entry


def entry_to_payload(entry: AuditLogEntry) -> dict[str, Any]:
    """An entry as JSON, to travel inside an outbox mutation."""
    return {
        "id": str(entry.id),
        "origin": entry.origin,
        "seq": entry.seq,
        "at": _timestamp(entry.at),
        "actor_id": str(entry.actor_id) if entry.actor_id is not None else None,
        "kind": entry.kind,
        "subject": entry.subject,
        "details": entry.details,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


class AuditEntryRefused(ValueError):
    """A pushed audit entry the backend will not store; the message says why."""


def store_pushed_entries(session: Session, origin: str, entries: Iterable[Any]) -> int:
    """Store audit entries a workstation pushed, as they are (the backend side of the log).

    Entries are kept even if their hashes do not check out: the copy must show what the
    workstation sent, and `verify_chain` reports it. Refused: an entry of another
    workstation's chain, a malformed one, or one whose place in the chain the backend
    already holds with a different hash (a rewritten chain). A repeat of a stored entry is
    ignored. Returns how many entries were new.
    """
    stored = 0
    for raw in entries:
        if not isinstance(raw, dict):
            raise AuditEntryRefused("an audit entry is not an object")
        if raw.get("origin") != origin:
            raise AuditEntryRefused("a workstation can only add to its own audit chain")
        try:
            entry = AuditLogEntry(
                id=uuid.UUID(str(raw["id"])),
                origin=origin,
                seq=int(raw["seq"]),
                at=datetime.fromisoformat(str(raw["at"])),
                actor_id=uuid.UUID(str(raw["actor_id"])) if raw.get("actor_id") else None,
                kind=str(raw["kind"])[:32],
                subject=str(raw["subject"])[:128],
                details=dict(raw["details"]),
                prev_hash=str(raw["prev_hash"])[:64],
                hash=str(raw["hash"])[:64],
            )
        except (KeyError, TypeError, ValueError) as error:
            raise AuditEntryRefused(f"a malformed audit entry: {error}") from None
        if entry.at.tzinfo is None:
            raise AuditEntryRefused("an audit entry's time has no time zone")
        with session.no_autoflush:
            existing = session.scalars(
                select(AuditLogEntry).where(AuditLogEntry.origin == origin,
                                            AuditLogEntry.seq == entry.seq)
            ).first()
        if existing is not None:
            if existing.hash != entry.hash:
                raise AuditEntryRefused(
                    f"audit entry {entry.seq} of this workstation differs from the copy the "
                    "backend already holds"
                )
            continue
        session.add(entry)
        stored += 1
    session.flush()
    return stored


# -- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking one chain: `first_broken_seq` is None when it is whole."""

    ok: bool
    first_broken_seq: int | None
    reason: str
    origin: str = ""
    entries: int = 0


def origins(session: Session) -> list[str]:
    """Every chain in this database, by origin."""
    return list(session.scalars(
        select(AuditLogEntry.origin).distinct().order_by(AuditLogEntry.origin)))


def verify_chain(session: Session, origin: str | None = None) -> VerifyResult:
    """Check one chain (or, with no `origin`, every chain; the first broken one is reported).

    Entries must be numbered 1, 2, 3, … with no gap, each must carry the hash of the one
    before it, and each stored hash must match the entry's fields.
    """
    if origin is None:
        results = [verify_chain(session, name) for name in origins(session)]
        broken = [result for result in results if not result.ok]
        if broken:
            return broken[0]
        return VerifyResult(True, None, "every chain is whole", "",
                            sum(result.entries for result in results))
    entries = session.scalars(
        select(AuditLogEntry).where(AuditLogEntry.origin == origin).order_by(AuditLogEntry.seq)
    ).all()
    return verify_entries(entries, origin)


def verify_entries(entries: Sequence[AuditLogEntry], origin: str) -> VerifyResult:
    """Check a chain given as its entries in stored order (see `verify_chain`)."""
    previous_hash = GENESIS_HASH
    expected_seq = 1
    for entry in entries:
        if entry.seq > expected_seq:
            return VerifyResult(False, expected_seq, f"entry {expected_seq} is missing",
                                origin, len(entries))
        if entry.seq < expected_seq:
            return VerifyResult(False, entry.seq, f"entry {entry.seq} appears twice",
                                origin, len(entries))
        if entry.prev_hash != previous_hash:
            return VerifyResult(
                False, entry.seq,
                f"entry {entry.seq} does not follow entry {entry.seq - 1}: its link to the "
                "previous entry does not match (an entry was changed, removed or reordered)",
                origin, len(entries))
        if entry_hash(entry) != entry.hash:
            return VerifyResult(
                False, entry.seq,
                f"entry {entry.seq} was changed after it was written: its contents no longer "
                "match its hash", origin, len(entries))
        previous_hash = entry.hash
        expected_seq += 1
    return VerifyResult(True, None, f"{len(entries)} entries, chain whole", origin, len(entries))


def compare_copies(local: Session, remote: Session, origin: str) -> VerifyResult:
    """Compare a workstation's chain with the backend's copy of it, entry by entry.

    The backend holds what was pushed; a replica whose chain was rewritten (even with fresh,
    consistent hashes) differs from that copy at the first rewritten entry. Entries not yet
    pushed are not compared.
    """
    mine = {row.seq: row.hash for row in local.execute(
        select(AuditLogEntry.seq, AuditLogEntry.hash).where(AuditLogEntry.origin == origin))}
    theirs = [(row.seq, row.hash) for row in remote.execute(
        select(AuditLogEntry.seq, AuditLogEntry.hash).where(AuditLogEntry.origin == origin)
        .order_by(AuditLogEntry.seq))]
    for seq, remote_hash in theirs:
        if seq not in mine:
            return VerifyResult(False, seq, f"entry {seq} is on the backend but not here",
                                origin, len(mine))
        if mine[seq] != remote_hash:
            return VerifyResult(False, seq,
                                f"entry {seq} differs from the copy on the backend",
                                origin, len(mine))
    return VerifyResult(True, None, f"{len(theirs)} entries match the backend's copy",
                        origin, len(mine))


def chain_length(session: Session, origin: str) -> int:
    return session.scalar(
        select(func.count()).select_from(AuditLogEntry).where(AuditLogEntry.origin == origin)
    ) or 0


# -- actions recorded only in the audit log ------------------------------------------------


def record_reveal(
    sessions: sessionmaker[Session],
    *,
    client_id: str,
    actor_id: uuid.UUID,
    case_id: uuid.UUID,
    media_item_id: uuid.UUID | None,
    mode: str,
    clock: Clock,
    over_budget_reason: str = "",
) -> AuditLogEntry:
    """Record that a reviewer uncovered severe content (for the viewer to call on a reveal).

    `mode` is how it was uncovered ("hold", "toggle", "lens"); `over_budget_reason` is the
    reason given when the reveal went over the wellness budget. One local transaction; the
    entry reaches the backend at the next sync.
    """
    with writing(sessions) as session:
        entry = append_audit(
            session, origin=client_id, actor_id=actor_id, kind=AuditKind.REVEAL,
            subject=f"case:{case_id}", now=clock.now(),
            details={"media_item_id": str(media_item_id) if media_item_id else None,
                     "mode": mode, "over_budget_reason": over_budget_reason.strip()},
        )
        session.flush()
        session.expunge(entry)
    return entry


_REASSIGNMENT_KINDS = ("reassigned", "released")


def audit_lease_reassignments(sessions: sessionmaker[Session]) -> None:
    """Record every lease a lead reassigns or releases, in the transaction that does it.

    Call once on the backend's session factory, right after opening the backend. A lease
    event of kind "reassigned" or "released" whose actor is not the lease holder is a lead
    acting on someone else's work; it is appended to the backend's chain as it is flushed,
    so it commits or rolls back with the reassignment.
    """
    if event.contains(sessions, "before_flush", _audit_reassignments):
        return
    event.listen(sessions, "before_flush", _audit_reassignments)


def _audit_reassignments(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.new):
        if not isinstance(obj, LeaseEvent) or obj.kind not in _REASSIGNMENT_KINDS:
            continue
        if obj.actor_id is None or obj.actor_id == obj.reviewer_id:
            continue
        append_audit(
            session, origin=BACKEND_ORIGIN, actor_id=obj.actor_id,
            kind=AuditKind.LEASE_REASSIGNED, subject=f"case:{obj.case_id}", now=obj.at,
            # reviewer_id: the new holder when reassigned, the previous one when released.
            details={"event": obj.kind,
                     "reviewer_id": str(obj.reviewer_id) if obj.reviewer_id else None,
                     "fencing_token": obj.fencing_token, "reason": obj.reason or ""},
            push=False,
        )
