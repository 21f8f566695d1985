# -*- coding: utf-8 -*-
"""Backend selection: one Backend per process, chosen by OS (``NATIVETLS_BACKEND`` overrides), loaded lazily."""
from __future__ import absolute_import, division, print_function, unicode_literals

import importlib
import os
import sys
import threading

__all__ = ["Backend", "backend", "TLSImplementation", "BACKEND_NAMES", "FEATURE_NAMES"]

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


class TLSImplementation(object):
    """PEP 748's runtime access to one TLS implementation: its context classes and its configuration check.

    Every :class:`Backend` is one (``nativetls.backend()`` is the PEP 748 implementation object); the class can
    also be made directly, as in PEP 748.

    Attributes:
        client_context, server_context: the ClientContext and ServerContext classes.
        validate_config: a callable taking a configuration; it raises :class:`ConfigurationError` naming what
            the implementation cannot honour, and returns None otherwise.
    """

    def __init__(self, client_context, server_context, validate_config):
        self.client_context = client_context
        self.server_context = server_context
        self.validate_config = validate_config

    def __repr__(self):
        return "<TLSImplementation %s/%s>" % (self.client_context.__name__, self.server_context.__name__)


class Backend(TLSImplementation):
    """What a TLS backend offers: its context classes and what it supports (a PEP 748 :class:`TLSImplementation`).

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
        validate_config: ``validate_config(configuration, server=None)`` (PEP 748) raises
            :class:`ConfigurationError` for what this backend cannot honour, by making (and freeing) the context
            the configuration asks for: the same check, with the same message, as making the context. ``server``
            None means "a :class:`TLSServerConfiguration` is a server's, anything else a client's".
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
        TLSImplementation.__init__(self, client_context, server_context, self._validate_config)
        self.certificate = Certificate
        self.private_key = PrivateKey
        self.trust_store = TrustStore
        self.supported_versions = frozenset(supported_versions)
        self.features = frozenset(features)

    def _validate_config(self, configuration, server=None):
        """Check *configuration* on this backend exactly as making a context does, without keeping one.

        Args:
            configuration: a :class:`TLSConfiguration` (or one of PEP 748's two classes).
            server: True to check it as a server's, False as a client's; None (the default) decides by class, a
                :class:`TLSServerConfiguration` being a server's and anything else a client's.

        Raises:
            ConfigurationError: what this backend cannot honour (the message names it). TypeError: not a
                configuration.
        """
        from ._config import TLSConfiguration, TLSServerConfiguration
        if not isinstance(configuration, TLSConfiguration):
            raise TypeError("configuration must be a TLSConfiguration, not %s" % type(configuration).__name__)
        if server is None:
            server = isinstance(configuration, TLSServerConfiguration)
        context = (self.server_context if server else self.client_context)(configuration)
        close = getattr(context, "close", None)
        if close is not None:
            close()

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
