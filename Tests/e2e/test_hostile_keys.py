"""Hostile object keys must round-trip byte-exact through put/get/head/list/copy/delete and
must land inside the bucket directory (no path traversal, no escaping DIR)."""

from __future__ import annotations

import os
import tempfile
import urllib.parse
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import assert_tmp_empty, byte_sorted, client_error, find_text, strip_ns

HOSTILE_KEYS = [
    "..",
    ".",
    "../x",
    "./x",
    "x/..",
    "x/.",
    "x/../y",
    "../../etc/passwd",
    "../../../../../../../../etc/passwd",
    "a//b",
    "/leading",
    "//double-leading",
    "trailing/",
    "/",
    "a",
    "a/b",
    "a/b/",
    "a/b/c",
    "with space",
    " leading space",
    "trailing space ",
    "plus+sign",
    "100%",
    "%2F",
    "a%2Fb",
    "%00",
    "%",
    "%%",
    "question?mark",
    "q?x=1&y=2",
    "hash#frag",
    "semi;colon",
    "back\\slash",
    "..\\..\\windows",
    "quote\"s'",
    "<tag>&amp;",
    "caf\u00e9",                  # precomposed é
    "cafe\u0301",                 # e + combining acute: a different key
    "\u65e5\u672c\u8a9e/\u30c6\u30b9\u30c8",
    "emoji/\U0001F600\U0001F4A9",
    "zwj/\U0001F468\u200d\U0001F469\u200d\U0001F467",
    "rtl/\u202eevil",
    "bom/\ufeffx",
    "\uff0e\uff0e",               # fullwidth dots
    "c" * 300,                    # one component of 300 bytes
    "dir/" + "d" * 300 + "/f",
    "\u00e9" * 200,               # 400-byte component
    "k" * 1024,                   # 1024-byte key
    "/" * 600,                    # 600 slashes
    "tab\there",
    "ctl\x01\x02\x1f",
    "newline\nkey",
    "cr\rlf\r\n",
    "del\x7f",
    ".stowage",
    ".stowage/index.sqlite",
    "%e",
    "a%/b",
    "a%",
    "%2E%2E",
    "~",
    "*",
    "CON",
    "nul.txt",
]


@pytest.fixture
def hostile_server(start_server):
    # DIR is nested 5 levels deep inside our own temp tree, so that even a traversal of
    # several '..' components would land inside `base` where we can see it.
    base = Path(tempfile.mkdtemp(prefix="stowage-hostile-"))
    data = base / "l1" / "l2" / "l3" / "l4" / "data"
    logs = base / "logs"
    srv = start_server(directory=data, log_dir=logs)
    yield srv, base, data
    import shutil
    shutil.rmtree(base, ignore_errors=True)


def all_entries(root: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            out.append(Path(dirpath) / n)
    return out


def assert_nothing_outside(base: Path, data: Path, logs: Path):
    """Walks the whole temp tree around DIR (os.walk does not follow symlinks): every entry
    must be DIR itself, inside DIR, one of the directories leading to DIR, or our logs;
    nothing inside DIR may be a symlink (so no path can resolve outside it)."""
    base_real = os.path.realpath(base)
    data_rel = os.path.relpath(os.path.realpath(data), base_real)
    chain = {os.path.join(*Path(data_rel).parts[:i]) for i in range(1, len(Path(data_rel).parts) + 1)}
    for dirpath, dirnames, filenames in os.walk(base_real):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, base_real)
            if os.path.islink(p):
                pytest.fail(f"symlink in the storage tree: {p}")
            if rel in chain or rel.startswith(data_rel + os.sep):
                continue
            if rel == "logs" or rel.startswith("logs" + os.sep):
                continue
            pytest.fail(f"file system entry outside the storage directory: {p}")


BUG_CANONICAL_EQUIVALENCE = (
    "server bug (new in 5b31fcf, metadata cache): MetadataCache.Key holds the object key as a Swift "
    "String, whose ==/hash use Unicode canonical equivalence, so 'caf\\u00e9' and 'cafe\\u0301' (distinct "
    "S3 keys) share a cache entry: HEAD of one returns the other's Content-Length/ETag/metadata, and "
    "conditional GET/HEAD evaluate If-Match/If-None-Match against the wrong object")


def test_canonically_equivalent_keys_do_not_share_metadata(s3_fresh):
    s3 = s3_fresh
    s3.create_bucket(Bucket="nfc")
    nfc, nfd = "caf\u00e9", "cafe\u0301"
    etags = {nfc: s3.put_object(Bucket="nfc", Key=nfc, Body=b"A")["ETag"],
             nfd: s3.put_object(Bucket="nfc", Key=nfd, Body=b"BBBB")["ETag"]}
    assert s3.get_object(Bucket="nfc", Key=nfc)["Body"].read() == b"A"      # leaves nfc's row cached
    head = s3.head_object(Bucket="nfc", Key=nfd)
    assert (head["ContentLength"], head["ETag"]) == (4, etags[nfd])
    assert s3.get_object(Bucket="nfc", Key=nfd, IfMatch=etags[nfd])["Body"].read() == b"BBBB"


@pytest.mark.filestore_only
def test_hostile_keys_roundtrip(hostile_server):
    srv, base, data = hostile_server
    s3 = srv.client()
    bucket, other = "hostile", "hostile-copy"
    s3.create_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=other)
    bodies = {k: (f"body of {k!r}".encode("utf-8", "surrogatepass") + os.urandom(8)) for k in HOSTILE_KEYS}

    for k in HOSTILE_KEYS:
        try:
            s3.put_object(Bucket=bucket, Key=k, Body=bodies[k], Metadata={"n": str(HOSTILE_KEYS.index(k))})
        except ClientError as e:
            pytest.fail(f"put {k!r} failed: {e}")
    assert_nothing_outside(base, data, base / "logs")
    assert not (data / "etc").exists() and not (base / "l1" / "l2" / "l3" / "etc").exists()
    # every object is one plain file inside its own bucket's directory
    files = [p for p in all_entries(data) if not p.is_dir()]
    in_bucket = [p for p in files if p.relative_to(data).parts[0] == bucket]
    stray = [p for p in files if p.relative_to(data).parts[0] not in (bucket, ".stowage")]
    assert stray == []
    assert len(in_bucket) == len(HOSTILE_KEYS)
    assert sorted(p.read_bytes() for p in in_bucket) == sorted(bodies.values())
    assert list((data / other).iterdir()) == []

    # get + head: body and key byte-exact, and distinct keys are distinct objects
    for k in HOSTILE_KEYS:
        got = s3.get_object(Bucket=bucket, Key=k)
        assert got["Body"].read() == bodies[k], f"body mismatch for {k!r}"
        assert got["Metadata"] == {"n": str(HOSTILE_KEYS.index(k))}, k
        assert s3.head_object(Bucket=bucket, Key=k)["ContentLength"] == len(bodies[k]), k

    # listing (boto3 asks for encoding-type=url and decodes) returns exactly the keys in byte order
    listed = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 17}):
        listed += [o["Key"] for o in page.get("Contents", [])]
    assert listed == byte_sorted(HOSTILE_KEYS)
    listed_v1 = []
    for page in s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 13}):
        listed_v1 += [o["Key"] for o in page.get("Contents", [])]
    assert listed_v1 == byte_sorted(HOSTILE_KEYS)

    # delimiter listings, paged, v1 (NextMarker round-trips url-encoded) and v2, match the model
    from test_listing import model, page_entries
    for delim in ("/", "%", "."):
        for op in ("list_objects_v2", "list_objects"):
            entries = []
            for page in s3.get_paginator(op).paginate(Bucket=bucket, Delimiter=delim,
                                                      PaginationConfig={"PageSize": 3}):
                entries += page_entries(page)
            assert entries == model(HOSTILE_KEYS, delimiter=delim), (op, delim)

    # prefix listing for each key finds at least that key
    for k in HOSTILE_KEYS:
        page = s3.list_objects_v2(Bucket=bucket, Prefix=k, MaxKeys=1000)
        keys = [o["Key"] for o in page.get("Contents", [])]
        assert keys == byte_sorted(x for x in HOSTILE_KEYS if x.startswith(k)), k

    # copy to another bucket under the same key
    for k in HOSTILE_KEYS:
        s3.copy_object(Bucket=other, Key=k, CopySource={"Bucket": bucket, "Key": k})
        assert s3.get_object(Bucket=other, Key=k)["Body"].read() == bodies[k], k
    assert_nothing_outside(base, data, base / "logs")

    # delete with DeleteObjects the keys XML 1.0 can carry (no control characters other than
    # tab/newline, no CR which XML parsers normalise to LF), the rest with DeleteObject
    def xml_safe(k):
        return all(ch in "\t\n" or ord(ch) >= 0x20 for ch in k) and "\r" not in k
    batch = [k for k in HOSTILE_KEYS if xml_safe(k)][::2]
    singles = [k for k in HOSTILE_KEYS if k not in batch]
    assert len(batch) > 20 and any(not xml_safe(k) for k in singles)
    for k in singles:
        assert s3.delete_object(Bucket=bucket, Key=k)["ResponseMetadata"]["HTTPStatusCode"] == 204
        with pytest.raises(ClientError) as ei:
            s3.head_object(Bucket=bucket, Key=k)
        assert client_error(ei)[1] == 404, k
    resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch]})
    assert sorted(d["Key"] for d in resp["Deleted"]) == sorted(batch)
    assert resp.get("Errors", []) == []
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    # the copies are unaffected
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=other, MaxKeys=1000)["Contents"]] == byte_sorted(HOSTILE_KEYS)
    for k in HOSTILE_KEYS:
        s3.delete_object(Bucket=other, Key=k)
    assert s3.delete_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_bucket(Bucket=other)["ResponseMetadata"]["HTTPStatusCode"] == 204

    assert_nothing_outside(base, data, base / "logs")
    assert_tmp_empty(srv)


def test_hostile_keys_raw_list_encoding_url(hostile_server):
    srv, base, data = hostile_server
    s3 = srv.client()
    s3.create_bucket(Bucket="rawenc")
    keys = ["ctl\x01\x02", "tab\there", "cr\rlf\n", "sp ace", "plus+", "pct%", "amp&<>", "\u00e9\U0001F600"]
    for k in keys:
        s3.put_object(Bucket="rawenc", Key=k, Body=b"x")
    r = srv.http("GET", "/rawenc?list-type=2&encoding-type=url")
    assert r.status == 200
    root = r.xml()   # must be well-formed XML even though keys contain control characters
    raw_keys = [find_text(c, "Key") for c in root if strip_ns(c.tag) == "Contents"]
    for rk in raw_keys:
        assert all(0x20 < ord(ch) < 0x7f for ch in rk), f"not URL-encoded: {rk!r}"
    assert [urllib.parse.unquote_plus(k) for k in raw_keys] == byte_sorted(keys)
    r1 = srv.http("GET", "/rawenc?encoding-type=url")
    root1 = r1.xml()
    raw1 = [find_text(c, "Key") for c in root1 if strip_ns(c.tag) == "Contents"]
    assert [urllib.parse.unquote_plus(k) for k in raw1] == byte_sorted(keys)


def test_xml_special_keys_listed_without_encoding_type(hostile_server):
    srv, _, _ = hostile_server
    s3 = srv.client()
    s3.create_bucket(Bucket="xmlkeys")
    keys = ["x/a&b", "x/a<b>", "x/q\"'", "x/]]>", "x/a b", "x/&amp;", "x/\u00e9\U0001F600"]
    for k in keys:
        s3.put_object(Bucket="xmlkeys", Key=k, Body=b"x")
    for q in ("list-type=2&prefix=x/", "prefix=x/"):
        r = srv.http("GET", f"/xmlkeys?{q}")
        assert r.status == 200
        root = r.xml()
        got = [find_text(c, "Key") for c in root if strip_ns(c.tag) == "Contents"]
        assert got == byte_sorted(keys), q


def test_dot_segments_in_raw_request_path_are_literal(hostile_server):
    srv, base, data = hostile_server
    s3 = srv.client()
    s3.create_bucket(Bucket="dots")
    s3.create_bucket(Bucket="victim")
    s3.put_object(Bucket="victim", Key="secret", Body=b"secret")
    # PUT /dots/../victim/secret must write key "../victim/secret" in bucket "dots",
    # never overwrite victim/secret
    r = srv.http("PUT", "/dots/../victim/secret", body=b"overwritten?")
    assert r.status == 200
    assert s3.get_object(Bucket="victim", Key="secret")["Body"].read() == b"secret"
    assert s3.get_object(Bucket="dots", Key="../victim/secret")["Body"].read() == b"overwritten?"
    # percent-encoded dots too
    r = srv.http("PUT", "/dots/%2E%2E/victim/secret", body=b"enc")
    assert r.status == 200
    assert s3.get_object(Bucket="victim", Key="secret")["Body"].read() == b"secret"
    assert s3.get_object(Bucket="dots", Key="../victim/secret")["Body"].read() == b"enc"
    # GET with a dot segment reads the literal key, not another bucket's object
    g = srv.http("GET", "/dots/./x")
    assert g.status == 404 and g.error_code() == "NoSuchKey"
    assert_nothing_outside(base, data, base / "logs")


def test_encoded_slash_in_key_is_a_slash(hostile_server):
    srv, _, _ = hostile_server
    s3 = srv.client()
    s3.create_bucket(Bucket="slashes")
    assert srv.http("PUT", "/slashes/a%2Fb", body=b"1").status == 200
    assert s3.get_object(Bucket="slashes", Key="a/b")["Body"].read() == b"1"
    # a literal "%2F" in a key is sent as %252F
    assert srv.http("PUT", "/slashes/a%252Fb", body=b"2").status == 200
    assert s3.get_object(Bucket="slashes", Key="a%2Fb")["Body"].read() == b"2"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="slashes")["Contents"]] == ["a%2Fb", "a/b"]


def test_invalid_utf8_key_rejected(hostile_server):
    srv, _, _ = hostile_server
    srv.client().create_bucket(Bucket="utf8")
    r = srv.http("PUT", "/utf8/bad%FF%FEkey", body=b"x")
    assert r.status == 400
    assert srv.http("GET", "/utf8?list-type=2").xml() is not None
    assert srv.client().list_objects_v2(Bucket="utf8")["KeyCount"] == 0


@pytest.mark.parametrize("key,relpath", [
    ("a/b/c.txt", "a%/b%/c.txt"),
    ("plain", "plain"),
    ("..", "%2E%2E"),
    (".", "%2E"),
    ("../../etc/passwd", "%2E%2E%/%2E%2E%/etc%/passwd"),
    ("a//b", "a%/%e%/b"),
    ("trailing/", "trailing%/%e"),
    ("/lead", "%e%/lead"),
    ("100%", "100%25"),
    ("tab\tx", "tab%09x"),
    ("ctl\x01", "ctl%01"),
])
@pytest.mark.filestore_only
def test_storage_layout(fresh_server, key, relpath):
    s3 = fresh_server.client()
    s3.create_bucket(Bucket="layout")
    body = os.urandom(100)
    s3.put_object(Bucket="layout", Key=key, Body=body)
    path = fresh_server.directory / "layout" / relpath
    assert path.is_file(), sorted(str(p.relative_to(fresh_server.directory)) for p in all_entries(fresh_server.directory))
    assert path.read_bytes() == body
