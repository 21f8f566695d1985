/* SecureTransport's SSLContext (SecureTransport.h) over OpenSSL with memory BIOs.
 *
 * Theory of operation. OpenSSL does the cryptography; everything the application can observe is ours and follows
 * Apple's code (apple-oss-distributions/Security, OSX/libsecurity_ssl/lib) and MACOS.md:
 * - Input: OpenSSL's input BIO is fed only whole records, pulled through the application's read callback by
 *   read_record(), a transcription of SSLRecordReadInternal (SSLRecordInternal.c) [MACOS 1].
 * - Output: whatever OpenSSL writes (whole records) is moved to a write queue and offered to the write callback one
 *   record at a time with partial progress, as SSLRecordServiceWriteQueueInternal [MACOS 2].
 * - SSLHandshake/SSLRead/SSLWrite/SSLClose keep the structure of sslTransport.c: SSLHandshakeProceed = continue
 *   after a break, service the write queue, read one record, process it [MACOS 3-5, 8].
 * - Breaks: plaintext handshake messages of the peer are scanned before OpenSSL sees them (they are in clear text
 *   until the peer's ChangeCipherSpec). tls_verify_peer_cert's moments (tlsCallbacks.c, sslCrypto.c) decide the
 *   breaks: the client at ServerHelloDone only when a Certificate came (never on resumption), the server at the
 *   client's Certificate message (even empty) [MACOS 6, 7]. During a break OpenSSL's answer stays in its output
 *   BIO and is queued only when the application calls SSLHandshake again (tls_handshake_continue).
 * - The session cache is process-global [MACOS 9]; versions TLS 1.0-1.2 only [MACOS 10]; ALPN [MACOS 11].
 */
#include "double.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#define kCFStringEncodingASCII 0x0600u
#define RECORD_BUFFER (16384 + 2048)          /* DEFAULT_BUFFER_SIZE, SSLRecordInternal.c */

/* SecureTransport.h / SecProtocolTypes.h enums */
enum { kSSLServerSide = 0, kSSLClientSide = 1 };
enum { kSSLStreamType = 0, kSSLDatagramType = 1 };
enum { kSSLProtocolUnknown = 0, kSSLProtocol3 = 2, kTLSProtocol1 = 4, kTLSProtocol11 = 7, kTLSProtocol12 = 8,
       kTLSProtocol13 = 10, kTLSProtocolMaxSupported = 999 };
enum { kSSLIdle = 0, kSSLHandshake = 1, kSSLConnected = 2, kSSLClosed = 3, kSSLAborted = 4 };
enum { kNeverAuthenticate = 0, kAlwaysAuthenticate = 1, kTryAuthenticate = 2 };
enum { OPT_BREAK_SERVER_AUTH = 0, OPT_BREAK_CERT_REQUESTED = 1, OPT_BREAK_CLIENT_AUTH = 2,
       OPT_ENABLE_TICKETS = 9 };

/* SSL_HdskState of sslContext.h, reduced to what the entry points test */
enum hstate { ST_UNINIT, ST_PENDING, ST_READY, ST_GRACEFUL, ST_ERROR, ST_OUT_OF_BAND };

typedef struct {
    dbl_obj h;
    int server;
    enum hstate state;
    SSLReadFunc read_func;
    SSLWriteFunc write_func;
    SSLConnectionRef connection;
    char *peer_name;
    unsigned char *peer_id;
    size_t peer_id_len;
    int version_min, version_max;         /* SSL protocol versions as OpenSSL numbers */
    SSLCipherSuite *enabled;
    size_t n_enabled;
    int break_server_auth, break_client_auth, break_cert_requested, enable_cert_verify, tickets;
    int client_auth;
    dbl_array *local_certs;               /* [SecIdentity, SecCertificate...] of SSLSetCertificate */
    unsigned char alpn[256];
    size_t alpn_len;
    int alpn_set;
    OSStatus out_of_band_error;

    SSL *ssl;
    BIO *rbio, *wbio;
    int ready;                            /* readCipher_ready && writeCipher_ready */
    int ccs_queued;                       /* our ChangeCipherSpec went to the write queue: alerts are encrypted */
    int peer_ccs;                         /* the peer's ChangeCipherSpec arrived: its handshake is encrypted now */
    int peer_alert;                       /* the last fatal alert the peer sent, or -1 */

    unsigned char record[RECORD_BUFFER];  /* partialReadBuffer */
    size_t amount_read;

    unsigned char *queue;                 /* the write queue: whole records, [queue_off, queue_len) unsent */
    size_t queue_len, queue_cap, queue_off, record_end;

    unsigned char *received;              /* receivedDataBuffer */
    size_t received_len, received_pos;

    unsigned char *hs;                    /* the peer's plaintext handshake bytes not yet split into messages */
    size_t hs_len, hs_cap;
    dbl_array *peer_certs;                /* from the peer's Certificate message */
    int ev_cert_request, ev_server_hello_done, ev_client_certificate;

    OSStatus breaks[3];                   /* breaks still to return, first first */
    int n_breaks;
    int held;                             /* OpenSSL's output is held (not queued) until the handshake continues */
    OSStatus trust_failure;               /* sslVerifyCertChain's verdict when it is not the caller's job */
    SecTrustRef peer_trust;
} dbl_ssl;

static SSL_CTX *client_ctx, *server_ctx;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

/* --- the process-global session cache [MACOS 9] ---
 * Apple keeps one g_session_cache for every context (sslContext.c), keyed by
 * SSLGetSessionConfigurationIdentifier (10 option bytes: the break options, signal flags, renegotiation,
 * tickets) + the session key: on clients the peer ID plus a SHA-256 of the trust settings
 * (get_extended_peer_id, sslTransport.c), on servers the session ID the client offers (tlsCallbacks.c). The
 * double has no trust settings (SSLSetTrustedRoots is not provided), so a client's key is the option bytes +
 * the peer ID; servers share OpenSSL's cache of the one server SSL_CTX, with the option bytes as the session ID
 * context, so a session resumes on any server context configured alike - as on Apple's. */
typedef struct { unsigned char *key; size_t key_len; SSL_SESSION *session; } cache_entry;
static cache_entry cache[256];
static size_t cache_len;
static long cache_hits;

long double_session_cache_size(void) { long n; dbl_lock(); n = (long)cache_len; dbl_unlock(); return n; }
long double_session_cache_hits(void) { long n; dbl_lock(); n = cache_hits; dbl_unlock(); return n; }

static SSL_SESSION *cache_lookup(const unsigned char *key, size_t len)
{
    size_t i;
    SSL_SESSION *found = NULL;
    dbl_lock();
    for (i = 0; i < cache_len; i++)
        if (cache[i].key_len == len && memcmp(cache[i].key, key, len) == 0) {
            found = cache[i].session;
            SSL_SESSION_up_ref(found);
            break;
        }
    dbl_unlock();
    return found;
}

static void cache_store(const unsigned char *key, size_t len, SSL_SESSION *session)
{
    size_t i;
    dbl_lock();
    for (i = 0; i < cache_len; i++)
        if (cache[i].key_len == len && memcmp(cache[i].key, key, len) == 0)
            break;
    if (i == cache_len) {
        if (cache_len == sizeof(cache) / sizeof(cache[0])) {
            i = 0;                               /* full: replace the oldest */
            SSL_SESSION_free(cache[0].session);
            free(cache[0].key);
        } else {
            cache_len++;
        }
        cache[i].key = malloc(len);
        memcpy(cache[i].key, key, len);
        cache[i].key_len = len;
    } else {
        SSL_SESSION_free(cache[i].session);
    }
    cache[i].session = session;
    dbl_unlock();
}

/* SSLGetSessionConfigurationIdentifier's ten Boolean bytes, in Apple's order; the options the double does not
 * model are 0. */
#define CONFIG_KEY_LEN 10
static void config_key(const void *context, unsigned char key[CONFIG_KEY_LEN]);

/* --- OpenSSL setup --- */
static int client_cert_cb(SSL *ssl, X509 **x509, EVP_PKEY **pkey);

static int accept_any(int preverify_ok, X509_STORE_CTX *store)
{
    (void)preverify_ok;
    (void)store;
    return 1;        /* the double evaluates the peer with its own SecTrust (sslVerifyCertChain) */
}

static SSL_CTX *make_ctx(int server)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_method());
    SSL_CTX_set_security_level(ctx, 0);              /* TLS 1.0 and SHA-1 signatures, as SecureTransport */
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);   /* SecureTransport has no TLS 1.3 [MACOS 10] */
    /* SecureTransport: session IDs, no tickets unless asked; no encrypt-then-MAC; NIST curves only */
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_ENCRYPT_THEN_MAC);
    SSL_CTX_set1_groups_list(ctx, "P-256:P-384:P-521");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, accept_any);
    if (server) {
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"st-double", 9);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);   /* ours, keyed by peer ID */
        SSL_CTX_set_client_cert_cb(ctx, client_cert_cb);
    }
    return ctx;
}

static void init_ctxs(void)
{
    client_ctx = make_ctx(0);
    server_ctx = make_ctx(1);
}

/* The suites SecureTransport offered: ECDHE and RSA key exchange, AES-GCM, AES-CBC, ChaCha20, 3DES. */
#define CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:RSA+AESGCM:RSA+AES:ECDHE+3DES:RSA+3DES:!aNULL:!PSK:!DSS:" \
                "!CCM:!ARIA:!CAMELLIA:@SECLEVEL=0"

static SSLCipherSuite supported[128];
static size_t n_supported;
static pthread_once_t supported_once = PTHREAD_ONCE_INIT;

static void init_supported(void)
{
    SSL *ssl;
    STACK_OF(SSL_CIPHER) *ciphers;
    int i;
    pthread_once(&ctx_once, init_ctxs);
    ssl = SSL_new(client_ctx);
    SSL_set_cipher_list(ssl, CIPHERS);
    ciphers = SSL_get_ciphers(ssl);
    for (i = 0; i < sk_SSL_CIPHER_num(ciphers) && n_supported < 128; i++) {
        const SSL_CIPHER *cipher = sk_SSL_CIPHER_value(ciphers, i);
        uint16_t id = SSL_CIPHER_get_protocol_id(cipher);
        if ((id >> 8) != 0x13)                       /* TLS 1.3 suites are not SecureTransport's */
            supported[n_supported++] = id;
    }
    SSL_free(ssl);
    ERR_clear_error();
}

/* --- the object --- */
static void ssl_finalize(dbl_obj *self)
{
    dbl_ssl *ctx = (dbl_ssl *)self;
    if (ctx->ssl) {
        /* Apple's SSLFreeContext leaves the session cache alone; OpenSSL's SSL_free would mark the session
         * of a connection freed without close_notify not resumable (ssl_clear_bad_session). */
        SSL_set_shutdown(ctx->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(ctx->ssl);
    }
    if (ctx->local_certs)
        CFRelease(ctx->local_certs);
    if (ctx->peer_certs)
        CFRelease(ctx->peer_certs);
    if (ctx->peer_trust)
        CFRelease(ctx->peer_trust);
    free(ctx->peer_name);
    free(ctx->peer_id);
    free(ctx->enabled);
    free(ctx->queue);
    free(ctx->received);
    free(ctx->hs);
}

CFTypeID SSLContextGetTypeID(void) { return T_SSLCONTEXT; }

static dbl_ssl *get(SSLContextRef ref)
{
    return (dbl_ssl *)dbl_check(ref, T_SSLCONTEXT);
}

static void config_key(const void *context, unsigned char key[CONFIG_KEY_LEN])
{
    const dbl_ssl *ctx = context;
    memset(key, 0, CONFIG_KEY_LEN);
    key[0] = (unsigned char)ctx->break_server_auth;
    key[1] = (unsigned char)ctx->break_cert_requested;
    key[2] = (unsigned char)ctx->break_client_auth;
    /* 3-5: signalServerAuth, signalCertRequest, signalClientAuth; 6: breakOnClientHello;
     * 7: allowServerIdentityChange; 8: allowRenegotiation */
    key[9] = (unsigned char)ctx->tickets;
}

/* The client's cache key: the configuration bytes, then the peer ID (malloc'd, *len set). */
static unsigned char *client_cache_key(dbl_ssl *ctx, size_t *len)
{
    unsigned char *key = malloc(CONFIG_KEY_LEN + ctx->peer_id_len);
    config_key(ctx, key);
    memcpy(key + CONFIG_KEY_LEN, ctx->peer_id, ctx->peer_id_len);
    *len = CONFIG_KEY_LEN + ctx->peer_id_len;
    return key;
}

static int session_active(dbl_ssl *ctx) { return ctx->state == ST_PENDING || ctx->state == ST_READY; }

/* SSLContextRef SSLCreateContext(CFAllocatorRef, SSLProtocolSide, SSLConnectionType): +1.
 * Default minimums: SSL 3 on clients (TLS 1.0 here, OpenSSL has no SSL 3), TLS 1.0 on servers [MACOS 10]. */
SSLContextRef SSLCreateContext(CFAllocatorRef alloc, int32_t protocolSide, int32_t connectionType)
{
    dbl_ssl *ctx;
    (void)alloc;
    if ((protocolSide != kSSLServerSide && protocolSide != kSSLClientSide) || connectionType != kSSLStreamType)
        return NULL;        /* DTLS is not part of the double */
    pthread_once(&ctx_once, init_ctxs);
    ctx = dbl_alloc(T_SSLCONTEXT, sizeof(*ctx), ssl_finalize);
    ctx->server = protocolSide == kSSLServerSide;
    ctx->state = ST_UNINIT;
    ctx->version_min = ctx->server ? TLS1_VERSION : SSL3_VERSION;
    ctx->version_max = TLS1_2_VERSION;
    ctx->enable_cert_verify = 1;
    ctx->peer_alert = -1;
    return ctx;
}

OSStatus SSLSetIOFuncs(SSLContextRef context, SSLReadFunc readFunc, SSLWriteFunc writeFunc)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL)
        return errSecParam;
    if (session_active(ctx))
        return errSecBadReq;
    ctx->read_func = readFunc;
    ctx->write_func = writeFunc;
    return errSecSuccess;
}

OSStatus SSLSetConnection(SSLContextRef context, SSLConnectionRef connection)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL)
        return errSecParam;
    if (session_active(ctx))
        return errSecBadReq;
    ctx->connection = connection;
    return errSecSuccess;
}

OSStatus SSLGetConnection(SSLContextRef context, SSLConnectionRef *connection)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL || connection == NULL)
        return errSecParam;
    *connection = ctx->connection;
    return errSecSuccess;
}

/* SNI is sent verbatim, IP literals included [MACOS 6]; the name is also the peer trust's policy host. */
OSStatus SSLSetPeerDomainName(SSLContextRef context, const char *peerName, size_t peerNameLen)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL)
        return errSecParam;
    if (session_active(ctx))
        return errSecBadReq;
    free(ctx->peer_name);
    ctx->peer_name = NULL;
    if (peerName != NULL && peerNameLen > 0) {
        /* Apple's callers pass strlen(name); a trailing NUL counted in the length is dropped as Apple does */
        if (peerName[peerNameLen - 1] == 0)
            peerNameLen--;
        ctx->peer_name = calloc(1, peerNameLen + 1);
        memcpy(ctx->peer_name, peerName, peerNameLen);
    }
    return errSecSuccess;
}

OSStatus SSLSetPeerID(SSLContextRef context, const void *peerID, size_t peerIDLen)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL || peerID == NULL || peerIDLen == 0)
        return errSecParam;
    if (session_active(ctx))
        return errSecBadReq;
    free(ctx->peer_id);
    ctx->peer_id = malloc(peerIDLen);
    memcpy(ctx->peer_id, peerID, peerIDLen);
    ctx->peer_id_len = peerIDLen;
    return errSecSuccess;
}

/* SSLProtocolToProtocolVersion; kTLSProtocol13 and kTLSProtocolMaxSupported are outside
 * MINIMUM_STREAM_VERSION..MAXIMUM_STREAM_VERSION: errSSLIllegalParam [MACOS 10]. */
static int protocol_version(int32_t protocol)
{
    switch (protocol) {
    case kSSLProtocol3: return SSL3_VERSION;
    case kTLSProtocol1: return TLS1_VERSION;
    case kTLSProtocol11: return TLS1_1_VERSION;
    case kTLSProtocol12: return TLS1_2_VERSION;
    default: return -1;
    }
}

static int32_t protocol_of(int version)
{
    switch (version) {
    case SSL3_VERSION: return kSSLProtocol3;
    case TLS1_VERSION: return kTLSProtocol1;
    case TLS1_1_VERSION: return kTLSProtocol11;
    case TLS1_2_VERSION: return kTLSProtocol12;
    default: return kSSLProtocolUnknown;
    }
}

OSStatus SSLSetProtocolVersionMin(SSLContextRef context, int32_t minVersion)
{
    dbl_ssl *ctx = get(context);
    int version = protocol_version(minVersion);
    if (ctx == NULL)
        return errSecParam;
    if (version < 0)
        return errSSLIllegalParam;
    if (version > ctx->version_max)
        ctx->version_max = version;
    ctx->version_min = version;
    return errSecSuccess;
}

OSStatus SSLSetProtocolVersionMax(SSLContextRef context, int32_t maxVersion)
{
    dbl_ssl *ctx = get(context);
    int version = protocol_version(maxVersion);
    if (ctx == NULL)
        return errSecParam;
    if (version < 0)
        return errSSLIllegalParam;
    if (version < ctx->version_min)
        ctx->version_min = version;
    ctx->version_max = version;
    return errSecSuccess;
}

OSStatus SSLGetProtocolVersionMin(SSLContextRef context, int32_t *minVersion)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL || minVersion == NULL)
        return errSecParam;
    *minVersion = protocol_of(ctx->version_min);
    return errSecSuccess;
}

OSStatus SSLGetProtocolVersionMax(SSLContextRef context, int32_t *maxVersion)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL || maxVersion == NULL)
        return errSecParam;
    *maxVersion = protocol_of(ctx->version_max);
    return errSecSuccess;
}

OSStatus SSLGetNegotiatedProtocolVersion(SSLContextRef context, int32_t *protocol)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL || protocol == NULL)
        return errSecParam;
    *protocol = ctx->ssl && ctx->ready ? protocol_of(SSL_version(ctx->ssl)) : kSSLProtocolUnknown;
    return errSecSuccess;
}

/* --- cipher suites --- */
OSStatus SSLGetNumberSupportedCiphers(SSLContextRef context, size_t *numCiphers)
{
    if (get(context) == NULL || numCiphers == NULL)
        return errSecParam;
    pthread_once(&supported_once, init_supported);
    *numCiphers = n_supported;
    return errSecSuccess;
}

static OSStatus copy_suites(const SSLCipherSuite *from, size_t n, SSLCipherSuite *ciphers, size_t *numCiphers)
{
    if (ciphers == NULL || numCiphers == NULL)
        return errSecParam;
    if (*numCiphers < n)
        return -9817;    /* errSSLBufferOverflow */
    memcpy(ciphers, from, n * sizeof(*from));
    *numCiphers = n;
    return errSecSuccess;
}

OSStatus SSLGetSupportedCiphers(SSLContextRef context, SSLCipherSuite *ciphers, size_t *numCiphers)
{
    if (get(context) == NULL)
        return errSecParam;
    pthread_once(&supported_once, init_supported);
    return copy_suites(supported, n_supported, ciphers, numCiphers);
}

/* Unsupported suites are dropped; none left is errSecParam. */
OSStatus SSLSetEnabledCiphers(SSLContextRef context, const SSLCipherSuite *ciphers, size_t numCiphers)
{
    dbl_ssl *ctx = get(context);
    size_t i, k;
    if (ctx == NULL || ciphers == NULL || numCiphers == 0)
        return errSecParam;
    if (session_active(ctx))
        return errSecBadReq;
    pthread_once(&supported_once, init_supported);
    free(ctx->enabled);
    ctx->enabled = malloc(numCiphers * sizeof(*ctx->enabled));
    ctx->n_enabled = 0;
    for (i = 0; i < numCiphers; i++)
        for (k = 0; k < n_supported; k++)
            if (supported[k] == ciphers[i])
                ctx->enabled[ctx->n_enabled++] = ciphers[i];
    if (ctx->n_enabled == 0) {
        free(ctx->enabled);
        ctx->enabled = NULL;
        return errSecParam;
    }
    return errSecSuccess;
}

OSStatus SSLGetNumberEnabledCiphers(SSLContextRef context, size_t *numCiphers)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL || numCiphers == NULL)
        return errSecParam;
    pthread_once(&supported_once, init_supported);
    *numCiphers = ctx->enabled ? ctx->n_enabled : n_supported;
    return errSecSuccess;
}

OSStatus SSLGetEnabledCiphers(SSLContextRef context, SSLCipherSuite *ciphers, size_t *numCiphers)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL)
        return errSecParam;
    pthread_once(&supported_once, init_supported);
    return ctx->enabled ? copy_suites(ctx->enabled, ctx->n_enabled, ciphers, numCiphers)
                        : copy_suites(supported, n_supported, ciphers, numCiphers);
}

OSStatus SSLGetNegotiatedCipher(SSLContextRef context, SSLCipherSuite *cipherSuite)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL || cipherSuite == NULL)
        return errSecParam;
    if (!session_active(ctx) || ctx->ssl == NULL || SSL_get_current_cipher(ctx->ssl) == NULL)
        return errSecBadReq;
    *cipherSuite = SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(ctx->ssl));
    return errSecSuccess;
}

/* --- options, identity, client authentication --- */
/* sslContext.c: BreakOnServerAuth and BreakOnClientAuth both set enableCertVerify = !value, so the order of
 * setting them matters [MACOS 6]; errSecBadReq once the session is active. */
OSStatus SSLSetSessionOption(SSLContextRef context, int32_t option, Boolean value)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL)
        return errSecParam;
    if (session_active(ctx))
        return errSecBadReq;
    switch (option) {
    case OPT_BREAK_SERVER_AUTH:
        ctx->break_server_auth = value != 0;
        ctx->enable_cert_verify = !value;
        break;
    case OPT_BREAK_CERT_REQUESTED:
        ctx->break_cert_requested = value != 0;
        break;
    case OPT_BREAK_CLIENT_AUTH:
        ctx->break_client_auth = value != 0;
        ctx->enable_cert_verify = !value;
        break;
    case OPT_ENABLE_TICKETS:
        ctx->tickets = value != 0;
        break;
    default:
        if (option < 0 || option > 9)
            return errSecParam;
        break;      /* the other options change nothing the double models */
    }
    return errSecSuccess;
}

OSStatus SSLGetSessionOption(SSLContextRef context, int32_t option, Boolean *value)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL || value == NULL)
        return errSecParam;
    *value = option == OPT_BREAK_SERVER_AUTH ? ctx->break_server_auth
           : option == OPT_BREAK_CERT_REQUESTED ? ctx->break_cert_requested
           : option == OPT_BREAK_CLIENT_AUTH ? ctx->break_client_auth
           : option == OPT_ENABLE_TICKETS ? ctx->tickets : 0;
    return errSecSuccess;
}

static void apply_local_certs(dbl_ssl *ctx)
{
    dbl_identity *identity;
    CFIndex i;
    if (ctx->ssl == NULL || ctx->local_certs == NULL)
        return;
    identity = (dbl_identity *)ctx->local_certs->values[0];
    SSL_use_certificate(ctx->ssl, identity->cert->x509);
    SSL_use_PrivateKey(ctx->ssl, identity->key->pkey);
    SSL_clear_chain_certs(ctx->ssl);
    for (i = 1; i < ctx->local_certs->count; i++)
        SSL_add1_chain_cert(ctx->ssl, ((dbl_cert *)ctx->local_certs->values[i])->x509);
    ERR_clear_error();
}

/* OSStatus SSLSetCertificate(SSLContextRef, CFArrayRef certRefs): [SecIdentityRef, SecCertificateRef...]. A
 * client may set it after errSSLClientCertRequested, mid-handshake. */
OSStatus SSLSetCertificate(SSLContextRef context, CFArrayRef certRefs)
{
    dbl_ssl *ctx = get(context);
    dbl_array *array = (dbl_array *)dbl_check(certRefs, T_ARRAY);
    CFIndex i;
    if (ctx == NULL || (certRefs != NULL && array == NULL))
        return errSecParam;
    if (ctx->server && session_active(ctx))
        return errSecBadReq;
    if (array != NULL) {
        if (array->count == 0 || !dbl_check(array->values[0], T_IDENTITY))
            return errSecParam;
        for (i = 1; i < array->count; i++)
            if (!dbl_check(array->values[i], T_CERTIFICATE))
                return errSecParam;
        CFRetain(array);
    }
    if (ctx->local_certs)
        CFRelease(ctx->local_certs);
    ctx->local_certs = array;
    apply_local_certs(ctx);
    return errSecSuccess;
}

OSStatus SSLSetClientSideAuthenticate(SSLContextRef context, int32_t auth)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL || auth < kNeverAuthenticate || auth > kTryAuthenticate)
        return errSecParam;
    if (session_active(ctx))
        return errSecBadReq;
    ctx->client_auth = auth;
    return errSecSuccess;
}

/* SSLSetALPNProtocols (10.12.4+), as sslContext.c: NULL or empty: errSecParam; a name whose UTF-16 length is
 * over 32 or that does not fit CFStringGetCString's 32-byte ASCII buffer (so over 31 bytes, or non-ASCII) is
 * dropped silently; over 255 bytes in all: errSecParam [MACOS 11]. A server accepts the call and ignores it:
 * coreTLS's server never answers ALPN. */
OSStatus SSLSetALPNProtocols(SSLContextRef context, CFArrayRef protocols)
{
    dbl_ssl *ctx = get(context);
    unsigned char wire[1024];
    size_t wire_len = 0;
    CFIndex i;
    if (ctx == NULL || protocols == NULL || CFArrayGetCount(protocols) == 0)
        return errSecParam;
    for (i = 0; i < CFArrayGetCount(protocols); i++) {
        CFStringRef name = CFArrayGetValueAtIndex(protocols, i);
        CFIndex len = CFStringGetLength(name);
        char bytes[32];
        if (len <= 32 && CFStringGetCString(name, bytes, 32, kCFStringEncodingASCII)) {
            if (wire_len + 1 + (size_t)len <= sizeof(wire)) {
                wire[wire_len++] = (unsigned char)len;
                memcpy(wire + wire_len, bytes, (size_t)len);
            }
            wire_len += (size_t)len;
        }
    }
    if (wire_len > 255)
        return errSecParam;
    memcpy(ctx->alpn, wire, wire_len);
    ctx->alpn_len = wire_len;
    ctx->alpn_set = 1;
    return errSecSuccess;
}

/* SSLCopyALPNProtocols: the peer's ALPN answer as a +1 array; nothing negotiated: errSecParam and NULL. */
OSStatus SSLCopyALPNProtocols(SSLContextRef context, CFArrayRef *protocolArray)
{
    dbl_ssl *ctx = get(context);
    const unsigned char *selected = NULL;
    unsigned int len = 0;
    CFMutableArrayRef array;
    CFStringRef name;
    if (ctx == NULL || protocolArray == NULL)
        return errSecParam;
    if (ctx->ssl && !ctx->server)
        SSL_get0_alpn_selected(ctx->ssl, &selected, &len);
    if (selected == NULL || len == 0) {
        *protocolArray = NULL;
        return errSecParam;
    }
    array = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    name = CFStringCreateWithBytes(NULL, selected, len, kCFStringEncodingASCII, 0);
    if (name != NULL) {
        CFArrayAppendValue(array, name);
        CFRelease(name);
    }
    *protocolArray = array;
    return errSecSuccess;
}

/* SSLSetError (SecureTransportPriv.h, sslTransport.c): the next SSLHandshake sends an alert only for an expired
 * or revoked certificate, then closes [MACOS 6]. */
OSStatus SSLSetError(SSLContextRef context, OSStatus error)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL)
        return errSecParam;
    ctx->state = ST_OUT_OF_BAND;
    ctx->out_of_band_error = error;
    return errSecSuccess;
}

OSStatus SSLGetSessionState(SSLContextRef context, int32_t *state)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL || state == NULL)
        return errSecParam;
    switch (ctx->state) {
    case ST_UNINIT: *state = kSSLIdle; break;
    case ST_PENDING: *state = kSSLHandshake; break;
    case ST_READY: *state = kSSLConnected; break;
    case ST_GRACEFUL: *state = kSSLClosed; break;
    default: *state = kSSLAborted; break;
    }
    return errSecSuccess;
}

OSStatus SSLGetBufferedReadSize(SSLContextRef context, size_t *bufSize)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL || bufSize == NULL)
        return errSecParam;
    *bufSize = ctx->received ? ctx->received_len - ctx->received_pos : 0;
    return errSecSuccess;
}

/* --- the peer's certificates and trust --- */
static void set_peer_certs_from_session(dbl_ssl *ctx)
{
    STACK_OF(X509) *chain;
    X509 *leaf;
    int i;
    if (ctx->peer_certs != NULL || ctx->ssl == NULL)
        return;
    leaf = SSL_get0_peer_certificate(ctx->ssl);
    if (leaf == NULL)
        return;
    ctx->peer_certs = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    chain = SSL_get_peer_cert_chain(ctx->ssl);      /* a client's includes the leaf, a server's does not */
    if (ctx->server || chain == NULL || sk_X509_num(chain) == 0 || X509_cmp(sk_X509_value(chain, 0), leaf)) {
        dbl_cert *cert = dbl_cert_from_x509(leaf);
        CFArrayAppendValue(ctx->peer_certs, cert);
        CFRelease(cert);
    }
    for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
        dbl_cert *cert = dbl_cert_from_x509(sk_X509_value(chain, i));
        CFArrayAppendValue(ctx->peer_certs, cert);
        CFRelease(cert);
    }
}

/* tls_helper_create_peer_trust: SecPolicyCreateSSL(!isServer, peerDomainName) over the peer's chain; NULL when
 * the peer sent no certificate. */
static SecTrustRef create_peer_trust(dbl_ssl *ctx)
{
    CFStringRef host = NULL;
    SecPolicyRef policy;
    SecTrustRef trust;
    if (ctx->peer_certs == NULL)
        set_peer_certs_from_session(ctx);
    if (ctx->peer_certs == NULL || ctx->peer_certs->count == 0)
        return NULL;
    if (!ctx->server && ctx->peer_name != NULL)
        host = CFStringCreateWithCString(NULL, ctx->peer_name, 0x08000100u);
    policy = SecPolicyCreateSSL(!ctx->server, host);
    trust = dbl_trust_create(ctx->peer_certs, policy);
    CFRelease(policy);
    if (host)
        CFRelease(host);
    return trust;
}

/* OSStatus SSLCopyPeerTrust(SSLContextRef, SecTrustRef *trust): +1 or NULL (no certificate), built lazily so a
 * resumed session has one too (sslContext.c) [MACOS 6]. */
OSStatus SSLCopyPeerTrust(SSLContextRef context, SecTrustRef *trust)
{
    dbl_ssl *ctx = get(context);
    if (ctx == NULL || trust == NULL)
        return errSecParam;
    if (ctx->peer_trust == NULL)
        ctx->peer_trust = create_peer_trust(ctx);
    *trust = ctx->peer_trust;
    if (ctx->peer_trust)
        CFRetain(ctx->peer_trust);
    return errSecSuccess;
}

/* sslVerifyCertChain (sslCrypto.c): a new trust; no chain is a failure on clients and, with kAlwaysAuthenticate,
 * on servers; with enableCertVerify the trust is evaluated (the system's anchors: OpenSSL's default paths). */
static OSStatus verify_cert_chain(dbl_ssl *ctx)
{
    if (ctx->peer_trust) {
        CFRelease(ctx->peer_trust);
        ctx->peer_trust = NULL;
    }
    ctx->peer_trust = create_peer_trust(ctx);
    if (ctx->peer_trust == NULL) {
        if (!ctx->server)
            return errSSLXCertChainInvalid;
        return ctx->client_auth == kAlwaysAuthenticate ? errSSLXCertChainInvalid : errSecSuccess;
    }
    if (!ctx->enable_cert_verify)
        return errSecSuccess;
    return dbl_trust_verify_status(ctx->peer_trust) == errSecSuccess ? errSecSuccess : errSSLXCertChainInvalid;
}

/* --- the write queue [MACOS 2] --- */
static void queue_bytes(dbl_ssl *ctx, const unsigned char *data, size_t len)
{
    if (ctx->queue_len + len > ctx->queue_cap) {
        ctx->queue_cap = (ctx->queue_len + len) * 2;
        ctx->queue = realloc(ctx->queue, ctx->queue_cap);
    }
    memcpy(ctx->queue + ctx->queue_len, data, len);
    ctx->queue_len += len;
}

/* Move OpenSSL's output (whole records) to the write queue, noting our ChangeCipherSpec. */
static void drain(dbl_ssl *ctx)
{
    unsigned char buf[16384];
    int n;
    size_t start = ctx->queue_len, p;
    while ((n = BIO_read(ctx->wbio, buf, sizeof(buf))) > 0)
        queue_bytes(ctx, buf, (size_t)n);
    for (p = start; p + 5 <= ctx->queue_len; p += 5 + ((size_t)ctx->queue[p + 3] << 8 | ctx->queue[p + 4]))
        if (ctx->queue[p] == 20)
            ctx->ccs_queued = 1;
}

/* SSLRecordServiceWriteQueueInternal: each record is offered from where it stopped; written bytes count even
 * when the callback fails; noErr with a short count offers the rest again. */
static OSStatus flush(dbl_ssl *ctx)
{
    while (ctx->queue_off < ctx->queue_len) {
        size_t asked, len;
        OSStatus status;
        if (ctx->queue_off >= ctx->record_end)
            ctx->record_end = ctx->queue_off + 5 +
                              ((size_t)ctx->queue[ctx->queue_off + 3] << 8 | ctx->queue[ctx->queue_off + 4]);
        asked = len = ctx->record_end - ctx->queue_off;
        if (ctx->write_func == NULL)
            return errSecParam;
        status = ctx->write_func(ctx->connection, ctx->queue + ctx->queue_off, &len);
        if (len > asked)
            len = asked;
        ctx->queue_off += len;
        if (status != noErr)
            return status;
    }
    ctx->queue_len = ctx->queue_off = ctx->record_end = 0;
    return errSecSuccess;
}

static void queue_plain_alert(dbl_ssl *ctx, int level, int description)
{
    int version = ctx->ssl && SSL_version(ctx->ssl) >= TLS1_VERSION ? SSL_version(ctx->ssl) : TLS1_VERSION;
    unsigned char alert[7] = {21, (unsigned char)(version >> 8), (unsigned char)version, 0, 2,
                              (unsigned char)level, (unsigned char)description};
    queue_bytes(ctx, alert, sizeof(alert));
}

/* --- the record layer's input [MACOS 1]: SSLRecordReadInternal, line by line --- */
static OSStatus read_record(dbl_ssl *ctx, size_t *record_len)
{
    size_t len, content_len;
    OSStatus status;
    if (ctx->read_func == NULL)
        return errSecParam;
    if (ctx->amount_read < 5) {
        len = 5 - ctx->amount_read;                  /* exactly the header bytes still missing */
        status = ctx->read_func(ctx->connection, ctx->record + ctx->amount_read, &len);
        if (status != noErr) {
            if (status == errSSLWouldBlock)
                ctx->amount_read += len;             /* the partial count is kept */
            else
                status = errSSLClosedAbort;          /* any other error in the header: ClosedAbort */
            return status;
        }
        ctx->amount_read += len;                     /* a short noErr read is trusted: corruption follows */
    }
    content_len = (size_t)ctx->record[3] << 8 | ctx->record[4];
    if (ctx->record[0] & 0x80)
        return errSSLProtocol;                       /* SSL 2 records: not part of the double */
    if (5 + content_len > RECORD_BUFFER)
        return errSSLRecordOverflow;
    if (ctx->amount_read < 5 + content_len) {
        len = 5 + content_len - ctx->amount_read;    /* exactly the rest of this one record */
        status = ctx->read_func(ctx->connection, ctx->record + ctx->amount_read, &len);
        if (status != noErr) {
            if (status == errSSLWouldBlock)
                ctx->amount_read += len;
            return status;                           /* in the body an error passes through (Graceful too) */
        }
        ctx->amount_read += len;
    }
    *record_len = ctx->amount_read;                  /* record.length = amountRead, as Apple's */
    ctx->amount_read = 0;
    return errSecSuccess;
}

/* --- the peer's plaintext handshake messages, scanned for the moments of tls_verify_peer_cert --- */
static void parse_certificate_message(dbl_ssl *ctx, const unsigned char *body, size_t len)
{
    size_t total, p;
    if (ctx->peer_certs)
        CFRelease(ctx->peer_certs);
    ctx->peer_certs = CFArrayCreateMutable(NULL, 0, &kCFTypeArrayCallBacks);
    if (len < 3)
        return;
    total = (size_t)body[0] << 16 | (size_t)body[1] << 8 | body[2];
    if (total + 3 > len)
        return;
    for (p = 3; p + 3 <= 3 + total;) {
        size_t n = (size_t)body[p] << 16 | (size_t)body[p + 1] << 8 | body[p + 2];
        const unsigned char *der = body + p + 3;
        X509 *x509;
        if (p + 3 + n > 3 + total)
            break;
        x509 = d2i_X509(NULL, &der, (long)n);
        if (x509 != NULL) {
            dbl_cert *cert = dbl_cert_from_x509(x509);
            CFArrayAppendValue(ctx->peer_certs, cert);
            CFRelease(cert);
            X509_free(x509);
        }
        p += 3 + n;
    }
    ERR_clear_error();
}

static void scan_handshake(dbl_ssl *ctx, const unsigned char *data, size_t len)
{
    size_t p = 0;
    if (ctx->hs_len + len > ctx->hs_cap) {
        ctx->hs_cap = (ctx->hs_len + len) * 2;
        ctx->hs = realloc(ctx->hs, ctx->hs_cap);
    }
    memcpy(ctx->hs + ctx->hs_len, data, len);
    ctx->hs_len += len;
    while (ctx->hs_len - p >= 4) {
        int type = ctx->hs[p];
        size_t n = (size_t)ctx->hs[p + 1] << 16 | (size_t)ctx->hs[p + 2] << 8 | ctx->hs[p + 3];
        if (ctx->hs_len - p < 4 + n)
            break;
        if (type == 11) {                                   /* Certificate */
            parse_certificate_message(ctx, ctx->hs + p + 4, n);
            if (ctx->server)
                ctx->ev_client_certificate = 1;
        } else if (type == 13 && !ctx->server) {            /* CertificateRequest */
            ctx->ev_cert_request = 1;
        } else if (type == 14 && !ctx->server) {            /* ServerHelloDone */
            ctx->ev_server_hello_done = 1;
        }
        p += 4 + n;
    }
    memmove(ctx->hs, ctx->hs + p, ctx->hs_len - p);
    ctx->hs_len -= p;
}

/* --- errors --- */
static void info_cb(const SSL *ssl, int where, int value)
{
    dbl_ssl *ctx = SSL_get_app_data(ssl);
    if ((where & SSL_CB_READ_ALERT) && (value >> 8) == SSL3_AL_FATAL && ctx != NULL)
        ctx->peer_alert = value & 0xff;
}

/* A fatal alert from the peer -> errSSLPeer* (SecureTransport.h order); our own failures -> errSSL*. */
static OSStatus ssl_failure(dbl_ssl *ctx)
{
    static const struct { int alert; OSStatus code; } alerts[] = {
        {10, -9819}, {20, -9820}, {21, -9821}, {22, -9822}, {30, -9823}, {40, -9824}, {42, -9825}, {43, -9826},
        {44, -9827}, {45, -9828}, {46, -9829}, {47, errSSLIllegalParam}, {48, -9831}, {49, -9832}, {50, -9833},
        {51, -9834}, {60, -9835}, {70, -9836}, {71, -9837}, {80, -9838}, {90, -9839}, {100, -9840},
    };
    unsigned long error = ERR_peek_error();
    size_t i;
    OSStatus status = errSSLProtocol;
    if (ctx->peer_alert >= 0) {
        status = errSSLFatalAlert;
        for (i = 0; i < sizeof(alerts) / sizeof(alerts[0]); i++)
            if (alerts[i].alert == ctx->peer_alert)
                status = alerts[i].code;
    } else if (ERR_GET_LIB(error) == ERR_LIB_SSL) {
        switch (ERR_GET_REASON(error)) {
        case SSL_R_NO_SHARED_CIPHER:
        case SSL_R_UNSUPPORTED_PROTOCOL:
        case SSL_R_WRONG_VERSION_NUMBER:
        case SSL_R_VERSION_TOO_LOW:
        case SSL_R_VERSION_TOO_HIGH:
        case SSL_R_NO_PROTOCOLS_AVAILABLE:
        case SSL_R_NO_CIPHERS_AVAILABLE:
            status = errSSLNegotiation;
            break;
        case SSL_R_DECRYPTION_FAILED_OR_BAD_RECORD_MAC:
            status = errSSLBadRecordMac;
            break;
        default:
            break;
        }
    }
    if (getenv("NATIVETLS_DOUBLE_DEBUG"))
        ERR_print_errors_fp(stderr);
    ERR_clear_error();
    /* the alert OpenSSL wrote goes to the queue and is offered once (coreTLS queues its alert the same way) */
    drain(ctx);
    flush(ctx);
    ctx->state = ST_ERROR;
    return status;
}

/* The handshake failed on trust that was not the caller's to check: an alert, then errSSLXCertChainInvalid. */
static OSStatus trust_failed(dbl_ssl *ctx)
{
    OSStatus status = ctx->trust_failure;
    (void)BIO_reset(ctx->wbio);
    queue_plain_alert(ctx, 2, 42);     /* bad_certificate */
    flush(ctx);
    ctx->state = ST_ERROR;
    return status;
}

/* --- the handshake driver --- */
static int client_cert_cb(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
    dbl_ssl *ctx = SSL_get_app_data(ssl);
    dbl_identity *identity;
    if (ctx == NULL)
        return 0;
    if (ctx->n_breaks > 0)
        return -1;       /* a break is pending: the certificate is chosen after it (tls_handshake_continue) */
    if (ctx->local_certs == NULL)
        return 0;        /* an empty Certificate message */
    identity = (dbl_identity *)ctx->local_certs->values[0];
    X509_up_ref(identity->cert->x509);
    EVP_PKEY_up_ref(identity->key->pkey);
    *x509 = identity->cert->x509;
    *pkey = identity->key->pkey;
    return 1;
}

static OSStatus create_ssl(dbl_ssl *ctx)
{
    char list[4096] = "";
    size_t i;
    ctx->ssl = SSL_new(ctx->server ? server_ctx : client_ctx);
    ctx->rbio = BIO_new(BIO_s_mem());
    ctx->wbio = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(ctx->rbio, -1);
    SSL_set_bio(ctx->ssl, ctx->rbio, ctx->wbio);
    SSL_set_app_data(ctx->ssl, ctx);
    SSL_set_info_callback(ctx->ssl, info_cb);
    SSL_set_min_proto_version(ctx->ssl, ctx->version_min < TLS1_VERSION ? TLS1_VERSION : ctx->version_min);
    SSL_set_max_proto_version(ctx->ssl, ctx->version_max);
    if (ctx->enabled) {
        for (i = 0; i < ctx->n_enabled; i++) {
            unsigned char id[2] = {(unsigned char)(ctx->enabled[i] >> 8), (unsigned char)ctx->enabled[i]};
            const SSL_CIPHER *cipher = SSL_CIPHER_find(ctx->ssl, id);
            if (cipher != NULL && strlen(list) + strlen(SSL_CIPHER_get_name(cipher)) + 16 < sizeof(list)) {
                strcat(list, SSL_CIPHER_get_name(cipher));
                strcat(list, ":");
            }
        }
        strcat(list, "@SECLEVEL=0");
        SSL_set_cipher_list(ctx->ssl, list);
    } else {
        SSL_set_cipher_list(ctx->ssl, CIPHERS);
    }
    if (ctx->tickets)
        SSL_clear_options(ctx->ssl, SSL_OP_NO_TICKET);
    apply_local_certs(ctx);
    if (ctx->server) {
        unsigned char sid_ctx[2 + CONFIG_KEY_LEN] = {'s', 't'};
        config_key(ctx, sid_ctx + 2);
        SSL_set_session_id_context(ctx->ssl, sid_ctx, sizeof(sid_ctx));
        if (ctx->client_auth != kNeverAuthenticate)
            SSL_set_verify(ctx->ssl, SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE, accept_any);
        SSL_set_accept_state(ctx->ssl);
    } else {
        if (ctx->peer_name && ctx->peer_name[0])
            SSL_set_tlsext_host_name(ctx->ssl, ctx->peer_name);
        if (ctx->alpn_set && ctx->alpn_len)
            SSL_set_alpn_protos(ctx->ssl, ctx->alpn, (unsigned int)ctx->alpn_len);
        if (ctx->peer_id) {
            size_t key_len;
            unsigned char *key = client_cache_key(ctx, &key_len);
            SSL_SESSION *session = cache_lookup(key, key_len);
            free(key);
            if (session) {
                SSL_set_session(ctx->ssl, session);
                SSL_SESSION_free(session);
            }
        }
        SSL_set_connect_state(ctx->ssl);
    }
    ERR_clear_error();
    return errSecSuccess;
}

/* One SSL_do_handshake over what OpenSSL has; its output is queued unless a break holds it. */
static OSStatus run_openssl(dbl_ssl *ctx)
{
    int r, error;
    if (ctx->ready)
        return errSecSuccess;
    r = SSL_do_handshake(ctx->ssl);
    if (r == 1) {
        ctx->ready = 1;
        ctx->state = ST_READY;
        if (!ctx->server && ctx->peer_id && !SSL_session_reused(ctx->ssl)) {
            SSL_SESSION *session = SSL_get1_session(ctx->ssl);
            if (session && SSL_SESSION_is_resumable(session)) {
                size_t key_len;
                unsigned char *key = client_cache_key(ctx, &key_len);
                cache_store(key, key_len, session);
                free(key);
            } else if (session) {
                SSL_SESSION_free(session);
            }
        } else if (!ctx->server && ctx->peer_id) {
            dbl_lock();
            cache_hits++;
            dbl_unlock();
        }
    } else {
        error = SSL_get_error(ctx->ssl, r);
        if (error == SSL_ERROR_ZERO_RETURN) {
            ctx->state = ST_GRACEFUL;
            ERR_clear_error();
            return errSSLClosedGraceful;
        }
        if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_X509_LOOKUP)
            return ssl_failure(ctx);
    }
    ERR_clear_error();
    if (!ctx->held)
        drain(ctx);
    return errSecSuccess;
}

static OSStatus pop_break(dbl_ssl *ctx)
{
    OSStatus status = ctx->breaks[0];
    memmove(ctx->breaks, ctx->breaks + 1, sizeof(ctx->breaks) - sizeof(ctx->breaks[0]));
    ctx->n_breaks--;
    return status;
}

/* tls_handshake_process for one handshake-phase record: the breaks of tlsCallbacks.c decided at the messages
 * the record holds, OpenSSL run over it. */
static OSStatus process_handshake_record(dbl_ssl *ctx, size_t len)
{
    OSStatus status;
    ctx->ev_cert_request = ctx->ev_server_hello_done = ctx->ev_client_certificate = 0;
    if (!ctx->peer_ccs) {
        if (ctx->record[0] == 20)
            ctx->peer_ccs = 1;
        else if (ctx->record[0] == 22 && len > 5)
            scan_handshake(ctx, ctx->record + 5, len - 5);
    }
    /* certificate_request: break only with BreakOnCertRequested and no certificate set [MACOS 7] */
    if (ctx->ev_cert_request && ctx->break_cert_requested && ctx->local_certs == NULL)
        ctx->breaks[ctx->n_breaks++] = errSSLClientCertRequested;
    /* server_hello_done (client) / certificate (server): tls_verify_peer_cert [MACOS 6, 7] */
    if (ctx->ev_server_hello_done || ctx->ev_client_certificate) {
        ctx->trust_failure = verify_cert_chain(ctx);
        if (ctx->server ? ctx->break_client_auth : (ctx->peer_trust != NULL && ctx->break_server_auth))
            ctx->breaks[ctx->n_breaks++] = errSSLPeerAuthCompleted;
    }
    if (ctx->n_breaks > 0)
        ctx->held = 1;
    BIO_write(ctx->rbio, ctx->record, (int)len);
    status = run_openssl(ctx);
    if (status != errSecSuccess)
        return status;
    if (ctx->n_breaks > 0)
        return pop_break(ctx);
    if (ctx->trust_failure)
        return trust_failed(ctx);
    return errSecSuccess;
}

/* SSLHandshakeProceed: continue after a break, service the write queue, read one record, process it. */
static OSStatus proceed(dbl_ssl *ctx)
{
    OSStatus status;
    size_t len;
    if (ctx->n_breaks > 0)
        return pop_break(ctx);            /* the next break of the same flight */
    if (ctx->held) {                      /* tls_handshake_continue */
        ctx->held = 0;
        if (ctx->trust_failure)
            return trust_failed(ctx);
        status = run_openssl(ctx);
        if (status != errSecSuccess)
            return status;
        drain(ctx);
        if (ctx->ready)
            return flush(ctx);
    }
    if ((status = flush(ctx)) != errSecSuccess)
        return status;
    if ((status = read_record(ctx, &len)) != errSecSuccess)
        return status;
    if (!ctx->ready)
        return process_handshake_record(ctx, len);
    /* SSLHandshake called again after success [MACOS 5]: the record goes to the handshake layer, which
     * takes application data for a protocol error (the data are lost) */
    BIO_write(ctx->rbio, ctx->record, (int)len);
    if (ctx->record[0] == 23) {
        unsigned char sink[16384];
        (void)SSL_read(ctx->ssl, sink, sizeof(sink));
        ERR_clear_error();
        return errSSLProtocol;
    }
    return errSecSuccess;
}

OSStatus SSLClose(SSLContextRef context);

/* SSLHandshake (sslTransport.c) */
OSStatus SSLHandshake(SSLContextRef context)
{
    dbl_ssl *ctx = get(context);
    OSStatus status;
    if (ctx == NULL)
        return errSecParam;
    if (ctx->state == ST_GRACEFUL)
        return errSSLClosedGraceful;
    if (ctx->state == ST_ERROR)
        return errSSLClosedAbort;
    if (ctx->state == ST_UNINIT) {
        if (ctx->server && ctx->local_certs == NULL)
            return errSSLBadConfiguration;
        create_ssl(ctx);
        ctx->state = ST_PENDING;
        if (!ctx->server && (status = run_openssl(ctx)) != errSecSuccess)   /* SSLHandshakeStart: ClientHello */
            return status;
    }
    if (ctx->state == ST_OUT_OF_BAND) {
        ctx->state = ctx->ready ? ST_READY : ST_PENDING;
        if (ctx->out_of_band_error == errSecCertificateExpired || ctx->out_of_band_error == -67820) {
            (void)BIO_reset(ctx->wbio);
            ctx->held = 0;
            ctx->n_breaks = 0;
            queue_plain_alert(ctx, 2, ctx->out_of_band_error == errSecCertificateExpired ? 45 : 44);
            return SSLClose(context);
        }
    }
    do {
        status = proceed(ctx);
        if (status != errSecSuccess && status != errSSLUnexpectedRecord)
            return status;
    } while (!ctx->ready);
    return flush(ctx);                     /* one more flush at completion */
}

/* SSLWrite [MACOS 3]: *processed is the full length once the data are queued, before the flush. */
OSStatus SSLWrite(SSLContextRef context, const void *data, size_t dataLength, size_t *processed)
{
    dbl_ssl *ctx = get(context);
    OSStatus status;
    if (ctx == NULL || processed == NULL)
        return errSecParam;
    *processed = 0;
    switch (ctx->state) {
    case ST_GRACEFUL: return errSSLClosedGraceful;
    case ST_ERROR: case ST_OUT_OF_BAND: return errSSLClosedAbort;
    case ST_UNINIT: return errSecBadReq;
    default: break;
    }
    while (!ctx->ready)
        if ((status = proceed(ctx)) != errSecSuccess)
            goto exit;
    if ((status = flush(ctx)) != errSecSuccess)
        return status;                     /* nothing queued: processed 0, the same data again */
    if (dataLength) {
        if (SSL_write(ctx->ssl, data, (int)dataLength) <= 0) {
            status = ssl_failure(ctx);
            goto exit;
        }
        drain(ctx);
    }
    *processed = dataLength;
    status = flush(ctx);
exit:
    switch (status) {
    case errSecSuccess: case errSSLWouldBlock: case errSSLUnexpectedRecord: case errSSLPeerAuthCompleted:
    case errSSLClientCertRequested: case -9851: case errSSLClosedGraceful:
        break;
    default:
        ctx->state = ST_ERROR;
    }
    return status;
}

static void keep_received(dbl_ssl *ctx, const unsigned char *data, size_t len)
{
    ctx->received = malloc(len);
    memcpy(ctx->received, data, len);
    ctx->received_len = len;
    ctx->received_pos = 0;
}

/* SSLRead [MACOS 4], as sslTransport.c. */
OSStatus SSLRead(SSLContextRef context, void *data, size_t dataLength, size_t *processed)
{
    dbl_ssl *ctx = get(context);
    unsigned char plain[16384 + 256];
    unsigned char *out = data;
    size_t remaining, count, len;
    OSStatus status;
    int n, error;
    if (ctx == NULL || data == NULL || processed == NULL)
        return errSecParam;
    *processed = 0;
read_retry:
    switch (ctx->state) {
    case ST_GRACEFUL: return errSSLClosedGraceful;
    case ST_ERROR: case ST_OUT_OF_BAND: return errSSLClosedAbort;
    case ST_UNINIT: return errSecBadReq;     /* Apple would start reading a handshake here; nobody should */
    default: break;
    }
    while (!ctx->ready)
        if ((status = proceed(ctx)) != errSecSuccess)
            goto exit;
    if ((status = flush(ctx)) != errSecSuccess && status != errSSLWouldBlock)
        goto exit;
    remaining = dataLength - *processed;
    if (ctx->received) {                     /* buffered plaintext first */
        count = ctx->received_len - ctx->received_pos;
        if (count > remaining)
            count = remaining;
        memcpy(out + *processed, ctx->received + ctx->received_pos, count);
        *processed += count;
        remaining -= count;
        ctx->received_pos += count;
        if (ctx->received_pos >= ctx->received_len) {
            free(ctx->received);
            ctx->received = NULL;
            ctx->received_len = ctx->received_pos = 0;
        }
    }
    if (remaining > 0 && ctx->state != ST_GRACEFUL) {   /* at most one more record */
        if ((status = read_record(ctx, &len)) != errSecSuccess)
            goto exit;
        BIO_write(ctx->rbio, ctx->record, (int)len);
        n = SSL_read(ctx->ssl, plain, sizeof(plain));
        if (n > 0) {
            if ((size_t)n <= remaining) {
                memcpy(out + *processed, plain, (size_t)n);
                *processed += (size_t)n;
            } else {
                memcpy(out + *processed, plain, remaining);
                *processed += remaining;
                keep_received(ctx, plain + remaining, (size_t)n - remaining);
            }
        } else {
            error = SSL_get_error(ctx->ssl, n);
            if (error == SSL_ERROR_ZERO_RETURN) {
                ERR_clear_error();
                SSLClose(context);            /* the peer's close_notify is answered by SSLClose itself */
            } else if (error != SSL_ERROR_WANT_READ) {
                status = ssl_failure(ctx);
                goto exit;
            }
            ERR_clear_error();
            drain(ctx);                       /* a warning alert or handshake message may have an answer */
        }
    }
    status = errSecSuccess;
exit:
    if ((status == errSecSuccess && *processed == 0 && dataLength) || status == errSSLUnexpectedRecord)
        goto read_retry;                      /* non-application records are skipped */
    switch (status) {
    case errSecSuccess: case errSSLWouldBlock: case errSSLUnexpectedRecord: case errSSLPeerAuthCompleted:
    case errSSLClientCertRequested: case -9851: case errSSLClosedGraceful: case errSSLClosedNoNotify:
        break;
    default:
        ctx->state = ST_ERROR;
    }
    return status;
}

/* SSLClose [MACOS 8]: close_notify queued and flushed, errSecIO ignored, the state is closed whatever happens.
 * During a break OpenSSL's held answer was never offered: it is dropped and the alert goes in clear text. */
OSStatus SSLClose(SSLContextRef context)
{
    dbl_ssl *ctx = get(context);
    OSStatus status = errSecSuccess;
    if (ctx == NULL)
        return errSecParam;
    if (ctx->ssl != NULL) {
        if (ctx->held || ctx->n_breaks) {
            (void)BIO_reset(ctx->wbio);
            ctx->held = 0;
            ctx->n_breaks = 0;
        }
        if (ctx->ready && ctx->state != ST_ERROR) {
            SSL_shutdown(ctx->ssl);
            ERR_clear_error();
            drain(ctx);
        } else if (!ctx->ccs_queued) {
            queue_plain_alert(ctx, 1, 0);
        }
        status = flush(ctx);
    }
    ctx->state = ST_GRACEFUL;
    if (status == errSecIO)
        status = errSecSuccess;
    return status;
}
