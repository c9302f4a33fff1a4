"""A cluster of several `stowage` processes on 127.0.0.1, formed the way an operator forms one
(README, "Cluster mode"): `stowage cluster init` on the first node, which then serves; a
`stowage cluster token` per joiner; `stowage cluster join` on each other node; every node
serving; `stowage cluster expand` on the first to form the pool. Each node has its own S3 port,
QUIC port, state directory and drive directories."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from conftest import READY_RE, STOWAGE_BIN, make_client, run_stowage, terminate


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Node:
    name: str
    root: Path
    drives: int
    quic_port: int
    heartbeat_ms: int = 300
    proc: subprocess.Popen | None = None
    endpoint: str | None = None
    log: Path | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    def write_config(self, seeds: list[str]) -> None:
        paths = [str(self.root / f"d{i}") for i in range(self.drives)]
        for p in paths:
            Path(p).mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps({
            "server": {"silent": True},
            "storage": {"directory": str(self.root / "state"), "fsync": True},
            "logging": {"level": "info"},
            "cluster": {
                "enabled": True, "nodeId": self.name, "quicPort": self.quic_port, "quicAddress": "127.0.0.1",
                "seedNodes": seeds, "heartbeatIntervalMs": self.heartbeat_ms,
                "heartbeatTimeoutMs": self.heartbeat_ms * 6, "drives": {"paths": paths},
            },
        }))

    @property
    def quic_address(self) -> str:
        return f"127.0.0.1:{self.quic_port}"

    def cli(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return run_stowage(["cluster", *args, "--config", str(self.config_path)], timeout=timeout)

    def spawn(self) -> None:
        """Starts `stowage serve`; it prints its ready line once its pool is formed and open."""
        assert self.proc is None
        self._ready = threading.Event()
        self.endpoint = None
        self.log = self.root / f"stderr-{int(time.time() * 1000)}.log"
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [STOWAGE_BIN, "serve", "--port", "0", "--address", "127.0.0.1", "--config", str(self.config_path)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, start_new_session=True)
        threading.Thread(target=self._watch, args=(self.proc,), daemon=True).start()

    def _watch(self, proc: subprocess.Popen) -> None:
        for raw in proc.stdout:
            m = READY_RE.match(raw.decode("utf-8", "replace"))
            if m and not self._ready.is_set():
                self.endpoint = m.group(1)
                self._ready.set()

    def wait_ready(self, timeout: float = 30) -> "Node":
        if not self._ready.wait(timeout):
            raise AssertionError(f"{self.name} not serving within {timeout}s: {self.stderr()[-3000:]}")
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None:
            terminate(self.proc, sig)
            self.proc = None

    def restart(self) -> "Node":
        self.kill(signal.SIGTERM)
        self.spawn()
        return self.wait_ready()

    def stderr(self) -> str:
        return self.log.read_text(errors="replace") if self.log and self.log.exists() else ""

    def client(self, **kw):
        return make_client(self.endpoint, **kw)

    def status(self) -> dict:
        out = run_stowage(["cluster", "status", "--endpoint", self.endpoint, "--json"])
        assert out.returncode == 0, out.stderr.decode()
        return json.loads(out.stdout)


class Cluster:
    """`count` nodes of `drives` drives each, formed through init, tokens, joins and expand."""

    def __init__(self, root: Path, count: int = 3, drives: int = 2):
        self.nodes = [Node(f"node-{chr(ord('a') + i)}", root / f"node{i}", drives, free_udp_port()) for i in range(count)]

    @property
    def founder(self) -> Node:
        return self.nodes[0]

    def form(self) -> "Cluster":
        seeds = [self.founder.quic_address]
        for node in self.nodes:
            node.root.mkdir(parents=True, exist_ok=True)
            node.write_config(seeds)
        init = self.founder.cli("init")
        assert init.returncode == 0, init.stderr.decode()
        self.founder.spawn()
        for node in self.nodes[1:]:
            self.join(node)
            node.spawn()
        expand = self.founder.cli("expand")
        assert expand.returncode == 0, expand.stderr.decode()
        for node in self.nodes:
            node.wait_ready()
        return self

    def token(self) -> str:
        out = self.founder.cli("token", "--ttl", "600")
        assert out.returncode == 0, out.stderr.decode()
        return out.stdout.decode().strip()

    def join(self, node: Node) -> None:
        # The founder's QUIC endpoint comes up a moment after its process starts.
        deadline = time.monotonic() + 15
        token = self.token()
        while True:
            out = node.cli("join", token)
            if out.returncode == 0:
                return
            if time.monotonic() > deadline or b"no seed answered" not in out.stderr:
                raise AssertionError(f"join of {node.name} failed: {out.stderr.decode()}")
            time.sleep(0.2)

    def stop(self) -> None:
        for node in self.nodes:
            node.kill(signal.SIGTERM)

    def wait_liveness(self, observer: Node, expected: dict[str, str], standing: str | None = None,
                      timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        seen, seen_standing = {}, None
        while time.monotonic() < deadline:
            status = observer.status()
            seen = {m["id"]: m["liveness"] for m in status["membership"]["members"]}
            seen_standing = status["membership"]["standing"]
            if all(seen.get(k) == v for k, v in expected.items()) and standing in (None, seen_standing):
                return status
            time.sleep(0.2)
        raise AssertionError(f"{observer.name} sees {seen} ({seen_standing}), expected {expected} ({standing})")


def wait_sets_ok(nodes: list[Node], timeout: float = 15) -> None:
    """Until every node sees every erasure set whole (a drive comes back into rotation at its
    node's next probe, every 2 s)."""
    deadline = time.monotonic() + timeout
    while True:
        views = {node.name: [s["status"] for s in node.status()["sets"]] for node in nodes}
        if all(all(state == "ok" for state in sets) for sets in views.values()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"erasure sets not whole: {views}")
        time.sleep(0.2)


def environment_ok() -> bool:
    return os.path.exists(STOWAGE_BIN)
