"""The viewer's per-user settings: stored with QSettings, never unsafe when hand-edited."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from reviewer.media.render import RenditionSettings
from reviewer.policy.taxonomy import load_taxonomy
from ui.viewer.settings_dialog import ViewerSettings, describe_settings


def _store(tmp_path, text: str = "") -> QSettings:
    path = tmp_path / "settings.ini"
    path.write_text(text, encoding="utf-8")
    return QSettings(str(path), QSettings.Format.IniFormat)


def test_defaults_are_standard_blur_in_greyscale_and_a_ten_second_reveal(tmp_path):
    settings = ViewerSettings.load(_store(tmp_path))
    assert settings == ViewerSettings()
    assert (settings.blur_fraction, settings.grayscale) == (0.03, True)
    assert (settings.reveal_timeout_s, settings.lens_radius_fraction) == (10.0, 0.12)


def test_settings_round_trip_through_an_ini_file(tmp_path):
    store = _store(tmp_path)
    chosen = ViewerSettings(blur_fraction=0.05, grayscale=False, reveal_timeout_s=4.0)
    chosen.save(store)
    assert ViewerSettings.load(_store_again(tmp_path)) == chosen


def _store_again(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def test_hand_edited_values_fall_back_to_safe_ones(tmp_path):
    store = _store(tmp_path, "[viewer]\nblur_fraction=0\ngrayscale=maybe\n"
                             "reveal_timeout_s=100000\nlens_radius_fraction=abc\n")
    settings = ViewerSettings.load(store)
    assert settings.blur_fraction == 0.01  # blur can be weakened, never switched off
    assert settings.grayscale is True
    assert settings.reveal_timeout_s == 60.0
    assert settings.lens_radius_fraction == 0.12


@pytest.mark.parametrize("field", ["blur_fraction", "reveal_timeout_s", "lens_radius_fraction"])
def test_out_of_range_values_are_refused(field):
    with pytest.raises(ValueError, match=field):
        ViewerSettings(**{field: 1000.0})


def test_each_setting_is_declared_once_with_a_description():
    described = describe_settings()
    assert [key for key, *_ in described] == [
        "viewer/blur_fraction", "viewer/grayscale", "viewer/reveal_timeout_s",
        "viewer/lens_radius_fraction"]
    assert all(description for *_, description in described)


def test_every_policy_area_preset_gives_valid_renditions():
    settings = ViewerSettings(blur_fraction=0.06)
    for area in load_taxonomy().areas:
        rendition = settings.rendition_for(str(area.blur_preset))
        assert isinstance(rendition, RenditionSettings)
        assert rendition.blurs == (str(area.blur_preset) != "none")
        if area.graphic:
            assert rendition.blur_fraction >= settings.blur_fraction
