# -*- coding: utf-8 -*-
"""Raw declarations for advapi32.dll: the CryptoAPI key-container calls nativetls needs (deleting a key
container that PFXImportCertStore persisted). No logic.

Source: the Windows SDK ``wincrypt.h`` (Microsoft Learn "CryptAcquireContextW"), checked against the MinGW-w64
header by ``tests/test_win_static.py``. Nothing is loaded at import.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

from ctypes import c_wchar_p

from ._types import BOOL, DWORD, HCRYPTPROV, POINTER, Library, check_bool

__all__ = ["LIBRARY", "PROTOTYPES", "STRUCTURES", "load"]

# CryptAcquireContext dwFlags
CRYPT_VERIFYCONTEXT = 0xF0000000
CRYPT_NEWKEYSET = 0x00000008
CRYPT_DELETEKEYSET = 0x00000010
CRYPT_MACHINE_KEYSET = 0x00000020
CRYPT_SILENT = 0x00000040

STRUCTURES = ()

# (name, restype, argtypes, errcheck), in wincrypt.h order.
PROTOTYPES = (
    # phProv, szContainer, szProvider, dwProvType, dwFlags. With CRYPT_DELETEKEYSET, *phProv is not set.
    ("CryptAcquireContextW", BOOL, (POINTER(HCRYPTPROV), c_wchar_p, c_wchar_p, DWORD, DWORD), check_bool),
    ("CryptReleaseContext", BOOL, (HCRYPTPROV, DWORD), check_bool),
)

OPTIONAL = frozenset()

LIBRARY = Library("advapi32.dll", PROTOTYPES, OPTIONAL)


def load():
    """Bind advapi32.dll (Windows only; ImportError elsewhere) and return its functions."""
    return LIBRARY.load()
