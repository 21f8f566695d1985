# -*- coding: utf-8 -*-
"""Backend selection: one Backend per process, chosen by OS (``NATIVETLS_BACKEND`` overrides), loaded lazily."""
from __future__ import absolute_import, division, print_function, unicode_literals

import importlib
import os
import sys
import threading

__all__ = ["Backend", "backend", "BACKEND_NAMES", "FEATURE_NAMES"]

#: Backend name -> the package that provides ``load_backend()``.
BACKEND_NAMES = {
    "openssl": "nativetls._openssl",
    "schannel": "nativetls._win",
    "securetransport": "nativetls._mac",
}

#: Every feature name a backend may report in ``Backend.features``.
FEATURE_NAMES = frozenset([
    "server", "alpn", "sni_callback", "client_auth", "session_resumption", "keylog", "tls1_3",
])


class Backend(object):
    """What a TLS backend offers: its context classes and what it supports.

    Attributes:
        name: ``"openssl"``, ``"schannel"`` or ``"securetransport"``.
        native_version: the native library's own version string.
        client_context, server_context: the backend's ClientContext and ServerContext classes.
        certificate, private_key, trust_store: the value classes (PEP 543).
        supported_versions: frozenset of the concrete :class:`TLSVersion` members this backend can speak here.
        features: frozenset of feature names (see :data:`FEATURE_NAMES`); a name present means supported.
        native_library: where the native library was loaded from (a path or soname), or None.
        describe_trust_store: a callable returning a dict (``location``, ``source``, ``roots``) describing the
            system trust store, or None.
    """

    def __init__(self, name, native_version, client_context, server_context, supported_versions, features,
                 native_library=None, describe_trust_store=None):
        from ._objects import Certificate, PrivateKey, TrustStore
        unknown = set(features) - FEATURE_NAMES
        if unknown:
            raise ValueError("unknown feature names: %s" % sorted(unknown))
        self.name = name
        self.native_version = native_version
        self.native_library = native_library
        self.describe_trust_store = describe_trust_store
        self.client_context = client_context
        self.server_context = server_context
        self.certificate = Certificate
        self.private_key = PrivateKey
        self.trust_store = TrustStore
        self.supported_versions = frozenset(supported_versions)
        self.features = frozenset(features)

    def __repr__(self):
        return "<Backend %s (%s)>" % (self.name, self.native_version)


_lock = threading.Lock()
_loaded = {}
_default = []


def _default_name():
    override = os.environ.get("NATIVETLS_BACKEND")
    if override:
        return override.strip().lower()
    if sys.platform == "win32":
        return "schannel"
    if sys.platform == "darwin":
        return "securetransport"
    return "openssl"


def backend(name=None):
    """Return the :class:`Backend` in use, or the one called *name*.

    The default is chosen once per process by OS (Windows: schannel, macOS: securetransport, else openssl); the
    environment variable ``NATIVETLS_BACKEND`` overrides it.

    Raises:
        ImportError: the backend cannot be used here (the message says why).
        ValueError: *name* is not a backend name.
    """
    with _lock:
        if name is None:
            if not _default:
                _default.append(_default_name())
            name = _default[0]
        if name not in BACKEND_NAMES:
            raise ValueError("unknown backend %r (choose from %s)" % (name, ", ".join(sorted(BACKEND_NAMES))))
        if name not in _loaded:
            module = importlib.import_module(BACKEND_NAMES[name])
            _loaded[name] = module.load_backend()
        return _loaded[name]
