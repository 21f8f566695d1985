# -*- coding: utf-8 -*-
"""PEP 748's ``insecure`` module: contexts that skip checks, for tests and diagnostics only.

Everything here is built on switches nativetls already has, and is as loud as they are: making an
:class:`InsecureConfiguration`, an insecure context or an :class:`InsecureTLSImplementation` warns with
:class:`SecurityWarning` every time.

- ``disable_hostname_check=True``: the peer's chain is still verified against the trust store, but not its host
  name (the client wraps with ``server_hostname=None``, which also means that no SNI name is sent).
- ``disable_verification=True`` (needs ``disable_hostname_check=True``): the chain is not verified either (clients:
  ``validate_certificates=False``; servers: no client certificate is asked for, the trust store is ignored).

A better option is almost always a :class:`nativetls.TrustStore` holding the peer's own (self-signed) certificate.

Usage, as in PEP 748::

    from nativetls import insecure
    implementation = insecure.implementation()      # the default backend's InsecureTLSImplementation
    ctx = implementation.insecure_client_context(configuration, insecure.InsecureConfiguration(
        disable_hostname_check=True, disable_verification=True))
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import threading
import warnings

from ._abc import ClientContext, ServerContext
from ._backend import TLSImplementation, backend
from ._config import TLSConfiguration
from ._errors import SecurityWarning

__all__ = [str(name) for name in (
    "SecurityWarning", "InsecureConfiguration", "InsecureClientContext", "InsecureServerContext",
    "InsecureTLSImplementation", "implementation",
)]


class InsecureConfiguration(object):
    """The checks an insecure context skips (PEP 748). Making one warns with :class:`SecurityWarning`.

    Args:
        disable_hostname_check (bool): do not check the peer certificate's host name (clients).
        disable_verification (bool): do not verify the peer's chain at all; needs ``disable_hostname_check``.

    Raises:
        ValueError: ``disable_verification`` without ``disable_hostname_check``. TypeError: not booleans.
    """

    __slots__ = ("_disable_hostname_check", "_disable_verification")

    def __init__(self, disable_hostname_check=False, disable_verification=False):
        if not isinstance(disable_hostname_check, bool) or not isinstance(disable_verification, bool):
            raise TypeError("disable_hostname_check and disable_verification must be True or False")
        warnings.warn("nativetls.insecure: an InsecureConfiguration turns TLS checks off; never use it in "
                      "production", SecurityWarning, stacklevel=2)
        if disable_verification and not disable_hostname_check:
            raise ValueError("disable_verification needs disable_hostname_check=True as well")
        self._disable_hostname_check = disable_hostname_check
        self._disable_verification = disable_verification

    disable_hostname_check = property(lambda self: self._disable_hostname_check,
                                      doc="Whether the peer certificate's host name goes unchecked.")
    disable_verification = property(lambda self: self._disable_verification,
                                    doc="Whether the peer's certificate chain goes unverified.")

    def __repr__(self):
        return "InsecureConfiguration(disable_hostname_check=%r, disable_verification=%r)" % (
            self._disable_hostname_check, self._disable_verification)


def _check(tls_configuration, insecure_configuration):
    if not isinstance(tls_configuration, TLSConfiguration):
        raise TypeError("tls_configuration must be a TLSConfiguration, not %s" % type(tls_configuration).__name__)
    if not isinstance(insecure_configuration, InsecureConfiguration):
        raise TypeError("insecure_configuration must be an InsecureConfiguration, not %s"
                        % type(insecure_configuration).__name__)


class _InsecureContext(object):
    """What the two insecure contexts share: the argument checks and the warning, the two configurations,
    ``insecure_configuration`` and ``close()``. The backend's own context is ``_inner``."""

    _backend_name = None  # None: the default backend (implementation(name) makes subclasses bound to one)

    def _start(self, side, tls_configuration, insecure_configuration):
        """Check the arguments, warn in the caller's name, keep both configurations; returns the backend."""
        _check(tls_configuration, insecure_configuration)
        warnings.warn("nativetls.insecure: an insecure %s context skips TLS checks (%r); never use it in "
                      "production" % (side, insecure_configuration), SecurityWarning, stacklevel=3)
        self._configuration = tls_configuration
        self._insecure = insecure_configuration
        return backend(self._backend_name)

    @property
    def insecure_configuration(self):
        """The :class:`InsecureConfiguration` this context was made with."""
        return self._insecure

    def close(self):
        """Free the backend context now, where the backend has ``close()``."""
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


class InsecureClientContext(_InsecureContext, ClientContext):
    """A client context that skips the checks *insecure_configuration* names (PEP 748). Warns when made.

    ``configuration`` is *tls_configuration* as given; the connections are made by the backend's own client
    context (``validate_certificates=False`` when verification is off), with ``server_hostname=None`` when the
    host-name check is off. ``create_buffer``, ``wrap_buffers``, ``wrap_socket`` and ``connect`` are as on
    :class:`nativetls.ClientContext`; the socket's ``context`` is this object.

    Raises:
        TypeError: wrong argument types. ConfigurationError: as :class:`nativetls.ClientContext`.
    """

    def __init__(self, tls_configuration, insecure_configuration):
        chosen = self._start("client", tls_configuration, insecure_configuration)
        configuration = tls_configuration
        if insecure_configuration.disable_verification and configuration.validate_certificates:
            with warnings.catch_warnings():  # warned above, in the caller's words
                warnings.simplefilter("ignore", SecurityWarning)
                self._inner = chosen.client_context(configuration.update(validate_certificates=False))
        else:
            self._inner = chosen.client_context(configuration)

    def wrap_buffers(self, server_hostname, session=None):
        """As :meth:`nativetls.ClientContext.wrap_buffers`; *server_hostname* is dropped (no check, no SNI) when
        the host-name check is off."""
        if self._insecure.disable_hostname_check:
            server_hostname = None
        return self._inner.wrap_buffers(server_hostname, session=session)


class InsecureServerContext(_InsecureContext, ServerContext):
    """A server context that skips the checks *insecure_configuration* names (PEP 748). Warns when made.

    With ``disable_verification`` the server asks for no client certificate (the configuration's trust store is
    ignored); the host-name check does not apply to servers.

    Raises:
        TypeError: wrong argument types. ConfigurationError: as :class:`nativetls.ServerContext`.
    """

    def __init__(self, tls_configuration, insecure_configuration):
        chosen = self._start("server", tls_configuration, insecure_configuration)
        configuration = tls_configuration
        if insecure_configuration.disable_verification and configuration.trust_store is not None:
            configuration = configuration.update(trust_store=None)
        self._inner = chosen.server_context(configuration)

    def wrap_buffers(self):
        """As :meth:`nativetls.ServerContext.wrap_buffers`."""
        return self._inner.wrap_buffers()


class InsecureTLSImplementation(TLSImplementation):
    """PEP 748's insecure implementation object: a :class:`nativetls.TLSImplementation` that also has
    ``insecure_client_context`` and ``insecure_server_context``. Making one warns with :class:`SecurityWarning`."""

    def __init__(self, client_context, server_context, validate_config, insecure_client_context,
                 insecure_server_context):
        warnings.warn("nativetls.insecure: an InsecureTLSImplementation can turn TLS checks off; never use it in "
                      "production", SecurityWarning, stacklevel=2)
        TLSImplementation.__init__(self, client_context, server_context, validate_config)
        self.insecure_client_context = insecure_client_context
        self.insecure_server_context = insecure_server_context


_bound = {}
_bound_lock = threading.Lock()


def implementation(name=None):
    """The :class:`InsecureTLSImplementation` of the backend *name* (None: the default one). Warns.

    Raises:
        ImportError, ValueError: as :func:`nativetls.backend`.
    """
    chosen = backend(name)
    with _bound_lock:
        if chosen.name not in _bound:
            attributes = {"_backend_name": chosen.name, "__doc__": InsecureClientContext.__doc__}
            client = type(str("InsecureClientContext"), (InsecureClientContext,), attributes)
            attributes = {"_backend_name": chosen.name, "__doc__": InsecureServerContext.__doc__}
            server = type(str("InsecureServerContext"), (InsecureServerContext,), attributes)
            _bound[chosen.name] = (client, server)
        client, server = _bound[chosen.name]
    return InsecureTLSImplementation(chosen.client_context, chosen.server_context, chosen.validate_config,
                                     client, server)
