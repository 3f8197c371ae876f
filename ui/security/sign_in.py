"""Signing in to a team backend: the backend service's address, user name and password.

Workstations sign in through the backend service (``reviewer-server``), never to PostgreSQL
directly. The password is checked in the background by signing in to the service
(`reviewer.sync.service_client.ServiceLink.sign_in`; the service lets PostgreSQL check it
with SCRAM) and ending that session at once; then it is kept in the OS keyring only if the
reviewer ticks "remember", otherwise in memory. The address and user name, never the
password, are remembered in the settings file for the next start. A replica that cannot be
opened is offered a re-sync here too.

An address is the service's base URL: ``reviews.example.org`` (https), ``host:port``, or
``https://…``; plain ``http://`` only to this computer (loopback), or elsewhere with
``[security] allow_unverified_tls`` (and then with a warning).
"""

from __future__ import annotations

import ipaddress
import re
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

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

from reviewer.secret_store import SecretStore, SecretStoreUnavailable
from reviewer.security.secrets import forget_password, save_password
from reviewer.settings import (
    BACKEND_ADDRESS,
    BACKEND_REMEMBER_PASSWORD,
    BACKEND_USERNAME,
    SECURITY_ALLOW_UNVERIFIED_TLS,
    CoreSettings,
)
from reviewer.store.database import (
    BackendLoginFailed,
    BackendUnavailable,
    DataPaths,
)
from reviewer.sync.service_client import InsecureAddress, ServiceLink, check_address
from ui.widgets.form_feedback import inline_error, submit_on_ctrl_enter
from ui.widgets.settings_store import read_setting, write_setting
from ui.widgets.tasks import TaskRunner

NO_KEYRING = "No system keyring on this computer: you will be asked each time"
ADDRESS_EXAMPLE = "reviews.example.org"
NOT_POSTGRESQL = ("Workstations sign in through the backend service (reviewer-server), not to "
                  "PostgreSQL directly: ask your admin for its address, e.g. "
                  "https://reviews.example.org")
VERIFIED_LINE = "Encrypted connection; the service's certificate is verified."
LOOPBACK_LINE = "Connection on this computer: nothing crosses the network."
_FORMS = (f"{ADDRESS_EXAMPLE}, {ADDRESS_EXAMPLE}:8443 or https://{ADDRESS_EXAMPLE}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
_PATH = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")
_DEFAULT_PORTS = {"https": 443, "http": 80}
_CHECK_CLIENT_PREFIX = "sign-in-check-"
"""The client id of the dialog's password check (its session is ended at once); the
workstation's own id lives in its replica, which is opened only after signing in."""


class AddressProblem(ValueError):
    """The backend address cannot be used; the message says why, in plain words."""


@dataclass(frozen=True)
class BackendAddress:
    """The backend service's address with no user name and no password in it."""

    url: str
    """The canonical base URL: ``https://host[:port][/path]``, lower-case host, no default
    port, no trailing slash (``http://`` only as typed)."""
    username: str | None = None
    """The user name the address itself named (``amara@reviews.example.org``), if any."""

    @property
    def key(self) -> str:
        """The canonical text: what the settings file and the keyring entry are filed under."""
        return self.url

    @property
    def scheme(self) -> str:
        return self.url.split("://", 1)[0]

    @property
    def host(self) -> str:
        rest = self.url.split("://", 1)[1].split("/", 1)[0]
        if rest.startswith("["):
            return rest[1:rest.index("]")]
        return rest.rsplit(":", 1)[0] if ":" in rest else rest

    @property
    def on_this_computer(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def shown(self) -> str:
        """For messages: ``reviews.example.org:8443``; a plain-http address keeps its
        ``http://`` so that it is never taken for an encrypted one."""
        return self.url.removeprefix("https://")


def parse_backend_address(value: str) -> BackendAddress:
    """``host``, ``host:port``, ``https://host[:port][/path]`` or ``http://…``; a bare
    host means https. Never with a password in it; never a ``postgresql://`` URL."""
    value = value.strip()
    if not value:
        raise AddressProblem("Enter the backend service's address, for example "
                             f"{ADDRESS_EXAMPLE}.")
    scheme, separator, rest = value.partition("://")
    if not separator:
        scheme, rest = "https", value
    scheme = scheme.lower()
    if scheme.startswith("postgres"):
        raise AddressProblem(f"{NOT_POSTGRESQL}.")
    if scheme not in _DEFAULT_PORTS:
        raise AddressProblem("A backend service address starts with https:// (or leave the "
                             f"prefix out), for example https://{ADDRESS_EXAMPLE}.")
    if "?" in rest or "#" in rest:
        raise AddressProblem("Leave out everything from the ? or # on: the address is only "
                             f"the service's, for example https://{ADDRESS_EXAMPLE}.")
    netloc, _, path = rest.partition("/")
    username = None
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        if ":" in userinfo:
            raise AddressProblem("Leave the password out of the address: type it in the "
                                 "Password field.")
        username = unquote(userinfo) or None
    host, port = _host_and_port(netloc)
    path = path.strip("/")
    if path and (not _PATH.match(path) or "//" in path):
        raise AddressProblem(f"This address cannot be read. Write it as {_FORMS}.")
    shown_host = f"[{host}]" if ":" in host else host
    shown_port = f":{port}" if port is not None and port != _DEFAULT_PORTS[scheme] else ""
    url = f"{scheme}://{shown_host}{shown_port}" + (f"/{path}" if path else "")
    return BackendAddress(url, username)


def _host_and_port(netloc: str) -> tuple[str, int | None]:
    port_text: str | None
    if netloc.startswith("["):
        bracketed = re.fullmatch(r"\[([^\]]*)\](?::(.*))?", netloc)
        if bracketed is None:
            raise AddressProblem(f"This address cannot be read. Write it as {_FORMS}.")
        try:
            host = str(ipaddress.IPv6Address(bracketed[1]))
        except ValueError:
            raise AddressProblem(f"{bracketed[1]} is not an IPv6 address.") from None
        port_text = bracketed[2]
    elif netloc.count(":") > 1:
        raise AddressProblem("Put an IPv6 address in brackets, for example "
                             "[2001:db8::5]:8443.")
    else:
        host, colon, after = netloc.partition(":")
        port_text = after if colon else None
        if not host:
            raise AddressProblem(f"Name the service's computer, for example {ADDRESS_EXAMPLE}.")
        if not _HOST_NAME.match(host):
            raise AddressProblem(f"This address cannot be read. Write it as {_FORMS}.")
        host = host.lower().rstrip(".")
    if port_text is None:
        return host, None
    if not re.fullmatch(r"[0-9]{1,6}", port_text):
        raise AddressProblem(f"The port must be a number, as in {ADDRESS_EXAMPLE}:8443.")
    if not 0 < int(port_text) < 65536:
        raise AddressProblem(f"The port {port_text} does not exist: ports go from 1 to 65535.")
    return host, int(port_text)


def tls_status(address: BackendAddress, *, allow_unverified_tls: bool = False
               ) -> tuple[str, bool]:
    """The TLS line of the dialog: (text, is_a_warning)."""
    try:
        check_address(address.url, allow_unverified_tls=allow_unverified_tls)
    except InsecureAddress as refused:
        return f"Refused: {refused}.", True
    if address.on_this_computer:
        return LOOPBACK_LINE, False
    if address.scheme == "http":
        return (f"The connection to {address.url} is not encrypted (plain http://, allowed by "
                "[security] allow_unverified_tls): anyone on the network could read your "
                "password and the cases. Ask an admin for the service's https:// address."
                ), True
    if allow_unverified_tls:
        return ("The connection is encrypted but does not verify the service's certificate "
                "([security] allow_unverified_tls is on): someone on the network could pose "
                "as the service and read or change case data. Ask an admin for the service's "
                "CA certificate and remove 'allow_unverified_tls' from the settings."), True
    return VERIFIED_LINE, False


def check_password(address: BackendAddress, username: str, password: str, *,
                   allow_unverified_tls: bool = False) -> None:
    """Sign in to the backend service (it lets PostgreSQL check the password), then end that
    session again: the workstation signs in for itself once it is open.

    Raises BackendLoginFailed (refused), BackendUnavailable (not reached, or its
    certificate could not be verified) or InsecureAddress (plain http to another computer,
    not allowed), before the password leaves this computer in the last case.
    """
    link = ServiceLink(address.url, username=username, password=password,
                       client_id=f"{_CHECK_CLIENT_PREFIX}{uuid.uuid4()}",
                       allow_unverified_tls=allow_unverified_tls)
    try:
        link.sign_in()
        link.sign_out()
    finally:
        link.dispose()


def remember_in_keyring(secrets: SecretStore, address: BackendAddress, username: str,
                        password: str, remember: bool) -> str | None:
    """Save the password in the keyring (ticked) or forget it (unticked); returns a problem
    to show, or None when the keyring did what was asked."""
    try:
        if remember:
            save_password(secrets, address.key, username, password)
        else:
            forget_password(secrets, address.key, username)
    except SecretStoreUnavailable as error:
        if remember:
            return f"Your password could not be remembered ({error}); you will be asked again."
        return None if not secrets.available else str(error)
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
    def url(self) -> str:
        """The backend service's base URL (the password goes to Workstation.open
        separately)."""
        return self.address.url


def remembered_backend(settings: QSettings) -> tuple[str, str]:
    """The backend address and user name remembered from the last sign-in ("" if none)."""
    return read_setting(settings, BACKEND_ADDRESS), read_setting(settings, BACKEND_USERNAME)


def _buddy(text: str, field: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(field)
    return label


class SignInDialog(QDialog):
    """Backend address, user name, password; the check runs in the background. A password
    to remember goes to ``secrets`` (the OS keyring in the app)."""

    def __init__(self, tasks: TaskRunner, settings: QSettings, data_dir: Path, *,
                 secrets: SecretStore, address: str = "", username: str = "",
                 message: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in to your team's backend")
        self.tasks = tasks
        self.settings = settings
        self.data_dir = data_dir
        self.secrets = secrets
        self.signed_in: SignedIn | None = None
        self._cancelled = threading.Event()
        self.allow_unverified_tls = bool(CoreSettings.load(DataPaths(data_dir).settings)
                                         .get(SECURITY_ALLOW_UNVERIFIED_TLS))
        remembered_address, remembered_user = remembered_backend(settings)

        intro = QLabel("Sign in to your team's backend service with the address, user name "
                       "and password your lead or admin gave you.")
        intro.setWordWrap(True)
        self.message = QLabel(message)
        self.message.setObjectName("signInMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setStyleSheet("font-weight: 600;")
        self.message.setVisible(bool(message))
        self.address_edit = QLineEdit(address or remembered_address)
        self.address_edit.setPlaceholderText(f"{ADDRESS_EXAMPLE} or https://{ADDRESS_EXAMPLE}:8443")
        self.address_edit.setAccessibleName("Backend service address")
        self.address_edit.setToolTip(
            "The address of your team's backend service (reviewer-server), as your admin "
            "gave it: a bare name means https://. Plain http:// only for a service on this "
            "computer.")
        self.user_edit = QLineEdit(username or remembered_user)
        self.user_edit.setAccessibleName("User name")
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setAccessibleName("Password")

        keyring = secrets.name
        self.remember_box = QCheckBox(
            f"&Remember my password in {keyring}" if keyring else "&Remember my password")
        self.keyring_note = QLabel()
        self.keyring_note.setObjectName("muted")
        self.keyring_note.setWordWrap(True)
        if keyring:
            self.remember_box.setChecked(read_setting(settings, BACKEND_REMEMBER_PASSWORD))
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
        form.addRow(_buddy("Backend &service", self.address_edit), self.address_edit)
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
        self.busy_label = QLabel("Checking your password with the backend service…")
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
        except AddressProblem as problem:
            if str(problem).startswith(NOT_POSTGRESQL):  # worth saying while it is typed
                line, warning = str(problem).rstrip("."), True
            else:
                self.tls_label.setText("")
                self.tls_label.hide()
                return
        else:
            line, warning = tls_status(address, allow_unverified_tls=self.allow_unverified_tls)
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
        self.remember_box.setEnabled(not busy and self.secrets.available)
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
        try:  # refused here, before the password goes anywhere
            check_address(address.url, allow_unverified_tls=self.allow_unverified_tls)
        except InsecureAddress as refused:
            self._show_error(f"Not signed in: {refused}.", self.address_edit)
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
        store = self.secrets
        allow_unverified_tls = self.allow_unverified_tls

        def work() -> str | None:
            check_password(address, username, password,
                           allow_unverified_tls=allow_unverified_tls)
            if cancelled.is_set():
                return None
            return remember_in_keyring(store, address, username, password, remember)

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
            said = " ".join(str(error).split("refused the sign-in:", 1)[-1].split()).rstrip(".")
            if said.lower() in ("", "wrong user name or password"):
                self._show_error("Wrong user name or password; try again.", self.password_edit)
            else:
                self._show_error(f"The backend service refused the sign-in: {said}.",
                                 self.password_edit)
        elif isinstance(error, BackendUnavailable):
            offline = self.has_replica()
            said = str(error).rstrip(".").removesuffix("; working offline")
            if "certificate" in said:
                hint = (" If your team's service uses its own certificate authority, ask your "
                        "admin for its CA file (set REVIEWER_CA_BUNDLE to it).")
            else:
                hint = " Check the address and your network connection, then try again."
            if offline:
                hint += (" You can work offline on the cases already on this computer; your "
                         "work is sent when the backend answers again.")
            self.offline_button.setVisible(offline)
            self._show_error(f"{said[:1].upper()}{said[1:]}.{hint}", self.address_edit)
        elif isinstance(error, InsecureAddress):
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
        write_setting(self.settings, BACKEND_ADDRESS, signed_in.address.key)
        write_setting(self.settings, BACKEND_USERNAME, signed_in.username)
        if not signed_in.offline and self.secrets.available:
            write_setting(self.settings, BACKEND_REMEMBER_PASSWORD, signed_in.remember)
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
