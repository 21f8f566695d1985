"""Real TLS peers on 127.0.0.1 for interop tests: openssl, gnutls and the stdlib ``ssl`` module.

Servers are context managers yielding an object with ``.host``, ``.port``, ``.address``
and ``.output()``; the process or thread is always stopped on exit::

    with openssl_s_server(pki.server) as srv:           # "-rev": replies to each line reversed
        ...connect to srv.address, verify against pki.ca.cert_path, server_hostname "localhost"
    with gnutls_serv(pki.server) as srv: ...              # "--echo": replies with each line
    with stdlib_server(pki.server) as srv:                # echoes, close_notify on close
        ...; rec = srv.wait_for_connections(1)[0]         # what the server saw

``cert`` may be a ``_certs.Credential`` (its key and intermediates are then used) or a PEM
path with ``key=`` and ``chain=`` paths. ``tls`` is None (TLS 1.2 and 1.3), "1.2" or
"1.3". ``alpn`` is a list of protocol names; ``verify_client_ca`` (a Credential or PEM path)
makes the server require and verify a client certificate.

Clients for server tests return a ``Completed`` (argv, returncode, stdout, stderr, timed_out)::

    openssl_s_client(port, ["-CAfile", pki.ca.cert_path, "-verify_return_error"], input=b"hi\\n")
    gnutls_cli(port, ["--x509cafile", pki.ca.cert_path], input=b"hi\\n")

Everything runs on Python 2.7 too: no subprocess timeouts there, so a timer kills hung
processes. Listening ports are picked by the kernel (openssl ``-accept 127.0.0.1:0`` prints
the port; gnutls-serv, which cannot bind one address, listens on port 0 of every address and
its IPv4 port is read back from /proc), so parallel test runs cannot collide.
"""
from __future__ import absolute_import, division, print_function

import collections
import os
import re
import select
import socket
import ssl
import subprocess
import threading
import time

__all__ = [
    "Completed", "ProcessPeer", "StdlibServer", "ConnectionRecord", "free_port", "have_tool",
    "openssl_s_server", "gnutls_serv", "stdlib_server", "openssl_s_client", "gnutls_cli",
    "stdlib_client_context", "stdlib_connect", "run", "recv_until", "line_reply", "require_tool",
]

HOST = "127.0.0.1"
START_TIMEOUT = 10.0

Completed = collections.namedtuple("Completed", "argv returncode stdout stderr timed_out")


def have_tool(name):
    """True when executable ``name`` is on PATH."""
    return any(os.access(os.path.join(d, name), os.X_OK) for d in os.environ.get("PATH", "").split(os.pathsep))


def require_tool(name):
    """Skip the calling test when executable *name* is missing (fail under CI, which must have it).

    Lives here rather than in conftest.py: tests/lab has a conftest of its own, and ``from conftest import``
    would then find whichever was loaded first.
    """
    import pytest
    if not have_tool(name):
        if os.environ.get("CI"):
            pytest.fail("%s is missing on this CI machine (see APT_PACKAGES in .ci/run)" % name)
        pytest.skip("%s is not installed" % name)


def free_port(host=HOST):
    """A TCP port that was free a moment ago (prefer letting the server bind port 0)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _paths(cert, key, chain):
    """(cert, key, chain) paths from a Credential or explicit paths; chain may be None."""
    if hasattr(cert, "cert_path"):
        key = key or cert.key_path
        chain = chain or (cert.chain_path if cert.chain_pem else None)
        cert = cert.cert_path
    return cert, key, chain


def _fullchain(cert, chain):
    """A path to leaf + intermediates, for tools that read the chain from the certificate file."""
    if hasattr(cert, "fullchain_path"):
        return cert.fullchain_path
    if not chain:
        return cert
    path = cert + ".with-chain.pem"
    with open(path, "wb") as out:
        for p in (cert, chain):
            with open(p, "rb") as f:
                out.write(f.read())
    return path


def _ca_path(ca):
    return getattr(ca, "cert_path", ca)


def _alpn_list(alpn):
    return [p.decode("ascii") if isinstance(p, bytes) else p for p in alpn]


def _kill(proc, grace=3.0):
    """Terminates ``proc``, then kills it after ``grace`` seconds; waits for it."""
    if proc.poll() is None:
        try:
            proc.terminate()
        except OSError:
            pass
        deadline = time.time() + grace
        while proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        if proc.poll() is None:
            try:
                proc.kill()
            except OSError:
                pass
            proc.wait()


def run(argv, input=b"", timeout=20.0, env=None, cwd=None):
    """Runs ``argv`` (in ``cwd``) to completion, feeding ``input``; kills it after ``timeout`` seconds."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            cwd=cwd)
    fired = []

    def expire():
        fired.append(True)
        _kill(proc, grace=1.0)

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
    try:
        out, err = proc.communicate(input)
    finally:
        timer.cancel()
    return Completed(list(argv), proc.returncode, out, err, bool(fired))


def openssl_s_client(port, args=(), input=b"", host=HOST, timeout=20.0, env=None):
    """``openssl s_client -connect host:port ARGS``; stdin EOF ends it unless ``-ign_eof`` is given."""
    return run(["openssl", "s_client", "-connect", "%s:%d" % (host, port)] + list(args), input, timeout, env)


def gnutls_cli(port, args=(), input=b"", host=HOST, timeout=20.0, env=None):
    """``gnutls-cli -p port ARGS host`` (add ``--verify-hostname localhost`` when host is an IP)."""
    return run(["gnutls-cli", "-p", str(port)] + list(args) + [host], input, timeout, env)


class ProcessPeer(object):
    """A server process: ``proc``, ``argv``, ``host``, ``port``, ``address``, ``output()``, ``send()``."""

    def __init__(self, argv, env=None):
        self.argv = list(argv)
        self.host, self.port = HOST, None
        self._lines, self._changed = [], threading.Condition()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env)
        self._reader = threading.Thread(target=self._read, name="peer-output")
        self._reader.daemon = True
        self._reader.start()

    @property
    def address(self):
        return (self.host, self.port)

    def _read(self):
        for line in iter(self.proc.stdout.readline, b""):
            with self._changed:
                self._lines.append(line.decode("utf-8", "replace"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def output(self):
        """Everything the process printed so far (stdout and stderr), as text."""
        with self._changed:
            return "".join(self._lines)

    def wait_for_output(self, pattern, timeout=START_TIMEOUT):
        """Waits until the output matches regex ``pattern``; returns the match (None on timeout or exit)."""
        deadline = time.time() + timeout
        with self._changed:
            while True:
                m = re.search(pattern, "".join(self._lines))
                if m or time.time() > deadline or (self.proc.poll() is not None and not self._reader.is_alive()):
                    return m
                self._changed.wait(0.05)

    def send(self, data):
        """Writes ``data`` to the process's stdin (openssl's default mode sends it to the client)."""
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def fail(self, what):
        _kill(self.proc)
        self._reader.join(2)
        raise RuntimeError("%s: %s\n%s" % (what, " ".join(self.argv), self.output()))

    def stop(self):
        _kill(self.proc)
        self._reader.join(5)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except (IOError, OSError):
                pass


class _PeerContext(object):
    """Context manager that starts a peer on entry and always stops it on exit."""

    def __init__(self, start):
        self._start, self.peer = start, None

    def __enter__(self):
        self.peer = self._start()
        return self.peer

    def __exit__(self, *exc):
        self.peer.stop()
        return False


def _listening_ports(pid):
    """IPv4 ports on which process ``pid`` has a socket in LISTEN state (Linux /proc)."""
    inodes = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = []
    with open("/proc/%d/net/tcp" % pid) as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                ports.append(int(fields[1].split(":")[1], 16))
    return ports


def openssl_s_server(cert, key=None, chain=None, tls=None, alpn=None, verify_client_ca=None, mode="rev",
                     naccept=None, extra_args=(), env=None):
    """``openssl s_server`` on 127.0.0.1, an ephemeral port.

    ``mode``: "rev" (each line is sent back reversed, a line "CLOSE" closes), "www" (a status
    page for "GET /"), "WWW"/"HTTP" (serve files), or None (stdin -> client, client -> output;
    use ``send()``). ``naccept``: exit after that many connections.
    """
    cert_path, key_path, chain_path = _paths(cert, key, chain)
    argv = ["openssl", "s_server", "-accept", "%s:0" % HOST, "-cert", cert_path, "-key", key_path]
    if chain_path:
        argv += ["-cert_chain", chain_path]
    if tls:
        argv.append({"1.2": "-tls1_2", "1.3": "-tls1_3"}[tls])
    if alpn:
        argv += ["-alpn", ",".join(_alpn_list(alpn))]
    if verify_client_ca is not None:
        argv += ["-Verify", "4", "-CAfile", _ca_path(verify_client_ca), "-verify_return_error"]
    if mode:
        argv.append("-" + mode)
    if naccept:
        argv += ["-naccept", str(naccept)]
    argv += list(extra_args)

    def start():
        peer = ProcessPeer(argv, env)
        m = peer.wait_for_output(r"ACCEPT [^\n]*:(\d+)\s")
        if not m:
            peer.fail("openssl s_server did not start")
        peer.port = int(m.group(1))
        return peer

    return _PeerContext(start)


def gnutls_serv(cert, key=None, chain=None, tls=None, alpn=None, verify_client_ca=None, mode="echo",
                extra_args=(), env=None):
    """``gnutls-serv`` in ``--echo`` (or ``mode="http"``) mode on an ephemeral port.

    gnutls-serv listens on every address (it has no bind option); connect to 127.0.0.1.
    """
    cert_path, key_path, chain_path = _paths(cert, key, chain)
    argv = ["gnutls-serv", "-p", "0", "--x509certfile", _fullchain(cert, chain_path), "--x509keyfile", key_path]
    if mode:
        argv.append("--" + mode)
    if tls:
        argv.append("--priority=NORMAL:-VERS-ALL:+VERS-TLS" + tls)
    for proto in _alpn_list(alpn or ()):
        argv.append("--alpn=" + proto)
    if verify_client_ca is not None:
        argv += ["--require-client-cert", "--verify-client-cert", "--x509cafile", _ca_path(verify_client_ca)]
    else:
        argv.append("--disable-client-cert")
    argv += list(extra_args)
    if have_tool("stdbuf"):  # line-buffered output, so output() shows what the server logged so far
        argv = ["stdbuf", "-oL", "-eL"] + argv

    def start():
        peer = ProcessPeer(argv, env)
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline and peer.proc.poll() is None:
            try:
                ports = _listening_ports(peer.proc.pid)
            except (IOError, OSError):
                ports = []
            if ports:
                peer.port = ports[0]
                return peer
            time.sleep(0.05)
        peer.fail("gnutls-serv did not start")

    return _PeerContext(start)


# --- the stdlib ssl module as a server -------------------------------------------------------------

class ConnectionRecord(object):
    """What ``stdlib_server`` saw on one connection.

    ``version``, ``cipher`` (name), ``alpn``, ``server_name`` (SNI, or None), ``peer_cert``
    (client certificate DER, or None), ``received`` (bytes), ``error`` (the exception, or
    None), ``clean_close`` (the client sent close_notify and the server answered with its own).
    """

    def __init__(self):
        self.version = self.cipher = self.alpn = self.server_name = self.peer_cert = self.error = None
        self.received = b""
        self.clean_close = False

    def __repr__(self):
        return "<ConnectionRecord %r>" % self.__dict__


def _echo(conn, record):
    while True:
        data = conn.recv(65536)
        if not data:
            return
        record.received += data
        conn.sendall(data)


def line_reply(transform=lambda line: line):
    """A ``stdlib_server`` handler: reads one line, sends ``transform(line)``, then closes cleanly.

    Suits clients such as ``openssl s_client -ign_eof`` that wait for the server to close.
    """
    def handler(conn, record):
        line = recv_until(conn)
        record.received += line
        conn.sendall(transform(line))
    return handler


def stdlib_server_context(cert, key=None, chain=None, tls=None, alpn=None, verify_client_ca=None, ciphers=None):
    """An ``ssl.SSLContext`` for a server, configured like the process peers."""
    cert_path, key_path, chain_path = _paths(cert, key, chain)
    ctx = ssl.SSLContext(getattr(ssl, "PROTOCOL_TLS_SERVER", ssl.PROTOCOL_SSLv23))
    _set_versions(ctx, tls)
    ctx.load_cert_chain(_fullchain(cert, chain_path), key_path)
    if verify_client_ca is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(_ca_path(verify_client_ca))
    if alpn:
        ctx.set_alpn_protocols(_alpn_list(alpn))
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def _set_versions(ctx, tls):
    if hasattr(ctx, "minimum_version"):  # 3.7+
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if tls:
            version = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[tls]
            ctx.minimum_version = ctx.maximum_version = version
    else:
        ctx.options |= ssl.OP_NO_SSLv2 | ssl.OP_NO_SSLv3 | ssl.OP_NO_TLSv1 | ssl.OP_NO_TLSv1_1
        if tls == "1.2":
            ctx.options |= ssl.OP_NO_TLSv1_3
        elif tls == "1.3":
            ctx.options |= ssl.OP_NO_TLSv1_2


class StdlibServer(object):
    """A threaded stdlib ``ssl`` server: ``host``, ``port``, ``address``, ``context``, ``connections``."""

    def __init__(self, context, handler=_echo, timeout=10.0):
        self.context, self.handler, self.timeout = context, handler, timeout
        self.connections = []
        self._cond = threading.Condition()
        self._stop = False
        self._threads = []
        self._live = []  # raw sockets of connections in progress, shut down by stop()
        self._install_sni_recorder()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((HOST, 0))
        self.sock.listen(16)
        self.host, self.port = self.sock.getsockname()
        self._acceptor = threading.Thread(target=self._accept_loop, name="stdlib-server")
        self._acceptor.daemon = True
        self._acceptor.start()

    @property
    def address(self):
        return (self.host, self.port)

    def _install_sni_recorder(self):
        def record(sslsock, name, ctx):
            sslsock._nativetls_sni = name
        if hasattr(self.context, "sni_callback"):  # 3.7+
            if self.context.sni_callback is None:
                self.context.sni_callback = record
        elif hasattr(self.context, "set_servername_callback"):
            self.context.set_servername_callback(record)

    def _accept_loop(self):
        while not self._stop:
            ready = select.select([self.sock], [], [], 0.1)[0]
            if not ready or self._stop:
                continue
            try:
                raw, _ = self.sock.accept()
            except (socket.error, OSError):
                continue
            t = threading.Thread(target=self._serve, args=(raw,), name="stdlib-conn")
            t.daemon = True
            self._threads.append(t)
            t.start()

    def _serve(self, raw):
        record = ConnectionRecord()
        conn = None
        try:
            raw.settimeout(self.timeout)
            # suppress_ragged_eofs=False: a TCP close without close_notify is an error here.
            conn = self.context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False,
                                            suppress_ragged_eofs=False)
            with self._cond:
                self._live.append(raw)
            conn.do_handshake()
            record.version, record.cipher = conn.version(), conn.cipher()[0]
            record.alpn = conn.selected_alpn_protocol()
            record.server_name = getattr(conn, "_nativetls_sni", None)
            record.peer_cert = conn.getpeercert(binary_form=True)
            self.handler(conn, record)
            conn.unwrap()  # our close_notify; returns once the peer's close_notify arrived
            record.clean_close = True
        except Exception as exc:  # recorded for the test to assert on
            record.error = exc
        finally:
            (conn or raw).close()
            with self._cond:
                if raw in self._live:
                    self._live.remove(raw)
                self.connections.append(record)
                self._cond.notify_all()

    def wait_for_connections(self, count=1, timeout=10.0):
        """Waits until ``count`` connections have finished; returns their records."""
        deadline = time.time() + timeout
        with self._cond:
            while len(self.connections) < count and time.time() < deadline:
                self._cond.wait(0.05)
            if len(self.connections) < count:
                raise AssertionError("only %d of %d connections finished" % (len(self.connections), count))
            return list(self.connections)

    def output(self):
        return "\n".join(repr(r) for r in self.connections)

    def stop(self):
        self._stop = True
        self._acceptor.join(5)
        self.sock.close()
        deadline = time.time() + 2.0  # let finishing connections record themselves, then cut the rest
        for t in self._threads:
            t.join(max(0.0, deadline - time.time()))
        with self._cond:
            live = list(self._live)
        for raw in live:
            try:
                raw.shutdown(socket.SHUT_RDWR)
            except (socket.error, OSError):
                pass
        for t in self._threads:
            t.join(self.timeout)


def stdlib_server(cert, key=None, chain=None, tls=None, alpn=None, verify_client_ca=None, ciphers=None,
                  handler=_echo, context=None):
    """A stdlib ``ssl`` server in threads; echoes by default, sends close_notify via ``unwrap()``.

    ``handler(ssl_socket, record)`` replaces the echo loop (return to close cleanly);
    ``context`` replaces the whole ``SSLContext``.
    """
    if context is None:
        context = stdlib_server_context(cert, key, chain, tls, alpn, verify_client_ca, ciphers)
    return _PeerContext(lambda: StdlibServer(context, handler))


# --- the stdlib ssl module as a reference client ---------------------------------------------------

def stdlib_client_context(ca=None, cert=None, key=None, tls=None, alpn=None, check_hostname=True):
    """A verifying client ``ssl.SSLContext`` trusting only ``ca`` (a Credential or PEM path)."""
    ctx = ssl.SSLContext(getattr(ssl, "PROTOCOL_TLS_CLIENT", ssl.PROTOCOL_SSLv23))
    _set_versions(ctx, tls)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.check_hostname = check_hostname
    if ca is not None:
        ctx.load_verify_locations(_ca_path(ca))
    if cert is not None:
        cert_path, key_path, chain_path = _paths(cert, key, None)
        ctx.load_cert_chain(_fullchain(cert, chain_path), key_path)
    if alpn:
        ctx.set_alpn_protocols(_alpn_list(alpn))
    return ctx


def stdlib_connect(address, context, server_hostname="localhost", timeout=10.0):
    """A connected, handshaken stdlib ``SSLSocket``."""
    raw = socket.create_connection(address, timeout=timeout)
    try:
        return context.wrap_socket(raw, server_hostname=server_hostname)
    except Exception:
        raw.close()
        raise


def recv_until(conn, terminator=b"\n", limit=1 << 20):
    """Reads from a socket until ``terminator`` arrives or the peer closes."""
    data = b""
    while terminator not in data and len(data) < limit:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def connect_proxy_handler(conn, record):
    """An HTTPS proxy's connection: CONNECT host:port, then bytes both ways until either side closes."""
    request = recv_until(conn, b"\r\n\r\n")
    record.received += request
    target = request.split(b" ")[1].decode("ascii")
    host, port = target.rsplit(":", 1)
    upstream = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    try:
        while True:
            if not conn.pending():
                readable = select.select([conn, upstream], [], [], 10)[0]
                if not readable:
                    return
            else:
                readable = [conn]
            if conn in readable:
                data = conn.recv(65536)
                if not data:
                    return
                upstream.sendall(data)
            if upstream in readable:
                data = upstream.recv(65536)
                if not data:
                    return
                conn.sendall(data)
    finally:
        upstream.close()
