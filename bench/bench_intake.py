"""Benchmark: intake of reports through the backend service (``POST /v1/reports:batch``)
against ``reviewer-admin ingest`` of the same reports and a PostgreSQL ``COPY`` of the same
case rows, in one run.

Prints measured figures and ratios against the baselines measured in the same run; asserts
nothing and passes or fails nothing. Run with `.venv/bin/python bench/bench_intake.py`
(about a minute; `--small` for a CI-sized run, or `--reports` and `--media-reports`). The
PostgreSQL server is the one `REVIEWER_TEST_PG_URL` names, or a throwaway one started like
the integration tests' (tests/helpers/postgres.py), with durable settings (fsync and
synchronous commit on). The service runs as its own process (``python -m
reviewer.server.main``, as the ``reviewer-server`` console script does), listening on
127.0.0.1 only, and is stopped at the end; its log is kept in the run's temporary folder.

The reports: 2,000 without media and 200 with one small generated PNG each (every one
different, so each is stored and test-decoded), in the ingest format (`reviewer.queue.ingest`),
channel ``partner``, spread over the demo's queues. Each path loads the same reports into
its own copy of one freshly seeded backend (a database made from the same template):

- **service**: a partner tool with a token made by ``reviewer-admin create-intake-token
  --source bench-partner --channel partner`` posts them as JSON, media inline as base64,
  in batches of `reviewer.server.intake.MAX_BATCH` (100), one request at a time (or
  ``--clients N`` at once); the bodies are encoded before the clock starts.
- **ingest**: `reviewer.queue.ingest.ingest_file` (what ``reviewer-admin ingest FILE.jsonl
  --backend URL`` runs, media test-decoded in a `SafeDecoder` worker as there) of a JSON
  Lines file holding the same reports.
- **COPY**: ``COPY ... FROM STDIN`` of the rows the service wrote (cases; for the media
  reports also their media items and files) into tables shaped like the real ones, with
  their indexes, committed.

Both the service and ingest first take one warm-up report with media, untimed, so that
their decoder workers have started.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: tests.helpers is under the repository root

from reviewer.clock import ManualClock, SystemClock  # noqa: E402
from reviewer.demo.seed import QUEUES, seed_demo  # noqa: E402
from reviewer.media.decode import SafeDecoder  # noqa: E402
from reviewer.policy.taxonomy import load_taxonomy  # noqa: E402
from reviewer.queue.ingest import ingest_file, vetting  # noqa: E402
from reviewer.security.row_security import init_backend  # noqa: E402
from reviewer.server.intake import MAX_BATCH  # noqa: E402
from reviewer.store.database import Database  # noqa: E402
from tests.helpers.postgres import open_server  # noqa: E402
from tests.helpers.service import ServiceProcess  # noqa: E402

SOURCE = "bench-partner"
SMALL = {"reports": 200, "media_reports": 20}
PLAIN, WITH_MEDIA, WARMUP = "BENCH-N-", "BENCH-M-", "BENCH-WARMUP-"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "n/a"


def png(index: int, side: int = 64) -> bytes:
    """A small PNG, different for every index (noise seeded by it)."""
    rng = random.Random(index)
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def make_reports(prefix: str, count: int, *, media: bool, now: datetime) -> list[dict[str, Any]]:
    reports = []
    for index in range(count):
        spec = QUEUES[index % len(QUEUES)]
        report: dict[str, Any] = {
            "external_ref": f"{prefix}{index:06d}", "queue": spec.name,
            "surface": spec.surfaces[index % len(spec.surfaces)].value, "channel": "partner",
            "reported_at": (now - timedelta(minutes=index % 600)).isoformat(),
            "severity": 1 + index % 5, "reach": (index * 37) % 100_000, "language": "en",
            "region": "GB",
            "reported_text": f"Partner report {index}: a post the partner flags for review.",
            "reporter_note": "sent by the benchmark's partner tool",
        }
        if media:
            report["media"] = [{"data_base64": base64.b64encode(png(index)).decode("ascii"),
                                "filename": f"report-{index}.png"}]
        reports.append(report)
    return reports


def batch_bodies(reports: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps({"reports": reports[start:start + MAX_BATCH]}).encode()
            for start in range(0, len(reports), MAX_BATCH)]


def post_all(client: httpx.Client, bodies: list[bytes], clients: int) -> tuple[float, int, int]:
    """Seconds for posting every batch; reports created and refused."""
    def post(body: bytes) -> tuple[int, int]:
        response = client.post("/v1/reports:batch", content=body,
                               headers={"Content-Type": "application/json"})
        if response.status_code != 200:
            raise RuntimeError(f"the batch was refused ({response.status_code}): "
                               f"{response.text[:300]}")
        answer = response.json()
        return answer["created"], answer["refused"]

    started = time.perf_counter()
    if clients <= 1:
        counts = [post(body) for body in bodies]
    else:
        with ThreadPoolExecutor(clients) as pool:
            counts = list(pool.map(post, bodies))
    elapsed = time.perf_counter() - started
    return elapsed, sum(c for c, _ in counts), sum(r for _, r in counts)


def write_jsonl(path: Path, reports: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as file:
        for report in reports:
            file.write(json.dumps(report) + "\n")
    return path


def ingest(backend: Database, path: Path, taxonomy: Any, decoder: SafeDecoder
           ) -> tuple[float, int, int]:
    started = time.perf_counter()
    report = ingest_file(backend, path, taxonomy, SystemClock(), vet=vetting(decoder))
    return time.perf_counter() - started, report.loaded, report.rejected


def copy_in(backend: Database, selections: dict[str, str]) -> tuple[float, int, int]:
    """Seconds, rows and bytes for COPY ... FROM STDIN of the rows each ``selections`` query
    picks from its table, into a fresh table shaped like it (columns, defaults, indexes),
    committed. The rows are read out first, untimed."""
    raw = backend.engine.raw_connection()
    rows = size = 0
    try:
        cursor = raw.cursor()
        data: dict[str, bytes] = {}
        for table, where in selections.items():
            buffer = io.BytesIO()
            with cursor.copy(f"COPY (SELECT * FROM {table} WHERE {where}) TO STDOUT") as copy:
                for block in copy:
                    buffer.write(bytes(block))
            data[table] = buffer.getvalue()
            cursor.execute(f"DROP TABLE IF EXISTS bench_copy_{table}")
            cursor.execute(f"CREATE TABLE bench_copy_{table} (LIKE {table} INCLUDING ALL)")
        raw.commit()
        started = time.perf_counter()
        for table, block in data.items():
            with cursor.copy(f"COPY bench_copy_{table} FROM STDIN") as copy:
                copy.write(block)
            size += len(block)
            rows += block.count(b"\n")
        raw.commit()
        elapsed = time.perf_counter() - started
        for table in data:
            cursor.execute(f"DROP TABLE bench_copy_{table}")
        raw.commit()
    finally:
        raw.close()
    return elapsed, rows, size


def create_token(url: str) -> str:
    """``reviewer-admin create-intake-token`` (its commands, without the Qt-only extras)."""
    done = subprocess.run(
        [sys.executable, "-m", "reviewer.cli", "create-intake-token", "--source", SOURCE,
         "--channel", "partner", "--by", "bench", "--backend", url],
        capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"create-intake-token failed: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


def line(name: str, seconds: float, count: int, what: str = "reports") -> str:
    return (f"   {name}: {count:,} {what} in {seconds:.2f} s, {count / seconds:,.0f} {what}/s, "
            f"{seconds / max(count, 1) * 1000:.2f} ms each")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=None,
                        help="reports without media (2,000)")
    parser.add_argument("--media-reports", type=int, default=None,
                        help="reports with one small PNG each (200)")
    parser.add_argument("--clients", type=int, default=1,
                        help="batches posted at once to the service (default 1)")
    parser.add_argument("--small", action="store_true",
                        help=f"a CI-sized run: {SMALL['reports']:,} and "
                             f"{SMALL['media_reports']:,} reports (unless given)")
    args = parser.parse_args(argv)
    plain_count = args.reports if args.reports is not None else (
        SMALL["reports"] if args.small else 2_000)
    media_count = args.media_reports if args.media_reports is not None else (
        SMALL["media_reports"] if args.small else 200)

    server = open_server(durable=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    names = ("bench_intake_template", "bench_intake_service", "bench_intake_ingest")
    service: ServiceProcess | None = None
    try:
        taxonomy = load_taxonomy()
        now = datetime.now(UTC).replace(microsecond=0)
        template_url = server.create_database(names[0])
        template = Database.open(template_url, migrate=False)
        init_backend(template.engine)  # what `reviewer-admin init-backend` runs
        seed_demo(template, taxonomy, ManualClock(now - timedelta(hours=1)),
                  random.Random(20261121), cases=100, with_media=False)
        template.dispose()
        service_url = server.create_database(names[1], template=names[0])
        ingest_url = server.create_database(names[2], template=names[0])
        server.drop_database(names[0])
        print(f"PostgreSQL at {service_url.render_as_string(hide_password=True)} (and "
              f"{names[2]}); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        plain = make_reports(PLAIN, plain_count, media=False, now=now)
        with_media = make_reports(WITH_MEDIA, media_count, media=True, now=now)
        warmup = make_reports(WARMUP, 1, media=True, now=now)
        warmup[0]["media"][0]["data_base64"] = base64.b64encode(png(10**6)).decode("ascii")
        plain_bodies, media_bodies = batch_bodies(plain), batch_bodies(with_media)
        media_bytes = sum(len(b) for b in media_bodies)
        print(f"{plain_count:,} reports without media ({len(plain_bodies)} batch(es), "
              f"{sum(len(b) for b in plain_bodies) / 1e6:.1f} MB of JSON) and {media_count:,} "
              f"with a {len(png(0)):,}-byte PNG each ({len(media_bodies)} batch(es), "
              f"{media_bytes / 1e6:.1f} MB)")

        # -- the service ----------------------------------------------------------------
        url_text = service_url.render_as_string(hide_password=False)
        token = create_token(url_text)
        service = ServiceProcess(service_url, workdir)
        service.start()
        print(f"reviewer-server as its own process at {service.base_url} (log: {service.log})")
        with httpx.Client(base_url=service.base_url, timeout=httpx.Timeout(300.0),
                          headers={"Authorization": f"Bearer {token}"},
                          limits=httpx.Limits(max_connections=max(args.clients, 1))) as client:
            post_all(client, batch_bodies(warmup), 1)
            service_plain_s, plain_created, plain_refused = post_all(client, plain_bodies,
                                                                     args.clients)
            service_media_s, media_created, media_refused = post_all(client, media_bodies,
                                                                     args.clients)
        service.stop()
        service = None

        # -- reviewer-admin ingest ------------------------------------------------------
        plain_file = write_jsonl(workdir / "plain.jsonl", plain)
        media_file = write_jsonl(workdir / "media.jsonl", with_media)
        warmup_file = write_jsonl(workdir / "warmup.jsonl", warmup)
        backend = Database.open(ingest_url, migrate=False)
        decoder = SafeDecoder()
        try:
            ingest(backend, warmup_file, taxonomy, decoder)
            ingest_plain_s, plain_loaded, plain_rejected = ingest(backend, plain_file,
                                                                  taxonomy, decoder)
            ingest_media_s, media_loaded, media_rejected = ingest(backend, media_file,
                                                                  taxonomy, decoder)
        finally:
            decoder.close()
            backend.dispose()

        # -- COPY of the rows the service wrote -----------------------------------------
        written = Database.open(service_url, migrate=False)
        try:
            copy_plain_s, copy_plain_rows, copy_plain_bytes = copy_in(written, {
                "review_case": f"external_ref LIKE '{PLAIN}%'"})
            media_cases = f"SELECT id FROM review_case WHERE external_ref LIKE '{WITH_MEDIA}%'"
            copy_media_s, copy_media_rows, copy_media_bytes = copy_in(written, {
                "media_blob": "content_hash IN (SELECT content_hash FROM media_item WHERE "
                              f"case_id IN ({media_cases}))",
                "review_case": f"external_ref LIKE '{WITH_MEDIA}%'",
                "media_item": f"case_id IN ({media_cases})"})
        finally:
            written.dispose()

        clients = f"{args.clients} client{'s' if args.clients != 1 else ''} at once"
        print(f"\n1. {plain_count:,} reports without media")
        print(line(f"service, POST /v1/reports:batch ({clients}; {plain_created:,} created, "
                   f"{plain_refused} refused)", service_plain_s, plain_count))
        print(line(f"ingest_file ({plain_loaded:,} loaded, {plain_rejected} rejected)",
                   ingest_plain_s, plain_count))
        print(f"   COPY ... FROM STDIN of the same {copy_plain_rows:,} case rows "
              f"({copy_plain_bytes / 1e6:.1f} MB): {copy_plain_s:.3f} s")
        print(f"   service / ingest = {ratio(service_plain_s, ingest_plain_s)}; "
              f"service / COPY = {ratio(service_plain_s, copy_plain_s)}; "
              f"ingest / COPY = {ratio(ingest_plain_s, copy_plain_s)}")

        print(f"\n2. {media_count:,} reports with one PNG each (identified and test-decoded)")
        print(line(f"service, POST /v1/reports:batch ({clients}; {media_created:,} created, "
                   f"{media_refused} refused)", service_media_s, media_count))
        print(line(f"ingest_file ({media_loaded:,} loaded, {media_rejected} rejected)",
                   ingest_media_s, media_count))
        print(f"   COPY ... FROM STDIN of the same {copy_media_rows:,} rows of cases, media "
              f"items and files ({copy_media_bytes / 1e6:.1f} MB): {copy_media_s:.3f} s")
        print(f"   service / ingest = {ratio(service_media_s, ingest_media_s)}; "
              f"service / COPY = {ratio(service_media_s, copy_media_s)}; "
              f"ingest / COPY = {ratio(ingest_media_s, copy_media_s)}")

        total_service = service_plain_s + service_media_s
        total_ingest = ingest_plain_s + ingest_media_s
        total_copy = copy_plain_s + copy_media_s
        print(f"\n3. all {plain_count + media_count:,} reports: service {total_service:.2f} s, "
              f"ingest {total_ingest:.2f} s, COPY {total_copy:.3f} s; service / ingest = "
              f"{ratio(total_service, total_ingest)}; service / COPY = "
              f"{ratio(total_service, total_copy)}")
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        if service is not None:
            service.stop()
        if not server.restartable:
            for name in names:
                server.drop_database(name)
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
