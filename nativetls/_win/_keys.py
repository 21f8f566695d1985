# -*- coding: utf-8 -*-
"""Our own certificate and private key as SChannel wants them: a certificate context with its key attached.

Every key takes one route (see ``_pkcs12`` for why): the SigningChain is wrapped in an in-memory PKCS#12 blob and
imported with ``PFXImportCertStore``, which puts the certificates in a new memory store and the key in a key
container linked to the leaf (``CERT_KEY_PROV_INFO_PROP_ID``). A PKCS#12 file is imported the same way
(:meth:`LocalCredential.from_pkcs12`).

On Windows the key is *persisted* (no ``PKCS12_NO_PERSIST_KEY``): SChannel signs with it inside LSASS, which opens
the key by container name, and an ephemeral (in-process) key is known to fail there for servers (.NET documents the
same limitation for ``EphemeralKeySet``). PFXImportCertStore names the container with a fresh GUID;
:meth:`LocalCredential.close` deletes it again (CryptoAPI ``CRYPT_DELETEKEYSET``, or ``NCryptDeleteKey`` for a CNG
provider), and ``__del__`` does it as a safety net.

One container per key: Wine's PFXImportCertStore puts every key it imports, persisted or not, in the user's
*default* container (named after the user), and Wine's SChannel reads the key from that container when credentials
are acquired, so a second import would replace the first key for every later handshake. When the imported key
lands in the provider's default container, :func:`_own_container` moves it into a container of its own (a fresh
``nativetls-<uuid>`` name): export the key (``CryptExportKey(PRIVATEKEYBLOB)``), ``CryptImportKey`` it there,
point the leaf's ``CERT_KEY_PROV_INFO_PROP_ID`` at it, and empty the default container again. The decision is
made by asking the provider which container is its default, not by detecting Wine; Windows never gives an
imported key the default container, so nothing moves there.

The key is checked as it moves: Wine's PFXImportCertStore damages about one RSA key in 25 (a value shorter than its
nominal width ends its copy into the key blob early, and the rest of the blob is uninitialised heap memory; see
``_keyblob``), so the exported blob is compared with the certificate's public key and its private values are
recomputed from n, e, p and q when they do not belong to it, before the key goes into its own container.

Imports are serialised (``_IMPORT_LOCK``): the default container is one per user, shared by every import in the
process, so two threads importing at once could each move the other's key.

Under Wine the key is imported with ``PKCS12_NO_PERSIST_KEY`` (it lands in the default container all the same, and
is moved as above). ``CRYPT_EXPORTABLE`` is set because Wine's SChannel (GnuTLS underneath) exports the key to
use it, and because moving it needs that; the key is already in this process's memory as PEM, so exportability
grants nothing new. (Both modes run under Wine in ``tests/win/test_schannel_client_auth.py``.)
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import ctypes
import threading
import uuid
from ctypes import byref

from .._errors import ConfigurationError
from .._pfx import check_pfx, mac_verifies
from . import _crypt32 as C
from . import _keyblob
from ._lowlevel import CertContext, CertStore, cert_der, crypt32, public_error
from ._pkcs12 import build_pfx, leaf_order, random_password
from ._types import NativeError, Win32Error

__all__ = ["LocalCredential", "persist_keys", "read_pkcs12"]

_PERSISTED_FLAGS = C.CRYPT_EXPORTABLE | C.CRYPT_USER_KEYSET
_EPHEMERAL_FLAGS = C.CRYPT_EXPORTABLE | C.PKCS12_NO_PERSIST_KEY

ERROR_INVALID_PASSWORD = 86  # winerror.h; PFXImportCertStore's GetLastError() for a MAC that does not verify

# Held from PFXImportCertStore until the key has left the provider's default container (see the module docstring).
_IMPORT_LOCK = threading.Lock()


def persist_keys():
    """Whether imported keys are persisted (Windows) or ephemeral (Wine); see the module docstring."""
    from ._types import under_wine
    return not under_wine()


def _text_password(password):
    if password is None:
        return None
    if isinstance(password, bytes):
        try:
            return password.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigurationError("the SChannel backend needs a key password that is valid UTF-8")
    return password


class _NoKey(ConfigurationError):
    """PFXImportCertStore imported the file, but no certificate in it has a private key."""


def _contexts(hstore):
    """Borrowed PCCERT_CONTEXTs of a store, in enumeration order (valid while the store is open)."""
    enum = crypt32().CertEnumCertificatesInStore
    found = []
    current = enum(hstore, None)
    while current:
        found.append(crypt32().CertDuplicateCertificateContext(current))
        current = enum(hstore, current)
    return found


def _find_leaf(hstore, leaf_der):
    """A new reference (:class:`CertContext`) to the certificate with a key: the one whose DER is *leaf_der*, or,
    for a PKCS#12 file, the first end-entity certificate (see ``leaf_order``); None if there is none."""
    contexts = _contexts(hstore)
    try:
        ders = [cert_der(pcert) for pcert in contexts]
        if leaf_der is None:
            order = leaf_order(ders)
        else:
            order = [ders.index(leaf_der)] if leaf_der in ders else []
        for index in order:
            if _has_key(contexts[index]):
                return CertContext(crypt32().CertDuplicateCertificateContext(contexts[index]))
        return None
    finally:
        for pcert in contexts:
            crypt32().CertFreeCertificateContext(pcert)


def _key_prov_info(pcert):
    """(container, provider, provider type, flags) of the key linked to a certificate context, or None."""
    get = crypt32().CertGetCertificateContextProperty
    size = ctypes.c_uint32(0)
    if not get(pcert, C.CERT_KEY_PROV_INFO_PROP_ID, None, byref(size)) or not size.value:
        return None
    raw = ctypes.create_string_buffer(size.value)
    if not get(pcert, C.CERT_KEY_PROV_INFO_PROP_ID, raw, byref(size)):
        return None
    info = ctypes.cast(raw, ctypes.POINTER(C.CRYPT_KEY_PROV_INFO)).contents
    container = ctypes.wstring_at(info.pwszContainerName) if info.pwszContainerName else None
    provider = ctypes.wstring_at(info.pwszProvName) if info.pwszProvName else None
    return container, provider, info.dwProvType, info.dwFlags


_KEY_PROPERTIES = (C.CERT_KEY_PROV_INFO_PROP_ID, C.CERT_KEY_CONTEXT_PROP_ID, C.CERT_KEY_PROV_HANDLE_PROP_ID,
                   C.CERT_NCRYPT_KEY_HANDLE_PROP_ID)


def _has_key(pcert):
    """Whether a private key is linked to the certificate context (persisted, or an in-process handle)."""
    size = ctypes.c_uint32(0)
    get = crypt32().CertGetCertificateContextProperty
    return any(get(pcert, prop, None, byref(size)) for prop in _KEY_PROPERTIES)


def _prov_param(prov, param):
    """A CryptGetProvParam answer as bytes."""
    from . import _advapi32 as A
    size = ctypes.c_uint32(0)
    A.load().CryptGetProvParam(prov, param, None, byref(size), 0)
    raw = (ctypes.c_uint8 * size.value)()
    A.load().CryptGetProvParam(prov, param, raw, byref(size), 0)
    return bytes(bytearray(raw[:size.value]))


def _prov_text(prov, param):
    return _prov_param(prov, param).split(b"\0", 1)[0].decode("mbcs")  # CryptGetProvParam answers in ANSI


def _default_container(provider, prov_type):
    """The name of *provider*'s default container for this user, or None if it cannot be opened."""
    from . import _advapi32 as A
    prov = C.HCRYPTPROV()
    try:
        A.load().CryptAcquireContextW(byref(prov), None, provider, prov_type, A.CRYPT_SILENT)
    except NativeError:
        return None
    try:
        return _prov_text(prov.value, A.PP_CONTAINER)
    finally:
        A.load().CryptReleaseContext(prov.value, 0)


def _export_private_key(prov, spec):
    """PRIVATEKEYBLOB bytes of the key *spec* (AT_KEYEXCHANGE/AT_SIGNATURE) in an open provider, as a mutable
    buffer the caller wipes."""
    from . import _advapi32 as A
    lib = A.load()
    key = ctypes.c_size_t()
    lib.CryptGetUserKey(prov, spec, byref(key))
    try:
        size = ctypes.c_uint32(0)
        lib.CryptExportKey(key.value, 0, A.PRIVATEKEYBLOB, 0, None, byref(size))
        blob = (ctypes.c_uint8 * size.value)()
        lib.CryptExportKey(key.value, 0, A.PRIVATEKEYBLOB, 0, blob, byref(size))
        return blob, size.value
    finally:
        lib.CryptDestroyKey(key.value)


def _own_container(pcert):
    """Move the certificate's CryptoAPI key out of its provider's default container into a fresh one of its own,
    repairing it on the way (see the module docstring). Returns the new container's ``_key_prov_info`` tuple, or
    None when nothing had to move (a CNG key, or a key that already has a container of its own).

    Raises:
        NativeError: the key could not be exported or imported.
        ValueError: the imported key is damaged beyond repair, or is not the certificate's key.
    """
    from . import _advapi32 as A
    lib = A.load()
    prov, spec, caller_frees = C.HCRYPTPROV(), ctypes.c_uint32(), ctypes.c_int32()
    # CRYPT_ACQUIRE_CACHE_FLAG, as Wine's SChannel asks: Wine finds an ephemeral import's key (which is only in
    # CERT_KEY_CONTEXT_PROP_ID) that way alone, answering CRYPT_E_NO_KEY_PROPERTY otherwise.
    crypt32().CryptAcquireCertificatePrivateKey(pcert, C.CRYPT_ACQUIRE_CACHE_FLAG, None, byref(prov), byref(spec),
                                                byref(caller_frees))
    try:
        if spec.value == C.CERT_NCRYPT_KEY_SPEC:  # CNG keys always get a container of their own
            return None
        provider = _prov_text(prov.value, A.PP_NAME)
        prov_type = ctypes.c_uint32.from_buffer_copy(_prov_param(prov.value, A.PP_PROVTYPE)[:4]).value
        container = _prov_text(prov.value, A.PP_CONTAINER)
        if container != _default_container(provider, prov_type):
            return None
        # Wine answers a dwKeySpec of 3 here; PFXImportCertStore imports RSA keys as AT_KEYEXCHANGE.
        specs = [spec.value] if spec.value in (A.AT_KEYEXCHANGE, A.AT_SIGNATURE) else [A.AT_KEYEXCHANGE,
                                                                                           A.AT_SIGNATURE]
        for spec_value in specs:
            try:
                blob, size = _export_private_key(prov.value, spec_value)
                break
            except NativeError:
                if spec_value == specs[-1]:
                    raise
    finally:
        if caller_frees.value:
            lib.CryptReleaseContext(prov.value, 0)
    name = "nativetls-%s" % uuid.uuid4()
    try:
        _repair(blob, size, pcert)
        _import_key(lib, name, provider, prov_type, blob, size)
    finally:
        ctypes.memset(blob, 0, size)
        # The key left behind in the shared default container is ours (the import put it there): remove it.
        delete_key((container, provider, prov_type, 0))
    info = (name, provider, prov_type, 0)
    _set_key_prov_info(pcert, info, spec_value)
    return info


def _repair(blob, size, pcert):
    """Check an exported RSA PRIVATEKEYBLOB (a ctypes buffer of *size* bytes) against the certificate's public key
    and, if the import damaged it, rewrite it in place (``_keyblob.repaired``; ValueError if it cannot be)."""
    public = _keyblob.rsa_public_numbers(cert_der(pcert))
    if public is None:  # not an RSA certificate: nothing this check knows how to read
        return
    fixed = _keyblob.repaired(ctypes.string_at(blob, size), public)
    if fixed is not None:
        ctypes.memmove(blob, fixed, size)


def _import_key(lib, name, provider, prov_type, blob, size):
    """Create the key container *name* and import the PRIVATEKEYBLOB into it (exportable: see the module
    docstring)."""
    from . import _advapi32 as A
    target = C.HCRYPTPROV()
    lib.CryptAcquireContextW(byref(target), name, provider, prov_type, A.CRYPT_NEWKEYSET | A.CRYPT_SILENT)
    try:
        key = ctypes.c_size_t()
        lib.CryptImportKey(target.value, blob, size, 0, C.CRYPT_EXPORTABLE, byref(key))
        lib.CryptDestroyKey(key.value)
    finally:
        lib.CryptReleaseContext(target.value, 0)


def _set_key_prov_info(pcert, info, spec):
    """Link the certificate to a key container (CERT_KEY_PROV_INFO_PROP_ID), dropping any in-process key handle
    (CERT_KEY_CONTEXT_PROP_ID), which would otherwise take precedence."""
    container, provider, prov_type, flags = info
    keep = (ctypes.create_unicode_buffer(container), ctypes.create_unicode_buffer(provider))
    value = C.CRYPT_KEY_PROV_INFO(pwszContainerName=ctypes.addressof(keep[0]),
                                  pwszProvName=ctypes.addressof(keep[1]), dwProvType=prov_type, dwFlags=flags,
                                  dwKeySpec=spec)
    set_property = crypt32().CertSetCertificateContextProperty
    try:
        set_property(pcert, C.CERT_KEY_CONTEXT_PROP_ID, 0, None)
    except NativeError:  # not set: nothing to drop
        pass
    set_property(pcert, C.CERT_KEY_PROV_INFO_PROP_ID, 0, ctypes.addressof(value))


def delete_key(prov_info):
    """Delete a persisted key container described by ``_key_prov_info`` (best effort: errors are ignored, since
    there is nothing better to do about a key that cannot be deleted while closing)."""
    container, provider, prov_type, flags = prov_info
    if not container:
        return
    try:
        if prov_type:  # CryptoAPI provider
            from . import _advapi32 as A
            prov = C.HCRYPTPROV()
            A.load().CryptAcquireContextW(byref(prov), container, provider, prov_type,
                                          A.CRYPT_DELETEKEYSET | A.CRYPT_SILENT | (flags & A.CRYPT_MACHINE_KEYSET))
        else:  # CNG key storage provider
            from . import _ncrypt as N
            lib = N.load()
            prov, key = N.NCRYPT_PROV_HANDLE(), N.NCRYPT_KEY_HANDLE()
            lib.NCryptOpenStorageProvider(byref(prov), provider, 0)
            try:
                lib.NCryptOpenKey(prov, byref(key), container, 0,
                                  N.NCRYPT_SILENT_FLAG | (flags & N.NCRYPT_MACHINE_KEY_FLAG))
                lib.NCryptDeleteKey(key, 0)
            finally:
                lib.NCryptFreeObject(prov)
    except (NativeError, ImportError):  # pragma: no cover - depends on the provider
        pass


class LocalCredential(object):
    """The certificate this side presents, with its key: ``leaf`` (a :class:`CertContext` with the key attached)
    and ``store`` (the memory store holding the leaf and its intermediates).

    Owns the store, the leaf reference and the persisted key container; :meth:`close` frees all three (and deletes
    the key). Make one with :meth:`from_signing_chain` or :meth:`from_pkcs12`.
    """

    def __init__(self, store, leaf, key_info):
        """Take ownership of *store*, *leaf* and the key container *key_info* (None: an ephemeral key)."""
        self.store = store
        self.leaf = leaf
        self.key_info = key_info

    @classmethod
    def from_signing_chain(cls, chain, persist=None):
        """Import a :class:`~nativetls.SigningChain` (PEM/DER key, optionally PKCS#8-encrypted).

        *persist* (default :func:`persist_keys`) chooses a persisted key container, deleted by :meth:`close`.

        Raises:
            ConfigurationError: the key is unusable here (traditional encryption, wrong password, not a key).
        """
        certificate, key = chain.leaf
        if key._pkcs12 is not None:  # SigningChain.from_pkcs12: import the file itself, as Windows would
            return cls.from_pkcs12(key._pkcs12[0], key._pkcs12[1], persist, certificate.to_der())
        ders = [certificate.to_der()] + [c.to_der() for c in chain.chain]
        if key.is_encrypted:
            try:
                password = _text_password(key._password_bytes())
            except TypeError as exc:
                raise ConfigurationError(str(exc))
            if password is None:
                raise ConfigurationError("the private key is encrypted and no password was given")
        else:
            password = random_password()
        try:
            pfx = build_pfx(ders, key._pem, password)
        except ValueError as exc:
            raise ConfigurationError(str(exc))
        return cls._import(pfx, password, ders[0], "the private key", persist)

    @classmethod
    def from_pkcs12(cls, data, password=None, persist=None, leaf_der=None):
        """Import a PKCS#12 (PFX) blob: the certificate that has a private key is the leaf (or, given *leaf_der*,
        that certificate).

        Raises:
            ConfigurationError: not a PKCS#12 blob, wrong password, or no certificate with a key in it.
        """
        data, password = bytes(data), _text_password(password)
        if mac_verifies(data, password) is False:
            raise ConfigurationError("the PKCS#12 data could not be decrypted: wrong password")
        return cls._import(data, password, leaf_der, "the PKCS#12 data", persist)

    @classmethod
    def _import(cls, pfx, password, leaf_der, what, persist):
        if persist is None:
            persist = persist_keys()
        buf = (ctypes.c_uint8 * len(pfx)).from_buffer_copy(pfx)
        blob = C.CRYPT_DATA_BLOB(len(pfx), ctypes.cast(buf, ctypes.POINTER(ctypes.c_uint8)))
        if not crypt32().PFXIsPFXBlob(byref(blob)):
            raise ConfigurationError("%s is not a PKCS#12 (PFX) blob" % what)
        with _IMPORT_LOCK:
            store, leaf = cls._import_store(blob, password, leaf_der, what, persist)
            try:
                moved = _own_container(leaf.handle)
            except (NativeError, ValueError) as exc:
                leaf.close()
                store.close()
                if isinstance(exc, ValueError):
                    raise ConfigurationError("%s was not imported intact by this system's PFXImportCertStore: %s"
                                             % (what, exc))
                raise public_error(exc, "%s could not be moved into a key container of its own" % what,
                                   ConfigurationError)
        if moved is not None:
            return cls(store, leaf, moved)
        return cls(store, leaf, _key_prov_info(leaf.handle) if persist else None)

    @staticmethod
    def _import_store(blob, password, leaf_der, what, persist):
        """PFXImportCertStore: the new memory store and the leaf (both owned by the caller)."""
        try:
            store = CertStore(crypt32().PFXImportCertStore(
                byref(blob), password or "", _PERSISTED_FLAGS if persist else _EPHEMERAL_FLAGS))
        except Win32Error as exc:
            # Windows says ERROR_INVALID_PASSWORD; Wine fails with no code at all (0).
            if exc.code in (ERROR_INVALID_PASSWORD, 0):
                raise ConfigurationError("%s could not be imported: wrong password, or a key encryption this "
                                         "system's PFXImportCertStore does not support (%s)" % (what, exc.name))
            raise public_error(exc, "%s could not be imported" % what, ConfigurationError)
        leaf = _find_leaf(store.handle, leaf_der)
        if leaf is None:
            store.close()
            raise _NoKey("%s holds no certificate with its private key" % what)
        return store, leaf

    def close(self):
        """Free the leaf, the store and delete the persisted key (idempotent)."""
        leaf, self.leaf = self.leaf, None
        if leaf is not None:
            leaf.close()
        store, self.store = self.store, None
        if store is not None:
            store.close()
        info, self.key_info = self.key_info, None
        if info is not None:
            delete_key(info)

    def __del__(self):
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


def read_pkcs12(data, password, origin):
    """``SigningChain.from_pkcs12`` on SChannel: import the file with PFXImportCertStore (checking that it opens
    and holds a key), read its certificates, and drop the import again. Returns ``(leaf_der, [other DERs], None)``:
    the key stays in the file, which :meth:`LocalCredential.from_signing_chain` imports again for each context.

    Raises:
        ValueError: not PKCS#12, wrong password, no certificate with a key. ConfigurationError: a file this
        system's PFXImportCertStore cannot import.
    """
    check_pfx(data, origin)
    text = _text_password(password)
    if mac_verifies(data, text) is False:
        raise ValueError("%s could not be opened: wrong password (the integrity MAC does not verify)" % origin)
    try:
        credential = LocalCredential.from_pkcs12(data, text)
    except _NoKey:
        raise ValueError("%s holds no certificate with its private key" % origin)
    except ConfigurationError:
        # Wine's PFXImportCertStore fails, with no error code, on a file without a key; the password is right
        # (the MAC verified), so when no key bag is in sight either, that is the cause to report.
        if _key_bag_visible(data) is False:
            raise ValueError("%s holds no private key (none outside its encrypted parts, and this system's "
                             "PFXImportCertStore found none)" % origin)
        raise
    try:
        leaf = cert_der(credential.leaf.handle)
        contexts = _contexts(credential.store.handle)
        try:
            ders = [cert_der(pcert) for pcert in contexts]
        finally:
            for pcert in contexts:
                crypt32().CertFreeCertificateContext(pcert)
    finally:
        credential.close()
    return leaf, [der for der in ders if der != leaf], None


def _key_bag_visible(data):
    """Whether a PFX's unencrypted parts hold a key bag (plain or shrouded); None if the PFX cannot be read.
    (Keys are shrouded in an unencrypted part by every common tool; an encrypted part usually holds certificates.)"""
    from asn1crypto import pkcs12 as _asn1_pkcs12
    try:
        for content in _asn1_pkcs12.Pfx.load(data).authenticated_safe:
            if content["content_type"].native != "data":
                continue
            for bag in _asn1_pkcs12.SafeContents.load(content["content"].native):
                if bag["bag_id"].native in ("key_bag", "pkcs8_shrouded_key_bag"):
                    return True
        return False
    except Exception:
        return None
