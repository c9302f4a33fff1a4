#!/usr/bin/env bash
# A cluster of three `stowage` processes on 127.0.0.1 (2 drive directories each, one 4+2 set,
# shards between nodes over QUIC) against a standalone FileStore, in one run, both with fsync
# (a multi-node cluster requires it). Issue 14's targets: PUT of 64 MiB objects ≥ 0.5×
# FileStore, GET ≥ 0.7×. Every request goes to the first node, so two thirds of each object's
# shards cross QUIC.
#
#   Benchmarks/three_nodes_vs_filestore.sh            # SIZE_MIB=64 REPS=7
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${STOWAGE_BIN:-$ROOT/.build/release/stowage}
SIZE_MIB=${SIZE_MIB:-64}
REPS=${REPS:-7}
[ -x "$BIN" ] || { echo "missing $BIN: run scripts/build-release" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stowage-3node-bench.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

wait_url() { # out-file -> URL once the server prints its ready line
  for _ in $(seq 1 600); do grep -q listening "$1" 2>/dev/null && break; sleep 0.05; done
  echo "http://127.0.0.1:$(grep -o ':[0-9]*$' "$1" | tr -d :)"
}

for n in a b c; do
  mkdir -p "$WORK/$n/d0" "$WORK/$n/d1"
  port=$((24000 + RANDOM % 20000))
  cat > "$WORK/$n.json" <<EOF
{"server": {"silent": true}, "storage": {"directory": "$WORK/$n/state", "fsync": true},
 "cluster": {"enabled": true, "nodeId": "node-$n", "quicPort": $port, "quicAddress": "127.0.0.1",
             "drives": {"paths": ["$WORK/$n/d0", "$WORK/$n/d1"]}}}
EOF
  eval "${n}_QUIC=127.0.0.1:$port"
done
"$BIN" cluster init --config "$WORK/a.json" >/dev/null
"$BIN" serve --port 0 --address 127.0.0.1 --config "$WORK/a.json" > "$WORK/a.out" 2>"$WORK/a.err" & PIDS+=($!)
for n in b c; do
  for _ in $(seq 1 100); do
    token=$("$BIN" cluster token --config "$WORK/a.json")
    "$BIN" cluster join "$token" --seed "$a_QUIC" --config "$WORK/$n.json" >/dev/null 2>&1 && break
    sleep 0.1
  done
  "$BIN" serve --port 0 --address 127.0.0.1 --config "$WORK/$n.json" > "$WORK/$n.out" 2>"$WORK/$n.err" & PIDS+=($!)
done
"$BIN" cluster expand --config "$WORK/a.json" >/dev/null
CL=$(wait_url "$WORK/a.out"); wait_url "$WORK/b.out" >/dev/null; wait_url "$WORK/c.out" >/dev/null
"$BIN" serve --port 0 --address 127.0.0.1 --silent --fsync --directory "$WORK/fs" > "$WORK/fs.out" 2>"$WORK/fs.err" & PIDS+=($!)
FS=$(wait_url "$WORK/fs.out")

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
bytes=$((SIZE_MIB * 1024 * 1024))
put() { head -c "$bytes" /dev/zero | curl -sf -T - -H "Content-Length: $bytes" -H "Transfer-Encoding:" -H "Expect:" "$1/bench/$2" -o /dev/null -w '%{speed_upload}\n'; }
get() { curl -sf "$1/bench/$2" -o /dev/null -w '%{speed_download}\n'; }

echo "# 3 nodes over QUIC (3 × 2 drives, 4+2) vs FileStore, fsync on both — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
curl -sf -X PUT "$FS/bench" >/dev/null; curl -sf -X PUT "$CL/bench" >/dev/null
: > "$WORK/fs.put"; : > "$WORK/cl.put"; : > "$WORK/fs.get"; : > "$WORK/cl.get"
for i in $(seq 1 "$REPS"); do
  sync; put "$FS" "o$i" >> "$WORK/fs.put"
  sync; put "$CL" "o$i" >> "$WORK/cl.put"
done
for i in $(seq 1 "$REPS"); do
  get "$FS" "o$i" >> "$WORK/fs.get"
  get "$CL" "o$i" >> "$WORK/cl.get"
done
for op in put get; do
  f=$(median < "$WORK/fs.$op"); c=$(median < "$WORK/cl.$op")
  awk -v op="$op" -v f="$f" -v c="$c" -v s="$SIZE_MIB" 'BEGIN {
    printf "%-4s %d MiB  FileStore %7.0f MB/s   3 nodes %7.0f MB/s   ratio %.2f\n", toupper(op), s, f / 1e6, c / 1e6, c / f }'
done
