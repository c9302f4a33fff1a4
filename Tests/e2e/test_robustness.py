"""Resource exhaustion and hostile peers: thousands of buckets under a low descriptor limit, the
accept loop out of descriptors, slow but steady downloads, trickled bodies, upgrade offers and
CONNECT, pipelined floods, oversized multipart completions, DeleteObjects from callers with no
grant, and who may read /_stowage/metrics."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import (ALICE, BOB, READY_TIMEOUT, STOWAGE_BIN, StowageServer, auth_config, expect_client_error,
                      make_client_as, principal_arn, read_http_response, spawn_and_wait_ready, terminate,
                      unique_bucket)

pytestmark = pytest.mark.timeout(180)
MIB = 1024 * 1024


class LimitedServer(StowageServer):
    """A server started under `prlimit --nofile=SOFT:HARD`."""

    def __init__(self, directory: Path, soft: int, hard: int, **kw):
        super().__init__(directory=directory, **kw)
        self.limit = (soft, hard)

    def command(self) -> list[str]:
        return ["prlimit", f"--nofile={self.limit[0]}:{self.limit[1]}", *super().command()]


@pytest.fixture
def limited(tmp_path):
    servers: list[StowageServer] = []

    def start(soft: int, hard: int, **kw) -> StowageServer:
        srv = LimitedServer(tmp_path / f"data{len(servers)}", soft, hard, log_dir=tmp_path, **kw)
        servers.append(srv)
        return srv.start()

    yield start
    for srv in servers:
        srv.stop(signal.SIGKILL)


def keepalive_requests(port: int, requests):
    """Sends (method, path, body) requests over one keep-alive connection; returns the statuses."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    statuses = []
    try:
        for method, path, body in requests:
            conn.request(method, path, body=body)
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
    finally:
        conn.close()
    return statuses


# ------------------------------------------------------------------------------ descriptors


@pytest.mark.slow
def test_five_thousand_buckets_under_a_1024_descriptor_limit_and_restart(limited):
    """Bucket directories do not pin descriptors: with 1,024 descriptors in all, 5,000 buckets
    are created, written, read and survive a restart."""
    srv = limited(1024, 1024)
    names = [f"many-{i:05d}" for i in range(5000)]
    assert set(keepalive_requests(srv.port, [("PUT", f"/{n}", None) for n in names])) == {200}
    assert set(keepalive_requests(srv.port, [("PUT", f"/{n}/k", n.encode()) for n in names])) == {200}
    assert set(keepalive_requests(srv.port, [("GET", f"/{n}/k", None) for n in names[::7]])) == {200}
    srv.restart()
    s3 = srv.client()
    assert len(s3.list_buckets()["Buckets"]) == 5000
    for name in names[::499]:
        assert s3.get_object(Bucket=name, Key="k")["Body"].read() == name.encode()
    s3.put_object(Bucket="many-04999", Key="after-restart", Body=b"ok")


def test_soft_descriptor_limit_is_raised_and_logged(limited):
    srv = limited(512, 4096)
    line = next(l for l in srv.stderr_text().splitlines() if "open files limit" in l)
    assert "soft=4096" in line and "hard=4096" in line and "was=512" in line, line
    pid = srv.proc.pid
    limits = Path(f"/proc/{pid}/limits").read_text()
    assert re.search(r"Max open files\s+4096\s+4096", limits), limits


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# FileStore's descriptor budget: the erasure-coded backend keeps six catalogs open, and out of
# descriptors it answers 503 rather than serving from memory.
@pytest.mark.filestore_only
def test_accept_backs_off_when_descriptors_run_out(limited):
    """Out of descriptors the server stops accepting for a moment instead of spinning on a
    failing accept, and keeps serving the connections it has."""
    srv = limited(96, 96)
    s3 = srv.client()
    s3.create_bucket(Bucket="fds")
    keeper = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    keeper.request("PUT", "/fds/kept", body=b"kept")
    assert keeper.getresponse().read() == b""
    keeper.request("GET", "/fds/kept")   # now held in memory: served without opening a file
    assert keeper.getresponse().read() == b"kept"
    hogs = []
    for _ in range(150):   # more connections than the server has descriptors for
        hogs.append(socket.create_connection(("127.0.0.1", srv.port), timeout=10))
    try:
        time.sleep(0.5)
        before, started = cpu_seconds(srv.proc.pid), time.monotonic()
        time.sleep(2.0)
        used = cpu_seconds(srv.proc.pid) - before
        elapsed = time.monotonic() - started
        # A spinning accept loop burns a whole core (used ≈ elapsed); backing off uses almost none.
        assert used < 0.5 * elapsed, f"{used:.2f}s of CPU in {elapsed:.2f}s while out of descriptors"
        keeper.request("GET", "/fds/kept")
        resp = keeper.getresponse()
        assert resp.status == 200 and resp.read() == b"kept"
    finally:
        for hog in hogs:
            hog.close()
        keeper.close()
    # descriptors are back: new connections are accepted again
    deadline = time.monotonic() + 10
    while True:
        try:
            assert srv.client().get_object(Bucket="fds", Key="kept")["Body"].read() == b"kept"
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# ------------------------------------------------------------------------------ slow peers


def test_slow_but_steady_download_finishes(start_server):
    """The timeout counts bytes moved, not whole 4 MiB slices: with a 2 s timeout, a client
    reading 12 MiB at about 1.5 MiB/s (each slice takes longer than the timeout) gets it all."""
    srv = start_server(config={"limits": {"requestTimeout": 2000}})
    s3 = srv.client()
    s3.create_bucket(Bucket="slow")
    data = os.urandom(12 * MIB)
    s3.put_object(Bucket="slow", Key="big", Body=data)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.sendall(b"GET /slow/big HTTP/1.1\r\nHost: h\r\n\r\n")
        received = bytearray()
        while True:
            chunk = s.recv(64 * 1024)
            if not chunk:
                break
            received += chunk
            if received.endswith(data[-64:]) and len(received) >= len(data):
                break
            time.sleep(0.04)     # ~1.5 MiB/s
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    assert body == data


def test_trickled_body_is_cut_off(start_server):
    """A body that sends a byte now and then (each within the timeout) is not progress: it is
    answered 400 RequestTimeout and nothing is stored."""
    srv = start_server(config={"limits": {"requestTimeout": 2000}})
    s3 = srv.client()
    s3.create_bucket(Bucket="trickle")
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
        s.sendall(b"PUT /trickle/t HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n")
        s.setblocking(False)
        answer = b""
        while time.monotonic() - started < 20:
            try:
                s.send(b"x")
            except (BrokenPipeError, ConnectionResetError, BlockingIOError):
                pass
            try:
                answer += s.recv(65536)
                if b"\r\n\r\n" in answer:
                    break
            except BlockingIOError:
                pass
            except ConnectionResetError:
                break
            time.sleep(0.5)
    assert b"RequestTimeout" in answer or answer.startswith(b"HTTP/1.1 400"), answer[:300]
    assert time.monotonic() - started < 15
    assert expect_client_error(s3.head_object, Bucket="trickle", Key="t")[1] == 404


def test_upgrade_offer_is_ignored_and_the_next_request_is_served(server, bucket, tmp_path):
    """`curl --http2 URL URL` offers an h2c upgrade on a keep-alive connection: the offer is
    declined, both requests are answered in HTTP/1.1 on the same connection, nothing hangs."""
    s3 = server.client()
    s3.put_object(Bucket=bucket, Key="a", Body=b"first")
    s3.put_object(Bucket=bucket, Key="b", Body=b"second")
    p = subprocess.run(["curl", "-sS", "--http2", "--max-time", "20", f"{server.endpoint}/{bucket}/a",
                        f"{server.endpoint}/{bucket}/b"], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"firstsecond"
    # by hand, pipelined on one connection: an upgrade offer (with a body), then two requests
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(f"PUT /{bucket}/c HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                  f"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nContent-Length: 5\r\n\r\nthird"
                  f"GET /{bucket}/a HTTP/1.1\r\nHost: h\r\n\r\n"
                  f"GET /{bucket}/c HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".encode())
        status, headers, _, rest = read_http_response(s)
        assert status == 200 and headers.get("connection") != "close"
        status, _, body, rest = read_http_response(s, rest)
        assert (status, body) == (200, b"first")
        status, _, body, rest = read_http_response(s, rest)
        assert (status, body) == (200, b"third")
        s.sendall(f"GET /{bucket}/b HTTP/1.1\r\nHost: h\r\n\r\n".encode())
        status, _, body, _ = read_http_response(s, rest)
        assert (status, body) == (200, b"second")


def test_connect_is_answered_and_closed(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        s.settimeout(10)
        answer = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break   # closed: the answer is complete
            answer += chunk
    assert re.match(rb"HTTP/1.1 (400|405) ", answer), answer[:200]
    assert b"connection: close" in answer.lower()


# ------------------------------------------------------------------------------ bounded work


def rss_kib(pid: int) -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1))


# FileStore sends a stalled GET's bytes from the file (sendfile); the erasure-coded backend
# holds the chunk it decoded (up to 4 MiB) per stalled GET, which this bound does not allow.
@pytest.mark.filestore_only
def test_pipelined_input_is_not_buffered(start_server):
    """Requests pipelined behind one that cannot finish (its response is not being read) wait
    in the client's kernel buffers, not in server memory."""
    srv = start_server()
    s3 = srv.client()
    s3.create_bucket(Bucket="pipe")
    s3.put_object(Bucket="pipe", Key="big", Body=os.urandom(32 * MIB))
    time.sleep(0.5)
    before = rss_kib(srv.proc.pid)
    socks = []
    put = b"PUT /pipe/x HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n" + b"p" * MIB
    try:
        for _ in range(12):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /pipe/big HTTP/1.1\r\nHost: h\r\n\r\n")   # never read
            s.setblocking(False)
            for _ in range(16):   # up to 16 MiB pipelined behind it
                try:
                    s.send(put)
                except BlockingIOError:
                    break
            socks.append(s)
        time.sleep(1.0)
        grown_mib = (rss_kib(srv.proc.pid) - before) / 1024
        # 12 connections x 4 MiB of held parts would be ~48 MiB; bounded, they hold ~64 KiB each.
        assert grown_mib < 24, f"server memory grew by {grown_mib:.1f} MiB"
    finally:
        for s in socks:
            s.close()


def test_complete_multipart_is_bounded_by_max_object_size(start_server):
    srv = start_server(config={"limits": {"maxObjectSize": 8 * MIB}})
    s3 = srv.client()
    s3.create_bucket(Bucket="capped")
    uid = s3.create_multipart_upload(Bucket="capped", Key="k")["UploadId"]
    parts = [{"PartNumber": n, "ETag": s3.upload_part(Bucket="capped", Key="k", UploadId=uid, PartNumber=n,
                                                      Body=os.urandom(5 * MIB))["ETag"]} for n in (1, 2)]
    assert expect_client_error(s3.complete_multipart_upload, Bucket="capped", Key="k", UploadId=uid,
                               MultipartUpload={"Parts": parts}) == ("EntityTooLarge", 400)
    assert expect_client_error(s3.head_object, Bucket="capped", Key="k")[1] == 404
    # the upload is still there to complete with fewer parts
    s3.complete_multipart_upload(Bucket="capped", Key="k", UploadId=uid, MultipartUpload={"Parts": parts[:1]})


def test_delete_objects_without_any_grant_is_refused_before_the_body(auth_server, alice, bob, anon, alice_bucket):
    """A caller no grant could cover gets 403 before its (up to megabytes of) keys are read;
    one whose grant covers a prefix gets per-key answers."""
    alice.put_object(Bucket=alice_bucket, Key="shared/a", Body=b"a")
    alice.put_object(Bucket=alice_bucket, Key="private/b", Body=b"b")
    # past the 64 KiB the host collects up front, so the body is read only if someone asks for it
    body = b'<Delete><Object><Key>shared/a</Key></Object>' + b"<Object><Key>%s</Key></Object>" % (b"x" * 200) * 999 + b"</Delete>"
    import hashlib
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    with socket.create_connection(("127.0.0.1", auth_server.port), timeout=20) as s:
        s.sendall(f"POST /{alice_bucket}?delete HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-MD5: {md5}\r\n"
                  f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode())
        status, _, answer, _ = read_http_response(s)
    assert status == 403 and b"AccessDenied" in answer, answer[:300]   # no 100 Continue: the body was never asked for
    assert expect_client_error(bob.delete_objects, Bucket=alice_bucket, Delete={"Objects": [{"Key": "shared/a"}]}) == ("AccessDenied", 403)
    alice.put_bucket_policy(Bucket=alice_bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": principal_arn(BOB)}, "Action": "s3:DeleteObject",
        "Resource": f"arn:aws:s3:::{alice_bucket}/shared/*"}]}))
    result = bob.delete_objects(Bucket=alice_bucket, Delete={"Objects": [{"Key": "shared/a"}, {"Key": "private/b"}]})
    assert [d["Key"] for d in result.get("Deleted", [])] == ["shared/a"]
    assert [(e["Key"], e["Code"]) for e in result.get("Errors", [])] == [("private/b", "AccessDenied")]


# ------------------------------------------------------------------------------ metrics access


def metrics(port: int, authorization: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/_stowage/metrics", headers={"Authorization": authorization} if authorization else {})
        resp = conn.getresponse()
        return resp.status, resp.getheader("WWW-Authenticate"), resp.read()
    finally:
        conn.close()


def test_metrics_need_credentials_when_auth_is_on(start_server):
    cfg = auth_config()
    cfg["server"]["metrics"] = {"bearerToken": "scrape-me"}
    srv = start_server(config=cfg)
    status, challenge, _ = metrics(srv.port)
    assert status == 401 and challenge and challenge.startswith("Bearer")
    assert metrics(srv.port, "Bearer wrong")[0] == 401
    status, _, body = metrics(srv.port, "Bearer scrape-me")
    assert status == 200 and b"stowage_" in body
    # an S3 secret is never accepted in the clear: Basic counts only over HTTPS (test_https.py)
    basic = base64.b64encode(f"{ALICE['accessKeyId']}:{ALICE['secretAccessKey']}".encode()).decode()
    assert metrics(srv.port, f"Basic {basic}")[0] == 401
    # health stays open for probes
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request("GET", "/_stowage/health/ready")
    assert conn.getresponse().status == 200
    conn.close()


def test_metrics_open_without_auth_or_when_configured_open(start_server, server):
    assert metrics(server.port)[0] == 200
    cfg = auth_config()
    cfg["server"]["metrics"] = {"authenticate": False}
    srv = start_server(config=cfg)
    assert metrics(srv.port)[0] == 200
