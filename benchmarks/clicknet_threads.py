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
from pathlib import Path

from clickseg_widget.simulation.datasets import load_samples
from clickseg_widget.models.clicknet import ClickNetSegmenter
from clickseg_widget.serving.profiling import profile_latency


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
        summary = profile_latency(segmenter, samples, args.clicks).summary()
        f, c = summary["first_mask"], summary["corrective"]
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        print(
            f"| {threads} | {f['p50']:.0f} / {f['p90']:.0f} | {c['p50']:.1f} / {c['p90']:.1f} | "
            f"{summary['corrective_clicks']} | {load} |"
        )


if __name__ == "__main__":
    main()
