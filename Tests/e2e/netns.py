"""Network namespaces a test creates for itself (root only): a hub namespace with two bridges,
a cluster network (10.200.0.N/24, the nodes' QUIC traffic) and a client network (10.201.0.N/24,
S3 requests), and one namespace per host with a veth pair into each bridge. Nothing is added
to the namespace the tests run in; everything goes when the namespaces are deleted. A partition
takes a host's cluster link down at the hub: its packets are dropped silently, as in a real
partition, while the test's client still reaches it over the client network."""

from __future__ import annotations

import ctypes
import os
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

CLONE_NEWNET = 0x40000000


def available() -> bool:
    if os.geteuid() != 0:
        return False
    probe = f"stw-probe-{uuid.uuid4().hex[:6]}"
    ok = subprocess.run(["ip", "netns", "add", probe], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return ok


def ip(*args: str) -> None:
    out = subprocess.run(["ip", *args], capture_output=True, timeout=10)
    if out.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {out.stderr.decode().strip()}")


class Network:
    """`hosts` namespaces on one bridge; host i has address 10.200.0.(i+1)."""

    def __init__(self, hosts: int):
        self.tag = uuid.uuid4().hex[:6]
        self.hub = f"stw-{self.tag}-hub"
        self.names = [f"stw-{self.tag}-{i}" for i in range(hosts)]
        self.created: list[str] = []
        try:
            self._build()
        except Exception:
            self.destroy()
            raise

    def address(self, host: int) -> str:
        """The host's address on the cluster network."""
        return f"10.200.0.{host + 1}"

    def client_address(self, host: int) -> str:
        return f"10.201.0.{host + 1}"

    def _build(self) -> None:
        ip("netns", "add", self.hub)
        self.created.append(self.hub)
        for bridge in ("brc", "brs"):
            ip("-n", self.hub, "link", "add", bridge, "type", "bridge")
            ip("-n", self.hub, "link", "set", bridge, "up")
        for i, name in enumerate(self.names):
            ip("netns", "add", name)
            self.created.append(name)
            ip("-n", name, "link", "set", "lo", "up")
            for bridge, kind, address in (("brc", "c", self.address(i)), ("brs", "s", self.client_address(i))):
                inner, outer = f"s{self.tag}{kind}{i}", self.hub_end(i, kind)
                ip("link", "add", inner, "type", "veth", "peer", "name", outer)
                ip("link", "set", inner, "netns", name)
                ip("link", "set", outer, "netns", self.hub)
                ip("-n", self.hub, "link", "set", outer, "master", bridge)
                ip("-n", self.hub, "link", "set", outer, "up")
                ip("-n", name, "addr", "add", f"{address}/24", "dev", inner)
                ip("-n", name, "link", "set", inner, "up")

    def hub_end(self, host: int, kind: str) -> str:
        return f"s{self.tag}{kind}{host}h"

    def exec_prefix(self, host: int) -> list[str]:
        return ["ip", "netns", "exec", self.names[host]]

    def isolate(self, host: int) -> None:
        """Cuts the host off the cluster network (its client link stays up)."""
        ip("-n", self.hub, "link", "set", self.hub_end(host, "c"), "down")

    def reconnect(self, host: int) -> None:
        ip("-n", self.hub, "link", "set", self.hub_end(host, "c"), "up")

    def destroy(self) -> None:
        for name in reversed(self.created):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
        self.created.clear()


class InNamespace:
    """Runs calls on one thread that entered a namespace: sockets it opens live there."""

    def __init__(self, name: str):
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.pool.submit(self._enter, name).result()

    @staticmethod
    def _enter(name: str) -> None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        fd = os.open(f"/var/run/netns/{name}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {name}")
        finally:
            os.close(fd)

    def __call__(self, fn, *args, **kwargs):
        return self.pool.submit(fn, *args, **kwargs).result()

    def close(self) -> None:
        self.pool.shutdown(wait=True)
