# -*- coding: utf-8 -*-
"""``NativeTLSContext``: an ``ssl.SSLContext`` (a subclass of it, where the ``ssl`` module exists) over nativetls.

It takes the calls code written for the ``ssl`` module makes (urllib3, requests, http.client, asyncio, aiohttp,
httpx, websockets) and turns them into a validated :class:`nativetls.TLSConfiguration`. ``wrap_socket`` returns
a :class:`NativeTLSSocket`, a :class:`nativetls.TLSSocket` that also answers the ``ssl.SSLSocket`` questions;
``wrap_bio`` returns a :class:`NativeTLSObject` (``ssl.SSLObject``'s shape, over the caller's ``MemoryBIO``\ s).
No stdlib TLS object is ever made: ``ssl.SSLContext.__new__`` makes its C context, which is never configured or
used. Errors are raised as :class:`NativeTLSError` and its subclasses, each an ``ssl`` exception
(``SSLError``, ``SSLCertVerificationError``, ``SSLWantReadError``, ...; a ``socket.error`` without an ``ssl``
module) and a :class:`nativetls.TLSError` at once; the message is nativetls's own (after ssl's
``"certificate verify failed: "`` for a rejected certificate).

Where ``ssl``'s semantics and nativetls's policy differ, the stricter one wins, and nothing is silently weakened
(docs/integrations.md lists each):

* A fresh client context verifies the server (``CERT_REQUIRED``, ``check_hostname=True``) whatever *protocol*
  says; a ``PROTOCOL_TLS_SERVER`` context starts as ssl's does (``CERT_NONE``), and ``CERT_OPTIONAL`` there raises.
* With nothing loaded a client trusts the system store; ``load_verify_locations`` replaces that with the loaded
  certificates (several calls add up, as in ``ssl``).
* ``check_hostname=False`` with verification on drops the name check only (SNI is still sent, the chain still
  verified), as in ``ssl``; on backends other than OpenSSL no SNI is sent then.
* Host-name checks never fall back to the subject CN unless ``hostname_checks_common_name = True`` (OpenSSL
  backend; elsewhere setting it raises). ``verify_flags`` may clear ``VERIFY_X509_STRICT`` on OpenSSL only.
* ``set_ciphers`` can only narrow nativetls's default TLS 1.2 suites (a string that allows all of them, such as
  urllib3's default, means "the defaults"); it never enables a suite nativetls leaves out. TLS 1.3 suites are not
  affected, as in ``ssl``. A string leaving nothing raises.
* ``minimum_version = MINIMUM_SUPPORTED`` means nativetls's safe minimum (TLS 1.2); older versions must be named.
* ``suppress_ragged_eofs`` defaults to True, as in ``ssl``: an EOF without close_notify reads as ``b""`` from a
  socket (HTTP's framing still reports a truncated body); ``NativeTLSObject.read`` raises ``SSLEOFError``.
* ``keylog_filename`` is honoured (OpenSSL backend), else ``SSLKEYLOGFILE`` applies.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import enum
import os
import sys
import threading
import warnings

from .._compat import text_type
from .._config import TLSConfiguration
from .._enums import CipherSuite
from .._enums import TLSVersion as _NTLSVersion
from .._errors import SecurityWarning, TLSError
from .._objects import Certificate, SigningChain, TrustStore
# The exceptions and the two connection classes live in modules of their own; their names stay importable here.
from ._sslerrors import (NativeTLSCertificateError, NativeTLSEOFError, NativeTLSError, NativeTLSWantReadError,
                         NativeTLSWantWriteError, NativeTLSZeroReturnError, _translate)
from ._sslobject import NativeTLSObject
from ._sslsocket import NativeTLSSocket

try:
    import ssl as _ssl
except ImportError:  # the whole point of nativetls.pip: this Python has no (usable) ssl module
    _ssl = None

__all__ = [str(name) for name in (
    "NativeTLSContext", "NativeTLSSocket", "NativeTLSError", "NativeTLSCertificateError", "NativeTLSEOFError",
    "NativeTLSWantReadError", "NativeTLSWantWriteError", "NativeTLSZeroReturnError",
    "TLSVersion", "ssl_stand_in", "CERT_NONE", "CERT_OPTIONAL", "CERT_REQUIRED",
)]

# The ssl module's constants (values as in CPython's _ssl, so ints from either side compare equal).
CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED = 0, 1, 2
PROTOCOL_TLS = PROTOCOL_SSLv23 = 2
PROTOCOL_TLSv1, PROTOCOL_TLSv1_1, PROTOCOL_TLSv1_2 = 3, 4, 5
PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER = 16, 17
OP_NO_COMPRESSION, OP_NO_TICKET = 0x20000, 0x4000
OP_NO_SSLv2, OP_NO_SSLv3, OP_NO_TLSv1, OP_NO_TLSv1_2 = 0x0, 0x2000000, 0x4000000, 0x8000000
OP_NO_TLSv1_1, OP_NO_TLSv1_3 = 0x10000000, 0x20000000
VERIFY_DEFAULT, VERIFY_X509_STRICT, VERIFY_X509_TRUSTED_FIRST, VERIFY_X509_PARTIAL_CHAIN = 0, 0x20, 0x8000, 0x80000
_HONOURED_VERIFY_FLAGS = VERIFY_X509_STRICT | VERIFY_X509_TRUSTED_FIRST | VERIFY_X509_PARTIAL_CHAIN


class TLSVersion(enum.IntEnum):
    """``ssl.TLSVersion`` for interpreters without it (Python 2.7, or no ``ssl`` module); same names and values."""

    MINIMUM_SUPPORTED = -2
    MAXIMUM_SUPPORTED = -1
    SSLv3 = 0x0300
    TLSv1 = 0x0301
    TLSv1_1 = 0x0302
    TLSv1_2 = 0x0303
    TLSv1_3 = 0x0304


_SSL_TLSVERSION = getattr(_ssl, "TLSVersion", None) or TLSVersion
_TO_NATIVETLS = {-2: None, -1: _NTLSVersion.MAXIMUM_SUPPORTED, 0x0300: _NTLSVersion.SSLv3,
                 0x0301: _NTLSVersion.TLSv1, 0x0302: _NTLSVersion.TLSv1_1, 0x0303: _NTLSVersion.TLSv1_2,
                 0x0304: _NTLSVersion.TLSv1_3}
_FROM_NATIVETLS = dict((v, k) for k, v in _TO_NATIVETLS.items() if v is not None)
_FROM_NATIVETLS[_NTLSVersion.MINIMUM_SUPPORTED] = -2
_CONCRETE = [_NTLSVersion.TLSv1, _NTLSVersion.TLSv1_1, _NTLSVersion.TLSv1_2, _NTLSVersion.TLSv1_3]
_NO_VERSION_OPTIONS = [(OP_NO_TLSv1, _NTLSVersion.TLSv1), (OP_NO_TLSv1_1, _NTLSVersion.TLSv1_1),
                       (OP_NO_TLSv1_2, _NTLSVersion.TLSv1_2), (OP_NO_TLSv1_3, _NTLSVersion.TLSv1_3)]


# --- cipher strings ----------------------------------------------------------------------------------------
def _is_tls13(value):
    return 0x1300 <= value <= 0x13FF


def _openssl_resolve(spec):
    """The IANA values an OpenSSL cipher string selects, in its order (TLS 1.3 defaults first), or None if none."""
    from .._openssl._lowlevel import Owned, cipher_protocol_id, drain_errors, lib, stack_items
    ctx = Owned(lib.SSL_CTX_new(lib.TLS_method()), lib.SSL_CTX_free)
    try:
        lib.ERR_clear_error()
        if not lib.SSL_CTX_set_cipher_list(ctx.ptr, spec):
            drain_errors()
            return None
        ssl = Owned(lib.SSL_new(ctx.ptr), lib.SSL_free)
        try:
            return [cipher_protocol_id(cipher) for cipher in stack_items(lib.SSL_get_ciphers(ssl.ptr))]
        finally:
            ssl.close()
    finally:
        ctx.close()


_default_suites = []


def _openssl_defaults():
    """(TLS 1.2 suites, TLS 1.3 suites) nativetls's OpenSSL client offers by default."""
    if not _default_suites:
        from .._openssl._context import CLIENT_CIPHERS
        values = _openssl_resolve(CLIENT_CIPHERS) or []
        _default_suites.append(([v for v in values if not _is_tls13(v)], [v for v in values if _is_tls13(v)]))
    return _default_suites[0]


# Cipher strings that allow every one of nativetls's default suites (tests/test_urllib3.py checks each against
# OpenSSL), so that backends which cannot evaluate OpenSSL's syntax still take them as "the defaults": above all
# urllib3 1.26's DEFAULT_CIPHERS, which its create_urllib3_context() (pip's vendored copy too) always sets.
_PERMISSIVE_SPECS = frozenset([
    "DEFAULT", "ALL", "HIGH:!aNULL:!eNULL",
    "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:ECDH+AESGCM:DH+AESGCM:ECDH+AES:DH+AES:RSA+AESGCM:RSA+AES:"
    "!aNULL:!eNULL:!MD5:!DSS",
])


def resolve_cipher_string(spec):
    """Turn an OpenSSL-style cipher string into a ``ciphers`` value for :class:`nativetls.TLSConfiguration`.

    Returns None ("the backend's defaults") when *spec* allows every default TLS 1.2 suite, else the defaults that
    *spec* allows, in *spec*'s order, followed by the default TLS 1.3 suites. On backends other than OpenSSL,
    *spec* must be a colon-separated list of IANA suite names, or one of the permissive strings urllib3 and
    common code pass (``"DEFAULT"``, urllib3 1.26's default list), which mean the defaults there too.

    Raises:
        NativeTLSError: *spec* selects none of nativetls's suites (``ssl`` raises ``SSLError`` there too).
    """
    if isinstance(spec, bytes):
        spec = spec.decode("ascii")
    from .._backend import backend
    if backend().name != "openssl":
        if spec.strip() in _PERMISSIVE_SPECS:
            return None
        names = [name.strip() for name in spec.split(":") if name.strip()]
        try:
            return tuple(CipherSuite[str(name)] for name in names)
        except KeyError as exc:
            raise NativeTLSError("No cipher can be selected: %s is not an IANA cipher suite name (this backend "
                                 "takes IANA names only)" % (exc,))
    resolved = _openssl_resolve(spec.encode("ascii"))
    if not resolved:
        raise NativeTLSError("No cipher can be selected: OpenSSL matches no suite with %r" % (spec,))
    default12, default13 = _openssl_defaults()
    wanted = [v for v in resolved if not _is_tls13(v)]
    if set(default12) <= set(wanted):
        return None
    chosen = [v for v in wanted if v in default12]
    if not chosen:
        raise NativeTLSError("No cipher can be selected: %r allows none of nativetls's TLS 1.2 cipher suites (it "
                             "never enables weaker ones)" % (spec,))
    return tuple(default13) + tuple(chosen)


# --- certificates ------------------------------------------------------------------------------------------
_file_cache = {}
_file_cache_lock = threading.Lock()


def _certs_from_file(path):
    """DER bytes of every certificate in a PEM/DER file, cached while the file's size and mtime stay the same."""
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_size, stat.st_mtime)
    with _file_cache_lock:
        if key in _file_cache:
            return _file_cache[key]
    ders = tuple(cert.to_der() for cert in TrustStore.from_file(path).certificates)
    with _file_cache_lock:
        if len(_file_cache) > 64:
            _file_cache.clear()
        _file_cache[key] = ders
    return ders


def _split_der(data):
    """Split concatenated DER certificates (``cadata`` as bytes)."""
    data = bytes(data)
    ders = []
    while data:
        if len(data) < 2 or bytearray(data[:1])[0] != 0x30:
            raise ValueError("cadata: not DER-encoded certificates")
        first = bytearray(data[1:2])[0]
        if first < 0x80:
            header, length = 2, first
        else:
            count = first & 0x7F
            header = 2 + count
            length = 0
            for byte in bytearray(data[2:header]):
                length = (length << 8) | byte
        end = header + length
        if end > len(data):
            raise ValueError("cadata: truncated DER certificate")
        ders.append(Certificate.from_buffer(data[:end]).to_der())
        data = data[end:]
    return ders


def _version_value(value, what):
    """An ``ssl.TLSVersion``/int/nativetls.TLSVersion/str as the int of ``ssl.TLSVersion``."""
    if isinstance(value, _NTLSVersion):
        return _FROM_NATIVETLS[value]
    if isinstance(value, (str, text_type)):
        if value in TLSVersion.__members__:
            return int(TLSVersion[value])
        return _FROM_NATIVETLS[_NTLSVersion(value)]
    if isinstance(value, bool) or int(value) not in _TO_NATIVETLS:
        raise ValueError("%s: unsupported TLS/SSL version %r" % (what, value))
    return int(value)


# What NativeTLSContext derives from: ssl.SSLContext itself wherever there is an ssl module, so that code checking
# isinstance(ctx, ssl.SSLContext) (aiohttp, asyncio, httpx) takes it. ssl.SSLContext.__new__ insists on making
# its C object (_ssl._SSLContext); we make a client one and never use it: every property a caller reads or sets
# is redefined below with storage of our own, every method that would configure or use the C object is
# overridden, and wrap_socket/wrap_bio make nativetls connections only.
_SSLContextBase = _ssl.SSLContext if _ssl is not None else object
_C_PROTOCOL = getattr(_ssl, "PROTOCOL_TLS_CLIENT", None) or getattr(_ssl, "PROTOCOL_SSLv23", None)
_C_CONTEXT = [base for base in _SSLContextBase.__mro__ if base.__module__ in ("_ssl", "ssl")][-1] \
    if _ssl is not None else None


def _stored(name, doc, default=None):
    """A plain read/write attribute kept in the instance (it hides ssl.SSLContext's C-level one)."""
    key = "_attr_" + name

    def get(self):
        return self.__dict__.get(key, default)

    def set_(self, value):
        self.__dict__[key] = value
    return property(get, set_, doc=doc)


def _unsupported(name):
    def method(self, *args, **kwargs):
        raise NotImplementedError("NativeTLSContext.%s is not supported: nativetls configures this itself" % name)
    method.__name__ = str(name)
    method.__doc__ = "Not supported by nativetls (raises NotImplementedError); ssl's version would configure a " \
                     "stdlib TLS object that nativetls never uses."
    return method


def _require_openssl(what):
    from .._backend import backend
    if backend().name != "openssl":
        raise NotImplementedError("%s is not supported by the %s backend" % (what, backend().name))


class NativeTLSContext(_SSLContextBase):
    """An ``ssl.SSLContext`` (a subclass of it where the ``ssl`` module exists) whose connections are nativetls's
    (see the module docstring). Client by default; ``PROTOCOL_TLS_SERVER`` makes a server context.

    Args:
        protocol: None, ``PROTOCOL_TLS_CLIENT`` or ``PROTOCOL_TLS`` (a client verifying the server),
            ``PROTOCOL_TLS_SERVER`` (a server: ``CERT_NONE`` and no host-name check until set otherwise), or
            ``PROTOCOL_TLSv1_2`` and friends (a client of exactly that version).

    Raises:
        ValueError: an unknown *protocol*.
    """

    sslsocket_class = NativeTLSSocket
    sslobject_class = NativeTLSObject

    def __new__(cls, protocol=None, *args, **kwargs):
        if _ssl is None:
            return object.__new__(cls)
        # The C type's __new__ directly: ssl.SSLContext.__new__ on 2.7 calls self.set_ciphers(), ours, before
        # __init__ ran.
        return _C_CONTEXT.__new__(cls, _C_PROTOCOL)

    def __init__(self, protocol=None):
        value = PROTOCOL_TLS_CLIENT if protocol is None else int(protocol)
        self._minimum, self._maximum = int(TLSVersion.TLSv1_2), int(TLSVersion.MAXIMUM_SUPPORTED)
        if value in (PROTOCOL_TLSv1, PROTOCOL_TLSv1_1, PROTOCOL_TLSv1_2):
            self._minimum = self._maximum = {3: 0x0301, 4: 0x0302, 5: 0x0303}[value]
        elif value not in (PROTOCOL_TLS, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER):
            raise ValueError("NativeTLSContext: protocol %r is not supported" % (protocol,))
        self._protocol = protocol if protocol is not None else PROTOCOL_TLS_CLIENT
        self._server = value == PROTOCOL_TLS_SERVER
        self._lock = threading.Lock()
        self._verify_mode = CERT_NONE if self._server else CERT_REQUIRED
        self._check_hostname = not self._server
        self._ca_ders = []  # loaded trust anchors (DER, in load order, no duplicates); empty: the system store
        self._ca_seen = set()
        self._chain = None
        self._ciphers = None
        self._alpn = None
        self._options = OP_NO_SSLv2 | OP_NO_SSLv3 | OP_NO_COMPRESSION
        self._verify_flags = VERIFY_X509_STRICT | VERIFY_X509_PARTIAL_CHAIN
        self._common_name = False
        self._keylog = None
        self._warned = False
        self._built = None  # (key, nativetls context) of the last wrap

    @property
    def protocol(self):
        """The *protocol* given (``PROTOCOL_TLS_CLIENT`` when none was)."""
        if _ssl is not None and hasattr(_ssl, "_SSLMethod"):
            try:
                return _ssl._SSLMethod(self._protocol)
            except ValueError:
                pass
        return self._protocol

    post_handshake_auth = _stored("post_handshake_auth", "Kept for urllib3; nativetls does not request it.")
    security_level = _stored("security_level", "Not configurable: nativetls's own minimum applies.", 2)
    num_tickets = _stored("num_tickets", "Kept; the backend decides how many TLS 1.3 tickets a server sends.", 2)

    @property
    def sni_callback(self):
        """Always None: server-side SNI callbacks in ssl's shape are not supported (setting one raises)."""
        return None

    @sni_callback.setter
    def sni_callback(self, value):
        if value is not None:
            raise NotImplementedError("NativeTLSContext.sni_callback is not supported (use nativetls.ServerContext "
                                      "with TLSConfiguration(sni_callback=...))")

    set_servername_callback = _unsupported("set_servername_callback")
    load_dh_params = _unsupported("load_dh_params")
    set_ecdh_curve = _unsupported("set_ecdh_curve")
    set_psk_client_callback = _unsupported("set_psk_client_callback")
    set_psk_server_callback = _unsupported("set_psk_server_callback")
    # The C entry points that would make a stdlib TLS object (ssl.SSLSocket._create and SSLObject._create call
    # them): closed, so nothing reaching past wrap_socket/wrap_bio can run the stdlib's TLS on this context.
    _wrap_socket = _unsupported("_wrap_socket")
    _wrap_bio = _unsupported("_wrap_bio")

    def session_stats(self):
        """Not counted by nativetls: every value is 0 (the keys ``ssl`` returns)."""
        return dict((key, 0) for key in (
            "number", "connect", "connect_good", "connect_renegotiate", "accept", "accept_good",
            "accept_renegotiate", "hits", "misses", "timeouts", "cache_full"))

    def cert_store_stats(self):
        """Counts of the loaded trust anchors, as ``ssl`` reports them (``x509_ca`` = ``x509``; no CRLs)."""
        return {"x509": len(self._ca_ders), "crl": 0, "x509_ca": len(self._ca_ders)}

    def get_ca_certs(self, binary_form=False):
        """The loaded trust anchors (not the system store's), as DER with *binary_form*, else as dicts."""
        if binary_form:
            return list(self._ca_ders)
        from .._certdict import certificate_dict
        return [certificate_dict(der) for der in self._ca_ders]

    @property
    def keylog_filename(self):
        """A file that receives the key material of every connection in the NSS key log format (as ``ssl``:
        appended to, the header line first when the file is new); None (default) leaves it to ``SSLKEYLOGFILE``.

        Raises (on setting):
            IOError/OSError: the file cannot be opened for appending.
            NativeTLSError: the backend cannot log key material.
        """
        return self._keylog

    @keylog_filename.setter
    def keylog_filename(self, value):
        if value is None:
            self._keylog = None
            return
        path = os.fspath(value) if hasattr(os, "fspath") else value
        from .._backend import backend
        if "keylog" not in backend().features or backend().name != "openssl":
            raise NativeTLSError("keylog_filename: the %s backend cannot log key material per context"
                                 % backend().name)
        with open(path, "ab") as handle:  # as ssl: opened (and the header written) when set
            if handle.tell() == 0:
                handle.write(b"# TLS secrets log file, generated by OpenSSL / Python\n")
        self._keylog = path

    # --- verification settings ----------------------------------------------------------------------------
    @property
    def verify_mode(self):
        """``CERT_REQUIRED`` (default), ``CERT_OPTIONAL`` (the same for a client) or ``CERT_NONE``."""
        if _ssl is not None and hasattr(_ssl, "VerifyMode"):
            return _ssl.VerifyMode(self._verify_mode)
        return self._verify_mode

    @verify_mode.setter
    def verify_mode(self, value):
        value = int(value)
        if value not in (CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED):
            raise ValueError("invalid value for verify_mode")
        if value == CERT_NONE and self._check_hostname:
            raise ValueError("Cannot set verify_mode to CERT_NONE when check_hostname is enabled.")
        self._verify_mode = value

    def _verifies(self):
        """Whether connections made now verify the peer (anything but CERT_NONE)."""
        return self._verify_mode != CERT_NONE

    @property
    def check_hostname(self):
        """Whether the certificate must match ``server_hostname`` (setting True turns CERT_NONE into REQUIRED)."""
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value):
        value = bool(value)
        if value and self._verify_mode == CERT_NONE:
            self._verify_mode = CERT_REQUIRED
        self._check_hostname = value

    @property
    def verify_flags(self):
        """``VERIFY_X509_STRICT | VERIFY_X509_PARTIAL_CHAIN`` by default, as nativetls verifies. Clearing
        ``VERIFY_X509_STRICT`` relaxes RFC 5280 strictness (OpenSSL backend only); other flags raise."""
        return self._verify_flags

    @verify_flags.setter
    def verify_flags(self, value):
        value = int(value)
        if value & ~_HONOURED_VERIFY_FLAGS:
            raise ValueError("verify_flags 0x%x: nativetls cannot honour these flags (CRL checks need "
                             "nativetls.TrustStore.with_crls)" % (value & ~_HONOURED_VERIFY_FLAGS))
        if not value & VERIFY_X509_STRICT:
            _require_openssl("clearing VERIFY_X509_STRICT")
        self._verify_flags = value | VERIFY_X509_PARTIAL_CHAIN

    @property
    def hostname_checks_common_name(self):
        """Whether a certificate without a DNS name may match by its subject CN (default False, as nativetls;
        True works on the OpenSSL backend and raises elsewhere)."""
        return self._common_name

    @hostname_checks_common_name.setter
    def hostname_checks_common_name(self, value):
        value = bool(value)
        if value:
            _require_openssl("hostname_checks_common_name")
        self._common_name = value

    @property
    def options(self):
        """``OP_*`` flags; ``OP_NO_TLSv1*`` narrow the versions, the rest are what nativetls does anyway."""
        return self._options

    @options.setter
    def options(self, value):
        self._options = int(value) | OP_NO_SSLv2 | OP_NO_SSLv3 | OP_NO_COMPRESSION

    @property
    def minimum_version(self):
        """The lowest version, an ``ssl.TLSVersion`` (default TLSv1_2; MINIMUM_SUPPORTED means TLS 1.2 here)."""
        return _SSL_TLSVERSION(self._minimum)

    @minimum_version.setter
    def minimum_version(self, value):
        self._minimum = _version_value(value, "minimum_version")

    @property
    def maximum_version(self):
        """The highest version, an ``ssl.TLSVersion`` (default MAXIMUM_SUPPORTED)."""
        return _SSL_TLSVERSION(self._maximum)

    @maximum_version.setter
    def maximum_version(self, value):
        self._maximum = _version_value(value, "maximum_version")

    # --- what urllib3 calls ---------------------------------------------------------------------------------
    def load_verify_locations(self, cafile=None, capath=None, cadata=None):
        """Trust the certificates of *cafile* (PEM/DER), every certificate file in *capath* and *cadata* (PEM
        str or DER bytes). They replace the system store; several calls add up.

        Raises:
            TypeError: nothing given. IOError/OSError: unreadable file. NativeTLSError: no certificate in it.
        """
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        ders = []
        try:
            if cafile is not None:
                ders.extend(_certs_from_file(cafile))
            if capath is not None:
                for name in sorted(os.listdir(capath)):
                    path = os.path.join(capath, name)
                    if os.path.isfile(path):
                        try:
                            ders.extend(_certs_from_file(path))
                        except ValueError:
                            continue  # not a certificate file: ssl would never look it up either
            if cadata is not None:
                if isinstance(cadata, text_type):
                    ders.extend(c.to_der() for c in TrustStore.from_buffer(cadata.encode("ascii")).certificates)
                else:
                    ders.extend(_split_der(cadata))
        except ValueError as exc:
            raise NativeTLSError("cannot load verify locations: %s" % (exc,))
        with self._lock:
            for der in ders:
                if der not in self._ca_seen:
                    self._ca_seen.add(der)
                    self._ca_ders.append(der)

    def load_default_certs(self, purpose=None):
        """Trust the system store: a no-op, since that is what a context trusts until ``load_verify_locations``
        loads certificates (which then replace it, see the module docstring)."""

    def set_default_verify_paths(self):
        """Same as :meth:`load_default_certs`."""

    def load_cert_chain(self, certfile, keyfile=None, password=None):
        """The certificate to present (a server's, or a client's): *certfile* holds the leaf then its
        intermediates (and the key when *keyfile* is None); *password* is bytes, str or a callable returning one.

        Raises:
            IOError/OSError: unreadable files. NativeTLSError: no certificate or key in them, a wrong password,
            or a key that does not match the certificate.
        """
        from .._abc import ServerContext
        try:
            chain = SigningChain.from_pem_files(certfile, keyfile or certfile, password)
            # As ssl, fail here (a wrong password, a key not matching the certificate), not at the first
            # handshake: a context of nativetls's own loads the key into the backend now.
            ServerContext(TLSConfiguration(certificate_chain=chain))
        except (ValueError, TLSError) as exc:
            raise NativeTLSError("cannot load the certificate chain: %s" % (exc,))
        with self._lock:
            self._chain = chain

    def set_ciphers(self, ciphers):
        """Restrict the TLS 1.2 cipher suites with an OpenSSL cipher string (see :func:`resolve_cipher_string`)."""
        resolved = resolve_cipher_string(ciphers)
        with self._lock:
            self._ciphers = resolved

    def set_alpn_protocols(self, alpn_protocols):
        """Offer these ALPN protocols (sequence of str), in order."""
        protocols = []
        for proto in alpn_protocols:
            data = proto.encode("ascii") if isinstance(proto, text_type) else bytes(proto)
            if not 1 <= len(data) <= 255:
                raise ValueError("ALPN protocols must be 1 to 255 in length")
            protocols.append(data)
        with self._lock:
            self._alpn = tuple(protocols) or None

    def set_npn_protocols(self, npn_protocols):
        """NPN is obsolete and not supported."""
        raise NotImplementedError("NPN is not supported; use set_alpn_protocols")

    def get_ciphers(self):
        """The configured suites as dicts with ``name`` and ``id`` (the defaults when none were set)."""
        values = self._ciphers
        if values is None:
            return [{"name": "nativetls defaults", "id": None}]
        return [{"name": getattr(v, "name", "0x%04X" % int(v)), "id": 0x03000000 | int(v)} for v in values]

    # --- building the nativetls context -----------------------------------------------------------------------
    def _versions(self):
        low = _TO_NATIVETLS[self._minimum]  # None: nativetls's safe minimum (TLS 1.2)
        high = _TO_NATIVETLS[self._maximum]
        allowed = list(_CONCRETE)
        lowest = low or _NTLSVersion.TLSv1_2
        if lowest in allowed:
            allowed = allowed[allowed.index(lowest):]
        if high is not None and high in allowed:
            allowed = allowed[:allowed.index(high) + 1]
        for option, version in _NO_VERSION_OPTIONS:
            if self._options & option and version in allowed:
                allowed.remove(version)
        if not allowed:
            raise NativeTLSError("no TLS version is left by minimum_version/maximum_version/options")
        low_out = None if allowed[0] is _NTLSVersion.TLSv1_2 else allowed[0]  # None: the same TLS 1.2 default
        high_out = None if high is _NTLSVersion.MAXIMUM_SUPPORTED and allowed[-1] is _NTLSVersion.TLSv1_3 \
            else allowed[-1]
        return low_out, high_out

    def _configuration(self):
        low, high = self._versions()
        trust = None
        if self._ca_ders:
            trust = TrustStore._make([Certificate._from_der(der) for der in self._ca_ders],
                                     origin="NativeTLSContext")
        if self._server:
            if self._chain is None:
                raise NativeTLSError("a server context needs its certificate: call load_cert_chain() first")
            if self._verify_mode == CERT_OPTIONAL:
                raise NativeTLSError("verify_mode CERT_OPTIONAL on a server is not supported by nativetls (a client "
                                     "certificate is either required, CERT_REQUIRED, or not asked for, CERT_NONE)")
            if self._verify_mode == CERT_NONE:
                trust = None
            elif trust is None:
                trust = TrustStore.system()
            return TLSConfiguration(
                certificate_chain=self._chain, ciphers=self._ciphers, inner_protocols=self._alpn,
                lowest_supported_version=low, highest_supported_version=high, trust_store=trust)
        return TLSConfiguration(
            validate_certificates=self._verifies(), certificate_chain=self._chain,
            ciphers=self._ciphers, inner_protocols=self._alpn, lowest_supported_version=low,
            highest_supported_version=high, trust_store=trust)

    def _native_context(self):
        """The nativetls ClientContext/ServerContext for the current settings (rebuilt when they change)."""
        from .._abc import ClientContext, ServerContext, _quiet
        with self._lock:
            # The raw settings, cheap to compare on every wrap (building the configuration is not): the trust
            # list only grows, and the chain object stays alive in the built configuration, so its id is unique.
            key = (self._verify_mode, len(self._ca_ders), id(self._chain), self._ciphers, self._alpn,
                   self._options, self._minimum, self._maximum, self._keylog)
            built = self._built
            if built is not None and built[0] == key:
                return built[1]
            configuration = self._configuration()
        try:
            if self._server:
                context = ServerContext(configuration)
            else:
                _quiet.on = True  # NativeTLSContext warns itself: see _warn_unverified
                try:
                    context = ClientContext(configuration)
                finally:
                    _quiet.on = False
            if self._keylog is not None:
                from .._openssl._context import set_keylog_file
                set_keylog_file(context, self._keylog)
        except TLSError as exc:
            raise _translate(exc)
        with self._lock:
            self._built = (key, context)
        return context

    def _warn_unverified(self):
        """Warn once per context that the server is not verified, unless urllib3 (which warns itself) asks."""
        if self._warned:
            return
        frame = sys._getframe(2)
        depth = 0
        while frame is not None and depth < 12:
            name = frame.f_globals.get("__name__") or ""
            if name.startswith(_URLLIB3_MODULES):
                return
            frame = frame.f_back
            depth += 1
        self._warned = True
        warnings.warn("nativetls: certificate validation is disabled (verify_mode=CERT_NONE): this connection can "
                      "be intercepted", SecurityWarning, stacklevel=3)

    def _client_buffer(self, server_hostname, session):
        """A client TLSBuffer for *server_hostname*, with ssl's meaning of check_hostname and the CN switch."""
        if isinstance(server_hostname, bytes):
            server_hostname = server_hostname.decode("ascii")
        if not server_hostname:
            server_hostname = None
        if self._check_hostname and server_hostname is None:
            raise ValueError("check_hostname requires server_hostname")
        context = self._native_context()
        verify = self._verifies()
        if not verify:
            self._warn_unverified()
        check_name = self._check_hostname and verify
        buffer = context.wrap_buffers(server_hostname if check_name or not verify else None, session=session)
        if verify:
            _tune_openssl_buffer(buffer, None if check_name else server_hostname, self._common_name and check_name,
                                 not self._verify_flags & VERIFY_X509_STRICT)
        return context, buffer, server_hostname

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True, suppress_ragged_eofs=True,
                    server_hostname=None, session=None):
        """Wrap a connected stream socket; returns a :class:`NativeTLSSocket` (handshaken unless asked not to).

        Client: *server_hostname* is sent as SNI and, with ``check_hostname``, the certificate must match it
        (without ``check_hostname`` the chain is still verified, as in ``ssl``). Server (*server_side*, on a
        ``PROTOCOL_TLS_SERVER`` context): *server_hostname* must be None.
        *suppress_ragged_eofs* (default True, as ``ssl``): an EOF without close_notify reads as ``b""``.

        Raises:
            ValueError: *server_side* on a client context or the reverse, or ``check_hostname`` without
            *server_hostname*.
            NativeTLSCertificateError: the certificate was rejected. NativeTLSError: the handshake failed.
        """
        context, buffer, server_hostname = self._buffer_for(server_side, server_hostname, session)
        return NativeTLSSocket(sock, buffer, context, self, server_hostname, suppress_ragged_eofs,
                               do_handshake_on_connect, server_side)

    def wrap_bio(self, incoming, outgoing, server_side=False, server_hostname=None, session=None):
        """A :class:`NativeTLSObject` (shaped like ``ssl.SSLObject``) running TLS over the caller's
        ``ssl.MemoryBIO`` pair *incoming*/*outgoing*, as asyncio, anyio and urllib3's TLS-in-TLS use it.
        Arguments as for :meth:`wrap_socket`."""
        context, buffer, server_hostname = self._buffer_for(server_side, server_hostname, session)
        return self.sslobject_class(buffer, incoming, outgoing, self, server_side, server_hostname)

    def _buffer_for(self, server_side, server_hostname, session):
        if server_side != self._server:
            if server_side:
                raise ValueError("Cannot create a server socket with a client NativeTLSContext (make it with "
                                 "PROTOCOL_TLS_SERVER)")
            raise ValueError("Cannot create a client socket with a PROTOCOL_TLS_SERVER context")
        if server_side:
            if server_hostname:
                raise ValueError("server_hostname can only be specified in client mode")
            if session is not None:
                raise ValueError("session can only be specified in client mode")
            context = self._native_context()
            return context, context.wrap_buffers(), None
        return self._client_buffer(server_hostname, session)

    def __repr__(self):
        return "<NativeTLSContext %s verify_mode=%d check_hostname=%s>" % (
            "server" if self._server else "client", self._verify_mode, self._check_hostname)


_URLLIB3_MODULES = ("urllib3.", "pip._vendor.urllib3.")


def _tune_openssl_buffer(buffer, sni, common_name, relaxed):
    """What ssl allows and nativetls's TLSBuffer does not ask for, set on the OpenSSL connection before its
    handshake: SNI without a host-name check (*sni*), CN fallback (*common_name*), no X509_STRICT (*relaxed*).
    On other backends only the first is possible, as "no SNI" (documented in docs/integrations.md)."""
    if not (sni or common_name or relaxed):
        return
    ssl_ptr = getattr(buffer, "_ssl_ptr", None)
    if ssl_ptr is None:
        return  # not OpenSSL: the other two were refused when they were set
    from .._abc import normalize_server_hostname
    from .._openssl import _libssl as L
    from .._openssl._lowlevel import lib
    if sni:
        name, _host, is_ip = normalize_server_hostname(sni)
        if name and not is_ip:
            lib.SSL_ctrl(ssl_ptr, L.SSL_CTRL_SET_TLSEXT_HOSTNAME, L.TLSEXT_NAMETYPE_host_name, name)
    param = lib.SSL_get0_param(ssl_ptr)
    if common_name:
        lib.X509_VERIFY_PARAM_set_hostflags(param, L.X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS)
    if relaxed:
        lib.X509_VERIFY_PARAM_clear_flags(param, L.X509_V_FLAG_X509_STRICT)
    buffer._policy = (bool(common_name), not relaxed)  # the same two choices for what nativetls checks on 1.0.2



class _SSLStandIn(object):
    """What urllib3 reads from the ``ssl`` module at run time, for a Python without one (see contrib.urllib3).

    It is not a module, is never put in ``sys.modules`` and cannot be imported: ``import ssl`` keeps failing."""

    CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED = CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED
    PROTOCOL_TLS = PROTOCOL_SSLv23 = PROTOCOL_TLS
    PROTOCOL_TLS_CLIENT = PROTOCOL_TLS_CLIENT
    PROTOCOL_TLSv1, PROTOCOL_TLSv1_1, PROTOCOL_TLSv1_2 = PROTOCOL_TLSv1, PROTOCOL_TLSv1_1, PROTOCOL_TLSv1_2
    OP_NO_COMPRESSION, OP_NO_TICKET, OP_NO_SSLv2, OP_NO_SSLv3 = OP_NO_COMPRESSION, OP_NO_TICKET, 0x1000000, 0x2000000
    OP_NO_TLSv1, OP_NO_TLSv1_1, OP_NO_TLSv1_2, OP_NO_TLSv1_3 = OP_NO_TLSv1, OP_NO_TLSv1_1, OP_NO_TLSv1_2, OP_NO_TLSv1_3
    VERIFY_X509_STRICT, VERIFY_X509_PARTIAL_CHAIN = VERIFY_X509_STRICT, VERIFY_X509_PARTIAL_CHAIN
    HAS_SNI = True
    HAS_NEVER_CHECK_COMMON_NAME = True
    TLSVersion = TLSVersion
    SSLError = NativeTLSError
    SSLEOFError = NativeTLSEOFError
    SSLCertVerificationError = NativeTLSCertificateError
    SSLContext = NativeTLSContext

    def __repr__(self):
        return "<nativetls stand-in for the missing ssl module>"


#: The object contrib.urllib3 gives urllib3 as its ``ssl`` on a Python without an ``ssl`` module.
ssl_stand_in = _SSLStandIn()
