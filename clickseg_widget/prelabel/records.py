"""Pre-labeling records: one input line (an image and its objects' prompts) -> one output line.

Input lines are either ours::

    {"source-ref": "s3://bucket/a.jpg", "objects": [{"box": [x0, y0, x1, y1], "class": "cat"},
                                                    {"extreme-points": [[x, y], [x, y], [x, y], [x, y]]}]}

or lines of a Ground Truth bounding-box output manifest, taken as they are (each box is one
object's prompt, its class from the job's ``class-map``).  The output line keeps the input's
line number and ``source-ref`` and gives each object's mask as COCO RLE with its score and the
model version, plus the image's semantic-segmentation label map described by a Ground Truth
output-manifest line, so the widget, the report and Ground Truth all read it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

from ..clicks import Click, ClickKind, box_clicks
from ..export.coco import mask_bbox
from ..protocol.masks import mask_to_rle
from ..export.groundtruth import label_map, semantic_segmentation_manifest_line
from ..groundtruth.outputs import TYPE_BOXES, label_attributes, parse_labeled_object
from ..io.images import ImageSource
from ..models.base import ImageContext, Segmenter

DEFAULT_CLASS = "object"
LABEL_ATTRIBUTE = "prelabel-ref"
JOB_NAME = "clickseg-prelabel"


@dataclass(frozen=True)
class ObjectPrompt:
    """One object to draft: its prompt clicks (two box corners or four extreme points) and class."""

    clicks: tuple[Click, ...]
    class_name: str

    @property
    def prompt(self) -> dict[str, Any]:
        """The prompt as written in the output, so a reviewer sees what the mask started from."""
        if self.clicks[0].kind is ClickKind.BOX:
            return {"box": [self.clicks[0].x, self.clicks[0].y, self.clicks[1].x, self.clicks[1].y]}
        return {"extreme-points": [[c.x, c.y] for c in self.clicks]}


@dataclass(frozen=True)
class PrelabelTask:
    """One image and the objects to draft on it."""

    line: int
    source_ref: str
    objects: tuple[ObjectPrompt, ...]
    class_names: tuple[str, ...]


def parse_task(text: str, line: int, classes: Sequence[str] | None = None) -> PrelabelTask:
    """Read one input line; ``ValueError`` says what is wrong with it and how to write it."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"not JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(record, dict):
        raise ValueError("a line must be a JSON object with 'source-ref' and 'objects'")
    source_ref = record.get("source-ref")
    if not isinstance(source_ref, str) or not source_ref:
        raise ValueError("the line has no 'source-ref' (the image's S3 URI or path)")
    if "objects" in record:
        objects = [_parse_object(item, index) for index, item in enumerate(_list(record["objects"], "objects"))]
    else:
        objects = _groundtruth_boxes(record)
    if not objects:
        raise ValueError("the line has no objects: give 'objects' with a 'box' or 'extreme-points' each")
    names = tuple(classes) if classes else tuple(dict.fromkeys(o.class_name for o in objects))
    unknown = sorted({o.class_name for o in objects} - set(names))
    if unknown:
        raise ValueError(f"classes {unknown} are not among --classes {list(names)}")
    return PrelabelTask(line, source_ref, tuple(objects), names)


def _list(value: Any, name: str) -> list:
    if not isinstance(value, list):
        raise ValueError(f"'{name}' must be a list")
    return value


def _parse_object(item: Any, index: int) -> ObjectPrompt:
    if not isinstance(item, dict):
        raise ValueError(f"object {index} must be a JSON object with 'box' or 'extreme-points'")
    class_name = str(item.get("class", DEFAULT_CLASS))
    try:
        if "box" in item:
            box = _list(item["box"], f"objects[{index}].box")
            if len(box) != 4:
                raise ValueError("needs [x0, y0, x1, y1]")
            return ObjectPrompt(tuple(box_clicks(*box)), class_name)
        if "extreme-points" in item:
            points = _list(item["extreme-points"], f"objects[{index}].extreme-points")
            if len(points) != 4 or any(not isinstance(p, list) or len(p) != 2 for p in points):
                raise ValueError("needs four [x, y] points")
            return ObjectPrompt(tuple(Click(x, y, ClickKind.EXTREME) for x, y in points), class_name)
    except ValueError as err:
        raise ValueError(f"object {index}: {err}") from None
    raise ValueError(f"object {index} has neither 'box' [x0, y0, x1, y1] nor 'extreme-points' [[x, y] x 4]")


def _groundtruth_boxes(record: dict[str, Any]) -> list[ObjectPrompt]:
    """A Ground Truth bounding-box output-manifest line: each box one object, classes from its class-map."""
    attributes = [a for a in label_attributes(record) if record[f"{a}-metadata"].get("type") == TYPE_BOXES]
    if len(attributes) != 1:
        found = "no" if not attributes else "several"
        raise ValueError(
            f"{found} bounding-box label attributes: give 'objects', or a Ground Truth bounding-box output-manifest line"
        )
    labeled = parse_labeled_object(record, attributes[0])
    return [
        ObjectPrompt(tuple(box_clicks(*box.xyxy)), labeled.class_map.get(box.class_id, str(box.class_id)))
        for box in labeled.boxes
    ]


@dataclass
class PrelabelResult:
    """An output record and the label-map PNG it describes (stored by the caller)."""

    record: dict[str, Any]
    label_png: bytes


def prelabel(
    segmenter: Segmenter,
    task: PrelabelTask,
    image: ImageSource | ImageContext,
    model_version: str,
    label_ref: str = "",
) -> PrelabelResult:
    """Draft every object of ``task`` on ``image``: one prepare, one predict per object."""
    context = segmenter.prepare(image)
    objects, masks, class_ids = [], [], []
    for index, item in enumerate(task.objects):
        try:
            prediction = segmenter.predict(context, item.clicks)
        except ValueError as err:  # a box outside the image, a degenerate box
            raise ValueError(f"object {index}: {err}") from None
        masks.append(prediction.mask)
        class_ids.append(task.class_names.index(item.class_name))
        objects.append(
            {
                "class": item.class_name,
                **item.prompt,
                "score": round(float(prediction.score), 4),
                "segmentation": mask_to_rle(prediction.mask),
                "bbox": mask_bbox(prediction.mask),
                "area": int(prediction.mask.sum()),
                "model-version": model_version,
            }
        )
    confidence = min(o["score"] for o in objects)
    labels = label_map(masks, class_ids, task.class_names, confidence=confidence)
    manifest = semantic_segmentation_manifest_line(
        task.source_ref, label_ref, labels.color_map, LABEL_ATTRIBUTE, JOB_NAME, human_annotated=False
    )
    manifest[f"{LABEL_ATTRIBUTE}-metadata"]["confidence"] = confidence
    record = {
        "line": task.line,
        "source-ref": task.source_ref,
        "image-size": {"width": context.width, "height": context.height},
        "model-version": model_version,
        "confidence": confidence,
        "objects": objects,
        "groundtruth": manifest,
    }
    return PrelabelResult(record, labels.png)



def error_record(line: int, source_ref: str | None, message: str) -> dict[str, Any]:
    """What a failed line becomes in a batch output, so one bad line never fails the whole job."""
    return {"line": line, "source-ref": source_ref, "error": message}
