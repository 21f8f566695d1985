# -*- coding: utf-8 -*-
"""The nativetls server (issue 3): ServerContext over real sockets and in memory, driven by real clients.

Clients: ``openssl s_client``, ``gnutls-cli``, ``curl``, the stdlib ``ssl`` module and nativetls itself.
Every test runs on Python 2.7 and 3.x. ``NativeServer`` (below) is the reusable helper: a nativetls server on
127.0.0.1:0 in threads, one per connection, recording what each connection negotiated (or the exception that
ended it) and stopping cleanly::

    with NativeServer(server_context(pki)) as srv:
        result = peers.openssl_s_client(srv.port, [...], input=b"hello\\n")
        record = srv.wait()[0]
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import gc
import os
import re
import select
import socket
import struct
import subprocess
import sys
import threading
import time
import warnings

import pytest

import nativetls
from nativetls import (CertificateVerificationError, NextProtocol, RaggedEOF, SigningChain, TLSConfiguration,
                       TLSError, TLSVersion, WantReadError)

import _peers
from _tls import chain_of, client_context, drive_read, handshake, pump, server_context, trust_of

HOST = "127.0.0.1"
IDN_A_LABEL = "xn--bcher-kva.example"
IDN_U_LABEL = "b\u00fccher.example"
HTTP_BODY = b"hello from nativetls\n"

needs_server = pytest.mark.skipif("server" not in nativetls.backend().features,
                                  reason="this backend cannot act as a TLS server")
pytestmark = needs_server


# --- the server helper -------------------------------------------------------------------------------------------

class Served(object):
    """What one server-side connection negotiated, or the exception that ended it (``error``)."""

    def __init__(self):
        self.version = self.cipher = self.alpn = self.peer_cert = self.peer_chain = None
        self.reused = None
        self.index = None  # the order of acceptance
        self.received = b""
        self.error = None
        self.ragged = False
        self.done = False

    def fill(self, tls):
        self.version = tls.negotiated_tls_version
        self.cipher = tls.cipher()
        self.alpn = tls.negotiated_protocol()
        self.peer_cert = tls.getpeercert()
        self.peer_chain = tls.getpeercertchain()
        self.reused = tls.session_reused

    def __repr__(self):
        return "<Served %s %s alpn=%s reused=%s error=%r>" % (self.version, self.cipher, self.alpn, self.reused,
                                                            self.error)


def echo(tls, record):
    """Echo until the client's close_notify (or a ragged EOF)."""
    while True:
        try:
            data = tls.recv(65536)
        except RaggedEOF:
            record.ragged = True
            return
        if not data:
            return
        record.received += data
        tls.sendall(data)


def reply_once(tls, record):
    """Read one line, answer it upper-cased, and return: the server then closes with close_notify."""
    while b"\n" not in record.received:
        data = tls.recv(65536)
        if not data:
            break
        record.received += data
    tls.sendall(record.received.upper())


def http(tls, record):
    """Answer one HTTP request with a complete response in one write, then close."""
    while b"\r\n\r\n" not in record.received:
        data = tls.recv(65536)
        if not data:
            return
        record.received += data
    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + str(len(HTTP_BODY)).encode("ascii")
                + b"\r\nConnection: close\r\n\r\n" + HTTP_BODY)


class NativeServer(object):
    """A nativetls server on 127.0.0.1:0: an accept thread and one thread per connection.

    Each connection: ``settimeout(timeout)``, ``wrap_socket(..., do_handshake_on_connect=False)``,
    ``do_handshake()``, then ``handler(tls, record)``, then ``close()`` (which sends close_notify). ``wait(n)``
    waits for n connections to finish and returns their ``Served`` records in the order they were accepted.
    ``stop()`` (also on leaving the ``with``) stops accepting, joins every thread and records in ``stuck`` the
    threads that did not end.
    """

    def __init__(self, context, handler=echo, timeout=10.0):
        self.context, self.handler, self.timeout = context, handler, timeout
        self.records = []
        self.stuck = []
        self._cond = threading.Condition()
        self._stopping = False
        self._threads = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind((HOST, 0))
        self.listener.listen(256)
        self.host, self.port = self.listener.getsockname()
        self._acceptor = threading.Thread(target=self._accept_loop, name="nativetls-server")
        self._acceptor.daemon = True
        self._acceptor.start()

    @property
    def address(self):
        return (self.host, self.port)

    def _accept_loop(self):
        while not self._stopping:
            if not select.select([self.listener], [], [], 0.05)[0] or self._stopping:
                continue
            try:
                conn, _address = self.listener.accept()
            except (socket.error, OSError):
                continue
            worker = threading.Thread(target=self._serve, args=(conn, len(self._threads)), name="nativetls-conn")
            worker.daemon = True
            self._threads.append(worker)
            worker.start()

    def _serve(self, conn, index):
        record = Served()
        record.index = index
        try:
            conn.settimeout(self.timeout)
            tls = self.context.wrap_socket(conn, do_handshake_on_connect=False)
            try:
                tls.do_handshake()
                record.fill(tls)
                self.handler(tls, record)
                record.done = True
            finally:
                tls.close()
        except Exception as exc:  # recorded for the test to assert on
            record.error = exc
        finally:
            conn.close()
            with self._cond:
                self.records.append(record)
                self._cond.notify_all()

    def wait(self, count=1, timeout=15.0):
        """Once *count* connections have finished: the records of all finished ones, in the order they were
        accepted, up to *count* (AssertionError if they do not finish)."""
        deadline = time.time() + timeout
        with self._cond:
            while len(self.records) < count and time.time() < deadline:
                self._cond.wait(0.05)
            if len(self.records) < count:
                raise AssertionError("only %d of %d connections finished: %r" % (len(self.records), count,
                                                                                self.records))
            return sorted(self.records, key=lambda record: record.index)[:count]

    def stop(self):
        self._stopping = True
        self._acceptor.join(5)
        self.listener.close()
        for worker in self._threads:
            worker.join(self.timeout + 5)
        self.stuck = [t for t in self._threads if t.is_alive()]

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


# --- small helpers -----------------------------------------------------------------------------------------------

def require_tool(name):
    """Skip when executable *name* is missing; fail under CI, which must have it (as conftest's helper does; not
    imported from there because ``conftest`` names more than one module in this tree)."""
    if not _peers.have_tool(name):
        if os.environ.get("CI"):
            pytest.fail("%s is missing on this CI machine" % name)
        pytest.skip("%s is not installed" % name)


def text(data):
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


def output_of(result):
    return text(result.stdout) + text(result.stderr)


def ok(result):
    """Assert a Completed peer run exited 0 (with its output in the message)."""
    assert not result.timed_out, "timed out: %s\n%s" % (" ".join(result.argv), output_of(result))
    assert result.returncode == 0, "exit %s: %s\n%s" % (result.returncode, " ".join(result.argv), output_of(result))
    return output_of(result)


def failed(result):
    assert not result.timed_out, "timed out: %s\n%s" % (" ".join(result.argv), output_of(result))
    assert result.returncode != 0, "unexpectedly succeeded: %s\n%s" % (" ".join(result.argv), output_of(result))
    return output_of(result)


def s_client(srv, pki, args=(), input=b"hello\n", verify=True):
    """openssl s_client against *srv*, verifying against pki.ca, reading until the server closes (-ign_eof)."""
    require_tool("openssl")
    base = ["-ign_eof"]
    if verify:
        base += ["-CAfile", pki.ca.cert_path, "-verify_return_error"]
    return _peers.openssl_s_client(srv.port, base + list(args), input=input)


def nativetls_connect(address, context, server_hostname="localhost", session=None, timeout=10.0):
    sock = socket.create_connection(address, timeout=timeout)
    try:
        return context.wrap_socket(sock, server_hostname, session=session)
    except BaseException:
        sock.close()
        raise


def subject_cn(peer_cert):
    return dict(item[0] for item in peer_cert["subject"]).get("commonName")


def served_server(pki, handler=reply_once, timeout=10.0, **fields):
    """A NativeServer over ``server_context(pki, **fields)``."""
    return NativeServer(server_context(pki, **fields), handler=handler, timeout=timeout)


TLS_VERSIONS = [pytest.param("1.2", id="tls1.2"), pytest.param("1.3", id="tls1.3")]
S_CLIENT_VERSION = {"1.2": "-tls1_2", "1.3": "-tls1_3"}
NATIVE_VERSION = {"1.2": TLSVersion.TLSv1_2, "1.3": TLSVersion.TLSv1_3}
GNUTLS_PRIORITY = {"1.2": "NORMAL:-VERS-ALL:+VERS-TLS1.2", "1.3": "NORMAL:-VERS-ALL:+VERS-TLS1.3"}


def pinned(version, **fields):
    """Configuration fields that pin one TLS version (for clients or servers)."""
    fields["lowest_supported_version"] = fields["highest_supported_version"] = NATIVE_VERSION[version]
    return fields


class Names(object):
    """Leaves for SNI tests, all issued by pki.intermediate: ``a`` (RSA, a.example), ``b`` (ECDSA P-256,
    b.example), ``idn`` (bücher.example as its A-label), ``client_untrusted`` (a clientAuth leaf from a root the
    servers do not trust)."""

    def __init__(self, pki):
        f = pki.factory
        self.a = f.leaf(pki.intermediate, "a.example", key="rsa2048", name="sni-a")
        self.b = f.leaf(pki.intermediate, "b.example", key="p256", name="sni-b")
        self.idn = f.leaf(pki.intermediate, IDN_A_LABEL, name="sni-idn")
        self.client_untrusted = f.leaf(pki.untrusted_ca, "untrusted client", dns=["client.example"],
                                       eku=("client",), name="client-untrusted")


@pytest.fixture(scope="module")
def names(pki):
    return Names(pki)


# --- openssl s_client ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_s_client_versions_exit_zero_after_our_close_notify(pki, version):
    # -ign_eof: s_client reads until the server closes; it exits 0 only if that close came with close_notify.
    with served_server(pki) as srv:
        out = ok(s_client(srv, pki, [S_CLIENT_VERSION[version], "-servername", "localhost",
                                     "-verify_hostname", "localhost"]))
        record = srv.wait()[0]
    assert record.error is None and record.done
    assert record.version is NATIVE_VERSION[version]
    assert "HELLO" in out
    assert "Verify return code: 0 (ok)" in out
    assert re.search(r"New, TLSv1\.%s, Cipher is" % version[-1], out)


def test_s_client_detects_a_missing_close_notify(pki):
    """The control for the test above: a server that drops the connection without close_notify fails s_client."""
    def rude(tls, record):
        reply_once(tls, record)
        tls.detach().close()  # frees the TLS state without close_notify

    with served_server(pki, handler=rude) as srv:
        out = failed(s_client(srv, pki))
        srv.wait()
    assert "HELLO" in out
    assert "unexpected eof" in out.lower()


def test_s_client_stdin_eof_sends_close_notify_to_us(pki):
    # Without -ign_eof, s_client closes (with close_notify) when its input ends: our echo loop sees b"", not a
    # ragged EOF.
    require_tool("openssl")
    with served_server(pki, handler=echo) as srv:
        ok(_peers.openssl_s_client(srv.port, ["-CAfile", pki.ca.cert_path, "-verify_return_error"],
                                   input=b"ping\n"))
        record = srv.wait()[0]
    assert record.error is None and record.done and not record.ragged
    assert record.received == b"ping\n"


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_s_client_sni_picks_the_matching_chain(pki, names, version):
    chains = [chain_of(names.a), chain_of(names.b)]
    with served_server(pki, certificate_chain=chains) as srv:
        for name, cn, key in (("a.example", "a.example", "2048 bit"), ("b.example", "b.example", "256 bit")):
            out = ok(s_client(srv, pki, [S_CLIENT_VERSION[version], "-servername", name, "-verify_hostname", name]))
            assert re.search(r"subject=.*CN ?= ?%s" % re.escape(cn), out), out
            assert "Server public key is %s" % key in out
        if version == "1.2":  # the ECDSA leaf gets an ECDSA suite
            out = ok(s_client(srv, pki, ["-tls1_2", "-servername", "b.example"]))
            assert "Cipher is ECDHE-ECDSA-" in out
        # An unknown name and no name at all get the first chain.
        for args in (["-servername", "unknown.example"], ["-noservername"]):
            out = ok(s_client(srv, pki, [S_CLIENT_VERSION[version]] + args))
            assert re.search(r"subject=.*CN ?= ?a\.example", out), out
        records = srv.wait(5 if version == "1.2" else 4)
    assert all(r.error is None for r in records), records


def test_s_client_first_chain_is_the_default_whatever_its_type(pki, names):
    with served_server(pki, certificate_chain=[chain_of(names.b), chain_of(names.a)]) as srv:
        out = ok(s_client(srv, pki, ["-noservername"]))
        assert re.search(r"subject=.*CN ?= ?b\.example", out), out
        out = ok(s_client(srv, pki, ["-servername", "a.example", "-verify_hostname", "a.example"]))
        assert re.search(r"subject=.*CN ?= ?a\.example", out), out
        srv.wait(2)


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_s_client_alpn_server_preference_wins(pki, version):
    with served_server(pki, inner_protocols=[NextProtocol.H2, NextProtocol.HTTP1]) as srv:
        out = ok(s_client(srv, pki, [S_CLIENT_VERSION[version], "-alpn", "http/1.1,h2"]))
        assert "ALPN protocol: h2" in out
        out = ok(s_client(srv, pki, [S_CLIENT_VERSION[version], "-alpn", "http/1.1,spdy/3"]))
        assert "ALPN protocol: http/1.1" in out
        out = ok(s_client(srv, pki, [S_CLIENT_VERSION[version], "-alpn", "imap,smtp"]))  # no overlap: no ALPN
        assert "No ALPN negotiated" in out
        records = srv.wait(3)
    assert [r.alpn for r in records] == [NextProtocol.H2, NextProtocol.HTTP1, None]


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_s_client_client_certificate(pki, version):
    with served_server(pki, trust_store=trust_of(pki.ca)) as srv:
        ok(s_client(srv, pki, [S_CLIENT_VERSION[version], "-cert", pki.client.cert_path, "-key",
                               pki.client.key_path, "-cert_chain", pki.client.chain_path]))
        record = srv.wait()[0]
    assert record.error is None, record
    assert subject_cn(record.peer_cert) == "nativetls test client"
    assert record.peer_chain == [pki.client.cert_der, pki.intermediate.cert_der]  # leaf first, as sent


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_s_client_without_client_certificate_is_refused(pki, version):
    with served_server(pki, trust_store=trust_of(pki.ca)) as srv:
        out = failed(s_client(srv, pki, [S_CLIENT_VERSION[version]]))
        record = srv.wait()[0]
    assert isinstance(record.error, TLSError), record
    assert "certificate" in str(record.error).lower()
    assert "alert" in out.lower()


def test_s_client_reconnect_resumes_tls12(pki):
    # -reconnect: one full handshake and five more with the same session.
    with served_server(pki) as srv:
        out = ok(s_client(srv, pki, ["-tls1_2", "-reconnect"]))
        records = srv.wait(6)
    assert out.count("Reused, TLSv1.2") == 5, out
    assert [r.reused for r in records] == [False] + [True] * 5


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_s_client_session_file_resumes(pki, version, tmp_path):
    # s_client -reconnect does not wait for TLS 1.3 tickets (it never resumes TLS 1.3, against openssl s_server
    # too), so resumption in both versions is also tested with a saved session: -sess_out, then -sess_in.
    session_file = str(tmp_path / "session.pem")
    with served_server(pki) as srv:
        ok(s_client(srv, pki, [S_CLIENT_VERSION[version], "-sess_out", session_file]))
        out = ok(s_client(srv, pki, [S_CLIENT_VERSION[version], "-sess_in", session_file]))
        records = srv.wait(2)
    assert "Reused, TLSv1.%s" % version[-1] in out
    assert [r.reused for r in records] == [False, True]


@pytest.mark.needs("tls1_3")  # TLS 1.3 by name
def test_s_client_session_does_not_resume_on_another_server_context(pki, tmp_path):
    session_file = str(tmp_path / "session.pem")
    with served_server(pki) as first:
        ok(s_client(first, pki, ["-tls1_3", "-sess_out", session_file]))
        first.wait()
    with served_server(pki) as second:  # same configuration, new ServerContext: new ticket keys
        out = ok(s_client(second, pki, ["-tls1_3", "-sess_in", session_file]))
        record = second.wait()[0]
    assert "New, TLSv1.3" in out
    assert record.reused is False and record.error is None


# --- safe defaults ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("flag", ["-tls1", "-tls1_1"])
def test_default_server_refuses_old_versions(pki, flag):
    with served_server(pki) as srv:
        out = failed(s_client(srv, pki, [flag, "-cipher", "DEFAULT@SECLEVEL=0"]))
        record = srv.wait()[0]
    assert isinstance(record.error, TLSError), record
    assert "version" in (str(record.error) + out).lower()


def test_cipher_list_keeps_the_tls11_bound_against_s_client(pki):
    # Issue 14: the ciphers list once reset the version bounds, so this server negotiated TLS 1.2. s_client offers
    # TLS 1.0 to 1.3 with the suite; the server must answer with TLS 1.1 at most.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nativetls.SecurityWarning)  # TLS < 1.2 warns (tested elsewhere)
        srv = served_server(pki, ciphers=[0xC013], lowest_supported_version=TLSVersion.TLSv1,
                            highest_supported_version=TLSVersion.TLSv1_1)
    with srv:
        out = ok(s_client(srv, pki, ["-cipher", "ECDHE-RSA-AES128-SHA:@SECLEVEL=0"]))
        record = srv.wait()[0]
    assert record.error is None and record.version is TLSVersion.TLSv1_1, record
    assert int(record.cipher) == 0xC013 and "TLSv1.1" in out


def test_tls13_only_list_under_a_tls12_bound_fails_at_context_creation(pki):
    with pytest.raises(nativetls.ConfigurationError):
        served_server(pki, ciphers=[nativetls.CipherSuite.TLS_AES_256_GCM_SHA384],
                      highest_supported_version=TLSVersion.TLSv1_2)


@pytest.mark.parametrize("cipher", [
    "AES128-SHA256",  # RSA key exchange, CBC
    "AES128-GCM-SHA256",  # RSA key exchange, AEAD
    "ECDHE-RSA-AES128-SHA256",  # ECDHE, CBC
    "ECDHE-RSA-AES128-SHA",  # ECDHE, CBC with SHA-1
    "DHE-RSA-AES128-GCM-SHA256",  # finite-field DHE
])
def test_default_server_refuses_weak_tls12_suites(pki, cipher):
    with served_server(pki) as srv:
        out = failed(s_client(srv, pki, ["-tls1_2", "-cipher", cipher + ":@SECLEVEL=0"]))
        record = srv.wait()[0]
    assert isinstance(record.error, TLSError), record
    assert "alert" in out.lower() or "no shared cipher" in out.lower() or "no ciphers" in out.lower()


@pytest.mark.parametrize("cipher", ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                                    "ECDHE-RSA-CHACHA20-POLY1305"])
def test_default_server_accepts_ecdhe_aead(pki, cipher):
    with served_server(pki) as srv:
        out = ok(s_client(srv, pki, ["-tls1_2", "-cipher", cipher]))
        record = srv.wait()[0]
    assert "Cipher is %s" % cipher in out
    assert "Compression: NONE" in out
    assert record.version is TLSVersion.TLSv1_2


@pytest.mark.needs("tls1_3")  # TLS 1.3 by name
@pytest.mark.parametrize("groups,accepted", [("X25519", True), ("P-256", True), ("P-384", True),
                                             ("P-521", False), ("ffdhe2048", False)])
def test_default_server_groups(pki, groups, accepted):
    with served_server(pki) as srv:
        result = s_client(srv, pki, ["-tls1_3", "-groups", groups])
        record = srv.wait()[0]
    if accepted:
        ok(result)
        assert record.error is None
    else:
        failed(result)
        assert isinstance(record.error, TLSError)


def s_client_keeping_stdin_open(port, args, input, timeout=15.0):
    """s_client reading *input* from a pipe that stays open until it exits (its commands, such as "R", only work
    without -ign_eof, and without -ign_eof the end of its input would end the connection at once)."""
    require_tool("openssl")
    read_end, write_end = os.pipe()
    argv = ["openssl", "s_client", "-connect", "%s:%d" % (HOST, port)] + list(args)
    try:
        proc = subprocess.Popen(argv, stdin=read_end, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    finally:
        os.close(read_end)
    fired = []

    def expire():
        fired.append(True)
        proc.kill()

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    try:
        os.write(write_end, input)
        out, err = proc.communicate()
    finally:
        timer.cancel()
        os.close(write_end)
    return _peers.Completed(argv, proc.returncode, out, err, bool(fired))


def _openssl_102():
    if nativetls.backend().name != "openssl":
        return False
    from nativetls._openssl._lowlevel import VERSION
    return VERSION < 0x10100000


def test_default_server_refuses_renegotiation(pki):
    # s_client's interactive "R" asks for a renegotiation on the established TLS 1.2 connection. 1.1.0h+ answer
    # with a no_renegotiation warning (SSL_OP_NO_RENEGOTIATION); 1.0.2, which lacks it, with a fatal
    # handshake_failure before any handshake message of ours (the info callback, _buffer.on_info).
    with served_server(pki, handler=echo) as srv:
        out = failed(s_client_keeping_stdin_open(srv.port, ["-tls1_2", "-CAfile", pki.ca.cert_path,
                                                            "-verify_return_error"], b"R\n"))
        record = srv.wait()[0]
    assert "RENEGOTIATING" in out
    refusal = "alert handshake failure" if _openssl_102() else "no renegotiation"
    assert refusal in out.lower() or refusal.replace(" ", "_") in out.lower(), out
    if _openssl_102():
        assert "renegotiation" in str(record.error), record
    assert isinstance(record.error, TLSError), record


# --- gnutls-cli ---------------------------------------------------------------------------------------------------

def gnutls(srv, pki, args=(), input=b"hello\n"):
    require_tool("gnutls-cli")
    return _peers.gnutls_cli(srv.port, ["--x509cafile", pki.ca.cert_path, "--verify-hostname", "localhost"]
                             + list(args), input=input)


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_gnutls_cli(pki, version):
    with served_server(pki) as srv:
        out = ok(gnutls(srv, pki, ["--priority", GNUTLS_PRIORITY[version]]))
        record = srv.wait()[0]
    assert "(TLS1.%s" % version[-1] in out
    assert "HELLO" in out
    assert "Peer has closed the GnuTLS connection" in out  # our close_notify
    assert record.version is NATIVE_VERSION[version] and record.error is None


def test_gnutls_cli_alpn(pki):
    with served_server(pki, inner_protocols=[NextProtocol.H2, NextProtocol.HTTP1]) as srv:
        out = ok(gnutls(srv, pki, ["--alpn", "http/1.1", "--alpn", "h2"]))
        record = srv.wait()[0]
    assert record.alpn is NextProtocol.H2
    assert "Application protocol: h2" in out


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_gnutls_cli_client_certificate(pki, version):
    with served_server(pki, trust_store=trust_of(pki.ca)) as srv:
        ok(gnutls(srv, pki, ["--priority", GNUTLS_PRIORITY[version], "--x509certfile", pki.client.fullchain_path,
                             "--x509keyfile", pki.client.key_path]))
        record = srv.wait()[0]
    assert record.error is None, record
    assert subject_cn(record.peer_cert) == "nativetls test client"
    assert record.peer_chain == [pki.client.cert_der, pki.intermediate.cert_der]


def test_gnutls_cli_sni_with_several_chains(pki, names):
    require_tool("gnutls-cli")
    with served_server(pki, certificate_chain=[chain_of(names.a), chain_of(names.b)]) as srv:
        for name in ("a.example", "b.example"):
            ok(_peers.gnutls_cli(srv.port, ["--x509cafile", pki.ca.cert_path, "--sni-hostname", name,
                                            "--verify-hostname", name], input=b"x\n"))
        srv.wait(2)


# --- curl ---------------------------------------------------------------------------------------------------------

def curl(port, args=(), host="localhost"):
    require_tool("curl")
    argv = ["curl", "-sS", "--max-time", "20", "--resolve", "%s:%d:%s" % (host, port, HOST)] + list(args) + [
        "https://%s:%d/" % (host, port)]
    return _peers.run(argv, timeout=30.0)


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_curl_gets_the_http_response(pki, version):
    with served_server(pki, handler=http, inner_protocols=[NextProtocol.HTTP1]) as srv:
        result = curl(srv.port, ["--cacert", pki.ca.cert_path, "--http1.1", "--tlsv1.%s" % version[-1],
                                 "--tls-max", "1.%s" % version[-1], "-v"])
        record = srv.wait()[0]
    out = ok(result)
    assert result.stdout == HTTP_BODY
    assert record.received.startswith(b"GET / HTTP/1.1\r\n")
    assert record.alpn is NextProtocol.HTTP1
    assert record.version is NATIVE_VERSION[version]
    assert "TLSv1.%s" % version[-1] in out


def test_curl_client_certificate_and_sni(pki, names):
    chains = [chain_of(names.a), chain_of(names.b)]
    with served_server(pki, handler=http, certificate_chain=chains, trust_store=trust_of(pki.ca)) as srv:
        result = curl(srv.port, ["--cacert", pki.ca.cert_path, "--cert", pki.client.fullchain_path, "--key",
                                 pki.client.key_path], host="b.example")
        record = srv.wait()[0]
    ok(result)
    assert result.stdout == HTTP_BODY
    assert subject_cn(record.peer_cert) == "nativetls test client"


def test_curl_without_client_certificate_fails(pki):
    with served_server(pki, handler=http, trust_store=trust_of(pki.ca)) as srv:
        result = curl(srv.port, ["--cacert", pki.ca.cert_path])
        record = srv.wait()[0]
    failed(result)
    assert isinstance(record.error, TLSError)


# --- the stdlib ssl client ----------------------------------------------------------------------------------------

def stdlib_client(address, context, server_hostname="localhost"):
    raw = socket.create_connection(address, timeout=10)
    try:
        # suppress_ragged_eofs=False: a close without close_notify raises instead of reading as b"".
        return context.wrap_socket(raw, server_hostname=server_hostname, suppress_ragged_eofs=False)
    except BaseException:
        raw.close()
        raise


def stdlib_read_all(conn):
    data = b""
    while True:
        chunk = conn.recv(65536)  # raises SSLError on a ragged EOF (suppress_ragged_eofs=False)
        if not chunk:
            return data
        data += chunk


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_stdlib_client(pki, version):
    context = _peers.stdlib_client_context(ca=pki.ca, tls=version, alpn=["http/1.1", "h2"])
    with served_server(pki, inner_protocols=[NextProtocol.H2]) as srv:
        conn = stdlib_client(srv.address, context)
        try:
            assert conn.version() == "TLSv1.%s" % version[-1]
            assert conn.selected_alpn_protocol() == "h2"
            conn.sendall(b"stdlib\n")
            assert stdlib_read_all(conn) == b"STDLIB\n"  # ends in our close_notify
        finally:
            conn.close()
        record = srv.wait()[0]
    assert record.error is None and record.alpn is NextProtocol.H2


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_stdlib_client_certificate_and_resumption(pki, version):
    context = _peers.stdlib_client_context(ca=pki.ca, cert=pki.client, tls=version)
    with served_server(pki, trust_store=trust_of(pki.ca)) as srv:
        conn = stdlib_client(srv.address, context)
        try:
            conn.sendall(b"one\n")
            assert stdlib_read_all(conn) == b"ONE\n"
            session = conn.session if hasattr(conn, "session") else None
        finally:
            conn.close()
        if session is not None:  # SSLSocket.session: Python 3.6+
            raw = socket.create_connection(srv.address, timeout=10)
            conn = context.wrap_socket(raw, server_hostname="localhost", session=session,
                                       suppress_ragged_eofs=False)
            try:
                assert conn.session_reused
                conn.sendall(b"two\n")
                assert stdlib_read_all(conn) == b"TWO\n"
            finally:
                conn.close()
        records = srv.wait(2 if session is not None else 1)
    assert all(r.error is None for r in records), records
    assert subject_cn(records[0].peer_cert) == "nativetls test client"
    if session is not None:
        assert records[1].reused is True


def test_stdlib_client_sni_callback_sees_its_name(pki, names):
    seen = []

    def callback(buffer, server_name, configuration):
        seen.append(server_name)
        return configuration

    context = _peers.stdlib_client_context(ca=pki.ca)
    with served_server(pki, certificate_chain=[chain_of(names.a), chain_of(names.b)],
                       sni_callback=callback) as srv:
        conn = stdlib_client(srv.address, context, server_hostname="b.example")
        try:
            assert dict(x[0] for x in conn.getpeercert()["subject"])["commonName"] == "b.example"
            conn.sendall(b"x\n")
            stdlib_read_all(conn)
        finally:
            conn.close()
        srv.wait()
    assert seen == ["b.example"]


# --- the nativetls client over sockets -----------------------------------------------------------------------------

@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_nativetls_client_over_sockets(pki, version):
    client = client_context(pki, **pinned(version))
    with served_server(pki, handler=echo) as srv:
        with nativetls_connect(srv.address, client) as tls:
            assert tls.negotiated_tls_version is NATIVE_VERSION[version]
            tls.sendall(b"x" * 100000)
            received = b""
            while len(received) < 100000:
                received += tls.recv(65536)
            assert received == b"x" * 100000
            tls.unwrap().close()  # both close_notify: the server's echo loop ends with b""
        record = srv.wait()[0]
    assert record.error is None and not record.ragged and record.done
    assert record.version is NATIVE_VERSION[version]


def test_nativetls_client_reads_our_close_notify(pki):
    client = client_context(pki)
    with served_server(pki) as srv:
        with nativetls_connect(srv.address, client) as tls:
            tls.sendall(b"abc\n")
            assert tls.recv(100) == b"ABC\n"
            assert tls.recv(100) == b""  # close_notify, not RaggedEOF
        srv.wait()


@pytest.mark.needs("tls1_3")  # TLS 1.3 by name
def test_pep748_listening_socket(pki):
    """ServerContext.connect((host, port)) listens; accept() yields handshaken TLSSockets."""
    server = nativetls.ServerContext(nativetls.TLSServerConfiguration(certificate_chain=chain_of(pki.server)))
    listener = server.connect((HOST, 0))
    result = {}

    def serve():
        try:
            conn, address = listener.accept()
            with conn:
                result["version"] = conn.negotiated_tls_version
                conn.sendall(conn.recv(100).upper())
        except Exception as exc:  # reported below
            result["error"] = exc

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        client = nativetls.ClientContext(nativetls.TLSClientConfiguration(trust_store=trust_of(pki.ca)))
        with client.connect(listener.getsockname()) as tls:  # checked against "127.0.0.1" (an IP SAN)
            tls.sendall(b"pep 748")
            assert tls.recv(100) == b"PEP 748"
            assert tls.recv(100) == b""
    finally:
        thread.join(10)
        listener.close()
    assert "error" not in result, result
    assert result["version"] is TLSVersion.TLSv1_3


# --- in memory: SNI and several chains ----------------------------------------------------------------------------

def handshake_outcome(client, server, rounds=20):
    """Drive both handshakes over the in-memory wire; returns ``(client_error, server_error)`` (None: done)."""
    done, errors = set(), {}
    for _ in range(rounds):
        for name, side in (("client", client), ("server", server)):
            if name in done or name in errors:
                continue
            try:
                side.do_handshake()
                done.add(name)
            except WantReadError:
                pass
            except TLSError as exc:
                errors[name] = exc
        moved = pump(client, server)
        if len(done) + len(errors) == 2 and not moved:
            break
    else:
        raise AssertionError("the handshakes did not end in %d rounds" % rounds)
    return errors.get("client"), errors.get("server")


def connect_in_memory(client, server, server_hostname="localhost", **kwargs):
    c, s = client.wrap_buffers(server_hostname, **kwargs), server.wrap_buffers()
    handshake(c, s)
    return c, s


def leaf_der(buffer):
    return buffer.getpeercert(binary_form=True)


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_several_chains_selected_by_sni_in_memory(pki, names, version):
    server = server_context(pki, certificate_chain=[chain_of(names.a), chain_of(names.b), chain_of(names.idn)])
    client = client_context(pki, **pinned(version))
    for hostname, credential in (("a.example", names.a), ("b.example", names.b), ("B.Example", names.b),
                                 (IDN_A_LABEL, names.idn), (IDN_U_LABEL, names.idn)):
        c, s = connect_in_memory(client, server, hostname)
        assert leaf_der(c) == credential.cert_der, hostname
        assert c.getpeercertchain() == [credential.cert_der, pki.intermediate.cert_der]
    # No SNI (an IP address is never sent as SNI): the first chain. Checked against its name, a.example.
    c = client.wrap_buffers(None)
    handshake(c, server.wrap_buffers())
    assert leaf_der(c) == names.a.cert_der


def test_ecdsa_leaf_gets_ecdsa_suite_at_tls12(pki, names):
    server = server_context(pki, certificate_chain=[chain_of(names.a), chain_of(names.b)])
    client = client_context(pki, **pinned("1.2"))
    c, s = connect_in_memory(client, server, "b.example")
    assert "ECDSA" in c.cipher().name and "ECDHE" in c.cipher().name
    c, s = connect_in_memory(client, server, "a.example")
    assert "_RSA_" in c.cipher().name and "ECDHE" in c.cipher().name


@pytest.mark.parametrize("password", [b"nativetls", "nativetls", lambda: b"nativetls"], ids=["bytes", "str",
                                                                                               "callable"])
def test_pep543_tuple_chain_with_encrypted_key(pki, password):
    path = pki.server.encrypted_key_path(b"nativetls")
    key = nativetls.PrivateKey.from_file(path, password=password)
    leaf = nativetls.Certificate.from_buffer(pki.server.cert_pem)
    intermediate = nativetls.Certificate.from_buffer(pki.intermediate.cert_pem)
    server = server_context(pki, certificate_chain=((leaf, intermediate), key))
    c, s = connect_in_memory(client_context(pki), server)
    assert c.getpeercertchain() == [pki.server.cert_der, pki.intermediate.cert_der]


def test_encrypted_traditional_key_from_pem_files_served_to_s_client(pki, names):
    key_path = names.b.encrypted_key_path("s3cret", traditional=True)
    chain = SigningChain.from_pem_files(names.b.fullchain_path, key_path, password="s3cret")
    with served_server(pki, certificate_chain=chain) as srv:
        ok(s_client(srv, pki, ["-servername", "b.example", "-verify_hostname", "b.example"]))
        srv.wait()


def test_wrong_key_password_is_refused(pki):
    path = pki.server.encrypted_key_path(b"nativetls")
    with pytest.raises((TLSError, ValueError)):
        key = nativetls.PrivateKey.from_file(path, password=b"wrong")
        server_context(pki, certificate_chain=SigningChain((nativetls.Certificate.from_buffer(pki.server.cert_pem),
                                                            key)))


# --- sni_callback ---------------------------------------------------------------------------------------------------

class Recorder(object):
    """An sni_callback recording its arguments and returning ``choose(server_name, configuration)``."""

    def __init__(self, choose=lambda name, configuration: configuration):
        self.calls = []
        self.choose = choose

    def __call__(self, buffer, server_name, configuration):
        self.calls.append((buffer, server_name, configuration))
        return self.choose(server_name, configuration)


def test_sni_callback_arguments(pki):
    recorder = Recorder()
    server = server_context(pki, sni_callback=recorder)
    c = client_context(pki).wrap_buffers("localhost")
    s = server.wrap_buffers()
    handshake(c, s)
    assert len(recorder.calls) == 1
    buffer, name, configuration = recorder.calls[0]
    assert buffer is s
    assert name == "localhost" and isinstance(name, type(""))
    assert configuration is server.configuration


def test_sni_callback_gets_idna_decoded_name(pki, names):
    recorder = Recorder()
    server = server_context(pki, certificate_chain=chain_of(names.idn), sni_callback=recorder)
    connect_in_memory(client_context(pki), server, IDN_A_LABEL)
    connect_in_memory(client_context(pki), server, IDN_U_LABEL)
    assert [call[1] for call in recorder.calls] == [IDN_U_LABEL, IDN_U_LABEL]
    assert all(isinstance(call[1], type("")) for call in recorder.calls)


def test_sni_callback_gets_none_without_sni(pki):
    recorder = Recorder()
    server = server_context(pki, sni_callback=recorder)
    c, s = connect_in_memory(client_context(pki), server, "127.0.0.1")  # pki.server has the IP in its SAN
    assert [call[1] for call in recorder.calls] == [None]


def test_sni_callback_over_sockets_with_openssl_names(pki, names):
    recorder = Recorder()
    with served_server(pki, sni_callback=recorder) as srv:
        ok(s_client(srv, pki, ["-servername", IDN_A_LABEL]))
        ok(s_client(srv, pki, ["-noservername"]))
        srv.wait(2)
    assert [call[1] for call in recorder.calls] == [IDN_U_LABEL, None]


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_sni_callback_switches_chain(pki, names, version):
    other = TLSConfiguration(certificate_chain=chain_of(names.b))

    def choose(name, configuration):
        return other if name == "b.example" else configuration

    server = server_context(pki, sni_callback=Recorder(choose))
    client = client_context(pki, **pinned(version))
    c, s = connect_in_memory(client, server, "b.example")
    assert leaf_der(c) == names.b.cert_der
    c, s = connect_in_memory(client, server, "localhost")
    assert leaf_der(c) == pki.server.cert_der


def test_sni_callback_returned_configuration_can_hold_several_chains(pki, names):
    other = TLSConfiguration(certificate_chain=[chain_of(names.a), chain_of(names.b)])
    server = server_context(pki, sni_callback=Recorder(lambda name, configuration: other))
    for hostname, credential in (("a.example", names.a), ("b.example", names.b)):
        c, s = connect_in_memory(client_context(pki), server, hostname)
        assert leaf_der(c) == credential.cert_der


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_sni_callback_switches_alpn(pki, names, version):
    h2_first = TLSConfiguration(certificate_chain=chain_of(names.a),
                                inner_protocols=[NextProtocol.H2, NextProtocol.HTTP1])

    def choose(name, configuration):
        return h2_first if name == "a.example" else configuration

    server = server_context(pki, inner_protocols=[NextProtocol.HTTP1, NextProtocol.H2],
                            sni_callback=Recorder(choose))
    client = client_context(pki, inner_protocols=[NextProtocol.H2, NextProtocol.HTTP1], **pinned(version))
    c, s = connect_in_memory(client, server, "localhost")
    assert c.negotiated_protocol() is NextProtocol.HTTP1 and s.negotiated_protocol() is NextProtocol.HTTP1
    c, s = connect_in_memory(client, server, "a.example")  # another configuration: the server prefers h2
    assert c.negotiated_protocol() is NextProtocol.H2 and s.negotiated_protocol() is NextProtocol.H2
    # A configuration without ALPN: none negotiated.
    plain = TLSConfiguration(certificate_chain=chain_of(names.b))
    server = server_context(pki, inner_protocols=[NextProtocol.H2],
                            sni_callback=Recorder(lambda name, configuration: plain))
    c, s = connect_in_memory(client, server, "b.example")
    assert c.negotiated_protocol() is None and s.negotiated_protocol() is None


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_sni_callback_switches_client_authentication(pki, names, version):
    strict = TLSConfiguration(certificate_chain=chain_of(names.a), trust_store=trust_of(pki.ca))

    def choose(name, configuration):
        return strict if name == "a.example" else configuration

    server = server_context(pki, sni_callback=Recorder(choose))
    anonymous = client_context(pki, **pinned(version))
    with_cert = client_context(pki, certificate_chain=chain_of(pki.client), **pinned(version))
    # localhost: no client authentication
    c, s = connect_in_memory(anonymous, server, "localhost")
    assert s.getpeercert() is None
    # a.example: a client certificate is required and verified
    c, s = connect_in_memory(with_cert, server, "a.example")
    assert subject_cn(s.getpeercert()) == "nativetls test client"
    assert s.getpeercertchain() == [pki.client.cert_der, pki.intermediate.cert_der]
    c, s = anonymous.wrap_buffers("a.example"), server.wrap_buffers()
    client_error, server_error = handshake_outcome(c, s)
    assert isinstance(server_error, TLSError)
    if client_error is None:  # TLS 1.3: the client learns it on its first read
        assert version == "1.3"
        with pytest.raises(TLSError) as info:
            c.read(100)
        assert not isinstance(info.value, WantReadError)


class Boom(Exception):
    pass


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_sni_callback_raising_aborts_the_handshake(pki, version):
    boom = Boom("no configuration for you")

    def callback(buffer, server_name, configuration):
        raise boom

    server = server_context(pki, sni_callback=callback)
    c, s = client_context(pki, **pinned(version)).wrap_buffers("localhost"), server.wrap_buffers()
    client_error, server_error = handshake_outcome(c, s)
    assert isinstance(server_error, TLSError)
    assert server_error.__cause__ is boom
    assert "no configuration for you" in str(server_error)
    assert isinstance(client_error, TLSError) and not isinstance(client_error, WantReadError)
    assert "alert" in str(client_error).lower()


@pytest.mark.parametrize("returned", [None, "banana", {"certificate_chain": None}])
def test_sni_callback_returning_a_non_configuration(pki, returned):
    server = server_context(pki, sni_callback=lambda buffer, name, configuration: returned)
    c, s = client_context(pki).wrap_buffers("localhost"), server.wrap_buffers()
    client_error, server_error = handshake_outcome(c, s)
    assert isinstance(server_error, TLSError)
    assert isinstance(server_error.__cause__, TypeError)
    assert isinstance(client_error, TLSError)


def test_sni_callback_returning_a_configuration_without_chain(pki):
    bare = TLSConfiguration()
    server = server_context(pki, sni_callback=lambda buffer, name, configuration: bare)
    c, s = client_context(pki).wrap_buffers("localhost"), server.wrap_buffers()
    client_error, server_error = handshake_outcome(c, s)
    assert isinstance(server_error, TLSError) and server_error.__cause__ is not None
    assert isinstance(client_error, TLSError)


def test_sni_callback_raising_over_sockets(pki):
    def callback(buffer, server_name, configuration):
        raise Boom("over sockets")

    with served_server(pki, sni_callback=callback) as srv:
        with pytest.raises(TLSError):
            nativetls_connect(srv.address, client_context(pki))
        out = failed(s_client(srv, pki))
        records = srv.wait(2)
    assert "alert internal error" in out.lower()
    for record in records:
        assert isinstance(record.error, TLSError) and isinstance(record.error.__cause__, Boom)


# --- client authentication --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_client_auth_good_certificate_over_sockets(pki, version):
    client = client_context(pki, certificate_chain=chain_of(pki.client), **pinned(version))
    with served_server(pki, trust_store=trust_of(pki.ca)) as srv:
        with nativetls_connect(srv.address, client) as tls:
            tls.sendall(b"mtls\n")
            assert tls.recv(100) == b"MTLS\n"
        record = srv.wait()[0]
    assert record.error is None
    assert subject_cn(record.peer_cert) == "nativetls test client"
    assert record.peer_chain == [pki.client.cert_der, pki.intermediate.cert_der]


def test_client_auth_trusting_the_intermediate_only(pki):
    # X509_V_FLAG_PARTIAL_CHAIN: a trusted intermediate anchors the client's chain.
    server = server_context(pki, trust_store=trust_of(pki.intermediate))
    c, s = connect_in_memory(client_context(pki, certificate_chain=chain_of(pki.client)), server)
    assert s.getpeercert(binary_form=True) == pki.client.cert_der


def test_client_auth_missing_certificate_tls12(pki):
    server = server_context(pki, trust_store=trust_of(pki.ca))
    c, s = client_context(pki, **pinned("1.2")).wrap_buffers("localhost"), server.wrap_buffers()
    client_error, server_error = handshake_outcome(c, s)
    assert isinstance(server_error, TLSError) and not isinstance(server_error, WantReadError)
    assert "certificate" in str(server_error).lower()
    assert isinstance(client_error, TLSError) and not isinstance(client_error, WantReadError)


@pytest.mark.needs("tls1_3")  # TLS 1.3 by name
def test_client_auth_missing_certificate_tls13_client_learns_at_first_read(pki):
    server = server_context(pki, trust_store=trust_of(pki.ca))
    c, s = client_context(pki, **pinned("1.3")).wrap_buffers("localhost"), server.wrap_buffers()
    with pytest.raises(WantReadError):
        c.do_handshake()  # ClientHello
    pump(c, s)
    with pytest.raises(WantReadError):
        s.do_handshake()  # ServerHello ... CertificateRequest ... Finished
    pump(c, s)
    c.do_handshake()  # TLS 1.3: the client is done once it sent its (empty) Certificate and Finished
    assert c.negotiated_tls_version is TLSVersion.TLSv1_3
    pump(c, s)
    with pytest.raises(TLSError) as server_info:
        s.do_handshake()
    assert not isinstance(server_info.value, WantReadError)
    assert "certificate" in str(server_info.value).lower()
    pump(c, s)  # the server's alert
    with pytest.raises(TLSError) as client_info:
        c.read(100)
    assert not isinstance(client_info.value, (WantReadError, RaggedEOF))
    assert "alert" in str(client_info.value).lower()


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_client_auth_missing_certificate_over_sockets(pki, version):
    client = client_context(pki, **pinned(version))
    with served_server(pki, trust_store=trust_of(pki.ca)) as srv:
        with pytest.raises(TLSError) as info:
            tls = nativetls_connect(srv.address, client)  # TLS 1.2 fails here
            try:
                tls.sendall(b"hello\n")
                tls.recv(100)  # TLS 1.3 fails here
            finally:
                tls.close()
        record = srv.wait()[0]
    assert not isinstance(info.value, RaggedEOF)
    assert isinstance(record.error, TLSError)


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_client_auth_untrusted_client_certificate(pki, names, version):
    server = server_context(pki, trust_store=trust_of(pki.ca))
    client = client_context(pki, certificate_chain=chain_of(names.client_untrusted), **pinned(version))
    c, s = client.wrap_buffers("localhost"), server.wrap_buffers()
    client_error, server_error = handshake_outcome(c, s)
    assert isinstance(server_error, CertificateVerificationError), server_error
    assert server_error.reason in ("untrusted_root", "self_signed")
    if client_error is None:
        assert version == "1.3"
        with pytest.raises(TLSError):
            c.read(100)
    else:
        assert not isinstance(client_error, CertificateVerificationError)


def test_client_auth_server_only_certificate_is_refused(pki):
    # pki.server's extendedKeyUsage is serverAuth only: not valid for client authentication.
    server = server_context(pki, trust_store=trust_of(pki.ca))
    client = client_context(pki, certificate_chain=chain_of(pki.server), **pinned("1.2"))
    client_error, server_error = handshake_outcome(client.wrap_buffers("localhost"), server.wrap_buffers())
    assert isinstance(server_error, CertificateVerificationError)
    assert server_error.reason == "invalid_purpose"


# --- ALPN -------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("server_protocols,client_protocols,expected", [
    ([NextProtocol.H2, NextProtocol.HTTP1], [NextProtocol.HTTP1, NextProtocol.H2], NextProtocol.H2),
    ([NextProtocol.HTTP1, NextProtocol.H2], [NextProtocol.H2, NextProtocol.HTTP1], NextProtocol.HTTP1),
    ([b"custom/1", NextProtocol.HTTP1], [NextProtocol.HTTP1, b"custom/1"], b"custom/1"),
    ([NextProtocol.H2], [NextProtocol.HTTP1], None),  # no overlap: no ALPN, no failure
    ([NextProtocol.H2], None, None),  # the client offers none
    (None, [NextProtocol.H2], None),  # the server has none
])
@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_alpn_selection(pki, version, server_protocols, client_protocols, expected):
    server = server_context(pki, inner_protocols=server_protocols)
    client = client_context(pki, inner_protocols=client_protocols, **pinned(version))
    c, s = connect_in_memory(client, server)
    assert c.negotiated_protocol() == expected and s.negotiated_protocol() == expected
    c.write(b"still works")
    pump(c, s)
    assert drive_read(s, c) == b"still works"


# --- session resumption ---------------------------------------------------------------------------------------------

def session_after_data(c, s):
    """Exchange application data (which carries TLS 1.3 tickets to the client), then return c.session."""
    s.write(b"ticket carrier")
    pump(c, s)
    assert drive_read(c, s) == b"ticket carrier"
    session = c.session
    assert session is not None
    return session


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_resumption_in_memory(pki, version):
    server = server_context(pki)
    client = client_context(pki, **pinned(version))
    c, s = connect_in_memory(client, server)
    assert not c.session_reused and not s.session_reused
    session = session_after_data(c, s)
    c2, s2 = connect_in_memory(client, server, session=session)
    assert c2.session_reused and s2.session_reused
    assert c2.negotiated_tls_version is NATIVE_VERSION[version]
    # A resumed TLS 1.2 session sends no certificates; the client still knows the server's from the session.
    c2.write(b"resumed")
    pump(c2, s2)
    assert drive_read(s2, c2) == b"resumed"


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_resumption_over_sockets(pki, version):
    client = client_context(pki, **pinned(version))
    with served_server(pki) as srv:
        with nativetls_connect(srv.address, client) as tls:
            tls.sendall(b"first\n")
            assert tls.recv(100) == b"FIRST\n"
            assert tls.recv(100) == b""
            session = tls.session
            assert not tls.session_reused
        assert session is not None
        with nativetls_connect(srv.address, client, session=session) as tls:
            assert tls.session_reused
            tls.sendall(b"second\n")
            assert tls.recv(100) == b"SECOND\n"
        records = srv.wait(2)
    assert [r.reused for r in records] == [False, True]


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_resumption_with_client_certificate(pki, version):
    server = server_context(pki, trust_store=trust_of(pki.ca))
    client = client_context(pki, certificate_chain=chain_of(pki.client), **pinned(version))
    c, s = connect_in_memory(client, server)
    session = session_after_data(c, s)
    c2, s2 = connect_in_memory(client, server, session=session)
    assert c2.session_reused and s2.session_reused
    assert s2.getpeercert(binary_form=True) == pki.client.cert_der  # the client's identity survives resumption


@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_ticket_keys_are_private_to_each_server_context(pki, version):
    configuration = TLSConfiguration(certificate_chain=chain_of(pki.server))
    first, second = nativetls.ServerContext(configuration), nativetls.ServerContext(configuration)
    client = client_context(pki, **pinned(version))
    c, s = connect_in_memory(client, first)
    session = session_after_data(c, s)
    c2, s2 = connect_in_memory(client, second, session=session)  # a full handshake, which still succeeds
    assert not c2.session_reused and not s2.session_reused
    assert c2.getpeercert(binary_form=True) == pki.server.cert_der
    c3, s3 = connect_in_memory(client, first, session=session)  # and the first context still resumes it
    assert c3.session_reused and s3.session_reused


@pytest.mark.skipif(nativetls.backend().name != "openssl", reason="TICKET_KEY_LIFETIME is the OpenSSL backend's")
@pytest.mark.parametrize("version", TLS_VERSIONS)
def test_rotated_ticket_keys_mean_a_full_handshake(pki, version):
    server = server_context(pki)
    client = client_context(pki, **pinned(version))
    c, s = connect_in_memory(client, server)
    session = session_after_data(c, s)
    server.TICKET_KEY_LIFETIME = 0  # every new connection now installs fresh keys
    c2, s2 = connect_in_memory(client, server, session=session)
    assert not c2.session_reused and not s2.session_reused


def test_resumption_with_several_chains_and_sni_callback(pki, names):
    server = server_context(pki, certificate_chain=[chain_of(names.a), chain_of(names.b)],
                            sni_callback=Recorder())
    for version in ("1.2", "1.3") if "tls1_3" in nativetls.backend().features else ("1.2",):
        client = client_context(pki, **pinned(version))
        c, s = connect_in_memory(client, server, "b.example")
        session = session_after_data(c, s)
        c2, s2 = connect_in_memory(client, server, "b.example", session=session)
        assert c2.session_reused and s2.session_reused, version


# --- bad input --------------------------------------------------------------------------------------------------------

def raw_client_hello(record_version, client_version, extensions=b"", ciphers=(0x002F, 0x0035, 0x000A)):
    """A minimal ClientHello record: no session id, the given suites, null compression."""
    suites = b"".join(struct.pack("!H", c) for c in ciphers)
    body = (struct.pack("!H", client_version) + os.urandom(32) + b"\x00" + struct.pack("!H", len(suites)) + suites
            + b"\x01\x00")
    if extensions:
        body += struct.pack("!H", len(extensions)) + extensions
    handshake_message = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16" + struct.pack("!HH", record_version, len(handshake_message)) + handshake_message


def send_raw(address, data, read=True):
    """Send *data* on a plain socket; returns what the server answered before closing (b"" if nothing)."""
    sock = socket.create_connection(address, timeout=10)
    try:
        try:
            sock.sendall(data)
        except (socket.error, OSError):  # the server may close before taking it all
            pass
        answer = b""
        while read:
            try:
                chunk = sock.recv(65536)
            except (socket.error, OSError):
                break
            if not chunk:
                break
            answer += chunk
        return answer
    finally:
        sock.close()


def is_alert(answer, description=None):
    """Whether *answer* starts with a TLS alert record (and, if given, that alert)."""
    if len(answer) < 7 or answer[0:1] != b"\x15":
        return False
    return description is None or bytearray(answer)[6] == description


PROTOCOL_VERSION_ALERT = 70


def test_garbage_from_a_client(pki):
    with served_server(pki) as srv:
        answer = send_raw(srv.address, b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        send_raw(srv.address, b"\xde\xad\xbe\xef" * 750)
        records = srv.wait(2)
    for record in records:
        assert isinstance(record.error, TLSError), record
    assert "http request" in str(records[0].error)  # OpenSSL recognises a plain HTTP request
    assert "does not speak TLS" in str(records[1].error) or "wrong version" in str(records[1].error) \
        or "record" in str(records[1].error), records[1].error
    assert not answer.startswith(b"HTTP")


@pytest.mark.parametrize("record_version,client_version", [(0x0300, 0x0300), (0x0301, 0x0301), (0x0301, 0x0302)],
                         ids=["sslv3", "tls1.0", "tls1.1"])
def test_old_client_hello_is_refused(pki, record_version, client_version):
    with served_server(pki) as srv:
        answer = send_raw(srv.address, raw_client_hello(record_version, client_version))
        record = srv.wait()[0]
    assert isinstance(record.error, TLSError), record
    assert "unsupported protocol" in str(record.error).lower() or "version" in str(record.error).lower()
    # TLS 1.0/1.1: a protocol_version alert; SSLv3 (in an SSLv3 record): OpenSSL sends handshake_failure.
    assert is_alert(answer, PROTOCOL_VERSION_ALERT if client_version > 0x0300 else None), answer[:16]


def test_sslv2_compatible_client_hello_is_refused(pki):
    # An SSLv2-framed ClientHello (as very old clients sent) offering SSLv3/TLS 1.0 suites.
    suites = b"\x00\x00\x2f\x00\x00\x0a"
    challenge = os.urandom(16)
    body = b"\x01\x03\x01" + struct.pack("!HHH", len(suites), 0, len(challenge)) + suites + challenge
    hello = struct.pack("!H", 0x8000 | len(body)) + body
    with served_server(pki) as srv:
        send_raw(srv.address, hello)
        record = srv.wait()[0]
    assert isinstance(record.error, TLSError), record


def test_oversized_record_is_refused(pki):
    # A handshake record header claiming 65535 bytes (the limit is 16384 + 2048), followed by 100 KB of junk.
    with served_server(pki) as srv:
        send_raw(srv.address, b"\x16\x03\x01\xff\xff" + os.urandom(100 * 1024))
        record = srv.wait()[0]
    assert isinstance(record.error, TLSError), record
    assert not isinstance(record.error, socket.timeout)


def _handshake_records(message):
    """*message* framed as TLS handshake records of at most 16 KiB each."""
    return b"".join(b"\x16\x03\x01" + struct.pack("!H", len(message[offset:offset + 16384]))
                    + message[offset:offset + 16384] for offset in range(0, len(message), 16384))


def test_oversized_client_hello_is_refused(pki):
    # A ClientHello message claiming 16 MB, sent as valid 16 KB records: refused on its header, without waiting.
    length = 0xFFFFFF
    message = b"\x01" + struct.pack("!I", length)[1:] + os.urandom(100 * 1024)
    data = _handshake_records(message)
    with served_server(pki) as srv:
        send_raw(srv.address, data)
        record = srv.wait()[0]
    assert isinstance(record.error, TLSError), record
    assert "excessive" in str(record.error).lower() or "too long" in str(record.error).lower(), record.error


def test_100kb_junk_client_hello_is_refused(pki):
    # A framed ClientHello whose 100 KB body is junk (within OpenSSL's size limit for the message): a parse error.
    body = os.urandom(100 * 1024)
    message = b"\x01" + struct.pack("!I", len(body))[1:] + body
    data = _handshake_records(message)
    with served_server(pki) as srv:
        send_raw(srv.address, data)
        record = srv.wait()[0]
    assert isinstance(record.error, TLSError), record


def test_stalled_client_hits_the_server_timeout(pki):
    """A client that stops mid-handshake: the server's socket timeout (1 s) ends the connection; no thread stays."""
    srv = served_server(pki, timeout=1.0)
    try:
        # 1: half a ClientHello record, then nothing.
        half = socket.create_connection(srv.address, timeout=10)
        half.sendall(raw_client_hello(0x0301, 0x0303)[:20])
        # 2: a real ClientHello from nativetls, then no answer to the server's flight.
        c = client_context(pki).wrap_buffers("localhost")
        with pytest.raises(WantReadError):
            c.do_handshake()
        stalled = socket.create_connection(srv.address, timeout=10)
        stalled.sendall(c.process_outgoing())
        records = srv.wait(2, timeout=30)
        half.close()
        stalled.close()
    finally:
        srv.stop()
    assert srv.stuck == []
    for record in records:
        assert isinstance(record.error, socket.timeout), record


def open_fds():
    gc.collect()  # sockets dropped without close() would otherwise still count
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd (Linux)")
def test_200_dropped_connections(pki):
    context = server_context(pki)
    before = open_fds()
    with NativeServer(context, handler=reply_once) as srv:
        hello = raw_client_hello(0x0301, 0x0303)
        for index in range(200):
            sock = socket.create_connection(srv.address, timeout=10)
            if index % 2:
                sock.sendall(hello[:index % len(hello)])  # a partial ClientHello before dropping
            sock.close()
        records = srv.wait(200, timeout=60)
        for record in records:
            assert isinstance(record.error, TLSError), record  # "closed during the handshake", never a crash
        # ...and it keeps serving.
        with nativetls_connect(srv.address, client_context(pki)) as tls:
            tls.sendall(b"after\n")
            assert tls.recv(100) == b"AFTER\n"
        assert srv.wait(201)[200].error is None
    assert srv.stuck == []
    after = open_fds()
    assert after <= before + 3, (before, after)


# --- python -m nativetls serve ----------------------------------------------------------------------------------------

LINE = re.compile(r"^127\.0\.0\.1:\d+ (?P<version>TLSv1\.[23]) (?P<cipher>\S+) alpn=(?P<alpn>\S+) sni=(?P<sni>\S+) "
                  r"client=(?P<client>.+)$", re.M)


class ServeProcess(object):
    """``python -m nativetls serve --port 0 ...`` in a subprocess; ``port`` is read from its first line."""

    def __init__(self, args):
        env = dict(os.environ)
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(nativetls.__file__)))
        env["PYTHONPATH"] = os.pathsep.join([package_root] + [p for p in [env.get("PYTHONPATH")] if p])
        env["PYTHONUNBUFFERED"] = "1"
        self.peer = _peers.ProcessPeer([sys.executable, "-m", "nativetls", "serve", "--port", "0"] + list(args),
                                       env=env)
        match = self.peer.wait_for_output(r"listening on 127\.0\.0\.1 port (\d+)", timeout=30)
        if not match:
            self.peer.fail("serve did not start")
        self.port = int(match.group(1))

    def finish(self, timeout=20.0):
        """Wait for the process to exit (after --max-connections); returns (exit code, output)."""
        deadline = time.time() + timeout
        while self.peer.proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        code = self.peer.proc.poll()
        self.peer.stop()
        return code, self.peer.output()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.peer.stop()


HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


@pytest.mark.needs("tls1_3")  # TLS 1.3 by name
def test_cli_serve_with_cert_and_key(pki, names):
    require_tool("openssl")
    with ServeProcess(["--cert", pki.server.fullchain_path, "--key", pki.server.key_path, "--max-connections", "3",
                       "--alpn", "h2", "http/1.1"]) as serve:
        # 1: s_client, TLS 1.2, SNI and ALPN; an HTTP request gets one complete response, then close_notify.
        out = ok(_peers.openssl_s_client(serve.port, ["-ign_eof", "-tls1_2", "-CAfile", pki.ca.cert_path,
                                                      "-verify_return_error", "-servername", "localhost",
                                                      "-alpn", "http/1.1"], input=HTTP_REQUEST))
        assert "HTTP/1.1 200 OK" in out and "nativetls serve: hello" in out
        # 2: curl, TLS 1.3.
        result = curl(serve.port, ["--cacert", pki.ca.cert_path, "--http1.1", "--tlsv1.3"])
        ok(result)
        assert result.stdout == b"nativetls serve: hello\n"
        # 3: s_client without SNI, echo mode (it closes with close_notify when its input ends).
        ok(_peers.openssl_s_client(serve.port, ["-tls1_3", "-noservername", "-CAfile", pki.ca.cert_path,
                                                "-verify_return_error"], input=b"echo me\n"))
        code, output = serve.finish()
    assert code == 0, output
    lines = [m.groupdict() for m in LINE.finditer(output)]
    assert len(lines) == 3, output
    tls12 = [line for line in lines if line["version"] == "TLSv1.2"]
    assert tls12 == [dict(version="TLSv1.2", cipher=tls12[0]["cipher"], alpn="http/1.1", sni="localhost",
                          client="-")], output
    assert "ECDHE" in tls12[0]["cipher"] or "GCM" in tls12[0]["cipher"]
    tls13 = sorted((line["sni"], line["alpn"]) for line in lines if line["version"] == "TLSv1.3")
    assert tls13 == [("-", "-"), ("localhost", "http/1.1")], output


def test_cli_serve_client_ca(pki):
    require_tool("openssl")
    with ServeProcess(["--cert", pki.server.fullchain_path, "--key", pki.server.key_path, "--client-ca",
                       pki.ca.cert_path, "--max-connections", "2"]) as serve:
        ok(_peers.openssl_s_client(serve.port, ["-ign_eof", "-CAfile", pki.ca.cert_path, "-verify_return_error",
                                                "-cert", pki.client.cert_path, "-key", pki.client.key_path,
                                                "-cert_chain", pki.client.chain_path], input=HTTP_REQUEST))
        failed(_peers.openssl_s_client(serve.port, ["-ign_eof", "-CAfile", pki.ca.cert_path], input=HTTP_REQUEST))
        code, output = serve.finish()
    assert code == 0, output
    lines = [m.groupdict() for m in LINE.finditer(output)]
    assert [line["client"] for line in lines] == ["nativetls test client"], output
    assert "failed" in output


def test_cli_serve_throwaway_certificate(tmp_path):
    if not os.path.exists(os.path.join(os.path.dirname(nativetls.__file__), "_throwaway.py")):
        pytest.skip("nativetls._throwaway is not there yet")
    ca_path = str(tmp_path / "throwaway-ca.pem")
    with ServeProcess(["--write-ca", ca_path, "--max-connections", "2"]) as serve:
        result = curl(serve.port, ["--cacert", ca_path, "--http1.1"])
        ok(result)
        assert result.stdout == b"nativetls serve: hello\n"
        with open(ca_path, "rb") as handle:
            ca_pem = handle.read()
        client = nativetls.ClientContext(TLSConfiguration(trust_store=nativetls.TrustStore.from_buffer(ca_pem)))
        with client.connect((HOST, serve.port)) as tls:  # the throwaway leaf names 127.0.0.1 too
            tls.sendall(HTTP_REQUEST)
            response = b""
            while True:
                chunk = tls.recv(65536)
                if not chunk:
                    break
                response += chunk
        assert response.startswith(b"HTTP/1.1 200 OK") and response.endswith(b"nativetls serve: hello\n")
        code, output = serve.finish()
    assert code == 0, output
    assert len(LINE.findall(output)) == 2, output
