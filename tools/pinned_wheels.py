# -*- coding: utf-8 -*-
"""Exact wheels from the package index, checked by SHA-256, fetched with ``pip download --require-hashes``.

One place for what ``tools/build_pyz.py`` (the zipapp's dependencies) and ``tests/support/fetch_libssl.py`` (the
OpenSSL builds the suite runs against) both do. Standard library only; Python 2.7 and 3. Tests may import this
module (``tools/`` never imports ``tests/``).
"""
from __future__ import absolute_import, division, print_function

import hashlib
import os
import subprocess
import sys

__all__ = ["sha256_file", "download"]


def sha256_file(path):
    """The SHA-256 of the file *path*, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def download(pins, directory, pip_options=(), python=None, stdout=None):
    """Make sure every wheel of *pins* is in *directory* with its pinned SHA-256; returns their paths, in order.

    Only the wheels not there yet are downloaded (``--no-deps --only-binary :all: --require-hashes``); every wheel,
    downloaded or found, is checked against its digest.

    Args:
        pins: ``(project, version, wheel file name, sha256)`` rows.
        pip_options: what ``pip download`` needs to choose these wheels (``--platform``, ``--python-version``...).
        python: the interpreter whose pip downloads (default: this one).
        stdout: a file for pip's output (default: inherited).

    Raises:
        RuntimeError: pip failed or did not produce a wheel, or a wheel's SHA-256 is not the pinned one.
    """
    if not os.path.isdir(directory):
        os.makedirs(directory)
    missing = [pin for pin in pins if not os.path.exists(os.path.join(directory, pin[2]))]
    if missing:
        requirements = os.path.join(directory, "requirements-pinned.txt")
        with open(requirements, "w") as handle:
            for project, version, _wheel, digest in missing:
                handle.write("%s==%s --hash=sha256:%s\n" % (project, version, digest))
        argv = ([python or sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--no-deps",
                 "--only-binary", ":all:", "--require-hashes"] + list(pip_options) +
                ["-d", directory, "-r", requirements])
        code = subprocess.call(argv, stdout=stdout)
        if code != 0:
            raise RuntimeError("pip download failed (exit %d): %s" % (code, " ".join(argv)))
    paths = []
    for _project, _version, wheel, digest in pins:
        path = os.path.join(directory, wheel)
        if not os.path.exists(path):
            raise RuntimeError("pip download did not produce %s" % wheel)
        actual = sha256_file(path)
        if actual != digest:
            raise RuntimeError("%s has SHA-256 %s, not the pinned %s" % (path, actual, digest))
        paths.append(path)
    return paths
