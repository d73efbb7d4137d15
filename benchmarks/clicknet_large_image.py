"""ClickNet on a very large image: first mask and corrective-click latency, peak memory.

    python benchmarks/clicknet_large_image.py ../shared/data/grabcut --side 8000 --weights A.safetensors B.safetensors

A real GrabCut photo and its mask are upscaled to SIDE x SIDE (the object
then spans thousands of pixels) and labelled with the simulated user: the 4
extreme points, then corrective clicks.  Each weights file runs in its own
child process, so peak RSS is that run's alone.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np


def run_one(data_dir: Path, side: int, weights: str | None, clicks: int) -> dict:
    from clickseg_widget.simulation.clicker import Clicker
    from clickseg_widget.simulation.datasets import load_mask, load_samples
    from clickseg_widget.simulation.metrics import iou
    from clickseg_widget.io.images import load_image
    from clickseg_widget.models.clicknet import ClickNetSegmenter

    sample = load_samples(data_dir, limit=1)[0]
    image = cv2.resize(load_image(sample.image_path), (side, side), interpolation=cv2.INTER_LINEAR)
    truth, _ = load_mask(sample.mask_path)
    truth = cv2.resize(truth.astype(np.uint8), (side, side), interpolation=cv2.INTER_NEAREST).astype(bool)
    segmenter = ClickNetSegmenter(weights, device="cpu")
    clicker = Clicker(truth)
    start = time.perf_counter()
    context = segmenter.prepare(image)
    session = clicker.extreme_clicks()
    prediction = segmenter.predict(context, session)
    first_ms = (time.perf_counter() - start) * 1000
    corrective_ms = []
    for _ in range(clicks):
        click = clicker.next_click(prediction.mask)
        if click is None:
            break
        session.append(click)
        start = time.perf_counter()
        prediction = segmenter.predict(context, session, prediction)
        corrective_ms.append((time.perf_counter() - start) * 1000)
    return {
        "weights": weights or "shipped",
        "side": side,
        "first_ms": round(first_ms),
        "corrective_ms": [round(v) for v in corrective_ms],
        "iou": round(iou(prediction.mask, truth), 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--side", type=int, default=8000)
    parser.add_argument("--clicks", type=int, default=3)
    parser.add_argument("--weights", nargs="*", default=[None])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.data_dir, args.side, args.weights[0], args.clicks)))
        return
    print(f"load average {os.getloadavg()[0]:.1f}")
    for weights in args.weights:
        command = [sys.executable, __file__, str(args.data_dir), "--side", str(args.side), "--clicks", str(args.clicks), "--child"]
        command += ["--weights", weights] if weights else []
        print(subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
