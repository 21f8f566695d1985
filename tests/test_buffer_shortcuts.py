"""Answers a TLSBuffer gives without asking its native library (issue 17): a read() that nothing can have changed
since it raised WantReadError, process_outgoing() and outgoing_bytes_buffered() after a flush. These tests show
that correctness does not depend on the shortcut: every event that can change the answer (bytes arriving, in any
split, end of file, a write, a shutdown, post-handshake messages and the replies they need) is seen.

The in-memory cases run on any backend; the ones that make the peer send a TLS 1.3 key update or a new session
ticket do it through the OpenSSL backend's SSL object (nativetls has no API for either), and one uses a real
``openssl s_server`` peer, whose ``K`` command sends a key update that asks for one back.
"""
from __future__ import absolute_import, division, print_function

import ctypes
import socket
import sys

import pytest

import nativetls
from nativetls import TLSVersion
from _tls import StdlibPeer, client_context, handshake, pump, server_context

OPENSSL = nativetls.backend().name == "openssl"
VERSIONS = [TLSVersion.TLSv1_3, TLSVersion.TLSv1_2]
#: The best version the backend speaks: the cases that are not about TLS 1.3 also run where it is missing (1.0.2).
BEST = TLSVersion.TLSv1_3 if "tls1_3" in nativetls.backend().features else TLSVersion.TLSv1_2


def _pair(pki, version=BEST):
    fields = dict(lowest_supported_version=version, highest_supported_version=version)
    client = client_context(pki, **fields).wrap_buffers("localhost")
    server = server_context(pki, **fields).wrap_buffers()
    handshake(client, server)
    _read_until_want(client)  # TLS 1.3 tickets
    _read_until_want(server)
    assert not pump(client, server)
    return client, server


def _read_until_want(buffer, amt=65536):
    """Everything read() returns until WantReadError (or b"", appended as the last item)."""
    out = []
    while True:
        try:
            data = buffer.read(amt)
        except nativetls.WantReadError:
            return out
        out.append(data)
        if not data:
            return out


def _flush(src, dst):
    """process_outgoing() until empty, into *dst*; returns the bytes moved."""
    total = b""
    data = src.process_outgoing()
    while data:
        dst.process_incoming(data)
        total += data
        data = src.process_outgoing()
    return total


def _want(buffer):
    with pytest.raises(nativetls.WantReadError):
        buffer.read()


@pytest.mark.parametrize("version", VERSIONS, ids=["tls13", "tls12"])
def test_repeated_want_read_then_data_arriving_later(pki, version):
    client, server = _pair(pki, version)
    for _ in range(3):
        _want(client)
        with pytest.raises(nativetls.WantReadError):
            client.readinto(bytearray(10))
    assert client.process_outgoing() == b"" and client.outgoing_bytes_buffered() == 0
    server.write(b"late")
    assert server.outgoing_bytes_buffered() > 0
    _flush(server, client)
    assert server.outgoing_bytes_buffered() == 0 and server.process_outgoing() == b""
    assert _read_until_want(client) == [b"late"]
    _want(client)


@pytest.mark.parametrize("version", VERSIONS, ids=["tls13", "tls12"])
def test_records_split_anywhere_and_several_per_flight(pki, version):
    client, server = _pair(pki, version)
    server.write(b"a" * 100)
    server.write(b"b" * 20000)  # two records
    server.write(b"c")
    wire = server.process_outgoing()
    got = []
    for cut in range(0, len(wire), 37):  # pieces that split headers and bodies
        client.process_incoming(wire[cut:cut + 37])
        got += _read_until_want(client, 1000)
    assert b"".join(got) == b"a" * 100 + b"b" * 20000 + b"c"
    # the whole flight at once, read in exact and in larger amounts, into a buffer too
    server.write(b"x" * 100)
    server.write(b"y" * 100)
    _flush(server, client)
    assert client.read(100) == b"x" * 100  # exactly what the record holds: not known to be used up
    target = bytearray(500)
    assert client.readinto(target) == 100 and bytes(target[:100]) == b"y" * 100
    with pytest.raises(nativetls.WantReadError):
        client.readinto(target)
    server.write(b"z" * 50)
    _flush(server, client)
    assert client.read(10) == b"z" * 10 and client.read(1000) == b"z" * 40
    _want(client)


@pytest.mark.parametrize("version", VERSIONS, ids=["tls13", "tls12"])
def test_close_notify_in_the_same_flight_as_data(pki, version):
    client, server = _pair(pki, version)
    _want(client)
    server.write(b"last words")
    server.shutdown()
    _flush(server, client)
    assert _read_until_want(client) == [b"last words", b""]
    assert client.read() == b""
    assert client.process_outgoing() == b""
    client.shutdown()  # our close_notify is output made after a flush
    assert client.outgoing_bytes_buffered() > 0
    _flush(client, server)
    assert client.outgoing_bytes_buffered() == 0
    assert server.read() == b""


def test_end_of_file_after_want_read_and_after_a_used_up_record(pki):
    client, server = _pair(pki)
    _want(client)
    client.process_incoming(b"")
    with pytest.raises(nativetls.RaggedEOF):
        client.read()
    client, server = _pair(pki)
    server.write(b"data")
    _flush(server, client)
    assert client.read() == b"data"  # the record is used up and rbio empty
    client.process_incoming(b"")
    with pytest.raises(nativetls.RaggedEOF):
        client.read()


def test_write_between_reads_and_output_made_by_writes(pki):
    client, server = _pair(pki)
    _want(server)
    assert server.process_outgoing() == b""
    server.write(b"one")
    assert server.outgoing_bytes_buffered() > 0
    _want(server)  # our own write changes nothing to read
    _flush(server, client)
    client.write(b"two")
    _flush(client, server)
    assert _read_until_want(server) == [b"two"] and _read_until_want(client) == [b"one"]


def test_small_flushes_leave_the_rest(pki):
    client, server = _pair(pki)
    server.write(b"q" * 3000)
    total = server.outgoing_bytes_buffered()
    first = server.process_outgoing(100)
    assert len(first) == 100 and server.outgoing_bytes_buffered() == total - 100
    rest = server.process_outgoing(total)  # exactly the rest: the buffer cannot know it is empty yet
    assert len(rest) == total - 100
    assert server.outgoing_bytes_buffered() == 0 and server.process_outgoing(10) == b""
    client.process_incoming(first + rest)
    assert b"".join(_read_until_want(client)) == b"q" * 3000


@pytest.mark.needs("tls1_3")
def test_tls13_tickets_arriving_after_the_client_wanted_to_read(pki):
    client = client_context(pki).wrap_buffers("localhost")
    server = server_context(pki).wrap_buffers()
    with pytest.raises(nativetls.WantReadError):
        client.do_handshake()
    _flush(client, server)  # ClientHello
    with pytest.raises(nativetls.WantReadError):
        server.do_handshake()
    _flush(server, client)  # ServerHello ... Finished
    client.do_handshake()  # done: its Finished is pending, the tickets not made yet
    assert client.session is None  # TLS 1.3: nothing to resume before a ticket
    _want(client)
    _want(client)
    _flush(client, server)
    server.do_handshake()
    assert server.outgoing_bytes_buffered() > 0  # the tickets
    _flush(server, client)
    _want(client)
    assert client.incoming_bytes_buffered() == 0
    assert client.session is not None


@pytest.mark.skipif(sys.version_info[0] < 3, reason="the stdlib ssl peer needs MemoryBIO (Python 3)")
def test_stdlib_peer_data_and_close_notify_in_one_flight(pki):
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server.fullchain_path, pki.server.key_path)
    peer = StdlibPeer(ctx, server_side=True)
    client = client_context(pki).wrap_buffers("localhost")
    handshake(client, peer)
    _read_until_want(client)
    peer.write(b"from ssl")
    try:
        peer.obj.unwrap()
    except ssl.SSLWantReadError:
        pass
    _want(client)  # nothing moved yet
    _flush(peer, client)
    assert _read_until_want(client) == [b"from ssl", b""]


# --- post-handshake messages made through the OpenSSL backend's SSL object ----------------------------------

def _native(name, *argtypes):
    """A function of the process's libssl, bound for this test only (nativetls does not declare it)."""
    from nativetls._openssl._lowlevel import _ssl_dll
    try:
        func = _ssl_dll._FuncPtr((name, _ssl_dll))
    except AttributeError:
        pytest.skip("libssl has no %s (SSL_new_session_ticket: 3.0+, SSL_key_update: 1.1.1+)" % name)
    func.restype, func.argtypes = ctypes.c_int, list(argtypes)
    return func


def _libssl_pending(buffer):
    """What libssl itself holds for sending (BIO_ctrl_pending of the write BIO), to check the buffer's answer."""
    from nativetls._openssl._lowlevel import lib
    return int(lib.BIO_ctrl_pending(buffer._wbio))


def _native_handshake_step(buffer):
    """SSL_do_handshake on an established buffer: sends what SSL_key_update/SSL_new_session_ticket queued."""
    assert _native("SSL_do_handshake", ctypes.c_void_p)(buffer._ssl_ptr) == 1


SSL_KEY_UPDATE_NOT_REQUESTED, SSL_KEY_UPDATE_REQUESTED = 0, 1  # ssl.h


@pytest.mark.skipif(not OPENSSL, reason="makes the peer send a key update through libssl")
@pytest.mark.parametrize("with_data", [False, True], ids=["alone", "before-data"])
@pytest.mark.needs("tls1_3")
def test_key_update_request_is_answered_after_a_flush(pki, with_data):
    client, server = _pair(pki)
    _want(client)
    assert client.process_outgoing() == b"" and client.outgoing_bytes_buffered() == 0
    assert _native("SSL_key_update", ctypes.c_void_p, ctypes.c_int)(server._ssl_ptr, SSL_KEY_UPDATE_REQUESTED) == 1
    if with_data:
        server.write(b"after the update")  # SSL_write sends the KeyUpdate first
    else:
        _native_handshake_step(server)
    server._drained = False  # the native call above went around the buffer
    _flush(server, client)
    assert _read_until_want(client) == ([b"after the update"] if with_data else [])
    assert client.incoming_bytes_buffered() == 0  # libssl consumed the KeyUpdate: the read was not skipped
    # libssl sends the reply with the next write (3.0 and 1.1.1 alike): whatever it holds, the buffer reports
    assert client.outgoing_bytes_buffered() == _libssl_pending(client)
    client.write(b"reply")
    assert client.outgoing_bytes_buffered() == _libssl_pending(client) > 0
    _flush(client, server)
    assert client.outgoing_bytes_buffered() == 0 == _libssl_pending(client)
    assert _read_until_want(server) == [b"reply"]
    assert server.incoming_bytes_buffered() == 0
    assert server.outgoing_bytes_buffered() == _libssl_pending(server)
    for n in range(3):  # both directions keep working under the new keys
        client.write(b"c%d" % n)
        server.write(b"s%d" % n)
        _flush(client, server)
        _flush(server, client)
        assert _read_until_want(server) == [b"c%d" % n] and _read_until_want(client) == [b"s%d" % n]


@pytest.mark.skipif(not OPENSSL, reason="makes the server send a ticket through libssl")
@pytest.mark.needs("tls1_3")
def test_ticket_arriving_after_want_read_is_taken_in(pki):
    client, server = _pair(pki)
    _want(client)
    _want(client)
    assert _native("SSL_new_session_ticket", ctypes.c_void_p)(server._ssl_ptr) == 1
    _native_handshake_step(server)
    server._drained = False
    assert _flush(server, client)
    assert client.incoming_bytes_buffered() > 0
    _want(client)
    assert client.incoming_bytes_buffered() == 0  # SSL_read ran and consumed the NewSessionTicket
    assert client.session is not None
    server.write(b"still fine")
    _flush(server, client)
    assert _read_until_want(client) == [b"still fine"]


@pytest.mark.skipif(not OPENSSL, reason="compares the buffer's shortcut answers with libssl's own")
def test_shortcut_answers_match_libssl(pki):
    client, server = _pair(pki)
    server.write(b"m" * 5000)
    _flush(server, client)
    assert _read_until_want(client, 4096) == [b"m" * 4096, b"m" * 904]
    pending = _native("SSL_pending", ctypes.c_void_p)
    assert pending(client._ssl_ptr) == 0 and client.incoming_bytes_buffered() == 0
    assert client.outgoing_bytes_buffered() == 0
    # libssl itself says "want read" where the shortcut did
    from nativetls._openssl import _libssl as L
    buf = ctypes.create_string_buffer(10)
    read = _native("SSL_read", ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int)
    result = read(client._ssl_ptr, buf, 10)
    assert result <= 0
    assert _native("SSL_get_error", ctypes.c_void_p, ctypes.c_int)(client._ssl_ptr, result) == L.SSL_ERROR_WANT_READ


# --- a real peer: openssl s_server sends a key update that asks for ours -----------------------------------

def _socket_loop_read(buffer, sock, until):
    """Feed *sock* to *buffer* and read until the text read so far ends with *until*; flushes after each read."""
    got = b""
    sock.settimeout(10)
    while not got.endswith(until):
        try:
            got += buffer.read(65536)
            continue
        except nativetls.WantReadError:
            pass
        out = buffer.process_outgoing()
        if out:
            sock.sendall(out)
        data = sock.recv(65536)
        assert data, "the peer closed early"
        buffer.process_incoming(data)
    return got


@pytest.mark.skipif(not OPENSSL, reason="libssl's TLS 1.3 key update against openssl s_server")
@pytest.mark.needs("tls1_3")
def test_openssl_s_server_key_update_gets_our_reply(pki, peers):
    peers.require_tool("openssl")
    with peers.openssl_s_server(pki.server, tls="1.3", mode=None, extra_args=("-msg",)) as server:
        sock = socket.create_connection(server.address)
        try:
            buffer = client_context(pki).wrap_buffers("localhost")
            while True:
                try:
                    buffer.do_handshake()
                    break
                except nativetls.WantReadError:
                    out = buffer.process_outgoing()
                    if out:
                        sock.sendall(out)
                    buffer.process_incoming(sock.recv(65536))
            sock.sendall(buffer.process_outgoing())
            assert server.wait_for_output(r"CIPHER is|Cipher is")
            server.send(b"hello\n")
            assert _socket_loop_read(buffer, sock, b"hello\n") == b"hello\n"
            server.send(b"K\n")  # KeyUpdate, update_requested (s_server reads stdin: one command per read)
            assert server.wait_for_output(r"SSL_do_handshake -> 1|>>> [^\n]*KeyUpdate"), server.output()
            server.send(b"again\n")
            assert _socket_loop_read(buffer, sock, b"again\n").endswith(b"again\n")
            out = buffer.process_outgoing()
            if out:
                sock.sendall(out)
            buffer.write(b"ping\n")
            sock.sendall(buffer.process_outgoing())
            assert server.wait_for_output(r"ping"), server.output()
            assert server.wait_for_output(r"<<< [^\n]*KeyUpdate"), server.output()  # our reply arrived
        finally:
            sock.close()


# --- TLSSocket: data the socket receives between two reads that wanted to read ------------------------------

@pytest.mark.skipif(sys.version_info[0] < 3, reason="on 2.7 this test's handshake hangs (a stdlib server on one end "
                    "of a socketpair; not investigated); test_socket_direct.py covers both paths there")
@pytest.mark.parametrize("direct", [True, False], ids=["direct", "sans-io"])
def test_tlssocket_reads_see_data_arriving_between_want_reads(pki, peers, monkeypatch, direct):
    """Direct I/O (libssl reads the socket) must never take the read shortcut: its socket changes without
    process_incoming. The sans-IO path feeds what it receives, which clears it."""
    import threading
    from nativetls._socket import TLSSocket
    if not direct:
        monkeypatch.setattr(TLSSocket, "direct_io", False)
    elif OPENSSL:
        from nativetls._openssl._lowlevel import VERSION_TEXT, lib
        if lib.SSL_in_before is None:
            pytest.skip("%s has no direct-I/O path (it needs SSL_in_before, 1.1.0+)" % VERSION_TEXT)
    ctx = peers.stdlib_server_context(pki.server)
    ours, theirs = socket.socketpair()
    go, errors = threading.Event(), []

    def serve():
        try:
            conn = ctx.wrap_socket(theirs, server_side=True)
            go.wait(10)
            conn.sendall(b"late")
            conn.recv(1)  # until the client closes
            conn.close()
        except Exception as exc:  # reported by the test
            errors.append(exc)

    thread = threading.Thread(target=serve)
    thread.daemon = True
    thread.start()
    tls = client_context(pki).wrap_socket(ours, "localhost")
    try:
        if direct and OPENSSL and getattr(TLSSocket, "direct_io", False):
            assert type(tls.buffer).__name__ == "DirectOpenSSLBuffer"  # the path this case is about
        tls.settimeout(0.0)
        for _ in range(3):
            with pytest.raises(nativetls.WantReadError):
                tls.recv(10)
        go.set()
        tls.settimeout(10)
        assert tls.recv(10) == b"late"
    finally:
        tls.close()
        thread.join(10)
    assert not errors
