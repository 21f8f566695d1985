# -*- coding: utf-8 -*-
"""The OpenSSL backend: the system libssl (1.0.2 to 3.x) through ctypes.

Importing this package loads libssl; :func:`load_backend` returns the Backend, or raises ImportError naming what is
missing.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

__all__ = ["load_backend", "load_pkcs12"]


def load_backend():
    """Load libssl and describe this backend.

    Raises:
        ImportError: no usable libssl/libcrypto (the message lists what was tried).
    """
    from .._backend import Backend
    from . import _lowlevel
    from ._context import OpenSSLClientContext, OpenSSLServerContext, describe_trust_store, supported_versions
    features = {"server", "alpn", "sni_callback", "client_auth", "session_resumption"}
    if _lowlevel.HAS_KEYLOG:
        features.add("keylog")
    if _lowlevel.HAS_TLS1_3:
        features.add("tls1_3")
    return Backend("openssl", _lowlevel.VERSION_TEXT, OpenSSLClientContext, OpenSSLServerContext,
                   supported_versions(), features, native_library=_lowlevel.LIBRARY_PATH,
                   describe_trust_store=describe_trust_store)


def load_pkcs12(data, password, origin):
    """Read a PKCS#12 file with libcrypto's parser: ``(leaf_der, [other DERs], key_pem)``.

    Raises:
        ValueError: not PKCS#12, wrong password, no key. ConfigurationError: a legacy file without the legacy
        provider (see ``_pkcs12``).
    """
    from ._pkcs12 import load_pkcs12 as load  # on first use: most programs never read PKCS#12
    return load(data, password, origin)
