"""One auditor's blind re-review work on their replica, as the audit window asks for it.

The window never opens a session: it asks an `AuditDesk` for the auditor's samples, their
agreement figures, a sample's blind review and the original decision it may now see, and
records blind decisions and verdicts through it (each one local transaction with its outbox
entry, the functions of `reviewer.qa.store`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from reviewer.clock import Clock
from reviewer.policy.taxonomy import Taxonomy
from reviewer.qa.metrics import Agreement, agreement_of, audit_pairs
from reviewer.qa.sampling import SamplingPolicy
from reviewer.qa.store import (
    OriginalDecision,
    PendingSample,
    StoredSample,
    awaiting_verdict,
    draw_sample,
    original_for_review,
    pending_samples,
    record_blind_review,
    record_verdict,
    review_for_sample,
)
from reviewer.store.database import Database
from reviewer.store.models import QaReview


@dataclass(frozen=True)
class AuditList:
    """The auditor's work: verdicts to give (blind review done), then samples to review."""

    verdicts_due: list[PendingSample]
    to_review: list[PendingSample]


class AuditDesk:
    """The QA reads and writes of the auditor ``auditor_id`` on ``replica``."""

    def __init__(self, replica: Database, taxonomy: Taxonomy, *, auditor_id: uuid.UUID,
                 client_id: str, clock: Clock) -> None:
        self.replica = replica
        self.taxonomy = taxonomy
        self.auditor_id = auditor_id
        self.client_id = client_id
        self.clock = clock

    def work(self) -> AuditList:
        with self.replica.sessions() as session:
            return AuditList(awaiting_verdict(session, self.auditor_id),
                             pending_samples(session, self.auditor_id))

    def agreement_since(self, since: datetime) -> Agreement:
        """How the decisions this auditor re-reviewed since ``since`` agree with theirs."""
        with self.replica.sessions() as session:
            return agreement_of(audit_pairs(session, since=since, auditor_id=self.auditor_id))

    def review_for(self, sample_id: uuid.UUID) -> QaReview | None:
        with self.replica.sessions() as session:
            return review_for_sample(session, sample_id)

    def original_of(self, review: QaReview) -> OriginalDecision | None:
        """The decision re-reviewed, once the replica holds it (None until then)."""
        with self.replica.sessions() as session:
            return original_for_review(session, review)

    def draw_here(self, since: datetime, policy: SamplingPolicy, seed: int) -> StoredSample:
        """Draw a sample for this auditor from the decisions on this replica (the embedded
        backend's way: it reaches the backend with the next sync)."""
        with self.replica.writing() as session:
            return draw_sample(session, self.taxonomy, auditor_id=self.auditor_id,
                               drawn_by=self.auditor_id, since=since, clock=self.clock,
                               seed=seed, policy=policy, client_id=self.client_id)

    def record_blind(self, sample_id: uuid.UUID, *, policy_code: str, action: str,
                     rationale: str) -> QaReview:
        return record_blind_review(self.replica.sessions, self.taxonomy, sample_id=sample_id,
                                   auditor_id=self.auditor_id, client_id=self.client_id,
                                   policy_code=policy_code, action=action,
                                   rationale=rationale, clock=self.clock)

    def record_verdict(self, review_id: uuid.UUID, *, agrees: bool,
                       reason_category: str | None, feedback: str) -> None:
        record_verdict(self.replica.sessions, review_id=review_id, auditor_id=self.auditor_id,
                       client_id=self.client_id, agrees=agrees,
                       reason_category=reason_category, feedback=feedback, clock=self.clock)
