"""``clickseg train DATA_DIR... --out WEIGHTS``: train ClickNet, resumably.

A run writes a checkpoint (weights, optimiser, schedule position) every
``--checkpoint-every`` steps and the weights beside it; ``--resume`` picks a
run up where it stopped, on any device, and reaches the same weights as an
uninterrupted run.  ``--minutes`` bounds one sitting, not the schedule.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
from pathlib import Path

import torch

from .checkpoint import load_checkpoint, save_checkpoint
from .data import crops_from_folders
from .device import resolve_device
from .network import ClickNet, ClickNetConfig
from .train import TrainSettings, TrainState, make_optimiser, total_steps, train_model
from .weights import save_weights, warm_start


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", nargs="+", type=Path, help="dataset folders with images/ and masks/ (never grabcut, ecssd or pennfudan)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the .safetensors weights (rewritten at each checkpoint)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="training checkpoint to write (default: OUT with .ckpt.safetensors)")
    parser.add_argument("--resume", type=Path, default=None, help="continue the run saved in this checkpoint")
    parser.add_argument("--init", type=Path, default=None, help="warm start from these ClickNet weights (new input channels start at zero)")
    parser.add_argument("--cache", type=Path, default=None, help="folder for decoded training crops, built once and reused")
    parser.add_argument(
        "--steps", type=int, default=None, help="schedule length in steps (default: --epochs passes over the pool; with --resume: a new length)"
    )
    parser.add_argument("--epochs", type=int, default=TrainSettings.epochs)
    parser.add_argument("--minutes", type=float, default=None, help="stop this sitting after this many minutes (resume later)")
    parser.add_argument("--checkpoint-every", type=int, default=100, help="steps between checkpoints")
    parser.add_argument("--batch-size", type=int, default=TrainSettings.batch_size)
    parser.add_argument("--learning-rate", type=float, default=TrainSettings.learning_rate)
    parser.add_argument("--max-corrective", type=int, default=TrainSettings.max_corrective, help="longest simulated click sequence")
    parser.add_argument("--box-share", type=float, default=TrainSettings.box_share, help="share of objects started with a box")
    parser.add_argument("--click-weight", type=float, default=TrainSettings.click_weight, help="extra loss weight on clicked pixels")
    parser.add_argument("--crop-size", type=int, default=ClickNetConfig.crop_size, help="side of the square object crop the network sees")
    parser.add_argument("--grabcut-iterations", type=int, default=3, help="GrabCut iterations for the classical input cue (0: no cue)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N objects of each folder (smoke tests)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads for torch (default: half the cores; spin-waiting threads on a busy machine cost 10x)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 2) // 2))
    checkpoint_path = args.checkpoint or args.out.with_suffix(".ckpt.safetensors")
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    if args.resume is not None:
        model, optimiser, state, settings, provenance = load_checkpoint(args.resume, device)
        if args.steps is not None and args.steps != settings.steps:
            # a new schedule length: the cosine continues from where the run is, towards the new end
            provenance.setdefault("schedule_changes", []).append({"at_step": state.step, "steps": args.steps})
            settings.steps = args.steps
        settings.time_budget_s = args.minutes * 60 if args.minutes else None
        settings.progress = not args.quiet
    else:
        if args.epochs < 1:
            raise ValueError("--epochs must be at least 1")
        config = ClickNetConfig(crop_size=args.crop_size, grabcut_iterations=args.grabcut_iterations, prompt_channel=True)
        model = ClickNet(config)
        provenance = {"sittings": []}
        if args.init is not None:
            source = warm_start(model, args.init)
            provenance["warm_start"] = {"weights": str(args.init), "provenance": source.get("provenance", {})}
        settings = TrainSettings(
            steps=args.steps,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            max_corrective=args.max_corrective,
            box_share=args.box_share,
            click_weight=args.click_weight,
            seed=args.seed,
            time_budget_s=args.minutes * 60 if args.minutes else None,
            progress=not args.quiet,
        )
        optimiser, state = make_optimiser(model.to(device), settings), TrainState()
    pool = crops_from_folders(args.data, model.config, limit=args.limit, progress=not args.quiet, cache_dir=args.cache)
    objects = sum(len(crops) for crops in pool.values())
    provenance["objects"] = objects
    provenance["objects_per_set"] = {name: len(crops) for name, crops in pool.items()}
    provenance["steps_planned"] = total_steps(settings, objects)
    provenance["batch_size"] = settings.batch_size
    provenance["torch"] = torch.__version__
    data = [f"{p.name} ({p})" for p in args.data]
    # a resumed run may add sets (a larger pool for a later stage): the weights name every set they saw
    provenance["data"] = list(dict.fromkeys([*provenance.get("data", []), *data]))
    sitting = {"device": _device_name(device), "machine": _machine(), "started_utc": started, "from_step": state.step, "data": data}
    provenance.setdefault("sittings", []).append(sitting)

    def checkpoint(model: ClickNet, optimiser: torch.optim.Optimizer, state: TrainState) -> None:
        sitting.update(to_step=state.step)
        provenance.update(
            steps=state.step,
            train_seconds=round(state.seconds, 1),
            final_loss=round(state.losses[-1], 4) if state.losses else None,
            complete=state.step >= provenance["steps_planned"],
        )
        save_checkpoint(checkpoint_path, model, optimiser, state, settings, provenance)
        save_weights(model, args.out, provenance)

    history = train_model(model, pool, settings, device, optimiser, state, on_checkpoint=checkpoint, checkpoint_every=args.checkpoint_every)
    done = "complete" if history.steps >= provenance["steps_planned"] else f"stopped, resume with --resume {checkpoint_path}"
    print(
        f"wrote {args.out} and {checkpoint_path}: step {history.steps} of {provenance['steps_planned']} ({done}), "
        f"{history.seconds / 60:.1f} min in total on {_device_name(device)}"
    )
    return 0


def _machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} CPU cores, {platform.system()}"


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.processor() or platform.machine()})"
