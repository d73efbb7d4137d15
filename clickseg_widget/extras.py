"""Optional dependencies: which extra brings each, and a clear error when one is missing.

The base install (widget, ``grabcut``, the endpoint client, evaluation, Ground
Truth helpers) needs no PyTorch and no web server, so annotators who label
through an endpoint install little.  The heavy parts check here first and say
which ``pip install`` fixes them instead of failing on a bare ``import torch``.
"""
from __future__ import annotations

import functools
import importlib

PACKAGE = "clickseg-widget"

# extra name -> the top-level modules it installs (pyproject.toml's optional-dependencies)
EXTRAS: dict[str, tuple[str, ...]] = {
    "torch": ("torch", "safetensors"),
    "serve": ("flask", "waitress"),
}


class MissingDependencyError(ImportError):
    """A feature's optional dependency is not installed; the message names the extra to install."""


@functools.cache
def importable(module: str) -> bool:
    """Whether ``module`` imports here (installed and loadable); cached, so asking again is free."""
    try:
        importlib.import_module(module)
    except (ImportError, OSError):  # not installed, or installed without its native libraries
        return False
    return True


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that do not import here."""
    return [module for module in EXTRAS[extra] if not importable(module)]


def installed(extra: str) -> bool:
    return not missing(extra)


def install_hint(extra: str) -> str:
    return f"pip install '{PACKAGE}[{extra}]'"


def require(extra: str, feature: str) -> None:
    """Raise ``MissingDependencyError`` unless every module of ``extra`` imports."""
    absent = missing(extra)
    if absent:
        raise MissingDependencyError(
            f"{feature} needs {', '.join(absent)}, which {'is' if len(absent) == 1 else 'are'} not installed: {install_hint(extra)}"
        )
