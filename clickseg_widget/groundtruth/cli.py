"""``clickseg groundtruth report`` and ``clickseg groundtruth simulate``."""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import fields
from pathlib import Path

from .costs import PER_OBJECT_FEE, CostModel, job_prices


def configure(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="groundtruth_command", metavar="ACTION", required=True)

    report = commands.add_parser("report", help="per-iteration objects and costs of a labeling job",
                                 description="Print the per-iteration table (objects, boxes, costs) of a job folder.")
    report.add_argument("job", metavar="JOB_FOLDER_OR_S3_URI", help="local copy of <S3OutputPath>/<job>/ or its s3:// URI")
    report.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    report.add_argument("--lenient", action="store_true", help="skip and count malformed lines instead of failing")
    report.add_argument("--figures", metavar="DIR", help="also save every figure as DIR/<name>.png")
    report.add_argument("--training-logs", action="store_true",
                        help="also read the auto-labeling model's validation scores per epoch from CloudWatch Logs "
                             "(needs AWS credentials; the job's region: --region or AWS_REGION)")
    report.add_argument("--region", help="AWS region of the job, for --training-logs")
    _cost_options(report)

    simulate = commands.add_parser("simulate", help="simulate automated labeling on a dataset with reference masks",
                                   description="Run Ground Truth's auto-labeling loop locally and write a job folder.")
    simulate.add_argument("data_dir", metavar="DATA_DIR", help="folder with images/ and masks/ (a held-out set such as GrabCut only with --epochs 0: never trained on)")
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
    parser.add_argument("--per-object-fee", help=f"USD per labeled object (default {PER_OBJECT_FEE})")
    parser.add_argument("--workers", type=int, help="workers per human-labeled object (default: 5 boxes, 3 segmentation)")
    parser.add_argument("--worker-price",
                        help="USD per worker task (default: the task's lowest Mechanical Turk price, $0.036 boxes, $0.84 segmentation)")


def _cost_model(args: argparse.Namespace, task: str | None) -> CostModel:
    """The task's own prices for what the options leave out (the box tutorial's for a task without a price list)."""
    return job_prices(task, args.per_object_fee, args.workers, args.worker_price)


def run(args: argparse.Namespace) -> int:
    if args.groundtruth_command == "report":
        return _report(args)
    return _simulate(args)


def _print_table(job, args, training=None) -> None:
    from .quality import format_quality
    from .reporting import cost_table, format_table, label_quality

    table = cost_table(job, _cost_model(args, job.task))
    quality = label_quality(job)  # only where reference labels are known (simulator folders)
    if args.json:
        record = {**table, "quality": quality} if quality else dict(table)
        if training is not None:
            record["training"] = training.astype(object).where(training.notna(), None).to_dict(orient="records")
        print(json.dumps(record, indent=2))
        return
    print(format_table(table))
    if quality:
        print(format_quality(quality))
    if training is not None:
        print("\nauto-labeling model training (CloudWatch Logs):")
        print(training.to_string(index=False) if not training.empty else "no training job logged a validation score")


def _logs_client(region: str | None):
    import boto3

    return boto3.client("logs", region_name=region)


def _training(args: argparse.Namespace):
    """The job's training jobs (from its folder) and their validation scores per epoch (from CloudWatch)."""
    from .training_logs import training_jobs, training_metrics

    jobs = training_jobs(args.job)
    if not jobs:
        print("no training/ models in the job folder: this job trained no auto-labeling model", file=sys.stderr)
    return training_metrics(_logs_client(args.region), jobs)


def _report(args: argparse.Namespace) -> int:
    from .job_results import load_job

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        job = load_job(args.job, lenient=args.lenient)
        training = _training(args) if args.training_logs else None
        _print_table(job, args, training)
        if args.figures:
            _save_figures(job, Path(args.figures), _cost_model(args, job.task), training)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    # the iterations fall back to the output manifest, so one bad line may be in both lists
    both = [*job.iterations.skipped, *(job.manifest.skipped if job.manifest else [])]
    skipped = len({(error.location, error.line_number) for error in both})
    if skipped:
        print(f"skipped {skipped} malformed lines (--lenient)", file=sys.stderr)
    return 0


def _save_figures(job, folder: Path, model: CostModel, training=None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from .reporting import report
    from .training_logs import metric_curves, metric_names
    from .training_plots import training_curve_figure

    folder.mkdir(parents=True, exist_ok=True)
    names = metric_names(training) if training is not None else []
    if names:  # the first validation score: the tutorial's third panel, and a figure of its own
        label = names[0][0].upper() + names[0][1:]
        figures = report(job, model=model, curves=metric_curves(training, names[0]), curve_label=label)
        figures["training"] = training_curve_figure(training, names[0])
    else:
        figures = report(job, model=model)
    for name, figure in figures.items():
        figure.savefig(folder / f"{name}.png", dpi=100)


def _simulate(args: argparse.Namespace) -> int:
    from .job_results import load_job
    from .simulator import SimulationSettings, simulate

    names = {f.name for f in fields(SimulationSettings)}
    settings = SimulationSettings(**{k: v for k, v in vars(args).items() if k in names and v is not None})
    result = simulate(args.data_dir, args.out_dir, args.model, settings, cost_model=_cost_model(args, settings.task),
                      progress=not args.no_progress)
    print(
        f"simulated job in {result.folder}: {result.human_labels} human, {result.machine_labels} machine, "
        f"{result.unlabeled} unlabeled; mIoU human {result.human_miou:.3f}, machine {result.machine_miou:.3f} "
        f"({result.seconds:.0f} s)"
    )
    _print_table(load_job(result.folder), args)
    return 0
