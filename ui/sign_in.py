"""Signing in to a team backend: address, user name and password, checked by PostgreSQL.

The password is checked in the background (an engine, ``SELECT 1`` as that user: PostgreSQL
verifies it with SCRAM), then kept in the OS keyring only if the reviewer ticks "remember";
otherwise it stays in memory. The address and user name, never the password, are
remembered in the settings file for the next start. A replica that cannot be opened is
offered a re-sync here too.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from reviewer import secrets
from reviewer.settings import CoreSettings
from reviewer.store import (
    BackendLoginFailed,
    BackendUnavailable,
    DataPaths,
    InsecureBackend,
    is_remote,
    make_engine,
    normalise_url,
    talking_to,
    tls_policy,
    tls_warning,
)
from ui.form_feedback import inline_error, submit_on_ctrl_enter
from ui.tasks import TaskRunner

ADDRESS_SETTING = "backend/address"
USERNAME_SETTING = "backend/username"
REMEMBER_SETTING = "backend/remember_password"
NO_KEYRING = "No system keyring on this computer: you will be asked each time"
ADDRESS_EXAMPLE = "db.example.org/reviews"
_SHORT_ADDRESS = re.compile(
    r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[^/:\s\[\]@?]+)(?::(?P<port>[0-9]+))?/(?P<database>[^/\s?]+)$"
)


class AddressProblem(ValueError):
    """The backend address cannot be used; the message says why, in plain words."""


@dataclass(frozen=True)
class BackendAddress:
    """A team backend's address with no user name and no password in it."""

    url: URL
    username: str | None = None
    """The user name the address itself named (``postgresql://alice@host/db``), if any."""

    @property
    def key(self) -> str:
        """The canonical text: what the settings file and the keyring entry are filed under."""
        return self.url.render_as_string(hide_password=False)

    def for_user(self, username: str, password: str | None = None) -> URL:
        url = self.url.set(username=username)
        return url if password is None else url.set(password=password)


def parse_backend_address(value: str) -> BackendAddress:
    """``host[:port]/database`` or a ``postgresql://`` URL without a password."""
    value = value.strip()
    if not value:
        raise AddressProblem(f"Enter the backend's address, for example {ADDRESS_EXAMPLE}.")
    if "://" in value:
        try:
            url = make_url(value)
        except ArgumentError:
            raise AddressProblem(
                f"This address cannot be read. Write it as {ADDRESS_EXAMPLE} or "
                f"postgresql://{ADDRESS_EXAMPLE}.") from None
        if url.get_backend_name() not in ("postgresql", "postgres"):
            raise AddressProblem("A team backend is a PostgreSQL database: its address starts "
                                 "with postgresql:// (or leave the prefix out).")
        if url.password is not None:
            raise AddressProblem("Leave the password out of the address: type it in the "
                                 "Password field.")
        if not url.database:
            raise AddressProblem("Add the database name after a slash, for example "
                                 f"{ADDRESS_EXAMPLE}.")
        bare = URL.create("postgresql", host=url.host, port=url.port, database=url.database,
                          query=url.query)
        return BackendAddress(bare, url.username or None)
    match = _SHORT_ADDRESS.match(value)
    if match is None:
        if "/" not in value:
            raise AddressProblem("Add the database name after a slash, for example "
                                 f"{ADDRESS_EXAMPLE}.")
        raise AddressProblem(f"Write the address as host/database or host:port/database, for "
                             f"example {ADDRESS_EXAMPLE}.")
    port = match["port"]
    if port is not None and not 0 < int(port) < 65536:
        raise AddressProblem(f"The port {port} does not exist: ports go from 1 to 65535.")
    host = match["host"].strip("[]")
    url = URL.create("postgresql", host=host, port=int(port) if port else None,
                     database=match["database"])
    return BackendAddress(url)


def tls_status(address: BackendAddress, *, allow_unverified_tls: bool = False,
               username: str = "reviewer") -> tuple[str, bool]:
    """The TLS line of the dialog: (text, is_a_warning)."""
    url = address.for_user(username or "reviewer")
    try:
        tls_policy(normalise_url(url), allow_unverified_tls=allow_unverified_tls)
    except InsecureBackend as refused:
        return f"Refused: {refused}.", True
    warning = tls_warning(url)
    if warning:
        return warning, True
    if not is_remote(url):
        return "Connection on this computer: nothing crosses the network.", False
    return ("Encrypted connection; the server's certificate is verified "
            "(sslmode=verify-full)."), False


def check_password(url: URL, *, allow_unverified_tls: bool = False) -> None:
    """Connect as the user in ``url`` and run ``SELECT 1``: PostgreSQL checks the password.

    Raises BackendLoginFailed (refused), BackendUnavailable (not reached) or
    InsecureBackend (a remote address without certificate verification, not allowed).
    """
    engine = make_engine(url, allow_unverified_tls=allow_unverified_tls)
    try:
        with talking_to(url), engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def remember_in_keyring(address: BackendAddress, username: str, password: str,
                        remember: bool) -> str | None:
    """Save the password in the keyring (ticked) or forget it (unticked); returns a problem
    to show, or None when the keyring did what was asked."""
    try:
        if remember:
            secrets.save_password(address.key, username, password)
        else:
            secrets.forget_password(address.key, username)
    except secrets.KeyringUnavailable as error:
        if remember:
            return f"Your password could not be remembered ({error}); you will be asked again."
        return None if not secrets.keyring_available() else str(error)
    return None


@dataclass(frozen=True)
class SignedIn:
    """What the dialog hands back: who signed in where. ``offline``: the backend could not
    be reached and the reviewer chose to work on the replica; the password is unchecked."""

    address: BackendAddress
    username: str
    password: str = field(repr=False)  # never in a log line or a test report
    remember: bool = False
    offline: bool = False
    keyring_problem: str | None = None

    @property
    def url(self) -> URL:
        """The backend URL without the password (it goes to Workstation.open separately)."""
        return self.address.for_user(self.username)


def remembered_backend(settings: QSettings) -> tuple[str, str]:
    """The backend address and user name remembered from the last sign-in ("" if none)."""
    return (str(settings.value(ADDRESS_SETTING, "") or ""),
            str(settings.value(USERNAME_SETTING, "") or ""))


def _buddy(text: str, field: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(field)
    return label


class SignInDialog(QDialog):
    """Backend address, user name, password; the check runs in the background."""

    def __init__(self, tasks: TaskRunner, settings: QSettings, data_dir: Path, *,
                 address: str = "", username: str = "", message: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in to your team's backend")
        self.tasks = tasks
        self.settings = settings
        self.data_dir = data_dir
        self.signed_in: SignedIn | None = None
        self._cancelled = threading.Event()
        self.allow_unverified_tls = bool(CoreSettings.load(DataPaths(data_dir).settings)
                                         .get("security/allow_unverified_tls"))
        remembered_address, remembered_user = remembered_backend(settings)

        intro = QLabel("Sign in with the user name and password your lead or admin gave you.")
        intro.setWordWrap(True)
        self.message = QLabel(message)
        self.message.setObjectName("signInMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setStyleSheet("font-weight: 600;")
        self.message.setVisible(bool(message))
        self.address_edit = QLineEdit(address or remembered_address)
        self.address_edit.setPlaceholderText(f"{ADDRESS_EXAMPLE} or postgresql://…")
        self.address_edit.setAccessibleName("Backend address")
        self.user_edit = QLineEdit(username or remembered_user)
        self.user_edit.setAccessibleName("User name")
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setAccessibleName("Password")

        keyring = secrets.keyring_name()
        self.remember_box = QCheckBox(
            f"&Remember my password in {keyring}" if keyring else "&Remember my password")
        self.keyring_note = QLabel()
        self.keyring_note.setObjectName("muted")
        self.keyring_note.setWordWrap(True)
        if keyring:
            self.remember_box.setChecked(settings.value(REMEMBER_SETTING, True, type=bool))
            self.keyring_note.setText("Only the keyring keeps it; it is never written to a file.")
        else:
            self.remember_box.setChecked(False)
            self.remember_box.setEnabled(False)
            self.keyring_note.setText(NO_KEYRING)
        self.tls_label = QLabel()
        self.tls_label.setObjectName("tlsStatus")
        self.tls_label.setWordWrap(True)
        self.tls_label.setTextFormat(Qt.TextFormat.PlainText)

        form = QFormLayout()
        form.addRow(_buddy("Backend &address", self.address_edit), self.address_edit)
        form.addRow("", self.tls_label)
        form.addRow(_buddy("&User name", self.user_edit), self.user_edit)
        form.addRow(_buddy("&Password", self.password_edit), self.password_edit)
        form.addRow("", self.remember_box)
        form.addRow("", self.keyring_note)

        self.error = inline_error()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: we cannot know how long the server takes
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(8)
        self.busy_label = QLabel("Checking your password with the backend…")
        self.busy_label.setObjectName("muted")
        busy_row = QHBoxLayout()
        busy_row.addWidget(self.busy_label)
        busy_row.addWidget(self.busy, 1)
        self.busy.hide()
        self.busy_label.hide()

        buttons = QDialogButtonBox()
        self.sign_in_button = buttons.addButton("&Sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.sign_in_button.setObjectName("primary")
        self.sign_in_button.setDefault(True)
        self.offline_button = QPushButton("Work &offline")
        self.offline_button.setToolTip("Work on the cases already on this computer; your work "
                                       "is sent when the backend can be reached again.")
        buttons.addButton(self.offline_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.offline_button.hide()
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        for button in (self.offline_button, self.cancel_button):
            button.setAutoDefault(False)  # Enter always means Sign in, even after an error
        self.sign_in_button.clicked.connect(self.submit)
        self.offline_button.clicked.connect(self.work_offline)
        buttons.rejected.connect(self.reject)
        submit_on_ctrl_enter(self, self.submit)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.message)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addLayout(busy_row)
        layout.addWidget(buttons)
        self.setMinimumWidth(560)

        self.address_edit.textChanged.connect(self._update_tls)
        self.user_edit.textChanged.connect(self._update_tls)
        self._update_tls()
        for edit in (self.address_edit, self.user_edit, self.password_edit):
            if not edit.text():
                edit.setFocus()
                break
        else:
            self.password_edit.setFocus()

    # -- what the form says ----------------------------------------------------------------

    def _update_tls(self) -> None:
        try:
            address = parse_backend_address(self.address_edit.text())
        except AddressProblem:
            self.tls_label.setText("")
            self.tls_label.hide()
            return
        line, warning = tls_status(address, allow_unverified_tls=self.allow_unverified_tls,
                                   username=self.user_edit.text().strip())
        self.tls_label.setText(("⚠ " if warning else "✓ ") + line)
        self.tls_label.setStyleSheet("color: #7a4f01; font-weight: 600;" if warning
                                     else "color: #1a7f37;")
        self.tls_label.show()

    def _show_error(self, message: str, focus: QLineEdit) -> None:
        self.error.setText(message)
        self.error.show()
        focus.setFocus()
        focus.selectAll()

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.address_edit, self.user_edit, self.password_edit,
                       self.sign_in_button, self.offline_button):
            widget.setEnabled(not busy)
        self.remember_box.setEnabled(not busy and secrets.keyring_available())
        self.busy.setVisible(busy)
        self.busy_label.setVisible(busy)
        if not busy:
            self.sign_in_button.setDefault(True)

    @property
    def checking(self) -> bool:
        return self.busy.isVisible()

    def _form(self) -> tuple[BackendAddress, str, str] | None:
        try:
            address = parse_backend_address(self.address_edit.text())
        except AddressProblem as problem:
            self._show_error(str(problem), self.address_edit)
            return None
        username = self.user_edit.text().strip()
        if not username and address.username:
            username = address.username
            self.user_edit.setText(username)
        if not username:
            self._show_error("Enter your user name.", self.user_edit)
            return None
        if address.username and address.username != username:
            self._show_error(f"The address names the user {address.username}, but the user "
                             f"name says {username}: use one of them.", self.user_edit)
            return None
        password = self.password_edit.text()
        if not password:
            self._show_error("Enter your password.", self.password_edit)
            return None
        return address, username, password

    # -- signing in ------------------------------------------------------------------------

    def submit(self) -> None:
        if self.checking:
            return
        form = self._form()
        if form is None:
            return
        address, username, password = form
        remember = self.remember_box.isChecked()
        self.error.hide()
        self.offline_button.hide()
        self._set_busy(True)
        cancelled = self._cancelled
        allow_unverified_tls = self.allow_unverified_tls

        def work() -> str | None:
            check_password(address.for_user(username, password),
                           allow_unverified_tls=allow_unverified_tls)
            if cancelled.is_set():
                return None
            return remember_in_keyring(address, username, password, remember)

        self.tasks.run(
            work,
            lambda problem: self._on_signed_in(address, username, password, remember, problem),
            self._on_failed,
            description="sign in", owner=self,
        )

    def _on_signed_in(self, address: BackendAddress, username: str, password: str,
                      remember: bool, keyring_problem: str | None) -> None:
        self._set_busy(False)
        if self._cancelled.is_set():
            return
        self._finish(SignedIn(address, username, password, remember,
                              keyring_problem=keyring_problem))

    def _on_failed(self, error: BaseException) -> None:
        self._set_busy(False)
        if self._cancelled.is_set():
            return
        if isinstance(error, BackendLoginFailed):
            self.password_edit.clear()
            said = str(error).split("refused the sign-in:", 1)[-1].replace("FATAL:", "")
            self._show_error(f"Wrong user name or password; try again. (The backend said: "
                             f"{' '.join(said.split())}.)", self.password_edit)
        elif isinstance(error, BackendUnavailable):
            offline = self.has_replica()
            hint = (" You can work offline on the cases already on this computer; your work "
                    "is sent when the backend answers again." if offline else
                    " Check the address and your network connection, then try again.")
            self.offline_button.setVisible(offline)
            said = str(error).rstrip(".")
            self._show_error(f"{said[:1].upper()}{said[1:]}.{hint}", self.address_edit)
        elif isinstance(error, InsecureBackend):
            self._show_error(f"Not signed in: {error}.", self.address_edit)
        else:
            self._show_error(f"Could not sign in: {error}", self.address_edit)

    def has_replica(self) -> bool:
        """Whether this computer already has cases to work on offline."""
        return DataPaths(self.data_dir).replica.exists()

    def work_offline(self) -> None:
        form = self._form()
        if form is None:
            return
        address, username, password = form
        self._finish(SignedIn(address, username, password, remember=False, offline=True))

    def _finish(self, signed_in: SignedIn) -> None:
        self.signed_in = signed_in
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.settings.setValue(ADDRESS_SETTING, signed_in.address.key)
        self.settings.setValue(USERNAME_SETTING, signed_in.username)
        if not signed_in.offline and secrets.keyring_available():
            self.settings.setValue(REMEMBER_SETTING, signed_in.remember)
        self.settings.sync()
        self.password_edit.clear()
        self.accept()

    def reject(self) -> None:  # Qt override
        self._cancelled.set()
        self.password_edit.clear()
        super().reject()


class ReplicaUnreadableBox(QMessageBox):
    """This computer's replica cannot be opened: re-sync from the backend, or quit; when its
    key comes from the password (no keyring), signing in again is offered first, since a
    mistyped password is the likeliest cause."""

    def __init__(self, error: BaseException, *, offer_sign_in: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(QMessageBox.Icon.Warning, "Your local copy cannot be opened",
                         str(error), parent=parent)
        self.setInformativeText(
            "Re-sync keeps the unreadable file aside, not deleted (anything in it that was not "
            "sent yet stays in it), and downloads your cases again from the backend.")
        self.sign_in_button = None
        if offer_sign_in:
            self.sign_in_button = self.addButton("&Sign in again",
                                                 QMessageBox.ButtonRole.ActionRole)
        self.resync_button = self.addButton("&Re-sync from the backend",
                                            QMessageBox.ButtonRole.AcceptRole)
        self.quit_button = self.addButton("&Quit", QMessageBox.ButtonRole.RejectRole)
        self.setDefaultButton(self.sign_in_button or self.resync_button)
        self.setEscapeButton(self.quit_button)

    @property
    def resync_chosen(self) -> bool:
        return self.clickedButton() is self.resync_button

    @property
    def sign_in_chosen(self) -> bool:
        return self.sign_in_button is not None and self.clickedButton() is self.sign_in_button
