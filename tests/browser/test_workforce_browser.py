"""The worker page in headless Chromium, as a Ground Truth worker would use it.

The template is rendered by Liquid with a local ``grant_read_access``; the
page's origin serves it and the image, and a second origin serves the Lambda
proxy (so the browser's CORS checks run for real) in front of ``clickseg
serve``.  crowd-html-elements.js cannot load offline: a small stand-in
<crowd-form> captures what would be submitted.
"""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser_harness import CHROMIUM, chromium_page
from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask, load_samples
from clickseg_widget.simulation.metrics import iou
from clickseg_widget.protocol.masks import rle_to_mask
from clickseg_widget.export.groundtruth import read_label_map
from clickseg_widget.workforce.lambdas import consolidation, proxy
from clickseg_widget.workforce.template import CROWD_ELEMENTS_URL, build_template
from workforce_local import FAKE_AWS_ENV, ApiGateway, endpoint_server, liquid_environment

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ENDPOINT = "clickseg-browser-test"
LABELS = ["Animal", "Other <thing>"]
# What <crowd-form> does for this test: a submit button that fires a cancelable
# "submit" event on the form and, unless cancelled, collects the named fields.
CROWD_FORM_STAND_IN = """
window.crowdSubmissions = [];
customElements.define("crowd-form", class extends HTMLElement {
  connectedCallback() {
    if (this.submitButton) return;
    this.submitButton = Object.assign(document.createElement("button"), { type: "button", id: "crowd-submit", textContent: "Submit" });
    this.submitButton.addEventListener("click", () => {
      if (!this.dispatchEvent(new Event("submit", { cancelable: true }))) return window.crowdSubmissions.push(null);
      const answer = {};
      this.querySelectorAll("[name]").forEach((field) => { answer[field.getAttribute("name")] = field.value; });
      window.crowdSubmissions.push(answer);
    });
    this.prepend(this.submitButton);
  }
});
"""


@pytest.fixture(scope="module")
def sample(grabcut_dir):
    item = load_samples(grabcut_dir, limit=1)[0]
    truth, ignore = load_mask(item.mask_path)
    return item.image_path, truth, ignore


@pytest.fixture(scope="module")
def endpoint_url():
    with endpoint_server(ENDPOINT) as url:
        yield url


@pytest.fixture
def worker_page(monkeypatch, endpoint_url, sample):
    """Open the task page; yields (page, proxy gateway). The proxy uses ENDPOINT_NAME from the environment."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    for key, value in {**FAKE_AWS_ENV, "ENDPOINT_NAME": ENDPOINT, "SAGEMAKER_RUNTIME_URL": endpoint_url}.items():
        monkeypatch.setenv(key, value)
    image_path, _, _ = sample
    with ApiGateway({"/segment": proxy.handler}) as api, ApiGateway({}) as site:
        template = build_template(f"{api.url}/segment", "Outline the animal.\n\nUse corrective clicks.")
        env = liquid_environment(lambda uri: f"{site.url}/images/{uri.rsplit('/', 1)[1]}?X-Amz-Signature=local")
        task = {"taskObject": f"s3://task-bucket/images/{image_path.name}", "labels": LABELS}
        html = env.from_string(template).render(task={"input": task})
        site.files["/task.html"] = ("text/html; charset=utf-8", f"<!doctype html><html><body>{html}</body></html>".encode())
        site.files[f"/images/{image_path.name}"] = ("image/jpeg", image_path.read_bytes())
        with chromium_page() as page:
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.route(CROWD_ELEMENTS_URL, lambda route: route.fulfill(body=CROWD_FORM_STAND_IN, content_type="text/javascript"))
            page.goto(f"{site.url}/task.html")
            wait_state(page, "clicking")
            # with interception on, Playwright answers CORS preflights itself; the proxy must answer them
            page.unroute(CROWD_ELEMENTS_URL)
            yield page, api
            assert errors == []


def click_image(page, x: float, y: float, modifiers=None) -> None:
    canvas = page.locator("canvas.clickseg-canvas")
    size = page.evaluate("() => { const c = document.querySelector('canvas.clickseg-canvas'); const r = c.getBoundingClientRect(); return [c.width, c.height, r.width, r.height]; }")
    width, height, css_width, css_height = size
    canvas.click(position={"x": (x + 0.5) * css_width / width, "y": (y + 0.5) * css_height / height}, modifiers=modifiers or [])


def wait_state(page, state: str) -> None:
    try:
        page.wait_for_function("(state) => document.querySelector('#clickseg-tool').dataset.state === state", arg=state, timeout=60_000)
    except Exception:
        tool = page.locator("#clickseg-tool")
        raise AssertionError(f"page state {tool.get_attribute('data-state')!r}, not {state!r}: {tool.inner_text()[:500]}") from None


def wait_posts(page, api, count: int) -> None:
    """Wait until the proxy has answered ``count`` POSTs (the page's state alone cannot tell a new mask from the old)."""
    for _ in range(600):
        if len(posts(api)) >= count:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the proxy answered {len(posts(api))} POSTs, expected {count}")


def posts(api) -> list[tuple[dict, dict]]:
    """(request, response) of every POST the proxy answered."""
    return [
        (json.loads(event["body"]), json.loads(result["body"]))
        for event, result in zip(api.events, api.results)
        if event["httpMethod"] == "POST"
    ]


def assert_overlay_drawn(page, image_path: Path, mask: np.ndarray) -> None:
    """Inside the mask the canvas shows the image tinted with the label colour; outside, the image itself.

    Medians, so the click markers and JPEG decoder differences do not matter."""
    with Image.open(image_path) as image:
        rgb = np.asarray(image.convert("RGB")).astype(float)
    canvas = np.array(
        page.evaluate("() => { const c = document.querySelector('canvas.clickseg-canvas'); "
                      "return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data); }"),
        dtype=float,
    ).reshape(mask.shape + (4,))[:, :, :3]
    tint = 0.55 * rgb + 0.45 * np.array([0x1F, 0x77, 0xB4])
    assert np.median(np.abs(canvas[mask] - tint[mask])) < 6
    assert np.median(np.abs(canvas[~mask] - rgb[~mask])) < 6


def submitted(page) -> list:
    return page.evaluate("() => window.crowdSubmissions")


def test_extreme_clicks_and_a_correction_make_the_submitted_label_map(worker_page, sample):
    page, api = worker_page
    _, truth, ignore = sample
    # submitting before anything is segmented is refused on the page
    page.click("#crowd-submit")
    assert submitted(page) == [None]
    assert "extreme points" in page.locator(".clickseg-error").inner_text()

    clicker = Clicker(truth, ignore)
    for click in clicker.extreme_clicks():
        click_image(page, click.x, click.y)
    wait_state(page, "mask")
    first_request, first_response = posts(api)[-1]
    assert "b64" in first_request["image"] and [c["kind"] for c in first_request["clicks"]] == ["extreme"] * 4
    assert any(event["httpMethod"] == "OPTIONS" for event in api.events), "the cross-origin call should be preflighted"

    correction = clicker.next_click(rle_to_mask(first_response["mask"]))
    assert correction is not None
    click_image(page, correction.x, correction.y, ["Shift"] if correction.kind.value == "negative" else None)
    wait_posts(page, api, 2)
    wait_state(page, "mask")
    request, _ = posts(api)[-1]
    assert request["image"] == {"hash": first_response["image_hash"]}
    assert request["previous_mask"] == first_response["mask"]
    assert request["clicks"][-1]["kind"] == correction.kind.value
    assert abs(request["clicks"][-1]["x"] - correction.x) < 1.5 and abs(request["clicks"][-1]["y"] - correction.y) < 1.5

    # undo (Ctrl+Z) shows the earlier mask without calling the model; redo asks again
    page.keyboard.press("Control+z")
    page.wait_for_function("() => !document.querySelector('button[title=\"Ctrl+Shift+Z\"]').disabled")
    wait_state(page, "mask")
    assert len(posts(api)) == 2
    page.get_by_role("button", name="Redo").click()
    wait_posts(page, api, 3)
    wait_state(page, "mask")
    final_mask = rle_to_mask(posts(api)[-1][1]["mask"])
    assert_overlay_drawn(page, sample[0], final_mask)

    page.click("#crowd-submit")
    answers = submitted(page)
    assert answers[0] is None and answers[-1] is not None
    answer = json.loads(answers[-1]["clickseg"])
    assert answer["labelMappings"] == {"Animal": {"color": "#1f77b4"}, "Other <thing>": {"color": "#ff7f0e"}}
    assert answer["inputImageProperties"] == {"width": truth.shape[1], "height": truth.shape[0]}
    png = base64.b64decode(answer["labeledImage"]["pngImageData"])
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size == (truth.shape[1], truth.shape[0])
    color_map = {"0": {"hex-color": "#ffffff"}, "1": {"hex-color": "#1f77b4"}, "2": {"hex-color": "#ff7f0e"}}
    classes = read_label_map(png, color_map)
    assert np.array_equal(classes == 1, final_mask), "the answer must be exactly the model's last mask"
    assert not (classes == 2).any()
    assert iou(classes == 1, truth, ignore) > 0.7
    # the consolidation Lambda reads this answer as Ground Truth would hand it over
    content = json.dumps(answers[-1])
    assert np.array_equal(consolidation.answer_classes(content, LABELS), classes)


def test_a_failing_model_shows_its_error_on_the_page(worker_page, sample, monkeypatch):
    page, api = worker_page
    monkeypatch.setenv("ENDPOINT_NAME", "endpoint-that-is-gone")
    _, truth, ignore = sample
    for click in Clicker(truth, ignore).extreme_clicks():
        click_image(page, click.x, click.y)
    wait_state(page, "error")
    error = page.locator(".clickseg-error")
    assert error.is_visible()
    assert "endpoint-that-is-gone" in error.inner_text() and "does not exist" in error.inner_text()
    # the model is back: Retry gets the mask without new clicks
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    page.get_by_role("button", name="Retry").click()
    wait_state(page, "mask")
    assert not error.is_visible()
