# -*- coding: utf-8 -*-
"""The macOS backend: SecureTransport (Security.framework) for TLS, SecTrust for verification, a temporary keychain
for our own identities, through ctypes.

Importing this package works on every OS and loads nothing, so Linux tests can inspect the declaration tables
(``_security``, ``_corefoundation``). :func:`load_backend` loads the frameworks by full path and raises ImportError
with the reason off macOS - unless the test-only override ``NATIVETLS_MAC_FRAMEWORKS`` names a SecureTransport
double (``docs/backend-macos.md``).
"""
from __future__ import absolute_import, division, print_function, unicode_literals

__all__ = ["load_backend", "load_pkcs12"]


def load_backend():
    """Return the SecureTransport :class:`nativetls._backend.Backend`.

    Raises:
        ImportError: not on macOS (and no override), or a framework lacks a required symbol (the message names it).
    """
    from ._types import framework_path
    framework_path("Security")  # raises ImportError with the reason off macOS
    from ._context import make_backend
    return make_backend()


def load_pkcs12(data, password, origin):
    """Read a PKCS#12 file with SecPKCS12Import: ``(leaf_der, [other DERs], None)`` (see ``_pkcs12``); the key
    stays in the file, which each context imports into its own temporary keychain.

    Raises:
        ValueError: not PKCS#12, wrong password, no key. ConfigurationError: what this system cannot decrypt.
    """
    from ._pkcs12 import read_pkcs12
    return read_pkcs12(data, password, origin)
