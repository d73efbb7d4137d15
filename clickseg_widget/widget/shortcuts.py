"""The one table of keyboard and pointer shortcuts: the widget's keymap and the help text both read it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shortcut:
    """``keys`` are DOM ``KeyboardEvent.key`` values bound to the widget action ``action``;
    pointer gestures have neither and appear in the help only."""

    label: str
    description: str
    action: str | None = None
    keys: tuple[str, ...] = ()


SHORTCUTS = (
    Shortcut("left click", "extreme point (first 4), then add to the object"),
    Shortcut("right click / shift+click", "remove from the object"),
    Shortcut("r", "box mode on/off: drag a box to start the object", "toggle_box", ("r",)),
    Shortcut("d", "brush on/off: drag to paint onto the mask", "toggle_brush", ("d",)),
    Shortcut("x", "eraser on/off: drag to cut out of the mask", "toggle_eraser", ("x",)),
    Shortcut("[ / ]", "smaller / larger brush and eraser", "brush_smaller", ("[",)),
    Shortcut("", "", "brush_larger", ("]",)),
    Shortcut("b", "boundary-click mode on/off", "toggle_boundary", ("b",)),
    Shortcut("z / ctrl+z", "undo click or stroke", "undo", ("z",)),
    Shortcut("y / ctrl+y / ctrl+shift+z", "redo click or stroke", "redo", ("y",)),
    Shortcut("Esc", "reset the object", "reset", ("Escape",)),
    Shortcut("Enter / a", "accept the object (saved at once)", "accept", ("Enter", "a")),
    Shortcut("1-9", "choose class"),
    Shortcut("ctrl+click (cmd+click)", "select an accepted object"),
    Shortcut("e", "re-open the selected object", "reopen", ("e",)),
    Shortcut("Delete", "delete the selected object", "delete", ("Delete", "Backspace")),
    Shortcut("n / p (arrow keys)", "next / previous image", "next", ("n", "ArrowRight")),
    Shortcut("", "", "previous", ("p", "ArrowLeft")),
    Shortcut("wheel, + / -", "zoom", "zoom_in", ("+", "=")),
    Shortcut("", "", "zoom_out", ("-",)),
    Shortcut("f", "fit the image to the view", "fit", ("f",)),
    Shortcut("middle drag / space+drag", "pan"),
    Shortcut("h / ?", "show this help", "help", ("h", "?")),
)
SHORTCUT_HELP = "Keyboard (pointer over the image):\n" + "\n".join(
    f"{s.label}: {s.description}" for s in SHORTCUTS if s.label
)


def keymap() -> dict[str, str]:
    """Key -> action name, from the table."""
    return {key: shortcut.action for shortcut in SHORTCUTS if shortcut.action for key in shortcut.keys}
