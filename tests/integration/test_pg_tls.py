"""A real PostgreSQL server with TLS (a self-signed CA made with the openssl command): the
app's default, ``sslmode=verify-full``, connects when it has the CA and the name matches,
and refuses a server whose certificate is for another name."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from reviewer.store import BackendError, Database, InsecureBackend
from tests.helpers import postgres
from tests.helpers.postgres import PASSWORD_ROLE_PASSWORD, ThrowawayServer

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
