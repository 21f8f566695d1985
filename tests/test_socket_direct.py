# -*- coding: utf-8 -*-
"""TLSSocket's direct-I/O fast path (the OpenSSL backend lets libssl read and write a plain socket's descriptor)
and the sans-IO loop it replaces, side by side: when each applies, what the fast path's buffer answers, that
``unwrap`` leaves the peer's cleartext after its close_notify in the socket, and that socket failures surface as
the socket's own errors in both. The rest of ``test_socket.py`` runs on the fast path wherever it applies.
"""
from __future__ import absolute_import, division, print_function

import errno
import socket
import struct

import pytest

import nativetls
from _tls import client_context, server_context
from nativetls import TLSError, WantReadError
from nativetls._socket import TLSSocket
from test_socket import WAIT, OneShotServer, _recv_exactly

def _direct_io_available():
    if nativetls.backend().name != "openssl" or not TLSSocket.direct_io:
        return False
    from nativetls._openssl._lowlevel import lib
    return lib.SSL_in_before is not None  # the switch needs SSL_in_before: 1.1.0+


openssl_only = pytest.mark.skipif(not _direct_io_available(),
                                  reason="the direct-I/O fast path is the OpenSSL backend's, from 1.1.0 (and not "
                                         "turned off)")


@pytest.fixture(params=["direct", "sans-io"])
def mode(request, monkeypatch):
    """Run a test with the fast path allowed (where the backend has one) and with it turned off."""
    if request.param == "sans-io":
        monkeypatch.setattr(TLSSocket, "direct_io", False)
    return request.param


class _SubclassSocket(socket.socket):
    """A socket subclass: its methods might do anything, so TLSSocket keeps to recv/send."""
    __slots__ = ()


def _server_buffer_handler(pki, then):
    """A OneShotServer handler driving a nativetls server *buffer* over the raw socket by hand, then
    ``then(raw, buffer)``."""
    ctx = server_context(pki)

    def handler(raw):
        buf = ctx.wrap_buffers()
        while True:
            try:
                buf.do_handshake()
                break
            except WantReadError:
                raw.sendall(buf.process_outgoing())
                data = raw.recv(65536)
                assert data, "the client went away during the handshake"
                buf.process_incoming(data)
        raw.sendall(buf.process_outgoing())
        return then(raw, buf)
    return handler


def _echo_once(raw, buf):
    while True:
        try:
            data = buf.read(65536)
            break
        except WantReadError:
            buf.process_incoming(raw.recv(65536))
    buf.write(data.upper())
    raw.sendall(buf.process_outgoing())
    while True:  # until the client's close_notify (or its close)
        try:
            if not buf.read(65536):
                return data
        except WantReadError:
            more = raw.recv(65536)
            if not more:
                return data
            buf.process_incoming(more)


def _wrap(pki, server, sock_class=socket.socket):
    sock = sock_class(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(WAIT)
    sock.connect(server.address)
    return client_context(pki).wrap_socket(sock, "localhost")


@openssl_only
def test_a_plain_socket_gets_the_fast_path_and_its_buffer_says_so(pki):
    with OneShotServer(_server_buffer_handler(pki, _echo_once)) as server:
        with _wrap(pki, server) as tls:
            buf = tls.buffer
            assert type(buf).__name__ == "DirectOpenSSLBuffer"
            assert buf.negotiated_tls_version is not None and buf.cipher() is not None
            # The network side belongs to libssl: nothing goes in, nothing comes out.
            with pytest.raises(TLSError):
                buf.process_incoming(b"\x17\x03\x03\x00\x01x")
            assert buf.process_outgoing() == b""
            assert buf.incoming_bytes_buffered() == 0 and buf.outgoing_bytes_buffered() == 0
            tls.sendall(b"hello\n")
            assert _recv_exactly(tls, 6) == b"HELLO\n"
    assert server.error is None and server.result == b"hello\n"


def test_a_socket_subclass_and_the_switch_keep_the_sans_io_loop(pki, monkeypatch):
    for turned_off, sock_class in ((False, _SubclassSocket), (True, socket.socket)):
        monkeypatch.setattr(TLSSocket, "direct_io", not turned_off)
        with OneShotServer(_server_buffer_handler(pki, _echo_once)) as server:
            with _wrap(pki, server, sock_class) as tls:
                assert type(tls.buffer).__name__ != "DirectOpenSSLBuffer"
                tls.sendall(b"abc\n")
                assert _recv_exactly(tls, 4) == b"ABC\n"
        assert server.error is None and server.result == b"abc\n"


@openssl_only
def test_unwrap_leaves_the_cleartext_after_the_peers_close_notify_in_the_socket(pki):
    """The peer sends data, close_notify and cleartext back to back, without waiting for ours: libssl reads
    record by record, so after unwrap() the cleartext is still the plain socket's to read."""
    def then(raw, buf):
        buf.write(b"hello")
        buf.shutdown()
        raw.sendall(buf.process_outgoing() + b"CLEARTEXT")
        while True:  # the client's close_notify
            try:
                if buf.read(65536) == b"":
                    break
            except WantReadError:
                more = raw.recv(65536)
                assert more, "no close_notify from the client"
                buf.process_incoming(more)
        raw.sendall(b"-BYE")
        return True

    with OneShotServer(_server_buffer_handler(pki, then)) as server:
        tls = _wrap(pki, server)
        assert _recv_exactly(tls, 5) == b"hello"
        plain = tls.unwrap()
        try:
            data = b""
            while len(data) < 13:
                chunk = plain.recv(13 - len(data))
                assert chunk
                data += chunk
            assert data == b"CLEARTEXT-BYE"
        finally:
            plain.close()
    assert server.error is None and server.result is True


def test_a_connection_reset_is_the_sockets_error(pki, mode):
    def then(raw, buf):
        buf.write(b"partial")
        raw.sendall(buf.process_outgoing())
        raw.recv(1)  # until the client says it has read it
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close -> RST
        return True

    with OneShotServer(_server_buffer_handler(pki, then)) as server:
        with _wrap(pki, server) as tls:
            assert _recv_exactly(tls, 7) == b"partial"
            tls._sock.sendall(b"x")  # not TLS: the server only waits for a byte before resetting
            server.thread.join(WAIT)
            with pytest.raises((OSError, socket.error)) as info:
                tls.recv(100)
            assert not isinstance(info.value, TLSError)
            assert info.value.errno in (errno.ECONNRESET, errno.EPIPE)
    assert server.error is None


def test_nonblocking_recv_raises_want_read_until_data_arrives(pki, mode):
    import threading
    go = threading.Event()

    def then(raw, buf):
        go.wait(WAIT)
        return _echo_once(raw, buf)

    with OneShotServer(_server_buffer_handler(pki, then)) as server:
        with _wrap(pki, server) as tls:
            tls.settimeout(0.0)
            with pytest.raises(WantReadError):
                tls.recv(10)
            tls.settimeout(WAIT)
            tls.sendall(b"late\n")
            go.set()
            assert _recv_exactly(tls, 5) == b"LATE\n"
    assert server.error is None


def test_recv_into_and_makefile_on_both_paths(pki, mode):
    with OneShotServer(_server_buffer_handler(pki, _echo_once)) as server:
        with _wrap(pki, server) as tls:
            tls.sendall(b"line one\n")
            target = bytearray(4)
            assert tls.recv_into(target, 4) == 4 and bytes(target) == b"LINE"
            reader = tls.makefile("rb")
            try:
                assert reader.readline() == b" ONE\n"
            finally:
                reader.close()
    assert server.error is None


@pytest.mark.parametrize("ask", ["FIONREAD", "recv"])
def test_close_with_unread_records_ends_with_close_notify_and_fin_not_a_reset(pki, mode, ask, monkeypatch):
    """Records the client never read (here: data the server sent unasked) are read away by close(): a socket
    closed with unread bytes answers with a reset (RST) instead of a FIN, and a peer that has not yet read the
    close_notify sent just before it may lose it (over a real network, or on Windows, a reset discards what the
    peer has not read; on loopback Linux keeps it, so the test looks at the FIN). Both ways of finding them:
    asking the queue's length (FIONREAD) and, where that is missing, a non-blocking recv."""
    import threading
    import nativetls._socket
    if ask == "recv":
        monkeypatch.setattr(nativetls._socket, "_FIONREAD", None)
    elif nativetls._socket._FIONREAD is None:
        pytest.skip("no FIONREAD here")
    sent = threading.Event()

    def then(raw, buf):
        buf.write(b"unasked " * 1000)
        raw.sendall(buf.process_outgoing())  # on loopback: in the client's receive queue when this returns
        sent.set()
        seen = []
        while True:
            try:
                more = raw.recv(65536)
            except (OSError, socket.error) as exc:
                return seen + ["reset (errno %s)" % exc.errno]
            if not more:
                return seen + ["FIN"]
            if seen:
                continue
            buf.process_incoming(more)
            try:
                while buf.read(65536):
                    pass
                seen.append("close_notify")
            except WantReadError:
                pass

    for _ in range(10):
        with OneShotServer(_server_buffer_handler(pki, then)) as server:
            sent.clear()
            tls = _wrap(pki, server)
            assert sent.wait(WAIT), "the server did not send its records"
            tls.close()
            server.thread.join(WAIT)
        assert server.error is None and server.result == ["close_notify", "FIN"]
