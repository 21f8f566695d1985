# -*- coding: utf-8 -*-
"""A badssl.com-style matrix on loopback: certificates made at test time, real servers, nativetls as the client.

Every row of ``MATRIX`` is one badssl case: what the server presents (or how it is configured), the servers that
serve it, and the verdict expected from nativetls per backend. Servers run inside a loopback-only network
namespace (``_servers.py``): ``openssl s_server``, ``gnutls-serv``, ``nginx`` (Debian nginx-light) and tlslite-ng
(pure Python, for SSLv3/RC4 and the other protocols OpenSSL 3 no longer serves).

Verdicts:
    OK(version=..., alpn=...)   the handshake and an application-data round trip succeed (and negotiate that)
    Reject(reason)              CertificateVerificationError with that ``.reason``
    Refuse(pattern)             a TLSError that is *not* a certificate verification error, whose message
                                matches ``pattern`` (a protocol, cipher or key-exchange refusal)

The table (``server`` columns are the servers the row runs against; a backend without an entry is not expected
to run here and is skipped):

    case                         servers                      openssl backend
    good                         openssl gnutls nginx         OK
    sha256 / sha384 / sha512     openssl gnutls nginx         OK
    rsa2048 / rsa4096            openssl gnutls nginx         OK
    ecc256 / ecc384              openssl gnutls nginx         OK
    expired                      openssl gnutls nginx         Reject expired
    not-yet-valid                openssl gnutls nginx         Reject not_yet_valid
    wrong-host                   openssl gnutls nginx         Reject hostname_mismatch
    self-signed                  openssl gnutls nginx         Reject self_signed
    untrusted-root               openssl gnutls nginx         Reject untrusted_root
    incomplete-chain             openssl gnutls nginx         Reject untrusted_root
    reversed-chain               openssl nginx tlslite        OK (OpenSSL orders the chain itself)
    sha1-intermediate            openssl gnutls nginx         Reject bad_signature (SHA-1 is below SECLEVEL 2)
    sha1-leaf                    openssl gnutls nginx         Reject bad_signature
    rsa1024                      openssl gnutls nginx         Reject weak_key
    cn-only (no SAN)             openssl gnutls nginx         Reject hostname_mismatch (no CN fallback)
    ip-san                       openssl gnutls nginx         OK (server_hostname "127.0.0.1")
    idn (A-label in SAN)         openssl gnutls nginx         OK (server_hostname "bücher.example")
    1000-sans                    openssl gnutls nginx         OK
    client-eku-only leaf         openssl gnutls nginx         Reject invalid_purpose
    revoked, CRLs opted in       openssl gnutls nginx         Reject revoked
    revoked, no CRLs             openssl gnutls nginx         OK
    tls1.0 / tls1.1              openssl tlslite              Refuse (protocol version)
    tls1.0, client opted in      openssl tlslite              OK (TLSv1, with a SecurityWarning)
    sslv3                        tlslite                      Refuse (protocol version)
    null                         openssl tlslite              Refuse (no shared cipher)
    rc4                          tlslite                      Refuse (no shared cipher)
    3des                         gnutls tlslite               Refuse (no shared cipher)
    dh1024                       openssl                      Refuse (dh key too small)
    static-rsa                   openssl gnutls nginx tlslite Refuse (no shared cipher)
    tls1.2-only                  openssl gnutls nginx tlslite OK TLSv1.2
    tls1.3-only                  openssl gnutls nginx tlslite OK TLSv1.3
    alpn                         openssl gnutls nginx tlslite OK h2
    client-cert-required, none   openssl gnutls               Refuse (the server's alert)
    client-cert-required, given  openssl gnutls nginx         OK

Rows with ``schannel``/``securetransport`` columns are added when those backends run in this lab (they cannot on
Linux); docs/security-lab.md says what is expected of them.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import collections
import re
import subprocess
import warnings

import pytest

import nativetls
from nativetls import NextProtocol, TLSVersion

import _lab
import _servers
from _certs import CertFactory

OK_ = collections.namedtuple("OK", "version alpn")
Reject = collections.namedtuple("Reject", "reason")
Refuse = collections.namedtuple("Refuse", "pattern")


def OK(version=None, alpn=None):
    return OK_(version, alpn)


PROTOCOL = r"(?i)protocol|version"
NO_CIPHER = r"(?i)handshake failure|no shared cipher|no cipher|insufficient security"
CERT_SERVERS = ("openssl", "gnutls", "nginx")
ALL_SERVERS = ("openssl", "gnutls", "nginx", "tlslite")
LEGACY = "DEFAULT:@SECLEVEL=0"  # lets OpenSSL-based servers load weak certificates and keys
TLS12 = "NORMAL:-VERS-ALL:+VERS-TLS1.2"

# name: (presentation, servers, server options per server kind, client options, expectation per backend)
Row = collections.namedtuple("Row", "present servers server client expect")


def row(present, servers=CERT_SERVERS, server=None, client=None, **expect):
    return Row(present, servers, server or {}, client or {}, expect)


MATRIX = collections.OrderedDict([
    ("good", row("good", openssl=OK())),
    ("sha256", row("good", openssl=OK())),
    ("sha384", row("sha384", openssl=OK())),
    ("sha512", row("sha512", openssl=OK())),
    ("rsa2048", row("good", openssl=OK())),
    ("rsa4096", row("rsa4096", openssl=OK())),
    ("ecc256", row("ecc256", openssl=OK())),
    ("ecc384", row("ecc384", openssl=OK())),
    ("expired", row("expired", openssl=Reject("expired"))),
    ("not-yet-valid", row("not_yet_valid", openssl=Reject("not_yet_valid"))),
    ("wrong-host", row("wrong_host", openssl=Reject("hostname_mismatch"))),
    ("self-signed", row("self_signed", openssl=Reject("self_signed"))),
    ("untrusted-root", row("untrusted", openssl=Reject("untrusted_root"))),
    ("incomplete-chain", row("incomplete", openssl=Reject("untrusted_root"))),
    # gnutls-serv refuses to load an out-of-order chain, so tlslite-ng (which sends what it is given) stands in.
    ("reversed-chain", row("reversed", servers=("openssl", "nginx", "tlslite"), openssl=OK())),
    ("sha1-intermediate", row("sha1_intermediate", server={"openssl": {"ciphers": LEGACY}, "nginx": {"ciphers": LEGACY}},
                              openssl=Reject("bad_signature"))),
    ("sha1-leaf", row("sha1_leaf", server={"openssl": {"ciphers": LEGACY}, "nginx": {"ciphers": LEGACY}},
                      openssl=Reject("bad_signature"))),
    ("rsa1024", row("rsa1024", server={"openssl": {"ciphers": LEGACY}, "nginx": {"ciphers": LEGACY}},
                    openssl=Reject("weak_key"))),
    ("cn-only", row("cn_only", openssl=Reject("hostname_mismatch"))),
    ("ip-san", row("ip_san", client={"hostname": "127.0.0.1"}, openssl=OK())),
    ("idn", row("idn", client={"hostname": "b\u00fccher.example"}, openssl=OK())),
    ("1000-sans", row("sans1000", openssl=OK())),
    ("client-eku-only", row("client_eku", openssl=Reject("invalid_purpose"))),
    ("revoked-checked", row("revoked", client={"crls": True}, openssl=Reject("revoked"))),
    ("revoked-unchecked", row("revoked", openssl=OK())),
    ("tls1.0", row("good", servers=("openssl", "tlslite"),
                   server={"openssl": {"tls": "1", "ciphers": LEGACY}, "tlslite": {"versions": ((3, 1), (3, 1))}},
                   openssl=Refuse(PROTOCOL))),
    ("tls1.1", row("good", servers=("openssl", "tlslite"),
                   server={"openssl": {"tls": "1.1", "ciphers": LEGACY}, "tlslite": {"versions": ((3, 2), (3, 2))}},
                   openssl=Refuse(PROTOCOL))),
    ("tls1.0-opted-in", row("good", servers=("openssl", "tlslite"),
                            server={"openssl": {"tls": "1", "ciphers": LEGACY},
                                    "tlslite": {"versions": ((3, 1), (3, 1))}},
                            client={"lowest_supported_version": TLSVersion.TLSv1},
                            openssl=OK(version=TLSVersion.TLSv1))),
    ("sslv3", row("good", servers=("tlslite",), server={"tlslite": {"versions": ((3, 0), (3, 0))}},
                  openssl=Refuse(PROTOCOL))),
    ("null", row("good", servers=("openssl", "tlslite"),
                 server={"openssl": {"tls": "1.2", "ciphers": "NULL-SHA256:@SECLEVEL=0"},
                         "tlslite": {"versions": ((3, 3), (3, 3)), "ciphers": ["null"]}},
                 openssl=Refuse(NO_CIPHER))),
    ("rc4", row("good", servers=("tlslite",),
                server={"tlslite": {"versions": ((3, 3), (3, 3)), "ciphers": ["rc4"]}}, openssl=Refuse(NO_CIPHER))),
    # Debian's OpenSSL 3 has no 3DES suites left to serve ("no cipher match" even at SECLEVEL=0).
    ("3des", row("good", servers=("gnutls", "tlslite"),
                 server={"gnutls": {"priority": TLS12 + ":-CIPHER-ALL:+3DES-CBC"},
                         "tlslite": {"versions": ((3, 3), (3, 3)), "ciphers": ["3des"]}},
                 openssl=Refuse(NO_CIPHER))),
    ("dh1024", row("good", servers=("openssl",),
                   server={"openssl": {"tls": "1.2", "ciphers": "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0",
                                       "dhparam": 1024}},
                   openssl=Refuse(r"(?i)dh key too small"))),
    ("static-rsa", row("good", servers=ALL_SERVERS,
                       server={"openssl": {"tls": "1.2", "ciphers": "AES128-GCM-SHA256"},
                               "gnutls": {"priority": TLS12 + ":-KX-ALL:+RSA"},
                               "nginx": {"protocols": "TLSv1.2", "ciphers": "AES128-GCM-SHA256"},
                               "tlslite": {"versions": ((3, 3), (3, 3)), "key_exchange": ["rsa"]}},
                       openssl=Refuse(NO_CIPHER))),
    ("tls1.2-only", row("good", servers=ALL_SERVERS,
                        server={"openssl": {"tls": "1.2"}, "gnutls": {"priority": TLS12},
                                "nginx": {"protocols": "TLSv1.2"}, "tlslite": {"versions": ((3, 3), (3, 3))}},
                        openssl=OK(version=TLSVersion.TLSv1_2))),
    ("tls1.3-only", row("good", servers=ALL_SERVERS,
                        server={"openssl": {"tls": "1.3"}, "gnutls": {"priority": "NORMAL:-VERS-ALL:+VERS-TLS1.3"},
                                "nginx": {"protocols": "TLSv1.3"}, "tlslite": {"versions": ((3, 4), (3, 4))}},
                        openssl=OK(version=TLSVersion.TLSv1_3))),
    ("alpn", row("good", servers=ALL_SERVERS,
                 server={"openssl": {"alpn": ["h2", "http/1.1"]}, "gnutls": {"alpn": ["h2", "http/1.1"]},
                         "nginx": {"http2": True}, "tlslite": {"alpn": ["h2", "http/1.1"]}},
                 client={"inner_protocols": [NextProtocol.H2, NextProtocol.HTTP1]},
                 openssl=OK(alpn=NextProtocol.H2))),
    # nginx completes the handshake without a client certificate and answers "400 No required SSL certificate was
    # sent" at the HTTP layer (ssl_verify_client on), so only the servers that refuse in TLS are in this row.
    # In TLS 1.3 the client finishes before the server has judged it: the client waits for the verdict by reading
    # (writing first could race the server's close and surface EPIPE instead of the alert).
    ("client-cert-required-none", row("good", servers=("openssl", "gnutls"),
                                      server={k: {"client_ca": True} for k in CERT_SERVERS},
                                      client={"read_first": True},
                                      openssl=Refuse(r"(?i)alert|certificate"))),
    ("client-cert-required-given", row("good", server={k: {"client_ca": True} for k in CERT_SERVERS},
                                       client={"client_cert": True}, openssl=OK())),
])


class LabPKI(object):
    """The certificates of the matrix, made once per module (see MATRIX's ``present`` names)."""

    def __init__(self, directory):
        f = self.factory = CertFactory(directory)
        self.root = f.ca("nativetls Lab Root")
        inter = self.inter = f.intermediate(self.root, "nativetls Lab Intermediate")
        here = dict(dns=["localhost"], ips=["127.0.0.1"])
        self.good = f.leaf(inter, "localhost", **here)
        self.sha384 = f.leaf(inter, "localhost", hash="sha384", **here)
        self.sha512 = f.leaf(inter, "localhost", hash="sha512", **here)
        self.rsa4096 = f.leaf(inter, "localhost", key="rsa4096", **here)
        self.ecc256 = f.leaf(inter, "localhost", key="p256", **here)
        self.ecc384 = f.leaf(inter, "localhost", key="p384", **here)
        self.expired = f.leaf(inter, "localhost", not_before=-30, not_after=-1, **here)
        self.not_yet_valid = f.leaf(inter, "localhost", not_before=30, not_after=60, **here)
        self.wrong_host = f.leaf(inter, "wrong.example")
        self.self_signed = f.leaf(None, "localhost", **here)
        other = f.ca("nativetls Lab Untrusted Root")
        self.untrusted = f.leaf(f.intermediate(other, "nativetls Lab Untrusted Intermediate"), "localhost", **here)
        top = f.intermediate(self.root, "nativetls Lab Upper", path_length=1)
        lower = f.intermediate(top, "nativetls Lab Lower")
        self.deep = f.leaf(lower, "localhost", **here)
        sha1_ca = f.intermediate(self.root, "nativetls Lab SHA-1 Intermediate", hash="sha1")
        self.sha1_intermediate = f.leaf(sha1_ca, "localhost", **here)
        self.sha1_leaf = f.leaf(inter, "localhost", hash="sha1", **here)
        self.rsa1024 = f.leaf(inter, "localhost", key="rsa1024", **here)
        self.cn_only = f.leaf(inter, "localhost", san=False)
        self.ip_san = f.leaf(inter, "127.0.0.1", dns=[], ips=["127.0.0.1"])
        self.idn = f.leaf(inter, "xn--bcher-kva.example")
        self.sans1000 = f.leaf(inter, "localhost", dns=["host%d.example" % i for i in range(999)] + ["localhost"])
        self.client_eku = f.leaf(inter, "localhost", eku=("client",), **here)
        self.revoked = f.leaf(inter, "localhost", **here)
        self.crls = f.crl(self.root).pem + f.crl(inter, revoked=[self.revoked]).pem
        self.client = f.leaf(inter, "nativetls lab client", dns=["client.example"], eku=("client",))

    def presentation(self, name):
        if name == "incomplete":
            return _servers.Presentation(self.good, chain=[])
        if name == "reversed":
            natural = self.deep.intermediates
            assert len(natural) == 2
            return _servers.Presentation(self.deep, chain=natural[::-1])
        return _servers.Presentation(getattr(self, name))


@pytest.fixture(scope="module")
def lab_pki(tmp_path_factory):
    return LabPKI(str(tmp_path_factory.mktemp("badssl")))


@pytest.fixture(scope="module")
def dhparam_1024(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("dh") / "dh1024.pem")
    subprocess.check_call(["openssl", "dhparam", "-out", path, "1024"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    return path


_TOOLS = {"openssl": ("openssl", "openssl"), "gnutls": ("gnutls-serv", "gnutls-bin"),
          "nginx": ("nginx", "nginx-light")}


def _start(kind, ns, pres, options, pki, request):
    options = dict(options)
    if options.pop("client_ca", False):
        options["client_ca"] = pki.root.cert_path
    if kind in _TOOLS:
        _lab.need_tool(*_TOOLS[kind])
    if kind == "openssl":
        bits = options.pop("dhparam", None)
        if bits:
            options["extra"] = ["-dhparam", request.getfixturevalue("dhparam_%d" % bits)]
        return _servers.openssl_server(ns, pres, **options)
    if kind == "gnutls":
        return _servers.gnutls_server(ns, pres, **options)
    if kind == "nginx":
        return _servers.nginx_server(ns, pres, **options)
    _lab.need_module("tlslite", "tlslite-ng")
    return _servers.tlslite_server(ns, pres, **options)


def _client(pki, options):
    fields = {"trust_store": nativetls.TrustStore.from_buffer(pki.root.cert_pem)}
    if options.get("crls"):
        fields["trust_store"] = fields["trust_store"].with_crls(pki.crls)
    if options.get("client_cert"):
        key = nativetls.PrivateKey.from_buffer(pki.client.key_pem)
        chain = [nativetls.Certificate.from_buffer(c.cert_pem) for c in pki.client.intermediates]
        fields["certificate_chain"] = nativetls.SigningChain((nativetls.Certificate.from_buffer(pki.client.cert_pem),
                                                             key), chain)
    for name in ("lowest_supported_version", "inner_protocols"):
        if name in options:
            fields[name] = options[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        context = nativetls.ClientContext(nativetls.TLSConfiguration(**fields))
    return context, caught


def _attempt(server, context, hostname, exchange=True, read_first=False):
    """Connects, handshakes and exchanges one message; returns (None, info) or (the TLSError, None)."""
    sock = server.connect()
    try:
        tls = context.wrap_socket(sock, hostname)
    except nativetls.TLSError as exc:
        sock.close()
        return exc, None
    try:
        info = {"version": tls.negotiated_tls_version, "alpn": tls.negotiated_protocol(), "cipher": tls.cipher()}
        if read_first:
            data = tls.recv(1024)
            raise AssertionError("the server sent %r instead of refusing the connection" % (data,))
        if exchange:
            server.exchange(tls)
        return None, info
    except nativetls.TLSError as exc:
        return exc, None
    finally:
        tls.close()


def _cases():
    for name, spec in MATRIX.items():
        for kind in spec.servers:
            yield pytest.param(name, kind, id="%s-%s" % (name, kind))


@pytest.mark.parametrize("name,kind", list(_cases()))
def test_badssl(name, kind, lab_ns, lab_pki, request):
    spec = MATRIX[name]
    backend = nativetls.backend().name
    if backend not in spec.expect:
        pytest.skip("no expectation recorded for backend %s" % backend)
    expected = spec.expect[backend]
    context, caught = _client(lab_pki, spec.client)
    hostname = spec.client.get("hostname", "localhost")
    # nginx speaks HTTP/2 once h2 is chosen: the ALPN row checks the negotiation only.
    exchange = not (kind == "nginx" and spec.client.get("inner_protocols"))
    with _start(kind, lab_ns, lab_pki.presentation(spec.present), spec.server.get(kind, {}), lab_pki,
                request) as server:
        error, info = _attempt(server, context, hostname, exchange, spec.client.get("read_first", False))
        story = "server %s said:\n%s" % (kind, server.output()[-2000:])
    if isinstance(expected, OK_):
        assert error is None, "%s via %s: expected success, got %s: %s\n%s" % (
            name, kind, type(error).__name__, error, story)
        if expected.version is not None:
            assert info["version"] == expected.version
        if expected.alpn is not None:
            assert info["alpn"] == expected.alpn
        if spec.client.get("lowest_supported_version"):  # opting into TLS < 1.2 must warn
            assert any(issubclass(w.category, nativetls.SecurityWarning) for w in caught)
    elif isinstance(expected, Reject):
        assert isinstance(error, nativetls.CertificateVerificationError), "%s via %s: expected %s, got %r\n%s" % (
            name, kind, expected.reason, error, story)
        assert error.reason == expected.reason, "%s via %s: reason %s (%s)" % (name, kind, error.reason, error)
        assert error.host == (hostname.encode("idna").decode("ascii") if hostname else None) or error.host == hostname
    else:
        assert error is not None, "%s via %s: expected a refusal, the connection succeeded (%s)" % (name, kind, info)
        assert not isinstance(error, nativetls.CertificateVerificationError), \
            "%s via %s: refused for a certificate reason (%s): %s" % (name, kind, error.reason, error)
        assert re.search(expected.pattern, str(error)), "%s via %s: %r does not match %r\n%s" % (
            name, kind, str(error), expected.pattern, story)
