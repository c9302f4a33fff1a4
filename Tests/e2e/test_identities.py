"""Two users (alice, bob) on one server: buckets belong to their creator, other users get
403 AccessDenied without a policy or ACL, bucket names are global (409 BucketAlreadyExists for
someone else's name, 409 BucketAlreadyOwnedByYou for your own), and anonymous ListBuckets is
refused."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import bucket_absent, client_error, object_absent, unique_bucket

pytestmark = pytest.mark.timeout(120)


def denied(call, *, code: str = "AccessDenied", status: int = 403, **kw):
    with pytest.raises(ClientError) as ei:
        call(**kw)
    got_code, got_status, _ = client_error(ei)
    assert got_status == status, ei.value.response
    if code is not None:
        assert got_code == code, ei.value.response


def bucket_names(client) -> list[str]:
    return [b["Name"] for b in client.list_buckets()["Buckets"]]


def test_list_buckets_shows_only_own_buckets(alice, bob, alice_bucket):
    bobs = unique_bucket("bob")
    bob.create_bucket(Bucket=bobs)
    try:
        assert alice_bucket in bucket_names(alice) and bobs not in bucket_names(alice)
        assert bobs in bucket_names(bob) and alice_bucket not in bucket_names(bob)
    finally:
        bob.delete_bucket(Bucket=bobs)


def test_list_buckets_owner_differs_per_user(alice, bob):
    a, b = alice.list_buckets()["Owner"], bob.list_buckets()["Owner"]
    assert a["ID"] and b["ID"] and a["ID"] != b["ID"]


def test_bucket_name_taken_by_another_user(alice, bob, alice_bucket):
    denied(bob.create_bucket, Bucket=alice_bucket, code="BucketAlreadyExists", status=409)
    # the owner re-creating it gets S3's us-east-1 answer: 200, nothing changes
    alice.create_bucket(Bucket=alice_bucket)
    # still alice's
    assert alice_bucket in bucket_names(alice) and alice_bucket not in bucket_names(bob)


def test_other_user_cannot_read_or_write(alice, bob, alice_bucket):
    alice.put_object(Bucket=alice_bucket, Key="doc", Body=b"alice's")
    denied(bob.get_object, Bucket=alice_bucket, Key="doc")
    denied(bob.head_object, Bucket=alice_bucket, Key="doc", code=None)
    denied(bob.put_object, Bucket=alice_bucket, Key="bob-wrote", Body=b"x")
    denied(bob.put_object, Bucket=alice_bucket, Key="doc", Body=b"overwritten")
    denied(bob.list_objects_v2, Bucket=alice_bucket)
    denied(bob.list_objects, Bucket=alice_bucket)
    denied(bob.copy_object, Bucket=alice_bucket, Key="copied", CopySource={"Bucket": alice_bucket, "Key": "doc"})
    denied(bob.create_multipart_upload, Bucket=alice_bucket, Key="mpu")
    assert object_absent(alice, alice_bucket, "bob-wrote")
    assert object_absent(alice, alice_bucket, "copied")
    assert alice.get_object(Bucket=alice_bucket, Key="doc")["Body"].read() == b"alice's"
    assert alice.list_multipart_uploads(Bucket=alice_bucket).get("Uploads", []) == []


def test_other_user_cannot_copy_out_of_private_bucket(alice, bob, alice_bucket):
    bobs = unique_bucket("bob")
    bob.create_bucket(Bucket=bobs)
    try:
        alice.put_object(Bucket=alice_bucket, Key="doc", Body=b"alice's")
        denied(bob.copy_object, Bucket=bobs, Key="stolen", CopySource={"Bucket": alice_bucket, "Key": "doc"})
        assert object_absent(bob, bobs, "stolen")
    finally:
        bob.delete_bucket(Bucket=bobs)


def test_other_user_cannot_delete(alice, bob, alice_bucket):
    alice.put_object(Bucket=alice_bucket, Key="keep", Body=b"k")
    denied(bob.delete_object, Bucket=alice_bucket, Key="keep")
    res = None
    try:
        res = bob.delete_objects(Bucket=alice_bucket, Delete={"Objects": [{"Key": "keep"}]})
    except ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    if res is not None:   # S3 may answer 200 with a per-key AccessDenied error
        assert [e["Code"] for e in res.get("Errors", [])] == ["AccessDenied"] and not res.get("Deleted")
    denied(bob.delete_bucket, Bucket=alice_bucket)
    denied(bob.head_bucket, Bucket=alice_bucket, code=None)
    assert not bucket_absent(alice, alice_bucket)
    assert alice.get_object(Bucket=alice_bucket, Key="keep")["Body"].read() == b"k"


def test_missing_bucket_for_other_user_is_404(bob):
    denied(bob.get_object, Bucket=unique_bucket("nobody"), Key="k", code="NoSuchBucket", status=404)


def test_anonymous_list_buckets_denied(anon, auth_server):
    denied(anon.list_buckets)
    r = auth_server.http("GET", "/")
    assert r.status == 403 and r.error_code() == "AccessDenied"


def test_anonymous_create_bucket_denied(anon, alice):
    name = unique_bucket("anon")
    denied(anon.create_bucket, Bucket=name)
    assert bucket_absent(alice, name)
