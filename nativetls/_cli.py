# -*- coding: utf-8 -*-
"""The command line: ``python -m nativetls {selftest,info,connect,serve}``.

Every command prints plain words for people and exits 0 only on success; ``connect --json`` is for scripts.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import argparse
import datetime
import json
import socket
import sys
import threading
import time
import warnings

import nativetls
from nativetls._errors import SecurityWarning

__all__ = ["main"]


def _out(text=""):
    print(text)
    sys.stdout.flush()


def _fmt_version(version):
    return version.value if version is not None else "-"


def _fmt_cipher(cipher):
    if cipher is None:
        return "-"
    return getattr(cipher, "name", None) or "0x%04X" % cipher


def _fmt_alpn(proto):
    if proto is None:
        return "-"
    value = proto.value if hasattr(proto, "value") else proto
    return value.decode("ascii", "replace")


def _alpn_list(values):
    return [v.encode("ascii") for v in values] if values else None


def _cert_summary(der, now=None):
    """(subject, issuer, days to expiry) of a DER certificate."""
    cert = nativetls.Certificate.from_buffer(der).asn1
    after = cert.not_valid_after.replace(tzinfo=None)
    now = now or datetime.datetime.utcnow()
    return cert.subject.human_friendly, cert.issuer.human_friendly, (after - now).days


# --- selftest ----------------------------------------------------------------------------------------------------
def _key_exchange(tls):
    """The key-exchange group *tls* (a TLSSocket or TLSBuffer) negotiated, where the native library can tell
    (OpenSSL 3.0+; by name, hybrid ML-KEM groups included, from 3.2), else None."""
    buffer = getattr(tls, "_buffer", tls)
    getter = getattr(buffer, "_negotiated_group", None)
    return getter() if getter is not None else None


def _self_key_exchange():
    """The group this library negotiates with itself by default (an in-memory handshake), or None."""
    from nativetls._throwaway import make_pki
    pki = make_pki(hostnames=("localhost",), days=1, client=False)
    chain = nativetls.SigningChain((nativetls.Certificate.from_buffer(pki.server_cert_pem),
                                    nativetls.PrivateKey.from_buffer(pki.server_key_pem)))
    server = nativetls.ServerContext(nativetls.TLSConfiguration(certificate_chain=chain)).wrap_buffers()
    client = nativetls.ClientContext(nativetls.TLSConfiguration(
        trust_store=nativetls.TrustStore.from_buffer(pki.ca_pem))).wrap_buffers("localhost")
    for _ in range(10):
        for side in (client, server):
            try:
                side.do_handshake()
            except (nativetls.WantReadError, nativetls.WantWriteError):
                pass
        data = client.process_outgoing()
        if data:
            server.process_incoming(data)
        data = server.process_outgoing()
        if data:
            client.process_incoming(data)
        if client.negotiated_tls_version is not None and server.negotiated_tls_version is not None:
            return _key_exchange(client)
    return None


def _serve_one(server_ctx, listener, result):
    try:
        conn, _addr = listener.accept()
        conn.settimeout(10)
        with server_ctx.wrap_socket(conn) as tls:
            data = tls.recv(1024)
            tls.sendall(b"echo: " + data)
            result["server_saw"] = (tls.negotiated_tls_version, tls.getpeercert())
            tls.unwrap().close()
    except Exception as exc:  # reported by the main thread
        result["server_error"] = exc


def cmd_selftest(args):
    from nativetls._throwaway import make_pki
    backend = nativetls.backend()
    _out("backend:          %s" % backend.name)
    _out("native library:   %s (%s)" % (backend.native_version, backend.native_library or "system"))
    pki = make_pki(hostnames=("localhost", "127.0.0.1"), days=2, client=True)
    ca = nativetls.TrustStore.from_buffer(pki.ca_pem)
    server_chain = nativetls.SigningChain((nativetls.Certificate.from_buffer(pki.server_cert_pem),
                                           nativetls.PrivateKey.from_buffer(pki.server_key_pem)))
    client_chain = nativetls.SigningChain((nativetls.Certificate.from_buffer(pki.client_cert_pem),
                                           nativetls.PrivateKey.from_buffer(pki.client_key_pem)))
    alpn = [nativetls.NextProtocol.H2, nativetls.NextProtocol.HTTP1]
    try:
        server_ctx = nativetls.ServerContext(nativetls.TLSConfiguration(
            certificate_chain=server_chain, trust_store=ca, inner_protocols=alpn))
    except nativetls.ConfigurationError:  # a server without ALPN (SecureTransport): test the rest
        server_ctx = nativetls.ServerContext(nativetls.TLSConfiguration(certificate_chain=server_chain, trust_store=ca))
    client_ctx = nativetls.ClientContext(nativetls.TLSConfiguration(
        certificate_chain=client_chain, trust_store=ca, inner_protocols=alpn))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(10)
    result = {}
    thread = threading.Thread(target=_serve_one, args=(server_ctx, listener, result))
    thread.daemon = True
    thread.start()
    verdict_ok = False
    try:
        sock = socket.create_connection(listener.getsockname(), timeout=10)
        with client_ctx.wrap_socket(sock, server_hostname="localhost") as tls:
            tls.sendall(b"ping")
            reply = tls.recv(1024)
            _out("protocol:         %s" % _fmt_version(tls.negotiated_tls_version))
            _out("cipher:           %s" % _fmt_cipher(tls.cipher()))
            _out("key exchange:     %s" % (_key_exchange(tls) or "not reported by this library"))
            _out("ALPN:             %s" % _fmt_alpn(tls.negotiated_protocol()))
            subject, issuer, days = _cert_summary(tls.getpeercert(True))
            _out("peer subject:     %s" % subject)
            _out("peer issuer:      %s (expires in %d day(s))" % (issuer, days))
            _out("application data: sent b'ping', got %r" % (reply,))
            tls.unwrap().close()
        thread.join(10)
        if "server_error" in result:
            raise result["server_error"]
        _out("client cert seen: %s" % (result["server_saw"][1] or {}).get("subject", "-"))
        verdict_ok = reply == b"echo: ping"
    except nativetls.TLSError as exc:
        _out("error:            %s: %s" % (type(exc).__name__, exc))
    finally:
        listener.close()
    # The negative check: the same CA must refuse a name the certificate does not carry.
    refused = False
    try:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(10)
        thread = threading.Thread(target=_serve_one, args=(server_ctx, listener, {}))
        thread.daemon = True
        thread.start()
        sock = socket.create_connection(listener.getsockname(), timeout=10)
        try:
            client_ctx.wrap_socket(sock, server_hostname="wrong.example").close()
        except nativetls.CertificateVerificationError as exc:
            refused = exc.reason == "hostname_mismatch"
        finally:
            sock.close()
            thread.join(10)
            listener.close()
    except Exception as exc:
        _out("error in the negative check: %s" % exc)
    _out("wrong host name:  %s" % ("rejected (hostname_mismatch), as it must be" if refused else "NOT REJECTED"))
    ok = verdict_ok and refused
    _out("verdict:          %s" % ("OK: verified TLS handshake on the native stack" if ok else "FAILED"))
    return 0 if ok else 1


# --- info --------------------------------------------------------------------------------------------------------
def cmd_info(args):
    backend = nativetls.backend()
    trust = backend.describe_trust_store() if backend.describe_trust_store else {}
    info = {
        "backend": backend.name,
        "native_version": backend.native_version,
        "native_library": backend.native_library,
        "supported_versions": sorted(v.value for v in backend.supported_versions),
        "features": sorted(backend.features),
        "key_exchange": None,
        "trust_store": trust,
        "python": sys.version.split()[0],
        "nativetls": nativetls.__version__,
    }
    if "server" in backend.features:
        try:
            info["key_exchange"] = _self_key_exchange()
        except Exception:  # a broken library shows in selftest; info still reports the rest
            pass
    if args.json:
        _out(json.dumps(info, indent=2, sort_keys=True))
        return 0
    _out("nativetls %s on Python %s" % (info["nativetls"], info["python"]))
    _out("backend:            %s" % info["backend"])
    _out("native library:     %s (%s)" % (info["native_version"], info["native_library"] or "system"))
    _out("supported versions: %s" % ", ".join(info["supported_versions"]))
    _out("features:           %s" % ", ".join(info["features"]))
    _out("key exchange:       %s" % ("%s (by default, with itself)" % info["key_exchange"] if info["key_exchange"]
                                     else "not reported by this library"))
    _out("trust store:        %s" % trust.get("location", "-"))
    _out("                    %s, %s root certificate(s)" % (trust.get("source", "-"), trust.get("roots", "?")))
    return 0


# --- connect -----------------------------------------------------------------------------------------------------
def _split_target(target, default_port=443):
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else default_port
    if target.count(":") == 1:
        host, port = target.split(":")
        return host, int(port)
    return target, default_port


def _handshake(host, port, configuration, server_hostname, timeout, session=None):
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SecurityWarning)
            context = nativetls.ClientContext(configuration)
        return context.wrap_socket(sock, server_hostname, session=session)
    except BaseException:
        sock.close()
        raise


def cmd_connect(args):
    host, port = _split_target(args.target)
    server_name = args.servername or host
    trust = nativetls.TrustStore.from_file(args.cafile) if args.cafile else None
    configuration = nativetls.TLSConfiguration(trust_store=trust, inner_protocols=_alpn_list(args.alpn))
    report = {"host": host, "port": port, "server_name": server_name, "verified": False, "reason": None}
    try:
        tls = _handshake(host, port, configuration, server_name, args.timeout)
        report["verified"] = True
    except nativetls.CertificateVerificationError as exc:
        report["reason"], report["error"] = exc.reason, str(exc)
        tls = _handshake(host, port, configuration.update(validate_certificates=False), server_name, args.timeout)
    except (nativetls.TLSError, socket.error, OSError) as exc:
        report["reason"], report["error"] = "handshake_failed", "%s: %s" % (type(exc).__name__, exc)
        return _print_connect(report, args)
    with tls:
        report["protocol"] = _fmt_version(tls.negotiated_tls_version)
        report["cipher"] = _fmt_cipher(tls.cipher())
        report["key_exchange"] = _key_exchange(tls)
        report["alpn"] = None if tls.negotiated_protocol() is None else _fmt_alpn(tls.negotiated_protocol())
        report["chain"] = [dict(zip(("subject", "issuer", "days_to_expiry"), _cert_summary(der)))
                           for der in tls.getpeercertchain() or ()]
        session = _wait_for_session(tls)
    report["resumption"] = _try_resumption(host, port, configuration, server_name, args.timeout, session,
                                           report["verified"])
    return _print_connect(report, args)


def _wait_for_session(tls):
    """TLS 1.3 tickets come after the handshake: give the server a moment to send them."""
    if tls.session is not None:
        return tls.session
    tls.settimeout(0.5)
    try:
        tls.recv(1)
    except Exception:
        pass
    return tls.session


def _try_resumption(host, port, configuration, server_name, timeout, session, verified):
    if session is None:
        return "not offered by the server"
    if not verified:
        configuration = configuration.update(validate_certificates=False)
    try:
        with _handshake(host, port, configuration, server_name, timeout, session=session) as again:
            return "supported (session resumed)" if again.session_reused else "not accepted by the server"
    except Exception as exc:
        return "failed: %s" % exc


def _print_connect(report, args):
    if args.json:
        _out(json.dumps(report, indent=2, sort_keys=True))
        return 0 if report["verified"] else 1
    _out("connected to %s port %d (server name %s)" % (report["host"], report["port"], report["server_name"]))
    if "protocol" in report:
        _out("protocol:   %s" % report["protocol"])
        _out("cipher:     %s" % report["cipher"])
        _out("key exchange: %s" % (report["key_exchange"] or "not reported by this library"))
        _out("ALPN:       %s" % (report["alpn"] or "none"))
        _out("chain:      %d certificate(s) sent by the server" % len(report["chain"]))
        for depth, cert in enumerate(report["chain"]):
            _out("  %d subject: %s" % (depth, cert["subject"]))
            _out("    issuer:  %s" % cert["issuer"])
            _out("    expires in %d day(s)" % cert["days_to_expiry"])
        _out("resumption: %s" % report.get("resumption"))
    if report["verified"]:
        _out("verdict:    OK, certificate verified for %s" % report["server_name"])
        return 0
    _out("verdict:    FAILED (%s): %s" % (report["reason"], report.get("error")))
    return 1


# --- serve -------------------------------------------------------------------------------------------------------
# What a connection gets is decided on its first bytes: a request line's method means HTTP, anything else is echoed.
# Clients may send each byte in a TLS record of its own (tlsfuzzer does, on purpose), so the decision waits for as
# many bytes as it takes, and an HTTP request head is buffered until its blank line, the client's EOF, _HEAD_LIMIT
# bytes, or _HEAD_TIMEOUT seconds, whichever comes first. Each connection has its own thread: a client that never
# sends (or never finishes its handshake) holds up only its own thread.
_HTTP_METHODS = (b"GET ", b"HEAD ", b"POST ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ", b"TRACE ")
_HEAD_LIMIT = 64 * 1024
_HEAD_TIMEOUT = 5.0
_HTTP_BODY = b"nativetls serve: hello\n"


def _classify(data):
    """``"http"``, ``"echo"``, or None while *data* could still become an HTTP request line."""
    for method in _HTTP_METHODS:
        if data.startswith(method):
            return "http"
    if any(method.startswith(data) for method in _HTTP_METHODS):
        return None
    return "echo"


def _head_complete(data):
    return b"\r\n\r\n" in data or b"\n\n" in data


def _recv_until(tls, data, done, limit, seconds):
    """Receive onto *data* until ``done(data)``, EOF, *limit* bytes or *seconds*; returns (data, eof)."""
    saved = tls.gettimeout()
    deadline = time.time() + seconds
    try:
        while not done(data) and len(data) < limit:
            remaining = deadline - time.time()
            if remaining <= 0:
                break
            tls.settimeout(remaining if saved is None else min(saved, remaining))
            try:
                more = tls.recv(65536)
            except socket.timeout:
                break
            if not more:
                return data, True
            data += more
    finally:
        tls.settimeout(saved)
    return data, False


def _http_response(request):
    """One complete response (sent in one write, so one record) to the buffered request head."""
    response = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n" % len(_HTTP_BODY))
    return response if request.startswith(b"HEAD ") else response + _HTTP_BODY


def _echo(tls, data, eof):
    while data:
        tls.sendall(data)
        if eof:
            return
        data = tls.recv(65536)


def _handle(conn, address, context, names, lock, timeout):
    conn.settimeout(timeout)
    try:
        tls = context.wrap_socket(conn, do_handshake_on_connect=False)
    except Exception as exc:
        _out("%s:%d failed: %s" % (address[0], address[1], exc))
        conn.close()
        return
    try:
        tls.do_handshake()
        peer = tls.getpeercert()
        with lock:
            sni = names.pop(id(tls.buffer), None)
        _out("%s:%d %s %s alpn=%s sni=%s client=%s" % (
            address[0], address[1], _fmt_version(tls.negotiated_tls_version), _fmt_cipher(tls.cipher()),
            _fmt_alpn(tls.negotiated_protocol()), sni or "-",
            dict(x[0] for x in peer["subject"]).get("commonName", "?") if peer else "-"))
        data = tls.recv(65536)
        eof = not data
        if data and _classify(data) is None:  # the first bytes of what may be a method: wait for the rest
            data, eof = _recv_until(tls, data, lambda d: _classify(d) is not None, _HEAD_LIMIT, _HEAD_TIMEOUT)
        if data and _classify(data) == "http":
            if not eof:
                data, eof = _recv_until(tls, data, _head_complete, _HEAD_LIMIT, _HEAD_TIMEOUT)
            tls.sendall(_http_response(data))
        else:
            _echo(tls, data, eof)
    except Exception as exc:
        _out("%s:%d failed: %s: %s" % (address[0], address[1], type(exc).__name__, exc))
    finally:
        tls.close()  # sends close_notify


def cmd_serve(args):
    from nativetls._throwaway import make_pki
    if bool(args.cert) != bool(args.key):
        _out("serve: --cert and --key go together")
        return 2
    if args.cert:
        chain = nativetls.SigningChain.from_pem_files(args.cert, args.key)
    else:
        pki = make_pki(hostnames=("localhost", args.host), days=7, client=False)
        chain = nativetls.SigningChain((nativetls.Certificate.from_buffer(pki.server_cert_pem),
                                        nativetls.PrivateKey.from_buffer(pki.server_key_pem)))
        if args.write_ca:
            with open(args.write_ca, "wb") as handle:
                handle.write(pki.ca_pem)
    names, lock = {}, threading.Lock()

    def remember_sni(buffer, server_name, configuration):
        with lock:
            names[id(buffer)] = server_name
        return configuration

    configuration = nativetls.TLSConfiguration(
        certificate_chain=chain, inner_protocols=_alpn_list(args.alpn), sni_callback=remember_sni,
        trust_store=nativetls.TrustStore.from_file(args.client_ca) if args.client_ca else None)
    context = nativetls.ServerContext(configuration)
    listener = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(128)
    _out("listening on %s port %d (backend %s)" % (args.host, listener.getsockname()[1], nativetls.backend().name))
    served = 0
    try:
        while args.max_connections is None or served < args.max_connections:
            conn, address = listener.accept()
            served += 1
            worker = threading.Thread(target=_handle, args=(conn, address, context, names, lock, args.timeout))
            worker.daemon = args.max_connections is None
            worker.start()
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m nativetls",
                                     description="TLS over this machine's native TLS stack.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    selftest = commands.add_parser("selftest", help="a verified loopback handshake with a throwaway CA",
                                   description="Make a throwaway CA, run a loopback server and client on the "
                                               "native backend, and print what was negotiated.")
    selftest.set_defaults(func=cmd_selftest)
    info = commands.add_parser("info", help="backend, library, versions, features and trust store",
                               description="Describe the backend in use and what it supports.")
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=cmd_info)
    connect = commands.add_parser("connect", help="connect to HOST[:PORT] and report, like openssl s_client",
                                  description="Connect, verify, and say what was negotiated; exit 0 only if the "
                                              "certificate was verified.")
    connect.add_argument("target", metavar="HOST[:PORT]")
    connect.add_argument("--cafile", help="trust only the certificates in this PEM file")
    connect.add_argument("--alpn", nargs="+", metavar="P", help="ALPN protocols to offer")
    connect.add_argument("--servername", help="the name to verify and send as SNI (default: HOST)")
    connect.add_argument("--timeout", type=float, default=10.0, help="socket timeout in seconds (default 10)")
    connect.add_argument("--json", action="store_true", help="print JSON")
    connect.set_defaults(func=cmd_connect)
    serve = commands.add_parser("serve", help="a TLS echo/HTTPS test server",
                                description="Serve TLS: answer HTTP requests with one complete response, echo "
                                            "anything else; one line per connection.")
    serve.add_argument("--cert", help="PEM file: leaf certificate followed by intermediates")
    serve.add_argument("--key", help="PEM private key for --cert")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8443, help="port (default 8443; 0 picks one)")
    serve.add_argument("--alpn", nargs="+", metavar="P", help="ALPN protocols, in preference order")
    serve.add_argument("--client-ca", help="require client certificates issued by the CAs in this PEM file")
    serve.add_argument("--write-ca", help="with the throwaway certificate: write its CA (PEM) to this file")
    serve.add_argument("--max-connections", type=int, default=None, help="exit after this many connections")
    serve.add_argument("--timeout", type=float, default=30.0, help="per-connection socket timeout (default 30)")
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv=None):
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ImportError as exc:
        _out("nativetls: %s" % exc)
        return 3
