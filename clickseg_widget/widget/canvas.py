"""The drawing surface: an ipycanvas MultiCanvas with image, mask and click layers.

ipycanvas draws; its mouse events carry neither the button nor the
modifier keys (right click, shift+click) and it has no key-up event (space
held to pan), so pointer and keyboard input come from ipyevents, attached to
a transparent surface stacked on the canvas.  All drawing goes through one lock because
ipycanvas batches commands in one global manager and predictions finish on a
worker thread.
"""
from __future__ import annotations

import contextlib
import io
import math
import threading
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import ipywidgets as widgets
import numpy as np
from ipycanvas import MultiCanvas, hold_canvas
from ipyevents import Event
from PIL import Image

from ..clicks import Click, ClickKind
from .overlay import Overlay
from .viewport import Viewport

# Accepted objects and the object being clicked live on separate layers, so a
# click redraws (and sends) only the one overlay that changed.
IMAGE_LAYER, ACCEPTED_LAYER, DRAFT_LAYER, CLICK_LAYER = range(4)
DISPLAY_IMAGE_MAX_SIDE = 2048  # the background is sent once per image, downscaled beyond this
MARKER_RADIUS = 7
MARKER_COLORS = {
    ClickKind.EXTREME: "#ffd400",
    ClickKind.POSITIVE: "#21c55d",
    ClickKind.NEGATIVE: "#ef4444",
    ClickKind.BOUNDARY: "#38bdf8",
    ClickKind.BOX: "#ffd400",
}
BACKGROUND = "#30343b"
BRUSH_PREVIEW = "rgba(255, 255, 255, 0.5)"
ERASER_PREVIEW = "rgba(239, 68, 68, 0.5)"
MOTION_THROTTLE_MS = 30


@dataclass(frozen=True)
class Pointer:
    """One mouse event in canvas pixels, with what the handlers need to know about it."""

    x: float
    y: float
    button: int
    shift: bool
    select: bool  # ctrl (or cmd) held: pick an accepted object instead of clicking


class CanvasView:
    """Renders state pushed to it and reports pointer/keyboard input through callbacks."""

    def __init__(
        self,
        width: int,
        height: int,
        on_pointer_down: Callable[[Pointer], None],
        on_key: Callable[[str, dict], None],
        on_view_change: Callable[[], None],
        on_drag: Callable[[Pointer, Pointer, list[tuple[float, float]]], None] | None = None,
    ) -> None:
        self.width, self.height = int(width), int(height)
        size = {"width": f"{self.width}px", "height": f"{self.height}px"}
        self.canvas = MultiCanvas(4, width=self.width, height=self.height)
        self.canvas.layout = widgets.Layout(grid_area="1 / 1", **size)
        # ipycanvas' view sends every mouse move, down and up to the kernel, unthrottled and unused here; a
        # transparent surface stacked on the canvas takes the input, so only ipyevents' messages are sent.
        self.surface = widgets.Box(layout=widgets.Layout(grid_area="1 / 1", **size))
        self.widget = widgets.GridBox(
            [self.canvas, self.surface],
            layout=widgets.Layout(grid_template_columns=size["width"], grid_template_rows=size["height"], **size),
        )
        self.lock = threading.RLock()
        self._viewport: Viewport | None = None
        self._image_widget: widgets.Image | None = None
        self._on_pointer_down = on_pointer_down
        self._on_key = on_key
        self._on_view_change = on_view_change
        self._on_drag = on_drag
        # "box", "brush" or "eraser": a left drag draws that (reported to on_drag with its path) instead of clicking
        self.drag_mode: str | None = None
        self.brush_px = 12.0  # brush diameter on the canvas, for the stroke's preview
        self._drag_start: Pointer | None = None
        self._drag_path: list[tuple[float, float]] = []
        self._panning = False
        self._space_held = False
        self._last_motion: tuple[float, float] | None = None
        self._accepted: Sequence[Overlay] = ()
        self._draft: Overlay | None = None
        self._clicks: Sequence[Click] = ()
        self._batch_depth = 0
        self.input = Event(
            source=self.surface,
            watched_events=["mousedown", "mouseup", "mouseleave", "wheel", "contextmenu", "keydown", "keyup"],
            prevent_default_action=True,
        )
        self.input.on_dom_event(self._handle_event)
        self.motion = Event(source=self.surface, watched_events=[], wait=MOTION_THROTTLE_MS, throttle_or_debounce="throttle")
        self.motion.on_dom_event(self._handle_motion)

    # -- content ---------------------------------------------------------
    def show_image(self, image: np.ndarray) -> None:
        """Send the background once (a new Image widget, so no draw can see a stale one) and fit."""
        height, width = image.shape[:2]
        previous = self._image_widget
        self._image_widget = widgets.Image(value=display_jpeg(image), format="jpeg")
        with self.lock:
            self._viewport = Viewport(self.width, self.height, width, height)
            self._accepted, self._draft, self._clicks = (), None, ()
            self.redraw()
        if previous is not None:
            previous.close()

    @property
    def viewport(self) -> Viewport:
        """Canvas <-> image coordinates of the shown image."""
        if self._viewport is None:
            raise RuntimeError("no image is shown yet: show_image() first")
        return self._viewport

    @property
    def draft_overlay(self) -> Overlay | None:
        """The overlay of the object being clicked: what each click sends (the benchmark sizes it)."""
        return self._draft

    @property
    def accepted_overlays(self) -> Sequence[Overlay]:
        return self._accepted

    @property
    def clicks_shown(self) -> Sequence[Click]:
        return self._clicks

    def show_accepted(self, overlays: Sequence[Overlay]) -> None:
        with self.lock:
            self._accepted = tuple(overlays)
            self._draw_overlays(ACCEPTED_LAYER, self._accepted)

    def show_draft(self, overlay: Overlay | None) -> None:
        with self.lock:
            self._draft = overlay
            self._draw_overlays(DRAFT_LAYER, [overlay] if overlay else [])

    def show_clicks(self, clicks: Sequence[Click]) -> None:
        """Draw the markers; one click added to the shown ones sends just its marker."""
        with self.batch():
            clicks = tuple(clicks)
            shown, self._clicks = self._clicks, clicks
            appended = len(clicks) == len(shown) + 1 and clicks[:-1] == shown
            self._draw_clicks(start=len(shown) if appended else 0)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Everything drawn inside goes out as one message, however deeply nested.

        ipycanvas' ``hold_canvas`` flushes at every exit, nested or not, so a
        redraw made of per-layer holds sent one message per layer.
        """
        with self.lock:
            outermost = self._batch_depth == 0
            self._batch_depth += 1
            try:
                with hold_canvas() if outermost else contextlib.nullcontext():
                    yield
            finally:
                self._batch_depth -= 1

    def fit(self) -> None:
        with self.lock:
            self.viewport.fit()
            self._view_changed()

    def zoom(self, factor: float) -> None:
        with self.lock:
            self.viewport.zoom(factor, self.width / 2, self.height / 2)
            self._view_changed()

    def _view_changed(self) -> None:
        self.redraw()
        self._on_view_change()

    def redraw(self) -> None:
        with self.batch():
            layer = self.canvas[IMAGE_LAYER]
            layer.clear()
            layer.fill_style = BACKGROUND
            layer.fill_rect(0, 0, self.width, self.height)
            x, y = self.viewport.to_canvas(0, 0)
            layer.draw_image(
                self._image_widget, x, y,
                self.viewport.image_width * self.viewport.scale, self.viewport.image_height * self.viewport.scale,
            )
            self._draw_overlays(ACCEPTED_LAYER, self._accepted)
            self._draw_overlays(DRAFT_LAYER, [self._draft] if self._draft else [])
            self._draw_clicks()

    # -- layers ------------------------------------------------------------
    def _draw_overlays(self, index: int, overlays: Sequence[Overlay]) -> None:
        with self.batch():
            layer = self.canvas[index]
            layer.clear()
            for overlay in overlays:
                x, y = self.viewport.to_canvas(overlay.x, overlay.y)
                height, width = overlay.rgba.shape[:2]
                scale = self.viewport.scale
                layer.set_transform(overlay.width * scale / width, 0, 0, overlay.height * scale / height, x, y)
                layer.put_image_data(overlay.rgba, 0, 0)
            layer.reset_transform()

    def _draw_clicks(self, start: int = 0) -> None:
        """Draw the markers from click ``start`` on (0: clear the layer and draw them all)."""
        with self.batch():
            layer = self.canvas[CLICK_LAYER]
            if start == 0:
                layer.clear()
            layer.line_width = 2
            layer.stroke_style = "white"
            layer.font = "bold 10px sans-serif"
            layer.text_align = "center"
            layer.text_baseline = "middle"
            box = [c for c in self._clicks[:2] if c.kind is ClickKind.BOX]
            if len(box) == 2 and start <= 1:  # a box start shows as its rectangle
                (x0, y0), (x1, y1) = (self.viewport.to_canvas(c.x, c.y) for c in box)
                layer.stroke_style = MARKER_COLORS[ClickKind.BOX]
                layer.stroke_rect(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))
                layer.stroke_style = "white"
            for number, click in enumerate(self._clicks[start:], start=start + 1):
                x, y = self.viewport.to_canvas(click.x, click.y)
                layer.fill_style = MARKER_COLORS[click.kind]
                if click.kind is ClickKind.BOUNDARY:
                    side = MARKER_RADIUS * 1.6
                    layer.fill_rect(x - side / 2, y - side / 2, side)
                    layer.stroke_rect(x - side / 2, y - side / 2, side)
                else:
                    layer.fill_circle(x, y, MARKER_RADIUS)
                    layer.stroke_circle(x, y, MARKER_RADIUS)
                if click.kind is ClickKind.EXTREME:
                    layer.fill_style = "black"
                    layer.fill_text(str(number), x, y + 0.5)

    def _draw_rubber_band(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """The box being dragged (canvas pixels), over the markers."""
        with self.batch():
            self._draw_clicks()
            layer = self.canvas[CLICK_LAYER]
            layer.line_width = 2
            layer.stroke_style = MARKER_COLORS[ClickKind.BOX]
            layer.set_line_dash([6, 4])
            layer.stroke_rect(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))
            layer.set_line_dash([])

    def _draw_stroke_segment(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        """The stroke being drawn, one segment per mouse move (the mask itself changes at mouseup)."""
        with self.batch():
            layer = self.canvas[CLICK_LAYER]
            layer.line_width = self.brush_px
            layer.line_cap = "round"
            layer.stroke_style = ERASER_PREVIEW if self.drag_mode == "eraser" else BRUSH_PREVIEW
            layer.stroke_line(*start, *end)

    # -- input -------------------------------------------------------------
    def to_canvas_pixels(self, event: dict) -> tuple[float, float]:
        """Event position in canvas pixels, whatever CSS scaling the page applies."""
        width = event.get("boundingRectWidth") or self.width
        height = event.get("boundingRectHeight") or self.height
        return event["relativeX"] * self.width / width, event["relativeY"] * self.height / height

    def _handle_event(self, event: dict) -> None:
        kind = event["event"]
        if kind in ("keydown", "keyup"):
            if event.get("key") == " ":
                self._space_held = kind == "keydown"
            elif kind == "keydown":
                self._on_key(event["key"], event)
            return
        if kind == "contextmenu" or self._viewport is None:
            return
        x, y = self.to_canvas_pixels(event)
        if kind == "wheel":
            with self.lock:
                self.viewport.wheel(event.get("deltaY", 0), x, y)
                self._view_changed()
        elif kind == "mousedown":
            if event.get("button") == 1 or (event.get("button") == 0 and self._space_held):
                self._start_pan(x, y)
            else:
                select = bool(event.get("ctrlKey") or event.get("metaKey"))  # cmd+click on macOS
                pointer = Pointer(x, y, int(event.get("button", 0)), bool(event.get("shiftKey")), select)
                if self.drag_mode and self._on_drag is not None and pointer.button == 0 and not select:
                    self._drag_start, self._drag_path = pointer, [(pointer.x, pointer.y)]
                    self.motion.watched_events = ["mousemove"]
                else:
                    self._on_pointer_down(pointer)
        elif kind in ("mouseup", "mouseleave") and self._panning:
            self._panning = False
            self.motion.watched_events = []
        elif kind in ("mouseup", "mouseleave") and self._drag_start is not None:
            start, self._drag_start = self._drag_start, None
            self.motion.watched_events = []
            with self.batch():
                self._draw_clicks()  # the rubber band goes
            if kind == "mouseup" and self._on_drag is not None:
                self._on_drag(start, Pointer(x, y, start.button, start.shift, False), self._drag_path + [(x, y)])

    def _start_pan(self, x: float, y: float) -> None:
        self._panning = True
        self._last_motion = (x, y)
        self.motion.watched_events = ["mousemove"]

    def _handle_motion(self, event: dict) -> None:
        x, y = self.to_canvas_pixels(event)
        if self._drag_start is not None:
            if self.drag_mode == "box":
                self._draw_rubber_band(self._drag_start.x, self._drag_start.y, x, y)
            else:
                self._draw_stroke_segment(self._drag_path[-1], (x, y))
            self._drag_path.append((x, y))
            return
        if not self._panning or self._last_motion is None:
            return
        last_x, last_y = self._last_motion
        self._last_motion = (x, y)
        with self.lock:
            self.viewport.pan(x - last_x, y - last_y)
            self._view_changed()


def display_jpeg(image: np.ndarray, max_side: int = DISPLAY_IMAGE_MAX_SIDE, quality: int = 90) -> bytes:
    """The background as sent to the browser: JPEG, downscaled if larger than ``max_side``."""
    picture = Image.fromarray(image)
    longest = max(picture.size)
    if longest > max_side:
        ratio = max_side / longest
        picture = picture.resize((max(1, math.floor(picture.width * ratio)), max(1, math.floor(picture.height * ratio))), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
