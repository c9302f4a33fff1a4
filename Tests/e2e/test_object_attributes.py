"""GetObjectAttributes: GET /{bucket}/{key}?attributes with x-amz-object-attributes.

Every expectation follows Amazon S3's documented (or, where noted, AWS-validated) behaviour
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectAttributes.html). The rules pinned here:
- only the requested root elements appear, in the order ETag, Checksum, ObjectParts, StorageClass,
  ObjectSize, under <GetObjectAttributesResponse> in the S3 namespace; Last-Modified is a header;
- ETag is unquoted; StorageClass is STANDARD; ObjectParts appears only for multipart objects;
- Checksum carries the stored value and ChecksumType; a COMPOSITE value has no "-N" suffix here;
- Part elements (PartNumber, Size, part checksum) are listed only for COMPOSITE checksums;
- missing/empty header -> 400 InvalidRequest, unknown name -> 400 InvalidArgument;
- conditional headers behave as on HeadObject; access needs s3:GetObject AND s3:GetObjectAttributes.

Objects that must carry no checksum are written with raw requests: botocore adds a CRC32 to
put_object by default."""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import time

import pytest

import mpu
from conftest import (BOB, S3_NS, denied, expect_client_error, find_text, principal_arn, strip_ns,
                      unique_bucket)
from s3checksums import (ALGORITHMS, FIVE_MIB, THREE_PART_COMPOSITE, THREE_PART_FULL_OBJECT, VECTORS,
                         ZERO_PART, header_name, multipart_etag)

ALL = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
ZERO = bytes(FIVE_MIB)
HW = b"Hello world"
THREE = [ZERO, ZERO, HW]
MISSING_HEADER = "The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty"


def attrs(client, bucket, key, *names, **kw):
    r = client.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=list(names or ALL), **kw)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    return r


def body_fields(resp) -> set[str]:
    """Top-level fields of a parsed response other than the Last-Modified header."""
    return set(resp) - {"ResponseMetadata", "LastModified"}


def raw_attrs(server, bucket, key, names: str | None, headers: dict | None = None):
    h = dict(headers or {})
    if names is not None:
        h["x-amz-object-attributes"] = names
    return server.http("GET", f"/{bucket}/{key}?attributes", headers=h)


def raw_put(server, bucket, key, body, headers=None):
    r = server.http("PUT", f"/{bucket}/{key}", body=body, headers=headers)
    assert r.status == 200, r.body
    return r


def upload_three(server, bucket, key, alg: str | None = None, checksum_type: str | None = None):
    """Multipart object: 5 MiB zeros, 5 MiB zeros, "Hello world" (part checksums sent when `alg`)."""
    create = {"x-amz-checksum-algorithm": alg} if alg else {}
    if checksum_type:
        create["x-amz-checksum-type"] = checksum_type
    uid = mpu.create(server, bucket, key, create or None)
    values = [ZERO_PART[alg], ZERO_PART[alg], VECTORS[HW][alg]] if alg else [None] * 3
    parts = [mpu.put_part(server, bucket, key, uid, n, body, alg, value)
             for n, (body, value) in enumerate(zip(THREE, values), 1)]
    r = mpu.complete(server, bucket, key, uid, mpu.complete_xml(parts, alg))
    assert r.status == 200, r.body


# ------------------------------------------------------------------------------ single-part objects


def test_single_part_object_attributes(server, s3, bucket):
    """ETag (unquoted), ObjectSize, StorageClass STANDARD, Last-Modified as a header; a single-part
    object has no ObjectParts and an object stored without a checksum has no Checksum."""
    body = os.urandom(4321)
    put = raw_put(server, bucket, "plain", body)
    head = s3.head_object(Bucket=bucket, Key="plain")
    r = attrs(s3, bucket, "plain")
    assert r["ETag"] == put.header("ETag").strip('"') == hashlib.md5(body).hexdigest()
    assert r["ObjectSize"] == 4321
    assert r["StorageClass"] == "STANDARD"
    assert r["LastModified"] == head["LastModified"]
    assert body_fields(r) == {"ETag", "ObjectSize", "StorageClass"}


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_single_part_checksum_is_full_object(server, s3, bucket, alg):
    """Checksum holds the value stored with the object and ChecksumType FULL_OBJECT."""
    raw_put(server, bucket, "ck", HW, {header_name(alg): VECTORS[HW][alg]})
    r = attrs(s3, bucket, "ck")
    assert r["Checksum"] == {f"Checksum{alg}": VECTORS[HW][alg], "ChecksumType": "FULL_OBJECT"}
    assert r["ObjectSize"] == len(HW) and "ObjectParts" not in r


def test_boto3_checksum_algorithm_upload(s3, bucket):
    """A checksum the SDK computed on upload (ChecksumAlgorithm=SHA256) is reported as stored."""
    data = os.urandom(100_000)
    put = s3.put_object(Bucket=bucket, Key="sdk", Body=data, ChecksumAlgorithm="SHA256")
    r = attrs(s3, bucket, "sdk", "Checksum")
    assert r["Checksum"] == {"ChecksumSHA256": put["ChecksumSHA256"], "ChecksumType": "FULL_OBJECT"}


def test_only_requested_attributes_are_returned(server, s3, bucket):
    """"Fields that you do not specify are not returned" (x-amz-object-attributes)."""
    raw_put(server, bucket, "k", HW, {"x-amz-checksum-crc32": VECTORS[HW]["CRC32"]})
    assert body_fields(attrs(s3, bucket, "k", "ObjectSize")) == {"ObjectSize"}
    assert attrs(s3, bucket, "k", "ObjectSize")["ObjectSize"] == len(HW)
    assert body_fields(attrs(s3, bucket, "k", "ETag", "Checksum")) == {"ETag", "Checksum"}
    assert body_fields(attrs(s3, bucket, "k", "StorageClass")) == {"StorageClass"}
    upload_three(server, bucket, "mp", "CRC32")
    assert body_fields(attrs(s3, bucket, "mp", "ObjectSize")) == {"ObjectSize"}
    assert body_fields(attrs(s3, bucket, "mp", "ObjectParts")) == {"ObjectParts"}


# ------------------------------------------------------------------------------ multipart objects


@pytest.mark.parametrize("alg", ["CRC32", "SHA256"])
def test_composite_multipart_object(server, s3, bucket, alg):
    """COMPOSITE upload: ObjectParts lists every Part with PartNumber, Size and its checksum;
    Checksum is the checksum of the part checksums WITHOUT the "-N" suffix that HeadObject and
    CompleteMultipartUpload show, and ChecksumType COMPOSITE."""
    key = f"comp-{alg}"
    upload_three(server, bucket, key, alg)
    r = attrs(s3, bucket, key)
    assert r["ETag"] == multipart_etag(THREE).strip('"')
    assert r["ObjectSize"] == 2 * FIVE_MIB + len(HW)
    assert r["StorageClass"] == "STANDARD"
    value, suffix = THREE_PART_COMPOSITE[alg].rsplit("-", 1)
    assert suffix == "3"
    assert r["Checksum"] == {f"Checksum{alg}": value, "ChecksumType": "COMPOSITE"}
    parts = r["ObjectParts"]
    assert parts["TotalPartsCount"] == 3
    assert parts["IsTruncated"] is False
    assert parts["MaxParts"] == 1000            # the ListParts default page size
    assert parts["Parts"] == [
        {"PartNumber": 1, "Size": FIVE_MIB, f"Checksum{alg}": ZERO_PART[alg]},
        {"PartNumber": 2, "Size": FIVE_MIB, f"Checksum{alg}": ZERO_PART[alg]},
        {"PartNumber": 3, "Size": len(HW), f"Checksum{alg}": VECTORS[HW][alg]},
    ]


def test_composite_parts_pagination(server, s3, bucket):
    """x-amz-max-parts / x-amz-part-number-marker page the Part list like ListParts: IsTruncated,
    MaxParts, PartNumberMarker and NextPartNumberMarker (the last part listed)."""
    upload_three(server, bucket, "pg", "SHA256")
    first = attrs(s3, bucket, "pg", "ObjectParts", MaxParts=2)["ObjectParts"]
    assert first["TotalPartsCount"] == 3
    assert first["IsTruncated"] is True
    assert first["MaxParts"] == 2
    assert first["NextPartNumberMarker"] == 2
    assert first.get("PartNumberMarker", 0) == 0
    assert [p["PartNumber"] for p in first["Parts"]] == [1, 2]
    rest = attrs(s3, bucket, "pg", "ObjectParts", MaxParts=2, PartNumberMarker=2)["ObjectParts"]
    assert rest["TotalPartsCount"] == 3
    assert rest["IsTruncated"] is False
    assert rest["PartNumberMarker"] == 2
    assert rest["Parts"] == [{"PartNumber": 3, "Size": len(HW), "ChecksumSHA256": VECTORS[HW]["SHA256"]}]
    exact = attrs(s3, bucket, "pg", "ObjectParts", MaxParts=3)["ObjectParts"]
    assert exact["IsTruncated"] is False and len(exact["Parts"]) == 3
    past_end = attrs(s3, bucket, "pg", "ObjectParts", PartNumberMarker=3)["ObjectParts"]
    assert past_end["IsTruncated"] is False and past_end.get("Parts", []) == []


@pytest.mark.parametrize("alg", ["CRC32", "CRC64NVME"])
def test_full_object_multipart_object(server, s3, bucket, alg):
    """FULL_OBJECT upload: Checksum is the whole-object CRC with ChecksumType FULL_OBJECT;
    ObjectParts gives the parts count but no Part elements (as LocalStack's AWS-validated S3 does)."""
    key = f"full-{alg}"
    upload_three(server, bucket, key, alg, "FULL_OBJECT")
    r = attrs(s3, bucket, key)
    assert r["Checksum"] == {f"Checksum{alg}": THREE_PART_FULL_OBJECT[alg], "ChecksumType": "FULL_OBJECT"}
    assert r["ObjectParts"]["TotalPartsCount"] == 3
    assert "Parts" not in r["ObjectParts"]
    assert r["ObjectSize"] == 2 * FIVE_MIB + len(HW)
    assert r["ETag"] == multipart_etag(THREE).strip('"')


def test_multipart_object_without_checksums(server, s3, bucket):
    """Without an additional checksum "the response doesn't return the Part element": ObjectParts
    carries the parts count only, and there is no Checksum."""
    upload_three(server, bucket, "nock")
    r = attrs(s3, bucket, "nock")
    assert r["ObjectParts"]["TotalPartsCount"] == 3
    assert "Parts" not in r["ObjectParts"]
    assert "Checksum" not in r
    assert r["ETag"] == multipart_etag(THREE).strip('"')
    assert r["ObjectSize"] == 2 * FIVE_MIB + len(HW) and r["StorageClass"] == "STANDARD"


# ------------------------------------------------------------------------------ errors


def test_missing_key_and_missing_bucket(s3, bucket):
    """NoSuchKey (404) for a missing key, NoSuchBucket (404) for a missing bucket."""
    assert expect_client_error(s3.get_object_attributes, Bucket=bucket, Key="nope",
                               ObjectAttributes=["ETag"]) == ("NoSuchKey", 404)
    assert expect_client_error(s3.get_object_attributes, Bucket=unique_bucket("gone"), Key="k",
                               ObjectAttributes=["ETag"]) == ("NoSuchBucket", 404)


@pytest.mark.parametrize("value", [None, ""], ids=["missing", "empty"])
def test_missing_or_empty_attributes_header_is_invalid_request(server, bucket, value):
    """x-amz-object-attributes is required: absent or empty -> 400 InvalidRequest."""
    raw_put(server, bucket, "k", b"x")
    r = raw_attrs(server, bucket, "k", value)
    assert r.status == 400 and r.error_code() == "InvalidRequest", r.body
    assert find_text(r.xml(), "Message") == MISSING_HEADER


def test_unknown_attribute_name_is_invalid_argument(server, s3, bucket):
    """Names outside ETag, Checksum, ObjectParts, StorageClass, ObjectSize -> 400 InvalidArgument."""
    raw_put(server, bucket, "k", b"x")
    assert expect_client_error(s3.get_object_attributes, Bucket=bucket, Key="k",
                               ObjectAttributes=["ETag", "Bogus"]) == ("InvalidArgument", 400)
    r = raw_attrs(server, bucket, "k", "LastModified")
    assert r.status == 400 and r.error_code() == "InvalidArgument"
    assert find_text(r.xml(), "Message") == "Invalid attribute name specified."


# ------------------------------------------------------------------------------ conditional requests


@pytest.fixture
def cond(server, bucket):
    """(bucket, quoted ETag, a date before and a date after the object's Last-Modified)."""
    etag = raw_put(server, bucket, "c", b"conditional").header("ETag")
    now = time.time()
    return bucket, etag, email.utils.formatdate(now - 86400, usegmt=True), email.utils.formatdate(now + 86400, usegmt=True)


def test_if_match_and_if_none_match(server, cond):
    """If-Match mismatch -> 412 PreconditionFailed; If-None-Match match -> 304 with no body."""
    b, etag, _, _ = cond
    assert raw_attrs(server, b, "c", "ETag", {"If-Match": etag}).status == 200
    r = raw_attrs(server, b, "c", "ETag", {"If-Match": '"00000000000000000000000000000000"'})
    assert r.status == 412 and r.error_code() == "PreconditionFailed"
    r = raw_attrs(server, b, "c", "ETag", {"If-None-Match": etag})
    assert r.status == 304 and r.body == b""
    assert raw_attrs(server, b, "c", "ETag", {"If-None-Match": '"0000"'}).status == 200


def test_if_modified_and_unmodified_since(server, cond):
    """If-Modified-Since not older than Last-Modified -> 304; If-Unmodified-Since older -> 412."""
    b, _, past, future = cond
    assert raw_attrs(server, b, "c", "ETag", {"If-Modified-Since": future}).status == 304
    assert raw_attrs(server, b, "c", "ETag", {"If-Modified-Since": past}).status == 200
    r = raw_attrs(server, b, "c", "ETag", {"If-Unmodified-Since": past})
    assert r.status == 412 and r.error_code() == "PreconditionFailed"
    assert raw_attrs(server, b, "c", "ETag", {"If-Unmodified-Since": future}).status == 200


def test_conditional_header_combinations(server, cond):
    """If-Match true + If-Unmodified-Since false -> 200; If-None-Match false + If-Modified-Since
    true -> 304 (the two documented combinations)."""
    b, etag, past, _ = cond
    r = raw_attrs(server, b, "c", "ETag", {"If-Match": etag, "If-Unmodified-Since": past})
    assert r.status == 200 and find_text(r.xml(), "ETag") == etag.strip('"')
    assert raw_attrs(server, b, "c", "ETag", {"If-None-Match": etag, "If-Modified-Since": past}).status == 304


# ------------------------------------------------------------------------------ authorization


def grant(alice, bucket, *actions, list_bucket: bool = False):
    """alice's bucket policy: bob may do `actions` on its objects (and s3:ListBucket if asked)."""
    bob = {"AWS": principal_arn(BOB)}
    statements = [{"Effect": "Allow", "Principal": bob, "Action": list(actions), "Resource": f"arn:aws:s3:::{bucket}/*"}]
    if list_bucket:
        statements.append({"Effect": "Allow", "Principal": bob, "Action": "s3:ListBucket",
                           "Resource": f"arn:aws:s3:::{bucket}"})
    alice.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))


@pytest.fixture
def owned(alice, alice_bucket):
    alice.put_object(Bucket=alice_bucket, Key="doc", Body=b"attributes")
    return alice_bucket


def test_owner_may_read_attributes(alice, owned):
    assert attrs(alice, owned, "doc", "ObjectSize")["ObjectSize"] == len(b"attributes")


def test_other_user_and_anonymous_are_denied(bob, anon, owned):
    """READ access to the object is required: no grant -> 403 AccessDenied."""
    denied(bob.get_object_attributes, Bucket=owned, Key="doc", ObjectAttributes=["ETag"])
    denied(anon.get_object_attributes, Bucket=owned, Key="doc", ObjectAttributes=["ETag"])


@pytest.mark.parametrize("actions,allowed", [
    (["s3:GetObjectAttributes"], False),
    (["s3:GetObject"], False),
    (["s3:GetObject", "s3:GetObjectAttributes"], True),
    (["s3:GetObject*"], True),
], ids=["attributes-only", "getobject-only", "both", "wildcard"])
def test_policy_needs_get_object_and_get_object_attributes(alice, bob, owned, actions, allowed):
    """Without a version ID, "you need the s3:GetObject and s3:GetObjectAttributes permissions"."""
    grant(alice, owned, *actions)
    if allowed:
        assert attrs(bob, owned, "doc", "ObjectSize")["ObjectSize"] == len(b"attributes")
    else:
        denied(bob.get_object_attributes, Bucket=owned, Key="doc", ObjectAttributes=["ObjectSize"])


def test_missing_key_is_403_without_list_bucket(alice, bob, owned):
    """Missing key: 404 NoSuchKey with s3:ListBucket on the bucket, 403 AccessDenied without it."""
    grant(alice, owned, "s3:GetObject", "s3:GetObjectAttributes")
    denied(bob.get_object_attributes, Bucket=owned, Key="missing", ObjectAttributes=["ETag"])
    grant(alice, owned, "s3:GetObject", "s3:GetObjectAttributes", list_bucket=True)
    assert expect_client_error(bob.get_object_attributes, Bucket=owned, Key="missing",
                               ObjectAttributes=["ETag"]) == ("NoSuchKey", 404)


# ------------------------------------------------------------------------------ wire format


def test_raw_response_document(server, s3, bucket):
    """Root <GetObjectAttributesResponse> in the S3 namespace; Last-Modified header; unquoted ETag."""
    raw_put(server, bucket, "raw", b"raw body")
    head = server.http("HEAD", f"/{bucket}/raw")
    r = raw_attrs(server, bucket, "raw", "ETag,ObjectSize")
    assert r.status == 200, r.body
    root = r.xml()
    assert root.tag == f"{S3_NS}GetObjectAttributesResponse"
    assert [strip_ns(c.tag) for c in root] == ["ETag", "ObjectSize"]
    assert find_text(root, "ETag") == head.header("ETag").strip('"')
    assert find_text(root, "ObjectSize") == "8"
    assert r.header("Last-Modified") == head.header("Last-Modified")


def test_raw_multipart_document_names_and_order(server, bucket):
    """Root children in documented order; the parts count is <PartsCount> and each part a
    flattened <Part> (the SDK names them TotalPartsCount and Parts)."""
    upload_three(server, bucket, "rawmp", "SHA256")
    r = raw_attrs(server, bucket, "rawmp", ",".join(ALL))
    assert r.status == 200, r.body
    root = r.xml()
    assert [strip_ns(c.tag) for c in root] == ALL
    checksum = next(c for c in root if strip_ns(c.tag) == "Checksum")
    assert [strip_ns(c.tag) for c in checksum] == ["ChecksumSHA256", "ChecksumType"]
    assert find_text(checksum, "ChecksumSHA256") == THREE_PART_COMPOSITE["SHA256"].rsplit("-", 1)[0]
    parts = next(c for c in root if strip_ns(c.tag) == "ObjectParts")
    names = [strip_ns(c.tag) for c in parts]
    assert find_text(parts, "PartsCount") == "3" and "TotalPartsCount" not in names and "Parts" not in names
    listed = mpu.children(parts, "Part")
    assert [find_text(p, "PartNumber") for p in listed] == ["1", "2", "3"]
    assert [find_text(p, "Size") for p in listed] == [str(FIVE_MIB), str(FIVE_MIB), str(len(HW))]
    assert find_text(root, "StorageClass") == "STANDARD"
