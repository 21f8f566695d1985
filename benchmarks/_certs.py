# -*- coding: utf-8 -*-
"""Throwaway certificates for the benchmarks: one CA and one "localhost" leaf per key type, in a temp dir.

Built with ``cryptography`` (3.3.2 on Python 2.7, any newer release on 3.x), so ``default_backend()`` is passed
everywhere and names are text.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import datetime
import os

from cryptography import x509
from cryptography.hazmat.backends import default_backend
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["make_certificates", "KEY_TYPES"]

KEY_TYPES = ("ecdsa", "rsa")
_BACKEND = default_backend()


def _key(kind):
    if kind == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1(), _BACKEND)
    return rsa.generate_private_key(65537, 2048, _BACKEND)


def _name(text):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _write(path, data):
    with open(path, "wb") as handle:
        handle.write(data)
    return path


def _cert(subject, issuer, public_key, signing_key, ca):
    now = datetime.datetime.utcnow()
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    builder = builder.add_extension(ski, critical=False)
    if ca:
        builder = builder.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                        critical=True)
    else:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key())
        builder = (builder.add_extension(aki, critical=False)
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False))
    return builder.sign(signing_key, hashes.SHA256(), _BACKEND)


def make_certificates(directory):
    """Write ``ca-KIND.pem``, ``leaf-KIND.pem`` and ``key-KIND.pem`` for every KIND in KEY_TYPES.

    Returns ``{kind: {"ca": path, "cert": path, "key": path}}`` (each CA signs with its own key type).
    """
    paths = {}
    pem = serialization.Encoding.PEM
    for kind in KEY_TYPES:
        ca_key, leaf_key = _key(kind), _key(kind)
        ca = _cert("nativetls benchmark CA (%s)" % kind, "nativetls benchmark CA (%s)" % kind,
                   ca_key.public_key(), ca_key, True)
        leaf = _cert("localhost", "nativetls benchmark CA (%s)" % kind, leaf_key.public_key(), ca_key, False)
        key_pem = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        paths[kind] = {
            "ca": _write(os.path.join(directory, "ca-%s.pem" % kind), ca.public_bytes(pem)),
            "cert": _write(os.path.join(directory, "leaf-%s.pem" % kind), leaf.public_bytes(pem)),
            "key": _write(os.path.join(directory, "key-%s.pem" % kind), key_pem),
        }
    return paths
