# -*- coding: utf-8 -*-
"""Raw declarations for secur32.dll (SSPI + SChannel): types, structures, constants, prototypes. No logic.

Sources: the Windows SDK headers ``sspi.h``, ``schannel.h``, ``winerror.h`` (Microsoft Learn pages of the same
names), transcribed and checked against the MinGW-w64 copies by ``tests/test_win_static.py``. Structure and field
names are the SDK's, so that check can address them by name. ``SEC_E_*`` values are stored as the signed 32-bit
numbers a ``SECURITY_STATUS`` (``LONG``) return value has in Python; ``_s(0x...)`` keeps the documented hex visible.

Nothing is loaded at import: :data:`LIBRARY` ``.load()`` binds :data:`PROTOTYPES` on Windows only.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

from ctypes import c_uint8, c_uint16, c_void_p, c_wchar_p

from ._types import (
    ALG_ID, DWORD, HCERTSTORE, POINTER, SECURITY_STATUS, ULONG, ULONG_PTR, Library, Structure, as_signed32,
    check_status,
)

__all__ = ["LIBRARY", "PROTOTYPES", "STRUCTURES", "load"]  # constants and structures are read as module attributes

_s = as_signed32

# --- winerror.h: SECURITY_STATUS values (the ones SChannel client/server code can meet) ---
SEC_E_OK = 0x00000000
SEC_E_INSUFFICIENT_MEMORY = _s(0x80090300)
SEC_E_INVALID_HANDLE = _s(0x80090301)
SEC_E_UNSUPPORTED_FUNCTION = _s(0x80090302)
SEC_E_TARGET_UNKNOWN = _s(0x80090303)
SEC_E_INTERNAL_ERROR = _s(0x80090304)
SEC_E_SECPKG_NOT_FOUND = _s(0x80090305)
SEC_E_NOT_OWNER = _s(0x80090306)
SEC_E_CANNOT_INSTALL = _s(0x80090307)
SEC_E_INVALID_TOKEN = _s(0x80090308)
SEC_E_CANNOT_PACK = _s(0x80090309)
SEC_E_QOP_NOT_SUPPORTED = _s(0x8009030A)
SEC_E_NO_IMPERSONATION = _s(0x8009030B)
SEC_E_LOGON_DENIED = _s(0x8009030C)
SEC_E_UNKNOWN_CREDENTIALS = _s(0x8009030D)
SEC_E_NO_CREDENTIALS = _s(0x8009030E)
SEC_E_MESSAGE_ALTERED = _s(0x8009030F)
SEC_E_OUT_OF_SEQUENCE = _s(0x80090310)   # older bindings shipped 0x8009031 here
SEC_E_NO_AUTHENTICATING_AUTHORITY = _s(0x80090311)
SEC_I_CONTINUE_NEEDED = 0x00090312
SEC_I_COMPLETE_NEEDED = 0x00090313
SEC_I_COMPLETE_AND_CONTINUE = 0x00090314
SEC_I_LOCAL_LOGON = 0x00090315
SEC_E_BAD_PKGID = _s(0x80090316)
SEC_E_CONTEXT_EXPIRED = _s(0x80090317)
SEC_I_CONTEXT_EXPIRED = 0x00090317        # DecryptMessage: the peer sent close_notify
SEC_E_INCOMPLETE_MESSAGE = _s(0x80090318)
SEC_E_INCOMPLETE_CREDENTIALS = _s(0x80090320)
SEC_E_BUFFER_TOO_SMALL = _s(0x80090321)
SEC_I_INCOMPLETE_CREDENTIALS = 0x00090320  # the server asked for a client certificate we did not supply
SEC_I_RENEGOTIATE = 0x00090321            # DecryptMessage: handshake (or TLS 1.3 post-handshake) data follows
SEC_E_WRONG_PRINCIPAL = _s(0x80090322)
SEC_E_TIME_SKEW = _s(0x80090324)
SEC_E_UNTRUSTED_ROOT = _s(0x80090325)
SEC_E_ILLEGAL_MESSAGE = _s(0x80090326)
SEC_E_CERT_UNKNOWN = _s(0x80090327)
SEC_E_CERT_EXPIRED = _s(0x80090328)
SEC_E_ENCRYPT_FAILURE = _s(0x80090329)
SEC_E_DECRYPT_FAILURE = _s(0x80090330)
SEC_E_ALGORITHM_MISMATCH = _s(0x80090331)
SEC_E_SECURITY_QOS_FAILED = _s(0x80090332)
SEC_E_UNFINISHED_CONTEXT_DELETED = _s(0x80090333)
SEC_E_WRONG_CREDENTIAL_HANDLE = _s(0x80090336)
SEC_E_CRYPTO_SYSTEM_INVALID = _s(0x80090337)
SEC_E_STRONG_CRYPTO_NOT_SUPPORTED = _s(0x8009033A)
SEC_E_SHUTDOWN_IN_PROGRESS = _s(0x8009033F)
SEC_E_BAD_BINDINGS = _s(0x80090346)
SEC_E_CERT_WRONG_USAGE = _s(0x80090349)
SEC_E_DOWNGRADE_DETECTED = _s(0x80090350)
SEC_E_ISSUING_CA_UNTRUSTED = _s(0x80090352)
SEC_E_INVALID_PARAMETER = _s(0x8009035D)
SEC_I_NO_RENEGOTIATION = 0x00090360
SEC_E_NO_CONTEXT = _s(0x80090361)
SEC_E_MUTUAL_AUTH_FAILED = _s(0x80090363)
SEC_I_MESSAGE_FRAGMENT = 0x00090364
SEC_E_ONLY_HTTPS_ALLOWED = _s(0x80090365)
SEC_I_CONTINUE_NEEDED_MESSAGE_OK = 0x00090366
SEC_E_APPLICATION_PROTOCOL_MISMATCH = _s(0x80090367)
SEC_E_EXT_BUFFER_TOO_SMALL = _s(0x8009036A)
SEC_E_INSUFFICIENT_BUFFERS = _s(0x8009036B)

# --- sspi.h: SecBuffer types and flags ---
SECBUFFER_VERSION = 0
SECBUFFER_EMPTY = 0
SECBUFFER_DATA = 1
SECBUFFER_TOKEN = 2
SECBUFFER_PKG_PARAMS = 3
SECBUFFER_MISSING = 4
SECBUFFER_EXTRA = 5
SECBUFFER_STREAM_TRAILER = 6
SECBUFFER_STREAM_HEADER = 7
SECBUFFER_NEGOTIATION_INFO = 8
SECBUFFER_PADDING = 9
SECBUFFER_STREAM = 10
SECBUFFER_TARGET_HOST = 16
SECBUFFER_ALERT = 17
SECBUFFER_APPLICATION_PROTOCOLS = 18
SECBUFFER_ATTRMASK = 0xF0000000
SECBUFFER_READONLY = 0x80000000

SECURITY_NATIVE_DREP = 0x00000010
SECURITY_NETWORK_DREP = 0x00000000

SECPKG_CRED_INBOUND = 0x00000001
SECPKG_CRED_OUTBOUND = 0x00000002

# InitializeSecurityContext requests / returned attributes
ISC_REQ_DELEGATE = 0x00000001
ISC_REQ_MUTUAL_AUTH = 0x00000002
ISC_REQ_REPLAY_DETECT = 0x00000004
ISC_REQ_SEQUENCE_DETECT = 0x00000008
ISC_REQ_CONFIDENTIALITY = 0x00000010
ISC_REQ_USE_SESSION_KEY = 0x00000020
ISC_REQ_PROMPT_FOR_CREDS = 0x00000040
ISC_REQ_USE_SUPPLIED_CREDS = 0x00000080
ISC_REQ_ALLOCATE_MEMORY = 0x00000100
ISC_REQ_EXTENDED_ERROR = 0x00004000
ISC_REQ_STREAM = 0x00008000
ISC_REQ_INTEGRITY = 0x00010000
ISC_REQ_MANUAL_CRED_VALIDATION = 0x00080000
ISC_RET_ALLOCATED_MEMORY = 0x00000100
ISC_RET_EXTENDED_ERROR = 0x00004000
ISC_RET_STREAM = 0x00008000
ISC_RET_MANUAL_CRED_VALIDATION = 0x00080000

# AcceptSecurityContext requests / returned attributes (note: not the ISC_* values)
ASC_REQ_DELEGATE = 0x00000001
ASC_REQ_MUTUAL_AUTH = 0x00000002
ASC_REQ_REPLAY_DETECT = 0x00000004
ASC_REQ_SEQUENCE_DETECT = 0x00000008
ASC_REQ_CONFIDENTIALITY = 0x00000010
ASC_REQ_ALLOCATE_MEMORY = 0x00000100
ASC_REQ_EXTENDED_ERROR = 0x00008000
ASC_REQ_STREAM = 0x00010000
ASC_REQ_INTEGRITY = 0x00020000
ASC_RET_ALLOCATED_MEMORY = 0x00000100
ASC_RET_EXTENDED_ERROR = 0x00008000
ASC_RET_STREAM = 0x00010000

# QueryContextAttributes attributes (sspi.h, schannel.h)
SECPKG_ATTR_SIZES = 0
SECPKG_ATTR_STREAM_SIZES = 4
SECPKG_ATTR_APPLICATION_PROTOCOL = 35
SECPKG_ATTR_REMOTE_CERT_CONTEXT = 0x53
SECPKG_ATTR_LOCAL_CERT_CONTEXT = 0x54
SECPKG_ATTR_CONNECTION_INFO = 0x5A
SECPKG_ATTR_SESSION_INFO = 0x5D
SECPKG_ATTR_CIPHER_INFO = 0x64
SECPKG_ATTR_SUPPORTED_PROTOCOLS = 0x58   # QueryCredentialsAttributesW: SecPkgCred_SupportedProtocols

# SEC_APPLICATION_PROTOCOL_NEGOTIATION_EXT / _STATUS (enums in sspi.h)
SecApplicationProtocolNegotiationExt_None = 0
SecApplicationProtocolNegotiationExt_NPN = 1
SecApplicationProtocolNegotiationExt_ALPN = 2
SecApplicationProtocolNegotiationStatus_None = 0
SecApplicationProtocolNegotiationStatus_Success = 1
SecApplicationProtocolNegotiationStatus_SelectedClientOnly = 2
MAX_PROTOCOL_ID_SIZE = 0xFF

# --- schannel.h ---
SCH_CRED_V3 = 0x00000003
SCHANNEL_CRED_VERSION = 0x00000004
SCH_CREDENTIALS_VERSION = 0x00000005     # SCH_CREDENTIALS: Windows 10 1809 and later

SCH_CRED_NO_SYSTEM_MAPPER = 0x00000002
SCH_CRED_NO_SERVERNAME_CHECK = 0x00000004
SCH_CRED_MANUAL_CRED_VALIDATION = 0x00000008
SCH_CRED_NO_DEFAULT_CREDS = 0x00000010
SCH_CRED_AUTO_CRED_VALIDATION = 0x00000020
SCH_CRED_DISABLE_RECONNECTS = 0x00000080
SCH_CRED_REVOCATION_CHECK_END_CERT = 0x00000100
SCH_CRED_REVOCATION_CHECK_CHAIN = 0x00000200
SCH_CRED_IGNORE_NO_REVOCATION_CHECK = 0x00000800
SCH_CRED_IGNORE_REVOCATION_OFFLINE = 0x00001000
SCH_CRED_MEMORY_STORE_CERT = 0x00010000
SCH_SEND_ROOT_CERT = 0x00040000
SCH_USE_STRONG_CRYPTO = 0x00400000

SCH_CRED_FORMAT_CERT_CONTEXT = 0x00000000
TLS_PARAMS_OPTIONAL = 0x00000001
SCH_CRED_MAX_SUPPORTED_ALPN_IDS = 16

SCHANNEL_RENEGOTIATE = 0
SCHANNEL_SHUTDOWN = 1
SCHANNEL_ALERT = 2
SCHANNEL_SESSION = 3

TLS1_ALERT_WARNING = 1
TLS1_ALERT_FATAL = 2
TLS1_ALERT_CLOSE_NOTIFY = 0
TLS1_ALERT_HANDSHAKE_FAILURE = 40
TLS1_ALERT_BAD_CERTIFICATE = 42
TLS1_ALERT_CERTIFICATE_EXPIRED = 45
TLS1_ALERT_CERTIFICATE_UNKNOWN = 46
TLS1_ALERT_UNKNOWN_CA = 48
TLS1_ALERT_INTERNAL_ERROR = 80

SP_PROT_SSL2_SERVER = 0x00000004
SP_PROT_SSL2_CLIENT = 0x00000008
SP_PROT_SSL3_SERVER = 0x00000010
SP_PROT_SSL3_CLIENT = 0x00000020
SP_PROT_TLS1_0_SERVER = 0x00000040
SP_PROT_TLS1_0_CLIENT = 0x00000080
SP_PROT_TLS1_1_SERVER = 0x00000100
SP_PROT_TLS1_1_CLIENT = 0x00000200
SP_PROT_TLS1_2_SERVER = 0x00000400
SP_PROT_TLS1_2_CLIENT = 0x00000800
SP_PROT_TLS1_3_SERVER = 0x00001000
SP_PROT_TLS1_3_CLIENT = 0x00002000
SP_PROT_NONE = 0

SSL_SESSION_RECONNECT = 1   # SecPkgContext_SessionInfo.dwFlags: the handshake resumed a cached session


# --- structures (sspi.h) ---
class SecHandle(Structure):
    """CredHandle / CtxtHandle. Invalid until a call fills it; both members -1 after ``SecInvalidateHandle``."""
    _fields_ = [("dwLower", ULONG_PTR), ("dwUpper", ULONG_PTR)]


CredHandle = SecHandle
CtxtHandle = SecHandle


class SecBuffer(Structure):
    _fields_ = [("cbBuffer", ULONG), ("BufferType", ULONG), ("pvBuffer", c_void_p)]


class SecBufferDesc(Structure):
    _fields_ = [("ulVersion", ULONG), ("cBuffers", ULONG), ("pBuffers", POINTER(SecBuffer))]


class SEC_APPLICATION_PROTOCOL_LIST(Structure):
    """Header of one list; ``ProtocolList`` really holds ``ProtocolListSize`` bytes (ANYSIZE_ARRAY in the SDK)."""
    _fields_ = [("ProtoNegoExt", DWORD), ("ProtocolListSize", c_uint16), ("ProtocolList", c_uint8 * 1)]


class SEC_APPLICATION_PROTOCOLS(Structure):
    """The SECBUFFER_APPLICATION_PROTOCOLS payload; built as bytes by the caller (variable length)."""
    _fields_ = [("ProtocolListsSize", ULONG), ("ProtocolLists", SEC_APPLICATION_PROTOCOL_LIST * 1)]


class SecPkgContext_StreamSizes(Structure):
    _fields_ = [("cbHeader", ULONG), ("cbTrailer", ULONG), ("cbMaximumMessage", ULONG), ("cBuffers", ULONG),
                ("cbBlockSize", ULONG)]


class SecPkgContext_ApplicationProtocol(Structure):
    _fields_ = [("ProtoNegoStatus", DWORD), ("ProtoNegoExt", DWORD), ("ProtocolIdSize", c_uint8),
                ("ProtocolId", c_uint8 * MAX_PROTOCOL_ID_SIZE)]


# --- structures (schannel.h) ---
class SCHANNEL_CRED(Structure):
    """Credentials for every Windows; ``grbitEnabledProtocols`` 0 means the system default."""
    _fields_ = [
        ("dwVersion", DWORD), ("cCreds", DWORD), ("paCred", c_void_p),  # PCCERT_CONTEXT *
        ("hRootStore", HCERTSTORE), ("cMappers", DWORD), ("aphMappers", c_void_p),
        ("cSupportedAlgs", DWORD), ("palgSupportedAlgs", c_void_p),  # ALG_ID *
        ("grbitEnabledProtocols", DWORD), ("dwMinimumCipherStrength", DWORD), ("dwMaximumCipherStrength", DWORD),
        ("dwSessionLifespan", DWORD), ("dwFlags", DWORD), ("dwCredFormat", DWORD),
    ]


class UNICODE_STRING(Structure):
    """Lengths in bytes, not characters; ``Buffer`` is a WCHAR pointer (kept alive by the caller)."""
    _fields_ = [("Length", c_uint16), ("MaximumLength", c_uint16), ("Buffer", c_void_p)]


class CRYPTO_SETTINGS(Structure):
    _fields_ = [
        ("eAlgorithmUsage", DWORD), ("strCngAlgId", UNICODE_STRING), ("cChainingModes", DWORD),
        ("rgstrChainingModes", c_void_p), ("dwMinBitLength", DWORD), ("dwMaxBitLength", DWORD),
    ]


class TLS_PARAMETERS(Structure):
    """Which protocols to *disable* (``grbitDisabledProtocols``): the inverse of SCHANNEL_CRED's field."""
    _fields_ = [
        ("cAlpnIds", DWORD), ("rgstrAlpnIds", c_void_p), ("grbitDisabledProtocols", DWORD),
        ("cDisabledCrypto", DWORD), ("pDisabledCrypto", POINTER(CRYPTO_SETTINGS)), ("dwFlags", DWORD),
    ]


class SCH_CREDENTIALS(Structure):
    """Windows 10 1809+ credentials (needed for TLS 1.3); older systems answer SEC_E_UNKNOWN_CREDENTIALS."""
    _fields_ = [
        ("dwVersion", DWORD), ("dwCredFormat", DWORD), ("cCreds", DWORD), ("paCred", c_void_p),
        ("hRootStore", HCERTSTORE), ("cMappers", DWORD), ("aphMappers", c_void_p), ("dwSessionLifespan", DWORD),
        ("dwFlags", DWORD), ("cTlsParameters", DWORD), ("pTlsParameters", POINTER(TLS_PARAMETERS)),
    ]


class SecPkgContext_ConnectionInfo(Structure):
    _fields_ = [
        ("dwProtocol", DWORD), ("aiCipher", ALG_ID), ("dwCipherStrength", DWORD), ("aiHash", ALG_ID),
        ("dwHashStrength", DWORD), ("aiExch", ALG_ID), ("dwExchStrength", DWORD),
    ]


SZ_ALG_MAX_SIZE = 64
SECPKGCONTEXT_CIPHERINFO_V1 = 1


class SecPkgContext_CipherInfo(Structure):
    """``dwCipherSuite`` is the IANA number. WCHAR arrays are ``c_uint16`` (c_wchar is 4 bytes on Linux)."""
    _fields_ = [
        ("dwVersion", DWORD), ("dwProtocol", DWORD), ("dwCipherSuite", DWORD), ("dwBaseCipherSuite", DWORD),
        ("szCipherSuite", c_uint16 * SZ_ALG_MAX_SIZE), ("szCipher", c_uint16 * SZ_ALG_MAX_SIZE),
        ("dwCipherLen", DWORD), ("dwCipherBlockLen", DWORD), ("szHash", c_uint16 * SZ_ALG_MAX_SIZE),
        ("dwHashLen", DWORD), ("szExchange", c_uint16 * SZ_ALG_MAX_SIZE), ("dwMinExchangeLen", DWORD),
        ("dwMaxExchangeLen", DWORD), ("szCertificate", c_uint16 * SZ_ALG_MAX_SIZE), ("dwKeyType", DWORD),
    ]


class SecPkgContext_SessionInfo(Structure):
    _fields_ = [("dwFlags", DWORD), ("cbSessionId", DWORD), ("rgbSessionId", c_uint8 * 32)]


class SecPkgCred_SupportedProtocols(Structure):
    _fields_ = [("grbitProtocol", DWORD)]


class SCHANNEL_ALERT_TOKEN(Structure):
    _fields_ = [("dwTokenType", DWORD), ("dwAlertType", DWORD), ("dwAlertNumber", DWORD)]


STRUCTURES = (
    SecHandle, SecBuffer, SecBufferDesc, SEC_APPLICATION_PROTOCOL_LIST, SEC_APPLICATION_PROTOCOLS,
    SecPkgContext_StreamSizes, SecPkgContext_ApplicationProtocol, SCHANNEL_CRED, UNICODE_STRING, CRYPTO_SETTINGS,
    TLS_PARAMETERS, SCH_CREDENTIALS, SecPkgContext_ConnectionInfo, SecPkgContext_CipherInfo,
    SecPkgContext_SessionInfo, SecPkgCred_SupportedProtocols, SCHANNEL_ALERT_TOKEN,
)

_PHANDLE = POINTER(SecHandle)
_PDESC = POINTER(SecBufferDesc)
_PULONG = POINTER(ULONG)
_PTIMESTAMP = c_void_p  # PTimeStamp (LARGE_INTEGER *): always passed as None

# (name, restype, argtypes, errcheck), in sspi.h order. errcheck None: the caller interprets the status
# (the handshake and record functions return informational SEC_I_* codes and SEC_E_INCOMPLETE_MESSAGE as data).
PROTOTYPES = (
    ("AcquireCredentialsHandleW", SECURITY_STATUS,
     # pszPrincipal, pszPackage, fCredentialUse, pvLogonId, pAuthData (SCHANNEL_CRED* or SCH_CREDENTIALS*),
     # pGetKeyFn, pvGetKeyArgument, phCredential, ptsExpiry
     (c_wchar_p, c_wchar_p, ULONG, c_void_p, c_void_p, c_void_p, c_void_p, _PHANDLE, _PTIMESTAMP),
     None),  # SEC_E_UNKNOWN_CREDENTIALS from SCH_CREDENTIALS on old systems triggers the SCHANNEL_CRED fallback
    ("FreeCredentialsHandle", SECURITY_STATUS, (_PHANDLE,), check_status),
    ("QueryCredentialsAttributesW", SECURITY_STATUS, (_PHANDLE, ULONG, c_void_p), check_status),
    ("InitializeSecurityContextW", SECURITY_STATUS,
     # phCredential, phContext, pszTargetName, fContextReq, Reserved1, TargetDataRep, pInput, Reserved2,
     # phNewContext, pOutput, pfContextAttr, ptsExpiry
     (_PHANDLE, _PHANDLE, c_wchar_p, ULONG, ULONG, ULONG, _PDESC, ULONG, _PHANDLE, _PDESC, _PULONG, _PTIMESTAMP),
     None),
    ("AcceptSecurityContext", SECURITY_STATUS,
     # phCredential, phContext, pInput, fContextReq, TargetDataRep, phNewContext, pOutput, pfContextAttr, ptsExpiry
     (_PHANDLE, _PHANDLE, _PDESC, ULONG, ULONG, _PHANDLE, _PDESC, _PULONG, _PTIMESTAMP),
     None),
    ("DeleteSecurityContext", SECURITY_STATUS, (_PHANDLE,), check_status),
    ("ApplyControlToken", SECURITY_STATUS, (_PHANDLE, _PDESC), check_status),
    ("QueryContextAttributesW", SECURITY_STATUS, (_PHANDLE, ULONG, c_void_p), check_status),
    ("FreeContextBuffer", SECURITY_STATUS, (c_void_p,), check_status),
    ("EncryptMessage", SECURITY_STATUS, (_PHANDLE, ULONG, _PDESC, ULONG), check_status),
    ("DecryptMessage", SECURITY_STATUS, (_PHANDLE, _PDESC, ULONG, _PULONG), None),  # statuses drive the reader
)

# Functions allowed to be missing (none yet: everything above exists since Windows XP).
OPTIONAL = frozenset()

LIBRARY = Library("secur32.dll", PROTOTYPES, OPTIONAL)


def load():
    """Bind secur32.dll (Windows only; ImportError elsewhere) and return its functions."""
    return LIBRARY.load()
