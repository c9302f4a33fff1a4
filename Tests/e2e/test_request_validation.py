"""Request validation: malformed HTTP, limits, query arguments, conditional writes,
integrity checksums, clean-slate safety."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import zlib

import pytest
from botocore.exceptions import ClientError

from conftest import StowageServer, assert_tmp_empty, client_error, run_stowage


def raw_exchange(port: int, data: bytes, timeout: float = 5) -> bytes:
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
                if b"\r\n\r\n" in out:
                    head, _, rest = out.partition(b"\r\n\r\n")
                    for line in head.split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            if len(rest) >= int(line.split(b":")[1]):
                                return out
        except socket.timeout:
            pass
        return out
    finally:
        s.close()


def status_of(resp: bytes) -> int:
    return int(resp.split(b"\r\n", 1)[0].split(b" ")[1])


# ------------------------------------------------------------------ malformed HTTP framing


@pytest.mark.parametrize("label,request_bytes", [
    ("content-length and transfer-encoding",
     b"PUT /{b}/a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    ("conflicting content-lengths", b"PUT /{b}/a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
    ("non-numeric content-length", b"PUT /{b}/a HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\nhello"),
    ("negative content-length", b"PUT /{b}/a HTTP/1.1\r\nHost: h\r\nContent-Length: -5\r\n\r\nhello"),
    ("not http", b"HELLO WORLD\r\n\r\n"),
])
def test_malformed_framing_is_400_and_stores_nothing(server, s3, bucket, label, request_bytes):
    resp = raw_exchange(server.port, request_bytes.replace(b"{b}", bucket.encode()))
    assert status_of(resp) == 400, resp[:300]
    assert b"\r\nx-amz-request-id: " in resp.split(b"\r\n\r\n")[0]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert server.http("GET", "/").status == 200


def test_put_without_content_length_is_411(server, bucket):
    resp = raw_exchange(server.port, f"PUT /{bucket}/nocl HTTP/1.1\r\nHost: h\r\n\r\n".encode())
    assert status_of(resp) == 411
    assert b"<Code>MissingContentLength</Code>" in resp
    assert b"\r\nx-amz-request-id: " in resp.split(b"\r\n\r\n")[0]


def test_transfer_encoding_chunked_put_stores_the_decoded_body(server, s3, bucket):
    """HTTP chunked framing is transfer coding: the object is the payload (S3 itself answers
    411 here; streaming clients such as `curl -T -` need it to work)."""
    resp = raw_exchange(server.port, f"PUT /{bucket}/te HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                                     f"5\r\nhello\r\n0\r\n\r\n".encode())
    assert status_of(resp) == 200
    assert s3.get_object(Bucket=bucket, Key="te")["Body"].read() == b"hello"


def test_aws_chunked_upload_is_decoded_not_stored_raw(server, s3, bucket):
    payload = b"hello chunked world"
    crc = base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    body = (b"%x\r\n" % len(payload)) + payload + b"\r\n0\r\n" + f"x-amz-checksum-crc32:{crc}\r\n\r\n".encode()
    r = server.http("PUT", f"/{bucket}/chunked", body=body, headers={
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": str(len(payload)),
        "x-amz-trailer": "x-amz-checksum-crc32",
    })
    assert r.status == 200, r.body
    assert r.header("ETag") == f'"{hashlib.md5(payload).hexdigest()}"'
    # stored without the chunk framing and without aws-chunked as its encoding
    head = s3.head_object(Bucket=bucket, Key="chunked")
    assert head["ContentLength"] == len(payload)
    assert "ContentEncoding" not in head
    assert s3.get_object(Bucket=bucket, Key="chunked")["Body"].read() == payload


def test_content_length_above_max_object_size(server, bucket):
    resp = raw_exchange(server.port, f"PUT /{bucket}/huge HTTP/1.1\r\nHost: h\r\n"
                                     f"Content-Length: 99999999999999\r\n\r\nhello".encode())
    assert status_of(resp) == 400
    assert b"<Code>EntityTooLarge</Code>" in resp


def test_http11_request_without_host_is_400(server):
    resp = raw_exchange(server.port, b"GET / HTTP/1.1\r\n\r\n")
    assert status_of(resp) == 400


def test_invalid_percent_encoding_in_path(server, bucket):
    resp = raw_exchange(server.port, f"GET /{bucket}/%zz HTTP/1.1\r\nHost: h\r\n\r\n".encode())
    assert status_of(resp) == 400
    assert b"<Code>InvalidURI</Code>" in resp


# ------------------------------------------------------------------ limits


def test_huge_key_in_url_rejected(server, bucket):
    r = server.http("PUT", f"/{bucket}/" + "k" * 5000, body=b"x")
    assert r.status == 400 and r.error_code() == "KeyTooLongError"
    try:
        r = server.http("PUT", f"/{bucket}/" + "k" * 20000, body=b"x")
        assert r.status in (400, 414, 431)
    except (ConnectionResetError, BrokenPipeError):
        pass
    assert server.http("GET", "/").status == 200


def test_oversized_headers_rejected_server_survives(server, bucket):
    r = server.http("PUT", f"/{bucket}/m", body=b"x", headers={"x-amz-meta-a": "v" * 9000})
    assert r.status == 400 and r.error_code() == "MetadataTooLarge"
    # a 100 KB header section: answered 400/431, or the connection is dropped while the
    # client is still sending (the server may stop reading) - either way nothing is stored
    try:
        r = server.http("PUT", f"/{bucket}/m", body=b"x", headers={"x-custom": "v" * 100_000})
        assert r.status in (400, 431)
    except (ConnectionResetError, BrokenPipeError):
        pass
    assert server.http("HEAD", f"/{bucket}/m").status == 404
    assert server.http("GET", "/").status == 200


def test_large_object_streaming_roundtrip(s3, bucket):
    data = os.urandom(64 * 1024 * 1024)
    put = s3.put_object(Bucket=bucket, Key="large", Body=data)
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="large")
    h = hashlib.md5()
    n = 0
    for chunk in got["Body"].iter_chunks(1024 * 1024):
        h.update(chunk)
        n += len(chunk)
    assert n == len(data) and h.hexdigest() == hashlib.md5(data).hexdigest()
    mid = s3.get_object(Bucket=bucket, Key="large", Range="bytes=33554430-33554441")["Body"].read()
    assert mid == data[33554430:33554442]
    s3.delete_object(Bucket=bucket, Key="large")


# ------------------------------------------------------------------ query arguments


@pytest.mark.parametrize("query", ["partNumber=0", "partNumber=abc", "partNumber=10001"])
def test_invalid_part_number(server, s3, bucket, query):
    s3.put_object(Bucket=bucket, Key="obj", Body=b"0123456789")
    r = server.http("GET", f"/{bucket}/obj?{query}")
    assert r.status == 400 and r.error_code() == "InvalidArgument"


def test_range_and_part_number_together(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="obj", Body=b"0123456789")
    r = server.http("GET", f"/{bucket}/obj?partNumber=1", headers={"Range": "bytes=0-1"})
    assert r.status == 400 and r.error_code() == "InvalidRequest"


def test_version_id_on_unversioned_bucket(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="obj", Body=b"0123456789")
    assert server.http("GET", f"/{bucket}/obj?versionId=null").body == b"0123456789"
    r = server.http("GET", f"/{bucket}/obj?versionId=abc")
    assert r.status == 400 and r.error_code() == "InvalidArgument"


def test_invalid_list_type(server, bucket):
    r = server.http("GET", f"/{bucket}?list-type=3")
    assert r.status == 400 and r.error_code() == "InvalidArgument"


def test_list_buckets_invalid_continuation_token(server):
    r = server.http("GET", "/?continuation-token=garbage")
    assert r.status == 400 and r.error_code() == "InvalidArgument"


def test_continuation_token_survives_changes_and_restart(fresh_server):
    srv = fresh_server
    s3 = srv.client()
    s3.create_bucket(Bucket="tokens")
    for i in range(20):
        s3.put_object(Bucket="tokens", Key=f"k{i:02d}", Body=b"x")
    p1 = s3.list_objects_v2(Bucket="tokens", MaxKeys=5)
    assert [o["Key"] for o in p1["Contents"]] == [f"k{i:02d}" for i in range(5)]
    # change the bucket around the resume point: the listing resumes after k04 by key
    s3.delete_object(Bucket="tokens", Key="k04")
    s3.delete_object(Bucket="tokens", Key="k05")
    s3.put_object(Bucket="tokens", Key="k00a", Body=b"x")
    s3.put_object(Bucket="tokens", Key="k06a", Body=b"x")
    p2 = s3.list_objects_v2(Bucket="tokens", MaxKeys=5, ContinuationToken=p1["NextContinuationToken"])
    assert [o["Key"] for o in p2["Contents"]] == ["k06", "k06a", "k07", "k08", "k09"]
    srv.restart()
    p3 = srv.client().list_objects_v2(Bucket="tokens", MaxKeys=5, ContinuationToken=p2["NextContinuationToken"])
    assert [o["Key"] for o in p3["Contents"]] == ["k10", "k11", "k12", "k13", "k14"]


def test_nul_byte_key_roundtrip(server, s3, bucket):
    assert server.http("PUT", f"/{bucket}/a%00b", body=b"nul").status == 200
    assert s3.get_object(Bucket=bucket, Key="a\x00b")["Body"].read() == b"nul"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["a\x00b"]
    assert server.http("HEAD", f"/{bucket}/a").status == 404


def test_directory_like_paths_are_not_objects(s3, bucket, server):
    s3.put_object(Bucket=bucket, Key="x/y", Body=b"child")
    for k in ("x", "x/"):
        with pytest.raises(ClientError) as ei:
            s3.get_object(Bucket=bucket, Key=k)
        assert client_error(ei)[:2] == ("NoSuchKey", 404), k
        assert server.http("HEAD", f"/{bucket}/{k}").status == 404
        assert s3.delete_object(Bucket=bucket, Key=k)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.get_object(Bucket=bucket, Key="x/y")["Body"].read() == b"child"
    with pytest.raises(ClientError) as ei:
        s3.copy_object(Bucket=bucket, Key="z", CopySource={"Bucket": bucket, "Key": "x"})
    assert client_error(ei)[:2] == ("NoSuchKey", 404)


@pytest.mark.parametrize("source", ["{b}", "{b}/", "/{b}", ""])
def test_copy_source_without_key(server, bucket, source):
    r = server.http("PUT", f"/{bucket}/cp", headers={"x-amz-copy-source": source.format(b=bucket)})
    assert r.status == 400 and r.error_code() == "InvalidArgument"


# ------------------------------------------------------------------ conditional writes


def test_put_if_none_match_star(server, s3, bucket):
    r = server.http("PUT", f"/{bucket}/once", body=b"first", headers={"If-None-Match": "*"})
    assert r.status == 200
    r = server.http("PUT", f"/{bucket}/once", body=b"second", headers={"If-None-Match": "*"})
    assert r.status == 412 and r.error_code() == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"first"


def test_put_if_match(server, s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="cas", Body=b"v1")["ETag"]
    r = server.http("PUT", f"/{bucket}/cas", body=b"v2", headers={"If-Match": '"00000000000000000000000000000000"'})
    assert r.status == 412 and r.error_code() == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="cas")["Body"].read() == b"v1"
    r = server.http("PUT", f"/{bucket}/cas", body=b"v2", headers={"If-Match": etag})
    assert r.status == 200
    assert s3.get_object(Bucket=bucket, Key="cas")["Body"].read() == b"v2"
    r = server.http("PUT", f"/{bucket}/absent", body=b"v", headers={"If-Match": etag})
    assert r.status == 404 and r.error_code() == "NoSuchKey"


# ------------------------------------------------------------------ integrity checksums


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_put_wrong_crc32_rejected(server, bucket):
    body = b"checksummed body"
    bad = base64.b64encode((zlib.crc32(body) ^ 1).to_bytes(4, "big")).decode()
    r = server.http("PUT", f"/{bucket}/crc", body=body, headers={"x-amz-checksum-crc32": bad})
    assert r.status == 400
    assert r.error_code() == "BadDigest"
    assert server.http("HEAD", f"/{bucket}/crc").status == 404
    assert_tmp_empty(server)


def test_put_wrong_sha256_checksum_rejected(server, bucket):
    body = b"checksummed body"
    bad = base64.b64encode(hashlib.sha256(b"else").digest()).decode()
    r = server.http("PUT", f"/{bucket}/sha256c", body=body, headers={"x-amz-checksum-sha256": bad})
    assert r.status == 400
    assert r.error_code() == "BadDigest"
    assert server.http("HEAD", f"/{bucket}/sha256c").status == 404


@pytest.mark.parametrize("value", ["!!notbase64", "AAAA"])
def test_put_malformed_checksum_value_rejected(server, bucket, value):
    r = server.http("PUT", f"/{bucket}/ck", body=b"abc", headers={"x-amz-checksum-crc32": value})
    assert r.status == 400
    assert r.error_code() == "InvalidRequest"
    assert server.http("HEAD", f"/{bucket}/ck").status == 404


def test_put_correct_checksums_accepted(server, s3, bucket):
    body = b"correct"
    r = server.http("PUT", f"/{bucket}/ok-crc", body=body, headers={"x-amz-checksum-crc32": crc32_b64(body)})
    assert r.status == 200
    sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
    r = server.http("PUT", f"/{bucket}/ok-sha", body=body, headers={"x-amz-checksum-sha256": sha})
    assert r.status == 200
    assert s3.get_object(Bucket=bucket, Key="ok-sha")["Body"].read() == body


def test_delete_objects_wrong_checksum_rejected(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="stay", Body=b"x")
    body = b"<Delete><Object><Key>stay</Key></Object></Delete>"
    bad = base64.b64encode(hashlib.sha256(b"a different body").digest()).decode()
    r = server.http("POST", f"/{bucket}?delete", body=body, headers={"x-amz-checksum-sha256": bad})
    assert r.status == 400
    assert r.error_code() == "BadDigest"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])] == ["stay"]


# ------------------------------------------------------------------ clean slate safety


def test_clean_slate_refuses_foreign_directory(tmp_path):
    data = tmp_path / "not-stowage"
    data.mkdir()
    (data / "important.txt").write_text("keep")
    p = run_stowage(["serve", "--port", "0", "--address", "127.0.0.1", "--directory", str(data), "--clean-slate"])
    assert p.returncode != 0
    assert p.stdout == b""
    assert b"cleanSlate" in p.stderr or b"clean" in p.stderr.lower()
    assert (data / "important.txt").read_text() == "keep"


@pytest.mark.filestore_only
def test_clean_slate_does_not_follow_symlinks(tmp_path):
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "keep.txt").write_text("precious")
    (outside / "sub" / "keep2.txt").write_text("precious2")
    srv = StowageServer(directory=tmp_path / "data")
    srv.start()
    try:
        c = srv.client()
        c.create_bucket(Bucket="bkt")
        c.put_object(Bucket="bkt", Key="a/b", Body=b"x")
    finally:
        srv.stop()
    os.symlink(outside, tmp_path / "data" / "link-to-outside")
    os.symlink(outside, tmp_path / "data" / "bkt" / "a%" / "inner-link")
    os.symlink(outside / "keep.txt", tmp_path / "data" / ".stowage" / "tmp" / "upload-evil")
    srv.clean_slate = True
    srv.start()
    try:
        assert srv.client().list_buckets()["Buckets"] == []
    finally:
        srv.stop()
    assert (outside / "keep.txt").read_text() == "precious"
    assert (outside / "sub" / "keep2.txt").read_text() == "precious2"
