#!/usr/bin/env bash
# Set up everything meterreader needs on a fresh Debian/Ubuntu machine, then run it.
#   scripts/dev.sh app  [ARGS]   install, then start the application on the built-in simulator
#                                (the GUI when a display exists, else the command-line demo)
#   scripts/dev.sh test [ARGS]   install, then run the whole test suite (ARGS go to pytest)
#   scripts/dev.sh setup         install only
# Idempotent: apt packages are installed only when missing, the venv is reused while
# pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
PY=${PYTHON:-python3}

APT_PACKAGES=(libgl1 libegl1 libglib2.0-0 libdbus-1-3 libfontconfig1 fonts-dejavu-core
  libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
  libxcb-render-util0 libxcb-shape0 xvfb xauth socat poppler-utils libxml2-utils binutils)
# The bundle build (installer/build.sh, PyInstaller) needs objdump (binutils, above) and the
# shared libpython: Debian's own python3 is linked statically and ships it as libpython3.X.
# Only for a distribution python (a pyenv or self-built one has its own, or none to install).
py_exe=$(command -v "$PY" 2>/dev/null || true)
if [ -n "$py_exe" ] && command -v dpkg-query >/dev/null 2>&1 \
    && dpkg-query -S "$(readlink -f "$py_exe")" >/dev/null 2>&1; then
  APT_PACKAGES+=("libpython$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')")
fi

log() { printf '[meterreader setup] %s\n' "$*" >&2; }

install_system_packages() {
  command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 || {
    log "not a Debian-family system: install the equivalents of ${APT_PACKAGES[*]} yourself"
    return 0
  }
  local missing=() p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  # Debian's own python3 ships venv without ensurepip until python3-venv is installed.
  if ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then missing+=(python3-venv); fi
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing system packages: ${missing[*]}"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

install_python_packages() {
  local stamp="$VENV/.meterreader-installed" want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  # A venv made before python3-venv was installed has a python but no pip: start again.
  if [ -d "$VENV" ] && ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    log "removing the unusable $VENV (no pip in it)"
    rm -rf "$VENV"
  fi
  [ -x "$VENV/bin/python" ] || { log "creating $VENV"; "$PY" -m venv "$VENV"; }
  log "installing meterreader and its dependencies into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q -e ".[dev]"
  echo "$want" >"$stamp"
}

cmd=${1:-app}
[ $# -gt 0 ] && shift
install_system_packages
install_python_packages
case "$cmd" in
  setup) log "ready: $VENV" ;;
  app)
    # The desktop application connected to the built-in simulator; without a display (a server,
    # CI) the command-line demo reads the same simulator instead.
    if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || [ "${QT_QPA_PLATFORM:-}" = "offscreen" ]; then
      exec "$VENV/bin/meterreader-gui" --demo "$@"
    fi
    log "no display: running the command-line demo (set DISPLAY, or use xvfb-run, for the GUI)"
    exec "$VENV/bin/meterreader" demo "$@" ;;
  test)
    shared=${MR_SHARED_DIR:-"$ROOT/../shared"}
    if [ ! -f "$shared/vectors/dlms_vectors.json" ]; then
      log "the tests need the shared reference data (vectors/dlms_vectors.json) in $shared:"
      log "clone beside ../shared or set MR_SHARED_DIR"
      exit 1
    fi
    cd "$ROOT" && exec env QT_QPA_PLATFORM=offscreen "$VENV/bin/python" -m pytest -q "$@" ;;
  *) log "unknown command '$cmd' (use app, test or setup)"; exit 2 ;;
esac
