# -*- coding: utf-8 -*-
"""The SChannel backend's pure-Python PKCS#12 builder (``nativetls._win._pkcs12``), checked on Linux against
``cryptography``'s PKCS#12 reader and writer. (Importing the result with PFXImportCertStore is exercised under
Wine: tests/win/test_schannel_client_auth.py.)"""
from __future__ import absolute_import, division, print_function, unicode_literals

import pytest
from cryptography.hazmat.backends import default_backend
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from nativetls._win import _pkcs12


def _numbers(key):
    return key.private_numbers()


def _load(blob, password):
    return pkcs12.load_key_and_certificates(blob, password.encode("utf-8"), default_backend())


@pytest.mark.parametrize("form", ["pkcs8", "traditional", "encrypted_pkcs8", "der_pkcs8"])
def test_rsa_key_and_chain_round_trip(pki, form):
    cred = pki.client
    password = "s3cret" if form == "encrypted_pkcs8" else _pkcs12.random_password()
    if form == "pkcs8":
        pem = cred.key_pem
    elif form == "traditional":
        pem = cred.private_bytes(traditional=True)
    elif form == "encrypted_pkcs8":
        pem = cred.private_bytes(password=password)
    else:
        from asn1crypto import pem as asn1_pem
        pem = asn1_pem.armor("PRIVATE KEY", cred.key_der)
    blob = _pkcs12.build_pfx([cred.cert_der, pki.intermediate.cert_der], pem, password)
    key, cert, extra = _load(blob, password)
    assert _numbers(key) == _numbers(cred.key)
    assert cert.public_bytes(serialization.Encoding.DER) == cred.cert_der
    assert [c.public_bytes(serialization.Encoding.DER) for c in extra] == [pki.intermediate.cert_der]
    assert _pkcs12.mac_verifies(blob, password) is True
    assert _pkcs12.mac_verifies(blob, "wrong") is False
    with pytest.raises(ValueError):
        _load(blob, "wrong")


def test_ec_key(cert_factory, pki):
    cred = cert_factory.leaf(pki.intermediate, "ec.example", key="p256")
    password = _pkcs12.random_password()
    blob = _pkcs12.build_pfx([cred.cert_der], cred.private_bytes(traditional=True), password)
    key, _cert, _extra = _load(blob, password)
    assert _numbers(key) == _numbers(cred.key)


def test_traditional_encryption_is_refused(pki):
    pem = pki.client.private_bytes(password=b"pw", traditional=True)
    with pytest.raises(ValueError) as info:
        _pkcs12.build_pfx([pki.client.cert_der], pem, "pw")
    assert "PKCS#8" in str(info.value)


def test_mac_of_pfx_written_by_cryptography(pki):
    """pkcs12_kdf agrees with another implementation (cryptography's PFX, SHA-1 or SHA-256 MAC)."""
    cred = pki.client
    blob = pkcs12.serialize_key_and_certificates(b"client", cred.key, cred.cert, None,
                                                 serialization.BestAvailableEncryption(b"pw"))
    assert _pkcs12.mac_verifies(blob, "pw") is True
    assert _pkcs12.mac_verifies(blob, "pW") is False
    assert _pkcs12.mac_verifies(b"not a pfx", "pw") is None


def test_kdf_known_answer():
    """RFC 7292 B.2 with SHA-1: a vector computed by OpenSSL's PKCS12_key_gen_uni (salt 0x0A58CF64530D823F,
    password "smeg", ID 1, 1 iteration, 24 bytes)."""
    salt = bytes(bytearray([0x0A, 0x58, 0xCF, 0x64, 0x53, 0x0D, 0x82, 0x3F]))
    key = _pkcs12.pkcs12_kdf("sha1", "smeg", salt, 1, 1, 24)
    assert key == bytes(bytearray.fromhex("8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3"))


def test_leaf_order(pki):
    ders = [pki.intermediate.cert_der, pki.ca.cert_der, pki.client.cert_der]
    assert _pkcs12.leaf_order(ders)[0] == 2
    assert _pkcs12.leaf_order([pki.self_signed.cert_der]) == [0]
