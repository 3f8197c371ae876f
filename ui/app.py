"""Starting the app: parse the command line, open the workstation, show the window."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from reviewer import __version__
from reviewer.demo import REVIEWERS as DEMO_PEOPLE
from reviewer.store import SchemaVersionError
from reviewer.taxonomy import TaxonomyError

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
    parser.add_argument("--policies", type=Path, default=None, metavar="FILE",
                        help="a policy taxonomy file to use instead of the shipped one")
    parser.add_argument("--screenshot", type=Path, metavar="PATH",
                        help="render the main window offscreen with the demo data to a PNG "
                             "and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.screenshot is not None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox

    from reviewer.enforcement import SEND_HOLD
    from reviewer.media.decode import SafeDecoder
    from reviewer.media.render import Renderer, RenditionCache
    from reviewer.taxonomy import load_taxonomy
    from reviewer.workstation import Workstation
    from ui.main_window import MainWindow
    from ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Reviewer Workstation")
    app.setOrganizationName("ReviewerWorkstation")
    app.setApplicationVersion(__version__)
    app.setStyle("Fusion")
    app.setStyleSheet((RESOURCES / "style.qss").read_text(encoding="utf-8"))

    from reviewer.workstation import default_data_dir
    from ui.first_run import ask_first_run, should_offer_first_run

    first_run_dir = args.data_dir or default_data_dir()
    if should_offer_first_run(first_run_dir, screenshot=args.screenshot is not None) and (
        not ask_first_run(first_run_dir)
    ):
        return 0

    try:
        taxonomy = load_taxonomy(args.policies)
        workstation = Workstation.open_embedded(args.data_dir, taxonomy=taxonomy,
                                                username=args.user, decision_hold=SEND_HOLD)
    except (TaxonomyError, SchemaVersionError) as error:
        # A broken taxonomy or a newer schema: refuse to start rather than guess.
        print(f"Reviewer Workstation cannot start: {error}", file=sys.stderr)
        if args.screenshot is None:
            QMessageBox.critical(None, "Reviewer Workstation cannot start", str(error))
        return 2

    settings = QSettings(str(workstation.paths.settings), QSettings.Format.IniFormat)
    decoder = SafeDecoder()
    renderer = Renderer(decoder, RenditionCache())
    tasks = TaskRunner()
    window = MainWindow(workstation, tasks, renderer, settings)
    try:
        if args.screenshot is not None:
            return take_screenshot(app, window, tasks, args.screenshot)
        window.show()
        window.prepare_first_start()
        return app.exec()
    finally:
        tasks.wait_for_done(10_000)
        decoder.close()
        workstation.close()


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
