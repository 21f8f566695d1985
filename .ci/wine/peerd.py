# -*- coding: utf-8 -*-
"""Linux-side helper for the Windows tests under Wine: certificates and real TLS peers on request.

Windows Python under Wine cannot start Linux programs, and has no ``cryptography``; this small daemon (Linux
Python) makes the suite's PKI with ``tests/_certs.py`` and starts ``openssl s_server`` peers with
``tests/_peers.py``. It listens on 127.0.0.1 only; one JSON request per connection, one JSON answer:

    {"op": "pki"}                                   -> {"dir": "/tmp/...", "names": [...]}
    {"op": "openssl", "cert": "server", "tls": "1.2", "alpn": ["h2"], "mode": "rev", "verify_client_ca": null}
                                                    -> {"id": 1, "port": 40123}
    {"op": "pkcs12", "cert": "client", "password": "pw", "legacy": false}
                        (+ "tool": "openssl", "with_key": true: made by openssl pkcs12 -export instead of cryptography)
                                                    -> {"path": "/tmp/.../client.p12"} (leaf, intermediates, key)
    {"op": "encrypted_key", "cert": "client", "password": "pw", "traditional": false}
                                                    -> {"path": ...} (PKCS#8 AES-256, or Proc-Type: 4,ENCRYPTED)
    {"op": "edge_key", "shape": "d"}                -> {"cert": ..., "key": ..., "chain": ..., "fullchain": ...}
                                                    a leaf under the intermediate (CN "nativetls test client",
                                                    clientAuth and serverAuth, SAN client.example, localhost) whose
                                                    RSA key has a shape Wine's PFXImportCertStore damages: "d" or
                                                    "crt" (that value nine or more bits shorter than its nominal
                                                    width), "e3" (public exponent 3); one per shape and session
    {"op": "output", "id": 1}                       -> {"output": "..."}
    {"op": "s_client", "port": 4433, "args": ["-CAfile", "ca"], "input": "hello\n"}    (pki names in args become
                                                    their PEM paths) -> {"id": 2}, runs in the background
    {"op": "stdlib_client", "port": 4433, "ca": ["ca", "intermediate"], "cert": null, "alpn": ["h2"], "data": "hi\n"}
                                                    -> {"id": 3}; connects, sends data, reads one line back
    {"op": "result", "id": 2}                       -> waits: {"returncode": 0, "output": "..."} for s_client,
                                                    {"version": ..., "alpn": ..., "reply": ..., "error": ...}
    {"op": "stop", "id": 1} / {"op": "kill", "id": 1} (SIGKILL: the TCP connection ends without close_notify)
    {"op": "quit"}

Usage: python3 .ci/wine/peerd.py PORT_FILE   (writes the port, serves until "quit" or SIGTERM)
"""
from __future__ import absolute_import, division, print_function

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import _certs  # noqa: E402
import _peers  # noqa: E402


class Daemon(object):
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="nativetls-wine-pki-")
        self.pki = _certs.StandardPKI(self.dir)
        self.peers = {}
        self.jobs = {}
        self.edge = {}
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
        if op == "pkcs12":
            if request.get("tool") == "openssl":
                return {"path": self.openssl_pkcs12(request["cert"], request.get("password"),
                                                    request.get("legacy", False), request.get("with_key", True))}
            return {"path": self.pkcs12(request["cert"], request.get("password"), request.get("legacy", False))}
        if op == "encrypted_key":
            cred = self.pki[request["cert"]]
            return {"path": cred.encrypted_key_path(request["password"], request.get("traditional", False))}
        if op == "edge_key":
            cred = self.edge_credential(request["shape"])
            return {"cert": cred.cert_path, "key": cred.key_path, "chain": cred.chain_path,
                    "fullchain": cred.fullchain_path}
        if op == "s_client":
            args = [self._pki_path(arg) for arg in request.get("args", [])]
            return {"id": self._background(lambda: self._s_client(request["port"], args, request.get("input", "")))}
        if op == "stdlib_client":
            return {"id": self._background(lambda: self._stdlib_client(request))}
        if op == "result":
            thread, box = self.jobs.pop(request["id"])
            thread.join(60)
            return box[0] if box else {"error": "the client did not finish in 60 s"}
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

    def _pki_path(self, arg):
        return self.pki[arg].cert_path if arg in self.pki.NAMES else arg

    def _background(self, function):
        """Run a Linux-side client in a thread (the Windows side is serving meanwhile); returns its job id."""
        box = []

        def target():
            try:
                box.append(function())
            except Exception as exc:  # reported by "result"
                box.append({"error": "%s: %s" % (type(exc).__name__, exc)})

        thread = threading.Thread(target=target)
        thread.daemon = True
        thread.start()
        job_id, self.next_id = self.next_id, self.next_id + 1
        self.jobs[job_id] = (thread, box)
        return job_id

    @staticmethod
    def _s_client(port, args, text):
        done = _peers.openssl_s_client(port, args, text.encode("utf-8"))
        return {"returncode": done.returncode,
                "output": (done.stdout + done.stderr).decode("utf-8", "replace")}

    def _stdlib_client(self, request):
        cert = request.get("cert")
        cas = request.get("ca", "ca")
        cas = [cas] if not isinstance(cas, list) else cas
        context = _peers.stdlib_client_context(ca=self.pki[cas[0]], cert=self.pki[cert] if cert else None,
                                               alpn=request.get("alpn"))
        for extra in cas[1:]:  # more trusted certificates (a Wine server sends no intermediates)
            context.load_verify_locations(self.pki[extra].cert_path)
        try:
            conn = _peers.stdlib_connect(("127.0.0.1", request["port"]), context)
        except Exception as exc:
            return {"error": "%s: %s" % (type(exc).__name__, exc)}
        try:
            conn.sendall(request.get("data", "").encode("utf-8"))
            reply = _peers.recv_until(conn).decode("utf-8", "replace")
            return {"version": conn.version(), "cipher": conn.cipher()[0], "alpn": conn.selected_alpn_protocol(),
                    "reply": reply}
        finally:
            conn.close()

    def pkcs12(self, name, password, legacy):
        """Write *name*'s leaf, intermediates and key as PKCS#12: AES-256/PBES2 with an HMAC-SHA-256 MAC, or
        (legacy) 3DES with an HMAC-SHA-1 MAC, the format older Windows versions need."""
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.serialization import pkcs12
        cred = self.pki[name]
        if password is None:
            encryption = serialization.NoEncryption()
        elif legacy:
            encryption = (serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(2048)
                          .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
                          .hmac_hash(hashes.SHA1())
                          .build(password.encode("utf-8")))
        else:
            encryption = serialization.BestAvailableEncryption(password.encode("utf-8"))
        blob = pkcs12.serialize_key_and_certificates(name.encode("ascii"), cred.key, cred.cert,
                                                     [c.cert for c in cred.intermediates], encryption)
        path = os.path.join(self.dir, "%s%s.p12" % (name, "-legacy" if legacy else ""))
        with open(path, "wb") as handle:
            handle.write(blob)
        return path

    def openssl_pkcs12(self, name, password, legacy, with_key):
        """``openssl pkcs12 -export`` of *name*'s leaf, key (unless not *with_key*) and intermediates: the OpenSSL 3
        default (AES-256-CBC, PBKDF2, HMAC-SHA-256), or ``-legacy`` (RC2-40 certificates, 3DES key, SHA-1 MAC)."""
        cred = self.pki[name]
        path = os.path.join(self.dir, "%s-openssl%s%s.p12" % (name, "-legacy" if legacy else "",
                                                               "" if with_key else "-nokey"))
        argv = ["openssl", "pkcs12", "-export", "-in", cred.cert_path, "-certfile", cred.chain_path, "-out", path,
                "-passout", "pass:" + (password or "")]
        argv += ["-inkey", cred.key_path] if with_key else ["-nokeys"]
        if legacy:
            argv.append("-legacy")
        subprocess.check_call(argv)
        return path

    def edge_credential(self, shape):
        """A client and server leaf whose key has *shape* (see the module docstring), made once per session."""
        if shape not in self.edge:
            from cryptography import x509
            factory, issuer = self.pki.factory, self.pki.intermediate
            extensions = [
                (x509.BasicConstraints(ca=False, path_length=None), True),
                (factory._key_usage(ca=False, key_encipherment=True), True),
                (x509.ExtendedKeyUsage([_certs._EKUS["client"], _certs._EKUS["server"]]), False),
                (x509.SubjectAlternativeName([x509.DNSName("client.example"), x509.DNSName("localhost")]), False),
            ]
            # CertFactory.leaf makes its own key; _build takes one.
            self.edge[shape] = factory._build(factory._name("nativetls test client"), issuer, edge_key(shape),
                                              extensions, "sha256", None, None, "edge-" + shape)
        return self.edge[shape]

    def close(self):
        for context, _peer in self.peers.values():
            context.__exit__(None, None, None)
        self.peers.clear()
        shutil.rmtree(self.dir, ignore_errors=True)


def _short(value, nominal_bits):
    """Whether *value* has nine or more leading zero bits at *nominal_bits*: GnuTLS then hands Wine fewer bytes
    than the nominal width (it adds one only for a set top bit), and Wine's PKCS#12 import stops copying there."""
    return value.bit_length() <= nominal_bits - 9


def edge_key(shape, bits=2048, tries=2000):
    """An RSA key that Wine's PFXImportCertStore imports damaged unless nativetls repairs it
    (nativetls/_win/_keyblob.py): "d", a private exponent short of its nominal width; "crt", a CRT value (dP, dQ or
    qInv, p and q taken in either order) short of its width; "e3", public exponent 3 (Wine writes 65537)."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    if shape == "e3":
        return rsa.generate_private_key(3, bits)
    for _ in range(tries):
        key = rsa.generate_private_key(65537, bits)
        numbers = key.private_numbers()
        if shape == "d":
            if _short(numbers.d, bits):
                return key
            continue
        for p, q in ((numbers.p, numbers.q), (numbers.q, numbers.p)):
            dp, dq, qinv = numbers.d % (p - 1), numbers.d % (q - 1), rsa.rsa_crt_iqmp(p, q)
            if any(_short(value, bits // 2) for value in (dp, dq, qinv)):
                return rsa.RSAPrivateNumbers(p, q, numbers.d, dp, dq, qinv, numbers.public_numbers).private_key()
    raise RuntimeError("no %r key in %d tries" % (shape, tries))


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
