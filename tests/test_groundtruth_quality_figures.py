"""Label quality the tutorial's way (box mIoU, group mIoU) and what the quality figures draw, on hand-built jobs."""
from __future__ import annotations

import json
import re

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.patches import Rectangle

from clickseg_widget.cli import main
from clickseg_widget.groundtruth import label_quality, read_worker_boxes, report, write_label_pdfs
from clickseg_widget.groundtruth.iterations import IterationCounts
from clickseg_widget.groundtruth.job_results import load_job
from clickseg_widget.groundtruth.manifests import ManifestError
from clickseg_widget.groundtruth.matching import image_box_miou, matched_ious
from clickseg_widget.groundtruth.outputs import Box
from clickseg_widget.groundtruth.plots import REFERENCE_COLOR, LABEL_COLOR, iteration_figure
from clickseg_widget.groundtruth.quality import format_quality, quality_summary, score_labels


def box(left, top, width, height, confidence=None):
    return Box(0, left, top, width, height, confidence)


REFERENCE_A, REFERENCE_B = box(0, 0, 10, 10), box(100, 100, 10, 10)
GOOD = box(0, 0, 10, 15, confidence=0.9)  # IoU with A: 100 / 150 = 2/3
FAR = box(300, 300, 10, 10, confidence=0.5)  # overlaps nothing


# --- box mIoU -------------------------------------------------------------------------------------------------

def test_a_far_false_positive_uses_up_no_reference():
    # the issue's case: one good match, one far false positive, one missed reference.
    # tutorial: [2/3, 0 (false positive), 0 (missed B)] -> 2/9; matching the FP to B at IoU 0 gave 1/3
    assert matched_ious([GOOD, FAR], [REFERENCE_A, REFERENCE_B]) == pytest.approx([2 / 3, 0.0, 0.0])
    assert image_box_miou([GOOD, FAR], [REFERENCE_A, REFERENCE_B]) == pytest.approx(2 / 9)


def test_the_issues_numbers_0_227_not_0_340():
    # a good box at IoU 100/147 = 0.680 with A, a far false positive, B missed: (0.680 + 0 + 0) / 3 = 0.227;
    # letting the false positive use up B at IoU 0 gave (0.680 + 0) / 2 = 0.340
    good = box(0, 0, 10, 14.7, confidence=0.9)
    for far_confidence in (0.5, 0.99):  # whichever is matched first
        far = box(300, 300, 10, 10, confidence=far_confidence)
        assert image_box_miou([good, far], [REFERENCE_A, REFERENCE_B]) == pytest.approx(0.2268, abs=1e-4)


def test_a_confident_false_positive_cannot_steal_the_reference_of_a_later_match():
    far_and_sure = box(300, 300, 10, 10, confidence=0.99)
    good_but_unsure = box(0, 0, 10, 15, confidence=0.1)
    # the FP comes first; before, it took A at IoU 0 and left the good box nothing (mIoU 0)
    assert image_box_miou([far_and_sure, good_but_unsure], [REFERENCE_A]) == pytest.approx(1 / 3)


def test_non_overlapping_boxes_and_touching_edges_score_zero_each():
    assert matched_ious([box(20, 0, 10, 10, 0.9)], [REFERENCE_A]) == [0.0, 0.0]  # one FP and one miss
    assert matched_ious([box(10, 0, 10, 10, 0.9)], [REFERENCE_A]) == [0.0, 0.0]  # shares an edge: IoU 0
    assert image_box_miou([box(20, 0, 10, 10, 0.9)], [REFERENCE_A]) == 0.0


def test_empty_prediction_or_reference():
    assert image_box_miou([], []) == 1.0
    assert image_box_miou([GOOD], []) == 0.0 and matched_ious([GOOD], []) == [0.0]
    assert image_box_miou([], [REFERENCE_A, REFERENCE_B]) == 0.0 and matched_ious([], [REFERENCE_A, REFERENCE_B]) == [0, 0]


def test_most_confident_box_matches_first_and_ties_go_latest_first():
    exact = box(0, 0, 10, 10, confidence=0.1)
    offset = box(5, 0, 10, 10, confidence=0.9)  # IoU 1/3
    assert matched_ious([exact, offset], [REFERENCE_A]) == pytest.approx([1 / 3, 0.0])
    tie_first, tie_last = box(0, 0, 10, 10, 0.5), box(5, 0, 10, 10, 0.5)
    # the tutorial sorts ascending and reverses: of equal confidences the later box picks first
    assert matched_ious([tie_first, tie_last], [REFERENCE_A]) == pytest.approx([1 / 3, 0.0])


# --- a hand-built box job ---------------------------------------------------------------------------------------

def manifest_line(index: int, boxes: list[Box], human: bool) -> dict:
    return {
        "source-ref": f"s3://bucket/images/{index}.jpg",
        "category": {"image_size": [{"width": 400, "height": 400, "depth": 3}],
                     "annotations": [{"class_id": b.class_id, "left": b.left, "top": b.top, "width": b.width,
                                      "height": b.height} for b in boxes]},
        "category-metadata": {"objects": [{"confidence": b.confidence} for b in boxes], "class-map": {"0": "bird"},
                              "type": "groundtruth/object-detection", "human-annotated": "yes" if human else "no",
                              "creation-date": "2022-09-12T09:51:00.000000", "job-name": "labeling-job/birds"},
    }


@pytest.fixture
def box_job(tmp_path):
    """Two human images (confidence 0, as simulated humans get) and two machine images; no per-iteration files."""
    labels = [
        ([box(0, 0, 10, 10, 0.0)], True),  # exact: 1
        ([box(0, 0, 10, 15, 0.0), box(300, 300, 10, 10, 0.0)], True),  # the issue's case: 2/9
        ([box(0, 0, 10, 10, 0.9)], False),  # exact: 1
        ([box(5, 0, 10, 10, 0.6)], False),  # 1/3
    ]
    references = {
        "s3://bucket/images/0.jpg": [REFERENCE_A],
        "s3://bucket/images/1.jpg": [REFERENCE_A, REFERENCE_B],
        "s3://bucket/images/2.jpg": [REFERENCE_A],
        "s3://bucket/images/3.jpg": [REFERENCE_A],
    }
    manifest = tmp_path / "manifests/output/output.manifest"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("".join(json.dumps(manifest_line(i, b, h)) + "\n" for i, (b, h) in enumerate(labels)))
    return tmp_path, references


def test_quality_summary_gives_group_and_mean_image_miou(box_job):
    folder, references = box_job
    with pytest.warns(UserWarning, match="no per-iteration files"):
        job = load_job(folder)
    summary = quality_summary(score_labels(job, references))
    # pooled boxes: human [1] + [2/3, 0, 0], machine [1] + [1/3]
    assert summary["human"] == pytest.approx({"images": 2, "group_miou": (5 / 3) / 4, "mean_image_miou": (1 + 2 / 9) / 2})
    assert summary["machine"] == pytest.approx({"images": 2, "group_miou": 2 / 3, "mean_image_miou": 2 / 3})
    assert summary["whole"] == pytest.approx({"images": 4, "group_miou": 3 / 6, "mean_image_miou": (2 + 2 / 9 + 1 / 3) / 4})
    assert label_quality(job, references) == summary
    text = format_quality(summary)
    assert "mIoU for the whole dataset: 0.500 (4 images, mean of per-image mIoU 0.639)" in text and "human-labeled images: 0.417" in text
    assert "no images" in format_quality(quality_summary(score_labels(job, {"s3://bucket/images/0.jpg": [REFERENCE_A]})))


def test_figures_draw_reference_and_label_with_a_legend_and_say_what_is_missing(box_job):
    folder, references = box_job
    with pytest.warns(UserWarning):
        job = load_job(folder)
    figures = report(job, references, examples=2)

    best = figures["best"]
    rectangles = [p for ax in best.axes for p in ax.patches if isinstance(p, Rectangle)]
    edge = {matplotlib.colors.to_hex(p.get_edgecolor()) for p in rectangles}
    assert matplotlib.colors.to_hex(REFERENCE_COLOR) in edge and matplotlib.colors.to_hex(LABEL_COLOR) in edge
    reference_boxes = [p for p in rectangles if matplotlib.colors.to_hex(p.get_edgecolor()) == matplotlib.colors.to_hex(REFERENCE_COLOR)]
    assert len(reference_boxes) == 1 + 2 + 1 + 1  # every shown image's references
    assert [t.get_text() for t in best.legends[0].get_texts()] == ["job's label", "reference"]

    histogram = figures["miou_histograms"].axes
    assert histogram[0].get_title() == "human labels: 2 images\nmean of per-image mIoU 0.611 (group mIoU 0.417)"

    confidence = figures["confidence"]
    scatter, top = confidence.axes
    assert [t.get_text() for t in scatter.get_legend().get_texts()] == ["machine"]  # human confidences all 0
    assert len(top.get_lines()) == 1
    assert confidence.get_supxlabel() == "human labels not ranked by confidence (all 2 have confidence 0.00): none drawn"
    most = figures["most_confident"]
    assert "human labels not ranked by confidence" in most.legends[0].get_title().get_text()
    assert all("human" not in ax.get_title() for ax in most.axes)

    iterations = figures["iterations"]
    assert "No per-iteration files" in iterations.get_supxlabel()
    assert [t.get_text() for t in iterations.axes[0].get_xticklabels()] == ["all"]

    counts = figures["boxes"].axes[0]
    assert [t.get_text() for t in counts.get_legend().get_texts()] == ["human", "machine"]
    assert {p.get_alpha() for p in counts.patches} == {None}  # opaque bars, side by side: no mixed colour
    assert all(float(t).is_integer() for t in counts.get_xticks())
    confidence_ax = figures["boxes"].axes[1]
    assert [t.get_text() for t in confidence_ax.get_legend().get_texts()] == ["machine"]  # humans all at 0: no order
    assert len(confidence_ax.collections) == 1 and len(confidence_ax.collections[0].get_offsets()) == 2
    assert "human labels not ranked by confidence" in figures["boxes"].get_supxlabel()


def test_empty_machine_panel_says_so_and_iteration_axes_have_integer_ticks(box_job):
    folder, references = box_job
    with pytest.warns(UserWarning):
        job = load_job(folder)
    human_only = {k: v for k, v in references.items() if k.endswith(("0.jpg", "1.jpg"))}
    machine_ax = report(job, human_only)["miou_histograms"].axes[1]
    assert [t.get_text() for t in machine_ax.texts] == ["no machine labels"]
    assert list(machine_ax.get_yticks()) == [] and not machine_ax.patches
    human_only_figures = report(job, human_only)
    assert human_only_figures["best"].legends[0].get_title().get_text() == "no machine labels"
    most = human_only_figures["most_confident"]  # nothing ranked: one wide panel that says why
    assert [t.get_text() for ax in most.axes for t in ax.texts] == [
        "human labels not ranked by confidence (all 2 have confidence 0.00): none drawn"]
    assert most.get_size_inches()[0] >= 6

    curves = {1: [0.9, 0.5, 0.4], 2: [0.5, 0.3, 0.2, 0.1, 0.05]}
    figure = iteration_figure([IterationCounts(1, 10), IterationCounts(2, 5, 20)], curves=curves)
    figure.canvas.draw()
    for ax in figure.axes:
        assert all(float(t).is_integer() for t in ax.get_xticks()), ax.get_title()
    assert list(figure.axes[2].get_lines()[0].get_xdata()) == [1, 2, 3]  # epochs counted from 1

    human_only_job = iteration_figure([IterationCounts(1, 2), IterationCounts(2, 3)])  # machine bars of height 0
    human_only_job.canvas.draw()
    for ax in human_only_job.axes:  # the tallest bar does not touch the frame; counts tick at whole numbers
        assert ax.get_ylim()[1] > max(p.get_y() + p.get_height() for p in ax.patches)
    assert all(float(t).is_integer() for t in human_only_job.axes[1].get_yticks())


def worker_response(*answers):
    return {"answers": [{"workerId": worker, "answerContent": {"boundingBox": {
        "boundingBoxes": None if boxes is None else [{"label": "bird", "left": b.left, "top": b.top, "width": b.width,
                                                      "height": b.height} for b in boxes],
        "inputImageProperties": {"height": 400, "width": 400}}}} for worker, boxes in answers]}


def test_worker_answers_are_read_and_drawn_next_to_label_and_reference(box_job):
    folder, references = box_job
    response = folder / "annotations/worker-response/iteration-1/1/2022-09-12_09:50:00.json"
    response.parent.mkdir(parents=True)
    response.write_text(json.dumps(worker_response(("private.us-east-1.A", [box(0, 0, 10, 14)]),
                                                   ("private.us-east-1.B", [box(1, 1, 9, 9), box(300, 300, 9, 9)]),
                                                   ("private.us-east-1.C", None))))
    with pytest.warns(UserWarning):
        job = load_job(folder)
    answers = read_worker_boxes(job)
    assert list(answers) == ["s3://bucket/images/1.jpg"]
    assert [(a.worker_id[-1], len(a.boxes), a.iteration) for a in answers["s3://bucket/images/1.jpg"]] == [
        ("A", 1, 1), ("B", 2, 1), ("C", 0, 1)]
    assert answers["s3://bucket/images/1.jpg"][0].boxes[0] == Box(0, 0.0, 0.0, 10.0, 14.0)

    figure = report(job, references)["workers"]
    worker_ax, label_ax, reference_ax = figure.axes[:3]
    assert [worker_ax.get_title(), reference_ax.get_title()] == ["Worker labels", "Reference"]
    assert label_ax.get_title().startswith("Consolidated label\nmIoU 0.22")
    assert len(worker_ax.patches) == 3 and len({matplotlib.colors.to_hex(p.get_edgecolor()) for p in worker_ax.patches}) == 2
    assert worker_ax.get_legend().get_title().get_text() == "3 workers"
    assert len(reference_ax.patches) == 2 and len(label_ax.patches) == 2

    response.write_text("{}")
    with pytest.raises(ManifestError, match="not a worker response"):
        read_worker_boxes(job)
    with pytest.warns(UserWarning, match="not a worker response"):
        assert read_worker_boxes(job, lenient=True) == {}


def test_a_skipped_malformed_line_does_not_shift_answers_onto_other_images(box_job):
    """datasetObjectId is the line position: answers for object 2 belong to line 3 even when line 1 is unreadable."""
    folder, _ = box_job
    manifest = folder / "manifests/output/output.manifest"
    manifest.write_text("{not json\n" + manifest.read_text())  # images 0..3 now on lines 2..5 (objects 1..4)
    response = folder / "annotations/worker-response/iteration-1/2/2022-09-12_09:50:00.json"
    response.parent.mkdir(parents=True)
    response.write_text(json.dumps(worker_response(("private.us-east-1.A", [box(0, 0, 10, 14)]))))
    with pytest.warns(UserWarning):
        job = load_job(folder, lenient=True)
    assert list(read_worker_boxes(job)) == ["s3://bucket/images/1.jpg"]


def pdf_pages(path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", path.read_bytes()))


def test_pdfs_hold_every_image_sorted_with_title_pages(box_job, tmp_path):
    folder, references = box_job
    with pytest.warns(UserWarning):
        job = load_job(folder)
    scored = score_labels(job, references)
    written = write_label_pdfs(job, scored, tmp_path / "pdfs", rows=1, columns=1)
    assert {mode: [path.name for path in paths] for mode, paths in written.items()} == {
        "miou": ["labels-by-miou.pdf"], "confidence": ["labels-by-confidence.pdf"]}
    # by mIoU: title + (title + 2 images) per kind; by confidence: the human kind gets one page saying why
    assert {mode: pdf_pages(paths[0]) for mode, paths in written.items()} == {"miou": 1 + 3 + 3, "confidence": 1 + 1 + 3}
    with pytest.raises(ValueError, match="at least 1"):
        write_label_pdfs(job, [], tmp_path, rows=0)


def test_long_pdfs_roll_over_into_volumes_of_bounded_pages(box_job, tmp_path):
    """matplotlib keeps a file's images until it is closed: no file may grow past pages_per_file pages."""
    folder, references = box_job
    with pytest.warns(UserWarning):
        job = load_job(folder)
    written = write_label_pdfs(job, score_labels(job, references), tmp_path, rows=1, columns=1, pages_per_file=3)
    assert [path.name for path in written["miou"]] == [f"labels-by-miou-{n}-of-3.pdf" for n in (1, 2, 3)]
    assert [pdf_pages(path) for path in written["miou"]] == [3, 3, 1]
    assert [pdf_pages(path) for path in written["confidence"]] == [3, 2]


def test_report_cli_prints_group_miou_for_a_simulated_job(box_job, capsys, tmp_path):
    """A simulator folder carries its references as masks: the CLI prints the tutorial's group mIoU lines."""
    from PIL import Image

    folder, _ = box_job
    data = tmp_path / "data"
    (data / "masks").mkdir(parents=True)
    mask = np.zeros((400, 400), np.uint8)
    mask[0:10, 0:10] = 255  # reference A of images 0, 2 and 3 (image 1 has no reference here)
    Image.fromarray(mask).save(data / "masks/a.png")
    masks = {f"s3://bucket/images/{i}.jpg": "masks/a.png" for i in (0, 2, 3)}
    (folder / "simulation.json").write_text(json.dumps({"data_dir": str(data), "masks": masks}))
    assert main(["groundtruth", "report", str(folder)]) == 0
    out = capsys.readouterr().out
    # per-box IoUs pooled: human [1], machine [1, 1/3]
    assert "mIoU for the whole dataset: 0.778 (3 images, mean of per-image mIoU 0.778)" in out
    assert "mIoU for human-labeled images: 1.000 (1 images" in out
    assert "mIoU for machine-labeled images: 0.667 (2 images, mean of per-image mIoU 0.667)" in out
    assert main(["groundtruth", "report", str(folder), "--json"]) == 0
    quality = json.loads(capsys.readouterr().out)["quality"]
    assert quality["human"]["images"] == 1 and quality["machine"]["group_miou"] == pytest.approx(2 / 3)


def test_pdf_pages_draw_thumbnails_over_the_full_pixel_grid(box_job, tmp_path):
    """A page embeds each image at most THUMBNAIL pixels a side, placed over the image's own pixel grid."""
    from matplotlib.figure import Figure
    from PIL import Image

    from clickseg_widget.groundtruth.label_pdfs import THUMBNAIL
    from clickseg_widget.groundtruth.plots import draw_label

    folder, references = box_job
    data = tmp_path / "data"
    data.mkdir()
    Image.fromarray(np.zeros((1000, 800, 3), np.uint8)).save(data / "big.png")
    (folder / "simulation.json").write_text(json.dumps({"data_dir": str(data), "images": {"s3://bucket/images/0.jpg": "big.png"}}))
    with pytest.warns(UserWarning):
        job = load_job(folder)
    scored = [s for s in score_labels(job, references) if s.item.source_ref.endswith("0.jpg")][0]
    full, small = Figure().subplots(1, 2)
    draw_label(full, job, scored)
    draw_label(small, job, scored, thumbnail=THUMBNAIL)
    assert full.images[0].get_array().shape[:2] == (1000, 800)
    assert max(small.images[0].get_array().shape[:2]) <= THUMBNAIL
    assert small.images[0].get_extent() == full.images[0].get_extent() == [-0.5, 799.5, 999.5, -0.5]
    assert [p.get_bbox().bounds for p in small.patches] == [p.get_bbox().bounds for p in full.patches]
