"""The media viewer's per-user settings, each declared once with its type, default and range.

They are stored with `QSettings` under `viewer/`; a missing, unreadable or out-of-range value
falls back to its default (or the nearest allowed value), so a hand-edited settings file can
never turn the blur off or make a reveal last forever.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

from PySide6.QtCore import QSettings

from reviewer.media.render import (
    BLUR_PRESETS,
    MAX_BLUR_FRACTION,
    MIN_BLUR_FRACTION,
    RenditionSettings,
    settings_for_area,
)
from reviewer.media.reveal import DEFAULT_LENS_RADIUS_FRACTION, DEFAULT_REVEAL_TIMEOUT_S

GROUP = "viewer"


def _setting(default: Any, description: str, minimum: float | None = None,
             maximum: float | None = None) -> Any:
    return field(default=default, metadata={
        "description": description, "minimum": minimum, "maximum": maximum,
    })


@dataclass(frozen=True)
class ViewerSettings:
    """How the viewer shows media to this reviewer."""

    blur_fraction: float = _setting(
        BLUR_PRESETS["standard"],
        "Blur strength: the Gaussian sigma as a share of the shorter displayed side, for "
        "policy areas with the standard preset (strong areas blur harder, none not at all).",
        MIN_BLUR_FRACTION, MAX_BLUR_FRACTION,
    )
    grayscale: bool = _setting(True, "Show media in greyscale, blurred and revealed.")
    reveal_timeout_s: float = _setting(
        DEFAULT_REVEAL_TIMEOUT_S, "Seconds a reveal lasts before the media is blurred again.",
        1.0, 60.0,
    )
    lens_radius_fraction: float = _setting(
        DEFAULT_LENS_RADIUS_FRACTION,
        "Radius of the reveal lens as a share of the shorter side of the visible picture.",
        0.05, 0.25,
    )

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            low, high = spec.metadata["minimum"], spec.metadata["maximum"]
            if low is not None and not (math.isfinite(value) and low <= value <= high):
                raise ValueError(f"{spec.name} must be between {low} and {high}, not {value!r}")

    def rendition_for(self, blur_preset: str) -> RenditionSettings:
        """The renditions for an item of a policy area with `blur_preset`."""
        return settings_for_area(blur_preset, self.blur_fraction, self.grayscale)

    @classmethod
    def load(cls, store: QSettings) -> ViewerSettings:
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = store.value(f"{GROUP}/{spec.name}")
            if raw is not None:
                value = _parse(raw, spec.type, spec.default)
                low, high = spec.metadata["minimum"], spec.metadata["maximum"]
                if low is not None:
                    value = min(max(value, low), high)
                values[spec.name] = value
        return cls(**values)

    def save(self, store: QSettings) -> None:
        for spec in fields(self):
            store.setValue(f"{GROUP}/{spec.name}", getattr(self, spec.name))
        store.sync()

    def with_changes(self, **changes: Any) -> ViewerSettings:
        return replace(self, **changes)


def describe_settings() -> list[tuple[str, str, Any, str]]:
    """(key, type, default, description) of every viewer setting, for docs and a settings UI."""
    return [(f"{GROUP}/{spec.name}", str(spec.type), spec.default,
             spec.metadata["description"]) for spec in fields(ViewerSettings)]


def _parse(raw: Any, kind: Any, default: Any) -> Any:
    """A stored value as `kind`; INI files give back strings, other formats typed values."""
    if kind in (bool, "bool"):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default
