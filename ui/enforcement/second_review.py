"""Second reviews (four eyes): the decisions waiting for a second reviewer, approved or
rejected with a note (Ctrl+Shift+R in the main window).

Non-modal: the dialog emits ``verdict_given(decision_id, approve, note)`` and the caller
records it and reports back with `show_done` or `show_refusal`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from reviewer.enforcement.decisions import MIN_REJECTION_NOTE_CHARS
from reviewer.enforcement.desk import PendingReview
from ui.widgets.table_model import RowsTableModel


class PendingReviewsModel(RowsTableModel[PendingReview]):
    HEADERS = ("Case", "Policy", "Action", "Decided by", "When")

    def row_of(self, decision_id: uuid.UUID) -> int | None:
        return next((i for i, r in enumerate(self._rows) if r.decision_id == decision_id), None)

    def data(self, index: QModelIndex | QPersistentModelIndex,  # Qt override
             role: int = Qt.ItemDataRole.DisplayRole) -> object:
        row = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return (row.case_ref, row.policy_code, row.action_label,
                    "you (another reviewer must review it)" if row.mine else row.decided_by,
                    f"{row.decided_at.astimezone():%a %d %b %H:%M}")[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.rationale
        return None


class SecondReviewDialog(QDialog):
    verdict_given = Signal(object, bool, str)
    open_case_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Second reviews")
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.heading = QLabel()
        self.heading.setObjectName("panelHeading")
        self.model = PendingReviewsModel(self)
        self.table = QTableView()
        self.table.setAccessibleName("Decisions waiting for a second reviewer")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        note_label = QLabel("&Note (needed to reject, shown to the reviewer)")
        self.note = QPlainTextEdit()
        self.note.setAccessibleName("Note")
        self.note.setTabChangesFocus(True)
        self.note.setPlaceholderText(
            f"Why you reject it: at least {MIN_REJECTION_NOTE_CHARS} characters")
        self.note.setMaximumHeight(90)
        note_label.setBuddy(self.note)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.hide()
        self.approve_button = QPushButton("&Approve")
        self.reject_button = QPushButton("Re&ject")
        self.open_button = QPushButton("&Open case")
        close_button = QPushButton("Close")
        for button in (self.approve_button, self.reject_button, self.open_button, close_button):
            button.setAutoDefault(False)
        self.approve_button.clicked.connect(lambda: self._give(True))
        self.reject_button.clicked.connect(lambda: self._give(False))
        self.open_button.clicked.connect(self._open_case)
        close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.approve_button)
        buttons.addWidget(self.reject_button)
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details)
        layout.addWidget(note_label)
        layout.addWidget(self.note)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self.table.selectionModel().currentRowChanged.connect(self._show_current)
        self.resize(720, 480)

    def set_rows(self, rows: Sequence[PendingReview]) -> None:
        """Show these decisions, keeping the current one selected if it is still there."""
        current = self.current()
        self.model.set_rows(rows)
        theirs = sum(1 for row in rows if not row.mine)
        self.heading.setText(f"{theirs} decision(s) waiting for your second review"
                             if rows else "No decision is waiting for a second reviewer.")
        row = self.model.row_of(current.decision_id) if current is not None else None
        self.select_row(row if row is not None else 0)

    def select_row(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            self._show_current()
            return
        self.table.selectionModel().setCurrentIndex(
            self.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)

    def current(self) -> PendingReview | None:
        index = self.table.currentIndex()
        return self.model.row_at(index.row()) if index.isValid() else None

    def _show_current(self, *_args: object) -> None:
        row = self.current()
        enabled = row is not None
        for button in (self.approve_button, self.reject_button, self.open_button):
            button.setEnabled(enabled)
        if row is None:
            self.details.setText("")
            return
        who = "you" if row.mine else row.decided_by
        self.details.setText(f"{row.case_ref}: {row.action_label} under {row.policy_code}, "
                             f"decided by {who}.\nRationale: {row.rationale}")

    def _give(self, approve: bool) -> None:
        row = self.current()
        if row is None:
            self.show_refusal("Choose a decision first.")
            return
        self.verdict_given.emit(row.decision_id, approve, self.note.toPlainText())

    def _open_case(self) -> None:
        row = self.current()
        if row is not None:
            self.open_case_requested.emit(row.case_id)

    def show_refusal(self, text: str) -> None:
        self._message(text, "fieldError")

    def show_done(self, text: str) -> None:
        self.note.clear()
        self._message(text, "confirmation")

    def _message(self, text: str, name: str) -> None:
        self.message.setObjectName(name)
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.setText(text)
        self.message.show()
