"""`clickseg demo`'s notebook as a new user meets it: Run All in JupyterLab, then label in the last widget."""
from __future__ import annotations

import json
import time

import pytest
from browser_harness import Lab, kernel_eval, page_point
from playwright.sync_api import Page

from clickseg_widget.demo import prepare_workdir
from clickseg_widget.widget.viewport import Viewport

pytestmark = pytest.mark.browser

RUN_ALL_TIMEOUT_S = 180
# the espresso cup of the first sample image (600 x 400), as the tutorial outlines it
CUP_EXTREMES = [(290, 18), (172, 250), (268, 292), (407, 110)]
MINE_STATE = """
import json
mine.wait()
print(json.dumps({"clicks": len(mine.clicks), "pixels": 0 if mine.mask is None else int(mine.mask.sum()),
                  "first_widget_open": widget.comm is not None, "mine_open": mine.comm is not None}))
"""


def run_all(page: Page, lab: Lab, name: str) -> None:
    """Open the notebook and choose Run > Run All Cells, once its kernel is up."""
    page.goto(lab.notebook_url(name))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
    lab.wait_for_idle_kernel(90)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def test_run_all_ends_with_a_live_widget_that_labels(page: Page, lab: Lab):
    notebook = prepare_workdir(lab.root)
    run_all(page, lab, notebook.name)
    canvases = page.locator(".clickseg-widget canvas")
    deadline = time.monotonic() + RUN_ALL_TIMEOUT_S
    while canvases.count() < 2:  # the tutorial's widget and, last, the one for the reader's images
        if time.monotonic() > deadline:
            raise AssertionError(f"Run All did not end with two widgets within {RUN_ALL_TIMEOUT_S} s")
        time.sleep(0.5)
    canvas = canvases.last
    canvas.scroll_into_view_if_needed()
    client = lab.kernel_client()
    try:
        deadline = time.monotonic() + RUN_ALL_TIMEOUT_S
        while kernel_eval(client, "import json; print(json.dumps('mine' in globals()))") is not True:  # the last cell has run
            if time.monotonic() > deadline:
                raise AssertionError("the notebook's last cell never ran")
            time.sleep(0.5)
        width, height = canvas.evaluate("el => [el.width, el.height]")
        viewport = Viewport(width, height, 600, 400)
        for x, y in CUP_EXTREMES:
            page.mouse.click(*page_point(canvas, *viewport.to_canvas(x + 0.5, y + 0.5)))
        deadline = time.monotonic() + 60
        while (state := kernel_eval(client, MINE_STATE))["clicks"] < 4 or not state["pixels"]:
            if time.monotonic() > deadline:
                raise AssertionError(f"the last widget did not answer four clicks with a mask: {state}")
            time.sleep(0.3)
    finally:
        client.stop_channels()
    assert state == {"clicks": 4, "pixels": state["pixels"], "first_widget_open": True, "mine_open": True}
    assert 20_000 < state["pixels"] < 120_000  # the cup, not nothing and not the whole image
    assert json.loads(notebook.read_text())["cells"][-2]["source"][-1] == "mine"  # the widget is the last output
