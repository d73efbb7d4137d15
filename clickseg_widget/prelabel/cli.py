"""``clickseg prelabel INPUT OUTPUT``: draft every object's mask from its box or extreme points."""
from __future__ import annotations

import argparse
import os

from ..models.registry import parse_backend_options
from .local import prelabel_file


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="JSON Lines: source-ref + objects (box or extreme-points), or a Ground Truth bounding-box output manifest")
    parser.add_argument("output", help="JSON Lines of drafted masks (appended; a re-run skips finished lines)")
    parser.add_argument("--backend", default="default", help="segmentation backend (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all %(default)s cores)")
    parser.add_argument("--classes", help="comma-separated class names, fixing the label maps' class ids across images")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="backend option, repeatable")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    classes = [name.strip() for name in args.classes.split(",") if name.strip()] if args.classes else None
    summary = prelabel_file(
        args.input,
        args.output,
        backend=args.backend,
        workers=args.workers,
        classes=classes,
        backend_options=parse_backend_options(args.option),
        progress=not args.no_progress,
    )
    print(
        f"{summary.done} images ({summary.objects} objects) drafted, {summary.skipped} already done, "
        f"{len(summary.failed)} lines skipped; Ground Truth manifest: {summary.manifest}"
    )
    return 1 if summary.failed else 0
