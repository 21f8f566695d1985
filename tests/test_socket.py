# -*- coding: utf-8 -*-
"""TLSSocket over real sockets against real peers: the stdlib ``ssl`` server of ``_peers``, ``openssl s_server``
and ``gnutls-serv``, in blocking, timeout and non-blocking modes, plus the ``ssl.SSLSocket``-like surface
(makefile, unwrap, close_notify on close, context manager, ragged EOF, accessors, PEP 748 ``connect``).

Every test runs on Python 2.7 and 3.x. Non-blocking tests wait with ``selectors`` where it exists and with
``select.select`` on 2.7, as a caller would.
"""
from __future__ import absolute_import, division, print_function

import os
import select
import socket
import threading

import pytest

import _peers
import nativetls
from _tls import chain_of, client_context
from conftest import require_tool
from nativetls import NextProtocol, RaggedEOF, TLSError, TLSVersion, WantReadError, WantWriteError

try:
    import selectors
except ImportError:  # Python 2.7
    selectors = None

MiB = 1024 * 1024
WAIT = 10.0  # the longest any single wait may take before the test fails (never asserted as a duration)


# --- helpers ---------------------------------------------------------------------------------------

@pytest.fixture
def ctx(pki):
    return client_context(pki)


def _connect(ctx, server, hostname="localhost", timeout=WAIT, **kwargs):
    sock = socket.create_connection(server.address, timeout=timeout)
    try:
        return ctx.wrap_socket(sock, hostname, **kwargs)
    except BaseException:
        sock.close()
        raise


def _recv_exactly(tls, count):
    data = b""
    while len(data) < count:
        chunk = tls.recv(min(65536, count - len(data)))
        assert chunk, "the connection ended after %d of %d bytes" % (len(data), count)
        data += chunk
    return data


def _payload(size):
    """Distinct, non-repeating-looking bytes, so a lost or reordered chunk shows."""
    block = os.urandom(4096)
    return (block * (size // len(block) + 1))[:size]


def _wait(sock, read=True, write=False, timeout=WAIT):
    """Wait until *sock* is readable (or writable), with selectors on 3.x and select.select on 2.7."""
    if selectors is not None:
        events = (selectors.EVENT_READ if read else 0) | (selectors.EVENT_WRITE if write else 0)
        selector = selectors.DefaultSelector()
        try:
            selector.register(sock, events)
            ready = selector.select(timeout)
        finally:
            selector.close()
    else:
        readable, writable, _ = select.select([sock] if read else [], [sock] if write else [], [], timeout)
        ready = readable or writable
    assert ready, "the socket did not become ready within %s s" % timeout


def _recv_nonblocking(tls, done):
    """recv() on a non-blocking TLSSocket, waiting whenever it would block, until *done(data)*."""
    data = b""
    while not done(data):
        try:
            data += tls.recv(100)
        except WantReadError:
            _wait(tls, read=True)
    return data


def _read_all_then_reply(size, reply=None):
    """A stdlib_server handler: read exactly *size* bytes, then send them back (or *reply*)."""
    def handler(conn, record):
        data = b""
        while len(data) < size:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        record.received = data
        conn.sendall(data if reply is None else reply)
        assert conn.recv(1) == b""  # wait for the client's close_notify
    return handler


class OneShotServer(object):
    """One connection on 127.0.0.1 served by ``handler(raw_socket)`` in a thread (for peers _peers lacks).

    ``error`` holds what the handler raised; ``result`` what it returned.
    """

    def __init__(self, handler):
        self.handler = handler
        self.error = self.result = None
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.address = self.sock.getsockname()
        self.thread = threading.Thread(target=self._run)
        self.thread.daemon = True

    def _run(self):
        raw = None
        try:
            self.sock.settimeout(WAIT)
            raw, _ = self.sock.accept()
            raw.settimeout(WAIT)
            self.result = self.handler(raw)
        except Exception as exc:
            self.error = exc
        finally:
            if raw is not None:
                raw.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.thread.join(WAIT)
        self.sock.close()
        return False


def _stdlib_ctx(pki, tls=None):
    return _peers.stdlib_server_context(pki.server, tls=tls)


# --- blocking mode against every peer --------------------------------------------------------------

def test_blocking_echo_stdlib_server(ctx, stdlib_server):
    tls = _connect(ctx, stdlib_server)
    try:
        assert tls.gettimeout() == WAIT
        tls.sendall(b"hello over TLS\n")
        assert _recv_exactly(tls, 15) == b"hello over TLS\n"
    finally:
        tls.close()
    record = stdlib_server.wait_for_connections(1)[0]
    assert record.error is None
    assert record.received == b"hello over TLS\n"


def test_blocking_echo_openssl_server(ctx, openssl_server):
    with _connect(ctx, openssl_server, timeout=None) as tls:
        assert tls.gettimeout() is None
        tls.sendall(b"hello openssl\n")
        assert _recv_exactly(tls, 14) == b"lssnepo olleh\n"  # -rev: each line reversed
        tls.sendall(b"second line\n")
        assert _recv_exactly(tls, 12) == b"enil dnoces\n"


def test_blocking_echo_gnutls_server(ctx, gnutls_server):
    with _connect(ctx, gnutls_server, timeout=None) as tls:
        tls.sendall(b"hello gnutls\n")
        assert _recv_exactly(tls, 13) == b"hello gnutls\n"
        assert tls.negotiated_tls_version in (TLSVersion.TLSv1_2, TLSVersion.TLSv1_3)


# --- timeout mode ----------------------------------------------------------------------------------

def test_handshake_with_silent_server_times_out():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # the kernel completes TCP connections; nobody ever answers the ClientHello
    try:
        sock = socket.create_connection(listener.getsockname(), timeout=0.2)
        try:
            ctx = nativetls.ClientContext(nativetls.TLSConfiguration())
            with pytest.raises(socket.timeout):
                ctx.wrap_socket(sock, "localhost")
        finally:
            sock.close()
    finally:
        listener.close()


def test_recv_times_out_when_server_sends_nothing(pki, ctx):
    release = threading.Event()

    def handler(conn, record):
        release.wait(WAIT)
        conn.sendall(b"late")
        record.received = conn.recv(1)

    with _peers.stdlib_server(pki.server, handler=handler) as server:
        tls = _connect(ctx, server, timeout=0.2)
        try:
            with pytest.raises(socket.timeout):
                tls.recv(10)
            tls.settimeout(WAIT)  # the connection is still usable after a timeout
            release.set()
            assert _recv_exactly(tls, 4) == b"late"
        finally:
            release.set()
            tls.close()
        assert server.wait_for_connections(1)[0].error is None


# --- non-blocking mode, driven with selectors/select ------------------------------------------------

def _nonblocking_handshake(tls):
    waits = 0
    while True:
        try:
            tls.do_handshake()
            return waits
        except WantReadError:
            _wait(tls, read=True)
        except WantWriteError:
            _wait(tls, read=False, write=True)
        waits += 1


def test_nonblocking_handshake_and_echo(ctx, stdlib_server):
    sock = socket.create_connection(stdlib_server.address, timeout=WAIT)
    sock.setblocking(False)
    tls = ctx.wrap_socket(sock, "localhost")  # non-blocking: no handshake yet
    try:
        assert tls.gettimeout() == 0.0
        assert tls.negotiated_tls_version is None
        _nonblocking_handshake(tls)
        assert tls.negotiated_tls_version in (TLSVersion.TLSv1_2, TLSVersion.TLSv1_3)
        with pytest.raises(WantReadError):
            tls.recv(100)  # nothing sent yet: nothing to read
        tls.sendall(b"ping\n")
        assert _recv_nonblocking(tls, lambda data: len(data) >= 5) == b"ping\n"
    finally:
        tls.close()
    record = stdlib_server.wait_for_connections(1)[0]
    assert record.error is None and record.clean_close


def _full_duplex(tls, payload):
    """Send *payload* and read the echo back at once, non-blocking, waiting with selectors/select."""
    sent, received = 0, []
    got = idle = 0
    while got < len(payload):
        progress = False
        wants = set()  # what the calls that could not go on asked us to wait for
        if sent < len(payload):
            try:
                sent += tls.send(payload[sent:sent + 300000])
                progress = True
            except (WantWriteError, WantReadError) as exc:
                wants.add(type(exc))
        while True:
            try:
                chunk = tls.recv(65536)
            except (WantReadError, WantWriteError) as exc:
                wants.add(type(exc))
                break
            assert chunk, "the server closed early"
            received.append(chunk)
            got += len(chunk)
            progress = True
        if progress:
            idle = 0
        else:
            idle += 1  # a socket that stays ready while no call makes progress is a livelock
            assert idle < 10000, "no progress after %d of %d bytes echoed" % (got, len(payload))
            _wait(tls, read=WantReadError in wants, write=WantWriteError in wants)
    return b"".join(received)


def test_nonblocking_full_duplex_1mib(ctx, stdlib_server):
    sock = socket.create_connection(stdlib_server.address, timeout=WAIT)
    sock.setblocking(False)
    tls = ctx.wrap_socket(sock, "localhost", do_handshake_on_connect=False)
    payload = _payload(MiB)
    try:
        _nonblocking_handshake(tls)
        assert _full_duplex(tls, payload) == payload
    finally:
        tls.close()
    record = stdlib_server.wait_for_connections(1)[0]
    assert record.error is None and record.received == payload


def test_nonblocking_full_duplex_with_small_socket_buffers(pki, ctx):
    """Both sides' buffers tiny: the server blocks writing to us while our ciphertext waits to be sent, so recv
    must read the socket even with unsent bytes queued (or the two sides wait for each other forever)."""
    server_ctx = _stdlib_ctx(pki)

    def echo(raw):
        conn = server_ctx.wrap_socket(raw, server_side=True)
        total = 0
        while True:
            data = conn.recv(65536)
            if not data:
                return total
            total += len(data)
            conn.sendall(data)

    small = [(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096), (socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)]
    with OneShotServer(echo) as server:
        for option in small:
            server.sock.setsockopt(*option)  # inherited by the accepted socket
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        for option in small:
            sock.setsockopt(*option)
        sock.settimeout(WAIT)
        sock.connect(server.address)
        sock.setblocking(False)
        tls = ctx.wrap_socket(sock, "localhost")
        payload = _payload(MiB)
        try:
            _nonblocking_handshake(tls)
            assert _full_duplex(tls, payload) == payload
        finally:
            tls.close()
    assert server.error is None and server.result == MiB


def test_nonblocking_first_io_drives_the_handshake(ctx, openssl_server):
    sock = socket.create_connection(openssl_server.address, timeout=WAIT)
    sock.setblocking(False)
    tls = ctx.wrap_socket(sock, "localhost")
    try:
        line = b"abc\n"
        while True:  # send() drives the handshake; retry with the same data
            try:
                assert tls.send(line) == len(line)
                break
            except WantReadError:
                _wait(tls, read=True)
            except WantWriteError:
                _wait(tls, read=False, write=True)
        assert _recv_nonblocking(tls, lambda data: data.endswith(b"\n")) == b"cba\n"
    finally:
        tls.close()


# --- bulk data in blocking mode ----------------------------------------------------------------------

def test_sendall_and_recv_1mib(pki, ctx):
    payload = _payload(MiB)
    with _peers.stdlib_server(pki.server, handler=_read_all_then_reply(MiB)) as server:
        with _connect(ctx, server) as tls:
            tls.sendall(payload)
            assert _recv_exactly(tls, MiB) == payload
        record = server.wait_for_connections(1)[0]
    assert record.error is None and record.received == payload and record.clean_close


def test_send_returns_what_it_took_and_recv_into_1mib(pki, ctx):
    payload = _payload(MiB)
    with _peers.stdlib_server(pki.server, handler=_read_all_then_reply(MiB)) as server:
        with _connect(ctx, server) as tls:
            sent = 0
            while sent < len(payload):
                count = tls.send(payload[sent:])
                assert 0 < count <= len(payload) - sent
                sent += count
            target = bytearray(MiB)
            view = memoryview(target)
            got = 0
            while got < MiB:
                count = tls.recv_into(view[got:], min(50000, MiB - got))
                assert 0 < count <= 50000
                got += count
            assert bytes(target) == payload
        record = server.wait_for_connections(1)[0]
    assert record.error is None and record.received == payload


def test_sendall_accepts_bytearray_and_memoryview(ctx, stdlib_server):
    with _connect(ctx, stdlib_server) as tls:
        tls.sendall(bytearray(b"one,"))
        tls.sendall(memoryview(b"two\n"))
        assert _recv_exactly(tls, 8) == b"one,two\n"


# --- makefile ----------------------------------------------------------------------------------------

def test_makefile_readline(ctx, stdlib_server):
    tls = _connect(ctx, stdlib_server)
    reader = tls.makefile("rb")
    writer = tls.makefile("wb")
    try:
        writer.write(b"line one\nline two\nlast")
        writer.flush()
        assert reader.readline() == b"line one\n"
        assert reader.readline() == b"line two\n"
        assert reader.read(4) == b"last"
    finally:
        writer.close()
        tls.close()  # the connection stays up while a file object uses it
    reader.close()  # the real close happens with the last file object
    record = stdlib_server.wait_for_connections(1)[0]
    assert record.error is None and record.clean_close


def test_makefile_outlives_socket_close(ctx, stdlib_server):
    tls = _connect(ctx, stdlib_server)
    reader = tls.makefile("rb")
    tls.sendall(b"first\nsecond\n")
    tls.close()
    assert reader.readline() == b"first\n"
    assert reader.readline() == b"second\n"
    reader.close()
    record = stdlib_server.wait_for_connections(1)[0]
    assert record.error is None and record.clean_close


def test_makefile_readline_against_openssl(ctx, openssl_server):
    with _connect(ctx, openssl_server) as tls:
        reader = tls.makefile("rb")
        try:
            tls.sendall(b"stressed\ndesserts\n")
            assert reader.readline() == b"desserts\n"
            assert reader.readline() == b"stressed\n"
        finally:
            reader.close()


# --- closing: close_notify, unwrap, context manager, ragged EOF ----------------------------------------

def test_close_sends_close_notify(ctx, stdlib_server):
    tls = _connect(ctx, stdlib_server)
    tls.sendall(b"bye\n")
    assert _recv_exactly(tls, 4) == b"bye\n"
    tls.close()
    tls.close()  # idempotent
    record = stdlib_server.wait_for_connections(1)[0]
    assert record.error is None
    assert record.clean_close  # the server read our close_notify (its recv returned b"") and unwrapped


def test_context_manager_closes_with_close_notify(ctx, stdlib_server):
    with _connect(ctx, stdlib_server) as tls:
        assert isinstance(tls, nativetls.TLSSocket) and isinstance(tls, nativetls.TLSWrappedSocket)
        tls.sendall(b"x\n")
        assert _recv_exactly(tls, 2) == b"x\n"
    assert tls.fileno() == -1  # like a closed ssl.SSLSocket
    with pytest.raises((TLSError, OSError, socket.error)):
        tls.recv(1)
    with pytest.raises((OSError, socket.error)):  # not AttributeError
        tls.getpeername()
    record = stdlib_server.wait_for_connections(1)[0]
    assert record.error is None and record.clean_close


def test_unwrap_returns_plain_socket_after_two_way_close_notify(pki, ctx):
    server_ctx = _stdlib_ctx(pki)

    def handler(raw):
        conn = server_ctx.wrap_socket(raw, server_side=True)
        line = _peers.recv_until(conn)
        conn.sendall(line.upper())
        assert conn.recv(10) == b""  # the client's close_notify
        plain = conn.unwrap()  # sends ours
        assert plain.recv(4) == b"ping"  # then the stream continues in the clear
        plain.sendall(b"pong")
        return line

    with OneShotServer(handler) as server:
        tls = _connect(ctx, server)
        tls.sendall(b"secret\n")
        assert _recv_exactly(tls, 7) == b"SECRET\n"
        plain = tls.unwrap()
        try:
            assert type(plain) is socket.socket
            plain.sendall(b"ping")
            data = b""
            while len(data) < 4:
                chunk = plain.recv(4)
                assert chunk
                data += chunk
            assert data == b"pong"
        finally:
            plain.close()
    assert server.error is None
    assert server.result == b"secret\n"


def test_unwrap_against_openssl_server(pki, ctx):
    require_tool("openssl")
    with _peers.openssl_s_server(pki.server, tls="1.2") as server:
        tls = _connect(ctx, server)
        tls.sendall(b"ab\n")
        assert _recv_exactly(tls, 3) == b"ba\n"
        plain = tls.unwrap()
        try:
            assert type(plain) is socket.socket
            assert plain.fileno() >= 0
        finally:
            plain.close()
        assert server.wait_for_output(r"CONNECTION CLOSED")


def _ragged_handler(server_ctx, payload):
    def handler(raw):
        conn = server_ctx.wrap_socket(raw, server_side=True)
        conn.sendall(payload)
        conn.shutdown(socket.SHUT_RDWR)  # TCP FIN without close_notify (ssl drops its state first)
        conn.close()
    return handler


@pytest.mark.parametrize("tls_version", ["1.2", "1.3"])
def test_recv_raises_ragged_eof_when_tcp_closes_without_close_notify(pki, ctx, tls_version):
    with OneShotServer(_ragged_handler(_stdlib_ctx(pki, tls_version), b"partial")) as server:
        with _connect(ctx, server) as tls:
            assert _recv_exactly(tls, 7) == b"partial"
            with pytest.raises(RaggedEOF):
                tls.recv(100)
            with pytest.raises(TLSError):  # and the connection stays failed
                tls.recv(100)
    assert server.error is None


def test_makefile_read_raises_ragged_eof(pki, ctx):
    with OneShotServer(_ragged_handler(_stdlib_ctx(pki), b"one line\ntruncated")) as server:
        with _connect(ctx, server) as tls:
            reader = tls.makefile("rb")
            try:
                assert reader.readline() == b"one line\n"
                with pytest.raises(RaggedEOF):
                    reader.read()
            finally:
                reader.close()
    assert server.error is None


def test_recv_after_close_notify_returns_empty(pki, ctx):
    def handler(conn, record):
        conn.sendall(b"done")  # then _peers unwraps: close_notify, and waits for ours

    with _peers.stdlib_server(pki.server, handler=handler) as server:
        with _connect(ctx, server) as tls:
            assert _recv_exactly(tls, 4) == b"done"
            assert tls.recv(100) == b""
            assert tls.recv(100) == b""
            assert tls.recv_into(bytearray(10)) == 0
        record = server.wait_for_connections(1)[0]
    assert record.error is None and record.clean_close


# --- PEP 748 close(force) and accessors after close ------------------------------------------------------

def _closing_handler(server_ctx, release=None):
    """Echo a line, read the client's close_notify, then (once *release* is set) answer with ours."""
    def handler(raw):
        conn = server_ctx.wrap_socket(raw, server_side=True)
        conn.sendall(_peers.recv_until(conn))
        assert conn.recv(10) == b""  # the client's close_notify
        if release is not None:
            assert release.wait(WAIT)
        conn.unwrap()
        return "clean"
    return handler


@pytest.mark.parametrize("force", [True, False])
def test_close_force_sends_close_notify_blocking(pki, ctx, force):
    with OneShotServer(_closing_handler(_stdlib_ctx(pki))) as server:
        tls = _connect(ctx, server)
        tls.sendall(b"x\n")
        assert _recv_exactly(tls, 2) == b"x\n"
        tls.close(force=force)  # force=False returns only after the server's close_notify
        assert tls.fileno() == -1
        tls.close(force=force)  # idempotent
    assert server.error is None and server.result == "clean"


def test_close_without_force_waits_for_the_peer_nonblocking(pki, ctx):
    release = threading.Event()
    with OneShotServer(_closing_handler(_stdlib_ctx(pki), release)) as server:
        tls = _connect(ctx, server)
        tls.sendall(b"x\n")
        assert _recv_exactly(tls, 2) == b"x\n"
        tls.setblocking(False)
        with pytest.raises(WantReadError):  # our close_notify went; the server's has not come
            tls.close(force=False)
        assert tls.fileno() >= 0
        release.set()
        for _ in range(100):
            try:
                tls.close(force=False)
                break
            except WantReadError:
                _wait(tls, read=True)
        assert tls.fileno() == -1
    assert server.error is None and server.result == "clean"


def test_close_without_force_reports_a_ragged_eof(pki, ctx):
    with OneShotServer(_ragged_handler(_stdlib_ctx(pki), b"partial")) as server:
        tls = _connect(ctx, server)
        assert _recv_exactly(tls, 7) == b"partial"
        with pytest.raises(RaggedEOF):
            tls.close(force=False)
        assert tls.fileno() == -1  # closed all the same


def test_negotiated_values_are_none_after_close(pki):
    ctx = client_context(pki, inner_protocols=[NextProtocol.HTTP1])
    with _peers.stdlib_server(pki.server, alpn=["http/1.1"]) as server:
        tls = _connect(ctx, server)
        assert tls.cipher() is not None and tls.negotiated_protocol() is NextProtocol.HTTP1
        best = TLSVersion.TLSv1_3 if "tls1_3" in nativetls.backend().features else TLSVersion.TLSv1_2
        assert tls.negotiated_tls_version is best
        tls.close()
        assert tls.cipher() is None and tls.negotiated_protocol() is None and tls.negotiated_tls_version is None
        server.wait_for_connections(1)


# --- socket-level accessors ---------------------------------------------------------------------------

def test_socket_accessors(ctx, stdlib_server):
    sock = socket.create_connection(stdlib_server.address, timeout=WAIT)
    with ctx.wrap_socket(sock, "localhost") as tls:
        assert tls.fileno() == sock.fileno()
        assert tls.getpeername() == sock.getpeername() == stdlib_server.address
        assert tls.getsockname() == sock.getsockname()
        assert tls.family == socket.AF_INET
        assert tls.type & socket.SOCK_STREAM
        assert tls.gettimeout() == WAIT
        tls.settimeout(2.5)
        assert tls.gettimeout() == 2.5 == sock.gettimeout()
        tls.settimeout(None)
        assert tls.gettimeout() is None
        tls.setblocking(False)
        assert tls.gettimeout() == 0.0
        tls.setblocking(True)
        assert tls.gettimeout() is None
        tls.sendall(b"still works\n")
        assert _recv_exactly(tls, 12) == b"still works\n"


@pytest.mark.needs("tls1_3")  # the peer speaks TLS 1.3 only
def test_tls_accessors(pki):
    ctx = client_context(pki, inner_protocols=[NextProtocol.H2, NextProtocol.HTTP1])
    with _peers.stdlib_server(pki.server, tls="1.3", alpn=["h2"]) as server:
        with _connect(ctx, server) as tls:
            assert tls.context is ctx
            assert tls.negotiated_tls_version is TLSVersion.TLSv1_3
            assert tls.negotiated_protocol() is NextProtocol.H2
            assert isinstance(tls.cipher(), nativetls.CipherSuite)
            assert tls.getpeercert(binary_form=True) == pki.server.cert_der
            assert tls.getpeercertchain() == [pki.server.cert_der, pki.intermediate.cert_der]
            cert = tls.getpeercert()
            assert (("commonName", "localhost"),) in cert["subject"]
            assert ("DNS", "localhost") in cert["subjectAltName"]
            assert tls.session_reused is False
            assert tls.session is None  # TLS 1.3: no ticket read yet
            tls.sendall(b"x\n")
            assert _recv_exactly(tls, 2) == b"x\n"
            assert isinstance(tls.session, nativetls.TLSSession)
        record = server.wait_for_connections(1)[0]
    assert record.version == "TLSv1.3" == TLSVersion.TLSv1_3.value
    assert record.alpn == "h2"


@pytest.mark.needs("tls1_3")  # the peer speaks TLS 1.3 only
def test_accessors_match_what_the_server_negotiated(pki, ctx):
    """In TLS 1.3 OpenSSL's suite names are the IANA names, so the stdlib server's report maps onto the enum."""
    with _peers.stdlib_server(pki.server, tls="1.3") as server:
        with _connect(ctx, server) as tls:
            cipher = tls.cipher()
            version = tls.negotiated_tls_version
            tls.sendall(b"x\n")
            _recv_exactly(tls, 2)
        record = server.wait_for_connections(1)[0]
    assert cipher == nativetls.CipherSuite[record.cipher]
    assert version.value == record.version


# --- explicit handshakes and PEP 748 connect ------------------------------------------------------------

def test_do_handshake_on_connect_false(pki, ctx, stdlib_server):
    sock = socket.create_connection(stdlib_server.address, timeout=WAIT)
    with ctx.wrap_socket(sock, "localhost", do_handshake_on_connect=False) as tls:
        assert tls.negotiated_tls_version is None
        assert tls.cipher() is None
        assert tls.getpeercert() is None
        tls.do_handshake()
        assert tls.negotiated_tls_version in (TLSVersion.TLSv1_2, TLSVersion.TLSv1_3)
        assert tls.getpeercert(True) == pki.server.cert_der
        tls.do_handshake()  # a no-op once done
        tls.sendall(b"after\n")
        assert _recv_exactly(tls, 6) == b"after\n"
    assert stdlib_server.wait_for_connections(1)[0].clean_close


def test_do_handshake_on_connect_false_first_io_handshakes(ctx, stdlib_server):
    sock = socket.create_connection(stdlib_server.address, timeout=WAIT)
    with ctx.wrap_socket(sock, "localhost", do_handshake_on_connect=False) as tls:
        tls.sendall(b"implicit\n")
        assert tls.negotiated_tls_version is not None
        assert _recv_exactly(tls, 9) == b"implicit\n"


def test_do_handshake_reports_verification_failure(pki, stdlib_server):
    ctx = client_context(pki, trust_store=nativetls.TrustStore.from_buffer(pki.untrusted_ca.cert_pem))
    sock = socket.create_connection(stdlib_server.address, timeout=WAIT)
    try:
        tls = ctx.wrap_socket(sock, "localhost", do_handshake_on_connect=False)
        with pytest.raises(nativetls.CertificateVerificationError) as info:
            tls.do_handshake()
        assert info.value.reason == "untrusted_root"
        tls.close()
    finally:
        sock.close()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_client_context_connect(ctx, stdlib_server, host):
    with ctx.connect((host, stdlib_server.port)) as tls:
        assert isinstance(tls, nativetls.TLSSocket)
        assert tls.getpeername() == stdlib_server.address
        assert tls.negotiated_tls_version is not None  # handshaken already
        tls.sendall(b"pep 748\n")
        assert _recv_exactly(tls, 8) == b"pep 748\n"
    record = stdlib_server.wait_for_connections(1)[0]
    assert record.error is None and record.clean_close
    assert record.server_name == ("localhost" if host == "localhost" else None)  # no SNI for IP addresses


def test_client_context_connect_checks_the_host_name(pki, ctx):
    with _peers.stdlib_server(pki.wrong_host) as server:
        with pytest.raises(nativetls.CertificateVerificationError) as info:
            ctx.connect(("localhost", server.port))
    assert info.value.reason == "hostname_mismatch"
    assert info.value.host == "localhost"


def test_client_certificate_over_socket(pki):
    ctx = client_context(pki, certificate_chain=chain_of(pki.client))
    with _peers.stdlib_server(pki.server, verify_client_ca=pki.ca) as server:
        with _connect(ctx, server) as tls:
            tls.sendall(b"me\n")
            assert _recv_exactly(tls, 3) == b"me\n"
        record = server.wait_for_connections(1)[0]
    assert record.error is None
    assert record.peer_cert == pki.client.cert_der


def test_wrap_socket_rejects_datagram_socket(ctx):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with pytest.raises(ValueError):
            ctx.wrap_socket(sock, "localhost")
    finally:
        sock.close()
