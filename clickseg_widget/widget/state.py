"""Labeling state without any widget: the image queue, objects and the clicks being made.

Kept free of ipywidgets so that every rule (click kinds, undo restoring the
earlier mask, accept/reopen/delete, queue moves) is unit-tested without a
browser; the widget only renders this state and forwards user input to it.
"""
from __future__ import annotations

import json
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, Union

import numpy as np
from PIL import Image

from ..clicks import Click, ClickKind, ClickSession, PromptKind, box_clicks
from ..export.coco import coco_annotation
from ..io.images import IMAGE_SUFFIXES, load_image
from ..io.s3 import read_s3_object, s3_client
from .strokes import Stroke, apply_strokes

ImageInput = Union[str, os.PathLike, np.ndarray, bytes, Image.Image]
MASK_MEMORY_SIZE = 32
MANIFEST_SUFFIXES = (".manifest", ".jsonl")  # a Ground Truth input manifest: one {"source-ref": ...} per line


@dataclass(frozen=True)
class QueueItem:
    """One image to label: ``name`` identifies it in the saved labels, so it must be stable.

    ``source`` is a path, an ``s3://`` URI (read with ``s3_client``), bytes,
    a PIL image or an array; it is decoded when the image is shown.
    """

    name: str
    source: ImageInput
    s3_client: Any = field(default=None, compare=False, repr=False)

    def load(self) -> np.ndarray:
        if isinstance(self.source, str) and self.source.startswith("s3://"):
            return load_image(read_s3_object(self.source, self.s3_client))
        return load_image(self.source)


def build_queue(images: ImageInput | Sequence[ImageInput], s3_session: Any = None) -> list[QueueItem]:
    """Accept a folder, a Ground Truth input manifest, one image or a list of them.

    Images are paths, ``s3://`` URIs (read with ``s3_session``, a
    ``boto3.Session``, or the default one), bytes, PIL images or arrays;
    those without a name of their own get positional names.
    """
    if isinstance(images, (str, os.PathLike)) and not str(images).startswith("s3://") and Path(images).is_dir():
        folder = Path(images)
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not paths:
            raise ValueError(f"{folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        images = paths
    elif isinstance(images, (str, os.PathLike)) and Path(images).suffix.lower() in MANIFEST_SUFFIXES:
        images = manifest_sources(Path(images))
    elif isinstance(images, (str, os.PathLike, np.ndarray, bytes, Image.Image)):
        images = [images]
    client = None
    items: list[QueueItem] = []
    for index, source in enumerate(images):
        positional = f"image-{index + 1:05d}.png"
        if isinstance(source, str) and source.startswith("s3://"):
            if client is None:
                client = s3_client(s3_session)
            items.append(QueueItem(source.rsplit("/", 1)[-1] or positional, source, client))
        elif isinstance(source, (str, os.PathLike)):
            items.append(QueueItem(Path(source).name, source))
        elif isinstance(source, Image.Image):
            filename = getattr(source, "filename", "")
            items.append(QueueItem(Path(filename).name if filename else positional, source))
        elif isinstance(source, (np.ndarray, bytes)):
            items.append(QueueItem(positional, source))
        else:
            raise TypeError(
                f"image {index} is a {type(source).__name__}: pass file paths, s3:// URIs, a folder, "
                "a Ground Truth manifest, bytes, PIL images or numpy arrays"
            )
    if not items:
        raise ValueError("no images to label: pass at least one image path, a folder or an array")
    names = [item.name for item in items]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"image names must be unique (labels are saved by name), repeated: {duplicates}")
    return items


def manifest_sources(path: Path) -> list[str]:
    """The ``source-ref`` of each line of a Ground Truth input manifest (relative paths from its folder)."""
    sources = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            reference = json.loads(line)["source-ref"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ValueError(f"{path}, line {number}: expected a JSON object with a 'source-ref'") from None
        is_local = "://" not in reference and not Path(reference).is_absolute()
        sources.append(str(path.parent / reference) if is_local else reference)
    return sources


class MaskMemory:
    """Masks by click prefix, so undo/redo show the earlier mask at once, without the model."""

    def __init__(self, size: int = MASK_MEMORY_SIZE) -> None:
        self.size = size
        self._packed: OrderedDict[tuple[Click, ...], tuple[np.ndarray, tuple[int, int]]] = OrderedDict()

    def put(self, clicks: tuple[Click, ...], mask: np.ndarray) -> None:
        self._packed[clicks] = (np.packbits(mask), mask.shape)
        self._packed.move_to_end(clicks)
        while len(self._packed) > self.size:
            self._packed.popitem(last=False)

    def __contains__(self, clicks: tuple[Click, ...]) -> bool:
        return clicks in self._packed

    def get(self, clicks: tuple[Click, ...]) -> np.ndarray | None:
        entry = self._packed.get(clicks)
        if entry is None:
            return None
        packed, shape = entry
        return np.unpackbits(packed, count=shape[0] * shape[1]).reshape(shape).astype(bool)

    def latest_prefix(self, clicks: tuple[Click, ...]) -> np.ndarray | None:
        """The mask of the longest remembered proper prefix: the model's ``previous`` mask."""
        for length in range(len(clicks) - 1, 0, -1):  # a box start is ready after 2 clicks
            mask = self.get(clicks[:length])
            if mask is not None:
                return mask
        return None

    def clear(self) -> None:
        self._packed.clear()


@dataclass
class LabeledObject:
    """An accepted object: its class, mask and the clicks that made it (kept for re-opening)."""

    object_id: int
    class_name: str
    mask: np.ndarray
    clicks: tuple[Click, ...] = ()
    score: float = 0.0
    imported_fields: dict[str, Any] | None = None  # an imported object's own COCO encoding, kept until it is edited

    @cached_property
    def coco_fields(self) -> dict[str, Any]:
        """RLE, area and bbox, encoded once: saving after every accept must not re-encode every object."""
        if self.imported_fields is not None and "segmentation" in self.imported_fields:
            return {"iscrowd": 0, **self.imported_fields}
        annotation = coco_annotation(self.mask, 0, self.object_id, 0)
        return {key: annotation[key] for key in ("segmentation", "area", "bbox", "iscrowd")}


@dataclass
class Draft:
    """The object being clicked: new, or a re-opened accepted object (``object_id`` set)."""

    session: ClickSession
    class_name: str
    object_id: int | None = None
    mask: np.ndarray | None = None
    score: float = 0.0
    memory: MaskMemory = field(default_factory=MaskMemory)
    strokes: list[Stroke] = field(default_factory=list)  # brush/eraser touch-ups, each on the mask of its clicks
    redo_stack: list[Stroke | None] = field(default_factory=list)  # undone strokes, None for an undone click

    @property
    def clicks(self) -> tuple[Click, ...]:
        return self.session.clicks

    def edited_mask(self, clicks: tuple[Click, ...]) -> np.ndarray | None:
        """The remembered mask of ``clicks`` with the strokes made on it."""
        mask = self.memory.get(clicks)
        return None if mask is None else apply_strokes(mask, self.strokes, clicks)

    def previous_mask(self, clicks: tuple[Click, ...]) -> np.ndarray | None:
        """The model's ``previous`` input for ``clicks``: the (edited) mask of their longest remembered prefix."""
        for length in range(len(clicks) - 1, 0, -1):
            mask = self.edited_mask(clicks[:length])
            if mask is not None:
                return mask
        return None


class LabelingState:
    """Everything a labeling session knows; the widget renders it, autosave persists it."""

    def __init__(self, items: Sequence[QueueItem], classes: Sequence[str]) -> None:
        if not classes:
            raise ValueError("give at least one class name, e.g. classes=['object']")
        names = [str(c) for c in classes]
        if len(set(names)) != len(names):
            raise ValueError(f"class names must be unique, got {names}")
        self.items = list(items)
        self.classes = names
        self.objects: dict[str, list[LabeledObject]] = {item.name: [] for item in self.items}
        # saved objects of images not in this queue: kept so saving does not delete them
        self.unqueued: dict[str, list[LabeledObject]] = {}
        self.index = 0
        self.next_object_id = 1
        self.active_class = self.classes[0]
        self.boundary_mode = False
        self.selected_id: int | None = None
        self._image: np.ndarray | None = None
        self.draft = self._new_draft()

    # -- the image -------------------------------------------------------
    @property
    def item(self) -> QueueItem:
        return self.items[self.index]

    @property
    def image(self) -> np.ndarray:
        if self._image is None:
            self._image = self.item.load()
        return self._image

    @property
    def image_size(self) -> tuple[int, int]:
        height, width = self.image.shape[:2]
        return width, height

    def go_to(self, index: int) -> bool:
        """Move in the queue; the unaccepted draft is dropped (accepted objects are kept)."""
        if not 0 <= index < len(self.items):
            return False
        if index != self.index:
            image = self.items[index].load()  # first: an unreadable image leaves the state where it was
            self.index, self._image = index, image
            self.selected_id = None
            self.draft = self._new_draft()
        return True

    # -- clicks ------------------------------------------------------------
    def next_kind(self, negative: bool = False) -> ClickKind:
        """What a plain (or right/shift) click means now: extreme first, then corrections."""
        session = self.draft.session
        if not session.is_ready:
            if session.prompt_kind is PromptKind.BOX:
                raise ValueError("the box lacks a corner: undo it and drag the box again, or redo")
            if negative:
                raise ValueError("the first four clicks are the object's extreme points: use left clicks for them")
            return ClickKind.EXTREME
        if negative:
            return ClickKind.NEGATIVE
        return ClickKind.BOUNDARY if self.boundary_mode else ClickKind.POSITIVE

    def add_click(self, x: float, y: float, kind: ClickKind | str | None = None) -> Click:
        """Validate and record a click; raises ValueError (outside the image, wrong kind) with the fix."""
        click = Click(x, y, self.next_kind() if kind is None else ClickKind(kind))
        self.draft.session.add(click)
        self._forget_redo()
        self._restore_remembered_mask()
        return click

    def add_box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[Click, Click]:
        """Start the draft with a box (two opposite corners); corrective clicks follow as after extreme points."""
        corners = self.draft.session.add_box(x0, y0, x1, y1)
        self._forget_redo()
        self._restore_remembered_mask()
        return corners

    def add_stroke(self, points: Sequence[tuple[float, float]], radius: float, erase: bool = False) -> Stroke:
        """Brush (or erase) the draft's mask along ``points``; undo removes the stroke, as it removes a click."""
        draft = self.draft
        if draft.mask is None or self.needs_prediction:
            raise ValueError("brush and eraser touch up a mask: start the object (extreme points or a box) first")
        stroke = Stroke(tuple((float(x), float(y)) for x, y in points), float(radius), erase, draft.clicks)
        draft.strokes.append(stroke)
        draft.redo_stack.clear()
        draft.mask = stroke.apply(draft.mask)
        return stroke

    def undo(self) -> Click | Stroke | None:
        draft = self.draft
        if draft.strokes and draft.strokes[-1].clicks == draft.clicks:  # the last action was a stroke
            stroke = draft.strokes.pop()
            draft.redo_stack.append(stroke)
            undone: Click | Stroke | None = stroke
        else:
            undone = draft.session.undo()
            if undone is not None:
                draft.redo_stack.append(None)
        self._restore_remembered_mask()
        return undone

    def redo(self) -> Click | Stroke | None:
        draft = self.draft
        if not draft.redo_stack:
            return None
        entry = draft.redo_stack.pop()
        redone: Click | Stroke | None = entry
        if entry is None:
            redone = draft.session.redo()
        else:
            draft.strokes.append(entry)
        self._restore_remembered_mask()
        return redone

    def reset_draft(self) -> None:
        self.draft.session.reset()
        self.draft.strokes.clear()
        self.draft.redo_stack.clear()
        self.draft.mask = None

    @property
    def needs_prediction(self) -> bool:
        """The draft has its extreme points but no mask for exactly its clicks yet."""
        return self.draft.session.is_ready and self.draft.clicks not in self.draft.memory

    def store_prediction(self, clicks: tuple[Click, ...], mask: np.ndarray, score: float) -> bool:
        """Remember a model result; returns True when it is the mask of the current clicks."""
        self.draft.memory.put(clicks, mask)
        if clicks == self.draft.clicks:
            self.draft.mask, self.draft.score = apply_strokes(mask, self.draft.strokes, clicks), score
            return True
        return False

    def _restore_remembered_mask(self) -> None:
        self.draft.mask = self.draft.edited_mask(self.draft.clicks) if self.draft.session.is_ready else None

    def _forget_redo(self) -> None:
        """A new click ends the redo history, and strokes made on masks it leaves behind no longer apply."""
        draft = self.draft
        draft.redo_stack.clear()
        draft.strokes = [s for s in draft.strokes if s.clicks == draft.clicks[: len(s.clicks)]]

    # -- objects -----------------------------------------------------------
    @property
    def accepted(self) -> list[LabeledObject]:
        return self.objects[self.item.name]

    def accept(self) -> LabeledObject:
        """Turn the draft into an accepted object (replacing the one it re-opened)."""
        draft = self.draft
        if self.needs_prediction:
            raise ValueError(
                "the last click has no mask yet (the model is still answering, or failed: press Retry); accept once it shows"
            )
        if draft.mask is None or not draft.mask.any():
            raise ValueError("nothing to accept yet: click the four extreme points and wait for the mask")
        next_draft = self._new_draft()  # before changing anything, so a failure leaves the state whole
        object_id = draft.object_id if draft.object_id is not None else self._take_id()
        obj = LabeledObject(object_id, draft.class_name, draft.mask, draft.clicks, draft.score)
        position = next((i for i, o in enumerate(self.accepted) if o.object_id == object_id), None)
        if position is None:
            self.accepted.append(obj)
        else:
            self.accepted[position] = obj
        self.selected_id = object_id
        self.draft = next_draft
        return obj

    def checkpoint(self) -> tuple[Any, ...]:
        """What ``accept`` and ``delete`` change, so one whose autosave failed can be undone."""
        return self.draft, list(self.accepted), self.selected_id, self.next_object_id

    def rollback(self, checkpoint: tuple[Any, ...]) -> None:
        self.draft, accepted, self.selected_id, self.next_object_id = checkpoint
        self.accepted[:] = accepted

    def find(self, object_id: int) -> LabeledObject:
        for obj in self.accepted:
            if obj.object_id == object_id:
                return obj
        known = [o.object_id for o in self.accepted]
        raise ValueError(f"no accepted object #{object_id} on this image (objects here: {known})")

    def select(self, object_id: int | None) -> None:
        if object_id is not None:
            self.find(object_id)
        self.selected_id = object_id

    def object_at(self, x: float, y: float) -> LabeledObject | None:
        """The topmost accepted object under a point (for selecting by clicking it)."""
        for obj in reversed(self.accepted):
            if 0 <= int(y) < obj.mask.shape[0] and 0 <= int(x) < obj.mask.shape[1] and obj.mask[int(y), int(x)]:
                return obj
        return None

    def reopen(self, object_id: int) -> Draft:
        """Continue clicking on an accepted object; it stays saved until accepted again."""
        obj = self.find(object_id)
        clicks = obj.clicks or self._box_around(obj.mask)  # an imported object starts from its mask's box
        session = ClickSession(self.image_size, clicks)
        self.draft = Draft(session, obj.class_name, obj.object_id, obj.mask, obj.score)
        self.draft.memory.put(clicks, obj.mask)  # the model's ``previous`` for the first correction
        self.active_class = obj.class_name
        self.selected_id = object_id
        return self.draft

    def delete(self, object_id: int) -> LabeledObject:
        obj = self.find(object_id)
        self.accepted.remove(obj)
        if self.selected_id == object_id:
            self.selected_id = None
        if self.draft.object_id == object_id:
            self.draft = self._new_draft()
        return obj

    def set_class(self, class_name: str) -> None:
        """The class for the draft (and new objects); unknown names are refused with the list."""
        if class_name not in self.classes:
            raise ValueError(f"unknown class {class_name!r}: choose one of {self.classes}")
        self.active_class = class_name
        self.draft.class_name = class_name

    def restore(self, objects: Mapping[str, Iterable[LabeledObject]]) -> None:
        """Load saved objects (resume); classes they use join the class list.

        Objects of images missing from the queue are kept in ``unqueued`` so
        the next save writes them back, and their ids are never reused.
        """
        for name, saved in objects.items():
            target = self.objects[name] if name in self.objects else self.unqueued.setdefault(name, [])
            for obj in saved:
                if obj.class_name not in self.classes:
                    self.classes.append(obj.class_name)
                target.append(obj)
                self.next_object_id = max(self.next_object_id, obj.object_id + 1)

    def add_imported(self, name: str, class_name: str, mask: np.ndarray, score: float,
                     coco_fields: dict[str, Any] | None = None) -> LabeledObject:
        """An object from existing labels, accepted on image ``name`` (its class joins the list)."""
        if name not in self.objects:
            raise ValueError(f"no image named {name!r} in the queue")
        if class_name not in self.classes:
            self.classes.append(class_name)
        obj = LabeledObject(self._take_id(), class_name, np.asarray(mask, bool), (), float(score), coco_fields)
        self.objects[name].append(obj)
        return obj

    @staticmethod
    def _box_around(mask: np.ndarray) -> tuple[Click, ...]:
        rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if not len(rows):
            raise ValueError("the object's mask is empty: delete it instead")
        return tuple(box_clicks(columns[0], rows[0], columns[-1], rows[-1]))

    def _take_id(self) -> int:
        object_id = self.next_object_id
        self.next_object_id += 1
        return object_id

    def _new_draft(self) -> Draft:
        return Draft(ClickSession(self.image_size), self.active_class)
