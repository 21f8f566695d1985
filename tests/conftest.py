"""Shared fixtures: the session PKI and real TLS peers (see _certs.py and _peers.py).

``tests`` is not a package: this directory goes first on sys.path so tests can
``import _certs`` and ``import _peers``; ``nativetls`` itself is imported from the
installed package (tox installs it), never from the source tree.

Fixtures:
    pki              session: _certs.StandardPKI (pki.ca, pki.intermediate, pki.server,
                     pki.client, pki.expired, pki.not_yet_valid, pki.wrong_host,
                     pki.cn_only, pki.ip_only, pki.revoked, pki.self_signed,
                     pki.untrusted_ca, pki.untrusted, pki.crl, pki.root_crl,
                     pki.crls_path, pki.factory)
    cert_factory     function: a fresh _certs.CertFactory in tmp_path, for one-off certs
    openssl_server   `openssl s_server -rev` serving pki.server (replies lines reversed)
    gnutls_server    `gnutls-serv --echo` serving pki.server
    stdlib_server    stdlib ssl echo server serving pki.server (records connections)
    peers            the _peers module, for servers with other options
    mac_double       function: the SecureTransport double enabled, its leak counters checked after the test

A peer whose tool is missing is skipped, except under CI (CI set), where it fails.
"""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if os.environ.get("TOX_ENV_DIR"):
    # Under tox, test the installed package: the source tree must not shadow it (pytest-xdist
    # workers on 2.7 start with the current directory, the project root, on sys.path).
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != ROOT]
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import _libssl_override  # noqa: E402

_libssl_override.apply()  # NATIVETLS_TEST_OPENSSL=1.0.2|1.1.1|3.5: load that pinned OpenSSL instead of the system's

import pytest  # noqa: E402

import _certs  # noqa: E402
import _mac_double  # noqa: E402
import _peers  # noqa: E402

if os.environ.get(_mac_double.SESSION_VARIABLE):
    # The macdouble tox envs: the SecureTransport double is the macOS frameworks for the whole session, set
    # before any test loads the backend (NATIVETLS_MAC_FRAMEWORKS; see tests/_mac_double.py).
    _mac_double.enable()

# tests/win runs inside a Windows CPython (.ci/wine/test.sh, with --confcutdir=tests/win); its
# conftest must never load in the Linux session (its hooks would apply to every test here).
collect_ignore = ["win", "support"]


def _tool_version(argv):
    try:
        out = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT).communicate()[0]
        return out.decode("utf-8", "replace").splitlines()[0].strip()
    except (OSError, IndexError):
        return "missing"


def pytest_report_header(config):
    import ssl

    try:
        import nativetls
        where = os.path.dirname(os.path.abspath(nativetls.__file__))
    except Exception as exc:  # the header must never break the run
        where = "not importable (%s: %s)" % (type(exc).__name__, exc)
    try:
        import cryptography
        crypto = cryptography.__version__
    except ImportError:
        crypto = "missing"
    return [
        "nativetls: %s" % where,
        "ssl: %s; cryptography %s" % (ssl.OPENSSL_VERSION, crypto),
        "peers: %s; %s" % (_tool_version(["openssl", "version"]), _tool_version(["gnutls-serv", "--version"])),
    ]


require_tool = _peers.require_tool  # kept for older imports; use _peers.require_tool


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return _certs.StandardPKI(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture
def cert_factory(tmp_path):
    return _certs.CertFactory(str(tmp_path))


@pytest.fixture
def peers():
    return _peers


@pytest.fixture
def mac_double():
    """The SecureTransport double, built and set as NATIVETLS_MAC_FRAMEWORKS: its _mac_double.Counters. The test
    fails if it leaves a CF object alive, over-releases one, or leaves a keychain file. Skipped without gcc or
    libssl-dev (a failure under CI)."""
    saved = os.environ.get(_mac_double.OVERRIDE_VARIABLE)
    try:
        _mac_double.enable()
    except _mac_double.DoubleUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    counters = _mac_double.Counters()
    before = counters.snapshot()
    yield counters
    if saved is None:
        os.environ.pop(_mac_double.OVERRIDE_VARIABLE, None)
    else:
        os.environ[_mac_double.OVERRIDE_VARIABLE] = saved
    counters.check_clean(before)


@pytest.fixture
def openssl_server(pki):
    require_tool("openssl")
    with _peers.openssl_s_server(pki.server) as server:
        yield server


@pytest.fixture
def gnutls_server(pki):
    require_tool("gnutls-serv")
    with _peers.gnutls_serv(pki.server) as server:
        yield server


@pytest.fixture
def stdlib_server(pki):
    with _peers.stdlib_server(pki.server) as server:
        yield server


# --- features the native library lacks (OpenSSL 1.0.2: no TLS 1.3) -----------------------------------------------
# A test parametrised over a TLS 1.3 value ("1.3" or TLSVersion.TLSv1_3, in a parameter naming a version), or marked
# ``@pytest.mark.needs("feature", ...)``, skips with the reason when backend().features lacks that feature.
_VERSION_PARAMS = ("version", "tls", "tls_version", "protocol")


def _tls13_param(item):
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return False
    for name, value in callspec.params.items():
        if name in _VERSION_PARAMS and (value == "1.3" or getattr(value, "name", None) == "TLSv1_3"):
            return True
        if isinstance(value, dict) and any(getattr(v, "name", None) == "TLSv1_3" for v in value.values()):
            return True  # configuration fields naming TLS 1.3
    return False


def _chacha_param(item):
    """A parameter naming a ChaCha20-Poly1305 suite (OpenSSL has them from 1.1.0)."""
    callspec = getattr(item, "callspec", None)
    return callspec is not None and any("CHACHA20" in (getattr(v, "name", None) or str(v)).upper()
                                        for v in callspec.params.values())


def pytest_configure(config):
    config.addinivalue_line("markers", "needs(*features): skip unless backend().features has every one")


def pytest_runtest_setup(item):
    needed = set()
    for mark in item.iter_markers("needs"):
        needed.update(mark.args)
    if _tls13_param(item):
        needed.add("tls1_3")
    import nativetls
    if _chacha_param(item) and nativetls.backend().name == "openssl":
        from nativetls._openssl import _lowlevel
        if _lowlevel.VERSION < 0x10100000:
            pytest.skip("%s has no ChaCha20-Poly1305 suites" % _lowlevel.VERSION_TEXT)
    if not needed:
        return
    backend = nativetls.backend()
    missing = sorted(needed - backend.features)
    if missing:
        pytest.skip("%s has no %s (backend().features)" % (backend.native_version, ", ".join(missing)))
