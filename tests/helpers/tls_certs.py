"""Test certificates made with the openssl command: a throwaway CA and servers it signs."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def need_openssl() -> None:
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make the test certificates")


@dataclass(frozen=True)
class ServerCertificate:
    cert: Path
    key: Path


def make_ca(directory: Path, name: str = "Reviewer Test CA") -> Path:
    """A self-signed CA in ``directory`` (ca.crt, ca.key); returns ca.crt."""
    need_openssl()
    directory.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key",
            "-out", "ca.crt", "-days", "2", "-subj", f"/CN={name}", cwd=directory)
    return directory / "ca.crt"


def make_server_certificate(ca: Path, directory: Path, stem: str, *, common_name: str,
                            alt_names: list[str]) -> ServerCertificate:
    """A server certificate signed by ``ca`` (made by `make_ca`) for ``alt_names``
    (``DNS:host`` or ``IP:127.0.0.1``), as ``directory/stem.crt`` and ``stem.key``."""
    need_openssl()
    directory.mkdir(parents=True, exist_ok=True)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{stem}.key",
            "-out", f"{stem}.csr", "-subj", f"/CN={common_name}", cwd=directory)
    (directory / f"{stem}.ext").write_text(f"subjectAltName={','.join(alt_names)}\n")
    openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", str(ca),
            "-CAkey", str(ca.with_suffix(".key")), "-CAcreateserial",
            "-out", f"{stem}.crt", "-days", "2", "-extfile", f"{stem}.ext", cwd=directory)
    return ServerCertificate(directory / f"{stem}.crt", directory / f"{stem}.key")
