# -*- coding: utf-8 -*-
"""nativetls benchmarks: nativetls against the stdlib ``ssl`` module and pyOpenSSL, in one run.

    python benchmarks/run.py                 # 11 interleaved rounds, a table on stdout
    python benchmarks/run.py --rounds 21 --json results.json
    python benchmarks/run.py --smoke         # seconds: every row once with tiny sizes (CI)

Implementations are interleaved round by round (their order rotates every round), each row of a round runs every
implementation once, and the report gives per-implementation medians with min-max and the median of the
same-round ratios to stdlib ``ssl`` (or, where ``ssl`` lacks the row, as on Python 2.7 without ``MemoryBIO``,
to pyOpenSSL). Speed ratios are "times as fast as ssl" (higher is better); the memory ratio is "times the memory
of ssl" (lower is better). ``--smoke`` checks that everything runs (and resumes) and means nothing as timing.
"""
from __future__ import absolute_import, division, print_function

import argparse
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(HERE))  # the checkout's nativetls, not an installed one

import _impls  # noqa: E402
from _certs import make_certificates  # noqa: E402

KIB = 1024


class Row(object):
    """One line of the report: what is measured, in which unit, and the issue's target for nativetls."""

    def __init__(self, key, label, unit, target=None, memory=False, socket=False, **params):
        self.key, self.label, self.unit, self.target = key, label, unit, target
        self.memory, self.socket, self.params = memory, socket, params


ROWS = [
    Row("hs13-ecdsa", "full handshake TLS 1.3 ECDSA P-256", "hs/s", 1.00, op="hs", kind="ecdsa", version="1.3"),
    Row("hs13-rsa", "full handshake TLS 1.3 RSA-2048", "hs/s", 1.00, op="hs", kind="rsa", version="1.3"),
    Row("hs12-ecdsa", "full handshake TLS 1.2 ECDSA P-256", "hs/s", 1.00, op="hs", kind="ecdsa", version="1.2"),
    Row("hs12-rsa", "full handshake TLS 1.2 RSA-2048", "hs/s", 1.00, op="hs", kind="rsa", version="1.2"),
    Row("resume13", "resumed handshake TLS 1.3 (ECDSA)", "hs/s", 1.30, op="resume", kind="ecdsa", version="1.3"),
    Row("resume12", "resumed handshake TLS 1.2 (ECDSA)", "hs/s", 2.0, op="resume", kind="ecdsa", version="1.2"),
    Row("bulk1k", "in-memory bulk, 1 KiB writes", "MB/s", 0.75, op="bulk", size=1 * KIB),
    Row("bulk16k", "in-memory bulk, 16 KiB writes", "MB/s", 0.90, op="bulk", size=16 * KIB),
    Row("bulk64k", "in-memory bulk, 64 KiB writes", "MB/s", 0.90, op="bulk", size=64 * KIB),
    Row("latency", "socket latency (connect+hs+ping)", "ms", 1.00, socket=True, op="latency"),
    Row("latency-quiet", "socket latency, no close_notify", "ms", socket=True, op="latency", quiet=True),
    Row("sock-send", "socket throughput, 64 KiB sends", "MB/s", 1.00, socket=True, op="send"),
    Row("sock-recv", "socket throughput, recv(65536)", "MB/s", 1.00, socket=True, op="recv"),
    Row("memory", "memory per idle connection pair", "KiB", 1.00, memory=True),
    # issue 17: the loop sans-IO integrations run (flush until empty, read until want-read), and its two answers
    # that nothing changed since the last call
    Row("loop1k", "write+flush+read-until-want, 1 KiB", "MB/s", 1.00, op="loop", size=1 * KIB),
    Row("loop16k", "write+flush+read-until-want, 16 KiB", "MB/s", 0.95, op="loop", size=16 * KIB),
    Row("loop64k", "write+flush+read-until-want, 64 KiB", "MB/s", 0.95, op="loop", size=64 * KIB),
    Row("want-read", "read() raising want-read", "us", 1.00, op="want-read"),
    Row("flush-empty", "process_outgoing() with nothing", "us", 1.00, op="flush-empty"),
    # asyncio over the stdlib's ssl= with NativeTLSContext, and through nativetls.asyncio (_asyncio_rows.py)
    Row("aio-echo", "asyncio echo, ssl=NativeTLSContext", "rt/s", 0.90, op="aio-echo"),
    Row("aio-hs", "asyncio hs x100, NativeTLSContext", "hs/s", 0.90, op="aio-hs"),
    Row("naio-echo", "asyncio echo, nativetls.asyncio", "rt/s", 0.90, op="naio-echo"),
    Row("naio-hs", "asyncio hs x100, nativetls.asyncio", "hs/s", 0.90, op="naio-hs"),
]
ASYNCIO_OPS = ("aio-echo", "aio-hs", "naio-echo", "naio-hs")
BASELINES = ("ssl", "pyopenssl")


# --- measuring ---------------------------------------------------------------------------------------------

def _run_cell(impl, row, n, peer):
    """Run one (implementation, row) cell of size n; returns (seconds per unit of work, work units)."""
    p = row.params
    op = p.get("op")
    gc.collect()
    if op in ("hs", "resume"):
        return impl.handshakes(n, p["kind"], p["version"], op == "resume") / n
    if op == "bulk":
        seconds = impl.bulk(n, p["size"])
        return seconds / (n * p["size"])
    if op == "loop":
        return impl.loop(n, p["size"]) / (n * p["size"])
    if op == "want-read":
        return impl.failing_reads(n) / n
    if op == "flush-empty":
        return impl.empty_flushes(n) / n
    if op in ASYNCIO_OPS:
        import _asyncio_rows
        return _asyncio_rows.run(impl.name, op, n)
    if op == "latency":
        return impl.socket_latency(n, peer.echo, quiet_close=p.get("quiet", False)) / n
    if op == "send":
        return impl.socket_send(n * 65536, peer.bulk) / (n * 65536)
    if op == "recv":
        return impl.socket_recv(n * 65536, peer.bulk) / (n * 65536)
    raise ValueError(op)


def _run_round(impls, row, number, size, slices, peer, tmp):
    """One round of one row: every implementation, in an order rotated by the round number, ``slices`` times
    over (each slice one ``size`` cell); yields ``(impl, display value)`` with each one's best slice."""
    order = [impl for impl in impls[number % len(impls):] + impls[:number % len(impls)] if _supports(impl, row)]
    if row.memory:  # a fresh process per cell: nothing to slice
        for impl in order:
            yield impl, _memory_cell(impl, size, tmp)
        return
    best = {}
    for _ in range(slices):
        for impl in order:
            timer = _impls.timer
            if row.socket:
                _impls.timer = timeit.default_timer
            try:
                per_unit = _run_cell(impl, row, size, peer)
            finally:
                _impls.timer = timer
            best[impl.name] = min(best.get(impl.name, per_unit), per_unit)
    for impl in order:
        yield impl, _display(row, best[impl.name])


def _display(row, per_unit):
    """seconds per unit -> the row's display unit."""
    if row.unit in ("hs/s", "rt/s"):
        return 1.0 / per_unit
    if row.unit == "MB/s":
        return 1.0 / per_unit / 1e6
    if row.unit == "ms":
        return per_unit * 1e3
    if row.unit == "us":
        return per_unit * 1e6
    return per_unit  # KiB


def _supports(impl, row):
    if row.params.get("op") in ASYNCIO_OPS:  # Python 3.7+ (asyncio.run-era ssl), ssl against nativetls only
        return sys.version_info >= (3, 7) and impl.name in ("ssl", "nativetls")
    if row.socket:
        return True
    return getattr(impl, "has_memory", True)  # stdlib ssl on 2.7 has no MemoryBIO


def _memory_child(args):
    """--child-memory: print the RSS growth (KiB) per idle pair of one implementation, in a fresh process."""
    name, n, certdir = args
    n = int(n)
    certs = json.load(open(os.path.join(certdir, "certs.json")))
    impl = [cls for cls in _impls.IMPLEMENTATIONS if cls.name == name][0](certs)
    keep = impl.idle_pairs(5)  # warm up: lazy imports, provider loading, caches
    gc.collect()
    before = _rss_kib()
    keep = impl.idle_pairs(n)
    gc.collect()
    after = _rss_kib()
    print(json.dumps({"kib_per_pair": (after - before) / n, "pairs": len(keep)}))


def _rss_kib():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf(str("SC_PAGE_SIZE")) / 1024.0


def _memory_cell(impl, n, certdir):
    out = subprocess.check_output([sys.executable, os.path.abspath(__file__), "--child-memory", impl.name, str(n),
                                   certdir])
    return json.loads(out.decode("utf-8").strip().splitlines()[-1])["kib_per_pair"]


class Peer(object):
    """The stdlib ssl server process the socket rows talk to (see _peer.py)."""

    def __init__(self, certs):
        python = _peer_python()
        self.process = subprocess.Popen([python, os.path.join(HERE, "_peer.py"), certs["ecdsa"]["cert"],
                                         certs["ecdsa"]["key"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        echo, bulk = self.process.stdout.readline().split()
        self.echo, self.bulk = ("127.0.0.1", int(echo)), ("127.0.0.1", int(bulk))
        self.python = python

    def close(self):
        try:
            self.process.stdin.close()
            self.process.wait()
        except Exception:
            self.process.kill()


def _peer_python():
    """The fastest stdlib-ssl server at hand: this interpreter on 3.x, else a python3 from PATH.

    Another interpreter is safe here only because _peer.py imports nothing but the standard library
    (tests/test_infra.py checks that): it needs nothing installed into that interpreter.
    """
    if sys.version_info[0] >= 3:
        return sys.executable
    for name in ("python3", "python3.13", "python3.12", "python3.11"):
        path = _which(name)
        if path:
            return path
    return sys.executable


def _which(name):
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        path = os.path.join(directory, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


# --- sizing ----------------------------------------------------------------------------------------------

SMOKE_SIZES = {"hs": 2, "resume": 2, "bulk": 4, "latency": 2, "send": 4, "recv": 4, "memory": 10}
MIN_SIZES = {"hs": 5, "resume": 10, "bulk": 16, "latency": 5, "send": 16, "recv": 16}
SMOKE_SIZES.update({"loop": 4, "want-read": 10, "flush-empty": 10})
MIN_SIZES.update({"loop": 16, "want-read": 1000, "flush-empty": 1000})
SMOKE_SIZES.update({"aio-echo": 4, "aio-hs": 4, "naio-echo": 4, "naio-hs": 4})
MIN_SIZES.update({"aio-echo": 50, "aio-hs": 100, "naio-echo": 50, "naio-hs": 100})


def _calibrate(impls, rows, peer, cell_time):
    """Size every row so that its slowest implementation takes about ``cell_time`` seconds per cell."""
    sizes = {}
    for row in rows:
        if row.memory:
            continue
        op = row.params["op"]
        probe = MIN_SIZES[op]
        slowest = 0.0
        for impl in impls:
            if _supports(impl, row):
                _run_cell(impl, row, probe, peer)  # warm up
                slowest = max(slowest, _run_cell(impl, row, probe, peer) * _units(row, probe) / probe)
        sizes[row.key] = max(probe, int(cell_time / slowest)) if slowest else probe
    return sizes


def _units(row, n):
    op = row.params["op"]
    if op in ("bulk", "loop"):
        return n * row.params["size"]
    if op in ("send", "recv"):
        return n * 65536
    return n


# --- reporting --------------------------------------------------------------------------------------------

_median = _impls.median


def summarize(rows, impls, results):
    """results[row][impl] = [display values per round] -> per-row summaries with same-round ratios."""
    summary = []
    for row in rows:
        cells = results.get(row.key, {})
        base = next((b for b in BASELINES if cells.get(b)), None)
        entry = {"row": row.key, "label": row.label, "unit": row.unit, "baseline": base, "target": row.target,
                 "impls": {}}
        for impl in impls:
            values = cells.get(impl.name)
            if not values:
                continue
            item = {"median": _median(values), "min": min(values), "max": max(values), "rounds": values}
            if base and impl.name != base:
                ratios = []
                for mine, theirs in zip(values, cells[base]):
                    if row.memory:
                        ratios.append(mine / theirs)  # memory: lower is better
                    elif row.unit in ("ms", "us"):
                        ratios.append(theirs / mine)  # latency: as a speed ratio
                    else:
                        ratios.append(mine / theirs)
                item["ratio"] = _median(ratios)
            entry["impls"][impl.name] = item
        nt = entry["impls"].get("nativetls", {})
        if row.target is not None and "ratio" in nt and base == "ssl":  # the targets are against stdlib ssl
            met = nt["ratio"] <= row.target if row.memory else nt["ratio"] >= row.target
            entry["met"] = met
        summary.append(entry)
    return summary


def _fmt(value):
    if value >= 1000:
        return "%.0f" % value
    if value >= 100:
        return "%.1f" % value
    return "%.2f" % value


def render(summary, impls, header):
    lines = list(header)
    names = [impl.name for impl in impls]
    cols = ["%-36s %-5s" % ("row", "unit")] + ["%-22s" % n for n in names] + \
        ["%-8s" % ("%s:base" % {"nativetls": "nt", "pyopenssl": "pyo"}.get(n, n)) for n in names if n != "ssl"] + \
        ["nativetls target"]
    lines.append(" ".join(cols))
    for entry in summary:
        parts = ["%-36s %-5s" % (entry["label"], entry["unit"])]
        for name in names:
            item = entry["impls"].get(name)
            parts.append("%-22s" % ("%s [%s-%s]" % (_fmt(item["median"]), _fmt(item["min"]), _fmt(item["max"]))
                                    if item else "n/a"))
        for name in names:
            if name == "ssl":
                continue
            item = entry["impls"].get(name)
            parts.append("%-8s" % ("%.3f" % item["ratio"] if item and "ratio" in item else "-"))
        if entry.get("target") is not None and "met" in entry:
            sign = "<=" if entry["unit"] == "KiB" else ">="
            parts.append("%s %.2f %s" % (sign, entry["target"], "met" if entry["met"] else "NOT MET"))
        else:
            parts.append("-")
        lines.append(" ".join(parts))
    bases = sorted(set(e["baseline"] for e in summary if e["baseline"]))
    lines.append("")
    lines.append("ratios: median of same-round ratios to %s; speed rows: >1 is faster; memory: <1 is smaller"
                 % " / ".join(bases))
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=11, help="interleaved rounds (default 11)")
    parser.add_argument("--cell-time", type=float, default=0.05,
                        help="seconds the slowest implementation spends on one slice of a row (default 0.05)")
    parser.add_argument("--memory-pairs", type=int, default=1000, help="idle pairs per memory cell (default 1000)")
    parser.add_argument("--slices", type=int, default=3,
                        help="a row's round alternates the implementations this many times and keeps each one's "
                             "best slice (default 3)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="cpu",
                        help="in-memory rows by process CPU time (default: immune to other processes on a busy "
                             "machine) or by wall clock; socket rows are always timed by wall clock")
    parser.add_argument("--smoke", action="store_true", help="one round, tiny sizes: checks that all rows run")
    parser.add_argument("--json", metavar="FILE", help="also write every measurement and the summary as JSON")
    parser.add_argument("--rows", help="comma-separated row keys to run (default: all)")
    parser.add_argument("--impls", help="comma-separated implementations (default: all available)")
    parser.add_argument("--child-memory", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_memory:
        return _memory_child(args.child_memory)

    unknown = sorted(set(args.rows.split(",")) - set(r.key for r in ROWS)) if args.rows else []
    if unknown:
        parser.error("unknown row(s) for --rows: %s (known rows: %s)"
                     % (", ".join(unknown), ", ".join(r.key for r in ROWS)))
    rows = [r for r in ROWS if not args.rows or r.key in args.rows.split(",")]
    tmp = tempfile.mkdtemp(prefix="nativetls-bench-")
    peer = None
    try:
        certs = make_certificates(tmp)
        if sys.version_info >= (3, 7):
            import _asyncio_rows
            _asyncio_rows.CERTS = certs
        with open(os.path.join(tmp, "certs.json"), "w") as handle:
            json.dump(certs, handle)
        impls, skipped = [], []
        for cls in _impls.IMPLEMENTATIONS:
            if args.impls and cls.name not in args.impls.split(","):
                continue
            try:
                impls.append(cls(certs))
            except ImportError as exc:
                skipped.append("%s skipped: %s" % (cls.name, exc))
        if any(r.socket for r in rows):
            peer = Peer(certs)
        rounds = 1 if args.smoke else args.rounds
        slices = 1 if args.smoke else args.slices
        if args.clock == "cpu":
            _impls.timer = getattr(time, "process_time", None) or time.clock
        if args.smoke:
            sizes = dict((r.key, SMOKE_SIZES["memory" if r.memory else r.params["op"]]) for r in rows)
        else:
            sizes = _calibrate(impls, rows, peer, args.cell_time)
            sizes.update((r.key, args.memory_pairs) for r in rows if r.memory)
        results = {}
        for number in range(rounds):
            for row in rows:
                for impl, value in _run_round(impls, row, number, sizes[row.key], slices, peer, tmp):
                    results.setdefault(row.key, {}).setdefault(impl.name, []).append(value)
            if not args.smoke:
                sys.stderr.write("round %d/%d done\n" % (number + 1, rounds))
        summary = summarize(rows, impls, results)
        header = [
            "nativetls benchmarks: Python %s (%s), %s %s" % (platform.python_version(),
                                                             platform.python_implementation(), platform.system(),
                                                             platform.machine()),
            "command: python benchmarks/run.py %s" % " ".join(argv if argv is not None else sys.argv[1:]),
            "rounds: %d interleaved, best of %d slices each, %s clock%s; cells: median [min-max]" % (
                rounds, slices, args.clock, " (SMOKE: not a measurement)" if args.smoke else ""),
        ]
        header += ["  %s: %s" % (impl.name, impl.description) for impl in impls]
        header += ["  " + text for text in skipped]
        if peer is not None:
            header.append("  socket rows: each client against one stdlib-ssl server process (%s), TLS 1.3 ECDSA"
                          % os.path.basename(peer.python))
        header.append("  negotiated (TLS 1.3 ECDSA): " + "; ".join(
            "%s %s" % (impl.name, impl.describe("ecdsa", "1.3")) for impl in impls if _supports(impl, ROWS[0])))
        header.append("")
        print(render(summary, impls, header))
        if args.json:
            with open(args.json, "w") as handle:
                json.dump({"header": header, "sizes": sizes, "summary": summary}, handle, indent=1)
        return 0
    finally:
        if peer is not None:
            peer.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
