"""Bundle the worker tool's ES modules (js/worker) into one classic script.

A Ground Truth template can inline one script or load one from a presigned S3
URL, and a presigned URL signs a single key, so relative ES-module imports
cannot follow it.  The modules are ours and import each other only by
``import { ... } from "./x.js";`` lines, so joining them in dependency order
inside one function scope is the whole job; no bundler toolchain needed.

The package ships the modules themselves (``static/worker`` links to js/worker,
and wheels carry the files) and bundles them when a template needs the
script, so there is no generated copy to keep in step.
``python -m clickseg_widget.workforce.bundle OUT.js`` writes the bundle for
hosting it elsewhere.
"""
from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path

from ..io.atomic import atomic_write_text

SOURCE_DIR = Path(__file__).parent / "static" / "worker"  # a link to js/worker in the repository
ENTRY_MODULE = "clickseg-tool.js"
_IMPORT = re.compile(r'^import \{[^}]*\} from "\./([\w.-]+\.js)";\n', re.MULTILINE)
_EXPORT = re.compile(r"^export (?=(?:async function|function|class|const|let) )", re.MULTILINE)
# Liquid would expand these, and the first ends an inline <script> early.
FORBIDDEN = ("</script", "{{", "{%")


def bundle_tool_js(source_dir: Path = SOURCE_DIR) -> str:
    """The modules reachable from the entry module, dependencies first, then ``mountAll()``."""
    ordered: list[str] = []
    bodies: dict[str, str] = {}

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name in chain:
            raise ValueError(f"import cycle among the worker modules: {' -> '.join(chain + (name,))}")
        if name in bodies:
            return
        path = source_dir / name
        if not path.is_file():
            raise FileNotFoundError(f"worker module {path} is missing (imported by {chain[-1] if chain else 'the bundle'})")
        text = path.read_text(encoding="utf-8")
        bodies[name] = ""
        for dependency in _IMPORT.findall(text):
            visit(dependency, chain + (name,))
        body = _EXPORT.sub("", _IMPORT.sub("", text))
        if re.search(r"^\s*(import|export)\b", body, re.MULTILINE):
            raise ValueError(f"{name} has an import/export the bundler does not understand: use one-line named imports from ./")
        bodies[name] = body
        ordered.append(name)

    visit(ENTRY_MODULE, ())
    parts = [f"// ---- {name}\n{bodies[name]}" for name in ordered]
    script = (
        "/* clickseg worker tool: bundled from js/worker by clickseg_widget.workforce.bundle. Do not edit. */\n"
        '(() => {\n"use strict";\n' + "\n".join(parts) + "\nmountAll(document);\n})();\n"
    )
    for token in FORBIDDEN:
        if token in script:
            raise ValueError(f"the worker tool contains {token!r}, which breaks an inline script in a Liquid template: rewrite it")
    return script


@lru_cache(maxsize=1)
def tool_script() -> str:
    """The worker tool as one script, bundled once per process from the shipped modules."""
    return bundle_tool_js()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m clickseg_widget.workforce.bundle OUT.js", file=sys.stderr)
        return 2
    atomic_write_text(args[0], tool_script())
    print(f"wrote {args[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
