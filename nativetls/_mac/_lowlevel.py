# -*- coding: utf-8 -*-
"""Owned CF references, CF value helpers and error conversion for the SecureTransport backend (private).

Ownership: every reference a Create/Copy function returns (the ``OWNED`` rows of :mod:`._security` and
:mod:`._corefoundation`) goes at once into a :class:`CFRef`, which releases it exactly once. A borrowed reference
(``Get``) is never wrapped, or wrapped with ``retain=True`` when it must outlive its owner. ``CFRelease(NULL)``
aborts the process (pip issue 5131): :class:`CFRef` never calls it with NULL, and an empty out-pointer gives an
empty :class:`CFRef`.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
from ctypes import byref, c_void_p

from .._compat import text_type
from .._state import Closeable
from .._errors import TLSError
from . import _corefoundation as _cf
from . import _security as _sec
from ._types import OSStatusError

__all__ = ["cf", "sec", "CFRef", "cfdata", "cfstring", "cfarray", "cfdictionary", "certificate_ref",
           "certificate_der", "data_bytes", "string_text", "describe", "tls_error"]


def cf():
    """The bound CoreFoundation functions."""
    return _cf.load()


def sec():
    """The bound Security functions."""
    return _sec.load()


class CFRef(Closeable):
    """The owner of one CF reference (+1): ``close()`` releases it once (idempotent; nothing for NULL).

    Args:
        value: the reference (an int, a ``c_void_p`` or None) that a Create/Copy function returned, or a borrowed
            one with *retain* (then retained here, so that this owner may release it).
    """

    __slots__ = ("_value",)

    def __init__(self, value=None, retain=False):
        if isinstance(value, c_void_p):
            value = value.value
        self._value = value or None
        if retain and self._value is not None:
            cf().CFRetain(self._value)

    @classmethod
    def out(cls):
        """A ``c_void_p`` to pass as an out-pointer (``byref``); wrap it with :meth:`take` after the call."""
        return c_void_p()

    @property
    def value(self):
        """The reference (an int), or None once released (or if it was NULL)."""
        return self._value

    def __bool__(self):
        return self._value is not None

    __nonzero__ = __bool__

    def close(self):
        value, self._value = self._value, None
        if value is not None:
            cf().CFRelease(value)

    def __repr__(self):
        return "<CFRef %s>" % (hex(self._value) if self._value else "NULL")


def cfdata(data):
    """An owned CFData holding a copy of *data* (bytes)."""
    data = bytes(data)
    return CFRef(cf().CFDataCreate(None, data, len(data)))


def cfstring(text):
    """An owned CFString for *text* (str, or UTF-8 bytes)."""
    if isinstance(text, text_type):
        text = text.encode("utf-8")
    return CFRef(cf().CFStringCreateWithCString(None, text, _cf.kCFStringEncodingUTF8))


def cfarray(values):
    """An owned CFArray of *values* (references or CFRefs; the array retains each one)."""
    raw = [v.value if isinstance(v, CFRef) else v for v in values]
    array = (c_void_p * max(len(raw), 1))(*raw)
    callbacks = _cf.LIBRARY.data_address("kCFTypeArrayCallBacks")
    return CFRef(cf().CFArrayCreate(None, ctypes.cast(array, c_void_p), len(raw), callbacks))


def cfdictionary(pairs):
    """An owned CFDictionary of *pairs* ((key, value) references or CFRefs; the dictionary retains each one)."""
    raw = [tuple(v.value if isinstance(v, CFRef) else v for v in pair) for pair in pairs]
    keys = (c_void_p * max(len(raw), 1))(*[k for k, _v in raw])
    values = (c_void_p * max(len(raw), 1))(*[v for _k, v in raw])
    return CFRef(cf().CFDictionaryCreate(None, ctypes.cast(keys, c_void_p), ctypes.cast(values, c_void_p), len(raw),
                                         _cf.LIBRARY.data_address("kCFTypeDictionaryKeyCallBacks"),
                                         _cf.LIBRARY.data_address("kCFTypeDictionaryValueCallBacks")))


def certificate_ref(der):
    """An owned SecCertificate for *der* (bytes).

    Raises:
        ConfigurationError: Security.framework does not take it as a certificate.
    """
    data = cfdata(der)
    try:
        ref = CFRef(sec().SecCertificateCreateWithData(None, data.value))
    finally:
        data.close()
    if not ref:
        from .._errors import ConfigurationError
        raise ConfigurationError("Security.framework refused a certificate (SecCertificateCreateWithData)")
    return ref


def certificate_der(ref):
    """The DER bytes of a SecCertificate reference (borrowed; not released here)."""
    data = CFRef(sec().SecCertificateCopyData(ref.value if isinstance(ref, CFRef) else ref))
    try:
        return data_bytes(data)
    finally:
        data.close()


def data_bytes(ref):
    """The bytes of a CFData reference (borrowed or owned; not released here)."""
    value = ref.value if isinstance(ref, CFRef) else ref
    length = cf().CFDataGetLength(value)
    if length <= 0:
        return b""
    return ctypes.string_at(cf().CFDataGetBytePtr(value), length)


def string_text(ref):
    """The text of a CFString reference (not released here), or None for NULL."""
    value = ref.value if isinstance(ref, CFRef) else ref
    if not value:
        return None
    size = cf().CFStringGetMaximumSizeForEncoding(cf().CFStringGetLength(value), _cf.kCFStringEncodingUTF8) + 1
    buffer = ctypes.create_string_buffer(size)
    if not cf().CFStringGetCString(value, buffer, size, _cf.kCFStringEncodingUTF8):
        return None
    return buffer.value.decode("utf-8", "replace")


def describe(code):
    """Words for an OSStatus: Security's own message where it has one, and the symbolic name."""
    name = _sec.status_name(code)
    message = None
    try:
        text = CFRef(sec().SecCopyErrorMessageString(code, None))
    except Exception:  # pragma: no cover - the message is a courtesy
        text = CFRef()
    try:
        message = string_text(text) if text else None
    finally:
        text.close()
    if message and name not in message:
        return "%s (%s, %d)" % (message, name, code)
    return "%s (%d)" % (name, code)


def tls_error(what, code, cls=TLSError):
    """A public error for OSStatus *code* from *what* (a function name or a description)."""
    if isinstance(code, OSStatusError):
        what, code = code.function, code.code
    return cls("%s: %s" % (what, describe(code)), native_code=code, native_message=_sec.status_name(code))


_ = byref
