"""Turning an image and clicks into the network's crop-sized input maps.

Everything the network sees lives in a square crop around the extreme
points' box (DEXTR): the crop is what makes the cost independent of the
photo's resolution, so an 8000x8000 scan costs the same as a thumbnail.
The same functions build inputs at training and at inference time, which
keeps the two from drifting apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import cv2
import numpy as np
import numpy.typing as npt

from ...clicks import Click, ClickKind, PromptKind
from ..grabcut import run_grabcut

# RGB statistics of natural photos; the network was trained with these.
RGB_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
RGB_STD = np.array([0.229, 0.224, 0.225], np.float32)

# Channels of the per-click map stack, in order: one disk map per corrective kind, then the previous mask.
CLICK_KINDS = (ClickKind.POSITIVE, ClickKind.NEGATIVE, ClickKind.BOUNDARY)
CLICK_CHANNELS = (*(kind.value for kind in CLICK_KINDS), "previous")
COLOUR_BITS = 4  # 16 levels per channel: coarse enough to fill the histogram from one crop


@dataclass(frozen=True)
class Window:
    """An axis-aligned box in image pixels (may extend past the image) mapped onto the square crop."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def key(self) -> tuple[int, int, int, int]:
        """A hashable identity, used to cache encoder features per object crop."""
        return int(round(self.x0)), int(round(self.y0)), int(round(self.x1)), int(round(self.y1))

    def to_crop(self, points: npt.ArrayLike, size: int) -> np.ndarray:
        """Image (x, y) points -> crop pixel coordinates."""
        points = np.asarray(points, np.float32).reshape(-1, 2)
        scale = np.array([size / self.width, size / self.height], np.float32)
        return (points - np.array([self.x0, self.y0], np.float32)) * scale


def object_window(extremes: np.ndarray, margin: float) -> Window:
    """The extreme points' box grown by ``margin`` of its larger side on every edge.

    Growing by the larger side (not each side's own length) keeps some
    background on both axes of thin objects, so the crop shows what the
    object is not.
    """
    extremes = np.asarray(extremes, np.float32).reshape(-1, 2)
    x0, y0 = extremes.min(axis=0)
    x1, y1 = extremes.max(axis=0) + 1.0
    pad = margin * max(x1 - x0, y1 - y0, 8.0)
    return Window(float(x0 - pad), float(y0 - pad), float(x1 + pad), float(y1 + pad))


def _placement(window: Window, image_size: tuple[int, int], size: int):
    """Image rectangle inside the window and where it lands in the crop, or None if disjoint."""
    width, height = image_size
    ix0, iy0 = max(0, int(np.floor(window.x0))), max(0, int(np.floor(window.y0)))
    ix1, iy1 = min(width, int(np.ceil(window.x1))), min(height, int(np.ceil(window.y1)))
    if ix1 <= ix0 or iy1 <= iy0:
        return None
    sx, sy = size / window.width, size / window.height
    ox0 = min(size - 1, max(0, int(round((ix0 - window.x0) * sx))))
    oy0 = min(size - 1, max(0, int(round((iy0 - window.y0) * sy))))
    ox1 = min(size, max(ox0 + 1, int(round((ix1 - window.x0) * sx))))
    oy1 = min(size, max(oy0 + 1, int(round((iy1 - window.y0) * sy))))
    return (ix0, iy0, ix1, iy1), (ox0, oy0, ox1, oy1)


def crop_square(image: np.ndarray, window: Window, size: int, interpolation: int | None = None) -> np.ndarray:
    """Resample ``window`` of ``image`` to ``size`` x ``size``; outside the image is zero.

    Only the part of the window inside the image is read and resized (with
    area averaging when shrinking), so huge images cost no more than small
    ones.  A boolean mask comes back as float32 fractions, converted window-only.
    """
    dtype = np.float32 if image.dtype == bool else image.dtype
    out = np.zeros((size, size) + image.shape[2:], dtype)
    placement = _placement(window, (image.shape[1], image.shape[0]), size)
    if placement is None:
        return out
    (ix0, iy0, ix1, iy1), (ox0, oy0, ox1, oy1) = placement
    if interpolation is None:
        shrinking = (ix1 - ix0) > (ox1 - ox0)
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    region = image[iy0:iy1, ix0:ix1].astype(dtype, copy=False)
    out[oy0:oy1, ox0:ox1] = cv2.resize(region, (ox1 - ox0, oy1 - oy0), interpolation=interpolation)
    return out


def paste_back(
    crop_map: np.ndarray,
    window: Window,
    image_size: tuple[int, int],
    fill: float = 0.0,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Resize a crop-resolution map (e.g. logits) onto the image's pixels; ``fill`` outside the window.

    ``transform`` (e.g. an in-place sigmoid) runs on the resized window only:
    on a huge image the pixels outside it are just ``fill``.
    """
    width, height = image_size
    full = np.full((height, width), fill, np.float32)
    ix0, iy0 = max(0, int(np.floor(window.x0))), max(0, int(np.floor(window.y0)))
    ix1, iy1 = min(width, int(np.ceil(window.x1))), min(height, int(np.ceil(window.y1)))
    if ix1 <= ix0 or iy1 <= iy0:
        return full
    size = crop_map.shape[0]
    # affine map from image pixel centres inside [ix0, ix1) x [iy0, iy1) to crop pixel coordinates
    sx, sy = size / window.width, size / window.height
    matrix = np.array([[sx, 0, (ix0 - window.x0 + 0.5) * sx - 0.5], [0, sy, (iy0 - window.y0 + 0.5) * sy - 0.5]], np.float32)
    resized = cv2.warpAffine(
        crop_map.astype(np.float32),
        matrix,
        (ix1 - ix0, iy1 - iy0),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    full[iy0:iy1, ix0:ix1] = transform(resized) if transform is not None else resized
    return full


def gaussian_map(points: np.ndarray, size: int, sigma: float) -> np.ndarray:
    """Max of Gaussians centred on crop points (DEXTR's extreme-point heatmap)."""
    heat = np.zeros((size, size), np.float32)
    points = np.asarray(points, np.float32).reshape(-1, 2)
    if not len(points):
        return heat
    grid = np.arange(size, dtype=np.float32)
    for x, y in points:
        gx = np.exp(-((grid - x) ** 2) / (2 * sigma**2))
        gy = np.exp(-((grid - y) ** 2) / (2 * sigma**2))
        np.maximum(heat, gy[:, None] * gx[None, :], out=heat)
    return heat


def disk_map(points: Iterable[Sequence[float]], size: int, radius: int) -> np.ndarray:
    """Filled disks at crop points (RITM's click encoding); points off the crop are dropped."""
    disks = np.zeros((size, size), np.uint8)
    for x, y in points:
        if -radius <= x < size + radius and -radius <= y < size + radius:
            cv2.circle(disks, (int(round(x)), int(round(y))), radius, 1, -1)
    return disks.astype(np.float32)


def colour_likelihood(crop: np.ndarray, box: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """P(object | colour) from a histogram inside the extreme box versus the ring around it.

    A classical cue that costs under a millisecond and tells a
    from-scratch network which colours belong to this particular object.
    """
    size = crop.shape[0]
    quantised = crop.astype(np.int32) >> (8 - COLOUR_BITS)
    bins = (quantised[..., 0] << (2 * COLOUR_BITS)) | (quantised[..., 1] << COLOUR_BITS) | quantised[..., 2]
    inside = np.zeros((size, size), bool)
    bx0, by0 = np.clip(np.floor(box.min(axis=0)).astype(int), 0, size - 1)
    bx1, by1 = np.clip(np.ceil(box.max(axis=0)).astype(int), 0, size - 1)
    inside[by0 : by1 + 1, bx0 : bx1 + 1] = True
    count = 1 << (3 * COLOUR_BITS)
    fg = np.bincount(bins[inside & valid], minlength=count).astype(np.float32)
    bg = np.bincount(bins[~inside & valid], minlength=count).astype(np.float32)
    fg = (fg + 0.5) / (fg.sum() + 0.5 * count)
    bg = (bg + 0.5) / (bg.sum() + 0.5 * count)
    return (fg / (fg + bg))[bins].astype(np.float32)


def grabcut_cue(crop: np.ndarray, prompt_crop: np.ndarray, kind: PromptKind, iterations: int) -> np.ndarray:
    """GrabCut's answer on the crop (1 object, 0 background), seeded like the ``grabcut`` backend.

    Extreme points lie on the object and become foreground seeds; box corners do not.

    Graph cuts give the from-scratch network what a few minutes of CPU
    training cannot teach it: region coherence and edges of this very image.
    Computed once per object crop, so corrective clicks do not pay for it.
    """
    size = crop.shape[0]
    labels = np.full((size, size), cv2.GC_BGD, np.uint8)
    bx0, by0 = np.clip(np.floor(prompt_crop.min(axis=0)).astype(int), 0, size - 1)
    bx1, by1 = np.clip(np.ceil(prompt_crop.max(axis=0)).astype(int), 0, size - 1)
    labels[by0 : by1 + 1, bx0 : bx1 + 1] = cv2.GC_PR_FGD
    if kind is PromptKind.EXTREME:
        for x, y in np.clip(np.round(prompt_crop), 0, size - 1).astype(int):
            labels[y, x] = cv2.GC_FGD
    labels = run_grabcut(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), labels, iterations)
    return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)


def box_map(prompt_crop: np.ndarray, size: int) -> np.ndarray:
    """The prompt's box, filled, in crop pixels."""
    plane = np.zeros((size, size), np.float32)
    x0, y0 = np.clip(np.floor(prompt_crop.min(axis=0)).astype(int), 0, size - 1)
    x1, y1 = np.clip(np.ceil(prompt_crop.max(axis=0)).astype(int), 0, size - 1)
    plane[y0 : y1 + 1, x0 : x1 + 1] = 1.0
    return plane


def encoder_input(
    crop: np.ndarray,
    prompt_crop: np.ndarray,
    kind: PromptKind,
    valid: np.ndarray,
    sigma: float,
    cue: np.ndarray | None = None,
    prompt_channel: bool = False,
) -> np.ndarray:
    """CHW float32, the one prompt encoding of training and inference.

    Channels: normalised RGB, extreme-point heatmap (empty for a box start),
    colour likelihood, inside-image flag[, GrabCut cue][, the box plane for a
    box start (empty for extreme points): tells the network which prompt it got].
    """
    size = crop.shape[0]
    rgb = (crop.astype(np.float32) / 255.0 - RGB_MEAN) / RGB_STD
    rgb[~valid] = 0.0
    heat = gaussian_map(prompt_crop, size, sigma) if kind is PromptKind.EXTREME else np.zeros((size, size), np.float32)
    channels = [*np.moveaxis(rgb, -1, 0), heat, colour_likelihood(crop, prompt_crop, valid), valid.astype(np.float32)]
    if cue is not None:
        channels.append(cue.astype(np.float32))
    if prompt_channel:
        channels.append(box_map(prompt_crop, size) if kind is PromptKind.BOX else np.zeros((size, size), np.float32))
    return np.stack(channels).astype(np.float32)


ENCODER_CHANNELS = 6  # without the optional GrabCut cue and prompt-type channel


def click_maps(clicks: Sequence[Click], previous: np.ndarray | None, size: int, radius: int) -> np.ndarray:
    """CHW float32 in ``CLICK_CHANNELS`` order: the one click encoding of training and inference.

    ``clicks`` are corrective clicks in crop pixel coordinates; ``previous``
    is a crop-sized 0/1 mask or None.
    """
    prev = np.zeros((size, size), np.float32) if previous is None else previous.astype(np.float32)
    disks = [disk_map([(c.x, c.y) for c in clicks if c.kind is kind], size, radius) for kind in CLICK_KINDS]
    return np.stack([*disks, prev])


def valid_region(window: Window, image_size: tuple[int, int], size: int) -> np.ndarray:
    """Which crop pixels lie inside the image (the rest is zero padding)."""
    valid = np.zeros((size, size), bool)
    placement = _placement(window, image_size, size)
    if placement is not None:
        _, (ox0, oy0, ox1, oy1) = placement
        valid[oy0:oy1, ox0:ox1] = True
    return valid
