# -*- coding: utf-8 -*-
"""The SecureTransport TLSBuffer: one ``SSLContextRef`` per connection over in-memory queues, no socket.

Theory of operation
-------------------
SecureTransport does its own I/O through two callbacks (``SSLSetIOFuncs``); ours never touch a socket. They move
bytes between the native library and the buffer's queues: ``_incoming`` (received, not yet consumed) and
``_outgoing`` (to send; unbounded, so this backend never raises WantWriteError). The connection reference handed to
``SSLSetConnection`` is a small integer naming the buffer in :data:`_BUFFERS`; the two callbacks are module-level
``CFUNCTYPE`` objects, alive as long as the module (native code may call them at any time until the context is
released). An exception inside a callback is caught (BaseException), stored on the buffer, the callback returns a
failure status, and the exception is re-raised after the native call returns. What SecureTransport promises
(MACOS.md, from apple-oss-distributions/Security ``libsecurity_ssl``), and what we make of it:

1. The read callback is asked for exactly the 5 header bytes still missing, then exactly the rest of one record.
   We give what we have: all of it is ``noErr``; a short count is ``errSSLWouldBlock`` (SecureTransport keeps the
   partial count). Never a short ``noErr``: that corrupts the record layer silently. At the transport's end
   (``process_incoming(b"")``) the callback answers ``errSSLClosedNoNotify`` - never ``errSSLClosedGraceful``,
   which would make a truncation look like a clean close.
2./3. Output is queued as whole records and flushed through the write callback, which always takes everything.
   ``SSLWrite`` sets ``*processed`` to the full length before flushing, so ``errSSLWouldBlock`` with
   ``processed == len`` means "queued, do not resend"; ``processed == 0`` means "retry the same data".
4. ``SSLRead`` zeroes ``*processed``, returns buffered plaintext, reads at most one record, may give
   ``errSSLWouldBlock`` with ``processed > 0``, skips non-application records, and answers the peer's close_notify
   (``errSSLClosedGraceful``) by calling ``SSLClose`` itself. After our own ``SSLClose`` it returns
   ``errSSLClosedGraceful`` at once: SecureTransport cannot read after a local shutdown, so once ``shutdown()``
   was called ``read()`` returns ``b""`` (docs/backend-macos.md says so).
5. ``SSLHandshake`` returns ``errSSLWouldBlock`` once all queued bytes were offered to the write callback. Called
   again after success it would read a record: it is never called again once the handshake is done.
6. Verification: the break options (client ``BreakOnServerAuth``, server with a trust store
   ``BreakOnClientAuth``) switch SecureTransport's own verification off and make ``SSLHandshake`` return
   ``errSSLPeerAuthCompleted`` when the peer's certificate arrived; we verify (``_verify``) and call
   ``SSLHandshake`` again. The client breaks only when the server sent a certificate - not on resumption - so a
   handshake that completes without the break is verified then (``SSLCopyPeerTrust`` builds the trust lazily),
   and it is how a client knows it resumed. Rejecting sends a fatal alert ourselves (SecureTransport sends none):
   plaintext before the keys change, else the close_notify ``SSLClose`` makes.
7. ``errSSLClientCertRequested``: the server asked for a certificate and we have none; calling ``SSLHandshake``
   again sends an empty Certificate message.
* SNI (server): the certificate is fixed before the first ``SSLHandshake``; with an ``sni_callback`` or several
  chains the buffer first waits for the whole ClientHello, reads its server_name itself (``nativetls._wire``), and
  only then creates its ``SSLContextRef`` with the chosen configuration.
* Resumption (client): ``SSLSetPeerID`` with a random ID per connection, or the ID of the :class:`MacSession`
  given; SecureTransport's session cache is process-global, keyed by that ID and the trust settings.

States: ``nativetls._state`` (shared by every backend).
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
import itertools
import os
import threading
import weakref
from ctypes import byref, c_int32, c_size_t, c_void_p

from .._abc import TLSBuffer, normalize_server_hostname
from .._contexts import SNIChoice
from .._enums import TLSVersion, cipher_suite_or_int, next_protocol_or_bytes
from .._errors import CertificateVerificationError, RaggedEOF, TLSError, WantReadError, WantWriteError
from .._objects import TLSSession
from .._state import WRITABLE, QueuedTransport, State, StateKeeping
from .._wire import NeedMoreData, client_hello_server_name, fatal_alert, handshake_types
from . import _security as S
from ._lowlevel import CFRef, cf, cfarray, cfstring, sec, string_text, tls_error
from ._types import OSStatusError, SSLCipherSuite
from ._verify import ALERTS, trust_chain, verify_trust

__all__ = ["SecureTransportBuffer", "MacSession", "State"]

_DEFAULT_READ = 16384
_VERSIONS = {S.kTLSProtocol1: TLSVersion.TLSv1, S.kTLSProtocol11: TLSVersion.TLSv1_1,
             S.kTLSProtocol12: TLSVersion.TLSv1_2, S.kSSLProtocol3: TLSVersion.SSLv3}
_FIRST_FLIGHT_LIMIT = 65536
_CERTIFICATE = 11
_HANDSHAKE_FAILURE = 40

# connection id -> buffer (weakly: dropping a buffer frees it). The native connection reference is the id, never
# a Python object's address.
_BUFFERS = weakref.WeakValueDictionary()
_IDS = itertools.count(1)
_IDS_LOCK = threading.Lock()


def _buffer_for(connection):
    return _BUFFERS.get(connection or 0)


def _read_callback(connection, data, length):
    buffer = _buffer_for(connection)
    if buffer is None:
        length[0] = 0
        return S.errSSLClosedAbort
    try:
        return buffer._feed_native(data, length)
    except BaseException as exc:  # stored, re-raised after the native call (STYLE.md)
        buffer._callback_error = exc
        length[0] = 0
        return S.errSSLInternal


def _write_callback(connection, data, length):
    buffer = _buffer_for(connection)
    if buffer is None:
        length[0] = 0
        return S.errSSLClosedAbort
    try:
        return buffer._take_native(data, length)
    except BaseException as exc:
        buffer._callback_error = exc
        length[0] = 0
        return S.errSSLInternal


# Kept alive by the module for as long as any SSLContextRef may call them.
_READ_FUNC = S.SSLReadFunc(_read_callback)
_WRITE_FUNC = S.SSLWriteFunc(_write_callback)


class MacSession(TLSSession):
    """A resumable SecureTransport session: the peer ID under which SecureTransport cached it."""

    __slots__ = ("peer_id",)

    def __init__(self, peer_id):
        self.peer_id = peer_id


class SecureTransportBuffer(QueuedTransport, StateKeeping, SNIChoice, TLSBuffer):
    """The SecureTransport :class:`~nativetls.TLSBuffer` (see the abstract class for the contract)."""

    __slots__ = ("_context", "_native", "_ssl", "_id", "_host", "_sni", "_state", "_failure", "_incoming",
                 "_outgoing", "_eof", "_server", "_chosen", "_callback_error", "_broke", "_peer_id",
                 "_first_flight", "_reused", "_negotiated", "__weakref__")

    def __init__(self, context, native, server_hostname=None, session=None, server=False):
        self._context = context
        self._native = native
        self._server = server
        self._state = State.HANDSHAKING
        self._failure = None
        self._incoming = bytearray()
        self._outgoing = bytearray()
        self._eof = False
        self._ssl = None
        self._callback_error = None
        self._broke = False
        self._reused = False
        self._negotiated = (None, None, None)  # cipher, ALPN, version: read once the handshake is done
        self._first_flight = bytearray()
        with _IDS_LOCK:
            self._id = next(_IDS)
        _BUFFERS[self._id] = self
        if server:
            self._host = self._sni = self._peer_id = None
            self._chosen = native.configuration.sni_callback is None and len(native.identities) <= 1
            if self._chosen:
                self._make_context(native, 0)
            return
        self._chosen = True
        self._sni, self._host, _is_ip = normalize_server_hostname(server_hostname)
        if session is not None:
            if not isinstance(session, MacSession):
                raise TypeError("session must be a TLSSession from a SecureTransport connection")
            self._peer_id = session.peer_id
        else:
            self._peer_id = os.urandom(16)
        self._make_context(native, 0)

    # --- setting up the SSLContextRef ---------------------------------------------------------------------
    def _make_context(self, native, index):
        self._native = native
        side = S.kSSLServerSide if self._server else S.kSSLClientSide
        self._ssl = CFRef(sec().SSLCreateContext(None, side, S.kSSLStreamType))
        ssl = self._ssl.value
        functions = sec()
        try:
            functions.SSLSetIOFuncs(ssl, _READ_FUNC, _WRITE_FUNC)
            functions.SSLSetConnection(ssl, self._id)
            functions.SSLSetProtocolVersionMin(ssl, native.versions[0])   # always: the defaults are SSL 3/TLS 1.0
            functions.SSLSetProtocolVersionMax(ssl, native.versions[1])
            if native.ciphers is not None:
                functions.SSLSetEnabledCiphers(ssl, native.ciphers, len(native.ciphers))
            if native.identities:
                functions.SSLSetCertificate(ssl, native.identities[index].array.value)
            if self._server:
                if native.client_auth:
                    functions.SSLSetClientSideAuthenticate(ssl, S.kAlwaysAuthenticate)
                    functions.SSLSetSessionOption(ssl, S.kSSLSessionOptionBreakOnClientAuth, True)
            else:
                # Always break: SecureTransport's own verification goes off and ours runs (or, with
                # validate_certificates=False, none); the break also tells a full handshake from a resumed one.
                functions.SSLSetSessionOption(ssl, S.kSSLSessionOptionBreakOnServerAuth, True)
                if self._sni:  # never an IP literal: SecureTransport would send it as SNI (point 6)
                    functions.SSLSetPeerDomainName(ssl, self._sni, len(self._sni))
                functions.SSLSetPeerID(ssl, self._peer_id, len(self._peer_id))
                if native.alpn:
                    self._set_alpn(ssl, native.alpn)
        except OSStatusError as exc:
            self._fail(tls_error("configuring SecureTransport failed (%s)" % exc.function, exc.code))

    def _set_alpn(self, ssl, protocols):
        names = [cfstring(p) for p in protocols]
        array = cfarray(names)
        for name in names:
            name.close()
        try:
            status = sec().SSLSetALPNProtocols(ssl, array.value)
        finally:
            array.close()
        if status != 0:
            raise OSStatusError("SSLSetALPNProtocols", status)

    # --- the I/O callbacks (called by SecureTransport, inside our native calls) -------------------------------
    def _feed_native(self, data, length):
        """Read callback: give up to *length[0]* bytes from ``_incoming`` (point 1)."""
        wanted = length[0]
        count = min(wanted, len(self._incoming))
        if count:
            ctypes.memmove(data, bytes(self._incoming[:count]), count)
            del self._incoming[:count]
        length[0] = count
        if count == wanted:
            return 0
        return S.errSSLClosedNoNotify if self._eof else S.errSSLWouldBlock

    def _take_native(self, data, length):
        """Write callback: queue all *length[0]* bytes (our queue is unbounded)."""
        chunk = ctypes.string_at(data, length[0])
        self._outgoing += chunk
        if self._state is State.HANDSHAKING and len(self._first_flight) < _FIRST_FLIGHT_LIMIT:
            self._first_flight += chunk
        return 0

    def _native_call(self, function, *args):
        """Call a SecureTransport function that may run our callbacks; re-raise what they raised."""
        self._callback_error = None
        status = function(*args)
        error, self._callback_error = self._callback_error, None
        if error is not None:
            self._fail(TLSError("a SecureTransport I/O callback failed: %s: %s" % (type(error).__name__, error)),
                       cause=error)
        return status

    # --- handshake -----------------------------------------------------------------------------------------
    def do_handshake(self):
        if self._state is not State.HANDSHAKING:
            self._check_usable()
            return
        if not self._chosen:
            self._choose_configuration()
        while True:
            status = self._native_call(sec().SSLHandshake, self._ssl.value)
            if status == 0:
                break
            if status == S.errSSLPeerAuthCompleted:
                self._broke = True
                self._verify_peer()
                continue
            if status == S.errSSLClientCertRequested:
                continue  # no certificate of ours: the next call sends an empty Certificate message
            if status == S.errSSLWouldBlock:
                if self._eof:
                    self._fail(TLSError("the peer closed the connection during the handshake"))
                raise WantReadError("the handshake needs more data from the peer")
            if status == S.errSSLClosedNoNotify and self._eof:
                self._fail(TLSError("the peer closed the connection during the handshake", native_code=status))
            self._fail(tls_error("TLS handshake failed (SSLHandshake)", status))
        self._reused = self._was_resumed()
        if not self._broke and self._native.verify and not (self._server and not self._native.client_auth):
            self._verify_peer(after_handshake=True)  # resumed: no break happened (point 6)
        self._first_flight = bytearray()
        # SecureTransport answers SSLGetNegotiatedCipher/ProtocolVersion only while the session is active
        # (sslIsSessionActive): read once here, so they still answer after close_notify, as on the other backends.
        self._negotiated = (self._native_cipher(), self._native_protocol(), self._native_version())
        self._move("handshake_done")

    def _was_resumed(self):
        if not self._server:
            return not self._broke
        try:  # the server's first flight: a resumed handshake has no Certificate message
            return _CERTIFICATE not in handshake_types(self._first_flight)
        except ValueError:
            return False

    def _verify_peer(self, after_handshake=False):
        native = self._native
        if not self._server and not native.verify:
            return
        trust = CFRef.out()
        try:
            sec().SSLCopyPeerTrust(self._ssl.value, byref(trust))
        except OSStatusError as exc:
            self._reject(tls_error("SSLCopyPeerTrust failed", exc.code), after_handshake)
        trust = CFRef(trust)
        try:
            if not trust:
                what = "the client sent no certificate, and this server requires one" if self._server else \
                    "the server sent no certificate"
                error = CertificateVerificationError(what, host=self._host, reason="other",
                                                     native_message="SSLCopyPeerTrust: NULL")
                alert = _HANDSHAKE_FAILURE
            else:
                try:
                    verify_trust(trust, None if self._server else self._host, native.anchors,
                                 server=not self._server)
                    return
                except CertificateVerificationError as exc:
                    error, alert = exc, ALERTS.get(exc.reason, 42)
        finally:
            trust.close()
        self._reject(error, after_handshake, alert)

    def _reject(self, exc, after_handshake, alert=42):
        """Fail the handshake with *exc*, telling the peer: a plaintext fatal alert while no keys are in use
        (SecureTransport sends none when the application rejects), else SecureTransport's close_notify."""
        if after_handshake:
            sec().SSLClose(self._ssl.value)
        else:
            self._outgoing += fatal_alert(alert)
        self._fail(exc)

    def _choose_configuration(self):
        """Server, before the first SSLHandshake: the SNI callback and chain selection."""
        try:
            name = client_hello_server_name(self._incoming)
        except NeedMoreData:
            if self._eof:
                self._fail(TLSError("the peer closed the connection during the handshake"))
            raise WantReadError("waiting for the whole ClientHello")
        except ValueError:  # not a ClientHello we can read: SecureTransport answers it, with the defaults
            name = None
            self._chosen = True
            self._make_context(self._native, 0)
            return
        native = self._sni_native(name)
        self._chosen = True
        self._make_context(native, native.select(name))

    # --- application data --------------------------------------------------------------------------------
    def read(self, amt=None, buffer=None):
        if self._state is State.HANDSHAKING:
            self.do_handshake()
        size = (len(buffer) if amt is None or amt < 0 else min(amt, len(buffer))) if buffer is not None else (
            _DEFAULT_READ if amt is None or amt < 0 else amt)
        if self._state is not State.OPEN:  # SSLRead cannot read after our own SSLClose (point 4)
            if self._state in (State.REMOTE_CLOSED, State.BOTH_CLOSED, State.LOCAL_CLOSED):
                return b"" if buffer is None else 0
            self._check_usable()
        if size == 0:
            return b"" if buffer is None else 0
        data = self._read_native(size)
        if buffer is None:
            return data
        buffer[:len(data)] = data
        return len(data)

    def _read_native(self, size):
        target = ctypes.create_string_buffer(size)
        for _attempt in range(64):  # each noErr-without-data consumed a non-application record
            processed = c_size_t()
            status = self._native_call(sec().SSLRead, self._ssl.value, target, size, byref(processed))
            if processed.value:  # data first, whatever the status says (point 4)
                if status == S.errSSLClosedGraceful:
                    self._peer_closed()
                return target.raw[:processed.value]
            if status == 0:
                continue  # a non-application record was consumed
            if status == S.errSSLClosedGraceful:
                self._peer_closed()
                return b""
            if status == S.errSSLWouldBlock:
                if self._eof:
                    self._fail(RaggedEOF("the peer closed the connection without close_notify "
                                         "(data may be truncated)"))
                raise WantReadError("no application data yet")
            if status in (S.errSSLClosedNoNotify, S.errSSLClosedAbort) and self._eof:
                self._fail(RaggedEOF("the peer closed the connection without close_notify (data may be truncated)",
                                     native_code=status))
            self._fail(tls_error("TLS read failed (SSLRead)", status))
        raise WantReadError("no application data yet")

    def _peer_closed(self):
        """The peer's close_notify arrived. SecureTransport has answered it with ours (it calls SSLClose itself,
        point 4), so both directions are closed: shutdown() has nothing left to do, and write() cannot send."""
        self._move("received_close")
        self._move("sent_close")

    def write(self, buf):
        if self._state is State.HANDSHAKING:
            self.do_handshake()
        if self._state not in WRITABLE:
            self._check_usable()
            if self._state is State.BOTH_CLOSED:
                raise TLSError("cannot write: the peer closed the connection, and SecureTransport answered its "
                               "close_notify with its own")
            raise TLSError("cannot write after shutdown()")
        data = bytes(buf)
        if not data:
            return 0
        processed = c_size_t()
        status = self._native_call(sec().SSLWrite, self._ssl.value, data, len(data), byref(processed))
        if status == 0 or (status == S.errSSLWouldBlock and processed.value == len(data)):
            return len(data)  # queued whole: never resent (point 3)
        if status == S.errSSLWouldBlock:
            raise WantWriteError("drain the outgoing buffer, then retry with the same data")
        self._fail(tls_error("TLS write failed (SSLWrite)", status))

    def shutdown(self):
        if self._state in (State.LOCAL_CLOSED, State.BOTH_CLOSED):
            return
        if self._state is State.HANDSHAKING:
            raise TLSError("cannot shut down before the handshake has completed")
        self._check_usable()
        status = self._native_call(sec().SSLClose, self._ssl.value)
        if status not in (0, S.errSecIO, S.errSSLClosedGraceful):  # SSLClose ignores errSecIO itself (point 8)
            self._fail(tls_error("TLS shutdown failed (SSLClose)", status))
        self._move("sent_close")

    # --- the network side: process_incoming/process_outgoing/... come from _state.QueuedTransport ---------

    # --- what was negotiated -------------------------------------------------------------------------------
    def _established(self):
        return self._state not in (State.HANDSHAKING, State.CLOSED) and self._ssl is not None

    def cipher(self):
        return self._negotiated[0] if self._established() else None

    def negotiated_protocol(self):
        return self._negotiated[1] if self._established() else None

    @property
    def negotiated_tls_version(self):
        return self._negotiated[2] if self._established() else None

    def _native_cipher(self):
        suite = SSLCipherSuite()
        try:
            sec().SSLGetNegotiatedCipher(self._ssl.value, byref(suite))
        except OSStatusError:
            return None
        return cipher_suite_or_int(int(suite.value)) if suite.value else None

    def _native_protocol(self):
        if self._server or not self._native.alpn:
            return None
        array = CFRef.out()
        status = sec().SSLCopyALPNProtocols(self._ssl.value, byref(array))
        array = CFRef(array)
        try:
            if status != 0 or not array or cf().CFArrayGetCount(array.value) < 1:
                return None  # errSecParam and NULL when nothing was negotiated (point 11)
            name = string_text(cf().CFArrayGetValueAtIndex(array.value, 0))
        finally:
            array.close()
        return next_protocol_or_bytes(name.encode("ascii")) if name else None

    def _native_version(self):
        version = c_int32()
        try:
            sec().SSLGetNegotiatedProtocolVersion(self._ssl.value, byref(version))
        except OSStatusError:
            return None
        return _VERSIONS.get(version.value)

    @property
    def context(self):
        return self._context

    def getpeercertchain(self):
        if self._ssl is None or self._state is State.CLOSED or self._state is State.HANDSHAKING:
            return None
        trust = CFRef.out()
        try:
            sec().SSLCopyPeerTrust(self._ssl.value, byref(trust))
        except OSStatusError:
            return None
        trust = CFRef(trust)
        try:
            return trust_chain(trust) if trust else None
        finally:
            trust.close()

    @property
    def session(self):
        if not self._established() or self._server:
            return None
        return MacSession(self._peer_id)

    @property
    def session_reused(self):
        return bool(self._established() and self._reused)

    @property
    def state(self):
        return self._state

    def close(self):
        if self._state is State.CLOSED:
            return
        self._state = State.CLOSED
        _BUFFERS.pop(self._id, None)
        if self._ssl is not None:
            self._ssl.close()
        self._ssl = None
        del self._incoming[:], self._outgoing[:]


_ = (c_void_p, WantWriteError)
