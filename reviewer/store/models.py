"""The data model shared by the backend database and each workstation's local replica.

One schema serves both: the replica also uses the outbox and sync-state tables, the backend
the applied-mutation ledger and the change counter. Rows that sync carry a
``change_version`` the backend assigns, so a client can pull what changed after its cursor.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from reviewer.vocabulary import CaseStatus

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class GUID(TypeDecorator[uuid.UUID]):
    """A UUID: native ``uuid`` on PostgreSQL, its canonical 36-character text elsewhere."""

    impl = String(36)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.UUID(as_uuid=True))
        return dialect.type_descriptor(String(36))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, uuid.UUID):
            value = uuid.UUID(str(value))
        return value if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> uuid.UUID | None:
        if value is None or isinstance(value, uuid.UUID):
            return value
        return uuid.UUID(value)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite has no time zones, so values are normalised to UTC before storage and come
    back marked as UTC; naive datetimes are refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: timestamps must carry a time zone")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        uuid.UUID: GUID(),
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


def new_id() -> uuid.UUID:
    return uuid.uuid4()


class Synced:
    """Columns every row that travels between backend and replica carries."""

    change_version: Mapped[int] = mapped_column(BigInteger, default=0, index=True)


class Team(Synced, Base):
    __tablename__ = "team"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # A team taken out of the organisation (reviewer.org) is archived, never deleted: its
    # queues' closed cases and its people's history keep pointing at it.
    archived: Mapped[bool] = mapped_column(Boolean, default=False)


PERSON_NAMESPACE = uuid.UUID("5d0b7a52-3f7e-4a54-9a52-2b8f1c6d9e01")
"""Reviewer ids are derived from user names, so a person has one id on every backend."""


def reviewer_id_for(username: str) -> uuid.UUID:
    """The id of the reviewer with this user name."""
    return uuid.uuid5(PERSON_NAMESPACE, f"reviewer:{username}")


class Reviewer(Synced, Base):
    __tablename__ = "reviewer"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    languages: Mapped[list[str]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    started_on: Mapped[datetime] = mapped_column(default=utcnow)

    teams: Mapped[list[TeamMembership]] = relationship(
        back_populates="reviewer", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        CheckConstraint("role IN ('reviewer', 'auditor', 'lead', 'admin')", name="role"),
    )

    @property
    def team_codes(self) -> list[str]:
        return sorted(m.team_code for m in self.teams)


class TeamMembership(Synced, Base):
    __tablename__ = "team_membership"

    reviewer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reviewer.id", ondelete="CASCADE"), primary_key=True
    )
    team_code: Mapped[str] = mapped_column(ForeignKey("team.code"), primary_key=True)

    reviewer: Mapped[Reviewer] = relationship(back_populates="teams")


def code_for(name: str) -> str:
    """A code made from a name ("Hate speech" -> "hate-speech"): a queue's when none is given."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64] or "queue"


def _queue_code_default(context: Any) -> str:
    return code_for(context.get_current_parameters()["name"])


class Queue(Synced, Base):
    __tablename__ = "queue"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # The organisation file (reviewer.org) names a queue by its code, so a rename keeps it.
    code: Mapped[str] = mapped_column(String(64), default=_queue_code_default)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    team_code: Mapped[str] = mapped_column(ForeignKey("team.code"))
    policy_area: Mapped[str] = mapped_column(String(64))
    sla_hours: Mapped[float] = mapped_column(Float)
    # Channels whose reports are due sooner (or later) than sla_hours: {"regulator": 2.0}.
    sla_hours_by_channel: Mapped[dict[str, Any]] = mapped_column(default=dict)
    graphic: Mapped[bool] = mapped_column(Boolean, default=False)
    # Whether reviewers may take this queue's cases offline in a travel kit.
    offline: Mapped[bool] = mapped_column(Boolean, default=True)
    # Languages the queue serves (empty: any); get next offers a reviewer only cases in
    # their languages unless language_routing is off (reviewer.queue.leases).
    languages: Mapped[list[str]] = mapped_column(default=list)
    language_routing: Mapped[bool] = mapped_column(Boolean, default=True)
    # Taken out of the organisation: no new cases, not offered; its closed cases stay.
    archived: Mapped[bool] = mapped_column(Boolean, default=False)

    # A unique index, not a constraint: added to existing tables in place on SQLite too.
    __table_args__ = (Index("uq_queue_code", "code", unique=True),)

    def sla_for(self, channel: str) -> float:
        """The hours a report from ``channel`` has before it is due."""
        return float((self.sla_hours_by_channel or {}).get(channel, self.sla_hours))


class Case(Synced, Base):
    __tablename__ = "review_case"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    external_ref: Mapped[str] = mapped_column(String(128), unique=True)
    queue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("queue.id"))
    surface: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    policy_area: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[datetime]
    due_at: Mapped[datetime]
    severity: Mapped[int] = mapped_column(Integer)
    reach: Mapped[int] = mapped_column(BigInteger, default=0)
    language: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(16))
    reported_text: Mapped[str] = mapped_column(Text, default="")
    reporter_note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.NEW.value)
    lease_holder_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reviewer.id"))
    lease_expires_at: Mapped[datetime | None]
    fencing_token: Mapped[int] = mapped_column(BigInteger, default=0)
    media_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Derived when the case is written (see reviewer.queue.case_queue.derive_queue_fields), so that
    # ordering by priority and filtering by SLA state are index lookups at any size.
    priority_key: Mapped[float] = mapped_column(Float, default=0.0)
    at_risk_at: Mapped[datetime | None]

    queue: Mapped[Queue] = relationship()
    media: Mapped[list[MediaItem]] = relationship(
        back_populates="case", order_by="MediaItem.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("severity BETWEEN 1 AND 5", name="severity"),
        CheckConstraint(
            "status IN ('new', 'leased', 'decided', 'escalated', 'closed')", name="status"
        ),
        Index(None, "status", "due_at"),
        Index(None, "queue_id", "status"),
        # One (column, id) index per sortable queue column: keyset pages in either direction.
        # The default order, with the common filter columns inside the index so a filtered
        # page is read from the index alone (bench/bench_queue.py: 102 ms -> ~40 ms at 1M cases).
        Index("ix_review_case_queue_page", "priority_key", "id", "status", "channel",
              "surface", "policy_area", "language"),
        Index(None, "due_at", "id"),
        Index(None, "at_risk_at", "id"),
        Index(None, "channel", "id"),
        Index(None, "surface", "id"),
        Index(None, "policy_area", "id"),
        Index(None, "language", "id"),
        Index(None, "reported_at", "id"),
        Index(None, "status", "priority_key", "id"),
        Index(None, "lease_holder_id", "id"),
        Index(None, "media_count", "id"),
    )


class MediaBlob(Synced, Base):
    """The bytes of a media file, stored once per distinct content (SHA-256)."""

    __tablename__ = "media_blob"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class MediaItem(Synced, Base):
    __tablename__ = "media_item"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_case.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(ForeignKey("media_blob.content_hash"))
    mime_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float)
    filename: Mapped[str] = mapped_column(String(255), default="")

    case: Mapped[Case] = relationship(back_populates="media")

    __table_args__ = (Index(None, "case_id", "position"),)


class Decision(Synced, Base):
    """One reviewer's enforcement decision on a case. Never edited: a correction supersedes."""

    __tablename__ = "decision"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_case.id"), index=True)
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reviewer.id"), index=True)
    policy_code: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    rationale: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    policy_version: Mapped[str] = mapped_column(String(32))
    fencing_token: Mapped[int | None] = mapped_column(BigInteger)
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("decision.id"))
    conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    # Fixed when the decision is made, from the taxonomy of the time: the action takes effect
    # only once a second reviewer approves it (a SecondReview row; see
    # reviewer.enforcement.decisions).
    requires_second_review: Mapped[bool] = mapped_column(Boolean, default=False)


class SecondReview(Synced, Base):
    """A second reviewer's verdict on a decision that needs four eyes.

    A row of its own rather than columns on the decision, because decisions are insert-only.
    The backend holds at most one per decision (it refuses a second); a replica can also
    hold a verdict of its own that the backend refused (someone else was quicker), kept with
    the rejected outbox entry rather than dropped, so the decision is not unique here.
    """

    __tablename__ = "second_review"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    decision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("decision.id"), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_case.id"), index=True)
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reviewer.id"))
    verdict: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("verdict IN ('approved', 'rejected')", name="verdict"),)


class Escalation(Synced, Base):
    __tablename__ = "escalation"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_case.id"), index=True)
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reviewer.id"))
    to_team: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class Note(Synced, Base):
    """A handoff note left on a case for the next shift."""

    __tablename__ = "note"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_case.id"), index=True)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reviewer.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LeaseEvent(Synced, Base):
    """What happened to a case's lease: taken, renewed, released with a reason, expired."""

    __tablename__ = "lease_event"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_case.id"), index=True)
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reviewer.id"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reviewer.id"))
    kind: Mapped[str] = mapped_column(String(16))
    fencing_token: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "kind IN ('leased', 'renewed', 'released', 'skipped', 'expired', 'reassigned')",
            name="kind",
        ),
    )


class Response(Synced, Base):
    """A reply sent to whoever brought the case (a partner, the press, a regulator)."""

    __tablename__ = "case_response"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_case.id"), index=True)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reviewer.id"))
    channel: Mapped[str] = mapped_column(String(32))
    template_id: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLogEntry(Base):
    """One entry of an append-only, hash-chained audit log (see reviewer.security.audit).

    Each workstation keeps its own chain (``origin`` is its client id) and pushes every
    entry to the backend, which also keeps a chain of its own (``origin`` "backend").
    Not pulled: a workstation holds only its own chain.
    """

    __tablename__ = "audit_log"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    origin: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]
    actor_id: Mapped[uuid.UUID | None]
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("origin", "seq"),)


class WellnessSummary(Synced, Base):
    """One day's exposure figures a reviewer chose to share with their lead.

    Only numbers: never check-ins, notes or individual reveals. Pushed only when the
    reviewer's sharing setting is on.
    """

    __tablename__ = "wellness_summary"

    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reviewer.id"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    exposure_s: Mapped[float] = mapped_column(Float)
    graphic_queue_s: Mapped[float] = mapped_column(Float)
    breaks_taken: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WellnessState(Base):
    """A reviewer's own exposure ledger, breaks and check-ins: stays on this device."""

    __tablename__ = "wellness_state"

    reviewer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    state: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- replica-side sync bookkeeping ---------------------------------------------------------


class OutboxEntry(Base):
    """A local mutation waiting to reach the backend, pushed in ``seq`` order."""

    __tablename__ = "outbox"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mutation_id: Mapped[uuid.UUID] = mapped_column(unique=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[uuid.UUID]
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("state IN ('pending', 'done', 'rejected')", name="state"),
    )


class SyncState(Base):
    """Small key/value facts about this replica: client id, pull cursor, last sync."""

    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# --- backend-side sync bookkeeping ---------------------------------------------------------


class AppliedMutation(Base):
    """Every mutation the backend has seen, so that a replayed push has exactly one effect."""

    __tablename__ = "applied_mutation"

    mutation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("client_id", "seq"),
        CheckConstraint("outcome IN ('applied', 'rejected')", name="outcome"),
    )


class Device(Base):
    """A workstation (one replica) known to the backend, so an admin can cut it off.

    Registered by its first sync; ``revoked_at`` set by ``reviewer-admin revoke-device``
    makes the backend refuse that client and tells it to wipe its replica.
    """

    __tablename__ = "device"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reviewer.id"), index=True)
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class ServiceSession(Base):
    """A signed-in workstation on the backend service: a short-lived token, bound to the
    device it was issued to. Only the token's SHA-256 is kept; `revoked_at` (sign-out,
    ``disable-user``, ``revoke-device``) ends it at the next request."""

    __tablename__ = "service_session"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reviewer.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class IntakeToken(Base):
    """A partner tool's bearer token for ``POST /v1/reports``: one source, one channel.
    Only the token's SHA-256 is kept."""

    __tablename__ = "intake_token"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    source: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    revoked_at: Mapped[datetime | None]


class IntakeReceipt(Base):
    """Which source sent which report, so that a source can ask after its own reports
    (``GET /v1/reports/{external_ref}``) and nobody else's."""

    __tablename__ = "intake_receipt"

    external_ref: Mapped[str] = mapped_column(String(128), primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_case.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChangeCounter(Base):
    """A single row whose value only grows: the backend's change version."""

    __tablename__ = "change_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


# --- quality auditing (reviewer.qa) -----------------------------------------------------------
# Every qa_ table names whose row it is: ``auditor_id`` (who audits, drew or set it) and/or
# ``reviewer_id`` (whose decision it is about), for row-level policies on the backend.

QA_METHODS = ("random", "severe", "new_reviewer", "targeted", "golden", "calibration")
QA_REASON_CATEGORIES = ("policy_misread", "wrong_action", "missed_context", "evidence",
                        "other")


class QaCalibration(Synced, Base):
    """A calibration session: the same cases to many reviewers, to measure their agreement."""

    __tablename__ = "qa_calibration"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    auditor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reviewer.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="open")

    __table_args__ = (CheckConstraint("status IN ('open', 'closed')", name="status"),)


class QaCalibrationMember(Synced, Base):
    __tablename__ = "qa_calibration_member"

    calibration_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("qa_calibration.id", ondelete="CASCADE"), primary_key=True)
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reviewer.id"), primary_key=True)


class QaSample(Synced, Base):
    """One decision drawn for a blind re-review, or one case of a calibration session.

    ``auditor_id`` re-reviews it; ``reviewer_id`` made the decision (None for a calibration
    item, which has no decision). How it was drawn is kept (method, rate, seed, draw), so
    that `reviewer.qa.sampling.redraw_audit_sample` with the seed gives it again.
    """

    __tablename__ = "qa_sample"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_case.id"), index=True)
    # No foreign key to decision, here and in QaReview and QaGoldenScore: an auditor's
    # replica holds the sample long before row security lets the original decision reach
    # it (only after the blind review), and a replica checks foreign keys. The backend's
    # appliers check that the decision exists instead.
    decision_id: Mapped[uuid.UUID | None] = mapped_column(GUID(), index=True)
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reviewer.id"), index=True)
    auditor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reviewer.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    rate: Mapped[float | None] = mapped_column(Float)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    draw: Mapped[float | None] = mapped_column(Float)
    drawn_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reviewer.id"))
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)
    calibration_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("qa_calibration.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")

    __table_args__ = (
        CheckConstraint(
            "method IN ('random', 'severe', 'new_reviewer', 'targeted', 'golden', "
            "'calibration')", name="method"),
        CheckConstraint("status IN ('pending', 'reviewed', 'cancelled')", name="status"),
        UniqueConstraint("decision_id", "auditor_id"),
        UniqueConstraint("calibration_id", "case_id", "auditor_id"),
    )


class QaReview(Synced, Base):
    """An auditor's blind decision on a sample, then their verdict on the original.

    The blind part (policy, action, rationale) is fixed before the original is shown; the
    verdict (agrees, reason category, feedback) follows. Never edited after the verdict.
    """

    __tablename__ = "qa_review"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    sample_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("qa_sample.id"), unique=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_case.id"), index=True)
    auditor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reviewer.id"), index=True)
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reviewer.id"), index=True)
    decision_id: Mapped[uuid.UUID | None] = mapped_column(GUID())  # no FK: see QaSample
    policy_code: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    rationale: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    agrees: Mapped[bool | None] = mapped_column(Boolean)
    reason_category: Mapped[str | None] = mapped_column(String(32))
    feedback: Mapped[str] = mapped_column(Text, default="")
    verdict_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(
            "reason_category IS NULL OR reason_category IN ('policy_misread', 'wrong_action', "
            "'missed_context', 'evidence', 'other')", name="reason_category"),
    )


class QaGolden(Synced, Base):
    """A golden case: its known correct decision. Never shown to the reviewers who get it."""

    __tablename__ = "qa_golden"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_case.id"), primary_key=True)
    policy_code: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    auditor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reviewer.id"), index=True)
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class QaGoldenScore(Synced, Base):
    """A reviewer's decision on a golden case, scored by the backend when it arrives."""

    __tablename__ = "qa_golden_score"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_case.id"), index=True)
    decision_id: Mapped[uuid.UUID] = mapped_column(GUID(), unique=True)  # no FK: see QaSample
    reviewer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reviewer.id"), index=True)
    match: Mapped[str] = mapped_column(String(16))
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("match IN ('exact', 'policy_only', 'action_only', 'neither')",
                        name="match"),
    )


SYNCED_MODELS: tuple[type[Base], ...] = (
    Team,
    Reviewer,
    TeamMembership,
    Queue,
    MediaBlob,
    Case,
    MediaItem,
    Decision,
    Escalation,
    Note,
    LeaseEvent,
    SecondReview,
    Response,
    WellnessSummary,
    QaCalibration,
    QaCalibrationMember,
    QaSample,
    QaReview,
    QaGolden,
    QaGoldenScore,
)
"""Tables pulled from the backend, in an order that satisfies foreign keys."""
