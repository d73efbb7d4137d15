"""Training checkpoints: weights, optimiser moments and schedule position in one safetensors file.

A checkpoint lets a run that takes hours (or days of CPU sessions) stop
anywhere and resume to the same weights it would have reached without
stopping.  Like the weights, it holds only tensors and JSON strings, so
loading one never runs code.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save

from ...io.atomic import atomic_write_bytes
from .network import ClickNet, ClickNetConfig
from .train import TrainSettings, TrainState, make_optimiser

FORMAT = "clicknet-checkpoint-v1"


class CheckpointError(ValueError):
    """The checkpoint cannot be resumed (damaged, or from another architecture or schedule)."""


def save_checkpoint(
    path: str | Path,
    model: ClickNet,
    optimiser: torch.optim.Optimizer,
    state: TrainState,
    settings: TrainSettings,
    provenance: dict,
) -> Path:
    """Write everything ``load_checkpoint`` needs to continue the run, atomically."""
    tensors = {f"model/{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    optim = optimiser.state_dict()
    for index, moments in optim["state"].items():
        for name, value in moments.items():
            tensors[f"optim/{index}/{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
    groups = [{k: v for k, v in group.items()} for group in optim["param_groups"]]
    metadata = {
        "format": FORMAT,
        "config": json.dumps(model.config.to_dict()),
        "settings": json.dumps(settings.to_dict()),
        "state": json.dumps({"step": state.step, "seconds": state.seconds, "losses": state.losses}),
        "param_groups": json.dumps(groups),
        "provenance": json.dumps(provenance),
    }
    return atomic_write_bytes(path, save(tensors, metadata=metadata))


def load_checkpoint(
    path: str | Path, device: torch.device
) -> tuple[ClickNet, torch.optim.Optimizer, TrainState, TrainSettings, dict]:
    """``(model, optimiser, state, settings, provenance)`` exactly as they were saved."""
    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        # own copies: the optimiser updates its moments in place and must never write through to the file's pages
        tensors = {name: tensor.clone() for name, tensor in load_file(str(path)).items()}
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path} is not a readable checkpoint ({err}): start a new run or pick another file") from None
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a ClickNet training checkpoint (format {metadata.get('format')!r}, expected {FORMAT!r})")
    try:
        config = ClickNetConfig.from_dict(json.loads(metadata["config"]))
        settings = TrainSettings(**json.loads(metadata["settings"]))
        saved = json.loads(metadata["state"])
        groups = json.loads(metadata["param_groups"])
        provenance = json.loads(metadata.get("provenance", "{}"))
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path} has a damaged header ({err}): start a new run") from None
    model = ClickNet(config).to(dtype=tensors["model/encoder.stage1.0.0.weight"].dtype)
    model.load_state_dict({k[len("model/") :]: v for k, v in tensors.items() if k.startswith("model/")})
    model.to(device)
    optimiser = make_optimiser(model, settings)
    moments: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim/"):
            _, index, name = key.split("/", 2)
            moments.setdefault(int(index), {})[name] = value
    optimiser.load_state_dict({"state": moments, "param_groups": groups})
    state = TrainState(step=int(saved["step"]), seconds=float(saved["seconds"]), losses=[float(v) for v in saved["losses"]])
    return model, optimiser, state, settings, provenance
