"""Clicks and the ordered click history of one object.

An object starts with a prompt, either its four extreme points (in any order;
identified as top/left/bottom/right by geometry, because users click them in
whatever order is convenient) or a box given as two opposite corners (as a
user drags it, or as a bounding-box labeling job returns it).  Corrective
clicks follow.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Sequence


class ClickKind(str, Enum):
    EXTREME = "extreme"
    BOX = "box"
    POSITIVE = "positive"
    NEGATIVE = "negative"
    BOUNDARY = "boundary"


class PromptKind(str, Enum):
    """How an object was started: which clicks form its prompt."""

    EXTREME = "extreme"
    BOX = "box"

    @property
    def size(self) -> int:
        """Clicks in the prompt: four extreme points or two box corners."""
        return 4 if self is PromptKind.EXTREME else 2


PROMPT_KINDS = (ClickKind.EXTREME, ClickKind.BOX)
CORRECTIVE_KINDS = (ClickKind.POSITIVE, ClickKind.NEGATIVE, ClickKind.BOUNDARY)
EXTREME_ROLES = ("top", "left", "bottom", "right")


@dataclass(frozen=True)
class Click:
    """One click in original-image pixel coordinates (floats allowed)."""

    x: float
    y: float
    kind: ClickKind = ClickKind.POSITIVE

    def __post_init__(self) -> None:
        try:
            kind = ClickKind(self.kind)
        except ValueError:
            names = ", ".join(k.value for k in ClickKind)
            raise ValueError(f"unknown click kind {self.kind!r}: use one of {names}") from None
        object.__setattr__(self, "kind", kind)
        for axis, value in (("x", self.x), ("y", self.y)):
            try:
                number = float(value)
            except (TypeError, ValueError, OverflowError):
                raise ValueError(f"click {axis}={value!r} is not a number") from None
            if not math.isfinite(number):
                raise ValueError(f"click {axis}={value!r} is not finite: clicks need real pixel coordinates")
            object.__setattr__(self, axis, number)

    def to_dict(self) -> dict:
        return {"x": self.x, "y": self.y, "kind": self.kind.value}

    @classmethod
    def from_dict(cls, data: dict) -> "Click":
        missing = {"x", "y", "kind"} - set(data)
        if missing:
            raise ValueError(f"click {data!r} lacks {sorted(missing)}")
        return cls(data["x"], data["y"], data["kind"])


def check_inside(click: Click, width: int, height: int) -> None:
    """Raise if the click falls outside a width x height image."""
    if not (0 <= click.x < width and 0 <= click.y < height):
        raise ValueError(
            f"click ({click.x:g}, {click.y:g}) lies outside the {width}x{height} image: "
            f"x must be in [0, {width}) and y in [0, {height})"
        )


def identify_extremes(points: Sequence[Click]) -> dict[str, Click]:
    """Assign four extreme clicks to top/left/bottom/right by geometry.

    Each role goes to the click that is most extreme along its axis, choosing
    the assignment that maximises the summed extremeness so that a click that
    is both topmost and leftmost still gets exactly one role.
    """
    if len(points) != 4:
        raise ValueError(f"need exactly 4 extreme points, got {len(points)}")
    from itertools import permutations

    def score(role: str, p: Click) -> float:
        return {"top": -p.y, "bottom": p.y, "left": -p.x, "right": p.x}[role]

    best = max(permutations(points), key=lambda perm: sum(score(r, p) for r, p in zip(EXTREME_ROLES, perm)))
    return dict(zip(EXTREME_ROLES, best))


def prompt_kind(clicks: Sequence[Click]) -> PromptKind | None:
    """The kind of prompt the first click starts (None for no clicks)."""
    if not clicks:
        return None
    return PromptKind.BOX if clicks[0].kind is ClickKind.BOX else PromptKind.EXTREME


def split_prompt(clicks: Sequence[Click]) -> tuple[list[Click], list[Click]]:
    """``(prompt clicks, corrective clicks)``: the first 4 extremes or 2 box corners, then the rest."""
    kind = prompt_kind(clicks)
    size = kind.size if kind is not None else 0
    return list(clicks[:size]), list(clicks[size:])


def box_clicks(x0: float, y0: float, x1: float, y1: float) -> list[Click]:
    """A box start as its two corner clicks (corners in any order)."""
    return [Click(x0, y0, ClickKind.BOX), Click(x1, y1, ClickKind.BOX)]


def prompt_box(prompt: Sequence[Click]) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)`` spanned by a prompt's points (extremes or box corners)."""
    xs = [c.x for c in prompt]
    ys = [c.y for c in prompt]
    return min(xs), min(ys), max(xs), max(ys)


class ClickSession:
    """The ordered clicks of one object, with undo/redo and JSON round-trip.

    The object starts with four extreme clicks or with a box (``add_box``, two
    ``BOX`` corner clicks); corrective clicks follow either.  ``image_size``
    is ``(width, height)``; when given, clicks outside the image are refused.
    """

    def __init__(self, image_size: tuple[int, int] | None = None, clicks: Iterable[Click] = ()) -> None:
        self.image_size = tuple(int(v) for v in image_size) if image_size is not None else None
        self._clicks: list[Click] = []
        self._redo: list[Click] = []
        for click in clicks:
            self.add(click)

    # -- editing -------------------------------------------------------
    def add(self, click: Click | float, y: float | None = None, kind: ClickKind | str | None = None) -> Click:
        """Append a click (a ``Click`` or ``x, y, kind``) after validating it."""
        if not isinstance(click, Click):
            if kind is None:
                kind = ClickKind.POSITIVE if self.is_ready else self._pending_prompt_kind()
            click = Click(click, y, kind)
        self._validate(click)
        self._clicks.append(click)
        self._redo.clear()
        return click

    def add_box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[Click, Click]:
        """Start the object with a box (two opposite corners, any order) instead of extreme points.

        Undo removes one corner at a time, as it removes one extreme point.
        """
        if self._clicks:
            raise ValueError("a box starts an object: reset the object (or undo its clicks) before drawing a box")
        first, second = box_clicks(x0, y0, x1, y1)
        self.add(first)
        try:
            self.add(second)
        except ValueError:
            self._clicks.pop()
            raise
        return first, second

    def _pending_prompt_kind(self) -> ClickKind:
        return ClickKind.BOX if self._clicks and self._clicks[0].kind is ClickKind.BOX else ClickKind.EXTREME

    def undo(self) -> Click | None:
        """Remove the last click; returns it (or None when there is nothing to undo)."""
        if not self._clicks:
            return None
        click = self._clicks.pop()
        self._redo.append(click)
        return click

    def redo(self) -> Click | None:
        if not self._redo:
            return None
        click = self._redo.pop()
        self._clicks.append(click)
        return click

    def reset(self) -> None:
        self._clicks.clear()
        self._redo.clear()

    # -- queries -------------------------------------------------------
    @property
    def clicks(self) -> tuple[Click, ...]:
        return tuple(self._clicks)

    @property
    def prompt_kind(self) -> PromptKind | None:
        """``EXTREME`` or ``BOX`` once the first click is in, else None."""
        return prompt_kind(self._clicks)

    @property
    def prompt(self) -> tuple[Click, ...]:
        """The clicks that start the object: four extreme points or two box corners."""
        return tuple(split_prompt(self._clicks)[0])

    @property
    def extreme_points(self) -> tuple[Click, ...]:
        return tuple(c for c in self.prompt if c.kind is ClickKind.EXTREME)

    @property
    def corrective(self) -> tuple[Click, ...]:
        return tuple(split_prompt(self._clicks)[1])

    @property
    def is_ready(self) -> bool:
        """True once the prompt is complete (4 extreme points or 2 box corners): a mask can be predicted."""
        kind = self.prompt_kind
        return kind is not None and len(self._clicks) >= kind.size

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def extremes_by_role(self) -> dict[str, Click]:
        return identify_extremes(self.extreme_points)

    def bbox(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)`` spanned by the prompt (extreme points or box corners)."""
        if not self.is_ready:
            raise ValueError("the object's box needs its four extreme points (or a box) first")
        return prompt_box(self.prompt)

    def __len__(self) -> int:
        return len(self._clicks)

    def __iter__(self):
        return iter(self._clicks)

    # -- serialisation -------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "image_size": list(self.image_size) if self.image_size else None,
            "clicks": [c.to_dict() for c in self._clicks],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict) -> "ClickSession":
        if not isinstance(data, dict) or "clicks" not in data:
            raise ValueError("a click session needs a JSON object with a 'clicks' list")
        return cls(data.get("image_size"), [Click.from_dict(c) for c in data["clicks"]])

    @classmethod
    def from_json(cls, text: str) -> "ClickSession":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"click session JSON is malformed: {err}") from None
        return cls.from_dict(data)

    # -- validation ----------------------------------------------------
    def _validate(self, click: Click) -> None:
        if self.image_size is not None:
            check_inside(click, *self.image_size)
        validate_next(self._clicks, click)


def validate_next(clicks: Sequence[Click], click: Click) -> None:
    """Raise if ``click`` cannot follow ``clicks`` in one object's history (the rules of a session)."""
    count = len(clicks)
    kind = prompt_kind(clicks) or (PromptKind.BOX if click.kind is ClickKind.BOX else PromptKind.EXTREME)
    what = "four extreme points" if kind is PromptKind.EXTREME else "two box corners"
    if count < kind.size:
        expected = ClickKind.EXTREME if kind is PromptKind.EXTREME else ClickKind.BOX
        if click.kind is not expected:
            raise ValueError(
                f"a {click.kind.value} click came before the {what} ({count} of {kind.size} given): "
                "click the object's top, left, bottom and right first, or start it with a box"
            )
        if count == kind.size - 1:
            xs = [c.x for c in clicks] + [click.x]
            ys = [c.y for c in clicks] + [click.y]
            if max(xs) - min(xs) < 1 or max(ys) - min(ys) < 1:
                if kind is PromptKind.EXTREME:
                    raise ValueError(
                        "the four extreme points span no area (all on one line or one pixel): "
                        "click the object's topmost, leftmost, bottommost and rightmost points"
                    )
                raise ValueError("the box spans no area (its corners share a row or column): drag a box around the object")
        return
    if click.kind in PROMPT_KINDS:
        raise ValueError(f"this object already has its {what}: add positive, negative or boundary clicks")


def as_click_list(clicks: "ClickSession | Sequence[Click]") -> list[Click]:
    """Accept a session or a plain sequence wherever clicks are consumed."""
    return list(clicks.clicks if isinstance(clicks, ClickSession) else clicks)
