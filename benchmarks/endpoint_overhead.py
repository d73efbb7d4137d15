"""What the endpoint protocol costs: the same clicks in-process vs through `clickseg serve` with boto3.

    python benchmarks/endpoint_overhead.py ../shared/data/grabcut --backend grabcut --limit 20
    python benchmarks/endpoint_overhead.py ../shared/data/grabcut --backend torch --option weights=PATH

The server runs in its own process (as on a GPU box or a SageMaker instance), the client is the
`endpoint` backend: real boto3 sagemaker-runtime client, image sent once then referred to by hash.
Each click runs in-process and then through the server back to back, so a shared machine's load
hits both alike, and the masks are compared.
Prints a Markdown table with p50/p90/p99, the overhead ratios and the request sizes, and saves
JSON in benchmarks/results/.  Target: corrective click through the server <= 1.5x in-process.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import boto3
import numpy as np

from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask, load_samples
from clickseg_widget.models.endpoint import EndpointSegmenter
from clickseg_widget.models.registry import get_segmenter
from clickseg_widget.models.registry import parse_backend_options
from clickseg_widget.serving.profiling import LatencyProfile, latency_table
from clickseg_widget.serving.server import ServerProcess

RESULTS_DIR = Path(__file__).parent / "results"


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def run_paired(local_segmenter, remote_segmenter, samples, clicks_per_object, local: LatencyProfile, remote: LatencyProfile) -> int:
    """Each click in-process then through the server, back to back, so both see the same load on a
    shared machine; returns how many remote masks differed from the in-process ones (expected 0)."""
    mismatches = 0
    for index, sample in enumerate(samples):
        truth, ignore = load_mask(sample.mask_path)
        clicker = Clicker(truth, ignore)
        clicks = clicker.extreme_clicks()
        contexts, previous = {}, {}
        for step in range(clicks_per_object + 1):
            if step > 0:
                click = clicker.next_click(previous["local"].mask)
                if click is None:
                    break
                clicks.append(click)
            for name, segmenter, profile in (("local", local_segmenter, local), ("remote", remote_segmenter, remote)):
                if step == 0 and index == 0:  # warm-up: model load, first connection
                    segmenter.predict(segmenter.prepare(sample.image_path), clicks)
                start = time.perf_counter()
                if step == 0:
                    contexts[name] = segmenter.prepare(sample.image_path)
                previous[name] = segmenter.predict(contexts[name], clicks, previous.get(name))
                elapsed = (time.perf_counter() - start) * 1000.0
                (profile.first_mask_ms if step == 0 else profile.corrective_ms).append(elapsed)
            mismatches += int(not np.array_equal(previous["local"].mask, previous["remote"].mask))
    return mismatches


def ratio(remote: LatencyProfile, local: LatencyProfile, part: str, point: str) -> float:
    return remote.summary()[part][point] / local.summary()[part][point]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--backend", default="grabcut")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="backend option (as for clickseg serve)")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--clicks", type=int, default=5, help="corrective clicks per object")
    args = parser.parse_args()
    samples = load_samples(args.data_dir, args.limit)
    options = parse_backend_options(args.option)

    local_segmenter = get_segmenter(args.backend, **options)
    local = LatencyProfile(f"{args.backend}, in-process")
    remote = LatencyProfile(f"{args.backend}, clickseg serve + boto3")
    serve_arguments = ["--backend", args.backend, *(f"--option={pair}" for pair in args.option), "--threads", "2"]
    with ServerProcess(serve_arguments) as server:
        session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1")
        remote_segmenter = EndpointSegmenter("clickseg-local", boto3_session=session, endpoint_url=server.url)
        sizes: dict[str, list[int]] = {"b64": [], "hash": []}
        remote_segmenter.client.meta.events.register(
            "before-send.sagemaker-runtime.InvokeEndpoint",
            lambda request, **_: sizes[next(iter(json.loads(request.body)["image"]))].append(len(request.body)),
        )
        mismatches = run_paired(local_segmenter, remote_segmenter, samples, args.clicks, local, remote)
    result = {
        "backend": args.backend,
        "machine": machine(),
        "objects": len(samples),
        "corrective_clicks_per_object": args.clicks,
        "in_process": local.summary(),
        "endpoint": remote.summary(),
        "overhead_ratio": {
            f"{part}_{point}": ratio(remote, local, part, point) for part in ("first_mask", "corrective") for point in ("p50", "p90")
        },
        "corrective_median_paired_ratio": statistics.median(r / l for r, l in zip(remote.corrective_ms, local.corrective_ms)),
        "masks_differing": mismatches,
        "request_bytes": {kind: statistics.median(values) if values else None for kind, values in sizes.items()},
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"endpoint_overhead_{args.backend}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"machine: {result['machine']}, {len(samples)} objects x {args.clicks} corrective clicks\n")
    print(latency_table([local, remote], reference=None))
    print("\noverhead ratio (server / in-process): " + ", ".join(f"{k} {v:.2f}x" for k, v in result["overhead_ratio"].items()))
    print(f"median per-click ratio (same click, back to back): {result['corrective_median_paired_ratio']:.2f}x")
    print(f"masks differing between in-process and server: {mismatches}")
    print(f"median request bytes: image sent {result['request_bytes']['b64']}, by hash {result['request_bytes']['hash']}")


if __name__ == "__main__":
    main()
