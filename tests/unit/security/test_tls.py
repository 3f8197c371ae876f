"""The TLS policy for a team backend.

Workstations: the backend service's address is https (its certificate verified), plain
http only on this computer unless an admin explicitly allows it, and a password is never
sent to an address that is refused. Admin tools connecting to PostgreSQL directly: a remote
server's certificate is verified (``sslmode=verify-full``) unless explicitly allowed
otherwise, and then with a warning."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.engine import make_url

from reviewer.settings import CoreSettings
from reviewer.store.database import (
    BackendError,
    BackendUnavailable,
    InsecureBackend,
    make_engine,
    tls_policy,
    tls_warning,
)
from reviewer.sync.service_client import InsecureAddress, ServiceLink, check_address
from reviewer.workstation import Workstation

PASSWORD = "canary-tls-Pa55word"


# -- the workstation: the backend service's address ------------------------------------


def _recording_transport(sent: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(401, json={"error": "unauthorized", "message": "no"})

    return httpx.MockTransport(answer)


@pytest.mark.parametrize("address", [
    "http://reviews.example.org", "http://reviews.example.org:8470/", "http://10.1.2.3:8470",
    "http://[2001:db8::5]:8470", "http://127.0.0.1.example.org"])
def test_plain_http_to_another_computer_is_refused_before_any_password_is_sent(address):
    with pytest.raises(InsecureAddress) as caught:
        check_address(address)
    assert "not encrypted" in str(caught.value) and "https://" in str(caught.value)
    assert "allow_unverified_tls" in str(caught.value)
    sent: list[httpx.Request] = []
    with pytest.raises(InsecureAddress):
        ServiceLink(address, username="amara", password=PASSWORD, client_id="c1",
                    transport=_recording_transport(sent))
    assert sent == []  # refused before a connection, let alone a password
    # Only the explicit setting accepts it (the sign-in window then warns).
    assert check_address(address, allow_unverified_tls=True) == address.rstrip("/")


@pytest.mark.parametrize("address", [
    "http://127.0.0.1:8470", "http://localhost:8470", "http://[::1]:8470",
    "https://reviews.example.org", "https://reviews.example.org:8443/"])
def test_https_and_plain_http_on_this_computer_are_accepted(address):
    assert check_address(address) == address.rstrip("/")


@pytest.mark.parametrize("address", ["postgresql://db.example.org/reviews",
                                     "reviews.example.org", "ftp://reviews.example.org"])
def test_anything_but_an_http_address_is_not_a_service_address(address):
    with pytest.raises(InsecureAddress, match="not a backend service address"):
        check_address(address)


def test_an_unverifiable_certificate_is_said_in_plain_words():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed "
            "certificate in certificate chain (_ssl.c:1000)", request=request)

    link = ServiceLink("https://reviews.example.org", username="amara", password=PASSWORD,
                       client_id="c1", transport=httpx.MockTransport(refuse))
    with pytest.raises(BackendUnavailable) as caught:
        link.sign_in()
    message = str(caught.value)
    assert "https://reviews.example.org" in message
    assert ("the service's certificate could not be verified (self-signed certificate in "
            "certificate chain)") in message
    assert "_ssl.c" not in message and "SSL:" not in message and PASSWORD not in message


def test_other_connection_failures_stay_cannot_be_reached():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    link = ServiceLink("https://reviews.example.org", username="amara", password=PASSWORD,
                       client_id="c1", transport=httpx.MockTransport(refuse))
    with pytest.raises(BackendUnavailable, match="cannot be reached") as caught:
        link.sign_in()
    assert "certificate" not in str(caught.value)


def test_a_ca_bundle_that_cannot_be_read_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_CA_BUNDLE", str(tmp_path / "missing-ca.crt"))
    with pytest.raises(BackendError, match=r"REVIEWER_CA_BUNDLE names .*missing-ca\.crt"):
        ServiceLink("https://reviews.example.org", username="amara", password=PASSWORD,
                    client_id="c1")


# -- admin tools: PostgreSQL directly ---------------------------------------------------


def _query(url):
    engine = make_engine(url)
    try:
        return dict(engine.url.query)
    finally:
        engine.dispose()


def test_a_remote_backend_verifies_the_certificate_by_default():
    query = _query("postgresql://amira@db.example.org/cases")
    assert query["sslmode"] == "verify-full"
    assert tls_warning("postgresql://amira@db.example.org/cases") is None


@pytest.mark.parametrize("url", [
    "postgresql://amira@localhost/cases",
    "postgresql://amira@127.0.0.1:5433/cases",
    "postgresql://amira@[::1]/cases",
    "postgresql://amira@/cases?host=/var/run/postgresql",
    "postgresql://amira@/cases",
])
def test_loopback_and_unix_sockets_are_left_alone(url):
    assert "sslmode" not in _query(url)
    assert tls_warning(url) is None


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer", "require", "verify-ca"])
def test_a_weaker_sslmode_is_refused_with_a_clear_message(mode):
    url = f"postgresql://amira@db.example.org/cases?sslmode={mode}"
    with pytest.raises(InsecureBackend) as caught:
        make_engine(url)
    message = str(caught.value)
    assert f"sslmode={mode}" in message and "verify-full" in message
    assert "allow_unverified_tls" in message
    assert "cases on db.example.org" in message


def test_a_remote_socket_host_in_the_query_counts_as_remote():
    with pytest.raises(InsecureBackend):
        make_engine("postgresql://amira@/cases?host=db.example.org&sslmode=require")


def test_an_unknown_sslmode_is_refused():
    with pytest.raises(InsecureBackend, match="unknown sslmode"):
        tls_policy(make_url("postgresql+psycopg://a@db.example.org/c?sslmode=maybe"))


def test_allowed_by_the_setting_it_connects_and_warns(tmp_path):
    url = "postgresql://amira:pw@db.example.org/cases?sslmode=require"
    assert _query_allowed(url)["sslmode"] == "require"
    warning = tls_warning(url)
    assert warning is not None and "does not verify" in warning and "sslmode=require" in warning
    assert "pw" not in warning.replace("password", "")

    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(InsecureBackend):
        Workstation.open(data, backend_url=url, password="pw")
    (data / "settings.ini").write_text("[security]\nallow_unverified_tls = true\n")
    workstation = Workstation.open(data, backend_url=url, password="pw")
    try:
        assert workstation.backend.engine.url.query["sslmode"] == "require"
    finally:
        workstation.close()


def _query_allowed(url):
    engine = make_engine(url, allow_unverified_tls=True)
    try:
        return dict(engine.url.query)
    finally:
        engine.dispose()


def test_the_setting_is_off_by_default_and_reads_ini_truth_values(tmp_path):
    assert CoreSettings().get("security/allow_unverified_tls") is False
    path = tmp_path / "settings.ini"
    for text, expected in (("false", False), ("no", False), ("true", True), ("1", True)):
        path.write_text(f"[security]\nallow_unverified_tls = {text}\n")
        assert CoreSettings.load(path).get("security/allow_unverified_tls") is expected
