"""A drive that fails operations (a full file system: a small tmpfs the test mounts) is taken
out of rotation after failures in a row, without failing the node: every write still succeeds
on the other drives and every object reads back. Given room again, it takes a probe write and
is probed back in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import StowageServer, unique_bucket

pytestmark = [pytest.mark.timeout(180), pytest.mark.isolated]
MIB = 1024 * 1024


@pytest.fixture
def server_with_small_drive():
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    base = Path(tempfile.mkdtemp(prefix="stowage-e2e-faildrive-"))
    drives = [base / f"d{i}" for i in range(6)]
    for drive in drives:
        drive.mkdir()
    small = drives[5]
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(small)], check=True, timeout=30)
    server = StowageServer(directory=base / "unused", extra_args=["--drives", ",".join(map(str, drives))])
    try:
        server.start()
        server.small = small
        yield server
    finally:
        server.stop()
        subprocess.run(["umount", "-l", str(small)], timeout=30)
        shutil.rmtree(base, ignore_errors=True)


def drive_component(server, path: Path) -> dict:
    body = server.http("GET", "/_stowage/health/ready?format=json").body.decode()
    for component in json.loads(body)["components"]:
        if component["name"] == f"drive {path}":
            return component
    raise AssertionError(f"no component for {path} in {body}")


def wait_for(predicate, what: str, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_full_drive_leaves_rotation_and_is_probed_back(server_with_small_drive):
    server = server_with_small_drive
    s3 = server.client()
    bucket = unique_bucket("faildrive")
    s3.create_bucket(Bucket=bucket)
    stored = {}
    # 4+2 over 1 MiB objects: about 256 KiB per shard, so the 3 MiB drive fills after ~10.
    for i in range(24):
        body = os.urandom(MIB + i)
        s3.put_object(Bucket=bucket, Key=f"o{i}", Body=body)
        stored[f"o{i}"] = body

    component = wait_for(
        lambda: (c := drive_component(server, server.small))["status"] == "degraded" and c, "the full drive to leave rotation")
    assert "failed" in component["detail"] and "No space left" in component["detail"], component
    ready = server.http("GET", "/_stowage/health/ready")
    assert ready.status == 200, "one failing drive degrades the node; it must not fail it"
    for key, body in stored.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body, key

    subprocess.run(["mount", "-o", "remount,size=64m", str(server.small)], check=True, timeout=30)
    wait_for(lambda: drive_component(server, server.small)["status"] == "ok", "the drive to be probed back")
    s3.put_object(Bucket=bucket, Key="after", Body=b"x" * (2 * MIB))
    stored["after"] = b"x" * (2 * MIB)
    for key, body in stored.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body, key
