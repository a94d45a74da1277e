#!/usr/bin/env bash
# Build the Linux bundle of meterreader and pack it.
#   bash installer/build.sh [--no-tar] [--clean]
# 0. Checks first: PyInstaller, objdump (binutils) and a shared libpython (Debian: libpython3.X).
# 1. PyInstaller (installer/meterreader.spec) makes the one-folder bundle DIST/meterreader/
#    (DIST: $METERREADER_DIST, default dist/; work files in $METERREADER_WORK, default
#    build/pyinstaller/, reused by the next build).
# 2. Debug symbols are stripped from libpython and the standard library's extension modules,
#    the symbol table from cryptography's Rust extension.
# 3. meterreader-cli (a symbolic link to meterreader: the command line), the .desktop file, the
#    icon and install-desktop-entry.sh are added.
# 4. DIST/meterreader/meterreader --selftest must pass (GUI offscreen, demo meter, clock, object
#    list); otherwise nothing is packed and the script fails.
# 5. DIST/meterreader-<version>-linux-x86_64.tar.gz is written (not with --no-tar; gzip level
#    $METERREADER_GZIP_LEVEL, default 6: 1 packs in a third of the time, 10 % bigger).
# Needs the dev extra (.venv from scripts/dev.sh, or $PYTHON with PyInstaller installed).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-"$ROOT/.venv/bin/python"}
DIST=${METERREADER_DIST:-"$ROOT/dist"}
WORK=${METERREADER_WORK:-"$ROOT/build/pyinstaller"}
pack=1
clean=()
for arg in "$@"; do
  case "$arg" in
    --no-tar) pack=0 ;;
    --clean) clean=(--clean) ;;
    *) echo "usage: installer/build.sh [--no-tar] [--clean]" >&2; exit 2 ;;
  esac
done
log() { printf '[meterreader build] %s\n' "$*" >&2; }
started=$(date +%s)

"$PY" -c 'import PyInstaller' 2>/dev/null || {
  log "PyInstaller is missing: run 'bash scripts/dev.sh setup' (installs the dev extra)"
  exit 1
}
# PyInstaller reads the libraries' dependencies with objdump and embeds the shared libpython;
# without them it fails late with an obscure message.
command -v objdump >/dev/null 2>&1 || {
  log "objdump is missing (PyInstaller needs it): install binutils (sudo apt-get install" \
      "binutils, or bash scripts/dev.sh setup)"
  exit 1
}
libpython=$("$PY" -c '
from PyInstaller.depend.bindepend import get_python_library_path
try:
    print(get_python_library_path() or "")
except Exception:  # PythonLibraryNotFoundError
    print("")' 2>/dev/null || true)
if [ -z "$libpython" ]; then
  minor=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  log "no shared libpython$minor for $PY (PyInstaller embeds it): on Debian/Ubuntu install" \
      "libpython$minor (sudo apt-get install libpython$minor, or bash scripts/dev.sh setup);" \
      "a self-built Python needs ./configure --enable-shared"
  exit 1
fi
version=$("$PY" -c 'import meterreader; print(meterreader.__version__)')
arch=$(uname -m)
bundle="$DIST/meterreader"
log "building meterreader $version ($arch) into $bundle"

rm -rf "$bundle"
METERREADER_ICON_DIR="$WORK/icons" "$PY" -m PyInstaller --noconfirm --log-level WARN \
  "${clean[@]}" --distpath "$DIST" --workpath "$WORK" installer/meterreader.spec

# libpython and lib-dynload come with DWARF debug info (about 20 MB); the wheels' libraries
# are already stripped (and some are patched by auditwheel, so they are left alone).
if command -v strip >/dev/null 2>&1; then
  find "$bundle/_internal" -maxdepth 1 -name 'libpython3*.so*' -type f \
    -exec strip --strip-debug {} +
  find "$bundle/_internal" -path '*/lib-dynload/*.so' -type f -exec strip --strip-debug {} +
  # cryptography's Rust extension still carries its full symbol table (about 3 MB);
  # --strip-unneeded keeps the dynamic symbols the loader needs (the slow test reads an HLS
  # association with the bundle, which runs AES through it). numpy.libs/ (OpenBLAS, gfortran)
  # must not be stripped: auditwheel's patchelf added load segments that GNU strip misaligns
  # ("ELF load command address/offset not page-aligned" when numpy is imported).
  find "$bundle/_internal" -type f -path '*/cryptography/hazmat/bindings/_rust*.so' \
    -exec strip --strip-unneeded {} +
else
  log "no 'strip' (binutils): debug symbols kept"
fi

ln -sfn meterreader "$bundle/meterreader-cli"
install -m 0644 installer/meterreader.desktop "$bundle/meterreader.desktop"
install -m 0644 "$WORK/icons/meterreader.png" "$bundle/meterreader.png"
install -m 0644 resources/icons/meterreader.svg "$bundle/meterreader.svg"
install -m 0755 installer/install-desktop-entry.sh "$bundle/install-desktop-entry.sh"

size=$(du -sm "$bundle" | cut -f1)
log "bundle: $bundle, ${size} MB"

log "selftest: $bundle/meterreader --selftest"
if ! "$bundle/meterreader" --selftest --timeout 60; then
  log "selftest FAILED: not packing"
  exit 1
fi

if [ "$pack" -eq 1 ]; then
  tarball="$DIST/meterreader-$version-linux-$arch.tar.gz"
  tar -C "$DIST" -cf - meterreader | gzip "-${METERREADER_GZIP_LEVEL:-6}" >"$tarball.tmp"
  mv -f "$tarball.tmp" "$tarball"
  log "packed $tarball ($(du -sm "$tarball" | cut -f1) MB)"
fi
log "done in $(( $(date +%s) - started )) s"
