# -*- coding: utf-8 -*-
"""The backend-neutral conformance suite (tests/test_conformance.py) run as-is in a Windows CPython, on SChannel.

The test bodies are imported, not copied: what tests/ checks for every backend is checked here on SChannel. Where
an SChannel under Wine cannot run a test, an autouse fixture skips it with the reason (printed by ``-rs``); on
real Windows nothing is skipped.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import pytest

from conftest import UNDER_WINE

import test_conformance as _shared  # noqa: E402  (tests/ is on sys.path, see conftest)
from test_conformance import backend  # noqa: E402,F401  (the shared fixture: every backend available here)

# The shared tests, under their own names, so that pytest collects them from this module.
for _name in dir(_shared):
    if _name.startswith("test_"):
        globals()[_name] = getattr(_shared, _name)

# Tests that make a ServerContext: they need AcceptSecurityContext, which Wine 8 lacks (Wine 10 has it).
NEEDS_SERVER = frozenset(["test_buffers_implement_the_contract", "test_public_constructors_dispatch_to_the_default_backend"])


@pytest.fixture(autouse=True)
def _openssl_for_the_override_test(request, monkeypatch):
    """test_environment_override_and_bad_override runs ``NATIVETLS_BACKEND=openssl`` in a subprocess. Windows has no
    system OpenSSL: point the OpenSSL backend at the copy CPython ships in DLLs/ (as a user would, with
    NATIVETLS_LIBSSL/NATIVETLS_LIBCRYPTO)."""
    import glob
    import os
    import sys
    if request.node.name != "test_environment_override_and_bad_override":
        return
    dlls = os.path.join(sys.base_prefix, "DLLs")
    ssl_dll, crypto_dll = glob.glob(os.path.join(dlls, "libssl-*.dll")), glob.glob(os.path.join(dlls, "libcrypto-*.dll"))
    if not (ssl_dll and crypto_dll):
        pytest.skip("this CPython ships no OpenSSL DLLs in %s: the override cannot be shown on Windows" % dlls)
    monkeypatch.setenv("NATIVETLS_LIBSSL", ssl_dll[0])
    monkeypatch.setenv("NATIVETLS_LIBCRYPTO", crypto_dll[0])


@pytest.fixture(autouse=True)
def _wine_differences(request):
    from nativetls import backend as get
    name = request.node.originalname if hasattr(request.node, "originalname") else request.node.name
    if name in NEEDS_SERVER and "server" not in get("schannel").features:
        assert UNDER_WINE, "AcceptSecurityContext must work on Windows"
        pytest.skip("Wine 8 difference: the test makes a ServerContext, and Wine 8 has no SChannel server side "
                    "(AcceptSecurityContext answers SEC_E_UNSUPPORTED_FUNCTION); it runs under Wine 10")
