"""Worker UI templates (Liquid + Crowd HTML Elements) for the built-in image tasks.

Labels never enter the HTML from Python: the page reads them from the task
input through ``to_json | escape``.  Headers and instructions do, so they are
HTML-escaped and their braces turned into entities, which keeps a ``{{`` in an
instruction from being run as Liquid.
"""
from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any
from urllib.parse import urlsplit

from . import arns
from .storage import parse_s3_uri, upload_bytes

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


# Characters that would end the quoted Liquid string or HTML attribute an example's URI sits in, or start Liquid.
UNSAFE_URI_CHARACTERS = re.compile(r"[\s'\"{}<>\\`]")


@dataclass(frozen=True)
class ExampleImage:
    """An example shown in the full instructions: ``good=True`` for one to copy, ``False`` for a mistake to avoid.

    ``uri`` is ``s3://bucket/key`` (the page signs it with ``grant_read_access``, so the workforce needs no public
    bucket) or an ``https://`` URL.
    """

    uri: str
    caption: str
    good: bool = True


def example_image_source(uri: str) -> str:
    """The ``src`` attribute's value for an example image, or a ValueError saying what to write instead."""
    if not isinstance(uri, str) or UNSAFE_URI_CHARACTERS.search(uri):
        raise ValueError(f"example image URI {uri!r} holds a space, quote, brace, < or >: percent-encode it (https) "
                         "or rename the object (s3)")
    if uri.startswith("s3://"):
        parse_s3_uri(uri, require_key=True)
        return f"{{{{ '{uri}' | grant_read_access }}}}"
    parts = urlsplit(uri)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"example image URI {uri!r} is neither s3://bucket/key nor an https:// URL: workers' browsers "
                         "load it, so plain http and local paths do not work")
    return escape_text(uri)


def example_figures(examples: Sequence[ExampleImage]) -> str:
    """Good examples, then bad ones, each an image with its escaped caption."""
    sections = []
    for good, title in ((True, "Good examples"), (False, "Bad examples")):
        chosen = [example for example in examples if example.good is good]
        if not chosen:
            continue
        figures = "\n".join(
            f'      <figure><img src="{example_image_source(example.uri)}" alt="{escape_text(example.caption)}" '
            f'style="max-width: 100%"><figcaption>{escape_text(example.caption)}</figcaption></figure>'
            for example in chosen
        )
        sections.append(f"      <h3>{title}</h3>\n{figures}")
    return "\n".join(sections)


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
    examples: Sequence[ExampleImage] = (),
) -> str:
    """The worker page for ``bounding_box``, ``semantic_segmentation`` or its adjustment (give ``previous_attribute``).

    ``examples`` (good and bad ``ExampleImage``s) are shown under the full instructions, as the tutorial does.
    """
    arns.task_type(task)
    if any(not isinstance(example, ExampleImage) for example in examples):
        raise TypeError("examples are ExampleImage(uri, caption, good=True/False) objects")
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
        full_instructions="\n".join(part for part in (paragraphs(full_instructions), example_figures(examples)) if part),
        initial_value=INITIAL_VALUE.substitute(attribute=previous_attribute) if previous_attribute else "",
    )


def upload_template(s3_client: Any, uri: str, task: str, **texts: Any) -> str:
    """Render and upload a template; returns its URI for ``UiTemplateS3Uri``."""
    return upload_bytes(s3_client, uri, render_template(task, **texts).encode("utf-8"), "text/html")
