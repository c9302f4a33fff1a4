#!/usr/bin/env python3
"""CompleteMultipartUpload benchmark: issue 13's target "multipart complete of 100 parts × 8 MiB
without reading the data (show the bytes read)".

Starts a release `stowage` twice on free 127.0.0.1 ports, FileStore (--directory) and the
erasure-coded cluster (6 drive directories, 4+2), uploads the same parts through boto3, then
times CompleteMultipartUpload and reads the server process's /proc/<pid>/io around it: `rchar`
and `wchar` (bytes through read/write-family calls, page cache or not) and `read_bytes` and
`write_bytes` (what reached the block device). FileStore assembles the object by copying the
parts in the kernel (copy_file_range, which the counters do not see, so its figures are in the
note); the cluster links the part files under the object and must read and write only catalog
rows. The object is then read back and compared, so a fast complete that lost data fails here.

    Benchmarks/multipart_complete.py [--parts 100] [--part-mib 8] [--rounds 3]

Needs boto3 (the end-to-end venv has it: .build/e2e-venv/bin/python).
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import boto3
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def io_counters(pid):
    with open(f"/proc/{pid}/io") as f:
        return {name: int(value) for name, value in (line.split(": ") for line in f.read().splitlines())}


def client(port):
    return boto3.session.Session().client(
        "s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
        aws_access_key_id="STORAGE", aws_secret_access_key="STORAGE",
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}, read_timeout=600))


def run(name, process, port, parts, rounds):
    s3 = client(port)
    s3.create_bucket(Bucket="bench")
    results = []
    for round_number in range(rounds):
        key = f"object-{round_number}"
        upload = s3.create_multipart_upload(Bucket="bench", Key=key)["UploadId"]
        done = []
        expected = hashlib.md5()
        for number, data in enumerate(parts, start=1):
            answer = s3.upload_part(Bucket="bench", Key=key, UploadId=upload, PartNumber=number, Body=data)
            done.append({"PartNumber": number, "ETag": answer["ETag"]})
            expected.update(data)
        before = io_counters(process.pid)
        started = time.perf_counter()
        s3.complete_multipart_upload(Bucket="bench", Key=key, UploadId=upload, MultipartUpload={"Parts": done})
        elapsed = time.perf_counter() - started
        after = io_counters(process.pid)
        delta = {name: after[name] - before[name] for name in ("rchar", "wchar", "read_bytes", "write_bytes")}
        got = hashlib.md5()
        for chunk in s3.get_object(Bucket="bench", Key=key)["Body"].iter_chunks(1 << 20):
            got.update(chunk)
        if got.digest() != expected.digest():
            raise SystemExit(f"{name}: the completed object does not read back as its parts")
        results.append((elapsed, delta))
        print(f"  {name} round {round_number + 1}: complete {elapsed * 1000:8.1f} ms  "
              + "  ".join(f"{k} {v / 2**20:8.2f} MiB" for k, v in delta.items()), flush=True)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/stowage"))
    parser.add_argument("--parts", type=int, default=100)
    parser.add_argument("--part-mib", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        raise SystemExit(f"{args.binary} missing: run scripts/build-release first")
    size = args.part_mib << 20
    # Distinct parts (a repeated one could hide a mix-up); generated once, used for both.
    parts = [os.urandom(size) for _ in range(args.parts)]
    total = args.parts * size
    print(f"CompleteMultipartUpload of {args.parts} parts × {args.part_mib} MiB ({total / 2**30:.2f} GiB), "
          f"{args.rounds} rounds, release build, same run")
    summary = {}
    for name in ("FileStore", "cluster 4+2 (6 drives)"):
        base = tempfile.mkdtemp(prefix="stowage-mpu-bench-")
        try:
            drives = None
            if name.startswith("cluster"):
                drives = [os.path.join(base, f"d{i}") for i in range(6)]
                for drive in drives:
                    os.mkdir(drive)
            process, port = start_stowage(args.binary, os.path.join(base, "data"), drives)
            try:
                summary[name] = run(name, process, port, parts, args.rounds)
            finally:
                process.terminate()
                process.wait(timeout=30)
        finally:
            shutil.rmtree(base, ignore_errors=True)
    print()
    print(f"{'backend':26} {'complete, median':>18} {'rchar':>12} {'read_bytes':>12} {'wchar':>12} {'write_bytes':>12}")
    for name, results in summary.items():
        times = sorted(r[0] for r in results)
        median = times[len(times) // 2]
        worst = {k: max(r[1][k] for r in results) for k in ("rchar", "read_bytes", "wchar", "write_bytes")}
        print(f"{name:26} {median * 1000:15.1f} ms "
              + " ".join(f"{worst[k] / 2**20:8.2f} MiB" for k in ("rchar", "read_bytes", "wchar", "write_bytes")))
    print(f"(object size {total / 2**20:.0f} MiB; byte columns are the largest of the rounds)")


if __name__ == "__main__":
    sys.exit(main())
