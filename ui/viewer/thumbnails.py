"""The strip of blurred thumbnails under the viewer, one button per item of the case.

Thumbnails are only ever blurred renditions, rendered in one background task after the
main view's; while the media is covered (Esc) the buttons show no picture at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QFrame, QHBoxLayout, QScrollArea, QToolButton, QWidget

from reviewer.media.errors import MediaError
from reviewer.media.render import RenditionSettings
from ui.widgets.tasks import TaskRunner

if TYPE_CHECKING:
    from reviewer.store.models import MediaItem

THUMBNAIL = QSize(112, 84)
# Runs in a worker thread: an item's blurred rendition at a size (see `Renditions.render`).
RenderBlurred = Callable[["MediaItem", tuple[int, int], RenditionSettings], QImage]


class ThumbnailStrip(QScrollArea):
    """The thumbnail buttons of the current case; a click on one calls `on_chosen(position)`."""

    def __init__(self, tasks: TaskRunner, render_blurred: RenderBlurred,
                 on_chosen: Callable[[int], None], *, owner: QWidget,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self._tasks = tasks
        self._render_blurred = render_blurred
        self._on_chosen = on_chosen
        self._owner = owner
        self._generation = 0
        self._covered = False
        self._pixmaps: dict[int, QPixmap] = {}
        self.strip = QWidget()
        self.strip_layout = QHBoxLayout(self.strip)
        self.strip_layout.setContentsMargins(0, 0, 0, 0)
        self.strip_layout.addStretch(1)
        self.setWidget(self.strip)
        self.setWidgetResizable(True)
        self.setFixedHeight(THUMBNAIL.height() + 24)
        self.setFrameShape(QFrame.Shape.NoFrame)

    def buttons(self) -> list[QToolButton]:
        """The thumbnail buttons of the current case, in order."""
        return self.strip.findChildren(QToolButton)

    def rebuild(self, items: Sequence[MediaItem], current: int | None) -> None:
        """One button per item of the case; their blurred icons come from `request`."""
        for button in self.buttons():
            button.deleteLater()
            button.setParent(None)
        self._pixmaps.clear()
        self._generation += 1
        for position, item in enumerate(items):
            button = QToolButton()
            button.setCheckable(True)
            button.setChecked(position == current)
            button.setIconSize(THUMBNAIL)
            size = f", {item.width}×{item.height}" if item.width and item.height else ""
            button.setToolTip(f"{item.mime_type}{size}")
            button.setAccessibleName(f"Media item {position + 1}")
            button.clicked.connect(lambda _=False, p=position: self._on_chosen(p))
            self.strip_layout.insertWidget(position, button)

    def set_current(self, index: int) -> None:
        for position, button in enumerate(self.buttons()):
            button.setChecked(position == index)

    def request(self, items: Sequence[MediaItem], settings: RenditionSettings) -> None:
        """Render every blurred thumbnail in one background task."""
        if not items:
            return
        self._generation += 1
        generation = self._generation
        items = list(items)
        thumb = (THUMBNAIL.width(), THUMBNAIL.height())
        render_blurred = self._render_blurred

        def render_all() -> list[QImage | None]:
            images: list[QImage | None] = []
            for item in items:
                try:
                    images.append(render_blurred(item, thumb, settings))
                except MediaError:
                    images.append(None)  # the main view says what is wrong with it
            return images

        self._tasks.run(render_all, lambda images: self._set_thumbnails(generation, images),
                        lambda error: None, description="thumbnails", owner=self._owner)

    def _set_thumbnails(self, generation: int, images: list[QImage | None]) -> None:
        if generation != self._generation:
            return
        for position, (button, image) in enumerate(zip(self.buttons(), images, strict=False)):
            if image is None:
                continue
            pixmap = QPixmap.fromImage(image)
            self._pixmaps[position] = pixmap
            if not self._covered:
                button.setIcon(QIcon(pixmap))

    def cover(self) -> None:
        """Esc: no thumbnail shows a picture until `uncover`."""
        self._covered = True
        for button in self.buttons():
            button.setIcon(QIcon())

    def uncover(self) -> None:
        self._covered = False
        for position, button in enumerate(self.buttons()):
            pixmap = self._pixmaps.get(position)
            if pixmap is not None:
                button.setIcon(QIcon(pixmap))
