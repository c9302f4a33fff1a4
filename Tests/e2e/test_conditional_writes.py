"""Conditional writes and deletes: PutObject If-None-Match: * / If-Match (atomic against
concurrent writers), DeleteObject If-Match. (CompleteMultipartUpload conditions are in
test_multipart.py.)"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import threading

import pytest
from botocore.exceptions import ClientError

from conftest import assert_tmp_empty, client_error


def outcome(fn):
    try:
        r = fn()
        return r["ResponseMetadata"]["HTTPStatusCode"], None
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]


def race(n, fn):
    """Runs fn(i) for i in range(n) on n threads released together."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait(10)
        return fn(i)

    with cf.ThreadPoolExecutor(n) as ex:
        return list(ex.map(run, range(n)))


def test_boto3_if_none_match_on_existing_and_new(s3, bucket):
    assert outcome(lambda: s3.put_object(Bucket=bucket, Key="n", Body=b"1", IfNoneMatch="*")) == (200, None)
    assert outcome(lambda: s3.put_object(Bucket=bucket, Key="n", Body=b"2", IfNoneMatch="*")) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="n")["Body"].read() == b"1"


def test_boto3_if_match(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="m", Body=b"v1")["ETag"]
    assert outcome(lambda: s3.put_object(Bucket=bucket, Key="m", Body=b"v2", IfMatch='"ffffffffffffffffffffffffffffffff"')) \
        == (412, "PreconditionFailed")
    assert outcome(lambda: s3.put_object(Bucket=bucket, Key="m", Body=b"v2", IfMatch=etag)) == (200, None)
    # the ETag is the old one now
    assert outcome(lambda: s3.put_object(Bucket=bucket, Key="m", Body=b"v3", IfMatch=etag)) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == b"v2"
    assert outcome(lambda: s3.put_object(Bucket=bucket, Key="absent", Body=b"v", IfMatch=etag)) == (404, "NoSuchKey")


@pytest.mark.parametrize("n", [12])
def test_racing_if_none_match_exactly_one_wins(server, bucket, n):
    bodies = [b"writer %02d " % i * 5000 for i in range(n)]

    def put(i):
        c = server.client()
        return outcome(lambda: c.put_object(Bucket=bucket, Key="race", Body=bodies[i], IfNoneMatch="*"))

    results = race(n, put)
    winners = [i for i, r in enumerate(results) if r == (200, None)]
    assert len(winners) == 1, results
    assert sorted(r for r in results if r != (200, None)) == [(412, "PreconditionFailed")] * (n - 1)
    got = server.client().get_object(Bucket=bucket, Key="race")
    assert got["Body"].read() == bodies[winners[0]]
    assert_tmp_empty(server)


def test_racing_if_none_match_raw_requests(server, bucket):
    # same race without botocore (no Expect: 100-continue, single write of headers + body)
    n = 16

    def put(i):
        r = server.http("PUT", f"/{bucket}/raw-race", body=b"%d" % i * 1000, headers={"If-None-Match": "*"})
        return r.status

    for round_ in range(3):
        server.http("DELETE", f"/{bucket}/raw-race")
        statuses = race(n, put)
        assert sorted(statuses) == [200] + [412] * (n - 1), (round_, statuses)


def test_racing_if_match_compare_and_swap(server, s3, bucket):
    """Writers all holding the same ETag: exactly one may replace the object. S3 answers the
    others 412 PreconditionFailed (or 409 ConditionalRequestConflict for a write that overlapped)."""
    n = 10
    etag = s3.put_object(Bucket=bucket, Key="cas", Body=b"v0")["ETag"]
    bodies = [b"v1-%02d" % i * 10000 for i in range(n)]

    def put(i):
        c = server.client()
        return outcome(lambda: c.put_object(Bucket=bucket, Key="cas", Body=bodies[i], IfMatch=etag))

    results = race(n, put)
    winners = [i for i, r in enumerate(results) if r == (200, None)]
    assert len(winners) == 1, results
    assert all(r in ((412, "PreconditionFailed"), (409, "ConditionalRequestConflict"))
               for i, r in enumerate(results) if i != winners[0]), results
    got = s3.get_object(Bucket=bucket, Key="cas")
    assert got["Body"].read() == bodies[winners[0]]
    assert got["ETag"] == '"%s"' % hashlib.md5(bodies[winners[0]]).hexdigest()


# ------------------------------------------------------------------------------ DeleteObject If-Match


def test_delete_if_match(s3, bucket, server):
    etag = s3.put_object(Bucket=bucket, Key="d", Body=b"x")["ETag"]
    assert outcome(lambda: s3.delete_object(Bucket=bucket, Key="d", IfMatch='"ffffffffffffffffffffffffffffffff"')) \
        == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="d")["Body"].read() == b"x"
    assert outcome(lambda: s3.delete_object(Bucket=bucket, Key="d", IfMatch=etag)) == (204, None)
    assert server.http("HEAD", f"/{bucket}/d").status == 404
    # If-Match on a missing key: AWS answers 404 NoSuchKey
    assert outcome(lambda: s3.delete_object(Bucket=bucket, Key="d", IfMatch=etag)) == (404, "NoSuchKey")
    # without a condition a missing key is still 204
    assert outcome(lambda: s3.delete_object(Bucket=bucket, Key="d")) == (204, None)


def test_delete_if_match_raw_forms(server, s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="d", Body=b"x")["ETag"]
    r = server.http("DELETE", f"/{bucket}/d", headers={"If-Match": etag.strip('"')})
    assert r.status == 204
    s3.put_object(Bucket=bucket, Key="d", Body=b"y")
    r = server.http("DELETE", f"/{bucket}/d", headers={"If-Match": "*"})
    assert r.status == 204
    assert server.http("HEAD", f"/{bucket}/d").status == 404
    r = server.http("DELETE", f"/{bucket}/d", headers={"If-Match": "*"})
    assert r.status == 404 and r.error_code() == "NoSuchKey"


def test_delete_if_match_after_overwrite(s3, bucket):
    old = s3.put_object(Bucket=bucket, Key="o", Body=b"old")["ETag"]
    s3.put_object(Bucket=bucket, Key="o", Body=b"new")
    assert outcome(lambda: s3.delete_object(Bucket=bucket, Key="o", IfMatch=old)) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="o")["Body"].read() == b"new"


def test_racing_conditional_deletes_one_wins(server, s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="del-race", Body=b"x")["ETag"]

    def delete(i):
        c = server.client()
        return outcome(lambda: c.delete_object(Bucket=bucket, Key="del-race", IfMatch=etag))

    results = race(8, delete)
    assert results.count((204, None)) == 1, results
    assert all(r in ((404, "NoSuchKey"), (412, "PreconditionFailed"), (409, "ConditionalRequestConflict"))
               for r in results if r != (204, None)), results


def test_multipart_object_if_match_with_its_etag(server, s3, bucket):
    import os
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    p = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=os.urandom(1000))
    etag = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": p["ETag"]}]})["ETag"]
    assert etag.endswith('-1"')
    assert outcome(lambda: s3.put_object(Bucket=bucket, Key="mp", Body=b"swap", IfMatch=etag)) == (200, None)
    new = s3.head_object(Bucket=bucket, Key="mp")["ETag"]
    assert outcome(lambda: s3.delete_object(Bucket=bucket, Key="mp", IfMatch=etag)) == (412, "PreconditionFailed")
    assert outcome(lambda: s3.delete_object(Bucket=bucket, Key="mp", IfMatch=new)) == (204, None)
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key="mp")
    assert client_error(ei)[1] == 404
