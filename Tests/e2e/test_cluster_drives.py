"""The erasure-coded backend on one node with six drive directories (`stowage serve --drives`),
driven by boto3: objects of every size, ranges, conditional writes, drives removed and restored,
a corrupted shard, and restart. Drive directories are removed by renaming them away (the server
keeps its open descriptors), which the drive probe must notice through the path."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import StowageServer, run_stowage, unique_bucket

pytestmark = pytest.mark.isolated

SIZES = [0, 1, 4096, 128 * 1024, 128 * 1024 + 1, 5 * 1024 * 1024 + 3]


@pytest.fixture
def drives_server():
    base = Path(tempfile.mkdtemp(prefix="stowage-e2e-drives-"))
    drives = [base / f"d{i}" for i in range(6)]
    for drive in drives:
        drive.mkdir()
    server = StowageServer(directory=base / "unused", extra_args=["--drives", ",".join(map(str, drives))])
    server.start()
    server.drives = drives
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


def no_retry_client(server):
    return server.client(retries={"max_attempts": 1})


def health_text(server) -> str:
    return server.http("GET", "/_stowage/health/ready").body.decode()


def wait_for_health(server, predicate, timeout=12.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = health_text(server)
        if predicate(text):
            return text
        time.sleep(0.2)
    raise AssertionError(f"health never matched; last:\n{text}")


def remove_drive(drive: Path) -> Path:
    away = drive.with_name(drive.name + "-away")
    drive.rename(away)
    return away


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def put_objects(s3, bucket: str) -> dict[str, bytes]:
    stored = {}
    for size in SIZES:
        key = f"obj/{size}"
        body = os.urandom(size)
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        stored[key] = body
    return stored


def test_objects_round_trip_with_ranges_etags_and_conditions(drives_server):
    s3 = drives_server.client()
    bucket = unique_bucket("cl")
    s3.create_bucket(Bucket=bucket)
    stored = put_objects(s3, bucket)
    for key, body in stored.items():
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["Body"].read() == body
        assert got["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ContentLength"] == len(body)
        if len(body) > 10:
            for first, last in [(0, 0), (3, 9), (len(body) // 2, len(body) - 1)]:
                part = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={first}-{last}")
                assert part["Body"].read() == body[first:last + 1]
                assert part["ContentRange"] == f"bytes {first}-{last}/{len(body)}"
    # A range across the 4 MiB chunk boundary of the large object.
    big = stored["obj/5242883"]
    part = s3.get_object(Bucket=bucket, Key="obj/5242883", Range="bytes=4194000-4194999")
    assert part["Body"].read() == big[4194000:4195000]

    with pytest.raises(ClientError) as created:
        s3.put_object(Bucket=bucket, Key="obj/1", Body=b"again", IfNoneMatch="*")
    assert error_code(created) == "PreconditionFailed"
    with pytest.raises(ClientError) as mismatch:
        s3.put_object(Bucket=bucket, Key="obj/1", Body=b"again", IfMatch='"0123456789abcdef0123456789abcdef"')
    assert error_code(mismatch) == "PreconditionFailed"
    etag = s3.head_object(Bucket=bucket, Key="obj/1")["ETag"]
    s3.put_object(Bucket=bucket, Key="obj/1", Body=b"replaced", IfMatch=etag)
    assert s3.get_object(Bucket=bucket, Key="obj/1")["Body"].read() == b"replaced"
    s3.put_object(Bucket=bucket, Key="fresh", Body=b"new", IfNoneMatch="*")

    s3.delete_object(Bucket=bucket, Key="obj/1")
    with pytest.raises(ClientError) as gone:
        s3.get_object(Bucket=bucket, Key="obj/1")
    assert error_code(gone) == "NoSuchKey"
    with pytest.raises(ClientError) as not_empty:
        s3.delete_bucket(Bucket=bucket)
    assert error_code(not_empty) == "BucketNotEmpty"
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    remaining = {key: body for key, body in stored.items() if key != "obj/1"}
    remaining["fresh"] = b"new"
    assert [o["Key"] for o in listed] == sorted(remaining, key=lambda k: k.encode())
    assert [o["Size"] for o in listed] == [len(remaining[o["Key"]]) for o in listed]


def test_listing_pages_prefixes_and_markers_also_with_two_drives_out(drives_server):
    s3 = drives_server.client()
    bucket = unique_bucket("ls")
    s3.create_bucket(Bucket=bucket)
    keys = [f"photos/{year}/{i:03d}.jpg" for year in (2023, 2024) for i in range(12)]
    keys += ["photos/readme", "a", "z/é", "z/e", "Z", "docs/x y", "docs/%2F"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    s3.put_object(Bucket=bucket, Key="gone", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="gone")
    expected = sorted(keys, key=lambda k: k.encode())

    def check_listings():
        paged = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 5}):
            paged += [o["Key"] for o in page.get("Contents", [])]
        assert paged == expected
        top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
        assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["docs/", "photos/", "z/"]
        assert [o["Key"] for o in top["Contents"]] == ["Z", "a"]
        years = s3.list_objects_v2(Bucket=bucket, Prefix="photos/", Delimiter="/")
        assert [p["Prefix"] for p in years["CommonPrefixes"]] == ["photos/2023/", "photos/2024/"]
        assert [o["Key"] for o in years["Contents"]] == ["photos/readme"]
        after = s3.list_objects_v2(Bucket=bucket, StartAfter="photos/2024/010.jpg")
        assert [o["Key"] for o in after["Contents"]] == [k for k in expected if k.encode() > b"photos/2024/010.jpg"]
        v1 = s3.list_objects(Bucket=bucket, Marker="photos/2023/005.jpg", MaxKeys=3)
        assert [o["Key"] for o in v1["Contents"]] == ["photos/2023/006.jpg", "photos/2023/007.jpg", "photos/2023/008.jpg"]
        assert v1["IsTruncated"]
        encoded = s3.list_objects_v2(Bucket=bucket, Prefix="z/", EncodingType="url")
        assert [o["Key"] for o in encoded["Contents"]] == ["z/e", "z/%C3%A9"]
        item = s3.list_objects_v2(Bucket=bucket, Prefix="a", FetchOwner=True)["Contents"][0]
        assert item["Size"] == 1 and item["ETag"] == s3.head_object(Bucket=bucket, Key="a")["ETag"]
        assert "Owner" in item

    check_listings()
    away = [remove_drive(drives_server.drives[0]), remove_drive(drives_server.drives[3])]
    wait_for_health(drives_server, lambda t: t.count("does not exist") == 2)
    check_listings()
    for moved, drive in zip(away, [drives_server.drives[0], drives_server.drives[3]]):
        moved.rename(drive)
    wait_for_health(drives_server, lambda t: t.strip() == "ready")


def test_copy_between_keys_and_onto_itself(drives_server):
    s3 = drives_server.client()
    bucket = unique_bucket("cp")
    s3.create_bucket(Bucket=bucket)
    body = os.urandom(5 * 1024 * 1024 + 7)
    s3.put_object(Bucket=bucket, Key="src", Body=body, ContentType="image/png", Metadata={"color": "blue"},
                  ChecksumAlgorithm="SHA256")
    source_etag = s3.head_object(Bucket=bucket, Key="src")["ETag"]
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == source_etag
    got = s3.get_object(Bucket=bucket, Key="dst", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert got["ContentType"] == "image/png" and got["Metadata"] == {"color": "blue"}
    assert got["ChecksumSHA256"] == s3.head_object(Bucket=bucket, Key="src", ChecksumMode="ENABLED")["ChecksumSHA256"]
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "dst"}, MetadataDirective="REPLACE",
                   ContentType="text/plain", Metadata={"color": "red"})
    head = s3.head_object(Bucket=bucket, Key="dst")
    assert head["ContentType"] == "text/plain" and head["Metadata"] == {"color": "red"} and head["ETag"] == source_etag
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == body
    with pytest.raises(ClientError) as refused:
        s3.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "src"}, CopySourceIfMatch='"0000"')
    assert error_code(refused) == "PreconditionFailed"
    with pytest.raises(ClientError) as missing:
        s3.copy_object(Bucket=bucket, Key="x", CopySource={"Bucket": bucket, "Key": "nope"})
    assert error_code(missing) == "NoSuchKey"
    with pytest.raises(ClientError) as self_copy:
        s3.copy_object(Bucket=bucket, Key="src", CopySource={"Bucket": bucket, "Key": "src"})
    assert error_code(self_copy) == "InvalidRequest"


def test_buckets_are_registers(drives_server):
    s3 = drives_server.client()
    name = unique_bucket("cl")
    s3.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    # us-east-1's legacy answer to re-creating your own bucket: 200, contents untouched.
    s3.put_object(Bucket=name, Key="kept", Body=b"kept")
    s3.create_bucket(Bucket=name)
    assert s3.get_object(Bucket=name, Key="kept")["Body"].read() == b"kept"
    with pytest.raises(ClientError) as not_empty:
        s3.delete_bucket(Bucket=name)
    assert error_code(not_empty) == "BucketNotEmpty"
    s3.delete_object(Bucket=name, Key="kept")
    s3.head_bucket(Bucket=name)
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as missing:
        s3.head_bucket(Bucket=name)
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # Re-created, it is a new bucket: nothing of the old one shows.
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"v")
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"v"


def test_two_drives_gone_still_read_and_write(drives_server):
    s3 = no_retry_client(drives_server)
    bucket = unique_bucket("cl")
    s3.create_bucket(Bucket=bucket)
    stored = put_objects(s3, bucket)
    away = [remove_drive(drives_server.drives[1]), remove_drive(drives_server.drives[4])]
    text = wait_for_health(drives_server, lambda t: t.count("does not exist") == 2)
    assert "set 0: degraded (2 of 6 drives offline)" in text
    for key, body in stored.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    during = os.urandom(3 * 1024 * 1024 + 5)
    s3.put_object(Bucket=bucket, Key="during", Body=during)
    assert s3.get_object(Bucket=bucket, Key="during")["Body"].read() == during
    for moved, drive in zip(away, [drives_server.drives[1], drives_server.drives[4]]):
        moved.rename(drive)
    wait_for_health(drives_server, lambda t: t.strip() == "ready")
    assert s3.get_object(Bucket=bucket, Key="during")["Body"].read() == during


def test_flipped_byte_in_a_shard_reads_correctly(drives_server):
    s3 = drives_server.client()
    bucket = unique_bucket("cl")
    s3.create_bucket(Bucket=bucket)
    body = os.urandom(6 * 1024 * 1024)
    s3.put_object(Bucket=bucket, Key="big", Body=body)
    shards = sorted(p for d in drives_server.drives for p in (d / ".stowage" / "data").rglob("*.p1.s*"))
    assert len(shards) == 6
    def flip(victim):
        with open(victim, "r+b") as f:
            f.seek(1000)
            byte = f.read(1)
            f.seek(1000)
            f.write(bytes([byte[0] ^ 0xFF]))

    for victim in shards[:2]:
        flip(victim)
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == body
    part = s3.get_object(Bucket=bucket, Key="big", Range="bytes=100-2000")["Body"].read()
    assert part == body[100:2001]
    for victim in shards[:2]:
        flip(victim)  # back as it was
    # One shard at a time: the four data shards each make a read reconstruct (parity shards
    # are read only when a data shard fails), and the metrics count it.
    before = metric(drives_server, "stowage_cluster_degraded_reads_total")
    for victim in shards:
        flip(victim)
        assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == body
        flip(victim)
    assert metric(drives_server, "stowage_cluster_degraded_reads_total") == before + 4
    assert metric(drives_server, "stowage_cluster_reconstructed_chunks_total") >= 4


def metric(server, name: str) -> float:
    text = server.http("GET", "/_stowage/metrics").body.decode()
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ") or line.startswith(name + "{")]
    assert values, f"{name} is not in the metrics"
    return sum(values)


def test_three_drives_gone_is_a_clean_503_and_restore_brings_everything_back(drives_server):
    s3 = no_retry_client(drives_server)
    bucket = unique_bucket("cl")
    s3.create_bucket(Bucket=bucket)
    stored = put_objects(s3, bucket)
    moved = [(remove_drive(drives_server.drives[i]), drives_server.drives[i]) for i in (0, 2, 5)]
    text = wait_for_health(drives_server, lambda t: t.count("does not exist") == 3)
    assert text.startswith("unavailable") and "3 of 6 drives offline" in text
    for call in (
        lambda: s3.get_object(Bucket=bucket, Key="obj/5242883"),
        lambda: s3.head_object(Bucket=bucket, Key="obj/4096"),
        lambda: s3.put_object(Bucket=bucket, Key="lost", Body=b"x" * 5000),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    for away, drive in moved:
        away.rename(drive)
    wait_for_health(drives_server, lambda t: t.strip() == "ready")
    for key, body in stored.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    with pytest.raises(ClientError) as never_written:
        s3.get_object(Bucket=bucket, Key="lost")
    assert error_code(never_written) == "NoSuchKey"


def test_restart_keeps_everything_and_does_not_reformat(drives_server):
    s3 = drives_server.client()
    bucket = unique_bucket("cl")
    s3.create_bucket(Bucket=bucket)
    stored = put_objects(s3, bucket)
    formats = [json.loads((d / ".stowage" / "format.json").read_text()) for d in drives_server.drives]
    assert len({f["driveUUID"] for f in formats}) == 6 and len({f["deploymentID"] for f in formats}) == 1
    drives_server.restart()
    s3 = drives_server.client()
    for key, body in stored.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    assert [json.loads((d / ".stowage" / "format.json").read_text()) for d in drives_server.drives] == formats
    # Writes after the restart win over the ones before it.
    s3.put_object(Bucket=bucket, Key="obj/1", Body=b"after restart")
    assert s3.get_object(Bucket=bucket, Key="obj/1")["Body"].read() == b"after restart"


def test_configuration_refusals_name_the_problem(tmp_path):
    drives = [tmp_path / f"d{i}" for i in range(5)]
    for drive in drives:
        drive.mkdir()
    joined = ",".join(map(str, drives))
    five = run_stowage(["serve", "--port", "0", "--address", "127.0.0.1", "--drives", joined])
    assert five.returncode != 0
    assert b"not a multiple of the 6 drives of a 4+2 set" in five.stderr
    bad = run_stowage(["serve", "--port", "0", "--address", "127.0.0.1", "--drives", joined, "--erasure", "4-1"])
    assert bad.returncode != 0 and b"--erasure" in bad.stderr
    config = tmp_path / "multi.json"
    config.write_text(json.dumps({"cluster": {"enabled": True, "seedNodes": ["127.0.0.1:4001"], "drives": {"paths": [str(d) for d in drives]}}}))
    multi = run_stowage(["serve", "--port", "0", "--address", "127.0.0.1", "--config", str(config)])
    assert multi.returncode != 0 and b"storage.fsync" in multi.stderr
    # A formation secret must be 256 random bits as hex (a passphrase could be guessed offline).
    config.write_text(json.dumps({"storage": {"directory": str(tmp_path / "st"), "fsync": True}, "cluster": {
        "enabled": True, "seedNodes": ["127.0.0.1:4001"], "formationSecret": "correct horse battery staple, twice over!!",
        "drives": {"paths": [str(d) for d in drives]}}}))
    weak = run_stowage(["serve", "--port", "0", "--address", "127.0.0.1", "--config", str(config)])
    assert weak.returncode == 2 and b"64 hex digits" in weak.stderr, weak.stderr


def test_kill_9_during_writes_loses_no_acknowledged_write(drives_server):
    """A coordinator killed mid-write (staging, accepting or learning, wherever the signal
    lands): after restart every key holds its last acknowledged value or a later attempt whose
    reply the kill cut off, never an older value or bytes nobody sent. Each key has one writer,
    so its attempts are ordered."""
    import signal
    import threading

    s3 = no_retry_client(drives_server)
    bucket = unique_bucket("cl")
    s3.create_bucket(Bucket=bucket)
    attempts: dict[str, list[bytes]] = {}
    acked_index: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker: int):
        client = no_retry_client(drives_server)
        round_ = 0
        while not stop.is_set():
            key = f"w{worker}/k{round_ % 5}"
            body = os.urandom([1000, 200_000, 5_000_000][round_ % 3])
            with lock:
                attempts.setdefault(key, []).append(body)
                index = len(attempts[key]) - 1
            try:
                client.put_object(Bucket=bucket, Key=key, Body=body)
                with lock:
                    acked_index[key] = index
            except Exception:
                pass
            round_ += 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    drives_server.stop(signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(acked_index) >= 4, "the writers should have finished some writes before the kill"
    drives_server.start()
    s3 = no_retry_client(drives_server)
    for key, tried in attempts.items():
        allowed = tried[acked_index[key]:] if key in acked_index else tried
        try:
            got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as error:
            assert error.response["Error"]["Code"] == "NoSuchKey", (key, error.response["Error"])
            assert key not in acked_index, f"{key} was acknowledged but is gone"
            continue
        assert any(got == body for body in allowed), f"{key} holds an older value or bytes no writer sent"


def test_multipart_upload_complete_abort_and_part_reads(drives_server):
    s3 = drives_server.client()
    bucket = unique_bucket("cl")
    s3.create_bucket(Bucket=bucket)
    parts = [os.urandom(5 * 1024 * 1024), os.urandom(5 * 1024 * 1024), os.urandom(123_457)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp/object", ChecksumAlgorithm="SHA256")["UploadId"]
    done = []
    for number, data in enumerate(parts, start=1):
        answer = s3.upload_part(Bucket=bucket, Key="mp/object", UploadId=upload, PartNumber=number, Body=data, ChecksumAlgorithm="SHA256")
        done.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": answer["ChecksumSHA256"]})
    listed = s3.list_parts(Bucket=bucket, Key="mp/object", UploadId=upload, MaxParts=2)
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2] and listed["IsTruncated"]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [upload]
    completed = s3.complete_multipart_upload(Bucket=bucket, Key="mp/object", UploadId=upload, MultipartUpload={"Parts": done})
    assert completed["ETag"].endswith('-3"')
    whole = b"".join(parts)
    assert s3.get_object(Bucket=bucket, Key="mp/object")["Body"].read() == whole
    second = s3.get_object(Bucket=bucket, Key="mp/object", PartNumber=2)
    assert second["Body"].read() == parts[1] and second["PartsCount"] == 3
    crossing = s3.get_object(Bucket=bucket, Key="mp/object", Range=f"bytes={5 * 1024 * 1024 - 5}-{5 * 1024 * 1024 + 4}")
    assert crossing["Body"].read() == whole[5 * 1024 * 1024 - 5:5 * 1024 * 1024 + 5]
    # The retried Complete SDKs send after a lost answer gets the same answer.
    again = s3.complete_multipart_upload(Bucket=bucket, Key="mp/object", UploadId=upload, MultipartUpload={"Parts": done})
    assert again["ETag"] == completed["ETag"]
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    # An aborted upload is gone; the completed object is untouched.
    other = s3.create_multipart_upload(Bucket=bucket, Key="mp/aborted")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="mp/aborted", UploadId=other, PartNumber=1, Body=b"x" * 1000)
    s3.abort_multipart_upload(Bucket=bucket, Key="mp/aborted", UploadId=other)
    with pytest.raises(ClientError) as excinfo:
        s3.list_parts(Bucket=bucket, Key="mp/aborted", UploadId=other)
    assert error_code(excinfo) == "NoSuchUpload"
    # Two drives gone: the multipart object still reads whole.
    for drive in drives_server.drives[:2]:
        remove_drive(drive)
    wait_for_health(drives_server, lambda text: "degraded" in text)
    assert s3.get_object(Bucket=bucket, Key="mp/object")["Body"].read() == whole


def shard_bytes(drives) -> int:
    total = 0
    for drive in drives:
        for f in (drive / ".stowage" / "data").rglob("*"):
            try:
                total += f.stat().st_size if f.is_file() else 0
            except FileNotFoundError:  # the collector unlinked it while we walked
                pass
    return total


def test_overwritten_and_deleted_data_is_collected(tmp_path):
    drives = [tmp_path / f"d{i}" for i in range(6)]
    for drive in drives:
        drive.mkdir()
    server = StowageServer(directory=tmp_path / "unused", extra_args=["--drives", ",".join(map(str, drives))],
                           config={"cluster": {"collection": {"graceSeconds": 0}}})
    server.start()
    try:
        s3 = server.client()
        bucket = unique_bucket("collect")
        s3.create_bucket(Bucket=bucket)
        first, second = os.urandom(3 * 1024 * 1024), os.urandom(1024 * 1024 + 7)
        s3.put_object(Bucket=bucket, Key="k", Body=first)
        one = shard_bytes(drives)
        assert one >= len(first) * 6 // 4
        s3.put_object(Bucket=bucket, Key="k", Body=second)
        s3.put_object(Bucket=bucket, Key="gone", Body=first)
        s3.delete_object(Bucket=bucket, Key="gone")

        # Only the second version's shards stay (a 4+2 code: 1.5x its size, plus framing).
        deadline = time.monotonic() + 30
        while shard_bytes(drives) >= one and time.monotonic() < deadline:
            time.sleep(0.2)
        left = shard_bytes(drives)
        assert len(second) * 6 // 4 <= left < len(first) * 6 // 4, left
        assert metric(server, "stowage_cluster_collected_data_total") == 2
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == second
        with pytest.raises(ClientError) as excinfo:
            s3.get_object(Bucket=bucket, Key="gone")
        assert error_code(excinfo) == "NoSuchKey"
        deadline = time.monotonic() + 10
        while metric(server, "stowage_cluster_replaced_data_pending") > 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert metric(server, "stowage_cluster_replaced_data_pending") == 0
    finally:
        server.stop()
