"""Build the code zip the stack's three Lambdas share (``CodeS3Bucket``/``CodeS3Key``).

The handlers need the lower layers of this package (core, protocol, export)
plus Ground Truth's and the workforce's own modules, and numpy, Pillow and
pycocotools built for Lambda's Linux; pip fetches those as manylinux wheels
for the target Python whatever machine runs this.  boto3 is already in the
Lambda runtime.  The models, the server, evaluation and the notebook widget
are left out: the Lambdas never import them (the proxy only forwards requests).

    python -m clickseg_widget.workforce.lambda_package clickseg-lambda.zip
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..io.atomic import atomic_write_bytes

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
DEPENDENCIES = ("numpy", "pillow", "pycocotools")
# the Lambdas serve no page and run no model
EXCLUDED_PARTS = ("__pycache__", "assets", "static", "widget", "models", "serving", "evaluation", "simulation")
LAMBDA_PLATFORM = "manylinux2014_x86_64"
LAMBDA_PYTHON = "3.12"  # infrastructure/template.yaml's Runtime


def package_files() -> list[Path]:
    """This package's files that the Lambdas may import or read."""
    return sorted(
        path for path in PACKAGE_ROOT.rglob("*")
        if path.is_file() and not set(path.relative_to(PACKAGE_ROOT).parts) & set(EXCLUDED_PARTS) and path.suffix != ".pyc"
    )


def install_dependencies(target: Path, python_version: str = LAMBDA_PYTHON, platform: str = LAMBDA_PLATFORM) -> None:
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), "--only-binary=:all:",
        "--implementation", "cp", "--python-version", python_version, "--platform", platform, *DEPENDENCIES,
    ]
    subprocess.run(command, check=True)


def build_lambda_zip(output: str | Path, with_dependencies: bool = True) -> Path:
    """Write the zip atomically; returns its path."""
    with tempfile.TemporaryDirectory() as temp:
        staging = Path(temp)
        if with_dependencies:
            install_dependencies(staging)
        archive = staging / "lambda.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
            for path in package_files():
                bundle.write(path, Path(PACKAGE_ROOT.name) / path.relative_to(PACKAGE_ROOT))
            for path in sorted(staging.rglob("*")):
                if path.is_file() and path != archive and "__pycache__" not in path.parts:
                    bundle.write(path, path.relative_to(staging))
        return atomic_write_bytes(output, archive.read_bytes())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", help="zip file to write, e.g. clickseg-lambda.zip")
    args = parser.parse_args(argv)
    path = build_lambda_zip(args.output)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): upload it and pass its bucket/key as CodeS3Bucket/CodeS3Key")
    return 0


if __name__ == "__main__":
    sys.exit(main())
