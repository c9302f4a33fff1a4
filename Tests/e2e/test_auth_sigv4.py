"""SigV4 authentication with auth enabled: boto3 and the AWS CLI work for the owner for the
common operations; every forged, tampered, skewed, expired or malformed request is rejected
with S3's error code and writes nothing (checked with the owner afterwards). Streaming uploads
(STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) are built by hand over raw sockets so that chunk
and trailer signatures can be corrupted one at a time."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from urllib.parse import parse_qs, urlsplit

import botocore.httpchecksum
import pytest
from botocore.exceptions import ClientError

import sigv4util as sv
from conftest import (ALICE, CredentialedAwsCli, client_error, make_client_as, object_absent,
                      unique_bucket)
from s3checksums import checksum_b64

pytestmark = pytest.mark.timeout(120)

MIB = 1024 * 1024
ALICE_CREDS = sv.creds_of(ALICE)


def host(srv) -> str:
    return f"127.0.0.1:{srv.port}"


def target_of(url: str) -> str:
    u = urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


def signed_put(srv, bucket: str, key: str, body: bytes, creds: sv.Creds = ALICE_CREDS, **kw) -> sv.Signed:
    return sv.sign("PUT", sv.key_path(bucket, key), creds=creds, host=host(srv),
                   payload_hash=kw.pop("payload_hash", sv.sha256_hex(body)), **kw)


def assert_error(resp: tuple[int, dict, bytes], status: int, code: str) -> dict[str, str]:
    st, _, body = resp
    assert st == status, (st, body)
    err = sv.error_of(body)
    assert err.get("Code") == code, err
    return err


def header_value(request, name: str) -> str:
    v = request.headers[name]
    return v.decode() if isinstance(v, bytes) else v


def recording(client, event: str) -> list:
    """Registers a before-send hook; the list fills with the sent AWSPreparedRequests."""
    seen: list = []
    client.meta.events.register(f"before-send.s3.{event}", lambda request, **_: seen.append(request))
    return seen


# ------------------------------------------------------------------------------ the signer itself


def test_sigv4util_reproduces_aws_documentation_examples():
    sv.self_check()


def test_manual_signing_positive_controls(auth_server, alice, alice_bucket):
    """The hand-made requests the rejection tests tamper with are accepted untampered."""
    srv = auth_server
    body = b"manual body"
    assert sv.send_signed(srv.port, signed_put(srv, alice_bucket, "m1", body), body)[0] == 200
    unsigned = signed_put(srv, alice_bucket, "m2", body, payload_hash=sv.UNSIGNED_PAYLOAD)
    assert sv.send_signed(srv.port, unsigned, body)[0] == 200
    listing = sv.sign("GET", f"/{alice_bucket}", creds=ALICE_CREDS, host=host(srv),
                      params=[("list-type", "2"), ("prefix", "m")])
    st, _, lb = sv.send_signed(srv.port, listing)
    assert st == 200 and b"<Key>m1</Key>" in lb and b"<Key>m2</Key>" in lb, lb
    url = sv.presign("GET", sv.key_path(alice_bucket, "m1"), creds=ALICE_CREDS, host=host(srv), expires=60)
    r = srv.http("GET", url)
    assert r.status == 200 and r.body == body
    assert alice.get_object(Bucket=alice_bucket, Key="m2")["Body"].read() == body


# ------------------------------------------------------------------------------ owner, boto3


def test_owner_bucket_lifecycle(alice):
    name = unique_bucket("life")
    assert alice.create_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert name in [b["Name"] for b in alice.list_buckets()["Buckets"]]
    assert alice.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    alice.get_bucket_location(Bucket=name)
    assert alice.delete_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as ei:
        alice.head_bucket(Bucket=name)
    assert client_error(ei)[1] == 404


def test_owner_object_operations(alice, alice_bucket):
    b = alice_bucket
    data = os.urandom(3000)
    put = alice.put_object(Bucket=b, Key="dir/a.bin", Body=data, ContentType="application/x-test",
                           Metadata={"color": "blue"})
    assert put["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
    got = alice.get_object(Bucket=b, Key="dir/a.bin")
    assert got["Body"].read() == data and got["Metadata"] == {"color": "blue"}
    assert alice.get_object(Bucket=b, Key="dir/a.bin", Range="bytes=10-19")["Body"].read() == data[10:20]
    head = alice.head_object(Bucket=b, Key="dir/a.bin")
    assert head["ContentLength"] == 3000 and head["ContentType"] == "application/x-test"
    alice.copy_object(Bucket=b, Key="dir/b.bin", CopySource={"Bucket": b, "Key": "dir/a.bin"})
    assert alice.get_object(Bucket=b, Key="dir/b.bin")["Body"].read() == data
    alice.put_object(Bucket=b, Key="top", Body=b"x")
    v1 = alice.list_objects(Bucket=b, Prefix="dir/")
    assert [o["Key"] for o in v1["Contents"]] == ["dir/a.bin", "dir/b.bin"]
    v2 = alice.list_objects_v2(Bucket=b, Delimiter="/")
    assert [o["Key"] for o in v2["Contents"]] == ["top"]
    assert [p["Prefix"] for p in v2["CommonPrefixes"]] == ["dir/"]
    page = alice.list_objects_v2(Bucket=b, MaxKeys=1)
    assert page["IsTruncated"] and alice.list_objects_v2(
        Bucket=b, MaxKeys=5, ContinuationToken=page["NextContinuationToken"])["KeyCount"] == 2
    deleted = alice.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "dir/a.bin"}, {"Key": "dir/b.bin"}]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["dir/a.bin", "dir/b.bin"]
    assert not deleted.get("Errors")
    assert alice.delete_object(Bucket=b, Key="top")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert alice.list_objects_v2(Bucket=b)["KeyCount"] == 0


def test_owner_multipart_with_upload_part_copy(alice, alice_bucket):
    b = alice_bucket
    source = os.urandom(6 * MIB)
    alice.put_object(Bucket=b, Key="source", Body=source)
    part1 = os.urandom(5 * MIB)
    up = alice.create_multipart_upload(Bucket=b, Key="joined")["UploadId"]
    assert [u["UploadId"] for u in alice.list_multipart_uploads(Bucket=b).get("Uploads", [])] == [up]
    e1 = alice.upload_part(Bucket=b, Key="joined", UploadId=up, PartNumber=1, Body=part1)["ETag"]
    e2 = alice.upload_part_copy(Bucket=b, Key="joined", UploadId=up, PartNumber=2,
                                CopySource={"Bucket": b, "Key": "source"},
                                CopySourceRange="bytes=1000-2000999")["CopyPartResult"]["ETag"]
    assert [p["PartNumber"] for p in alice.list_parts(Bucket=b, Key="joined", UploadId=up)["Parts"]] == [1, 2]
    alice.complete_multipart_upload(Bucket=b, Key="joined", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert alice.get_object(Bucket=b, Key="joined")["Body"].read() == part1 + source[1000:2001000]
    other = alice.create_multipart_upload(Bucket=b, Key="aborted")["UploadId"]
    alice.abort_multipart_upload(Bucket=b, Key="aborted", UploadId=other)
    assert alice.list_multipart_uploads(Bucket=b).get("Uploads", []) == []


def test_presigned_put_and_get_from_boto3(auth_server, alice, alice_bucket):
    data = b"presigned payload \x00\xff"
    put_url = alice.generate_presigned_url("put_object", Params={"Bucket": alice_bucket, "Key": "p/1 x"},
                                           ExpiresIn=300)
    assert "X-Amz-Signature=" in put_url
    r = auth_server.http("PUT", target_of(put_url), body=data)
    assert r.status == 200, r.body
    get_url = alice.generate_presigned_url("get_object", Params={"Bucket": alice_bucket, "Key": "p/1 x"},
                                           ExpiresIn=300)
    r = auth_server.http("GET", target_of(get_url))
    assert r.status == 200 and r.body == data
    head_url = alice.generate_presigned_url("head_object", Params={"Bucket": alice_bucket, "Key": "p/1 x"})
    assert auth_server.http("HEAD", target_of(head_url)).status == 200
    # the same URL without its signature is an anonymous request
    bare = target_of(get_url).split("?")[0]
    assert auth_server.http("GET", bare).status == 403


def test_unsigned_payload_from_boto3(auth_server, alice_bucket):
    client = make_client_as(auth_server.endpoint, ALICE, s3={"addressing_style": "path",
                                                            "payload_signing_enabled": False})
    sent = recording(client, "PutObject")
    client.put_object(Bucket=alice_bucket, Key="u", Body=b"unsigned payload")
    assert sent and header_value(sent[-1], "x-amz-content-sha256") == "UNSIGNED-PAYLOAD"
    assert client.get_object(Bucket=alice_bucket, Key="u")["Body"].read() == b"unsigned payload"


def test_boto3_default_checksum_in_aws_chunked_trailer(auth_server, alice_bucket, monkeypatch):
    """botocore sends its default CRC32 as an aws-chunked trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER,
    Transfer-Encoding: chunked) only over https; make it believe the endpoint is https."""
    real = botocore.httpchecksum.urlparse
    monkeypatch.setattr(botocore.httpchecksum, "urlparse", lambda url: real(url.replace("http://", "https://", 1)))
    client = make_client_as(auth_server.endpoint, ALICE)
    sent = recording(client, "PutObject")
    data = os.urandom(100_000)
    put = client.put_object(Bucket=alice_bucket, Key="trailer", Body=data)
    assert header_value(sent[-1], "x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert header_value(sent[-1], "Content-Encoding") == "aws-chunked"
    assert header_value(sent[-1], "x-amz-trailer") == "x-amz-checksum-crc32"
    assert put["ChecksumCRC32"] == checksum_b64("CRC32", data)
    got = client.get_object(Bucket=alice_bucket, Key="trailer", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ChecksumCRC32"] == checksum_b64("CRC32", data)


# ------------------------------------------------------------------------------ owner, AWS CLI


@pytest.mark.cli
def test_aws_cli_as_owner(auth_server, alice, tmp_path):
    cli = CredentialedAwsCli(auth_server.endpoint, tmp_path / "home", ALICE["accessKeyId"], ALICE["secretAccessKey"])
    b = unique_bucket("cli")
    cli("s3", "mb", f"s3://{b}", check=True)
    small = tmp_path / "small.txt"
    small.write_bytes(b"small file\n")
    big = tmp_path / "big.bin"
    big_data = os.urandom(9 * MIB)          # above the CLI's 8 MiB multipart threshold
    big.write_bytes(big_data)
    cli("s3", "cp", str(small), f"s3://{b}/small.txt", check=True)
    cli("s3", "cp", str(big), f"s3://{b}/dir/big.bin", check=True)
    ls = cli("s3", "ls", f"s3://{b}", "--recursive", check=True).stdout
    assert "small.txt" in ls and "dir/big.bin" in ls
    assert cli("s3api", "head-object", "--bucket", b, "--key", "dir/big.bin", check=True).json()["ContentLength"] == 9 * MIB
    down = tmp_path / "down.bin"
    cli("s3", "cp", f"s3://{b}/dir/big.bin", str(down), check=True)
    assert down.read_bytes() == big_data
    cli("s3api", "put-object", "--bucket", b, "--key", "api.txt", "--body", str(small), check=True)
    keys = [o["Key"] for o in cli("s3api", "list-objects-v2", "--bucket", b, check=True).json()["Contents"]]
    assert keys == ["api.txt", "dir/big.bin", "small.txt"]
    url = cli("s3", "presign", f"s3://{b}/small.txt", "--expires-in", "120", check=True).stdout.strip()
    assert "X-Amz-Signature=" in url
    r = auth_server.http("GET", target_of(url))
    assert r.status == 200 and r.body == b"small file\n"
    cli("s3", "rm", f"s3://{b}", "--recursive", check=True)
    cli("s3", "rb", f"s3://{b}", check=True)
    assert b not in [x["Name"] for x in alice.list_buckets()["Buckets"]]


@pytest.mark.cli
def test_aws_cli_sigv2_presigned_url_is_refused(auth_server, alice, alice_bucket, tmp_path):
    """Only SigV4 is supported: S3's answer for SigV2 where it is not (400 InvalidRequest)."""
    alice.put_object(Bucket=alice_bucket, Key="v2", Body=b"v2")
    cli = CredentialedAwsCli(auth_server.endpoint, tmp_path / "home", ALICE["accessKeyId"], ALICE["secretAccessKey"],
                             sigv4_presign=False)
    url = cli("s3", "presign", f"s3://{alice_bucket}/v2", check=True).stdout.strip()
    assert "AWSAccessKeyId=" in url and "X-Amz-Signature" not in url
    r = auth_server.http("GET", target_of(url))
    assert r.status == 400, r.body
    err = sv.error_of(r.body)
    assert err["Code"] == "InvalidRequest"
    assert err["Message"] == ("The authorization mechanism you have provided is not supported. "
                              "Please use AWS4-HMAC-SHA256.")


@pytest.mark.cli
def test_aws_cli_with_wrong_secret_is_rejected(auth_server, alice, alice_bucket, tmp_path):
    cli = CredentialedAwsCli(auth_server.endpoint, tmp_path / "home", ALICE["accessKeyId"], "not-the-secret")
    f = tmp_path / "f.txt"
    f.write_text("nope")
    res = cli("s3api", "put-object", "--bucket", alice_bucket, "--key", "cli-denied", "--body", str(f))
    assert res.returncode != 0 and "SignatureDoesNotMatch" in res.stderr, res.stderr
    assert object_absent(alice, alice_bucket, "cli-denied")


# ------------------------------------------------------------------------------ bad credentials


def test_wrong_secret_boto3(auth_server, alice, alice_bucket):
    bad = make_client_as(auth_server.endpoint, {**ALICE, "secretAccessKey": "wrong-secret"})
    with pytest.raises(ClientError) as ei:
        bad.put_object(Bucket=alice_bucket, Key="denied", Body=b"x")
    assert client_error(ei)[:2] == ("SignatureDoesNotMatch", 403)
    assert object_absent(alice, alice_bucket, "denied")


def test_wrong_secret_error_reports_string_to_sign_and_canonical_request(auth_server, alice, alice_bucket):
    body = b"payload"
    req = signed_put(auth_server, alice_bucket, "denied", body, creds=sv.Creds(ALICE["accessKeyId"], "wrong"))
    err = assert_error(sv.send_signed(auth_server.port, req, body), 403, "SignatureDoesNotMatch")
    assert "StringToSign" in err and "CanonicalRequest" in err, err
    # only the key differs, so the server computed the same strings as the client
    assert err["StringToSign"] == req.string_to_sign
    assert err["CanonicalRequest"] == req.canonical_request
    assert err.get("SignatureProvided", req.signature) == req.signature
    assert err.get("AWSAccessKeyId", ALICE["accessKeyId"]) == ALICE["accessKeyId"]
    assert object_absent(alice, alice_bucket, "denied")


def test_unknown_access_key(auth_server, alice, alice_bucket):
    bad = make_client_as(auth_server.endpoint, {"accessKeyId": "AKIANOBODY", "secretAccessKey": "whatever"})
    with pytest.raises(ClientError) as ei:
        bad.put_object(Bucket=alice_bucket, Key="denied", Body=b"x")
    assert client_error(ei)[:2] == ("InvalidAccessKeyId", 403)
    assert object_absent(alice, alice_bucket, "denied")


# ------------------------------------------------------------------------------ tampering


def test_tampered_path(auth_server, alice, alice_bucket):
    body = b"x" * 10
    req = signed_put(auth_server, alice_bucket, "signed-key", body)
    req.target = sv.key_path(alice_bucket, "other-key")
    assert_error(sv.send_signed(auth_server.port, req, body), 403, "SignatureDoesNotMatch")
    assert object_absent(alice, alice_bucket, "signed-key")
    assert object_absent(alice, alice_bucket, "other-key")


def test_tampered_query_on_upload_part(auth_server, alice, alice_bucket):
    up = alice.create_multipart_upload(Bucket=alice_bucket, Key="mp")["UploadId"]
    body = b"part data"
    req = signed_put(auth_server, alice_bucket, "mp", body, params=[("partNumber", "1"), ("uploadId", up)])
    good_target = req.target
    req.target = good_target.replace("partNumber=1", "partNumber=2")
    assert req.target != good_target
    assert_error(sv.send_signed(auth_server.port, req, body), 403, "SignatureDoesNotMatch")
    assert alice.list_parts(Bucket=alice_bucket, Key="mp", UploadId=up).get("Parts", []) == []
    req.target = good_target                    # control: the untampered request is accepted
    assert sv.send_signed(auth_server.port, req, body)[0] == 200
    alice.abort_multipart_upload(Bucket=alice_bucket, Key="mp", UploadId=up)


def test_tampered_query_on_listing(auth_server, alice_bucket):
    req = sv.sign("GET", f"/{alice_bucket}", creds=ALICE_CREDS, host=host(auth_server),
                  params=[("list-type", "2"), ("prefix", "public")])
    req.target = req.target.replace("prefix=public", "prefix=secret")
    assert_error(sv.send_signed(auth_server.port, req), 403, "SignatureDoesNotMatch")
    extra = sv.sign("GET", f"/{alice_bucket}", creds=ALICE_CREDS, host=host(auth_server), params=[("list-type", "2")])
    extra.target += "&max-keys=1"
    assert_error(sv.send_signed(auth_server.port, extra), 403, "SignatureDoesNotMatch")


@pytest.mark.parametrize("name,signed_value,sent_value", [
    ("x-amz-meta-color", "red", "blue"),
    ("Content-Type", "text/plain", "text/html"),
    ("x-amz-acl", "private", "public-read"),
])
def test_tampered_signed_header(auth_server, alice, alice_bucket, name, signed_value, sent_value):
    body = b"hdr"
    req = signed_put(auth_server, alice_bucket, "hdr", body, headers={name: signed_value})
    req.headers[name] = sent_value
    assert_error(sv.send_signed(auth_server.port, req, body), 403, "SignatureDoesNotMatch")
    assert object_absent(alice, alice_bucket, "hdr")


@pytest.mark.parametrize("auth", ["header", "presigned"])
def test_unsigned_amz_header_is_rejected(auth_server, alice, alice_bucket, auth):
    """S3 requires every x-amz-* header present to be signed: 403 AccessDenied "There were
    headers present in the request which were not signed", naming them in HeadersNotSigned."""
    body = b"hdr"
    if auth == "header":
        req = signed_put(auth_server, alice_bucket, "unsigned-hdr", body)
        hdrs, target = dict(req.headers), req.target
    else:
        target = sv.presign("PUT", sv.key_path(alice_bucket, "unsigned-hdr"), creds=ALICE_CREDS,
                            host=host(auth_server))
        hdrs = {"Host": host(auth_server)}
    hdrs["x-amz-acl"] = "public-read"
    hdrs["Content-Length"] = str(len(body))
    st, _, rb = sv.send_raw(auth_server.port, "PUT", target, hdrs, body)
    assert st == 403, rb
    err = sv.error_of(rb)
    assert err["Code"] == "AccessDenied"
    assert err["Message"] == "There were headers present in the request which were not signed", err
    assert err.get("HeadersNotSigned") == "x-amz-acl", err
    assert object_absent(alice, alice_bucket, "unsigned-hdr")


def test_body_differs_from_signed_content_sha256(auth_server, alice, alice_bucket):
    signed_body, sent_body = b"the body that was signed", b"a body that was not signed"
    req = signed_put(auth_server, alice_bucket, "tampered-body", signed_body)
    err = assert_error(sv.send_signed(auth_server.port, req, sent_body), 400, "XAmzContentSHA256Mismatch")
    assert err.get("ClientComputedContentSHA256") == sv.sha256_hex(signed_body), err
    assert err.get("S3ComputedContentSHA256") == sv.sha256_hex(sent_body), err
    assert object_absent(alice, alice_bucket, "tampered-body")


def test_body_and_content_sha256_both_replaced(auth_server, alice, alice_bucket):
    """The attacker also rewrites x-amz-content-sha256 to match the new body: the signature
    covers the header, so it no longer matches."""
    signed_body, sent_body = b"original", b"evil!!!!"
    req = signed_put(auth_server, alice_bucket, "tampered-body", signed_body)
    req.headers["x-amz-content-sha256"] = sv.sha256_hex(sent_body)
    assert_error(sv.send_signed(auth_server.port, req, sent_body), 403, "SignatureDoesNotMatch")
    assert object_absent(alice, alice_bucket, "tampered-body")


# ------------------------------------------------------------------------------ malformed / skewed


@pytest.mark.parametrize("mangle", ["no-signed-headers", "no-signature", "short-credential"])
def test_authorization_header_malformed(auth_server, alice, alice_bucket, mangle):
    body = b"m"
    req = signed_put(auth_server, alice_bucket, "malformed", body)
    cred, signed, sig = (p.strip() for p in req.headers["Authorization"][len(sv.ALGORITHM) + 1:].split(","))
    parts = {"no-signed-headers": [cred, sig], "no-signature": [cred, signed],
             "short-credential": [f"Credential={ALICE['accessKeyId']}/{req.timestamp[:8]}/us-east-1", signed, sig]}[mangle]
    req.headers["Authorization"] = f"{sv.ALGORITHM} " + ", ".join(parts)
    assert_error(sv.send_signed(auth_server.port, req, body), 400, "AuthorizationHeaderMalformed")
    assert object_absent(alice, alice_bucket, "malformed")


def test_credential_scope_with_wrong_region(auth_server, alice, alice_bucket):
    body = b"r"
    req = signed_put(auth_server, alice_bucket, "region", body, creds=sv.creds_of(ALICE, region="eu-west-1"))
    err = assert_error(sv.send_signed(auth_server.port, req, body), 400, "AuthorizationHeaderMalformed")
    assert "us-east-1" in (err.get("Region", "") + err.get("Message", "")), err
    assert object_absent(alice, alice_bucket, "region")


@pytest.mark.parametrize("minutes", [-20, 20])
def test_clock_skew_beyond_15_minutes(auth_server, alice, alice_bucket, minutes):
    body = b"skew"
    req = signed_put(auth_server, alice_bucket, "skewed", body, when=sv.utcnow(dt.timedelta(minutes=minutes)))
    assert_error(sv.send_signed(auth_server.port, req, body), 403, "RequestTimeTooSkewed")
    assert object_absent(alice, alice_bucket, "skewed")


def test_clock_skew_within_15_minutes_is_accepted(auth_server, alice, alice_bucket):
    body = b"skew"
    req = signed_put(auth_server, alice_bucket, "slightly-skewed", body, when=sv.utcnow(dt.timedelta(minutes=-10)))
    assert sv.send_signed(auth_server.port, req, body)[0] == 200
    assert alice.get_object(Bucket=alice_bucket, Key="slightly-skewed")["Body"].read() == body


def test_host_header_not_signed(auth_server, alice, alice_bucket):
    body = b"h"
    req = signed_put(auth_server, alice_bucket, "nohost", body, signed_headers=["x-amz-content-sha256", "x-amz-date"])
    assert "SignedHeaders=x-amz-content-sha256;x-amz-date," in req.headers["Authorization"]
    st, _, rb = sv.send_signed(auth_server.port, req, body)
    assert st in (400, 403), (st, rb)
    assert sv.error_of(rb)["Code"] in ("AccessDenied", "SignatureDoesNotMatch"), rb
    assert object_absent(alice, alice_bucket, "nohost")


def test_header_auth_without_content_sha256(auth_server, alice, alice_bucket):
    body = b"no sha"
    req = signed_put(auth_server, alice_bucket, "nosha", body, content_sha256_header=False)
    assert "x-amz-content-sha256" not in req.headers
    err = assert_error(sv.send_signed(auth_server.port, req, body), 400, "InvalidRequest")
    assert err["Message"] == "Missing required header for this request: x-amz-content-sha256"
    assert object_absent(alice, alice_bucket, "nosha")


def test_anonymous_requests_to_private_bucket(auth_server, alice, alice_bucket):
    alice.put_object(Bucket=alice_bucket, Key="private", Body=b"secret")
    for method, path, body in [("GET", f"/{alice_bucket}/private", None), ("HEAD", f"/{alice_bucket}/private", None),
                               ("GET", f"/{alice_bucket}?list-type=2", None),
                               ("PUT", f"/{alice_bucket}/anon-put", b"x"),
                               ("DELETE", f"/{alice_bucket}/private", None)]:
        r = auth_server.http(method, path, body=body)
        assert r.status == 403, (method, path, r.status, r.body)
        if method != "HEAD":
            assert r.error_code() == "AccessDenied"
    assert object_absent(alice, alice_bucket, "anon-put")
    assert alice.get_object(Bucket=alice_bucket, Key="private")["Body"].read() == b"secret"


# ------------------------------------------------------------------------------ presigned URLs


def test_presigned_url_expired(auth_server, alice, alice_bucket):
    url = sv.presign("PUT", sv.key_path(alice_bucket, "expired"), creds=ALICE_CREDS, host=host(auth_server),
                     expires=60, when=sv.utcnow(dt.timedelta(hours=-1)))
    r = auth_server.http("PUT", url, body=b"late")
    assert r.status == 403, r.body
    err = sv.error_of(r.body)
    assert err["Code"] == "AccessDenied" and err["Message"] == "Request has expired", err
    assert object_absent(alice, alice_bucket, "expired")


def test_presigned_url_expires_beyond_seven_days(auth_server, alice, alice_bucket):
    url = sv.presign("PUT", sv.key_path(alice_bucket, "too-long"), creds=ALICE_CREDS, host=host(auth_server),
                     expires=604801)
    r = auth_server.http("PUT", url, body=b"x")
    assert (r.status, r.error_code()) == (400, "AuthorizationQueryParametersError"), r.body
    assert object_absent(alice, alice_bucket, "too-long")
    ok = sv.presign("PUT", sv.key_path(alice_bucket, "seven-days"), creds=ALICE_CREDS, host=host(auth_server),
                    expires=604800)
    assert auth_server.http("PUT", ok, body=b"x").status == 200


def test_presigned_url_dated_in_the_future(auth_server, alice, alice_bucket):
    url = sv.presign("PUT", sv.key_path(alice_bucket, "future"), creds=ALICE_CREDS, host=host(auth_server),
                     expires=3600, when=sv.utcnow(dt.timedelta(minutes=30)))
    r = auth_server.http("PUT", url, body=b"early")
    assert r.status == 403, r.body
    err = sv.error_of(r.body)
    assert err["Code"] == "AccessDenied" and err["Message"] == "Request is not yet valid", err
    assert object_absent(alice, alice_bucket, "future")


def test_presigned_url_with_wrong_signature(auth_server, alice, alice_bucket):
    url = alice.generate_presigned_url("put_object", Params={"Bucket": alice_bucket, "Key": "forged"})
    sig = parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]
    forged = target_of(url).replace(sig, sv.flip_hex(sig))
    r = auth_server.http("PUT", forged, body=b"x")
    assert (r.status, r.error_code()) == (403, "SignatureDoesNotMatch"), r.body
    other_key = target_of(url).replace("/forged?", "/forged2?")
    r = auth_server.http("PUT", other_key, body=b"x")
    assert (r.status, r.error_code()) == (403, "SignatureDoesNotMatch"), r.body
    get_url = alice.generate_presigned_url("get_object", Params={"Bucket": alice_bucket, "Key": "forged"})
    r = auth_server.http("PUT", target_of(get_url), body=b"x")        # a GET URL used for a PUT
    assert (r.status, r.error_code()) == (403, "SignatureDoesNotMatch"), r.body
    assert object_absent(alice, alice_bucket, "forged") and object_absent(alice, alice_bucket, "forged2")


@pytest.mark.parametrize("case", ["negative-expires", "non-numeric-expires", "missing-signature",
                                  "missing-credential"])
def test_presigned_url_with_bad_query_parameters(auth_server, alice, alice_bucket, case):
    url = sv.presign("PUT", sv.key_path(alice_bucket, "badq"), creds=ALICE_CREDS, host=host(auth_server), expires=60)
    path, _, query = url.partition("?")
    params = [p.split("=", 1) for p in query.split("&")]
    if case == "negative-expires":
        params = [[k, "-1" if k == "X-Amz-Expires" else v] for k, v in params]
    elif case == "non-numeric-expires":
        params = [[k, "soon" if k == "X-Amz-Expires" else v] for k, v in params]
    elif case == "missing-signature":
        params = [[k, v] for k, v in params if k != "X-Amz-Signature"]
    else:
        params = [[k, v] for k, v in params if k != "X-Amz-Credential"]
    r = auth_server.http("PUT", path + "?" + "&".join(f"{k}={v}" for k, v in params), body=b"x")
    assert (r.status, r.error_code()) == (400, "AuthorizationQueryParametersError"), r.body
    assert object_absent(alice, alice_bucket, "badq")


def test_two_auth_mechanisms_at_once(auth_server, alice, alice_bucket):
    """Authorization header and presigned query parameters together: 400 InvalidArgument."""
    body = b"both"
    url = sv.presign("PUT", sv.key_path(alice_bucket, "both"), creds=ALICE_CREDS, host=host(auth_server))
    req = signed_put(auth_server, alice_bucket, "both", body)
    hdrs = dict(req.headers, **{"Content-Length": str(len(body))})
    st, _, rb = sv.send_raw(auth_server.port, "PUT", url, hdrs, body)
    assert st == 400 and sv.error_of(rb)["Code"] == "InvalidArgument", rb
    assert object_absent(alice, alice_bucket, "both")


def test_presigned_url_replayed_after_expiry(auth_server, alice, alice_bucket):
    expires = 3
    url = alice.generate_presigned_url("put_object", Params={"Bucket": alice_bucket, "Key": "replay"},
                                       ExpiresIn=expires)
    signed_at = dt.datetime.strptime(parse_qs(urlsplit(url).query)["X-Amz-Date"][0], sv.TIME_FORMAT).replace(
        tzinfo=dt.timezone.utc)
    r = auth_server.http("PUT", target_of(url), body=b"first")
    assert r.status == 200, r.body
    wait = (signed_at + dt.timedelta(seconds=expires + 2) - dt.datetime.now(dt.timezone.utc)).total_seconds()
    time.sleep(max(wait, 0))
    r = auth_server.http("PUT", target_of(url), body=b"replayed")
    assert r.status == 403, r.body
    err = sv.error_of(r.body)
    assert err["Code"] == "AccessDenied" and err["Message"] == "Request has expired", err
    assert alice.get_object(Bucket=alice_bucket, Key="replay")["Body"].read() == b"first"


# ------------------------------------------------------------------------------ streaming signatures


@pytest.mark.raw
@pytest.mark.parametrize("size,chunk", [(150_000, 65536), (20_000, 8192), (1, 65536), (0, 65536)])
def test_streaming_signed_upload(auth_server, alice, alice_bucket, size, chunk):
    data = os.urandom(size)
    up = sv.streaming_put(sv.key_path(alice_bucket, "stream"), data, creds=ALICE_CREDS, host=host(auth_server),
                          chunk_size=chunk)
    assert len(up.chunks) == -(-size // chunk) + 1
    st, h, body = sv.send_signed(auth_server.port, up.signed, up.body)
    assert st == 200, body
    assert h["etag"] == '"%s"' % hashlib.md5(data).hexdigest()
    got = alice.get_object(Bucket=alice_bucket, Key="stream")
    assert got["Body"].read() == data and got["ContentLength"] == size
    assert "ContentEncoding" not in got


@pytest.mark.raw
def test_streaming_signed_upload_part(auth_server, alice, alice_bucket):
    up_id = alice.create_multipart_upload(Bucket=alice_bucket, Key="mp-stream")["UploadId"]
    part = os.urandom(5 * MIB)
    up = sv.streaming_put(sv.key_path(alice_bucket, "mp-stream"), part, creds=ALICE_CREDS, host=host(auth_server),
                          params=[("partNumber", "1"), ("uploadId", up_id)])
    st, h, body = sv.send_signed(auth_server.port, up.signed, up.body)
    assert st == 200, body
    bad = sv.streaming_put(sv.key_path(alice_bucket, "mp-stream"), b"p2" * 1000, creds=ALICE_CREDS,
                           host=host(auth_server), params=[("partNumber", "2"), ("uploadId", up_id)], corrupt_chunk=1)
    assert_error(sv.send_signed(auth_server.port, bad.signed, bad.body), 403, "SignatureDoesNotMatch")
    parts = alice.list_parts(Bucket=alice_bucket, Key="mp-stream", UploadId=up_id)["Parts"]
    assert [p["PartNumber"] for p in parts] == [1]
    alice.complete_multipart_upload(Bucket=alice_bucket, Key="mp-stream", UploadId=up_id, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": h["etag"]}]})
    assert alice.get_object(Bucket=alice_bucket, Key="mp-stream")["Body"].read() == part


@pytest.mark.raw
@pytest.mark.parametrize("corrupt", [0, 1, 2], ids=["first-chunk", "second-chunk", "final-empty-chunk"])
def test_streaming_corrupted_chunk_signature(auth_server, alice, alice_bucket, corrupt):
    data = os.urandom(100_000)                  # chunks: 65536, 34464, 0
    up = sv.streaming_put(sv.key_path(alice_bucket, "bad-chunk"), data, creds=ALICE_CREDS, host=host(auth_server),
                          corrupt_chunk=corrupt)
    assert_error(sv.send_signed(auth_server.port, up.signed, up.body), 403, "SignatureDoesNotMatch")
    assert object_absent(alice, alice_bucket, "bad-chunk")


@pytest.mark.raw
def test_streaming_tampered_chunk_data(auth_server, alice, alice_bucket):
    data = b"A" * 100_000
    up = sv.streaming_put(sv.key_path(alice_bucket, "bad-data"), data, creds=ALICE_CREDS, host=host(auth_server))
    i = up.body.index(b"A" * 100, 70_000)       # inside the second chunk
    body = up.body[:i] + b"B" + up.body[i + 1:]
    assert_error(sv.send_signed(auth_server.port, up.signed, body), 403, "SignatureDoesNotMatch")
    assert object_absent(alice, alice_bucket, "bad-data")


@pytest.mark.raw
def test_streaming_wrong_seed_signature(auth_server, alice, alice_bucket):
    up = sv.streaming_put(sv.key_path(alice_bucket, "bad-seed"), b"z" * 1000,
                          creds=sv.Creds(ALICE["accessKeyId"], "wrong"), host=host(auth_server))
    assert_error(sv.send_signed(auth_server.port, up.signed, up.body), 403, "SignatureDoesNotMatch")
    assert object_absent(alice, alice_bucket, "bad-seed")


@pytest.mark.raw
def test_streaming_signed_trailer(auth_server, alice, alice_bucket):
    data = os.urandom(70_000)
    crc = checksum_b64("CRC32", data)
    up = sv.streaming_put(sv.key_path(alice_bucket, "trailer"), data, creds=ALICE_CREDS, host=host(auth_server),
                          trailers={"x-amz-checksum-crc32": crc})
    assert up.signed.headers["x-amz-content-sha256"] == sv.STREAMING_SIGNED_TRAILER
    st, h, body = sv.send_signed(auth_server.port, up.signed, up.body)
    assert st == 200, body
    assert h.get("x-amz-checksum-crc32") == crc
    got = alice.get_object(Bucket=alice_bucket, Key="trailer", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ChecksumCRC32"] == crc


@pytest.mark.raw
def test_streaming_bad_trailer_signature(auth_server, alice, alice_bucket):
    data = os.urandom(70_000)
    up = sv.streaming_put(sv.key_path(alice_bucket, "bad-trailer"), data, creds=ALICE_CREDS, host=host(auth_server),
                          trailers={"x-amz-checksum-crc32": checksum_b64("CRC32", data)}, corrupt_trailer=True)
    assert_error(sv.send_signed(auth_server.port, up.signed, up.body), 403, "SignatureDoesNotMatch")
    assert object_absent(alice, alice_bucket, "bad-trailer")


@pytest.mark.raw
def test_streaming_signed_trailer_with_wrong_checksum(auth_server, alice, alice_bucket):
    """Correctly signed, but the trailer's CRC32 is not the body's: 400 BadDigest."""
    data = os.urandom(70_000)
    wrong = checksum_b64("CRC32", data + b"!")
    assert wrong != checksum_b64("CRC32", data)
    up = sv.streaming_put(sv.key_path(alice_bucket, "bad-crc"), data, creds=ALICE_CREDS, host=host(auth_server),
                          trailers={"x-amz-checksum-crc32": wrong})
    assert_error(sv.send_signed(auth_server.port, up.signed, up.body), 400, "BadDigest")
    assert object_absent(alice, alice_bucket, "bad-crc")


# ------------------------------------------------------------------------------ review regressions


def test_presigned_payload_hash_in_query_is_enforced(auth_server, alice, alice_bucket):
    """A presigned URL that signs X-Amz-Content-Sha256 only accepts that body."""
    good = b"the signed body"
    target = sv.presign("PUT", sv.key_path(alice_bucket, "hashed"), creds=ALICE_CREDS, host=host(auth_server),
                        payload_hash=sv.sha256_hex(good))
    hdrs = {"Host": host(auth_server)}
    st, _, body = sv.send_raw(auth_server.port, "PUT", target, {**hdrs, "Content-Length": "9"}, b"other 9by")
    assert st == 400 and sv.error_of(body).get("Code") == "XAmzContentSHA256Mismatch", body
    assert object_absent(alice, alice_bucket, "hashed")
    st, _, body = sv.send_raw(auth_server.port, "PUT", target, {**hdrs, "Content-Length": str(len(good))}, good)
    assert st == 200, body
    assert alice.get_object(Bucket=alice_bucket, Key="hashed")["Body"].read() == good


def test_anonymous_signed_streaming_payload_is_refused(auth_server, alice, alice_bucket):
    """Chunk signatures with no request signature to chain from cannot be checked."""
    payload = b"x" * 100
    framed = f"{len(payload):x};chunk-signature={'0' * 64}\r\n".encode() + payload + b"\r\n" + \
        f"0;chunk-signature={'0' * 64}\r\n\r\n".encode()
    resp = sv.send_raw(auth_server.port, "PUT", sv.key_path(alice_bucket, "anon-stream"), {
        "Host": host(auth_server), "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "100",
        "Content-Length": str(len(framed))}, framed)
    assert_error(resp, 403, "AccessDenied")
    assert object_absent(alice, alice_bucket, "anon-stream")


def test_anonymous_request_to_missing_bucket_is_404_before_the_body(auth_server, alice):
    """Authorization fails closed: nothing can be authorized against a bucket that only
    appears while the body is arriving."""
    name = unique_bucket("late")
    resp = sv.send_raw(auth_server.port, "PUT", f"/{name}?policy",
                       {"Host": host(auth_server), "Content-Length": "2"}, b"{}")
    assert_error(resp, 404, "NoSuchBucket")
