"""DeleteObjects (multi-object delete)."""

from __future__ import annotations

import base64
import hashlib
import xml.sax.saxutils as su

import pytest
from botocore.exceptions import ClientError

from conftest import client_error, find_text, strip_ns


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def delete_xml(keys, quiet=False) -> bytes:
    objs = "".join(f"<Object><Key>{su.escape(k)}</Key></Object>" for k in keys)
    q = "<Quiet>true</Quiet>" if quiet else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"{q}{objs}</Delete>").encode()


def keys_in(s3, bucket):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_delete_objects_batch(s3, bucket):
    for k in ["a", "b/c", "d e", "f&g<h>"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    s3.put_object(Bucket=bucket, Key="keep", Body=b"x")
    resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "a"}, {"Key": "b/c"}, {"Key": "d e"}, {"Key": "f&g<h>"}, {"Key": "missing"}]})
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    deleted = sorted(d["Key"] for d in resp.get("Deleted", []))
    # S3 reports keys that did not exist as deleted too
    assert deleted == sorted(["a", "b/c", "d e", "f&g<h>", "missing"])
    assert resp.get("Errors", []) == []
    assert keys_in(s3, bucket) == ["keep"]


def test_delete_objects_quiet(s3, bucket):
    for k in ["q1", "q2"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "q1"}, {"Key": "q2"}], "Quiet": True})
    assert resp.get("Deleted", []) == []
    assert resp.get("Errors", []) == []
    assert keys_in(s3, bucket) == []


def test_delete_objects_raw_with_content_md5(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="raw1", Body=b"x")
    body = delete_xml(["raw1"])
    r = server.http("POST", f"/{bucket}?delete", body=body, headers={"Content-MD5": md5_b64(body)})
    assert r.status == 200
    root = r.xml()
    assert strip_ns(root.tag) == "DeleteResult"
    deleted = [c for c in root if strip_ns(c.tag) == "Deleted"]
    assert [find_text(d, "Key") for d in deleted] == ["raw1"]
    assert keys_in(s3, bucket) == []


def test_delete_objects_raw_with_checksum_header(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="raw2", Body=b"x")
    body = delete_xml(["raw2"])
    crc = base64.b64encode(hashlib.sha256(body).digest()).decode()
    r = server.http("POST", f"/{bucket}?delete", body=body, headers={"x-amz-checksum-sha256": crc})
    assert r.status == 200
    assert keys_in(s3, bucket) == []


def test_delete_objects_requires_content_md5_or_checksum(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="stay", Body=b"x")
    body = delete_xml(["stay"])
    r = server.http("POST", f"/{bucket}?delete", body=body)
    assert r.status == 400
    assert r.error_code() == "InvalidRequest"
    assert keys_in(s3, bucket) == ["stay"]


def test_delete_objects_bad_content_md5(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="stay", Body=b"x")
    body = delete_xml(["stay"])
    r = server.http("POST", f"/{bucket}?delete", body=body, headers={"Content-MD5": md5_b64(b"other")})
    assert r.status == 400
    assert r.error_code() == "BadDigest"
    assert keys_in(s3, bucket) == ["stay"]


@pytest.mark.parametrize("body", [
    b"this is not xml",
    b"<Delete><Object><Key>unterminated</Key></Object>",
    b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></Delete>',            # no objects
    b"<Wrong><Object><Key>k</Key></Object></Wrong>",
    b"<Delete><Object></Object></Delete>",                                              # object without key
])
def test_delete_objects_malformed_xml(server, bucket, body):
    r = server.http("POST", f"/{bucket}?delete", body=body, headers={"Content-MD5": md5_b64(body)})
    assert r.status == 400
    assert r.error_code() == "MalformedXML"


def test_delete_objects_more_than_1000_keys_rejected(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k0", Body=b"x")
    body = delete_xml([f"k{i}" for i in range(1001)])
    r = server.http("POST", f"/{bucket}?delete", body=body, headers={"Content-MD5": md5_b64(body)})
    assert r.status == 400
    assert r.error_code() == "MalformedXML"
    assert keys_in(s3, bucket) == ["k0"]


def test_delete_objects_exactly_1000_keys(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k0", Body=b"x")
    resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"k{i}"} for i in range(1000)]})
    assert len(resp["Deleted"]) == 1000
    assert keys_in(s3, bucket) == []


def test_delete_objects_missing_bucket(s3):
    with pytest.raises(ClientError) as ei:
        s3.delete_objects(Bucket="no-such-bucket-e2e-zz", Delete={"Objects": [{"Key": "a"}]})
    assert client_error(ei)[:2] == ("NoSuchBucket", 404)

