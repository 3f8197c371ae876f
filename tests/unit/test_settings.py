"""Every setting declared once: types, defaults, ranges, safe reading, and docs/settings.md."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from reviewer import settings as declarations
from reviewer.media.render import BLUR_PRESETS, MAX_BLUR_FRACTION, MIN_BLUR_FRACTION
from reviewer.media.reveal import DEFAULT_LENS_RADIUS_FRACTION, DEFAULT_REVEAL_TIMEOUT_S
from reviewer.queue.case_queue import DEFAULT_CHANNEL_WEIGHTS, PriorityWeights
from reviewer.settings import (
    LEASES_MINUTES,
    REGENERATE,
    SECURITY_ALLOW_UNVERIFIED_TLS,
    SETTINGS,
    VIEWER_BLUR_FRACTION,
    VIEWER_GRAYSCALE,
    VIEWER_LENS_RADIUS_FRACTION,
    VIEWER_REVEAL_TIMEOUT_S,
    WINDOW_GEOMETRY,
    CoreSettings,
    Setting,
    declaration,
    settings_markdown,
)
from reviewer.vocabulary import Channel
from reviewer.wellness.exposure import WellnessPolicy
from reviewer.wellness.records import wellness_policy

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "settings.md"

# The keys the app has always stored: a reviewer's saved settings must keep loading.
REMEMBERED_KEYS = [
    "viewer/blur_fraction", "viewer/grayscale", "viewer/reveal_timeout_s",
    "viewer/lens_radius_fraction", "wellness/share_with_lead", "backend/address",
    "backend/username", "backend/remember_password", "window/geometry", "window/splitter",
    "queue/header",
]


# -- the declarations ----------------------------------------------------------------------

def test_each_setting_is_declared_once_with_a_type_default_and_one_line_of_description():
    keys = [s.key for s in SETTINGS]
    assert len(keys) == len(set(keys)) == 34
    for declared in SETTINGS:
        assert type(declared.default) is declared.type, declared.key
        assert declared.check(declared.default) == declared.default
        assert declared.description.endswith(".") and "\n" not in declared.description
        assert declaration(declared.key) is declared


def test_every_declaration_is_a_named_constant_in_the_list():
    constants = {name: value for name, value in vars(declarations).items()
                 if isinstance(value, Setting)}
    assert list(constants.values()) == list(SETTINGS)
    for name, declared in constants.items():
        assert name == declared.key.upper().replace("/", "_")


def test_the_app_keeps_the_keys_it_has_always_stored():
    assert [s.key for s in SETTINGS if s.remembered] == REMEMBERED_KEYS


def test_the_viewer_declarations_are_the_renderers_defaults_and_limits():
    assert VIEWER_BLUR_FRACTION.default == BLUR_PRESETS["standard"]
    assert (VIEWER_BLUR_FRACTION.minimum, VIEWER_BLUR_FRACTION.maximum) == (
        MIN_BLUR_FRACTION, MAX_BLUR_FRACTION)
    assert VIEWER_GRAYSCALE.default is True
    assert VIEWER_REVEAL_TIMEOUT_S.default == DEFAULT_REVEAL_TIMEOUT_S
    assert VIEWER_LENS_RADIUS_FRACTION.default == DEFAULT_LENS_RADIUS_FRACTION
    # A reveal always ends, and the blur can be weakened but never switched off.
    assert VIEWER_REVEAL_TIMEOUT_S.maximum == 60.0 and VIEWER_BLUR_FRACTION.minimum > 0


def test_the_priority_defaults_are_the_queues_own():
    weights = PriorityWeights.from_settings(CoreSettings())
    assert weights == PriorityWeights()
    assert set(weights.channels) == {channel.value for channel in Channel}
    assert dict(weights.channels) == DEFAULT_CHANNEL_WEIGHTS


def test_the_wellness_defaults_are_the_policy_defaults():
    assert wellness_policy(CoreSettings()) == WellnessPolicy()


@pytest.mark.parametrize("arguments", [
    ("nosection", float, 1.0, "No section."),
    ("a/b/c", float, 1.0, "Two sections."),
    ("a/b", list, [], "Not a type a settings file holds."),
    ("a/b", bool, False, "A range for a bool.", 0, 1),
    ("a/b", float, 5.0, "A default out of its own range.", 0.0, 1.0),
    ("a/b", int, 1.5, "A default of the wrong type."),
])
def test_a_declaration_that_cannot_be_kept_is_refused(arguments):
    with pytest.raises(ValueError):
        Setting(*arguments)


# -- reading a stored value ----------------------------------------------------------------

FRACTION = Setting("test/fraction", float, 0.5, "A share.", 0.1, 0.9)
COUNT = Setting("test/count", int, 15, "A whole number.", 1, 60)
FLAG = Setting("test/flag", bool, True, "A switch.")
NAME = Setting("test/name", str, "", "Some text.")
STATE = Setting("test/state", bytes, b"", "Qt state.")


@pytest.mark.parametrize(("setting", "raw", "expected"), [
    (FRACTION, None, 0.5),  # not stored
    (FRACTION, "0.25", 0.25),  # as an INI file gives it back
    (FRACTION, " 0.25 ", 0.25),
    (FRACTION, 0.25, 0.25),  # as a typed store gives it back
    (FRACTION, 1, 0.9),  # out of range: the nearest allowed value
    (FRACTION, "0", 0.1),
    (FRACTION, "-1e9", 0.1),
    (FRACTION, "abc", 0.5),  # unreadable: the default
    (FRACTION, "", 0.5),
    (FRACTION, "nan", 0.5),
    (FRACTION, "inf", 0.5),
    (FRACTION, True, 0.5),  # a bool is no number
    (FRACTION, ["0.2", "0.3"], 0.5),  # QSettings gives a list for "0.2, 0.3"
    (COUNT, "20", 20),
    (COUNT, 20.0, 20),
    (COUNT, "20.5", 15),
    (COUNT, 20.5, 15),
    (COUNT, "0", 1),
    (COUNT, "100000", 60),
    (FLAG, "false", False),
    (FLAG, "No", False),
    (FLAG, "off", False),
    (FLAG, "0", False),
    (FLAG, "yes", True),
    (FLAG, False, False),
    (FLAG, "maybe", True),
    (FLAG, 0, True),
    (NAME, "amara", "amara"),
    (NAME, 12, ""),
    (STATE, b"\x01\x02", b"\x01\x02"),
    (STATE, bytearray(b"\x01"), b"\x01"),
    (STATE, "@ByteArray(x)", b""),
])
def test_a_stored_value_is_read_as_its_type_and_within_its_range(setting, raw, expected):
    value = setting.read(raw)
    assert value == expected and type(value) is setting.type


def test_a_value_that_is_not_allowed_is_refused_when_set():
    assert FRACTION.check("0.3") == 0.3
    for value in (0.0, 0.95, math.nan, math.inf, "abc", True):
        with pytest.raises(ValueError, match="test/fraction"):
            FRACTION.check(value)
    with pytest.raises(ValueError, match="test/count"):
        COUNT.check(61)
    with pytest.raises(ValueError):
        FLAG.check("maybe")
    with pytest.raises(ValueError):
        STATE.check("text")


# -- core settings from settings.ini -------------------------------------------------------

def test_core_settings_default_without_a_file(tmp_path):
    settings = CoreSettings.load(tmp_path / "settings.ini")
    for declared in SETTINGS:
        if not declared.remembered:
            assert settings.get(declared) == declared.default
            assert settings.get(declared.key) == declared.default


def test_a_hand_edited_file_gives_defaults_or_the_nearest_allowed_values(tmp_path, caplog):
    path = tmp_path / "settings.ini"
    path.write_text(
        "[priority]\nseverity_weight = 12\nchannel_press = -3\n"
        "[leases]\nminutes = 0\n"
        "[wellness]\ndaily_budget_minutes = 0\nbreak_minutes = soon\n"
        "idle_curtain_seconds = 100000\n"
        "[security]\nlock_minutes = nan\nwipe_after_days = 2\nallow_unverified_tls = perhaps\n"
        "[viewer]\nblur_fraction = 0.05\n"
        "[window]\ngeometry = @ByteArray(\\x1\\xd9)\n", encoding="utf-8")
    settings = CoreSettings.load(path)
    assert settings.get("priority/severity_weight") == 12.0
    assert settings.get("priority/channel_press") == -3.0  # weights may be negative
    assert settings.get(LEASES_MINUTES) == 1
    assert settings.get("wellness/daily_budget_minutes") == 1.0
    assert settings.get("wellness/break_minutes") == 10.0
    assert settings.get("wellness/idle_curtain_seconds") == 600.0
    assert settings.get("security/lock_minutes") == 5.0
    assert settings.get("security/wipe_after_days") == 2.0
    assert settings.get(SECURITY_ALLOW_UNVERIFIED_TLS) is False
    # A budget of zero once stopped the app at start; now it is the smallest allowed one.
    assert wellness_policy(settings).daily_budget_s == 60.0
    assert "security/lock_minutes" in caplog.text and "wellness/break_minutes" in caplog.text


def test_an_unreadable_file_gives_the_defaults(tmp_path):
    path = tmp_path / "settings.ini"
    path.write_text("[security]\nlock_minutes = 1\n[security]\nlock_minutes = 2\n")
    assert CoreSettings.load(path).get("security/lock_minutes") == 5.0
    path.write_bytes(b"[security]\nlock_minutes = \xff\n")
    assert CoreSettings.load(path).get("security/lock_minutes") == 5.0


def test_core_settings_refuse_what_is_not_theirs_or_not_allowed():
    settings = CoreSettings({"security/lock_minutes": 2})
    assert settings.get("security/lock_minutes") == 2.0
    with pytest.raises(KeyError, match="no setting"):
        settings.get("security/lock_minute")
    with pytest.raises(KeyError, match="remembered by the app"):
        settings.get(WINDOW_GEOMETRY)
    with pytest.raises(ValueError, match="leases/minutes"):
        settings.set(LEASES_MINUTES, 0)
    settings.set("security/allow_unverified_tls", "yes")
    assert settings.get(SECURITY_ALLOW_UNVERIFIED_TLS) is True


# -- docs/settings.md ----------------------------------------------------------------------

def test_docs_settings_md_is_current():
    assert PAGE.read_text(encoding="utf-8") == settings_markdown(), (
        f"docs/settings.md is out of date: run `{REGENERATE}`")


def test_the_page_lists_every_setting_in_its_section_and_says_how_it_is_made():
    page = settings_markdown()
    assert REGENERATE in page.split("## ")[0]
    sections = {part.split("`", 2)[1]: part for part in page.split("\n## ")[1:]}
    for declared in SETTINGS:
        row = next(line for line in sections[f"[{declared.section}]"].splitlines()
                   if line.startswith(f"| `{declared.name}` |"))
        assert declared.description in row
    assert "| `blur_fraction` | number | `0.03` | 0.01 to 0.06 | the app |" in page
    assert "| `wipe_after_days` | number | `14` | at least 0 | a lead or admin |" in page


def test_the_documented_command_prints_the_page():
    result = subprocess.run([sys.executable, "-m", "reviewer.settings", "--markdown"],
                            cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout == settings_markdown()
