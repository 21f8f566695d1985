# -*- coding: utf-8 -*-
"""The implementations under test, each written against its own API in tight loops.

Every class has the same methods; each timed method returns the seconds its loop took (setup outside the loop is
not counted). The loops are the same shape for every implementation, and nothing goes through a shared adapter:
an adapter's call overhead would be added to every implementation alike and push all ratios towards 1.

* ``handshakes(n, kind, version, resume)``: n in-memory handshakes (client and server of this implementation,
  joined by an in-memory wire); the client verifies the server's chain (and, where the API allows, its name).
* ``bulk(count, size)``: on one established TLS 1.3 pair, count times: write ``size`` bytes, move the records
  to the peer, read them all back (``read(65536)`` until they are in).
* ``loop(count, size)``: on one established TLS 1.3 pair, count times what event loops and ``wrap_bio`` users do:
  write ``size`` bytes, flush (take the outgoing bytes until there are none, feeding them to the peer), then read
  on the peer until it says "want read" (``read(65536)``).
* ``failing_reads(n)`` / ``empty_flushes(n)``: n times, on an established pair with nothing in flight, a
  ``read()`` that ends in "want read", and taking the outgoing bytes when there are none.
* ``socket_latency(n, address)``: n times connect + handshake + 4-byte ping/pong + close, against the peer.
* ``socket_send(total, address)`` / ``socket_recv(total, address)``: one connection moving ``total`` bytes in 64 KiB
  writes (send) or ``recv(65536)`` calls (recv); the handshake is not timed.
* ``idle_pairs(n)``: n established pairs (TLS 1.3 tickets consumed), kept alive, for the memory row.
"""
from __future__ import absolute_import, division, print_function

import functools
import socket
import struct
import sys
import timeit

timer = timeit.default_timer
VERSIONS = ("1.3", "1.2")
KINDS = ("ecdsa", "rsa")
READ = 65536
NET = 1 << 20  # the most ciphertext one transfer moves (a 64 KiB write is 4 records)


def median(values):
    """The median of *values* (the mean of the middle two for an even count); run.py and the floor scripts use it."""
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2.0


def _connect(address):
    raw = socket.create_connection(address)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return raw


def _bulk_header(op, total):
    return op + struct.pack(">Q", total)


# --- The timed loops, shared: every implementation runs the same code around its own calls ---------------------

def _bulk_loop(write, out, feed, read, count, size):
    """count times: write *size* bytes, move the records (``feed(out())``), read until they are all in."""
    chunk = b"x" * size
    start = timer()
    for _ in range(count):
        write(chunk)
        feed(out())
        got = 0
        while got < size:
            got += len(read(READ))
    return timer() - start


def _flush_read_loop(write, out, feed, read, want_read, count, size):
    """count times: write *size* bytes; ``out()`` until it has nothing (b"" or *want_read*), each piece fed to the
    peer; then ``read(READ)`` on the peer until it raises *want_read*: the loop of every sans-IO integration."""
    chunk = b"x" * size
    start = timer()
    for _ in range(count):
        write(chunk)
        try:
            data = out()
            while data:
                feed(data)
                data = out()
        except want_read:
            pass
        try:
            while True:
                read(READ)
        except want_read:
            pass
    return timer() - start


def _failing_read_loop(read, want_read, n):
    """n times ``read(READ)`` with nothing to read (each raises *want_read*)."""
    start = timer()
    for _ in range(n):
        try:
            read(READ)
        except want_read:
            pass
    return timer() - start


def _empty_flush_loop(out, want_read, n):
    """n times ``out()`` with nothing to send (b"", or *want_read* for pyOpenSSL's ``bio_read``)."""
    start = timer()
    for _ in range(n):
        try:
            out()
        except want_read:
            pass
    return timer() - start


def _handshake_loop(c, s, c_out, s_in, s_out, c_in, want_read):
    """Drive a client/server pair's handshakes over an in-memory wire (``c_out()`` -> ``s_in(data)``, and back)."""
    c_done = s_done = False
    while not (c_done and s_done):
        if not c_done:
            try:
                c.do_handshake()
                c_done = True
            except want_read:
                pass
        data = c_out()
        if data:
            s_in(data)
        if not s_done:
            try:
                s.do_handshake()
                s_done = True
            except want_read:
                pass
        data = s_out()
        if data:
            c_in(data)


def _latency_loop(n, connect, close=None):
    """n times: ``connect()`` (a handshaken connection), 4-byte echo, ``close(conn)`` (default ``conn.close()``)."""
    start = timer()
    for _ in range(n):
        conn = connect()
        conn.sendall(b"ping")
        if conn.recv(64) != b"ping":
            raise AssertionError("bad echo")
        if close is None:
            conn.close()
        else:
            close(conn)
    return timer() - start


def _send_loop(conn, total):
    """Send *total* bytes in 64 KiB ``send`` calls (the handshake is not timed), wait for the acknowledgement."""
    conn.sendall(_bulk_header(b"S", total))
    chunk, sent = b"x" * 65536, 0
    start = timer()
    send = conn.send
    while sent < total:
        sent += send(chunk)
    if conn.recv(1) != b"k":
        raise AssertionError("no acknowledgement")
    elapsed = timer() - start
    conn.close()
    return elapsed


def _recv_loop(conn, total):
    """Receive *total* bytes with ``recv(65536)`` (the handshake is not timed)."""
    conn.sendall(_bulk_header(b"R", total))
    got = 0
    recv = conn.recv
    start = timer()
    while got < total:
        got += len(recv(READ))
    elapsed = timer() - start
    conn.close()
    return elapsed


class _Implementation(object):
    """The rows every implementation runs the same way, given its ``_established()`` (an in-memory pair) and
    ``_connected(address)`` (a handshaken client socket)."""

    def idle_pairs(self, n):
        return [self._established() for _ in range(n)]

    def socket_latency(self, n, address, quiet_close=False):
        """*quiet_close*: close without sending close_notify (``_close_quietly``), as ``SSLSocket.close()`` does."""
        close = self._close_quietly if quiet_close else None
        return _latency_loop(n, functools.partial(self._connected, address), close)

    @staticmethod
    def _close_quietly(conn):
        """Close a connection without close_notify: what ``close()`` already does for ssl and pyOpenSSL."""
        conn.close()

    def socket_send(self, total, address):
        return _send_loop(self._connected(address), total)

    def socket_recv(self, total, address):
        return _recv_loop(self._connected(address), total)


class NativeTLS(_Implementation):
    name = "nativetls"

    def __init__(self, certs):
        import nativetls
        self.mod = nativetls
        from nativetls._socket import TLSSocket
        direct = getattr(TLSSocket, "direct_io", False) and nativetls.backend().name == "openssl"
        self.description = "nativetls %s on %s; TLSSocket %s" % (
            nativetls.__version__, nativetls.backend().native_version,
            "direct I/O (libssl reads and writes the socket)" if direct else "over the sans-IO buffer")
        versions = {"1.3": nativetls.TLSVersion.TLSv1_3, "1.2": nativetls.TLSVersion.TLSv1_2}
        self.client, self.server = {}, {}
        for kind in KINDS:
            trust = nativetls.TrustStore.from_pem_file(certs[kind]["ca"])
            chain = nativetls.SigningChain.from_pem_files(certs[kind]["cert"], certs[kind]["key"])
            for version in VERSIONS:
                v = versions[version]
                self.client[kind, version] = nativetls.ClientContext(nativetls.TLSConfiguration(
                    trust_store=trust, lowest_supported_version=v, highest_supported_version=v))
                self.server[kind, version] = nativetls.ServerContext(nativetls.TLSConfiguration(
                    certificate_chain=chain, lowest_supported_version=v, highest_supported_version=v))
        self.sessions = {}

    def _pair(self, kind, version, session=None):
        c = self.client[kind, version].wrap_buffers("localhost", session=session)
        s = self.server[kind, version].wrap_buffers()
        _handshake_loop(c, s, c.process_outgoing, s.process_incoming, s.process_outgoing, c.process_incoming,
                        self.mod.WantReadError)
        return c, s

    def _established(self, kind="ecdsa", version="1.3"):
        c, s = self._pair(kind, version)
        try:
            c.read(READ)  # takes in the TLS 1.3 session tickets
        except self.mod.WantReadError:
            pass
        return c, s

    def session(self, kind, version):
        if (kind, version) not in self.sessions:
            c, _s = self._established(kind, version)
            self.sessions[kind, version] = c.session
        return self.sessions[kind, version]

    def handshakes(self, n, kind, version, resume):
        session = self.session(kind, version) if resume else None
        pair = self._pair
        start = timer()
        for _ in range(n):
            c, s = pair(kind, version, session)
        elapsed = timer() - start
        if resume and not c.session_reused:
            raise AssertionError("nativetls did not resume")
        return elapsed

    def bulk(self, count, size):
        c, s = self._established()
        return _bulk_loop(c.write, c.process_outgoing, s.process_incoming, s.read, count, size)

    def loop(self, count, size):
        c, s = self._established()
        return _flush_read_loop(c.write, c.process_outgoing, s.process_incoming, s.read, self.mod.WantReadError,
                                count, size)

    def failing_reads(self, n):
        return _failing_read_loop(self._established()[0].read, self.mod.WantReadError, n)

    def empty_flushes(self, n):
        return _empty_flush_loop(self._established()[0].process_outgoing, self.mod.WantReadError, n)

    def _connected(self, address):
        return self.client["ecdsa", "1.3"].wrap_socket(_connect(address), "localhost")

    @staticmethod
    def _close_quietly(conn):
        """``TLSSocket.close()`` sends close_notify (RFC 8446 6.1); ``detach()`` frees the TLS state without it."""
        conn.detach().close()

    def describe(self, kind, version):
        c, _s = self._pair(kind, version)
        return "%s %s" % (c.negotiated_tls_version.value, getattr(c.cipher(), "name", c.cipher()))


class Stdlib(_Implementation):
    name = "ssl"

    def __init__(self, certs):
        import ssl
        self.ssl = ssl
        self.description = "ssl (%s)" % ssl.OPENSSL_VERSION
        self.has_memory = hasattr(ssl, "MemoryBIO")
        self.client, self.server = {}, {}
        for kind in KINDS:
            for version in VERSIONS:
                c = ssl.SSLContext(getattr(ssl, "PROTOCOL_TLS_CLIENT", ssl.PROTOCOL_SSLv23))
                c.verify_mode, c.check_hostname = ssl.CERT_REQUIRED, True  # PROTOCOL_TLS_CLIENT's defaults
                c.load_verify_locations(certs[kind]["ca"])
                s = ssl.SSLContext(getattr(ssl, "PROTOCOL_TLS_SERVER", ssl.PROTOCOL_SSLv23))
                s.load_cert_chain(certs[kind]["cert"], certs[kind]["key"])
                for ctx in (c, s):
                    _limit_stdlib(ssl, ctx, version)
                self.client[kind, version], self.server[kind, version] = c, s
        self.sessions = {}

    def _pair(self, kind, version, session=None):
        ssl = self.ssl
        c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        c = self.client[kind, version].wrap_bio(c_in, c_out, server_hostname="localhost", session=session)
        s = self.server[kind, version].wrap_bio(s_in, s_out, server_side=True)
        _handshake_loop(c, s, c_out.read, s_in.write, s_out.read, c_in.write, ssl.SSLWantReadError)
        return c, s, c_out, s_in

    def _established(self, kind="ecdsa", version="1.3"):
        pair = self._pair(kind, version)
        try:
            pair[0].read(READ)
        except self.ssl.SSLWantReadError:
            pass
        return pair

    def session(self, kind, version):
        if (kind, version) not in self.sessions:
            self.sessions[kind, version] = self._established(kind, version)[0].session
        return self.sessions[kind, version]

    def handshakes(self, n, kind, version, resume):
        session = self.session(kind, version) if resume else None
        pair = self._pair
        start = timer()
        for _ in range(n):
            c = pair(kind, version, session)[0]
        elapsed = timer() - start
        if resume and not c.session_reused:
            raise AssertionError("ssl did not resume")
        return elapsed

    def bulk(self, count, size):
        c, s, c_out, s_in = self._established()
        return _bulk_loop(c.write, c_out.read, s_in.write, s.read, count, size)

    def loop(self, count, size):
        c, s, c_out, s_in = self._established()
        return _flush_read_loop(c.write, c_out.read, s_in.write, s.read, self.ssl.SSLWantReadError, count, size)

    def failing_reads(self, n):
        return _failing_read_loop(self._established()[0].read, self.ssl.SSLWantReadError, n)

    def empty_flushes(self, n):
        return _empty_flush_loop(self._established()[2].read, self.ssl.SSLWantReadError, n)

    def _connected(self, address):
        return self.client["ecdsa", "1.3"].wrap_socket(_connect(address), server_hostname="localhost")

    def describe(self, kind, version):
        c = self._pair(kind, version)[0]
        return "%s %s" % (c.version(), c.cipher()[0])


def _limit_stdlib(ssl, ctx, version):
    if hasattr(ctx, "minimum_version"):
        v = ssl.TLSVersion.TLSv1_3 if version == "1.3" else ssl.TLSVersion.TLSv1_2
        ctx.minimum_version = ctx.maximum_version = v
    else:  # Python 2.7 and 3.6
        ctx.options |= ssl.OP_NO_TLSv1 | ssl.OP_NO_TLSv1_1
        ctx.options |= ssl.OP_NO_TLSv1_2 if version == "1.3" else ssl.OP_NO_TLSv1_3


class PyOpenSSL(_Implementation):
    name = "pyopenssl"

    def __init__(self, certs):
        import OpenSSL
        from OpenSSL import SSL
        self.SSL = SSL
        try:
            from OpenSSL._util import ffi, lib
            self._reused = lambda conn: lib.SSL_session_reused(conn._ssl)
            self._set_host = lambda conn: lib.X509_VERIFY_PARAM_set1_host(lib.SSL_get0_param(conn._ssl),
                                                                          b"localhost", 9)
            version = ffi.string(lib.OpenSSL_version(0)).decode("ascii")
        except Exception:  # pragma: no cover - private API moved: no name check, no resumption check
            self._reused = self._set_host = None
            version = "its own OpenSSL"
        self.description = "pyOpenSSL %s (bundles %s via cryptography)" % (OpenSSL.__version__, version)
        self.client, self.server = {}, {}
        numbers = {"1.3": SSL.TLS1_3_VERSION, "1.2": SSL.TLS1_2_VERSION}
        for kind in KINDS:
            for version in VERSIONS:
                c = SSL.Context(SSL.TLS_METHOD)
                c.load_verify_locations(certs[kind]["ca"].encode("utf-8") if sys.version_info[0] < 3
                                        else certs[kind]["ca"])
                c.set_verify(SSL.VERIFY_PEER, lambda *args: args[-1])
                s = SSL.Context(SSL.TLS_METHOD)
                s.use_certificate_chain_file(certs[kind]["cert"])
                s.use_privatekey_file(certs[kind]["key"])
                for ctx in (c, s):
                    ctx.set_min_proto_version(numbers[version])
                    ctx.set_max_proto_version(numbers[version])
                self.client[kind, version], self.server[kind, version] = c, s
        self.sessions = {}

    def _client(self, ctx, sock=None, session=None):
        conn = self.SSL.Connection(ctx, sock)
        conn.set_tlsext_host_name(b"localhost")
        if self._set_host is not None:
            self._set_host(conn)
        if session is not None:
            conn.set_session(session)
        conn.set_connect_state()
        return conn

    def _pair(self, kind, version, session=None):
        SSL = self.SSL
        c = self._client(self.client[kind, version], session=session)
        s = SSL.Connection(self.server[kind, version], None)
        s.set_accept_state()
        _handshake_loop(c, s, functools.partial(self._take, c), s.bio_write, functools.partial(self._take, s),
                        c.bio_write, SSL.WantReadError)
        return c, s

    def _take(self, conn):
        """What *conn* has to send (its bio_read raises WantReadError when that is nothing)."""
        try:
            return conn.bio_read(NET)
        except self.SSL.WantReadError:
            return b""

    def _established(self, kind="ecdsa", version="1.3"):
        c, s = self._pair(kind, version)
        try:
            c.recv(READ)
        except self.SSL.WantReadError:
            pass
        return c, s

    def session(self, kind, version):
        if (kind, version) not in self.sessions:
            c = self._established(kind, version)[0]
            self.sessions[kind, version] = c.get_session()
            c.set_shutdown(self.SSL.SENT_SHUTDOWN)  # see handshakes()
        return self.sessions[kind, version]

    def handshakes(self, n, kind, version, resume):
        session = self.session(kind, version) if resume else None
        pair = self._pair
        sent = self.SSL.SENT_SHUTDOWN
        start = timer()
        for _ in range(n):
            c, s = pair(kind, version, session)
            if resume:
                # libssl makes a session unresumable when a connection holding it is freed before close_notify;
                # pyOpenSSL shares the SSL_SESSION with the connection, so this is what its users must do.
                c.set_shutdown(sent)
        elapsed = timer() - start
        if resume and self._reused is not None and not self._reused(c):
            raise AssertionError("pyOpenSSL did not resume")
        return elapsed

    def bulk(self, count, size):
        c, s = self._established()  # sendall: send() is partial (16 KiB)
        return _bulk_loop(c.sendall, functools.partial(c.bio_read, NET), s.bio_write, s.recv, count, size)

    def loop(self, count, size):
        c, s = self._established()  # bio_read raises WantReadError when there is nothing to send
        return _flush_read_loop(c.sendall, functools.partial(c.bio_read, NET), s.bio_write, s.recv,
                                self.SSL.WantReadError, count, size)

    def failing_reads(self, n):
        return _failing_read_loop(self._established()[0].recv, self.SSL.WantReadError, n)

    def empty_flushes(self, n):
        return _empty_flush_loop(functools.partial(self._established()[0].bio_read, NET), self.SSL.WantReadError, n)

    def _connected(self, address):
        conn = self._client(self.client["ecdsa", "1.3"], _connect(address))
        conn.do_handshake()
        return conn

    def describe(self, kind, version):
        c, _s = self._pair(kind, version)
        return "%s %s" % (c.get_protocol_version_name(), c.get_cipher_name())


IMPLEMENTATIONS = (NativeTLS, Stdlib, PyOpenSSL)
