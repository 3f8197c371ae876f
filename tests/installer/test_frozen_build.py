"""Build the Linux bundle with PyInstaller and run its smoke test (about a minute)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="builds the Linux bundle"),
]


def test_frozen_app_builds_and_starts(tmp_path: Path) -> None:
    # PyInstaller is in the test extra: without it this test fails rather than skips.
    screenshot = tmp_path / "frozen.png"
    result = subprocess.run(
        [sys.executable, str(ROOT / "installer" / "build.py"), "--no-package",
         "--dist", str(tmp_path / "dist"), "--work", str(tmp_path / "work"),
         "--screenshot", str(screenshot)],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    for line in ("decoder (spawn): OK", "decoder (forkserver): OK",
                 "dialect postgresql+psycopg: OK", "SecretService", "migrations: head"):
        assert line in result.stdout
    # The bundled video worker probed the launcher's half-second 64x48 demo clip with sound
    # (installer/launcher.py) and QtMultimedia loaded.
    video = [line for line in result.stdout.splitlines() if line.startswith("video worker: ")]
    assert len(video) == 1, result.stdout[-4000:]
    assert video[0].startswith("video worker: OK (0:00.5 · 64×48 · h264 · 10 fps · audio (aac));"
                               " audio outputs: "), video[0]
    assert "frozen start-up:" in result.stdout
    assert screenshot.stat().st_size > 50_000
