"""``python -m nativetls.pip``: pip installing over HTTPS on a Python whose ssl module cannot be imported.

The setup is the one the mission is about: a fresh virtual environment (virtualenv; pip 20.3.4 on Python 2.7, the
current pip on Python 3), whose interpreter cannot import ``ssl`` or ``_ssl`` (a ``.pth`` file installs an import
blocker before anything else runs), installs a wheel built here from a "simple" package index served over HTTPS on
127.0.0.1 with the session's private CA (the stdlib ``ssl`` module, in this test process, is the server).

nativetls (and asn1crypto, enum34 on 2.7) reach the environment through a ``.pth`` file pointing at a directory of
symlinks to exactly those packages, so nothing else of the test environment leaks in.
"""
from __future__ import absolute_import, division, print_function

import base64
import hashlib
import os
import socket
import ssl
import subprocess
import sys
import threading
import zipfile

import pytest

import _peers
import nativetls

try:
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from socketserver import ThreadingMixIn
except ImportError:  # Python 2.7
    from BaseHTTPServer import BaseHTTPRequestHandler, HTTPServer
    from SocketServer import ThreadingMixIn

PY2 = sys.version_info[0] == 2
PACKAGE = "nativetls-demo-pkg"
MODULE = "nativetls_demo_pkg"
UNTRUSTED_MESSAGE = "certificate chain does not end in a trusted root"

BLOCKER = '''\
"""Installed by tests/test_pip.py: this interpreter must not be able to import ssl or _ssl."""
import sys

BLOCKED = ("ssl", "_ssl")


class SSLBlocker(object):
    def find_module(self, name, path=None):  # Python 2
        return self if name in BLOCKED else None

    def load_module(self, name):
        raise ImportError("No module named %s (blocked by the nativetls.pip test)" % name)

    def find_spec(self, name, path=None, target=None):  # Python 3
        if name in BLOCKED:
            raise ImportError("No module named %r (blocked by the nativetls.pip test)" % name)
        return None


sys.meta_path.insert(0, SSLBlocker())
for _name in BLOCKED:
    sys.modules[_name] = None
'''


# --- a tiny wheel and its index -----------------------------------------------------------------------------

def _record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def build_wheel(directory, version="1.0"):
    """A pure-Python wheel holding ``nativetls_demo_pkg.py`` (``VALUE = 42``); returns its path."""
    dist = "%s-%s" % (MODULE, version)
    files = [
        (MODULE + ".py", b"VALUE = 42\n"),
        (dist + ".dist-info/METADATA", ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: nativetls "
                                        "test package\n\n" % (PACKAGE, version)).encode("ascii")),
        (dist + ".dist-info/WHEEL", b"Wheel-Version: 1.0\nGenerator: nativetls-tests\nRoot-Is-Purelib: true\n"
                                    b"Tag: py2-none-any\nTag: py3-none-any\n"),
    ]
    record = "".join("%s,%s,%d\n" % (name, _record_hash(data), len(data)) for name, data in files)
    record += dist + ".dist-info/RECORD,,\n"
    files.append((dist + ".dist-info/RECORD", record.encode("ascii")))
    path = os.path.join(directory, dist + "-py2.py3-none-any.whl")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return path


def index_files(wheel_path):
    """URL path -> (content type, body) of a PEP 503 simple index holding one wheel."""
    with open(wheel_path, "rb") as handle:
        wheel = handle.read()
    name = os.path.basename(wheel_path)
    page = ('<!DOCTYPE html>\n<html><body>\n<a href="/packages/%s#sha256=%s">%s</a>\n</body></html>\n'
            % (name, hashlib.sha256(wheel).hexdigest(), name)).encode("ascii")
    root = ('<!DOCTYPE html>\n<html><body><a href="/simple/%s/">%s</a></body></html>\n'
            % (PACKAGE, PACKAGE)).encode("ascii")
    return {
        "/simple/": ("text/html", root),
        "/simple/%s/" % PACKAGE: ("text/html", page),
        "/packages/" + name: ("application/octet-stream", wheel),
    }


class _IndexHandler(BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path.split("?", 1)[0]
        self.server.requests.append(path)
        entry = self.server.files.get(path)
        if entry is None:
            self.send_error(404)
            return
        content_type, body = entry
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class IndexServer(ThreadingMixIn, HTTPServer):
    """A threaded HTTPS server (stdlib ssl) for the index; records request paths and TLS failures."""

    daemon_threads = True

    def __init__(self, files, context):
        self.files = files
        self.context = context
        self.requests = []
        self.tls_errors = []
        HTTPServer.__init__(self, ("127.0.0.1", 0), _IndexHandler)
        self.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()

    def finish_request(self, request, client_address):
        request.settimeout(20)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, socket.error, OSError) as exc:
            self.tls_errors.append(exc)
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()

    def handle_error(self, request, client_address):
        self.tls_errors.append(sys.exc_info()[1])

    def stop(self):
        self.shutdown()
        self.server_close()
        self.thread.join(5)


# --- the environment ------------------------------------------------------------------------------------------

def _run(argv, timeout=180):
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith("PIP_") and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV",
                                                        "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"))
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    result = _peers.run(argv, timeout=timeout, env=env)
    out = result.stdout.decode("utf-8", "replace") + result.stderr.decode("utf-8", "replace")
    assert not result.timed_out, "timed out: %s\n%s" % (" ".join(argv), out)
    return result.returncode, out


def _package_dir(module):
    return os.path.dirname(os.path.abspath(module.__file__))


def _shim_packages():
    """The packages nativetls needs at run time, as (name, directory)."""
    import asn1crypto
    packages = [("nativetls", _package_dir(nativetls)), ("asn1crypto", _package_dir(asn1crypto))]
    if PY2:
        import enum
        packages.append(("enum", _package_dir(enum)))
    return packages


def _have_virtualenv():
    try:
        import virtualenv  # noqa: F401
        return True
    except ImportError:
        return False


def make_environment(root, block_ssl=True):
    """A fresh virtual environment with pip, nativetls on its path and (*block_ssl*) ssl/_ssl blocked; returns
    its python."""
    venv = os.path.join(root, "venv")
    if _have_virtualenv():
        argv = [sys.executable, "-m", "virtualenv", "--no-periodic-update", "--no-setuptools", "--no-wheel",
                "--app-data", os.path.join(root, "app-data"), venv]
    elif not PY2:
        argv = [sys.executable, "-m", "venv", venv]
    else:
        if os.environ.get("CI"):
            pytest.fail("virtualenv is missing (requirements-test.txt installs it)")
        pytest.skip("virtualenv is not installed")
    code, out = _run(argv)
    assert code == 0, out
    python = os.path.join(venv, "bin", "python")
    code, out = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    assert code == 0, out
    site_packages = out.strip().splitlines()[-1]
    shim = os.path.join(root, "shim")
    os.mkdir(shim)
    for name, directory in _shim_packages():
        os.symlink(directory, os.path.join(shim, name))
    with open(os.path.join(site_packages, "nativetls_test_shim.pth"), "w") as handle:
        handle.write(shim + "\n")
    if block_ssl:
        with open(os.path.join(site_packages, "_nativetls_block_ssl.py"), "w") as handle:
            handle.write(BLOCKER)
        with open(os.path.join(site_packages, "_nativetls_block_ssl.pth"), "w") as handle:
            handle.write("import _nativetls_block_ssl\n")
    return python


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
                      % os.path.dirname(_package_dir(nativetls))])
    assert code == 2, out
    assert "nativetls.pip: pip cannot be used here" in out, out


def test_importing_nativetls_pip_patches_nothing():
    code, out = _run([sys.executable, "-c",
                      "import sys; sys.path.insert(0, %r); import nativetls.pip, nativetls.contrib.urllib3; "
                      "print(sorted(m for m in sys.modules if m.startswith(('pip', 'urllib3'))))"
                      % os.path.dirname(_package_dir(nativetls))])
    assert code == 0, out
    assert out.strip().splitlines()[-1] == "[]", out


def test_nativetls_pip_compiles_everywhere():
    # The module is named like the pip package: it must import the real pip (absolute_import), not itself.
    with open(os.path.join(_package_dir(nativetls), "pip.py")) as handle:
        source = handle.read()
    assert "from __future__ import absolute_import" in source
    compile(source, "pip.py", "exec")
    subprocess.check_call([sys.executable, "-c", "import sys; sys.path.insert(0, %r); import nativetls.pip"
                           % os.path.dirname(_package_dir(nativetls))])


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
