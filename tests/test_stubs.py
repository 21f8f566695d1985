# -*- coding: utf-8 -*-
"""The type stubs ship with the package (PEP 561) and name every public name; ``tox -e stubs`` checks the
signatures themselves with mypy.stubtest."""
from __future__ import absolute_import, division, print_function, unicode_literals

import io
import os
import re

import nativetls

PACKAGE = os.path.dirname(os.path.abspath(nativetls.__file__))


def _read(name):
    with io.open(os.path.join(PACKAGE, name), encoding="utf-8") as handle:
        return handle.read()


def test_the_installed_package_has_the_marker_and_the_stubs():
    assert os.path.isfile(os.path.join(PACKAGE, "py.typed"))
    for name in ("__init__.pyi", "asyncio.pyi", "insecure.pyi", "pip.pyi", os.path.join("contrib", "__init__.pyi"),
                 os.path.join("contrib", "urllib3.pyi")):
        assert os.path.isfile(os.path.join(PACKAGE, name)), name


def _check_names(stub_name, module):
    stub = _read(stub_name)
    block = re.search(r"^__all__ = \[(.*?)\]", stub, re.S | re.M).group(1)
    assert sorted(re.findall(r'"(\w+)"', block)) == sorted(module.__all__), stub_name
    for name in module.__all__:
        # A class, a function, an alias (X = Y), an annotated variable (X: T), or a re-export (import X as X).
        assert re.search(r"^(class %s\b|def %s\(|%s = |%s: )|\b%s as %s\b" % ((name,) * 6), stub, re.M), (
            stub_name, name)


def test_the_stub_names_every_public_name():
    """Read as text (Python 2.7 cannot parse annotations): __all__ of the stub is the runtime's, and each name is
    defined in the stub."""
    _check_names("__init__.pyi", nativetls)


def test_the_insecure_stub_names_every_public_name():
    """nativetls.insecure (PEP 748) has its own stub, held to the same rule."""
    import nativetls.insecure
    _check_names("insecure.pyi", nativetls.insecure)
