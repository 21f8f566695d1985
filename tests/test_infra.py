"""Tests of the test infrastructure: the certificate factory makes what it claims, and every
peer is a real TLS endpoint that the stdlib ``ssl`` module (the same libssl on Linux) accepts
when it verifies against ``pki.ca``.
"""
from __future__ import absolute_import, division, print_function

import datetime
import os
import re
import ssl
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.backends import default_backend
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import _certs
import _peers
from conftest import require_tool

BACKEND = default_backend()
TLS_VERSIONS = {"1.2": "TLSv1.2", "1.3": "TLSv1.3"}
VERIFY_ERRORS = (ssl.SSLError, ssl.CertificateError)


# --- helpers ---------------------------------------------------------------------------------------

def _ext(cred, cls):
    try:
        return cred.cert.extensions.get_extension_for_class(cls)
    except x509.ExtensionNotFound:
        return None


def _validity(cert):
    """(not_before, not_after) as aware UTC datetimes, on old and new cryptography."""
    if hasattr(cert, "not_valid_before_utc"):
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    return (cert.not_valid_before.replace(tzinfo=_certs.UTC), cert.not_valid_after.replace(tzinfo=_certs.UTC))


def _cn(name):
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return attrs[0].value if attrs else None


def _openssl_verify(pki, cred, *args):
    argv = ["openssl", "verify", "-CAfile", pki.ca.cert_path]
    if cred.chain_pem:
        argv += ["-untrusted", cred.chain_path]
    result = _peers.run(argv + list(args) + [cred.cert_path])
    return result.returncode, (result.stdout + result.stderr).decode("utf-8", "replace")


def _pem_count(path):
    with open(path, "rb") as f:
        return f.read().count(b"-----BEGIN CERTIFICATE-----")


# --- the certificate factory -----------------------------------------------------------------------

def test_standard_pki_names(pki):
    assert _cn(pki.ca.cert.subject) == "nativetls Test Root CA"
    assert pki.ca.cert.issuer == pki.ca.cert.subject
    assert pki.intermediate.cert.issuer == pki.ca.cert.subject
    assert pki.server.cert.issuer == pki.intermediate.cert.subject
    assert pki.server.root is pki.ca and pki.server.intermediates == [pki.intermediate]
    assert pki.untrusted.root is pki.untrusted_ca
    assert pki["server"] is pki.server
    for name in pki.NAMES:
        cred = getattr(pki, name)
        assert os.path.isfile(cred.cert_path) and os.path.isfile(cred.key_path)
        assert x509.load_pem_x509_certificate(cred.cert_pem, BACKEND) == cred.cert
        assert x509.load_der_x509_certificate(cred.cert_der, BACKEND) == cred.cert


def test_ca_extensions(pki):
    for cred, pathlen in ((pki.ca, None), (pki.intermediate, 0)):
        bc = _ext(cred, x509.BasicConstraints)
        assert bc.critical and bc.value.ca and bc.value.path_length == pathlen
        ku = _ext(cred, x509.KeyUsage)
        assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
        assert _ext(cred, x509.SubjectKeyIdentifier) is not None
    assert _ext(pki.ca, x509.AuthorityKeyIdentifier) is None
    aki = _ext(pki.intermediate, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == _ext(pki.ca, x509.SubjectKeyIdentifier).value.digest


def test_server_leaf(pki):
    cert = pki.server.cert
    assert not _ext(pki.server, x509.BasicConstraints).value.ca
    san = _ext(pki.server, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    assert list(_ext(pki.server, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    ku = _ext(pki.server, x509.KeyUsage).value
    assert ku.digital_signature and ku.key_encipherment and not ku.key_cert_sign
    assert isinstance(pki.server.key, rsa.RSAPrivateKey) and pki.server.key.key_size == 2048
    assert cert.signature_hash_algorithm.name == "sha256"
    assert pki.server.key.public_key().public_numbers() == cert.public_key().public_numbers()


def test_chain_files(pki):
    assert _pem_count(pki.server.fullchain_path) == 2
    assert _pem_count(pki.server.chain_path) == 1
    assert pki.server.fullchain_pem == pki.server.cert_pem + pki.intermediate.cert_pem
    assert _pem_count(pki.ca.fullchain_path) == 1 and pki.ca.chain_pem == b""
    assert _pem_count(pki.self_signed.fullchain_path) == 1


def test_special_leaves(pki):
    now = _certs.utcnow()
    assert _validity(pki.expired.cert)[1] < now
    assert _validity(pki.not_yet_valid.cert)[0] > now
    nb, na = _validity(pki.server.cert)
    assert nb < now < na
    assert _ext(pki.cn_only, x509.SubjectAlternativeName) is None
    assert _cn(pki.cn_only.cert.subject) == "localhost"
    ip_san = _ext(pki.ip_only, x509.SubjectAlternativeName).value
    assert ip_san.get_values_for_type(x509.DNSName) == []
    assert len(ip_san.get_values_for_type(x509.IPAddress)) == 2
    wrong = _ext(pki.wrong_host, x509.SubjectAlternativeName).value
    assert wrong.get_values_for_type(x509.DNSName) == ["wrong.example"]
    assert pki.self_signed.cert.issuer == pki.self_signed.cert.subject and pki.self_signed.issuer is None
    assert not _ext(pki.self_signed, x509.BasicConstraints).value.ca
    assert list(_ext(pki.client, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert pki.untrusted_ca.cert.subject != pki.ca.cert.subject


@pytest.mark.parametrize("key,hash", [
    ("rsa1024", "sha1"), ("rsa2048", "sha512"), ("rsa4096", "sha384"), ("p256", "sha256"), ("p384", "sha384"),
    ("p256", "sha1"),
])
def test_key_and_hash_options(cert_factory, key, hash):
    ca = cert_factory.ca(key="p256")
    cred = cert_factory.leaf(ca, "opts.example", key=key, hash=hash)
    assert cred.cert.signature_hash_algorithm.name == hash
    if key.startswith("rsa"):
        assert isinstance(cred.key, rsa.RSAPrivateKey) and cred.key.key_size == int(key[3:])
        assert _ext(cred, x509.KeyUsage).value.key_encipherment
    else:
        assert isinstance(cred.key, ec.EllipticCurvePrivateKey)
        assert cred.key.curve.name == {"p256": "secp256r1", "p384": "secp384r1"}[key]
        assert not _ext(cred, x509.KeyUsage).value.key_encipherment
    # the signature really is by the CA's key, with that hash (auth level 0 admits SHA-1 and RSA-1024)
    result = _peers.run(["openssl", "verify", "-auth_level", "0", "-CAfile", ca.cert_path, cred.cert_path])
    assert result.returncode == 0, result


def test_san_and_eku_options(cert_factory):
    ca = cert_factory.ca(key="p256")
    idn = cert_factory.leaf(ca, None, dns=["xn--bcher-kva.example", "*.example.org"], ips=["10.1.2.3"],
                            eku=("server", "client"))
    assert _cn(idn.cert.subject) is None
    san = _ext(idn, x509.SubjectAlternativeName)
    assert san.critical  # empty subject: the SAN must be critical (RFC 5280 4.2.1.6)
    assert san.value.get_values_for_type(x509.DNSName) == ["xn--bcher-kva.example", "*.example.org"]
    assert set(_ext(idn, x509.ExtendedKeyUsage).value) == {ExtendedKeyUsageOID.SERVER_AUTH,
                                                           ExtendedKeyUsageOID.CLIENT_AUTH}
    no_eku = cert_factory.leaf(ca, "noeku.example", eku=())
    assert _ext(no_eku, x509.ExtendedKeyUsage) is None


def test_validity_options(cert_factory):
    fixed = datetime.datetime(2020, 1, 2, 3, 4, 5)
    cred = cert_factory.leaf(None, "t.example", not_before=fixed, not_after=datetime.timedelta(days=2))
    nb, na = _validity(cred.cert)
    assert nb == fixed.replace(tzinfo=_certs.UTC)
    assert abs((na - _certs.utcnow()) - datetime.timedelta(days=2)) < datetime.timedelta(minutes=5)


def test_encrypted_keys(pki):
    for traditional in (False, True):
        path = pki.client.encrypted_key_path(b"s3cret", traditional=traditional)
        with open(path, "rb") as f:
            data = f.read()
        assert (b"Proc-Type: 4,ENCRYPTED" in data) == traditional
        assert (b"ENCRYPTED PRIVATE KEY" in data) != traditional
        key = serialization.load_pem_private_key(data, b"s3cret", BACKEND)
        assert key.public_key().public_numbers() == pki.client.cert.public_key().public_numbers()
        with pytest.raises((TypeError, ValueError)):
            serialization.load_pem_private_key(data, None, BACKEND)


def test_crls(pki):
    crl = pki.crl.crl
    assert crl.issuer == pki.intermediate.cert.subject
    assert crl.is_signature_valid(pki.intermediate.cert.public_key())
    assert crl.get_revoked_certificate_by_serial_number(pki.revoked.serial) is not None
    assert crl.get_revoked_certificate_by_serial_number(pki.server.serial) is None
    assert len(pki.root_crl.crl) == 0
    x509.load_der_x509_crl(pki.crl.der, BACKEND)


def test_openssl_agrees(pki):
    require_tool("openssl")
    for name in ("server", "client", "cn_only", "ip_only", "wrong_host", "revoked"):
        rc, out = _openssl_verify(pki, getattr(pki, name))
        assert rc == 0, (name, out)
    assert "certificate has expired" in _openssl_verify(pki, pki.expired)[1]
    assert "not yet valid" in _openssl_verify(pki, pki.not_yet_valid)[1]
    assert _openssl_verify(pki, pki.untrusted)[0] != 0
    assert _openssl_verify(pki, pki.self_signed)[0] != 0
    assert "certificate revoked" in _openssl_verify(pki, pki.revoked, "-crl_check_all", "-CRLfile", pki.crls_path)[1]
    assert _openssl_verify(pki, pki.server, "-crl_check_all", "-CRLfile", pki.crls_path)[0] == 0


# --- the peers, checked with the stdlib ssl module as client ----------------------------------------

PEERS = {
    "openssl": (_peers.openssl_s_server, "openssl", lambda line: line[:-1][::-1] + b"\n"),
    "gnutls": (_peers.gnutls_serv, "gnutls-serv", lambda line: line),
    "stdlib": (_peers.stdlib_server, None, lambda line: line),
}


@pytest.fixture(params=sorted(PEERS))
def peer(request):
    start, tool, expect = PEERS[request.param]
    if tool:
        require_tool(tool)
    return request.param, start, expect


def _roundtrip(conn, line=b"hello nativetls\n"):
    conn.sendall(line)
    return _peers.recv_until(conn)


def test_fixture_servers(pki, openssl_server, gnutls_server, stdlib_server):
    ctx = _peers.stdlib_client_context(pki.ca)
    for server, expected in ((openssl_server, b"olleh\n"), (gnutls_server, b"hello\n"), (stdlib_server, b"hello\n")):
        conn = _peers.stdlib_connect(server.address, ctx)
        try:
            assert _roundtrip(conn, b"hello\n") == expected
        finally:
            conn.close()


@pytest.mark.parametrize("tls", [None, "1.2", "1.3"])
def test_peer_handshake(pki, peer, tls):
    name, start, expect = peer
    with start(pki.server, tls=tls) as server:
        assert server.port and server.address == ("127.0.0.1", server.port)
        conn = _peers.stdlib_connect(server.address, _peers.stdlib_client_context(pki.ca))
        try:
            assert conn.version() == TLS_VERSIONS.get(tls, "TLSv1.3")
            assert _roundtrip(conn) == expect(b"hello nativetls\n")
            if name == "stdlib":
                conn = conn.unwrap()  # our close_notify; the server answers with its own
        finally:
            conn.close()
        if name == "stdlib":
            record = server.wait_for_connections(1)[0]
            assert record.error is None and record.clean_close, record
            assert record.server_name == "localhost" and record.received == b"hello nativetls\n"
            assert record.version == TLS_VERSIONS.get(tls, "TLSv1.3") and record.peer_cert is None


def test_peer_rejects_untrusted(pki, peer):
    name, start, expect = peer
    with start(pki.untrusted) as server:
        with pytest.raises(VERIFY_ERRORS):
            _peers.stdlib_connect(server.address, _peers.stdlib_client_context(pki.ca)).close()
    with start(pki.wrong_host) as server:
        with pytest.raises(VERIFY_ERRORS):
            _peers.stdlib_connect(server.address, _peers.stdlib_client_context(pki.ca)).close()


def test_peer_alpn(pki, peer):
    name, start, expect = peer
    with start(pki.server, alpn=["h2", "http/1.1"]) as server:
        conn = _peers.stdlib_connect(server.address, _peers.stdlib_client_context(pki.ca, alpn=["http/1.1"]))
        try:
            assert conn.selected_alpn_protocol() == "http/1.1"
            assert _roundtrip(conn) == expect(b"hello nativetls\n")
        finally:
            conn.close()
        if name == "stdlib":
            assert server.wait_for_connections(1)[0].alpn == "http/1.1"


@pytest.mark.parametrize("tls", ["1.2", "1.3"])
def test_peer_client_auth(pki, peer, tls):
    name, start, expect = peer
    with start(pki.server, tls=tls, verify_client_ca=pki.ca) as server:
        ctx = _peers.stdlib_client_context(pki.ca, cert=pki.client)
        conn = _peers.stdlib_connect(server.address, ctx)
        try:
            assert _roundtrip(conn) == expect(b"hello nativetls\n")
        finally:
            conn.close()
        if name == "stdlib":
            assert server.wait_for_connections(1)[0].peer_cert == pki.client.cert_der
        # Without a certificate the server refuses: at the handshake in TLS 1.2, at the first
        # read in TLS 1.3 (the client finishes its handshake before the server checks).
        with pytest.raises((ssl.SSLError, EnvironmentError)):
            conn = _peers.stdlib_connect(server.address, _peers.stdlib_client_context(pki.ca))
            try:
                reply = _roundtrip(conn)
                assert not reply, reply  # a close without data also counts as a refusal
                raise ssl.SSLError("closed without data")
            finally:
                conn.close()


# --- the client runners, against the stdlib server ---------------------------------------------------

def test_openssl_s_client(pki):
    require_tool("openssl")
    with _peers.stdlib_server(pki.server, handler=_peers.line_reply(lambda b: b.upper())) as server:
        args = ["-CAfile", pki.ca.cert_path, "-verify_return_error", "-verify_hostname", "localhost",
                "-servername", "localhost", "-ign_eof"]
        result = _peers.openssl_s_client(server.port, args, input=b"ping\n")
        assert result.returncode == 0 and not result.timed_out, result
        assert b"PING\n" in result.stdout
        assert b"Verify return code: 0 (ok)" in result.stdout
        record = server.wait_for_connections(1)[0]
        assert record.received == b"ping\n" and record.server_name == "localhost"


def test_gnutls_cli(pki):
    require_tool("gnutls-cli")
    with _peers.stdlib_server(pki.server, handler=_peers.line_reply(lambda b: b.upper())) as server:
        args = ["--x509cafile", pki.ca.cert_path, "--verify-hostname", "localhost", "--sni-hostname", "localhost"]
        result = _peers.gnutls_cli(server.port, args, input=b"ping\n")
        assert result.returncode == 0 and not result.timed_out, result
        assert b"PING\n" in result.stdout
        assert server.wait_for_connections(1)[0].received == b"ping\n"
        bad = _peers.gnutls_cli(server.port, ["--x509cafile", pki.untrusted_ca.cert_path], input=b"x\n")
        assert bad.returncode != 0


def test_run_timeout():
    result = _peers.run(["sleep", "30"], timeout=0.5)
    assert result.timed_out and result.returncode != 0


def test_free_port():
    port = _peers.free_port()
    assert 0 < port < 65536


def test_nativetls_is_the_installed_package():
    """Under tox the suite must test the installed package, not the source tree."""
    if not os.environ.get("TOX_ENV_DIR"):
        pytest.skip("not under tox")
    try:
        import nativetls
    except ImportError as exc:
        pytest.skip("nativetls is not importable yet: %s" % exc)
    source_tree = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    assert not os.path.abspath(nativetls.__file__).startswith(os.path.join(source_tree, "nativetls")), \
        nativetls.__file__


# --- the tree stands alone, and runs no interpreter outside its environment (issue 12) --------------------------

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SKIP_DIRS = frozenset([".git", ".tox", ".cache", "__pycache__", ".eggs", "build", "dist"])


def _tree_files():
    """The repository's tracked files (``git ls-files``), or every file under it when git is not at hand."""
    try:
        out = subprocess.check_output(["git", "ls-files", "-z"], cwd=ROOT, stderr=subprocess.STDOUT)
        names = [n for n in out.decode("utf-8").split("\0") if n]
        if names:
            return names
    except (OSError, subprocess.CalledProcessError):
        pass
    names = []
    for top, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info")]
        names.extend(os.path.relpath(os.path.join(top, f), ROOT) for f in files)
    return names


def _text(name):
    path = os.path.join(ROOT, name)
    if not os.path.isfile(path) or os.path.getsize(path) > 4 * 1024 * 1024:
        return ""
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8", "replace")


def test_nothing_reads_outside_the_tree():
    """A clone from anywhere has no ``../shared``: every file the suite needs lives in the repository."""
    this = os.path.join("tests", "test_infra.py")
    needles = ("../" + "shared", "/shared" + "/data", "/work" + "/shared")
    offenders = [name for name in _tree_files() if name != this
                 for needle in needles if needle in _text(name)]
    assert not offenders, "files that reach outside the tree: %r" % sorted(set(offenders))


# A test or script starts other interpreters only as this environment's sys.executable (or a virtualenv it makes
# from the declared requirements): pyenv's interpreters hold none of nativetls's dependencies on a fresh machine.
_BARE_INTERPRETER = re.compile(r"PYENV_ROOT|\.pyenv|pyenv root|versions/[0-9*]|[\"']python2(\.7)?[\"']")


def test_no_test_runs_a_bare_pyenv_interpreter():
    code = [name for name in _tree_files()
            if name.endswith((".py", ".sh")) and name.startswith(("tests/", "benchmarks/", ".ci/wine/", "docs/"))
            and name != os.path.join("tests", "test_infra.py")]
    offenders = []
    for name in code:
        for number, line in enumerate(_text(name).splitlines(), 1):
            # "interpreter-ok": a line naming an interpreter only to seed a virtualenv the test makes and fills.
            if _BARE_INTERPRETER.search(line) and "interpreter-ok" not in line:
                offenders.append("%s:%d: %s" % (name, number, line.strip()))
    assert not offenders, "\n".join(offenders)


def test_the_benchmark_peer_needs_only_the_standard_library():
    """benchmarks/run.py may start the stdlib-ssl peer under another python3 (for speed, on 2.7): it must then
    import nothing that an interpreter holds only when someone installed it by hand."""
    source = _text(os.path.join("benchmarks", "_peer.py"))
    imported = set(re.findall(r"^(?:import|from) ([A-Za-z_][A-Za-z0-9_]*)", source, re.M))
    assert imported <= set(["__future__", "socket", "ssl", "struct", "sys", "threading", "os", "time", "errno"]), \
        imported
