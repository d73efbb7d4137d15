"""Accepted labels are never lost or mixed up: failed writes, two widgets on one folder, leftover temporaries."""
from __future__ import annotations

import errno
import json

import numpy as np
import pytest

from clickseg_widget.export.png import load_mask_png
from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask, load_samples
from clickseg_widget.widget import autosave
from clickseg_widget.widget.autosave import ConcurrentWriterError
from clickseg_widget.widget.widget import ClickSegWidget


@pytest.fixture(scope="module")
def sample(grabcut_dir):
    item = load_samples(grabcut_dir, limit=1)[0]
    truth, ignore = load_mask(item.mask_path)
    return item.image_path, Clicker(truth, ignore).extreme_clicks()


def open_widget(sample, folder) -> ClickSegWidget:
    return ClickSegWidget([sample[0]], segmenter="grabcut", classes=["thing"], autosave=folder, canvas_size=(160, 120))


def draw(widget: ClickSegWidget, sample) -> None:
    for click in sample[1]:
        widget.click(click.x, click.y)
    widget.wait()


def saved_ids(folder) -> list[int]:
    return [a["id"] for a in json.loads((folder / "annotations.json").read_text())["annotations"]]


def test_an_accept_whose_autosave_fails_is_not_accepted_and_stays_editable(sample, tmp_path, monkeypatch):
    folder = tmp_path / "labels"
    widget = open_widget(sample, folder)
    try:
        draw(widget, sample)
        drawn = widget.mask.copy()

        def disk_full(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(autosave, "atomic_write_json", disk_full)
        with pytest.raises(OSError, match="No space left"):
            widget.accept()
        assert widget.objects == [] and not (folder / "annotations.json").exists()
        assert list((folder / "masks").glob("*.png")) == []  # no PNG that no index names
        assert len(widget.state.draft.clicks) == 4 and np.array_equal(widget.mask, drawn)
        assert "not accepted" in widget.toolbar.status.value and "No space left" in widget.toolbar.status.value
        monkeypatch.undo()
        obj = widget.accept()
        assert obj.object_id == 1 and saved_ids(folder) == [1]
    finally:
        widget.close()
    resumed = open_widget(sample, folder)
    try:
        assert [o.object_id for o in resumed.objects] == [1]
    finally:
        resumed.close()


def test_a_delete_whose_autosave_fails_keeps_the_object_in_the_widget_and_on_disk(sample, tmp_path, monkeypatch):
    folder = tmp_path / "labels"
    widget = open_widget(sample, folder)
    try:
        draw(widget, sample)
        kept = widget.accept()
        widget.select(kept.object_id)

        def disk_full(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(autosave, "atomic_write_json", disk_full)
        with pytest.raises(OSError, match="No space left"):
            widget.delete()
        assert [o.object_id for o in widget.objects] == [1] and widget.state.selected_id == 1
        assert np.array_equal(widget.objects[0].mask, kept.mask)
        assert saved_ids(folder) == [1] and (folder / "masks" / f"{sample[0].stem}-1.png").exists()
        assert "not deleted" in widget.toolbar.status.value and "No space left" in widget.toolbar.status.value
        monkeypatch.undo()
        widget.delete()
        assert widget.objects == [] and saved_ids(folder) == []
    finally:
        widget.close()


def test_a_second_widget_on_the_same_folder_never_overwrites_the_first(sample, tmp_path):
    folder = tmp_path / "labels"
    first, second = open_widget(sample, folder), open_widget(sample, folder)
    try:
        draw(first, sample)
        draw(second, sample)
        second.click(*np.argwhere(second.mask)[0][::-1], "negative")  # a different mask
        second.wait()
        accepted = first.accept()
        with pytest.raises(ConcurrentWriterError, match="another widget"):
            second.accept()
        assert saved_ids(folder) == [1]
        png = load_mask_png(folder / "masks" / f"{sample[0].stem}-1.png")
        assert np.array_equal(png, accepted.mask)
        assert second.objects == [] and len(second.state.draft.clicks) == 5  # still editable
        assert "another widget" in second.toolbar.status.value
        draw(first, sample)
        assert first.accept().object_id == 2 and saved_ids(folder) == [1, 2]
    finally:
        first.close()
        second.close()


def test_leftover_temporary_files_are_removed_on_open(sample, tmp_path):
    folder = tmp_path / "labels"
    (folder / "masks").mkdir(parents=True)
    leftovers = [folder / ".annotations.json.k2j3.tmp", folder / "masks" / f".{sample[0].stem}-1.png.x8y.tmp"]
    for path in leftovers:
        path.write_bytes(b"half a write")
    keep = folder / "notes.tmp"
    keep.write_text("not ours")
    widget = open_widget(sample, folder)
    widget.close()
    assert not any(path.exists() for path in leftovers) and keep.exists()
