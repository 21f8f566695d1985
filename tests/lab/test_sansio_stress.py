"""Sans-IO stress: a nativetls TLSBuffer against the stdlib ``ssl.SSLObject``, bytes moved in random splits.

Property (hypothesis): whatever the split points of the wire, however large the writes, and whether records arrive
one byte at a time, in random pieces or coalesced (several records delivered in one ``process_incoming``), both
handshakes finish and every application byte arrives exactly once, in order, in both directions. After every
delivered piece the receiver is driven (handshake step or read), so partial records are met at every offset.

Both roles are covered (nativetls client + stdlib server, stdlib client + nativetls server), TLS 1.2 and 1.3.
On Python 2.7 (no ``ssl.MemoryBIO``) the stdlib end is replaced by a second nativetls end. More examples:
``NATIVETLS_STRESS_EXAMPLES`` (default 15 per test).
"""
from __future__ import absolute_import, division, print_function

import os

import pytest

import _lab  # noqa: E402

if _lab.IN_CI:  # CI must have it: fail at import rather than skip
    import hypothesis  # noqa: F401
else:
    hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import nativetls  # noqa: E402
from nativetls import TLSVersion  # noqa: E402

import _ends  # noqa: E402
import _tls  # noqa: E402

EXAMPLES = int(os.environ.get("NATIVETLS_STRESS_EXAMPLES", "15"))
VERSIONS = {"1.2": TLSVersion.TLSv1_2, "1.3": TLSVersion.TLSv1_3}
MODES = ("random", "byte", "coalesced")

_LIMITS = dict(max_examples=EXAMPLES, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
               + ([HealthCheck.function_scoped_fixture] if hasattr(HealthCheck, "function_scoped_fixture") else []))


class Wire(object):
    """Moves bytes one way in pieces whose sizes cycle through ``sizes``; drives the receiver after each piece."""

    def __init__(self, sizes):
        self.sizes = sizes
        self.turn = 0

    def pieces(self, data):
        at = 0
        while at < len(data):
            size = self.sizes[self.turn % len(self.sizes)]
            self.turn += 1
            yield data[at:at + size]
            at += size


def _pair(pki, role, tls):
    """(client End, server End) for ``role`` ("native-client" or "native-server")."""
    version = VERSIONS[tls]
    fields = dict(lowest_supported_version=version, highest_supported_version=version)
    if _ends.HAVE_SSLOBJECT:
        std_client, std_server = _ends.stdlib_contexts(pki, tls)
    if role == "native-client":
        client = _ends.NativeEnd(_tls.client_context(pki, **fields).wrap_buffers("localhost"))
        if _ends.HAVE_SSLOBJECT:
            server = _ends.StdlibEnd(std_server, server_side=True)
        else:
            server = _ends.NativeEnd(_tls.server_context(pki, **fields).wrap_buffers())
    else:
        server = _ends.NativeEnd(_tls.server_context(pki, **fields).wrap_buffers())
        if _ends.HAVE_SSLOBJECT:
            client = _ends.StdlibEnd(std_client, server_side=False, server_hostname="localhost")
        else:
            client = _ends.NativeEnd(_tls.client_context(pki, **fields).wrap_buffers("localhost"))
    return client, server


def _handshake(client, server, wires):
    done = set()
    for _ in range(200):
        moved = False
        for end in (client, server):
            if end not in done and end.step():
                done.add(end)
        for src, dst in ((client, server), (server, client)):
            data = src.outgoing()
            for piece in wires[src].pieces(data):
                dst.incoming(piece)
                moved = True
                if dst not in done and dst.step():
                    done.add(dst)
        if len(done) == 2 and not moved:
            return
    raise AssertionError("the handshake did not finish")


def _transfer(src, dst, wire, writes, coalesced):
    """Writes ``writes`` on ``src`` and returns what ``dst`` read (records delivered per ``wire``)."""
    received = []
    if coalesced:  # every record of every write in one delivery
        for chunk in writes:
            src.write(chunk)
        data = src.outgoing()
        if data:  # process_incoming(b"") would mean end of file
            dst.incoming(data)
            received.append(dst.drain())
    else:
        for chunk in writes:
            src.write(chunk)
            for piece in wire.pieces(src.outgoing()):
                dst.incoming(piece)
                received.append(dst.drain())
    # Post-handshake messages (TLS 1.3 tickets) may flow back meanwhile; the reader drains them too.
    back = dst.outgoing()
    if back:
        src.incoming(back)
        assert src.drain() == b""
    return b"".join(received)


def _payloads(sizes, seed):
    """Distinct, position-dependent payloads: a duplicated or reordered byte cannot go unnoticed."""
    out, counter = [], seed
    for size in sizes:
        block = bytearray()
        while len(block) < size:
            block += ("%08x|" % counter).encode("ascii")
            counter += 1
        out.append(bytes(block[:size]))
    return out


@pytest.mark.parametrize("tls", sorted(VERSIONS))
@pytest.mark.parametrize("role", ["native-client", "native-server"])
@pytest.mark.parametrize("mode", MODES)
@settings(**_LIMITS)
@given(splits=st.lists(st.integers(1, 3000), min_size=1, max_size=12),
       writes=st.lists(st.integers(1, 70000), min_size=1, max_size=6),
       back=st.lists(st.integers(1, 20000), min_size=0, max_size=4),
       seed=st.integers(0, 2 ** 24))
def test_bytes_arrive_once_in_order(pki, tls, role, mode, splits, writes, back, seed):
    client, server = _pair(pki, role, tls)
    sizes = [1] if mode == "byte" else splits
    wires = {client: Wire(sizes), server: Wire(sizes)}
    if mode == "byte":  # one byte at a time for the handshake and a small write: larger writes would take minutes
        writes = [min(w, 2048) for w in writes[:2]]
        back = [min(b, 512) for b in back[:1]]
    _handshake(client, server, wires)
    up = _payloads(writes, seed)
    got = _transfer(client, server, wires[client], up, mode == "coalesced")
    assert got == b"".join(up), "client -> server: %d bytes sent, %d received (first difference at %s)" % (
        len(b"".join(up)), len(got), _first_difference(got, b"".join(up)))
    down = _payloads(back, seed + 1)
    got = _transfer(server, client, wires[server], down, mode == "coalesced")
    assert got == b"".join(down)


def _first_difference(a, b):
    for index, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return index
    return min(len(a), len(b))


def test_fatal_alert_after_handshake_is_an_error_not_eof(pki):
    """TLS 1.3: a server that refuses the client's (missing) certificate does so after the client's handshake; the
    client's next read must raise TLSError, never return b"" as if close_notify had come (lab finding)."""
    server = _tls.server_context(pki, trust_store=_tls.trust_of(pki.ca)).wrap_buffers()
    client = _tls.client_context(pki).wrap_buffers("localhost")
    with pytest.raises(nativetls.TLSError):
        _tls.handshake(client, server)
    client.process_incoming(server.process_outgoing())
    with pytest.raises(nativetls.TLSError) as info:
        client.read(100)
    assert "certificate required" in str(info.value)
