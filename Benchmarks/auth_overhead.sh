#!/usr/bin/env bash
# What authentication costs: the same signed 4 KiB GET and PUT load (stowage bench, SigV4 with
# a signed payload hash, as SDKs send over plain HTTP) against one server with `auth.enabled`
# false (signatures ignored, everyone is the owner) and one with it true (every signature
# verified, every request authorized; the bucket has a policy, so evaluation runs too),
# interleaved A B A B so machine noise hits both alike.
#
#   Benchmarks/auth_overhead.sh               # ROUNDS=3 SECONDS_PER_RUN=8 CONNECTIONS=16
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${STOWAGE_BIN:-$ROOT/.build/release/stowage}
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-8}
CONNECTIONS=${CONNECTIONS:-16}
[ -x "$BIN" ] || { echo "missing $BIN: run scripts/build-release" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stowage-auth.XXXXXX")
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

start() { # name auth-enabled → prints the port
    local name=$1 enabled=$2
    cat > "$WORK/$name.json" <<JSON
{"auth": {"enabled": $enabled, "credentials": [{"accessKeyId": "BENCHKEY", "secretAccessKey": "bench-secret"}]},
 "logging": {"level": "error"}}
JSON
    "$BIN" serve --port 0 --address 127.0.0.1 --directory "$WORK/$name" --clean-slate --config "$WORK/$name.json" > "$WORK/$name.out" 2> "$WORK/$name.err" &
    PIDS+=($!)
    for _ in $(seq 200); do
        grep -q "listening" "$WORK/$name.out" 2>/dev/null && break
        sleep 0.05
    done
    sed -n 's#.*http://127.0.0.1:\([0-9]*\).*#\1#p' "$WORK/$name.out"
}
OFF=$(start off false)
ON=$(start on true)

bench() { # port operation [extra flags]
    "$BIN" bench --endpoint "http://127.0.0.1:$1" --bucket bench --op "$2" --size 4KiB \
        --concurrency "$CONNECTIONS" --duration "$SECONDS_PER_RUN" --objects 1000 \
        --access-key BENCHKEY --secret-key bench-secret --region us-east-1 --json "${@:3}"
}
# Seed both (bucket + objects), and give the authenticated bucket a policy to evaluate.
for port in "$OFF" "$ON"; do bench "$port" get --duration 1 > /dev/null; done
python3 - "$ON" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                  aws_access_key_id="BENCHKEY", aws_secret_access_key="bench-secret")
s3.put_bucket_policy(Bucket="bench", Policy='{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::bench/locked/*"}]}')
PY

printf "%-5s %-4s %12s %12s\n" round op "auth off/s" "auth on/s"
for round in $(seq "$ROUNDS"); do
    for op in get put; do
        off=$(bench "$OFF" "$op" --no-prepare | python3 -c 'import json,sys; r=json.load(sys.stdin); print(round(r["ops_per_s"]) if r["errors"] == 0 else "errors:%d" % r["errors"])')
        on=$(bench "$ON" "$op" --no-prepare | python3 -c 'import json,sys; r=json.load(sys.stdin); print(round(r["ops_per_s"]) if r["errors"] == 0 else "errors:%d" % r["errors"])')
        printf "%-5s %-4s %12s %12s\n" "$round" "$op" "$off" "$on"
    done
done
