# -*- coding: utf-8 -*-
"""asyncio streams over nativetls: ``open_connection`` and ``start_server``, giving the standard
``asyncio.StreamReader`` / ``asyncio.StreamWriter``::

    import nativetls, nativetls.asyncio
    ctx = nativetls.ClientContext(nativetls.TLSConfiguration())
    reader, writer = await nativetls.asyncio.open_connection("example.org", 443, context=ctx)

How it works: a :class:`nativetls.TLSBuffer` sits between an ordinary asyncio protocol on the TCP transport and
a ``StreamReaderProtocol`` that sees a transport of its own (``_TLSAppTransport``). Bytes from the network are fed
to the buffer and the plaintext it yields goes to the reader; what the writer writes is encrypted by the buffer
and handed to the TCP transport. The buffer never blocks and never touches the socket, so nothing here blocks
the event loop; the handshake is driven by the data as it arrives (with a timeout, ``ssl_handshake_timeout``,
60 s by default), and ``open_connection`` completes only once it is done, or raises its error
(``CertificateVerificationError`` and friends).

Closing: ``writer.close()`` sends close_notify and then closes the TCP connection (without waiting for the peer's
close_notify, like :meth:`nativetls.TLSSocket.close`). The peer's close_notify is end of file for the reader
(``read()`` returns ``b""``). A TCP connection that ends without close_notify is reported as
:class:`nativetls.RaggedEOF` by the reader, once the data that came before it has been read.

Python 3 only; the module compiles on Python 2.7 (it uses no ``async``/``await`` syntax: the public functions
return futures) but raises ImportError there when imported.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import logging
import sys

if sys.version_info[0] < 3:
    raise ImportError("nativetls.asyncio needs Python 3 (asyncio); the rest of nativetls works on Python 2.7")

import asyncio  # noqa: E402  (absolute_import: the standard library's asyncio)

from ._abc import ClientContext, ServerContext  # noqa: E402
from ._errors import RaggedEOF, TLSError, WantReadError, WantWriteError  # noqa: E402

__all__ = [str("open_connection"), str("start_server")]

_log = logging.getLogger(__name__)
_DEFAULT_LIMIT = 2 ** 16  # asyncio.streams' default
_HANDSHAKE_TIMEOUT = 60.0
_READ_SIZE = 65536
_UNSET = object()

_HANDSHAKING, _OPEN, _CLOSING, _CLOSED = "HANDSHAKING", "OPEN", "CLOSING", "CLOSED"


def _running_loop():
    getter = getattr(asyncio, "get_running_loop", None)  # 3.7+
    return getter() if getter is not None else asyncio.get_event_loop()


class _TLSStreamReader(asyncio.StreamReader):
    """A StreamReader that reports RaggedEOF only after the data received before it has been read.

    asyncio's reader raises a stored exception at once, even with bytes still buffered; a ragged EOF is an error
    about what did *not* arrive, so what did arrive is handed out first.
    """

    @property
    def _exception(self):
        exc = self.__dict__.get("_nativetls_exception")
        if isinstance(exc, RaggedEOF) and self._buffer:
            return None
        return exc

    @_exception.setter
    def _exception(self, value):
        self.__dict__["_nativetls_exception"] = value

    def _wait_for_data(self, func_name):
        exc = self.__dict__.get("_nativetls_exception")
        if exc is not None:  # nothing more will arrive: waiting would hang (readuntil with a partial line)
            future = self._loop.create_future()
            future.set_exception(exc)
            return future
        return super(_TLSStreamReader, self)._wait_for_data(func_name)


class _TLSAppTransport(asyncio.Transport):
    """The transport the stream protocol sees: writes are encrypted, close sends close_notify."""

    def __init__(self, tls_protocol):
        super(_TLSAppTransport, self).__init__()
        self._tls = tls_protocol
        self._closing = False

    def get_extra_info(self, name, default=None):
        return self._tls._extra_info(name, default)

    def set_protocol(self, protocol):
        self._tls._app = protocol

    def get_protocol(self):
        return self._tls._app

    def is_closing(self):
        return self._closing

    def close(self):
        if not self._closing:
            self._closing = True
            self._tls._close()

    def abort(self):
        self._closing = True
        self._tls._abort()

    def write(self, data):
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("data must be a bytes-like object, not %s" % type(data).__name__)
        self._tls._write(bytes(data))

    def can_write_eof(self):
        return False  # TLS has no half-close that every peer understands; close() sends close_notify

    def write_eof(self):
        raise NotImplementedError("TLS connections cannot write EOF alone; use close()")

    def pause_reading(self):
        self._tls._raw.pause_reading()

    def resume_reading(self):
        self._tls._raw.resume_reading()

    def is_reading(self):
        return self._tls._raw.is_reading()

    def set_write_buffer_limits(self, high=None, low=None):
        self._tls._raw.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self):
        return self._tls._raw.get_write_buffer_limits()

    def get_write_buffer_size(self):
        return self._tls._raw.get_write_buffer_size() + sum(len(d) for d in self._tls._backlog)


class _TLSProtocol(asyncio.Protocol):
    """The protocol on the TCP transport: moves bytes between it, the TLSBuffer and the stream protocol."""

    def __init__(self, loop, buffer, app_protocol, waiter=None, handshake_timeout=_HANDSHAKE_TIMEOUT):
        self._loop = loop
        self._buffer = buffer
        self._app = app_protocol
        self._waiter = waiter
        self._handshake_timeout = handshake_timeout
        self._timer = None
        self._raw = None
        self._app_transport = _TLSAppTransport(self)
        self._state = _HANDSHAKING
        self._backlog = []  # plaintext the buffer could not take yet (WantRead/WantWrite), in order
        self._app_connected = False
        self._app_lost = False
        self._app_eof = False
        self._app_paused = False

    # --- the TCP side -------------------------------------------------------------------------------------
    def connection_made(self, transport):
        self._raw = transport
        if self._handshake_timeout is not None:
            self._timer = self._loop.call_later(self._handshake_timeout, self._on_handshake_timeout)
        self._step_handshake()

    def data_received(self, data):
        if self._state is _CLOSED:
            return
        try:
            self._buffer.process_incoming(data)
        except TLSError as exc:
            self._fail(exc)
            return
        if self._state is _HANDSHAKING:
            self._step_handshake()
        else:
            self._read()

    def eof_received(self):
        try:
            self._buffer.process_incoming(b"")
        except TLSError:
            pass
        if self._state is _HANDSHAKING:
            self._step_handshake()  # fails: the peer closed during the handshake
        elif self._state is not _CLOSED:
            self._read()  # close_notify came first: b""; else RaggedEOF
        return False  # the TCP transport closes itself

    def connection_lost(self, exc):
        previous, self._state = self._state, _CLOSED
        self._cancel_timer()
        if previous is _HANDSHAKING:
            self._resolve_waiter(exc or ConnectionResetError("the connection closed during the TLS handshake"))
        self._lose_app(exc)
        self._buffer.close()

    def pause_writing(self):
        if self._app_connected and not self._app_paused:
            self._app_paused = True
            self._app.pause_writing()

    def resume_writing(self):
        if self._app_paused:
            self._app_paused = False
            self._app.resume_writing()

    # --- handshake ----------------------------------------------------------------------------------------
    def _step_handshake(self):
        try:
            self._buffer.do_handshake()
        except (WantReadError, WantWriteError):
            self._flush()
            return
        except Exception as exc:  # TLSError, CertificateVerificationError, or a callback's exception
            self._flush()  # our alert, if one was queued
            self._handshake_failed(exc)
            return
        self._flush()
        self._cancel_timer()
        self._state = _OPEN
        self._app_connected = True
        self._app.connection_made(self._app_transport)
        self._resolve_waiter(None)
        self._write_backlog()
        self._read()  # application data may have come with the last handshake flight

    def _handshake_failed(self, exc):
        self._cancel_timer()
        if self._waiter is None:
            _log.debug("nativetls.asyncio: TLS handshake with %s failed: %s",
                       self._raw.get_extra_info("peername"), exc)
        self._resolve_waiter(exc)
        self._state = _CLOSING
        self._raw.close()

    def _on_handshake_timeout(self):
        self._timer = None
        if self._state is _HANDSHAKING:
            self._resolve_waiter(asyncio.TimeoutError("the TLS handshake did not finish in %.1f seconds"
                                                      % self._handshake_timeout))
            self._state = _CLOSING
            self._raw.abort()

    def _cancel_timer(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _resolve_waiter(self, exc):
        waiter, self._waiter = self._waiter, None
        if waiter is None or waiter.done():
            return
        if exc is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(exc)

    # --- data -----------------------------------------------------------------------------------------------
    def _flush(self):
        try:
            data = self._buffer.process_outgoing()
        except TLSError:
            return
        if data and self._raw is not None and not self._raw.is_closing():
            self._raw.write(data)

    def _read(self):
        chunks = []
        failure = None
        eof = False
        while True:
            try:
                chunk = self._buffer.read(_READ_SIZE)
            except (WantReadError, WantWriteError):
                break
            except TLSError as exc:  # RaggedEOF included
                failure = exc
                break
            if not chunk:
                eof = True
                break
            chunks.append(chunk)
        self._flush()
        if chunks and self._app_connected and not self._app_lost:
            self._app.data_received(b"".join(chunks))
        if failure is not None:
            self._fail(failure)
        elif eof:
            self._on_close_notify()
        else:
            self._write_backlog()

    def _on_close_notify(self):
        if self._app_eof or self._app_lost:
            return
        self._app_eof = True
        keep_open = self._app.eof_received()
        if not keep_open:
            self._app_transport.close()

    def _write(self, data):
        if self._state is not _OPEN or not data:
            return  # as asyncio's transports: writes after close are dropped
        if self._backlog:
            self._backlog.append(data)
            return
        try:
            self._buffer.write(data)
        except (WantReadError, WantWriteError):
            self._backlog.append(data)
        except TLSError as exc:
            self._fail(exc)
            return
        self._flush()

    def _write_backlog(self):
        while self._backlog and self._state is _OPEN:
            try:
                self._buffer.write(self._backlog[0])
            except (WantReadError, WantWriteError):
                break
            except TLSError as exc:
                self._fail(exc)
                return
            self._backlog.pop(0)
        self._flush()

    # --- closing ----------------------------------------------------------------------------------------------
    def _close(self):
        if self._state is _OPEN:
            try:
                self._buffer.shutdown()
            except TLSError:
                pass
            self._flush()
        if self._state is not _CLOSED:
            self._state = _CLOSING
            self._raw.close()

    def _abort(self):
        if self._state is not _CLOSED:
            self._state = _CLOSING
            self._raw.abort()

    def _fail(self, exc):
        if self._state is _HANDSHAKING:
            self._handshake_failed(exc)
            return
        self._lose_app(exc)
        if self._state is not _CLOSED:
            self._state = _CLOSING
            self._raw.close()

    def _lose_app(self, exc):
        if self._app_connected and not self._app_lost:
            self._app_lost = True
            self._app_transport._closing = True
            self._app.connection_lost(exc)

    def _extra_info(self, name, default):
        buffer = self._buffer
        try:
            if name in ("sslcontext", "nativetls_context"):
                return buffer.context
            if name in ("ssl_object", "nativetls_buffer"):
                return buffer
            if name == "peercert":
                return buffer.getpeercert()
            if name == "cipher":
                return buffer.cipher()
            if name == "compression":
                return None
        except TLSError:
            return default
        if self._raw is None:
            return default
        return self._raw.get_extra_info(name, default)


def _take(kwargs, name, cls):
    if name not in kwargs:
        raise TypeError("missing required keyword argument %r (a nativetls.%s)" % (name, cls.__name__))
    value = kwargs.pop(name)
    if not isinstance(value, cls):
        raise TypeError("%s must be a nativetls.%s, not %s" % (name, cls.__name__, type(value).__name__))
    if "ssl" in kwargs:
        raise TypeError("nativetls.asyncio takes context=, not ssl=")
    return value


def open_connection(host=None, port=None, **kwargs):
    """Connect with TLS; a future (await it) resolving to ``(StreamReader, StreamWriter)``.

    Signature: ``open_connection(host=None, port=None, *, context, server_hostname=None, limit=65536,
    ssl_handshake_timeout=60.0, **kwargs)``; other keyword arguments go to ``loop.create_connection``.

    Args:
        context: a :class:`nativetls.ClientContext`.
        server_hostname: the name the certificate must match and the SNI name; defaults to *host* (required with
            ``sock=``). Pass ``""`` to skip the host-name check (the chain is still verified).

    Raises (when awaited):
        CertificateVerificationError, TLSError: the handshake failed. OSError: the connection failed.
        asyncio.TimeoutError: the handshake took longer than *ssl_handshake_timeout*.
    """
    context = _take(kwargs, "context", ClientContext)
    server_hostname = kwargs.pop("server_hostname", _UNSET)
    limit = kwargs.pop("limit", _DEFAULT_LIMIT)
    timeout = kwargs.pop("ssl_handshake_timeout", _HANDSHAKE_TIMEOUT)
    if server_hostname is _UNSET or server_hostname is None:
        if host is None:
            raise ValueError("server_hostname is required when host is not given")
        server_hostname = host
    loop = _running_loop()
    buffer = context.wrap_buffers(server_hostname or None)
    reader = _TLSStreamReader(limit=limit, loop=loop)
    app = asyncio.StreamReaderProtocol(reader, loop=loop)
    waiter = loop.create_future()
    protocol = _TLSProtocol(loop, buffer, app, waiter, timeout)
    result = loop.create_future()
    connecting = asyncio.ensure_future(loop.create_connection(lambda: protocol, host, port, **kwargs), loop=loop)

    def handshaken(done):
        failure = None if done.cancelled() else done.exception()  # retrieved even when nobody waits any more
        if result.done():
            return
        if done.cancelled():
            result.cancel()
        elif failure is not None:
            result.set_exception(failure)
        else:
            result.set_result((reader, asyncio.StreamWriter(protocol._app_transport, app, reader, loop)))

    def connected(done):
        if done.cancelled() or done.exception() is not None:
            buffer.close()
            if not result.done():
                if done.cancelled():
                    result.cancel()
                else:
                    result.set_exception(done.exception())
            return
        waiter.add_done_callback(handshaken)

    def abandoned(done):
        if done.cancelled():
            connecting.cancel()
            if protocol._raw is not None:
                protocol._raw.abort()

    connecting.add_done_callback(connected)
    result.add_done_callback(abandoned)
    return result


def start_server(client_connected_cb, host=None, port=None, **kwargs):
    """Serve TLS; a future (await it) resolving to an ``asyncio.Server``.

    Signature: ``start_server(client_connected_cb, host=None, port=None, *, context, limit=65536,
    ssl_handshake_timeout=60.0, **kwargs)``; other keyword arguments go to ``loop.create_server``.
    ``client_connected_cb(reader, writer)`` (a function or a coroutine function) is called for each connection
    once its handshake has succeeded; failed handshakes are closed and logged at debug level.

    Args:
        context: a :class:`nativetls.ServerContext`.
    """
    context = _take(kwargs, "context", ServerContext)
    limit = kwargs.pop("limit", _DEFAULT_LIMIT)
    timeout = kwargs.pop("ssl_handshake_timeout", _HANDSHAKE_TIMEOUT)
    loop = _running_loop()

    def factory():
        reader = _TLSStreamReader(limit=limit, loop=loop)
        app = asyncio.StreamReaderProtocol(reader, client_connected_cb, loop=loop)
        return _TLSProtocol(loop, context.wrap_buffers(), app, None, timeout)

    return asyncio.ensure_future(loop.create_server(factory, host, port, **kwargs), loop=loop)
