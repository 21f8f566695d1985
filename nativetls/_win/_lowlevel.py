# -*- coding: utf-8 -*-
"""Bound SSPI/crypt32 functions, owned native handles, SecBuffer helpers and the status -> exception mapping.

The one place that turns a ``SECURITY_STATUS`` into a public exception: :func:`raise_status` (and
:func:`public_error` for the raw :class:`~._types.NativeError` that the errcheck functions raise). Messages carry
the function, the symbolic name and the hex code: ``"handshake failed: the peer's message could not be parsed
(InitializeSecurityContextW: SEC_E_ILLEGAL_MESSAGE, 0x80090326)"``.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
from ctypes import byref

from .._errors import TLSError
from .._state import Closeable
from . import _crypt32 as C
from . import _secur32 as S
from ._types import NativeError, hex32, status_name

__all__ = [
    "secur32", "crypt32", "raise_status", "public_error", "describe", "Owned", "Credentials", "SecurityContext",
    "CertContext", "CertStore", "SecBuffers", "UNISP_NAME", "cert_der", "store_ders",
]

UNISP_NAME = "Microsoft Unified Security Protocol Provider"


def secur32():
    """secur32.dll's bound functions (ImportError off Windows)."""
    return S.load()


def crypt32():
    """crypt32.dll's bound functions (ImportError off Windows)."""
    return C.load()


# What each status means in words a user can act on. Statuses not listed fall back to their symbolic name.
_STATUS_TEXT = {
    S.SEC_E_INCOMPLETE_MESSAGE: "more data is needed",
    S.SEC_E_ILLEGAL_MESSAGE: "the peer sent a message that could not be parsed, or an alert",
    S.SEC_E_ALGORITHM_MISMATCH: "no protocol version or cipher suite in common with the peer",
    S.SEC_E_UNSUPPORTED_FUNCTION: "the requested protocol version or operation is not supported by SChannel here",
    S.SEC_E_INVALID_TOKEN: "the peer's data is not valid TLS",
    S.SEC_E_MESSAGE_ALTERED: "a record failed its integrity check",
    S.SEC_E_DECRYPT_FAILURE: "a record could not be decrypted",
    S.SEC_E_ENCRYPT_FAILURE: "a record could not be encrypted",
    S.SEC_E_UNKNOWN_CREDENTIALS: "the credentials (certificate, key or protocol settings) were rejected",
    S.SEC_E_NO_CREDENTIALS: "no credentials are available (a certificate without its private key?)",
    S.SEC_E_INTERNAL_ERROR: "SChannel internal error",
    S.SEC_E_CERT_UNKNOWN: "the certificate could not be used",
    S.SEC_E_CERT_EXPIRED: "the peer rejected a certificate as expired",
    S.SEC_E_UNTRUSTED_ROOT: "a certificate chain ends in an untrusted root",
    S.SEC_E_WRONG_PRINCIPAL: "the certificate does not match the host name",
    S.SEC_E_INVALID_HANDLE: "the security context is not valid (closed?)",
    S.SEC_E_INVALID_PARAMETER: "SChannel rejected a parameter",
    S.SEC_E_CONTEXT_EXPIRED: "the connection has been closed",
    S.SEC_E_APPLICATION_PROTOCOL_MISMATCH: "no application protocol (ALPN) in common with the peer",
    S.SEC_E_INSUFFICIENT_MEMORY: "out of memory",
    S.SEC_E_BUFFER_TOO_SMALL: "a buffer was too small",
    S.SEC_E_OUT_OF_SEQUENCE: "a record arrived out of sequence",
    S.SEC_E_INCOMPLETE_CREDENTIALS: "the server requires a client certificate",
    S.SEC_E_DOWNGRADE_DETECTED: "a protocol downgrade was detected",
    S.SEC_E_TARGET_UNKNOWN: "the target name is unknown",
    S.SEC_E_SECPKG_NOT_FOUND: "the SChannel security package was not found",
    S.SEC_E_SHUTDOWN_IN_PROGRESS: "the connection is shutting down",
}


def describe(function, status):
    """``"<words> (<function>: <NAME>, 0x...)"`` for a status."""
    words = _STATUS_TEXT.get(status)
    detail = "%s: %s, %s" % (function, status_name(status), hex32(status))
    return "%s (%s)" % (words, detail) if words else detail


def raise_status(what, function, status, cls=TLSError):
    """Raise *cls* for a failed SSPI call: ``"<what>: <words> (<function>: <NAME>, 0x...)"``."""
    raise cls("%s: %s" % (what, describe(function, status)), native_code=status,
              native_message="%s: %s" % (function, status_name(status)))


def public_error(exc, what="SChannel call failed", cls=TLSError):
    """The public exception for a raw :class:`NativeError` raised by an errcheck."""
    return cls("%s: %s" % (what, describe(exc.function, exc.code)), native_code=exc.code,
               native_message="%s: %s" % (exc.function, exc.name))


class Owned(Closeable):
    """One native handle with ``close()`` (idempotent), context-manager support and a ``__del__`` safety net.

    Subclasses set ``_free`` (called with the handle once) and keep anything the handle points into alive.
    """

    __slots__ = ("_handle", "_keep", "__weakref__")

    def __init__(self, handle, keep=()):
        self._handle = handle
        self._keep = keep

    @property
    def handle(self):
        if self._handle is None:
            raise TLSError("the native %s has been closed" % type(self).__name__)
        return self._handle

    @property
    def closed(self):
        return self._handle is None

    def _free(self, handle):
        raise NotImplementedError

    def close(self):
        """Free the handle (idempotent)."""
        handle, self._handle = self._handle, None
        if handle is not None:
            self._free(handle)
        self._keep = ()


class Credentials(Owned):
    """A CredHandle from AcquireCredentialsHandleW (freed with FreeCredentialsHandle).

    ``keep`` holds the certificate contexts and stores the credentials reference.
    """

    __slots__ = ()

    def _free(self, handle):
        try:
            secur32().FreeCredentialsHandle(byref(handle))
        except NativeError:  # pragma: no cover - nothing to do about it while freeing
            pass


class SecurityContext(Owned):
    """A CtxtHandle filled by the first InitializeSecurityContextW/AcceptSecurityContext (DeleteSecurityContext)."""

    __slots__ = ()

    def _free(self, handle):
        try:
            secur32().DeleteSecurityContext(byref(handle))
        except NativeError:  # pragma: no cover
            pass


class CertContext(Owned):
    """A PCCERT_CONTEXT we own one reference to (CertFreeCertificateContext)."""

    __slots__ = ()

    def _free(self, handle):
        crypt32().CertFreeCertificateContext(handle)

    @classmethod
    def from_der(cls, der):
        """A new certificate context from DER bytes (the caller owns it)."""
        buf = (ctypes.c_uint8 * len(der)).from_buffer_copy(der)
        try:
            return cls(crypt32().CertCreateCertificateContext(C.X509_ASN_ENCODING | C.PKCS_7_ASN_ENCODING, buf,
                                                              len(der)))
        except NativeError as exc:
            raise public_error(exc, "not a certificate SChannel can read")

    def der(self):
        ctx = self.handle.contents
        return ctypes.string_at(ctx.pbCertEncoded, ctx.cbCertEncoded)


def cert_der(pcert):
    """DER bytes of a borrowed PCCERT_CONTEXT."""
    ctx = pcert.contents
    return ctypes.string_at(ctx.pbCertEncoded, ctx.cbCertEncoded)


class CertStore(Owned):
    """An HCERTSTORE (CertCloseStore). :meth:`memory` makes an empty in-memory one."""

    __slots__ = ()

    def _free(self, handle):
        try:
            crypt32().CertCloseStore(handle, 0)
        except NativeError:  # pragma: no cover
            pass

    @classmethod
    def memory(cls, ders=()):
        """A new in-memory store holding the certificates *ders* (the caller owns it)."""
        store = cls(crypt32().CertOpenStore(C.CERT_STORE_PROV_MEMORY, 0, 0, C.CERT_STORE_CREATE_NEW_FLAG, None))
        for der in ders:
            store.add_der(der)
        return store

    def add_der(self, der):
        buf = (ctypes.c_uint8 * len(der)).from_buffer_copy(der)
        try:
            crypt32().CertAddEncodedCertificateToStore(self.handle, C.X509_ASN_ENCODING, buf, len(der),
                                                       C.CERT_STORE_ADD_USE_EXISTING, None)
        except NativeError as exc:
            raise public_error(exc, "not a certificate SChannel can read")

    def add_context(self, pcert):
        crypt32().CertAddCertificateContextToStore(self.handle, pcert, C.CERT_STORE_ADD_USE_EXISTING, None)

    def ders(self):
        """DER bytes of every certificate in the store, in enumeration order."""
        return store_ders(self.handle)


def store_ders(hstore):
    """DER bytes of every certificate in a borrowed HCERTSTORE, in enumeration order."""
    result = []
    enum = crypt32().CertEnumCertificatesInStore
    current = enum(hstore, None)
    while current:
        result.append(cert_der(current))
        current = enum(hstore, current)  # frees the previous context
    return result


class SecBuffers(object):
    """A SecBufferDesc over *n* SecBuffers, with the Python buffers they point into kept alive.

    ``set(i, kind, data=None, size=None)`` points buffer *i* at a fresh copy of *data* (or *size* zero bytes, or
    nothing); ``bytes_of(i)`` reads it back. Output buffers allocated by SSPI (``ISC_REQ_ALLOCATE_MEMORY``) are
    read with ``take_allocated(i)``, which frees them with FreeContextBuffer.
    """

    def __init__(self, count):
        self.array = (S.SecBuffer * count)()
        self.desc = S.SecBufferDesc(S.SECBUFFER_VERSION, count, self.array)
        self._keep = [None] * count

    def set(self, index, kind, data=None, size=None):
        buf = self.array[index]
        buf.BufferType = kind
        if data is not None:
            storage = ctypes.create_string_buffer(bytes(data), len(data) or 1)
            buf.cbBuffer = len(data)
            buf.pvBuffer = ctypes.addressof(storage)
            self._keep[index] = storage
        elif size:
            storage = ctypes.create_string_buffer(size)
            buf.cbBuffer = size
            buf.pvBuffer = ctypes.addressof(storage)
            self._keep[index] = storage
        else:
            buf.cbBuffer = 0
            buf.pvBuffer = None
            self._keep[index] = None
        return self

    def find(self, kind):
        """Index of the first buffer of type *kind*, or None."""
        for index in range(len(self.array)):
            if self.array[index].BufferType & ~S.SECBUFFER_ATTRMASK == kind:
                return index
        return None

    def bytes_of(self, index):
        buf = self.array[index]
        if not buf.cbBuffer or not buf.pvBuffer:
            return b""
        return ctypes.string_at(buf.pvBuffer, buf.cbBuffer)

    def take_allocated(self):
        """Bytes of every SSPI-allocated output buffer (type TOKEN or ALERT), freeing them; in buffer order."""
        out = []
        for index in range(len(self.array)):
            buf = self.array[index]
            if buf.pvBuffer and self._keep[index] is None:
                if buf.cbBuffer:
                    out.append(ctypes.string_at(buf.pvBuffer, buf.cbBuffer))
                try:
                    secur32().FreeContextBuffer(buf.pvBuffer)
                except NativeError:  # pragma: no cover
                    pass
                buf.pvBuffer = None
                buf.cbBuffer = 0
        return out

    @property
    def ref(self):
        return byref(self.desc)
