"""Starting the app: parse the command line, open the workstation, show the window."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from reviewer import __version__
from reviewer.demo.seed import REVIEWERS as DEMO_PEOPLE
from reviewer.policy.taxonomy import TaxonomyError, load_taxonomy
from reviewer.settings import SECURITY_ALLOW_UNVERIFIED_TLS
from reviewer.store.database import InsecureBackend, SchemaVersionError

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reviewer-workstation",
        description="Reviewer Workstation: review reported content safely.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the embedded backend and the local replica live")
    parser.add_argument("--user", default="demo", metavar="NAME",
                        choices=[person[0] for person in DEMO_PEOPLE],
                        help="on the embedded demo, sign in as another demo person: demo, "
                             "amara, jonas, lucia (reviewers), mei (auditor), sofia (lead), "
                             "admin")
    parser.add_argument("--backend", metavar="ADDRESS", default=None,
                        help="sign in through your team's backend service (reviewer-server): "
                             "its address, e.g. reviews.example.org, reviews.example.org:8443 "
                             "or https://reviews.example.org (a bare name means https; "
                             "http:// only for this computer); remembered for the next start")
    parser.add_argument("--policies", type=Path, default=None, metavar="FILE",
                        help="a policy taxonomy file to use instead of the shipped one")
    parser.add_argument("--screenshot", type=Path, metavar="PATH",
                        help="render the main window offscreen with the demo data to a PNG "
                             "and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.backend is not None:
        from ui.security.sign_in import AddressProblem, parse_backend_address

        try:
            parse_backend_address(args.backend)
        except AddressProblem as problem:
            print(f"--backend: {problem}", file=sys.stderr)  # never echo a password
            return 2
    if args.screenshot is not None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from reviewer.security.secrets import KeyringSecretStore
    from reviewer.store.database import DataPaths
    from reviewer.workstation import default_data_dir
    from ui.first_run import FirstRunChoice, ask_first_run, should_offer_first_run
    from ui.widgets.tasks import TaskRunner

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Reviewer Workstation")
    app.setOrganizationName("ReviewerWorkstation")
    app.setApplicationVersion(__version__)
    app.setStyle("Fusion")
    app.setStyleSheet((RESOURCES / "style.qss").read_text(encoding="utf-8"))

    data_dir = args.data_dir or default_data_dir()
    choice = None
    if args.backend is None and should_offer_first_run(
            data_dir, screenshot=args.screenshot is not None):
        choice = ask_first_run(data_dir)
        if choice is None:
            return 0
    settings = QSettings(str(DataPaths(data_dir).settings), QSettings.Format.IniFormat)
    tasks = TaskRunner()
    try:
        return run_sessions(app, args, data_dir, settings, tasks,
                            secrets=KeyringSecretStore(),  # the one secret store of the app
                            team_first=choice is FirstRunChoice.TEAM)
    finally:
        tasks.wait_for_done(10_000)


SIGN_IN_AGAIN = "sign in again"


def build_main_window(workstation, tasks, renderer, settings):  # type: ignore[no-untyped-def]
    """The main window and the actions that work in it, wired here and nowhere else: each
    gets its collaborators passed in, and all share one `ChangeBus`."""
    from ui.enforcement.actions import EnforcementActions
    from ui.main_window import MainWindow
    from ui.qa.review import QualityActions
    from ui.queue.lead import LeadQueueActions
    from ui.widgets.changes import ChangeBus

    changes = ChangeBus()
    window = MainWindow(workstation, tasks, renderer, settings, changes=changes)
    EnforcementActions(window, workstation, window.panel, tasks, changes)  # Decision menu
    QualityActions(window, workstation, tasks, renderer, settings, role=window.role,
                   ledger=window.wellness.ledger, changes=changes)  # Quality menu
    LeadQueueActions.for_role(window.role, window, workstation, tasks, changes,
                              filter_bar=window.filter_bar, model=window.queue_model,
                              request_sync=window.request_sync)  # Queue menu, leads only
    window.add_help_menu()
    return window


def run_sessions(app, args, data_dir: Path, settings, tasks, *,  # type: ignore[no-untyped-def]
                 secrets, team_first: bool = False) -> int:
    """Sign in (for a team backend), open the workstation, run the window; again after
    "Sign out" or a refused password, until the reviewer quits. ``secrets`` (a
    `reviewer.secret_store.SecretStore`) keeps the replica's keys and a remembered
    password."""
    from reviewer.enforcement.decisions import SEND_HOLD
    from reviewer.media.decode import SafeDecoder
    from reviewer.media.render import Renderer, RenditionCache
    from reviewer.sync.service_client import InsecureAddress
    from ui.security.sign_in import remembered_backend

    try:
        taxonomy = load_taxonomy(args.policies)
    except TaxonomyError as error:
        return _cannot_start(args, error)
    team = args.screenshot is None and (
        team_first or args.backend is not None or bool(remembered_backend(settings)[0]))
    message = ""
    ask = team_first
    while True:
        signed_in = None
        if team:
            signed_in = obtain_sign_in(args, data_dir, settings, tasks, secrets=secrets,
                                       ask=ask, message=message)
            if signed_in is None:
                return 0
        try:
            workstation = open_workstation(args, data_dir, taxonomy, signed_in,
                                           secrets=secrets, decision_hold=SEND_HOLD)
        except (TaxonomyError, SchemaVersionError) as error:
            return _cannot_start(args, error)
        except (InsecureBackend, InsecureAddress) as error:  # TLS refuses the address
            message, ask = f"Not signed in: {error}.", True
            continue
        except SignInAgain as again:
            message, ask = str(again), True
            continue
        if workstation is None:
            return 1
        decoder = SafeDecoder()
        renderer = Renderer(decoder, RenditionCache())
        window = build_main_window(workstation, tasks, renderer, settings)
        session = None
        try:
            session = install_session(window, tasks, signed_in)  # File menu: lock, sign out
            if args.screenshot is not None:
                return take_screenshot(app, window, tasks, args.screenshot)
            window.show()
            if signed_in is None:
                window.prepare_first_start()
            else:
                window.start_sync()  # never seed demo data into a team backend
            show_start_notices(window, workstation)
            code = app.exec()
            if session.next_step != SIGN_IN_AGAIN:
                return code
            message, ask = session.message, True
        finally:
            if session is not None:
                session.end()
            tasks.wait_for_done(10_000)
            if session is not None and session.signed_out:
                end_service_session(workstation, tasks)
            decoder.close()
            workstation.close()
            window.deleteLater()


def _cannot_start(args, error: BaseException) -> int:  # type: ignore[no-untyped-def]
    """A broken taxonomy or a newer schema: refuse to start rather than guess."""
    from PySide6.QtWidgets import QMessageBox

    print(f"Reviewer Workstation cannot start: {error}", file=sys.stderr)
    if args.screenshot is None:
        QMessageBox.critical(None, "Reviewer Workstation cannot start", str(error))
    return 2


def obtain_sign_in(args, data_dir: Path, settings, tasks, *,  # type: ignore[no-untyped-def]
                   secrets, ask: bool, message: str = ""):
    """The remembered password from the keyring (``secrets``), silently; else the sign-in
    dialog.

    Returns a `ui.security.sign_in.SignedIn`, or None when the reviewer cancels.
    """
    from reviewer.secret_store import SecretStoreUnavailable
    from reviewer.security.secrets import load_password
    from ui.security.sign_in import (
        AddressProblem,
        SignedIn,
        SignInDialog,
        parse_backend_address,
        remembered_backend,
    )

    remembered_address, username = remembered_backend(settings)
    address_text = args.backend or remembered_address
    if not ask:
        try:
            address = parse_backend_address(address_text)
            username = username or address.username or ""
            password = load_password(secrets, address.key, username) if username else None
        except (AddressProblem, SecretStoreUnavailable):
            password = None
        if password is not None:
            return SignedIn(address, username, password, remember=True)
    dialog = SignInDialog(tasks, settings, data_dir, secrets=secrets, address=address_text,
                          username=username, message=message)
    try:
        if dialog.exec() != dialog.DialogCode.Accepted:
            return None
        return dialog.signed_in
    finally:
        dialog.deleteLater()


class SignInAgain(Exception):
    """The reviewer chose to sign in again (the message says why)."""


def open_workstation(args, data_dir: Path, taxonomy, signed_in, *,  # type: ignore[no-untyped-def]
                     secrets, decision_hold):
    """Open the workstation; an unreadable replica is offered a re-sync (or Quit: None)."""
    from reviewer.store.replica import SALT_FILE, ReplicaUnreadable
    from reviewer.workstation import Workstation

    while True:
        try:
            if signed_in is None:
                return Workstation.open_embedded(args.data_dir, secrets=secrets,
                                                 taxonomy=taxonomy, username=args.user,
                                                 decision_hold=decision_hold)
            return Workstation.open(data_dir, backend_url=signed_in.url,
                                    password=signed_in.password, username=signed_in.username,
                                    secrets=secrets, taxonomy=taxonomy,
                                    decision_hold=decision_hold)
        except ReplicaUnreadable as error:
            print(f"The local copy cannot be opened: {error}", file=sys.stderr)
            if args.screenshot is not None:
                return None
            # Without a keyring a team replica's key comes from the password: a typo is the
            # likeliest cause, so signing in again comes first.
            choice = ask_replica_unreadable(
                error, offer_sign_in=signed_in is not None and (data_dir / SALT_FILE).exists())
            if choice == "sign in":
                raise SignInAgain("Your local copy could not be opened with that password; "
                                  "sign in again.") from error
            if choice != "resync":
                return None
            moved = Workstation.reset_replica(data_dir, secrets=secrets)
            logging.getLogger(__name__).info("unreadable replica moved aside to %s", moved)


def ask_replica_unreadable(error: BaseException, *, offer_sign_in: bool = False) -> str:
    """"resync", "sign in" or "quit", as the reviewer chooses."""
    from ui.security.sign_in import ReplicaUnreadableBox

    box = ReplicaUnreadableBox(error, offer_sign_in=offer_sign_in)
    box.exec()
    if box.sign_in_chosen:
        return "sign in"
    return "resync" if box.resync_chosen else "quit"


def show_start_notices(window, workstation):  # type: ignore[no-untyped-def]
    """Once after start: why the replica was wiped, and how it is protected, if either
    needs saying. Returns the message box, or None when there is nothing to say."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    reason = getattr(workstation, "wiped_reason", None)
    warning = getattr(workstation, "replica_warning", None)
    if not reason and not warning:
        return None
    if reason:
        box = QMessageBox(QMessageBox.Icon.Information, "This computer's copy was wiped",
                          f"Your local copy of the cases was wiped at start: {reason}.",
                          parent=window)
        box.setInformativeText(" ".join(filter(None, [
            "Your cases are downloaded again from the backend when it can be reached.",
            warning])))
    else:
        box = QMessageBox(QMessageBox.Icon.Warning, "Your local copy", str(warning),
                          parent=window)
    box.setObjectName("startNotice")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


class Session:
    """One window's session: the lock that guards it, its Sign out action, its TLS warning,
    and what it ended with (``next_step`` is SIGN_IN_AGAIN after Sign out or a refused
    password)."""

    def __init__(self) -> None:
        self.next_step = ""
        self.message = ""
        self.lock = None
        self.sign_out_action = None
        self.tls_label = None
        self.sign_in_watch = None
        self.signed_out = False

    def end(self) -> None:
        """The window has closed: its lock and watch must not act on what comes next."""
        if self.lock is not None:
            self.lock.detach()
        if self.sign_in_watch is not None:
            self.sign_in_watch.stop()


def end_service_session(workstation, tasks, timeout_ms: int = 10_000) -> None:  # type: ignore[no-untyped-def]
    """After Sign out, once the window's sync has stopped: end the session on the backend
    service too (in the background, waited for a bounded time; offline it simply runs out
    by itself)."""
    sign_out = getattr(getattr(workstation, "link", None), "sign_out", None)
    if sign_out is not None:
        tasks.run(sign_out, description="sign out of the backend service")
        tasks.wait_for_done(timeout_ms)


def install_session(window, tasks, signed_in) -> Session:  # type: ignore[no-untyped-def]
    """Lock after idle, Sign out, the TLS warning and a refused password, on one window."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QLabel, QMessageBox

    from reviewer.secret_store import SecretStoreUnavailable
    from reviewer.security.secrets import forget_password
    from reviewer.sync.engine import Connection
    from ui.security.lock import PasswordCheck, file_menu, install_lock
    from ui.security.sign_in import tls_status

    session = Session()
    workstation = window.workstation
    if signed_in is None:
        reviewer = workstation.reviewer()
        name = reviewer.display_name if reviewer else "the demo reviewer"
        session.lock = install_lock(window, tasks, password_check=None,
                                    who=f"Signed in as {name} on the demo backend.")
        return session
    where = signed_in.address.shown
    session.lock = install_lock(
        window, tasks, password_check=PasswordCheck(signed_in.password),
        who=f"Signed in as {signed_in.username} ({where}).")

    def sign_out() -> None:
        with contextlib.suppress(SecretStoreUnavailable):  # then nothing was remembered
            forget_password(workstation.secrets, signed_in.address.key, signed_in.username)
        session.signed_out = True  # the service's session ends once the window is closed
        session.next_step = SIGN_IN_AGAIN
        session.message = f"You signed out of {where}."
        window.close()

    menu = file_menu(window)
    menu.addSeparator()
    sign_out_action = menu.addAction(f"Sign &out ({signed_in.username})")
    sign_out_action.triggered.connect(sign_out)
    session.sign_out_action = sign_out_action

    if signed_in.keyring_problem:
        window.statusBar().showMessage(signed_in.keyring_problem, 30_000)

    settings = getattr(workstation, "settings", None)
    allowed = settings is not None and bool(settings.get(SECURITY_ALLOW_UNVERIFIED_TLS))
    warning, is_warning = tls_status(signed_in.address, allow_unverified_tls=allowed)
    if is_warning:
        label = QLabel("⚠ Backend connection not encrypted"
                       if signed_in.address.scheme == "http"
                       else "⚠ Backend certificate not verified")
        label.setObjectName("tlsWarning")
        label.setStyleSheet("color: #7a4f01; font-weight: 600;")
        label.setToolTip(warning)
        window.statusBar().addPermanentWidget(label)
        session.tls_label = label

    asked = []

    def watch_sign_in() -> None:
        status = workstation.sync.status()
        refused = (status.connection == Connection.REFUSED and status.last_error
                   and "refused the sign-in" in status.last_error)
        if not refused or asked or session.lock.locked:
            return
        asked.append(True)
        answer = QMessageBox.question(
            window, "Sign in again",
            f"The backend refused your password: {status.last_error}.\n\nSign in again now? "
            "Your recorded work is kept on this computer and sent once you are signed in.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            session.next_step = SIGN_IN_AGAIN
            session.message = "The backend refused your password; please sign in again."
            window.close()

    timer = QTimer(window)
    timer.setInterval(2_000)
    timer.timeout.connect(watch_sign_in)
    timer.start()
    session.sign_in_watch = timer
    return session


def take_screenshot(app, window, tasks, path: Path) -> int:  # type: ignore[no-untyped-def]
    """Prepare the demo, open the first case, wait for its blurred media, save a PNG."""
    window.resize(1600, 960)
    window.show()
    finished = []
    window.prepare_first_start(on_done=lambda: finished.append(True))
    _settle(app, tasks, lambda: bool(finished))
    window.select_row(0)
    _settle(app, tasks, lambda: tasks.active == 0)
    app.processEvents()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(path)):
        print(f"could not write {path}", file=sys.stderr)
        return 1
    print(f"screenshot saved to {path}")
    window.close()
    return 0


def _settle(app, tasks, done, timeout_s: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    import time

    deadline = time.monotonic() + timeout_s
    while not done() or tasks.active:
        app.processEvents()
        tasks.wait_for_done(20)
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not settle in time")
    app.processEvents()


if __name__ == "__main__":
    sys.exit(main())
