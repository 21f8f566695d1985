# -*- coding: utf-8 -*-
"""Raw declarations for Security.framework: SecureTransport, SecTrust, SecPolicy, SecCertificate, SecIdentity,
SecItem and SecKeychain prototypes, structures and constants. No logic.

Sources: Apple's headers in apple-oss-distributions/Security (SecBase.h, SecureTransport.h, CipherSuite.h,
SecProtocolTypes.h, SecTrust.h, SecPolicy.h, SecCertificate.h, SecIdentity.h, SecImportExport.h, SecKeychain.h),
checked against PyObjC's metadata by ``tests/test_mac_metadata.py`` (every prototype's widths and pointer
directions, every constant's value, and the ownership of every CF object a function returns). Ownership follows the
Create/Copy rule (see :mod:`._corefoundation`); the row says it (``returns``, ``Out(..., OWNED)``).

Status handling: configuration calls carry :func:`._types.check_status`; the calls whose status drives the state
machine (``SSLHandshake``, ``SSLRead``, ``SSLWrite``, ``SSLClose``, ``SSLCopyALPNProtocols``, the trust
evaluation) have ``None`` and are interpreted by the caller.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
from ctypes import CFUNCTYPE, POINTER, Structure, c_char_p, c_int32, c_size_t, c_uint32, c_void_p

from ._types import (
    BORROWED, OWNED, Boolean, CBool, CFIndex, CFTypeID, CFTypeRef, In, InOut, Library, OSStatus, Out,
    SSLCipherSuite, check_not_null, check_status,
)

__all__ = ["LIBRARY", "PROTOTYPES", "DATA_SYMBOLS", "SSLReadFunc", "SSLWriteFunc",
           "SecItemImportExportKeyParameters", "load", "status_name"]

# --- SecBase.h: OSStatus values of the Security framework ---
errSecSuccess = 0
errSecUnimplemented = -4
errSecIO = -36
errSecParam = -50
errSecAllocate = -108
errSecUserCanceled = -128
errSecBadReq = -909
errSecNotAvailable = -25291
errSecAuthFailed = -25293
errSecDuplicateItem = -25299
errSecItemNotFound = -25300
errSecInteractionNotAllowed = -25308
errSecCreateChainFailed = -25318
errSecDecode = -26275
errSecPassphraseRequired = -25260
errSecPkcs12VerifyFailure = -25264   # the older macOS PKCS#12 decoder's "MAC verification failed"
errSecUnknownFormat = -25257
errSecHostNameMismatch = -67602
errSecInvalidExtendedKeyUsage = -67609
errSecInvalidSignature = -67688
errSecCertificateExpired = -67818
errSecCertificateNotValidYet = -67819
errSecNotTrusted = -67843

# --- SecureTransport.h: SSL error codes ---
errSSLProtocol = -9800
errSSLNegotiation = -9801
errSSLFatalAlert = -9802
errSSLWouldBlock = -9803
errSSLSessionNotFound = -9804
errSSLClosedGraceful = -9805
errSSLClosedAbort = -9806
errSSLXCertChainInvalid = -9807
errSSLBadCert = -9808
errSSLCrypto = -9809
errSSLInternal = -9810
errSSLModuleAttach = -9811
errSSLUnknownRootCert = -9812
errSSLNoRootCert = -9813
errSSLCertExpired = -9814
errSSLCertNotYetValid = -9815
errSSLClosedNoNotify = -9816
errSSLBufferOverflow = -9817
errSSLBadCipherSuite = -9818
errSSLPeerUnexpectedMsg = -9819
errSSLPeerBadRecordMac = -9820
errSSLPeerDecryptionFail = -9821
errSSLPeerRecordOverflow = -9822
errSSLPeerDecompressFail = -9823
errSSLPeerHandshakeFail = -9824
errSSLPeerBadCert = -9825
errSSLPeerUnsupportedCert = -9826
errSSLPeerCertRevoked = -9827
errSSLPeerCertExpired = -9828
errSSLPeerCertUnknown = -9829
errSSLIllegalParam = -9830
errSSLPeerUnknownCA = -9831
errSSLPeerAccessDenied = -9832
errSSLPeerDecodeError = -9833
errSSLPeerDecryptError = -9834
errSSLPeerExportRestriction = -9835
errSSLPeerProtocolVersion = -9836
errSSLPeerInsufficientSecurity = -9837
errSSLPeerInternalError = -9838
errSSLPeerUserCancelled = -9839
errSSLPeerNoRenegotiation = -9840
errSSLPeerAuthCompleted = -9841
errSSLServerAuthCompleted = errSSLPeerAuthCompleted   # alias (SecureTransport.h)
errSSLClientAuthCompleted = errSSLPeerAuthCompleted   # alias
errSSLClientCertRequested = -9842
errSSLHostNameMismatch = -9843
errSSLConnectionRefused = -9844
errSSLDecryptionFail = -9845
errSSLBadRecordMac = -9846
errSSLRecordOverflow = -9847
errSSLBadConfiguration = -9848
errSSLUnexpectedRecord = -9849
errSSLWeakPeerEphemeralDHKey = -9850
errSSLClientHelloReceived = -9851

# --- SecureTransport.h: SSLProtocolSide, SSLConnectionType ---
kSSLServerSide = 0
kSSLClientSide = 1
kSSLStreamType = 0
kSSLDatagramType = 1

# --- SecureTransport.h: SSLSessionOption ---
kSSLSessionOptionBreakOnServerAuth = 0
kSSLSessionOptionBreakOnCertRequested = 1
kSSLSessionOptionBreakOnClientAuth = 2
kSSLSessionOptionFalseStart = 3
kSSLSessionOptionSendOneByteRecord = 4
kSSLSessionOptionAllowServerIdentityChange = 5
kSSLSessionOptionFallback = 6
kSSLSessionOptionBreakOnClientHello = 7
kSSLSessionOptionAllowRenegotiation = 8
kSSLSessionOptionEnableSessionTickets = 9

# --- SecureTransport.h: SSLSessionState ---
kSSLIdle = 0
kSSLHandshake = 1
kSSLConnected = 2
kSSLClosed = 3
kSSLAborted = 4

# --- SecureTransport.h: SSLAuthenticate, SSLClientCertificateState ---
kNeverAuthenticate = 0
kAlwaysAuthenticate = 1
kTryAuthenticate = 2
kSSLClientCertNone = 0
kSSLClientCertRequested = 1
kSSLClientCertSent = 2
kSSLClientCertRejected = 3

# --- SecProtocolTypes.h: SSLProtocol ---
kSSLProtocolUnknown = 0
kSSLProtocol3 = 2
kTLSProtocol1 = 4
kTLSProtocol11 = 7
kTLSProtocol12 = 8
kDTLSProtocol1 = 9
kTLSProtocol13 = 10          # errSSLIllegalParam in SecureTransport (no TLS 1.3)
kDTLSProtocol12 = 11
kTLSProtocolMaxSupported = 999

# --- SecTrust.h: SecTrustResultType ---
kSecTrustResultInvalid = 0
kSecTrustResultProceed = 1
kSecTrustResultConfirm = 2
kSecTrustResultDeny = 3
kSecTrustResultUnspecified = 4
kSecTrustResultRecoverableTrustFailure = 5
kSecTrustResultFatalTrustFailure = 6
kSecTrustResultOtherError = 7

# --- SecImportExport.h: SecExternalFormat, SecExternalItemType, flags ---
kSecFormatUnknown = 0
kSecFormatOpenSSL = 1
kSecFormatX509Cert = 9
kSecFormatPEMSequence = 10
kSecFormatPKCS12 = 12
kSecFormatWrappedPKCS8 = 5
kSecFormatWrappedOpenSSL = 6
kSecItemTypeUnknown = 0
kSecItemTypePrivateKey = 1
kSecItemTypePublicKey = 2
kSecItemTypeSessionKey = 3
kSecItemTypeCertificate = 4
kSecItemTypeAggregate = 5
kSecItemPemArmour = 1
kSecKeyImportOnlyOne = 1
kSecKeySecurePassphrase = 2
kSecKeyNoAccessControl = 4
SEC_KEY_IMPORT_EXPORT_PARAMS_VERSION = 0

SSLContextRef = c_void_p
SSLConnectionRef = c_void_p       # const void * (urllib3 had c_uint32)

# SecureTransport.h: typedef OSStatus (*SSLReadFunc)(SSLConnectionRef, void *data, size_t *dataLength);
# the write function has const void *data. PyObjC: (@, o^v, N^L) -> i and (@, n^v, N^L) -> i.
SSLReadFunc = CFUNCTYPE(OSStatus, SSLConnectionRef, c_void_p, POINTER(c_size_t))
SSLWriteFunc = CFUNCTYPE(OSStatus, SSLConnectionRef, c_void_p, POINTER(c_size_t))


class SecItemImportExportKeyParameters(Structure):
    """SecImportExport.h: the key parameters of ``SecItemImport`` (PyObjC: ``{II@@@@@@}``)."""
    _fields_ = [
        ("version", c_uint32),
        ("flags", c_uint32),            # SecKeyImportExportFlags
        ("passphrase", CFTypeRef),      # CFStringRef or CFDataRef
        ("alertTitle", CFTypeRef),
        ("alertPrompt", CFTypeRef),
        ("accessRef", CFTypeRef),       # SecAccessRef
        ("keyUsage", CFTypeRef),        # CFArrayRef
        ("keyAttributes", CFTypeRef),   # CFArrayRef
    ]


_REF = POINTER(CFTypeRef)

#: ``const CFStringRef`` data symbols of SecImportExport.h (the SecPKCS12Import option and result keys), read with
#: :meth:`._types.Library.constant` (borrowed, never released).
DATA_SYMBOLS = ("kSecImportExportPassphrase", "kSecImportExportKeychain", "kSecImportItemIdentity",
                "kSecImportItemCertChain")

# (name, restype, argtypes, errcheck, returns), header order within each header.
PROTOTYPES = (
    # SecBase.h
    ("SecCopyErrorMessageString", CFTypeRef, [OSStatus, c_void_p], None, OWNED),   # NULL when unknown
    # SecCertificate.h
    ("SecCertificateGetTypeID", CFTypeID, [], None, None),
    ("SecCertificateCreateWithData", CFTypeRef, [c_void_p, CFTypeRef], None, OWNED),  # NULL: not a certificate
    ("SecCertificateCopyData", CFTypeRef, [CFTypeRef], check_not_null, OWNED),
    # SecIdentity.h
    ("SecIdentityGetTypeID", CFTypeID, [], None, None),
    ("SecIdentityCreateWithCertificate", OSStatus, [CFTypeRef, CFTypeRef, Out(_REF, OWNED)], check_status, None),
    ("SecIdentityCopyCertificate", OSStatus, [CFTypeRef, Out(_REF, OWNED)], check_status, None),
    # SecPolicy.h
    ("SecPolicyCreateSSL", CFTypeRef, [Boolean, CFTypeRef], check_not_null, OWNED),
    # SecTrust.h
    ("SecTrustGetTypeID", CFTypeID, [], None, None),
    ("SecTrustSetPolicies", OSStatus, [CFTypeRef, CFTypeRef], check_status, None),
    ("SecTrustSetAnchorCertificates", OSStatus, [CFTypeRef, CFTypeRef], check_status, None),
    ("SecTrustSetAnchorCertificatesOnly", OSStatus, [CFTypeRef, Boolean], check_status, None),
    ("SecTrustEvaluate", OSStatus, [CFTypeRef, Out(POINTER(c_uint32))], None, None),   # deprecated in 10.15
    ("SecTrustGetTrustResult", OSStatus, [CFTypeRef, Out(POINTER(c_uint32))], None, None),
    ("SecTrustEvaluateWithError", CBool, [CFTypeRef, Out(_REF, OWNED)], None, None),   # 10.14+
    ("SecTrustGetCertificateCount", CFIndex, [CFTypeRef], None, None),
    ("SecTrustGetCertificateAtIndex", CFTypeRef, [CFTypeRef, CFIndex], None, BORROWED),
    # SecImportExport.h
    ("SecItemImport", OSStatus, [CFTypeRef, CFTypeRef, InOut(POINTER(c_uint32)), InOut(POINTER(c_uint32)),
                                 c_uint32, In(POINTER(SecItemImportExportKeyParameters)), CFTypeRef,
                                 Out(_REF, OWNED)], None, None),
    # +1 CFArray of CFDictionaries (kSecImportItem* keys, values borrowed from the dictionary); the status is
    # interpreted by the caller (errSecAuthFailed / errSecPkcs12VerifyFailure / errSecDecode, see _keychain)
    ("SecPKCS12Import", OSStatus, [CFTypeRef, CFTypeRef, Out(_REF, OWNED)], None, None),
    # SecKeychain.h
    ("SecKeychainCreate", OSStatus, [In(c_char_p), c_uint32, In(c_char_p), Boolean, CFTypeRef, Out(_REF, OWNED)],
     check_status, None),
    ("SecKeychainDelete", OSStatus, [CFTypeRef], None, None),
    # SecureTransport.h
    ("SSLContextGetTypeID", CFTypeID, [], None, None),
    ("SSLCreateContext", SSLContextRef, [c_void_p, c_int32, c_int32], check_not_null, OWNED),
    ("SSLGetSessionState", OSStatus, [SSLContextRef, Out(POINTER(c_int32))], check_status, None),
    ("SSLSetSessionOption", OSStatus, [SSLContextRef, c_int32, Boolean], check_status, None),
    ("SSLSetIOFuncs", OSStatus, [SSLContextRef, SSLReadFunc, SSLWriteFunc], check_status, None),
    ("SSLSetProtocolVersionMin", OSStatus, [SSLContextRef, c_int32], check_status, None),
    ("SSLSetProtocolVersionMax", OSStatus, [SSLContextRef, c_int32], check_status, None),
    ("SSLSetCertificate", OSStatus, [SSLContextRef, CFTypeRef], check_status, None),
    ("SSLSetConnection", OSStatus, [SSLContextRef, SSLConnectionRef], check_status, None),
    ("SSLSetPeerDomainName", OSStatus, [SSLContextRef, In(c_char_p), c_size_t], check_status, None),
    ("SSLSetPeerID", OSStatus, [SSLContextRef, In(c_char_p), c_size_t], check_status, None),
    ("SSLGetNumberSupportedCiphers", OSStatus, [SSLContextRef, Out(POINTER(c_size_t))], check_status, None),
    ("SSLGetSupportedCiphers", OSStatus, [SSLContextRef, Out(POINTER(SSLCipherSuite)), InOut(POINTER(c_size_t))],
     check_status, None),
    ("SSLSetEnabledCiphers", OSStatus, [SSLContextRef, In(POINTER(SSLCipherSuite)), c_size_t], check_status, None),
    ("SSLCopyPeerTrust", OSStatus, [SSLContextRef, Out(_REF, OWNED)], check_status, None),
    ("SSLGetNegotiatedProtocolVersion", OSStatus, [SSLContextRef, Out(POINTER(c_int32))], check_status, None),
    ("SSLGetNegotiatedCipher", OSStatus, [SSLContextRef, Out(POINTER(SSLCipherSuite))], check_status, None),
    ("SSLSetALPNProtocols", OSStatus, [SSLContextRef, CFTypeRef], None, None),          # 10.12.4+; errSecParam
    ("SSLCopyALPNProtocols", OSStatus, [SSLContextRef, Out(_REF, OWNED)], None, None),  # errSecParam: none
    ("SSLSetClientSideAuthenticate", OSStatus, [SSLContextRef, c_int32], check_status, None),
    ("SSLGetBufferedReadSize", OSStatus, [SSLContextRef, Out(POINTER(c_size_t))], check_status, None),
    ("SSLHandshake", OSStatus, [SSLContextRef], None, None),
    ("SSLWrite", OSStatus, [SSLContextRef, In(c_char_p), c_size_t, Out(POINTER(c_size_t))], None, None),
    ("SSLRead", OSStatus, [SSLContextRef, Out(c_void_p), c_size_t, Out(POINTER(c_size_t))], None, None),
    ("SSLClose", OSStatus, [SSLContextRef], None, None),
)

#: Functions that older systems lack: SecTrustEvaluateWithError (10.14), the ALPN pair (10.12.4).
OPTIONAL = ("SecTrustEvaluateWithError", "SSLSetALPNProtocols", "SSLCopyALPNProtocols")

LIBRARY = Library("Security", PROTOTYPES, optional=OPTIONAL, data=DATA_SYMBOLS)


def load():
    """The bound Security functions (see :class:`._types.Library`)."""
    return LIBRARY.load()


_NAMES = {}


def status_name(code):
    """The symbolic name of an OSStatus of this module (``errSSLWouldBlock``), or ``"OSStatus"`` when unknown."""
    if not _NAMES:
        for key in sorted(globals()):
            if key.startswith(("errSec", "errSSL")) and key not in ("errSSLServerAuthCompleted",
                                                                    "errSSLClientAuthCompleted"):
                _NAMES.setdefault(globals()[key], key)
    return _NAMES.get(code, "OSStatus")


_ = (ctypes, c_char_p)
