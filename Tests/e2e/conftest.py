"""Fixtures for the Stowage end-to-end suite.

Every test talks to a real `stowage` process over a real loopback socket. A server
binds 127.0.0.1 on an ephemeral port (``--port 0``) and stores into its own temp dir,
so the suite is safe under pytest-xdist.

Binary: ``$STOWAGE_BIN`` or ``<repo>/.build/debug/stowage``.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import boto3
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parents[2]
STOWAGE_BIN = os.environ.get("STOWAGE_BIN", str(REPO / ".build" / "debug" / "stowage"))
# STOWAGE_E2E_BACKEND=drives runs every server of the suite on six drive directories (the
# erasure-coded backend) instead of FileStore; tests about FileStore's own files are skipped.
# STOWAGE_E2E_BACKEND=cluster3 runs every server as a cluster of three `stowage` processes over
# QUIC (two drives each, one 4+2 set), every request through the first node.
E2E_BACKEND = os.environ.get("STOWAGE_E2E_BACKEND", "filestore")
E2E_CLUSTER3 = E2E_BACKEND == "cluster3"
E2E_DRIVES = E2E_BACKEND in ("drives", "cluster3")
ACCESS_KEY = "STORAGE"
SECRET_KEY = "STORAGE"
REGION = "us-east-1"
READY_RE = re.compile(r"^Stowage listening on (https?://127\.0\.0\.1:(\d+))\s*$")
READY_TIMEOUT = 30.0
# A graceful stop of an idle server takes milliseconds; the bound is generous because CI
# runs many servers at once on two cores with fsync-heavy neighbours. A stop slower than
# SLOW_STOP is reported (a warning in pytest's summary, with the server's last log lines).
STOP_TIMEOUT = 20.0
SLOW_STOP = 5.0
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


# --------------------------------------------------------------------------------------
# Server process management
# --------------------------------------------------------------------------------------


class ServerStartError(RuntimeError):
    pass


@dataclass
class StowageServer:
    """One `stowage serve` process on a directory; can be stopped and restarted."""

    directory: Path
    extra_args: list[str] = field(default_factory=list)
    config: dict | None = None
    clean_slate: bool = False
    env: dict | None = None
    proc: subprocess.Popen | None = None
    port: int | None = None
    endpoint: str | None = None
    stderr_path: Path | None = None
    exit_code: int | None = None
    log_dir: Path | None = None
    _stdout_lines: list[str] = field(default_factory=list)
    # With STOWAGE_E2E_BACKEND=cluster3: the three nodes (this server's process is the first's).
    cluster: object | None = None

    # -- lifecycle -------------------------------------------------------------------

    def command(self) -> list[str]:
        cmd = [STOWAGE_BIN, "serve", "--port", "0", "--address", "127.0.0.1"]
        if E2E_DRIVES and "--drives" not in self.extra_args:
            # The whole suite against the erasure-coded backend: six drive directories inside
            # the server's directory (a clean slate empties them, as it empties FileStore's).
            drives = [self.directory / f"drive{i}" for i in range(6)]
            for drive in drives:
                if self.clean_slate and drive.exists():
                    shutil.rmtree(drive)
                drive.mkdir(parents=True, exist_ok=True)
            cmd += ["--drives", ",".join(map(str, drives))]
        else:
            cmd += ["--directory", str(self.directory)]
        if self.clean_slate:
            cmd.append("--clean-slate")
        if self.config is not None:
            cfg_path = (self.log_dir or self.directory.parent) / f"{self.directory.name}-config.json"
            cfg_path.write_text(json.dumps(self.config))
            cmd += ["--config", str(cfg_path)]
        return cmd + list(self.extra_args)

    def start(self, timeout: float = READY_TIMEOUT) -> "StowageServer":
        assert self.proc is None, "already running"
        if not os.path.exists(STOWAGE_BIN):
            pytest.fail(f"stowage binary not found at {STOWAGE_BIN} (set STOWAGE_BIN)")
        if E2E_CLUSTER3 and not {"--drives", "--directory"} & set(self.extra_args):
            from multinode import start_as_cluster
            return start_as_cluster(self, timeout)
        self.directory.mkdir(parents=True, exist_ok=True)
        log_dir = self.log_dir or self.directory.parent
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = log_dir / f"{self.directory.name}-stderr-{uuid.uuid4().hex[:6]}.log"
        self.proc, self.port, self.endpoint, self._stdout_lines = spawn_and_wait_ready(
            self.command(), self.stderr_path, timeout, self.env)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stops the process and returns its exit code."""
        if self.cluster is not None:
            # Every node stopped the same way; the exit code is the first node's.
            # The first node (the one the test talks to) first: requests it is finishing need
            # the others' drives.
            codes = []
            for node in self.cluster.nodes:
                codes.append(terminate(node.proc, sig) if node.proc is not None else None)
                node.proc = None
            self.proc = None
            self.exit_code = codes[0] if codes[0] is not None else 0
            return self.exit_code
        if self.proc is None:
            return self.exit_code if self.exit_code is not None else 0
        self.exit_code = terminate(self.proc, sig)
        self.proc = None
        return self.exit_code

    def restart(self, clean_slate: bool | None = None) -> "StowageServer":
        """Stops and starts the same server on the same directory (new ephemeral port)."""
        self.stop()
        if clean_slate is not None:
            self.clean_slate = clean_slate
        return self.start()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace") if self.stderr_path else ""
        except FileNotFoundError:
            return ""

    # -- clients ---------------------------------------------------------------------

    def client(self, **config_kwargs):
        return make_client(self.endpoint, **config_kwargs)

    def http(self, method: str, path: str, body: bytes | None = None,
             headers: dict | None = None, timeout: float = 30) -> "RawResponse":
        return raw_request(self.port, method, path, body=body, headers=headers, timeout=timeout)

    @property
    def tmp_dir(self) -> Path:
        return self.directory / ".stowage" / "tmp"


def _drain(stream, lines: list[str], ready: threading.Event, found: list):
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace")
        lines.append(line)
        if not found:
            m = READY_RE.match(line.rstrip("\r\n"))
            if m:
                found.append(m)
                ready.set()
    ready.set()  # EOF: process exited or closed stdout
    stream.close()


def spawn_and_wait_ready(cmd: list[str], stderr_path: Path, timeout: float, env: dict | None = None):
    stderr_f = open(stderr_path, "wb")
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=stderr_f, start_new_session=True,
                                env=None if env is None else {**os.environ, **env})
    finally:
        stderr_f.close()
    proc.stowage_stderr_path = stderr_path  # for terminate()'s report of a slow stop
    lines: list[str] = []
    found: list = []
    ready = threading.Event()
    t = threading.Thread(target=_drain, args=(proc.stdout, lines, ready, found), daemon=True)
    t.start()
    ready.wait(timeout)
    if not found:
        code = terminate(proc, signal.SIGKILL) if proc.poll() is None else proc.returncode
        raise ServerStartError(
            f"stowage did not print its ready line within {timeout}s (exit={code}); "
            f"stdout={lines!r}; stderr={stderr_path.read_text(errors='replace')[-2000:]!r}")
    m = found[0]
    return proc, int(m.group(2)), m.group(1), lines


def terminate(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        started = time.monotonic()
        try:
            code = proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _report_slow_stop(proc, started, kernel_stacks=True)
            proc.kill()
            return proc.wait(STOP_TIMEOUT)
        if sig != signal.SIGKILL and time.monotonic() - started > SLOW_STOP:
            _report_slow_stop(proc, started, kernel_stacks=False)
        return code
    return proc.returncode


def _report_slow_stop(proc: subprocess.Popen, started: float, kernel_stacks: bool) -> None:
    """Says what a server that was slow to stop was doing: its last log lines and, if it is
    still running, where its threads wait in the kernel (fsync, futex, ...)."""
    import warnings
    report = [f"stowage pid {proc.pid} took {time.monotonic() - started:.1f}s to stop"]
    path = getattr(proc, "stowage_stderr_path", None)
    if path is not None:
        try:
            report.append("stderr tail:\n" + Path(path).read_text(errors="replace")[-3000:])
        except OSError:
            pass
    if kernel_stacks:
        for task in sorted(Path(f"/proc/{proc.pid}/task").glob("*")):
            try:
                stack = (task / "stack").read_text().strip().splitlines()[:6]
                name = (task / "comm").read_text().strip()
                report.append(f"thread {task.name} {name}: " + " | ".join(stack))
            except OSError:
                pass
    warnings.warn("\n".join(report))


def run_stowage(args: list[str], timeout: float = 20) -> subprocess.CompletedProcess:
    """Runs the binary to completion (for commands expected to exit on their own)."""
    return subprocess.run([STOWAGE_BIN, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout)


# --------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------


def make_client(endpoint: str, **config_kwargs):
    """A boto3 client signing with the default STORAGE/STORAGE credential."""
    return make_client_as(endpoint, {"accessKeyId": ACCESS_KEY, "secretAccessKey": SECRET_KEY}, **config_kwargs)


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def xml(self) -> ET.Element:
        return ET.fromstring(self.body)

    def error_code(self) -> str | None:
        root = self.xml()
        assert strip_ns(root.tag) == "Error", self.body
        return find_text(root, "Code")


def raw_request(port: int, method: str, path: str, body: bytes | None = None,
                headers: dict | None = None, timeout: float = 30) -> RawResponse:
    """One HTTP/1.1 request on a fresh connection; `path` is sent exactly as given."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        hdrs = {"Host": f"127.0.0.1:{port}"}
        if body is not None:
            hdrs["Content-Length"] = str(len(body))
        hdrs.update(headers or {})
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        return RawResponse(resp.status, resp.reason, resp.headers, data)
    finally:
        conn.close()


def strip_ns(tag: str) -> str:
    return tag.split("}", 1)[1] if tag.startswith("{") else tag


def find_text(elem: ET.Element, name: str) -> str | None:
    for child in elem:
        if strip_ns(child.tag) == name:
            return child.text
    return None


def read_http_response(sock: socket.socket, buf: bytearray | None = None,
                       head_request: bool = False) -> tuple[int, dict, bytes, bytearray]:
    """Reads one HTTP/1.1 response (Content-Length or chunked) from a raw socket.

    Returns (status, lowercase headers, body, leftover bytes)."""
    buf = buf if buf is not None else bytearray()

    def fill():
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed; have {bytes(buf[:500])!r}")
        buf.extend(chunk)

    while b"\r\n\r\n" not in buf:
        fill()
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    buf[:] = rest
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if head_request or status in (100, 204, 304) or 100 <= status < 200:
        return status, headers, b"", buf
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(buf) < n:
            fill()
        body = bytes(buf[:n])
        buf[:] = buf[n:]
        return status, headers, body, buf
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = bytearray()
        while True:
            while b"\r\n" not in buf:
                fill()
            size_line, _, rest = bytes(buf).partition(b"\r\n")
            buf[:] = rest
            size = int(size_line.split(b";")[0], 16)
            while len(buf) < size + 2:
                fill()
            body.extend(buf[:size])
            buf[:] = buf[size + 2:]
            if size == 0:
                return status, headers, bytes(body), buf
    # read to close
    body = bytearray(buf)
    buf.clear()
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body.extend(chunk)
    return status, headers, bytes(body), buf


# --------------------------------------------------------------------------------------
# AWS CLI
# --------------------------------------------------------------------------------------


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout) if self.stdout.strip() else None


class AwsCli:
    def __init__(self, endpoint: str, home: Path):
        self.endpoint = endpoint
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        cfg = home / "config"
        cfg.write_text("[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n")

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_CONFIG_FILE": str(self.home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.home / "credentials"),
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_PAGER": "",
            "HOME": str(self.home),
        })
        return env

    def __call__(self, *args: str, timeout: float = 90, check: bool = False,
                 cwd: str | None = None) -> CliResult:
        cmd = ["aws", "--endpoint-url", self.endpoint, "--output", "json", *args]
        p = subprocess.run(cmd, env=self.env(), capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, cwd=cwd)
        res = CliResult(p.returncode, p.stdout.decode("utf-8", "replace"),
                        p.stderr.decode("utf-8", "replace"))
        if check:
            assert res.returncode == 0, f"aws {' '.join(args)} failed: {res.stderr}"
        return res


# --------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture
def start_server(tmp_path_factory):
    """Factory: start_server(**kw) -> StowageServer on a fresh temp dir, stopped at teardown."""
    servers: list[StowageServer] = []
    dirs: list[Path] = []

    def _start(directory: Path | None = None, **kw) -> StowageServer:
        if directory is None:
            base = Path(tempfile.mkdtemp(prefix="stowage-e2e-"))
            dirs.append(base)
            directory = base / "data"
        srv = StowageServer(directory=directory, **kw)
        servers.append(srv)
        return srv.start()

    yield _start
    for s in servers:
        s.stop(signal.SIGKILL if not s.alive else signal.SIGTERM)
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    """One server per test module. Tests must use their own buckets."""
    base = Path(tempfile.mkdtemp(prefix="stowage-e2e-mod-"))
    srv = StowageServer(directory=base / "data")
    srv.start()
    yield srv
    srv.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def fresh_server(start_server):
    """A server of its own for tests that need isolation (layout, restart, listings of buckets)."""
    return start_server()


@pytest.fixture(scope="module")
def s3(server):
    return server.client()


@pytest.fixture
def s3_fresh(fresh_server):
    return fresh_server.client()


def unique_bucket(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def bucket(s3):
    """A fresh bucket on the module server; emptied and deleted at teardown."""
    name = unique_bucket()
    s3.create_bucket(Bucket=name)
    yield name
    try:
        empty_bucket(s3, name)
        s3.delete_bucket(Bucket=name)
    except Exception:
        pass


def empty_bucket(client, name: str):
    token = None
    while True:
        kw = {"Bucket": name, "MaxKeys": 1000}
        if token:
            kw["ContinuationToken"] = token
        page = client.list_objects_v2(**kw)
        keys = [o["Key"] for o in page.get("Contents", [])]
        for k in keys:
            client.delete_object(Bucket=name, Key=k)
        if not page.get("IsTruncated"):
            return
        token = page["NextContinuationToken"]


@pytest.fixture
def aws(server, tmp_path):
    return AwsCli(server.endpoint, tmp_path / "awshome")


# --------------------------------------------------------------------------------------
# Assertion helpers
# --------------------------------------------------------------------------------------


def client_error(excinfo) -> tuple[str, int, dict]:
    """(code, http status, response metadata headers) of a botocore ClientError."""
    err = excinfo.value.response
    return (err.get("Error", {}).get("Code"),
            err["ResponseMetadata"]["HTTPStatusCode"],
            err["ResponseMetadata"].get("HTTPHeaders", {}))


def files_under(root: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for n in filenames:
            out.append(Path(dirpath) / n)
    return out


def assert_tmp_empty(srv: StowageServer, wait: float = 5.0):
    """DIR/.stowage/tmp must be empty once requests finished (allow a brief settle)."""
    deadline = time.monotonic() + wait
    leftovers: list = []
    while True:
        leftovers = sorted(os.listdir(srv.tmp_dir)) if srv.tmp_dir.exists() else []
        if not leftovers or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert leftovers == [], f"leftover temp files in {srv.tmp_dir}: {leftovers}"


def wait_for_upload_in_progress(srv: StowageServer, timeout: float = 10.0):
    """Blocks until the server has an upload in progress in DIR/.stowage/tmp."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if srv.tmp_dir.exists() and os.listdir(srv.tmp_dir):
            return
        time.sleep(0.02)
    pytest.fail(f"no upload in progress appeared in {srv.tmp_dir} within {timeout}s")


def byte_sorted(keys: Iterable[str]) -> list[str]:
    return sorted(keys, key=lambda k: k.encode("utf-8"))


# --------------------------------------------------------------------------------------
# Authentication and identities (issue 4)
# --------------------------------------------------------------------------------------

ALICE = {"accessKeyId": "AKIAALICE", "secretAccessKey": "alice-secret", "name": "alice",
         "accountId": "111111111111"}
BOB = {"accessKeyId": "AKIABOB", "secretAccessKey": "bob-secret", "name": "bob",
       "accountId": "222222222222"}
AUTH_DOMAINS = ["localhost", "s3.local.test"]


def principal_arn(cred: dict) -> str:
    return f"arn:aws:iam::{cred['accountId']}:user/{cred['name']}"


def auth_config(cors: dict | None = None, **sections) -> dict:
    """Server config with auth on for ALICE and BOB; `cors` is the global CORS section."""
    cfg = {
        "auth": {"enabled": True, "credentials": [dict(ALICE), dict(BOB)]},
        "server": {"region": REGION, "domains": list(AUTH_DOMAINS)},
    }
    if cors is not None:
        cfg["cors"] = cors
    cfg.update(sections)
    return cfg


def make_client_as(endpoint: str, cred: dict | None, region: str = REGION, **config_kwargs):
    """A boto3 client signing as `cred` (an ALICE/BOB-like dict), or anonymous when None."""
    cfg = dict(
        s3={"addressing_style": "path"},
        signature_version="s3v4",
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
    )
    if cred is None:
        from botocore import UNSIGNED
        cfg["signature_version"] = UNSIGNED
    cfg.update(config_kwargs)
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=region,
        aws_access_key_id=cred["accessKeyId"] if cred else "unused",
        aws_secret_access_key=cred["secretAccessKey"] if cred else "unused",
        config=Config(**cfg))


def expect_client_error(call, **kw) -> tuple[str, int]:
    """(code, status) of the ClientError `call(**kw)` must raise."""
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as ei:
        call(**kw)
    err = ei.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def denied(call, **kw):
    assert expect_client_error(call, **kw) == ("AccessDenied", 403)


class CredentialedAwsCli(AwsCli):
    """The AWS CLI signing with the given key pair."""

    def __init__(self, endpoint: str, home: Path, access_key: str, secret_key: str, sigv4_presign: bool = True):
        super().__init__(endpoint, home)
        self.access_key = access_key
        self.secret_key = secret_key
        if sigv4_presign:   # AWS CLI v1 presigns with SigV2 unless told otherwise
            cfg = home / "config"
            cfg.write_text(cfg.read_text() + "    signature_version = s3v4\n")

    def env(self) -> dict:
        env = super().env()
        env["AWS_ACCESS_KEY_ID"] = self.access_key
        env["AWS_SECRET_ACCESS_KEY"] = self.secret_key
        return env


@pytest.fixture(scope="module")
def auth_server():
    """One server per test module with auth on (ALICE and BOB), global CORS off."""
    base = Path(tempfile.mkdtemp(prefix="stowage-e2e-auth-"))
    srv = StowageServer(directory=base / "data", config=auth_config())
    srv.start()
    yield srv
    srv.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def alice(auth_server):
    return make_client_as(auth_server.endpoint, ALICE)


@pytest.fixture(scope="module")
def bob(auth_server):
    return make_client_as(auth_server.endpoint, BOB)


@pytest.fixture(scope="module")
def anon(auth_server):
    return make_client_as(auth_server.endpoint, None)


@pytest.fixture
def alice_bucket(alice):
    """A fresh bucket owned by ALICE on the module's auth server; removed at teardown."""
    name = unique_bucket("a")
    alice.create_bucket(Bucket=name)
    yield name
    try:
        try:
            alice.delete_bucket_policy(Bucket=name)
        except Exception:
            pass
        empty_bucket(alice, name)
        alice.delete_bucket(Bucket=name)
    except Exception:
        pass


def object_absent(client, bucket: str, key: str) -> bool:
    """True when `client` (the owner) gets 404 for HeadObject of `key`."""
    from botocore.exceptions import ClientError
    try:
        client.head_object(Bucket=bucket, Key=key)
    except ClientError as e:
        if e.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return True
        raise
    return False


def bucket_absent(client, bucket: str) -> bool:
    from botocore.exceptions import ClientError
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as e:
        if e.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
            return True
        raise
    return False


def pytest_collection_modifyitems(config, items):
    """With STOWAGE_E2E_BACKEND=drives, tests about FileStore's own files do not apply. With
    cluster3, every server is three processes doing fsync'd work on two cores: three times the
    time limit, and tests about one process's own descriptor limit do not apply."""
    if E2E_CLUSTER3:
        one_process = pytest.mark.skip(reason="about one process's descriptor limit; every server here is three processes")
        for item in items:
            marker = item.get_closest_marker("timeout")
            limit = marker.args[0] if marker and marker.args else 120
            item.add_marker(pytest.mark.timeout(limit * 3))
            if "descriptor_limit" in item.name:
                item.add_marker(one_process)
    if not E2E_DRIVES:
        return
    skip = pytest.mark.skip(reason="about FileStore's own files; the suite runs on the erasure-coded backend")
    for item in items:
        if "filestore_only" in item.keywords:
            item.add_marker(skip)
