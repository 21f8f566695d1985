# -*- coding: utf-8 -*-
"""A throwaway PKI for ``python -m nativetls selftest`` and ``serve``.

WARNING: this module is for short-lived *test* certificates only. Its ECDSA
implementation is plain Python big-integer arithmetic: it is NOT constant-time,
leaks timing, and has not been reviewed as production cryptography. Never use
it for keys that protect anything.

It exists because ``selftest`` and ``serve`` must work on every backend
(SChannel, Secure Transport, OpenSSL) without OpenSSL calls or the
``cryptography`` package: ECDSA over NIST P-256 with SHA-256 (RFC 6979
deterministic nonces), and X.509 v3 certificates built with asn1crypto.

``make_pki()`` returns a CA, a server leaf (with subjectAltName) and
optionally a client leaf, all signed directly by the CA, as PEM/DER bytes.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import binascii
import datetime
import hashlib
import hmac
import os
import socket

from asn1crypto import algos, keys, pem, x509
from asn1crypto.util import timezone

__all__ = [str("make_pki"), str("ThrowawayPKI")]

# -- NIST P-256 (SEC 2 secp256r1); a = -3 ------------------------------------
_P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff
_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551
_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b
_G = (0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
      0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5)
_WINDOW = 4                 # fixed window width for scalar multiplication
_INFINITY = (1, 1, 0)       # Jacobian point at infinity (Z == 0)


def _int(data):
    """Big-endian bytes -> non-negative int (int.from_bytes is Python 3 only)."""
    return int(binascii.hexlify(data), 16) if data else 0


def _bytes32(value):
    """Non-negative int < 2**256 -> 32 big-endian bytes."""
    return binascii.unhexlify("%064x" % value)


def _double(pt):
    """2*P in Jacobian coordinates (dbl-2001-b, a = -3)."""
    x, y, z = pt
    if z == 0 or y == 0:
        return _INFINITY
    delta = z * z % _P
    gamma = y * y % _P
    beta = x * gamma % _P
    alpha = 3 * (x - delta) * (x + delta) % _P
    x3 = (alpha * alpha - 8 * beta) % _P
    z3 = ((y + z) * (y + z) - gamma - delta) % _P
    y3 = (alpha * (4 * beta - x3) - 8 * gamma * gamma) % _P
    return x3, y3, z3


def _add_affine(pt, aff):
    """P + Q with P Jacobian and Q affine (madd-2007-bl)."""
    x1, y1, z1 = pt
    x2, y2 = aff
    if z1 == 0:
        return x2, y2, 1
    z1z1 = z1 * z1 % _P
    h = (x2 * z1z1 - x1) % _P
    r = 2 * (y2 * z1 * z1z1 - y1) % _P
    if h == 0:
        return _double(pt) if r == 0 else _INFINITY
    hh = h * h % _P
    i = 4 * hh % _P
    j = h * i % _P
    v = x1 * i % _P
    x3 = (r * r - j - 2 * v) % _P
    y3 = (r * (v - x3) - 2 * y1 * j) % _P
    z3 = ((z1 + h) * (z1 + h) - z1z1 - hh) % _P
    return x3, y3, z3


def _to_affine(pt):
    """Jacobian -> affine (x, y); one modular inversion via Fermat."""
    x, y, z = pt
    if z == 0:
        raise ValueError("point at infinity")
    zinv = pow(z, _P - 2, _P)
    zinv2 = zinv * zinv % _P
    return x * zinv2 % _P, y * zinv2 * zinv % _P


_TABLES = {}


def _mul(k, aff=_G):
    """k*P for an affine point P: fixed 4-bit window, affine table cached per P."""
    table = _TABLES.get(aff)
    if table is None:
        table = [None, aff]
        for _ in range(2, 1 << _WINDOW):
            table.append(_to_affine(_add_affine(table[-1] + (1,), aff)))
        _TABLES[aff] = table
    acc = _INFINITY
    for shift in range(256 - _WINDOW, -1, -_WINDOW):
        for _ in range(_WINDOW):
            acc = _double(acc)
        digit = (k >> shift) & ((1 << _WINDOW) - 1)
        if digit:
            acc = _add_affine(acc, table[digit])
    return _to_affine(acc)


def _on_curve(aff):
    x, y = aff
    return (y * y - (x * x * x - 3 * x + _B)) % _P == 0


def _rfc6979_nonces(d, h1):
    """Yield RFC 6979 (section 3.2) candidate nonces for key d and digest h1 (HMAC-SHA256)."""
    x = _bytes32(d)
    h1 = _bytes32(_int(h1) % _N)        # bits2octets; qlen == hlen == 256

    def mac(key, data):
        return hmac.new(key, data, hashlib.sha256).digest()

    v, k = b"\x01" * 32, b"\x00" * 32
    k = mac(k, v + b"\x00" + x + h1)
    v = mac(k, v)
    k = mac(k, v + b"\x01" + x + h1)
    v = mac(k, v)
    while True:
        v = mac(k, v)
        candidate = _int(v)
        if 1 <= candidate < _N:
            yield candidate
        k = mac(k, v + b"\x00")
        v = mac(k, v)


def _sign(d, message):
    """ECDSA-SHA256 signature (r, s) of message (bytes) with private scalar d."""
    digest = hashlib.sha256(message).digest()
    e = _int(digest)                    # 256-bit hash, 256-bit order: no truncation
    for k in _rfc6979_nonces(d, digest):
        r = _mul(k)[0] % _N
        if r == 0:
            continue
        s = pow(k, _N - 2, _N) * (e + r * d) % _N
        if s:
            return r, s


class _Key(object):
    """A P-256 key pair: private scalar ``d``, public point ``q`` and their asn1crypto forms."""

    def __init__(self):
        d = 0
        while d == 0:                   # 320 random bits mod n: negligible bias
            d = _int(os.urandom(40)) % _N
        self.d = d
        self.q = _mul(d)
        assert _on_curve(self.q)
        self.point = b"\x04" + _bytes32(self.q[0]) + _bytes32(self.q[1])
        curve = keys.ECDomainParameters(name="named", value="secp256r1")
        self.public_info = keys.PublicKeyInfo({
            "algorithm": {"algorithm": "ec", "parameters": curve},
            "public_key": self.point,
        })
        self.key_id = hashlib.sha1(self.point).digest()
        ec_key = keys.ECPrivateKey({"version": "ecPrivkeyVer1", "private_key": d,
                                    "parameters": curve, "public_key": self.point})
        ec_key.set_key_size(32)
        self.pkcs8_pem = pem.armor("PRIVATE KEY", keys.PrivateKeyInfo.wrap(ec_key, "ec").dump())

    def sign_der(self, message):
        """DER ECDSA-Sig-Value over message."""
        r, s = _sign(self.d, message)
        return algos.DSASignature({"r": r, "s": s}).dump()


def _ip_packed(name):
    """Packed address bytes if name is an IPv4/IPv6 literal, else None."""
    inet_pton = getattr(socket, "inet_pton", None)
    if inet_pton is None:               # Python 2.7 on Windows
        from asn1crypto._inet import inet_pton
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            return inet_pton(family, name)
        except (socket.error, ValueError, OSError):
            pass
    return None


def _ext(name, value, critical=False):
    return {"extn_id": name, "critical": critical, "extn_value": value}


def _certificate(key, subject, issuer_key, issuer, days, extensions):
    """Build and sign one X.509 v3 certificate; returns an asn1crypto Certificate."""
    serial = 0
    while serial == 0:
        raw = bytearray(os.urandom(16))
        raw[0] &= 0x7f                  # positive: top bit clear
        serial = _int(bytes(raw))
    now = datetime.datetime.now(timezone.utc).replace(microsecond=0)
    extensions = extensions + [_ext("key_identifier", key.key_id)]
    if issuer_key is not key:
        extensions.append(_ext("authority_key_identifier", {"key_identifier": issuer_key.key_id}))
    tbs = x509.TbsCertificate({
        "version": "v3",
        "serial_number": serial,
        "signature": {"algorithm": "sha256_ecdsa"},
        "issuer": issuer,
        "validity": {
            "not_before": x509.Time(name="utc_time", value=now - datetime.timedelta(hours=1)),
            "not_after": x509.Time(name="utc_time", value=now + datetime.timedelta(days=days)),
        },
        "subject": subject,
        "subject_public_key_info": key.public_info,
        "extensions": extensions,
    })
    return x509.Certificate({
        "tbs_certificate": tbs,
        "signature_algorithm": {"algorithm": "sha256_ecdsa"},
        "signature_value": issuer_key.sign_der(tbs.dump()),
    })


def _leaf_extensions(eku):
    return [
        _ext("basic_constraints", {"ca": False}, critical=True),
        _ext("key_usage", set(["digital_signature"]), critical=True),
        _ext("extended_key_usage", eku),
    ]


class ThrowawayPKI(object):
    """Result of make_pki(); every certificate/key attribute is bytes.

    Attributes: ca_pem, ca_der, server_cert_pem, server_key_pem,
    server_fullchain_pem, client_cert_pem, client_key_pem (None unless
    client=True), ca_subject, server_subject (text, e.g. ``"CN=localhost"``).
    Private keys are unencrypted PKCS#8 ("PRIVATE KEY") PEM.
    """

    client_cert_pem = client_key_pem = None


def make_pki(hostnames=("localhost", "127.0.0.1", "::1"), days=1, client=True):
    """Create a fresh throwaway CA, server leaf for hostnames and (optionally) client leaf.

    hostnames: DNS names and IP literals for the server's subjectAltName; the
    first is also its CN. days: validity from now (certificates start 1 h ago).
    """
    if isinstance(hostnames, (bytes, type(""))):
        hostnames = [hostnames]
    hostnames = [h.decode("ascii") if isinstance(h, bytes) else h for h in hostnames]
    if not hostnames:
        raise ValueError("make_pki() needs at least one hostname")
    result = ThrowawayPKI()

    ca_key = _Key()
    result.ca_subject = "CN=nativetls throwaway CA " + binascii.hexlify(os.urandom(4)).decode("ascii")
    ca_name = x509.Name.build({"common_name": result.ca_subject[3:]})
    ca = _certificate(ca_key, ca_name, ca_key, ca_name, days, [
        _ext("basic_constraints", {"ca": True, "path_len_constraint": 0}, critical=True),
        _ext("key_usage", set(["key_cert_sign", "crl_sign"]), critical=True),
    ])
    result.ca_der = ca.dump()
    result.ca_pem = pem.armor("CERTIFICATE", result.ca_der)

    sans = []
    for host in hostnames:
        packed = _ip_packed(host)
        if packed is None:
            sans.append(x509.GeneralName(name="dns_name", value=host))
        else:   # iPAddress holds the packed 4- or 16-byte address
            sans.append(x509.GeneralName(name="ip_address", value=x509.IPAddress(contents=packed)))
    server_key = _Key()
    result.server_subject = "CN=" + hostnames[0]
    extensions = _leaf_extensions(["server_auth", "client_auth"])
    extensions.append(_ext("subject_alt_name", sans))
    server = _certificate(server_key, x509.Name.build({"common_name": hostnames[0]}),
                          ca_key, ca_name, days, extensions)
    result.server_cert_pem = pem.armor("CERTIFICATE", server.dump())
    result.server_key_pem = server_key.pkcs8_pem
    result.server_fullchain_pem = result.server_cert_pem

    if client:
        client_key = _Key()
        cert = _certificate(client_key, x509.Name.build({"common_name": "nativetls throwaway client"}),
                            ca_key, ca_name, days, _leaf_extensions(["client_auth"]))
        result.client_cert_pem = pem.armor("CERTIFICATE", cert.dump())
        result.client_key_pem = client_key.pkcs8_pem
    return result
