#!/usr/bin/env bash
# Run the Windows CPython under Wine 10 inside the trixie chroot made by setup-wine10.sh (root only):
#   .ci/wine/run-wine10.sh -m pytest tests/win -q        (as run.sh, which uses the host's Wine 8)
#   .ci/wine/run-wine10.sh --wineboot                    (initialise the Wine 10 prefix)
#   .ci/wine/run-wine10.sh --version
#
# The chroot sees the same paths as the host: /proc, /dev, /tmp (peerd's certificates), the project root and the
# cache are bind-mounted at their own paths for the duration of the call, and unmounted afterwards. The network
# is the host's (peerd and its peers listen on the host's 127.0.0.1). Output is piped, as in run.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
. "$HERE/env.sh"
ROOT="$(cd "$HERE/../.." && pwd)"

if ! [ -x "$WINE10_ROOT/usr/lib/wine/wine64" ]; then
    echo "no Wine 10 chroot in $WINE10_ROOT: run .ci/wine/setup-wine10.sh first (as root)" >&2
    exit 2
fi

mounted=()
bind() {  # bind SOURCE at the same path inside the chroot, unless it is already mounted there
    local target="$WINE10_ROOT$1"
    mkdir -p "$target"
    if ! mountpoint -q "$target"; then
        mount "${@:2}" "$1" "$target"
        mounted=("$target" "${mounted[@]}")
    fi
}
cleanup() {
    for target in "${mounted[@]}"; do
        umount -R "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || true
    done
}
trap cleanup EXIT

mkdir -p "$WINE10_ROOT/proc"
if ! mountpoint -q "$WINE10_ROOT/proc"; then
    mount -t proc proc "$WINE10_ROOT/proc"
    mounted=("$WINE10_ROOT/proc" "${mounted[@]}")
fi
bind /dev --rbind
bind /tmp --bind
bind "$NATIVETLS_WINE_CACHE" --bind
bind "$ROOT" --bind

to_windows_path() { printf 'Z:%s' "${1//\//\\}"; }
run_env=(/usr/bin/env -i HOME=/root PATH=/usr/bin:/bin LANG=C.UTF-8 WINEPREFIX="$WINE10_PREFIX"
         WINEDEBUG="$WINEDEBUG" WINEDLLOVERRIDES="$WINEDLLOVERRIDES" WINEARCH=win64
         XDG_RUNTIME_DIR=/tmp/nativetls-wine10-xdg)
mkdir -p -m 700 /tmp/nativetls-wine10-xdg
for name in NATIVETLS_PEERD CI; do  # what the tests read from the environment
    [ -n "${!name:-}" ] && run_env+=("$name=${!name}")
done

set +e
if [ "${1:-}" = "--version" ]; then
    chroot "$WINE10_ROOT" "${run_env[@]}" /usr/lib/wine/wine64 --version 2>&1 | cat
    status=${PIPESTATUS[0]}
elif [ "${1:-}" = "--wineboot" ]; then
    chroot "$WINE10_ROOT" "${run_env[@]}" /bin/sh -c 'wineboot -u; wineserver -w' 2>&1 | cat
    status=${PIPESTATUS[0]}
else
    chroot "$WINE10_ROOT" "${run_env[@]}" PYTHONPATH="$(to_windows_path "$ROOT")" PYTHONUNBUFFERED=1 \
        PYTHONDONTWRITEBYTECODE=1 PYTHONIOENCODING=utf-8 /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$ROOT" \
        /usr/lib/wine/wine64 "$WINPYTHON_DIR/python.exe" "$@" 2>&1 | cat
    status=${PIPESTATUS[0]}
    chroot "$WINE10_ROOT" "${run_env[@]}" /usr/lib/wine/wineserver -k >/dev/null 2>&1
fi
set -e
exit "$status"
