#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Fetch a real, pinned OpenSSL build (libssl + libcrypto) for the test suite.

Debian bookworm ships only OpenSSL 3.0, and the project's machines reach only PyPI, Debian and npm. Manylinux
wheels on PyPI bundle complete OpenSSL builds (renamed by auditwheel), so each build the suite runs against is
taken from one exact, hash-pinned wheel (``BUILDS`` below; README_libssl.md says what each one is and how it
loads).

Usage::

    python tests/support/fetch_libssl.py VERSION [TARGET_DIR]      # VERSION: 1.0.2, 1.1.1 or 3.5
    eval "$(python tests/support/fetch_libssl.py 1.1.1)" && export NATIVETLS_LIBSSL NATIVETLS_LIBCRYPTO

TARGET_DIR defaults to ``<repo>/.cache/libssl-VERSION``. On success stdout gets exactly three shell-quoted lines
(progress goes to stderr)::

    NATIVETLS_LIBSSL=/abs/path/libssl-...
    NATIVETLS_LIBCRYPTO=/abs/path/libcrypto-...
    NATIVETLS_TEST_PRELOAD=/abs/path/libz-...:/abs/path/...     (possibly empty)

``NATIVETLS_TEST_PRELOAD`` lists, in load order, the bundled libraries that libcrypto/libssl need and that have
no RPATH to be found by (1.0.2's zlib and Kerberos): they must be dlopen()ed by absolute path first, or the
directory put on ``LD_LIBRARY_PATH`` (their names are unique, hashed by auditwheel, so nothing else picks them up).

Idempotent: when every extracted member is present with its sha256, nothing is downloaded. Python 2.7 and 3;
Linux x86_64 only.
"""
from __future__ import print_function

import collections
import os
import platform
import shutil
import sys
import tempfile
import zipfile

try:  # Python 3.3+
    from shlex import quote as _shquote
except ImportError:  # Python 2.7
    from pipes import quote as _shquote

Build = collections.namedtuple("Build", "project version wheel sha256 platform python abi openssl libssl libcrypto "
                                        "preload aliases")

# One row per build. Members are paths inside the wheel -> sha256; the member's basename is its SONAME, which the
# other members' NEEDED entries name, so files keep their names (aliases are extra relative symlinks).
# ``preload``: members to load first, in order (each one's NEEDED entries are earlier rows or system libraries).
BUILDS = {
    "1.0.2": Build(
        project="psycopg2-binary", version="2.8",
        wheel="psycopg2_binary-2.8-cp36-cp36m-manylinux1_x86_64.whl",
        sha256="a9e7606233fa6c559491758cb319fab6cec25d931cdb5db670c434dde44ab56b",
        platform="manylinux1_x86_64", python="3.6", abi="cp36m", openssl="OpenSSL 1.0.2r  26 Feb 2019",
        libssl=("psycopg2/.libs/libssl-aebe2ab2.so.1.0.2r",
                "4dd1ea5eafa107142d843c6544cacd9dfc07d0af17f4b7c22e31b0ec30611ac2"),
        libcrypto=("psycopg2/.libs/libcrypto-7fc94b9d.so.1.0.2r",
                   "f562e6b6bee323c8a82dd02f3404699add92ee488122516c45fd385dc1a731f7"),
        # libcrypto needs the bundled zlib; libssl was linked with Kerberos (GSSAPI), whose chain pulls SELinux.
        preload=[
            ("psycopg2/.libs/libz-a147dcb0.so.1.2.3",
             "d481a83a3469ba338c467edc676f4446d03106de92c5352544b0644aa6bf96c9"),
            ("psycopg2/.libs/libcom_err-beb60336.so.2.1",
             "3bfb60b4826711e07b0491d991dc77497512af2e650e86a035ca7a15acfb11b5"),
            ("psycopg2/.libs/libkeyutils-1-ff31573b.2.so",
             "4aeebd7a76e6b5679a2e9238a0c3441b1bab3920e3379f440f1f4cb56384283d"),
            ("psycopg2/.libs/libsepol-b4f5b513.so.1",
             "d07ef36613d4ba7100e13ca230df89502dbf9ba9ea1a63fb04d807608c9e4e73"),
            ("psycopg2/.libs/libselinux-cf8f9094.so.1",
             "a59ed885ec3919e8cfd1a091892d9c1363c4fa2ca7b8603f052b191bbb14c7ad"),
            ("psycopg2/.libs/libkrb5support-d7ce89d4.so.0.1",
             "5dd2e70b43b60679ac81cf194c1c2ba7ccd09c2f1d4f84607cc07906d2c80b59"),
            ("psycopg2/.libs/libk5crypto-622ef25b.so.3.1",
             "54d37354bc8b4fd78249897233ae0df671b8fd2c7ad621ee9e93b907134544c8"),
            ("psycopg2/.libs/libkrb5-fb0d2caa.so.3.3",
             "2c241e6763103b22a9abc51cddda18edc15dd9a2a7c13f4c0d1a673fcffba504"),
            ("psycopg2/.libs/libgssapi_krb5-174f8956.so.2.2",
             "23e7f782acc92b501551fd047f36096ab252e56de47b074d22088f097df94d0b"),
        ],
        aliases={},
    ),
    "1.1.1": Build(
        project="psycopg2-binary", version="2.9.9",
        wheel="psycopg2_binary-2.9.9-cp39-cp39-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        sha256="3a58c98a7e9c021f357348867f537017057c2ed7f77337fd914d0bedb35dace7",
        platform="manylinux2014_x86_64", python="3.9", abi="cp39", openssl="OpenSSL 1.1.1w  11 Sep 2023",
        libssl=("psycopg2_binary.libs/libssl-3e69114b.so.1.1",
                "fa7c9d7ba84f57fe965f0aea74f4eb4dd562388d234371060f4040834451462a"),
        libcrypto=("psycopg2_binary.libs/libcrypto-75e66d43.so.1.1",
                   "61c02ef00979fb83726dea65c36d7b3fadfdf96880b94b911571ccc441d116b6"),
        preload=[],
        aliases={"libssl.so.1.1": "libssl-3e69114b.so.1.1", "libcrypto.so.1.1": "libcrypto-75e66d43.so.1.1"},
    ),
    "3.5": Build(
        project="psycopg-binary", version="3.3.9",
        wheel="psycopg_binary-3.3.9-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        sha256="180e4a99904d7a77f826fbb6dd16834bb3313675d8a6f055e39742fda00c33dc",
        platform="manylinux2014_x86_64", python="3.13", abi="cp313", openssl="OpenSSL 3.5",
        libssl=("psycopg_binary.libs/libssl-6a9b88ec.so.3",
                "5b9d9f1923a0ffd4fd2666819846d61c5bad31f1bf3a16c65bf1fccf5aa37d17"),
        libcrypto=("psycopg_binary.libs/libcrypto-3a0647ea.so.3",
                   "e1a48391f48cb5f8392140b43ef9f2fa52f58321f8eadd8a83dc20f7fe398b9e"),
        preload=[],  # libssl has RPATH $ORIGIN; both need only the system's libz.so.1
        aliases={},
    ),
}

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

sys.path.insert(0, os.path.join(REPO_ROOT, "tools"))
try:  # the pinned-wheel download and check that tools/build_pyz.py uses too
    from pinned_wheels import download, sha256_file as sha256_of
finally:
    sys.path.pop(0)


def default_target(version):
    return os.path.join(REPO_ROOT, ".cache", "libssl-" + version)


def log(msg):
    sys.stderr.write("fetch_libssl: %s\n" % (msg,))
    sys.stderr.flush()


def members(build):
    return list(build.preload) + [build.libcrypto, build.libssl]


def _present(build, target):
    return all(os.path.isfile(os.path.join(target, os.path.basename(m))) and
               sha256_of(os.path.join(target, os.path.basename(m))) == d for m, d in members(build))


def download_wheel(build, workdir):
    options = ["--platform", build.platform, "--python-version", build.python, "--implementation", "cp",
               "--abi", build.abi]
    try:  # pip's chatter on stderr: stdout stays eval-able
        return download([(build.project, build.version, build.wheel, build.sha256)], os.path.join(workdir, "dl"),
                        options, python=os.environ.get("FETCH_LIBSSL_PYTHON"), stdout=sys.stderr)[0]
    except RuntimeError as exc:
        raise SystemExit("fetch_libssl: %s (if pip found nothing: a pip too old for --platform finds nothing, so "
                         "set FETCH_LIBSSL_PYTHON to a newer interpreter's venv)" % exc)


def extract(build, wheel, target):
    with zipfile.ZipFile(wheel) as zf:
        for member, digest in members(build):
            final = os.path.join(target, os.path.basename(member))
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
                raise SystemExit("fetch_libssl: sha256 mismatch for %s: got %s, want %s" % (member, got, digest))
            os.chmod(tmp, 0o755)
            os.rename(tmp, final)  # atomic over an existing file on POSIX
            log("extracted %s -> %s" % (member, final))


def make_aliases(build, target):
    for alias, name in build.aliases.items():
        link = os.path.join(target, alias)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(name, link)  # relative: the directory can be moved


def fetch(version, target=None):
    """Make sure *version*'s libraries are in *target*; returns ``(libssl, libcrypto, [preload, ...])`` paths."""
    build = BUILDS[version]
    target = os.path.abspath(target or default_target(version))
    if not os.path.isdir(target):
        os.makedirs(target)
    if not _present(build, target):
        log("fetching %s==%s (%s)" % (build.project, build.version, build.openssl))
        workdir = tempfile.mkdtemp(prefix="fetch_libssl-")
        try:
            extract(build, download_wheel(build, workdir), target)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if not _present(build, target):
            raise SystemExit("fetch_libssl: post-install check failed in %s" % target)
    make_aliases(build, target)

    def path(member):
        return os.path.join(target, os.path.basename(member[0]))
    return path(build.libssl), path(build.libcrypto), [path(m) for m in build.preload]


def main(argv):
    if len(argv) not in (2, 3) or argv[1] not in BUILDS:
        sys.stderr.write(__doc__)
        return 2
    if not sys.platform.startswith("linux") or platform.machine() not in ("x86_64", "AMD64", "amd64"):
        log("warning: the pinned libraries are Linux x86_64 binaries; this is %s/%s"
            % (sys.platform, platform.machine()))
    libssl, libcrypto, preload = fetch(argv[1], argv[2] if len(argv) == 3 else None)
    sys.stdout.write("NATIVETLS_LIBSSL=%s\n" % _shquote(libssl))
    sys.stdout.write("NATIVETLS_LIBCRYPTO=%s\n" % _shquote(libcrypto))
    sys.stdout.write("NATIVETLS_TEST_PRELOAD=%s\n" % _shquote(os.pathsep.join(preload)))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
