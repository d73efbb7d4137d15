"""Importing existing labels (COCO RLE/polygons, Ground Truth output, PNG folders) and the round trip through the widget."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clickseg_widget.export.coco import CocoDataset, segmentation_to_mask
from clickseg_widget.export.groundtruth import label_map, semantic_segmentation_manifest_line
from clickseg_widget.export.importing import import_coco, import_groundtruth_manifest, import_labels, import_mask_folder
from clickseg_widget.simulation.metrics import iou
from clickseg_widget.export.png import save_mask_png
from clickseg_widget.export.polygons import mask_to_polygons
from clickseg_widget.widget import ClickSegWidget

from test_widget_api import BoxSegmenter


def disk(cx: int, cy: int, r: int, shape=(60, 80)) -> np.ndarray:
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


@pytest.fixture
def coco_file(tmp_path) -> Path:
    """Two images: an RLE object and a polygon object (as another tool writes them)."""
    dataset = CocoDataset(["cat", "dog"])
    a = dataset.add_image("a.png", 80, 60)
    b = dataset.add_image("b.png", 80, 60)
    dataset.add_annotation(a, disk(20, 20, 10), "cat", score=0.4)
    dataset.annotations.append({
        "id": 7, "image_id": b, "category_id": 2, "iscrowd": 0, "area": 800.0, "bbox": [40.0, 10.0, 30.0, 40.0],
        "segmentation": [[40.0, 10.0, 70.0, 10.0, 70.0, 50.0, 40.0, 50.0]],
    })
    path = tmp_path / "labels.json"
    dataset.save(path)
    return path


def test_coco_rle_and_polygons_import_with_class_and_score(coco_file):
    imported = import_coco(coco_file)
    (cat,), (dog,) = imported["a.png"], imported["b.png"]
    assert cat.class_name == "cat" and cat.score == 0.4 and (cat.mask == disk(20, 20, 10)).all()
    assert dog.class_name == "dog" and dog.mask[30, 55] and not dog.mask[30, 35] and dog.mask.sum() == 30 * 40  # pycocotools rasterisation: the polygon's area
    assert dog.coco_fields["segmentation"] == [[40.0, 10.0, 70.0, 10.0, 70.0, 50.0, 40.0, 50.0]]


def test_bad_coco_files_are_refused_with_where_and_what(tmp_path, coco_file):
    coco = json.loads(coco_file.read_text())
    coco["annotations"][1]["segmentation"] = [[1, 2, 3, 4]]
    (tmp_path / "bad.json").write_text(json.dumps(coco))
    with pytest.raises(ValueError, match="annotation 7: a COCO polygon is a flat"):
        import_coco(tmp_path / "bad.json")
    (tmp_path / "x.json").write_text("[]")
    with pytest.raises(ValueError, match="is not COCO JSON"):
        import_coco(tmp_path / "x.json")
    with pytest.raises(ValueError, match="RLE object or a list of polygons"):
        segmentation_to_mask(None, 4, 4)


def test_groundtruth_output_manifest_imports_one_object_per_class(tmp_path):
    labels = label_map([disk(20, 20, 10), disk(60, 30, 8)], [0, 1], ["cat", "dog"], confidence=0.7)
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "a.png").write_bytes(labels.png)
    line = semantic_segmentation_manifest_line("s3://bucket/images/a.png", "maps/a.png", labels.color_map, "pets-ref", "j")
    (tmp_path / "output.manifest").write_text(json.dumps(line) + "\n")
    (cat, dog) = import_groundtruth_manifest(tmp_path / "output.manifest")["a.png"]
    assert (cat.class_name, dog.class_name) == ("cat", "dog") and cat.score == 0.7
    assert (dog.mask == disk(60, 30, 8)).all()
    line["pets-ref"] = "s3://bucket/out/a.png"
    (tmp_path / "remote.manifest").write_text(json.dumps(line) + "\n")
    with pytest.raises(ValueError, match="line 1: s3://bucket/out/a.png is not a local file"):
        import_groundtruth_manifest(tmp_path / "remote.manifest")


def test_png_folder_imports_binary_and_instance_masks_by_image_stem(tmp_path):
    save_mask_png(disk(20, 20, 10), tmp_path / "a-1.png")
    save_mask_png(disk(50, 30, 5), tmp_path / "a-2.png")
    instances = np.zeros((60, 80), np.uint8)
    instances[disk(20, 20, 5)] = 1
    instances[disk(60, 40, 5)] = 2
    Image.fromarray(instances).save(tmp_path / "b.png")
    imported = import_mask_folder(tmp_path, ["a.jpg", "b.jpg"], "cell")
    assert len(imported["a.jpg"]) == 2 and len(imported["b.jpg"]) == 2
    assert all(o.class_name == "cell" for o in imported["b.jpg"]) and imported["b.jpg"][1].mask[40, 60]
    assert import_labels(tmp_path, ["a.jpg", "b.jpg"], class_name="cell").keys() == imported.keys()
    with pytest.raises(ValueError, match="c.png names no image in the queue"):
        save_mask_png(disk(5, 5, 2), tmp_path / "c.png")
        import_mask_folder(tmp_path, ["a.jpg", "b.jpg"])


def test_import_review_fix_and_export_round_trip(tmp_path, coco_file):
    for name in ("a.png", "b.png"):
        Image.new("RGB", (80, 60), "gray").save(tmp_path / name)
    segmenter = BoxSegmenter()
    seen_previous = []
    segment = segmenter.segment
    segmenter.segment = lambda context, clicks, previous: seen_previous.append(previous) or segment(context, clicks, previous)
    widget = ClickSegWidget([tmp_path / "a.png", tmp_path / "b.png"], segmenter=segmenter, classes=["cat"],
                            autosave=tmp_path / "out", canvas_size=(160, 120))
    assert widget.import_labels(coco_file) == 2
    assert widget.state.classes == ["cat", "dog"] and len(widget.accepted) == 2
    assert (tmp_path / "out" / "masks").is_dir() and len(list((tmp_path / "out" / "masks").iterdir())) == 2
    # Re-open the cat and fix it with a negative click: the imported mask goes to the model as ``previous``.
    (cat,) = widget.objects
    widget.reopen(cat.object_id)
    assert [c.kind.value for c in widget.clicks] == ["box", "box"] and (widget.mask == disk(20, 20, 10)).all()
    widget.click(20, 20, "negative")
    assert (seen_previous[-1] == disk(20, 20, 10)).all() and not widget.mask[20, 20]
    widget.accept()
    original = json.loads(coco_file.read_text())["annotations"]
    for exported in (widget.to_coco(), json.loads((tmp_path / "out" / "annotations.json").read_text())):
        by_id = {a["id"]: a for a in exported["annotations"]}
        untouched = by_id[2]  # the dog, never re-opened: written exactly as read
        assert {k: untouched[k] for k in ("segmentation", "area", "bbox")} == {k: original[1][k] for k in ("segmentation", "area", "bbox")}
        assert by_id[1]["segmentation"] != original[0]["segmentation"]
    widget.close()
    resumed = ClickSegWidget([tmp_path / "a.png", tmp_path / "b.png"], segmenter=segmenter, classes=["cat"],
                             autosave=tmp_path / "out", canvas_size=(160, 120))
    assert resumed.to_coco()["annotations"] == widget.to_coco()["annotations"]  # polygons survive a restart
    resumed.close()


def test_exports_as_coco_polygons_and_yolo_segmentation(tmp_path):
    widget = ClickSegWidget([np.zeros((60, 80, 3), np.uint8)], segmenter=BoxSegmenter(), classes=["cat", 'dog "x"'],
                            autosave=None, canvas_size=(160, 120))
    widget.add_box(10, 10, 30, 40)
    widget.accept()
    widget.set_class('dog "x"')
    widget.add_box(50, 5, 70, 20)
    widget.accept()
    coco = widget.to_coco(tmp_path / "polygons.json", polygons=True)
    first = coco["annotations"][0]["segmentation"]
    # contours run through pixel centres: COCO's rasteriser gives back the mask less half a pixel of border
    assert isinstance(first, list) and iou(segmentation_to_mask(first, 60, 80), widget.objects[0].mask) > 0.9
    (label_file,) = widget.to_yolo(tmp_path / "yolo")
    lines = label_file.read_text().splitlines()
    assert label_file.name == "image-00001.txt" and [line.split()[0] for line in lines] == ["0", "1"]
    values = [float(v) for v in lines[1].split()[1:]]
    xs, ys = values[0::2], values[1::2]
    assert min(xs) == pytest.approx(50 / 80) and max(ys) == pytest.approx(20 / 60)
    yaml = (tmp_path / "yolo" / "data.yaml").read_text()
    assert '  1: "dog \\"x\\""' in yaml
    assert mask_to_polygons(widget.objects[0].mask)  # the YOLO line came from these
    widget.close()


def test_groundtruth_and_png_imports_export_back_the_same_labels(tmp_path):
    from clickseg_widget.export.groundtruth import read_label_map
    from clickseg_widget.export.png import load_mask_png

    Image.new("RGB", (80, 60), "gray").save(tmp_path / "a.png")
    labels = label_map([disk(20, 20, 10), disk(60, 30, 8)], [0, 1], ["cat", "dog"])
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "a.png").write_bytes(labels.png)
    line = semantic_segmentation_manifest_line("a.png", "maps/a.png", labels.color_map, "pets-ref", "j")
    (tmp_path / "output.manifest").write_text(json.dumps(line) + "\n")
    widget = ClickSegWidget([tmp_path / "a.png"], segmenter=BoxSegmenter(), classes=["cat", "dog"],
                            autosave=tmp_path / "out", canvas_size=(160, 120))
    assert widget.import_labels(tmp_path / "output.manifest") == 2
    (exported,) = widget.to_groundtruth_manifest()
    assert np.array_equal(read_label_map(Path(exported["clickseg-ref"]).read_bytes()), read_label_map(labels.png))
    # A folder of PNG masks comes back as the autosave's PNG masks, pixel for pixel.
    (tmp_path / "pngs").mkdir()
    save_mask_png(disk(40, 40, 6), tmp_path / "pngs" / "a-1.png")
    assert widget.import_labels(tmp_path / "pngs", class_name="cat") == 1
    saved = json.loads((tmp_path / "out" / "annotations.json").read_text())["annotations"][-1]["clickseg"]["mask_png"]
    assert np.array_equal(load_mask_png(tmp_path / "out" / saved), disk(40, 40, 6))
    widget.close()
