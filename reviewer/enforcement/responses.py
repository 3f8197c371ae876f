"""Replies to whoever brought a case: partners, the press, regulators and legal requesters.

The reviewer picks a template (``resources/templates/responses``), gets a draft filled from
the case (`draft_response`), edits it, and records the reply with the case
(`record_response`): one local transaction with its outbox mutation and audit entry.
Sending it (copying it to the clipboard, an e-mail) is the UI's business.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from reviewer.clock import Clock
from reviewer.policy.taxonomy import Policy
from reviewer.policy.templates import Template, render, templates_for
from reviewer.security.audit import AuditKind, append_audit
from reviewer.store.database import writing
from reviewer.store.models import Case, Response
from reviewer.store.outbox import enqueue
from reviewer.vocabulary import Channel

RESPONSE_CHANNELS = (Channel.PARTNER.value, Channel.PRESS.value, Channel.REGULATOR.value,
                     Channel.LEGAL_REQUEST.value)
"""The channels whose cases get a reply recorded with them."""

MAX_RESPONSE_CHARS = 20_000


class ResponseRejected(ValueError):
    """The reply cannot be recorded; the message says why."""


def needs_response(case: Case) -> bool:
    return case.channel in RESPONSE_CHANNELS


def response_templates(templates: Sequence[Template], case: Case) -> list[Template]:
    """The reply templates that fit the case's channel."""
    return templates_for(templates, channel=case.channel)


def draft_response(template: Template, case: Case, *, now: datetime,
                   policy: Policy | None = None, action: str | None = None,
                   reviewer_name: str | None = None) -> str:
    """The template filled from the case, for the reviewer to edit before recording it."""
    return render(template, case, now=now, policy=policy, action=action,
                  reviewer_name=reviewer_name)


def record_response(
    sessions: sessionmaker[Session],
    *,
    case_id: uuid.UUID,
    author_id: uuid.UUID,
    client_id: str,
    body: str,
    clock: Clock,
    template_id: str = "",
) -> Response:
    """Record the reply as sent, with its outbox entry and audit entry; ResponseRejected."""
    text = body.strip()
    if not text:
        raise ResponseRejected("write the reply first")
    if len(text) > MAX_RESPONSE_CHARS:
        raise ResponseRejected(f"keep the reply under {MAX_RESPONSE_CHARS:,} characters")
    with writing(sessions) as session:
        now = clock.now()
        case = session.get(Case, case_id)
        if case is None:
            raise ResponseRejected("the case is not on this workstation")
        if case.channel not in RESPONSE_CHANNELS:
            raise ResponseRejected("replies are recorded only for cases from partners, the "
                                   "press, regulators and legal requests")
        response = Response(id=uuid.uuid4(), case_id=case_id, author_id=author_id,
                            channel=case.channel, template_id=template_id[:64], body=text,
                            created_at=now)
        session.add(response)
        payload: dict[str, Any] = {
            "id": str(response.id), "case_id": str(case_id), "author_id": str(author_id),
            "channel": case.channel, "template_id": response.template_id, "body": text,
            "created_at": now.isoformat(),
        }
        append_audit(
            session, origin=client_id, actor_id=author_id, kind=AuditKind.RESPONSE,
            subject=f"case:{case_id}", now=now, carrier=payload,
            details={"response_id": str(response.id), "channel": case.channel,
                     "template_id": response.template_id, "chars": len(text)},
        )
        enqueue(session, client_id=client_id, kind="response", entity_id=response.id,
                payload=payload, now=now)
        session.flush()
        session.expunge(response)
    return response
