"""Threads: contexts shared by 8 threads handshaking at once, in memory and over sockets, and OpenSSL's per-thread
error queue never leaking a failure of one connection (or thread) into the next operation.

Every worker starts at the same barrier so the handshakes really overlap; any exception in a worker fails the test
with that worker's traceback.
"""
from __future__ import absolute_import, division, print_function

import os
import random
import socket
import threading
import traceback

import pytest

import nativetls
import _peers
from _tls import chain_of, drive_read, handshake, pump, trust_of

THREADS = 8


class Barrier(object):
    """threading.Barrier for Python 2.7 (wait() until *parties* threads have arrived; reusable)."""

    def __init__(self, parties, timeout=60.0):
        self.parties, self.timeout = parties, timeout
        self._cond = threading.Condition()
        self._count = 0
        self._generation = 0

    def wait(self):
        with self._cond:
            generation = self._generation
            self._count += 1
            if self._count == self.parties:
                self._count = 0
                self._generation += 1
                self._cond.notify_all()
                return
            while generation == self._generation:
                self._cond.wait(self.timeout)
                if generation == self._generation:
                    raise RuntimeError("barrier timed out (another worker failed?)")


def run_workers(worker, count=THREADS):
    """Run ``worker(index, barrier)`` in *count* threads; fail with every worker's traceback."""
    barrier = Barrier(count)
    errors = []

    def wrapper(index):
        try:
            worker(index, barrier)
        except BaseException:
            errors.append("worker %d:\n%s" % (index, traceback.format_exc()))

    threads = [threading.Thread(target=wrapper, args=(i,), name="worker-%d" % i) for i in range(count)]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join(180)
    assert not [t for t in threads if t.is_alive()], "workers still running (a hang?)"
    assert not errors, "\n".join(errors)


def transfer(client, server, rng, size=64 * 1024):
    """Send *size* random bytes each way over an established in-memory pair and check them."""
    up, down = os.urandom(size), os.urandom(size // 2)
    client.write(up)
    received = b""
    while len(received) < len(up):
        pump(client, server)
        received += drive_read(server, client)
    assert received == up
    server.write(down)
    received = b""
    while len(received) < len(down):
        pump(client, server)
        received += drive_read(client, server)
    assert received == down


def _error_queue_is_empty():
    """This thread's OpenSSL error queue is empty (True on other backends, which have none)."""
    if nativetls.backend().name != "openssl":
        return True
    from nativetls._openssl._lowlevel import lib
    return lib.ERR_peek_error() == 0


@pytest.fixture(scope="module")
def fast_server(pki):
    """An ECDSA P-256 server credential (quicker handshakes than RSA-2048)."""
    return pki.factory.leaf(pki.intermediate, "localhost", key="p256", name="threads-p256",
                            dns=["localhost"], ips=["127.0.0.1"])


def _client_ctx(pki, **fields):
    return nativetls.ClientContext(nativetls.TLSConfiguration(trust_store=trust_of(pki.ca), **fields))


def _server_ctx(credential, **fields):
    return nativetls.ServerContext(nativetls.TLSConfiguration(certificate_chain=chain_of(credential), **fields))


# --- in memory -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shared", ["client", "server", "both"])
@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_shared_contexts_in_memory(pki, fast_server, shared, version):
    highest = nativetls.TLSVersion.TLSv1_3 if version == "1.3" else nativetls.TLSVersion.TLSv1_2
    shared_client = _client_ctx(pki, highest_supported_version=highest)
    shared_server = _server_ctx(fast_server)

    def worker(index, barrier):
        rng = random.Random(index)
        client_ctx = shared_client if shared in ("client", "both") else _client_ctx(
            pki, highest_supported_version=highest)
        server_ctx = shared_server if shared in ("server", "both") else _server_ctx(fast_server)
        barrier.wait()
        for round_ in range(15):
            client, server = client_ctx.wrap_buffers("localhost"), server_ctx.wrap_buffers()
            handshake(client, server)
            assert client.negotiated_tls_version == highest
            assert client.getpeercert(True) == fast_server.cert_der
            transfer(client, server, rng, size=16 * 1024 if round_ else 256 * 1024)
            client.close()
            server.close()

    run_workers(worker)


# --- over sockets against one threaded stdlib ssl server -------------------------------------------------

def test_shared_client_context_against_stdlib_server(pki):
    context = _client_ctx(pki)
    connections_per_thread = 4
    with _peers.stdlib_server(pki.server) as server:
        def worker(index, barrier):
            barrier.wait()
            for n in range(connections_per_thread):
                payload = os.urandom(32 * 1024 + index * 1000 + n)
                sock = socket.create_connection(server.address, timeout=20)
                try:
                    tls = context.wrap_socket(sock, "localhost")
                    assert tls.getpeercert(True) == pki.server.cert_der
                    tls.sendall(payload)
                    echoed = b""
                    while len(echoed) < len(payload):
                        chunk = tls.recv(65536)
                        assert chunk, "the server closed early"
                        echoed += chunk
                    assert echoed == payload
                    tls.unwrap()
                finally:
                    sock.close()

        run_workers(worker)
        records = server.wait_for_connections(THREADS * connections_per_thread, timeout=60)
    assert [r.error for r in records if r.error is not None] == []
    assert all(r.clean_close for r in records)


# --- the error queue -----------------------------------------------------------------------------------------

BAD = [("expired", "expired"), ("self_signed", "self_signed"), ("untrusted", "untrusted_root"),
       ("wrong_host", "hostname_mismatch")]


def test_failures_do_not_leak_into_other_threads(pki, fast_server):
    """Each round, one thread fails a handshake while the others handshake and transfer; then everybody's next
    operation must succeed, and each failure carries its own reason (not another thread's)."""
    client_ctx = _client_ctx(pki)
    good_server = _server_ctx(fast_server)
    bad_servers = dict((name, _server_ctx(pki[name])) for name, _ in BAD)

    def good_exchange(rng):
        client, server = client_ctx.wrap_buffers("localhost"), good_server.wrap_buffers()
        handshake(client, server)
        transfer(client, server, rng, size=8 * 1024)
        return client, server

    def worker(index, barrier):
        rng = random.Random(index)
        # A connection established before the failures, used again after them.
        old_client, old_server = good_exchange(rng)
        for round_ in range(THREADS * 2):
            barrier.wait()
            if round_ % THREADS == index:
                name, reason = BAD[(round_ + index) % len(BAD)]
                client, server = client_ctx.wrap_buffers("localhost"), bad_servers[name].wrap_buffers()
                with pytest.raises(nativetls.CertificateVerificationError) as info:
                    handshake(client, server)
                assert info.value.reason == reason, str(info.value)
                assert _error_queue_is_empty()
            else:
                good_exchange(rng)
            barrier.wait()
            # Everybody's next operations succeed: a new handshake, and I/O on the old connection.
            good_exchange(rng)
            transfer(old_client, old_server, rng, size=1024)
            assert _error_queue_is_empty()

    run_workers(worker)


def test_failures_in_one_thread_do_not_break_its_next_operations(pki, fast_server):
    """In one thread: bad input, a verification failure and a configuration error, each followed by a good
    handshake; the thread's OpenSSL error queue is empty after each."""
    client_ctx = _client_ctx(pki)
    good_server = _server_ctx(fast_server)
    password_key = pki.server.encrypted_key_path(b"secret")

    def failures():
        client = client_ctx.wrap_buffers("localhost")
        client.process_incoming(b"\x00" * 64)
        yield client.do_handshake
        client, server = client_ctx.wrap_buffers("localhost"), _server_ctx(pki.untrusted).wrap_buffers()
        yield lambda: handshake(client, server)
        chain = nativetls.SigningChain(
            (nativetls.Certificate.from_buffer(pki.server.cert_pem),
             nativetls.PrivateKey.from_file(password_key, password=b"wrong")))
        yield lambda: nativetls.ServerContext(nativetls.TLSConfiguration(certificate_chain=chain))
        server = good_server.wrap_buffers()
        server.process_incoming(b"GET / HTTP/1.1\r\n\r\n")
        yield server.do_handshake

    def worker(index, barrier):
        rng = random.Random(index)
        barrier.wait()
        for _ in range(3):
            for failure in failures():
                with pytest.raises(nativetls.TLSError):
                    failure()
                assert _error_queue_is_empty()
                client, server = client_ctx.wrap_buffers("localhost"), good_server.wrap_buffers()
                handshake(client, server)
                transfer(client, server, rng, size=4096)

    run_workers(worker)
