"""Labeling rules without a browser: click kinds, undo restoring masks, objects, the queue."""
from __future__ import annotations

import io
import json

import boto3
import numpy as np
import pytest
from moto import mock_aws
from PIL import Image

from clickseg_widget.clicks import ClickKind
from clickseg_widget.widget.state import LabelingState, MaskMemory, build_queue

EXTREMES = [(10, 2), (2, 10), (10, 18), (18, 10)]


def make_state(count: int = 2, classes=("cat", "dog")) -> LabelingState:
    images = [np.full((20, 30, 3), 40 * i, np.uint8) for i in range(count)]
    return LabelingState(build_queue(images), classes)


def box_mask(state: LabelingState) -> np.ndarray:
    mask = np.zeros((20, 30), bool)
    mask[2:19, 2:19] = True
    return mask


def click_extremes(state: LabelingState) -> None:
    for x, y in EXTREMES:
        state.add_click(x, y)


def test_first_four_clicks_are_extreme_then_corrections_follow_the_mode():
    state = make_state()
    click_extremes(state)
    assert [c.kind for c in state.draft.clicks] == [ClickKind.EXTREME] * 4
    assert state.next_kind() is ClickKind.POSITIVE
    assert state.next_kind(negative=True) is ClickKind.NEGATIVE
    state.boundary_mode = True
    assert state.next_kind() is ClickKind.BOUNDARY


def test_negative_click_before_the_extremes_is_refused_with_the_fix():
    state = make_state()
    with pytest.raises(ValueError, match="extreme points"):
        state.next_kind(negative=True)


def test_click_outside_the_image_is_refused_and_nothing_is_recorded():
    state = make_state()
    with pytest.raises(ValueError, match="outside the 30x20 image"):
        state.add_click(31, 5)
    assert state.draft.clicks == ()


def test_undo_shows_the_remembered_mask_and_redo_needs_no_model_when_remembered():
    state = make_state()
    click_extremes(state)
    first = box_mask(state)
    assert state.needs_prediction
    assert state.store_prediction(state.draft.clicks, first, 0.9)
    state.add_click(5, 5, "negative")
    second = first.copy()
    second[5, 5] = False
    state.store_prediction(state.draft.clicks, second, 0.8)
    state.undo()
    assert np.array_equal(state.draft.mask, first) and not state.needs_prediction
    state.redo()
    assert np.array_equal(state.draft.mask, second) and not state.needs_prediction
    state.undo()
    state.undo()
    assert state.draft.mask is None and len(state.draft.clicks) == 3


def test_a_stale_prediction_is_remembered_but_not_shown():
    state = make_state()
    click_extremes(state)
    old_clicks = state.draft.clicks
    state.add_click(5, 5)
    assert not state.store_prediction(old_clicks, box_mask(state), 0.5)
    assert state.draft.mask is None and state.needs_prediction


def test_accept_reopen_and_accept_again_keeps_the_object_id():
    state = make_state()
    with pytest.raises(ValueError, match="nothing to accept"):
        state.accept()
    click_extremes(state)
    state.store_prediction(state.draft.clicks, box_mask(state), 0.9)
    accepted = state.accept()
    assert accepted.object_id == 1 and state.draft.clicks == () and state.selected_id == 1
    state.reopen(1)
    state.add_click(4, 4, "negative")
    with pytest.raises(ValueError, match="no mask yet"):
        state.accept()
    smaller = box_mask(state)
    smaller[4, 4] = False
    state.store_prediction(state.draft.clicks, smaller, 0.8)
    state.set_class("dog")
    again = state.accept()
    assert again.object_id == 1 and len(state.accepted) == 1
    assert state.accepted[0].class_name == "dog" and len(state.accepted[0].clicks) == 5


def test_delete_select_and_object_at():
    state = make_state()
    click_extremes(state)
    state.store_prediction(state.draft.clicks, box_mask(state), 0.9)
    state.accept()
    assert state.object_at(10, 10).object_id == 1
    assert state.object_at(25, 10) is None
    with pytest.raises(ValueError, match="no accepted object #7"):
        state.select(7)
    state.delete(1)
    assert state.accepted == [] and state.selected_id is None


def test_moving_in_the_queue_drops_the_draft_but_keeps_accepted_objects():
    state = make_state()
    click_extremes(state)
    state.store_prediction(state.draft.clicks, box_mask(state), 0.9)
    state.accept()
    state.add_click(10, 2)
    assert state.go_to(1) and state.draft.clicks == () and state.accepted == []
    assert not state.go_to(2)
    state.go_to(0)
    assert [o.object_id for o in state.accepted] == [1]


def test_unknown_class_and_duplicate_classes_are_refused():
    with pytest.raises(ValueError, match="unique"):
        make_state(classes=("a", "a"))
    state = make_state()
    with pytest.raises(ValueError, match="choose one of"):
        state.set_class("horse")


def test_queue_from_folder_paths_and_arrays(tmp_path):
    for name in ("b.png", "a.jpg"):
        Image.new("RGB", (4, 3)).save(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not an image")
    assert [i.name for i in build_queue(tmp_path)] == ["a.jpg", "b.png"]
    assert [i.name for i in build_queue([np.zeros((3, 4, 3), np.uint8)] * 2)] == ["image-00001.png", "image-00002.png"]
    with pytest.raises(ValueError, match="unique"):
        build_queue([tmp_path / "a.jpg", tmp_path / "a.jpg"])
    with pytest.raises(TypeError, match="file paths"):
        build_queue([42])


def test_mask_memory_forgets_the_oldest_and_finds_the_longest_prefix():
    state = make_state()
    click_extremes(state)
    state.add_click(5, 5)
    state.add_click(6, 6)
    clicks = state.draft.clicks
    memory = MaskMemory(size=2)
    masks = [np.eye(20, 30, k=k, dtype=bool) for k in range(3)]
    for length, mask in zip((4, 5, 6), masks):
        memory.put(clicks[:length], mask)
    assert memory.get(clicks[:4]) is None  # evicted
    assert np.array_equal(memory.latest_prefix(clicks), masks[1])


def test_an_unreadable_next_image_leaves_the_state_and_the_draft_on_the_current_image(tmp_path):
    Image.new("RGB", (30, 20), "white").save(tmp_path / "good.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    state = LabelingState(build_queue([tmp_path / "good.png", tmp_path / "broken.png"]), ["cat"])
    click_extremes(state)
    state.store_prediction(state.draft.clicks, box_mask(state), 0.9)
    with pytest.raises(ValueError, match="broken.png"):
        state.go_to(1)
    assert state.index == 0 and state.item.name == "good.png"
    obj = state.accept()
    assert state.objects["good.png"] == [obj] and state.objects["broken.png"] == []


def test_needs_prediction_asks_the_memory_without_unpacking_a_mask():
    state = make_state()
    click_extremes(state)
    assert state.draft.clicks not in state.draft.memory
    state.store_prediction(state.draft.clicks, box_mask(state), 0.9)
    assert state.draft.clicks in state.draft.memory
    state.draft.memory.get = lambda clicks: pytest.fail("needs_prediction unpacked a mask")
    assert not state.needs_prediction


def test_the_queue_takes_pil_images_bytes_s3_uris_and_a_groundtruth_manifest(tmp_path, monkeypatch):
    picture = Image.new("RGB", (8, 6), (10, 20, 30))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    picture.save(tmp_path / "local.png")
    with Image.open(tmp_path / "local.png") as opened:
        opened.load()
        named = build_queue([picture, buffer.getvalue(), opened])
    assert [item.name for item in named] == ["image-00001.png", "image-00002.png", "local.png"]
    assert all(item.load().shape == (6, 8, 3) for item in named)
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        session.client("s3").create_bucket(Bucket="photos")
        session.client("s3").put_object(Bucket="photos", Key="set/a.png", Body=buffer.getvalue())
        manifest = tmp_path / "input.manifest"
        manifest.write_text(json.dumps({"source-ref": "s3://photos/set/a.png"}) + "\n\n"
                            + json.dumps({"source-ref": "local.png"}) + "\n")
        queue = build_queue(manifest, s3_session=session)
        assert [item.name for item in queue] == ["a.png", "local.png"]
        assert queue[0].load()[0, 0].tolist() == [10, 20, 30] and queue[1].load().shape == (6, 8, 3)
        with pytest.raises(OSError, match=r"cannot read s3://photos/set/missing.png \(NoSuchKey\)"):
            build_queue(["s3://photos/set/missing.png"], s3_session=session)[0].load()
    (tmp_path / "bad.manifest").write_text('{"source": "x"}\n')
    with pytest.raises(ValueError, match="bad.manifest, line 1: expected a JSON object with a 'source-ref'"):
        build_queue(tmp_path / "bad.manifest")
    with pytest.raises(TypeError, match="s3:// URIs"):
        build_queue([3.5])
