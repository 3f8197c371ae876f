"""``reviewer-server``: the backend service, the only way workstations change the backend.

An ASGI app (Starlette) in front of PostgreSQL. It connects as the backend's owner role;
people's roles may only read (``reviewer-admin init-backend``), so whatever a person may
change goes through here, applied by the core's own code (`reviewer.sync.link.DirectLink`
for the signed-in person, the appliers in `reviewer.sync.appliers`) with every workflow rule
checked. Reads run as the person's role with their identity, so row security still
filters what each one sees.

Every answer is JSON. A refusal is ``{"error": kind, "message": reason}`` with its status:
400 a malformed request, 401 no valid session, 403 a revoked device, 404, 409 a lease or
state conflict, 413 too large, 415 not JSON, 422 refused by a rule, 503 (with
``Retry-After``) while PostgreSQL cannot be reached. Never a traceback.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reviewer import __version__
from reviewer.clock import Clock, SystemClock
from reviewer.policy.taxonomy import Taxonomy
from reviewer.server import sessions
from reviewer.server.intake import Intake, intake_routes
from reviewer.server.requests import (
    Refusal,
    Service,
    read_json,
    refusal_response,
    translate,
)
from reviewer.store.database import (
    Database,
    head_revision,
)
from reviewer.sync import wire
from reviewer.sync.actor import Actor
from reviewer.sync.link import DirectLink

log = logging.getLogger("reviewer.server")

MAX_PUSH = 2_000
"""The most mutations one push may carry (the workstation sends 500 at a time)."""
MAX_PULL_STEP = 50_000


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _field(data: Any, key: str, kind: type | tuple[type, ...], *, optional: bool = False
           ) -> Any:
    if not isinstance(data, dict):
        raise Refusal(400, "bad_request", "the body must be a JSON object")
    value = data.get(key)
    if value is None and optional:
        return None
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise Refusal(400, "bad_request", f"{key} is missing or of the wrong type")
    return value


def _uuid(data: Any, key: str, *, optional: bool = False) -> uuid.UUID | None:
    value = _field(data, key, str, optional=optional)
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Refusal(400, "bad_request", f"{key} is not an id") from None


def _seconds(data: Any, key: str = "duration_s") -> timedelta:
    value = _field(data, key, (int, float))
    if not 0 < value <= 30 * 24 * 3600:
        raise Refusal(422, "lease", f"{key} is out of range")
    return timedelta(seconds=float(value))


Handler = Callable[[Service, DirectLink, Any, Request], Any]


def person(handler: Handler, *, body: bool = True) -> Callable[[Request], Awaitable[Response]]:
    """An endpoint for a signed-in person: the session is checked, then ``handler`` runs in
    a worker thread with a `DirectLink` acting for them."""

    async def endpoint(request: Request) -> Response:
        service: Service = request.app.state.service
        try:
            data = await read_json(request) if body else None
            token, client = _bearer(request), request.headers.get("x-client-id")

            def run() -> Any:
                # checking the session reads only: no write transaction on every request
                with service.database.talking(), service.database.sessions() as session:
                    signed = sessions.verify(session, token, client, service.clock.now())
                link = DirectLink(service.database, username=signed.username,
                                  clock=service.clock, taxonomy=service.taxonomy,
                                  client_id=signed.client_id, read_as_person=True)
                return handler(service, link, data, request)

            result = await run_in_threadpool(run)
        except Exception as error:  # every refusal as JSON, never a traceback
            return refusal_response(translate(error))
        return JSONResponse(result)

    return endpoint


# -- signing in -----------------------------------------------------------------------------

async def sign_in(request: Request) -> Response:
    service: Service = request.app.state.service
    try:
        data = await read_json(request, 64 * 1024)
        username = _field(data, "username", str)
        password = _field(data, "password", str)
        client_id = _field(data, "client_id", str)
        # Text PostgreSQL cannot take (NUL, unpaired surrogates) failed as a 500 or a 503;
        # a name or password like that is simply wrong, said as for any other.
        if not (_storable_text(username) and _storable_text(password)):
            raise sessions.SignInRefused("wrong user name or password")
        if not _storable_text(client_id):
            raise Refusal(400, "bad_request", "client_id is not plain text")

        def run() -> dict[str, Any]:
            with service.database.talking():
                sessions.check_password(service.database, username, password)
            with service.database.talking(), service.database.writing() as session:
                now = service.clock.now()
                token, expires = sessions.start_session(session, username, client_id, now,
                                                        service.session_ttl)
                actor = Actor.load(session, username, client_id)
            return {"token": token, "expires_at": expires.isoformat(),
                    "reviewer_id": str(actor.id), "role": actor.role}

        return JSONResponse(await run_in_threadpool(run))
    except Exception as error:
        return refusal_response(translate(error))


async def sign_out(request: Request) -> Response:
    service: Service = request.app.state.service
    token = _bearer(request)

    def run() -> None:
        with service.database.talking(), service.database.writing() as session:
            sessions.end_sessions(session, service.clock.now(), token=token or "-")

    try:
        await run_in_threadpool(run)
    except Exception as error:
        return refusal_response(translate(error))
    return JSONResponse({"signed_out": True})


async def hello(request: Request) -> Response:
    return JSONResponse({"service": "reviewer-server", "version": __version__,
                         "schema": head_revision()})


# -- sync -----------------------------------------------------------------------------------

def _schema(service: Service, link: DirectLink, _data: Any, _request: Request) -> Any:
    link.check_schema()
    return {"schema": head_revision()}


def _check_in(service: Service, link: DirectLink, _data: Any, _request: Request) -> Any:
    assert link.client_id is not None
    return wire.encode_device(link.check_in(link.client_id))


def _push(service: Service, link: DirectLink, data: Any, _request: Request) -> Any:
    raw = _field(data, "mutations", list)
    if len(raw) > MAX_PUSH:
        raise Refusal(413, "too_large", f"push at most {MAX_PUSH:,} changes at a time")
    try:
        mutations = [wire.decode_mutation(item) for item in raw]
    except (ValueError, TypeError, KeyError) as error:
        raise Refusal(400, "bad_request", f"a change is malformed: {error}") from None
    for mutation in mutations:
        # The ledger stores both as text: PostgreSQL refuses NUL and unpaired surrogates,
        # which failed the whole push as a 500.
        if not (_storable_text(mutation.client_id) and _storable_text(mutation.kind)):
            raise Refusal(400, "bad_request", "a change's client_id or kind is not plain text")
    return {"results": [wire.encode_result(r) for r in link.push(mutations)]}


def _storable_text(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _expire(service: Service, link: DirectLink, _data: Any, _request: Request) -> Any:
    return {"expired": link.expire_leases()}


def _version(service: Service, link: DirectLink, _data: Any, _request: Request) -> Any:
    return {"version": link.current_version()}


def _changes(service: Service, link: DirectLink, _data: Any, request: Request) -> Any:
    try:
        after = int(request.query_params.get("after", ""))
        upto = int(request.query_params.get("upto", ""))
    except ValueError:
        raise Refusal(400, "bad_request", "after and upto are whole numbers") from None
    if not 0 <= after <= upto < 2**63 or upto - after > MAX_PULL_STEP:  # a bigint
        raise Refusal(400, "bad_request",
                      f"ask for at most {MAX_PULL_STEP:,} versions after a cursor")
    return wire.encode_batch(link.read_changes(after, upto))


# -- leases, kits, samples -------------------------------------------------------------------

def _lease_next(service: Service, link: DirectLink, data: Any, _request: Request) -> Any:
    return {"lease": wire.encode_lease(link.lease_next(_seconds(data)))}


def _lease_case(service: Service, link: DirectLink, data: Any, _request: Request) -> Any:
    case_id = _uuid(data, "case_id")
    assert case_id is not None
    return {"lease": wire.encode_lease(link.lease_case(case_id, _seconds(data)))}


def _lease_of(data: Any) -> Any:
    try:
        lease = wire.decode_lease(_field(data, "lease", dict))
    except (ValueError, KeyError, TypeError) as error:
        raise Refusal(400, "bad_request", f"the lease is malformed: {error}") from None
    assert lease is not None
    return lease


def _renew(service: Service, link: DirectLink, data: Any, _request: Request) -> Any:
    return {"lease": wire.encode_lease(link.renew(_lease_of(data), _seconds(data)))}


def _release(service: Service, link: DirectLink, data: Any, _request: Request) -> Any:
    link.release(_lease_of(data), _field(data, "reason", str))
    return {"released": True}


def _reassign(service: Service, link: DirectLink, data: Any, _request: Request) -> Any:
    case_id = _uuid(data, "case_id")
    assert case_id is not None
    to = _uuid(data, "to_reviewer_id", optional=True)
    reason = _field(data, "reason", str, optional=True) or ""
    return {"lease": wire.encode_lease(link.reassign(case_id, to, reason, _seconds(data)))}


def _kit_estimate(service: Service, link: DirectLink, data: Any, _request: Request) -> Any:
    queue_id = _uuid(data, "queue_id")
    assert queue_id is not None
    return wire.encode_estimate(link.estimate_kit(queue_id, _field(data, "count", int)))


def _kit_lease(service: Service, link: DirectLink, data: Any, _request: Request) -> Any:
    queue_id = _uuid(data, "queue_id")
    assert queue_id is not None
    report = link.lease_kit(queue_id, _field(data, "count", int), _seconds(data))
    return wire.encode_kit(report)


def _draw(service: Service, link: DirectLink, data: Any, _request: Request) -> Any:
    since_text = _field(data, "since", str)
    try:
        since = datetime.fromisoformat(since_text)
    except ValueError:
        raise Refusal(400, "bad_request", "since is not a time") from None
    if since.tzinfo is None:
        raise Refusal(400, "bad_request", "since has no time zone")
    try:
        rate = float(_field(data, "rate", (int, float)))
    except OverflowError:  # a 400-digit whole number
        raise Refusal(400, "bad_request", "rate is out of range") from None
    seed = _field(data, "seed", int)
    if not 0 <= seed < 2**63:
        raise Refusal(400, "bad_request", "seed is out of range")
    drawn = link.draw_sample(since, rate, seed)
    return {"stored": drawn.stored, "population": drawn.population, "seed": drawn.seed,
            "already_sampled": drawn.already_sampled, "own_decisions": drawn.own_decisions}


def _team_wellness(service: Service, link: DirectLink, _data: Any, request: Request) -> Any:
    try:
        day = date.fromisoformat(request.query_params.get("day", ""))
    except ValueError:
        raise Refusal(400, "bad_request", "day is a date (YYYY-MM-DD)") from None
    view = link.team_wellness(day)
    return None if view is None else {
        "day": view.day.isoformat(), "reviewers_counted": view.reviewers_counted,
        "suppressed": view.suppressed, "over_budget_count": view.over_budget_count,
        "warning_count": view.warning_count, "median_exposure_s": view.median_exposure_s,
        "median_graphic_queue_s": view.median_graphic_queue_s}


def routes() -> list[Route]:
    def post(path: str, handler: Handler) -> Route:
        return Route(path, person(handler), methods=["POST"])

    def get(path: str, handler: Handler) -> Route:
        return Route(path, person(handler, body=False), methods=["GET"])

    return [
        Route("/v1/hello", hello, methods=["GET"]),
        Route("/v1/sessions", sign_in, methods=["POST"]),
        Route("/v1/sessions", sign_out, methods=["DELETE"]),
        get("/v1/schema", _schema),
        post("/v1/check-in", _check_in),
        post("/v1/push", _push),
        post("/v1/leases/expire", _expire),
        get("/v1/changes/version", _version),
        get("/v1/changes", _changes),
        post("/v1/leases/next", _lease_next),
        post("/v1/leases/case", _lease_case),
        post("/v1/leases/renew", _renew),
        post("/v1/leases/release", _release),
        post("/v1/leases/reassign", _reassign),
        post("/v1/kits/estimate", _kit_estimate),
        post("/v1/kits/lease", _kit_lease),
        post("/v1/qa/samples", _draw),
        get("/v1/wellness/team", _team_wellness),
    ]


async def _not_found(_request: Request, _error: Exception) -> Response:
    return refusal_response(Refusal(404, "not_found", "there is no such endpoint or record"))


async def _not_allowed(_request: Request, _error: Exception) -> Response:
    return refusal_response(Refusal(405, "method_not_allowed",
                                    "this endpoint does not take that method"))


def create_app(database: Database, taxonomy: Taxonomy, *, clock: Clock | None = None,
               session_ttl: timedelta = sessions.DEFAULT_TTL) -> Starlette:
    """The service's ASGI app over a backend opened as its owner."""
    service = Service(database, taxonomy, clock or SystemClock(), session_ttl)
    service.intake = Intake(service)
    app = Starlette(routes=[*routes(), *intake_routes()],
                    exception_handlers={404: _not_found, 405: _not_allowed})
    app.state.service = service
    return app
