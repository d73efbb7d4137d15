"""ClickNet weights as safetensors: tensors plus architecture and provenance in the metadata.

safetensors holds only tensors and strings, so loading a file can never run
code (unlike pickle); the architecture config travels with the tensors so a
file trained for another architecture is refused with a clear message
instead of producing garbage masks.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save

from ...io.atomic import atomic_write_bytes
from .network import ClickNet, ClickNetConfig

FORMAT = "clicknet-v1"
DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "clicknet.safetensors"


class WeightsError(ValueError):
    """The weights file exists but cannot be used with this version of ClickNet."""


def save_weights(model: ClickNet, path: str | Path, provenance: dict | None = None) -> Path:
    """Write the model atomically; ``provenance`` (data, epochs, machine, time) goes into the metadata."""
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    metadata = {
        "format": FORMAT,
        "config": json.dumps(model.config.to_dict()),
        "provenance": json.dumps(provenance or {}),
    }
    return atomic_write_bytes(path, save(state, metadata=metadata))


def read_metadata(path: str | Path) -> dict:
    """Format, config and provenance of a weights file, decoded from its JSON strings."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"ClickNet weights not found at {path}: pass weights=PATH, or create them with "
            "`clickseg train ../shared/data/coco_mval --out PATH`"
        )
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except (SafetensorError, OSError) as err:
        raise WeightsError(f"{path} is not a readable safetensors file ({err}): it is corrupted, re-train or re-install it") from None
    if metadata.get("format") != FORMAT:
        raise WeightsError(f"{path} is a safetensors file but not ClickNet weights (format {metadata.get('format')!r}, expected {FORMAT!r})")
    try:
        return {"format": FORMAT, "config": json.loads(metadata["config"]), "provenance": json.loads(metadata.get("provenance", "{}"))}
    except (KeyError, json.JSONDecodeError) as err:
        raise WeightsError(f"{path} has a damaged ClickNet header ({err}): re-train or re-install it") from None


def warm_start(model: ClickNet, path: str | Path) -> dict:
    """Copy trained weights into ``model`` whose encoder may take more input channels.

    New input channels (e.g. the prompt-type channel) start at zero weight,
    so the warm-started network first answers exactly as the trained one did
    and learns the new input from there.  Returns the source's metadata.
    """
    source, metadata = load_weights(path)
    target = model.state_dict()
    for name, tensor in source.state_dict().items():
        if name not in target:
            raise WeightsError(f"{path} has {name}, which this architecture lacks: warm start needs the same layers")
        if target[name].shape == tensor.shape:
            target[name] = tensor
        elif tensor.dim() == 4 and target[name].shape[0] == tensor.shape[0] and target[name].shape[1] > tensor.shape[1]:
            widened = torch.zeros_like(target[name])
            widened[:, : tensor.shape[1]] = tensor
            target[name] = widened
        else:
            raise WeightsError(f"{path}: {name} is {tuple(tensor.shape)}, this architecture needs {tuple(target[name].shape)}")
    model.load_state_dict(target)
    return metadata


def load_weights(path: str | Path | None = None, device: torch.device | str = "cpu") -> tuple[ClickNet, dict]:
    """Build the network the file describes and load its tensors; returns ``(model in eval mode, metadata)``."""
    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    metadata = read_metadata(path)
    try:
        config = ClickNetConfig.from_dict(metadata["config"])
    except (TypeError, ValueError) as err:
        raise WeightsError(f"{path}: unusable architecture config: {err}") from None
    try:
        state = load_file(str(path))
    except (SafetensorError, ValueError, RuntimeError) as err:
        raise WeightsError(f"{path} is corrupted ({err}): re-train or re-install it") from None
    model = ClickNet(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or wrong_shape:
        details = "; ".join(
            f"{label}: {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}"
            for label, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape))
            if names
        )
        raise WeightsError(f"{path} does not match the ClickNet architecture it declares ({details}): re-train it")
    model.load_state_dict(state)
    return model.to(device).eval(), metadata
