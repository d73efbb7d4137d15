"""``clickseg demo``: JupyterLab on the first tutorial, with the shipped model and samples.

The tutorial is copied into a working folder (never over a copy the user
has edited) so the package's own files stay read-only.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from importlib import resources
from pathlib import Path

TUTORIAL = "01_few_click_labeling.ipynb"


def tutorial_source() -> Path:
    return Path(str(resources.files("clickseg_widget") / "assets" / "tutorials" / TUTORIAL))


def prepare_workdir(workdir: Path) -> Path:
    """Copy the tutorial into ``workdir`` unless the user already has one there."""
    workdir.mkdir(parents=True, exist_ok=True)
    notebook = workdir / TUTORIAL
    if not notebook.exists():
        shutil.copyfile(tutorial_source(), notebook)
    return notebook


def jupyter_command(
    notebook: Path, port: int | None, open_browser: bool, ip: str, extra: list[str] | None = None
) -> list[str]:
    command = [sys.executable, "-m", "jupyterlab", str(notebook.name), f"--ServerApp.root_dir={notebook.parent}"]
    command.append(f"--ServerApp.ip={ip}")
    if port is not None:
        command.append(f"--ServerApp.port={port}")
    if not open_browser:
        command.append("--ServerApp.open_browser=False")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # containers and cloud notebooks often run as root, where JupyterLab refuses to start otherwise
        command.append("--ServerApp.allow_root=True")
    return command + list(extra or [])


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", type=Path, default=Path("clickseg-demo"), help="working folder for the notebook")
    parser.add_argument("--port", type=int, default=None, help="JupyterLab port (default: JupyterLab's)")
    parser.add_argument("--ip", default="127.0.0.1", help="address JupyterLab listens on")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    parser.add_argument("--dry-run", action="store_true", help="prepare the folder and print the command only")
    parser.add_argument("jupyter_args", nargs="*", help="further JupyterLab options, after --")


def run(args: argparse.Namespace) -> int:
    try:
        import jupyterlab  # noqa: F401  (only checking it is installed)
    except ImportError:
        raise ValueError("JupyterLab is not installed: pip install 'clickseg-widget[dev]' or pip install jupyterlab")
    notebook = prepare_workdir(args.dir.resolve())
    command = jupyter_command(notebook, args.port, not args.no_browser, args.ip, args.jupyter_args)
    print(f"clickseg demo: opening {notebook}")
    if args.dry_run:
        print(" ".join(command))
        return 0
    sys.stdout.flush()
    os.chdir(notebook.parent)
    os.execv(command[0], command)  # JupyterLab takes over this process: Ctrl+C and signals reach it directly
