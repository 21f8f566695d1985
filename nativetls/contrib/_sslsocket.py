# -*- coding: utf-8 -*-
"""``NativeTLSContext.wrap_socket``'s :class:`NativeTLSSocket`, and what it shares with ``wrap_bio``'s
:class:`NativeTLSObject` (``_sslobject``): ``_SSLAnswers``, the ``ssl.SSLSocket``/``SSLObject`` questions about
what was negotiated (``version()``, ``cipher()`` as ssl's tuple, ``getpeercert()`` as ssl's dict, ...), answered
from the nativetls :class:`TLSBuffer`. Split out of ``_sslcompat``, which re-exports ``NativeTLSSocket``."""
from __future__ import absolute_import, division, print_function, unicode_literals

import functools
import threading

from .._enums import NextProtocol
from .._errors import RaggedEOF, TLSError
from .._socket import TLSSocket
from ._sslerrors import _translate

__all__ = [str("NativeTLSSocket")]


def _translating(method):
    """Decorate a socket method so that nativetls errors come out as ``NativeTLSError`` (``ssl.SSLError``)."""
    reads = method.__name__ in ("recv", "recv_into", "read")

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if reads and self._ragged_seen:
            return self._eof_result(method, args)  # as ssl: end of file again, not "failed earlier"
        try:
            return method(self, *args, **kwargs)
        except TLSError as exc:
            if reads and isinstance(exc, RaggedEOF) and self._suppress_ragged_eofs:
                self._ragged_seen = True
                return self._eof_result(method, args)
            raise _translate(exc, self.server_hostname)
    return wrapper

class _SSLAnswers(object):
    """What ``ssl.SSLSocket`` and ``ssl.SSLObject`` both answer, for a class with ``_buffer`` (the TLSBuffer, None
    once closed), ``_sslcontext`` (the :class:`NativeTLSContext`) and ``_verified`` (its verify_mode was not
    CERT_NONE when the connection was made)."""

    @property
    def context(self):
        """The :class:`NativeTLSContext` this connection was made from (as ``ssl``'s ``context``)."""
        return self._sslcontext

    def version(self):
        """The negotiated protocol as ``ssl`` names it (``"TLSv1.3"``), or None before the handshake."""
        if self._buffer is None:
            return None
        version = self._buffer.negotiated_tls_version
        return None if version is None else str(version.value)

    def cipher(self):
        """``(name, protocol, secret_bits)`` as ``ssl.SSLSocket.cipher()``, or None before the handshake."""
        if self._buffer is None:
            return None
        suite = self._buffer.cipher()
        if suite is None:
            return None
        return (_cipher_name(suite), self.version(), _secret_bits(suite))

    def shared_ciphers(self):
        """Not available from nativetls (None, as ``ssl`` returns when it does not know)."""
        return None

    def compression(self):
        """Always None: nativetls never compresses."""
        return None

    def selected_alpn_protocol(self):
        """The ALPN protocol the server chose, as str, or None."""
        if self._buffer is None:
            return None
        proto = self._buffer.negotiated_protocol()
        if proto is None:
            return None
        if isinstance(proto, NextProtocol):
            proto = proto.value
        return proto.decode("ascii")

    def selected_npn_protocol(self):
        """NPN is not supported: None."""
        return None

    def getpeercert(self, binary_form=False):
        """The peer's certificate: DER with *binary_form*; else a dict like ``ssl``'s, empty when unverified;
        None when the peer sent none."""
        if self._buffer is None:
            raise ValueError("the socket is closed")
        der = self._buffer.getpeercert(True)
        if binary_form or der is None:
            return der  # None: no certificate (a server that asked for none, as ssl)
        if not self._verified:
            return {}
        return _certificate_dict(der)

    def pending(self):
        """Decrypted bytes ready to read without I/O: unknown through nativetls, so 0 (as ``ssl`` allows; callers
        read until ``SSLWantReadError`` anyway)."""
        return 0


class NativeTLSSocket(_SSLAnswers, TLSSocket):
    """A :class:`nativetls.TLSSocket` that also answers like ``ssl.SSLSocket``; made by
    :meth:`NativeTLSContext.wrap_socket` (client or server side). nativetls errors are raised as
    :class:`NativeTLSError`."""

    def __init__(self, sock, buffer, context, sslcontext, server_hostname, suppress_ragged_eofs,
                 do_handshake_on_connect, server_side=False):
        self._sslcontext = sslcontext
        self._verified = sslcontext._verifies()
        self._suppress_ragged_eofs = suppress_ragged_eofs
        self._ragged_seen = False
        self.server_hostname = server_hostname
        self.server_side = server_side
        try:
            super(NativeTLSSocket, self).__init__(sock, buffer, context, do_handshake_on_connect)
        except TLSError as exc:
            sock.close()
            raise _translate(exc, server_hostname)

    def _eof_result(self, method, args):
        return 0 if method.__name__ == "recv_into" or (method.__name__ == "read" and len(args) > 1) else b""

    do_handshake = _translating(TLSSocket.do_handshake)
    recv = _translating(TLSSocket.recv)
    recv_into = _translating(TLSSocket.recv_into)
    read = _translating(TLSSocket.read)
    send = _translating(TLSSocket.send)
    write = send
    sendall = _translating(TLSSocket.sendall)
    unwrap = _translating(TLSSocket.unwrap)

    @property
    def nativetls_context(self):
        """The :class:`nativetls.ClientContext` (or ``ServerContext``) this socket was made from."""
        return self._context


def _cipher_name(suite):
    from .._backend import backend
    if backend().name == "openssl":
        from .._openssl._context import cipher_names
        name = cipher_names().get(int(suite))
        if name:
            return name.decode("ascii") if isinstance(name, bytes) else name
    return getattr(suite, "name", "0x%04X" % int(suite))


def _secret_bits(suite):
    name = getattr(suite, "name", "")
    for marker, bits in (("AES_256", 256), ("CHACHA20", 256), ("AES_128", 128), ("CAMELLIA_256", 256),
                         ("CAMELLIA_128", 128), ("ARIA_256", 256), ("ARIA_128", 128), ("3DES", 112)):
        if marker in name:
            return bits
    return None


_cert_dicts = {}  # DER -> getpeercert() dict: asyncio asks on every handshake, and parsing is the costly part
_cert_dicts_lock = threading.Lock()


def _certificate_dict(der):
    """``getpeercert()``'s dict for *der*, parsed once per certificate (a fresh top-level dict each call)."""
    cached = _cert_dicts.get(der)
    if cached is None:
        from .._certdict import certificate_dict
        cached = certificate_dict(der)
        with _cert_dicts_lock:
            if len(_cert_dicts) >= 64:
                _cert_dicts.clear()
            _cert_dicts[der] = cached
    return dict(cached)
