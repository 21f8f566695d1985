"""x509-limbo (C2SP) through real TLS handshakes, judged against the corpus and against the stdlib ``ssl`` module.

For every case with a peer key (``_limbo.py`` says how one case is staged), nativetls's verdict must

1. equal the case's expected result, unless ``limbo_exceptions.json`` lists the case (with the verdict observed and
   the OpenSSL policy that explains it; an entry that no longer applies fails as stale), and
2. equal the stdlib ``ssl`` module's verdict on the same libssl with the flags the API documents for nativetls,
   including the X509_V_ERR code: any difference is a nativetls bug.

Cases are run in subprocesses, one per distinct validation time, under libfaketime (``faketime -f`` with a frozen
clock) when the case gives a time. The corpus is ``tests/lab/data/limbo.json`` (Apache-2.0, see ``data/README.md``; override:
``NATIVETLS_LIMBO``); without it the tests skip, and fail under CI.
"""
from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys

import pytest

import _lab
import _limbo

pytestmark = pytest.mark.skipif(sys.version_info < (3, 7), reason="the stdlib oracle needs ssl.MemoryBIO, "
                                                                  "VERIFY_X509_PARTIAL_CHAIN and TLSVersion (3.7+)")

RUNNER = os.path.join(_limbo.HERE, "limbo_runner.py")
BATCH_TIMEOUT = 240

_CORPUS_PRESENT = os.path.isfile(_limbo.corpus_path())
CASES = _limbo.load_cases() if _CORPUS_PRESENT else []
RUNNABLE = [c for c in CASES if _limbo.runnable(c)]
EXCEPTIONS = _limbo.load_exceptions()


def _require_corpus():
    _lab.need(_CORPUS_PRESENT, "x509-limbo corpus not found at %s (set NATIVETLS_LIMBO)" % _limbo.corpus_path())


class _Batches(object):
    """Verdicts per case id, computed one validation-time batch (one subprocess) at a time, on demand."""

    def __init__(self):
        self.rows = {}
        self.ran = set()

    def verdicts(self, case):
        key = _limbo.batch_key(case)
        if key not in self.ran:
            self.ran.add(key)
            self._run(key, [c["id"] for c in RUNNABLE if _limbo.batch_key(c) == key])
        return self.rows[case["id"]]

    def _run(self, key, ids):
        argv = [sys.executable, RUNNER, _limbo.corpus_path(), "-"]
        env = dict(os.environ)
        if key is not None:
            _lab.need_tool("faketime", "faketime")
            # A frozen clock (an absolute FAKETIME without "@"), in UTC; the monotonic clock stays real.
            argv = ["faketime", "-f", key] + argv
            env.update(TZ="UTC", FAKETIME_DONT_FAKE_MONOTONIC="1")
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        out, err = proc.communicate("\n".join(ids).encode("ascii"), timeout=BATCH_TIMEOUT)
        lines = [json.loads(line) for line in out.decode("utf-8").splitlines() if line.startswith("{")]
        tail = lines[-1] if lines else {}
        assert proc.returncode == 0 and tail.get("done") == len(ids), \
            "limbo runner failed (exit %s) for batch %r:\n%s" % (proc.returncode, key, err.decode("utf-8", "replace"))
        if key is not None:  # the clock really was the case's validation time (libfaketime took effect)
            expected = _limbo.epoch(key)
            assert abs(tail["now"] - expected) < 2, "faketime did not apply: now=%s, wanted %s" % (tail["now"], key)
        for row in lines[:-1]:
            self.rows[row["id"]] = row


_BATCHES = _Batches()


def _describe(verdict):
    text = "%s (%s" % (verdict["result"], verdict["kind"])
    if verdict.get("code") is not None:
        text += ", X509_V_ERR %s" % verdict["code"]
    text += ")"
    if verdict.get("detail"):
        text += ": " + verdict["detail"]
    return text


@pytest.mark.parametrize("case", RUNNABLE, ids=[c["id"] for c in RUNNABLE])
def test_limbo_case(case):
    _require_corpus()
    row = _BATCHES.verdicts(case)
    native, std = row["nativetls"], row["stdlib"]
    # 1. The oracle on the same libssl: any difference is ours.
    same = (native["result"], native["kind"], native["code"]) == (std["result"], std["kind"], std["code"])
    assert same, "nativetls and the stdlib ssl module disagree on %s:\n  nativetls: %s\n  stdlib:    %s" % (
        case["id"], _describe(native), _describe(std))
    # 2. The corpus, less the reviewed exceptions.
    exception = EXCEPTIONS.get(case["id"])
    if exception is not None:
        assert native["result"] == exception["observed"], (
            "stale exception for %s: limbo_exceptions.json says %s, nativetls now gives %s (expected by the corpus: "
            "%s); update or remove the entry" % (case["id"], exception["observed"], _describe(native),
                                                 case["expected_result"]))
        return
    assert native["kind"] in ("ok", "verify"), "%s was not judged by certificate verification: %s" % (
        case["id"], _describe(native))
    assert native["result"] == case["expected_result"], (
        "%s: expected %s, nativetls gives %s\n%s" % (case["id"], case["expected_result"], _describe(native),
                                                     case["description"]))


def test_exceptions_file_is_reviewed():
    """Every entry names a runnable case, disagrees with the corpus, and carries one reason."""
    _require_corpus()
    by_id = dict((c["id"], c) for c in RUNNABLE)
    problems = []
    for case_id, entry in sorted(EXCEPTIONS.items()):
        case = by_id.get(case_id)
        if case is None:
            problems.append("%s: not a runnable case of this corpus" % case_id)
            continue
        if sorted(entry) != ["observed", "reason"]:
            problems.append("%s: wants exactly 'observed' and 'reason', has %s" % (case_id, sorted(entry)))
        if entry.get("observed") == case["expected_result"]:
            problems.append("%s: observed equals the expected result; no exception needed" % case_id)
        if entry.get("observed") not in ("SUCCESS", "FAILURE", "UNRUNNABLE"):
            problems.append("%s: observed must be SUCCESS, FAILURE or UNRUNNABLE" % case_id)
        if len(entry.get("reason", "")) < 40:
            problems.append("%s: the reason is missing or too short to be reviewed" % case_id)
    assert not problems, "\n".join(problems)


def test_corpus_coverage():
    """What the handshake lab can and cannot cover (keyless cases cannot be served in a handshake)."""
    _require_corpus()
    keyless = [c["id"] for c in CASES if not _limbo.runnable(c)]
    assert len(RUNNABLE) + len(keyless) == len(CASES)
    # The corpus as documented in tests/lab/data/README.md: 208 cases, 189 with a peer key. A new corpus is welcome,
    # but someone must look at what it no longer covers.
    assert len(RUNNABLE) >= 180, "only %d of %d cases have a peer key" % (len(RUNNABLE), len(CASES))
