# -*- coding: utf-8 -*-
"""What the SChannel and SecureTransport backends share above their native calls (private, backend-neutral).

Both keep what every connection of a context shares in a backend ``_Native`` made from one configuration
(``_Native(configuration, server)``), and both choose a server's configuration and signing chain before their
native library sees the ClientHello, on the SNI name nativetls reads from it (``_wire``): SChannel fixes the
certificate with the first ``AcceptSecurityContext``, SecureTransport with the first ``SSLHandshake``. So:

* :func:`chain_names` and :func:`name_matches`: the names a signing chain's leaf is valid for, and the match of an
  SNI name against them (OpenSSL's servername callback uses them too);
* :class:`NamedChains`: ``_Native.select`` over ``_Native.names``;
* :class:`SNIChoice`: the buffer's call of the ``sni_callback`` (a failure queues a fatal internal_error alert);
* :class:`NativeClientContext` and :class:`SNIServerContext`: the context classes over a ``_Native``.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import threading

from ._abc import ClientContext, ServerContext, run_sni_callback
from ._compat import raise_from
from ._errors import ConfigurationError, TLSError
from ._state import State
from ._wire import INTERNAL_ERROR, fatal_alert

__all__ = ["chain_names", "name_matches", "NamedChains", "SNIChoice", "NativeClientContext", "SNIServerContext"]


def chain_names(chain):
    """The DNS names (lower-case A-labels) in a signing chain's leaf subjectAltName, for SNI chain selection."""
    try:
        san = chain.leaf[0].asn1.subject_alt_name_value
    except Exception:
        return frozenset()
    # The raw IA5String, not ``.native`` (which IDNA-decodes to U-labels): SNI names are compared as A-labels.
    return frozenset(name.chosen.contents.decode("ascii", "replace").lower() for name in san or ()
                     if name.name == "dns_name")


def name_matches(patterns, server_name):
    """Whether *server_name* (A-label) matches any of *patterns* (with left-most-label wildcards)."""
    server_name = server_name.lower().rstrip(".")
    if server_name in patterns:
        return True
    _head, _, rest = server_name.partition(".")
    return bool(rest) and ("*." + rest) in patterns


class NamedChains(object):
    """Mixed into a backend's ``_Native``, whose ``names`` lists :func:`chain_names` per signing chain."""

    def select(self, server_name):
        """The index of the signing chain for *server_name* (A-label, or None): the first whose leaf names it,
        else the first (PEP 748)."""
        if server_name:
            for index, names in enumerate(self.names):
                if name_matches(names, server_name):
                    return index
        return 0


class SNIChoice(object):
    """Mixed into a server TLSBuffer (before ``TLSBuffer``) that keeps ``_context``, ``_native``, ``_outgoing``,
    ``_state`` and ``_failure``."""

    __slots__ = ()

    def _sni_native(self, name):
        """The ``_Native`` for the SNI *name* (A-label or None) read from the ClientHello: the context's own, or
        the one for the configuration its ``sni_callback`` returns. A callback that raises or returns something
        else fails the handshake: a fatal internal_error alert is queued (plaintext: no keys exist yet) and
        TLSError raised with the callback's exception as ``__cause__``."""
        native = self._native
        if native.configuration.sni_callback is None:
            return native
        try:
            return self._context._natives_for(run_sni_callback(self, name, native.configuration))
        except BaseException as exc:
            self._outgoing += fatal_alert(INTERNAL_ERROR)
            error = TLSError("the SNI callback failed: %s: %s" % (type(exc).__name__, exc))
            self._state, self._failure = State.FAILED, error
            raise_from(error, exc)


class NativeClientContext(ClientContext):
    """A :class:`~nativetls.ClientContext` over one ``_Native`` (see the abstract class for the contract). A
    subclass names its ``_Native`` class and returns its buffer class from ``_buffer_class()`` (imported late:
    the buffer module imports the context module)."""

    _Native = None

    def __init__(self, configuration):
        super(NativeClientContext, self).__init__(configuration)  # at most one signing chain: checked there
        self._native = self._Native(configuration, server=False)

    @staticmethod
    def _buffer_class():
        raise NotImplementedError

    def wrap_buffers(self, server_hostname, session=None):
        return self._buffer_class()(self, self._native, server_hostname=server_hostname, session=session)

    def close(self):
        """Free the context's native objects now."""
        self._native.close()


class SNIServerContext(ServerContext):
    """A :class:`~nativetls.ServerContext` over one ``_Native`` per configuration: the context's own, and one for
    each configuration its ``sni_callback`` returns (made once, then cached; see the abstract class for the
    contract). A subclass names its ``_Native`` class and returns its buffer class from ``_buffer_class()``;
    ``_new_native`` is where it checks what its backend cannot do."""

    _Native = None

    def __init__(self, configuration):
        super(SNIServerContext, self).__init__(configuration)
        self._check_server_side()
        if not configuration.signing_chains:
            raise ConfigurationError("a ServerContext needs a certificate_chain")
        self._lock = threading.Lock()
        self._native = self._new_native(configuration)
        self._by_configuration = {}  # configurations returned by sni_callback -> their _Native

    @staticmethod
    def _buffer_class():
        raise NotImplementedError

    def _check_server_side(self):
        """Raise ConfigurationError where this system has no server side at all (by default it has one)."""

    def _new_native(self, configuration):
        """A new server ``_Native`` for *configuration* (ConfigurationError for what the backend cannot do)."""
        return self._Native(configuration, server=True)

    def wrap_buffers(self):
        return self._buffer_class()(self, self._native, server=True)

    def _natives_for(self, configuration):
        """The _Native for a configuration the SNI callback returned (made once, then cached).

        Raises:
            ConfigurationError: it has no certificate_chain, or asks for what the backend cannot do.
        """
        if configuration is self.configuration:
            return self._native
        with self._lock:
            try:
                native = self._by_configuration.get(configuration)
            except TypeError:  # unhashable: made for this connection only
                native = None
            if native is None:
                if not configuration.signing_chains:
                    raise ConfigurationError("the configuration returned by sni_callback has no certificate_chain")
                native = self._new_native(configuration)
                try:
                    self._by_configuration[configuration] = native
                except TypeError:
                    pass
            return native

    def close(self):
        """Free the native objects of the context and of the configurations its SNI callback returned now."""
        with self._lock:
            self._native.close()
            for native in self._by_configuration.values():
                native.close()
            self._by_configuration.clear()
