"""Run the suite against a pinned OpenSSL build when ``NATIVETLS_TEST_OPENSSL`` is ``1.0.2``, ``1.1.1`` or ``3.5``
(tox envs ``libssl102``, ``libssl11``, ``libssl35``).

Each build comes from a hash-pinned PyPI wheel (``support/README_libssl.md``), fetched once by
``support/fetch_libssl.py`` into ``.cache/libssl-VERSION``. Before nativetls is first imported this sets
``NATIVETLS_LIBSSL``/``NATIVETLS_LIBCRYPTO``, loads the bundled libraries they need that have no RPATH to be found
by (1.0.2: zlib and Kerberos) and puts their directory on ``LD_LIBRARY_PATH`` for the subprocesses the tests
start; their names are hashed by auditwheel, so no other program picks them up. The stdlib ``ssl`` peers in the
same process keep the system's libssl 3.0.
"""
from __future__ import absolute_import, division, print_function

import ctypes
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VERSIONS = ("1.0.2", "1.1.1", "3.5")


def apply():
    wanted = os.environ.get("NATIVETLS_TEST_OPENSSL")
    if not wanted or os.environ.get("NATIVETLS_LIBSSL"):
        return
    if wanted not in VERSIONS:
        raise RuntimeError("NATIVETLS_TEST_OPENSSL=%s: expected one of %s" % (wanted, ", ".join(VERSIONS)))
    sys.path.insert(0, os.path.join(HERE, "support"))
    try:
        import fetch_libssl
    finally:
        sys.path.pop(0)
    libssl, libcrypto, preload = fetch_libssl.fetch(wanted)
    for path in preload:  # the libraries' own NEEDED, by absolute path, in dependency order
        ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    os.environ["NATIVETLS_LIBSSL"] = libssl
    os.environ["NATIVETLS_LIBCRYPTO"] = libcrypto
    if preload:
        directory = os.path.dirname(libssl)
        os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(
            [directory] + [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p])
