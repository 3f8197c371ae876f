"""What every request of the backend service shares: the service's state, refusals as JSON
answers, the translation of the core's errors, and bounded reading of request bodies."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from reviewer.clock import Clock, SystemClock
from reviewer.policy.taxonomy import Taxonomy
from reviewer.qa.store import QaRefused
from reviewer.queue.leases import LeaseError, LeaseLost
from reviewer.security.devices import DeviceError
from reviewer.server import sessions
from reviewer.store.database import (
    BackendError,
    BackendLoginFailed,
    BackendUnavailable,
    Database,
    SchemaVersionError,
)
from reviewer.sync.offline_kit import KitRefused

log = logging.getLogger("reviewer.server")

MAX_BODY = 64 * 1024 * 1024
"""The largest request body accepted (a push batch, a report with its media)."""
RETRY_AFTER_S = 5


class Refusal(Exception):
    """A request refused with a status and a reason the client shows."""

    def __init__(self, status: int, kind: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.headers = headers or {}


@dataclass
class Service:
    """What every request needs: the backend as its owner, the rules, the clock."""

    database: Database
    taxonomy: Taxonomy
    clock: Clock = field(default_factory=SystemClock)
    session_ttl: timedelta = sessions.DEFAULT_TTL
    intake: Any = None  # reviewer.server.intake.Intake, set by create_app


class RequestLimit:
    """At most ``limit`` HTTP requests handled at once; more are answered 503 with
    ``Retry-After`` (``reviewer-server --max-connections``).

    uvicorn's own ``limit_concurrency`` counts open connections as well as requests, and
    every workstation keeps its connection open between requests, so with it as this
    bound 200 signed-in workstations were refused everything (the team load test,
    bench/bench_team_load.py); uvicorn's bound is kept for connections only, far higher."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.active = 0  # one event loop: no lock needed

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            busy = Refusal(503, "busy", "the service is busy; try again shortly",
                           {"Retry-After": str(RETRY_AFTER_S)})
            await refusal_response(busy)(scope, receive, send)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


def refusal_response(error: Refusal) -> JSONResponse:
    return JSONResponse({"error": error.kind, "message": str(error)}, status_code=error.status,
                        headers=error.headers)


def translate(error: BaseException) -> Refusal:
    """The answer for an exception the core raised."""
    if isinstance(error, Refusal):
        return error
    if isinstance(error, sessions.DeviceCutOff):
        return Refusal(403, "revoked", str(error),
                       {"X-Revoked-At": error.revoked_at.isoformat()})
    if isinstance(error, sessions.SessionRefused | sessions.SignInRefused):
        return Refusal(401, "unauthorized", str(error), {"WWW-Authenticate": "Bearer"})
    if isinstance(error, LeaseLost):
        return Refusal(409, "lease_lost", str(error))
    if isinstance(error, LeaseError):
        return Refusal(409, "lease", str(error))
    if isinstance(error, KitRefused):
        return Refusal(422, "kit", str(error))
    if isinstance(error, QaRefused):
        return Refusal(422, "qa", str(error))
    if isinstance(error, DeviceError):
        return Refusal(422, "device", str(error))
    if isinstance(error, SchemaVersionError):
        return Refusal(409, "schema", str(error))
    if isinstance(error, BackendUnavailable | BackendLoginFailed | BackendError):
        return Refusal(503, "unavailable", "the backend database cannot be reached right "
                       "now; try again shortly", {"Retry-After": str(RETRY_AFTER_S)})
    log.exception("unexpected error", exc_info=error)
    return Refusal(500, "internal", "the service failed on this request; it is logged")


MAX_DEPTH = 64
"""The deepest nesting of arrays and objects a body may have (a push is four levels deep
plus an audit entry's details). Deeper bodies are refused before any code walks them: the
payload's digest and the JSON columns recurse, and ran out of stack as a 500."""


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 reads as infinity
        raise ValueError("a number out of range")
    return value


def _not_json(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")  # Python reads NaN and Infinity; JSON has none


def _too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            pending.extend((part, depth + 1)
                           for part in (item.values() if isinstance(item, dict) else item))
    return False


async def read_json(request: Request, limit: int = MAX_BODY) -> Any:
    """The request's JSON body, bounded in size and depth; a refusal if it is not JSON."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise Refusal(415, "unsupported_media_type", "send the body as application/json")
    body = await read_body(request, limit)
    try:
        data = json.loads(body, parse_float=_finite, parse_constant=_not_json)
    except (ValueError, RecursionError):
        raise Refusal(400, "bad_request", "the body is not valid JSON") from None
    if _too_deep(data):
        raise Refusal(400, "bad_request", f"the body is nested more than {MAX_DEPTH} deep")
    return data


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Refusal(413, "too_large", f"the body is larger than {limit:,} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refusal(413, "too_large", f"the body is larger than {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
