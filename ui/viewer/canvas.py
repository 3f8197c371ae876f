"""The media canvas: one item's blurred rendition, and its sharp one only where revealed.

The canvas zooms, pans and reports clicks and the pointer; what to reveal, and when, is
decided by the viewer's reveal control (`ui.viewer.reveal_control`).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPainterPath, QPen, QWheelEvent
from PySide6.QtWidgets import QApplication, QSizePolicy, QWidget

from reviewer.media.reveal import Box, RevealMode, lens_fraction

MAX_ZOOM = 8.0
ZOOM_STEP = 1.25


class MediaCanvas(QWidget):
    """Paints one item: its blurred rendition, and the sharp one only where revealed.

    The canvas is a view: it zooms, pans and reports clicks and the pointer; what to reveal
    is decided by `MediaViewer`, which sets the `on_...` callbacks. They are plain callables,
    not signals, because they fire on every mouse move: PySide6 6.12's `SignalInstance.emit`
    drops a reference to `True` on each call, which ends the process after a few thousand.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAccessibleName("Media")
        self._image: QImage | None = None
        self._sharp: QImage | None = None
        self._reveal: RevealMode | None = None
        self._covered = False
        self._message = "Select a case to review"
        self._zoom = 1.0
        self._pan = QPointF(0.0, 0.0)
        self._pointer: QPointF | None = None
        self._press: QPointF | None = None
        self._dragging = False
        self.lens_radius_fraction = 0.12
        self.on_clicked: Callable[[], None] = _nothing
        self.on_pointer_moved: Callable[[], None] = _nothing  # the lens moves with it
        self.on_view_changed: Callable[[], None] = _nothing  # zoom or pan changed
        self.on_resized: Callable[[], None] = _nothing

    # -- what is shown ---------------------------------------------------------------------

    def show_message(self, text: str) -> None:
        """Drop every picture of the item and show `text` instead."""
        had_sharp = self._sharp is not None
        self._image = None
        self._sharp = None
        self._message = text
        self.fit()
        self._refresh(now=had_sharp)

    def show_image(self, image: QImage) -> None:
        """Show a blurred rendition (a new item, or the same one re-rendered)."""
        self._image = image
        self._message = ""
        self._clamp_pan()
        self.update()

    def set_sharp(self, image: QImage | None) -> None:
        had_sharp = self._sharp is not None
        self._sharp = image
        self._refresh(now=had_sharp and image is None)

    def set_reveal(self, mode: RevealMode | None) -> None:
        self._reveal = mode
        self.setCursor(Qt.CursorShape.CrossCursor if mode is RevealMode.LENS
                       else Qt.CursorShape.ArrowCursor)
        self.update()

    def set_covered(self, covered: bool) -> None:
        self._covered = covered
        self._refresh(now=covered)

    def _refresh(self, *, now: bool) -> None:
        """Repaint; at once (not at the next turn of the event loop) when hiding pixels."""
        if now and self.isVisible():
            self.repaint()
        else:
            self.update()

    @property
    def image(self) -> QImage | None:
        """The blurred rendition held for the current item, if it is ready."""
        return self._image

    @property
    def sharp(self) -> QImage | None:
        """The sharp rendition, held only while a reveal is under way."""
        return self._sharp

    @property
    def message(self) -> str:
        return self._message

    @property
    def covered(self) -> bool:
        return self._covered

    @property
    def zoom(self) -> float:
        return self._zoom

    @property
    def pointer(self) -> QPointF | None:
        return self._pointer

    # -- geometry --------------------------------------------------------------------------

    def image_rect(self) -> QRectF:
        """Where the whole picture is drawn: fitted to the canvas, then zoomed and panned."""
        if self._image is None or self._image.isNull():
            return QRectF()
        fitted = self._image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        width, height = fitted.width() * self._zoom, fitted.height() * self._zoom
        centre_x = self.width() / 2 + self._pan.x()
        centre_y = self.height() / 2 + self._pan.y()
        return QRectF(centre_x - width / 2, centre_y - height / 2, width, height)

    def visible_image_rect(self) -> QRectF:
        return self.image_rect().intersected(QRectF(self.rect()))

    def lens_radius(self) -> float:
        visible = self.visible_image_rect()
        return self.lens_radius_fraction * min(visible.width(), visible.height())

    def lens_fraction(self) -> float:
        """The share of the visible picture inside the lens at the pointer."""
        if self._image is None or self._pointer is None:
            return 0.0
        return lens_fraction((self._pointer.x(), self._pointer.y()), self.lens_radius(),
                             _box(self.image_rect()), _box(QRectF(self.rect())))

    # -- zoom and pan ----------------------------------------------------------------------

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by `factor` (1.0 = fitted, up to `MAX_ZOOM`), keeping `anchor` in place."""
        if self._image is None:
            return
        new_zoom = min(MAX_ZOOM, max(1.0, self._zoom * factor))
        if new_zoom == self._zoom:
            return
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        centre = QPointF(self.width() / 2, self.height() / 2) + self._pan
        centre = anchor - (anchor - centre) * (new_zoom / self._zoom)
        self._zoom = new_zoom
        self._pan = centre - QPointF(self.width() / 2, self.height() / 2)
        self._clamp_pan()
        self.update()
        self.on_view_changed()

    def fit(self) -> None:
        changed = self._zoom != 1.0 or not self._pan.isNull()
        self._zoom = 1.0
        self._pan = QPointF(0.0, 0.0)
        self.update()
        if changed:
            self.on_view_changed()

    def pan_by(self, dx: float, dy: float) -> None:
        self._pan += QPointF(dx, dy)
        self._clamp_pan()
        self.update()
        self.on_view_changed()

    def _clamp_pan(self) -> None:
        """Keep the zoomed picture over the canvas: no panning it out of sight."""
        rect = self.image_rect()
        if rect.isEmpty():
            self._pan = QPointF(0.0, 0.0)
            return
        spare_x = max(0.0, (rect.width() - self.width()) / 2)
        spare_y = max(0.0, (rect.height() - self.height()) / 2)
        self._pan = QPointF(min(spare_x, max(-spare_x, self._pan.x())),
                            min(spare_y, max(-spare_y, self._pan.y())))

    # -- Qt overrides ----------------------------------------------------------------------

    def paintEvent(self, event) -> None:  # Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#2b2f36"))
        if self._image is None or self._image.isNull():
            self._paint_text(painter, self._message)
        elif self._covered:
            self._paint_text(painter, "Media covered (Esc).\nClick here or press Enter to "
                                      "show it blurred again.")
        else:
            target = self.image_rect()
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(target, self._image)
            if self._sharp is not None and self._reveal is not None:
                if self._reveal.full:
                    painter.drawImage(target, self._sharp)
                elif self._pointer is not None and target.contains(self._pointer):
                    self._paint_lens(painter, target)
        painter.end()

    def _paint_text(self, painter: QPainter, text: str) -> None:
        painter.setPen(QColor("#c9d1d9"))
        painter.drawText(self.rect().adjusted(24, 24, -24, -24),
                         Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)

    def _paint_lens(self, painter: QPainter, target: QRectF) -> None:
        assert self._pointer is not None and self._sharp is not None
        radius = self.lens_radius()
        lens = QPainterPath()
        lens.addEllipse(self._pointer, radius, radius)
        painter.save()
        painter.setClipPath(lens)
        painter.drawImage(target, self._sharp)
        painter.restore()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(255, 255, 255, 140), 1.0))
        painter.drawEllipse(self._pointer, radius + 1.0, radius + 1.0)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position()
            self._dragging = False
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # Qt override
        position = event.position()
        if self._press is not None and event.buttons() & Qt.MouseButton.LeftButton:
            if not self._dragging and (position - self._press).manhattanLength() \
                    >= QApplication.startDragDistance():
                self._dragging = True
            if self._dragging:
                delta = position - self._press
                self._press = position
                self.pan_by(delta.x(), delta.y())
        self._pointer = position
        if self._reveal is RevealMode.LENS:
            self.update()
        self.on_pointer_moved()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # Qt override
        if event.button() == Qt.MouseButton.LeftButton and self._press is not None:
            was_click = not self._dragging
            self._press = None
            self._dragging = False
            if was_click:
                self.on_clicked()
            event.accept()
        else:
            super().mouseReleaseEvent(event)

    def leaveEvent(self, event) -> None:  # Qt override
        self._pointer = None
        if self._reveal is RevealMode.LENS:
            self._refresh(now=True)
        self.on_pointer_moved()
        super().leaveEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # Qt override
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier and self._image is not None:
            steps = event.angleDelta().y() / 120
            if steps:
                self.zoom_by(ZOOM_STEP ** steps, event.position())
            event.accept()
        else:
            super().wheelEvent(event)

    def resizeEvent(self, event) -> None:  # Qt override
        self._clamp_pan()
        super().resizeEvent(event)
        self.on_resized()


def _nothing() -> None:
    pass


def _box(rect: QRectF) -> Box:
    return Box(rect.x(), rect.y(), rect.width(), rect.height())
