"""``clickseg groundtruth report`` and ``clickseg groundtruth simulate``."""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import fields
from pathlib import Path

from .costs import CostModel


def configure(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="groundtruth_command", metavar="ACTION", required=True)

    report = commands.add_parser("report", help="per-iteration objects and costs of a labeling job",
                                 description="Print the per-iteration table (objects, boxes, costs) of a job folder.")
    report.add_argument("job", metavar="JOB_FOLDER_OR_S3_URI", help="local copy of <S3OutputPath>/<job>/ or its s3:// URI")
    report.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    report.add_argument("--lenient", action="store_true", help="skip and count malformed lines instead of failing")
    report.add_argument("--figures", metavar="DIR", help="also save every figure as DIR/<name>.png")
    _cost_options(report)

    simulate = commands.add_parser("simulate", help="simulate automated labeling on a dataset with reference masks",
                                   description="Run Ground Truth's auto-labeling loop locally and write a job folder.")
    simulate.add_argument("data_dir", metavar="DATA_DIR", help="folder with images/ and masks/ (never the GrabCut benchmark)")
    simulate.add_argument("out_dir", metavar="OUT_DIR", help="where the simulated job folder <OUT_DIR>/<job-name>/ goes")
    simulate.add_argument("--task", choices=["semantic_segmentation", "bounding_box"], default="semantic_segmentation")
    simulate.add_argument("--model", default="default", help="segmentation backend (e.g. torch, grabcut)")
    simulate.add_argument("--limit", type=int, help="use this many objects, spread over the dataset")
    simulate.add_argument("--probe-size", type=int, default=10)
    simulate.add_argument("--batch-size", type=int, default=50)
    simulate.add_argument("--validation-fraction", type=float)
    simulate.add_argument("--target-miou", type=float, help="default 0.7 segmentation, 0.6 boxes")
    simulate.add_argument("--validation-confidence", type=float,
                          help="one-sided confidence that the machine labels reach the target (default 0.95)")
    simulate.add_argument("--max-human-labels", type=int)
    simulate.add_argument("--max-cost", dest="max_cost_usd", type=float, help="budget in USD")
    simulate.add_argument("--annotator-noise", dest="annotator_noise_px", type=float, default=0.0, help="pixels")
    simulate.add_argument("--box-noise", type=float, default=0.05, help="detector box noise, fraction of box size")
    simulate.add_argument("--epochs", dest="fine_tune_epochs", type=int, default=2, help="fine-tune epochs per iteration")
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument("--job-name", default="clickseg-simulation")
    simulate.add_argument("--json", action="store_true", help="print the cost table as JSON when done")
    simulate.add_argument("--no-progress", action="store_true")
    _cost_options(simulate)


def _cost_options(parser: argparse.ArgumentParser) -> None:
    defaults = CostModel()
    parser.add_argument("--per-object-fee", default=str(defaults.per_object_fee), help="USD per labeled object")
    parser.add_argument("--workers", type=int, default=defaults.workers_per_object, help="workers per human-labeled object")
    parser.add_argument("--worker-price", default=str(defaults.worker_price), help="USD per worker task")


def _cost_model(args: argparse.Namespace) -> CostModel:
    return CostModel(args.per_object_fee, args.workers, args.worker_price)


def run(args: argparse.Namespace) -> int:
    if args.groundtruth_command == "report":
        return _report(args)
    return _simulate(args)


def _print_table(job, args) -> None:
    from .reporting import cost_table, format_table

    table = cost_table(job, _cost_model(args))
    print(json.dumps(table, indent=2) if args.json else format_table(table))


def _report(args: argparse.Namespace) -> int:
    from .job_results import load_job

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        job = load_job(args.job, lenient=args.lenient)
        _print_table(job, args)
        if args.figures:
            _save_figures(job, Path(args.figures), _cost_model(args))
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    # the iterations fall back to the output manifest, so one bad line may be in both lists
    both = [*job.iterations.skipped, *(job.manifest.skipped if job.manifest else [])]
    skipped = len({(error.location, error.line_number) for error in both})
    if skipped:
        print(f"skipped {skipped} malformed lines (--lenient)", file=sys.stderr)
    return 0


def _save_figures(job, folder: Path, model: CostModel) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from .reporting import report

    folder.mkdir(parents=True, exist_ok=True)
    for name, figure in report(job, model=model).items():
        figure.savefig(folder / f"{name}.png", dpi=100)


def _simulate(args: argparse.Namespace) -> int:
    from .job_results import load_job
    from .simulator import SimulationSettings, simulate

    names = {f.name for f in fields(SimulationSettings)}
    settings = SimulationSettings(**{k: v for k, v in vars(args).items() if k in names and v is not None})
    result = simulate(args.data_dir, args.out_dir, args.model, settings, cost_model=_cost_model(args),
                      progress=not args.no_progress)
    print(
        f"simulated job in {result.folder}: {result.human_labels} human, {result.machine_labels} machine, "
        f"{result.unlabeled} unlabeled; mIoU human {result.human_miou:.3f}, machine {result.machine_miou:.3f} "
        f"({result.seconds:.0f} s)"
    )
    _print_table(load_job(result.folder), args)
    return 0
