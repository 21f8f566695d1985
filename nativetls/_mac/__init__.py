# -*- coding: utf-8 -*-
"""The macOS backend (SecureTransport via Security.framework): not written yet.

Importing this package works everywhere; :func:`load_backend` raises ImportError with the reason.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import sys

__all__ = ["load_backend"]


def load_backend():
    """Raises ImportError: the SecureTransport backend is not implemented yet (and needs macOS)."""
    if sys.platform != "darwin":
        raise ImportError("the securetransport backend needs macOS (Security.framework); this is %s" % sys.platform)
    raise ImportError("the securetransport backend is not implemented yet; use NATIVETLS_BACKEND=openssl")
