"""The Audit window's list: the auditor's samples to re-review and the verdicts still to
give, with how their audits of the last 28 days agree with the reviewers'.

Nothing in the list names the original decision or the reviewer who made it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from reviewer.qa.store import METHOD_LABELS, PendingSample
from reviewer.workstation import Workstation
from ui.qa.my_quality import describe_kappa, describe_proportion
from ui.widgets.table_model import RowsTableModel

SUMMARY_DAYS = 28


@dataclass(frozen=True)
class AuditItem:
    sample: PendingSample
    verdict_due: bool  # the blind decision is recorded; the verdict is still to give


class AuditListModel(RowsTableModel[AuditItem]):
    HEADERS = ("Case", "Policy area", "Drawn as", "Status")

    def __init__(self, area_names: dict[str, str], parent: QWidget | None = None):
        super().__init__(parent)
        self._areas = area_names

    def row_of(self, sample_id: uuid.UUID) -> int | None:
        return next((i for i, r in enumerate(self._rows) if r.sample.sample_id == sample_id),
                    None)

    def data(self, index: QModelIndex | QPersistentModelIndex,  # Qt override
             role: int = Qt.ItemDataRole.DisplayRole) -> object:
        item = self.row_at(index.row()) if index.isValid() else None
        if item is None or role != Qt.ItemDataRole.DisplayRole:
            return None
        sample = item.sample
        drawn = METHOD_LABELS.get(sample.method, sample.method)
        if sample.calibration:
            drawn = f"{drawn}: {sample.calibration}"
        status = "Verdict to give" if item.verdict_due else "To re-review"
        return (sample.external_ref, self._areas.get(sample.policy_area, sample.policy_area),
                drawn, status)[index.column()]


class SampleList(QWidget):
    """The samples (verdicts due first), a summary of the auditor's agreement, and the
    "Draw a sample…" button (`draw_button`, for the window to connect).

    Emits ``current_changed(item)`` with the `AuditItem` chosen, or None for none.
    """

    current_changed = Signal(object)

    def __init__(self, workstation: Workstation, parent: QWidget | None = None):
        super().__init__(parent)
        self.workstation = workstation
        self.heading = QLabel()
        self.heading.setObjectName("panelHeading")
        self.model = AuditListModel({a.code: a.name for a in workstation.taxonomy.areas},
                                    self)
        self.table = QTableView()
        self.table.setAccessibleName("Samples to re-review")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.empty_label = QLabel()
        self.empty_label.setObjectName("muted")
        self.empty_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 0, 8)
        layout.addWidget(self.heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)
        self.summary = QLabel()
        self.summary.setObjectName("muted")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setAccessibleName("Your audits")
        layout.addWidget(self.summary)
        self.draw_button = QPushButton("Draw a sample…  (Ctrl+Shift+S)")
        layout.addWidget(self.draw_button)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)

    def refresh(self, keep: uuid.UUID | None) -> None:
        """Reload the auditor's samples from the replica, on the sample `keep` if it is
        still there (else the first)."""
        work = self.workstation.audit.work()
        items = ([AuditItem(s, True) for s in work.verdicts_due]
                 + [AuditItem(s, False) for s in work.to_review])
        self.model.set_rows(items)
        due = sum(1 for item in items if item.verdict_due)
        self.heading.setText(f"Samples to re-review: {len(items) - due}"
                             + (f" · verdicts to give: {due}" if due else ""))
        self.empty_label.setText("" if items else
                                 "Nothing to re-review. New samples arrive with the next sync.")
        self.empty_label.setVisible(not items)
        self._show_summary()
        row = self.model.row_of(keep) if keep is not None else None
        self.select_row(row if row is not None else 0)

    def _show_summary(self) -> None:
        """How often the reviewers' decisions you audited in the last 28 days matched yours."""
        since = self.workstation.clock.now() - timedelta(days=SUMMARY_DAYS)
        figures = self.workstation.audit.agreement_since(since)
        if not figures.n:
            self.summary.setText(f"Your audits, last {SUMMARY_DAYS} days: none yet.")
            return
        text = (f"Your audits, last {SUMMARY_DAYS} days: {figures.n}. Same policy and action "
                f"as the reviewer: {describe_proportion(figures.percent, 'audits')}. Cohen's "
                f"kappa: {describe_kappa(figures.kappa)}.")
        if figures.too_small:
            text += " Too few audits for these figures to mean much yet."
        self.summary.setText(text)

    def current_row(self) -> int:
        return self.table.currentIndex().row()

    def select_row(self, row: int) -> None:
        if not 0 <= row < self.model.rowCount():
            self.current_changed.emit(None)
            return
        self.table.selectionModel().setCurrentIndex(
            self.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(self.model.index(row, 0))

    def move(self, step: int) -> None:
        if self.model.rowCount():
            row = self.current_row()
            self.select_row(min(max(row + step, 0), self.model.rowCount() - 1))

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.current_changed.emit(self.model.row_at(current.row()) if current.isValid()
                                  else None)
