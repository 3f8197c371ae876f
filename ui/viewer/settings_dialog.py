"""The media viewer's per-user settings as one value: blur, greyscale, reveal time, lens.

Each is declared in `reviewer.settings` (``viewer/...``: type, default, range) and stored
with `QSettings` through ``ui.widgets.settings_store``; a missing, unreadable or out-of-range
value falls back to its default (or the nearest allowed value), so a hand-edited settings
file can never turn the blur off or make a reveal last forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from PySide6.QtCore import QSettings

from reviewer.media.render import RenditionSettings, settings_for_area
from reviewer.settings import (
    VIEWER_BLUR_FRACTION,
    VIEWER_GRAYSCALE,
    VIEWER_LENS_RADIUS_FRACTION,
    VIEWER_REVEAL_TIMEOUT_S,
    Setting,
)
from ui.widgets.settings_store import read_setting, write_setting


def _declared(setting: Setting) -> Any:
    return field(default=setting.default, metadata={"setting": setting})


@dataclass(frozen=True)
class ViewerSettings:
    """How the viewer shows media to this reviewer."""

    blur_fraction: float = _declared(VIEWER_BLUR_FRACTION)
    grayscale: bool = _declared(VIEWER_GRAYSCALE)
    reveal_timeout_s: float = _declared(VIEWER_REVEAL_TIMEOUT_S)
    lens_radius_fraction: float = _declared(VIEWER_LENS_RADIUS_FRACTION)

    def __post_init__(self) -> None:
        for spec in fields(self):
            spec.metadata["setting"].check(getattr(self, spec.name))  # ValueError if not allowed

    def rendition_for(self, blur_preset: str) -> RenditionSettings:
        """The renditions for an item of a policy area with `blur_preset`."""
        return settings_for_area(blur_preset, self.blur_fraction, self.grayscale)

    @classmethod
    def load(cls, store: QSettings) -> ViewerSettings:
        return cls(**{spec.name: read_setting(store, spec.metadata["setting"])
                      for spec in fields(cls)})

    def save(self, store: QSettings) -> None:
        for spec in fields(self):
            write_setting(store, spec.metadata["setting"], getattr(self, spec.name))
        store.sync()

    def with_changes(self, **changes: Any) -> ViewerSettings:
        return replace(self, **changes)


def describe_settings() -> list[tuple[str, str, Any, str]]:
    """(key, type, default, description) of every viewer setting, for a settings UI."""
    return [(setting.key, setting.type.__name__, setting.default, setting.description)
            for setting in (spec.metadata["setting"] for spec in fields(ViewerSettings))]
