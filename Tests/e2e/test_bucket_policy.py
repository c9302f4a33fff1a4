"""Bucket policies: Put/Get/Delete/GetBucketPolicyStatus, validation (400 MalformedPolicy),
and evaluation for anonymous users, other users (by user ARN, account id, account root ARN) and
the owner: explicit Deny beats Allow, NotAction, NotResource, and the condition operators
StringLike (s3:prefix), IpAddress / NotIpAddress (aws:SourceIp), Bool (aws:SecureTransport),
NumericLessThanEquals (s3:max-keys)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from conftest import BOB, expect_client_error, denied, object_absent, principal_arn, unique_bucket

pytestmark = pytest.mark.timeout(120)

BOB_ARN = principal_arn(BOB)


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def stmt(effect: str, principal, action, resource, condition: dict | None = None, *,
         not_action: bool = False, not_resource: bool = False) -> dict:
    s = {"Effect": effect, "Principal": principal,
         ("NotAction" if not_action else "Action"): action,
         ("NotResource" if not_resource else "Resource"): resource}
    if condition:
        s["Condition"] = condition
    return s


def objects(bucket: str, prefix: str = "") -> str:
    return f"arn:aws:s3:::{bucket}/{prefix}*"


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def put_policy(client, bucket: str, *statements: dict):
    resp = client.put_bucket_policy(Bucket=bucket, Policy=policy(*statements))
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204


error = expect_client_error


def assert_no_policy(client, bucket: str):
    assert error(client.get_bucket_policy, Bucket=bucket) == ("NoSuchBucketPolicy", 404)


@pytest.fixture
def seeded(alice, alice_bucket):
    """alice's bucket with public/a, private/b and secret/c."""
    for key in ("public/a", "private/b", "secret/c"):
        alice.put_object(Bucket=alice_bucket, Key=key, Body=key.encode())
    return alice_bucket


def readable(client, bucket: str, key: str) -> bool:
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    except ClientError as e:
        assert client_error_of(e) == ("AccessDenied", 403), e.response
        return False


def client_error_of(e: ClientError) -> tuple[str, int]:
    return e.response.get("Error", {}).get("Code"), e.response["ResponseMetadata"]["HTTPStatusCode"]


# ------------------------------------------------------------------------------ CRUD


def test_put_get_delete_policy(alice, alice_bucket):
    assert_no_policy(alice, alice_bucket)
    doc = policy(stmt("Allow", {"AWS": BOB_ARN}, "s3:GetObject", objects(alice_bucket)))
    resp = alice.put_bucket_policy(Bucket=alice_bucket, Policy=doc)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert json.loads(alice.get_bucket_policy(Bucket=alice_bucket)["Policy"]) == json.loads(doc)
    resp = alice.delete_bucket_policy(Bucket=alice_bucket)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert_no_policy(alice, alice_bucket)


def test_put_replaces_previous_policy(alice, alice_bucket):
    put_policy(alice, alice_bucket, stmt("Allow", {"AWS": BOB_ARN}, "s3:GetObject", objects(alice_bucket)))
    second = policy(stmt("Allow", {"AWS": BOB_ARN}, "s3:PutObject", objects(alice_bucket)))
    alice.put_bucket_policy(Bucket=alice_bucket, Policy=second)
    assert json.loads(alice.get_bucket_policy(Bucket=alice_bucket)["Policy"]) == json.loads(second)


@pytest.mark.parametrize("case", ["not-json", "unknown-action", "resource-outside-bucket",
                                  "unknown-condition-operator", "bad-effect", "no-statement"])
def test_malformed_policy(alice, alice_bucket, case):
    b = alice_bucket
    doc = {
        "not-json": '{"Version": "2012-10-17", "Statement": [',
        "unknown-action": policy(stmt("Allow", "*", "s3:FlyToTheMoon", objects(b))),
        "resource-outside-bucket": policy(stmt("Allow", "*", "s3:GetObject", objects(unique_bucket("other")))),
        "unknown-condition-operator": policy(stmt("Allow", "*", "s3:GetObject", objects(b),
                                                  {"StringEqualsFoo": {"aws:UserAgent": "x"}})),
        "bad-effect": policy(stmt("Maybe", "*", "s3:GetObject", objects(b))),
        "no-statement": json.dumps({"Version": "2012-10-17"}),
    }[case]
    assert error(alice.put_bucket_policy, Bucket=b, Policy=doc) == ("MalformedPolicy", 400)
    assert_no_policy(alice, b)


def test_policy_removed_with_bucket(alice):
    name = unique_bucket("pol")
    alice.create_bucket(Bucket=name)
    put_policy(alice, name, stmt("Allow", "*", "s3:GetObject", objects(name)))
    alice.delete_bucket(Bucket=name)
    alice.create_bucket(Bucket=name)
    try:
        assert_no_policy(alice, name)
    finally:
        alice.delete_bucket(Bucket=name)


def test_policy_operations_on_missing_bucket(alice):
    assert error(alice.get_bucket_policy, Bucket=unique_bucket("none")) == ("NoSuchBucket", 404)


def test_other_user_cannot_manage_policy(alice, bob, alice_bucket):
    denied(bob.put_bucket_policy, Bucket=alice_bucket, Policy=policy(stmt("Allow", "*", "s3:*", objects(alice_bucket))))
    assert_no_policy(alice, alice_bucket)
    put_policy(alice, alice_bucket, stmt("Allow", {"AWS": BOB_ARN}, "s3:GetObject", objects(alice_bucket)))
    denied(bob.get_bucket_policy, Bucket=alice_bucket)
    denied(bob.delete_bucket_policy, Bucket=alice_bucket)
    assert alice.get_bucket_policy(Bucket=alice_bucket)["Policy"]


# ------------------------------------------------------------------------------ policy status


def test_policy_status(alice, alice_bucket):
    assert error(alice.get_bucket_policy_status, Bucket=alice_bucket) == ("NoSuchBucketPolicy", 404)
    put_policy(alice, alice_bucket, stmt("Allow", {"AWS": BOB_ARN}, "s3:GetObject", objects(alice_bucket)))
    assert alice.get_bucket_policy_status(Bucket=alice_bucket)["PolicyStatus"]["IsPublic"] is False
    put_policy(alice, alice_bucket, stmt("Allow", "*", "s3:GetObject", objects(alice_bucket)))
    assert alice.get_bucket_policy_status(Bucket=alice_bucket)["PolicyStatus"]["IsPublic"] is True
    put_policy(alice, alice_bucket, stmt("Allow", {"AWS": "*"}, "s3:GetObject", objects(alice_bucket)))
    assert alice.get_bucket_policy_status(Bucket=alice_bucket)["PolicyStatus"]["IsPublic"] is True
    put_policy(alice, alice_bucket, stmt("Deny", "*", "s3:GetObject", objects(alice_bucket)))
    assert alice.get_bucket_policy_status(Bucket=alice_bucket)["PolicyStatus"]["IsPublic"] is False


# ------------------------------------------------------------------------------ anonymous access


def test_public_read_policy(alice, anon, auth_server, seeded):
    b = seeded
    assert not readable(anon, b, "public/a")
    put_policy(alice, b, stmt("Allow", "*", "s3:GetObject", objects(b)))
    assert readable(anon, b, "public/a") and readable(anon, b, "private/b")
    r = auth_server.http("GET", f"/{b}/public/a")         # plain unsigned HTTP too
    assert r.status == 200 and r.body == b"public/a"
    denied(anon.put_object, Bucket=b, Key="anon-wrote", Body=b"x")
    denied(anon.delete_object, Bucket=b, Key="public/a")
    denied(anon.list_objects_v2, Bucket=b)
    assert object_absent(alice, b, "anon-wrote")
    assert readable(alice, b, "public/a")


def test_deny_overrides_allow(alice, anon, bob, seeded):
    b = seeded
    put_policy(alice, b,
               stmt("Allow", "*", "s3:GetObject", objects(b)),
               stmt("Deny", "*", "s3:GetObject", objects(b, "private/")))
    assert readable(anon, b, "public/a") and not readable(anon, b, "private/b")
    assert readable(bob, b, "public/a") and not readable(bob, b, "private/b")


def test_deny_applies_to_allowed_user(alice, bob, seeded):
    b = seeded
    put_policy(alice, b,
               stmt("Allow", {"AWS": BOB_ARN}, ["s3:GetObject", "s3:PutObject"], objects(b)),
               stmt("Deny", "*", "s3:PutObject", objects(b, "locked/")))
    assert bob.put_object(Bucket=b, Key="open/x", Body=b"ok")["ResponseMetadata"]["HTTPStatusCode"] == 200
    denied(bob.put_object, Bucket=b, Key="locked/x", Body=b"no")
    assert object_absent(alice, b, "locked/x")
    assert alice.get_object(Bucket=b, Key="open/x")["Body"].read() == b"ok"


# ------------------------------------------------------------------------------ other users


@pytest.mark.parametrize("principal", [{"AWS": BOB_ARN}, {"AWS": BOB["accountId"]},
                                       {"AWS": f"arn:aws:iam::{BOB['accountId']}:root"},
                                       {"AWS": [BOB_ARN, "arn:aws:iam::999999999999:user/nobody"]}],
                         ids=["user-arn", "account-id", "account-root-arn", "arn-list"])
def test_cross_user_grant(alice, bob, anon, seeded, principal):
    b = seeded
    assert not readable(bob, b, "public/a")
    put_policy(alice, b, stmt("Allow", principal, "s3:GetObject", objects(b)))
    assert readable(bob, b, "public/a")
    denied(bob.put_object, Bucket=b, Key="bob", Body=b"x")
    assert not readable(anon, b, "public/a")
    assert object_absent(alice, b, "bob")


def test_grant_for_someone_else_does_not_help_bob(alice, bob, seeded):
    put_policy(alice, seeded, stmt("Allow", {"AWS": "arn:aws:iam::999999999999:user/bob"}, "s3:GetObject",
                                   objects(seeded)))
    assert not readable(bob, seeded, "public/a")


def test_not_action(alice, bob, seeded):
    b = seeded
    put_policy(alice, b, stmt("Allow", {"AWS": BOB_ARN}, "s3:DeleteObject", objects(b), not_action=True))
    assert readable(bob, b, "public/a")
    bob.put_object(Bucket=b, Key="by-bob", Body=b"b")
    denied(bob.delete_object, Bucket=b, Key="public/a")
    assert readable(alice, b, "public/a")


def test_not_resource(alice, bob, seeded):
    b = seeded
    put_policy(alice, b, stmt("Allow", {"AWS": BOB_ARN}, "s3:GetObject", objects(b, "secret/"), not_resource=True))
    assert readable(bob, b, "public/a") and readable(bob, b, "private/b")
    assert not readable(bob, b, "secret/c")


def test_list_bucket_grant_does_not_grant_reads(alice, bob, seeded):
    b = seeded
    put_policy(alice, b, stmt("Allow", {"AWS": BOB_ARN}, "s3:ListBucket", bucket_arn(b)))
    assert bob.list_objects_v2(Bucket=b)["KeyCount"] == 3
    assert [o["Key"] for o in bob.list_objects(Bucket=b)["Contents"]] == ["private/b", "public/a", "secret/c"]
    assert not readable(bob, b, "public/a")
    denied(bob.put_object, Bucket=b, Key="x", Body=b"x")


def test_action_wildcards(alice, bob, seeded):
    b = seeded
    put_policy(alice, b, stmt("Allow", {"AWS": BOB_ARN}, "s3:Get*", objects(b)))
    assert readable(bob, b, "public/a")
    denied(bob.put_object, Bucket=b, Key="x", Body=b"x")
    assert object_absent(alice, b, "x")


# ------------------------------------------------------------------------------ conditions


def test_condition_string_like_prefix(alice, bob, seeded):
    b = seeded
    put_policy(alice, b, stmt("Allow", {"AWS": BOB_ARN}, "s3:ListBucket", bucket_arn(b),
                              {"StringLike": {"s3:prefix": "public/*"}}))
    assert [o["Key"] for o in bob.list_objects_v2(Bucket=b, Prefix="public/")["Contents"]] == ["public/a"]
    denied(bob.list_objects_v2, Bucket=b, Prefix="private/")
    denied(bob.list_objects_v2, Bucket=b)


def test_condition_numeric_max_keys(alice, bob, seeded):
    b = seeded
    put_policy(alice, b, stmt("Allow", {"AWS": BOB_ARN}, "s3:ListBucket", bucket_arn(b),
                              {"NumericLessThanEquals": {"s3:max-keys": "10"}}))
    assert bob.list_objects_v2(Bucket=b, MaxKeys=10)["KeyCount"] == 3
    assert bob.list_objects_v2(Bucket=b, MaxKeys=2)["KeyCount"] == 2
    denied(bob.list_objects_v2, Bucket=b, MaxKeys=11)


@pytest.mark.parametrize("cidr,allowed", [("127.0.0.0/8", True), ("127.0.0.1/32", True), ("10.0.0.0/8", False)])
def test_condition_ip_address(alice, bob, seeded, cidr, allowed):
    b = seeded
    put_policy(alice, b, stmt("Allow", {"AWS": BOB_ARN}, "s3:GetObject", objects(b),
                              {"IpAddress": {"aws:SourceIp": cidr}}))
    assert readable(bob, b, "public/a") is allowed


@pytest.mark.parametrize("cidr,allowed", [("127.0.0.0/8", True), ("10.0.0.0/8", False)])
def test_condition_not_ip_address_deny(alice, bob, seeded, cidr, allowed):
    b = seeded
    put_policy(alice, b,
               stmt("Allow", {"AWS": BOB_ARN}, "s3:GetObject", objects(b)),
               stmt("Deny", "*", "s3:GetObject", objects(b), {"NotIpAddress": {"aws:SourceIp": cidr}}))
    assert readable(bob, b, "public/a") is allowed


def test_condition_secure_transport_deny_all(alice, bob, anon, seeded):
    """Over plain HTTP aws:SecureTransport is false: everything is denied, for the owner too,
    except that the owner can still read and remove the policy."""
    b = seeded
    doc = policy(stmt("Allow", "*", "s3:GetObject", objects(b)),
                 stmt("Allow", {"AWS": BOB_ARN}, "s3:*", [bucket_arn(b), objects(b)]),
                 stmt("Deny", "*", "s3:*", [bucket_arn(b), objects(b)], {"Bool": {"aws:SecureTransport": "false"}}))
    alice.put_bucket_policy(Bucket=b, Policy=doc)
    assert not readable(anon, b, "public/a")
    assert not readable(bob, b, "public/a")
    denied(bob.put_object, Bucket=b, Key="bob", Body=b"x")
    denied(bob.list_objects_v2, Bucket=b)
    assert not readable(alice, b, "public/a")
    denied(alice.put_object, Bucket=b, Key="alice", Body=b"x")
    # the owner keeps control of the policy
    assert json.loads(alice.get_bucket_policy(Bucket=b)["Policy"]) == json.loads(doc)
    put_policy(alice, b, stmt("Deny", "*", "s3:*", [bucket_arn(b), objects(b)],
                              {"Bool": {"aws:SecureTransport": "false"}}))
    alice.delete_bucket_policy(Bucket=b)
    assert readable(alice, b, "public/a")
    assert object_absent(alice, b, "bob") and object_absent(alice, b, "alice")


def test_secure_transport_true_condition_never_matches_over_http(alice, bob, seeded):
    b = seeded
    put_policy(alice, b, stmt("Allow", {"AWS": BOB_ARN}, "s3:GetObject", objects(b),
                              {"Bool": {"aws:SecureTransport": "true"}}))
    assert not readable(bob, b, "public/a")


# ------------------------------------------------------------------------------ owner


def test_owner_has_full_access_without_policy(alice, alice_bucket):
    alice.put_object(Bucket=alice_bucket, Key="k", Body=b"v")
    assert alice.get_object(Bucket=alice_bucket, Key="k")["Body"].read() == b"v"
    assert alice.list_objects_v2(Bucket=alice_bucket)["KeyCount"] == 1
    alice.delete_object(Bucket=alice_bucket, Key="k")
    assert_no_policy(alice, alice_bucket)


def test_owner_unaffected_by_grants_to_others(alice, seeded):
    put_policy(alice, seeded, stmt("Allow", {"AWS": BOB_ARN}, "s3:GetObject", objects(seeded)))
    assert readable(alice, seeded, "secret/c")
    alice.put_object(Bucket=seeded, Key="more", Body=b"m")


def test_explicit_deny_applies_to_owner(alice, seeded):
    b = seeded
    put_policy(alice, b, stmt("Deny", "*", ["s3:GetObject", "s3:DeleteObject"], objects(b, "secret/")))
    assert not readable(alice, b, "secret/c")
    denied(alice.delete_object, Bucket=b, Key="secret/c")
    assert readable(alice, b, "public/a")
    alice.delete_bucket_policy(Bucket=b)
    assert readable(alice, b, "secret/c")


def test_owner_can_always_manage_policy_despite_deny(alice, seeded):
    b = seeded
    deny_policy_ops = stmt("Deny", "*", ["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
                           bucket_arn(b))
    put_policy(alice, b, deny_policy_ops)
    assert alice.get_bucket_policy(Bucket=b)["Policy"]
    put_policy(alice, b, deny_policy_ops, stmt("Deny", "*", "s3:GetObject", objects(b)))
    assert not readable(alice, b, "public/a")
    assert alice.delete_bucket_policy(Bucket=b)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert readable(alice, b, "public/a")


# ------------------------------------------------------------------------------ review regressions


def test_policy_management_stays_with_the_owners_account(alice, bob, anon, alice_bucket):
    """An over-broad Allow s3:* does not let other accounts replace the policy: S3 answers
    405 MethodNotAllowed to a permitted caller outside the owner's account."""
    put_policy(alice, alice_bucket, stmt("Allow", "*", "s3:*", [bucket_arn(alice_bucket), objects(alice_bucket)]))
    takeover = policy(stmt("Allow", "*", "s3:DeleteObject", objects(alice_bucket)))
    for client in (bob, anon):
        assert error(client.put_bucket_policy, Bucket=alice_bucket, Policy=takeover) == ("MethodNotAllowed", 405)
        assert error(client.delete_bucket_policy, Bucket=alice_bucket) == ("MethodNotAllowed", 405)
    assert "s3:*" in alice.get_bucket_policy(Bucket=alice_bucket)["Policy"]


def test_object_acl_on_put_needs_put_object_acl(alice, bob, anon, alice_bucket):
    put_policy(alice, alice_bucket,
               stmt("Allow", {"AWS": BOB_ARN}, "s3:PutObject", objects(alice_bucket)),
               stmt("Deny", {"AWS": BOB_ARN}, "s3:PutObjectAcl", objects(alice_bucket)))
    bob.put_object(Bucket=alice_bucket, Key="plain", Body=b"ok")
    denied(bob.put_object, Bucket=alice_bucket, Key="published", Body=b"x", ACL="public-read")
    assert object_absent(alice, alice_bucket, "published")
    denied(anon.get_object, Bucket=alice_bucket, Key="plain")


def test_delete_objects_is_authorized_per_key(alice, bob, alice_bucket):
    for key in ("tmp/1", "tmp/2", "keep/1"):
        alice.put_object(Bucket=alice_bucket, Key=key, Body=b"x")
    put_policy(alice, alice_bucket, stmt("Allow", {"AWS": BOB_ARN}, "s3:DeleteObject", objects(alice_bucket, "tmp/")))
    resp = bob.delete_objects(Bucket=alice_bucket, Delete={"Objects": [{"Key": k} for k in ("tmp/1", "tmp/2", "keep/1")]})
    assert sorted(d["Key"] for d in resp.get("Deleted", [])) == ["tmp/1", "tmp/2"]
    assert [(e["Key"], e["Code"]) for e in resp["Errors"]] == [("keep/1", "AccessDenied")]
    assert alice.get_object(Bucket=alice_bucket, Key="keep/1")["Body"].read() == b"x"
    assert object_absent(alice, alice_bucket, "tmp/1")


def test_policy_variables(alice, bob, anon, alice_bucket):
    """${aws:username} in a resource: each user gets a home prefix; anonymous has no name."""
    put_policy(alice, alice_bucket, stmt("Allow", "*", ["s3:GetObject", "s3:PutObject"],
                                         f"arn:aws:s3:::{alice_bucket}/home/${{aws:username}}/*"))
    bob.put_object(Bucket=alice_bucket, Key="home/bob/notes", Body=b"mine")
    assert bob.get_object(Bucket=alice_bucket, Key="home/bob/notes")["Body"].read() == b"mine"
    denied(bob.put_object, Bucket=alice_bucket, Key="home/alice/notes", Body=b"theirs")
    denied(bob.put_object, Bucket=alice_bucket, Key="home/${aws:username}/notes", Body=b"literal")
    denied(anon.get_object, Bucket=alice_bucket, Key="home/bob/notes")
