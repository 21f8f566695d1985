# -*- coding: utf-8 -*-
"""The SecureTransport backend's behaviour: on macOS against the real frameworks, elsewhere against the
SecureTransport double (``tests/mac/double/``, loaded through ``NATIVETLS_MAC_FRAMEWORKS``).

The peers are real: the OpenSSL backend in the same process over an in-memory wire (deterministic), and
``openssl s_server``/``gnutls-serv`` over loopback sockets. Handshakes with verification (good, untrusted, wrong
host, expired, custom trust store), client certificates both ways, ALPN on the client, SNI switching on the
server, resumption, clean shutdown and ragged EOFs; after each test no keychain directory is left.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import os
import socket
import sys

import pytest

import nativetls
from nativetls import (
    CertificateVerificationError, ConfigurationError, NextProtocol, RaggedEOF, TLSConfiguration, TLSError,
    TLSVersion,
)
from _tls import chain_of, drive_read, handshake, handshake_bytewise, pump, trust_of
from _peers import require_tool
import _mac_double
import _peers
from test_server import NativeServer, reply_once


def _double_path():
    """The double named by the environment, or None."""
    return os.environ.get("NATIVETLS_MAC_FRAMEWORKS") or None


def _load():
    if sys.platform != "darwin" and not _double_path():
        pytest.skip("needs macOS, or NATIVETLS_MAC_FRAMEWORKS naming the SecureTransport double "
                    "(tests/mac/double/; the tox env that builds it sets it)")
    try:
        return nativetls.backend("securetransport")
    except ImportError as exc:
        pytest.fail("the securetransport backend did not load: %s" % exc)


@pytest.fixture(scope="module")
def mac():
    return _load()


@pytest.fixture(scope="module")
def ossl():
    return nativetls.backend("openssl")


@pytest.fixture(autouse=True)
def nothing_left(request):
    """Every test of the backend leaves nothing behind (``_mac_double.nothing_left``: keychains, CF objects)."""
    if "mac" not in request.fixturenames:
        yield
        return
    with _mac_double.nothing_left():
        yield


def _client(backend, pki, **fields):
    fields.setdefault("trust_store", trust_of(pki.ca))
    return backend.client_context(TLSConfiguration(**fields))


def _server(backend, pki, credential=None, **fields):
    fields.setdefault("certificate_chain", chain_of(credential or pki.server))
    return backend.server_context(TLSConfiguration(**fields))


def _pair(client_ctx, server_ctx, host="localhost", session=None):
    client = client_ctx.wrap_buffers(host, session=session)
    server = server_ctx.wrap_buffers()
    return client, server


def test_backend_reports_what_securetransport_can(mac):
    assert mac.name == "securetransport"
    assert "tls1_3" not in mac.features and TLSVersion.TLSv1_3 not in mac.supported_versions
    assert TLSVersion.TLSv1_2 in mac.supported_versions and "keylog" not in mac.features


@pytest.mark.parametrize("sides", ["mac-mac", "mac-openssl", "openssl-mac"])
def test_handshake_and_data(mac, ossl, pki, sides):
    client_backend, server_backend = [{"mac": mac, "openssl": ossl}[s] for s in sides.split("-")]
    server_ctx = _server(server_backend, pki, highest_supported_version=TLSVersion.TLSv1_2)
    client_ctx = _client(client_backend, pki)
    client, server = _pair(client_ctx, server_ctx)
    handshake(client, server)
    for side in (client, server):
        assert side.negotiated_tls_version is TLSVersion.TLSv1_2
        assert isinstance(side.cipher(), nativetls.CipherSuite)
    assert client.cipher() == server.cipher()
    assert (("commonName", "localhost"),) in client.getpeercert()["subject"]
    assert client.getpeercertchain()[0] == pki.server.cert_der
    assert client.write(b"x" * 40000) == 40000
    pump(client, server)
    received = b""
    while len(received) < 40000:
        received += drive_read(server, client)
    assert received == b"x" * 40000
    server.write(b"pong")
    pump(client, server)
    assert drive_read(client, server) == b"pong"
    client.shutdown()
    pump(client, server)
    assert drive_read(server, client) == b""
    server.shutdown()
    pump(client, server)
    for obj in (client, server, client_ctx, server_ctx):
        obj.close()


@pytest.mark.parametrize("credential,host,reason", [
    ("untrusted", "localhost", "untrusted_root"),
    ("wrong_host", "localhost", "hostname_mismatch"),
    ("expired", "localhost", "expired"),
    ("self_signed", "localhost", "self_signed"),
])
def test_verification_failures(mac, ossl, pki, credential, host, reason):
    server_ctx = _server(ossl, pki, getattr(pki, credential), highest_supported_version=TLSVersion.TLSv1_2)
    client_ctx = _client(mac, pki)
    client, server = _pair(client_ctx, server_ctx, host)
    with pytest.raises(CertificateVerificationError) as info:
        handshake(client, server)
    assert info.value.reason == reason
    # The rejection reached the server as an alert, not as silence.
    with pytest.raises(TLSError):
        pump(client, server)
        server.do_handshake()
    client_ctx.close()


def test_custom_trust_store_replaces_the_system_one(mac, ossl, pki):
    server_ctx = _server(ossl, pki, pki.untrusted, highest_supported_version=TLSVersion.TLSv1_2)
    client_ctx = _client(mac, pki, trust_store=trust_of(pki.untrusted_ca))
    client, server = _pair(client_ctx, server_ctx)
    handshake(client, server)
    assert client.negotiated_tls_version is TLSVersion.TLSv1_2
    other = _client(mac, pki)  # trusts only pki.ca
    client, server = _pair(other, server_ctx)
    with pytest.raises(CertificateVerificationError):
        handshake(client, server)


def test_ip_address_is_checked_and_not_sent_as_sni(mac, ossl, pki):
    seen = []

    def callback(buffer, name, configuration):
        seen.append(name)
        return configuration
    server_ctx = _server(ossl, pki, pki.ip_only, highest_supported_version=TLSVersion.TLSv1_2, sni_callback=callback)
    client_ctx = _client(mac, pki)
    client, server = _pair(client_ctx, server_ctx, "127.0.0.1")
    handshake(client, server)
    assert seen == [None]
    client, server = _pair(client_ctx, server_ctx, "127.0.0.2")
    with pytest.raises(CertificateVerificationError) as info:
        handshake(client, server)
    assert info.value.reason == "hostname_mismatch"


@pytest.mark.parametrize("client_side", ["mac", "openssl"])
def test_client_certificates(mac, ossl, pki, client_side):
    client_backend, server_backend = (mac, ossl) if client_side == "mac" else (ossl, mac)
    server_ctx = _server(server_backend, pki, trust_store=trust_of(pki.ca),
                         highest_supported_version=TLSVersion.TLSv1_2)
    client_ctx = _client(client_backend, pki, certificate_chain=chain_of(pki.client))
    client, server = _pair(client_ctx, server_ctx)
    handshake(client, server)
    assert server.getpeercertchain()[0] == pki.client.cert_der
    # Without a certificate the server refuses.
    bare = _client(client_backend, pki)
    client, server = _pair(bare, server_ctx)
    with pytest.raises(TLSError):
        handshake(client, server)


def test_encrypted_key(mac, ossl, pki):
    chain = chain_of(pki.server, password=b"nativetls")
    server_ctx = mac.server_context(TLSConfiguration(certificate_chain=chain))
    client, server = _pair(_client(ossl, pki, highest_supported_version=TLSVersion.TLSv1_2), server_ctx)
    handshake(client, server)
    server_ctx.close()


def test_alpn_client_only(mac, ossl, pki):
    server_ctx = _server(ossl, pki, inner_protocols=[NextProtocol.H2, NextProtocol.HTTP1],
                         highest_supported_version=TLSVersion.TLSv1_2)
    client_ctx = _client(mac, pki, inner_protocols=[NextProtocol.HTTP1, NextProtocol.H2])
    client, server = _pair(client_ctx, server_ctx)
    handshake(client, server)
    assert client.negotiated_protocol() is NextProtocol.H2 and server.negotiated_protocol() is NextProtocol.H2
    with pytest.raises(ConfigurationError):
        _server(mac, pki, inner_protocols=[NextProtocol.H2])


def test_sni_switches_the_server_chain(mac, ossl, pki):
    chains = [chain_of(pki.server), chain_of(pki.wrong_host)]
    server_ctx = mac.server_context(TLSConfiguration(certificate_chain=chains))
    for host, expected in (("localhost", pki.server), ("wrong.example", pki.wrong_host)):
        client_ctx = _client(ossl, pki, highest_supported_version=TLSVersion.TLSv1_2)
        client, server = _pair(client_ctx, server_ctx, host)
        handshake(client, server)
        assert client.getpeercertchain()[0] == expected.cert_der
    seen = []

    def callback(buffer, name, configuration):
        seen.append(name)
        return configuration.update(certificate_chain=chain_of(pki.wrong_host)) if name == "other.example" else \
            configuration
    server_ctx = mac.server_context(TLSConfiguration(certificate_chain=chain_of(pki.server), sni_callback=callback))
    client, server = _pair(_client(ossl, pki, highest_supported_version=TLSVersion.TLSv1_2), server_ctx,
                           "other.example")
    with pytest.raises(CertificateVerificationError):  # wrong.example's chain, checked against other.example
        handshake(client, server)
    assert seen == ["other.example"]
    server_ctx.close()


def _close_both(client, server):
    client.shutdown()
    pump(client, server)
    assert drive_read(server, client) == b""
    server.shutdown()
    pump(client, server)
    client.close()
    server.close()


def test_resumption(mac, ossl, pki):
    server_ctx = _server(ossl, pki, highest_supported_version=TLSVersion.TLSv1_2)
    client_ctx = _client(mac, pki)
    client, server = _pair(client_ctx, server_ctx)
    handshake(client, server)
    session = client.session
    assert session is not None and not client.session_reused
    _close_both(client, server)  # a clean close: OpenSSL forgets sessions of connections freed without one
    client, server = _pair(client_ctx, server_ctx, session=session)
    handshake(client, server)
    assert client.session_reused and server.session_reused
    fresh, server = _pair(client_ctx, server_ctx)  # no session given: a full handshake
    handshake(fresh, server)
    assert not fresh.session_reused


def test_ragged_eof(mac, ossl, pki):
    client, server = _pair(_client(mac, pki), _server(ossl, pki, highest_supported_version=TLSVersion.TLSv1_2))
    handshake(client, server)
    client.process_incoming(b"")
    with pytest.raises(RaggedEOF):
        client.read()


def test_tls13_is_a_configuration_error(mac, pki):
    with pytest.raises(ConfigurationError):
        _client(mac, pki, lowest_supported_version=TLSVersion.TLSv1_3)


def _answer_from(mac, pki, peer):
    """A SecureTransport client over a loopback socket to *peer*: sends b"hello\\n", returns the answer."""
    client_ctx = _client(mac, pki)
    tls = client_ctx.wrap_socket(socket.create_connection(("127.0.0.1", peer.port)), "localhost")
    try:
        tls.sendall(b"hello\n")
        return tls.recv(100)
    finally:
        tls.close()
        client_ctx.close()


def test_against_openssl_s_server(mac, pki):
    require_tool("openssl")
    with _peers.openssl_s_server(pki.server, tls="1.2") as peer:
        assert _answer_from(mac, pki, peer) == b"olleh\n"


def test_against_gnutls_serv(mac, pki):
    require_tool("gnutls-serv")
    with _peers.gnutls_serv(pki.server, tls="1.2") as peer:
        assert _answer_from(mac, pki, peer) == b"hello\n"


@pytest.mark.parametrize("mac_side", ["client", "server"])
def test_byte_at_a_time_wire(mac, ossl, pki, mac_side):
    """MACOS.md point 1: SecureTransport asks for the 5 header bytes, then the rest of one record; every short
    answer is errSSLWouldBlock with the partial count kept. One byte per round trip exercises every split."""
    client_backend, server_backend = (mac, ossl) if mac_side == "client" else (ossl, mac)
    client = _client(client_backend, pki, highest_supported_version=TLSVersion.TLSv1_2).wrap_buffers("localhost")
    server = _server(server_backend, pki, highest_supported_version=TLSVersion.TLSv1_2).wrap_buffers()
    handshake_bytewise(client, server)
    client.write(b"ping" * 1000)
    received = b""
    while len(received) < 4000:
        byte = client.process_outgoing(1)
        if byte:
            server.process_incoming(byte)
        try:
            received += server.read()
        except nativetls.WantReadError:
            assert byte, "the server wants more, but nothing is left"
    assert received == b"ping" * 1000


def test_a_queued_write_is_not_resent(mac, ossl, pki):
    """MACOS.md point 3: write() takes all of the data once; the records appear once on the wire."""
    client, server = _pair(_client(mac, pki), _server(ossl, pki, highest_supported_version=TLSVersion.TLSv1_2))
    handshake(client, server)
    assert client.write(b"a" * 100000) == 100000
    assert client.outgoing_bytes_buffered() > 100000
    pump(client, server)
    received = b""
    while len(received) < 100000:
        received += drive_read(server, client)
    assert received == b"a" * 100000


def test_stdlib_ssl_peer(mac, pki):
    ssl = pytest.importorskip("ssl")
    from _tls import StdlibPeer
    if not hasattr(ssl, "MemoryBIO"):
        pytest.skip("this Python's ssl module has no MemoryBIO")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server.fullchain_path, pki.server.key_path)
    client_ctx = _client(mac, pki)
    client, server = client_ctx.wrap_buffers("localhost"), StdlibPeer(context, server_side=True)
    handshake(client, server)
    assert client.negotiated_tls_version is TLSVersion.TLSv1_2
    server.write(b"from stdlib")
    pump(client, server)
    assert drive_read(client, server) == b"from stdlib"
    client.close()
    client_ctx.close()


def test_server_against_openssl_s_client(mac, pki):
    """A SecureTransport server over a loopback socket, openssl s_client verifying it against the test CA."""
    require_tool("openssl")
    server_ctx = _server(mac, pki)
    try:
        with NativeServer(server_ctx, handler=reply_once) as srv:
            result = _peers.openssl_s_client(srv.port, ["-CAfile", pki.ca.cert_path, "-verify_return_error",
                                                        "-servername", "localhost", "-quiet", "-ign_eof"],
                                             input=b"hello mac\n")
            record = srv.wait(1)[0]
    finally:
        server_ctx.close()
    assert record.error is None, record
    assert b"HELLO MAC" in result.stdout, (result.stdout, result.stderr)


def test_cipher_selection(mac, ossl, pki):
    suite = nativetls.CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    client_ctx = _client(mac, pki, ciphers=[suite])
    client, server = _pair(client_ctx, _server(ossl, pki, highest_supported_version=TLSVersion.TLSv1_2))
    handshake(client, server)
    assert client.cipher() is suite and server.cipher() is suite
    with pytest.raises(ConfigurationError):  # a TLS 1.3 suite: SecureTransport has none
        _client(mac, pki, ciphers=[nativetls.CipherSuite.TLS_AES_128_GCM_SHA256])


def test_not_yet_valid(mac, ossl, pki):
    server_ctx = _server(ossl, pki, pki.not_yet_valid, highest_supported_version=TLSVersion.TLSv1_2)
    client, server = _pair(_client(mac, pki), server_ctx)
    with pytest.raises(CertificateVerificationError) as info:
        handshake(client, server)
    assert info.value.reason == "not_yet_valid" and info.value.host == "localhost"


def test_sni_callback_failure_aborts_with_its_cause(mac, ossl, pki):
    def callback(buffer, name, configuration):
        raise KeyError(name)
    server_ctx = mac.server_context(TLSConfiguration(certificate_chain=chain_of(pki.server), sni_callback=callback))
    client, server = _pair(_client(ossl, pki, highest_supported_version=TLSVersion.TLSv1_2), server_ctx)
    with pytest.raises(TLSError) as info:
        handshake(client, server)
    assert isinstance(getattr(info.value, "__cause__", None), KeyError)
    with pytest.raises(TLSError):  # the alert reached the client
        client.do_handshake()
    server_ctx.close()


def test_validate_certificates_false_still_handshakes(mac, ossl, pki):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client_ctx = mac.client_context(TLSConfiguration(validate_certificates=False))
    server_ctx = _server(ossl, pki, pki.untrusted, highest_supported_version=TLSVersion.TLSv1_2)
    client, server = _pair(client_ctx, server_ctx, "wrong.name")
    handshake(client, server)
    assert client.getpeercertchain()[0] == pki.untrusted.cert_der


def test_server_resumption(mac, ossl, pki):
    """A SecureTransport server resumes an OpenSSL client's TLS 1.2 session, and knows it did (its first flight
    carries no Certificate message)."""
    server_ctx = _server(mac, pki)
    client_ctx = _client(ossl, pki, highest_supported_version=TLSVersion.TLSv1_2)
    client, server = _pair(client_ctx, server_ctx)
    handshake(client, server)
    assert not server.session_reused
    client.write(b"x")  # TLS 1.2: the session exists once the handshake is done
    pump(client, server)
    assert drive_read(server, client) == b"x"
    session = client.session
    _close_both(client, server)
    client, server = _pair(client_ctx, server_ctx, session=session)
    handshake(client, server)
    assert client.session_reused and server.session_reused
    _close_both(client, server)
    server_ctx.close()


def test_peer_close_is_answered_by_securetransport(mac, ossl, pki):
    """MACOS.md point 4: SSLRead answers the peer's close_notify with ours; shutdown() then has nothing to add and
    write() says why it cannot send."""
    client, server = _pair(_client(ossl, pki, highest_supported_version=TLSVersion.TLSv1_2), _server(mac, pki))
    handshake(client, server)
    client.shutdown()
    pump(client, server)
    assert drive_read(server, client) == b""
    answer = server.process_outgoing()
    assert answer  # SecureTransport's own close_notify
    server.shutdown()
    assert server.outgoing_bytes_buffered() == 0
    with pytest.raises(TLSError) as info:
        server.write(b"late")
    assert "close_notify" in str(info.value)
    client.process_incoming(answer)
    assert drive_read(client, server) == b""


def test_a_minimum_version_is_always_set(mac, pki):
    """MACOS.md point 10 (backends.md: "a minimum is always set"): SecureTransport's own minimums are SSL 3
    (client) and TLS 1.0 (server); every buffer sets the configured one, TLS 1.2 by default."""
    import ctypes
    from nativetls._mac import _security as S
    from nativetls._mac._types import framework_path
    get_min = ctypes.CDLL(str(framework_path("Security"))).SSLGetProtocolVersionMin
    get_min.restype, get_min.argtypes = ctypes.c_int32, [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int32)]
    client_ctx, server_ctx = _client(mac, pki), _server(mac, pki)
    for tls in (client_ctx.wrap_buffers("localhost"), server_ctx.wrap_buffers()):
        value = ctypes.c_int32()
        assert get_min(tls._ssl.value, ctypes.byref(value)) == 0
        assert value.value == S.kTLSProtocol12
        tls.close()
    client_ctx.close()
    server_ctx.close()


def test_no_reads_after_our_own_shutdown(mac, ossl, pki):
    """MACOS.md point 4 (docs/backend-macos.md): SecureTransport cannot read after its own SSLClose, so once
    shutdown() was called read() returns b"", even while the peer still sends."""
    client, server = _pair(_client(mac, pki), _server(ossl, pki, highest_supported_version=TLSVersion.TLSv1_2))
    handshake(client, server)
    client.shutdown()
    pump(client, server)
    assert drive_read(server, client) == b""
    server.write(b"late")
    pump(client, server)
    assert client.read() == b""
    client.shutdown()  # once is enough: a second call has nothing to do


def test_a_resumed_handshake_is_verified_too(mac, ossl, pki):
    """MACOS.md point 6: no server-auth break on resumption, so nativetls verifies after the handshake: a session
    taken for localhost, resumed under another name, fails on the name."""
    server_ctx = _server(ossl, pki, highest_supported_version=TLSVersion.TLSv1_2)
    client_ctx = _client(mac, pki)
    client, server = _pair(client_ctx, server_ctx)
    handshake(client, server)
    session = client.session
    _close_both(client, server)
    client, server = _pair(client_ctx, server_ctx, "wrong.example", session=session)
    with pytest.raises(CertificateVerificationError) as info:
        handshake(client, server)
    assert info.value.reason == "hostname_mismatch"
    assert not client._broke, "the handshake did not resume, so this did not test the resumed path"
