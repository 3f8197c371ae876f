"""The reply dialog: a reply to a partner, the press or a regulator, drafted from a template,
edited, then recorded with the case and copied to the clipboard (Ctrl+R in the main window).

Non-modal: it emits ``record_requested(template_id, body)``; the caller records the reply
and closes the dialog, or shows why not with `show_refusal`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from reviewer.policy.templates import PLACEHOLDERS, Template
from ui.widgets.form_feedback import inline_error, submit_on_ctrl_enter

_UNFILLED = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


class ResponseDialog(QDialog):
    record_requested = Signal(str, str)

    def __init__(self, case_ref: str, addressee: str, templates: Sequence[Template],
                 draft: Callable[[Template], str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Reply about {case_ref}")
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._templates = list(templates)
        self._draft = draft
        self._drafted = ""
        intro = QLabel(f"Reply to the {addressee.lower()} about {case_ref}. Edit the draft; "
                       "it is recorded with the case and copied to the clipboard to send.")
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.template_box = QComboBox()
        self.template_box.setAccessibleName("Reply template")
        for template in self._templates:
            self.template_box.addItem(template.title, template.id)
        self.body = QPlainTextEdit()
        self.body.setAccessibleName("Reply")
        self.body.setTabChangesFocus(True)
        self.error = inline_error()
        form = QFormLayout()
        template_label = QLabel("&Template")
        template_label.setBuddy(self.template_box)
        body_label = QLabel("&Reply")
        body_label.setBuddy(self.body)
        form.addRow(template_label, self.template_box)
        form.addRow(body_label, self.body)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.record_button = self.buttons.addButton(
            "Record and &copy  (Ctrl+Enter)", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        submit_on_ctrl_enter(self, self.submit)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.template_box.currentIndexChanged.connect(self._redraft)
        self._redraft()
        self.resize(620, 520)
        self.body.setFocus()

    def template(self) -> Template | None:
        index = self.template_box.currentIndex()
        return self._templates[index] if 0 <= index < len(self._templates) else None

    def _redraft(self) -> None:
        """A new template gives a new draft, unless the reviewer has edited the old one."""
        template = self.template()
        if template is None:
            return
        if self.body.toPlainText() not in ("", self._drafted):
            self.error.setText("Your edits are kept: clear the reply to draft it from the "
                               "chosen template.")
            self.error.show()
            return
        self._drafted = self._draft(template)
        self.body.setPlainText(self._drafted)

    def submit(self) -> None:
        text = self.body.toPlainText()
        unfilled = sorted({"{" + m.group(1) + "}" for m in _UNFILLED.finditer(text)})
        if unfilled:
            self.show_refusal(f"Fill in {', '.join(unfilled)} before recording the reply "
                              "(the case has no value for them yet).")
            return
        template = self.template()
        self.error.hide()
        self.record_requested.emit(template.id if template else "", text)

    def show_refusal(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
        self.body.setFocus()
