"""HTTPS on the S3 endpoint (`server.tls`, `--tls-cert/--tls-key`, `STOWAGE_TLS_*`,
`--tls-self-signed`): boto3 at its defaults over https (which sends PUT bodies as
STREAMING-UNSIGNED-PAYLOAD-TRAILER), multipart uploads, presigned URLs, the AWS CLI, the
`aws:SecureTransport` policy key, and configuration errors."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import ssl
import subprocess
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config

from conftest import ALICE, BOB, AwsCli, auth_config, expect_client_error, principal_arn, run_stowage, unique_bucket

pytestmark = pytest.mark.timeout(120)
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A certificate for localhost and 127.0.0.1 made with the openssl command (cert, key)."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True, timeout=30)
    return cert, key


def tls_client(endpoint: str, cert, cred: dict | None = None, **config):
    cred = cred or {"accessKeyId": "STORAGE", "secretAccessKey": "STORAGE"}
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", verify=str(cert),
        aws_access_key_id=cred["accessKeyId"], aws_secret_access_key=cred["secretAccessKey"],
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}, **config))


@pytest.fixture
def https_server(start_server, certificate):
    cert, key = certificate
    return start_server(extra_args=["--tls-cert", str(cert), "--tls-key", str(key)])


def test_ready_line_and_plain_requests_over_https(https_server, certificate):
    assert https_server.endpoint.startswith("https://127.0.0.1:")
    ctx = ssl.create_default_context(cafile=str(certificate[0]))
    with urllib.request.urlopen(f"{https_server.endpoint}/", context=ctx, timeout=10) as r:
        assert r.status == 200 and b"ListAllMyBucketsResult" in r.read()
    # plain HTTP on the TLS port gets no answer and costs the server nothing
    with socket.create_connection(("127.0.0.1", https_server.port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(10)
        assert b"ListAllMyBuckets" not in s.recv(65536)
    with urllib.request.urlopen(f"{https_server.endpoint}/", context=ctx, timeout=10) as r:
        assert r.status == 200


def test_boto3_defaults_stream_trailer_checksums_over_https(https_server, certificate):
    s3 = tls_client(https_server.endpoint, certificate[0])
    seen = []
    s3.meta.events.register("before-send.s3.PutObject", lambda request, **_: seen.append(dict(request.headers)))
    s3.create_bucket(Bucket="secure")
    data = os.urandom(3 * MIB + 5)
    put = s3.put_object(Bucket="secure", Key="obj", Body=data)
    assert seen and seen[0]["X-Amz-Content-SHA256"] == b"STREAMING-UNSIGNED-PAYLOAD-TRAILER", seen
    got = s3.get_object(Bucket="secure", Key="obj", ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ETag"] == put["ETag"]
    assert got["ChecksumCRC32"] == put["ChecksumCRC32"]
    # a ranged read of a large file goes through the buffered (non-sendfile) path too
    assert s3.get_object(Bucket="secure", Key="obj", Range="bytes=1000000-1999999")["Body"].read() == data[1000000:2000000]


def test_multipart_and_presigned_over_https(https_server, certificate):
    s3 = tls_client(https_server.endpoint, certificate[0])
    s3.create_bucket(Bucket="mpu-tls")
    parts = [os.urandom(5 * MIB), os.urandom(1234)]
    uid = s3.create_multipart_upload(Bucket="mpu-tls", Key="big")["UploadId"]
    done = [{"PartNumber": n, "ETag": s3.upload_part(Bucket="mpu-tls", Key="big", UploadId=uid, PartNumber=n, Body=b)["ETag"]}
            for n, b in enumerate(parts, 1)]
    s3.complete_multipart_upload(Bucket="mpu-tls", Key="big", UploadId=uid, MultipartUpload={"Parts": done})
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "mpu-tls", "Key": "big"}, ExpiresIn=300)
    assert url.startswith("https://")
    ctx = ssl.create_default_context(cafile=str(certificate[0]))
    with urllib.request.urlopen(url, context=ctx, timeout=30) as r:
        assert hashlib.sha256(r.read()).digest() == hashlib.sha256(b"".join(parts)).digest()
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "mpu-tls", "Key": "presigned"}, ExpiresIn=300)
    req = urllib.request.Request(put_url, data=b"via presigned PUT", method="PUT")
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        assert r.status == 200
    assert s3.get_object(Bucket="mpu-tls", Key="presigned")["Body"].read() == b"via presigned PUT"


def test_aws_cli_over_https(https_server, certificate, tmp_path):
    aws = AwsCli(https_server.endpoint, tmp_path / "awshome")
    src = tmp_path / "file.bin"
    src.write_bytes(os.urandom(9 * MIB))
    assert aws("--ca-bundle", str(certificate[0]), "s3", "mb", "s3://cli-tls").returncode == 0
    r = aws("--ca-bundle", str(certificate[0]), "s3", "cp", str(src), "s3://cli-tls/file.bin")
    assert r.returncode == 0, r.stderr
    r = aws("--ca-bundle", str(certificate[0]), "s3", "cp", "s3://cli-tls/file.bin", str(tmp_path / "back.bin"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "back.bin").read_bytes() == src.read_bytes()


def test_secure_transport_is_true_over_https(start_server, certificate):
    """aws:SecureTransport is true on TLS connections: a policy that grants only over TLS works."""
    cert, key = certificate
    cfg = auth_config()
    cfg["server"]["tls"] = {"certificateFile": str(cert), "privateKeyFile": str(key)}
    srv = start_server(config=cfg)
    alice, bob = tls_client(srv.endpoint, cert, ALICE), tls_client(srv.endpoint, cert, BOB)
    name = unique_bucket("a")
    alice.create_bucket(Bucket=name)
    alice.put_object(Bucket=name, Key="doc", Body=b"secret")
    alice.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal_arn(BOB)}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{name}/*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}))
    assert bob.get_object(Bucket=name, Key="doc")["Body"].read() == b"secret"
    alice.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal_arn(BOB)}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{name}/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    assert expect_client_error(bob.get_object, Bucket=name, Key="doc") == ("AccessDenied", 403)


def test_self_signed_certificate_and_its_fingerprint(start_server, tmp_path):
    """The fingerprint printed is the served certificate's, and a client that trusts that
    certificate verifies the server as 127.0.0.1 (the certificate names it)."""
    srv = start_server(extra_args=["--tls-self-signed"])
    assert srv.endpoint.startswith("https://")
    line = next(l for l in srv.stderr_text().splitlines() if "fingerprint" in l)
    printed = line.rsplit(" ", 1)[1]
    pem = ssl.get_server_certificate(("127.0.0.1", srv.port))
    served = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    assert printed.replace(":", "") == served
    pinned = tmp_path / "served.pem"
    pinned.write_text(pem)
    s3 = tls_client(srv.endpoint, pinned)
    s3.create_bucket(Bucket="selfsigned")
    s3.put_object(Bucket="selfsigned", Key="k", Body=b"v")
    assert s3.get_object(Bucket="selfsigned", Key="k")["Body"].read() == b"v"


def test_tls_from_the_environment(start_server, certificate):
    cert, key = certificate
    srv = start_server(env={"STOWAGE_TLS_CERTIFICATE_FILE": str(cert), "STOWAGE_TLS_PRIVATE_KEY_FILE": str(key)})
    assert srv.endpoint.startswith("https://")
    assert tls_client(srv.endpoint, cert).list_buckets()["Buckets"] == []


@pytest.mark.parametrize("args,field", [
    (["--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"], "server.tls.certificateFile"),
    (["--tls-cert", "CERT"], "server.tls.privateKeyFile"),
    (["--tls-cert", "CERT", "--tls-key", "CERT"], "server.tls.privateKeyFile"),
    (["--tls-self-signed", "--tls-cert", "CERT", "--tls-key", "KEY"], "server.tls.selfSigned"),
])
def test_bad_tls_configuration_exits_2_naming_the_field(tmp_path, certificate, args, field):
    cert, key = certificate
    args = [str(cert) if a == "CERT" else str(key) if a == "KEY" else a for a in args]
    p = run_stowage(["serve", "--port", "0", "--address", "127.0.0.1", "--directory", str(tmp_path / "d"), *args])
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert field.encode() in p.stderr, p.stderr


def test_management_start_with_tls_reports_ssl(tmp_path):
    """storageDescriptor() (the management start result) says useSsl and gives an https endpoint."""
    from test_management import ManagementClient, start_params
    mgmt = ManagementClient()
    try:
        params = start_params(tmp_path / "data")
        params["server"]["tls"] = {"selfSigned": True}
        started = mgmt.call("start", params)
        assert started["success"], started
        result = started["result"]
        assert result["useSsl"] is True and result["endpoint"].startswith("https://127.0.0.1:")
        pem = ssl.get_server_certificate(("127.0.0.1", result["port"]))
        assert "BEGIN CERTIFICATE" in pem
        assert mgmt.call("stop")["success"]
    finally:
        mgmt.close()


def test_metrics_take_basic_credentials_over_https(start_server, certificate):
    """With auth on, a scraper may present an access key and secret as HTTP Basic over TLS."""
    import base64
    cert, key = certificate
    cfg = auth_config()
    cfg["server"]["tls"] = {"certificateFile": str(cert), "privateKeyFile": str(key)}
    srv = start_server(config=cfg)
    ctx = ssl.create_default_context(cafile=str(cert))

    def get(authorization=None):
        req = urllib.request.Request(f"{srv.endpoint}/_stowage/metrics",
                                     headers={"Authorization": authorization} if authorization else {})
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            assert e.headers.get("WWW-Authenticate", "").startswith("Basic")
            return e.code

    assert get() == 401
    basic = base64.b64encode(f"{ALICE['accessKeyId']}:{ALICE['secretAccessKey']}".encode()).decode()
    assert get(f"Basic {basic}") == 200
    wrong = base64.b64encode(f"{ALICE['accessKeyId']}:nope".encode()).decode()
    assert get(f"Basic {wrong}") == 401


def test_cluster_status_over_https(start_server, certificate, tmp_path):
    """`stowage cluster status` reads a node that serves S3 over TLS: trusting the server's
    certificate, or not verifying it; with neither it refuses, saying why."""
    cert, key = certificate
    drives = [tmp_path / f"d{i}" for i in range(3)]
    for d in drives:
        d.mkdir()
    srv = start_server(config={"server": {"tls": {"certificateFile": str(cert), "privateKeyFile": str(key)}}},
                       extra_args=["--drives", ",".join(map(str, drives)), "--erasure", "2+1"])
    assert srv.endpoint.startswith("https://")
    trusted = run_stowage(["cluster", "status", "--endpoint", srv.endpoint, "--ca-certificate", str(cert)])
    assert trusted.returncode == 0, trusted.stderr
    assert b"2+1" in trusted.stdout
    insecure = run_stowage(["cluster", "status", "--endpoint", srv.endpoint, "--insecure", "--json"])
    assert insecure.returncode == 0, insecure.stderr
    assert json.loads(insecure.stdout)["sets"][0]["status"] == "ok"
    unverified = run_stowage(["cluster", "status", "--endpoint", srv.endpoint])
    assert unverified.returncode == 1 and b"certificate is not trusted" in unverified.stderr, unverified.stderr
    # Nobody listening: a clear error, not a crash.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    refused = run_stowage(["cluster", "status", "--endpoint", f"https://127.0.0.1:{port}", "--insecure"])
    assert refused.returncode == 1 and b"cannot connect" in refused.stderr, refused.stderr
