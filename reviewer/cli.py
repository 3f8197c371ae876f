"""reviewer-admin: set up backends, seed demo data, sync, vet media, export statements of
reasons and check the audit log, from a terminal."""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select

from reviewer import __version__
from reviewer.clock import SystemClock
from reviewer.demo.seed import seed_demo
from reviewer.org.apply import OrgRefused
from reviewer.org.file import OrgError
from reviewer.policy.taxonomy import TaxonomyError, load_taxonomy
from reviewer.qa.commands import add_qa_commands
from reviewer.qa.store import QaRefused
from reviewer.reports.statements import MappingError
from reviewer.secret_store import SecretStore
from reviewer.security.devices import DeviceError
from reviewer.security.row_security import UserAdminError, init_backend
from reviewer.security.secrets import KeyringSecretStore
from reviewer.store.database import (
    BackendError,
    Database,
    DataPaths,
    SchemaVersionError,
    check_schema,
    sqlite_url,
    talking_to,
)
from reviewer.store.keys import DatabaseKeys
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
    """Create the schema on an empty database or upgrade it; never touches a newer one."""
    from reviewer.store.database import current_revision, describe, head_revision, make_engine

    url = args.backend or args.url or sqlite_url(DataPaths(args.data_dir).ensure().backend)
    engine = make_engine(url, keys=args.keys)
    try:
        with talking_to(engine.url):
            before = current_revision(engine)
        init_backend(engine)
    finally:
        engine.dispose()
    where, head = describe(engine.url), head_revision()
    if before == head:
        print(f"backend {where} is up to date (schema {head})")
    elif before is None:
        print(f"created the schema {head} on backend {where}")
    else:
        print(f"upgraded backend {where} from schema {before} to {head}")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    taxonomy = load_taxonomy()
    paths = DataPaths(args.data_dir).ensure()
    backend = Database.open(sqlite_url(paths.backend), keys=args.keys)
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
    workstation = Workstation.open_embedded(args.data_dir, secrets=args.keys.secrets)
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


def cmd_ingest(args: argparse.Namespace) -> int:
    """Load cases and media from a JSON Lines file (format: reviewer/queue/ingest.py)."""
    from reviewer.media.decode import SafeDecoder
    from reviewer.queue.case_queue import PriorityWeights
    from reviewer.queue.ingest import ingest_file, vetting
    from reviewer.settings import CoreSettings

    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path}: no such file", file=sys.stderr)
        return 2
    taxonomy = load_taxonomy()
    paths = DataPaths(args.data_dir).ensure()
    if args.backend:
        backend = Database.open(args.backend, migrate=False, keys=args.keys)
        try:
            check_schema(backend.engine)
        except BaseException:
            backend.dispose()
            raise
    else:
        backend = Database.open(sqlite_url(paths.backend), keys=args.keys)
    weights = PriorityWeights.from_settings(CoreSettings.load(paths.settings))
    started = time.monotonic()
    decoder = SafeDecoder()
    try:
        report = ingest_file(
            backend, path, taxonomy, SystemClock(), vet=vetting(decoder), weights=weights,
            on_problem=lambda line, reason: print(f"{path}:{line}: {reason}", file=sys.stderr),
        )
    finally:
        decoder.close()
        backend.dispose()
    print(f"loaded {report.loaded:,} cases with {report.media_items:,} media items "
          f"({report.new_blobs:,} new files), skipped {report.skipped_existing:,} already on "
          f"the backend, rejected {report.rejected:,} in {time.monotonic() - started:.1f} s")
    return 1 if report.problems else 0



def _day(text: str) -> datetime:
    """A YYYY-MM-DD argument, as the start of that day in UTC."""
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def cmd_export_statements(args: argparse.Namespace) -> int:
    """Statements of reasons for decisions made since --since, from the backend."""
    from reviewer.reports.statements import export_statements, load_dsa_mapping
    from reviewer.store.models import Reviewer

    taxonomy = load_taxonomy()
    mapping = load_dsa_mapping(Path(args.mapping) if args.mapping else None, taxonomy)
    url = args.backend_url or sqlite_url(DataPaths(args.data_dir).ensure().backend)
    backend = Database.open(url, keys=args.keys)
    try:
        with backend.sessions() as session:
            actor_id = session.scalar(select(Reviewer.id).where(Reviewer.username == args.user))
        result = export_statements(backend, taxonomy, mapping, since=args.since,
                                   until=args.until, out=Path(args.out), actor_id=actor_id,
                                   clock=SystemClock())
    finally:
        backend.dispose()
    print(f"wrote {len(result.statements):,} statements of reasons to {args.out}",
          file=sys.stderr)
    if result.skipped:
        print(f"not exported: {len(result.skipped):,} decisions", file=sys.stderr)
        for skipped in result.skipped:
            print(f"  SKIP {skipped.decision_id} {skipped.external_ref} "
                  f"{skipped.policy_code}/{skipped.action}: {skipped.reason}", file=sys.stderr)
    for invalid in result.invalid:
        problems = "; ".join(f"{name}: {text}" for name, text in invalid.problems.items())
        print(f"  INVALID {invalid.decision_id} {invalid.external_ref}: {problems}",
              file=sys.stderr)
    if result.invalid:
        print(f"error: {len(result.invalid):,} statements break the API's rules and were not "
              "written; fix resources/dsa_mapping.toml", file=sys.stderr)
        return 1
    return 0


def _new_password() -> str:
    """REVIEWER_NEW_PASSWORD for scripts, else asked twice on the terminal (never echoed)."""
    import getpass
    import os

    from reviewer.security.row_security import UserAdminError, check_password

    given = os.environ.get("REVIEWER_NEW_PASSWORD")
    if given is not None:
        return check_password(given)
    if not sys.stdin.isatty():
        raise UserAdminError("no terminal to ask for the password on: set "
                             "REVIEWER_NEW_PASSWORD for scripts")
    first = check_password(getpass.getpass("New password: "))
    if getpass.getpass("Repeat the password: ") != first:
        raise UserAdminError("the passwords differ; nothing was changed")
    return first


def _team_backend(url: str):  # type: ignore[no-untyped-def]
    from reviewer.store.database import make_engine, normalise_url

    if normalise_url(url).get_backend_name() != "postgresql":
        raise BackendError("accounts and devices live on a PostgreSQL team backend: "
                           "give its URL with --backend")
    return make_engine(url)


def cmd_create_user(args: argparse.Namespace) -> int:
    """A person's login role, in the group of their role, with their reviewer account."""
    from reviewer.security.row_security import check_username, create_user

    check_username(args.name)
    role, teams, display_name, languages = args.role, args.team or [], args.display_name, []
    if args.from_org:
        from reviewer.org.file import OrgError, read_org

        person = read_org(args.from_org, load_taxonomy()).person(args.name)
        if person is None:
            raise OrgError([f"{Path(args.from_org).name}: has no [[person]] with username "
                            f"{args.name!r}"])
        role, teams = role or person.role, teams or list(person.teams)
        display_name, languages = display_name or person.name, list(person.languages)
    if role is None:
        raise UserAdminError("give the person's role with --role, or --from-org FILE")
    password = _new_password()
    engine = _team_backend(args.backend)
    try:
        with talking_to(engine.url), engine.begin() as connection:
            create_user(connection, args.name, role=role, teams=teams,
                        display_name=display_name or args.name, password=password,
                        languages=languages)
    finally:
        engine.dispose()
    print(f"created {role} {args.name} (teams: {', '.join(teams) or 'none'})")
    return 0


def _org_backend(args: argparse.Namespace) -> Database:
    """The backend apply-org and show-org work on: --backend, or the embedded one."""
    if args.backend:
        return Database.open(args.backend, migrate=False)
    return Database.open(sqlite_url(DataPaths(args.data_dir).ensure().backend), keys=args.keys)


def cmd_apply_org(args: argparse.Namespace) -> int:
    """Make the backend's organisation what the file says, in one transaction."""
    from reviewer.org.apply import apply_org, plan_org
    from reviewer.org.file import read_org

    org = read_org(args.file, load_taxonomy())
    backend = _org_backend(args)
    try:
        with talking_to(backend.engine.url):
            if args.dry_run:
                with backend.sessions() as session:
                    plan = plan_org(session, org)
                for change in plan.changes:
                    print(change)
                for refusal in plan.refusals:
                    print(f"! refused: {refusal}")
                print(f"dry run: {plan.summary()}; nothing was changed")
                return 2 if plan.refusals else 0
            with backend.writing() as session:
                report = apply_org(session, org, now=SystemClock().now(), actor=args.user)
    finally:
        backend.dispose()
    for change in report.plan.changes:
        print(change)
    print(f"applied: {report.plan.summary()}" if not report.plan.empty
          else "the backend's organisation already matches the file; nothing to change")
    return 0


def cmd_show_org(args: argparse.Namespace) -> int:
    from reviewer.org.apply import current_org
    from reviewer.org.file import render_org

    backend = _org_backend(args)
    try:
        with talking_to(backend.engine.url), backend.sessions() as session:
            org = current_org(session)
    finally:
        backend.dispose()
    sys.stdout.write(render_org(org, header="The organisation on the backend, as "
                                            "reviewer-admin show-org wrote it.\nEdit it and "
                                            "give it back to reviewer-admin apply-org."))
    return 0


def cmd_disable_user(args: argparse.Namespace) -> int:
    from reviewer.security.row_security import disable_user

    engine = _team_backend(args.backend)
    try:
        with talking_to(engine.url), engine.connect() as connection:
            report = disable_user(connection, args.name, commit=connection.commit)
    finally:
        engine.dispose()
    print(f"disabled {args.name}: {report.sessions_ended} open sessions ended, "
          f"{report.leases_released} leases returned to the queue")
    return 0


def cmd_revoke_device(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from reviewer.security.devices import revoke_device

    engine = _team_backend(args.backend)
    try:
        with talking_to(engine.url), Session(engine) as session:
            status = revoke_device(session, args.client_id, by=args.by)
            session.commit()
    finally:
        engine.dispose()
    print(f"revoked device {args.client_id} at {status.revoked_at:%Y-%m-%d %H:%M} UTC; "
          "its pushes are refused and it wipes its replica at its next sync")
    return 0


def cmd_list_devices(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import Session

    from reviewer.security.devices import list_devices

    engine = _team_backend(args.backend)
    try:
        with talking_to(engine.url), Session(engine) as session:
            rows = list_devices(session)
    finally:
        engine.dispose()
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        print(f"{row.client_id}  {row.username}  last seen {row.last_seen_at:%Y-%m-%d %H:%M}"
              f"  {state}")
    if not rows:
        print("no devices have synced with this backend yet")
    return 0


def cmd_check_dsa_mapping(args: argparse.Namespace) -> int:
    from reviewer.reports.statements import load_dsa_mapping

    mapping = load_dsa_mapping(Path(args.file) if args.file else None, load_taxonomy())
    print(f"OK {len(mapping.policies)} policies mapped, version {mapping.version}")
    return 0


def cmd_verify_audit_log(args: argparse.Namespace) -> int:
    """Check the hash chains of the replica and/or the backend; exit 1 if one is broken."""
    from reviewer.security.audit import compare_copies, origins, verify_chain

    paths = DataPaths(args.data_dir)
    wanted = ("replica", "backend") if args.database == "both" else (args.database,)
    databases: dict[str, Database] = {}
    broken = False
    try:
        for name in wanted:
            path = paths.replica if name == "replica" else paths.backend
            if not path.exists():
                print(f"{name}: no database at {path}", file=sys.stderr)
                continue
            databases[name] = Database.open(sqlite_url(path), keys=args.keys)
        for name, database in databases.items():
            with database.sessions() as session:
                chains = origins(session)
                if not chains:
                    print(f"OK {name}: the audit log is empty")
                for origin in chains:
                    result = verify_chain(session, origin)
                    if result.ok:
                        print(f"OK {name} chain {origin}: {result.entries:,} entries")
                    else:
                        broken = True
                        print(f"BROKEN {name} chain {origin} at entry "
                              f"{result.first_broken_seq}: {result.reason}")
        if len(databases) == 2:
            with databases["replica"].sessions() as local, \
                    databases["backend"].sessions() as remote:
                for origin in origins(local):
                    result = compare_copies(local, remote, origin)
                    if result.ok:
                        print(f"OK replica chain {origin} matches the backend's copy")
                    else:
                        broken = True
                        print(f"BROKEN replica chain {origin} at entry "
                              f"{result.first_broken_seq}: {result.reason}")
    finally:
        for database in databases.values():
            database.dispose()
    return 1 if broken else 0


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
    init.add_argument("--backend", default=None, metavar="URL",
                      help="the same as the URL argument")
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

    ingest = commands.add_parser(
        "ingest", help="load cases and their media from a JSON Lines file",
        description="Load one case per line (format: see reviewer/queue/ingest.py or "
                    "docs/administration.md) into the backend. Bad lines are reported as "
                    "FILE:LINE: reason and the rest loads; cases already on the backend "
                    "(same external_ref) are skipped. Exit status 1 if any line was "
                    "rejected.")
    ingest.add_argument("file", metavar="FILE.jsonl")
    ingest.add_argument("--backend", "--backend-url", dest="backend", default=None,
                        metavar="URL", help="SQLAlchemy URL of the backend "
                                            "(default: the embedded one in --data-dir)")
    ingest.set_defaults(func=cmd_ingest)

    export = commands.add_parser(
        "export-statements",
        help="write DSA statements of reasons (JSON Lines) for decisions on the backend",
        description="Write one DSA Transparency Database statement of reasons per line for "
                    "each enforcement decision made since --since (read from the backend). "
                    "Decisions with no statement are listed on stderr with the reason. Exit "
                    "status 0 when every exportable decision was written.")
    export.add_argument("--since", type=_day, required=True, metavar="DATE",
                        help="first day (YYYY-MM-DD, UTC) of decisions to export")
    export.add_argument("--until", type=_day, default=None, metavar="DATE",
                        help="export decisions made before this day (default: all since)")
    export.add_argument("--out", required=True, metavar="FILE.jsonl", help="file to write")
    export.add_argument("--user", default="admin",
                        help="who exports, for the audit log (default: admin)")
    export.add_argument("--mapping", default=None, metavar="FILE",
                        help="DSA mapping (default: the shipped resources/dsa_mapping.toml)")
    export.add_argument("--backend", "--backend-url", dest="backend_url", default=None,
                        metavar="URL",
                        help="SQLAlchemy URL of the backend (default: the embedded one)")
    export.set_defaults(func=cmd_export_statements)

    def team_backend(command: argparse.ArgumentParser) -> None:
        command.add_argument("--backend", "--backend-url", dest="backend", required=True,
                             metavar="URL", help="the team backend (postgresql://...), "
                                                 "as its owner role")

    create_user = commands.add_parser(
        "create-user", help="create a person's login role and reviewer account",
        description="Create a PostgreSQL login role NAME in the group role of --role and its "
                    "reviewer account in the teams given. The password is asked twice on the "
                    "terminal, or read from REVIEWER_NEW_PASSWORD; only its SCRAM-SHA-256 "
                    "verifier is sent to the server.")
    create_user.add_argument("name", metavar="NAME")
    create_user.add_argument("--role", default=None,
                             choices=("reviewer", "auditor", "lead", "admin"),
                             help="required unless --from-org gives it")
    create_user.add_argument("--from-org", default=None, metavar="ORG.toml",
                             help="take the role, teams, name and languages from the "
                                  "person's [[person]] block in this organisation file")
    create_user.add_argument("--team", action="append", metavar="TEAM",
                             help="a team code; repeat for several teams")
    create_user.add_argument("--display-name", default=None, help="the name people see")
    team_backend(create_user)
    create_user.set_defaults(func=cmd_create_user)

    apply = commands.add_parser(
        "apply-org", help="create or update teams, queues and people from an org file",
        description="Make the backend's organisation what ORG.toml says, in one "
                    "transaction: teams, queues, escalation teams, people, their roles, "
                    "teams and languages. Parts left out of the file are archived (people "
                    "disabled); a queue with open cases is never removed. Mistakes in the "
                    "file are reported as FILE:LINE: problem and nothing is applied. "
                    "Format: docs/administration.md, resources/org.example.toml.")
    apply.add_argument("file", metavar="ORG.toml")
    apply.add_argument("--dry-run", action="store_true",
                       help="print what would change (+ added, ~ changed, - removed) and "
                            "change nothing")
    apply.add_argument("--user", default="admin", help="who applies it, for the audit log")
    apply.add_argument("--backend", "--backend-url", dest="backend", default=None,
                       metavar="URL", help="the team backend as its owner role (default: "
                                           "the embedded one in --data-dir)")
    apply.set_defaults(func=cmd_apply_org)

    show = commands.add_parser(
        "show-org", help="print the backend's organisation as an org file",
        description="Write the teams, queues, escalation teams and people of the backend "
                    "in the format apply-org reads; show-org | apply-org changes nothing.")
    show.add_argument("--backend", "--backend-url", dest="backend", default=None,
                      metavar="URL", help="the team backend (default: the embedded one)")
    show.set_defaults(func=cmd_show_org)

    disable_user = commands.add_parser(
        "disable-user", help="take a person's access away at once",
        description="The role can no longer log in, the account is inactive, its open "
                    "sessions are ended and its leases go back to the queue.")
    disable_user.add_argument("name", metavar="NAME")
    team_backend(disable_user)
    disable_user.set_defaults(func=cmd_disable_user)

    revoke = commands.add_parser(
        "revoke-device", help="cut off one workstation: it wipes its replica on next sync")
    revoke.add_argument("client_id", metavar="CLIENT_ID")
    revoke.add_argument("--by", default="admin", help="who revokes it, for the record")
    team_backend(revoke)
    revoke.set_defaults(func=cmd_revoke_device)

    devices = commands.add_parser("list-devices", help="the workstations known to a backend")
    team_backend(devices)
    devices.set_defaults(func=cmd_list_devices)

    # Intake tokens for partner tools (reviewer-server's POST /v1/reports).
    from reviewer.server.tokens import add_intake_token_commands

    add_intake_token_commands(commands, team_backend)

    mapping = commands.add_parser("check-dsa-mapping",
                                  help="validate the DSA statement-of-reasons mapping")
    mapping.add_argument("file", nargs="?", help="default: resources/dsa_mapping.toml")
    mapping.set_defaults(func=cmd_check_dsa_mapping)

    verify = commands.add_parser(
        "verify-audit-log", help="check the audit log's hash chains; exit 1 if broken",
        description="Check every audit-log chain of the replica and the backend, and that "
                    "the replica's chain matches the backend's copy of it.")
    verify.add_argument("--database", choices=("replica", "backend", "both"), default="both",
                        help="which database to check (default: both)")
    verify.set_defaults(func=cmd_verify_audit_log)

    add_qa_commands(commands, _day)  # qa-sample, qa-golden, qa-calibration (reviewer/qa)
    return parser


def main(argv: Sequence[str] | None = None,
         parser: argparse.ArgumentParser | None = None, *,
         secrets: SecretStore | None = None) -> int:
    """Run one command; ``parser`` is `build_parser()` with more commands (ui/admin_cli.py).

    The data directory's keys are kept in ``secrets``, the OS keyring unless a store is
    given; commands find them as ``args.keys``."""
    args = (parser or build_parser()).parse_args(argv)
    if args.data_dir is None:
        args.data_dir = default_data_dir()
    args.keys = DatabaseKeys(secrets if secrets is not None else KeyringSecretStore())
    try:
        return int(args.func(args))
    except (TaxonomyError, SchemaVersionError, MappingError, BackendError, UserAdminError,
            DeviceError, QaRefused, OrgError, OrgRefused) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
