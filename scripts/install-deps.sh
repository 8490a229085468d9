#!/usr/bin/env bash
# Installs every system package jark needs on Debian 12 (run as root).
# Idempotent: when everything is present it only checks and returns.
set -euo pipefail

packages=(
  build-essential make pkg-config
  libsodium-dev        # BLAKE2b-256, Ed25519
  liblmdb-dev          # persistent store
  libjson-c-dev        # JSON test vectors and chain specs (handles full u64 range)
  clang-19 lld-19      # chain programs (RISC-V rv64em) and the libFuzzer targets
  libclang-rt-19-dev   # sanitizer and libFuzzer runtimes for clang-19
  clang                # default clang for `make CC=clang`
  libclang-rt-14-dev   # its sanitizer runtimes (clang is clang-14 on Debian 12): `make asan` links them
  libgnutls28-dev      # the network transport: TLS 1.3 with Ed25519 certificates
  libngtcp2-dev libngtcp2-crypto-gnutls-dev  # QUIC (docs/network.md)
  libmicrohttpd-dev    # the JSON-RPC and /metrics HTTP server (src/rpc)
)
# bench-peers runs the independent PVM @fluffylabs/anan-as under Node.js; a machine
# that already has node and npm (from any source) keeps them.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root to install packages" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
