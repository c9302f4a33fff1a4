#!/usr/bin/env bash
# Installs what Stowage needs on Debian 12 beyond the Swift toolchain: the system libraries it
# links (apt) and, for the end-to-end tests, Chromium (apt) and a Python virtualenv with boto3,
# the AWS CLI and pytest.
# Sourced by scripts/serve and scripts/test; safe to run again (it only installs what is missing).
set -euo pipefail

STOWAGE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STOWAGE_VENV="${STOWAGE_VENV:-$STOWAGE_ROOT/.build/e2e-venv}"

system_packages=(pkg-config libssl-dev libxml2-dev libsqlite3-dev libisal-dev
    # the QUIC transport between nodes (ngtcp2 0.12 with its GnuTLS helper, nghttp3 0.8)
    libngtcp2-dev libngtcp2-crypto-gnutls-dev libnghttp3-dev libgnutls28-dev
    # static archives for scripts/build-release (libxml2-dev brings libicu-dev)
    liblzma-dev zlib1g-dev)
python_system_packages=(python3 python3-venv python3-pip)
# Only for the end-to-end tests: curl drives raw-header cases, test_browser_cors.py a headless browser,
# openssl makes the HTTPS tests' certificate, prlimit (util-linux) caps descriptors.
browser_test_packages=(curl chromium openssl util-linux)

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else echo "need root to run: $*" >&2; return 1; fi
}

missing_debs() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    echo "${missing[@]:-}"
}

install_debs() {
    local missing
    missing=$(missing_debs "$@")
    [ -z "$missing" ] && return 0
    echo "==> apt-get install $missing"
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing \
        || { as_root apt-get update -q && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing; }
}

require_swift() {
    if ! command -v swift >/dev/null; then
        [ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
    fi
    command -v swift >/dev/null || { echo "Swift 6.2 or newer must be on PATH (https://www.swift.org/install/linux/)" >&2; exit 1; }
}

install_system_packages() {
    require_swift
    install_debs "${system_packages[@]}"
}

install_python_packages() {
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then install_debs "${python_system_packages[@]}"; fi
    install_debs "${browser_test_packages[@]}"
    if [ ! -x "$STOWAGE_VENV/bin/python" ]; then
        echo "==> python3 -m venv $STOWAGE_VENV"
        python3 -m venv "$STOWAGE_VENV"
    fi
    if ! "$STOWAGE_VENV/bin/python" -c 'import boto3, pytest, xdist, pytest_timeout, awscli, prometheus_client' 2>/dev/null; then
        echo "==> pip install -r Tests/e2e/requirements.txt"
        "$STOWAGE_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$STOWAGE_ROOT/Tests/e2e/requirements.txt"
    fi
    export PATH="$STOWAGE_VENV/bin:$PATH"
}
