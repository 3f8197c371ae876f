"""A read-only table model over a list of rows, with fixed column headers.

Subclasses give the headers (``HEADERS``, or ``headers=`` for a table whose columns are only
known at run time) and write ``data``; rows, counts and the header row are here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

RowT = TypeVar("RowT")


class RowsTableModel(QAbstractTableModel, Generic[RowT]):
    """Rows of one kind, one per line; `set_rows` replaces them all."""

    HEADERS: tuple[str, ...] = ()

    def __init__(self, parent: QObject | None = None, rows: Sequence[RowT] = (),
                 headers: Sequence[str] | None = None):
        super().__init__(parent)
        self._rows: list[RowT] = list(rows)
        self._headers: tuple[str, ...] = self.HEADERS if headers is None else tuple(headers)

    def set_rows(self, rows: Sequence[RowT]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, row: int) -> RowT | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt override
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt override
        return 0 if parent.isValid() else len(self._headers)

    def headerData(self, section: int, orientation: Qt.Orientation,  # Qt override
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self._headers)):
            return self._headers[section]
        return None
