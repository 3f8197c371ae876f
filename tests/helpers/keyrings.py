"""A computer with no OS keyring at all, for tests: keyring's own 'fail' backend in place of
the test run's private GNOME Keyring (tests/helpers/keyring_daemon.py), put back afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import keyring
import keyring.backends.fail


@contextmanager
def without_keyring() -> Iterator[None]:
    """While inside, every keyring call fails as it does where there is no keyring."""
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)
