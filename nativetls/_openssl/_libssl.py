# -*- coding: utf-8 -*-
"""Raw declarations for libcrypto and libssl: finding the libraries, constants, and prototype tables.

Nothing here allocates or calls into OpenSSL beyond reading the version; ``_lowlevel`` binds the tables (with
their failure checks) and owns the handles. Supported: OpenSSL 1.0.2, 1.1.0, 1.1.1 and 3.x. The version is read
as a number (``OpenSSL_version_num``, ``SSLeay`` before 1.1.0), never parsed out of the version string.

Each prototype row is ``(name, restype, argtypes, check, note)``. ``check`` names the failure test that
``_lowlevel`` attaches as ``errcheck`` ("ptr": NULL fails, "one": anything but 1 fails, "pos": <= 0 fails, None:
the function cannot fail, or its result is interpreted at the call site on purpose). Rows in ``*_OPTIONAL``
tables may be absent from the loaded library; their absence turns off a feature (``HAS_*``) instead of failing.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
import ctypes.util
import os
import sys
from ctypes import (CFUNCTYPE, POINTER, c_char_p, c_int, c_long, c_size_t, c_uint, c_uint16, c_uint64,
                    c_ulong, c_void_p)

__all__ = ["load_libraries", "LIBSSL_CANDIDATES"]

# --- Constants (ssl.h, tls1.h, ssl3.h, prov_ssl.h, bio.h, x509.h, x509_vfy.h, x509v3.h, err.h, sslerr.h).
# Values are the same in 1.0.2-3.x unless a note says otherwise; tests/test_openssl_decls.py compares them with
# the installed headers.
SSL3_VERSION = 0x0300
TLS1_VERSION = 0x0301
TLS1_1_VERSION = 0x0302
TLS1_2_VERSION = 0x0303
TLS1_3_VERSION = 0x0304  # 1.1.1+

SSL_ERROR_NONE = 0
SSL_ERROR_SSL = 1
SSL_ERROR_WANT_READ = 2
SSL_ERROR_WANT_WRITE = 3
SSL_ERROR_SYSCALL = 5
SSL_ERROR_ZERO_RETURN = 6

SSL_OP_NO_TICKET = 0x00004000
SSL_OP_NO_COMPRESSION = 0x00020000
SSL_OP_CIPHER_SERVER_PREFERENCE = 0x00400000
SSL_OP_NO_SSLv2 = 0x01000000  # 1.0.2 only (0 in 1.1.0+, where SSLv2 is gone)
SSL_OP_NO_SSLv3 = 0x02000000
SSL_OP_NO_TLSv1 = 0x04000000
SSL_OP_NO_TLSv1_2 = 0x08000000
SSL_OP_NO_TLSv1_1 = 0x10000000
SSL_OP_NO_TLSv1_3 = 0x20000000  # 1.1.1+
SSL_OP_NO_RENEGOTIATION = 0x40000000  # 1.1.0h+ (ignored before); 1.0.2 refuses through the info callback

SSL_CB_HANDSHAKE_START = 0x10  # info callback "where": a handshake (the first, or a renegotiation) begins

SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = 0x2
SSL_MODE_AUTO_RETRY = 0x4
SSL_MODE_RELEASE_BUFFERS = 0x10

SSL_VERIFY_NONE = 0x00
SSL_VERIFY_PEER = 0x01
SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 0x02

SSL_SESS_CACHE_CLIENT = 0x0001
SSL_SESS_CACHE_SERVER = 0x0002
SSL_SESS_CACHE_NO_INTERNAL_STORE = 0x0200

SSL_SENT_SHUTDOWN = 1
SSL_RECEIVED_SHUTDOWN = 2

SSL_CTRL_GET_SESSION_REUSED = 8  # SSL_session_reused is a macro over SSL_ctrl before 1.1.0
SSL_CTRL_OPTIONS = 32  # SSL_CTX_set_options is a macro over SSL_CTX_ctrl before 1.1.0
SSL_CTRL_MODE = 33
SSL_CTRL_SET_SESS_CACHE_MODE = 44
SSL_CTRL_SET_TLSEXT_SERVERNAME_CB = 53
SSL_CTRL_SET_TLSEXT_SERVERNAME_ARG = 54
SSL_CTRL_SET_TLSEXT_HOSTNAME = 55
SSL_CTRL_SET_TLSEXT_TICKET_KEY_CB = 72
SSL_CTRL_CLEAR_MODE = 78  # SSL_clear_mode is a macro over SSL_ctrl
SSL_CTRL_CHAIN_CERT = 89  # 1.0.2+
SSL_CTRL_SET_GROUPS_LIST = 92  # called SSL_CTRL_SET_CURVES_LIST in 1.0.2, same value
SSL_CTRL_SET_ECDH_AUTO = 94  # 1.0.2 only; automatic in 1.1.0+
SSL_CTRL_SET_MIN_PROTO_VERSION = 123  # 1.1.0+
SSL_CTRL_SET_MAX_PROTO_VERSION = 124  # 1.1.0+
SSL_CTRL_GET_NEGOTIATED_GROUP = 134  # 3.0+: SSL_get_negotiated_group(s) is SSL_ctrl(s, 134, 0, NULL), a NID

TLSEXT_NAMETYPE_host_name = 0
SSL_TLSEXT_ERR_OK = 0
SSL_TLSEXT_ERR_ALERT_FATAL = 2
SSL_TLSEXT_ERR_NOACK = 3
SSL_AD_HANDSHAKE_FAILURE = 40
SSL_AD_INTERNAL_ERROR = 80
SSL_AD_UNRECOGNIZED_NAME = 112

BIO_CTRL_INFO = 3  # BIO_get_mem_data(b, pp) is BIO_ctrl(b, BIO_CTRL_INFO, 0, pp)
BIO_C_SET_BUF_MEM_EOF_RETURN = 130  # BIO_set_mem_eof_return(b, v)

X509_PURPOSE_SSL_CLIENT = 1
X509_PURPOSE_SSL_SERVER = 2
X509_V_FLAG_CRL_CHECK = 0x4
X509_V_FLAG_CRL_CHECK_ALL = 0x8
X509_V_FLAG_X509_STRICT = 0x20
X509_V_FLAG_PARTIAL_CHAIN = 0x80000
X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS = 0x4
X509_CHECK_FLAG_NEVER_CHECK_SUBJECT = 0x20

ERR_LIB_SSL = 20
SSL_R_UNEXPECTED_EOF_WHILE_READING = 294  # 3.0+: a TCP close without close_notify
SSL_R_WRONG_VERSION_NUMBER = 267
SSL_R_UNKNOWN_PROTOCOL = 252  # 1.0.2's ssl23_get_client_hello: not TLS at all, or no version this server accepts

# X509_V_ERR_* values that are the same from 1.0.2 to 3.x (x509_vfy.h). Codes above 23 moved between releases
# (3.0 renumbered X509_V_ERR_INVALID_CA from 24 to 79), so the reason mapping uses only stable codes plus the
# version-dependent ones computed in _verify.py.
X509_V_OK = 0
X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT = 2
X509_V_ERR_UNABLE_TO_GET_CRL = 3
X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE = 4
X509_V_ERR_CERT_SIGNATURE_FAILURE = 7
X509_V_ERR_CERT_NOT_YET_VALID = 9
X509_V_ERR_CERT_HAS_EXPIRED = 10
X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT = 18
X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN = 19
X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21
X509_V_ERR_CERT_REVOKED = 23
X509_V_ERR_INVALID_PURPOSE = 26
X509_V_ERR_CERT_UNTRUSTED = 27
X509_V_ERR_CERT_REJECTED = 28
X509_V_ERR_HOSTNAME_MISMATCH = 62  # 1.0.2+
X509_V_ERR_EMPTY_SUBJECT_ALT_NAME = 87  # 3.0+; nativetls sets it itself before 3.0 (_verify.policy_error)
X509_V_ERR_EMAIL_MISMATCH = 63
X509_V_ERR_IP_ADDRESS_MISMATCH = 64
X509_V_ERR_EE_KEY_TOO_SMALL = 66  # 1.1.0+
X509_V_ERR_CA_KEY_TOO_SMALL = 67
X509_V_ERR_CA_MD_TOO_WEAK = 68

# --- Callback types. The CFUNCTYPE objects made from them are kept alive by _lowlevel for the life of the
# process (module globals), since native code may call them at any time.
SERVERNAME_CB = CFUNCTYPE(c_int, c_void_p, POINTER(c_int), c_void_p)
ALPN_SELECT_CB = CFUNCTYPE(c_int, c_void_p, POINTER(c_void_p), POINTER(ctypes.c_ubyte), c_void_p, c_uint, c_void_p)
KEYLOG_CB = CFUNCTYPE(None, c_void_p, c_char_p)
VERIFY_CB = CFUNCTYPE(c_int, c_int, c_void_p)  # int (*)(int preverify_ok, X509_STORE_CTX *)
GENERIC_CB = CFUNCTYPE(None)
INFO_CB = CFUNCTYPE(None, c_void_p, c_int, c_int)  # void (*)(const SSL *, int where, int ret)

_P = c_void_p  # every OpenSSL object pointer is opaque here
_PP = POINTER(c_void_p)

# --- libcrypto prototypes (crypto.h, err.h, bio.h, x509.h, x509_vfy.h, x509v3.h, pem.h, evp.h, stack.h)
CRYPTO_REQUIRED = [
    # err.h: the per-thread error queue. ERR_get_error cannot fail; 0 means "queue empty".
    ("ERR_get_error", c_ulong, [], None, ""),
    ("ERR_peek_error", c_ulong, [], None, ""),
    ("ERR_clear_error", None, [], None, ""),
    ("ERR_error_string_n", None, [c_ulong, c_char_p, c_size_t], None, ""),
    ("ERR_reason_error_string", c_char_p, [c_ulong], None, "NULL for unknown codes"),
    # bio.h
    ("BIO_s_mem", _P, [], "ptr", "const BIO_METHOD* since 1.1.0"),
    ("BIO_new", _P, [_P], "ptr", ""),
    ("BIO_new_mem_buf", _P, [c_void_p, c_int], "ptr", "read-only BIO over our bytes"),
    ("BIO_free", c_int, [_P], None, ""),
    ("BIO_read", c_int, [_P, c_void_p, c_int], None, "<= 0: nothing (caller checks)"),
    ("BIO_write", c_int, [_P, c_void_p, c_int], None, "memory BIOs take everything (caller checks)"),
    ("BIO_ctrl", c_long, [_P, c_int, c_long, c_void_p], None, "meaning depends on the command"),
    ("BIO_ctrl_pending", c_size_t, [_P], None, ""),
    # x509.h
    ("d2i_X509", _P, [_PP, _PP, c_long], "ptr", ""),
    ("i2d_X509", c_int, [_P, _PP], "pos", ""),
    ("X509_free", None, [_P], None, ""),
    ("d2i_X509_CRL", _P, [_PP, _PP, c_long], "ptr", ""),
    ("X509_CRL_free", None, [_P], None, ""),
    ("X509_get_default_cert_file", c_char_p, [], None, ""),
    ("X509_get_default_cert_dir", c_char_p, [], None, ""),
    ("X509_get_default_cert_file_env", c_char_p, [], None, ""),
    ("X509_get_default_cert_dir_env", c_char_p, [], None, ""),
    # x509_vfy.h
    ("X509_STORE_add_cert", c_int, [_P, _P], "one", ""),
    ("X509_STORE_add_crl", c_int, [_P, _P], "one", ""),
    ("X509_STORE_set_flags", c_int, [_P, c_ulong], "one", ""),
    ("X509_VERIFY_PARAM_set_flags", c_int, [_P, c_ulong], "one", ""),
    ("X509_VERIFY_PARAM_clear_flags", c_int, [_P, c_ulong], "one", "contrib: verify_flags without X509_STRICT"),
    ("X509_VERIFY_PARAM_set_purpose", c_int, [_P, c_int], "one", ""),
    ("X509_VERIFY_PARAM_set1_host", c_int, [_P, c_char_p, c_size_t], "one", "1.0.2+"),
    ("X509_VERIFY_PARAM_set1_ip_asc", c_int, [_P, c_char_p], "one", "1.0.2+"),
    ("X509_VERIFY_PARAM_set_hostflags", None, [_P, c_uint], None, "1.0.2+"),
    ("X509_verify_cert_error_string", c_char_p, [c_long], None, ""),
    ("X509_STORE_CTX_get_current_cert", _P, [_P], None, "borrowed; NULL when no certificate is at fault"),
    ("X509_STORE_CTX_get_ex_data", _P, [_P, c_int], None, ""),
    ("X509_STORE_CTX_set_error", None, [_P, c_int], None, "1.0.2's own policy checks (_verify.policy_error)"),
    ("X509_STORE_CTX_get_error_depth", c_int, [_P], None, "0: the peer's own certificate"),
    # pem.h / evp.h: with cb NULL, u is the NUL-terminated passphrase (we always pass one, never NULL, so
    # OpenSSL never prompts on the terminal).
    ("PEM_read_bio_PrivateKey", _P, [_P, _PP, c_void_p, c_char_p], "ptr", ""),
    ("EVP_PKEY_free", None, [_P], None, ""),
    # pkcs12.h (SigningChain.from_pkcs12). PKCS12_parse returns the key, the certificate matching it and the
    # other certificates (a new STACK_OF(X509), owned by the caller); with pass NULL or "" it tries both itself.
    ("d2i_PKCS12", _P, [_PP, _PP, c_long], None, "NULL: not a PKCS#12 structure (caller words the error)"),
    ("PKCS12_free", None, [_P], None, ""),
    ("PKCS12_verify_mac", c_int, [_P, c_char_p, c_int], None, "1: the password verifies the MAC (caller checks)"),
    ("PKCS12_parse", c_int, [_P, c_char_p, _PP, _PP, _PP], None, "0: see the error queue (caller words it)"),
    # unencrypted PKCS#8 PEM (enc NULL): how a key read from PKCS#12 becomes a PrivateKey
    ("PEM_write_bio_PKCS8PrivateKey", c_int, [_P, _P, _P, c_char_p, c_int, c_void_p, c_void_p], "one", ""),
    # objects.h
    ("OBJ_nid2sn", c_char_p, [c_int], None, "NULL for an unknown NID"),
]

CRYPTO_OPTIONAL = [
    # (name, restype, argtypes, check, note); absence turns a feature off.
    ("PKCS12_mac_present", c_int, [_P], None, "1.1.0+; before it, a MAC is assumed (PKCS12_verify_mac decides)"),
    # OpenSSL 3 moved RC2, RC4, DES and friends into the "legacy" provider, which is not loaded by default: a
    # PKCS#12 file encrypted the old way (openssl pkcs12 -legacy, Windows before 10 1709, Java before 11...) cannot
    # be decrypted without it. It is loaded into a library context of our own (never the process-wide one, which
    # the stdlib ssl module shares), made this thread's default only around PKCS12_parse.
    ("OSSL_LIB_CTX_new", _P, [], "ptr", "3.0+"),
    ("OSSL_LIB_CTX_free", None, [_P], None, "3.0+; also unloads the providers loaded into it"),
    ("OSSL_LIB_CTX_set0_default", _P, [_P], None, "3.0+; per thread; returns the previous default"),
    ("OSSL_PROVIDER_load", _P, [_P, c_char_p], None, "3.0+; NULL: the provider module cannot be loaded"),
]

# Stack accessors were renamed in 1.1.0 (sk_* became OPENSSL_sk_* functions behind macros).
CRYPTO_STACK_110 = [
    ("OPENSSL_sk_num", c_int, [_P], None, "1.1.0+; -1 for NULL"),
    ("OPENSSL_sk_value", _P, [_P, c_int], None, "1.1.0+"),
    ("OPENSSL_sk_free", None, [_P], None, "1.1.0+; frees the stack, not its items"),
]
CRYPTO_STACK_102 = [
    ("sk_num", c_int, [_P], None, "before 1.1.0"),
    ("sk_value", _P, [_P, c_int], None, "before 1.1.0"),
    ("sk_free", None, [_P], None, "before 1.1.0"),
]

# Before 1.1.0 libcrypto is thread-safe only with a locking callback (crypto.h). 1.1.0+ keep the names as no-op
# macros, so these are bound for 1.0.2 only. The thread id defaults to the address of errno: per thread on glibc.
CRYPTO_LOCK = 1
LOCKING_CB = CFUNCTYPE(None, c_int, c_int, c_char_p, c_int)  # void (*)(int mode, int n, const char *file, int line)
CRYPTO_LOCKING_102 = [
    ("CRYPTO_num_locks", c_int, [], None, "before 1.1.0"),
    ("CRYPTO_get_locking_callback", c_void_p, [], None, "before 1.1.0; NULL when none is installed"),
    ("CRYPTO_set_locking_callback", None, [LOCKING_CB], None, "before 1.1.0"),
]

# --- libssl prototypes (ssl.h)
SSL_REQUIRED = [
    ("SSL_CTX_new", _P, [_P], "ptr", ""),
    ("SSL_CTX_free", None, [_P], None, ""),
    ("SSL_CTX_ctrl", c_long, [_P, c_int, c_long, c_void_p], None, "meaning depends on the command"),
    ("SSL_CTX_callback_ctrl", c_long, [_P, c_int, GENERIC_CB], None, ""),
    ("SSL_CTX_set_cipher_list", c_int, [_P, c_char_p], None, "0: no cipher matched (caller words the error)"),
    ("SSL_CTX_set_verify", None, [_P, c_int, c_void_p], None, ""),
    ("SSL_get_ex_data_X509_STORE_CTX_idx", c_int, [], None, "where a verify callback finds its SSL*"),
    ("SSL_CTX_get_cert_store", _P, [_P], None, "never NULL for a live SSL_CTX"),
    ("SSL_CTX_set_default_verify_paths", c_int, [_P], "one", ""),
    ("SSL_CTX_load_verify_locations", c_int, [_P, c_char_p, c_char_p], None, "0: nothing loaded (caller decides)"),
    ("SSL_CTX_use_certificate", c_int, [_P, _P], "one", ""),
    ("SSL_CTX_use_PrivateKey", c_int, [_P, _P], "one", ""),
    ("SSL_CTX_check_private_key", c_int, [_P], "one", ""),
    ("SSL_CTX_set_session_id_context", c_int, [_P, c_char_p, c_uint], "one", ""),
    ("SSL_CTX_get0_param", _P, [_P], None, "1.0.2+"),
    ("SSL_CTX_set_alpn_protos", c_int, [_P, c_char_p, c_uint], None, "1.0.2+; returns 0 on SUCCESS"),
    ("SSL_CTX_set_alpn_select_cb", None, [_P, ALPN_SELECT_CB, c_void_p], None, "1.0.2+"),
    ("SSL_CTX_set_info_callback", None, [_P, INFO_CB], None,
     "installed only where SSL_OP_NO_RENEGOTIATION is missing (before 1.1.0h): refuses renegotiation"),
    ("SSL_new", _P, [_P], "ptr", ""),
    ("SSL_free", None, [_P], None, "also frees the BIOs given to SSL_set_bio"),
    ("SSL_set_bio", None, [_P, _P, _P], None, ""),
    ("SSL_set_fd", c_int, [_P, c_int], None, "a socket BIO (BIO_NOCLOSE) for both directions; 0 on failure"),
    ("SSL_set_connect_state", None, [_P], None, ""),
    ("SSL_set_accept_state", None, [_P], None, ""),
    ("SSL_do_handshake", c_int, [_P], None, "<= 0: see SSL_get_error"),
    ("SSL_read", c_int, [_P, c_void_p, c_int], None, "<= 0: see SSL_get_error"),
    ("SSL_write", c_int, [_P, c_void_p, c_int], None, "<= 0: see SSL_get_error"),
    ("SSL_shutdown", c_int, [_P], None, "0: sent, 1: both done, < 0: see SSL_get_error"),
    ("SSL_get_error", c_int, [_P, c_int], None, ""),
    ("SSL_get_shutdown", c_int, [_P], None, ""),
    ("SSL_pending", c_int, [_P], None, ""),
    ("SSL_ctrl", c_long, [_P, c_int, c_long, c_void_p], None, "meaning depends on the command"),
    ("SSL_get0_param", _P, [_P], None, "1.0.2+"),
    ("SSL_get_verify_result", c_long, [_P], None, ""),
    ("SSL_get_current_cipher", _P, [_P], None, "NULL before the handshake"),
    ("SSL_CIPHER_get_id", c_ulong, [_P], None, "0x0300xxxx: the low 16 bits are the IANA value"),
    ("SSL_CIPHER_get_name", c_char_p, [_P], None, ""),
    ("SSL_get_ciphers", _P, [_P], None, "STACK_OF(SSL_CIPHER), owned by the SSL"),
    ("SSL_version", c_int, [_P], None, ""),
    ("SSL_get0_alpn_selected", None, [_P, _PP, POINTER(c_uint)], None, "1.0.2+"),
    ("SSL_get_peer_cert_chain", _P, [_P], None, "get0; client side includes the leaf"),
    ("SSL_get1_session", _P, [_P], None, "NULL when there is none; the caller frees"),
    ("SSL_set_session", c_int, [_P, _P], "one", ""),
    ("SSL_SESSION_free", None, [_P], None, ""),
    ("SSL_get_servername", c_char_p, [_P, c_int], None, "NULL when the client sent none"),
    ("SSL_set_SSL_CTX", _P, [_P, _P], "ptr", ""),
    ("SSL_set_verify", None, [_P, c_int, c_void_p], None, ""),
    ("SSL_set_cipher_list", c_int, [_P, c_char_p], None, "0: no cipher matched (the info callback checks)"),
    ("SSL_set_session_id_context", c_int, [_P, c_char_p, c_uint], None, "0: too long (the info callback checks)"),
    ("SSL_get_SSL_CTX", _P, [_P], None, ""),
]

# Version-dependent libssl names: the first name present in the library wins.
SSL_ALTERNATIVES = [
    # (public name, [candidates in preference order], restype, argtypes, check, note)
    ("TLS_method", ["TLS_method", "SSLv23_method"], _P, [], "ptr", "TLS_method from 1.1.0"),
    ("SSL_get1_peer_certificate", ["SSL_get1_peer_certificate", "SSL_get_peer_certificate"], _P, [_P], None,
     "renamed in 3.0; NULL when the peer sent none; the caller frees"),
]

SSL_OPTIONAL = [
    # (name, restype, argtypes, check, note); absence turns a feature off.
    ("SSL_CTX_set_ciphersuites", c_int, [_P, c_char_p], None, "1.1.1+: TLS 1.3 suites"),
    ("SSL_CTX_set_keylog_callback", None, [_P, KEYLOG_CB], None, "1.1.1+: SSLKEYLOGFILE"),
    ("SSL_CIPHER_get_protocol_id", c_uint16, [_P], None, "1.1.1+"),
    ("SSL_SESSION_is_resumable", c_int, [_P], None, "1.1.1+"),
    ("SSL_SESSION_dup", _P, [_P], None, "1.1.1+; NULL when out of memory; the caller frees"),
    ("SSL_session_reused", c_int, [_P], None, "1.1.0+ (a macro over SSL_ctrl before)"),
    ("SSL_in_before", c_int, [_P], None, "1.1.0+: nothing of the handshake has happened yet"),
    ("SSL_CTX_set_num_tickets", c_int, [_P, c_size_t], "one", "1.1.1+"),
    ("SSL_CTX_set_security_level", None, [_P, c_int], None, "1.1.0+"),
    ("SSL_CTX_get_security_level", c_int, [_P], None, "1.1.0+"),
    ("SSL_CTX_set_options", c_uint64, [_P, c_uint64], None, "a function from 1.1.0; uint64_t from 3.0"),
    ("SSL_get0_group_name", c_char_p, [_P], None, "3.2+: the negotiated key-exchange group; NULL when none"),
    ("OPENSSL_init_ssl", c_int, [c_uint64, c_void_p], "one", "1.1.0+"),
    ("SSL_library_init", c_int, [], None, "before 1.1.0"),
    ("SSL_load_error_strings", None, [], None, "before 1.1.0"),
]


def _candidates():
    """(libssl, libcrypto) name pairs to try, most specific first."""
    env_ssl = os.environ.get("NATIVETLS_LIBSSL")
    env_crypto = os.environ.get("NATIVETLS_LIBCRYPTO")
    if env_ssl or env_crypto:
        if not (env_ssl and env_crypto):
            guess = (env_ssl or env_crypto).replace("libcrypto", "@").replace("libssl", "@")
            env_ssl = env_ssl or guess.replace("@", "libssl")
            env_crypto = env_crypto or guess.replace("@", "libcrypto")
        return [(env_ssl, env_crypto)]
    pairs = []
    found_ssl, found_crypto = ctypes.util.find_library("ssl"), ctypes.util.find_library("crypto")
    if found_ssl and found_crypto:
        pairs.append((found_ssl, found_crypto))
    if sys.platform == "darwin":  # never Apple's frozen /usr/lib/libssl (aborts on load since macOS 10.15)
        pairs = [p for p in pairs if not p[0].startswith("/usr/lib/")]
        for prefix in ("/opt/homebrew/opt/openssl@3/lib", "/usr/local/opt/openssl@3/lib",
                       "/opt/homebrew/opt/openssl@1.1/lib", "/usr/local/opt/openssl@1.1/lib"):
            pairs.append((prefix + "/libssl.dylib", prefix + "/libcrypto.dylib"))
    for suffix in ("3", "1.1", "1.0.2", "10", "1.0.0"):
        pairs.append(("libssl.so." + suffix, "libcrypto.so." + suffix))
    return pairs


LIBSSL_CANDIDATES = _candidates


def load_libraries():
    """Load a matching (libssl, libcrypto) pair; returns ``(ssl_cdll, crypto_cdll, ssl_path, version_number)``.

    Raises:
        ImportError: no usable pair, naming every path tried and why it failed.
    """
    failures = []
    for ssl_name, crypto_name in _candidates():
        try:
            # libcrypto first: a libssl bundled in a wheel names its libcrypto by a soname only that file has.
            crypto = ctypes.CDLL(crypto_name)
            ssl = ctypes.CDLL(ssl_name)
        except OSError as exc:
            failures.append("%s: %s" % (ssl_name, exc))
            continue
        version = _version_number(crypto)
        if version is None:
            failures.append("%s: neither OpenSSL_version_num nor SSLeay is exported" % crypto_name)
            continue
        if version < 0x10002000:
            failures.append("%s: OpenSSL 0x%08x is older than 1.0.2" % (crypto_name, version))
            continue
        return ssl, crypto, ssl_name, version
    raise ImportError("nativetls: no usable libssl/libcrypto found (set NATIVETLS_LIBSSL and NATIVETLS_LIBCRYPTO): "
                      + "; ".join(failures))


def _version_number(crypto):
    for name in ("OpenSSL_version_num", "SSLeay"):  # SSLeay before 1.1.0
        func = getattr(crypto, name, None)
        if func is not None:
            func.restype = c_ulong
            func.argtypes = []
            return func()
    return None


def version_text(crypto, version):
    """The library's own version string (``OpenSSL_version(OPENSSL_VERSION)``, ``SSLeay_version`` before 1.1.0)."""
    func = getattr(crypto, "OpenSSL_version" if version >= 0x10100000 else "SSLeay_version")
    func.restype = c_char_p
    func.argtypes = [c_int]
    return func(0).decode("ascii", "replace")

SSL_CTRL_SET_TLSEXT_TICKET_KEYS = 59  # SSL_CTX_set_tlsext_ticket_keys: 48 bytes before 1.1.0, 80 from 1.1.0
