"""The parts under the canvas: view mapping, overlay and background encoding, the prediction worker."""
from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from ipycanvas.utils import binary_image
from PIL import Image

from clickseg_widget.widget.canvas import DISPLAY_IMAGE_MAX_SIDE, display_jpeg
from clickseg_widget.widget.overlay import encode_overlay, hex_to_rgb
from clickseg_widget.widget.viewport import MAX_SCALE, Viewport
from clickseg_widget.widget.worker import LatestJobWorker


# -- viewport ------------------------------------------------------------------
def test_fit_centres_the_whole_image():
    view = Viewport(800, 600, 4000, 1000)
    assert view.scale == pytest.approx(0.2)
    assert view.to_canvas(0, 0) == pytest.approx((0, 200))
    assert view.to_canvas(4000, 1000) == pytest.approx((800, 400))


def test_canvas_and_image_coordinates_are_inverse_at_any_zoom():
    view = Viewport(800, 600, 8000, 6000)
    view.zoom(7.3, 123, 456)
    view.pan(-40, 25)
    x, y = view.to_image(*view.to_canvas(1234.5, 4321.25))
    assert (x, y) == pytest.approx((1234.5, 4321.25))


def test_wheel_zoom_keeps_the_point_under_the_pointer():
    view = Viewport(800, 600, 8000, 6000)
    before = view.to_image(300, 200)
    for _ in range(5):
        view.wheel(-100, 300, 200)
    assert view.scale > view.fit_scale * 3
    assert view.to_image(300, 200) == pytest.approx(before)
    view.wheel(100, 300, 200)
    assert view.scale == pytest.approx(view.fit_scale * 1.25**4)


def test_zoom_and_pan_are_bounded():
    view = Viewport(800, 600, 400, 300)
    view.zoom(1000, 10, 10)
    assert view.scale == MAX_SCALE
    view.pan(10**6, 10**6)
    assert view.to_canvas(0, 0) == pytest.approx((0, 0))  # the image edge stops at the canvas edge
    view.zoom(1e-6, 10, 10)
    assert view.scale == view.fit_scale


def test_render_scale_is_a_power_of_two_at_most_one():
    view = Viewport(800, 600, 8000, 6000)  # fit scale 0.1
    assert view.render_scale() == 0.125
    view.zoom(4, 0, 0)
    assert view.render_scale() == 0.5
    view.zoom(10, 0, 0)
    assert view.render_scale() == 1.0


# -- overlay -------------------------------------------------------------------
def test_overlay_is_the_mask_box_with_translucent_fill_and_opaque_outline():
    mask = np.zeros((300, 400), bool)
    mask[100:200, 50:250] = True
    overlay = encode_overlay(mask, "#1f77b4", 0.4, 1.0)
    assert (overlay.x, overlay.y, overlay.width, overlay.height) == (49, 99, 202, 102)
    rgba = overlay.rgba
    assert rgba.shape == (102, 202, 4)
    assert rgba[0, 0, 3] == 0  # outside the mask: transparent
    assert tuple(rgba[50, 100]) == (*hex_to_rgb("#1f77b4"), 102)  # inside: 40% fill
    assert rgba[1, 100, 3] == 255  # the mask's top row is outline


def test_overlay_at_display_resolution_is_a_small_fraction_of_a_full_rgba_frame():
    mask = np.zeros((3000, 4000), bool)
    yy, xx = np.ogrid[:3000, :4000]
    mask[(yy - 1500) ** 2 / 1200**2 + (xx - 2000) ** 2 / 1500**2 < 1] = True
    overlay = encode_overlay(mask, "#ff7f0e", 0.45, 0.25, outline="#ffffff")
    assert overlay.rgba.shape[0] <= 3000 * 0.25 + 4
    ys, xs = np.nonzero(mask)
    assert overlay.x <= xs.min() and overlay.x + overlay.width >= xs.max() + 1
    assert overlay.y <= ys.min() and overlay.y + overlay.height >= ys.max() + 1
    sent = len(binary_image(overlay.rgba))  # what ipycanvas puts on the wire
    assert sent < mask.size * 4 / 100


def test_overlay_of_an_empty_mask_is_nothing_and_opacity_is_checked():
    assert encode_overlay(np.zeros((5, 5), bool), "#000000", 0.5, 1.0) is None
    with pytest.raises(ValueError, match="opacity"):
        encode_overlay(np.ones((5, 5), bool), "#000000", 1.5, 1.0)
    with pytest.raises(ValueError, match="#rrggbb"):
        encode_overlay(np.ones((5, 5), bool), "blue", 0.5, 1.0)


# -- worker --------------------------------------------------------------------
def test_jobs_arriving_while_one_runs_are_coalesced_to_the_latest():
    errors: list[BaseException] = []
    worker = LatestJobWorker(on_error=errors.append)
    started, release = threading.Event(), threading.Event()
    ran: list[int] = []

    def job(number: int):
        def run() -> None:
            if number == 0:
                started.set()
                release.wait(10)
            ran.append(number)
        return run

    worker.submit(job(0))
    assert started.wait(10)
    for number in (1, 2, 3):
        worker.submit(job(number))
    assert worker.busy
    release.set()
    assert worker.wait_idle(10)
    assert ran == [0, 3] and worker.dropped == 2 and errors == []
    worker.close()


def test_a_failing_job_is_reported_and_the_worker_keeps_going():
    errors: list[BaseException] = []
    worker = LatestJobWorker(on_error=errors.append)
    ran: list[str] = []

    def fail() -> None:
        raise ConnectionError("endpoint down")

    worker.submit(fail)
    assert worker.wait_idle(10)
    worker.submit(lambda: ran.append("ok"))
    assert worker.wait_idle(10)
    assert [str(e) for e in errors] == ["endpoint down"] and ran == ["ok"]
    worker.close()
    with pytest.raises(RuntimeError, match="closed"):
        worker.submit(lambda: None)


def test_large_images_are_sent_downscaled_once_but_clicks_stay_full_resolution():
    image = np.zeros((3000, 5000, 3), np.uint8)
    with Image.open(io.BytesIO(display_jpeg(image))) as sent:
        assert max(sent.size) == DISPLAY_IMAGE_MAX_SIDE and sent.format == "JPEG"
    view = Viewport(800, 560, 5000, 3000)
    view.zoom(40, 400, 280)
    assert view.to_image(*view.to_canvas(4321.5, 1234.25)) == pytest.approx((4321.5, 1234.25))
