"""Measure one auto-labeling simulation: cost forecast, label quality, run time.

Usage (from the repo root):
    python benchmarks/groundtruth_simulation.py ../shared/data/davis345 --model grabcut --limit 120

Writes benchmarks/results/groundtruth_<dataset>_<model>_<task>.json and prints
the per-iteration table; copy the numbers into benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from clickseg_widget.groundtruth.costs import CostModel
from clickseg_widget.groundtruth.job_results import load_job
from clickseg_widget.groundtruth.quality import score_labels
from clickseg_widget.groundtruth.reporting import cost_table, format_table
from clickseg_widget.groundtruth.simulator import SimulationSettings, simulate
from clickseg_widget.models.registry import get_segmenter

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir")
    parser.add_argument("--model", default="grabcut")
    parser.add_argument("--task", default="semantic_segmentation", choices=["semantic_segmentation", "bounding_box"])
    parser.add_argument("--limit", type=int, default=120)
    parser.add_argument("--probe-size", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--annotator-noise", type=float, default=2.0)
    parser.add_argument("--box-noise", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    settings = SimulationSettings(
        task=args.task, limit=args.limit, probe_size=args.probe_size, batch_size=args.batch_size,
        fine_tune_epochs=args.epochs, annotator_noise_px=args.annotator_noise, box_noise=args.box_noise, seed=args.seed,
    )
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = simulate(args.data_dir, out, get_segmenter(args.model), settings, progress=False)
        seconds = time.perf_counter() - start
        job = load_job(result.folder)
        table = cost_table(job, CostModel.for_task(args.task))  # the task's own price list
        machine = [(s.confidence, s.miou) for s in score_labels(job) if not s.human]
    print(format_table(table))
    record = {
        "dataset": Path(args.data_dir).name,
        "model": args.model,
        "settings": asdict(settings),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared), no GPU",
        "iterations": [asdict(r) for r in result.iterations],
        "totals": table["totals"],
        "human_miou": result.human_miou,
        "machine_miou": result.machine_miou,
        "unlabeled": result.unlabeled,
        "machine_confidence_range": [min(c for c, _ in machine), max(c for c, _ in machine)] if machine else None,
        "machine_confidence_miou_pearson": float(np.corrcoef(np.array(machine).T)[0, 1]) if len(machine) > 2 else None,
        "seconds": round(seconds, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    name = f"groundtruth_{record['dataset']}_{args.model}_{args.task}.json"
    (RESULTS / name).write_text(json.dumps(record, indent=2) + "\n")
    keys = ("human_miou", "machine_miou", "unlabeled", "machine_confidence_range", "machine_confidence_miou_pearson", "seconds")
    print(json.dumps({k: record[k] for k in keys}, indent=2))


if __name__ == "__main__":
    main()
