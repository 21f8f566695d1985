"""nativetls.contrib.urllib3: urllib3 (1.26 on 2.7, 2.x on 3.x) and requests over nativetls, against a stdlib
``ssl`` HTTPS server with the session's private CA.

Both ways in are covered: ``NativeTLSContext`` passed as ``ssl_context=`` (PoolManager, requests HTTPAdapter),
and ``inject_into_urllib3()`` / ``extract_from_urllib3()``.
"""
from __future__ import absolute_import, division, print_function

import os
import socket
import ssl
import subprocess
import sys
import warnings

import pytest

import _peers

urllib3 = pytest.importorskip("urllib3")
requests = pytest.importorskip("requests")

import nativetls  # noqa: E402
from nativetls.contrib import urllib3 as contrib  # noqa: E402
from nativetls.contrib._sslcompat import _PERMISSIVE_SPECS, resolve_cipher_string  # noqa: E402
from nativetls.contrib.urllib3 import (NativeTLSCertificateError, NativeTLSContext, NativeTLSError,  # noqa: E402
                                       NativeTLSSocket, extract_from_urllib3, inject_into_urllib3)

URLLIB3_2 = int(urllib3.__version__.split(".")[0]) >= 2
BODY = b"hello over nativetls"
SSL_TLSVERSION = getattr(ssl, "TLSVersion", None)


def http_handler(body=BODY):
    """A stdlib_server handler answering one HTTP request (Connection: close), then closing cleanly."""
    def handler(conn, record):
        record.received += _peers.recv_until(conn, b"\r\n\r\n")
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n"
                     b"\r\n%s" % (len(body), body))
    return handler


@pytest.fixture
def https_server(pki):
    with _peers.stdlib_server(pki.server, handler=http_handler(), alpn=["http/1.1"]) as server:
        yield server


@pytest.fixture
def spy(monkeypatch):
    """Records every NativeTLSSocket made through NativeTLSContext.wrap_socket."""
    sockets = []
    original = NativeTLSContext.wrap_socket

    def wrap_socket(self, *args, **kwargs):
        sock = original(self, *args, **kwargs)
        sockets.append(sock)
        return sock
    monkeypatch.setattr(NativeTLSContext, "wrap_socket", wrap_socket)
    return sockets


@pytest.fixture
def injected():
    inject_into_urllib3()
    try:
        yield
    finally:
        extract_from_urllib3()


def url(server, host="localhost"):
    return "https://%s:%d/" % (host, server.port)


def context_for(pki):
    ctx = NativeTLSContext()
    ctx.load_verify_locations(pki.ca.cert_path)
    return ctx


# --- ssl_context= without injection -------------------------------------------------------------------------

def test_poolmanager_with_ssl_context(pki, https_server, spy):
    http = urllib3.PoolManager(ssl_context=context_for(pki))
    response = http.request("GET", url(https_server), retries=False)
    assert response.status == 200
    assert response.data == BODY
    assert len(spy) == 1 and isinstance(spy[0], NativeTLSSocket)
    record = https_server.wait_for_connections(1)[0]
    assert record.error is None, record
    assert record.alpn == "http/1.1"
    assert record.server_name == "localhost"
    assert record.clean_close, "closing the connection sends close_notify"
    assert not contrib.is_injected()


def test_socket_answers_like_ssl(pki, https_server):
    ctx = context_for(pki)
    ctx.set_alpn_protocols(["http/1.1"])
    raw = socket.create_connection(https_server.address, timeout=10)
    sock = ctx.wrap_socket(raw, server_hostname="localhost")
    try:
        version = sock.version()
        assert version in ("TLSv1.2", "TLSv1.3")
        name, protocol, bits = sock.cipher()
        assert protocol == sock.version() and bits in (128, 256) and name
        assert sock.selected_alpn_protocol() == "http/1.1"
        cert = sock.getpeercert()
        assert ("DNS", "localhost") in cert["subjectAltName"]
        assert sock.getpeercert(binary_form=True) == pki.server.cert_der
        assert sock.context is ctx
        assert sock.fileno() >= 0 and sock.server_hostname == "localhost"
        sock.settimeout(5)
        assert sock.gettimeout() == 5
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"HTTP/1.1 200")
        reader.close()
    finally:
        sock.close()
    record = https_server.wait_for_connections(1)[0]
    assert record.version == version and record.clean_close


def test_versions_follow_the_context(pki, https_server):
    ctx = context_for(pki)
    ctx.maximum_version = SSL_TLSVERSION.TLSv1_2 if SSL_TLSVERSION else contrib.TLSVersion.TLSv1_2
    raw = socket.create_connection(https_server.address, timeout=10)
    with ctx.wrap_socket(raw, server_hostname="localhost") as sock:
        assert sock.version() == "TLSv1.2"
        assert sock.cipher()[1] == "TLSv1.2"
    assert https_server.wait_for_connections(1)[0].version == "TLSv1.2"


def test_requests_adapter_with_ssl_context(pki, https_server, spy):
    ctx = context_for(pki)

    class NativeAdapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            kwargs["ssl_context"] = ctx
            return super(NativeAdapter, self).init_poolmanager(*args, **kwargs)

    session = requests.Session()
    session.mount("https://", NativeAdapter())
    response = session.get(url(https_server))
    assert response.status_code == 200 and response.content == BODY
    assert spy and all(isinstance(s, NativeTLSSocket) for s in spy)


def test_wrong_ca_fails_with_nativetls_message(pki, https_server):
    ctx = NativeTLSContext()
    ctx.load_verify_locations(pki.untrusted_ca.cert_path)
    http = urllib3.PoolManager(ssl_context=ctx)
    with pytest.raises(urllib3.exceptions.SSLError) as info:
        http.request("GET", url(https_server), retries=False)
    assert "certificate chain does not end in a trusted root" in str(info.value)
    assert "for host localhost" in str(info.value)


def test_hostname_is_checked(pki):
    with _peers.stdlib_server(pki.wrong_host, handler=http_handler()) as server:
        http = urllib3.PoolManager(ssl_context=context_for(pki))
        with pytest.raises(urllib3.exceptions.SSLError) as info:
            http.request("GET", url(server), retries=False)
        assert "not valid for this host name" in str(info.value) and "localhost" in str(info.value)


def test_check_hostname_off_still_verifies_the_chain(pki):
    # As ssl: check_hostname=False drops only the name check; SNI is still sent and the chain still verified.
    with _peers.stdlib_server(pki.wrong_host, handler=http_handler()) as server:
        ctx = context_for(pki)
        ctx.check_hostname = False
        raw = socket.create_connection(server.address, timeout=10)
        with ctx.wrap_socket(raw, server_hostname="localhost") as sock:
            assert sock.getpeercert(True) == pki.wrong_host.cert_der
        # docs/integrations.md: on backends other than OpenSSL no SNI is sent then.
        expected_sni = "localhost" if nativetls.backend().name == "openssl" else None
        assert server.wait_for_connections(1)[0].server_name == expected_sni
    with _peers.stdlib_server(pki.untrusted, handler=http_handler()) as server:
        ctx = context_for(pki)
        ctx.check_hostname = False
        raw = socket.create_connection(server.address, timeout=10)
        with pytest.raises(NativeTLSCertificateError) as info:
            ctx.wrap_socket(raw, server_hostname="localhost")
        assert info.value.reason_code == "untrusted_root"
        assert str(info.value).startswith("certificate verify failed: ")
        assert info.value.verify_code is not None and info.value.verify_message
        assert isinstance(info.value, ssl.SSLError) and isinstance(info.value, nativetls.TLSError)


def test_urllib3_assert_hostname_and_fingerprint(pki):
    def context_for_ip(pki):
        ctx = context_for(pki)
        if not URLLIB3_2:
            ctx.check_hostname = False  # urllib3 1.26 sends no server_hostname for an IP: ssl needs this too
        return ctx

    with _peers.stdlib_server(pki.wrong_host, handler=http_handler()) as server:
        ctx = context_for_ip(pki)
        # urllib3's own check, with nativetls's check_hostname off (urllib3 turns it off for these).
        pool = urllib3.HTTPSConnectionPool("127.0.0.1", server.port, ssl_context=ctx, assert_hostname=False,
                                           retries=False)
        assert pool.request("GET", "/").status == 200
        pool = urllib3.HTTPSConnectionPool("127.0.0.1", server.port, ssl_context=context_for_ip(pki),
                                           assert_hostname="wrong.example", retries=False)
        assert pool.request("GET", "/").status == 200
        import hashlib
        fingerprint = hashlib.sha256(pki.wrong_host.cert_der).hexdigest()
        pool = urllib3.HTTPSConnectionPool("127.0.0.1", server.port, ssl_context=context_for_ip(pki),
                                           assert_fingerprint=fingerprint, retries=False)
        assert pool.request("GET", "/").status == 200


def test_hostname_checks_common_name(pki):
    with _peers.stdlib_server(pki.cn_only, handler=http_handler()) as server:
        ctx = context_for(pki)
        raw = socket.create_connection(server.address, timeout=10)
        with pytest.raises(NativeTLSCertificateError) as info:
            ctx.wrap_socket(raw, server_hostname="localhost")
        assert info.value.reason_code == "hostname_mismatch"
        if nativetls.backend().name != "openssl":  # documented: raises where it cannot be honoured
            with pytest.raises(NotImplementedError):
                ctx.hostname_checks_common_name = True
            return
        ctx.hostname_checks_common_name = True
        raw = socket.create_connection(server.address, timeout=10)
        with ctx.wrap_socket(raw, server_hostname="localhost") as sock:
            assert sock.getpeercert()["subject"]


def test_ragged_eof_is_suppressed_by_default_and_truncation_is_reported(pki):
    def read_until_close(conn, record):  # Python's HTTP servers: no Content-Length, no close_notify
        _peers.recv_until(conn, b"\r\n\r\n")
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + BODY)
        conn.shutdown(socket.SHUT_RDWR)  # ssl.SSLSocket.shutdown: the TCP shutdown, without close_notify

    def truncated(conn, record):
        _peers.recv_until(conn, b"\r\n\r\n")
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + BODY)
        conn.shutdown(socket.SHUT_RDWR)

    for handler, expect in ((read_until_close, BODY), (truncated, None)):
        with _peers.stdlib_server(pki.server, handler=handler) as server:
            http = urllib3.PoolManager(ssl_context=context_for(pki))
            if expect is not None:
                assert http.request("GET", url(server), retries=False).data == expect
            else:
                with pytest.raises(urllib3.exceptions.ProtocolError) as info:
                    http.request("GET", url(server), retries=False)
                assert "IncompleteRead" in repr(info.value)


def test_client_certificate(pki):
    with _peers.stdlib_server(pki.server, handler=http_handler(), verify_client_ca=pki.ca) as server:
        ctx = context_for(pki)
        http = urllib3.PoolManager(ssl_context=ctx, cert_file=pki.client.fullchain_path,
                                   key_file=pki.client.key_path)
        response = http.request("GET", url(server), retries=False)
        assert response.status == 200
        record = server.wait_for_connections(1)[0]
        assert record.peer_cert == pki.client.cert_der


def test_unverified_context_sends_sni_and_skips_checks(pki, https_server):
    ctx = NativeTLSContext()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(https_server.address, timeout=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nativetls.SecurityWarning)
        sock = ctx.wrap_socket(raw, server_hostname="localhost")
    with sock:
        assert sock.getpeercert() == {}, "like ssl: no parsed certificate when nothing was verified"
        assert sock.getpeercert(True) == pki.server.cert_der
    assert https_server.wait_for_connections(1)[0].server_name == "localhost"


# --- injection -----------------------------------------------------------------------------------------------

def _snapshot(package="urllib3"):
    names = [package + ".util", package + ".util.ssl_", package + ".connection", package + ".connectionpool",
             package + ".response"]
    snapshot = {}
    for name in names:
        module = sys.modules[name]
        snapshot[name] = dict((k, v) for k, v in vars(module).items() if not k.startswith("__"))
    pool = sys.modules[package + ".connectionpool"].HTTPSConnectionPool
    snapshot["ConnectionCls"] = pool.ConnectionCls
    return snapshot


def test_inject_and_extract_restore_exactly(pki, https_server, spy):
    before = _snapshot()
    assert urllib3.util.ssl_.SSLContext is ssl.SSLContext
    inject_into_urllib3()
    try:
        assert contrib.is_injected()
        assert urllib3.util.ssl_.SSLContext is NativeTLSContext
        assert urllib3.util.SSLContext is NativeTLSContext
        inject_into_urllib3()  # idempotent
        http = urllib3.PoolManager(ca_certs=pki.ca.cert_path)
        response = http.request("GET", url(https_server), retries=False)
        assert response.status == 200 and response.data == BODY
        assert len(spy) == 1
    finally:
        extract_from_urllib3()
    assert not contrib.is_injected()
    assert _snapshot() == before
    # And urllib3 is back on the stdlib ssl module.
    http = urllib3.PoolManager(ca_certs=pki.ca.cert_path)
    assert http.request("GET", url(https_server), retries=False).status == 200
    assert len(spy) == 1


def test_requests_with_injection(pki, https_server, injected, spy):
    response = requests.get(url(https_server), verify=pki.ca.cert_path)
    assert response.status_code == 200 and response.content == BODY
    assert spy and isinstance(spy[0], NativeTLSSocket)


def test_requests_with_injection_wrong_ca(pki, https_server, injected):
    with pytest.raises(requests.exceptions.SSLError) as info:
        requests.get(url(https_server), verify=pki.untrusted_ca.cert_path)
    assert "certificate chain does not end in a trusted root" in str(info.value)


def test_injection_reaches_pip_vendored_urllib3():
    vendored = pytest.importorskip("pip._vendor.urllib3.util.ssl_")
    original = vendored.SSLContext
    inject_into_urllib3()
    try:
        assert vendored.SSLContext is NativeTLSContext
        assert contrib.is_injected("pip._vendor.urllib3")
    finally:
        extract_from_urllib3()
    assert vendored.SSLContext is original


def test_nothing_is_patched_at_import():
    here = os.path.dirname(os.path.dirname(os.path.abspath(nativetls.__file__)))
    code = ("import sys; sys.path.insert(0, %r); import ssl, urllib3.util.ssl_ as s; "
            "import nativetls.contrib.urllib3; assert s.SSLContext is ssl.SSLContext; print('ok')" % here)
    assert subprocess.check_output([sys.executable, "-c", code]).strip() == b"ok"


# --- the context on its own ----------------------------------------------------------------------------------

def test_context_defaults_verify():
    ctx = NativeTLSContext()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname is True
    with pytest.raises(ValueError):
        ctx.verify_mode = ssl.CERT_NONE  # as ssl: not while check_hostname is on
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.check_hostname = True
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert isinstance(ctx, ssl.SSLContext), "a real ssl.SSLContext subclass"
    server = NativeTLSContext(getattr(ssl, "PROTOCOL_TLS_SERVER", 17))
    assert server.verify_mode == ssl.CERT_NONE and server.check_hostname is False, "ssl's server defaults"
    with pytest.raises(ValueError):
        NativeTLSContext(12345)
    with pytest.raises(ValueError):
        ctx.wrap_socket(socket.socket(), server_side=True)  # a client context
    with pytest.raises(ValueError):
        ctx.wrap_socket(socket.socket(), server_hostname=None)  # check_hostname needs a name


def test_context_versions_accept_ssl_values():
    ctx = NativeTLSContext()
    assert int(ctx.minimum_version) == 0x0303
    if SSL_TLSVERSION is not None:
        ctx.minimum_version = SSL_TLSVERSION.TLSv1_3
        assert ctx.minimum_version == SSL_TLSVERSION.TLSv1_3
        ctx.minimum_version = SSL_TLSVERSION.MINIMUM_SUPPORTED
    ctx.maximum_version = nativetls.TLSVersion.TLSv1_2
    assert int(ctx.maximum_version) == 0x0303
    assert ctx._configuration().highest_supported_version is nativetls.TLSVersion.TLSv1_2
    assert ctx._configuration().lowest_supported_version is None, "MINIMUM_SUPPORTED keeps nativetls's TLS 1.2"
    ctx.options |= getattr(ssl, "OP_NO_TLSv1_2", 0x8000000)
    with pytest.raises(NativeTLSError):
        ctx._configuration()
    with pytest.raises(ValueError):
        ctx.minimum_version = 12345


def test_set_ciphers_never_weakens():
    urllib3_126_default = ("ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:ECDH+AESGCM:DH+AESGCM:ECDH+AES:"
                           "DH+AES:RSA+AESGCM:RSA+AES:!aNULL:!eNULL:!MD5:!DSS")
    assert getattr(urllib3.util.ssl_, "DEFAULT_CIPHERS", urllib3_126_default) == urllib3_126_default
    # Every backend takes these as "the defaults" (on OpenSSL because OpenSSL says they allow all of them).
    assert urllib3_126_default in _PERMISSIVE_SPECS
    for spec in _PERMISSIVE_SPECS:
        assert resolve_cipher_string(spec) is None, spec
    openssl = nativetls.backend().name == "openssl"
    narrowed = resolve_cipher_string("ECDHE-RSA-AES128-GCM-SHA256" if openssl else
                                     "TLS_AES_128_GCM_SHA256:TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
    suites = [nativetls.CipherSuite(v) for v in narrowed]
    assert nativetls.CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 in suites
    assert all(0x1300 <= v <= 0x13FF for v in narrowed if v != 0xC02F), "TLS 1.3 suites stay"
    for weak in ("AES128-SHA", "NULL", "aNULL", "RC4"):
        with pytest.raises(NativeTLSError):
            resolve_cipher_string(weak)
    ctx = NativeTLSContext()
    ctx.set_ciphers(urllib3_126_default)
    assert ctx._configuration().ciphers is None


def test_narrowed_ciphers_are_used(pki, https_server):
    ctx = context_for(pki)
    ctx.maximum_version = contrib.TLSVersion.TLSv1_2
    # Not the first suite of the default list; OpenSSL 1.0.2 has no ChaCha20, so AES-128-GCM there.
    suite, bits = "ECDHE-RSA-CHACHA20-POLY1305", 256
    if nativetls.backend().name == "openssl":
        from nativetls._openssl._lowlevel import VERSION
        if VERSION < 0x10100000:
            suite, bits = "ECDHE-RSA-AES128-GCM-SHA256", 128
    else:  # IANA names there (see resolve_cipher_string)
        suite, bits = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 128
    ctx.set_ciphers(suite)
    raw = socket.create_connection(https_server.address, timeout=10)
    with ctx.wrap_socket(raw, server_hostname="localhost") as sock:
        assert sock.cipher()[0] == suite
        assert sock.cipher()[2] == bits


def test_load_verify_locations_forms(pki, tmp_path):
    pem = pki.ca.cert_pem.decode("ascii")
    ctx = NativeTLSContext()
    ctx.load_verify_locations(cadata=pem)
    ctx.load_verify_locations(cadata=pki.ca.cert_der + pki.untrusted_ca.cert_der)
    ctx.load_verify_locations(cafile=pki.ca.cert_path)  # duplicates are dropped
    capath = str(tmp_path)
    with open(os.path.join(capath, "a.0"), "wb") as handle:
        handle.write(pki.intermediate.cert_pem)
    with open(os.path.join(capath, "README"), "w") as handle:
        handle.write("not a certificate")
    ctx.load_verify_locations(capath=capath)
    trusted = ctx._configuration().trust_store.certificates
    assert [c.to_der() for c in trusted] == [pki.ca.cert_der, pki.untrusted_ca.cert_der, pki.intermediate.cert_der]
    with pytest.raises(TypeError):
        ctx.load_verify_locations()
    with pytest.raises(NativeTLSError):
        ctx.load_verify_locations(cadata=b"\x30\x03abc")


def test_attributes_urllib3_touches():
    ctx = NativeTLSContext()
    ctx.options |= 0x4000  # OP_NO_TICKET
    ctx.verify_flags |= 0x20 | 0x80000
    ctx.post_handshake_auth = True
    ctx.keylog_filename = None
    ctx.hostname_checks_common_name = False
    ctx.load_default_certs()
    ctx.set_default_verify_paths()
    assert ctx._configuration().trust_store is None, "system store"
    with pytest.raises(ValueError):
        ctx.verify_flags = 0x4  # VERIFY_CRL_CHECK_LEAF: cannot be honoured, so refused


def test_verify_flags_can_clear_x509_strict(pki, cert_factory):
    if nativetls.backend().name != "openssl":
        with pytest.raises(NotImplementedError):
            NativeTLSContext().verify_flags = 0
        return
    from cryptography import x509
    from _certs import make_key
    # trustme's CN-only certificates: an empty, critical SAN (X509_STRICT rejects it).
    from cryptography.x509.oid import ExtensionOID
    key = make_key()
    empty_san = x509.UnrecognizedExtension(ExtensionOID.SUBJECT_ALTERNATIVE_NAME, b"\x30\x00")  # SEQUENCE {}
    exts = [(x509.BasicConstraints(ca=False, path_length=None), True), (empty_san, True)]
    try:
        leaf = cert_factory._build(cert_factory._name("localhost"), pki.intermediate, key, exts, "sha256", None,
                                   None, "empty_san")
    except ValueError as exc:
        pytest.skip("this cryptography cannot build an empty SAN: %s" % exc)
    with _peers.stdlib_server(leaf, handler=http_handler()) as server:
        ctx = context_for(pki)
        ctx.check_hostname = False
        raw = socket.create_connection(server.address, timeout=10)
        with pytest.raises(NativeTLSCertificateError):
            ctx.wrap_socket(raw, server_hostname="localhost")
        ctx.verify_flags &= ~0x20  # VERIFY_X509_STRICT
        assert not ctx.verify_flags & 0x20
        raw = socket.create_connection(server.address, timeout=10)
        with ctx.wrap_socket(raw, server_hostname="localhost") as sock:
            assert sock.getpeercert(True) == leaf.cert_der
