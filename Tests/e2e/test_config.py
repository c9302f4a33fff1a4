"""Configuration file, flags overriding it, validation, startup/shutdown behaviour."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (READY_RE, STOWAGE_BIN, run_stowage, spawn_and_wait_ready, terminate,
                      unique_bucket)

pytestmark = pytest.mark.isolated


def write_config(path: Path, cfg) -> Path:
    path.write_text(cfg if isinstance(cfg, str) else json.dumps(cfg))
    return path


def run_until_ready(args, tmp_path, timeout=30, env=None):
    proc, port, endpoint, lines = spawn_and_wait_ready([STOWAGE_BIN, "serve", *args],
                                                      tmp_path / f"stderr-{time.monotonic_ns()}.log", timeout, env)
    return proc, port, endpoint


def test_config_file_alone(tmp_path):
    data = tmp_path / "from-config"
    cfg = write_config(tmp_path / "c.json", {
        "server": {"port": 0, "address": "127.0.0.1"},
        "storage": {"directory": str(data), "cleanSlate": True},
        "limits": {"maxMetadataSize": 2048},
    })
    proc, port, endpoint = run_until_ready(["--config", str(cfg)], tmp_path)
    try:
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("PUT", "/cfg-bucket")
        assert conn.getresponse().status == 200
        conn.close()
        assert (data / "cfg-bucket").is_dir()
    finally:
        assert terminate(proc) == 0


def test_ready_line_is_exact_and_only_stdout(tmp_path):
    proc = subprocess.Popen([STOWAGE_BIN, "serve", "--port", "0", "--address", "127.0.0.1",
                             "--directory", str(tmp_path / "d")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        line = proc.stdout.readline().decode()
        m = READY_RE.match(line.rstrip("\n"))
        assert m, repr(line)
        assert 0 < int(m.group(2)) < 65536
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", int(m.group(2)), timeout=10)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert rest == b""


@pytest.mark.parametrize("cfg,field", [
    ({"server": {"prot": 0}}, "server.prot"),
    ({"bogus": 1}, "bogus"),
    ({"limits": {"maxMetaSize": 1}}, "limits.maxMetaSize"),
    ({"storage": {"directory": "/tmp/x", "cleanslate": True}}, "storage.cleanslate"),
])
def test_unknown_field_rejected(tmp_path, cfg, field):
    path = write_config(tmp_path / "bad.json", cfg)
    p = run_stowage(["serve", "--config", str(path), "--port", "0", "--address", "127.0.0.1",
                     "--directory", str(tmp_path / "d")])
    assert p.returncode == 2, (p.returncode, p.stderr)
    err = p.stderr.decode()
    assert field in err
    assert "is not a known field" in err
    assert p.stdout == b""


@pytest.mark.parametrize("cfg,field", [
    ({"server": {"port": 70000}}, "server.port"),
    ({"server": {"port": -1}}, "server.port"),
    ({"server": {"region": ""}}, "server.region"),
    ({"logging": {"level": "loud"}}, "logging.level"),
    ({"limits": {"maxMetadataSize": 0}}, "limits.maxMetadataSize"),
    ({"multipart": {"expirationDays": 0}}, "multipart.expirationDays"),
    ({"multipart": {"expirationDays": -7}}, "multipart.expirationDays"),
    ({"multipart": {"cleanupIntervalMinutes": 0}}, "multipart.cleanupIntervalMinutes"),
    ({"multipart": {"cleanupIntervalMinutes": -1}}, "multipart.cleanupIntervalMinutes"),
    ({"multipart": {"expirationdays": 7}}, "multipart.expirationdays"),
    ({"multipart": {"expirationDays": "7"}}, "multipart.expirationDays"),
])
def test_invalid_values_rejected(tmp_path, cfg, field):
    path = write_config(tmp_path / "bad.json", cfg)
    p = run_stowage(["serve", "--config", str(path), "--directory", str(tmp_path / "d")])
    assert p.returncode != 0
    assert field in p.stderr.decode()
    assert p.stdout == b""


def test_fractional_integer_value_names_the_field(tmp_path):
    path = write_config(tmp_path / "bad.json", {"multipart": {"expirationDays": 1.5}})
    p = run_stowage(["serve", "--config", str(path), "--port", "0", "--address", "127.0.0.1",
                     "--directory", str(tmp_path / "d")])
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert p.stdout == b""
    assert "multipart.expirationDays" in p.stderr.decode()


@pytest.mark.parametrize("text", ["{not json", "[]", '{"server": {"port": "abc"}}', ""])
def test_malformed_config_rejected(tmp_path, text):
    path = write_config(tmp_path / "bad.json", text)
    p = run_stowage(["serve", "--config", str(path), "--port", "0", "--address", "127.0.0.1",
                     "--directory", str(tmp_path / "d")])
    assert p.returncode != 0
    assert p.stderr.strip()
    assert p.stdout == b""


def test_missing_config_file(tmp_path):
    p = run_stowage(["serve", "--config", str(tmp_path / "nope.json"), "--port", "0",
                     "--address", "127.0.0.1", "--directory", str(tmp_path / "d")])
    assert p.returncode != 0
    assert b"nope.json" in p.stderr


def test_flags_override_file(tmp_path):
    file_dir = tmp_path / "file-dir"
    flag_dir = tmp_path / "flag-dir"
    cfg = write_config(tmp_path / "c.json", {
        "server": {"port": 1, "address": "127.0.0.1", "region": "eu-central-1"},
        "storage": {"directory": str(file_dir)},
    })
    proc, port, endpoint = run_until_ready(
        ["--config", str(cfg), "--port", "0", "--directory", str(flag_dir), "--region", "ap-south-1"], tmp_path)
    try:
        assert port != 1
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("PUT", "/override-bucket")
        assert conn.getresponse().read() == b""
        conn.request("HEAD", "/override-bucket")
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200
        assert resp.getheader("x-amz-bucket-region") == "ap-south-1"
        conn.close()
        assert (flag_dir / "override-bucket").is_dir()
        assert not (file_dir / "override-bucket").exists()
    finally:
        assert terminate(proc) == 0


def test_file_values_used_when_no_flag(tmp_path):
    cfg = write_config(tmp_path / "c.json", {"server": {"region": "eu-central-1"}})
    proc, port, endpoint = run_until_ready(
        ["--config", str(cfg), "--port", "0", "--address", "127.0.0.1", "--directory", str(tmp_path / "d")],
        tmp_path)
    try:
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("PUT", "/region-bucket")
        conn.getresponse().read()
        conn.request("HEAD", "/region-bucket")
        resp = conn.getresponse()
        resp.read()
        assert resp.getheader("x-amz-bucket-region") == "eu-central-1"
    finally:
        terminate(proc)


def test_max_metadata_size_from_config(start_server):
    srv = start_server(config={"limits": {"maxMetadataSize": 100}})
    s3 = srv.client()
    b = unique_bucket()
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="small", Body=b"x", Metadata={"a": "v" * 40})
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as ei:
        s3.put_object(Bucket=b, Key="big", Body=b"x", Metadata={"a": "v" * 200})
    assert ei.value.response["Error"]["Code"] == "MetadataTooLarge"


def test_silent_logs_nothing_but_errors(start_server):
    srv = start_server(extra_args=["--silent"])
    s3 = srv.client()
    b = unique_bucket()
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="k", Body=b"x")
    srv.http("GET", f"/{b}/missing")
    srv.stop()
    assert srv.exit_code == 0
    text = srv.stderr_text()
    assert " info " not in text and " debug " not in text and " trace " not in text, text


def test_verbose_by_default_logs_to_stderr(start_server):
    srv = start_server()
    srv.http("GET", "/")
    srv.stop()
    assert "info" in srv.stderr_text()


def test_port_in_use_fails_cleanly(start_server, tmp_path):
    srv = start_server()
    p = run_stowage(["serve", "--port", str(srv.port), "--address", "127.0.0.1",
                     "--directory", str(tmp_path / "other")])
    assert p.returncode != 0
    assert p.stdout == b""
    assert p.stderr.strip()
    assert srv.alive


def test_version_command():
    p = run_stowage(["version"])
    assert p.returncode == 0
    assert p.stdout.strip()


def test_sigterm_while_serving_exits_zero(start_server):
    srv = start_server()
    srv.http("PUT", "/sig-bucket")
    assert srv.stop(signal.SIGTERM) == 0


def test_sigterm_right_after_ready_line(tmp_path):
    outcomes = []
    for i in range(15):
        proc = subprocess.Popen([STOWAGE_BIN, "serve", "--port", "0", "--address", "127.0.0.1",
                                 "--directory", str(tmp_path / "d")],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        try:
            line = proc.stdout.readline().decode()
            assert READY_RE.match(line.rstrip("\n")), line
            proc.send_signal(signal.SIGTERM)
            try:
                outcomes.append(proc.wait(timeout=5))
            except subprocess.TimeoutExpired:
                outcomes.append("ignored")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            proc.stdout.close()
    assert outcomes == [0] * 15, outcomes


@pytest.mark.filestore_only
def test_sigterm_with_upload_in_flight(start_server):
    """The upload stalls halfway: the grace period runs out, it is cut off, nothing is left."""
    import os
    import socket
    srv = start_server(config={"server": {"shutdownGracePeriod": 500}})
    s3 = srv.client()
    s3.create_bucket(Bucket="inflight")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        s.sendall(b"PUT /inflight/k HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2000000\r\n\r\n" + b"a" * 1_000_000)
        from conftest import wait_for_upload_in_progress
        wait_for_upload_in_progress(srv)
        assert srv.stop(signal.SIGTERM) == 0
    finally:
        s.close()
    assert os.listdir(srv.tmp_dir) == []
    srv.start()
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as ei:
        srv.client().head_object(Bucket="inflight", Key="k")
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


# ------------------------------------------------------------------------------ environment layer


def bucket_region(port: int, bucket: str) -> str | None:
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("PUT", f"/{bucket}")
        conn.getresponse().read()
        conn.request("HEAD", f"/{bucket}")
        resp = conn.getresponse()
        resp.read()
        return resp.getheader("x-amz-bucket-region")
    finally:
        conn.close()


def test_file_then_environment_then_flags(tmp_path):
    """Each layer overrides the one before: file < environment < flags."""
    env_dir, flag_dir = tmp_path / "env-dir", tmp_path / "flag-dir"
    cfg = write_config(tmp_path / "c.json", {
        "server": {"port": 1, "address": "127.0.0.1", "region": "eu-central-1"},
        "storage": {"directory": str(tmp_path / "file-dir")},
    })
    env = {"STOWAGE_CONFIG": str(cfg), "STOWAGE_PORT": "0", "STOWAGE_DIRECTORY": str(env_dir),
           "STOWAGE_REGION": "eu-west-3"}
    proc, port, _ = run_until_ready([], tmp_path, env=env)
    try:
        assert bucket_region(port, "env-bucket") == "eu-west-3"
        assert (env_dir / "env-bucket").is_dir()
    finally:
        assert terminate(proc) == 0
    proc, port, _ = run_until_ready(["--directory", str(flag_dir), "--region", "ap-south-1"], tmp_path, env=env)
    try:
        assert bucket_region(port, "flag-bucket") == "ap-south-1"
        assert (flag_dir / "flag-bucket").is_dir() and not (env_dir / "flag-bucket").exists()
    finally:
        assert terminate(proc) == 0


def test_credentials_from_environment(tmp_path):
    from conftest import make_client_as
    env = {"STOWAGE_PORT": "0", "STOWAGE_ADDRESS": "127.0.0.1", "STOWAGE_DIRECTORY": str(tmp_path / "d"),
           "STOWAGE_AUTH_ENABLED": "true", "STOWAGE_ACCESS_KEY": "ENVKEY", "STOWAGE_SECRET_KEY": "env-secret"}
    proc, port, endpoint = run_until_ready([], tmp_path, env=env)
    try:
        good = make_client_as(endpoint, {"accessKeyId": "ENVKEY", "secretAccessKey": "env-secret"})
        good.create_bucket(Bucket="env-auth")
        bad = make_client_as(endpoint, {"accessKeyId": "STORAGE", "secretAccessKey": "STORAGE"})
        with pytest.raises(Exception) as ei:
            bad.list_buckets()
        assert "InvalidAccessKeyId" in str(ei.value)
    finally:
        assert terminate(proc) == 0


@pytest.mark.parametrize("env, name", [
    ({"STOWAGE_PORT": "eighty"}, "STOWAGE_PORT"),
    ({"STOWAGE_FSYNC": "maybe"}, "STOWAGE_FSYNC"),
    ({"STOWAGE_ACCESS_KEY": "only-half"}, "STOWAGE_ACCESS_KEY"),
    ({"STOWAGE_LOG_LEVEL": "loud"}, "logging.level"),
    ({"STOWAGE_REQUEST_TIMEOUT": "9223372036854775807"}, "limits.requestTimeout"),
    ({"STOWAGE_SHUTDOWN_GRACE_PERIOD": "-1"}, "server.shutdownGracePeriod"),
])
def test_invalid_environment_names_the_variable(tmp_path, env, name):
    import os
    p = subprocess.run([STOWAGE_BIN, "serve", "--directory", str(tmp_path / "d")], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=20, env={**os.environ, **env})
    assert p.returncode == 2
    assert name in p.stderr.decode()


def test_help_documents_environment_variables():
    p = run_stowage(["serve", "--help"])
    assert p.returncode == 0
    text = p.stdout.decode()
    for name in ("STOWAGE_PORT", "STOWAGE_DIRECTORY", "STOWAGE_ACCESS_KEY", "STOWAGE_SHUTDOWN_GRACE_PERIOD",
                 "--access-key", "--auth", "--shutdown-grace-period"):
        assert name in text


def test_exits_right_after_start_never_crash(tmp_path):
    """The executable warms OpenSSL and the event loops up on background threads from its first
    instruction; exiting at once (a bad setting, --help) must not crash under them (it did, about
    one run in thirty, when OpenSSL's exit-time cleanup raced its initialisation)."""
    import os
    codes = []
    for i in range(120):
        args, env = ((["serve", "--directory", str(tmp_path / "d")], {"STOWAGE_PORT": "eighty"}) if i % 3
                     else (["serve", "--help"], {}))
        p = subprocess.run([STOWAGE_BIN] + args, stdin=subprocess.DEVNULL, capture_output=True, timeout=20,
                           env={**os.environ, **env})
        codes.append(p.returncode)
    assert set(codes) <= {0, 2}, sorted(set(codes))
