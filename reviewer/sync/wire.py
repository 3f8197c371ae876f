"""How sync's values travel between a workstation and ``reviewer-server``: plain JSON.

Rows go as objects of column values; ids, times and bytes as strings (bytes in base64),
read back by each column's type, so a row arrives exactly as the backend holds it. The
same functions encode on one side and decode on the other, so the two cannot drift.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, LargeBinary, Table

from reviewer.queue.leases import Lease
from reviewer.security.devices import DeviceStatus
from reviewer.store.models import GUID, SYNCED_MODELS, UTCDateTime
from reviewer.sync.appliers import ChangeBatch, Mutation, MutationResult
from reviewer.sync.offline_kit import KitEstimate, KitReport


def plain(value: Any) -> Any:
    """A value as JSON can carry it."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _when(text: Any) -> datetime | None:
    if text is None:
        return None
    value = datetime.fromisoformat(str(text))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _reader(column: Any) -> Callable[[Any], Any] | None:
    kind = column.type
    if isinstance(kind, GUID):
        return lambda v: None if v is None else uuid.UUID(str(v))
    if isinstance(kind, UTCDateTime):
        return _when
    if isinstance(kind, LargeBinary):
        return lambda v: None if v is None else base64.b64decode(v)
    if isinstance(kind, Date):
        return lambda v: None if v is None else date.fromisoformat(str(v))
    return None


_READERS: dict[str, list[tuple[str, Callable[[Any], Any]]]] = {}


def _readers(table: Table) -> list[tuple[str, Callable[[Any], Any]]]:
    if table.name not in _READERS:
        _READERS[table.name] = [(c.name, reader) for c in table.columns
                                if (reader := _reader(c)) is not None]
    return _READERS[table.name]


_TABLES = {model.__table__.name: model.__table__ for model in SYNCED_MODELS}


def encode_batch(batch: ChangeBatch) -> dict[str, Any]:
    return {"after": batch.after, "upto": batch.upto,
            "rows": {name: [{k: plain(v) for k, v in row.items()} for row in rows]
                     for name, rows in batch.rows.items()}}


def decode_batch(data: dict[str, Any]) -> ChangeBatch:
    batch = ChangeBatch(after=int(data["after"]), upto=int(data["upto"]))
    for name, rows in data["rows"].items():
        table = _TABLES.get(name)
        if table is None:
            continue  # a table this version does not know: nothing to store it in
        readers = _readers(table)
        for row in rows:
            for column, read in readers:
                if column in row:
                    row[column] = read(row[column])
        batch.rows[name] = rows
    return batch


def encode_mutation(mutation: Mutation) -> dict[str, Any]:
    return {"mutation_id": str(mutation.mutation_id), "client_id": mutation.client_id,
            "seq": mutation.seq, "kind": mutation.kind, "payload": mutation.payload}


def decode_mutation(data: Any) -> Mutation:
    """A pushed mutation; raises ValueError (a 400 for the client) if it is malformed."""
    if not isinstance(data, dict):
        raise ValueError("a mutation is not an object")
    payload = data.get("payload")
    seq = data.get("seq")
    client_id = data.get("client_id")
    if not isinstance(payload, dict):
        raise ValueError("a mutation's payload is not an object")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**62:
        raise ValueError("a mutation's seq is not a whole number in range")
    if not isinstance(client_id, str) or not 0 < len(client_id) <= 64:
        raise ValueError("a mutation's client_id is missing or too long")
    kind = data.get("kind")
    if not isinstance(kind, str) or len(kind) > 32:
        raise ValueError("a mutation's kind is missing or too long")
    return Mutation(uuid.UUID(str(data.get("mutation_id"))), client_id, seq, kind, payload)


def encode_result(result: MutationResult) -> dict[str, Any]:
    return {"mutation_id": str(result.mutation_id), "outcome": result.outcome,
            "reason": result.reason}


def decode_result(data: dict[str, Any]) -> MutationResult:
    return MutationResult(uuid.UUID(data["mutation_id"]), data["outcome"], data.get("reason"))


def encode_lease(lease: Lease | None) -> dict[str, Any] | None:
    if lease is None:
        return None
    return {"case_id": str(lease.case_id), "reviewer_id": str(lease.reviewer_id),
            "fencing_token": lease.fencing_token, "expires_at": lease.expires_at.isoformat()}


def decode_lease(data: Any) -> Lease | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError("a lease is not an object")
    token = data.get("fencing_token")
    if isinstance(token, bool) or not isinstance(token, int):
        raise ValueError("a lease's fencing token is not a whole number")
    expires = _when(data.get("expires_at"))
    if expires is None:
        raise ValueError("a lease has no end")
    return Lease(uuid.UUID(str(data["case_id"])), uuid.UUID(str(data["reviewer_id"])),
                 token, expires)


def encode_device(status: DeviceStatus) -> dict[str, Any]:
    return {"revoked": status.revoked, "revoked_at": plain(status.revoked_at)}


def decode_device(data: dict[str, Any]) -> DeviceStatus:
    return DeviceStatus(bool(data["revoked"]), _when(data.get("revoked_at")))


def encode_estimate(estimate: KitEstimate) -> dict[str, Any]:
    return {"queue_name": estimate.queue_name, "available": estimate.available,
            "planned": estimate.planned, "download_bytes": estimate.download_bytes}


def decode_estimate(data: dict[str, Any]) -> KitEstimate:
    return KitEstimate(data["queue_name"], int(data["available"]), int(data["planned"]),
                       int(data["download_bytes"]))


def encode_kit(report: KitReport) -> dict[str, Any]:
    return {"leased": report.leased, "expires_in_s": report.expires_in.total_seconds(),
            "download_bytes": report.download_bytes}


def decode_kit(data: dict[str, Any]) -> KitReport:
    return KitReport(int(data["leased"]), timedelta(seconds=float(data["expires_in_s"])),
                     int(data["download_bytes"]))
