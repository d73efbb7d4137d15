"""The ``clickseg`` command: one sub-command per job, imported only when used."""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from .extras import MissingDependencyError, require

# sub-command -> module exposing ``configure(parser)`` and ``run(args) -> int``
COMMANDS = {
    "demo": ("clickseg_widget.demo", "open JupyterLab on the first tutorial with the shipped model and samples"),
    "evaluate": ("clickseg_widget.evaluation.cli", "simulate clicks on a benchmark folder and print mIoU/NoC/latency"),
    "train": ("clickseg_widget.models.clicknet.cli", "train the click-segmentation network on dataset folders"),
    "serve": ("clickseg_widget.serving.cli", "run a local HTTP server speaking the SageMaker endpoint protocol"),
    "prelabel": ("clickseg_widget.prelabel.cli", "draft masks for a JSON Lines file of boxes / extreme points, resumable"),
    "groundtruth": ("clickseg_widget.groundtruth.cli", "Ground Truth job reports and the auto-labeling simulator"),
}
# sub-command -> the extra it needs beyond the base install
COMMAND_EXTRAS = {"train": "torch", "serve": "serve"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="clickseg", description="Few-click segmentation labeling tools.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((arg for arg in argv if arg in COMMANDS), None)
    if chosen in COMMAND_EXTRAS:
        try:
            require(COMMAND_EXTRAS[chosen], f"clickseg {chosen}")
        except MissingDependencyError as err:
            print(f"clickseg {chosen}: error: {err}", file=sys.stderr)
            return 2
    for name, (module_name, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            importlib.import_module(module_name).configure(sub)
    args = parser.parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except Exception as err:
        if not _is_user_facing(err):
            raise
        print(f"clickseg {args.command}: error: {err}", file=sys.stderr)
        return 2


def _is_user_facing(err: Exception) -> bool:
    """Bad input, files, AWS answers and our own service errors get one line, not a traceback."""
    if isinstance(err, (ValueError, OSError, RuntimeError, MissingDependencyError)):
        return True
    return type(err).__module__.startswith(("botocore", "boto3"))


if __name__ == "__main__":
    sys.exit(main())
