"""Multipart uploads: Create/UploadPart/UploadPartCopy/Complete/Abort/ListParts/
ListMultipartUploads, multipart checksums (COMPOSITE and FULL_OBJECT), partNumber reads,
conditional completes, bucket deletion with uploads, persistence and expiry.

Expected values follow Amazon S3's documented (or, where noted, AWS-observed) behaviour; see
.nogit/research/s3-checksums-and-chunked.md for the sources of the checksum vectors."""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import os
import signal
import socket
import sqlite3
import time

import pytest
from botocore.exceptions import ClientError

import mpu
from conftest import (E2E_DRIVES, assert_tmp_empty, client_error, find_text, strip_ns, unique_bucket,
                      wait_for_upload_in_progress)
from mpu import MIB, Part
from s3checksums import (FIVE_MIB, ONE_PART_COMPOSITE, THREE_PART_COMPOSITE, THREE_PART_FULL_OBJECT,
                         VECTORS, ZERO_PART, checksum_b64, composite_b64, header_name, multipart_etag)


def boto_upload(s3, bucket, key, bodies, **create_kw):
    """Create + upload `bodies` as parts 1..N with boto3; returns (upload id, part dicts for Complete)."""
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key, **create_kw)["UploadId"]
    algorithm = create_kw.get("ChecksumAlgorithm")
    parts = []
    for n, body in enumerate(bodies, 1):
        kw = {"ChecksumAlgorithm": algorithm} if algorithm else {}
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=body, **kw)
        entry = {"ETag": r["ETag"], "PartNumber": n}
        if algorithm:
            entry[f"Checksum{algorithm}"] = r[f"Checksum{algorithm}"]
        parts.append(entry)
    return uid, parts


def assert_no_upload(s3, bucket, key, uid):
    with pytest.raises(ClientError) as ei:
        s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)
    assert client_error(ei)[:2] == ("NoSuchUpload", 404)


# ------------------------------------------------------------------------------ basics


def test_multipart_roundtrip_etag_metadata_and_listing(s3, bucket, server):
    bodies = [os.urandom(FIVE_MIB), os.urandom(FIVE_MIB), os.urandom(1234)]
    uid, parts = boto_upload(s3, bucket, "dir/mp.bin", bodies, ContentType="application/x-mp",
                             Metadata={"origin": "mpu"}, CacheControl="no-cache")
    # the upload is listed while in progress, the key is not an object yet
    ups = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in ups] == [("dir/mp.bin", uid)]
    assert server.http("HEAD", f"/{bucket}/dir/mp.bin").status == 404
    done = s3.complete_multipart_upload(Bucket=bucket, Key="dir/mp.bin", UploadId=uid,
                                        MultipartUpload={"Parts": parts})
    assert done["ETag"] == multipart_etag(bodies)
    assert done["Bucket"] == bucket and done["Key"] == "dir/mp.bin"
    assert done["Location"].endswith(f"/{bucket}/dir/mp.bin")
    whole = b"".join(bodies)
    got = s3.get_object(Bucket=bucket, Key="dir/mp.bin")
    assert got["Body"].read() == whole
    assert got["ETag"] == multipart_etag(bodies)
    head = s3.head_object(Bucket=bucket, Key="dir/mp.bin")
    assert head["ContentLength"] == len(whole)
    assert head["ContentType"] == "application/x-mp"
    assert head["Metadata"] == {"origin": "mpu"}
    assert head["CacheControl"] == "no-cache"
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed] == [("dir/mp.bin", len(whole), multipart_etag(bodies))]
    # the upload is gone once completed
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert_no_upload(s3, bucket, "dir/mp.bin", uid)
    assert_tmp_empty(server)


def test_initiate_result_xml_and_unique_upload_ids(server, bucket):
    ids = set()
    for _ in range(5):
        r = server.http("POST", f"/{bucket}/same?uploads")
        assert r.status == 200
        root = r.xml()
        assert strip_ns(root.tag) == "InitiateMultipartUploadResult"
        assert find_text(root, "Bucket") == bucket
        assert find_text(root, "Key") == "same"
        ids.add(find_text(root, "UploadId"))
    assert len(ids) == 5 and all(ids)


def test_create_on_missing_bucket(s3):
    with pytest.raises(ClientError) as ei:
        s3.create_multipart_upload(Bucket=unique_bucket(), Key="k")
    assert client_error(ei)[:2] == ("NoSuchBucket", 404)


def test_single_empty_part(s3, bucket):
    uid, parts = boto_upload(s3, bucket, "empty-mp", [b""])
    done = s3.complete_multipart_upload(Bucket=bucket, Key="empty-mp", UploadId=uid, MultipartUpload={"Parts": parts})
    assert done["ETag"] == multipart_etag([b""])
    got = s3.get_object(Bucket=bucket, Key="empty-mp")
    assert got["ContentLength"] == 0 and got["Body"].read() == b""


@pytest.mark.parametrize("number", ["0", "10001", "-1", "abc", "1.5", ""])
def test_upload_part_number_out_of_range(server, s3, bucket, number):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="pn")["UploadId"]
    r = mpu.upload_part(server, bucket, "pn", uid, number, b"x")
    assert r.status == 400 and r.error_code() == "InvalidArgument"
    assert s3.list_parts(Bucket=bucket, Key="pn", UploadId=uid).get("Parts", []) == []


def test_upload_part_numbers_1_and_10000(server, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="pn")["UploadId"]
    for n in (1, 10000):
        mpu.put_part(server, bucket, "pn", uid, n, b"edge %d" % n)
    listed = s3.list_parts(Bucket=bucket, Key="pn", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in listed] == [(1, 6), (10000, 10)]
    both = [Part(p["PartNumber"], p["ETag"]) for p in listed]
    # part 1 is below 5 MiB and not the last part
    r = mpu.complete(server, bucket, "pn", uid, mpu.complete_xml(both))
    assert r.status == 400 and r.error_code() == "EntityTooSmall"
    r = mpu.complete(server, bucket, "pn", uid, mpu.complete_xml(both[1:]))
    assert r.status == 200, r.body
    assert s3.get_object(Bucket=bucket, Key="pn")["Body"].read() == b"edge 10000"


def test_non_last_small_part_entity_too_small(server, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="small")["UploadId"]
    p1 = mpu.put_part(server, bucket, "small", uid, 1, b"a" * (FIVE_MIB - 1))
    p2 = mpu.put_part(server, bucket, "small", uid, 2, b"b")
    r = mpu.complete(server, bucket, "small", uid, mpu.complete_xml([p1, p2]))
    assert r.status == 400 and r.error_code() == "EntityTooSmall"
    assert server.http("HEAD", f"/{bucket}/small").status == 404
    # exactly 5 MiB is enough; the last part may be 1 byte
    p1 = mpu.put_part(server, bucket, "small", uid, 1, b"a" * FIVE_MIB)
    r = mpu.complete(server, bucket, "small", uid, mpu.complete_xml([p1, p2]))
    assert r.status == 200, r.body
    assert s3.head_object(Bucket=bucket, Key="small")["ContentLength"] == FIVE_MIB + 1


def test_reupload_replaces_part(server, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="re")["UploadId"]
    first = os.urandom(FIVE_MIB)
    second = os.urandom(FIVE_MIB + 7)
    tail = b"tail"
    old = mpu.put_part(server, bucket, "re", uid, 1, first)
    new = mpu.put_part(server, bucket, "re", uid, 1, second)
    last = mpu.put_part(server, bucket, "re", uid, 2, tail)
    assert old.etag != new.etag
    listed = s3.list_parts(Bucket=bucket, Key="re", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed] == [
        (1, new.etag, len(second)), (2, last.etag, 4)]
    # the replaced part's ETag no longer completes
    r = mpu.complete(server, bucket, "re", uid, mpu.complete_xml([old, last]))
    assert r.status == 400 and r.error_code() == "InvalidPart"
    r = mpu.complete(server, bucket, "re", uid, mpu.complete_xml([new, last]))
    assert r.status == 200, r.body
    assert s3.get_object(Bucket=bucket, Key="re")["Body"].read() == second + tail
    assert s3.head_object(Bucket=bucket, Key="re")["ETag"] == multipart_etag([second, tail])
    # no part file outlives the upload
    assert not (server.directory / ".stowage" / "multipart" / uid).exists()


def test_complete_with_a_subset_of_parts(server, s3, bucket):
    bodies = {1: os.urandom(FIVE_MIB), 2: os.urandom(FIVE_MIB), 3: b"three", 5: b"five"}
    uid = s3.create_multipart_upload(Bucket=bucket, Key="subset")["UploadId"]
    parts = {n: mpu.put_part(server, bucket, "subset", uid, n, b) for n, b in bodies.items()}
    r = mpu.complete(server, bucket, "subset", uid, mpu.complete_xml([parts[1], parts[3]]))
    assert r.status == 200, r.body
    assert s3.get_object(Bucket=bucket, Key="subset")["Body"].read() == bodies[1] + bodies[3]
    assert find_text(r.xml(), "ETag") == multipart_etag([bodies[1], bodies[3]])
    assert_no_upload(s3, bucket, "subset", uid)


def test_upload_part_to_missing_or_foreign_upload(server, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mine")["UploadId"]
    other = unique_bucket()
    s3.create_bucket(Bucket=other)
    try:
        for path in (f"/{bucket}/mine?partNumber=1&uploadId=nosuchupload",
                     f"/{bucket}/not-mine?partNumber=1&uploadId={uid}",
                     f"/{other}/mine?partNumber=1&uploadId={uid}"):
            r = server.http("PUT", path, body=b"data")
            assert r.status == 404 and r.error_code() == "NoSuchUpload", path
        r = server.http("PUT", f"/{unique_bucket()}/mine?partNumber=1&uploadId={uid}", body=b"data")
        assert r.status == 404 and r.error_code() == "NoSuchBucket"
    finally:
        s3.delete_bucket(Bucket=other)
    assert s3.list_parts(Bucket=bucket, Key="mine", UploadId=uid).get("Parts", []) == []


def test_upload_id_is_bound_to_the_exact_key(server, s3, bucket):
    nfc, nfd = "caf\u00e9", "cafe\u0301"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=nfc)["UploadId"]
    r = mpu.upload_part(server, bucket, "cafe%CC%81", uid, 1, b"via the other key")
    assert r.status == 404 and r.error_code() == "NoSuchUpload"
    with pytest.raises(ClientError) as ei:
        s3.list_parts(Bucket=bucket, Key=nfd, UploadId=uid)
    assert client_error(ei)[:2] == ("NoSuchUpload", 404)


def test_upload_part_bad_content_md5_not_stored(server, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="md5")["UploadId"]
    r = mpu.upload_part(server, bucket, "md5", uid, 1, b"part body",
                        {"Content-MD5": "AAAAAAAAAAAAAAAAAAAAAA=="})
    assert r.status == 400 and r.error_code() == "BadDigest"
    assert s3.list_parts(Bucket=bucket, Key="md5", UploadId=uid).get("Parts", []) == []
    assert_tmp_empty(server)


def test_upload_part_short_body_not_stored(server, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="short")["UploadId"]
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        s.sendall((f"PUT /{bucket}/short?partNumber=1&uploadId={uid} HTTP/1.1\r\nHost: h\r\n"
                   f"Content-Length: 100000\r\n\r\n").encode() + b"x" * 1000)
        s.shutdown(socket.SHUT_WR)
        try:
            while s.recv(65536):
                pass
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        s.close()
    assert_tmp_empty(server, wait=10)
    assert s3.list_parts(Bucket=bucket, Key="short", UploadId=uid).get("Parts", []) == []


# ------------------------------------------------------------------------------ complete errors


def test_complete_errors_leave_upload_usable(server, s3, bucket):
    key = "errs"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    p1 = mpu.put_part(server, bucket, key, uid, 1, os.urandom(FIVE_MIB))
    p2 = mpu.put_part(server, bucket, key, uid, 2, os.urandom(FIVE_MIB))
    p3 = mpu.put_part(server, bucket, key, uid, 3, b"end")
    cases = [
        ("descending", mpu.complete_xml([p2, p1, p3]), "InvalidPartOrder"),
        ("duplicate", mpu.complete_xml([p1, p1, p3]), "InvalidPartOrder"),
        ("missing part", mpu.complete_xml([p1, p2, Part(4, p3.etag)]), "InvalidPart"),
        ("wrong etag", mpu.complete_xml([p1, Part(2, p1.etag), p3]), "InvalidPart"),
        ("unknown etag", mpu.complete_xml([p1, Part(2, '"0123456789abcdef0123456789abcdef"'), p3]), "InvalidPart"),
        ("empty list", mpu.complete_xml([]), "MalformedXML"),
        ("not xml", b"<CompleteMultipartUpload><Part>", "MalformedXML"),
        ("no body", b"", "MalformedXML"),
    ]
    for label, body, code in cases:
        r = mpu.complete(server, bucket, key, uid, body)
        assert r.status == 400, (label, r.body)
        assert r.error_code() == code, (label, r.body)
        assert server.http("HEAD", f"/{bucket}/{key}").status == 404, label
    assert len(s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)["Parts"]) == 3
    r = mpu.complete(server, bucket, key, uid, mpu.complete_xml([p1, p2, p3]))
    assert r.status == 200, r.body
    assert strip_ns(r.xml().tag) == "CompleteMultipartUploadResult"


def test_complete_accepts_unquoted_etags(server, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="unq")["UploadId"]
    p1 = mpu.put_part(server, bucket, "unq", uid, 1, b"only part")
    r = mpu.complete(server, bucket, "unq", uid, mpu.complete_xml([Part(1, p1.etag.strip('"'))]))
    assert r.status == 200, r.body
    assert s3.get_object(Bucket=bucket, Key="unq")["Body"].read() == b"only part"


def test_complete_missing_upload(server, bucket):
    r = mpu.complete(server, bucket, "k", "nosuchupload", mpu.complete_xml([Part(1, '"abc"')]))
    assert r.status == 404 and r.error_code() == "NoSuchUpload"


# ------------------------------------------------------------------------------ abort


def test_abort(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="ab", Body=b"existing object")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="ab")["UploadId"]
    p1 = mpu.put_part(server, bucket, "ab", uid, 1, os.urandom(100_000))
    assert E2E_DRIVES or (server.directory / ".stowage" / "multipart" / uid).is_dir()
    r = server.http("DELETE", f"/{bucket}/ab?uploadId={uid}")
    assert r.status == 204 and r.body == b""
    assert_no_upload(s3, bucket, "ab", uid)
    assert mpu.upload_part(server, bucket, "ab", uid, 2, b"x").error_code() == "NoSuchUpload"
    r = mpu.complete(server, bucket, "ab", uid, mpu.complete_xml([p1]))
    assert r.status == 404 and r.error_code() == "NoSuchUpload"
    r = server.http("DELETE", f"/{bucket}/ab?uploadId={uid}")
    assert r.status == 404 and r.error_code() == "NoSuchUpload"
    # the object under the same key is untouched, the part files are gone
    assert s3.get_object(Bucket=bucket, Key="ab")["Body"].read() == b"existing object"
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert not (server.directory / ".stowage" / "multipart" / uid).exists()


def test_abort_via_boto3_and_other_key_is_no_such_upload(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="x")["UploadId"]
    with pytest.raises(ClientError) as ei:
        s3.abort_multipart_upload(Bucket=bucket, Key="y", UploadId=uid)
    assert client_error(ei)[:2] == ("NoSuchUpload", 404)
    r = s3.abort_multipart_upload(Bucket=bucket, Key="x", UploadId=uid)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204


# ------------------------------------------------------------------------------ listings


def test_list_parts_pagination(server, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="lp")["UploadId"]
    etags = {}
    for n in (1, 2, 3, 5, 8, 13, 21):
        etags[n] = mpu.put_part(server, bucket, "lp", uid, n, b"p" * n).etag
    page = s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid, MaxParts=3)
    assert [p["PartNumber"] for p in page["Parts"]] == [1, 2, 3]
    assert page["IsTruncated"] is True and page["NextPartNumberMarker"] == 3 and page["MaxParts"] == 3
    page = s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid, MaxParts=3, PartNumberMarker=3)
    assert [p["PartNumber"] for p in page["Parts"]] == [5, 8, 13]
    assert page["IsTruncated"] is True and page["NextPartNumberMarker"] == 13
    assert page["PartNumberMarker"] == 3
    page = s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid, MaxParts=3, PartNumberMarker=13)
    assert [p["PartNumber"] for p in page["Parts"]] == [21]
    assert page["IsTruncated"] is False
    page = s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid, PartNumberMarker=4)
    assert [p["PartNumber"] for p in page["Parts"]] == [5, 8, 13, 21]
    # the paginator walks every part; sizes and ETags are the uploaded ones
    allp = [p for pg in s3.get_paginator("list_parts").paginate(
        Bucket=bucket, Key="lp", UploadId=uid, PaginationConfig={"PageSize": 2}) for p in pg["Parts"]]
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in allp] == [(n, n, etags[n]) for n in sorted(etags)]
    assert all(isinstance(p["LastModified"], dt.datetime) for p in allp)


def test_list_parts_raw_document(server, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="doc", StorageClass="STANDARD")["UploadId"]
    mpu.put_part(server, bucket, "doc", uid, 1, b"abc")
    r = server.http("GET", f"/{bucket}/doc?uploadId={uid}")
    assert r.status == 200
    root = r.xml()
    assert strip_ns(root.tag) == "ListPartsResult"
    assert find_text(root, "Bucket") == bucket and find_text(root, "Key") == "doc"
    assert find_text(root, "UploadId") == uid
    assert find_text(root, "IsTruncated") == "false"
    assert find_text(root, "MaxParts") == "1000"
    assert find_text(root, "StorageClass") == "STANDARD"
    (part,) = mpu.children(root, "Part")
    assert find_text(part, "PartNumber") == "1" and find_text(part, "Size") == "3"
    assert find_text(part, "ETag") == '"%s"' % hashlib.md5(b"abc").hexdigest()
    assert mpu.children(root, "Initiator") and mpu.children(root, "Owner")


@pytest.mark.parametrize("query", ["max-parts=-1", "max-parts=abc", "part-number-marker=abc"])
def test_list_parts_invalid_arguments(server, s3, bucket, query):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="bad")["UploadId"]
    r = server.http("GET", f"/{bucket}/bad?uploadId={uid}&{query}")
    assert r.status == 400 and r.error_code() == "InvalidArgument"


def test_list_multipart_uploads_order_prefix_delimiter_markers(s3, bucket):
    order = ["a/1", "c", "a/1", "b/1", "a/2", "a/1"]
    ids = []
    for k in order:
        ids.append(s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"])
        time.sleep(0.002)
    u = dict(enumerate(ids, 1))
    # by key in byte order, uploads of one key in initiation order
    expected = [("a/1", u[1]), ("a/1", u[3]), ("a/1", u[6]), ("a/2", u[5]), ("b/1", u[4]), ("c", u[2])]

    def pairs(resp):
        return [(x["Key"], x["UploadId"]) for x in resp.get("Uploads", [])]

    full = s3.list_multipart_uploads(Bucket=bucket)
    assert pairs(full) == expected and full["IsTruncated"] is False
    assert all(isinstance(x["Initiated"], dt.datetime) for x in full["Uploads"])

    # pagination with max-uploads, following NextKeyMarker / NextUploadIdMarker
    seen, kw, pages = [], {}, 0
    while True:
        page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=2, **kw)
        pages += 1
        assert len(page.get("Uploads", [])) <= 2
        seen += pairs(page)
        if not page["IsTruncated"]:
            break
        assert page["NextKeyMarker"] == seen[-1][0] and page["NextUploadIdMarker"] == seen[-1][1]
        kw = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}
        assert pages < 10
    assert seen == expected and pages == 3

    assert pairs(s3.list_multipart_uploads(Bucket=bucket, Prefix="a/")) == expected[:4]
    # key-marker alone: keys strictly after it
    assert pairs(s3.list_multipart_uploads(Bucket=bucket, KeyMarker="a/1")) == expected[3:]
    # key-marker + upload-id-marker: the rest of that key's uploads, then later keys
    assert pairs(s3.list_multipart_uploads(Bucket=bucket, KeyMarker="a/1", UploadIdMarker=u[3])) == expected[2:]

    d = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert pairs(d) == [("c", u[2])]
    assert [p["Prefix"] for p in d["CommonPrefixes"]] == ["a/", "b/"]
    d = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/", Prefix="a/")
    assert pairs(d) == expected[:4] and d.get("CommonPrefixes", []) == []


def test_list_multipart_uploads_raw_and_encoding(server, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="sp ace/\u00e9+%")["UploadId"]
    r = server.http("GET", f"/{bucket}?uploads&encoding-type=url")
    assert r.status == 200
    root = r.xml()
    assert strip_ns(root.tag) == "ListMultipartUploadsResult"
    assert find_text(root, "Bucket") == bucket
    assert find_text(root, "EncodingType") == "url"
    (up,) = mpu.children(root, "Upload")
    assert find_text(up, "UploadId") == uid
    assert find_text(up, "Key") in ("sp%20ace/%C3%A9%2B%25", "sp+ace/%C3%A9%2B%25")
    assert find_text(up, "StorageClass") == "STANDARD"
    assert mpu.children(up, "Initiator") and mpu.children(up, "Owner")
    # boto3 decodes it back
    assert s3.list_multipart_uploads(Bucket=bucket)["Uploads"][0]["Key"] == "sp ace/\u00e9+%"


def test_list_multipart_uploads_missing_bucket(s3):
    with pytest.raises(ClientError) as ei:
        s3.list_multipart_uploads(Bucket=unique_bucket())
    assert client_error(ei)[:2] == ("NoSuchBucket", 404)


# ------------------------------------------------------------------------------ UploadPartCopy


def test_upload_part_copy_whole_and_ranges(s3, bucket):
    src = os.urandom(6 * MIB + 3)
    s3.put_object(Bucket=bucket, Key="src", Body=src)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    whole = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1,
                                CopySource={"Bucket": bucket, "Key": "src"})
    assert whole["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(src).hexdigest()
    assert isinstance(whole["CopyPartResult"]["LastModified"], dt.datetime)
    rng = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=2,
                              CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange="bytes=100-5242979")
    assert rng["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(src[100:5242980]).hexdigest()
    one = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=3,
                              CopySource=f"{bucket}/src", CopySourceRange="bytes=0-0")
    parts = [{"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]} for n, r in ((1, whole), (2, rng), (3, one))]
    listed = s3.list_parts(Bucket=bucket, Key="dst", UploadId=uid)["Parts"]
    assert [p["Size"] for p in listed] == [len(src), 5242880, 1]
    s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=uid, MultipartUpload={"Parts": parts})
    expected = src + src[100:5242980] + src[:1]
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == expected
    assert s3.head_object(Bucket=bucket, Key="dst")["ETag"] == multipart_etag([src, src[100:5242980], src[:1]])


def test_upload_part_copy_from_multipart_object(s3, bucket):
    bodies = [os.urandom(FIVE_MIB), b"second"]
    uid, parts = boto_upload(s3, bucket, "mp-src", bodies)
    s3.complete_multipart_upload(Bucket=bucket, Key="mp-src", UploadId=uid, MultipartUpload={"Parts": parts})
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp-dst")["UploadId"]
    r = s3.upload_part_copy(Bucket=bucket, Key="mp-dst", UploadId=uid, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "mp-src"}, CopySourceRange=f"bytes={FIVE_MIB - 2}-{FIVE_MIB + 5}")
    s3.complete_multipart_upload(Bucket=bucket, Key="mp-dst", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="mp-dst")["Body"].read() == bodies[0][-2:] + b"second"


def test_upload_part_copy_raw_result_document(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    r = server.http("PUT", f"/{bucket}/dst?partNumber=1&uploadId={uid}",
                    headers={"x-amz-copy-source": f"/{bucket}/src", "x-amz-copy-source-range": "bytes=2-5"})
    assert r.status == 200, r.body
    root = r.xml()
    assert strip_ns(root.tag) == "CopyPartResult"
    assert find_text(root, "ETag") == '"%s"' % hashlib.md5(b"2345").hexdigest()
    assert find_text(root, "LastModified")


def test_upload_part_copy_conditions(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"conditional source")
    etag = s3.head_object(Bucket=bucket, Key="src")["ETag"]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    past = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)

    def copy(**kw):
        try:
            s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1,
                                CopySource={"Bucket": bucket, "Key": "src"}, **kw)
            return 200, None
        except ClientError as e:
            return client_error_tuple(e)

    assert copy(CopySourceIfMatch='"deadbeef"') == (412, "PreconditionFailed")
    assert copy(CopySourceIfNoneMatch=etag) == (412, "PreconditionFailed")
    assert copy(CopySourceIfUnmodifiedSince=past) == (412, "PreconditionFailed")
    assert copy(CopySourceIfModifiedSince=future) == (412, "PreconditionFailed")
    assert s3.list_parts(Bucket=bucket, Key="dst", UploadId=uid).get("Parts", []) == []
    assert copy(CopySourceIfMatch=etag) == (200, None)
    assert copy(CopySourceIfNoneMatch='"deadbeef"', CopySourceIfModifiedSince=past) == (200, None)
    assert len(s3.list_parts(Bucket=bucket, Key="dst", UploadId=uid)["Parts"]) == 1


def client_error_tuple(e: ClientError):
    return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]


@pytest.mark.parametrize("value", ["bytes=5-", "bytes=-5", "0-5", "bytes=a-b", "bytes=0-1,3-4"])
def test_upload_part_copy_malformed_range(server, s3, bucket, value):
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    r = server.http("PUT", f"/{bucket}/dst?partNumber=1&uploadId={uid}",
                    headers={"x-amz-copy-source": f"/{bucket}/src", "x-amz-copy-source-range": value})
    assert r.status == 400 and r.error_code() == "InvalidArgument"
    assert s3.list_parts(Bucket=bucket, Key="dst", UploadId=uid).get("Parts", []) == []


@pytest.mark.parametrize("value", ["bytes=0-10", "bytes=10-10", "bytes=5-3"])
def test_upload_part_copy_range_outside_source(server, s3, bucket, value):
    # AWS has been observed answering both 400 InvalidArgument ("Range specified is not valid for
    # source object of size: N") and 416 InvalidRange here; either way nothing is stored.
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    r = server.http("PUT", f"/{bucket}/dst?partNumber=1&uploadId={uid}",
                    headers={"x-amz-copy-source": f"/{bucket}/src", "x-amz-copy-source-range": value})
    assert (r.status, r.error_code()) in ((400, "InvalidArgument"), (416, "InvalidRange"))
    assert s3.list_parts(Bucket=bucket, Key="dst", UploadId=uid).get("Parts", []) == []


def test_upload_part_copy_missing_source(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    with pytest.raises(ClientError) as ei:
        s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "nope"})
    assert client_error(ei)[:2] == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as ei:
        s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1,
                            CopySource={"Bucket": unique_bucket(), "Key": "nope"})
    assert client_error(ei)[:2] == ("NoSuchBucket", 404)


def test_upload_part_copy_recomputes_checksum_in_upload_algorithm(server, s3, bucket):
    src = b"copy me with a checksum " * 100
    s3.put_object(Bucket=bucket, Key="src", Body=src, ChecksumAlgorithm="CRC32")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst", ChecksumAlgorithm="SHA256")["UploadId"]
    r = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1,
                            CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange="bytes=10-99")
    assert r["CopyPartResult"]["ChecksumSHA256"] == checksum_b64("SHA256", src[10:100])
    done = s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"], "ChecksumSHA256": r["CopyPartResult"]["ChecksumSHA256"]}]})
    assert done["ChecksumSHA256"] == composite_b64("SHA256", [checksum_b64("SHA256", src[10:100])])


# ------------------------------------------------------------------------------ partNumber reads


@pytest.fixture
def three_part(server, s3, bucket):
    """A COMPOSITE CRC32 multipart object: 5 MiB, 5 MiB + 1, 7 bytes."""
    bodies = [os.urandom(FIVE_MIB), os.urandom(FIVE_MIB + 1), b"seventh"]
    uid, parts = boto_upload(s3, bucket, "three", bodies, ChecksumAlgorithm="CRC32")
    s3.complete_multipart_upload(Bucket=bucket, Key="three", UploadId=uid, MultipartUpload={"Parts": parts})
    return bucket, bodies


def test_get_part_number(server, three_part):
    bucket, bodies = three_part
    total = sum(map(len, bodies))
    start = 0
    for n, body in enumerate(bodies, 1):
        r = server.http("GET", f"/{bucket}/three?partNumber={n}")
        assert r.status == 206, (n, r.body[:200])
        assert r.body == body
        assert r.header("Content-Range") == f"bytes {start}-{start + len(body) - 1}/{total}"
        assert r.header("Content-Length") == str(len(body))
        assert r.header("x-amz-mp-parts-count") == "3"
        assert r.header("ETag") == multipart_etag(bodies)
        assert r.header("x-amz-checksum-crc32") is None       # only with checksum mode
        h = server.http("HEAD", f"/{bucket}/three?partNumber={n}")
        assert h.status == 206 and h.body == b""
        assert h.header("Content-Range") == r.header("Content-Range")
        assert h.header("Content-Length") == str(len(body))
        assert h.header("x-amz-mp-parts-count") == "3"
        start += len(body)


def test_get_part_number_with_checksum_mode_returns_part_checksum(server, s3, three_part):
    bucket, bodies = three_part
    for n, body in enumerate(bodies, 1):
        r = server.http("GET", f"/{bucket}/three?partNumber={n}", headers={"x-amz-checksum-mode": "ENABLED"})
        assert r.status == 206
        assert r.header("x-amz-checksum-crc32") == checksum_b64("CRC32", body)
        assert r.header("x-amz-checksum-type")
    # botocore validates the plain CRC32 it gets back against the part's bytes
    got = s3.get_object(Bucket=bucket, Key="three", PartNumber=2)
    assert got["Body"].read() == bodies[1]
    assert got["PartsCount"] == 3 and got["ChecksumCRC32"] == checksum_b64("CRC32", bodies[1])
    head = s3.head_object(Bucket=bucket, Key="three", PartNumber=3, ChecksumMode="ENABLED")
    assert head["ContentLength"] == 7 and head["PartsCount"] == 3
    assert head["ChecksumCRC32"] == checksum_b64("CRC32", b"seventh")


def test_whole_multipart_object_checksum(server, s3, three_part):
    bucket, bodies = three_part
    expected = composite_b64("CRC32", [checksum_b64("CRC32", b) for b in bodies])
    head = s3.head_object(Bucket=bucket, Key="three", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == expected and head["ChecksumType"] == "COMPOSITE"
    assert "ChecksumCRC32" not in s3.head_object(Bucket=bucket, Key="three")
    # botocore skips validating "-N" values; the body is whole
    got = s3.get_object(Bucket=bucket, Key="three")
    assert got["ChecksumCRC32"] == expected
    assert got["Body"].read() == b"".join(bodies)
    # a range covering the whole object still describes it; a partial range does not
    total = sum(map(len, bodies))
    r = server.http("GET", f"/{bucket}/three", headers={"x-amz-checksum-mode": "ENABLED", "Range": f"bytes=0-{total - 1}"})
    assert r.status == 206 and r.header("x-amz-checksum-crc32") == expected
    r = server.http("GET", f"/{bucket}/three", headers={"x-amz-checksum-mode": "ENABLED", "Range": "bytes=0-9"})
    assert r.status == 206 and r.header("x-amz-checksum-crc32") is None and r.header("x-amz-checksum-type") is None


def test_ranges_and_conditionals_across_part_boundaries(s3, three_part):
    bucket, bodies = three_part
    whole = b"".join(bodies)
    b1 = len(bodies[0])
    b2 = b1 + len(bodies[1])
    for start, end in ((b1 - 10, b1 + 9), (b2 - 1, b2), (0, len(whole) - 1), (b1 - 1, b2 + 3)):
        got = s3.get_object(Bucket=bucket, Key="three", Range=f"bytes={start}-{end}")
        assert got["Body"].read() == whole[start:end + 1], (start, end)
    etag = multipart_etag(bodies)
    assert s3.get_object(Bucket=bucket, Key="three", IfMatch=etag, Range="bytes=0-3")["Body"].read() == whole[:4]
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key="three", IfNoneMatch=etag)
    assert client_error(ei)[1] == 304
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key="three", IfMatch='"%s"' % hashlib.md5(whole).hexdigest())
    assert client_error(ei)[:2] == ("PreconditionFailed", 412)


def test_multipart_key_with_special_characters(s3, bucket):
    key = "d\u00eer/sp ace+plus%pct?q#h&a=b/\U0001F600.bin"
    bodies = [os.urandom(FIVE_MIB), b"end"]
    uid, parts = boto_upload(s3, bucket, key, bodies, ChecksumAlgorithm="SHA1")
    assert [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [key]
    assert len(s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)["Parts"]) == 2
    done = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": parts})
    assert done["Key"] == key
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"".join(bodies)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [key]


@pytest.mark.parametrize("number", [4, 10000])
def test_part_number_beyond_part_count(server, three_part, number):
    bucket, _ = three_part
    r = server.http("GET", f"/{bucket}/three?partNumber={number}")
    assert r.status == 400 and r.error_code() == "InvalidPart"
    assert server.http("HEAD", f"/{bucket}/three?partNumber={number}").status == 400


def test_parts_count_only_with_part_number(server, three_part):
    bucket, _ = three_part
    assert server.http("HEAD", f"/{bucket}/three").header("x-amz-mp-parts-count") is None
    assert server.http("GET", f"/{bucket}/three").header("x-amz-mp-parts-count") is None


def test_part_number_one_on_single_part_object_is_206(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="single", Body=b"0123456789")
    r = server.http("GET", f"/{bucket}/single?partNumber=1")
    assert r.body == b"0123456789"
    assert r.status == 206
    assert r.header("Content-Range") == "bytes 0-9/10"
    h = server.http("HEAD", f"/{bucket}/single?partNumber=1")
    assert h.status == 206 and h.header("Content-Range") == "bytes 0-9/10"


# ------------------------------------------------------------------------------ checksum types


CREATE_RULES = [
    # (algorithm header, type header, expected algorithm, expected type)
    ("CRC32", None, "CRC32", "COMPOSITE"),
    ("CRC32C", None, "CRC32C", "COMPOSITE"),
    ("SHA1", None, "SHA1", "COMPOSITE"),
    ("SHA256", None, "SHA256", "COMPOSITE"),
    ("CRC64NVME", None, "CRC64NVME", "FULL_OBJECT"),
    ("CRC32", "FULL_OBJECT", "CRC32", "FULL_OBJECT"),
    ("CRC32C", "FULL_OBJECT", "CRC32C", "FULL_OBJECT"),
    ("CRC32", "COMPOSITE", "CRC32", "COMPOSITE"),
    ("CRC64NVME", "FULL_OBJECT", "CRC64NVME", "FULL_OBJECT"),
    ("sha256", None, "SHA256", "COMPOSITE"),
]


@pytest.mark.parametrize("alg,typ,exp_alg,exp_type", CREATE_RULES)
def test_create_checksum_algorithm_and_type(server, s3, bucket, alg, typ, exp_alg, exp_type):
    headers = {"x-amz-checksum-algorithm": alg}
    if typ:
        headers["x-amz-checksum-type"] = typ
    r = server.http("POST", f"/{bucket}/ck?uploads", headers=headers)
    assert r.status == 200, r.body
    assert r.header("x-amz-checksum-algorithm") == exp_alg
    assert r.header("x-amz-checksum-type") == exp_type
    uid = find_text(r.xml(), "UploadId")
    lp = s3.list_parts(Bucket=bucket, Key="ck", UploadId=uid)
    assert lp["ChecksumAlgorithm"] == exp_alg and lp["ChecksumType"] == exp_type
    (up,) = [u for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"] if u["UploadId"] == uid]
    assert up["ChecksumAlgorithm"] == exp_alg and up["ChecksumType"] == exp_type


def test_create_without_checksum_has_no_checksum_headers(server, bucket):
    r = server.http("POST", f"/{bucket}/plain?uploads")
    assert r.status == 200
    assert r.header("x-amz-checksum-algorithm") is None and r.header("x-amz-checksum-type") is None


@pytest.mark.parametrize("headers,message", [
    ({"x-amz-checksum-algorithm": "CRC64NVME", "x-amz-checksum-type": "COMPOSITE"},
     "The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm."),
    ({"x-amz-checksum-algorithm": "SHA1", "x-amz-checksum-type": "FULL_OBJECT"},
     "The FULL_OBJECT checksum type cannot be used with the sha1 checksum algorithm."),
    ({"x-amz-checksum-algorithm": "SHA256", "x-amz-checksum-type": "FULL_OBJECT"},
     "The FULL_OBJECT checksum type cannot be used with the sha256 checksum algorithm."),
    ({"x-amz-checksum-type": "FULL_OBJECT"},
     "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header."),
    ({"x-amz-checksum-algorithm": "CRC32", "x-amz-checksum-type": "BOGUS"},
     "Value for x-amz-checksum-type header is invalid."),
    ({"x-amz-checksum-algorithm": "MD4"}, None),
    ({"x-amz-checksum-algorithm": "CRC32,CRC32C"}, None),
])
def test_create_invalid_checksum_combinations(server, s3, bucket, headers, message):
    r = server.http("POST", f"/{bucket}/bad?uploads", headers=headers)
    assert r.status == 400
    assert r.error_code() == "InvalidRequest"
    if message:
        assert find_text(r.xml(), "Message") == message
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@pytest.mark.parametrize("alg", ["CRC32", "CRC32C", "SHA1", "SHA256"])
def test_composite_checksum_vectors(server, s3, bucket, alg):
    """Parts: 5 MiB of zeros, 5 MiB of zeros, "Hello world"; COMPOSITE value = alg over the raw
    part digests, base64, -3."""
    key = f"comp-{alg}"
    uid = mpu.create(server, bucket, key, {"x-amz-checksum-algorithm": alg})
    zero = bytes(FIVE_MIB)
    hw = b"Hello world"
    parts = [mpu.put_part(server, bucket, key, uid, 1, zero, alg, ZERO_PART[alg]),
             mpu.put_part(server, bucket, key, uid, 2, zero, alg, ZERO_PART[alg]),
             mpu.put_part(server, bucket, key, uid, 3, hw, alg, VECTORS[hw][alg])]
    assert [p.checksum for p in parts] == [ZERO_PART[alg], ZERO_PART[alg], VECTORS[hw][alg]]
    listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)["Parts"]
    assert [p[f"Checksum{alg}"] for p in listed] == [ZERO_PART[alg], ZERO_PART[alg], VECTORS[hw][alg]]
    r = mpu.complete(server, bucket, key, uid, mpu.complete_xml(parts, alg))
    assert r.status == 200, r.body
    root = r.xml()
    assert find_text(root, f"Checksum{alg}") == THREE_PART_COMPOSITE[alg]
    assert find_text(root, "ChecksumType") == "COMPOSITE"
    assert find_text(root, "ETag") == multipart_etag([zero, zero, hw])
    h = server.http("HEAD", f"/{bucket}/{key}", headers={"x-amz-checksum-mode": "ENABLED"})
    assert h.header(header_name(alg)) == THREE_PART_COMPOSITE[alg]
    assert h.header("x-amz-checksum-type") == "COMPOSITE"
    assert server.http("HEAD", f"/{bucket}/{key}").header(header_name(alg)) is None
    g = server.http("GET", f"/{bucket}/{key}?partNumber=3", headers={"x-amz-checksum-mode": "ENABLED"})
    assert g.body == hw and g.header(header_name(alg)) == VECTORS[hw][alg]


@pytest.mark.parametrize("alg", ["CRC32", "CRC32C", "SHA1", "SHA256"])
def test_one_part_composite_matches_aws_observed_value(server, bucket, alg):
    uid = mpu.create(server, bucket, "one", {"x-amz-checksum-algorithm": alg})
    body = b"123456789"
    p = mpu.put_part(server, bucket, "one", uid, 1, body, alg, VECTORS[body][alg])
    r = mpu.complete(server, bucket, "one", uid, mpu.complete_xml([p], alg))
    assert r.status == 200, r.body
    assert find_text(r.xml(), f"Checksum{alg}") == ONE_PART_COMPOSITE[alg] + "-1"


@pytest.mark.parametrize("alg", ["CRC32", "CRC32C", "CRC64NVME"])
@pytest.mark.parametrize("send_part_checksums", [True, False], ids=["part-checksums", "no-part-checksums"])
def test_full_object_checksum_vectors(server, s3, bucket, alg, send_part_checksums):
    key = f"full-{alg}"
    uid = mpu.create(server, bucket, key, {"x-amz-checksum-algorithm": alg, "x-amz-checksum-type": "FULL_OBJECT"})
    zero = bytes(FIVE_MIB)
    hw = b"Hello world"
    sent = [(zero, ZERO_PART[alg]), (zero, ZERO_PART[alg]), (hw, VECTORS[hw][alg])]
    parts = []
    for n, (body, value) in enumerate(sent, 1):
        if send_part_checksums:
            parts.append(mpu.put_part(server, bucket, key, uid, n, body, alg, value))
        else:
            parts.append(mpu.put_part(server, bucket, key, uid, n, body))
    r = mpu.complete(server, bucket, key, uid, mpu.complete_xml(parts, alg))
    assert r.status == 200, r.body
    root = r.xml()
    assert find_text(root, f"Checksum{alg}") == THREE_PART_FULL_OBJECT[alg]
    assert find_text(root, "ChecksumType") == "FULL_OBJECT"
    head = server.http("HEAD", f"/{bucket}/{key}", headers={"x-amz-checksum-mode": "ENABLED"})
    assert head.header(header_name(alg)) == THREE_PART_FULL_OBJECT[alg]
    assert head.header("x-amz-checksum-type") == "FULL_OBJECT"
    if alg == "CRC32":
        # botocore validates a plain CRC32 on GET: the whole-object value must be right
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["ChecksumCRC32"] == THREE_PART_FULL_OBJECT["CRC32"]
        assert hashlib.md5(got["Body"].read()).digest() == hashlib.md5(zero + zero + hw).digest()


def test_composite_upload_part_checksum_rules(server, s3, bucket):
    uid = mpu.create(server, bucket, "rules", {"x-amz-checksum-algorithm": "CRC32"})
    body = b"part body"
    r = mpu.upload_part(server, bucket, "rules", uid, 1, body)
    assert r.status == 400 and r.error_code() == "InvalidRequest"
    assert find_text(r.xml(), "Message") == \
        "Checksum Type mismatch occurred, expected checksum Type: crc32, actual checksum Type: null"
    r = mpu.upload_part(server, bucket, "rules", uid, 1, body, {"x-amz-checksum-crc32c": checksum_b64("CRC32C", body)})
    assert r.status == 400 and r.error_code() == "InvalidRequest"
    assert find_text(r.xml(), "Message") == \
        "Checksum Type mismatch occurred, expected checksum Type: crc32, actual checksum Type: crc32c"
    r = mpu.upload_part(server, bucket, "rules", uid, 1, body, {"x-amz-checksum-crc32": checksum_b64("CRC32", b"other")})
    assert r.status == 400 and r.error_code() == "BadDigest"
    assert find_text(r.xml(), "Message") == "The CRC32 you specified did not match the calculated checksum."
    assert s3.list_parts(Bucket=bucket, Key="rules", UploadId=uid).get("Parts", []) == []
    ok = mpu.put_part(server, bucket, "rules", uid, 1, body, "CRC32", checksum_b64("CRC32", body))
    assert ok.checksum == checksum_b64("CRC32", body)
    assert_tmp_empty(server)


def test_full_object_upload_part_with_other_algorithm(server, s3, bucket):
    uid = mpu.create(server, bucket, "foalg", {"x-amz-checksum-algorithm": "CRC32C", "x-amz-checksum-type": "FULL_OBJECT"})
    r = mpu.upload_part(server, bucket, "foalg", uid, 1, b"abc", {"x-amz-checksum-crc32": VECTORS[b"abc"]["CRC32"]})
    assert r.status == 400 and r.error_code() == "InvalidRequest"
    assert find_text(r.xml(), "Message") == \
        "Checksum Type mismatch occurred, expected checksum Type: crc32c, actual checksum Type: crc32"
    r = mpu.upload_part(server, bucket, "foalg", uid, 1, b"abc", {"x-amz-checksum-crc32c": "AAAAAA=="})
    assert r.status == 400 and r.error_code() == "BadDigest"
    assert s3.list_parts(Bucket=bucket, Key="foalg", UploadId=uid).get("Parts", []) == []


def test_upload_part_without_upload_algorithm_validates_and_echoes_checksum(server, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="noalg")["UploadId"]
    body = b"123456789"
    r = mpu.upload_part(server, bucket, "noalg", uid, 1, body, {"x-amz-checksum-crc32c": "4waSgw=="})
    assert r.status == 200 and r.header("x-amz-checksum-crc32c") == "4waSgw=="
    r = mpu.upload_part(server, bucket, "noalg", uid, 2, body, {"x-amz-checksum-crc32c": "AAAAAA=="})
    assert r.status == 400 and r.error_code() == "BadDigest"
    assert find_text(r.xml(), "Message") == "The CRC32C you specified did not match the calculated checksum."
    # boto3's default CRC32 is echoed too (s3transfer copies it into the Complete document)
    p = s3.upload_part(Bucket=bucket, Key="noalg", UploadId=uid, PartNumber=3, Body=body)
    assert p["ChecksumCRC32"] == "y/Q5Jg=="


def test_complete_composite_requires_part_checksums(server, bucket):
    uid = mpu.create(server, bucket, "req", {"x-amz-checksum-algorithm": "CRC32"})
    body = b"123456789"
    p = mpu.put_part(server, bucket, "req", uid, 1, body, "CRC32", "y/Q5Jg==")
    r = mpu.complete(server, bucket, "req", uid, mpu.complete_xml([p], "CRC32", with_checksums=False))
    assert r.status == 400 and r.error_code() == "InvalidRequest"
    assert find_text(r.xml(), "Message") == ("The upload was created using a crc32 checksum. The complete request "
                                            "must include the checksum for each part. It was missing for part 1 in the request.")
    # a wrong (well-formed) part checksum does not identify the part
    r = mpu.complete(server, bucket, "req", uid, mpu.complete_xml([Part(1, p.etag, "AAAAAA==")], "CRC32"))
    assert r.status == 400 and r.error_code() == "InvalidPart"
    assert server.http("HEAD", f"/{bucket}/req").status == 404
    r = mpu.complete(server, bucket, "req", uid, mpu.complete_xml([p], "CRC32"))
    assert r.status == 200, r.body


def test_complete_full_object_checksum_header_mismatch_is_bad_digest(server, s3, bucket):
    uid = mpu.create(server, bucket, "fo", {"x-amz-checksum-algorithm": "CRC32", "x-amz-checksum-type": "FULL_OBJECT"})
    body = os.urandom(1000)
    p = mpu.put_part(server, bucket, "fo", uid, 1, body, "CRC32", checksum_b64("CRC32", body))
    r = mpu.complete(server, bucket, "fo", uid, mpu.complete_xml([p], "CRC32"),
                     {"x-amz-checksum-crc32": checksum_b64("CRC32", body + b"x")})
    assert r.status == 400 and r.error_code() == "BadDigest"
    assert server.http("HEAD", f"/{bucket}/fo").status == 404
    assert len(s3.list_parts(Bucket=bucket, Key="fo", UploadId=uid)["Parts"]) == 1


BUG_COMPLETE_HEADER = (
    "server bug: CompleteMultipartUpload runs PayloadIntegrity.prepare on its XML request body, so a "
    "whole-object x-amz-checksum-<alg> header is checked against the CRC/SHA of the XML document "
    "instead of the object: the correct object checksum gets 400 BadDigest (or 400 InvalidRequest "
    "for the COMPOSITE '<b64>-N' form), which breaks s3transfer/upload_file with a user-supplied "
    "full-object checksum")


@pytest.mark.parametrize("alg", ["CRC32", "CRC32C", "CRC64NVME"])
def test_complete_with_correct_full_object_checksum_header(server, s3, bucket, alg):
    key = f"fo-{alg}"
    uid = mpu.create(server, bucket, key, {"x-amz-checksum-algorithm": alg, "x-amz-checksum-type": "FULL_OBJECT"})
    zero = bytes(FIVE_MIB)
    hw = b"Hello world"
    parts = [mpu.put_part(server, bucket, key, uid, 1, zero, alg, ZERO_PART[alg]),
             mpu.put_part(server, bucket, key, uid, 2, hw, alg, VECTORS[hw][alg])]
    full = checksum_b64(alg, zero + hw)
    r = mpu.complete(server, bucket, key, uid, mpu.complete_xml(parts, alg),
                     {header_name(alg): full, "x-amz-checksum-type": "FULL_OBJECT"})
    assert r.status == 200, r.body
    assert find_text(r.xml(), f"Checksum{alg}") == full


@pytest.mark.parametrize("form", ["with-part-count", "without-part-count"])
def test_complete_with_correct_composite_checksum_header(server, bucket, form):
    uid = mpu.create(server, bucket, "ch", {"x-amz-checksum-algorithm": "SHA256"})
    bodies = [os.urandom(FIVE_MIB), b"last"]
    parts = [mpu.put_part(server, bucket, "ch", uid, n, b, "SHA256", checksum_b64("SHA256", b))
             for n, b in enumerate(bodies, 1)]
    value = composite_b64("SHA256", [p.checksum for p in parts])
    sent = value if form == "with-part-count" else value.rsplit("-", 1)[0]
    r = mpu.complete(server, bucket, "ch", uid, mpu.complete_xml(parts, "SHA256"), {"x-amz-checksum-sha256": sent})
    assert r.status == 200, r.body
    assert find_text(r.xml(), "ChecksumSHA256") == value


def test_complete_composite_checksum_header_with_wrong_part_count(server, bucket):
    uid = mpu.create(server, bucket, "wn", {"x-amz-checksum-algorithm": "CRC32"})
    bodies = [os.urandom(FIVE_MIB), b"last"]
    parts = [mpu.put_part(server, bucket, "wn", uid, n, b, "CRC32", checksum_b64("CRC32", b))
             for n, b in enumerate(bodies, 1)]
    value = composite_b64("CRC32", [p.checksum for p in parts])
    r = mpu.complete(server, bucket, "wn", uid, mpu.complete_xml(parts, "CRC32"),
                     {"x-amz-checksum-crc32": value.replace("-2", "-3")})
    assert r.status == 400 and r.error_code() == "BadDigest"
    r = mpu.complete(server, bucket, "wn", uid, mpu.complete_xml(parts, "CRC32"), {"x-amz-checksum-crc32": value})
    assert r.status == 200, r.body


def test_complete_mp_object_size_mismatch_is_invalid_request(server, s3, bucket):
    uid = mpu.create(server, bucket, "size")
    p = mpu.put_part(server, bucket, "size", uid, 1, b"123456789")
    r = mpu.complete(server, bucket, "size", uid, mpu.complete_xml([p]), {"x-amz-mp-object-size": "10"})
    assert r.status == 400 and r.error_code() == "InvalidRequest"
    assert server.http("HEAD", f"/{bucket}/size").status == 404
    r = mpu.complete(server, bucket, "size", uid, mpu.complete_xml([p]), {"x-amz-mp-object-size": "9"})
    assert r.status == 200, r.body


def test_complete_checksum_type_mismatch_is_bad_digest(server, bucket):
    uid = mpu.create(server, bucket, "type", {"x-amz-checksum-algorithm": "CRC32"})
    p = mpu.put_part(server, bucket, "type", uid, 1, b"123456789", "CRC32", "y/Q5Jg==")
    r = mpu.complete(server, bucket, "type", uid, mpu.complete_xml([p], "CRC32"), {"x-amz-checksum-type": "FULL_OBJECT"})
    assert r.status == 400 and r.error_code() == "BadDigest"
    assert server.http("HEAD", f"/{bucket}/type").status == 404


@pytest.mark.parametrize("extra", ["<ChecksumCRC32C>4waSgw==</ChecksumCRC32C>", "malformed"])
def test_complete_part_with_multiple_or_malformed_checksums(server, bucket, extra):
    uid = mpu.create(server, bucket, "multi", {"x-amz-checksum-algorithm": "CRC32"})
    p = mpu.put_part(server, bucket, "multi", uid, 1, b"123456789", "CRC32", "y/Q5Jg==")
    if extra == "malformed":
        part = "<ChecksumCRC32>y/Q5J!==</ChecksumCRC32>"
    else:
        part = f"<ChecksumCRC32>y/Q5Jg==</ChecksumCRC32>{extra}"
    body = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{p.etag}</ETag>{part}</Part>"
            f"</CompleteMultipartUpload>").encode()
    r = mpu.complete(server, bucket, "multi", uid, body)
    assert r.status == 400 and r.error_code() == "InvalidArgument"


def test_copy_object_of_multipart_object_is_single_part(server, s3, bucket):
    bodies = [os.urandom(FIVE_MIB), b"tail"]
    uid, parts = boto_upload(s3, bucket, "mp-src", bodies, ChecksumAlgorithm="CRC32")
    s3.complete_multipart_upload(Bucket=bucket, Key="mp-src", UploadId=uid, MultipartUpload={"Parts": parts})
    md5 = '"%s"' % hashlib.md5(b"".join(bodies)).hexdigest()
    r = s3.copy_object(Bucket=bucket, Key="mp-copy", CopySource={"Bucket": bucket, "Key": "mp-src"})
    assert r["CopyObjectResult"]["ETag"] == md5
    assert s3.head_object(Bucket=bucket, Key="mp-copy")["ETag"] == md5
    r = server.http("GET", f"/{bucket}/mp-copy?partNumber=1")
    assert r.header("x-amz-mp-parts-count") is None and r.body == b"".join(bodies)


# ------------------------------------------------------------------------------ conditional complete


def _two_part_upload(server, bucket, key):
    uid = mpu.create(server, bucket, key)
    parts = [mpu.put_part(server, bucket, key, uid, 1, os.urandom(FIVE_MIB)),
             mpu.put_part(server, bucket, key, uid, 2, b"tail-" + key.encode())]
    return uid, parts


def test_complete_if_none_match(server, s3, bucket):
    uid, parts = _two_part_upload(server, bucket, "inm")
    r = mpu.complete(server, bucket, "inm", uid, mpu.complete_xml(parts), {"If-None-Match": "*"})
    assert r.status == 200, r.body
    first_etag = find_text(r.xml(), "ETag")
    uid2, parts2 = _two_part_upload(server, bucket, "inm")
    r = mpu.complete(server, bucket, "inm", uid2, mpu.complete_xml(parts2), {"If-None-Match": "*"})
    assert r.status == 412 and r.error_code() == "PreconditionFailed"
    assert s3.head_object(Bucket=bucket, Key="inm")["ETag"] == first_etag
    # the refused upload stays and can still be completed without the condition
    assert len(s3.list_parts(Bucket=bucket, Key="inm", UploadId=uid2)["Parts"]) == 2
    r = mpu.complete(server, bucket, "inm", uid2, mpu.complete_xml(parts2))
    assert r.status == 200, r.body
    assert s3.get_object(Bucket=bucket, Key="inm")["Body"].read().endswith(b"tail-inm")


def test_complete_if_none_match_refusal_keeps_existing_object(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="keep", Body=b"original")
    uid, parts = _two_part_upload(server, bucket, "keep")
    r = mpu.complete(server, bucket, "keep", uid, mpu.complete_xml(parts), {"If-None-Match": "*"})
    assert r.status == 412 and r.error_code() == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"original"
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [uid]
    assert_tmp_empty(server)


def test_complete_if_match(server, s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="im", Body=b"v1")["ETag"]
    uid, parts = _two_part_upload(server, bucket, "im")
    r = mpu.complete(server, bucket, "im", uid, mpu.complete_xml(parts), {"If-Match": '"0123456789abcdef0123456789abcdef"'})
    assert r.status == 412 and r.error_code() == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="im")["Body"].read() == b"v1"
    assert len(s3.list_parts(Bucket=bucket, Key="im", UploadId=uid)["Parts"]) == 2
    r = mpu.complete(server, bucket, "im", uid, mpu.complete_xml(parts), {"If-Match": etag})
    assert r.status == 200, r.body
    assert s3.get_object(Bucket=bucket, Key="im")["Body"].read().endswith(b"tail-im")
    # If-Match on a key with no object
    uid, parts = _two_part_upload(server, bucket, "absent")
    r = mpu.complete(server, bucket, "absent", uid, mpu.complete_xml(parts), {"If-Match": etag})
    assert r.status == 404 and r.error_code() == "NoSuchKey"
    assert server.http("HEAD", f"/{bucket}/absent").status == 404


def test_completes_racing_with_if_none_match_exactly_one_wins(server, s3, bucket):
    n = 5
    uploads = [_two_part_upload(server, bucket, "race") for _ in range(n)]

    def finish(i):
        uid, parts = uploads[i]
        r = mpu.complete(server, bucket, "race", uid, mpu.complete_xml(parts), {"If-None-Match": "*"})
        return r.status, (r.error_code() if r.status != 200 else find_text(r.xml(), "ETag"))

    with cf.ThreadPoolExecutor(n) as ex:
        results = list(ex.map(finish, range(n)))
    winners = [i for i, (st, _) in enumerate(results) if st == 200]
    assert len(winners) == 1, results
    assert sorted(r for i, r in enumerate(results) if i not in winners) == [(412, "PreconditionFailed")] * (n - 1)
    assert s3.head_object(Bucket=bucket, Key="race")["ETag"] == results[winners[0]][1]
    # the losers are still in progress
    assert len(s3.list_multipart_uploads(Bucket=bucket)["Uploads"]) == n - 1


# ------------------------------------------------------------------------------ lifecycle


def test_upload_does_not_disturb_existing_object_until_complete(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="live", Body=b"old")
    uid, parts = _two_part_upload(server, bucket, "live")
    assert s3.get_object(Bucket=bucket, Key="live")["Body"].read() == b"old"
    s3.delete_object(Bucket=bucket, Key="live")   # deleting the key leaves the upload alone
    assert len(s3.list_parts(Bucket=bucket, Key="live", UploadId=uid)["Parts"]) == 2
    assert mpu.complete(server, bucket, "live", uid, mpu.complete_xml(parts)).status == 200
    assert s3.get_object(Bucket=bucket, Key="live")["Body"].read().endswith(b"tail-live")
    # a plain PUT replaces a multipart object entirely
    s3.put_object(Bucket=bucket, Key="live", Body=b"plain again")
    head = s3.head_object(Bucket=bucket, Key="live", ChecksumMode="ENABLED")
    assert head["ETag"] == '"%s"' % hashlib.md5(b"plain again").hexdigest()
    assert "PartsCount" not in head


def test_complete_replaces_recently_read_object(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="hot", Body=b"old", ChecksumAlgorithm="SHA256")
    for _ in range(3):   # hot object: HEAD/GET served from whatever the server keeps
        assert s3.head_object(Bucket=bucket, Key="hot", ChecksumMode="ENABLED")["ContentLength"] == 3
        assert s3.get_object(Bucket=bucket, Key="hot")["Body"].read() == b"old"
    uid, parts = _two_part_upload(server, bucket, "hot")
    r = mpu.complete(server, bucket, "hot", uid, mpu.complete_xml(parts))
    assert r.status == 200, r.body
    head = s3.head_object(Bucket=bucket, Key="hot", ChecksumMode="ENABLED")
    assert head["ETag"] == find_text(r.xml(), "ETag") and head["ContentLength"] == FIVE_MIB + len(b"tail-hot")
    assert "ChecksumSHA256" not in head
    assert s3.get_object(Bucket=bucket, Key="hot", PartNumber=2)["Body"].read() == b"tail-hot"


def test_delete_bucket_with_only_uploads_deletes_them(server, s3):
    name = unique_bucket("mpdel")
    s3.create_bucket(Bucket=name)
    uid, _ = _two_part_upload(server, name, "pending")
    assert E2E_DRIVES or (server.directory / ".stowage" / "multipart" / uid).is_dir()
    r = server.http("DELETE", f"/{name}")
    assert r.status == 204, r.body
    assert server.http("HEAD", f"/{name}").status == 404
    # a bucket of the same name starts without the old uploads
    s3.create_bucket(Bucket=name)
    try:
        assert s3.list_multipart_uploads(Bucket=name).get("Uploads", []) == []
        assert_no_upload(s3, name, "pending", uid)
        deadline = time.monotonic() + 5
        while (server.directory / ".stowage" / "multipart" / uid).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not (server.directory / ".stowage" / "multipart" / uid).exists()
    finally:
        s3.delete_bucket(Bucket=name)


def test_delete_bucket_with_object_and_upload_is_not_empty(server, s3):
    name = unique_bucket("mpdel")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="obj", Body=b"x")
    uid, _ = _two_part_upload(server, name, "pending")
    with pytest.raises(ClientError) as ei:
        s3.delete_bucket(Bucket=name)
    assert client_error(ei)[:2] == ("BucketNotEmpty", 409)
    assert len(s3.list_parts(Bucket=name, Key="pending", UploadId=uid)["Parts"]) == 2
    s3.delete_object(Bucket=name, Key="obj")
    s3.delete_bucket(Bucket=name)


def test_parallel_part_uploads(server, s3, bucket):
    bodies = [os.urandom(FIVE_MIB + i) for i in range(6)] + [b"end"]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="par", ChecksumAlgorithm="CRC32")["UploadId"]

    def up(i):
        c = server.client()
        r = c.upload_part(Bucket=bucket, Key="par", UploadId=uid, PartNumber=i + 1, Body=bodies[i], ChecksumAlgorithm="CRC32")
        return {"PartNumber": i + 1, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]}

    with cf.ThreadPoolExecutor(4) as ex:
        parts = list(ex.map(up, range(len(bodies))))
    done = s3.complete_multipart_upload(Bucket=bucket, Key="par", UploadId=uid, MultipartUpload={"Parts": parts})
    assert done["ETag"] == multipart_etag(bodies)
    assert done["ChecksumCRC32"] == composite_b64("CRC32", [checksum_b64("CRC32", b) for b in bodies])
    got = s3.get_object(Bucket=bucket, Key="par")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(b"".join(bodies)).digest()
    assert_tmp_empty(server)


# ------------------------------------------------------------------------------ restart / expiry


@pytest.mark.isolated
def test_uploads_survive_restart(fresh_server):
    srv = fresh_server
    s3 = srv.client()
    s3.create_bucket(Bucket="persist")
    bodies = [os.urandom(FIVE_MIB), b"after restart"]
    uid = s3.create_multipart_upload(Bucket="persist", Key="k", ChecksumAlgorithm="CRC32",
                                     ContentType="text/x-persist", Metadata={"m": "1"})["UploadId"]
    p1 = s3.upload_part(Bucket="persist", Key="k", UploadId=uid, PartNumber=1, Body=bodies[0], ChecksumAlgorithm="CRC32")
    srv.restart()
    s3 = srv.client()
    ups = s3.list_multipart_uploads(Bucket="persist")["Uploads"]
    assert [(u["Key"], u["UploadId"], u["ChecksumAlgorithm"]) for u in ups] == [("k", uid, "CRC32")]
    listed = s3.list_parts(Bucket="persist", Key="k", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["ChecksumCRC32"]) for p in listed] == [(1, p1["ETag"], p1["ChecksumCRC32"])]
    p2 = s3.upload_part(Bucket="persist", Key="k", UploadId=uid, PartNumber=2, Body=bodies[1], ChecksumAlgorithm="CRC32")
    s3.complete_multipart_upload(Bucket="persist", Key="k", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p1["ETag"], "ChecksumCRC32": p1["ChecksumCRC32"]},
        {"PartNumber": 2, "ETag": p2["ETag"], "ChecksumCRC32": p2["ChecksumCRC32"]}]})
    srv.restart()
    s3 = srv.client()
    head = s3.head_object(Bucket="persist", Key="k", ChecksumMode="ENABLED")
    assert head["ContentType"] == "text/x-persist" and head["Metadata"] == {"m": "1"}
    assert head["ChecksumCRC32"] == composite_b64("CRC32", [p1["ChecksumCRC32"], p2["ChecksumCRC32"]])
    assert head["ETag"] == multipart_etag(bodies)
    assert srv.client().get_object(Bucket="persist", Key="k", PartNumber=2)["Body"].read() == b"after restart"


@pytest.mark.filestore_only
@pytest.mark.isolated
def test_kill_during_part_upload_keeps_earlier_parts(fresh_server):
    srv = fresh_server
    s3 = srv.client()
    s3.create_bucket(Bucket="killed")
    uid = s3.create_multipart_upload(Bucket="killed", Key="k")["UploadId"]
    first = os.urandom(FIVE_MIB)
    p1 = s3.upload_part(Bucket="killed", Key="k", UploadId=uid, PartNumber=1, Body=first)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        s.sendall((f"PUT /killed/k?partNumber=2&uploadId={uid} HTTP/1.1\r\nHost: h\r\n"
                   f"Content-Length: {10 * MIB}\r\n\r\n").encode())
        s.sendall(os.urandom(MIB))
        wait_for_upload_in_progress(srv)
        srv.stop(signal.SIGKILL)
    finally:
        s.close()
    srv.start()
    assert_tmp_empty(srv)
    s3 = srv.client()
    listed = s3.list_parts(Bucket="killed", Key="k", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"]) for p in listed] == [(1, p1["ETag"])]
    s3.complete_multipart_upload(Bucket="killed", Key="k", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p1["ETag"]}]})
    assert s3.get_object(Bucket="killed", Key="k")["Body"].read() == first


@pytest.mark.filestore_only
@pytest.mark.isolated
def test_stale_uploads_expire_at_start(start_server):
    """Expiry runs at start-up: uploads initiated more than multipart.expirationDays ago are
    aborted (rows and part files). The initiation time is moved into the past by editing the
    index while the server is stopped."""
    config = {"multipart": {"expirationDays": 7, "cleanupIntervalMinutes": 60}}
    srv = start_server(config=config)
    s3 = srv.client()
    s3.create_bucket(Bucket="expiry")
    old = s3.create_multipart_upload(Bucket="expiry", Key="old")["UploadId"]
    s3.upload_part(Bucket="expiry", Key="old", UploadId=old, PartNumber=1, Body=b"stale part")
    recent = s3.create_multipart_upload(Bucket="expiry", Key="recent")["UploadId"]
    s3.upload_part(Bucket="expiry", Key="recent", UploadId=recent, PartNumber=1, Body=b"recent part")
    fresh = s3.create_multipart_upload(Bucket="expiry", Key="fresh")["UploadId"]
    srv.stop()
    now_ms = int(time.time() * 1000)
    db = sqlite3.connect(srv.directory / ".stowage" / "index.sqlite")
    try:
        with db:
            for uid, days in ((old, 8), (recent, 6)):
                cur = db.execute("UPDATE uploads SET initiated_ms = ? WHERE upload_id = ?", (now_ms - days * 86_400_000, uid))
                assert cur.rowcount == 1
    finally:
        db.close()
    assert (srv.directory / ".stowage" / "multipart" / old).is_dir()
    srv.start()
    s3 = srv.client()
    deadline = time.monotonic() + 10
    while True:
        ups = {u["UploadId"]: u for u in s3.list_multipart_uploads(Bucket="expiry").get("Uploads", [])}
        if old not in ups or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sorted(ups) == sorted([recent, fresh])
    # the edit took effect (the surviving 6-day-old upload shows its moved initiation time)
    age = dt.datetime.now(dt.timezone.utc) - ups[recent]["Initiated"]
    assert dt.timedelta(days=5, hours=23) < age < dt.timedelta(days=6, hours=1)
    assert_no_upload(s3, "expiry", "old", old)
    assert not (srv.directory / ".stowage" / "multipart" / old).exists()
    assert [p["Size"] for p in s3.list_parts(Bucket="expiry", Key="recent", UploadId=recent)["Parts"]] == [11]
