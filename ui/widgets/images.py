"""Pillow images as Qt images, for whatever paints a rendition (viewer, player, reports)."""

from __future__ import annotations

from PIL import Image
from PySide6.QtGui import QImage


def pil_to_qimage(image: Image.Image) -> QImage:
    if image.mode == "L":
        data = image.tobytes()
        qimage = QImage(data, image.width, image.height, image.width,
                        QImage.Format.Format_Grayscale8)
    else:
        rgb = image.convert("RGB")
        data = rgb.tobytes()
        qimage = QImage(data, rgb.width, rgb.height, 3 * rgb.width,
                        QImage.Format.Format_RGB888)
    return qimage.copy()  # own the pixels: ``data`` goes away with this frame
