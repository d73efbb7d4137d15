"""Clicks and the ordered click history of one object.

The first four clicks of an object are its extreme points (in any order); they
are identified as top/left/bottom/right by geometry, because users click them
in whatever order is convenient.  Corrective clicks follow.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Sequence


class ClickKind(str, Enum):
    EXTREME = "extreme"
    POSITIVE = "positive"
    NEGATIVE = "negative"
    BOUNDARY = "boundary"


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
            except (TypeError, ValueError):
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


class ClickSession:
    """The ordered clicks of one object, with undo/redo and JSON round-trip.

    ``image_size`` is ``(width, height)``; when given, clicks outside the
    image are refused.
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
                kind = ClickKind.EXTREME if len(self._clicks) < 4 else ClickKind.POSITIVE
            click = Click(click, y, kind)
        self._validate(click)
        self._clicks.append(click)
        self._redo.clear()
        return click

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
    def extreme_points(self) -> tuple[Click, ...]:
        return tuple(self._clicks[:4])

    @property
    def corrective(self) -> tuple[Click, ...]:
        return tuple(self._clicks[4:])

    @property
    def is_ready(self) -> bool:
        """True once the four extreme points are in: a mask can be predicted."""
        return len(self._clicks) >= 4

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def extremes_by_role(self) -> dict[str, Click]:
        return identify_extremes(self.extreme_points)

    def bbox(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)`` spanned by the extreme points."""
        if not self.is_ready:
            raise ValueError("the object's box needs its four extreme points first")
        xs = [c.x for c in self.extreme_points]
        ys = [c.y for c in self.extreme_points]
        return min(xs), min(ys), max(xs), max(ys)

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
        count = len(self._clicks)
        if count < 4 and click.kind is not ClickKind.EXTREME:
            raise ValueError(
                f"a {click.kind.value} click came before the four extreme points "
                f"({count} of 4 given): click the object's top, left, bottom and right first"
            )
        if count >= 4 and click.kind is ClickKind.EXTREME:
            raise ValueError("this object already has its four extreme points: add positive, negative or boundary clicks")
        if count == 3:
            xs = [c.x for c in self._clicks] + [click.x]
            ys = [c.y for c in self._clicks] + [click.y]
            if max(xs) - min(xs) < 1 or max(ys) - min(ys) < 1:
                raise ValueError(
                    "the four extreme points span no area (all on one line or one pixel): "
                    "click the object's topmost, leftmost, bottommost and rightmost points"
                )


def as_click_list(clicks: "ClickSession | Sequence[Click]") -> list[Click]:
    """Accept a session or a plain sequence wherever clicks are consumed."""
    return list(clicks.clicks if isinstance(clicks, ClickSession) else clicks)
