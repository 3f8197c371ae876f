"""The TLS policy for a team backend: a remote server's certificate is verified unless an
admin explicitly allows otherwise, and then the window warns."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from reviewer.settings import CoreSettings
from reviewer.store import InsecureBackend, make_engine, tls_policy, tls_warning
from reviewer.workstation import Workstation


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
