# -*- coding: utf-8 -*-
"""TLSSocket: a socket-like object written once over any TLSBuffer.

The buffer does TLS; this class only moves bytes between it and a stream socket. One loop (``_drive``) runs a
buffer operation and answers its requests: WantReadError -> send what is pending, receive, feed, retry;
WantWriteError -> send, retry. Blocking and timeout sockets wait inside ``send``/``recv`` (the socket's own timeout
applies to each of them, as in ``ssl``); a non-blocking socket turns "would block" into WantReadError or
WantWriteError for the caller, who waits with select/selectors and calls again.

Bytes the buffer produced but a non-blocking socket would not take yet wait in ``_outbox`` and go first on the
next call. As in ``ssl``, a non-blocking ``send`` reports success only once its ciphertext has reached the socket:
if some is left in the outbox it raises WantWriteError, and the caller's retry with the same data (the contract)
flushes it and returns the count taken earlier (``_pending_send``). So the caller always knows when it must wait
for writability, and ``recv`` reads the socket even while the outbox is full (a peer blocked writing to us reads
nothing until we do), raising WantWriteError only for bytes no ``send`` accounts for (handshake, alerts).

Direct I/O. A backend's buffer may offer ``_attach_socket(fd)``: when TLSSocket wraps a plain ``socket.socket``
(not a subclass, whose methods may do something else), it asks the buffer to read and write the descriptor
itself (the OpenSSL backend gives libssl a socket BIO). Then no bytes pass through this class: every operation is
one buffer call, which may block inside the native library (the GIL released) on a blocking socket, and
WantReadError/WantWriteError mean "the socket would block": a non-blocking socket passes them to the caller
(with the same retry contract), a timeout socket waits with poll/select under its timeout (``socket.timeout``
when it passes), a blocking one waits without limit. ``NATIVETLS_DIRECT_IO=0`` in the environment, or
``TLSSocket.direct_io = False`` before wrapping, keeps every socket on the sans-IO loop.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import errno
import io
import math
import os
import select
import socket as _socket
import struct

from ._compat import PY2
from ._errors import RaggedEOF, TLSError, WantReadError, WantWriteError
from ._state import State

__all__ = ["TLSSocket"]

_RECV_SIZE = 65536
_SEND_CHUNK = 256 * 1024  # the most one send() encrypts at once, bounding the buffered ciphertext
_WOULD_BLOCK = frozenset(e for e in (getattr(errno, "EAGAIN", None), getattr(errno, "EWOULDBLOCK", None)) if e)


_POSIX = os.name == "posix"  # a socket BIO needs a file descriptor (Windows sockets are handles)
_DONTWAIT = getattr(_socket, "MSG_DONTWAIT", None)
try:  # FIONREAD: how many bytes wait in a socket's receive queue (one ioctl, no exception when there are none)
    import fcntl as _fcntl
    import termios as _termios
    _FIONREAD = _termios.FIONREAD
    _NO_BYTES = b"\0\0\0\0"
except (ImportError, AttributeError):  # pragma: no cover - Windows
    _fcntl = _FIONREAD = None
_AFTER_HANDSHAKE = frozenset([State.OPEN, State.LOCAL_CLOSED, State.REMOTE_CLOSED, State.BOTH_CLOSED])
_PLAIN_SOCKET = _socket.socket  # the class itself: subclasses (and monkey-patched replacements) keep the loop


def _would_block(exc):
    return not isinstance(exc, _socket.timeout) and getattr(exc, "errno", None) in _WOULD_BLOCK


def _bytes_waiting(sock):
    """How many bytes wait unread in *sock*'s receive queue, or None where the system cannot say."""
    if _FIONREAD is None:
        return None
    try:
        return struct.unpack("i", _fcntl.ioctl(sock.fileno(), _FIONREAD, _NO_BYTES))[0]
    except (OSError, IOError, ValueError):
        return None


def _wait_for(sock, writable, timeout):
    """Wait until *sock* is readable (or writable); False when *timeout* (seconds, None: no limit) passed."""
    fd = sock.fileno()
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLOUT if writable else select.POLLIN)
        wait = None if timeout is None else int(math.ceil(timeout * 1000))
        while True:
            try:
                return bool(poller.poll(wait))
            except (OSError, select.error) as exc:  # Python 2 does not retry EINTR itself (PEP 475)
                if (exc.args[0] if exc.args else None) != errno.EINTR:
                    raise
    while True:  # pragma: no cover - platforms without poll
        try:
            if writable:
                return bool(select.select([], [fd], [], timeout)[1])
            return bool(select.select([fd], [], [], timeout)[0])
        except (OSError, select.error) as exc:
            if (exc.args[0] if exc.args else None) != errno.EINTR:
                raise


class TLSSocket(object):
    """A TLS connection over a stream socket, behaving like ``ssl.SSLSocket`` (alias ``TLSWrappedSocket``).

    Made by ``ClientContext.wrap_socket`` / ``ServerContext.wrap_socket`` (or, listening, ``ServerContext.connect``).
    Blocking, timeout and non-blocking modes follow the socket's. In non-blocking mode, I/O methods raise
    :class:`WantReadError` / :class:`WantWriteError` when the socket would block: wait for it and call again
    (a ``send`` that raised must be retried with the same data).

    Raises (from the I/O methods): TLSError and its subclasses; ``socket.timeout`` and ``OSError`` from the
    socket; :class:`RaggedEOF` from ``recv`` when the connection ends without close_notify.
    """

    #: Whether sockets wrapped from now on may use the backend's direct-I/O fast path (see the module doc).
    direct_io = os.environ.get("NATIVETLS_DIRECT_IO", "1") != "0"

    def __init__(self, sock, buffer, context, do_handshake_on_connect=True):
        if sock.type & _socket.SOCK_STREAM != _socket.SOCK_STREAM:
            raise ValueError("TLSSocket needs a SOCK_STREAM socket")
        self._sock = sock
        self._buffer = buffer
        self._direct = False
        if buffer is not None and self.direct_io and _POSIX and type(sock) is _PLAIN_SOCKET:
            attach = getattr(buffer, "_attach_socket", None)
            fd = sock.fileno()
            if attach is not None and fd >= 0:
                self._direct = attach(fd)
        self._context = context
        self._outbox = b""
        self._pending_send = 0  # bytes a send() took but reported as WantWriteError (see the module doc)
        self._eof_fed = False
        self._closed = False
        self._io_refs = 0  # Python 3 makefile() bookkeeping (socket.SocketIO calls _decref_socketios)
        self._makefile_refs = 0  # Python 2 makefile() bookkeeping
        self._do_handshake_on_connect = do_handshake_on_connect
        if buffer is not None and do_handshake_on_connect and sock.gettimeout() != 0.0 and self._connected():
            try:
                self.do_handshake()
            except BaseException:
                if self._direct:  # the caller closes the socket: no reset over what libssl left unread
                    self._discard_quietly()  # (a method: Python 2's bare raise below would re-raise its errors)
                self._buffer.close()
                raise

    def _connected(self):
        try:
            self._sock.getpeername()
            return True
        except (OSError, _socket.error):
            return False

    # --- the loop between buffer and socket -----------------------------------------------------------------
    def _drive(self, operation, *args):
        buffer = self._tls()
        nonblocking = self._sock.gettimeout() == 0.0
        while True:
            try:
                result = operation(*args)
            except WantReadError:
                # Read even while earlier bytes wait in the outbox: a peer blocked writing to us reads nothing
                # until we do (refusing to read here deadlocked full-duplex non-blocking callers).
                self._flush(raise_if_blocked=False)
                try:
                    self._fill()
                except WantReadError:
                    if self._outbox and not self._pending_send:  # bytes the caller does not know to wait for
                        raise WantWriteError("the socket is not ready for writing")
                    raise
                continue
            except WantWriteError:
                self._flush(raise_if_blocked=True)
                continue
            except TLSError:
                self._flush_quietly()  # deliver our alert, if libssl queued one
                raise
            self._flush(raise_if_blocked=not nonblocking)
            return result
        return buffer  # pragma: no cover

    def _drive_direct(self, operation, *args):
        """Direct I/O: run *operation*, waiting for the socket while it says the socket would block."""
        while True:
            try:
                return operation(*args)
            except (WantReadError, WantWriteError) as exc:
                want = exc
            self._wait_direct(want)

    def _wait_direct(self, want):
        """After *want* (WantReadError/WantWriteError) from a direct-I/O operation: raise it again on a
        non-blocking socket, else wait for the socket (``socket.timeout`` when its timeout passes)."""
        timeout = self._sock.gettimeout()
        if timeout == 0.0:
            raise want
        if not _wait_for(self._sock, isinstance(want, WantWriteError), timeout):
            raise _socket.timeout("timed out")

    def _tls(self):
        if self._buffer is None:
            raise TLSError("this TLSSocket is %s" % ("closed" if self._closed else "listening"))
        return self._buffer

    def _flush(self, raise_if_blocked):
        data = self._outbox + self._buffer.process_outgoing()
        self._outbox = b""
        if not data:
            return
        if self._sock.gettimeout() != 0.0:
            self._sock.sendall(data)
            return
        view = memoryview(data)
        sent = 0
        while sent < len(data):
            try:
                sent += self._sock.send(view[sent:])
            except (OSError, _socket.error) as exc:
                if not _would_block(exc):
                    raise
                self._outbox = data[sent:]
                if raise_if_blocked:
                    raise WantWriteError("the socket is not ready for writing")
                return

    def _flush_quietly(self):
        try:
            self._flush(raise_if_blocked=False)
        except Exception:
            pass

    def _fill(self):
        if self._eof_fed:
            raise RaggedEOF("the connection ended without close_notify")
        try:
            data = self._sock.recv(_RECV_SIZE)
        except (OSError, _socket.error) as exc:
            if _would_block(exc):
                raise WantReadError("the socket has no data yet")
            raise
        if not data:
            self._eof_fed = True
        self._buffer.process_incoming(data)

    # --- TLS operations ---------------------------------------------------------------------------------------
    def do_handshake(self):
        """Run the handshake (a no-op once done). Raises CertificateVerificationError, TLSError, socket errors."""
        if self._direct:
            return self._drive_direct(self._tls().do_handshake)
        self._drive(self._tls().do_handshake)

    def recv(self, bufsize=65536, flags=0):
        """Receive up to *bufsize* bytes; ``b""`` after the peer's close_notify. Raises RaggedEOF on a bare EOF."""
        buffer = self._buffer
        if self._direct and buffer is not None and not flags:  # the usual case in one call, then _drive_direct
            try:
                return buffer.read(bufsize)
            except (WantReadError, WantWriteError) as exc:
                self._wait_direct(exc)
        if flags:
            raise ValueError("flags are not supported on a TLSSocket")
        if self._direct:
            return self._drive_direct(self._tls().read, bufsize)
        return self._drive(self._tls().read, bufsize)

    def recv_into(self, buffer, nbytes=0, flags=0):
        """Receive into *buffer* (at most *nbytes*, or its size); returns the count, 0 after close_notify."""
        if flags:
            raise ValueError("flags are not supported on a TLSSocket")
        view = memoryview(buffer)
        if nbytes <= 0 or nbytes > len(view):
            nbytes = len(view)
        if view.format != "B" and not PY2:
            view = view.cast("B")
        if self._direct:
            return self._drive_direct(self._tls().read, nbytes, view)
        return self._drive(self._tls().read, nbytes, view)

    def read(self, len=1024, buffer=None):
        """``ssl.SSLSocket.read``: like ``recv``, or ``recv_into`` with *buffer*."""
        if buffer is not None:
            return self.recv_into(buffer, len)
        return self.recv(len)

    def send(self, data, flags=0):
        """Encrypt and send up to 256 KiB of *data*; returns how many bytes were taken.

        Non-blocking: WantWriteError (or WantReadError) means "wait, then retry with the same data", as in ``ssl``.
        """
        if flags:
            raise ValueError("flags are not supported on a TLSSocket")
        buffer = self._tls()
        if self._direct:  # libssl keeps a record the socket did not take; the retry with the same data sends it
            if type(data) is not bytes or len(data) > _SEND_CHUNK:
                view = memoryview(data)
                data = (view[:_SEND_CHUNK] if len(view) > _SEND_CHUNK else view).tobytes()
            try:
                return buffer.write(data)
            except (WantReadError, WantWriteError) as exc:
                self._wait_direct(exc)
            return self._drive_direct(buffer.write, data)
        if self._outbox:
            self._flush(raise_if_blocked=True)
        if self._pending_send:  # the retry of a send() that raised WantWriteError: its data is now sent
            taken, self._pending_send = self._pending_send, 0
            return taken
        if type(data) is not bytes or len(data) > _SEND_CHUNK:  # bytes that fit go as they are, without a copy
            view = memoryview(data)
            data = (view[:_SEND_CHUNK] if len(view) > _SEND_CHUNK else view).tobytes()
        taken = self._drive(buffer.write, data)
        if self._outbox:  # non-blocking, and the socket took only part of the ciphertext
            self._pending_send = taken
            raise WantWriteError("the socket is not ready for writing; retry with the same data")
        return taken

    write = send

    def sendall(self, data, flags=0):
        """Send all of *data* (in a non-blocking mode, may raise WantWriteError partway)."""
        view = memoryview(data)
        sent = 0
        while sent < len(view):
            sent += self.send(view[sent:] if sent else data, flags)  # the first send may take bytes as they are

    def unwrap(self):
        """Do the two-way close_notify exchange and return the plain socket (this object is unusable after).

        Raises:
            RaggedEOF: the peer closed the transport without answering with close_notify.
        """
        buffer = self._tls()
        if self._direct:
            self._drive_direct(buffer.shutdown)
            while self._drive_direct(buffer.read, _RECV_SIZE):
                pass  # libssl reads record by record: what follows the peer's close_notify stays in the socket
        else:
            buffer.shutdown()
            self._flush(raise_if_blocked=True)
            while self._drive(buffer.read, _RECV_SIZE):
                pass  # data the peer sent before its close_notify is dropped, as ssl does
        sock, self._sock = self._sock, None
        buffer.close()
        self._buffer = None
        self._closed = True
        return sock

    # --- socket-level operations --------------------------------------------------------------------------
    def accept(self):
        """On a listening TLSSocket (from ``ServerContext.connect``): accept and wrap one connection.

        Returns ``(TLSSocket, address)``, handshaken unless the context asked otherwise.
        """
        if self._buffer is not None or self._closed:
            raise TLSError("accept() needs a listening TLSSocket")
        conn, address = self._sock.accept()
        try:
            return self._context.wrap_socket(conn, do_handshake_on_connect=self._do_handshake_on_connect), address
        except BaseException:
            conn.close()
            raise

    def listen(self, backlog=128):
        """Listen (listening TLSSocket only)."""
        self._sock.listen(backlog)

    def _raw(self):
        """The plain socket; a closed, detached or unwrapped TLSSocket raises EBADF as a closed socket does."""
        if self._sock is None:
            raise _socket.error(errno.EBADF, "Bad file descriptor")
        return self._sock

    def fileno(self):
        """The socket's file descriptor (-1 once closed, as for ``ssl.SSLSocket``)."""
        return -1 if self._sock is None else self._sock.fileno()

    def settimeout(self, value):
        """Set the socket's timeout (None: blocking, 0: non-blocking)."""
        self._raw().settimeout(value)

    def gettimeout(self):
        """The socket's timeout."""
        return self._raw().gettimeout()

    def setblocking(self, flag):
        """Switch blocking mode, as ``socket.setblocking``."""
        self._raw().setblocking(flag)

    def getpeername(self):
        """The remote address."""
        return self._raw().getpeername()

    def getsockname(self):
        """The local address."""
        return self._raw().getsockname()

    def setsockopt(self, *args):
        """Pass through to the socket."""
        return self._raw().setsockopt(*args)

    def getsockopt(self, *args):
        """Pass through to the socket."""
        return self._raw().getsockopt(*args)

    @property
    def family(self):
        """The socket's address family."""
        return self._sock.family

    @property
    def type(self):
        """The socket's type."""
        return self._sock.type

    def shutdown(self, how):
        """Shut down the underlying socket (no close_notify: use ``close()`` or ``unwrap()`` for that)."""
        self._raw().shutdown(how)

    def close(self, force=None):
        """Close the connection and the socket.

        ``close()``: as ``ssl.SSLSocket.close()``, send close_notify (best effort, without waiting for the peer's),
        free the TLS state, close the socket. Bytes that arrived unread are read away first (a socket closed with
        unread bytes sends a reset, which can destroy the close_notify before the peer reads it). With
        ``makefile()`` objects open, the real close happens when the last of them closes.

        PEP 748's ``close(force)``: ``force=True`` sends close_notify and closes without waiting for the peer's;
        ``force=False`` also waits for the peer's close_notify (reading away data sent before it) and then closes.
        On a non-blocking socket both raise :class:`WantWriteError` while close_notify cannot be sent yet, and
        ``force=False`` raises :class:`WantReadError` until the peer's close_notify came: call ``close(force)``
        again once the socket is ready. Neither waits for ``makefile()`` objects.

        Raises:
            WantReadError, WantWriteError: non-blocking, with *force* given (see above). RaggedEOF: ``force=False``
                and the peer closed the transport without close_notify (the socket is closed all the same).
        """
        if force is not None:
            return self._close_pep748(bool(force))
        if PY2 and self._makefile_refs > 0:
            self._makefile_refs -= 1
            return
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def _close_pep748(self, force):
        buffer = self._buffer
        if buffer is not None and buffer.negotiated_tls_version is not None:
            try:
                if self._direct:
                    self._drive_direct(buffer.shutdown)
                    while not force and self._drive_direct(buffer.read, _RECV_SIZE):
                        pass
                else:
                    buffer.shutdown()  # idempotent: a retried close() only flushes what is left
                    self._flush(raise_if_blocked=True)
                    while not force and self._drive(buffer.read, _RECV_SIZE):
                        pass  # data the peer sent before its close_notify is dropped, as unwrap() does
            except (WantReadError, WantWriteError):
                raise  # non-blocking: the caller waits and calls close(force) again
            except (TLSError, OSError, _socket.error) as exc:  # RaggedEOF, a failed connection, a reset
                # The socket is closed all the same. force=False reports why, unless only sending our close_notify
                # failed after the peer's had come (the peer closed first: the two-way close is complete).
                peer_closed = getattr(buffer, "state", None) in (State.REMOTE_CLOSED, State.BOTH_CLOSED)
                self._closed = True
                self._real_close()
                if not force and not (peer_closed and not isinstance(exc, TLSError)):
                    raise
                return
        self._closed = True
        self._real_close()

    def _real_close(self):
        buffer, self._buffer = self._buffer, None
        if buffer is not None:
            try:
                if self._direct:  # best effort: a non-blocking socket that is full does not get it
                    if buffer.state in _AFTER_HANDSHAKE:  # (the direct buffer's own state: no native call)
                        self._drive_direct(buffer.shutdown)
                elif buffer.negotiated_tls_version is not None:
                    buffer.shutdown()
                    self._outbox += buffer.process_outgoing()
                    self._flush_quietly_with(buffer)
            except Exception:
                pass
            if self._sock is not None:
                self._discard_quietly()
            buffer.close()
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def _discard_quietly(self):
        try:
            self._discard_arrived()
        except Exception:  # nothing arrived (EAGAIN), or the socket failed: closing anyway
            pass

    def _discard_arrived(self):
        """Closing: read away what the peer already sent (its close_notify, records we never asked for). A socket
        closed with unread bytes answers with a reset (RST) instead of a FIN, and a reset can destroy our last
        records and close_notify before the peer reads them (over a network, or with a Windows peer).

        FIONREAD says how much is waiting, so an empty queue (the usual case) costs one ioctl, not a ``recv``
        that raises EAGAIN; without it, a non-blocking ``recv``."""
        sock = self._sock
        for _ in range(8):
            waiting = _bytes_waiting(sock)
            if waiting == 0:
                return
            if waiting is not None:
                if not sock.recv(min(waiting, _RECV_SIZE)):  # waiting bytes: returns at once
                    return
                continue
            timeout = sock.gettimeout()
            at_once = _DONTWAIT if timeout is None else (0 if timeout == 0.0 else None)  # recv without waiting
            if at_once is None and not _wait_for(sock, False, 0):  # a timeout socket's recv polls first
                return
            if not sock.recv(_RECV_SIZE, at_once or 0):  # EAGAIN (nothing arrived) raises: the caller ignores it
                return

    def _flush_quietly_with(self, buffer):
        data, self._outbox = self._outbox, b""
        try:
            if self._sock.gettimeout() == 0.0:
                self._sock.send(data)
            else:
                self._sock.sendall(data)
        except Exception:
            pass

    def _decref_socketios(self):
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._closed and self._io_refs <= 0:
            self._real_close()

    def detach(self):
        """Give up the socket without closing it (the TLS state is freed without close_notify)."""
        if self._buffer is not None:
            self._buffer.close()
            self._buffer = None
        sock, self._sock = self._sock, None
        self._closed = True
        return sock

    if PY2:  # pragma: no cover - exercised by the py27 tox environment
        def makefile(self, mode="r", bufsize=-1):
            """A file object reading and writing through TLS (closed along with this socket)."""
            self._makefile_refs += 1
            return _socket._fileobject(self, mode, bufsize, close=True)
    else:
        makefile = _socket.socket.makefile

    @property
    def _checkClosed(self):  # pragma: no cover - socket.SocketIO compatibility (never called with args)
        return lambda: None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        # Finalization frees, it does no TLS I/O (no close_notify, as ssl.SSLSocket): when this object is collected
        # as part of a reference cycle, its buffer's native handle may already have been finalized, and driving
        # the buffer then would touch freed memory. close() and unwrap() are where close_notify is sent.
        try:
            buffer, self._buffer = self._buffer, None
            if buffer is not None:
                buffer.close()
            sock, self._sock = self._sock, None
            if sock is not None:
                sock.close()
        except Exception:
            pass

    # --- what was negotiated (see TLSBuffer) ------------------------------------------------------------------
    def cipher(self):
        """The negotiated :class:`CipherSuite` (or int), or None (before the handshake, once closed, listening)."""
        buffer = self._buffer
        return None if buffer is None else buffer.cipher()

    def negotiated_protocol(self):
        """The ALPN protocol chosen, or None (also before the handshake, once closed, listening)."""
        buffer = self._buffer
        return None if buffer is None else buffer.negotiated_protocol()

    @property
    def negotiated_tls_version(self):
        """The :class:`TLSVersion` in use, or None (before the handshake, once closed, listening)."""
        buffer = self._buffer
        return None if buffer is None else buffer.negotiated_tls_version

    def getpeercert(self, binary_form=False):
        """The peer's certificate as a dict like ``ssl``'s, or DER with *binary_form*; None if it sent none."""
        return self._tls().getpeercert(binary_form)

    def getpeercertchain(self):
        """DER bytes of every certificate the peer sent, leaf first, or None."""
        return self._tls().getpeercertchain()

    @property
    def session(self):
        """A :class:`TLSSession` to resume this connection later, or None."""
        return self._tls().session

    @property
    def session_reused(self):
        """Whether this connection resumed a session."""
        return self._tls().session_reused

    @property
    def context(self):
        """The context this socket was made from."""
        return self._context

    @property
    def buffer(self):
        """The underlying :class:`TLSBuffer` (None once closed or for a listening socket)."""
        return self._buffer

    def __repr__(self):
        state = "closed" if self._closed else ("listening" if self._buffer is None else "open")
        return "<TLSSocket %s fd=%s>" % (state, self._sock.fileno() if self._sock is not None else -1)


del io
