"""The blog's 1,000-image bird job, rebuilt as a job folder: its schedule, costs and figures come out exactly.

The blog's run: 10 probe images, the rest of the first batch (190), a 200-image validation batch, then
200 human + 27 machine labels, then 8 human + 365 machine: 608 human ($158.08) + 392 machine ($31.36) =
$189.44 instead of $260 at the tutorial's prices ($0.08 fee + 5 workers x $0.036; machine labels $0.08).
"""
from __future__ import annotations

from datetime import datetime, timedelta

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from clickseg_widget.groundtruth import cost_dataframe, cost_table, load_job
from clickseg_widget.groundtruth.costs import CostModel
from clickseg_widget.groundtruth.job_folder_writer import JobFolderWriter
from clickseg_widget.groundtruth.plots import iteration_figure

SCHEDULE = [(10, 0), (190, 0), (200, 0), (200, 27), (8, 365)]  # (human, machine) per iteration


@pytest.fixture(scope="module")
def blog_job(tmp_path_factory):
    root = tmp_path_factory.mktemp("blog") / "ground-truth-od-demo"
    writer = JobFolderWriter(root, "ground-truth-od-demo", "bounding_box", "bird", "bird", "s3://bucket/output/")
    when = datetime(2019, 8, 1, 9, 0, 0)
    mask = np.zeros((40, 60), bool)
    mask[10:30, 15:45] = True
    lines, next_id = [], 0
    for iteration, (human, machine) in enumerate(SCHEDULE, start=1):
        batches = {}
        for is_human, count in ((True, human), (False, machine)):
            batch = {}
            for _ in range(count):
                object_id = str(next_id)
                batch[object_id] = writer.label_line(object_id, f"s3://bucket/birds/{next_id:04d}.jpg", mask, is_human,
                                                     0.9, when)
                next_id += 1
            batches[is_human] = batch
        writer.write_consolidation(iteration, batches[True], when)
        writer.write_auto_labels(iteration, batches[False])
        lines += [*batches[True].values(), *batches[False].values()]
        writer.write_manifest(lines, iteration)
        when += timedelta(hours=1)
    writer.write_manifest(lines)
    return load_job(root)


def test_the_blog_schedule_is_read_back_per_iteration(blog_job):
    counts = [(i.iteration, i.human_objects, i.machine_objects, i.human_boxes, i.machine_boxes)
              for i in blog_job.iterations.iterations]
    assert counts == [(n, h, m, h, m) for n, (h, m) in enumerate(SCHEDULE, start=1)]
    assert blog_job.iterations.source == "job folder" and len(blog_job.objects) == 1000


def test_the_blog_costs(blog_job):
    table = cost_table(blog_job, CostModel())
    assert [(row["human_cost"], row["machine_cost"]) for row in table["iterations"]] == [
        (2.60, 0.0), (49.40, 0.0), (52.00, 0.0), (52.00, 2.16), (2.08, 29.20)]
    assert table["totals"] == {
        "human_objects": 608, "machine_objects": 392, "human_cost": 158.08, "machine_cost": 31.36,
        "total_cost": 189.44, "all_human_cost": 260.0, "saving_percent": 27.14,
    }
    assert cost_dataframe(blog_job, CostModel()).loc["total", "total_cost"] == pytest.approx(189.44)


def test_the_blog_figure(blog_job):
    figure = iteration_figure(blog_job.iterations.iterations, CostModel(), with_boxes=True)
    costs, counts = figure.axes[:2]
    heights = [round(bar.get_height(), 2) for bar in costs.patches]
    assert heights == [2.60, 49.40, 52.00, 52.00, 2.08, 0.0, 0.0, 0.0, 2.16, 29.20]  # human bars, then machine on top
    assert "$189.44" in costs.get_title() and "all human: $260.00" in costs.get_title()
    assert counts.get_title() == "Human: 608 images, 608 boxes\nMachine: 392 images, 392 boxes"
    assert [tick.get_text() for tick in counts.get_xticklabels()] == ["1", "2", "3", "4", "5"]
