# -*- coding: utf-8 -*-
"""SigningChain.from_pkcs12 on the SecureTransport backend (SecPKCS12Import): on macOS against the real
frameworks, elsewhere against the SecureTransport double (``tests/mac/double/``, the macdouble tox envs).

The backend-neutral tests of ``test_pkcs12`` run here with SecureTransport as the default backend: files made by
``openssl pkcs12 -export`` (AES and legacy RC2/3DES) and by ``cryptography``, a server identity against
``openssl s_client``, a client identity against ``openssl s_server -Verify``, both over the in-memory wire, and
the errors (wrong password, no key, not PKCS#12, corrupt). After each test: no temporary keychain left (directory
and, through the double, file), no CF object leaked or over-released, nothing imported into the user's default
keychain, no password prompt.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import os
import subprocess
import sys

import pytest

import nativetls
from nativetls import ConfigurationError, SigningChain

import _mac_double
import test_pkcs12
from test_pkcs12 import (  # noqa: F401 - collected here again, with SecureTransport as the default backend
    test_client_identity_from_pkcs12, test_corrupt_file, test_no_private_key, test_not_pkcs12,
    test_pem_file_is_not_pkcs12, test_pkcs12_chain_works_in_memory, test_reads_leaf_key_and_intermediates,
    test_server_identity_from_pkcs12, test_wrong_password, test_wrong_types,
)


def _double_path():
    return os.environ.get("NATIVETLS_MAC_FRAMEWORKS") or None


@pytest.fixture(autouse=True)
def securetransport_default(monkeypatch):
    """SecureTransport is the default backend for the test (what SigningChain.from_pkcs12 and the contexts of
    _tls use); afterwards nothing is left behind (see the module docstring)."""
    if sys.platform != "darwin" and not _double_path():
        pytest.skip("needs macOS, or NATIVETLS_MAC_FRAMEWORKS naming the SecureTransport double "
                    "(tests/mac/double/; the macdouble tox envs set it)")
    from nativetls import _backend
    nativetls.backend("securetransport")
    monkeypatch.setattr(_backend, "_default", ["securetransport"])
    with _mac_double.nothing_left():
        yield


def test_the_default_backend_is_securetransport():
    assert nativetls.backend().name == "securetransport"


def test_the_key_stays_in_the_file(pki, tmp_path):
    """No PEM leaves Security.framework: the key keeps the file, which each context imports again."""
    path, password = test_pkcs12._make(pki.server, tmp_path, "openssl-legacy")
    key = SigningChain.from_pkcs12(path, password).leaf[1]
    assert key._pem is None and key._pkcs12 is not None and not key.is_encrypted
    assert "PKCS#12" in repr(key)


def test_a_chain_with_another_leaf_is_refused(pki, tmp_path):
    """The file's key with a certificate it does not belong to: ConfigurationError when the context is made."""
    path, password = test_pkcs12._make(pki.server, tmp_path, "cryptography")
    read = SigningChain.from_pkcs12(path, password)
    other = SigningChain.from_pkcs12(test_pkcs12._make(pki.client, tmp_path, "cryptography")[0], password)
    chain = SigningChain((other.leaf[0], read.leaf[1]), read.chain)
    with pytest.raises(ConfigurationError) as info:
        nativetls.ServerContext(nativetls.TLSConfiguration(certificate_chain=chain))
    assert "does not belong" in str(info.value)


def test_password_that_is_not_utf8(pki, tmp_path):
    path, _password = test_pkcs12._make(pki.server, tmp_path, "cryptography")
    with pytest.raises(ConfigurationError) as info:
        SigningChain.from_pkcs12(path, b"\xff\xfe")
    assert "UTF-8" in str(info.value)


@pytest.mark.skipif(sys.platform == "darwin", reason="the double's OpenSSL legacy provider is switched off")
def test_intact_file_this_system_cannot_decrypt(pki, tmp_path):
    """A file whose MAC verifies with the password but whose contents SecPKCS12Import cannot decrypt (here: the
    double without OpenSSL's legacy provider, so RC2-40 is unknown to it, as AES is to older macOS) is a
    ConfigurationError saying how to re-export it, never a "wrong password"."""
    path, password = test_pkcs12._make(pki.server, tmp_path, "openssl-legacy")
    empty = tmp_path / "no-modules"
    empty.mkdir()
    code = ("import sys, nativetls\n"
            "try:\n    nativetls.SigningChain.from_pkcs12(sys.argv[1], sys.argv[2])\n"
            "except nativetls.ConfigurationError as exc:\n    print('refused: %s' % exc)\n"
            "except ValueError as exc:\n    print('ValueError: %s' % exc)\n")
    env = dict(os.environ, OPENSSL_MODULES=str(empty), NATIVETLS_BACKEND="securetransport")
    out = subprocess.check_output([sys.executable, "-c", code, path, password], env=env).decode("utf-8", "replace")
    if "ValueError" not in out and not out.startswith("refused: "):
        pytest.skip("this OpenSSL reads RC2 without its legacy provider: %s" % out)
    assert out.startswith("refused: ") and "re-export" in out and "wrong password" not in out, out
