# -*- coding: utf-8 -*-
"""The Windows backend: SChannel (SSPI, secur32.dll) for TLS and crypt32.dll for certificates and trust.

Importing this package works on every OS and loads no DLL, so Linux tests can inspect the declaration tables
(``_secur32``, ``_crypt32``). :func:`load_backend` binds the DLLs and raises ImportError with the reason off Windows.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import sys

__all__ = ["load_backend", "load_pkcs12"]


def load_backend():
    """Return the SChannel :class:`nativetls._backend.Backend`.

    Raises:
        ImportError: not on Windows, or secur32/crypt32 lack a required function (the message names it).
    """
    if sys.platform != "win32":
        raise ImportError("the SChannel backend needs Windows (secur32.dll, crypt32.dll); this is %s" % sys.platform)
    from ._context import make_backend  # pragma: no cover - Windows only
    return make_backend()  # pragma: no cover - Windows only


def load_pkcs12(data, password, origin):  # pragma: no cover - Windows only
    """Read a PKCS#12 file with PFXImportCertStore: ``(leaf_der, [other DERs], None)`` (see ``_keys``).

    Raises:
        ValueError: not PKCS#12, wrong password, no key. ConfigurationError: this system cannot import it.
    """
    from ._keys import read_pkcs12
    return read_pkcs12(data, password, origin)
