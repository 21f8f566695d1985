# -*- coding: utf-8 -*-
"""RSA keys as CryptoAPI ``PRIVATEKEYBLOB``\\ s: check one against its certificate, rebuild a damaged private half.

Why (seen under Wine 8.0 and 10.0): Wine's ``PFXImportCertStore`` has GnuTLS parse the PKCS#12 key and copies its
numbers into a PRIVATEKEYBLOB (``import_store_key``, ``dlls/crypt32/unixlib.c``), expecting each at its nominal
width: bitlen/8 bytes for the modulus and d, bitlen/16 for p, q, dP, dQ and qInv, one more when GnuTLS adds a
zero sign byte. A value with nine or more leading zero bits at that width comes out shorter; the copy then stops
(``goto done``) but reports success, so everything from that value to d is whatever the heap held
(``CryptMemAlloc`` in ``dlls/crypt32/pfx.c`` does not clear it), and that is imported as the key. Wine's SChannel
gives the damaged key to GnuTLS, whose check of its own signature then fails ("Public key signing has failed"):
``SEC_E_INTERNAL_ERROR`` from ``InitializeSecurityContextW``/``AcceptSecurityContext``. Which keys are hit depends
only on the key: 77 of 2,000 RSA-2048 keys made by ``cryptography`` were, 64 of them through d (OpenSSL 3 reduces
d modulo lcm(p-1, q-1), which often leaves it short). The same conversion writes 65537 as the public exponent,
whatever the key's is.

The modulus and the primes come first in the blob, and the primes of a balanced key have their top bit set, so
they survive; :func:`repaired` checks a blob against the certificate's public key and, when the private values
do not belong to it, rebuilds them from n, e, p and q (d = e^-1 mod lcm(p-1, q-1), the value FIPS 186-4 uses).

Pure Python, no DLL: importable and testable on every OS, Python 2.7 included.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import binascii
import struct

__all__ = ["rsa_public_numbers", "repaired"]

PRIVATEKEYBLOB = 0x7  # wincrypt.h, BLOBHEADER.bType
_RSA2 = 0x32415352  # RSAPUBKEY.magic "RSA2": a private key
# BLOBHEADER (bType, bVersion, reserved, aiKeyAlg), then RSAPUBKEY (magic, bitlen, pubexp).
_HEADER = struct.Struct(str("<BBHIIII"))
# The values after the headers, little-endian, in blob order, with their width in units of bitlen/16 bytes.
_LAYOUT = (("n", 2), ("p", 1), ("q", 1), ("dp", 1), ("dq", 1), ("qinv", 1), ("d", 2))


def _from_le(data):
    return int(binascii.hexlify(bytes(bytearray(reversed(bytearray(data))))) or b"0", 16)


def _to_le(value, size):
    big_endian = binascii.unhexlify(("%0*x" % (2 * size, value)).encode("ascii"))
    return bytes(bytearray(reversed(bytearray(big_endian))))


def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a


def _inverse(a, m):
    """a^-1 mod m (ValueError when there is none)."""
    r0, r1, s0, s1 = m, a % m, 0, 1
    while r1:
        quotient = r0 // r1
        r0, r1, s0, s1 = r1, r0 - quotient * r1, s1, s0 - quotient * s1
    if r0 != 1:
        raise ValueError("not invertible")
    return s0 % m


def rsa_public_numbers(cert_der):
    """(modulus, public exponent) of a certificate's RSA key, or None for another key type."""
    from asn1crypto import x509 as _x509
    info = _x509.Certificate.load(cert_der).public_key
    if info.algorithm != "rsa":
        return None
    key = info["public_key"].parsed
    return key["modulus"].native, key["public_exponent"].native


def _parse(blob):
    if len(blob) < _HEADER.size:
        raise ValueError("the key blob is truncated")
    btype, _version, _reserved, _alg, magic, bitlen, pubexp = _HEADER.unpack_from(blob)
    if btype != PRIVATEKEYBLOB or magic != _RSA2 or not bitlen or bitlen % 16:
        return None
    unit = bitlen // 16
    if len(blob) < _HEADER.size + 9 * unit:
        raise ValueError("the key blob is truncated")
    values, offset = {"e": pubexp}, _HEADER.size
    for name, units in _LAYOUT:
        values[name] = _from_le(blob[offset:offset + units * unit])
        offset += units * unit
    return values, unit


def _consistent(v, e, lam):
    """Whether the private values belong to the public key (n, e); the blob's exponent field is not looked at."""
    return (1 < v["d"] < v["n"] and v["d"] * e % lam == 1 and v["dp"] == v["d"] % (v["p"] - 1)
            and v["dq"] == v["d"] % (v["q"] - 1) and v["qinv"] * v["q"] % v["p"] == 1)


def repaired(blob, public):
    """Check an RSA PRIVATEKEYBLOB (bytes) against the certificate's ``(n, e)`` (see :func:`rsa_public_numbers`).

    Returns None when the blob is a consistent private key for that public key (or not an RSA PRIVATEKEYBLOB this
    function reads), else a blob of the same length with the certificate's public exponent and, where they do not
    belong to the key, d, dP, dQ and qInv recomputed from n, e, p and q.

    Raises:
        ValueError: the blob holds another modulus, or primes that do not multiply to it, or the exponent cannot be
            used with them (it cannot be repaired).
    """
    blob = bytes(blob)
    parsed = _parse(blob)
    if parsed is None:
        return None
    v, unit = parsed
    n, e = public
    if v["n"] != n:
        raise ValueError("the key in the container is not the certificate's key (another modulus)")
    p, q = v["p"], v["q"]
    if p < 2 or q < 2 or p * q != n:
        raise ValueError("the primes of the key in the container do not multiply to the certificate's modulus")
    lam = (p - 1) * (q - 1) // _gcd(p - 1, q - 1)
    if _consistent(v, e, lam):
        if v["e"] == e:
            return None
        rebuilt = v  # only the exponent field is wrong (Wine writes 65537 whatever the key's is)
    else:
        try:
            d = _inverse(e, lam)
        except ValueError:
            raise ValueError("the public exponent %d is not invertible modulo lcm(p-1, q-1)" % e)
        rebuilt = {"n": n, "p": p, "q": q, "dp": d % (p - 1), "dq": d % (q - 1), "qinv": _inverse(q, p), "d": d}
    if not 1 < e < 2 ** 32:
        raise ValueError("the public exponent %d does not fit a CryptoAPI key blob" % e)
    head = _HEADER.unpack_from(blob)
    parts = [_HEADER.pack(*(head[:6] + (e,)))]
    parts.extend(_to_le(rebuilt[name], units * unit) for name, units in _LAYOUT)
    body = b"".join(parts)
    return body + blob[len(body):]
