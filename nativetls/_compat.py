# -*- coding: utf-8 -*-
"""Small Python 2/3 bridges used across nativetls (private)."""
from __future__ import absolute_import, division, print_function, unicode_literals

import abc
import sys

__all__ = ["PY2", "ABC", "text_type", "bytes_types", "int_types", "to_native_str", "raise_from"]

PY2 = sys.version_info[0] == 2

# ``abc.ABC`` does not exist on 2.7 and ``__metaclass__`` is ignored by 3.x; building the base through the
# metaclass call works on both.
ABC = abc.ABCMeta(str("ABC"), (object,), {"__slots__": ()})

if PY2:  # pragma: no cover - exercised by the py27 tox environment
    text_type = unicode  # noqa: F821
    int_types = (int, long)  # noqa: F821
    bytes_types = (bytes, bytearray)

    def raise_from(exc, cause):
        """Raise *exc* with ``__cause__`` set (2.7 has no ``raise ... from``)."""
        exc.__cause__ = cause
        raise exc
else:
    text_type = str
    int_types = (int,)
    bytes_types = (bytes, bytearray, memoryview)
    exec("def raise_from(exc, cause):\n    raise exc from cause\n")


def to_native_str(value, encoding="ascii"):
    """Return *value* as the interpreter's ``str`` (bytes on 2.7, text on 3.x)."""
    if isinstance(value, str):
        return value
    if PY2:
        return value.encode(encoding)
    return value.decode(encoding)
