"""Canned ACLs (x-amz-acl) on buckets and objects: public-read opens listing / reads to
anonymous users, authenticated-read to any signed-in user; Get{Bucket,Object}Acl report the
owner and grants; Put{Bucket,Object}Acl with a canned ACL changes access; explicit grant
documents are 501 NotImplemented; unknown canned ACLs are 400 InvalidArgument."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import bucket_absent, expect_client_error, denied, object_absent, unique_bucket

pytestmark = pytest.mark.timeout(120)

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"


error = expect_client_error


def can_read(client, bucket: str, key: str, expected: bytes) -> bool:
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read() == expected
    except ClientError as e:
        assert client_error_tuple(e) == ("AccessDenied", 403), e.response
        return False


def can_list(client, bucket: str) -> bool:
    try:
        client.list_objects_v2(Bucket=bucket)
        return True
    except ClientError as e:
        assert client_error_tuple(e) == ("AccessDenied", 403), e.response
        return False


def client_error_tuple(e: ClientError) -> tuple[str, int]:
    return e.response.get("Error", {}).get("Code"), e.response["ResponseMetadata"]["HTTPStatusCode"]


def grants(acl: dict) -> set[tuple[str, str, str]]:
    return {(g["Grantee"]["Type"], g["Grantee"].get("ID") or g["Grantee"].get("URI"), g["Permission"])
            for g in acl["Grants"]}


@pytest.fixture(scope="module")
def alice_id(alice) -> str:
    owner_id = alice.list_buckets()["Owner"]["ID"]
    assert owner_id
    return owner_id


@pytest.fixture
def public_bucket(alice):
    name = unique_bucket("pub")
    alice.create_bucket(Bucket=name, ACL="public-read")
    yield name
    for o in alice.list_objects_v2(Bucket=name).get("Contents", []):
        alice.delete_object(Bucket=name, Key=o["Key"])
    alice.delete_bucket(Bucket=name)


# ------------------------------------------------------------------------------ buckets


def test_public_read_bucket_allows_anonymous_listing(alice, anon, auth_server, public_bucket):
    alice.put_object(Bucket=public_bucket, Key="listed", Body=b"private object")
    assert [o["Key"] for o in anon.list_objects_v2(Bucket=public_bucket)["Contents"]] == ["listed"]
    assert [o["Key"] for o in anon.list_objects(Bucket=public_bucket)["Contents"]] == ["listed"]
    r = auth_server.http("GET", f"/{public_bucket}?list-type=2")
    assert r.status == 200 and b"<Key>listed</Key>" in r.body
    # the bucket ACL does not make its objects readable, nor the bucket writable
    assert not can_read(anon, public_bucket, "listed", b"private object")
    denied(anon.put_object, Bucket=public_bucket, Key="anon", Body=b"x")
    denied(anon.delete_object, Bucket=public_bucket, Key="listed")
    assert object_absent(alice, public_bucket, "anon")


def test_bucket_acl_reports_owner_and_grants(alice, alice_id, alice_bucket, public_bucket):
    private = alice.get_bucket_acl(Bucket=alice_bucket)
    assert private["Owner"]["ID"] == alice_id
    assert grants(private) == {("CanonicalUser", alice_id, "FULL_CONTROL")}
    public = alice.get_bucket_acl(Bucket=public_bucket)
    assert public["Owner"]["ID"] == alice_id
    assert grants(public) == {("CanonicalUser", alice_id, "FULL_CONTROL"), ("Group", ALL_USERS, "READ")}


def test_put_bucket_acl_canned(alice, anon, alice_id, alice_bucket):
    assert not can_list(anon, alice_bucket)
    alice.put_bucket_acl(Bucket=alice_bucket, ACL="public-read")
    assert can_list(anon, alice_bucket)
    assert ("Group", ALL_USERS, "READ") in grants(alice.get_bucket_acl(Bucket=alice_bucket))
    alice.put_bucket_acl(Bucket=alice_bucket, ACL="private")
    assert not can_list(anon, alice_bucket)
    assert grants(alice.get_bucket_acl(Bucket=alice_bucket)) == {("CanonicalUser", alice_id, "FULL_CONTROL")}


def test_put_bucket_acl_with_grant_document_not_implemented(alice, anon, alice_id, alice_bucket):
    body = {"Owner": {"ID": alice_id},
            "Grants": [{"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"},
                       {"Grantee": {"Type": "CanonicalUser", "ID": alice_id}, "Permission": "FULL_CONTROL"}]}
    assert error(alice.put_bucket_acl, Bucket=alice_bucket, AccessControlPolicy=body) == ("NotImplemented", 501)
    assert not can_list(anon, alice_bucket)
    assert grants(alice.get_bucket_acl(Bucket=alice_bucket)) == {("CanonicalUser", alice_id, "FULL_CONTROL")}


def test_other_user_cannot_read_or_change_acls(alice, bob, alice_bucket):
    alice.put_object(Bucket=alice_bucket, Key="k", Body=b"v")
    denied(bob.get_bucket_acl, Bucket=alice_bucket)
    denied(bob.put_bucket_acl, Bucket=alice_bucket, ACL="public-read")
    denied(bob.get_object_acl, Bucket=alice_bucket, Key="k")
    denied(bob.put_object_acl, Bucket=alice_bucket, Key="k", ACL="public-read")
    assert not can_read(bob, alice_bucket, "k", b"v")


def test_invalid_canned_acl_on_create_bucket(alice):
    name = unique_bucket("badacl")
    assert error(alice.create_bucket, Bucket=name, ACL="world-writable-please") == ("InvalidArgument", 400)
    assert bucket_absent(alice, name)


# ------------------------------------------------------------------------------ objects


def test_public_read_object(alice, anon, bob, auth_server, alice_bucket):
    alice.put_object(Bucket=alice_bucket, Key="open", Body=b"for everyone", ACL="public-read")
    alice.put_object(Bucket=alice_bucket, Key="closed", Body=b"for alice")
    assert can_read(anon, alice_bucket, "open", b"for everyone")
    assert can_read(bob, alice_bucket, "open", b"for everyone")
    r = auth_server.http("GET", f"/{alice_bucket}/open")
    assert r.status == 200 and r.body == b"for everyone"
    assert not can_read(anon, alice_bucket, "closed", b"for alice")
    assert not can_read(bob, alice_bucket, "closed", b"for alice")
    assert not can_list(anon, alice_bucket)


def test_object_acl_reports_owner_and_grants(alice, alice_id, alice_bucket):
    alice.put_object(Bucket=alice_bucket, Key="open", Body=b"o", ACL="public-read")
    alice.put_object(Bucket=alice_bucket, Key="closed", Body=b"c")
    open_acl = alice.get_object_acl(Bucket=alice_bucket, Key="open")
    assert open_acl["Owner"]["ID"] == alice_id
    assert grants(open_acl) == {("CanonicalUser", alice_id, "FULL_CONTROL"), ("Group", ALL_USERS, "READ")}
    assert grants(alice.get_object_acl(Bucket=alice_bucket, Key="closed")) == {
        ("CanonicalUser", alice_id, "FULL_CONTROL")}


def test_put_object_acl_private_revokes_public_read(alice, anon, alice_id, alice_bucket):
    alice.put_object(Bucket=alice_bucket, Key="k", Body=b"v", ACL="public-read")
    assert can_read(anon, alice_bucket, "k", b"v")
    alice.put_object_acl(Bucket=alice_bucket, Key="k", ACL="private")
    assert not can_read(anon, alice_bucket, "k", b"v")
    assert grants(alice.get_object_acl(Bucket=alice_bucket, Key="k")) == {("CanonicalUser", alice_id, "FULL_CONTROL")}
    alice.put_object_acl(Bucket=alice_bucket, Key="k", ACL="public-read")
    assert can_read(anon, alice_bucket, "k", b"v")


def test_authenticated_read_object(alice, anon, bob, alice_id, alice_bucket):
    alice.put_object(Bucket=alice_bucket, Key="members", Body=b"m", ACL="authenticated-read")
    assert can_read(bob, alice_bucket, "members", b"m")
    assert not can_read(anon, alice_bucket, "members", b"m")
    assert grants(alice.get_object_acl(Bucket=alice_bucket, Key="members")) == {
        ("CanonicalUser", alice_id, "FULL_CONTROL"), ("Group", AUTHENTICATED_USERS, "READ")}


def test_overwrite_resets_object_acl(alice, anon, alice_bucket):
    alice.put_object(Bucket=alice_bucket, Key="k", Body=b"v1", ACL="public-read")
    alice.put_object(Bucket=alice_bucket, Key="k", Body=b"v2")
    assert not can_read(anon, alice_bucket, "k", b"v2")


def test_invalid_canned_acl_on_put_object(alice, alice_bucket):
    assert error(alice.put_object, Bucket=alice_bucket, Key="bad", Body=b"x", ACL="bogus") == ("InvalidArgument", 400)
    assert object_absent(alice, alice_bucket, "bad")


def test_object_acl_of_missing_key(alice, alice_bucket):
    assert error(alice.get_object_acl, Bucket=alice_bucket, Key="missing") == ("NoSuchKey", 404)
