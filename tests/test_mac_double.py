"""The SecureTransport double itself (tests/mac/double), driven with plain ctypes: no nativetls involved.

These tests pin the double's reading of SecureTransport (MACOS.md points 1-12) so the macOS backend's tests
exercise the behaviour we claim: one record per read request, partial counts kept under errSSLWouldBlock, the
breaks at the right moments and not on resumption, close behaviour, the session cache, ALPN limits and the
SecTrust error codes; and its leak counters (live CF objects, over-releases, keychain files).
Peers: a second context over the double (py27 and py3), and the stdlib ``ssl`` over MemoryBIOs (py3 only, as
``ssl.MemoryBIO`` does not exist on 2.7).
"""
from __future__ import absolute_import, division, print_function

import ctypes
import os
import subprocess
import sys
from ctypes import POINTER, byref, c_char_p, c_int32, c_long, c_size_t, c_uint8, c_uint32, c_ulong, c_void_p

import pytest

import _mac_double

try:
    _PATH = _mac_double.build()
    _SKIP = None
except _mac_double.DoubleUnavailable as exc:  # pragma: no cover - CI installs gcc and libssl-dev
    _PATH, _SKIP = None, str(exc)
    if os.environ.get("CI"):
        raise

pytestmark = pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")

errSecParam = -50
errSSLProtocol = -9800
errSSLWouldBlock = -9803
errSSLClosedGraceful = -9805
errSSLClosedAbort = -9806
errSSLClosedNoNotify = -9816
errSSLIllegalParam = -9830
errSSLPeerAuthCompleted = -9841
errSSLClientCertRequested = -9842
errSecHostNameMismatch = -67602
errSecCertificateExpired = -67818
errSecNotTrusted = -67843
UTF8 = 0x08000100

SSLReadFunc = ctypes.CFUNCTYPE(c_int32, c_void_p, c_void_p, POINTER(c_size_t))
SSLWriteFunc = ctypes.CFUNCTYPE(c_int32, c_void_p, c_void_p, POINTER(c_size_t))

_PROTOTYPES = [
    ("CFRetain", c_void_p, [c_void_p]), ("CFRelease", None, [c_void_p]), ("CFGetRetainCount", c_long, [c_void_p]),
    ("CFDataCreate", c_void_p, [c_void_p, c_char_p, c_long]), ("CFDataGetLength", c_long, [c_void_p]),
    ("CFDataGetBytePtr", c_void_p, [c_void_p]),
    ("CFStringCreateWithCString", c_void_p, [c_void_p, c_char_p, c_uint32]),
    ("CFStringGetCString", c_uint8, [c_void_p, c_char_p, c_long, c_uint32]),
    ("CFArrayCreateMutable", c_void_p, [c_void_p, c_long, c_void_p]),
    ("CFArrayAppendValue", None, [c_void_p, c_void_p]), ("CFArrayGetCount", c_long, [c_void_p]),
    ("CFArrayGetValueAtIndex", c_void_p, [c_void_p, c_long]), ("CFErrorGetCode", c_long, [c_void_p]),
    ("SecCertificateCreateWithData", c_void_p, [c_void_p, c_void_p]),
    ("SecCertificateCopyData", c_void_p, [c_void_p]),
    ("SecPolicyCreateSSL", c_void_p, [c_uint8, c_void_p]),
    ("SecTrustCreateWithCertificates", c_int32, [c_void_p, c_void_p, POINTER(c_void_p)]),
    ("SecTrustSetAnchorCertificates", c_int32, [c_void_p, c_void_p]),
    ("SecTrustSetAnchorCertificatesOnly", c_int32, [c_void_p, c_uint8]),
    ("SecTrustSetPolicies", c_int32, [c_void_p, c_void_p]),
    ("SecTrustEvaluateWithError", c_uint8, [c_void_p, POINTER(c_void_p)]),
    ("SecTrustEvaluate", c_int32, [c_void_p, POINTER(c_uint32)]),
    ("SecTrustGetCertificateCount", c_long, [c_void_p]),
    ("SecKeychainCreate", c_int32, [c_char_p, c_uint32, c_char_p, c_uint8, c_void_p, POINTER(c_void_p)]),
    ("SecKeychainDelete", c_int32, [c_void_p]),
    ("SecItemImport", c_int32, [c_void_p, c_void_p, POINTER(c_uint32), POINTER(c_uint32), c_uint32, c_void_p,
                                c_void_p, POINTER(c_void_p)]),
    ("SecIdentityCreateWithCertificate", c_int32, [c_void_p, c_void_p, POINTER(c_void_p)]),
    ("SecPKCS12Import", c_int32, [c_void_p, c_void_p, POINTER(c_void_p)]),
    ("CFDictionaryCreate", c_void_p, [c_void_p, POINTER(c_void_p), POINTER(c_void_p), c_long, c_void_p, c_void_p]),
    ("CFDictionaryGetValue", c_void_p, [c_void_p, c_void_p]),
    ("SSLCreateContext", c_void_p, [c_void_p, c_int32, c_int32]),
    ("SSLSetIOFuncs", c_int32, [c_void_p, SSLReadFunc, SSLWriteFunc]),
    ("SSLSetConnection", c_int32, [c_void_p, c_void_p]),
    ("SSLSetPeerDomainName", c_int32, [c_void_p, c_char_p, c_size_t]),
    ("SSLSetPeerID", c_int32, [c_void_p, c_char_p, c_size_t]),
    ("SSLSetSessionOption", c_int32, [c_void_p, c_int32, c_uint8]),
    ("SSLSetProtocolVersionMin", c_int32, [c_void_p, c_int32]),
    ("SSLSetProtocolVersionMax", c_int32, [c_void_p, c_int32]),
    ("SSLGetNegotiatedProtocolVersion", c_int32, [c_void_p, POINTER(c_int32)]),
    ("SSLSetCertificate", c_int32, [c_void_p, c_void_p]),
    ("SSLSetClientSideAuthenticate", c_int32, [c_void_p, c_int32]),
    ("SSLSetALPNProtocols", c_int32, [c_void_p, c_void_p]),
    ("SSLCopyALPNProtocols", c_int32, [c_void_p, POINTER(c_void_p)]),
    ("SSLCopyPeerTrust", c_int32, [c_void_p, POINTER(c_void_p)]),
    ("SSLGetSessionState", c_int32, [c_void_p, POINTER(c_int32)]),
    ("SSLGetBufferedReadSize", c_int32, [c_void_p, POINTER(c_size_t)]),
    ("SSLHandshake", c_int32, [c_void_p]),
    ("SSLWrite", c_int32, [c_void_p, c_char_p, c_size_t, POINTER(c_size_t)]),
    ("SSLRead", c_int32, [c_void_p, c_void_p, c_size_t, POINTER(c_size_t)]),
    ("SSLClose", c_int32, [c_void_p]),
]


class _Lib(object):
    def __init__(self):
        self.dll = _mac_double.load()
        for name, restype, argtypes in _PROTOTYPES:
            function = getattr(self.dll, name)
            function.restype, function.argtypes = restype, argtypes
            setattr(self, name, function)
        self.array_callbacks = ctypes.addressof(c_uint8.in_dll(self.dll, "kCFTypeArrayCallBacks"))


@pytest.fixture(scope="module")
def st():
    return _Lib()


@pytest.fixture
def clean():
    """Asserts that the test leaves no CF object alive, none over-released, and no keychain file."""
    counters = _mac_double.Counters()
    before = counters.snapshot()
    yield counters
    counters.check_clean(before)


def _cfstr(st, text):
    return st.CFStringCreateWithCString(None, text.encode("utf-8"), UTF8)


def _array(st, refs, release=True):
    array = st.CFArrayCreateMutable(None, 0, st.array_callbacks)
    for ref in refs:
        st.CFArrayAppendValue(array, ref)
        if release:
            st.CFRelease(ref)
    return array


def _cert(st, der):
    data = st.CFDataCreate(None, der, len(der))
    cert = st.SecCertificateCreateWithData(None, data)
    st.CFRelease(data)
    assert cert
    return cert


class Conn(object):
    """An SSLContextRef of the double whose I/O callbacks use in-memory queues, logging each request size."""

    def __init__(self, st, server, chunk=None):
        self.st = st
        self.ctx = st.SSLCreateContext(None, 0 if server else 1, 0)
        self.inbox = b""
        self.outbox = b""
        self.eof = False
        self.chunk = chunk          # at most this many bytes per read callback (partial counts)
        self.read_requests = []
        self.write_offers = []
        self.short_reads_are_noerr = False   # the bug of point 1: a short read reported as noErr
        self.write_status = None      # a status every write callback returns, taking nothing
        # the callbacks must stay alive as long as the context can call them
        self._read = SSLReadFunc(self._on_read)
        self._write = SSLWriteFunc(self._on_write)
        assert st.SSLSetIOFuncs(self.ctx, self._read, self._write) == 0
        assert st.SSLSetConnection(self.ctx, None) == 0

    def _on_read(self, connection, data, length):
        wanted = length[0]
        self.read_requests.append(wanted)
        n = min(wanted, len(self.inbox), self.chunk or wanted)
        ctypes.memmove(data, self.inbox[:n], n)
        self.inbox = self.inbox[n:]
        length[0] = n
        if n == wanted or self.short_reads_are_noerr:
            return 0
        return errSSLClosedNoNotify if self.eof and not self.inbox else errSSLWouldBlock

    def _on_write(self, connection, data, length):
        self.write_offers.append(length[0])
        if self.write_status is not None:
            length[0] = 0
            return self.write_status
        self.outbox += ctypes.string_at(data, length[0])
        return 0

    def take(self):
        data, self.outbox = self.outbox, b""
        return data

    def handshake(self):
        return self.st.SSLHandshake(self.ctx)

    def write(self, data):
        processed = c_size_t(0)
        status = self.st.SSLWrite(self.ctx, data, len(data), byref(processed))
        return status, processed.value

    def read(self, size=65536):
        buf = ctypes.create_string_buffer(size)
        processed = c_size_t(0)
        status = self.st.SSLRead(self.ctx, buf, size, byref(processed))
        return status, buf.raw[:processed.value]

    def peer_trust(self):
        trust = c_void_p()
        assert self.st.SSLCopyPeerTrust(self.ctx, byref(trust)) == 0
        return trust.value

    def close(self):
        if self.ctx:
            self.st.CFRelease(self.ctx)
            self.ctx = None


def _import(st, keychain, pem, password=None):
    data = st.CFDataCreate(None, pem, len(pem))
    items = c_void_p()
    params = None
    if password is not None:
        class Params(ctypes.Structure):
            _fields_ = [("version", c_uint32), ("flags", c_uint32)] + [(n, c_void_p) for n in (
                "passphrase", "title", "prompt", "access", "usage", "attributes")]
        params = Params(0, 0, _cfstr(st, password))
    status = st.SecItemImport(data, None, byref(c_uint32(0)), byref(c_uint32(0)), 0,
                              ctypes.addressof(params) if params is not None else None, keychain, byref(items))
    st.CFRelease(data)
    if params is not None:
        st.CFRelease(params.passphrase)
    return status, items.value


class Keychain(object):
    def __init__(self, st, directory, name="double.keychain"):
        self.st = st
        self.path = os.path.join(directory, name).encode("utf-8")
        ref = c_void_p()
        assert st.SecKeychainCreate(self.path, 6, b"secret", 0, None, byref(ref)) == 0
        self.ref = ref.value

    def identity(self, credential):
        status, items = _import(self.st, self.ref, credential.key_pem)
        assert status == 0
        self.st.CFRelease(items)
        cert = _cert(self.st, credential.cert_der)
        identity = c_void_p()
        assert self.st.SecIdentityCreateWithCertificate(self.ref, cert, byref(identity)) == 0
        self.st.CFRelease(cert)
        refs = [identity.value] + [_cert(self.st, c.cert_der) for c in credential.intermediates]
        return _array(self.st, refs)

    def close(self):
        assert self.st.SecKeychainDelete(self.ref) == 0
        self.st.CFRelease(self.ref)


def _evaluate(st, trust, host, anchors, server=True):
    name = _cfstr(st, host) if host else None
    policy = st.SecPolicyCreateSSL(server, name)
    if name:
        st.CFRelease(name)
    assert st.SecTrustSetPolicies(trust, policy) == 0
    st.CFRelease(policy)
    if anchors is not None:
        array = _array(st, [_cert(st, c.cert_der) for c in anchors])
        assert st.SecTrustSetAnchorCertificates(trust, array) == 0
        assert st.SecTrustSetAnchorCertificatesOnly(trust, True) == 0
        st.CFRelease(array)
    error = c_void_p()
    ok = st.SecTrustEvaluateWithError(trust, byref(error))
    if ok:
        assert not error.value
        return 0
    code = st.CFErrorGetCode(error.value)
    st.CFRelease(error.value)
    return code


def _pump(a, b):
    a_out, b_out = a.take(), b.take()
    a.inbox += b_out
    b.inbox += a_out
    return bool(a_out or b_out)


def _handshake_pair(client, server, on_break=None, rounds=30):
    """Both double contexts to completion; *on_break(conn, status)* sees each break and returns nothing."""
    done = {}
    for _ in range(rounds):
        for conn in (client, server):
            if conn in done:
                continue
            status = conn.handshake()
            if status == 0:
                done[conn] = True
            elif status in (errSSLPeerAuthCompleted, errSSLClientCertRequested):
                if on_break is not None:
                    on_break(conn, status)
                continue
            elif status != errSSLWouldBlock:
                raise AssertionError("handshake of %s failed: %d" % ("server" if conn is server else "client",
                                                                       status))
        if not _pump(client, server) and len(done) == 2:
            return
    raise AssertionError("handshake did not finish")


@pytest.fixture
def pair(st, pki, tmp_path, clean):
    keychain = Keychain(st, str(tmp_path))
    identity = keychain.identity(pki.server)
    made = []

    def make(client_options=(0,), server_options=(), peer_id=None, host=b"localhost"):
        # BreakOnServerAuth by default: without it the client verifies against the system anchors and fails
        client, server = Conn(st, False), Conn(st, True)
        assert st.SSLSetCertificate(server.ctx, identity) == 0
        for conn in (client, server):
            assert st.SSLSetProtocolVersionMin(conn.ctx, 8) == 0
        if host:
            assert st.SSLSetPeerDomainName(client.ctx, host, len(host)) == 0
        for option in client_options:
            assert st.SSLSetSessionOption(client.ctx, option, True) == 0
        for option in server_options:
            assert st.SSLSetSessionOption(server.ctx, option, True) == 0
        if peer_id:
            assert st.SSLSetPeerID(client.ctx, peer_id, len(peer_id)) == 0
        made.extend([client, server])
        return client, server

    yield make
    for conn in made:
        conn.close()
    st.CFRelease(identity)
    keychain.close()


# --- CoreFoundation ---

def test_exports_every_symbol_the_backend_binds(st):
    import nativetls._mac._corefoundation as cf
    import nativetls._mac._security as sec
    for row in cf.PROTOTYPES + sec.PROTOTYPES:
        assert hasattr(st.dll, str(row[0])), row[0]
    for symbol in cf.DATA_SYMBOLS + ("kCFAllocatorDefault",):
        c_uint8.in_dll(st.dll, str(symbol))


def test_retain_release_and_counters(st, clean):
    live = clean.live()
    data = st.CFDataCreate(None, b"abc", 3)
    assert clean.live() == live + 1
    assert st.CFGetRetainCount(data) == 1
    array = _array(st, [data], release=False)        # CFArrayAppendValue retains
    assert st.CFGetRetainCount(data) == 2
    st.CFRelease(array)
    assert st.CFGetRetainCount(data) == 1
    assert ctypes.string_at(st.CFDataGetBytePtr(data), st.CFDataGetLength(data)) == b"abc"
    st.CFRelease(data)
    assert clean.live() == live


def test_over_release_is_counted(st):
    counters = _mac_double.Counters()
    before = counters.overreleases()
    data = st.CFDataCreate(None, b"x", 1)
    st.CFRelease(data)
    st.CFRelease(data)
    assert counters.overreleases() == before + 1


def test_cfrelease_null_aborts_like_apple():
    code = ("import ctypes; lib = ctypes.CDLL(%r); lib.CFRelease.argtypes = [ctypes.c_void_p]; "
            "lib.CFRelease(None)" % _PATH)
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = process.communicate()[1]
    assert process.returncode != 0
    assert b"CFRelease(NULL)" in err


def test_cstring_buffer_rules(st, clean):
    name = _cfstr(st, "abc")
    buf = ctypes.create_string_buffer(4)
    assert st.CFStringGetCString(name, buf, 3, UTF8) == 0      # no room for the NUL
    assert st.CFStringGetCString(name, buf, 4, UTF8) == 1 and buf.value == b"abc"
    st.CFRelease(name)


# --- SecTrust codes [MACOS 12] ---

@pytest.mark.parametrize("name,host,code", [
    ("server", "localhost", 0), ("server", "127.0.0.1", 0), ("server", "wrong.example", errSecHostNameMismatch),
    ("wrong_host", "localhost", errSecHostNameMismatch), ("expired", "localhost", errSecCertificateExpired),
    ("untrusted", "localhost", errSecNotTrusted), ("cn_only", "localhost", errSecHostNameMismatch),
    ("ip_only", "127.0.0.1", 0), ("ip_only", "localhost", errSecHostNameMismatch), ("self_signed", "localhost", errSecNotTrusted),
])
def test_trust_codes(st, pki, clean, name, host, code):
    credential = pki[name]
    certs = _array(st, [_cert(st, c.cert_der) for c in [credential] + credential.intermediates])
    policy = st.SecPolicyCreateSSL(True, None)
    trust = c_void_p()
    assert st.SecTrustCreateWithCertificates(certs, policy, byref(trust)) == 0
    st.CFRelease(certs)
    st.CFRelease(policy)
    assert _evaluate(st, trust.value, host, [pki.ca]) == code
    st.CFRelease(trust.value)


def test_client_certificate_needs_client_policy(st, pki, clean):
    certs = _array(st, [_cert(st, c.cert_der) for c in [pki.server] + pki.server.intermediates])
    trust = c_void_p()
    policy = st.SecPolicyCreateSSL(True, None)
    assert st.SecTrustCreateWithCertificates(certs, policy, byref(trust)) == 0
    st.CFRelease(policy)
    st.CFRelease(certs)
    assert _evaluate(st, trust.value, None, [pki.ca], server=False) == -67609   # serverAuth EKU only
    st.CFRelease(trust.value)


# --- keychains and imports ---

def test_keychain_file_is_tracked_and_removed(st, pki, tmp_path, clean):
    keychain = Keychain(st, str(tmp_path))
    assert keychain.path.decode() in clean.keychain_files()
    identity = keychain.identity(pki.client)
    st.CFRelease(identity)
    keychain.close()
    assert not os.path.exists(keychain.path)


def test_keychain_left_behind_is_reported(st, tmp_path):
    counters = _mac_double.Counters()
    before = counters.snapshot()
    keychain = Keychain(st, str(tmp_path))
    st.CFRelease(keychain.ref)                   # released without SecKeychainDelete: the file stays
    assert "keychain file(s) left" in counters.leaks_since(before)
    os.unlink(keychain.path)


def test_encrypted_key_import(st, pki, tmp_path, clean):
    keychain = Keychain(st, str(tmp_path))
    with open(pki.client.encrypted_key_path(b"pw"), "rb") as handle:
        pem = handle.read()
    assert _import(st, keychain.ref, pem)[0] == -25260                 # errSecPassphraseRequired
    assert _import(st, keychain.ref, pem, "wrong")[0] == -25293        # errSecAuthFailed
    status, items = _import(st, keychain.ref, pem, "pw")
    assert status == 0 and st.CFArrayGetCount(items) == 1
    st.CFRelease(items)
    keychain.close()


def test_pkcs12_import(st, pki, clean):
    """SecPKCS12Import as macOS 14's: no passphrase is the empty one (errSecAuthFailed for a file with one), a
    wrong one errSecAuthFailed, not PKCS#12 errSecDecode; one {identity, chain} dictionary per key; a file
    without a key succeeds with a {chain} dictionary only; with no kSecImportExportKeychain the key goes to the
    user's default keychain (counted)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    blob = pkcs12.serialize_key_and_certificates(
        b"client", pki.client.key, pki.client.cert, [c.cert for c in pki.client.intermediates],
        serialization.BestAvailableEncryption(b"pw"))
    certs_only = pkcs12.serialize_key_and_certificates(
        None, None, None, [pki.client.cert], serialization.BestAvailableEncryption(b"pw"))
    key = c_void_p.in_dll(st.dll, "kSecImportExportPassphrase")
    identity_key = c_void_p.in_dll(st.dll, "kSecImportItemIdentity").value
    chain_key = c_void_p.in_dll(st.dll, "kSecImportItemCertChain").value
    st.dll.double_default_keychain_imports.restype = ctypes.c_long
    defaults = st.dll.double_default_keychain_imports()

    def run(blob, password):
        items = c_void_p()
        data = st.CFDataCreate(None, blob, len(blob))
        options = None
        if password is not None:
            value = _cfstr(st, password)
            options = st.CFDictionaryCreate(
                None, (c_void_p * 1)(key.value), (c_void_p * 1)(value), 1,
                ctypes.addressof(c_uint8.in_dll(st.dll, "kCFTypeDictionaryKeyCallBacks")),
                ctypes.addressof(c_uint8.in_dll(st.dll, "kCFTypeDictionaryValueCallBacks")))
            st.CFRelease(value)
        status = st.SecPKCS12Import(data, options, byref(items))
        if options:
            st.CFRelease(options)
        st.CFRelease(data)
        return status, items.value

    assert [run(blob, password)[0] for password in (None, "wrong")] == [-25293, -25293]   # errSecAuthFailed
    assert run(b"not PKCS#12", "pw")[0] == -26275                                          # errSecDecode
    status, items = run(blob, "pw")
    assert status == 0 and st.CFArrayGetCount(items) == 1
    entry = st.CFArrayGetValueAtIndex(items, 0)
    assert st.CFArrayGetCount(st.CFDictionaryGetValue(entry, chain_key)) == 2
    assert st.CFDictionaryGetValue(entry, identity_key)
    st.CFRelease(items)
    assert st.dll.double_default_keychain_imports() == defaults + 1
    status, items = run(certs_only, "pw")
    assert status == 0 and st.CFArrayGetCount(items) == 1
    entry = st.CFArrayGetValueAtIndex(items, 0)
    assert not st.CFDictionaryGetValue(entry, identity_key)
    assert st.CFArrayGetCount(st.CFDictionaryGetValue(entry, chain_key)) == 1
    st.CFRelease(items)


# --- SecureTransport between two double contexts (py27 and py3) ---

def test_handshake_breaks_and_data(st, pki, pair):
    client, server = pair(client_options=[0], server_options=[2])
    assert st.SSLSetClientSideAuthenticate(server.ctx, 2) == 0
    seen = []

    def on_break(conn, status):
        seen.append(("server" if conn is server else "client", status))
        trust = conn.peer_trust()
        if conn is client:
            assert _evaluate(st, trust, "localhost", [pki.ca]) == 0
        else:
            assert trust is None            # the client sent an empty Certificate
        if trust:
            st.CFRelease(trust)

    _handshake_pair(client, server, on_break)
    assert ("client", errSSLPeerAuthCompleted) in seen and ("server", errSSLPeerAuthCompleted) in seen
    version = c_int32()
    assert st.SSLGetNegotiatedProtocolVersion(client.ctx, byref(version)) == 0 and version.value == 8
    assert client.write(b"hello") == (0, 5)
    _pump(client, server)
    assert server.read() == (0, b"hello")
    assert server.read() == (errSSLWouldBlock, b"")
    # SSLHandshake again after success reads a record [MACOS 5]
    assert client.handshake() == errSSLWouldBlock
    server.write(b"data")
    _pump(client, server)
    assert client.handshake() == errSSLProtocol


def test_record_read_pattern(st, pair):
    """[MACOS 1]: exactly the missing header bytes, then exactly the rest of one record."""
    client, server = pair(host=None)
    _handshake_pair(client, server)
    assert client.write(b"x" * 100) == (0, 100)
    record = client.take()
    del server.read_requests[:]
    server.inbox = record
    assert server.read() == (0, b"x" * 100)
    assert server.read_requests[:2] == [5, len(record) - 5]


def test_short_read_reported_as_noerr_corrupts(st, pair):
    """[MACOS 1]: SecureTransport trusts a noErr count; a short one desynchronises the record layer."""
    client, server = pair(host=None)
    _handshake_pair(client, server)
    client.write(b"x" * 100)
    server.inbox = client.take()
    server.chunk, server.short_reads_are_noerr = 3, True
    results = [server.read() for _ in range(10)]
    assert (0, b"x" * 100) not in results
    assert any(status not in (0, errSSLWouldBlock) for status, _ in results) or not any(d for _, d in results)


def test_partial_counts_under_would_block(st, pair):
    client, server = pair(host=None)
    client.chunk = server.chunk = 64
    _handshake_pair(client, server, rounds=400)                 # every read mid-handshake is partial
    client.chunk = server.chunk = 3
    assert client.write(b"abc") == (0, 3)
    _pump(client, server)
    got = b""
    for _ in range(20):
        status, data = server.read()
        got += data
        if got == b"abc":
            break
        assert status == errSSLWouldBlock
    assert got == b"abc"
    # each request after a partial one asks only for what is still missing
    assert all(n <= 5 or n > 3 for n in server.read_requests)


def test_write_processed_semantics(st, pair):
    """[MACOS 2, 3]: processed == len means queued (never resend); 0 means retry; records offered one by one."""
    client, server = pair(host=None)
    _handshake_pair(client, server)
    client.take()
    del client.write_offers[:]
    client.write_status = errSSLWouldBlock
    assert client.write(b"y" * 20000) == (errSSLWouldBlock, 20000)
    assert client.write(b"z") == (errSSLWouldBlock, 0)
    client.write_status = None
    assert client.write(b"") == (0, 0)                          # the queue drains
    server.inbox = client.take()
    got = b""
    while len(got) < 20000:
        status, data = server.read()
        got += data
    assert got == b"y" * 20000
    offers = [n for n in client.write_offers if n]
    assert max(offers) <= 16384 + 5 + 256                        # never more than one record per offer


def test_close_notify_answered_and_graceful(st, pair):
    client, server = pair(host=None)
    _handshake_pair(client, server)
    assert server.st.SSLClose(server.ctx) == 0
    assert server.read() == (errSSLClosedGraceful, b"")             # after our own SSLClose [MACOS 4]
    _pump(client, server)
    assert client.read() == (errSSLClosedGraceful, b"")
    assert client.take()                                            # SSLRead answered with close_notify


def test_close_ignores_errsecio(st, pair):
    """[MACOS 8]: SSLClose flushes close_notify, ignores errSecIO, and the session is closed regardless."""
    client, server = pair(host=None)
    _handshake_pair(client, server)
    client.take()

    state = c_int32()
    client.write_status = -36                                       # errSecIO: the peer is gone
    assert st.SSLClose(client.ctx) == 0
    assert st.SSLGetSessionState(client.ctx, byref(state)) == 0 and state.value == 3   # kSSLClosed
    assert client.write(b"x") == (errSSLClosedGraceful, 0)
    server.write_status = errSSLWouldBlock
    assert st.SSLClose(server.ctx) == errSSLWouldBlock              # other errors are returned


def test_truncation_is_not_graceful(st, pair):
    client, server = pair(host=None)
    _handshake_pair(client, server)
    client.write(b"q" * 50)
    record = client.take()
    server.inbox, server.eof = record[:20], True
    assert server.read()[0] == errSSLClosedNoNotify                 # in the body the error passes through
    client2, server2 = pair(host=None)
    _handshake_pair(client2, server2)
    server2.eof = True
    assert server2.read()[0] == errSSLClosedAbort                   # in the header it becomes ClosedAbort


def test_resumption_skips_the_break(st, pair):
    peer_id = b"localhost:443"
    breaks = []
    for _ in range(2):
        client, server = pair(peer_id=peer_id)
        _handshake_pair(client, server, lambda conn, status: breaks.append(status))
        trust = client.peer_trust()                                 # built lazily on resumption too
        assert trust
        st.CFRelease(trust)
        client.close()              # released without SSLClose: Apple's cache keeps the session
    assert breaks == [errSSLPeerAuthCompleted]
    assert _mac_double.load().double_session_cache_hits() >= 1
    # the key includes the session options (SSLGetSessionConfigurationIdentifier): other options, no resumption
    client, server = pair(client_options=[0, 9], peer_id=peer_id)
    _handshake_pair(client, server, lambda conn, status: breaks.append(status))
    assert breaks == [errSSLPeerAuthCompleted] * 2


def test_client_cert_requested_then_set(st, pki, pair, tmp_path):
    client, server = pair(client_options=[1, 0], server_options=[2])
    assert st.SSLSetClientSideAuthenticate(server.ctx, 1) == 0
    seen = []
    keychain = Keychain(st, str(tmp_path), "client.keychain")

    def on_break(conn, status):
        seen.append(("server" if conn is server else "client", status))
        if status == errSSLClientCertRequested:
            identity = keychain.identity(pki.client)
            assert st.SSLSetCertificate(client.ctx, identity) == 0
            st.CFRelease(identity)
        trust = conn.peer_trust() if status == errSSLPeerAuthCompleted else None
        if conn is server:
            assert trust and _evaluate(st, trust, None, [pki.ca], server=False) == 0
        if trust:
            st.CFRelease(trust)

    _handshake_pair(client, server, on_break)
    assert seen[:2] == [("client", errSSLClientCertRequested), ("client", errSSLPeerAuthCompleted)]
    assert ("server", errSSLPeerAuthCompleted) in seen
    client.close()
    keychain.close()


def test_versions_and_alpn_limits(st, pair):
    st.dll.SSLGetProtocolVersionMin.argtypes = [c_void_p, POINTER(c_int32)]
    for side, default in ((1, 2), (0, 4)):                     # SSL 3 on clients, TLS 1.0 on servers [MACOS 10]
        conn = Conn(st, side == 0)
        value = c_int32()
        assert st.dll.SSLGetProtocolVersionMin(conn.ctx, byref(value)) == 0 and value.value == default
        conn.close()
    client, server = pair(host=None)
    assert st.SSLSetProtocolVersionMax(client.ctx, 10) == errSSLIllegalParam      # kTLSProtocol13
    assert st.SSLSetProtocolVersionMax(client.ctx, 999) == errSSLIllegalParam     # MaxSupported
    empty = _array(st, [])
    assert st.SSLSetALPNProtocols(client.ctx, empty) == errSecParam
    st.CFRelease(empty)
    too_many = _array(st, [_cfstr(st, "p%02d" % i + "x" * 20) for i in range(12)])
    assert st.SSLSetALPNProtocols(client.ctx, too_many) == errSecParam
    st.CFRelease(too_many)
    names = _array(st, [_cfstr(st, "y" * 32), _cfstr(st, "h2")])
    assert st.SSLSetALPNProtocols(client.ctx, names) == 0
    assert st.SSLSetALPNProtocols(server.ctx, names) == 0       # accepted, never answered [MACOS 11]
    st.CFRelease(names)
    _handshake_pair(client, server)
    out = c_void_p(1)
    assert st.SSLCopyALPNProtocols(client.ctx, byref(out)) == errSecParam and not out.value


# --- against the stdlib ssl module (py3: ssl.MemoryBIO) ---

needs_memory_bio = pytest.mark.skipif(not hasattr(__import__("ssl"), "MemoryBIO"),
                                      reason="ssl.MemoryBIO is py3-only")


def _stdlib_server(pki, alpn=None, sni=None):
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if sni is not None:
        # sni_callback is 3.7+; set_servername_callback (the same hook) exists from 3.4 on
        context.set_servername_callback(lambda obj, name, ctx: sni.append(name))
    context.load_cert_chain(pki.server.fullchain_path, pki.server.key_path)
    if alpn:
        context.set_alpn_protocols(alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    return context.wrap_bio(incoming, outgoing, server_side=True), incoming, outgoing


@needs_memory_bio
def test_client_against_stdlib_server(st, pki, clean):
    import ssl
    sni = []
    obj, incoming, outgoing = _stdlib_server(pki, alpn=["h2", "http/1.1"], sni=sni)
    client = Conn(st, False)
    assert st.SSLSetPeerDomainName(client.ctx, b"localhost", 9) == 0
    assert st.SSLSetSessionOption(client.ctx, 0, True) == 0
    assert st.SSLSetProtocolVersionMin(client.ctx, 4) == 0
    names = _array(st, [_cfstr(st, "h2")])
    assert st.SSLSetALPNProtocols(client.ctx, names) == 0
    st.CFRelease(names)
    broke = []
    for _ in range(20):
        status = client.handshake()
        if status == errSSLPeerAuthCompleted:
            trust = client.peer_trust()
            assert _evaluate(st, trust, "localhost", [pki.ca]) == 0
            assert st.SecTrustGetCertificateCount(trust) == 3
            st.CFRelease(trust)
            broke.append(status)
            continue
        incoming.write(client.take())
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        client.inbox += outgoing.read()
        if status == 0:
            break
        assert status == errSSLWouldBlock
    assert status == 0 and broke == [errSSLPeerAuthCompleted]
    assert sni == ["localhost"]
    assert obj.version() == "TLSv1.2"
    assert obj.selected_alpn_protocol() == "h2"
    out = c_void_p()
    assert st.SSLCopyALPNProtocols(client.ctx, byref(out)) == 0
    assert st.CFArrayGetCount(out.value) == 1
    st.CFRelease(out.value)
    assert client.write(b"ping") == (0, 4)
    incoming.write(client.take())
    assert obj.read() == b"ping"
    obj.write(b"pong" * 5000)
    client.inbox += outgoing.read()
    got = b""
    while len(got) < 20000:
        status, data = client.read(7000)
        assert status in (0, errSSLWouldBlock)
        got += data
    assert got == b"pong" * 5000
    try:
        obj.unwrap()
    except ssl.SSLWantReadError:
        pass
    client.inbox += outgoing.read()
    assert client.read() == (errSSLClosedGraceful, b"")
    client.close()


@needs_memory_bio
def test_server_against_stdlib_client_with_client_certificate(st, pki, tmp_path, clean):
    """The server side: the client-auth break at the client's Certificate, then data both ways."""
    import ssl
    keychain = Keychain(st, str(tmp_path))
    identity = keychain.identity(pki.server)
    server = Conn(st, True)
    assert st.SSLSetCertificate(server.ctx, identity) == 0
    st.CFRelease(identity)
    assert st.SSLSetProtocolVersionMin(server.ctx, 4) == 0
    assert st.SSLSetClientSideAuthenticate(server.ctx, 1) == 0          # kAlwaysAuthenticate
    assert st.SSLSetSessionOption(server.ctx, 2, True) == 0             # BreakOnClientAuth
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(pki.ca.cert_path)
    context.load_cert_chain(pki.client.fullchain_path, pki.client.key_path)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    breaks = []
    client_done = server_done = False
    for _ in range(20):
        if not client_done:
            try:
                obj.do_handshake()
                client_done = True
            except ssl.SSLWantReadError:
                pass
        server.inbox += outgoing.read()
        if not server_done:                 # never SSLHandshake again after success [MACOS 5]
            status = server.handshake()
            if status == errSSLPeerAuthCompleted:
                trust = server.peer_trust()
                assert _evaluate(st, trust, None, [pki.ca], server=False) == 0
                st.CFRelease(trust)
                breaks.append(status)
                status = server.handshake()
            assert status in (0, errSSLWouldBlock)
            server_done = status == 0
        incoming.write(server.take())
        if server_done and client_done:
            break
    assert breaks == [errSSLPeerAuthCompleted] and server_done and client_done
    assert obj.version() == "TLSv1.2"
    obj.write(b"from the client")
    server.inbox += outgoing.read()
    assert server.read() == (0, b"from the client")
    assert server.write(b"from the server") == (0, 15)
    incoming.write(server.take())
    assert obj.read() == b"from the server"
    server.close()
    keychain.close()
