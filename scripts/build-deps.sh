#!/usr/bin/env bash
# What compiling Pasokh needs from the system besides Rust: a C/C++ toolchain
# and make for librdkafka (built from source by rdkafka-sys), and OpenSSL's
# headers so its Kafka client speaks TLS. Installed from Debian when missing;
# a no-op otherwise. Called by `make build` and `make lint`.
set -euo pipefail
say() { printf '[build-deps] %s\n' "$*" >&2; }

missing=()
command -v cc >/dev/null || missing+=(gcc)
command -v c++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
command -v pkg-config >/dev/null || missing+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
[ ${#missing[@]} -eq 0 ] && exit 0

say "installing ${missing[*]} from Debian"
if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
"${SUDO[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
