"""Certificate, PrivateKey, SigningChain, TrustStore: loading from PEM/DER files and buffers, and their errors."""
from __future__ import absolute_import, division, print_function

import io

import pytest

import nativetls
from nativetls import Certificate, PrivateKey, SigningChain, TrustStore
from _tls import client_context, handshake, server_context


def test_certificate_pem_der_file_buffer(pki):
    a = Certificate.from_buffer(pki.server.cert_pem)
    b = Certificate.from_buffer(pki.server.cert_der)
    c = Certificate.from_file(pki.server.cert_path)
    d = Certificate.from_file(pki.server.cert_der_path)
    assert a == b == c == d and hash(a) == hash(d)
    assert a.to_der() == pki.server.cert_der
    assert Certificate.from_buffer(a.to_pem()) == a
    assert "localhost" in a.subject and "localhost" in repr(a)


def test_certificate_errors(tmp_path):
    with pytest.raises(ValueError):
        Certificate.from_buffer(b"not a certificate")
    with pytest.raises(ValueError):
        Certificate.from_buffer(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(TypeError):
        Certificate.from_buffer(12)
    with pytest.raises((IOError, OSError)):
        Certificate.from_file(str(tmp_path / "missing.pem"))


def test_private_key_forms(pki):
    for data in (pki.server.key_pem, pki.server.key_der, pki.server.private_bytes(traditional=True)):
        key = PrivateKey.from_buffer(data)
        assert not key.is_encrypted
        server_context(pki, certificate_chain=SigningChain(
            (Certificate.from_buffer(pki.server.cert_pem), key)))


@pytest.mark.parametrize("traditional", [False, True])
@pytest.mark.parametrize("kind", ["bytes", "str", "callable"])
def test_encrypted_keys(pki, kind, traditional):
    path = pki.server.encrypted_key_path(b"s3cret", traditional=traditional)
    password = {"bytes": b"s3cret", "str": u"s3cret", "callable": lambda: b"s3cret"}[kind]
    key = PrivateKey.from_file(path, password=password)
    assert key.is_encrypted
    ctx = server_context(pki, certificate_chain=SigningChain((Certificate.from_buffer(pki.server.cert_pem), key),
                                                             [Certificate.from_buffer(pki.intermediate.cert_pem)]))
    c, s = client_context(pki).wrap_buffers("localhost"), ctx.wrap_buffers()
    handshake(c, s)


def test_wrong_or_missing_password_is_a_configuration_error(pki):
    path = pki.server.encrypted_key_path(b"s3cret")
    cert = Certificate.from_buffer(pki.server.cert_pem)
    for password in (b"wrong", None):
        key = PrivateKey.from_file(path, password=password)
        with pytest.raises(nativetls.ConfigurationError):
            server_context(pki, certificate_chain=SigningChain((cert, key)))


def test_key_not_matching_certificate(pki):
    chain = SigningChain((Certificate.from_buffer(pki.server.cert_pem), PrivateKey.from_buffer(pki.client.key_pem)))
    with pytest.raises(nativetls.ConfigurationError) as info:
        server_context(pki, certificate_chain=chain)
    assert "does not match" in str(info.value)


def test_private_key_errors():
    with pytest.raises(ValueError):
        PrivateKey.from_buffer(b"garbage")
    with pytest.raises(TypeError):
        PrivateKey.from_buffer(b"x", password=42)


def test_signing_chain(pki):
    chain = SigningChain.from_pem_files(pki.server.fullchain_path, pki.server.key_path)
    assert chain.leaf[0] == Certificate.from_buffer(pki.server.cert_pem)
    assert chain.chain == (Certificate.from_buffer(pki.intermediate.cert_pem),)
    with pytest.raises(TypeError):
        SigningChain(("cert", "key"))
    with pytest.raises(TypeError):
        SigningChain((chain.leaf[0], chain.leaf[1]), ["not a cert"])
    assert "localhost" in repr(chain)


def test_trust_store(pki, tmp_path):
    from_file = TrustStore.from_pem_file(pki.ca.cert_path)
    assert from_file == TrustStore.from_buffer(pki.ca.cert_pem) == TrustStore.from_file(pki.ca.cert_der_path)
    both = TrustStore.from_buffer(pki.ca.cert_pem + pki.untrusted_ca.cert_pem)
    assert len(both.certificates) == 2
    system = TrustStore.system()
    assert system.is_system and system.certificates is None and system == TrustStore.system()
    revoking = from_file.with_crls(pki.crls_path)
    assert len(revoking.crls) == 2 and revoking != from_file
    with io.open(pki.crls_path, "rb") as handle:
        assert from_file.with_crls(handle.read()).crls == revoking.crls
    with pytest.raises(ValueError):
        from_file.with_crls(b"not a crl")
    with pytest.raises(ValueError):
        TrustStore.from_buffer(b"nothing here")
    assert "2 certificate" in repr(both) and "system" in repr(system)
