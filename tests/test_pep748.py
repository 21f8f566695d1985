# -*- coding: utf-8 -*-
"""Programs written only against PEP 748's API (the API of its reference implementation, tlslib) run on nativetls.

Each ``program_*`` function below uses nothing but PEP 748's names and calls, reached through ``tls``,
``implementation``, ``insecure`` and ``insecure_implementation``: with tlslib those four come from the import
lines quoted in ``pep748_names``, on nativetls from the lines below them; nothing else in a program changes. The
programs are written for tlslib's non-blocking sockets (they retry on WantReadError), connect to 127.0.0.1 over
real sockets, and run on Python 2.7 and 3.x. Where nativetls deliberately differs (docs/migration.md, "From PEP 748
/ tlslib"), the programs keep to the common ground, and the tests at the end check the differences themselves.
"""
from __future__ import absolute_import, division, print_function

import threading
import warnings

import pytest

WAIT = 10.0


def pep748_names():
    """The import lines. With tlslib::

        import tlslib.tlslib as tls
        from tlslib.stdlib import STDLIB_IMPLEMENTATION as implementation
        from tlslib import insecure
        from tlslib.insecure.stdlib_insecure import STDLIB_INSECURE_IMPLEMENTATION as insecure_implementation
    """
    import nativetls as tls
    from nativetls import insecure
    implementation = tls.backend()
    insecure_implementation = insecure.implementation()
    return tls, implementation, insecure, insecure_implementation


@pytest.fixture
def names():
    with warnings.catch_warnings(record=True) as caught:  # the insecure implementation warns when made
        warnings.simplefilter("always")
        result = pep748_names()
    assert [w for w in caught if issubclass(w.category, result[0].SecurityWarning)]
    return result


# --- the programs (PEP 748 API only) ------------------------------------------------------------------------------

def _recv_some(tls, sock):
    """tlslib's sockets are non-blocking: retry on WantReadError until data (or b"") comes."""
    while True:
        try:
            return sock.recv(4096)
        except tls.WantReadError:
            continue


def _serve_echo(tls, listener, results):
    """Accept one connection and echo b"echo: " + each message until the client's close_notify."""
    conn, _address = listener.accept()
    try:
        while True:
            msg = _recv_some(tls, conn)
            if not msg:
                break
            results.append((conn.negotiated_tls_version, conn.cipher(), conn.negotiated_protocol()))
            conn.send(b"echo: " + msg)
    finally:
        while True:
            try:
                conn.close(force=False)  # ours too, and the two-way close completes
                break
            except tls.WantReadError:
                continue


def program_echo_over_sockets(names, ca_path, cert_path, key_path, chain_path):
    tls, implementation, _insecure, _insecure_implementation = names
    leaf = (tls.Certificate.from_file(cert_path), tls.PrivateKey.from_file(key_path))
    chain = tls.SigningChain(leaf=leaf, chain=[tls.Certificate.from_file(chain_path)])
    server_config = tls.TLSServerConfiguration(
        certificate_chain=[chain], ciphers=tls.DEFAULT_CIPHER_LIST,
        inner_protocols=[tls.NextProtocol.H2, tls.NextProtocol.HTTP1],
        lowest_supported_version=tls.TLSVersion.TLSv1_2, highest_supported_version=tls.TLSVersion.TLSv1_3)
    implementation.validate_config(server_config)
    server_ctx = implementation.server_context(server_config)
    listener = server_ctx.connect(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    results = []
    thread = threading.Thread(target=_serve_echo, args=(tls, listener, results))
    thread.daemon = True
    thread.start()

    client_config = tls.TLSClientConfiguration(trust_store=tls.TrustStore.from_file(ca_path),
                                               inner_protocols=[tls.NextProtocol.H2])
    implementation.validate_config(client_config)
    assert client_config.certificate_chain is None and client_config.ciphers is None
    client_ctx = implementation.client_context(client_config)
    assert client_ctx.configuration is client_config
    sock = client_ctx.connect(("127.0.0.1", port))
    sock.send(b"hello")
    reply = _recv_some(tls, sock)
    seen = (sock.negotiated_tls_version, sock.cipher(), sock.negotiated_protocol())
    assert sock.context is client_ctx
    sock.close(force=True)
    after = (sock.negotiated_tls_version, sock.cipher(), sock.negotiated_protocol())
    thread.join(WAIT)
    listener.close()
    return reply, seen, after, results


def program_leaf_file_holds_the_key(names, ca_path, combined_path):
    tls, implementation, _insecure, _insecure_implementation = names
    chain = tls.SigningChain(leaf=(tls.Certificate.from_file(combined_path), None))
    server_ctx = implementation.server_context(tls.TLSServerConfiguration(certificate_chain=[chain]))
    listener = server_ctx.connect(("127.0.0.1", 0))
    thread = threading.Thread(target=_serve_echo, args=(tls, listener, []))
    thread.daemon = True
    thread.start()
    client_ctx = implementation.client_context(tls.TLSClientConfiguration(
        trust_store=tls.TrustStore(path=ca_path)))
    sock = client_ctx.connect(("127.0.0.1", listener.getsockname()[1]))
    sock.send(b"key in the certificate file")
    reply = _recv_some(tls, sock)
    sock.close(force=False)
    thread.join(WAIT)
    listener.close()
    return reply


def program_buffers(names, ca_pem, cert_pem, key_pem, chain_pem):
    tls, implementation, _insecure, _insecure_implementation = names
    chain = tls.SigningChain(leaf=(tls.Certificate(buffer=cert_pem), tls.PrivateKey(buffer=key_pem)),
                             chain=[tls.Certificate.from_buffer(chain_pem)])
    server = implementation.server_context(tls.TLSServerConfiguration(certificate_chain=[chain])).create_buffer()
    client = implementation.client_context(tls.TLSClientConfiguration(
        trust_store=tls.TrustStore.from_buffer(ca_pem))).create_buffer("localhost")

    def pump():
        for src, dst in ((client, server), (server, client)):
            while src.outgoing_bytes_buffered():
                dst.process_incoming(src.process_outgoing(16384))

    done = set()
    for _ in range(10):
        for side in (client, server):
            if side not in done:
                try:
                    side.do_handshake()
                    done.add(side)
                except tls.WantReadError:
                    pass
        pump()
    assert len(done) == 2
    client.write(b"ping")
    pump()
    got = server.read(1024)
    versions = (client.negotiated_tls_version, server.negotiated_tls_version)
    ciphers = (client.cipher(), server.cipher())
    client.shutdown()
    pump()
    assert server.read(1024) == b""
    return got, versions, ciphers, client.context, server.context


def program_runtime_access(names, cert_path, key_path):
    tls, implementation, _insecure, _insecure_implementation = names
    assert isinstance(implementation, tls.TLSImplementation)
    problems = []
    good = tls.TLSServerConfiguration(certificate_chain=[tls.SigningChain(
        leaf=(tls.Certificate.from_file(cert_path), tls.PrivateKey.from_file(key_path)))])
    implementation.validate_config(good)
    for config in (tls.TLSClientConfiguration(trust_store=tls.TrustStore.from_id(b"system:MY")),
                   tls.TLSServerConfiguration(certificate_chain=[tls.SigningChain(
                       leaf=(tls.Certificate.from_id(b"cert-1"), tls.PrivateKey.from_id(b"key-1")))]),
                   tls.TLSClientConfiguration(ciphers=[tls.CipherSuite.TLS_AES_128_GCM_SHA256],
                                              highest_supported_version=tls.TLSVersion.TLSv1_2)):
        try:
            implementation.validate_config(config)
        except tls.ConfigurationError as exc:
            problems.append(str(exc))
    custom = tls.TLSImplementation(client_context=implementation.client_context,
                                   server_context=implementation.server_context,
                                   validate_config=implementation.validate_config)
    return problems, custom.client_context is implementation.client_context


def program_insecure(names, self_signed_cert_path, self_signed_key_path, ca_path, wrong_cert_path, wrong_key_path,
                     chain_path):
    tls, _implementation, insecure, insecure_implementation = names
    replies = []
    for cert_path, key_path, chain_paths, options, trust in (
            (self_signed_cert_path, self_signed_key_path, [],
             dict(disable_hostname_check=True, disable_verification=True), None),
            (wrong_cert_path, wrong_key_path, [chain_path], dict(disable_hostname_check=True),
             tls.TrustStore.from_file(ca_path))):
        chain = tls.SigningChain(leaf=(tls.Certificate.from_file(cert_path), tls.PrivateKey.from_file(key_path)),
                                 chain=[tls.Certificate.from_file(p) for p in chain_paths])
        server_ctx = insecure_implementation.server_context(tls.TLSServerConfiguration(certificate_chain=[chain]))
        listener = server_ctx.connect(("127.0.0.1", 0))
        thread = threading.Thread(target=_serve_echo, args=(tls, listener, []))
        thread.daemon = True
        thread.start()
        client_ctx = insecure_implementation.insecure_client_context(
            tls.TLSClientConfiguration(trust_store=trust), insecure.InsecureConfiguration(**options))
        assert client_ctx.insecure_configuration.disable_hostname_check
        sock = client_ctx.connect(("127.0.0.1", listener.getsockname()[1]))
        sock.send(b"insecure")
        replies.append(_recv_some(tls, sock))
        sock.close(force=True)
        thread.join(WAIT)
        listener.close()
    try:
        insecure.InsecureConfiguration(disable_verification=True)
    except ValueError:
        replies.append("refused")
    return replies


def _best(tls):
    """The newest version the running backend speaks (TLS 1.2 on a libssl without TLS 1.3, such as 1.0.2)."""
    return tls.TLSVersion.TLSv1_3 if "tls1_3" in tls.backend().features else tls.TLSVersion.TLSv1_2


# --- running them -------------------------------------------------------------------------------------------------

@pytest.mark.needs("tls1_3")  # the program asks for highest_supported_version=TLSv1_3 explicitly
def test_echo_over_sockets(names, pki):
    tls = names[0]
    reply, seen, after, served = program_echo_over_sockets(
        names, pki.ca.cert_path, pki.server.cert_path, pki.server.key_path, pki.intermediate.cert_path)
    assert reply == b"echo: hello"
    assert seen[0] is _best(tls) and seen[1] in tls.DEFAULT_CIPHER_LIST
    assert seen[2] is tls.NextProtocol.H2
    assert after == (None, None, None)
    assert served == [seen]


def test_leaf_file_holds_the_key(names, pki, tmp_path):
    combined = tmp_path / "server-with-key.pem"
    combined.write_bytes(pki.server.fullchain_pem + pki.server.key_pem)
    assert program_leaf_file_holds_the_key(names, pki.ca.cert_path, str(combined)) == \
        b"echo: key in the certificate file"


def test_buffers(names, pki):
    tls = names[0]
    got, versions, ciphers, client_ctx, server_ctx = program_buffers(
        names, pki.ca.cert_pem, pki.server.cert_pem, pki.server.key_pem, pki.intermediate.cert_pem)
    assert got == b"ping"
    assert versions == (_best(tls),) * 2 and ciphers[0] == ciphers[1]
    assert isinstance(client_ctx, tls.ClientContext) and isinstance(server_ctx, tls.ServerContext)


def test_runtime_access(names, pki):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", names[0].SecurityWarning)
        problems, same = program_runtime_access(names, pki.server.cert_path, pki.server.key_path)
    assert same
    assert len(problems) == 3
    assert "identity" in problems[0] and "identity" in problems[1]
    assert "TLS_AES_128_GCM_SHA256" in problems[2] and "TLSv1.3" in problems[2]


def test_insecure(names, pki):
    tls = names[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        replies = program_insecure(names, pki.self_signed.cert_path, pki.self_signed.key_path, pki.ca.cert_path,
                                   pki.wrong_host.cert_path, pki.wrong_host.key_path, pki.intermediate.cert_path)
    assert replies == [b"echo: insecure", b"echo: insecure", "refused"]
    assert len([w for w in caught if issubclass(w.category, tls.SecurityWarning)]) >= 4


# --- what the programs rely on, and the deliberate differences ---------------------------------------------------

def test_insecure_contexts_still_check_what_they_keep(names, pki):
    tls, _implementation, insecure, insecure_implementation = names
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tls.SecurityWarning)
        only_hostname = insecure.InsecureConfiguration(disable_hostname_check=True)
        client_ctx = insecure_implementation.insecure_client_context(tls.TLSClientConfiguration(), only_hostname)
    assert isinstance(client_ctx, tls.ClientContext) and isinstance(client_ctx, insecure.InsecureClientContext)
    server_ctx = tls.ServerContext(tls.TLSServerConfiguration(certificate_chain=[tls.SigningChain(
        leaf=(tls.Certificate.from_file(pki.self_signed.cert_path),
              tls.PrivateKey.from_file(pki.self_signed.key_path)))]))
    client, server = client_ctx.create_buffer("localhost"), server_ctx.create_buffer()
    with pytest.raises(tls.CertificateVerificationError):  # the chain is still verified (system store)
        for _ in range(10):
            for side in (client, server):
                try:
                    side.do_handshake()
                except tls.WantReadError:
                    pass
            for src, dst in ((client, server), (server, client)):
                data = src.process_outgoing()
                if data:
                    dst.process_incoming(data)
    with pytest.raises(TypeError):
        insecure_implementation.insecure_client_context(tls.TLSClientConfiguration(), object())


def test_value_object_constructors(pki):
    import nativetls as tls
    cert = tls.Certificate(path=pki.server.cert_path)
    assert cert == tls.Certificate(buffer=pki.server.cert_der) == tls.Certificate.from_file(pki.server.cert_der_path)
    assert tls.PrivateKey(path=pki.server.key_path, password=None).is_encrypted is False
    for make in (tls.Certificate, tls.PrivateKey):
        with pytest.raises(ValueError):
            make()
        with pytest.raises(ValueError):
            make(buffer=b"x", path="y")
    assert tls.TrustStore().is_system and tls.TrustStore(buffer=pki.ca.cert_pem).certificates[0].to_der() == \
        pki.ca.cert_der
    by_id = tls.Certificate.from_id(b"cert-1")
    assert by_id == tls.Certificate(id=b"cert-1") and "cert-1" in repr(by_id)
    with pytest.raises(tls.ConfigurationError) as info:
        by_id.to_der()
    assert "no identity-based store" in str(info.value)
    with pytest.raises(tls.ConfigurationError):
        tls.TrustStore.from_id(b"MY").certificates
    assert not tls.TrustStore.from_id(b"MY").is_system
    with pytest.raises(ValueError):  # a key of None needs a certificate file that holds one
        tls.SigningChain(leaf=(cert, None))
    assert tls.SigningChain(leaf=(cert, tls.PrivateKey.from_file(pki.server.key_path)), chain=None).chain == ()


def test_pep748_configurations(pki):
    import nativetls as tls
    config = tls.TLSClientConfiguration()
    assert config.inner_protocols == () and config == tls.TLSConfiguration() == tls.TLSClientConfiguration(
        inner_protocols=())
    assert tls.TLSConfiguration().inner_protocols is None  # PEP 543's spelling keeps None
    assert hash(config) == hash(tls.TLSConfiguration())
    positional = tls.TLSServerConfiguration(None, [0x1301], [b"h2"], tls.TLSVersion.TLSv1_3)  # PEP 748's order
    assert positional.ciphers == (tls.CipherSuite.TLS_AES_128_GCM_SHA256,)
    assert positional.inner_protocols == (tls.NextProtocol.H2,)
    assert positional.lowest_supported_version is tls.TLSVersion.TLSv1_3
    assert positional.update(inner_protocols=None).inner_protocols == ()
    assert "inner_protocols" not in repr(config)


def test_close_without_argument_keeps_ssl_behaviour(pki):
    # docs/migration.md: PEP 748's close() waits for the peer's close_notify; nativetls's close() does not.
    import nativetls as tls
    server_ctx = tls.ServerContext(tls.TLSServerConfiguration(certificate_chain=[tls.SigningChain(
        leaf=(tls.Certificate.from_file(pki.server.cert_path), tls.PrivateKey.from_file(pki.server.key_path)),
        chain=[tls.Certificate.from_file(pki.intermediate.cert_path)])]))
    listener = server_ctx.connect(("127.0.0.1", 0))
    accepted = []
    release = threading.Event()

    def serve():
        conn, _ = listener.accept()
        accepted.append(conn)
        release.wait(WAIT)  # never answers close_notify while the client closes
        conn.close()

    thread = threading.Thread(target=serve)
    thread.daemon = True
    thread.start()
    client_ctx = tls.ClientContext(tls.TLSClientConfiguration(trust_store=tls.TrustStore.from_file(pki.ca.cert_path)))
    sock = client_ctx.connect(("127.0.0.1", listener.getsockname()[1]))
    sock.close()  # returns at once
    assert sock.fileno() == -1
    release.set()
    thread.join(WAIT)
    listener.close()
