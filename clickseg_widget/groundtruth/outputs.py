"""Labeled objects from output manifest lines (bounding box, semantic
segmentation, and classification for robustness).

One parser serves the final manifest, intermediate manifests, consolidation
responses and active-learning output, since all carry ``<attr>`` and
``<attr>-metadata`` in the same shape.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from .manifests import ManifestError, ParsedLines, parse_json_lines
from .storage import JobFolder

OUTPUT_MANIFEST = "manifests/output/output.manifest"
TYPE_BOXES = "groundtruth/object-detection"
TYPE_SEGMENTATION = "groundtruth/semantic-segmentation"
TYPE_CLASSIFICATION = "groundtruth/image-classification"


@dataclass(frozen=True)
class Box:
    """A box in pixels (Ground Truth's left/top/width/height) with its class and confidence."""

    class_id: int
    left: float
    top: float
    width: float
    height: float
    confidence: float | None = None

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return self.left, self.top, self.left + self.width, self.top + self.height


@dataclass
class LabeledObject:
    """One labeled data object of a job."""

    source_ref: str
    task: str  # "bounding_box" | "semantic_segmentation" | "classification"
    human: bool
    confidence: float | None
    class_map: dict[int, str] = field(default_factory=dict)
    boxes: list[Box] = field(default_factory=list)
    image_size: tuple[int, int] | None = None  # (width, height)
    label_ref: str | None = None  # segmentation PNG URI
    color_map: dict[int, str] = field(default_factory=dict)  # segmentation class id -> hex colour
    class_name: str | None = None  # classification
    creation_date: str | None = None
    job_name: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def box_count(self) -> int:
        return len(self.boxes)


def label_attributes(record: dict[str, Any]) -> list[str]:
    """The label attributes on a line, found by their ``<name>-metadata`` object.

    Some script-written manifests keep the metadata under the job's name but the value
    under another key; a classification label is whole without the value.
    """
    return [key[: -len("-metadata")] for key, value in record.items() if key.endswith("-metadata") and isinstance(value, dict)]


def choose_attribute(records: list[tuple[int, dict[str, Any]]], location: str) -> str | None:
    """The one label attribute of a manifest (chained jobs carry several: pass ``attribute``)."""
    for number, record in records:
        found = label_attributes(record)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ManifestError(location, number, f"several label attributes ({', '.join(found)}): pass attribute=<name>")
    return None


def label_attribute(parsed: ParsedLines, attribute: str | None, lenient: bool) -> str | None:
    """``attribute`` when the lines carry it, else the key with a ``-metadata`` sibling.

    Lines that carry keys besides the image but no recognisable label are an error (a
    warning when lenient) that names what was found, never a silent report of 0 objects.
    """
    if attribute is not None and any(attribute in record or f"{attribute}-metadata" in record for _, record in parsed.records):
        return attribute
    detected = choose_attribute(parsed.records, parsed.location)
    if detected is not None:
        if attribute is not None:
            warnings.warn(f"{parsed.location}: no line carries the label attribute {attribute!r}; reading {detected!r}, "
                          f"the key with a '{detected}-metadata' sibling", stacklevel=3)
        return detected
    for number, record in parsed.records:
        others = sorted(key for key in record if key not in ("source-ref", "source"))
        if others:
            expected = f"'{attribute}' and '{attribute}-metadata'" if attribute else "a key <name> with a '<name>-metadata' sibling"
            error = ManifestError(parsed.location, number, f"no recognisable label attribute: expected {expected}, found keys {others}")
            if not lenient:
                raise error
            warnings.warn(str(error), stacklevel=3)
            break
    return attribute


def parse_labeled_object(record: dict[str, Any], attribute: str) -> LabeledObject:
    """Interpret ``record[attribute]`` and its metadata; ``ValueError`` says what is wrong."""
    if "source-ref" not in record and "source" not in record:
        raise ValueError("the line has no 'source-ref' (or 'source')")
    metadata = record.get(f"{attribute}-metadata")
    if not isinstance(metadata, dict):
        raise ValueError(f"'{attribute}-metadata' must be a JSON object")
    label_type = metadata.get("type", "")
    human_flag = metadata.get("human-annotated", "yes")
    if human_flag not in ("yes", "no"):
        raise ValueError(f"'human-annotated' must be 'yes' or 'no', found {human_flag!r}")
    common = dict(
        source_ref=record.get("source-ref") or record.get("source"),
        human=human_flag == "yes",
        creation_date=metadata.get("creation-date"),
        job_name=metadata.get("job-name"),
        raw=record,
    )
    value = record.get(attribute)
    if value is None and not (label_type == TYPE_CLASSIFICATION or "class-name" in metadata):
        raise ValueError(f"the line has '{attribute}-metadata' but no '{attribute}' label (found keys {sorted(record)})")
    if label_type == TYPE_BOXES or (isinstance(value, dict) and "annotations" in value):
        return _boxes(value, metadata, common)
    if label_type == TYPE_SEGMENTATION or "internal-color-map" in metadata:
        return _segmentation(value, metadata, common)
    if label_type == TYPE_CLASSIFICATION or "class-name" in metadata:
        return LabeledObject(
            task="classification",
            confidence=_optional_number(metadata.get("confidence"), "confidence"),
            class_name=metadata.get("class-name"),
            **common,
        )
    raise ValueError(f"unknown label type {label_type!r} for attribute {attribute!r}")


def _boxes(value: Any, metadata: dict[str, Any], common: dict[str, Any]) -> LabeledObject:
    if not isinstance(value, dict) or not isinstance(value.get("annotations"), list):
        raise ValueError("a bounding-box label needs an 'annotations' list")
    objects = metadata.get("objects", [])
    if objects and len(objects) != len(value["annotations"]):
        raise ValueError(f"{len(value['annotations'])} annotations but {len(objects)} metadata objects")
    boxes = []
    for index, item in enumerate(value["annotations"]):
        try:
            confidence = objects[index].get("confidence") if objects else None
            boxes.append(
                Box(
                    int(item["class_id"]),
                    _number(item["left"], "left"),
                    _number(item["top"], "top"),
                    _number(item["width"], "width"),
                    _number(item["height"], "height"),
                    _optional_number(confidence, "confidence"),
                )
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"annotation {index} lacks class_id/left/top/width/height ({err})") from None
    sizes = value.get("image_size") or [{}]
    size = (int(sizes[0]["width"]), int(sizes[0]["height"])) if "width" in sizes[0] and "height" in sizes[0] else None
    confidences = [b.confidence for b in boxes if b.confidence is not None]
    return LabeledObject(
        task="bounding_box",
        confidence=sum(confidences) / len(confidences) if confidences else None,
        class_map=_class_map(metadata.get("class-map", {})),
        boxes=boxes,
        image_size=size,
        **common,
    )


def _segmentation(value: Any, metadata: dict[str, Any], common: dict[str, Any]) -> LabeledObject:
    if not isinstance(value, str) or not value:
        raise ValueError("a semantic-segmentation label must be the URI of its PNG label map")
    color_map = metadata.get("internal-color-map")
    if not isinstance(color_map, dict) or not color_map:
        raise ValueError("a semantic-segmentation label needs 'internal-color-map' in its metadata")
    class_map, colors, confidences = {}, {}, []
    for key, entry in color_map.items():
        if not isinstance(entry, dict) or "hex-color" not in entry:
            raise ValueError(f"internal-color-map entry {key!r} lacks 'hex-color'")
        class_map[int(key)] = str(entry.get("class-name", key))
        colors[int(key)] = str(entry["hex-color"])
        if entry.get("confidence") is not None:
            confidences.append(_number(entry["confidence"], "confidence"))
    return LabeledObject(
        task="semantic_segmentation",
        confidence=max(confidences) if confidences else None,  # per image: the entries repeat one value
        class_map=class_map,
        color_map=colors,
        label_ref=value,
        **common,
    )


def _class_map(raw: Any) -> dict[int, str]:
    if not isinstance(raw, dict):
        raise ValueError("'class-map' must be an object of class id -> name")
    return {int(key): str(name) for key, name in raw.items()}


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, found {value!r}")
    return float(value)


def _optional_number(value: Any, name: str) -> float | None:
    return None if value is None else _number(value, name)


@dataclass
class ManifestObjects:
    """The objects of one manifest-like file, with what lenient mode skipped."""

    location: str
    attribute: str | None
    objects: list[LabeledObject]
    skipped: list[ManifestError]
    unlabeled_lines: int = 0


def labeled_objects(parsed: ParsedLines, attribute: str | None = None, lenient: bool = False) -> ManifestObjects:
    """Interpret parsed lines; a bad line raises ``ManifestError`` (or is skipped when lenient)."""
    attribute = label_attribute(parsed, attribute, lenient)
    result = ManifestObjects(parsed.location, attribute, [], list(parsed.skipped))
    for number, record in parsed.records:
        if attribute is None or (attribute not in record and f"{attribute}-metadata" not in record):
            result.unlabeled_lines += 1  # an object that failed or was never labeled
            continue
        try:
            result.objects.append(parse_labeled_object(record, attribute))
        except (ValueError, KeyError, TypeError) as err:
            error = ManifestError(parsed.location, number, str(err))
            if not lenient:
                raise error from None
            result.skipped.append(error)
    return result


def read_output_manifest(folder: JobFolder, relative: str = OUTPUT_MANIFEST, attribute: str | None = None,
                         lenient: bool = False) -> ManifestObjects:
    """The final (or an intermediate) manifest of a job folder."""
    content = folder.read_bytes(relative)
    return labeled_objects(parse_json_lines(content, folder.location(relative), lenient), attribute, lenient)
