"""Health, Prometheus metrics, the opt-in reset endpoint and access logs, against the binary.

`/_stowage/...` paths never collide with S3 (bucket names cannot contain `_`); the metrics
must parse with the reference Prometheus text parser and move with traffic."""

from __future__ import annotations

import json
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import STOWAGE_BIN, unique_bucket

pytestmark = pytest.mark.timeout(60)


def metrics(srv) -> dict[tuple[str, tuple], float]:
    r = srv.http("GET", "/_stowage/metrics")
    assert r.status == 200
    assert r.header("Content-Type").startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(r.body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_health_endpoints(start_server):
    srv = start_server()
    for path, body in (("/_stowage/health/live", b"live\n"), ("/_stowage/health/ready", b"ready\n")):
        r = srv.http("GET", path)
        assert (r.status, r.body) == (200, body)
    assert srv.http("HEAD", "/_stowage/health/ready").status == 200
    assert srv.http("POST", "/_stowage/health/live").status == 405
    assert srv.http("GET", "/_stowage/nothing").status == 404


def test_metrics_parse_and_move_with_traffic(start_server):
    srv = start_server()
    s3 = srv.client()
    bucket = unique_bucket("metrics")
    s3.create_bucket(Bucket=bucket)
    before = metrics(srv)
    payload = b"x" * 1000
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=payload)
    assert s3.get_object(Bucket=bucket, Key="k0")["Body"].read() == payload
    with pytest.raises(Exception):
        s3.get_object(Bucket=bucket, Key="missing")
    after = metrics(srv)
    assert value(after, "stowage_requests_total", operation="PutObject", status="200") - \
        value(before, "stowage_requests_total", operation="PutObject", status="200") == 3
    assert value(after, "stowage_requests_total", operation="GetObject", status="404") >= 1
    assert value(after, "stowage_received_bytes_total") - value(before, "stowage_received_bytes_total") >= 3000
    assert value(after, "stowage_sent_bytes_total") - value(before, "stowage_sent_bytes_total") >= 1000
    assert value(after, "stowage_request_duration_seconds_count", operation="PutObject") >= 3
    assert value(after, "stowage_stored_objects") == 3
    assert value(after, "stowage_stored_bytes") == 3000
    assert value(after, "stowage_stored_buckets") == 1
    assert value(after, "stowage_open_connections") >= 1


def test_vhost_paths_under_stowage_are_object_keys(start_server):
    srv = start_server()
    r = srv.http("GET", "/_stowage/metrics", headers={"Host": f"nosuchbucket.localhost:{srv.port}"})
    assert r.status == 404 and r.error_code() == "NoSuchBucket"


def test_reset_is_off_by_default(start_server):
    srv = start_server()
    srv.client().create_bucket(Bucket=unique_bucket("keep"))
    assert srv.http("POST", "/_stowage/reset").status == 403
    assert len(srv.client().list_buckets()["Buckets"]) == 1


def test_reset_cannot_be_combined_with_authentication(tmp_path):
    import os, subprocess
    p = subprocess.run([STOWAGE_BIN, "serve", "--port", "0", "--directory", str(tmp_path / "d"), "--auth"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=20,
                       env={**os.environ, "STOWAGE_ADMIN_RESET": "true"})
    assert p.returncode == 2 and b"server.adminReset" in p.stderr and p.stdout == b""


def test_reset_empties_everything(start_server):
    srv = start_server(config={"server": {"adminReset": True}})
    s3 = srv.client()
    for name in (unique_bucket("r1"), unique_bucket("r2")):
        s3.create_bucket(Bucket=name)
        for i in range(5):
            s3.put_object(Bucket=name, Key=f"dir/{i}", Body=b"data")
        s3.create_multipart_upload(Bucket=name, Key="pending")
    r = srv.http("POST", "/_stowage/reset")
    assert r.status == 200 and json.loads(r.body) == {"removedBuckets": 2}
    assert s3.list_buckets()["Buckets"] == []
    assert value(metrics(srv), "stowage_stored_objects") == 0


def wait_for(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_access_log_line_per_request(start_server):
    srv = start_server(extra_args=["--log-level", "info"])
    bucket = unique_bucket("log")
    r = srv.http("PUT", f"/{bucket}")
    request_id = r.header("x-amz-request-id")
    r404 = srv.http("GET", f"/{bucket}/missing")
    assert wait_for(lambda: r404.header("x-amz-request-id") in srv.stderr_text())
    lines = srv.stderr_text().splitlines()
    create = next(line for line in lines if request_id in line)
    assert f"PUT /{bucket} 200" in create and "operation=CreateBucket" in create and "duration-ms=" in create
    missing = next(line for line in lines if r404.header("x-amz-request-id") in line)
    assert "error=NoSuchKey" in missing and "status=404" in missing and "bytes-out=" in missing


def test_json_log_format(start_server):
    srv = start_server(config={"logging": {"format": "json", "level": "info"}})
    r = srv.http("GET", "/no-such-bucket-json/k")
    assert wait_for(lambda: r.header("x-amz-request-id") in srv.stderr_text())
    entries = [json.loads(line) for line in srv.stderr_text().splitlines() if line.strip()]
    access = next(e for e in entries if e["metadata"].get("request-id") == r.header("x-amz-request-id"))
    assert access["label"] == "stowage.access" and access["level"] == "info"
    assert access["metadata"]["error"] == "NoSuchBucket" and access["metadata"]["status"] == "404"


def test_silent_server_logs_no_access_lines(start_server):
    srv = start_server(extra_args=["--silent"])
    r = srv.http("GET", "/")
    assert r.status == 200
    time.sleep(0.3)
    assert r.header("x-amz-request-id") not in srv.stderr_text()


def test_received_bytes_count_what_was_read(start_server):
    """A refused upload counts the bytes that arrived, not its Content-Length."""
    import socket
    srv = start_server()
    before = value(metrics(srv), "stowage_received_bytes_total")
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    sock.sendall(f"PUT /no-such-bucket-bytes/k HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
                 f"Content-Length: 9000000000\r\n\r\n".encode() + b"x" * 1000)
    status_line = sock.recv(65536).split(b"\r\n", 1)[0]
    assert status_line.split(b" ")[1].startswith(b"4"), status_line  # refused (EntityTooLarge or NoSuchBucket)
    sock.close()
    time.sleep(0.2)
    after = value(metrics(srv), "stowage_received_bytes_total")
    assert after - before < 10_000_000
