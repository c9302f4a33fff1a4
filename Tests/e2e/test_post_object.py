"""Browser-based uploads (S3 PostObject): `POST /{bucket}` with a multipart/form-data body whose
fields carry the key, headers, metadata, a base64 POST policy and its SigV4 signature, and whose
last part, `file`, carries the content. Assertions follow AWS's POST Object, SigV4 HTML-form and
POST-policy documentation; where it is silent, what S3 was observed to answer (ceph s3-tests,
LocalStack's AWS-validated tests), checking only the stable part: status, Code, message prefix."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import urllib.parse
import uuid

import pytest

import s3checksums as ck
from conftest import (empty_bucket, find_text, make_client_as, object_absent, raw_request, strip_ns,
                      unique_bucket)
from sigv4util import flip_hex
from test_browser_cors import chromium, page_server, run_page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.timeout(120)

DATA = bytes(range(256)) * 4 + b"\r\n--not-the-boundary\r\n\r\ntrailing bytes\r\n"
MD5 = '"%s"' % hashlib.md5(DATA).hexdigest()
MiB = 1024 * 1024


# ------------------------------------------------------------------------------------ helpers

def presign(client, bucket: str, key: str, fields: dict | None = None, conditions: list | None = None,
            expires: int = 600) -> list[tuple[str, str]]:
    """boto3's presigned POST as an ordered list of form fields (key, x-amz-*, policy, signature)."""
    p = client.generate_presigned_post(bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=expires)
    return list(p["fields"].items())


def with_field(fields: list[tuple[str, str]], name: str, value: str | None) -> list[tuple[str, str]]:
    """`fields` with `name` replaced by `value` (kept in place), or removed when `value` is None."""
    if value is None:
        return [(k, v) for k, v in fields if k != name]
    if all(k != name for k, _ in fields):
        return fields + [(name, value)]
    return [(k, value if k == name else v) for k, v in fields]


def form_frame(boundary: str, fields, filename: str | None, file_type: str = "application/octet-stream",
               after=()) -> tuple[bytes, bytes]:
    """(bytes before the file's content, bytes after it); filename=None: no file part at all."""
    def part(name: str, value: str | None, extra: str = "") -> bytes:
        start = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n'.encode()
        return start if value is None else start + value.encode() + b"\r\n"
    head = b"".join(part(k, v) for k, v in fields)
    end = b"".join(part(k, v) for k, v in after) + f"--{boundary}--\r\n".encode()
    if filename is None:
        return head + end, b""
    return head + part("file", None, f'; filename="{filename}"\r\nContent-Type: {file_type}'), b"\r\n" + end


def post(srv, bucket: str, fields, data: bytes = DATA, filename: str | None = "data.bin", after=(),
         headers: dict | None = None):
    """POSTs the form to /{bucket}; `after` are fields placed after the file part."""
    boundary = "----stowage" + uuid.uuid4().hex
    head, tail = form_frame(boundary, fields, filename, after=after)
    body = head + (data if filename is not None else b"") + tail
    hdrs = {"Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})}
    return raw_request(srv.port, "POST", f"/{bucket}", body=body, headers=hdrs)


def message(r) -> str:
    return find_text(r.xml(), "Message") or ""


def assert_error(r, status: int, code: str, message_prefix: str | None = None):
    assert r.status == status, (r.status, r.body)
    assert r.error_code() == code, r.body
    if message_prefix is not None:
        assert message(r).startswith(message_prefix), r.body


def assert_policy_refusal(r):
    """S3 answers a form that its policy does not allow with 403 AccessDenied."""
    assert_error(r, 403, "AccessDenied", "Invalid according to Policy")


def read(client, bucket: str, key: str) -> bytes:
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


# ------------------------------------------------------------------------------- happy paths

def test_presigned_post_stores_object_and_answers_204(auth_server, alice, alice_bucket):
    """Default success: 204 with an empty body and the object's ETag; the object is stored byte
    for byte with the Content-Type of the form field (not the file part's own type)."""
    fields = presign(alice, alice_bucket, "hello.bin", {"Content-Type": "text/plain"}, [{"Content-Type": "text/plain"}])
    r = post(auth_server, alice_bucket, fields)
    assert r.status == 204 and r.body == b"", (r.status, r.body)
    assert r.header("ETag") == MD5
    obj = alice.get_object(Bucket=alice_bucket, Key="hello.bin")
    assert obj["Body"].read() == DATA and obj["ETag"] == MD5 and obj["ContentType"] == "text/plain"


@pytest.mark.parametrize("value,expected", [("200", 200), ("201", 201), ("204", 204), ("404", 204), ("abc", 204)])
def test_success_action_status(auth_server, alice, alice_bucket, value, expected):
    """success_action_status 200 or 204: an empty document with that status; 201: an XML
    PostResponse with Location (the object's URI), Bucket, Key and ETag; an invalid value is
    treated as unset: 204."""
    key = f"status-{value}.bin"
    fields = presign(alice, alice_bucket, key, {"success_action_status": value}, [{"success_action_status": value}])
    r = post(auth_server, alice_bucket, fields)
    assert r.status == expected, (r.status, r.body)
    if expected == 201:
        root = r.xml()
        assert strip_ns(root.tag) == "PostResponse", r.body
        assert (find_text(root, "Bucket"), find_text(root, "Key"), find_text(root, "ETag")) == (alice_bucket, key, MD5)
        location = find_text(root, "Location") or ""
        assert location.endswith(f"/{key}") and alice_bucket in location, location
    else:
        assert r.body == b""
    assert read(alice, alice_bucket, key) == DATA


def test_success_action_redirect_answers_303(auth_server, alice, alice_bucket):
    """success_action_redirect: 303 to that URL with bucket, key and etag appended as query
    parameters; it takes precedence over success_action_status."""
    key, target = "dir/redirected.bin", "http://example.test/uploaded"
    extra = {"success_action_redirect": target, "success_action_status": "201"}
    fields = presign(alice, alice_bucket, key, extra, [{k: v} for k, v in extra.items()])
    r = post(auth_server, alice_bucket, fields)
    assert r.status == 303, (r.status, r.body)
    loc = urllib.parse.urlsplit(r.header("Location") or "")
    assert (loc.scheme, loc.netloc, loc.path) == ("http", "example.test", "/uploaded"), r.header("Location")
    query = urllib.parse.parse_qs(loc.query)
    assert query["bucket"] == [alice_bucket] and query["key"] == [key]
    assert query["etag"][0].strip('"') == MD5.strip('"')
    assert read(alice, alice_bucket, key) == DATA


@pytest.mark.parametrize("filename", ["photo.jpg", "client/side/dir/photo.jpg"])
def test_filename_variable_in_key(auth_server, alice, alice_bucket, filename):
    """${filename} in the key is replaced by the file part's filename, of which only the text
    after the last slash is used; conditions are checked against the expanded key."""
    fields = presign(alice, alice_bucket, "uploads/${filename}")
    r = post(auth_server, alice_bucket, fields, filename=filename)
    assert r.status == 204, (r.status, r.body)
    assert read(alice, alice_bucket, "uploads/photo.jpg") == DATA
    assert object_absent(alice, alice_bucket, "uploads/${filename}")


def test_metadata_and_header_fields_are_stored(auth_server, alice, alice_bucket):
    """x-amz-meta-* fields become user metadata; Content-Type, Cache-Control and
    Content-Disposition fields are stored as the object's headers."""
    extra = {"x-amz-meta-color": "blue", "x-amz-meta-owner-name": "alice", "Content-Type": "image/png",
             "Cache-Control": "max-age=60", "Content-Disposition": 'attachment; filename="a.png"'}
    conds = [{"x-amz-meta-color": "blue"}, ["starts-with", "$x-amz-meta-owner-name", "al"],
             ["starts-with", "$Content-Type", "image/"], ["eq", "$Cache-Control", "max-age=60"],
             ["starts-with", "$Content-Disposition", ""]]
    r = post(auth_server, alice_bucket, presign(alice, alice_bucket, "meta.png", extra, conds))
    assert r.status == 204, (r.status, r.body)
    head = alice.head_object(Bucket=alice_bucket, Key="meta.png")
    assert head["Metadata"] == {"color": "blue", "owner-name": "alice"}
    assert (head["ContentType"], head["CacheControl"], head["ContentDisposition"]) == \
        ("image/png", "max-age=60", 'attachment; filename="a.png"')


@pytest.mark.parametrize("allowed", ["public-read", "private"])
def test_acl_field_with_exact_match_condition(auth_server, alice, anon, alice_bucket, allowed):
    """The exact-match object form {"acl": ...}: {"acl": "public-read"} admits acl=public-read and
    the canned ACL is applied (anonymous readers can GET the object); {"acl": "private"} does not
    admit it (403 AccessDenied, nothing stored)."""
    fields = with_field(presign(alice, alice_bucket, "acl.bin", {"acl": allowed}, [{"acl": allowed}]),
                        "acl", "public-read")
    r = post(auth_server, alice_bucket, fields)
    if allowed == "public-read":
        assert r.status == 204, (r.status, r.body)
        assert read(anon, alice_bucket, "acl.bin") == DATA
    else:
        assert_policy_refusal(r)
        assert object_absent(alice, alice_bucket, "acl.bin")


def test_field_names_are_case_insensitive(auth_server, alice, alice_bucket):
    """"The post parameters are case insensitive": AWS's own example form sends Policy,
    X-Amz-Credential, X-Amz-Algorithm, X-Amz-Date and X-Amz-Signature against a policy whose
    conditions name them in lower case."""
    fields = presign(alice, alice_bucket, "cased.bin", {"Content-Type": "text/plain"}, [{"Content-Type": "text/plain"}])
    recased = {"policy": "Policy", "x-amz-credential": "X-Amz-Credential", "x-amz-algorithm": "X-Amz-Algorithm",
               "x-amz-date": "X-Amz-Date", "x-amz-signature": "X-Amz-Signature"}
    r = post(auth_server, alice_bucket, [(recased.get(k, k), v) for k, v in fields])
    assert r.status == 204, (r.status, r.body)
    assert read(alice, alice_bucket, "cased.bin") == DATA


def test_ignored_fields_and_fields_after_the_file(auth_server, alice, alice_bucket):
    """Fields prefixed x-ignore- are exempt from the policy, and fields after the file part are
    ignored altogether (neither refused as extra input nor stored)."""
    fields = presign(alice, alice_bucket, "ignored.bin") + [("x-ignore-tracking", "abc")]
    r = post(auth_server, alice_bucket, fields, after=[("x-amz-meta-late", "1"), ("submit", "Upload")])
    assert r.status == 204, (r.status, r.body)
    assert alice.head_object(Bucket=alice_bucket, Key="ignored.bin")["Metadata"] == {}


# ------------------------------------------------------------------------- policy conditions

EQ_TAG, SW_IMAGE = ["eq", "$x-amz-meta-tag", "blue"], ["starts-with", "$Content-Type", "image/"]
SW_DEPT = ["starts-with", "$x-amz-meta-dept", "eng-"]
CONDITION_CASES = [
    # id, conditions, extra fields, key sent (the policy has ["starts-with", "$key", "pc/"]), accepted
    ("eq-meta", [EQ_TAG], {"x-amz-meta-tag": "blue"}, "pc/a", True),
    ("eq-meta-mismatch", [EQ_TAG], {"x-amz-meta-tag": "red"}, "pc/a", False),
    ("starts-with-key-mismatch", [], {}, "elsewhere/a", False),
    ("starts-with-type", [SW_IMAGE], {"Content-Type": "image/gif"}, "pc/a", True),
    ("starts-with-type-mismatch", [SW_IMAGE], {"Content-Type": "text/plain"}, "pc/a", False),
    ("values-case-sensitive", [SW_IMAGE], {"Content-Type": "IMAGE/gif"}, "pc/a", False),
    ("starts-with-meta", [SW_DEPT], {"x-amz-meta-dept": "eng-42"}, "pc/a", True),
    ("starts-with-meta-mismatch", [SW_DEPT], {"x-amz-meta-dept": "ops-1"}, "pc/a", False),
    ("condition-on-absent-field", [["eq", "$x-amz-meta-needed", "x"]], {}, "pc/a", False),
    ("condition-names-case-insensitive", [["starts-with", "$content-type", "text/"]], {"Content-Type": "text/csv"},
     "pc/a", True),
]


@pytest.mark.parametrize("conds,extra,key,ok", [c[1:] for c in CONDITION_CASES], ids=[c[0] for c in CONDITION_CASES])
def test_policy_conditions(auth_server, alice, alice_bucket, conds, extra, key, ok):
    """eq and starts-with on key, Content-Type and x-amz-meta-*: values must match exactly
    (case-sensitively); a condition on a field the form lacks fails; a failed condition is 403
    AccessDenied "Invalid according to Policy: ..." and nothing is stored."""
    fields = with_field(presign(alice, alice_bucket, "pc/${filename}", extra, conds), "key", key)
    r = post(auth_server, alice_bucket, fields)
    if ok:
        assert r.status == 204, (r.status, r.body)
        assert read(alice, alice_bucket, key) == DATA
    else:
        assert_policy_refusal(r)
        assert object_absent(alice, alice_bucket, key)


@pytest.mark.parametrize("size,code", [(4, "EntityTooSmall"), (5, None), (10, None), (11, "EntityTooLarge")])
def test_content_length_range(auth_server, alice, alice_bucket, size, code):
    """content-length-range bounds the file's size, inclusively: below it 400 EntityTooSmall,
    above it 400 EntityTooLarge."""
    key = f"sized-{size}.bin"
    fields = presign(alice, alice_bucket, key, conditions=[["content-length-range", 5, 10]])
    r = post(auth_server, alice_bucket, fields, data=b"x" * size)
    if code is None:
        assert r.status == 204, (r.status, r.body)
        assert read(alice, alice_bucket, key) == b"x" * size
    else:
        assert_error(r, 400, code)
        assert object_absent(alice, alice_bucket, key)


def test_field_not_covered_by_policy_is_refused(auth_server, alice, alice_bucket):
    """Every field except x-amz-signature, file, policy and x-ignore-* must be covered by a
    condition: 403 AccessDenied "Invalid according to Policy: Extra input fields: <name>"."""
    fields = presign(alice, alice_bucket, "extra.bin") + [("x-amz-meta-sneaky", "1")]
    r = post(auth_server, alice_bucket, fields)
    assert_error(r, 403, "AccessDenied", "Invalid according to Policy: Extra input fields:")
    assert "x-amz-meta-sneaky" in message(r).lower(), r.body
    assert object_absent(alice, alice_bucket, "extra.bin")


def test_bucket_condition(auth_server, alice, alice_bucket):
    """A policy's {"bucket": ...} condition: the form is refused when posted to another bucket."""
    other = unique_bucket("a")
    alice.create_bucket(Bucket=other)
    try:
        r = post(auth_server, other, presign(alice, alice_bucket, "wrong-bucket.bin"))
        assert_error(r, 403, "AccessDenied")
        assert object_absent(alice, other, "wrong-bucket.bin")
    finally:
        empty_bucket(alice, other)
        alice.delete_bucket(Bucket=other)


def test_expired_policy(auth_server, alice, alice_bucket):
    """An expiration in the past: 403 AccessDenied "Invalid according to Policy: Policy expired."."""
    r = post(auth_server, alice_bucket, presign(alice, alice_bucket, "late.bin", expires=-60))
    assert_error(r, 403, "AccessDenied", "Invalid according to Policy: Policy expired")
    assert object_absent(alice, alice_bucket, "late.bin")


def _tamper_policy(fields):
    doc = json.loads(base64.b64decode(dict(fields)["policy"]))
    doc["conditions"] = [{"key": "evil.bin"} if c == {"key": "orig.bin"} else c for c in doc["conditions"]]
    return with_field(with_field(fields, "policy", base64.b64encode(json.dumps(doc).encode()).decode()),
                      "key", "evil.bin")


@pytest.mark.parametrize("tamper", ["policy", "signature"])
def test_tampered_policy_or_signature(auth_server, alice, alice_bucket, tamper):
    """The signature is an HMAC of the base64 policy as sent: an edited policy or signature is
    403 SignatureDoesNotMatch."""
    fields = presign(alice, alice_bucket, "orig.bin")
    if tamper == "policy":
        fields = _tamper_policy(fields)
    else:
        fields = with_field(fields, "x-amz-signature", flip_hex(dict(fields)["x-amz-signature"]))
    assert_error(post(auth_server, alice_bucket, fields), 403, "SignatureDoesNotMatch")
    assert object_absent(alice, alice_bucket, "orig.bin") and object_absent(alice, alice_bucket, "evil.bin")


@pytest.mark.parametrize("signer,code", [("stranger", "InvalidAccessKeyId"), ("bob", "AccessDenied")])
def test_signer_must_be_known_and_allowed(auth_server, alice, bob, alice_bucket, signer, code):
    """A policy signed with an access key the server does not know: 403 InvalidAccessKeyId; one
    validly signed by BOB, who may not write to ALICE's bucket: 403 AccessDenied (the upload is
    authorized as the signer)."""
    client = bob if signer == "bob" else make_client_as(
        auth_server.endpoint, {"accessKeyId": "AKIANOBODY", "secretAccessKey": "nope"})
    assert_error(post(auth_server, alice_bucket, presign(client, alice_bucket, "who.bin")), 403, code)
    assert object_absent(alice, alice_bucket, "who.bin")


@pytest.mark.parametrize("missing", ["file", "key", "x-amz-signature"])
def test_missing_required_field(auth_server, alice, alice_bucket, missing):
    """No file part ("POST requires exactly one file upload per request."), no key field ("Bucket
    POST must contain a field named 'key'.") or a policy without its signature: 400
    InvalidArgument, and nothing is stored."""
    fields = presign(alice, alice_bucket, "required.bin")
    if missing == "file":
        r = post(auth_server, alice_bucket, fields, filename=None)
    else:
        r = post(auth_server, alice_bucket, with_field(fields, missing, None))
    assert_error(r, 400, "InvalidArgument")
    assert object_absent(alice, alice_bucket, "required.bin")


def test_body_not_multipart_form_data(auth_server, alice, alice_bucket):
    """A bucket POST whose body is not multipart/form-data: 412 (S3 documents
    RequestIsNotMultiPartContent and was observed answering PreconditionFailed)."""
    r = raw_request(auth_server.port, "POST", f"/{alice_bucket}", body=b"key=x",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 412, (r.status, r.body)
    assert r.error_code() in ("PreconditionFailed", "RequestIsNotMultiPartContent")


# ----------------------------------------------------------------------------- anonymous POST

@pytest.mark.parametrize("public", [True, False])
def test_anonymous_post(auth_server, alice, alice_bucket, public):
    """A form without policy or signature is anonymous: accepted (204) where the bucket policy
    lets "*" s3:PutObject, otherwise 403 AccessDenied with nothing stored."""
    if public:
        alice.put_bucket_policy(Bucket=alice_bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{alice_bucket}/*"}]}))
    r = post(auth_server, alice_bucket, [("key", "anon.bin"), ("Content-Type", "text/plain")])
    if public:
        assert r.status == 204, (r.status, r.body)
        assert read(alice, alice_bucket, "anon.bin") == DATA
    else:
        assert_error(r, 403, "AccessDenied")
        assert object_absent(alice, alice_bucket, "anon.bin")


# ------------------------------------------------------------------------ checksums, big files

@pytest.mark.parametrize("correct", [True, False])
def test_checksum_field(auth_server, alice, alice_bucket, correct):
    """x-amz-checksum-crc32 (base64 of the big-endian CRC32): a matching value is echoed as a
    response header, stored, and returned by GetObject with ChecksumMode=ENABLED; a mismatch is
    400 BadDigest with nothing stored. (The field, like any other, is covered by a condition.)"""
    value = ck.checksum_b64("CRC32", DATA if correct else DATA + b"!")
    fields = presign(alice, alice_bucket, "summed.bin", {"x-amz-checksum-crc32": value},
                     [["starts-with", "$x-amz-checksum-crc32", ""]])
    r = post(auth_server, alice_bucket, fields)
    if correct:
        assert r.status == 204 and r.header("x-amz-checksum-crc32") == value, (r.status, dict(r.headers))
        obj = alice.get_object(Bucket=alice_bucket, Key="summed.bin", ChecksumMode="ENABLED")
        assert obj["Body"].read() == DATA and obj["ChecksumCRC32"] == value
    else:
        assert_error(r, 400, "BadDigest")
        assert object_absent(alice, alice_bucket, "summed.bin")


def big_chunks(count: int):
    """`count` MiB of deterministic bytes, 1 MiB at a time, with CRLF-- sprinkled through."""
    for i in range(count):
        yield (hashlib.sha256(b"%d" % i).digest()[:28] + b"\r\n--") * (MiB // 32)


def sha256_of(chunks) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


@pytest.mark.timeout(300)
def test_large_file_streams(auth_server, alice, alice_bucket):
    """A 20 MiB file part is streamed (sent with a Content-Length, in 1 MiB writes) and stored
    byte-exact."""
    size = 20 * MiB
    fields = presign(alice, alice_bucket, "big.bin", conditions=[["content-length-range", 1, 32 * MiB]])
    boundary = "----stowage" + uuid.uuid4().hex
    head, tail = form_frame(boundary, fields, "big.bin")
    conn = http.client.HTTPConnection("127.0.0.1", auth_server.port, timeout=240)
    try:
        conn.putrequest("POST", f"/{alice_bucket}")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        conn.endheaders(head)
        for chunk in big_chunks(size // MiB):
            conn.send(chunk)
        conn.send(tail)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    assert resp.status == 204, (resp.status, body)
    obj = alice.get_object(Bucket=alice_bucket, Key="big.bin")
    assert obj["ContentLength"] == size
    assert sha256_of(obj["Body"].iter_chunks(MiB)) == sha256_of(big_chunks(size // MiB))


# ------------------------------------------------------------------------------ CORS, browser

def test_cors_headers_on_post(auth_server, alice, alice_bucket):
    """A POST carrying an Origin that the bucket's CORS rule allows for POST gets
    Access-Control-Allow-Origin on its response."""
    alice.put_bucket_cors(Bucket=alice_bucket, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": ["http://example.test"], "AllowedMethods": ["POST"], "AllowedHeaders": ["*"]}]})
    r = post(auth_server, alice_bucket, presign(alice, alice_bucket, "cors.bin"),
             headers={"Origin": "http://example.test"})
    assert r.status == 204, (r.status, r.body)
    assert r.header("Access-Control-Allow-Origin") in ("http://example.test", "*"), dict(r.headers)


BROWSER_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>stowage post</title></head>
<body><pre id="result">pending</pre>
<script>
(async () => {
  const res = {};
  try {
    const form = new FormData();
    for (const [name, value] of %(fields)s) form.append(name, value);
    form.append("file", new Blob([%(text)s], {type: "text/plain"}), "from-browser.txt");
    const r = await fetch(%(url)s, {method: "POST", body: form, mode: "cors"});
    res.status = r.status;
    res.etag = r.headers.get("ETag");
    res.body = await r.text();
  } catch (e) { res.error = String(e); }
  document.getElementById("result").textContent = JSON.stringify(res);
})();
</script></body></html>
"""


@pytest.mark.timeout(240)
def test_browser_form_post(chromium, page_server, auth_server, alice, alice_bucket, tmp_path):  # noqa: F811
    """Headless Chromium on another origin builds a FormData from boto3's presigned POST fields
    plus a Blob and fetches it cross-origin: 204, the ETag readable through the CORS rule, and
    the object (named through ${filename}) stored byte-exact."""
    alice.put_bucket_cors(Bucket=alice_bucket, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": [page_server.origin], "AllowedMethods": ["POST"], "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"]}]})
    text = "posted by chromium: h\u00e9llo \u2713\r\n--edge\r\n"
    p = alice.generate_presigned_post(alice_bucket, "browser/${filename}", ExpiresIn=600)
    url = page_server.add("/post.html", BROWSER_PAGE % {
        "fields": json.dumps(list(p["fields"].items())), "text": json.dumps(text), "url": json.dumps(p["url"])})
    res = run_page(chromium, url, tmp_path)
    data = text.encode("utf-8")
    assert res == {"status": 204, "etag": '"%s"' % hashlib.md5(data).hexdigest(), "body": ""}, res
    assert read(alice, alice_bucket, "browser/from-browser.txt") == data


# ------------------------------------------------------------------ other clients, auth off

def js_sdk_presigned_post(cred: dict, bucket: str, key: str, region: str = "us-east-1") -> list[tuple[str, str]]:
    """The fields the AWS SDK for JavaScript v3's createPresignedPost produces: capitalised
    X-Amz-* names, `Policy`, and a `bucket` field that its policy covers."""
    import datetime
    import hmac
    now = datetime.datetime.now(datetime.timezone.utc)
    date, stamp = now.strftime("%Y%m%d"), now.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{cred['accessKeyId']}/{date}/{region}/s3/aws4_request"
    expiration = (now + datetime.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    policy = base64.b64encode(json.dumps({"expiration": expiration, "conditions": [
        {"bucket": bucket}, {"X-Amz-Algorithm": "AWS4-HMAC-SHA256"}, {"X-Amz-Credential": credential},
        {"X-Amz-Date": stamp}, {"key": key}]}).encode()).decode()
    signing = ("AWS4" + cred["secretAccessKey"]).encode()
    for part in (date, region, "s3", "aws4_request"):
        signing = hmac.new(signing, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(signing, policy.encode(), hashlib.sha256).hexdigest()
    return [("bucket", bucket), ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", credential),
            ("X-Amz-Date", stamp), ("key", key), ("Policy", policy), ("X-Amz-Signature", signature)]


def test_js_sdk_shaped_form(auth_server, alice, alice_bucket):
    """createPresignedPost's field names and its bucket field are accepted as S3 accepts them."""
    from conftest import ALICE
    r = post(auth_server, alice_bucket, js_sdk_presigned_post(ALICE, alice_bucket, "from-js.bin"))
    assert r.status == 204, (r.status, r.body)
    assert read(alice, alice_bucket, "from-js.bin") == DATA


def test_auth_off_server_stores_forms_and_still_applies_their_policy(server, s3, bucket):
    """Without authentication every form acts as the owner, but a form's policy still binds it
    (an application's upload limits behave locally as they will on S3)."""
    r = post(server, bucket, [("key", "plain.bin")])
    assert r.status == 204, (r.status, r.body)
    assert read(s3, bucket, "plain.bin") == DATA
    fields = presign(s3, bucket, "limited.bin", conditions=[["content-length-range", 1, 10]])
    assert_error(post(server, bucket, fields), 400, "EntityTooLarge")
    assert object_absent(s3, bucket, "limited.bin")


def test_endless_preamble_is_refused_early(server, bucket):
    """Bytes before the first boundary count toward the 20 KB that may precede the file: a
    form that never starts is refused after a bounded read, not read to its end."""
    boundary = "b" + uuid.uuid4().hex
    junk = b"x" * (4 * MiB)
    r = raw_request(server.port, "POST", f"/{bucket}", body=junk + f"\r\n--{boundary}--\r\n".encode(),
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert_error(r, 400, "MaxPostPreDataLengthExceededError")
