# -*- coding: utf-8 -*-
"""SigningChain.from_pkcs12 on the running backend: files made by ``openssl pkcs12 -export`` (AES, the OpenSSL 3
default, and legacy RC2/3DES) and by ``cryptography``, used by a server (against openssl s_client) and by a
client (against openssl s_server -Verify), and the errors for a wrong password, a file without a key and a file
that is not PKCS#12."""
from __future__ import absolute_import, division, print_function, unicode_literals

import os
import socket
import subprocess
import sys

import pytest

import nativetls
from nativetls import ConfigurationError, SigningChain

import _peers
from _peers import require_tool
from _tls import client_context, server_context
from test_server import ok, served_server

PASSWORD = "correct horse"
WAIT = 10.0


def _openssl_version():
    try:
        out = subprocess.check_output(["openssl", "version"]).decode("ascii", "replace")
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.split()[1]


def _openssl_export(credential, path, mode, password=PASSWORD, with_key=True):
    """``openssl pkcs12 -export`` of *credential* with its intermediates and root (-certfile)."""
    require_tool("openssl")
    argv = ["openssl", "pkcs12", "-export", "-in", credential.cert_path, "-out", path,
            "-passout", "pass:" + password, "-name", "nativetls test"]
    argv += ["-inkey", credential.key_path] if with_key else ["-nokeys"]
    others = credential.intermediates + [credential.root]
    bundle = path + ".others.pem"
    with open(bundle, "wb") as handle:
        handle.write(b"".join(c.cert_pem for c in others))
    argv += ["-certfile", bundle]
    version = _openssl_version() or "1"
    if mode == "legacy":
        # RC2-40 for the certificates, 3DES for the key, a SHA-1 MAC: the OpenSSL 1.x default, "-legacy" in 3.x.
        argv += ["-legacy"] if not version.startswith("1.") else ["-keypbe", "PBE-SHA1-3DES", "-certpbe",
                                                                  "PBE-SHA1-RC2-40"]
    elif mode == "aes":
        argv += ["-keypbe", "AES-256-CBC", "-certpbe", "AES-256-CBC", "-macalg", "sha256"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.communicate()[0]
    if proc.returncode != 0:
        pytest.skip("this openssl cannot export %s PKCS#12: %s" % (mode, out.decode("ascii", "replace")))
    return path


def _cryptography_export(credential, path, password=PASSWORD):
    """cryptography's pkcs12.serialize_key_and_certificates (3.0+, so also 3.3.2 on Python 2.7)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
    enc = (serialization.BestAvailableEncryption(password.encode("utf-8")) if password
           else serialization.NoEncryption())
    cas = [c.cert for c in credential.intermediates + [credential.root]]
    data = pkcs12.serialize_key_and_certificates(b"nativetls test", credential.key, credential.cert, cas, enc)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


MAKERS = ["openssl-aes", "openssl-legacy", "cryptography", "cryptography-nopass"]


def _make(credential, tmp_path, maker):
    path = str(tmp_path / ("%s-%s.p12" % (credential.name, maker)))
    if maker.startswith("openssl-"):
        made = _openssl_export(credential, path, maker.split("-", 1)[1]), PASSWORD
        if maker == "openssl-legacy":
            _skip_unless_legacy_readable(*made)
        return made
    if maker == "cryptography-nopass":
        return _cryptography_export(credential, path, password=None), None
    return _cryptography_export(credential, path), PASSWORD


def _skip_unless_legacy_readable(path, password):
    """A libcrypto 3 whose legacy provider module is not installed (the OpenSSL 3.5 build CI loads from a wheel
    ships none) cannot decrypt RC2/3DES files: the designed answer is a ConfigurationError naming the provider
    (test_legacy_file_without_the_legacy_provider shows it on every libcrypto); then the legacy cases skip."""
    try:
        nativetls.SigningChain.from_pkcs12(path, password)
    except nativetls.ConfigurationError as exc:
        if nativetls.backend().name != "openssl":
            raise
        assert "legacy provider" in str(exc), exc
        pytest.skip("this libcrypto cannot load its legacy provider: %s" % exc)


def _check_chain(chain, credential):
    assert chain.leaf[0].to_der() == credential.cert_der
    expected = [c.cert_der for c in credential.intermediates + [credential.root]]
    assert [c.to_der() for c in chain.chain] == expected  # issuing order, whatever the file's order


@pytest.mark.parametrize("maker", MAKERS)
def test_reads_leaf_key_and_intermediates(pki, tmp_path, maker):
    path, password = _make(pki.server, tmp_path, maker)
    chain = SigningChain.from_pkcs12(path, password)
    _check_chain(chain, pki.server)
    with open(path, "rb") as handle:
        data = handle.read()
    _check_chain(SigningChain.from_pkcs12(data, password), pki.server)
    _check_chain(SigningChain.from_pkcs12(bytearray(data), password), pki.server)
    if password is not None:
        _check_chain(SigningChain.from_pkcs12(path, password.encode("utf-8")), pki.server)
        _check_chain(SigningChain.from_pkcs12(path, lambda: password), pki.server)


@pytest.mark.parametrize("maker", MAKERS)
def test_server_identity_from_pkcs12(pki, tmp_path, maker):
    require_tool("openssl")
    path, password = _make(pki.server, tmp_path, maker)
    chain = SigningChain.from_pkcs12(path, password)
    with served_server(pki, certificate_chain=chain) as srv:
        out = ok(_peers.openssl_s_client(srv.port, ["-ign_eof", "-CAfile", pki.ca.cert_path,
                                                    "-verify_return_error", "-servername", "localhost"],
                                         input=b"hello\n"))
        srv.wait()
    assert "Verify return code: 0 (ok)" in out


@pytest.mark.parametrize("maker", MAKERS)
def test_client_identity_from_pkcs12(pki, tmp_path, maker):
    require_tool("openssl")
    path, password = _make(pki.client, tmp_path, maker)
    ctx = client_context(pki, certificate_chain=SigningChain.from_pkcs12(path, password))
    with _peers.openssl_s_server(pki.server, verify_client_ca=pki.ca) as server:
        sock = socket.create_connection(server.address, timeout=WAIT)
        with ctx.wrap_socket(sock, "localhost") as conn:
            conn.sendall(b"nativetls\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(4096)
                assert chunk
                data += chunk
            assert data == b"sltevitan\n"
        assert server.wait_for_output(r"Peer certificate: [^\n]*CN = nativetls test client")
        assert server.wait_for_output(r"Verification: OK"), server.output()


def test_pkcs12_chain_works_in_memory(pki, tmp_path):
    """Server and client both from PKCS#12, over the in-memory wire."""
    from _tls import handshake, pump, drive_read
    server_path, password = _make(pki.server, tmp_path, "openssl-aes")
    client_path, _ = _make(pki.client, tmp_path, "cryptography")
    server = server_context(pki, certificate_chain=SigningChain.from_pkcs12(server_path, password),
                            trust_store=nativetls.TrustStore.from_buffer(pki.ca.cert_pem))
    client = client_context(pki, certificate_chain=SigningChain.from_pkcs12(client_path, password))
    c, s = client.wrap_buffers("localhost"), server.wrap_buffers()
    handshake(c, s)
    assert s.getpeercert(True) == pki.client.cert_der
    c.write(b"ping")
    pump(c, s)
    assert drive_read(s, c) == b"ping"


@pytest.mark.parametrize("maker", ["openssl-aes", "openssl-legacy", "cryptography"])
def test_wrong_password(pki, tmp_path, maker):
    path, _password = _make(pki.server, tmp_path, maker)
    for wrong in ("wrong", b"wrong", None, lambda: "wrong"):
        with pytest.raises(ValueError) as info:
            SigningChain.from_pkcs12(path, wrong)
        assert "wrong password" in str(info.value)
        assert os.path.basename(path) in str(info.value)


def test_no_private_key(pki, tmp_path):
    path = _openssl_export(pki.server, str(tmp_path / "nokey.p12"), "aes", with_key=False)
    with pytest.raises(ValueError) as info:
        SigningChain.from_pkcs12(path, PASSWORD)
    assert "no private key" in str(info.value) or "no certificate with its private key" in str(info.value)


@pytest.mark.parametrize("data", [bytearray(b"not a PKCS#12 file at all"), b"\x30\x03\x02\x01\x03", b""],
                         ids=["text", "truncated-der", "empty"])
def test_not_pkcs12(data):
    with pytest.raises(ValueError) as info:
        SigningChain.from_pkcs12(data, PASSWORD)
    assert "not a PKCS#12" in str(info.value)


def test_corrupt_file(pki, tmp_path):
    path, password = _make(pki.server, tmp_path, "openssl-aes")
    with open(path, "rb") as handle:
        data = bytearray(handle.read())
    truncated = bytes(data[:len(data) // 2])
    with pytest.raises(ValueError) as info:
        SigningChain.from_pkcs12(truncated, password)
    assert "not a PKCS#12" in str(info.value)
    data[len(data) // 2] ^= 0xFF  # inside the encrypted contents: the MAC no longer verifies
    with pytest.raises(ValueError):
        SigningChain.from_pkcs12(bytes(data), password)


def test_pem_file_is_not_pkcs12(pki):
    with pytest.raises(ValueError) as info:
        SigningChain.from_pkcs12(pki.server.fullchain_path, PASSWORD)
    assert "not a PKCS#12" in str(info.value)
    assert "fullchain" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises((IOError, OSError)):
        SigningChain.from_pkcs12(str(tmp_path / "absent.p12"), PASSWORD)  # a native str: bytes on Python 2
    with pytest.raises((IOError, OSError)):
        SigningChain.from_pkcs12(u"%s" % (tmp_path / "absent.p12"), PASSWORD)


@pytest.mark.skipif(sys.version_info < (3, 6), reason="os.PathLike")
def test_pathlike(pki, tmp_path):
    import pathlib
    path, password = _make(pki.server, tmp_path, "openssl-aes")
    _check_chain(SigningChain.from_pkcs12(pathlib.Path(path), password), pki.server)


def test_wrong_types(pki):
    with pytest.raises(TypeError):
        SigningChain.from_pkcs12(12345, PASSWORD)
    with pytest.raises(TypeError):
        SigningChain.from_pkcs12(b"\x30\x00", 12345)


openssl_only = pytest.mark.skipif(nativetls.backend().name != "openssl", reason="OpenSSL's legacy provider")


@openssl_only
def test_legacy_provider_stays_private(pki, tmp_path):
    """Opening a legacy file loads OpenSSL 3's legacy provider into a library context of our own only: MD4 (a
    legacy-provider digest) stays unavailable to hashlib, which shares libcrypto with the stdlib ssl module."""
    path, password = _make(pki.server, tmp_path, "openssl-legacy")
    code = ("import hashlib, sys, nativetls\n"
            "nativetls.SigningChain.from_pkcs12(sys.argv[1], sys.argv[2])\n"
            "try:\n    hashlib.new('md4')\nexcept ValueError:\n    print('md4 unavailable')\n"
            "else:\n    print('md4 available')\n")
    before = subprocess.check_output([sys.executable, "-c", "import hashlib\ntry:\n    hashlib.new('md4')\n"
                                      "    print('md4 available')\nexcept ValueError:\n    print('md4 unavailable')"])
    after = subprocess.check_output([sys.executable, "-c", code, path, password])
    assert after == before  # whatever this build had before, parsing did not change it


@openssl_only
def test_legacy_file_without_the_legacy_provider(pki, tmp_path):
    """With no provider modules to load (OPENSSL_MODULES pointing at an empty directory), a legacy file is
    refused with ConfigurationError naming the legacy provider; an AES file still opens."""
    from nativetls._openssl import _lowlevel
    if _lowlevel.VERSION < 0x30000000:
        pytest.skip("OpenSSL before 3.0 has RC2 and 3DES built in")
    legacy, password = _make(pki.server, tmp_path, "openssl-legacy")
    aes, _ = _make(pki.server, tmp_path, "openssl-aes")
    empty = tmp_path / "no-modules"
    empty.mkdir()
    code = ("import sys, nativetls\n"
            "nativetls.SigningChain.from_pkcs12(sys.argv[2], sys.argv[3])\n"
            "try:\n    nativetls.SigningChain.from_pkcs12(sys.argv[1], sys.argv[3])\n"
            "except nativetls.ConfigurationError as exc:\n    print('refused: %s' % exc)\n")
    env = dict(os.environ, OPENSSL_MODULES=str(empty))
    out = subprocess.check_output([sys.executable, "-c", code, legacy, aes, password], env=env)
    out = out.decode("utf-8", "replace")
    assert out.startswith("refused: ") and "legacy provider" in out, out


def test_configuration_error_is_a_tls_error():
    assert issubclass(ConfigurationError, nativetls.TLSError)


@openssl_only
def test_openssl_uses_a_key_another_backend_left_in_the_file(pki, tmp_path):
    """A chain read by a backend that keeps the key in the file (SChannel: no PEM) still works on OpenSSL, which
    then reads the key from the file itself."""
    from _tls import handshake
    path, password = _make(pki.server, tmp_path, "openssl-legacy")
    with open(path, "rb") as handle:
        data = handle.read()
    read = SigningChain.from_pkcs12(data, password)
    key = nativetls.PrivateKey._from_pkcs12(None, data, password.encode("utf-8"))
    chain = SigningChain((read.leaf[0], key), read.chain)
    c, s = client_context(pki).wrap_buffers("localhost"), server_context(pki, certificate_chain=chain).wrap_buffers()
    handshake(c, s)
    assert c.getpeercert(True) == pki.server.cert_der
