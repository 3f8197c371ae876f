"""ui/ runs no SQL (invariant 1 of docs/architecture.md): every query and every write of the
replica goes through a `reviewer/` function or service, which the UI is handed.

Each .py file under ui/ is read twice: its syntax tree (imports anywhere in the file, inside
functions too, and calls) and its lines as text (so a use the tree walk does not recognise
is still caught). A file may not import SQLAlchemy, the ORM models or the store's session
helpers, open a session, begin a write, build a SELECT or execute a statement. The one
exception: the models' names for annotations, under ``if TYPE_CHECKING:`` (the rows the UI
shows are handed to it; it never loads one itself).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "ui"

SESSION_HELPERS = frozenset({
    "Database", "WRITE_INTENT", "check_schema", "current_revision", "make_engine",
    "talking_to", "upgrade_to_head", "writing",
})
"""What `reviewer.store.database` holds that opens connections or sessions or runs SQL
(its errors and `DataPaths` the UI may import)."""

CALLS = {"sessions": "opens a session", "execute": "executes a statement",
         "writing": "begins a write"}
"""Calls forbidden whatever they are called on (``x.sessions()``, ``db.writing()``)."""

FUNCTIONS = {"select": "builds a SELECT", "writing": "begins a write"}
"""Calls forbidden by plain name (``select(...)``, ``writing(sessions)``); ``.select(`` is
also a Qt selection model's method, so only the bare name counts."""

LINE_PATTERNS = (
    (re.compile(r"^\s*(?:from|import)\s+sqlalchemy\b"), "imports sqlalchemy"),
    (re.compile(r"^(?:from|import)\s+reviewer\.store\.models\b"),
     "imports reviewer.store.models"),
    (re.compile(r"^\s*from\s+reviewer\.store\s+import\b.*\b(?:models|database)\b"),
     "imports a store module"),
    (re.compile(r"\.sessions\("), "opens a session"),
    (re.compile(r"\bwriting\("), "begins a write"),
    (re.compile(r"(?<![\w.])select\("), "builds a SELECT"),
    (re.compile(r"\.execute\("), "executes a statement"),
)


def _called_name(func: ast.expr) -> tuple[str | None, str | None]:
    """(attribute name, plain name) of what a call calls."""
    if isinstance(func, ast.Attribute):
        return func.attr, None
    if isinstance(func, ast.Name):
        return None, func.id
    return None, None


def tree_offences(source: str, where: str) -> list[str]:
    """``where:line: what`` for each forbidden import or call in ``source``'s syntax tree."""
    found = []
    tree = ast.parse(source, where)
    for_annotations = {id(child) for node in ast.walk(tree)
                       if isinstance(node, ast.If) and isinstance(node.test, ast.Name)
                       and node.test.id == "TYPE_CHECKING"
                       for child in node.body}
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                if name.split(".")[0] == "sqlalchemy" or name in (
                        "reviewer.store.models", "reviewer.store.database"):
                    found.append(f"{where}:{line}: imports {name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            module = node.module
            names = {alias.name for alias in node.names}
            if module.split(".")[0] == "sqlalchemy":
                found.append(f"{where}:{line}: imports from {module}")
            elif module == "reviewer.store.models" and id(node) not in for_annotations:
                found.append(f"{where}:{line}: imports reviewer.store.models")
            elif module == "reviewer.store.database" and names & (SESSION_HELPERS | {"*"}):
                helpers = ", ".join(sorted(names & (SESSION_HELPERS | {"*"})))
                found.append(f"{where}:{line}: imports {helpers} from reviewer.store.database")
            elif module == "reviewer.store" and names & {"models", "database"}:
                found.append(f"{where}:{line}: imports "
                             f"{', '.join(sorted(names & {'models', 'database'}))} "
                             "from reviewer.store")
        elif isinstance(node, ast.Call):
            attribute, plain = _called_name(node.func)
            if attribute in CALLS:
                found.append(f"{where}:{line}: .{attribute}(...) {CALLS[attribute]}")
            elif plain in FUNCTIONS:
                found.append(f"{where}:{line}: {plain}(...) {FUNCTIONS[plain]}")
    return sorted(set(found), key=lambda text: (int(text.split(":")[1]), text))


def line_offences(source: str, where: str) -> list[str]:
    """``where:line: what`` for each line of ``source`` that reads like SQL in the UI."""
    return [f"{where}:{number}: {what}"
            for number, text in enumerate(source.splitlines(), start=1)
            for pattern, what in LINE_PATTERNS if pattern.search(text)]


def ui_files() -> list[Path]:
    return sorted(UI.rglob("*.py"))


def _offences(check) -> list[str]:  # type: ignore[no-untyped-def]
    found = []
    for path in ui_files():
        found += check(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    return found


def test_every_ui_module_is_checked():
    files = {str(path.relative_to(UI)) for path in ui_files()}
    assert len(files) >= 30
    for expected in ("main_window.py", "admin_cli.py", "queue/model.py",
                     "reports/case_report.py", "reports/reports_view.py", "qa/my_quality.py",
                     "wellness/wellness_view.py", "sync/travel_dialog.py"):
        assert expected in files


def test_no_ui_module_imports_sqlalchemy_or_runs_sql():
    found = _offences(tree_offences)
    assert not found, "SQL in the UI (ask a reviewer/ service instead):\n" + "\n".join(found)


def test_no_ui_line_reads_like_sql():
    found = _offences(line_offences)
    assert not found, "SQL in the UI (ask a reviewer/ service instead):\n" + "\n".join(found)


# -- the checks themselves catch what they are for --------------------------------------------

OFFENDING = '''\
import sqlalchemy
import sqlalchemy.orm as orm
from sqlalchemy.orm import Session
from reviewer.store.models import Case
from reviewer.store.database import DataPaths, writing
from reviewer.store import models


def load(workstation, sessions):
    from sqlalchemy import func
    with workstation.replica.sessions() as session:
        session.execute(select(Case))
    with writing(sessions) as session:
        pass
    with workstation.replica.writing() as session:
        pass
'''


def test_the_tree_walk_finds_each_kind_of_offence():
    found = tree_offences(OFFENDING, "ui/example.py")
    assert found == [
        "ui/example.py:1: imports sqlalchemy",
        "ui/example.py:2: imports sqlalchemy.orm",
        "ui/example.py:3: imports from sqlalchemy.orm",
        "ui/example.py:4: imports reviewer.store.models",
        "ui/example.py:5: imports writing from reviewer.store.database",
        "ui/example.py:6: imports models from reviewer.store",
        "ui/example.py:10: imports from sqlalchemy",
        "ui/example.py:11: .sessions(...) opens a session",
        "ui/example.py:12: .execute(...) executes a statement",
        "ui/example.py:12: select(...) builds a SELECT",
        "ui/example.py:13: writing(...) begins a write",
        "ui/example.py:15: .writing(...) begins a write",
    ]


def test_a_model_imported_to_use_it_is_an_offence_outside_type_checking():
    source = "def load():\n    from reviewer.store.models import Case\n    return Case\n"
    assert tree_offences(source, "ui/example.py") == [
        "ui/example.py:2: imports reviewer.store.models"]


def test_the_line_scan_finds_each_kind_of_offence():
    found = line_offences(OFFENDING, "ui/example.py")
    assert found == [
        "ui/example.py:1: imports sqlalchemy",
        "ui/example.py:2: imports sqlalchemy",
        "ui/example.py:3: imports sqlalchemy",
        "ui/example.py:4: imports reviewer.store.models",
        "ui/example.py:6: imports a store module",
        "ui/example.py:10: imports sqlalchemy",
        "ui/example.py:11: opens a session",
        "ui/example.py:12: builds a SELECT",
        "ui/example.py:12: executes a statement",
        "ui/example.py:13: begins a write",
        "ui/example.py:15: begins a write",
    ]


@pytest.mark.parametrize("check", [tree_offences, line_offences])
def test_what_the_ui_may_do_is_not_flagged(check):
    allowed = '''\
from typing import TYPE_CHECKING

from reviewer.store.database import BackendUnavailable, DataPaths
from reviewer.queue.pages import QueuePages

if TYPE_CHECKING:
    from reviewer.store.models import Case

LICENCES = [("SQLAlchemy", "https://www.sqlalchemy.org/")]


def show(view, model, pages: QueuePages, run_sessions):
    view.selectionModel().select(model.index(0, 0))
    run_sessions()
    return pages.count(None, None)
'''
    assert check(allowed, "ui/allowed.py") == []
