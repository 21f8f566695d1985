# -*- coding: utf-8 -*-
"""Raw declarations for ncrypt.dll (CNG key storage): deleting a key that PFXImportCertStore persisted in a CNG
key storage provider (EC keys, and RSA keys on systems that prefer CNG). No logic.

Source: the Windows SDK ``ncrypt.h`` (Microsoft Learn pages of the same names), checked against the MinGW-w64
header by ``tests/test_win_static.py``. ``NCRYPT_*_HANDLE`` are ``ULONG_PTR``. Nothing is loaded at import.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

from ctypes import c_wchar_p

from ._types import DWORD, POINTER, SECURITY_STATUS, ULONG_PTR, Library, check_status

__all__ = ["LIBRARY", "PROTOTYPES", "STRUCTURES", "load"]

NCRYPT_PROV_HANDLE = ULONG_PTR
NCRYPT_KEY_HANDLE = ULONG_PTR
NCRYPT_HANDLE = ULONG_PTR

NCRYPT_MACHINE_KEY_FLAG = 0x00000020
NCRYPT_SILENT_FLAG = 0x00000040

STRUCTURES = ()

# (name, restype, argtypes, errcheck), in ncrypt.h order. All return SECURITY_STATUS (0 on success).
PROTOTYPES = (
    ("NCryptOpenStorageProvider", SECURITY_STATUS, (POINTER(NCRYPT_PROV_HANDLE), c_wchar_p, DWORD), check_status),
    # hProvider, phKey, pszKeyName, dwLegacyKeySpec, dwFlags
    ("NCryptOpenKey", SECURITY_STATUS, (NCRYPT_PROV_HANDLE, POINTER(NCRYPT_KEY_HANDLE), c_wchar_p, DWORD, DWORD),
     check_status),
    ("NCryptFreeObject", SECURITY_STATUS, (NCRYPT_HANDLE,), check_status),
    ("NCryptDeleteKey", SECURITY_STATUS, (NCRYPT_KEY_HANDLE, DWORD), check_status),  # also frees the handle
)

# ncrypt.dll exists since Vista; Wine 8 has it but implements little of it. Deleting a CNG key is best effort.
OPTIONAL = frozenset()

LIBRARY = Library("ncrypt.dll", PROTOTYPES, OPTIONAL)


def load():
    """Bind ncrypt.dll (Windows only; ImportError elsewhere) and return its functions."""
    return LIBRARY.load()
