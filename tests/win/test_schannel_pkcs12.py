# -*- coding: utf-8 -*-
"""SigningChain.from_pkcs12 on SChannel (PFXImportCertStore): files made by cryptography (AES-256 and 3DES) and by
``openssl pkcs12 -export`` (AES-256 and ``-legacy``), as a client certificate against ``openssl s_server
-Verify`` and as a server identity (Wine 10 / Windows), and the errors."""
from __future__ import absolute_import, division, print_function, unicode_literals

import pytest

from conftest import UNDER_WINE, windows_path
from test_schannel_client import Client
from test_schannel_client_auth import CLIENT_SUBJECT, _echo_round_trip, _server

nativetls = pytest.importorskip("nativetls")
from nativetls import SigningChain, TLSConfiguration, TrustStore  # noqa: E402
import _tls  # noqa: E402  (tests/_tls.py: conftest puts tests/ on sys.path)

MAKERS = [
    pytest.param({"legacy": False}, id="cryptography-aes256"),
    pytest.param({"legacy": True}, id="cryptography-3des"),
    pytest.param({"legacy": False, "tool": "openssl"}, id="openssl-aes256"),
    pytest.param({"legacy": True, "tool": "openssl"}, id="openssl-legacy-rc2"),
]


def _p12(peerd, cert, **how):
    return windows_path(peerd.request(op="pkcs12", cert=cert, password="pw", **how)["path"])


@pytest.mark.parametrize("how", MAKERS)
def test_reads_the_chain(backend, pki, peerd, how):
    chain = SigningChain.from_pkcs12(_p12(peerd, "client", **how), "pw")
    assert CLIENT_SUBJECT in chain.leaf[0].subject
    assert [c.to_der() for c in chain.chain] == [pki["intermediate"].cert_der]
    with open(_p12(peerd, "client", **how), "rb") as handle:
        assert SigningChain.from_pkcs12(handle.read(), b"pw").leaf[0] == chain.leaf[0]


@pytest.mark.parametrize("how", MAKERS)
def test_client_certificate_from_pkcs12(backend, pki, peerd, openssl_server, how):
    chain = SigningChain.from_pkcs12(_p12(peerd, "client", **how), "pw")
    peer = _server(openssl_server)
    with Client(backend, pki, certificate_chain=chain).connected(peer) as (sock, buf):
        _echo_round_trip(sock, buf)
    output = peer.stop()
    assert CLIENT_SUBJECT in output, "s_server did not report our certificate:\n" + output


@pytest.mark.parametrize("how", MAKERS)
def test_server_identity_from_pkcs12(backend, pki, peerd, how):
    if "server" not in backend.features:
        assert UNDER_WINE, "AcceptSecurityContext must work on Windows"
        pytest.skip("Wine 8 difference: no SChannel server side; this runs under Wine 10 (.ci/wine/test-wine10.sh)")
    chain = SigningChain.from_pkcs12(_p12(peerd, "server", **how), "pw")
    server = backend.server_context(TLSConfiguration(certificate_chain=chain))
    anchors = ["ca", "intermediate"] if UNDER_WINE else ["ca"]  # a Wine server sends no intermediates
    client = backend.client_context(TLSConfiguration(
        trust_store=TrustStore.from_buffer(b"".join(pki[name].cert_pem for name in anchors))))
    c, s = client.wrap_buffers("localhost"), server.wrap_buffers()
    _tls.handshake(c, s)
    assert c.getpeercert(True) == pki["server"].cert_der
    c.write(b"ping")
    _tls.pump(c, s)
    assert _tls.drive_read(s, c) == b"ping"


@pytest.mark.parametrize("how", MAKERS[:1] + MAKERS[2:3])
def test_wrong_password(backend, peerd, how):
    path = _p12(peerd, "client", **how)
    with pytest.raises(ValueError) as info:
        SigningChain.from_pkcs12(path, "wrong")
    assert "wrong password" in str(info.value)


def test_no_private_key(backend, peerd):
    path = windows_path(peerd.request(op="pkcs12", cert="client", password="pw", tool="openssl",
                                      with_key=False)["path"])
    with pytest.raises(ValueError) as info:
        SigningChain.from_pkcs12(path, "pw")
    assert "private key" in str(info.value)


def test_not_pkcs12(backend, pki):
    with pytest.raises(ValueError) as info:
        SigningChain.from_pkcs12(b"\x30\x03\x02\x01\x03", "pw")
    assert "not a PKCS#12" in str(info.value)
    with pytest.raises(ValueError) as info:
        SigningChain.from_pkcs12(pki["server"].fullchain, "pw")
    assert "not a PKCS#12" in str(info.value)


@pytest.mark.parametrize("how", MAKERS[1:2] + MAKERS[3:4])
def test_server_identity_from_pkcs12_with_openssl_s_client(backend, pki, peerd, how):
    """A real peer: openssl s_client (on the Linux side) against an SChannel server whose identity is a legacy
    PKCS#12 file (3DES from cryptography, RC2/3DES from openssl -legacy)."""
    if "server" not in backend.features:
        pytest.skip("Wine 8 difference: no SChannel server side; this runs under Wine 10 (.ci/wine/test-wine10.sh)")
    from test_schannel_server import _Serve
    chain = SigningChain.from_pkcs12(_p12(peerd, "server", **how), "pw")
    serve = _Serve(backend.server_context(TLSConfiguration(certificate_chain=chain)))
    job = peerd.request(op="s_client", port=serve.port, input="hello pkcs12\n",
                        args=["-verify_return_error", "-servername", "localhost", "-verify_hostname", "localhost",
                              "-ign_eof"]
                        + (["-CAfile", "intermediate", "-partial_chain"] if UNDER_WINE else ["-CAfile", "ca"]))
    try:
        serve.join()
    finally:
        result = peerd.request(op="result", id=job["id"])
    output = result.get("output", "")
    assert "Verify return code: 0 (ok)" in output, output
    assert "HELLO PKCS12" in output, output
