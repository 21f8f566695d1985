# -*- coding: utf-8 -*-
"""Fixed-width Apple types, the framework loader, the prototype-table binder and the raw native errors (private).

Types (Apple's headers; ``tests/test_mac_metadata.py`` checks every declaration against PyObjC's metadata):

* ``OSStatus`` is ``SInt32`` (MacTypes.h), ``Boolean`` is ``unsigned char`` (MacTypes.h) - not C99 ``bool``, which
  ``SecTrustEvaluateWithError`` alone returns - and ``CFIndex`` is ``signed long`` (CFBase.h): 64 bits on every Mac
  nativetls supports. ``CFTypeID``/``CFOptionFlags`` are ``unsigned long``. ``size_t`` is ``size_t``.
* Every reference (``CFTypeRef``, ``SSLContextRef``, ``SecTrustRef``, ...) is ``c_void_p``. urllib3's bindings
  declared ``SSLConnectionRef`` as ``c_uint32``; the header says ``const void *``.
* ``SSLCipherSuite`` is ``uint16_t`` on arm64 and ``uint32_t`` elsewhere (CipherSuite.h, lines 39-45); PyObjC's
  metadata has one 32-bit encoding for both. oscrypto, rust security-framework, .NET and curl all shipped arrays of
  the wrong width here.

Loading: frameworks are opened by full path (since Big Sur they exist only in the dyld shared cache, and
``ctypes.util.find_library`` fails). The environment variable ``NATIVETLS_MAC_FRAMEWORKS`` (test-only, see
``docs/backend-macos.md``) names ONE shared library used for both Security and CoreFoundation - the SecureTransport
double of ``tests/mac/double/`` - and lets the backend load on any OS; data symbols (``kCFTypeArrayCallBacks``) are
read from it too. Nothing is loaded at import.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
import os
import platform
import sys
from ctypes import POINTER, c_bool, c_char_p, c_double, c_int32, c_long, c_size_t, c_uint8, c_uint16, c_uint32
from ctypes import c_ulong, c_void_p

__all__ = [
    "OSStatus", "Boolean", "CFIndex", "CFTypeID", "CFOptionFlags", "CFTypeRef", "SSLCipherSuite", "ARM64",
    "OWNED", "BORROWED", "Arg", "In", "Out", "InOut", "OVERRIDE_VARIABLE", "FRAMEWORKS", "framework_path",
    "override_path", "Library", "OSStatusError", "check_status", "check_not_null",
]

OSStatus = c_int32            # MacTypes.h: typedef SInt32 OSStatus
Boolean = c_uint8             # MacTypes.h: typedef unsigned char Boolean
CBool = c_bool                # C99 bool (SecTrustEvaluateWithError's result only)
CFIndex = c_long              # CFBase.h: typedef signed long CFIndex (LP64: 64 bits)
CFTypeID = c_ulong            # CFBase.h: typedef unsigned long CFTypeID
CFOptionFlags = c_ulong       # CFBase.h
CFTypeRef = c_void_p          # every CF/Security reference
CFDouble = c_double

#: Whether this is an arm64 Mac (SSLCipherSuite is 16 bits there). The double follows the same rule for the
#: architecture it is compiled for (``__aarch64__``/``__arm64__``).
ARM64 = platform.machine().lower() in ("arm64", "aarch64")
SSLCipherSuite = c_uint16 if ARM64 else c_uint32   # CipherSuite.h lines 39-45

# Who owns a CF object a function hands back: the Create/Copy rule of Apple's Memory Management Programming Guide
# for Core Foundation. OWNED: +1, the caller releases it (once, never NULL). BORROWED: the "Get" rule, not ours.
OWNED = "owned"
BORROWED = "borrowed"


class Arg(object):
    """A pointer argument of a prototype row, with its direction: ``"n"`` (the callee reads our memory), ``"o"``
    (the callee writes it) or ``"N"`` (both). *owner* says, for an out-pointer to a CF reference, whether the
    reference written there is OWNED or BORROWED. The binder passes only *ctype* to ctypes."""

    __slots__ = ("direction", "ctype", "owner")

    def __init__(self, direction, ctype, owner=None):
        self.direction = direction
        self.ctype = ctype
        self.owner = owner

    def __repr__(self):
        return "Arg(%r, %s, %r)" % (self.direction, getattr(self.ctype, "__name__", self.ctype), self.owner)


def In(ctype):
    """A pointer to memory the function only reads (``const T *``)."""
    return Arg("n", ctype)


def Out(ctype, owner=None):
    """A pointer the function writes through (``T *``), with the ownership of a CF reference written there."""
    return Arg("o", ctype, owner)


def InOut(ctype):
    """A pointer read and then written (``size_t *dataLength`` of the I/O callbacks)."""
    return Arg("N", ctype)


OVERRIDE_VARIABLE = "NATIVETLS_MAC_FRAMEWORKS"

#: The frameworks, by full path (dyld resolves them from its shared cache).
FRAMEWORKS = {
    "Security": "/System/Library/Frameworks/Security.framework/Security",
    "CoreFoundation": "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation",
}


def override_path():
    """The test-only library named by ``NATIVETLS_MAC_FRAMEWORKS``, or None."""
    value = os.environ.get(OVERRIDE_VARIABLE, "").strip()
    return value or None


def framework_path(name):
    """The path *name* (``"Security"``/``"CoreFoundation"``) is loaded from.

    Raises:
        ImportError: not on macOS and no override is set (the message says why).
    """
    override = override_path()
    if override:
        return override
    if sys.platform != "darwin":
        raise ImportError("the securetransport backend needs macOS (Security.framework); this is %s (set %s to "
                          "a SecureTransport double to test it elsewhere)" % (sys.platform, OVERRIDE_VARIABLE))
    return FRAMEWORKS[name]


class OSStatusError(Exception):
    """A Security/CoreFoundation call failed: *function* returned the OSStatus *code*. :mod:`._lowlevel` maps it
    to the public errors."""

    def __init__(self, function, code):
        self.function = function
        self.code = code
        from ._security import status_name
        super(OSStatusError, self).__init__("%s failed: %s (%d)" % (function, status_name(code), code))


def check_status(result, func, args):
    """errcheck: an ``OSStatus`` other than ``errSecSuccess`` (0) raises :class:`OSStatusError`."""
    if result != 0:
        raise OSStatusError(func.__name__, result)
    return result


def check_not_null(result, func, args):
    """errcheck: a NULL reference (a Create/Copy that failed) raises :class:`OSStatusError` (``errSecParam``)."""
    if not result:
        raise OSStatusError(func.__name__, -50)
    return result


class _Functions(object):
    """The bound functions of one framework, as attributes; ``HAS_<name>`` says whether an optional one exists."""

    def __init__(self, name, path, dll):
        self.framework = name
        self.path = path
        self.dll = dll

    def __repr__(self):
        return "<%s functions from %s>" % (self.framework, self.path)


class Library(object):
    """A framework described by a prototype table and bound on first use.

    Args:
        name: ``"Security"`` or ``"CoreFoundation"`` (see :func:`framework_path`).
        prototypes: rows ``(name, restype, argtypes, errcheck, returns)`` in header order. ``argtypes`` may hold
            :class:`Arg` markers (the binder passes their ctype); ``errcheck`` is :func:`check_status`,
            :func:`check_not_null` or None for a function whose result the caller interprets (``SSLRead``) or
            that cannot fail; ``returns`` is OWNED/BORROWED for a function returning a CF object, else None.
        optional: names that may be missing on older systems; each sets ``HAS_<name>``.
        data: names of data symbols (``CFStringRef``/structures) read with :meth:`data_address`.
    """

    def __init__(self, name, prototypes, optional=(), data=()):
        self.name = name
        self.prototypes = tuple(prototypes)
        self.optional = frozenset(optional)
        self.data = tuple(data)
        self._functions = None

    def load(self):
        """Load the framework (once) and return an object with one attribute per bound function.

        Raises:
            ImportError: not on macOS without the override, or a required symbol is missing (named).
        """
        if self._functions is None:
            path = framework_path(self.name)
            try:
                dll = ctypes.CDLL(str(path), mode=getattr(ctypes, "RTLD_GLOBAL", 0))
            except OSError as exc:
                raise ImportError("cannot load %s from %s: %s" % (self.name, path, exc))
            self._functions = bind(dll, self.name, path, self.prototypes, self.optional)
        return self._functions

    def data_address(self, symbol):
        """The address of the data symbol *symbol* (the structure ``kCFTypeArrayCallBacks`` itself, or the
        variable holding a ``CFStringRef`` constant)."""
        functions = self.load()
        try:
            return ctypes.addressof(c_uint8.in_dll(functions.dll, str(symbol)))
        except ValueError:
            raise ImportError("%s (%s) has no data symbol %s" % (self.name, functions.path, symbol))

    def constant(self, symbol):
        """The value of a ``const CFStringRef`` data symbol (a borrowed reference, never released)."""
        functions = self.load()
        try:
            return c_void_p.in_dll(functions.dll, str(symbol)).value
        except ValueError:
            raise ImportError("%s (%s) has no data symbol %s" % (self.name, functions.path, symbol))


def bind(dll, name, path, prototypes, optional=frozenset()):
    """Apply a prototype table to a loaded library; the one place ``restype``/``argtypes``/``errcheck`` are set."""
    functions = _Functions(name, path, dll)
    for row in prototypes:
        symbol, restype, argtypes, errcheck = row[:4]
        try:
            function = getattr(dll, str(symbol))
        except AttributeError:
            if symbol in optional:
                setattr(functions, str("HAS_" + symbol), False)
                continue
            raise ImportError("%s (%s) has no %s" % (name, path, symbol))
        function.restype = restype
        function.argtypes = [arg.ctype if isinstance(arg, Arg) else arg for arg in argtypes]
        if errcheck is not None:
            function.errcheck = errcheck
        setattr(functions, str(symbol), function)
        if symbol in optional:
            setattr(functions, str("HAS_" + symbol), True)
    return functions


# Re-exported so declaration modules take every type from here.
_ = (POINTER, c_char_p, c_size_t, c_uint16, c_uint32)
