"""The case queue as a Qt table model: it holds case ids and loads rows a page at a time."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor
from sqlalchemy.orm import Session, sessionmaker

from reviewer.clock import Clock
from reviewer.queue import (
    CaseRow,
    QueueFilter,
    SlaState,
    case_ids,
    case_rows,
    format_time_left,
    sla_state,
)
from reviewer.vocabulary import CaseStatus, Channel, Surface

PAGE_SIZE = 200
CACHED_PAGES = 20

SLA_STYLE = {
    # icon glyph, text colour, background: readable without colour by glyph and label
    SlaState.ON_TRACK: ("●", QColor("#1b5e20"), QColor("#e8f5e9")),
    SlaState.AT_RISK: ("▲", QColor("#7a4f01"), QColor("#fff4d6")),
    SlaState.BREACHED: ("■", QColor("#8e1212"), QColor("#fde2e2")),
}


def _label(enum: type, value: str) -> str:
    try:
        return enum(value).label
    except ValueError:
        return value


class Column:
    def __init__(self, key: str, title: str, render: Callable[[CaseRow, Any], str]):
        self.key = key
        self.title = title
        self.render = render


class CaseQueueModel(QAbstractTableModel):
    COLUMNS = (
        Column("ref", "Reference", lambda r, now: r.external_ref),
        Column("sla", "SLA left", lambda r, now: format_time_left(
            (r.due_at - now).total_seconds())),
        Column("queue", "Queue", lambda r, now: r.queue_name),
        Column("channel", "Channel", lambda r, now: _label(Channel, r.channel)),
        Column("surface", "Surface", lambda r, now: _label(Surface, r.surface)),
        Column("area", "Policy area", lambda r, now: r.policy_area.replace("_", " ")),
        Column("language", "Lang", lambda r, now: r.language),
        Column("status", "Status", lambda r, now: _label(CaseStatus, r.status)),
        Column("holder", "Lease holder", lambda r, now: r.lease_holder or ""),
        Column("media", "Media", lambda r, now: str(r.media_count)),
    )
    SLA_COLUMN = 1
    IdRole = Qt.ItemDataRole.UserRole + 1
    SlaStateRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, parent=None):
        super().__init__(parent)
        self._sessions = sessions
        self._clock = clock
        self._filter = QueueFilter()
        self._ids: list[uuid.UUID] = []
        self._pages: OrderedDict[int, dict[uuid.UUID, CaseRow]] = OrderedDict()
        self._now = clock.now()

    # -- loading ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload which cases are in the queue; rows are fetched again when shown."""
        with self._sessions() as session:
            ids = case_ids(session, self._filter)
        self.beginResetModel()
        self._ids = ids
        self._pages.clear()
        self._now = self._clock.now()
        self.endResetModel()

    def set_filter(self, query: QueueFilter) -> None:
        self._filter = query
        self.refresh()

    def _row(self, row: int) -> CaseRow | None:
        page = row // PAGE_SIZE
        rows = self._pages.get(page)
        if rows is None:
            ids = self._ids[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
            with self._sessions() as session:
                rows = case_rows(session, ids)
            self._pages[page] = rows
            while len(self._pages) > CACHED_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page)
        return rows.get(self._ids[row])

    def case_id(self, row: int) -> uuid.UUID | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, case_id: uuid.UUID) -> int | None:
        try:
            return self._ids.index(case_id)
        except ValueError:
            return None

    def remove_case(self, case_id: uuid.UUID) -> None:
        """Take a case out of the view at once (it was decided here)."""
        row = self.row_of(case_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._ids[row]
        self._pages.clear()
        self.endRemoveRows()

    def tick(self, first_row: int, last_row: int) -> None:
        """Move the SLA clocks on; only the given (visible) rows repaint."""
        self._now = self._clock.now()
        if not self._ids or last_row < first_row:
            return
        first_row = max(0, first_row)
        last_row = min(len(self._ids) - 1, last_row)
        self.dataChanged.emit(
            self.index(first_row, self.SLA_COLUMN), self.index(last_row, self.SLA_COLUMN),
            [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.DecorationRole],
        )

    # -- Qt model interface ----------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt override
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt override
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # Qt override
        horizontal = orientation == Qt.Orientation.Horizontal
        if horizontal and role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(self.COLUMNS):
            return self.COLUMNS[section].title
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # Qt override
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            return None
        if role == self.IdRole:
            return str(self._ids[index.row()])
        row = self._row(index.row())
        if row is None:
            return None
        column = self.COLUMNS[index.column()]
        state = sla_state(row.reported_at, row.due_at, self._now)
        if role == Qt.ItemDataRole.DisplayRole:
            text = column.render(row, self._now)
            if column.key == "sla":
                return f"{SLA_STYLE[state][0]} {text}"
            return text
        if role == self.SlaStateRole:
            return state.value
        if column.key == "sla":
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(SLA_STYLE[state][1])
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(SLA_STYLE[state][2])
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{state.label}: due {row.due_at:%a %d %b %H:%M} UTC"
        if role == Qt.ItemDataRole.ToolTipRole and column.key == "ref":
            return f"{row.queue_name} · severity {row.severity} · reach {row.reach:,}"
        return None
