"""Guard against a PySide6 that corrupts the interpreter when Python emits signals.

PySide6 6.12.0 drops a reference to ``True`` on every ``emit()``; on Python 3.11 the process
aborts after about a thousand emits. The app emits signals all shift long, so a build with
that defect must never be installed (pyproject.toml excludes it).
"""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import sys
from PySide6.QtCore import QObject, Signal

class Emitter(QObject):
    changed = Signal(int)

emitter = Emitter()
before = sys.getrefcount(True)
for value in range(20_000):
    emitter.changed.emit(value)
print(before - sys.getrefcount(True))
"""


def test_emitting_many_signals_neither_crashes_nor_leaks_true():
    result = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, f"the interpreter aborted: {result.stderr[-500:]}"
    assert abs(int(result.stdout.strip())) < 50
