"""Is this notebook connected to AWS, and its clients: one answer for every tutorial and script.

The check looks at our own settings first and touches boto3's credential
chain only when they are present, so an offline machine never waits on
network probes (instance metadata) to find out it has no account.
"""
from __future__ import annotations

import os
from typing import Any, Sequence

DEFAULT_REQUIRED = ("CLICKSEG_SAGEMAKER_ROLE_ARN", "CLICKSEG_S3_URI")
VARIANT_NAME = "AllTraffic"  # the one production variant of every endpoint deployed here


def aws_status(required_env: Sequence[str] = DEFAULT_REQUIRED, region: str | None = None) -> tuple[bool, str]:
    """``(True, "region ...")`` when the settings, credentials and a region are all there, else why not."""
    missing = [name for name in required_env if not os.environ.get(name)]
    if missing:
        return False, f"{' and '.join(missing)} not set"
    import boto3

    session = boto3.session.Session(region_name=region)
    if session.get_credentials() is None:
        return False, "boto3 finds no AWS credentials"
    if session.region_name is None:
        return False, "no AWS region (set AWS_REGION)"
    return True, f"region {session.region_name}"


def aws_client(service: str, boto3_session: Any = None, region: str | None = None) -> Any:
    """A boto3 client of ``boto3_session`` (or a new default session) in ``region`` (or the session's)."""
    import boto3

    session = boto3_session or boto3.session.Session()
    region = region or session.region_name
    if region is None:
        raise ValueError("no AWS region configured: pass region='us-east-1' (for example) or set AWS_DEFAULT_REGION")
    return session.client(service, region_name=region)
