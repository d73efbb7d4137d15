"""ClickNet per-click latency by torch thread count, on real GrabCut objects.

    python benchmarks/clicknet_threads.py ../shared/data/grabcut --threads 1 2 --limit 10

Why: on a busy 2-core machine two OpenMP threads spin-waiting for each other
made a 12 ms decode take 1-2 s; the segmenter therefore defaults to one
thread.  Prints p50/p90 of first-mask and corrective-click latency per
setting, plus the load average so shared-machine runs can be recognised.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from clickseg_widget.evaluation.clicker import Clicker
from clickseg_widget.evaluation.datasets import load_mask, load_samples
from clickseg_widget.evaluation.metrics import percentiles
from clickseg_widget.models.clicknet import ClickNetSegmenter


def measure(segmenter: ClickNetSegmenter, samples, clicks_per_object: int) -> tuple[list[float], list[float]]:
    first, corrective = [], []
    for sample in samples:
        truth, ignore = load_mask(sample.mask_path)
        clicker = Clicker(truth, ignore)
        clicks = clicker.extreme_clicks()
        segmenter.clear_cache()
        start = time.perf_counter()
        prediction = segmenter.predict(segmenter.prepare(sample.image_path), clicks)
        first.append((time.perf_counter() - start) * 1000)
        context = segmenter.prepare(sample.image_path)
        for _ in range(clicks_per_object):
            click = clicker.next_click(prediction.mask)
            if click is None:
                break
            clicks.append(click)
            start = time.perf_counter()
            prediction = segmenter.predict(context, clicks, prediction)
            corrective.append((time.perf_counter() - start) * 1000)
    return first, corrective


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--clicks", type=int, default=5)
    args = parser.parse_args()
    samples = load_samples(args.data_dir, args.limit)
    for threads in args.threads:
        segmenter = ClickNetSegmenter(device="cpu", threads=threads)
        first, corrective = measure(segmenter, samples, args.clicks)
        f, c = percentiles(first), percentiles(corrective)
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        print(
            f"| {threads} | {f['p50']:.0f} / {f['p90']:.0f} | {c['p50']:.1f} / {c['p90']:.1f} | "
            f"{len(corrective)} | {load} |"
        )


if __name__ == "__main__":
    main()
