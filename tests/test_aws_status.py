from clickseg_widget.aws import aws_status


def test_settings_are_checked_before_credentials(monkeypatch):
    monkeypatch.delenv("CLICKSEG_S3_URI", raising=False)
    monkeypatch.setenv("CLICKSEG_SAGEMAKER_ROLE_ARN", "arn:aws:iam::123456789012:role/R")
    assert aws_status() == (False, "CLICKSEG_S3_URI not set")


def test_credentials_and_region_are_required(monkeypatch, tmp_path):
    monkeypatch.setenv("CLICKSEG_S3_URI", "s3://bucket/prefix/")
    monkeypatch.setenv("CLICKSEG_SAGEMAKER_ROLE_ARN", "arn:aws:iam::123456789012:role/R")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION",
                 "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert aws_status() == (False, "boto3 finds no AWS credentials")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert aws_status() == (False, "no AWS region (set AWS_REGION)")
    assert aws_status(region="eu-west-1") == (True, "region eu-west-1")
