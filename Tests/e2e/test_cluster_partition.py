"""A three-node cluster whose nodes live in network namespaces the test creates (a cluster
network and a client network, each a bridge with a veth pair and an address per node, and one
more namespace for the test's own client), one node cut off the cluster network and healed
(issue 14). Root only; everything goes with the namespaces."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

import netns
from conftest import E2E_DRIVES, unique_bucket
from multinode import Cluster, wait_sets_ok

pytestmark = [
    pytest.mark.isolated, pytest.mark.timeout(240),
    pytest.mark.skipif(E2E_DRIVES, reason="multi-process clusters run once, in the first pass"),
    pytest.mark.skipif(not netns.available(), reason="needs root and `ip netns`"),
]


@pytest.fixture
def partitioned_cluster(tmp_path):
    network = netns.Network(hosts=4)  # three nodes and the test's client
    cluster = Cluster(tmp_path, network=network)
    client = None
    try:
        cluster.form()
        client = netns.InNamespace(network.names[3])
        yield network, cluster, client
    finally:
        cluster.stop()
        if client is not None:
            client.close()
        network.destroy()


def status_code(call, **kwargs) -> int:
    try:
        call(**kwargs)
        return 200
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"]


def test_an_isolated_node_refuses_writes_the_majority_serves_and_nothing_is_lost_or_stale(partitioned_cluster):
    network, cluster, on_client = partitioned_cluster
    a, b, c = cluster.nodes
    s3 = {node.name: node.client(read_timeout=20, connect_timeout=5) for node in cluster.nodes}
    bucket = unique_bucket("part")
    on_client(s3["node-a"].create_bucket, Bucket=bucket)
    latest: dict[str, bytes] = {}
    for i in range(8):
        key, body = f"k/{i}", f"before {i}".encode() * 1000
        on_client(s3["node-c"].put_object, Bucket=bucket, Key=key, Body=body)
        latest[key] = body

    network.isolate(2)
    # The majority marks c offline; c sees no majority, calls itself isolated and marks
    # nobody offline.
    cluster.wait_liveness(a, {"node-c": "offline"}, standing="connected")
    cluster.wait_liveness(c, {"node-a": "suspect", "node-b": "suspect"}, standing="isolated")

    # The majority side keeps serving reads and writes, overwrites included.
    for i in range(0, 8, 2):
        key, body = f"k/{i}", f"during {i}".encode() * 1000
        on_client(s3["node-a" if i % 4 else "node-b"].put_object, Bucket=bucket, Key=key, Body=body)
        latest[key] = body
    on_client(s3["node-b"].put_object, Bucket=bucket, Key="new", Body=b"written during the partition")
    latest["new"] = b"written during the partition"
    for key, body in latest.items():
        assert on_client(lambda k=key: s3["node-a"].get_object(Bucket=bucket, Key=k)["Body"].read()) == body

    # The isolated node changes nothing and serves nothing stale: every write is a 503 and
    # every read either the latest value or a 503.
    isolated = s3["node-c"]
    assert on_client(status_code, isolated.put_object, Bucket=bucket, Key="refused", Body=b"x") == 503
    assert on_client(status_code, isolated.delete_object, Bucket=bucket, Key="k/1") == 503
    for key, body in latest.items():
        try:
            assert on_client(lambda k=key: isolated.get_object(Bucket=bucket, Key=k)["Body"].read()) == body, key
        except ClientError as error:
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 503, key
    assert c.status()["membership"]["standing"] == "isolated"

    network.reconnect(2)
    cluster.wait_liveness(a, {"node-c": "online"}, standing="connected")
    cluster.wait_liveness(c, {"node-a": "online", "node-b": "online"}, standing="connected")
    wait_sets_ok(cluster.nodes)
    # Healed: no acknowledged write lost, the latest value everywhere, the refused writes
    # nowhere; c writes again.
    for node in cluster.nodes:
        client = s3[node.name]
        for key, body in latest.items():
            assert on_client(lambda k=key: client.get_object(Bucket=bucket, Key=k)["Body"].read()) == body, (node.name, key)
        assert on_client(status_code, client.head_object, Bucket=bucket, Key="refused") == 404
        listed = on_client(lambda: [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]])
        assert listed == sorted(latest)
    on_client(isolated.put_object, Bucket=bucket, Key="after", Body=b"c writes again")
    assert on_client(lambda: s3["node-a"].get_object(Bucket=bucket, Key="after")["Body"].read()) == b"c writes again"
