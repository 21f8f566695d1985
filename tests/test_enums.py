# -*- coding: utf-8 -*-
"""Tests for nativetls._enums (TLSVersion, CipherSuite, NextProtocol)."""
from __future__ import absolute_import, division, print_function, unicode_literals

import os
import re
import subprocess

import pytest


def _load_enums():
    """Import nativetls._enums, or load the file itself if the package can't.

    The package may lack an ``__init__.py`` (Python 2 then cannot import it)
    or its ``__init__`` may import modules that are not finished yet; neither
    should stop these tests, which only need the one file.
    """
    try:
        from nativetls import _enums
        return _enums
    except Exception:
        path = os.path.join(
            os.path.dirname(os.path.abspath(__file__)), os.pardir, "nativetls", "_enums.py"
        )
        name = str("_nativetls_enums_standalone")
        try:
            import importlib.util
        except ImportError:  # Python 2
            import imp
            return imp.load_source(name, path)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


_enums = _load_enums()
TLSVersion = _enums.TLSVersion
CipherSuite = _enums.CipherSuite
NextProtocol = _enums.NextProtocol


# --------------------------------------------------------------------------
# Module surface


def test_all():
    assert list(_enums.__all__) == ["TLSVersion", "CipherSuite", "NextProtocol", "DEFAULT_CIPHER_LIST"]
    # Native str items, or ``from ... import *`` breaks on Python 2.
    assert all(type(name) is str for name in _enums.__all__)


def test_docstrings():
    for cls in (TLSVersion, CipherSuite, NextProtocol):
        assert cls.__doc__ and cls.__doc__.strip()


# --------------------------------------------------------------------------
# TLSVersion


def test_tls_version_members_and_order():
    assert [m.name for m in TLSVersion] == [
        "MINIMUM_SUPPORTED", "SSLv2", "SSLv3", "TLSv1", "TLSv1_1", "TLSv1_2",
        "TLSv1_3", "MAXIMUM_SUPPORTED",
    ]
    assert [m.value for m in TLSVersion] == [
        "MINIMUM_SUPPORTED", "SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2",
        "TLSv1.3", "MAXIMUM_SUPPORTED",
    ]


def test_tls_version_lookup_by_value():
    assert TLSVersion("TLSv1.2") is TLSVersion.TLSv1_2
    # A native str (bytes on Python 2) and a text string both work.
    assert TLSVersion(str("TLSv1.2")) is TLSVersion.TLSv1_2
    assert TLSVersion("TLSv1.3") is TLSVersion.TLSv1_3
    assert TLSVersion("TLSv1") is TLSVersion.TLSv1
    assert TLSVersion["TLSv1_1"] is TLSVersion.TLSv1_1
    with pytest.raises(ValueError):
        TLSVersion("TLSv1_2")


def test_tls_version_values_are_native_str():
    for member in TLSVersion:
        assert type(member.value) is str
        assert type(member.name) is str
    assert TLSVersion.TLSv1_2.value == str("TLSv1.2")


def test_version_order():
    order = _enums._VERSION_ORDER
    concrete = [m for m in TLSVersion if m.name not in ("MINIMUM_SUPPORTED", "MAXIMUM_SUPPORTED")]
    assert set(order) == set(concrete)
    ranks = [order[m] for m in concrete]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    assert order[TLSVersion.SSLv2] < order[TLSVersion.TLSv1_3]
    assert _enums._tls_version_rank(TLSVersion.TLSv1_2) < _enums._tls_version_rank("TLSv1.3")
    with pytest.raises(ValueError):
        _enums._tls_version_rank(TLSVersion.MINIMUM_SUPPORTED)


# --------------------------------------------------------------------------
# CipherSuite


def test_cipher_suite_known_values():
    assert CipherSuite.TLS_AES_128_GCM_SHA256 == 0x1301
    assert CipherSuite.TLS_AES_256_GCM_SHA384 == 0x1302
    assert CipherSuite.TLS_CHACHA20_POLY1305_SHA256 == 0x1303
    assert CipherSuite.TLS_AES_128_CCM_SHA256 == 0x1304
    assert CipherSuite.TLS_AES_128_CCM_8_SHA256 == 0x1305
    assert CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 == 0xC02B
    assert CipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 == 0xC030
    assert CipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA == 0x002F
    assert CipherSuite.TLS_RSA_WITH_3DES_EDE_CBC_SHA == 0x000A
    assert CipherSuite.TLS_RSA_WITH_RC4_128_SHA == 0x0005
    assert CipherSuite.TLS_RSA_WITH_SEED_CBC_SHA == 0x0096
    assert CipherSuite.TLS_RSA_WITH_ARIA_128_GCM_SHA256 == 0xC050
    assert CipherSuite.TLS_RSA_WITH_CAMELLIA_256_CBC_SHA == 0x0084
    assert CipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 == 0xCCA8
    assert CipherSuite.TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256 == 0xCCAE
    assert CipherSuite.TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256 == 0xD001
    assert CipherSuite(0xC02F) is CipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    assert isinstance(CipherSuite.TLS_AES_128_GCM_SHA256, int)


def test_cipher_suite_values_unique_and_sorted():
    members = list(CipherSuite)
    values = [int(m) for m in members]
    assert len(set(values)) == len(values)
    # No aliases hiding behind a shared value.
    assert len(CipherSuite.__members__) == len(members)
    assert values == sorted(values)
    for member in members:
        assert 0 <= int(member) <= 0xFFFF
        assert member.name.startswith("TLS_")


def test_cipher_suite_leaves_out_signalling_values():
    values = set(int(m) for m in CipherSuite)
    assert 0x00FF not in values  # TLS_EMPTY_RENEGOTIATION_INFO_SCSV
    assert 0x5600 not in values  # TLS_FALLBACK_SCSV
    assert 0x0A0A not in values  # GREASE


# Code points OpenSSL may print that the IANA registry does not assign: the
# old GOST draft suites 0x0080-0x0083 (only with the gost engine loaded) and
# the private-use range 0xFF00-0xFFFF.
def _is_iana_code_point(value):
    return not (0x0080 <= value <= 0x0083 or value >= 0xFF00)


_OPENSSL_LINE = re.compile(
    r"^\s*0x([0-9A-Fa-f]{2}),0x([0-9A-Fa-f]{2})\s+-\s+(\S+)\s+-"
)


def _openssl_suites(*args):
    """Return {value: IANA name} of what ``openssl ciphers -stdname -V`` lists."""
    cmd = ["openssl", "ciphers", "-stdname", "-V"] + list(args)
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError:
        pytest.skip("no openssl binary")
    out, err = proc.communicate()
    if proc.returncode != 0:
        pytest.skip("openssl could not list ciphers: %s" % err.decode("ascii", "replace"))
    suites = {}
    for line in out.decode("ascii", "replace").splitlines():
        match = _OPENSSL_LINE.match(line)
        if not match:
            continue
        value = int(match.group(1) + match.group(2), 16)
        name = match.group(3)
        if not name.startswith("TLS_") or not _is_iana_code_point(value):
            continue
        suites[value] = name
    if not suites:
        pytest.skip("openssl listed no cipher suites with IANA names")
    return suites


def _check_against_openssl(suites):
    problems = []
    for value, name in sorted(suites.items()):
        try:
            member = CipherSuite(value)
        except ValueError:
            problems.append("0x%04X %s: missing" % (value, name))
            continue
        if member.name != name:
            problems.append("0x%04X %s: named %s here" % (value, name, member.name))
    assert problems == []


def test_cipher_suites_match_openssl():
    suites = _openssl_suites("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    _check_against_openssl(suites)


def test_tls13_cipher_suites_match_openssl():
    tls13 = [
        "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256",
    ]
    suites = _openssl_suites("-ciphersuites", ":".join(tls13), "ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    assert set(tls13) <= set(suites.values())
    _check_against_openssl(suites)


def test_cipher_suite_versions_match_openssl():
    # openssl ciphers -V names the lowest protocol version of each suite; every one of them ends at TLS 1.2,
    # except the TLS 1.3 suites. (SSLv3 suites are TLS 1.0 ones here: nativetls never speaks SSLv3.)
    cmd = ["openssl", "ciphers", "-stdname", "-V", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"]
    try:
        out = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE).communicate()[0]
    except OSError:
        pytest.skip("no openssl binary")
    lowest = {"SSLv3": TLSVersion.TLSv1, "TLSv1": TLSVersion.TLSv1, "TLSv1.2": TLSVersion.TLSv1_2,
              "TLSv1.3": TLSVersion.TLSv1_3}
    checked = 0
    for line in out.decode("ascii", "replace").splitlines():
        match = re.match(r"^\s*0x([0-9A-F]{2}),0x([0-9A-F]{2})\s+-\s+(\S+)\s+-\s+\S+\s+(\S+)\s", line)
        if not match or match.group(4) not in lowest:
            continue
        value = int(match.group(1) + match.group(2), 16)
        first = lowest[match.group(4)]
        last = TLSVersion.TLSv1_3 if first is TLSVersion.TLSv1_3 else TLSVersion.TLSv1_2
        assert _enums.cipher_suite_versions(value) == (first, last), match.group(3)
        checked += 1
    assert checked > 50


def test_default_cipher_list():
    assert _enums.DEFAULT_CIPHER_LIST[:3] == (CipherSuite.TLS_AES_256_GCM_SHA384,
                                              CipherSuite.TLS_CHACHA20_POLY1305_SHA256,
                                              CipherSuite.TLS_AES_128_GCM_SHA256)
    assert [_enums.cipher_suite_versions(s)[0] for s in _enums.DEFAULT_CIPHER_LIST] == \
        [TLSVersion.TLSv1_3] * 3 + [TLSVersion.TLSv1_2] * 6
    assert _enums.cipher_suite_versions(0xFEFE) == (TLSVersion.TLSv1, TLSVersion.TLSv1_2)
    assert _enums.cipher_suite_versions(0x13FE) == (TLSVersion.TLSv1_3, TLSVersion.TLSv1_3)


# --------------------------------------------------------------------------
# NextProtocol


def test_next_protocol_values_are_bytes():
    expected = [
        ("H2", b"h2"), ("H2C", b"h2c"), ("HTTP1", b"http/1.1"), ("WEBRTC", b"webrtc"),
        ("C_WEBRTC", b"c-webrtc"), ("FTP", b"ftp"), ("STUN", b"stun.nat-discovery"),
        ("TURN", b"stun.turn"),
    ]
    assert [(m.name, m.value) for m in NextProtocol] == expected
    for member in NextProtocol:
        assert isinstance(member.value, bytes)
    assert NextProtocol(b"h2") is NextProtocol.H2
    assert NextProtocol(b"http/1.1") is NextProtocol.HTTP1
