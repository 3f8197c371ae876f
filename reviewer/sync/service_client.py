"""The workstation's side of ``reviewer-server``: a `BackendLink` over HTTPS.

The workstation holds no database credentials. It signs in with the person's password
(checked by the service, once), keeps the short-lived session token in memory only, and
signs in again by itself when the token runs out while the password is still in memory.
Every failure is one of the core's own errors with a plain message: a lost network or a
service that is down is `BackendUnavailable` (sync backs off and retries), a refused
password `BackendLoginFailed`, a revoked device `DeviceRevoked` in the engine's terms
(`reviewer.security.devices.DeviceStatus` with ``revoked``), a lease conflict `LeaseError`.

TLS: an ``https://`` address is verified against the system's certificate authorities (or
``REVIEWER_CA_BUNDLE`` / ``SSL_CERT_FILE``); plain ``http://`` is accepted only for this
computer (loopback), unless ``[security] allow_unverified_tls`` is on.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import ssl
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from reviewer.qa.store import QaRefused
from reviewer.queue.leases import Lease, LeaseError, LeaseLost
from reviewer.security.devices import DeviceError, DeviceStatus
from reviewer.store.database import (
    BackendError,
    BackendLoginFailed,
    BackendUnavailable,
    SchemaVersionError,
    head_revision,
)
from reviewer.sync import wire
from reviewer.sync.appliers import ChangeBatch, Mutation, MutationResult
from reviewer.sync.link import DrawnSample, Progress, TeamWellness
from reviewer.sync.offline_kit import KitEstimate, KitRefused, KitReport

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
PULL_TIMEOUT = httpx.Timeout(300.0, connect=10.0)


class InsecureAddress(BackendError):
    """An address the workstation will not send a password to (plain HTTP elsewhere)."""


def _loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_address(url: str, *, allow_unverified_tls: bool = False) -> str:
    """The service's base URL, refused if it would carry a password unencrypted."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InsecureAddress(f"{url!r} is not a backend service address (https://host)")
    if parts.scheme == "http" and not _loopback(parts.hostname) and not allow_unverified_tls:
        raise InsecureAddress(
            f"{url} is not encrypted: use https:// (or turn on [security] "
            "allow_unverified_tls to accept it, with a warning)")
    return url.rstrip("/")


def _ca_bundle() -> ssl.SSLContext | None:
    """The certificate authorities named by ``REVIEWER_CA_BUNDLE``, if it is set."""
    path = os.environ.get("REVIEWER_CA_BUNDLE")
    if not path:
        return None
    try:
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as error:
        raise BackendError(f"REVIEWER_CA_BUNDLE names {path}, which is not a readable CA "
                           f"certificate file ({error})") from None


class ServiceLink:
    """`reviewer.sync.link.BackendLink` over the backend service's HTTP API."""

    is_embedded = False

    def __init__(self, base_url: str, *, username: str, password: str | None,
                 client_id: str, allow_unverified_tls: bool = False,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.base_url = check_address(base_url, allow_unverified_tls=allow_unverified_tls)
        self.username = username
        self._password = password
        self.client_id = client_id
        verify: Any = _ca_bundle() or True
        if allow_unverified_tls and self.base_url.startswith("https://"):
            verify = False
        self._http = httpx.Client(base_url=self.base_url, timeout=TIMEOUT, verify=verify,
                                  transport=transport,
                                  headers={"X-Client-Id": client_id,
                                           "User-Agent": "reviewer-workstation"})
        self._token: str | None = None
        self._token_expires: datetime | None = None
        self._lock = threading.Lock()
        self.role: str | None = None
        self.reviewer_id: uuid.UUID | None = None

    # -- signing in --------------------------------------------------------------------

    def sign_in(self) -> None:
        """Check the password with the service and keep the session token in memory."""
        if self._password is None:
            raise BackendLoginFailed("sign in with your password first")
        data = self._send("POST", "/v1/sessions", json={
            "username": self.username, "password": self._password,
            "client_id": self.client_id}, signed=False)
        self._token = data["token"]
        self._token_expires = datetime.fromisoformat(data["expires_at"])
        self.role = data.get("role")
        self.reviewer_id = uuid.UUID(data["reviewer_id"])

    def sign_out(self) -> None:
        if self._token is not None:
            with contextlib.suppress(BackendError):  # it runs out by itself soon anyway
                self._send("DELETE", "/v1/sessions", signed=True, retry=False)
        self._token = None

    def _ensure_token(self) -> None:
        with self._lock:
            now = datetime.now(UTC)
            if self._token is None or (self._token_expires is not None
                                       and self._token_expires - now < timedelta(minutes=2)):
                self.sign_in()

    # -- sending -----------------------------------------------------------------------

    def _send(self, method: str, path: str, *, json: Any = None,
              params: dict[str, Any] | None = None, signed: bool = True, retry: bool = True,
              timeout: httpx.Timeout | None = None) -> Any:
        if signed:
            self._ensure_token()
        headers = {"Authorization": f"Bearer {self._token}"} if signed else {}
        try:
            response = self._http.request(method, path, json=json, params=params,
                                          headers=headers, timeout=timeout or TIMEOUT)
        except httpx.TransportError as error:
            if isinstance(error, httpx.ConnectError) \
                    and "CERTIFICATE_VERIFY_FAILED" in str(error):
                reason = str(error).split("certificate verify failed:", 1)[-1]
                reason = " ".join(reason.split(" (_ssl.c", 1)[0].split()).rstrip(".")
                raise BackendUnavailable(
                    f"the backend service at {self.base_url} cannot be reached safely: the "
                    f"service's certificate could not be verified ({reason}); working "
                    "offline") from None
            raise BackendUnavailable(
                f"the backend service at {self.base_url} cannot be reached "
                f"({type(error).__name__}); working offline") from None
        if response.status_code == 401 and signed and retry and self._password is not None:
            self._token = None  # expired or ended: sign in again once
            return self._send(method, path, json=json, params=params, signed=True,
                              retry=False, timeout=timeout)
        if response.status_code >= 400:
            raise self._error(response)
        return response.json()

    def _error(self, response: httpx.Response) -> Exception:
        try:
            body = response.json()
            kind, message = str(body.get("error", "")), str(body.get("message", ""))
        except ValueError:
            kind, message = "", response.text[:200]
        status = response.status_code
        if status == 401:
            return BackendLoginFailed(f"the backend service refused the sign-in: {message}")
        if status == 403 and kind == "revoked":
            return _Revoked(response.headers.get("x-revoked-at"), message)
        if kind == "lease_lost":
            return LeaseLost(message)
        if kind == "lease":
            return LeaseError(message)
        if kind == "kit":
            return KitRefused(message)
        if kind == "qa":
            return QaRefused(message)
        if kind == "device":
            return DeviceError(message)
        if kind == "schema":
            return SchemaVersionError(message)
        if status in (502, 503, 504):
            return BackendUnavailable(f"the backend service is unavailable: {message or status}")
        return BackendError(f"the backend service refused the request ({status}): {message}")

    # -- the link ----------------------------------------------------------------------

    def check_schema(self) -> None:
        data = self._send("GET", "/v1/hello", signed=False)
        if data.get("schema") != head_revision():
            raise SchemaVersionError(
                f"the backend service runs schema version {data.get('schema')}, but this "
                f"version of Reviewer Workstation needs {head_revision()}; install the "
                "matching version (or ask an admin to upgrade the service)")
        self._send("GET", "/v1/schema")

    def check_in(self, client_id: str) -> DeviceStatus:
        try:
            return wire.decode_device(self._send("POST", "/v1/check-in", json={}))
        except _Revoked as revoked:
            return DeviceStatus(True, revoked.at)

    def push(self, mutations: Sequence[Mutation]) -> list[MutationResult]:
        data = self._send("POST", "/v1/push",
                          json={"mutations": [wire.encode_mutation(m) for m in mutations]})
        return [wire.decode_result(r) for r in data["results"]]

    def expire_leases(self) -> int:
        return int(self._send("POST", "/v1/leases/expire", json={})["expired"])

    def current_version(self) -> int:
        return int(self._send("GET", "/v1/changes/version")["version"])

    def read_changes(self, after: int, upto: int) -> ChangeBatch:
        data = self._send("GET", "/v1/changes", params={"after": after, "upto": upto},
                          timeout=PULL_TIMEOUT)
        return wire.decode_batch(data)

    def _lease(self, path: str, body: dict[str, Any]) -> Lease | None:
        return wire.decode_lease(self._send("POST", path, json=body)["lease"])

    def lease_next(self, duration: timedelta) -> Lease | None:
        return self._lease("/v1/leases/next", {"duration_s": duration.total_seconds()})

    def lease_case(self, case_id: uuid.UUID, duration: timedelta) -> Lease:
        lease = self._lease("/v1/leases/case", {"case_id": str(case_id),
                                                "duration_s": duration.total_seconds()})
        assert lease is not None
        return lease

    def renew(self, lease: Lease, duration: timedelta) -> Lease:
        renewed = self._lease("/v1/leases/renew", {"lease": wire.encode_lease(lease),
                                                   "duration_s": duration.total_seconds()})
        assert renewed is not None
        return renewed

    def release(self, lease: Lease, reason: str) -> None:
        self._send("POST", "/v1/leases/release",
                   json={"lease": wire.encode_lease(lease), "reason": reason})

    def reassign(self, case_id: uuid.UUID, to_reviewer_id: uuid.UUID | None, reason: str,
                 duration: timedelta) -> Lease | None:
        return self._lease("/v1/leases/reassign", {
            "case_id": str(case_id),
            "to_reviewer_id": str(to_reviewer_id) if to_reviewer_id else None,
            "reason": reason, "duration_s": duration.total_seconds()})

    def estimate_kit(self, queue_id: uuid.UUID, count: int) -> KitEstimate:
        return wire.decode_estimate(self._send("POST", "/v1/kits/estimate", json={
            "queue_id": str(queue_id), "count": count}))

    def lease_kit(self, queue_id: uuid.UUID, count: int, duration: timedelta,
                  progress: Progress | None = None) -> KitReport:
        report = wire.decode_kit(self._send("POST", "/v1/kits/lease", json={
            "queue_id": str(queue_id), "count": count,
            "duration_s": duration.total_seconds()}, timeout=PULL_TIMEOUT))
        if progress is not None:
            progress(report.leased, max(count, report.leased))
        return report

    def draw_sample(self, since: datetime, rate: float, seed: int) -> DrawnSample:
        data = self._send("POST", "/v1/qa/samples", json={
            "since": since.isoformat(), "rate": rate, "seed": seed})
        return DrawnSample(int(data["stored"]), int(data["population"]), int(data["seed"]),
                           int(data["already_sampled"]), int(data["own_decisions"]))

    def team_wellness(self, day: date) -> TeamWellness | None:
        data = self._send("GET", "/v1/wellness/team", params={"day": day.isoformat()})
        if data is None:
            return None
        return TeamWellness(date.fromisoformat(data["day"]), int(data["reviewers_counted"]),
                            bool(data["suppressed"]), data.get("over_budget_count"),
                            data.get("warning_count"), data.get("median_exposure_s"),
                            data.get("median_graphic_queue_s"))

    def dispose(self) -> None:
        self._http.close()


class _Revoked(BackendError):
    def __init__(self, at: str | None, message: str) -> None:
        super().__init__(message)
        self.at = datetime.fromisoformat(at) if at else None
