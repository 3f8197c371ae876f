"""Benchmark: a long video's storyboard, and blurred playback at 1080p30.

Prints measured figures and ratios against a baseline measured in the same run; asserts
nothing. Run with `.venv/bin/python bench/bench_video.py` (the first run generates the videos
into /tmp, a few minutes; later runs reuse them, about a minute); `--small` for a CI-sized
run (a 30-second storyboard video and 2 seconds of playback, about 15 seconds).

1. Storyboard: 12 blurred frames of a synthetic 10-minute 1920x1080 H.264 video, through
   `build_storyboard_bounded` (the app's path: a bounded worker process that seeks to the
   keyframe before each position and decodes forward; the time includes starting it).
   To keep generating it affordable the video has 5 frames per second and a keyframe every
   2 seconds (10 frames); the storyboard cost depends on the GOP, not on the frame rate.
   Baseline: decode every frame from the start up to each position (one pass),
   blurring the frames at the positions. Target: all 12 frames ready in <= 1.5 s.
2. Playback: a 1920x1080, 30 fps H.264 video played blurred for `--playback-seconds` in the
   real viewer (offscreen), canvas about 1,400 x 800; decoding in the bounded worker process.
   Frames shown against frames due (target >= 95 %), frames dropped, and CPU time over the
   wall time: the app's process and the decoding worker's.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

from reviewer.demo.video import make_demo_video
from reviewer.media.render import RenditionSettings
from reviewer.media.video import VideoReader, blurred_picture, evenly_spaced
from reviewer.media.video_worker import build_storyboard_bounded

SETTINGS = RenditionSettings()
THUMB = (128, 72)
CACHE = Path("/tmp/reviewer-bench-video")
SMALL = {"minutes": 0.5, "playback_seconds": 2.0}


def cached_video(name: str, make) -> bytes:  # type: ignore[no-untyped-def]
    CACHE.mkdir(exist_ok=True)
    path = CACHE / name
    if not path.exists():
        started = time.perf_counter()
        print(f"generating {name} (once) ...", flush=True)
        data = make()
        path.write_bytes(data)
        print(f"  {len(data) / 1e6:.1f} MB in {time.perf_counter() - started:.0f} s",
              flush=True)
    return path.read_bytes()


def storyboard_bench(minutes: float) -> None:
    seconds = 60 * minutes
    data = cached_video(
        f"long-{minutes:g}min-1080p-5fps-gop10.mp4",
        lambda: make_demo_video(random.Random(1), (1920, 1080), seconds, 5, audio=False,
                                gop=10))
    print(f"\n1. Storyboard of 12 frames, {minutes:g} min 1920x1080 H.264 "
          f"(5 fps, keyframe every 2 s), {len(data) / 1e6:.1f} MB")
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        board = build_storyboard_bounded(data, 12, THUMB, SETTINGS)
        runs.append(time.perf_counter() - started)
    assert len(board.frames) == 12
    with VideoReader(data) as reader:
        for position in evenly_spaced(reader.info.duration_s, 12):
            reader.frame_at(position)
        decoded = reader.frames_decoded
    best = min(runs)
    print(f"   app path (seek + decode forward): {best:.2f} s to all 12 frames "
          f"(runs: {', '.join(f'{r:.2f}' for r in runs)}; {decoded} frames decoded)")

    started = time.perf_counter()
    with VideoReader(data) as reader:
        positions = evenly_spaced(reader.info.duration_s, 12)
        reader._seek(0.0)
        wanted = list(positions)
        pictures = []
        for frame in reader._frames(time.monotonic() + 3600):
            while wanted and frame.time_s + 0.1 >= wanted[0]:
                pictures.append(blurred_picture(frame.frame, THUMB, SETTINGS))
                wanted.pop(0)
            if not wanted:
                break
        baseline_frames = reader.frames_decoded
    baseline = time.perf_counter() - started
    print(f"   baseline (decode every frame up to each position): {baseline:.2f} s "
          f"({baseline_frames} frames decoded)")
    print(f"   ratio: {baseline / best:.0f}x faster; target <= 1.5 s: "
          f"{'met' if best <= 1.5 else 'NOT met'}")


def playback_bench(seconds: float) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import hashlib
    import types
    import uuid

    from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

    from reviewer.clock import ManualClock
    from reviewer.media.render import Renderer, RenditionCache
    from reviewer.wellness.exposure import ExposureLedger
    from ui.viewer.media_viewer import MediaViewer
    from ui.widgets.tasks import TaskRunner

    data = cached_video(
        f"play-{seconds:g}s-1080p30.mp4",
        lambda: make_demo_video(random.Random(2), (1920, 1080), seconds + 2, 30,
                                audio=True, gop=60))
    print(f"\n2. Blurred playback, 1920x1080 H.264 at 30 fps, {seconds:g} s")
    app = QApplication.instance() or QApplication([])
    clock = ManualClock()
    media = {hashlib.sha256(data).hexdigest(): data}
    tasks = TaskRunner()
    viewer = MediaViewer(tasks, Renderer(None, RenditionCache()), media.get,
                         RenditionSettings(), ledger=ExposureLedger(clock), clock=clock)
    window = QWidget()
    QVBoxLayout(window).addWidget(viewer)
    window.resize(1440, 1050)
    window.show()
    item = types.SimpleNamespace(id=uuid.uuid4(), content_hash=next(iter(media)), position=0,
                                 mime_type="video/mp4", width=None, height=None)
    case = types.SimpleNamespace(id=uuid.uuid4(), external_ref="BENCH", channel="user_report",
                                 surface="organic_post", language="en", region="GB",
                                 policy_area="", reported_text="", reporter_note="")
    viewer.show_case(case, [item])
    player = viewer.video
    deadline = time.monotonic() + 60
    while (player.info is None or viewer.canvas.image is None) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)
    tasks.wait_for_done(60_000)
    app.processEvents()
    print(f"   canvas {viewer.canvas.width()}x{viewer.canvas.height()}, "
          f"{player.info.summary() if player.info else 'no info'}")
    for label, revealed, duration in (("blurred", False, seconds),
                                      ("revealed (sharp frames too)", True, min(10.0, seconds))):
        player.seek(0.0)
        if revealed:
            window.activateWindow()
            app.processEvents()
            viewer.toggle_reveal()
        _play_for(app, player, label, duration)
        viewer.reblur()
    tasks.wait_for_done(10_000)
    window.close()
    del app


def _play_for(app, player, label: str, seconds: float) -> None:  # type: ignore[no-untyped-def]
    """Play for `seconds` of wall time; frames due are those of the wall time at 30 fps."""
    deadline = time.monotonic() + 60
    before = player.frames_shown
    player.play()
    while player.frames_shown == before and time.monotonic() < deadline:  # worker started
        app.processEvents()
        time.sleep(0.001)
    worker_pid = player._stream.worker_pid if player._stream is not None else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    worker0 = _cpu_of(worker_pid)
    shown0, dropped0 = player.frames_shown, player.frames_dropped
    end = wall0 + seconds
    while time.perf_counter() < end and player.playing:
        app.processEvents()
        time.sleep(0.001)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    worker_cpu = _cpu_of(worker_pid) - worker0
    shown = player.frames_shown - shown0
    dropped = player.frames_dropped - dropped0
    due = round(wall * 30 * player.speed)
    stream = player._stream
    skipped = stream.frames_skipped if stream is not None else 0
    player.pause()
    print(f"   {label}: frames shown {shown} of {due} due in {wall:.1f} s: "
          f"{100 * shown / max(1, due):.1f} % (target >= 95 %); dropped late at display "
          f"{dropped}, skipped late in the decoder {skipped}; CPU: app {cpu:.1f} s "
          f"({100 * cpu / wall:.0f} % of one core), decoding worker {worker_cpu:.1f} s "
          f"({100 * worker_cpu / wall:.0f} %), {os.cpu_count()} cores")


def _cpu_of(pid: int | None) -> float:
    """CPU seconds used so far by process `pid` (Linux), 0 if unknown."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=None,
                        help="length of the storyboard video (default 10)")
    parser.add_argument("--playback-seconds", type=float, default=None,
                        help="how long to play at 1080p30 (default 30)")
    parser.add_argument("--skip-playback", action="store_true")
    parser.add_argument("--small", action="store_true",
                        help=f"a CI-sized run: a {SMALL['minutes']:g}-minute storyboard video, "
                             f"{SMALL['playback_seconds']:g} s of playback (unless given)")
    args = parser.parse_args(argv)
    minutes = args.minutes or (SMALL["minutes"] if args.small else 10.0)
    playback_seconds = args.playback_seconds or (
        SMALL["playback_seconds"] if args.small else 30.0)
    storyboard_bench(minutes)
    if not args.skip_playback:
        playback_bench(playback_seconds)


if __name__ == "__main__":
    main()
