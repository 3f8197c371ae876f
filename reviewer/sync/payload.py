"""Reading a pushed mutation's payload on the backend: a bad field rejects the mutation.

Shared by every applier (reviewer.sync.backend, reviewer.qa.apply), so a payload is judged
by one set of rules and the client gets the same reasons back.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any


class MutationRejected(Exception):
    """A mutation the backend will not apply; the reason goes back to the client."""


def payload_id(payload: dict[str, Any], key: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(payload[key]))
    except (KeyError, ValueError) as error:
        raise MutationRejected(f"{key} is missing or not a valid id") from error


def optional_payload_id(payload: dict[str, Any], key: str) -> uuid.UUID | None:
    """An id that may be left out (absent, null or empty)."""
    if payload.get(key) in (None, ""):
        return None
    return payload_id(payload, key)


def payload_when(payload: dict[str, Any], key: str) -> datetime:
    try:
        value = datetime.fromisoformat(str(payload[key]))
    except (KeyError, ValueError) as error:
        raise MutationRejected(f"{key} is missing or not a timestamp") from error
    if value.tzinfo is None:
        raise MutationRejected(f"{key} has no time zone")
    return value
