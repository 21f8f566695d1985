"""Fuzzing: random and mutated TLS records fed to client and server TLSBuffers at every handshake stage.

A real handshake between a nativetls client and a nativetls server runs flight by flight; at the chosen stage the
flight travelling to the target side is mutated (bit flips, truncation, insertion, a wrong record length, random
records of every content type, duplication, or pure noise) before delivery. The target is then driven through
every call a user could make (``do_handshake``, ``read``, ``write``, ``process_outgoing``, ``shutdown``, end of
file, and the same calls again after a failure). The only exceptions allowed out are ``TLSError`` and its
subclasses; anything else fails the test, a crash kills the run, and every loop is bounded so nothing can hang.

Stages: ``0`` the first flight to the target (ClientHello for a server, the ServerHello flight for a client),
``1`` the second (the client's Finished flight / TLS 1.3 tickets or the TLS 1.2 Finished), ``app`` an application
data record after the handshake. TLS 1.2 and 1.3, both sides.

Iterations per (side, stage, version): ``NATIVETLS_FUZZ_ITERATIONS`` (default 40; CI), e.g. 5000 for a long run.
"""
from __future__ import absolute_import, division, print_function

import os
import struct

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

import _tls  # noqa: E402

ITERATIONS = int(os.environ.get("NATIVETLS_FUZZ_ITERATIONS", "40"))
VERSIONS = {"1.2": TLSVersion.TLSv1_2, "1.3": TLSVersion.TLSv1_3}
_LIMITS = dict(max_examples=ITERATIONS, deadline=None, derandomize=not os.environ.get("NATIVETLS_FUZZ_RANDOM"),
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
               + ([HealthCheck.function_scoped_fixture] if hasattr(HealthCheck, "function_scoped_fixture") else []))

_CONTEXTS = {}


def _contexts(pki, tls):
    """(client, server) contexts per version, made once (the fuzzing is about buffers, not contexts)."""
    if tls not in _CONTEXTS:
        fields = dict(lowest_supported_version=VERSIONS[tls], highest_supported_version=VERSIONS[tls])
        _CONTEXTS[tls] = (_tls.client_context(pki, **fields), _tls.server_context(pki, **fields))
    return _CONTEXTS[tls]


# --- mutations ---------------------------------------------------------------------------------------------

def _record(content_type, version, body, length=None):
    return struct.pack("!BHH", content_type, version, len(body) if length is None else length) + body


@st.composite
def mutations(draw):
    """A function bytes -> bytes, drawn from the kinds of damage a network or an attacker can do."""
    kind = draw(st.sampled_from(["flip", "truncate", "insert", "length", "records", "duplicate", "noise",
                                 "splice"]))
    if kind == "flip":
        flips = draw(st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(1, 255)), min_size=1, max_size=8))

        def mutate(data):
            out = bytearray(data)
            for pos, mask in flips:
                if out:
                    out[pos % len(out)] ^= mask
            return bytes(out)
    elif kind == "truncate":
        keep = draw(st.floats(0, 1, allow_nan=False))

        def mutate(data):
            return data[:int(len(data) * keep)]
    elif kind == "insert":
        where, junk = draw(st.floats(0, 1, allow_nan=False)), draw(st.binary(min_size=1, max_size=64))

        def mutate(data):
            at = int(len(data) * where)
            return data[:at] + junk + data[at:]
    elif kind == "length":
        length = draw(st.integers(0, 0xFFFF))

        def mutate(data):
            return data[:3] + struct.pack("!H", length) + data[5:] if len(data) >= 5 else data
    elif kind == "records":
        records = draw(st.lists(st.tuples(st.sampled_from([20, 21, 22, 23, 24, 0, 255]),
                                          st.sampled_from([0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0xFEFD, 0x1234]),
                                          st.binary(max_size=300), st.one_of(st.none(), st.integers(0, 0x4800))),
                                min_size=1, max_size=5))
        prefix = draw(st.booleans())

        def mutate(data):
            junk = b"".join(_record(t, v, body, length) for t, v, body, length in records)
            return junk + data if prefix else data + junk
    elif kind == "duplicate":
        def mutate(data):
            return data + data
    elif kind == "splice":  # a genuine record header followed by another record's body
        cut = draw(st.integers(5, 200))

        def mutate(data):
            return data[:5] + data[cut:] if len(data) > cut else data[::-1]
    else:
        noise = draw(st.binary(min_size=1, max_size=2048))

        def mutate(data):
            return noise
    mutate.kind = kind
    return mutate


# --- driving -----------------------------------------------------------------------------------------------

def _tolerant(call, *args):
    """Calls a TLSBuffer method; TLSError (and subclasses) are the contract, anything else escapes."""
    try:
        return call(*args)
    except nativetls.TLSError as exc:
        return exc


def _exercise(target):
    """Every call a user could make next, twice, then end of file; bounded."""
    for _ in range(2):
        _tolerant(target.do_handshake)
        _tolerant(target.read, 1024)
        buf = bytearray(64)
        _tolerant(target.read, 64, buf)
        _tolerant(target.write, b"fuzz")
        assert isinstance(target.process_outgoing(), bytes)
        target.incoming_bytes_buffered()
        target.outgoing_bytes_buffered()
    _tolerant(target.shutdown)
    _tolerant(target.process_incoming, b"")
    _tolerant(target.read, 1024)
    _tolerant(target.do_handshake)
    target.close()
    target.close()


def _run(pki, tls, side, stage, mutate):
    client_ctx, server_ctx = _contexts(pki, tls)
    client, server = client_ctx.wrap_buffers("localhost"), server_ctx.wrap_buffers()
    target = client if side == "client" else server
    peer = server if side == "client" else client
    flights, done = 0, set()
    try:
        for _ in range(30):
            for end in (client, server):
                if end not in done:
                    try:
                        end.do_handshake()
                        done.add(end)
                    except nativetls.WantReadError:
                        pass
            to_target = peer.process_outgoing()
            if to_target:
                if flights == stage:
                    target.process_incoming(mutate(to_target) or b"\x16")  # never b"" (that is end of file)
                    _exercise(target)
                    return
                flights += 1
                target.process_incoming(to_target)
            to_peer = target.process_outgoing()
            if to_peer:
                peer.process_incoming(to_peer)
            if len(done) == 2 and not to_target and not to_peer:
                break
        # Stage "app" (or a stage past the handshake's flights): a mutated application data record.
        assert len(done) == 2, "the unmutated handshake did not finish"
        peer.write(b"application data " * 20)
        target.process_incoming(mutate(peer.process_outgoing()) or b"\x17")
        _exercise(target)
    finally:
        client.close()
        server.close()


@pytest.mark.parametrize("tls", sorted(VERSIONS))
@pytest.mark.parametrize("side", ["client", "server"])
@pytest.mark.parametrize("stage", [0, 1, "app"])
@settings(**_LIMITS)
@given(mutate=mutations())
def test_only_tls_errors_come_out(pki, tls, side, stage, mutate):
    _run(pki, tls, side, 99 if stage == "app" else stage, mutate)


@pytest.mark.parametrize("side", ["client", "server"])
@settings(**_LIMITS)
@given(noise=st.binary(min_size=1, max_size=4096), chunks=st.integers(1, 64))
def test_noise_before_any_handshake(pki, side, noise, chunks):
    """Pure noise, delivered in pieces, to a fresh buffer that has not sent or received anything yet."""
    client_ctx, server_ctx = _contexts(pki, "1.3")
    target = client_ctx.wrap_buffers("localhost") if side == "client" else server_ctx.wrap_buffers()
    step = max(1, len(noise) // chunks)
    for at in range(0, len(noise), step):
        if isinstance(_tolerant(target.process_incoming, noise[at:at + step]), nativetls.TLSError):
            break
        _tolerant(target.do_handshake)
    _exercise(target)
