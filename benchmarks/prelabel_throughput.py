"""Local pre-labeling throughput (objects/s) with 1 and N workers, and the mIoU of the box-started masks.

Usage (from the repo root):
    python benchmarks/prelabel_throughput.py ~/.cache/clickseg-data/ecssd ~/.cache/clickseg-data/pennfudan --objects 1000

Each object's prompt is its ground-truth mask's tight box (what a bounding-box job returns); the
objects of one image go on one input line.  Runs ``prelabel_file`` (what ``clickseg prelabel``
runs) once per worker count, compares every mask with its ground truth and writes
benchmarks/results/prelabel_<backend>.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from clickseg_widget.simulation.datasets import load_mask, load_samples
from clickseg_widget.simulation.metrics import iou
from clickseg_widget.protocol.masks import rle_to_mask
from clickseg_widget.models.registry import get_segmenter, resolve
from clickseg_widget.prelabel.local import prelabel_file

RESULTS = Path(__file__).resolve().parent / "results"


def build_input(data_dirs: list[str], limit: int, path: Path) -> list[tuple[str, Path]]:
    """Write one line per image with its objects' boxes; returns (dataset, mask path) per object, in line order."""
    samples = [(Path(d).name, s) for d in data_dirs for s in load_samples(d)][:limit]
    by_image: dict[Path, list] = defaultdict(list)
    for dataset, sample in samples:
        by_image[sample.image_path].append((dataset, sample.mask_path))
    order = []
    with open(path, "w") as handle:
        for image, objects in by_image.items():
            boxes = []
            for dataset, mask_path in objects:
                truth, _ = load_mask(mask_path)
                ys, xs = np.nonzero(truth)
                boxes.append({"box": [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())], "class": "object"})
                order.append((dataset, mask_path))
            handle.write(json.dumps({"source-ref": str(image), "objects": boxes}) + "\n")
    return order


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dirs", nargs="+")
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--backend", default="default")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    runs = []
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "input.jsonl"
        order = build_input(args.data_dirs, args.objects, source)
        for workers in args.workers:
            output = Path(folder) / f"out-{workers}.jsonl"
            start = time.perf_counter()
            summary = prelabel_file(source, output, backend=args.backend, workers=workers, progress=False)
            seconds = time.perf_counter() - start
            objects = [o for line in output.read_text().splitlines() for o in json.loads(line)["objects"]]
            if summary.failed or len(objects) != len(order):
                raise SystemExit(f"{len(summary.failed)} lines failed: {summary.failed[:3]}")
            per_set: dict[str, list[float]] = defaultdict(list)
            for (dataset, mask_path), item in zip(order, objects):
                truth, ignore = load_mask(mask_path)
                per_set[dataset].append(iou(rle_to_mask(item["segmentation"]), truth, ignore))
            run = {
                "workers": workers, "objects": len(objects), "images": summary.done, "seconds": round(seconds, 1),
                "objects_per_s": round(len(objects) / seconds, 2),
                "miou": round(100 * float(np.mean([v for values in per_set.values() for v in values])), 2),
                "miou_per_set": {name: round(100 * float(np.mean(values)), 2) for name, values in per_set.items()},
                "objects_per_set": {name: len(values) for name, values in per_set.items()},
                "load_average_1_5_15min": [round(v, 2) for v in os.getloadavg()],
            }
            print(json.dumps(run))
            runs.append(run)
    weights = get_segmenter(args.backend).describe().get("weights")
    result = {
        "backend": resolve(args.backend),
        "weights_sha256": hashlib.sha256(Path(weights).read_bytes()).hexdigest()[:12] if weights else None,
        "machine": f"{platform.machine()} {os.cpu_count()} vCPU",
        "runs": runs,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"prelabel_{resolve(args.backend)}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
