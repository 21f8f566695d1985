"""Small helpers shared by the lab's test modules."""
from __future__ import absolute_import, division, print_function

import os

import pytest

__all__ = ["IN_CI", "need", "need_tool", "need_module"]

IN_CI = bool(os.environ.get("CI"))


def need(condition, reason):
    """Skip unless *condition*; under CI (env CI set) a missing prerequisite fails instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail("lab prerequisite missing under CI: %s" % reason)
    pytest.skip(reason)


def need_tool(name, package=None):
    from _peers import have_tool
    need(have_tool(name), "%s is not installed%s" % (name, " (Debian package %s)" % package if package else ""))


def need_module(name, pip_name=None):
    try:
        __import__(name)
        ok = True
    except ImportError:
        ok = False
    need(ok, "Python module %s is not installed (pip install %s)" % (name, pip_name or name))
