"""The row of controls under the media: zoom, blur strength and greyscale.

The blur and greyscale controls show the viewer's settings and hand a changed copy to the
viewer, which applies (and stores) it; zoom acts on the canvas directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QToolButton, QWidget

from ui.viewer.canvas import ZOOM_STEP, MediaCanvas
from ui.viewer.settings_dialog import ViewerSettings


class ViewControls(QWidget):
    """Zoom out / fit / zoom in, then blur strength and greyscale for the viewer's settings.

    `settings` gives the settings in use; `apply` is handed the changed ones.
    """

    def __init__(self, canvas: MediaCanvas, settings: Callable[[], ViewerSettings],
                 apply: Callable[[ViewerSettings], None], parent: QWidget | None = None):
        super().__init__(parent)
        self._settings = settings
        self._apply = apply
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.zoom_out_button = _tool_button("−", "Zoom out (- or Ctrl+wheel)",
                                            lambda: canvas.zoom_by(1 / ZOOM_STEP))
        self.fit_button = _tool_button("Fit", "Fit to the view (0)", canvas.fit)
        self.zoom_in_button = _tool_button("+", "Zoom in (+ or Ctrl+wheel)",
                                           lambda: canvas.zoom_by(ZOOM_STEP))
        self.blur_slider = QSlider(Qt.Orientation.Horizontal)
        self.blur_slider.setRange(1, 6)
        self.blur_slider.setPageStep(1)
        self.blur_slider.setMinimumWidth(48)
        self.blur_slider.setMaximumWidth(110)
        self.blur_slider.setAccessibleName("Blur strength")
        self.blur_slider.setToolTip("Blur strength, as a share of the picture's shorter side")
        self.blur_value = QLabel()
        self.grayscale_box = QCheckBox("Greyscale")
        self.grayscale_box.setToolTip("Show media in greyscale")
        self.show_settings()
        self.blur_slider.valueChanged.connect(self._on_blur_slider)
        self.grayscale_box.toggled.connect(self._on_grayscale_toggled)
        for widget in (self.zoom_out_button, self.fit_button, self.zoom_in_button):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.blur_value)
        row.addWidget(self.blur_slider, 1)
        row.addWidget(self.grayscale_box)

    def show_settings(self) -> None:
        """Show the settings in use (without handing them back)."""
        settings = self._settings()
        percent = round(settings.blur_fraction * 100)
        with QSignalBlocker(self.blur_slider), QSignalBlocker(self.grayscale_box):
            self.blur_slider.setValue(percent)
            self.grayscale_box.setChecked(settings.grayscale)
        self.blur_value.setText(f"Blur {percent} %")

    def _on_blur_slider(self, percent: int) -> None:
        self._apply(self._settings().with_changes(blur_fraction=percent / 100))

    def _on_grayscale_toggled(self, on: bool) -> None:
        self._apply(self._settings().with_changes(grayscale=on))


def _tool_button(text: str, tip: str, action: Callable[[], Any]) -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setAccessibleName(tip.split(" (")[0])
    button.clicked.connect(lambda _=False: action())
    return button
