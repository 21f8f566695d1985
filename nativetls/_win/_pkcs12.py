# -*- coding: utf-8 -*-
"""Build an in-memory PKCS#12 (PFX) blob from a certificate chain and its PEM/DER key, for PFXImportCertStore.

Why PKCS#12 for PEM keys: SChannel needs a certificate context with its private key attached, held by a key
provider that SChannel (which runs in LSASS on Windows) can use. Keys imported with ``NCryptImportKey`` or
``CryptImportKey`` into an ephemeral provider are known not to work for SChannel servers, and .NET's documented
workaround for the same problem is "export to PFX and import that". ``PFXImportCertStore`` is also the one key
import path that Wine implements (through GnuTLS). So every key, PEM or DER, takes that route: this module wraps
it, with the certificates, in a PFX and ``_keys`` imports the PFX.

The PFX is built without any cipher (none is in the standard library):

* certificates go in plain ``certBag``\\ s;
* an unencrypted key (PKCS#1, SEC1 or PKCS#8) goes, as PKCS#8 ``PrivateKeyInfo``, in a plain ``keyBag``;
* an encrypted PKCS#8 key (``ENCRYPTED PRIVATE KEY``) goes unchanged in a ``pkcs8ShroudedKeyBag``: that bag *is*
  an ``EncryptedPrivateKeyInfo``, so the key's own password decrypts it when the PFX is imported;
* the leaf and the key share a ``localKeyId`` attribute, which is how PFXImportCertStore pairs them;
* the integrity MAC is HMAC-SHA-256 with the RFC 7292 appendix B key derivation, under the key's password (for an
  encrypted key) or a random one.

Traditional OpenSSL encryption (``Proc-Type: 4,ENCRYPTED``) cannot be expressed in PKCS#12: :func:`build_pfx`
raises ValueError for it, and the context turns that into ConfigurationError.

Pure Python, no DLL: importable and testable on every OS (``tests/test_win_pkcs12.py`` reads the result back
with ``cryptography``).
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import binascii
import hashlib
import hmac
import os

from asn1crypto import algos as _algos
from asn1crypto import cms as _cms
from asn1crypto import keys as _keys
from asn1crypto import pem as _pem
from asn1crypto import pkcs12 as _pkcs12
from asn1crypto import x509 as _x509

from .._pfx import ID_MAC, mac_verifies, pkcs12_kdf  # the RFC 7292 pieces SecureTransport's from_pkcs12 uses too

__all__ = ["build_pfx", "random_password", "pkcs12_kdf", "mac_verifies", "leaf_order"]

_MAC_ITERATIONS = 2048


def random_password():
    """A fresh random ASCII password for a PFX that protects an unencrypted key only in memory."""
    return binascii.hexlify(os.urandom(16)).decode("ascii")


def _key_bag(key_pem):
    """(bag_id, bag_value) for a PrivateKey's PEM. Raises ValueError for traditional encryption."""
    label, headers, der = _pem.unarmor(key_pem)
    if headers:
        raise ValueError("traditional OpenSSL key encryption (Proc-Type: 4,ENCRYPTED) cannot be used with the "
                         "SChannel backend: convert the key to encrypted PKCS#8 (openssl pkcs8 -topk8)")
    if label == "ENCRYPTED PRIVATE KEY":
        return "pkcs8_shrouded_key_bag", _keys.EncryptedPrivateKeyInfo.load(der)
    if label == "PRIVATE KEY":
        return "key_bag", _keys.PrivateKeyInfo.load(der)
    if label == "RSA PRIVATE KEY":
        return "key_bag", _keys.PrivateKeyInfo.wrap(_keys.RSAPrivateKey.load(der), "rsa")
    if label == "EC PRIVATE KEY":
        return "key_bag", _keys.PrivateKeyInfo.wrap(_keys.ECPrivateKey.load(der), "ec")
    raise ValueError("a %s key cannot be used with the SChannel backend" % label)


def _attributes(local_key_id):
    return _pkcs12.Attributes([{"type": "local_key_id", "values": [local_key_id]}])


def _data(value):
    return _cms.ContentInfo({"content_type": "data", "content": value.dump()})


def build_pfx(certificate_ders, key_pem, password):
    """A PFX (DER bytes) holding the certificates (leaf first) and the key, MAC'd under *password* (text).

    For an encrypted PKCS#8 key *password* must be the key's password (it decrypts the shrouded bag on import).

    Raises:
        ValueError: the key is encrypted the traditional OpenSSL way, or is of an unknown kind.
    """
    bag_id, bag_value = _key_bag(key_pem)
    local_key_id = hashlib.sha1(certificate_ders[0]).digest()
    bags = []
    for index, der in enumerate(certificate_ders):
        bag = {"bag_id": "cert_bag", "bag_value": _pkcs12.CertBag({"cert_id": "x509", "cert_value": _x509.Certificate.load(der)})}
        if index == 0:
            bag["bag_attributes"] = _attributes(local_key_id)
        bags.append(_pkcs12.SafeBag(bag))
    bags.append(_pkcs12.SafeBag({"bag_id": bag_id, "bag_value": bag_value,
                                 "bag_attributes": _attributes(local_key_id)}))
    safe = _pkcs12.AuthenticatedSafe([_data(_pkcs12.SafeContents(bags))])
    content = safe.dump()
    salt = os.urandom(16)
    mac_key = pkcs12_kdf("sha256", password, salt, ID_MAC, _MAC_ITERATIONS, 32)
    digest = hmac.new(mac_key, content, hashlib.sha256).digest()
    pfx = _pkcs12.Pfx({
        "version": "v3",
        "auth_safe": {"content_type": "data", "content": content},
        "mac_data": {
            "mac": _algos.DigestInfo({"digest_algorithm": {"algorithm": "sha256"}, "digest": digest}),
            "mac_salt": salt,
            "iterations": _MAC_ITERATIONS,
        },
    })
    return pfx.dump()


def leaf_order(ders):
    """The indexes of *ders* whose subject issues none of the others (end-entity certificates) come first, in
    their original order: a PFX does not say which certificate is the leaf, and Wine links the key to every
    certificate of the PFX."""
    try:
        certs = [_x509.Certificate.load(der) for der in ders]
        issuers = set(c.issuer.dump() for c in certs if c.issuer.dump() != c.subject.dump())
        leaves = [i for i, c in enumerate(certs) if c.subject.dump() not in issuers]
    except Exception:
        return list(range(len(ders)))
    return leaves + [i for i in range(len(ders)) if i not in leaves]
