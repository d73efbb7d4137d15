"""Existing labels read back for review: COCO JSON, Ground Truth semantic-segmentation output, PNG mask folders.

Each reader returns ``{image file name: [ImportedObject, ...]}``; the widget
shows them as accepted objects, and a pre-label review queue can rank them
by ``score``.  COCO annotations keep their original segmentation, area and
bbox, so an object exported untouched is written back exactly as read.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from .coco import segmentation_to_mask
from .groundtruth import read_label_map

MASK_NAME = re.compile(r"^(?P<stem>.+?)(?:[-_](?P<index>\d+))?$")


@dataclass
class ImportedObject:
    """One object read from existing labels; ``coco_fields`` is the source's own encoding, when it had one."""

    class_name: str
    mask: np.ndarray
    score: float = 1.0
    coco_fields: dict[str, Any] | None = field(default=None, repr=False)


Imported = dict[str, list[ImportedObject]]


def import_coco(path: str | Path) -> Imported:
    """A COCO instance-segmentation JSON, segmentation as RLE (compressed or not) or polygons."""
    path = Path(path)
    coco = _read_json(path)
    try:
        images = {image["id"]: image for image in coco["images"]}
        classes = {category["id"]: category["name"] for category in coco["categories"]}
        annotations = coco["annotations"]
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path} is not COCO JSON: it lacks images/categories/annotations ({err})") from None
    imported: Imported = {image["file_name"]: [] for image in images.values()}
    for number, annotation in enumerate(annotations):
        where = f"{path}, annotation {annotation.get('id', number)}"
        image = images.get(annotation.get("image_id"))
        if image is None or annotation.get("category_id") not in classes:
            raise ValueError(f"{where}: its image_id or category_id is not listed in the file")
        try:
            mask = segmentation_to_mask(annotation.get("segmentation"), int(image["height"]), int(image["width"]))
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        fields = {key: annotation[key] for key in ("segmentation", "area", "bbox", "iscrowd") if key in annotation}
        score = float(annotation.get("score", annotation.get("clickseg", {}).get("score", 1.0)))
        imported[image["file_name"]].append(ImportedObject(classes[annotation["category_id"]], mask, score, fields))
    return imported


def import_groundtruth_manifest(path: str | Path, attribute_name: str | None = None) -> Imported:
    """A Ground Truth semantic-segmentation output manifest: one object per class present in each label map.

    Label maps are read from local paths (relative ones from the manifest's
    folder); the attribute is found from its metadata unless named.
    """
    path = Path(path)
    imported: Imported = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{where} is not JSON: {err}") from None
        attribute = attribute_name or _segmentation_attribute(record, where)
        metadata = record.get(f"{attribute}-metadata", {})
        color_map = metadata.get("internal-color-map")
        if attribute not in record or "source-ref" not in record or not color_map:
            raise ValueError(f"{where} lacks source-ref, {attribute!r} or its internal-color-map")
        label_path = _local(record[attribute], path.parent, where)
        classes = read_label_map(label_path.read_bytes(), color_map)
        score = float(next(iter(color_map.values())).get("confidence", 1.0))
        objects = imported.setdefault(Path(record["source-ref"]).name, [])
        for index in sorted(int(k) for k in color_map if int(k) != 0):
            mask = classes == index
            if mask.any():
                objects.append(ImportedObject(color_map[str(index)]["class-name"], mask, score))
    return imported


def import_mask_folder(folder: str | Path, image_names: Sequence[str], class_name: str = "object") -> Imported:
    """PNG masks named after their images: ``<stem>.png`` (one object per non-zero value) or ``<stem>-<n>.png``."""
    folder = Path(folder)
    by_stem = {Path(name).stem: name for name in image_names}
    imported: Imported = {}
    paths = sorted(folder.glob("*.png"))
    if not paths:
        raise ValueError(f"{folder} holds no PNG masks")
    for mask_path in paths:
        match = MASK_NAME.match(mask_path.stem)
        stem = mask_path.stem if mask_path.stem in by_stem or match is None else match.group("stem")
        if stem not in by_stem:
            raise ValueError(f"{mask_path.name} names no image in the queue (masks are named <image stem>[-n].png)")
        with Image.open(mask_path) as picture:
            values = np.asarray(picture.convert("L") if picture.mode not in ("L", "P", "I", "I;16") else picture)
        objects = imported.setdefault(by_stem[stem], [])
        for value in np.unique(values[values > 0]):
            objects.append(ImportedObject(class_name, values == value))
    return imported


def _segmentation_attribute(record: dict[str, Any], where: str) -> str:
    for key, value in record.items():
        if key.endswith("-metadata") and isinstance(value, dict) and value.get("type") == "groundtruth/semantic-segmentation":
            return key[: -len("-metadata")]
    raise ValueError(f"{where} holds no semantic-segmentation label (no '<attribute>-metadata' of that type)")


def _local(reference: str, base: Path, where: str) -> Path:
    if "://" in reference:
        raise ValueError(f"{where}: {reference} is not a local file: download the label maps first (aws s3 sync)")
    label_path = Path(reference) if Path(reference).is_absolute() else base / reference
    if not label_path.is_file():
        raise ValueError(f"{where}: label map {label_path} does not exist")
    return label_path


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read {path} as JSON: {err}") from None


def import_labels(
    source: str | Path, image_names: Sequence[str], kind: str | None = None, class_name: str = "object"
) -> Imported:
    """Read existing labels of any supported kind: ``coco`` (.json), ``groundtruth`` (a .manifest of JSON
    lines) or ``masks`` (a folder of PNGs, all of class ``class_name``); guessed from ``source`` if not given."""
    source = Path(source)
    if kind is None:
        kind = "masks" if source.is_dir() else "coco" if source.suffix.lower() == ".json" else "groundtruth"
    if kind == "coco":
        return import_coco(source)
    if kind == "groundtruth":
        return import_groundtruth_manifest(source)
    if kind == "masks":
        return import_mask_folder(source, image_names, class_name)
    raise ValueError(f"unknown label kind {kind!r}: use 'coco', 'groundtruth' or 'masks'")
