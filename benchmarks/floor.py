# -*- coding: utf-8 -*-
"""How fast can an in-memory round trip through ctypes be? The floor under the bulk rows.

    python benchmarks/floor.py                 # 1 and 16 KiB writes, 11 interleaved rounds
    python benchmarks/floor.py --sizes 1024 --rounds 21
    python benchmarks/floor.py --smoke         # a second: checks that it runs (CI)

An in-memory round trip is four native calls whatever the binding: encrypt (``SSL_write``), take the records
out (``BIO_read``), put them in at the peer (``BIO_write``), decrypt (``SSL_read``). The stdlib's ``SSLObject``
makes them from C. This script times three ways of making them, interleaved round by round on one established
TLS 1.3 pair per implementation, by process CPU time:

* ``ssl``: ``SSLObject.write`` / ``MemoryBIO.read`` / ``MemoryBIO.write`` / ``SSLObject.read``;
* ``nativetls``: ``TLSBuffer.write`` / ``process_outgoing`` / ``process_incoming`` / ``read`` (the public API);
* ``bare ctypes``: the same four native calls through the very function objects nativetls uses, with nothing
  around them: no state checks, no error handling, no size handling. No binding can do less per round trip with
  ctypes, so its ratio to ``ssl`` is the most a ctypes binding can reach on this machine and interpreter.
* ``bare, GIL held``: the same four calls through the cheapest call convention ctypes has (the GIL kept, no
  errno saved), which no binding should use for SSL_read/SSL_write: the floor below the floor.
* ``bare methods``: the same, each call inside a one-line Python method of an object (as any Python class with
  four methods must have): the floor of a TLSBuffer written in Python over ctypes, before any check.

The report gives, per write size, each one's median time per round trip and the median of same-round ratios to
``ssl``. It needs ``cryptography`` (certificates) and Python 3 (``MemoryBIO``), and measures the libssl that
nativetls loaded. See docs/performance.md ("Why 1 KiB stays below 0.75").
"""
from __future__ import absolute_import, division, print_function

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.dirname(HERE))  # the checkout's nativetls, not an installed one

import _impls  # noqa: E402
from _certs import make_certificates  # noqa: E402

READ = 65536


def _bare_loop(nativetls_impl, held=False):
    """The four native calls of a round trip, through nativetls's own prebound functions and arguments.

    *held*: through the cheapest calls ctypes has instead, the GIL kept (no release and re-take around SSL_read
    and SSL_write, which nativetls and ``ssl`` both do) and no errno saved. Not safe for a binding (a native call
    holding the GIL can deadlock against a thread waiting for the GIL in a callback while holding a libssl lock),
    so only a floor: the least any ctypes binding can pay for the four calls."""
    import ctypes
    from nativetls._openssl import _buffer as B
    from nativetls._openssl._lowlevel import _crypto_dll, _ssl_dll
    c, s = nativetls_impl._established()
    c_ssl, c_wbio, s_rbio, s_ssl = c._c_ssl, c._c_wbio, s._c_rbio, s._c_ssl
    ssl_write, ssl_read, bio_read, bio_write = B._SSL_write, B._SSL_read, B._BIO_read, B._BIO_write
    if held:
        class Held(ctypes._CFuncPtr):
            _flags_ = ctypes._FUNCFLAG_CDECL | ctypes._FUNCFLAG_PYTHONAPI

        ssl_write, ssl_read = Held(("SSL_write", _ssl_dll)), Held(("SSL_read", _ssl_dll))
        bio_read, bio_write = Held(("BIO_read", _crypto_dll)), Held(("BIO_write", _crypto_dll))
    arg, area = B._scratch.area
    limit = B._SCRATCH_SIZE

    def bulk(count, size):
        chunk = b"x" * size
        start = time.process_time()
        for _ in range(count):
            ssl_write(c_ssl, chunk, size)
            out = area[:bio_read(c_wbio, arg, limit)]
            bio_write(s_rbio, out, len(out))
            got = 0
            while got < size:
                got += len(area[:ssl_read(s_ssl, arg, READ)])
        return time.process_time() - start
    bulk.pair = (c, s)  # keeps the buffers (and so their SSL objects) alive as long as the loop
    return bulk


def _bare_methods_loop(nativetls_impl):
    """As _bare_loop, each native call inside a one-line method (the four steps of the sans-IO API)."""
    from nativetls._openssl import _buffer as B
    c, s = nativetls_impl._established()

    class Bare(object):
        __slots__ = ("ssl", "rbio", "wbio")

        def __init__(self, buffer):
            self.ssl, self.rbio, self.wbio = buffer._c_ssl, buffer._c_rbio, buffer._c_wbio

        def write(self, data):
            return B._SSL_write(self.ssl, data, len(data))

        def process_outgoing(self):
            arg, area = B._scratch.area
            return area[:B._BIO_read(self.wbio, arg, B._SCRATCH_SIZE)]

        def process_incoming(self, data):
            B._BIO_write(self.rbio, data, len(data))

        def read(self, amt):
            arg, area = B._scratch.area
            return area[:B._SSL_read(self.ssl, arg, amt)]

    client, server = Bare(c), Bare(s)

    def bulk(count, size):
        return _impls._bulk_loop(client.write, client.process_outgoing, server.process_incoming, server.read,
                                 count, size)
    bulk.pair = (c, s)
    return bulk


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1024,16384", help="write sizes in bytes, comma-separated")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--smoke", action="store_true", help="one tiny round: checks that it runs")
    args = parser.parse_args(argv)
    if sys.version_info[0] < 3:
        sys.exit("floor.py needs Python 3 (the stdlib's MemoryBIO)")
    _impls.timer = time.process_time
    certs = make_certificates(tempfile.mkdtemp(prefix="nativetls-floor-"))
    nt, ssl_impl = _impls.NativeTLS(certs), _impls.Stdlib(certs)
    impls = [("ssl", ssl_impl.bulk), ("nativetls", nt.bulk), ("bare ctypes", _bare_loop(nt)),
             ("bare, GIL held", _bare_loop(nt, held=True)), ("bare methods", _bare_methods_loop(nt))]
    rounds = 1 if args.smoke else args.rounds
    print("in-memory round trip floor: Python %s, %s" % (sys.version.split()[0], nt.description))
    print("%-7s %-15s %12s %10s" % ("write", "impl", "us/round", "vs ssl"))
    for size in [int(part) for part in args.sizes.split(",")]:
        count = 20 if args.smoke else max(2000, 30000 * 1024 // size)
        times = dict((name, []) for name, _f in impls)
        ratios = dict((name, []) for name, _f in impls)
        for number in range(rounds):
            order = impls[number % len(impls):] + impls[:number % len(impls)]
            got = dict((name, min(f(count, size) for _ in range(3)) / count) for name, f in order)
            for name, _f in impls:
                times[name].append(got[name])
                ratios[name].append(got["ssl"] / got[name])
        for name, _f in impls:
            print("%-7s %-15s %12.3f %10.3f" % ("%d" % size, name, _median(times[name]) * 1e6,
                                                _median(ratios[name])))
    return 0


_median = _impls.median


if __name__ == "__main__":
    sys.exit(main())
