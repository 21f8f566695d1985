# -*- coding: utf-8 -*-
"""From a validated TLSConfiguration to SChannel credentials: the SChannel ClientContext and ServerContext.

Everything a configuration asks for is checked here, when the context is made; what SChannel cannot honour raises
ConfigurationError now. Credentials are acquired per connection (``_Native.acquire``): SChannel caches sessions
per credentials handle, so a connection resumes exactly when it is given the :class:`SChannelSession` of an
earlier one, as on the other backends.

Credentials structure: ``SCH_CREDENTIALS`` (Windows 10 1809+, required for TLS 1.3) is tried first; a system that
rejects it (``SEC_E_UNKNOWN_CREDENTIALS``/``SEC_E_INTERNAL_ERROR``/``SEC_E_INVALID_TOKEN``) gets ``SCHANNEL_CRED``
from then on. Which one works is remembered per process.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
import sys
from ctypes import byref

from .._abc import ClientContext, ServerContext
from .._config import DEFAULT_LOWEST_VERSION
from .._enums import TLSVersion
from .._errors import ConfigurationError, TLSError
from . import _secur32 as S
from ._lowlevel import UNISP_NAME, Credentials, describe, secur32
from ._types import NativeError, status_name
from ._verify import ChainEngine

__all__ = ["SChannelClientContext", "SChannelServerContext", "supported_versions", "make_backend"]

_ORDER = [TLSVersion.TLSv1, TLSVersion.TLSv1_1, TLSVersion.TLSv1_2, TLSVersion.TLSv1_3]
_CLIENT_BITS = {
    TLSVersion.TLSv1: S.SP_PROT_TLS1_0_CLIENT, TLSVersion.TLSv1_1: S.SP_PROT_TLS1_1_CLIENT,
    TLSVersion.TLSv1_2: S.SP_PROT_TLS1_2_CLIENT, TLSVersion.TLSv1_3: S.SP_PROT_TLS1_3_CLIENT,
}
_ALL_CLIENT_BITS = S.SP_PROT_SSL3_CLIENT | S.SP_PROT_SSL2_CLIENT
for _bit in _CLIENT_BITS.values():
    _ALL_CLIENT_BITS |= _bit

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


def acquire_client_credentials(protocol_bits, flags):
    """A new outbound :class:`Credentials` enabling *protocol_bits* (SP_PROT_*_CLIENT).

    Raises:
        TLSError: SChannel refused every credentials structure (the message names the status).
    """
    status = None
    if _SCH_CREDENTIALS_WORKS[0] is not False:
        params = S.TLS_PARAMETERS(grbitDisabledProtocols=_ALL_CLIENT_BITS & ~protocol_bits)
        cred = S.SCH_CREDENTIALS(dwVersion=S.SCH_CREDENTIALS_VERSION, dwFlags=flags, cTlsParameters=1,
                                 pTlsParameters=ctypes.pointer(params))
        status, handle = _acquire_raw(cred)
        if status == S.SEC_E_OK:
            _SCH_CREDENTIALS_WORKS[0] = True
            return Credentials(handle)
        if status not in _FALLBACK_STATUSES or _SCH_CREDENTIALS_WORKS[0]:
            raise TLSError("SChannel refused the credentials: %s" % describe("AcquireCredentialsHandleW", status),
                           native_code=status, native_message=status_name(status))
        _SCH_CREDENTIALS_WORKS[0] = False
    cred = S.SCHANNEL_CRED(dwVersion=S.SCHANNEL_CRED_VERSION, grbitEnabledProtocols=protocol_bits, dwFlags=flags)
    status, handle = _acquire_raw(cred)
    if status != S.SEC_E_OK:
        raise TLSError("SChannel refused the credentials: %s" % describe("AcquireCredentialsHandleW", status),
                       native_code=status, native_message=status_name(status))
    return Credentials(handle)


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


def _version_bits(configuration):
    """SP_PROT_*_CLIENT bits for the configured range (ConfigurationError for what SChannel lacks here)."""
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
    bits = 0
    for version in available:
        if _ORDER.index(low) <= _ORDER.index(version) <= _ORDER.index(high):
            bits |= _CLIENT_BITS[version]
    if not bits:
        raise ConfigurationError("no TLS version between %s and %s is available here" % (low.value, high.value))
    return bits


def _alpn_list(configuration):
    result = []
    for proto in configuration.inner_protocols or ():
        value = getattr(proto, "value", proto)
        result.append(value if isinstance(value, bytes) else value.encode("ascii"))
    return tuple(result)


class _Native(object):
    """What every connection of a context shares: protocol bits, ALPN list, verification and the chain engine."""

    def __init__(self, configuration, server):
        self.server = server
        if configuration.ciphers is not None:
            raise ConfigurationError("the SChannel backend cannot restrict cipher suites (SChannel takes "
                                     "algorithm classes, not suites); leave ciphers=None")
        self.protocol_bits = _version_bits(configuration)
        self.alpn = _alpn_list(configuration)
        self.verify = bool(configuration.validate_certificates)
        self.engine = ChainEngine(configuration.trust_store)
        self.flags = (S.SCH_CRED_MANUAL_CRED_VALIDATION | S.SCH_CRED_NO_DEFAULT_CREDS |
                      S.SCH_CRED_NO_SERVERNAME_CHECK)

    def acquire(self):
        """Fresh credentials for one connection (see the module docstring)."""
        return acquire_client_credentials(self.protocol_bits, self.flags)

    def close(self):
        self.engine.close()


class SChannelClientContext(ClientContext):
    """The SChannel :class:`~nativetls.ClientContext` (see the abstract class for the contract)."""

    def __init__(self, configuration):
        super(SChannelClientContext, self).__init__(configuration)
        if configuration.signing_chains:
            raise ConfigurationError("client certificates are not implemented in the SChannel backend yet")
        self._native = _Native(configuration, server=False)

    def wrap_buffers(self, server_hostname, session=None):
        from ._buffer import SChannelBuffer
        return SChannelBuffer(self, self._native, server_hostname=server_hostname, session=session)

    def close(self):
        """Free the chain engine now (buffers already made keep their own credentials)."""
        self._native.close()


class SChannelServerContext(ServerContext):
    """The SChannel :class:`~nativetls.ServerContext`: not implemented yet (ConfigurationError)."""

    def __init__(self, configuration):
        super(SChannelServerContext, self).__init__(configuration)
        raise ConfigurationError("the SChannel server side is not implemented yet")

    def wrap_buffers(self):  # pragma: no cover - unreachable until implemented
        raise ConfigurationError("the SChannel server side is not implemented yet")


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
    features = {"alpn", "session_resumption"}
    if TLSVersion.TLSv1_3 in versions:
        features.add("tls1_3")
    return Backend("schannel", _native_version(), SChannelClientContext, SChannelServerContext, versions,
                   features, native_library="secur32.dll")
