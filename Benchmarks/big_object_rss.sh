#!/usr/bin/env bash
# Peak server memory while a large object goes up and comes back down.
#
# Starts a release `stowage` on a free 127.0.0.1 port (data in a temp dir on the filesystem of
# $TMPDIR), PUTs SIZE_GIB GiB streamed from /dev/zero with curl (Content-Length given, no file on
# disk), GETs it back to /dev/null, checks size and ETag, and prints throughput and the server's
# peak RSS (VmHWM from /proc, reset before each transfer).
#
#   Benchmarks/big_object_rss.sh            # SIZE_GIB=5
#   SIZE_GIB=1 Benchmarks/big_object_rss.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${STOWAGE_BIN:-$ROOT/.build/release/stowage}
SIZE_GIB=${SIZE_GIB:-5}
[ -x "$BIN" ] || { echo "missing $BIN: run swift build -c release --product stowage" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is required" >&2; exit 1; }

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

curl -sf -X PUT "$URL/rss" >/dev/null
idle=$(hwm_mb)
reset_hwm
put=$(head -c "$BYTES" /dev/zero | curl -sf -T - -H "Content-Length: $BYTES" -H "Transfer-Encoding:" -H "Expect:" "$URL/rss/big" -D "$WORK/put.headers" -o /dev/null -w '%{speed_upload} %{time_total}')
put_rss=$(hwm_mb)
reset_hwm
get=$(curl -sf "$URL/rss/big" -o /dev/null -w '%{speed_download} %{size_download} %{time_total}')
get_rss=$(hwm_mb)

etag=$(grep -i '^etag:' "$WORK/put.headers" | tr -d '\r"' | awk '{print $2}')
expected=$(head -c "$BYTES" /dev/zero | md5sum | awk '{print $1}')
size=$(echo "$get" | awk '{print $2}')
[ "$etag" = "$expected" ] || { echo "ETag $etag != MD5 $expected" >&2; exit 1; }
[ "$size" = "$BYTES" ] || { echo "GET returned $size bytes, expected $BYTES" >&2; exit 1; }

echo "| transfer | size | MB/s | seconds | server peak RSS (MB) |"
echo "|---|---|---|---|---|"
echo "$put" | awk -v s="$SIZE_GIB GiB" -v r="$put_rss" '{printf "| PUT (curl -T, streamed) | %s | %.0f | %.1f | %s |\n", s, $1/1e6, $2, r}'
echo "$get" | awk -v s="$SIZE_GIB GiB" -v r="$get_rss" '{printf "| GET (curl, to /dev/null) | %s | %.0f | %.1f | %s |\n", s, $1/1e6, $3, r}'
echo "idle RSS before the transfers: $idle MB; ETag and size verified ($etag)."
