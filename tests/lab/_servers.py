"""Real TLS servers for the lab, all inside one loopback-only network namespace.

``LoopbackNamespace`` is a process holding a fresh network namespace (``unshare -n``) whose only interface is
``lo``: servers are started in it with ``nsenter -n`` (gnutls-serv binds every interface; nothing here is
reachable from outside this machine), and client sockets are created in it by a helper thread that joins the
namespace with ``setns(2)`` (a socket stays in the namespace it was created in, whichever thread uses it later).
Needs root (CAP_SYS_ADMIN), as CI runs; ``available()`` says why not otherwise.

Servers (context managers yielding a ``Server``: ``.connect()`` -> a plain socket connected to it, ``.exchange(s)``
-> sends a line over a TLS socket and returns the reply, ``.output()``):

    openssl_server(ns, pres, tls=..., ciphers=..., alpn=..., client_ca=..., extra=...)   openssl s_server -rev
    gnutls_server(ns, pres, priority=..., alpn=..., client_ca=...)                         gnutls-serv --echo
    nginx_server(ns, pres, protocols=..., ciphers=..., alpn_h2=..., client_ca=...)         nginx (HTTP)
    tlslite_server(ns, pres, versions=..., ciphers=..., key_exchange=..., alpn=...)        tlslite-ng (echo)

``pres`` is a ``Presentation``: the leaf, its key and the certificates sent after it, in the order sent.
"""
from __future__ import absolute_import, division, print_function

import contextlib
import ctypes
import os
import re
import select
import socket
import subprocess
import tempfile
import threading
import time

import _peers

__all__ = ["LoopbackNamespace", "Presentation", "openssl_server", "gnutls_server", "nginx_server",
           "tlslite_server", "available"]

CLONE_NEWNET = 0x40000000
HOST = "127.0.0.1"
LINE = b"nativetls lab ping\n"


def available():
    """None when a loopback namespace can be made here, else the reason it cannot."""
    for tool in ("unshare", "nsenter", "ip"):
        if not _peers.have_tool(tool):
            return "%s is not installed (util-linux / iproute2)" % tool
    try:
        probe = subprocess.Popen(["unshare", "-n", "sh", "-c", "ip link set lo up"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
        err = probe.communicate()[1]
    except OSError as exc:
        return "unshare -n failed: %s" % exc
    if probe.returncode != 0:
        return "unshare -n is not permitted here (needs root): %s" % err.decode("utf-8", "replace").strip()
    return None


class LoopbackNamespace(object):
    """A network namespace with only ``lo`` (up), kept alive by a sleeping holder process."""

    def __init__(self):
        self.holder = subprocess.Popen(
            ["unshare", "-n", "sh", "-c", "ip link set lo up && echo ready && exec sleep 86400"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if self.holder.stdout.readline().strip() != b"ready":
            err = self.holder.stderr.read().decode("utf-8", "replace")
            raise RuntimeError("could not create a loopback-only network namespace: %s" % err)
        self.pid = self.holder.pid
        self._next_port = 20000
        self._libc = ctypes.CDLL(None, use_errno=True)

    def command(self, argv):
        """``argv`` run inside the namespace."""
        return ["nsenter", "-t", str(self.pid), "-n", "--"] + list(argv)

    def port(self):
        """A fresh port number for servers that cannot bind port 0 (the namespace has no other users)."""
        self._next_port += 1
        return self._next_port

    def in_namespace(self, function):
        """Runs ``function()`` on a thread that has joined the namespace; returns its result."""
        result = {}

        def run():
            fd = os.open("/proc/%d/ns/net" % self.pid, os.O_RDONLY)
            try:
                if self._libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns(CLONE_NEWNET) failed")
            finally:
                os.close(fd)
            try:
                result["value"] = function()
            except BaseException as exc:  # handed back to the caller's thread
                result["error"] = exc

        thread = threading.Thread(target=run, name="netns")
        thread.start()
        thread.join()
        if "error" in result:
            raise result["error"]
        return result["value"]

    def connect(self, port, timeout=10.0):
        """A TCP socket in the namespace, connected to 127.0.0.1:``port``."""
        return self.in_namespace(lambda: socket.create_connection((HOST, port), timeout=timeout))

    def listen(self):
        """A listening TCP socket in the namespace on 127.0.0.1, an ephemeral port."""
        def make():
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            sock.listen(16)
            return sock
        return self.in_namespace(make)

    def close(self):
        _peers._kill(self.holder, grace=1.0)
        for stream in (self.holder.stdout, self.holder.stderr):
            stream.close()


class Presentation(object):
    """What a server presents: ``leaf`` and ``key`` (Credentials or paths) and ``chain`` (Credentials, in order)."""

    def __init__(self, leaf, chain=None, directory=None):
        self.leaf = leaf
        self.chain = list(leaf.intermediates if chain is None else chain)
        self.directory = directory or tempfile.mkdtemp(prefix="lab-pres-")
        base = os.path.join(self.directory, "%s-%d" % (leaf.name, id(self)))
        self.cert_path = _write(base + ".leaf.pem", leaf.cert_pem)
        self.key_path = leaf.key_path
        self.chain_path = _write(base + ".chain.pem", b"".join(c.cert_pem for c in self.chain)) if self.chain else None
        self.fullchain_path = _write(base + ".full.pem", leaf.cert_pem + b"".join(c.cert_pem for c in self.chain))
        self.pems = [leaf.cert_pem] + [c.cert_pem for c in self.chain]
        self.key_pem = leaf.key_pem


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


class Server(object):
    """A running server: ``kind``, ``port``, ``connect()``, ``exchange(tls_socket)``, ``output()``."""

    def __init__(self, kind, ns, port, exchange, output):
        self.kind, self.ns, self.port = kind, ns, port
        self._exchange, self._output = exchange, output

    def connect(self):
        return self.ns.connect(self.port)

    def exchange(self, tls):
        return self._exchange(tls)

    def output(self):
        return self._output()


def _recv_line(tls, limit=65536):
    data = b""
    while not data.endswith(b"\n") and len(data) < limit:
        chunk = tls.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _line_exchange(transform):
    def exchange(tls):
        tls.sendall(LINE)
        reply = _recv_line(tls)
        if reply != transform(LINE):
            raise AssertionError("unexpected reply %r" % (reply,))
        return reply
    return exchange


def _http_exchange(tls):
    tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = tls.recv(65536)
        if not chunk:
            break
        data += chunk
    if not data.startswith(b"HTTP/1.1 200"):
        raise AssertionError("unexpected HTTP reply %r" % (data[:200],))
    return data


def _start_process(ns, argv, port=None, ready=None):
    peer = _peers.ProcessPeer(ns.command(argv))
    deadline = time.time() + _peers.START_TIMEOUT
    while time.time() < deadline and peer.proc.poll() is None:
        if ready is not None and peer.wait_for_output(ready, 0.05):
            peer.port = port
            return peer
        if port is None:
            try:
                ports = _peers._listening_ports(peer.proc.pid)
            except (IOError, OSError):
                ports = []
            if ports:
                peer.port = ports[0]
                return peer
        elif ready is None and _port_open(ns, port):
            peer.port = port
            return peer
        time.sleep(0.05)
    peer.fail("%s did not start" % argv[0])


def _port_open(ns, port):
    try:
        ns.connect(port, timeout=0.5).close()
        return True
    except (OSError, socket.error):
        return False


@contextlib.contextmanager
def _running(peer, kind, ns, exchange):
    try:
        yield Server(kind, ns, peer.port, exchange, peer.output)
    finally:
        peer.stop()


@contextlib.contextmanager
def openssl_server(ns, pres, tls=None, ciphers=None, alpn=None, client_ca=None, extra=()):
    """``openssl s_server -rev`` (replies to each line reversed). ``tls``: "1", "1.1", "1.2" or "1.3"."""
    port = ns.port()
    argv = ["openssl", "s_server", "-accept", "%s:%d" % (HOST, port), "-cert", pres.cert_path, "-key", pres.key_path,
            "-rev"]
    if pres.chain_path:
        argv += ["-cert_chain", pres.chain_path]
    if tls:
        argv.append({"1": "-tls1", "1.1": "-tls1_1", "1.2": "-tls1_2", "1.3": "-tls1_3"}[tls])
    if ciphers:
        argv += ["-cipher", ciphers]
    if alpn:
        argv += ["-alpn", ",".join(alpn)]
    if client_ca is not None:
        argv += ["-Verify", "4", "-CAfile", client_ca, "-verify_return_error"]
    argv += list(extra)
    peer = _start_process(ns, argv, port=port, ready=r"ACCEPT")
    with _running(peer, "openssl", ns, _line_exchange(lambda line: line[:-1][::-1] + b"\n")) as server:
        yield server


@contextlib.contextmanager
def gnutls_server(ns, pres, priority=None, alpn=None, client_ca=None):
    """``gnutls-serv --echo`` (binds every interface: inside the namespace only)."""
    argv = ["gnutls-serv", "-p", "0", "--echo", "--x509certfile", pres.fullchain_path, "--x509keyfile", pres.key_path]
    if priority:
        argv.append("--priority=" + priority)
    for proto in alpn or ():
        argv.append("--alpn=" + proto)
    if client_ca is not None:
        argv += ["--require-client-cert", "--verify-client-cert", "--x509cafile", client_ca]
    else:
        argv.append("--disable-client-cert")
    if _peers.have_tool("stdbuf"):
        argv = ["stdbuf", "-oL", "-eL"] + argv
    peer = _start_process(ns, argv)
    with _running(peer, "gnutls", ns, _line_exchange(lambda line: line)) as server:
        yield server


_NGINX_CONF = """
daemon off; master_process off; worker_processes 1; pid {dir}/nginx.pid; error_log stderr notice;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy; fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl{http2};
    ssl_certificate {fullchain}; ssl_certificate_key {key};
    ssl_protocols {protocols}; ssl_ciphers {ciphers}; ssl_prefer_server_ciphers on;
    {client}
    location / {{ return 200 "nginx lab ok\\n"; }}
  }}
}}
"""


@contextlib.contextmanager
def nginx_server(ns, pres, protocols="TLSv1.2 TLSv1.3", ciphers="HIGH:!aNULL", http2=False, client_ca=None):
    """nginx (Debian nginx-light) on 127.0.0.1 inside the namespace, answering HTTP GET / with 200."""
    directory = tempfile.mkdtemp(prefix="lab-nginx-")
    port = ns.port()
    client = ("ssl_client_certificate %s; ssl_verify_client on; ssl_verify_depth 4;" % client_ca) if client_ca else ""
    conf = _NGINX_CONF.format(dir=directory, port=port, fullchain=pres.fullchain_path, key=pres.key_path,
                              protocols=protocols, ciphers=ciphers, client=client, http2=" http2" if http2 else "")
    conf_path = _write(os.path.join(directory, "nginx.conf"), conf.encode("ascii"))
    argv = ["nginx", "-p", directory, "-c", conf_path, "-e", "stderr"]
    peer = _start_process(ns, argv, port=port)
    with _running(peer, "nginx", ns, _http_exchange) as server:
        yield server


@contextlib.contextmanager
def tlslite_server(ns, pres, versions=None, ciphers=None, key_exchange=None, alpn=None):
    """A tlslite-ng server (pure Python) in a thread, echoing lines: it speaks SSLv3, RC4, NULL and other protocols
    OpenSSL 3 no longer serves. ``versions``: (min, max) as tlslite tuples, e.g. ((3, 0), (3, 0)) for SSLv3."""
    from tlslite.api import HandshakeSettings, TLSConnection, X509, X509CertChain, parsePEMKey

    chain = X509CertChain([X509().parse(pem.decode("ascii")) for pem in pres.pems])
    key = parsePEMKey(pres.key_pem.decode("ascii"), private=True)
    settings = HandshakeSettings()
    if versions:
        # tlslite-ng negotiates from ``versions`` when the client sends supported_versions (TLS 1.3 clients do):
        # limiting min/maxVersion alone would still let it pick TLS 1.2.
        settings.minVersion, settings.maxVersion = versions
        settings.versions = [v for v in ((3, 4), (3, 3), (3, 2), (3, 1), (3, 0)) if versions[0] <= v <= versions[1]]
        if settings.versions == [(3, 4)]:  # TLS 1.3 alone: tlslite refuses its own brainpool defaults there
            settings.eccCurves = [c for c in settings.eccCurves if not c.startswith("brainpool")]
    if ciphers:
        settings.cipherNames = list(ciphers)
    if key_exchange:
        settings.keyExchangeNames = list(key_exchange)
    listener = ns.listen()
    port = listener.getsockname()[1]
    log, stop = [], threading.Event()

    def serve_one(raw):
        conn = TLSConnection(raw)
        try:
            conn.handshakeServer(certChain=chain, privateKey=key, settings=settings,
                                 alpn=[p.encode("ascii") for p in alpn] if alpn else None)
            log.append("handshake %s %s\n" % (conn.getVersionName(), conn.getCipherName()))
            while True:
                data = conn.read()
                if not data:
                    break
                conn.write(data)
            conn.close()
        except Exception as exc:  # the client's verdict is what the test checks; keep the server's story
            log.append("error %s: %s\n" % (type(exc).__name__, exc))
        finally:
            raw.close()

    def accept_loop():
        while not stop.is_set():
            if not select.select([listener], [], [], 0.1)[0]:
                continue
            raw = listener.accept()[0]
            raw.settimeout(10)
            worker = threading.Thread(target=serve_one, args=(raw,))
            worker.daemon = True
            worker.start()

    acceptor = threading.Thread(target=accept_loop, name="tlslite-server")
    acceptor.daemon = True
    acceptor.start()
    try:
        yield Server("tlslite", ns, port, _line_exchange(lambda line: line), lambda: "".join(log))
    finally:
        stop.set()
        acceptor.join(5)
        listener.close()
