#!/usr/bin/env python3
"""Collection of replaced data (issue 13 item 5): how fast the cluster gives back the space of
overwritten and deleted objects, paced and unpaced, with FileStore (which frees it inside the
request) as the reference in the same run.

Starts a release `stowage` on free 127.0.0.1 ports for each backend: FileStore (--directory) and
the erasure-coded cluster (6 drive directories, 4+2) with `cluster.collection.graceSeconds: 0`,
once with the default pace (`maxPerSecond: 100`) and once unpaced (0). It PUTs --objects keys,
overwrites every one and deletes every other one, then measures the bytes on disk right after
the writes and, for the cluster, the time until every note is collected
(`stowage_cluster_replaced_data_pending` reaches 0), the collections a second, and the bytes
left. Every surviving key is read back and compared, so a collector that took live data fails.

    Benchmarks/collection.py [--objects 400] [--kib 256]

Needs boto3 (the end-to-end venv has it: .build/e2e-venv/bin/python).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_stowage(binary, base, drives=None, collection=None):
    storage = ["--drives", ",".join(drives)] if drives else ["--directory", os.path.join(base, "data")]
    extra = []
    if collection is not None:
        config = os.path.join(base, "config.json")
        with open(config, "w") as f:
            json.dump({"cluster": {"collection": collection}}, f)
        extra = ["--config", config]
    process = subprocess.Popen(
        [binary, "serve", "--port", "0", "--address", "127.0.0.1", *storage, *extra, "--silent"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    match = re.search(r":(\d+)\s*$", line)
    if not match:
        process.kill()
        raise SystemExit(f"stowage did not start: {line!r}")
    return process, int(match.group(1))


def client(port):
    return boto3.session.Session().client(
        "s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
        aws_access_key_id="STORAGE", aws_secret_access_key="STORAGE",
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}, read_timeout=120))


def metric(port, name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/_stowage/metrics", timeout=30).read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ") or line.startswith(name + "{"))


def disk_bytes(path):
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(directory, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def run(name, binary, objects, size, collection):
    base = tempfile.mkdtemp(prefix="stowage-collect-bench-")
    drives = None
    if collection is not None:
        drives = [os.path.join(base, f"d{i}") for i in range(6)]
        for drive in drives:
            os.mkdir(drive)
    process, port = start_stowage(binary, base, drives, collection)
    try:
        s3 = client(port)
        s3.create_bucket(Bucket="bench")
        bodies = {f"k{i:05d}": os.urandom(size) for i in range(objects)}
        for key, body in bodies.items():
            s3.put_object(Bucket="bench", Key=key, Body=body)
        started = time.perf_counter()
        for key in bodies:
            bodies[key] = os.urandom(size)
            s3.put_object(Bucket="bench", Key=key, Body=bodies[key])
        for key in list(bodies)[::2]:
            s3.delete_object(Bucket="bench", Key=key)
            del bodies[key]
        writes = time.perf_counter() - started
        after_writes = disk_bytes(base)
        drained = 0.0
        collected = 0
        if collection is not None:
            deadline = time.monotonic() + 600
            while metric(port, "stowage_cluster_replaced_data_pending") > 0:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{name}: the collector did not drain in 600 s")
                time.sleep(0.05)
            drained = time.perf_counter() - started
            collected = int(metric(port, "stowage_cluster_collected_data_total"))
        after_collection = disk_bytes(base)
        shards = sum(disk_bytes(os.path.join(d, ".stowage", "data")) for d in drives) if drives else after_collection
        for key, body in bodies.items():
            if s3.get_object(Bucket="bench", Key=key)["Body"].read() != body:
                raise SystemExit(f"{name}: {key} does not read back as written")
        live = len(bodies) * size
        print(f"  {name}: {objects} overwrites + {objects // 2 + objects % 2} deletes in {writes:6.2f} s; "
              f"on disk after the writes {after_writes / 2**20:8.1f} MiB, after collection {after_collection / 2**20:8.1f} MiB "
              f"(shard files {shards / 2**20:.1f} MiB; live data {live / 2**20:.1f} MiB)"
              + (f"; {collected} collected, drained {drained:6.2f} s after the writes began, "
                 f"{collected / max(drained, 1e-9):7.1f} collections/s" if collection is not None else ""),
              flush=True)
        return writes, after_writes, after_collection, drained, collected
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(base, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/stowage"))
    parser.add_argument("--objects", type=int, default=400)
    parser.add_argument("--kib", type=int, default=256)
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        raise SystemExit(f"{args.binary} missing: run scripts/build-release first")
    size = args.kib << 10
    print(f"{args.objects} objects of {args.kib} KiB, each overwritten once, every other one then deleted; "
          "release build, same run")
    run("FileStore", args.binary, args.objects, size, None)
    run("cluster 4+2, maxPerSecond 100", args.binary, args.objects, size, {"graceSeconds": 0, "maxPerSecond": 100})
    run("cluster 4+2, unpaced", args.binary, args.objects, size, {"graceSeconds": 0, "maxPerSecond": 0})


if __name__ == "__main__":
    sys.exit(main())
