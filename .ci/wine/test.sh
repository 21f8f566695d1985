#!/usr/bin/env bash
# Run the Windows test suite (tests/win) in a Windows CPython under Wine, against Linux-side peers.
#   .ci/wine/setup.sh           first (idempotent)
#   .ci/wine/test.sh [pytest args]
# peerd.py (Linux Python with cryptography) makes the certificates and starts openssl s_server on request.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

state="$(mktemp -d)"
python3 "$HERE/peerd.py" "$state/port" > "$state/peerd.log" 2>&1 &
peerd_pid=$!
cleanup() {
    kill "$peerd_pid" 2>/dev/null || true
    wait "$peerd_pid" 2>/dev/null || true
    rm -rf "$state"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    [ -s "$state/port" ] && break
    if ! kill -0 "$peerd_pid" 2>/dev/null; then
        echo "peerd.py failed to start:" >&2
        cat "$state/peerd.log" >&2
        exit 1
    fi
    sleep 0.1
done
export NATIVETLS_PEERD="$(cat "$state/port")"

# run.sh (the host's Wine 8) unless test-wine10.sh chose run-wine10.sh (Wine 10 in the trixie chroot).
RUNNER="${NATIVETLS_WINE_RUNNER:-$HERE/run.sh}"
cd "$ROOT"
if [ "${1:-}" = "--script" ]; then shift; "$RUNNER" "$@"; else
    "$RUNNER" -m pytest tests/win --confcutdir=tests/win -p no:cacheprovider -rs "$@"
fi
