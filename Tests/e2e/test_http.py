"""HTTP-level behaviour over raw sockets: keep-alive, pipelining, Expect: 100-continue,
clients that vanish mid-upload, request ids, error bodies, unsupported methods and
not-yet-implemented S3 features (ACLs, policies, tagging, versioning, CORS: 501)."""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import os
import socket
import time

import pytest
from botocore.exceptions import ClientError

from conftest import (assert_tmp_empty, client_error, read_http_response, strip_ns,
                      unique_bucket, wait_for_upload_in_progress)

pytestmark = pytest.mark.raw


def connect(server, timeout=15.0) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def req(method, path, port, headers=None, body=b"", content_length=True) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    hdrs = dict(headers or {})
    if content_length and (body or method in ("PUT", "POST")):
        hdrs.setdefault("Content-Length", str(len(body)))
    lines += [f"{k}: {v}" for k, v in hdrs.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# ------------------------------------------------------------------------ keep-alive


def test_keep_alive_several_requests_one_connection(server, bucket):
    s = connect(server)
    buf = bytearray()
    try:
        body = os.urandom(5000)
        s.sendall(req("PUT", f"/{bucket}/ka", server.port, body=body))
        st, h, b, buf = read_http_response(s, buf)
        assert st == 200 and h["etag"] == f'"{hashlib.md5(body).hexdigest()}"'
        s.sendall(req("GET", f"/{bucket}/ka", server.port))
        st, h, b, buf = read_http_response(s, buf)
        assert st == 200 and b == body
        s.sendall(req("HEAD", f"/{bucket}/ka", server.port))
        st, h, b, buf = read_http_response(s, buf, head_request=True)
        assert st == 200 and h["content-length"] == "5000"
        s.sendall(req("GET", f"/{bucket}/missing", server.port))
        st, h, b, buf = read_http_response(s, buf)
        assert st == 404 and b"<Code>NoSuchKey</Code>" in b
        s.sendall(req("HEAD", f"/{bucket}/missing", server.port))
        st, h, b, buf = read_http_response(s, buf, head_request=True)
        assert st == 404
        s.sendall(req("GET", f"/{bucket}?list-type=2", server.port))
        st, h, b, buf = read_http_response(s, buf)
        assert st == 200 and b"<Key>ka</Key>" in b
        s.sendall(req("DELETE", f"/{bucket}/ka", server.port))
        st, h, b, buf = read_http_response(s, buf)
        assert st == 204
        s.sendall(req("GET", f"/{bucket}/ka", server.port))
        st, h, b, buf = read_http_response(s, buf)
        assert st == 404
        assert buf == bytearray()
    finally:
        s.close()


def test_pipelined_requests_answered_in_order(server, bucket):
    for i in range(5):
        server.http("PUT", f"/{bucket}/p{i}", body=f"value-{i}".encode() * (i + 1))
    s = connect(server)
    try:
        s.sendall(b"".join(req("GET", f"/{bucket}/p{i}", server.port) for i in range(5)))
        buf = bytearray()
        for i in range(5):
            st, h, b, buf = read_http_response(s, buf)
            assert st == 200
            assert b == f"value-{i}".encode() * (i + 1)
    finally:
        s.close()


def test_error_with_unread_body_keeps_connection_usable(server, bucket):
    """A PUT rejected before its body is read (missing bucket) must not desync the
    connection: either the server closes it, or the next request is answered correctly."""
    s = connect(server)
    try:
        body = os.urandom(200_000)
        s.sendall(req("PUT", f"/{unique_bucket()}/k", server.port, body=body))
        st, h, b, buf = read_http_response(s)
        assert st == 404 and b"NoSuchBucket" in b
        if h.get("connection", "").lower() == "close":
            return
        server.http("PUT", f"/{bucket}/after", body=b"after")
        s.sendall(req("GET", f"/{bucket}/after", server.port))
        st, h, b, buf = read_http_response(s, buf)
        assert (st, b) == (200, b"after")
    finally:
        s.close()


def test_small_unread_body_is_drained_and_connection_kept(server, bucket):
    """Under 1 MiB, the server reads and drops the rest of a refused body to keep the connection."""
    s = connect(server)
    try:
        s.sendall(req("PUT", f"/{unique_bucket()}/k", server.port, body=os.urandom(200_000)))
        st, h, b, buf = read_http_response(s)
        assert st == 404 and b"NoSuchBucket" in b
        assert h.get("connection", "").lower() != "close"
        server.http("PUT", f"/{bucket}/after-small", body=b"after")
        s.sendall(req("GET", f"/{bucket}/after-small", server.port))
        st, h, b, buf = read_http_response(s, buf)
        assert (st, b) == (200, b"after")
    finally:
        s.close()


def test_large_unread_body_gets_error_then_close_not_a_drain(server):
    """A 4 GiB PUT to a missing bucket, no Expect: the client reads a whole 404 (no reset
    destroys it) long before it could have sent its body, and the server ends the connection
    instead of reading gigabytes to keep it."""
    s = connect(server, timeout=20)
    try:
        size = 4 << 30
        s.sendall(f"PUT /{unique_bucket()}/big HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                  f"Content-Length: {size}\r\n\r\n".encode())
        chunk = b"\0" * (1 << 20)
        started = time.monotonic()
        sent = 0
        s.setblocking(False)
        response = bytearray()
        # Keep sending, as a client without Expect does, until the answer arrives.
        while b"</Error>" not in response and time.monotonic() - started < 15:
            try:
                sent += s.send(chunk)
            except (BlockingIOError, InterruptedError):
                time.sleep(0.001)
            except (BrokenPipeError, ConnectionResetError):
                break
            try:
                data = s.recv(65536)
                if data:
                    response.extend(data)
            except BlockingIOError:
                pass
        s.setblocking(True)
        s.settimeout(10)
        while b"</Error>" not in response:
            data = s.recv(65536)
            assert data, f"connection closed before the whole error arrived: {bytes(response)!r}"
            response.extend(data)
        head = bytes(response).split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
        assert head.startswith("http/1.1 404") and b"NoSuchBucket" in response
        assert "connection: close" in head
        assert sent < size // 4, f"the client sent {sent} bytes before the answer"
        # Our side is closed: once the client stops, the connection ends.
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
    finally:
        s.close()


def test_connection_close_header_honoured(server, bucket):
    s = connect(server)
    try:
        s.sendall(req("GET", f"/{bucket}?list-type=2", server.port, headers={"Connection": "close"}))
        st, h, b, buf = read_http_response(s)
        assert st == 200
        s.settimeout(5)
        assert s.recv(1) == b"", "server should close after Connection: close"
    finally:
        s.close()


def test_http_1_0_request(server, bucket):
    server.http("PUT", f"/{bucket}/h10", body=b"old http")
    s = connect(server)
    try:
        s.sendall(f"GET /{bucket}/h10 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        data = b""
        s.settimeout(5)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        assert data.startswith(b"HTTP/1.")
        assert b" 200 " in data.split(b"\r\n", 1)[0]
        assert data.endswith(b"old http")
    finally:
        s.close()


# ------------------------------------------------------------------------ 100-continue


def test_expect_100_continue_upload(server, bucket, s3):
    s = connect(server)
    try:
        body = os.urandom(300_000)
        head = req("PUT", f"/{bucket}/expect", server.port,
                   headers={"Content-Length": str(len(body)), "Expect": "100-continue"}, content_length=False)
        s.sendall(head)
        st, h, b, buf = read_http_response(s)
        assert st == 100
        s.sendall(body)
        st, h, b, buf = read_http_response(s, buf)
        assert st == 200
        assert h["etag"] == f'"{hashlib.md5(body).hexdigest()}"'
    finally:
        s.close()
    assert s3.get_object(Bucket=bucket, Key="expect")["Body"].read() == body


def test_expect_100_continue_to_missing_bucket_gets_final_status(server):
    s = connect(server)
    try:
        head = req("PUT", f"/{unique_bucket()}/k", server.port,
                   headers={"Content-Length": "100000", "Expect": "100-continue"}, content_length=False)
        s.sendall(head)
        st, h, b, buf = read_http_response(s)
        if st == 100:   # allowed by RFC 9110; then the body must be sent
            s.sendall(b"x" * 100000)
            st, h, b, buf = read_http_response(s, buf)
        assert st == 404
        assert b"<Code>NoSuchBucket</Code>" in b
    finally:
        s.close()


def test_boto3_large_upload_uses_expect_continue(s3, bucket):
    # botocore sends "Expect: 100-continue" for PutObject bodies >= 1 MiB
    data = os.urandom(5 * 1024 * 1024)
    s3.put_object(Bucket=bucket, Key="big-expect", Body=data)
    assert hashlib.md5(s3.get_object(Bucket=bucket, Key="big-expect")["Body"].read()).digest() == \
        hashlib.md5(data).digest()


# ------------------------------------------------------------------------ disconnects


@pytest.mark.filestore_only
def test_client_disconnect_mid_put_leaves_nothing(fresh_server):
    srv = fresh_server
    s3 = srv.client()
    s3.create_bucket(Bucket="abort")
    s3.put_object(Bucket="abort", Key="existing", Body=b"keep me")
    for key in ("partial", "existing"):
        s = connect(srv)
        s.sendall(req("PUT", f"/abort/{key}", srv.port,
                      headers={"Content-Length": str(10 * 1024 * 1024)}, content_length=False))
        s.sendall(os.urandom(1024 * 1024))
        wait_for_upload_in_progress(srv)
        s.close()
        assert_tmp_empty(srv, wait=10)
    assert_tmp_empty(srv, wait=10)
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket="abort", Key="partial")
    assert client_error(ei)[1] == 404
    assert s3.get_object(Bucket="abort", Key="existing")["Body"].read() == b"keep me"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="abort")["Contents"]] == ["existing"]
    # still serving
    s3.put_object(Bucket="abort", Key="after", Body=b"ok")
    assert s3.get_object(Bucket="abort", Key="after")["Body"].read() == b"ok"
    assert srv.alive
    files = sorted(p.name for p in (srv.directory / "abort").iterdir())
    assert files == ["after", "existing"]


@pytest.mark.filestore_only
def test_client_disconnect_with_rst_mid_put(fresh_server):
    import struct
    srv = fresh_server
    s3 = srv.client()
    s3.create_bucket(Bucket="rst")
    s = connect(srv)
    s.sendall(req("PUT", "/rst/k", srv.port, headers={"Content-Length": str(4 * 1024 * 1024)},
                  content_length=False))
    s.sendall(os.urandom(512 * 1024))
    wait_for_upload_in_progress(srv)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
    s.close()
    assert_tmp_empty(srv, wait=10)
    with pytest.raises(ClientError):
        s3.head_object(Bucket="rst", Key="k")
    assert s3.list_buckets()["Buckets"][0]["Name"] == "rst"


def test_disconnect_during_download_server_survives(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="dl", Body=os.urandom(8 * 1024 * 1024))
    for _ in range(3):
        s = connect(server)
        s.sendall(req("GET", f"/{bucket}/dl", server.port))
        s.recv(1000)
        s.close()
    assert s3.head_object(Bucket=bucket, Key="dl")["ContentLength"] == 8 * 1024 * 1024
    assert len(s3.get_object(Bucket=bucket, Key="dl")["Body"].read()) == 8 * 1024 * 1024


def test_body_shorter_than_content_length_then_half_close(fresh_server):
    srv = fresh_server
    s3 = srv.client()
    s3.create_bucket(Bucket="short")
    s = connect(srv)
    try:
        s.sendall(req("PUT", "/short/k", srv.port, headers={"Content-Length": "1000"}, content_length=False))
        s.sendall(b"y" * 10)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(10)
        try:
            while s.recv(65536):
                pass
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        s.close()
    assert_tmp_empty(srv, wait=10)
    with pytest.raises(ClientError):
        s3.head_object(Bucket="short", Key="k")


# ------------------------------------------------------------------------ concurrency


def test_concurrent_writers_same_key_atomic(server, bucket):
    bodies = [bytes([i]) * (100_000 + i) for i in range(24)]

    def put(i):
        # Writers retry as the SDKs do by default: the erasure-coded backend may answer one of
        # two racing writes to a key 503 SlowDown ("outcome unknown"), which S3 clients retry.
        c = server.client(retries={"mode": "standard", "total_max_attempts": 5})
        c.put_object(Bucket=bucket, Key="race", Body=bodies[i])

    def get(_):
        c = server.client()
        try:
            g = c.get_object(Bucket=bucket, Key="race")
        except ClientError:
            return True
        data = g["Body"].read()
        return f'"{hashlib.md5(data).hexdigest()}"' == g["ETag"] and data in bodies

    with cf.ThreadPoolExecutor(8) as ex:
        futs = [ex.submit(put, i) for i in range(24)] + [ex.submit(get, i) for i in range(24)]
        results = [f.result() for f in futs]
    assert all(r for r in results[24:]), "a reader saw a torn or mismatched object"
    final = server.client().get_object(Bucket=bucket, Key="race")
    data = final["Body"].read()
    assert data in bodies
    assert final["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert_tmp_empty(server)


# ------------------------------------------------------------------------ errors / ids


@pytest.mark.parametrize("method", ["PATCH", "TRACE", "PROPFIND"])
def test_unsupported_method_405(server, bucket, method):
    r = server.http(method, f"/{bucket}/k")
    assert r.status == 405
    assert r.error_code() == "MethodNotAllowed"
    assert r.header("x-amz-request-id")


def test_patch_on_bucket_405(server, bucket):
    r = server.http("PATCH", f"/{bucket}")
    assert r.status == 405
    assert r.error_code() == "MethodNotAllowed"


def test_error_body_shape_and_request_id(server, bucket):
    r = server.http("GET", f"/{bucket}/no/such/key")
    assert r.status == 404
    assert r.header("Content-Type").startswith("application/xml")
    root = r.xml()
    assert strip_ns(root.tag) == "Error"
    fields = {strip_ns(c.tag): (c.text or "") for c in root}
    assert fields["Code"] == "NoSuchKey"
    assert fields["Message"]
    assert fields["RequestId"] == r.header("x-amz-request-id")


def test_request_ids_unique(server, bucket):
    ids = {server.http("GET", f"/{bucket}?list-type=2").header("x-amz-request-id") for _ in range(20)}
    assert len(ids) == 20 and None not in ids


@pytest.mark.parametrize("method,path_fn,expected", [
    ("GET", lambda b: "/", 200),
    ("HEAD", lambda b: f"/{b}", 200),
    ("GET", lambda b: f"/{b}?list-type=2", 200),
    ("GET", lambda b: f"/{b}/nope", 404),
    ("HEAD", lambda b: f"/{b}/nope", 404),
    ("DELETE", lambda b: f"/{b}/nope", 204),
    ("PUT", lambda b: "/UPPER-bad", 400),
    ("PATCH", lambda b: f"/{b}", 405),
    ("GET", lambda b: f"/{b}?policy", 404),
    ("GET", lambda b: f"/{b}?website", 501),
    ("PUT", lambda b: f"/{b}/k?tagging", 501),
    ("POST", lambda b: f"/{b}/k?uploads", 200),
    ("GET", lambda b: f"/{b}?uploads", 200),
    ("DELETE", lambda b: f"/{b}/k?uploadId=nosuchupload", 404),
    ("GET", lambda b: f"/{b}/k?uploadId=nosuchupload", 404),
])
def test_every_response_has_request_id(server, bucket, method, path_fn, expected):
    r = server.http(method, path_fn(bucket))
    assert r.status == expected
    assert r.header("x-amz-request-id")
    if method == "HEAD":
        assert r.body == b""


# ------------------------------------------------------------------------ not implemented


def test_object_acl_grants_not_implemented(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as ei:
        s3.put_object_acl(Bucket=bucket, Key="k", GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"')
    assert client_error(ei)[:2] == ("NotImplemented", 501)


@pytest.mark.parametrize("call", [
    lambda s3, b: s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"}),
    lambda s3, b: s3.get_bucket_tagging(Bucket=b),
    lambda s3, b: s3.get_object_tagging(Bucket=b, Key="k"),
    lambda s3, b: s3.get_bucket_lifecycle_configuration(Bucket=b),
    lambda s3, b: s3.list_object_versions(Bucket=b),
    lambda s3, b: s3.get_bucket_website(Bucket=b),
    lambda s3, b: s3.put_object_tagging(Bucket=b, Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]}),
])
def test_other_features_not_implemented(s3, bucket, call):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as ei:
        call(s3, bucket)
    assert client_error(ei)[:2] == ("NotImplemented", 501)


def test_not_implemented_raw_body(server, bucket):
    r = server.http("GET", f"/{bucket}?website")
    assert r.status == 501
    assert r.error_code() == "NotImplemented"
    assert r.xml().find("RequestId").text == r.header("x-amz-request-id")


# ------------------------------------------------------------------------ SDK interop


def test_boto3_put_after_empty_put(server, bucket):
    for attempt in range(5):
        c = server.client(read_timeout=3, retries={"total_max_attempts": 1})
        c.put_object(Bucket=bucket, Key=f"empty-first-{attempt}", Body=b"")
        started = time.monotonic()
        put = c.put_object(Bucket=bucket, Key=f"second-{attempt}", Body=b"second body")
        assert put["ETag"] == f'"{hashlib.md5(b"second body").hexdigest()}"'
        assert time.monotonic() - started < 2.5
        assert c.get_object(Bucket=bucket, Key=f"second-{attempt}")["Body"].read() == b"second body"


def test_boto3_put_after_rejected_put_same_client(server, bucket):
    c = server.client(read_timeout=5, retries={"total_max_attempts": 1})
    with pytest.raises(ClientError) as ei:
        c.put_object(Bucket=unique_bucket(), Key="k", Body=os.urandom(2 * 1024 * 1024))
    assert client_error(ei)[:2] == ("NoSuchBucket", 404)
    c.put_object(Bucket=bucket, Key="after-reject", Body=os.urandom(2 * 1024 * 1024))
    c.put_object(Bucket=bucket, Key="after-reject-2", Body=b"small")
    assert c.get_object(Bucket=bucket, Key="after-reject-2")["Body"].read() == b"small"


def test_duplicate_host_header_is_400(server):
    """RFC 9112 §3.2: a proxy in front may have routed on the other Host."""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        s.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nHost: evil.localhost\r\n\r\n".encode())
        assert s.recv(65536).split(b"\r\n", 1)[0].split(b" ")[1] == b"400"
    finally:
        s.close()
