# Sourced by scripts that need Python tools from PyPI (api-fuzz.sh, helm-check.sh):
# `project_venv DIR` makes sure DIR is a working virtualenv, installing Debian's
# python3-venv first when the system python lacks it (Debian keeps venv apart).
project_venv() {
  local venv="$1"
  "$venv/bin/python" -c '' 2>/dev/null && return 0
  if ! python3 -m venv "$venv" 2>/dev/null; then
    printf '[venv] python3 venv support missing; installing python3-venv from Debian\n' >&2
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null;
    else sudo apt-get update -qq && sudo apt-get install -y -qq python3-venv >/dev/null; fi
    python3 -m venv "$venv"
  fi
}
