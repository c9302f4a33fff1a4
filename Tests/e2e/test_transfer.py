"""boto3's managed transfers (s3transfer) forced into multipart uploads and ranged parallel
downloads, with its default (CRC32) and chosen checksum algorithms."""

from __future__ import annotations

import hashlib
import io
import os
import zlib

import pytest
from boto3.s3.transfer import TransferConfig

from conftest import assert_tmp_empty
from s3checksums import checksum_b64, composite_b64, multipart_etag

MIB = 1024 * 1024
FORCE_MULTIPART = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=4)


def file_sha256(path) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            h.update(chunk)
    return h.digest()


def test_upload_file_download_file_multipart(server, s3, bucket, tmp_path):
    data = os.urandom(23 * MIB + 7)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    s3.upload_file(str(src), bucket, "tm/big.bin", Config=FORCE_MULTIPART)
    chunks = [data[i:i + 5 * MIB] for i in range(0, len(data), 5 * MIB)]
    assert len(chunks) == 5
    head = s3.head_object(Bucket=bucket, Key="tm/big.bin", ChecksumMode="ENABLED")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == multipart_etag(chunks)
    # s3transfer creates the upload with CRC32 and no type: COMPOSITE
    assert head["ChecksumCRC32"] == composite_b64("CRC32", [checksum_b64("CRC32", c) for c in chunks])
    assert head["ChecksumType"] == "COMPOSITE"
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    # ranged, parallel download (object > threshold), byte exact
    dst = tmp_path / "dst.bin"
    s3.download_file(bucket, "tm/big.bin", str(dst), Config=FORCE_MULTIPART)
    assert dst.stat().st_size == len(data)
    assert file_sha256(dst) == hashlib.sha256(data).digest()
    assert_tmp_empty(server)
    src.unlink()
    dst.unlink()


@pytest.mark.parametrize("alg", ["SHA256", "SHA1", "CRC32"])
def test_upload_fileobj_with_checksum_algorithm(s3, bucket, alg):
    data = os.urandom(11 * MIB + 1)
    s3.upload_fileobj(io.BytesIO(data), bucket, f"alg-{alg}", ExtraArgs={"ChecksumAlgorithm": alg}, Config=FORCE_MULTIPART)
    chunks = [data[i:i + 5 * MIB] for i in range(0, len(data), 5 * MIB)]
    head = s3.head_object(Bucket=bucket, Key=f"alg-{alg}", ChecksumMode="ENABLED")
    assert head[f"Checksum{alg}"] == composite_b64(alg, [checksum_b64(alg, c) for c in chunks])
    assert head["ChecksumType"] == "COMPOSITE"
    out = io.BytesIO()
    s3.download_fileobj(bucket, f"alg-{alg}", out, Config=FORCE_MULTIPART)
    assert out.getvalue() == data


def test_ranged_download_of_single_part_object_with_full_object_checksum(s3, bucket, tmp_path):
    """A PutObject object carries a full-object CRC32; s3transfer downloads it with ranged GETs
    (checksum mode on), which must not carry that whole-object value."""
    data = os.urandom(17 * MIB + 5)
    s3.put_object(Bucket=bucket, Key="single", Body=data, ChecksumAlgorithm="CRC32")
    assert s3.head_object(Bucket=bucket, Key="single", ChecksumMode="ENABLED")["ChecksumCRC32"] == checksum_b64("CRC32", data)
    dst = tmp_path / "single.bin"
    s3.download_file(bucket, "single", str(dst), Config=FORCE_MULTIPART)
    assert file_sha256(dst) == hashlib.sha256(data).digest()
    dst.unlink()


def test_upload_below_threshold_is_single_put(s3, bucket):
    data = os.urandom(3 * MIB)
    s3.upload_fileobj(io.BytesIO(data), bucket, "small", Config=FORCE_MULTIPART)
    head = s3.head_object(Bucket=bucket, Key="small", ChecksumMode="ENABLED")
    assert head["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
    assert head["ChecksumCRC32"] == checksum_b64("CRC32", data) and head["ChecksumType"] == "FULL_OBJECT"


def test_upload_file_with_full_object_crc32(s3, bucket, tmp_path):
    data = os.urandom(12 * MIB)
    src = tmp_path / "full.bin"
    src.write_bytes(data)
    full = checksum_b64("CRC32", data)
    s3.upload_file(str(src), bucket, "full", ExtraArgs={"ChecksumCRC32": full}, Config=FORCE_MULTIPART)
    head = s3.head_object(Bucket=bucket, Key="full", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == full and head["ChecksumType"] == "FULL_OBJECT"
    assert zlib.crc32(s3.get_object(Bucket=bucket, Key="full")["Body"].read()) == zlib.crc32(data)


def test_copy_managed_multipart(s3, bucket):
    """s3.copy() above the threshold uses UploadPartCopy with ranges."""
    data = os.urandom(12 * MIB + 3)
    s3.put_object(Bucket=bucket, Key="copy-src", Body=data)
    s3.copy({"Bucket": bucket, "Key": "copy-src"}, bucket, "copy-dst", Config=FORCE_MULTIPART)
    head = s3.head_object(Bucket=bucket, Key="copy-dst")
    assert head["ETag"].endswith('-3"')
    assert hashlib.sha256(s3.get_object(Bucket=bucket, Key="copy-dst")["Body"].read()).digest() == \
        hashlib.sha256(data).digest()
