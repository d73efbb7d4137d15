"""Where the image sits on the canvas: fit, wheel zoom about the pointer, pan.

Clicks arrive in canvas pixels and must become full-resolution image pixels
whatever the zoom; keeping this mapping in one small pure class lets it be
tested exactly, without a browser.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

MAX_SCALE = 16.0  # screen pixels per image pixel when zoomed all the way in
ZOOM_STEP = 1.25


@dataclass
class Viewport:
    canvas_width: int
    canvas_height: int
    image_width: int
    image_height: int
    scale: float = 1.0
    offset_x: float = 0.0
    offset_y: float = 0.0

    def __post_init__(self) -> None:
        self.fit()

    @property
    def fit_scale(self) -> float:
        return min(self.canvas_width / self.image_width, self.canvas_height / self.image_height)

    def fit(self) -> None:
        """Whole image visible and centred."""
        self.scale = self.fit_scale
        self.offset_x = (self.canvas_width - self.image_width * self.scale) / 2
        self.offset_y = (self.canvas_height - self.image_height * self.scale) / 2

    def to_image(self, canvas_x: float, canvas_y: float) -> tuple[float, float]:
        return (canvas_x - self.offset_x) / self.scale, (canvas_y - self.offset_y) / self.scale

    def to_canvas(self, image_x: float, image_y: float) -> tuple[float, float]:
        return image_x * self.scale + self.offset_x, image_y * self.scale + self.offset_y

    def zoom(self, factor: float, canvas_x: float, canvas_y: float) -> None:
        """Scale by ``factor`` keeping the image point under the pointer where it is."""
        scale = min(MAX_SCALE, max(self.fit_scale, self.scale * factor))
        image_x, image_y = self.to_image(canvas_x, canvas_y)
        self.scale = scale
        self.offset_x = canvas_x - image_x * scale
        self.offset_y = canvas_y - image_y * scale
        self._clamp()

    def wheel(self, delta_y: float, canvas_x: float, canvas_y: float) -> None:
        """One wheel notch (any size) zooms by one step: up zooms in, as in image viewers."""
        if delta_y:
            self.zoom(ZOOM_STEP if delta_y < 0 else 1 / ZOOM_STEP, canvas_x, canvas_y)

    def pan(self, dx: float, dy: float) -> None:
        self.offset_x += dx
        self.offset_y += dy
        self._clamp()

    def render_scale(self) -> float:
        """Resolution overlays are encoded at: the zoom rounded up to a power of two, at most 1.

        Rounding keeps overlays sharp while zooming without re-encoding them
        on every wheel notch.
        """
        if self.scale >= 1:
            return 1.0
        return min(1.0, 2.0 ** math.ceil(math.log2(self.scale)))

    def _clamp(self) -> None:
        """Keep at least part of the image on the canvas (or centred when it is smaller)."""
        shown_w, shown_h = self.image_width * self.scale, self.image_height * self.scale
        self.offset_x = _clamp_axis(self.offset_x, shown_w, self.canvas_width)
        self.offset_y = _clamp_axis(self.offset_y, shown_h, self.canvas_height)


def _clamp_axis(offset: float, shown: float, canvas: float) -> float:
    if shown <= canvas:
        return (canvas - shown) / 2
    return min(0.0, max(canvas - shown, offset))
