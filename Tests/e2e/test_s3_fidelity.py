"""Places where Stowage once answered differently from Amazon S3 and real clients noticed:
re-creating your own bucket, chunked PUTs without Content-Length, ListObjects v1 URL encoding,
an empty continuation token, partNumber reads, repeated CompleteMultipartUpload, racing part
uploads, RFC 7232 conditional PUTs, non-ASCII metadata, Content-Encoding with aws-chunked,
404 versus 403 for missing keys, and bucket-policy validation."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from conftest import (BOB, client_error, expect_client_error, find_text, make_client_as, principal_arn,
                      read_http_response, strip_ns, unique_bucket)

pytestmark = pytest.mark.timeout(120)

MIB = 1024 * 1024


# ------------------------------------------------------------------ CreateBucket of your own bucket


def test_recreate_own_bucket_in_us_east_1_is_200_and_keeps_contents(s3, bucket):
    s3.put_object(Bucket=bucket, Key="kept", Body=b"still here")
    r = s3.create_bucket(Bucket=bucket)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"still here"


def test_recreate_own_bucket_in_other_region_is_409(start_server):
    srv = start_server(extra_args=["--region", "eu-west-1"])
    c = make_client_as(srv.endpoint, {"accessKeyId": "STORAGE", "secretAccessKey": "STORAGE"}, region="eu-west-1")
    c.create_bucket(Bucket="mine", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    c.put_object(Bucket="mine", Key="k", Body=b"v")
    code, status = expect_client_error(c.create_bucket, Bucket="mine",
                                       CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert (code, status) == ("BucketAlreadyOwnedByYou", 409)
    assert c.get_object(Bucket="mine", Key="k")["Body"].read() == b"v"


def test_recreate_someone_elses_bucket_is_409_already_exists(alice, bob):
    name = unique_bucket("a")
    alice.create_bucket(Bucket=name)
    try:
        assert expect_client_error(bob.create_bucket, Bucket=name) == ("BucketAlreadyExists", 409)
        assert alice.create_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    finally:
        alice.delete_bucket(Bucket=name)


def test_recreate_own_bucket_resets_its_acl(alice, anon):
    """S3's legacy us-east-1 behaviour answers 200 and resets the bucket ACL to the one asked for."""
    name = unique_bucket("a")
    alice.create_bucket(Bucket=name, ACL="public-read")
    try:
        assert anon.list_objects_v2(Bucket=name)["KeyCount"] == 0
        alice.create_bucket(Bucket=name)
        assert expect_client_error(anon.list_objects_v2, Bucket=name) == ("AccessDenied", 403)
    finally:
        alice.delete_bucket(Bucket=name)


# ------------------------------------------------------------------ PUT with Transfer-Encoding: chunked


def chunked_put(port: int, path: str, pieces, headers: dict | None = None):
    """PUT with Transfer-Encoding: chunked and no Content-Length; returns (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        head = f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n"
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        s.sendall((head + "\r\n").encode())
        try:
            for piece in pieces:
                s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused early: the answer is already on its way
        status, hdrs, body, _ = read_http_response(s)
        return status, hdrs, body


def test_chunked_put_without_content_length_is_stored(server, s3, bucket):
    pieces = [os.urandom(100_000) for _ in range(30)] + [b"tail"]
    data = b"".join(pieces)
    status, hdrs, body = chunked_put(server.port, f"/{bucket}/streamed", pieces)
    assert status == 200, body
    assert hdrs["etag"] == '"%s"' % hashlib.md5(data).hexdigest()
    got = s3.get_object(Bucket=bucket, Key="streamed")
    assert got["ContentLength"] == len(data) and got["Body"].read() == data


def test_curl_upload_from_stdin(server, s3, bucket):
    """`curl -T -` streams standard input with Transfer-Encoding: chunked."""
    import subprocess
    data = os.urandom(3 * MIB + 17)
    p = subprocess.run(["curl", "-sS", "-T", "-", "-o", "/dev/null", "-w", "%{http_code}",
                        f"{server.endpoint}/{bucket}/from-stdin"], input=data, capture_output=True, timeout=60)
    assert p.stdout == b"200", p.stderr
    assert s3.get_object(Bucket=bucket, Key="from-stdin")["Body"].read() == data


def test_chunked_put_checks_content_md5(server, s3, bucket):
    import base64
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    status, _, body = chunked_put(server.port, f"/{bucket}/bad-md5", [b"abc", b"def"], {"Content-MD5": wrong})
    assert status == 400 and b"<Code>BadDigest</Code>" in body
    assert expect_client_error(s3.head_object, Bucket=bucket, Key="bad-md5")[1] == 404


def test_chunked_put_is_bounded_by_max_object_size(start_server):
    srv = start_server(config={"limits": {"maxObjectSize": 1 * MIB}})
    c = srv.client()
    c.create_bucket(Bucket="limited")
    ok, _, _ = chunked_put(srv.port, "/limited/fits", [b"x" * (512 * 1024)])
    assert ok == 200
    status, _, body = chunked_put(srv.port, "/limited/too-big", [b"y" * (256 * 1024)] * 8)
    assert status == 400 and b"<Code>EntityTooLarge</Code>" in body
    assert expect_client_error(c.head_object, Bucket="limited", Key="too-big")[1] == 404


# ------------------------------------------------------------------ ListObjects v1 with encoding-type=url


def test_list_objects_v1_url_encoding_fields(server, s3, bucket):
    for key in ("dir a/x+1", "dir a/y&2", "dir b/z", "top key"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
    q = urllib.parse.urlencode({"prefix": "dir ", "delimiter": " ", "encoding-type": "url", "max-keys": "1",
                                "marker": "dir"})
    r = server.http("GET", f"/{bucket}?{q}")
    root = r.xml()
    assert find_text(root, "Prefix") == "dir ", "the top-level Prefix is returned as sent"
    assert find_text(root, "Delimiter") == "%20"
    assert find_text(root, "Marker") == "dir"
    keys = [find_text(c, "Key") for c in root if strip_ns(c.tag) == "Contents"]
    assert keys == ["dir%20a/x%2B1"]
    assert find_text(root, "NextMarker") == "dir%20a/x%2B1"
    # botocore decodes exactly the encoded fields, so the client sees the real values
    page = s3.list_objects(Bucket=bucket, Prefix="dir ", Delimiter="/", Marker="dir a/")
    assert page["Prefix"] == "dir " and page["Marker"] == "dir a/"
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir b/"]
    page = s3.list_objects(Bucket=bucket)
    assert [o["Key"] for o in page["Contents"]] == ["dir a/x+1", "dir a/y&2", "dir b/z", "top key"]


def test_list_objects_v2_empty_continuation_token_is_absent(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="only", Body=b"")
    r = server.http("GET", f"/{bucket}?list-type=2&continuation-token=")
    assert r.status == 200, r.body
    root = r.xml()
    assert [find_text(c, "Key") for c in root if strip_ns(c.tag) == "Contents"] == ["only"]
    tokens = [c for c in root if strip_ns(c.tag) == "ContinuationToken"]
    assert len(tokens) == 1 and (tokens[0].text or "") == ""
    page = s3.list_objects_v2(Bucket=bucket, ContinuationToken="")
    assert [o["Key"] for o in page["Contents"]] == ["only"]


# ------------------------------------------------------------------ partNumber reads


def test_part_number_before_completion_is_no_such_key(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="pending")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="pending", UploadId=uid, PartNumber=1, Body=b"x")
    assert expect_client_error(s3.get_object, Bucket=bucket, Key="pending", PartNumber=1) == ("NoSuchKey", 404)
    assert expect_client_error(s3.head_object, Bucket=bucket, Key="pending", PartNumber=1)[1] == 404


def test_part_number_beyond_parts_is_invalid_part(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="two")["UploadId"]
    parts = []
    for n, body in ((1, b"a" * (5 * MIB)), (2, b"tail")):
        etag = s3.upload_part(Bucket=bucket, Key="two", UploadId=uid, PartNumber=n, Body=body)["ETag"]
        parts.append({"PartNumber": n, "ETag": etag})
    s3.complete_multipart_upload(Bucket=bucket, Key="two", UploadId=uid, MultipartUpload={"Parts": parts})
    assert s3.get_object(Bucket=bucket, Key="two", PartNumber=2)["Body"].read() == b"tail"
    assert expect_client_error(s3.get_object, Bucket=bucket, Key="two", PartNumber=3) == ("InvalidPart", 400)
    assert expect_client_error(s3.head_object, Bucket=bucket, Key="two", PartNumber=3)[1] == 400


def test_part_number_on_single_part_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="single", Body=b"whole object")
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3.get_object(Bucket=bucket, Key="single", PartNumber=1)
    assert got["Body"].read() == b"whole object" and got["ContentLength"] == 12
    assert s3.get_object(Bucket=bucket, Key="empty", PartNumber=1)["Body"].read() == b""
    assert expect_client_error(s3.get_object, Bucket=bucket, Key="single", PartNumber=2) == ("InvalidPart", 400)


# ------------------------------------------------------------------ repeated Complete, racing parts


def test_repeated_complete_with_same_parts_is_200_and_same_result(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="done")["UploadId"]
    parts = []
    for n, body in ((1, b"1" * (5 * MIB)), (2, b"second")):
        parts.append({"PartNumber": n, "ETag": s3.upload_part(Bucket=bucket, Key="done", UploadId=uid,
                                                              PartNumber=n, Body=body)["ETag"]})
    first = s3.complete_multipart_upload(Bucket=bucket, Key="done", UploadId=uid, MultipartUpload={"Parts": parts})
    before = s3.head_object(Bucket=bucket, Key="done")
    again = s3.complete_multipart_upload(Bucket=bucket, Key="done", UploadId=uid, MultipartUpload={"Parts": parts})
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert (again["ETag"], again["Key"], again["Bucket"]) == (first["ETag"], first["Key"], first["Bucket"])
    after = s3.head_object(Bucket=bucket, Key="done")
    assert (after["ETag"], after["LastModified"], after["ContentLength"]) == \
        (before["ETag"], before["LastModified"], before["ContentLength"])
    # different parts, or an upload id that never completed here, are still refused
    code, _ = expect_client_error(s3.complete_multipart_upload, Bucket=bucket, Key="done", UploadId=uid,
                                  MultipartUpload={"Parts": parts[:1]})
    assert code in ("NoSuchUpload", "InvalidPart")
    assert expect_client_error(s3.complete_multipart_upload, Bucket=bucket, Key="done", UploadId="nope" + uid,
                               MultipartUpload={"Parts": parts})[0] == "NoSuchUpload"


def test_racing_uploads_of_one_part_the_last_to_finish_wins(server, s3, bucket):
    """Two uploads of part 1 overlap; the one that finishes last is the part, and Complete naming
    its ETag succeeds (the first's ETag is refused)."""
    uid = s3.create_multipart_upload(Bucket=bucket, Key="race")["UploadId"]
    slow_body = b"S" * (2 * MIB)
    fast_body = b"F" * (1 * MIB)
    started = threading.Event()
    release = threading.Event()
    result = {}

    def slow():
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            s.sendall((f"PUT /{bucket}/race?partNumber=1&uploadId={uid} HTTP/1.1\r\nHost: h\r\n"
                       f"Content-Length: {len(slow_body)}\r\n\r\n").encode())
            s.sendall(slow_body[:MIB])
            started.set()
            release.wait(20)
            s.sendall(slow_body[MIB:])
            status, hdrs, body, _ = read_http_response(s)
            result["slow"] = (status, hdrs.get("etag"))

    t = threading.Thread(target=slow)
    t.start()
    assert started.wait(10)
    fast = s3.upload_part(Bucket=bucket, Key="race", UploadId=uid, PartNumber=1, Body=fast_body)["ETag"]
    release.set()
    t.join(30)
    status, slow_etag = result["slow"]
    assert status == 200 and slow_etag == '"%s"' % hashlib.md5(slow_body).hexdigest()
    listed = s3.list_parts(Bucket=bucket, Key="race", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"]) for p in listed] == [(1, slow_etag)]
    code, _ = expect_client_error(s3.complete_multipart_upload, Bucket=bucket, Key="race", UploadId=uid,
                                  MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": fast}]})
    assert code == "InvalidPart"
    s3.complete_multipart_upload(Bucket=bucket, Key="race", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": slow_etag}]})
    assert s3.get_object(Bucket=bucket, Key="race")["Body"].read() == slow_body


# ------------------------------------------------------------------ conditional PUT (RFC 7232)


def test_put_if_none_match_with_etag(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"one")["ETag"]
    assert expect_client_error(s3.put_object, Bucket=bucket, Key="c", Body=b"two", IfNoneMatch=etag) == \
        ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"one"
    other = '"%s"' % hashlib.md5(b"unrelated").hexdigest()
    s3.put_object(Bucket=bucket, Key="c", Body=b"three", IfNoneMatch=other)
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"three"
    # a missing key matches no ETag: the write goes ahead
    s3.put_object(Bucket=bucket, Key="new", Body=b"n", IfNoneMatch=other)


def test_put_if_match_star_and_missing_key(s3, bucket):
    assert expect_client_error(s3.put_object, Bucket=bucket, Key="absent", Body=b"x", IfMatch="*") == ("NoSuchKey", 404)
    assert expect_client_error(s3.put_object, Bucket=bucket, Key="absent", Body=b"x",
                               IfMatch='"%s"' % hashlib.md5(b"x").hexdigest()) == ("NoSuchKey", 404)
    assert expect_client_error(s3.head_object, Bucket=bucket, Key="absent")[1] == 404
    s3.put_object(Bucket=bucket, Key="present", Body=b"1")
    s3.put_object(Bucket=bucket, Key="present", Body=b"2", IfMatch="*")
    assert s3.get_object(Bucket=bucket, Key="present")["Body"].read() == b"2"


def test_complete_multipart_if_none_match_with_etag(s3, bucket):
    existing = s3.put_object(Bucket=bucket, Key="m", Body=b"old")["ETag"]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="m", UploadId=uid, PartNumber=1, Body=b"new")["ETag"]
    code, status = expect_client_error(s3.complete_multipart_upload, Bucket=bucket, Key="m", UploadId=uid,
                                       MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
                                       IfNoneMatch=existing)
    assert (code, status) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == b"old"


# ------------------------------------------------------------------ non-ASCII metadata


def raw_put_get_header(port: int, path: str, value: bytes) -> bytes:
    """PUTs with `x-amz-meta-note: <value bytes>` and returns the bytes HEAD answers for it."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"PUT " + path.encode() + b" HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nx-amz-meta-note: "
                  + value + b"\r\n\r\nx")
        status, _, body, buf = read_http_response(s)
        assert status == 200, body
        s.sendall(b"HEAD " + path.encode() + b" HTTP/1.1\r\nHost: h\r\n\r\n")
        raw = bytearray(buf)
        while b"\r\n\r\n" not in raw:
            raw += s.recv(65536)
    for line in bytes(raw).split(b"\r\n"):
        if line.lower().startswith(b"x-amz-meta-note:"):
            return line.split(b":", 1)[1].strip()
    raise AssertionError(raw)


def test_utf8_metadata_round_trips_byte_for_byte(server, s3, bucket):
    value = "caf\u00e9 \u65e5\u672c \u2713".encode("utf-8")
    assert raw_put_get_header(server.port, f"/{bucket}/utf8", value) == value

    # boto3 sends the header as UTF-8 (it refuses non-ASCII in Metadata=, so set it directly)
    def set_header(**kw):
        kw["params"]["headers"]["x-amz-meta-note"] = "Hello World\u00e9"
    s3.meta.events.register("before-call.s3.PutObject", set_header)
    try:
        s3.put_object(Bucket=bucket, Key="via-boto3", Body=b"x")
    finally:
        s3.meta.events.unregister("before-call.s3.PutObject", set_header)
    # http.client hands back header bytes as Latin-1 characters; re-encoding recovers the bytes
    got = s3.head_object(Bucket=bucket, Key="via-boto3")["ResponseMetadata"]["HTTPHeaders"]["x-amz-meta-note"]
    assert got.encode("latin-1") == "Hello World\u00e9".encode("utf-8")
    # the same bytes come back through copy, multipart and GET
    s3.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "via-boto3"})
    got = s3.get_object(Bucket=bucket, Key="copied")["ResponseMetadata"]["HTTPHeaders"]["x-amz-meta-note"]
    assert got.encode("latin-1") == "Hello World\u00e9".encode("utf-8")


# ------------------------------------------------------------------ Content-Encoding with aws-chunked


def test_aws_chunked_content_encoding_is_removed_and_the_rest_kept_verbatim(server, s3, bucket):
    body = b"payload"
    framed = b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    r = server.http("PUT", f"/{bucket}/enc", body=framed, headers={
        "Content-Encoding": "aws-chunked, deflate, gzip", "x-amz-decoded-content-length": str(len(body)),
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"})
    assert r.status == 200, r.body
    head = s3.head_object(Bucket=bucket, Key="enc")
    assert head["ContentEncoding"] == "deflate, gzip"
    r = server.http("PUT", f"/{bucket}/only", body=framed, headers={
        "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(body)),
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"})
    assert r.status == 200 and "ContentEncoding" not in s3.head_object(Bucket=bucket, Key="only")


# ------------------------------------------------------------------ 404 or 403 for a missing key


def test_missing_key_is_404_only_for_callers_who_may_list(alice, bob, anon, alice_bucket):
    alice.put_object(Bucket=alice_bucket, Key="docs/present", Body=b"here")
    bob_arn = principal_arn(BOB)
    alice.put_bucket_policy(Bucket=alice_bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": bob_arn}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{alice_bucket}/*"},
        {"Effect": "Allow", "Principal": {"AWS": bob_arn}, "Action": "s3:ListBucket",
         "Resource": f"arn:aws:s3:::{alice_bucket}", "Condition": {"StringLike": {"s3:prefix": "docs/*"}}},
    ]}))
    assert bob.get_object(Bucket=alice_bucket, Key="docs/present")["Body"].read() == b"here"
    # bob may list docs/: a missing key there is 404; elsewhere it is 403
    assert expect_client_error(bob.get_object, Bucket=alice_bucket, Key="docs/absent") == ("NoSuchKey", 404)
    assert expect_client_error(bob.head_object, Bucket=alice_bucket, Key="docs/absent")[1] == 404
    assert expect_client_error(bob.get_object, Bucket=alice_bucket, Key="other/absent") == ("AccessDenied", 403)
    assert expect_client_error(bob.head_object, Bucket=alice_bucket, Key="other/absent")[1] == 403
    # the owner may always list
    assert expect_client_error(alice.get_object, Bucket=alice_bucket, Key="other/absent") == ("NoSuchKey", 404)
    # anonymous callers have no grant at all
    assert expect_client_error(anon.get_object, Bucket=alice_bucket, Key="docs/absent") == ("AccessDenied", 403)


def test_missing_key_on_public_read_bucket_is_404(alice, anon):
    name = unique_bucket("a")
    alice.create_bucket(Bucket=name, ACL="public-read")
    try:
        assert expect_client_error(anon.get_object, Bucket=name, Key="nothing") == ("NoSuchKey", 404)
        assert expect_client_error(anon.head_object, Bucket=name, Key="nothing")[1] == 404
    finally:
        alice.delete_bucket(Bucket=name)


# ------------------------------------------------------------------ policy validation


def test_allow_with_not_principal_is_malformed(alice, alice_bucket):
    doc = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "NotPrincipal": {"AWS": principal_arn(BOB)}, "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{alice_bucket}/*"}]}
    assert expect_client_error(alice.put_bucket_policy, Bucket=alice_bucket, Policy=json.dumps(doc)) == \
        ("MalformedPolicy", 400)
    doc["Statement"][0]["Effect"] = "Deny"
    alice.put_bucket_policy(Bucket=alice_bucket, Policy=json.dumps(doc))


@pytest.mark.parametrize("condition,valid", [
    ({"StringLikeIfExists": {"s3:prefix": "a/*"}}, True),
    ({"NumericLessThanIfExists": {"s3:max-keys": "10"}}, True),
    ({"NumericLessThanIfExists": {"s3:max-keys": "ten"}}, False),
    ({"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}}, True),
    ({"IpAddressIfExists": {"aws:SourceIp": "not-an-ip"}}, False),
    ({"BoolIfExists": {"aws:SecureTransport": "maybe"}}, False),
    ({"NoSuchOperatorIfExists": {"s3:prefix": "a"}}, False),
])
def test_if_exists_operators_are_validated_like_their_base(alice, alice_bucket, condition, valid):
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": principal_arn(BOB)}, "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{alice_bucket}", "Condition": condition}]})
    if valid:
        alice.put_bucket_policy(Bucket=alice_bucket, Policy=doc)
    else:
        assert expect_client_error(alice.put_bucket_policy, Bucket=alice_bucket, Policy=doc) == ("MalformedPolicy", 400)
