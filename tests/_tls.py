"""nativetls-side test helpers: contexts from the session PKI, and an in-memory wire between two TLSBuffers.

    client = client_context(pki)                       # trusts pki.ca, TLS 1.2+
    server = server_context(pki)                       # serves pki.server's chain
    c, s = client.wrap_buffers("localhost"), server.wrap_buffers()
    handshake(c, s)                                    # drives both to completion (raises what they raise)
    c.write(b"x"); pump(c, s); assert s.read() == b"x"

Everything is in memory and deterministic: no sockets, no threads.
"""
from __future__ import absolute_import, division, print_function

import nativetls

__all__ = ["chain_of", "trust_of", "client_context", "server_context", "pump", "handshake", "drive_read",
           "StdlibPeer"]


def chain_of(credential, password=None):
    """A SigningChain (leaf + intermediates) for a _certs.Credential."""
    if password is None:
        key = nativetls.PrivateKey.from_buffer(credential.key_pem)
    else:
        key = nativetls.PrivateKey.from_file(credential.encrypted_key_path(password), password=password)
    intermediates = [nativetls.Certificate.from_buffer(c.cert_pem) for c in credential.intermediates]
    return nativetls.SigningChain((nativetls.Certificate.from_buffer(credential.cert_pem), key), intermediates)


def trust_of(*credentials):
    """A TrustStore holding the given credentials' certificates."""
    return nativetls.TrustStore.from_buffer(b"".join(c.cert_pem for c in credentials))


def client_context(pki, **fields):
    """A ClientContext trusting pki.ca unless ``trust_store`` is given."""
    fields.setdefault("trust_store", trust_of(pki.ca))
    return nativetls.ClientContext(nativetls.TLSConfiguration(**fields))


def server_context(pki, credential=None, **fields):
    """A ServerContext presenting *credential* (default pki.server) unless ``certificate_chain`` is given."""
    fields.setdefault("certificate_chain", chain_of(credential or pki.server))
    return nativetls.ServerContext(nativetls.TLSConfiguration(**fields))


def pump(a, b):
    """Move every pending byte between two buffer-like peers until both are quiet; returns bytes moved."""
    total = 0
    moved = True
    while moved:
        moved = False
        for src, dst in ((a, b), (b, a)):
            data = src.process_outgoing()
            if data:
                dst.process_incoming(data)
                total += len(data)
                moved = True
    return total


def handshake(client, server, rounds=20):
    """Drive both sides' handshakes to completion over the in-memory wire."""
    done = set()
    for _ in range(rounds):
        for side in (client, server):
            if side in done:
                continue
            try:
                side.do_handshake()
                done.add(side)
            except nativetls.WantReadError:
                pass
        moved = pump(client, server)
        if len(done) == 2 and not moved:
            return
    raise AssertionError("the handshake did not finish in %d rounds" % rounds)


def handshake_bytewise(client, server, receive="process_incoming", rounds=100000):
    """Drive both sides' handshakes moving at most one byte each way per round, so that every record arrives in
    every possible split; *receive* names the receiving method (``receive_from_network`` is PEP 543's)."""
    done = set()
    for _ in range(rounds):
        for side in (client, server):
            if side not in done:
                try:
                    side.do_handshake()
                    done.add(side)
                except nativetls.WantReadError:
                    pass
        moved = False
        for src, dst in ((client, server), (server, client)):
            byte = src.process_outgoing(1)
            if byte:
                getattr(dst, receive)(byte)
                moved = True
        if len(done) == 2 and not moved:
            break
    assert len(done) == 2


def drive_read(reader, writer, amt=65536):
    """Read from *reader*, pumping with *writer* until data (or b"") arrives."""
    for _ in range(50):
        try:
            return reader.read(amt)
        except nativetls.WantReadError:
            if not pump(reader, writer):
                raise
    raise AssertionError("no data arrived")


class StdlibPeer(object):
    """A stdlib ``ssl.SSLObject`` over MemoryBIOs, shaped like a TLSBuffer for ``pump``/``handshake`` (py3 only)."""

    def __init__(self, context, server_side, server_hostname=None):
        import ssl
        self._ssl = ssl
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = context.wrap_bio(self.incoming, self.outgoing, server_side=server_side,
                                    server_hostname=server_hostname)

    def process_incoming(self, data):
        if data:
            self.incoming.write(data)
        else:
            self.incoming.write_eof()

    def process_outgoing(self, amt=None):
        return self.outgoing.read() if amt is None else self.outgoing.read(amt)

    def do_handshake(self):
        try:
            self.obj.do_handshake()
        except self._ssl.SSLWantReadError:
            raise nativetls.WantReadError("stdlib wants read")

    def read(self, amt=65536):
        try:
            return self.obj.read(amt)
        except self._ssl.SSLWantReadError:
            raise nativetls.WantReadError("stdlib wants read")

    def write(self, data):
        return self.obj.write(data)

    def shutdown(self):
        try:
            self.obj.unwrap()
        except self._ssl.SSLWantReadError:
            pass
