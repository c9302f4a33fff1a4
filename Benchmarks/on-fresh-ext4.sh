#!/usr/bin/env bash
# Runs a command with a freshly made ext4 file system mounted on /tmp, in a private mount
# namespace (nothing else on the machine sees it), then removes it.
#
# Why: small-file create rates on a long-lived ext4 without a journal depend on what was
# deleted there recently (the kernel skips recently freed inodes), so the 4 KiB PUT figures of
# two back-to-back runs differ by 2x depending on which ran first. A fresh file system per run
# makes before/after comparisons fair. Needs root. Binaries must live outside /tmp.
#
#   Benchmarks/on-fresh-ext4.sh env STOWAGE_BIN=/work/bin/stowage Benchmarks/compare.sh
#   SIZE_GB=16 JOURNAL=1 Benchmarks/on-fresh-ext4.sh ...   (default 12 GB, no journal like /)
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "on-fresh-ext4.sh: needs root (mount)" >&2; exit 1; }
[ $# -gt 0 ] || { echo "usage: on-fresh-ext4.sh COMMAND [ARGS...]" >&2; exit 2; }
size_gb=${SIZE_GB:-12}
free_gb=$(df --output=avail -BG /var/tmp | tail -1 | tr -dc 0-9)
[ "$free_gb" -gt "$size_gb" ] || { echo "on-fresh-ext4.sh: /var/tmp has ${free_gb} GB free, SIZE_GB=$size_gb" >&2; exit 1; }
IMAGE=$(mktemp /var/tmp/fresh-ext4.XXXXXX.img)
trap 'rm -f "$IMAGE"' EXIT
truncate -s "${size_gb}G" "$IMAGE"
features=()
[ "${JOURNAL:-0}" = 1 ] || features=(-O ^has_journal)
mkfs.ext4 -q -F "${features[@]}" "$IMAGE"
unshare --mount --propagation private -- bash -c '
  mount -o loop,discard "$0" /tmp || exit 1   # discard, like /
  chmod 1777 /tmp
  status=0
  "${@}" || status=$?
  umount /tmp || umount -l /tmp
  exit $status
' "$IMAGE" "$@"
