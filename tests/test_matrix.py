"""docs/backends.md's matrix agrees with what the backends declare.

Each feature row of the matrix that names a ``Backend.features`` entry is compared with:

* OpenSSL: ``nativetls.backend("openssl").features`` of the library under test (a cell "yes, OpenSSL 1.1.1+"
  means present exactly from that version on; "no" means absent);
* SChannel: the Windows backend cannot load off Windows, and its features are probed at run time there. What can
  be read here is the set it may ever declare (the names ``make_backend`` in ``nativetls/_win/_context.py`` adds):
  a "no" cell must not be among them, any other cell must be. The Wine runs check the probed values.
"""
from __future__ import absolute_import, division, print_function

import ast
import io
import os
import re

import nativetls

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MATRIX = os.path.join(ROOT, "docs", "backends.md")
WIN_CONTEXT = os.path.join(ROOT, "nativetls", "_win", "_context.py")

# Matrix row -> the feature name it documents.
ROWS = {
    "TLS 1.3 client": "tls1_3",
    "Server": "server",
    "ALPN": "alpn",
    "SNI callback": "sni_callback",
    "Client certificates": "client_auth",
    "Session resumption": "session_resumption",
    "SSLKEYLOGFILE": "keylog",
}


def _matrix():
    """{row title: {column title: cell text}} from the first table of docs/backends.md."""
    with io.open(MATRIX, encoding="utf-8") as handle:
        lines = [line.strip() for line in handle if line.strip().startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header[1:], cells[1:]))
    return rows


def _column(rows, prefix):
    return dict((title, next(text for name, text in cells.items() if name.startswith(prefix)))
                for title, cells in rows.items())


def _says_no(cell):
    return re.match(r"(no|never|not)\b", cell.strip().lower()) is not None


def _openssl_expected(cell, version_number):
    if _says_no(cell):
        return False
    needed = re.search(r"OpenSSL (\d+)\.(\d+)\.(\d+)\+", cell)
    if needed:
        major, minor, patch = (int(x) for x in needed.groups())
        return version_number >= (major << 28 | minor << 20 | patch << 12)
    return True


def test_every_feature_has_a_row():
    rows = _matrix()
    assert set(ROWS) <= set(rows), sorted(set(ROWS) - set(rows))
    from nativetls._backend import FEATURE_NAMES
    assert set(ROWS.values()) == set(FEATURE_NAMES), "a feature name without a matrix row (or the reverse)"


def test_openssl_column_matches_the_backend_under_test():
    from nativetls._openssl import _lowlevel
    backend = nativetls.backend("openssl")
    column = _column(_matrix(), "OpenSSL")
    wrong = []
    for title, feature in sorted(ROWS.items()):
        expected = _openssl_expected(column[title], _lowlevel.VERSION)
        if expected != (feature in backend.features):
            wrong.append("%s (%s): the matrix says %r, %s has it: %s"
                         % (title, feature, column[title], backend.native_version, feature in backend.features))
    assert not wrong, "\n".join(wrong)


def _schannel_possible_features():
    """Every feature name the SChannel backend's make_backend() can put in its features."""
    with open(WIN_CONTEXT, "rb") as handle:  # bytes: Python 2.7 refuses a unicode source with a coding line
        tree = ast.parse(handle.read())
    function = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == "make_backend")
    names = set()
    for node in ast.walk(function):
        if type(node).__name__ in ("Str", "Constant"):  # Str before Python 3.8 (and on 2.7), Constant after
            value = node.s if type(node).__name__ == "Str" else node.value
            if isinstance(value, (type(u""), str)):
                names.add(value)
    from nativetls._backend import FEATURE_NAMES
    return names & set(FEATURE_NAMES)


def test_schannel_column_matches_what_the_windows_backend_can_declare():
    possible = _schannel_possible_features()
    assert possible, "found no feature names in make_backend()"
    column = _column(_matrix(), "SChannel")
    wrong = []
    for title, feature in sorted(ROWS.items()):
        if _says_no(column[title]) == (feature in possible):
            wrong.append("%s (%s): the matrix says %r, make_backend() %s declare it"
                         % (title, feature, column[title], "can" if feature in possible else "never does"))
    assert not wrong, "\n".join(wrong)
