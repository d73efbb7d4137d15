"""Ground Truth semantic-segmentation labels: the label-map PNG and its manifest line.

Ground Truth stores one PNG per image whose colours encode classes, described
by the ``internal-color-map`` of the ``<attr>-metadata`` (class 0 is
BACKGROUND, white).  We write a palette PNG so that the pixel index is the
class id and the colour is the documented hex colour: both readings agree.
"""
from __future__ import annotations

import colorsys
import io
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

import numpy as np
from PIL import Image

from ..io.images import open_image

# matplotlib's tab10, the colours Ground Truth's own tools default to
DEFAULT_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
BACKGROUND = {"class-name": "BACKGROUND", "hex-color": "#ffffff"}
GOLDEN_ANGLE = 0.381966  # of a turn: successive hues past tab10 stay far apart
EXTRA_TONES = ((0.75, 0.9), (0.55, 0.7), (0.9, 0.55))  # (saturation, value), cycled


@dataclass
class LabelMap:
    """A label-map PNG with the ``internal-color-map`` that explains it."""

    png: bytes
    color_map: dict[str, dict[str, Any]]


def class_colors(class_names: Sequence[str]) -> list[str]:
    """One distinct hex colour per class, in class order: tab10 first, then golden-angle hues.

    Distinct because a label map is decoded by colour: a repeated colour
    would read one class as another.
    """
    colors = list(DEFAULT_COLORS[: len(class_names)])
    taken = set(colors) | {BACKGROUND["hex-color"]}
    step = 0
    while len(colors) < len(class_names):
        hue = (0.13 + step * GOLDEN_ANGLE) % 1.0
        saturation, value = EXTRA_TONES[step % len(EXTRA_TONES)]
        red, green, blue = (round(255 * c) for c in colorsys.hsv_to_rgb(hue, saturation, value))
        color = f"#{red:02x}{green:02x}{blue:02x}"
        if color not in taken:
            taken.add(color)
            colors.append(color)
        step += 1
    return colors


def label_map(
    masks: Sequence[np.ndarray],
    class_ids: Sequence[int],
    class_names: Sequence[str],
    confidence: float | None = None,
) -> LabelMap:
    """Paint the objects' masks (later objects on top) into one label map.

    ``class_ids`` index ``class_names``; pixel value ``k + 1`` is class ``k``.
    """
    if len(masks) != len(class_ids):
        raise ValueError(f"got {len(masks)} masks but {len(class_ids)} class ids: give one class per mask")
    if not masks:
        raise ValueError("a label map needs at least one mask (its shape gives the image size)")
    if len(class_names) > 255:
        raise ValueError("a palette label map holds at most 255 classes")
    shape = np.asarray(masks[0]).shape
    labels = np.zeros(shape, np.uint8)
    for mask, class_id in zip(masks, class_ids):
        mask = np.asarray(mask)
        if mask.shape != shape:
            raise ValueError(f"mask shapes differ ({mask.shape} vs {shape}): all masks must be of one image")
        if not 0 <= class_id < len(class_names):
            raise ValueError(f"class id {class_id} is out of range for classes {list(class_names)}")
        labels[mask.astype(bool)] = class_id + 1
    colors = class_colors(class_names)
    palette = [255, 255, 255] + [int(h[i : i + 2], 16) for h in colors for i in (1, 3, 5)]
    image = Image.fromarray(labels, mode="P")
    image.putpalette(palette + [0] * (768 - len(palette)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    color_map: dict[str, dict[str, Any]] = {"0": dict(BACKGROUND)}
    for index, (name, color) in enumerate(zip(class_names, colors), start=1):
        color_map[str(index)] = {"class-name": name, "hex-color": color}
    if confidence is not None:
        for entry in color_map.values():
            entry["confidence"] = float(confidence)
    return LabelMap(buffer.getvalue(), color_map)


def read_label_map(png: bytes, color_map: dict[str, dict[str, Any]] | None = None) -> np.ndarray:
    """Class index per pixel, decoded by colour through ``color_map`` when given.

    Ground Truth has shipped palette PNGs whose indices do not match their colour map, so
    palette indices are trusted only when no colour map comes with the label.
    """
    with open_image(io.BytesIO(png), "the label map") as image:
        if color_map is None:
            if image.mode == "P":
                return np.asarray(image).astype(np.int32)
            raise ValueError("an RGB label map needs its internal-color-map to be decoded")
        rgb = np.asarray(image.convert("RGB")).astype(np.int32)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    classes = np.full(packed.shape, -1, np.int32)
    for index, entry in color_map.items():
        classes[packed == int(entry["hex-color"].lstrip("#"), 16)] = int(index)
    if (classes < 0).any():
        raise ValueError("the label map has colours that its internal-color-map does not list")
    return classes


def semantic_segmentation_manifest_line(
    source_ref: str,
    label_ref: str,
    color_map: dict[str, dict[str, Any]],
    attribute_name: str,
    job_name: str,
    human_annotated: bool = True,
    creation_date: datetime | None = None,
) -> dict[str, Any]:
    """One output-manifest line in Ground Truth's semantic-segmentation format."""
    if not attribute_name.endswith("-ref"):
        raise ValueError(f"label attribute {attribute_name!r} must end in '-ref' for semantic segmentation")
    created = (creation_date or datetime.now(timezone.utc)).replace(tzinfo=None).isoformat(timespec="microseconds")
    return {
        "source-ref": source_ref,
        attribute_name: label_ref,
        f"{attribute_name}-metadata": {
            "internal-color-map": color_map,
            "type": "groundtruth/semantic-segmentation",
            "human-annotated": "yes" if human_annotated else "no",
            "creation-date": created,
            "job-name": f"labeling-job/{job_name}",
        },
    }
