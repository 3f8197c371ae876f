"""The quick-policy keys of the enforcement panel: the reviewer's last used and most used
policies on the keys 1–9, and a menu whose entries the same keys choose.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QMenu, QWidget

from ui.enforcement.decision_form import DecisionForm
from ui.enforcement.message_strip import MessageStrip

QUICK_KEYS = 9
DIGIT_KEYS = {getattr(Qt.Key, f"Key_{n}"): n for n in range(1, QUICK_KEYS + 1)}


@dataclass(frozen=True)
class QuickPolicy:
    """One policy on a quick key: `why` says how it got there ("last used", …)."""

    code: str
    name: str
    why: str


def _digit(event: QKeyEvent) -> int | None:
    """The quick key 1–9 pressed without a modifier (on either row of digits), if any."""
    number = DIGIT_KEYS.get(event.key())
    plain = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    return number if plain == Qt.KeyboardModifier.NoModifier else None


class NumberedMenu(QMenu):
    """A menu whose first nine entries are chosen with the keys 1–9 (not every platform
    honours a digit as a menu mnemonic)."""

    def choose(self, number: int) -> bool:
        """Trigger entry `number` (1-based) and close; False if there is none."""
        entries = [action for action in self.actions() if not action.isSeparator()]
        if not 1 <= number <= len(entries):
            return False
        self.hide()
        entries[number - 1].trigger()
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:  # Qt override
        number = _digit(event)
        if number is not None and self.choose(number):
            return
        super().keyPressEvent(event)


class QuickPolicyKeys(QObject):
    """The keys 1–9 and the line that lists what is on them (`label`, laid out by the
    panel): a key chooses its policy and moves on to the action.

    The keys work while focus is anywhere in `panel` except where they type text: the
    rationale, and the policy field once something is typed in it. While `menu` is open
    they choose its entries instead.
    """

    def __init__(self, panel: QWidget, form: DecisionForm, menu: NumberedMenu,
                 messages: MessageStrip, ready: Callable[[], bool]):
        super().__init__(panel)
        self.form = form
        self.menu = menu
        self.messages = messages
        self._ready = ready
        self._quick: list[QuickPolicy] = []
        self.label = QLabel()
        self.label.setObjectName("muted")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setAccessibleName("Quick policy keys")
        for number in range(1, QUICK_KEYS + 1):
            shortcut = QShortcut(QKeySequence(str(number)), panel)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(partial(self.pick, number))
        # Keys reach the policy field through the combo box, which hands them to its line
        # edit directly, so both are watched.
        form.policy_box.installEventFilter(self)
        form.policy_box.lineEdit().installEventFilter(self)

    def set_policies(self, quick: Sequence[QuickPolicy]) -> None:
        """The policies on the keys 1–9, in key order (at most nine are kept)."""
        self._quick = list(quick)[:QUICK_KEYS]
        if not self._quick:
            self.label.setText("Quick keys 1–9: your most used policies appear here.")
            return
        # One short line per key (the panel is narrow); how each got there is in the tooltip.
        lines = ["Quick keys:"]
        lines += [f"{number}  {item.code}  {item.name}" + ("  (last)" if item.why == "last used"
                                                            else "")
                  for number, item in enumerate(self._quick, 1)]
        self.label.setText("\n".join(lines))
        self.label.setToolTip("\n".join(
            f"{number}  {item.code}: {item.why}" for number, item in
            enumerate(self._quick, 1) if item.why))

    def policies(self) -> list[QuickPolicy]:
        return list(self._quick)

    def pick(self, number: int) -> None:
        """Choose the policy on quick key `number` and go on to the action."""
        if self.menu.isVisible():  # the key was meant for the open menu
            self.menu.choose(number)
            return
        if not self._ready():
            return
        if not 1 <= number <= len(self._quick):
            self.messages.show_refusal(f"No policy on key {number}: the quick keys go up to "
                                       f"{len(self._quick)}." if self._quick else
                                       "No quick policies yet: type a policy code or a word "
                                       "instead.")
            return
        index = self.form.policy_box.findData(self._quick[number - 1].code)
        if index < 0:
            self.messages.show_refusal(f"{self._quick[number - 1].code} does not apply to "
                                       "this case.")
            return
        self.messages.hide_notice()
        self.form.policy_box.setCurrentIndex(index)
        self.form.action_box.setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        if (event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent)
                and watched in (self.form.policy_box, self.form.policy_box.lineEdit())):
            number = _digit(event)
            if number is not None and not self._typing_a_policy():
                self.pick(number)
                return True
        return super().eventFilter(watched, event)

    def _typing_a_policy(self) -> bool:
        """Whether the policy field holds text the reviewer is typing (no code starts with
        a digit, so a digit in an empty or already chosen field is a quick key)."""
        text = self.form.policy_box.lineEdit().text()
        return bool(text) and text != self.form.policy_box.itemText(
            self.form.policy_box.currentIndex())
