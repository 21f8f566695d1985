#!/usr/bin/env bash
# Prepare Wine 10 (for the SChannel *server* tests: Wine 8 has no AcceptSecurityContext) in a Debian trixie chroot.
#
# Run as root, after .ci/wine/setup.sh (which provides the Windows CPython and pytest, shared with Wine 8).
# Idempotent and cached under $NATIVETLS_WINE_CACHE/trixie (about 1.5 GB):
#   debootstrap --variant=minbase trixie   (~35 s)
#   apt-get install wine wine64 in it      (~45 s; Wine 10.0)
#   wineboot -u with its own prefix        (~25 s; $NATIVETLS_WINE_CACHE/prefix10)
# Then run-wine10.sh runs python.exe there; test-wine10.sh runs tests/win there against Linux-side peers.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
. "$HERE/env.sh"

log() { printf '[wine10-setup] %s\n' "$*"; }
start=$(date +%s)

if [ "$(id -u)" != 0 ]; then
    echo "setup-wine10.sh needs root (debootstrap, chroot, mount)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive

if ! [ -f "$WINPYTHON_DIR/python.exe" ]; then
    log "no Windows CPython yet: running setup.sh first"
    "$HERE/setup.sh"
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    log "apt-get install debootstrap"
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

if ! [ -f "$WINE10_ROOT/.nativetls-debootstrap-done" ]; then
    log "debootstrap --variant=minbase $WINE10_SUITE $WINE10_ROOT"
    rm -rf "$WINE10_ROOT"
    mkdir -p "$(dirname "$WINE10_ROOT")"
    debootstrap --variant=minbase "$WINE10_SUITE" "$WINE10_ROOT" "$WINE10_MIRROR" > "$WINE10_ROOT.log" 2>&1 || {
        tail -30 "$WINE10_ROOT.log" >&2
        exit 1
    }
    touch "$WINE10_ROOT/.nativetls-debootstrap-done"
fi

if ! [ -x "$WINE10_ROOT/usr/lib/wine/wine64" ]; then
    log "apt-get install wine wine64 (in the chroot)"
    chroot "$WINE10_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        /bin/sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends wine wine64' \
        > "$WINE10_ROOT.apt.log" 2>&1 || { tail -30 "$WINE10_ROOT.apt.log" >&2; exit 1; }
fi
"$HERE/run-wine10.sh" --version

if ! [ -f "$WINE10_PREFIX/system.reg" ]; then
    log "wineboot -u (WINEPREFIX=$WINE10_PREFIX)"
    mkdir -p "$WINE10_PREFIX"
    "$HERE/run-wine10.sh" --wineboot
fi

"$HERE/run-wine10.sh" -c "import sys, ctypes; f = ctypes.WinDLL('ntdll').wine_get_version; f.restype = ctypes.c_char_p
print(sys.version); print('Wine', f().decode())"
log "ready in $(( $(date +%s) - start ))s: $WINE10_ROOT ($(du -sh "$WINE10_ROOT" 2>/dev/null | cut -f1))"
