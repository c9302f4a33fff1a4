"""curl against Stowage for raw-header edge cases: Expect: 100-continue uploads, ranges,
checksum headers, Content-MD5, HTTP chunked uploads (aws-chunked and plain), a multipart
upload by hand."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest

from conftest import find_text
from s3checksums import b64, checksum_b64, composite_b64

pytestmark = [pytest.mark.raw,
              pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")]


@dataclass
class CurlResult:
    status: int
    blocks: list[tuple[int, dict]]   # every response head, 1xx included
    headers: dict                     # the final head, lower-case names
    body: bytes
    stderr: str


def curl(server, path: str, *args: str, tmp_path, stdin: bytes | None = None, timeout: float = 60) -> CurlResult:
    heads = tmp_path / f"h-{os.urandom(4).hex()}"
    out = tmp_path / f"b-{os.urandom(4).hex()}"
    cmd = ["curl", "-sS", "-g", "--max-time", str(int(timeout - 5)), "-D", str(heads), "-o", str(out),
           *args, f"http://127.0.0.1:{server.port}{path}"]
    p = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout,
                       stdin=None if stdin is not None else subprocess.DEVNULL)
    assert p.returncode == 0, (cmd, p.stderr)
    blocks = []
    for block in heads.read_bytes().decode("latin-1").split("\r\n\r\n"):
        lines = [l for l in block.split("\r\n") if l]
        if not lines:
            continue
        status = int(lines[0].split(" ")[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        blocks.append((status, hdrs))
    body = out.read_bytes() if out.exists() else b""
    return CurlResult(blocks[-1][0], blocks, blocks[-1][1], body, p.stderr.decode(errors="replace"))


def code_of(body: bytes) -> str | None:
    return find_text(ET.fromstring(body), "Code")


def test_curl_upload_with_expect_100_continue(server, s3, bucket, tmp_path):
    data = os.urandom(2 * 1024 * 1024 + 11)
    f = tmp_path / "up.bin"
    f.write_bytes(data)
    r = curl(server, f"/{bucket}/curl/up.bin", "-T", str(f), "-H", "Expect: 100-continue", tmp_path=tmp_path)
    assert [s for s, _ in r.blocks] == [100, 200]
    assert r.headers["etag"] == '"%s"' % hashlib.md5(data).hexdigest()
    r = curl(server, f"/{bucket}/curl/up.bin", tmp_path=tmp_path)
    assert r.status == 200 and r.body == data


def test_curl_expect_100_continue_refused_upload(server, tmp_path):
    f = tmp_path / "up.bin"
    f.write_bytes(os.urandom(1024 * 1024))
    r = curl(server, "/no-such-bucket-for-curl/k", "-T", str(f), "-H", "Expect: 100-continue", tmp_path=tmp_path)
    assert r.status == 404 and code_of(r.body) == "NoSuchBucket"


def test_curl_ranges(server, s3, bucket, tmp_path):
    data = bytes(range(256)) * 8
    s3.put_object(Bucket=bucket, Key="r", Body=data)
    r = curl(server, f"/{bucket}/r", "-r", "100-199", tmp_path=tmp_path)
    assert r.status == 206 and r.body == data[100:200]
    assert r.headers["content-range"] == "bytes 100-199/2048"
    r = curl(server, f"/{bucket}/r", "-H", "Range: bytes=-10", tmp_path=tmp_path)
    assert r.status == 206 and r.body == data[-10:]
    r = curl(server, f"/{bucket}/r", "-r", "5000-", tmp_path=tmp_path)
    assert r.status == 416 and r.headers["content-range"] == "bytes */2048"


def test_curl_checksum_headers(server, bucket, tmp_path):
    data = os.urandom(100_000)
    f = tmp_path / "c.bin"
    f.write_bytes(data)
    sha = checksum_b64("SHA256", data)
    r = curl(server, f"/{bucket}/ck", "-X", "PUT", "--data-binary", f"@{f}", "-H", f"x-amz-checksum-sha256: {sha}",
             tmp_path=tmp_path)
    assert r.status == 200
    assert r.headers["x-amz-checksum-sha256"] == sha and r.headers["x-amz-checksum-type"] == "FULL_OBJECT"
    r = curl(server, f"/{bucket}/ck", "-I", tmp_path=tmp_path)
    assert "x-amz-checksum-sha256" not in r.headers
    r = curl(server, f"/{bucket}/ck", "-I", "-H", "x-amz-checksum-mode: ENABLED", tmp_path=tmp_path)
    assert r.headers["x-amz-checksum-sha256"] == sha
    r = curl(server, f"/{bucket}/ck2", "-X", "PUT", "--data-binary", f"@{f}",
             "-H", f"x-amz-checksum-crc32c: {checksum_b64('CRC32C', b'not it')}", tmp_path=tmp_path)
    assert r.status == 400 and code_of(r.body) == "BadDigest"
    assert curl(server, f"/{bucket}/ck2", "-I", tmp_path=tmp_path).status == 404


def test_curl_wrong_content_md5(server, bucket, tmp_path):
    r = curl(server, f"/{bucket}/md5", "-X", "PUT", "--data-binary", "hello curl",
             "-H", f"Content-MD5: {b64(hashlib.md5(b'something else').digest())}", tmp_path=tmp_path)
    assert r.status == 400 and code_of(r.body) == "BadDigest"
    assert curl(server, f"/{bucket}/md5", "-I", tmp_path=tmp_path).status == 404
    r = curl(server, f"/{bucket}/md5", "-X", "PUT", "--data-binary", "hello curl",
             "-H", f"Content-MD5: {b64(hashlib.md5(b'hello curl').digest())}", tmp_path=tmp_path)
    assert r.status == 200


def test_curl_aws_chunked_over_http_chunked(server, s3, bucket, tmp_path):
    """`curl -T -` sends stdin with Transfer-Encoding: chunked; the aws-chunked stream rides inside."""
    payload = os.urandom(40_000)
    framed = b"".join(b"%x\r\n" % len(payload[i:i + 16384]) + payload[i:i + 16384] + b"\r\n"
                      for i in range(0, len(payload), 16384))
    framed += f"0\r\nx-amz-checksum-crc32:{checksum_b64('CRC32', payload)}\r\n\r\n".encode()
    r = curl(server, f"/{bucket}/chunked", "-T", "-", "-H", "Content-Encoding: aws-chunked",
             "-H", "x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER",
             "-H", f"x-amz-decoded-content-length: {len(payload)}", "-H", "x-amz-trailer: x-amz-checksum-crc32",
             tmp_path=tmp_path, stdin=framed)
    assert r.status == 200, r.body
    assert r.headers["x-amz-checksum-crc32"] == checksum_b64("CRC32", payload)
    assert s3.get_object(Bucket=bucket, Key="chunked")["Body"].read() == payload


def test_curl_plain_http_chunked_upload_is_stored(server, s3, bucket, tmp_path):
    r = curl(server, f"/{bucket}/plain-chunked", "-T", "-", tmp_path=tmp_path, stdin=b"no length given")
    assert r.status == 200, r.body
    assert s3.get_object(Bucket=bucket, Key="plain-chunked")["Body"].read() == b"no length given"


def test_curl_multipart_upload_by_hand(server, s3, bucket, tmp_path):
    r = curl(server, f"/{bucket}/hand.bin?uploads", "-X", "POST", "-H", "x-amz-checksum-algorithm: CRC32", tmp_path=tmp_path)
    assert r.status == 200 and r.headers["x-amz-checksum-algorithm"] == "CRC32"
    uid = find_text(ET.fromstring(r.body), "UploadId")
    bodies = [os.urandom(5 * 1024 * 1024), b"tail from curl"]
    parts = []
    for n, data in enumerate(bodies, 1):
        f = tmp_path / f"p{n}"
        f.write_bytes(data)
        crc = checksum_b64("CRC32", data)
        r = curl(server, f"/{bucket}/hand.bin?partNumber={n}&uploadId={uid}", "-T", str(f),
                 "-H", f"x-amz-checksum-crc32: {crc}", tmp_path=tmp_path)
        assert r.status == 200 and r.headers["x-amz-checksum-crc32"] == crc
        parts.append((n, r.headers["etag"], crc))
    xml = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag><ChecksumCRC32>{c}</ChecksumCRC32></Part>"
        for n, e, c in parts) + "</CompleteMultipartUpload>"
    r = curl(server, f"/{bucket}/hand.bin?uploadId={uid}", "-X", "POST", "--data-binary", xml, tmp_path=tmp_path)
    assert r.status == 200, r.body
    assert find_text(ET.fromstring(r.body), "ChecksumCRC32") == composite_b64("CRC32", [c for _, _, c in parts])
    r = curl(server, f"/{bucket}/hand.bin?partNumber=2", "-H", "x-amz-checksum-mode: ENABLED", tmp_path=tmp_path)
    assert r.status == 206 and r.body == bodies[1]
    assert r.headers["x-amz-mp-parts-count"] == "2"
    assert re.fullmatch(r"bytes 5242880-5242893/5242894", r.headers["content-range"])
    assert r.headers["x-amz-checksum-crc32"] == parts[1][2]
