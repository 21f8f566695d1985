# -*- coding: utf-8 -*-
"""Our own identities (certificate + private key) for SecureTransport, through a temporary keychain (private).

``SSLSetCertificate`` wants a ``SecIdentityRef``, and on macOS an identity exists only for a key that lives in a
keychain. So every context with a certificate chain gets a :class:`TemporaryKeychain`: a new keychain file in a
new private directory, with a random password (``SecKeychainCreate``, ``promptUser`` false, so nothing ever asks
the user), into which the leaf and its key are imported (``SecItemImport``, PEM or DER, encrypted keys with their
password as the passphrase). ``close()`` deletes the keychain (``SecKeychainDelete``, which also removes it from
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
from ._lowlevel import CFRef, certificate_ref, cfarray, cfdata, cfstring, cf, describe, sec
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

    def identity(self, signing_chain):
        """An :class:`Identity` for *signing_chain* (leaf and key imported here).

        Raises:
            ConfigurationError: the certificate or key cannot be imported (a wrong password, say).
        """
        certificate, key = signing_chain.leaf
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
            owned = [CFRef(identity)]
        finally:
            certs.close()
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
