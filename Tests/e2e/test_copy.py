"""CopyObject: directives, self-copy, URL-encoded copy sources, copy-source conditionals."""

from __future__ import annotations

import datetime as dt
import hashlib
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from conftest import client_error, unique_bucket


def etag_of(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


@pytest.fixture
def src(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src/obj.txt", Body=b"copy me", ContentType="text/plain",
                  CacheControl="max-age=60", ContentDisposition="inline", ContentLanguage="en",
                  Metadata={"origin": "source", "n": "1"})
    return bucket


def test_copy_default_directive_copies_metadata(s3, src):
    resp = s3.copy_object(Bucket=src, Key="dst/copy.txt", CopySource={"Bucket": src, "Key": "src/obj.txt"})
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["CopyObjectResult"]["ETag"] == etag_of(b"copy me")
    assert isinstance(resp["CopyObjectResult"]["LastModified"], dt.datetime)
    got = s3.get_object(Bucket=src, Key="dst/copy.txt")
    assert got["Body"].read() == b"copy me"
    assert got["ContentType"] == "text/plain"
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentDisposition"] == "inline"
    assert got["ContentLanguage"] == "en"
    assert got["Metadata"] == {"origin": "source", "n": "1"}
    assert got["ETag"] == etag_of(b"copy me")
    # source untouched
    assert s3.get_object(Bucket=src, Key="src/obj.txt")["Body"].read() == b"copy me"


def test_copy_explicit_copy_directive_ignores_request_metadata(s3, src):
    s3.copy_object(Bucket=src, Key="c2", CopySource=f"{src}/src/obj.txt", MetadataDirective="COPY",
                   Metadata={"ignored": "yes"}, ContentType="application/x-ignored")
    head = s3.head_object(Bucket=src, Key="c2")
    assert head["Metadata"] == {"origin": "source", "n": "1"}
    assert head["ContentType"] == "text/plain"


def test_copy_replace_directive(s3, src):
    s3.copy_object(Bucket=src, Key="c3", CopySource={"Bucket": src, "Key": "src/obj.txt"},
                   MetadataDirective="REPLACE", Metadata={"fresh": "value"}, ContentType="application/json")
    got = s3.get_object(Bucket=src, Key="c3")
    assert got["Body"].read() == b"copy me"
    assert got["Metadata"] == {"fresh": "value"}
    assert got["ContentType"] == "application/json"
    assert "CacheControl" not in got
    assert "ContentDisposition" not in got


def test_copy_across_buckets(s3, src):
    other = unique_bucket()
    s3.create_bucket(Bucket=other)
    try:
        s3.copy_object(Bucket=other, Key="x", CopySource={"Bucket": src, "Key": "src/obj.txt"})
        assert s3.get_object(Bucket=other, Key="x")["Body"].read() == b"copy me"
    finally:
        s3.delete_object(Bucket=other, Key="x")
        s3.delete_bucket(Bucket=other)


def test_copy_onto_itself_without_replace_is_invalid_request(s3, src):
    with pytest.raises(ClientError) as ei:
        s3.copy_object(Bucket=src, Key="src/obj.txt", CopySource={"Bucket": src, "Key": "src/obj.txt"})
    assert client_error(ei)[:2] == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as ei:
        s3.copy_object(Bucket=src, Key="src/obj.txt", CopySource={"Bucket": src, "Key": "src/obj.txt"},
                       MetadataDirective="COPY")
    assert client_error(ei)[:2] == ("InvalidRequest", 400)


def test_copy_onto_itself_with_replace_updates_metadata(s3, src):
    before = s3.head_object(Bucket=src, Key="src/obj.txt")
    s3.copy_object(Bucket=src, Key="src/obj.txt", CopySource={"Bucket": src, "Key": "src/obj.txt"},
                   MetadataDirective="REPLACE", Metadata={"updated": "true"}, ContentType="text/markdown")
    got = s3.get_object(Bucket=src, Key="src/obj.txt")
    assert got["Body"].read() == b"copy me"
    assert got["Metadata"] == {"updated": "true"}
    assert got["ContentType"] == "text/markdown"
    assert got["ETag"] == before["ETag"]
    assert got["LastModified"] >= before["LastModified"]


def test_copy_invalid_metadata_directive(server, src):
    r = server.http("PUT", f"/{src}/bad-directive",
                    headers={"x-amz-copy-source": f"/{src}/src/obj.txt", "x-amz-metadata-directive": "MERGE"})
    assert r.status == 400
    assert r.error_code() == "InvalidArgument"


@pytest.mark.parametrize("key", [
    "with space.txt", "plus+sign", "percent%25literal", "question?mark", "hash#tag",
    "unicod\u00e9/\u65e5\u672c\u8a9e/\U0001F600", "amp&er=sand", "semi;colon", "tilde~x",
])
def test_copy_source_url_encoded_keys(s3, bucket, key):
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    s3.copy_object(Bucket=bucket, Key=key + ".copy", CopySource={"Bucket": bucket, "Key": key})
    assert s3.get_object(Bucket=bucket, Key=key + ".copy")["Body"].read() == key.encode()


def test_copy_source_raw_forms(server, s3, src):
    # with and without leading slash, fully percent-encoded
    enc = urllib.parse.quote("src/obj.txt", safe="/")
    for i, source in enumerate([f"/{src}/{enc}", f"{src}/{enc}", f"/{src}/src%2Fobj.txt"]):
        r = server.http("PUT", f"/{src}/raw-copy-{i}", headers={"x-amz-copy-source": source})
        assert r.status == 200, (source, r.body)
        root = r.xml()
        assert root.tag.endswith("CopyObjectResult")
        assert s3.get_object(Bucket=src, Key=f"raw-copy-{i}")["Body"].read() == b"copy me"


def test_copy_missing_source_key(s3, bucket):
    with pytest.raises(ClientError) as ei:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "does-not-exist"})
    assert client_error(ei)[:2] == ("NoSuchKey", 404)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="dst")


def test_copy_missing_source_bucket(s3, bucket):
    with pytest.raises(ClientError) as ei:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": unique_bucket(), "Key": "k"})
    assert client_error(ei)[:2] == ("NoSuchBucket", 404)


def test_copy_to_missing_destination_bucket(s3, src):
    with pytest.raises(ClientError) as ei:
        s3.copy_object(Bucket=unique_bucket(), Key="dst", CopySource={"Bucket": src, "Key": "src/obj.txt"})
    assert client_error(ei)[:2] == ("NoSuchBucket", 404)


def _copy_status(call):
    try:
        return call()["ResponseMetadata"]["HTTPStatusCode"], None
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]


def test_copy_source_conditionals(s3, src):
    head = s3.head_object(Bucket=src, Key="src/obj.txt")
    etag, lm = head["ETag"], head["LastModified"]
    past = lm - dt.timedelta(days=1)
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    cs = {"Bucket": src, "Key": "src/obj.txt"}

    def copy(**kw):
        return _copy_status(lambda: s3.copy_object(Bucket=src, Key="cond-dst", CopySource=cs, **kw))

    assert copy(CopySourceIfMatch=etag) == (200, None)
    assert copy(CopySourceIfMatch='"deadbeef"') == (412, "PreconditionFailed")
    assert copy(CopySourceIfNoneMatch=etag) == (412, "PreconditionFailed")
    assert copy(CopySourceIfNoneMatch='"deadbeef"') == (200, None)
    assert copy(CopySourceIfModifiedSince=past) == (200, None)
    assert copy(CopySourceIfModifiedSince=future) == (412, "PreconditionFailed")
    assert copy(CopySourceIfUnmodifiedSince=future) == (200, None)
    assert copy(CopySourceIfUnmodifiedSince=past) == (412, "PreconditionFailed")
    # the comparison is at the one-second resolution of Last-Modified
    assert copy(CopySourceIfModifiedSince=lm) == (412, "PreconditionFailed")
    assert copy(CopySourceIfUnmodifiedSince=lm) == (200, None)
    # documented combinations: If-Match true + If-Unmodified-Since false -> copy happens
    assert copy(CopySourceIfMatch=etag, CopySourceIfUnmodifiedSince=past) == (200, None)
    # If-None-Match false + If-Modified-Since true -> 412
    assert copy(CopySourceIfNoneMatch=etag, CopySourceIfModifiedSince=past) == (412, "PreconditionFailed")


def test_failed_copy_condition_does_not_write(s3, src):
    with pytest.raises(ClientError):
        s3.copy_object(Bucket=src, Key="never", CopySource={"Bucket": src, "Key": "src/obj.txt"},
                       CopySourceIfMatch='"nope"')
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=src, Key="never")
    assert client_error(ei)[1] == 404


def test_copy_overwrites_existing_destination(s3, src):
    s3.put_object(Bucket=src, Key="dst-existing", Body=b"old contents", Metadata={"old": "1"})
    s3.copy_object(Bucket=src, Key="dst-existing", CopySource={"Bucket": src, "Key": "src/obj.txt"})
    got = s3.get_object(Bucket=src, Key="dst-existing")
    assert got["Body"].read() == b"copy me"
    assert got["Metadata"] == {"origin": "source", "n": "1"}


def test_copy_replace_metadata_too_large(s3, src):
    with pytest.raises(ClientError) as ei:
        s3.copy_object(Bucket=src, Key="big", CopySource={"Bucket": src, "Key": "src/obj.txt"},
                       MetadataDirective="REPLACE", Metadata={"m": "x" * 3000})
    assert client_error(ei)[:2] == ("MetadataTooLarge", 400)


def test_copy_gets_a_new_last_modified(s3, src):
    import time
    source_lm = s3.head_object(Bucket=src, Key="src/obj.txt")["LastModified"]
    time.sleep(1.2)
    resp = s3.copy_object(Bucket=src, Key="later", CopySource={"Bucket": src, "Key": "src/obj.txt"})
    assert resp["CopyObjectResult"]["LastModified"] > source_lm
    assert s3.head_object(Bucket=src, Key="later")["LastModified"] > source_lm
