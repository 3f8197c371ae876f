"""The case queue as a Qt table model.

It holds only the ids of the rows fetched so far, a page at a time as the view scrolls
(``canFetchMore``/``fetchMore``), and keeps a bounded cache of whole rows; a row that fell
out of the cache is read again by id. Sorting and filtering start again from the first
page, so the queue stays fast however many cases the replica holds. The rows come from a
`reviewer.queue.pages.QueuePages`; the model itself never reads the replica.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from reviewer.clock import Clock
from reviewer.queue.case_queue import (
    CaseRow,
    PageCursor,
    PriorityWeights,
    QueueFilter,
    QueueOrder,
    SlaState,
    SortKey,
    explain_priority,
    format_age,
    format_time_left,
    priority_score,
    sla_state,
)
from reviewer.queue.pages import PAGE_SIZE, QueuePages
from reviewer.vocabulary import CaseStatus, Channel, Surface

CACHED_PAGES = 25

SLA_STYLE = {
    # symbol, text colour, background: the symbol and the label read without colour
    SlaState.ON_TRACK: ("●", QColor("#1b5e20"), QColor("#e8f5e9")),
    SlaState.AT_RISK: ("▲", QColor("#7a4f01"), QColor("#fff4d6")),
    SlaState.BREACHED: ("■", QColor("#8e1212"), QColor("#fde2e2")),
}


def _label(enum: type, value: str) -> str:
    try:
        return enum(value).label
    except ValueError:
        return value


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    sort: SortKey
    render: Callable[[CaseRow, datetime, PriorityWeights], str]
    align_right: bool = False


COLUMNS = (
    Column("priority", "Priority", SortKey.PRIORITY,
           lambda r, now, w: f"{priority_score(r.priority_key, now, w):.0f}", True),
    Column("sla", "SLA left", SortKey.SLA,
           lambda r, now, w: format_time_left((r.due_at - now).total_seconds())),
    Column("ref", "Reference", SortKey.REFERENCE,
           lambda r, now, w: ("✎ " if r.note_count else "") + r.external_ref),
    Column("channel", "Channel", SortKey.CHANNEL, lambda r, now, w: _label(Channel, r.channel)),
    Column("surface", "Surface", SortKey.SURFACE, lambda r, now, w: _label(Surface, r.surface)),
    Column("area", "Policy area", SortKey.POLICY_AREA, lambda r, now, w: r.policy_area),
    Column("language", "Lang", SortKey.LANGUAGE, lambda r, now, w: r.language),
    Column("age", "Age", SortKey.AGE,
           lambda r, now, w: format_age((now - r.reported_at).total_seconds()), True),
    Column("status", "Status", SortKey.STATUS, lambda r, now, w: _label(CaseStatus, r.status)),
    Column("holder", "Lease holder", SortKey.LEASE_HOLDER, lambda r, now, w: r.lease_holder or ""),
    Column("media", "Media", SortKey.MEDIA, lambda r, now, w: str(r.media_count), True),
)


UNSERVED_MARK = "\u26a0"
"""Before a case's language when nobody on shift reviews it (leads only)."""


class CaseQueueModel(QAbstractTableModel):
    COLUMNS = COLUMNS
    PRIORITY_COLUMN = 0
    SLA_COLUMN = 1
    IdRole = Qt.ItemDataRole.UserRole + 1
    SlaStateRole = Qt.ItemDataRole.UserRole + 2

    query_changed = Signal()

    def __init__(self, pages: QueuePages, clock: Clock,
                 weights: PriorityWeights | None = None, parent=None):
        super().__init__(parent)
        self._source = pages
        self._clock = clock
        self.weights = weights or PriorityWeights()
        self.area_names: dict[str, str] = {}
        self.filter = QueueFilter()
        self.order = QueueOrder()
        self._ids: list[uuid.UUID] = []
        self._index: dict[uuid.UUID, int] = {}
        self._pages: OrderedDict[int, dict[uuid.UUID, CaseRow]] = OrderedDict()
        self._cursor: PageCursor | None = None
        self._has_more = False
        self._now = clock.now()
        self.unserved: frozenset[uuid.UUID] = frozenset()
        """Cases in a language nobody on shift reviews, marked for leads (set by
        `ui.queue.lead.LeadQueueActions`)."""

    # -- what the queue shows --------------------------------------------------------------

    def set_filter(self, query: QueueFilter) -> None:
        self.filter = query
        self.refresh()

    def set_order(self, order: QueueOrder) -> None:
        self.order = order
        self.refresh()

    def set_unserved(self, case_ids: frozenset[uuid.UUID]) -> None:
        """Mark these cases' language as unserved (nobody on shift reviews it)."""
        if case_ids == self.unserved:
            return
        self.unserved = frozenset(case_ids)
        column = next(i for i, c in enumerate(self.COLUMNS) if c.key == "language")
        if self._ids:
            self.dataChanged.emit(self.index(0, column), self.index(len(self._ids) - 1, column),
                                  [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole])

    def is_unserved(self, row: int) -> bool:
        case_id = self.case_id(row)
        return case_id is not None and case_id in self.unserved

    def refresh(self) -> None:
        """Start again from the first page (after a sync, a filter or a sort change)."""
        self.beginResetModel()
        self._ids = []
        self._index = {}
        self._pages.clear()
        self._cursor = None
        self._has_more = True
        self._now = self._clock.now()
        self._load_next_page()
        self.endResetModel()
        self.query_changed.emit()

    def _load_next_page(self) -> list[CaseRow]:
        rows = self._source.page(self.filter, self.order, self._now, after=self._cursor,
                                 limit=PAGE_SIZE)
        self._has_more = len(rows) == PAGE_SIZE
        if rows:
            self._cursor = PageCursor(rows[-1].sort_value, rows[-1].id)
            first = len(self._ids)
            for offset, row in enumerate(rows):
                self._index[row.id] = first + offset
            self._ids.extend(row.id for row in rows)
            self._remember(first // PAGE_SIZE, {row.id: row for row in rows})
        return rows

    def _remember(self, page: int, rows: dict[uuid.UUID, CaseRow]) -> None:
        self._pages[page] = rows
        self._pages.move_to_end(page)
        while len(self._pages) > CACHED_PAGES:
            self._pages.popitem(last=False)

    def _row(self, row: int) -> CaseRow | None:
        page = row // PAGE_SIZE
        rows = self._pages.get(page)
        if rows is None:
            ids = self._ids[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
            rows = self._source.rows(ids)
            self._remember(page, rows)
        else:
            self._pages.move_to_end(page)
        return rows.get(self._ids[row])

    def case_id(self, row: int) -> uuid.UUID | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, case_id: uuid.UUID | None) -> int | None:
        return self._index.get(case_id) if case_id is not None else None

    def row_data(self, row: int) -> CaseRow | None:
        return self._row(row) if 0 <= row < len(self._ids) else None

    def remove_case(self, case_id: uuid.UUID) -> None:
        """Take a case out of the view at once (it was decided here)."""
        row = self.row_of(case_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._ids[row]
        self._index = {cid: i for i, cid in enumerate(self._ids)}
        self._pages.clear()
        self.endRemoveRows()

    def tick(self, first_row: int, last_row: int) -> None:
        """Move the clocks on; only the given (visible) rows repaint."""
        self._now = self._clock.now()
        if not self._ids or last_row < first_row:
            return
        first_row = max(0, first_row)
        last_row = min(len(self._ids) - 1, last_row)
        roles = [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole,
                 Qt.ItemDataRole.BackgroundRole]
        for column in (self.PRIORITY_COLUMN, self.SLA_COLUMN):
            self.dataChanged.emit(self.index(first_row, column),
                                  self.index(last_row, column), roles)

    # -- Qt model interface ----------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt override
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt override
        return 0 if parent.isValid() else len(self.COLUMNS)

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> bool:  # Qt override
        return not parent.isValid() and self._has_more

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex) -> None:  # Qt override
        if parent.isValid() or not self._has_more:
            return
        rows = self._source.page(self.filter, self.order, self._now, after=self._cursor,
                                 limit=PAGE_SIZE)
        self._has_more = len(rows) == PAGE_SIZE
        if not rows:
            return
        first = len(self._ids)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._cursor = PageCursor(rows[-1].sort_value, rows[-1].id)
        for offset, row in enumerate(rows):
            self._index[row.id] = first + offset
        self._ids.extend(row.id for row in rows)
        self._remember(first // PAGE_SIZE, {row.id: row for row in rows})
        self.endInsertRows()

    def sort(self, column: int,
             order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:  # Qt override
        if not 0 <= column < len(self.COLUMNS):
            return
        descending = order == Qt.SortOrder.DescendingOrder
        new = QueueOrder(self.COLUMNS[column].sort, descending)
        if new != self.order:
            self.set_order(new)

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
        if role == Qt.ItemDataRole.DisplayRole:
            if column.key == "area":
                return self.area_names.get(row.policy_area, row.policy_area)
            text = column.render(row, self._now, self.weights)
            if column.key == "language" and row.id in self.unserved:
                return f"{UNSERVED_MARK} {text}"
            if column.key == "sla":
                state = sla_state(row.reported_at, row.due_at, self._now)
                return f"{SLA_STYLE[state][0]} {text}"
            return text
        if role == Qt.ItemDataRole.TextAlignmentRole and column.align_right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == self.SlaStateRole:
            return sla_state(row.reported_at, row.due_at, self._now).value
        if column.key == "sla":
            state = sla_state(row.reported_at, row.due_at, self._now)
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(SLA_STYLE[state][1])
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(SLA_STYLE[state][2])
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{state.label}: due {row.due_at:%a %d %b %H:%M} UTC"
        if role == Qt.ItemDataRole.ToolTipRole:
            if column.key == "priority":
                return explain_priority(row.severity, row.channel, row.reach, row.due_at,
                                        self._now, self.weights).explain()
            if column.key == "ref":
                notes = f" · {row.note_count} handoff note(s)" if row.note_count else ""
                return f"{row.queue_name} · severity {row.severity}{notes}"
            if column.key == "language" and row.id in self.unserved:
                return (f"Unserved language: nobody on shift in this queue's team reviews "
                        f"{row.language.upper()}")
            if column.key == "holder" and row.lease_expires_at is not None:
                return f"Leased until {row.lease_expires_at:%H:%M} UTC"
        return None
