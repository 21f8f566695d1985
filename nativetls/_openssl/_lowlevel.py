# -*- coding: utf-8 -*-
"""Bound OpenSSL functions, error-queue draining, owned native handles and conversions.

``lib`` is one namespace holding every bound function of libssl and libcrypto under its C name, plus the
version-resolved names (``TLS_method``, ``SSL_get1_peer_certificate``, ``sk_num``/``sk_value``) and the helpers
for the macros of ssl.h that are really ``SSL_CTX_ctrl`` calls.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
import threading
from ctypes import byref, c_char_p, c_void_p

from .._errors import TLSError
from .._state import Closeable
from . import _libssl as L

__all__ = ["lib", "VERSION", "VERSION_TEXT", "LIBRARY_PATH", "drain_errors", "raise_ssl_error", "Owned",
           "x509_from_der", "x509_to_der", "stack_items", "negotiated_group"]


def drain_errors():
    """Empty this thread's OpenSSL error queue; returns ``[(code, text), ...]`` oldest first."""
    errors = []
    buf = ctypes.create_string_buffer(256)
    while True:
        code = lib.ERR_get_error()
        if not code:
            return errors
        lib.ERR_error_string_n(code, buf, len(buf))
        errors.append((code, buf.value.decode("ascii", "replace")))


def error_reason(code):
    """The reason part of an OpenSSL error code (its low bits; the layout changed in 3.0)."""
    return code & (0x7FFFFF if VERSION >= 0x30000000 else 0xFFF)


def error_lib(code):
    """The library part of an OpenSSL error code."""
    if VERSION >= 0x30000000:
        return (code >> 23) & 0xFF
    return (code >> 24) & 0xFF


def raise_ssl_error(what, cls=TLSError, errors=None):
    """Raise *cls* for a failed native call *what*, carrying the drained error queue."""
    if errors is None:
        errors = drain_errors()
    native = "; ".join(text for _code, text in errors) or None
    message = what if not errors else "%s: %s" % (what, _reason_text(errors[-1][0]) or native)
    raise cls(message, native_code=errors[-1][0] if errors else None, native_message=native)


def _reason_text(code):
    text = lib.ERR_reason_error_string(code)
    return text.decode("ascii", "replace") if text else None


def _check_ptr(result, func, args):
    if not result:
        raise_ssl_error("%s failed" % func.__name__)
    return result


def _check_one(result, func, args):
    if result != 1:
        raise_ssl_error("%s failed" % func.__name__)
    return result


def _check_pos(result, func, args):
    if result <= 0:
        raise_ssl_error("%s failed" % func.__name__)
    return result


_CHECKS = {None: None, "ptr": _check_ptr, "one": _check_one, "pos": _check_pos}


class _Lib(object):
    """Namespace of bound functions (attributes are set by ``_bind``)."""


def _bind_row(target, cdll, cname, pyname, restype, argtypes, check):
    func = getattr(cdll, cname)  # AttributeError when absent: callers decide
    func.restype = restype
    func.argtypes = argtypes
    if _CHECKS[check] is not None:
        func.errcheck = _CHECKS[check]
    setattr(target, pyname, func)


def _bind(ssl_dll, crypto_dll, version):
    target = _Lib()
    for rows, dll in ((L.CRYPTO_REQUIRED, crypto_dll), (L.SSL_REQUIRED, ssl_dll)):
        for name, restype, argtypes, check, _note in rows:
            try:
                _bind_row(target, dll, name, name, restype, argtypes, check)
            except AttributeError:
                raise ImportError("nativetls: %s lacks the required symbol %s" % (dll._name, name))
    stack = L.CRYPTO_STACK_110 if version >= 0x10100000 else L.CRYPTO_STACK_102
    for (name, restype, argtypes, check, _note), pyname in zip(stack, ("sk_num", "sk_value", "sk_free")):
        try:
            _bind_row(target, crypto_dll, name, pyname, restype, argtypes, check)
        except AttributeError:
            raise ImportError("nativetls: %s lacks the required symbol %s" % (crypto_dll._name, name))
    for pyname, names, restype, argtypes, check, _note in L.SSL_ALTERNATIVES:
        for name in names:
            try:
                _bind_row(target, ssl_dll, name, pyname, restype, argtypes, check)
                break
            except AttributeError:
                continue
        else:
            raise ImportError("nativetls: %s has none of %s" % (ssl_dll._name, ", ".join(names)))
    for rows, dll in ((L.SSL_OPTIONAL, ssl_dll), (L.CRYPTO_OPTIONAL, crypto_dll)):
        for name, restype, argtypes, check, _note in rows:
            try:
                _bind_row(target, dll, name, name, restype, argtypes, check)
            except AttributeError:
                setattr(target, name, None)
    if version >= 0x10100000 and target.SSL_CTX_set_options is None:
        raise ImportError("nativetls: libssl 1.1+ without SSL_CTX_set_options")
    return target


_ssl_dll, _crypto_dll, LIBRARY_PATH, VERSION = L.load_libraries()
VERSION_TEXT = L.version_text(_crypto_dll, VERSION)
lib = _bind(_ssl_dll, _crypto_dll, VERSION)

HAS_TLS1_3 = VERSION >= 0x10101000 and lib.SSL_CTX_set_ciphersuites is not None
HAS_KEYLOG = lib.SSL_CTX_set_keylog_callback is not None
HAS_MIN_MAX = VERSION >= 0x10100000
# SSL_OP_NO_RENEGOTIATION is honoured from 1.1.0h; before it, an info callback refuses renegotiation (_buffer.on_info).
HAS_NO_RENEGOTIATION = VERSION >= 0x1010008f
HAS_SECURITY_LEVEL = lib.SSL_CTX_set_security_level is not None


def negotiated_group(ssl):
    """The key-exchange group an established ``SSL*`` negotiated (``"X25519MLKEM768"``), or None when the
    library cannot tell (before 3.0) or none was used.

    From 3.2 by name (``SSL_get0_group_name``: also the hybrid ML-KEM groups, which have no NID); 3.0 and 3.1 give
    a NID (``SSL_get_negotiated_group``); 1.0.2-1.1.1 cannot tell.
    """
    if lib.SSL_get0_group_name is not None:
        name = lib.SSL_get0_group_name(ssl)
        return name.decode("ascii", "replace") if name else None
    if VERSION < 0x30000000:
        return None
    nid = lib.SSL_ctrl(ssl, L.SSL_CTRL_GET_NEGOTIATED_GROUP, 0, None)
    name = lib.OBJ_nid2sn(nid) if nid > 0 else None  # TLSEXT_nid_unknown groups have the 0x1000000 bit: no name
    lib.ERR_clear_error()
    return name.decode("ascii", "replace") if name else None


if VERSION >= 0x10100000:
    if lib.OPENSSL_init_ssl is not None:
        lib.OPENSSL_init_ssl(0, None)
else:  # pragma: no cover - 1.0.2 needs explicit initialisation and, for threads, locking callbacks
    lib.SSL_library_init()
    lib.SSL_load_error_strings()
    try:
        # 1.0.2 is only thread-safe with CRYPTO_set_locking_callback installed; the stdlib ssl module installs
        # them when it links the same library, which is the usual case on systems still shipping 1.0.2.
        import ssl as _stdlib_ssl  # noqa: F401
    except ImportError:
        pass
    for _row in L.CRYPTO_LOCKING_102:
        _bind_row(lib, _crypto_dll, _row[0], _row[0], _row[1], _row[2], _row[3])
    if not lib.CRYPTO_get_locking_callback():
        # Nobody did (the stdlib links another libssl, or none): without locks, threads crash libcrypto (seen
        # with 1.0.2r from a wheel while the stdlib uses 3.0). A blocking acquire releases the GIL, so a thread
        # waiting here never stops the holder from reaching its unlock.
        _LOCKS = [threading.Lock() for _ in range(lib.CRYPTO_num_locks())]

        def _locking(mode, n, _file, _line):
            if mode & L.CRYPTO_LOCK:
                _LOCKS[n].acquire()
            else:
                _LOCKS[n].release()

        _LOCKING_CB = L.LOCKING_CB(_locking)  # a module global: libcrypto calls it for the life of the process
        lib.CRYPTO_set_locking_callback(_LOCKING_CB)


# --- Macros of ssl.h/bio.h that are SSL_CTX_ctrl/SSL_ctrl/BIO_ctrl calls.

def ctx_set_options(ctx, options):
    """SSL_CTX_set_options: a function from 1.1.0, a macro over SSL_CTX_ctrl(SSL_CTRL_OPTIONS) before."""
    if lib.SSL_CTX_set_options is not None:
        return lib.SSL_CTX_set_options(ctx, options)
    return lib.SSL_CTX_ctrl(ctx, L.SSL_CTRL_OPTIONS, options, None)


def ctx_ctrl_checked(ctx, cmd, larg, parg, what):
    """An SSL_CTX_ctrl whose success is a result of 1 (min/max version, chain certs, groups...)."""
    if lib.SSL_CTX_ctrl(ctx, cmd, larg, parg) != 1:
        raise_ssl_error(what)


def session_reused(ssl):
    """SSL_session_reused: a function from 1.1.0, a macro over SSL_ctrl before."""
    if lib.SSL_session_reused is not None:
        return bool(lib.SSL_session_reused(ssl))
    return bool(lib.SSL_ctrl(ssl, L.SSL_CTRL_GET_SESSION_REUSED, 0, None))


def cipher_protocol_id(cipher):
    """The IANA value of an SSL_CIPHER (SSL_CIPHER_get_protocol_id from 1.1.1)."""
    if lib.SSL_CIPHER_get_protocol_id is not None:
        return lib.SSL_CIPHER_get_protocol_id(cipher)
    return lib.SSL_CIPHER_get_id(cipher) & 0xFFFF


# --- Owned handles.

class Owned(Closeable):
    """Owns one native pointer and frees it exactly once: ``close()``, context manager, or garbage collection."""

    __slots__ = ("_ptr", "_free", "__weakref__")

    def __init__(self, ptr, free):
        self._ptr = ptr
        self._free = free

    @property
    def ptr(self):
        """The native pointer (an int). Raises TLSError once closed."""
        if not self._ptr:
            raise TLSError("this native object has been closed")
        return self._ptr

    def close(self):
        """Free the native object (idempotent)."""
        ptr, self._ptr = self._ptr, None
        if ptr:
            self._free(ptr)


# --- Conversions.

def x509_from_der(der):
    """A new X509* for DER bytes; the caller frees it with X509_free (or wraps it in ``Owned``)."""
    data = ctypes.create_string_buffer(der, len(der))
    cursor = c_void_p(ctypes.addressof(data))
    return lib.d2i_X509(None, byref(cursor), len(der))


def x509_to_der(x509):
    """The DER bytes of an X509* (the pointer stays owned by the caller)."""
    size = lib.i2d_X509(x509, None)
    out = ctypes.create_string_buffer(size)
    cursor = c_void_p(ctypes.addressof(out))
    lib.i2d_X509(x509, byref(cursor))
    return out.raw


def crl_from_der(der):
    """A new X509_CRL* for DER bytes; the caller frees it with X509_CRL_free."""
    data = ctypes.create_string_buffer(der, len(der))
    cursor = c_void_p(ctypes.addressof(data))
    return lib.d2i_X509_CRL(None, byref(cursor), len(der))


def stack_items(stack):
    """The pointers of a STACK_OF(...) (borrowed: owned by the stack)."""
    if not stack:
        return []
    return [lib.sk_value(stack, i) for i in range(lib.sk_num(stack))]


def private_key_from(key):
    """A new EVP_PKEY* from a :class:`PrivateKey` (decrypting it); the caller frees it with EVP_PKEY_free.

    Raises:
        TLSError: the key cannot be read or decrypted (wrong password).
    """
    pem = key._pem
    password = key._password_bytes()
    if pem is None:  # a key read from PKCS#12 by another backend: read the file here
        from ._pkcs12 import load_pkcs12
        pem = load_pkcs12(key._pkcs12[0], key._pkcs12[1], "the PKCS#12 data")[2]
    bio = lib.BIO_new_mem_buf(pem, len(pem))
    try:
        # A non-NULL passphrase is always passed so that OpenSSL never prompts on the terminal.
        return lib.PEM_read_bio_PrivateKey(bio, None, None, c_char_p(password or b""))
    finally:
        lib.BIO_free(bio)


