"""``clickseg serve``: a local endpoint speaking the SageMaker container and runtime protocols."""
from __future__ import annotations

import argparse

from ..models.registry import parse_backend_options
from .handler import DEFAULT_IMAGE_CACHE, DEFAULT_IMAGE_CACHE_BYTES, load_serving_model
from .server import DEFAULT_THREADS


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 exposes it)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080, SageMaker's; 0 picks a free one)")
    parser.add_argument("--backend", default=None, help="registered segmenter to serve (default: serving.json's, else 'default')")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                        help="backend option, e.g. weights=clicknet.safetensors (JSON values allowed; repeatable)")
    parser.add_argument("--model-dir", default=None, help="an unpacked model.tar.gz (reads its serving.json and weights)")
    parser.add_argument("--endpoint-name", action="append", default=None, help="answer the runtime route only for this name (repeatable)")
    parser.add_argument("--cache-size", type=int, default=None, help=f"prepared images kept by hash (default {DEFAULT_IMAGE_CACHE})")
    parser.add_argument("--cache-mb", type=int, default=None,
                        help=f"memory the prepared images may take, in MB (default {DEFAULT_IMAGE_CACHE_BYTES >> 20})")
    parser.add_argument("--workers", type=int, default=1,
                        help="processes, each with its own model and image cache, sharing the port (default 1; POSIX)")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="waitress worker threads")


def run(args: argparse.Namespace) -> int:
    from .app import create_app
    from .server import serve

    for flag, value in (("--cache-size", args.cache_size), ("--cache-mb", args.cache_mb), ("--workers", args.workers)):
        if value is not None and value < 1:
            raise ValueError(f"{flag} must be at least 1")
    options = parse_backend_options(args.option)

    def make_app():  # in each worker process, after the fork
        model = load_serving_model(
            args.model_dir,
            backend=args.backend,
            options_override=options,
            cache_size=args.cache_size,
            cache_bytes=None if args.cache_mb is None else args.cache_mb << 20,
        )
        return create_app(model, args.endpoint_name)

    serve(make_app, host=args.host, port=args.port, threads=args.threads, workers=args.workers)
    return 0

