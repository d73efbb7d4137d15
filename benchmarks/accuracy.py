"""Accuracy and latency of backends on a benchmark folder, for benchmarks/RESULTS.md.

    python benchmarks/accuracy.py ../shared/data/grabcut --backends grabcut torch
    python benchmarks/accuracy.py ../shared/data/grabcut --backends torch --jitter 4
    python benchmarks/accuracy.py ../shared/data/grabcut --backends torch --mode boundary
    python benchmarks/accuracy.py ../shared/data/grabcut --backends torch grabcut --start box
    python benchmarks/accuracy.py ~/.cache/clickseg-data/ecssd --backends torch   # a validation set, never trained on

Each run is saved as JSON in benchmarks/results/ and printed as a Markdown row.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from clickseg_widget.simulation.datasets import load_samples
from clickseg_widget.evaluation.runner import evaluate
from clickseg_widget.models.registry import get_segmenter, parse_backend_options

RESULTS_DIR = Path(__file__).parent / "results"


def machine() -> str:
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, {cuda}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--backends", nargs="+", default=["grabcut"])
    parser.add_argument("--corrective-clicks", type=int, default=5)
    parser.add_argument("--mode", default="standard")
    parser.add_argument("--start", default="extreme", choices=["extreme", "box"])
    parser.add_argument("--backend-option", action="append", default=[], metavar="KEY=VALUE", help="passed to every backend")
    parser.add_argument("--jitter", type=float, default=0.0)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    samples = load_samples(args.data_dir, args.limit)
    RESULTS_DIR.mkdir(exist_ok=True)
    for backend in args.backends:
        started = time.time()
        segmenter = get_segmenter(backend, **parse_backend_options(args.backend_option, "--backend-option"))
        report = evaluate(segmenter, samples, args.corrective_clicks, mode=args.mode, jitter=args.jitter, start=args.start)
        data = report.to_json() | {
            "dataset": args.data_dir.name,
            "limit": args.limit,
            "machine": machine(),
            "load_average": os.getloadavg(),
            "wall_s": round(time.time() - started),
        }
        options = "".join(f"_{o.replace('=', '-')}" for o in args.backend_option)
        limit = f"_first{args.limit}" if args.limit else ""
        name = f"{args.data_dir.name}{limit}_{backend}{options}_{args.start}_{args.mode}_j{args.jitter:g}.json"
        (RESULTS_DIR / name).write_text(json.dumps(data, indent=2) + "\n")
        miou = " | ".join(f"{v:.2f}" for v in data["miou"])
        lat = data["latency_ms"]
        print(
            f"| {args.data_dir.name}{' first ' + str(args.limit) if args.limit else ''} | {backend} | {args.start} start, {args.mode}"
            f"{' jitter ' + format(args.jitter, 'g') + ' px' if args.jitter else ''} | {miou} | "
            f"{data['noc85']:.2f} | {data['noc90']:.2f} ({data['noc90_failed']}) | {100 * data['honour_rate']:.2f} | "
            f"{lat['first']['p50']:.0f} / {lat['first']['p90']:.0f} | "
            f"{lat['corrective']['p50']:.1f} / {lat['corrective']['p90']:.1f} | {data['peak_rss_mb']:.0f} |"
        )


if __name__ == "__main__":
    main()
