"""Review pre-labels in the widget, least confident image first, correcting rather than drawing."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

from ..widget import ClickSegWidget
from .local import coco_path


def review_order(output: str | os.PathLike, base_dir: str | os.PathLike | None = None) -> list[str]:
    """The pre-labeled images, least confident first; relative paths resolved against ``base_dir`` (the input's folder)."""
    coco = json.loads(coco_path(Path(output)).read_text(encoding="utf-8"))
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    order = []
    for image in coco["images"]:
        source = image["source-ref"]
        order.append(source if source.startswith("s3://") or Path(source).is_absolute() else str(base / source))
    return order


def review_widget(
    output: str | os.PathLike,
    segmenter: Any = "default",
    classes: Sequence[str] | None = None,
    base_dir: str | os.PathLike | None = None,
    **widget_options: Any,
) -> ClickSegWidget:
    """A widget queued least confident first with every pre-label shown as an accepted object, ready to correct.

    Re-opening an object starts from its box with the pre-label as the model's previous mask; an object left
    untouched exports as drafted. ``widget_options`` go to ``ClickSegWidget`` (``autosave=``, ``s3_session=``...).
    """
    coco = json.loads(coco_path(Path(output)).read_text(encoding="utf-8"))
    names = classes or [category["name"] for category in coco["categories"]] or ["object"]
    widget = ClickSegWidget(review_order(output, base_dir), segmenter=segmenter, classes=list(names), **widget_options)
    widget.import_labels(coco_path(Path(output)), kind="coco")
    return widget
