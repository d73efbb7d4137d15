"""``ClickSegWidget``: few-click labeling in a notebook, and the same actions as a Python API.

Wiring only: ``LabelingState`` holds the rules, ``CanvasView`` draws and
reports input, ``Toolbar`` shows controls, ``LatestJobWorker`` runs the model
off the kernel's main thread and ``Autosave`` persists accepted objects.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

import ipywidgets as widgets
import numpy as np
import traitlets

from ..clicks import Click, ClickKind
from ..export.coco import mask_to_coco_polygons
from ..export.groundtruth import class_colors
from ..export.importing import import_labels
from ..export.png import save_mask_png
from ..export.yolo import yolo_dataset_yaml, yolo_segmentation_text
from ..io.atomic import atomic_write_json, atomic_write_text
from ..models.base import Segmenter
from ..models.registry import get_segmenter
from .autosave import Autosave, coco_dict, groundtruth_lines, mask_path
from .canvas import CanvasView, Pointer
from .overlay import Overlay, encode_overlay
from .state import Draft, ImageInput, LabeledObject, LabelingState, build_queue
from .strokes import Stroke
from .shortcuts import SHORTCUT_HELP, keymap
from .toolbar import Toolbar
from .scheduler import PredictionScheduler, Result

DEFAULT_CANVAS_SIZE = (800, 560)
ACCEPTED_OPACITY_FACTOR = 0.6  # accepted objects are fainter than the one being clicked
DRAFT_OUTLINE = "#ffffff"  # the object being clicked stands out from accepted ones
SELECTED_OUTLINE = "#ffd400"
GROUNDTRUTH_ATTRIBUTE = "clickseg-ref"
TOOLS = ("click", "box", "brush", "eraser")
MIN_BRUSH_PX, MAX_BRUSH_PX, BRUSH_STEP = 2.0, 200.0, 1.25  # brush diameter on screen, and one [ / ] step
MIN_BOX_DRAG_PX = 4  # canvas pixels: a shorter drag in box mode is a click (a correction after the box)
UI_ACCEPT_WAIT_S = 5.0  # Enter right after a click waits this long for the mask of that click


class ClickSegWidget(widgets.VBox):
    """Label objects with 4 extreme clicks plus corrections.

    ``images``: file paths, a folder, ``s3://`` URIs (read with
    ``s3_session``, a ``boto3.Session``), a Ground Truth input manifest,
    bytes, PIL images or numpy arrays; ``segmenter``: a
    registered backend name or a ``Segmenter``; ``autosave``: folder where
    each accepted object is written at once (``None`` to keep labels in
    memory only); opening a widget on the same folder resumes.

    Observable state for notebooks: ``accepted`` (a JSON-able summary of
    every accepted object), ``image_index`` and ``active_class`` (both also
    settable), plus ``on_accept`` / ``on_image_change`` callbacks.
    """

    accepted: traitlets.List[dict[str, Any]] = traitlets.List(help="every accepted object: image, object_id, class, score, area, bbox, clicks").tag(sync=False)
    image_index = traitlets.Int(0, help="position of the shown image in the queue").tag(sync=False)
    active_class = traitlets.Unicode(help="the class of the object being labeled").tag(sync=False)

    @traitlets.validate("image_index")
    def _valid_index(self, proposal: dict) -> int:
        total = len(self.state.items)
        if not 0 <= proposal["value"] < total:
            raise traitlets.TraitError(f"image_index {proposal['value']} is outside the queue of {total} images")
        return proposal["value"]

    @traitlets.validate("active_class")
    def _valid_class(self, proposal: dict) -> str:
        if proposal["value"] not in self.state.classes:
            raise traitlets.TraitError(f"unknown class {proposal['value']!r}: choose one of {self.state.classes}")
        return proposal["value"]

    def __init__(
        self,
        images: ImageInput | Sequence[ImageInput],
        segmenter: str | Segmenter = "default",
        classes: Sequence[str] = ("object",),
        autosave: str | Path | None = "labels/",
        canvas_size: tuple[int, int] = DEFAULT_CANVAS_SIZE,
        s3_session: Any = None,
    ) -> None:
        self.segmenter = get_segmenter(segmenter)
        self.backend = self.segmenter.describe().get("backend", self.segmenter.name)
        self.autosave = Autosave(autosave) if autosave is not None else None
        self.output_dir = Path(autosave) if autosave is not None else Path("clickseg-export")
        self.state = LabelingState(build_queue(images, s3_session), classes)
        resume_message = self._resume()
        self.last_model_ms: float | None = None
        self.last_error: str | None = None  # the model's failure, as shown in the status line
        self.last_exception: BaseException | None = None  # ... and as raised, for scripts
        self.opacity = 0.45
        # accepted objects' overlays by object id, with the object and looks they were made for
        self._overlay_cache: dict[int, tuple[LabeledObject, tuple, Overlay | None]] = {}
        self._render_scale = 1.0
        self.view = CanvasView(*canvas_size, self._on_pointer, self._on_key, self._on_view_change, self._on_drag)
        self._lock = self.view.lock  # one lock: state changes and drawing happen together
        self._scheduler: PredictionScheduler[Draft] = PredictionScheduler(
            self.segmenter, self._lock, lambda draft: draft is self.state.draft,
            self._on_prediction, self._on_model_error, self._on_model_slow,
        )
        self.toolbar = Toolbar(self.state.classes, self.colors, self._actions())
        top, class_row, object_row = self.toolbar.rows()
        # The gap keeps the status row from covering the canvas's last pixel row (Chromium hit-testing).
        status_row = widgets.HBox([self.toolbar.status, self.toolbar.retry], layout=widgets.Layout(margin="4px 0 0 0"))
        self._accept_callbacks = widgets.CallbackDispatcher()
        self._image_callbacks = widgets.CallbackDispatcher()
        super().__init__([top, class_row, self.view.widget, status_row, object_row])
        self.add_class("clickseg-widget")
        self.active_class = self.state.active_class
        self.observe(lambda change: self.go_to(change["new"]) if change["new"] != self.state.index else None, "image_index")
        self.observe(lambda change: self.set_class(change["new"]), "active_class")
        self._show_image()
        if resume_message:
            self._status(resume_message)

    # -- Python API ------------------------------------------------------------
    @property
    def colors(self) -> list[str]:
        return class_colors(self.state.classes)

    @property
    def mask(self) -> np.ndarray | None:
        """The mask of the object being clicked (None before its four extreme points)."""
        return self.state.draft.mask

    @property
    def clicks(self) -> tuple[Click, ...]:
        return self.state.draft.clicks

    @property
    def objects(self) -> list[LabeledObject]:
        """Accepted objects of the current image."""
        return list(self.state.accepted)

    @property
    def annotations(self) -> list[dict[str, Any]]:
        """COCO annotations of every accepted object, all images."""
        return self.to_coco()["annotations"]

    def on_accept(self, callback: Callable[[LabeledObject], Any], remove: bool = False) -> None:
        """Call ``callback(obj)`` after each accept (with autosave, once the object is on disk)."""
        self._accept_callbacks.register_callback(callback, remove=remove)

    def on_image_change(self, callback: Callable[[int, str], Any], remove: bool = False) -> None:
        """Call ``callback(index, name)`` when another image of the queue is shown."""
        self._image_callbacks.register_callback(callback, remove=remove)

    def click(self, x: float, y: float, kind: ClickKind | str | None = None, wait: bool = True) -> Click:
        """Add a click in image pixels (kind: extreme for the first four, then positive by default)."""
        with self._lock:
            click = self.state.add_click(x, y, kind)
            self._after_click_change()
        if wait:
            self._wait_for_model()
        return click

    def add_box(self, x0: float, y0: float, x1: float, y1: float, wait: bool = True) -> tuple[Click, Click]:
        """Start the object with a box (two opposite corners, image pixels) instead of four extreme clicks."""
        with self._lock:
            corners = self.state.add_box(x0, y0, x1, y1)
            self._after_click_change()
        if wait:
            self._wait_for_model()
        return corners

    def undo(self) -> Click | Stroke | None:
        """Undo the last click or brush/eraser stroke."""
        return self._edit_clicks(self.state.undo)

    def redo(self) -> Click | Stroke | None:
        return self._edit_clicks(self.state.redo)

    def reset(self) -> None:
        self._edit_clicks(self.state.reset_draft)

    def retry(self, wait: bool = False) -> None:
        """Run the model again on the current clicks (after an error, e.g. an endpoint timeout)."""
        with self._lock:
            self._clear_error()
            self._request_prediction(force=True)
        if wait:
            self._wait_for_model()

    def accept(self, timeout: float = 60.0) -> LabeledObject:
        """Accept the current object; with autosave it is on disk when this returns."""
        self.wait(timeout)
        with self._lock:
            checkpoint = self.state.checkpoint()
            obj = self.state.accept()
            try:
                saved = self.autosave.save_object(self.state, obj) if self.autosave else None
            except Exception as err:  # all or nothing: not on disk, so not accepted and still editable
                self.state.rollback(checkpoint)
                self._status(f"not accepted, the autosave failed: {err}", error=True)
                raise
            with self.view.batch():
                self._after_objects_change()
                self.view.show_clicks(self.state.draft.clicks)  # the accepted object's markers go
            where = f" -> saved to {saved}" if saved else ""
            self._status(f"accepted #{obj.object_id} {obj.class_name}{where}")
        self._accept_callbacks(obj)
        return obj

    def select(self, object_id: int | None) -> None:
        with self._lock:
            self.state.select(object_id)
            self._after_objects_change()

    def reopen(self, object_id: int | None = None) -> None:
        """Continue clicking on an accepted object (the selected one by default)."""
        with self._lock:
            self.state.reopen(self._target(object_id))
            self.toolbar.class_select.value = self.state.active_class
            self._after_objects_change()
            self._after_click_change()

    def delete(self, object_id: int | None = None) -> LabeledObject:
        """Delete an accepted object; with autosave it is gone from disk too, or (if that fails) kept everywhere."""
        with self._lock:
            checkpoint = self.state.checkpoint()
            obj = self.state.delete(self._target(object_id))
            try:
                if self.autosave:
                    self.autosave.delete_object(self.state, obj)
            except Exception as err:  # still on disk, so still in the widget: the two never disagree
                self.state.rollback(checkpoint)
                self._status(f"not deleted, the autosave failed: {err}", error=True)
                raise
            self._after_objects_change()
            self._after_click_change()
            self._status(f"deleted #{obj.object_id} {obj.class_name}")
        return obj

    def set_class(self, class_name: str) -> None:
        if class_name not in self.state.classes:  # the dropdown would raise a TraitError
            raise ValueError(f"unknown class {class_name!r}: choose one of {self.state.classes}")
        self.toolbar.class_select.value = class_name  # the observer updates the state

    def set_boundary_mode(self, enabled: bool) -> None:
        self.toolbar.boundary.value = bool(enabled)

    @property
    def tool(self) -> str:
        """What a left drag does: "click" (nothing: clicks only), "box", "brush" or "eraser"."""
        return self.view.drag_mode or "click"

    @property
    def box_mode(self) -> bool:
        """True while a left drag on the canvas draws a box start (a click without dragging still clicks)."""
        return self.tool == "box"

    def set_box_mode(self, enabled: bool) -> None:
        self.toolbar.box.value = bool(enabled)

    def set_tool(self, tool: str) -> None:
        """Choose "click", "box", "brush" or "eraser" (as the toolbar's toggles do)."""
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}: choose one of {TOOLS}")
        for name, toggle in self._tool_toggles().items():
            toggle.value = name == tool

    @property
    def brush_size(self) -> float:
        """Brush and eraser diameter in screen pixels (``[`` / ``]``); strokes scale it to image pixels."""
        return self.view.brush_px

    def set_brush_size(self, pixels: float) -> None:
        self.view.brush_px = float(min(MAX_BRUSH_PX, max(MIN_BRUSH_PX, pixels)))
        self._status(f"brush size {self.view.brush_px:.0f} px")

    def stroke(self, points: Sequence[tuple[float, float]], radius: float, erase: bool = False) -> None:
        """Brush (or erase) the current mask along ``points`` (image pixels, ``radius`` too); undo removes it."""
        with self._lock:
            self.state.add_stroke(points, radius, erase)
            self._after_stroke()

    def next_image(self) -> bool:
        return self.go_to(self.state.index + 1)

    def previous_image(self) -> bool:
        return self.go_to(self.state.index - 1)

    def go_to(self, index: int) -> bool:
        """Show image ``index`` of the queue; an unaccepted object is dropped."""
        self.wait()
        with self._lock:
            before = self.state.index
            moved = self.state.go_to(index)
            changed = moved and self.state.index != before
            if moved:
                self._show_image()
                if self.autosave and self.autosave.annotations_path.exists():
                    self.autosave.save_index(self.state)
        if changed:
            self._image_callbacks(self.state.index, self.state.item.name)
        return moved

    def wait(self, timeout: float = 60.0) -> None:
        """Block until the model has answered the latest click (for scripts and tests)."""
        if not self._scheduler.wait(timeout):
            raise TimeoutError(f"the {self.backend} model did not answer within {timeout:g} s")

    def _wait_for_model(self) -> None:
        """Scripts get the model's failure as an exception (the UI shows it in the status line)."""
        self.wait()
        err = self.last_exception
        if err is not None:
            note = f"{self.backend} failed; the clicks are kept: call retry() to run the model again"
            notes = err.__dict__.setdefault("__notes__", [])  # BaseException.add_note, also on Python 3.10
            if note not in notes:
                notes.append(note)
            raise err

    def import_labels(self, source: str | Path, kind: str | None = None, class_name: str = "object") -> int:
        """Show existing labels as accepted objects, to review and correct; returns how many were added.

        ``source``: a COCO JSON (RLE or polygons), a Ground Truth
        semantic-segmentation output manifest, or a folder of PNG masks (see
        ``export.importing.import_labels``).  Re-opening an imported object
        starts from its mask's box, with the imported mask as the model's
        ``previous``; an object left untouched is exported as it was read.
        """
        names = [item.name for item in self.state.items]
        imported = import_labels(source, names, kind, class_name)
        skipped = sum(len(objects) for name, objects in imported.items() if name not in self.state.objects)
        with self._lock:
            added = [
                (name, self.state.add_imported(name, o.class_name, o.mask, o.score, o.coco_fields))
                for name, objects in imported.items() if name in self.state.objects
                for o in objects
            ]
            if self.autosave:
                for name, obj in added:
                    save_mask_png(obj.mask, self.autosave.folder / mask_path(name, obj.object_id))
                self.autosave.save_index(self.state)
            self.toolbar.set_classes(self.state.classes, self.colors)
            self._after_objects_change()
            note = f", {skipped} of images not in the queue skipped" if skipped else ""
            self._status(f"imported {len(added)} objects from {source}{note}")
        return len(added)

    def to_coco(self, path: str | Path | None = None, polygons: bool = False) -> dict[str, Any]:
        """All accepted objects as COCO (RLE segmentation, or ``polygons``); written atomically when ``path`` is given.

        Imported objects not edited since keep the segmentation they were read with.
        """
        with self._lock:
            coco = coco_dict(self.state)
            if polygons:
                masks = {o.object_id: o.mask for objects in self._all_objects().values() for o in objects}
                for annotation in coco["annotations"]:
                    if isinstance(annotation["segmentation"], dict):
                        annotation["segmentation"] = mask_to_coco_polygons(masks[annotation["id"]])
        if path is not None:
            atomic_write_json(path, coco)
        return coco

    def to_groundtruth_manifest(
        self,
        path: str | Path | None = None,
        source_prefix: str | None = None,
        label_prefix: str | None = None,
        job_name: str = "clickseg",
    ) -> list[dict[str, Any]]:
        """Ground Truth semantic-segmentation output lines, one per labeled image.

        Label-map PNGs go to ``<output>/groundtruth/``; ``source_prefix`` and
        ``label_prefix`` (e.g. ``s3://bucket/images``) turn local names into
        the URIs the manifest should name.
        """
        with self._lock:
            lines = groundtruth_lines(
                self.state, self.output_dir / "groundtruth", GROUNDTRUTH_ATTRIBUTE, job_name, source_prefix, label_prefix
            )
        if path is not None:
            atomic_write_text(path, "".join(json.dumps(line) + "\n" for line in lines))
        return lines

    def to_yolo(self, folder: str | Path) -> list[Path]:
        """YOLO segmentation labels: ``<folder>/labels/<image stem>.txt`` per labeled image, and ``data.yaml``."""
        folder = Path(folder)
        written = []
        with self._lock:
            classes = list(self.state.classes)
            for name, objects in self._all_objects().items():
                if objects:
                    text = yolo_segmentation_text([o.mask for o in objects], [classes.index(o.class_name) for o in objects])
                    written.append(atomic_write_text(folder / "labels" / f"{Path(name).stem}.txt", text))
        atomic_write_text(folder / "data.yaml", yolo_dataset_yaml(classes))
        return written

    def close(self) -> None:
        scheduler = getattr(self, "_scheduler", None)  # absent when __init__ failed (ipywidgets' __del__ closes too)
        if scheduler is not None:
            scheduler.close()
        super().close()

    # -- model -------------------------------------------------------------
    def _request_prediction(self, force: bool = False) -> None:
        """Queue a prediction for the current clicks (called with the lock held)."""
        state = self.state
        if state.needs_prediction or (force and state.draft.session.is_ready):
            self._scheduler.request(state.draft, state.image)

    def _on_prediction(self, result: Result[Draft]) -> None:
        self.last_model_ms = result.model_ms
        self._clear_error()
        if self.state.store_prediction(result.clicks, result.prediction.mask, float(result.prediction.score)):
            self._render_draft()
            self._status_ready()

    def _on_model_slow(self, draft: Draft, clicks: tuple[Click, ...]) -> None:
        if not self.last_error:
            self._status(f"{self.backend}: predicting ({len(clicks)} clicks)...")

    def _on_model_error(self, err: BaseException, draft: Draft | None, clicks: tuple[Click, ...]) -> None:
        self.last_exception = err
        self.last_error = f"{type(err).__name__}: {err}"
        self._status(
            f"{self.backend} failed: {self.last_error}. Your {len(self.state.draft.clicks)} clicks are kept: "
            "press Retry or click again.",
            error=True,
            retry=True,
        )

    def _clear_error(self) -> None:
        self.last_error = None
        self.last_exception = None

    # -- rendering ---------------------------------------------------------
    def _show_image(self) -> None:
        with self.view.batch():
            self._overlay_cache.clear()
            self.view.show_image(self.state.image)
            self._render_scale = self.view.viewport.render_scale()
            self.toolbar.set_position(self.state.index, len(self.state.items), self.state.item.name)
            self.image_index = self.state.index
            self._after_objects_change()
            self._after_click_change()
        self._scheduler.prepare(self.state.image)  # per-image work before the first click

    def _after_click_change(self) -> None:
        with self.view.batch():  # markers and, after an undo, the mask: one message
            self.view.show_clicks(self.state.draft.clicks)
            if not self.state.needs_prediction:
                self._render_draft()  # else the last mask stays up until the model answers: no flicker
        self._request_prediction()
        if not self._scheduler.busy:
            self._status_ready()

    def _after_objects_change(self) -> None:
        self.accepted = self._accepted_summary()
        self.toolbar.set_objects(self.state.accepted, self.state.selected_id)
        self._render_masks()

    def _render_masks(self) -> None:
        with self.view.batch():
            self._render_accepted()
            self._render_draft()

    def _render_accepted(self) -> None:
        state, scale = self.state, self._render_scale
        overlays = []
        for obj in state.accepted:
            if obj.object_id == state.draft.object_id:
                continue  # shown as the draft while re-opened
            outline = SELECTED_OUTLINE if obj.object_id == state.selected_id else None
            color = self._color(obj.class_name)
            looks = (color, self.opacity, scale, outline)
            cached = self._overlay_cache.get(obj.object_id)
            if cached is None or cached[0] is not obj or cached[1] != looks:
                overlay = encode_overlay(obj.mask, color, self.opacity * ACCEPTED_OPACITY_FACTOR, scale, outline)
                cached = self._overlay_cache[obj.object_id] = (obj, looks, overlay)
            overlays.append(cached[2])
        self.view.show_accepted([o for o in overlays if o is not None])

    def _render_draft(self) -> None:
        draft = self.state.draft
        overlay = None
        if draft.mask is not None:
            overlay = encode_overlay(draft.mask, self._color(draft.class_name), self.opacity, self._render_scale, DRAFT_OUTLINE)
        self.view.show_draft(overlay)

    def _on_view_change(self) -> None:
        scale = self.view.viewport.render_scale()
        if scale != self._render_scale:
            self._render_scale = scale
            self._overlay_cache.clear()
            self._render_masks()

    def _color(self, class_name: str) -> str:
        return self.colors[self.state.classes.index(class_name)]

    def _status(self, message: str, error: bool = False, retry: bool = False) -> None:
        self.toolbar.set_status(message, error, retry)

    def _status_ready(self) -> None:
        if self.last_error:
            return
        draft = self.state.draft
        latency = f"{self.last_model_ms:.0f} ms" if self.last_model_ms is not None else "-"
        if self.tool in ("brush", "eraser") and draft.mask is not None:
            hint = f"{self.tool} ({self.brush_size:.0f} px, [ and ] to resize): drag over the mask, Enter: accept"
        elif not draft.clicks and self.box_mode:
            hint = "drag a box around the object"
        elif not draft.session.is_ready:
            hint = f"click the object's top, left, bottom and right ({len(draft.clicks)}/4)"
        else:
            mode = "boundary" if self.state.boundary_mode else "positive"
            hint = f"left click: {mode}, right/shift click: negative, Enter: accept"
        self._status(f"{self.backend} | last model {latency} | {len(self.state.accepted)} objects | {hint}")

    # -- input -------------------------------------------------------------
    def _on_pointer(self, pointer: Pointer) -> None:
        with self._lock:
            x, y = self.view.viewport.to_image(pointer.x, pointer.y)
            if pointer.select:
                hit = self.state.object_at(x, y)
                self._ui(self.select, hit.object_id if hit else None)
                return
            if pointer.button not in (0, 2):
                return
            negative = pointer.button == 2 or pointer.shift
            try:
                self.state.add_click(x, y, self.state.next_kind(negative))
                self._clear_error()
            except ValueError as err:
                self._status(str(err), error=True)
                return
            try:
                self._after_click_change()
            except Exception as err:  # an event callback must not swallow it: the user needs to see it
                self._status(f"{type(err).__name__}: {err}", error=True)

    def _on_drag(self, start: Pointer, end: Pointer, path: list[tuple[float, float]]) -> None:
        """A drag in box mode starts the object with that box (a drag too short to be a box is a click);
        with the brush or eraser it is a stroke."""
        if self.tool in ("brush", "eraser"):
            with self._lock:
                viewport = self.view.viewport
                points = [viewport.to_image(x, y) for x, y in path]
                try:
                    self.state.add_stroke(points, self.brush_size / 2 / viewport.scale, self.tool == "eraser")
                    self._after_stroke()
                except ValueError as err:
                    self._status(str(err), error=True)
                    with self.view.batch():
                        self.view.show_clicks(self.state.draft.clicks)  # the preview goes
            return
        if max(abs(end.x - start.x), abs(end.y - start.y)) < MIN_BOX_DRAG_PX:
            self._on_pointer(start)
            return
        with self._lock:
            width, height = self.state.image_size
            inside = [self._clamped(self.view.viewport.to_image(p.x, p.y), width, height) for p in (start, end)]
            (x0, y0), (x1, y1) = inside
            if x0 == x1 or y0 == y1:
                self._status("the box lies outside the image: drag it over the object", error=True)
                return
            try:
                self.state.add_box(x0, y0, x1, y1)
                self._clear_error()
                self._after_click_change()
            except Exception as err:  # an event callback must not swallow it: the user needs to see it
                self._status(str(err) if isinstance(err, ValueError) else f"{type(err).__name__}: {err}", error=True)

    @staticmethod
    def _clamped(point: tuple[float, float], width: int, height: int) -> tuple[float, float]:
        """A box dragged past the image's edge ends on the edge."""
        x, y = point
        return min(max(x, 0.0), width - 0.5), min(max(y, 0.0), height - 0.5)

    def _on_key(self, key: str, event: dict) -> None:
        ctrl = bool(event.get("ctrlKey") or event.get("metaKey"))
        shift = bool(event.get("shiftKey"))
        if key.lower() == "z" and (shift or key == "Z"):
            key = "y"
        action = self._keymap().get(key.lower() if len(key) == 1 else key)
        if action is None and key.isdigit() and 1 <= int(key) <= len(self.state.classes):
            action = lambda: self.set_class(self.state.classes[int(key) - 1])  # noqa: E731
        if action is None or (ctrl and key.lower() not in ("z", "y")):
            return
        self._ui(action)

    def _keymap(self) -> dict[str, Callable[[], Any]]:
        """Keys -> handlers, bound through the one shortcut table that the help text shows."""
        handlers: dict[str, Callable[[], Any]] = {
            "undo": self.undo, "redo": self.redo, "reset": self.reset, "accept": self._accept_from_ui,
            "toggle_box": lambda: self.set_tool("click" if self.tool == "box" else "box"),
            "toggle_brush": lambda: self.set_tool("click" if self.tool == "brush" else "brush"),
            "toggle_eraser": lambda: self.set_tool("click" if self.tool == "eraser" else "eraser"),
            "brush_smaller": lambda: self.set_brush_size(self.brush_size / BRUSH_STEP),
            "brush_larger": lambda: self.set_brush_size(self.brush_size * BRUSH_STEP),
            "toggle_boundary": lambda: self.set_boundary_mode(not self.state.boundary_mode),
            "next": self.next_image, "previous": self.previous_image,
            "fit": self.view.fit, "zoom_in": lambda: self.view.zoom(1.25), "zoom_out": lambda: self.view.zoom(0.8),
            "reopen": self.reopen, "delete": self.delete, "help": self._show_help,
        }
        return {key: handlers[action] for key, action in keymap().items()}

    def _actions(self) -> dict[str, Callable[..., None]]:
        return {
            "undo": lambda: self._ui(self.undo),
            "redo": lambda: self._ui(self.redo),
            "reset": lambda: self._ui(self.reset),
            "accept": lambda: self._ui(self._accept_from_ui),
            "boundary": self._set_boundary,
            "box": lambda enabled: self._set_tool_toggle("box", enabled),
            "brush": lambda enabled: self._set_tool_toggle("brush", enabled),
            "eraser": lambda enabled: self._set_tool_toggle("eraser", enabled),
            "fit": lambda: self._ui(self.view.fit),
            "previous": lambda: self._ui(self.previous_image),
            "next": lambda: self._ui(self.next_image),
            "export": lambda: self._ui(self._export),
            "retry": lambda: self._ui(self.retry),
            "class": lambda name: self._ui(self._set_class, name),
            "opacity": lambda value: self._ui(self._set_opacity, value),
            "select": lambda object_id: self._ui(self.select, object_id),
            "reopen": lambda: self._ui(self.reopen),
            "delete": lambda: self._ui(self.delete),
            "help": self._show_help,
        }

    def _show_help(self) -> None:
        self._status(SHORTCUT_HELP.replace("\n", " | "))

    def _ui(self, action: Callable[..., Any], *args: Any) -> None:
        """Run a user action; a mistake (nothing to undo, no object selected) goes to the status line."""
        try:
            action(*args)
        except (ValueError, OSError, TimeoutError) as err:
            self._status(str(err), error=True)

    def _accept_from_ui(self) -> None:
        try:
            self.accept(timeout=UI_ACCEPT_WAIT_S)
        except TimeoutError:
            raise ValueError("the model is still answering the last click: accept again in a moment") from None

    def _set_boundary(self, enabled: bool) -> None:
        with self._lock:
            self.state.boundary_mode = enabled
            self._status_ready()

    def _set_tool_toggle(self, tool: str, enabled: bool) -> None:
        """One tool at a time: turning one on turns the others off."""
        with self._lock:
            if enabled:
                self.view.drag_mode = tool
                for name, toggle in self._tool_toggles().items():
                    if name != tool:
                        toggle.value = False
            elif self.view.drag_mode == tool:
                self.view.drag_mode = None
            self._status_ready()

    def _tool_toggles(self) -> dict[str, widgets.ToggleButton]:
        return {"box": self.toolbar.box, "brush": self.toolbar.brush, "eraser": self.toolbar.eraser}

    def _after_stroke(self) -> None:
        with self.view.batch():  # the stroke's preview goes and the edited mask shows: one message
            self.view.show_clicks(self.state.draft.clicks)
            self._render_draft()
        self._status_ready()

    def _set_class(self, class_name: str) -> None:
        with self._lock:
            self.state.set_class(class_name)
            self.active_class = class_name
            self._render_masks()

    def _set_opacity(self, value: float) -> None:
        with self._lock:
            self.opacity = float(value)
            self._render_masks()

    def _edit_clicks(self, edit: Callable[[], Any]) -> Any:
        with self._lock:
            result = edit()
            self._clear_error()
            self._after_click_change()
        return result

    def _all_objects(self) -> dict[str, list[LabeledObject]]:
        return {**self.state.objects, **self.state.unqueued}

    def _accepted_summary(self) -> list[dict[str, Any]]:
        return [
            {
                "image": name, "object_id": obj.object_id, "class": obj.class_name, "score": round(float(obj.score), 4),
                "area": obj.coco_fields["area"], "bbox": obj.coco_fields["bbox"], "clicks": len(obj.clicks),
            }
            for name, objects in self.state.objects.items()
            for obj in objects
        ]

    def _target(self, object_id: int | None) -> int:
        target = object_id if object_id is not None else self.state.selected_id
        if target is None:
            raise ValueError("select an object first (Objects list, or ctrl+click it on the image)")
        return target

    def _export(self) -> None:
        coco_path = self.output_dir / "annotations.json"
        manifest_path = self.output_dir / "output.manifest"
        coco = self.to_coco(coco_path)
        lines = self.to_groundtruth_manifest(manifest_path)
        self.to_coco(self.output_dir / "annotations-polygons.json", polygons=True)
        self.to_yolo(self.output_dir / "yolo")
        self._status(
            f"exported {len(coco['annotations'])} objects to {coco_path} (also as polygons, and YOLO in "
            f"{self.output_dir / 'yolo'}) and {len(lines)} lines to {manifest_path}"
        )

    def _resume(self) -> str | None:
        if self.autosave is None:
            return None
        objects, current = self.autosave.load()
        self.state.restore(objects)
        names = [item.name for item in self.state.items]
        if current in names:
            self.state.go_to(names.index(current))
        count = sum(len(v) for k, v in objects.items() if k in self.state.objects)
        return f"resumed {count} saved objects from {self.autosave.annotations_path}" if count else None

