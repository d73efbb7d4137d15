"""Toolbar, class legend, object list and status line around the canvas.

Class names and file names are user text: every one that reaches an HTML
widget goes through ``html.escape``; buttons and dropdowns show plain text.
"""
from __future__ import annotations

import html
from typing import Callable, Sequence

import ipywidgets as widgets

from .shortcuts import SHORTCUT_HELP
from .state import LabeledObject


def _button(description: str, icon: str, tooltip: str, handler: Callable[[], None]) -> widgets.Button:
    button = widgets.Button(description=description, icon=icon, tooltip=tooltip, layout=widgets.Layout(width="auto"))
    button.on_click(lambda _: handler())
    return button


class Toolbar:
    """The controls; ``actions`` maps action names to the widget's handlers."""

    def __init__(self, classes: Sequence[str], colors: Sequence[str], actions: dict[str, Callable[..., None]]) -> None:
        self.undo = _button("", "undo", "Undo click (z)", actions["undo"])
        self.redo = _button("", "repeat", "Redo click (y)", actions["redo"])
        self.reset = _button("", "eraser", "Reset object (Esc)", actions["reset"])
        self.accept = _button("Accept", "check", "Accept object (Enter)", actions["accept"])
        self.accept.button_style = "success"
        self.boundary = widgets.ToggleButton(
            description="Boundary", icon="crosshairs", tooltip="Boundary-click mode (b)", layout=widgets.Layout(width="auto")
        )
        self.boundary.observe(lambda change: actions["boundary"](change["new"]), names="value")
        self.box = widgets.ToggleButton(
            description="Box", icon="square-o", tooltip="Box mode: drag a box to start the object (r)",
            layout=widgets.Layout(width="auto"),
        )
        self.box.observe(lambda change: actions["box"](change["new"]), names="value")
        self.brush = widgets.ToggleButton(
            description="Brush", icon="paint-brush", tooltip="Brush: paint onto the mask (d; size [ and ])",
            layout=widgets.Layout(width="auto"),
        )
        self.brush.observe(lambda change: actions["brush"](change["new"]), names="value")
        self.eraser = widgets.ToggleButton(
            description="Eraser", icon="minus-square", tooltip="Eraser: cut out of the mask (x; size [ and ])",
            layout=widgets.Layout(width="auto"),
        )
        self.eraser.observe(lambda change: actions["eraser"](change["new"]), names="value")
        self.fit = _button("", "expand", "Fit image to view (f)", actions["fit"])
        self.previous = _button("", "arrow-left", "Previous image (p)", actions["previous"])
        self.next = _button("", "arrow-right", "Next image (n)", actions["next"])
        self.export = _button("Export", "download", "Write COCO JSON and a Ground Truth manifest", actions["export"])
        self.retry = _button("Retry", "refresh", "Run the model again on the current clicks", actions["retry"])
        self.retry.layout.display = "none"
        self.help = _button("", "question", SHORTCUT_HELP, actions["help"])
        self.class_select = widgets.Dropdown(
            options=list(classes), description="Class", layout=widgets.Layout(width="220px")
        )
        self.class_select.observe(lambda change: actions["class"](change["new"]), names="value")
        self.legend = widgets.HTML()
        self.opacity = widgets.FloatSlider(
            value=0.45, min=0.0, max=1.0, step=0.05, description="Opacity", readout_format=".2f",
            layout=widgets.Layout(width="240px"), continuous_update=False,
        )
        self.opacity.observe(lambda change: actions["opacity"](change["new"]), names="value")
        self.position = widgets.HTML()
        self.objects = widgets.Dropdown(description="Objects", options=[("(none)", None)], layout=widgets.Layout(width="260px"))
        self._syncing_objects = False  # True while the list is rebuilt from the state, not by the user
        self.objects.observe(
            lambda change: None if self._syncing_objects else actions["select"](change["new"]), names="value"
        )
        self.reopen = _button("Re-open", "pencil", "Re-open the selected object for more clicks (e)", actions["reopen"])
        self.delete = _button("Delete", "trash", "Delete the selected object (Delete)", actions["delete"])
        self.status = widgets.HTML()
        self.set_classes(classes, colors)

    def rows(self) -> list[widgets.Widget]:
        return [
            widgets.HBox([
                self.undo, self.redo, self.reset, self.accept, self.box, self.brush, self.eraser, self.boundary, self.fit,
                self.previous, self.position, self.next, self.export, self.help,
            ], layout=widgets.Layout(flex_flow="row wrap")),  # wraps on a narrow notebook instead of squeezing labels
            widgets.HBox([self.class_select, self.legend, self.opacity]),
            widgets.HBox([self.objects, self.reopen, self.delete]),
        ]

    def set_classes(self, classes: Sequence[str], colors: Sequence[str]) -> None:
        if list(self.class_select.options) != list(classes):
            self.class_select.options = list(classes)
        swatches = "".join(
            f'<span style="white-space:nowrap;margin-right:8px"><span style="display:inline-block;width:12px;'
            f'height:12px;background:{color};border-radius:2px;vertical-align:middle"></span> '
            f"{index}&nbsp;{html.escape(name)}</span>"
            for index, (name, color) in enumerate(zip(classes, colors), start=1)
        )
        self.legend.value = f'<div class="clickseg-legend">{swatches}</div>'

    def set_position(self, index: int, total: int, name: str) -> None:
        self.position.value = (
            f'<span class="clickseg-position" style="padding:0 6px">{index + 1} / {total} &middot; '
            f"{html.escape(name)}</span>"
        )

    def set_objects(self, objects: Sequence[LabeledObject], selected: int | None) -> None:
        options = [("(none)", None)] + [(f"#{o.object_id} {o.class_name}", o.object_id) for o in objects]
        self._syncing_objects = True
        try:
            self.objects.options = options
            self.objects.value = selected if any(o.object_id == selected for o in objects) else None
        finally:
            self._syncing_objects = False

    def set_status(self, message: str, error: bool = False, retry: bool = False) -> None:
        """Show ``message``; ``retry`` offers the Retry button (after a failed model call)."""
        color = "#b91c1c" if error else "inherit"
        self.status.value = (
            f'<div class="clickseg-status" data-error="{str(error).lower()}" style="color:{color};'
            f'font-family:monospace;font-size:12px">{html.escape(message)}</div>'
        )
        self.retry.layout.display = "" if retry else "none"
