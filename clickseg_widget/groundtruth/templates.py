"""Worker UI templates (Liquid + Crowd HTML Elements) for the built-in image tasks.

Labels never enter the HTML from Python: the page reads them from the task
input through ``to_json | escape``.  Headers and instructions do, so they are
HTML-escaped and their braces turned into entities, which keeps a ``{{`` in an
instruction from being run as Liquid.
"""
from __future__ import annotations

import html
from importlib import resources
from string import Template
from typing import Any

from . import arns
from .storage import upload_bytes

TEMPLATE_FILE = "image_task.liquid.html"
# task -> (Crowd HTML element, the answer's name in the worker response)
TASK_ELEMENTS = {
    "bounding_box": ("crowd-bounding-box", "boundingBox"),
    "semantic_segmentation": ("crowd-semantic-segmentation", "crowd-semantic-segmentation"),
}


def escape_text(text: str) -> str:
    """HTML-escape and neutralise Liquid delimiters."""
    return html.escape(str(text), quote=True).replace("{", "&#123;").replace("}", "&#125;")


def paragraphs(text: str) -> str:
    """Blank-line separated paragraphs as escaped ``<p>`` elements."""
    blocks = [block.strip() for block in str(text).split("\n\n") if block.strip()]
    return "\n".join(f"      <p>{escape_text(block)}</p>" for block in blocks)


def render_template(
    task: str,
    header: str,
    short_instructions: str,
    full_instructions: str,
    instructions_header: str = "Instructions",
) -> str:
    """The worker page for ``bounding_box`` or ``semantic_segmentation``."""
    arns.task_type(task)
    element, answer_name = TASK_ELEMENTS[task]
    source = resources.files(__package__).joinpath("templates").joinpath(TEMPLATE_FILE).read_text(encoding="utf-8")
    return Template(source).substitute(
        element=element,
        answer_name=answer_name,
        header=escape_text(header),
        instructions_header=escape_text(instructions_header),
        short_instructions=paragraphs(short_instructions),
        full_instructions=paragraphs(full_instructions),
    )


def upload_template(s3_client: Any, uri: str, task: str, **texts: str) -> str:
    """Render and upload a template; returns its URI for ``UiTemplateS3Uri``."""
    return upload_bytes(s3_client, uri, render_template(task, **texts).encode("utf-8"), "text/html")
