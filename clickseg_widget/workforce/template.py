"""The Liquid + Crowd HTML Elements template of the custom labeling task.

Ground Truth renders it per task: ``task.input`` is what the pre-annotation
Lambda returned (``taskObject`` = the image's S3 URI, ``labels``).  The image
reaches the page through ``grant_read_access`` (a presigned URL) and the
labels through ``to_json | escape``; everything this module writes itself
(instructions, title, URLs) goes through the Ground Truth helper's
``escape_text``: HTML-escaped, with braces as entities so Liquid cannot expand
text a user typed.
"""
from __future__ import annotations

import json
from typing import Any, Sequence
from urllib.parse import urlparse

from ..export.groundtruth import DEFAULT_COLORS
from ..groundtruth.storage import upload_bytes
from ..groundtruth.templates import escape_text, paragraphs
from .bundle import tool_script

CROWD_ELEMENTS_URL = "https://assets.crowd.aws/crowd-html-elements.js"
ANSWER_NAME = "clickseg"
SEND_IMAGE_MODES = ("b64", "s3_uri")
DEFAULT_SHORT_INSTRUCTIONS = (
    "Click the object's topmost, leftmost, bottommost and rightmost points. "
    "Then click inside to add missed parts, shift/right click to remove wrong parts, and submit."
)


def _check_url(url: str, what: str, schemes: Sequence[str]) -> None:
    parsed = urlparse(url or "")
    if parsed.scheme not in schemes or not parsed.netloc:
        raise ValueError(f"{what} {url!r} must be an absolute {' or '.join(s + '://' for s in schemes)} URL")


def build_template(
    endpoint_url: str,
    instructions: str,
    *,
    title: str = "Outline the object",
    short_instructions: str = DEFAULT_SHORT_INSTRUCTIONS,
    script_url: str | None = None,
    send_image: str = "b64",
    palette: Sequence[str] = DEFAULT_COLORS,
) -> str:
    """The task template as text, ready to upload as ``UiConfig.UiTemplateS3Uri``.

    ``endpoint_url`` is the proxy's POST URL (the stack's ``SegmentUrl``
    output).  ``instructions`` is plain text (blank lines separate
    paragraphs).  The tool script is inlined unless ``script_url`` names
    where the bundled tool (``upload_tool_script``) was uploaded: ``https://...`` or
    ``s3://...`` (then presigned per task with ``grant_read_access``).
    ``send_image="s3_uri"`` makes the page send the image's S3 URI instead of
    its bytes, for images near the 6 MB request limit; the endpoint's role
    must then be able to read the bucket.
    """
    _check_url(endpoint_url, "endpoint_url", ("https", "http"))
    if send_image not in SEND_IMAGE_MODES:
        raise ValueError(f"send_image={send_image!r}: use one of {', '.join(SEND_IMAGE_MODES)}")
    if not palette:
        raise ValueError("palette needs at least one #rrggbb colour")
    if not str(instructions).strip():
        raise ValueError("instructions are empty: tell workers what to segment and how")
    if script_url is None:
        script = f"<script>\n{tool_script()}</script>"
    elif script_url.startswith("s3://"):
        script = f'<script src="{{{{ "{_liquid_string(script_url)}" | grant_read_access }}}}"></script>'
    else:
        _check_url(script_url, "script_url", ("https",))
        script = f'<script src="{escape_text(script_url)}"></script>'
    return f"""<script src="{CROWD_ELEMENTS_URL}"></script>
<crowd-form>
  <crowd-instructions link-text="View instructions" link-type="button">
    <short-summary>
{paragraphs(short_instructions)}
    </short-summary>
    <detailed-instructions>
      <h3>{escape_text(title)}</h3>
{paragraphs(instructions)}
    </detailed-instructions>
  </crowd-instructions>
  <h3>{escape_text(title)}</h3>
  <div id="clickseg-tool" data-clickseg-tool
       data-image-url="{{{{ task.input.taskObject | grant_read_access }}}}"
       data-s3-uri="{{{{ task.input.taskObject | escape }}}}"
       data-labels="{{{{ task.input.labels | to_json | escape }}}}"
       data-palette="{escape_text(json.dumps(list(palette)))}"
       data-endpoint-url="{escape_text(endpoint_url)}"
       data-send-image="{send_image}"
       data-answer-input="clickseg-answer">Loading the labeling tool…</div>
  <input type="hidden" id="clickseg-answer" name="{ANSWER_NAME}">
</crowd-form>
{script}
"""


def _liquid_string(value: str) -> str:
    """``value`` inside a double-quoted Liquid string literal (S3 keys may hold anything but quotes)."""
    if any(ch in value for ch in "\"'{}%<>"):
        raise ValueError(f"script_url {value!r} contains quotes, braces, % or angle brackets: upload the script under a plain key")
    return value


def upload_worker_template(s3_client: Any, uri: str, endpoint_url: str, instructions: str, **options: Any) -> str:
    """Build and upload the template; returns ``uri`` for ``UiConfig.UiTemplateS3Uri``."""
    return upload_bytes(s3_client, uri, build_template(endpoint_url, instructions, **options).encode("utf-8"), "text/html")


def upload_tool_script(s3_client: Any, uri: str) -> str:
    """Upload the bundled tool for ``build_template(script_url=uri)`` (smaller templates, one script to update)."""
    return upload_bytes(s3_client, uri, tool_script().encode("utf-8"), "text/javascript")
