"""Accepted objects on disk the moment they are accepted: COCO JSON plus one PNG per mask.

Also the exports built from the same state (COCO, Ground Truth lines).

Layout of the folder::

    annotations.json          COCO (RLE segmentation); each annotation also
                              carries "clickseg": {"clicks", "score", "mask_png"}
                              so an object can be re-opened after a restart,
                              and "info": {"clickseg": {"current_image"}}
                              says where to resume
    masks/<image>-<id>.png    the object's 0/255 mask

Both files are written atomically (temporary file + ``os.replace``); the
mask first, so the JSON never names a PNG that is not there.  Opening a
widget on the same folder resumes: objects come back by image file name.

Two widgets on one folder (two notebooks, or a cell re-run without closing the
first) must not overwrite each other: every write holds a lock on the folder and
first checks that ``annotations.json`` is still what this widget last read or
wrote; if another writer changed it, the write is refused with a message.
"""
from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
    import msvcrt

from ..clicks import Click
from ..export.coco import CocoDataset, segmentation_to_mask
from ..export.groundtruth import label_map, semantic_segmentation_manifest_line
from ..export.png import save_mask_png
from ..io.atomic import atomic_write_bytes, atomic_write_json
from .state import LabeledObject, LabelingState

ANNOTATIONS_FILE = "annotations.json"
MASKS_DIR = "masks"
LOCK_FILE = ".clickseg.lock"  # Windows only: POSIX locks the folder itself
Result = TypeVar("Result")


class ConcurrentWriterError(RuntimeError):
    """Another widget wrote the autosave folder since this one read it."""


def coco_dict(state: LabelingState, current_image: str | None = None) -> dict[str, Any]:
    """The state's accepted objects as a COCO dataset (images without objects are left out).

    Saved objects of images outside the queue (``state.unqueued``) are
    written too, so resuming on fewer images never deletes labels.
    """
    dataset = CocoDataset(state.classes)
    labeled = [(item.name, state.objects[item.name]) for item in state.items] + list(state.unqueued.items())
    for image_id, (name, objects) in enumerate(labeled, start=1):
        if not objects:
            continue
        height, width = objects[0].mask.shape
        dataset.add_image(name, width, height, image_id=image_id)
        for obj in objects:
            dataset.annotations.append(
                {
                    "id": obj.object_id,
                    "image_id": image_id,
                    "category_id": dataset.category_id(obj.class_name),
                    **obj.coco_fields,
                    "clickseg": {
                        "clicks": [c.to_dict() for c in obj.clicks],
                        "score": float(obj.score),
                        "mask_png": mask_path(name, obj.object_id),
                    },
                }
            )
    coco = dataset.to_dict()
    if current_image is not None:
        coco["info"] = {"clickseg": {"current_image": current_image}}
    return coco


def groundtruth_lines(
    state: LabelingState,
    label_dir: Path,
    attribute_name: str,
    job_name: str,
    source_prefix: str | None = None,
    label_prefix: str | None = None,
) -> list[dict[str, Any]]:
    """One Ground Truth semantic-segmentation line per labeled image; label maps written to ``label_dir``.

    Without prefixes, lines name local files (absolute image paths when the
    image came from a file); with them (e.g. ``s3://bucket/images``) they
    name the URIs the manifest will be used with.
    """
    lines = []
    for item in state.items:
        objects = state.objects[item.name]
        if not objects:
            continue
        labels = label_map([o.mask for o in objects], [state.classes.index(o.class_name) for o in objects], state.classes)
        label_name = f"{item.name}.png"  # the full name: a.jpg and a.png must not share a label map
        atomic_write_bytes(label_dir / label_name, labels.png)
        if source_prefix:
            source = f"{source_prefix.rstrip('/')}/{item.name}"
        else:
            source = item.name if not isinstance(item.source, (str, Path)) else (
                str(item.source) if str(item.source).startswith("s3://") else str(Path(item.source).resolve())
            )
        label = f"{label_prefix.rstrip('/')}/{label_name}" if label_prefix else str(label_dir / label_name)
        lines.append(semantic_segmentation_manifest_line(source, label, labels.color_map, attribute_name, job_name))
    return lines


def mask_path(image_name: str, object_id: int) -> str:
    return f"{MASKS_DIR}/{Path(image_name).stem}-{object_id}.png"


class Autosave:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._known = self._fingerprint()  # of annotations.json as this widget last saw it
        with self._locked():
            self._remove_leftover_temporaries()

    @property
    def annotations_path(self) -> Path:
        return self.folder / ANNOTATIONS_FILE

    def load(self) -> tuple[dict[str, list[LabeledObject]], str | None]:
        """Saved objects by image file name, and the image to resume on (None on a new folder)."""
        self._known = self._fingerprint()
        if not self.annotations_path.exists():
            return {}, None
        try:
            coco = json.loads(self.annotations_path.read_text(encoding="utf-8"))
            images = {image["id"]: image for image in coco["images"]}
            classes = {category["id"]: category["name"] for category in coco["categories"]}
            objects: dict[str, list[LabeledObject]] = {}
            for annotation in coco["annotations"]:
                extra = annotation.get("clickseg", {})
                image = images[annotation["image_id"]]
                clicks = tuple(Click.from_dict(c) for c in extra.get("clicks", []))
                obj = LabeledObject(
                    object_id=int(annotation["id"]),
                    class_name=classes[annotation["category_id"]],
                    mask=segmentation_to_mask(annotation["segmentation"], image["height"], image["width"]),
                    clicks=clicks,
                    score=float(extra.get("score", 0.0)),
                    imported_fields=None if clicks else {k: annotation[k] for k in ("segmentation", "area", "bbox")},
                )
                objects.setdefault(image["file_name"], []).append(obj)
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ValueError(
                f"cannot resume from {self.annotations_path}: it is not a COCO file this widget wrote ({err}); "
                "move it away or pick another autosave folder"
            ) from None
        current = coco.get("info", {}).get("clickseg", {}).get("current_image")
        return objects, current

    def save_object(self, state: LabelingState, obj: LabeledObject) -> Path:
        """The mask PNG, then the index; if the index cannot be written, the PNG is put back as it was."""

        def write() -> Path:
            png = self.folder / mask_path(state.item.name, obj.object_id)
            previous = png.read_bytes() if png.exists() else None
            save_mask_png(obj.mask, png)
            try:
                return self._write_index(state)
            except BaseException:
                if previous is None:
                    png.unlink(missing_ok=True)
                else:
                    atomic_write_bytes(png, previous)
                raise

        return self._exclusive(write)

    def delete_object(self, state: LabelingState, obj: LabeledObject) -> Path:
        def write() -> Path:
            path = self._write_index(state)
            (self.folder / mask_path(state.item.name, obj.object_id)).unlink(missing_ok=True)
            return path

        return self._exclusive(write)

    def save_index(self, state: LabelingState) -> Path:
        return self._exclusive(lambda: self._write_index(state))

    def _write_index(self, state: LabelingState) -> Path:
        path = atomic_write_json(self.annotations_path, coco_dict(state, current_image=state.item.name))
        self._known = self._fingerprint()
        return path

    def _exclusive(self, write: Callable[[], Result]) -> Result:
        with self._locked():
            if self._fingerprint() != self._known:
                raise ConcurrentWriterError(
                    f"{self.annotations_path} was changed by another widget since this one opened it "
                    "(two widgets on one folder): nothing was written. Close the other widget, then open this "
                    "folder again to continue with both sets of labels, or pick another autosave folder"
                )
            return write()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on the folder across processes and across widgets in one process.

        POSIX locks the folder itself (no lock file in the user's labels); Windows a file in it.
        """
        if fcntl is not None:
            handle = os.open(self.folder, os.O_RDONLY)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX)
                yield
            finally:
                os.close(handle)  # releases the lock
            return
        with open(self.folder / LOCK_FILE, "a+b") as stream:
            msvcrt.locking(stream.fileno(), msvcrt.LK_LOCK, 1)
            try:
                yield
            finally:
                stream.seek(0)
                msvcrt.locking(stream.fileno(), msvcrt.LK_UNLCK, 1)

    def _fingerprint(self) -> str | None:
        try:
            return hashlib.sha256(self.annotations_path.read_bytes()).hexdigest()
        except FileNotFoundError:
            return None

    def _remove_leftover_temporaries(self) -> None:
        """Temporary files of writes that were interrupted (every write holds the lock, so none is live)."""
        for folder in (self.folder, self.folder / MASKS_DIR):
            for leftover in folder.glob(".*.tmp"):
                leftover.unlink(missing_ok=True)
