# -*- coding: utf-8 -*-
"""From a validated TLSConfiguration to SecureTransport settings: the SecureTransport ClientContext and ServerContext.

Everything a configuration asks for is checked here, when the context is made; what SecureTransport cannot honour
raises ConfigurationError now:

* versions: TLS 1.0 to 1.2 only (``kTLSProtocol13`` and ``kTLSProtocolMaxSupported`` give ``errSSLIllegalParam``,
  MACOS.md point 10); a minimum is always set (the defaults are SSL 3 on clients, TLS 1.0 on servers); asking for
  TLS 1.3 or SSL 3 is a ConfigurationError;
* ALPN on clients only (10.12+): a SecureTransport server cannot do ALPN at all (coreTLS's ClientHello parser has
  no ALPN case), so a server configuration with ``inner_protocols`` is refused; names SecureTransport would drop
  silently (over 31 bytes, non-ASCII) are refused too (point 11);
* ciphers: ``SSLSetEnabledCiphers`` with the configured suites, each of which SecureTransport must support here;
* revocation (``TrustStore.with_crls``) is not implemented: refused rather than skipped.

Each buffer gets its own ``SSLContextRef`` (``_buffer``); what connections share - the anchors, the identities in
the context's temporary keychain, the cipher list - lives in :class:`_Native`.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
import platform
import warnings
from ctypes import byref, c_size_t

from .._config import DEFAULT_LOWEST_VERSION, is_default_cipher_list
from .._contexts import NamedChains, NativeClientContext, SNIServerContext, chain_names
from .._enums import TLSVersion
from .._errors import ConfigurationError, SecurityWarning
from . import _security as S
from ._keychain import TemporaryKeychain
from ._lowlevel import CFRef, certificate_ref, cfarray, sec
from ._types import SSLCipherSuite, framework_path, override_path

__all__ = ["SecureTransportClientContext", "SecureTransportServerContext", "make_backend", "SUPPORTED_VERSIONS"]

_ORDER = [TLSVersion.TLSv1, TLSVersion.TLSv1_1, TLSVersion.TLSv1_2]
_PROTOCOLS = {TLSVersion.TLSv1: S.kTLSProtocol1, TLSVersion.TLSv1_1: S.kTLSProtocol11,
              TLSVersion.TLSv1_2: S.kTLSProtocol12}
SUPPORTED_VERSIONS = frozenset(_ORDER)


def version_range(configuration):
    """The (min, max) SSLProtocol values for the configured range.

    Raises:
        ConfigurationError: a bound SecureTransport cannot speak (SSL 2/3, TLS 1.3), or an empty range.
    """
    lowest = configuration.lowest_supported_version or DEFAULT_LOWEST_VERSION
    highest = configuration.highest_supported_version or TLSVersion.MAXIMUM_SUPPORTED
    for bound in (lowest, highest):
        if bound in (TLSVersion.SSLv2, TLSVersion.SSLv3, TLSVersion.TLSv1_3):
            raise ConfigurationError("%s is not supported by the SecureTransport backend (it speaks TLS 1.0 to "
                                     "1.2; TLS 1.3 on macOS needs Network.framework)" % bound.value)
    low = _ORDER[0] if lowest is TLSVersion.MINIMUM_SUPPORTED else lowest
    high = _ORDER[-1] if highest is TLSVersion.MAXIMUM_SUPPORTED else highest
    if _ORDER.index(low) > _ORDER.index(high):
        raise ConfigurationError("no TLS version between %s and %s is available here" % (low.value, high.value))
    if _ORDER.index(low) < _ORDER.index(TLSVersion.TLSv1_2):
        warnings.warn("nativetls: %s allowed by lowest_supported_version; TLS below 1.2 is deprecated (RFC 8996)"
                      % low.value, SecurityWarning, stacklevel=5)
    return _PROTOCOLS[low], _PROTOCOLS[high]


def _alpn_list(configuration):
    result = []
    for proto in configuration.inner_protocols or ():
        value = getattr(proto, "value", proto)
        value = value if isinstance(value, bytes) else value.encode("ascii")
        if len(value) > 31 or any(byte > 127 for byte in bytearray(value)):
            # SecureTransport drops such names silently (MACOS.md point 11): refuse instead.
            raise ConfigurationError("SecureTransport cannot offer the ALPN name %r (over 31 bytes or not ASCII)"
                                     % (value,))
        result.append(value)
    if sum(len(p) + 1 for p in result) > 255:
        raise ConfigurationError("SecureTransport takes at most 255 bytes of ALPN names")
    return tuple(result)


def _supported_ciphers():
    """The suites SecureTransport supports here (asked of a throwaway client context once)."""
    if not _SUPPORTED_CIPHERS:
        context = CFRef(sec().SSLCreateContext(None, S.kSSLClientSide, S.kSSLStreamType))
        try:
            count = c_size_t()
            sec().SSLGetNumberSupportedCiphers(context.value, byref(count))
            suites = (SSLCipherSuite * max(count.value, 1))()
            sec().SSLGetSupportedCiphers(context.value, suites, byref(count))
            _SUPPORTED_CIPHERS.append(frozenset(int(s) for s in suites[:count.value]))
        finally:
            context.close()
    return _SUPPORTED_CIPHERS[0]


_SUPPORTED_CIPHERS = []


def _cipher_array(configuration):
    if configuration.ciphers is None:
        return None
    supported = _supported_ciphers()
    suites = [int(s) for s in configuration.ciphers]
    if is_default_cipher_list(configuration):  # the recommended suites SecureTransport has (none of TLS 1.3's)
        suites = [s for s in suites if s in supported]
    missing = [s for s in suites if s not in supported]
    if missing:
        raise ConfigurationError("SecureTransport does not support the cipher suite(s) %s"
                                 % ", ".join("0x%04X" % s for s in missing))
    return (SSLCipherSuite * len(suites))(*suites)


class _Native(NamedChains):
    """What every connection of a context (or of one configuration an SNI callback returned) shares."""

    def __init__(self, configuration, server):
        if configuration.trust_store is not None and configuration.trust_store.crls:
            raise ConfigurationError("the SecureTransport backend does not check CRLs yet (TrustStore.with_crls); "
                                     "use a trust store without CRLs, or the OpenSSL backend")
        if server and configuration.inner_protocols:
            raise ConfigurationError("a SecureTransport server cannot negotiate ALPN (inner_protocols): its "
                                     "ClientHello parser has no ALPN case; feature \"alpn\" covers clients only")
        self.configuration = configuration
        self.server = server
        self.versions = version_range(configuration)
        self.alpn = _alpn_list(configuration)
        if self.alpn and not getattr(sec(), "HAS_SSLSetALPNProtocols", False):
            raise ConfigurationError("this SecureTransport has no ALPN (SSLSetALPNProtocols: macOS 10.12.4+)")
        self.ciphers = _cipher_array(configuration)
        self.verify = server or bool(configuration.validate_certificates)
        self.client_auth = server and configuration.trust_store is not None
        self.anchors = None
        store = configuration.trust_store
        if store is not None and not store.is_system:
            refs = [certificate_ref(c.to_der()) for c in store.certificates]
            try:
                self.anchors = cfarray(refs)
            finally:
                for ref in refs:
                    ref.close()
        self.keychain = None
        self.identities = []
        self.names = []
        chains = configuration.signing_chains
        if chains:
            self.keychain = TemporaryKeychain()
            try:
                self.identities = [self.keychain.identity(chain) for chain in chains]
            except BaseException:
                self.close()
                raise
            self.names = [chain_names(chain) for chain in chains] if server else []

    def close(self):
        """Free the anchors, identities and the temporary keychain (file included)."""
        for identity in self.identities:
            identity.close()
        self.identities = []
        if self.anchors is not None:
            self.anchors.close()
            self.anchors = None
        if self.keychain is not None:
            self.keychain.close()
            self.keychain = None


class SecureTransportClientContext(NativeClientContext):
    """The SecureTransport :class:`~nativetls.ClientContext` (see the abstract class for the contract)."""

    _Native = _Native

    @staticmethod
    def _buffer_class():
        from ._buffer import SecureTransportBuffer
        return SecureTransportBuffer

    def __del__(self):  # the temporary keychain file goes with the context
        try:
            self.close()
        except Exception:
            pass


class SecureTransportServerContext(SNIServerContext):
    """The SecureTransport :class:`~nativetls.ServerContext` (see the abstract class for the contract).

    The SNI callback and the choice among several signing chains happen before the first ``SSLHandshake``, on the
    SNI name nativetls reads from the ClientHello (``nativetls._wire``), as on SChannel. No ALPN (see the module
    docstring).
    """

    _Native = _Native

    @staticmethod
    def _buffer_class():
        from ._buffer import SecureTransportBuffer
        return SecureTransportBuffer

    def __del__(self):  # the temporary keychain files go with the context
        try:
            self.close()
        except Exception:
            pass


def _native_version():
    if override_path():
        return "SecureTransport double (NATIVETLS_MAC_FRAMEWORKS)"
    return "SecureTransport (macOS %s)" % (platform.mac_ver()[0] or "unknown")


def make_backend():
    """The SecureTransport Backend (features: no TLS 1.3, ALPN on clients only, no key log)."""
    from .._backend import Backend
    functions = sec()
    features = {"server", "client_auth", "sni_callback", "session_resumption"}
    if getattr(functions, "HAS_SSLSetALPNProtocols", False) and getattr(functions, "HAS_SSLCopyALPNProtocols",
                                                                       False):
        features.add("alpn")
    return Backend("securetransport", _native_version(), SecureTransportClientContext,
                   SecureTransportServerContext, SUPPORTED_VERSIONS, features,
                   native_library=framework_path("Security"))


_ = ctypes
