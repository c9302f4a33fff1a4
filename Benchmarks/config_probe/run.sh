#!/usr/bin/env bash
# What apple/swift-configuration would add to Stowage's start-up: two tiny programs read the same
# kind of settings from a JSON file, the environment and flags, one through swift-configuration's
# providers, one the way Stowage does (JSONDecoder and the environment). Both are built like the
# release binary (static Swift runtime, non-PIE); prints spawn-to-exit medians over interleaved runs.
#   Benchmarks/config_probe/run.sh        # RUNS=40
set -euo pipefail
cd "$(dirname "$0")"
swift build -c release --static-swift-stdlib -Xswiftc -Xclang-linker -Xswiftc -no-pie >&2
RUNS=${RUNS:-40} python3 - <<'PY'
import os, subprocess, time, statistics
bins = {"swift-configuration": ".build/release/ProbeSCfg", "hand-written": ".build/release/ProbeHand"}
res = {k: [] for k in bins}
env = {"STOWAGE_PORT": "9000", "SERVER_PORT": "9000", "PATH": "/usr/bin"}
for _ in range(int(os.environ["RUNS"])):
    for name, path in bins.items():
        t = time.perf_counter()
        subprocess.run([path, "c.json"], stdout=subprocess.DEVNULL, env=env, check=True)
        res[name].append((time.perf_counter() - t) * 1000)
for name, v in res.items():
    print(f"{name:20} spawn to exit: median {statistics.median(v):.2f} ms, min {min(v):.2f} ms")
PY
