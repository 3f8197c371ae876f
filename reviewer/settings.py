"""Every setting, declared once: its key, type, default, allowed range and what it is for.

All of them live in the data directory's ``settings.ini``, under their section, e.g.
``[priority] severity_weight = 12``. Some are handed out by a lead or an admin and read by
the core (`CoreSettings`); the others the app remembers for the reviewer (the viewer's
blur, the last backend, the window's layout) and the UI reads and writes them through one
Qt adapter, ``ui.widgets.settings_store``. Either way a value is read through its
declaration (`Setting.read`): a missing or unreadable value gives the default, and one out
of range the nearest allowed value, so a hand-edited file can never turn the blur off or
make a reveal last forever.

``python -m reviewer.settings --markdown > docs/settings.md`` writes the reference page.
"""

from __future__ import annotations

import argparse
import configparser
import logging
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

REGENERATE = "python -m reviewer.settings --markdown > docs/settings.md"


@dataclass(frozen=True)
class Setting:
    """One setting. ``remembered`` ones are written by the app, the others by hand."""

    key: str
    type: type
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    remembered: bool = False

    def __post_init__(self) -> None:
        if self.key.count("/") != 1 or not all(self.key.split("/")):
            raise ValueError(f"a setting's key is section/name, not {self.key!r}")
        if self.type not in _TYPE_NAMES:
            raise ValueError(f"{self.key}: a setting cannot be a {self.type.__name__}")
        if (self.minimum is not None or self.maximum is not None) \
                and self.type not in (int, float):
            raise ValueError(f"{self.key}: only numbers have a range")
        self.check(self.default)

    @property
    def section(self) -> str:
        return self.key.split("/")[0]

    @property
    def name(self) -> str:
        return self.key.split("/")[1]

    def check(self, value: Any) -> Any:
        """``value`` as this setting's type; ValueError if it is not one or is out of range."""
        try:
            converted = _convert(value, self.type)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{self.key}: {error}") from None
        if not self._in_range(converted):
            raise ValueError(f"{self.key} must be {_range_text(self)}, not {value!r}")
        return converted

    def read(self, raw: Any) -> Any:
        """A stored value made safe to use: None (not stored) or an unreadable value gives
        the default, one out of range the nearest allowed value. INI files give back text,
        other stores typed values; both are read alike."""
        if raw is None:
            return self.default
        try:
            value = _convert(raw, self.type)
        except (TypeError, ValueError):
            log.warning("setting %s = %r is not %s; using %r", self.key, raw,
                        _TYPE_NAMES[self.type], self.default)
            return self.default
        if self._in_range(value):
            return value
        nearest = self.type(min(max(value, self._low), self._high))
        log.warning("setting %s = %r is not %s; using %r", self.key, raw, _range_text(self),
                    nearest)
        return nearest

    @property
    def _low(self) -> float:
        return -math.inf if self.minimum is None else self.minimum

    @property
    def _high(self) -> float:
        return math.inf if self.maximum is None else self.maximum

    def _in_range(self, value: Any) -> bool:
        return self.type not in (int, float) or self._low <= value <= self._high


_TYPE_NAMES: dict[type, str] = {
    float: "a number", int: "a whole number", bool: "true or false", str: "text",
    bytes: "Qt state",
}
_DOC_TYPES: dict[type, str] = {
    float: "number", int: "whole number", bool: "true/false", str: "text", bytes: "Qt state",
}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _convert(raw: Any, kind: type) -> Any:
    """``raw`` as ``kind``, or ValueError. Text is parsed as an INI file writes it; a bool
    is no number here, and no number is infinite or NaN."""
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            return _boolean(raw)
    elif kind in (int, float):
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise ValueError(f"{raw!r} is not {_TYPE_NAMES[kind]}")
        if kind is int and isinstance(raw, float):
            if not raw.is_integer():
                raise ValueError(f"{raw!r} is not a whole number")
            return int(raw)
        value = kind(raw.strip() if isinstance(raw, str) else raw)
        if not math.isfinite(value):
            raise ValueError(f"{raw!r} is not a finite number")
        return value
    elif kind is str:
        if isinstance(raw, str):
            return raw
    elif kind is bytes and isinstance(raw, bytes | bytearray):
        return bytes(raw)
    raise ValueError(f"{raw!r} is not {_TYPE_NAMES[kind]}")


def _boolean(text: str) -> bool:
    """An INI truth value ('true'/'false', 'yes'/'no', 'on'/'off', '1'/'0')."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{text!r} is not true or false")


def _range_text(declared: Setting) -> str:
    low, high = declared.minimum, declared.maximum
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    if low is not None:
        return f"at least {low:g}"
    if high is not None:
        return f"at most {high:g}"
    return _TYPE_NAMES[declared.type]


# -- the declarations, in the order docs/settings.md lists them --------------------------

_DECLARED: list[Setting] = []


def _declare(*args: Any, **kwargs: Any) -> Setting:
    declared = Setting(*args, **kwargs)
    _DECLARED.append(declared)
    return declared


# Handed out by a lead or an admin (read by the core through `CoreSettings`):

PRIORITY_SEVERITY_WEIGHT = _declare(
    "priority/severity_weight", float, 10.0,
    "Priority points per severity level (severity is 1 to 5).")
PRIORITY_REACH_WEIGHT = _declare(
    "priority/reach_weight", float, 5.0,
    "Priority points per tenfold reach (10 views: 5, 1,000,000 views: 30).")
PRIORITY_HOUR_WEIGHT = _declare(
    "priority/hour_weight", float, 2.0,
    "Priority points lost per hour left before the SLA is breached (gained per hour once "
    "breached).")
PRIORITY_CHANNEL_REGULATOR = _declare(
    "priority/channel_regulator", float, 30.0, "Priority points for regulator cases.")
PRIORITY_CHANNEL_LEGAL_REQUEST = _declare(
    "priority/channel_legal_request", float, 30.0, "Priority points for legal requests.")
PRIORITY_CHANNEL_PRESS = _declare(
    "priority/channel_press", float, 25.0, "Priority points for press enquiries.")
PRIORITY_CHANNEL_PARTNER = _declare(
    "priority/channel_partner", float, 20.0, "Priority points for partner reports.")
PRIORITY_CHANNEL_VIP = _declare(
    "priority/channel_vip", float, 20.0, "Priority points for VIP reports.")
PRIORITY_CHANNEL_PROACTIVE_DETECTION = _declare(
    "priority/channel_proactive_detection", float, 5.0,
    "Priority points for proactive detection.")
PRIORITY_CHANNEL_USER_REPORT = _declare(
    "priority/channel_user_report", float, 0.0, "Priority points for user reports.")
LEASES_MINUTES = _declare(
    "leases/minutes", int, 15,
    "How long a lease lasts before it must be renewed (the backend grants at most a day).",
    1, 24 * 60)
ROUTING_ON_SHIFT_HOURS = _declare(
    "routing/on_shift_hours", float, 8.0,
    "Who counts as on shift for a lead's unserved languages: people who took a lease or "
    "recorded a decision within this many hours.", 0.5, 24.0)
SYNC_INTERVAL_SECONDS = _declare(
    "sync/interval_seconds", int, 60, "How often the app syncs in the background.", 1, 3600)
OFFLINE_KIT_HOURS = _declare(
    "offline/kit_hours", float, 72.0,
    "How long the cases of an offline kit stay leased (the backend grants at most a week).",
    1.0, 7 * 24.0)
WELLNESS_DAILY_BUDGET_MINUTES = _declare(
    "wellness/daily_budget_minutes", float, 10.0,
    "Daily exposure budget in unblurred-equivalent minutes (warning at 80%).", 1.0, 24 * 60.0)
WELLNESS_GRAPHIC_CAP_HOURS = _declare(
    "wellness/graphic_cap_hours", float, 4.0,
    "Time per day in graphic queues before the status bar warns.", 0.25, 24.0)
WELLNESS_BREAK_EVERY_MINUTES = _declare(
    "wellness/break_every_minutes", float, 60.0, "Review time between break reminders.",
    5.0, 8 * 60.0)
WELLNESS_BREAK_MINUTES = _declare(
    "wellness/break_minutes", float, 10.0, "Length of a break.", 1.0, 60.0)
WELLNESS_SNOOZE_MINUTES = _declare(
    "wellness/snooze_minutes", float, 10.0, "How long a break can be put off (once).",
    1.0, 60.0)
WELLNESS_IDLE_CURTAIN_SECONDS = _declare(
    "wellness/idle_curtain_seconds", float, 60.0,
    "Idle time after which every media area is covered.", 5.0, 600.0)
SECURITY_LOCK_MINUTES = _declare(
    "security/lock_minutes", float, 5.0,
    "Minutes without keyboard or mouse input before the window locks (0: 5 minutes; "
    "Ctrl+L locks at once); unlocking asks for the password.", 0.0, 60.0)
SECURITY_WIPE_AFTER_DAYS = _declare(
    "security/wipe_after_days", float, 14.0,
    "Days without a successful sync after which the local replica is wiped at start (0: "
    "never; a lost laptop reveals nothing, the cases are downloaded again).", 0.0)
SECURITY_ALLOW_UNVERIFIED_TLS = _declare(
    "security/allow_unverified_tls", bool, False,
    "Allow a backend service without TLS certificate verification (its https:// "
    "certificate unchecked, or plain http:// to another computer). Unsafe: the window "
    "shows a warning while it is on.")

# Remembered by the app for the reviewer (written by the UI through its Qt adapter). The
# viewer's ranges are the renderer's (`reviewer.media.render`, `reviewer.media.reveal`).

VIEWER_BLUR_FRACTION = _declare(
    "viewer/blur_fraction", float, 0.03,
    "Blur strength: the Gaussian sigma as a share of the shorter displayed side, for policy "
    "areas with the standard preset (strong areas blur harder, none not at all).",
    0.01, 0.06, remembered=True)
VIEWER_GRAYSCALE = _declare(
    "viewer/grayscale", bool, True, "Show media in greyscale, blurred and revealed.",
    remembered=True)
VIEWER_REVEAL_TIMEOUT_S = _declare(
    "viewer/reveal_timeout_s", float, 10.0,
    "Seconds a reveal lasts before the media is blurred again.", 1.0, 60.0, remembered=True)
VIEWER_LENS_RADIUS_FRACTION = _declare(
    "viewer/lens_radius_fraction", float, 0.12,
    "Radius of the reveal lens as a share of the shorter side of the visible picture.",
    0.05, 0.25, remembered=True)
WELLNESS_SHARE_WITH_LEAD = _declare(
    "wellness/share_with_lead", bool, False,
    "Share the day's totals (exposure, graphic-queue time, breaks taken) with your lead; "
    "check-ins and notes never leave the workstation.", remembered=True)
BACKEND_ADDRESS = _declare(
    "backend/address", str, "",
    "The backend service's address at the last sign-in, offered at the next start.",
    remembered=True)
BACKEND_USERNAME = _declare(
    "backend/username", str, "", "The user name at the last sign-in.", remembered=True)
BACKEND_REMEMBER_PASSWORD = _declare(
    "backend/remember_password", bool, True,
    "Whether \"Remember my password\" was ticked at the last sign-in (the password itself "
    "is kept only in the OS keyring).", remembered=True)
WINDOW_GEOMETRY = _declare(
    "window/geometry", bytes, b"", "The main window's size and position.", remembered=True)
WINDOW_SPLITTER = _declare(
    "window/splitter", bytes, b"", "The sizes of the main window's panes.", remembered=True)
QUEUE_HEADER = _declare(
    "queue/header", bytes, b"", "The queue table's column order and widths.",
    remembered=True)

SETTINGS: tuple[Setting, ...] = tuple(_DECLARED)

_BY_KEY = {setting.key: setting for setting in SETTINGS}


def declaration(key: str | Setting) -> Setting:
    """The declaration of ``key`` (``section/name``); KeyError if there is none."""
    if isinstance(key, Setting):
        return key
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"no setting {key!r} is declared in reviewer/settings.py") from None


class CoreSettings:
    """Typed read access to the settings a lead or an admin hands out (the ones not
    ``remembered`` by the app), from an INI file or the defaults."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self._values = {s.key: s.default for s in SETTINGS if not s.remembered}
        for key, value in (values or {}).items():
            self.set(key, value)

    @classmethod
    def load(cls, path: Path) -> CoreSettings:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError) as error:
            log.warning("settings file %s could not be read (%s); using defaults", path, error)
            return cls()
        settings = cls()
        for key in settings._values:
            declared = _BY_KEY[key]
            if parser.has_option(declared.section, declared.name):
                settings._values[key] = declared.read(
                    parser.get(declared.section, declared.name))
        return settings

    def set(self, key: str | Setting, value: Any) -> None:
        """Change a setting in memory; ValueError if ``value`` is not allowed."""
        declared = self._declared(key)
        self._values[declared.key] = declared.check(value)

    def get(self, key: str | Setting) -> Any:
        return self._values[self._declared(key).key]

    def _declared(self, key: str | Setting) -> Setting:
        declared = declaration(key)
        if declared.remembered:
            raise KeyError(f"{declared.key} is remembered by the app, not a core setting")
        return declared


# -- the reference page ------------------------------------------------------------------

def settings_markdown(settings: Sequence[Setting] = SETTINGS) -> str:
    """docs/settings.md: every setting by section, with its type, default and range."""
    lines = [
        "# Settings",
        "",
        "This page is generated from the declarations in `reviewer/settings.py`: after",
        "changing one, run",
        "",
        "```",
        REGENERATE,
        "```",
        "",
        "(a unit test fails while the page is not current).",
        "",
        "Every setting lives in `settings.ini` in the data directory (`--data-dir`, by",
        "default `~/.local/share/ReviewerWorkstation` on Linux), under its section, e.g.",
        "`[priority]` then `severity_weight = 12`. Those set by *a lead or admin* are edited by",
        "hand (or handed out as a file); those set by *the app* it remembers for you as you",
        "work. A missing or unreadable value gives the default and a value out of range the",
        "nearest allowed one, so a hand-edited file can never turn the blur off or make a",
        "reveal last forever. Passwords and keys are never settings: they are kept only in",
        "the OS keyring.",
    ]
    sections = list(dict.fromkeys(s.section for s in settings))
    for section in sections:
        lines += ["", f"## `[{section}]`", "",
                  "| Setting | Type | Default | Allowed | Set by | What it is for |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for declared in settings:
            if declared.section == section:
                description = declared.description.replace("|", "\\|")
                lines.append(
                    f"| `{declared.name}` | {_DOC_TYPES[declared.type]} "
                    f"| {_markdown_value(declared.default)} | {_markdown_range(declared)} "
                    f"| {'the app' if declared.remembered else 'a lead or admin'} "
                    f"| {description} |")
    return "\n".join(lines) + "\n"


def _markdown_value(value: Any) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float):
        return f"`{value:g}`"
    if isinstance(value, bytes | str) and not value:
        return "(none)"
    return f"`{value}`"


def _markdown_range(declared: Setting) -> str:
    low, high = declared.minimum, declared.maximum
    if low is not None and high is not None:
        return f"{low:g} to {high:g}"
    if low is not None or high is not None:
        return _range_text(declared)
    return "any" if declared.type in (int, float, str) else "—"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reviewer.settings",
        description="The declared settings; --markdown prints docs/settings.md.")
    parser.add_argument("--markdown", action="store_true",
                        help="print the reference page (docs/settings.md) as Markdown")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(settings_markdown())
        return 0
    for declared in SETTINGS:
        print(f"{declared.key} = {declared.default!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
