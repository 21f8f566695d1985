# -*- coding: utf-8 -*-
"""The SChannel server (AcceptSecurityContext): against the SChannel client in memory, and against Linux-side
clients (``openssl s_client``, the stdlib ``ssl`` module) over loopback sockets.

Needs an SChannel with a server side: Windows, or Wine 10 (``.ci/wine/test-wine10.sh``). Under Wine 8 every test
here is skipped, saying so: its AcceptSecurityContext answers SEC_E_UNSUPPORTED_FUNCTION.

Wine 10 differences, stated where they apply:
* its SChannel server sends only the leaf certificate (GnuTLS is given no intermediates), so under Wine the clients
  here are also given the intermediate (as a trust anchor: ``-partial_chain`` for s_client); on Windows
  ``test_server_sends_its_intermediates`` checks that clients trusting only the root succeed;
* its AcceptSecurityContext never sends a CertificateRequest, even with ASC_REQ_MUTUAL_AUTH (the GnuTLS server
  session underneath is never told to request a certificate: Wine's secur32 does not even import
  ``gnutls_certificate_server_set_request``). nativetls probes for that, so a server with a trust_store is a
  ConfigurationError there; the tests needing a client certificate on the server say so and skip, while the
  server's own verification of a client chain and its failure without one are exercised all the same.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import socket
import threading

import pytest

from conftest import UNDER_WINE
from test_schannel_client import _flush, _pump, _readline

nativetls = pytest.importorskip("nativetls")
from nativetls import (  # noqa: E402
    CertificateVerificationError, ConfigurationError, NextProtocol, SigningChain, TLSConfiguration, TLSError,
    TLSVersion, TrustStore, WantReadError,
)
import _tls  # noqa: E402  (tests/_tls.py, the in-memory wire: conftest puts tests/ on sys.path)


@pytest.fixture(autouse=True)
def _needs_a_server(backend):
    if "server" not in backend.features:
        assert UNDER_WINE, "AcceptSecurityContext must work on Windows"
        pytest.skip("Wine 8 difference: no SChannel server side (AcceptSecurityContext answers "
                    "SEC_E_UNSUPPORTED_FUNCTION); these tests run under Wine 10: .ci/wine/test-wine10.sh")


def _anchors(pki):
    """What clients trust: the root, and under Wine also the intermediate (its server sends no intermediates)."""
    return ["ca", "intermediate"] if UNDER_WINE else ["ca"]


def _trust(pki):
    return TrustStore.from_buffer(b"".join(pki[name].cert_pem for name in _anchors(pki)))


def server_context(backend, pki, name="server", **fields):
    chain = SigningChain.from_pem_files(pki[name].fullchain, pki[name].key)
    return backend.server_context(TLSConfiguration(certificate_chain=chain, **fields))


def client_context(backend, pki, **fields):
    fields.setdefault("trust_store", _trust(pki))
    return backend.client_context(TLSConfiguration(**fields))


def test_in_memory_handshake_data_and_close(backend, pki):
    server = server_context(backend, pki, inner_protocols=[b"h2", b"http/1.1"]).wrap_buffers()
    client = client_context(backend, pki, inner_protocols=[b"http/1.1", b"h2"]).wrap_buffers("localhost")
    _tls.handshake(client, server)
    for side in (client, server):
        assert side.negotiated_tls_version in (TLSVersion.TLSv1_2, TLSVersion.TLSv1_3)
        assert side.negotiated_protocol() is NextProtocol.H2  # the server's preference
    assert server.getpeercertchain() is None and server.getpeercert() is None
    client.write(b"hello")
    _tls.pump(client, server)
    assert server.read(100) == b"hello"
    big = b"x" * 100000
    assert server.write(big) == len(big)
    _tls.pump(client, server)
    got = b""
    while len(got) < len(big):
        got += client.read(65536)
    assert got == big
    with pytest.raises(WantReadError):
        server.read()
    client.shutdown()
    _tls.pump(client, server)
    assert server.read() == b""
    server.shutdown()
    _tls.pump(client, server)
    assert client.read() == b""


@pytest.mark.parametrize("shape", ["d", "crt", "e3"], ids=["short-d", "short-crt", "exponent-3"])
def test_server_key_the_import_damages(backend, pki, peerd, shape):
    """A server key that Wine's PFXImportCertStore imports damaged (``nativetls._win._keyblob``; before the repair:
    "Public key signing has failed" in GnuTLS, SEC_E_INTERNAL_ERROR from AcceptSecurityContext)."""
    from test_schannel_client_auth import _edge_chain
    chain = _edge_chain(pki, peerd, shape)
    server = backend.server_context(TLSConfiguration(certificate_chain=chain)).wrap_buffers()
    client = client_context(backend, pki).wrap_buffers("localhost")
    _tls.handshake(client, server)
    client.write(b"ping")
    _tls.pump(client, server)
    assert server.read(100) == b"ping"


def test_alpn_without_overlap_is_no_alpn(backend, pki):
    server = server_context(backend, pki, inner_protocols=[b"h2"]).wrap_buffers()
    client = client_context(backend, pki, inner_protocols=[b"http/1.1"]).wrap_buffers("localhost")
    try:
        _tls.handshake(client, server)
    except TLSError as exc:
        pytest.fail("no ALPN overlap must mean no ALPN, not a failure: %s" % exc)
    assert client.negotiated_protocol() is None and server.negotiated_protocol() is None


def _client_auth_server(backend, pki, trust="ca", **fields):
    """A server requiring client certificates trusted by *trust*, or a skip naming the Wine difference."""
    try:
        return server_context(backend, pki, trust_store=TrustStore.from_file(pki[trust].cert), **fields)
    except ConfigurationError as exc:
        if not UNDER_WINE:
            raise
        assert "CertificateRequest" in str(exc), exc
        pytest.skip("Wine difference: its AcceptSecurityContext sends no CertificateRequest even with "
                    "ASC_REQ_MUTUAL_AUTH, so a server cannot require client certificates (ConfigurationError, "
                    "probed); verifiable on Windows only: %s" % exc)


def test_client_auth_is_probed_not_assumed(backend, pki):
    """A server with a trust_store either can request client certificates or is refused when it is made."""
    from nativetls._win import _context
    if UNDER_WINE:
        with pytest.raises(ConfigurationError) as info:
            server_context(backend, pki, trust_store=TrustStore.from_file(pki["ca"].cert))
        assert "CertificateRequest" in str(info.value) and "trust_store" in str(info.value)
        assert _context._PROBES["certificate_request"] is False
    else:
        server_context(backend, pki, trust_store=TrustStore.from_file(pki["ca"].cert))
        assert _context._PROBES["certificate_request"] is True


def test_client_certificate_required_and_verified(backend, pki):
    from test_schannel_client_auth import _chain
    server_ctx = _client_auth_server(backend, pki)
    client = client_context(backend, pki, certificate_chain=_chain(pki)).wrap_buffers("localhost")
    server = server_ctx.wrap_buffers()
    _tls.handshake(client, server)
    chain = server.getpeercertchain()
    assert chain and "nativetls test client" in str(server.getpeercert()["subject"])
    # No certificate: the server refuses.
    server = server_ctx.wrap_buffers()
    with pytest.raises(TLSError):
        _tls.handshake(client_context(backend, pki).wrap_buffers("localhost"), server)


def test_untrusted_client_certificate(backend, pki):
    from test_schannel_client_auth import _chain
    server = _client_auth_server(backend, pki, trust="untrusted_ca").wrap_buffers()
    client = client_context(backend, pki, certificate_chain=_chain(pki)).wrap_buffers("localhost")
    with pytest.raises(CertificateVerificationError) as info:
        _tls.handshake(client, server)
    assert info.value.reason == "untrusted_root"


def test_missing_client_certificate_fails_the_server_handshake(backend, pki, monkeypatch):
    """The server's side of a client that sends no certificate: a clear error, and no Finished for the client.
    Under Wine the probe is overridden, so that the server asks (ASC_REQ_MUTUAL_AUTH) and, since Wine's server
    never sends a CertificateRequest, gets no certificate: the path a certificate-less client takes on Windows."""
    from nativetls._win import _context
    from test_schannel_client_auth import _chain
    if UNDER_WINE:
        monkeypatch.setitem(_context._PROBES, "certificate_request", True)
    server_ctx = server_context(backend, pki, trust_store=TrustStore.from_file(pki["ca"].cert))
    # A client that has a certificate but is not asked for it (Wine), or one without (Windows).
    client_fields = {"certificate_chain": _chain(pki)} if UNDER_WINE else {}
    client = client_context(backend, pki, **client_fields).wrap_buffers("localhost")
    server = server_ctx.wrap_buffers()
    with pytest.raises(CertificateVerificationError) as info:
        _tls.handshake(client, server)
    assert "the client sent no certificate" in str(info.value)
    assert server.process_outgoing() == b"", "the server must withhold its last flight"
    with pytest.raises(WantReadError):
        client.do_handshake()
    with pytest.raises(TLSError):
        server.do_handshake()


def test_server_verifies_client_chains_itself(backend, pki):
    """The verification a server applies to a client's chain (``verify_peer`` with clientAuth usage, no host
    name), on certificates as a client would send them: it runs everywhere, Wine included."""
    from nativetls._win._lowlevel import CertContext, CertStore
    from nativetls._win._verify import ChainEngine, verify_peer
    cases = (("client", "ca", None), ("client", "untrusted_ca", "untrusted_root"),
             ("server", "ca", "invalid_purpose"), ("self_signed", "ca", "self_signed"))
    for leaf_name, trust_name, reason in cases:
        engine = ChainEngine(TrustStore.from_file(pki[trust_name].cert))
        leaf = CertContext.from_der(pki[leaf_name].cert_der)
        sent = CertStore.memory([pki[leaf_name].cert_der] + [c.cert_der for c in pki[leaf_name].intermediates])
        try:
            if reason is None:
                verify_peer(leaf.handle, sent.handle, None, engine, server=False)
                continue
            with pytest.raises(CertificateVerificationError) as info:
                verify_peer(leaf.handle, sent.handle, None, engine, server=False)
            assert info.value.reason == reason, (leaf_name, trust_name, info.value)
        finally:
            leaf.close()
            sent.close()
            engine.close()


def test_server_key_and_client_key_in_one_process(backend, pki, openssl_server):
    """A server key imported first and a client key imported after it both keep working (under Wine each is moved
    out of the shared default key container into its own)."""
    from test_schannel_client_auth import CLIENT_SUBJECT, _chain
    server_ctx = server_context(backend, pki)
    with_cert = client_context(backend, pki, certificate_chain=_chain(pki))
    # The server's credentials are acquired now, after the client key's import: they must use the server key.
    client, server = with_cert.wrap_buffers("localhost"), server_ctx.wrap_buffers()
    _tls.handshake(client, server)
    client.write(b"ping")
    _tls.pump(client, server)
    assert server.read(10) == b"ping"
    # And the client key signs for the client, against s_server requiring a certificate.
    peer = openssl_server(verify_client_ca="intermediate", extra_args=["-partial_chain"])
    sock = socket.create_connection(peer.address, timeout=30)
    try:
        buf = with_cert.wrap_buffers("localhost")
        _pump(sock, buf, buf.do_handshake)
        buf.write(b"abc\n")
        _flush(sock, buf)
        assert _readline(sock, buf) == b"cba\n"
    finally:
        sock.close()
    assert CLIENT_SUBJECT in peer.stop()


def test_unsupported_server_configuration(backend, pki):
    with pytest.raises(ConfigurationError):
        backend.server_context(TLSConfiguration())  # no certificate


class _Serve(object):
    """Accept one connection on 127.0.0.1 and echo one line through an SChannel server TLSBuffer."""

    def __init__(self, context):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.context = context
        self.error = None
        self.info = {}
        self.thread = threading.Thread(target=self._run)
        self.thread.daemon = True
        self.thread.start()

    def _run(self):
        conn = None
        try:
            self.listener.settimeout(30)
            conn, _addr = self.listener.accept()
            conn.settimeout(30)
            buf = self.context.wrap_buffers()
            _pump(conn, buf, buf.do_handshake)
            self.info = {"version": buf.negotiated_tls_version, "alpn": buf.negotiated_protocol(),
                         "client_chain": buf.getpeercertchain()}
            line = b""
            while not line.endswith(b"\n"):
                chunk = _pump(conn, buf, buf.read, 4096)
                if not chunk:
                    break
                line += chunk
            buf.write(line.upper())
            buf.shutdown()
            _flush(conn, buf)
        except BaseException as exc:  # reported by join()
            self.error = exc
        finally:
            if conn is not None:
                conn.close()
            self.listener.close()

    def join(self):
        self.thread.join(60)
        if self.error is not None:
            raise self.error
        return self.info


def test_openssl_s_client(backend, pki, peerd):
    serve = _Serve(server_context(backend, pki, inner_protocols=[b"h2"]))
    job = peerd.request(op="s_client", port=serve.port, input="hello openssl\n",
                        args=["-verify_return_error", "-servername", "localhost", "-verify_hostname", "localhost",
                              "-alpn", "h2", "-ign_eof"]
                        + (["-CAfile", "intermediate", "-partial_chain"] if UNDER_WINE else ["-CAfile", "ca"]))
    try:
        info = serve.join()
    finally:
        result = peerd.request(op="result", id=job["id"])
        print(result.get("output"))
    output = result.get("output", "")
    assert "Verify return code: 0 (ok)" in output, output
    assert "ALPN protocol: h2" in output, output
    assert "HELLO OPENSSL" in output, output
    assert info["alpn"] is NextProtocol.H2


def test_stdlib_ssl_client_with_client_certificate(backend, pki, peerd):
    serve = _Serve(_client_auth_server(backend, pki, inner_protocols=[b"http/1.1"]))
    job = peerd.request(op="stdlib_client", port=serve.port, ca=_anchors(pki), cert="client",
                        alpn=["http/1.1"], data="hello stdlib\n")
    info = serve.join()
    result = peerd.request(op="result", id=job["id"])
    assert result.get("reply") == "HELLO STDLIB\n", result
    assert result["alpn"] == "http/1.1"
    assert result["version"] in ("TLSv1.2", "TLSv1.3")
    assert info["client_chain"], "the server saw no client certificate"


def test_server_sends_its_intermediates(backend, pki, peerd):
    serve = _Serve(server_context(backend, pki))
    job = peerd.request(op="stdlib_client", port=serve.port, ca="ca", data="root only\n")
    try:
        serve.join()
    except (TLSError, socket.error):
        pass
    try:
        result = peerd.request(op="result", id=job["id"])
    except RuntimeError as exc:  # the client failed
        if not UNDER_WINE:
            raise
        pytest.skip("Wine 10 difference: its SChannel server sends only the leaf, so a client trusting only the "
                    "root cannot build the chain: %s" % exc)
    assert result.get("reply") == "ROOT ONLY\n", result


def test_openssl_s_client_with_client_certificate(backend, pki, peerd):
    serve = _Serve(_client_auth_server(backend, pki))
    key = peerd.request(op="pki")["dir"] + "/client.key.pem"
    job = peerd.request(op="s_client", port=serve.port, input="hello client cert\n",
                        args=["-verify_return_error", "-servername", "localhost", "-cert", "client", "-key", key,
                              "-ign_eof"]
                        + (["-CAfile", "intermediate", "-partial_chain"] if UNDER_WINE else ["-CAfile", "ca"]))
    try:
        info = serve.join()
    finally:
        output = peerd.request(op="result", id=job["id"]).get("output", "")
    assert "HELLO CLIENT CERT" in output, output
    assert info["client_chain"] and info["client_chain"][0] == pki["client"].cert_der


# --- SNI: sni_callback and several signing chains ---------------------------------------------------------------

class Recorder(object):
    """An sni_callback recording its arguments and returning ``choose(server_name, configuration)``."""

    def __init__(self, choose=lambda name, configuration: configuration):
        self.calls = []
        self.choose = choose

    def __call__(self, buffer, server_name, configuration):
        self.calls.append((buffer, server_name, configuration))
        return self.choose(server_name, configuration)


def _chain_of(pki, name):
    return SigningChain.from_pem_files(pki[name].fullchain, pki[name].key)


def _connect(client_ctx, server_ctx, hostname):
    client, server = client_ctx.wrap_buffers(hostname), server_ctx.wrap_buffers()
    _tls.handshake(client, server)
    return client, server


def _outcome(client, server):
    """(client error, server error) of a handshake expected to fail."""
    errors = {}
    for _ in range(10):
        for name, side in (("client", client), ("server", server)):
            if name in errors:
                continue
            try:
                side.do_handshake()
            except WantReadError:
                pass
            except TLSError as exc:
                errors[name] = exc
        if not _tls.pump(client, server) and len(errors) == 2:
            break
    return errors.get("client"), errors.get("server")


def test_sni_feature(backend):
    assert "sni_callback" in backend.features


def test_sni_callback_arguments(backend, pki):
    recorder = Recorder()
    server_ctx = server_context(backend, pki, sni_callback=recorder)
    client, server = _connect(client_context(backend, pki), server_ctx, "localhost")
    assert len(recorder.calls) == 1
    buffer, name, configuration = recorder.calls[0]
    assert buffer is server
    assert name == "localhost" and isinstance(name, type(""))
    assert configuration is server_ctx.configuration
    client.write(b"x")
    _tls.pump(client, server)
    assert server.read(1) == b"x"


def test_sni_callback_gets_none_without_sni_and_u_labels(backend, pki):
    recorder = Recorder()
    server_ctx = server_context(backend, pki, sni_callback=recorder)
    _connect(client_context(backend, pki), server_ctx, None)  # no server_hostname: no SNI
    client = client_context(backend, pki).wrap_buffers("xn--bcher-kva.example")
    client_error, _server_error = _outcome(client, server_ctx.wrap_buffers())
    assert isinstance(client_error, CertificateVerificationError)  # the localhost certificate does not match
    assert [call[1] for call in recorder.calls] == [None, u"b\u00fccher.example"]


def test_sni_callback_switches_chain_and_alpn(backend, pki):
    other = TLSConfiguration(certificate_chain=_chain_of(pki, "wrong_host"), inner_protocols=[b"h2"])
    server_ctx = server_context(backend, pki, inner_protocols=[b"http/1.1"],
                                sni_callback=Recorder(lambda name, c: other if name == "wrong.example" else c))
    client_ctx = client_context(backend, pki, inner_protocols=[b"h2", b"http/1.1"])
    for hostname, leaf, alpn in (("wrong.example", "wrong_host", NextProtocol.H2),
                                 ("localhost", "server", NextProtocol.HTTP1),
                                 ("wrong.example", "wrong_host", NextProtocol.H2)):  # the second time: cached
        client, server = _connect(client_ctx, server_ctx, hostname)
        assert client.getpeercert(True) == pki[leaf].cert_der, hostname
        assert server.negotiated_protocol() is alpn and client.negotiated_protocol() is alpn
    assert len(server_ctx._by_configuration) == 1


def test_several_chains_selected_by_sni(backend, pki):
    server_ctx = backend.server_context(TLSConfiguration(
        certificate_chain=[_chain_of(pki, "server"), _chain_of(pki, "wrong_host")]))
    client_ctx = client_context(backend, pki)
    for hostname, leaf in (("wrong.example", "wrong_host"), ("WRONG.example", "wrong_host"),
                           ("localhost", "server"), ("127.0.0.1", "server")):  # no SNI: the first chain
        client, _server = _connect(client_ctx, server_ctx, hostname)
        assert client.getpeercert(True) == pki[leaf].cert_der, hostname


def test_sni_callback_switches_client_authentication(backend, pki):
    strict = TLSConfiguration(certificate_chain=_chain_of(pki, "wrong_host"),
                              trust_store=TrustStore.from_file(pki["ca"].cert))
    server_ctx = server_context(backend, pki,
                                sni_callback=Recorder(lambda name, c: strict if name == "wrong.example" else c))
    _connect(client_context(backend, pki), server_ctx, "localhost")
    client_error, server_error = _outcome(client_context(backend, pki).wrap_buffers("wrong.example"),
                                          server_ctx.wrap_buffers())
    assert isinstance(server_error, TLSError)
    if UNDER_WINE:  # the returned configuration asks for what this SChannel cannot do
        assert isinstance(server_error.__cause__, ConfigurationError), server_error
        assert "CertificateRequest" in str(server_error)
    else:
        assert "sent no certificate" in str(server_error)


class Boom(Exception):
    pass


def test_sni_callback_raising_aborts_the_handshake(backend, pki):
    boom = Boom("no configuration for you")

    def callback(buffer, server_name, configuration):
        raise boom

    server_ctx = server_context(backend, pki, sni_callback=callback)
    client, server = client_context(backend, pki).wrap_buffers("localhost"), server_ctx.wrap_buffers()
    client_error, server_error = _outcome(client, server)
    assert isinstance(server_error, TLSError) and server_error.__cause__ is boom
    assert "no configuration for you" in str(server_error)
    assert isinstance(client_error, TLSError) and not isinstance(client_error, WantReadError)
    with pytest.raises(TLSError):
        server.do_handshake()  # failed for good


@pytest.mark.parametrize("returned", [None, "banana", TLSConfiguration()], ids=["none", "str", "no-chain"])
def test_sni_callback_returning_an_unusable_configuration(backend, pki, returned):
    server_ctx = server_context(backend, pki, sni_callback=lambda buffer, name, configuration: returned)
    client_error, server_error = _outcome(client_context(backend, pki).wrap_buffers("localhost"),
                                          server_ctx.wrap_buffers())
    assert isinstance(server_error, TLSError)
    expected = ConfigurationError if isinstance(returned, TLSConfiguration) else TypeError
    assert isinstance(server_error.__cause__, expected), server_error
    assert isinstance(client_error, TLSError)


def test_sni_with_a_client_hello_arriving_byte_by_byte(backend, pki):
    recorder = Recorder()
    server = server_context(backend, pki, sni_callback=recorder).wrap_buffers()
    client = client_context(backend, pki).wrap_buffers("localhost")
    with pytest.raises(WantReadError):
        client.do_handshake()
    hello = client.process_outgoing()
    for index in range(len(hello) - 1):
        server.process_incoming(hello[index:index + 1])
        with pytest.raises(WantReadError):
            server.do_handshake()
        assert not recorder.calls and server.outgoing_bytes_buffered() == 0
    server.process_incoming(hello[-1:])
    _tls.handshake(client, server)
    assert [call[1] for call in recorder.calls] == ["localhost"]


def test_sni_callback_over_sockets_with_openssl_s_client(backend, pki, peerd):
    for args, expected in ((["-servername", "localhost"], "localhost"), (["-noservername"], None)):
        recorder = Recorder()
        serve = _Serve(server_context(backend, pki, sni_callback=recorder))
        job = peerd.request(op="s_client", port=serve.port, input="sni\n", args=args + ["-ign_eof"])
        try:
            serve.join()
        finally:
            output = peerd.request(op="result", id=job["id"]).get("output", "")
        assert "SNI" in output, output
        assert [call[1] for call in recorder.calls] == [expected]
