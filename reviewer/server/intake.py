"""Intake over HTTP: partner tools post reports to ``reviewer-server``.

- ``POST /v1/reports``: one report in the ingest format (`reviewer.queue.ingest`, the parser
  ``reviewer-admin ingest`` uses too), either as ``application/json`` with media inline as
  ``{"data_base64": ..., "filename": ...}``, or as ``multipart/form-data``: a field
  ``report`` with the report's JSON, and each media file as a file part that the report's
  media list names as ``{"file": "<part name>"}`` (inline items may be mixed in; a file
  part the report does not name is refused). 201 ``{"external_ref", "case_id", "status":
  "queued"}``; sent again by the same source, 200 with ``"duplicate": true`` and the
  report's status, nothing changed.
- ``POST /v1/reports:batch``: ``{"reports": [...]}``, at most `MAX_BATCH`; each report is
  checked on its own and the good ones load whatever the others hold; the answer has one
  result per report, in order, each with the status ``POST /v1/reports`` would have given.
- ``GET /v1/reports/{external_ref}``: ``{"external_ref", "status", "outcome"}`` with a
  status of ``received``, ``queued``, ``in_review``, ``decided`` or ``escalated`` and the
  public outcome only (the action in effect, e.g. ``removed``; never the rationale, the
  reviewer or the policy), for the source's own reports; any other reference is 404.
- ``GET /openapi.json``: the service's OpenAPI description (``openapi.json`` beside this
  file, checked in).

Every request carries ``Authorization: Bearer <token>`` (`reviewer.server.tokens`); a
token creates cases in its own channel only, and the receipt (`IntakeReceipt`) that says
which source sent a report is written in the case's transaction. Media is identified from
its bytes and test-decoded in bounded worker processes (`reviewer.media.decode.SafeDecoder`,
one per intake slot). Limits: the body (`MAX_BODY`), media per report (`MAX_MEDIA`),
pixels (`INTAKE_LIMITS`), reports per batch, a deadline for reading the body and
`CONCURRENCY` reports at work at once (the rest wait up to `QUEUE_WAIT_S`, then 503 with
Retry-After). Refusals are JSON ``{"error", "message"}``: 400, 401, 404, 408, 409, 413,
415, 422, 503, never a traceback.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import queue
import threading
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reviewer.media.decode import DecodeLimits, MediaInfo, SafeDecoder
from reviewer.media.errors import MediaError
from reviewer.queue.case_queue import PriorityWeights
from reviewer.queue.ingest import (
    MAX_MEDIA_ITEMS,
    ParsedReport,
    RecordProblem,
    Vet,
    load_reports,
    parse_report,
    vetting,
)
from reviewer.server.requests import MAX_BODY, RETRY_AFTER_S, Refusal, Service, read_body, translate
from reviewer.server.tokens import IntakeSource, verify_token
from reviewer.store.models import Case, Decision, IntakeReceipt, Queue, SecondReview
from reviewer.vocabulary import CaseStatus

log = logging.getLogger("reviewer.server.intake")

OPENAPI_PATH = Path(__file__).with_name("openapi.json")
MAX_BATCH = 100
"""The most reports one ``POST /v1/reports:batch`` may carry."""
MAX_MEDIA = MAX_MEDIA_ITEMS
"""The most media items one report may carry (20, as for ``reviewer-admin ingest``)."""
MAX_REF = 128
INTAKE_LIMITS = DecodeLimits(max_pixels=100_000_000, max_side=65_535, timeout_s=10.0,
                             memory_mb=1024)
"""What one media file may cost to test-decode: a decompression bomb is refused by its
header before any pixel is decoded."""
CONCURRENCY = 4
"""Requests whose reports are parsed, vetted and written at once (one decoder each)."""
QUEUE_WAIT_S = 10.0
"""How long a request waits for an intake slot before 503 with Retry-After."""
UPLOADS = 16
"""Bodies being received at once; more wait like the work does."""
BODY_TIMEOUT_S = 120.0
"""The whole body must arrive within this (408 else): a slow client cannot hold a slot."""

STATUSES = ("received", "queued", "in_review", "decided", "escalated")
PUBLIC_OUTCOMES = {
    "no_violation": "no_action",
    "remove": "removed",
    "mark_disturbing": "marked_disturbing",
    "age_restrict": "age_restricted",
    "reduce_distribution": "reduced_distribution",
    "disable_account": "account_disabled",
}
"""The action in effect, as a reporter may learn it. ``escalate`` and ``request_info`` are
no outcome yet; the policy, the rationale and who decided are never told."""


class IntakeJSON(JSONResponse):
    """JSON in ASCII: a lone surrogate echoed in a reason cannot break the answer."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False,
                          separators=(",", ":")).encode("ascii")


def refusal(error: Refusal) -> Response:
    return IntakeJSON({"error": error.kind, "message": str(error)[:2000]},
                      status_code=error.status, headers=error.headers)


def _unauthorized(message: str) -> Refusal:
    return Refusal(401, "unauthorized", message, {"WWW-Authenticate": 'Bearer realm="intake"'})


def _busy() -> Refusal:
    return Refusal(503, "busy", "intake is busy; try again shortly",
                   {"Retry-After": str(RETRY_AFTER_S)})


@dataclass
class Result:
    """What one report got: the status code and the body ``POST /v1/reports`` answers."""

    http_status: int
    body: dict[str, Any]


def _problem_result(status: int, kind: str, message: str, ref: str | None) -> Result:
    return Result(status, {"external_ref": ref, "error": kind, "message": message[:2000]})


# -- what a source may learn about its report --------------------------------------------------


def _standing_decision(session: Session, case_id: uuid.UUID) -> Decision | None:
    """The decision in effect: the latest that no correction superseded, conflicts (kept
    for a lead) aside."""
    corrected = select(Decision.supersedes_id).where(Decision.case_id == case_id,
                                                     Decision.supersedes_id.is_not(None))
    return session.scalars(
        select(Decision).where(Decision.case_id == case_id, Decision.id.not_in(corrected),
                               Decision.conflict.is_(False))
        .order_by(Decision.created_at.desc(), Decision.id).limit(1)).first()


def public_status(session: Session, case: Case | None) -> tuple[str, str | None]:
    """(status, public outcome) of a received report's case."""
    if case is None:
        return "received", None
    if case.status == CaseStatus.NEW.value:
        return "queued", None
    if case.status == CaseStatus.LEASED.value:
        return "in_review", None
    if case.status == CaseStatus.ESCALATED.value:
        return "escalated", None
    decision = _standing_decision(session, case.id)
    if decision is None:
        return ("decided", None) if case.status == CaseStatus.CLOSED.value else ("in_review",
                                                                                 None)
    if decision.action == "escalate":
        return "escalated", None
    if decision.requires_second_review:
        verdict = session.scalars(
            select(SecondReview.verdict).where(SecondReview.decision_id == decision.id)
            .order_by(SecondReview.created_at, SecondReview.id)).first()
        if verdict != "approved":
            return "in_review", None  # waiting for four eyes (or rejected and re-queued)
    outcome = PUBLIC_OUTCOMES.get(decision.action)
    return ("decided", outcome) if outcome is not None else ("in_review", None)


# -- reading requests ---------------------------------------------------------------------------


def _loads(raw: bytes | str, what: str = "the body") -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise Refusal(400, "bad_request", f"{what} is not valid JSON ({error.msg}, line "
                      f"{error.lineno} column {error.colno})") from None
    except RecursionError:
        raise Refusal(400, "bad_request", f"{what} is nested too deeply") from None
    except ValueError as error:  # not UTF-8, a number of thousands of digits
        if "integer string conversion" in str(error):
            raise Refusal(400, "bad_request", f"{what} holds a number with too many digits "
                          "(more than 4,300)") from None
        raise Refusal(400, "bad_request", f"{what} is not valid JSON ({error})") from None


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _usable_ref(ref: str) -> bool:
    """Whether ``ref`` could name a stored report (so it may go into a query at all)."""
    if not 0 < len(ref) <= MAX_REF or "\x00" in ref:
        return False
    try:
        ref.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _raw_ref(value: Any) -> str | None:
    """A report's reference as the parser will read it, if it is a usable one."""
    if isinstance(value, dict):
        ref = value.get("external_ref")
        if isinstance(ref, str) and _usable_ref(ref.strip()):
            return ref.strip()
    return None


def _check_media_count(report: Any) -> None:
    if isinstance(report, dict) and isinstance(report.get("media"), list) \
            and len(report["media"]) > MAX_MEDIA:
        raise Refusal(413, "too_large", f"a report carries at most {MAX_MEDIA} media items, "
                      f"not {len(report['media'])}")


async def _multipart_report(headers: Headers, body: bytes) -> Any:
    """The report of a multipart body, its ``{"file": part}`` media replaced by the parts'
    bytes (as ``data_base64``, the form the parser reads)."""

    async def stream() -> Any:
        yield body

    parser = MultiPartParser(headers, stream(), max_files=MAX_MEDIA * 5, max_fields=16,
                             max_part_size=MAX_BODY)
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise Refusal(400, "bad_request", f"the multipart body is malformed: "
                      f"{error.message}") from None
    try:
        reports = form.getlist("report")
        if len(reports) != 1:
            raise Refusal(400, "bad_request", "a multipart report has one field named "
                          "'report' holding the report's JSON")
        field = reports[0]
        raw = await field.read() if isinstance(field, UploadFile) else field
        report = _loads(raw, "the report field")
        files: dict[str, UploadFile] = {}
        for name, value in form.multi_items():
            if name == "report" or not isinstance(value, UploadFile):
                continue
            if name in files:
                raise Refusal(400, "bad_request", f"two file parts are named {name!r}")
            files[name] = value
        _check_media_count(report)
        if len(files) > MAX_MEDIA:
            raise Refusal(413, "too_large", f"a report carries at most {MAX_MEDIA} media "
                          "files")
        media = report.get("media", []) if isinstance(report, dict) else None
        used: set[str] = set()
        if isinstance(media, list):
            replaced: list[Any] = []
            for index, item in enumerate(media, start=1):
                if not (isinstance(item, dict) and "file" in item):
                    replaced.append(item)
                    continue
                name = item["file"]
                if not isinstance(name, str) or name not in files:
                    raise Refusal(400, "bad_request", f"media {index}: there is no file part "
                                  f"named {name!r}")
                part = files[name]
                used.add(name)
                data = await part.read()
                await part.seek(0)
                filename = item.get("filename", part.filename or "")
                replaced.append({"data_base64": base64.b64encode(data).decode("ascii"),
                                 "filename": filename})
            report["media"] = replaced
        unnamed = sorted(set(files) - used)
        if unnamed:
            raise Refusal(400, "bad_request", f"the file part {unnamed[0]!r} is not named in "
                          "the report's media list (as {\"file\": \"" + unnamed[0] + "\"})")
        return report
    finally:
        await form.close()


# -- the intake itself ----------------------------------------------------------------------


class Intake:
    """Intake for one service: its slots, its decoders, and the work of each request."""

    def __init__(self, service: Service, *, concurrency: int = CONCURRENCY,
                 queue_wait_s: float = QUEUE_WAIT_S, limits: DecodeLimits = INTAKE_LIMITS,
                 body_timeout_s: float = BODY_TIMEOUT_S) -> None:
        self.service = service
        self.limits = limits
        self.queue_wait_s = queue_wait_s
        self.body_timeout_s = body_timeout_s
        self._work = asyncio.Semaphore(concurrency)
        self._uploads = asyncio.Semaphore(UPLOADS)
        self._idle: queue.SimpleQueue[SafeDecoder] = queue.SimpleQueue()
        self._decoders: list[SafeDecoder] = []
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _close_all, self._decoders)

    def close(self) -> None:
        """Stop the decoder workers (they are daemons, and also go when the service does)."""
        self._finalizer()

    # -- pieces every endpoint uses

    @contextmanager
    def _vet(self) -> Iterator[Vet]:
        """`reviewer.queue.ingest.vetting` in an idle decoder of this intake's (one is started
        only when a report has media), returned to the pool afterwards."""
        taken: list[SafeDecoder] = []

        def vet(data: bytes) -> MediaInfo:
            if not taken:
                try:
                    taken.append(self._idle.get_nowait())
                except queue.Empty:
                    decoder = SafeDecoder(self.limits)
                    with self._lock:
                        self._decoders.append(decoder)
                    taken.append(decoder)
            return vetting(taken[0])(data)

        try:
            yield vet
        finally:
            for decoder in taken:
                self._idle.put(decoder)

    async def _slot(self, semaphore: asyncio.Semaphore) -> None:
        try:
            await asyncio.wait_for(semaphore.acquire(), self.queue_wait_s)
        except TimeoutError:
            raise _busy() from None

    async def authenticate(self, request: Request) -> IntakeSource:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("send the source's intake token as Authorization: Bearer")
        database = self.service.database

        def run() -> IntakeSource | None:
            with database.talking(), database.sessions() as session:
                return verify_token(session, token.strip())

        found = await run_in_threadpool(run)
        if found is None:
            raise _unauthorized("this intake token is unknown or revoked")
        return found

    async def body(self, request: Request) -> bytes:
        await self._slot(self._uploads)
        try:
            async with asyncio.timeout(self.body_timeout_s):
                return await read_body(request, MAX_BODY)
        except TimeoutError:
            raise Refusal(408, "timeout", f"the body did not arrive within "
                          f"{self.body_timeout_s:.0f} s") from None
        except ClientDisconnect:
            raise Refusal(400, "bad_request", "the client went away before the body "
                          "arrived") from None
        finally:
            self._uploads.release()

    async def work(self, function: Callable[..., Any], *args: Any) -> Any:
        await self._slot(self._work)
        try:
            return await run_in_threadpool(function, *args)
        finally:
            self._work.release()

    # -- the work, in a worker thread

    def receive(self, source: IntakeSource, values: list[Any]) -> list[Result]:
        """Parse, vet and load reports; one result each, in order."""
        database = self.service.database
        results: list[Result | None] = [None] * len(values)
        refs = {ref for ref in map(_raw_ref, values) if ref is not None}
        with database.talking(), database.sessions() as session:
            queues = {q.name: q for q in session.scalars(select(Queue))}
            for item in queues.values():
                session.expunge(item)
            known = self._known(session, source, refs)
        now = self.service.clock.now()
        weights = PriorityWeights()
        fresh: dict[str, tuple[int, ParsedReport]] = {}
        repeats: list[tuple[int, str]] = []
        with self._vet() as vet:
            for index, value in enumerate(values):
                ref = _raw_ref(value)
                if ref is not None and ref in known:
                    results[index] = known[ref]
                    continue
                if ref is not None and ref in fresh:
                    repeats.append((index, ref))
                    continue
                try:
                    _check_media_count(value)
                    parsed = parse_report(value, queues=queues, taxonomy=self.service.taxonomy,
                                          folder=None, vet=vet, now=now, weights=weights,
                                          channel=source.channel)
                except Refusal as error:
                    results[index] = _problem_result(error.status, error.kind, str(error), ref)
                    continue
                except RecordProblem as error:
                    status, kind = self._classify(error, value, source, queues)
                    results[index] = _problem_result(status, kind, str(error), ref)
                    continue
                fresh[parsed.external_ref] = (index, parsed)
        if fresh:
            stored, failed = self._store(source, [parsed for _, parsed in fresh.values()])
            late = set(fresh) - set(stored) - set(failed)
            after: dict[str, Result] = {}
            if late:  # someone was quicker with the same reference
                with database.talking(), database.sessions() as session:
                    after = self._known(session, source, late)
            for ref, (index, _parsed) in fresh.items():
                if ref in stored:
                    results[index] = Result(201, {"external_ref": ref,
                                                  "case_id": str(stored[ref]),
                                                  "status": "queued"})
                elif ref in failed:
                    results[index] = _problem_result(422, "unprocessable", failed[ref], ref)
                else:
                    results[index] = after.get(ref) or _taken(ref)
        for index, ref in repeats:
            first = results[fresh[ref][0]] if ref in fresh else None
            if first is not None and first.http_status in (200, 201):
                results[index] = Result(200, {"external_ref": ref,
                                              "case_id": first.body.get("case_id"),
                                              "status": first.body.get("status"),
                                              "duplicate": True})
            else:
                results[index] = first or _taken(ref)
        assert all(r is not None for r in results)
        return [r for r in results if r is not None]

    def _known(self, session: Session, source: IntakeSource, refs: set[str]
               ) -> dict[str, Result]:
        """The answers for references already on the backend: a duplicate for the source's
        own, 409 for another source's (or a case loaded otherwise)."""
        if not refs:
            return {}
        answers: dict[str, Result] = {}
        receipts = {r.external_ref: r for r in session.scalars(
            select(IntakeReceipt).where(IntakeReceipt.external_ref.in_(refs)))}
        cases = {c.external_ref: c for c in session.scalars(
            select(Case).where(Case.external_ref.in_(refs)))}
        for ref in refs:
            receipt = receipts.get(ref)
            if receipt is not None and receipt.source == source.source:
                status, _outcome = public_status(session, cases.get(ref))
                answers[ref] = Result(200, {"external_ref": ref,
                                            "case_id": str(receipt.case_id),
                                            "status": status, "duplicate": True})
            elif receipt is not None or ref in cases:
                answers[ref] = _taken(ref)
        return answers

    def _store(self, source: IntakeSource, parsed: list[ParsedReport]
               ) -> tuple[dict[str, uuid.UUID], dict[str, str]]:
        """Write the cases with their receipts, in the same transactions; the references
        written (with their case ids) and those the backend refused (with the reason)."""
        received_at = self.service.clock.now()

        def receipts(session: Session, written: list[ParsedReport]) -> None:
            session.execute(insert(IntakeReceipt), [
                {"external_ref": report.external_ref, "source": source.source,
                 "case_id": report.case["id"], "received_at": received_at}
                for report in written])

        loaded = load_reports(self.service.database, parsed, also_write=receipts)
        ids = {report.external_ref: report.case["id"] for report in parsed}
        return {ref: ids[ref] for ref in loaded.loaded_refs}, dict(loaded.failed)

    def _classify(self, problem: Exception, value: Any, source: IntakeSource,
                  queues: dict[str, Queue]) -> tuple[int, str]:
        """400 for a report whose fields are malformed, 422 for a well-formed one that
        breaks a rule: media that is not a supported, sound, small enough image; a queue,
        policy area or channel it may not use."""
        if isinstance(problem.__context__, MediaError):
            return 422, "unprocessable"
        if isinstance(value, dict):
            queue_name = value.get("queue")
            if isinstance(queue_name, str) and queue_name not in queues:
                return 422, "unprocessable"
            channel = value.get("channel", source.channel)
            if channel != source.channel:
                return 422, "unprocessable"
            area = value.get("policy_area")
            if isinstance(area, str):
                try:
                    self.service.taxonomy.area(area)
                except KeyError:
                    return 422, "unprocessable"
            media = value.get("media")
            if isinstance(media, list) and any(isinstance(m, dict) and "path" in m
                                               for m in media):
                return 422, "unprocessable"
        return 400, "bad_request"

    def status(self, source: IntakeSource, ref: str) -> dict[str, Any]:
        database = self.service.database
        with database.talking(), database.sessions() as session:
            receipt = session.get(IntakeReceipt, ref) if _usable_ref(ref) else None
            if receipt is None or receipt.source != source.source:
                raise Refusal(404, "not_found", "no report with this external_ref from this "
                              "source")
            status, outcome = public_status(session, session.get(Case, receipt.case_id))
        return {"external_ref": receipt.external_ref, "status": status, "outcome": outcome}


def _close_all(decoders: list[SafeDecoder]) -> None:
    for decoder in decoders:
        try:
            decoder.close()
        except Exception:  # closing at exit: nothing left to tell
            log.debug("closing an intake decoder failed", exc_info=True)


def _taken(ref: str) -> Result:
    return _problem_result(409, "conflict", "this external_ref is already used by another "
                           "report on the backend", ref)




# -- endpoints ------------------------------------------------------------------------------


def _endpoint(handler: Callable[[Intake, Request], Awaitable[Response]]
              ) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        intake: Intake = request.app.state.service.intake
        try:
            return await handler(intake, request)
        except Exception as error:  # every refusal as JSON, never a traceback
            return refusal(translate(error))

    return endpoint


async def _read_report(intake: Intake, request: Request) -> Any:
    kind = _content_type(request)
    if kind not in ("application/json", "multipart/form-data"):
        raise Refusal(415, "unsupported_media_type", "send the report as application/json "
                      "or multipart/form-data")
    body = await intake.body(request)
    if kind == "multipart/form-data":
        return await _multipart_report(request.headers, body)
    return _loads(body)


async def post_report(intake: Intake, request: Request) -> Response:
    source = await intake.authenticate(request)
    report = await _read_report(intake, request)
    if not isinstance(report, dict):
        raise Refusal(400, "bad_request", "the report must be a JSON object")
    _check_media_count(report)
    (result,) = await intake.work(intake.receive, source, [report])
    if result.http_status >= 400:
        raise Refusal(result.http_status, result.body["error"], result.body["message"])
    return IntakeJSON(result.body, status_code=result.http_status)


async def post_batch(intake: Intake, request: Request) -> Response:
    source = await intake.authenticate(request)
    if _content_type(request) != "application/json":
        raise Refusal(415, "unsupported_media_type", "send the batch as application/json")
    data = _loads(await intake.body(request))
    reports = data.get("reports") if isinstance(data, dict) else None
    if not isinstance(reports, list) or not reports:
        raise Refusal(400, "bad_request", "the body must be {\"reports\": [...]} with at "
                      "least one report")
    if len(reports) > MAX_BATCH:
        raise Refusal(413, "too_large", f"a batch carries at most {MAX_BATCH} reports, not "
                      f"{len(reports)}")
    results = await intake.work(intake.receive, source, reports)
    entries = [{"index": index, "http_status": result.http_status, **result.body}
               for index, result in enumerate(results)]
    return IntakeJSON({
        "results": entries,
        "created": sum(1 for r in results if r.http_status == 201),
        "duplicates": sum(1 for r in results if r.http_status == 200),
        "refused": sum(1 for r in results if r.http_status >= 400),
    })


async def get_report(intake: Intake, request: Request) -> Response:
    source = await intake.authenticate(request)
    ref = request.path_params["external_ref"]
    return IntakeJSON(await run_in_threadpool(intake.status, source, ref))


_OPENAPI: bytes | None = None


async def openapi(request: Request) -> Response:
    global _OPENAPI
    if _OPENAPI is None:
        _OPENAPI = OPENAPI_PATH.read_bytes()
    return Response(_OPENAPI, media_type="application/json")


def intake_routes() -> list[Route]:
    return [
        Route("/v1/reports", _endpoint(post_report), methods=["POST"]),
        Route("/v1/reports:batch", _endpoint(post_batch), methods=["POST"]),
        Route("/v1/reports/{external_ref:path}", _endpoint(get_report), methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
