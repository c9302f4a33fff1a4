"""Flexible checksums on PutObject/GetObject/HeadObject/DeleteObjects: x-amz-checksum-{crc32,
crc32c,crc64nvme,sha1,sha256}, x-amz-sdk-checksum-algorithm, x-amz-checksum-mode.

Stowage deliberately does not add a default CRC64NVME when the client sends no checksum, so
nothing here expects one."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from conftest import assert_tmp_empty, client_error, find_text
from s3checksums import ALGORITHMS, VECTORS, b64, checksum_b64, header_name, raw_digest

ALG_BODIES = [(alg, body) for body in (b"123456789", b"", b"Hello world") for alg in ALGORITHMS]


def checksum_headers(resp) -> dict:
    return {k.lower(): v for k, v in resp.headers.items() if k.lower().startswith("x-amz-checksum-")}


def test_reference_implementations_match_published_vectors():
    # guards the pure-Python CRC32C/CRC64NVME used to compute expectations below
    for data, values in VECTORS.items():
        for alg, value in values.items():
            assert checksum_b64(alg, data) == value, (data, alg)
    assert checksum_b64("CRC32C", b"a" * 66560) == "sOO8/Q=="


@pytest.mark.parametrize("alg,body", ALG_BODIES, ids=[f"{a}-{len(b)}" for a, b in ALG_BODIES])
def test_put_with_checksum_header_stored_and_returned(server, bucket, alg, body):
    value = VECTORS[body][alg]
    r = server.http("PUT", f"/{bucket}/obj", body=body, headers={header_name(alg): value})
    assert r.status == 200, r.body
    assert r.header(header_name(alg)) == value
    assert r.header("x-amz-checksum-type") == "FULL_OBJECT"
    # GET/HEAD carry checksums only with x-amz-checksum-mode: ENABLED
    for method in ("GET", "HEAD"):
        plain = server.http(method, f"/{bucket}/obj")
        assert plain.status == 200 and checksum_headers(plain) == {}, method
        on = server.http(method, f"/{bucket}/obj", headers={"x-amz-checksum-mode": "ENABLED"})
        assert on.status == 200
        assert checksum_headers(on) == {header_name(alg): value, "x-amz-checksum-type": "FULL_OBJECT"}, method
    assert server.http("GET", f"/{bucket}/obj").body == body


@pytest.mark.parametrize("alg", ["CRC32", "SHA1", "SHA256"])
def test_boto3_put_object_checksum_algorithm(s3, bucket, alg):
    data = os.urandom(300_000)
    put = s3.put_object(Bucket=bucket, Key="b3", Body=data, ChecksumAlgorithm=alg)
    expected = checksum_b64(alg, data)
    assert put[f"Checksum{alg}"] == expected
    assert put["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket=bucket, Key="b3", ChecksumMode="ENABLED")
    assert head[f"Checksum{alg}"] == expected and head["ChecksumType"] == "FULL_OBJECT"
    assert f"Checksum{alg}" not in s3.head_object(Bucket=bucket, Key="b3")
    # botocore enables checksum mode on GET and validates CRC32/SHA1/SHA256 against the body
    got = s3.get_object(Bucket=bucket, Key="b3")
    assert got[f"Checksum{alg}"] == expected
    assert got["Body"].read() == data


@pytest.mark.parametrize("alg", ["CRC32C", "CRC64NVME"])
def test_boto3_put_object_precomputed_crt_algorithms(s3, bucket, alg):
    # botocore needs awscrt to compute these; a precomputed value is sent as the header as-is
    data = os.urandom(50_000)
    value = checksum_b64(alg, data)
    put = s3.put_object(Bucket=bucket, Key="crt", Body=data, **{f"Checksum{alg}": value})
    assert put[f"Checksum{alg}"] == value and put["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket=bucket, Key="crt", ChecksumMode="ENABLED")
    assert head[f"Checksum{alg}"] == value
    with pytest.raises(ClientError) as ei:
        s3.put_object(Bucket=bucket, Key="crt", Body=data + b"!", **{f"Checksum{alg}": value})
    assert client_error(ei)[:2] == ("BadDigest", 400)
    assert s3.get_object(Bucket=bucket, Key="crt")["Body"].read() == data


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_put_wrong_checksum_is_bad_digest_and_keeps_old_object(server, s3, bucket, alg):
    s3.put_object(Bucket=bucket, Key="keep", Body=b"original")
    body = os.urandom(70_000)
    wrong = checksum_b64(alg, body + b"x")
    r = server.http("PUT", f"/{bucket}/keep", body=body, headers={header_name(alg): wrong})
    assert r.status == 400
    assert r.error_code() == "BadDigest"
    assert find_text(r.xml(), "Message") == f"The {alg} you specified did not match the calculated checksum."
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"original"
    r = server.http("PUT", f"/{bucket}/new", body=body, headers={header_name(alg): wrong})
    assert r.status == 400 and r.error_code() == "BadDigest"
    assert server.http("HEAD", f"/{bucket}/new").status == 404
    assert_tmp_empty(server)


def _wrong_length(alg: str) -> str:
    return b64(raw_digest(alg, b"x") + b"\x00")


MALFORMED = [
    ("CRC32", "short==="), ("CRC32", "shrt"), ("CRC32", "toolong="), ("CRC32", "^^^^^^=="),
    ("CRC32", "y^/^Q5^J^g=="), ("CRC32", "!!notbase64"), ("CRC32", "AAAA"), ("CRC32", "i9aeUgg="),
    ("CRC32C", _wrong_length("CRC32C")), ("CRC64NVME", "AAAAAA=="), ("SHA1", _wrong_length("SHA1")),
    ("SHA256", b64(hashlib.sha1(b"x").digest())), ("SHA256", ""),
]


@pytest.mark.parametrize("alg,value", MALFORMED)
def test_put_malformed_checksum_value_is_invalid_request(server, bucket, alg, value):
    r = server.http("PUT", f"/{bucket}/bad", body=b"123456789", headers={header_name(alg): value})
    assert r.status == 400
    assert r.error_code() == "InvalidRequest"
    assert find_text(r.xml(), "Message") == f"Value for {header_name(alg)} header is invalid."
    assert server.http("HEAD", f"/{bucket}/bad").status == 404


def test_put_non_canonical_base64_checksum_is_invalid(server, bucket):
    assert base64.b64decode("y/Q5Jh==") == base64.b64decode("y/Q5Jg==")
    r = server.http("PUT", f"/{bucket}/nc", body=b"123456789", headers={"x-amz-checksum-crc32": "y/Q5Jh=="})
    assert r.status == 400 and r.error_code() == "InvalidRequest"


def test_put_two_checksum_headers_is_invalid_request(server, bucket):
    body = b"123456789"
    r = server.http("PUT", f"/{bucket}/two", body=body, headers={
        "x-amz-checksum-crc32": VECTORS[body]["CRC32"], "x-amz-checksum-sha256": VECTORS[body]["SHA256"]})
    assert r.status == 400 and r.error_code() == "InvalidRequest"
    assert find_text(r.xml(), "Message") == \
        "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed."
    assert server.http("HEAD", f"/{bucket}/two").status == 404


def test_sdk_checksum_algorithm_without_checksum_is_invalid_request(server, bucket):
    r = server.http("PUT", f"/{bucket}/sdk", body=b"abc", headers={"x-amz-sdk-checksum-algorithm": "CRC32"})
    assert r.status == 400 and r.error_code() == "InvalidRequest"
    assert find_text(r.xml(), "Message") == ("x-amz-sdk-checksum-algorithm specified, but no corresponding "
                                            "x-amz-checksum-* or x-amz-trailer headers were found.")
    assert server.http("HEAD", f"/{bucket}/sdk").status == 404


@pytest.mark.parametrize("sdk", ["SHA256", "INVALIDALGO"])
def test_sdk_checksum_algorithm_inconsistent_with_header(server, bucket, sdk):
    r = server.http("PUT", f"/{bucket}/sdk", body=b"abc", headers={
        "x-amz-sdk-checksum-algorithm": sdk, "x-amz-checksum-crc32": VECTORS[b"abc"]["CRC32"]})
    assert r.status == 400 and r.error_code() == "InvalidRequest"
    assert find_text(r.xml(), "Message") == "Value for x-amz-sdk-checksum-algorithm header is invalid."


def test_sdk_checksum_algorithm_case_insensitive(server, bucket):
    r = server.http("PUT", f"/{bucket}/sdk", body=b"abc", headers={
        "x-amz-sdk-checksum-algorithm": "crc32", "x-amz-checksum-crc32": VECTORS[b"abc"]["CRC32"]})
    assert r.status == 200, r.body


def test_checksum_and_content_md5_both_verified(server, bucket):
    body = b"both digests"
    md5 = b64(hashlib.md5(body).digest())
    crc = checksum_b64("CRC32", body)
    r = server.http("PUT", f"/{bucket}/both", body=body,
                    headers={"Content-MD5": md5, "x-amz-checksum-crc32": checksum_b64("CRC32", b"x")})
    assert r.status == 400 and r.error_code() == "BadDigest"
    r = server.http("PUT", f"/{bucket}/both", body=body,
                    headers={"Content-MD5": b64(hashlib.md5(b"x").digest()), "x-amz-checksum-crc32": crc})
    assert r.status == 400 and r.error_code() == "BadDigest"
    assert server.http("HEAD", f"/{bucket}/both").status == 404
    r = server.http("PUT", f"/{bucket}/both", body=body, headers={"Content-MD5": md5, "x-amz-checksum-crc32": crc})
    assert r.status == 200 and r.header("x-amz-checksum-crc32") == crc


def test_checksum_with_signed_payload_sha256(server, bucket):
    body = b"signed payload"
    r = server.http("PUT", f"/{bucket}/sig", body=body, headers={
        "x-amz-content-sha256": hashlib.sha256(body).hexdigest(), "x-amz-checksum-sha1": checksum_b64("SHA1", body)})
    assert r.status == 200 and r.header("x-amz-checksum-sha1") == checksum_b64("SHA1", body)
    r = server.http("PUT", f"/{bucket}/sig", body=body, headers={
        "x-amz-content-sha256": hashlib.sha256(body).hexdigest(), "x-amz-checksum-sha1": checksum_b64("SHA1", b"no")})
    assert r.status == 400 and r.error_code() == "BadDigest"


def test_range_requests_and_checksum_mode(server, bucket):
    body = bytes(range(256)) * 40
    value = checksum_b64("SHA256", body)
    assert server.http("PUT", f"/{bucket}/rng", body=body, headers={"x-amz-checksum-sha256": value}).status == 200
    on = {"x-amz-checksum-mode": "ENABLED"}
    n = len(body)
    for rng in (f"bytes=0-{n - 1}", "bytes=0-", f"bytes=-{n}", f"bytes=0-{n + 100}"):
        r = server.http("GET", f"/{bucket}/rng", headers={**on, "Range": rng})
        assert r.status == 206 and r.body == body, rng
        assert r.header("x-amz-checksum-sha256") == value and r.header("x-amz-checksum-type") == "FULL_OBJECT", rng
    for rng in (f"bytes=0-{n - 2}", "bytes=1-", "bytes=-10", "bytes=100-199"):
        for method in ("GET", "HEAD"):
            r = server.http(method, f"/{bucket}/rng", headers={**on, "Range": rng})
            assert r.status == 206, (method, rng)
            assert checksum_headers(r) == {}, (method, rng)
    # 304 carries no checksum
    etag = server.http("HEAD", f"/{bucket}/rng").header("ETag")
    r = server.http("GET", f"/{bucket}/rng", headers={**on, "If-None-Match": etag})
    assert r.status == 304 and checksum_headers(r) == {}


def test_boto3_ranged_gets_of_checksummed_object(s3, bucket):
    # botocore validates any plain x-amz-checksum-crc32 it receives: a whole-object value on a
    # partial 206 would make these reads fail with FlexibleChecksumError
    data = os.urandom(1_000_003)
    s3.put_object(Bucket=bucket, Key="r", Body=data, ChecksumAlgorithm="CRC32")
    for start, end in ((0, 0), (1, 999_999), (500_000, 1_000_002)):
        got = s3.get_object(Bucket=bucket, Key="r", Range=f"bytes={start}-{end}")
        assert got["Body"].read() == data[start:end + 1]
        assert "ChecksumCRC32" not in got
    got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=0-")
    assert got["ChecksumCRC32"] == checksum_b64("CRC32", data) and got["Body"].read() == data


def test_overwrite_without_checksum_drops_old_checksum(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="ow", Body=b"first", ChecksumAlgorithm="SHA256")
    r = server.http("PUT", f"/{bucket}/ow", body=b"second")
    assert r.status == 200 and checksum_headers(r) == {}
    h = server.http("HEAD", f"/{bucket}/ow", headers={"x-amz-checksum-mode": "ENABLED"})
    assert h.header("x-amz-checksum-sha256") is None and h.header("x-amz-checksum-type") is None
    s3.put_object(Bucket=bucket, Key="ow", Body=b"third", ChecksumCRC32C=checksum_b64("CRC32C", b"third"))
    h = server.http("HEAD", f"/{bucket}/ow", headers={"x-amz-checksum-mode": "ENABLED"})
    assert checksum_headers(h) == {"x-amz-checksum-crc32c": checksum_b64("CRC32C", b"third"),
                                   "x-amz-checksum-type": "FULL_OBJECT"}


def test_invalid_checksum_mode_on_get(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="m", Body=b"m", ChecksumAlgorithm="CRC32")
    r = server.http("GET", f"/{bucket}/m", headers={"x-amz-checksum-mode": "BOGUS"})
    assert r.status == 400 and r.error_code() == "InvalidRequest"


@pytest.mark.isolated
def test_checksums_survive_restart(fresh_server):
    srv = fresh_server
    s3 = srv.client()
    s3.create_bucket(Bucket="ckr")
    body = b"Hello world"
    for alg in ALGORITHMS:
        r = srv.http("PUT", f"/ckr/{alg}", body=body, headers={header_name(alg): VECTORS[body][alg]})
        assert r.status == 200
    srv.restart()
    for alg in ALGORITHMS:
        h = srv.http("HEAD", f"/ckr/{alg}", headers={"x-amz-checksum-mode": "ENABLED"})
        assert checksum_headers(h) == {header_name(alg): VECTORS[body][alg], "x-amz-checksum-type": "FULL_OBJECT"}


# ------------------------------------------------------------------------------ DeleteObjects


DELETE_BODY = b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>stay</Key></Object></Delete>'


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_delete_objects_verifies_checksum(server, s3, bucket, alg):
    s3.put_object(Bucket=bucket, Key="stay", Body=b"x")
    r = server.http("POST", f"/{bucket}?delete", body=DELETE_BODY,
                    headers={header_name(alg): checksum_b64(alg, DELETE_BODY + b" ")})
    assert r.status == 400 and r.error_code() == "BadDigest"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])] == ["stay"]
    r = server.http("POST", f"/{bucket}?delete", body=DELETE_BODY,
                    headers={header_name(alg): checksum_b64(alg, DELETE_BODY)})
    assert r.status == 200, r.body
    assert s3.list_objects_v2(Bucket=bucket).get("Contents", []) == []


def test_delete_objects_malformed_checksum(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="stay", Body=b"x")
    r = server.http("POST", f"/{bucket}?delete", body=DELETE_BODY, headers={"x-amz-checksum-crc32": "nope"})
    assert r.status == 400 and r.error_code() == "InvalidRequest"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])] == ["stay"]


def test_delete_objects_boto3_default_crc32(s3, bucket):
    # botocore sends x-amz-checksum-crc32 (not Content-MD5) for DeleteObjects
    for k in ("a", "b"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}]})
    assert sorted(d["Key"] for d in resp["Deleted"]) == ["a", "b"]
    assert s3.list_objects_v2(Bucket=bucket).get("Contents", []) == []
