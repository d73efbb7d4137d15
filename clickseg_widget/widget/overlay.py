"""Compact mask overlays: just the mask's box, at the resolution it is shown at.

Sending the mask as a full-resolution RGBA image costs ``4*W*H`` bytes per
click; the object's box at display resolution, which ipycanvas's
``put_image_data`` sends as a PNG, is a few kilobytes (three colours
compress well).  The fill is translucent and the outline opaque.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

OUTLINE_WIDTH = 2  # pixels of the encoded image, i.e. screen pixels at that resolution


@dataclass(frozen=True)
class Overlay:
    """RGBA pixels to draw over the image rectangle ``(x, y, width, height)`` (image pixels)."""

    rgba: np.ndarray
    x: float
    y: float
    width: float
    height: float


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    value = color.lstrip("#")
    if len(value) != 6:
        raise ValueError(f"colour {color!r} must be #rrggbb")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def encode_overlay(mask: np.ndarray, color: str, opacity: float, scale: float, outline: str | None = None) -> Overlay | None:
    """Encode ``mask`` for display at ``scale`` (screen px per image px, at most 1); None if empty.

    The outline is drawn in the fill colour unless ``outline`` names another
    (the widget marks the object being edited and the selected one this way).
    """
    if not 0 <= opacity <= 1:
        raise ValueError(f"opacity {opacity} must be between 0 and 1")
    binary = np.asarray(mask).astype(np.uint8)
    if not binary.any():
        return None
    x, y, width, height = cv2.boundingRect(binary)
    crop = binary[y : y + height, x : x + width]
    scale = min(1.0, scale)
    size = (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale)))
    if size != (width, height):
        crop = (cv2.resize(crop * 255, size, interpolation=cv2.INTER_AREA) >= 128).astype(np.uint8)
    # Pad so that an outline on the box's edge is drawn whole.
    indices = np.pad(crop, 1)
    eroded = cv2.erode(indices, np.ones((2 * OUTLINE_WIDTH - 1,) * 2, np.uint8), borderValue=0)
    indices[(indices > 0) & (eroded == 0)] = 2
    rgb = hex_to_rgb(color)
    palette = np.array([(0, 0, 0, 0), (*rgb, round(255 * opacity)), (*hex_to_rgb(outline or color), 255)], np.uint8)
    pad_x, pad_y = width / size[0], height / size[1]  # one encoded pixel, in image pixels
    return Overlay(palette[indices], x - pad_x, y - pad_y, width + 2 * pad_x, height + 2 * pad_y)
