"""Run the suite against a real OpenSSL 1.1.1 when ``NATIVETLS_TEST_OPENSSL=1.1.1`` (tox env ``libssl11``).

The library comes from a pinned PyPI wheel (psycopg2-binary 2.9.9 bundles OpenSSL 1.1.1w; see
``support/README_libssl11.md``), fetched by ``support/fetch_libssl11.py`` into ``.cache/libssl11`` once. This sets
``NATIVETLS_LIBSSL``/``NATIVETLS_LIBCRYPTO`` before nativetls is first imported, so the tests and every subprocess
they start load 1.1.1, while the stdlib ``ssl`` peers in the same process keep the system's libssl 3.
"""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def apply():
    wanted = os.environ.get("NATIVETLS_TEST_OPENSSL")
    if wanted != "1.1.1" or os.environ.get("NATIVETLS_LIBSSL"):
        return
    target = os.path.join(os.path.dirname(HERE), ".cache", "libssl11")
    out = subprocess.check_output([sys.executable, os.path.join(HERE, "support", "fetch_libssl11.py"), target])
    for line in out.decode("utf-8").splitlines():
        name, _, value = line.partition("=")
        os.environ[name] = value.strip("'\"")
