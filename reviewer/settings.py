"""Core settings, each declared once with its type, default and what it is for.

They live in the data directory's ``settings.ini`` (the same file the window keeps its
layout in), under their section, e.g. ``[priority] severity_weight = 12``. A value that
cannot be read as its type is reported and the default is used.
"""

from __future__ import annotations

import configparser
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Setting:
    key: str
    type: type
    default: Any
    description: str


SETTINGS: tuple[Setting, ...] = (
    Setting("priority/severity_weight", float, 10.0,
            "Priority points per severity level (severity is 1 to 5)."),
    Setting("priority/reach_weight", float, 5.0,
            "Priority points per tenfold reach (10 views: 5, 1,000,000 views: 30)."),
    Setting("priority/hour_weight", float, 2.0,
            "Priority points lost per hour left before the SLA is breached "
            "(gained per hour once breached)."),
    Setting("priority/channel_regulator", float, 30.0, "Priority points for regulator cases."),
    Setting("priority/channel_legal_request", float, 30.0,
            "Priority points for legal requests."),
    Setting("priority/channel_press", float, 25.0, "Priority points for press enquiries."),
    Setting("priority/channel_partner", float, 20.0, "Priority points for partner reports."),
    Setting("priority/channel_vip", float, 20.0, "Priority points for VIP reports."),
    Setting("priority/channel_proactive_detection", float, 5.0,
            "Priority points for proactive detection."),
    Setting("priority/channel_user_report", float, 0.0, "Priority points for user reports."),
    Setting("leases/minutes", int, 15, "How long a lease lasts before it must be renewed."),
    Setting("sync/interval_seconds", int, 60, "How often the app syncs in the background."),
    Setting("offline/kit_hours", float, 72.0,
            "How long the cases of an offline kit stay leased (set by a lead)."),
    Setting("wellness/daily_budget_minutes", float, 10.0,
            "Daily exposure budget in unblurred-equivalent minutes (warning at 80%)."),
    Setting("wellness/graphic_cap_hours", float, 4.0,
            "Time per day in graphic queues before the status bar warns."),
    Setting("wellness/break_every_minutes", float, 60.0,
            "Review time between break reminders."),
    Setting("wellness/break_minutes", float, 10.0, "Length of a break."),
    Setting("wellness/snooze_minutes", float, 10.0, "How long a break can be put off (once)."),
    Setting("wellness/idle_curtain_seconds", float, 60.0,
            "Idle time after which every media area is covered."),
    Setting("security/lock_minutes", float, 5.0,
            "Minutes without keyboard or mouse input before the window locks (Ctrl+L locks "
            "at once); unlocking asks for the password."),
    Setting("security/wipe_after_days", float, 14.0,
            "Days without a successful sync after which the local replica is wiped at start "
            "(a lost laptop reveals nothing; the cases are downloaded again)."),
    Setting("security/allow_unverified_tls", bool, False,
            "Allow a remote backend without TLS certificate verification (sslmode other "
            "than verify-full). Unsafe: the window shows a warning while it is on."),
)

_BY_KEY = {setting.key: setting for setting in SETTINGS}


class CoreSettings:
    """Typed read access to the declared settings, from an INI file or defaults."""

    def __init__(self, values: dict[str, Any] | None = None) -> None:
        self._values = {s.key: s.default for s in SETTINGS}
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
        for setting in SETTINGS:
            section, name = setting.key.split("/", 1)
            if parser.has_option(section, name):
                try:
                    settings.set(setting.key, parser.get(section, name))
                except ValueError:
                    log.warning("setting %s = %r is not a %s; using %r", setting.key,
                                parser.get(section, name), setting.type.__name__,
                                setting.default)
        return settings

    def set(self, key: str, value: Any) -> None:
        setting = _BY_KEY[key]
        if setting.type is bool and isinstance(value, str):
            self._values[key] = _boolean(value)
            return
        self._values[key] = setting.type(value)

    def get(self, key: str) -> Any:
        return self._values[key]


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _boolean(text: str) -> bool:
    """An INI truth value ('true'/'false', 'yes'/'no', 'on'/'off', '1'/'0')."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{text!r} is not true or false")
