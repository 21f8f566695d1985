/* A SecureTransport double: the subset of Security.framework and CoreFoundation that nativetls' macOS backend
 * calls, with Apple's C signatures, implemented over OpenSSL 3.0 with memory BIOs. Test-only.
 *
 * It reproduces SecureTransport's observable behaviour as read from Apple's open-source code
 * (apple-oss-distributions/Security, OSX/libsecurity_ssl/lib: sslTransport.c, SSLRecordInternal.c,
 * sslContext.c, sslCrypto.c, tlsCallbacks.c) and the points of MACOS.md cited as "[MACOS n]" in the comments.
 * It tests our plumbing and our reading of Apple's semantics, not Apple's binary.
 *
 * Files: double_cf.c (CoreFoundation objects, counters), double_sec.c (certificates, keys, keychains, import,
 * SecPolicy, SecTrust), double_ssl.c (SSLContext: the record layer and the handshake driver).
 */
#ifndef NATIVETLS_DOUBLE_H
#define NATIVETLS_DOUBLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* --- Apple's fixed-width types (MacTypes.h, CFBase.h) --- */
typedef int32_t OSStatus;
typedef long CFIndex;
typedef unsigned long CFTypeID;
typedef uint8_t Boolean;
typedef uint32_t CFStringEncoding;
typedef const void *CFTypeRef;
typedef const void *CFAllocatorRef;
typedef const void *CFDataRef;
typedef const void *CFStringRef;
typedef const void *CFArrayRef;
typedef void *CFMutableArrayRef;
typedef const void *CFDictionaryRef;
typedef const void *CFErrorRef;
typedef const void *CFBooleanRef;
typedef void *SecCertificateRef;
typedef void *SecIdentityRef;
typedef void *SecKeyRef;
typedef void *SecPolicyRef;
typedef void *SecTrustRef;
typedef void *SecKeychainRef;
typedef void *SSLContextRef;
typedef const void *SSLConnectionRef;
/* CipherSuite.h lines 39-45: uint16_t on arm64, uint32_t elsewhere (x86_64 macOS); Linux x86_64 follows x86_64. */
#if defined(__aarch64__) || defined(__arm64__)
typedef uint16_t SSLCipherSuite;
#else
typedef uint32_t SSLCipherSuite;
#endif
typedef OSStatus (*SSLReadFunc)(SSLConnectionRef connection, void *data, size_t *dataLength);
typedef OSStatus (*SSLWriteFunc)(SSLConnectionRef connection, const void *data, size_t *dataLength);

/* --- status codes (SecBase.h, SecureTransport.h) --- */
#define noErr 0
#define errSecSuccess 0
#define errSecIO (-36)
#define errSecParam (-50)
#define errSecAllocate (-108)
#define errSecBadReq (-909)
#define errSecAuthFailed (-25293)
#define errSecDuplicateKeychain (-25296)
#define errSecItemNotFound (-25300)
#define errSecCreateChainFailed (-25318)
#define errSecPassphraseRequired (-25260)
#define errSecUnknownFormat (-25257)
#define errSecDecode (-26275)
#define errSecHostNameMismatch (-67602)
#define errSecInvalidExtendedKeyUsage (-67609)
#define errSecInvalidSignature (-67688)
#define errSecCertificateExpired (-67818)
#define errSecNotTrusted (-67843)
#define errSSLProtocol (-9800)
#define errSSLNegotiation (-9801)
#define errSSLFatalAlert (-9802)
#define errSSLWouldBlock (-9803)
#define errSSLClosedGraceful (-9805)
#define errSSLClosedAbort (-9806)
#define errSSLXCertChainInvalid (-9807)
#define errSSLBadCert (-9808)
#define errSSLInternal (-9810)
#define errSSLClosedNoNotify (-9816)
#define errSSLIllegalParam (-9830)
#define errSSLPeerAuthCompleted (-9841)
#define errSSLClientCertRequested (-9842)
#define errSSLBadRecordMac (-9846)
#define errSSLRecordOverflow (-9847)
#define errSSLBadConfiguration (-9848)
#define errSSLUnexpectedRecord (-9849)

/* --- CF object header: every object the double hands out starts with it --- */
enum dbl_type {
    T_DATA = 1, T_STRING, T_ARRAY, T_DICTIONARY, T_ERROR, T_BOOLEAN, T_CERTIFICATE, T_IDENTITY, T_KEY,
    T_POLICY, T_TRUST, T_KEYCHAIN, T_SSLCONTEXT, T_COUNT
};

typedef struct dbl_obj {
    uint32_t magic;             /* DBL_LIVE, or DBL_DEAD once released to zero (kept to catch over-release) */
    uint32_t is_static;         /* constants (kCFBooleanTrue, static strings): never counted or freed */
    CFTypeID type;
    long rc;
    void (*finalize)(struct dbl_obj *self);
} dbl_obj;

#define DBL_LIVE 0x43466f62u
#define DBL_DEAD 0xdeadbeefu

void *dbl_alloc(enum dbl_type type, size_t size, void (*finalize)(dbl_obj *));
dbl_obj *dbl_check(CFTypeRef ref, enum dbl_type type);   /* NULL unless a live object of that type */
void dbl_fatal(const char *message, CFTypeRef ref);      /* print and abort(), as Apple's CF does */
void dbl_lock(void);
void dbl_unlock(void);

/* CF objects used across files */
typedef struct { dbl_obj h; size_t len; unsigned char *bytes; } dbl_data;
typedef struct { dbl_obj h; size_t len; char *utf8; } dbl_string;
typedef struct { dbl_obj h; CFIndex count, cap; const void **values; int retains; } dbl_array;
typedef struct { dbl_obj h; CFIndex code; char *domain; char *description; } dbl_error;
typedef struct { dbl_obj h; X509 *x509; } dbl_cert;
typedef struct { dbl_obj h; EVP_PKEY *pkey; } dbl_key;
typedef struct { dbl_obj h; dbl_cert *cert; dbl_key *key; } dbl_identity;

CFTypeRef CFRetain(CFTypeRef cf);
void CFRelease(CFTypeRef cf);
CFDataRef CFDataCreate(CFAllocatorRef allocator, const uint8_t *bytes, CFIndex length);
CFStringRef CFStringCreateWithCString(CFAllocatorRef alloc, const char *cStr, CFStringEncoding encoding);
CFStringRef CFStringCreateWithBytes(CFAllocatorRef alloc, const uint8_t *bytes, CFIndex numBytes,
                                    CFStringEncoding encoding, Boolean isExternalRepresentation);
CFIndex CFStringGetLength(CFStringRef theString);
Boolean CFStringGetCString(CFStringRef theString, char *buffer, CFIndex bufferSize, CFStringEncoding encoding);
CFMutableArrayRef CFArrayCreateMutable(CFAllocatorRef allocator, CFIndex capacity, const void *callBacks);
void CFArrayAppendValue(CFMutableArrayRef theArray, const void *value);
CFIndex CFArrayGetCount(CFArrayRef theArray);
const void *CFArrayGetValueAtIndex(CFArrayRef theArray, CFIndex idx);
CFErrorRef dbl_error_create(CFIndex code, const char *description);
typedef struct {
    CFIndex version;
    const void *(*retain)(CFAllocatorRef allocator, const void *value);
    void (*release)(CFAllocatorRef allocator, const void *value);
    CFStringRef (*copyDescription)(const void *value);
    Boolean (*equal)(const void *value1, const void *value2);
} CFArrayCallBacks;                        /* CFArray.h; CFDictionaryValueCallBacks has the same layout */
typedef struct {
    CFIndex version;
    const void *(*retain)(CFAllocatorRef allocator, const void *value);
    void (*release)(CFAllocatorRef allocator, const void *value);
    CFStringRef (*copyDescription)(const void *value);
    Boolean (*equal)(const void *value1, const void *value2);
    unsigned long (*hash)(const void *value);
} CFDictionaryKeyCallBacks;                /* CFDictionary.h */
extern const CFArrayCallBacks kCFTypeArrayCallBacks;
extern const CFDictionaryKeyCallBacks kCFTypeDictionaryKeyCallBacks;
extern const CFArrayCallBacks kCFTypeDictionaryValueCallBacks;
Boolean CFEqual(CFTypeRef cf1, CFTypeRef cf2);
CFDictionaryRef CFDictionaryCreate(CFAllocatorRef allocator, const void **keys, const void **values,
                                   CFIndex numValues, const void *keyCallBacks, const void *valueCallBacks);
const void *CFDictionaryGetValue(CFDictionaryRef theDict, const void *key);
/* A statically allocated CFString constant (kSecImportExportPassphrase...): never counted, never freed. */
#define DBL_STATIC_STRING(symbol, text)                                                                        \
    static dbl_string symbol##_object = {{DBL_LIVE, 1, T_STRING, 1, NULL}, sizeof(text) - 1, (char *)text};  \
    const CFStringRef symbol = &symbol##_object;
const char *dbl_string_utf8(CFTypeRef ref);   /* the bytes of a CFString, or NULL */

/* double_sec.c helpers for double_ssl.c */
dbl_cert *dbl_cert_from_x509(X509 *x509);                 /* +1; takes a reference of its own on x509 */
SecTrustRef dbl_trust_create(CFArrayRef certificates, SecPolicyRef policy);   /* +1 */
OSStatus dbl_trust_verify_status(SecTrustRef trust);      /* 0 or the errSec code of point 12 */
SecPolicyRef SecPolicyCreateSSL(Boolean server, CFStringRef hostname);

#endif
