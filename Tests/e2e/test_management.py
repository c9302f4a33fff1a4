"""`stowage --management`: newline-delimited JSON over stdin/stdout, driven from Python as a
wrapper in any language would drive it (the protocol of smartstorage's TypeScript wrapper)."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import STOWAGE_BIN, make_client, unique_bucket

pytestmark = pytest.mark.timeout(60)


class ManagementClient:
    def __init__(self):
        self.proc = subprocess.Popen([STOWAGE_BIN, "--management"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.events: list[dict] = []
        self.next_id = 0

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.put(raw.decode())
        self.lines.put(None)

    def send_raw(self, text: str):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def message(self, timeout: float = 20) -> dict:
        line = self.lines.get(timeout=timeout)
        assert line is not None, "stdout closed"
        return json.loads(line)  # every stdout line must be JSON

    def response(self, request_id, timeout: float = 20) -> dict:
        while True:
            msg = self.message(timeout)
            if "event" in msg:
                self.events.append(msg)
                continue
            assert msg["id"] == request_id, msg
            return msg

    def call(self, method: str, params: dict | None = None) -> dict:
        self.next_id += 1
        request = {"id": self.next_id, "method": method}
        if params is not None:
            request["params"] = params
        self.send_raw(json.dumps(request) + "\n")
        return self.response(self.next_id)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def mgmt():
    client = ManagementClient()
    yield client
    client.close()


@pytest.fixture
def data_dir():
    base = Path(tempfile.mkdtemp(prefix="stowage-mgmt-"))
    yield base / "data"
    import shutil
    shutil.rmtree(base, ignore_errors=True)


def start_params(directory: Path) -> dict:
    return {"server": {"port": 0, "address": "127.0.0.1"}, "storage": {"directory": str(directory), "cleanSlate": True}}


def port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_full_session(mgmt, data_dir):
    status = mgmt.call("clusterStatus")
    assert status["success"] and status["result"]["mode"] == "standalone" and status["result"]["running"] is False

    started = mgmt.call("start", start_params(data_dir))
    assert started["success"], started
    port, endpoint = started["result"]["port"], started["result"]["endpoint"]
    assert endpoint == f"http://127.0.0.1:{port}"
    assert {"event": "ready", "port": port, "endpoint": endpoint} in mgmt.events

    bucket = unique_bucket("mgmt")
    created = mgmt.call("createBucket", {"name": bucket})
    assert created["success"] and created["result"]["name"] == bucket
    s3 = make_client(endpoint)
    s3.put_object(Bucket=bucket, Key="k", Body=b"managed")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"managed"

    running = mgmt.call("clusterStatus")["result"]
    assert running["running"] is True
    # the disk's line depends on this machine's free space; the index is open
    assert running["health"]["status"] in ("ok", "degraded")
    assert [c["name"] for c in running["health"]["components"]] == ["index", "disk"]
    assert running["health"]["components"][0] == {"name": "index", "status": "ok", "detail": None}
    again = mgmt.call("start", start_params(data_dir))
    assert not again["success"] and "already running" in again["error"]

    stopped = mgmt.call("stop")
    assert stopped["success"] and stopped["result"] == {"stopped": True}
    assert not port_open(port)
    assert mgmt.call("stop")["result"] == {"stopped": False}
    mgmt.proc.stdin.close()
    assert mgmt.proc.wait(timeout=15) == 0


def test_errors_never_kill_the_process(mgmt, data_dir):
    mgmt.send_raw("this is not json\n")
    msg = mgmt.message()
    assert msg == {"id": None, "success": False, "error": "malformed request: not a JSON object"}
    mgmt.send_raw('{"id": "x"}\n')
    assert "missing" in mgmt.response("x")["error"]
    unknown = mgmt.call("explode")
    assert not unknown["success"] and "unknown method" in unknown["error"]
    mgmt.send_raw('{"id": "p", "method": "start", "params": [1, 2]}\n')
    assert "params" in mgmt.response("p")["error"]
    assert mgmt.call("clusterStatus")["result"]["running"] is False
    bad = mgmt.call("start", {"server": {"port": "eighty"}})
    assert not bad["success"] and "server.port" in bad["error"]
    unknown_field = mgmt.call("start", {"servre": {}})
    assert not unknown_field["success"] and "servre" in unknown_field["error"]
    early = mgmt.call("createBucket", {"name": "too-early"})
    assert not early["success"] and "not running" in early["error"]
    assert mgmt.call("start", start_params(data_dir))["success"]
    invalid = mgmt.call("createBucket", {"name": "Invalid_Name"})
    assert not invalid["success"] and "InvalidBucketName" in invalid["error"]
    assert mgmt.proc.poll() is None


def test_an_overlong_line_is_refused_and_the_next_one_works(mgmt, data_dir):
    # 3 MiB without a newline, sent in pieces: answered once, never buffered whole.
    for _ in range(3):
        mgmt.send_raw("x" * (1 << 20))
    mgmt.send_raw("\n")
    msg = mgmt.message()
    assert msg["id"] is None and not msg["success"] and "longer than" in msg["error"]
    assert mgmt.call("clusterStatus")["success"]
    assert mgmt.proc.poll() is None


def test_many_pipelined_requests_are_all_answered_in_order(mgmt, data_dir):
    # Far more than the reader's read-ahead: it must pause and resume, never drop or deadlock.
    count = 2000
    mgmt.send_raw("".join(json.dumps({"id": i, "method": "clusterStatus"}) + "\n" for i in range(count)))
    ids = [mgmt.response(i)["id"] for i in range(count)]
    assert ids == list(range(count))


def test_end_of_input_stops_the_server(mgmt, data_dir):
    port = mgmt.call("start", start_params(data_dir))["result"]["port"]
    assert port_open(port)
    mgmt.proc.stdin.close()
    assert mgmt.proc.wait(timeout=15) == 0
    assert not port_open(port)


def test_sigterm_stops_cleanly(mgmt, data_dir):
    port = mgmt.call("start", start_params(data_dir))["result"]["port"]
    os.killpg(mgmt.proc.pid, signal.SIGTERM)
    assert mgmt.proc.wait(timeout=15) == 0
    assert not port_open(port)


def test_stdout_carries_only_protocol_lines(mgmt, data_dir):
    mgmt.call("start", {**start_params(data_dir), "logging": {"level": "debug"}})
    mgmt.call("stop")
    mgmt.proc.stdin.close()
    assert mgmt.proc.wait(timeout=15) == 0
    while True:
        line = mgmt.lines.get(timeout=5)
        if line is None:
            break
        json.loads(line)


def test_cluster_status_names_nodes_drives_and_sets(mgmt, tmp_path):
    drives = [tmp_path / f"d{i}" for i in range(6)]
    for drive in drives:
        drive.mkdir()
    params = {
        "server": {"port": 0, "address": "127.0.0.1"},
        "cluster": {"enabled": True, "drives": {"paths": [str(d) for d in drives]}},
    }
    started = mgmt.call("start", params)
    assert started["success"], started
    status = mgmt.call("clusterStatus")["result"]
    assert status["mode"] == "cluster" and status["running"] is True and status["backend"] == "cluster"
    assert status["nodes"] == [{"id": "local", "isLocal": True, "state": "online", "drives": 6}]
    assert [s["status"] for s in status["sets"]] == ["ok"]
    assert status["sets"][0]["dataShards"] == 4 and status["sets"][0]["parityShards"] == 2
    listed = sorted(status["drives"], key=lambda d: d["slot"])
    assert sorted(d["path"] for d in listed) == sorted(str(d) for d in drives)
    for drive in listed:
        assert drive["state"] == "online" and drive["set"] == 0
        assert drive["freeBytes"] > 0 and drive["totalBytes"] >= drive["freeBytes"]
        assert drive["errors"] == 0 and drive["operations"] >= 0
    # A drive taken away shows as offline with its reason, the set as degraded.
    drives[5].rename(tmp_path / "gone")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status = mgmt.call("clusterStatus")["result"]
        gone = [d for d in status["drives"] if d["path"] == str(drives[5])]
        if gone and gone[0]["state"] == "offline":
            break
        time.sleep(0.3)
    assert gone[0]["state"] == "offline" and "does not exist" in gone[0]["reason"]
    assert status["sets"][0]["status"] == "degraded" and status["sets"][0]["drivesOnline"] == 5
    assert mgmt.call("stop")["success"]
