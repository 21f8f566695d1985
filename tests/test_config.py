"""TLSConfiguration: validation when built, immutability, update(), equality, PEP 748 spellings."""
from __future__ import absolute_import, division, print_function

import pytest

import nativetls
from nativetls import CipherSuite, NextProtocol, TLSConfiguration, TLSVersion
from _tls import chain_of


def test_defaults():
    config = TLSConfiguration()
    assert config.validate_certificates is True
    for name in ("certificate_chain", "ciphers", "inner_protocols", "lowest_supported_version",
                 "highest_supported_version", "trust_store", "sni_callback"):
        assert getattr(config, name) is None
    assert config.signing_chains == ()


def test_immutable():
    config = TLSConfiguration()
    with pytest.raises(AttributeError):
        config.validate_certificates = False
    with pytest.raises(AttributeError):
        del config.ciphers


def test_update_returns_a_changed_copy():
    config = TLSConfiguration(inner_protocols=[NextProtocol.H2])
    other = config.update(validate_certificates=False)
    assert config.validate_certificates is True and other.validate_certificates is False
    assert other.inner_protocols == (NextProtocol.H2,)
    with pytest.raises(TypeError):
        config.update(banana=1)


def test_equality_and_hash():
    a = TLSConfiguration(ciphers=[CipherSuite.TLS_AES_128_GCM_SHA256], inner_protocols=[b"h2"])
    b = TLSConfiguration(ciphers=(0x1301,), inner_protocols=(NextProtocol.H2,))
    assert a == b and hash(a) == hash(b)
    assert a != TLSConfiguration()
    assert len({a, b, TLSConfiguration()}) == 2


@pytest.mark.parametrize("value", ["banana", "TLSv9"])
def test_bad_version_value(value):
    with pytest.raises(ValueError):
        TLSConfiguration(lowest_supported_version=value)


def test_version_as_string_is_accepted():
    assert TLSConfiguration(lowest_supported_version="TLSv1.3").lowest_supported_version is TLSVersion.TLSv1_3


def test_bad_version_type():
    with pytest.raises(TypeError):
        TLSConfiguration(highest_supported_version=1.2)


def test_lowest_above_highest():
    with pytest.raises(ValueError):
        TLSConfiguration(lowest_supported_version=TLSVersion.TLSv1_3,
                         highest_supported_version=TLSVersion.TLSv1_2)
    with pytest.raises(ValueError):  # the default lowest is TLS 1.2: older versions must be asked for explicitly
        TLSConfiguration(highest_supported_version=TLSVersion.TLSv1_1)
    TLSConfiguration(lowest_supported_version=TLSVersion.TLSv1, highest_supported_version=TLSVersion.TLSv1_1)


def test_sentinels_in_the_wrong_place():
    with pytest.raises(ValueError):
        TLSConfiguration(highest_supported_version=TLSVersion.MINIMUM_SUPPORTED)
    with pytest.raises(ValueError):
        TLSConfiguration(lowest_supported_version=TLSVersion.MAXIMUM_SUPPORTED)


@pytest.mark.parametrize("ciphers,error", [
    ("ECDHE-RSA-AES128-GCM-SHA256", TypeError), (["TLS_AES_128_GCM_SHA256"], TypeError), ([1.5], TypeError),
    ([True], TypeError), ([0x10000], ValueError), ([-1], ValueError), ([], ValueError),
])
def test_bad_ciphers(ciphers, error):
    with pytest.raises(error):
        TLSConfiguration(ciphers=ciphers)


def test_ciphers_normalised():
    config = TLSConfiguration(ciphers=[0x1301, CipherSuite.TLS_CHACHA20_POLY1305_SHA256, 0xFEFE])
    assert config.ciphers == (CipherSuite.TLS_AES_128_GCM_SHA256, CipherSuite.TLS_CHACHA20_POLY1305_SHA256, 0xFEFE)
    assert isinstance(config.ciphers[0], CipherSuite) and not isinstance(config.ciphers[2], CipherSuite)


@pytest.mark.parametrize("protocols,error", [
    ([1.5], TypeError), (b"h2", TypeError), ([u"h2"], TypeError), ([b""], ValueError), ([b"x" * 256], ValueError),
])
def test_bad_inner_protocols(protocols, error):
    with pytest.raises(error):
        TLSConfiguration(inner_protocols=protocols)


def test_inner_protocols_normalised():
    config = TLSConfiguration(inner_protocols=[b"h2", b"spdy/3", NextProtocol.HTTP1])
    assert config.inner_protocols == (NextProtocol.H2, b"spdy/3", NextProtocol.HTTP1)


def test_other_type_errors():
    with pytest.raises(TypeError):
        TLSConfiguration(validate_certificates=1)
    with pytest.raises(TypeError):
        TLSConfiguration(trust_store="/etc/ssl/certs/ca-certificates.crt")
    with pytest.raises(TypeError):
        TLSConfiguration(sni_callback=42)
    with pytest.raises(TypeError):
        TLSConfiguration(certificate_chain="cert.pem")


def test_certificate_chain_forms(pki):
    chain = chain_of(pki.server)
    leaf, key = chain.leaf
    pep543 = TLSConfiguration(certificate_chain=((leaf,) + chain.chain, key))
    assert pep543.signing_chains[0].leaf[0] == leaf
    assert pep543.signing_chains[0].chain == chain.chain
    several = TLSConfiguration(certificate_chain=[chain, chain_of(pki.client)])
    assert len(several.signing_chains) == 2 and isinstance(several.certificate_chain, tuple)
    assert TLSConfiguration(certificate_chain=chain).signing_chains == (chain,)


def test_pep748_spellings():
    client = nativetls.TLSClientConfiguration(inner_protocols=[b"h2"])
    server = nativetls.TLSServerConfiguration()
    assert isinstance(client, TLSConfiguration) and isinstance(server, TLSConfiguration)
    assert client.update(inner_protocols=None).__class__ is nativetls.TLSClientConfiguration
    assert nativetls.TLSWrappedBuffer is nativetls.TLSBuffer
    assert nativetls.TLSWrappedSocket is nativetls.TLSSocket


def test_repr_names_changed_fields():
    assert "validate_certificates=False" in repr(TLSConfiguration(validate_certificates=False))
