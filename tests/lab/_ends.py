"""Uniform handles on the two sans-IO TLS implementations the lab drives byte by byte: nativetls ``TLSBuffer`` and
the stdlib ``ssl.SSLObject`` (Python 3 only; on 2.7 the stdlib end is replaced by a second nativetls end).

An ``End`` has ``step()`` (True once the handshake is done, False when it wants bytes), ``write(data)``,
``drain()`` (every decrypted byte available now, b"" when none), ``outgoing()`` and ``incoming(data)``.
"""
from __future__ import absolute_import, division, print_function

try:
    import ssl
    HAVE_SSLOBJECT = hasattr(ssl, "MemoryBIO")
except ImportError:  # pragma: no cover
    ssl = None
    HAVE_SSLOBJECT = False

import nativetls

__all__ = ["NativeEnd", "StdlibEnd", "HAVE_SSLOBJECT", "stdlib_contexts"]


class _End(object):
    """What both ends share; a subclass sets ``obj`` and the exceptions that mean "no bytes yet"."""

    waiting = ()  # raised by do_handshake()/read() when they want bytes from the peer
    finished = ()  # raised by read() after the peer's close_notify (the stdlib's SSLZeroReturnError)

    def step(self):
        try:
            self.obj.do_handshake()
            return True
        except self.waiting:
            return False

    def write(self, data):
        return self.obj.write(data)

    def drain(self):
        out = []
        while True:
            try:
                data = self.obj.read(65536)
            except self.waiting + self.finished:
                break
            if not data:
                break
            out.append(data)
        return b"".join(out)


class NativeEnd(_End):
    name = "nativetls"
    waiting = (nativetls.WantReadError,)

    def __init__(self, buffer):
        self.obj = buffer

    def outgoing(self):
        return self.obj.process_outgoing()

    def incoming(self, data):
        self.obj.process_incoming(data)


class StdlibEnd(_End):
    name = "stdlib"

    def __init__(self, context, server_side, server_hostname=None):
        self.waiting, self.finished = (ssl.SSLWantReadError,), (ssl.SSLZeroReturnError,)
        self.inbio, self.outbio = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = context.wrap_bio(self.inbio, self.outbio, server_side=server_side, server_hostname=server_hostname)

    def outgoing(self):
        return self.outbio.read()

    def incoming(self, data):
        self.inbio.write(data)


def stdlib_contexts(pki, tls):
    """(client, server) ``ssl.SSLContext`` objects for the session PKI, pinned to ``tls`` ("1.2" or "1.3")."""
    version = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[tls]
    client = ssl.create_default_context(cafile=pki.ca.cert_path)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(pki.server.fullchain_path, pki.server.key_path)
    for ctx in (client, server):
        ctx.minimum_version = ctx.maximum_version = version
    return client, server
