"""The TLSBuffer contract, in memory: a client and a server joined by a deterministic wire (no sockets)."""
from __future__ import absolute_import, division, print_function

import os
import warnings

import pytest

import nativetls
from nativetls import NextProtocol, TLSVersion
from _tls import client_context, drive_read, handshake, handshake_bytewise, pump, server_context


@pytest.fixture
def pair(pki):
    client = client_context(pki).wrap_buffers("localhost")
    server = server_context(pki).wrap_buffers()
    handshake(client, server)
    return client, server


def test_handshake_reports_what_was_negotiated(pair):
    client, server = pair
    best = TLSVersion.TLSv1_3 if "tls1_3" in nativetls.backend().features else TLSVersion.TLSv1_2
    for side in pair:
        assert side.negotiated_tls_version is best
        assert isinstance(side.cipher(), nativetls.CipherSuite)
        assert side.negotiated_protocol() is None
    assert client.cipher() == server.cipher()
    client.do_handshake()  # a no-op once done
    assert (("commonName", "localhost"),) in client.getpeercert()["subject"]


def test_data_both_ways_read_and_readinto(pair):
    client, server = pair
    assert client.write(b"hello") == 5
    pump(client, server)
    assert server.read(2) == b"he"
    target = bytearray(10)
    assert server.readinto(target) == 3 and bytes(target[:3]) == b"llo"
    assert server.write(memoryview(b"x" * 100000)) == 100000
    pump(client, server)
    target = bytearray(100000)
    got = 0
    while got < 100000:
        got += client.read(100000 - got, memoryview(target)[got:])
    assert target == bytearray(b"x" * 100000)
    assert client.write(b"") == 0


def test_want_read_before_data(pair):
    client, server = pair
    with pytest.raises(nativetls.WantReadError):
        server.read()
    with pytest.raises(nativetls.WantReadError):
        server.readinto(bytearray(4))


def test_outgoing_bytes_can_be_taken_in_pieces(pki):
    client = client_context(pki).wrap_buffers("localhost")
    server = server_context(pki).wrap_buffers()
    with pytest.raises(nativetls.WantReadError):
        client.do_handshake()
    total = client.outgoing_bytes_buffered()
    assert total > 0
    head = client.peek_outgoing(10)
    assert client.outgoing_bytes_buffered() == total  # peeking leaves the bytes there
    assert client.process_outgoing(10) == head
    client.consume_outgoing(5)
    assert client.outgoing_bytes_buffered() == total - 15
    rest = client.process_outgoing(-1)
    assert len(rest) == total - 15 and client.process_outgoing() == b""


def test_byte_at_a_time_wire(pki):
    client = client_context(pki).wrap_buffers("localhost")
    server = server_context(pki).wrap_buffers()
    handshake_bytewise(client, server, receive="receive_from_network")  # PEP 543 spelling
    client.write(b"ping")
    pump(client, server)
    assert server.read() == b"ping"


def test_incoming_bytes_buffered(pki):
    client = client_context(pki).wrap_buffers("localhost")
    server = server_context(pki).wrap_buffers()
    with pytest.raises(nativetls.WantReadError):
        client.do_handshake()
    hello = client.process_outgoing()
    server.process_incoming(hello)
    assert server.incoming_bytes_buffered() == len(hello)
    with pytest.raises(nativetls.WantReadError):
        server.do_handshake()
    assert server.incoming_bytes_buffered() == 0


def test_shutdown_close_notify_both_ways(pair):
    client, server = pair
    client.write(b"last words")
    client.shutdown()
    client.shutdown()  # idempotent
    pump(client, server)
    assert server.read() == b"last words"
    assert server.read() == b""  # the client's close_notify
    assert server.read(10, bytearray(10)) == 0
    server.write(b"reply after close_notify")  # allowed: the server has not shut down yet
    server.shutdown()
    pump(client, server)
    assert client.read() == b"reply after close_notify"  # reads still work after our own shutdown
    assert client.read() == b""
    with pytest.raises(nativetls.TLSError):
        client.write(b"too late")


def test_ragged_eof(pair):
    client, server = pair
    server.write(b"partial")
    pump(client, server)
    client.process_incoming(b"")
    assert client.read() == b"partial"
    with pytest.raises(nativetls.RaggedEOF):
        client.read()
    with pytest.raises(nativetls.TLSError):
        client.read()  # the connection is failed from now on


def test_eof_after_close_notify_is_clean(pair):
    client, server = pair
    server.shutdown()
    pump(client, server)
    client.process_incoming(b"")
    assert client.read() == b""


def test_eof_during_handshake(pki):
    client = client_context(pki).wrap_buffers("localhost")
    with pytest.raises(nativetls.WantReadError):
        client.do_handshake()
    client.process_incoming(b"")
    with pytest.raises(nativetls.TLSError) as info:
        client.do_handshake()
    assert "during the handshake" in str(info.value)


def test_closed_buffer(pair):
    client, _server = pair
    client.close()
    client.close()
    for call in (client.read, client.do_handshake, lambda: client.write(b"x")):
        with pytest.raises(nativetls.TLSError):
            call()
    assert client.process_outgoing() == b"" and client.getpeercertchain() is None
    with pytest.raises(nativetls.TLSError):
        client.process_incoming(b"x")


def test_context_manager(pki):
    with client_context(pki).wrap_buffers("localhost") as buffer:
        assert buffer.negotiated_tls_version is None
    with pytest.raises(nativetls.TLSError):
        buffer.do_handshake()


def test_shutdown_before_handshake_is_an_error(pki):
    buffer = client_context(pki).wrap_buffers("localhost")
    with pytest.raises(nativetls.TLSError):
        buffer.shutdown()


def test_first_write_drives_the_handshake(pki):
    client = client_context(pki).wrap_buffers("localhost")
    server = server_context(pki).wrap_buffers()
    for _ in range(10):
        try:
            client.write(b"early")  # retried with the same data until the handshake completes
            break
        except nativetls.WantReadError:
            pump(client, server)
            try:
                server.do_handshake()
            except nativetls.WantReadError:
                pass
            pump(client, server)
    assert drive_read(server, client) == b"early"


@pytest.mark.parametrize("version", [TLSVersion.TLSv1_2, TLSVersion.TLSv1_3])
def test_version_bounds(pki, version):
    client = client_context(pki, lowest_supported_version=version, highest_supported_version=version)
    c, s = client.wrap_buffers("localhost"), server_context(pki).wrap_buffers()
    handshake(c, s)
    assert c.negotiated_tls_version is version and s.negotiated_tls_version is version


@pytest.mark.needs("tls1_3")  # TLS 1.3 by name
def test_version_mismatch_fails(pki):
    client = client_context(pki, highest_supported_version=TLSVersion.TLSv1_2)
    server = server_context(pki, lowest_supported_version=TLSVersion.TLSv1_3)
    with pytest.raises(nativetls.TLSError) as info:
        handshake(client.wrap_buffers("localhost"), server.wrap_buffers())
    assert not isinstance(info.value, nativetls.CertificateVerificationError)


def test_old_versions_must_be_explicit_and_warn(pki):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = client_context(pki, lowest_supported_version=TLSVersion.TLSv1,
                                highest_supported_version=TLSVersion.TLSv1_1)
        server = server_context(pki, lowest_supported_version=TLSVersion.TLSv1,
                                highest_supported_version=TLSVersion.TLSv1_1)
    assert any(issubclass(w.category, nativetls.SecurityWarning) for w in caught)
    c, s = client.wrap_buffers("localhost"), server.wrap_buffers()
    handshake(c, s)
    assert c.negotiated_tls_version is TLSVersion.TLSv1_1
    with pytest.raises(nativetls.TLSError):  # and the default server refuses them
        handshake(client.wrap_buffers("localhost"), server_context(pki).wrap_buffers())


@pytest.mark.parametrize("version", [TLSVersion.SSLv2, TLSVersion.SSLv3])
def test_ssl_versions_are_configuration_errors(pki, version):
    with pytest.raises(nativetls.ConfigurationError):
        client_context(pki, lowest_supported_version=version)


@pytest.mark.parametrize("suite,version", [
    (nativetls.CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLSVersion.TLSv1_2),
    (nativetls.CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, TLSVersion.TLSv1_2),
    (nativetls.CipherSuite.TLS_CHACHA20_POLY1305_SHA256, TLSVersion.TLSv1_3),
    (nativetls.CipherSuite.TLS_AES_128_GCM_SHA256, TLSVersion.TLSv1_3),
])
def test_cipher_selection(pki, suite, version):
    # A TLS 1.2 list says TLS 1.2 by its bound (without it, it warns: test_tls12_list_turns_tls13_off_loudly).
    bounds = {} if version is TLSVersion.TLSv1_3 else dict(highest_supported_version=TLSVersion.TLSv1_2)
    client = client_context(pki, ciphers=[suite], **bounds)
    c, s = client.wrap_buffers("localhost"), server_context(pki).wrap_buffers()
    handshake(c, s)
    assert c.cipher() is suite and s.cipher() is suite
    assert c.negotiated_tls_version is version


# --- ciphers never override the version bounds (issue 14) ------------------------------------------------------
ECDHE_ECDSA_AES128_SHA = 0xC009  # a TLS 1.0-1.2 suite (SHA-1 MAC)
TLS13_ONLY = [nativetls.CipherSuite.TLS_AES_128_GCM_SHA256, nativetls.CipherSuite.TLS_CHACHA20_POLY1305_SHA256]
OLD = dict(lowest_supported_version=TLSVersion.TLSv1)


def _takes_cipher_lists():
    """Whether this backend honours a ``ciphers`` list (SChannel refuses any but DEFAULT_CIPHER_LIST)."""
    try:
        nativetls.ClientContext(nativetls.TLSConfiguration(
            ciphers=[nativetls.CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]))
    except nativetls.ConfigurationError:
        return False
    return True


cipher_lists = pytest.mark.skipif(not _takes_cipher_lists(), reason="this backend takes no cipher suite list")


@pytest.fixture(scope="module")
def ecdsa(pki):
    return pki.factory.leaf(pki.intermediate, "localhost", key="p256", name="ecdsa-localhost")


def _quiet(make, *args, **fields):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nativetls.SecurityWarning)  # TLS < 1.2 warns, tested elsewhere
        return make(*args, **fields)


@cipher_lists
def test_tls11_bound_holds_with_a_cipher_list_client(pki, ecdsa):
    client = _quiet(client_context, pki, ciphers=[ECDHE_ECDSA_AES128_SHA],
                    highest_supported_version=TLSVersion.TLSv1_1, **OLD)
    server = _quiet(server_context, pki, ecdsa, **OLD)  # the server would take TLS 1.3 or 1.2 if offered
    c, s = client.wrap_buffers("localhost"), server.wrap_buffers()
    handshake(c, s)
    assert c.negotiated_tls_version is TLSVersion.TLSv1_1 and s.negotiated_tls_version is TLSVersion.TLSv1_1
    assert int(c.cipher()) == ECDHE_ECDSA_AES128_SHA


@cipher_lists
def test_tls11_bound_holds_with_a_cipher_list_server(pki, ecdsa):
    server = _quiet(server_context, pki, ecdsa, ciphers=[ECDHE_ECDSA_AES128_SHA],
                    highest_supported_version=TLSVersion.TLSv1_1, **OLD)
    client = _quiet(client_context, pki, **OLD)  # offers TLS 1.0 to 1.3
    c, s = client.wrap_buffers("localhost"), server.wrap_buffers()
    handshake(c, s)
    assert s.negotiated_tls_version is TLSVersion.TLSv1_1 and c.negotiated_tls_version is TLSVersion.TLSv1_1
    assert int(s.cipher()) == ECDHE_ECDSA_AES128_SHA


@cipher_lists
def test_tls11_bound_with_only_tls12_suites_is_a_configuration_error(pki):
    gcm = [nativetls.CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
    for make in (client_context, server_context):
        with pytest.raises(nativetls.ConfigurationError) as info:
            _quiet(make, pki, ciphers=gcm, highest_supported_version=TLSVersion.TLSv1_1, **OLD)
        assert "TLSv1 to TLSv1.1" in str(info.value) and "TLSv1.2" in str(info.value)


@cipher_lists
@pytest.mark.parametrize("make", [client_context, server_context], ids=["client", "server"])
def test_tls12_bound_with_only_tls13_suites_is_a_configuration_error(pki, make):
    with pytest.raises(nativetls.ConfigurationError) as info:
        make(pki, ciphers=TLS13_ONLY, highest_supported_version=TLSVersion.TLSv1_2)
    assert "TLS_AES_128_GCM_SHA256" in str(info.value) and "TLSv1.3" in str(info.value)


@cipher_lists
def test_tls13_bound_with_only_tls12_suites_is_a_configuration_error(pki):
    with pytest.raises(nativetls.ConfigurationError):
        client_context(pki, ciphers=[nativetls.CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256],
                       lowest_supported_version=TLSVersion.TLSv1_3)


@cipher_lists
@pytest.mark.needs("tls1_3")
def test_tls13_only_list_narrows_to_tls13_within_the_bounds(pki):
    client = client_context(pki, ciphers=TLS13_ONLY)  # no warning: the list asks for TLS 1.3 alone
    c, s = client.wrap_buffers("localhost"), server_context(pki, highest_supported_version=None).wrap_buffers()
    handshake(c, s)
    assert c.negotiated_tls_version is TLSVersion.TLSv1_3
    with pytest.raises(nativetls.TLSError):  # and it never falls back to TLS 1.2
        handshake(client.wrap_buffers("localhost"),
                  server_context(pki, highest_supported_version=TLSVersion.TLSv1_2).wrap_buffers())


@cipher_lists
@pytest.mark.parametrize("make", [client_context, server_context], ids=["client", "server"])
@pytest.mark.needs("tls1_3")
def test_tls12_list_turns_tls13_off_loudly(pki, make):
    # docs/decisions.md: ciphers is the complete list; one without TLS 1.3 suites turns TLS 1.3 off, and says so.
    suites = [nativetls.CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ctx = make(pki, ciphers=suites)
    assert [w for w in caught if issubclass(w.category, nativetls.SecurityWarning) and "TLS 1.3" in str(w.message)]
    peer = server_context(pki) if make is client_context else client_context(pki)
    ends = (ctx.wrap_buffers("localhost"), peer.wrap_buffers()) if make is client_context else \
        (peer.wrap_buffers("localhost"), ctx.wrap_buffers())
    handshake(*ends)
    assert ends[0].negotiated_tls_version is TLSVersion.TLSv1_2
    with warnings.catch_warnings(record=True) as caught:  # an explicit TLS 1.2 bound says it on purpose: no warning
        warnings.simplefilter("always")
        make(pki, ciphers=suites, highest_supported_version=TLSVersion.TLSv1_2)
        make(pki, ciphers=nativetls.DEFAULT_CIPHER_LIST)
    assert not [w for w in caught if issubclass(w.category, nativetls.SecurityWarning)]


@cipher_lists
@pytest.mark.needs("tls1_3")
def test_default_cipher_list_keeps_tls13(pki):
    client = client_context(pki, ciphers=nativetls.DEFAULT_CIPHER_LIST)
    c, s = client.wrap_buffers("localhost"), server_context(pki).wrap_buffers()
    handshake(c, s)
    assert c.negotiated_tls_version is TLSVersion.TLSv1_3 and c.cipher() in nativetls.DEFAULT_CIPHER_LIST
    c = client.wrap_buffers("localhost")
    handshake(c, server_context(pki, highest_supported_version=TLSVersion.TLSv1_2).wrap_buffers())
    assert c.cipher() in nativetls.DEFAULT_CIPHER_LIST and c.negotiated_tls_version is TLSVersion.TLSv1_2


@cipher_lists
def test_default_cipher_list_runs_where_the_library_lacks_some_of_it(pki):
    # PEP 748 programs pass DEFAULT_CIPHER_LIST: it means "the recommended suites this library has", so a libssl
    # without TLS 1.3 or ChaCha20 (1.0.2) uses the rest instead of refusing the list (decision 42).
    client = client_context(pki, ciphers=nativetls.DEFAULT_CIPHER_LIST)
    server = server_context(pki, ciphers=nativetls.DEFAULT_CIPHER_LIST)
    c, s = client.wrap_buffers("localhost"), server.wrap_buffers()
    handshake(c, s)
    assert c.cipher() in nativetls.DEFAULT_CIPHER_LIST and s.cipher() == c.cipher()
    # any other list is exact: the same suites plus one nobody has is still refused
    with pytest.raises(nativetls.ConfigurationError):
        client_context(pki, ciphers=list(nativetls.DEFAULT_CIPHER_LIST) + [0xFEFE])


def test_unknown_cipher_is_a_configuration_error(pki):
    with pytest.raises(nativetls.ConfigurationError) as info:
        client_context(pki, ciphers=[0xFEFE])
    assert "0xFEFE" in str(info.value)


def test_alpn_server_preference_and_no_overlap(pki):
    server = server_context(pki, inner_protocols=[NextProtocol.HTTP1, NextProtocol.H2])
    client = client_context(pki, inner_protocols=[NextProtocol.H2, NextProtocol.HTTP1])
    c, s = client.wrap_buffers("localhost"), server.wrap_buffers()
    handshake(c, s)
    assert c.negotiated_protocol() is NextProtocol.HTTP1 and s.negotiated_protocol() is NextProtocol.HTTP1
    other = client_context(pki, inner_protocols=[b"spdy/3"])
    c, s = other.wrap_buffers("localhost"), server.wrap_buffers()
    handshake(c, s)
    assert c.negotiated_protocol() is None and s.negotiated_protocol() is None


def test_custom_protocol_comes_back_as_bytes(pki):
    server = server_context(pki, inner_protocols=[b"myproto/1"])
    c, s = client_context(pki, inner_protocols=[b"myproto/1"]).wrap_buffers("localhost"), server.wrap_buffers()
    handshake(c, s)
    assert c.negotiated_protocol() == b"myproto/1"


@pytest.mark.parametrize("version", [TLSVersion.TLSv1_2, TLSVersion.TLSv1_3])
def test_session_resumption(pki, version):
    client = client_context(pki, highest_supported_version=version)
    server = server_context(pki)
    c, s = client.wrap_buffers("localhost"), server.wrap_buffers()
    handshake(c, s)
    assert not c.session_reused
    s.write(b"x")
    pump(c, s)
    assert c.read() == b"x"  # TLS 1.3: the ticket arrived with (before) the data
    session = c.session
    assert isinstance(session, nativetls.TLSSession)
    c2, s2 = client.wrap_buffers("localhost", session=session), server.wrap_buffers()
    handshake(c2, s2)
    assert c2.session_reused and s2.session_reused
    assert c2.getpeercertchain()  # the chain is still known after resumption


def test_tls13_ticket_arrives_through_a_read_that_wants_more(pki):
    c, s = client_context(pki).wrap_buffers("localhost"), server_context(pki).wrap_buffers()
    handshake(c, s)
    with pytest.raises(nativetls.WantReadError):
        c.read()  # takes in the tickets the server sent after its handshake
    assert c.session is not None


@pytest.mark.parametrize("version", [TLSVersion.TLSv1_2, TLSVersion.TLSv1_3])
def test_session_survives_connections_closed_without_close_notify(pki, version):
    # libssl marks a session not resumable when a connection holding it is freed before sending close_notify;
    # the TLSSession must stay usable however the connections it came from or went into ended.
    client = client_context(pki, highest_supported_version=version)
    server = server_context(pki)
    c, s = client.wrap_buffers("localhost"), server.wrap_buffers()
    handshake(c, s)
    s.write(b"x")
    pump(c, s)
    assert c.read() == b"x"
    session = c.session
    c.close()
    s.close()
    for _ in range(3):
        c2, s2 = client.wrap_buffers("localhost", session=session), server.wrap_buffers()
        handshake(c2, s2)
        assert c2.session_reused and s2.session_reused
        c2.close()
        s2.close()


def test_tickets_are_private_to_a_server_context(pki):
    client = client_context(pki)
    first = server_context(pki)
    c, s = client.wrap_buffers("localhost"), first.wrap_buffers()
    handshake(c, s)
    with pytest.raises(nativetls.WantReadError):
        c.read()
    c2, s2 = client.wrap_buffers("localhost", session=c.session), server_context(pki).wrap_buffers()
    handshake(c2, s2)
    assert not c2.session_reused


def test_wrong_session_type(pki):
    with pytest.raises(TypeError):
        client_context(pki).wrap_buffers("localhost", session="not a session")


@pytest.mark.parametrize("name", [b"localhost", u"LOCALHOST", u"localhost."])
def test_server_hostname_spellings(pki, name):
    c, s = client_context(pki).wrap_buffers(name), server_context(pki).wrap_buffers()
    handshake(c, s)


@pytest.mark.parametrize("name,error", [(42, TypeError), (u"", ValueError), (u"bad\x00name", ValueError)])
def test_bad_server_hostname(pki, name, error):
    with pytest.raises(error):
        client_context(pki).wrap_buffers(name)


def test_keylog(pki, tmp_path, monkeypatch):
    if "keylog" not in nativetls.backend().features:
        pytest.skip("this backend cannot log keys")
    path = str(tmp_path / "keys.log")
    monkeypatch.setenv("SSLKEYLOGFILE", path)
    c, s = client_context(pki).wrap_buffers("localhost"), server_context(pki).wrap_buffers()
    handshake(c, s)
    with open(path, "rb") as handle:
        lines = handle.read().splitlines()
    labels = set(line.split(b" ")[0] for line in lines)
    assert b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" in labels and b"CLIENT_TRAFFIC_SECRET_0" in labels
    assert os.path.getsize(path) > 0


def test_no_keylog_without_the_variable(pki, tmp_path, monkeypatch):
    monkeypatch.delenv("SSLKEYLOGFILE", raising=False)
    c, s = client_context(pki).wrap_buffers("localhost"), server_context(pki).wrap_buffers()
    handshake(c, s)
    assert not os.listdir(str(tmp_path))
