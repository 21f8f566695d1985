# -*- coding: utf-8 -*-
"""Our own identities (certificate + private key) for SecureTransport, through a temporary keychain (private).

``SSLSetCertificate`` wants a ``SecIdentityRef``, and on macOS an identity exists only for a key that lives in a
keychain. So every context with a certificate chain gets a :class:`TemporaryKeychain`: a new keychain file in a
new private directory, with a random password (``SecKeychainCreate``, ``promptUser`` false, so nothing ever asks
the user), into which the leaf and its key are imported (``SecItemImport``, PEM or DER, encrypted keys with their
password as the passphrase) - or, for a key read by ``SigningChain.from_pkcs12``, the PKCS#12 file itself is
imported (``SecPKCS12Import`` with ``kSecImportExportKeychain`` naming this keychain: without it macOS would put the
key in the user's default keychain). ``close()`` deletes the keychain (``SecKeychainDelete``, which also removes it from
the search list) and then the file and the directory themselves: nothing stays in the user's keychains.
"""
from __future__ import absolute_import, division, print_function, unicode_literals

import binascii
import os
import shutil
import tempfile
from ctypes import byref, c_uint32, c_void_p

from .._errors import ConfigurationError
from .._state import Closeable
from . import _security as S
from ._lowlevel import (
    CFRef, certificate_der, certificate_ref, cfarray, cfdata, cfdictionary, cfstring, cf, describe, sec,
)
from ._types import OSStatusError

__all__ = ["TemporaryKeychain", "Identity", "created_directories"]

# Every directory this process made for a keychain (tests check none is left on disk).
_CREATED = []


def created_directories():
    """The directories this process has created for temporary keychains (existing or already removed)."""
    return list(_CREATED)


class Identity(Closeable):
    """What ``SSLSetCertificate`` takes: an owned CFArray of the SecIdentity followed by the intermediates'
    SecCertificates. Keeps its keychain alive (the identity's key lives there)."""

    def __init__(self, array, keychain):
        self.array = array
        self.keychain = keychain

    def close(self):
        array, self.array = self.array, None
        if array is not None:
            array.close()


class TemporaryKeychain(Closeable):
    """A keychain made for one context and deleted, file included, by :meth:`close`.

    Raises:
        ConfigurationError: the keychain cannot be created.
    """

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="nativetls-")
        _CREATED.append(self.directory)
        self.path = os.path.join(self.directory, "nativetls.keychain")
        password = binascii.hexlify(os.urandom(32))
        ref = c_void_p()
        try:
            sec().SecKeychainCreate(self.path.encode("utf-8"), len(password), password, False, None, byref(ref))
        except OSStatusError as exc:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise ConfigurationError("cannot create a temporary keychain: %s" % describe(exc.code),
                                     native_code=exc.code)
        self.ref = CFRef(ref)

    def _import(self, data, password=None):
        """SecItemImport *data* (PEM or DER) into this keychain; returns the owned CFArray of the items."""
        params = S.SecItemImportExportKeyParameters(version=S.SEC_KEY_IMPORT_EXPORT_PARAMS_VERSION)
        passphrase = cfstring(password) if password is not None else CFRef()
        params.passphrase = passphrase.value
        data_ref = cfdata(data)
        items = c_void_p()
        file_format, item_type = c_uint32(S.kSecFormatUnknown), c_uint32(S.kSecItemTypeUnknown)
        try:
            status = sec().SecItemImport(data_ref.value, None, byref(file_format), byref(item_type), 0,
                                         byref(params), self.ref.value, byref(items))
        finally:
            data_ref.close()
            passphrase.close()
        result = CFRef(items)
        if status != 0:
            result.close()
            raise OSStatusError("SecItemImport", status)
        return result

    def import_pkcs12(self, data, password):
        """SecPKCS12Import *data* into this keychain, with *password* (text; None: the empty passphrase, as Apple
        uses for none - the header requires a kSecImportExportPassphrase entry). Returns the contents as
        ``[(leaf DER or None, owned SecIdentity CFRef or None, [certificate DERs of the item's chain])]``, one per
        item dictionary: an identity's, or (macOS) one holding only the certificates no key claimed.

        Raises:
            OSStatusError: SecPKCS12Import failed (the caller interprets the status).
        """
        security = S.LIBRARY
        passphrase, data_ref = cfstring(password or u""), cfdata(data)
        options = cfdictionary([(security.constant("kSecImportExportPassphrase"), passphrase),
                                (security.constant("kSecImportExportKeychain"), self.ref)])
        items = c_void_p()
        try:
            status = sec().SecPKCS12Import(data_ref.value, options.value, byref(items))
        finally:
            options.close()
            data_ref.close()
            passphrase.close()
        result = CFRef(items)
        try:
            if status != 0:
                raise OSStatusError("SecPKCS12Import", status)
            return self._contents(result)
        finally:
            result.close()

    @staticmethod
    def _contents(items):
        """The item dictionaries of a SecPKCS12Import result (see :meth:`import_pkcs12`)."""
        functions, security = cf(), S.LIBRARY
        identity_key = security.constant("kSecImportItemIdentity")
        chain_key = security.constant("kSecImportItemCertChain")
        identity_type, array_type = sec().SecIdentityGetTypeID(), functions.CFArrayGetTypeID()
        contents = []
        try:
            for index in range(functions.CFArrayGetCount(items.value) if items else 0):
                entry = functions.CFArrayGetValueAtIndex(items.value, index)      # borrowed from the array
                identity = functions.CFDictionaryGetValue(entry, identity_key)    # borrowed from the entry
                chain = functions.CFDictionaryGetValue(entry, chain_key)
                ders = []
                if chain and functions.CFGetTypeID(chain) == array_type:
                    ders = [certificate_der(functions.CFArrayGetValueAtIndex(chain, i))
                            for i in range(functions.CFArrayGetCount(chain))]
                if not identity or functions.CFGetTypeID(identity) != identity_type:
                    contents.append((None, None, ders))
                    continue
                certificate = c_void_p()
                sec().SecIdentityCopyCertificate(identity, byref(certificate))
                certificate = CFRef(certificate)
                try:
                    leaf = certificate_der(certificate)
                finally:
                    certificate.close()
                contents.append((leaf, CFRef(identity, retain=True), ders))
        except BaseException:
            for _leaf, owned, _ders in contents:
                if owned is not None:
                    owned.close()
            raise
        return contents

    def _pkcs12_identity(self, pkcs12, leaf_der):
        """The owned SecIdentity of *leaf_der* from the PKCS#12 file (bytes, password bytes or None).

        Raises:
            ConfigurationError: the file no longer imports, or holds no key for that certificate.
        """
        data, password = pkcs12
        try:
            text = password.decode("utf-8") if password is not None else None
            contents = self.import_pkcs12(data, text)
        except UnicodeDecodeError:
            raise ConfigurationError("SecPKCS12Import needs a password that is valid UTF-8")
        except OSStatusError as exc:
            raise ConfigurationError("cannot import the PKCS#12 file into a keychain: %s" % describe(exc.code),
                                     native_code=exc.code)
        found = None
        for leaf, owned, _ders in contents:
            if owned is not None and found is None and leaf == leaf_der:
                found = owned
            elif owned is not None:
                owned.close()
        if found is None:
            raise ConfigurationError("the PKCS#12 file's private key does not belong to the leaf certificate")
        return found

    def identity(self, signing_chain):
        """An :class:`Identity` for *signing_chain* (leaf and key imported here; a key read from PKCS#12 through
        its file).

        Raises:
            ConfigurationError: the certificate or key cannot be imported (a wrong password, say).
        """
        certificate, key = signing_chain.leaf
        if key._pkcs12 is not None and key._pem is None:
            return self._with_intermediates(self._pkcs12_identity(key._pkcs12, certificate.to_der()),
                                            signing_chain)
        try:
            certs = self._import(certificate.to_pem())
            password = key._password_bytes()
            keys = self._import(key._pem, password.decode("utf-8") if password is not None else None)
            keys.close()
        except OSStatusError as exc:
            raise ConfigurationError("cannot import the certificate chain into a keychain: %s"
                                     % describe(exc.code), native_code=exc.code)
        try:
            if not certs or cf().CFArrayGetCount(certs.value) < 1:
                raise ConfigurationError("SecItemImport found no certificate in the leaf certificate")
            leaf = cf().CFArrayGetValueAtIndex(certs.value, 0)  # borrowed from the array
            identity = c_void_p()
            try:
                sec().SecIdentityCreateWithCertificate(self.ref.value, leaf, byref(identity))
            except OSStatusError as exc:
                raise ConfigurationError("the private key does not belong to the certificate (%s)"
                                         % describe(exc.code), native_code=exc.code)
        finally:
            certs.close()
        return self._with_intermediates(CFRef(identity), signing_chain)

    def _with_intermediates(self, identity, signing_chain):
        """The :class:`Identity` of *identity* (an owned CFRef, released here) and the chain's intermediates."""
        owned = [identity]
        try:
            for intermediate in signing_chain.chain:
                owned.append(certificate_ref(intermediate.to_der()))
            return Identity(cfarray(owned), self)
        finally:
            for ref in owned:
                ref.close()

    def close(self):
        ref = getattr(self, "ref", None)
        if ref is None:
            return
        self.ref = None
        try:
            if ref:
                sec().SecKeychainDelete(ref.value)
        finally:
            ref.close()
            shutil.rmtree(self.directory, ignore_errors=True)
