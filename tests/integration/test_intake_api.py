"""Intake over HTTP (``POST /v1/reports``) against the real service and a real PostgreSQL:
a partner tool posts reports, a reviewer of the queue's team gets them with *get next*, and
hostile or broken requests are refused with a JSON reason, never a traceback."""

from __future__ import annotations

import base64
import http.client
import io
import json
import struct
import uuid
import zlib
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.engine import URL

from reviewer.cli import main as admin
from reviewer.enforcement.decisions import DecisionDraft, record_decision
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.server import intake as intake_module
from reviewer.server.app import create_app
from reviewer.store.database import Database
from reviewer.store.models import Case, IntakeReceipt, IntakeToken, MediaItem
from reviewer.workstation import Workstation
from tests.helpers.pg_workstations import (
    LOGIN_PASSWORD,
    count,
    create_login,
    drop_logins,
    seed_backend,
)
from tests.helpers.service import running_service

RATIONALE = "Read in full: a slur aimed at a protected group; removed under HS-1."


def _url_text(url: URL | str) -> str:
    return url if isinstance(url, str) else url.render_as_string(hide_password=False)


def _token(pg_url: URL, capsys: pytest.CaptureFixture[str], source: str = "hotline",
           channel: str = "partner") -> str:
    """A token made the way an admin makes one: reviewer-admin create-intake-token."""
    capsys.readouterr()
    code = admin(["create-intake-token", "--source", source, "--channel", channel,
                  "--backend", _url_text(pg_url)])
    out = capsys.readouterr().out.strip()
    assert code == 0, out
    assert out.startswith("rvi_") and "\n" not in out
    return out


def _png(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (200, 30, 30)
         ) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def _bomb_png() -> bytes:
    """A PNG that says 100,000 x 100,000 pixels (10 gigapixels): a few KB of zeros that
    would inflate to 10 GB."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = b"\0" * 100_001
    data = b"".join(compressor.compress(row) for _ in range(200)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data)
            + _chunk(b"IEND", b""))


def _report(ref: str, clock, **changes: object) -> dict:
    report = {
        "external_ref": ref, "queue": "Hate speech", "surface": "organic_post",
        "channel": "partner", "reported_at": (clock.now() - timedelta(hours=1)).isoformat(),
        "severity": 4, "reach": 5000, "language": "en", "region": "GB",
        "reported_text": f"Partner report {ref}: a post calling a group vermin",
        "reporter_note": "flagged by the hotline", "media": [],
    }
    report.update(changes)
    return report


def _inline(data: bytes, filename: str = "shot.png") -> dict:
    return {"data_base64": base64.b64encode(data).decode(), "filename": filename}


def _client(base: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base, headers=headers, timeout=60)


def _refused(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "message"}, body
    assert body["message"] and "Traceback" not in body["message"]
    return body


@pytest.fixture
def backend(pg_url, clock):
    """The demo organisation (teams, queues, people) with no cases yet."""
    seed_backend(pg_url, clock, cases=0)
    return pg_url


@pytest.fixture
def reviewer_name(backend, postgres_server):
    """A reviewer of the integrity team (whose queues include Hate speech), signing in
    through the service; the login role is the server's, so it goes at the end."""
    name = f"zoe_{uuid.uuid4().hex[:8]}"
    create_login(backend, name, role="reviewer", teams=["integrity"])
    yield name
    drop_logins(postgres_server.admin_url, [name])


# -- a partner's report reaches a reviewer -------------------------------------------------


def test_partner_reports_reach_a_reviewer_with_get_next(backend, reviewer_name, clock, tmp_path,
                                                        capsys):
    token = _token(backend, capsys)
    picture = _png()
    with running_service(backend, clock) as base, _client(base, token) as partner:
        created = partner.post("/v1/reports", json=_report(
            "HL-1", clock, media=[_inline(picture)]))
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["external_ref"] == "HL-1" and body["status"] == "queued"
        first_case = body["case_id"]

        # The same partner tool, as multipart: the report's JSON and the file as a part.
        second = _png((80, 60), (20, 120, 220))
        report = _report("HL-2", clock, severity=2, media=[{"file": "photo"}])
        created = partner.post("/v1/reports", data={"report": json.dumps(report)},
                               files={"photo": ("photo.png", second, "image/png")})
        assert created.status_code == 201, created.text
        second_case = created.json()["case_id"]

        workstation = Workstation.open(tmp_path / "zoe", backend_url=base, username=reviewer_name,
                                       password=LOGIN_PASSWORD, clock=clock)
        try:
            workstation.synchronise()
            leased = []
            for _ in range(2):
                lease = workstation.get_next_case()
                assert lease is not None
                leased.append(str(lease.case_id))
            assert leased == [first_case, second_case]  # severity 4 before severity 2
            case = workstation.case(lease.case_id)
            assert case is not None and case.channel == "partner"
            assert case.external_ref == "HL-2"
        finally:
            workstation.close()

    database = Database.open(backend, migrate=False)
    try:
        with database.sessions() as session:
            items = {m.filename: m for m in session.scalars(select(MediaItem))}
            assert items["shot.png"].mime_type == "image/png"
            assert (items["photo.png"].width, items["photo.png"].height) == (80, 60)
            receipts = {r.external_ref: r.source for r in session.scalars(
                select(IntakeReceipt))}
            assert receipts == {"HL-1": "hotline", "HL-2": "hotline"}
    finally:
        database.dispose()


def test_a_repeat_is_a_duplicate_and_changes_nothing(backend, clock, capsys):
    token = _token(backend, capsys)
    report = _report("HL-7", clock, media=[_inline(_png())])
    with running_service(backend, clock) as base, _client(base, token) as partner:
        first = partner.post("/v1/reports", json=report)
        assert first.status_code == 201, first.text
        again = partner.post("/v1/reports", json={**report, "severity": 1})
        assert again.status_code == 200, again.text
        assert again.json() == {"external_ref": "HL-7", "case_id": first.json()["case_id"],
                                "status": "queued", "duplicate": True}
    database = Database.open(backend, migrate=False)
    try:
        assert count(database, Case) == 1
        assert count(database, MediaItem) == 1
        with database.sessions() as session:
            assert session.scalar(select(Case.severity)) == 4
    finally:
        database.dispose()


def test_a_batch_loads_the_good_reports_and_says_why_the_bad_one_was_refused(
        backend, clock, capsys):
    token = _token(backend, capsys)
    reports = [
        _report("B-1", clock),
        _report("B-2", clock, queue="No such queue"),
        _report("B-3", clock, media=[_inline(_png())]),
        _report("B-4", clock, severity="high"),
        _report("B-1", clock),  # the same reference twice in one batch
    ]
    with running_service(backend, clock) as base, _client(base, token) as partner:
        answer = partner.post("/v1/reports:batch", json={"reports": reports})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        results = body["results"]
        assert [r["index"] for r in results] == [0, 1, 2, 3, 4]
        assert [r["http_status"] for r in results] == [201, 422, 201, 400, 200]
        assert [r["external_ref"] for r in results] == ["B-1", "B-2", "B-3", "B-4", "B-1"]
        assert "No such queue" in results[1]["message"]
        assert "severity" in results[3]["message"]
        assert results[4]["duplicate"] is True
        assert (body["created"], body["duplicates"], body["refused"]) == (2, 1, 2)

        again = partner.post("/v1/reports:batch", json={"reports": reports[:3]}).json()
        assert [r["http_status"] for r in again["results"]] == [200, 422, 200]

        too_many = partner.post("/v1/reports:batch", json={"reports": [
            _report(f"M-{n}", clock) for n in range(intake_module.MAX_BATCH + 1)]})
        _refused(too_many, 413)
        _refused(partner.post("/v1/reports:batch", json={"reports": []}), 400)
        _refused(partner.post("/v1/reports:batch", json=[_report("X", clock)]), 400)
    database = Database.open(backend, migrate=False)
    try:
        with database.sessions() as session:
            assert set(session.scalars(select(Case.external_ref))) == {"B-1", "B-3"}
    finally:
        database.dispose()


def test_status_before_and_after_a_decision_tells_the_public_outcome_only(
        backend, reviewer_name, clock, tmp_path, capsys):
    token = _token(backend, capsys)
    with running_service(backend, clock) as base, _client(base, token) as partner:
        assert partner.post("/v1/reports", json=_report("S-1", clock)).status_code == 201
        status = partner.get("/v1/reports/S-1")
        assert status.status_code == 200, status.text
        assert status.json() == {"external_ref": "S-1", "status": "queued", "outcome": None}

        workstation = Workstation.open(tmp_path / "zoe", backend_url=base, username=reviewer_name,
                                       password=LOGIN_PASSWORD, clock=clock)
        try:
            workstation.synchronise()
            lease = workstation.get_next_case()
            assert lease is not None
            assert partner.get("/v1/reports/S-1").json()["status"] == "in_review"
            record_decision(
                workstation.replica.sessions, workstation.taxonomy,
                reviewer_id=workstation.reviewer_id, client_id=workstation.client_id,
                draft=DecisionDraft(lease.case_id, "HS-1", "remove", RATIONALE),
                clock=workstation.clock)
            report = workstation.synchronise()
            assert (report.pushed, report.rejected) == (1, 0)  # the decision
        finally:
            workstation.close()

        status = partner.get("/v1/reports/S-1")
        assert status.status_code == 200
        assert status.json() == {"external_ref": "S-1", "status": "decided",
                                 "outcome": "removed"}
        text = status.text
        for secret in (RATIONALE, "HS-1", "zoe", "Zoe", str(workstation.reviewer_id)):
            assert secret not in text
        # The duplicate answer carries the status too.
        again = partner.post("/v1/reports", json=_report("S-1", clock)).json()
        assert again["status"] == "decided" and again["duplicate"] is True


# -- who may send and ask ------------------------------------------------------------------


def test_tokens_unknown_missing_or_revoked_get_401(backend, clock, capsys):
    token = _token(backend, capsys)
    with running_service(backend, clock) as base:
        with _client(base, None) as anonymous:
            body = _refused(anonymous.post("/v1/reports", json=_report("T-1", clock)), 401)
            assert body["error"] == "unauthorized"
        with _client(base, "rvi_not-a-token") as stranger:
            _refused(stranger.post("/v1/reports", json=_report("T-1", clock)), 401)
            _refused(stranger.get("/v1/reports/T-1"), 401)
        with _client(base, token) as partner:
            assert partner.post("/v1/reports", json=_report("T-1", clock)).status_code == 201
            assert admin(["revoke-intake-token", "--source", "hotline",
                          "--backend", _url_text(backend)]) == 0
            response = partner.post("/v1/reports", json=_report("T-2", clock))
            _refused(response, 401)
            assert response.headers["www-authenticate"].startswith("Bearer")
            _refused(partner.get("/v1/reports/T-1"), 401)
    capsys.readouterr()
    assert admin(["list-intake-tokens", "--backend", _url_text(backend)]) == 0
    listing = capsys.readouterr().out
    assert "hotline" in listing and "revoked" in listing and token not in listing
    database = Database.open(backend, migrate=False)
    try:
        with database.sessions() as session:
            stored = session.scalar(select(IntakeToken.token_sha256))
            assert stored is not None and token not in stored and len(stored) == 64
        assert count(database, Case) == 1
    finally:
        database.dispose()


def test_a_token_creates_cases_in_its_own_channel_only(backend, clock, capsys):
    token = _token(backend, capsys, source="newsdesk", channel="press")
    code = admin(["create-intake-token", "--source", "newsdesk", "--channel", "partner",
                  "--backend", _url_text(backend)])
    assert code == 2  # a source sends in one channel
    with running_service(backend, clock) as base, _client(base, token) as press:
        body = _refused(press.post("/v1/reports", json=_report("C-1", clock)), 422)
        assert "channel" in body["message"]
        assert press.post("/v1/reports", json=_report("C-2", clock, channel="press")
                          ).status_code == 201
    database = Database.open(backend, migrate=False)
    try:
        with database.sessions() as session:
            assert list(session.scalars(select(Case.channel))) == ["press"]
    finally:
        database.dispose()


def test_another_sources_reports_are_not_found(backend, clock, capsys):
    hotline = _token(backend, capsys, source="hotline")
    other = _token(backend, capsys, source="safer-net")
    with running_service(backend, clock) as base, _client(base, hotline) as first, \
            _client(base, other) as second:
        assert first.post("/v1/reports", json=_report("O-1", clock)).status_code == 201
        unknown = _refused(second.get("/v1/reports/NO-SUCH"), 404)
        theirs = _refused(second.get("/v1/reports/O-1"), 404)
        assert theirs == unknown
        assert first.get("/v1/reports/O-1").status_code == 200
        # Posting under another source's reference neither duplicates nor reveals it.
        assert _refused(second.post("/v1/reports", json=_report("O-1", clock)),
                        409)["error"] == "conflict"
    database = Database.open(backend, migrate=False)
    try:
        assert count(database, Case) == 1
    finally:
        database.dispose()


# -- hostile and broken requests -----------------------------------------------------------


def test_wrong_content_types_and_bodies_are_refused_with_reasons(backend, clock, capsys):
    token = _token(backend, capsys)
    with running_service(backend, clock) as base, _client(base, token) as partner:
        _refused(partner.post("/v1/reports", content=b"external_ref=1",
                              headers={"Content-Type": "text/plain"}), 415)
        _refused(partner.post("/v1/reports", content=b"{}"), 415)  # no content type
        body = _refused(partner.post("/v1/reports", content=b"{not json",
                                     headers={"Content-Type": "application/json"}), 400)
        assert "JSON" in body["message"]
        _refused(partner.post("/v1/reports", content=b"\xff\xfe\x00",
                              headers={"Content-Type": "application/json"}), 400)
        _refused(partner.post("/v1/reports", json=[1, 2]), 400)
        body = _refused(partner.post("/v1/reports", json=_report("F-1", clock,
                                                                 reported_at="yesterday")), 400)
        assert "reported_at" in body["message"]
        _refused(partner.post("/v1/reports", json={"external_ref": "F-2"}), 400)
        # Text a database would choke on, a lone surrogate: a reason, never a 500.
        for text in ("nul \u0000 byte", "lone \ud800 surrogate"):
            response = partner.post(
                "/v1/reports", content=json.dumps(_report("F-3", clock, reported_text=text)),
                headers={"Content-Type": "application/json"})
            assert response.status_code in (201, 400, 422), response.text
        body = _refused(partner.post("/v1/reports", content=json.dumps(
            _report("lone \ud800", clock)), headers={"Content-Type": "application/json"}), 400)
        assert "external_ref" in body["message"]
        _refused(partner.get("/v1/reports/nul%00byte"), 404)
        _refused(partner.post("/v1/reports", content=b'{"reach": ' + b"9" * 5000 + b"}",
                              headers={"Content-Type": "application/json"}), 400)
        # JSON nested 100,000 deep: 400, the service still well.
        deep = b'{"external_ref": "F-4", "media": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        body = _refused(partner.post("/v1/reports", content=deep,
                                     headers={"Content-Type": "application/json"}), 400)
        _refused(partner.post("/v1/reports:batch", content=b'{"reports": [' + b"[" * 100_000
                              + b"]" * 100_000 + b"]}",
                              headers={"Content-Type": "application/json"}), 400)
        _refused(partner.post("/v1/reports", data={"report": "[" * 100_000 + "]" * 100_000},
                              files={"x": ("x.png", b"1", "image/png")}), 400)
        # Multipart that does not hold together.
        _refused(partner.post("/v1/reports", data={"nothing": "here"},
                              files={"photo": ("p.png", _png(), "image/png")}), 400)
        _refused(partner.post("/v1/reports", data={"report": json.dumps(_report(
            "F-5", clock, media=[{"file": "missing"}]))},
            files={"photo": ("p.png", _png(), "image/png")}), 400)
        _refused(partner.post("/v1/reports", data={"report": json.dumps(_report(
            "F-6", clock))}, files={"photo": ("p.png", _png(), "image/png")}), 400)
        _refused(partner.post("/v1/reports", content=b"--x\r\n",
                              headers={"Content-Type": "multipart/form-data"}), 400)
        assert partner.get("/v1/hello").status_code == 200


def test_bodies_over_the_limit_get_413(backend, clock, capsys):
    token = _token(backend, capsys)
    with running_service(backend, clock) as base, _client(base, token) as partner:
        where = urlsplit(base)
        connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        try:
            connection.putrequest("POST", "/v1/reports")
            connection.putheader("Authorization", f"Bearer {token}")
            connection.putheader("Content-Type", "application/json")
            connection.putheader("Content-Length", str(intake_module.MAX_BODY + 1))
            connection.endheaders()
            response = connection.getresponse()
            assert response.status == 413
            body = json.loads(response.read())
            assert body["error"] == "too_large"
        finally:
            connection.close()

        def chunks():
            piece = b" " * (1024 * 1024)
            yield b'{"external_ref": "BIG", "reported_text": "'
            for _ in range(intake_module.MAX_BODY // len(piece) + 2):
                yield piece

        try:
            streamed = partner.post("/v1/reports", content=chunks(),
                                    headers={"Content-Type": "application/json"})
        except httpx.TransportError:
            pass  # the service may close the connection while the client still sends
        else:
            _refused(streamed, 413)

        media = [_inline(_png(), f"{n}.png") for n in range(intake_module.MAX_MEDIA + 1)]
        _refused(partner.post("/v1/reports", json=_report("MANY", clock, media=media)), 413)
        files = {f"p{n}": (f"{n}.png", _png(), "image/png")
                 for n in range(intake_module.MAX_MEDIA + 1)}
        report = _report("MANY-2", clock, media=[{"file": name} for name in files])
        _refused(partner.post("/v1/reports", data={"report": json.dumps(report)},
                              files=files), 413)
        assert partner.get("/v1/reports/MANY").status_code == 404


def test_corrupt_media_and_a_decompression_bomb_get_422(backend, clock, capsys):
    token = _token(backend, capsys)
    picture = _png((300, 200))
    with running_service(backend, clock) as base, _client(base, token) as partner:
        body = _refused(partner.post("/v1/reports", json=_report(
            "M-1", clock, media=[_inline(picture[: len(picture) // 2], "cut.png")])), 422)
        assert "cut.png" in body["message"]
        _refused(partner.post("/v1/reports", json=_report(
            "M-2", clock, media=[_inline(b"%PDF-1.7 not a picture", "doc.png")])), 422)
        body = _refused(partner.post("/v1/reports", json=_report(
            "M-3", clock, media=[_inline(_bomb_png(), "bomb.png")])), 422)
        assert "bomb.png" in body["message"]
        body = _refused(partner.post("/v1/reports", data={"report": json.dumps(_report(
            "M-4", clock, media=[{"file": "bomb"}]))},
            files={"bomb": ("bomb.png", _bomb_png(), "image/png")}), 422)
        _refused(partner.post("/v1/reports", json=_report(
            "M-5", clock, media=[{"data_base64": "not base64!", "filename": "x.png"}])), 400)
        for path in ("../../etc/passwd", "/etc/passwd", "/dev/zero"):
            body = _refused(partner.post("/v1/reports", json=_report(
                "M-7", clock, media=[{"path": path}])), 422)
            assert "inline" in body["message"]
        assert partner.post("/v1/reports", json=_report(
            "M-6", clock, media=[_inline(picture)])).status_code == 201
    database = Database.open(backend, migrate=False)
    try:
        with database.sessions() as session:
            assert list(session.scalars(select(Case.external_ref))) == ["M-6"]
    finally:
        database.dispose()


def test_postgresql_down_gets_503_with_retry_after(clock):
    closed = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    with running_service(closed, clock) as base, _client(base, "rvi_anything") as partner:
        for response in (partner.post("/v1/reports", json=_report("D-1", clock)),
                         partner.post("/v1/reports:batch",
                                      json={"reports": [_report("D-2", clock)]}),
                         partner.get("/v1/reports/D-1")):
            body = _refused(response, 503)
            assert body["error"] == "unavailable"
            assert int(response.headers["retry-after"]) > 0
        assert partner.get("/openapi.json").status_code == 200


def test_reports_sent_at_once_load_once_each(backend, clock, capsys):
    """Partner tools retry: the same reference sent six times at once is one case, and
    reports sent in parallel all load (at most CONCURRENCY decoders for them)."""
    from concurrent.futures import ThreadPoolExecutor

    token = _token(backend, capsys)
    picture = _png()
    with running_service(backend, clock) as base, _client(base, token) as partner:
        def send(ref: str) -> int:
            return partner.post("/v1/reports", json=_report(
                ref, clock, media=[_inline(picture)])).status_code

        with ThreadPoolExecutor(12) as pool:
            same = list(pool.map(send, ["R-SAME"] * 6))
            many = list(pool.map(send, [f"R-{n}" for n in range(12)]))
    assert sorted(same) == [200] * 5 + [201]
    assert many == [201] * 12
    database = Database.open(backend, migrate=False)
    try:
        assert count(database, Case) == 13
        assert count(database, IntakeReceipt) == 13
    finally:
        database.dispose()


def test_intake_is_busy_when_every_slot_is_taken(clock):
    """More reports at once than slots: a request that waited too long gets 503."""
    import asyncio

    closed = Database.open("postgresql+psycopg://nobody@127.0.0.1:1/none", migrate=False)
    try:
        intake = create_app(closed, load_taxonomy(), clock=clock).state.service.intake
        intake.queue_wait_s = 0.2

        async def hold_every_slot() -> None:
            for _ in range(intake_module.CONCURRENCY):
                await intake._work.acquire()
            with pytest.raises(intake_module.Refusal) as refused:
                await intake.work(lambda: None)
            assert refused.value.status == 503 and "Retry-After" in refused.value.headers

        asyncio.run(hold_every_slot())
    finally:
        closed.dispose()


# -- the description --------------------------------------------------------------------------


def test_openapi_describes_every_route_the_service_mounts(clock):
    closed = Database.open("postgresql+psycopg://nobody@127.0.0.1:1/none", migrate=False)
    try:
        app = create_app(closed, load_taxonomy(), clock=clock)
    finally:
        closed.dispose()
    document = json.loads(Path(intake_module.OPENAPI_PATH).read_text())
    assert document["openapi"].startswith("3.1")
    paths = document["paths"]
    mounted = set()
    for route in app.routes:
        path = route.path_format  # type: ignore[attr-defined]
        for method in route.methods or ():  # type: ignore[attr-defined]
            if method == "HEAD":
                continue
            mounted.add((path, method.lower()))
            assert path in paths, f"{path} is not in reviewer/server/openapi.json"
            assert method.lower() in paths[path], f"{method} {path} is not described"
            operation = paths[path][method.lower()]
            assert operation.get("summary") and operation.get("responses")
    described = {(path, method) for path, item in paths.items() for method in item}
    assert described == mounted, "openapi.json describes routes the service does not mount"
    schemas = document["components"]["schemas"]
    for name in ("Report", "ReportCreated", "ReportDuplicate", "ReportStatus", "BatchRequest",
                 "BatchResponse", "Error"):
        assert name in schemas
    status = schemas["ReportStatus"]["properties"]
    assert tuple(status["status"]["enum"]) == intake_module.STATUSES
    assert set(status["outcome"]["enum"]) == {*intake_module.PUBLIC_OUTCOMES.values(), None}
    assert schemas["BatchRequest"]["properties"]["reports"]["maxItems"] == \
        intake_module.MAX_BATCH
    assert schemas["Report"]["properties"]["media"]["maxItems"] == intake_module.MAX_MEDIA

    with running_service("postgresql+psycopg://nobody@127.0.0.1:1/none", clock) as base:
        served = httpx.get(f"{base}/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == document
