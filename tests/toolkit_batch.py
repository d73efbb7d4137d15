"""Run as a script: the SageMaker inference toolkit's Transformer (what the PyTorch container runs) on one
Batch Transform request of pre-labeling lines, with S3 served by moto.

argv: model_dir, the request body file, then image files uploaded as s3://images/<name>.
Prints the status, the response content type and the body.
"""
import json
import sys
from pathlib import Path

import boto3
from moto import mock_aws
from sagemaker_inference.transformer import Transformer


class Context:
    """TorchServe's request context as the toolkit uses it: headers in, status and content type out."""

    def __init__(self, model_dir: str) -> None:
        self.system_properties = {"model_dir": model_dir}
        self.request_processor = [self]
        self.status = (200, None)
        self.content_type = None

    def get_request_properties(self) -> dict:
        return {"Content-Type": "application/jsonlines", "Accept": "application/jsonlines"}

    def set_response_content_type(self, index: int, content_type: str) -> None:
        self.content_type = content_type

    def set_response_status(self, code: int, phrase: str) -> None:
        self.status = (code, phrase)


with mock_aws():
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="images")
    for name in sys.argv[3:]:
        s3.put_object(Bucket="images", Key=Path(name).name, Body=Path(name).read_bytes())
    context = Context(sys.argv[1])
    body = Transformer().transform([{"body": Path(sys.argv[2]).read_bytes()}], context)[0]
    body = body.decode() if isinstance(body, bytes) else body
    print(json.dumps({"status": context.status[0], "content_type": context.content_type, "body": body}))
