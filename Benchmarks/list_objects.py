#!/usr/bin/env python3
"""ListObjectsV2 paging benchmark.

Starts a release `stowage` on a free 127.0.0.1 port in a temp directory, stores N keys
(default 100,000) through real PUT requests, then pages through the bucket with
ListObjectsV2 (1,000 keys a page, plain HTTP keep-alive, no client-side XML parsing in the
timed section) and prints per-page latency: min / p50 / p90 / p99 / max, plus a delimiter
listing and boto3's paginator for scale. With --reference moto, moto's server is seeded and
paged the same way in the same run (slow: moto stores about 500 objects/s). With --cluster,
the erasure-coded backend (6 drive directories, 4+2) is seeded and paged the same way in the
same run, and the ratios to FileStore are printed (issue 13's targets: ≤ 3× FileStore's time).

    Benchmarks/list_objects.py [--keys 100000] [--rounds 3] [--reference moto --reference-keys 10000] [--cluster]
"""
import argparse
import concurrent.futures
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = re.compile(rb"<NextContinuationToken>([^<]*)</NextContinuationToken>")
KEYCOUNT = re.compile(rb"<KeyCount>(\d+)</KeyCount>")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_stowage(binary, directory, drives=None):
    storage = ["--drives", ",".join(drives)] if drives else ["--directory", directory]
    process = subprocess.Popen(
        [binary, "serve", "--port", "0", "--address", "127.0.0.1", *storage, "--silent"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    match = re.search(r":(\d+)\s*$", line)
    if not match:
        process.kill()
        raise SystemExit(f"stowage did not start: {line!r}")
    return process, int(match.group(1))


def start_moto():
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("moto did not start")


def request(conn, method, path, body=b"", headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    return response.status, data


def seed(port, bucket, keys, workers=16):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    status, body = request(conn, "PUT", f"/{bucket}")
    assert status == 200, (status, body)
    chunks = [keys[i::workers] for i in range(workers)]
    # Authorization-free requests work on Stowage (auth off) and on moto (no auth by default).
    # x-amz-content-sha256 of the empty payload keeps both servers' payload checks happy.
    empty_sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    def put_all(chunk):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for key in chunk:
            s, b = request(c, "PUT", f"/{bucket}/" + urllib.parse.quote(key), b"",
                           {"Content-Length": "0", "x-amz-content-sha256": empty_sha})
            if s != 200:
                raise RuntimeError(f"PUT {key}: {s} {b[:200]!r}")
        c.close()

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        list(pool.map(put_all, chunks))
    return time.perf_counter() - start


def page_through(port, bucket, extra=""):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies, total_keys, token = [], 0, None
    while True:
        path = f"/{bucket}?list-type=2&max-keys=1000{extra}"
        if token:
            path += "&continuation-token=" + urllib.parse.quote(token, safe="")
        start = time.perf_counter()
        status, body = request(conn, "GET", path)
        latencies.append(time.perf_counter() - start)
        assert status == 200, (status, body[:300])
        total_keys += int(KEYCOUNT.search(body).group(1))
        match = TOKEN.search(body)
        if not match:
            break
        token = match.group(1).decode()
    conn.close()
    return latencies, total_keys


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def describe(name, latencies):
    ms = [v * 1000 for v in latencies]
    return (f"| {name} | {len(ms)} | {min(ms):.2f} | {statistics.median(ms):.2f} | {percentile(ms, 90):.2f} | "
            f"{percentile(ms, 99):.2f} | {max(ms):.2f} |")


def boto3_paginate(port, bucket):
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        return None
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id="STORAGE",
                          aws_secret_access_key="STORAGE", region_name="us-east-1",
                          config=Config(s3={"addressing_style": "path"}))
    start = time.perf_counter()
    count = sum(page.get("KeyCount", 0) for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket))
    return time.perf_counter() - start, count


def run_server(label, port, keys, rounds, bucket="bench"):
    seconds = seed(port, bucket, keys)
    print(f"\n{label}: stored {len(keys):,} keys in {seconds:.1f} s ({len(keys) / seconds:,.0f} PUT/s, 16 connections)")
    print("\n| listing | pages | min ms | p50 ms | p90 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|")
    all_pages = []
    for round_number in range(rounds):
        latencies, count = page_through(port, bucket)
        assert count == len(keys), (count, len(keys))
        all_pages += latencies
        print(describe(f"{label} ListObjectsV2 1,000/page, round {round_number + 1}", latencies))
    print(describe(f"{label} all rounds", all_pages))
    delimited = []
    for _ in range(rounds):
        latencies, count = page_through(port, bucket, "&delimiter=/&prefix=logs/2026/")
        delimited += latencies
    print(describe(f"{label} delimiter '/' under logs/2026/ ({count} prefixes), {rounds} rounds", delimited))
    paged = boto3_paginate(port, bucket)
    if paged:
        print(f"\nboto3 paginator over all {paged[1]:,} keys: {paged[0]:.2f} s (includes botocore's XML parsing)")
    return statistics.median(all_pages), statistics.median(delimited)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/stowage"))
    parser.add_argument("--reference", choices=["moto"], help="also measure this server in the same run")
    parser.add_argument("--reference-keys", type=int, default=10_000)
    parser.add_argument("--cluster", action="store_true", help="also measure the erasure-coded backend (6 drives, 4+2)")
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        raise SystemExit(f"{args.binary} missing: run scripts/build-release first")

    keys = [f"logs/2026/{i % 100:02d}/{i:07d}.json" for i in range(args.keys)]
    print(f"# ListObjectsV2 benchmark — {time.strftime('%Y-%m-%d %H:%M')} — {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    directory = tempfile.mkdtemp(prefix="stowage-list-bench-")
    process, port = start_stowage(args.binary, directory)
    try:
        median, delimiter_median = run_server("stowage", port, keys, args.rounds)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)

    if args.cluster:
        directory = tempfile.mkdtemp(prefix="stowage-list-bench-drives-")
        drives = [os.path.join(directory, f"d{i}") for i in range(1, 7)]
        for drive in drives:
            os.mkdir(drive)
        process, port = start_stowage(args.binary, directory, drives)
        try:
            cluster, cluster_delimiter = run_server("cluster 6 drives 4+2", port, keys, args.rounds)
        finally:
            process.terminate()
            process.wait(timeout=10)
            shutil.rmtree(directory, ignore_errors=True)
        print(f"\nmedian 1,000-key page: FileStore {median * 1000:.2f} ms, cluster {cluster * 1000:.2f} ms "
              f"({cluster / median:.2f}x; target <= 3x)")
        print(f"median delimiter page: FileStore {delimiter_median * 1000:.2f} ms, cluster {cluster_delimiter * 1000:.2f} ms "
              f"({cluster_delimiter / delimiter_median:.2f}x; target <= 3x)")

    if args.reference == "moto":
        reference_keys = keys[: args.reference_keys]
        process, port = start_moto()
        try:
            reference, _ = run_server(f"moto ({len(reference_keys):,} keys)", port, reference_keys, 1)
            print(f"\nmedian page: stowage {median * 1000:.2f} ms over {len(keys):,} keys; moto {reference * 1000:.2f} ms over "
                  f"{len(reference_keys):,} keys ({reference / median:.0f}x slower)")
        finally:
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
