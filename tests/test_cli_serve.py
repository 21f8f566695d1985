"""``python -m nativetls serve`` under clients that are slow, idle or pedantic, run as users run it (a subprocess).

The clients are real: nativetls and the stdlib ``ssl`` module writing one byte per TLS record (each ``sendall`` of one
byte is a record of its own), curl, and ``openssl s_client``. ``openssl s_server -www`` is the reference the TLS test
tools are written against: the same clients get the same kind of answer from both (an HTTP 200 response, then
close_notify and the end of the connection).
"""
from __future__ import absolute_import, division, print_function

import socket
import ssl
import subprocess
import sys
import time

import pytest

import _peers
import nativetls

REQUEST = b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"


class _Serve(object):
    def __init__(self, peer, ca_path):
        self.peer, self.ca_path = peer, ca_path
        self.port = peer.port

    def stop(self):
        self.peer.stop()


@pytest.fixture
def serve(tmp_path):
    ca_path = str(tmp_path / "ca.pem")
    peer = _peers.ProcessPeer([sys.executable, "-u", "-m", "nativetls", "serve", "--port", "0", "--write-ca",
                               ca_path, "--timeout", "20"])
    try:
        match = peer.wait_for_output(r"listening on 127\.0\.0\.1 port (\d+)")
        if not match:
            peer.fail("nativetls serve did not start")
        peer.port = int(match.group(1))
        yield _Serve(peer, ca_path)
    finally:
        peer.stop()


@pytest.fixture
def s_server_www(pki):
    _peers.require_tool("openssl")
    with _peers.openssl_s_server(pki.server, mode="www") as peer:
        peer.ca_path = pki.ca.cert_path
        yield peer


def _read_to_eof(read):
    data = b""
    while True:
        try:
            more = read()
        except (ssl.SSLError, nativetls.TLSError, socket.error):
            break
        if not more:
            break
        data += more
    return data


def tiny_records_nativetls(port, ca_path, request=REQUEST):
    """A nativetls client sending *request* one byte per TLS record; returns everything it received."""
    context = nativetls.ClientContext(nativetls.TLSConfiguration(
        trust_store=nativetls.TrustStore.from_file(ca_path)))
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with context.wrap_socket(sock, server_hostname="localhost") as tls:
        for index in range(len(request)):
            tls.sendall(request[index:index + 1])
            time.sleep(0.002)
        return _read_to_eof(lambda: tls.recv(65536))


def tiny_records_stdlib(port, ca_path, request=REQUEST):
    """The stdlib ``ssl`` module as the client, one byte per ``write`` (so per record)."""
    context = _peers.stdlib_client_context(ca=ca_path)
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tls = context.wrap_socket(sock, server_hostname="localhost")
    try:
        for index in range(len(request)):
            tls.sendall(request[index:index + 1])
            time.sleep(0.002)
        return _read_to_eof(lambda: tls.recv(65536))
    finally:
        tls.close()


def curl(port, ca_path, *args):
    _peers.require_tool("curl")
    result = _peers.run(["curl", "-sS", "-i", "--max-time", "15", "--cacert", ca_path] + list(args)
                        + ["https://localhost:%d/" % port], timeout=20)
    assert not result.timed_out and result.returncode == 0, result.stderr
    return result.stdout


def s_client(port, ca_path, request=REQUEST):
    _peers.require_tool("openssl")
    result = _peers.openssl_s_client(port, ["-quiet", "-ign_eof", "-CAfile", ca_path, "-servername", "localhost",
                                            "-verify_return_error"], input=request, timeout=20)
    # -ign_eof: s_client only exits because the server ended the connection.
    assert not result.timed_out, "the server did not end the connection after its answer"
    return result.stdout


CLIENTS = {
    "nativetls-1-byte-records": tiny_records_nativetls,
    "stdlib-1-byte-records": tiny_records_stdlib,
    "curl": curl,
    "openssl-s_client": s_client,
}


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_serve_answers_http_like_s_server_www(serve, s_server_www, client):
    reference = CLIENTS[client](s_server_www.port, s_server_www.ca_path)
    answer = CLIENTS[client](serve.port, serve.ca_path)
    for reply in (reference, answer):
        status = reply.split(b"\r\n", 1)[0]
        assert status.startswith(b"HTTP/1.") and status.split()[1] == b"200", reply[:200]
    assert answer.endswith(b"\r\n\r\nnativetls serve: hello\n"), answer


def test_serve_answers_a_request_in_one_record(serve):
    # The response is one write, so one record: tlsfuzzer-style tools expect a single ApplicationData.
    answer = tiny_records_stdlib(serve.port, serve.ca_path, b"HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\n"), answer


def test_serve_echoes_what_is_not_http_even_in_tiny_records(serve):
    # "GE" could begin GET: the decision waits for the next byte, which says echo.
    context = nativetls.ClientContext(nativetls.TLSConfiguration(
        trust_store=nativetls.TrustStore.from_file(serve.ca_path)))
    sock = socket.create_connection(("127.0.0.1", serve.port), timeout=15)
    with context.wrap_socket(sock, server_hostname="localhost") as tls:
        for byte in (b"G", b"E", b"X", b"!"):
            tls.sendall(byte)
        got = b""
        while len(got) < 4:
            got += tls.recv(100)
        assert got == b"GEX!"
        tls.sendall(b"more")
        got = b""
        while len(got) < 4:
            got += tls.recv(100)
        assert got == b"more"


def test_an_idle_client_does_not_hold_up_the_others(serve):
    # One client connects and never speaks (not even a ClientHello), another finishes its handshake and then
    # sends half a request head and waits: both stay open while other clients are served at once.
    silent = socket.create_connection(("127.0.0.1", serve.port), timeout=15)
    context = nativetls.ClientContext(nativetls.TLSConfiguration(
        trust_store=nativetls.TrustStore.from_file(serve.ca_path)))
    half = context.wrap_socket(socket.create_connection(("127.0.0.1", serve.port), timeout=15),
                               server_hostname="localhost")
    try:
        half.sendall(b"GET / HTTP/1.1\r\nHost: local")
        for _ in range(3):
            started = time.time()
            reply = curl(serve.port, serve.ca_path)
            assert reply.startswith(b"HTTP/1.1 200 OK") and time.time() - started < 4, reply
            assert tiny_records_nativetls(serve.port, serve.ca_path).startswith(b"HTTP/1.1 200 OK")
        # The half-sent head is answered once the head timeout passes, not held forever.
        half.settimeout(15)
        assert _read_to_eof(lambda: half.recv(65536)).startswith(b"HTTP/1.1 200 OK")
        silent.settimeout(0.2)
        with pytest.raises(socket.timeout):
            silent.recv(1)  # still open: its own thread waits for it
    finally:
        half.close()
        silent.close()


def test_curl_head_and_http_post(serve):
    head = curl(serve.port, serve.ca_path, "-I")
    assert head.startswith(b"HTTP/1.1 200 OK") and b"nativetls serve: hello" not in head
    post = curl(serve.port, serve.ca_path, "--data-binary", "x" * 100)
    assert post.startswith(b"HTTP/1.1 200 OK") and post.endswith(b"nativetls serve: hello\n")


def test_classify_first_bytes():
    from nativetls._cli import _classify
    assert _classify(b"G") is None and _classify(b"GET") is None and _classify(b"P") is None
    assert _classify(b"GET ") == "http" and _classify(b"HEAD /") == "http"
    assert _classify(b"GX") == "echo" and _classify(b"hello") == "echo" and _classify(b"get /") == "echo"


def test_serve_help_names_the_modes():
    out = subprocess.check_output([sys.executable, "-m", "nativetls", "serve", "--help"]).decode("utf-8")
    assert "echo" in out and "HTTP" in out
