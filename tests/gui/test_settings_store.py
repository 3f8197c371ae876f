"""The UI's settings adapter: declarations to QSettings, files written before it still load."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMainWindow

from reviewer.settings import (
    BACKEND_REMEMBER_PASSWORD,
    VIEWER_REVEAL_TIMEOUT_S,
    WELLNESS_SHARE_WITH_LEAD,
    WINDOW_GEOMETRY,
)
from tests.helpers.gui import make_window
from ui.security.sign_in import remembered_backend
from ui.widgets.settings_store import read_setting, write_setting


def _store(path) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


def test_a_settings_file_from_before_the_declarations_still_loads(tmp_path, qtbot):
    # What the app wrote with QSettings directly, under the same keys.
    path = tmp_path / "settings.ini"
    window = QMainWindow()
    qtbot.addWidget(window)
    window.resize(700, 500)
    old = _store(path)
    old.setValue("window/geometry", window.saveGeometry())
    old.setValue("backend/address", "https://reviews.example.org:8443")
    old.setValue("backend/username", "amara")
    old.setValue("backend/remember_password", False)
    old.setValue("wellness/share_with_lead", True)
    old.sync()

    store = _store(path)
    assert remembered_backend(store) == ("https://reviews.example.org:8443", "amara")
    assert read_setting(store, BACKEND_REMEMBER_PASSWORD) is False
    assert read_setting(store, WELLNESS_SHARE_WITH_LEAD) is True
    again = QMainWindow()
    qtbot.addWidget(again)
    assert again.restoreGeometry(read_setting(store, WINDOW_GEOMETRY))
    assert again.size() == window.size()


def test_qt_state_is_written_as_qt_writes_it(tmp_path, qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    store = _store(tmp_path / "settings.ini")
    write_setting(store, WINDOW_GEOMETRY, window.saveGeometry())
    store.sync()
    assert "geometry=@ByteArray(" in (tmp_path / "settings.ini").read_text()
    assert _store(tmp_path / "settings.ini").value("window/geometry") == window.saveGeometry()
    assert read_setting(store, WINDOW_GEOMETRY) == window.saveGeometry().data()


def test_a_hand_edited_or_missing_value_reads_safely(tmp_path):
    path = tmp_path / "settings.ini"
    path.write_text("[backend]\nremember_password=perhaps\n[viewer]\nreveal_timeout_s=-4\n"
                    "[window]\ngeometry=not qt state\n", encoding="utf-8")
    store = _store(path)
    assert read_setting(store, BACKEND_REMEMBER_PASSWORD) is True
    assert read_setting(store, VIEWER_REVEAL_TIMEOUT_S) == 1.0
    assert read_setting(store, WINDOW_GEOMETRY) == b""
    assert read_setting(store, WELLNESS_SHARE_WITH_LEAD) is False  # not stored: the default
    assert remembered_backend(store) == ("", "")


def test_a_value_the_declaration_does_not_allow_is_never_written(tmp_path):
    path = tmp_path / "settings.ini"
    store = _store(path)
    write_setting(store, VIEWER_REVEAL_TIMEOUT_S, 30.0)
    for value in (0.0, 3600.0, float("inf"), "forever"):
        with pytest.raises(ValueError, match="viewer/reveal_timeout_s"):
            write_setting(store, VIEWER_REVEAL_TIMEOUT_S, value)
    store.sync()
    assert read_setting(_store(path), VIEWER_REVEAL_TIMEOUT_S) == 30.0
    with pytest.raises(ValueError, match="wellness/share_with_lead"):
        write_setting(store, WELLNESS_SHARE_WITH_LEAD, 1)


def test_the_main_window_keeps_its_layout_for_the_next_start(qtbot, window, workstation,
                                                              renderer):
    window.resize(1300, 850)
    sizes = window.splitter.sizes()
    window.splitter.setSizes([sizes[0] + 120, *sizes[1:-1], sizes[-1] - 120])
    header = window.queue_view.horizontalHeader()
    header.moveSection(0, 2)
    chosen, order = window.splitter.sizes(), [header.logicalIndex(i) for i in range(3)]
    window.save_layout()
    assert "splitter=@ByteArray(" in workstation.paths.settings.read_text()

    again = make_window(qtbot, workstation, renderer, size=None)
    assert again.size() == window.size()
    assert again.splitter.sizes() == chosen
    again_header = again.queue_view.horizontalHeader()
    assert [again_header.logicalIndex(i) for i in range(3)] == order != [0, 1, 2]
