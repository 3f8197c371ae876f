"""Every benchmark in bench/ runs as its docstring says, at its CI size.

The benchmarks assert nothing about speed, and these tests do not either: they run each
one the documented way (``python bench/bench_<name>.py --small`` from the repository root,
as its own process, so that the script's folder comes first on its path) and check that
it finished and printed its figures and the ratio against the baseline of the same run.
A benchmark broken by a change elsewhere (a renamed function, a module its folder shadows)
fails here instead of on the next person who runs it.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


@dataclass(frozen=True)
class Bench:
    script: str
    figures: tuple[str, ...]  # patterns of the lines with measured figures
    ratio: str  # the pattern of the line comparing with the baseline

    def __str__(self) -> str:
        return self.script


BENCHES = (
    Bench("bench_media.py",
          figures=(r"renderer \+ SafeDecoder \(reduced decode\): +\d+\.\d ms",
                   r"\d+ images in \d+\.\d s \(\d+ ms each"),
          ratio=r"baseline, greyscale before the blur: +\d+\.\d ms +-> +\d+\.\d+x faster"),
    Bench("bench_queue.py",
          figures=(r"\(1\) open the queue, first page painted +\d+\.\dms",
                   r'\(4\) search "watch" +\d+\.\dms',
                   r"\(5\) scroll: fetch and paint one more page +\d+\.\dms",
                   r"\(7\) peak resident memory with the queue open \(VmHWM\): \d+ MiB"),
          ratio=r"First painted page: ours \d+\.\d ms \(median\), baseline [\d,]+ ms \(once\): "
                r"[\d,]+x faster"),
    Bench("bench_sync.py",
          figures=(r"service, as 'bench_reviewer' .*: [\d,]+ rows in \d+\.\d+ s",
                   r"service: [\d,]+ pushed \(0 rejected\) in \d+\.\d+ s",
                   r"service: median \d+\.\d ms"),
          ratio=r"service / direct = \d+\.\d+x; service / COPY = \d+\.\d+x"),
    Bench("bench_intake.py",
          figures=(r"service, POST /v1/reports:batch .*: [\d,]+ reports in \d+\.\d+ s",
                   r"ingest_file \([\d,]+ loaded, 0 rejected\): [\d,]+ reports in \d+\.\d+ s"),
          ratio=r"all [\d,]+ reports: .* service / ingest = \d+\.\d+x; service / COPY = "
                r"\d+\.\d+x"),
    Bench("bench_team_load.py",
          figures=(r"decisions: [\d,]+ in \d+ simulated s, \d+\.\d decisions/s held",
                   r"sync \(check-in, push, lease expiry, pull\): p50 \d+\.\d ms, p99 \d+\.\d ms",
                   r"get next \(POST /v1/leases/next\): p50 \d+\.\d ms, p99 \d+\.\d ms",
                   r"PostgreSQL connections open at once: at most \d+ .* of max_connections",
                   r"errors: \d+; rejected mutations: \d+",
                   r"exactly once: [\d,]+ decisions recorded .*; lost \d+, duplicated \d+"),
          ratio=r"against 1 workstation alone \(p50 \d+\.\d ms, p99 \d+\.\d ms\): "
                r"p50 \d+\.\d+x, p99 \d+\.\d+x"),
    Bench("bench_video.py",
          figures=(r"app path \(seek \+ decode forward\): \d+\.\d+ s to all 12 frames",
                   r"blurred: frames shown \d+ of \d+ due in \d+\.\d s"),
          ratio=r"ratio: \d+x faster; target <= 1\.5 s"),
)


def test_every_benchmark_is_run_here_and_none_shadows_a_module():
    """Named bench_<name>.py, a benchmark cannot stand in for a module of the standard
    library (bench/queue.py once hid ``queue`` from everything the scripts imported)."""
    scripts = sorted(path.name for path in BENCH.glob("*.py"))
    assert scripts == sorted(bench.script for bench in BENCHES)
    for name in scripts:
        stem = name.removesuffix(".py")
        assert stem.startswith("bench_"), name
        assert stem not in sys.stdlib_module_names, name


@pytest.mark.parametrize("bench", BENCHES, ids=str)
def test_the_benchmark_documents_its_command_and_its_small_run(bench: Bench):
    docstring = ast.get_docstring(ast.parse((BENCH / bench.script).read_text())) or ""
    assert f"bench/{bench.script}" in docstring
    assert "--small" in docstring


@pytest.mark.slow
@pytest.mark.parametrize("bench", BENCHES, ids=str)
def test_the_benchmark_runs_as_documented_at_its_small_size(bench: Bench):
    started = time.monotonic()
    done = subprocess.run([sys.executable, f"bench/{bench.script}", "--small"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    seconds = time.monotonic() - started
    report = f"after {seconds:.0f} s\n--- stdout\n{done.stdout[-4000:]}\n--- stderr\n" \
             f"{done.stderr[-4000:]}"
    assert done.returncode == 0, report
    for figure in (*bench.figures, bench.ratio):
        assert re.search(figure, done.stdout), f"no line matches {figure!r} {report}"
