# -*- coding: utf-8 -*-
"""PKCS#12 (PFX) files read with ``SecPKCS12Import``, for ``SigningChain.from_pkcs12`` on macOS (private).

The file is imported into a :class:`._keychain.TemporaryKeychain` made for the purpose (``kSecImportExportKeychain``:
without it macOS imports into the user's default keychain), its certificates are read from the item dictionaries
(``kSecImportItemIdentity``, ``kSecImportItemCertChain``) and the keychain is deleted again. The key never leaves
Security.framework: ``load_pkcs12`` returns no PEM, the ``PrivateKey`` keeps the file, and each context imports it
into its own temporary keychain (as SChannel does with ``PFXImportCertStore``).

Telling the causes apart. Apple's statuses are coarse: ``errSecAuthFailed`` means "an incorrect password was
supplied, or data in the container is damaged" (SecImportExport.h), the older decoder (libsecurity_pkcs12) answers
``errSecPkcs12VerifyFailure`` for any MAC it cannot verify - including a SHA-256 MAC it does not implement, with the
right password - and ``errSecDecode`` covers both a malformed file and an algorithm it does not know. So the file is
first parsed here (asn1crypto: "not PKCS#12") and its integrity MAC checked with the password (RFC 7292 appendix B,
``nativetls._pfx``, shared with the SChannel backend): a MAC that does not verify is a wrong password, and a
file whose MAC verifies but which Apple still refuses is intact and uses what this macOS cannot decrypt
(ConfigurationError, with how to re-export it).
"""
from __future__ import absolute_import, division, print_function, unicode_literals

from .._errors import ConfigurationError
from .._pfx import check_pfx, mac_verifies
from . import _security as S
from ._keychain import TemporaryKeychain
from ._lowlevel import describe
from ._types import OSStatusError

__all__ = ["read_pkcs12"]

_REEXPORT = ("re-export it with 3DES and a SHA-1 MAC, which every macOS reads (openssl pkcs12 -export -legacy, or "
             "-keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1)")


def _text_password(password):
    if password is None:
        return None
    try:
        return password.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigurationError("SecPKCS12Import takes the password as text: it must be valid UTF-8")


def _import_error(exc, origin, mac):
    """The public error for SecPKCS12Import's status, given what our own MAC check said (True/False/None)."""
    code = exc.code
    if code in (S.errSecAuthFailed, S.errSecPkcs12VerifyFailure, S.errSecPassphraseRequired) and mac is not True:
        return ValueError("%s could not be opened: wrong password (SecPKCS12Import: %s)" % (origin, describe(code)))
    if code in (S.errSecAuthFailed, S.errSecPkcs12VerifyFailure, S.errSecDecode) and mac is True:
        return ConfigurationError(
            "%s is intact and its password right (the integrity MAC verifies), but this system's SecPKCS12Import "
            "cannot decrypt it (%s): it uses an algorithm this macOS does not read (AES/PBES2 or a SHA-2 MAC on "
            "older systems); %s" % (origin, describe(code), _REEXPORT), native_code=code)
    if code == S.errSecDecode:
        return ValueError("%s could not be read by SecPKCS12Import (%s): damaged, or an algorithm this system does "
                          "not know (the file has no integrity MAC to tell which)" % (origin, describe(code)))
    return ConfigurationError("SecPKCS12Import could not import %s: %s" % (origin, describe(code)),
                              native_code=code)


def read_pkcs12(data, password, origin):
    """``SigningChain.from_pkcs12`` on macOS: ``(leaf_der, [other certificate DERs], None)``.

    Args:
        password: bytes or None.

    Raises:
        ValueError: not PKCS#12, wrong password, no private key (or no certificate for it).
        ConfigurationError: an intact file this system's SecPKCS12Import cannot decrypt, a password that is not
            UTF-8, or no temporary keychain.
    """
    check_pfx(data, origin)
    text = _text_password(password)
    mac = mac_verifies(data, text)
    if mac is False and text is None:
        # "No password" has two encodings (RFC 7292's empty BMPString with its terminator, checked above, or zero
        # bytes, as OpenSSL's NULL password): SecPKCS12Import has the last word.
        mac = None
    if mac is False:
        raise ValueError("%s could not be opened: wrong password (the integrity MAC does not verify)" % origin)
    keychain = TemporaryKeychain()
    try:
        try:
            contents = keychain.import_pkcs12(data, text)
        except OSStatusError as exc:
            raise _import_error(exc, origin, mac)
        for _leaf, owned, _ders in contents:
            if owned is not None:
                owned.close()
    finally:
        keychain.close()
    leaves = [leaf for leaf, owned, _ders in contents if owned is not None]
    if not leaves:
        raise ValueError("%s holds no private key (SecPKCS12Import found no certificate with its private key)"
                         % origin)
    others = []
    for _leaf, _owned, ders in contents:
        others.extend(der for der in ders if der != leaves[0] and der not in others)
    return leaves[0], others, None
