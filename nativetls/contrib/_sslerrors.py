# -*- coding: utf-8 -*-
"""The exceptions :class:`NativeTLSContext`'s connections raise: each an ``ssl`` exception (``SSLError``,
``SSLCertVerificationError``, ``SSLWantReadError``, ...; ``socket.error`` on a Python without ``ssl``) and a
:class:`nativetls.TLSError` at once, and ``_translate``, which makes one from a nativetls exception.
Split out of ``_sslcompat`` (which re-exports every name), so that the context and both connection classes
(``_sslsocket``, ``_sslobject``) can import them without importing each other."""
from __future__ import absolute_import, division, print_function, unicode_literals

import socket as _socket

from .._compat import text_type
from .._errors import CertificateVerificationError, RaggedEOF, TLSError, WantReadError, WantWriteError

try:
    import ssl as _ssl
except ImportError:  # nativetls.pip's case: this Python has no (usable) ssl module
    _ssl = None

__all__ = [str(name) for name in (
    "NativeTLSError", "NativeTLSCertificateError", "NativeTLSEOFError", "NativeTLSWantReadError",
    "NativeTLSWantWriteError", "NativeTLSZeroReturnError",
)]

_SSLError = _ssl.SSLError if _ssl is not None else _socket.error


class NativeTLSError(_SSLError, TLSError):
    """A nativetls failure seen through the ``ssl`` interface: an ``ssl.SSLError`` (``socket.error`` without an
    ``ssl`` module) and a :class:`nativetls.TLSError`. ``nativetls_error`` is the original exception."""

    nativetls_error = None
    native_code = None
    native_message = None

    def __str__(self):
        # As ssl.SSLError: the message alone, without "[Errno N]" (which 2.7's socket.error would add).
        if isinstance(getattr(self, "strerror", None), (str, text_type)):
            return self.strerror
        return _SSLError.__str__(self)


def _bases(*classes):
    """*classes* without repeats (an ssl class that does not exist here is replaced by NativeTLSError)."""
    result = []
    for cls in classes:
        if cls not in result:
            result.append(cls)
    return tuple(result)


def _ssl_class(name):
    return getattr(_ssl, name, None) or NativeTLSError


def _error_class(name, doc, *classes, **attributes):
    # type() rather than a class statement: the bases depend on what this interpreter's ssl module has (2.7
    # cannot unpack a tuple into a class statement).
    attributes["__doc__"] = doc
    attributes["__module__"] = __name__
    return type(str(name), _bases(*classes), attributes)


NativeTLSCertificateError = _error_class(
    "NativeTLSCertificateError",
    """The server's certificate was rejected (an ``ssl.SSLCertVerificationError`` where it exists).

    ``reason_code`` and ``host`` are those of the :class:`nativetls.CertificateVerificationError`.""",
    NativeTLSError, _ssl_class("SSLCertVerificationError"), verify_code=None, verify_message=None,
    reason_code=None, host=None)
NativeTLSEOFError = _error_class(
    "NativeTLSEOFError",
    "The transport ended without close_notify (``ssl.SSLEOFError``; ``nativetls_error`` is the "
    ":class:`nativetls.RaggedEOF`, which this class does not derive from).",
    NativeTLSError, _ssl_class("SSLEOFError"))
NativeTLSWantReadError = _error_class(
    "NativeTLSWantReadError", "A non-blocking socket must become readable first (``ssl.SSLWantReadError``).",
    NativeTLSError, _ssl_class("SSLWantReadError"), WantReadError)
NativeTLSWantWriteError = _error_class(
    "NativeTLSWantWriteError", "A non-blocking socket must become writable first (``ssl.SSLWantWriteError``).",
    NativeTLSError, _ssl_class("SSLWantWriteError"), WantWriteError)


NativeTLSZeroReturnError = _error_class(
    "NativeTLSZeroReturnError", "The peer closed the TLS layer with close_notify (``ssl.SSLZeroReturnError``).",
    NativeTLSError, _ssl_class("SSLZeroReturnError"))

# ssl's SSL_ERROR_* values: asyncio before 3.11 tells "want read" from a failure by ``exc.errno`` alone.
_SSL_ERROR_SSL, _SSL_ERROR_WANT_READ, _SSL_ERROR_WANT_WRITE, _SSL_ERROR_ZERO_RETURN, _SSL_ERROR_EOF = 1, 2, 3, 6, 8
_VERIFY_PREFIX = "certificate verify failed: "


def _translate(exc, host=None):
    """An ``ssl``-shaped exception for the nativetls exception *exc* (a ``NativeTLSError`` is returned as is).

    ``errno`` and ``reason`` are ssl's (``SSL_ERROR_WANT_READ``, ``"CERTIFICATE_VERIFY_FAILED"``); a verification
    failure's message starts with ssl's ``"certificate verify failed: "``, then nativetls's cause and host."""
    if isinstance(exc, NativeTLSError):
        return exc
    if isinstance(exc, CertificateVerificationError):
        text = str(exc)
        if exc.host is None and host:  # check_hostname off: the name was not checked, but still say whose it was
            text = "%s for host %s" % (text, host)
        cls, code, reason, text = NativeTLSCertificateError, _SSL_ERROR_SSL, "CERTIFICATE_VERIFY_FAILED", \
            _VERIFY_PREFIX + text
    elif isinstance(exc, RaggedEOF):
        cls, code, reason, text = NativeTLSEOFError, _SSL_ERROR_EOF, "UNEXPECTED_EOF_WHILE_READING", str(exc)
    elif isinstance(exc, WantReadError):
        cls, code, reason, text = NativeTLSWantReadError, _SSL_ERROR_WANT_READ, None, str(exc)
    elif isinstance(exc, WantWriteError):
        cls, code, reason, text = NativeTLSWantWriteError, _SSL_ERROR_WANT_WRITE, None, str(exc)
    else:
        cls, code, reason, text = NativeTLSError, _SSL_ERROR_SSL, None, str(exc)
    new = cls(code, text)
    new.nativetls_error = exc
    new.__cause__ = exc
    new.reason = reason
    new.library = "SSL" if reason else None
    new.native_code = getattr(exc, "native_code", None)
    new.native_message = getattr(exc, "native_message", None)
    if isinstance(exc, CertificateVerificationError):
        new.verify_code = exc.native_code
        new.verify_message = exc.native_message or str(exc)
        new.host = exc.host or host
        new.reason_code = exc.reason
    return new
