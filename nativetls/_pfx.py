# -*- coding: utf-8 -*-
"""PKCS#12 (PFX) in pure Python, backend-neutral (private): what ``SigningChain.from_pkcs12`` needs on the backends
whose native import cannot tell its failures apart (SChannel's ``PFXImportCertStore``, SecureTransport's
``SecPKCS12Import``).

* :func:`check_pfx`: the file parses as PKCS#12 (else ValueError "not a PKCS#12 (PFX) file");
* :func:`mac_verifies`: the integrity MAC under a password (RFC 7292 appendix B.2 key derivation + HMAC), so that a
  wrong password is reported as one;
* :func:`pkcs12_kdf`: that key derivation (``_win._pkcs12.build_pfx`` MACs the PFX it builds with it).

No native library: importable and testable on every OS.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import binascii
import hashlib
import hmac

from asn1crypto import pkcs12 as _pkcs12

__all__ = ["ID_MAC", "check_pfx", "pkcs12_kdf", "mac_verifies"]

ID_MAC = 3  # RFC 7292 B.3: ID byte 3 derives the integrity (MAC) key


def check_pfx(data, origin):
    """Raise ValueError naming *origin* unless *data* parses as a PKCS#12 (PFX) file (its outer structure and
    authenticated safe)."""
    try:
        _pkcs12.Pfx.load(data, strict=True)["auth_safe"]["content"].native
    except Exception as exc:
        raise ValueError("%s is not a PKCS#12 (PFX) file: %s" % (origin, exc))


def _bmp(password):
    """RFC 7292 B.1: the password as a BMPString (UTF-16BE) with a two-byte NUL terminator."""
    return password.encode("utf-16-be") + b"\x00\x00"


def _fill(data, v):
    """*data* repeated to the next multiple of *v* bytes (empty stays empty)."""
    if not data:
        return b""
    length = v * ((len(data) + v - 1) // v)
    return (data * (length // len(data) + 1))[:length]


def pkcs12_kdf(hash_name, password, salt, identifier, iterations, length):
    """RFC 7292 appendix B.2 key derivation (the MAC key of a PFX). *password* is text."""
    v = 64  # the block size of SHA-1 and SHA-256 (RFC 7292's v; its u, the digest size, is implicit below)
    d = bytearray([identifier]) * v
    i = bytearray(_fill(bytes(salt), v) + _fill(_bmp(password), v))
    out = b""
    while len(out) < length:
        a = bytes(d + i)
        for _ in range(iterations):
            a = hashlib.new(hash_name, a).digest()
        out += a
        if len(out) >= length:
            break
        b = _fill(a, v)
        b_int = int(binascii.hexlify(b), 16)
        for start in range(0, len(i), v):  # I_j = (I_j + B + 1) mod 2^(8v)
            block = int(binascii.hexlify(bytes(i[start:start + v])), 16)
            block = (block + b_int + 1) % (1 << (8 * v))
            i[start:start + v] = binascii.unhexlify("%0*x" % (2 * v, block))
    return out[:length]


def mac_verifies(pfx, password):
    """Whether *password* (text or None) verifies the PFX's integrity MAC; None if there is no MAC or the blob
    cannot be parsed (the native import then has the last word). Lets a wrong password be reported as such:
    Wine's PFXImportCertStore fails without an error code, and SecPKCS12Import's statuses do not tell a wrong
    password from an algorithm it cannot read."""
    try:
        parsed = _pkcs12.Pfx.load(pfx)
        mac_data = parsed["mac_data"]
        if not mac_data:
            return None
        hash_name = mac_data["mac"]["digest_algorithm"]["algorithm"].native
        digest = mac_data["mac"]["digest"].native
        salt = mac_data["mac_salt"].native
        iterations = mac_data["iterations"].native
        content = parsed["auth_safe"]["content"].contents
        size = hashlib.new(hash_name).digest_size
    except Exception:
        return None
    key = pkcs12_kdf(hash_name, password or "", salt, ID_MAC, iterations, size)
    return hmac.new(key, content, lambda data=b"": hashlib.new(hash_name, data)).digest() == digest
