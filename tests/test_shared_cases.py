"""The JSON cases the JavaScript worker tool is tested with hold for the Python side too.

``tests/cases/*.json`` are read by these tests and by ``node --test js/test/``,
so the worker page's clicks and RLE decoding cannot drift from the package's.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from clickseg_widget.clicks import ClickSession, split_prompt
from clickseg_widget.protocol.masks import mask_to_rle, rle_to_mask

CASES = Path(__file__).parent / "cases"
CLICK_CASES = json.loads((CASES / "clicks.json").read_text())["cases"]
RLE_CASES = json.loads((CASES / "rle.json").read_text())


def _run_step(session: ClickSession, step: dict) -> None:
    if "add" in step:
        session.add(*step["add"])
    elif "add_box" in step:
        session.add_box(*step["add_box"])
    elif step.get("undo"):
        session.undo()
    elif step.get("redo"):
        session.redo()
    else:
        raise AssertionError(f"unknown step {step}")


@pytest.mark.parametrize("case", CLICK_CASES, ids=[c["name"] for c in CLICK_CASES])
def test_click_rules_match_the_worker_tool(case):
    session = ClickSession(tuple(case["size"]))
    for step in case["steps"]:
        if "refused" in step:
            with pytest.raises(ValueError, match=step["refused"]):
                _run_step(session, step)
        else:
            _run_step(session, step)
    assert [c.kind.value for c in session.clicks] == case["kinds"]
    assert session.is_ready is case["ready"]
    assert len(split_prompt(session.clicks)[0]) == case["prompt"]


@pytest.mark.parametrize("case", RLE_CASES["cases"], ids=lambda c: "x".join(map(str, c["size"])))
def test_rle_cases_are_pycocotools_encodings(case):
    mask = np.array([[int(v) for v in row] for row in case["rows"]], dtype=bool)
    assert mask.shape == tuple(case["size"])
    assert mask_to_rle(mask) == {"size": case["size"], "counts": case["counts"]}
    np.testing.assert_array_equal(rle_to_mask({"size": case["size"], "counts": case["counts"]}), mask)


def test_large_rle_case_has_the_stated_area_and_box():
    large = RLE_CASES["large"]
    mask = rle_to_mask({"size": large["size"], "counts": large["counts"]})
    assert int(mask.sum()) == large["area"]
    x0, y0, x1, y1 = large["box"]
    assert mask[0, 0] and mask[y0, x0] and mask[y1, x1]
    assert not mask[y1, x1 + 1] and not mask[y1 + 1, x0]
