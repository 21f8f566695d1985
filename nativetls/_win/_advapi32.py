# -*- coding: utf-8 -*-
"""Raw declarations for advapi32.dll: the CryptoAPI key-container calls nativetls needs (moving an imported key
into a container of its own, and deleting the key containers it made). No logic.

Source: the Windows SDK ``wincrypt.h`` (Microsoft Learn "CryptAcquireContextW"), checked against the MinGW-w64
header by ``tests/test_win_static.py``. Nothing is loaded at import.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

from ctypes import c_wchar_p

from ._types import BOOL, DWORD, HCRYPTKEY, HCRYPTPROV, POINTER, Library, c_uint8, check_bool

__all__ = ["LIBRARY", "PROTOTYPES", "STRUCTURES", "load"]

# CryptAcquireContext dwFlags
CRYPT_VERIFYCONTEXT = 0xF0000000
CRYPT_NEWKEYSET = 0x00000008
CRYPT_DELETEKEYSET = 0x00000010
CRYPT_MACHINE_KEYSET = 0x00000020
CRYPT_SILENT = 0x00000040

# Provider types, key specs, blob types, CryptGetProvParam parameters
PROV_RSA_FULL = 1
AT_KEYEXCHANGE = 1
AT_SIGNATURE = 2
PRIVATEKEYBLOB = 0x7
PP_NAME = 4
PP_CONTAINER = 6
PP_PROVTYPE = 16

STRUCTURES = ()

# (name, restype, argtypes, errcheck), in wincrypt.h order.
PROTOTYPES = (
    # phProv, szContainer, szProvider, dwProvType, dwFlags. With CRYPT_DELETEKEYSET, *phProv is not set.
    ("CryptAcquireContextW", BOOL, (POINTER(HCRYPTPROV), c_wchar_p, c_wchar_p, DWORD, DWORD), check_bool),
    ("CryptReleaseContext", BOOL, (HCRYPTPROV, DWORD), check_bool),
    # hProv, dwParam, pbData (NULL: size query), pdwDataLen, dwFlags
    ("CryptGetProvParam", BOOL, (HCRYPTPROV, DWORD, POINTER(c_uint8), POINTER(DWORD), DWORD), check_bool),
    ("CryptDestroyKey", BOOL, (HCRYPTKEY,), check_bool),
    # hKey, hExpKey, dwBlobType, dwFlags, pbData (NULL: size query), pdwDataLen
    ("CryptExportKey", BOOL, (HCRYPTKEY, HCRYPTKEY, DWORD, DWORD, POINTER(c_uint8), POINTER(DWORD)), check_bool),
    ("CryptGetUserKey", BOOL, (HCRYPTPROV, DWORD, POINTER(HCRYPTKEY)), check_bool),
    # hProv, pbData, dwDataLen, hPubKey, dwFlags, phKey
    ("CryptImportKey", BOOL, (HCRYPTPROV, POINTER(c_uint8), DWORD, HCRYPTKEY, DWORD, POINTER(HCRYPTKEY)),
     check_bool),
)

OPTIONAL = frozenset()

LIBRARY = Library("advapi32.dll", PROTOTYPES, OPTIONAL)


def load():
    """Bind advapi32.dll (Windows only; ImportError elsewhere) and return its functions."""
    return LIBRARY.load()
