"""ClickSegWidget without a browser: Python API, input routing, autosave/resume, errors, threading.

The widget is a real ipywidgets tree; with no front end attached its
messages go nowhere, which is all these tests need.
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from ipycanvas.canvas import COMMANDS
from ipywidgets import Widget
from PIL import Image

from clickseg_widget.clicks import split_prompt
from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask, load_samples
from clickseg_widget.simulation.metrics import iou
from clickseg_widget.protocol.masks import rle_to_mask
from clickseg_widget.export.groundtruth import read_label_map
from clickseg_widget.export.png import load_mask_png
from clickseg_widget.models.base import Prediction, Segmenter
from clickseg_widget.widget import ClickSegWidget
from clickseg_widget.widget import scheduler as scheduler_module
from clickseg_widget.widget.autosave import Autosave

EXTREMES = [(30, 10), (10, 30), (30, 50), (50, 30)]


class BoxSegmenter(Segmenter):
    """The extreme points' box minus a disk per negative click; can block or fail on demand."""

    name = "box"

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail_with: Exception | None = None
        self.calls: list[int] = []

    def encode(self, image):
        return {}

    def segment(self, context, clicks, previous):
        self.entered.set()
        assert self.gate.wait(10)
        self.calls.append(len(clicks))
        if self.fail_with is not None:
            raise self.fail_with
        prompt, corrective = split_prompt(clicks)
        xs, ys = [c.x for c in prompt], [c.y for c in prompt]
        mask = np.zeros(context.image.shape[:2], np.float32)
        mask[int(min(ys)) : int(max(ys)) + 1, int(min(xs)) : int(max(xs)) + 1] = 1
        yy, xx = np.ogrid[: mask.shape[0], : mask.shape[1]]
        for click in corrective:
            if click.kind.value == "negative":
                mask[(yy - click.y) ** 2 + (xx - click.x) ** 2 <= 25] = 0
        return Prediction.from_probability(mask, {})


@pytest.fixture
def images() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (60, 80, 3), dtype=np.uint8) for _ in range(3)]


@pytest.fixture
def segmenter() -> BoxSegmenter:
    return BoxSegmenter()


def make_widget(images, segmenter, folder: Path | None, classes=("cat", "dog")) -> ClickSegWidget:
    return ClickSegWidget(images, segmenter=segmenter, classes=list(classes), autosave=folder, canvas_size=(160, 120))


def click_extremes(widget: ClickSegWidget) -> None:
    for x, y in EXTREMES:
        widget.click(x, y)


def ui_event(widget: ClickSegWidget, event: str, image_xy=(0, 0), **fields) -> None:
    """An ipyevents message as the browser sends it, at an image position."""
    canvas_x, canvas_y = widget.view.viewport.to_canvas(*image_xy)
    message = {"event": event, "relativeX": canvas_x, "relativeY": canvas_y,
               "boundingRectWidth": widget.view.width, "boundingRectHeight": widget.view.height,
               "button": 0, "shiftKey": False, "ctrlKey": False}
    message.update(fields)
    widget.view._handle_event(message)


def status(widget: ClickSegWidget) -> str:
    return widget.toolbar.status.value


def test_grabcut_end_to_end_through_the_python_api(grabcut_dir, tmp_path):
    sample = load_samples(grabcut_dir, limit=1)[0]
    truth, ignore = load_mask(sample.mask_path)
    widget = ClickSegWidget([sample.image_path], segmenter="grabcut", classes=["thing"], autosave=tmp_path / "labels")
    clicker = Clicker(truth, ignore)
    for click in clicker.extreme_clicks():
        widget.click(click.x, click.y)
    assert iou(widget.mask, truth, ignore) > 0.8
    correction = clicker.next_click(widget.mask)
    widget.click(correction.x, correction.y, correction.kind)
    assert "grabcut | last model" in status(widget)
    obj = widget.accept()
    assert widget.annotations[0]["id"] == obj.object_id
    assert np.array_equal(rle_to_mask(widget.annotations[0]["segmentation"]), obj.mask)
    widget.close()


def test_ui_clicks_map_buttons_and_modifiers_to_click_kinds(images, segmenter):
    widget = make_widget(images, segmenter, None)
    for xy in EXTREMES:
        ui_event(widget, "mousedown", xy)
    widget.wait()
    ui_event(widget, "mousedown", (20, 20), button=2)
    ui_event(widget, "mousedown", (21, 21), shiftKey=True)
    ui_event(widget, "keydown", key="b")
    ui_event(widget, "mousedown", (30, 12))
    ui_event(widget, "contextmenu", (30, 12), button=2)
    widget.wait()
    kinds = [c.kind.value for c in widget.clicks]
    assert kinds == ["extreme"] * 4 + ["negative", "negative", "boundary"]
    assert widget.clicks[0].x == pytest.approx(30) and widget.clicks[0].y == pytest.approx(10)
    assert not widget.mask[20, 20]
    widget.close()


def test_clicks_map_to_full_resolution_pixels_after_zoom_and_pan(images, segmenter):
    widget = make_widget(images, segmenter, None)
    ui_event(widget, "wheel", (40, 30), deltaY=-120)
    ui_event(widget, "wheel", (40, 30), deltaY=-120)
    assert widget.view.viewport.scale > widget.view.viewport.fit_scale
    ui_event(widget, "mousedown", (40, 30), button=1)  # middle button: pan, not a click
    start = widget.view.viewport.to_canvas(40, 30)
    widget.view._handle_motion({"relativeX": start[0] + 10, "relativeY": start[1] + 5})
    ui_event(widget, "mouseup", (40, 30), button=1)
    assert widget.clicks == ()
    ui_event(widget, "mousedown", (33.25, 17.5))
    assert (widget.clicks[0].x, widget.clicks[0].y) == pytest.approx((33.25, 17.5))
    widget.close()


def test_clicks_outside_the_image_show_an_error_and_keep_earlier_clicks(images, segmenter):
    widget = make_widget(images, segmenter, None)
    ui_event(widget, "mousedown", (30, 10))
    widget.view.fit()
    ui_event(widget, "mousedown", (-5, 10))  # the grey margin beside the image
    assert "outside the 80x60 image" in status(widget) and 'data-error="true"' in status(widget)
    assert len(widget.clicks) == 1
    widget.close()


def test_model_runs_off_the_main_thread_and_clicks_made_meanwhile_are_coalesced(images, segmenter):
    widget = make_widget(images, segmenter, None)
    click_extremes(widget)
    shown = widget.view.draft_overlay
    segmenter.gate.clear()
    segmenter.entered.clear()
    segmenter.calls.clear()
    ui_event(widget, "mousedown", (20, 20), button=2)
    assert segmenter.entered.wait(10)
    # The model is blocked, yet the UI handlers return and record every click ...
    ui_event(widget, "mousedown", (40, 40), button=2)
    ui_event(widget, "mousedown", (25, 25), button=2)
    assert len(widget.clicks) == 7
    # ... and a model still busy after PREDICTING_NOTICE_S gets a "predicting" note.
    assert wait_for(lambda: "predicting (7 clicks)" in status(widget))
    # ... and the last mask stays on screen until the new one arrives (no flicker).
    assert widget.view.draft_overlay is shown
    segmenter.gate.set()
    widget.wait()
    assert segmenter.calls == [5, 7]  # the 6-click state was superseded before it ran
    assert not widget.mask[20, 20] and not widget.mask[40, 40] and not widget.mask[25, 25]
    assert widget.view.draft_overlay is not shown
    widget.close()


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_corrective_click_sends_its_marker_then_its_mask_and_status_only(images, segmenter, monkeypatch):
    """Per click: one canvas message with just the new marker, one with the mask, no "predicting" note for a fast model."""
    monkeypatch.setattr(scheduler_module, "PREDICTING_NOTICE_S", 60.0)  # far longer than the box model takes
    widget = make_widget(images, segmenter, None)
    # Input comes from the surface over the canvas: ipycanvas' own view would send every mouse move to the kernel.
    assert widget.view.input.source is widget.view.motion.source is widget.view.surface
    click_extremes(widget)
    sent: list[tuple[str, dict, list]] = []
    monkeypatch.setattr(Widget, "_send", lambda self, msg, buffers=None: sent.append((type(self).__name__, msg, buffers or [])))
    ui_event(widget, "mousedown", (20, 20), button=2)
    widget.wait()
    kinds = [name for name, _, _ in sent]
    assert kinds[:2] == ["_CanvasManager", "_CanvasManager"] and set(kinds[2:]) <= {"HTML"}, kinds  # + status if changed
    assert not any("predicting" in str(msg.get("state")) for _, msg, _ in sent)
    marker_commands = json.loads(bytes(sent[0][2][0]))  # [[command, args, buffers], ...] in one batch
    circles = [c for c in marker_commands if c[0] == COMMANDS["fillCircle"]]
    assert len(circles) == 1 and COMMANDS["clear"] not in [c[0] for c in marker_commands]
    assert len(sent[1][2]) == 2  # the commands and the mask's PNG
    # An undo redraws every remaining marker and the previous mask in one message.
    sent.clear()
    widget.undo()
    canvas_messages = [msg for name, msg, _ in sent if name == "_CanvasManager"]
    assert len(canvas_messages) == 1
    # Accepting clears the object's markers and redraws the masks, again in one message.
    sent.clear()
    widget.accept()
    assert widget.view.clicks_shown == () and [name for name, _, _ in sent].count("_CanvasManager") == 1
    widget.close()


def test_a_failing_model_keeps_the_clicks_and_retry_recovers(images, segmenter):
    widget = make_widget(images, segmenter, None)
    segmenter.fail_with = ConnectionError("endpoint https://example.invalid timed out")
    with pytest.raises(ConnectionError, match="example.invalid timed out") as raised:
        click_extremes(widget)  # the backend's own error, not a RuntimeError wrapping its text
    assert "call retry()" in "".join(raised.value.__notes__)
    assert widget.mask is None and len(widget.clicks) == 4
    assert "box failed: ConnectionError: endpoint https://example.invalid timed out" in status(widget)
    assert "4 clicks are kept" in status(widget)
    assert widget.toolbar.retry.layout.display == ""
    with pytest.raises(ValueError, match="no mask yet"):
        widget.accept()
    segmenter.fail_with = None
    widget.retry(wait=True)
    assert widget.mask is not None and widget.toolbar.retry.layout.display == "none"
    widget.close()


def test_keyboard_shortcuts_drive_the_toolbar_actions(images, segmenter, tmp_path):
    widget = make_widget(images, segmenter, tmp_path)
    click_extremes(widget)
    widget.click(30, 30, "negative")
    ui_event(widget, "keydown", key="z")
    assert len(widget.clicks) == 4 and widget.mask[30, 30]
    ui_event(widget, "keydown", key="y", ctrlKey=True)
    widget.wait()
    assert len(widget.clicks) == 5 and not widget.mask[30, 30]
    ui_event(widget, "keydown", key="2")
    assert widget.state.draft.class_name == "dog"
    ui_event(widget, "keydown", key="Enter")
    assert [o.class_name for o in widget.objects] == ["dog"]
    ui_event(widget, "keydown", key="n")
    assert widget.state.index == 1 and "2 / 3" in widget.toolbar.position.value
    ui_event(widget, "keydown", key="p")
    ui_event(widget, "keydown", key="Delete")
    assert "select an object first" in status(widget) and len(widget.objects) == 1
    ui_event(widget, "mousedown", (20, 20), ctrlKey=True)
    ui_event(widget, "keydown", key="Delete")
    assert widget.objects == []
    ui_event(widget, "keydown", key="Escape")
    ui_event(widget, "keydown", key="c", ctrlKey=True)  # not ours: ignored
    ui_event(widget, "keydown", key="h")
    assert "z / ctrl+z: undo click" in status(widget)
    assert "z / ctrl+z" in widget.toolbar.help.tooltip
    widget.close()


def test_objects_can_be_selected_reopened_and_deleted(images, segmenter, tmp_path):
    widget = make_widget(images, segmenter, tmp_path)
    click_extremes(widget)
    first = widget.accept()
    widget.set_class("dog")
    for x, y in [(65, 40), (60, 45), (65, 50), (70, 45)]:
        widget.click(x, y)
    second = widget.accept()
    ui_event(widget, "mousedown", (30, 30), ctrlKey=True)
    assert widget.state.selected_id == first.object_id
    assert widget.toolbar.objects.value == first.object_id
    widget.reopen()
    widget.click(30, 30, "negative")
    widget.accept()
    assert [o.object_id for o in widget.objects] == [first.object_id, second.object_id]
    assert not widget.objects[0].mask[30, 30]
    widget.toolbar.objects.value = second.object_id  # the user picks it in the list
    widget.delete()
    assert [o.object_id for o in widget.objects] == [first.object_id]
    assert not (tmp_path / "masks" / f"image-00001-{second.object_id}.png").exists()
    widget.close()


def test_accepted_objects_are_on_disk_at_once_and_a_new_widget_resumes(images, segmenter, tmp_path):
    widget = make_widget(images, segmenter, tmp_path)
    widget.next_image()
    click_extremes(widget)
    widget.click(30, 30, "negative")
    obj = widget.accept()
    coco = json.loads((tmp_path / "annotations.json").read_text())
    annotation = coco["annotations"][0]
    assert coco["images"][0]["file_name"] == "image-00002.png"
    assert np.array_equal(load_mask_png(tmp_path / annotation["clickseg"]["mask_png"]), obj.mask)
    assert not [p for p in tmp_path.rglob("*.tmp")]
    widget.close()  # "kernel restart"

    resumed = make_widget(images, segmenter, tmp_path)
    assert resumed.state.index == 1 and "resumed 1 saved objects" in status(resumed)
    assert np.array_equal(resumed.objects[0].mask, obj.mask)
    resumed.reopen(obj.object_id)
    assert len(resumed.clicks) == 5 and np.array_equal(resumed.mask, obj.mask)
    resumed.undo()
    resumed.wait()
    assert resumed.mask[30, 30]  # the model re-ran for the shorter click list
    resumed.close()


def test_resume_refuses_a_foreign_annotation_file(images, segmenter, tmp_path):
    (tmp_path / "annotations.json").write_text('{"images": "not a list"}')
    with pytest.raises(ValueError, match="cannot resume .* move it away"):
        make_widget(images, segmenter, tmp_path)
    assert Autosave(tmp_path / "new").load() == ({}, None)


def test_coco_and_groundtruth_exports(images, segmenter, tmp_path):
    widget = make_widget(images, segmenter, tmp_path)
    click_extremes(widget)
    widget.accept()
    coco_path = tmp_path / "export" / "coco.json"
    coco = widget.to_coco(coco_path)
    assert json.loads(coco_path.read_text()) == coco
    assert [c["name"] for c in coco["categories"]] == ["cat", "dog"]
    lines = widget.to_groundtruth_manifest(tmp_path / "output.manifest", source_prefix="s3://bucket/images")
    assert lines[0]["source-ref"] == "s3://bucket/images/image-00001.png"
    labels = read_label_map(Path(lines[0]["clickseg-ref"]).read_bytes())
    assert np.array_equal(labels == 1, widget.objects[0].mask)
    assert json.loads((tmp_path / "output.manifest").read_text().splitlines()[0]) == lines[0]
    widget.toolbar.export.click()
    assert "exported 1 objects" in status(widget)
    widget.close()


def test_user_text_is_escaped_in_every_html_widget(segmenter, tmp_path):
    hostile = '<img src=x onerror="alert(1)">'
    image_path = tmp_path / "<b>photo.png"
    Image.new("RGB", (80, 60), "white").save(image_path)
    widget = ClickSegWidget([image_path], segmenter=segmenter, classes=[hostile], autosave=None)
    widget.view.fit()
    ui_event(widget, "mousedown", (30, 10), button=2)  # an error message that names nothing hostile
    for html_widget in (widget.toolbar.legend, widget.toolbar.position, widget.toolbar.status):
        assert "<img" not in html_widget.value and "<b>photo" not in html_widget.value
    assert "&lt;img src=x" in widget.toolbar.legend.value
    assert "&lt;b&gt;photo.png" in widget.toolbar.position.value
    widget._status(f"accepted #1 {hostile}")
    assert "<img" not in widget.toolbar.status.value
    widget.close()


def test_opacity_and_class_colour_reach_the_overlay(images, segmenter):
    widget = make_widget(images, segmenter, None)
    click_extremes(widget)
    overlay = widget.view.draft_overlay
    assert overlay.rgba[overlay.rgba.shape[0] // 2, overlay.rgba.shape[1] // 2, 3] == round(0.45 * 255)
    widget.toolbar.opacity.value = 0.8
    widget.set_class("dog")
    overlay = widget.view.draft_overlay
    centre = overlay.rgba[overlay.rgba.shape[0] // 2, overlay.rgba.shape[1] // 2]
    assert tuple(centre) == (0xFF, 0x7F, 0x0E, round(0.8 * 255))
    widget.close()


def accept_box(widget: ClickSegWidget):
    click_extremes(widget)
    return widget.accept()


def test_resuming_on_fewer_images_keeps_the_other_images_labels_and_never_reuses_their_ids(images, segmenter, tmp_path):
    widget = make_widget(images, segmenter, tmp_path)
    widget.go_to(2)
    old = accept_box(widget)
    widget.close()

    fewer = make_widget(images[:1], segmenter, tmp_path)
    new = accept_box(fewer)
    fewer.close()
    assert new.object_id > old.object_id
    coco = json.loads((tmp_path / "annotations.json").read_text())
    by_id = {a["id"]: a for a in coco["annotations"]}
    names = {image["id"]: image["file_name"] for image in coco["images"]}
    assert names[by_id[old.object_id]["image_id"]] == "image-00003.png"
    assert np.array_equal(rle_to_mask(by_id[old.object_id]["segmentation"]), old.mask)
    assert names[by_id[new.object_id]["image_id"]] == "image-00001.png"


def test_saving_encodes_each_object_once_and_export_counts_the_written_annotations(images, segmenter, tmp_path, monkeypatch):
    from pycocotools import mask as mask_utils

    encoded = []
    real = mask_utils.encode
    monkeypatch.setattr(mask_utils, "encode", lambda mask: encoded.append(1) or real(mask))
    widget = make_widget(images, segmenter, tmp_path)
    accept_box(widget)
    accept_box(widget)
    widget.next_image()
    widget.previous_image()
    widget.to_coco()
    assert len(encoded) == 2  # once per accepted object, not once per object per save
    widget.toolbar.export.click()
    assert "exported 2 objects" in status(widget)
    widget.close()


def test_each_image_is_prepared_once_however_many_clicks(images, segmenter, monkeypatch):
    prepared = []
    real = segmenter.prepare
    monkeypatch.setattr(segmenter, "prepare", lambda image: prepared.append(type(image).__name__) or real(image))
    widget = make_widget(images, segmenter, None)
    click_extremes(widget)
    widget.click(20, 20, "negative")
    widget.click(40, 40, "negative")
    widget.next_image()
    click_extremes(widget)
    widget.wait()
    assert prepared.count("ndarray") == 2  # one per shown image, not one per click
    widget.close()


def test_groundtruth_label_maps_of_same_stem_images_do_not_collide(segmenter, tmp_path):
    Image.new("RGB", (80, 60), "white").save(tmp_path / "a.png")
    Image.new("RGB", (80, 60), "white").save(tmp_path / "a.jpg")
    widget = ClickSegWidget([tmp_path / "a.png", tmp_path / "a.jpg"], segmenter=segmenter, classes=["cat"],
                            autosave=tmp_path / "labels", canvas_size=(160, 120))
    accept_box(widget)
    widget.next_image()
    widget.click(20, 5)
    widget.click(5, 20)
    widget.click(20, 40)
    widget.click(40, 20)
    widget.accept()
    lines = widget.to_groundtruth_manifest()
    labels = [Path(line["clickseg-ref"]) for line in lines]
    assert len(set(labels)) == 2
    assert read_label_map(labels[0].read_bytes()).sum() != read_label_map(labels[1].read_bytes()).sum()
    widget.close()


def test_set_class_refuses_an_unknown_class_with_the_list(images, segmenter):
    widget = make_widget(images, segmenter, None)
    with pytest.raises(ValueError, match=r"unknown class 'bogus': choose one of \['cat', 'dog'\]"):
        widget.set_class("bogus")
    widget.close()


def test_a_failure_after_a_ui_click_is_shown_in_the_status_line(images, segmenter):
    widget = make_widget(images, segmenter, None)
    widget.wait()
    widget._scheduler.close()  # e.g. the widget was closed while the page still sends clicks
    for xy in EXTREMES:
        ui_event(widget, "mousedown", xy)
    assert "RuntimeError: the prediction worker is closed" in status(widget)
    widget.close()


def test_the_worker_survives_an_error_handler_that_raises():
    from clickseg_widget.widget.worker import LatestJobWorker

    def broken_handler(err):
        raise RuntimeError("handler bug")

    worker = LatestJobWorker(on_error=broken_handler)
    ran = threading.Event()
    worker.submit(lambda: 1 / 0)
    assert worker.wait_idle(5)
    worker.submit(ran.set)
    assert ran.wait(5)
    worker.close()


def test_box_mode_drag_starts_the_object_and_a_short_drag_is_a_corrective_click(images, segmenter):
    widget = make_widget(images, segmenter, None)
    ui_event(widget, "keydown", key="r")
    assert widget.box_mode and widget.toolbar.box.value and "drag a box" in status(widget)
    ui_event(widget, "mousedown", (10, 10))
    ui_event(widget, "mouseup", (50, 50))
    widget.wait()
    assert [c.kind.value for c in widget.clicks] == ["box", "box"]
    assert widget.mask is not None and widget.mask[30, 30]
    ui_event(widget, "mousedown", (30, 30), button=2)  # corrections as after extreme points
    ui_event(widget, "mousedown", (30, 30))
    ui_event(widget, "mouseup", (31, 30))  # a left "drag" of a pixel: a positive click, not a new box
    widget.wait()
    assert [c.kind.value for c in widget.clicks] == ["box", "box", "negative", "positive"]
    widget.undo(), widget.undo(), widget.undo()
    with pytest.raises(ValueError, match="box lacks a corner"):
        widget.click(20, 20)
    widget.reset()
    ui_event(widget, "mousedown", (70, 50))
    ui_event(widget, "mouseup", (500, 500))  # past the image's edge: clamped to it
    widget.wait()
    assert max(c.x for c in widget.clicks) < 80 and widget.mask[55, 75]
    widget.accept()
    assert widget.objects[0].clicks[0].kind.value == "box"
    widget.close()


def test_add_box_in_a_script_and_every_bound_key_is_in_the_help(images, segmenter):
    from clickseg_widget.widget.shortcuts import SHORTCUT_HELP, keymap

    widget = make_widget(images, segmenter, None)
    widget.add_box(50, 50, 10, 10)
    assert widget.mask[30, 30] and not widget.mask[5, 5]
    bound = widget._keymap()
    assert set(bound) == set(keymap()) and {"r", "b", "z", "Enter", "Escape"} <= set(bound)
    assert "r: box mode" in SHORTCUT_HELP and SHORTCUT_HELP in widget.toolbar.help.tooltip
    widget.close()


def test_observable_traits_and_callbacks_let_a_notebook_react(images, segmenter, tmp_path):
    widget = make_widget(images, segmenter, tmp_path / "labels")
    accepted, shown, summaries = [], [], []
    widget.on_accept(accepted.append)
    widget.on_image_change(lambda index, name: shown.append((index, name)))
    widget.observe(lambda change: summaries.append(change["new"]), "accepted")
    click_extremes(widget)
    obj = widget.accept()
    assert accepted == [obj] and (tmp_path / "labels" / "annotations.json").exists()
    (summary,) = widget.accepted
    assert summaries[-1] == widget.accepted and json.loads(json.dumps(widget.accepted)) == widget.accepted
    assert summary["image"] == "image-00001.png" and summary["class"] == "cat" and summary["clicks"] == 4
    assert summary["object_id"] == obj.object_id and summary["area"] == int(obj.mask.sum())
    widget.next_image()
    widget.image_index = 2  # settable: the widget follows
    assert widget.state.index == 2 and shown == [(1, "image-00002.png"), (2, "image-00003.png")]
    with pytest.raises(Exception, match="outside the queue of 3 images"):
        widget.image_index = 3
    widget.active_class = "dog"
    assert widget.toolbar.class_select.value == "dog" and widget.state.draft.class_name == "dog"
    widget.toolbar.class_select.value = "cat"
    assert widget.active_class == "cat"
    with pytest.raises(Exception, match="unknown class 'bird'"):
        widget.active_class = "bird"
    assert widget.active_class == "cat"
    widget.go_to(0)
    widget.delete(obj.object_id)
    assert widget.accepted == [] and shown[-1] == (0, "image-00001.png")
    widget.close()


def test_brush_and_eraser_strokes_edit_the_mask_undo_redo_and_feed_the_next_click(images, segmenter):
    widget = make_widget(images, segmenter, None)
    previous_seen = []
    segment = segmenter.segment
    segmenter.segment = lambda context, clicks, previous: previous_seen.append(previous) or segment(context, clicks, previous)
    with pytest.raises(ValueError, match="start the object"):
        widget.stroke([(5, 5)], 3)
    widget.add_box(10, 10, 30, 30)
    model_mask = widget.mask.copy()
    # In the UI: "d" picks the brush, "]" enlarges it, a drag paints outside the box.
    ui_event(widget, "keydown", key="d")
    assert widget.tool == "brush" and widget.toolbar.brush.value and not widget.toolbar.box.value
    ui_event(widget, "keydown", key="]")
    assert widget.brush_size == pytest.approx(12 * 1.25)
    ui_event(widget, "mousedown", (40, 20))
    ui_event(widget, "mouseup", (50, 20))
    painted = widget.mask.copy()
    assert painted[20, 45] and not model_mask[20, 45] and painted[model_mask].all()
    assert "brush (15 px" in status(widget)
    # The eraser cuts a hole; a script can stroke too, in image pixels.
    ui_event(widget, "keydown", key="x")
    assert widget.tool == "eraser" and not widget.toolbar.brush.value
    widget.stroke([(20, 20)], 3, erase=True)
    assert not widget.mask[20, 20] and widget.mask[20, 45]
    # Undo/redo cover strokes as they cover clicks.
    assert widget.undo().erase and widget.mask[20, 20]
    assert widget.undo().points and np.array_equal(widget.mask, model_mask)
    widget.redo()
    assert np.array_equal(widget.mask, painted)
    # A corrective click after the stroke gives the model the edited mask as previous; the stroke is kept.
    widget.set_tool("click")
    widget.click(15, 15, "negative")
    assert np.array_equal(previous_seen[-1], painted)
    widget.undo()
    assert np.array_equal(widget.mask, painted)  # back to the stroked mask, without the model
    obj = widget.accept()
    assert obj.mask[20, 45]
    widget.close()


def test_one_tool_at_a_time_and_an_unknown_tool_is_refused(images, segmenter):
    widget = make_widget(images, segmenter, None)
    widget.set_tool("eraser")
    widget.toolbar.box.value = True  # the toolbar's toggles behave as one choice
    assert widget.tool == "box" and not widget.toolbar.eraser.value
    widget.toolbar.box.value = False
    assert widget.tool == "click"
    with pytest.raises(ValueError, match="unknown tool 'lasso'"):
        widget.set_tool("lasso")
    widget.set_brush_size(1000)
    assert widget.brush_size == 200
    widget.close()
