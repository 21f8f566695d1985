# -*- coding: utf-8 -*-
"""How fast can an in-memory full handshake through ctypes be? The floor under the handshake rows.

    python benchmarks/floor_handshake.py                  # TLS 1.3 and 1.2 x ECDSA and RSA, 11 rounds
    python benchmarks/floor_handshake.py --cases ecdsa-1.3 --rounds 21
    python benchmarks/floor_handshake.py --smoke          # seconds: checks that it runs (CI)

A full handshake between a client and a server in one process is the same native work whatever the binding:
two ``SSL_new``, four memory BIOs, the SNI name and the host name to check, ``SSL_do_handshake`` on each side
until both are done with the flights moved between the BIOs (``BIO_read``/``BIO_write``), two ``SSL_free``. This
script times, interleaved round by round, by process CPU time, on the very ``SSL_CTX`` objects the benchmark's
nativetls contexts made:

* ``ssl``: ``SSLContext.wrap_bio`` and ``SSLObject.do_handshake`` (``benchmarks/_impls.py``, as in ``run.py``);
* ``nativetls``: ``wrap_buffers`` and ``TLSBuffer.do_handshake`` (the same, as in ``run.py``);
* ``bare ctypes``: the native calls above with nothing around them (no objects, no state, no exceptions): the
  most a ctypes binding with nativetls's configuration can reach;
* ``bare methods``: the same calls inside a minimal Python class with ``do_handshake`` (raising an exception for
  want-read), ``process_outgoing`` and ``process_incoming``, driven by the benchmark's own handshake loop: the
  floor of any TLSBuffer written in Python over ctypes, before a single check.

The report gives each one's median microseconds per handshake (client and server) and the median of same-round
ratios to ``ssl``. Needs ``cryptography`` and Python 3 (``MemoryBIO``); the OpenSSL backend. See
docs/performance.md ("Fifth round").
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

CASES = ("ecdsa-1.3", "rsa-1.3", "ecdsa-1.2", "rsa-1.2")


class _Bare(object):
    """The native calls of one handshake, through nativetls's prebound functions (see the module docstring)."""

    def __init__(self, nt, kind, version):
        from nativetls._openssl import _buffer as B
        from nativetls._openssl import _libssl as L
        from nativetls._openssl._lowlevel import lib
        self.B, self.L, self.lib = B, L, lib
        self.client_ctx = nt.client[kind, version]._native.ptr
        self.server_ctx = nt.server[kind, version]._main.contexts[0].ptr

    def _new(self, ctx, server):
        B, L, lib = self.B, self.L, self.lib
        ssl = lib.SSL_new(ctx)
        rbio, wbio = lib.BIO_new(B._BIO_S_MEM), lib.BIO_new(B._BIO_S_MEM)
        lib.SSL_set_bio(ssl, rbio, wbio)
        if server:
            lib.SSL_set_accept_state(ssl)
        else:
            lib.SSL_set_connect_state(ssl)
            lib.SSL_ctrl(ssl, L.SSL_CTRL_SET_TLSEXT_HOSTNAME, L.TLSEXT_NAMETYPE_host_name, b"localhost")
            lib.X509_VERIFY_PARAM_set1_host(lib.SSL_get0_param(ssl), b"localhost", 9)
        return ssl, B._pointer_arg(ssl), B._pointer_arg(rbio), B._pointer_arg(wbio)

    def handshakes(self, n):
        B, lib = self.B, self.lib
        handshake, bio_read, bio_write = B._SSL_do_handshake, B._BIO_read, B._BIO_write
        arg, area = B._scratch.area
        size = B._SCRATCH_SIZE
        start = _impls.timer()
        for _ in range(n):
            c, c_ssl, c_r, c_w = self._new(self.client_ctx, False)
            s, s_ssl, s_r, s_w = self._new(self.server_ctx, True)
            c_done = s_done = False
            while not (c_done and s_done):
                if not c_done:
                    c_done = handshake(c_ssl) == 1
                count = bio_read(c_w, arg, size)
                if count > 0:
                    bio_write(s_r, area[:count], count)
                if not s_done:
                    s_done = handshake(s_ssl) == 1
                count = bio_read(s_w, arg, size)
                if count > 0:
                    bio_write(c_r, area[:count], count)
            if lib.SSL_get_verify_result(c) != 0:
                raise AssertionError("bare ctypes: the client did not verify the server")
            lib.SSL_free(c)
            lib.SSL_free(s)
        return _impls.timer() - start


class _WantRead(Exception):
    pass


class _Mini(object):
    """A minimal buffer: the same native calls inside Python methods, an exception for want-read."""

    __slots__ = ("_ssl", "_c_ssl", "_c_rbio", "_c_wbio", "_B", "_free")

    def __init__(self, bare, ctx, server):
        self._ssl, self._c_ssl, self._c_rbio, self._c_wbio = bare._new(ctx, server)
        self._B, self._free = bare.B, bare.lib.SSL_free

    def do_handshake(self):
        B = self._B
        result = B._SSL_do_handshake(self._c_ssl)
        if result == 1:
            return
        if B._SSL_get_error(self._c_ssl, result) == B._WANT_READ_CODE:
            raise _WantRead("want read")
        raise AssertionError("handshake failed")

    def process_outgoing(self):
        arg, area = self._B._scratch.area
        count = self._B._BIO_read(self._c_wbio, arg, self._B._SCRATCH_SIZE)
        return area[:count] if count > 0 else b""

    def process_incoming(self, data):
        self._B._BIO_write(self._c_rbio, data, len(data))

    def close(self):
        self._free(self._ssl)


def _bare_methods(bare, n):
    start = _impls.timer()
    for _ in range(n):
        c, s = _Mini(bare, bare.client_ctx, False), _Mini(bare, bare.server_ctx, True)
        _impls._handshake_loop(c, s, c.process_outgoing, s.process_incoming, s.process_outgoing,
                               c.process_incoming, _WantRead)
        c.close()
        s.close()
    return _impls.timer() - start


_median = _impls.median


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=",".join(CASES), help="kind-version pairs, comma-separated")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--count", type=int, default=20, help="handshakes per slice (default 20)")
    parser.add_argument("--slices", type=int, default=5, help="slices per round; each keeps its best (default 5)")
    parser.add_argument("--smoke", action="store_true", help="one tiny round: checks that it runs")
    args = parser.parse_args(argv)
    import nativetls
    if nativetls.backend().name != "openssl":
        print("floor_handshake.py measures the OpenSSL backend; this one is %s" % nativetls.backend().name)
        return 0
    _impls.timer = getattr(time, "process_time", None) or time.clock
    rounds, count, slices = (1, 2, 1) if args.smoke else (args.rounds, args.count, args.slices)
    tmp = tempfile.mkdtemp(prefix="nativetls-floor-hs-")
    certs = make_certificates(tmp)
    nt, st = _impls.NativeTLS(certs), _impls.Stdlib(certs)
    print("handshake floor: Python %s, %s; %d rounds x best of %d slices of %d handshakes, cpu clock%s"
          % (sys.version.split()[0], nativetls.backend().native_version, rounds, slices, count,
             " (SMOKE: not a measurement)" if args.smoke else ""))
    print("%-10s %-14s %10s %8s" % ("case", "impl", "us/hs", "vs ssl"))
    for case in args.cases.split(","):
        kind, version = case.split("-")
        bare = _Bare(nt, kind, version)
        runners = [("ssl", lambda n: st.handshakes(n, kind, version, False)),
                   ("nativetls", lambda n: nt.handshakes(n, kind, version, False)),
                   ("bare ctypes", bare.handshakes),
                   ("bare methods", lambda n: _bare_methods(bare, n))]
        for _name, run in runners:
            run(count)  # warm up
        times = dict((name, []) for name, _run in runners)
        for number in range(rounds):
            order = runners[number % len(runners):] + runners[:number % len(runners)]
            for name, run in order:
                times[name].append(min(run(count) for _ in range(slices)) / count)
        for name, _run in runners:
            ratio = _median([base / mine for base, mine in zip(times["ssl"], times[name])])
            print("%-10s %-14s %10.1f %8.3f" % (case, name, _median(times[name]) * 1e6, ratio))
    return 0


if __name__ == "__main__":
    sys.exit(main())
