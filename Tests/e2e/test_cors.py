"""CORS: the global configuration (cors.enabled in the server config) and per-bucket
configurations (Put/Get/DeleteBucketCors), preflight OPTIONS requests (unsigned, even with auth
on), CORS headers on actual responses including errors, origin wildcards, AllowedHeaders /
AllowedMethods / ExposeHeaders / MaxAgeSeconds, and a bucket's configuration taking precedence
over the global one."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

import sigv4util as sv
from conftest import (ALICE, StowageServer, auth_config, client_error, make_client_as, unique_bucket)

pytestmark = pytest.mark.timeout(120)

APP = "http://app.example.com"
GLOBAL_CORS = {"enabled": True, "allowedOrigins": [APP], "allowedMethods": ["GET", "PUT", "HEAD", "POST", "DELETE"],
               "allowedHeaders": ["*"], "exposedHeaders": ["ETag"], "maxAge": 600, "allowCredentials": False}


@pytest.fixture(scope="module")
def cors_server():
    """Auth on, global CORS on for APP."""
    base = Path(tempfile.mkdtemp(prefix="stowage-e2e-cors-"))
    srv = StowageServer(directory=base / "data", config=auth_config(cors=GLOBAL_CORS))
    srv.start()
    yield srv
    srv.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def cors_alice(cors_server):
    return make_client_as(cors_server.endpoint, ALICE)


@pytest.fixture
def cors_bucket(cors_alice):
    name = unique_bucket("cors")
    cors_alice.create_bucket(Bucket=name)
    cors_alice.put_object(Bucket=name, Key="obj", Body=b"cors object")
    yield name
    for o in cors_alice.list_objects_v2(Bucket=name).get("Contents", []):
        cors_alice.delete_object(Bucket=name, Key=o["Key"])
    cors_alice.delete_bucket(Bucket=name)


def preflight(srv, path: str, origin: str | None, method: str | None, req_headers: str | None = None):
    h = {}
    if origin is not None:
        h["Origin"] = origin
    if method is not None:
        h["Access-Control-Request-Method"] = method
    if req_headers is not None:
        h["Access-Control-Request-Headers"] = req_headers
    return srv.http("OPTIONS", path, headers=h)


def tokens(value: str | None) -> set[str]:
    return {t.strip().lower() for t in (value or "").split(",") if t.strip()}


def assert_preflight_ok(r, origin: str, method: str):
    assert r.status == 200, (r.status, r.body)
    assert r.header("Access-Control-Allow-Origin") in (origin, "*"), dict(r.headers)
    assert method.lower() in tokens(r.header("Access-Control-Allow-Methods")), dict(r.headers)
    assert "origin" in tokens(r.header("Vary")), dict(r.headers)


def assert_preflight_refused(r):
    assert r.status == 403, (r.status, r.body)
    assert r.error_code() == "CORSResponse"
    assert r.header("Access-Control-Allow-Origin") is None, dict(r.headers)


def presigned_get(srv, bucket: str, key: str) -> str:
    return sv.presign("GET", sv.key_path(bucket, key), creds=sv.creds_of(ALICE), host=f"127.0.0.1:{srv.port}")


def bucket_rules(*rules: dict) -> dict:
    return {"CORSRules": list(rules)}


# ------------------------------------------------------------------------------ global configuration


def test_global_preflight_allowed(cors_server, cors_bucket):
    r = preflight(cors_server, f"/{cors_bucket}/obj", APP, "PUT")
    assert_preflight_ok(r, APP, "PUT")
    assert r.header("Access-Control-Allow-Origin") == APP
    assert r.header("Access-Control-Max-Age") == "600"


def test_global_preflight_request_headers(cors_server, cors_bucket):
    r = preflight(cors_server, f"/{cors_bucket}/obj", APP, "PUT", "content-type, x-amz-meta-color")
    assert_preflight_ok(r, APP, "PUT")
    assert {"content-type", "x-amz-meta-color"} <= tokens(r.header("Access-Control-Allow-Headers")), dict(r.headers)


def test_global_preflight_other_origin_refused(cors_server, cors_bucket):
    assert_preflight_refused(preflight(cors_server, f"/{cors_bucket}/obj", "http://evil.example.com", "PUT"))
    assert_preflight_refused(preflight(cors_server, f"/{cors_bucket}/obj", "https://app.example.com", "GET"))


def test_global_actual_request_gets_cors_headers(cors_server, cors_bucket):
    r = cors_server.http("GET", presigned_get(cors_server, cors_bucket, "obj"), headers={"Origin": APP})
    assert r.status == 200 and r.body == b"cors object"
    assert r.header("Access-Control-Allow-Origin") == APP
    assert "origin" in tokens(r.header("Vary"))
    assert "etag" in tokens(r.header("Access-Control-Expose-Headers")), dict(r.headers)


def test_global_cors_headers_on_error_response(cors_server, cors_bucket):
    r = cors_server.http("GET", presigned_get(cors_server, cors_bucket, "missing"), headers={"Origin": APP})
    assert (r.status, r.error_code()) == (404, "NoSuchKey")
    assert r.header("Access-Control-Allow-Origin") == APP
    assert "origin" in tokens(r.header("Vary"))


def test_global_actual_request_from_other_origin_has_no_cors_headers(cors_server, cors_bucket):
    r = cors_server.http("GET", presigned_get(cors_server, cors_bucket, "obj"), headers={"Origin": "http://evil.test"})
    assert r.status == 200 and r.body == b"cors object"
    assert r.header("Access-Control-Allow-Origin") is None
    r = cors_server.http("GET", presigned_get(cors_server, cors_bucket, "obj"))
    assert r.status == 200 and r.header("Access-Control-Allow-Origin") is None


def test_preflight_needs_no_signature_but_other_requests_do(cors_server, cors_bucket):
    assert cors_server.http("GET", f"/{cors_bucket}/obj", headers={"Origin": APP}).status == 403
    assert preflight(cors_server, f"/{cors_bucket}/obj", APP, "GET").status == 200


def test_bucket_configuration_takes_precedence_over_global(cors_server, cors_alice, cors_bucket):
    own = "http://bucket.example.com"
    cors_alice.put_bucket_cors(Bucket=cors_bucket, CORSConfiguration=bucket_rules(
        {"AllowedOrigins": [own], "AllowedMethods": ["GET", "PUT"], "MaxAgeSeconds": 30}))
    assert_preflight_refused(preflight(cors_server, f"/{cors_bucket}/obj", APP, "PUT"))
    r = preflight(cors_server, f"/{cors_bucket}/obj", own, "PUT")
    assert_preflight_ok(r, own, "PUT")
    assert r.header("Access-Control-Max-Age") == "30"
    r = cors_server.http("GET", presigned_get(cors_server, cors_bucket, "obj"), headers={"Origin": APP})
    assert r.status == 200 and r.header("Access-Control-Allow-Origin") is None
    cors_alice.delete_bucket_cors(Bucket=cors_bucket)
    assert_preflight_ok(preflight(cors_server, f"/{cors_bucket}/obj", APP, "PUT"), APP, "PUT")


def curl_head(*args: str) -> tuple[str, dict[str, str]]:
    """Runs curl -i and returns the status code and the lower-cased response headers."""
    assert shutil.which("curl"), "curl is required (scripts/setup-machine.sh installs it)"
    p = subprocess.run(["curl", "-sS", "-i", "--max-time", "20", *args],
                       capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    head = p.stdout.decode("latin-1").split("\r\n\r\n")[0].split("\r\n")
    return head[0].split(" ")[1], {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}


def test_preflight_with_curl(cors_server, cors_bucket):
    status, hdrs = curl_head("-X", "OPTIONS", "-H", f"Origin: {APP}", "-H", "Access-Control-Request-Method: PUT",
                             "-H", "Access-Control-Request-Headers: content-type",
                             f"http://127.0.0.1:{cors_server.port}/{cors_bucket}/obj")
    assert status == "200", hdrs
    assert hdrs["access-control-allow-origin"] == APP
    assert "put" in tokens(hdrs["access-control-allow-methods"])
    assert "content-type" in tokens(hdrs.get("access-control-allow-headers"))


def test_actual_requests_with_curl(cors_server, cors_alice, cors_bucket):
    """A presigned GET with an Origin, as a browser sends it; and an anonymous one, refused
    with the CORS headers still on the 403 so the page can read the error."""
    url = cors_alice.generate_presigned_url("get_object", Params={"Bucket": cors_bucket, "Key": "obj"}, ExpiresIn=60)
    status, hdrs = curl_head("-H", f"Origin: {APP}", url)
    assert status == "200", hdrs
    assert hdrs["access-control-allow-origin"] == APP
    assert "origin" in tokens(hdrs.get("vary"))
    status, hdrs = curl_head("-H", f"Origin: {APP}", f"http://127.0.0.1:{cors_server.port}/{cors_bucket}/obj")
    assert status == "403", hdrs
    assert hdrs["access-control-allow-origin"] == APP
    status, hdrs = curl_head("-H", "Origin: http://evil.example.org", url)
    assert status == "200" and "access-control-allow-origin" not in hdrs, hdrs


# ------------------------------------------------------------------------------ bucket configuration


def test_bucket_cors_crud(alice, alice_bucket):
    with pytest.raises(ClientError) as ei:
        alice.get_bucket_cors(Bucket=alice_bucket)
    assert client_error(ei)[:2] == ("NoSuchCORSConfiguration", 404)
    rules = [{"ID": "web", "AllowedOrigins": ["http://web.example.com"], "AllowedMethods": ["GET", "PUT"],
              "AllowedHeaders": ["x-amz-*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 120},
             {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]
    resp = alice.put_bucket_cors(Bucket=alice_bucket, CORSConfiguration=bucket_rules(*rules))
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert alice.get_bucket_cors(Bucket=alice_bucket)["CORSRules"] == rules
    resp = alice.delete_bucket_cors(Bucket=alice_bucket)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as ei:
        alice.get_bucket_cors(Bucket=alice_bucket)
    assert client_error(ei)[:2] == ("NoSuchCORSConfiguration", 404)


def test_no_configuration_means_preflight_refused(auth_server, alice_bucket):
    assert_preflight_refused(preflight(auth_server, f"/{alice_bucket}/k", APP, "GET"))


def test_bucket_cors_origin_wildcard(auth_server, alice, alice_bucket):
    alice.put_bucket_cors(Bucket=alice_bucket, CORSConfiguration=bucket_rules(
        {"AllowedOrigins": ["http://*.example.com"], "AllowedMethods": ["GET", "PUT"]}))
    path = f"/{alice_bucket}/k"
    r = preflight(auth_server, path, "http://a.example.com", "PUT")
    assert_preflight_ok(r, "http://a.example.com", "PUT")
    assert r.header("Access-Control-Allow-Origin") == "http://a.example.com"
    assert_preflight_ok(preflight(auth_server, path, "http://x.y.example.com", "GET"), "http://x.y.example.com", "GET")
    for origin in ("http://example.org", "http://example.com", "https://a.example.com", "http://a.example.com.evil"):
        assert_preflight_refused(preflight(auth_server, path, origin, "PUT"))


def test_bucket_cors_allowed_methods(auth_server, alice, alice_bucket):
    alice.put_bucket_cors(Bucket=alice_bucket, CORSConfiguration=bucket_rules(
        {"AllowedOrigins": [APP], "AllowedMethods": ["GET"]}))
    assert_preflight_ok(preflight(auth_server, f"/{alice_bucket}/k", APP, "GET"), APP, "GET")
    assert_preflight_refused(preflight(auth_server, f"/{alice_bucket}/k", APP, "DELETE"))


def test_bucket_cors_allowed_headers(auth_server, alice, alice_bucket):
    alice.put_bucket_cors(Bucket=alice_bucket, CORSConfiguration=bucket_rules(
        {"AllowedOrigins": [APP], "AllowedMethods": ["PUT"], "AllowedHeaders": ["x-amz-*", "Content-Type"]}))
    path = f"/{alice_bucket}/k"
    r = preflight(auth_server, path, APP, "PUT", "x-amz-meta-color, content-type")
    assert_preflight_ok(r, APP, "PUT")
    assert {"x-amz-meta-color", "content-type"} <= tokens(r.header("Access-Control-Allow-Headers")), dict(r.headers)
    assert_preflight_refused(preflight(auth_server, path, APP, "PUT", "x-custom-header"))
    assert_preflight_refused(preflight(auth_server, path, APP, "PUT", "content-type, authorization"))


def test_bucket_cors_expose_headers_and_max_age(auth_server, alice, alice_bucket):
    alice.put_bucket_cors(Bucket=alice_bucket, CORSConfiguration=bucket_rules(
        {"AllowedOrigins": [APP], "AllowedMethods": ["GET"], "ExposeHeaders": ["ETag", "x-amz-meta-color"],
         "MaxAgeSeconds": 1234}))
    alice.put_object(Bucket=alice_bucket, Key="k", Body=b"v", Metadata={"color": "red"})
    r = auth_server.http("GET", presigned_get(auth_server, alice_bucket, "k"), headers={"Origin": APP})
    assert r.status == 200 and r.body == b"v"
    assert r.header("Access-Control-Allow-Origin") == APP
    assert {"etag", "x-amz-meta-color"} <= tokens(r.header("Access-Control-Expose-Headers")), dict(r.headers)
    assert preflight(auth_server, f"/{alice_bucket}/k", APP, "GET").header("Access-Control-Max-Age") == "1234"


def test_bucket_cors_first_matching_rule_wins(auth_server, alice, alice_bucket):
    alice.put_bucket_cors(Bucket=alice_bucket, CORSConfiguration=bucket_rules(
        {"AllowedOrigins": [APP], "AllowedMethods": ["GET"], "MaxAgeSeconds": 11},
        {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"], "MaxAgeSeconds": 22}))
    path = f"/{alice_bucket}/k"
    assert preflight(auth_server, path, APP, "GET").header("Access-Control-Max-Age") == "11"
    r = preflight(auth_server, path, APP, "PUT")
    assert_preflight_ok(r, APP, "PUT")
    assert r.header("Access-Control-Max-Age") == "22"
    assert_preflight_ok(preflight(auth_server, path, "http://anyone.test", "PUT"), "http://anyone.test", "PUT")


def test_bucket_cors_too_many_rules(alice, alice_bucket):
    rules = [{"AllowedOrigins": [f"http://o{i}.example.com"], "AllowedMethods": ["GET"]} for i in range(101)]
    with pytest.raises(ClientError) as ei:
        alice.put_bucket_cors(Bucket=alice_bucket, CORSConfiguration=bucket_rules(*rules))
    code, status, _ = client_error(ei)
    assert status == 400 and code in ("MalformedXML", "InvalidRequest"), ei.value.response
    with pytest.raises(ClientError) as ei:
        alice.get_bucket_cors(Bucket=alice_bucket)
    assert client_error(ei)[:2] == ("NoSuchCORSConfiguration", 404)
    alice.put_bucket_cors(Bucket=alice_bucket, CORSConfiguration=bucket_rules(*rules[:100]))
    assert len(alice.get_bucket_cors(Bucket=alice_bucket)["CORSRules"]) == 100


def test_bucket_cors_unsupported_method(alice, alice_bucket):
    with pytest.raises(ClientError) as ei:
        alice.put_bucket_cors(Bucket=alice_bucket, CORSConfiguration=bucket_rules(
            {"AllowedOrigins": [APP], "AllowedMethods": ["PATCH"]}))
    assert client_error(ei)[:2] == ("InvalidRequest", 400)


def test_other_user_cannot_configure_cors(alice, bob, alice_bucket):
    with pytest.raises(ClientError) as ei:
        bob.put_bucket_cors(Bucket=alice_bucket, CORSConfiguration=bucket_rules(
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}))
    assert client_error(ei)[:2] == ("AccessDenied", 403)
    with pytest.raises(ClientError) as ei:
        alice.get_bucket_cors(Bucket=alice_bucket)
    assert client_error(ei)[:2] == ("NoSuchCORSConfiguration", 404)
