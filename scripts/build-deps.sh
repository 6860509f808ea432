#!/usr/bin/env bash
# What compiling Pasokh needs from the system besides Rust: a C/C++ toolchain
# and make for librdkafka (built from source by rdkafka-sys), and OpenSSL's
# headers so its Kafka client speaks TLS. Installed from Debian when missing;
# a no-op otherwise. Also gives the installed Rust toolchain the name
# rust-toolchain.toml pins. Called by `make build`, `make lint` and every script that builds.
set -euo pipefail
say() { printf '[build-deps] %s\n' "$*" >&2; }

# rust-toolchain.toml pins the installed toolchain by its version. A fresh rustup
# knows it only as `stable`, and would try to download "1.95.0" (there is no
# network for that), so the installed one gets the version's name as a link.
toolchain_name() { sed -n 's/^channel = "\(.*\)"$/\1/p' "$(dirname "$0")/../rust-toolchain.toml"; }
ensure_toolchain() {
  command -v rustup >/dev/null || return 0
  local want host installed home
  want=$(toolchain_name)
  RUSTUP_TOOLCHAIN=stable rustup toolchain list | grep -q "^$want-" && return 0
  installed=$(RUSTUP_TOOLCHAIN=stable rustc --version | awk '{print $2}')
  if [ "$installed" != "$want" ]; then
    say "rust-toolchain.toml asks for $want, but the installed stable toolchain is $installed"
    exit 1
  fi
  host=$(RUSTUP_TOOLCHAIN=stable rustc -vV | sed -n 's/^host: //p')
  home=${RUSTUP_HOME:-$HOME/.rustup}
  ln -sfn "stable-$host" "$home/toolchains/$want-$host"
  say "the installed stable toolchain is $want: named it so for rust-toolchain.toml"
}
ensure_toolchain

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
