"""Ground Truth from a notebook: build and launch labeling jobs, read their
outputs, plot costs and quality per iteration, and simulate automated labeling
locally before paying for a real job.

The names below are imported on first use, so ``import
clickseg_widget.groundtruth`` pulls in neither boto3 nor matplotlib.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Workteam": "labeling_requests",
    "bounding_box_job_request": "labeling_requests",
    "semantic_segmentation_job_request": "labeling_requests",
    "validate_labeling_job_request": "validation",
    "render_template": "templates",
    "upload_template": "templates",
    "ExampleImage": "templates",
    "upload_images": "manifests",
    "upload_input_manifest": "manifests",
    "upload_label_categories": "manifests",
    "sagemaker_client": "job_control",
    "launch": "job_control",
    "describe": "job_control",
    "list_jobs": "job_control",
    "stop": "job_control",
    "wait": "job_control",
    "load_job": "job_results",
    "cost_table": "reporting",
    "cost_dataframe": "reporting",
    "report": "reporting",
    "label_quality": "reporting",
    "format_quality": "quality",
    "write_label_pdfs": "label_pdfs",
    "read_worker_boxes": "worker_responses",
    "CostModel": "costs",
    "SimulationSettings": "simulator",
    "simulate": "simulator",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
