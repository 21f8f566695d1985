"""``nativetls.pyz`` (tools/build_pyz.py): the one-file bootstrap, on a Python that cannot import ``ssl``.

The archive is built here, twice, from this source tree (the pinned dependency wheels fetched with ``pip download``
once per session), and must come out byte for byte the same. It then runs in a fresh virtual environment whose
interpreter cannot import ``ssl`` or ``_ssl`` and has nothing of nativetls installed (tests/_pipenv.py): it installs
a package from a local HTTPS index with a private CA, refuses the index under a wrong CA, and installs nativetls
itself, after which nativetls works without the archive.
"""
from __future__ import absolute_import, division, print_function

import hashlib
import os
import shutil
import sys
import zipfile

import pytest

import _peers
from _pipenv import MODULE, PACKAGE, PY2, UNTRUSTED_MESSAGE, IndexServer, build_wheel, index_files, make_environment
from _pipenv import run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD_PYZ = os.path.join(ROOT, "tools", "build_pyz.py")

pytestmark = pytest.mark.skipif(not os.path.exists(BUILD_PYZ),
                                reason="no tools/ beside tests/ (an installed test tree)")


def _sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _build(output, wheels):
    # pip download keeps this machine's PIP_* settings (an index mirror, its CA), but not its configuration files:
    # pip 20.3.4 (Python 2.7) fails on an extra index given as a file:// URL that lacks the project.
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull, PYTHONDONTWRITEBYTECODE="1")
    result = _peers.run([sys.executable, BUILD_PYZ, "--output", output, "--wheels", wheels], timeout=300, env=env)
    out = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert result.returncode == 0 and not result.timed_out, out
    return output


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(the archive, a second build of it, the directory of pinned wheels)."""
    root = str(tmp_path_factory.mktemp("pyz"))
    wheels = os.path.join(root, "wheels")
    first = _build(os.path.join(root, "one", "nativetls.pyz"), wheels)
    second = _build(os.path.join(root, "two", "nativetls.pyz"), wheels)
    return first, second, wheels


@pytest.fixture(scope="module")
def nativetls_wheel(tmp_path_factory):
    """The nativetls wheel of this source tree (built from a copy, so the tree stays clean)."""
    root = str(tmp_path_factory.mktemp("wheel"))
    source = os.path.join(root, "src")
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".tox", "build", "dist", "*.egg-info",
                                                                "__pycache__"))
    out_dir = os.path.join(root, "dist")
    code, out = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index", "--no-build-isolation",
                     "--disable-pip-version-check", "-w", out_dir, source])
    assert code == 0, out
    wheels = [name for name in os.listdir(out_dir) if name.endswith("-py2.py3-none-any.whl")]
    assert len(wheels) == 1, os.listdir(out_dir)
    return os.path.join(out_dir, wheels[0])


@pytest.fixture(scope="module")
def env(pki, built, nativetls_wheel, tmp_path_factory):
    """(python without ssl and without nativetls, the archive, the HTTPS index server)."""
    root = str(tmp_path_factory.mktemp("pyzenv"))
    python = make_environment(root, shim=False)
    pinned = [os.path.join(built[2], name) for name in sorted(os.listdir(built[2])) if name.endswith(".whl")]
    server = IndexServer(index_files(build_wheel(root), nativetls_wheel, *pinned),
                         _peers.stdlib_server_context(pki.server))
    try:
        yield python, built[0], server
    finally:
        server.stop()


def _pip(python, pyz, server, *args):
    url = "https://localhost:%d/simple/" % server.port
    return run([python, pyz, "pip", "install", "--no-cache-dir", "--disable-pip-version-check", "--no-input",
                "--retries", "0", "--timeout", "30", "--index-url", url] + list(args))


def test_two_builds_are_identical(built):
    first, second, _wheels = built
    assert _sha256(first) == _sha256(second)


def test_archive_layout(built):
    with open(built[0], "rb") as handle:
        assert handle.readline() == b"#!/usr/bin/env python\n"
    with zipfile.ZipFile(built[0]) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert set(info.date_time for info in infos) == set([(1980, 1, 1, 0, 0, 0)])
    for name in ("__main__.py", "nativetls/__init__.py", "nativetls/pip.py", "nativetls/_cli.py",
                 "asn1crypto/__init__.py", "_py2/enum/__init__.py", "_py2/enum/LICENSE",
                 "_licenses/asn1crypto-1.5.1-LICENSE"):
        assert name in names
    # enum34 only where Python 3 never looks; nothing that pip could take for an installed distribution.
    assert not [n for n in names if n.startswith("enum") or ".dist-info/" in n or n.endswith((".pyc", ".pyo"))]


def test_the_environment_has_no_ssl_and_no_nativetls(env):
    python, _pyz, _server = env
    for module in ("ssl", "_ssl", "nativetls", "asn1crypto"):
        code, out = run([python, "-c", "import %s" % module])
        assert code != 0 and ("ImportError" in out or "ModuleNotFoundError" in out), out


def test_enum34_is_used_only_on_python_2(env):
    python, pyz, _server = env
    code, out = run([python, "-c", "import runpy, sys; sys.argv = ['nativetls.pyz', 'info']\n"
                                   "try:\n    runpy.run_path(%r, run_name='__main__')\n"
                                   "except SystemExit:\n    pass\n"
                                   "import enum; print('ENUM ' + enum.__file__)" % pyz])
    assert code == 0, out
    enum_file = out.split("ENUM ")[-1].strip()
    if PY2:
        assert enum_file.startswith(os.path.join(pyz, "_py2", "enum")), out
    else:
        assert "nativetls.pyz" not in enum_file, out


def test_cli_verbs(env, pki):
    python, pyz, _server = env
    code, out = run([python, pyz, "--help"])
    assert code == 0 and "pip ARGS" in out and "connect" in out, out
    code, out = run([python, pyz, "info"])
    assert code == 0 and "backend:            openssl" in out, out
    code, out = run([python, pyz, "selftest"])
    assert code == 0 and "verdict:          OK" in out, out
    _peers.require_tool("openssl")
    with _peers.openssl_s_server(pki.server) as server:
        code, out = run([python, pyz, "connect", "localhost:%d" % server.port, "--cafile", pki.ca.cert_path])
        assert code == 0 and "verdict:    OK" in out, out
        # Without --cafile: the system trust store, which does not know the session's CA.
        code, out = run([python, pyz, "connect", "localhost:%d" % server.port])
        assert code == 1 and "untrusted_root" in out, out


def test_pyz_pip_installs_from_https_without_ssl(env, pki):
    python, pyz, server = env
    code, out = _pip(python, pyz, server, "--cert", pki.ca.cert_path, PACKAGE)
    assert code == 0, out
    assert "Successfully installed %s-1.0" % PACKAGE in out, out
    assert "ssl module in Python is not available" not in out, out
    code, out = run([python, "-c", "import %s; print(%s.VALUE)" % (MODULE, MODULE)])
    assert code == 0 and out.split() == ["42"], out


def test_pyz_pip_refuses_a_wrong_ca(env, pki):
    python, pyz, server = env
    before = len(server.requests)
    code, out = _pip(python, pyz, server, "--cert", pki.untrusted_ca.cert_path, "--force-reinstall", PACKAGE)
    assert code != 0, out
    assert UNTRUSTED_MESSAGE in out and "for host localhost" in out, out
    assert server.requests[before:] == [], "no HTTP request may pass an unverified connection"


def test_pyz_pip_install_nativetls_leaves_a_normal_installation(env, pki, tmp_path):
    python, pyz, server = env
    code, out = _pip(python, pyz, server, "--cert", pki.ca.cert_path, "nativetls")
    assert code == 0, out
    assert "Successfully installed" in out and "nativetls-" in out and "asn1crypto-1.5.1" in out, out
    assert ("enum34-1.1.10" in out) == PY2, out
    # The archive is gone from the picture: a plain import from the environment's site-packages.
    moved = str(tmp_path / "elsewhere.pyz")
    shutil.move(pyz, moved)
    try:
        code, out = run([python, "-c", "import nativetls, asn1crypto, enum, sys; "
                                       "print(nativetls.__file__); print(enum.__file__); print(sys.modules['ssl'])"])
        assert code == 0, out
        lines = out.strip().splitlines()
        venv = os.path.dirname(os.path.dirname(python))
        assert lines[-3].startswith(venv) and "site-packages" in lines[-3], out
        assert lines[-2].startswith(venv) == PY2, out  # enum34 installed on 2.7; the stdlib's enum on 3
        assert lines[-1] == "None", out
        code, out = run([python, "-m", "nativetls", "info"])
        assert code == 0 and "backend:            openssl" in out, out
        code, out = run([python, "-m", "pip", "show", "nativetls"])
        requires = [line for line in out.splitlines() if line.startswith("Requires:")]
        assert code == 0 and requires and "asn1crypto" in requires[0], out
    finally:
        shutil.move(moved, pyz)
