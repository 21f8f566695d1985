# -*- coding: utf-8 -*-
"""``nativetls._win._keyblob``: checking an RSA PRIVATEKEYBLOB against its certificate, and repairing the damage
Wine's PFXImportCertStore does (a copy that stops at the first short value, leaving the rest uninitialised).

Pure Python; it runs with the rest of tests/win (under Wine in CI), on the suite's own keys, which are read here
with asn1crypto (the Windows Python has no ``cryptography``).
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import binascii
import os
import struct

import pytest

pytest.importorskip("nativetls")
from nativetls._win import _keyblob  # noqa: E402

_ORDER = ("n", "p", "q", "dp", "dq", "qinv", "d")


def _numbers(pki, name):
    from asn1crypto import keys, pem
    _type, _headers, der = pem.unarmor(pki[name].key_pem)
    key = keys.PrivateKeyInfo.load(der)["private_key"].parsed
    return {"n": key["modulus"].native, "e": key["public_exponent"].native, "d": key["private_exponent"].native,
            "p": key["prime1"].native, "q": key["prime2"].native, "dp": key["exponent1"].native,
            "dq": key["exponent2"].native, "qinv": key["coefficient"].native}


def _le(value, size):
    return bytes(bytearray(reversed(bytearray(binascii.unhexlify(("%0*x" % (2 * size, value)).encode("ascii"))))))


def _blob(k, bitlen=2048, pubexp=None):
    """A PRIVATEKEYBLOB as CryptExportKey writes it."""
    unit = bitlen // 16
    sizes = {"n": 2 * unit, "d": 2 * unit}
    head = struct.pack(str("<BBHIIII"), 7, 2, 0, 0xA400, 0x32415352, bitlen, k["e"] if pubexp is None else pubexp)
    return head + b"".join(_le(k[name], sizes.get(name, unit)) for name in _ORDER)


def _offset(name, bitlen=2048):
    unit, offset = bitlen // 16, 20
    for other in _ORDER:
        if other == name:
            return offset
        offset += 2 * unit if other in ("n", "d") else unit


def _works(blob, k):
    fields = struct.unpack_from(str("<BBHIIII"), blob)
    unit = fields[5] // 16
    values, offset = {}, 20
    for name in _ORDER:
        size = 2 * unit if name in ("n", "d") else unit
        values[name] = int(binascii.hexlify(bytes(bytearray(reversed(bytearray(blob[offset:offset + size]))))), 16)
        offset += size
    message, n = 12345678901234567890, k["n"]
    m1, m2 = pow(message, values["dp"], values["p"]), pow(message, values["dq"], values["q"])
    with_crt = m2 + values["q"] * (values["qinv"] * (m1 - m2) % values["p"])
    return (fields[6] == k["e"] and values["n"] == n and pow(pow(message, values["d"], n), k["e"], n) == message
            and pow(with_crt, k["e"], n) == message)


def test_a_whole_key_is_left_alone(pki):
    k = _numbers(pki, "client")
    assert _keyblob.repaired(_blob(k), (k["n"], k["e"])) is None


@pytest.mark.parametrize("first_damaged", ["dp", "dq", "qinv", "d"])
@pytest.mark.parametrize("filler", ["zeros", "garbage"])
def test_damaged_private_values_are_rebuilt(pki, first_damaged, filler):
    """What Wine leaves: the blob is right up to the first short value, and whatever the heap held after it."""
    k = _numbers(pki, "client")
    whole = _blob(k)
    cut = _offset(first_damaged)
    rest = len(whole) - cut
    damaged = whole[:cut] + (b"\0" * rest if filler == "zeros" else os.urandom(rest))
    assert not _works(damaged, k)
    fixed = _keyblob.repaired(damaged, (k["n"], k["e"]))
    assert fixed is not None and len(fixed) == len(whole) and fixed[:cut] == whole[:cut]
    assert _works(fixed, k)
    assert _keyblob.repaired(fixed, (k["n"], k["e"])) is None


def test_a_wrong_exponent_field_is_corrected(pki):
    """Wine writes 65537 as the exponent whatever the key's is; the private values stay when they fit the
    certificate's exponent, and only the field is rewritten (here the other way round: the suite's keys use
    65537)."""
    k = _numbers(pki, "client")
    fixed = _keyblob.repaired(_blob(k, pubexp=3), (k["n"], k["e"]))
    assert fixed is not None and fixed[20:] == _blob(k)[20:] and _works(fixed, k)


def test_what_cannot_be_repaired_is_an_error(pki):
    k = _numbers(pki, "client")
    other = _numbers(pki, "server")
    with pytest.raises(ValueError, match="not the certificate's key"):
        _keyblob.repaired(_blob(k), (other["n"], other["e"]))
    whole = _blob(k)
    cut = _offset("q")
    with pytest.raises(ValueError, match="primes"):
        _keyblob.repaired(whole[:cut] + b"\0" * (len(whole) - cut), (k["n"], k["e"]))


def test_other_blobs_are_not_judged(pki):
    k = _numbers(pki, "client")
    public_only = struct.pack(str("<BBHIIII"), 6, 2, 0, 0xA400, 0x31415352, 2048, k["e"]) + _le(k["n"], 256)
    assert _keyblob.repaired(public_only, (k["n"], k["e"])) is None
    with pytest.raises(ValueError, match="truncated"):
        _keyblob.repaired(_blob(k)[:300], (k["n"], k["e"]))


def test_public_numbers_of_certificates(pki):
    k = _numbers(pki, "client")
    assert _keyblob.rsa_public_numbers(pki["client"].cert_der) == (k["n"], k["e"])
