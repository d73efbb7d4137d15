import json

import numpy as np
import pytest
from pycocotools.coco import COCO

from clickseg_widget.simulation.datasets import load_mask
from clickseg_widget.export.coco import CocoDataset, coco_annotation, mask_bbox
from clickseg_widget.protocol.masks import mask_to_rle, rle_to_mask
from clickseg_widget.export.groundtruth import label_map, read_label_map, semantic_segmentation_manifest_line
from clickseg_widget.export.png import load_mask_png, save_mask_png
from clickseg_widget.export.polygons import mask_to_polygons, polygons_to_mask
from clickseg_widget.simulation.metrics import iou
from clickseg_widget.io import atomic


@pytest.fixture(scope="module")
def real_mask(grabcut_dir):
    return load_mask(grabcut_dir / "masks" / "153093.png")[0]


def test_png_round_trip(tmp_path, real_mask):
    save_mask_png(real_mask, tmp_path / "m.png")
    assert (load_mask_png(tmp_path / "m.png") == real_mask).all()
    with pytest.raises(ValueError, match="2-D"):
        save_mask_png(np.zeros((2, 2, 3)), tmp_path / "bad.png")


def test_rle_round_trip_and_errors(real_mask):
    rle = mask_to_rle(real_mask)
    assert rle["size"] == list(real_mask.shape) and isinstance(rle["counts"], str)
    assert (rle_to_mask(json.loads(json.dumps(rle))) == real_mask).all()
    assert (rle_to_mask({"size": [2, 2], "counts": [1, 2, 1]}) == np.array([[0, 1], [1, 0]], bool)).all()
    with pytest.raises(ValueError, match="cover 3 pixels"):
        rle_to_mask({"size": [2, 2], "counts": [1, 2]})
    with pytest.raises(ValueError, match="'size'"):
        rle_to_mask({"counts": "abc"})


def test_coco_json_is_readable_by_pycocotools(tmp_path, real_mask):
    dataset = CocoDataset(["flower", "vase"])
    image_id = dataset.add_image("153093.jpg", real_mask.shape[1], real_mask.shape[0])
    annotation = dataset.add_annotation(image_id, real_mask, "vase", score=0.9)
    ys, xs = np.nonzero(real_mask)
    assert annotation["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
    assert annotation["area"] == real_mask.sum() and annotation["category_id"] == 2
    dataset.save(tmp_path / "coco.json")
    coco = COCO(str(tmp_path / "coco.json"))
    assert (coco.annToMask(coco.loadAnns(coco.getAnnIds())[0]) == real_mask).all()
    with pytest.raises(ValueError, match="does not match image"):
        dataset.add_annotation(image_id, real_mask[:-1], "vase")
    with pytest.raises(ValueError, match="unknown class 'cat'"):
        dataset.add_annotation(image_id, real_mask, "cat")
    with pytest.raises(ValueError, match="not added"):
        dataset.add_annotation(99, real_mask, "vase")
    with pytest.raises(ValueError, match="unique"):
        CocoDataset(["a", "a"])


def test_polygons_keep_holes_and_follow_the_mask(real_mask):
    ring = np.zeros((60, 80), bool)
    ring[10:50, 10:70] = True
    ring[20:40, 30:50] = False
    polygons = mask_to_polygons(ring, tolerance=0)
    assert len(polygons) == 1 and len(polygons[0].holes) == 1
    assert (polygons_to_mask(polygons, 60, 80) == ring).all()
    simplified = mask_to_polygons(real_mask, tolerance=1.0)
    assert iou(polygons_to_mask(simplified, *real_mask.shape), real_mask) > 0.97
    assert mask_to_polygons(np.zeros((5, 5), bool)) == []


def holed_mask() -> np.ndarray:
    """A plate with three holes, one near each other hole and one near the edge."""
    mask = np.zeros((120, 160), bool)
    mask[10:110, 10:150] = True
    mask[30:60, 30:60] = False
    mask[40:90, 90:130] = False
    mask[70:100, 20:50] = False
    return mask


def test_coco_polygons_keep_holes_when_pycocotools_rasterises_them():
    from pycocotools import mask as mask_utils

    from clickseg_widget.export.coco import mask_to_coco_polygons

    mask = holed_mask()
    polygons = mask_to_coco_polygons(mask, tolerance=0)
    assert len(polygons) == 1  # one object part: its holes ride in the same ring
    decoded = mask_utils.decode(mask_utils.frPyObjects(polygons, 120, 160))[:, :, 0].astype(bool)
    assert not decoded[45, 45] and not decoded[65, 110] and not decoded[85, 35]  # the holes stay holes
    assert iou(decoded, mask) > 0.95


def test_yolo_lines_keep_holes_when_filled():
    import cv2

    from clickseg_widget.export.yolo import yolo_segmentation_text

    mask = holed_mask()
    (line,) = yolo_segmentation_text([mask], [2], tolerance=0).splitlines()
    values = line.split()
    assert values[0] == "2"
    points = np.array(values[1:], float).reshape(-1, 2) * [160, 120]
    filled = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(filled, [np.round(points).astype(np.int32)], 1)
    assert not filled[45, 45] and not filled[65, 110] and not filled[85, 35]
    assert iou(filled.astype(bool), mask) > 0.97


def test_groundtruth_label_map_and_manifest_line():
    a = np.zeros((20, 30), bool)
    a[2:10, 2:10] = True
    b = np.zeros((20, 30), bool)
    b[5:15, 5:25] = True
    labels = label_map([a, b], [1, 0], ["Cat", "Dog & <Bird>"], confidence=0.8)
    classes = read_label_map(labels.png)
    assert classes[3, 3] == 2 and classes[12, 20] == 1 and classes[0, 0] == 0  # b painted over a
    assert labels.color_map["0"]["class-name"] == "BACKGROUND" and labels.color_map["2"]["class-name"] == "Dog & <Bird>"
    line = semantic_segmentation_manifest_line(
        "s3://b/img.jpg", "s3://b/out/0.png", labels.color_map, "animals-ref", "job-1", human_annotated=False
    )
    meta = line["animals-ref-metadata"]
    assert line["animals-ref"] == "s3://b/out/0.png" and meta["type"] == "groundtruth/semantic-segmentation"
    assert meta["human-annotated"] == "no" and meta["job-name"] == "labeling-job/job-1"
    with pytest.raises(ValueError, match="must end in '-ref'"):
        semantic_segmentation_manifest_line("s3://b/i.jpg", "s3://b/o.png", labels.color_map, "animals", "j")
    with pytest.raises(ValueError, match="2 masks but 1 class"):
        label_map([a, b], [0], ["Cat"])
    with pytest.raises(ValueError, match="shapes differ"):
        label_map([a, b[:-1]], [0, 0], ["Cat"])
    with pytest.raises(ValueError, match="out of range"):
        label_map([a], [3], ["Cat"])


def test_rgb_label_map_decodes_through_color_map():
    from io import BytesIO
    from PIL import Image

    rgb = np.full((2, 2, 3), 255, np.uint8)
    rgb[0, 0] = (0x2C, 0xA0, 0x2C)
    buffer = BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    color_map = {"0": {"class-name": "BACKGROUND", "hex-color": "#ffffff"}, "1": {"class-name": "Cat", "hex-color": "#2ca02c"}}
    assert read_label_map(buffer.getvalue(), color_map).tolist() == [[1, 0], [0, 0]]
    with pytest.raises(ValueError, match="needs its internal-color-map"):
        read_label_map(buffer.getvalue())


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "labels" / "coco.json"
    atomic.atomic_write_json(target, {"v": 1})

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic.atomic_write_json(target, {"v": 2})
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in target.parent.iterdir()] == ["coco.json"]  # no temp file left behind


def test_mask_bbox_of_empty_mask():
    assert mask_bbox(np.zeros((4, 4), bool)) == [0.0, 0.0, 0.0, 0.0]
    assert coco_annotation(np.zeros((4, 4), bool), 1, 1, 1)["area"] == 0


def test_forty_classes_get_forty_colours_and_the_label_map_decodes_each():
    from io import BytesIO
    from PIL import Image

    from clickseg_widget.export.groundtruth import class_colors

    names = [f"class {i}" for i in range(40)]
    colors = class_colors(names)
    assert len(set(colors)) == 40 and "#ffffff" not in colors and colors[:3] == ["#1f77b4", "#ff7f0e", "#2ca02c"]
    masks = []
    for index in range(40):
        mask = np.zeros((8, 40), bool)
        mask[:, index] = True
        masks.append(mask)
    labels = label_map(masks, list(range(40)), names)
    rgb = BytesIO()
    Image.open(BytesIO(labels.png)).convert("RGB").save(rgb, format="PNG")  # decoded by colour, as Ground Truth does
    decoded = read_label_map(rgb.getvalue(), labels.color_map)
    assert decoded[0].tolist() == list(range(1, 41))
