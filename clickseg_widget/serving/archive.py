"""``model.tar.gz`` in SageMaker's layout, ready for the PyTorch inference container.

Layout: weights and ``serving.json`` at the top (unpacked to ``/opt/ml/model``),
``code/inference.py`` + ``code/requirements.txt``, and the ``clickseg_widget``
package itself vendored under ``code/``: the container puts ``code/`` on
``sys.path``, so the package imports without being on PyPI, and only its
third-party dependencies go through pip.
"""
from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path
from typing import Any, Iterable, Mapping

from .._version import __version__
from ..io.atomic import atomic_write_bytes
from ..models.registry import resolve
from .handler import SERVING_CONFIG

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
SERVING_DIR = Path(__file__).resolve().parent
# Package data the container needs besides the Python files (the shipped default weights).
VENDORED_DATA = ("models/weights/*.safetensors",)


def build_model_archive(
    output_path: str | os.PathLike,
    backend: str = "default",
    weights: Mapping[str, str | os.PathLike] | None = None,
    options: Mapping[str, Any] | None = None,
    model_version: str | None = None,
    requirements: Iterable[str] | None = None,
    image_cache_size: int | None = None,
) -> Path:
    """Write ``model.tar.gz`` and return its path.

    ``weights`` maps a backend option to a local file (e.g. ``{"weights": "clicknet.safetensors"}``):
    the file is stored at the archive's top level and the option is pointed at it when the
    endpoint loads.  ``options`` are passed to the backend as is; ``requirements`` replaces
    ``code/requirements.txt`` (pass ``[]`` for a container that already has everything).
    """
    weights = dict(weights or {})
    file_options: dict[str, str] = {}
    for option, path in weights.items():
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"weights file {path} for option {option!r} does not exist")
        if path.name in file_options.values() or path.name == SERVING_CONFIG:
            raise ValueError(f"two archive files would be named {path.name}: rename one of the weights files")
        file_options[option] = path.name
    backend = resolve(backend)  # pin what "default" means today, so the endpoint serves the model tested here
    config: dict[str, Any] = {
        "backend": backend,
        "options": dict(options or {}),
        "file_options": file_options,
        "model_version": model_version or f"{backend}-clickseg-{__version__}",
    }
    if image_cache_size is not None:
        config["image_cache_size"] = int(image_cache_size)
    try:
        json.dumps(config)
    except TypeError as err:  # fail here, not when the endpoint starts
        raise ValueError(f"backend options must be JSON values (numbers, strings, lists, dicts): {err}") from None
    requirement_text = (
        "".join(f"{line}\n" for line in requirements) if requirements is not None else (SERVING_DIR / "requirements.txt").read_text()
    )

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        _add_bytes(archive, SERVING_CONFIG, (json.dumps(config, indent=2) + "\n").encode())
        for option, path in weights.items():
            archive.add(str(path), arcname=file_options[option])
        archive.add(str(SERVING_DIR / "inference.py"), arcname="code/inference.py")
        _add_bytes(archive, "code/requirements.txt", requirement_text.encode())
        for path in vendored_files():
            archive.add(str(path), arcname=f"code/{path.relative_to(PACKAGE_ROOT.parent).as_posix()}")
    return atomic_write_bytes(output_path, buffer.getvalue())


def vendored_files() -> list[Path]:
    """The package's Python files and the data files in ``VENDORED_DATA``, sorted."""
    files = {path for path in PACKAGE_ROOT.rglob("*.py") if "__pycache__" not in path.parts}
    for pattern in VENDORED_DATA:
        files.update(PACKAGE_ROOT.glob(pattern))
    return sorted(files)


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))
