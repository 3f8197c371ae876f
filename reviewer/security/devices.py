"""Workstations (one replica each) known to the backend, so that an admin can cut one off.

Every sync starts with `check_in`: the device is registered on its first sync, as the
reviewer who is signed in (the backend's row-level security lets a reviewer add and see only
their own devices), and its ``last_seen_at`` moves on. A device an admin has revoked
(``reviewer-admin revoke-device``) is told so, and wipes its replica; the backend already
refuses its pushes (see reviewer.security.row_security).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from reviewer.store.models import Device, Reviewer


class DeviceError(Exception):
    """The device cannot check in or be changed; the message says why."""


@dataclass(frozen=True)
class DeviceStatus:
    revoked: bool
    revoked_at: datetime | None = None


def check_in(session: Session, client_id: str, username: str, now: datetime) -> DeviceStatus:
    """Register this device if the backend does not know it yet, note that it was seen, and
    say whether it has been revoked. The caller commits the session."""
    if not client_id or len(client_id) > 64:
        raise DeviceError("this workstation has no valid client id")
    reviewer_id = session.scalar(
        select(Reviewer.id).where(Reviewer.username == username, Reviewer.active.is_(True)))
    if reviewer_id is None:
        raise DeviceError(f"there is no active reviewer account {username!r} on the backend")
    device = session.get(Device, client_id)
    if device is None:
        device = Device(client_id=client_id, reviewer_id=reviewer_id, registered_at=now,
                        last_seen_at=now)
        session.add(device)
        session.flush()
        return DeviceStatus(revoked=False)
    if device.reviewer_id != reviewer_id:
        raise DeviceError("this workstation's replica belongs to another reviewer")
    if device.revoked_at is not None:
        return DeviceStatus(revoked=True, revoked_at=device.revoked_at)
    device.last_seen_at = now
    session.flush()
    return DeviceStatus(revoked=False)


def revoke_device(session: Session, client_id: str, by: str,
                  now: datetime | None = None) -> DeviceStatus:
    """Cut a device off at once: its pushes are refused from now on, and at its next sync
    it wipes its replica. Revoking twice keeps the first time. The caller commits."""
    from reviewer.store.models import utcnow

    device = session.get(Device, client_id, with_for_update=True)
    if device is None:
        raise DeviceError(f"no device {client_id!r} is registered on this backend")
    if device.revoked_at is None:
        device.revoked_at = now or utcnow()
        device.revoked_by = by[:64]
        session.flush()
    return DeviceStatus(revoked=True, revoked_at=device.revoked_at)


@dataclass(frozen=True)
class DeviceRow:
    client_id: str
    username: str
    registered_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None


def list_devices(session: Session) -> list[DeviceRow]:
    rows = session.execute(
        select(Device.client_id, Reviewer.username, Device.registered_at,
               Device.last_seen_at, Device.revoked_at)
        .join(Reviewer, Reviewer.id == Device.reviewer_id)
        .order_by(Reviewer.username, Device.registered_at))
    return [DeviceRow(*row) for row in rows]
