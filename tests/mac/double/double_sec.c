/* The Security.framework subset of the double that is not SecureTransport: SecCertificate, SecKey, SecIdentity,
 * SecKeychain (real files, tracked), SecItemImport, SecPolicy and SecTrust over OpenSSL's X509_verify_cert.
 *
 * Counters the tests read:
 *   long double_keychain_files(void)  keychain files SecKeychainCreate made that still exist on disk
 *   long double_keychain_prompts(void) SecKeychainCreate calls that would have prompted the user
 *                                      (promptUser true, or no password given)
 *   const char *double_keychain_path(long i)  the i-th still-existing keychain file, or NULL
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* memmem */
#endif
#include "double.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#define kCFStringEncodingUTF8 0x08000100u

/* --- SecCertificate.h --- */
static void cert_finalize(dbl_obj *self) { X509_free(((dbl_cert *)self)->x509); }

CFTypeID SecCertificateGetTypeID(void) { return T_CERTIFICATE; }

dbl_cert *dbl_cert_from_x509(X509 *x509)
{
    dbl_cert *cert = dbl_alloc(T_CERTIFICATE, sizeof(*cert), cert_finalize);
    X509_up_ref(x509);
    cert->x509 = x509;
    return cert;
}

/* SecCertificateRef SecCertificateCreateWithData(CFAllocatorRef, CFDataRef data): +1, NULL when data is not one
 * DER certificate (trailing bytes included). */
SecCertificateRef SecCertificateCreateWithData(CFAllocatorRef allocator, CFDataRef data)
{
    const unsigned char *p, *start;
    long length;
    X509 *x509;
    dbl_cert *cert;
    (void)allocator;
    if (dbl_check(data, T_DATA) == NULL)
        return NULL;
    start = p = ((dbl_data *)data)->bytes;
    length = (long)((dbl_data *)data)->len;
    x509 = d2i_X509(NULL, &p, length);
    ERR_clear_error();
    if (x509 == NULL || p != start + length) {
        X509_free(x509);
        return NULL;
    }
    cert = dbl_cert_from_x509(x509);
    X509_free(x509);
    return cert;
}

static CFDataRef der_of(X509 *x509)
{
    unsigned char *der = NULL;
    int length = i2d_X509(x509, &der);
    CFDataRef data;
    if (length <= 0)
        return NULL;
    data = CFDataCreate(NULL, der, length);
    OPENSSL_free(der);
    return data;
}

/* CFDataRef SecCertificateCopyData(SecCertificateRef): +1, the DER. */
CFDataRef SecCertificateCopyData(SecCertificateRef certificate)
{
    dbl_cert *cert = (dbl_cert *)dbl_check(certificate, T_CERTIFICATE);
    if (cert == NULL)
        dbl_fatal("SecCertificateCopyData: not a SecCertificate", certificate);
    return der_of(cert->x509);
}

/* CFStringRef SecCertificateCopySubjectSummary(SecCertificateRef): +1, the subject's common name (or NULL). */
CFStringRef SecCertificateCopySubjectSummary(SecCertificateRef certificate)
{
    dbl_cert *cert = (dbl_cert *)dbl_check(certificate, T_CERTIFICATE);
    char name[256];
    if (cert == NULL)
        dbl_fatal("SecCertificateCopySubjectSummary: not a SecCertificate", certificate);
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert->x509), NID_commonName, name, sizeof(name)) < 0)
        return NULL;
    return CFStringCreateWithCString(NULL, name, kCFStringEncodingUTF8);
}

/* --- SecKey / SecIdentity --- */
static void key_finalize(dbl_obj *self) { EVP_PKEY_free(((dbl_key *)self)->pkey); }

CFTypeID SecKeyGetTypeID(void) { return T_KEY; }

static dbl_key *key_from_pkey(EVP_PKEY *pkey)   /* takes ownership of pkey */
{
    dbl_key *key = dbl_alloc(T_KEY, sizeof(*key), key_finalize);
    key->pkey = pkey;
    return key;
}

static void identity_finalize(dbl_obj *self)
{
    dbl_identity *identity = (dbl_identity *)self;
    CFRelease(identity->cert);
    CFRelease(identity->key);
}

CFTypeID SecIdentityGetTypeID(void) { return T_IDENTITY; }

OSStatus SecIdentityCopyCertificate(SecIdentityRef identityRef, SecCertificateRef *certificateRef)
{
    dbl_identity *identity = (dbl_identity *)dbl_check(identityRef, T_IDENTITY);
    if (identity == NULL || certificateRef == NULL)
        return errSecParam;
    *certificateRef = (SecCertificateRef)CFRetain(identity->cert);
    return errSecSuccess;
}

OSStatus SecIdentityCopyPrivateKey(SecIdentityRef identityRef, SecKeyRef *privateKeyRef)
{
    dbl_identity *identity = (dbl_identity *)dbl_check(identityRef, T_IDENTITY);
    if (identity == NULL || privateKeyRef == NULL)
        return errSecParam;
    *privateKeyRef = (SecKeyRef)CFRetain(identity->key);
    return errSecSuccess;
}

/* --- SecKeychain.h: a real file per keychain, so the tests can see one left behind --- */
typedef struct {
    dbl_obj h;
    char *path;
    int deleted;
    dbl_array *items;      /* the certificates and keys imported into it (retained) */
} dbl_keychain;

static char **keychain_paths;     /* every file SecKeychainCreate made (never shrinks; the tests stat them) */
static size_t keychain_paths_len;
static long keychain_prompts;
static dbl_keychain **live_keychains;
static size_t live_keychains_len;

static void keychain_finalize(dbl_obj *self)
{
    dbl_keychain *keychain = (dbl_keychain *)self;
    size_t i;
    dbl_lock();
    for (i = 0; i < live_keychains_len; i++)
        if (live_keychains[i] == keychain) {
            live_keychains[i] = live_keychains[--live_keychains_len];
            break;
        }
    dbl_unlock();
    CFRelease(keychain->items);
    free(keychain->path);
}

CFTypeID SecKeychainGetTypeID(void) { return T_KEYCHAIN; }

/* OSStatus SecKeychainCreate(const char *pathName, UInt32 passwordLength, const void *password,
 *                            Boolean promptUser, SecAccessRef initialAccess, SecKeychainRef *keychain)
 * An existing file is errSecDuplicateKeychain, as Apple's. The file holds a marker line only. */
OSStatus SecKeychainCreate(const char *pathName, uint32_t passwordLength, const void *password, Boolean promptUser,
                           const void *initialAccess, SecKeychainRef *keychain)
{
    dbl_keychain *created;
    int fd;
    (void)initialAccess;
    if (pathName == NULL || keychain == NULL)
        return errSecParam;
    if (promptUser || password == NULL || passwordLength == 0) {
        dbl_lock();
        keychain_prompts++;     /* a real Mac would show a password dialog here */
        dbl_unlock();
    }
    fd = open(pathName, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return errno == EEXIST ? errSecDuplicateKeychain : errSecIO;
    if (write(fd, "securetransport double keychain\n", 32) != 32) {
        close(fd);
        return errSecIO;
    }
    close(fd);
    created = dbl_alloc(T_KEYCHAIN, sizeof(*created), keychain_finalize);
    created->path = strdup(pathName);
    created->items = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    dbl_lock();
    keychain_paths = realloc(keychain_paths, (keychain_paths_len + 1) * sizeof(char *));
    keychain_paths[keychain_paths_len++] = strdup(pathName);
    live_keychains = realloc(live_keychains, (live_keychains_len + 1) * sizeof(*live_keychains));
    live_keychains[live_keychains_len++] = created;
    dbl_unlock();
    *keychain = created;
    return errSecSuccess;
}

/* OSStatus SecKeychainDelete(SecKeychainRef): removes the file; the reference itself stays to be released. */
OSStatus SecKeychainDelete(SecKeychainRef keychainOrArray)
{
    dbl_keychain *keychain = (dbl_keychain *)dbl_check(keychainOrArray, T_KEYCHAIN);
    if (keychain == NULL)
        return -25295;   /* errSecInvalidKeychain */
    if (keychain->deleted || unlink(keychain->path) != 0)
        return -25294;   /* errSecNoSuchKeychain */
    keychain->deleted = 1;
    return errSecSuccess;
}

long double_keychain_files(void)
{
    size_t i;
    long count = 0;
    struct stat st;
    dbl_lock();
    for (i = 0; i < keychain_paths_len; i++)
        if (stat(keychain_paths[i], &st) == 0)
            count++;
    dbl_unlock();
    return count;
}

const char *double_keychain_path(long index)
{
    size_t i;
    long count = 0;
    struct stat st;
    const char *found = NULL;
    dbl_lock();
    for (i = 0; i < keychain_paths_len && found == NULL; i++)
        if (stat(keychain_paths[i], &st) == 0 && count++ == index)
            found = keychain_paths[i];
    dbl_unlock();
    return found;
}

long double_keychain_prompts(void) { long n; dbl_lock(); n = keychain_prompts; dbl_unlock(); return n; }

/* OSStatus SecIdentityCreateWithCertificate(CFTypeRef keychainOrArray, SecCertificateRef, SecIdentityRef *):
 * the private key matching the certificate, searched in the keychain (or array of keychains; NULL: all). */
static dbl_key *find_key(dbl_keychain *keychain, X509 *x509)
{
    CFIndex i;
    for (i = 0; i < keychain->items->count; i++) {
        dbl_key *key = (dbl_key *)dbl_check(keychain->items->values[i], T_KEY);
        if (key != NULL && X509_check_private_key(x509, key->pkey) == 1)
            return key;
    }
    ERR_clear_error();
    return NULL;
}

OSStatus SecIdentityCreateWithCertificate(CFTypeRef keychainOrArray, SecCertificateRef certificateRef,
                                          SecIdentityRef *identityRef)
{
    dbl_cert *cert = (dbl_cert *)dbl_check(certificateRef, T_CERTIFICATE);
    dbl_key *key = NULL;
    dbl_identity *identity;
    size_t i;
    if (cert == NULL || identityRef == NULL)
        return errSecParam;
    if (dbl_check(keychainOrArray, T_KEYCHAIN)) {
        key = find_key((dbl_keychain *)keychainOrArray, cert->x509);
    } else if (dbl_check(keychainOrArray, T_ARRAY)) {
        CFIndex k;
        for (k = 0; k < CFArrayGetCount(keychainOrArray) && key == NULL; k++)
            if (dbl_check(CFArrayGetValueAtIndex(keychainOrArray, k), T_KEYCHAIN))
                key = find_key((dbl_keychain *)CFArrayGetValueAtIndex(keychainOrArray, k), cert->x509);
    } else if (keychainOrArray == NULL) {
        dbl_lock();
        for (i = 0; i < live_keychains_len && key == NULL; i++)
            key = find_key(live_keychains[i], cert->x509);
        dbl_unlock();
    } else {
        return errSecParam;
    }
    if (key == NULL)
        return errSecItemNotFound;
    identity = dbl_alloc(T_IDENTITY, sizeof(*identity), identity_finalize);
    identity->cert = (dbl_cert *)CFRetain(cert);
    identity->key = (dbl_key *)CFRetain(key);
    *identityRef = identity;
    return errSecSuccess;
}

/* --- SecImportExport.h: SecItemImport --- */
typedef struct {
    uint32_t version;
    uint32_t flags;
    CFTypeRef passphrase;     /* CFStringRef or CFDataRef */
    CFTypeRef alertTitle, alertPrompt, accessRef, keyUsage, keyAttributes;
} SecItemImportExportKeyParameters;

enum { kSecFormatUnknown = 0, kSecFormatOpenSSL = 1, kSecFormatWrappedPKCS8 = 5, kSecFormatX509Cert = 9,
       kSecFormatPEMSequence = 10, kSecFormatPKCS12 = 12 };
enum { kSecItemTypeUnknown = 0, kSecItemTypePrivateKey = 1, kSecItemTypeCertificate = 4,
       kSecItemTypeAggregate = 5 };

struct import_state {
    const char *pass;         /* NUL-terminated passphrase or NULL */
    int need_pass, bad_pass;
};

static int pass_cb(char *buf, int size, int rwflag, void *u)
{
    struct import_state *state = u;
    size_t n;
    (void)rwflag;
    if (state->pass == NULL) {
        state->need_pass = 1;
        return -1;
    }
    n = strlen(state->pass);
    if (n > (size_t)size)
        n = (size_t)size;
    memcpy(buf, state->pass, n);
    return (int)n;
}

static void add_item(CFMutableArrayRef items, dbl_keychain *keychain, void *item)
{
    CFArrayAppendValue(items, item);
    if (keychain != NULL)
        CFArrayAppendValue(keychain->items, item);   /* imported into the keychain: it holds a reference */
    CFRelease(item);
}

/* PEM: every CERTIFICATE and private-key block, in order. Returns the number of items, or an OSStatus < 0. */
static int import_pem(const unsigned char *bytes, size_t len, struct import_state *state, CFMutableArrayRef items,
                      dbl_keychain *keychain, int *certs, int *keys)
{
    BIO *bio = BIO_new_mem_buf(bytes, (int)len);
    char *name = NULL, *header = NULL;
    unsigned char *data = NULL;
    long data_len;
    int count = 0;
    while (PEM_read_bio(bio, &name, &header, &data, &data_len) == 1) {
        const unsigned char *p = data;
        if (strcmp(name, "CERTIFICATE") == 0 || strcmp(name, "X509 CERTIFICATE") == 0 ||
            strcmp(name, "TRUSTED CERTIFICATE") == 0) {
            X509 *x509 = strcmp(name, "TRUSTED CERTIFICATE") == 0 ? d2i_X509_AUX(NULL, &p, data_len)
                                                                  : d2i_X509(NULL, &p, data_len);
            if (x509 != NULL) {
                add_item(items, keychain, dbl_cert_from_x509(x509));
                X509_free(x509);
                (*certs)++;
                count++;
            }
        } else if (strstr(name, "PRIVATE KEY") != NULL) {
            /* re-read this block with the PEM key reader, which handles the encrypted forms */
            BIO *one = BIO_new(BIO_s_mem());
            EVP_PKEY *pkey;
            PEM_write_bio(one, name, header, data, data_len);
            pkey = PEM_read_bio_PrivateKey(one, NULL, pass_cb, state);
            BIO_free(one);
            if (pkey == NULL) {
                if (state->need_pass)
                    count = errSecPassphraseRequired;
                else
                    count = state->pass ? errSecAuthFailed : errSecDecode;  /* wrong passphrase / damaged key */
            } else {
                add_item(items, keychain, key_from_pkey(pkey));
                (*keys)++;
                count++;
            }
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        name = header = NULL;
        data = NULL;
        if (count < 0)
            break;
    }
    BIO_free(bio);
    ERR_clear_error();
    return count;
}

/* DER: a certificate, a private key (PKCS#8, traditional), or an encrypted PKCS#8 key. */
static int import_der(const unsigned char *bytes, size_t len, struct import_state *state, CFMutableArrayRef items,
                      dbl_keychain *keychain, int *certs, int *keys)
{
    const unsigned char *p = bytes;
    X509 *x509 = d2i_X509(NULL, &p, (long)len);
    EVP_PKEY *pkey;
    X509_SIG *sig;
    if (x509 != NULL && p == bytes + len) {
        add_item(items, keychain, dbl_cert_from_x509(x509));
        X509_free(x509);
        (*certs)++;
        return 1;
    }
    X509_free(x509);
    p = bytes;
    pkey = d2i_AutoPrivateKey(NULL, &p, (long)len);
    if (pkey == NULL) {
        p = bytes;
        sig = d2i_X509_SIG(NULL, &p, (long)len);
        if (sig != NULL) {
            PKCS8_PRIV_KEY_INFO *info;
            if (state->pass == NULL) {
                X509_SIG_free(sig);
                return errSecPassphraseRequired;
            }
            info = PKCS8_decrypt(sig, state->pass, (int)strlen(state->pass));
            X509_SIG_free(sig);
            if (info == NULL)
                return errSecAuthFailed;
            pkey = EVP_PKCS82PKEY(info);
            PKCS8_PRIV_KEY_INFO_free(info);
        }
    }
    ERR_clear_error();
    if (pkey == NULL)
        return errSecUnknownFormat;
    add_item(items, keychain, key_from_pkey(pkey));
    (*keys)++;
    return 1;
}

/* OSStatus SecItemImport(CFDataRef importedData, CFStringRef fileNameOrExtension, SecExternalFormat *inputFormat,
 *     SecExternalItemType *itemType, SecItemImportExportFlags flags, const SecItemImportExportKeyParameters *,
 *     SecKeychainRef importKeychain, CFArrayRef *outItems)
 * The formats and item types are in-out (kSecFormatUnknown asks the function to find out). Keys need a keychain
 * on macOS before 15 - here a NULL keychain keeps the items out of every keychain. */
OSStatus SecItemImport(CFDataRef importedData, CFStringRef fileNameOrExtension, uint32_t *inputFormat,
                       uint32_t *itemType, uint32_t flags, const SecItemImportExportKeyParameters *keyParams,
                       SecKeychainRef importKeychain, CFArrayRef *outItems)
{
    dbl_data *data = (dbl_data *)dbl_check(importedData, T_DATA);
    dbl_keychain *keychain = (dbl_keychain *)dbl_check(importKeychain, T_KEYCHAIN);
    struct import_state state = {NULL, 0, 0};
    char *pass = NULL;
    CFMutableArrayRef items;
    int certs = 0, keys = 0, result, pem;
    (void)fileNameOrExtension;
    (void)flags;
    if (data == NULL || (importKeychain != NULL && keychain == NULL))
        return errSecParam;
    if (keychain != NULL && keychain->deleted)
        return -25294;   /* errSecNoSuchKeychain */
    if (keyParams != NULL && keyParams->passphrase != NULL) {
        if (dbl_string_utf8(keyParams->passphrase)) {
            pass = strdup(dbl_string_utf8(keyParams->passphrase));
        } else if (dbl_check(keyParams->passphrase, T_DATA)) {
            dbl_data *p = (dbl_data *)keyParams->passphrase;
            pass = calloc(1, p->len + 1);
            memcpy(pass, p->bytes, p->len);
        } else {
            return errSecParam;
        }
        state.pass = pass;
    }
    items = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    pem = data->len > 10 && memmem(data->bytes, data->len, "-----BEGIN", 10) != NULL;
    result = pem ? import_pem(data->bytes, data->len, &state, items, keychain, &certs, &keys)
                 : import_der(data->bytes, data->len, &state, items, keychain, &certs, &keys);
    free(pass);
    if (result <= 0) {
        CFRelease(items);
        return result < 0 ? result : errSecUnknownFormat;
    }
    if (inputFormat != NULL && *inputFormat == kSecFormatUnknown)
        *inputFormat = pem && certs + keys > 1 ? kSecFormatPEMSequence
                     : certs ? kSecFormatX509Cert : kSecFormatOpenSSL;
    if (itemType != NULL && *itemType == kSecItemTypeUnknown)
        *itemType = certs && keys ? kSecItemTypeAggregate : certs ? kSecItemTypeCertificate
                                                                  : kSecItemTypePrivateKey;
    if (outItems != NULL)
        *outItems = items;
    else
        CFRelease(items);
    return errSecSuccess;
}

/* --- SecImportExport.h: SecPKCS12Import ---
 * The dictionary keys are CFString constants whose values are Apple's ("passphrase", "identity", ...). */
DBL_STATIC_STRING(kSecImportExportPassphrase, "passphrase")
DBL_STATIC_STRING(kSecImportExportKeychain, "keychain")
DBL_STATIC_STRING(kSecImportItemLabel, "label")
DBL_STATIC_STRING(kSecImportItemKeyID, "keyid")
DBL_STATIC_STRING(kSecImportItemTrust, "trust")
DBL_STATIC_STRING(kSecImportItemCertChain, "chain")
DBL_STATIC_STRING(kSecImportItemIdentity, "identity")

/* Apple's decoder reads the PKCS#12 PBE algorithms (3DES, RC2, RC4): OpenSSL 3 keeps RC2 in its legacy provider,
 * so the parse runs with this thread's default library context switched to one of ours holding the default and
 * legacy providers (the process-wide context, shared with the stdlib ssl module in the tests, is never touched). */
static OSSL_LIB_CTX *pkcs12_libctx;

static OSSL_LIB_CTX *pkcs12_context(void)
{
    dbl_lock();
    if (pkcs12_libctx == NULL) {
        OSSL_LIB_CTX *libctx = OSSL_LIB_CTX_new();
        if (libctx != NULL && OSSL_PROVIDER_load(libctx, "default") != NULL) {
            OSSL_PROVIDER_load(libctx, "legacy");   /* absent: RC2 files fail to decode, as they would */
            pkcs12_libctx = libctx;
        } else {
            OSSL_LIB_CTX_free(libctx);
        }
    }
    dbl_unlock();
    return pkcs12_libctx;
}

static long default_keychain_imports;  /* SecPKCS12Import calls without kSecImportExportKeychain */

long double_default_keychain_imports(void)
{
    long n;
    dbl_lock();
    n = default_keychain_imports;
    dbl_unlock();
    return n;
}

static CFDictionaryRef import_entry(CFTypeRef identity, CFArrayRef chain)
{
    const void *keys[2], *values[2];
    CFIndex n = 0;
    if (identity != NULL) {
        keys[n] = kSecImportItemIdentity;
        values[n++] = identity;
    }
    keys[n] = kSecImportItemCertChain;
    values[n++] = chain;
    return CFDictionaryCreate(NULL, keys, values, n, &kCFTypeDictionaryKeyCallBacks, &kCFTypeDictionaryValueCallBacks);
}

/* OSStatus SecPKCS12Import(CFDataRef pkcs12_data, CFDictionaryRef options, CFArrayRef *items), as macOS 14's
 * (OSX/libsecurity_keychain/lib/SecImportExport.c over OSX/sec/Security/SecImportExport.c's p12decode):
 *  - a missing kSecImportExportPassphrase is the empty passphrase;
 *  - the integrity MAC that does not verify: errSecAuthFailed; a blob that cannot be read (or whose contents
 *    cannot be decrypted after the MAC verified): errSecDecode;
 *  - +1 array: one dictionary {identity, chain: [leaf, the file's other certificates]} per key, and (macOS) one
 *    {chain: [...]} for certificates no key claims - a file without a key succeeds with only that one;
 *  - the key is imported into the kSecImportExportKeychain keychain, or else into the user's default keychain
 *    (counted here: double_default_keychain_imports; kSecImportToMemoryOnly is macOS 15+ and not modelled). */
OSStatus SecPKCS12Import(CFDataRef pkcs12_data, CFDictionaryRef options, CFArrayRef *items)
{
    dbl_data *data = (dbl_data *)dbl_check(pkcs12_data, T_DATA);
    const unsigned char *p;
    PKCS12 *p12;
    EVP_PKEY *pkey = NULL;
    X509 *x509 = NULL;
    STACK_OF(X509) *ca = NULL;
    const char *pass = "";
    dbl_keychain *keychain = NULL;
    CFMutableArrayRef chain, result;
    CFDictionaryRef entry;
    OSSL_LIB_CTX *libctx, *previous;
    int i, parsed;
    if (data == NULL || items == NULL)
        return errSecParam;
    if (options != NULL) {
        CFTypeRef value = CFDictionaryGetValue(options, kSecImportExportPassphrase);
        if (value != NULL && (pass = dbl_string_utf8(value)) == NULL)
            return errSecParam;
        keychain = (dbl_keychain *)dbl_check(CFDictionaryGetValue(options, kSecImportExportKeychain), T_KEYCHAIN);
    }
    p = data->bytes;
    p12 = d2i_PKCS12(NULL, &p, (long)data->len);
    if (p12 == NULL) {
        ERR_clear_error();
        return errSecDecode;
    }
    libctx = pkcs12_context();
    previous = libctx != NULL ? OSSL_LIB_CTX_set0_default(libctx) : NULL;
    if (PKCS12_mac_present(p12) && !PKCS12_verify_mac(p12, pass, -1) &&
        !(pass[0] == '\0' && PKCS12_verify_mac(p12, NULL, 0))) {
        if (libctx != NULL)
            OSSL_LIB_CTX_set0_default(previous);
        PKCS12_free(p12);
        ERR_clear_error();
        return errSecAuthFailed;
    }
    parsed = PKCS12_parse(p12, pass, &pkey, &x509, &ca);
    if (libctx != NULL)
        OSSL_LIB_CTX_set0_default(previous);
    PKCS12_free(p12);
    ERR_clear_error();
    if (!parsed) {
        EVP_PKEY_free(pkey);
        X509_free(x509);
        sk_X509_pop_free(ca, X509_free);
        return errSecDecode;
    }
    result = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    chain = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    if (pkey != NULL && x509 != NULL) {
        dbl_identity *identity = dbl_alloc(T_IDENTITY, sizeof(*identity), identity_finalize);
        identity->cert = dbl_cert_from_x509(x509);
        identity->key = key_from_pkey(pkey);
        pkey = NULL;
        if (keychain != NULL) {
            CFArrayAppendValue(keychain->items, identity->key);
        } else {
            dbl_lock();
            default_keychain_imports++;
            dbl_unlock();
        }
        CFArrayAppendValue(chain, identity->cert);
        for (i = 0; ca != NULL && i < sk_X509_num(ca); i++) {
            dbl_cert *cert = dbl_cert_from_x509(sk_X509_value(ca, i));
            CFArrayAppendValue(chain, cert);
            CFRelease(cert);
        }
        entry = import_entry(identity, chain);
        CFRelease(identity);
    } else {
        /* no key (or a key without its certificate): the certificates alone */
        if (x509 != NULL) {
            dbl_cert *cert = dbl_cert_from_x509(x509);
            CFArrayAppendValue(chain, cert);
            CFRelease(cert);
        }
        for (i = 0; ca != NULL && i < sk_X509_num(ca); i++) {
            dbl_cert *cert = dbl_cert_from_x509(sk_X509_value(ca, i));
            CFArrayAppendValue(chain, cert);
            CFRelease(cert);
        }
        entry = import_entry(NULL, chain);
    }
    CFRelease(chain);
    CFArrayAppendValue(result, entry);
    CFRelease(entry);
    EVP_PKEY_free(pkey);
    X509_free(x509);
    sk_X509_pop_free(ca, X509_free);
    *items = result;
    return errSecSuccess;
}

/* --- SecPolicy.h --- */
typedef struct { dbl_obj h; int server; char *hostname; } dbl_policy;

static void policy_finalize(dbl_obj *self) { free(((dbl_policy *)self)->hostname); }

CFTypeID SecPolicyGetTypeID(void) { return T_POLICY; }

/* SecPolicyRef SecPolicyCreateSSL(Boolean server, CFStringRef hostname): +1. server=true checks a server's
 * certificate (serverAuth EKU), false a client's; the host name may be an IP literal (iPAddress SANs). */
SecPolicyRef SecPolicyCreateSSL(Boolean server, CFStringRef hostname)
{
    dbl_policy *policy = dbl_alloc(T_POLICY, sizeof(*policy), policy_finalize);
    policy->server = server ? 1 : 0;
    if (hostname != NULL) {
        if (dbl_string_utf8(hostname) == NULL)
            dbl_fatal("SecPolicyCreateSSL: hostname is not a CFString", hostname);
        policy->hostname = strdup(dbl_string_utf8(hostname));
    }
    return policy;
}

/* --- SecTrust.h --- */
typedef struct {
    dbl_obj h;
    dbl_array *certs;         /* leaf first (retained) */
    dbl_array *policies;
    dbl_array *anchors;       /* NULL: the system's (OpenSSL's default paths) */
    int anchors_only;
    int evaluated;
    uint32_t result;          /* SecTrustResultType */
    OSStatus status;          /* errSec code of the failure (point 12), 0 when trusted */
    dbl_array *chain;         /* the evaluated chain */
} dbl_trust;

enum { kSecTrustResultInvalid = 0, kSecTrustResultProceed = 1, kSecTrustResultUnspecified = 4,
       kSecTrustResultRecoverableTrustFailure = 5, kSecTrustResultFatalTrustFailure = 6 };

static void trust_finalize(dbl_obj *self)
{
    dbl_trust *trust = (dbl_trust *)self;
    CFRelease(trust->certs);
    CFRelease(trust->policies);
    if (trust->anchors)
        CFRelease(trust->anchors);
    if (trust->chain)
        CFRelease(trust->chain);
}

CFTypeID SecTrustGetTypeID(void) { return T_TRUST; }

/* One object or an array of them, as a new array of the given type; NULL if anything has another type. */
static dbl_array *one_or_array(CFTypeRef value, enum dbl_type type)
{
    CFMutableArrayRef array = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    CFIndex i;
    if (dbl_check(value, type)) {
        CFArrayAppendValue(array, value);
    } else if (dbl_check(value, T_ARRAY)) {
        for (i = 0; i < CFArrayGetCount(value); i++) {
            if (!dbl_check(CFArrayGetValueAtIndex(value, i), type)) {
                CFRelease(array);
                return NULL;
            }
            CFArrayAppendValue(array, CFArrayGetValueAtIndex(value, i));
        }
    } else if (value != NULL) {
        CFRelease(array);
        return NULL;
    }
    return array;
}

static void trust_reset(dbl_trust *trust)
{
    trust->evaluated = 0;
    trust->result = kSecTrustResultInvalid;
    if (trust->chain) {
        CFRelease(trust->chain);
        trust->chain = NULL;
    }
}

SecTrustRef dbl_trust_create(CFArrayRef certificates, SecPolicyRef policy)
{
    dbl_trust *trust = dbl_alloc(T_TRUST, sizeof(*trust), trust_finalize);
    trust->certs = one_or_array(certificates, T_CERTIFICATE);
    trust->policies = one_or_array(policy, T_POLICY);
    return trust;
}

/* OSStatus SecTrustCreateWithCertificates(CFTypeRef certificates, CFTypeRef policies, SecTrustRef *trust) */
OSStatus SecTrustCreateWithCertificates(CFTypeRef certificates, CFTypeRef policies, SecTrustRef *trust)
{
    dbl_array *certs = one_or_array(certificates, T_CERTIFICATE);
    dbl_array *pols = one_or_array(policies, T_POLICY);
    dbl_trust *created;
    if (trust == NULL || certs == NULL || certs->count == 0 || pols == NULL) {
        if (certs)
            CFRelease(certs);
        if (pols)
            CFRelease(pols);
        return errSecParam;
    }
    created = dbl_alloc(T_TRUST, sizeof(*created), trust_finalize);
    created->certs = certs;
    created->policies = pols;
    *trust = created;
    return errSecSuccess;
}

OSStatus SecTrustSetPolicies(SecTrustRef trustRef, CFTypeRef policies)
{
    dbl_trust *trust = (dbl_trust *)dbl_check(trustRef, T_TRUST);
    dbl_array *pols = one_or_array(policies, T_POLICY);
    if (trust == NULL || pols == NULL) {
        if (pols)
            CFRelease(pols);
        return errSecParam;
    }
    CFRelease(trust->policies);
    trust->policies = pols;
    trust_reset(trust);
    return errSecSuccess;
}

/* SecTrust.h: setting anchors also disables the system's anchors until SecTrustSetAnchorCertificatesOnly(false);
 * NULL restores the system's. */
OSStatus SecTrustSetAnchorCertificates(SecTrustRef trustRef, CFArrayRef anchorCertificates)
{
    dbl_trust *trust = (dbl_trust *)dbl_check(trustRef, T_TRUST);
    dbl_array *anchors = NULL;
    if (trust == NULL)
        return errSecParam;
    if (anchorCertificates != NULL) {
        if (!dbl_check(anchorCertificates, T_ARRAY) ||
            (anchors = one_or_array(anchorCertificates, T_CERTIFICATE)) == NULL)
            return errSecParam;
    }
    if (trust->anchors)
        CFRelease(trust->anchors);
    trust->anchors = anchors;
    trust->anchors_only = anchors != NULL;
    trust_reset(trust);
    return errSecSuccess;
}

OSStatus SecTrustSetAnchorCertificatesOnly(SecTrustRef trustRef, Boolean anchorCertificatesOnly)
{
    dbl_trust *trust = (dbl_trust *)dbl_check(trustRef, T_TRUST);
    if (trust == NULL)
        return errSecParam;
    trust->anchors_only = anchorCertificatesOnly ? 1 : 0;
    trust_reset(trust);
    return errSecSuccess;
}

static int is_ip_literal(const char *name)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

/* X509_verify_cert's verdict as the errSec codes of SecPolicyChecks.list [MACOS 12]. */
static OSStatus map_verify_error(int error)
{
    switch (error) {
    case X509_V_OK:
        return errSecSuccess;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return errSecHostNameMismatch;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return errSecCertificateExpired;          /* TemporalValidity: both directions */
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return errSecNotTrusted;
    case X509_V_ERR_INVALID_PURPOSE:
        return errSecInvalidExtendedKeyUsage;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        return errSecInvalidSignature;
    default:
        return errSecCreateChainFailed;
    }
}

static void trust_evaluate(dbl_trust *trust)
{
    X509_STORE *store;
    X509_STORE_CTX *ctx;
    STACK_OF(X509) *untrusted, *chain;
    X509_VERIFY_PARAM *param;
    dbl_policy *policy = NULL;
    CFIndex i;
    int ok, error;
    if (trust->evaluated)
        return;
    if (trust->policies->count > 0)
        policy = (dbl_policy *)trust->policies->values[0];
    store = X509_STORE_new();
    if (trust->anchors) {
        for (i = 0; i < trust->anchors->count; i++)
            X509_STORE_add_cert(store, ((dbl_cert *)trust->anchors->values[i])->x509);
    }
    if (trust->anchors == NULL || !trust->anchors_only)
        X509_STORE_set_default_paths(store);   /* "the system's anchors" of this machine */
    untrusted = sk_X509_new_null();
    for (i = 1; i < trust->certs->count; i++)
        sk_X509_push(untrusted, ((dbl_cert *)trust->certs->values[i])->x509);
    ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, ((dbl_cert *)trust->certs->values[0])->x509, untrusted);
    param = X509_STORE_CTX_get0_param(ctx);
    if (trust->anchors)
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);   /* any anchor ends a chain, as Apple */
    if (policy != NULL) {
        X509_STORE_CTX_set_purpose(ctx, policy->server ? X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT);
        if (policy->hostname != NULL && policy->hostname[0]) {
            /* subjectAltName only, never the common name (SecPolicyCheckCertSSLHostname,
             * OSX/sec/Security/SecPolicyLeafCallbacks.c) */
            X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
            if (is_ip_literal(policy->hostname))
                X509_VERIFY_PARAM_set1_ip_asc(param, policy->hostname);
            else
                X509_VERIFY_PARAM_set1_host(param, policy->hostname, 0);
        }
    }
    ok = X509_verify_cert(ctx);
    error = X509_STORE_CTX_get_error(ctx);
    trust->status = ok == 1 ? errSecSuccess : map_verify_error(error == X509_V_OK ? -1 : error);
    trust->result = ok == 1 ? kSecTrustResultUnspecified : kSecTrustResultRecoverableTrustFailure;
    chain = X509_STORE_CTX_get1_chain(ctx);
    trust->chain = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    if (chain != NULL && sk_X509_num(chain) > 0) {
        for (i = 0; i < sk_X509_num(chain); i++) {
            dbl_cert *cert = dbl_cert_from_x509(sk_X509_value(chain, (int)i));
            CFArrayAppendValue(trust->chain, cert);
            CFRelease(cert);
        }
    } else {
        for (i = 0; i < trust->certs->count; i++)
            CFArrayAppendValue(trust->chain, trust->certs->values[i]);
    }
    sk_X509_pop_free(chain, X509_free);
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    X509_STORE_free(store);
    ERR_clear_error();
    /* Not modelled: Apple's weak-key and weak-hash checks (WeakKeySize, WeakSignature,
     * SystemTrustedWeakHash/Key in SecPolicyChecks.list); OpenSSL runs at security level 0 here. */
    trust->evaluated = 1;
}

OSStatus dbl_trust_verify_status(SecTrustRef trustRef)
{
    dbl_trust *trust = (dbl_trust *)dbl_check(trustRef, T_TRUST);
    if (trust == NULL)
        return errSecParam;
    trust_evaluate(trust);
    return trust->status;
}

/* OSStatus SecTrustEvaluate(SecTrustRef, SecTrustResultType *result): noErr with the result (deprecated 10.15). */
OSStatus SecTrustEvaluate(SecTrustRef trustRef, uint32_t *result)
{
    dbl_trust *trust = (dbl_trust *)dbl_check(trustRef, T_TRUST);
    if (trust == NULL || result == NULL)
        return errSecParam;
    trust_evaluate(trust);
    *result = trust->result;
    return errSecSuccess;
}

OSStatus SecTrustGetTrustResult(SecTrustRef trustRef, uint32_t *result)
{
    dbl_trust *trust = (dbl_trust *)dbl_check(trustRef, T_TRUST);
    if (trust == NULL || result == NULL)
        return errSecParam;
    *result = trust->result;
    return errSecSuccess;
}

/* bool SecTrustEvaluateWithError(SecTrustRef, CFErrorRef *error) (10.14+): true when trusted; otherwise *error
 * (when error is not NULL) is a +1 CFError whose code is the errSec value of point 12. */
bool SecTrustEvaluateWithError(SecTrustRef trustRef, CFErrorRef *error)
{
    dbl_trust *trust = (dbl_trust *)dbl_check(trustRef, T_TRUST);
    char message[200];
    if (error != NULL)
        *error = NULL;
    if (trust == NULL)
        dbl_fatal("SecTrustEvaluateWithError: not a SecTrust", trustRef);
    trust_evaluate(trust);
    if (trust->status == errSecSuccess)
        return true;
    if (error != NULL) {
        const char *what = trust->status == errSecHostNameMismatch ? "Host name mismatch"
                         : trust->status == errSecCertificateExpired ? "Certificate expired or not yet valid"
                         : trust->status == errSecNotTrusted ? "Root certificate is not trusted"
                         : trust->status == errSecInvalidExtendedKeyUsage ? "Extended key usage does not match"
                         : "Unable to build chain";
        snprintf(message, sizeof(message), "\"certificate\" is not trusted: %s (%d)", what, (int)trust->status);
        *error = dbl_error_create(trust->status, message);
    }
    return false;
}

/* SecTrustGetCertificateCount/AtIndex: the evaluated chain (evaluating first if needed), borrowed. */
CFIndex SecTrustGetCertificateCount(SecTrustRef trustRef)
{
    dbl_trust *trust = (dbl_trust *)dbl_check(trustRef, T_TRUST);
    if (trust == NULL)
        return 0;
    trust_evaluate(trust);
    return trust->chain->count;
}

SecCertificateRef SecTrustGetCertificateAtIndex(SecTrustRef trustRef, CFIndex ix)
{
    dbl_trust *trust = (dbl_trust *)dbl_check(trustRef, T_TRUST);
    if (trust == NULL)
        return NULL;
    trust_evaluate(trust);
    if (ix < 0 || ix >= trust->chain->count)
        return NULL;
    return (SecCertificateRef)trust->chain->values[ix];
}

/* CFArrayRef SecTrustCopyCertificateChain(SecTrustRef) (macOS 12+): +1. */
CFArrayRef SecTrustCopyCertificateChain(SecTrustRef trustRef)
{
    dbl_trust *trust = (dbl_trust *)dbl_check(trustRef, T_TRUST);
    if (trust == NULL)
        return NULL;
    trust_evaluate(trust);
    return CFRetain(trust->chain);
}

/* CFStringRef SecCopyErrorMessageString(OSStatus status, void *reserved): +1, or NULL for an unknown code. */
CFStringRef SecCopyErrorMessageString(OSStatus status, void *reserved)
{
    static const struct { OSStatus code; const char *text; } messages[] = {
        {errSecParam, "One or more parameters passed to a function were not valid."},
        {errSecItemNotFound, "The specified item could not be found in the keychain."},
        {errSecPassphraseRequired, "A passphrase is required for import/export."},
        {errSecAuthFailed, "The user name or passphrase you entered is not correct."},
        {errSecUnknownFormat, "Unknown format in import."},
        {errSecHostNameMismatch, "A host name mismatch has occurred."},
        {errSecCertificateExpired, "An expired certificate was detected."},
        {errSecNotTrusted, "The trust policy was not trusted."},
        {errSecCreateChainFailed, "One or more certificates required to validate this certificate cannot be found."},
        {errSSLWouldBlock, "SSL operation would block."},
        {errSSLClosedAbort, "SSL connection closed via error."},
        {errSSLProtocol, "SSL protocol error"},
        {errSSLXCertChainInvalid, "Invalid certificate chain"},
        {errSSLIllegalParam, "Illegal parameter"},
    };
    size_t i;
    (void)reserved;
    for (i = 0; i < sizeof(messages) / sizeof(messages[0]); i++)
        if (messages[i].code == status)
            return CFStringCreateWithCString(NULL, messages[i].text, kCFStringEncodingUTF8);
    return NULL;
}
