# -*- coding: utf-8 -*-
"""Raw declarations for crypt32.dll (certificates, stores, chain building and policy). No logic.

Sources: the Windows SDK ``wincrypt.h`` and ``winerror.h`` (Microsoft Learn pages of the same names), checked
against the MinGW-w64 headers by ``tests/test_win_static.py``. OID-like constants that the SDK defines as
``((LPCSTR) n)`` (store providers, policy OIDs, structure types) are stored as the int ``n`` and passed as a
``c_void_p`` argument.

Nothing is loaded at import: :data:`LIBRARY` ``.load()`` binds :data:`PROTOTYPES` on Windows only.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

from ctypes import c_char_p, c_uint8, c_void_p, c_wchar_p

from ._types import (
    BOOL, DWORD, HCERTCHAINENGINE, HCERTSTORE, HCRYPTPROV, LONG, POINTER, WORD, Library, Structure, as_signed32,
    check_bool, check_handle,
)

__all__ = ["LIBRARY", "PROTOTYPES", "STRUCTURES", "load"]

_s = as_signed32

# --- winerror.h: chain-policy and crypt32 errors (CERT_CHAIN_POLICY_STATUS.dwError, GetLastError()) ---
E_INVALIDARG = _s(0x80070057)
E_OUTOFMEMORY = _s(0x8007000E)
NTE_BAD_KEYSET = _s(0x80090016)
NTE_EXISTS = _s(0x8009000F)
CRYPT_E_NOT_FOUND = _s(0x80092004)
CRYPT_E_NO_KEY_PROPERTY = _s(0x8009200B)
CRYPT_E_REVOKED = _s(0x80092010)
CRYPT_E_NO_REVOCATION_CHECK = _s(0x80092012)
CRYPT_E_REVOCATION_OFFLINE = _s(0x80092013)
CRYPT_E_ASN1_BADTAG = _s(0x8009310B)
TRUST_E_CERT_SIGNATURE = _s(0x80096004)
TRUST_E_BASIC_CONSTRAINTS = _s(0x80096019)
CERT_E_EXPIRED = _s(0x800B0101)
CERT_E_VALIDITYPERIODNESTING = _s(0x800B0102)
CERT_E_ROLE = _s(0x800B0103)
CERT_E_PATHLENCONST = _s(0x800B0104)
CERT_E_CRITICAL = _s(0x800B0105)
CERT_E_PURPOSE = _s(0x800B0106)
CERT_E_ISSUERCHAINING = _s(0x800B0107)
CERT_E_MALFORMED = _s(0x800B0108)
CERT_E_UNTRUSTEDROOT = _s(0x800B0109)
CERT_E_CHAINING = _s(0x800B010A)
CERT_E_REVOKED = _s(0x800B010C)
CERT_E_UNTRUSTEDTESTROOT = _s(0x800B010D)
CERT_E_REVOCATION_FAILURE = _s(0x800B010E)
CERT_E_CN_NO_MATCH = _s(0x800B010F)
CERT_E_WRONG_USAGE = _s(0x800B0110)

# --- encodings, stores ---
X509_ASN_ENCODING = 0x00000001
PKCS_7_ASN_ENCODING = 0x00010000

CERT_STORE_PROV_MEMORY = 2          # ((LPCSTR) 2)
CERT_STORE_PROV_SYSTEM_W = 10       # ((LPCSTR) 10)
CERT_STORE_CREATE_NEW_FLAG = 0x00002000
CERT_STORE_READONLY_FLAG = 0x00008000
CERT_STORE_OPEN_EXISTING_FLAG = 0x00004000
CERT_SYSTEM_STORE_CURRENT_USER = 0x00010000
CERT_CLOSE_STORE_FORCE_FLAG = 0x00000001
CERT_CLOSE_STORE_CHECK_FLAG = 0x00000002

CERT_STORE_ADD_NEW = 1
CERT_STORE_ADD_USE_EXISTING = 2
CERT_STORE_ADD_REPLACE_EXISTING = 3
CERT_STORE_ADD_ALWAYS = 4

CERT_KEY_PROV_HANDLE_PROP_ID = 1
CERT_KEY_PROV_INFO_PROP_ID = 2
CERT_KEY_CONTEXT_PROP_ID = 5
CERT_NCRYPT_KEY_HANDLE_PROP_ID = 78

CERT_NAME_SIMPLE_DISPLAY_TYPE = 4
CERT_NAME_DNS_TYPE = 6

# CryptDecodeObjectEx structure types (((LPCSTR) n)) and flags
PKCS_RSA_PRIVATE_KEY = 43
PKCS_PRIVATE_KEY_INFO = 44
X509_ECC_PRIVATE_KEY = 82
CNG_RSA_PRIVATE_KEY_BLOB = 83
CRYPT_DECODE_ALLOC_FLAG = 0x8000

# PFXImportCertStore flags
CRYPT_EXPORTABLE = 0x00000001
CRYPT_USER_KEYSET = 0x00001000
CRYPT_ACQUIRE_CACHE_FLAG = 0x00000001  # CryptAcquireCertificatePrivateKey: use the handle cached on the cert
CERT_NCRYPT_KEY_SPEC = 0xFFFFFFFF   # CryptAcquireCertificatePrivateKey: the handle is a CNG NCRYPT_KEY_HANDLE
PKCS12_NO_PERSIST_KEY = 0x00008000

# --- chain building ---
USAGE_MATCH_TYPE_AND = 0
USAGE_MATCH_TYPE_OR = 1
CERT_CHAIN_CACHE_END_CERT = 0x00000001
CERT_CHAIN_REVOCATION_CHECK_END_CERT = 0x10000000
CERT_CHAIN_REVOCATION_CHECK_CHAIN = 0x20000000
CERT_CHAIN_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT = 0x40000000
CERT_CHAIN_CACHE_ONLY_URL_RETRIEVAL = 0x00000004
CERT_CHAIN_DISABLE_AUTH_ROOT_AUTO_UPDATE = 0x00000100
CERT_CHAIN_EXCLUSIVE_ENABLE_CA_FLAG = 0x00000001

# CERT_TRUST_STATUS.dwErrorStatus
CERT_TRUST_NO_ERROR = 0x00000000
CERT_TRUST_IS_NOT_TIME_VALID = 0x00000001
CERT_TRUST_IS_REVOKED = 0x00000004
CERT_TRUST_IS_NOT_SIGNATURE_VALID = 0x00000008
CERT_TRUST_IS_NOT_VALID_FOR_USAGE = 0x00000010
CERT_TRUST_IS_UNTRUSTED_ROOT = 0x00000020
CERT_TRUST_REVOCATION_STATUS_UNKNOWN = 0x00000040
CERT_TRUST_IS_CYCLIC = 0x00000080
CERT_TRUST_INVALID_EXTENSION = 0x00000100
CERT_TRUST_INVALID_POLICY_CONSTRAINTS = 0x00000200
CERT_TRUST_INVALID_BASIC_CONSTRAINTS = 0x00000400
CERT_TRUST_INVALID_NAME_CONSTRAINTS = 0x00000800
CERT_TRUST_IS_PARTIAL_CHAIN = 0x00010000
CERT_TRUST_HAS_WEAK_SIGNATURE = 0x00100000
CERT_TRUST_IS_OFFLINE_REVOCATION = 0x01000000
CERT_TRUST_IS_EXPLICIT_DISTRUST = 0x04000000
CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT = 0x08000000
# CERT_TRUST_STATUS.dwInfoStatus
CERT_TRUST_HAS_EXACT_MATCH_ISSUER = 0x00000001
CERT_TRUST_HAS_KEY_MATCH_ISSUER = 0x00000002
CERT_TRUST_HAS_NAME_MATCH_ISSUER = 0x00000004
CERT_TRUST_IS_SELF_SIGNED = 0x00000008
CERT_TRUST_IS_FROM_EXCLUSIVE_TRUST_STORE = 0x00002000
CERT_TRUST_IS_CA_TRUSTED = 0x00004000
CERT_TRUST_IS_COMPLEX_CHAIN = 0x00010000

# --- chain policy ---
CERT_CHAIN_POLICY_BASE = 1            # ((LPCSTR) 1)
CERT_CHAIN_POLICY_SSL = 4             # ((LPCSTR) 4)
CERT_CHAIN_POLICY_IGNORE_NOT_TIME_VALID_FLAG = 0x00000001
CERT_CHAIN_POLICY_ALLOW_UNKNOWN_CA_FLAG = 0x00000010
CERT_CHAIN_POLICY_IGNORE_WRONG_USAGE_FLAG = 0x00000020
CERT_CHAIN_POLICY_IGNORE_INVALID_NAME_FLAG = 0x00000040
CERT_CHAIN_POLICY_IGNORE_ALL_REV_UNKNOWN_FLAGS = 0x00000F00
AUTHTYPE_CLIENT = 1
AUTHTYPE_SERVER = 2
# HTTPSPolicyCallbackData.fdwChecks (the SECURITY_FLAG_IGNORE_* of wininet.h)
SECURITY_FLAG_IGNORE_UNKNOWN_CA = 0x00000100
SECURITY_FLAG_IGNORE_CERT_DATE_INVALID = 0x00002000
SECURITY_FLAG_IGNORE_CERT_CN_INVALID = 0x00001000

# Extended key usage OIDs (bytes: passed as LPSTR in CERT_ENHKEY_USAGE)
szOID_PKIX_KP_SERVER_AUTH = b"1.3.6.1.5.5.7.3.1"
szOID_PKIX_KP_CLIENT_AUTH = b"1.3.6.1.5.5.7.3.2"


class CRYPT_DATA_BLOB(Structure):
    """Also CERT_NAME_BLOB, CRYPT_INTEGER_BLOB, CRYPT_OBJID_BLOB... (all ``_CRYPTOAPI_BLOB``)."""
    _fields_ = [("cbData", DWORD), ("pbData", POINTER(c_uint8))]


class CRYPT_BIT_BLOB(Structure):
    _fields_ = [("cbData", DWORD), ("pbData", POINTER(c_uint8)), ("cUnusedBits", DWORD)]


class CRYPT_ALGORITHM_IDENTIFIER(Structure):
    _fields_ = [("pszObjId", c_char_p), ("Parameters", CRYPT_DATA_BLOB)]


class CERT_PUBLIC_KEY_INFO(Structure):
    _fields_ = [("Algorithm", CRYPT_ALGORITHM_IDENTIFIER), ("PublicKey", CRYPT_BIT_BLOB)]


class FILETIME(Structure):
    """100-ns intervals since 1601-01-01 UTC, split in two DWORDs."""
    _fields_ = [("dwLowDateTime", DWORD), ("dwHighDateTime", DWORD)]


class CERT_INFO(Structure):
    _fields_ = [
        ("dwVersion", DWORD), ("SerialNumber", CRYPT_DATA_BLOB), ("SignatureAlgorithm", CRYPT_ALGORITHM_IDENTIFIER),
        ("Issuer", CRYPT_DATA_BLOB), ("NotBefore", FILETIME), ("NotAfter", FILETIME), ("Subject", CRYPT_DATA_BLOB),
        ("SubjectPublicKeyInfo", CERT_PUBLIC_KEY_INFO), ("IssuerUniqueId", CRYPT_BIT_BLOB),
        ("SubjectUniqueId", CRYPT_BIT_BLOB), ("cExtension", DWORD), ("rgExtension", c_void_p),
    ]


class CERT_CONTEXT(Structure):
    """Owned through PCCERT_CONTEXT pointers; freed with CertFreeCertificateContext."""
    _fields_ = [
        ("dwCertEncodingType", DWORD), ("pbCertEncoded", POINTER(c_uint8)), ("cbCertEncoded", DWORD),
        ("pCertInfo", POINTER(CERT_INFO)), ("hCertStore", HCERTSTORE),
    ]


PCCERT_CONTEXT = POINTER(CERT_CONTEXT)


class CERT_TRUST_STATUS(Structure):
    _fields_ = [("dwErrorStatus", DWORD), ("dwInfoStatus", DWORD)]


class CERT_ENHKEY_USAGE(Structure):
    """Also CTL_USAGE. ``rgpszUsageIdentifier`` is an array of ``LPSTR`` OIDs."""
    _fields_ = [("cUsageIdentifier", DWORD), ("rgpszUsageIdentifier", POINTER(c_char_p))]


class CERT_USAGE_MATCH(Structure):
    _fields_ = [("dwType", DWORD), ("Usage", CERT_ENHKEY_USAGE)]


class CERT_CHAIN_PARA(Structure):
    """The base fields only (the SDK's ``CERT_CHAIN_PARA_HAS_EXTRA_FIELDS`` is not defined): cbSize says so."""
    _fields_ = [("cbSize", DWORD), ("RequestedUsage", CERT_USAGE_MATCH)]


class CERT_CHAIN_ELEMENT(Structure):
    _fields_ = [
        ("cbSize", DWORD), ("pCertContext", PCCERT_CONTEXT), ("TrustStatus", CERT_TRUST_STATUS),
        ("pRevocationInfo", c_void_p), ("pIssuanceUsage", POINTER(CERT_ENHKEY_USAGE)),
        ("pApplicationUsage", POINTER(CERT_ENHKEY_USAGE)), ("pwszExtendedErrorInfo", c_void_p),  # LPCWSTR
    ]


class CERT_SIMPLE_CHAIN(Structure):
    _fields_ = [
        ("cbSize", DWORD), ("TrustStatus", CERT_TRUST_STATUS), ("cElement", DWORD),
        ("rgpElement", POINTER(POINTER(CERT_CHAIN_ELEMENT))), ("pTrustListInfo", c_void_p),
        ("fHasRevocationFreshnessTime", BOOL), ("dwRevocationFreshnessTime", DWORD),
    ]


class GUID(Structure):
    _fields_ = [("Data1", DWORD), ("Data2", WORD), ("Data3", WORD), ("Data4", c_uint8 * 8)]


class CERT_CHAIN_CONTEXT(Structure):
    """Owned through PCCERT_CHAIN_CONTEXT; freed with CertFreeCertificateChain."""


CERT_CHAIN_CONTEXT._fields_ = [
    ("cbSize", DWORD), ("TrustStatus", CERT_TRUST_STATUS), ("cChain", DWORD),
    ("rgpChain", POINTER(POINTER(CERT_SIMPLE_CHAIN))), ("cLowerQualityChainContext", DWORD),
    ("rgpLowerQualityChainContext", POINTER(POINTER(CERT_CHAIN_CONTEXT))),
    ("fHasRevocationFreshnessTime", BOOL), ("dwRevocationFreshnessTime", DWORD), ("dwCreateFlags", DWORD),
    ("ChainId", GUID),
]

PCCERT_CHAIN_CONTEXT = POINTER(CERT_CHAIN_CONTEXT)


class CERT_CHAIN_POLICY_PARA(Structure):
    _fields_ = [("cbSize", DWORD), ("dwFlags", DWORD), ("pvExtraPolicyPara", c_void_p)]


class CERT_CHAIN_POLICY_STATUS(Structure):
    _fields_ = [("cbSize", DWORD), ("dwError", DWORD), ("lChainIndex", LONG), ("lElementIndex", LONG),
                ("pvExtraPolicyStatus", c_void_p)]


class HTTPSPolicyCallbackData(Structure):
    """SSL_EXTRA_CERT_CHAIN_POLICY_PARA. The SDK's first member is a union of cbStruct/cbSize (same DWORD)."""
    _fields_ = [("cbSize", DWORD), ("dwAuthType", DWORD), ("fdwChecks", DWORD),
                ("pwszServerName", c_void_p)]  # WCHAR *: a create_unicode_buffer kept alive by the caller


SSL_EXTRA_CERT_CHAIN_POLICY_PARA = HTTPSPolicyCallbackData


class CERT_CHAIN_ENGINE_CONFIG(Structure):
    """Full Windows 8+ layout. Systems older than Windows 7 reject this ``cbSize``; Wine 8 rejects
    ``hExclusiveRoot`` (E_INVALIDARG), so the backend falls back to an additional store there."""
    _fields_ = [
        ("cbSize", DWORD), ("hRestrictedRoot", HCERTSTORE), ("hRestrictedTrust", HCERTSTORE),
        ("hRestrictedOther", HCERTSTORE), ("cAdditionalStore", DWORD), ("rghAdditionalStore", POINTER(HCERTSTORE)),
        ("dwFlags", DWORD), ("dwUrlRetrievalTimeout", DWORD), ("MaximumCachedCertificates", DWORD),
        ("CycleDetectionModulus", DWORD), ("hExclusiveRoot", HCERTSTORE), ("hExclusiveTrustedPeople", HCERTSTORE),
        ("dwExclusiveFlags", DWORD),
    ]


class CRYPT_KEY_PROV_INFO(Structure):
    _fields_ = [
        ("pwszContainerName", c_void_p), ("pwszProvName", c_void_p), ("dwProvType", DWORD), ("dwFlags", DWORD),
        ("cProvParam", DWORD), ("rgProvParam", c_void_p), ("dwKeySpec", DWORD),
    ]


STRUCTURES = (
    CRYPT_DATA_BLOB, CRYPT_BIT_BLOB, CRYPT_ALGORITHM_IDENTIFIER, CERT_PUBLIC_KEY_INFO, FILETIME, CERT_INFO,
    CERT_CONTEXT, CERT_TRUST_STATUS, CERT_ENHKEY_USAGE, CERT_USAGE_MATCH, CERT_CHAIN_PARA, CERT_CHAIN_ELEMENT,
    CERT_SIMPLE_CHAIN, GUID, CERT_CHAIN_CONTEXT, CERT_CHAIN_POLICY_PARA, CERT_CHAIN_POLICY_STATUS,
    HTTPSPolicyCallbackData, CERT_CHAIN_ENGINE_CONFIG, CRYPT_KEY_PROV_INFO,
)

_PBYTE = POINTER(c_uint8)
_PDWORD = POINTER(DWORD)

# (name, restype, argtypes, errcheck) in wincrypt.h order. None: the function cannot fail (frees), or NULL is a
# normal answer (CertEnumCertificatesInStore at the end of the store).
PROTOTYPES = (
    ("CryptDecodeObjectEx", BOOL,
     # dwCertEncodingType, lpszStructType (an int OID), pbEncoded, cbEncoded, dwFlags, pDecodePara,
     # pvStructInfo, pcbStructInfo
     (DWORD, c_void_p, _PBYTE, DWORD, DWORD, c_void_p, c_void_p, _PDWORD), check_bool),
    ("CertOpenStore", HCERTSTORE,
     # lpszStoreProvider (an int OID), dwEncodingType, hCryptProv, dwFlags, pvPara
     (c_void_p, DWORD, HCRYPTPROV, DWORD, c_void_p), check_handle),
    ("CertOpenSystemStoreW", HCERTSTORE, (HCRYPTPROV, c_wchar_p), check_handle),
    ("CertCloseStore", BOOL, (HCERTSTORE, DWORD), check_bool),
    ("CertEnumCertificatesInStore", PCCERT_CONTEXT, (HCERTSTORE, PCCERT_CONTEXT), None),
    ("CertCreateCertificateContext", PCCERT_CONTEXT, (DWORD, _PBYTE, DWORD), check_handle),
    ("CertDuplicateCertificateContext", PCCERT_CONTEXT, (PCCERT_CONTEXT,), None),
    ("CertFreeCertificateContext", BOOL, (PCCERT_CONTEXT,), None),  # always TRUE
    ("CertSetCertificateContextProperty", BOOL, (PCCERT_CONTEXT, DWORD, DWORD, c_void_p), check_bool),
    ("CertGetCertificateContextProperty", BOOL, (PCCERT_CONTEXT, DWORD, c_void_p, _PDWORD),
     None),  # FALSE with CRYPT_E_NOT_FOUND answers "no such property"
    ("CertAddEncodedCertificateToStore", BOOL,
     (HCERTSTORE, DWORD, _PBYTE, DWORD, DWORD, POINTER(PCCERT_CONTEXT)), check_bool),
    ("CertAddCertificateContextToStore", BOOL,
     (HCERTSTORE, PCCERT_CONTEXT, DWORD, POINTER(PCCERT_CONTEXT)), check_bool),
    ("CertGetNameStringW", DWORD, (PCCERT_CONTEXT, DWORD, DWORD, c_void_p, c_wchar_p, DWORD),
     None),  # returns the length; never fails
    ("CertCreateCertificateChainEngine", BOOL, (POINTER(CERT_CHAIN_ENGINE_CONFIG), POINTER(HCERTCHAINENGINE)),
     check_bool),
    ("CertFreeCertificateChainEngine", None, (HCERTCHAINENGINE,), None),
    ("CertGetCertificateChain", BOOL,
     # hChainEngine, pCertContext, pTime, hAdditionalStore, pChainPara, dwFlags, pvReserved, ppChainContext
     (HCERTCHAINENGINE, PCCERT_CONTEXT, POINTER(FILETIME), HCERTSTORE, POINTER(CERT_CHAIN_PARA), DWORD,
      c_void_p, POINTER(PCCERT_CHAIN_CONTEXT)), check_bool),
    ("CertFreeCertificateChain", None, (PCCERT_CHAIN_CONTEXT,), None),
    ("CertVerifyCertificateChainPolicy", BOOL,
     # pszPolicyOID (an int OID), pChainContext, pPolicyPara, pPolicyStatus. TRUE means "the policy was checked":
     # the verdict is in pPolicyStatus->dwError.
     (c_void_p, PCCERT_CHAIN_CONTEXT, POINTER(CERT_CHAIN_POLICY_PARA), POINTER(CERT_CHAIN_POLICY_STATUS)),
     check_bool),
    # pCert, dwFlags, pvParameters, phCryptProvOrNCryptKey, pdwKeySpec, pfCallerFreeProvOrNCryptKey
    ("CryptAcquireCertificatePrivateKey", BOOL,
     (PCCERT_CONTEXT, DWORD, c_void_p, POINTER(HCRYPTPROV), _PDWORD, POINTER(BOOL)), check_bool),
    ("PFXImportCertStore", HCERTSTORE, (POINTER(CRYPT_DATA_BLOB), c_wchar_p, DWORD), check_handle),
    ("PFXIsPFXBlob", BOOL, (POINTER(CRYPT_DATA_BLOB),), None),  # FALSE is an answer
)

OPTIONAL = frozenset()

LIBRARY = Library("crypt32.dll", PROTOTYPES, OPTIONAL)


def load():
    """Bind crypt32.dll (Windows only; ImportError elsewhere) and return its functions."""
    return LIBRARY.load()
