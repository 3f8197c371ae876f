"""Build the one-folder app with PyInstaller, smoke-test the frozen build, package it.

    python installer/build.py                 # build, smoke-test, and on Linux a tarball
    python installer/build.py --smoke-only    # test an existing build

The smoke test runs the frozen executable: `--version`; `--check-bundle` (the launcher's
check of what PyInstaller cannot see: decoder worker processes, dialects, keyring backends,
migrations); and `--screenshot` offscreen on a fresh data directory, which migrates both
databases, seeds the demo and renders the window. It fails (exit 1) when the frozen app
does not start or renders nothing, and prints the bundle size and the start-up times.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "installer" / "reviewer-workstation.spec"
NAME = "reviewer-workstation"
MIN_COLOURS = 500  # a blank or failed window has a handful; the demo window has thousands


class SmokeTestFailed(RuntimeError):
    """The frozen app did not start, or started and produced nothing useful."""


@dataclass(frozen=True)
class SmokeReport:
    version_s: float
    screenshot_s: float  # on a fresh data directory: migrations and demo seeding included
    warm_screenshot_s: float  # again, on the data directory the first run made
    colours: int


def app_version() -> str:
    text = (ROOT / "reviewer" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'__version__ = "([^"]+)"', text)
    assert match is not None
    return match.group(1)


def executable(dist: Path) -> Path:
    suffix = ".exe" if sys.platform == "win32" else ""
    return dist / NAME / f"{NAME}{suffix}"


def build(dist: Path, work: Path) -> float:
    """Run PyInstaller on the spec; the seconds it took."""
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(dist), "--workpath", str(work), str(SPEC)],
        check=True, cwd=ROOT,
    )
    return time.monotonic() - started


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def count_colours(png: Path) -> int:
    from PIL import Image

    with Image.open(png) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 24)
    return len(colours or ())


def _run(command: list[str], env: dict[str, str], timeout: float) -> tuple[float, str]:
    started = time.monotonic()
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True,
                                timeout=timeout, check=False)
    except subprocess.TimeoutExpired as expired:
        raise SmokeTestFailed(f"{command[1]} did not finish in {timeout:.0f} s") from expired
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise SmokeTestFailed(
            f"`{' '.join(command[1:])}` exited with {result.returncode}:\n"
            f"{result.stdout}\n{result.stderr}"
        )
    return elapsed, result.stdout


def smoke_test(dist: Path, out: Path | None = None) -> SmokeReport:
    """Start the frozen app three ways and check what it produced."""
    exe = executable(dist)
    if not exe.is_file():
        raise SmokeTestFailed(f"no frozen executable at {exe}")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    version_s, printed = _run([str(exe), "--version"], env, timeout=120)
    # A Windows GUI executable has no stdout to print to; its exit code still counts.
    if sys.platform != "win32" and app_version() not in printed:
        raise SmokeTestFailed(f"--version printed {printed!r}, not version {app_version()}")
    _elapsed, printed = _run([str(exe), "--check-bundle"], env, timeout=180)
    print(printed.strip())
    with tempfile.TemporaryDirectory(prefix="rw-smoke-") as scratch:
        png = out or Path(scratch) / "out.png"
        screenshot_s, _printed = _run(
            [str(exe), "--screenshot", str(png), "--data-dir", str(Path(scratch) / "data")],
            env, timeout=300,
        )
        if not png.is_file():
            raise SmokeTestFailed("--screenshot wrote no PNG")
        colours = count_colours(png)
        if colours <= MIN_COLOURS:
            raise SmokeTestFailed(f"the screenshot has only {colours} colours: nothing rendered")
        warm_s, _printed = _run(
            [str(exe), "--screenshot", str(Path(scratch) / "warm.png"),
             "--data-dir", str(Path(scratch) / "data")],
            env, timeout=300,
        )
    return SmokeReport(version_s, screenshot_s, warm_s, colours)


def make_tarball(dist: Path) -> Path:
    """dist/reviewer-workstation-<version>-linux-<arch>.tar.gz: the app folder with its
    desktop entry, icon and a per-user install script."""
    staging = dist / "tarball" / f"{NAME}-{app_version()}"
    if staging.parent.exists():
        shutil.rmtree(staging.parent)
    shutil.copytree(dist / NAME, staging / NAME, symlinks=True)
    shutil.copy2(ROOT / "installer" / "linux" / f"{NAME}.desktop", staging)
    shutil.copy2(ROOT / "installer" / "linux" / "install.sh", staging)
    for icon in ("reviewer-workstation.png", "reviewer-workstation.svg"):
        shutil.copy2(ROOT / "resources" / "icons" / icon, staging)
    tarball = dist / f"{NAME}-{app_version()}-linux-{platform.machine()}.tar.gz"
    with tarfile.open(tarball, "w:gz", compresslevel=6) as archive:
        archive.add(staging, arcname=staging.name)
    shutil.rmtree(staging.parent)
    return tarball


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller")
    parser.add_argument("--smoke-only", action="store_true", help="test an existing build")
    parser.add_argument("--no-package", action="store_true",
                        help="skip the per-OS package (the Linux tarball)")
    parser.add_argument("--screenshot", type=Path, help="keep the smoke test's PNG here")
    args = parser.parse_args(argv)

    if not args.smoke_only:
        seconds = build(args.dist, args.work)
        print(f"build time: {seconds:.0f} s")
    bundle = args.dist / NAME
    print(f"bundle: {bundle} ({_mib(folder_size(bundle))})")
    try:
        report = smoke_test(args.dist, args.screenshot)
    except SmokeTestFailed as failure:
        print(f"SMOKE TEST FAILED: {failure}", file=sys.stderr)
        return 1
    print(f"frozen start-up: --version {report.version_s:.2f} s, "
          f"--screenshot on a fresh data directory {report.screenshot_s:.1f} s "
          f"({report.colours} colours), on the same data directory again "
          f"{report.warm_screenshot_s:.1f} s")
    if sys.platform.startswith("linux") and not args.no_package:
        started = time.monotonic()
        tarball = make_tarball(args.dist)
        print(f"tarball: {tarball} ({_mib(tarball.stat().st_size)}, "
              f"{time.monotonic() - started:.0f} s)")
    elif sys.platform == "win32" and not args.no_package:
        print("installer: compile installer/windows/reviewer-workstation.iss with Inno Setup 6")
    return 0


if __name__ == "__main__":
    sys.exit(main())
