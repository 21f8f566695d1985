#!/usr/bin/env bash
# Run the Windows CPython prepared by setup.sh under Wine: `.ci/wine/run.sh -m pytest tests/win -q`.
#
# The project root is put on PYTHONPATH (as a Windows path through Wine's Z: drive). Output always goes through
# a pipe: Windows Python under Wine 8 dies when its stdout is redirected to a regular file. The exit status is
# python.exe's.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
. "$HERE/env.sh"
ROOT="$(cd "$HERE/../.." && pwd)"

if ! [ -f "$WINPYTHON_DIR/python.exe" ]; then
    echo "no Windows Python in $WINPYTHON_DIR: run .ci/wine/setup.sh first" >&2
    exit 2
fi

to_windows_path() { printf 'Z:%s' "${1//\//\\}"; }

export PYTHONPATH="$(to_windows_path "$ROOT")${PYTHONPATH:+;$PYTHONPATH}"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTHONIOENCODING=utf-8
# Wine passes the environment through; WINEPATH-free: python.exe is started by its Unix path.
set +e
"$WINE" "$WINPYTHON_DIR/python.exe" "$@" 2>&1 | cat
status=${PIPESTATUS[0]}
set -e
exit "$status"
