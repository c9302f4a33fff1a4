#!/usr/bin/env bash
# The erasure-coded backend (one node, 6 drive directories, 4+2) against FileStore, in one run,
# on this machine's disk, with the same fsync setting (default: off), plus raw ISA-L as the
# codec's ceiling. Targets from issue 12: 1 GiB PUT ≥ 0.7× FileStore, GET ≥ 0.8×, GET with two
# drives missing ≥ 0.6×, 4 KiB PUT ≥ 0.4×, 4 KiB GET ≥ 0.7×, server peak RSS ≤ 128 MiB during a
# BIG_GIB GiB PUT and GET.
#
# Big transfers: curl streams from /dev/zero (Content-Length given) and GETs to /dev/null; every
# transfer starts after a `sync`; each round alternates FileStore and cluster. Small requests:
# `stowage bench` (32 connections, signed). RSS: VmHWM of the server, reset before each transfer.
#
#   Benchmarks/cluster_vs_filestore.sh                   # SIZE_GIB=1 REPS=3 BIG_GIB=5 BENCH_SECONDS=8
#   FSYNC=1 Benchmarks/cluster_vs_filestore.sh           # both with --fsync
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${STOWAGE_BIN:-$ROOT/.build/release/stowage}
SHARED_BENCH=${SHARED_BENCH:-$ROOT/../shared/bench}
SIZE_GIB=${SIZE_GIB:-1}
BIG_GIB=${BIG_GIB:-5}
REPS=${REPS:-3}
BENCH_SECONDS=${BENCH_SECONDS:-8}
FSYNC_FLAG=(); [ "${FSYNC:-0}" = 1 ] && FSYNC_FLAG=(--fsync)
[ -x "$BIN" ] || { echo "missing $BIN: run scripts/build-release" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stowage-cluster-bench.XXXXXX")
for i in 1 2 3 4 5 6; do mkdir -p "$WORK/d$i"; done
DRIVES=$WORK/d1,$WORK/d2,$WORK/d3,$WORK/d4,$WORK/d5,$WORK/d6
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

start() { # name, extra args...
  local name=$1; shift
  "$BIN" serve --port 0 --address 127.0.0.1 --silent "${FSYNC_FLAG[@]}" "$@" > "$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  eval "${name}_PID=$!"
  for _ in $(seq 1 200); do grep -q listening "$WORK/$name.out" 2>/dev/null && break; sleep 0.05; done
  eval "${name}_URL=http://127.0.0.1:$(grep -o ':[0-9]*$' "$WORK/$name.out" | tr -d :)"
}
start fs --directory "$WORK/fs"
start cl --drives "$DRIVES"

reset_hwm() { echo 5 > "/proc/$1/clear_refs" 2>/dev/null || true; }
hwm_mb() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
mbs() { awk '{printf "%.0f", $1 / 1e6}'; }

put_big() { # url pid key gib -> "speed rss"
  local bytes=$(($4 * 1024 * 1024 * 1024)); sync; reset_hwm "$2"
  local speed; speed=$(head -c "$bytes" /dev/zero | curl -sf -T - -H "Content-Length: $bytes" -H "Transfer-Encoding:" -H "Expect:" "$1/bench/$3" -o /dev/null -w '%{speed_upload}')
  echo "$speed $(hwm_mb "$2")"
}
get_big() { # url pid key -> "speed rss"
  sync; reset_hwm "$2"
  local speed; speed=$(curl -sf "$1/bench/$3" -o /dev/null -w '%{speed_download}')
  echo "$speed $(hwm_mb "$2")"
}

echo "# cluster (6 drives, 4+2) vs FileStore — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), fsync ${FSYNC:-0}"
curl -sf -X PUT "$fs_URL/bench" >/dev/null; curl -sf -X PUT "$cl_URL/bench" >/dev/null
: > "$WORK/rows"
for round in $(seq 1 "$REPS"); do
  for who in fs cl; do
    url=${who}_URL; pid=${who}_PID
    read -r put put_rss < <(put_big "${!url}" "${!pid}" "big-$round" "$SIZE_GIB")
    read -r get get_rss < <(get_big "${!url}" "${!pid}" "big-$round")
    echo "$who put $put" >> "$WORK/rows"; echo "$who get $get" >> "$WORK/rows"
  done
done
# GET with two drives missing (renamed away; the probe takes them out of rotation).
mv "$WORK/d2" "$WORK/d2-away"; mv "$WORK/d5" "$WORK/d5-away"
for _ in $(seq 1 50); do curl -s "$cl_URL/_stowage/health/ready" | grep -q "2 of 6 drives offline" && break; sleep 0.2; done
for round in $(seq 1 "$REPS"); do
  read -r get _ < <(get_big "$cl_URL" "$cl_PID" "big-$round")
  echo "cl degraded $get" >> "$WORK/rows"
done
mv "$WORK/d2-away" "$WORK/d2"; mv "$WORK/d5-away" "$WORK/d5"
for _ in $(seq 1 50); do curl -s "$cl_URL/_stowage/health/ready" | grep -qx ready && break; sleep 0.2; done
for round in $(seq 1 "$REPS"); do
  curl -sf -X DELETE "$fs_URL/bench/big-$round" >/dev/null; curl -sf -X DELETE "$cl_URL/bench/big-$round" >/dev/null
done

small() { # url op -> req/s
  "$BIN" bench --endpoint "$1" --bucket "small-$2" --op "$2" --size 4KiB --duration "$BENCH_SECONDS" --json | python3 -c 'import json,sys; r=json.loads(sys.stdin.read().strip().splitlines()[-1]); assert r["errors"] == 0, r; print(round(r["ops_per_s"]))'
}
for op in put get; do
  for who in fs cl; do url=${who}_URL; echo "$who small-$op $(small "${!url}" "$op")" >> "$WORK/rows"; done
done

read -r _ big_put_rss < <(put_big "$cl_URL" "$cl_PID" huge "$BIG_GIB")
read -r _ big_get_rss < <(get_big "$cl_URL" "$cl_PID" huge)

isal_encode=-; isal_decode=-
if [ -f "$SHARED_BENCH/ec_bench.c" ] && cc -O2 -o "$WORK/ec_bench" "$SHARED_BENCH/ec_bench.c" -lisal 2>/dev/null; then
  isal_encode=$("$WORK/ec_bench" isal_encode 2 | awk '{print $2}')
  isal_decode=$("$WORK/ec_bench" isal_decode2 2 | awk '{print $2}')
fi

value() { awk -v w="$1" -v k="$2" '$1 == w && $2 == k {print $3}' "$WORK/rows" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
fs_put=$(value fs put); cl_put=$(value cl put); fs_get=$(value fs get); cl_get=$(value cl get); cl_deg=$(value cl degraded)
fs_sput=$(value fs small-put); cl_sput=$(value cl small-put); fs_sget=$(value fs small-get); cl_sget=$(value cl small-get)
echo
echo "| load (median of $REPS) | FileStore | cluster 4+2 | ratio | target |"
echo "|---|---|---|---|---|"
echo "| ${SIZE_GIB} GiB PUT, MB/s | $(echo "$fs_put" | mbs) | $(echo "$cl_put" | mbs) | $(ratio "$cl_put" "$fs_put") | ≥ 0.7 |"
echo "| ${SIZE_GIB} GiB GET, MB/s | $(echo "$fs_get" | mbs) | $(echo "$cl_get" | mbs) | $(ratio "$cl_get" "$fs_get") | ≥ 0.8 |"
echo "| ${SIZE_GIB} GiB GET, 2 drives missing, MB/s | $(echo "$fs_get" | mbs) | $(echo "$cl_deg" | mbs) | $(ratio "$cl_deg" "$fs_get") | ≥ 0.6 |"
echo "| 4 KiB PUT, req/s | $fs_sput | $cl_sput | $(ratio "$cl_sput" "$fs_sput") | ≥ 0.4 |"
echo "| 4 KiB GET, req/s | $fs_sget | $cl_sget | $(ratio "$cl_sget" "$fs_sget") | ≥ 0.7 |"
echo
echo "cluster peak RSS: ${BIG_GIB} GiB PUT $big_put_rss MiB, GET $big_get_rss MiB (target ≤ 128)"
echo "raw ISA-L 4+2 on one core (ec_bench): encode $isal_encode MB/s, rebuild 2 lost $isal_decode MB/s"
