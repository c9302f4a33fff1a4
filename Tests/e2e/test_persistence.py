"""Restart persistence, on-disk layout, clean slate, shutdown signals."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal

import pytest
from botocore.exceptions import ClientError

from conftest import assert_tmp_empty, client_error

pytestmark = pytest.mark.isolated


def snapshot(s3):
    """Everything observable about the server's contents."""
    out = {}
    for b in s3.list_buckets()["Buckets"]:
        objs = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b["Name"]):
            for o in page.get("Contents", []):
                g = s3.get_object(Bucket=b["Name"], Key=o["Key"])
                h = g["ResponseMetadata"]["HTTPHeaders"]
                objs[o["Key"]] = dict(
                    body=g["Body"].read(), etag=g["ETag"], size=o["Size"],
                    list_lm=o["LastModified"], lm=g["LastModified"],
                    ctype=g.get("ContentType"), meta=g["Metadata"],
                    cache=g.get("CacheControl"), disp=g.get("ContentDisposition"),
                    enc=g.get("ContentEncoding"), lang=g.get("ContentLanguage"),
                    expires=h.get("expires"),
                )
        out[b["Name"]] = dict(created=b["CreationDate"], objects=objs)
    return out


def populate(s3):
    s3.create_bucket(Bucket="persist-a")
    s3.create_bucket(Bucket="persist-b")
    s3.put_object(Bucket="persist-a", Key="a/b/c.txt", Body=b"hello world", ContentType="text/plain",
                  Metadata={"k": "v", "other": "x y"}, CacheControl="no-store",
                  ContentDisposition="attachment", ContentEncoding="identity", ContentLanguage="en-GB",
                  Expires=dt.datetime(2035, 1, 1, tzinfo=dt.timezone.utc))
    s3.put_object(Bucket="persist-a", Key="big.bin", Body=os.urandom(2 * 1024 * 1024 + 3))
    s3.put_object(Bucket="persist-a", Key="gone", Body=b"to be deleted")
    # (the empty PUT is followed by a non-PUT request on purpose: a PUT right after an empty
    # PUT on the same boto3 connection trips test_http::test_boto3_put_after_empty_put)
    s3.put_object(Bucket="persist-a", Key="empty", Body=b"")
    s3.delete_object(Bucket="persist-a", Key="gone")
    s3.put_object(Bucket="persist-b", Key="\u00fcnic\u00f6de/\U0001F600", Body=b"u")
    s3.put_object(Bucket="persist-b", Key="over", Body=b"first")
    s3.put_object(Bucket="persist-b", Key="over", Body=b"second", Metadata={"gen": "2"})
    s3.copy_object(Bucket="persist-b", Key="copied", CopySource={"Bucket": "persist-a", "Key": "a/b/c.txt"})
    s3.create_bucket(Bucket="persist-empty")
    s3.create_bucket(Bucket="persist-deleted")
    s3.delete_bucket(Bucket="persist-deleted")


def test_restart_preserves_everything(fresh_server):
    s3 = fresh_server.client()
    populate(s3)
    before = snapshot(s3)
    assert set(before) == {"persist-a", "persist-b", "persist-empty"}
    assert fresh_server.stop() == 0
    fresh_server.start()
    s3 = fresh_server.client()
    after = snapshot(s3)
    assert after == before
    assert "gone" not in after["persist-a"]["objects"]
    assert after["persist-b"]["objects"]["over"]["body"] == b"second"
    assert after["persist-b"]["objects"]["over"]["meta"] == {"gen": "2"}
    # the server still works normally after the restart
    s3.put_object(Bucket="persist-a", Key="new", Body=b"n")
    # the bucket is known as its owner's: re-creating it is S3's us-east-1 no-op
    s3.create_bucket(Bucket="persist-a")
    assert s3.get_object(Bucket="persist-a", Key="new")["Body"].read() == b"n"
    with pytest.raises(ClientError) as ei:
        s3.delete_bucket(Bucket="persist-a")
    assert client_error(ei)[:2] == ("BucketNotEmpty", 409)
    assert_tmp_empty(fresh_server)


def test_restart_twice_and_sigint(fresh_server):
    s3 = fresh_server.client()
    s3.create_bucket(Bucket="twice")
    s3.put_object(Bucket="twice", Key="k", Body=b"1")
    assert fresh_server.stop(signal.SIGINT) == 0
    fresh_server.start()
    s3 = fresh_server.client()
    s3.put_object(Bucket="twice", Key="k2", Body=b"2")
    assert fresh_server.stop(signal.SIGTERM) == 0
    fresh_server.start()
    s3 = fresh_server.client()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="twice")["Contents"]]
    assert keys == ["k", "k2"]


@pytest.mark.filestore_only
def test_object_files_hold_the_object_bytes(fresh_server):
    s3 = fresh_server.client()
    s3.create_bucket(Bucket="files")
    objects = {
        "a/b/c.txt": b"nested",
        "top": os.urandom(1000),
        "x/y/": b"dir marker with data",
        "big": os.urandom(1024 * 1024),
    }
    for k, v in objects.items():
        s3.put_object(Bucket="files", Key=k, Body=v)
    fresh_server.stop()
    root = fresh_server.directory
    assert (root / ".stowage" / "index.sqlite").is_file()
    assert (root / "files" / "a%" / "b%" / "c.txt").read_bytes() == objects["a/b/c.txt"]
    assert (root / "files" / "top").read_bytes() == objects["top"]
    assert (root / "files" / "x%" / "y%" / "%e").read_bytes() == objects["x/y/"]
    assert (root / "files" / "big").read_bytes() == objects["big"]
    # nothing but the index and the bucket
    assert sorted(os.listdir(root)) == [".stowage", "files"]
    assert os.listdir(root / ".stowage" / "tmp") == [] if (root / ".stowage" / "tmp").exists() else True


@pytest.mark.filestore_only
def test_deleted_object_file_is_removed(fresh_server):
    s3 = fresh_server.client()
    s3.create_bucket(Bucket="rm-bucket")
    s3.put_object(Bucket="rm-bucket", Key="d1/d2/f", Body=b"x")
    path = fresh_server.directory / "rm-bucket" / "d1%" / "d2%" / "f"
    assert path.is_file()
    s3.delete_object(Bucket="rm-bucket", Key="d1/d2/f")
    assert not path.exists()
    s3.delete_bucket(Bucket="rm-bucket")
    assert not (fresh_server.directory / "rm-bucket").exists()


def test_clean_slate_wipes(fresh_server):
    s3 = fresh_server.client()
    s3.create_bucket(Bucket="wipe-me")
    s3.put_object(Bucket="wipe-me", Key="a/b", Body=b"x")
    fresh_server.restart(clean_slate=True)
    s3 = fresh_server.client()
    assert s3.list_buckets()["Buckets"] == []
    assert not (fresh_server.directory / "wipe-me").exists()
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket="wipe-me", Key="a/b")
    assert client_error(ei)[:2] == ("NoSuchBucket", 404)
    # the wiped server is fully usable
    s3.create_bucket(Bucket="wipe-me")
    s3.put_object(Bucket="wipe-me", Key="a/b", Body=b"fresh")
    # and without --clean-slate the next restart keeps the new data
    fresh_server.restart(clean_slate=False)
    assert fresh_server.client().get_object(Bucket="wipe-me", Key="a/b")["Body"].read() == b"fresh"


@pytest.mark.filestore_only
def test_clean_slate_via_config(start_server, tmp_path):
    data = tmp_path / "data"
    srv = start_server(directory=data)
    s3 = srv.client()
    s3.create_bucket(Bucket="cfg-wipe")
    srv.stop()
    srv.config = {"storage": {"cleanSlate": True}}
    srv.start()
    assert srv.client().list_buckets()["Buckets"] == []


@pytest.mark.filestore_only
def test_clean_slate_on_nonexistent_directory(start_server, tmp_path):
    srv = start_server(directory=tmp_path / "does" / "not" / "exist", clean_slate=True)
    s3 = srv.client()
    s3.create_bucket(Bucket="new-dir")
    assert (tmp_path / "does" / "not" / "exist" / "new-dir").is_dir()


def test_crash_kill_keeps_committed_writes(fresh_server):
    s3 = fresh_server.client()
    s3.create_bucket(Bucket="crash")
    payload = {f"k{i}": hashlib.sha256(str(i).encode()).digest() * 100 for i in range(20)}
    for k, v in payload.items():
        s3.put_object(Bucket="crash", Key=k, Body=v)
    fresh_server.stop(signal.SIGKILL)
    fresh_server.start()
    s3 = fresh_server.client()
    for k, v in payload.items():
        assert s3.get_object(Bucket="crash", Key=k)["Body"].read() == v
    assert_tmp_empty(fresh_server)
