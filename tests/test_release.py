"""The release: ``python -m build`` makes an sdist and one universal wheel that PyPI accepts and that installs
offline, with no compiler, on Python 2.7, 3.6 and 3.13 (``tox -e release``; elsewhere these tests are skipped).

The source tree is copied first, so that the build's ``build/`` and ``*.egg-info`` never land in the work tree.
The dependency wheels beside nativetls's are the pinned ones of tools/build_pyz.py (fetched with ``pip download``).
"""
from __future__ import absolute_import, division, print_function

import email
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

import _peers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Each only seeds a fresh virtualenv (virtualenv -p) that the test fills from the built wheels, offline.
PYTHONS = ("python2.7", "python3.6", "python3.13")  # interpreter-ok: seeds a fresh virtualenv
PY2 = PYTHONS[0]

pytestmark = pytest.mark.skipif(not os.environ.get("NATIVETLS_TEST_RELEASE"),
                                reason="the release checks run in their own tox env: tox -e release")


def _tox_pythons():
    """The interpreters CI runs the suite on, from tox.ini's envlist (py27 -> 2.7)."""
    with io.open(os.path.join(ROOT, "tox.ini"), encoding="utf-8") as handle:
        envlist = re.search(r"^envlist\s*=\s*(.+)$", handle.read(), re.M).group(1)
    return ["%s.%s" % (env[2], env[3:]) for env in re.findall(r"py\d+", envlist)]


def _call(argv, timeout=600, cwd=None):
    # The machine's pip configuration files stay out (pip 20.3.4 trips over a file:// extra index); its PIP_*
    # variables (a mirror, its CA) stay in for pip download.
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull, PYTHONDONTWRITEBYTECODE="1", PYTHONNOUSERSITE="1")
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(name, None)
    result = _peers.run(argv, timeout=timeout, env=env, cwd=cwd)
    out = (result.stdout + result.stderr).decode("utf-8", "replace")
    assert not result.timed_out, "timed out: %s\n%s" % (" ".join(argv), out)
    return result.returncode, out


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """(the sdist, the wheel, a directory holding the wheel and its dependencies' wheels)."""
    root = str(tmp_path_factory.mktemp("release"))
    source = os.path.join(root, "src")
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".tox", "build", "dist", "*.egg-info",
                                                                "__pycache__", "*.pyc"))
    out_dir = os.path.join(root, "dist")
    # --no-isolation: setuptools and wheel come from this tox env (pinned there), not from an index at build time.
    code, out = _call([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", out_dir,
                       source])
    assert code == 0, out
    names = sorted(os.listdir(out_dir))
    assert len(names) == 2, names
    sdist = [n for n in names if n.endswith(".tar.gz")]
    wheel = [n for n in names if n.endswith(".whl")]
    assert sdist and wheel, names
    links = os.path.join(root, "links")
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import build_pyz
    finally:
        sys.path.pop(0)
    code, out = _call([sys.executable, os.path.join(ROOT, "tools", "build_pyz.py"), "--output",
                       os.path.join(root, "nativetls.pyz"), "--wheels", links])
    assert code == 0, out
    for name, _digest, _prefix in build_pyz.PINNED:
        assert os.path.exists(os.path.join(links, name))
    shutil.copy(os.path.join(out_dir, wheel[0]), links)
    return os.path.join(out_dir, sdist[0]), os.path.join(out_dir, wheel[0]), links


def _version():
    with io.open(os.path.join(ROOT, "nativetls", "__init__.py"), encoding="utf-8") as handle:
        return re.search(r'^__version__ = "([^"]+)"', handle.read(), re.M).group(1)


def _metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        name = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")][0]
        return email.message_from_string(archive.read(name).decode("utf-8"))


def test_file_names(dist):
    sdist, wheel, _links = dist
    version = _version()
    assert os.path.basename(sdist) == "nativetls-%s.tar.gz" % version
    assert os.path.basename(wheel) == "nativetls-%s-py2.py3-none-any.whl" % version


def test_twine_check_passes(dist):
    sdist, wheel, _links = dist
    code, out = _call([sys.executable, "-m", "twine", "check", "--strict", sdist, wheel])
    assert code == 0, out
    assert out.count("PASSED") == 2, out


def test_wheel_holds_the_package_only(dist):
    _sdist, wheel, _links = dist
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        wheel_meta = archive.read([n for n in names if n.endswith(".dist-info/WHEEL")][0]).decode("utf-8")
    dist_info = "nativetls-%s.dist-info/" % _version()
    assert not [n for n in names if not n.startswith(("nativetls/", dist_info))], names
    assert not [n for n in names if n.endswith((".pyc", ".pyo")) or "__pycache__" in n], names
    assert "Root-Is-Purelib: true" in wheel_meta and "Tag: py2-none-any" in wheel_meta
    assert "Tag: py3-none-any" in wheel_meta
    # Every module of the source package, and its stubs and py.typed marker (PEP 561) when the tree has them.
    expected = []
    for directory, subdirs, files in os.walk(os.path.join(ROOT, "nativetls")):
        subdirs[:] = [d for d in subdirs if d != "__pycache__"]
        for name in files:
            if name.endswith((".py", ".pyi")) or name == "py.typed":
                expected.append(os.path.relpath(os.path.join(directory, name), ROOT).replace(os.sep, "/"))
    assert expected and not set(expected) - set(names), sorted(set(expected) - set(names))
    assert dist_info + "LICENSE" in names or dist_info + "licenses/LICENSE" in names, names


def test_sdist_holds_what_the_wheel_is_built_from(dist):
    sdist, _wheel, _links = dist
    with tarfile.open(sdist) as archive:
        names = [n.split("/", 1)[1] for n in archive.getnames() if "/" in n]
    for name in ("setup.py", "setup.cfg", "README.md", "LICENSE", "nativetls/__init__.py", "PKG-INFO"):
        assert name in names, names


def test_metadata_is_complete(dist):
    _sdist, wheel, _links = dist
    meta = _metadata(wheel)
    assert meta["Name"] == "nativetls" and meta["Version"] == _version()
    assert meta["License"] == "MIT" or "MIT" in (meta.get("License-Expression") or "")
    assert meta["Summary"] and meta["Requires-Python"]
    classifiers = meta.get_all("Classifier")
    assert "License :: OSI Approved :: MIT License" in classifiers
    for version in _tox_pythons():
        assert "Programming Language :: Python :: %s" % version in classifiers, version
    urls = dict(value.split(", ", 1) for value in meta.get_all("Project-URL"))
    assert set(["Source", "Documentation", "Issues"]) <= set(urls), urls
    assert all(url.startswith("https://") for url in urls.values()), urls
    requires = meta.get_all("Requires-Dist")
    assert any(r.startswith("asn1crypto") for r in requires), requires
    assert any(r.startswith("enum34") and "python_version" in r for r in requires), requires
    assert meta["Description-Content-Type"] == "text/markdown"


def test_long_description_renders_with_absolute_links(dist):
    from readme_renderer.markdown import render
    _sdist, wheel, _links = dist
    description = _metadata(wheel).get_payload()
    assert description.startswith("# nativetls"), description[:100]
    html = render(description, variant="GFM")
    assert html and re.search(r"<h1[^>]*>nativetls", html) and "<table>" in html and "<pre" in html, html[:500]
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert hrefs, "the README links to its documentation"
    relative = [h for h in hrefs if not h.startswith(("https://", "http://", "#", "mailto:"))]
    assert not relative, "links that lead nowhere on PyPI: %s" % relative


@pytest.mark.parametrize("python", PYTHONS)
def test_offline_install_in_a_fresh_virtualenv(dist, python, tmp_path):
    _sdist, _wheel, links = dist
    interpreter = shutil.which(python)
    if interpreter is None:
        pytest.fail("%s is not on PATH (.ci/run puts every pyenv interpreter there)" % python)
    venv = str(tmp_path / "venv")
    code, out = _call([sys.executable, "-m", "virtualenv", "--no-periodic-update", "--app-data",
                       str(tmp_path / "app-data"), "-p", interpreter, venv])
    assert code == 0, out
    venv_python = os.path.join(venv, "bin", "python")
    code, out = _call([venv_python, "-m", "pip", "install", "--no-index", "--find-links", links,
                       "--disable-pip-version-check", "--no-cache-dir", "nativetls"])
    assert code == 0, out
    assert "Successfully installed" in out and "nativetls-%s" % _version() in out, out
    assert ("enum34-1.1.10" in out) == (python == PY2), out
    code, out = _call([venv_python, "-c", "import nativetls, enum; print(nativetls.__file__); print(enum.__file__)"],
                      cwd=str(tmp_path))
    assert code == 0, out
    module_file, enum_file = out.strip().splitlines()[-2:]
    assert module_file.startswith(venv) and "site-packages" in module_file, out
    assert enum_file.startswith(venv) == (python == PY2), out  # enum34 only on 2.7
    code, out = _call([venv_python, "-m", "nativetls", "info"], cwd=str(tmp_path))
    assert code == 0 and "backend:" in out, out
    assert subprocess.call([venv_python, "-c", "import nativetls.pip, nativetls._cli"], cwd=str(tmp_path)) == 0
