"""The media viewer: the case's text and its media, shown only as blurred renditions.

A new item starts as an empty card and is painted only once its blurred rendition is
ready, so no sharp pixel of it ever reaches the screen.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from reviewer.media.errors import MediaError
from reviewer.media.render import Renderer, RenditionSettings
from reviewer.models import Case, MediaItem
from reviewer.vocabulary import Channel, Surface
from ui.tasks import TaskRunner

THUMBNAIL = QSize(112, 84)
MediaSource = Callable[[str], bytes | None]


def pil_to_qimage(image: Image.Image) -> QImage:
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    qimage = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
    return qimage.copy()  # own the pixels: ``data`` goes away with this frame


@dataclass
class _Shown:
    case_id: uuid.UUID
    item: MediaItem
    generation: int


class MediaCanvas(QWidget):
    """Paints one blurred rendition, or a plain card saying what is happening."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._image: QImage | None = None
        self._message = "Select a case to review"
        self.setAccessibleName("Media")

    def show_message(self, text: str) -> None:
        self._image = None
        self._message = text
        self.update()

    def show_image(self, image: QImage) -> None:
        self._image = image
        self._message = ""
        self.update()

    @property
    def image(self) -> QImage | None:
        return self._image

    @property
    def message(self) -> str:
        return self._message

    def paintEvent(self, event) -> None:  # Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#2b2f36"))
        if self._image is not None and not self._image.isNull():
            size = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            x = (self.width() - size.width()) / 2
            y = (self.height() - size.height()) / 2
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(QRectF(x, y, size.width(), size.height()), self._image)
        else:
            painter.setPen(QColor("#c9d1d9"))
            painter.drawText(self.rect().adjusted(24, 24, -24, -24),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             self._message)
        painter.end()


class MediaViewer(QWidget):
    """The case text above, the blurred media in the middle, a thumbnail strip below."""

    media_shown = Signal(str)  # content hash of the item now on screen (blurred)

    def __init__(self, tasks: TaskRunner, renderer: Renderer, media_source: MediaSource,
                 settings: RenditionSettings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self._tasks = tasks
        self._renderer = renderer
        self._media_source = media_source
        self.settings = settings or RenditionSettings()
        self._generation = 0
        self._strip_generation = 0
        self._shown: _Shown | None = None
        self._items: list[MediaItem] = []
        self._case_id: uuid.UUID | None = None

        self.title = QLabel()
        self.title.setObjectName("caseTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.details = QLabel()
        self.details.setObjectName("caseDetails")
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.canvas = MediaCanvas()
        self.strip = QWidget()
        self.strip_layout = QHBoxLayout(self.strip)
        self.strip_layout.setContentsMargins(0, 0, 0, 0)
        self.strip_layout.addStretch(1)
        strip_scroll = QScrollArea()
        strip_scroll.setWidget(self.strip)
        strip_scroll.setWidgetResizable(True)
        strip_scroll.setFixedHeight(THUMBNAIL.height() + 24)
        strip_scroll.setFrameShape(QFrame.Shape.NoFrame)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.title)
        layout.addWidget(self.details)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(strip_scroll)
        self.clear()

    # -- what is shown ---------------------------------------------------------------------

    def clear(self, message: str = "Select a case to review") -> None:
        self._generation += 1
        self._case_id = None
        self._items = []
        self._shown = None
        self.title.setText("No case selected")
        self.details.setText("")
        self.canvas.show_message(message)
        self._rebuild_strip()

    def show_case(self, case: Case, items: list[MediaItem]) -> None:
        self._generation += 1
        self._case_id = case.id
        self._items = items
        self.title.setText(
            f"{case.external_ref}  ·  {_label(Channel, case.channel)}  ·  "
            f"{_label(Surface, case.surface)}  ·  {case.language.upper()}-{case.region}"
        )
        note = f"\nReporter: {case.reporter_note}" if case.reporter_note else ""
        self.details.setText(f"{case.reported_text}{note}")
        self._rebuild_strip()
        if items:
            self.show_item(0)
        else:
            self._shown = None
            self.canvas.show_message("This case has no media.")

    def show_item(self, index: int) -> None:
        if not 0 <= index < len(self._items) or self._case_id is None:
            return
        self._generation += 1
        item = self._items[index]
        self._shown = _Shown(self._case_id, item, self._generation)
        # Nothing of the new item is on screen until its blurred rendition is ready.
        self.canvas.show_message("Preparing a blurred view…")
        size = self.canvas.size()
        view = (max(size.width(), 320), max(size.height(), 240))
        generation = self._generation
        settings = self.settings
        self._tasks.run(
            lambda: self._render_blurred(item, view, settings),
            lambda image: self._on_rendered(generation, image),
            lambda error: self._on_failed(generation, error),
            description="blurred rendition",
            owner=self,
        )
        for position, button in enumerate(self._thumbnails()):
            button.setChecked(position == index)

    def _render_blurred(self, item: MediaItem, view: tuple[int, int],
                        settings: RenditionSettings) -> QImage:
        data = self._media_source(item.content_hash)
        if data is None:
            raise MediaError("the media has not been downloaded to this workstation yet")
        return pil_to_qimage(self._renderer.blurred(data, item.content_hash, view, settings))

    def _on_rendered(self, generation: int, image: QImage) -> None:
        if generation != self._generation or self._shown is None:
            return  # the reviewer moved on; this rendition is not wanted any more
        self.canvas.show_image(image)
        self.media_shown.emit(self._shown.item.content_hash)

    def _on_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        reason = error.reason if isinstance(error, MediaError) else "an unexpected error"
        self.canvas.show_message(f"This media could not be shown: {reason}.")

    # -- thumbnails ------------------------------------------------------------------------

    def _thumbnails(self) -> list[QToolButton]:
        return self.strip.findChildren(QToolButton)

    def _rebuild_strip(self) -> None:
        for button in self._thumbnails():
            button.deleteLater()
            button.setParent(None)
        self._strip_generation += 1
        generation = self._strip_generation
        settings = self.settings
        thumb = (THUMBNAIL.width(), THUMBNAIL.height())
        for position, item in enumerate(self._items):
            button = QToolButton()
            button.setCheckable(True)
            button.setIconSize(THUMBNAIL)
            button.setToolTip(f"{item.mime_type}, {item.width}×{item.height}")
            button.setAccessibleName(f"Media item {position + 1}")
            button.clicked.connect(lambda _=False, p=position: self.show_item(p))
            self.strip_layout.insertWidget(position, button)
            self._tasks.run(
                lambda item=item: self._render_blurred(item, thumb, settings),
                lambda image, b=button: self._set_thumbnail(generation, b, image),
                lambda error: None,
                description="thumbnail",
                owner=self,
            )

    def _set_thumbnail(self, generation: int, button: QToolButton, image: QImage) -> None:
        if generation == self._strip_generation:
            button.setIcon(QIcon(QPixmap.fromImage(image)))


def _label(enum: type, value: str) -> str:
    try:
        return enum(value).label
    except ValueError:
        return value
