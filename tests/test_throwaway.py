# -*- coding: utf-8 -*-
"""Tests for nativetls._throwaway: the pure-Python P-256 / X.509 throwaway PKI.

Checked against the RFC 6979 test vectors, asn1crypto's own parse, the
``openssl`` CLI (``verify -x509_strict``, ``-purpose``, key checks), stdlib
ssl loopback handshakes (with and without client certificates) and, where
installed, the ``cryptography`` package.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import binascii
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest
from asn1crypto import keys, pem, x509

from _peers import require_tool

PY2 = sys.version_info[0] == 2
ECDSA_SHA256_ALGID = binascii.unhexlify("300a06082a8648ce3d040302")


def _load_throwaway():
    """Import nativetls._throwaway, or load the file itself if the package can't be imported."""
    try:
        from nativetls import _throwaway
        return _throwaway
    except Exception:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "nativetls", "_throwaway.py")
        name = str("_nativetls_throwaway_standalone")
        try:
            import importlib.util
        except ImportError:  # Python 2
            import imp
            return imp.load_source(name, path)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


throwaway = _load_throwaway()


@pytest.fixture(scope="module")
def pki():
    """Overrides conftest's session ``pki`` (the openssl-made StandardPKI) in this module."""
    return throwaway.make_pki()


@pytest.fixture(scope="module")
def files(pki, tmpdir_factory):
    """The PKI written to PEM files; returns a dict of name -> path."""
    d = tmpdir_factory.mktemp("throwaway")
    out = {}
    for name in ("ca_pem", "server_cert_pem", "server_key_pem", "client_cert_pem", "client_key_pem"):
        path = str(d.join(name + ".pem"))
        with open(path, "wb") as f:
            f.write(getattr(pki, name))
        out[name] = path
    return out


def _cert(pem_bytes):
    return x509.Certificate.load(pem.unarmor(pem_bytes)[2])


def _openssl(*args):
    require_tool("openssl")
    proc = subprocess.Popen(("openssl",) + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.communicate()[0].decode("utf-8", "replace")
    return proc.returncode, out


# --------------------------------------------------------------------------
# ECDSA core: RFC 6979 appendix A.2.5 (P-256, SHA-256)

RFC_D = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721


def test_rfc6979_public_key():
    assert throwaway._mul(RFC_D) == (
        0x60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6,
        0x7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299)


@pytest.mark.parametrize("message,r,s", [
    (b"sample", 0xEFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716,
     0xF7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8),
    (b"test", 0xF1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367,
     0x019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083),
])
def test_rfc6979_signatures(message, r, s):
    assert throwaway._sign(RFC_D, message) == (r, s)


def test_scalar_edge_cases():
    g = throwaway._G
    assert throwaway._mul(1) == g
    assert throwaway._mul(2) == throwaway._to_affine(throwaway._double(g + (1,)))
    assert throwaway._mul(throwaway._N - 1) == (g[0], throwaway._P - g[1])


# --------------------------------------------------------------------------
# Structure (asn1crypto only, no external tools)


def test_api_types(pki):
    for name in ("ca_pem", "ca_der", "server_cert_pem", "server_key_pem", "server_fullchain_pem",
                 "client_cert_pem", "client_key_pem"):
        assert isinstance(getattr(pki, name), bytes), name
    assert pki.ca_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert pki.server_key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert pki.client_key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert pem.unarmor(pki.ca_pem)[2] == pki.ca_der
    assert pki.server_subject == "CN=localhost"
    assert pki.ca_subject.startswith("CN=nativetls throwaway CA ")
    assert throwaway.make_pki(client=False).client_cert_pem is None


def test_certificate_fields(pki):
    ca, server, client = (_cert(p) for p in (pki.ca_pem, pki.server_cert_pem, pki.client_cert_pem))
    assert ca.ca and ca.max_path_length == 0 and ca.self_signed == "maybe"
    assert ca.basic_constraints_value["ca"].native is True
    assert ca.key_usage_value.native == set(["key_cert_sign", "crl_sign"])
    assert ca.critical_extensions == set(["basic_constraints", "key_usage"])
    assert ca.subject.native["common_name"] == pki.ca_subject[3:]
    for leaf, eku in ((server, ["server_auth", "client_auth"]), (client, ["client_auth"])):
        tbs = leaf["tbs_certificate"]
        assert tbs["version"].native == "v3"
        assert leaf.signature_algo == "ecdsa" and leaf.hash_algo == "sha256"
        # ecdsa-with-SHA256 with parameters absent (RFC 5758), in both places
        assert leaf["signature_algorithm"].dump() == tbs["signature"].dump() == ECDSA_SHA256_ALGID
        assert 0 < leaf.serial_number < 2 ** 127
        validity = tbs["validity"]
        assert validity["not_before"].name == validity["not_after"].name == "utc_time"
        span = validity["not_after"].native - validity["not_before"].native
        assert span.total_seconds() == 25 * 3600
        assert not leaf.ca
        assert leaf.key_usage_value.native == set(["digital_signature"])
        assert leaf.extended_key_usage_value.native == eku
        assert leaf.authority_key_identifier == ca.key_identifier
        assert leaf.issuer == ca.subject
        assert leaf.public_key.curve == ("named", "secp256r1")
    assert server.valid_domains == ["localhost"]
    assert server.valid_ips == ["127.0.0.1", "::1"]
    assert client.subject.native["common_name"] == "nativetls throwaway client"
    assert server.serial_number != client.serial_number


def test_private_key_encoding(pki):
    info = keys.PrivateKeyInfo.load(pem.unarmor(pki.server_key_pem)[2])
    assert info.algorithm == "ec" and info.curve == ("named", "secp256r1")
    ec_key = info["private_key"].parsed
    assert len(ec_key["private_key"].contents) == 32
    spki = _cert(pki.server_cert_pem).public_key
    assert ec_key["public_key"].native == spki["public_key"].native
    assert spki["public_key"].native[:1] == b"\x04" and len(spki["public_key"].native) == 65


def test_custom_hostnames_and_days():
    p = throwaway.make_pki(hostnames=["10.1.2.3", "example.test", "fe80::1"], days=3, client=False)
    cert = _cert(p.server_cert_pem)
    assert cert.subject.native["common_name"] == "10.1.2.3"
    assert cert.valid_domains == ["example.test"]
    assert cert.valid_ips == ["10.1.2.3", "fe80::1"]
    validity = cert["tbs_certificate"]["validity"]
    assert (validity["not_after"].native - validity["not_before"].native).total_seconds() == 73 * 3600
    with pytest.raises(ValueError):
        throwaway.make_pki(hostnames=[])


def test_speed():
    start = time.time()
    throwaway.make_pki()
    assert time.time() - start < 5.0     # ~0.02 s here; generous for slow CI machines


# --------------------------------------------------------------------------
# openssl CLI


@pytest.mark.parametrize("leaf,purpose", [
    ("server_cert_pem", None), ("client_cert_pem", None), ("ca_pem", None),
    ("server_cert_pem", "sslserver"), ("server_cert_pem", "sslclient"), ("client_cert_pem", "sslclient"),
])
def test_openssl_verify_strict(files, leaf, purpose):
    args = ["verify", "-x509_strict", "-CAfile", files["ca_pem"]]
    if purpose:
        args += ["-purpose", purpose]
    rc, out = _openssl(*(args + [files[leaf]]))
    assert rc == 0 and ": OK" in out, out


def test_openssl_rejects_client_cert_as_server(files):
    rc, out = _openssl("verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", files["ca_pem"],
                       files["client_cert_pem"])
    assert rc != 0, out


@pytest.mark.parametrize("check", [("-verify_hostname", "localhost"), ("-verify_ip", "127.0.0.1"),
                                   ("-verify_ip", "::1")])
def test_openssl_verify_names(files, check):
    rc, out = _openssl("verify", "-x509_strict", "-CAfile", files["ca_pem"], check[0], check[1],
                       files["server_cert_pem"])
    assert rc == 0, out
    rc, out = _openssl("verify", "-CAfile", files["ca_pem"], "-verify_hostname", "other.example",
                       files["server_cert_pem"])
    assert rc != 0, out


def test_openssl_text(files):
    rc, out = _openssl("x509", "-noout", "-text", "-in", files["server_cert_pem"])
    assert rc == 0, out
    for needle in ("Version: 3", "ecdsa-with-SHA256", "prime256v1", "Subject: CN = localhost",
                   "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
                   "TLS Web Server Authentication, TLS Web Client Authentication",
                   "X509v3 Key Usage: critical", "Digital Signature", "CA:FALSE",
                   "X509v3 Authority Key Identifier", "X509v3 Subject Key Identifier"):
        assert needle in out, needle
    rc, out = _openssl("x509", "-noout", "-text", "-in", files["ca_pem"])
    assert rc == 0, out
    for needle in ("X509v3 Basic Constraints: critical", "CA:TRUE, pathlen:0", "Certificate Sign, CRL Sign"):
        assert needle in out, needle


@pytest.mark.parametrize("key", ["server_key_pem", "client_key_pem"])
def test_openssl_key_check(files, key):
    rc, out = _openssl("pkey", "-check", "-noout", "-in", files[key])
    assert rc == 0 and "Key is valid" in out, out
    cert = files[key.replace("key", "cert")]
    rc1, pub_from_key = _openssl("pkey", "-pubout", "-in", files[key])
    rc2, pub_from_cert = _openssl("x509", "-noout", "-pubkey", "-in", cert)
    assert rc1 == rc2 == 0 and pub_from_key == pub_from_cert


# --------------------------------------------------------------------------
# cryptography package (optional cross-check of the signatures)


def test_cryptography_cross_check(pki):
    crypto_x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.backends import default_backend
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ca = crypto_x509.load_pem_x509_certificate(pki.ca_pem, default_backend())
    for leaf_pem in (pki.ca_pem, pki.server_cert_pem, pki.client_cert_pem):
        leaf = crypto_x509.load_pem_x509_certificate(leaf_pem, default_backend())
        ca.public_key().verify(leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    key = serialization.load_pem_private_key(pki.server_key_pem, None, default_backend())
    fresh = throwaway._Key()    # sign with a fresh key, verify with cryptography
    pub = serialization.load_der_public_key(fresh.public_info.dump(), default_backend())
    pub.verify(fresh.sign_der(b"hello"), b"hello", ec.ECDSA(hashes.SHA256()))
    server_pub = crypto_x509.load_pem_x509_certificate(pki.server_cert_pem, default_backend()).public_key()
    assert key.public_key().public_numbers() == server_pub.public_numbers()


# --------------------------------------------------------------------------
# stdlib ssl loopback handshakes


def _server_context(files, require_client):
    ctx = ssl.SSLContext(getattr(ssl, "PROTOCOL_TLS_SERVER", ssl.PROTOCOL_SSLv23))
    ctx.load_cert_chain(files["server_cert_pem"], files["server_key_pem"])
    if require_client:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=files["ca_pem"])
    return ctx


def _handshake(files, server_hostname, client_cert=False, require_client=False):
    """One loopback connection; returns (client's view of server cert, server's view of client cert).

    Raises what the client raised, or what the server thread raised if the client did not.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(10)
    server_ctx = _server_context(files, require_client)
    result = {}

    def serve():
        try:
            conn = listener.accept()[0]
            conn.settimeout(10)
            tls = server_ctx.wrap_socket(conn, server_side=True)
            try:
                result["peer"] = tls.getpeercert()
                tls.sendall(tls.recv(100)[::-1])
            finally:
                tls.close()
        except Exception as exc:
            result["error"] = exc

    thread = threading.Thread(target=serve)
    thread.daemon = True
    thread.start()
    try:
        client_ctx = ssl.create_default_context(cafile=files["ca_pem"])
        client_ctx.verify_flags |= ssl.VERIFY_X509_STRICT
        if client_cert:
            client_ctx.load_cert_chain(files["client_cert_pem"], files["client_key_pem"])
        sock = socket.create_connection(listener.getsockname(), timeout=10)
        try:
            tls = client_ctx.wrap_socket(sock, server_hostname=server_hostname)
            try:
                tls.sendall(b"ping")
                reply = tls.recv(100)
                seen = tls.getpeercert()
            finally:
                tls.close()
        finally:
            sock.close()    # Python 2 leaves it open when match_hostname fails
    finally:
        thread.join(15)
        listener.close()
    if "error" in result:
        raise result["error"]
    assert reply == b"gnip"
    return seen, result.get("peer")


def _skip_ip_on_py2(hostname):
    if PY2 and hostname != "localhost":
        pytest.skip("Python 2.7's ssl.match_hostname does not match IP address SANs")


@pytest.mark.parametrize("hostname", ["localhost", "127.0.0.1", "::1"])
def test_stdlib_handshake(files, hostname):
    _skip_ip_on_py2(hostname)
    seen, _ = _handshake(files, hostname)
    assert dict(x[0] for x in seen["subject"])["commonName"] == "localhost"


@pytest.mark.parametrize("hostname", ["localhost", "127.0.0.1"])
def test_stdlib_handshake_client_cert(files, hostname):
    _skip_ip_on_py2(hostname)
    _, peer = _handshake(files, hostname, client_cert=True, require_client=True)
    assert dict(x[0] for x in peer["subject"])["commonName"] == "nativetls throwaway client"
    assert peer["issuer"] == ((("commonName", _cert_ca_cn(files)),),)


def _cert_ca_cn(files):
    with open(files["ca_pem"], "rb") as f:
        return _cert(f.read()).subject.native["common_name"]


def test_stdlib_rejects_wrong_hostname(files):
    with pytest.raises((ssl.SSLError, ssl.CertificateError, socket.error)):
        _handshake(files, "wrong.example")


def test_stdlib_server_requires_client_cert(files):
    with pytest.raises((ssl.SSLError, socket.error)):
        _handshake(files, "localhost", client_cert=False, require_client=True)
