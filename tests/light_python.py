"""A child Python without the optional dependencies, as an annotator's base install has it.

A ``sitecustomize`` on its ``PYTHONPATH`` makes the listed top-level packages
unimportable (``ModuleNotFoundError``, as when never installed). Shared by
tests/test_light_install.py and benchmarks/light_install.py (which puts this
folder on sys.path), so the benchmark measures the environment the test proves.
"""
from __future__ import annotations

import os
import textwrap
from pathlib import Path

import clickseg_widget

# what the extras (torch, serve) and the container-only packages bring
MISSING = ["torch", "safetensors", "flask", "waitress", "sagemaker_inference", "sagemaker"]

BLOCKER = """
import sys

MISSING = set({missing!r})


class NotInstalled:
    '''Refuses the listed top-level packages, as an environment without them would.'''

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in MISSING:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
"""


def light_environment(folder: Path, missing: list[str] = MISSING) -> dict[str, str]:
    """Environment variables for a child Python in which ``missing`` cannot be imported; writes into ``folder``."""
    blocker = folder / "light-python"
    blocker.mkdir(parents=True, exist_ok=True)
    (blocker / "sitecustomize.py").write_text(textwrap.dedent(BLOCKER.format(missing=missing)))
    repo = Path(clickseg_widget.__file__).resolve().parents[1]
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(repo)])}
