"""Bad input from the network: every case ends in a TLSError (RaggedEOF where the transport just ended; socket
errors or a timeout over sockets), promptly, never another exception type, never a hang.

The inputs: garbage, truncated records, oversized records, a plain-HTTP peer, a peer hanging up mid-handshake,
random byte streams in many chunks and genuine handshake messages with a few bytes flipped. Each is fed to a client
and to a server TLSBuffer in memory, and sent to a client over a real socket. Random input comes from fixed seeds,
so a failure is reproducible.
"""
from __future__ import absolute_import, division, print_function

import contextlib
import random
import socket
import struct
import threading

import pytest

import nativetls
from nativetls import RaggedEOF, TLSError, WantReadError, WantWriteError
from _tls import chain_of, handshake, pump, trust_of

MAX_CIPHERTEXT = 2 ** 14 + 2048  # the largest TLSCiphertext.length RFC 5246 allows (RFC 8446: 2^14 + 256)
HTTP_RESPONSE = (b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 11\r\n"
                 b"Connection: close\r\n\r\nBad Request")
HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n"
SOCKET_ERRORS = (TLSError, socket.error, OSError)  # socket.timeout is a socket.error


def record(content_type, body, version=b"\x03\x03", length=None):
    return struct.pack(">B", content_type) + version + struct.pack(">H", len(body) if length is None else length) \
        + body


def random_bytes(rng, size):
    return bytes(bytearray(rng.getrandbits(8) for _ in range(size)))


def chunked(rng, data, largest=300):
    chunks, index = [], 0
    while index < len(data):
        size = rng.randint(1, largest)
        chunks.append(data[index:index + size])
        index += size
    return chunks


@pytest.fixture(scope="module")
def contexts(pki):
    """A client and a server context (ECDSA P-256, for speed); made once, each test makes fresh buffers."""
    leaf = pki.factory.leaf(pki.intermediate, "localhost", key="p256", name="bad-input-p256",
                            dns=["localhost"], ips=["127.0.0.1"])
    client = nativetls.ClientContext(nativetls.TLSConfiguration(trust_store=trust_of(pki.ca)))
    server = nativetls.ServerContext(nativetls.TLSConfiguration(certificate_chain=chain_of(leaf)))
    return client, server


class Side(object):
    """Makes the buffer under test and the genuine bytes its peer would send first."""

    def __init__(self, name, contexts):
        self.name = name
        self.client_ctx, self.server_ctx = contexts

    def fresh(self):
        """A new buffer of this side, after its first handshake step (a client has sent its ClientHello)."""
        if self.name == "client":
            buffer = self.client_ctx.wrap_buffers("localhost")
            with pytest.raises(WantReadError):
                buffer.do_handshake()
            assert buffer.process_outgoing()  # the ClientHello went out
        else:
            buffer = self.server_ctx.wrap_buffers()
        return buffer

    def genuine(self):
        """``(buffer, first_flight)``: a fresh buffer and the real bytes its peer sends it first."""
        buffer = self.client_ctx.wrap_buffers("localhost") if self.name == "client" else None
        if self.name == "client":
            with pytest.raises(WantReadError):
                buffer.do_handshake()
            hello = buffer.process_outgoing()
            server = self.server_ctx.wrap_buffers()
            server.process_incoming(hello)
            with pytest.raises(WantReadError):
                server.do_handshake()
            return buffer, server.process_outgoing()
        client = self.client_ctx.wrap_buffers("localhost")
        with pytest.raises(WantReadError):
            client.do_handshake()
        return self.server_ctx.wrap_buffers(), client.process_outgoing()

    def plain_text(self):
        return HTTP_RESPONSE if self.name == "client" else HTTP_REQUEST


@pytest.fixture(params=["client", "server"])
def side(request, contexts):
    return Side(request.param, contexts)


def feed(buffer, chunks, eof=True):
    """Feed *chunks* one at a time, driving the connection after each, then the transport's EOF.

    Returns the TLSError that ended it. Fails the test for any other exception, for WantRead/WantWrite after
    EOF, and if the connection somehow survives.
    """
    done = False
    try:
        for chunk in chunks:
            buffer.process_incoming(chunk)
            try:
                if done:
                    buffer.read()
                else:
                    buffer.do_handshake()
                    done = True
            except WantReadError:
                continue
        if eof:
            buffer.process_incoming(b"")
        if done:
            buffer.read()
        else:
            buffer.do_handshake()
            buffer.read()
    except (WantReadError, WantWriteError) as exc:
        if not eof:
            return exc
        raise AssertionError("still waiting for data after the transport's EOF: %r" % (exc,))
    except TLSError as exc:
        return exc
    raise AssertionError("the connection survived bad input")


def check_failed(buffer, exc):
    """A failed buffer reports the error again (never crashes), and close() still works."""
    assert isinstance(exc, TLSError) and not isinstance(exc, (WantReadError, WantWriteError)), repr(exc)
    assert str(exc)
    with pytest.raises(TLSError):
        buffer.do_handshake()
    buffer.process_outgoing()  # whatever alert was queued
    buffer.close()
    buffer.close()


# --- in memory, both sides ---------------------------------------------------------------------------------

GARBAGE = [
    b"\x00" * 64,
    b"\xff" * 5,
    b"\x16\x03\x03\x00\x00",  # an empty handshake record
    b"\x15\x03\x03\x00\x02\x02\x28",  # a fatal handshake_failure alert
    b"\x17\x03\x03\x00\x10" + b"\x00" * 16,  # application data before any handshake
    b"\x16\x03\x03\x00\x04\x01\x00\x00\x00",  # a ClientHello of length 0
    b"\x16\x03\x03\x00\x04\x02\xff\xff\xff",  # a ServerHello claiming 16 MiB
    b"\x16\x00\x00\x00\x05hello",  # a nonsense record version
    b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n",
    b"\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10" + b"\x00" * 37,  # an SSLv2 ClientHello
]


@pytest.mark.parametrize("data", GARBAGE, ids=[str(i) for i in range(len(GARBAGE))])
def test_garbage(side, data):
    buffer = side.fresh()
    check_failed(buffer, feed(buffer, [data]))


def test_plain_http_peer(side):
    buffer = side.fresh()
    exc = feed(buffer, [side.plain_text()])
    check_failed(buffer, exc)


@pytest.mark.parametrize("length", [2 ** 14 + 1, MAX_CIPHERTEXT, MAX_CIPHERTEXT + 1, MAX_CIPHERTEXT + 1024, 0xFFFF])
@pytest.mark.parametrize("content_type", [22, 23], ids=["handshake", "application_data"])
def test_oversized_record(side, length, content_type):
    buffer = side.fresh()
    body = b"\x01" * length
    # Header alone first (a TLS stack should refuse it from the length), then the body, in pieces.
    exc = feed(buffer, [record(content_type, b"", length=length)] + chunked(random.Random(length), body, 4096))
    check_failed(buffer, exc)


@pytest.mark.parametrize("length", [MAX_CIPHERTEXT + 1, 0xFFFF])
def test_oversized_record_after_handshake(contexts, length):
    client_ctx, server_ctx = contexts
    for victim in ("client", "server"):
        client, server = client_ctx.wrap_buffers("localhost"), server_ctx.wrap_buffers()
        handshake(client, server)
        target = client if victim == "client" else server
        check_failed(target, feed(target, [record(23, b"\x00" * length)]))


def test_truncated_record_header(side):
    buffer = side.fresh()
    check_failed(buffer, feed(buffer, [b"\x16\x03"]))


def test_truncated_genuine_flight(side):
    """The peer's real first flight, cut at many points, then the transport ends."""
    _, flight = side.genuine()
    cuts = sorted(set([1, 4, 5, 6, 9, 40, len(flight) // 2, len(flight) - 1] +
                      list(range(5, len(flight), max(1, len(flight) // 25)))))
    for cut in cuts:
        buffer, flight = side.genuine()
        exc = feed(buffer, [flight[:cut]])
        check_failed(buffer, exc)


def test_truncated_flight_waits_without_eof(side):
    """Without EOF a truncated record is not an error yet: WantReadError, then TLSError once the transport ends."""
    buffer, flight = side.genuine()
    buffer.process_incoming(flight[:len(flight) // 2])
    with pytest.raises(WantReadError):
        buffer.do_handshake()
    check_failed(buffer, feed(buffer, []))


def test_hang_up_before_anything(side):
    buffer = side.fresh()
    exc = feed(buffer, [])
    check_failed(buffer, exc)
    assert isinstance(exc, TLSError)


def test_hang_up_mid_handshake_after_first_flight(contexts):
    """The server answers the ClientHello, then disappears before the client's Finished (and vice versa)."""
    client_ctx, server_ctx = contexts
    client, server = client_ctx.wrap_buffers("localhost"), server_ctx.wrap_buffers()
    with pytest.raises(WantReadError):
        client.do_handshake()
    server.process_incoming(client.process_outgoing())
    with pytest.raises(WantReadError):
        server.do_handshake()
    # The server's flight never arrives at the client; the client's EOF:
    check_failed(client, feed(client, []))
    # And the server never hears the client's Finished:
    check_failed(server, feed(server, []))


def test_data_after_eof_is_refused(side):
    buffer = side.fresh()
    buffer.process_incoming(b"")
    with pytest.raises(TLSError):
        buffer.process_incoming(b"\x16\x03\x03")


def test_ragged_eof_after_handshake(contexts):
    client_ctx, server_ctx = contexts
    client, server = client_ctx.wrap_buffers("localhost"), server_ctx.wrap_buffers()
    handshake(client, server)
    for target in (client, server):
        exc = feed(target, [])
        assert isinstance(exc, RaggedEOF), repr(exc)


def test_garbage_after_handshake(contexts):
    rng = random.Random(7)
    client_ctx, server_ctx = contexts
    for _ in range(20):
        client, server = client_ctx.wrap_buffers("localhost"), server_ctx.wrap_buffers()
        handshake(client, server)
        for target in (client, server):
            data = record(23, random_bytes(rng, rng.randint(1, 600)))
            check_failed(target, feed(target, chunked(rng, data, 50)))


@pytest.mark.parametrize("framed", [False, True], ids=["raw", "framed"])
def test_random_streams(side, framed):
    """Hundreds of random byte streams in many small chunks; "framed" ones start with a plausible record header
    so that the record layer's parser is passed and the handshake parser sees the noise."""
    rng = random.Random(543 + framed)
    for _ in range(150):
        data = random_bytes(rng, rng.randint(1, 2000))
        if framed:
            data = record(22, data)
        buffer = side.fresh()
        check_failed(buffer, feed(buffer, chunked(rng, data, 64)))


def test_mutated_genuine_flights(side):
    """The peer's real first flight with one to four bytes changed: the handshake must fail, not crash."""
    rng = random.Random(2024)
    for _ in range(150):
        buffer, flight = side.genuine()
        data = bytearray(flight)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= rng.randint(1, 255)
        check_failed(buffer, feed(buffer, chunked(rng, bytes(data), 700)))


# --- over sockets, the client --------------------------------------------------------------------------------

@contextlib.contextmanager
def raw_server(payload=b"", read_first=True, hold=False):
    """A plain TCP server for one connection: reads the ClientHello, sends *payload*, then closes (or with *hold*,
    stays silent until the test ends)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(10)
    finished = threading.Event()

    def serve():
        try:
            conn, _ = listener.accept()
        except (socket.error, OSError):
            return
        try:
            conn.settimeout(10)
            if read_first:
                conn.recv(65536)
            if payload:
                conn.sendall(payload)
            if hold:
                finished.wait(30)
        except (socket.error, OSError):
            pass
        finally:
            conn.close()

    thread = threading.Thread(target=serve, name="raw-server")
    thread.daemon = True
    thread.start()
    try:
        yield listener.getsockname()
    finally:
        finished.set()
        thread.join(15)
        listener.close()


def connect_expecting_failure(contexts, address, timeout=10.0):
    client_ctx, _ = contexts
    sock = socket.create_connection(address, timeout=timeout)
    try:
        sock.settimeout(timeout)
        try:
            tls = client_ctx.wrap_socket(sock, "localhost")
        except SOCKET_ERRORS as exc:
            assert not isinstance(exc, (WantReadError, WantWriteError)), repr(exc)
            return exc
        tls.close()
        raise AssertionError("the handshake succeeded against a bad peer")
    finally:
        sock.close()


SOCKET_PAYLOADS = [
    ("garbage", b"\x00" * 64),
    ("plain_http", HTTP_RESPONSE),
    ("truncated_record", b"\x16\x03\x03\x01\x00" + b"\x02" * 40),
    ("oversized_record", record(22, b"\x01" * (MAX_CIPHERTEXT + 1))),
    ("oversized_header_only", record(22, b"", length=0xFFFF)),
    ("alert", b"\x15\x03\x03\x00\x02\x02\x28"),
    ("immediate_close", b""),
]


@pytest.mark.parametrize("payload", [p for _, p in SOCKET_PAYLOADS], ids=[n for n, _ in SOCKET_PAYLOADS])
def test_socket_bad_server(contexts, payload):
    with raw_server(payload) as address:
        exc = connect_expecting_failure(contexts, address)
    assert isinstance(exc, SOCKET_ERRORS)


def test_socket_server_closes_before_reading(contexts):
    with raw_server(read_first=False) as address:
        exc = connect_expecting_failure(contexts, address)
    assert isinstance(exc, SOCKET_ERRORS)


def test_socket_random_servers(contexts):
    rng = random.Random(99)
    for _ in range(30):
        payload = random_bytes(rng, rng.randint(1, 3000))
        if rng.random() < 0.5:
            payload = record(22, payload)
        with raw_server(payload) as address:
            connect_expecting_failure(contexts, address)


def test_socket_truncated_genuine_flight(contexts):
    """A real server's first flight, cut short, then the TCP connection closes."""
    _, server_ctx = contexts
    for fraction in (0.1, 0.5, 0.9):
        side = {}

        def payload_for(hello, side=side):
            server = server_ctx.wrap_buffers()
            server.process_incoming(hello)
            with pytest.raises(WantReadError):
                server.do_handshake()
            flight = server.process_outgoing()
            return flight[:int(len(flight) * fraction)]

        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(10)

        def serve():
            conn, _ = listener.accept()
            try:
                conn.settimeout(10)
                conn.sendall(payload_for(conn.recv(65536)))
            except Exception as exc:  # reported by the assertion below
                side["error"] = exc
            finally:
                conn.close()

        thread = threading.Thread(target=serve)
        thread.daemon = True
        thread.start()
        try:
            exc = connect_expecting_failure(contexts, listener.getsockname())
        finally:
            thread.join(15)
            listener.close()
        assert "error" not in side, side
        assert isinstance(exc, SOCKET_ERRORS)


def test_socket_silent_server_times_out(contexts):
    with raw_server(hold=True) as address:
        exc = connect_expecting_failure(contexts, address, timeout=0.5)
    assert isinstance(exc, socket.timeout), repr(exc)
