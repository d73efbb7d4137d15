"""The labeling widget in a real JupyterLab and a real Notebook 7, driven by real mouse and keyboard input in Chromium.

One JupyterLab test on purpose: starting JupyterLab and Chromium is most of the cost, and
the steps build on each other (clicks -> overlay -> correction -> undo -> accept).
Notebook 7 (issue 4) reuses JupyterLab's components, so its test covers the first steps only.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from browser_harness import (
    NOTEBOOK7,
    Lab,
    canvas_pixels,
    chromium_page,
    jupyter_lab,
    kernel_eval,
    page_point,
    run_first_cell,
    write_notebook,
)
from jupyter_client import BlockingKernelClient
from playwright.sync_api import Locator, Page, expect

from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask, load_samples
from clickseg_widget.simulation.metrics import iou
from clickseg_widget.protocol.masks import rle_to_mask
from clickseg_widget.export.coco import coco_annotation
from clickseg_widget.export.png import load_mask_png
from clickseg_widget.widget.viewport import Viewport

pytestmark = pytest.mark.browser

SAMPLE = "106024"  # a penguin: one compact object
CANVAS_SIZE = (640, 480)
# GrabCut reaches 0.90 on this object after the extreme points; any useful backend clears 0.8.
MIN_IOU = 0.80
HOSTILE_CLASS = "<b>bird</b>"  # class names are user text and must reach the page escaped
STATE_CODE = """
import json
from clickseg_widget.protocol.masks import mask_to_rle
w.wait()
mask = w.mask
print(json.dumps({
    "clicks": [c.to_dict() for c in w.clicks],
    "mask": mask_to_rle(mask) if mask is not None else None,
    "objects": len(w.objects),
    "boundary": w.state.boundary_mode,
    "status": w.toolbar.status.value,
}))
"""
OVERLAY_TIMEOUT_S = 30


def wait_for_state(client, predicate, timeout: float = OVERLAY_TIMEOUT_S) -> dict:
    """Poll the kernel until the widget's state satisfies ``predicate`` (browser input is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        state = kernel_eval(client, STATE_CODE)
        if predicate(state):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"widget state never became as expected; last: {state}")
        time.sleep(0.2)


def mask_of(state: dict) -> np.ndarray:
    return rle_to_mask(state["mask"])


@dataclass
class WidgetOnPage:
    """The widget as the test sees it: its canvas in the page and a client on its kernel."""

    page: Page
    canvas: Locator
    client: BlockingKernelClient
    viewport: Viewport

    def click_image(self, x: float, y: float, button: str = "left") -> None:
        self.page.mouse.click(*page_point(self.canvas, *self.viewport.to_canvas(x + 0.5, y + 0.5)), button=button)


def open_widget(page, lab: Lab, image_path: Path, image_shape: tuple[int, int]) -> WidgetOnPage:
    """Create ClickSegWidget (GrabCut, so no model is needed) in a notebook cell run in the browser."""
    write_notebook(
        lab.root / "label.ipynb",
        "from clickseg_widget.widget import ClickSegWidget\n"
        f"w = ClickSegWidget([{str(image_path)!r}], segmenter='grabcut', classes=['penguin', {HOSTILE_CLASS!r}],\n"
        f"                   autosave='labels', canvas_size={CANVAS_SIZE!r})\n"
        "w",
    )
    canvas = run_first_cell(page, lab, "label.ipynb")
    height, width = image_shape
    return WidgetOnPage(page, canvas, lab.kernel_client(), Viewport(*CANVAS_SIZE, width, height))


def label_with_extreme_points(widget: WidgetOnPage, clicker: Clicker, truth: np.ndarray, ignore: np.ndarray) -> np.ndarray:
    """Click the four extreme points; check the kernel's mask and the overlay drawn on the canvas; return the mask."""
    wait_for_state(widget.client, lambda s: s["clicks"] == [])
    before = canvas_pixels(widget.canvas)
    extremes = clicker.extreme_clicks()
    for click in extremes:
        widget.click_image(click.x, click.y)
    state = wait_for_state(widget.client, lambda s: s["mask"] is not None)
    assert [c["kind"] for c in state["clicks"]] == ["extreme"] * 4
    for sent, received in zip(extremes, state["clicks"]):
        assert abs(received["x"] - sent.x - 0.5) <= 1 and abs(received["y"] - sent.y - 0.5) <= 1
    mask = mask_of(state)
    assert iou(mask, truth, ignore) >= MIN_IOU

    # The overlay is drawn: object pixels away from the markers changed colour on the canvas.
    interior = cv2.erode(mask.astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool)
    ys, xs = np.nonzero(interior)
    cx, cy = widget.viewport.to_canvas(xs + 0.5, ys + 0.5)
    points = (cy.astype(int), cx.astype(int))
    deadline = time.monotonic() + OVERLAY_TIMEOUT_S
    while True:
        after = canvas_pixels(widget.canvas)
        changed = np.abs(after[points][:, :3].astype(int) - before[points][:, :3].astype(int)).sum(axis=1) > 30
        if changed.mean() > 0.9 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert changed.mean() > 0.9, f"only {changed.mean():.0%} of the object's pixels show the overlay"
    status = widget.page.locator(".clickseg-status").inner_text()
    assert "grabcut" in status and " ms " in status
    return mask


def test_label_an_object_in_jupyterlab(lab, page, grabcut_dir: Path, tmp_path: Path) -> None:
    sample = next(s for s in load_samples(grabcut_dir) if s.name == SAMPLE)
    truth, ignore = load_mask(sample.mask_path)
    widget = open_widget(page, lab, sample.image_path, truth.shape)
    canvas, client, click_image = widget.canvas, widget.client, widget.click_image

    for button in ("Accept", "Boundary", "Export", "Re-open", "Delete"):
        assert page.locator(".clickseg-widget").get_by_role("button", name=button).is_visible()

    # Class names are escaped: the legend shows the angle brackets as text, not a <b> element.
    legend = page.locator(".clickseg-legend")
    assert HOSTILE_CLASS in legend.inner_text()
    assert legend.locator("b").count() == 0

    # The four extreme points: numbered markers, then the mask overlay on the canvas.
    clicker = Clicker(truth, ignore)
    mask = label_with_extreme_points(widget, clicker, truth, ignore)

    # A corrective click from the simulated user refines the mask.
    correction = clicker.next_click(mask)
    click_image(correction.x, correction.y, "left" if correction.kind.value == "positive" else "right")
    state = wait_for_state(client, lambda s: len(s["clicks"]) == 5 and s["mask"] is not None)
    assert state["clicks"][-1]["kind"] == correction.kind.value
    corrected = mask_of(state)
    assert iou(corrected, truth, ignore) >= MIN_IOU

    # Right click inside the object removes that part.
    depth = cv2.distanceTransform(corrected.astype(np.uint8), cv2.DIST_L2, 5)
    ny, nx = np.unravel_index(int(np.argmax(depth)), depth.shape)
    click_image(nx, ny, "right")
    state = wait_for_state(client, lambda s: len(s["clicks"]) == 6 and s["mask"] is not None)
    assert state["clicks"][-1]["kind"] == "negative"
    removed = mask_of(state)
    assert not removed[ny, nx] and removed.sum() < corrected.sum()

    # "z" with the pointer over the canvas undoes it: the earlier mask is back, exactly.
    page.mouse.move(*page_point(canvas, 10, 10))
    page.keyboard.press("z")
    state = wait_for_state(client, lambda s: len(s["clicks"]) == 5)
    assert np.array_equal(mask_of(state), corrected)

    # Keys go to the widget, not to JupyterLab ("b" would insert a cell in command mode).
    cells = page.locator(".jp-Notebook .jp-Cell").count()
    page.keyboard.press("b")
    wait_for_state(client, lambda s: s["boundary"])
    page.keyboard.press("b")
    wait_for_state(client, lambda s: not s["boundary"])
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells, "a key reached JupyterLab's notebook shortcuts"

    screenshot = tmp_path / "widget.png"
    page.locator(".clickseg-widget").screenshot(path=str(screenshot))
    if os.environ.get("CLICKSEG_WIDGET_SCREENSHOT"):  # how docs/widget.png is refreshed
        shutil.copyfile(screenshot, os.environ["CLICKSEG_WIDGET_SCREENSHOT"])

    # Enter accepts: the object is on disk at once (COCO JSON + PNG mask).
    page.keyboard.press("Enter")
    state = wait_for_state(client, lambda s: s["objects"] == 1)
    coco = json.loads((lab.root / "labels" / "annotations.json").read_text())
    assert [a["id"] for a in coco["annotations"]] == [1]
    assert np.array_equal(rle_to_mask(coco["annotations"][0]["segmentation"]), corrected)
    saved_png = lab.root / "labels" / coco["annotations"][0]["clickseg"]["mask_png"]
    assert np.array_equal(load_mask_png(saved_png), corrected)
    assert state["clicks"] == [] and state["mask"] is None


@pytest.fixture
def notebook7(tmp_path: Path):
    root = tmp_path / "root"
    root.mkdir()
    with jupyter_lab(root, NOTEBOOK7) as server:
        yield server


def test_label_an_object_in_notebook7(notebook7: Lab, grabcut_dir: Path) -> None:
    """Issue 4: the widget also works in Notebook 7's single-document page, not only in JupyterLab."""
    sample = next(s for s in load_samples(grabcut_dir) if s.name == SAMPLE)
    truth, ignore = load_mask(sample.mask_path)
    with chromium_page() as page:
        widget = open_widget(page, notebook7, sample.image_path, truth.shape)
        # Really Notebook 7's page (its own shell around JupyterLab's notebook), not JupyterLab.
        assert "/notebooks/label.ipynb" in page.url
        assert page.locator("#main-panel .jp-NotebookPanel").count() == 1
        assert page.locator(".jp-LabShell").count() == 0
        label_with_extreme_points(widget, Clicker(truth, ignore), truth, ignore)


def drag(widget: WidgetOnPage, start: tuple[float, float], end: tuple[float, float]) -> None:
    """A real left-button drag between two image points."""
    page = widget.page
    page.mouse.move(*page_point(widget.canvas, *widget.viewport.to_canvas(*start)))
    page.mouse.down()
    page.mouse.move(*page_point(widget.canvas, *widget.viewport.to_canvas(*end)), steps=8)
    page.mouse.up()


def test_box_drag_then_import_reopen_fix_and_export(lab, page, grabcut_dir: Path, tmp_path: Path) -> None:
    """Issue 15's tools in the browser: a box start with a correction, and a COCO import fixed by re-opening it."""
    sample = next(s for s in load_samples(grabcut_dir) if s.name == SAMPLE)
    truth, ignore = load_mask(sample.mask_path)
    widget = open_widget(page, lab, sample.image_path, truth.shape)
    client = widget.client
    wait_for_state(client, lambda s: s["clicks"] == [])

    # "r" (pointer over the canvas) turns box mode on; the toolbar's Box toggle shows it.
    page.mouse.move(*page_point(widget.canvas, 10, 10))
    page.keyboard.press("r")
    assert wait_for_state(client, lambda s: "drag a box" in s["status"])
    box_button = page.locator(".clickseg-widget").get_by_role("button", name="Box")
    expect(box_button).to_have_class(re.compile(r"\bmod-active\b"), timeout=10_000)  # the view syncs after the kernel
    rows, columns = np.nonzero(truth.any(axis=1))[0], np.nonzero(truth.any(axis=0))[0]
    drag(widget, (columns[0] - 2, rows[0] - 2), (columns[-1] + 3, rows[-1] + 3))
    state = wait_for_state(client, lambda s: s["mask"] is not None)
    assert [c["kind"] for c in state["clicks"]] == ["box", "box"]
    boxed = mask_of(state)
    assert iou(boxed, truth, ignore) >= MIN_IOU
    # A click (no drag) in box mode is a correction after the box.
    correction = Clicker(truth, ignore).next_click(boxed)
    widget.click_image(correction.x, correction.y, "left" if correction.kind.value == "positive" else "right")
    state = wait_for_state(client, lambda s: len(s["clicks"]) == 3 and s["mask"] is not None)
    assert state["clicks"][-1]["kind"] == correction.kind.value

    # Brush ("d"): a stroke from the mask's edge outward paints onto it.
    corrected = mask_of(state)
    page.mouse.move(*page_point(widget.canvas, 10, 10))
    page.keyboard.press("d")
    wait_for_state(client, lambda s: "brush (" in s["status"])
    row = int(np.median(np.nonzero(corrected)[0]))
    edge = int(np.nonzero(corrected[row])[0].max())
    drag(widget, (edge - 2, row), (edge + 30, row))
    state = wait_for_state(client, lambda s: mask_of(s)[row, edge + 20])
    stroked = mask_of(state)
    assert len(state["clicks"]) == 3 and stroked[corrected].all()
    # ... then a corrective click (brush off again): the model gets the stroked mask, and undo brings it back.
    page.keyboard.press("d")
    background = ~cv2.dilate(stroked.astype(np.uint8), np.ones((41, 41), np.uint8)).astype(bool)
    far = next(p for p in np.argwhere(background) if p.min() >= 10)  # well inside the image, away from the object
    widget.click_image(far[1], far[0], "right")
    state = wait_for_state(client, lambda s: len(s["clicks"]) == 4 and s["mask"] is not None)
    page.mouse.move(*page_point(widget.canvas, 10, 10))
    page.keyboard.press("z")
    state = wait_for_state(client, lambda s: len(s["clicks"]) == 3)
    assert np.array_equal(mask_of(state), stroked)
    page.keyboard.press("Enter")
    wait_for_state(client, lambda s: s["objects"] == 1)

    # Import a COCO file holding the object with a bite taken out, re-open it (ctrl+click, "e") and fix it.
    bitten = truth.copy()
    depth = cv2.distanceTransform(truth.astype(np.uint8), cv2.DIST_L2, 5)
    by, bx = np.unravel_index(int(np.argmax(depth)), depth.shape)
    bitten[max(0, by - 15): by + 15, max(0, bx - 15): bx + 15] = False
    coco = tmp_path / "review.json"
    height, width = truth.shape
    coco.write_text(json.dumps({
        "images": [{"id": 1, "file_name": sample.image_path.name, "width": width, "height": height}],
        "categories": [{"id": 1, "name": "penguin"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, **mask_fields(bitten)}],
    }))
    kernel_eval(client, f"import json; print(json.dumps(w.import_labels({str(coco)!r})))")
    wait_for_state(client, lambda s: s["objects"] == 2)
    inner_y, inner_x = np.nonzero(cv2.erode(bitten.astype(np.uint8), np.ones((9, 9), np.uint8)))
    page.keyboard.down("Control")
    widget.click_image(inner_x[0], inner_y[0])  # the imported object is on top: ctrl+click selects it
    page.keyboard.up("Control")
    page.mouse.move(*page_point(widget.canvas, 10, 10))
    page.keyboard.press("e")
    state = wait_for_state(client, lambda s: [c["kind"] for c in s["clicks"]] == ["box", "box"])
    assert np.array_equal(mask_of(state), bitten)
    widget.click_image(bx, by)  # positive: the bite goes back into the object
    state = wait_for_state(client, lambda s: len(s["clicks"]) == 3 and s["mask"] is not None)
    fixed = mask_of(state)
    bite = truth & ~bitten
    assert fixed[bite].mean() > 0.8 and iou(fixed, truth, ignore) >= MIN_IOU  # the bite is back in the object

    screenshot = tmp_path / "widget-tools.png"
    page.locator(".clickseg-widget").screenshot(path=str(screenshot))
    if os.environ.get("CLICKSEG_WIDGET_SCREENSHOT"):  # docs/widget.png: box start, imported object being fixed
        shutil.copyfile(screenshot, os.environ["CLICKSEG_WIDGET_SCREENSHOT"])
    page.keyboard.press("Enter")
    wait_for_state(client, lambda s: s["objects"] == 2 and s["clicks"] == [])

    # Export writes every format.
    page.locator(".clickseg-widget").get_by_role("button", name="Export").click()
    labels = lab.root / "labels"
    deadline = time.monotonic() + OVERLAY_TIMEOUT_S
    while not (labels / "yolo" / "data.yaml").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    exported = json.loads((labels / "annotations.json").read_text())
    assert len(exported["annotations"]) == 2
    assert all(isinstance(a["segmentation"], list) for a in json.loads((labels / "annotations-polygons.json").read_text())["annotations"])
    yolo = (labels / "yolo" / "labels" / f"{sample.image_path.stem}.txt").read_text().splitlines()
    assert len(yolo) >= 2 and (labels / "output.manifest").exists()


def mask_fields(mask: np.ndarray) -> dict:
    annotation = coco_annotation(mask, 1, 1, 1)
    return {k: annotation[k] for k in ("segmentation", "area", "bbox")}
