#!/usr/bin/env python
# -*- coding: utf-8 -*-
"""Build ``nativetls.pyz``: nativetls and its pure-Python dependencies in one file that any Python 2.7 or 3.6+ runs.

    python tools/build_pyz.py [--output dist/nativetls.pyz] [--wheels DIR]

For a machine whose Python cannot speak TLS: the user fetches this one file with any tool (curl uses the system's
TLS) and runs ``python nativetls.pyz pip install requests`` (pip over nativetls, as ``python -m nativetls.pip``) or
``python nativetls.pyz connect example.org:443`` (every verb of ``python -m nativetls``).

The archive holds the nativetls package of this source tree, asn1crypto at the archive's root, and enum34 in
``_py2/``, which the bootstrap puts on ``sys.path`` only on Python 2 (on Python 3 the stdlib's ``enum`` must win).
No ``.dist-info`` directories go in: pip, run from the archive, must not mistake the archive for an installation.

The output is reproducible: the dependencies are exact wheels checked by SHA-256 (fetched with ``pip download``
into ``--wheels`` unless already there), entries are sorted, and every entry has the same timestamp, permissions
and compression. Two builds of one tree give the same bytes.
"""
from __future__ import absolute_import, division, print_function

import argparse
import io
import os
import sys
import zipfile

from pinned_wheels import download, sha256_file  # tools/, beside this script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (wheel file, SHA-256 of the wheel, directory inside the archive). Changing a version means changing its hash.
PINNED = (
    ("asn1crypto-1.5.1-py2.py3-none-any.whl", "db4e40728b728508912cbb3d44f19ce188f218e9eba635821bb4b68564f8fd67", ""),
    ("enum34-1.1.10-py2-none-any.whl", "a98a201d6de3f2ab3db284e70a33b0f896fbf35f8086594e8c9e74b909058d53", "_py2/"),
)
SHEBANG = b"#!/usr/bin/env python\n"
TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can carry

MAIN = '''\
# -*- coding: utf-8 -*-
"""nativetls.pyz: nativetls and its dependencies in one file (built by tools/build_pyz.py).

    python nativetls.pyz pip ARGS...      pip over nativetls (python -m nativetls.pip ARGS...)
    python nativetls.pyz COMMAND ...      selftest, info, connect, serve (python -m nativetls COMMAND ...)
"""
import os
import sys

if sys.version_info[0] == 2:
    # enum34 lives apart so that it can never shadow Python 3's own enum module.
    sys.path.insert(1, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_py2"))

USAGE = """usage: python nativetls.pyz pip ARGS...   (pip over nativetls, e.g. pip install requests)
       python nativetls.pyz COMMAND ...   (selftest, info, connect HOST[:PORT], serve; COMMAND --help)
"""


def main(argv):
    if argv[:1] == ["pip"]:
        import nativetls.pip
        sys.argv[0] = "nativetls.pyz pip"
        return nativetls.pip.main(argv[1:])
    if argv[:1] in ([], ["-h"], ["--help"]):
        sys.stdout.write(USAGE)
        return 0 if argv else 2
    from nativetls._cli import main as cli_main
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''


def fetch_wheels(directory, pinned=PINNED):
    """The pinned wheels in *directory* (``pip download`` fetches what is missing); returns their paths.

    Raises:
        RuntimeError: pip could not fetch a wheel, or a wheel's SHA-256 is not the pinned one.
    """
    pins = [tuple(name.split("-")[:2]) + (name, digest) for name, digest, _ in pinned]
    # --python-version 2.7: the Python 2 wheels (enum34's differs from its Python 3 one); every pinned wheel is
    # pure Python, so one download serves all interpreters.
    return download(pins, directory, ["--python-version", "2.7"])


def _package_files(root, package="nativetls"):
    """(archive name, bytes) of every file of the package, without compiled files."""
    files = []
    for directory, subdirs, names in os.walk(os.path.join(root, package)):
        subdirs[:] = [d for d in subdirs if d != "__pycache__"]
        for name in names:
            if name.endswith((".pyc", ".pyo")):
                continue
            path = os.path.join(directory, name)
            with open(path, "rb") as handle:
                files.append((os.path.relpath(path, root).replace(os.sep, "/"), handle.read()))
    return files


def _wheel_files(path, prefix):
    """(archive name, bytes) of a wheel's importable files under *prefix*; its licence under _licenses/."""
    files = []
    with zipfile.ZipFile(path) as wheel:
        for name in wheel.namelist():
            if name.endswith("/"):
                continue
            top = name.split("/")[0]
            if top.endswith(".dist-info"):
                base = name.split("/")[-1]
                if base.startswith(("LICENSE", "LICENCE", "COPYING")):
                    files.append(("_licenses/%s-%s" % (top[:-len(".dist-info")], base), wheel.read(name)))
                continue
            files.append((prefix + name, wheel.read(name)))
    return files


def build(output, wheels_dir, root=ROOT):
    """Write the archive to *output*; returns its SHA-256 (hex)."""
    files = [("__main__.py", MAIN.encode("utf-8"))] + _package_files(root)
    for (name, _digest, prefix), path in zip(PINNED, fetch_wheels(wheels_dir)):
        files.extend(_wheel_files(path, prefix))
    names = [name for name, _ in files]
    if len(set(names)) != len(names):
        raise RuntimeError("two files would have the same name in the archive")
    body = io.BytesIO()
    body.write(SHEBANG)  # as zipapp does: the zip follows the "#!" line, which Python's zipimport skips
    with zipfile.ZipFile(body, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files):
            info = zipfile.ZipInfo(name, TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, wherever it is built, so that the permissions below mean the same
            info.external_attr = 0o100644 << 16
            archive.writestr(info, data)
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        os.makedirs(directory)
    partial = output + ".partial"
    with open(partial, "wb") as handle:
        handle.write(body.getvalue())
    os.chmod(partial, 0o755)
    if os.path.exists(output):
        os.remove(output)  # Windows cannot rename over a file
    os.rename(partial, output)
    return sha256_file(output)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build nativetls.pyz, reproducibly.")
    parser.add_argument("--output", default=os.path.join(ROOT, "dist", "nativetls.pyz"),
                        help="the archive to write (default: dist/nativetls.pyz)")
    parser.add_argument("--wheels", default=os.path.join(ROOT, "build", "pyz-wheels"),
                        help="where the pinned dependency wheels are kept (default: build/pyz-wheels)")
    args = parser.parse_args(argv)
    digest = build(args.output, args.wheels)
    print("%s  %s" % (digest, args.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
