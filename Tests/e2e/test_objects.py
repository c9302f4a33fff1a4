"""PutObject / GetObject / HeadObject / DeleteObject: bodies, metadata, ranges, conditionals,
response overrides, integrity headers and limits."""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from conftest import assert_tmp_empty, client_error, unique_bucket

EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def http_date(d: dt.datetime) -> str:
    return email.utils.format_datetime(d.astimezone(dt.timezone.utc), usegmt=True)


# ------------------------------------------------------------------------- basic round trip


@pytest.mark.parametrize("size", [0, 1, 1000, 65536 + 7, 3 * 1024 * 1024 + 5])
def test_put_get_roundtrip_sizes(s3, bucket, size):
    data = os.urandom(size)
    put = s3.put_object(Bucket=bucket, Key=f"obj-{size}", Body=data)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert put["ETag"] == f'"{md5_hex(data)}"'
    got = s3.get_object(Bucket=bucket, Key=f"obj-{size}")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    body = got["Body"].read()
    assert body == data
    assert got["ContentLength"] == size
    assert got["ETag"] == f'"{md5_hex(data)}"'
    assert got["ResponseMetadata"]["HTTPHeaders"]["content-length"] == str(size)


def test_empty_object_etag(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    assert put["ETag"] == f'"{EMPTY_MD5}"'
    head = s3.head_object(Bucket=bucket, Key="empty")
    assert head["ContentLength"] == 0
    assert head["ETag"] == f'"{EMPTY_MD5}"'


def test_default_content_type_and_last_modified(s3, bucket, server):
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(seconds=2)
    # raw PUT without any Content-Type header
    r = server.http("PUT", f"/{bucket}/noct", body=b"abc")
    assert r.status == 200
    after = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2)
    head = s3.head_object(Bucket=bucket, Key="noct")
    assert head["ContentType"] == "binary/octet-stream"
    assert before <= head["LastModified"] <= after
    g = server.http("GET", f"/{bucket}/noct")
    assert g.header("Content-Type") == "binary/octet-stream"
    assert g.header("Last-Modified").endswith(" GMT")
    assert g.header("ETag") == f'"{md5_hex(b"abc")}"'
    assert g.header("Accept-Ranges") == "bytes"


def test_overwrite_replaces_body_and_metadata(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"one", ContentType="text/plain",
                  Metadata={"a": "1", "b": "2"}, CacheControl="max-age=10")
    s3.put_object(Bucket=bucket, Key="k", Body=b"second", Metadata={"c": "3"})
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == b"second"
    assert got["Metadata"] == {"c": "3"}
    assert got["ContentType"] == "binary/octet-stream"
    assert "CacheControl" not in got


def test_all_standard_metadata_roundtrip(s3, bucket):
    expires = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    s3.put_object(
        Bucket=bucket, Key="meta.txt", Body=b"<h1>x</h1>",
        ContentType="text/html; charset=utf-8",
        ContentEncoding="identity",
        ContentDisposition='attachment; filename="report.txt"',
        ContentLanguage="de-DE",
        CacheControl="no-cache, max-age=0",
        Expires=expires,
        Metadata={"Color": "blue", "empty": "", "with-dash": "v a l"},
    )
    for resp in (s3.get_object(Bucket=bucket, Key="meta.txt"), s3.head_object(Bucket=bucket, Key="meta.txt")):
        assert resp["ContentType"] == "text/html; charset=utf-8"
        assert resp["ContentEncoding"] == "identity"
        assert resp["ContentDisposition"] == 'attachment; filename="report.txt"'
        assert resp["ContentLanguage"] == "de-DE"
        assert resp["CacheControl"] == "no-cache, max-age=0"
        assert resp["ResponseMetadata"]["HTTPHeaders"]["expires"] == "Wed, 02 Jan 2030 03:04:05 GMT"
        # user metadata names come back lower-cased
        assert resp["Metadata"] == {"color": "blue", "empty": "", "with-dash": "v a l"}
        assert resp["ContentLength"] == 10


def test_user_metadata_names_and_values(s3, bucket):
    s3.put_object(Bucket=bucket, Key="md", Body=b"x",
                  Metadata={"my_key": "v1", "MiXeD-Case": "v2", "dots.here": "v3", "sp": "  padded  "})
    # names are case-insensitive (returned lower-case); header values lose surrounding whitespace
    assert s3.head_object(Bucket=bucket, Key="md")["Metadata"] == {
        "my_key": "v1", "mixed-case": "v2", "dots.here": "v3", "sp": "padded"}


def test_head_object_has_no_body_and_same_headers(s3, bucket, server):
    s3.put_object(Bucket=bucket, Key="h", Body=b"12345", ContentType="text/x-foo", Metadata={"k": "v"})
    r = server.http("HEAD", f"/{bucket}/h")
    assert r.status == 200
    assert r.body == b""
    assert r.header("Content-Length") == "5"
    assert r.header("Content-Type") == "text/x-foo"
    assert r.header("x-amz-meta-k") == "v"
    assert r.header("ETag") == f'"{md5_hex(b"12345")}"'
    assert r.header("x-amz-request-id")


def test_get_missing_key_no_such_key(s3, bucket, server):
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key="missing/key")
    code, status, headers = client_error(ei)
    assert (code, status) == ("NoSuchKey", 404)
    r = server.http("GET", f"/{bucket}/missing/key")
    root = r.xml()
    assert r.error_code() == "NoSuchKey"
    assert {c.tag for c in root} >= {"Code", "Message", "RequestId"}
    assert root.find("RequestId").text == r.header("x-amz-request-id")
    assert root.find("Key") is None or root.find("Key").text == "missing/key"


def test_head_missing_key_404_no_body(s3, bucket, server):
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key="nope")
    assert client_error(ei)[1] == 404
    r = server.http("HEAD", f"/{bucket}/nope")
    assert r.status == 404
    assert r.body == b""
    assert r.header("x-amz-request-id")


def test_object_ops_on_missing_bucket(s3):
    b = unique_bucket()
    for call in (lambda: s3.put_object(Bucket=b, Key="k", Body=b"x"),
                 lambda: s3.get_object(Bucket=b, Key="k"),
                 lambda: s3.delete_object(Bucket=b, Key="k"),
                 lambda: s3.list_objects_v2(Bucket=b),
                 lambda: s3.list_objects(Bucket=b)):
        with pytest.raises(ClientError) as ei:
            call()
        assert client_error(ei)[:2] == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=b, Key="k")
    assert client_error(ei)[1] == 404


def test_delete_object_idempotent_204(s3, bucket):
    s3.put_object(Bucket=bucket, Key="d", Body=b"x")
    r1 = s3.delete_object(Bucket=bucket, Key="d")
    assert r1["ResponseMetadata"]["HTTPStatusCode"] == 204
    r2 = s3.delete_object(Bucket=bucket, Key="d")
    assert r2["ResponseMetadata"]["HTTPStatusCode"] == 204
    r3 = s3.delete_object(Bucket=bucket, Key="never/existed")
    assert r3["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key="d")
    assert client_error(ei)[1] == 404


def test_delete_prefix_like_key_does_not_touch_children(s3, bucket):
    s3.put_object(Bucket=bucket, Key="dir/child", Body=b"c")
    s3.put_object(Bucket=bucket, Key="dir", Body=b"d")
    s3.delete_object(Bucket=bucket, Key="dir")
    s3.delete_object(Bucket=bucket, Key="dir/")  # does not exist: no effect
    assert s3.get_object(Bucket=bucket, Key="dir/child")["Body"].read() == b"c"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["dir/child"]


# ------------------------------------------------------------------------------ metadata


def test_metadata_too_large(s3, bucket):
    with pytest.raises(ClientError) as ei:
        s3.put_object(Bucket=bucket, Key="big-meta", Body=b"x", Metadata={"m": "v" * 3000})
    code, status, _ = client_error(ei)
    assert (code, status) == ("MetadataTooLarge", 400)
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="big-meta")


def test_metadata_too_large_summed_over_keys(s3, bucket):
    # each value is well under 2 KB; together they exceed it
    meta = {f"k{i}": "v" * 700 for i in range(3)}
    with pytest.raises(ClientError) as ei:
        s3.put_object(Bucket=bucket, Key="sum-meta", Body=b"x", Metadata=meta)
    assert client_error(ei)[:2] == ("MetadataTooLarge", 400)


def test_metadata_under_limit_ok(s3, bucket):
    meta = {"k1": "v" * 900, "k2": "w" * 900}
    s3.put_object(Bucket=bucket, Key="ok-meta", Body=b"x", Metadata=meta)
    assert s3.head_object(Bucket=bucket, Key="ok-meta")["Metadata"] == meta


# --------------------------------------------------------------------------------- ranges

DATA = bytes(range(256)) * 4  # 1024 bytes


@pytest.fixture
def ranged(s3, bucket):
    s3.put_object(Bucket=bucket, Key="r", Body=DATA)
    return bucket


@pytest.mark.parametrize("rng,start,end", [
    ("bytes=0-0", 0, 0),
    ("bytes=0-", 0, 1023),
    ("bytes=0-9", 0, 9),
    ("bytes=100-199", 100, 199),
    ("bytes=1000-", 1000, 1023),     # open ended
    ("bytes=-24", 1000, 1023),       # suffix
    ("bytes=-5000", 0, 1023),        # suffix longer than object
    ("bytes=1020-5000", 1020, 1023),  # end past the object is clamped
    ("bytes=1023-1023", 1023, 1023),
])
def test_get_range(s3, ranged, rng, start, end):
    got = s3.get_object(Bucket=ranged, Key="r", Range=rng)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["Body"].read() == DATA[start:end + 1]
    assert got["ContentRange"] == f"bytes {start}-{end}/1024"
    assert got["ContentLength"] == end - start + 1
    assert got["ETag"] == f'"{md5_hex(DATA)}"'


@pytest.mark.parametrize("rng", ["bytes=1024-", "bytes=1024-2000", "bytes=5000-6000"])
def test_get_range_unsatisfiable_416(s3, ranged, server, rng):
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=ranged, Key="r", Range=rng)
    assert client_error(ei)[:2] == ("InvalidRange", 416)
    r = server.http("GET", f"/{ranged}/r", headers={"Range": rng})
    assert r.status == 416
    assert r.header("Content-Range") == "bytes */1024"
    assert r.error_code() == "InvalidRange"


def test_get_range_on_empty_object_416(s3, bucket, server):
    s3.put_object(Bucket=bucket, Key="e", Body=b"")
    r = server.http("GET", f"/{bucket}/e", headers={"Range": "bytes=0-"})
    assert r.status == 416
    assert r.header("Content-Range") == "bytes */0"
    assert r.error_code() == "InvalidRange"


@pytest.mark.parametrize("rng", ["bytes=0-1,5-6", "bytes=abc", "items=0-5", "bytes=9-2"])
def test_get_range_unsupported_or_invalid_syntax_returns_whole_object(server, ranged, rng):
    # S3 ignores a Range header it cannot apply (syntactically invalid or multiple ranges)
    r = server.http("GET", f"/{ranged}/r", headers={"Range": rng})
    assert r.status == 200
    assert r.body == DATA
    assert r.header("Content-Range") is None


def test_head_with_range(server, ranged):
    r = server.http("HEAD", f"/{ranged}/r", headers={"Range": "bytes=10-19"})
    assert r.status == 206
    assert r.header("Content-Length") == "10"
    assert r.header("Content-Range") == "bytes 10-19/1024"
    assert r.body == b""


def test_part_number_one_on_single_part_object(s3, ranged):
    got = s3.get_object(Bucket=ranged, Key="r", PartNumber=1)
    assert got["ResponseMetadata"]["HTTPStatusCode"] in (200, 206)
    assert got["Body"].read() == DATA
    assert got["ContentLength"] == 1024
    head = s3.head_object(Bucket=ranged, Key="r", PartNumber=1)
    assert head["ContentLength"] == 1024


def test_part_number_two_on_single_part_object_is_invalid(s3, ranged):
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=ranged, Key="r", PartNumber=2)
    assert client_error(ei)[:2] == ("InvalidPart", 400)


# --------------------------------------------------------------------------- conditionals


@pytest.fixture
def cond(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="c", Body=b"conditional")
    head = s3.head_object(Bucket=bucket, Key="c")
    return bucket, put["ETag"], head["LastModified"]


def _status(call):
    try:
        r = call()
        return r["ResponseMetadata"]["HTTPStatusCode"], None
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]


def test_if_match(s3, cond):
    b, etag, _ = cond
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfMatch=etag))[0] == 200
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfMatch=etag.strip('"')))[0] == 200
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfMatch="*"))[0] == 200
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfMatch='"0000"')) == (412, "PreconditionFailed")
    assert _status(lambda: s3.head_object(Bucket=b, Key="c", IfMatch='"0000"'))[0] == 412


def test_if_match_list(server, cond):
    b, etag, _ = cond
    r = server.http("GET", f"/{b}/c", headers={"If-Match": f'"nope", {etag}'})
    assert r.status == 200


def test_if_none_match(s3, cond, server):
    b, etag, _ = cond
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfNoneMatch=etag))[0] == 304
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfNoneMatch="*"))[0] == 304
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfNoneMatch='"0000"'))[0] == 200
    r = server.http("GET", f"/{b}/c", headers={"If-None-Match": etag})
    assert r.status == 304
    assert r.body == b""
    assert r.header("ETag") == etag


def test_if_modified_since(s3, cond):
    b, _, lm = cond
    past = lm - dt.timedelta(days=1)
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfModifiedSince=past))[0] == 200
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfModifiedSince=lm))[0] == 304
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfModifiedSince=future))[0] == 304
    assert _status(lambda: s3.head_object(Bucket=b, Key="c", IfModifiedSince=future))[0] == 304


def test_if_unmodified_since(s3, cond):
    b, _, lm = cond
    past = lm - dt.timedelta(days=1)
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfUnmodifiedSince=future))[0] == 200
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfUnmodifiedSince=lm))[0] == 200
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfUnmodifiedSince=past)) == (412, "PreconditionFailed")


def test_conditional_precedence(s3, cond):
    b, etag, lm = cond
    past = lm - dt.timedelta(days=1)
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)
    # If-Match true + If-Unmodified-Since false -> 200 (If-Match wins)
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfMatch=etag, IfUnmodifiedSince=past))[0] == 200
    # If-None-Match false + If-Modified-Since true -> 304
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfNoneMatch=etag, IfModifiedSince=past))[0] == 304
    # If-None-Match true + If-Modified-Since false -> 200 (If-Modified-Since ignored)
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfNoneMatch='"x"', IfModifiedSince=future))[0] == 200
    # If-Match false beats everything
    assert _status(lambda: s3.get_object(Bucket=b, Key="c", IfMatch='"x"', IfNoneMatch='"y"'))[0] == 412


def test_conditional_with_range(s3, cond):
    b, etag, _ = cond
    got = s3.get_object(Bucket=b, Key="c", IfMatch=etag, Range="bytes=0-3")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["Body"].read() == b"cond"


def test_malformed_if_modified_since_is_ignored(server, cond):
    b, _, _ = cond
    r = server.http("GET", f"/{b}/c", headers={"If-Modified-Since": "not a date"})
    assert r.status == 200
    assert r.body == b"conditional"


# -------------------------------------------------------------------- response overrides


def test_response_header_overrides(s3, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", ContentType="text/plain")
    got = s3.get_object(
        Bucket=bucket, Key="o",
        ResponseContentType="application/json",
        ResponseContentDisposition='attachment; filename="a b.json"',
        ResponseContentEncoding="gzip",
        ResponseContentLanguage="fr",
        ResponseCacheControl="private",
        ResponseExpires=dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc),
    )
    h = got["ResponseMetadata"]["HTTPHeaders"]
    assert h["content-type"] == "application/json"
    assert h["content-disposition"] == 'attachment; filename="a b.json"'
    assert h["content-encoding"] == "gzip"
    assert h["content-language"] == "fr"
    assert h["cache-control"] == "private"
    assert h["expires"] == "Tue, 06 May 2031 07:08:09 GMT"
    # the stored object is unchanged
    assert s3.head_object(Bucket=bucket, Key="o")["ContentType"] == "text/plain"


# ------------------------------------------------------------------- integrity and limits


def test_content_md5_correct(server, bucket):
    body = b"integrity"
    r = server.http("PUT", f"/{bucket}/md5ok", body=body, headers={"Content-MD5": md5_b64(body)})
    assert r.status == 200
    assert r.header("ETag") == f'"{md5_hex(body)}"'


def test_content_md5_mismatch_bad_digest_not_stored(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="md5bad", Body=b"original")
    r = server.http("PUT", f"/{bucket}/md5bad", body=b"tampered",
                    headers={"Content-MD5": md5_b64(b"something else")})
    assert r.status == 400
    assert r.error_code() == "BadDigest"
    # previous content preserved
    assert s3.get_object(Bucket=bucket, Key="md5bad")["Body"].read() == b"original"
    r2 = server.http("PUT", f"/{bucket}/md5new", body=b"tampered",
                     headers={"Content-MD5": md5_b64(b"something else")})
    assert r2.status == 400
    assert server.http("HEAD", f"/{bucket}/md5new").status == 404
    assert_tmp_empty(server)


def test_content_md5_mismatch_via_boto3(s3, bucket):
    with pytest.raises(ClientError) as ei:
        s3.put_object(Bucket=bucket, Key="bm", Body=b"abc", ContentMD5=md5_b64(b"abd"))
    assert client_error(ei)[:2] == ("BadDigest", 400)


@pytest.mark.parametrize("value", ["not-base64!!", base64.b64encode(b"short").decode(), ""])
def test_content_md5_malformed_invalid_digest(server, bucket, value):
    r = server.http("PUT", f"/{bucket}/md5malformed", body=b"abc", headers={"Content-MD5": value})
    assert r.status == 400
    assert r.error_code() == "InvalidDigest"
    assert server.http("HEAD", f"/{bucket}/md5malformed").status == 404


def test_x_amz_content_sha256_mismatch(server, bucket):
    body = b"payload"
    wrong = hashlib.sha256(b"other").hexdigest()
    r = server.http("PUT", f"/{bucket}/sha", body=body, headers={"x-amz-content-sha256": wrong})
    assert r.status == 400
    assert r.error_code() == "XAmzContentSHA256Mismatch"
    assert server.http("HEAD", f"/{bucket}/sha").status == 404
    ok = server.http("PUT", f"/{bucket}/sha", body=body,
                     headers={"x-amz-content-sha256": hashlib.sha256(body).hexdigest()})
    assert ok.status == 200
    unsigned = server.http("PUT", f"/{bucket}/sha2", body=body,
                           headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    assert unsigned.status == 200
    assert_tmp_empty(server)


def test_key_length_limit(s3, bucket):
    ok = "k" * 1024
    s3.put_object(Bucket=bucket, Key=ok, Body=b"1")
    assert s3.get_object(Bucket=bucket, Key=ok)["Body"].read() == b"1"
    with pytest.raises(ClientError) as ei:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"1")
    assert client_error(ei)[:2] == ("KeyTooLongError", 400)
    # the limit is in UTF-8 bytes: 512 two-byte characters = 1024 bytes fits, one more does not
    s3.put_object(Bucket=bucket, Key="\u00e9" * 512, Body=b"2")
    with pytest.raises(ClientError) as ei:
        s3.put_object(Bucket=bucket, Key="\u00e9" * 512 + "x", Body=b"2")
    assert client_error(ei)[:2] == ("KeyTooLongError", 400)


def test_checksum_headers_from_boto3_default_are_accepted(s3, bucket):
    # botocore >= 1.36 sends x-amz-checksum-crc32 + x-amz-sdk-checksum-algorithm by default
    data = os.urandom(4096)
    put = s3.put_object(Bucket=bucket, Key="crc-default", Body=data)
    assert put["ETag"] == f'"{md5_hex(data)}"'
    s3.put_object(Bucket=bucket, Key="sha-alg", Body=data, ChecksumAlgorithm="SHA256")
    assert s3.get_object(Bucket=bucket, Key="sha-alg")["Body"].read() == data


def test_put_object_returns_request_ids(s3, bucket):
    r = s3.put_object(Bucket=bucket, Key="ids", Body=b"x")
    h = r["ResponseMetadata"]["HTTPHeaders"]
    assert h.get("x-amz-request-id")
    r2 = s3.put_object(Bucket=bucket, Key="ids", Body=b"x")
    assert r2["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"] != h["x-amz-request-id"]
