"""Partner tools' bearer tokens for intake (``POST /v1/reports``): one source, one channel.

``reviewer-admin create-intake-token --source NAME --channel partner --backend URL`` makes
a random token and prints it once; only its SHA-256 is stored (``intake_token``). A token
names its source (whose reports it may ask after) and the channel every case it sends is
created in. ``revoke-intake-token --source NAME`` revokes every active token of a source
at once (the next request with it gets 401); ``list-intake-tokens`` shows them, never the
token itself. A source may hold several active tokens (to rotate without a gap), all for
the same channel.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import secrets
import sys
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from reviewer.store.models import IntakeToken
from reviewer.vocabulary import Channel

TOKEN_PREFIX = "rvi_"
"""Intake tokens start with this, so a leaked one is recognisable (e.g. by secret scanners)."""
SOURCE_PATTERN = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
MAX_TOKEN_LENGTH = 200


class IntakeTokenError(ValueError):
    """A token command refused, in words for the admin."""


@dataclass(frozen=True)
class IntakeSource:
    """Who an intake request comes from: its source name and the channel it may use."""

    source: str
    channel: str
    token_id: object


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def check_source(name: str) -> str:
    if not SOURCE_PATTERN.fullmatch(name):
        raise IntakeTokenError(
            f"a source name is 1 to 64 lower-case letters, digits, '.', '_' or '-', starting "
            f"with a letter or digit, not {name!r}")
    return name


def check_channel(channel: str) -> str:
    allowed = sorted(c.value for c in Channel)
    if channel not in allowed:
        raise IntakeTokenError(f"channel {channel!r} is not one of: {', '.join(allowed)}")
    return channel


def create_token(session: Session, source: str, channel: str, now: datetime, *,
                 by: str = "") -> str:
    """A new token for ``source`` in ``channel``; returns it (the only time it is seen).
    The caller commits."""
    check_source(source)
    check_channel(channel)
    other = session.scalar(select(IntakeToken.channel).where(
        IntakeToken.source == source, IntakeToken.revoked_at.is_(None),
        IntakeToken.channel != channel).limit(1))
    if other is not None:
        raise IntakeTokenError(
            f"source {source!r} already has an active token for channel {other!r}: a source "
            "sends in one channel; revoke its tokens first to change it")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(IntakeToken(source=source, channel=channel, token_sha256=digest(token),
                            created_at=now, created_by=by[:64], revoked_at=None))
    session.flush()
    return token


def revoke_tokens(session: Session, source: str, now: datetime) -> int:
    """Revoke every active token of ``source``; how many. The caller commits."""
    table = IntakeToken.__table__
    result = session.execute(update(table).where(
        table.c.source == source, table.c.revoked_at.is_(None)).values(revoked_at=now))
    return result.rowcount or 0


def verify_token(session: Session, token: str | None) -> IntakeSource | None:
    """The source an active token belongs to, or None (missing, unknown or revoked)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = session.scalar(select(IntakeToken).where(
        IntakeToken.token_sha256 == digest(token), IntakeToken.revoked_at.is_(None)))
    if row is None:
        return None
    return IntakeSource(row.source, row.channel, row.id)


def list_tokens(session: Session) -> list[IntakeToken]:
    return list(session.scalars(select(IntakeToken).order_by(
        IntakeToken.source, IntakeToken.created_at)))


# -- reviewer-admin commands -----------------------------------------------------------------


def _run(args: argparse.Namespace, work):  # type: ignore[no-untyped-def]
    from reviewer.store.database import BackendError, Database

    backend = Database.open(args.backend, migrate=False)
    try:
        if backend.is_embedded:
            raise BackendError("intake tokens live on a PostgreSQL team backend served by "
                               "reviewer-server: give its URL with --backend")
        with backend.talking(), backend.writing() as session:
            return work(session)
    finally:
        backend.dispose()


def cmd_create_intake_token(args: argparse.Namespace) -> int:
    from reviewer.clock import SystemClock

    try:
        token = _run(args, lambda session: create_token(
            session, args.source, args.channel, SystemClock().now(), by=args.by))
    except IntakeTokenError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"created an intake token for source {args.source} (channel {args.channel}); it "
          "is shown this once and stored only hashed:", file=sys.stderr)
    print(token)
    return 0


def cmd_revoke_intake_token(args: argparse.Namespace) -> int:
    from reviewer.clock import SystemClock

    try:
        check_source(args.source)
    except IntakeTokenError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    revoked = _run(args, lambda session: revoke_tokens(session, args.source,
                                                       SystemClock().now()))
    if not revoked:
        print(f"source {args.source} has no active intake token", file=sys.stderr)
        return 1
    print(f"revoked {revoked} intake token{'s' if revoked != 1 else ''} of source "
          f"{args.source}; requests with {'them' if revoked != 1 else 'it'} now get 401")
    return 0


def cmd_list_intake_tokens(args: argparse.Namespace) -> int:
    rows = _run(args, list_tokens)
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        by = f" by {row.created_by}" if row.created_by else ""
        print(f"{row.source}  channel {row.channel}  created {row.created_at:%Y-%m-%d %H:%M}"
              f"{by}  {state}  (id {row.id})")
    if not rows:
        print("no intake tokens on this backend")
    return 0


def add_intake_token_commands(commands, team_backend) -> None:  # type: ignore[no-untyped-def]
    """create-intake-token, revoke-intake-token and list-intake-tokens for reviewer-admin;
    ``team_backend(parser)`` adds the required ``--backend URL``."""
    channels = sorted(c.value for c in Channel)
    create = commands.add_parser(
        "create-intake-token", help="a bearer token for a partner tool's POST /v1/reports",
        description="Make a token for SOURCE's tool to post reports to reviewer-server. "
                    "Every case it sends is created in --channel. The token is printed once "
                    "(stdout) and only its SHA-256 is stored.")
    create.add_argument("--source", required=True, metavar="NAME",
                        help="the partner or tool, e.g. hotline-eu")
    create.add_argument("--channel", required=True, choices=channels,
                        help="the channel its cases are created in (e.g. partner)")
    create.add_argument("--by", default="admin", help="who creates it, for the record")
    team_backend(create)
    create.set_defaults(func=cmd_create_intake_token)

    revoke = commands.add_parser(
        "revoke-intake-token", help="revoke a source's intake tokens at once",
        description="Every active token of SOURCE stops working on its next request (401).")
    revoke.add_argument("--source", required=True, metavar="NAME")
    team_backend(revoke)
    revoke.set_defaults(func=cmd_revoke_intake_token)

    listing = commands.add_parser("list-intake-tokens",
                                  help="the intake tokens of a backend (never the tokens)")
    team_backend(listing)
    listing.set_defaults(func=cmd_list_intake_tokens)
