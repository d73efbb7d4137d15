"""What the worker page's path to the model costs: API Gateway + Lambda proxy vs calling the endpoint directly.

    python benchmarks/workforce_proxy.py ../shared/data/grabcut --limit 20 --clicks 3

`clickseg serve` (GrabCut) runs in its own process.  Each request goes twice, back to back so a
shared machine's load hits both alike (which goes first alternates per object; for an object's first
request only the first call counts, as the second finds the image already prepared): directly with
boto3's invoke_endpoint, and as the worker page sends it: an HTTP POST to a local stand-in for API Gateway that calls the proxy Lambda handler,
which validates it and forwards it with boto3.  Requests follow the page's protocol: the image
bytes once, then its hash with the previous mask.  Prints p50/p90 latency and request sizes as
Markdown and saves JSON in benchmarks/results/.  Local numbers leave out the real network and
Lambda cold starts.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import sys
import time
import urllib.request
from pathlib import Path

import boto3

from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask, load_samples
from clickseg_widget.simulation.metrics import percentiles
from clickseg_widget.protocol.masks import rle_to_mask
from clickseg_widget.workforce.lambdas import proxy

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).parent / "results"
sys.path.insert(0, str(REPO_ROOT / "tests"))
from workforce_local import FAKE_AWS_ENV, ApiGateway, endpoint_server  # noqa: E402

ENDPOINT = "clickseg-bench"


def timed(call) -> tuple[float, dict]:
    start = time.perf_counter()
    answer = call()
    return (time.perf_counter() - start) * 1000.0, answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--clicks", type=int, default=3, help="corrective clicks per object")
    args = parser.parse_args()
    os.environ.update(FAKE_AWS_ENV)
    rows = {"first": {"direct": [], "proxy": [], "bytes": []}, "corrective": {"direct": [], "proxy": [], "bytes": []}}
    with endpoint_server(ENDPOINT) as url, ApiGateway({"/segment": proxy.handler}) as api:
        os.environ.update(ENDPOINT_NAME=ENDPOINT, SAGEMAKER_RUNTIME_URL=url)
        runtime = boto3.client("sagemaker-runtime", endpoint_url=url)

        def direct(body: bytes) -> dict:
            answer = runtime.invoke_endpoint(EndpointName=ENDPOINT, Body=body, ContentType="application/json")
            return json.loads(answer["Body"].read())

        def through_proxy(body: bytes) -> dict:
            request = urllib.request.Request(f"{api.url}/segment", data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=60) as answer:
                return json.loads(answer.read())

        for index, sample in enumerate(load_samples(args.dataset, args.limit)):
            truth, ignore = load_mask(sample.mask_path)
            clicker = Clicker(truth, ignore)
            clicks = clicker.extreme_clicks()
            image = {"b64": base64.b64encode(sample.image_path.read_bytes()).decode()}
            previous = None
            for step in range(args.clicks + 1):
                body = json.dumps({"version": "1", "image": image, "clicks": [c.to_dict() for c in clicks],
                                   "previous_mask": previous, "options": {}}).encode()
                kind = "first" if step == 0 else "corrective"
                paths = [("direct", direct), ("proxy", through_proxy)]
                if index % 2:
                    paths.reverse()
                for order, (name, call) in enumerate(paths):
                    elapsed, answer = timed(lambda: call(body))
                    # the second call of a first request finds the image prepared: only the cold one counts
                    if kind == "corrective" or order == 0:
                        rows[kind][name].append(elapsed)
                rows[kind]["bytes"].append(len(body))
                image, previous = {"hash": answer["image_hash"]}, answer["mask"]
                click = clicker.next_click(rle_to_mask(answer["mask"]))
                if click is None:
                    break
                clicks.append(click)
    summary = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "objects": args.limit,
        **{kind: {"requests": len(v["bytes"]), "direct_ms": percentiles(v["direct"]), "proxy_ms": percentiles(v["proxy"]),
                  "request_bytes": percentiles(v["bytes"])} for kind, v in rows.items()},
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "workforce_proxy_grabcut.json").write_text(json.dumps(summary, indent=2) + "\n")
    print("| request | n | direct p50 / p90 ms | via proxy p50 / p90 ms | request bytes p50 |")
    print("|---|---|---|---|---|")
    for kind in ("first", "corrective"):
        s = summary[kind]
        print(f"| {kind} | {s['requests']} | {s['direct_ms']['p50']:.1f} / {s['direct_ms']['p90']:.1f} | "
              f"{s['proxy_ms']['p50']:.1f} / {s['proxy_ms']['p90']:.1f} | {s['request_bytes']['p50']:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
