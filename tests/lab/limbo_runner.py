"""Run x509-limbo cases through handshakes and print one JSON verdict line per case.

    python limbo_runner.py CORPUS ID [ID ...]          (ids may also come on stdin, one a line, with "-")

``test_limbo.py`` starts it once per distinct validation time, under libfaketime
(``faketime -f "YYYY-MM-DD hh:mm:ss"``, a frozen clock) when the cases have one. Output lines:
``{"id": ..., "nativetls": verdict, "stdlib": verdict}`` (see ``_limbo.py``), then ``{"done": N, "now": epoch}``.
"""
from __future__ import absolute_import, division, print_function

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _limbo  # noqa: E402


def main(argv):
    corpus, ids = argv[1], argv[2:]
    if ids == ["-"]:
        ids = [line.strip() for line in sys.stdin if line.strip()]
    cases = dict((c["id"], c) for c in _limbo.load_cases(corpus))
    for case_id in ids:
        try:
            native, std = _limbo.run_case(cases[case_id])
        except Exception as exc:  # one broken case must not hide the others' verdicts
            native = std = _limbo.harness_error("runner crashed: %s: %s" % (type(exc).__name__, exc))
        sys.stdout.write(json.dumps({"id": case_id, "nativetls": native, "stdlib": std}) + "\n")
        sys.stdout.flush()
    sys.stdout.write(json.dumps({"done": len(ids), "now": time.time()}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
