#!/usr/bin/env bash
# The station's two set-up commands (see README):
#   ./run.sh demo   installs everything that is missing, then runs `station demo`
#   ./run.sh test   installs everything that is missing, then runs the whole test suite
# Installing is idempotent: a machine that already has everything spends a second here.
set -euo pipefail
cd "$(dirname "$0")"
VENV=.venv
STAMP="$VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)"

install_system_packages() {
  # pyrealsense2 and open3d load libusb-1.0 at import time;
  local missing=()
  # chromium: the headless browser that checks the HTML reports render (tests).
  for pkg in libusb-1.0-0 chromium; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing system packages: ${missing[*]}"
    local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

install_python_packages() {
  if [ ! -x "$VENV/bin/python" ]; then
    echo "creating virtual environment $VENV (Python 3.11)"
    python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
  fi
  if [ ! -f "$STAMP" ]; then
    echo "installing the station and its pinned dependencies into $VENV (first time: a few minutes)"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e .
    rm -f "$VENV"/.installed-*
    touch "$STAMP"
  fi
}

install_system_packages
install_python_packages

cmd="${1:-demo}"; shift || true
case "$cmd" in
  demo) exec "$VENV/bin/station" demo "$@" ;;
  # two workers (CI has 2 cores): each test file runs on one of them, the real-time capture
  # tests all on the same one (tests/conftest.py); `./run.sh test -n 0` runs one by one
  test) exec "$VENV/bin/python" -m pytest -n 2 --dist loadfile "$@" ;;
  *) echo "usage: ./run.sh demo|test [args]" >&2; exit 2 ;;
esac
