"""NativeTLSContext as a real ``ssl.SSLContext``: both sides, with stdlib ``ssl`` peers and real clients.

Every case proves the connection was nativetls's (the object ``wrap_socket``/``wrap_bio`` returned is a
NativeTLSSocket/NativeTLSObject) and, where a client verifies, that a wrong CA fails for a certificate reason.
The asyncio, httpx, aiohttp and websockets cases live in _sslcontext_async_cases.py (py3 syntax).
"""
from __future__ import absolute_import, division, print_function

import os
import socket
import ssl
import sys
import threading
import warnings

import pytest

import _peers
import nativetls
from nativetls.contrib._sslcompat import (NativeTLSCertificateError, NativeTLSContext, NativeTLSError,
                                          NativeTLSObject, NativeTLSSocket)

try:
    import http.client as httplib
    import urllib.request as urllib_request
except ImportError:  # 2.7
    import httplib
    import urllib2 as urllib_request

if sys.version_info >= (3, 8):
    from _sslcontext_async_cases import *  # noqa: F401,F403

BODY = b"hello over nativetls"
SERVER = getattr(ssl, "PROTOCOL_TLS_SERVER", 17)


class Recording(NativeTLSContext):
    """A NativeTLSContext keeping what its wraps returned (a subclass, not a patch)."""

    def __init__(self, *args, **kwargs):
        super(Recording, self).__init__(*args, **kwargs)
        self.made = []

    def wrap_socket(self, *args, **kwargs):
        made = super(Recording, self).wrap_socket(*args, **kwargs)
        self.made.append(made)
        return made

    def wrap_bio(self, *args, **kwargs):
        made = super(Recording, self).wrap_bio(*args, **kwargs)
        self.made.append(made)
        return made


def server_context(pki, client_ca=None):
    ctx = Recording(SERVER)
    ctx.load_cert_chain(pki.server.fullchain_path, pki.server.key_path)
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca.cert_path)
    return ctx


def client_context(ca):
    ctx = Recording()
    ctx.load_verify_locations(ca.cert_path)
    return ctx


def http_handler(conn, record):
    record.received += _peers.recv_until(conn, b"\r\n\r\n")
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(BODY), BODY))


def serve_once(ctx, handler):
    """A listening socket whose one connection is wrapped by *ctx* (server side) and given to *handler*."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    result = {}

    def run():
        raw, _ = listener.accept()
        raw.settimeout(10)
        try:
            conn = ctx.wrap_socket(raw, server_side=True)
            result["conn"] = conn
            result["peer"], result["peer_der"] = conn.getpeercert(), conn.getpeercert(True)
            handler(conn)
            conn.close()
        except Exception as exc:
            result["error"] = exc
            raw.close()
    thread = threading.Thread(target=run)
    thread.daemon = True
    thread.start()
    return listener, thread, result


def stdlib_exchange(listener, client, data):
    """Send *data* to *listener* over the stdlib context *client*; returns the server's one reply."""
    tls = client.wrap_socket(socket.create_connection(listener.getsockname(), timeout=10),
                             server_hostname="localhost")
    try:
        tls.sendall(data)
        return tls.recv(100)
    finally:
        tls.close()


def test_is_an_sslcontext_and_never_uses_the_stdlib_object():
    ctx = NativeTLSContext()
    assert isinstance(ctx, ssl.SSLContext)
    c_level = ssl.SSLContext.check_hostname.__get__(ctx)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.check_hostname = not c_level
    ctx.keylog_filename = None
    # Our storage, not the C object's: the C descriptors of ssl.SSLContext still see their own defaults.
    assert ctx.check_hostname is (not c_level) and ssl.SSLContext.check_hostname.__get__(ctx) is c_level
    with pytest.raises(NotImplementedError):
        ctx.load_dh_params("x")
    if hasattr(ssl, "MemoryBIO") and hasattr(ssl.SSLObject, "_create"):  # 3.7+
        with pytest.raises(NotImplementedError):  # ssl.SSLObject._create reaching the C context
            ssl.SSLObject._create(ssl.MemoryBIO(), ssl.MemoryBIO(), False, None, None, ctx)
    plain = socket.socket()
    with pytest.raises(NotImplementedError):
        ctx._wrap_socket(plain, False)
    plain.close()
    with pytest.raises(NotImplementedError):
        ctx.sni_callback = lambda *a: None


def test_server_side_with_stdlib_client(pki):
    ctx = server_context(pki)
    listener, thread, result = serve_once(ctx, lambda conn: conn.sendall(conn.recv(100).upper()))
    assert stdlib_exchange(listener, _peers.stdlib_client_context(ca=pki.ca), b"ping") == b"PING"
    thread.join(10)
    listener.close()
    assert "error" not in result, result
    assert isinstance(ctx.made[0], NativeTLSSocket) and ctx.made[0].server_side
    assert result["peer"] is None, "no client certificate asked for: None, as ssl"


def test_server_requires_client_certificate(pki):
    ctx = server_context(pki, client_ca=pki.ca)
    listener, thread, result = serve_once(ctx, lambda conn: conn.sendall(conn.recv(100)))
    assert stdlib_exchange(listener, _peers.stdlib_client_context(ca=pki.ca, cert=pki.client), b"ping") == b"ping"
    thread.join(10)
    assert "error" not in result, result
    assert result["peer_der"] == pki.client.cert_der and result["peer"]["subject"]
    # Without a client certificate the handshake fails on the server for a certificate reason.
    listener2, thread2, result2 = serve_once(ctx, lambda conn: conn.recv(100))
    client = _peers.stdlib_client_context(ca=pki.ca)
    raw = socket.create_connection(listener2.getsockname(), timeout=10)
    try:
        tls = client.wrap_socket(raw, server_hostname="localhost")
        tls.sendall(b"ping")
        tls.recv(100)
        tls.close()
    except (ssl.SSLError, socket.error, OSError):
        pass
    thread2.join(10)
    listener.close()
    listener2.close()
    assert isinstance(result2.get("error"), NativeTLSError), result2


def test_server_needs_a_certificate_and_refuses_cert_optional(pki):
    ctx = NativeTLSContext(SERVER)
    with pytest.raises(NativeTLSError):
        ctx.wrap_socket(socket.socket(), server_side=True)
    ctx.load_cert_chain(pki.server.fullchain_path, pki.server.key_path)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    with pytest.raises(NativeTLSError) as info:
        ctx.wrap_socket(socket.socket(), server_side=True)
    assert "CERT_OPTIONAL" in str(info.value)
    with pytest.raises(ValueError):
        ctx.wrap_socket(socket.socket(), server_side=False)


def test_wrong_key_password_fails_at_load(pki):
    path = pki.server.encrypted_key_path(password=b"right")
    ctx = NativeTLSContext(SERVER)
    with pytest.raises(ssl.SSLError):
        ctx.load_cert_chain(pki.server.fullchain_path, path, password=b"wrong")
    ctx.load_cert_chain(pki.server.fullchain_path, path, password=b"right")


def test_http_client_and_urlopen(pki):
    with _peers.stdlib_server(pki.server, handler=http_handler) as server:
        ctx = client_context(pki.ca)
        conn = httplib.HTTPSConnection("localhost", server.port, context=ctx, timeout=10)
        conn.request("GET", "/")
        assert conn.getresponse().read() == BODY
        conn.close()
        response = urllib_request.urlopen("https://localhost:%d/" % server.port, context=ctx, timeout=10)
        assert response.read() == BODY
        assert len(ctx.made) == 2 and all(isinstance(s, NativeTLSSocket) for s in ctx.made)
        wrong = client_context(pki.untrusted_ca)
        conn = httplib.HTTPSConnection("localhost", server.port, context=wrong, timeout=10)
        with pytest.raises(ssl.SSLError) as info:
            conn.request("GET", "/")
        assert isinstance(info.value, NativeTLSCertificateError)
        assert "certificate verify failed: " in str(info.value)
        assert getattr(info.value, "reason", None) == "CERTIFICATE_VERIFY_FAILED"


def test_http_server_over_nativetls_context(pki):
    try:
        from http.server import BaseHTTPRequestHandler, HTTPServer
    except ImportError:
        from BaseHTTPServer import BaseHTTPRequestHandler, HTTPServer

    class Hello(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)

        def log_message(self, *args):
            pass

    ctx = server_context(pki)
    httpd = HTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=httpd.handle_request)
    thread.daemon = True

    def get_request():
        conn, address = httpd.socket.accept()
        conn.settimeout(10)
        return ctx.wrap_socket(conn, server_side=True), address
    httpd.get_request = get_request
    thread.start()
    client = _peers.stdlib_client_context(ca=pki.ca)
    conn = httplib.HTTPSConnection("localhost", httpd.server_address[1], context=client, timeout=10)
    conn.request("GET", "/")
    assert conn.getresponse().read() == BODY
    conn.close()
    thread.join(10)
    httpd.server_close()
    assert isinstance(ctx.made[0], NativeTLSSocket)


def test_unverified_warns_once_per_context(pki):
    with _peers.stdlib_server(pki.server, handler=http_handler) as server:
        ctx = NativeTLSContext()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        # Python 2.7 skips a warning its caller's __warningregistry__ has seen, even under "always": an earlier
        # test (test_urllib3's) warning from the same place would hide this one.
        for module in list(sys.modules.values()):
            getattr(module, "__warningregistry__", {}).clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(2):
                conn = httplib.HTTPSConnection("localhost", server.port, context=ctx, timeout=10)
                conn.request("GET", "/")
                assert conn.getresponse().read() == BODY
                conn.close()
        ours = [w for w in caught if issubclass(w.category, nativetls.SecurityWarning)]
        assert len(ours) == 1, [str(w.message) for w in caught]


def test_unverified_urllib3_warns_only_its_own(pki):
    urllib3 = pytest.importorskip("urllib3")
    with _peers.stdlib_server(pki.server, handler=http_handler) as server:
        ctx = NativeTLSContext()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            http = urllib3.PoolManager(ssl_context=ctx, cert_reqs="CERT_NONE")
            assert http.request("GET", "https://localhost:%d/" % server.port, retries=False).data == BODY
        assert not [w for w in caught if issubclass(w.category, nativetls.SecurityWarning)]
        assert [w for w in caught if issubclass(w.category, urllib3.exceptions.InsecureRequestWarning)]


def test_keylog_filename(pki, tmp_path):
    if "keylog" not in nativetls.backend().features:
        pytest.skip("this backend cannot log key material")
    path = str(tmp_path / "keys.log")
    with _peers.stdlib_server(pki.server, handler=http_handler) as server:
        ctx = client_context(pki.ca)
        ctx.keylog_filename = path
        conn = httplib.HTTPSConnection("localhost", server.port, context=ctx, timeout=10)
        conn.request("GET", "/")
        assert conn.getresponse().read() == BODY
        conn.close()
    with open(path) as handle:
        lines = handle.read().splitlines()
    assert lines[0] == "# TLS secrets log file, generated by OpenSSL / Python"
    assert any(line.startswith(("CLIENT_RANDOM ", "CLIENT_TRAFFIC_SECRET_0 ")) for line in lines[1:]), lines
    assert ctx.keylog_filename == path and not os.environ.get("SSLKEYLOGFILE")


@pytest.mark.skipif(not hasattr(ssl, "MemoryBIO"), reason="TLS in TLS needs ssl.MemoryBIO (wrap_bio)")
def test_urllib3_and_requests_through_an_https_proxy(pki):
    urllib3 = pytest.importorskip("urllib3")
    requests = pytest.importorskip("requests")
    with _peers.stdlib_server(pki.server, handler=http_handler) as site, \
            _peers.stdlib_server(pki.server, handler=_peers.connect_proxy_handler) as proxy:
        proxy_url = "https://localhost:%d/" % proxy.port
        url = "https://localhost:%d/" % site.port
        proxy_ctx, site_ctx = client_context(pki.ca), client_context(pki.ca)
        http = urllib3.ProxyManager(proxy_url, proxy_ssl_context=proxy_ctx, ssl_context=site_ctx)
        assert http.request("GET", url, retries=False).data == BODY
        assert isinstance(proxy_ctx.made[0], NativeTLSSocket), "the proxy's TLS: nativetls over the socket"
        from nativetls.contrib._sslobject import NativeTLSObject
        assert isinstance(site_ctx.made[0], NativeTLSObject), "the site's TLS: nativetls inside it (wrap_bio)"
        wrong = urllib3.ProxyManager(proxy_url, proxy_ssl_context=client_context(pki.ca),
                                     ssl_context=client_context(pki.untrusted_ca))
        with pytest.raises(urllib3.exceptions.SSLError) as info:
            wrong.request("GET", url, retries=False)
        assert "certificate verify failed: " in str(info.value)

        contexts = []

        class Adapter(requests.adapters.HTTPAdapter):
            def proxy_manager_for(self, proxy, **kwargs):
                ctx = client_context(pki.ca)
                contexts.append(ctx)
                kwargs["proxy_ssl_context"] = kwargs["ssl_context"] = ctx
                return super(Adapter, self).proxy_manager_for(proxy, **kwargs)
        session = requests.Session()
        session.mount("https://", Adapter())
        response = session.get(url, proxies={"https": proxy_url})
        assert response.content == BODY
        assert [type(o).__name__ for o in contexts[0].made] == ["NativeTLSSocket", "NativeTLSObject"]


def _bio_pair(pki):
    """A NativeTLSObject client and a stdlib ssl.SSLObject server over MemoryBIOs, handshaken; returns
    (client, client's incoming BIO, server, server's incoming BIO, pump) where pump() moves the bytes both ways."""
    client_in, client_out, server_in, server_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_context(pki.ca).wrap_bio(client_in, client_out, server_hostname="localhost")
    server = _peers.stdlib_server_context(pki.server).wrap_bio(server_in, server_out, server_side=True)

    def pump():
        server_in.write(client_out.read())
        client_in.write(server_out.read())
    for _ in range(10):
        for side in (client, server):
            try:
                side.do_handshake()
            except ssl.SSLWantReadError:
                pass
        pump()
    assert client.version() and server.version()
    return client, client_in, server, server_in, pump


def _read_all(tls):
    data = b""
    try:
        while True:
            chunk = tls.read(65536)
            if not chunk:
                return data, True
            data += chunk
    except ssl.SSLWantReadError:
        return data, False


@pytest.mark.skipif(not hasattr(ssl, "MemoryBIO"), reason="wrap_bio needs ssl.MemoryBIO (Python 3)")
def test_wrap_bio_end_of_stream_as_ssl_object(pki):
    # docs/integrations.md: after close_notify read() returns b"", as ssl.SSLObject; an EOF without it raises
    # SSLEOFError (also a nativetls error, with the RaggedEOF as its cause).
    client, _client_in, server, _server_in, pump = _bio_pair(pki)
    assert isinstance(client, NativeTLSObject)
    server.write(b"last words")
    try:
        server.unwrap()
    except ssl.SSLWantReadError:
        pass
    pump()
    assert _read_all(client) == (b"last words", True)

    client, client_in, server, _server_in, pump = _bio_pair(pki)
    server.write(b"cut")
    pump()
    client_in.write_eof()
    with pytest.raises(ssl.SSLEOFError) as info:
        _read_all(client)
    assert isinstance(info.value, nativetls.TLSError) and isinstance(info.value.nativetls_error, nativetls.RaggedEOF)
