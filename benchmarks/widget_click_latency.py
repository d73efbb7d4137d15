"""Click-to-overlay latency of the notebook widget in a real browser, for benchmarks/RESULTS.md.

    python benchmarks/widget_click_latency.py ../shared/data/grabcut --objects 10 --corrective 3

Starts JupyterLab and headless Chromium (the browser test's harness), labels
objects with real mouse clicks and measures, per click:

* click -> marker and click -> overlay: from the browser's ``mousedown`` to
  the first animation frame where the canvas shows the marker / the new
  mask (pixels change away from the click point);
* the model's own time (the widget's ``last_model_ms``), to separate it from
  the widget's overhead;
* bytes per overlay update: the PNG ipycanvas sends for the draft layer,
  against a full-resolution RGBA frame;
* kernel responsiveness: round trip of an execute request from a second
  client while the model is running, against the same when idle.

The segmenter is whatever ``get_segmenter("default")`` gives (printed).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests" / "browser"))

import numpy as np  # noqa: E402
from browser_harness import (  # noqa: E402
    canvas_pixels, chromium_page, jupyter_lab, kernel_eval, page_point, run_first_cell, write_notebook,
)

from clickseg_widget.simulation.clicker import Clicker  # noqa: E402
from clickseg_widget.simulation.datasets import load_mask, load_samples  # noqa: E402
from clickseg_widget.simulation.metrics import percentiles  # noqa: E402
from clickseg_widget.protocol.masks import rle_to_mask  # noqa: E402
from clickseg_widget.models.registry import get_segmenter  # noqa: E402
from clickseg_widget.widget.viewport import Viewport  # noqa: E402

RESULTS_DIR = Path(__file__).parent / "results"
CANVAS_SIZE = (800, 560)
MARKER_ZONE_PX = 14  # the marker is drawn within this radius of the click
CHANGED_PIXELS = 10  # changed sampled pixels (1 in 9) outside the marker zone: "the overlay updated"
VISIBLE_TIMEOUT_MS = 8000
BOX_CHANGED_PIXELS = 150  # a box start: more than the box outline's own sampled pixels

# Installed once per click: remembers the canvas, then polls it from mousedown on.
WATCH_JS = """([cx, cy, zone, enough, timeout, wantOverlay, startEvent]) => {
  const el = document.querySelector('.clickseg-widget canvas');
  const ctx = el.getContext('2d', {willReadFrequently: true});
  const before = ctx.getImageData(0, 0, el.width, el.height).data;
  window.__clickseg = new Promise(resolve => {
    const missed = setTimeout(() => resolve({marker: null, overlay: null, noMousedown: true}), timeout);
    // The widget's input surface lies over the canvas: take the mousedown on its way down to it.
    el.closest('.clickseg-widget').addEventListener(startEvent, () => {
      clearTimeout(missed);
      const t0 = performance.now();
      let marker = null;
      const poll = () => {
        // Every pixel near the click, every 3rd row and column elsewhere: the poll must stay
        // cheap, it runs on the page's main thread that also draws what it waits for.
        const now = ctx.getImageData(0, 0, el.width, el.height).data;
        let inside = 0, outside = 0;
        for (let y = 0; y < el.height; y++) {
          const near = Math.abs(y - cy) <= zone;
          for (let x = 0; x < el.width; x += (near && Math.abs(x - cx) <= zone + 3) ? 1 : 3) {
            if (!near && y % 3) break;
            const i = 4 * (y * el.width + x);
            if (Math.abs(now[i] - before[i]) + Math.abs(now[i+1] - before[i+1]) + Math.abs(now[i+2] - before[i+2]) > 24) {
              if ((x - cx) ** 2 + (y - cy) ** 2 <= zone * zone) inside++; else outside++;
            }
          }
        }
        const t = performance.now() - t0;
        if (marker === null && inside > 0) marker = t;
        if (marker !== null && !wantOverlay) return resolve({marker, overlay: null});
        if (outside >= enough) return resolve({marker, overlay: t});
        if (t > timeout) return resolve({marker, overlay: null});
        requestAnimationFrame(poll);
      };
      requestAnimationFrame(poll);
    }, {capture: true, once: true});
  });
}"""
STATE_CODE = """
import json, time
from ipycanvas.utils import binary_image
from clickseg_widget.protocol.masks import mask_to_rle
w.wait()
draft = w.view.draft_overlay
print(json.dumps({
    "mask": mask_to_rle(w.mask) if w.mask is not None else None,
    "model_ms": w.last_model_ms,
    "overlay_bytes": len(binary_image(draft.rgba)) if draft is not None else None,
    "clicks": len(w.clicks),
    "error": w.last_error,
}))
"""


def wait_until_still(canvas, quiet_s: float = 0.5, timeout_s: float = 30) -> None:
    """Until the canvas stops changing (the next image is drawn), so each click's baseline is settled."""
    deadline = time.monotonic() + timeout_s
    previous = canvas_pixels(canvas)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        current = canvas_pixels(canvas)
        if (current == previous).all():
            return
        previous = current
    raise TimeoutError(f"the canvas kept changing for {timeout_s} s")


def drag_box(page, canvas, client, viewport, truth) -> tuple[dict, dict]:
    """Drag the object's box in box mode; timed from the mouseup to the overlay on screen."""
    rows, columns = truth.any(axis=1).nonzero()[0], truth.any(axis=0).nonzero()[0]
    x0, y0 = viewport.to_canvas(columns[0] + 0.5, rows[0] + 0.5)
    x1, y1 = viewport.to_canvas(columns[-1] + 0.5, rows[-1] + 0.5)
    page.mouse.move(*page_point(canvas, x0, y0))
    page.mouse.down()
    page.mouse.move(*page_point(canvas, x1, y1), steps=5)
    time.sleep(0.2)  # the rubber band is drawn: the baseline includes it
    # The box's own outline replaces the dashed band at mouseup: only a filled mask changes this many pixels.
    enough = max(BOX_CHANGED_PIXELS, int(truth.sum() * viewport.scale**2 / 9 / 4))
    page.evaluate(WATCH_JS, [x1, y1, MARKER_ZONE_PX, enough, VISIBLE_TIMEOUT_MS, True, "mouseup"])
    page.mouse.up()
    seen = page.evaluate("window.__clickseg")
    if seen.get("noMousedown"):
        raise RuntimeError("the box drag never reached the canvas")
    state = kernel_eval(client, STATE_CODE)
    if state["error"] or state["clicks"] != 2:
        raise RuntimeError(f"the box start failed: {state['error'] or state['clicks']}")
    print(f"box start: {seen}", file=sys.stderr, flush=True)
    return seen, state


def brush_stroke(page, canvas, client, viewport, mask) -> float | None:
    """Paint outward from the mask's right edge with the brush; ms from mouseup to the edited overlay (None: no change)."""
    kernel_eval(client, "w.set_tool('brush'); print('{}')")
    rows, columns = np.nonzero(mask)
    row = int(np.median(rows))
    edge = int(columns[rows == row].max())
    x0, y0 = viewport.to_canvas(edge - 3 + 0.5, row + 0.5)
    page.mouse.move(*page_point(canvas, x0, y0))
    page.mouse.down()
    page.mouse.move(*page_point(canvas, x0 + 40, y0), steps=5)
    time.sleep(0.2)  # the stroke's preview is drawn: the baseline includes it
    page.evaluate(WATCH_JS, [-1000, -1000, MARKER_ZONE_PX, CHANGED_PIXELS, VISIBLE_TIMEOUT_MS, True, "mouseup"])
    page.mouse.up()
    seen = page.evaluate("window.__clickseg")
    kernel_eval(client, "w.set_tool('box'); print('{}')")
    print(f"brush stroke: {seen}", file=sys.stderr, flush=True)
    return seen.get("overlay")


def timed_roundtrip(client) -> tuple[float, bool]:
    """Execute-request round trip (ms) and whether the model was running when the kernel ran it."""
    start = time.perf_counter()
    state = kernel_eval(client, "import json; print(json.dumps({'busy': w._scheduler.busy}))")
    return (time.perf_counter() - start) * 1000.0, state["busy"]


def summarize(values: list[float]) -> dict[str, float]:
    stats = percentiles(values, (50, 90)) if values else {}
    return {"n": len(values), **{k: round(v, 1) for k, v in stats.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--objects", type=int, default=10)
    parser.add_argument("--corrective", type=int, default=3)
    parser.add_argument("--names", nargs="*", help="only these objects (mask file stems)")
    parser.add_argument("--screenshot", type=Path, default=None, help="save the widget after the first object here")
    parser.add_argument("--start", choices=("extreme", "box"), default="extreme",
                        help="start each object with 4 extreme clicks or by dragging its box (box mode)")
    parser.add_argument("--strokes", type=int, default=0,
                        help="brush strokes per object after its first mask (timed from mouseup to the edited overlay)")
    args = parser.parse_args()
    load_at_start = round(os.getloadavg()[0], 1)  # the machine is shared: say how busy it was
    backend = get_segmenter("default").describe().get("backend")
    samples = [s for s in load_samples(args.data_dir) if not args.names or s.name in args.names][: args.objects]
    first, corrective, markers, overlay_bytes, full_bytes, overhead = [], [], [], [], [], []
    model_first, model_corrective = [], []
    busy_rt, idle_rt, missed = [], [], 0
    strokes: list[float] = []
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp) / "root"
        root.mkdir()
        paths = [str(s.image_path.resolve()) for s in samples]
        write_notebook(
            root / "bench.ipynb",
            "from clickseg_widget.widget import ClickSegWidget\n"
            f"w = ClickSegWidget({paths!r}, segmenter='default', classes=['object'], autosave=None,\n"
            f"                   canvas_size={CANVAS_SIZE!r})\nw",
        )
        with jupyter_lab(root) as lab, chromium_page() as page:
            canvas = run_first_cell(page, lab, "bench.ipynb")
            client = lab.kernel_client()
            wait_until_still(canvas)
            if args.start == "box":
                kernel_eval(client, "w.set_box_mode(True); print('{}')")
            for _ in range(5):
                idle_rt.append(timed_roundtrip(client)[0])
            for index, sample in enumerate(samples):
                truth, ignore = load_mask(sample.mask_path)
                viewport = Viewport(*CANVAS_SIZE, truth.shape[1], truth.shape[0])
                clicker = Clicker(truth, ignore)
                clicks = clicker.extreme_clicks()
                mask = None
                if args.start == "box":
                    seen, state = drag_box(page, canvas, client, viewport, truth)
                    mask = rle_to_mask(state["mask"])
                    model_first.append(state["model_ms"])
                    overlay_bytes.append(state["overlay_bytes"])
                    full_bytes.append(mask.size * 4)
                    if seen["overlay"] is None:
                        missed += 1
                    else:
                        first.append(seen["overlay"])
                        overhead.append(seen["overlay"] - state["model_ms"])
                for _ in range(args.strokes):
                    brushed = brush_stroke(page, canvas, client, viewport, mask)
                    if brushed is None:
                        missed += 1
                    else:
                        strokes.append(brushed)
                for number in range(4 if args.start == "box" else 0, 4 + args.corrective):
                    if number >= 4:
                        click = clicker.next_click(mask)
                        if click is None:
                            break
                    else:
                        click = clicks[number]
                    cx, cy = viewport.to_canvas(click.x + 0.5, click.y + 0.5)
                    page.evaluate(WATCH_JS, [cx, cy, MARKER_ZONE_PX, CHANGED_PIXELS, VISIBLE_TIMEOUT_MS, number >= 3, "mousedown"])
                    button = "right" if click.kind.value == "negative" else "left"
                    page.mouse.click(*page_point(canvas, cx, cy), button=button)
                    if number >= 3:
                        rt, busy = timed_roundtrip(client)
                        (busy_rt if busy else idle_rt).append(rt)
                    seen = page.evaluate("window.__clickseg")
                    if seen.get("noMousedown"):
                        page.screenshot(path=str(RESULTS_DIR / "widget_click_latency_failure.png"))
                        raise RuntimeError(f"click {number} on {sample.name} at canvas ({cx:.1f}, {cy:.1f}) never reached the canvas")
                    print(f"{sample.name} click {number} ({click.kind.value}): {seen}", file=sys.stderr, flush=True)
                    markers.append(seen["marker"])
                    state = kernel_eval(client, STATE_CODE)
                    if state["error"]:
                        raise RuntimeError(f"the model failed during the benchmark: {state['error']}")
                    if number >= 3:
                        mask = rle_to_mask(state["mask"])
                        (model_first if number == 3 else model_corrective).append(state["model_ms"])
                        overlay_bytes.append(state["overlay_bytes"])
                        full_bytes.append(mask.size * 4)
                        if seen["overlay"] is None:
                            missed += 1  # the mask did not change visibly: nothing to time
                        else:
                            (first if number == 3 else corrective).append(seen["overlay"])
                            overhead.append(seen["overlay"] - state["model_ms"])
                if index == 0 and args.screenshot:
                    page.locator(".clickseg-widget").screenshot(path=str(args.screenshot))
                kernel_eval(client, "w.reset(); w.next_image(); w.wait(); print('{}')")
                wait_until_still(canvas)
    result = {
        "backend": backend,
        "start": args.start,
        "objects": len(samples),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average_at_start": load_at_start,
        "load_average_at_end": round(os.getloadavg()[0], 1),
        "click_to_overlay_first_ms": summarize(first),
        "click_to_overlay_corrective_ms": summarize(corrective),
        "click_to_overlay_all_ms": summarize(first + corrective),
        "click_to_marker_ms": summarize([m for m in markers if m is not None]),
        "stroke_to_overlay_ms": summarize(strokes),
        "widget_overhead_ms": summarize(overhead),  # click-to-overlay minus the model's own time
        "model_first_ms": summarize(model_first),
        "model_corrective_ms": summarize(model_corrective),
        "overlay_bytes": summarize(overlay_bytes),
        "full_rgba_bytes": summarize(full_bytes),
        "kernel_roundtrip_busy_ms": summarize(busy_rt),
        "kernel_roundtrip_idle_ms": summarize(idle_rt),
        "clicks_without_visible_change": missed,
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    suffix = "" if args.start == "extreme" else f"_{args.start}"
    (RESULTS_DIR / f"widget_click_latency_{backend}{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
