"""Bucket operations: CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation, ListBuckets."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from conftest import E2E_DRIVES, client_error, find_text, strip_ns, unique_bucket


# ---------------------------------------------------------------------------- CreateBucket


def test_create_bucket_returns_location_and_is_listed(s3, server):
    name = unique_bucket()
    resp = s3.create_bucket(Bucket=name)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["Location"] == f"/{name}"
    assert resp["ResponseMetadata"]["HTTPHeaders"].get("x-amz-request-id")
    names = [b["Name"] for b in s3.list_buckets(Prefix=name)["Buckets"]]
    assert names == [name]
    # the bucket is a directory inside the storage dir
    assert E2E_DRIVES or (server.directory / name).is_dir()
    s3.delete_bucket(Bucket=name)


def test_create_existing_bucket_in_us_east_1_is_200(s3, bucket):
    """S3 keeps its legacy answer in us-east-1; other regions answer 409 (test_s3_fidelity.py)."""
    assert s3.create_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize("name", [
    "ab",                     # too short
    "a" * 64,                 # too long
    "UPPER",                  # upper case
    "Abc",
    "a..b",                   # adjacent periods
    "192.168.1.1",            # formatted as an IP address
    "-abc",                   # must begin with letter or digit
    "abc-",                   # must end with letter or digit
    ".abc",
    "abc.",
    "abc_def",                # underscore
    "xn--abc",                # reserved prefix
    "sthree-abc",             # reserved prefix
    "abc-s3alias",            # reserved suffix
    "abc--ol-s3",             # reserved suffix
])
def test_create_bucket_invalid_names(s3, server, name):
    with pytest.raises(ClientError) as ei:
        s3.create_bucket(Bucket=name)
    code, status, _ = client_error(ei)
    assert (code, status) == ("InvalidBucketName", 400)
    assert not (server.directory / name).exists()


@pytest.mark.parametrize("raw_name", ["a%20bc", "ab%2Fc", "abc%21", "%C3%A9bc"])
def test_create_bucket_invalid_characters_raw(server, raw_name):
    r = server.http("PUT", f"/{raw_name}")
    assert r.status == 400
    assert r.error_code() == "InvalidBucketName"


@pytest.mark.parametrize("name_fn", [
    lambda: "abc" + unique_bucket("")[1:9],
    lambda: unique_bucket("a.b.c"),
    lambda: "0" + unique_bucket("")[1:20],
    lambda: ("z" + unique_bucket("")[1:])[:3] + "x" * 60,   # exactly 63 chars
])
def test_create_bucket_valid_edge_names(s3, name_fn):
    name = name_fn()
    assert 3 <= len(name) <= 63
    s3.create_bucket(Bucket=name)
    try:
        s3.head_bucket(Bucket=name)
    finally:
        s3.delete_bucket(Bucket=name)


def test_create_bucket_location_constraint_same_region(s3):
    name = unique_bucket()
    # us-east-1 is the server region here; it is accepted as a constraint
    resp = s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3.delete_bucket(Bucket=name)


def test_create_bucket_location_constraint_other_region(s3, server):
    name = unique_bucket()
    with pytest.raises(ClientError) as ei:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    code, status, _ = client_error(ei)
    assert (code, status) == ("IllegalLocationConstraintException", 400)
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_create_bucket_malformed_configuration_xml(server):
    name = unique_bucket()
    r = server.http("PUT", f"/{name}", body=b"<CreateBucketConfiguration><LocationConstraint>")
    assert r.status == 400
    assert r.error_code() == "MalformedXML"
    assert server.http("HEAD", f"/{name}").status == 404


# ---------------------------------------------------------------------------- Delete/Head


def test_delete_bucket_204_then_gone(s3, server):
    name = unique_bucket()
    s3.create_bucket(Bucket=name)
    resp = s3.delete_bucket(Bucket=name)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as ei:
        s3.head_bucket(Bucket=name)
    assert client_error(ei)[1] == 404
    assert not (server.directory / name).exists()


def test_delete_missing_bucket_is_no_such_bucket(s3):
    with pytest.raises(ClientError) as ei:
        s3.delete_bucket(Bucket=unique_bucket())
    code, status, _ = client_error(ei)
    assert (code, status) == ("NoSuchBucket", 404)


def test_delete_non_empty_bucket_is_409(s3, bucket):
    s3.put_object(Bucket=bucket, Key="x/y", Body=b"1")
    with pytest.raises(ClientError) as ei:
        s3.delete_bucket(Bucket=bucket)
    code, status, _ = client_error(ei)
    assert (code, status) == ("BucketNotEmpty", 409)
    # still there with its object
    assert s3.get_object(Bucket=bucket, Key="x/y")["Body"].read() == b"1"
    s3.delete_object(Bucket=bucket, Key="x/y")
    assert s3.delete_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_head_bucket_existing_has_region_header(s3, bucket):
    resp = s3.head_bucket(Bucket=bucket)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert resp["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"


def test_head_bucket_missing_is_404_without_body(s3, server):
    name = unique_bucket()
    with pytest.raises(ClientError) as ei:
        s3.head_bucket(Bucket=name)
    code, status, headers = client_error(ei)
    assert status == 404
    assert headers.get("x-amz-request-id")
    r = server.http("HEAD", f"/{name}")
    assert r.status == 404
    assert r.body == b""


def test_get_bucket_location_us_east_1_is_empty(s3, bucket):
    resp = s3.get_bucket_location(Bucket=bucket)
    # us-east-1 is reported as an empty LocationConstraint
    assert resp.get("LocationConstraint") in (None, "")


def test_get_bucket_location_raw_xml(server, bucket):
    r = server.http("GET", f"/{bucket}?location")
    assert r.status == 200
    root = r.xml()
    assert strip_ns(root.tag) == "LocationConstraint"
    assert not (root.text or "").strip()


def test_get_bucket_location_missing_bucket(s3):
    with pytest.raises(ClientError) as ei:
        s3.get_bucket_location(Bucket=unique_bucket())
    assert client_error(ei)[:2] == ("NoSuchBucket", 404)


def test_region_of_server_is_reported(start_server):
    srv = start_server(extra_args=["--region", "eu-west-1"])
    c = srv.client()
    name = unique_bucket()
    # a client in us-east-1 sends no constraint: the bucket goes to the server's region
    srv.http("PUT", f"/{name}")
    head = srv.http("HEAD", f"/{name}")
    assert head.status == 200
    assert head.header("x-amz-bucket-region") == "eu-west-1"
    loc = srv.http("GET", f"/{name}?location")
    assert loc.status == 200
    assert (loc.xml().text or "") == "eu-west-1"
    body = (b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>")
    other = unique_bucket()
    assert srv.http("PUT", f"/{other}", body=body).status == 200
    bad = srv.http("PUT", f"/{unique_bucket()}", body=body.replace(b"eu-west-1", b"us-west-2"))
    assert bad.status == 400
    assert bad.error_code() == "IllegalLocationConstraintException"
    assert sorted(b["Name"] for b in c.list_buckets()["Buckets"]) == sorted([name, other])


# ---------------------------------------------------------------------------- ListBuckets


def test_list_buckets_sorted_with_owner_and_dates(s3_fresh):
    names = sorted(unique_bucket("lb") for _ in range(5))
    before = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    for n in reversed(names):
        s3_fresh.create_bucket(Bucket=n)
    resp = s3_fresh.list_buckets()
    got = resp["Buckets"]
    assert [b["Name"] for b in got] == names
    after = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5)
    for b in got:
        assert before <= b["CreationDate"] <= after
    assert resp["Owner"]["ID"]
    assert "ContinuationToken" not in resp


def test_list_buckets_empty_server(s3_fresh):
    resp = s3_fresh.list_buckets()
    assert resp["Buckets"] == []


def test_list_buckets_prefix(s3_fresh):
    for n in ["alpha-1", "alpha-2", "beta-1", "alphabet"]:
        s3_fresh.create_bucket(Bucket=n)
    resp = s3_fresh.list_buckets(Prefix="alpha")
    assert [b["Name"] for b in resp["Buckets"]] == ["alpha-1", "alpha-2", "alphabet"]
    assert resp.get("Prefix") == "alpha"
    assert s3_fresh.list_buckets(Prefix="gamma")["Buckets"] == []


def test_list_buckets_pagination(s3_fresh):
    names = [f"page-{i:02d}" for i in range(7)]
    for n in names:
        s3_fresh.create_bucket(Bucket=n)
    s3_fresh.create_bucket(Bucket="other-bucket")
    seen = []
    token = None
    pages = 0
    while True:
        kw = {"MaxBuckets": 3, "Prefix": "page-"}
        if token:
            kw["ContinuationToken"] = token
        resp = s3_fresh.list_buckets(**kw)
        pages += 1
        page = [b["Name"] for b in resp["Buckets"]]
        assert 1 <= len(page) <= 3
        seen += page
        token = resp.get("ContinuationToken")
        if not token:
            break
        assert pages < 10
    assert seen == names
    assert pages == 3


def test_list_buckets_paginator_without_prefix(s3_fresh):
    names = sorted(unique_bucket("pg") for _ in range(5))
    for n in names:
        s3_fresh.create_bucket(Bucket=n)
    got = []
    for page in s3_fresh.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": 2}):
        assert len(page["Buckets"]) <= 2
        got += [b["Name"] for b in page["Buckets"]]
    assert got == names


@pytest.mark.parametrize("value", ["0", "-1", "abc", "10001"])
def test_list_buckets_invalid_max_buckets(server, value):
    r = server.http("GET", f"/?max-buckets={value}")
    assert r.status == 400
    assert r.error_code() == "InvalidArgument"


def test_list_buckets_raw_xml_shape(fresh_server):
    fresh_server.http("PUT", "/shape-bucket")
    r = fresh_server.http("GET", "/")
    assert r.status == 200
    assert r.header("Content-Type").startswith("application/xml")
    root = r.xml()
    assert strip_ns(root.tag) == "ListAllMyBucketsResult"
    children = [strip_ns(c.tag) for c in root]
    assert "Owner" in children and "Buckets" in children
    buckets = [c for c in root if strip_ns(c.tag) == "Buckets"][0]
    entries = list(buckets)
    assert len(entries) == 1
    assert find_text(entries[0], "Name") == "shape-bucket"
    created = find_text(entries[0], "CreationDate")
    assert created and created.endswith("Z") and "T" in created
