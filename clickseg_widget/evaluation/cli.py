"""``clickseg evaluate``: simulated clicks on a benchmark folder."""
from __future__ import annotations

import argparse
import json

from ..models.registry import available, get_segmenter, parse_backend_options
from ..simulation.clicker import MODES, STARTS
from ..simulation.datasets import load_samples
from .runner import evaluate


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data_dir", help="dataset folder with images/ and masks/ (e.g. ../shared/data/grabcut)")
    parser.add_argument("--backend", default="default", help=f"segmenter: one of {', '.join(available())}")
    parser.add_argument("--corrective-clicks", type=int, default=5, metavar="K", help="corrective clicks per object")
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="evaluate the first N objects only")
    parser.add_argument("--start", choices=STARTS, default="extreme", help="first prompt: 4 extreme points or the bounding box")
    parser.add_argument("--mode", choices=MODES, default="standard", help="corrective click protocol")
    parser.add_argument("--jitter", type=float, default=0.0, metavar="PX", help="Gaussian click jitter in pixels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noc-cap", type=int, default=20, help="clicks at which NoC stops counting")
    parser.add_argument(
        "--backend-option", action="append", default=[], metavar="KEY=VALUE", help="passed to the backend"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")


def run(args: argparse.Namespace) -> int:
    segmenter = get_segmenter(args.backend, **parse_backend_options(args.backend_option, "--backend-option"))
    samples = load_samples(args.data_dir, args.limit)
    report = evaluate(
        segmenter,
        samples,
        corrective_clicks=args.corrective_clicks,
        noc_cap=args.noc_cap,
        mode=args.mode,
        jitter=args.jitter,
        seed=args.seed,
        progress=not args.json,
        start=args.start,
    )
    print(json.dumps(report.to_json()) if args.json else report.table())
    return 0

