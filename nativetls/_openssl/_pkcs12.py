# -*- coding: utf-8 -*-
"""PKCS#12 (PFX) files read by libcrypto's own parser, for ``SigningChain.from_pkcs12``.

``d2i_PKCS12`` reads the structure, ``PKCS12_verify_mac`` tells a wrong password from anything else (the MAC is
computed with the password, before anything is decrypted), and ``PKCS12_parse`` decrypts the key and the
certificates. The key leaves as unencrypted PKCS#8 PEM (``PEM_write_bio_PKCS8PrivateKey``), so the resulting
``PrivateKey`` works like any other; the certificates leave as DER.

Legacy files: OpenSSL 3 keeps RC2-40 and 3DES, which ``openssl pkcs12 -export -legacy`` (and the default of
OpenSSL 1.x, older Windows and Java) use, in its "legacy" provider, which is not loaded by default. When
``PKCS12_parse`` fails with "unsupported", the parse is retried once with this thread's default library context
switched (``OSSL_LIB_CTX_set0_default``) to a context of our own holding the default and legacy providers. The
process-wide context is never touched: the stdlib ``ssl`` module and everything else sharing libcrypto keep the
algorithms they had. If the legacy provider cannot be loaded (its module, ``ossl-modules/legacy.so``, is not
installed), ConfigurationError says so and how to re-export the file.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
import threading
from ctypes import byref, c_char_p, c_void_p

from .._errors import ConfigurationError
from ._lowlevel import VERSION, drain_errors, lib, stack_items, x509_to_der

__all__ = ["load_pkcs12"]

_legacy_lock = threading.Lock()
# [OSSL_LIB_CTX*] once made. Kept for the life of the process, with its providers: keys and certificates parsed
# under it are converted to bytes before the parse returns, so nothing outlives a call, but unloading providers at
# interpreter exit races with other threads for no gain.
_legacy = []


def _native_text(errors):
    return "; ".join(text for _code, text in errors) or None


def _mac_ok(p12, password):
    """Whether *password* (bytes or None) verifies the MAC; True when there is no MAC to verify."""
    if lib.PKCS12_mac_present is not None and not lib.PKCS12_mac_present(p12):
        return True
    candidates = [password] if password else [None, b""]  # PKCS12_parse tries both for "no password" too
    for candidate in candidates:
        ok = lib.PKCS12_verify_mac(p12, candidate, len(candidate) if candidate is not None else 0) == 1
        drain_errors()
        if ok:
            return True
    return False


def _pem_of(pkey):
    """Unencrypted PKCS#8 PEM bytes of an EVP_PKEY* (still owned by the caller)."""
    bio = lib.BIO_new(lib.BIO_s_mem())
    try:
        lib.PEM_write_bio_PKCS8PrivateKey(bio, pkey, None, None, 0, None, None)
        size = lib.BIO_ctrl_pending(bio)
        out = ctypes.create_string_buffer(size)
        lib.BIO_read(bio, out, size)
        try:
            return out.raw[:size]
        finally:
            ctypes.memset(out, 0, size)
    finally:
        lib.BIO_free(bio)


def _parse(p12, password, origin):
    """PKCS12_parse: ``(leaf_der, [other DERs], key PEM)``; raises _Unsupported, ValueError."""
    pkey, cert, others = c_void_p(), c_void_p(), c_void_p()
    if lib.PKCS12_parse(p12, password, byref(pkey), byref(cert), byref(others)) != 1:
        errors = drain_errors()
        native = _native_text(errors)
        if VERSION >= 0x30000000 and "unsupported" in (native or "").lower():
            raise _Unsupported(native)
        raise ValueError("%s could not be decrypted: %s" % (origin, native or "PKCS12_parse failed"))
    try:
        if not pkey.value:
            raise ValueError("%s holds no private key" % origin)
        if not cert.value:
            raise ValueError("%s holds no certificate matching its private key" % origin)
        return x509_to_der(cert.value), [x509_to_der(x) for x in stack_items(others.value)], _pem_of(pkey.value)
    finally:
        if pkey.value:
            lib.EVP_PKEY_free(pkey.value)
        if cert.value:
            lib.X509_free(cert.value)
        for x509 in stack_items(others.value):
            lib.X509_free(x509)
        if others.value:
            lib.sk_free(others.value)
        drain_errors()


class _Unsupported(Exception):
    """PKCS12_parse met an algorithm the loaded providers lack (OpenSSL 3 without the legacy provider)."""


def _legacy_context():
    """Our OSSL_LIB_CTX* with the default and legacy providers (made once).

    Raises:
        ConfigurationError: not OpenSSL 3, or the legacy provider cannot be loaded.
    """
    with _legacy_lock:
        if _legacy:
            return _legacy[0]
        if None in (lib.OSSL_LIB_CTX_new, lib.OSSL_LIB_CTX_free, lib.OSSL_PROVIDER_load):
            raise ConfigurationError("this OpenSSL cannot load its legacy provider")
        libctx = lib.OSSL_LIB_CTX_new()
        for name in (b"default", b"legacy"):
            if not lib.OSSL_PROVIDER_load(libctx, name):
                lib.OSSL_LIB_CTX_free(libctx)
                raise ConfigurationError("OpenSSL's %s provider could not be loaded" % name.decode("ascii"),
                                         native_message=_native_text(drain_errors()))
        _legacy.append(libctx)
        return libctx


def load_pkcs12(data, password, origin):
    """Parse PKCS#12 bytes: ``(leaf_der, [other certificate DERs], key_pem)``.

    Args:
        password: bytes or None.
        origin: how messages name the input (a path, or "the PKCS#12 data").

    Raises:
        ValueError: not PKCS#12, wrong password, no key, no certificate for the key.
        ConfigurationError: legacy encryption, and OpenSSL's legacy provider is not available.
    """
    buf = ctypes.create_string_buffer(data, len(data))
    cursor = c_void_p(ctypes.addressof(buf))
    p12 = lib.d2i_PKCS12(None, byref(cursor), len(data))
    if not p12:
        native = _native_text(drain_errors())
        raise ValueError("%s is not a PKCS#12 (PFX) file: %s" % (origin, native or "d2i_PKCS12 failed"))
    try:
        if not _mac_ok(p12, password):
            raise ValueError("%s could not be opened: wrong password (the integrity MAC does not verify)" % origin)
        pass_arg = c_char_p(password) if password else None
        try:
            return _parse(p12, pass_arg, origin)
        except _Unsupported as exc:
            try:
                libctx = _legacy_context()
            except ConfigurationError as why:
                raise ConfigurationError(
                    "%s is encrypted with a legacy algorithm (RC2 or 3DES), and %s: install OpenSSL's legacy "
                    "provider (ossl-modules/legacy.so; OPENSSL_MODULES names its directory), or re-export the file "
                    "with AES (openssl pkcs12 -export without -legacy)" % (origin, why),
                    native_message="; ".join(t for t in (str(exc), why.native_message) if t))
            previous = lib.OSSL_LIB_CTX_set0_default(libctx)
            try:
                return _parse(p12, pass_arg, origin)
            except _Unsupported as again:
                raise ConfigurationError("%s uses an algorithm this OpenSSL cannot decrypt, even with the legacy "
                                         "provider: %s" % (origin, again), native_message=str(again))
            finally:
                lib.OSSL_LIB_CTX_set0_default(previous)
    finally:
        lib.PKCS12_free(p12)
        drain_errors()
