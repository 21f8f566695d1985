"""The benchmark scripts run (``benchmarks/run.py --smoke``, ``benchmarks/floor.py --smoke``): CI keeps them from
rotting. Nothing here is timed."""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

import pytest

BENCHMARKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "benchmarks")
RUN = os.path.join(BENCHMARKS, "run.py")
FLOOR = os.path.join(BENCHMARKS, "floor.py")
FLOOR_HANDSHAKE = os.path.join(BENCHMARKS, "floor_handshake.py")


def _smoke(script):
    """Run *script* ``--smoke`` with this interpreter; returns its standard output."""
    pytest.importorskip("cryptography")
    proc = subprocess.Popen([sys.executable, script, "--smoke"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    assert proc.returncode == 0, err.decode("utf-8", "replace")[-3000:]
    return out.decode("utf-8", "replace")


@pytest.mark.skipif(not os.path.exists(RUN), reason="no benchmarks/ beside tests/ (an installed test tree)")
@pytest.mark.needs("tls1_3")  # the rows are TLS 1.3 handshakes
def test_benchmark_smoke_mode_runs_every_row():
    out = _smoke(RUN)
    assert "SMOKE" in out
    for label in ("full handshake TLS 1.3 ECDSA", "resumed handshake TLS 1.2", "in-memory bulk, 64 KiB",
                  "socket latency", "socket latency, no close_notify", "memory per idle connection",
                  "write+flush+read-until-want, 1 KiB", "write+flush+read-until-want, 64 KiB",
                  "read() raising want-read", "process_outgoing() with nothing"):
        assert label in out
    if sys.version_info >= (3, 7):
        for label in ("asyncio echo, ssl=NativeTLSContext", "asyncio hs x100, NativeTLSContext",
                      "asyncio echo, nativetls.asyncio", "asyncio hs x100, nativetls.asyncio"):
            assert label in out


@pytest.mark.skipif(not os.path.exists(FLOOR), reason="no benchmarks/ beside tests/ (an installed test tree)")
@pytest.mark.skipif(sys.version_info[0] < 3, reason="floor.py compares with the stdlib's MemoryBIO (Python 3)")
@pytest.mark.needs("tls1_3")  # the rows are TLS 1.3 handshakes
def test_floor_smoke_mode_runs():
    out = _smoke(FLOOR)
    for label in ("ssl", "nativetls", "bare ctypes", "bare, GIL held", "bare methods"):
        assert label in out


@pytest.mark.skipif(not os.path.exists(RUN), reason="no benchmarks/ beside tests/ (an installed test tree)")
def test_benchmark_refuses_an_unknown_row():
    # A misspelt row used to run nothing and print an empty table: it is a usage error naming the row.
    proc = subprocess.Popen([sys.executable, RUN, "--smoke", "--rows", "no-such-row"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    _out, err = proc.communicate()
    err = err.decode("utf-8", "replace")
    assert proc.returncode == 2, err
    assert "unknown row(s) for --rows: no-such-row" in err and "known rows:" in err, err


@pytest.mark.skipif(not os.path.exists(FLOOR_HANDSHAKE), reason="no benchmarks/ beside tests/ (an installed test tree)")
@pytest.mark.skipif(sys.version_info[0] < 3, reason="floor_handshake.py compares with the stdlib's MemoryBIO (py3)")
@pytest.mark.needs("tls1_3")  # its rows include TLS 1.3 handshakes
def test_handshake_floor_smoke_mode_runs():
    out = _smoke(FLOOR_HANDSHAKE)
    if "measures the OpenSSL backend" in out:
        return
    for label in ("ecdsa-1.3", "rsa-1.2", "ssl", "nativetls", "bare ctypes", "bare methods"):
        assert label in out
