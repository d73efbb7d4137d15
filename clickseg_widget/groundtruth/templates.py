"""Worker UI templates (Liquid + Crowd HTML Elements) for the built-in image tasks.

Labels never enter the HTML from Python: the page reads them from the task
input through ``to_json | escape``.  Headers and instructions do, so they are
HTML-escaped and their braces turned into entities, which keeps a ``{{`` in an
instruction from being run as Liquid.
"""
from __future__ import annotations

import html
import re
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
    "adjustment_semantic_segmentation": ("crowd-semantic-segmentation", "crowd-semantic-segmentation"),
}
# An adjustment task opens on the previous label map, named by its attribute in the manifest line.
INITIAL_VALUE = Template("""
    initial-value='{"src": {{ task.input.manifestLine["$attribute"] | grant_read_access | to_json }}, "labelMappings": {
      {%- for entry in task.input.manifestLine["$attribute-metadata"]["internal-color-map"] -%}
        {%- if entry[1]["class-name"] != "BACKGROUND" -%}
          {{ entry[1]["class-name"] | to_json }}: {"color": {{ entry[1]["hex-color"] | to_json }}}{% unless forloop.last %},{% endunless %}
        {%- endif -%}
      {%- endfor -%} }}'""")


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
    previous_attribute: str | None = None,
) -> str:
    """The worker page for ``bounding_box``, ``semantic_segmentation`` or its adjustment (give ``previous_attribute``)."""
    arns.task_type(task)
    element, answer_name = TASK_ELEMENTS[task]
    if (task == "adjustment_semantic_segmentation") != (previous_attribute is not None):
        raise ValueError("previous_attribute (the label attribute to correct, e.g. 'prelabel-ref') goes with adjustment tasks only")
    if previous_attribute is not None and not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", previous_attribute):
        raise ValueError(f"previous_attribute {previous_attribute!r} is not a label attribute name (letters, digits, hyphens)")
    source = resources.files(__package__).joinpath("templates").joinpath(TEMPLATE_FILE).read_text(encoding="utf-8")
    return Template(source).substitute(
        element=element,
        answer_name=answer_name,
        header=escape_text(header),
        instructions_header=escape_text(instructions_header),
        short_instructions=paragraphs(short_instructions),
        full_instructions=paragraphs(full_instructions),
        initial_value=INITIAL_VALUE.substitute(attribute=previous_attribute) if previous_attribute else "",
    )


def upload_template(s3_client: Any, uri: str, task: str, **texts: str) -> str:
    """Render and upload a template; returns its URI for ``UiTemplateS3Uri``."""
    return upload_bytes(s3_client, uri, render_template(task, **texts).encode("utf-8"), "text/html")
