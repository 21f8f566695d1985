#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Fetch a real OpenSSL 1.1.1 build (libssl + libcrypto) for the test suite.

The only registries reachable from the project's machines are PyPI, Debian
and npm, and Debian bookworm no longer ships OpenSSL 1.1.  The manylinux
wheels of ``psycopg2-binary`` bundle a complete OpenSSL 1.1.1 (renamed by
auditwheel), so we take it from one exact, hash-pinned wheel:

    psycopg2-binary 2.9.9, cp39 manylinux_2_17/manylinux2014 x86_64
    bundled OpenSSL: "OpenSSL 1.1.1w  11 Sep 2023" (the last 1.1.1 release)

Usage::

    python3 tests/support/fetch_libssl11.py [TARGET_DIR]
    eval "$(python3 tests/support/fetch_libssl11.py)" &&
        export NATIVETLS_LIBSSL NATIVETLS_LIBCRYPTO

TARGET_DIR defaults to ``<repo>/.cache/libssl11``.  On success the script
prints exactly two lines on stdout (progress goes to stderr)::

    NATIVETLS_LIBSSL=/abs/path/libssl.so.1.1
    NATIVETLS_LIBCRYPTO=/abs/path/libcrypto.so.1.1

It is idempotent: when the extracted libraries are already present with the
expected sha256, nothing is downloaded.

Loading note: the bundled libssl has ``NEEDED libcrypto-75e66d43.so.1.1`` and
no RPATH/RUNPATH, so libcrypto must be dlopen()ed (by absolute path) *before*
libssl; glibc then satisfies libssl's dependency by SONAME.  RTLD_GLOBAL is not
required for that, but is harmless.  Both libraries use OPENSSL_1_1_*
versioned symbols, so they coexist with the system libssl.so.3 (e.g. loaded
by Python's ``ssl`` module) in one process.

Works on Python 2.7 and Python 3.  Linux x86_64 only.
"""
from __future__ import print_function

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile

try:  # Python 3.3+
    from shlex import quote as _shquote
except ImportError:  # Python 2.7
    from pipes import quote as _shquote

# --------------------------------------------------------------------------
# Pinned source.  Change all of these together.
# --------------------------------------------------------------------------
WHEEL_PROJECT = "psycopg2-binary"
WHEEL_VERSION = "2.9.9"
WHEEL_FILENAME = (
    "psycopg2_binary-2.9.9-cp39-cp39-"
    "manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
)
WHEEL_SHA256 = "3a58c98a7e9c021f357348867f537017057c2ed7f77337fd914d0bedb35dace7"
PIP_PLATFORM = "manylinux2014_x86_64"
PIP_PYTHON_VERSION = "3.9"
OPENSSL_VERSION_TEXT = "OpenSSL 1.1.1w  11 Sep 2023"

# member name inside the wheel -> (sha256 of the member, friendly alias)
# The member's basename is also its SONAME, which libssl's NEEDED entry
# refers to, so the original names are kept and the aliases are symlinks.
MEMBERS = [
    (
        "psycopg2_binary.libs/libcrypto-75e66d43.so.1.1",
        "61c02ef00979fb83726dea65c36d7b3fadfdf96880b94b911571ccc441d116b6",
        "libcrypto.so.1.1",
    ),
    (
        "psycopg2_binary.libs/libssl-3e69114b.so.1.1",
        "fa7c9d7ba84f57fe965f0aea74f4eb4dd562388d234371060f4040834451462a",
        "libssl.so.1.1",
    ),
]

REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)
DEFAULT_TARGET = os.path.join(REPO_ROOT, ".cache", "libssl11")


def log(msg):
    sys.stderr.write("fetch_libssl11: %s\n" % (msg,))
    sys.stderr.flush()


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 16)
            if not chunk:
                break
            h.update(chunk)
    return h.hexdigest()


def _is_good(path, digest):
    return os.path.isfile(path) and sha256_of(path) == digest


def already_present(target):
    for member, digest, alias in MEMBERS:
        real = os.path.join(target, os.path.basename(member))
        if not _is_good(real, digest):
            return False
        if not _is_good(os.path.join(target, alias), digest):
            return False
    return True


def _pip_commands():
    """Candidate pip invocations, best first."""
    override = os.environ.get("FETCH_LIBSSL11_PIP")
    if override:
        return [override.split()]
    cmds = [[sys.executable, "-m", "pip"]]
    # A pip that is too old (e.g. pip 18 on Python 3.6 checks Requires-Python
    # against the running interpreter instead of --python-version) finds
    # nothing; fall back on whatever "python3" is on PATH.
    if sys.version_info[:2] < (3, 7):
        cmds.append(["python3", "-m", "pip"])
    return cmds


def download_wheel(workdir):
    req = os.path.join(workdir, "requirements.txt")
    with open(req, "w") as f:
        f.write(
            "%s==%s --hash=sha256:%s\n"
            % (WHEEL_PROJECT, WHEEL_VERSION, WHEEL_SHA256)
        )
    dest = os.path.join(workdir, "dl")
    last_err = None
    for pip in _pip_commands():
        cmd = pip + [
            "download",
            "--no-deps",
            "--only-binary", ":all:",
            "--platform", PIP_PLATFORM,
            "--python-version", PIP_PYTHON_VERSION,
            "--implementation", "cp",
            "--abi", "cp39",
            "--require-hashes",
            "--disable-pip-version-check",
            "-r", req,
            "-d", dest,
        ]
        log("running: %s" % " ".join(_shquote(c) for c in cmd))
        try:
            # pip's own chatter goes to stderr so stdout stays eval-able.
            rc = subprocess.call(cmd, stdout=sys.stderr)
        except OSError as e:
            last_err = "cannot run %s: %s" % (pip[0], e)
            log(last_err)
            continue
        if rc != 0:
            last_err = "pip exited with status %d" % rc
            log(last_err)
            continue
        path = os.path.join(dest, WHEEL_FILENAME)
        if not os.path.isfile(path):
            found = os.listdir(dest) if os.path.isdir(dest) else []
            last_err = "expected %s, pip saved %r" % (WHEEL_FILENAME, found)
            log(last_err)
            continue
        got = sha256_of(path)
        if got != WHEEL_SHA256:
            raise SystemExit(
                "fetch_libssl11: sha256 mismatch for %s: got %s, want %s"
                % (WHEEL_FILENAME, got, WHEEL_SHA256)
            )
        log("wheel sha256 verified: %s" % got)
        return path
    raise SystemExit("fetch_libssl11: download failed: %s" % last_err)


def _replace(src, dst):
    if hasattr(os, "replace"):
        os.replace(src, dst)
    else:  # Python 2: rename over an existing file is atomic on POSIX
        os.rename(src, dst)


def extract(wheel, target):
    with zipfile.ZipFile(wheel) as zf:
        for member, digest, alias in MEMBERS:
            name = os.path.basename(member)
            final = os.path.join(target, name)
            tmp = final + ".tmp.%d" % os.getpid()
            src = zf.open(member)
            try:
                with open(tmp, "wb") as out:
                    shutil.copyfileobj(src, out)
            finally:
                src.close()
            got = sha256_of(tmp)
            if got != digest:
                os.unlink(tmp)
                raise SystemExit(
                    "fetch_libssl11: sha256 mismatch for %s: got %s, want %s"
                    % (member, got, digest)
                )
            os.chmod(tmp, 0o755)
            _replace(tmp, final)
            make_alias(target, name, alias)
            log("extracted %s -> %s" % (member, final))


def make_alias(target, name, alias):
    link = os.path.join(target, alias)
    if os.path.lexists(link):
        os.unlink(link)
    try:
        os.symlink(name, link)  # relative: the directory can be moved
    except (OSError, AttributeError, NotImplementedError):
        shutil.copy2(os.path.join(target, name), link)


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        sys.stderr.write(__doc__)
        return 2
    if not sys.platform.startswith("linux") or platform.machine() not in (
        "x86_64",
        "AMD64",
        "amd64",
    ):
        log(
            "warning: the pinned libraries are Linux x86_64 binaries; "
            "this is %s/%s" % (sys.platform, platform.machine())
        )
    target = os.path.abspath(argv[1] if len(argv) == 2 else DEFAULT_TARGET)
    if not os.path.isdir(target):
        os.makedirs(target)

    if already_present(target):
        log("already present in %s, nothing to download" % target)
    else:
        # Files exist but an alias is missing or stale: repair without pip.
        reals_ok = all(
            _is_good(os.path.join(target, os.path.basename(m)), d)
            for m, d, _ in MEMBERS
        )
        if reals_ok:
            for m, d, alias in MEMBERS:
                make_alias(target, os.path.basename(m), alias)
            log("repaired aliases in %s" % target)
        else:
            log(
                "fetching %s==%s (%s)"
                % (WHEEL_PROJECT, WHEEL_VERSION, OPENSSL_VERSION_TEXT)
            )
            workdir = tempfile.mkdtemp(prefix="fetch_libssl11-")
            try:
                wheel = download_wheel(workdir)
                extract(wheel, target)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
        if not already_present(target):
            raise SystemExit("fetch_libssl11: post-install check failed")

    libcrypto = os.path.join(target, "libcrypto.so.1.1")
    libssl = os.path.join(target, "libssl.so.1.1")
    sys.stdout.write("NATIVETLS_LIBSSL=%s\n" % _shquote(libssl))
    sys.stdout.write("NATIVETLS_LIBCRYPTO=%s\n" % _shquote(libcrypto))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
