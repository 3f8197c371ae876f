"""A private, unlocked GNOME Keyring for the test run, so the real Secret Service is used.

`start` launches a session D-Bus of its own and ``gnome-keyring-daemon`` (secrets
component only) on it, with XDG_DATA_HOME (where keyrings are kept) and XDG_RUNTIME_DIR
inside a temporary directory, so the person's own keyring is never touched. It sets the
environment variables (which test subprocesses inherit) and returns a handle whose `stop`
ends both processes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

KEYRING_PASSWORD = b"test-keyring-password"
"""Unlocks the throwaway login keyring (it exists only for the test run)."""

_ENVIRONMENT = ("DBUS_SESSION_BUS_ADDRESS", "XDG_DATA_HOME", "XDG_RUNTIME_DIR",
                "GNOME_KEYRING_CONTROL", "PYTHON_KEYRING_BACKEND")


class KeyringDaemonError(RuntimeError):
    pass


@dataclass
class KeyringDaemon:
    root: Path
    bus: subprocess.Popen[bytes]
    daemon: subprocess.Popen[bytes]
    saved: dict[str, str | None] = field(default_factory=dict)

    def stop(self) -> None:
        if self.daemon.poll() is not None:  # it died during the run: say why, if it said
            log = self.root / "gnome-keyring.log"
            text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            sys.stderr.write(f"\nthe test keyring daemon exited early "
                             f"({self.daemon.returncode}): {text}\n")
        for process in (self.daemon, self.bus):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self.bus.stdout is not None:
            self.bus.stdout.close()
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(self.root, ignore_errors=True)


def available() -> bool:
    return bool(shutil.which("dbus-daemon") and shutil.which("gnome-keyring-daemon"))


def start(root: Path, *, timeout: float = 30.0) -> KeyringDaemon:
    """Start the bus and the keyring daemon; the environment points at them on return."""
    if not available():
        raise KeyringDaemonError(
            "dbus-daemon and gnome-keyring-daemon are needed for the tests "
            "(apt-get install dbus-daemon gnome-keyring)")
    saved = {name: os.environ.get(name) for name in _ENVIRONMENT}
    directories = {name: root / name.lower() for name in
                   ("XDG_DATA_HOME", "XDG_RUNTIME_DIR")}
    for path in directories.values():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ.update({name: str(path) for name, path in directories.items()})
    os.environ.pop("GNOME_KEYRING_CONTROL", None)
    os.environ.pop("PYTHON_KEYRING_BACKEND", None)
    bus = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1",
         f"--address=unix:path={directories['XDG_RUNTIME_DIR'] / 'bus'}"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert bus.stdout is not None
    address = bus.stdout.readline().decode().strip()
    if not address:
        bus.kill()
        raise KeyringDaemonError("the private D-Bus session bus did not start")
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = address
    with open(root / "gnome-keyring.log", "ab") as daemon_log:  # why it stopped, if it does
        daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE, stdout=daemon_log, stderr=subprocess.STDOUT)
    assert daemon.stdin is not None
    daemon.stdin.write(KEYRING_PASSWORD)
    daemon.stdin.close()
    handle = KeyringDaemon(root, bus, daemon, saved)
    try:
        _wait_until_ready(daemon, timeout)
    except BaseException:
        handle.stop()
        raise
    return handle


def _wait_until_ready(daemon: subprocess.Popen[bytes], timeout: float) -> None:
    """Until the Secret Service answers on the bus with an unlocked default collection."""
    import secretstorage  # the library keyring's SecretService backend uses

    deadline = time.monotonic() + timeout
    error: Exception | None = None
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise KeyringDaemonError(f"gnome-keyring-daemon exited with {daemon.returncode}")
        try:
            connection = secretstorage.dbus_init()
            try:
                # Not get_default_collection: asked before the daemon has made the login
                # keyring from the password, it would create one through a prompt that
                # nobody answers ("Prompt dismissed") and the run would never start.
                collection = secretstorage.Collection(connection)
                if not collection.is_locked():
                    return
            finally:
                connection.close()
        except Exception as exc:  # not on the bus yet, or no login keyring yet
            error = exc
        time.sleep(0.1)
    raise KeyringDaemonError(f"the test keyring did not come up: {error}")


@contextmanager
def keyring_for_benchmarks() -> Iterator[None]:
    """The benchmarks open encrypted replicas as the app does, with keys in the keyring: on
    a machine without one (a headless server), a private daemon for the run, as in the
    tests; with one, the session's own keyring."""
    # Asked in a child: `keyring` picks its backend once per process, and this process
    # must pick the private one if it comes to that.
    probe = subprocess.run(
        [sys.executable, "-c",
         "from reviewer.security.secrets import KeyringSecretStore; "
         "print(KeyringSecretStore().available)"],
        capture_output=True, text=True, check=False)
    if probe.stdout.strip() == "True":
        yield
        return
    handle = start(Path(tempfile.mkdtemp(prefix="reviewer-bench-keyring-")))
    print("no keyring in this session: using a private GNOME Keyring for the run")
    try:
        yield
    finally:
        handle.stop()
