"""The benchmark suite runs (``benchmarks/run.py --smoke``): CI keeps it from rotting. Nothing here is timed."""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

import pytest

RUN = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "benchmarks", "run.py")


@pytest.mark.skipif(not os.path.exists(RUN), reason="no benchmarks/ beside tests/ (an installed test tree)")
def test_benchmark_smoke_mode_runs_every_row():
    pytest.importorskip("cryptography")
    proc = subprocess.Popen([sys.executable, RUN, "--smoke"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    out = out.decode("utf-8", "replace")
    assert proc.returncode == 0, err.decode("utf-8", "replace")[-3000:]
    assert "SMOKE" in out
    for label in ("full handshake TLS 1.3 ECDSA", "resumed handshake TLS 1.2", "in-memory bulk, 64 KiB",
                  "socket latency", "memory per idle connection"):
        assert label in out


FLOOR = os.path.join(os.path.dirname(RUN), "floor.py")


@pytest.mark.skipif(not os.path.exists(FLOOR), reason="no benchmarks/ beside tests/ (an installed test tree)")
@pytest.mark.skipif(sys.version_info[0] < 3, reason="floor.py compares with the stdlib's MemoryBIO (Python 3)")
def test_floor_smoke_mode_runs():
    pytest.importorskip("cryptography")
    proc = subprocess.Popen([sys.executable, FLOOR, "--smoke"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    out = out.decode("utf-8", "replace")
    assert proc.returncode == 0, err.decode("utf-8", "replace")[-3000:]
    for label in ("ssl", "nativetls", "bare ctypes"):
        assert label in out
