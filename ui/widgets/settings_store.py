"""The UI's one way to the settings file: a declaration (`reviewer.settings`) to `QSettings`.

Reads go through the declaration, so a missing, unreadable or out-of-range value gives its
default or the nearest allowed value; writes are checked against it first. Qt state (a
window's geometry, a header's layout) is kept as Qt writes it (``@ByteArray(...)``), so
saved layouts load as before.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from reviewer.settings import Setting


def read_setting(store: QSettings, setting: Setting) -> Any:
    """The stored value of ``setting``, as its type and within its range."""
    raw = store.value(setting.key)
    if isinstance(raw, QByteArray):
        raw = raw.data()
    return setting.read(raw)


def write_setting(store: QSettings, setting: Setting, value: Any) -> None:
    """Keep ``value`` for ``setting``; ValueError if the declaration does not allow it.
    The store writes it to disk on its own schedule, or at ``store.sync()``."""
    checked = setting.check(value.data() if isinstance(value, QByteArray) else value)
    store.setValue(setting.key, QByteArray(checked) if setting.type is bytes else checked)
