"""The SChannel backend's key repair (``nativetls._win._keyblob``) is pure Python, so its tests
(``tests/win/test_schannel_keyblob.py``, which CI also runs under Wine) run here too, on every Python from 2.7 on,
against the session PKI: the same ``pki[name]`` credentials (``key_pem``, ``cert_der``) as under Wine."""
from __future__ import absolute_import, division, print_function

import os
import sys

_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "win", "test_schannel_keyblob.py")


def _load(path):
    """The module at *path*, under a name of its own (tests/win is not on sys.path here)."""
    name = "nativetls_tests_win_keyblob"
    if sys.version_info[0] < 3:
        import imp
        return imp.load_source(name, path)
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_tests = _load(_PATH)
globals().update((name, value) for name, value in vars(_tests).items() if name.startswith("test_"))
