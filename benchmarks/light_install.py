"""What the base install saves an annotator: disk per extra, and a kernel's time and memory to a ready widget.

    python benchmarks/light_install.py [--runs 5]

Disk: the installed files of each extra's packages and of everything they pull in that the base install
does not already have (read from the installed distributions' metadata). Start-up: a fresh Python imports
the widget, builds the ``default`` backend and the widget on a sample image until it is ready for a click;
once as the full install has it (``default`` = torch) and once with the optional packages made
unimportable (tests/light_python.py, as the light-install test does: ``default`` = grabcut).
Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))

from light_python import light_environment  # noqa: E402

KERNEL = """
import json, resource, time
start = time.perf_counter()
from clickseg_widget.models.registry import get_segmenter, resolve
from clickseg_widget.samples import sample_image
from clickseg_widget.widget import ClickSegWidget
widget = ClickSegWidget([sample_image("coffee")], segmenter=get_segmenter("default"), classes=["cup"])
widget.wait()  # the first image prepared in the background: ready for the first click
print(json.dumps({"backend": resolve("default"), "seconds": time.perf_counter() - start,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _name(requirement: str) -> str:
    return metadata.distribution(requirement).metadata["Name"].lower()


def closure(requirements: list[Requirement], extras: set[str]) -> set[str]:
    """Installed distributions that ``requirements`` pull in, transitively (markers evaluated for ``extras``)."""
    seen: set[str] = set()
    todo = [(r, extras) for r in requirements]
    while todo:
        requirement, active = todo.pop()
        if requirement.marker and not any(requirement.marker.evaluate({"extra": e}) for e in (active or {""})):
            continue
        try:
            name = _name(requirement.name)
        except metadata.PackageNotFoundError:
            continue
        if name in seen:
            continue
        seen.add(name)
        todo += [(Requirement(r), set(requirement.extras)) for r in metadata.requires(name) or []]
    return seen


def size_mb(names: set[str]) -> float:
    total = 0
    for name in names:
        for file in metadata.distribution(name).files or []:
            path = Path(file.locate())
            if path.is_file():
                total += path.stat().st_size
    return total / 2**20


def disk_per_extra() -> dict[str, float]:
    """From this checkout's pyproject.toml (the installed metadata may be another checkout's)."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    base = closure([Requirement(r) for r in project["dependencies"]], set())
    sizes = {"base": round(size_mb(base), 1)}
    for extra in ("torch", "serve"):
        added = closure([Requirement(r) for r in project["optional-dependencies"][extra]], set()) - base
        sizes[extra] = round(size_mb(added), 1)
    return sizes


def kernel_start(runs: int, env: dict[str, str]) -> dict[str, object]:
    results = []
    for _ in range(runs):
        answer = subprocess.run([sys.executable, "-c", KERNEL], env=env, capture_output=True, text=True, timeout=300, check=True)
        results.append(json.loads(answer.stdout.splitlines()[-1]))
    return {
        "backend": results[0]["backend"],
        "seconds_median": round(statistics.median(r["seconds"] for r in results), 2),
        "peak_rss_mb_median": round(statistics.median(r["peak_rss_mb"] for r in results)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    full_env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with tempfile.TemporaryDirectory() as folder:
        light = kernel_start(args.runs, light_environment(Path(folder)))
    print(json.dumps({
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "installed_mb": disk_per_extra(),
        "full_install": kernel_start(args.runs, full_env),
        "base_install": light,
    }, indent=1))


if __name__ == "__main__":
    main()
