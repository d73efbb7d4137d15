"""Measure one auto-labeling run: human labels needed, machine-label quality against the target, cost, time.

Usage (from the repo root):
    python benchmarks/groundtruth_simulation.py ../shared/data/davis345 --model grabcut --limit 120
    python benchmarks/groundtruth_simulation.py ~/.cache/clickseg-data/ecssd --model default --widget \\
        --limit 0 --probe-size 10 --batch-size 100

``--widget``: the human of the loop labels through the widget's Python API (a box, then the simulated
user's corrective clicks; ``widget_auto_labeling``) instead of returning degraded references.  On a
validation set (ECSSD, Penn-Fudan) the loop's own fine-tune runs in memory on the run's human labels and
is saved nowhere (the product's behaviour); ``--epochs 0`` turns it off.

Writes benchmarks/results/groundtruth_<dataset>_<model>_<task>[_widget].json and prints the
per-iteration table and the summary; copy the numbers into benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import tempfile
import time
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from clickseg_widget.groundtruth import arns
from clickseg_widget.groundtruth.costs import CostModel
from clickseg_widget.groundtruth.job_results import load_job
from clickseg_widget.groundtruth.quality import score_labels
from clickseg_widget.groundtruth.reporting import cost_table, format_table
from clickseg_widget.groundtruth.simulator import SimulationSettings, simulate
from clickseg_widget.groundtruth.widget_loop import widget_auto_labeling
from clickseg_widget.models.registry import get_segmenter

RESULTS = Path(__file__).resolve().parent / "results"
SEGMENTATION_PRICE = arns.TASK_TYPES["semantic_segmentation"].prices_usd[0]
PRICES = {  # name -> (cost model, where its prices come from)
    "tutorial": (CostModel(), "AWS Ground Truth public tutorial (bird boxes): $0.08 per-object fee + 5 workers x $0.036 "
                              "per human label, $0.08 per machine label"),
    "segmentation_one_person": (
        CostModel(Decimal("0.08"), 1, Decimal(SEGMENTATION_PRICE)),
        f"$0.08 per-object fee + 1 person x ${SEGMENTATION_PRICE}, the lowest public-workforce price Ground Truth "
        "lists for semantic segmentation (PublicWorkforceTaskPrice table); $0.08 per machine label",
    ),
}


def mean_with_interval(values: list[float]) -> dict[str, Any]:
    """Mean and its 95% normal-approximation interval: is a margin over the target more than noise?"""
    if not values:
        return {"mean": None, "n": 0, "ci95": None}
    mean = float(np.mean(values))
    half = 1.96 * float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")
    return {"mean": round(mean, 4), "n": len(values), "ci95": [round(mean - half, 4), round(mean + half, 4)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--model", default="grabcut")
    parser.add_argument("--task", default="semantic_segmentation", choices=["semantic_segmentation", "bounding_box"])
    parser.add_argument("--limit", type=int, default=120, help="objects spread over the dataset; 0 = all")
    parser.add_argument("--probe-size", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=2, help="fine-tune epochs per round (torch backend)")
    parser.add_argument("--annotator-noise", type=float, default=2.0)
    parser.add_argument("--box-noise", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--widget", action="store_true",
                        help="the human labels through the widget's Python API (box + corrective clicks) instead of degraded references")
    args = parser.parse_args()

    settings = SimulationSettings(
        task=args.task, limit=args.limit or None, probe_size=args.probe_size, batch_size=args.batch_size,
        fine_tune_epochs=args.epochs, annotator_noise_px=args.annotator_noise, box_noise=args.box_noise, seed=args.seed,
    )
    segmenter = get_segmenter(args.model)
    weights = segmenter.describe().get("weights")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        annotator = None
        if args.widget:
            result, annotator = widget_auto_labeling(
                args.data_dir, out, segmenter, settings, progress=False, fine_tune_on_held_out=True
            )
        else:
            result = simulate(args.data_dir, out, segmenter, settings, progress=False, fine_tune_on_held_out=True)
        seconds = time.perf_counter() - start
        job = load_job(result.folder)
        costs = {name: {**cost_table(job, model)["totals"], "prices": source} for name, (model, source) in PRICES.items()}
        scored = score_labels(job)
        machine = [(s.confidence, s.miou) for s in scored if not s.human and s.confidence is not None]
    print(format_table(cost_table(job)))
    target = float(result.settings.target_miou or 0)  # resolved: never None
    machine_quality = mean_with_interval([m for _, m in machine])
    thresholds = [r for r in result.iterations if r.machine]
    record = {
        "dataset": Path(args.data_dir).name,
        "model": args.model,
        "weights_sha256": hashlib.sha256(Path(weights).read_bytes()).hexdigest()[:12] if weights else None,
        "human": "widget" if args.widget else "simulated",
        "settings": asdict(result.settings),  # resolved: the target, validation share and confidence in force
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared), no GPU",
        "load_average_1_5_15min": {"before": [round(v, 2) for v in load_before], "after": [round(v, 2) for v in os.getloadavg()]},
        "iterations": [asdict(r) for r in result.iterations],
        "human_labels": result.human_labels,
        "widget_clicks": annotator.clicks if annotator else None,
        "machine_labels": result.machine_labels,
        "unlabeled": result.unlabeled,
        "target_miou": target,
        "validation_miou_above_threshold": [r.validation_miou_above for r in thresholds],
        "validation_miou_low": [r.validation_miou_low for r in thresholds],
        "validation_support": [r.validation_support for r in thresholds],
        "human_miou": result.human_miou,
        "machine_miou": machine_quality,
        # None when the model labeled nothing: there is nothing to reach the target
        "machine_reaches_target": None if machine_quality["mean"] is None else machine_quality["mean"] >= target,
        "machine_reaches_target_beyond_noise": None if machine_quality["ci95"] is None else machine_quality["ci95"][0] >= target,
        "machine_confidence_range": [min(c for c, _ in machine), max(c for c, _ in machine)] if machine else None,
        "machine_confidence_miou_pearson": float(np.corrcoef(np.array(machine).T)[0, 1]) if len(machine) > 2 else None,
        "costs": costs,
        "seconds": round(seconds, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    name = f"groundtruth_{record['dataset']}_{args.model}_{args.task}{'_widget' if args.widget else ''}.json"
    (RESULTS / name).write_text(json.dumps(record, indent=2) + "\n")
    keys = ("human_labels", "widget_clicks", "machine_labels", "unlabeled", "target_miou", "validation_miou_above_threshold",
            "validation_miou_low", "human_miou", "machine_miou", "machine_reaches_target", "machine_reaches_target_beyond_noise",
            "seconds")
    print(json.dumps({k: record[k] for k in keys} | {"saving_percent": {k: v["saving_percent"] for k, v in costs.items()}}, indent=2))


if __name__ == "__main__":
    main()
