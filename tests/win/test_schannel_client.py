# -*- coding: utf-8 -*-
"""The SChannel client against real Linux-side peers (``openssl s_server``), over loopback sockets.

Run under Wine by ``.ci/wine/test.sh``. Where Wine 8 differs from Windows the test says so in its skip reason
or assertion message rather than skipping silently.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import contextlib
import socket
import time

import pytest

from conftest import UNDER_WINE

nativetls = pytest.importorskip("nativetls")
from nativetls import (  # noqa: E402
    CertificateVerificationError, ConfigurationError, NextProtocol, RaggedEOF, TLSConfiguration, TLSVersion,
    TrustStore, WantReadError,
)


def _pump(sock, buf, call, *args):
    """Run a TLSBuffer call, moving bytes over *sock* until it stops asking for more."""
    while True:
        try:
            return call(*args)
        except WantReadError:
            _flush(sock, buf)
            data = sock.recv(65536)
            buf.process_incoming(data)
        finally:
            _flush(sock, buf)


def _flush(sock, buf):
    data = buf.process_outgoing()
    if data:
        sock.sendall(data)


class Client(object):
    def __init__(self, backend, pki, **config):
        config.setdefault("trust_store", TrustStore.from_file(pki["ca"].cert))
        self.context = backend.client_context(TLSConfiguration(**config))

    @contextlib.contextmanager
    def connected(self, peer, host="localhost", session=None):
        """A handshaken (socket, buffer) pair, both closed on leaving the block or when the handshake fails."""
        sock = socket.create_connection(peer.address, timeout=30)
        buf = self.context.wrap_buffers(host, session=session)
        try:
            _pump(sock, buf, buf.do_handshake)
            yield sock, buf
        finally:
            buf.close()
            sock.close()

    def handshake(self, peer, host="localhost"):
        """Connect, complete the handshake, close; returns the negotiated version."""
        with self.connected(peer, host=host) as (_sock, buf):
            return buf.negotiated_tls_version


_pending = {}


def _readline(sock, buf):
    """One line from the peer (bytes past it are kept for the next call)."""
    data = _pending.pop(id(buf), b"")
    while b"\n" not in data:
        chunk = _pump(sock, buf, buf.read, 4096)
        if not chunk:
            return data
        data += chunk
    line, rest = data.split(b"\n", 1)
    if rest:
        _pending[id(buf)] = rest
    return line + b"\n"


def test_backend_is_schannel(backend):
    assert backend.name == "schannel"
    assert "SChannel" in backend.native_version
    assert TLSVersion.TLSv1_2 in backend.supported_versions


def test_tls13_where_windows_has_it(backend):
    if TLSVersion.TLSv1_3 not in backend.supported_versions:
        assert UNDER_WINE or "tls1_3" not in backend.features
        pytest.skip("SChannel here offers no TLS 1.3 (Wine 8 never does; Windows 11 / Server 2022 do): "
                    "SECPKG_ATTR_SUPPORTED_PROTOCOLS lacks SP_PROT_TLS1_3_CLIENT")
    assert "tls1_3" in backend.features


def test_handshake_alpn_echo_and_close(backend, pki, openssl_server):
    peer = openssl_server(alpn=["h2", "http/1.1"])
    client = Client(backend, pki, inner_protocols=[NextProtocol.H2, NextProtocol.HTTP1])
    with client.connected(peer) as (sock, buf):
        assert buf.negotiated_tls_version is TLSVersion.TLSv1_2
        assert buf.negotiated_protocol() is NextProtocol.H2
        chain = buf.getpeercertchain()
        assert len(chain) == 2  # leaf and intermediate, as sent
        with open(pki["server"].der, "rb") as handle:
            assert chain[0] == handle.read()
        assert buf.getpeercert()["subjectAltName"]
        buf.write(b"hello world\n")
        _flush(sock, buf)
        assert _readline(sock, buf) == b"dlrow olleh\n"
        # s_server -rev closes on "CLOSE" with close_notify; reads then return b"".
        buf.write(b"CLOSE\n")
        _flush(sock, buf)
        assert _pump(sock, buf, buf.read, 100) == b""
        assert buf.read(100) == b""
        buf.shutdown()
        _flush(sock, buf)


def test_cipher_reported_where_schannel_says(backend, pki, openssl_server):
    with Client(backend, pki).connected(openssl_server()) as (sock, buf):
        cipher = buf.cipher()
        if cipher is None:
            assert UNDER_WINE, "SECPKG_ATTR_CIPHER_INFO must work on Windows 10+"
            pytest.skip("Wine 8 does not implement SECPKG_ATTR_CIPHER_INFO: cipher() is None there")
        assert int(cipher) > 0


def test_large_write_is_split_into_records(backend, pki, openssl_server):
    peer = openssl_server()
    with Client(backend, pki).connected(peer) as (sock, buf):
        # 40 lines in one write: more than two records of cbMaximumMessage (16 KiB). (s_server -rev reverses at
        # most 16 KiB per line, so the lines are short.)
        lines = [(b"%02d" % i) * 500 + b"\n" for i in range(40)]
        data = b"".join(lines)
        assert buf.write(data) == len(data)
        _flush(sock, buf)
        for line in lines:
            assert _readline(sock, buf) == line[:-1][::-1] + b"\n"


def test_alpn_offered_to_a_server_without_alpn(backend, pki, openssl_server):
    with Client(backend, pki, inner_protocols=[b"h2"]).connected(openssl_server(alpn=None)) as (sock, buf):
        assert buf.negotiated_protocol() is None


@pytest.mark.parametrize("cert,host,reason", [
    ("untrusted", "localhost", "untrusted_root"),
    ("self_signed", "localhost", "self_signed"),
    ("wrong_host", "localhost", "hostname_mismatch"),
    ("server", "other.example", "hostname_mismatch"),
    ("cn_only", "localhost", "hostname_mismatch"),  # no CN fallback, unlike crypt32's own policy
    ("expired", "localhost", "expired"),
    ("not_yet_valid", "localhost", "not_yet_valid"),
])
def test_verification_failures(backend, pki, openssl_server, cert, host, reason):
    peer = openssl_server(cert=cert)
    client = Client(backend, pki)
    with pytest.raises(CertificateVerificationError) as info:
        client.handshake(peer, host=host)
    assert info.value.reason == reason, str(info.value)
    assert info.value.host == host
    assert host in str(info.value)


def test_ip_address_host(backend, pki, openssl_server):
    assert Client(backend, pki).handshake(openssl_server(cert="ip_only"), host="127.0.0.1")
    with pytest.raises(CertificateVerificationError) as info:
        Client(backend, pki).handshake(openssl_server(cert="wrong_host"), host="127.0.0.1")
    assert info.value.reason == "hostname_mismatch"


def test_no_host_check_still_verifies_chain(backend, pki, openssl_server):
    assert Client(backend, pki).handshake(openssl_server(cert="wrong_host"), host=None)
    with pytest.raises(CertificateVerificationError) as info:
        Client(backend, pki).handshake(openssl_server(cert="untrusted"), host=None)
    assert info.value.reason == "untrusted_root"


def test_system_store_does_not_trust_the_test_ca(backend, pki, openssl_server):
    with pytest.raises(CertificateVerificationError) as info:
        Client(backend, pki, trust_store=None).handshake(openssl_server())
    assert info.value.reason == "untrusted_root"


def test_trusted_intermediate_anchors_the_chain(backend, pki, openssl_server):
    client = Client(backend, pki, trust_store=TrustStore.from_file(pki["intermediate"].cert))
    assert client.handshake(openssl_server())


def test_validation_can_be_disabled(backend, pki, openssl_server):
    with pytest.warns(Warning):
        client = Client(backend, pki, validate_certificates=False)
    assert client.handshake(openssl_server(cert="untrusted"))


def test_session_resumption(backend, pki, openssl_server):
    peer = openssl_server()
    client = Client(backend, pki)
    with client.connected(peer) as (_sock, buf):
        assert not buf.session_reused
        from nativetls._win import _secur32 as S
        answered = buf._query(S.SECPKG_ATTR_SESSION_INFO, S.SecPkgContext_SessionInfo) is not None
        session = buf.session if answered else None
    assert answered == ("session_resumption" in backend.features), "the probe disagrees with a real connection"
    if not answered:
        assert UNDER_WINE, "SECPKG_ATTR_SESSION_INFO must work on Windows"
        pytest.skip("Wine difference: SChannel neither resumes sessions nor answers SECPKG_ATTR_SESSION_INFO, so "
                    "the feature \"session_resumption\" is absent; resumption is only verifiable on real Windows")
    assert session is not None
    with client.connected(peer, session=session) as (_sock, buf):
        assert buf.session_reused
    with client.connected(peer) as (_sock, buf):  # no session given: a full handshake
        assert not buf.session_reused


def test_ragged_eof(backend, pki, openssl_server):
    peer = openssl_server()
    with Client(backend, pki).connected(peer) as (sock, buf):
        peer.kill()
        deadline = time.time() + 10
        with pytest.raises(RaggedEOF):
            while time.time() < deadline:
                try:
                    buf.read(100)
                except WantReadError:
                    buf.process_incoming(sock.recv(65536))


def test_client_shutdown_sends_close_notify(backend, pki, openssl_server):
    peer = openssl_server()
    with Client(backend, pki).connected(peer) as (sock, buf):
        buf.shutdown()
        data = buf.process_outgoing()
        assert data[:1] == b"\x15"  # an alert record (encrypted close_notify)
        sock.sendall(data)
        with pytest.raises(Exception):
            buf.write(b"after shutdown")
        assert _pump(sock, buf, buf.read, 100) == b""  # the server answers with its own close_notify


def test_unsupported_configuration_is_rejected_at_once(backend, pki):
    with pytest.raises(ConfigurationError):
        backend.client_context(TLSConfiguration(ciphers=[0x1301]))
    with pytest.raises(ConfigurationError):
        backend.client_context(TLSConfiguration(lowest_supported_version=TLSVersion.SSLv3))
    if TLSVersion.TLSv1_3 not in backend.supported_versions:
        with pytest.raises(ConfigurationError):
            backend.client_context(TLSConfiguration(lowest_supported_version=TLSVersion.TLSv1_3))


def test_crls_are_refused_not_ignored(backend, pki):
    """CRL checking is not implemented on SChannel yet: asking for it must fail loudly, never be skipped."""
    from nativetls import TrustStore
    trusted = TrustStore.from_file(pki["ca"].cert)
    with_crls = TrustStore._make(trusted.certificates, crls=(b"a CRL the backend would have to check",), origin="test")
    with pytest.raises(ConfigurationError) as info:
        backend.client_context(TLSConfiguration(trust_store=with_crls))
    assert "CRL" in str(info.value)


def test_server_side_where_schannel_has_one(backend, pki):
    from nativetls import Certificate, PrivateKey, SigningChain
    chain = SigningChain((Certificate.from_file(pki["server"].cert), PrivateKey.from_file(pki["server"].key)))
    if "server" in backend.features:
        backend.server_context(TLSConfiguration(certificate_chain=chain)).close()
        return
    assert UNDER_WINE, "AcceptSecurityContext must exist on Windows"
    with pytest.raises(ConfigurationError) as info:
        backend.server_context(TLSConfiguration(certificate_chain=chain))
    assert "SEC_E_UNSUPPORTED_FUNCTION" in str(info.value)
    pytest.skip("Wine 8 difference: no SChannel server side (AcceptSecurityContext answers "
                "SEC_E_UNSUPPORTED_FUNCTION); the server tests run under Wine 10 (.ci/wine/test-wine10.sh)")
