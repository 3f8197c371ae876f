"""Run in a separate process: lease cases from a backend until none is left."""

from __future__ import annotations

import sys
import uuid

from reviewer.clock import SystemClock
from reviewer.leases import lease_next_case
from reviewer.store import Database


def claim_all(url: str, reviewer_id: str) -> list[str]:
    backend = Database.open(url, migrate=False)
    claimed = []
    try:
        while True:
            lease = lease_next_case(backend, uuid.UUID(reviewer_id), SystemClock())
            if lease is None:
                return claimed
            claimed.append(str(lease.case_id))
    finally:
        backend.dispose()


if __name__ == "__main__":
    print("\n".join(claim_all(sys.argv[1], sys.argv[2])))
