"""The real backend service (reviewer-server) for tests: on loopback only, started here.

`running_service` serves a PostgreSQL backend (as its owner) from a thread of the test
process, with an injectable clock; `ServiceProcess` runs ``reviewer-server`` as its own
process, for tests that kill it mid-request.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy.engine import URL

from reviewer.clock import Clock
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.server.app import create_app
from reviewer.store.database import Database


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_service(url: URL | str, clock: Clock | None = None, *,
                    ssl_certfile: Path | str | None = None,
                    ssl_keyfile: Path | str | None = None) -> Iterator[str]:
    """Serve the backend at ``url`` on 127.0.0.1; yields the service's base URL
    (``https://127.0.0.1:PORT`` with its own certificate, given ``ssl_certfile`` and
    ``ssl_keyfile``, as ``reviewer-server --tls-cert --tls-key`` serves)."""
    database = Database.open(url, migrate=False)
    app = create_app(database, load_taxonomy(), clock=clock)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    tls = {} if ssl_certfile is None else {"ssl_certfile": str(ssl_certfile),
                                           "ssl_keyfile": str(ssl_keyfile)}
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            **tls)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]},
                              daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the backend service did not start")
        time.sleep(0.02)
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        listener.close()
        database.dispose()


class ServiceProcess:
    """``reviewer-server`` as a separate process on 127.0.0.1, to be killed at will."""

    def __init__(self, url: URL | str, log_dir: Path) -> None:
        self.url = url if isinstance(url, str) else url.render_as_string(hide_password=False)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = log_dir / f"reviewer-server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "reviewer.server.main", "--backend", self.url,
                 "--listen", f"127.0.0.1:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base_url}/v1/hello", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"reviewer-server did not start: {self.log.read_text()}")
            time.sleep(0.1)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
