# -*- coding: utf-8 -*-
"""Client certificates on the SChannel client: PEM/DER keys and PKCS#12, against ``openssl s_server -Verify``.

Every key is imported through an in-memory PKCS#12 blob and PFXImportCertStore (``nativetls._win._keys``); a
persisted key container is deleted again when the credential is closed.

Wine 8 difference: its SChannel gives GnuTLS only the leaf, and GnuTLS offers a client certificate only when the
leaf's *issuer* is among the CA names the server sent. So the servers here trust the intermediate
(``-CAfile intermediate -partial_chain``); a server that names only the root gets no certificate from Wine
(``test_server_naming_only_the_root``, which must pass on Windows, states that under Wine).
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import binascii
import ctypes

import pytest

from conftest import UNDER_WINE
from test_schannel_client import Client, _flush, _readline

nativetls = pytest.importorskip("nativetls")
from nativetls import (  # noqa: E402
    Certificate, ConfigurationError, PrivateKey, SigningChain, TLSConfiguration, TLSError,
)

CLIENT_SUBJECT = "nativetls test client"


def _chain(pki, key=None, password=None):
    files = pki["client"]
    intermediates = [Certificate.from_file(pki["intermediate"].cert)]
    key = PrivateKey.from_file(key or files.key, password=password)
    return SigningChain((Certificate.from_file(files.cert), key), intermediates)


def _echo_round_trip(sock, buf):
    buf.write(b"abc\n")
    _flush(sock, buf)
    assert _readline(sock, buf) == b"cba\n"


def _server(openssl_server, ca="intermediate"):
    """s_server requiring a client certificate issued under *ca* (see the module docstring for why not the root)."""
    return openssl_server(verify_client_ca=ca, extra_args=["-partial_chain"] if ca == "intermediate" else [])


def _connect_and_check(backend, pki, peer, **config):
    with Client(backend, pki, **config).connected(peer) as (sock, buf):
        _echo_round_trip(sock, buf)
    output = peer.stop()
    assert CLIENT_SUBJECT in output, "s_server did not report our certificate:\n" + output
    return output


def test_pem_key_client_certificate(backend, pki, openssl_server):
    _connect_and_check(backend, pki, _server(openssl_server), certificate_chain=_chain(pki))


def test_persisted_key_is_used_and_deleted(backend, pki, openssl_server, monkeypatch):
    """The real-Windows mode (a persisted key container, deleted on close), exercised under Wine as well."""
    from nativetls._win import _keys
    monkeypatch.setattr(_keys, "persist_keys", lambda: True)
    client = Client(backend, pki, certificate_chain=_chain(pki))
    info = client.context._native.local.key_info
    assert info is not None and info[0], "PFXImportCertStore persisted no key container"
    assert _container_exists(info)
    peer = _server(openssl_server)
    with client.connected(peer) as (sock, buf):
        _echo_round_trip(sock, buf)
    assert CLIENT_SUBJECT in peer.stop()
    client.context.close()
    del client, buf, sock
    import gc
    gc.collect()
    assert not _container_exists(info), "the key container outlived the context and its connections"


def test_server_naming_only_the_root(backend, pki, openssl_server):
    peer = _server(openssl_server, ca="ca")
    try:
        _connect_and_check(backend, pki, peer, certificate_chain=_chain(pki))
    except TLSError as exc:
        if not UNDER_WINE:
            raise
        pytest.skip("Wine 8 difference: SChannel hands GnuTLS only the leaf, which GnuTLS offers only to a server "
                    "naming the leaf's issuer (the intermediate), not the root: %s" % exc)


def test_der_key_and_pkcs1(backend, pki, openssl_server, tmp_path):
    from asn1crypto import keys, pem
    with open(pki["client"].key, "rb") as handle:
        _label, _headers, der = pem.unarmor(handle.read())
    pkcs1 = keys.PrivateKeyInfo.load(der)["private_key"].parsed.dump()
    for name, data in (("client.key.der", der), ("client.rsa.pem", pem.armor("RSA PRIVATE KEY", pkcs1))):
        path = str(tmp_path / name)
        with open(path, "wb") as handle:
            handle.write(data)
        _connect_and_check(backend, pki, _server(openssl_server), certificate_chain=_chain(pki, key=path))


def test_encrypted_pkcs8_key(backend, pki, peerd, openssl_server):
    path = windows(peerd.request(op="encrypted_key", cert="client", password="s3cret")["path"])
    _connect_and_check(backend, pki, _server(openssl_server),
                       certificate_chain=_chain(pki, key=path, password=b"s3cret"))
    with pytest.raises(ConfigurationError) as info:
        backend.client_context(TLSConfiguration(certificate_chain=_chain(pki, key=path, password=b"wrong")))
    assert "password" in str(info.value)


def test_traditional_encryption_is_a_configuration_error(backend, pki, peerd):
    path = windows(peerd.request(op="encrypted_key", cert="client", password="s3cret", traditional=True)["path"])
    with pytest.raises(ConfigurationError) as info:
        backend.client_context(TLSConfiguration(certificate_chain=_chain(pki, key=path, password=b"s3cret")))
    assert "PKCS#8" in str(info.value)


@pytest.mark.parametrize("legacy", [False, True], ids=["aes256-sha256", "3des-sha1"])
def test_pkcs12_import(backend, pki, peerd, legacy):
    from nativetls._win._keys import LocalCredential
    path = windows(peerd.request(op="pkcs12", cert="client", password="pw", legacy=legacy)["path"])
    with open(path, "rb") as handle:
        data = handle.read()
    for persist in (True, False):
        local = LocalCredential.from_pkcs12(data, b"pw", persist=persist)
        try:
            assert CLIENT_SUBJECT in Certificate.from_buffer(local.leaf.der()).subject
            assert len(local.store.ders()) == 2  # the leaf and its intermediate
            info = local.key_info
            # Persisted keys have a container of their own; so does an ephemeral key that the import put in the
            # shared default container (Wine), since nativetls moves it into one (see _keys._own_container).
            assert info is not None or not persist
            if info is not None:
                assert _container_exists(info)
        finally:
            local.close()
        if info is not None:
            assert not _container_exists(info)
    with pytest.raises(ConfigurationError):
        LocalCredential.from_pkcs12(data, b"wrong")
    with pytest.raises(ConfigurationError):
        LocalCredential.from_pkcs12(b"not a pfx", b"pw")


def test_key_container_is_deleted_on_close(backend, pki):
    from nativetls._win._keys import LocalCredential
    local = LocalCredential.from_signing_chain(_chain(pki), persist=True)
    info = local.key_info
    assert _container_exists(info)
    local.close()
    local.close()  # idempotent
    assert not _container_exists(info)


def test_each_key_has_its_own_container(backend, pki):
    """Two keys imported in one process stay two keys (Wine's PFXImportCertStore puts both in the user's default
    container; nativetls moves each into a container of its own), and closing one leaves the other usable."""
    from nativetls._win._keys import LocalCredential
    server_chain = SigningChain.from_pem_files(pki["server"].fullchain, pki["server"].key)
    for persist in (False, True):
        first = LocalCredential.from_signing_chain(server_chain, persist=persist)
        second = LocalCredential.from_signing_chain(_chain(pki), persist=persist)
        try:
            infos = [first.key_info, second.key_info]
            if UNDER_WINE:  # the import's own container is the shared default one: both were moved
                assert all(info is not None and info[0].startswith("nativetls-") for info in infos), infos
            if all(infos):
                assert infos[0][0] != infos[1][0]
            for local in (first, second):
                assert _key_matches_certificate(local), "the key linked to %s is not its own" % local
        finally:
            second.close()
        assert _key_matches_certificate(first)
        first.close()


def test_imports_from_several_threads(backend, pki):
    """Keys imported by several threads at once each stay their certificate's: under Wine every import goes through
    the one default container, so nativetls serialises the import and the move (``_keys._IMPORT_LOCK``)."""
    import threading
    from nativetls._win._keys import LocalCredential
    chains = [SigningChain.from_pem_files(pki["server"].fullchain, pki["server"].key), _chain(pki)] * 4
    results, start = [None] * len(chains), threading.Event()

    def work(index):
        start.wait()
        try:
            local = LocalCredential.from_signing_chain(chains[index])
            try:
                results[index] = _key_matches_certificate(local)
            finally:
                local.close()
        except BaseException as exc:  # re-raised below (pytest.skip for a CNG key included)
            results[index] = exc

    threads = [threading.Thread(target=work, args=(index,)) for index in range(len(chains))]
    for thread in threads:
        thread.start()
    start.set()
    for thread in threads:
        thread.join(60)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    assert results == [True] * len(chains)


def _edge_chain(pki, peerd, shape):
    """The SigningChain of peerd's leaf whose RSA key has *shape* ("d", "crt", "e3"; see peerd's ``edge_key``): a
    key that Wine's PFXImportCertStore imports damaged, which nativetls must repair."""
    from conftest import windows_path
    files = peerd.request(op="edge_key", shape=shape)
    return SigningChain((Certificate.from_file(windows_path(files["cert"])),
                         PrivateKey.from_file(windows_path(files["key"]))),
                        [Certificate.from_file(pki["intermediate"].cert)])


EDGE_SHAPES = pytest.mark.parametrize("shape", ["d", "crt", "e3"], ids=["short-d", "short-crt", "exponent-3"])


@EDGE_SHAPES
def test_keys_the_import_damages_are_repaired(backend, pki, peerd, shape):
    """Wine's PFXImportCertStore stops copying a key into its key blob at the first value shorter than its
    nominal width, leaving the rest of the blob (up to d) uninitialised, and writes 65537 as the public exponent
    whatever the key's is (``nativetls._win._keyblob``). The key nativetls links to the certificate is whole all
    the same."""
    from nativetls._win._keys import LocalCredential
    for persist in (False, True):
        local = LocalCredential.from_signing_chain(_edge_chain(pki, peerd, shape), persist=persist)
        try:
            assert _key_matches_certificate(local)
        finally:
            local.close()


@EDGE_SHAPES
def test_client_certificate_with_a_key_the_import_damages(backend, pki, peerd, openssl_server, shape):
    """The handshake signs with such a key (before the repair, GnuTLS under Wine's SChannel failed: "Public key
    signing has failed", SEC_E_INTERNAL_ERROR from InitializeSecurityContextW)."""
    _connect_and_check(backend, pki, _server(openssl_server), certificate_chain=_edge_chain(pki, peerd, shape))


def test_no_certificate_when_the_server_requires_one(backend, pki, openssl_server):
    peer = _server(openssl_server)
    with pytest.raises(TLSError):
        with Client(backend, pki).connected(peer) as (sock, buf):
            _echo_round_trip(sock, buf)  # TLS 1.3 servers reject the missing certificate after the handshake


def test_untrusted_client_certificate_is_rejected_by_the_server(backend, pki, openssl_server):
    peer = openssl_server(verify_client_ca="untrusted_ca")
    with pytest.raises(TLSError):
        with Client(backend, pki, certificate_chain=_chain(pki)).connected(peer) as (sock, buf):
            _echo_round_trip(sock, buf)


def windows(path):
    from conftest import windows_path
    return windows_path(path)


def _container_exists(info):
    """Whether the key container of a ``LocalCredential.key_info`` can still be opened."""
    container, provider, prov_type, flags = info
    if not prov_type:
        pytest.skip("the key went to a CNG provider (%s): checked on real Windows only" % provider)
    from nativetls._win import _advapi32 as A
    from nativetls._win._types import NativeError
    prov = ctypes.c_size_t()
    try:
        A.load().CryptAcquireContextW(ctypes.byref(prov), container, provider, prov_type,
                                      A.CRYPT_SILENT | (flags & A.CRYPT_MACHINE_KEYSET))
    except NativeError:
        return False
    A.load().CryptReleaseContext(prov.value, 0)
    return True


def _blob_numbers(data):
    """The numbers of an RSA PRIVATEKEYBLOB: BLOBHEADER (8 bytes), RSAPUBKEY (magic, bitlen, pubexp: 12), then
    little-endian n (bitlen/8 bytes), p, q, dP, dQ, qInv (bitlen/16 each) and d (bitlen/8)."""
    def number(chunk):
        return int(binascii.hexlify(bytes(bytearray(reversed(bytearray(chunk))))), 16)
    bitlen = number(data[12:16])
    numbers, offset = {"e": number(data[16:20])}, 20
    for name, size in (("n", bitlen // 8), ("p", bitlen // 16), ("q", bitlen // 16), ("dp", bitlen // 16),
                       ("dq", bitlen // 16), ("qinv", bitlen // 16), ("d", bitlen // 8)):
        numbers[name] = number(data[offset:offset + size])
        offset += size
    return numbers


def _key_matches_certificate(local):
    """Whether the private key linked to the LocalCredential's leaf is the leaf's key, whole: its exported
    PRIVATEKEYBLOB has the certificate's modulus and public exponent, primes whose product is the modulus, and
    private values that belong to them (a signature made with d, and with the CRT values, verifies)."""
    from asn1crypto import x509
    from nativetls._win import _advapi32 as A
    from nativetls._win import _crypt32 as C
    from nativetls._win._keys import _export_private_key
    from nativetls._win._lowlevel import crypt32
    prov, spec, free = ctypes.c_size_t(), ctypes.c_uint32(), ctypes.c_int32()
    crypt32().CryptAcquireCertificatePrivateKey(local.leaf.handle, C.CRYPT_ACQUIRE_CACHE_FLAG, None,
                                                ctypes.byref(prov), ctypes.byref(spec), ctypes.byref(free))
    try:
        if spec.value == C.CERT_NCRYPT_KEY_SPEC:
            pytest.skip("a CNG key: checked on real Windows only")
        spec_value = spec.value if spec.value in (A.AT_KEYEXCHANGE, A.AT_SIGNATURE) else A.AT_KEYEXCHANGE
        blob, size = _export_private_key(prov.value, spec_value)
    finally:
        if free.value:
            A.load().CryptReleaseContext(prov.value, 0)
    k = _blob_numbers(bytes(bytearray(blob[:size])))
    public = x509.Certificate.load(local.leaf.der()).public_key["public_key"].parsed
    n, e = public["modulus"].native, public["public_exponent"].native
    if (k["n"], k["e"]) != (n, e) or k["p"] * k["q"] != n:
        return False
    message = 0x6e6174697665746c73  # "nativetls"
    with_d = pow(message, k["d"], n)
    m1, m2 = pow(message, k["dp"], k["p"]), pow(message, k["dq"], k["q"])
    with_crt = m2 + k["q"] * (k["qinv"] * (m1 - m2) % k["p"])
    return pow(with_d, e, n) == message and pow(with_crt, e, n) == message
