"""The case queue at a million cases: what a reviewer waits for, against loading every row.

Seeds a replica (or reuses one), then drives the real ``CaseQueueModel`` in a real
``QTableView`` shown offscreen and times each step from the call to the end of the view's
repaint: opening the queue, a filter, sorts, a search, scrolling, the SLA tick, and the
memory of the process with the queue open. The baseline, measured once in the same run,
loads every open case into a ``QStandardItemModel``. It prints figures next to their
targets and asserts nothing.

    .venv/bin/python bench/bench_queue.py                 # 1,000,000 cases, about 4 minutes
    .venv/bin/python bench/bench_queue.py --cases 50000   # a quick look
    .venv/bin/python bench/bench_queue.py --small         # 5,000 cases, one run (CI-sized)
    .venv/bin/python bench/bench_queue.py --keep          # keep the replica for the next run
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QAbstractItemModel, QEvent, QModelIndex, Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QApplication, QTableView

from reviewer.clock import SystemClock
from reviewer.demo.seed import demo_reviewer_id
from reviewer.policy.taxonomy import load_taxonomy
from reviewer.queue.case_queue import (
    OPEN_STATUSES,
    PriorityWeights,
    QueueFilter,
    QueueOrder,
    count_cases,
    fetch_page,
)
from reviewer.queue.pages import QueuePages
from reviewer.store.database import Database, DataPaths, sqlite_url
from ui.queue.model import CACHED_PAGES, COLUMNS, PAGE_SIZE, CaseQueueModel

FIRST_PAGE_MS = 150.0
INTERACTION_MS = 100.0
MEMORY_MIB = 400.0
SPEEDUP = 50.0

SEED = 20261121
SMALL = {"cases": 5_000, "runs": 1}
VIEW_SIZE = (700, 1000)  # about the queue pane of the main window on a 1920 × 1200 screen
COLUMN_WIDTHS = (64, 96, 146, 112, 112, 132, 44, 50, 72, 104, 50)  # as the main window
SCROLL_PAGES = 30  # more pages than the model caches, so the way back reads by id
SORTS = (("SLA left", 1), ("Channel", 3), ("Age", 7))
ORDERS = (("ascending", Qt.SortOrder.AscendingOrder), ("descending", Qt.SortOrder.DescendingOrder))


# -- seeding --------------------------------------------------------------------------------


PLAIN = False
"""--plain: the replica unencrypted, as before it became an SQLCipher database."""


def open_replica(paths: DataPaths) -> Database:
    """The replica as the app opens it: SQLCipher, keyed from the OS keyring (--plain: not)."""
    if PLAIN:
        # An empty file is opened as plain SQLite; a missing one would be refused, since a
        # data directory's database is never created plain without asking for it.
        paths.ensure().replica.touch()
        return Database.open(sqlite_url(paths.replica))
    from reviewer.security.secrets import KeyringSecretStore
    from reviewer.store.keys import DatabaseKeys
    from reviewer.store.replica import open_encrypted

    root = paths.ensure().root
    keys = DatabaseKeys(KeyringSecretStore())
    key = keys.load(root) or keys.create(root)
    return open_encrypted(paths.replica, key, keys)


def replica_counts(paths: DataPaths) -> tuple[int, int]:
    """(cases, open cases) in the replica; (0, 0) when there is none yet."""
    if not paths.replica.exists():
        return 0, 0
    marks = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
    replica = open_replica(paths)
    try:
        with replica.engine.connect() as connection:
            return tuple(connection.exec_driver_sql(
                f"SELECT count(*), count(*) FILTER (WHERE status IN ({marks})) "
                f"FROM review_case").one())  # type: ignore[return-value]
    finally:
        replica.dispose()


def seed(paths: DataPaths, cases: int, via_sync: bool) -> None:
    """Top the replica up to ``cases``, in a child process so that its memory is not ours."""
    present, _open = replica_counts(paths)
    if present >= cases:
        print(f"reusing the {present:,} cases already in {paths.replica}")
        return
    missing = cases - present
    if via_sync:
        how = "reviewer-admin seed-demo --no-media --sync (into the backend, then a sync)"
        command = [sys.executable, "-m", "reviewer.cli", "--data-dir", str(paths.root),
                   "seed-demo", "--cases", str(missing), "--no-media", "--sync"]
    else:
        how = "reviewer.demo.bulk (straight into the replica, indexes built once at the end)"
        command = [sys.executable, str(Path(__file__).resolve()), "--seed-only",
                   "--data-dir", str(paths.root), "--cases", str(missing),
                   *(["--plain"] if PLAIN else [])]
    print(f"seeding {missing:,} cases with {how}", flush=True)
    started = time.perf_counter()
    subprocess.run(command, check=True)
    print(f"seeding took {time.perf_counter() - started:.1f} s")


def seed_only(paths: DataPaths, cases: int) -> None:
    from reviewer.demo.bulk import seed_replica_cases

    def progress(done: int, total: int) -> None:
        print(f"  {done:,}/{total:,} cases written", file=sys.stderr, flush=True)

    replica = open_replica(paths)
    try:
        summary = seed_replica_cases(
            replica, load_taxonomy(), SystemClock(), random.Random(SEED), cases=cases,
            batch_rows=max(1000, min(100_000, cases // 10)), progress=progress)
    finally:
        replica.dispose()
    print(f"  {summary.cases:,} cases ({summary.open_cases:,} open) and {summary.notes:,} "
          f"notes: rows {summary.write_seconds:.1f} s, then queue indexes "
          f"{summary.queue_index_seconds:.1f} s and search index "
          f"{summary.search_index_seconds:.1f} s")


# -- measuring ------------------------------------------------------------------------------


def memory_mib() -> dict[str, float]:
    """Peak (VmHWM) and current (VmRSS) resident memory of this process."""
    values = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0]) / 1024  # kB
    return values


@dataclass
class Figure:
    name: str
    target_ms: float | None = None
    runs_ms: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.runs_ms)

    def verdict(self) -> str:
        if self.target_ms is None:
            return ""
        return "ok" if self.median <= self.target_ms else "MISSED"


class TimedTableView(QTableView):
    """The real table view; it counts the paints it has finished."""

    paints = 0

    def paintEvent(self, event) -> None:  # type: ignore[no-untyped-def]  # Qt override
        super().paintEvent(event)
        self.paints += 1


def make_view(model: QAbstractItemModel) -> TimedTableView:
    """A table view set up as the main window sets up its queue."""
    view = TimedTableView()
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(26)
    header = view.horizontalHeader()
    header.setStretchLastSection(True)
    for column, width in enumerate(COLUMN_WIDTHS):
        header.resizeSection(column, width)
    view.resize(*VIEW_SIZE)
    return view


class QueueBench:
    """The queue's model and view, driven the way a reviewer drives the main window."""

    def __init__(self, app: QApplication, replica: Database):
        self.app = app
        self.replica = replica
        self.clock = SystemClock()
        self.area_names = {area.code: area.name for area in load_taxonomy().areas}
        self.model: CaseQueueModel | None = None
        self.view: TimedTableView | None = None

    def wait_painted(self, view: TimedTableView, paints_before: int) -> None:
        deadline = time.perf_counter() + 600
        while view.paints == paints_before:
            self.app.processEvents()
            if time.perf_counter() > deadline:
                raise RuntimeError("the view has not repainted in ten minutes")

    def timed(self, action: Callable[[], object]) -> float:
        """Milliseconds from calling ``action`` to the end of the view's next paint."""
        assert self.view is not None
        self.app.processEvents()
        before = self.view.paints
        started = time.perf_counter()
        action()
        self.wait_painted(self.view, before)
        return (time.perf_counter() - started) * 1000

    def close(self) -> None:
        if self.view is not None and self.model is not None:
            self.view.close()
            self.view.deleteLater()
            self.model.deleteLater()
            self.app.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        self.view = self.model = None

    def visible_rows(self) -> tuple[int, int]:
        assert self.view is not None and self.model is not None
        last = self.view.rowAt(self.view.viewport().height() - 1)
        return self.view.rowAt(0), last if last >= 0 else self.model.rowCount() - 1

    def rows(self) -> int:
        assert self.model is not None
        return self.model.rowCount()

    # -- what a reviewer does --

    def open_queue(self) -> float:
        """Model and view made, first page read, view shown and painted."""
        self.close()
        started = time.perf_counter()
        self.model = CaseQueueModel(QueuePages(self.replica, demo_reviewer_id()), self.clock)
        self.model.area_names = self.area_names
        self.view = make_view(self.model)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicator(
            CaseQueueModel.PRIORITY_COLUMN, Qt.SortOrder.DescendingOrder)
        self.model.refresh()
        self.view.show()
        self.wait_painted(self.view, 0)
        return (time.perf_counter() - started) * 1000

    def set_filter(self, query: QueueFilter) -> float:
        assert self.model is not None
        model = self.model
        return self.timed(lambda: model.set_filter(query))

    def sort(self, column: int, order: Qt.SortOrder) -> float:
        assert self.view is not None
        view = self.view
        return self.timed(lambda: view.sortByColumn(column, order))

    def tick(self) -> float:
        assert self.model is not None
        model, (first, last) = self.model, self.visible_rows()
        return self.timed(lambda: model.tick(first, last))

    def scroll(self, pages: int) -> tuple[list[float], float | None]:
        """Scroll to the end ``pages`` times, each fetching a page, then back to the top;
        a smaller queue is scrolled to its last page (at the end the view would not
        repaint), and one with a single page not at all (None for the way back)."""
        assert self.view is not None and self.model is not None
        per_page = []
        for _ in range(pages):
            if not self.model.canFetchMore(QModelIndex()):
                break
            rows = self.rows()
            elapsed = self.timed(self.view.scrollToBottom)
            per_page.append(elapsed / max(1, round((self.rows() - rows) / PAGE_SIZE)))
        return per_page, self.timed(self.view.scrollToTop) if per_page else None

    def back_to_default(self) -> None:
        """Undo a filter or sort (not timed)."""
        assert self.model is not None and self.view is not None
        if not self.model.filter.is_default():
            self.set_filter(QueueFilter())
        if self.model.order != QueueOrder():
            self.sort(CaseQueueModel.PRIORITY_COLUMN, Qt.SortOrder.DescendingOrder)
        self.view.scrollToTop()
        self.app.processEvents()


def measure_queue(bench: QueueBench, runs: int) -> list[Figure]:
    opened = Figure("(1) open the queue, first page painted", FIRST_PAGE_MS,
                    note="a new model and view each run; the first run also starts Qt's "
                         "fonts and style")
    filtered = Figure("(2) filter: channel = press", INTERACTION_MS)
    sorts = {(name, order_name): Figure(f"(3) sort by {name}, {order_name}", INTERACTION_MS)
             for name, _ in SORTS for order_name, _ in ORDERS}
    searched = Figure('(4) search "watch"', INTERACTION_MS)
    scrolled = Figure("(5) scroll: fetch and paint one more page")
    back_up = Figure(f"(5b) back to the top after {SCROLL_PAGES} pages",
                     note="the first pages have left the row cache and are read again by id")
    ticked = Figure("(6) SLA tick of the visible rows")
    counted = Figure("(-) count of open cases for the heading",
                     note="runs in a background task in the app, off the GUI thread")
    found = {}
    for _ in range(runs):
        opened.runs_ms.append(bench.open_queue())
        filtered.runs_ms.append(bench.set_filter(QueueFilter(channels=("press",))))
        found["filter"] = bench.rows()
        bench.back_to_default()
        for name, column in SORTS:
            for order_name, order in ORDERS:
                sorts[name, order_name].runs_ms.append(bench.sort(column, order))
                bench.back_to_default()
        searched.runs_ms.append(bench.set_filter(QueueFilter(search="watch")))
        found["search"] = bench.rows()
        bench.back_to_default()
        ticked.runs_ms.append(bench.tick())
        per_page, back = bench.scroll(SCROLL_PAGES)
        if per_page and back is not None:
            scrolled.runs_ms.append(statistics.median(per_page))
            back_up.runs_ms.append(back)
        found["pages"] = len(per_page)
        started = time.perf_counter()
        with bench.replica.sessions() as session:
            count_cases(session, QueueFilter(), demo_reviewer_id(), bench.clock.now())
        counted.runs_ms.append((time.perf_counter() - started) * 1000)
    filtered.note = f"{found['filter']} rows on the first page"
    searched.note = f"{found['search']} rows on the first page"
    scrolled.note = f"median page of {found['pages']} pages scrolled each run"
    if found["pages"] < SCROLL_PAGES:
        back_up.name = f"(5b) back to the top after {found['pages']} pages"
        cached = found["pages"] < CACHED_PAGES
        back_up.note = (f"the queue has fewer than {SCROLL_PAGES} more pages: "
                        + ("all of them still in the row cache" if cached
                           else "the first have left the row cache"))
    scrolling = [scrolled, back_up] if found["pages"] else []
    return [opened, filtered, *sorts.values(), searched, *scrolling, ticked, counted]


def measure_baseline(bench: QueueBench) -> dict[str, float]:
    """The naive queue: every open case read and made into items, then the view shown."""
    bench.close()
    now = bench.clock.now()
    weights = PriorityWeights()
    started = time.perf_counter()
    with bench.replica.sessions() as session:
        rows = fetch_page(session, QueueFilter(), QueueOrder(), demo_reviewer_id(), now,
                          limit=None)  # type: ignore[arg-type]  # no LIMIT: every row
    read = time.perf_counter()
    model = QStandardItemModel(len(rows), len(COLUMNS))
    model.setHorizontalHeaderLabels([column.title for column in COLUMNS])
    # setData makes the cell's QStandardItem; setItem and appendRow would do the same, but
    # PySide6 6.12 on Python 3.11 releases None once per call, which soon aborts Python.
    for r, row in enumerate(rows):
        for c, column in enumerate(COLUMNS):
            model.setData(model.index(r, c), column.render(row, now, weights))
    built = time.perf_counter()
    view = make_view(model)
    view.show()
    bench.wait_painted(view, 0)
    painted = time.perf_counter()
    view.close()
    return {"rows": len(rows), "read_s": read - started, "items_s": built - read,
            "paint_ms": (painted - built) * 1000, "total_ms": (painted - started) * 1000,
            **memory_mib()}


# -- the report -----------------------------------------------------------------------------


def print_table(figures: Sequence[Figure]) -> None:
    print(f"{'':<46}{'median':>9}  {'target':>9}  {'':<7}runs (ms)")
    for figure in figures:
        target = "-" if figure.target_ms is None else f"<= {figure.target_ms:.0f}"
        runs = ", ".join(f"{run:.1f}" for run in figure.runs_ms)
        print(f"{figure.name:<46}{figure.median:>7.1f}ms  {target:>9}  "
              f"{figure.verdict():<7}{runs}")
        if figure.note:
            print(f"{'':<8}({figure.note})")


def load() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def run(args: argparse.Namespace) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    paths = DataPaths(args.data_dir).ensure()
    seed(paths, args.cases, args.seed_via_sync)
    total, open_cases = replica_counts(paths)
    replica = open_replica(paths)
    kind = "plain SQLite (--plain)" if PLAIN else "SQLCipher, raw key from the keyring"
    print(f"replica: {kind}")
    bench = QueueBench(QApplication([]), replica)
    try:
        measure_and_report(bench, args, total, open_cases)
    finally:
        bench.close()
        replica.dispose()


def measure_and_report(bench: QueueBench, args: argparse.Namespace, total: int,
                       open_cases: int) -> None:
    print(f"\n{total:,} cases in the replica, {open_cases:,} of them open; the real "
          f"CaseQueueModel ({PAGE_SIZE}-row pages) in a {VIEW_SIZE[0]}x{VIEW_SIZE[1]} "
          f"QTableView; {args.runs} runs each")
    print(f"Python {platform.python_version()}, PySide6 {pyside_version}, SQLite "
          f"{sqlite3.sqlite_version}, {os.cpu_count()} CPUs, QT_QPA_PLATFORM="
          f"{os.environ['QT_QPA_PLATFORM']}, {load()}\n")
    before = memory_mib()
    figures = measure_queue(bench, args.runs)
    memory = memory_mib()
    print_table(figures)
    print(f"(7) peak resident memory with the queue open (VmHWM): {memory['VmHWM']:.0f} MiB  "
          f"target <= {MEMORY_MIB:.0f}  {'ok' if memory['VmHWM'] <= MEMORY_MIB else 'MISSED'}"
          f"\n        (VmRSS {before['VmRSS']:.0f} MiB before the first view, "
          f"{memory['VmRSS']:.0f} MiB after the last run; {load()})")
    if args.no_baseline:
        return

    opened = figures[0]
    print("\nBaseline: every open case read (the same query, no LIMIT) and made into a "
          "QStandardItem per cell, measured once")
    baseline = measure_baseline(bench)
    ratio = baseline["total_ms"] / opened.median
    print(f"  {baseline['rows']:,} rows: read {baseline['read_s']:.1f} s, items "
          f"{baseline['items_s']:.1f} s, paint {baseline['paint_ms']:.0f} ms; first page "
          f"painted after {baseline['total_ms'] / 1000:.1f} s; process peak memory "
          f"now {baseline['VmHWM']:,.0f} MiB")
    print(f"\nFirst painted page: ours {opened.median:.1f} ms (median), baseline "
          f"{baseline['total_ms']:,.0f} ms (once): {ratio:,.0f}x faster  "
          f"target >= {SPEEDUP:.0f}x  {'ok' if ratio >= SPEEDUP else 'MISSED'}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=None,
                        help="cases in the replica (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 5)")
    parser.add_argument("--small", action="store_true",
                        help=f"a CI-sized run: {SMALL['cases']:,} cases, {SMALL['runs']} run "
                             "per figure (unless given)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="a data directory to seed, or to reuse if it holds enough cases "
                             "(default: a temporary one)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the seeded data for the next run (without --data-dir: in "
                             "the temporary directory, named after --cases)")
    parser.add_argument("--seed-via-sync", action="store_true",
                        help="seed as the app does: seed-demo into the backend, then a sync "
                             "(much slower)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the QStandardItemModel baseline")
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--plain", action="store_true",
                        help="an unencrypted replica, as before SQLCipher (for comparison); "
                             "by default the replica is encrypted with a key from the OS "
                             "keyring, as in the app")
    args = parser.parse_args(argv)
    if args.cases is None:
        args.cases = SMALL["cases"] if args.small else 1_000_000
    args.runs = max(1, args.runs or (SMALL["runs"] if args.small else 5))
    global PLAIN
    PLAIN = args.plain

    temporary = args.data_dir is None and not args.keep
    if args.data_dir is None:
        args.data_dir = (Path(tempfile.mkdtemp(prefix="reviewer-bench-")) if temporary else
                         Path(tempfile.gettempdir()) / f"reviewer-bench-queue-{args.cases}")
    if args.seed_only:
        seed_only(DataPaths(args.data_dir), args.cases)
        return 0
    try:
        run(args)
    finally:
        if temporary:
            shutil.rmtree(args.data_dir, ignore_errors=True)
        else:
            print(f"\nkept the data in {args.data_dir}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.helpers
    from tests.helpers.keyring_daemon import keyring_for_benchmarks

    # (A private keyring lasts for this run only: a kept --data-dir is then unreadable by
    # the next run, which must use a new one.)
    with keyring_for_benchmarks():
        sys.exit(main())
