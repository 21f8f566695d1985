# -*- coding: utf-8 -*-
"""Fixed-width Windows types, the prototype-table binder and the raw native errors (private).

Why not ``ctypes.wintypes``: on Linux its ``DWORD`` is ``c_ulong``, 8 bytes, so structures built from it have the
wrong layout and cannot be checked off Windows. Every type here has the width it has on 64-bit (and 32-bit) Windows
on *every* OS, so the static ABI check (``tests/test_win_static.py``) can compute the layouts on Linux and compare
them with the MinGW-w64 headers. Never use ``c_long``/``c_ulong``/``c_wchar`` in a structure: their sizes differ
between Linux and Windows.

Strings: in function arguments ``c_wchar_p`` is right (it is only ever called on Windows, where ``wchar_t`` is 2
bytes). In structures a ``LPWSTR`` field is declared ``c_void_p`` and set from a ``ctypes.create_unicode_buffer``
that the caller keeps alive; fixed ``WCHAR[n]`` arrays are ``c_uint16 * n`` and read with :func:`wchar_array_text`.

Nothing here loads a DLL: :class:`Library` binds its table on the first :meth:`Library.load`, and only on Windows.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
import struct
import sys
from ctypes import (
    POINTER, Structure, c_char_p, c_int32, c_int64, c_size_t, c_uint8, c_uint16, c_uint32, c_uint64, c_void_p,
    c_wchar_p,
)

__all__ = [
    "BYTE", "WORD", "DWORD", "ULONG", "LONG", "BOOL", "SECURITY_STATUS", "ALG_ID", "ULONG_PTR", "HANDLE",
    "HCERTSTORE", "HCERTCHAINENGINE", "HCRYPTPROV", "HCRYPTKEY", "PVOID", "LPSTR", "LPCWSTR", "LPWSTR_FIELD", "ANY_POINTER",
    "POINTER", "Structure", "IS_WINDOWS", "NativeError", "SecurityStatusError", "Win32Error", "check_status",
    "check_bool", "check_handle", "Library", "wchar_array_text", "as_signed32", "hex32", "under_wine",
]

IS_WINDOWS = sys.platform == "win32"

BYTE = c_uint8
WORD = c_uint16
DWORD = c_uint32            # unsigned long on Windows: 32 bits on both Win32 and Win64
ULONG = c_uint32
LONG = c_int32
BOOL = c_int32              # WINBOOL (int)
SECURITY_STATUS = c_int32   # LONG; SEC_E_* are negative, SEC_I_* positive
ALG_ID = c_uint32
ULONG_PTR = c_size_t        # pointer-sized unsigned integer (SecHandle members, HCRYPTPROV)
HANDLE = c_void_p
HCERTSTORE = c_void_p
HCERTCHAINENGINE = c_void_p
HCRYPTPROV = c_size_t       # ULONG_PTR, not a pointer
HCRYPTKEY = c_size_t        # ULONG_PTR, not a pointer
PVOID = c_void_p
LPSTR = c_char_p            # arguments only
LPCWSTR = c_wchar_p         # arguments only (see the module docstring)
LPWSTR_FIELD = c_void_p     # an LPWSTR inside a structure
ANY_POINTER = c_void_p      # documents "a pointer whose pointee we never touch from Python"

_BITS = 32


def as_signed32(value):
    """Return *value* (an int) as the signed 32-bit number it denotes (``0x80090308`` -> ``-2146893048``)."""
    value &= 0xFFFFFFFF
    return value - (1 << _BITS) if value & 0x80000000 else value


def hex32(value):
    """Format a 32-bit code the way Windows documents it: ``0x80090308``."""
    return "0x%08X" % (value & 0xFFFFFFFF)


def wchar_array_text(array):
    """Decode a ``c_uint16 * n`` WCHAR array up to its first NUL."""
    units = []
    for unit in array:
        if unit == 0:
            break
        units.append(unit)
    return struct.pack(str("<%dH") % len(units), *units).decode("utf-16-le", "replace")


class NativeError(Exception):
    """A native call failed. Carries the function name and the code; :mod:`._lowlevel` maps it to public errors.

    ``name`` is the symbolic name of ``code`` (``SEC_E_UNTRUSTED_ROOT``), looked up in the declaration modules.
    """

    def __init__(self, function, code):
        self.function = function
        self.code = code
        super(NativeError, self).__init__("%s failed: %s (%s)" % (function, self.name, hex32(code)))

    @property
    def name(self):
        return status_name(self.code)


class SecurityStatusError(NativeError):
    """A ``SECURITY_STATUS``/``HRESULT`` failure returned by an SSPI function."""


class Win32Error(NativeError):
    """A ``BOOL``/handle failure whose cause is in ``GetLastError()`` (crypt32)."""


_NAMES = {}


def status_name(code):
    """The symbolic name of an SSPI/crypt32 status, such as ``SEC_E_INCOMPLETE_MESSAGE``, or ``"unknown"``."""
    if not _NAMES:
        from . import _crypt32, _secur32
        # Later modules do not override earlier names: SSPI names win where a value has two names.
        for module, prefixes in ((_secur32, ("SEC_E_", "SEC_I_")),
                                 (_crypt32, ("CERT_E_", "CRYPT_E_", "TRUST_E_", "NTE_", "E_", "ERROR_"))):
            for key in sorted(vars(module)):
                if key.startswith(prefixes):
                    _NAMES.setdefault(as_signed32(getattr(module, key)), key)
    return _NAMES.get(as_signed32(code), "unknown")


_WINE = []


def under_wine():
    """Whether this Windows is Wine (ntdll exports ``wine_get_version``). Used only where Wine's behaviour is known
    to differ and cannot be detected by asking the API itself; each use says why."""
    if not _WINE:
        found = False
        if IS_WINDOWS:  # pragma: no cover - Windows only
            found = hasattr(ctypes.WinDLL(str("ntdll")), "wine_get_version")
        _WINE.append(found)
    return _WINE[0]


def _last_error():
    return ctypes.get_last_error() if IS_WINDOWS else 0  # pragma: no cover - Windows only


def check_status(result, func, args):
    """errcheck: a ``SECURITY_STATUS`` other than ``SEC_E_OK`` raises :class:`SecurityStatusError`."""
    if result != 0:
        raise SecurityStatusError(func.__name__, result)
    return result


def check_bool(result, func, args):
    """errcheck: a ``FALSE`` BOOL raises :class:`Win32Error` with ``GetLastError()``."""
    if not result:
        raise Win32Error(func.__name__, _last_error())
    return result


def check_handle(result, func, args):
    """errcheck: a NULL handle or pointer raises :class:`Win32Error` with ``GetLastError()``."""
    if not result:
        raise Win32Error(func.__name__, _last_error())
    return result


class _Functions(object):
    """The bound functions of one DLL, as attributes; ``HAS_<name>`` says whether an optional one exists."""

    def __init__(self, dll_name):
        self.dll_name = dll_name

    def __repr__(self):
        return "<%s functions>" % (self.dll_name,)


class Library(object):
    """A DLL described by a prototype table and bound on first use.

    Args:
        dll_name: the DLL's file name (``"secur32.dll"``).
        prototypes: rows ``(name, restype, argtypes, errcheck)`` in header order. ``errcheck`` is a function
            (``check_status``, ``check_bool``, ``check_handle``) or None for a function that cannot fail or whose
            result the caller interprets (such as ``InitializeSecurityContextW``, whose statuses drive the loop).
        optional: names that may be missing on older systems; each sets ``HAS_<name>`` on the bound functions.

    :meth:`load` raises ImportError off Windows, or naming the first required symbol the DLL lacks.
    """

    def __init__(self, dll_name, prototypes, optional=()):
        self.dll_name = dll_name
        self.prototypes = tuple(prototypes)
        self.optional = frozenset(optional)
        self._functions = None

    def load(self):
        """Load the DLL (once) and return an object with one attribute per bound function."""
        if self._functions is None:
            if not IS_WINDOWS:
                raise ImportError("the SChannel backend needs Windows (%s); this is %s" % (self.dll_name, sys.platform))
            dll = ctypes.WinDLL(str(self.dll_name), use_last_error=True)  # pragma: no cover - Windows only
            self._functions = bind(dll, self.dll_name, self.prototypes, self.optional)  # pragma: no cover
        return self._functions  # pragma: no cover - Windows only


def bind(dll, dll_name, prototypes, optional=frozenset()):
    """Apply a prototype table to a loaded DLL; the one place ``restype``/``argtypes``/``errcheck`` are set."""
    functions = _Functions(dll_name)
    for name, restype, argtypes, errcheck in prototypes:
        try:
            function = getattr(dll, str(name))
        except AttributeError:
            if name in optional:
                setattr(functions, str("HAS_" + name), False)
                continue
            raise ImportError("%s has no %s: this Windows is too old for nativetls" % (dll_name, name))
        function.restype = restype
        function.argtypes = list(argtypes)
        if errcheck is not None:
            function.errcheck = errcheck
        setattr(functions, str(name), function)
        if name in optional:
            setattr(functions, str("HAS_" + name), True)
    return functions


# Re-exported so declaration modules take every type from here.
_ = (POINTER, Structure, c_char_p, c_int32, c_int64, c_size_t, c_uint8, c_uint16, c_uint32, c_uint64, c_void_p,
     c_wchar_p)
