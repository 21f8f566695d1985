# -*- coding: utf-8 -*-
"""The nativetls client against other TLS implementations: ``openssl s_server`` (TLS 1.3-only, TLS 1.2-only,
ALPN, client certificates), ``gnutls-serv`` and the stdlib ``ssl`` module (over sockets, and in memory against
``ssl.SSLObject`` on Python 3). Also resumption, SNI, cipher selection, version bounds and SSLKEYLOGFILE.

Each server is started per test on an ephemeral port; the session PKI (``pki``) supplies the certificates.
"""
from __future__ import absolute_import, division, print_function

import re
import socket
import ssl

import pytest

import _peers
import nativetls
from _tls import StdlibPeer, chain_of, client_context, handshake, drive_read, pump
from _peers import require_tool
from nativetls import (CipherSuite, ConfigurationError, NextProtocol, RaggedEOF, TLSError, TLSVersion,
                       CertificateVerificationError)

WAIT = 10.0
VERSIONS = {"1.2": TLSVersion.TLSv1_2, "1.3": TLSVersion.TLSv1_3}
needs_memory_bio = pytest.mark.skipif(not hasattr(ssl, "MemoryBIO"),
                                      reason="Python 2.7's ssl module has no MemoryBIO/SSLObject for in-memory peers")


def _connect(ctx, server, hostname="localhost", **kwargs):
    sock = socket.create_connection(server.address, timeout=WAIT)
    try:
        return ctx.wrap_socket(sock, hostname, **kwargs)
    except BaseException:
        sock.close()
        raise


def _recv_line(tls):
    data = b""
    while not data.endswith(b"\n"):
        chunk = tls.recv(4096)
        assert chunk, "the server closed before a full line arrived: %r" % data
        data += chunk
    return data


def _rev_roundtrip(tls, line=b"nativetls\n"):
    """One line through ``openssl s_server -rev`` (it answers each line reversed)."""
    tls.sendall(line)
    assert _recv_line(tls) == line[:-1][::-1] + b"\n"


def _echo_roundtrip(tls, line=b"nativetls\n"):
    tls.sendall(line)
    assert _recv_line(tls) == line


@pytest.fixture
def openssl_peer(pki):
    """A factory of ``openssl s_server -rev`` context managers serving pki.server."""
    require_tool("openssl")
    return lambda **kwargs: _peers.openssl_s_server(pki.server, **kwargs)


# --- openssl s_server ----------------------------------------------------------------------------------

@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_openssl_single_version_server(pki, openssl_peer, tls):
    ctx = client_context(pki)
    with openssl_peer(tls=tls) as server:
        with _connect(ctx, server) as conn:
            assert conn.negotiated_tls_version is VERSIONS[tls]
            assert isinstance(conn.cipher(), CipherSuite)
            assert conn.negotiated_protocol() is None
            assert conn.getpeercertchain() == [pki.server.cert_der, pki.intermediate.cert_der]
            _rev_roundtrip(conn)
        assert server.wait_for_output(r"Protocol version: %s" % re.escape(VERSIONS[tls].value))
        assert server.wait_for_output(r"CONNECTION CLOSED")


def test_openssl_alpn_server_preference_h2(pki, openssl_peer):
    ctx = client_context(pki, inner_protocols=[NextProtocol.H2, NextProtocol.HTTP1])
    with openssl_peer(alpn=["h2"]) as server:
        with _connect(ctx, server) as conn:
            assert conn.negotiated_protocol() is NextProtocol.H2
            _rev_roundtrip(conn)


def test_openssl_alpn_offered_in_client_order(pki, openssl_peer):
    """s_server picks the first of *its* list that the client offers, whatever the client's order."""
    ctx = client_context(pki, inner_protocols=[b"http/1.1", b"h2"])
    with openssl_peer(alpn=["h2", "http/1.1"]) as server:
        with _connect(ctx, server) as conn:
            assert conn.negotiated_protocol() is NextProtocol.H2


def test_openssl_alpn_disjoint_lists_alert(pki, openssl_peer):
    """s_server answers a ClientHello without a common protocol with a no_application_protocol alert."""
    ctx = client_context(pki, inner_protocols=[NextProtocol.HTTP1])
    with openssl_peer(alpn=["h2"]) as server:
        with pytest.raises(TLSError) as info:
            _connect(ctx, server)
        assert not isinstance(info.value, CertificateVerificationError)
        assert "no application protocol" in str(info.value).lower()
        assert server.wait_for_output(r"no application protocol")


def test_openssl_alpn_server_without_alpn(pki, openssl_peer):
    ctx = client_context(pki, inner_protocols=[NextProtocol.H2])
    with openssl_peer() as server:
        with _connect(ctx, server) as conn:
            assert conn.negotiated_protocol() is None
            _rev_roundtrip(conn)


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_openssl_client_certificate_accepted(pki, openssl_peer, tls):
    ctx = client_context(pki, certificate_chain=chain_of(pki.client))
    with openssl_peer(tls=tls, verify_client_ca=pki.ca) as server:
        with _connect(ctx, server) as conn:
            _rev_roundtrip(conn)
        assert server.wait_for_output(r"Peer certificate: [^\n]*CN = nativetls test client")
        # s_server prints the verification result a few lines after the peer certificate: wait for it too
        assert server.wait_for_output(r"Verification: OK"), server.output()


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_openssl_client_certificate_missing(pki, openssl_peer, tls):
    """s_server -Verify requires a client certificate. In TLS 1.2 the handshake fails; in TLS 1.3 the client's
    handshake completes before the server has judged its (empty) Certificate, so the failure (the server's
    certificate_required alert) surfaces at the first read."""
    ctx = client_context(pki)
    with openssl_peer(tls=tls, verify_client_ca=pki.ca) as server:
        with pytest.raises(TLSError) as info:
            conn = _connect(ctx, server)
            try:
                conn.recv(100)  # nothing sent: no RST can overtake the server's alert
            finally:
                conn.close()
        assert not isinstance(info.value, (RaggedEOF, CertificateVerificationError))
        assert server.wait_for_output(r"peer did not return a certificate|CONNECTION FAILURE")


def _encrypted_client_chain(pki, password, traditional=False):
    path = pki.client.encrypted_key_path(b"correct horse", traditional=traditional)
    key = nativetls.PrivateKey.from_file(path, password=password)
    assert key.is_encrypted
    return nativetls.SigningChain((nativetls.Certificate.from_buffer(pki.client.cert_pem), key),
                                  [nativetls.Certificate.from_buffer(pki.intermediate.cert_pem)])


@pytest.mark.parametrize("password", [b"correct horse", u"correct horse", lambda: b"correct horse",
                                      lambda: u"correct horse"], ids=["bytes", "str", "callable", "callable-str"])
def test_openssl_client_certificate_with_encrypted_key(pki, openssl_peer, password):
    ctx = client_context(pki, certificate_chain=_encrypted_client_chain(pki, password))
    with openssl_peer(verify_client_ca=pki.ca) as server:
        with _connect(ctx, server) as conn:
            _rev_roundtrip(conn)
        assert server.wait_for_output(r"Peer certificate: [^\n]*CN = nativetls test client")


def test_openssl_client_certificate_with_traditional_encrypted_key(pki, openssl_peer):
    chain = _encrypted_client_chain(pki, u"correct horse", traditional=True)
    ctx = client_context(pki, certificate_chain=chain)
    with openssl_peer(tls="1.2", verify_client_ca=pki.ca) as server:
        with _connect(ctx, server) as conn:
            _rev_roundtrip(conn)
        assert server.wait_for_output(r"Peer certificate: [^\n]*CN = nativetls test client")


def test_encrypted_key_wrong_password_fails_at_context_creation(pki):
    with pytest.raises(ConfigurationError):
        client_context(pki, certificate_chain=_encrypted_client_chain(pki, b"wrong password"))
    with pytest.raises(ConfigurationError):
        client_context(pki, certificate_chain=_encrypted_client_chain(pki, lambda: u"also wrong"))


# --- gnutls-serv and the stdlib server ------------------------------------------------------------------

@pytest.mark.parametrize("tls", [None, "1.2", "1.3"])
def test_gnutls_server(pki, tls):
    require_tool("gnutls-serv")
    ctx = client_context(pki)
    with _peers.gnutls_serv(pki.server, tls=tls) as server:
        with _connect(ctx, server) as conn:
            if tls:
                assert conn.negotiated_tls_version is VERSIONS[tls]
            else:
                assert conn.negotiated_tls_version is (TLSVersion.TLSv1_3 if "tls1_3" in nativetls.backend().features
                                                       else TLSVersion.TLSv1_2)
            assert conn.getpeercertchain() == [pki.server.cert_der, pki.intermediate.cert_der]
            _echo_roundtrip(conn, b"hello gnutls\n")
        assert server.wait_for_output(r"Given server name\[1\]: localhost")  # our SNI


def test_gnutls_server_alpn(pki):
    require_tool("gnutls-serv")
    ctx = client_context(pki, inner_protocols=[NextProtocol.H2, NextProtocol.HTTP1])
    with _peers.gnutls_serv(pki.server, alpn=["http/1.1"]) as server:
        with _connect(ctx, server) as conn:
            assert conn.negotiated_protocol() is NextProtocol.HTTP1
            _echo_roundtrip(conn)


def test_gnutls_server_client_certificate(pki):
    require_tool("gnutls-serv")
    ctx = client_context(pki, certificate_chain=chain_of(pki.client))
    with _peers.gnutls_serv(pki.server, verify_client_ca=pki.ca) as server:
        with _connect(ctx, server) as conn:
            _echo_roundtrip(conn)
        assert server.wait_for_output(r"nativetls test client")


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_stdlib_server(pki, tls):
    ctx = client_context(pki)
    with _peers.stdlib_server(pki.server, tls=tls) as server:
        with _connect(ctx, server) as conn:
            version = conn.negotiated_tls_version
            _echo_roundtrip(conn)
        record = server.wait_for_connections(1)[0]
    assert record.error is None and record.clean_close
    assert version is VERSIONS[tls] and record.version == version.value
    assert record.received == b"nativetls\n"


# --- session resumption -----------------------------------------------------------------------------------

def _resume(ctx, server, roundtrip):
    first = _connect(ctx, server)
    try:
        assert first.session_reused is False
        roundtrip(first)  # TLS 1.3: the tickets arrive after the handshake and are read here
        session = first.session
        assert isinstance(session, nativetls.TLSSession)
    finally:
        first.close()
    second = _connect(ctx, server, session=session)
    try:
        reused = second.session_reused
        roundtrip(second)
    finally:
        second.close()
    return reused


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_resumption_with_openssl_server(pki, openssl_peer, tls):
    ctx = client_context(pki)
    with openssl_peer(tls=tls) as server:
        assert _resume(ctx, server, _rev_roundtrip) is True


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_resumption_with_stdlib_server(pki, tls):
    ctx = client_context(pki)
    with _peers.stdlib_server(pki.server, tls=tls) as server:
        assert _resume(ctx, server, _echo_roundtrip) is True
        records = server.wait_for_connections(2)
    assert [r.error for r in records] == [None, None]


def test_resumption_without_session_is_a_full_handshake(pki, openssl_peer):
    ctx = client_context(pki)
    with openssl_peer() as server:
        for _ in range(2):
            with _connect(ctx, server) as conn:
                _rev_roundtrip(conn)
                assert conn.session_reused is False


@pytest.mark.needs("tls1_3")  # TLS 1.3 by name
def test_session_from_another_context_is_not_reused_for_another_server(pki, openssl_peer):
    """A session is only resumed by the server that issued it: another s_server process does a full handshake."""
    ctx = client_context(pki)
    with openssl_peer(tls="1.3") as first_server:
        with _connect(ctx, first_server) as conn:
            _rev_roundtrip(conn)
            session = conn.session
    with openssl_peer(tls="1.3") as second_server:
        with _connect(ctx, second_server, session=session) as conn:
            _rev_roundtrip(conn)
            assert conn.session_reused is False


# --- SNI, ciphers, versions ----------------------------------------------------------------------------------

@pytest.mark.parametrize("hostname, expected", [("localhost", "localhost"), ("LocalHost.", "LocalHost"),
                                                ("127.0.0.1", None), (None, None)])
def test_sni_is_sent(pki, stdlib_server, hostname, expected):
    """RFC 6066: the name as ASCII without the trailing dot (case kept, as ssl does); never an IP address."""
    ctx = client_context(pki)
    with _connect(ctx, stdlib_server, hostname=hostname) as conn:
        _echo_roundtrip(conn)
    record = stdlib_server.wait_for_connections(1)[0]
    assert record.error is None
    assert record.server_name == expected


@pytest.mark.parametrize("tls, suite", [
    ("1.2", CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
    ("1.2", CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
    ("1.3", CipherSuite.TLS_CHACHA20_POLY1305_SHA256),
    ("1.3", CipherSuite.TLS_AES_128_GCM_SHA256),
])
def test_cipher_selection_against_openssl(pki, openssl_peer, tls, suite):
    ctx = client_context(pki, ciphers=[suite])
    with openssl_peer() as server:  # the server allows both versions and every default suite
        with _connect(ctx, server) as conn:
            assert conn.cipher() == suite
            assert conn.cipher() is suite
            assert conn.negotiated_tls_version is VERSIONS[tls]
            _rev_roundtrip(conn)
        match = server.wait_for_output(r"Ciphersuite: (\S+)")
    assert match
    if tls == "1.3":  # OpenSSL's TLS 1.3 names are the IANA names
        assert match.group(1) == suite.name


@pytest.mark.needs("tls1_3")  # TLS 1.3 by name
def test_cipher_selection_as_int_against_stdlib(pki, stdlib_server):
    ctx = client_context(pki, ciphers=[0x1303], lowest_supported_version=TLSVersion.TLSv1_3)
    with _connect(ctx, stdlib_server) as conn:
        assert conn.cipher() is CipherSuite.TLS_CHACHA20_POLY1305_SHA256
        _echo_roundtrip(conn)
    assert stdlib_server.wait_for_connections(1)[0].cipher == "TLS_CHACHA20_POLY1305_SHA256"


def test_cipher_the_library_lacks_is_a_configuration_error(pki):
    # No OpenSSL has ARIA in CBC mode (1.1.1+ have ARIA-GCM; 1.0.2 builds with Kerberos still have the KRB5
    # suites): building the configuration is fine, making the context is not.
    configuration = nativetls.TLSConfiguration(ciphers=[CipherSuite.TLS_RSA_WITH_ARIA_128_CBC_SHA256])
    with pytest.raises(ConfigurationError) as info:
        nativetls.ClientContext(configuration)
    assert "TLS_RSA_WITH_ARIA_128_CBC_SHA256" in str(info.value)


@pytest.mark.parametrize("server_tls, bounds", [
    ("1.3", dict(highest_supported_version=TLSVersion.TLSv1_2)),
    ("1.2", dict(lowest_supported_version=TLSVersion.TLSv1_3)),
])
def test_version_mismatch_with_openssl_is_a_tls_error(pki, openssl_peer, server_tls, bounds):
    ctx = client_context(pki, **bounds)
    with openssl_peer(tls=server_tls) as server:
        with pytest.raises(TLSError) as info:
            _connect(ctx, server)
        assert not isinstance(info.value, CertificateVerificationError)
        assert server.wait_for_output(r"CONNECTION FAILURE|ERROR")


def test_version_mismatch_with_stdlib_is_a_tls_error(pki):
    ctx = client_context(pki, highest_supported_version=TLSVersion.TLSv1_2)
    with _peers.stdlib_server(pki.server, tls="1.3") as server:
        with pytest.raises(TLSError):
            _connect(ctx, server)
        record = server.wait_for_connections(1)[0]
    assert isinstance(record.error, (ssl.SSLError, socket.error))


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_version_bounds_pin_the_version(pki, openssl_peer, tls):
    version = VERSIONS[tls]
    ctx = client_context(pki, lowest_supported_version=version, highest_supported_version=version)
    with openssl_peer() as server:
        with _connect(ctx, server) as conn:
            assert conn.negotiated_tls_version is version
            _rev_roundtrip(conn)


# --- SSLKEYLOGFILE ---------------------------------------------------------------------------------------------

def _keylog_lines(path):
    with open(path, "rb") as handle:
        lines = [line for line in handle.read().decode("ascii").splitlines() if line and not line.startswith("#")]
    for line in lines:
        label, client_random, secret = line.split(" ")
        assert re.match(r"^[0-9a-f]{64}$", client_random.lower()), line
        assert re.match(r"^[0-9a-f]{64,}$", secret.lower()), line
    return lines


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_sslkeylogfile(pki, tmp_path, monkeypatch, tls):
    if "keylog" not in nativetls.backend().features:
        pytest.skip("this backend cannot log keys")
    path = str(tmp_path / "keys.log")
    server_log = str(tmp_path / "server-keys.log")
    monkeypatch.setenv("SSLKEYLOGFILE", path)
    ctx = client_context(pki)
    server_context = _peers.stdlib_server_context(pki.server, tls=tls)
    compare = hasattr(server_context, "keylog_filename")  # Python 3.8+: the server logs the same secrets
    if compare:
        server_context.keylog_filename = server_log
    with _peers.stdlib_server(None, context=server_context) as server:
        with _connect(ctx, server) as conn:
            _echo_roundtrip(conn)
        server.wait_for_connections(1)
    lines = _keylog_lines(path)
    labels = set(line.split(" ")[0] for line in lines)
    if tls == "1.2":
        assert labels == {"CLIENT_RANDOM"}
        assert len(lines) == 1 and len(lines[0].split(" ")[2]) == 96  # the 48-byte master secret
    else:
        assert {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",
                "SERVER_TRAFFIC_SECRET_0"} <= labels
    assert len(set(line.split(" ")[1] for line in lines)) == 1  # one connection, one client random
    if compare:
        assert set(lines) <= set(_keylog_lines(server_log))


def test_no_keylog_without_the_variable(pki, tmp_path, monkeypatch, stdlib_server):
    monkeypatch.delenv("SSLKEYLOGFILE", raising=False)
    ctx = client_context(pki)
    path = tmp_path / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(path))  # set only after the context exists
    with _connect(ctx, stdlib_server) as conn:
        _echo_roundtrip(conn)
    assert not path.exists() or not path.read_bytes().strip()


# --- getpeercert() against the stdlib's, over sockets (2.7 and 3.x) ---------------------------------------------

def _rich_certificate(pki):
    """A leaf with most of what ssl's getpeercert() reports: multi-attribute subject, AIA, CRL DP, many SANs."""
    import ipaddress
    from cryptography import x509
    from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID
    import _certs

    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, u"DE"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, u"Berlin"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, u"Z\u00fcrich"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, u"nativetls tests"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, u"Interop"),
        x509.NameAttribute(NameOID.COMMON_NAME, u"localhost"),
        x509.NameAttribute(NameOID.EMAIL_ADDRESS, u"tls@example.org"),
    ])
    key = _certs.make_key("p256")
    factory = pki.factory
    extensions = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (factory._key_usage(ca=False), True),
        (x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False),
        (x509.SubjectAlternativeName([
            x509.DNSName(u"localhost"), x509.DNSName(u"*.example.org"),
            x509.IPAddress(ipaddress.ip_address(u"127.0.0.1")), x509.IPAddress(ipaddress.ip_address(u"::1")),
            x509.RFC822Name(u"tls@example.org"), x509.UniformResourceIdentifier(u"https://example.org/"),
        ]), False),
        (x509.AuthorityInformationAccess([
            x509.AccessDescription(AuthorityInformationAccessOID.OCSP,
                                   x509.UniformResourceIdentifier(u"http://ocsp.example.org/")),
            x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS,
                                   x509.UniformResourceIdentifier(u"http://ca.example.org/inter.crt")),
        ]), False),
        (x509.CRLDistributionPoints([
            x509.DistributionPoint([x509.UniformResourceIdentifier(u"http://crl.example.org/inter.crl")],
                                   None, None, None),
        ]), False),
    ]
    return factory._build(subject, pki.intermediate, key, extensions, "sha256", None, None, "rich")


@pytest.fixture(scope="module")
def rich(pki):
    return _rich_certificate(pki)


def _cert_under_test(pki, rich, name):
    return rich if name == "rich" else getattr(pki, name)


@pytest.mark.parametrize("name, hostname", [("server", "localhost"), ("ip_only", "127.0.0.1"),
                                            ("rich", "localhost")])
def test_getpeercert_equals_stdlib_over_sockets(pki, rich, name, hostname):
    credential = _cert_under_test(pki, rich, name)
    ctx = client_context(pki)
    with _peers.stdlib_server(credential) as server:
        with _connect(ctx, server, hostname=hostname) as conn:
            ours = conn.getpeercert()
            ours_der = conn.getpeercert(binary_form=True)
            _echo_roundtrip(conn)
        reference = _peers.stdlib_connect(server.address, _peers.stdlib_client_context(pki.ca),
                                          server_hostname=hostname)
        try:
            theirs = reference.getpeercert()
            theirs_der = reference.getpeercert(binary_form=True)
            reference.sendall(b"x\n")
            _peers.recv_until(reference)
            reference.unwrap()
        finally:
            reference.close()
    assert ours_der == theirs_der == credential.cert_der
    # Equal values and keys. (On 2.7, ssl mixes unicode, str and long in this dict; equality ignores that.)
    assert ours == theirs
    assert sorted(ours) == sorted(theirs)


# --- in-memory pairs against ssl.SSLObject (Python 3) -------------------------------------------------------------

def _stdlib_server_peer(pki, certfile=None, keyfile=None, tls=None):
    context = _peers.stdlib_server_context(pki.server, tls=tls)
    if certfile:
        context.load_cert_chain(certfile, keyfile)
    return StdlibPeer(context, server_side=True)


@needs_memory_bio
@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_in_memory_against_sslobject(pki, tls):
    ctx = client_context(pki)
    client = ctx.wrap_buffers("localhost")
    server = _stdlib_server_peer(pki, tls=tls)
    handshake(client, server)
    assert client.negotiated_tls_version is VERSIONS[tls]
    assert server.obj.version() == VERSIONS[tls].value
    if tls == "1.3":  # OpenSSL's TLS 1.3 names are the IANA names
        assert client.cipher() is CipherSuite[server.obj.cipher()[0]]
    client.write(b"to the stdlib")
    pump(client, server)
    assert drive_read(server, client) == b"to the stdlib"
    server.write(b"to nativetls")
    pump(client, server)
    assert drive_read(client, server) == b"to nativetls"
    client.shutdown()
    pump(client, server)
    server.shutdown()  # ssl unwraps: its close_notify answers ours
    pump(client, server)
    assert client.read() == b""
    client.close()


@needs_memory_bio
@pytest.mark.parametrize("name, hostname", [("server", "localhost"), ("ip_only", "127.0.0.1"),
                                            ("rich", "localhost")])
def test_in_memory_getpeercert_equals_stdlib(pki, rich, name, hostname):
    credential = _cert_under_test(pki, rich, name)
    server_context = _peers.stdlib_server_context(credential)

    ours = client_context(pki).wrap_buffers(hostname)
    handshake(ours, StdlibPeer(server_context, server_side=True))

    reference = StdlibPeer(_peers.stdlib_client_context(pki.ca), server_side=False, server_hostname=hostname)
    handshake(reference, StdlibPeer(server_context, server_side=True))

    assert ours.getpeercert(binary_form=True) == reference.obj.getpeercert(binary_form=True)
    assert ours.getpeercert() == reference.obj.getpeercert()
    ours.close()


@needs_memory_bio
def test_in_memory_getpeercertchain_is_in_the_order_sent(pki, tmp_path):
    # A server that also sends the root: the chain is what was sent, in order, not what was verified.
    chain_file = tmp_path / "leaf-inter-root.pem"
    chain_file.write_bytes(pki.server.cert_pem + pki.intermediate.cert_pem + pki.ca.cert_pem)
    for certfile, expected in [
        (None, [pki.server.cert_der, pki.intermediate.cert_der]),
        (str(chain_file), [pki.server.cert_der, pki.intermediate.cert_der, pki.ca.cert_der]),
    ]:
        client = client_context(pki).wrap_buffers("localhost")
        handshake(client, _stdlib_server_peer(pki, certfile, pki.server.key_path))
        assert client.getpeercertchain() == expected
        assert client.getpeercert(binary_form=True) == expected[0]
        client.close()


@pytest.mark.needs("tls1_3")  # TLS 1.3 by name
@needs_memory_bio
def test_in_memory_resumption_against_sslobject(pki):
    server_context = _peers.stdlib_server_context(pki.server, tls="1.3")
    ctx = client_context(pki)
    first = ctx.wrap_buffers("localhost")
    server = StdlibPeer(server_context, server_side=True)
    handshake(first, server)
    assert first.session is None  # no ticket read yet
    server.write(b"hello")
    pump(first, server)
    assert drive_read(first, server) == b"hello"
    session = first.session
    assert session is not None
    second = ctx.wrap_buffers("localhost", session=session)
    server2 = StdlibPeer(server_context, server_side=True)
    handshake(second, server2)
    assert second.session_reused is True
    assert server2.obj.session_reused is True
    assert isinstance(server2.obj, ssl.SSLObject)
    first.close()
    second.close()
