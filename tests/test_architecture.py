"""Imports run only downward through the layers the README's Architecture section states, with no loop between folders."""
from __future__ import annotations

import ast
from itertools import combinations
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "clickseg_widget"
# the README's table: a part may import its own layer and those below it
LAYERS = {
    "__init__": 1, "_version": 1, "clicks": 1, "io": 1, "extras": 1,
    "protocol": 2, "simulation": 2, "export": 2,
    "models": 3,
    "evaluation": 4,
    "widget": 5, "serving": 5, "groundtruth": 5, "prelabel": 5, "workforce": 5, "cli": 5, "demo": 5, "aws": 5, "samples": 5,
}


def part_of(module: str) -> str:
    """``clickseg_widget.models.clicknet.train`` -> ``models``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "__init__"  # `from .. import name`: the package


def imports_of(path: Path) -> set[str]:
    """Package modules a file imports, function-level imports included."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names] if not node.module else [target]
            found.update(name for name in names if name.startswith("clickseg_widget"))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("clickseg_widget"))
    return found


def arrows() -> set[tuple[str, str, str]]:
    """(importing file, importing part, imported part) for every import between two parts."""
    result = set()
    for path in PACKAGE.rglob("*.py"):
        source = part_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        for target in imports_of(path):
            if part_of(target) != source:
                result.add((str(path.relative_to(PACKAGE.parent)), source, part_of(target)))
    return result


def test_every_part_has_a_layer():
    parts = {path.stem if path.is_file() else path.name for path in PACKAGE.iterdir() if path.suffix == ".py" or (path / "__init__.py").is_file()}
    assert parts <= set(LAYERS), f"give {sorted(parts - set(LAYERS))} a layer here and in the README's Architecture table"


def test_no_import_runs_up_a_layer():
    upward = sorted(f"{file} imports {target} (layer {LAYERS[target]} > {LAYERS[source]})"
                    for file, source, target in arrows() if LAYERS[target] > LAYERS[source])
    assert not upward, "\n".join(upward)


def test_no_two_parts_import_each_other():
    pairs = {(source, target) for _, source, target in arrows()}
    loops = sorted(f"{a} <-> {b}" for a, b in combinations(sorted(LAYERS), 2) if (a, b) in pairs and (b, a) in pairs)
    assert not loops, loops
