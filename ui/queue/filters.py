"""The filter bar above the queue: search, one choice per filter, and one Clear for all."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.queue.case_queue import OPEN_STATUSES, QueueFilter, SlaState
from reviewer.vocabulary import CaseStatus, Channel, Surface

SEARCH_DELAY_MS = 250
ALL_STATUSES = tuple(s.value for s in CaseStatus)


class QueueFilterBar(QWidget):
    """Emits ``changed(QueueFilter)`` whenever the reviewer narrows or widens the queue."""

    changed = Signal(object)

    def __init__(self, queues: Sequence[tuple[uuid.UUID, str]],
                 areas: Sequence[tuple[str, str]], languages: Sequence[str],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search text, reference and notes  (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search cases")
        self.search.setMaxLength(10_240)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self._emit)
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.search.returnPressed.connect(self._emit_now)

        self.combos: dict[str, QComboBox] = {}
        self._add_combo("queue", "Any queue", [(str(i), name) for i, name in queues])
        self._add_combo("channel", "Any channel", [(c.value, c.label) for c in Channel])
        self._add_combo("surface", "Any surface", [(s.value, s.label) for s in Surface])
        self._add_combo("area", "Any policy area", list(areas))
        self._add_combo("language", "Any language", [(lang, lang.upper()) for lang in languages])
        self._add_combo("status", "Open (new or leased)",
                        [("*", "Any status")] + [(s.value, s.label) for s in CaseStatus])
        self._add_combo("sla", "Any SLA state", [(s.value, s.label) for s in SlaState])
        self.mine = QCheckBox("&Mine only")
        self.mine.setToolTip("Only cases you hold a lease on")
        self.mine.toggled.connect(self._emit)
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.setToolTip("Clear every filter and the search (Ctrl+Shift+X)")
        self.clear_button.clicked.connect(self.clear)
        self.summary = QLabel()
        self.summary.setObjectName("filterSummary")
        self.summary.setWordWrap(True)

        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(4)
        grid.setVerticalSpacing(4)
        for position, key in enumerate(("queue", "channel", "surface", "area", "language",
                                        "status", "sla")):
            grid.addWidget(self.combos[key], position // 4, position % 4)
        grid.addWidget(self.mine, 1, 3)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.search, 1)
        top.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(grid)
        layout.addWidget(self.summary)
        self._update_summary(self.current())

    def _add_combo(self, key: str, any_label: str, items: list[tuple[str, str]]) -> None:
        combo = QComboBox()
        combo.setAccessibleName(any_label.replace("Any ", "Filter by "))
        combo.addItem(any_label, None)
        for value, label in items:
            combo.addItem(label, value)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(6)
        combo.currentIndexChanged.connect(self._emit)
        self.combos[key] = combo

    def _value(self, key: str) -> str | None:
        return self.combos[key].currentData()

    def current(self) -> QueueFilter:
        status = self._value("status")
        statuses = OPEN_STATUSES if status is None else (() if status == "*" else (status,))
        queue = self._value("queue")
        return QueueFilter(
            queue_ids=(uuid.UUID(queue),) if queue else (),
            channels=_one(self._value("channel")),
            surfaces=_one(self._value("surface")),
            policy_areas=_one(self._value("area")),
            languages=_one(self._value("language")),
            statuses=statuses,
            sla_states=(SlaState(self._value("sla")),) if self._value("sla") else (),
            mine_only=self.mine.isChecked(),
            search=self.search.text(),
        )

    def active_descriptions(self) -> list[str]:
        active = []
        for key, combo in self.combos.items():
            if combo.currentIndex() > 0:
                active.append(f"{key}: {combo.currentText()}")
        if self.mine.isChecked():
            active.append("mine only")
        if self.search.text().strip():
            active.append(f"search: “{self.search.text().strip()[:40]}”")
        return active

    def clear(self) -> None:
        for widget in (*self.combos.values(), self.mine, self.search):
            widget.blockSignals(True)
        for combo in self.combos.values():
            combo.setCurrentIndex(0)
        self.mine.setChecked(False)
        self.search.clear()
        for widget in (*self.combos.values(), self.mine, self.search):
            widget.blockSignals(False)
        self._search_timer.stop()
        self._emit()

    def _emit_now(self) -> None:
        self._search_timer.stop()
        self._emit()

    def _emit(self, *_args) -> None:
        query = self.current()
        self._update_summary(query)
        self.changed.emit(query)

    def _update_summary(self, _query: QueueFilter) -> None:
        active = self.active_descriptions()
        self.clear_button.setEnabled(bool(active))
        self.clear_button.setText(f"Clear {len(active)} filter{'s' if len(active) != 1 else ''}"
                                  if active else "No filters")
        self.summary.setText("Filtered by " + "; ".join(active) if active else "")
        self.summary.setVisible(bool(active))
        for combo in self.combos.values():
            font = combo.font()
            font.setBold(combo.currentIndex() > 0)
            combo.setFont(font)


def _one(value: str | None) -> tuple[str, ...]:
    return (value,) if value else ()

