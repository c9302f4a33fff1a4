"""Graceful shutdown: SIGTERM stops accepting at once, lets requests in progress finish for
`server.shutdownGracePeriod`, then cuts off the rest; completed writes are durable and an
interrupted upload leaves nothing behind. A second signal exits at once."""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import signal
import socket
import threading
import time

import pytest

from conftest import unique_bucket

pytestmark = [pytest.mark.timeout(120), pytest.mark.isolated]


def slow_upload(port: int, bucket: str, key: str, total: int, first: int, rate: int, stop: threading.Event) -> str:
    """PUTs `total` bytes: `first` at once, then `rate` bytes per 50 ms until done or cut off.
    Returns the status line, or 'cut off' when the server closed the connection."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        s.sendall(f"PUT /{bucket}/{key} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {total}\r\n\r\n".encode())
        sent = 0
        chunk = b"z" * 65536
        while sent < total:
            budget = first if sent == 0 else rate
            while budget > 0 and sent < total:
                n = min(len(chunk), budget, total - sent)
                s.sendall(chunk[:n])
                sent += n
                budget -= n
            if stop.is_set():
                break
            time.sleep(0.05)
        data = s.recv(4096)
        return data.split(b"\r\n", 1)[0].decode() if data else "cut off"
    except OSError:
        return "cut off"
    finally:
        s.close()


@pytest.mark.filestore_only
def test_sigterm_during_big_upload_and_many_small_puts(start_server):
    srv = start_server(config={"server": {"shutdownGracePeriod": 1500}})
    s3 = srv.client()
    bucket = unique_bucket("drain")
    s3.create_bucket(Bucket=bucket)
    stop = threading.Event()
    gib = 1024 * 1024 * 1024
    with concurrent.futures.ThreadPoolExecutor(max_workers=52) as pool:
        # The 1 GiB upload trickles: it cannot finish inside the grace period.
        big = pool.submit(slow_upload, srv.port, bucket, "big", gib, 32 * 1024 * 1024, 1024 * 1024, stop)
        time.sleep(0.5)
        # 50 writers, each PUTting small objects back to back until the server goes away.
        clients = [srv.client(retries={"total_max_attempts": 1}) for _ in range(50)]
        bodies: dict[str, bytes] = {}
        done = threading.Event()

        def writer(n):
            completed = []
            for i in range(1000):
                key = f"small/{n}/{i}"
                body = os.urandom(16 * 1024 + n * 64 + i)
                bodies[key] = body
                try:
                    clients[n].put_object(Bucket=bucket, Key=key, Body=body)
                except Exception:
                    return completed
                completed.append(key)
                if done.is_set():
                    return completed
            return completed

        writers = [pool.submit(writer, n) for n in range(50)]
        time.sleep(1.0)
        started = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        code = srv.proc.wait(timeout=30)
        elapsed = time.monotonic() - started
        stop.set()
        done.set()
        results = {key: True for f in writers for key in f.result()}
        assert big.result() != "HTTP/1.1 200 OK"
    srv.proc = None
    assert code == 0
    assert elapsed < 1.5 + 5, f"stop took {elapsed:.1f}s with a 1.5 s grace period"

    srv.start()
    s3 = srv.client()
    listed = {o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
              for o in page.get("Contents", [])}
    assert "big" not in listed
    completed = list(results)
    assert completed, "no small PUT completed before the signal; the test did not exercise durability"
    for key in completed:
        assert hashlib.md5(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).digest() == hashlib.md5(bodies[key]).digest()
    for key in listed - {"big"}:
        # Anything stored is whole, whether or not its client saw the answer.
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == bodies[key]
    assert len(listed) >= len(completed)
    assert not any(srv.tmp_dir.iterdir()), list(srv.tmp_dir.iterdir())


def test_request_in_progress_finishes_during_grace_period(start_server):
    srv = start_server(config={"server": {"shutdownGracePeriod": 20000}})
    s3 = srv.client()
    bucket = unique_bucket("finish")
    s3.create_bucket(Bucket=bucket)
    stop = threading.Event()
    total = 4 * 1024 * 1024
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        # About 1.5 s of trickling after the signal.
        upload = pool.submit(slow_upload, srv.port, bucket, "finishes", total, 1024 * 1024, 128 * 1024, threading.Event())
        time.sleep(0.3)
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()  # the port is released at once
        assert upload.result() == "HTTP/1.1 200 OK"
    assert srv.proc.wait(timeout=30) == 0
    srv.proc = None
    srv.start()
    assert srv.client().head_object(Bucket=bucket, Key="finishes")["ContentLength"] == total


def test_idle_connections_do_not_delay_shutdown(start_server):
    srv = start_server(config={"server": {"shutdownGracePeriod": 20000}})
    idle = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    idle.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n\r\n".encode())
    assert idle.recv(65536).startswith(b"HTTP/1.1 200")
    started = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=30) == 0
    assert time.monotonic() - started < 5
    srv.proc = None
    idle.close()


@pytest.mark.filestore_only
def test_second_signal_exits_at_once(start_server):
    srv = start_server(config={"server": {"shutdownGracePeriod": 60000}})
    bucket = unique_bucket("impatient")
    srv.client().create_bucket(Bucket=bucket)
    stop = threading.Event()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        upload = pool.submit(slow_upload, srv.port, bucket, "never", 1024 * 1024 * 1024, 1024 * 1024, 64 * 1024, stop)
        time.sleep(0.3)
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert srv.proc.poll() is None, "the first signal must wait for the upload in progress"
        started = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        code = srv.proc.wait(timeout=10)
        stop.set()
        assert time.monotonic() - started < 3
        assert code == 1
        upload.result()
    srv.proc = None
    srv.start()
    assert "Contents" not in srv.client().list_objects_v2(Bucket=bucket)
    assert not any(srv.tmp_dir.iterdir())


def test_connection_mid_response_closes_after_it(start_server):
    """A response already streaming when the drain begins completes, then the connection closes
    (no further request is served on it), and the process does not wait out the grace period."""
    srv = start_server(config={"server": {"shutdownGracePeriod": 20000}})
    s3 = srv.client()
    bucket = unique_bucket("midresp")
    s3.create_bucket(Bucket=bucket)
    body = os.urandom(32 * 1024 * 1024)
    s3.put_object(Bucket=bucket, Key="big", Body=body)
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    sock.sendall(f"GET /{bucket}/big HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n\r\n".encode())
    received = sock.recv(64 * 1024)
    assert received.startswith(b"HTTP/1.1 200")
    started = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    while True:
        chunk = sock.recv(1024 * 1024)
        if not chunk:
            break
        received += chunk
    head, _, payload = received.partition(b"\r\n\r\n")
    assert payload == body, "the response in progress completes"
    assert srv.proc.wait(timeout=30) == 0
    assert time.monotonic() - started < 10, "closing after the response, not at the grace deadline"
    srv.proc = None
    sock.close()
