# -*- coding: utf-8 -*-
"""Fixtures for the SChannel tests, which run in a Windows CPython (under Wine in CI: .ci/wine/test.sh).

Peers and certificates come from the Linux side: ``.ci/wine/peerd.py`` listens on 127.0.0.1 and its port is in
``NATIVETLS_PEERD`` (Wine processes share the host's network). Paths it returns are Linux paths, reached through
Wine's ``Z:`` drive. Run with ``--confcutdir=tests/win`` so the Linux suite's conftest (which needs
``cryptography``) is not loaded here.

Fixtures:
    backend         the SChannel Backend
    peerd           a client of the Linux-side daemon (``.request(op=..., ...)``)
    pki             name -> Windows paths (``.cert``, ``.key``, ``.chain``, ``.fullchain``) of the suite's PKI
    openssl_server  factory: ``openssl_server(cert="server", tls="1.2", alpn=None, mode="rev")`` -> peer
                    (``.port``, ``.output()``, ``.kill()``), stopped after the test
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import json
import os
import socket
import sys

import pytest

# tests/ goes *after* tests/win, so that shared helpers that need only nativetls (``_tls``, ``test_conformance``)
# import here while ``conftest`` stays this file.
TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TESTS_DIR not in sys.path:
    sys.path.append(TESTS_DIR)

ON_WINDOWS = sys.platform == "win32"
UNDER_WINE = False
if ON_WINDOWS:
    import ctypes
    UNDER_WINE = hasattr(ctypes.WinDLL(str("ntdll")), "wine_get_version")


def pytest_report_header(config):
    if not ON_WINDOWS:
        return ["schannel: not on Windows, tests/win is skipped"]
    from nativetls._backend import backend
    b = backend("schannel")
    return ["schannel: %s; versions %s; features %s; peerd %s" % (
        b.native_version, sorted(v.value for v in b.supported_versions), sorted(b.features),
        os.environ.get("NATIVETLS_PEERD", "not set"))]


def pytest_collection_modifyitems(config, items):
    if ON_WINDOWS:
        return
    skip = pytest.mark.skip(reason="SChannel tests need Windows (run them under Wine: .ci/wine/test.sh)")
    here = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        # This hook sees every collected item of the session, not only this directory's: skip only ours.
        if os.path.abspath(str(item.fspath)).startswith(here + os.sep):
            item.add_marker(skip)


def windows_path(path):
    """A Linux path as Wine's Z: drive shows it (unchanged on real Windows)."""
    if UNDER_WINE and path.startswith("/"):
        return "Z:" + path.replace("/", "\\")
    return path


class Peerd(object):
    def __init__(self, port):
        self.port = port

    def request(self, **request):
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        try:
            sock.sendall(json.dumps(request).encode("utf-8") + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            sock.close()
        answer = json.loads(data.decode("utf-8"))
        if "error" in answer:
            raise RuntimeError("peerd: %s" % answer["error"])
        return answer


@pytest.fixture(scope="session")
def backend():
    from nativetls._backend import backend as get
    return get("schannel")


@pytest.fixture(scope="session")
def peerd():
    port = os.environ.get("NATIVETLS_PEERD")
    if not port:
        if os.environ.get("CI"):
            pytest.fail("NATIVETLS_PEERD is not set: run the Windows tests through .ci/wine/test.sh")
        pytest.skip("NATIVETLS_PEERD is not set (start .ci/wine/peerd.py, or use .ci/wine/test.sh)")
    return Peerd(int(port))


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


class _Files(object):
    """One credential of peerd's PKI: paths (``cert``, ``key``, ``chain``, ``fullchain``, ``der``) and, read on
    demand, the bytes the Linux suite's ``_certs.Credential`` offers (``cert_pem``, ``key_pem``, ``cert_der``,
    ``intermediates``), so shared helpers such as ``_tls.chain_of`` work here too."""

    def __init__(self, pki, directory, name):
        base = os.path.join(directory, name)
        self._pki = pki
        self.name = name
        self.cert = self.cert_path = base + ".crt.pem"
        self.key = self.key_path = base + ".key.pem"
        self.chain = self.chain_path = base + ".chain.pem"
        self.fullchain = self.fullchain_path = base + ".fullchain.pem"
        self.der = base + ".crt.der"

    cert_pem = property(lambda self: _read(self.cert))
    key_pem = property(lambda self: _read(self.key))
    cert_der = property(lambda self: _read(self.der))

    @property
    def intermediates(self):
        # peerd's PKI (tests/_certs.StandardPKI) has one intermediate, under which every leaf but these is issued.
        if self.name in ("ca", "intermediate", "self_signed", "untrusted_ca", "untrusted"):
            return []
        return [self._pki["intermediate"]]

    def __repr__(self):
        return "<credential %s>" % self.name


class WinPKI(dict):
    """peerd's PKI by name, as a dict (``pki["server"]``) and by attribute (``pki.server``, as in tests/)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)


@pytest.fixture(scope="session")
def pki(peerd):
    answer = peerd.request(op="pki")
    directory = windows_path(answer["dir"])
    result = WinPKI()
    for name in answer["names"]:
        result[name] = _Files(result, directory, name)
    return result


class Peer(object):
    def __init__(self, peerd, answer):
        self._peerd = peerd
        self.id = answer["id"]
        self.port = answer["port"]
        self.address = ("127.0.0.1", self.port)
        self.stopped = False

    def output(self):
        return self._peerd.request(op="output", id=self.id)["output"]

    def kill(self):
        """SIGKILL the server: its TCP connections end without close_notify."""
        self.stopped = True
        return self._peerd.request(op="kill", id=self.id)["output"]

    def stop(self):
        if not self.stopped:
            self.stopped = True
            return self._peerd.request(op="stop", id=self.id)["output"]


@pytest.fixture
def openssl_server(peerd):
    started = []

    def start(cert="server", tls="1.2", alpn=None, mode="rev", verify_client_ca=None, extra_args=()):
        peer = Peer(peerd, peerd.request(op="openssl", cert=cert, tls=tls, alpn=alpn, mode=mode,
                                         verify_client_ca=verify_client_ca, extra_args=list(extra_args)))
        started.append(peer)
        return peer

    yield start
    for peer in started:
        try:
            peer.stop()
        except Exception:
            pass
