# -*- coding: utf-8 -*-
"""The macOS backend without any native library: it imports everywhere (py2.7 and py3) loading nothing, refuses what
SecureTransport cannot do before touching a framework, and its I/O callbacks follow MACOS.md points 1-3."""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
import os
import subprocess
import sys

import pytest

import nativetls
from nativetls import ConfigurationError, NextProtocol, TLSConfiguration, TLSVersion
from nativetls._mac import _buffer, _context, _security as S, _types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_PROBE = """
import ctypes, os
os.environ.pop("NATIVETLS_MAC_FRAMEWORKS", None)
def _refuse(*args, **kwargs):
    raise AssertionError("a library was loaded at import time: %r" % (args,))
ctypes.CDLL.__init__ = _refuse
import nativetls._mac, nativetls._mac._buffer, nativetls._mac._context, nativetls._mac._keychain
import nativetls._mac._security as s, nativetls._mac._corefoundation as c
assert s.LIBRARY._functions is None and c.LIBRARY._functions is None
try:
    nativetls._mac.load_backend()
except ImportError as exc:
    assert "needs macOS" in str(exc), exc
else:
    raise AssertionError("load_backend() worked off macOS")
print("ok")
"""


def test_imports_without_loading_frameworks():
    """In this interpreter (py2.7 under tox -e py27, py3 otherwise): importing loads nothing, and off macOS
    load_backend() says why."""
    if sys.platform == "darwin":
        pytest.skip("this checks the off-macOS behaviour")
    env = dict(os.environ)
    env.pop("NATIVETLS_MAC_FRAMEWORKS", None)
    proc = subprocess.Popen([sys.executable, "-c", _PROBE], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.communicate()[0].decode("utf-8", "replace")
    assert proc.returncode == 0 and out.strip().endswith("ok"), out


def test_framework_paths_and_override(monkeypatch):
    monkeypatch.delenv(_types.OVERRIDE_VARIABLE, raising=False)
    if sys.platform == "darwin":
        assert _types.framework_path("Security") == "/System/Library/Frameworks/Security.framework/Security"
    else:
        with pytest.raises(ImportError) as info:
            _types.framework_path("Security")
        assert "needs macOS" in str(info.value) and _types.OVERRIDE_VARIABLE in str(info.value)
    monkeypatch.setenv(_types.OVERRIDE_VARIABLE, "/x/libsecurity_double.so")
    assert _types.framework_path("Security") == _types.framework_path("CoreFoundation") == "/x/libsecurity_double.so"


def test_cipher_suite_width_follows_the_architecture():
    assert ctypes.sizeof(_types.SSLCipherSuite) == (2 if _types.ARM64 else 4)


@pytest.mark.parametrize("fields", [
    dict(highest_supported_version=TLSVersion.TLSv1_3),
    dict(lowest_supported_version=TLSVersion.TLSv1_3),
    dict(lowest_supported_version=TLSVersion.SSLv3),
    dict(lowest_supported_version=TLSVersion.SSLv2),  # backends.md: SSLv2 / SSLv3 never
])
def test_versions_refused(fields):
    with pytest.raises(ConfigurationError):
        _context.version_range(TLSConfiguration(**fields))


def test_versions_always_have_a_minimum():
    assert _context.version_range(TLSConfiguration()) == (S.kTLSProtocol12, S.kTLSProtocol12)
    with pytest.warns(nativetls.SecurityWarning):
        low, high = _context.version_range(TLSConfiguration(lowest_supported_version=TLSVersion.MINIMUM_SUPPORTED))
    assert (low, high) == (S.kTLSProtocol1, S.kTLSProtocol12)
    assert S.kTLSProtocolMaxSupported not in (low, high)


def test_alpn_names_securetransport_would_drop_are_refused():
    assert _context._alpn_list(TLSConfiguration(inner_protocols=[NextProtocol.H2, b"x"])) == (b"h2", b"x")
    with pytest.raises(ConfigurationError):
        _context._alpn_list(TLSConfiguration(inner_protocols=[b"a" * 32]))
    with pytest.raises(ConfigurationError):
        _context._alpn_list(TLSConfiguration(inner_protocols=[b"\xc3\xa9t\xc3\xa9"]))
    with pytest.raises(ConfigurationError):
        _context._alpn_list(TLSConfiguration(inner_protocols=[b"%02d" % i + b"x" * 20 for i in range(12)]))


def test_server_alpn_and_crls_refused_before_any_native_call(pki, cert_factory):
    from _tls import chain_of
    chain = chain_of(pki.server)
    with pytest.raises(ConfigurationError) as info:
        _context._Native(TLSConfiguration(certificate_chain=chain, inner_protocols=[NextProtocol.H2]), server=True)
    assert "ALPN" in str(info.value)
    crl = cert_factory.crl(pki.ca)
    store = nativetls.TrustStore.from_file(pki.ca.cert_path).with_crls(crl.pem)
    with pytest.raises(ConfigurationError) as info:
        _context._Native(TLSConfiguration(trust_store=store), server=False)
    assert "CRL" in str(info.value)


def test_sni_chain_selection_names():
    from nativetls._contexts import name_matches  # shared with SChannel (and OpenSSL's servername callback)
    assert name_matches(frozenset(["*.example.com"]), "www.example.com")
    assert not name_matches(frozenset(["*.example.com"]), "example.com")
    assert name_matches(frozenset(["a.test"]), "A.test.")


def _unbound(method):
    return getattr(method, "__func__", method)  # py2.7: an unbound method; py3: the function


class _Skeleton(object):
    """Just the queue attributes the I/O callbacks use."""

    def __init__(self, incoming=b"", eof=False):
        self._incoming = bytearray(incoming)
        self._outgoing = bytearray()
        self._eof = eof
        self._state = "OPEN"
        self._first_flight = bytearray()


def _call_read(skeleton, wanted):
    target = ctypes.create_string_buffer(wanted)
    length = (ctypes.c_size_t * 1)(wanted)
    status = _unbound(_buffer.SecureTransportBuffer._feed_native)(skeleton, target, length)
    return status, target.raw[:length[0]]


def test_read_callback_whole_short_and_eof():
    """Point 1: all asked for is noErr; fewer is errSSLWouldBlock with the partial count (never a short noErr);
    at the transport's end errSSLClosedNoNotify, never errSSLClosedGraceful."""
    skeleton = _Skeleton(b"\x17\x03\x03\x00\x10rest")
    assert _call_read(skeleton, 5) == (0, b"\x17\x03\x03\x00\x10")
    assert _call_read(skeleton, 16) == (S.errSSLWouldBlock, b"rest")
    assert _call_read(skeleton, 12) == (S.errSSLWouldBlock, b"")
    skeleton._eof = True
    assert _call_read(skeleton, 12) == (S.errSSLClosedNoNotify, b"")
    assert S.errSSLClosedNoNotify != S.errSSLClosedGraceful


def test_write_callback_takes_everything():
    skeleton = _Skeleton()
    data = ctypes.create_string_buffer(b"record", 6)
    length = (ctypes.c_size_t * 1)(6)
    func = _unbound(_buffer.SecureTransportBuffer._take_native)
    assert func(skeleton, data, length) == 0 and length[0] == 6 and bytes(skeleton._outgoing) == b"record"


def test_callbacks_are_module_level_and_alive():
    """The CFUNCTYPE objects native code calls live as long as the module (STYLE.md)."""
    assert isinstance(_buffer._READ_FUNC, S.SSLReadFunc) and isinstance(_buffer._WRITE_FUNC, S.SSLWriteFunc)
    assert _buffer._read_callback(123456789, None, (ctypes.c_size_t * 1)(5)) == S.errSSLClosedAbort
