"""A full disk: deletes, DeleteObjects and AbortMultipartUpload still work (they free space), a
PUT that does not fit fails cleanly, and a server restarted on a full disk comes up and serves
what it has. The disk is a small tmpfs the test mounts itself (root is needed)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import StowageServer, expect_client_error

pytestmark = [pytest.mark.timeout(180), pytest.mark.isolated]
KIB = 1024


@pytest.fixture
def small_disk():
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mountpoint = Path(tempfile.mkdtemp(prefix="stowage-fulldisk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mountpoint)], check=True, timeout=30)
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], timeout=30)
        mountpoint.rmdir()


def fill(s3, bucket: str, prefix: str) -> int:
    """PUTs objects, smaller and smaller, until even a one-byte object is refused (the data and
    the index both have nowhere left to go); returns how many were stored."""
    stored = 0
    for size in (200 * KIB, 16 * KIB, KIB, 1):
        for i in range(2000):
            try:
                s3.put_object(Bucket=bucket, Key=f"{prefix}{size}-{i:04d}", Body=os.urandom(size))
                stored += 1
            except ClientError as e:
                assert e.response["ResponseMetadata"]["HTTPStatusCode"] in (500, 503, 507), e.response
                break
        else:
            pytest.fail("the 8 MiB disk never filled up")
    return stored


@pytest.mark.filestore_only
def test_deletes_and_aborts_work_on_a_full_disk_and_restart_comes_up(small_disk):
    srv = StowageServer(directory=small_disk / "data", log_dir=Path(tempfile.mkdtemp(prefix="stowage-fulldisk-logs-")))
    srv.start()
    try:
        s3 = srv.client()
        s3.create_bucket(Bucket="full")
        uid = s3.create_multipart_upload(Bucket="full", Key="pending")["UploadId"]
        s3.upload_part(Bucket="full", Key="pending", UploadId=uid, PartNumber=1, Body=os.urandom(300 * KIB))
        stored = fill(s3, "full", "a")
        assert stored > 5
        # the disk is full: a single delete, a batch delete and an abort all go through
        s3.delete_object(Bucket="full", Key="a204800-0000")
        assert expect_client_error(s3.head_object, Bucket="full", Key="a204800-0000")[1] == 404
        fill(s3, "full", "b")
        result = s3.delete_objects(Bucket="full", Delete={"Objects": [{"Key": "a204800-0001"}, {"Key": "a204800-0002"}]})
        assert sorted(d["Key"] for d in result.get("Deleted", [])) == ["a204800-0001", "a204800-0002"] and not result.get("Errors"), result
        fill(s3, "full", "c")
        s3.abort_multipart_upload(Bucket="full", Key="pending", UploadId=uid)
        assert s3.list_multipart_uploads(Bucket="full").get("Uploads", []) == []
        fill(s3, "full", "d")
        # the full disk shows in readiness: still serving (200), but degraded, and why
        ready = srv.http("GET", "/_stowage/health/ready")
        assert ready.status == 200 and ready.body.startswith(b"degraded\n") and b"disk: degraded (" in ready.body, ready.body
        detail = srv.http("GET", "/_stowage/health/ready?format=json")
        assert detail.status == 200 and b'"status":"degraded"' in detail.body, detail.body
        keys_before = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="full")["Contents"])
        assert srv.stop() == 0
        # restart on the full disk: it comes up and serves what it has
        srv.start()
        s3 = srv.client()
        keys_after = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="full")["Contents"])
        assert keys_after == keys_before
        assert len(s3.get_object(Bucket="full", Key="a204800-0003")["Body"].read()) == 200 * KIB
        # and deleting still frees space for new writes
        for key in [k for k in keys_after if k.startswith("a204800-")][:5]:
            s3.delete_object(Bucket="full", Key=key)
        s3.put_object(Bucket="full", Key="after-restart", Body=os.urandom(200 * KIB))
    finally:
        srv.stop()
