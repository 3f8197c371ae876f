"""Run in a separate process: lease cases from a backend until none is left.

With a third argument (a folder), the worker says it is ready by creating a file named after
its pid there, and starts only once a file named ``go`` appears, so that every worker starts
claiming at the same moment however long each took to start.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

from reviewer.clock import SystemClock
from reviewer.queue.leases import lease_next_case
from reviewer.security.secrets import KeyringSecretStore
from reviewer.store.database import Database
from reviewer.store.keys import DatabaseKeys


def claim_all(url: str, reviewer_id: str, barrier: Path | None = None) -> list[str]:
    # An embedded backend's key is in the keyring, where the test that started us filed it.
    backend = Database.open(url, migrate=False, keys=DatabaseKeys(KeyringSecretStore()))
    claimed = []
    try:
        if barrier is not None:
            with backend.sessions() as session:  # connected and warm before the start
                session.connection()
            (barrier / str(os.getpid())).touch()
            deadline = time.monotonic() + 60
            while not (barrier / "go").exists():
                if time.monotonic() > deadline:
                    raise TimeoutError("the start signal never came")
                time.sleep(0.005)
        while True:
            lease = lease_next_case(backend, uuid.UUID(reviewer_id), SystemClock())
            if lease is None:
                return claimed
            claimed.append(str(lease.case_id))
    finally:
        backend.dispose()


if __name__ == "__main__":
    barrier = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    print("\n".join(claim_all(sys.argv[1], sys.argv[2], barrier)))
