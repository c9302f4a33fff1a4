"""Concurrent clients: races between writers, deleters and bucket deletion."""

from __future__ import annotations

import collections
import concurrent.futures as cf
import os
import socket
import threading
import time

import pytest
from botocore.exceptions import ClientError

from conftest import E2E_DRIVES, assert_tmp_empty, make_client_as, wait_for_upload_in_progress

pytestmark = pytest.mark.isolated


def test_put_and_delete_siblings_under_shared_prefix(fresh_server):
    srv = fresh_server
    srv.client().create_bucket(Bucket="siblings")
    deep = "/".join("abcdefgh")
    errors: collections.Counter = collections.Counter()
    stop = threading.Event()

    def worker(i: int):
        c = srv.client()
        key = f"{deep}/k{i}"
        deadline = time.monotonic() + 15
        n = 0
        while time.monotonic() < deadline and not stop.is_set():
            n += 1
            body = f"{i}-{n}".encode()
            try:
                c.put_object(Bucket="siblings", Key=key, Body=body)
                got = c.get_object(Bucket="siblings", Key=key)["Body"].read()
                if got != body:
                    errors["read-mismatch"] += 1
                c.delete_object(Bucket="siblings", Key=key)
            except ClientError as e:
                errors[f"{e.response['ResponseMetadata']['HTTPStatusCode']} {e.response['Error']['Code']}"] += 1
                stop.set()
            if n >= 400:
                break

    with cf.ThreadPoolExecutor(6) as ex:
        list(ex.map(worker, range(6)))
    assert dict(errors) == {}
    assert srv.client().list_objects_v2(Bucket="siblings")["KeyCount"] == 0
    assert_tmp_empty(srv)


def test_concurrent_puts_distinct_keys_same_prefix(fresh_server):
    srv = fresh_server
    srv.client().create_bucket(Bucket="fanout")

    def put(i):
        c = srv.client()
        c.put_object(Bucket="fanout", Key=f"shared/dir/{i:03d}", Body=str(i).encode())

    with cf.ThreadPoolExecutor(8) as ex:
        list(ex.map(put, range(200)))
    c = srv.client()
    keys = []
    for page in c.get_paginator("list_objects_v2").paginate(Bucket="fanout"):
        keys += [o["Key"] for o in page["Contents"]]
    assert keys == [f"shared/dir/{i:03d}" for i in range(200)]
    assert_tmp_empty(srv)


def test_concurrent_create_same_bucket_exactly_one_wins(start_server):
    """In a region other than us-east-1, re-creating your own bucket is 409, so exactly one of
    the racing creates reports that it made the bucket."""
    srv = start_server(extra_args=["--region", "eu-west-1"])

    def mk(_):
        try:
            make_client_as(srv.endpoint, {"accessKeyId": "STORAGE", "secretAccessKey": "STORAGE"}, region="eu-west-1").create_bucket(
                Bucket="contended", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
            return "created"
        except ClientError as e:
            return e.response["Error"]["Code"]

    with cf.ThreadPoolExecutor(8) as ex:
        results = list(ex.map(mk, range(16)))
    assert sorted(results) == ["BucketAlreadyOwnedByYou"] * 15 + ["created"]


@pytest.mark.filestore_only
def test_put_in_flight_while_bucket_deleted(fresh_server):
    srv = fresh_server
    s3 = srv.client()
    s3.create_bucket(Bucket="vanishing")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=15)
    try:
        s.sendall(b"PUT /vanishing/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2000000\r\n\r\n")
        s.sendall(b"a" * 1_000_000)
        wait_for_upload_in_progress(srv)
        # the bucket is empty (the upload has not committed), so S3 lets it be deleted
        assert s3.delete_bucket(Bucket="vanishing")["ResponseMetadata"]["HTTPStatusCode"] == 204
        s.sendall(b"a" * 1_000_000)
        from conftest import read_http_response
        status, headers, body, _ = read_http_response(s)
    finally:
        s.close()
    assert status == 404, body
    assert b"<Code>NoSuchBucket</Code>" in body
    assert s3.list_buckets()["Buckets"] == []
    assert_tmp_empty(srv)


def test_put_racing_delete_bucket_outcomes(fresh_server):
    """Either the put wins (bucket not empty) or the delete wins (no such bucket); never both,
    and never an orphan object. 5xx outcomes are covered by test_put_in_flight_while_bucket_deleted."""
    srv = fresh_server
    s3 = srv.client()
    outcomes = collections.Counter()
    for n in range(20):
        b = f"race-del-{n:02d}"
        s3.create_bucket(Bucket=b)

        def put():
            try:
                srv.client().put_object(Bucket=b, Key="k", Body=b"x")
                return "put-ok"
            except ClientError as e:
                return "put-" + e.response["Error"]["Code"]

        def delete():
            try:
                srv.client().delete_bucket(Bucket=b)
                return "del-ok"
            except ClientError as e:
                return "del-" + e.response["Error"]["Code"]

        with cf.ThreadPoolExecutor(2) as ex:
            fp, fd = ex.submit(put), ex.submit(delete)
            res = (fp.result(), fd.result())
        outcomes[res] += 1
        assert res != ("put-ok", "del-ok"), "both the put and the bucket delete succeeded"
        if res[0] == "put-ok":
            assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"x"
    bucket_names = {x["Name"] for x in s3.list_buckets()["Buckets"]}
    for n in range(20):
        b = f"race-del-{n:02d}"
        if E2E_DRIVES:
            continue
        if b in bucket_names:
            assert (srv.directory / b).is_dir()
        else:
            assert not (srv.directory / b).exists()


@pytest.mark.filestore_only
def test_kill_mid_upload_then_restart_cleans_tmp(fresh_server):
    srv = fresh_server
    s3 = srv.client()
    s3.create_bucket(Bucket="killed")
    s3.put_object(Bucket="killed", Key="k", Body=b"old")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=15)
    s.sendall(b"PUT /killed/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4000000\r\n\r\n" + b"n" * 1_000_000)
    wait_for_upload_in_progress(srv)
    import signal
    srv.stop(signal.SIGKILL)
    s.close()
    srv.start()
    assert_tmp_empty(srv)
    s3 = srv.client()
    assert s3.get_object(Bucket="killed", Key="k")["Body"].read() == b"old"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="killed")["Contents"]] == ["k"]


def test_many_parallel_connections(server, bucket):
    def one(i):
        c = server.client()
        body = os.urandom(1000 + i)
        c.put_object(Bucket=bucket, Key=f"par/{i}", Body=body)
        return c.get_object(Bucket=bucket, Key=f"par/{i}")["Body"].read() == body

    with cf.ThreadPoolExecutor(16) as ex:
        assert all(ex.map(one, range(64)))
