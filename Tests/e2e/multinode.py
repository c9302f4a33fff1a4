"""A cluster of several `stowage` processes on 127.0.0.1, formed the way an operator forms one
(README, "Cluster mode"): `stowage cluster init` on the first node, which then serves; a
`stowage cluster token` per joiner; `stowage cluster join` on each other node; every node
serving; `stowage cluster expand` on the first to form the pool. Each node has its own S3 port,
QUIC port, state directory and drive directories."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from conftest import STOWAGE_BIN, make_client, terminate

READY_RE = re.compile(r"^Stowage listening on (https?://[0-9.]+:(\d+))\s*$")


def merged(base: dict, override: dict) -> dict:
    """`base` with `override` laid over it, section by section."""
    out = dict(base)
    for key, value in override.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def start_as_cluster(server, timeout: float):
    """Starts a conftest `StowageServer` as three nodes (STOWAGE_E2E_BACKEND=cluster3): formed on
    its first start (or after a clean slate), restarted with the same identities after that;
    its process and endpoint are the first node's."""
    import shutil

    root = server.directory / "cluster3"
    extra = [arg for arg in server.extra_args if arg != "--clean-slate"]
    if server.clean_slate and root.exists() and server.cluster is None:
        shutil.rmtree(root)
    if server.clean_slate and server.cluster is not None:
        shutil.rmtree(root, ignore_errors=True)
        server.cluster = None
    if server.cluster is None:
        cluster = Cluster(root)
        for node in cluster.nodes:
            # As a FileStore server of the suite: not silent unless the test asks.
            node.base_config = merged({"server": {"silent": False}}, server.config or {})
            node.extra_args = extra
            node.env = server.env
        recorded = root / "node0" / "state" / "cluster" / "map.json"
        if recorded.exists():
            # Formed before (another server object on the same directory): the map fixes the
            # QUIC ports.
            addresses = {m["id"]: m["address"] for m in json.loads(recorded.read_text())["members"]}
            for node in cluster.nodes:
                node.quic_port = int(addresses[node.name].rsplit(":", 1)[1])
            for node in cluster.nodes:
                node.write_config([cluster.founder.quic_address])
        else:
            cluster.form()
        server.cluster = cluster
    cluster = server.cluster
    for node in cluster.nodes:
        if node.proc is not None and node.proc.poll() is not None:
            node.proc = None  # stopped by the test itself (a signal it sent)
        if node.proc is None:
            node.spawn()
    for node in cluster.nodes:
        node.wait_ready(timeout)
    first = cluster.founder
    server.proc, server.endpoint = first.proc, first.endpoint
    server.port = int(first.endpoint.rsplit(":", 1)[1])
    server.stderr_path = first.log
    return server


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
    # Suspect after two silent seconds, offline after six: a 2-core CI machine running three
    # nodes and the tests must not make a busy node look dead.
    heartbeat_ms: int = 1000
    host: str = "127.0.0.1"
    # Where S3 listens, if not on `host`.
    s3_host: str | None = None
    # Runs the node's processes elsewhere (`ip netns exec <name>`).
    prefix: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = None
    endpoint: str | None = None
    log: Path | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    # Merged under the node's own settings (a test's auth, CORS, limits...).
    base_config: dict = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)
    env: dict | None = None

    # cluster.formationSecret, for a cluster formed from seeds on its first start.
    secret: str | None = None

    def write_config(self, seeds: list[str]) -> None:
        paths = [str(self.root / f"d{i}") for i in range(self.drives)]
        for p in paths:
            Path(p).mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(merged(merged({"server": {"silent": True}}, self.base_config), {
            "storage": {"directory": str(self.root / "state"), "fsync": True},
            "logging": {"level": "info"},
            "cluster": {
                "enabled": True, "nodeId": self.name, "quicPort": self.quic_port, "quicAddress": self.host,
                "seedNodes": seeds, "heartbeatIntervalMs": self.heartbeat_ms,
                "heartbeatTimeoutMs": self.heartbeat_ms * 6, "drives": {"paths": paths},
                **({"formationSecret": self.secret} if self.secret else {}),
            },
        })))

    @property
    def quic_address(self) -> str:
        return f"{self.host}:{self.quic_port}"

    def run(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix, STOWAGE_BIN, *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)

    def cli(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return self.run("cluster", *args, "--config", str(self.config_path), timeout=timeout)

    def spawn(self) -> None:
        """Starts `stowage serve`; it prints its ready line once its pool is formed and open."""
        assert self.proc is None
        self._ready = threading.Event()
        self.endpoint = None
        self.log = self.root / f"stderr-{int(time.time() * 1000)}.log"
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen(
                [*self.prefix, STOWAGE_BIN, "serve", "--port", "0", "--address", self.s3_host or self.host, "--config", str(self.config_path),
                 *self.extra_args],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, start_new_session=True,
                env=None if self.env is None else {**os.environ, **self.env})
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
        out = self.run("cluster", "status", "--endpoint", self.endpoint, "--json")
        assert out.returncode == 0, out.stderr.decode()
        return json.loads(out.stdout)


class Cluster:
    """`count` nodes of `drives` drives each, formed through init, tokens, joins and expand."""

    def __init__(self, root: Path, count: int = 3, drives: int = 2, network=None):
        if network is None:
            self.nodes = [Node(f"node-{chr(ord('a') + i)}", root / f"node{i}", drives, free_udp_port()) for i in range(count)]
        else:
            # Each node alone in its namespace: the same QUIC port everywhere is fine.
            self.nodes = [
                Node(f"node-{chr(ord('a') + i)}", root / f"node{i}", drives, 4000, host=network.address(i),
                     s3_host=network.client_address(i), prefix=network.exec_prefix(i))
                for i in range(count)]

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

    def form_from_seeds(self, secret: str) -> "Cluster":
        """Every node lists every node and shares `secret`; all start at once, the founder (the
        lowest QUIC address) last, and form the cluster with no other command."""
        seeds = [node.quic_address for node in self.nodes]
        for node in self.nodes:
            node.root.mkdir(parents=True, exist_ok=True)
            node.secret = secret
            node.write_config(seeds)
        founder = min(self.nodes, key=lambda n: n.quic_address)
        for node in sorted(self.nodes, key=lambda n: n is founder):
            node.spawn()
        for node in self.nodes:
            node.wait_ready(60)
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
                      timeout: float = 30) -> dict:
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
