import json
import math

import pytest

from clickseg_widget import Click, ClickKind, ClickSession
from clickseg_widget.clicks import identify_extremes

EXTREMES = [Click(50, 10, "extreme"), Click(10, 40, "extreme"), Click(45, 90, "extreme"), Click(95, 50, "extreme")]


def test_click_normalises_kind_and_coordinates():
    click = Click(3, 4.5, "negative")
    assert click.kind is ClickKind.NEGATIVE
    assert isinstance(click.x, float) and click.y == 4.5


@pytest.mark.parametrize("x", [math.nan, math.inf, -math.inf])
def test_non_finite_click_is_refused(x):
    with pytest.raises(ValueError, match="not finite"):
        Click(x, 1, "positive")


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown click kind 'add'"):
        Click(1, 1, "add")


def test_extremes_identified_by_geometry_in_any_order():
    shuffled = [EXTREMES[2], EXTREMES[3], EXTREMES[0], EXTREMES[1]]
    roles = identify_extremes(shuffled)
    assert roles == {"top": EXTREMES[0], "left": EXTREMES[1], "bottom": EXTREMES[2], "right": EXTREMES[3]}


def test_session_flow_undo_redo_reset():
    session = ClickSession((100, 100), EXTREMES)
    assert session.is_ready and session.bbox() == (10, 10, 95, 90)
    session.add(40, 40, "positive")
    session.add(Click(60, 60, "negative"))
    assert [c.kind for c in session.corrective] == [ClickKind.POSITIVE, ClickKind.NEGATIVE]
    assert session.undo() == Click(60, 60, "negative")
    assert session.can_redo
    assert session.redo() == Click(60, 60, "negative")
    assert len(session) == 6
    session.undo()
    session.add(70, 70, "boundary")  # a new click clears the redo stack
    assert not session.can_redo and session.redo() is None
    session.reset()
    assert len(session) == 0 and session.undo() is None


def test_add_without_kind_defaults_to_extreme_then_positive():
    session = ClickSession((100, 100))
    for c in EXTREMES:
        session.add(c.x, c.y)
    assert session.add(40, 40).kind is ClickKind.POSITIVE


def test_json_round_trip():
    session = ClickSession((100, 100), EXTREMES + [Click(40.5, 41.25, "positive")])
    again = ClickSession.from_json(session.to_json())
    assert again.clicks == session.clicks and again.image_size == (100, 100)
    assert json.loads(session.to_json())["clicks"][4] == {"x": 40.5, "y": 41.25, "kind": "positive"}


def test_malformed_json_is_refused():
    with pytest.raises(ValueError, match="malformed"):
        ClickSession.from_json("{not json")
    with pytest.raises(ValueError, match="'clicks' list"):
        ClickSession.from_json("[]")


@pytest.mark.parametrize("x, y", [(100, 5), (-1, 5), (5, 100), (5, -0.5)])
def test_click_outside_image_is_refused(x, y):
    session = ClickSession((100, 100))
    with pytest.raises(ValueError, match="outside the 100x100 image"):
        session.add(x, y, "extreme")


def test_corrective_before_extremes_is_refused():
    session = ClickSession((100, 100), EXTREMES[:2])
    with pytest.raises(ValueError, match="before the four extreme points \\(2 of 4"):
        session.add(5, 5, "positive")


def test_fifth_extreme_is_refused():
    session = ClickSession((100, 100), EXTREMES)
    with pytest.raises(ValueError, match="already has its four extreme points"):
        session.add(5, 5, "extreme")


@pytest.mark.parametrize(
    "points",
    [[(10, 10)] * 4, [(10, 10), (20, 10), (30, 10), (40, 10)], [(5, 1), (5, 20), (5, 40), (5, 60)]],
)
def test_extremes_spanning_no_area_are_refused(points):
    session = ClickSession((100, 100))
    for x, y in points[:3]:
        session.add(x, y, "extreme")
    with pytest.raises(ValueError, match="span no area"):
        session.add(*points[3], "extreme")
    assert len(session) == 3  # the refused click was not recorded


# -- box start -------------------------------------------------------------------------------------
def test_a_box_starts_an_object_and_corrective_clicks_follow():
    from clickseg_widget.clicks import PromptKind, split_prompt

    session = ClickSession((100, 80))
    assert not session.is_ready and session.prompt_kind is None
    session.add_box(60, 50, 10, 5)  # corners in any order
    assert session.is_ready and session.prompt_kind is PromptKind.BOX
    assert session.bbox() == (10, 5, 60, 50) and session.extreme_points == ()
    session.add(30, 20)  # the default kind after a complete prompt is positive
    session.add(5, 5, "negative")
    prompt, corrective = split_prompt(session.clicks)
    assert [c.kind for c in prompt] == [ClickKind.BOX, ClickKind.BOX]
    assert [c.kind for c in corrective] == [ClickKind.POSITIVE, ClickKind.NEGATIVE] == [c.kind for c in session.corrective]
    assert ClickSession.from_json(session.to_json()).clicks == session.clicks
    session.undo(), session.undo(), session.undo()
    assert not session.is_ready and len(session) == 1  # undo removes one corner at a time


def test_box_mistakes_get_clear_errors():
    session = ClickSession((100, 80))
    with pytest.raises(ValueError, match="box spans no area"):
        session.add_box(10, 5, 10, 50)
    assert len(session) == 0  # a refused box leaves nothing half-added
    with pytest.raises(ValueError, match="outside the 100x80 image"):
        session.add_box(10, 5, 120, 50)
    assert len(session) == 0
    session.add_box(10, 5, 60, 50)
    with pytest.raises(ValueError, match="reset the object"):
        session.add_box(0, 0, 5, 5)
    with pytest.raises(ValueError, match="already has its two box corners"):
        session.add(Click(20, 20, ClickKind.BOX))
    mixed = ClickSession()
    mixed.add(Click(10, 10, ClickKind.BOX))
    with pytest.raises(ValueError, match="before the two box corners \\(1 of 2"):
        mixed.add(Click(20, 20, ClickKind.EXTREME))
