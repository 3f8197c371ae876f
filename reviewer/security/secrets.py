"""Secrets live in the operating system's keyring and nowhere else.

`KeyringSecretStore` is the `reviewer.secret_store.SecretStore` the entry points create and
pass down. Two kinds of secret are kept: a reviewer's backend password (only when they tick
"remember"; the functions below) and the random key of each data directory's encrypted
files (`reviewer.store.keys`). Nothing here writes a file: when no real keyring backend is
available (a headless machine with no Secret Service, say), every call raises
`KeyringUnavailable` and the caller asks the person instead.
"""

from __future__ import annotations

import keyring
import keyring.backend
import keyring.errors

from reviewer.secret_store import SecretStore, SecretStoreUnavailable

SERVICE = "ReviewerWorkstation"
"""The service name every entry is filed under (what a keyring manager shows)."""

_NOT_A_KEYRING = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")
"""Backends that are not a real keyring: the 'no backend' placeholders, and keyrings.alt's
plain or weakly encrypted files, which would be exactly the file fallback we refuse."""


class KeyringUnavailable(SecretStoreUnavailable):
    """No usable OS keyring; the message says so in plain words."""


def _backends(backend: keyring.backend.KeyringBackend) -> list[keyring.backend.KeyringBackend]:
    inner = getattr(backend, "backends", None)  # the ChainerBackend holds the real ones
    return list(inner) if inner is not None else [backend]


def _is_real(backend: keyring.backend.KeyringBackend) -> bool:
    return not type(backend).__module__.startswith(_NOT_A_KEYRING)


class KeyringSecretStore:
    """The OS keyring (GNOME Keyring or KWallet through Secret Service, macOS Keychain,
    Windows Credential Manager), entries filed under ``service``.

    The backend is looked up on every call, so a keyring that is started, unlocked or
    taken away while the app runs is seen as it is now.
    """

    def __init__(self, service: str = SERVICE) -> None:
        self.service = service

    def _keyring(self) -> keyring.backend.KeyringBackend:
        backend = keyring.get_keyring()
        if not any(_is_real(b) for b in _backends(backend)):
            raise KeyringUnavailable(
                "no system keyring is available on this computer (for example GNOME Keyring, "
                "KWallet, macOS Keychain or Windows Credential Manager), so secrets cannot be "
                "remembered"
            )
        return backend

    @property
    def name(self) -> str | None:
        """The keyring in use, for the UI ('SecretService Keyring'), or None if there is none."""
        try:
            backend = self._keyring()
        except KeyringUnavailable:
            return None
        real = [b for b in _backends(backend) if _is_real(b)]
        return str(getattr(real[0], "name", type(real[0]).__name__))

    @property
    def available(self) -> bool:
        return self.name is not None

    def get(self, entry: str) -> str | None:
        try:
            return self._keyring().get_password(self.service, entry)
        except keyring.errors.KeyringError as error:
            raise KeyringUnavailable(f"the system keyring refused to answer: {error}") \
                from error

    def set(self, entry: str, value: str) -> None:
        try:
            self._keyring().set_password(self.service, entry, value)
        except keyring.errors.KeyringError as error:
            raise KeyringUnavailable(f"the system keyring refused to store a secret: {error}") \
                from error

    def delete(self, entry: str) -> None:
        try:
            self._keyring().delete_password(self.service, entry)
        except keyring.errors.PasswordDeleteError:
            pass  # nothing was stored: forgetting is already done
        except keyring.errors.KeyringError as error:
            raise KeyringUnavailable(f"the system keyring refused to delete a secret: {error}") \
                from error


def _password_entry(backend: str, username: str) -> str:
    return f"password:{username}@{backend}"


def load_password(store: SecretStore, backend: str, username: str) -> str | None:
    """The remembered password of ``username`` on ``backend`` (an address without any
    password in it), or None if none is remembered."""
    return store.get(_password_entry(backend, username))


def save_password(store: SecretStore, backend: str, username: str, password: str) -> None:
    store.set(_password_entry(backend, username), password)


def forget_password(store: SecretStore, backend: str, username: str) -> None:
    store.delete(_password_entry(backend, username))
