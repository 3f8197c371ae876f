"""My quality (Ctrl+Shift+M): a reviewer's own QA results and the feedback auditors sent.

Shows how often auditors, re-reviewing blind, reached the same policy and action
(percent agreement and Cohen's kappa, each with its 95% interval), the share of golden cases
decided as expected, and every finished audit with its verdict, reason and feedback. A figure
over too few audits carries a plain warning instead of passing for a result. Auditors are not
named: the feedback is about the decision, not the person who audited it.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from reviewer.qa.agreement import MIN_PAIRED_ITEMS, KappaResult, Proportion
from reviewer.qa.golden import MIN_GOLDEN_ANSWERS
from reviewer.qa.metrics import QaResult, ReviewerQuality, my_quality
from reviewer.qa.store import REASON_LABELS
from reviewer.vocabulary import Action
from reviewer.workstation import Workstation
from ui.widgets.table_model import RowsTableModel


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def describe_proportion(share: Proportion, what: str) -> str:
    if share.n == 0 or share.estimate is None:
        return f"No {what} yet."
    text = f"{_percent(share.estimate)} ({share.successes} of {share.n})"
    if share.interval is not None:
        text += (f", 95% interval {_percent(share.interval.low)}–"
                 f"{_percent(share.interval.high)}")
    return text


def describe_kappa(kappa: KappaResult) -> str:
    if kappa.n_items == 0:
        return "No audits yet."
    if kappa.value is None:
        return "Not defined: every decision audited so far fell in one category."
    text = f"{kappa.value:.2f}"
    interval = kappa.interval
    if interval is not None and interval.high - interval.low > 1e-9:
        text += f", 95% interval {interval.low:.2f} to {interval.high:.2f}"
    else:
        text += " (no interval can be estimated from so few audits)"
    return text


def _decision(category: str) -> str:
    """"SF-1/disable_account" as "SF-1 · Disable account"."""
    policy, _, action = category.partition("/")
    try:
        label = Action(action).label
    except ValueError:
        label = action
    return f"{policy} · {label}"


class QaResultsModel(RowsTableModel[QaResult]):
    HEADERS = ("Case", "Decided", "Your decision", "Auditor's decision", "Verdict", "Reason",
               "Feedback")

    def data(self, index: QModelIndex | QPersistentModelIndex,  # Qt override
             role: int = Qt.ItemDataRole.DisplayRole) -> object:
        row = self.row_at(index.row()) if index.isValid() else None
        if row is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            verdict = {True: "Agree", False: "Disagree", None: "—"}[row.agrees]
            reason = REASON_LABELS.get(row.reason_category or "", "")
            feedback = row.feedback.replace("\n", " ")
            return (row.external_ref, f"{row.decided_at.astimezone():%d %b %Y}",
                    _decision(row.your_decision), _decision(row.auditor_decision), verdict,
                    reason,
                    feedback)[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 6 and row.feedback:
            return row.feedback
        return None


class MyQualityDialog(QDialog):
    def __init__(self, workstation: Workstation, parent: QWidget | None = None):
        super().__init__(parent)
        self.workstation = workstation
        self.setWindowTitle("My quality")
        self.setModal(False)
        heading = QLabel("My quality")
        heading.setObjectName("panelHeading")
        intro = QLabel("Auditors re-review a sample of your decisions without seeing them, then "
                       "compare and give a verdict. These figures count finished audits.")
        intro.setObjectName("muted")
        intro.setWordWrap(True)

        self.agreement_value = QLabel()
        self.kappa_value = QLabel()
        self.verdicts_value = QLabel()
        self.golden_value = QLabel()
        self.warning = QLabel()
        self.warning.setObjectName("fieldError")
        self.warning.setWordWrap(True)
        figures = QGridLayout()
        figures.setHorizontalSpacing(16)
        for row, (label, value) in enumerate((
            ("Same policy and action as the auditor", self.agreement_value),
            ("Cohen's kappa", self.kappa_value),
            ("Auditors' verdicts", self.verdicts_value),
            ("Golden cases decided as expected", self.golden_value),
        )):
            name = QLabel(label)
            name.setObjectName("muted")
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            figures.addWidget(name, row, 0, Qt.AlignmentFlag.AlignTop)
            figures.addWidget(value, row, 1)
        figures.setColumnStretch(1, 1)

        results_heading = QLabel("Audited decisions")
        results_heading.setObjectName("panelHeading")
        self.model = QaResultsModel(self)
        self.table = QTableView()
        self.table.setAccessibleName("Audited decisions")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setTabKeyNavigation(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.empty_label = QLabel("None of your decisions has been audited yet.")
        self.empty_label.setObjectName("muted")
        feedback_heading = QLabel("Feedback")
        feedback_heading.setObjectName("panelHeading")
        self.feedback_label = QLabel()
        self.feedback_label.setWordWrap(True)
        self.feedback_label.setTextFormat(Qt.TextFormat.PlainText)
        self.feedback_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.feedback_label.setAccessibleName("Feedback on the selected audit")

        refresh_button = QPushButton("Refresh  (F5)")
        refresh_button.setAutoDefault(False)
        refresh_button.clicked.connect(self.refresh)
        close_button = QPushButton("Close")
        close_button.setAutoDefault(False)
        close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(refresh_button)
        buttons.addWidget(close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(intro)
        layout.addLayout(figures)
        layout.addWidget(self.warning)
        layout.addSpacing(6)
        layout.addWidget(results_heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label)
        layout.addWidget(feedback_heading)
        layout.addWidget(self.feedback_label)
        layout.addLayout(buttons)
        QShortcut(QKeySequence("F5"), self).activated.connect(self.refresh)
        self.table.selectionModel().currentRowChanged.connect(self._show_feedback)
        self.quality: ReviewerQuality | None = None
        self.resize(980, 620)
        self.refresh()

    def refresh(self) -> None:
        quality = my_quality(self.workstation.replica, self.workstation.reviewer_id)
        self.quality = quality
        agreement = quality.agreement
        self.agreement_value.setText(describe_proportion(agreement.percent, "audits"))
        self.kappa_value.setText(describe_kappa(agreement.kappa))
        if agreement.n:
            reasons = ", ".join(f"{REASON_LABELS.get(code, code)} {count}"
                                for code, count in sorted(agreement.reasons.items()))
            self.verdicts_value.setText(
                f"{agreement.agreed_by_auditor} agree, {agreement.disagreed_by_auditor} "
                f"disagree" + (f" ({reasons})" if reasons else ""))
        else:
            self.verdicts_value.setText("No audits yet.")
        self.golden_value.setText(describe_proportion(quality.golden, "golden cases"))
        small = []
        if 0 < agreement.n < MIN_PAIRED_ITEMS:
            small.append(f"only {agreement.n} audited decision(s) (fewer than "
                         f"{MIN_PAIRED_ITEMS})")
        if 0 < quality.golden.n < MIN_GOLDEN_ANSWERS:
            small.append(f"only {quality.golden.n} golden case(s) (fewer than "
                         f"{MIN_GOLDEN_ANSWERS})")
        self.warning.setText("Too few to mean much yet: " + "; ".join(small)
                             + ". The intervals show how far off these figures could be.")
        self.warning.setVisible(bool(small))
        self.model.set_rows(quality.results)
        self.empty_label.setVisible(not quality.results)
        self.table.setVisible(bool(quality.results))
        if quality.results:
            self.table.selectionModel().setCurrentIndex(
                self.model.index(0, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)
        self._show_feedback()

    def _show_feedback(self, *_args: object) -> None:
        index = self.table.currentIndex()
        row = self.model.row_at(index.row()) if index.isValid() else None
        if row is None:
            self.feedback_label.setText("Select an audit to read its feedback.")
        elif row.feedback:
            self.feedback_label.setText(f"{row.external_ref}: {row.feedback}")
        else:
            self.feedback_label.setText(f"{row.external_ref}: no feedback was written.")
