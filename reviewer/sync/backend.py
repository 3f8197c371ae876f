"""The backend's side of sync: apply pushed mutations at most once, serve changes by version.

Each mutation runs in its own savepoint, so one that is rejected is recorded with its
reason and never blocks the ones after it. The audit-log entries a mutation carries (under
``"audit"``) are stored first, in a savepoint of their own, so they are kept even when the
action itself is rejected: the log shows what the workstation did, the ledger what the
backend made of it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reviewer.audit import AuditEntryRefused, store_pushed_entries
from reviewer.enforcement import second_review_refusal
from reviewer.escalation import destination_queue
from reviewer.models import (
    SYNCED_MODELS,
    AppliedMutation,
    Base,
    Case,
    ChangeCounter,
    Decision,
    Escalation,
    Note,
    Response,
    SecondReview,
    WellnessSummary,
)
from reviewer.vocabulary import CaseStatus, EscalationTeam, Urgency


@dataclass(frozen=True)
class Mutation:
    mutation_id: uuid.UUID
    client_id: str
    seq: int
    kind: str
    payload: dict[str, Any]

    @property
    def payload_sha256(self) -> str:
        canonical = json.dumps(self.payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class MutationResult:
    mutation_id: uuid.UUID
    outcome: str  # "applied" or "rejected"
    reason: str | None = None


class MutationRejected(Exception):
    """A mutation the backend will not apply; the reason goes back to the client."""


def next_change_version(session: Session) -> int:
    """Take the next change version; the row lock orders concurrent writers."""
    value = session.scalar(
        update(ChangeCounter)
        .where(ChangeCounter.id == 1)
        .values(value=ChangeCounter.value + 1)
        .returning(ChangeCounter.value)
    )
    if value is None:
        session.add(ChangeCounter(id=1, value=1))
        session.flush()
        return 1
    return int(value)


def current_change_version(session: Session) -> int:
    return session.scalar(select(ChangeCounter.value).where(ChangeCounter.id == 1)) or 0


def _uuid(payload: dict[str, Any], key: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(payload[key]))
    except (KeyError, ValueError) as error:
        raise MutationRejected(f"{key} is missing or not a valid id") from error


def _when(payload: dict[str, Any], key: str) -> datetime:
    try:
        value = datetime.fromisoformat(str(payload[key]))
    except (KeyError, ValueError) as error:
        raise MutationRejected(f"{key} is missing or not a timestamp") from error
    if value.tzinfo is None:
        raise MutationRejected(f"{key} has no time zone")
    return value


def _apply_decision(session: Session, payload: dict[str, Any], version: int) -> None:
    case = session.scalar(
        select(Case).where(Case.id == _uuid(payload, "case_id")).with_for_update()
    )
    if case is None:
        raise MutationRejected("the case does not exist on the backend")
    decision_id = _uuid(payload, "id")
    if session.get(Decision, decision_id) is not None:
        raise MutationRejected("a decision with this id already exists")
    token = payload.get("fencing_token")
    reviewer_id = _uuid(payload, "reviewer_id")
    supersedes_id = _uuid(payload, "supersedes_id") if payload.get("supersedes_id") else None
    corrects_current = False
    if supersedes_id is not None:
        superseded = session.get(Decision, supersedes_id)
        if superseded is None or superseded.case_id != case.id:
            raise MutationRejected("the decision it corrects is not on the backend")
        # A correction of the case's standing decision replaces it; a second correction of
        # the same decision is kept as a conflict, like any late decision.
        corrects_current = session.scalars(
            select(Decision.id).where(Decision.supersedes_id == supersedes_id)
        ).first() is None
    # A decision made under a lease that has since passed to someone else is kept, flagged.
    stale = (
        token is not None
        and int(token) < case.fencing_token
        and case.lease_holder_id not in (None, reviewer_id)
    )
    already_decided = (case.status in (CaseStatus.DECIDED.value, CaseStatus.CLOSED.value)
                       and not corrects_current)
    created_at = _when(payload, "created_at")
    session.add(
        Decision(
            id=decision_id,
            case_id=case.id,
            reviewer_id=reviewer_id,
            policy_code=str(payload.get("policy_code", "")),
            action=str(payload.get("action", "")),
            rationale=str(payload.get("rationale", "")),
            created_at=created_at,
            policy_version=str(payload.get("policy_version", "")),
            fencing_token=int(token) if token is not None else None,
            supersedes_id=supersedes_id,
            conflict=stale or already_decided,
            requires_second_review=bool(payload.get("requires_second_review", False)),
            change_version=version,
        )
    )
    # A stale decision is kept for a lead, but the case stays with its current holder.
    if not (already_decided or stale):
        case.status = CaseStatus.DECIDED.value
        case.lease_holder_id = None
        case.lease_expires_at = None
        for escalation in session.scalars(
            select(Escalation).where(Escalation.case_id == case.id,
                                     Escalation.resolved_at.is_(None))
        ):
            escalation.resolved_at = created_at
            escalation.change_version = version
    case.updated_at = created_at
    case.change_version = version


def _apply_note(session: Session, payload: dict[str, Any], version: int) -> None:
    case_id = _uuid(payload, "case_id")
    if session.get(Case, case_id) is None:
        raise MutationRejected("the case does not exist on the backend")
    session.add(
        Note(
            id=_uuid(payload, "id"),
            case_id=case_id,
            author_id=_uuid(payload, "author_id"),
            body=str(payload.get("body", "")),
            created_at=_when(payload, "created_at"),
            change_version=version,
        )
    )


def _apply_escalation(session: Session, payload: dict[str, Any], version: int) -> None:
    case = session.scalar(
        select(Case).where(Case.id == _uuid(payload, "case_id")).with_for_update()
    )
    if case is None:
        raise MutationRejected("the case does not exist on the backend")
    to_team = str(payload.get("to_team", ""))
    if to_team not in {team.value for team in EscalationTeam}:
        raise MutationRejected(f"unknown escalation team {to_team!r}")
    urgency = str(payload.get("urgency", Urgency.ROUTINE.value))
    if urgency not in {level.value for level in Urgency}:
        raise MutationRejected(f"unknown urgency {urgency!r}")
    session.add(
        Escalation(
            id=_uuid(payload, "id"),
            case_id=case.id,
            reviewer_id=_uuid(payload, "reviewer_id"),
            to_team=to_team,
            reason=str(payload.get("reason", "")),
            urgency=urgency,
            created_at=_when(payload, "created_at"),
            change_version=version,
        )
    )
    if case.status not in (CaseStatus.DECIDED.value, CaseStatus.CLOSED.value):
        queue = destination_queue(session, to_team)
        if queue is not None:
            # Routed: the team works it from its own queue like any other case.
            case.queue_id = queue.id
            case.status = CaseStatus.NEW.value
        else:
            case.status = CaseStatus.ESCALATED.value
        case.lease_holder_id = None
        case.lease_expires_at = None
        case.updated_at = _when(payload, "created_at")
    case.change_version = version


def _apply_second_review(session: Session, payload: dict[str, Any], version: int) -> None:
    decision = session.get(Decision, _uuid(payload, "decision_id"))
    reviewer_id = _uuid(payload, "reviewer_id")
    refusal = second_review_refusal(session, decision, reviewer_id)
    if refusal is not None:
        raise MutationRejected(refusal)
    assert decision is not None
    verdict = str(payload.get("verdict", ""))
    if verdict not in ("approved", "rejected"):
        raise MutationRejected(f"unknown verdict {verdict!r}")
    created_at = _when(payload, "created_at")
    session.add(SecondReview(
        id=_uuid(payload, "id"), decision_id=decision.id, case_id=decision.case_id,
        reviewer_id=reviewer_id, verdict=verdict, note=str(payload.get("note", "")),
        created_at=created_at, change_version=version,
    ))
    if verdict == "rejected":
        case = session.scalar(select(Case).where(Case.id == decision.case_id).with_for_update())
        if case is not None and case.status == CaseStatus.DECIDED.value:
            case.status = CaseStatus.NEW.value  # reopened for a new decision
            case.lease_holder_id = None
            case.lease_expires_at = None
            case.updated_at = created_at
            case.change_version = version


def _apply_response(session: Session, payload: dict[str, Any], version: int) -> None:
    case_id = _uuid(payload, "case_id")
    if session.get(Case, case_id) is None:
        raise MutationRejected("the case does not exist on the backend")
    body = str(payload.get("body", ""))
    if not body.strip():
        raise MutationRejected("the reply is empty")
    session.add(Response(
        id=_uuid(payload, "id"), case_id=case_id, author_id=_uuid(payload, "author_id"),
        channel=str(payload.get("channel", ""))[:32],
        template_id=str(payload.get("template_id", ""))[:64], body=body,
        created_at=_when(payload, "created_at"), change_version=version,
    ))


def _apply_audit_only(_session: Session, _payload: dict[str, Any], _version: int) -> None:
    """An audit-only mutation: its entries are stored by `apply_mutations` itself."""


def _apply_wellness_summary(session: Session, payload: dict[str, Any], version: int) -> None:
    """A shared day of exposure figures: the latest figures for that day replace earlier ones."""
    reviewer_id = _uuid(payload, "reviewer_id")
    day = str(payload.get("day", ""))
    try:
        date.fromisoformat(day)
    except ValueError as error:
        raise MutationRejected("day is not a date") from error
    try:
        figures = {key: float(payload[key]) for key in ("exposure_s", "graphic_queue_s")}
        breaks = int(payload["breaks_taken"])
    except (KeyError, TypeError, ValueError) as error:
        raise MutationRejected("the shared figures are incomplete") from error
    row = session.get(WellnessSummary, (reviewer_id, day))
    if row is None:
        row = WellnessSummary(reviewer_id=reviewer_id, day=day)
        session.add(row)
    row.exposure_s = figures["exposure_s"]
    row.graphic_queue_s = figures["graphic_queue_s"]
    row.breaks_taken = breaks
    row.updated_at = _when(payload, "updated_at")
    row.change_version = version


APPLIERS = {
    "decision": _apply_decision,
    "note": _apply_note,
    "escalation": _apply_escalation,
    "second_review": _apply_second_review,
    "response": _apply_response,
    "audit": _apply_audit_only,
    "wellness_summary": _apply_wellness_summary,
}


def _first_line(error: IntegrityError) -> str:
    return str(error.orig).splitlines()[0] if error.orig is not None else str(error)


def apply_mutations(session: Session, mutations: Iterable[Mutation]) -> list[MutationResult]:
    """Apply each mutation at most once; the caller commits the session."""
    results: list[MutationResult] = []
    for mutation in mutations:
        known = session.get(AppliedMutation, mutation.mutation_id)
        if known is not None:
            if known.payload_sha256 != mutation.payload_sha256:
                results.append(
                    MutationResult(
                        mutation.mutation_id,
                        "rejected",
                        "this mutation id was already used with a different payload",
                    )
                )
            else:
                results.append(MutationResult(mutation.mutation_id, known.outcome, known.reason))
            continue
        outcome, reason = "applied", None
        try:
            with session.begin_nested():
                store_pushed_entries(session, mutation.client_id,
                                     mutation.payload.get("audit") or [])
        except AuditEntryRefused as refusal:
            outcome, reason = "rejected", str(refusal)
        if outcome == "applied":
            try:
                with session.begin_nested():
                    applier = APPLIERS.get(mutation.kind)
                    if applier is None:
                        raise MutationRejected(f"unknown kind of change: {mutation.kind}")
                    applier(session, mutation.payload, next_change_version(session))
            except MutationRejected as rejection:
                outcome, reason = "rejected", str(rejection)
            except IntegrityError as error:  # e.g. it names a reviewer the backend lacks
                outcome, reason = "rejected", f"the backend refused it: {_first_line(error)}"
        session.add(
            AppliedMutation(
                mutation_id=mutation.mutation_id,
                client_id=mutation.client_id,
                seq=mutation.seq,
                kind=mutation.kind,
                payload_sha256=mutation.payload_sha256,
                outcome=outcome,
                reason=reason,
            )
        )
        session.flush()
        results.append(MutationResult(mutation.mutation_id, outcome, reason))
    return results


@dataclass
class ChangeBatch:
    """Rows changed in (after, upto], as plain column dictionaries per table."""

    after: int
    upto: int
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def row_count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())


def read_changes(
    session: Session,
    after: int,
    upto: int,
    models: Sequence[type[Base]] = SYNCED_MODELS,
) -> ChangeBatch:
    batch = ChangeBatch(after=after, upto=upto)
    for model in models:
        table = model.__table__
        result = session.execute(
            select(table)
            .where(table.c.change_version > after, table.c.change_version <= upto)
            .order_by(table.c.change_version)
        )
        batch.rows[table.name] = [dict(row._mapping) for row in result]
    return batch
