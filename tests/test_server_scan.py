# -*- coding: utf-8 -*-
"""sslyze judges a nativetls server against Mozilla's "intermediate" configuration (issue 3).

``python -m sslyze --mozilla_config=intermediate`` exits 0 only when the server is compliant: TLS 1.2 and 1.3
only, ECDHE + AEAD suites, curves X25519/P-256/P-384, no known vulnerability (renegotiation, compression,
Heartbleed, ROBOT, ...), a certificate of an allowed type and signature that lives at most 366 days and chains to
a trusted root (our test CA, given with ``--certinfo_ca_file``).

sslyze (PyPI) pins its own ``cryptography`` and ``nassl``, so it is installed into a virtual environment of its
own, kept between runs (``$NATIVETLS_SSLYZE_VENV``, else one in the temporary directory), never into the
environment under test. Without network access or a wheel for this Python the test is skipped, except under
CI (``CI`` set), where it fails.
"""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys
import tempfile
import warnings

import pytest

import nativetls

import _peers
from _tls import chain_of
from test_server import NativeServer, echo

pytestmark = [
    # sslyze's current releases (and their pinned cryptography/pycparser) need Python 3.9+; CI's py313 runs it.
    pytest.mark.skipif(sys.version_info < (3, 9), reason="sslyze needs Python 3.9 or later"),
    pytest.mark.skipif("server" not in nativetls.backend().features,
                       reason="this backend cannot act as a TLS server"),
]


def _unavailable(message):
    if os.environ.get("CI"):
        pytest.fail("sslyze is required under CI: %s" % message)
    pytest.skip(message)


def _venv_python(venv):
    return os.path.join(venv, "Scripts", "python.exe") if os.name == "nt" else os.path.join(venv, "bin", "python")


def _has_sslyze(python):
    if not os.path.exists(python):
        return False
    return subprocess.call([python, "-c", "import sslyze"], stdout=subprocess.PIPE, stderr=subprocess.PIPE) == 0


@pytest.fixture(scope="module")
def sslyze_python():
    """A Python interpreter that can run ``-m sslyze`` (installing sslyze into its own venv once)."""
    venv = os.environ.get("NATIVETLS_SSLYZE_VENV") or os.path.join(
        tempfile.gettempdir(), "nativetls-sslyze-py%d%d" % sys.version_info[:2])
    python = _venv_python(venv)
    if _has_sslyze(python):
        return python
    result = _peers.run([sys.executable, "-m", "venv", "--clear", venv], timeout=300)
    if result.returncode != 0:
        _unavailable("cannot make a venv for sslyze: %s" % result.stderr.decode("utf-8", "replace")[-2000:])
    result = _peers.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "sslyze"],
                        timeout=900)
    if result.returncode != 0 or not _has_sslyze(python):
        _unavailable("pip install sslyze failed: %s" % (result.stdout + result.stderr).decode("utf-8", "replace")
                     [-3000:])
    return python


def _scan(python, port, ca_path, server_name="localhost"):
    # "host:port{ip}": connect to 127.0.0.1, send host as SNI and check the certificate against it.
    return _peers.run([python, "-m", "sslyze", "--mozilla_config=intermediate", "--certinfo_ca_file", ca_path,
                       "%s:%d{127.0.0.1}" % (server_name, port)], timeout=600)


@pytest.fixture(scope="module")
def scan_pki(pki):
    """Leaves for the scan: RSA 2048 and ECDSA P-256, SHA-256 signed, valid for 90 days (Mozilla allows 366)."""
    f = pki.factory
    return {
        "rsa": f.leaf(pki.intermediate, "localhost", key="rsa2048", not_before=-1, not_after=89, name="scan-rsa"),
        "ecdsa": f.leaf(pki.intermediate, "localhost", key="p256", not_before=-1, not_after=89, name="scan-ec"),
    }


def _no_extended_master_secret():
    if nativetls.backend().name != "openssl":
        return False
    from nativetls._openssl._lowlevel import VERSION
    return VERSION < 0x10100000


# Mozilla's profiles require the Extended Master Secret extension (RFC 7627), which OpenSSL has from 1.1.0: a 1.0.2
# server is never compliant, whatever nativetls configures.
needs_ems = pytest.mark.skipif(_no_extended_master_secret(),
                               reason="OpenSSL 1.0.2 has no Extended Master Secret (RFC 7627, 1.1.0+)")


@needs_ems
@pytest.mark.parametrize("kinds", [["ecdsa"], ["rsa"], ["ecdsa", "rsa"]], ids=["ecdsa", "rsa", "ecdsa+rsa"])
def test_sslyze_mozilla_intermediate_compliant(pki, scan_pki, sslyze_python, kinds):
    chains = [chain_of(scan_pki[kind]) for kind in kinds]
    context = nativetls.ServerContext(nativetls.TLSConfiguration(certificate_chain=chains))
    with NativeServer(context, handler=echo, timeout=10.0) as srv:
        result = _scan(sslyze_python, srv.port, pki.ca.cert_path)
    output = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert not result.timed_out, output
    assert result.returncode == 0, output
    assert "OK - Compliant." in output, output
    assert srv.stuck == []


@needs_ems
@pytest.mark.parametrize("what", ["tls1.0", "lifespan"])
def test_sslyze_detects_non_compliance(pki, scan_pki, sslyze_python, what):
    """The control: the same scan fails for a server allowing TLS 1.0, or a certificate living 400 days."""
    if what == "tls1.0":
        chain, fields = chain_of(scan_pki["ecdsa"]), {"lowest_supported_version": nativetls.TLSVersion.TLSv1}
        issue = "tls_versions"
    else:
        chain = chain_of(pki.factory.leaf(pki.intermediate, "localhost", key="p256", not_before=-1, not_after=399,
                                          name="scan-long-lived"))
        fields, issue = {}, "maximum_certificate_lifespan"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nativetls.SecurityWarning)  # TLS 1.0 is allowed on purpose here
        context = nativetls.ServerContext(nativetls.TLSConfiguration(certificate_chain=chain, **fields))
    with NativeServer(context, handler=echo, timeout=10.0) as srv:
        result = _scan(sslyze_python, srv.port, pki.ca.cert_path)
    output = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert not result.timed_out, output
    assert result.returncode != 0, output
    assert issue in output, output
