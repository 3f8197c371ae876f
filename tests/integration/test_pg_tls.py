"""TLS with real servers and a throwaway CA made with the openssl command.

Workstations reach the backend only through the backend service: a `reviewer-server` with
its own certificate is signed in to and synced with over https when the workstation has the
CA (``REVIEWER_CA_BUNDLE``), and refused, in plain words about the certificate, when the CA
is unknown or the certificate names another computer.

Admin tools (``reviewer-admin``, the service itself) still connect to PostgreSQL directly:
there the default, ``sslmode=verify-full``, connects when it has the CA and the name
matches, and refuses a server whose certificate is for another name.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from reviewer.store.database import BackendError, BackendUnavailable, Database, InsecureBackend
from reviewer.sync.service_client import ServiceLink
from reviewer.workstation import Workstation
from tests.helpers import postgres
from tests.helpers.pg_workstations import (
    LOGIN_PASSWORD,
    create_login,
    decide,
    drop_logins,
    seed_backend,
)
from tests.helpers.postgres import PASSWORD_ROLE_PASSWORD, ThrowawayServer
from tests.helpers.service import running_service
from tests.helpers.tls_certs import ServerCertificate, make_ca, make_server_certificate

HOST = "db.reviewer.test"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _certificates(directory: Path) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
             "-out", "ca.crt", "-days", "2", "-subj", "/CN=Reviewer Test CA", cwd=directory)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
             "-out", "server.csr", "-subj", f"/CN={HOST}", cwd=directory)
    (directory / "san.ext").write_text(f"subjectAltName=DNS:{HOST}\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext",
             cwd=directory)


_BINARY_DIRS = postgres.binary_dirs


def _tls_capable_first() -> list[Path]:
    """Server binaries built with OpenSSL first (their pg_config says --with-openssl)."""
    def has_tls(directory: Path) -> bool:
        pg_config = directory / "pg_config"
        if not pg_config.exists():
            return "/usr/lib/postgresql/" in str(directory)  # Debian's are built with it
        result = subprocess.run([str(pg_config), "--configure"], capture_output=True,
                                text=True, timeout=30)
        return "--with-openssl" in result.stdout or "--with-ssl=openssl" in result.stdout

    directories = _BINARY_DIRS()
    return sorted(directories, key=lambda d: not has_tls(d))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make the test certificates")
    if os.environ.get("REVIEWER_TEST_PG_URL"):
        pytest.skip("needs a throwaway server the tests configure (REVIEWER_TEST_PG_URL set)")
    with pytest.MonkeyPatch.context() as patch:  # a build with TLS (pgserver's has none)
        patch.setattr(postgres, "binary_dirs", _tls_capable_first)
        server = ThrowawayServer()
    try:
        server.create_password_role("tls_reviewer")
        server.stop()
        certs = server.data
        _certificates(certs)
        port = _free_port()
        with open(server.data / "postgresql.conf", "a") as conf:
            conf.write(f"ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
                       f"listen_addresses = '127.0.0.1'\nport = {port}\n")
        with open(server.data / "pg_hba.conf", "a") as hba:
            hba.write("hostssl all all 127.0.0.1/32 scram-sha-256\n")
        if server._user is not None:  # the server's user must own its key
            for name in ("server.key", "server.crt"):
                os.chown(certs / name, server._user.pw_uid, server._user.pw_gid)
        os.chmod(certs / "server.key", 0o600)
        ca = tmp_path_factory.mktemp("ca") / "ca.crt"
        shutil.copy(certs / "ca.crt", ca)
        server.admin_url = server.admin_url.update_query_dict({"port": str(port)})
        server.start()
        yield port, ca
    finally:
        server.close()


def _url(port: int, *, host: str, **query: str) -> URL:
    return URL.create("postgresql+psycopg", username="tls_reviewer",
                      password=PASSWORD_ROLE_PASSWORD, host=host, port=port,
                      database="postgres", query={"hostaddr": "127.0.0.1", **query})


def _connects(url: URL, **options: bool) -> bool:
    database = Database.open(url, migrate=False, **options)
    try:
        with database.talking(), database.engine.connect() as connection:
            return connection.execute(text("SELECT ssl FROM pg_stat_ssl "
                                            "WHERE pid = pg_backend_pid()")).scalar_one()
    finally:
        database.dispose()


def test_verify_full_connects_with_the_ca_and_the_right_name(tls_server):
    port, ca = tls_server
    url = _url(port, host=HOST, sslrootcert=str(ca))
    database = Database.open(url, migrate=False)
    assert database.engine.url.query["sslmode"] == "verify-full"
    database.dispose()
    assert _connects(url) is True


def test_verify_full_refuses_a_certificate_for_another_name(tls_server):
    port, ca = tls_server
    with pytest.raises(BackendError, match=r"cannot be reached|refused") as caught:
        _connects(_url(port, host="wrong.reviewer.test", sslrootcert=str(ca)))
    assert "wrong.reviewer.test" in str(caught.value.__cause__)


def test_verify_full_refuses_a_server_signed_by_an_unknown_ca(tls_server, tmp_path):
    port, _ca = tls_server
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key",
             "-out", "other.crt", "-days", "2", "-subj", "/CN=Someone Else", cwd=tmp_path)
    with pytest.raises(BackendError):
        _connects(_url(port, host=HOST, sslrootcert=str(tmp_path / "other.crt")))


def test_unverified_tls_needs_the_setting(tls_server):
    port, _ca = tls_server
    url = _url(port, host=HOST, sslmode="require")
    with pytest.raises(InsecureBackend):
        Database.open(url, migrate=False)
    assert _connects(url, allow_unverified_tls=True) is True


# -- the workstation's path: the backend service over https ---------------------------------


@pytest.fixture(scope="module")
def service_ca(tmp_path_factory) -> Path:
    return make_ca(tmp_path_factory.mktemp("service-ca"))


@pytest.fixture(scope="module")
def service_certificate(service_ca, tmp_path_factory) -> ServerCertificate:
    """The service's own certificate, for this computer's names (as --tls-cert takes it)."""
    return make_server_certificate(service_ca, tmp_path_factory.mktemp("service-cert"),
                                   "service", common_name="localhost",
                                   alt_names=["DNS:localhost", "IP:127.0.0.1"])


@pytest.fixture
def team(pg_url, postgres_server, clock):
    """A seeded team backend and a person's login on it."""
    seed_backend(pg_url, clock, cases=12)
    name = f"tina_{uuid.uuid4().hex[:8]}"  # login roles belong to the whole server
    create_login(pg_url, name, role="reviewer", teams=["integrity"])
    yield name
    drop_logins(postgres_server.admin_url, [name])


@pytest.fixture
def no_system_ca(monkeypatch):
    """Only the CA a test names is trusted (no SSL_CERT_FILE or SSL_CERT_DIR of the run)."""
    for name in ("REVIEWER_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_workstation_signs_in_and_syncs_over_https_with_the_services_ca(
        pg_url, clock, team, service_ca, service_certificate, no_system_ca, tmp_path):
    no_system_ca.setenv("REVIEWER_CA_BUNDLE", str(service_ca))
    with running_service(pg_url, ssl_certfile=service_certificate.cert,
                         ssl_keyfile=service_certificate.key) as base:
        assert base.startswith("https://127.0.0.1:")
        workstation = Workstation.open(tmp_path / "ws", backend_url=base, username=team,
                                       password=LOGIN_PASSWORD, clock=clock)
        try:
            assert isinstance(workstation.link, ServiceLink)
            first = workstation.synchronise()
            assert first.pulled_rows > 0 and workstation.queues()
            lease = workstation.get_next_case()
            assert lease is not None
            decide(workstation, lease.case_id)
            assert workstation.synchronise().pushed == 1
        finally:
            workstation.close()
        # The same over the name "localhost": the certificate names it too.
        link = ServiceLink(base.replace("127.0.0.1", "localhost"), username=team,
                           password=LOGIN_PASSWORD, client_id="tls-test-localhost")
        try:
            link.sign_in()
            assert link.role == "reviewer"
        finally:
            link.sign_out()
            link.dispose()


def test_a_service_signed_by_an_unknown_ca_is_refused_with_a_plain_reason(
        pg_url, clock, team, service_certificate, no_system_ca, tmp_path):
    other_ca = make_ca(tmp_path / "other-ca", "Someone Else")
    with running_service(pg_url, ssl_certfile=service_certificate.cert,
                         ssl_keyfile=service_certificate.key) as base:
        for trusted in (None, other_ca):  # the system's authorities; another CA
            if trusted is None:
                no_system_ca.delenv("REVIEWER_CA_BUNDLE", raising=False)
            else:
                no_system_ca.setenv("REVIEWER_CA_BUNDLE", str(trusted))
            link = ServiceLink(base, username=team, password=LOGIN_PASSWORD,
                               client_id="tls-test-unknown-ca")
            try:
                with pytest.raises(BackendUnavailable) as caught:
                    link.sign_in()
            finally:
                link.dispose()
            message = str(caught.value)
            assert "the service's certificate could not be verified" in message
            assert "unable to get local issuer certificate" in message \
                or "self-signed certificate" in message, message
            assert base in message and "_ssl.c" not in message
            assert LOGIN_PASSWORD not in message
        # A workstation keeps working offline and says why in its sync status.
        workstation = Workstation.open(tmp_path / "ws", backend_url=base, username=team,
                                       password=LOGIN_PASSWORD, clock=clock)
        try:
            with pytest.raises(BackendUnavailable, match="certificate could not be verified"):
                workstation.synchronise()
            assert "certificate could not be verified" in workstation.sync.status().last_error
        finally:
            workstation.close()


def test_a_service_certificate_for_another_name_is_refused(
        pg_url, team, service_ca, no_system_ca, tmp_path):
    elsewhere = make_server_certificate(service_ca, tmp_path, "elsewhere",
                                        common_name="reviews.example.org",
                                        alt_names=["DNS:reviews.example.org"])
    no_system_ca.setenv("REVIEWER_CA_BUNDLE", str(service_ca))
    with running_service(pg_url, ssl_certfile=elsewhere.cert,
                         ssl_keyfile=elsewhere.key) as base:
        link = ServiceLink(base, username=team, password=LOGIN_PASSWORD,
                           client_id="tls-test-other-name")
        try:
            with pytest.raises(BackendUnavailable,
                               match=r"certificate could not be verified.*mismatch"):
                link.sign_in()
        finally:
            link.dispose()
