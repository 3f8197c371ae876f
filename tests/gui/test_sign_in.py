"""Signing in to a team backend through its backend service (a real ``reviewer-server`` over
a real PostgreSQL, which checks the password): the keyring keeps it only when asked, and it
is never written anywhere else."""

from __future__ import annotations

import logging
import os
import re
import uuid
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QMessageBox

from reviewer.clock import ManualClock
from reviewer.security.secrets import (
    KeyringSecretStore,
    forget_password,
    load_password,
    save_password,
)
from reviewer.settings import BACKEND_ADDRESS, BACKEND_USERNAME
from reviewer.store.database import DataPaths
from tests.helpers.gui import wait_until_idle
from tests.helpers.keyrings import without_keyring
from tests.helpers.pg_workstations import create_login, drop_logins, seed_backend
from tests.helpers.postgres import TEMPLATE, pg_url, postgres_server
from tests.helpers.service import free_port, running_service
from tests.helpers.tls_certs import make_ca, make_server_certificate
from ui.first_run import FirstRunDialog
from ui.security.sign_in import (
    LOOPBACK_LINE,
    NO_KEYRING,
    NOT_POSTGRESQL,
    VERIFIED_LINE,
    AddressProblem,
    ReplicaUnreadableBox,
    SignInDialog,
    parse_backend_address,
    tls_status,
)
from ui.widgets.tasks import TaskRunner

__all__ = ["pg_url", "postgres_server"]

PASSWORD = "canary-Pa55word-7f3e"
"""A marker that must never appear in a file or a log."""

KEYRING = KeyringSecretStore()
"""The system keyring, as the app passes it: the test run's private GNOME Keyring, or keyring's
'fail' backend under `no_keyring`."""


# -- the address -----------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "url", "username"), [
    ("reviews.example.org", "https://reviews.example.org", None),
    ("reviews.example.org:8443", "https://reviews.example.org:8443", None),
    ("  HTTPS://Reviews.Example.ORG:443/  ", "https://reviews.example.org", None),
    ("https://reviews.example.org/team-a/", "https://reviews.example.org/team-a", None),
    ("[2001:db8::5]:8443", "https://[2001:db8::5]:8443", None),
    ("10.0.0.7", "https://10.0.0.7", None),
    ("http://127.0.0.1:8470", "http://127.0.0.1:8470", None),
    ("http://localhost:80/", "http://localhost", None),
    ("http://reviews.example.org:8470", "http://reviews.example.org:8470", None),
    ("amara@reviews.example.org:8443", "https://reviews.example.org:8443", "amara"),
])
def test_service_addresses_are_read_and_a_bare_name_means_https(typed, url, username):
    address = parse_backend_address(typed)
    assert address.url == address.key == url
    assert address.username == username
    assert parse_backend_address(address.key).url == address.url  # the remembered form


@pytest.mark.parametrize(("typed", "says"), [
    ("", "Enter the backend service's address"),
    ("postgresql://amara:hunter2@db.example.org/reviews", re.escape(NOT_POSTGRESQL)),
    ("postgres://db.example.org:5433/reviews?sslmode=verify-full",
     "not to PostgreSQL directly"),
    ("postgresql+psycopg://db.example.org/reviews", "ask your admin for its address"),
    ("reviews.example.org:99999", "ports go from 1 to 65535"),
    ("reviews.example.org:https", "port must be a number"),
    ("https://amara:hunter2@reviews.example.org", "Leave the password out"),
    ("ftp://reviews.example.org", "starts with https://"),
    ("https://reviews.example.org/?token=hunter2", "Leave out everything from the"),
    ("reviews example org", "cannot be read"),
    ("2001:db8::5", "IPv6 address in brackets"),
    ("https://", "Name the service's computer"),
])
def test_bad_addresses_are_explained(typed, says):
    with pytest.raises(AddressProblem, match=says) as caught:
        parse_backend_address(typed)
    assert "hunter2" not in str(caught.value)


def test_the_postgresql_message_sends_people_to_the_service():
    assert NOT_POSTGRESQL == (
        "Workstations sign in through the backend service (reviewer-server), not to "
        "PostgreSQL directly: ask your admin for its address, e.g. "
        "https://reviews.example.org")


@pytest.mark.parametrize(("typed", "allowed", "line", "warning"), [
    ("reviews.example.org", False, VERIFIED_LINE, False),
    ("https://localhost:8443", False, LOOPBACK_LINE, False),
    ("http://127.0.0.1:8470", False, LOOPBACK_LINE, False),
    ("http://[::1]:8470", True, LOOPBACK_LINE, False),
    ("http://reviews.example.org", False, "Refused: http://reviews.example.org is not "
     "encrypted: use https://", True),
    ("http://reviews.example.org", True, "The connection to http://reviews.example.org is "
     "not encrypted", True),
    ("reviews.example.org", True, "The connection is encrypted but does not verify the "
     "service's certificate", True),
])
def test_the_tls_status_of_an_address(typed, allowed, line, warning):
    text, is_warning = tls_status(parse_backend_address(typed), allow_unverified_tls=allowed)
    assert text.startswith(line) and is_warning is warning
    if warning:
        assert "allow_unverified_tls" in text


# -- the dialog against a real service ---------------------------------------------------


@pytest.fixture(scope="module")
def team_backend(postgres_server):
    """A seeded team backend (PostgreSQL) for this module's tests."""
    url = postgres_server.create_database(f"reviewer_si_{uuid.uuid4().hex[:12]}",
                                          template=TEMPLATE)
    try:
        seed_backend(url, ManualClock(), cases=6)
        yield url
    finally:
        postgres_server.drop_database(str(url.database))


@pytest.fixture(scope="module")
def service(team_backend) -> str:
    """The real backend service over it, on this computer: its base URL."""
    with running_service(team_backend) as base:
        yield base


@pytest.fixture
def reviewer_role(postgres_server, team_backend):
    """A person's login (a role with a SCRAM password and a reviewer account), as
    `reviewer-admin create-user` makes one."""
    name = f"amara_{uuid.uuid4().hex[:8]}"  # login roles belong to the whole server
    create_login(team_backend, name, role="reviewer", teams=["integrity"], password=PASSWORD)
    yield name
    drop_logins(postgres_server.admin_url, [name])


@pytest.fixture
def address(service) -> str:
    return service


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir):
    return QSettings(str(DataPaths(data_dir).settings), QSettings.Format.IniFormat)


@pytest.fixture
def no_keyring():
    """A computer with no keyring at all (keyring's own 'fail' backend)."""
    with without_keyring():
        yield


@pytest.fixture
def system_keyring(address, reviewer_role):
    """The real system keyring: the private GNOME Keyring the test run started
    (tests/conftest.py), or with REVIEWER_TEST_KEYRING=none the session's own. The test's
    entry (its own role name) is forgotten afterwards."""
    if not KEYRING.available and os.environ.get("REVIEWER_TEST_KEYRING") == "none":
        pytest.skip("REVIEWER_TEST_KEYRING=none and this session has no keyring")
    assert KEYRING.available, "the test keyring did not start"
    yield KEYRING.name
    forget_password(KEYRING, parse_backend_address(address).key, reviewer_role)


def make_dialog(qtbot, settings, data_dir, **kwargs) -> SignInDialog:
    dialog = SignInDialog(TaskRunner(), settings, data_dir, secrets=KEYRING, **kwargs)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def sign_in(qtbot, dialog: SignInDialog, address: str, username: str, password: str,
            remember: bool | None = None) -> None:
    dialog.address_edit.setText(address)
    dialog.user_edit.setText(username)
    dialog.password_edit.setText(password)
    if remember is not None:
        dialog.remember_box.setChecked(remember)
    busy_seen = []
    dialog.tasks.busy_changed.connect(
        lambda busy: busy_seen.append((busy, dialog.sign_in_button.isEnabled(),
                                       dialog.busy.isVisible())))
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    wait_until_idle(qtbot, dialog.tasks, timeout=30_000)  # the service was asked
    assert not dialog.checking
    # While the service was asked, the window stayed responsive with a busy indicator and
    # no second submission was possible.
    assert busy_seen and busy_seen[0] == (True, False, True), dialog.error.text()


def files_and_logs_text(root: Path, caplog) -> bytes:
    blobs = [caplog.text.encode()]
    blobs += [path.read_bytes() for path in root.rglob("*") if path.is_file()]
    return b"\n".join(blobs)


def test_signing_in_checks_the_password_with_the_backend_service(
        qtbot, settings, data_dir, address, reviewer_role, caplog, tmp_path, no_keyring):
    caplog.set_level(logging.DEBUG)
    dialog = make_dialog(qtbot, settings, data_dir)
    sign_in(qtbot, dialog, address, reviewer_role, PASSWORD)
    assert dialog.result() == QDialog.DialogCode.Accepted
    signed_in = dialog.signed_in
    assert signed_in is not None and not signed_in.offline
    assert (signed_in.username, signed_in.password) == (reviewer_role, PASSWORD)
    assert signed_in.url == address  # the service's base URL, never a database's
    assert PASSWORD not in repr(signed_in)
    # The address and user name are remembered for the next start; the password is not.
    again = QSettings(str(DataPaths(data_dir).settings), QSettings.Format.IniFormat)
    assert parse_backend_address(again.value(BACKEND_ADDRESS.key)) == signed_in.address
    assert again.value(BACKEND_USERNAME.key) == reviewer_role
    assert dialog.password_edit.text() == ""
    assert PASSWORD.encode() not in files_and_logs_text(tmp_path, caplog)
    next_time = make_dialog(qtbot, settings, data_dir)
    assert next_time.address_edit.text() == signed_in.address.key
    assert next_time.user_edit.text() == reviewer_role
    assert next_time.focusWidget() is next_time.password_edit


def service_sessions(team_backend, username: str) -> tuple[int, int]:
    """(started, still live) service sessions of a person, read as the backend's owner."""
    from sqlalchemy import func, select

    from reviewer.store.database import Database
    from reviewer.store.models import Reviewer, ServiceSession

    owner = Database.open(team_backend, migrate=False)
    try:
        with owner.sessions() as session:
            mine = select(ServiceSession).where(ServiceSession.reviewer_id.in_(
                select(Reviewer.id).where(Reviewer.username == username))).subquery()
            started = session.scalar(select(func.count()).select_from(mine))
            live = session.scalar(select(func.count()).select_from(mine)
                                  .where(mine.c.revoked_at.is_(None)))
    finally:
        owner.dispose()
    return int(started or 0), int(live or 0)


def test_the_password_check_leaves_no_session_behind(
        qtbot, settings, data_dir, address, reviewer_role, team_backend, no_keyring):
    dialog = make_dialog(qtbot, settings, data_dir)
    sign_in(qtbot, dialog, address, reviewer_role, PASSWORD)
    signed_in = dialog.signed_in
    assert signed_in is not None and (signed_in.username, signed_in.offline) == (
        reviewer_role, False)
    # The service checked the password and started a session, which the dialog ended at
    # once: the workstation signs in for itself, with its own client id.
    assert service_sessions(team_backend, reviewer_role) == (1, 0)


def test_a_wrong_password_keeps_the_dialog_open_with_the_reason(
        qtbot, settings, data_dir, address, reviewer_role, caplog, tmp_path, no_keyring):
    caplog.set_level(logging.DEBUG)
    dialog = make_dialog(qtbot, settings, data_dir)
    sign_in(qtbot, dialog, address, reviewer_role, "Wr0ng-guess-canary")
    assert dialog.isVisible() and dialog.signed_in is None
    assert dialog.error.isVisible()
    assert dialog.error.text() == "Wrong user name or password; try again."
    assert dialog.password_edit.text() == "" and dialog.focusWidget() is dialog.password_edit
    assert not DataPaths(data_dir).settings.exists()  # nothing remembered from a failure
    assert b"Wr0ng-guess-canary" not in files_and_logs_text(tmp_path, caplog)
    # An unknown user gets the same answer (the service does not say which was wrong).
    sign_in(qtbot, dialog, address, f"nobody_{uuid.uuid4().hex[:6]}", PASSWORD)
    assert dialog.error.text() == "Wrong user name or password; try again."
    # The second try, with the right name and password, goes through.
    dialog.user_edit.setText(reviewer_role)
    dialog.password_edit.setText(PASSWORD)
    with qtbot.waitSignal(dialog.accepted, timeout=30_000):
        qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_form_problems_are_shown_next_to_the_form_before_anything_is_sent(
        qtbot, settings, data_dir, no_keyring):
    dialog = make_dialog(qtbot, settings, data_dir)
    dialog.address_edit.setText("https://amara:hunter2@reviews.example.org")
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert "Leave the password out" in dialog.error.text() and not dialog.checking
    assert "hunter2" not in dialog.error.text()
    assert dialog.focusWidget() is dialog.address_edit
    dialog.address_edit.setText("amara@reviews.example.org")
    dialog.user_edit.setText("jonas")
    dialog.password_edit.setText("x")
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert "names the user amara" in dialog.error.text()
    dialog.user_edit.clear()
    dialog.password_edit.clear()
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert dialog.user_edit.text() == "amara"  # taken from the address
    assert "Enter your password" in dialog.error.text()


def test_a_postgresql_address_is_answered_with_where_to_sign_in(
        qtbot, settings, data_dir, no_keyring):
    typed = "postgresql://amara@db.example.org/reviews"
    dialog = make_dialog(qtbot, settings, data_dir, address=typed)
    # Said as soon as it is there (a remembered address from an older version, say) ...
    assert dialog.tls_label.isVisible()
    assert dialog.tls_label.text() == f"⚠ {NOT_POSTGRESQL}"
    # ... and again, as the reason, when signing in is tried: nothing is sent.
    dialog.user_edit.setText("amara")
    dialog.password_edit.setText(PASSWORD)
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert not dialog.checking and dialog.signed_in is None
    assert dialog.error.text() == f"{NOT_POSTGRESQL}."
    assert dialog.focusWidget() is dialog.address_edit


def test_an_unreachable_service_offers_offline_work_when_cases_are_here(
        qtbot, settings, data_dir, no_keyring):
    nowhere = f"http://127.0.0.1:{free_port()}"
    dialog = make_dialog(qtbot, settings, data_dir)
    sign_in(qtbot, dialog, nowhere, "amara", PASSWORD)
    assert "cannot be reached" in dialog.error.text()
    assert nowhere in dialog.error.text()
    assert "Check the address and your network" in dialog.error.text()
    assert "; working offline" not in dialog.error.text()  # it is not, yet
    assert not dialog.offline_button.isVisible()  # no replica: nothing to work on offline

    DataPaths(data_dir).ensure().replica.write_bytes(b"an existing replica")
    sign_in(qtbot, dialog, nowhere, "amara", PASSWORD)
    assert "work offline" in dialog.error.text() and dialog.offline_button.isVisible()
    qtbot.mouseClick(dialog.offline_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.signed_in is not None and dialog.signed_in.offline
    assert not dialog.signed_in.remember
    assert dialog.signed_in.url == nowhere


def test_remember_ticked_keeps_the_password_in_the_keyring_only(
        qtbot, settings, data_dir, address, reviewer_role, system_keyring, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    dialog = make_dialog(qtbot, settings, data_dir)
    assert dialog.remember_box.isEnabled()
    assert dialog.remember_box.text().replace("&", "") == \
        f"Remember my password in {KEYRING.name}"
    sign_in(qtbot, dialog, address, reviewer_role, PASSWORD, remember=True)
    signed_in = dialog.signed_in
    assert signed_in is not None and signed_in.remember and signed_in.keyring_problem is None
    assert load_password(KEYRING, signed_in.address.key, reviewer_role) == PASSWORD
    assert signed_in.address.key == address  # filed under the service's base URL
    assert PASSWORD.encode() not in files_and_logs_text(tmp_path, caplog)


def test_remember_unticked_stores_nothing_and_forgets_an_old_one(
        qtbot, settings, data_dir, address, reviewer_role, system_keyring):
    key = parse_backend_address(address).key
    save_password(KEYRING, key, reviewer_role, "an older password")
    dialog = make_dialog(qtbot, settings, data_dir)
    sign_in(qtbot, dialog, address, reviewer_role, PASSWORD, remember=False)
    assert dialog.signed_in is not None and not dialog.signed_in.remember
    assert load_password(KEYRING, key, reviewer_role) is None
    assert make_dialog(qtbot, settings, data_dir).remember_box.isChecked() is False


def test_a_remembered_password_signs_in_silently_and_sign_out_forgets_it(
        qtbot, settings, data_dir, address, reviewer_role, system_keyring):
    from ui.app import build_parser, obtain_sign_in

    key = parse_backend_address(address).key
    dialog = make_dialog(qtbot, settings, data_dir)
    sign_in(qtbot, dialog, address, reviewer_role, PASSWORD, remember=True)
    args = build_parser().parse_args(["--data-dir", str(data_dir)])
    signed_in = obtain_sign_in(args, data_dir, settings, TaskRunner(), secrets=KEYRING, ask=False)
    assert signed_in is not None  # no dialog: the keyring had it
    assert (signed_in.username, signed_in.password, signed_in.address.key) == (
        reviewer_role, PASSWORD, key)
    # With --backend on the command line the same entry is found, typed another way too.
    args = build_parser().parse_args(["--data-dir", str(data_dir), "--backend", address])
    assert obtain_sign_in(args, data_dir, settings, TaskRunner(), secrets=KEYRING,
                          ask=False) == signed_in
    other_way = f"{address.upper().replace('HTTP://', 'http://')}/"
    args = build_parser().parse_args(["--data-dir", str(data_dir), "--backend", other_way])
    assert obtain_sign_in(args, data_dir, settings, TaskRunner(), secrets=KEYRING,
                          ask=False) == signed_in
    forget_password(KEYRING, key, reviewer_role)  # what File > Sign out does
    seen = _answer_modal(qtbot, SignInDialog, lambda d: d.reject())
    assert obtain_sign_in(args, data_dir, settings, TaskRunner(), secrets=KEYRING,
                          ask=False) is None
    assert seen and seen[0].user_edit.text() == reviewer_role


def test_without_a_keyring_the_dialog_says_it_will_ask_each_time(
        qtbot, settings, data_dir, address, reviewer_role, no_keyring):
    dialog = make_dialog(qtbot, settings, data_dir)
    assert not dialog.remember_box.isEnabled() and not dialog.remember_box.isChecked()
    assert dialog.keyring_note.text() == NO_KEYRING and dialog.keyring_note.isVisible()
    sign_in(qtbot, dialog, address, reviewer_role, PASSWORD)
    assert dialog.signed_in is not None and not dialog.signed_in.remember
    assert dialog.signed_in.keyring_problem is None


def test_the_tls_line_follows_the_address(qtbot, settings, data_dir, no_keyring):
    dialog = make_dialog(qtbot, settings, data_dir)
    dialog.address_edit.setText("http://localhost:8470")
    assert dialog.tls_label.text() == f"✓ {LOOPBACK_LINE}"
    dialog.address_edit.setText("reviews.example.org")
    assert dialog.tls_label.text() == f"✓ {VERIFIED_LINE}"
    assert dialog.tls_label.text() == "✓ Encrypted connection; the service's certificate is " \
        "verified."
    unencrypted = "http://reviews.example.org:8470"
    dialog.address_edit.setText(unencrypted)
    assert dialog.tls_label.text().startswith("⚠ Refused: http://reviews.example.org:8470 is "
                                              "not encrypted")
    assert "allow_unverified_tls" in dialog.tls_label.text()
    dialog.address_edit.setText("not an address")
    assert not dialog.tls_label.isVisible()
    # Only with the explicit setting is such a service used, and then with a warning.
    data_dir.mkdir(parents=True, exist_ok=True)
    DataPaths(data_dir).settings.write_text("[security]\nallow_unverified_tls = true\n")
    allowed = make_dialog(qtbot, settings, data_dir, address=unencrypted)
    assert allowed.tls_label.text().startswith(
        "⚠ The connection to http://reviews.example.org:8470 is not encrypted")
    allowed.address_edit.setText("reviews.example.org")
    assert allowed.tls_label.text().startswith("⚠ The connection is encrypted")
    assert "does not verify the service's certificate" in allowed.tls_label.text()
    allowed.address_edit.setText("http://127.0.0.1:8470")
    assert allowed.tls_label.text() == f"✓ {LOOPBACK_LINE}"


def test_plain_http_to_another_computer_is_refused_before_any_password_is_sent(
        qtbot, settings, data_dir, no_keyring):
    dialog = make_dialog(qtbot, settings, data_dir)
    busy: list[bool] = []
    dialog.tasks.busy_changed.connect(busy.append)
    dialog.address_edit.setText("http://reviews.example.org")
    dialog.user_edit.setText("amara")
    dialog.password_edit.setText(PASSWORD)
    qtbot.mouseClick(dialog.sign_in_button, Qt.MouseButton.LeftButton)
    assert dialog.signed_in is None and dialog.isVisible()
    assert dialog.error.text().startswith("Not signed in: http://reviews.example.org is not "
                                          "encrypted: use https://")
    assert busy == [] and dialog.tasks.active == 0  # nothing went to the network
    # Working offline with it is refused alike: the workstation would not use it.
    DataPaths(data_dir).ensure().replica.write_bytes(b"an existing replica")
    dialog.work_offline()
    assert dialog.signed_in is None and "Not signed in" in dialog.error.text()


# -- https with the service's own certificate ------------------------------------------


@pytest.fixture(scope="module")
def service_ca(tmp_path_factory) -> Path:
    return make_ca(tmp_path_factory.mktemp("service-ca"))


@pytest.fixture(scope="module")
def tls_service(team_backend, service_ca, tmp_path_factory) -> str:
    """The service with its own certificate (signed by ``service_ca``) for this computer."""
    certificate = make_server_certificate(
        service_ca, tmp_path_factory.mktemp("service-cert"), "service",
        common_name="localhost", alt_names=["DNS:localhost", "IP:127.0.0.1"])
    with running_service(team_backend, ssl_certfile=certificate.cert,
                         ssl_keyfile=certificate.key) as base:
        yield base.replace("127.0.0.1", "localhost")


def test_over_https_the_services_certificate_is_verified(
        qtbot, settings, data_dir, tls_service, service_ca, reviewer_role, no_keyring,
        monkeypatch):
    for name in ("REVIEWER_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    typed = tls_service.removeprefix("https://")  # as a person types it: https implied
    dialog = make_dialog(qtbot, settings, data_dir)
    dialog.address_edit.setText(typed)
    assert dialog.tls_label.text() == f"✓ {LOOPBACK_LINE}"
    # Its CA is unknown to this computer: refused, and said in plain words.
    sign_in(qtbot, dialog, typed, reviewer_role, PASSWORD)
    assert dialog.signed_in is None
    said = dialog.error.text()
    assert "the service's certificate could not be verified" in said
    assert "REVIEWER_CA_BUNDLE" in said and "_ssl.c" not in said
    # With the team's CA named, the same sign-in goes through.
    monkeypatch.setenv("REVIEWER_CA_BUNDLE", str(service_ca))
    sign_in(qtbot, dialog, typed, reviewer_role, PASSWORD)
    assert dialog.signed_in is not None and dialog.signed_in.url == tls_service


# -- the replica cannot be opened --------------------------------------------------------


@pytest.mark.parametrize(("button", "resync"), [("resync_button", True),
                                                ("quit_button", False)])
def test_an_unreadable_replica_offers_a_resync_or_quit(qtbot, button, resync):
    box = ReplicaUnreadableBox(RuntimeError("The local replica cannot be read"))
    qtbot.addWidget(box)
    assert box.text() == "The local replica cannot be read"
    assert "aside, not deleted" in box.informativeText()
    assert box.sign_in_button is None
    QTimer.singleShot(0, lambda: getattr(box, button).click())
    box.exec()
    assert box.resync_chosen is resync and not box.sign_in_chosen


def _damage(path: Path) -> None:
    with path.open("r+b") as file:
        file.write(bytes(range(256)) * 8)


def test_a_damaged_replica_is_resynced_from_the_backend_or_the_app_quits(
        qtbot, tmp_path, system_keyring):
    from reviewer.clock import ManualClock
    from reviewer.enforcement.decisions import SEND_HOLD
    from reviewer.policy.taxonomy import load_taxonomy
    from tests.helpers.workstations import demo_workstation
    from ui.app import build_parser, open_workstation

    demo_workstation(tmp_path, ManualClock(), cases=4, with_media=False,
                     secrets=KEYRING).close()
    data_dir = tmp_path / "data"
    _damage(DataPaths(data_dir).replica)
    args = build_parser().parse_args(["--data-dir", str(data_dir)])
    taxonomy = load_taxonomy()

    seen = _answer_modal(qtbot, ReplicaUnreadableBox, lambda box: box.quit_button.click())
    assert open_workstation(args, data_dir, taxonomy, None, secrets=KEYRING,
                            decision_hold=SEND_HOLD) is None
    assert "cannot be read" in seen[0].text()

    before = set(data_dir.iterdir())
    _answer_modal(qtbot, ReplicaUnreadableBox, lambda box: box.resync_button.click())
    workstation = open_workstation(args, data_dir, taxonomy, None, secrets=KEYRING,
                                   decision_hold=SEND_HOLD)
    assert workstation is not None
    try:
        workstation.synchronise()
        assert workstation.queues()  # downloaded again from the (intact) backend
    finally:
        workstation.close()
    moved_aside = [p for p in set(data_dir.iterdir()) - before
                   if p.name.startswith("replica") and p.name != "replica.sqlite"]
    assert moved_aside  # the unreadable file is kept, not deleted


def test_without_a_keyring_a_replica_that_will_not_open_offers_signing_in_again(
        qtbot, data_dir, no_keyring):
    from reviewer.enforcement.decisions import SEND_HOLD
    from reviewer.policy.taxonomy import load_taxonomy
    from reviewer.workstation import Workstation
    from ui.app import SignInAgain, build_parser, open_workstation
    from ui.security.sign_in import SignedIn

    # Opening a workstation does not contact the service: no service needs to run here.
    address = parse_backend_address(f"http://127.0.0.1:{free_port()}")
    Workstation.open(data_dir, backend_url=address.url, password=PASSWORD,
                     username="amara").close()
    typo = SignedIn(address, "amara", PASSWORD + "x", remember=False, offline=True)
    args = build_parser().parse_args(["--data-dir", str(data_dir)])
    seen = _answer_modal(qtbot, ReplicaUnreadableBox, lambda box: box.sign_in_button.click())
    with pytest.raises(SignInAgain, match="sign in again"):
        open_workstation(args, data_dir, load_taxonomy(), typo, secrets=KEYRING,
                         decision_hold=SEND_HOLD)
    assert seen[0].defaultButton() is seen[0].sign_in_button


# -- the first start of a packaged app ---------------------------------------------------


def _answer_modal(qtbot, kind, action) -> list:
    """Act on the next modal dialog of type ``kind`` once it is shown (polled: no signal
    says that a modal dialog opened)."""
    seen: list = []

    def poll() -> None:
        widget = QApplication.activeModalWidget()
        if isinstance(widget, kind) and widget.isVisible():
            seen.append(widget)
            action(widget)
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)
    return seen


def test_first_run_connect_leads_to_the_sign_in_dialog_and_cancel_quits(
        qtbot, settings, data_dir, no_keyring):
    first = FirstRunDialog(data_dir)
    qtbot.addWidget(first)
    first.team.setChecked(True)
    assert "sign in" in first.start_button.text()
    help_text = first.findChild(QLabel, "teamBackendHelp").text()
    assert "reviewer-admin create-user" in help_text

    from ui.app import build_parser, run_sessions

    args = build_parser().parse_args(["--data-dir", str(data_dir)])
    seen = _answer_modal(qtbot, SignInDialog, lambda dialog: dialog.reject())
    assert run_sessions(QApplication.instance(), args, data_dir, settings, TaskRunner(),
                        secrets=KEYRING, team_first=True) == 0
    assert seen and seen[0].address_edit.text() == ""
    assert not DataPaths(data_dir).settings.exists()


def _when_shown(predicate, action) -> list:
    """Act on the first top-level widget that matches ``predicate`` once it is shown."""
    seen: list = []

    def poll() -> None:
        found = [w for w in QApplication.topLevelWidgets() if w.isVisible() and predicate(w)]
        if found:
            seen.append(found[0])
            action(found[0])
        else:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(0, poll)
    return seen


def test_first_run_team_path_signs_in_opens_the_window_and_signs_out(
        qtbot, settings, data_dir, address, reviewer_role, team_backend, no_keyring, caplog,
        tmp_path):
    from ui.app import build_parser, run_sessions
    from ui.main_window import MainWindow

    caplog.set_level(logging.DEBUG)
    args = build_parser().parse_args(["--data-dir", str(data_dir)])
    windows: list = []

    def fill_in(dialog: SignInDialog) -> None:
        dialog.address_edit.setText(address)
        dialog.user_edit.setText(reviewer_role)
        dialog.password_edit.setText(PASSWORD)
        dialog.sign_in_button.click()

    def in_the_window(window: MainWindow) -> None:
        windows.append(window)
        actions = {a.text().replace("&", ""): a for a in window.findChildren(QAction)}
        assert window.findChild(QLabel, "tlsWarning") is None  # this computer: no warning
        actions["Lock now"].trigger()
        _when_shown(lambda w: isinstance(w, SignInDialog), after_sign_out)
        actions[f"Sign out ({reviewer_role})"].trigger()

    def after_sign_out(dialog: SignInDialog) -> None:
        windows.append(dialog.message.text())
        windows.append(dialog.address_edit.text())
        dialog.reject()

    _answer_modal(qtbot, SignInDialog, fill_in)
    _when_shown(lambda w: isinstance(w, MainWindow), in_the_window)
    assert run_sessions(QApplication.instance(), args, data_dir, settings, TaskRunner(),
                        secrets=KEYRING, team_first=True) == 0
    assert len(windows) == 3, windows
    assert windows[1] == f"You signed out of {parse_backend_address(address).shown}."
    assert parse_backend_address(windows[2]) == parse_backend_address(address)
    assert PASSWORD.encode() not in files_and_logs_text(tmp_path, caplog)
    started, live = service_sessions(team_backend, reviewer_role)
    assert started >= 2 and live == 0  # the check's, the window's: Sign out ended it too


def test_a_wiped_replica_is_explained_once_after_start(qtbot, tmp_path):
    from reviewer.clock import ManualClock
    from tests.helpers.workstations import demo_workstation
    from ui.app import show_start_notices

    workstation = demo_workstation(tmp_path, ManualClock(), cases=2, with_media=False)
    try:
        parent = QDialog()
        qtbot.addWidget(parent)
        workstation.replica_warning = None  # (set when this run has no keyring)
        assert show_start_notices(parent, workstation) is None  # nothing wiped: no message
        workstation.wiped_reason = "this device was revoked by an admin"
        box = show_start_notices(parent, workstation)
        assert box is not None and box.isVisible()
        assert "revoked by an admin" in box.text()
        box.close()
        workstation.wiped_reason = None
        workstation.replica_warning = "the demo data lasts for this session only"
        box = show_start_notices(parent, workstation)
        assert box is not None and "this session only" in box.text()
        box.close()
    finally:
        workstation.close()


@pytest.mark.parametrize(("typed", "label"), [
    ("http://reviews.example.org:8470", "⚠ Backend connection not encrypted"),
    ("reviews.example.org", "⚠ Backend certificate not verified"),
])
def test_an_unverified_or_unencrypted_service_is_warned_about_in_the_status_bar(
        qtbot, window, typed, label):
    from ui.app import install_session
    from ui.security.sign_in import SignedIn

    address = parse_backend_address(typed)
    window.workstation.settings.set("security/allow_unverified_tls", True)
    session = install_session(window, window.tasks, SignedIn(address, "amara", PASSWORD, False))
    found = window.statusBar().findChild(QLabel, "tlsWarning")
    assert found is session.tls_label and found.isVisible()
    assert found.text() == label
    assert found.toolTip() == tls_status(address, allow_unverified_tls=True)[0]
    assert "allow_unverified_tls" in found.toolTip()
    session.lock.unlock()


def test_a_verified_service_gets_no_warning_in_the_status_bar(qtbot, window):
    from ui.app import install_session
    from ui.security.sign_in import SignedIn

    address = parse_backend_address("reviews.example.org")
    session = install_session(window, window.tasks, SignedIn(address, "amara", PASSWORD, False))
    assert session.tls_label is None
    assert window.statusBar().findChild(QLabel, "tlsWarning") is None
    session.lock.unlock()


def test_a_password_the_backend_later_refuses_leads_back_to_sign_in(
        qtbot, service, reviewer_role, data_dir, renderer):
    from reviewer.workstation import Workstation
    from ui.app import SIGN_IN_AGAIN, build_main_window, install_session
    from ui.security.sign_in import SignedIn

    address = parse_backend_address(service)
    workstation = Workstation.open(data_dir, backend_url=address.url,
                                   password="an old password", username=reviewer_role)
    try:
        tasks = TaskRunner()
        window = build_main_window(workstation, tasks, renderer,
                                   QSettings(str(workstation.paths.settings),
                                             QSettings.Format.IniFormat))
        qtbot.addWidget(window)
        window.show()
        session = install_session(window, tasks, SignedIn(address, reviewer_role,
                                                          "an old password", True))
        asked: list[str] = []

        def sign_in_again(box: QMessageBox) -> None:
            asked.append(box.text())
            box.button(QMessageBox.StandardButton.Yes).click()

        _answer_modal(qtbot, QMessageBox, sign_in_again)
        window.start_sync()
        # Polled: the session notices the refusal on its own timer, which has no signal.
        qtbot.waitUntil(lambda: session.next_step == SIGN_IN_AGAIN, timeout=30_000)
        assert "refused the sign-in: wrong user name or password" in asked[0]
        assert "an old password" not in asked[0]
        assert not window.isVisible()
        assert "sign in again" in session.message
        wait_until_idle(qtbot, tasks)
    finally:
        workstation.close()


@pytest.mark.parametrize(("typed", "says"), [
    ("https://amara:hunter2@reviews.example.org", "Leave the password out of the address"),
    ("postgresql://amara:hunter2@db.example.org/reviews", NOT_POSTGRESQL),
])
def test_a_bad_backend_option_is_one_clear_line_and_exit_code_2(capsys, tmp_path, typed,
                                                                says):
    from ui.app import main

    assert main(["--data-dir", str(tmp_path), "--backend", typed]) == 2
    err = capsys.readouterr().err
    assert err.startswith("--backend: ") and err.count("\n") == 1
    assert says in err and "hunter2" not in err
    assert not any(tmp_path.iterdir())  # nothing was started or written
