"""Certificate verification: every verdict of API.md's "Verification policy", against real peers.

Each case is checked three ways: in memory against a nativetls server presenting the certificate, over a socket
against a stdlib ``ssl`` server and over a socket against ``openssl s_server``. The servers run at OpenSSL's
security level 0 so that they can present weak certificates (SHA-1, RSA-1024); the nativetls client must still
refuse them. The stdlib ``ssl`` module, configured as strictly as API.md says nativetls is, must reach the same
accept/reject decision for every case.
"""
from __future__ import absolute_import, division, print_function

import contextlib
import os
import socket
import ssl
import subprocess
import sys
import warnings

import pytest
from asn1crypto import x509 as asn1_x509

import nativetls
import _peers
from _tls import chain_of, handshake, pump, trust_of

LOCALHOST = dict(dns=["localhost"], ips=["127.0.0.1", "::1"])
WEAK_SERVER_CIPHERS = "DEFAULT:@SECLEVEL=0"  # lets a server present SHA-1 / RSA-1024 certificates
NATIVETLS_PATH = os.path.dirname(os.path.dirname(os.path.abspath(nativetls.__file__)))


def require_tool(name):
    """Skip when executable *name* is missing, fail under CI (as conftest's helper; not imported from there,
    since ``conftest`` can name another directory's conftest when the whole tree is collected)."""
    if not _peers.have_tool(name):
        if os.environ.get("CI"):
            pytest.fail("%s is missing on this CI machine" % name)
        pytest.skip("%s is not installed" % name)


class Case(object):
    """One verification scenario: the server's credential, what the client checks it against, the verdict."""

    def __init__(self, id, cred, host="localhost", trust="ca", leaf_only=False, reason=None):
        self.id, self.cred, self.host, self.trust, self.leaf_only, self.reason = (
            id, cred, host, trust, leaf_only, reason)

    def __repr__(self):
        return self.id


CASES = [
    Case("good_chain", "server"),
    Case("good_chain_ip_host", "server", host="127.0.0.1"),
    Case("expired", "expired", reason="expired"),
    Case("not_yet_valid", "not_yet_valid", reason="not_yet_valid"),
    Case("wrong_host", "wrong_host", reason="hostname_mismatch"),
    Case("self_signed", "self_signed", reason="self_signed"),
    Case("untrusted_root", "untrusted", reason="untrusted_root"),
    Case("missing_intermediate", "server", leaf_only=True, reason="untrusted_root"),
    Case("ip_san_v4", "ip_only", host="127.0.0.1"),
    Case("ip_san_v6", "ip_only", host="::1"),
    Case("ip_not_in_san", "ip_only", host="127.0.0.2", reason="hostname_mismatch"),
    Case("ipv6_not_in_san", "ip_only", host="::2", reason="hostname_mismatch"),
    Case("dns_name_vs_ip_only_san", "ip_only", host="localhost", reason="hostname_mismatch"),
    Case("cn_only", "cn_only", reason="hostname_mismatch"),
    Case("trusted_intermediate_anchors", "server", trust="intermediate"),
    Case("trusted_intermediate_anchors_leaf_only", "server", trust="intermediate", leaf_only=True),
    Case("client_auth_only_eku", "client_eku", reason="invalid_purpose"),
    Case("sha1_leaf", "sha1", reason="bad_signature"),
    Case("sha1_intermediate", "sha1_chain", reason="bad_signature"),
    Case("rsa1024_leaf", "rsa1024", reason="weak_key"),
    Case("revoked_with_crls", "revoked", trust="ca+crls", reason="revoked"),
    Case("revoked_without_crls", "revoked"),
    Case("good_with_crls", "server", trust="ca+crls"),
    Case("no_hostname_check_wrong_host", "wrong_host", host=None),
    Case("no_hostname_check_untrusted", "untrusted", host=None, reason="untrusted_root"),
    Case("no_hostname_check_expired", "expired", host=None, reason="expired"),
    Case("system_store_private_ca", "server", trust="system", reason="untrusted_root"),
    Case("default_store_private_ca", "server", trust="default", reason="untrusted_root"),
]


@pytest.fixture(scope="module")
def creds(pki):
    """The standard PKI plus the leaves this module adds (by name)."""
    f = pki.factory
    sha1_intermediate = f.intermediate(pki.ca, "nativetls SHA-1 Intermediate", hash="sha1", name="v-sha1-inter")
    table = dict((name, pki[name]) for name in pki.NAMES)
    table.update({
        "client_eku": f.leaf(pki.intermediate, "localhost", eku=("client",), name="v-client-eku", **LOCALHOST),
        "sha1": f.leaf(pki.intermediate, "localhost", hash="sha1", name="v-sha1", **LOCALHOST),
        "sha1_chain": f.leaf(sha1_intermediate, "localhost", name="v-sha1-chain", **LOCALHOST),
        "rsa1024": f.leaf(pki.intermediate, "localhost", key="rsa1024", name="v-rsa1024", **LOCALHOST),
        "untrusted_client": f.leaf(pki.untrusted_ca, "untrusted client", dns=["client.example"], eku=("client",),
                                   name="v-untrusted-client"),
    })
    return table


def trust_store(pki, trust):
    if trust == "ca":
        return trust_of(pki.ca)
    if trust == "intermediate":
        return trust_of(pki.intermediate)
    if trust == "ca+crls":
        return trust_of(pki.ca).with_crls(pki.crls_path)
    if trust == "system":
        return nativetls.TrustStore.system()
    assert trust == "default"
    return None


def client_for(pki, case):
    store = trust_store(pki, case.trust)
    fields = {} if store is None else {"trust_store": store}
    return nativetls.ClientContext(nativetls.TLSConfiguration(**fields))


def native_chain(cred, leaf_only):
    chain = chain_of(cred)
    return nativetls.SigningChain(chain.leaf) if leaf_only else chain


def server_config(cred, leaf_only=False, **fields):
    """A server configuration presenting *cred*; weak certificates need OpenSSL's security level 0, which
    nativetls only uses when TLS below 1.2 is allowed (the client still negotiates TLS 1.2+)."""
    if cred.cert.signature_hash_algorithm.name == "sha1" or any(
            c.cert.signature_hash_algorithm.name == "sha1" for c in cred.intermediates) or \
            getattr(cred.key, "key_size", 2048) < 2048:
        fields["lowest_supported_version"] = nativetls.TLSVersion.TLSv1
    return nativetls.TLSConfiguration(certificate_chain=native_chain(cred, leaf_only), **fields)


def native_server(cred, leaf_only=False, **fields):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nativetls.SecurityWarning)
        return nativetls.ServerContext(server_config(cred, leaf_only, **fields))


def stdlib_server(cred, leaf_only=False):
    ctx = ssl.SSLContext(getattr(ssl, "PROTOCOL_TLS_SERVER", ssl.PROTOCOL_SSLv23))
    ctx.set_ciphers(WEAK_SERVER_CIPHERS)  # before loading: the level applies to the certificate too
    ctx.load_cert_chain(cred.cert_path if leaf_only else cred.fullchain_path, cred.key_path)
    return _peers.stdlib_server(None, context=ctx)


def openssl_server(cred, leaf_only=False):
    require_tool("openssl")
    chain = None if leaf_only or not cred.chain_pem else cred.chain_path
    return _peers.openssl_s_server(cred.cert_path, key=cred.key_path, chain=chain,
                                   extra_args=["-cipher", WEAK_SERVER_CIPHERS])


def connect(context, address, host):
    """Handshake with *context* over a socket, exchange a line, close; returns the reply."""
    sock = socket.create_connection(address, timeout=10)
    try:
        tls = context.wrap_socket(sock, host)
        try:
            tls.sendall(b"hello\n")
            reply = b""
            while b"\n" not in reply:
                chunk = tls.recv(1024)
                if not chunk:
                    break
                reply += chunk
            return reply
        finally:
            tls.close()
    finally:
        sock.close()


def check_error(exc, case, cred):
    """The attributes and message API.md promises on every CertificateVerificationError."""
    assert isinstance(exc, nativetls.CertificateVerificationError)
    assert isinstance(exc, nativetls.TLSError)
    assert exc.reason == case.reason, str(exc)
    assert exc.host == case.host
    assert isinstance(exc.native_code, int) and exc.native_code != 0
    assert exc.native_message and isinstance(exc.native_message, type(u""))
    message = str(exc)
    if case.host is not None:
        assert case.host in message
    if case.reason in ("expired", "not_yet_valid"):
        parsed = asn1_x509.Certificate.load(cred.cert_der)
        when = parsed.not_valid_after if case.reason == "expired" else parsed.not_valid_before
        assert when.strftime("%Y-%m-%d") in message, message
        assert ("notAfter" if case.reason == "expired" else "notBefore") in message, message


def check_verdict(case, cred, attempt):
    if case.reason is None:
        attempt()
    else:
        with pytest.raises(nativetls.CertificateVerificationError) as info:
            attempt()
        check_error(info.value, case, cred)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_verdict_in_memory(pki, creds, case):
    cred = creds[case.cred]
    client = client_for(pki, case).wrap_buffers(case.host)
    server = native_server(cred, case.leaf_only).wrap_buffers()

    def attempt():
        handshake(client, server)
        client.write(b"ping")
        pump(client, server)
        assert server.read() == b"ping"

    check_verdict(case, cred, attempt)
    if case.reason is not None:  # a failed buffer stays failed
        with pytest.raises(nativetls.TLSError):
            client.do_handshake()


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_verdict_stdlib_server(pki, creds, case):
    cred = creds[case.cred]
    with stdlib_server(cred, case.leaf_only) as server:
        check_verdict(case, cred, lambda: _expect_reply(connect(client_for(pki, case), server.address, case.host),
                                                        b"hello\n"))


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_verdict_openssl_server(pki, creds, case):
    cred = creds[case.cred]
    with openssl_server(cred, case.leaf_only) as server:
        check_verdict(case, cred, lambda: _expect_reply(connect(client_for(pki, case), server.address, case.host),
                                                        b"olleh\n"))


def _expect_reply(reply, expected):
    assert reply == expected


# --- the stdlib ssl module agrees --------------------------------------------------------------------------

def stdlib_client_context(pki, case):
    """ssl configured as API.md says nativetls verifies: X509_STRICT | PARTIAL_CHAIN, no CN fallback."""
    if case.trust in ("system", "default"):
        ctx = ssl.create_default_context()
    else:
        ctx = ssl.create_default_context(
            cafile=pki.intermediate.cert_path if case.trust == "intermediate" else pki.ca.cert_path)
    if case.trust == "ca+crls":
        ctx.load_verify_locations(pki.crls_path)
        ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT | getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0x80000)
    if hasattr(ctx, "hostname_checks_common_name"):
        ctx.hostname_checks_common_name = False
    if hasattr(ctx, "minimum_version"):
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    else:
        ctx.options |= ssl.OP_NO_TLSv1 | ssl.OP_NO_TLSv1_1
    ctx.check_hostname = case.host is not None
    return ctx


def stdlib_accepts(ctx, address, host):
    sock = socket.create_connection(address, timeout=10)
    try:
        tls = ctx.wrap_socket(sock, server_hostname=host)
        tls.close()
        return True
    except (ssl.SSLError, ssl.CertificateError):
        return False
    finally:
        sock.close()


def _is_ip(host):
    return host.replace(".", "").isdigit() or ":" in host


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_same_decision_as_stdlib(pki, creds, case):
    if case.id == "cn_only" and not hasattr(ssl.SSLContext, "hostname_checks_common_name"):
        pytest.skip("this Python's ssl (before 3.7) always falls back to the subject CN in match_hostname")
    if case.host is not None and _is_ip(case.host) and sys.version_info < (3,):
        pytest.skip("Python 2.7's ssl.match_hostname does not match IP address SANs")
    cred = creds[case.cred]
    with stdlib_server(cred, case.leaf_only) as server:
        stdlib_verdict = stdlib_accepts(stdlib_client_context(pki, case), server.address, case.host)
        try:
            connect(client_for(pki, case), server.address, case.host)
            native_verdict = True
        except nativetls.CertificateVerificationError:
            native_verdict = False
    assert native_verdict == stdlib_verdict == (case.reason is None)


# --- switches ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["self_signed", "expired", "untrusted", "wrong_host", "sha1", "rsa1024"])
def test_validate_certificates_false_accepts_and_warns(pki, creds, name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        context = nativetls.ClientContext(nativetls.TLSConfiguration(validate_certificates=False,
                                                                     trust_store=trust_of(pki.ca)))
    assert [w for w in caught if issubclass(w.category, nativetls.SecurityWarning)], \
        "no SecurityWarning when the context was made"
    client, server = context.wrap_buffers("localhost"), native_server(creds[name]).wrap_buffers()
    handshake(client, server)
    assert client.getpeercert(True) == creds[name].cert_der
    with stdlib_server(creds[name]) as srv:
        assert connect(context, srv.address, "localhost") == b"hello\n"


def test_validate_certificates_true_does_not_warn(pki):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nativetls.ClientContext(nativetls.TLSConfiguration(trust_store=trust_of(pki.ca)))
    assert not [w for w in caught if issubclass(w.category, nativetls.SecurityWarning)]


def test_server_hostname_is_required(pki):
    context = nativetls.ClientContext(nativetls.TLSConfiguration(trust_store=trust_of(pki.ca)))
    with pytest.raises(TypeError):
        context.wrap_buffers()


def test_server_hostname_none_still_verifies_the_chain(pki, creds):
    context = nativetls.ClientContext(nativetls.TLSConfiguration(trust_store=trust_of(pki.ca)))
    for name, ok in (("cn_only", True), ("ip_only", True), ("self_signed", False), ("untrusted", False)):
        client, server = context.wrap_buffers(None), native_server(creds[name]).wrap_buffers()
        if ok:
            handshake(client, server)
        else:
            with pytest.raises(nativetls.CertificateVerificationError) as info:
                handshake(client, server)
            assert info.value.host is None
            assert info.value.reason in ("self_signed", "untrusted_root")


# --- the system trust store and SSL_CERT_FILE / SSL_CERT_DIR ---------------------------------------------

_SYSTEM_STORE_SCRIPT = r"""
import socket, sys
import nativetls
results = []
for configuration in (nativetls.TLSConfiguration(trust_store=nativetls.TrustStore.system()),
                      nativetls.TLSConfiguration()):
    context = nativetls.ClientContext(configuration)
    sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    try:
        tls = context.wrap_socket(sock, "localhost")
        tls.sendall(b"hi\n")
        results.append("ok:" + tls.recv(100).decode("ascii").strip())
        tls.close()
    except nativetls.CertificateVerificationError as exc:
        results.append(exc.reason)
    finally:
        sock.close()
print(" ".join(results))
"""


def _run_with_env(port, **env_vars):
    env = dict(os.environ)
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        env.pop(name, None)
    env.update(env_vars)
    env["PYTHONPATH"] = os.pathsep.join([NATIVETLS_PATH] + [p for p in [env.get("PYTHONPATH")] if p])
    proc = subprocess.Popen([sys.executable, "-c", _SYSTEM_STORE_SCRIPT, str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    assert proc.returncode == 0, err.decode("utf-8", "replace")
    return out.decode("ascii").strip()


def test_ssl_cert_file_is_honoured(pki):
    with _peers.stdlib_server(pki.server) as server:
        assert _run_with_env(server.port) == "untrusted_root untrusted_root"
        assert _run_with_env(server.port, SSL_CERT_FILE=pki.ca.cert_path) == "ok:hi ok:hi"


def test_ssl_cert_dir_is_honoured(pki, tmp_path):
    require_tool("openssl")
    directory = tmp_path / "certs"
    directory.mkdir()
    with open(str(directory / "ca.pem"), "wb") as handle:
        handle.write(pki.ca.cert_pem)
    result = _peers.run(["openssl", "rehash", str(directory)])
    assert result.returncode == 0, result.stderr
    with _peers.stdlib_server(pki.server) as server:
        missing = str(tmp_path / "no-such-file.pem")
        assert _run_with_env(server.port, SSL_CERT_FILE=missing, SSL_CERT_DIR=str(directory)) == "ok:hi ok:hi"


# --- client certificates, verified by a nativetls server ---------------------------------------------------

def _client_auth_pair(pki, client_cred, tls13=True):
    fields = {} if tls13 else {"highest_supported_version": nativetls.TLSVersion.TLSv1_2}
    server = nativetls.ServerContext(nativetls.TLSConfiguration(
        certificate_chain=chain_of(pki.server), trust_store=trust_of(pki.ca), **fields))
    client_fields = {"trust_store": trust_of(pki.ca)}
    if client_cred is not None:
        client_fields["certificate_chain"] = chain_of(client_cred)
    client = nativetls.ClientContext(nativetls.TLSConfiguration(**client_fields))
    return client.wrap_buffers("localhost"), server.wrap_buffers()


def _server_side_failure(client, server):
    """Drive the handshake; returns the exception the *server* raised (the client may fail too, later)."""
    for _ in range(20):
        for side in (client, server):
            try:
                side.do_handshake()
            except nativetls.WantReadError:
                pass
            except nativetls.TLSError as exc:
                if side is server:
                    return exc
                raise
        pump(client, server)
    raise AssertionError("the server accepted the client")


@pytest.mark.parametrize("tls13", [True, False], ids=["tls1.3", "tls1.2"])
def test_server_rejects_untrusted_client_certificate(pki, creds, tls13):
    client, server = _client_auth_pair(pki, creds["untrusted_client"], tls13)
    exc = _server_side_failure(client, server)
    assert isinstance(exc, nativetls.CertificateVerificationError), repr(exc)
    assert exc.reason == "untrusted_root"
    assert exc.host is None
    assert isinstance(exc.native_code, int) and exc.native_message
    assert "client certificate" in str(exc)
    if tls13:  # the client learns it from the server's alert at its next read
        with pytest.raises(nativetls.TLSError):
            pump(client, server)
            client.read()


def test_server_rejects_client_certificate_without_client_auth_eku(pki):
    client, server = _client_auth_pair(pki, pki.server)  # serverAuth-only EKU
    exc = _server_side_failure(client, server)
    assert isinstance(exc, nativetls.CertificateVerificationError), repr(exc)
    assert exc.reason == "invalid_purpose"


def test_server_rejects_expired_client_certificate(pki, cert_factory):
    expired_client = cert_factory.leaf(pki.intermediate, "client", dns=["client.example"], eku=("client",),
                                       not_before=-30, not_after=-1)
    client, server = _client_auth_pair(pki, expired_client)
    exc = _server_side_failure(client, server)
    assert isinstance(exc, nativetls.CertificateVerificationError), repr(exc)
    assert exc.reason == "expired"


def test_server_accepts_trusted_client_certificate(pki):
    client, server = _client_auth_pair(pki, pki.client)
    handshake(client, server)
    assert server.getpeercert(True) == pki.client.cert_der
    assert server.getpeercertchain()[0] == pki.client.cert_der


def test_server_requires_a_client_certificate(pki):
    client, server = _client_auth_pair(pki, None)
    exc = _server_side_failure(client, server)
    assert isinstance(exc, nativetls.TLSError)


@pytest.mark.parametrize("name", ["sha1", "rsa1024"])
def test_weak_server_certificate_is_a_configuration_error(creds, name):
    """A certificate the default security level refuses fails when the context is made, never in a handshake."""
    with pytest.raises(nativetls.ConfigurationError):
        nativetls.ServerContext(nativetls.TLSConfiguration(certificate_chain=chain_of(creds[name])))


@pytest.mark.skipif(nativetls.backend().name != "openssl", reason="the chain's security-level check is OpenSSL's")
def test_weak_intermediate_in_a_server_chain_is_a_configuration_error(creds):
    """A SHA-1-signed intermediate is refused when the server's chain is loaded, on every libssl: 1.1.0-3.4 refuse it
    themselves, on 1.0.2 and 3.5 nativetls's own level-2 check does (docs/security.md)."""
    with pytest.raises(nativetls.ConfigurationError, match="security level 2"):
        nativetls.ServerContext(nativetls.TLSConfiguration(certificate_chain=chain_of(creds["sha1_chain"])))
