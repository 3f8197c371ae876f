"""reviewer-admin: set up backends, seed demo data, sync, and vet media from a terminal."""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from reviewer import __version__
from reviewer.clock import SystemClock
from reviewer.demo import seed_demo
from reviewer.store import Database, DataPaths, SchemaVersionError, sqlite_url
from reviewer.taxonomy import TaxonomyError, load_taxonomy
from reviewer.workstation import Workstation, default_data_dir


def _print_progress(label: str):  # type: ignore[no-untyped-def]
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - last[0] > 0.5:
            last[0] = now
            print(f"\r{label}: {done:,}/{total:,}", end="\n" if done >= total else "",
                  file=sys.stderr, flush=True)

    return report


def cmd_init_backend(args: argparse.Namespace) -> int:
    url = args.url or sqlite_url(DataPaths(args.data_dir).ensure().backend)
    database = Database.open(url)
    database.dispose()
    print(f"backend ready at {database.engine.url.render_as_string(hide_password=True)}")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    taxonomy = load_taxonomy()
    paths = DataPaths(args.data_dir).ensure()
    backend = Database.open(sqlite_url(paths.backend))
    started = time.monotonic()
    summary = seed_demo(
        backend, taxonomy, SystemClock(), random.Random(args.seed), cases=args.cases,
        with_media=not args.no_media, progress=_print_progress("cases"),
    )
    backend.dispose()
    print(
        f"seeded {summary.cases:,} cases, {summary.media_items:,} media items, "
        f"{summary.decisions:,} past decisions, {summary.escalations:,} escalations "
        f"in {time.monotonic() - started:.1f} s"
    )
    if args.sync:
        return cmd_sync(args)
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    workstation = Workstation.open_embedded(args.data_dir)
    try:
        report = workstation.synchronise(_print_progress("changes"))
    finally:
        workstation.close()
    print(
        f"pushed {report.pushed}, rejected {report.rejected}, pulled {report.pulled_rows:,} "
        f"rows; {report.pending} changes still pending"
    )
    return 0


def cmd_media_check(args: argparse.Namespace) -> int:
    from reviewer.media.check import check_files

    return check_files([Path(p) for p in args.files], sys.stdout)


def cmd_check_taxonomy(args: argparse.Namespace) -> int:
    taxonomy = load_taxonomy(Path(args.file) if args.file else None)
    count = sum(len(area.policies) for area in taxonomy.areas)
    print(f"OK {len(taxonomy.areas)} policy areas, {count} policies, version {taxonomy.version}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reviewer-admin", description="Administration for Reviewer Workstation."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--data-dir", type=Path, default=None,
        help="the data directory of the embedded backend and replica "
             f"(default: {default_data_dir()})",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init-backend", help="create or upgrade a backend schema")
    init.add_argument("url", nargs="?", help="SQLAlchemy URL (default: the embedded backend)")
    init.set_defaults(func=cmd_init_backend)

    seed = commands.add_parser("seed-demo", help="add synthetic demo cases to the backend")
    seed.add_argument("--cases", type=int, default=120, help="how many cases (default 120)")
    seed.add_argument("--no-media", action="store_true", help="cases without media (fast)")
    seed.add_argument("--seed", type=int, default=20261121, help="random seed")
    seed.add_argument("--sync", action="store_true", help="pull into the replica afterwards")
    seed.set_defaults(func=cmd_seed_demo)

    sync = commands.add_parser("sync", help="push pending work and pull changes now")
    sync.set_defaults(func=cmd_sync)

    media = commands.add_parser("media-check", help="vet media files before intake")
    media.add_argument("files", nargs="+", metavar="FILE")
    media.set_defaults(func=cmd_media_check)

    taxonomy = commands.add_parser("check-taxonomy", help="validate a policy taxonomy file")
    taxonomy.add_argument("file", nargs="?", help="default: the shipped resources/policies.toml")
    taxonomy.set_defaults(func=cmd_check_taxonomy)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.data_dir is None:
        args.data_dir = default_data_dir()
    try:
        return int(args.func(args))
    except (TaxonomyError, SchemaVersionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
