#!/usr/bin/env bash
# Large-object GET, Stowage against nginx's static-file GET, interleaved A B A B.
#
# http-peers.sh GETs its big object right after PUTting it, so each server's GET competes with
# the kernel writing back the pages its own PUT just dirtied, and the faster PUT leaves more of
# them. This script separates the two: the same SIZE_MB object is PUT to both servers once,
# then every GET round starts after a `sync`, and also without one, to show the difference.
#
#   Benchmarks/big_get_ab.sh                 # SIZE_MB=1024 REPS=9
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${STOWAGE_BIN:-$ROOT/.build/release/stowage}
SIZE_MB=${SIZE_MB:-1024}
REPS=${REPS:-9}
[ -x "$BIN" ] || { echo "missing $BIN: run scripts/build-release" >&2; exit 1; }
for tool in curl nginx; do command -v $tool >/dev/null || { echo "$tool is required (apt-get install nginx curl)" >&2; exit 1; }; done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stowage-getab.XXXXXX")
chattr +T "$WORK" 2>/dev/null || true
mkdir -p "$WORK/www/bench" "$WORK/tmp" "$WORK/data"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
NGINX_PORT=$(free_port)
cat > "$WORK/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  client_body_temp_path $WORK/tmp;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/www;
    client_max_body_size 0;
    location / { dav_methods PUT; }
  }
}
EOF
chmod -R a+rwX "$WORK"
nginx -c "$WORK/nginx.conf"
"$BIN" serve --port 0 --address 127.0.0.1 --directory "$WORK/data" --silent > "$WORK/out" 2>"$WORK/err" &
PID=$!
cleanup() {
  kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  sleep 0.2; rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 1 100); do grep -q listening "$WORK/out" 2>/dev/null && break; sleep 0.05; done
PORT=$(grep -o ':[0-9]*$' "$WORK/out" | tr -d :)

head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom > "$WORK/object"
curl -sf -X PUT "http://127.0.0.1:$PORT/bench" >/dev/null
curl -sf -T "$WORK/object" "http://127.0.0.1:$PORT/bench/object" -o /dev/null
curl -sf -T "$WORK/object" "http://127.0.0.1:$NGINX_PORT/bench/object" -o /dev/null
get() { curl -sf "$1" -o /dev/null -w '%{speed_download}' | awk '{printf "%.0f", $1 / 1e6}'; }

echo "# GET ${SIZE_MB} MiB, $REPS rounds interleaved — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$WORK/rows"
for round in $(seq 1 "$REPS"); do
  c0=$(awk "{print \$14+\$15}" /proc/$PID/stat)
  sync; n=$(get "http://127.0.0.1:$NGINX_PORT/bench/object")
  sync; c1=$(awk "{print \$14+\$15}" /proc/$PID/stat); s=$(get "http://127.0.0.1:$PORT/bench/object"); c2=$(awk "{print \$14+\$15}" /proc/$PID/stat)
  echo "# stowage CPU ticks: during nginx GET $((c1 - c0)), during own GET $((c2 - c1))" >&2
  echo "$n $s" >> "$WORK/rows"
  echo "# round $round: nginx $n MB/s, stowage $s MB/s" >&2
done
stats() { sort -g | awk '{v[NR]=$1} END {printf "%.2f / %.2f / %.2f", v[1], v[int((NR+1)/2)], v[NR]}'; }
echo
echo "| figure | min / median / max |"
echo "|---|---|"
echo "| nginx GET, MB/s | $(awk '{print $1}' "$WORK/rows" | stats) |"
echo "| Stowage GET, MB/s | $(awk '{print $2}' "$WORK/rows" | stats) |"
echo "| Stowage / nginx, round by round | $(awk '{print $2 / $1}' "$WORK/rows" | stats) |"
