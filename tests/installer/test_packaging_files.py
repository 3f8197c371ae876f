"""The packaging files for the operating systems this machine cannot build for (Windows,
macOS) name files that exist, and agree with the app's name and version."""

from __future__ import annotations

import configparser
import importlib.util
import re
import sys
import types
from pathlib import Path, PureWindowsPath

import pytest

from reviewer import __version__

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "installer"
ISS = INSTALLER / "windows" / "reviewer-workstation.iss"
SPEC = INSTALLER / "reviewer-workstation.spec"
DESKTOP = INSTALLER / "linux" / "reviewer-workstation.desktop"


def _load_build_script() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("installer_build", INSTALLER / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


BUILD = _load_build_script()


def _iss_path(value: str) -> Path:
    """A path written in the .iss file, relative to the .iss file's folder."""
    return (ISS.parent / Path(*PureWindowsPath(value).parts)).resolve()


def _iss_entries(section: str) -> list[str]:
    text = ISS.read_text(encoding="utf-8")
    body = text.split(f"[{section}]", 1)[1].split("\n[", 1)[0]
    return [line for line in body.splitlines() if line.strip() and not line.startswith(";")]


def test_inno_setup_script_installs_the_build_folder_and_shipped_files() -> None:
    text = ISS.read_text(encoding="utf-8")
    sources = re.findall(r'Source: "([^"]+)"', text)
    assert sources, "no [Files] sources"
    for source in sources:
        folder = _iss_path(source.rstrip("*").rstrip("\\"))
        # The one source is the PyInstaller output, which exists only after a build.
        assert folder == (ROOT / "dist" / BUILD.NAME).resolve()
    info = re.search(r"^InfoBeforeFile=(.+)$", text, re.MULTILINE)
    assert info is not None and _iss_path(info.group(1).strip()).is_file()
    assert _iss_path(re.search(r"^OutputDir=(.+)$", text, re.MULTILINE).group(1)).parent == (
        ROOT / "dist"
    ).resolve()


def test_inno_setup_script_has_start_menu_entry_uninstaller_and_version() -> None:
    text = ISS.read_text(encoding="utf-8")
    assert f'#define AppVersion "{__version__}"' in text
    assert f'#define AppExe "{BUILD.NAME}.exe"' in text
    icons = _iss_entries("Icons")
    assert any(e.startswith('Name: "{group}\\{#AppName}"') and "{app}\\{#AppExe}" in e
               for e in icons)
    assert any("{uninstallexe}" in e for e in icons)
    assert "UninstallDisplayIcon={app}\\{#AppExe}" in text


class _Recorder:
    """Stands in for PyInstaller's build targets and keeps what they were given."""

    def __init__(self, calls: dict[str, list[tuple[tuple, dict]]], name: str) -> None:
        self.calls, self.name = calls, name

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.calls.setdefault(self.name, []).append((args, kwargs))
        return types.SimpleNamespace(**{"pure": [], "scripts": [], "binaries": [], "datas": [],
                                        **kwargs})


def _run_spec(monkeypatch: pytest.MonkeyPatch, platform: str) -> dict:
    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_data_files = lambda package: []  # type: ignore[attr-defined]
    hooks.collect_submodules = lambda package, filter=None: [package]  # type: ignore[attr-defined]
    hooks.copy_metadata = lambda distribution: []  # type: ignore[attr-defined]
    for name in ("PyInstaller", "PyInstaller.utils"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    calls: dict[str, list] = {}
    namespace = {name: _Recorder(calls, name)
                 for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
    namespace["SPECPATH"] = str(INSTALLER)
    monkeypatch.setattr(sys, "platform", platform)
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    monkeypatch.undo()
    return calls


def test_spec_names_files_that_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _run_spec(monkeypatch, "linux")
    (scripts,), analysis = calls["Analysis"][0]
    assert Path(scripts[0]).is_file()
    destinations = set()
    for source, destination in analysis["datas"]:
        assert Path(source).is_file(), source
        destinations.add(f"{destination}/{Path(source).name}")
    # Found at run time by Path(__file__)-relative paths, as in the source tree.
    for needed in ("resources/policies.toml", "resources/dsa_mapping.toml",
                   "resources/style.qss", "reviewer/store/migrations/env.py",
                   "reviewer/store/migrations/script.py.mako"):
        assert needed in destinations
    versions = {d for d in destinations if d.startswith("reviewer/store/migrations/versions/")}
    shipped = {f"reviewer/store/migrations/versions/{p.name}"
               for p in (ROOT / "reviewer" / "store" / "migrations" / "versions").glob("*.py")}
    assert shipped and versions == shipped
    (_pyz, *_rest), exe = calls["EXE"][0]
    assert exe["name"] == BUILD.NAME
    assert Path(exe["icon"]).is_file()
    assert "BUNDLE" not in calls


def test_spec_makes_a_macos_app_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _run_spec(monkeypatch, "darwin")
    _args, bundle = calls["BUNDLE"][0]
    assert bundle["name"].endswith(".app")
    assert Path(bundle["icon"]).is_file()
    plist = bundle["info_plist"]
    assert plist["CFBundleShortVersionString"] == __version__
    assert plist["CFBundleDisplayName"] == "Reviewer Workstation"
    assert plist["NSHighResolutionCapable"] is True
    assert re.fullmatch(r"[a-z]+(\.[a-z-]+)+", bundle["bundle_identifier"])


def test_linux_desktop_entry_names_the_shipped_icon_and_executable() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment, method-assign]
    entry.read(DESKTOP, encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert desktop["Exec"].split()[0] == BUILD.NAME
    assert desktop["Terminal"] == "false"
    for suffix in ("png", "svg"):
        assert (ROOT / "resources" / "icons" / f"{desktop['Icon']}.{suffix}").is_file()
    install = (INSTALLER / "linux" / "install.sh").read_text(encoding="utf-8")
    assert f"{desktop['Icon']}.png" in install and DESKTOP.name in install
