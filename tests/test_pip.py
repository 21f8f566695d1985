"""``python -m nativetls.pip``: pip installing over HTTPS on a Python whose ssl module cannot be imported.

The setup is the one the mission is about: a fresh virtual environment (virtualenv; pip 20.3.4 on Python 2.7, the
current pip on Python 3), whose interpreter cannot import ``ssl`` or ``_ssl`` (a ``.pth`` file installs an import
blocker before anything else runs), installs a wheel built here from a "simple" package index served over HTTPS on
127.0.0.1 with the session's private CA (the stdlib ``ssl`` module, in this test process, is the server).

nativetls (and asn1crypto, enum34 on 2.7) reach the environment through a ``.pth`` file pointing at a directory of
symlinks to exactly those packages, so nothing else of the test environment leaks in. The helpers are in
tests/_pipenv.py (tests/test_pyz.py uses them too).
"""
from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

import pytest

import _peers
import nativetls
from _pipenv import (PACKAGE, MODULE, PY2, UNTRUSTED_MESSAGE, IndexServer, build_wheel, index_files,
                     make_environment, package_dir)
from _pipenv import run as _run


@pytest.fixture(scope="module")
def setup(pki, tmp_path_factory):
    root = str(tmp_path_factory.mktemp("pip"))
    python = make_environment(root)
    wheel = build_wheel(root)
    context = _peers.stdlib_server_context(pki.server)
    server = IndexServer(index_files(wheel), context)
    try:
        yield python, server
    finally:
        server.stop()


def _pip(python, server, *args):
    url = "https://localhost:%d/simple/" % server.port
    argv = [python, "-m", "nativetls.pip", "install", "--no-cache-dir", "--disable-pip-version-check",
            "--no-input", "--retries", "0", "--timeout", "30", "--index-url", url] + list(args) + [PACKAGE]
    return _run(argv)


# --- tests ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("module", ["ssl", "_ssl"])
def test_the_environment_cannot_import_ssl(setup, module):
    python, _server = setup
    code, out = _run([python, "-c", "import %s" % module])
    assert code != 0
    assert "ImportError" in out or "ModuleNotFoundError" in out


def test_the_environment_has_the_expected_pip(setup):
    python, _server = setup
    code, out = _run([python, "-c", "import pip, sys; print(pip.__version__)"])
    assert code == 0, out
    version = tuple(int(part) for part in out.strip().split(".")[:2])
    if PY2:
        assert version == (20, 3), "Python 2.7 is tested with pip 20.3.4, got %s" % out
    else:
        assert version >= (20, 3), out


def test_pip_installs_over_nativetls_without_ssl(setup, pki):
    python, server = setup
    before = len(server.requests)
    code, out = _pip(python, server, "--cert", pki.ca.cert_path)
    assert code == 0, out
    assert "Successfully installed %s-1.0" % PACKAGE in out, out
    assert "ssl module in Python is not available" not in out, out
    assert any(path.startswith("/packages/") for path in server.requests[before:]), server.requests
    code, out = _run([python, "-c", "import sys, %s; sys.stdout.write('%%s %%s' %% (%s.VALUE, sys.modules['ssl']))"
                      % (MODULE, MODULE)])
    assert code == 0, out
    assert out.split() == ["42", "None"], out


@pytest.mark.parametrize("cert", ["untrusted_ca", None], ids=["wrong-ca", "default-bundle"])
def test_pip_refuses_a_server_it_cannot_verify(setup, pki, cert):
    python, server = setup
    before = len(server.requests)
    args = ["--force-reinstall"] + (["--cert", pki.untrusted_ca.cert_path] if cert else [])
    code, out = _pip(python, server, *args)
    assert code != 0, out
    assert UNTRUSTED_MESSAGE in out, out
    assert "for host localhost" in out, out
    assert server.requests[before:] == [], "no HTTP request may pass an unverified connection"


def test_nativetls_pip_reports_missing_pip(tmp_path):
    code, out = _run([sys.executable, "-c",
                      "import sys; sys.modules['pip'] = None; sys.path.insert(0, %r); "
                      "import nativetls.pip; sys.exit(nativetls.pip.main(['--version']))"
                      % os.path.dirname(package_dir(nativetls))])
    assert code == 2, out
    assert "nativetls.pip: pip cannot be used here" in out, out


def test_importing_nativetls_pip_patches_nothing():
    code, out = _run([sys.executable, "-c",
                      "import sys; sys.path.insert(0, %r); import nativetls.pip, nativetls.contrib.urllib3; "
                      "print(sorted(m for m in sys.modules if m.startswith(('pip', 'urllib3'))))"
                      % os.path.dirname(package_dir(nativetls))])
    assert code == 0, out
    assert out.strip().splitlines()[-1] == "[]", out


def test_nativetls_pip_compiles_everywhere():
    # The module is named like the pip package: it must import the real pip (absolute_import), not itself.
    with open(os.path.join(package_dir(nativetls), "pip.py")) as handle:
        source = handle.read()
    assert "from __future__ import absolute_import" in source
    compile(source, "pip.py", "exec")
    subprocess.check_call([sys.executable, "-c", "import sys; sys.path.insert(0, %r); import nativetls.pip"
                           % os.path.dirname(package_dir(nativetls))])


@pytest.mark.skipif(PY2, reason="TLS in TLS needs ssl.MemoryBIO, which Python 2.7 lacks")
@pytest.mark.parametrize("cert", ["ca", "untrusted_ca"])
def test_nativetls_pip_through_an_https_proxy(setup, pki, tmp_path_factory, cert):
    # An environment that has ssl: pip's vendored urllib3 runs TLS to the index inside TLS to the proxy, both
    # through NativeTLSContext (wrap_socket for the proxy, wrap_bio for the index). A CA that signed neither
    # fails with nativetls's own message, before any request reaches the index.
    _python, server = setup
    root = str(tmp_path_factory.mktemp("pip-proxy"))
    python = make_environment(root, block_ssl=False)
    with _peers.stdlib_server(pki.server, handler=_peers.connect_proxy_handler) as proxy:
        before = len(server.requests)
        code, out = _pip(python, server, "-vv", "--force-reinstall", "--proxy", "https://localhost:%d" % proxy.port,
                         "--cert", pki[cert].cert_path)
    if cert == "ca":
        assert code == 0, out
        assert "Successfully installed %s-1.0" % PACKAGE in out, out
        assert any(path.startswith("/packages/") for path in server.requests[before:]), server.requests
    else:
        assert code != 0, out
        assert UNTRUSTED_MESSAGE in out, out  # pip words a proxy's failure only with -vv
        assert server.requests[before:] == []
