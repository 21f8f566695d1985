#!/usr/bin/env bash
# The Windows test suite (tests/win) under Wine 10 in the trixie chroot (root; after setup-wine10.sh): the same
# suite as test.sh, where the server tests (AcceptSecurityContext) run instead of stating that Wine 8 lacks them.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NATIVETLS_WINE_RUNNER="$HERE/run-wine10.sh" exec "$HERE/test.sh" "$@"
