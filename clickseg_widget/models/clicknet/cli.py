"""``clickseg train DATA_DIR... --out WEIGHTS``: train ClickNet from scratch."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
from pathlib import Path

import torch

from .data import crops_from_folders
from .device import resolve_device
from .network import ClickNet, ClickNetConfig
from .train import TrainHistory, TrainSettings, train_model
from .weights import save_weights


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", nargs="+", type=Path, help="dataset folders with images/ and masks/ (never grabcut)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the .safetensors weights (rewritten after every epoch)")
    parser.add_argument("--epochs", type=int, default=TrainSettings.epochs)
    parser.add_argument("--minutes", type=float, default=None, help="time budget: anneal and stop after this many minutes")
    parser.add_argument("--batch-size", type=int, default=TrainSettings.batch_size)
    parser.add_argument("--learning-rate", type=float, default=TrainSettings.learning_rate)
    parser.add_argument("--crop-size", type=int, default=ClickNetConfig.crop_size, help="side of the square object crop the network sees")
    parser.add_argument(
        "--grabcut-iterations", type=int, default=3, help="GrabCut iterations for the classical input cue (0: no cue)"
    )
    parser.add_argument("--limit", type=int, default=None, help="use only the first N objects of each folder (smoke tests)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    parser.add_argument(
        "--threads", type=int, default=None, help="CPU threads for torch (default: half the cores; spin-waiting threads on a busy machine cost 10x)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    if args.epochs < 1:
        raise ValueError("--epochs must be at least 1")
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 2) // 2))
    config = ClickNetConfig(crop_size=args.crop_size, grabcut_iterations=args.grabcut_iterations)
    crops = crops_from_folders(args.data, config, limit=args.limit, progress=not args.quiet)
    model = ClickNet(config)
    settings = TrainSettings(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        time_budget_s=args.minutes * 60 if args.minutes else None,
        progress=not args.quiet,
    )
    started = dt.datetime.now(dt.timezone.utc)

    def provenance(history: TrainHistory, complete: bool) -> dict:
        return {
            "data": [f"{p.name} ({p})" for p in args.data],
            "objects": len(crops),
            "epochs_planned": args.epochs,
            "epochs_completed": history.epochs,
            "steps": history.steps,
            "final_loss": round(history.epoch_losses[-1], 4) if history.epoch_losses else None,
            "train_seconds": round(history.seconds, 1),
            "seed": args.seed,
            "batch_size": args.batch_size,
            "time_budget_minutes": args.minutes,
            "device": _device_name(device),
            "machine": f"{platform.machine()} {os.cpu_count()} CPU cores, {platform.system()}",
            "torch": torch.__version__,
            "started_utc": started.isoformat(timespec="seconds"),
            "complete": complete,
        }

    def checkpoint(model: ClickNet, history: TrainHistory) -> None:
        save_weights(model, args.out, provenance(history, complete=False))

    history = train_model(model, crops, settings, device, on_epoch=checkpoint)
    save_weights(model, args.out, provenance(history, complete=True))
    print(f"wrote {args.out}: {history.epochs} epochs, {history.steps} steps, {history.seconds / 60:.1f} min on {_device_name(device)}")
    return 0


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return f"cpu ({platform.processor() or platform.machine()})"
