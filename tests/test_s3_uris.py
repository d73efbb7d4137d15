import pytest

from clickseg_widget.io.s3 import join_s3, parse_s3_uri


def test_keys_and_prefixes():
    assert parse_s3_uri("s3://bucket/a/b.png") == ("bucket", "a/b.png")
    assert parse_s3_uri("s3://bucket") == ("bucket", "")
    assert parse_s3_uri("s3://bucket/prefix/") == ("bucket", "prefix/")
    assert join_s3("s3://bucket/prefix/", "/job/", "x.json") == "s3://bucket/prefix/job/x.json"


@pytest.mark.parametrize("uri", ["https://bucket/key", "s3:/bucket/key", "s3://", "s3://bucket/key\n", None])
def test_non_uris_are_refused(uri):
    with pytest.raises(ValueError, match="is not an S3 URI"):
        parse_s3_uri(uri)


@pytest.mark.parametrize("uri", ["s3://bucket", "s3://bucket/prefix/"])
def test_an_object_uri_must_name_an_object(uri):
    with pytest.raises(ValueError, match="names no object"):
        parse_s3_uri(uri, require_key=True)
