"""Virtual-hosted-style addressing: `<bucket>.<domain>[:port]` for each configured domain
(localhost, s3.local.test) routes like `/<bucket>/...`, dotted bucket names included; an IP
address or a bare domain as Host is path-style. Requests are signed for the Host they carry
(the signature covers it), and boto3 with addressing_style=virtual works end to end."""

from __future__ import annotations

import socket
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest

import sigv4util as sv
from conftest import ALICE, bucket_absent, find_text, make_client_as, object_absent, strip_ns, unique_bucket

pytestmark = pytest.mark.timeout(120)

ALICE_CREDS = sv.creds_of(ALICE)


def send(srv, method: str, host: str, path: str, body: bytes = b"", params=None, creds=ALICE_CREDS,
         headers: dict | None = None):
    """A request signed for `host`, sent to the server with that Host header."""
    req = sv.sign(method, path, creds=creds, host=host, params=params, headers=headers,
                  payload_hash=sv.sha256_hex(body))
    return sv.send_signed(srv.port, req, body)


def vhost(bucket: str, srv, domain: str = "localhost", port: bool = True) -> str:
    return f"{bucket}.{domain}" + (f":{srv.port}" if port else "")


def xml_keys(body: bytes) -> tuple[str, list[str]]:
    root = ET.fromstring(body)
    assert strip_ns(root.tag) == "ListBucketResult", body
    keys = [find_text(c, "Key") for c in root if strip_ns(c.tag) == "Contents"]
    return find_text(root, "Name"), keys


def bucket_list(body: bytes) -> list[str]:
    root = ET.fromstring(body)
    assert strip_ns(root.tag) == "ListAllMyBucketsResult", body
    buckets = next(c for c in root if strip_ns(c.tag) == "Buckets")
    return [find_text(b, "Name") for b in buckets]


def test_vhost_object_round_trip(auth_server, alice, alice_bucket):
    h = vhost(alice_bucket, auth_server)
    st, hdrs, body = send(auth_server, "PUT", h, "/dir/key.txt", b"virtual")
    assert st == 200, body
    assert alice.get_object(Bucket=alice_bucket, Key="dir/key.txt")["Body"].read() == b"virtual"
    alice.put_object(Bucket=alice_bucket, Key="path-style", Body=b"path")
    st, _, body = send(auth_server, "GET", h, "/path-style")
    assert (st, body) == (200, b"path")
    st, hdrs, _ = send(auth_server, "HEAD", h, "/dir/key.txt")
    assert st == 200 and hdrs["content-length"] == "7"
    st, _, body = send(auth_server, "DELETE", h, "/dir/key.txt")
    assert st == 204, body
    assert object_absent(alice, alice_bucket, "dir/key.txt")


def test_vhost_bucket_level_requests(auth_server, alice):
    name = unique_bucket("vh")
    h = vhost(name, auth_server)
    st, _, body = send(auth_server, "PUT", h, "/")
    assert st == 200, body
    assert name in [b["Name"] for b in alice.list_buckets()["Buckets"]]
    alice.put_object(Bucket=name, Key="a/1", Body=b"1")
    alice.put_object(Bucket=name, Key="b/2", Body=b"2")
    st, _, body = send(auth_server, "GET", h, "/")
    assert st == 200 and xml_keys(body) == (name, ["a/1", "b/2"])
    st, _, body = send(auth_server, "GET", h, "/", params=[("list-type", "2"), ("prefix", "b/")])
    assert st == 200 and xml_keys(body) == (name, ["b/2"])
    st, _, _ = send(auth_server, "HEAD", h, "/")
    assert st == 200
    for k in ("a/1", "b/2"):
        alice.delete_object(Bucket=name, Key=k)
    st, _, body = send(auth_server, "DELETE", h, "/")
    assert st == 204, body
    assert bucket_absent(alice, name)


def test_vhost_dotted_bucket_name(auth_server, alice):
    name = f"my.dotted.{uuid.uuid4().hex[:12]}.bucket"
    h = vhost(name, auth_server, domain="s3.local.test")
    st, _, body = send(auth_server, "PUT", h, "/")
    assert st == 200, body
    try:
        st, _, body = send(auth_server, "PUT", h, "/obj", b"dotted")
        assert st == 200, body
        assert alice.get_object(Bucket=name, Key="obj")["Body"].read() == b"dotted"
        st, _, body = send(auth_server, "GET", h, "/")
        assert st == 200 and xml_keys(body) == (name, ["obj"])
        # the same bucket under the other configured domain
        st, _, body = send(auth_server, "GET", vhost(name, auth_server), "/obj")
        assert (st, body) == (200, b"dotted")
    finally:
        alice.delete_object(Bucket=name, Key="obj")
        alice.delete_bucket(Bucket=name)


def test_vhost_host_without_port(auth_server, alice, alice_bucket):
    alice.put_object(Bucket=alice_bucket, Key="k", Body=b"no port")
    st, _, body = send(auth_server, "GET", vhost(alice_bucket, auth_server, port=False), "/k")
    assert (st, body) == (200, b"no port")


def test_vhost_key_needing_encoding(auth_server, alice, alice_bucket):
    key = "sp ace/\u00fc+%/x=y&z.txt"
    st, _, body = send(auth_server, "PUT", vhost(alice_bucket, auth_server), "/" + sv.uri_encode(key, encode_slash=False),
                       b"enc")
    assert st == 200, body
    assert alice.get_object(Bucket=alice_bucket, Key=key)["Body"].read() == b"enc"


@pytest.mark.parametrize("host_kind", ["ip", "localhost", "s3.local.test"])
def test_non_vhost_hosts_are_path_style(auth_server, alice, alice_bucket, host_kind):
    h = {"ip": f"127.0.0.1:{auth_server.port}", "localhost": f"localhost:{auth_server.port}",
         "s3.local.test": f"s3.local.test:{auth_server.port}"}[host_kind]
    alice.put_object(Bucket=alice_bucket, Key="k", Body=b"path style")
    st, _, body = send(auth_server, "GET", h, f"/{alice_bucket}/k")
    assert (st, body) == (200, b"path style")
    st, _, body = send(auth_server, "GET", h, "/")
    assert st == 200 and alice_bucket in bucket_list(body)


def test_vhost_missing_bucket(auth_server):
    name = unique_bucket("none")
    st, _, body = send(auth_server, "GET", vhost(name, auth_server), "/k")
    err = sv.error_of(body)
    assert (st, err["Code"], err.get("BucketName")) == (404, "NoSuchBucket", name), body


def test_vhost_signature_covers_the_host(auth_server, alice, alice_bucket):
    other = unique_bucket("other")
    alice.create_bucket(Bucket=other)
    try:
        body = b"redirected"
        req = sv.sign("PUT", "/k", creds=ALICE_CREDS, host=vhost(alice_bucket, auth_server),
                      payload_hash=sv.sha256_hex(body))
        req.headers["Host"] = vhost(other, auth_server)
        st, _, rb = sv.send_signed(auth_server.port, req, body)
        assert st == 403 and sv.error_of(rb)["Code"] == "SignatureDoesNotMatch", rb
        assert object_absent(alice, other, "k") and object_absent(alice, alice_bucket, "k")
    finally:
        alice.delete_bucket(Bucket=other)


def test_vhost_anonymous_private_bucket(auth_server, alice, alice_bucket):
    alice.put_object(Bucket=alice_bucket, Key="k", Body=b"secret")
    st, _, body = sv.send_raw(auth_server.port, "GET", "/k", {"Host": vhost(alice_bucket, auth_server)})
    assert st == 403 and sv.error_of(body)["Code"] == "AccessDenied"


@pytest.fixture
def localhost_resolves(monkeypatch):
    """`*.localhost` does not resolve on every machine: map it (and localhost) to 127.0.0.1."""
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        if host == "localhost" or (isinstance(host, str) and host.endswith(".localhost")):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_boto3_virtual_addressing(auth_server, alice, localhost_resolves):
    client = make_client_as(f"http://localhost:{auth_server.port}", ALICE, s3={"addressing_style": "virtual"})
    urls: list[str] = []
    client.meta.events.register("before-send.s3", lambda request, **_: urls.append(request.url))
    name = unique_bucket("vb")
    client.create_bucket(Bucket=name)
    try:
        client.put_object(Bucket=name, Key="dir/obj", Body=b"virtual boto3")
        assert client.get_object(Bucket=name, Key="dir/obj")["Body"].read() == b"virtual boto3"
        assert client.head_object(Bucket=name, Key="dir/obj")["ContentLength"] == 13
        assert [o["Key"] for o in client.list_objects_v2(Bucket=name)["Contents"]] == ["dir/obj"]
        client.copy_object(Bucket=name, Key="copy", CopySource={"Bucket": name, "Key": "dir/obj"})
        url = client.generate_presigned_url("get_object", Params={"Bucket": name, "Key": "copy"})
        u = urlsplit(url)
        assert u.netloc == f"{name}.localhost:{auth_server.port}"
        st, _, body = sv.send_raw(auth_server.port, "GET", f"{u.path}?{u.query}", {"Host": u.netloc})
        assert (st, body) == (200, b"virtual boto3")
        deleted = client.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "dir/obj"}, {"Key": "copy"}]})
        assert len(deleted["Deleted"]) == 2
        # every request really went to the virtual host
        assert urls and all(urlsplit(x).netloc == f"{name}.localhost:{auth_server.port}" for x in urls), urls
        assert alice.list_objects_v2(Bucket=name)["KeyCount"] == 0
    finally:
        client.delete_bucket(Bucket=name)
    assert bucket_absent(alice, name)
