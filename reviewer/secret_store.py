"""Injected secrets: the OS keyring in the app (`reviewer.security.secrets.KeyringSecretStore`),
a dictionary in unit tests.

A secret is a string filed under an entry name. Whoever needs one (the replica's keys, a
remembered password) is handed the store, the way it is handed the clock.
"""

from __future__ import annotations

from typing import Protocol


class SecretStoreUnavailable(RuntimeError):
    """There is nowhere to keep a secret (no OS keyring, or it refused); the message says
    so in plain words, and the caller asks the person instead."""


class SecretStore(Protocol):
    @property
    def name(self) -> str | None:
        """What the UI calls it ('SecretService Keyring'), or None when there is none."""
        ...

    @property
    def available(self) -> bool:
        """Whether secrets can be kept: a real keyring. When not, every call below raises
        `SecretStoreUnavailable`."""
        ...

    def get(self, entry: str) -> str | None:
        """The secret filed under ``entry``, or None if there is none."""
        ...

    def set(self, entry: str, value: str) -> None: ...

    def delete(self, entry: str) -> None:
        """Forget ``entry``; forgetting one that is not there is already done."""
        ...


class MemorySecretStore:
    """Secrets in a dictionary, for unit tests: nothing reaches the OS keyring, and they
    last as long as this object. With ``available`` false (which a test may flip) it acts
    as a computer with no keyring at all."""

    def __init__(self, *, available: bool = True, name: str = "Memory") -> None:
        self.entries: dict[str, str] = {}
        self.available = available
        self._name = name

    @property
    def name(self) -> str | None:
        return self._name if self.available else None

    def _check(self) -> None:
        if not self.available:
            raise SecretStoreUnavailable("no secret store is available, so secrets cannot be "
                                         "remembered")

    def get(self, entry: str) -> str | None:
        self._check()
        return self.entries.get(entry)

    def set(self, entry: str, value: str) -> None:
        self._check()
        self.entries[entry] = value

    def delete(self, entry: str) -> None:
        self._check()
        self.entries.pop(entry, None)
