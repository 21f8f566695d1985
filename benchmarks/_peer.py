# -*- coding: utf-8 -*-
"""The fixed loopback peer for the socket rows: a stdlib ``ssl`` server in its own process.

Every client implementation talks to this same server, so the socket rows compare the client stacks alone, and
the server never competes with the measured client for the GIL. It listens on two ports and serves one
connection at a time on each (the benchmark's client is sequential):

* echo: handshake, then echo whatever arrives until the client closes (the latency row);
* bulk: handshake, then a 9-byte command: ``b"S"`` + 8-byte big-endian length (receive that many bytes, answer
  ``b"k"``) or ``b"R"`` + length (send that many bytes in 64 KiB writes).

Run as ``python _peer.py CERT KEY``; it prints ``ECHO_PORT BULK_PORT`` on one line and serves until stdin closes.
"""
from __future__ import absolute_import, division, print_function

import socket
import ssl
import struct
import sys
import threading

CHUNK = 65536


def _serve(listener, context, handler):
    while True:
        try:
            raw, _address = listener.accept()
        except (OSError, socket.error):
            return
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            conn = context.wrap_socket(raw, server_side=True)
        except Exception:  # a client that gave up mid-handshake: next
            raw.close()
            continue
        try:
            handler(conn)
        except Exception:
            pass
        finally:
            try:
                conn.close()
            except Exception:
                pass


def _echo(conn):
    while True:
        data = conn.recv(CHUNK)
        if not data:
            return
        conn.sendall(data)


def _read_exactly(conn, size):
    data = b""
    while len(data) < size:
        more = conn.recv(size - len(data))
        if not more:
            raise EOFError
        data += more
    return data


def _bulk(conn):
    header = _read_exactly(conn, 9)
    size = struct.unpack(">Q", header[1:])[0]
    if header[:1] == b"S":
        buf = bytearray(4 * CHUNK)
        got = 0
        while got < size:
            count = conn.recv_into(buf)
            if not count:
                return
            got += count
        conn.sendall(b"k")
    else:
        chunk = b"x" * CHUNK
        sent = 0
        while sent < size:
            part = chunk if size - sent >= CHUNK else chunk[:size - sent]
            conn.sendall(part)
            sent += len(part)
        conn.recv(1)  # wait for the client to close, so the data is never cut short


def main(cert, key):
    context = ssl.SSLContext(getattr(ssl, "PROTOCOL_TLS_SERVER", ssl.PROTOCOL_SSLv23))
    context.load_cert_chain(cert, key)
    ports = []
    for handler in (_echo, _bulk):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        ports.append(listener.getsockname()[1])
        thread = threading.Thread(target=_serve, args=(listener, context, handler))
        thread.daemon = True
        thread.start()
    sys.stdout.write("%d %d\n" % tuple(ports))
    sys.stdout.flush()
    sys.stdin.read()  # serve until the benchmark closes our stdin (or exits)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
