"""Reading a pushed mutation's payload on the backend: a bad field rejects the mutation.

Shared by every applier (reviewer.sync.appliers, reviewer.qa.apply), so a payload is judged
by one set of rules and the client gets the same reasons back.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


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
    if not EARLIEST <= value <= LATEST:
        raise MutationRejected(f"{key} is outside the years {EARLIEST.year}–{LATEST.year}")
    return value


MAX_TOKEN = 2**62
"""Fencing tokens and sequence numbers stay well inside a PostgreSQL bigint."""


def payload_int(payload: dict[str, Any], key: str, *, low: int = 0, high: int = MAX_TOKEN,
                optional: bool = False) -> int | None:
    """A bounded whole number (a bool, a float or a numeric string is refused)."""
    value = payload.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MutationRejected(f"{key} is missing or not a whole number")
    if not low <= value <= high:
        raise MutationRejected(f"{key} is out of range")
    return value


def payload_text(payload: dict[str, Any], key: str, *, limit: int, default: str = "") -> str:
    """A text field within its length, with no NUL and no unpaired surrogate."""
    value = payload.get(key, default)
    if value is None:
        value = default
    if not isinstance(value, str):
        raise MutationRejected(f"{key} is not text")
    if len(value) > limit:
        raise MutationRejected(f"{key} is longer than {limit} characters")
    if "\x00" in value:
        raise MutationRejected(f"{key} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise MutationRejected(f"{key} is not valid Unicode text") from error
    return value
