# -*- coding: utf-8 -*-
"""Linux-side helper for the Windows tests under Wine: certificates and real TLS peers on request.

Windows Python under Wine cannot start Linux programs, and has no ``cryptography``; this small daemon (Linux
Python) makes the suite's PKI with ``tests/_certs.py`` and starts ``openssl s_server`` peers with
``tests/_peers.py``. It listens on 127.0.0.1 only; one JSON request per connection, one JSON answer:

    {"op": "pki"}                                   -> {"dir": "/tmp/...", "names": [...]}
    {"op": "openssl", "cert": "server", "tls": "1.2", "alpn": ["h2"], "mode": "rev", "verify_client_ca": null}
                                                    -> {"id": 1, "port": 40123}
    {"op": "output", "id": 1}                       -> {"output": "..."}
    {"op": "stop", "id": 1} / {"op": "kill", "id": 1} (SIGKILL: the TCP connection ends without close_notify)
    {"op": "quit"}

Usage: python3 .ci/wine/peerd.py PORT_FILE   (writes the port, serves until "quit" or SIGTERM)
"""
from __future__ import absolute_import, division, print_function

import json
import os
import signal
import socket
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import _certs  # noqa: E402
import _peers  # noqa: E402


class Daemon(object):
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="nativetls-wine-pki-")
        self.pki = _certs.StandardPKI(self.dir)
        self.peers = {}
        self.next_id = 1

    def handle(self, request):
        op = request.get("op")
        if op == "pki":
            return {"dir": self.dir, "names": list(self.pki.NAMES)}
        if op == "openssl":
            cert = self.pki[request.get("cert", "server")]
            ca = request.get("verify_client_ca")
            context = _peers.openssl_s_server(cert, tls=request.get("tls"), alpn=request.get("alpn"),
                                              mode=request.get("mode", "rev"),
                                              verify_client_ca=self.pki[ca] if ca else None,
                                              extra_args=request.get("extra_args", ()))
            peer = context.__enter__()
            peer_id, self.next_id = self.next_id, self.next_id + 1
            self.peers[peer_id] = (context, peer)
            return {"id": peer_id, "port": peer.port}
        if op == "output":
            return {"output": self.peers[request["id"]][1].output()}
        if op in ("stop", "kill"):
            context, peer = self.peers.pop(request["id"])
            if op == "kill":
                peer.proc.send_signal(signal.SIGKILL)
            output = peer.output()
            context.__exit__(None, None, None)
            return {"output": output}
        if op == "quit":
            raise SystemExit(0)
        return {"error": "unknown op %r" % (op,)}

    def close(self):
        for context, _peer in self.peers.values():
            context.__exit__(None, None, None)
        self.peers.clear()


def main(port_file):
    daemon = Daemon()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    with open(port_file + ".tmp", "w") as handle:
        handle.write(str(listener.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            conn, _addr = listener.accept()
            with conn:
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                try:
                    answer = daemon.handle(json.loads(data.decode("utf-8")))
                except SystemExit:
                    conn.sendall(b'{"ok": true}\n')
                    raise
                except Exception as exc:  # report to the test, keep serving
                    answer = {"error": "%s: %s" % (type(exc).__name__, exc)}
                conn.sendall(json.dumps(answer).encode("utf-8") + b"\n")
    finally:
        daemon.close()
        listener.close()


if __name__ == "__main__":
    main(sys.argv[1])
