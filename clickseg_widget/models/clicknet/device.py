"""Where the network runs: CUDA when present (``auto``), else the CPU."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> ``cuda`` when ``torch.cuda.is_available()``, otherwise ``cpu``; other names are checked."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}: use 'auto', 'cpu' or 'cuda'") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was asked for but CUDA is not available here: use 'auto' or 'cpu'")
    return chosen


@contextmanager
def cpu_threads(count: int | None) -> Iterator[None]:
    """Run torch CPU ops on ``count`` threads, restoring the process setting afterwards.

    A per-click decode is a few small convolutions: on a busy 2-core machine
    two OpenMP threads waiting for each other made it 1-2 s instead of 40 ms
    (measured, see benchmarks/RESULTS.md), so the segmenter uses one.
    """
    if count is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
