# -*- coding: utf-8 -*-
"""From a validated TLSConfiguration to SChannel credentials: the SChannel ClientContext and ServerContext.

Everything a configuration asks for is checked here, when the context is made; what SChannel cannot honour raises
ConfigurationError now. Credentials are acquired per connection (``_Native.acquire``): SChannel caches sessions
per credentials handle, so a connection resumes exactly when it is given the :class:`SChannelSession` of an
earlier one, as on the other backends.

Credentials structure: ``SCH_CREDENTIALS`` (Windows 10 1809+, required for TLS 1.3) is tried first when the
configured range includes TLS 1.3; a system that rejects it (``SEC_E_UNKNOWN_CREDENTIALS``/``SEC_E_INTERNAL_ERROR``/
``SEC_E_INVALID_TOKEN``) gets ``SCHANNEL_CRED`` from then on. Which one works is remembered per process. A range
without TLS 1.3 always uses ``SCHANNEL_CRED``, whose version bits every SChannel honours (Wine 10 ignores
``SCH_CREDENTIALS``' TLS_PARAMETERS).
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
import sys
import warnings
from ctypes import byref

from .._config import DEFAULT_LOWEST_VERSION, is_default_cipher_list, versions_for_ciphers
from .._contexts import NamedChains, NativeClientContext, SNIServerContext, chain_names
from .._enums import TLSVersion
from .._errors import ConfigurationError, SecurityWarning, TLSError
from . import _secur32 as S
from ._lowlevel import UNISP_NAME, Credentials, SecBuffers, SecurityContext, describe, secur32
from ._types import NativeError, status_name
from ._keys import LocalCredential
from ._verify import ChainEngine

__all__ = ["SChannelClientContext", "SChannelServerContext", "supported_versions", "make_backend"]

_ORDER = [TLSVersion.TLSv1, TLSVersion.TLSv1_1, TLSVersion.TLSv1_2, TLSVersion.TLSv1_3]
_CLIENT_BITS = {
    TLSVersion.TLSv1: S.SP_PROT_TLS1_0_CLIENT, TLSVersion.TLSv1_1: S.SP_PROT_TLS1_1_CLIENT,
    TLSVersion.TLSv1_2: S.SP_PROT_TLS1_2_CLIENT, TLSVersion.TLSv1_3: S.SP_PROT_TLS1_3_CLIENT,
}
# SP_PROT_*_SERVER is the matching *_CLIENT bit shifted right by one.
_SERVER_BITS = dict((version, bit >> 1) for version, bit in _CLIENT_BITS.items())
_ALL_CLIENT_BITS = S.SP_PROT_SSL3_CLIENT | S.SP_PROT_SSL2_CLIENT
for _bit in _CLIENT_BITS.values():
    _ALL_CLIENT_BITS |= _bit
_ALL_SERVER_BITS = _ALL_CLIENT_BITS >> 1

# [None] until tried; then True when SCH_CREDENTIALS is accepted here.
_SCH_CREDENTIALS_WORKS = [None]
_FALLBACK_STATUSES = (S.SEC_E_UNKNOWN_CREDENTIALS, S.SEC_E_INTERNAL_ERROR, S.SEC_E_INVALID_TOKEN,
                      S.SEC_E_UNSUPPORTED_FUNCTION, S.SEC_E_INVALID_PARAMETER)
_SUPPORTED = []


def _acquire_raw(auth_data, inbound=False):
    handle = S.SecHandle()
    status = secur32().AcquireCredentialsHandleW(
        None, UNISP_NAME, S.SECPKG_CRED_INBOUND if inbound else S.SECPKG_CRED_OUTBOUND, None, byref(auth_data),
        None, None, byref(handle), None)
    return status, handle


def _refused(status):
    return TLSError("SChannel refused the credentials: %s" % describe("AcquireCredentialsHandleW", status),
                    native_code=status, native_message=status_name(status))


def acquire_credentials(protocol_bits, flags, local=None, inbound=False):
    """A new :class:`Credentials` enabling *protocol_bits* (SP_PROT_*_CLIENT, or *_SERVER when *inbound*).

    Args:
        local: the :class:`~._keys.LocalCredential` to present, or None. The credentials keep it alive.
        inbound: True for a server (``SECPKG_CRED_INBOUND``).

    Raises:
        TLSError: SChannel refused every credentials structure (the message names the status).
    """
    every = _ALL_SERVER_BITS if inbound else _ALL_CLIENT_BITS
    certs = None
    if local is not None:
        certs = (ctypes.c_void_p * 1)(ctypes.cast(local.leaf.handle, ctypes.c_void_p).value)
    keep = (local, certs)
    status = None
    # SCH_CREDENTIALS only where TLS 1.3 may be negotiated (or the system defaults are asked for): it is the one
    # structure that can enable TLS 1.3, but Wine 10 accepts it and ignores its TLS_PARAMETERS (versions), while
    # SCHANNEL_CRED's grbitEnabledProtocols is honoured by every Windows and Wine.
    wants_tls13 = not protocol_bits or protocol_bits & (S.SP_PROT_TLS1_3_CLIENT | S.SP_PROT_TLS1_3_SERVER)
    if _SCH_CREDENTIALS_WORKS[0] is not False and wants_tls13:
        params = S.TLS_PARAMETERS(grbitDisabledProtocols=every & ~protocol_bits)
        cred = S.SCH_CREDENTIALS(dwVersion=S.SCH_CREDENTIALS_VERSION, dwFlags=flags, cTlsParameters=1,
                                 pTlsParameters=ctypes.pointer(params))
        if certs is not None:
            cred.cCreds, cred.paCred = 1, ctypes.cast(certs, ctypes.c_void_p)
        status, handle = _acquire_raw(cred, inbound)
        if status == S.SEC_E_OK:
            _SCH_CREDENTIALS_WORKS[0] = True
            return Credentials(handle, keep)
        if status not in _FALLBACK_STATUSES or _SCH_CREDENTIALS_WORKS[0]:
            raise _refused(status)
        _SCH_CREDENTIALS_WORKS[0] = False
    cred = S.SCHANNEL_CRED(dwVersion=S.SCHANNEL_CRED_VERSION, grbitEnabledProtocols=protocol_bits, dwFlags=flags)
    if certs is not None:
        cred.cCreds, cred.paCred = 1, ctypes.cast(certs, ctypes.c_void_p)
    status, handle = _acquire_raw(cred, inbound)
    if status != S.SEC_E_OK:
        raise _refused(status)
    return Credentials(handle, keep)


def acquire_client_credentials(protocol_bits, flags):
    """Outbound credentials without a certificate (see :func:`acquire_credentials`)."""
    return acquire_credentials(protocol_bits, flags)


def supported_versions():
    """The TLS versions SChannel can speak here (asked of SChannel: ``SECPKG_ATTR_SUPPORTED_PROTOCOLS``)."""
    if not _SUPPORTED:
        flags = S.SCH_CRED_MANUAL_CRED_VALIDATION | S.SCH_CRED_NO_DEFAULT_CREDS
        creds = acquire_client_credentials(S.SP_PROT_NONE, flags)  # 0: the system defaults
        bits = S.SecPkgCred_SupportedProtocols()
        try:
            secur32().QueryCredentialsAttributesW(byref(creds.handle), S.SECPKG_ATTR_SUPPORTED_PROTOCOLS,
                                                  byref(bits))
            grbit = bits.grbitProtocol
        except NativeError:  # pragma: no cover - very old systems: assume TLS 1.0-1.2
            grbit = S.SP_PROT_TLS1_0_CLIENT | S.SP_PROT_TLS1_1_CLIENT | S.SP_PROT_TLS1_2_CLIENT
        finally:
            creds.close()
        _SUPPORTED.append(frozenset(v for v, bit in _CLIENT_BITS.items() if grbit & bit))
    return _SUPPORTED[0]


_PROBES = {}


def _probe(name, function):
    if name not in _PROBES:
        _PROBES[name] = function()
    return _PROBES[name]


def _probe_server():
    """Whether AcceptSecurityContext is implemented: asked with an outbound handle and one garbage byte. Windows
    rejects the call for what it is (a wrong handle or token); an SChannel without a server side (Wine 8) answers
    SEC_E_UNSUPPORTED_FUNCTION whatever the arguments."""
    creds = acquire_client_credentials(S.SP_PROT_NONE, S.SCH_CRED_MANUAL_CRED_VALIDATION | S.SCH_CRED_NO_DEFAULT_CREDS)
    try:
        inputs = SecBuffers(2).set(0, S.SECBUFFER_TOKEN, b"\x16").set(1, S.SECBUFFER_EMPTY)
        outputs = SecBuffers(1).set(0, S.SECBUFFER_TOKEN)
        ctx, attributes = S.SecHandle(), ctypes.c_uint32()
        status = secur32().AcceptSecurityContext(byref(creds.handle), None, inputs.ref,
                                                 S.ASC_REQ_ALLOCATE_MEMORY | S.ASC_REQ_STREAM, 0, byref(ctx),
                                                 outputs.ref, byref(attributes), None)
        outputs.take_allocated()
        if status in (S.SEC_E_OK, S.SEC_I_CONTINUE_NEEDED):  # pragma: no cover - not with one byte
            SecurityContext(ctx).close()
        return status != S.SEC_E_UNSUPPORTED_FUNCTION
    finally:
        creds.close()


def _probe_session_info():
    """Whether SChannel answers SECPKG_ATTR_SESSION_INFO, without which ``session_reused`` cannot be known (Wine 8
    neither answers it nor resumes). Asked of a context that has only made its ClientHello: an SChannel that knows
    the attribute answers it or refuses for the context's state, one that does not answers
    SEC_E_UNSUPPORTED_FUNCTION."""
    creds = acquire_client_credentials(S.SP_PROT_NONE, S.SCH_CRED_MANUAL_CRED_VALIDATION | S.SCH_CRED_NO_DEFAULT_CREDS)
    ctx = SecurityContext(S.SecHandle())
    try:
        outputs = SecBuffers(1).set(0, S.SECBUFFER_TOKEN)
        attributes = ctypes.c_uint32()
        status = secur32().InitializeSecurityContextW(
            byref(creds.handle), None, "probe.invalid", S.ISC_REQ_ALLOCATE_MEMORY | S.ISC_REQ_STREAM |
            S.ISC_REQ_MANUAL_CRED_VALIDATION, 0, 0, None, 0, byref(ctx.handle), outputs.ref, byref(attributes),
            None)
        outputs.take_allocated()
        if status != S.SEC_I_CONTINUE_NEEDED:
            return False
        info = S.SecPkgContext_SessionInfo()
        try:
            secur32().QueryContextAttributesW(byref(ctx.handle), S.SECPKG_ATTR_SESSION_INFO, byref(info))
        except NativeError as exc:
            return exc.code != S.SEC_E_UNSUPPORTED_FUNCTION
        return True
    finally:
        ctx.close()
        creds.close()


def server_supported():
    """Feature "server": AcceptSecurityContext is implemented here (probed once)."""
    return _probe("server", _probe_server)


def resumption_supported():
    """Feature "session_resumption": SChannel reports whether a handshake resumed (probed once)."""
    return _probe("session_info", _probe_session_info)


def _version_bits(configuration, server=False):
    """SP_PROT_*_CLIENT (or *_SERVER) bits for the configured range (ConfigurationError for what SChannel lacks
    here)."""
    lowest = configuration.lowest_supported_version or DEFAULT_LOWEST_VERSION
    highest = configuration.highest_supported_version or TLSVersion.MAXIMUM_SUPPORTED
    available = [v for v in _ORDER if v in supported_versions()]
    for bound in (lowest, highest):
        if bound in (TLSVersion.SSLv2, TLSVersion.SSLv3):
            raise ConfigurationError("%s is not supported by the SChannel backend" % bound.value)
        if bound in _CLIENT_BITS and bound not in available:
            raise ConfigurationError("%s is not supported by SChannel on this system (it offers %s)"
                                     % (bound.value, ", ".join(v.value for v in available)))
    low = available[0] if lowest is TLSVersion.MINIMUM_SUPPORTED else lowest
    high = available[-1] if highest is TLSVersion.MAXIMUM_SUPPORTED else highest
    # The shared check of every backend that takes ciphers (SChannel refuses them before this today, so this is a
    # no-op until it accepts some; it keeps the version bounds holding when it does).
    low, high = versions_for_ciphers(configuration, low, high, available)
    if _ORDER.index(low) < _ORDER.index(TLSVersion.TLSv1_2):
        warnings.warn("nativetls: %s allowed by lowest_supported_version; TLS below 1.2 is deprecated (RFC 8996)"
                      % low.value, SecurityWarning, stacklevel=5)
    bits = 0
    for version in available:
        if _ORDER.index(low) <= _ORDER.index(version) <= _ORDER.index(high):
            bits |= (_SERVER_BITS if server else _CLIENT_BITS)[version]
    if not bits:
        raise ConfigurationError("no TLS version between %s and %s is available here" % (low.value, high.value))
    return bits


def _alpn_list(configuration):
    result = []
    for proto in configuration.inner_protocols or ():
        value = getattr(proto, "value", proto)
        result.append(value if isinstance(value, bytes) else value.encode("ascii"))
    return tuple(result)


def _server_flight(local, flags):
    """The server's first flight (bytes) for a ClientHello of our own client, TLS 1.2, or None if the probe
    handshake could not be made. *flags* are the AcceptSecurityContext requests."""
    client = acquire_credentials(S.SP_PROT_TLS1_2_CLIENT, S.SCH_CRED_MANUAL_CRED_VALIDATION |
                                 S.SCH_CRED_NO_DEFAULT_CREDS)
    server = acquire_credentials(S.SP_PROT_TLS1_2_SERVER, S.SCH_CRED_NO_SYSTEM_MAPPER, local, inbound=True)
    client_ctx, server_ctx = SecurityContext(S.SecHandle()), SecurityContext(S.SecHandle())
    try:
        hello = SecBuffers(1).set(0, S.SECBUFFER_TOKEN)
        attributes = ctypes.c_uint32()
        status = secur32().InitializeSecurityContextW(
            byref(client.handle), None, "probe.invalid", S.ISC_REQ_ALLOCATE_MEMORY | S.ISC_REQ_STREAM |
            S.ISC_REQ_MANUAL_CRED_VALIDATION, 0, 0, None, 0, byref(client_ctx.handle), hello.ref,
            byref(attributes), None)
        token = b"".join(hello.take_allocated())
        if status != S.SEC_I_CONTINUE_NEEDED or not token:
            return None
        inputs = SecBuffers(2).set(0, S.SECBUFFER_TOKEN, token).set(1, S.SECBUFFER_EMPTY)
        outputs = SecBuffers(1).set(0, S.SECBUFFER_TOKEN)
        status = secur32().AcceptSecurityContext(byref(server.handle), None, inputs.ref, flags, 0,
                                                 byref(server_ctx.handle), outputs.ref, byref(attributes), None)
        flight = b"".join(outputs.take_allocated())
        return flight if status == S.SEC_I_CONTINUE_NEEDED else None
    finally:
        client_ctx.close()
        server_ctx.close()
        client.close()
        server.close()


def _probe_certificate_request(local):
    """Whether AcceptSecurityContext with ASC_REQ_MUTUAL_AUTH really sends a CertificateRequest. Wine's does not
    (8 and 10: its GnuTLS server session is never told to request a certificate, whatever the flags), so a server
    there cannot require client certificates. Asked once per process, with the server's own credential: a TLS 1.2
    handshake with our own client, whose plaintext server flight must hold a CertificateRequest (type 13). A probe
    that cannot be made at all (TLS 1.2 disabled by policy, say) answers True: the handshake then decides."""
    from .._wire import handshake_types
    try:
        flight = _server_flight(local, _PROBE_SERVER_FLAGS)
    except TLSError:
        return True
    if not flight:
        return True
    try:
        return 13 in handshake_types(flight)
    except ValueError:
        return True


_PROBE_SERVER_FLAGS = (S.ASC_REQ_SEQUENCE_DETECT | S.ASC_REQ_REPLAY_DETECT | S.ASC_REQ_CONFIDENTIALITY |
                       S.ASC_REQ_ALLOCATE_MEMORY | S.ASC_REQ_STREAM | S.ASC_REQ_EXTENDED_ERROR |
                       S.ASC_REQ_MUTUAL_AUTH)


def certificate_request_supported(local):
    """Whether a server here can require a client certificate (probed once, see _probe_certificate_request)."""
    return _probe("certificate_request", lambda: _probe_certificate_request(local))


_NO_CERTIFICATE_REQUEST = (
    "this SChannel cannot require client certificates: asked for one (ASC_REQ_MUTUAL_AUTH), its "
    "AcceptSecurityContext sends no CertificateRequest, so no client would ever send a certificate (Wine 8 and 10: "
    "the GnuTLS server session underneath is never told to request one). A server with a trust_store "
    "(client authentication) is not possible here")


class _Native(NamedChains):
    """What every connection of a context (or of one configuration an SNI callback returned) shares: protocol
    bits, ALPN list, verification, the chain engine and our own certificates (``locals``, one
    :class:`~._keys.LocalCredential` per signing chain; ``local`` is the first, or None)."""

    def __init__(self, configuration, server):
        self.server = server
        # DEFAULT_CIPHER_LIST (PEP 748's recommendation) is taken as SChannel's own defaults, which include it
        if configuration.ciphers is not None and not is_default_cipher_list(configuration):
            raise ConfigurationError("the SChannel backend cannot restrict cipher suites (asked for %s): SChannel "
                                     "takes algorithm classes, not suites; leave ciphers=None"
                                     % ", ".join("0x%04X" % int(suite) for suite in configuration.ciphers))
        if configuration.trust_store is not None and configuration.trust_store.crls:
            # Refuse rather than skip: a caller who asked for revocation checking must not get silence.
            raise ConfigurationError("the SChannel backend does not check CRLs yet (TrustStore.with_crls); use a "
                                     "trust store without CRLs, or the OpenSSL backend")
        self.protocol_bits = _version_bits(configuration, server)
        self.alpn = _alpn_list(configuration)
        self.verify = bool(configuration.validate_certificates) or server
        self.engine = ChainEngine(configuration.trust_store)
        self.configuration = configuration
        self.locals = [LocalCredential.from_signing_chain(chain) for chain in configuration.signing_chains]
        self.local = self.locals[0] if self.locals else None
        self.names = [chain_names(chain) for chain in configuration.signing_chains] if server else []
        # A server with a trust store requires and verifies a client certificate (API.md: no "optional" mode).
        self.client_auth = server and configuration.trust_store is not None
        self.flags = (S.SCH_CRED_MANUAL_CRED_VALIDATION | S.SCH_CRED_NO_DEFAULT_CREDS |
                      S.SCH_CRED_NO_SERVERNAME_CHECK)
        if server:
            # The client-only flags are invalid inbound; without a trust store SChannel must not ask for (and
            # validate) client certificates on its own: we verify them ourselves (_buffer._verify_client).
            self.flags = S.SCH_CRED_NO_SYSTEM_MAPPER
        self._server_credentials = {}

    def acquire(self):
        """Fresh credentials for one client connection (see the module docstring)."""
        return acquire_credentials(self.protocol_bits, self.flags, self.local, inbound=self.server)

    def server_credentials(self, index=0):
        """The inbound credentials (for signing chain *index*) every connection of a server context shares:
        SChannel's server session cache is per credentials handle, so sessions resume within one ServerContext
        and never across two."""
        if index not in self._server_credentials:
            self._server_credentials[index] = acquire_credentials(self.protocol_bits, self.flags,
                                                                  self.locals[index], inbound=True)
        return self._server_credentials[index]

    def check_client_auth(self):
        """Raise ConfigurationError if this server configuration asks for client certificates and SChannel here
        cannot request them."""
        if self.client_auth and not certificate_request_supported(self.local):
            raise ConfigurationError(_NO_CERTIFICATE_REQUEST)

    def close(self):
        """Free the chain engine. Our certificates and keys stay until the last credentials using them go."""
        self.engine.close()
        self.local = None
        self.locals = []
        self._server_credentials = {}


class SChannelClientContext(NativeClientContext):
    """The SChannel :class:`~nativetls.ClientContext` (see the abstract class for the contract). ``close()`` frees
    the chain engine; buffers already made keep their own credentials."""

    _Native = _Native

    @staticmethod
    def _buffer_class():
        from ._buffer import SChannelBuffer
        return SChannelBuffer


class SChannelServerContext(SNIServerContext):
    """The SChannel :class:`~nativetls.ServerContext` (see the abstract class for the contract).

    SChannel has no hook between the ClientHello and its answer, so the SNI callback and the choice among several
    signing chains happen before the first AcceptSecurityContext call, on the SNI name read from the ClientHello
    by nativetls (``_wire``; ``_buffer`` calls :meth:`_natives_for` with the configuration the callback returned).
    A server with a trust_store raises ConfigurationError where SChannel cannot request client certificates.
    ``close()`` releases the context's credentials; connections already made keep theirs.
    """

    _Native = _Native

    @staticmethod
    def _buffer_class():
        from ._buffer import SChannelBuffer
        return SChannelBuffer

    def _check_server_side(self):
        if not server_supported():
            raise ConfigurationError("this SChannel has no server side (AcceptSecurityContext answers "
                                     "SEC_E_UNSUPPORTED_FUNCTION, as on Wine 8): feature \"server\" is absent")

    def _new_native(self, configuration):
        native = _Native(configuration, server=True)
        native.check_client_auth()
        return native


def _native_version():
    version = sys.getwindowsversion()
    text = "SChannel (Windows %d.%d.%d)" % (version.major, version.minor, version.build)
    try:
        wine = ctypes.WinDLL(str("ntdll")).wine_get_version
    except AttributeError:
        return text
    wine.restype = ctypes.c_char_p
    wine.argtypes = []
    return "%s on Wine %s" % (text, wine().decode("ascii", "replace"))


def make_backend():
    """The SChannel Backend (features detected by asking SChannel)."""
    from .._backend import Backend
    versions = supported_versions()
    features = {"alpn", "client_auth"}
    if server_supported():
        features.update(("server", "sni_callback"))
    if resumption_supported():
        features.add("session_resumption")
    if TLSVersion.TLSv1_3 in versions:
        features.add("tls1_3")
    return Backend("schannel", _native_version(), SChannelClientContext, SChannelServerContext, versions,
                   features, native_library="secur32.dll")
