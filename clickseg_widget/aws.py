"""Is this notebook connected to AWS? One answer for every tutorial and script.

The check looks at our own settings first and touches boto3's credential
chain only when they are present, so an offline machine never waits on
network probes (instance metadata) to find out it has no account.
"""
from __future__ import annotations

import os
from typing import Sequence

DEFAULT_REQUIRED = ("CLICKSEG_SAGEMAKER_ROLE_ARN", "CLICKSEG_S3_URI")


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
