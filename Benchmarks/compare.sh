#!/usr/bin/env bash
# Stowage against nginx (static GET / WebDAV PUT) and moto, in one run, on this machine.
#
# 1. ../shared/bench/http-peers.sh drives all three with the same wrk and curl loads
#    (4 KiB GET, 4 KiB PUT to new keys, 64 MiB GET, one BIG_MB PUT+GET), REPS rounds
#    interleaved, SigV4-signed for the S3 servers, server CPU per request from /proc.
# 2. `stowage bench` (this repo's warp-style tool) measures 4 KiB PUT and GET against Stowage
#    and moto with signed requests.
# Stowage runs with default durability (no fsync), like nginx's WebDAV PUT.
#
#   Benchmarks/compare.sh                     # REPS=3 DURATION=10, ~10 minutes
#   SHARED_BENCH=/path/to/shared/bench REPS=5 Benchmarks/compare.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED_BENCH=${SHARED_BENCH:-$ROOT/../shared/bench}
BIN=${STOWAGE_BIN:-$ROOT/.build/release/stowage}
[ -x "$SHARED_BENCH/http-peers.sh" ] || { echo "set SHARED_BENCH to the directory holding http-peers.sh" >&2; exit 1; }
[ -x "$BIN" ] || { echo "missing $BIN: run scripts/build-release" >&2; exit 1; }

export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-STORAGE} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-STORAGE}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/stowage-compare.XXXXXX")
chattr +T "$WORK" 2>/dev/null || true   # fresh ext4 block groups, as http-peers.sh does for its peers
"$BIN" serve --port 0 --address 127.0.0.1 --directory "$WORK/data" --silent > "$WORK/out" 2>"$WORK/err" &
PID=$!
cleanup() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 1 100); do grep -q listening "$WORK/out" 2>/dev/null && break; sleep 0.05; done
PORT=$(grep -o ':[0-9]*$' "$WORK/out" | tr -d :)

echo "# Stowage vs nginx vs moto — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "## http-peers.sh (wrk + curl, same loads for every server)"
"$SHARED_BENCH/http-peers.sh" --target "http://127.0.0.1:$PORT" --bucket bench --target-pid "$PID" --peers nginx,moto,target

echo
echo "## stowage bench (signed S3 requests, 32 connections, ${BENCH_SECONDS:-10} s)"
for op in put get; do
  "$BIN" bench --endpoint "http://127.0.0.1:$PORT" --bucket bench-tool --op $op --size 4KiB --duration "${BENCH_SECONDS:-10}" | tail -1
done
