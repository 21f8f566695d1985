"""x509-limbo through real handshakes: the case runner shared by ``limbo_runner.py`` and ``test_limbo.py``.

One case is one pair of in-memory TLS handshakes over memory BIOs (no sockets, deterministic):

* ``SERVER`` cases: a stdlib ``ssl`` server (``SSLObject``, ``@SECLEVEL=0`` so that it can load any key the case
  has) presents the peer certificate followed by the untrusted intermediates, in the corpus's order. Two clients
  talk to it, one after the other: nativetls (trusting only the case's roots, asking for the expected peer name)
  and the stdlib ``ssl`` module configured as the API promises nativetls is (``create_default_context`` +
  ``VERIFY_X509_STRICT`` + ``VERIFY_X509_PARTIAL_CHAIN``, ``hostname_checks_common_name = False``).
* ``CLIENT`` cases: mutual TLS. A stdlib client presents the peer chain; the verdict is the server's: a nativetls
  ``ServerContext`` with ``trust_store`` = the roots, and the stdlib server with the same flags and
  ``CERT_REQUIRED``.

Both clients (or servers) run in the same process, on the same libssl, at the same (possibly faked) time.
A verdict is ``{"result": "SUCCESS"|"FAILURE"|"UNRUNNABLE", "kind": ..., "code": ..., "detail": ...}``:
``kind`` is ``"ok"``, ``"verify"`` (a certificate verification error, ``code`` = X509_V_ERR), ``"tls"`` (another
handshake failure) or ``"harness"`` (the case could not be staged, e.g. the server refused to load the key).

CRLs (``crl::`` cases) are given to nativetls with ``TrustStore.with_crls`` and to the stdlib module in its CA file
with ``VERIFY_CRL_CHECK_CHAIN`` (the same X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL nativetls sets).
"""
from __future__ import absolute_import, division, print_function

import json
import os
import ssl
import tempfile

import nativetls

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "data", "limbo.json")  # with its licence, limbo.LICENSE (data/README.md)
EXCEPTIONS = os.path.join(HERE, "limbo_exceptions.json")

# The server may use any key and protocol the case needs; the clients are the ones under test.
_SERVER_CIPHERS = "ALL:@SECLEVEL=0"
_ROUNDS = 16


def corpus_path():
    return os.path.normpath(os.environ.get("NATIVETLS_LIMBO", CORPUS))


def load_cases(path=None):
    with open(path or corpus_path()) as f:
        return json.load(f)["testcases"]


def runnable(case):
    """Cases a handshake can stage: those with the peer's private key."""
    return bool(case.get("peer_certificate_key"))


def load_exceptions(path=EXCEPTIONS):
    with open(path) as f:
        return json.load(f)["exceptions"]


def epoch(key):
    """Seconds since the epoch for a ``batch_key`` ("YYYY-MM-DD hh:mm:ss", UTC)."""
    import calendar
    import time
    return calendar.timegm(time.strptime(key, "%Y-%m-%d %H:%M:%S"))


def batch_key(case):
    """The validation time as libfaketime's frozen absolute time (whole seconds, UTC), or None for "now".

    X.509 times have whole seconds and OpenSSL compares ``time_t``, so a fractional validation time is truncated
    (limbo's ``notbefore-fractional``/``notafter-fractional`` expect exactly that reading).
    """
    when = case.get("validation_time")
    if not when:
        return None
    return when.replace("T", " ")[:19]


# --- the wire --------------------------------------------------------------------------------------------

class _StdlibEnd(object):
    """An ssl.SSLObject over memory BIOs, with the TLSBuffer surface the wire below uses."""

    def __init__(self, context, server_side, server_hostname=None):
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = context.wrap_bio(self.incoming, self.outgoing, server_side=server_side,
                                    server_hostname=server_hostname)

    def process_incoming(self, data):
        self.incoming.write(data)

    def process_outgoing(self):
        return self.outgoing.read()

    def step(self):
        """True when the handshake is done; False when it wants data; raises on failure."""
        try:
            self.obj.do_handshake()
            return True
        except ssl.SSLWantReadError:
            return False


class _NativeEnd(object):
    def __init__(self, buffer):
        self.obj = buffer

    def process_incoming(self, data):
        self.obj.process_incoming(data)

    def process_outgoing(self):
        return self.obj.process_outgoing()

    def step(self):
        try:
            self.obj.do_handshake()
            return True
        except nativetls.WantReadError:
            return False


def _run(client, server):
    """Drive both ends until the wire is quiet; returns (client_exc, server_exc, names of the ends that finished).

    A failed end is not stepped again, but its alert still travels: the other end reads it and fails too.
    """
    ends = {"client": client, "server": server}
    done, errors = set(), {}
    for _ in range(_ROUNDS):
        for name in ("client", "server"):
            if name in done or name in errors:
                continue
            try:
                if ends[name].step():
                    done.add(name)
            except Exception as exc:  # the verdict, kept for classification
                errors[name] = exc
        moved = False
        for src, dst in (("client", "server"), ("server", "client")):
            data = ends[src].process_outgoing()
            if data and dst not in errors:
                ends[dst].process_incoming(data)
                moved = True
        if not moved:
            break
    return errors.get("client"), errors.get("server"), done


# --- the two implementations under comparison ------------------------------------------------------------

def _pem_list(items):
    return "".join(items).encode("ascii")


def _native_verdict(exc, done, side):
    if exc is None and side in done:
        return {"result": "SUCCESS", "kind": "ok", "code": None, "detail": None}
    if isinstance(exc, nativetls.CertificateVerificationError):
        return {"result": "FAILURE", "kind": "verify", "code": exc.native_code, "detail": exc.reason + ": " + str(exc)}
    if exc is None:
        return {"result": "FAILURE", "kind": "tls", "code": None, "detail": "the handshake did not finish"}
    if isinstance(exc, nativetls.TLSError):
        return {"result": "FAILURE", "kind": "tls", "code": None, "detail": str(exc)}
    return {"result": "FAILURE", "kind": "error", "code": None, "detail": "%s: %s" % (type(exc).__name__, exc)}


def _stdlib_verdict(exc, done, side):
    if exc is None and side in done:
        return {"result": "SUCCESS", "kind": "ok", "code": None, "detail": None}
    if isinstance(exc, ssl.SSLCertVerificationError):
        return {"result": "FAILURE", "kind": "verify", "code": exc.verify_code, "detail": exc.verify_message}
    if exc is None:
        return {"result": "FAILURE", "kind": "tls", "code": None, "detail": "the handshake did not finish"}
    if isinstance(exc, ssl.SSLError):
        return {"result": "FAILURE", "kind": "tls", "code": None, "detail": str(exc)}
    return {"result": "FAILURE", "kind": "error", "code": None, "detail": "%s: %s" % (type(exc).__name__, exc)}


def harness_error(message):
    return {"result": "UNRUNNABLE", "kind": "harness", "code": None, "detail": message}


def _peer_name(case):
    """(nativetls server_hostname, stdlib server_hostname or None, check_hostname) for the expected peer name."""
    name = case.get("expected_peer_name")
    if not name:
        return None, None, False
    if name["kind"] not in ("DNS", "IP"):
        return None, None, False
    return name["value"], name["value"], True


class _Files(object):
    """Temporary PEM files for one case (the stdlib module loads keys and chains from files)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="limbo-")
        self._n = 0

    def write(self, data):
        self._n += 1
        path = os.path.join(self.dir, "f%d.pem" % self._n)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("ascii"))
        return path

    def close(self):
        for name in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, name))
        os.rmdir(self.dir)


def _strict(context):
    context.verify_flags |= ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


def _stdlib_verifier(case, files, purpose):
    """The reference: the stdlib module with the flags nativetls documents (same libssl)."""
    cafile = files.write(_pem_list(case["trusted_certs"]) + _pem_list(case["crls"]))
    context = _strict(ssl.create_default_context(purpose, cafile=cafile))
    context.hostname_checks_common_name = False
    if case["crls"]:
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN
    return context


def _native_trust(case):
    store = nativetls.TrustStore.from_buffer(_pem_list(case["trusted_certs"]))
    if case["crls"]:
        store = store.with_crls(_pem_list(case["crls"]))
    return store


def _presenter(case, files, server_side):
    """A stdlib context presenting the case's peer chain (leaf, then intermediates as given)."""
    chain = files.write(case["peer_certificate"].encode("ascii") + _pem_list(case["untrusted_intermediates"]))
    key = files.write(case["peer_certificate_key"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server_side else ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(_SERVER_CIPHERS)
    if not server_side:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(chain, key)
    return context


def run_server_case(case, files):
    """A SERVER case: one stdlib server, a nativetls client, then a stdlib client."""
    host, std_host, check = _peer_name(case)
    try:
        server_ctx = _presenter(case, files, server_side=True)
    except Exception as exc:
        # libssl refuses to load some malformed certificates (duplicate extensions, a SAN that is not DER):
        # a pure-Python server (tlslite-ng) can still present them, and the clients' verdicts are what counts.
        try:
            return run_server_case_tlslite(case, host, std_host, check, files)
        except ImportError:
            return (harness_error("the stdlib server refused the peer certificate/key (%s) and tlslite-ng is not "
                                  "installed" % exc),) * 2
    try:
        client = nativetls.ClientContext(nativetls.TLSConfiguration(trust_store=_native_trust(case)))
        buffer = client.wrap_buffers(host)
    except ValueError as exc:  # a trust store, CRL or host name nativetls refuses before any handshake
        native = {"result": "FAILURE", "kind": "config", "code": None, "detail": "%s: %s" % (type(exc).__name__, exc)}
    else:
        try:
            c_exc, s_exc, done = _run(_NativeEnd(buffer), _StdlibEnd(server_ctx, True))
            native = _native_verdict(c_exc, done, "client")
            _blame_server(native, s_exc, c_exc)
        finally:
            buffer.close()
    try:
        std_ctx = _stdlib_verifier(case, files, ssl.Purpose.SERVER_AUTH)
        std_ctx.check_hostname = check
        end = _StdlibEnd(std_ctx, False, std_host)
    except (ValueError, ssl.SSLError) as exc:
        std = {"result": "FAILURE", "kind": "config", "code": None, "detail": "%s: %s" % (type(exc).__name__, exc)}
    else:
        c_exc, s_exc, done = _run(end, _StdlibEnd(server_ctx, True))
        std = _stdlib_verdict(c_exc, done, "client")
        _blame_server(std, s_exc, c_exc)
    return native, std


def run_server_case_tlslite(case, host, std_host, check, files):
    """A SERVER case presented by tlslite-ng over a socketpair (for certificates libssl will not load)."""
    import socket
    import threading
    from tlslite.api import TLSConnection, X509, X509CertChain, parsePEMKey

    certs = X509CertChain([X509().parse(pem) for pem in [case["peer_certificate"]] + case["untrusted_intermediates"]])
    key = parsePEMKey(case["peer_certificate_key"], private=True)

    def exchange(connect):
        ours, theirs = socket.socketpair()
        ours.settimeout(10)
        theirs.settimeout(10)
        server_error = []

        def serve():
            try:
                TLSConnection(theirs).handshakeServer(certChain=certs, privateKey=key)
            except Exception as exc:  # usually the client's alert
                server_error.append(exc)
            finally:
                theirs.close()

        thread = threading.Thread(target=serve)
        thread.start()
        try:
            connect(ours)
            return None
        except Exception as exc:
            return exc
        finally:
            ours.close()
            thread.join(10)

    try:
        client = nativetls.ClientContext(nativetls.TLSConfiguration(trust_store=_native_trust(case)))
    except ValueError as exc:
        native = {"result": "FAILURE", "kind": "config", "code": None, "detail": "%s: %s" % (type(exc).__name__, exc)}
    else:
        exc = exchange(lambda sock: client.wrap_socket(sock, host).close())
        native = _native_verdict(exc, () if exc else ("client",), "client")
    std_ctx = _stdlib_verifier(case, files, ssl.Purpose.SERVER_AUTH)
    std_ctx.check_hostname = check
    exc = exchange(lambda sock: std_ctx.wrap_socket(sock, server_hostname=std_host).close())
    std = _stdlib_verdict(exc, () if exc else ("client",), "client")
    for verdict in (native, std):
        verdict["presenter"] = "tlslite-ng"
    return native, std


def _blame_server(verdict, server_exc, client_exc):
    """A client failure caused by the *server* failing first (it sent the alert) is a harness problem."""
    if verdict["kind"] == "tls" and server_exc is not None and not _is_alert_from_peer(server_exc):
        verdict.update(result="UNRUNNABLE", kind="harness",
                       detail="the presenting side failed first: %s (client saw: %s)" % (server_exc, client_exc))


def _is_alert_from_peer(exc):
    """Whether a presenting side's error is only the alert the verifier sent it (OpenSSL: "... alert ...")."""
    return "ALERT" in str(exc).upper()


def run_client_case(case, files):
    """A CLIENT case: the stdlib client presents the peer chain; a nativetls server, then a stdlib server, judge."""
    try:
        client_ctx = _presenter(case, files, server_side=False)
    except Exception as exc:
        return harness_error("the stdlib client refused the peer certificate/key: %s" % exc), harness_error("same")
    credential = _server_credential(files)
    server = nativetls.ServerContext(nativetls.TLSConfiguration(
        certificate_chain=credential, trust_store=_native_trust(case)))
    buffer = server.wrap_buffers()
    try:
        c_exc, s_exc, done = _run(_StdlibEnd(client_ctx, False), _NativeEnd(buffer))
        native = _native_verdict(s_exc, done, "server")
    finally:
        buffer.close()
    std_server = _stdlib_verifier(case, files, ssl.Purpose.CLIENT_AUTH)
    std_server.verify_mode = ssl.CERT_REQUIRED
    std_server.load_cert_chain(files.write(_SERVER_PEM[0]), files.write(_SERVER_PEM[1]))
    c_exc, s_exc, done = _run(_StdlibEnd(client_ctx, False), _StdlibEnd(std_server, True))
    std = _stdlib_verdict(s_exc, done, "server")
    return native, std


_SERVER_PEM = []


def _server_credential(files):
    """A throwaway server certificate for CLIENT cases (the client does not verify it)."""
    if not _SERVER_PEM:
        import datetime
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, u"limbo server")])
        start = datetime.datetime(1970, 1, 1)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(1).not_valid_before(start).not_valid_after(datetime.datetime(2999, 1, 1))
                .sign(key, hashes.SHA256()))
        _SERVER_PEM.extend([cert.public_bytes(serialization.Encoding.PEM),
                            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())])
    return nativetls.SigningChain((nativetls.Certificate.from_buffer(_SERVER_PEM[0]),
                                   nativetls.PrivateKey.from_buffer(_SERVER_PEM[1])))


def run_case(case):
    """(nativetls verdict, stdlib verdict) for one case."""
    files = _Files()
    try:
        if case["validation_kind"] == "CLIENT":
            return run_client_case(case, files)
        return run_server_case(case, files)
    finally:
        files.close()
