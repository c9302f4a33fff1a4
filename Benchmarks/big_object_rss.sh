#!/usr/bin/env bash
# Large-object throughput and peak server memory, next to this machine's own limits measured in
# the same run.
#
# Starts a release `stowage` on a free 127.0.0.1 port (data in a temp dir on the filesystem of
# $TMPDIR). Each round PUTs SIZE_GIB GiB streamed from /dev/zero with curl (Content-Length
# given, no file on disk), GETs it back to /dev/null, checks size and ETag, and samples the
# server's peak RSS (VmHWM from /proc, reset before each transfer). Then, as references:
# single-core MD5 (`openssl speed -evp md5`, 64 KiB blocks, wall clock) and writing the same
# number of bytes with dd to the same filesystem, with and without a final fdatasync. Every
# transfer and reference starts after a `sync`, so none pays for the previous one's writeback.
# Prints min / median / max over the rounds.
#
#   Benchmarks/big_object_rss.sh                 # SIZE_GIB=5 REPS=3
#   SIZE_GIB=1 REPS=5 Benchmarks/big_object_rss.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${STOWAGE_BIN:-$ROOT/.build/release/stowage}
SIZE_GIB=${SIZE_GIB:-5}
REPS=${REPS:-3}
[ -x "$BIN" ] || { echo "missing $BIN: run scripts/build-release" >&2; exit 1; }
for tool in curl openssl dd; do command -v $tool >/dev/null || { echo "$tool is required" >&2; exit 1; }; done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stowage-rss.XXXXXX")
"$BIN" serve --port 0 --address 127.0.0.1 --directory "$WORK/data" --silent > "$WORK/out" 2>"$WORK/err" &
PID=$!
cleanup() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 1 100); do grep -q listening "$WORK/out" 2>/dev/null && break; sleep 0.05; done
PORT=$(grep -o ':[0-9]*$' "$WORK/out" | tr -d :)
URL=http://127.0.0.1:$PORT
BYTES=$((SIZE_GIB * 1024 * 1024 * 1024))

reset_hwm() { echo 5 > /proc/$PID/clear_refs 2>/dev/null || true; }
hwm_mb() { awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$PID/status; }
# min / median / max of the numbers on stdin
stats() { sort -g | awk '{v[NR]=$1} END {printf "%.0f / %.0f / %.0f", v[1], v[int((NR+1)/2)], v[NR]}'; }
statsf() { sort -g | awk '{v[NR]=$1} END {printf "%.1f / %.1f / %.1f", v[1], v[int((NR+1)/2)], v[NR]}'; }

echo "# big objects: $SIZE_GIB GiB, $REPS rounds — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
curl -sf -X PUT "$URL/rss" >/dev/null
idle=$(hwm_mb)
expected=$(head -c "$BYTES" /dev/zero | md5sum | awk '{print $1}')
: > "$WORK/rows"
for round in $(seq 1 "$REPS"); do
  sync   # every transfer and reference starts without the previous one's dirty pages
  reset_hwm
  put=$(head -c "$BYTES" /dev/zero | curl -sf -T - -H "Content-Length: $BYTES" -H "Transfer-Encoding:" -H "Expect:" "$URL/rss/big-$round" -D "$WORK/put.headers" -o /dev/null -w '%{speed_upload}')
  put_rss=$(hwm_mb)
  sync
  reset_hwm
  get=$(curl -sf "$URL/rss/big-$round" -o /dev/null -w '%{speed_download} %{size_download}')
  get_rss=$(hwm_mb)
  curl -sf -X DELETE "$URL/rss/big-$round" >/dev/null   # a new key each round: PUT measures writing, not freeing the last one
  etag=$(grep -i '^etag:' "$WORK/put.headers" | tr -d '\r"' | awk '{print $2}')
  [ "$etag" = "$expected" ] || { echo "ETag $etag != MD5 $expected" >&2; exit 1; }
  [ "$(echo "$get" | awk '{print $2}')" = "$BYTES" ] || { echo "GET returned $get, expected $BYTES bytes" >&2; exit 1; }
  # References, in the same round: MD5 on one core, and dd writing as many bytes to this filesystem.
  md5=$(openssl speed -evp md5 -bytes 65536 -seconds 3 -elapsed 2>/dev/null | awk '/^md5/ {v=$NF; sub(/k$/, "", v); print v * 1000}')
  sync
  dd_cache=$(dd if=/dev/zero of="$WORK/dd" bs=4M count=$((SIZE_GIB * 256)) 2>&1 | awk '/copied/ {print $(NF-1) * ($NF == "GB/s" ? 1000 : 1)}')
  rm -f "$WORK/dd"; sync
  dd_sync=$(dd if=/dev/zero of="$WORK/dd" bs=4M count=$((SIZE_GIB * 256)) conv=fdatasync 2>&1 | awk '/copied/ {print $(NF-1) * ($NF == "GB/s" ? 1000 : 1)}')
  rm -f "$WORK/dd"
  echo "$put $get_rss $put_rss $get $md5 $dd_cache $dd_sync" | awk '{printf "%.1f %.1f %.1f %.1f %.1f %.1f %.1f\n", $1/1e6, $4/1e6, $3, $2, $6/1e6, $7, $8}' >> "$WORK/rows"
  echo "# round $round: $(tail -1 "$WORK/rows") (PUT MB/s, GET MB/s, PUT peak MB, GET peak MB, MD5 MB/s, dd MB/s, dd+fdatasync MB/s)" >&2
done

col() { awk -v c="$1" '{print $c}' "$WORK/rows"; }
echo
echo "| figure | min / median / max |"
echo "|---|---|"
echo "| PUT $SIZE_GIB GiB (curl -T, streamed), MB/s | $(col 1 | stats) |"
echo "| GET $SIZE_GIB GiB (curl, to /dev/null), MB/s | $(col 2 | stats) |"
echo "| server peak RSS during PUT, MB | $(col 3 | statsf) |"
echo "| server peak RSS during GET, MB | $(col 4 | statsf) |"
echo "| reference: MD5, one core (openssl speed -evp md5, 64 KiB), MB/s | $(col 5 | stats) |"
echo "| reference: dd $SIZE_GIB GiB to the same filesystem (page cache), MB/s | $(col 6 | stats) |"
echo "| reference: dd $SIZE_GIB GiB + fdatasync, MB/s | $(col 7 | stats) |"
echo "| PUT / min(MD5, dd page cache), round by round | $(awk '{m = $5 < $6 ? $5 : $6; print $1 / m}' "$WORK/rows" | sort -g | awk '{v[NR]=$1} END {printf "%.2f / %.2f / %.2f", v[1], v[int((NR+1)/2)], v[NR]}') |"
echo "| PUT / min(MD5, dd + fdatasync), round by round | $(awk '{m = $5 < $7 ? $5 : $7; print $1 / m}' "$WORK/rows" | sort -g | awk '{v[NR]=$1} END {printf "%.2f / %.2f / %.2f", v[1], v[int((NR+1)/2)], v[NR]}') |"
echo
echo "idle RSS before the transfers: $idle MB; every round's ETag and size verified ($expected)."
