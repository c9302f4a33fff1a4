"""aws-chunked request bodies (Content-Encoding: aws-chunked), driven with raw sockets because
botocore only sends them over HTTPS: STREAMING-UNSIGNED-PAYLOAD-TRAILER,
STREAMING-AWS4-HMAC-SHA256-PAYLOAD and STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER (chunk
signatures are not verified while auth is off), with Content-Length or inside HTTP
Transfer-Encoding: chunked. The framing must never be stored."""

from __future__ import annotations

import hashlib
import os
import random
import socket

import pytest

import mpu
from conftest import assert_tmp_empty, find_text, read_http_response
from s3checksums import FIVE_MIB, checksum_b64, composite_b64, header_name

pytestmark = pytest.mark.raw

UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"

# botocore 1.43 put_object(Body=b"Hello world") over https (research note section 5.1)
HELLO_AWS_CHUNKED = b"b\r\nHello world\r\n0\r\nx-amz-checksum-crc32:i9aeUg==\r\n\r\n"
HELLO_ON_THE_WIRE = b"34\r\n" + HELLO_AWS_CHUNKED + b"\r\n0\r\n\r\n"

# AWS SigV4 streaming documentation example: 66560 x "a" in chunks of 65536 + 1024 + 0
AWS_EXAMPLE_PAYLOAD = b"a" * 66560
AWS_EXAMPLE_SIGNED = (
    b"10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n"
    + b"a" * 65536 + b"\r\n"
    + b"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n"
    + b"a" * 1024 + b"\r\n"
    + b"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n")
AWS_EXAMPLE_SIGNED_HEADERS = {
    "x-amz-date": "20130524T000000Z",
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
    "Authorization": ("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                      "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
                      "x-amz-decoded-content-length;x-amz-storage-class,"
                      "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"),
    "x-amz-content-sha256": SIGNED,
    "Content-Encoding": "aws-chunked",
    "x-amz-decoded-content-length": "66560",
}
AWS_EXAMPLE_SIGNED_TRAILER = (
    b"10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n"
    + b"a" * 65536 + b"\r\n"
    + b"400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n"
    + b"a" * 1024 + b"\r\n"
    + b"0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n"
    + b"x-amz-checksum-crc32c:sOO8/Q==\r\n"
    + b"x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n")
AWS_EXAMPLE_SIGNED_TRAILER_HEADERS = {
    "x-amz-date": "20130524T000000Z",
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
    "x-amz-content-sha256": SIGNED_TRAILER,
    "Content-Encoding": "aws-chunked",
    "x-amz-decoded-content-length": "66560",
    "x-amz-trailer": "x-amz-checksum-crc32c",
}


def aws_chunked(payload: bytes, chunk: int = 65536, trailers: dict | None = None, signed: bool = False) -> bytes:
    """aws-chunked framing (SDK form); fake chunk signatures when `signed` (they are not checked)."""
    out = bytearray()
    ext = b";chunk-signature=" + b"0" * 64 if signed else b""
    for i in range(0, len(payload), chunk):
        piece = payload[i:i + chunk]
        out += b"%x" % len(piece) + ext + b"\r\n" + piece + b"\r\n"
    out += b"0" + ext + b"\r\n"
    for name, value in (trailers or {}).items():
        out += f"{name}:{value}\r\n".encode()
    out += b"\r\n"
    return bytes(out)


def http_chunked(data: bytes, size: int) -> bytes:
    out = bytearray()
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


def send(server, method: str, path: str, headers: dict, body: bytes, *, te_chunked: int | None = None,
         write_sizes: list[int] | None = None):
    """Sends one request over a raw socket; with `te_chunked` the body is wrapped in HTTP chunked
    transfer coding of that chunk size (no Content-Length). `write_sizes` splits the writes."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    if te_chunked:
        lines.append("Transfer-Encoding: chunked")
        wire = http_chunked(body, te_chunked)
    else:
        lines.append(f"Content-Length: {len(body)}")
        wire = body
    lines += [f"{k}: {v}" for k, v in headers.items()]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode() + wire
    s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        if write_sizes:
            pos, i = 0, 0
            while pos < len(data):
                n = write_sizes[i % len(write_sizes)]
                s.sendall(data[pos:pos + n])
                pos += n
                i += 1
        else:
            s.sendall(data)
        status, hdrs, resp_body, _ = read_http_response(s)
        return status, hdrs, resp_body
    finally:
        s.close()


def unsigned_headers(decoded_length: int, trailer: str | None = "x-amz-checksum-crc32", **extra) -> dict:
    h = {"Content-Encoding": "aws-chunked", "x-amz-content-sha256": UNSIGNED_TRAILER,
         "x-amz-decoded-content-length": str(decoded_length)}
    if trailer:
        h["x-amz-trailer"] = trailer
    h.update(extra)
    return h


def error_code(body: bytes) -> str | None:
    import xml.etree.ElementTree as ET
    return find_text(ET.fromstring(body), "Code")


def error_field(body: bytes, name: str) -> str | None:
    import xml.etree.ElementTree as ET
    return find_text(ET.fromstring(body), name)


# ------------------------------------------------------------------------------ accepted bodies


def test_unsigned_trailer_botocore_body_with_content_length(server, s3, bucket):
    st, h, b = send(server, "PUT", f"/{bucket}/hello", unsigned_headers(11), HELLO_AWS_CHUNKED)
    assert st == 200, b
    assert h["etag"] == '"%s"' % hashlib.md5(b"Hello world").hexdigest()
    assert h["x-amz-checksum-crc32"] == "i9aeUg==" and h["x-amz-checksum-type"] == "FULL_OBJECT"
    got = s3.get_object(Bucket=bucket, Key="hello")
    assert got["Body"].read() == b"Hello world"
    assert got["ContentLength"] == 11
    assert got["ChecksumCRC32"] == "i9aeUg=="
    assert "ContentEncoding" not in got
    assert s3.list_objects_v2(Bucket=bucket)["Contents"][0]["Size"] == 11


@pytest.mark.parametrize("outer", [1, 7, 52, 4096])
def test_unsigned_trailer_inside_http_chunked(server, s3, bucket, outer):
    """Exactly what botocore puts on the wire over HTTPS: aws-chunked inside HTTP chunked,
    no Content-Length."""
    if outer == 52:
        # byte-exact capture of botocore's request body
        assert http_chunked(HELLO_AWS_CHUNKED, 52) == HELLO_ON_THE_WIRE
    st, h, b = send(server, "PUT", f"/{bucket}/te", unsigned_headers(11, **{"x-amz-sdk-checksum-algorithm": "CRC32"}),
                    HELLO_AWS_CHUNKED, te_chunked=outer)
    assert st == 200, b
    assert h["x-amz-checksum-crc32"] == "i9aeUg=="
    assert s3.get_object(Bucket=bucket, Key="te")["Body"].read() == b"Hello world"


@pytest.mark.parametrize("te_chunked", [None, 8192], ids=["content-length", "http-chunked"])
def test_aws_documentation_signed_chunks_example(server, s3, bucket, te_chunked):
    assert len(AWS_EXAMPLE_SIGNED) == 66824
    st, h, b = send(server, "PUT", f"/{bucket}/chunkObject.txt", AWS_EXAMPLE_SIGNED_HEADERS, AWS_EXAMPLE_SIGNED,
                    te_chunked=te_chunked)
    assert st == 200, b
    assert h["etag"] == '"%s"' % hashlib.md5(AWS_EXAMPLE_PAYLOAD).hexdigest()
    assert not any(k.startswith("x-amz-checksum-") for k in h)
    got = s3.get_object(Bucket=bucket, Key="chunkObject.txt")
    assert got["ContentLength"] == 66560
    assert got["Body"].read() == AWS_EXAMPLE_PAYLOAD
    assert "ContentEncoding" not in got


@pytest.mark.parametrize("te_chunked", [None, 1000], ids=["content-length", "http-chunked"])
def test_aws_documentation_signed_trailer_example(server, s3, bucket, te_chunked):
    assert len(AWS_EXAMPLE_SIGNED_TRAILER) == 66946
    st, h, b = send(server, "PUT", f"/{bucket}/trailer.txt", AWS_EXAMPLE_SIGNED_TRAILER_HEADERS,
                    AWS_EXAMPLE_SIGNED_TRAILER, te_chunked=te_chunked)
    assert st == 200, b
    assert h["x-amz-checksum-crc32c"] == "sOO8/Q==" and h["x-amz-checksum-type"] == "FULL_OBJECT"
    r = server.http("GET", f"/{bucket}/trailer.txt", headers={"x-amz-checksum-mode": "ENABLED"})
    assert r.body == AWS_EXAMPLE_PAYLOAD
    assert r.header("x-amz-checksum-crc32c") == "sOO8/Q=="


@pytest.mark.parametrize("alg", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_trailer_for_every_algorithm(server, bucket, alg):
    payload = os.urandom(20_000)
    value = checksum_b64(alg, payload)
    body = aws_chunked(payload, 8192, {header_name(alg): value})
    st, h, b = send(server, "PUT", f"/{bucket}/t-{alg}", unsigned_headers(len(payload), header_name(alg)), body)
    assert st == 200, b
    assert h[header_name(alg)] == value
    r = server.http("GET", f"/{bucket}/t-{alg}", headers={"x-amz-checksum-mode": "ENABLED"})
    assert r.body == payload and r.header(header_name(alg)) == value


def test_large_body_many_chunks_in_odd_writes(server, s3, bucket):
    payload = os.urandom(3 * 1024 * 1024 + 17)
    body = aws_chunked(payload, 65536, {"x-amz-checksum-crc32": checksum_b64("CRC32", payload)})
    rnd = random.Random(7)
    sizes = [rnd.choice([1, 2, 3, 5, 13, 100, 4093, 65537, 200_000]) for _ in range(64)]
    st, h, b = send(server, "PUT", f"/{bucket}/big", unsigned_headers(len(payload)), body, write_sizes=sizes)
    assert st == 200, b
    assert h["etag"] == '"%s"' % hashlib.md5(payload).hexdigest()
    got = s3.get_object(Bucket=bucket, Key="big")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()
    # and again inside HTTP chunked with outer chunks that straddle the inner framing
    st, h, b = send(server, "PUT", f"/{bucket}/big2", unsigned_headers(len(payload)), body, te_chunked=65531)
    assert st == 200, b
    assert hashlib.md5(s3.get_object(Bucket=bucket, Key="big2")["Body"].read()).digest() == hashlib.md5(payload).digest()
    assert_tmp_empty(server)


def test_empty_payload(server, s3, bucket):
    body = aws_chunked(b"", trailers={"x-amz-checksum-crc32": "AAAAAA=="})
    assert body == b"0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"
    st, h, b = send(server, "PUT", f"/{bucket}/empty", unsigned_headers(0), body)
    assert st == 200, b
    assert h["etag"] == '"d41d8cd98f00b204e9800998ecf8427e"'
    assert s3.head_object(Bucket=bucket, Key="empty")["ContentLength"] == 0


def test_unsigned_trailer_mode_without_trailer(server, s3, bucket):
    st, h, b = send(server, "PUT", f"/{bucket}/nt", unsigned_headers(11, trailer=None), aws_chunked(b"Hello world"))
    assert st == 200, b
    assert not any(k.startswith("x-amz-checksum-") for k in h)
    assert s3.get_object(Bucket=bucket, Key="nt")["Body"].read() == b"Hello world"


def test_signed_streaming_multiple_chunks(server, s3, bucket):
    payload = os.urandom(100_000)
    headers = {"Content-Encoding": "aws-chunked", "x-amz-content-sha256": SIGNED,
               "x-amz-decoded-content-length": str(len(payload))}
    st, h, b = send(server, "PUT", f"/{bucket}/signed", headers, aws_chunked(payload, 8192, signed=True))
    assert st == 200, b
    assert s3.get_object(Bucket=bucket, Key="signed")["Body"].read() == payload


@pytest.mark.parametrize("sent,stored", [("aws-chunked", None), ("gzip,aws-chunked", "gzip"),
                                         ("aws-chunked, gzip", "gzip"), ("AWS-CHUNKED", None)])
def test_aws_chunked_is_not_stored_as_content_encoding(server, s3, bucket, sent, stored):
    st, h, b = send(server, "PUT", f"/{bucket}/ce", unsigned_headers(11, **{"Content-Encoding": sent}), HELLO_AWS_CHUNKED)
    assert st == 200, b
    head = s3.head_object(Bucket=bucket, Key="ce")
    assert head.get("ContentEncoding") == stored
    assert head["ContentLength"] == 11


def test_streaming_payload_mode_without_content_encoding_is_decoded(server, s3, bucket):
    # S3 keys the decoding off x-amz-content-sha256 (AWS-observed in versitygw #1676/#2085)
    headers = unsigned_headers(11)
    del headers["Content-Encoding"]
    st, h, b = send(server, "PUT", f"/{bucket}/noce", headers, HELLO_AWS_CHUNKED)
    assert st == 200, b
    assert s3.get_object(Bucket=bucket, Key="noce")["Body"].read() == b"Hello world"


def test_conditional_put_with_aws_chunked_body(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="cond", Body=b"first")
    st, h, b = send(server, "PUT", f"/{bucket}/cond", unsigned_headers(11, **{"If-None-Match": "*"}), HELLO_AWS_CHUNKED)
    assert st == 412 and error_code(b) == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="cond")["Body"].read() == b"first"
    st, h, b = send(server, "PUT", f"/{bucket}/cond2", unsigned_headers(11, **{"If-None-Match": "*"}), HELLO_AWS_CHUNKED)
    assert st == 200, b


# ------------------------------------------------------------------------------ rejected bodies


HW = b"Hello world"
HW_CRC = "i9aeUg=="
BIG = bytes(range(256)) * 40   # 10240 bytes


def _headers_without_decoded_length():
    h = unsigned_headers(11)
    del h["x-amz-decoded-content-length"]
    return h


REJECTED = [
    # label, headers, body, status, code
    ("no decoded length", _headers_without_decoded_length(), HELLO_AWS_CHUNKED, 411, "MissingContentLength"),
    ("decoded length too large", unsigned_headers(12), HELLO_AWS_CHUNKED, 400, "IncompleteBody"),
    ("decoded length too small", unsigned_headers(10), HELLO_AWS_CHUNKED, 400, "IncompleteBody"),
    ("no final chunk", unsigned_headers(11, trailer=None), b"b\r\nHello world\r\n", 400, "IncompleteBody"),
    ("truncated data", unsigned_headers(11, trailer=None), b"b\r\nHello wor", 400, "IncompleteBody"),
    ("bad hex size", unsigned_headers(11, trailer=None), b"zz\r\nHello world\r\n0\r\n\r\n", 400, "IncompleteBody"),
    ("missing CRLF after data", unsigned_headers(11, trailer=None), b"b\r\nHello worldXX0\r\n\r\n", 400, "IncompleteBody"),
    ("size larger than data", unsigned_headers(11, trailer=None), b"10\r\nHello world\r\n0\r\n\r\n", 400, "IncompleteBody"),
    ("LF-only line endings", unsigned_headers(11, trailer=None), b"b\nHello world\n0\n\n", 400, "IncompleteBody"),
    ("small non-final chunk", unsigned_headers(5, trailer=None), b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 403, "InvalidChunkSizeError"),
    ("small first of big chunks", unsigned_headers(len(BIG) + 100, trailer=None),
     b"64\r\n" + BIG[:100] + b"\r\n" + b"%x\r\n" % len(BIG) + BIG + b"\r\n0\r\n\r\n", 403, "InvalidChunkSizeError"),
    ("trailer not sent", unsigned_headers(11), aws_chunked(HW), 400, "MalformedTrailerError"),
    ("other trailer than declared", unsigned_headers(11), aws_chunked(HW, trailers={"x-amz-checksum-crc32c": "crUfeA=="}),
     400, "MalformedTrailerError"),
    ("trailer line without colon", unsigned_headers(11), b"b\r\nHello world\r\n0\r\nx-amz-checksum-crc32\r\n\r\n",
     400, "MalformedTrailerError"),
    ("wrong trailer checksum", unsigned_headers(11), aws_chunked(HW, trailers={"x-amz-checksum-crc32": "AAAAAA=="}),
     400, "BadDigest"),
    ("malformed trailer checksum", unsigned_headers(11), aws_chunked(HW, trailers={"x-amz-checksum-crc32": "AAAA"}),
     400, "InvalidRequest"),
    ("signed, decoded length mismatch", {"Content-Encoding": "aws-chunked", "x-amz-content-sha256": SIGNED,
                                         "x-amz-decoded-content-length": "66561"}, AWS_EXAMPLE_SIGNED, 400, "IncompleteBody"),
]


@pytest.mark.parametrize("label,headers,body,status,code", REJECTED, ids=[r[0] for r in REJECTED])
def test_rejected_aws_chunked_bodies_store_nothing(server, s3, bucket, label, headers, body, status, code):
    s3.put_object(Bucket=bucket, Key="victim", Body=b"previous")
    st, h, b = send(server, "PUT", f"/{bucket}/victim", headers, body)
    assert (st, error_code(b)) == (status, code), b
    assert h.get("x-amz-request-id")
    st, h, b = send(server, "PUT", f"/{bucket}/fresh", headers, body)
    assert (st, error_code(b)) == (status, code), b
    assert s3.get_object(Bucket=bucket, Key="victim")["Body"].read() == b"previous"
    assert server.http("HEAD", f"/{bucket}/fresh").status == 404
    assert_tmp_empty(server)


def test_error_messages_for_trailer_checksums(server, bucket):
    st, _, b = send(server, "PUT", f"/{bucket}/m", unsigned_headers(11),
                    aws_chunked(HW, trailers={"x-amz-checksum-crc32": "AAAAAA=="}))
    assert st == 400 and error_field(b, "Message") == "The CRC32 you specified did not match the calculated checksum."
    st, _, b = send(server, "PUT", f"/{bucket}/m", unsigned_headers(11, "x-amz-checksum-sha1"),
                    aws_chunked(HW, trailers={"x-amz-checksum-sha1": "AAAA"}))
    assert st == 400 and error_field(b, "Message") == "Value for x-amz-checksum-sha1 trailing header is invalid."


def test_invalid_chunk_size_error_details(server, bucket):
    st, _, b = send(server, "PUT", f"/{bucket}/cs", unsigned_headers(5, trailer=None), aws_chunked(b"hello", 3))
    assert st == 403
    assert error_code(b) == "InvalidChunkSizeError"
    assert error_field(b, "Message") == "Only the last chunk is allowed to have a size less than 8192 bytes"
    assert error_field(b, "BadChunkSize") == "3"


def test_invalid_chunk_size_reports_chunk_number_like_s3(server, bucket):
    st, _, b = send(server, "PUT", f"/{bucket}/cs", unsigned_headers(5, trailer=None), aws_chunked(b"hello", 3))
    assert st == 403 and error_field(b, "Chunk") == "2"


def test_body_cut_off_mid_stream_stores_nothing(server, s3, bucket):
    payload = os.urandom(200_000)
    body = aws_chunked(payload, 65536, {"x-amz-checksum-crc32": checksum_b64("CRC32", payload)})
    head = (f"PUT /{bucket}/cut HTTP/1.1\r\nHost: h\r\nContent-Length: {len(body)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in unsigned_headers(len(payload)).items()) + "\r\n").encode()
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        s.sendall(head + body[:100_000])
        s.shutdown(socket.SHUT_WR)
        try:
            while s.recv(65536):
                pass
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        s.close()
    assert_tmp_empty(server, wait=10)
    assert server.http("HEAD", f"/{bucket}/cut").status == 404


# ------------------------------------------------------------------------------ UploadPart


def test_upload_part_with_trailer_in_composite_upload(server, s3, bucket):
    uid = mpu.create(server, bucket, "mp", {"x-amz-checksum-algorithm": "CRC32"})
    bodies = [os.urandom(FIVE_MIB + 3), b"last part"]
    parts = []
    for n, payload in enumerate(bodies, 1):
        value = checksum_b64("CRC32", payload)
        headers = unsigned_headers(len(payload), **{"x-amz-sdk-checksum-algorithm": "CRC32"})
        st, h, b = send(server, "PUT", f"/{bucket}/mp?partNumber={n}&uploadId={uid}", headers,
                        aws_chunked(payload, 1024 * 1024, {"x-amz-checksum-crc32": value}), te_chunked=131072)
        assert st == 200, b
        assert h["x-amz-checksum-crc32"] == value   # s3transfer copies it into Complete
        assert h["etag"] == '"%s"' % hashlib.md5(payload).hexdigest()
        parts.append(mpu.Part(n, h["etag"], value))
    listed = s3.list_parts(Bucket=bucket, Key="mp", UploadId=uid)["Parts"]
    assert [(p["Size"], p["ChecksumCRC32"]) for p in listed] == [(len(b), checksum_b64("CRC32", b)) for b in bodies]
    r = mpu.complete(server, bucket, "mp", uid, mpu.complete_xml(parts, "CRC32"))
    assert r.status == 200, r.body
    assert find_text(r.xml(), "ChecksumCRC32") == composite_b64("CRC32", [p.checksum for p in parts])
    got = s3.get_object(Bucket=bucket, Key="mp")["Body"].read()
    assert hashlib.md5(got).digest() == hashlib.md5(b"".join(bodies)).digest()


def test_upload_part_with_bad_trailer_is_not_stored(server, s3, bucket):
    uid = mpu.create(server, bucket, "mp", {"x-amz-checksum-algorithm": "SHA256"})
    payload = os.urandom(50_000)
    st, h, b = send(server, "PUT", f"/{bucket}/mp?partNumber=1&uploadId={uid}",
                    unsigned_headers(len(payload), "x-amz-checksum-sha256"),
                    aws_chunked(payload, 8192, {"x-amz-checksum-sha256": checksum_b64("SHA256", b"other")}))
    assert st == 400 and error_code(b) == "BadDigest"
    st, h, b = send(server, "PUT", f"/{bucket}/mp?partNumber=1&uploadId={uid}",
                    unsigned_headers(len(payload) + 1, "x-amz-checksum-sha256"),
                    aws_chunked(payload, 8192, {"x-amz-checksum-sha256": checksum_b64("SHA256", payload)}))
    assert st == 400 and error_code(b) == "IncompleteBody"
    assert s3.list_parts(Bucket=bucket, Key="mp", UploadId=uid).get("Parts", []) == []
    assert_tmp_empty(server)


def test_upload_part_signed_chunks(server, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="sp")["UploadId"]
    st, h, b = send(server, "PUT", f"/{bucket}/sp?partNumber=1&uploadId={uid}",
                    {k: v for k, v in AWS_EXAMPLE_SIGNED_HEADERS.items() if k != "Authorization"}, AWS_EXAMPLE_SIGNED)
    assert st == 200, b
    s3.complete_multipart_upload(Bucket=bucket, Key="sp", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": h["etag"]}]})
    assert s3.get_object(Bucket=bucket, Key="sp")["Body"].read() == AWS_EXAMPLE_PAYLOAD
