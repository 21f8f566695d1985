# -*- coding: utf-8 -*-
"""``NativeTLSContext.wrap_bio``: an ``ssl.SSLObject``-shaped object over a nativetls :class:`TLSBuffer`.

Theory of operation: the caller owns two ``ssl.MemoryBIO``-like objects, *incoming* (bytes from the network,
``write_eof()`` when the transport ended) and *outgoing* (bytes to send). Every call first moves whatever
*incoming* holds into the TLSBuffer (``process_incoming``; the transport's EOF as ``process_incoming(b"")`` once,
after the last bytes), then runs the TLSBuffer operation, then moves everything the TLSBuffer wants to send into
*outgoing*, also when the operation raised (a handshake failure's alert, a "want read" after a ClientHello).
nativetls's exceptions come out as the ``ssl`` ones (``SSLWantReadError`` and so on, each also a nativetls
exception), so asyncio, anyio and urllib3 drive this exactly as they drive ``ssl.SSLObject``.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

from .._errors import TLSError, WantReadError
from ._sslerrors import NativeTLSWantReadError, _translate
from ._sslsocket import _SSLAnswers

__all__ = [str("NativeTLSObject")]


class NativeTLSObject(_SSLAnswers):
    """What :meth:`NativeTLSContext.wrap_bio` returns: ``ssl.SSLObject``'s methods over nativetls (see the
    module docstring). ``nativetls_buffer`` is the underlying :class:`nativetls.TLSBuffer`.

    Raises (from every I/O method): ``ssl.SSLWantReadError``/``SSLWantWriteError`` (as
    :class:`NativeTLSWantReadError`/``...WriteError``), ``ssl.SSLCertVerificationError``
    (:class:`NativeTLSCertificateError`), ``ssl.SSLEOFError`` (:class:`NativeTLSEOFError`), ``ssl.SSLError``."""

    def __init__(self, buffer, incoming, outgoing, sslcontext, server_side, server_hostname):
        self._buffer = buffer
        self._incoming = incoming
        self._outgoing = outgoing
        self._sslcontext = sslcontext
        self._verified = sslcontext._verifies()
        self.server_side = server_side
        self.server_hostname = server_hostname
        self._eof_fed = False
        self._shutdown_sent = False

    # --- moving bytes ------------------------------------------------------------------------------------------
    def _feed(self):
        incoming = self._incoming
        if incoming.pending:
            self._buffer.process_incoming(incoming.read())
        if not self._eof_fed and incoming.eof:
            self._eof_fed = True
            self._buffer.process_incoming(b"")

    def _flush(self):
        data = self._buffer.process_outgoing(None)
        if data:
            self._outgoing.write(data)

    def _run(self, operation, *args):
        try:
            self._feed()
            return operation(*args)
        except WantReadError:
            # The hot path (every read loop ends here): ssl's exception without _translate's extras.
            raise NativeTLSWantReadError(2, "the operation needs more data from the peer")
        except TLSError as exc:
            raise _translate(exc, self.server_hostname)
        finally:
            self._flush()

    # --- ssl.SSLObject's I/O -----------------------------------------------------------------------------------
    def do_handshake(self):
        """Run the handshake (as far as the bytes in *incoming* allow: else ``SSLWantReadError``)."""
        self._run(self._buffer.do_handshake)

    def read(self, len=1024, buffer=None):
        """Up to *len* decrypted bytes (or their count, written into *buffer*); ``b""``/0 after close_notify."""
        # _run() written out: this and write() are the calls of every round trip.
        tls = self._buffer
        incoming = self._incoming
        try:
            if incoming.pending or (incoming.eof and not self._eof_fed):  # else _feed() would do nothing
                self._feed()
            return tls.read(len) if buffer is None else tls.read(len, buffer)
        except WantReadError:
            raise NativeTLSWantReadError(2, "the operation needs more data from the peer")
        except TLSError as exc:
            raise _translate(exc, self.server_hostname)
        finally:
            data = tls.process_outgoing(None)
            if data:
                self._outgoing.write(data)

    def write(self, data):
        """Encrypt all of *data* into *outgoing*; returns its length."""
        tls = self._buffer
        try:
            if self._incoming.pending:
                self._feed()
            return tls.write(data)
        except TLSError as exc:
            raise _translate(exc, self.server_hostname)
        finally:
            out = tls.process_outgoing(None)
            if out:
                self._outgoing.write(out)

    def unwrap(self):
        """Send close_notify and wait for the peer's (``SSLWantReadError`` until it is in *incoming*); returns
        None, as ``ssl.SSLObject.unwrap``. Application data arriving meanwhile is discarded."""
        self._run(self._unwrap)

    def _unwrap(self):
        if not self._shutdown_sent:
            self._shutdown_sent = True
            self._buffer.shutdown()
        while True:
            try:
                if not self._buffer.read(16384):
                    return None
            except WantReadError:
                raise WantReadError("waiting for the peer's close_notify")

    # --- what was negotiated (version, cipher, getpeercert, context, ...: _SSLAnswers) ---------------------------
    @property
    def nativetls_buffer(self):
        """The :class:`nativetls.TLSBuffer` underneath."""
        return self._buffer

    @property
    def session(self):
        """The :class:`nativetls.TLSSession` to resume with later, or None."""
        return self._buffer.session

    @property
    def session_reused(self):
        """Whether this handshake resumed a session."""
        return self._buffer.session_reused

    def get_channel_binding(self, cb_type="tls-unique"):
        """Not available from nativetls: None (as ``ssl`` answers before the handshake)."""
        return None

    def verify_client_post_handshake(self):
        """Post-handshake client authentication is not supported by nativetls."""
        raise NotImplementedError("post-handshake authentication is not supported by nativetls")

    def __repr__(self):
        return "<NativeTLSObject %s %s>" % ("server" if self.server_side else "client", self.version())
