"""The AWS CLI (v1) against Stowage: high-level `aws s3` and low-level `aws s3api`."""

from __future__ import annotations

import hashlib
import json
import os
import re
import zlib
from pathlib import Path

import pytest

from conftest import unique_bucket
from s3checksums import b64, checksum_b64, composite_b64

pytestmark = pytest.mark.cli


def write_tree(root: Path, files: dict[str, bytes]):
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def tree_files(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def all_keys(s3, bucket):
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", [])]
    return keys


# ------------------------------------------------------------------------------ aws s3


def test_s3_mb_ls_rb(aws, s3):
    name = unique_bucket("cli")
    r = aws("s3", "mb", f"s3://{name}")
    assert r.returncode == 0, r.stderr
    assert f"make_bucket: {name}" in r.stdout
    r = aws("s3", "ls")
    assert r.returncode == 0, r.stderr
    assert any(line.split()[-1] == name for line in r.stdout.splitlines())
    # S3's legacy us-east-1 answer: making a bucket you already own succeeds
    r = aws("s3", "mb", f"s3://{name}")
    assert r.returncode == 0, r.stderr
    r = aws("s3", "rb", f"s3://{name}")
    assert r.returncode == 0, r.stderr
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_s3_cp_roundtrip_and_ls(aws, s3, bucket, tmp_path):
    src = tmp_path / "file.bin"
    data = os.urandom(3 * 1024 * 1024 + 17)   # below the CLI's 8 MiB multipart threshold
    src.write_bytes(data)
    r = aws("s3", "cp", str(src), f"s3://{bucket}/dir/file.bin", "--content-type", "application/x-test",
            "--metadata", "origin=cli")
    assert r.returncode == 0, r.stderr
    head = s3.head_object(Bucket=bucket, Key="dir/file.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert head["ContentType"] == "application/x-test"
    assert head["Metadata"] == {"origin": "cli"}
    dst = tmp_path / "back.bin"
    r = aws("s3", "cp", f"s3://{bucket}/dir/file.bin", str(dst))
    assert r.returncode == 0, r.stderr
    assert dst.read_bytes() == data
    r = aws("s3", "ls", f"s3://{bucket}/")
    assert r.returncode == 0, r.stderr
    assert "PRE dir/" in r.stdout
    r = aws("s3", "ls", f"s3://{bucket}/dir/")
    assert r.returncode == 0
    line = [l for l in r.stdout.splitlines() if l.endswith("file.bin")][0]
    assert str(len(data)) in line.split()
    # copy inside S3 (server-side CopyObject)
    r = aws("s3", "cp", f"s3://{bucket}/dir/file.bin", f"s3://{bucket}/copy/file.bin")
    assert r.returncode == 0, r.stderr
    assert s3.get_object(Bucket=bucket, Key="copy/file.bin")["Body"].read() == data


def test_s3_cp_stdin_stdout(aws, s3, bucket, tmp_path):
    import subprocess
    env = aws.env()
    p = subprocess.run(["aws", "--endpoint-url", aws.endpoint, "s3", "cp", "-", f"s3://{bucket}/stdin.txt"],
                       input=b"from stdin\n", env=env, capture_output=True, timeout=90)
    assert p.returncode == 0, p.stderr
    assert s3.get_object(Bucket=bucket, Key="stdin.txt")["Body"].read() == b"from stdin\n"
    p = subprocess.run(["aws", "--endpoint-url", aws.endpoint, "s3", "cp", f"s3://{bucket}/stdin.txt", "-"],
                       env=env, capture_output=True, timeout=90, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"from stdin\n"


def test_s3_sync_up_down_and_rm_recursive(aws, s3, bucket, tmp_path):
    local = tmp_path / "up"
    files = {
        "a.txt": b"alpha",
        "sub/b.txt": b"bravo" * 1000,
        "sub/deeper/c.bin": os.urandom(200_000),
        "with space/d e.txt": b"space",
        "unicod\u00e9/\u65e5\u672c.txt": "nihon".encode(),
        "plus+percent%.txt": b"odd",
    }
    write_tree(local, files)
    r = aws("s3", "sync", str(local), f"s3://{bucket}/tree")
    assert r.returncode == 0, r.stderr
    assert sorted(all_keys(s3, bucket)) == sorted(f"tree/{k}" for k in files)

    # second sync uploads nothing
    r = aws("s3", "sync", str(local), f"s3://{bucket}/tree")
    assert r.returncode == 0, r.stderr
    assert "upload:" not in r.stdout

    # change one file, add one, delete one with --delete
    (local / "a.txt").write_bytes(b"alpha v2 longer")
    (local / "new.txt").write_bytes(b"new")
    (local / "plus+percent%.txt").unlink()
    r = aws("s3", "sync", str(local), f"s3://{bucket}/tree", "--delete")
    assert r.returncode == 0, r.stderr
    assert "upload: " in r.stdout and "delete: " in r.stdout
    assert s3.get_object(Bucket=bucket, Key="tree/a.txt")["Body"].read() == b"alpha v2 longer"
    assert "tree/plus+percent%.txt" not in all_keys(s3, bucket)

    down = tmp_path / "down"
    r = aws("s3", "sync", f"s3://{bucket}/tree", str(down))
    assert r.returncode == 0, r.stderr
    assert tree_files(down) == tree_files(local)

    r = aws("s3", "ls", f"s3://{bucket}/tree/", "--recursive")
    assert r.returncode == 0
    assert len(r.stdout.strip().splitlines()) == len(tree_files(local))

    s3.put_object(Bucket=bucket, Key="outside", Body=b"stays")
    r = aws("s3", "rm", f"s3://{bucket}/tree/", "--recursive")
    assert r.returncode == 0, r.stderr
    assert all_keys(s3, bucket) == ["outside"]
    r = aws("s3", "rm", f"s3://{bucket}/outside")
    assert r.returncode == 0, r.stderr
    assert all_keys(s3, bucket) == []


def test_s3_sync_with_empty_file(aws, s3, bucket, tmp_path):
    # one transfer at a time so the empty file's connection is reused by the next upload
    aws("configure", "set", "default.s3.max_concurrent_requests", "1", check=True)
    local = tmp_path / "empties"
    files = {}
    for i in range(6):
        files[f"{i}-a-empty.txt"] = b""
        files[f"{i}-b-full.txt"] = b"full %d" % i
    write_tree(local, files)
    r = aws("--cli-read-timeout", "2", "s3", "sync", str(local), f"s3://{bucket}/")
    assert r.returncode == 0, r.stderr
    got = {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in all_keys(s3, bucket)}
    assert got == files


def test_s3_cp_empty_file(aws, s3, bucket, tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    r = aws("s3", "cp", str(tmp_path / "empty"), f"s3://{bucket}/empty")
    assert r.returncode == 0, r.stderr
    head = s3.head_object(Bucket=bucket, Key="empty")
    assert head["ContentLength"] == 0
    assert head["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


def test_s3_cp_recursive_many_files(aws, s3, bucket, tmp_path):
    local = tmp_path / "many"
    files = {f"d{i % 5}/f{i:03d}.txt": f"file {i}".encode() for i in range(60)}
    write_tree(local, files)
    r = aws("s3", "cp", str(local), f"s3://{bucket}/many", "--recursive")
    assert r.returncode == 0, r.stderr
    assert len(all_keys(s3, bucket)) == 60
    down = tmp_path / "many-down"
    r = aws("s3", "cp", f"s3://{bucket}/many", str(down), "--recursive")
    assert r.returncode == 0, r.stderr
    assert tree_files(down) == files


def test_s3_ls_missing_bucket(aws):
    r = aws("s3", "ls", f"s3://{unique_bucket()}/")
    assert r.returncode != 0
    assert "NoSuchBucket" in r.stderr


def test_s3_cp_missing_key(aws, bucket, tmp_path):
    r = aws("s3", "cp", f"s3://{bucket}/nope", str(tmp_path / "x"))
    assert r.returncode != 0
    assert "404" in r.stderr or "Not Found" in r.stderr


# ------------------------------------------------------------------------------ aws s3api


def test_s3api_lifecycle(aws, s3, tmp_path):
    name = unique_bucket("api")
    r = aws("s3api", "create-bucket", "--bucket", name)
    assert r.returncode == 0, r.stderr
    assert r.json()["Location"] == f"/{name}"
    body = tmp_path / "body.txt"
    body.write_bytes(b"0123456789abcdefghij")
    r = aws("s3api", "put-object", "--bucket", name, "--key", "docs/readme.txt", "--body", str(body),
            "--content-type", "text/plain", "--metadata", "a=1,b=2", "--cache-control", "no-cache")
    assert r.returncode == 0, r.stderr
    assert r.json()["ETag"] == f'"{hashlib.md5(body.read_bytes()).hexdigest()}"'

    r = aws("s3api", "head-object", "--bucket", name, "--key", "docs/readme.txt")
    assert r.returncode == 0, r.stderr
    head = r.json()
    assert head["ContentLength"] == 20
    assert head["ContentType"] == "text/plain"
    assert head["Metadata"] == {"a": "1", "b": "2"}
    assert head["CacheControl"] == "no-cache"

    out = tmp_path / "range.out"
    r = aws("s3api", "get-object", "--bucket", name, "--key", "docs/readme.txt", "--range", "bytes=5-9", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == b"56789"
    assert r.json()["ContentRange"] == "bytes 5-9/20"

    r = aws("s3api", "copy-object", "--bucket", name, "--key", "docs/copy.txt",
            "--copy-source", f"{name}/docs/readme.txt")
    assert r.returncode == 0, r.stderr
    assert r.json()["CopyObjectResult"]["ETag"] == head["ETag"]

    r = aws("s3api", "copy-object", "--bucket", name, "--key", "docs/copy.txt",
            "--copy-source", f"{name}/docs/copy.txt")
    assert r.returncode != 0 and "InvalidRequest" in r.stderr

    r = aws("s3api", "list-objects-v2", "--bucket", name)
    assert r.returncode == 0, r.stderr
    listing = r.json()
    assert [o["Key"] for o in listing["Contents"]] == ["docs/copy.txt", "docs/readme.txt"]

    r = aws("s3api", "list-objects-v2", "--bucket", name, "--delimiter", "/")
    assert r.json()["CommonPrefixes"] == [{"Prefix": "docs/"}]

    r = aws("s3api", "delete-objects", "--bucket", name, "--delete",
            json.dumps({"Objects": [{"Key": "docs/copy.txt"}, {"Key": "docs/readme.txt"}, {"Key": "nope"}]}))
    assert r.returncode == 0, r.stderr
    assert sorted(d["Key"] for d in r.json()["Deleted"]) == ["docs/copy.txt", "docs/readme.txt", "nope"]

    r = aws("s3api", "list-objects-v2", "--bucket", name)
    assert r.returncode == 0
    assert "Contents" not in (r.json() or {})

    r = aws("s3api", "delete-bucket", "--bucket", name)
    assert r.returncode == 0, r.stderr
    r = aws("s3api", "head-bucket", "--bucket", name)
    assert r.returncode != 0 and "404" in r.stderr


def test_s3api_list_objects_v2_pagination(aws, s3, bucket):
    for i in range(25):
        s3.put_object(Bucket=bucket, Key=f"k/{i:02d}", Body=b"x")
    # the CLI follows continuation tokens itself with --page-size
    r = aws("s3api", "list-objects-v2", "--bucket", bucket, "--page-size", "4")
    assert r.returncode == 0, r.stderr
    assert [o["Key"] for o in r.json()["Contents"]] == [f"k/{i:02d}" for i in range(25)]
    r = aws("s3api", "list-objects-v2", "--bucket", bucket, "--max-items", "10", "--page-size", "3")
    data = r.json()
    assert len(data["Contents"]) == 10
    assert data.get("NextToken")
    r = aws("s3api", "list-objects", "--bucket", bucket, "--page-size", "6")
    assert [o["Key"] for o in r.json()["Contents"]] == [f"k/{i:02d}" for i in range(25)]


def test_s3api_errors(aws, bucket):
    r = aws("s3api", "create-bucket", "--bucket", "Bad_Name")
    assert r.returncode != 0
    assert "InvalidBucketName" in r.stderr
    r = aws("s3api", "get-object", "--bucket", bucket, "--key", "missing", "/dev/null")
    assert r.returncode != 0
    assert "NoSuchKey" in r.stderr
    r = aws("s3api", "get-object", "--bucket", bucket, "--key", "missing", "--range", "bytes=0-1", "/dev/null")
    assert "NoSuchKey" in r.stderr
    r = aws("s3api", "list-parts", "--bucket", bucket, "--key", "mp", "--upload-id", "nosuchupload")
    assert r.returncode != 0
    assert "NoSuchUpload" in r.stderr
    r = aws("s3api", "get-bucket-policy", "--bucket", bucket)
    assert r.returncode != 0
    assert "NoSuchBucketPolicy" in r.stderr
    r = aws("s3api", "get-object-tagging", "--bucket", bucket, "--key", "missing")
    assert r.returncode != 0
    assert "NotImplemented" in r.stderr


# ------------------------------------------------------------------------------ multipart


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_s3_cp_200mib_multipart_with_default_checksums(aws, s3, bucket, tmp_path):
    """`aws s3 cp` of 200 MiB: 25 parts of 8 MiB (the CLI's default chunk size), each with a
    CRC32; the object gets the md5-of-md5s ETag and a COMPOSITE CRC32 "-25"; copied back byte
    for byte."""
    part = 8 * 1024 * 1024
    src = tmp_path / "200mib.bin"
    dst = tmp_path / "back.bin"
    try:
        md5s, crcs, whole = [], [], hashlib.sha256()
        with open(src, "wb") as f:
            for _ in range(25):
                chunk = os.urandom(part)
                f.write(chunk)
                md5s.append(hashlib.md5(chunk).digest())
                crcs.append(b64(zlib.crc32(chunk).to_bytes(4, "big")))
                whole.update(chunk)
        assert src.stat().st_size == 200 * 1024 * 1024
        r = aws("--debug", "s3", "cp", "--no-progress", str(src), f"s3://{bucket}/big/200mib.bin", timeout=120)
        assert r.returncode == 0, r.stderr[-3000:]
        # the wire, from botocore's debug log: CreateMultipartUpload with CRC32, 25 UploadParts each
        # carrying its CRC32, a Complete document listing 25 part checksums
        sent = [line for line in r.stderr.splitlines() if "Sending http request" in line]
        creates = [line for line in sent if "?uploads" in line]
        assert len(creates) == 1 and "'x-amz-checksum-algorithm': b'CRC32'" in creates[0]
        part_puts = [line for line in sent if "method=PUT" in line and "partNumber=" in line]
        assert len(part_puts) == 25
        assert all("'x-amz-checksum-crc32': b'" in line for line in part_puts)
        assert sorted(int(re.search(r"partNumber=(\d+)", line).group(1)) for line in part_puts) == list(range(1, 26))
        completes = [line for line in r.stderr.splitlines()
                     if "OperationModel(name=CompleteMultipartUpload) with params" in line]
        assert len(completes) == 1 and completes[0].count("<ChecksumCRC32>") == 25

        r = aws("s3api", "head-object", "--bucket", bucket, "--key", "big/200mib.bin", "--checksum-mode", "ENABLED")
        assert r.returncode == 0, r.stderr
        head = r.json()
        assert head["ContentLength"] == 200 * 1024 * 1024
        assert head["ETag"] == '"%s-25"' % hashlib.md5(b"".join(md5s)).hexdigest()
        assert head["ChecksumCRC32"] == composite_b64("CRC32", crcs)
        assert head["ChecksumCRC32"].endswith("-25") and head["ChecksumType"] == "COMPOSITE"
        r = aws("s3api", "head-object", "--bucket", bucket, "--key", "big/200mib.bin", "--part-number", "25",
                "--checksum-mode", "ENABLED")
        assert r.returncode == 0, r.stderr
        head = r.json()
        assert head["PartsCount"] == 25 and head["ContentLength"] == part
        assert head["ContentRange"] == f"bytes {24 * part}-{25 * part - 1}/{25 * part}"
        assert head["ChecksumCRC32"] == crcs[24]

        r = aws("s3", "cp", "--no-progress", f"s3://{bucket}/big/200mib.bin", str(dst), timeout=120)
        assert r.returncode == 0, r.stderr
        assert dst.stat().st_size == src.stat().st_size
        h = hashlib.sha256()
        with open(dst, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        assert h.digest() == whole.digest()
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
        s3.delete_object(Bucket=bucket, Key="big/200mib.bin")
    finally:
        for p in (src, dst):
            p.unlink(missing_ok=True)


def test_s3api_multipart_commands(aws, s3, bucket, tmp_path):
    parts = [os.urandom(5 * 1024 * 1024), b"the last part"]
    r = aws("s3api", "create-multipart-upload", "--bucket", bucket, "--key", "api/mp.bin",
            "--checksum-algorithm", "SHA256", "--content-type", "application/x-cli")
    assert r.returncode == 0, r.stderr
    created = r.json()
    uid = created["UploadId"]
    assert created["ChecksumAlgorithm"] == "SHA256" and created["ChecksumType"] == "COMPOSITE"
    done_parts = []
    for n, data in enumerate(parts, 1):
        f = tmp_path / f"part{n}"
        f.write_bytes(data)
        r = aws("s3api", "upload-part", "--bucket", bucket, "--key", "api/mp.bin", "--upload-id", uid,
                "--part-number", str(n), "--body", str(f), "--checksum-algorithm", "SHA256")
        assert r.returncode == 0, r.stderr
        out = r.json()
        assert out["ChecksumSHA256"] == checksum_b64("SHA256", data)
        done_parts.append({"PartNumber": n, "ETag": out["ETag"], "ChecksumSHA256": out["ChecksumSHA256"]})
    r = aws("s3api", "list-parts", "--bucket", bucket, "--key", "api/mp.bin", "--upload-id", uid)
    assert r.returncode == 0, r.stderr
    assert [(p["PartNumber"], p["Size"]) for p in r.json()["Parts"]] == [(1, len(parts[0])), (2, len(parts[1]))]
    r = aws("s3api", "list-multipart-uploads", "--bucket", bucket)
    assert r.returncode == 0, r.stderr
    assert [u["UploadId"] for u in r.json()["Uploads"]] == [uid]
    spec = tmp_path / "parts.json"
    spec.write_text(json.dumps({"Parts": done_parts}))
    r = aws("s3api", "complete-multipart-upload", "--bucket", bucket, "--key", "api/mp.bin", "--upload-id", uid,
            "--multipart-upload", f"file://{spec}")
    assert r.returncode == 0, r.stderr
    done = r.json()
    assert done["ChecksumSHA256"] == composite_b64("SHA256", [p["ChecksumSHA256"] for p in done_parts])
    assert done["ETag"] == '"%s-2"' % hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    out = tmp_path / "out.bin"
    r = aws("s3api", "get-object", "--bucket", bucket, "--key", "api/mp.bin", "--part-number", "2", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == parts[1] and r.json()["PartsCount"] == 2
    assert s3.head_object(Bucket=bucket, Key="api/mp.bin")["ContentType"] == "application/x-cli"

    # abort
    r = aws("s3api", "create-multipart-upload", "--bucket", bucket, "--key", "api/aborted")
    uid2 = r.json()["UploadId"]
    r = aws("s3api", "abort-multipart-upload", "--bucket", bucket, "--key", "api/aborted", "--upload-id", uid2)
    assert r.returncode == 0, r.stderr
    r = aws("s3api", "list-multipart-uploads", "--bucket", bucket)
    assert r.returncode == 0 and "Uploads" not in (r.json() or {})
    r = aws("s3api", "complete-multipart-upload", "--bucket", bucket, "--key", "api/aborted", "--upload-id", uid2,
            "--multipart-upload", f"file://{spec}")
    assert r.returncode != 0 and "NoSuchUpload" in r.stderr


def test_s3_cp_multipart_with_small_chunks_and_sync(aws, s3, bucket, tmp_path):
    """A lowered multipart threshold/chunk size makes the CLI split a 12 MiB file into 5 MiB
    parts; a second `aws s3 sync` sees the multipart object as up to date."""
    aws("configure", "set", "default.s3.multipart_threshold", "5MB", check=True)
    aws("configure", "set", "default.s3.multipart_chunksize", "5MB", check=True)
    local = tmp_path / "sync"
    local.mkdir()
    data = os.urandom(12 * 1024 * 1024 + 1)
    (local / "f.bin").write_bytes(data)
    r = aws("s3", "sync", "--no-progress", str(local), f"s3://{bucket}/sync")
    assert r.returncode == 0, r.stderr
    head = s3.head_object(Bucket=bucket, Key="sync/f.bin", ChecksumMode="ENABLED")
    assert head["ETag"].endswith('-3"') and head["ChecksumCRC32"].endswith("-3")
    r = aws("s3", "sync", "--no-progress", str(local), f"s3://{bucket}/sync")
    assert r.returncode == 0 and "upload:" not in r.stdout
    down = tmp_path / "down"
    r = aws("s3", "sync", "--no-progress", f"s3://{bucket}/sync", str(down))
    assert r.returncode == 0, r.stderr
    assert (down / "f.bin").read_bytes() == data
