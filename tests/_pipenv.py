"""Shared by tests/test_pip.py and tests/test_pyz.py: Python environments that cannot import ``ssl``, tiny wheels,
and a PEP 503 "simple" package index served over HTTPS (the stdlib ``ssl`` module of the test process is the server).
"""
from __future__ import absolute_import, division, print_function

import base64
import hashlib
import os
import re
import socket
import ssl
import sys
import tempfile
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


def _project(wheel_name):
    """The normalised project name (PEP 503) of a wheel file name."""
    return re.sub(r"[-_.]+", "-", wheel_name.split("-")[0]).lower()


def index_files(*wheel_paths):
    """URL path -> (content type, body) of a PEP 503 simple index holding these wheels."""
    files, projects = {}, {}
    for wheel_path in wheel_paths:
        with open(wheel_path, "rb") as handle:
            wheel = handle.read()
        name = os.path.basename(wheel_path)
        projects.setdefault(_project(name), []).append((name, hashlib.sha256(wheel).hexdigest()))
        files["/packages/" + name] = ("application/octet-stream", wheel)
    for project, wheels in projects.items():
        links = "".join('<a href="/packages/%s#sha256=%s">%s</a>\n' % (name, digest, name) for name, digest in wheels)
        files["/simple/%s/" % project] = ("text/html", ("<!DOCTYPE html>\n<html><body>\n%s</body></html>\n"
                                                       % links).encode("ascii"))
    root = "".join('<a href="/simple/%s/">%s</a>' % (project, project) for project in sorted(projects))
    files["/simple/"] = ("text/html", ("<!DOCTYPE html>\n<html><body>%s</body></html>\n" % root).encode("ascii"))
    return files


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

_EMPTY = []


def run(argv, timeout=180, cwd=None):
    """Run *argv* without the test process's pip, Python and CA settings; returns (exit code, output).

    *cwd* (default: an empty directory of its own) keeps ``python -c`` and ``-m`` from importing the source tree.
    """
    if cwd is None:
        if not _EMPTY:
            _EMPTY.append(tempfile.mkdtemp(prefix="nativetls-pipenv-"))
        cwd = _EMPTY[0]
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith("PIP_") and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV",
                                                        "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"))
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    result = _peers.run(argv, timeout=timeout, env=env, cwd=cwd)
    out = result.stdout.decode("utf-8", "replace") + result.stderr.decode("utf-8", "replace")
    assert not result.timed_out, "timed out: %s\n%s" % (" ".join(argv), out)
    return result.returncode, out


def package_dir(module):
    return os.path.dirname(os.path.abspath(module.__file__))


def _shim_packages():
    """The packages nativetls needs at run time, as (name, directory)."""
    import asn1crypto
    packages = [("nativetls", package_dir(nativetls)), ("asn1crypto", package_dir(asn1crypto))]
    if PY2:
        import enum
        packages.append(("enum", package_dir(enum)))
    return packages


def _have_virtualenv():
    try:
        import virtualenv  # noqa: F401
        return True
    except ImportError:
        return False


def make_environment(root, shim=True, block_ssl=True):
    """A fresh virtual environment with pip and (*block_ssl*) ssl/_ssl blocked; returns its python.

    *shim*: nativetls and its dependencies are on the environment's path (a ``.pth`` file), not installed."""
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
    code, out = run(argv)
    assert code == 0, out
    python = os.path.join(venv, "bin", "python")
    code, out = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    assert code == 0, out
    site_packages = out.strip().splitlines()[-1]
    if shim:
        shim_dir = os.path.join(root, "shim")
        os.mkdir(shim_dir)
        for name, directory in _shim_packages():
            os.symlink(directory, os.path.join(shim_dir, name))
        with open(os.path.join(site_packages, "nativetls_test_shim.pth"), "w") as handle:
            handle.write(shim_dir + "\n")
    if block_ssl:
        with open(os.path.join(site_packages, "_nativetls_block_ssl.py"), "w") as handle:
            handle.write(BLOCKER)
        with open(os.path.join(site_packages, "_nativetls_block_ssl.pth"), "w") as handle:
            handle.write("import _nativetls_block_ssl\n")
    return python
