#!/usr/bin/env bash
# Add meterreader to the desktop menu of the current user (run from the unpacked bundle):
#   ./install-desktop-entry.sh            install ~/.local/share/applications/meterreader.desktop
#   ./install-desktop-entry.sh --remove   remove it again
# The entry starts this folder's meterreader; move the folder, run it again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-"$HOME/.local/share"}
apps="$data/applications"
icons="$data/icons/hicolor"
if [ "${1:-}" = "--remove" ]; then
  rm -f "$apps/meterreader.desktop" "$icons/256x256/apps/meterreader.png" \
        "$icons/scalable/apps/meterreader.svg"
  echo "removed the meterreader menu entry"
  exit 0
fi
mkdir -p "$apps" "$icons/256x256/apps" "$icons/scalable/apps"
install -m 0644 "$here/meterreader.png" "$icons/256x256/apps/meterreader.png"
install -m 0644 "$here/meterreader.svg" "$icons/scalable/apps/meterreader.svg"
# Exec/TryExec point at this folder. The Desktop Entry spec escapes values twice: the Exec
# key's quoting ("..." with \" \` \$ \\ inside, %% for a literal %), then the string escape
# (\\ for \). Done with bash, not sed, so no character of the path (| & \ …) is special.
case "$here" in
  *$'\n'*|*$'\r'*)
    echo "install-desktop-entry.sh: the folder name must not contain a line break" >&2
    exit 1 ;;
esac
bs='\'
try_path=${here//"$bs"/"$bs$bs"}/meterreader
exec_path=${here//"$bs"/"$bs$bs$bs$bs"}
exec_path=${exec_path//'"'/"$bs$bs"'"'}
exec_path=${exec_path//'`'/"$bs$bs"'`'}
exec_path=${exec_path//'$'/"$bs$bs"'$'}
exec_path=${exec_path//'%'/'%%'}/meterreader
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    Exec=meterreader*) printf 'Exec="%s"%s\n' "$exec_path" "${line#Exec=meterreader}" ;;
    TryExec=meterreader*) printf 'TryExec=%s%s\n' "$try_path" "${line#TryExec=meterreader}" ;;
    *) printf '%s\n' "$line" ;;
  esac
done <"$here/meterreader.desktop" >"$apps/meterreader.desktop"
chmod 0644 "$apps/meterreader.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" || true
echo "installed $apps/meterreader.desktop (starts $here/meterreader)"
