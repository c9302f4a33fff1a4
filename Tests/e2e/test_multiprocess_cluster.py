"""Three `stowage` processes on 127.0.0.1 as one erasure-coded cluster (4+2 over 3 nodes x 2
drives), talking over QUIC with mutual TLS under the cluster's CA (issue 14): formed with
`stowage cluster init | token | join | expand`, driven by boto3 and the AWS CLI through every
node, and made to lose nodes with kill -9."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import threading
import time

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from conftest import E2E_DRIVES, AwsCli, run_stowage, unique_bucket
from multinode import Cluster, wait_sets_ok

# Every test forms its own cluster of processes: once per CI run is enough (the FileStore pass).
pytestmark = [
    pytest.mark.isolated, pytest.mark.timeout(180),
    pytest.mark.skipif(E2E_DRIVES, reason="multi-process clusters run once, in the first pass"),
]


@pytest.fixture
def cluster(tmp_path):
    formed = Cluster(tmp_path).form()
    yield formed
    formed.stop()


def http_get(node, path: str) -> str:
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(node.endpoint + path, timeout=10) as response:
            return response.read().decode()
    except urllib.error.HTTPError as error:
        return error.read().decode()


def payload(size: int, seed: int) -> bytes:
    block = hashlib.sha256(str(seed).encode()).digest() * 2048
    return (block * (size // len(block) + 1))[:size]


def test_formed_cluster_serves_every_operation_through_every_node(cluster, tmp_path):
    a, b, c = cluster.nodes
    bucket = unique_bucket("mp")
    a.client().create_bucket(Bucket=bucket)
    bodies = {f"k/{i}": payload(size, i) for i, size in enumerate([0, 1, 100_000, 5 << 20])}
    writers = [a, b, c, a]
    for (key, body), node in zip(bodies.items(), writers):
        node.client().put_object(Bucket=bucket, Key=key, Body=body)
    for node in (a, b, c):
        s3 = node.client()
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        assert listed == sorted(bodies)
        for key, body in bodies.items():
            assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    # A multipart upload through the AWS CLI on one node, read back through another.
    big = tmp_path / "big.bin"
    big.write_bytes(payload(20 << 20, 99))
    AwsCli(b.endpoint, tmp_path / "aws-b")("s3", "cp", str(big), f"s3://{bucket}/big.bin", check=True)
    back = tmp_path / "back.bin"
    AwsCli(c.endpoint, tmp_path / "aws-c")("s3", "cp", f"s3://{bucket}/big.bin", str(back), check=True)
    assert back.read_bytes() == big.read_bytes()
    # A delete through one node is seen by the others.
    c.client().delete_object(Bucket=bucket, Key="k/0")
    assert "k/0" not in [o["Key"] for o in a.client().list_objects_v2(Bucket=bucket)["Contents"]]
    status = b.status()
    assert status["membership"]["standing"] == "connected"
    assert {m["id"]: m["pool"] for m in status["membership"]["members"]} == {"node-a": 0, "node-b": 0, "node-c": 0}
    assert [s["status"] for s in status["sets"]] == ["ok"]
    table = run_stowage(["cluster", "status", "--endpoint", a.endpoint])
    assert table.returncode == 0 and b"node-c" in table.stdout and b"4+2" in table.stdout


def test_a_node_killed_mid_upload_loses_nothing_acknowledged_and_rejoins(cluster):
    a, b, c = cluster.nodes
    bucket = unique_bucket("kill")
    a.client().create_bucket(Bucket=bucket)
    acknowledged = {}
    for i in range(6):
        body = payload(300_000 + i, i)
        b.client().put_object(Bucket=bucket, Key=f"before/{i}", Body=body)
        acknowledged[f"before/{i}"] = body
    # A stream of uploads through node c until one fails: c is killed while they run, so the
    # one in flight then (or the next) is cut off.
    outcomes: list[tuple[str, bytes, str]] = []

    def upload():
        s3 = c.client(read_timeout=20, connect_timeout=5)
        deadline = time.monotonic() + 60
        i = 0
        while time.monotonic() < deadline:
            key, body = f"during/{i}", payload(2 << 20, 1000 + i)
            try:
                s3.put_object(Bucket=bucket, Key=key, Body=body)
                outcomes.append((key, body, "ok"))
            except Exception as error:  # the connection dies with the process
                outcomes.append((key, body, type(error).__name__))
                return
            i += 1

    writer = threading.Thread(target=upload)
    writer.start()
    time.sleep(1.0)
    c.kill(signal.SIGKILL)
    writer.join(60)
    assert outcomes and outcomes[-1][2] != "ok", "no upload failed after the node died"
    for key, body, outcome in outcomes:
        if outcome == "ok":
            acknowledged[key] = body
    # Every acknowledged object reads back byte-exact from the two nodes left; the one cut
    # off is either absent or whole, never partial.
    for node in (a, b):
        s3 = node.client()
        for key, body in acknowledged.items():
            assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body, f"{key} via {node.name}"
        cut = outcomes[-1]
        try:
            got = s3.get_object(Bucket=bucket, Key=cut[0])["Body"].read()
            assert got == cut[1]
        except ClientError as error:
            assert error.response["Error"]["Code"] == "NoSuchKey"
    # The survivors see c go (status, health, metrics); they still write (4 of 6 drives answer).
    cluster.wait_liveness(a, {"node-c": "offline"})
    ready = http_get(a, "/_stowage/health/ready")
    assert ready.startswith("degraded") and "member node-c: degraded (offline" in ready, ready
    metrics = http_get(a, "/_stowage/metrics")
    assert 'stowage_cluster_node_liveness{node="node-c",state="offline"} 1' in metrics
    assert "stowage_cluster_isolated 0" in metrics
    a.client().put_object(Bucket=bucket, Key="while-down", Body=b"two of three")
    # c restarts with its identity and drives, and serves everything, including what was
    # written while it was down.
    c.spawn()
    c.wait_ready()
    cluster.wait_liveness(a, {"node-c": "online"})
    wait_sets_ok([a, b, c])
    s3 = c.client()
    for key, body in acknowledged.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    assert s3.get_object(Bucket=bucket, Key="while-down")["Body"].read() == b"two of three"
    assert c.status()["membership"]["local"] == "node-c"


def test_two_nodes_down_is_a_clean_503_and_full_service_when_they_return(cluster):
    a, b, c = cluster.nodes
    bucket = unique_bucket("two")
    a.client().create_bucket(Bucket=bucket)
    a.client().put_object(Bucket=bucket, Key="kept", Body=b"kept bytes")
    b.kill(signal.SIGKILL)
    c.kill(signal.SIGKILL)
    # Alone, node a sees no majority: it reports itself isolated and marks nobody offline.
    cluster.wait_liveness(a, {"node-b": "suspect", "node-c": "suspect"}, standing="isolated")
    s3 = a.client(read_timeout=30)
    for call, kwargs in [
        (s3.get_object, {"Key": "kept"}),
        (s3.put_object, {"Key": "new", "Body": b"refused"}),
        (s3.delete_object, {"Key": "kept"}),
    ]:
        with pytest.raises(ClientError) as caught:
            call(Bucket=bucket, **kwargs)
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503, call
    ready = a.status()
    assert [s["status"] for s in ready["sets"]] == ["unavailable"]
    for node in (b, c):
        node.spawn()
    for node in (b, c):
        node.wait_ready()
    cluster.wait_liveness(a, {"node-b": "online", "node-c": "online"})
    wait_sets_ok([a, b, c])
    for node in (a, b, c):
        s3 = node.client()
        assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"kept bytes"
        with pytest.raises(ClientError) as caught:
            s3.head_object(Bucket=bucket, Key="new")
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    b.client().put_object(Bucket=bucket, Key="after", Body=b"after")
    assert c.client().get_object(Bucket=bucket, Key="after")["Body"].read() == b"after"


def test_joining_needs_a_valid_unused_token_from_the_cluster(cluster, tmp_path):
    from multinode import Node, free_udp_port

    a = cluster.founder
    extra = Node("node-x", tmp_path / "extra", 2, free_udp_port())
    extra.root.mkdir(parents=True)
    extra.write_config([a.quic_address])
    token = cluster.token()
    # A forged secret, the right cluster and CA: refused, and nothing written.
    forged = token[: token.rindex(".") + 1] + "00" * 32
    out = extra.cli("join", forged)
    assert out.returncode != 0 and b"not valid" in out.stderr
    assert not (extra.root / "state" / "cluster" / "tls").exists()
    # A token pinning another CA never reaches the cluster: the joiner refuses the node.
    parts = token.split(".")
    other = ".".join([parts[0], parts[1], "ab" * 32, parts[3]])
    out = extra.cli("join", other)
    assert out.returncode != 0 and b"no seed answered" in out.stderr
    # Joining through a node that holds no CA is refused by that node (it admits no client
    # without a certificate).
    out = run_stowage(["cluster", "join", token, "--seed", cluster.nodes[1].quic_address, "--config", str(extra.config_path)])
    assert out.returncode != 0 and b"no seed answered" in out.stderr
    # The real token works once; a second use is refused.
    assert extra.cli("join", token).returncode == 0
    again = Node("node-y", tmp_path / "again", 2, free_udp_port())
    again.root.mkdir(parents=True)
    again.write_config([a.quic_address])
    out = again.cli("join", token)
    assert out.returncode != 0 and b"not valid" in out.stderr
    # The new node is a spare in every member's map: the founder's at once, the others' once
    # a heartbeat shows them a newer epoch.
    for member in cluster.nodes:
        deadline = time.monotonic() + 15
        while True:
            members = {m["id"]: m.get("pool") for m in member.status()["membership"]["members"]}
            if "node-x" in members or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert members.get("node-x", "missing") is None, (member.name, members)
    # One spare of 2 drives cannot form a 4+2 pool: expand says why and changes nothing.
    epoch = a.status()["membership"]["epoch"]
    out = a.cli("expand")
    assert out.returncode != 0 and b"not a multiple" in out.stderr, out.stderr
    assert a.status()["membership"]["epoch"] == epoch


def wait_register(node, timeout: float = 20) -> None:
    """Until `node` has read or written the cluster map register at its own map's epoch (the
    founder writes its map there once the drives of pool 0 answer)."""
    deadline = time.monotonic() + timeout
    while True:
        membership = node.status()["membership"]
        if membership.get("registerEpoch") == membership["epoch"]:
            return
        assert time.monotonic() < deadline, membership
        time.sleep(0.2)


def shard_files(nodes) -> int:
    return sum(1 for node in nodes for path in node.root.glob("d*/.stowage/data/*/*") if ".p" in path.name)


def test_expand_adds_a_pool_that_new_buckets_use_and_every_node_serves_both(cluster, tmp_path):
    """Four more nodes join as spares and `stowage cluster expand` forms pool 1 from them
    (CLUSTER.md §9): nothing moves; every node, old or new, serves the buckets of both pools,
    also after a restart; a bucket created afterwards goes to the pool with the most free
    space: pool 1 (every node's drives share this machine's filesystem, which counts once per
    node: four nodes' worth against three)."""
    from multinode import Node, free_udp_port

    a = cluster.founder
    old_bucket = unique_bucket("pool0")
    a.client().create_bucket(Bucket=old_bucket)
    old = {f"o/{i}": payload(size, 10 + i) for i, size in enumerate([10, 300_000, 5 << 20])}
    for key, body in old.items():
        cluster.nodes[1].client().put_object(Bucket=old_bucket, Key=key, Body=body)
    spares = []
    for index, name in enumerate(["node-d", "node-e", "node-f", "node-g"]):
        node = Node(name, tmp_path / f"spare{index}", 3, free_udp_port())
        node.root.mkdir(parents=True)
        node.write_config([a.quic_address])
        cluster.join(node)
        node.spawn()
        spares.append(node)
    cluster.nodes.extend(spares)  # stopped with the others
    files_before = shard_files(spares)
    # Any serving member forms a later pool, through the map register (not only the founder).
    out = cluster.nodes[1].cli("expand")
    assert out.returncode == 0 and b"formed pool 1" in out.stdout, out.stderr
    for node in spares:
        node.wait_ready(60)
    assert shard_files(spares) == files_before == 0
    # Every member learns of pool 1 (by heartbeat, then from the register or another member).
    for node in cluster.nodes:
        deadline = time.monotonic() + 20
        while [s.get("pool") for s in node.status()["sets"]] != [0, 1, 1]:
            assert time.monotonic() < deadline, (node.name, node.status()["sets"])
            time.sleep(0.2)
    wait_sets_ok(cluster.nodes, timeout=30)
    # Pool 0's objects, through the new nodes too.
    for node in cluster.nodes:
        s3 = node.client()
        assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=old_bucket)["Contents"]) == sorted(old)
        for key, body in old.items():
            assert s3.get_object(Bucket=old_bucket, Key=key)["Body"].read() == body
    # A new bucket: created through an old node, written through old and new ones; all its
    # shards land in pool 1's drives.
    pool0, pool1 = cluster.nodes[:3], spares
    counts = (shard_files(pool0), shard_files(pool1))
    new_bucket = unique_bucket("pooln")
    a.client().create_bucket(Bucket=new_bucket)
    new = {f"n/{i}": payload(size, 20 + i) for i, size in enumerate([200_000, 6 << 20, 1])}
    for (key, body), node in zip(new.items(), [a, spares[1], cluster.nodes[2]]):
        node.client().put_object(Bucket=new_bucket, Key=key, Body=body)
    grown = (shard_files(pool0) - counts[0], shard_files(pool1) - counts[1])
    assert grown[0] == 0 and grown[1] == 2 * 6, grown
    # The old bucket keeps its pool.
    counts = (shard_files(pool0), shard_files(pool1))
    cluster.nodes[4].client().put_object(Bucket=old_bucket, Key="o/later", Body=payload(300_000, 30))
    assert (shard_files(pool0) - counts[0], shard_files(pool1) - counts[1]) == (6, 0)
    # A node of each pool restarts into the two-pool map and serves both buckets.
    for node in (cluster.nodes[1], spares[2]):
        node.restart()
        s3 = node.client()
        assert s3.get_object(Bucket=old_bucket, Key="o/later")["Body"].read() == payload(300_000, 30)
        assert s3.get_object(Bucket=new_bucket, Key="n/1")["Body"].read() == new["n/1"]
    for node in cluster.nodes:
        s3 = node.client()
        assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=new_bucket)["Contents"]) == sorted(new)
        for key, body in new.items():
            assert s3.get_object(Bucket=new_bucket, Key=key)["Body"].read() == body
    assert {b["Name"] for b in spares[2].client().list_buckets()["Buckets"]} >= {old_bucket, new_bucket}
    # Emptied, the new bucket deletes through any node.
    for key in new:
        spares[2].client().delete_object(Bucket=new_bucket, Key=key)
    cluster.nodes[1].client().delete_bucket(Bucket=new_bucket)
    with pytest.raises(ClientError):
        a.client().head_bucket(Bucket=new_bucket)


def test_the_map_changes_through_its_register_while_the_founder_is_down(cluster, tmp_path):
    """The cluster map is a register in the system set (CLUSTER.md §9): with the node that
    formed the cluster killed, another member forms a pool from the spares that joined
    earlier; the new nodes serve; the founder, restarted with its older map file, takes the
    register's map and serves the new pool too. A second expand finds no spares and changes
    nothing."""
    from multinode import Node, free_udp_port

    a, b, c = cluster.nodes
    spares = []
    for index, name in enumerate(["node-p", "node-q", "node-r"]):
        node = Node(name, tmp_path / f"spare{index}", 2, free_udp_port())
        node.root.mkdir(parents=True)
        node.write_config([a.quic_address, b.quic_address])
        cluster.join(node)
        node.spawn()
        spares.append(node)
    cluster.nodes.extend(spares)  # stopped with the others
    epoch = a.status()["membership"]["epoch"]  # the joins went through the founder
    a.kill(signal.SIGKILL)
    out = c.cli("expand")
    assert out.returncode == 0 and b"formed pool 1" in out.stdout, out.stderr
    assert b"map epoch %d" % (epoch + 1) in out.stdout, out.stdout
    for node in spares:
        node.wait_ready(60)
    # Every serving node knows pool 1 and, at its next probe, sees its drives whole.
    for node in [b, c] + spares:
        deadline = time.monotonic() + 20
        while [(s.get("pool"), s["status"] if s.get("pool") else "") for s in node.status()["sets"]] != [(0, ""), (1, "ok")]:
            assert time.monotonic() < deadline, (node.name, node.status()["sets"])
            time.sleep(0.2)
    bucket = unique_bucket("regpool")
    spares[0].client().create_bucket(Bucket=bucket)
    body = payload(3 << 20, 77)
    spares[1].client().put_object(Bucket=bucket, Key="k", Body=body)
    assert b.client().get_object(Bucket=bucket, Key="k")["Body"].read() == body
    # Nothing left to form a pool from: refused, the epoch unchanged.
    out = b.cli("expand")
    assert out.returncode != 0 and b"no spare nodes" in out.stderr, out.stderr
    assert b.status()["membership"]["epoch"] == epoch + 1
    # The founder comes back with the map it had: it takes the register's and serves pool 1.
    a.spawn()
    a.wait_ready(60)
    deadline = time.monotonic() + 30
    while [s.get("pool") for s in a.status()["sets"]] != [0, 1]:
        assert time.monotonic() < deadline, a.status()["sets"]
        time.sleep(0.2)
    wait_sets_ok([a], timeout=30)
    assert a.status()["membership"]["epoch"] == epoch + 1
    assert a.client().get_object(Bucket=bucket, Key="k")["Body"].read() == body
    a.client().put_object(Bucket=bucket, Key="k2", Body=b"through the founder")
    assert spares[2].client().get_object(Bucket=bucket, Key="k2")["Body"].read() == b"through the founder"


def test_a_member_given_a_copy_of_the_ca_admits_joiners_while_the_founder_is_down(cluster, tmp_path):
    """The CA key leaves the node that made it only when asked (`stowage cluster authority
    export`, a new 0600 file); a member that imports it (only that cluster's CA, with its own
    key) issues tokens and admits joiners through the map register, so the cluster can grow
    with the founder gone. The joiner tries its seeds in turn."""
    import json
    import stat

    from multinode import Node, free_udp_port

    a, b, c = cluster.nodes
    wait_register(a)
    bundle = tmp_path / "ca.json"
    out = a.cli("authority", "export", "--out", str(bundle))
    assert out.returncode == 0, out.stderr
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    assert a.cli("authority", "export", "--out", str(bundle)).returncode != 0  # never overwritten
    # Only the CA this member's certificate chains to, and only with that CA's own key.
    tls = b.root / "state" / "cluster" / "tls"
    exported = json.loads(bundle.read_text())
    not_a_ca = tmp_path / "node.json"
    not_a_ca.write_text(json.dumps({**exported, "certificate": (tls / "node.crt").read_text()}))
    out = b.cli("authority", "import", str(not_a_ca))
    assert out.returncode != 0 and b"not the one this node's certificate is signed by" in out.stderr, out.stderr
    wrong_key = tmp_path / "key.json"
    wrong_key.write_text(json.dumps({**exported, "privateKey": (tls / "node.key").read_text()}))
    out = b.cli("authority", "import", str(wrong_key))
    assert out.returncode != 0 and b"is not the CA certificate's" in out.stderr, out.stderr
    assert b.cli("token").returncode != 0  # no CA here yet
    out = b.cli("authority", "import", str(bundle))
    assert out.returncode == 0, out.stderr
    b.restart()
    a.kill(signal.SIGKILL)
    out = b.cli("token", "--ttl", "600")
    assert out.returncode == 0, out.stderr
    token = out.stdout.decode().strip()
    joiner = Node("node-n", tmp_path / "joiner", 2, free_udp_port())
    joiner.root.mkdir(parents=True)
    joiner.write_config([a.quic_address, b.quic_address])  # the first is down
    out = joiner.cli("join", token, timeout=60)
    assert out.returncode == 0, out.stderr
    joiner.spawn()
    cluster.nodes.append(joiner)  # stopped with the others
    # The join went through the register: b wrote it there, c read it from there.
    wait_register(b)
    wait_register(c)
    for node in (b, c):
        deadline = time.monotonic() + 20
        while True:
            members = {m["id"]: m.get("pool") for m in node.status()["membership"]["members"]}
            if "node-n" in members or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert members.get("node-n", "missing") is None, (node.name, members)
    # The founder, back, learns of the new member.
    a.spawn()
    a.wait_ready(60)
    deadline = time.monotonic() + 20
    while "node-n" not in {m["id"] for m in a.status()["membership"]["members"]}:
        assert time.monotonic() < deadline, a.status()["membership"]
        time.sleep(0.2)


def test_a_drive_wiped_while_its_node_was_down_is_not_formatted_again(cluster):
    """A node restarting with an emptied drive (a replaced disk, a mount that failed) must not
    format it into its old slot: an empty drive voting as if it held its data could take back
    acknowledged writes (F2, F19). With one of its two drives left it has no majority of its
    own drives to trust, so it refuses to start and says why; the other nodes serve
    everything meanwhile."""
    import shutil

    a, b, c = cluster.nodes
    bucket = unique_bucket("wipe")
    a.client().create_bucket(Bucket=bucket)
    bodies = {f"k/{i}": payload(200_000 + i, i) for i in range(4)}
    for key, body in bodies.items():
        a.client().put_object(Bucket=bucket, Key=key, Body=body)
    c.kill(signal.SIGKILL)
    wiped = c.root / "d0"
    for child in wiped.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    c.spawn()
    c.proc.wait(30)
    assert c.proc.returncode != 0
    assert "no format.json" in c.stderr() and str(wiped) in c.stderr()
    c.proc = None
    assert list(wiped.iterdir()) == []
    for node in (a, b):
        s3 = node.client()
        for key, body in bodies.items():
            assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body


SECRET = "5e" * 32  # 64 hex digits, as `stowage cluster secret` prints


def test_seeds_and_a_shared_secret_form_the_cluster_on_first_start(tmp_path):
    """No init, token, join or expand: three nodes that list each other and share a secret form
    the cluster when they first start (the founder, the lowest address, starting last), serve
    S3 through every node, and a restarted node comes back as the same member."""
    cluster = Cluster(tmp_path)
    for node in cluster.nodes:
        node.base_config = {"server": {"silent": False}}  # the log says who formed
    cluster.form_from_seeds(SECRET)
    try:
        a, b, c = cluster.nodes
        bucket = unique_bucket("seeds")
        b.client().create_bucket(Bucket=bucket)
        body = payload(6 << 20, 7)
        b.client().put_object(Bucket=bucket, Key="k", Body=body)
        assert c.client().get_object(Bucket=bucket, Key="k")["Body"].read() == body
        status = a.status()
        assert {m["id"]: m["pool"] for m in status["membership"]["members"]} == {"node-a": 0, "node-b": 0, "node-c": 0}
        assert [s["status"] for s in status["sets"]] == ["ok"]
        epoch = status["membership"]["epoch"]
        founder = min(cluster.nodes, key=lambda n: n.quic_address)
        assert "formed the cluster from seeds" in founder.stderr()
        other = next(n for n in cluster.nodes if n is not founder)
        assert "joined the cluster from seeds" in other.stderr()
        other.restart()
        assert other.client().get_object(Bucket=bucket, Key="k")["Body"].read() == body
        assert other.status()["membership"]["epoch"] == epoch
    finally:
        cluster.stop()


def test_a_node_without_the_secret_cannot_form_with_the_others(tmp_path):
    """A node whose secret differs is told so and stops; the founder admits nobody by a wrong
    proof, and the pool does not form without it."""
    cluster = Cluster(tmp_path)
    founder = min(cluster.nodes, key=lambda n: n.quic_address)
    stranger = next(n for n in cluster.nodes if n is not founder)
    seeds = [node.quic_address for node in cluster.nodes]
    for node in cluster.nodes:
        node.root.mkdir(parents=True, exist_ok=True)
        node.base_config = {"server": {"silent": False}}
        node.secret = SECRET if node is not stranger else "a7" * 32
        node.write_config(seeds)
    try:
        founder.spawn()
        stranger.spawn()
        assert stranger.proc.wait(60) == 1
        assert "does not prove the formation secret" in stranger.stderr()
        assert not (stranger.root / "state" / "cluster" / "tls").exists()
        import json
        assert json.loads((founder.root / "state" / "cluster" / "map.json").read_text())["pools"] == []
    finally:
        cluster.stop()
