#!/usr/bin/env bash
# The contract checks of `make lint`: `buf lint` (STANDARD rules; proto/buf.yaml says which
# are left out and why) and `buf breaking` against the descriptor set of the last release
# (proto/releases/, the newest file), so a change that would break another agency's consumer
# or a deployed caller fails here, not in production.
#
# buf is built once from the Go module proxy into PASOKH_TOOLS_DIR (outside the clone, so CI
# keeps it warm), pinned by version.
#
# When a release is cut: `scripts/lint-proto.sh release <version>` writes that release's
# descriptor set, which later changes are then checked against.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '[lint-proto] %s\n' "$*" >&2; }

TOOLS=${PASOKH_TOOLS_DIR:-$HOME/.cache/pasokh/tools}
BUF_VERSION=v1.75.0
BUF="$TOOLS/buf-$BUF_VERSION/buf"

if [ ! -x "$BUF" ]; then
  command -v go >/dev/null || { say "Go is needed to build buf (it is not downloadable here): install golang"; exit 1; }
  say "building buf $BUF_VERSION from the Go module proxy into $TOOLS (once; a few minutes on 2 cores)"
  mkdir -p "$(dirname "$BUF")"
  GOBIN="$(dirname "$BUF")" GOFLAGS=-mod=mod go install "github.com/bufbuild/buf/cmd/buf@$BUF_VERSION"
fi

cd proto
if [ "${1:-}" = release ]; then
  version=${2:?usage: scripts/lint-proto.sh release <version, e.g. v0.2.0>}
  "$BUF" build --exclude-source-info -o "releases/$version.binpb"
  say "wrote proto/releases/$version.binpb; commit it with the release"
  exit 0
fi

last=$(ls releases/*.binpb | sort -V | tail -n 1)
say "buf lint"
"$BUF" lint
say "buf breaking against $last"
"$BUF" breaking --against "$last"
