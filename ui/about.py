"""Help > About: the app's version, and the versions and licences of what it bundles.

The installed packages are the ones that ship in a packaged build, so their versions are
read from the installed distributions (importlib.metadata) rather than written down here.
"""

from __future__ import annotations

import html
import importlib.metadata
import platform
from dataclasses import dataclass

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from reviewer import __version__

NOT_INSTALLED = "not installed"


@dataclass(frozen=True)
class Component:
    name: str
    version: str
    licence: str
    url: str


# (shown name, distribution names to try in order, licence, home page)
_DISTRIBUTIONS = (
    ("SQLAlchemy", ("SQLAlchemy",), "MIT", "https://www.sqlalchemy.org/"),
    ("Alembic", ("alembic",), "MIT", "https://alembic.sqlalchemy.org/"),
    ("Pillow", ("pillow", "Pillow"), "MIT-CMU", "https://python-pillow.org/"),
    ("psycopg 3", ("psycopg",), "LGPL-3.0", "https://www.psycopg.org/"),
    ("keyring", ("keyring",), "MIT", "https://github.com/jaraco/keyring"),
    ("platformdirs", ("platformdirs",), "MIT", "https://github.com/tox-dev/platformdirs"),
)
# Shown only when present: video support brings FFmpeg through PyAV.
_OPTIONAL_DISTRIBUTIONS = (
    ("PyAV with FFmpeg", ("av",), "BSD-3-Clause; FFmpeg LGPL-2.1+", "https://pyav.org/"),
)


def distribution_version(*names: str) -> str:
    """The installed version of the first of `names` that is installed."""
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return NOT_INSTALLED


def bundled_components() -> list[Component]:
    """Every third-party component the app ships with, with its version and licence."""
    components = [
        Component("Python", platform.python_version(), "PSF-2.0",
                  "https://docs.python.org/3/license.html"),
        Component("Qt", qVersion(), "LGPL-3.0", "https://www.qt.io/licensing/"),
        Component("Qt for Python (PySide6)", pyside_version, "LGPL-3.0",
                  "https://www.qt.io/qt-for-python"),
    ]
    for name, distributions, licence, url in _DISTRIBUTIONS:
        components.append(Component(name, distribution_version(*distributions), licence, url))
    for name, distributions, licence, url in _OPTIONAL_DISTRIBUTIONS:
        version = distribution_version(*distributions)
        if version != NOT_INSTALLED:
            components.append(Component(name, version, licence, url))
    return components


_LGPL_NOTE = (
    "Qt, PySide6 and psycopg (and FFmpeg, where video support is installed) are used under "
    "the GNU Lesser General Public License. They are shipped unmodified as separate shared "
    "libraries, which you may replace with your own builds; their source code is available "
    "from the addresses above."
)


def about_html(components: list[Component]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(c.name)}</td><td>{html.escape(c.version)}</td>"
        f"<td>{html.escape(c.licence)}</td>"
        f"<td><a href=\"{html.escape(c.url)}\">{html.escape(c.url)}</a></td></tr>"
        for c in components
    )
    return (
        f"<h2>Reviewer Workstation {html.escape(__version__)}</h2>"
        "<p>Review reported content safely: case queue, blurred media viewer, "
        "enforcement panel.</p>"
        "<p><b>Bundled components</b></p>"
        "<table cellspacing=\"0\" cellpadding=\"3\">"
        "<tr><th align=\"left\">Component</th><th align=\"left\">Version</th>"
        "<th align=\"left\">Licence</th><th align=\"left\">Source</th></tr>"
        f"{rows}</table>"
    )


class AboutDialog(QDialog):
    """The app's version and the licences of its bundled components."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Reviewer Workstation")
        self.components = bundled_components()
        self.text = QLabel(about_html(self.components))
        self.text.setObjectName("aboutText")
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setOpenExternalLinks(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.text.setWordWrap(True)
        self.note = QLabel(_LGPL_NOTE)
        self.note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(self.note)
        layout.addWidget(buttons)
        self.setMinimumWidth(720)
        self.adjustSize()
