# -*- coding: utf-8 -*-
"""Reading the few things a server backend needs from the TLS wire itself, in pure Python (no native library).

Backend-neutral: SChannel gives a server no hook between receiving the ClientHello and answering it, and a
SecureTransport server none that names the client's SNI before its certificate is fixed, so the SNI name must be
known before the first ``AcceptSecurityContext``/``SSLHandshake`` call: :func:`client_hello_server_name` reads it
from the bytes received so far (RFC 8446 4.1.2 and RFC 6066 section 3). :func:`handshake_types` lists the handshake messages of a
plaintext flight (used to see whether a server flight carries a CertificateRequest).

Every length is checked against what is really there; anything malformed raises ValueError (the caller then lets
SChannel answer the bytes, and fail on them, as it would without us), and a ClientHello that has not fully
arrived raises :class:`NeedMoreData`.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import struct

__all__ = ["NeedMoreData", "client_hello_server_name", "handshake_types", "fatal_alert"]

_HANDSHAKE = 22
_ALERT = 21
_CLIENT_HELLO = 1
_SERVER_NAME = 0
_HOST_NAME = 0
_MAX_RECORD = 16384 + 2048          # the largest TLSCiphertext (RFC 8446 5.2); a plaintext record is smaller
_MAX_CLIENT_HELLO = 64 * 1024       # far above any real ClientHello (post-quantum key shares included)

INTERNAL_ERROR = 80
UNRECOGNIZED_NAME = 112


class NeedMoreData(Exception):
    """The ClientHello has not arrived completely yet."""


def fatal_alert(description, version=b"\x03\x03"):
    """A plaintext fatal alert record (what a server sends before any keys exist)."""
    return struct.pack(">B2sHBB", _ALERT, version, 2, 2, description)


def _records(data, content_type, limit):
    """The payloads of the consecutive records of *content_type* at the start of *data*, joined (at most about
    *limit* bytes), and whether *data* ran out (inside a record or at a record boundary), meaning that more of
    them may still arrive, rather than stopping at a record of another type."""
    payload = bytearray()
    offset = 0
    while len(payload) < limit:
        if len(data) - offset < 5:
            return payload, True
        kind, major, length = struct.unpack(">BBxH", bytes(data[offset:offset + 5]))
        if kind != content_type or major != 3 or length == 0 or length > _MAX_RECORD:
            if offset == 0:
                raise ValueError("not a TLS record of type %d" % content_type)
            return payload, False
        payload += data[offset + 5:offset + 5 + length]
        if len(data) - offset - 5 < length:
            return payload, True
        offset += 5 + length
    return payload, False


class _Reader(object):
    """Bounds-checked reads from bytes; every overrun raises ValueError."""

    def __init__(self, data):
        self.data = bytes(data)
        self.offset = 0

    def take(self, count):
        if self.offset + count > len(self.data):
            raise ValueError("truncated ClientHello")
        chunk = self.data[self.offset:self.offset + count]
        self.offset += count
        return chunk

    def number(self, size):
        return struct.unpack(">I", b"\0" * (4 - size) + self.take(size))[0]

    def vector(self, size):
        """A length-prefixed vector (*size*-byte length) as a new reader."""
        return _Reader(self.take(self.number(size)))

    @property
    def left(self):
        return len(self.data) - self.offset


def client_hello_server_name(data):
    """The host_name of the ClientHello's server_name extension at the start of *data* (the bytes a server has
    received), as ASCII text (the A-label, as sent); None when the client sent no SNI.

    Raises:
        NeedMoreData: the ClientHello has not arrived completely.
        ValueError: the bytes are not a well-formed ClientHello (including an SSL 2.0 style one).
    """
    if not data:
        raise NeedMoreData()
    payload, more = _records(data, _HANDSHAKE, _MAX_CLIENT_HELLO + 4)
    if len(payload) >= 1 and payload[0] != _CLIENT_HELLO:
        raise ValueError("the first handshake message is not a ClientHello")
    length = struct.unpack(">I", b"\0" + bytes(payload[1:4]))[0] if len(payload) >= 4 else None
    if length is not None and length > _MAX_CLIENT_HELLO:
        raise ValueError("a ClientHello of %d bytes" % length)
    if length is None or len(payload) < 4 + length:
        if more:
            raise NeedMoreData()
        raise ValueError("the ClientHello is cut short by another record")
    hello = _Reader(payload[4:4 + length])
    hello.take(2 + 32)              # legacy_version, random
    if hello.vector(1).left > 32:   # legacy_session_id
        raise ValueError("session id longer than 32 bytes")
    hello.vector(2)                 # cipher_suites
    hello.vector(1)                 # legacy_compression_methods
    if not hello.left:              # no extensions at all (allowed before TLS 1.3)
        return None
    extensions = hello.vector(2)
    if hello.left:
        raise ValueError("bytes after the ClientHello's extensions")
    seen = set()
    while extensions.left:
        kind = extensions.number(2)
        body = extensions.vector(2)
        if kind in seen:
            raise ValueError("extension %d appears twice" % kind)
        seen.add(kind)
        if kind == _SERVER_NAME:
            return _host_name(body)
    return None


def _host_name(body):
    names = body.vector(2)
    if body.left or not names.left:
        raise ValueError("malformed server_name extension")
    while names.left:
        name_type = names.number(1)
        name = names.vector(2).data
        if name_type == _HOST_NAME:
            if not name or len(name) > 255 or b"\0" in name:
                raise ValueError("malformed host_name")
            try:
                return name.decode("ascii")
            except UnicodeDecodeError:
                raise ValueError("host_name is not ASCII")
    return None


def handshake_types(data):
    """The types of the handshake messages in the plaintext handshake records at the start of *data*, in order
    (ServerHello is 2, CertificateRequest 13, ...). Stops at the first other record (ChangeCipherSpec, or
    encrypted records).

    Raises:
        ValueError: *data* does not start with a handshake record.
    """
    payload, _more = _records(data, _HANDSHAKE, 1 << 20)
    types = []
    offset = 0
    while len(payload) - offset >= 4:
        types.append(payload[offset])
        offset += 4 + struct.unpack(">I", b"\0" + bytes(payload[offset + 1:offset + 4]))[0]
    return types
