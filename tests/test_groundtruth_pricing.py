"""Each task is priced at its own Mechanical Turk price list, in the API and the CLI."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from clickseg_widget.cli import main
from clickseg_widget.groundtruth.costs import CostModel


def test_each_task_defaults_to_its_lowest_allowed_price_and_usual_workers():
    segmentation = CostModel.for_task("semantic_segmentation")
    assert (segmentation.workers_per_object, segmentation.worker_price) == (3, Decimal("0.840"))
    assert segmentation.human_price == Decimal("2.60") and segmentation.machine_price == Decimal("0.08")
    assert CostModel.for_task("bounding_box") == CostModel()  # the box tutorial's $0.26 per human label
    assert CostModel.for_task("adjustment_semantic_segmentation").human_price == Decimal("0.92")
    chosen = CostModel.for_task("semantic_segmentation", per_object_fee="0.04", workers_per_object=1, worker_price="1.2")
    assert chosen.human_price == Decimal("1.24")
    with pytest.raises(ValueError, match="unknown task type"):
        CostModel.for_task("polygons")


def test_cli_simulation_of_segmentation_prints_segmentation_prices(shared_data, tmp_path, capsys):
    code = main(["groundtruth", "simulate", str(shared_data / "davis345"), str(tmp_path), "--model", "grabcut",
                 "--limit", "6", "--probe-size", "2", "--batch-size", "3", "--target-miou", "1.01",
                 "--max-human-labels", "4", "--epochs", "0", "--no-progress", "--json"])
    assert code == 0
    out = capsys.readouterr().out
    totals = json.loads(out[out.index("{"):])["totals"]
    # unreachable target: 4 human labels at $0.08 + 3 x $0.84 each, none at the box tutorial's $0.26
    assert (totals["human_objects"], totals["machine_objects"]) == (4, 0)
    assert totals["human_cost"] == pytest.approx(4 * 2.60)
    assert main(["groundtruth", "report", str(tmp_path / "clickseg-simulation"), "--workers", "1", "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{"):])["totals"]["human_cost"] == pytest.approx(4 * 0.92)


def test_the_budget_counts_the_segmentation_price(shared_data, tmp_path):
    from clickseg_widget.groundtruth.simulator import Simulation, SimulationSettings
    from clickseg_widget.models.registry import get_segmenter

    settings = SimulationSettings(limit=6, probe_size=2, batch_size=3, fine_tune_epochs=0, max_cost_usd=8.0)
    result = Simulation(shared_data / "davis345", tmp_path, get_segmenter("grabcut", work_size=64, iterations=2),
                        settings).run()
    assert result.human_labels == 3  # $8 buys three $2.60 labels, not thirty at $0.26


def test_a_job_is_priced_by_its_task_and_one_without_a_price_list_by_the_box_tutorial():
    from clickseg_widget.groundtruth.costs import job_prices

    assert job_prices("semantic_segmentation").human_price == Decimal("2.60")
    assert job_prices(None) == CostModel() and job_prices("classification") == CostModel()
    assert job_prices("semantic_segmentation", workers_per_object=1).human_price == Decimal("0.92")
