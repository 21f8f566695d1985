# -*- coding: utf-8 -*-
"""Opt-in integrations of nativetls with other libraries (nothing here patches anything when imported).

* :mod:`nativetls.contrib.urllib3`: ``inject_into_urllib3()`` / ``extract_from_urllib3()``, and
  ``NativeTLSContext``, an ``ssl.SSLContext``-shaped client context for ``ssl_context=``.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

__all__ = []
