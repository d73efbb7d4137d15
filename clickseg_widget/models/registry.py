"""Backends by name, so users, the CLI and the widget pick one with a string.

Factories are registered lazily (import inside the factory) so that naming a
backend never imports torch or boto3 for the others.  A backend may need an
extra (``torch`` needs ``clickseg-widget[torch]``); ``default`` is the best
backend that is installed.
"""
from __future__ import annotations

import json
import logging
import warnings
from typing import Any, Callable

from ..extras import MissingDependencyError, install_hint, installed
from .base import Segmenter

SegmenterFactory = Callable[..., Segmenter]

LOG = logging.getLogger(__name__)
DEFAULT = "default"

_FACTORIES: dict[str, SegmenterFactory] = {}
_EXTRAS: dict[str, str] = {}
_DEFAULT_ORDER: list[str] = []


def register(name: str, factory: SegmenterFactory, extra: str | None = None) -> None:
    """Make ``name`` buildable; ``extra`` is the optional-dependency group it needs, if any."""
    _FACTORIES[name] = factory
    if extra:
        _EXTRAS[name] = extra


def set_default_order(names: list[str]) -> None:
    """``default`` is the first of ``names`` that is installed (ranked by benchmarks/RESULTS.md)."""
    _DEFAULT_ORDER[:] = names


def is_installed(name: str) -> bool:
    return name in _FACTORIES and (name not in _EXTRAS or installed(_EXTRAS[name]))


def available() -> list[str]:
    """The backend names that work in this environment, ``default`` included."""
    return sorted([name for name in _FACTORIES if is_installed(name)] + [DEFAULT])


def resolve(name: str) -> str:
    """The backend ``name`` stands for: ``default`` becomes the best installed one."""
    if name != DEFAULT:
        return name
    return next((candidate for candidate in _DEFAULT_ORDER if is_installed(candidate)), _DEFAULT_ORDER[-1])


def get_segmenter(name: str | Segmenter = DEFAULT, **options: Any) -> Segmenter:
    """Build the backend registered as ``name`` (or return a segmenter object as is)."""
    if isinstance(name, Segmenter):
        return name
    target = resolve(name)
    if target not in _FACTORIES:
        raise ValueError(f"unknown segmentation backend {name!r}: choose one of {', '.join(sorted([*_FACTORIES, DEFAULT]))}")
    if not is_installed(target):
        raise MissingDependencyError(f"the {target!r} backend is not installed: {install_hint(_EXTRAS[target])}")
    if name == DEFAULT:
        _say_default(target)
    return _FACTORIES[target](**options)


def _say_default(target: str) -> None:
    preferred = _DEFAULT_ORDER[0]
    if target == preferred:
        LOG.info("backend 'default' is %r", target)
        return
    warnings.warn(
        f"backend 'default' is {target!r}: the {preferred!r} backend is not installed ({install_hint(_EXTRAS[preferred])} adds it)",
        stacklevel=3,
    )


def parse_backend_options(pairs: list[str], flag: str = "--option") -> dict[str, Any]:
    """``KEY=VALUE`` pairs from a command line; values are JSON when they parse (numbers, booleans), else strings."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise ValueError(f"{flag} {pair!r} must look like KEY=VALUE, e.g. weights=clicknet.safetensors")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def _grabcut(**options: Any) -> Segmenter:
    from .grabcut import GrabCutSegmenter

    return GrabCutSegmenter(**options)


def _endpoint(**options: Any) -> Segmenter:
    from .endpoint import EndpointSegmenter

    return EndpointSegmenter(**options)


def _torch(**options: Any) -> Segmenter:
    from .clicknet import ClickNetSegmenter

    return ClickNetSegmenter(**options)


register("grabcut", _grabcut)
register("torch", _torch, extra="torch")
register("endpoint", _endpoint)
# ClickNet gives the better first mask (88.2 vs 86.2 mIoU on GrabCut) and is 14-21x faster per click;
# GrabCut is ahead after 3+ standard corrective clicks (benchmarks/RESULTS.md). GrabCut needs only OpenCV.
set_default_order(["torch", "grabcut"])
