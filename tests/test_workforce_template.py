"""The worker template rendered by Liquid with Ground Truth's filters, the JS
bundle inside it, and the JS unit tests (node's built-in runner)."""
from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from clickseg_widget.export.groundtruth import DEFAULT_COLORS
from clickseg_widget.workforce.bundle import bundle_tool_js, tool_script
from clickseg_widget.workforce.template import build_template
from workforce_local import liquid_environment

REPO = Path(__file__).resolve().parents[1]
URL = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/segment"
LABELS = ["Cat", 'Dog "big" <b>&amp;', "{{ task.input.taskObject }}"]


class Attributes(HTMLParser):
    """Collect every element's attributes (decoded as a browser would)."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def first(self, tag: str, **match: str) -> dict[str, str]:
        return next(a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in match.items()))


def render(template: str, task_input: dict) -> Attributes:
    env = liquid_environment(lambda uri: f"https://presigned.example/{uri[5:]}?X-Amz-Signature=abc&X-Amz-Expires=3600")
    page = Attributes()
    page.feed(env.from_string(template).render(task={"input": task_input}))
    return page


def test_liquid_fills_the_image_url_and_labels_escaped():
    page = render(build_template(URL, "Outline every cat."), {"taskObject": "s3://bucket/cats/a&b.jpg", "labels": LABELS})
    tool = page.first("div", id="clickseg-tool")
    assert tool["data-image-url"] == "https://presigned.example/bucket/cats/a&b.jpg?X-Amz-Signature=abc&X-Amz-Expires=3600"
    assert tool["data-s3-uri"] == "s3://bucket/cats/a&b.jpg"
    assert json.loads(tool["data-labels"]) == LABELS
    assert json.loads(tool["data-palette"]) == list(DEFAULT_COLORS)
    assert tool["data-endpoint-url"] == URL
    assert tool["data-answer-input"] == "clickseg-answer"
    answer = page.first("input", id="clickseg-answer")
    assert answer["type"] == "hidden" and answer["name"] == "clickseg"
    assert page.first("script")["src"] == "https://assets.crowd.aws/crowd-html-elements.js"


def test_instructions_are_escaped_and_never_run_as_liquid():
    hostile = "Outline {{ task.input.taskObject }} <script>alert(1)</script>\n\nSecond paragraph & more"
    page = render(build_template(URL, hostile, title="<i>Cats</i> {% raw %}"), {"taskObject": "s3://b/secret.jpg", "labels": ["Cat"]})
    text = "".join(page.text)
    assert "Outline {{ task.input.taskObject }} <script>alert(1)</script>" in text
    assert "<i>Cats</i> {% raw %}" in text
    assert "secret.jpg" not in text
    assert [t for t, _ in page.elements].count("p") >= 3  # short summary + two paragraphs


def test_the_tool_is_inlined_by_default_and_loaded_from_a_url_on_request():
    inline = build_template(URL, "x")
    assert tool_script() in inline
    https = render(build_template(URL, "x", script_url="https://cdn.example/clickseg-tool.js"), {"taskObject": "s3://b/k", "labels": ["A"]})
    assert https.first("script", src="https://cdn.example/clickseg-tool.js")
    from_s3 = render(build_template(URL, "x", script_url="s3://tools/clickseg-tool.js"), {"taskObject": "s3://b/k", "labels": ["A"]})
    assert from_s3.first("script", src="https://presigned.example/tools/clickseg-tool.js?X-Amz-Signature=abc&X-Amz-Expires=3600")
    assert "data-send-image=\"s3_uri\"" in build_template(URL, "x", send_image="s3_uri")


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(endpoint_url="ftp://x/y", instructions="x"), "endpoint_url"),
        (dict(endpoint_url=URL, instructions="  "), "instructions are empty"),
        (dict(endpoint_url=URL, instructions="x", send_image="bytes"), "send_image"),
        (dict(endpoint_url=URL, instructions="x", script_url="http://insecure/x.js"), "https://"),
        (dict(endpoint_url=URL, instructions="x", script_url='s3://b/"x.js'), "quotes"),
        (dict(endpoint_url=URL, instructions="x", palette=[]), "palette"),
    ],
)
def test_bad_options_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        build_template(**arguments)


def test_the_package_bundles_the_js_worker_sources(tmp_path):
    from clickseg_widget.workforce.bundle import main

    assert tool_script().rstrip().endswith("mountAll(document);\n})();")
    assert "function mountAll" in tool_script()
    assert main([str(tmp_path / "tool.js")]) == 0
    assert (tmp_path / "tool.js").read_text() == tool_script()


def test_the_bundler_refuses_what_would_break_the_template(tmp_path):
    (tmp_path / "clickseg-tool.js").write_text('import { a } from "./a.js";\nexport function mountAll() { return a; }\n')
    (tmp_path / "a.js").write_text("export const a = `{{ liquid }}`;\n")
    with pytest.raises(ValueError, match="'\\{\\{'"):
        bundle_tool_js(tmp_path)
    (tmp_path / "a.js").write_text('import { b } from "./clickseg-tool.js";\nexport const a = 1;\n')
    with pytest.raises(ValueError, match="import cycle"):
        bundle_tool_js(tmp_path)
    (tmp_path / "a.js").write_text('import { c } from "./missing.js";\nexport const a = 1;\n')
    with pytest.raises(FileNotFoundError, match="missing.js"):
        bundle_tool_js(tmp_path)


def test_js_unit_tests_pass_under_node():
    node = shutil.which("node")
    assert node, "node >= 20 is needed for the worker tool's tests: apt-get install nodejs"
    result = subprocess.run([node, "--test", str(REPO / "js" / "test")], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
    assert int(result.stdout.split("# pass ")[1].split()[0]) >= 30
