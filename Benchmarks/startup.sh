#!/usr/bin/env bash
# Start-up time: spawn to first accepted TCP connection and to first HTTP response, Stowage
# against nginx in the same run, interleaved (../shared/bench/startup.sh does the timing).
#
#   scripts/build-release                      # static Swift runtime, non-PIE
#   Benchmarks/startup.sh                      # REPS=10
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${STOWAGE_BIN:-$ROOT/.build/release/stowage}
SHARED_BENCH=${SHARED_BENCH:-$ROOT/../shared/bench}
[ -x "$BIN" ] || { echo "missing $BIN: run scripts/build-release" >&2; exit 1; }
[ -x "$SHARED_BENCH/startup.sh" ] || { echo "missing $SHARED_BENCH/startup.sh (set SHARED_BENCH)" >&2; exit 1; }
exec "$SHARED_BENCH/startup.sh" --no-moto --name stowage \
    --cmd "$BIN serve --port {port} --address 127.0.0.1 --directory {dir} --silent"
