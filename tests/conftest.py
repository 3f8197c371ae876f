"""Shared fixtures: real SQLite databases in temporary directories, an injected clock, and
a secret store in memory for the tests that need one but are not about the keyring."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reviewer.secret_store import MemorySecretStore

# Offscreen, on a screen the size of an ordinary desktop monitor (the plugin's default is
# 800 x 600, smaller than the window's minimum size).
_SCREEN = Path(__file__).resolve().parent / "helpers" / "offscreen-screen.json"
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_SCREEN}"


_KEYRING = None


def pytest_configure(config):  # type: ignore[no-untyped-def]
    """A private unlocked GNOME Keyring for the whole run, started before anything uses
    `keyring` (so its Secret Service backend is chosen), ended with the run."""
    global _KEYRING
    if os.environ.get("REVIEWER_TEST_KEYRING") == "none" or _KEYRING is not None:
        return  # REVIEWER_TEST_KEYRING=none: the session's own keyring is used (README)
    import tempfile

    from tests.helpers import keyring_daemon

    _KEYRING = keyring_daemon.start(Path(tempfile.mkdtemp(prefix="reviewer-keyring-")))


def pytest_unconfigure(config):  # type: ignore[no-untyped-def]
    global _KEYRING
    if _KEYRING is not None:
        _KEYRING.stop()
        _KEYRING = None


@pytest.fixture
def secret_store() -> MemorySecretStore:
    """Where a test's data directories keep their keys, instead of the OS keyring."""
    return MemorySecretStore()


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    for item in items:
        path = Path(str(item.fspath))
        if "gui" in path.parts:
            item.add_marker(pytest.mark.gui)
        elif "end2end" in path.parts:
            item.add_marker(pytest.mark.end2end)
        elif "installer" in path.parts:
            item.add_marker(pytest.mark.installer)
        elif "integration" in path.parts:
            item.add_marker(pytest.mark.integration)
        elif "bench" in path.parts:
            item.add_marker(pytest.mark.bench)
        else:
            item.add_marker(pytest.mark.unit)
