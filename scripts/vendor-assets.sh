#!/usr/bin/env bash
# The web service's third-party assets, self-hosted (no CDN at runtime) and
# pinned: the Vazirmatn font (OFL) and htmx (0BSD), taken from their npm
# tarballs into services/web/assets/vendor/, which is committed.
#
#   scripts/vendor-assets.sh          fetch each pinned tarball with `npm pack`,
#                                     check its sha512 against the integrity
#                                     pinned below, extract the files the site
#                                     uses and rewrite vendor/SOURCES.md
#   scripts/vendor-assets.sh --check  offline: the committed files' sha256 and
#                                     provenance match SOURCES.md and the pins
#
# To move a package to a new version: change its version and integrity below
# (`npm view <pkg>@<version> dist.integrity`), run this script, review the diff.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENDOR=services/web/assets/vendor
SOURCES="$VENDOR/SOURCES.md"
say() { printf '[vendor-assets] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

# package, exact version, tarball integrity (as the registry's dist.integrity)
PACKAGES=(
  "vazirmatn 33.0.3 sha512-fbjNc0CMjazZpIegWzz9OHGzI1APFboT+x7ZecXlUCtDe/nkyx7gtCTZnWS/+eeXG7fbfXymCPKJI8EsnM3iqw=="
  "htmx.org 2.0.11 sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA=="
)
# vendored file, package, path inside the tarball
FILES=(
  "vazirmatn-ui-nl-400.woff2 vazirmatn package/misc/UI-Non-Latin/fonts/webfonts/Vazirmatn-UI-NL-Regular.woff2"
  "vazirmatn-ui-nl-700.woff2 vazirmatn package/misc/UI-Non-Latin/fonts/webfonts/Vazirmatn-UI-NL-Bold.woff2"
  "vazirmatn-OFL.txt         vazirmatn package/OFL.txt"
  "htmx.min.js               htmx.org  package/dist/htmx.min.js"
  "htmx-LICENSE.txt          htmx.org  package/LICENSE"
)

pin_of() { # pin_of PKG: sets PIN_VER and PIN_INTEG
  local p name ver integ
  for p in "${PACKAGES[@]}"; do
    read -r name ver integ <<<"$p"
    [ "$name" = "$1" ] && { PIN_VER=$ver; PIN_INTEG=$integ; return 0; }
  done
  die "no pin for package $1 (fix PACKAGES in $0)"
}
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

check() {
  [ -f "$SOURCES" ] || die "$SOURCES is missing; run scripts/vendor-assets.sh"
  local failed=0 row file pkg path ver integ sum actual lpkg lver lpath linteg lsum
  declare -A listed=()
  # SOURCES.md rows: | `file` | `package` | `version` | `path` | `integrity` | `sha256` |
  while IFS='|' read -r _ file pkg ver path integ sum _; do
    file=$(tr -d '` ' <<<"$file"); pkg=$(tr -d '` ' <<<"$pkg"); ver=$(tr -d '` ' <<<"$ver")
    path=$(tr -d '` ' <<<"$path"); integ=$(tr -d '` ' <<<"$integ"); sum=$(tr -d '` ' <<<"$sum")
    listed[$file]="$pkg $ver $path $integ $sum"
  done < <(grep -E '^\| `' "$SOURCES")

  for row in "${FILES[@]}"; do
    read -r file pkg path <<<"$row"
    pin_of "$pkg"
    if [ -z "${listed[$file]:-}" ]; then
      say "MISMATCH: $file is not listed in $SOURCES"; failed=1; continue
    fi
    read -r lpkg lver lpath linteg lsum <<<"${listed[$file]}"
    unset "listed[$file]"
    if [ "$lpkg $lver $lpath $linteg" != "$pkg $PIN_VER $path $PIN_INTEG" ]; then
      say "MISMATCH: $file: SOURCES.md says $lpkg@$lver $lpath ($linteg),"
      say "          the script pins $pkg@$PIN_VER $path ($PIN_INTEG); re-run scripts/vendor-assets.sh"
      failed=1
    fi
    if [ ! -f "$VENDOR/$file" ]; then
      say "MISMATCH: $VENDOR/$file is missing"; failed=1; continue
    fi
    actual=$(sha256_of "$VENDOR/$file")
    if [ "$actual" != "$lsum" ]; then
      say "MISMATCH: $VENDOR/$file has sha256 $actual, SOURCES.md records $lsum"; failed=1
    fi
  done
  for file in "${!listed[@]}"; do
    say "MISMATCH: $SOURCES lists $file, which the script does not vendor"; failed=1
  done
  for file in "$VENDOR"/*; do
    file=${file##*/}
    [ "$file" = SOURCES.md ] && continue
    printf '%s\n' "${FILES[@]}" | awk '{print $1}' | grep -qxF "$file" \
      || { say "MISMATCH: $VENDOR/$file is not a vendored file (not in SOURCES.md)"; failed=1; }
  done
  [ "$failed" = 0 ] || die "vendored assets differ from $SOURCES (see above)"
  say "OK: ${#FILES[@]} files in $VENDOR match $SOURCES"
}

fetch() {
  command -v npm >/dev/null || die "npm is needed (apt-get install npm)"
  local p name ver integ tgz actual row file pkg path
  tmp=$(mktemp -d)   # global: the EXIT trap runs after fetch returns
  trap 'rm -rf "$tmp"' EXIT
  declare -A tarball=()
  for p in "${PACKAGES[@]}"; do
    read -r name ver integ <<<"$p"
    say "fetching $name@$ver"
    tgz=$(cd "$tmp" && npm pack "$name@$ver" --ignore-scripts --silent --no-audit --no-fund | tail -n1)
    [ -f "$tmp/$tgz" ] || die "npm pack $name@$ver produced no tarball"
    actual=$(node -e 'const c=require("crypto"),f=require("fs");
      process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$tmp/$tgz")
    if [ "$actual" != "$integ" ]; then
      say "INTEGRITY MISMATCH for $name@$ver"
      say "  pinned: $integ"
      say "  got:    $actual"
      die "refusing to vendor $name@$ver"
    fi
    say "  integrity ok ($integ)"
    mkdir -p "$tmp/$name"
    tarball[$name]="$tmp/$tgz"
  done

  mkdir -p "$tmp/out"
  cat >"$tmp/out/SOURCES.md" <<'EOF'
# Vendored third-party assets

Written by `scripts/vendor-assets.sh`; do not edit by hand. Each file is taken
from the npm tarball of the package below, whose sha512 was checked against the
integrity pinned in the script. `scripts/vendor-assets.sh --check` re-checks the
sha256 column offline.

| file | package | version | path in tarball | tarball integrity | sha256 |
|------|---------|---------|-----------------|-------------------|--------|
EOF
  for row in "${FILES[@]}"; do
    read -r file pkg path <<<"$row"
    pin_of "$pkg"; ver=$PIN_VER; integ=$PIN_INTEG
    tar -xzf "${tarball[$pkg]}" -C "$tmp/$pkg" --no-same-owner --no-same-permissions "$path" \
      || die "$path is not in $pkg@$ver"
    install -m 0644 "$tmp/$pkg/$path" "$tmp/out/$file"
    # shellcheck disable=SC2016  # the backticks are Markdown
    printf '| `%s` | `%s` | `%s` | `%s` | `%s` | `%s` |\n' \
      "$file" "$pkg" "$ver" "$path" "$integ" "$(sha256_of "$tmp/out/$file")" >>"$tmp/out/SOURCES.md"
  done

  mkdir -p "$VENDOR"
  for row in "${FILES[@]}"; do
    read -r file _ <<<"$row"
    install -m 0644 "$tmp/out/$file" "$VENDOR/$file"
    say "  $VENDOR/$file ($(stat -c %s "$VENDOR/$file") bytes)"
  done
  install -m 0644 "$tmp/out/SOURCES.md" "$SOURCES"
  say "wrote $SOURCES"
  check
}

case "${1:-}" in
  "") fetch ;;
  --check) check ;;
  *) say "usage: $0 [--check]"; exit 2 ;;
esac
