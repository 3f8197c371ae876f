"""Signing in to the backend service: a password checked once, then a short-lived token.

The password is checked by PostgreSQL itself (SCRAM, against the person's login role made
by ``reviewer-admin create-user``): the service opens one connection as that role and
closes it, and never stores the password. What it hands back is a random token, of which
only the SHA-256 is kept, bound to the workstation (client id) it was issued to and valid
for ``ttl``. Every request checks the token, the account and the device again, so
``disable-user``, ``revoke-device`` and signing out take effect on the next request.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import create_engine, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from reviewer.security.row_security import USERNAME_PATTERN
from reviewer.store.database import Database
from reviewer.store.models import Device, Reviewer, ServiceSession

DEFAULT_TTL = timedelta(hours=1)


class SignInRefused(Exception):
    """Wrong user name or password, or an inactive account (401)."""


class SessionRefused(Exception):
    """No valid session for this request: missing, unknown, expired or revoked (401)."""


class DeviceCutOff(Exception):
    """The workstation was revoked by an admin (403); it wipes its replica."""

    def __init__(self, revoked_at: datetime) -> None:
        super().__init__(f"an admin revoked this device's access on "
                         f"{revoked_at:%Y-%m-%d %H:%M} UTC")
        self.revoked_at = revoked_at


@dataclass(frozen=True)
class Signed:
    """A valid session: whom a request acts for, and from which workstation."""

    reviewer_id: uuid.UUID
    username: str
    client_id: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def check_password(database: Database, username: str, password: str) -> None:
    """Let PostgreSQL check the password of the person's login role; raises SignInRefused."""
    if not USERNAME_PATTERN.fullmatch(username) or not password or len(password) > 1024:
        raise SignInRefused("wrong user name or password")
    url = database.engine.url.set(username=username, password=password)
    engine = create_engine(url, poolclass=NullPool,
                           connect_args={"connect_timeout": 10})
    try:
        with engine.connect():
            pass
    except DBAPIError as error:
        message = str(error.orig or error).lower()
        if "password" in message or "authentication" in message or "not permitted" in message \
                or "role" in message:
            raise SignInRefused("wrong user name or password") from None
        raise
    finally:
        engine.dispose()


def start_session(session: Session, username: str, client_id: str, now: datetime,
                  ttl: timedelta = DEFAULT_TTL) -> tuple[str, datetime]:
    """Issue a token for a person whose password was just checked; the caller commits."""
    reviewer = session.scalar(select(Reviewer).where(Reviewer.username == username))
    if reviewer is None or not reviewer.active:
        raise SignInRefused("wrong user name or password")
    if not client_id or len(client_id) > 64:
        raise SignInRefused("this workstation has no valid client id")
    device = session.get(Device, client_id)
    if device is not None and device.reviewer_id != reviewer.id:
        raise SignInRefused("this workstation's replica belongs to another person")
    if device is not None and device.revoked_at is not None:
        raise DeviceCutOff(device.revoked_at)
    token = secrets.token_urlsafe(32)
    expires = now + ttl
    session.add(ServiceSession(token_sha256=digest(token), reviewer_id=reviewer.id,
                               client_id=client_id, created_at=now, expires_at=expires))
    return token, expires


def verify(session: Session, token: str | None, client_id: str | None,
           now: datetime) -> Signed:
    """The session a request's bearer token names, checked in full."""
    if not token or not client_id or len(token) > 200:
        raise SessionRefused("sign in first")
    row = session.get(ServiceSession, digest(token))
    if row is None or row.revoked_at is not None:
        raise SessionRefused("this session has ended; sign in again")
    if row.expires_at <= now:
        raise SessionRefused("this session has expired; sign in again")
    if row.client_id != client_id:
        raise SessionRefused("this session belongs to another workstation")
    reviewer = session.get(Reviewer, row.reviewer_id)
    if reviewer is None or not reviewer.active:
        raise SessionRefused("this account has been disabled")
    device = session.get(Device, client_id)
    if device is not None and device.revoked_at is not None:
        raise DeviceCutOff(device.revoked_at)
    return Signed(reviewer.id, reviewer.username, client_id)


def end_sessions(session: Session, now: datetime, *, token: str | None = None,
                 reviewer_id: uuid.UUID | None = None, client_id: str | None = None) -> int:
    """Revoke one session (sign-out), or all of a person's or a device's; the caller
    commits."""
    table = ServiceSession.__table__
    statement = update(table).where(table.c.revoked_at.is_(None))
    if token is not None:
        statement = statement.where(table.c.token_sha256 == digest(token))
    if reviewer_id is not None:
        statement = statement.where(table.c.reviewer_id == reviewer_id)
    if client_id is not None:
        statement = statement.where(table.c.client_id == client_id)
    return session.execute(statement.values(revoked_at=now)).rowcount or 0
