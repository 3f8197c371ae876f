"""Help > About lists the bundled components with their real versions and licences; the
packaged app's first start asks demo-or-team without ever blocking a screenshot."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QLabel

from reviewer import __version__
from ui.about import AboutDialog, bundled_components
from ui.first_run import FirstRunChoice, FirstRunDialog, should_offer_first_run

pytestmark = pytest.mark.gui


def test_about_lists_each_bundled_component_with_its_installed_version(qtbot) -> None:
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    by_name = {c.name: c for c in dialog.components}
    assert by_name["Qt"].version == qVersion()
    assert by_name["Qt for Python (PySide6)"].version == pyside_version
    for name, distribution, licence in [
        ("SQLAlchemy", "SQLAlchemy", "MIT"), ("Alembic", "alembic", "MIT"),
        ("Pillow", "pillow", "MIT-CMU"), ("psycopg 3", "psycopg", "LGPL-3.0"),
        ("keyring", "keyring", "MIT"), ("platformdirs", "platformdirs", "MIT"),
    ]:
        assert by_name[name].version == importlib.metadata.version(distribution)
        assert by_name[name].licence == licence
    assert by_name["Qt"].licence == "LGPL-3.0"
    shown = dialog.text.text()
    assert f"Reviewer Workstation {__version__}" in shown
    assert importlib.metadata.version("SQLAlchemy") in shown
    assert "Lesser General Public License" in dialog.note.text()


def test_about_never_shows_a_component_as_missing_when_it_is_installed() -> None:
    assert all(c.version != "not installed" for c in bundled_components())


def test_first_run_is_offered_only_by_a_packaged_build_on_an_empty_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = tmp_path / "new"
    assert not should_offer_first_run(fresh, screenshot=False)  # from source: straight in
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert should_offer_first_run(fresh, screenshot=False)
    assert not should_offer_first_run(fresh, screenshot=True)
    fresh.mkdir()
    (fresh / "replica.sqlite").write_bytes(b"")
    assert not should_offer_first_run(fresh, screenshot=False)


def test_first_run_offers_the_demo_and_explains_team_backends(qtbot, tmp_path: Path) -> None:
    dialog = FirstRunDialog(tmp_path)
    qtbot.addWidget(dialog)
    assert dialog.demo.isChecked() and dialog.demo.isEnabled()
    assert dialog.team.isEnabled()
    help_text = dialog.findChild(QLabel, "teamBackendHelp").text()
    assert "see <tt>docs/administration.md</tt>" in help_text and "reviewer-server" in help_text
    assert dialog.choice is FirstRunChoice.DEMO
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_first_run_can_choose_to_connect_to_a_team_backend(qtbot, tmp_path: Path) -> None:
    dialog = FirstRunDialog(tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.team.click()
    assert dialog.team.isChecked() and dialog.choice is FirstRunChoice.TEAM
    assert dialog.start_button.text().replace("&", "") == "Next: sign in…"
    dialog.demo.click()
    assert dialog.choice is FirstRunChoice.DEMO
    assert dialog.start_button.text().replace("&", "") == "Start"
