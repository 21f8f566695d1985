# -*- coding: utf-8 -*-
"""Raw declarations for CoreFoundation: the prototypes, constants and data symbols the backend uses. No logic.

Sources: Apple's CoreFoundation headers (CFBase.h, CFData.h, CFArray.h, CFString.h, CFError.h, CFDictionary.h),
checked against PyObjC's machine-readable metadata by ``tests/test_mac_metadata.py``. Ownership (``returns`` and
the ``Out(..., owner)`` markers) follows the Create/Copy rule: a function named ``*Create*``/``*Copy*`` returns a
reference the caller owns (+1, released once by :class:`._lowlevel.CFRef`); ``*Get*`` returns a borrowed one.
``CFRelease`` is never called with NULL (it aborts the process: pip issue 5131); :class:`._lowlevel.CFRef` checks.

Nothing is loaded at import: :data:`LIBRARY` ``.load()`` binds :data:`PROTOTYPES`.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

from ctypes import c_char_p, c_uint32, c_void_p

from ._types import BORROWED, OWNED, Boolean, CFIndex, CFTypeID, CFTypeRef, In, Library, Out, check_not_null

__all__ = ["LIBRARY", "PROTOTYPES", "DATA_SYMBOLS", "load"]

# --- CFString.h: CFStringBuiltInEncodings ---
CFStringEncoding = c_uint32  # CFString.h: typedef UInt32 CFStringEncoding
kCFStringEncodingUTF8 = 0x08000100
kCFStringEncodingASCII = 0x0600

# --- CFBase.h ---
kCFNotFound = -1
kCFAllocatorDefault = None    # NULL means the default allocator (CFBase.h)

#: Data symbols read from the library (absent from PyObjC's function metadata; CFArray.h / CFDictionary.h).
DATA_SYMBOLS = ("kCFTypeArrayCallBacks", "kCFTypeDictionaryKeyCallBacks", "kCFTypeDictionaryValueCallBacks",
                "kCFBooleanTrue", "kCFBooleanFalse")

# (name, restype, argtypes, errcheck, returns): header order within each header.
PROTOTYPES = (
    # CFBase.h
    ("CFRelease", None, [CFTypeRef], None, None),                       # never with NULL (aborts)
    ("CFRetain", CFTypeRef, [CFTypeRef], None, None),                   # +1 on its argument (returned)
    ("CFGetRetainCount", CFIndex, [CFTypeRef], None, None),
    ("CFGetTypeID", CFTypeID, [CFTypeRef], None, None),
    # CFData.h
    ("CFDataGetTypeID", CFTypeID, [], None, None),
    ("CFDataCreate", CFTypeRef, [c_void_p, In(c_char_p), CFIndex], check_not_null, OWNED),
    ("CFDataGetLength", CFIndex, [CFTypeRef], None, None),
    ("CFDataGetBytePtr", c_void_p, [CFTypeRef], None, None),            # interior pointer, lives with the data
    # CFArray.h
    ("CFArrayGetTypeID", CFTypeID, [], None, None),
    ("CFArrayCreate", CFTypeRef, [c_void_p, In(c_void_p), CFIndex, In(c_void_p)], check_not_null, OWNED),
    ("CFArrayCreateMutable", CFTypeRef, [c_void_p, CFIndex, In(c_void_p)], check_not_null, OWNED),
    ("CFArrayGetCount", CFIndex, [CFTypeRef], None, None),
    ("CFArrayGetValueAtIndex", CFTypeRef, [CFTypeRef, CFIndex], None, BORROWED),
    ("CFArrayAppendValue", None, [CFTypeRef, CFTypeRef], None, None),   # the array retains the value
    # CFDictionary.h
    ("CFDictionaryCreate", CFTypeRef, [c_void_p, In(c_void_p), In(c_void_p), CFIndex, In(c_void_p), In(c_void_p)],
     check_not_null, OWNED),
    ("CFDictionaryGetTypeID", CFTypeID, [], None, None),
    ("CFDictionaryGetValue", CFTypeRef, [CFTypeRef, CFTypeRef], None, BORROWED),   # NULL: no such key
    # CFString.h
    ("CFStringGetTypeID", CFTypeID, [], None, None),
    ("CFStringCreateWithCString", CFTypeRef, [c_void_p, In(c_char_p), CFStringEncoding], check_not_null, OWNED),
    ("CFStringGetLength", CFIndex, [CFTypeRef], None, None),
    ("CFStringGetMaximumSizeForEncoding", CFIndex, [CFIndex, CFStringEncoding], None, None),
    ("CFStringGetCString", Boolean, [CFTypeRef, Out(c_void_p), CFIndex, CFStringEncoding], None, None),
    # CFError.h
    ("CFErrorGetCode", CFIndex, [CFTypeRef], None, None),
    ("CFErrorCopyDescription", CFTypeRef, [CFTypeRef], None, OWNED),
)

LIBRARY = Library("CoreFoundation", PROTOTYPES, data=DATA_SYMBOLS)


def load():
    """The bound CoreFoundation functions (see :class:`._types.Library`)."""
    return LIBRARY.load()
