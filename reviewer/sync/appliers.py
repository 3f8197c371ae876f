"""The backend's side of sync: apply pushed mutations at most once, serve changes by version.

A pushed batch is applied in order, with the outcomes each mutation would have alone: one
that is rejected is recorded with its reason and never blocks the ones after it. The
audit-log entries a mutation carries (under ``"audit"``) are stored first, so they are kept
even when the action itself is rejected: the log shows what the workstation did, the ledger
what the backend made of it.

Decisions and audit-only mutations (nearly all of a push) are applied set-based: checked in
Python against state loaded with one query per table, then written with one executemany per
table. Other kinds, and a bulk write the database refuses, go one mutation at a time, each in
savepoints of its own (see `apply_mutations`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    any_,
    bindparam,
    insert,
    literal,
    select,
    text,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from reviewer.enforcement.decisions import (
    needs_second_review,
    outcome_problems,
    second_review_refusal,
)
from reviewer.enforcement.escalation import destination_queue
from reviewer.policy.taxonomy import Taxonomy
from reviewer.qa.apply import QA_APPLIERS, score_golden_decisions
from reviewer.queue.routing import ROUTING_APPLIERS
from reviewer.security.audit import AuditEntryRefused, store_pushed_entries
from reviewer.store.changes import next_change_version
from reviewer.store.models import (
    SYNCED_MODELS,
    AppliedMutation,
    AuditLogEntry,
    Base,
    Case,
    Decision,
    Device,
    Escalation,
    LeaseEvent,
    Note,
    Response,
    SecondReview,
    WellnessSummary,
    utcnow,
)
from reviewer.store.payload import (
    MAX_TOKEN,
    MutationRejected,
    payload_id,
    payload_int,
    payload_text,
    payload_when,
)
from reviewer.sync.actor import Actor
from reviewer.vocabulary import CaseStatus, EscalationTeam, Urgency

MAX_RATIONALE = 20_000
MAX_NOTE = 20_000
MAX_REPLY = 50_000


@dataclass(frozen=True)
class Applying:
    """For whom a push is applied, and against which rules.

    ``actor`` is the signed-in person (from the service's session, or the demo's own
    reviewer in process): every applier checks that a change is theirs to make. ``None``
    is the owner's own tooling only (seeding, migrations), never a workstation.
    ``taxonomy`` decides which policy and action a case may get and which need a second
    review; the client's word on that is not taken.
    """

    actor: Actor | None = None
    taxonomy: Taxonomy | None = None
    now: datetime = field(default_factory=utcnow)

    def as_actor(self, payload: dict[str, Any], key: str) -> Any:
        """The payload's person field, refused unless it is the actor themselves."""
        person = payload_id(payload, key)
        if self.actor is not None and person != self.actor.id:
            raise MutationRejected(f"{key} must be you: changes are recorded only in the "
                                   "name of the person signed in")
        return person

    def sees(self, session: Session, case: Case) -> None:
        """A case the actor may not see is answered as one that does not exist, so that
        nobody learns another team's case ids by pushing changes that name them."""
        if self.actor is not None and not self.actor.may_see_case(session, case):
            raise MutationRejected("the case does not exist on the backend")

    def works(self, session: Session, case: Case) -> None:
        """Case work (a decision, escalation, note or reply): a case the actor may see,
        and a role that works cases (an auditor's does not; see `Actor.works_cases`).
        Seeing comes first, so the role's answer never tells an unseen case from none."""
        self.sees(session, case)
        if self.actor is not None and not self.actor.works_cases:
            raise MutationRejected(f"your role ({self.actor.role}) does not work cases: "
                                   "auditors record blind reviews and verdicts only")


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


def _held_lease(session: Session, case_id: Any, reviewer_id: Any, token: int) -> bool:
    """Whether this person once held the lease on the case with this fencing token."""
    return session.scalar(select(LeaseEvent.id).where(
        LeaseEvent.case_id == case_id, LeaseEvent.reviewer_id == reviewer_id,
        LeaseEvent.fencing_token == token,
        LeaseEvent.kind.in_(("leased", "renewed", "reassigned"))).limit(1)) is not None


def _holds_live_lease(case: Any, reviewer_id: Any, token: int | None, now: datetime) -> bool:
    return (token is not None and case.status == CaseStatus.LEASED.value
            and case.lease_holder_id == reviewer_id and case.fencing_token == token
            and case.lease_expires_at is not None and case.lease_expires_at > now)


def _free_to_decide(case: Any, reviewer_id: Any, now: datetime) -> bool:
    """An open case of the person's queues that nobody else is working on right now."""
    if case.status not in (CaseStatus.NEW.value, CaseStatus.LEASED.value):
        return False
    return not (case.lease_holder_id not in (None, reviewer_id)
                and case.lease_expires_at is not None and case.lease_expires_at > now)


def _not_yours(case: Any, now: datetime) -> str:
    if case.status in (CaseStatus.NEW.value, CaseStatus.LEASED.value):
        return "another reviewer holds the lease on this case"
    return f"the case is already {case.status} and you held no lease on it"


def checked_outcome(ctx: Applying, surface: str, payload: dict[str, Any]) -> tuple[str, str, bool]:
    """Policy, action and whether it needs a second review, by the backend's taxonomy."""
    policy_code = payload_text(payload, "policy_code", limit=64)
    action = payload_text(payload, "action", limit=32)
    if ctx.taxonomy is None:
        return policy_code, action, bool(payload.get("requires_second_review", False))
    problems, _, _ = outcome_problems(ctx.taxonomy, surface, policy_code, action)
    if problems:
        raise MutationRejected("; ".join(problems.values()))
    return policy_code, action, needs_second_review(ctx.taxonomy, policy_code, action)


def _apply_decision(session: Session, payload: dict[str, Any], version: int,
                    ctx: Applying) -> None:
    case = session.scalar(
        select(Case).where(Case.id == payload_id(payload, "case_id")).with_for_update()
    )
    if case is None:
        raise MutationRejected("the case does not exist on the backend")
    decision_id = payload_id(payload, "id")
    if session.get(Decision, decision_id) is not None:
        raise MutationRejected("a decision with this id already exists")
    token = payload_int(payload, "fencing_token", optional=True)
    reviewer_id = ctx.as_actor(payload, "reviewer_id")
    ctx.works(session, case)
    supersedes_id = payload_id(payload, "supersedes_id") if payload.get("supersedes_id") else None
    corrects_current = False
    if supersedes_id is not None:
        superseded = session.get(Decision, supersedes_id)
        if superseded is None or superseded.case_id != case.id:
            raise MutationRejected("the decision it corrects is not on the backend")
        if (ctx.actor is not None and superseded.reviewer_id != reviewer_id
                and not ctx.actor.leads):
            raise MutationRejected("you can correct only your own decisions; a lead can "
                                   "correct anyone's")
        # A correction of the case's standing decision replaces it; a second correction of
        # the same decision is kept as a conflict, like any late decision.
        corrects_current = session.scalars(
            select(Decision.id).where(Decision.supersedes_id == supersedes_id)
        ).first() is None
    elif ctx.actor is not None and not ctx.actor.leads and not (
        _holds_live_lease(case, reviewer_id, token, ctx.now)
        or _free_to_decide(case, reviewer_id, ctx.now)
        or (token is not None and _held_lease(session, case.id, reviewer_id, token))
    ):
        raise MutationRejected(_not_yours(case, ctx.now))
    policy_code, action, second_review = checked_outcome(ctx, case.surface, payload)
    # A decision made under a lease that has since passed to someone else is kept, flagged.
    stale = (
        token is not None
        and token < case.fencing_token
        and case.lease_holder_id not in (None, reviewer_id)
    )
    already_decided = (case.status in (CaseStatus.DECIDED.value, CaseStatus.CLOSED.value)
                       and not corrects_current)
    created_at = payload_when(payload, "created_at")
    session.add(
        Decision(
            id=decision_id,
            case_id=case.id,
            reviewer_id=reviewer_id,
            policy_code=policy_code,
            action=action,
            rationale=payload_text(payload, "rationale", limit=MAX_RATIONALE),
            created_at=created_at,
            policy_version=payload_text(payload, "policy_version", limit=32),
            fencing_token=token,
            supersedes_id=supersedes_id,
            conflict=stale or already_decided,
            requires_second_review=second_review,
            change_version=version,
        )
    )
    session.flush()
    # A stale decision is kept for a lead, but the case stays with its current holder.
    if not (already_decided or stale):
        case.status = CaseStatus.DECIDED.value
        case.lease_holder_id = None
        case.lease_expires_at = None
        open_escalations = list(session.scalars(
            select(Escalation.id).where(Escalation.case_id == case.id,
                                        Escalation.resolved_at.is_(None))))
    else:
        open_escalations = []
    case.updated_at = created_at
    case.change_version = version
    if open_escalations:
        session.flush()  # the case is decided before its escalations are resolved
        _resolve_escalations(session, [
            {"id": escalation_id, "resolved_at": created_at, "change_version": version}
            for escalation_id in open_escalations])
        session.expire_all()


def _visible_case(session: Session, payload: dict[str, Any], ctx: Applying, *,
                  lock: bool = False) -> Case:
    statement = select(Case).where(Case.id == payload_id(payload, "case_id"))
    case = session.scalar(statement.with_for_update() if lock else statement)
    if case is None:
        raise MutationRejected("the case does not exist on the backend")
    ctx.works(session, case)
    return case


def _apply_note(session: Session, payload: dict[str, Any], version: int,
                ctx: Applying) -> None:
    case = _visible_case(session, payload, ctx)
    session.add(
        Note(
            id=payload_id(payload, "id"),
            case_id=case.id,
            author_id=ctx.as_actor(payload, "author_id"),
            body=payload_text(payload, "body", limit=MAX_NOTE),
            created_at=payload_when(payload, "created_at"),
            change_version=version,
        )
    )


def _apply_escalation(session: Session, payload: dict[str, Any], version: int,
                      ctx: Applying) -> None:
    case = _visible_case(session, payload, ctx, lock=True)
    reviewer_id = ctx.as_actor(payload, "reviewer_id")
    to_team = str(payload.get("to_team", ""))
    if to_team not in {team.value for team in EscalationTeam}:
        raise MutationRejected(f"unknown escalation team {to_team!r}")
    urgency = str(payload.get("urgency", Urgency.ROUTINE.value))
    if urgency not in {level.value for level in Urgency}:
        raise MutationRejected(f"unknown urgency {urgency!r}")
    created_at = payload_when(payload, "created_at")
    session.add(
        Escalation(
            id=payload_id(payload, "id"),
            case_id=case.id,
            reviewer_id=reviewer_id,
            to_team=to_team,
            reason=payload_text(payload, "reason", limit=MAX_NOTE),
            urgency=urgency,
            created_at=created_at,
            change_version=version,
        )
    )
    session.flush()  # before the case moves: row security lets its author follow the case
    # A case someone else is working on stays with them: the escalation is on record and
    # shows in the history, but it does not pull the case from under its holder.
    held_by_other = (ctx.actor is not None and case.status == CaseStatus.LEASED.value
                     and case.lease_holder_id not in (None, reviewer_id)
                     and case.lease_expires_at is not None and case.lease_expires_at > ctx.now
                     and not ctx.actor.leads)
    if case.status not in (CaseStatus.DECIDED.value, CaseStatus.CLOSED.value) \
            and not held_by_other:
        queue = destination_queue(session, to_team)
        if queue is not None:
            # Routed: the team works it from its own queue like any other case.
            case.queue_id = queue.id
            case.status = CaseStatus.NEW.value
        else:
            case.status = CaseStatus.ESCALATED.value
        case.lease_holder_id = None
        case.lease_expires_at = None
        case.updated_at = created_at
    case.change_version = version


def _apply_second_review(session: Session, payload: dict[str, Any], version: int,
                         ctx: Applying) -> None:
    decision = session.get(Decision, payload_id(payload, "decision_id"))
    if decision is not None and ctx.actor is not None:
        # A decision on a case the actor may not see is answered as one that does not
        # exist (before the rules below, which would tell whether it is severe).
        seen = session.get(Case, decision.case_id)
        if seen is None or not ctx.actor.may_see_case(session, seen):
            decision = None
    reviewer_id = ctx.as_actor(payload, "reviewer_id")
    refusal = second_review_refusal(session, decision, reviewer_id)
    if refusal is not None:
        raise MutationRejected(refusal)
    assert decision is not None
    case = session.scalar(select(Case).where(Case.id == decision.case_id).with_for_update())
    if case is None:
        raise MutationRejected("the case does not exist on the backend")
    ctx.sees(session, case)
    verdict = str(payload.get("verdict", ""))
    if verdict not in ("approved", "rejected"):
        raise MutationRejected(f"unknown verdict {verdict!r}")
    created_at = payload_when(payload, "created_at")
    session.add(SecondReview(
        id=payload_id(payload, "id"), decision_id=decision.id, case_id=decision.case_id,
        reviewer_id=reviewer_id, verdict=verdict,
        note=payload_text(payload, "note", limit=MAX_NOTE),
        created_at=created_at, change_version=version,
    ))
    if verdict == "rejected" and case.status == CaseStatus.DECIDED.value:
        case.status = CaseStatus.NEW.value  # reopened for a new decision
        case.lease_holder_id = None
        case.lease_expires_at = None
        case.updated_at = created_at
        case.change_version = version


def _apply_response(session: Session, payload: dict[str, Any], version: int,
                    ctx: Applying) -> None:
    case = _visible_case(session, payload, ctx)
    body = payload_text(payload, "body", limit=MAX_REPLY)
    if not body.strip():
        raise MutationRejected("the reply is empty")
    session.add(Response(
        id=payload_id(payload, "id"), case_id=case.id,
        author_id=ctx.as_actor(payload, "author_id"),
        channel=payload_text(payload, "channel", limit=32),
        template_id=payload_text(payload, "template_id", limit=64), body=body,
        created_at=payload_when(payload, "created_at"), change_version=version,
    ))


def _apply_audit_only(_session: Session, _payload: dict[str, Any], _version: int,
                      _ctx: Applying) -> None:
    """An audit-only mutation: its entries are stored by `apply_mutations` itself."""


_DAY_SECONDS = 24 * 3600.0


def _apply_wellness_summary(session: Session, payload: dict[str, Any], version: int,
                            ctx: Applying) -> None:
    """A shared day of exposure figures: the latest figures for that day replace earlier ones."""
    reviewer_id = ctx.as_actor(payload, "reviewer_id")
    day = str(payload.get("day", ""))
    try:
        date.fromisoformat(day)
    except ValueError as error:
        raise MutationRejected("day is not a date") from error
    try:
        figures = {key: float(payload[key]) for key in ("exposure_s", "graphic_queue_s")}
        breaks = int(payload["breaks_taken"])
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise MutationRejected("the shared figures are incomplete") from error
    if not all(0.0 <= value <= _DAY_SECONDS for value in figures.values()) \
            or not 0 <= breaks <= 1000:
        raise MutationRejected("the shared figures are outside what one day can hold")
    row = session.get(WellnessSummary, (reviewer_id, day))
    if row is None:
        row = WellnessSummary(reviewer_id=reviewer_id, day=day)
        session.add(row)
    row.exposure_s = figures["exposure_s"]
    row.graphic_queue_s = figures["graphic_queue_s"]
    row.breaks_taken = breaks
    row.updated_at = payload_when(payload, "updated_at")
    row.change_version = version


APPLIERS = {
    "decision": _apply_decision,
    "note": _apply_note,
    "escalation": _apply_escalation,
    "second_review": _apply_second_review,
    "response": _apply_response,
    "audit": _apply_audit_only,
    "wellness_summary": _apply_wellness_summary,
    **QA_APPLIERS,  # qa_review, qa_verdict, qa_samples (reviewer/qa/apply.py)
    **ROUTING_APPLIERS,  # queue_routing: a lead's language routing (reviewer/queue/routing.py)
}


def _first_line(error: DBAPIError) -> str:
    return str(error.orig).splitlines()[0] if error.orig is not None else str(error)


def _not_permitted(error: DBAPIError) -> bool:
    """PostgreSQL refused the write for the connected role: a privilege, a row-level
    security policy or a guard trigger (SQLSTATE 42501). The mutation is rejected."""
    return getattr(error.orig, "sqlstate", None) == "42501"


def _pg_score_golden(session: Session, decision_ids: list[Any], version: int) -> None:
    ids = []
    for value in decision_ids:
        with contextlib.suppress(ValueError, TypeError):
            ids.append(uuid.UUID(str(value)))
    if not ids or version == 0:  # 0: no version taken (a placeholder is negative)
        return
    session.flush()
    session.execute(
        text("SELECT rw_score_golden(:ids, :version)").bindparams(
            bindparam("ids", type_=postgresql.ARRAY(postgresql.UUID(as_uuid=True)))),
        {"ids": ids, "version": version})


def _resolve_escalations(session: Session, rows: list[dict[str, Any]]) -> None:
    """Mark open escalations resolved by the decision that decided their case.

    On PostgreSQL through ``rw_resolve_escalations`` (no app role may update an escalation
    itself); elsewhere a plain update.
    """
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT rw_resolve_escalations(:ids, :at, :versions)").bindparams(
                bindparam("ids", type_=postgresql.ARRAY(postgresql.UUID(as_uuid=True))),
                bindparam("at", type_=postgresql.ARRAY(postgresql.TIMESTAMP(timezone=True))),
                bindparam("versions", type_=postgresql.ARRAY(postgresql.BIGINT)),
            ),
            {"ids": [row["id"] for row in rows], "at": [row["resolved_at"] for row in rows],
             "versions": [row["change_version"] for row in rows]})
        return
    table = Escalation.__table__
    session.execute(
        update(table).where(table.c.id == bindparam("b_id"))
        .values(resolved_at=bindparam("b_resolved_at"),
                change_version=bindparam("b_change_version")),
        [{f"b_{name}": value for name, value in row.items()} for row in rows])


# -- applying a pushed batch ------------------------------------------------------------------
#
# A batch is applied set-based where it can be: decisions and audit-only mutations (what a
# push is made of, almost always) are checked in Python, in order, against state loaded with
# one query per table, and written with one statement per table (on PostgreSQL an insert or
# update from ``unnest`` of one array per column; elsewhere an executemany). Every other kind
# goes through its applier one at a time, in savepoints of its own. So do the mutations of a
# bulk write the database refuses: the bulk attempt is rolled back (it runs in a savepoint)
# and its mutations are applied again one by one, so that a constraint violation rejects only
# the mutation at fault, with its reason. Either way the outcomes are those of applying each
# mutation alone, in order. The batch takes one change version, after its cases are locked
# and before any savepoint (the change counter is the last lock a backend writer takes; see
# reviewer.sync.engine).

_BULK_KINDS = frozenset({"decision", "audit"})
_CHUNK = 5000
_DIFFERENT_PAYLOAD = "this mutation id was already used with a different payload"
_PLACE_TAKEN = ("this workstation already sent another change with this sequence number; "
                "the backend keeps the first")
_CLOSED_STATUSES = (CaseStatus.DECIDED.value, CaseStatus.CLOSED.value)


class _NotInBulk(Exception):
    """The set-based path cannot reproduce this batch exactly: apply it one by one."""


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def _among(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """``column IN values``: on PostgreSQL as ``= ANY(array)``, one parameter however many
    values (a long IN list costs more to build and send than the query costs to run)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("among", list(values), unique=True,
                                        type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


def _payload_case_ids(mutations: Iterable[Mutation]) -> set[uuid.UUID]:
    ids = set()
    for mutation in mutations:
        try:
            ids.add(uuid.UUID(str(mutation.payload.get("case_id"))))
        except (ValueError, AttributeError, TypeError):
            continue  # rejected with its reason when it is applied
    return ids


def _held_places(session: Session, mutations: Sequence[Mutation]
                 ) -> dict[tuple[str, int], uuid.UUID]:
    """The ledger's (client_id, seq) places these mutations name, and the change in each."""
    wanted = sorted({(mutation.client_id, mutation.seq) for mutation in mutations})
    held: dict[tuple[str, int], uuid.UUID] = {}
    for chunk in _chunks(wanted):
        for row in session.execute(
            select(AppliedMutation.client_id, AppliedMutation.seq, AppliedMutation.mutation_id)
            .where(tuple_(AppliedMutation.client_id, AppliedMutation.seq).in_(list(chunk)))
        ):
            held[(row.client_id, row.seq)] = row.mutation_id
    return held


def _foreign_device(session: Session, mutation: Mutation, ctx: Applying) -> str | None:
    """Why a mutation cannot come from this person's workstations, or None.

    Work made on the signed-in device is theirs; so is work recovered from an earlier
    replica of theirs (moved aside when it could not be opened), if that device is theirs
    and not revoked."""
    if ctx.actor is None or ctx.actor.client_id is None:
        return None
    if mutation.client_id == ctx.actor.client_id:
        return None
    device = session.get(Device, mutation.client_id)
    if device is None or device.reviewer_id != ctx.actor.id or device.revoked_at is not None:
        return "this change was made on another person's workstation, or a revoked one"
    return None


_MAX_ENTRY_DEPTH = 16


def _unstorable(value: Any) -> str | None:
    """Why a value cannot be stored as it is (text with NUL or an unpaired surrogate, a
    number that is not finite, nesting deeper than an audit entry has), or None."""
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if depth > _MAX_ENTRY_DEPTH:
            return "it is nested too deeply"
        if isinstance(item, dict):
            pending.extend((part, depth + 1) for pair in item.items() for part in pair)
        elif isinstance(item, list | tuple):
            pending.extend((part, depth + 1) for part in item)
        elif isinstance(item, str):
            if "\x00" in item:
                return "it contains a NUL character"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "it is not valid Unicode text"
        elif isinstance(item, float) and not math.isfinite(item):
            return "it holds a number that is not finite"
    return None


def _check_entry_actors(entries: Any, ctx: Applying) -> None:
    """A workstation's audit entries name the person signed in, or nobody; and each holds
    only what the backend can store (a bad one used to fail the whole push)."""
    if not isinstance(entries, list | tuple):
        return
    for raw in entries:
        if not isinstance(raw, dict):
            continue  # refused with its reason by the entries' parser
        if ctx.actor is not None and raw.get("actor_id") not in (None, "", str(ctx.actor.id)):
            raise AuditEntryRefused("an audit entry names another person than the one "
                                    "signed in")
        problem = _unstorable(raw)
        if problem is not None:
            raise AuditEntryRefused(f"an audit entry cannot be stored: {problem}")
        try:
            seq = int(raw.get("seq"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue  # refused with its reason by the entries' parser
        except OverflowError:
            seq = -1
        if not 0 <= seq < MAX_TOKEN:
            raise AuditEntryRefused("an audit entry's sequence number is out of range")


def _apply_one(session: Session, mutation: Mutation, sha: str, version: int,
               ctx: Applying) -> tuple[str, str | None]:
    """Apply one mutation alone, in savepoints, and record it (the path of any kind)."""
    outcome, reason = "applied", None
    foreign = _foreign_device(session, mutation, ctx)
    try:
        if foreign is not None:
            raise AuditEntryRefused(foreign)
        entries = mutation.payload.get("audit") or []
        _check_entry_actors(entries, ctx)
        with session.begin_nested():
            store_pushed_entries(session, mutation.client_id, entries)
    except AuditEntryRefused as refusal:
        outcome, reason = "rejected", str(refusal)
    except (DataError, IntegrityError) as error:  # a value the database cannot hold
        outcome, reason = "rejected", f"the backend refused an audit entry: {_first_line(error)}"
    except DBAPIError as error:
        if not _not_permitted(error):
            raise
        outcome, reason = "rejected", f"the backend refused it: {_first_line(error)}"
    if outcome == "applied":
        try:
            with session.begin_nested():
                applier = APPLIERS.get(mutation.kind)
                if applier is None:
                    raise MutationRejected(f"unknown kind of change: {mutation.kind}")
                applier(session, mutation.payload, version, ctx)
        except MutationRejected as rejection:
            outcome, reason = "rejected", str(rejection)
        except IntegrityError as error:  # e.g. it names a reviewer the backend lacks
            outcome, reason = "rejected", f"the backend refused it: {_first_line(error)}"
        except DataError as error:  # e.g. a value longer than its column
            outcome, reason = "rejected", f"the backend refused a value: {_first_line(error)}"
        except (ValueError, TypeError) as error:  # a malformed value in the payload
            outcome, reason = "rejected", f"a value in the change is malformed: {error}"
        except DBAPIError as error:  # e.g. not permitted for this reviewer's role
            if not _not_permitted(error):
                raise
            outcome, reason = "rejected", f"the backend refused it: {_first_line(error)}"
    if foreign is not None:  # not recorded: see apply_mutations
        return outcome, reason
    session.add(
        AppliedMutation(
            mutation_id=mutation.mutation_id,
            client_id=mutation.client_id,
            seq=mutation.seq,
            kind=mutation.kind,
            payload_sha256=sha,
            outcome=outcome,
            reason=reason,
        )
    )
    session.flush()
    return outcome, reason


def _parse_entry(raw: Any, origin: str) -> dict[str, Any]:
    """A pushed audit entry as a row, checked as `store_pushed_entries` checks it."""
    if not isinstance(raw, dict):
        raise AuditEntryRefused("an audit entry is not an object")
    if raw.get("origin") != origin:
        raise AuditEntryRefused("a workstation can only add to its own audit chain")
    try:
        row = {
            "id": uuid.UUID(str(raw["id"])),
            "origin": origin,
            "seq": int(raw["seq"]),
            "at": datetime.fromisoformat(str(raw["at"])),
            "actor_id": uuid.UUID(str(raw["actor_id"])) if raw.get("actor_id") else None,
            "kind": str(raw["kind"])[:32],
            "subject": str(raw["subject"])[:128],
            "details": dict(raw["details"]),
            "prev_hash": str(raw["prev_hash"])[:64],
            "hash": str(raw["hash"])[:64],
        }
    except (KeyError, TypeError, ValueError) as error:
        raise AuditEntryRefused(f"a malformed audit entry: {error}") from None
    if row["at"].tzinfo is None:
        raise AuditEntryRefused("an audit entry's time has no time zone")
    return row


@dataclass
class _CaseState:
    status: str
    fencing_token: int
    lease_holder_id: uuid.UUID | None
    lease_expires_at: datetime | None
    updated_at: datetime | None
    change_version: int
    surface: str = ""
    queue_id: uuid.UUID | None = None
    touched: bool = False


@dataclass
class _BatchState:
    """What the set-based path checks a run of mutations against, kept up to date as it goes."""

    cases: dict[uuid.UUID, _CaseState]
    decision_cases: dict[uuid.UUID, uuid.UUID]  # decision id -> its case
    superseded: set[uuid.UUID]  # decisions some decision supersedes
    open_escalations: dict[uuid.UUID, list[uuid.UUID]]  # case -> unresolved escalations
    audit_hashes: dict[tuple[str, int], str]  # (origin, seq) -> hash held or to be written


def _load_state(session: Session, run: Sequence[Mutation]) -> _BatchState:
    case_ids: set[uuid.UUID] = set()
    decision_ids: set[uuid.UUID] = set()
    audit_keys: dict[str, set[int]] = {}
    for mutation in run:
        payload = mutation.payload
        if mutation.kind == "decision":
            case_ids |= _payload_case_ids([mutation])
            for key in ("id", "supersedes_id"):
                with contextlib.suppress(ValueError, TypeError, AttributeError):
                    decision_ids.add(uuid.UUID(str(payload.get(key))))
        entries = payload.get("audit") or []
        if isinstance(entries, list):
            for raw in entries:
                if isinstance(raw, dict) and raw.get("origin") == mutation.client_id:
                    with contextlib.suppress(KeyError, TypeError, ValueError):
                        seq = int(raw["seq"])
                        if 0 <= seq < MAX_TOKEN:  # (others are refused, not looked up)
                            audit_keys.setdefault(mutation.client_id, set()).add(seq)
    state = _BatchState({}, {}, set(), {}, {})
    ids = sorted(case_ids)
    for chunk in _chunks(ids):
        for row in session.execute(
            select(Case.id, Case.status, Case.fencing_token, Case.lease_holder_id,
                   Case.lease_expires_at, Case.updated_at, Case.change_version, Case.surface,
                   Case.queue_id)
            .where(_among(session, Case.id, chunk))
        ):
            state.cases[row.id] = _CaseState(row.status, row.fencing_token, row.lease_holder_id,
                                             row.lease_expires_at, row.updated_at,
                                             row.change_version, row.surface, row.queue_id)
        for row in session.execute(
            select(Escalation.id, Escalation.case_id)
            .where(_among(session, Escalation.case_id, chunk), Escalation.resolved_at.is_(None))
            .order_by(Escalation.id)
        ):
            state.open_escalations.setdefault(row.case_id, []).append(row.id)
    wanted = sorted(decision_ids)
    for chunk in _chunks(wanted):
        for row in session.execute(
            select(Decision.id, Decision.case_id).where(_among(session, Decision.id, chunk))
        ):
            state.decision_cases[row.id] = row.case_id
        state.superseded.update(session.scalars(
            select(Decision.supersedes_id).where(_among(session, Decision.supersedes_id, chunk))
        ))
    for origin, seqs in audit_keys.items():
        for chunk in _chunks(sorted(seqs)):
            for row in session.execute(
                select(AuditLogEntry.seq, AuditLogEntry.hash)
                .where(AuditLogEntry.origin == origin, _among(session, AuditLogEntry.seq, chunk))
            ):
                state.audit_hashes[(origin, row.seq)] = row.hash
    return state


@dataclass
class _Writes:
    audit: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    applied: list[dict[str, Any]] = field(default_factory=list)


def _check_entries(state: _BatchState, mutation: Mutation) -> list[dict[str, Any]]:
    """The new audit rows a mutation carries; raises AuditEntryRefused as the backend would."""
    rows = []
    entries = mutation.payload.get("audit") or []
    if not isinstance(entries, list | tuple):
        raise _NotInBulk  # iterated as it is by store_pushed_entries: leave it to that
    for raw in entries:
        row = _parse_entry(raw, mutation.client_id)
        held = state.audit_hashes.get((row["origin"], row["seq"]))
        if held is not None:
            if held != row["hash"]:
                raise AuditEntryRefused(
                    f"audit entry {row['seq']} of this workstation differs from the copy the "
                    "backend already holds"
                )
            continue
        rows.append(row)
    return rows


def _check_decision(state: _BatchState, payload: dict[str, Any], version: int,
                    writes: _Writes, ctx: Applying) -> None:
    """`_apply_decision` against the batch state: the same checks, in the same order.

    Only the common case is decided here: a decision under the live lease its author holds
    (or any decision, for the owner's tools). Anything else (a correction by someone else,
    a late decision, a lead's) goes through `_apply_decision` one by one."""
    case_id = payload_id(payload, "case_id")
    case = state.cases.get(case_id)
    if case is None:
        raise MutationRejected("the case does not exist on the backend")
    decision_id = payload_id(payload, "id")
    if decision_id in state.decision_cases:
        raise MutationRejected("a decision with this id already exists")
    token_value = payload_int(payload, "fencing_token", optional=True)
    reviewer_id = ctx.as_actor(payload, "reviewer_id")
    supersedes_id = payload_id(payload, "supersedes_id") if payload.get("supersedes_id") else None
    # Only a case of the actor's own teams' queues is decided here; anything else
    # (another team's case, one they escalated, an auditor's) goes through
    # `_apply_decision`, whose `Applying.works` gives the reason.
    if ctx.actor is not None and (
            not ctx.actor.works_cases or not ctx.actor.works_queue(case.queue_id)
            or supersedes_id is not None or not (
                _holds_live_lease(case, reviewer_id, token_value, ctx.now)
                or (case.status == CaseStatus.NEW.value and case.lease_holder_id is None))):
        raise _NotInBulk
    corrects_current = False
    if supersedes_id is not None:
        if state.decision_cases.get(supersedes_id) != case_id:
            raise MutationRejected("the decision it corrects is not on the backend")
        corrects_current = supersedes_id not in state.superseded
    policy_code, action, second_review = checked_outcome(ctx, case.surface,
                                                         payload)
    stale = (
        token_value is not None
        and token_value < case.fencing_token
        and case.lease_holder_id not in (None, reviewer_id)
    )
    already_decided = case.status in _CLOSED_STATUSES and not corrects_current
    created_at = payload_when(payload, "created_at")
    writes.decisions.append({
        "id": decision_id,
        "case_id": case_id,
        "reviewer_id": reviewer_id,
        "policy_code": policy_code,
        "action": action,
        "rationale": payload_text(payload, "rationale", limit=MAX_RATIONALE),
        "created_at": created_at,
        "policy_version": payload_text(payload, "policy_version", limit=32),
        "fencing_token": token_value,
        "supersedes_id": supersedes_id,
        "conflict": stale or already_decided,
        "requires_second_review": second_review,
        "change_version": version,
    })
    state.decision_cases[decision_id] = case_id
    if supersedes_id is not None:
        state.superseded.add(supersedes_id)
    if not (already_decided or stale):
        case.status = CaseStatus.DECIDED.value
        case.lease_holder_id = None
        case.lease_expires_at = None
        for escalation_id in state.open_escalations.pop(case_id, []):
            writes.escalations.append({"id": escalation_id, "resolved_at": created_at,
                                       "change_version": version})
    case.updated_at = created_at
    case.change_version = version
    case.touched = True


def _plan_run(session: Session, run: Sequence[tuple[int, Mutation, str]], version: int,
              ctx: Applying) -> tuple[_Writes, _BatchState, list[tuple[str, str | None]]]:
    """Check a run of decisions and audit-only mutations in order; nothing is written."""
    state = _load_state(session, [mutation for _, mutation, _ in run])
    writes = _Writes()
    outcomes = []
    now = utcnow()
    for _, mutation, sha in run:
        outcome, reason = "applied", None
        foreign = None
        try:
            foreign = _foreign_device(session, mutation, ctx)
            if foreign is not None:
                raise AuditEntryRefused(foreign)
            _check_entry_actors(mutation.payload.get("audit") or [], ctx)
            entries = _check_entries(state, mutation)
        except AuditEntryRefused as refusal:
            outcome, reason = "rejected", str(refusal)
        else:
            writes.audit.extend(entries)
            # Stored even if the action is rejected, and seen by the mutations after it.
            for row in entries:
                state.audit_hashes.setdefault((row["origin"], row["seq"]), row["hash"])
            if mutation.kind == "decision":
                try:
                    _check_decision(state, mutation.payload, version, writes, ctx)
                except MutationRejected as rejection:
                    outcome, reason = "rejected", str(rejection)
        if foreign is None:  # another workstation's places are not this one's to fill
            writes.applied.append({
                "mutation_id": mutation.mutation_id, "client_id": mutation.client_id,
                "seq": mutation.seq, "kind": mutation.kind, "payload_sha256": sha,
                "outcome": outcome, "reason": reason, "applied_at": now,
            })
        outcomes.append((outcome, reason))
    return writes, state, outcomes


def _write_run(session: Session, writes: _Writes, state: _BatchState) -> None:
    cases = [{"id": case_id, "status": case.status, "lease_holder_id": case.lease_holder_id,
              "lease_expires_at": case.lease_expires_at, "updated_at": case.updated_at,
              "change_version": case.change_version}
             for case_id, case in state.cases.items() if case.touched]
    inserts = ((AuditLogEntry.__table__, writes.audit), (Decision.__table__, writes.decisions))
    # Decisions first, then their cases, then the escalations those decisions resolve: the
    # order the backend's row-level security checks them in (see _apply_decision).
    if session.get_bind().dialect.name == "postgresql":
        connection = session.connection()
        for table, rows in inserts:
            _pg_insert(connection, table, rows)
        _pg_update(connection, Case.__table__, cases)
        _resolve_escalations(session, writes.escalations)
        _pg_insert(connection, AppliedMutation.__table__, writes.applied)
        return
    for table, rows in inserts:
        if rows:
            session.execute(insert(table), rows)
    _resolve_escalations(session, writes.escalations)
    for table, rows in ((Case.__table__, cases),):
        if rows:
            names = [name for name in rows[0] if name != "id"]
            session.execute(
                update(table).where(table.c.id == bindparam("b_id"))
                .values({name: bindparam(f"b_{name}") for name in names}),
                [{f"b_{name}": value for name, value in row.items()} for row in rows])
    if writes.applied:
        session.execute(insert(AppliedMutation.__table__), writes.applied)


def _pg_arrays(connection: Any, table: Any, rows: list[dict[str, Any]]
               ) -> tuple[list[str], list[str], tuple[list[Any], ...]]:
    """Column names, ``%s::type[]`` placeholders and one list per column, for ``unnest``.

    The element type has no length (``varchar``, not ``varchar(32)``): a cast would cut a
    long value short, where the assignment to the column refuses it, as a plain insert does.
    """
    dialect = connection.dialect
    names = list(rows[0])
    placeholders, arrays = [], []
    for name in names:
        column = table.c[name]
        sql_type = re.sub(r"\(\d+\)", "", column.type.compile(dialect=dialect))
        values = [row[name] for row in rows]
        if isinstance(column.type, JSON):
            values = [json.dumps(value) for value in values]
        placeholders.append(f"%s::{sql_type}[]")
        arrays.append(values)
    return names, placeholders, tuple(arrays)


def _pg_insert(connection: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows with one statement: ``INSERT ... SELECT * FROM unnest(arrays)``."""
    if not rows:
        return
    quote = connection.dialect.identifier_preparer.quote
    names, placeholders, arrays = _pg_arrays(connection, table, rows)
    connection.exec_driver_sql(
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
        f"SELECT * FROM unnest({', '.join(placeholders)})", arrays)


def _pg_update(connection: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """Update rows by id with one statement: ``UPDATE ... FROM unnest(arrays)``."""
    if not rows:
        return
    quote = connection.dialect.identifier_preparer.quote
    names, placeholders, arrays = _pg_arrays(connection, table, rows)
    assignments = ", ".join(f"{quote(n)} = v.{quote(n)}" for n in names if n != "id")
    connection.exec_driver_sql(
        f"UPDATE {quote(table.name)} AS t SET {assignments} "
        f"FROM unnest({', '.join(placeholders)}) AS v({', '.join(quote(n) for n in names)}) "
        "WHERE t.id = v.id", arrays)


def _apply_run(session: Session, run: Sequence[tuple[int, Mutation, str]], version: int,
               results: list[MutationResult | None], ctx: Applying) -> None:
    """Apply a run of decisions and audit-only mutations set-based, or one by one if the
    database refuses the bulk write."""
    session.flush()
    try:
        writes, state, outcomes = _plan_run(session, run, version, ctx)
    except _NotInBulk:
        outcomes = None
    if outcomes is not None:
        try:
            with session.begin_nested():
                _write_run(session, writes, state)
        except DBAPIError as error:
            if not (isinstance(error, IntegrityError | DataError) or _not_permitted(error)):
                raise
            outcomes = None  # rolled back: one by one, so only the bad one is rejected
        else:
            session.expire_all()  # ORM objects loaded before may predate the bulk update
    if outcomes is None:
        outcomes = [_apply_one(session, mutation, sha, version, ctx)
                    for _, mutation, sha in run]
    for (index, mutation, _), (outcome, reason) in zip(run, outcomes, strict=True):
        results[index] = MutationResult(mutation.mutation_id, outcome, reason)


def lock_cases(remote: Session, mutations: Sequence[Mutation]) -> None:
    """Lock the batch's cases in id order before any change version is taken (see above)."""
    if remote.get_bind().dialect.name != "postgresql":
        return  # SQLite has one writer at a time anyway
    ids = set()
    for mutation in mutations:
        try:
            ids.add(uuid.UUID(str(mutation.payload.get("case_id"))))
        except ValueError:
            continue  # the backend will reject it with its reason
    if ids:
        remote.execute(select(Case.id).where(Case.id.in_(ids)).order_by(Case.id)
                       .with_for_update())


def apply_mutations(session: Session, mutations: Iterable[Mutation],
                    ctx: Applying | None = None) -> list[MutationResult]:
    """Apply each mutation at most once, in order, for ``ctx.actor``; the caller commits.

    A workstation's push always comes with its person (see `Applying`)."""
    ctx = ctx or Applying()
    batch = list(mutations)
    shas = [mutation.payload_sha256 for mutation in batch]
    # Every mutation id this batch names that the backend has seen: replays.
    known: dict[uuid.UUID, tuple[str, str, str | None]] = {}
    ids = list({mutation.mutation_id for mutation in batch})
    for chunk in _chunks(ids):
        for row in session.execute(
            select(AppliedMutation.mutation_id, AppliedMutation.payload_sha256,
                   AppliedMutation.outcome, AppliedMutation.reason)
            .where(_among(session, AppliedMutation.mutation_id, chunk))
        ):
            known[row.mutation_id] = (row.payload_sha256, row.outcome, row.reason)
    if all(mutation.mutation_id in known for mutation in batch):
        version = 0  # nothing new: no change version taken
    else:
        if session.get_bind().dialect.name == "postgresql":
            # Cases first, in id order, then the change counter (the backend's lock order);
            # the engine has taken these locks already, so this normally waits for nothing.
            for chunk in _chunks(sorted(_payload_case_ids(batch))):
                session.execute(select(Case.id).where(_among(session, Case.id, chunk))
                                .order_by(Case.id).with_for_update())
        version = next_change_version(session)

    # The ledger keeps one change per (client_id, seq). A new mutation id on a place another
    # change holds is rejected without being recorded (recording it would fail the whole
    # push on the unique key, and a change refused as another workstation's is never
    # recorded: otherwise anyone could take the places of a colleague's next changes and
    # block their outbox for good).
    places = _held_places(session, [m for m in batch if m.mutation_id not in known])

    results: list[MutationResult | None] = [None] * len(batch)
    run: list[tuple[int, Mutation, str]] = []
    in_run: set[uuid.UUID] = set()

    def finish_run() -> None:
        if not run:
            return
        _apply_run(session, run, version, results, ctx)
        for index, mutation, sha in run:
            result = results[index]
            assert result is not None
            known[mutation.mutation_id] = (sha, result.outcome, result.reason)
        run.clear()
        in_run.clear()

    for index, (mutation, sha) in enumerate(zip(batch, shas, strict=True)):
        if mutation.mutation_id in in_run:
            finish_run()  # the same id twice in one batch: the second is a replay
        seen = known.get(mutation.mutation_id)
        if seen is not None:
            if seen[0] != sha:
                results[index] = MutationResult(mutation.mutation_id, "rejected",
                                                _DIFFERENT_PAYLOAD)
            else:
                results[index] = MutationResult(mutation.mutation_id, seen[1], seen[2])
            continue
        holder = places.setdefault((mutation.client_id, mutation.seq), mutation.mutation_id)
        if holder != mutation.mutation_id:
            results[index] = MutationResult(mutation.mutation_id, "rejected", _PLACE_TAKEN)
            continue
        if mutation.kind in _BULK_KINDS:
            run.append((index, mutation, sha))
            in_run.add(mutation.mutation_id)
            continue
        finish_run()
        outcome, reason = _apply_one(session, mutation, sha, version, ctx)
        known[mutation.mutation_id] = (sha, outcome, reason)
        results[index] = MutationResult(mutation.mutation_id, outcome, reason)
    finish_run()
    # Decisions on golden cases are scored as they arrive (reviewer/qa/apply.py; on
    # PostgreSQL by rw_score_golden, since the reviewer pushing may not read golden answers).
    decided = [
        mutation.payload.get("id") for mutation, result in zip(batch, results, strict=True)
        if mutation.kind == "decision" and result is not None and result.outcome == "applied"
    ]
    if decided and session.get_bind().dialect.name == "postgresql":
        _pg_score_golden(session, decided, version)
    else:
        score_golden_decisions(session, decided, version)
    return [result for result in results if result is not None]


@dataclass
class ChangeBatch:
    """Rows changed in (after, upto], as plain column dictionaries per table."""

    after: int
    upto: int
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def row_count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())


def changed_tables(session: Session, after: int, upto: int,
                   models: Sequence[type[Base]] = SYNCED_MODELS) -> set[str]:
    """The tables with at least one row whose version is in (after, upto], in one query
    (one index probe per table). Read as the owner, it says nothing about whose rows."""
    probes = [select(literal(model.__tablename__).label("name")).where(
        select(model.__table__.c.change_version)
        .where(model.__table__.c.change_version > after,
               model.__table__.c.change_version <= upto).limit(1).exists())
        for model in models]
    return set(session.scalars(union_all(*probes)))


def read_changes(
    session: Session,
    after: int,
    upto: int,
    models: Sequence[type[Base]] = SYNCED_MODELS,
) -> ChangeBatch:
    """The rows of ``models`` changed in (after, upto]; every synced table is in the batch,
    those not read with no rows."""
    batch = ChangeBatch(after=after, upto=upto)
    batch.rows.update({model.__tablename__: [] for model in SYNCED_MODELS})
    for model in models:
        table = model.__table__
        result = session.execute(
            select(table)
            .where(table.c.change_version > after, table.c.change_version <= upto)
            .order_by(table.c.change_version)
        )
        batch.rows[table.name] = [dict(row._mapping) for row in result]
    return batch
