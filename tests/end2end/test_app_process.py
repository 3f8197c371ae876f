"""The real app started as a process, the way a reviewer or CI starts it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, timeout: int = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)


def test_screenshot_of_the_demo_on_first_start(tmp_path):
    out = tmp_path / "shot.png"
    result = _run("--data-dir", str(tmp_path / "data"), "--screenshot", str(out))
    assert result.returncode == 0, result.stderr
    image = Image.open(out)
    assert image.size == (1600, 960)
    # The demo was seeded and pulled: the data directory holds both databases.
    assert (tmp_path / "data" / "backend.sqlite").stat().st_size > 100_000
    assert (tmp_path / "data" / "replica.sqlite").stat().st_size > 100_000
    # A rendered window, not a blank one: many distinct colours.
    colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is not None and len(colours) > 500


def test_version():
    result = _run("--version", timeout=60)
    assert result.returncode == 0
    assert "reviewer-workstation 0.1.0" in result.stdout


def test_malformed_taxonomy_stops_the_app_with_file_and_line(tmp_path):
    policies = tmp_path / "policies.toml"
    policies.write_text('version = "2026.11"\nsevere_actions = ["disable_account"]\n\n'
                        '[[areas]]\ncode = "spam"\nname = "Spam"\nblur_preset = "sideways"\n')
    result = _run("--data-dir", str(tmp_path / "data"), "--policies", str(policies),
                  "--screenshot", str(tmp_path / "never.png"), timeout=60)
    assert result.returncode == 2
    assert f"{policies}:" in result.stderr
    assert "cannot start" in result.stderr
    assert not (tmp_path / "never.png").exists()
