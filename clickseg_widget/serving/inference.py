"""Entry point shipped as ``code/inference.py`` in ``model.tar.gz`` for the SageMaker PyTorch container.

The container's toolkit turns a ``GenericInferenceToolkitError`` into that
HTTP status with the message as body; we put the v1 JSON error on the first
line so clients can read its ``code`` (e.g. ``unknown_image_hash``).  Outside
the container the toolkit is absent and errors propagate unchanged.
"""
from __future__ import annotations

import functools
import json
from typing import Any, Callable

from clickseg_widget.serving import handler
from clickseg_widget.protocol.schema import SchemaError

try:
    from sagemaker_inference.errors import GenericInferenceToolkitError
except ImportError:  # not inside a SageMaker inference container
    GenericInferenceToolkitError = None


def _toolkit_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any) -> Any:
        try:
            return function(*args)
        except SchemaError as err:
            if GenericInferenceToolkitError is None:
                raise
            raise GenericInferenceToolkitError(err.status, json.dumps(err.to_body())) from None

    return wrapper


model_fn = handler.model_fn
input_fn = _toolkit_errors(handler.input_fn)
predict_fn = _toolkit_errors(handler.predict_fn)
output_fn = _toolkit_errors(handler.output_fn)
